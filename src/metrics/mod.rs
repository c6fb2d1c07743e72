//! Measuring generated images, entirely with duel: a small CNN classifier per image set,
//! trained by `examples/mnist_classifier` and `examples/cifar10_classifier`, the Fréchet
//! distance between Gaussians fitted to its 128-d features (FID's recipe, with
//! set-native features) and the Kernel Inception Distance in the same features, and
//! the classifier's confidence and class balance on the samples. An image folder has
//! no classifier of its own: its samples are scored in the CIFAR-10 classifier's
//! features at 32×32, a proxy.

mod classifier;
mod frechet;
mod kid;
mod score;
#[cfg(feature = "native")]
mod train;

pub use classifier::{
    CLASSES, Classifier, FEATURES, default_classifier_path, proxy_takes, scored_with,
};
pub use frechet::{Gaussian, frechet_distance, sqrtm_psd};
pub use kid::KidReference;
pub use score::{CONFIDENT, Readouts, SCORE_BATCH, Score, Scorer};
#[cfg(feature = "native")]
pub use train::{ClassifierTraining, test_accuracy, train_classifier};
