//! The labelled image sets duel trains on, by name.

#[cfg(feature = "native")]
use super::{Cifar10, Mnist, Split};
use super::{cifar10, mnist};
#[cfg(feature = "native")]
use crate::Result;
#[cfg(feature = "native")]
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageSet {
    /// 28×28 grey digits: 60,000 for training, 10,000 for test.
    Mnist,
    /// 32×32 colour photos of ten classes: 50,000 for training, 10,000 for test.
    Cifar10,
}

impl ImageSet {
    /// (C, H, W) of one image.
    pub fn image_shape(self) -> [usize; 3] {
        match self {
            ImageSet::Mnist => [1, mnist::SIDE, mnist::SIDE],
            ImageSet::Cifar10 => [cifar10::CHANNELS, cifar10::SIDE, cifar10::SIDE],
        }
    }

    /// Classes of its labels: ten for both.
    pub fn classes(self) -> usize {
        10
    }

    /// The training images of the whole set: no copy of it has more.
    pub fn full_train_count(self) -> usize {
        match self {
            ImageSet::Mnist => 60_000,
            ImageSet::Cifar10 => 50_000,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ImageSet::Mnist => "MNIST",
            ImageSet::Cifar10 => "CIFAR-10",
        }
    }

    /// Finds the files (downloading them into the cache when no directory has them and
    /// none was given) and loads (train, test), saying where they came from.
    #[cfg(feature = "native")]
    pub fn load(self, data_dir: Option<&Path>) -> Result<(Split, Split)> {
        let (dir, train, test) = match self {
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
        Ok((train, test))
    }
}
