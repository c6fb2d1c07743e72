//! The MNIST generators and discriminators, written as briefly as their Keras and
//! PyTorch originals, and the settings that rebuild them from a checkpoint.

use crate::nn::{Init, Sequential};
use crate::{BatchNormConfig, Conv2d, ConvTranspose2d, Error, Gpu, Padding, Result};
use std::collections::BTreeMap;

/// Which pair of models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// DCGAN: Linear → ConvTranspose generator, strided-conv discriminator, BCE on logits.
    Dcgan,
    /// The Keras tutorial's models: Dense → UpSampling2D → Conv2D generator, and a
    /// discriminator with Dropout.
    Keras,
}

impl std::str::FromStr for Arch {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Arch, String> {
        match s.to_ascii_lowercase().as_str() {
            "dcgan" => Ok(Arch::Dcgan),
            "keras" => Ok(Arch::Keras),
            other => Err(format!("{other:?} is not an architecture: dcgan or keras")),
        }
    }
}

/// What builds the two models: the architecture, the noise size, the widths and the
/// seed of their initial weights. Checkpoints record it in their metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelConfig {
    pub arch: Arch,
    /// Size of the noise vector z.
    pub nz: usize,
    /// Generator width: channels of its last hidden layer.
    pub ngf: usize,
    /// Discriminator width: channels of its first layer.
    pub ndf: usize,
    pub seed: u64,
}

impl Default for ModelConfig {
    fn default() -> ModelConfig {
        ModelConfig {
            arch: Arch::Dcgan,
            nz: 100,
            ngf: 64,
            ndf: 64,
            seed: 1,
        }
    }
}

impl ModelConfig {
    /// The entries a checkpoint's metadata holds.
    pub fn metadata(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("arch".to_string(), format!("{:?}", self.arch)),
            ("nz".to_string(), self.nz.to_string()),
            ("ngf".to_string(), self.ngf.to_string()),
            ("ndf".to_string(), self.ndf.to_string()),
            ("seed".to_string(), self.seed.to_string()),
        ])
    }

    /// The settings a checkpoint was saved with, from its metadata (`what` names it).
    pub fn from_metadata(metadata: &BTreeMap<String, String>, what: &str) -> Result<ModelConfig> {
        let field = |key: &str| {
            metadata.get(key).ok_or_else(|| {
                Error::Data(format!(
                    "{what} has no {key} in its metadata: is it a duel GAN checkpoint?"
                ))
            })
        };
        let number = |key: &str| -> Result<u64> {
            field(key)?
                .parse()
                .map_err(|e| Error::Data(format!("{what}: bad {key} in its metadata: {e}")))
        };
        Ok(ModelConfig {
            arch: field("arch")?
                .parse()
                .map_err(|e| Error::Data(format!("{what}: {e}")))?,
            nz: number("nz")? as usize,
            ngf: number("ngf")? as usize,
            ndf: number("ndf")? as usize,
            seed: number("seed")?,
        })
    }
}

pub fn generator(gpu: &Gpu, model: &ModelConfig) -> Result<Sequential> {
    let (nz, ngf, seed) = (model.nz, model.ngf, model.seed);
    match model.arch {
        Arch::Dcgan => Sequential::new(gpu, "g", &[nz], Init::Dcgan, seed)
            .dense(7 * 7 * ngf * 2, false)?
            .batch_norm()?
            .relu()?
            .reshape(&[ngf * 2, 7, 7])?
            .conv_transpose2d(ngf, 4, ConvTranspose2d::torch(2, 1, 0), false)?
            .batch_norm()?
            .relu()?
            .conv_transpose2d(1, 4, ConvTranspose2d::torch(2, 1, 0), false)?
            .tanh(),
        Arch::Keras => {
            let mut g = Sequential::new(gpu, "g", &[nz], Init::GlorotUniform, seed);
            g.batch_norm_config = BatchNormConfig::keras(0.8, 1e-3);
            let same = Conv2d::new(1, Padding::Same);
            g.dense(7 * 7 * ngf * 4, false)?
                .batch_norm()?
                .leaky_relu(0.2)?
                .reshape(&[ngf * 4, 7, 7])?
                .upsample2d()?
                .conv2d(ngf * 2, 5, same, false)?
                .batch_norm()?
                .leaky_relu(0.2)?
                .upsample2d()?
                .conv2d(ngf, 5, same, false)?
                .batch_norm()?
                .leaky_relu(0.2)?
                .conv2d(1, 5, same, false)?
                .tanh()
        }
    }
}

pub fn discriminator(gpu: &Gpu, model: &ModelConfig) -> Result<Sequential> {
    let (ndf, seed) = (model.ndf, model.seed.wrapping_add(1));
    match model.arch {
        Arch::Dcgan => Sequential::new(gpu, "d", &[1, 28, 28], Init::Dcgan, seed)
            .conv2d(ndf, 4, Conv2d::new(2, Padding::symmetric(1)), false)?
            .leaky_relu(0.2)?
            .conv2d(ndf * 2, 4, Conv2d::new(2, Padding::symmetric(1)), false)?
            .batch_norm()?
            .leaky_relu(0.2)?
            .flatten()?
            .dense(1, true),
        Arch::Keras => Sequential::new(gpu, "d", &[1, 28, 28], Init::GlorotUniform, seed)
            .conv2d(ndf, 5, Conv2d::new(2, Padding::Same), true)?
            .leaky_relu(0.2)?
            .dropout(0.3)?
            .conv2d(ndf * 2, 5, Conv2d::new(2, Padding::Same), true)?
            .leaky_relu(0.2)?
            .dropout(0.3)?
            .flatten()?
            .dense(1, true),
    }
}
