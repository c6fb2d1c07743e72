//! The labelled image sets duel trains on: two by name, and the user's own folders.

#[cfg(feature = "native")]
use super::{Cifar10, FolderSettings, ImageFolder, Mnist, Split, locate};
use super::{cifar10, mnist};
#[cfg(feature = "native")]
use crate::{Error, Result};
#[cfg(feature = "native")]
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageSet {
    /// 28×28 grey digits: 60,000 for training, 10,000 for test.
    Mnist,
    /// 32×32 colour photos of ten classes: 50,000 for training, 10,000 for test.
    Cifar10,
    /// A folder of PNG and JPEG images (`data::ImageFolder`), made side × side with
    /// `channels` channels; `classes` is known once the folder has been read (0 before).
    Folder {
        side: usize,
        channels: usize,
        classes: usize,
    },
}

impl ImageSet {
    /// (C, H, W) of one image.
    pub fn image_shape(self) -> [usize; 3] {
        match self {
            ImageSet::Mnist => [1, mnist::SIDE, mnist::SIDE],
            ImageSet::Cifar10 => [cifar10::CHANNELS, cifar10::SIDE, cifar10::SIDE],
            ImageSet::Folder { side, channels, .. } => [channels, side, side],
        }
    }

    /// Classes of its labels: ten for MNIST and CIFAR-10.
    pub fn classes(self) -> usize {
        match self {
            ImageSet::Mnist | ImageSet::Cifar10 => 10,
            ImageSet::Folder { classes, .. } => classes,
        }
    }

    /// The training images of the whole set, where that is known before it is read:
    /// no copy of it has more.
    pub fn full_train_count(self) -> Option<usize> {
        match self {
            ImageSet::Mnist => Some(60_000),
            ImageSet::Cifar10 => Some(50_000),
            ImageSet::Folder { .. } => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ImageSet::Mnist => "MNIST",
            ImageSet::Cifar10 => "CIFAR-10",
            ImageSet::Folder { .. } => "image folder",
        }
    }

    /// Finds the files (downloading them into the cache when no directory has them and
    /// none was given) and loads (train, test), saying where they came from. A folder
    /// is all training images (its test split is empty), and comes back with its
    /// classes counted.
    #[cfg(feature = "native")]
    pub fn load(self, data_dir: Option<&Path>) -> Result<(ImageSet, Split, Split)> {
        let (dir, train, test) = match self {
            ImageSet::Folder { side, channels, .. } => {
                let dir = data_dir.ok_or_else(|| {
                    Error::Usage(
                        "an image folder needs --data-dir DIR: the folder of PNG and JPEG images"
                            .into(),
                    )
                })?;
                let cache = locate::cache_dir("folders")
                    .unwrap_or_else(|| std::env::temp_dir().join("duel-folders"));
                let folder = ImageFolder::load(dir, FolderSettings { side, channels }, &cache)?;
                folder.report(dir);
                let set = ImageSet::Folder {
                    side,
                    channels,
                    classes: folder.classes.len(),
                };
                return Ok((set, folder.split, Split::default()));
            }
            ImageSet::Mnist => {
                let dir = mnist::find_or_download(data_dir)?;
                let data = Mnist::load(&dir)?;
                (dir, data.train, data.test)
            }
            ImageSet::Cifar10 => {
                let dir = cifar10::find_or_download(data_dir)?;
                let data = Cifar10::load(&dir)?;
                (dir, data.train, data.test)
            }
        };
        eprintln!(
            "{} from {}: {} training and {} test images",
            self.name(),
            dir.display(),
            train.count,
            test.count
        );
        Ok((self, train, test))
    }
}
