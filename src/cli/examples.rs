//! Each classifier example's data set and defaults (the GAN examples' are
//! `duel::gan::examples`).

use super::ClassifierExample;
use crate::data::ImageSet;

pub const MNIST_CLASSIFIER: ClassifierExample = ClassifierExample {
    about: "Train the MNIST classifier behind duel's FD metric",
    set: ImageSet::Mnist,
    epochs: 3,
    lr_halving: 1,
    mirror: false,
};

pub const CIFAR10_CLASSIFIER: ClassifierExample = ClassifierExample {
    about: "Train the CIFAR-10 classifier behind duel's FD metric",
    set: ImageSet::Cifar10,
    epochs: 12,
    lr_halving: 4,
    mirror: true,
};
