//! Trains the CIFAR-10 classifier that `duel::metrics` measures generated photos with:
//! `cargo run --release --example cifar10_classifier -- --data-dir DIR`. It writes its
//! weights to assets/cifar10_classifier.safetensors by default, where the metric looks
//! for them. Every training photo is also shown mirrored left to right.
//!
//! Its data set, models and defaults are `duel::cli::CIFAR10_CLASSIFIER`.

fn main() {
    duel::cli::classifier_main(&duel::cli::CIFAR10_CLASSIFIER);
}
