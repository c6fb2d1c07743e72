//! Measuring generated MNIST digits, entirely with duel: a small CNN classifier
//! trained by `examples/mnist_classifier`, the Fréchet distance between Gaussians
//! fitted to its 128-d features (FID's recipe, with MNIST-native features), and the
//! classifier's confidence and class balance on the samples.

mod classifier;
mod frechet;
mod score;

pub use classifier::{CLASSES, Classifier, FEATURES, default_classifier_path};
pub use frechet::{Gaussian, frechet_distance, sqrtm_psd};
pub use score::{CONFIDENT, Readouts, SCORE_BATCH, Score, Scorer};
