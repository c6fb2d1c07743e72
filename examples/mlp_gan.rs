//! Trains a fully connected GAN on MNIST, as the Keras MLP GAN article builds it:
//! `cargo run --release --example mlp_gan`. G maps 100 → 256 → 512 → 1024 → 784 with
//! batch norm and LeakyReLU(0.2) and a tanh output; D maps 784 → 512 → 256 → 1 with
//! LeakyReLU(0.2). Flags and outputs are mnist_dcgan's.
//!
//! Its data set, models and defaults are `duel::cli::MLP_GAN`.

fn main() {
    duel::cli::gan_main(&duel::cli::MLP_GAN);
}
