//! The classifiers the metric measures with, one per image set: strided convs with
//! batch norm → Dense(128) features → ReLU → Dropout → Dense(10).
//! - MNIST: conv 32 → two strided convs of 32 (to 7×7); about 234k parameters, so its
//!   trained weights (0.9 MB) ship in the repository.
//! - CIFAR-10: conv 32 → strided convs of 64, 128 and 128 (to 4×4); about 690k
//!   parameters (2.8 MB), also shipped.

use crate::autograd::{Buffer, Graph, Param, Var};
use crate::data::ImageSet;
use crate::error::shape_err;
use crate::io::checkpoint;
use crate::nn::{Init, Sequential};
use crate::{Activation, Conv2dSpec, Error, Gpu, Padding, Result, Tensor};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Width of the feature layer the Fréchet distance is computed in.
pub const FEATURES: usize = 128;
pub const CLASSES: usize = 10;

/// The classifier a set's samples are scored with: its own, or for an image folder,
/// which has none, CIFAR-10's as a proxy (samples box-filtered to 32×32 RGB, see
/// `Classifier::input`).
pub fn scored_with(set: ImageSet) -> ImageSet {
    match set {
        ImageSet::Folder { .. } => ImageSet::Cifar10,
        set => set,
    }
}

/// Whether the CIFAR-10 classifier takes images of `shape` (C, H, W) through its
/// proxy's box filter (`Classifier::input`): grey or RGB, square, a side that is a
/// multiple of 32.
pub fn proxy_takes(shape: &[usize]) -> bool {
    matches!(*shape, [c, h, w] if (c == 1 || c == 3) && h == w && h % 32 == 0)
}

/// What a set's classifier is called: its example, weights file and checkpoint tag.
fn stem(set: ImageSet) -> &'static str {
    match scored_with(set) {
        ImageSet::Mnist => "mnist_classifier",
        _ => "cifar10_classifier",
    }
}

/// Where a set's trained weights live unless told otherwise: the repository's assets.
pub fn default_classifier_path(set: ImageSet) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("assets/{}.safetensors", stem(set)))
}

pub struct Classifier {
    /// The image set it classifies.
    pub set: ImageSet,
    /// (N, C, H, W) in [-1, 1] → (N, 128): the layers up to the feature layer.
    pub features: Sequential,
    /// (N, 128) → (N, 10) logits.
    pub head: Sequential,
}

impl Classifier {
    /// A freshly initialised (Glorot) classifier for `set`.
    pub fn new(gpu: &Gpu, set: ImageSet, seed: u64) -> Result<Classifier> {
        let set = scored_with(set);
        // Each strided conv halves the side, with batch norm and ReLU after it.
        let widths: &[usize] = match set {
            ImageSet::Mnist => &[32, 32], // 28 → 14 → 7
            _ => &[64, 128, 128],         // 32 → 16 → 8 → 4
        };
        let strided = Conv2dSpec::new(2, Padding::symmetric(1));
        let mut features = Sequential::new(
            gpu,
            "features",
            &set.image_shape(),
            Init::GlorotUniform,
            seed,
        )
        .conv2d(32, 3, Conv2dSpec::new(1, Padding::Same), true)?
        .relu()?;
        for &width in widths {
            features = features
                .conv2d(width, 4, strided, false)?
                .batch_norm()?
                .relu()?;
        }
        let features = features.flatten()?.dense(FEATURES, true)?;
        let head = Sequential::new(gpu, "head", &[FEATURES], Init::GlorotUniform, seed + 1)
            .relu()?
            .dropout(0.3)?
            .dense(CLASSES, true)?;
        Ok(Classifier {
            set,
            features,
            head,
        })
    }

