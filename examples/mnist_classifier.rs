//! Trains the MNIST classifier that `duel::metrics` measures generated digits with:
//! `cargo run --release --example mnist_classifier`. It writes its weights to
//! assets/mnist_classifier.safetensors by default, where the metric looks for them.
//!
//! Its data set, models and defaults are `duel::cli::MNIST_CLASSIFIER`.

fn main() {
    duel::cli::classifier_main(&duel::cli::MNIST_CLASSIFIER);
}
