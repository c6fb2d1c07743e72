//! Command-line options, named as PyTorch's dcgan example names them, and the
//! library settings they make.

use clap::{Parser, ValueEnum};
use duel::AdamConfig;
use duel::gan::{Arch, Loss, ModelConfig, Recipe, TrainConfig};
use std::path::PathBuf;

/// Whose Adam defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Optimizer {
    /// DCGAN's β1 0.5 and ε 1e-8, with lr 4e-4 (see --lr).
    Dcgan,
    /// Keras's `Adam()`: lr 1e-3, β1 0.9, ε 1e-7.
    Keras,
}

#[derive(Debug, Clone, Parser)]
#[command(about = "Train a DCGAN on MNIST with duel", version)]
pub struct Args {
    /// Passes over the 60,000 training digits.
    #[arg(long, default_value_t = 2)]
    pub epochs: usize,
    /// 32 rather than DCGAN's 128: on a CPU device, more updates in the same time
    /// give recognisable digits sooner.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// bce (non-saturating, on D's logits) or lsgan (least squares on D's output).
    #[arg(long, default_value = "bce")]
    pub loss: Loss,
    /// Adam's defaults.
    #[arg(long, value_enum, default_value_t = Optimizer::Dcgan)]
    pub optimizer: Optimizer,
    /// Adam learning rate, for both networks [default: 4e-4 with --optimizer dcgan,
    /// 1e-3 with keras]. With dcgan, twice DCGAN's 2e-4: with batch 32 and a run of
    /// 1.5 epochs it reached FD 160 by step 2,000 where 2e-4 reached 266.
    #[arg(long)]
    pub lr: Option<f32>,
    /// The generator's learning rate, over --lr.
    #[arg(long)]
    pub lr_g: Option<f32>,
    /// The discriminator's learning rate, over --lr.
    #[arg(long)]
    pub lr_d: Option<f32>,
    /// Adam β1 [default: the optimizer's].
    #[arg(long)]
    pub beta1: Option<f32>,
    /// Size of the noise vector z.
    #[arg(long, default_value_t = 100)]
    pub nz: usize,
    /// Generator width: channels of its last hidden layer.
    #[arg(long, default_value_t = 64)]
    pub ngf: usize,
    /// Discriminator width: channels of its first layer.
    #[arg(long, default_value_t = 64)]
    pub ndf: usize,
    /// dcgan (Linear → ConvTranspose generator, strided-conv discriminator) or keras
    /// (the Keras tutorial's UpSampling2D generator and Dropout discriminator).
    #[arg(long, default_value = "dcgan")]
    pub arch: Arch,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Directory holding the four MNIST files (else $DUEL_DATA, else the user cache).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Where grids, metrics, plots and checkpoints go.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// Continue from this checkpoint.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Stop after this many steps in all (a step trains D once and G once); 0 runs
    /// every epoch. The default, 1.33 epochs at batch 32, keeps a run on a 2-core CPU
    /// (lavapipe) within 15 minutes; on a GPU, raise it.
    #[arg(long, default_value_t = 2500)]
    pub max_steps: usize,
    /// Also write a sample grid and a checkpoint every this many steps.
    #[arg(long, default_value_t = 500)]
    pub sample_every: usize,
    /// Read the losses back every this many steps for the progress bar and metrics.
    #[arg(long, default_value_t = 10)]
    pub log_every: usize,
    /// At the end, write this many generated digits to `samples-idx3-ubyte`.
    #[arg(long, default_value_t = 0)]
    pub export_samples: usize,
    /// Score --eval-samples generated digits with the MNIST classifier every this many
    /// steps (and at the end): FD, confidence and class entropy go to metrics.csv and
    /// fd_curve.png. 0 turns it off.
    #[arg(long, default_value_t = 1000)]
    pub eval_every: usize,
    #[arg(long, default_value_t = 10_000)]
    pub eval_samples: usize,
    /// Weights of the classifier behind the metric (see examples/mnist_classifier).
    #[arg(long, default_value_os_t = duel::metrics::default_classifier_path())]
    pub classifier: PathBuf,
}

impl Args {
    pub fn model_config(&self) -> ModelConfig {
        ModelConfig {
            arch: self.arch,
            nz: self.nz,
            ngf: self.ngf,
            ndf: self.ndf,
            seed: self.seed,
        }
    }

    /// The optimizer's defaults, with `lr` over --lr over the default learning rate.
    fn adam(&self, lr: Option<f32>) -> AdamConfig {
        let base = match self.optimizer {
            Optimizer::Dcgan => AdamConfig {
                lr: 4e-4,
                ..AdamConfig::default()
            },
            Optimizer::Keras => AdamConfig::keras(),
        };
        AdamConfig {
            lr: lr.or(self.lr).unwrap_or(base.lr),
            beta1: self.beta1.unwrap_or(base.beta1),
            ..base
        }
    }

    pub fn train_config(&self) -> TrainConfig {
        TrainConfig {
            epochs: self.epochs,
            batch_size: self.batch_size,
            recipe: Recipe {
                loss: self.loss,
                adam_g: self.adam(self.lr_g),
                adam_d: self.adam(self.lr_d),
            },
            out: self.out.clone(),
            resume: self.resume.clone(),
            max_steps: self.max_steps,
            sample_every: self.sample_every,
            log_every: self.log_every,
            export_samples: self.export_samples,
            eval_every: self.eval_every,
            eval_samples: self.eval_samples,
        }
    }
}
