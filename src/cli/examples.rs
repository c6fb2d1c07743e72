//! Each example's data set, models and defaults.

use super::{ClassifierExample, GanExample};
use crate::data::ImageSet;
use crate::gan::{Arch, Loss};

pub const MNIST_DCGAN: GanExample = GanExample {
    about: "Train a DCGAN on MNIST with duel",
    set: ImageSet::Mnist,
    arch: Arch::Dcgan,
    epochs: 2,
    // 32 rather than DCGAN's 128: on a CPU device, more updates in the same time give
    // recognisable digits sooner.
    batch_size: 32,
    // 1.33 epochs at batch 32 keeps a run on a 2-core CPU (lavapipe) within 15 minutes.
    max_steps: 2500,
    sample_every: 500,
    eval_every: 1000,
    eval_samples: 10_000,
    // The recipe that reached the lowest FD in 15 minutes on lavapipe (docs/recipes.md):
    // FD 33.1 at step 2,500, where BCE without spectral norm was at 38.0 and the
    // unconditional DCGAN without EMA at 168.6.
    conditional: true,
    ema: 0.995,
    loss: Loss::Hinge,
    spectral_norm: true,
};

pub const MLP_GAN: GanExample = GanExample {
    about: "Train a fully connected GAN on MNIST with duel",
    set: ImageSet::Mnist,
    arch: Arch::Mlp,
    epochs: 100,
    batch_size: 64,
    // Within 10 minutes on lavapipe on a 2-core CPU, scoring included.
    max_steps: 4500,
    sample_every: 500,
    eval_every: 1500,
    eval_samples: 10_000,
    conditional: false,
    ema: 0.0,
    loss: Loss::Bce,
    spectral_norm: false,
};

pub const CIFAR10_DCGAN: GanExample = GanExample {
    about: "Train a DCGAN on CIFAR-10 with duel",
    set: ImageSet::Cifar10,
    arch: Arch::Dcgan,
    epochs: 1000,
    batch_size: 32,
    // Within 15 minutes on lavapipe on a 2-core CPU, scoring included: 0.62 s a step
    // and 18 s a score on an AMD EPYC.
    max_steps: 1250,
    sample_every: 250,
    eval_every: 250,
    eval_samples: 5_000,
    // mnist_dcgan's conditioning and EMA: on the shared subset its FD fell at every
    // score, from 1,617 at step 250 to 157 at 1,250 (and 95.8 at 1,500), where the
    // unconditional DCGAN without EMA went up twice on its way.
    conditional: true,
    ema: 0.995,
    loss: Loss::Bce,
    spectral_norm: false,
};

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
