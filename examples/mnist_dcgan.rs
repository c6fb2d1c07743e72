//! Trains a DCGAN on MNIST with duel: `cargo run --release --example mnist_dcgan`.
//!
//! Under --out it writes, every epoch and every --sample-every steps, a grid of 64
//! digits from fixed noise (`samples/step_NNNNNN.png`, and `latest.png`), `metrics.csv`,
//! `loss_curve.png` and `checkpoint.safetensors`; at the end `progress.gif`. Every
//! --eval-every steps it scores 10,000 samples with the MNIST classifier (FD,
//! confidence, class entropy) into `metrics.csv` and `fd_curve.png`.
//!
//! `--arch keras`, `mlp`, `article-a`, `article-b` and `article-c` train the Keras
//! articles' models instead (see `duel::gan::Arch`). The trainer lives in `duel::gan`
//! and the flags in `duel::cli`; this example's data set, models and defaults are
//! `duel::cli::MNIST_DCGAN`.

fn main() {
    duel::cli::gan_main(&duel::cli::MNIST_DCGAN);
}
