//! Each GAN example's data set, models and defaults: what `mnist_dcgan`,
//! `cifar10_dcgan`, `folder_dcgan` and `mlp_gan` train, and what the browser page
//! trains.

use super::{Arch, Loss, ModelConfig, Recipe, TrainConfig};
use crate::AdamConfig;
use crate::data::ImageSet;

/// What an example fixes: its data set and the defaults of the flags that differ.
#[derive(Debug, Clone)]
pub struct GanExample {
    /// One line for --help.
    pub about: &'static str,
    pub set: ImageSet,
    pub arch: Arch,
    /// Both networks' widths (--ngf and --ndf).
    pub width: usize,
    pub epochs: usize,
    pub batch_size: usize,
    pub max_steps: usize,
    pub sample_every: usize,
    pub eval_every: usize,
    pub eval_samples: usize,
    /// The recipe's defaults, for `arch` only: another --arch trains unconditionally
    /// with BCE, without an average or spectral norm, unless told otherwise.
    pub conditional: bool,
    pub ema: f32,
    pub loss: Loss,
    pub spectral_norm: bool,
}

impl GanExample {
    /// The example's run with every flag at its default, as the command line makes it
    /// (a test holds the two together): (settings, models).
    pub fn defaults(&self) -> (TrainConfig, ModelConfig) {
        // DCGAN's Adam with twice its learning rate (see `--lr`).
        let adam = AdamConfig {
            lr: 4e-4,
            ..AdamConfig::default()
        };
        let config = TrainConfig {
            epochs: self.epochs,
            batch_size: self.batch_size,
            recipe: Recipe {
                loss: self.loss,
                spectral_norm: self.spectral_norm,
                ema: self.ema,
                adam_g: adam,
                adam_d: adam,
                ..Recipe::default()
            },
            max_steps: self.max_steps,
            sample_every: self.sample_every,
            eval_every: self.eval_every,
            eval_samples: self.eval_samples,
            ..TrainConfig::default()
        };
        let model = ModelConfig {
            arch: self.arch,
            image: self.set.image_shape(),
            nz: 100,
            ngf: self.width,
            ndf: self.width,
            seed: 1,
            classes: if self.conditional {
                self.set.classes()
            } else {
                0
            },
        };
        (config, model)
    }
}

pub const MNIST_DCGAN: GanExample = GanExample {
    about: "Train a DCGAN on MNIST with duel",
    set: ImageSet::Mnist,
    arch: Arch::Dcgan,
    width: 64,
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
    width: 64,
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
    width: 64,
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

pub const FOLDER_DCGAN: GanExample = GanExample {
    about: "Train a DCGAN on a folder of your own images with duel",
    // The side and channels are --image-size's and --channels'; the classes, the
    // folder's.
    set: ImageSet::Folder {
        side: 64,
        channels: 3,
        classes: 0,
    },
    arch: Arch::Dcgan,
    // Radford et al.'s model at half their width (--ngf 64 --ndf 64 for theirs): on a
    // 2-core CPU device (lavapipe) a step at 64×64 takes 1.45 s where theirs takes 4,
    // so a default run gets 500 steps and five scores in 15 minutes rather than 200
    // steps.
    width: 32,
    epochs: 1000,
    // PyTorch's example trains at batch 64 with lr 2e-4; batch 32 with duel's 4e-4
    // gives a CPU device twice the updates in the same time.
    batch_size: 32,
    max_steps: 500,
    sample_every: 250,
    // Scored by the proxy metric (the CIFAR-10 classifier's features at 32×32) five
    // times a default run, against half the folder's images; drawing 1,000 samples at
    // 64×64 takes about 18 s on lavapipe, 2,000 twice that.
    eval_every: 100,
    eval_samples: 1_000,
    // A folder need not have classes; PyTorch's example trains with BCE. The average
    // of G's weights is cifar10_dcgan's: 0.999 would still be 61% the initial weights
    // at step 500.
    conditional: false,
    ema: 0.995,
    loss: Loss::Bce,
    spectral_norm: false,
};
