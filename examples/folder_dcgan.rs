//! Trains a DCGAN on a folder of your own images with duel:
//! `cargo run --release --example folder_dcgan -- --data-dir DIR`. Every PNG and JPEG
//! under DIR is read (a subfolder per class, or all in one), made square
//! (`--image-size`, 64 by default: 32, 64 or 128) in colour or grey (`--channels`),
//! and cached, so the next run starts at once (see `duel::data::ImageFolder`).
//!
//! At 64×64 the models are Radford et al.'s DCGAN as PyTorch's `examples/dcgan` builds
//! them; 32 and 128 have one doubling block fewer or more. Flags and outputs are
//! mnist_dcgan's; `--conditional` trains on the folder's classes.
//!
//! Its data set, models and defaults are `duel::cli::FOLDER_DCGAN`.

fn main() {
    duel::cli::gan_main(&duel::cli::FOLDER_DCGAN);
}
