//! Data: the IDX format, MNIST, CIFAR-10, and image sets that live on the GPU.

pub mod cifar10;
mod download;
mod gpu_images;
mod idx;
mod image_set;
pub mod locate;
pub mod mnist;
mod split;

pub use cifar10::Cifar10;
pub use download::{CHECKSUMS, download_from, download_into, md5_hex, sha256_hex, verify};
pub use gpu_images::GpuImages;
pub use idx::{Idx, encode_idx, parse_idx, read_idx};
pub use image_set::ImageSet;
pub use mnist::Mnist;
pub use split::{Split, one_hot};