    /// `images` (N, C, H, W) as this classifier takes them. The CIFAR-10 classifier,
    /// a folder's proxy, also takes grey or RGB images whose side is a multiple of 32:
    /// each 32×32 output pixel is the mean of its f×f block (a box filter, exact for
    /// the integer factor f = side / 32), grey copied to the three channels, in one
    /// convolution with a fixed weight.
    pub fn input(&self, images: &Tensor) -> Result<Tensor> {
        let want = self.set.image_shape();
        let shape = images.shape();
        if shape.get(1..) == Some(&want[..]) {
            return Ok(images.clone());
        }
        let proxy = self.set == ImageSet::Cifar10;
        match *shape {
            [_, c, h, _] if proxy && proxy_takes(&shape[1..]) => {
                let f = h / 32;
                // (3, C, f, f): output channel o averages input channel o (or the one).
                let taps = f * f;
                let weight: Vec<f32> = (0..3 * c * taps)
                    .map(|i| {
                        let (o, ci) = (i / (c * taps), i / taps % c);
                        if c == 1 || o == ci {
                            1.0 / taps as f32
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let weight = Tensor::from_slice(images.gpu(), &[3, c, f, f], &weight)?;
                let spec = Conv2dSpec::new(f, Padding::Valid);
                crate::ops::conv2d(images, &weight, None, &spec, Activation::Identity)
            }
            _ => Err(shape_err!(
                "the {} classifier takes (N, {}, {}, {}) images{}, got {shape:?}",
                self.set.name(),
                want[0],
                want[1],
                want[2],
                if proxy {
                    ", or grey or RGB ones whose side is a multiple of 32"
                } else {
                    ""
                }
            )),
        }
    }

    /// Records the forward pass; returns (features, logits).
    pub fn forward(&self, graph: &mut Graph, images: Var) -> Result<(Var, Var)> {
        let features = self.features.forward(graph, images)?;
        let logits = self.head.forward(graph, features)?;
        Ok((features, logits))
    }

    /// Features (N, 128) and logits (N, 10) of `images` in inference mode: batch norm
    /// uses its running statistics and dropout is off, so each image's result does not
    /// depend on the rest of its batch.
    pub fn infer(&self, images: &Tensor) -> Result<(Tensor, Tensor)> {
        let mut graph = Graph::new(images.gpu(), false, 0);
        let x = graph.input(images.clone());
        graph.no_grad(|graph| {
            let (f, z) = self.forward(graph, x)?;
            Ok((graph.value(f).clone(), graph.value(z).clone()))
        })
    }

    pub fn params(&self) -> Vec<Rc<Param>> {
        let mut params = self.features.params();
        params.extend(self.head.params());
        params
    }

    pub fn buffers(&self) -> Vec<&Buffer> {
        let mut buffers = self.features.buffers();
        buffers.extend(self.head.buffers());
        buffers
    }

    /// Weights and running statistics by name; the tensors share the model's storage.
    fn named_tensors(&self) -> Vec<(String, Tensor)> {
        let params = self
            .params()
            .into_iter()
            .map(|p| (p.name.clone(), p.value.clone()));
        let buffers = self
            .buffers()
            .into_iter()
            .map(|b| (b.name.clone(), b.value.clone()));
        params.chain(buffers).collect()
    }

    /// Saves weights and batch norm statistics, with `metadata` (e.g. its accuracy).
    #[cfg(feature = "native")]
    pub fn save(&self, path: &Path, mut metadata: BTreeMap<String, String>) -> Result<()> {
        metadata.insert("model".into(), format!("{}_v1", stem(self.set)));
        let named = self.named_tensors();
        let refs: Vec<(String, &Tensor)> = named.iter().map(|(n, t)| (n.clone(), t)).collect();
        checkpoint::save(path, &refs, &metadata)
    }

    /// Loads a classifier for `set` saved by `save`. A missing file says how to train
    /// one.
    #[cfg(feature = "native")]
    pub fn load(
        gpu: &Gpu,
        set: ImageSet,
        path: &Path,
    ) -> Result<(Classifier, BTreeMap<String, String>)> {
        let (stem, set) = (stem(set), scored_with(set));
        if !path.exists() {
            return Err(Error::Data(format!(
                "no trained {} classifier at {}. Train one (minutes, even on a CPU device) \
                 with `cargo run --release --example {} -- --out {}`, or pass the path of \
                 one with --classifier",
                set.name(),
                path.display(),
                stem,
                path.display()
            )));
        }
        let bytes = checkpoint::read(path)?;
        let name = path.display().to_string();
        pollster::block_on(Classifier::from_bytes(gpu, set, &bytes, &name))
    }

    /// A classifier for `set` from the bytes of a checkpoint `save` wrote; `name` is
    /// what errors call it.
    pub async fn from_bytes(
        gpu: &Gpu,
        set: ImageSet,
        bytes: &[u8],
        name: &str,
    ) -> Result<(Classifier, BTreeMap<String, String>)> {
        let set = scored_with(set);
        let classifier = Classifier::new(gpu, set, 0)?;
        let named = classifier.named_tensors();
        let refs: Vec<(String, &Tensor)> = named.iter().map(|(n, t)| (n.clone(), t)).collect();
        let (metadata, _) = checkpoint::decode_into(bytes, &refs, name).await?;
        let tag = format!("{}_v1", stem(set));
        if metadata.get("model") != Some(&tag) {
            return Err(Error::Data(format!(
                "{name} is not a {} classifier checkpoint (its model tag is {:?}, not {tag:?})",
                set.name(),
                metadata.get("model")
            )));
        }
        Ok((classifier, metadata))
    }
}
