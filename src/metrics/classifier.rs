//! The classifiers the metric measures with, one per image set: strided convs with
//! batch norm → Dense(128) features → ReLU → Dropout → Dense(10).
//! - MNIST: conv 32 → two strided convs of 32 (to 7×7); about 234k parameters, so its
//!   trained weights (0.9 MB) ship in the repository.
//! - CIFAR-10: conv 32 → strided convs of 64, 128 and 128 (to 4×4); about 690k
//!   parameters (2.8 MB), also shipped.

use crate::autograd::{Buffer, Graph, Param, Var};
use crate::data::ImageSet;
use crate::io::checkpoint;
use crate::nn::{Init, Sequential};
use crate::{Conv2dSpec, Error, Gpu, Padding, Result, Tensor};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Width of the feature layer the Fréchet distance is computed in.
pub const FEATURES: usize = 128;
pub const CLASSES: usize = 10;

/// What a set's classifier is called: its example, weights file and checkpoint tag.
/// An image folder has none.
fn stem(set: ImageSet) -> Result<&'static str> {
    match set {
        ImageSet::Mnist => Ok("mnist_classifier"),
        ImageSet::Cifar10 => Ok("cifar10_classifier"),
        ImageSet::Folder { .. } => Err(no_classifier()),
    }
}

fn no_classifier() -> Error {
    Error::Usage(
        "an image folder has no classifier to score samples with; train with --eval-every 0".into(),
    )
}

/// Where a set's trained weights live unless told otherwise: the repository's assets.
pub fn default_classifier_path(set: ImageSet) -> Result<PathBuf> {
    Ok(Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("assets/{}.safetensors", stem(set)?)))
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
        // Each strided conv halves the side, with batch norm and ReLU after it.
        let widths: &[usize] = match set {
            ImageSet::Mnist => &[32, 32],         // 28 → 14 → 7
            ImageSet::Cifar10 => &[64, 128, 128], // 32 → 16 → 8 → 4
            ImageSet::Folder { .. } => return Err(no_classifier()),
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
        metadata.insert("model".into(), format!("{}_v1", stem(self.set)?));
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
        let stem = stem(set)?;
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
        let classifier = Classifier::new(gpu, set, 0)?;
        let named = classifier.named_tensors();
        let refs: Vec<(String, &Tensor)> = named.iter().map(|(n, t)| (n.clone(), t)).collect();
        let (metadata, _) = checkpoint::decode_into(bytes, &refs, name).await?;
        let tag = format!("{}_v1", stem(set)?);
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
