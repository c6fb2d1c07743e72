//! Trains a DCGAN on CIFAR-10's colour photos with duel:
//! `cargo run --release --example cifar10_dcgan -- --data-dir DIR`. Without a data
//! directory it looks in $DUEL_DATA and the user cache, then downloads the official
//! archive (170 MB, checked against its published MD5).
//!
//! The default generator grows 4×4 → 8×8 → 16×16 → 32×32×3 with batch norm and ReLU;
//! the discriminator mirrors it with strided convs, LeakyReLU and batch norm.
//! `--arch keras` trains the Keras CIFAR-10 article's generator (see
//! `duel::gan::Arch::Keras`). Flags and outputs are mnist_dcgan's, in colour; the FD
//! is measured in the features of the CIFAR-10 classifier (examples/cifar10_classifier).
//!
//! Its data set, models and defaults are `duel::cli::CIFAR10_DCGAN`.

fn main() {
    duel::cli::gan_main(&duel::cli::CIFAR10_DCGAN);
}
