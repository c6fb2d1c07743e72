//! The classifier the metric measures with: conv → ReLU → two strided convs with batch
//! norm → Linear(128) features → ReLU → Dropout → Linear(10). About 234k parameters,
//! so its trained weights (0.9 MB) can ship in the repository.

use crate::autograd::{Buffer, Graph, Param, Var};
use crate::io::checkpoint;
use crate::nn::{Init, Sequential};
use crate::{Conv2d, Error, Gpu, Padding, Result, Tensor};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Width of the feature layer the Fréchet distance is computed in.
pub const FEATURES: usize = 128;
pub const CLASSES: usize = 10;
/// Written into checkpoints, so a GAN checkpoint is not mistaken for a classifier.
const MODEL_TAG: &str = "mnist_classifier_v1";

/// Where the trained weights live unless told otherwise: the repository's assets.
pub fn default_classifier_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/mnist_classifier.safetensors")
}

pub struct Classifier {
    /// (N, 1, 28, 28) in [-1, 1] → (N, 128): the layers up to the feature layer.
    pub features: Sequential,
    /// (N, 128) → (N, 10) logits.
    pub head: Sequential,
}

impl Classifier {
    /// A freshly initialised (Glorot) classifier.
    pub fn new(gpu: &Gpu, seed: u64) -> Result<Classifier> {
        let strided = Conv2d::new(2, Padding::symmetric(1));
        let features = Sequential::new(gpu, "features", &[1, 28, 28], Init::GlorotUniform, seed)
            .conv2d(32, 3, Conv2d::new(1, Padding::Same), true)? // (32, 28, 28)
            .relu()?
            .conv2d(32, 4, strided, false)? // (32, 14, 14)
            .batch_norm()?
            .relu()?
            .conv2d(32, 4, strided, false)? // (32, 7, 7)
            .batch_norm()?
            .relu()?
            .flatten()?
            .dense(FEATURES, true)?;
        let head = Sequential::new(gpu, "head", &[FEATURES], Init::GlorotUniform, seed + 1)
            .relu()?
            .dropout(0.3)?
            .dense(CLASSES, true)?;
        Ok(Classifier { features, head })
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
    pub fn save(&self, path: &Path, mut metadata: BTreeMap<String, String>) -> Result<()> {
        metadata.insert("model".into(), MODEL_TAG.into());
        let named = self.named_tensors();
        let refs: Vec<(String, &Tensor)> = named.iter().map(|(n, t)| (n.clone(), t)).collect();
        checkpoint::save(path, &refs, &metadata)
    }

    /// Loads a classifier saved by `save`. A missing file says how to train one.
    pub fn load(gpu: &Gpu, path: &Path) -> Result<(Classifier, BTreeMap<String, String>)> {
        if !path.exists() {
            return Err(Error::Data(format!(
                "no trained MNIST classifier at {}. Train one (a few minutes, even on a CPU \
                 device) with `cargo run --release --example mnist_classifier -- --out {}`, \
                 or pass the path of one with --classifier",
                path.display(),
                path.display()
            )));
        }
        let classifier = Classifier::new(gpu, 0)?;
        let named = classifier.named_tensors();
        let refs: Vec<(String, &Tensor)> = named.iter().map(|(n, t)| (n.clone(), t)).collect();
        let metadata = checkpoint::load(path, &refs)?;
        if metadata.get("model").map(String::as_str) != Some(MODEL_TAG) {
            return Err(Error::Data(format!(
                "{} is not an MNIST classifier checkpoint (its model tag is {:?})",
                path.display(),
                metadata.get("model")
            )));
        }
        Ok((classifier, metadata))
    }
}
