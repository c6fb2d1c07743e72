//! Measuring generated images, entirely with duel: a small CNN classifier per image set,
//! trained by `examples/mnist_classifier` and `examples/cifar10_classifier`, the Fréchet
//! distance between Gaussians fitted to its 128-d features (FID's recipe, with
//! set-native features), and the classifier's confidence and class balance on the
//! samples.

mod classifier;
mod frechet;
mod score;
#[cfg(feature = "native")]
mod train;

pub use classifier::{CLASSES, Classifier, FEATURES, default_classifier_path};
pub use frechet::{Gaussian, frechet_distance, sqrtm_psd};
pub use score::{CONFIDENT, Readouts, SCORE_BATCH, Score, Scorer};
#[cfg(feature = "native")]
pub use train::{ClassifierTraining, test_accuracy, train_classifier};
