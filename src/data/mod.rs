//! Data: the IDX format, MNIST, and image sets that live on the GPU.

mod download;
mod gpu_images;
mod idx;
pub mod mnist;

pub use download::{CHECKSUMS, download_from, download_into, sha256_hex, verify};
pub use gpu_images::GpuImages;
pub use idx::{Idx, encode_idx, parse_idx, read_idx};
pub use mnist::Mnist;
