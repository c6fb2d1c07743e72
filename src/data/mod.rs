//! Data: the IDX format, MNIST, CIFAR-10, folders of the user's own images, and image
//! sets that live on the GPU.

mod bytes;
pub mod cifar10;
#[cfg(feature = "native")]
mod download;
#[cfg(feature = "native")]
mod folder;
#[cfg(feature = "native")]
mod folder_cache;
mod gpu_images;
mod idx;
mod image_set;
#[cfg(feature = "native")]
pub mod locate;
pub mod mnist;
mod split;

pub use bytes::{CHECKSUMS, inflate_if_gzipped, md5_hex, sha256_hex, verify};
pub use cifar10::Cifar10;
#[cfg(feature = "native")]
pub use download::{download_from, download_into};
#[cfg(feature = "native")]
pub use folder::{FolderSettings, ImageFolder, prepare, prepare_image};
pub use gpu_images::GpuImages;
#[cfg(feature = "native")]
pub use idx::read_idx;
pub use idx::{Idx, encode_idx, parse_idx};
pub use image_set::ImageSet;
pub use mnist::Mnist;
pub use split::{Split, one_hot};
