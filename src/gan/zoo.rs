//! The GAN models, written as briefly as their Keras and PyTorch originals, and the
//! settings that rebuild them from a checkpoint.
//!
//! The Keras articles' models are kept as written except where they could not make or
//! take the data set's images; each change is named beside its model.

use crate::nn::{Init, Sequential};
use crate::{BatchNormConfig, Conv2dSpec, ConvTranspose2dSpec, Error, Gpu, Padding, Result};
use crate::{TransposePadding, error::shape_err};
use std::collections::BTreeMap;

/// Which pair of models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// DCGAN: Dense → ConvTranspose generator (each doubling the side, from 7×7 for
    /// 28×28 images, from 4×4 for 32, 64 and 128), strided-conv discriminator. At 64×64
    /// it is Radford et al.'s, as PyTorch's example builds it: its first 4×4
    /// ConvTranspose on a 1×1 input is the Dense layer, and D's last 4×4 valid conv on a
    /// 4×4 map is the Dense to one logit.
    Dcgan,
    /// The Keras tutorials' models. On 28×28×1, the DCGAN tutorial's: Dense →
    /// UpSampling2D → Conv2D generator, and a discriminator with Dropout. On 32×32×3,
    /// the CIFAR-10 article's generator (see `keras_cifar_generator`) with the same
    /// discriminator.
    Keras,
    /// A fully connected GAN on flattened images: G 100 → 256 → 512 → 1024 → pixels
    /// with BN and LeakyReLU(0.2) and tanh, D pixels → 512 → 256 → 1 with
    /// LeakyReLU(0.2) (the widths are 4, 8, 16 × ngf and 8, 4 × ndf).
    Mlp,
    /// Keras article A (MNIST), trained with BCE, Keras's Adam and batch 100.
    ArticleA,
    /// Keras article B (MNIST).
    ArticleB,
    /// Keras article C (MNIST), batch 32.
    ArticleC,
}

/// The names `--arch` takes, beside each architecture.
const NAMES: [(&str, Arch); 6] = [
    ("dcgan", Arch::Dcgan),
    ("keras", Arch::Keras),
    ("mlp", Arch::Mlp),
    ("article-a", Arch::ArticleA),
    ("article-b", Arch::ArticleB),
    ("article-c", Arch::ArticleC),
];

impl std::str::FromStr for Arch {
    type Err = String;

    /// A `--arch` name; also the `Debug` form that checkpoints record ("ArticleA").
    fn from_str(s: &str) -> std::result::Result<Arch, String> {
        let key = |n: &str| n.to_ascii_lowercase().replace('-', "");
        NAMES
            .iter()
            .find(|(name, _)| key(name) == key(s))
            .map(|&(_, arch)| arch)
            .ok_or_else(|| {
                let names: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
                format!("{s:?} is not an architecture: {}", names.join(", "))
            })
    }
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = NAMES
            .iter()
            .find(|(_, a)| a == self)
            .expect("every arch is named");
        f.write_str(name.0)
    }
}

/// What an article trains its models with, where it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    pub batch_size: usize,
    /// Keras's `Adam()` defaults (lr 1e-3, β1 0.9, ε 1e-7).
    pub keras_adam: bool,
}

impl Arch {
    /// The article's batch size and optimizer, which the examples take unless told
    /// otherwise.
    pub fn preset(self) -> Option<Preset> {
        let keras = |batch_size| {
            Some(Preset {
                batch_size,
                keras_adam: true,
            })
        };
        match self {
            Arch::ArticleA => keras(100),
            Arch::ArticleB | Arch::ArticleC => keras(32),
            Arch::Dcgan | Arch::Keras | Arch::Mlp => None,
        }
    }
}

/// What builds the two models: the architecture, the image and noise sizes, the widths
/// and the seed of their initial weights. Checkpoints record it in their metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelConfig {
    pub arch: Arch,
    /// (C, H, W) of the images G makes and D takes.
    pub image: [usize; 3],
    /// Size of the noise vector z.
    pub nz: usize,
    /// Generator width: channels of its last hidden layer.
    pub ngf: usize,
    /// Discriminator width: channels of its first layer.
    pub ndf: usize,
    pub seed: u64,
    /// Classes a conditional GAN is told (0: unconditional). G takes each sample's
    /// one-hot class after its noise; D projects its features on a class embedding.
    pub classes: usize,
}

impl Default for ModelConfig {
    fn default() -> ModelConfig {
        ModelConfig {
            arch: Arch::Dcgan,
            image: [1, 28, 28],
            nz: 100,
            ngf: 64,
            ndf: 64,
            seed: 1,
            classes: 0,
        }
    }
}

fn image_text([c, h, w]: [usize; 3]) -> String {
    format!("{c}x{h}x{w}")
}

impl ModelConfig {
    /// The entries a checkpoint's metadata holds.
    pub fn metadata(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("arch".to_string(), format!("{:?}", self.arch)),
            ("image".to_string(), image_text(self.image)),
            ("nz".to_string(), self.nz.to_string()),
            ("ngf".to_string(), self.ngf.to_string()),
            ("ndf".to_string(), self.ndf.to_string()),
            ("seed".to_string(), self.seed.to_string()),
            ("classes".to_string(), self.classes.to_string()),
        ])
    }

    /// The settings a checkpoint was saved with, from its metadata (`what` names it).
    /// Checkpoints from before colour images have no `image`: they are MNIST's.
    pub fn from_metadata(metadata: &BTreeMap<String, String>, what: &str) -> Result<ModelConfig> {
        let field = |key: &str| {
            metadata.get(key).ok_or_else(|| {
                Error::Data(format!(
                    "{what} has no {key} in its metadata: is it a duel GAN checkpoint?"
                ))
            })
        };
        let number = |text: &str, key: &str| -> Result<u64> {
            text.parse()
                .map_err(|e| Error::Data(format!("{what}: bad {key} in its metadata: {e}")))
        };
        let image = match metadata.get("image") {
            None => [1, 28, 28],
            Some(text) => {
                let dims: Vec<usize> = text
                    .split('x')
                    .map(|d| number(d, "image").map(|d| d as usize))
                    .collect::<Result<_>>()?;
                dims.try_into().map_err(|_| {
                    Error::Data(format!("{what}: bad image {text:?} in its metadata"))
                })?
            }
        };
        Ok(ModelConfig {
            arch: field("arch")?
                .parse()
                .map_err(|e| Error::Data(format!("{what}: {e}")))?,
            image,
            nz: number(field("nz")?, "nz")? as usize,
            ngf: number(field("ngf")?, "ngf")? as usize,
            ndf: number(field("ndf")?, "ndf")? as usize,
            seed: number(field("seed")?, "seed")?,
            // Checkpoints from before conditional GANs are unconditional.
            classes: match metadata.get("classes") {
                Some(text) => number(text, "classes")? as usize,
                None => 0,
            },
        })
    }

    /// Refuses an architecture that can't make this config's images: checked with the
    /// other settings, before any data is read, and again when the models are built.
    pub fn check_image(&self) -> Result<()> {
        let allowed: Vec<[usize; 3]> = match self.arch {
            Arch::Dcgan => [1, 3]
                .into_iter()
                .flat_map(|c| DCGAN_SIDES.map(|(side, _)| [c, side, side]))
                .collect(),
            Arch::Keras => vec![MNIST, CIFAR],
            Arch::ArticleA | Arch::ArticleB | Arch::ArticleC => vec![MNIST],
            Arch::Mlp => return Ok(()),
        };
        if allowed.contains(&self.image) {
            return Ok(());
        }
        let allowed: Vec<String> = allowed.iter().map(|&i| image_text(i)).collect();
        Err(Error::Usage(format!(
            "--arch {} makes {} images, not {}",
            self.arch,
            allowed.join(" or "),
            image_text(self.image)
        )))
    }
}

const MNIST: [usize; 3] = [1, 28, 28];
const CIFAR: [usize; 3] = [3, 32, 32];

/// Keras's batch norm of the articles: momentum 0.8, ε 1e-3, biased running variance.
fn keras_bn(mut model: Sequential) -> Sequential {
    model.batch_norm_config = BatchNormConfig::keras(0.8, 1e-3);
    model
}

/// The sides a DCGAN makes, each with how many times its generator doubles: from 7×7
/// to 28, from 4×4 to 32, 64 and 128.
const DCGAN_SIDES: [(usize, usize); 4] = [(28, 2), (32, 3), (64, 4), (128, 5)];

fn dcgan_doublings(model: &ModelConfig) -> Result<usize> {
    let [_, h, w] = model.image;
    DCGAN_SIDES
        .iter()
        .find(|&&(side, _)| (h, w) == (side, side))
        .map(|&(_, doublings)| doublings)
        .ok_or_else(|| {
            shape_err!("the DCGAN models take 28, 32, 64 or 128 square images, not {h}×{w}")
        })
}

pub fn generator(gpu: &Gpu, model: &ModelConfig) -> Result<Sequential> {
    model.check_image()?;
    // G takes the noise, then the one-hot class of a conditional GAN.
    let (inputs, ngf, seed) = (model.nz + model.classes, model.ngf, model.seed);
    let [c, h, w] = model.image;
    let up = ConvTranspose2dSpec::torch(2, 1, 0);
    let same = Conv2dSpec::new(1, Padding::Same);
    let keras = |g| keras_bn(Sequential::new(gpu, "g", &[inputs], Init::GlorotUniform, g));
    match model.arch {
        Arch::Dcgan => {
            let doublings = dcgan_doublings(model)?;
            let side = h >> doublings;
            let width = ngf << (doublings - 1);
            let mut g = Sequential::new(gpu, "g", &[inputs], Init::Dcgan, seed)
                .dense(side * side * width, false)?
                .batch_norm()?
                .relu()?
                .reshape(&[width, side, side])?;
            for i in (0..doublings - 1).rev() {
                g = g
                    .conv_transpose2d(ngf << i, 4, up, false)?
                    .batch_norm()?
                    .relu()?;
            }
            g.conv_transpose2d(c, 4, up, false)?.tanh()
        }
        Arch::Keras if model.image == CIFAR => keras_cifar_generator(keras(seed), ngf),
        Arch::Keras => keras(seed)
            .dense(7 * 7 * ngf * 4, false)?
            .batch_norm()?
            .leaky_relu(0.2)?
            .reshape(&[ngf * 4, 7, 7])?
            .upsample()?
            .conv2d(ngf * 2, 5, same, false)?
            .batch_norm()?
            .leaky_relu(0.2)?
            .upsample()?
            .conv2d(ngf, 5, same, false)?
            .batch_norm()?
            .leaky_relu(0.2)?
            .conv2d(1, 5, same, false)?
            .tanh(),
        Arch::Mlp => keras(seed)
            .dense(ngf * 4, true)?
            .batch_norm()?
            .leaky_relu(0.2)?
            .dense(ngf * 8, true)?
            .batch_norm()?
            .leaky_relu(0.2)?
            .dense(ngf * 16, true)?
            .batch_norm()?
            .leaky_relu(0.2)?
            .dense(c * h * w, true)?
            .tanh()?
            .reshape(&model.image),
        // Article A stops at 14×14: the second UpSampling2D, before the last Conv2D, is
        // ours.
        Arch::ArticleA => keras(seed)
            .dense(7 * 7 * ngf * 2, true)?
            .relu()?
            .reshape(&[ngf * 2, 7, 7])?
            .batch_norm()?
            .leaky_relu(0.2)?
            .upsample()?
            .conv2d(ngf * 2, 4, same, true)?
            .batch_norm()?
            .leaky_relu(0.2)?
            .upsample()?
            .conv2d(1, 4, same, true)?
            .tanh(),
        // Article B's Dense(128) can't reshape to (4, 4, 128), and from 4×4 its layers
        // end at 4×4. Ours: Dense(16·16·128) and Reshape(16, 16, 128), so the
        // transposed conv makes 32×32 and the valid 5×5 conv 28×28.
        Arch::ArticleB => keras(seed)
            .dense(16 * 16 * ngf * 2, true)?
            .relu()?
            .reshape(&[ngf * 2, 16, 16])?
            .conv_transpose2d(
                ngf,
                5,
                ConvTranspose2dSpec::new(2, TransposePadding::Same),
                true,
            )?
            .conv2d(1, 5, Conv2dSpec::new(1, Padding::Valid), true)?
            .tanh(),
        // Article C's Dense(128) can't reshape to (4, 4, 128), its valid layers can't
        // reach 28×28 from any square, and its linear output is unbounded. Ours:
        // Dense(7·7·128) and Reshape(7, 7, 128), "same" padding on the two transposed
        // convs and the last conv (7 → 14 → 28 → 28), and tanh on the output.
        Arch::ArticleC => {
            let up = ConvTranspose2dSpec::new(2, TransposePadding::Same);
            keras(seed)
                .dense(7 * 7 * ngf * 2, true)?
                .reshape(&[ngf * 2, 7, 7])?
                .conv_transpose2d(ngf, 4, up, true)?
                .relu()?
                .conv_transpose2d(ngf / 2, 4, up, true)?
                .relu()?
                .conv2d(1, 4, same, true)?
                .tanh()
        }
    }
}

/// The Keras CIFAR-10 article's generator: Dense → ConvT 64 (5×5, stride 1) → ConvT
/// 32 (stride 2) → ConvT 3 (stride 2), ReLU between, tanh at the end, all "same". From
/// its 7×7 Dense it makes 28×28; ours starts at 8×8 (Dense(8·8·128)) to make 32×32.
/// (The article also scales the data to [0, 1] under its tanh; duel's data is in
/// [-1, 1], tanh's range.)
fn keras_cifar_generator(g: Sequential, ngf: usize) -> Result<Sequential> {
    let same = |stride| ConvTranspose2dSpec::new(stride, TransposePadding::Same);
    g.dense(8 * 8 * ngf * 2, true)?
        .relu()?
        .reshape(&[ngf * 2, 8, 8])?
        .conv_transpose2d(ngf, 5, same(1), true)?
        .relu()?
        .conv_transpose2d(ngf / 2, 5, same(2), true)?
        .relu()?
        .conv_transpose2d(3, 5, same(2), true)?
        .tanh()
}

/// The discriminators end in one logit: the articles' sigmoid heads are the sigmoid
/// inside BCE-with-logits, the same loss computed without overflow.
pub fn discriminator(gpu: &Gpu, model: &ModelConfig) -> Result<Sequential> {
    let (ndf, seed) = (model.ndf, model.seed.wrapping_add(1));
    let image = &model.image[..];
    let keras = || keras_bn(Sequential::new(gpu, "d", image, Init::GlorotUniform, seed));
    let strided = Conv2dSpec::new(2, Padding::symmetric(1));
    let same = |stride| Conv2dSpec::new(stride, Padding::Same);
    match model.arch {
        Arch::Dcgan => {
            let doublings = dcgan_doublings(model)?;
            let mut d = Sequential::new(gpu, "d", image, Init::Dcgan, seed)
                .conv2d(ndf, 4, strided, false)?
                .leaky_relu(0.2)?;
            for i in 1..doublings {
                d = d
                    .conv2d(ndf << i, 4, strided, false)?
                    .batch_norm()?
                    .leaky_relu(0.2)?;
            }
            d.flatten()?.dense(1, true)
        }
        Arch::Keras => keras()
            .conv2d(ndf, 5, same(2), true)?
            .leaky_relu(0.2)?
            .dropout(0.3)?
            .conv2d(ndf * 2, 5, same(2), true)?
            .leaky_relu(0.2)?
            .dropout(0.3)?
            .flatten()?
            .dense(1, true),
        Arch::Mlp => keras()
            .flatten()?
            .dense(ndf * 8, true)?
            .leaky_relu(0.2)?
            .dense(ndf * 4, true)?
            .leaky_relu(0.2)?
            .dense(1, true),
        Arch::ArticleA => keras()
            .conv2d(ndf / 2, 4, same(1), true)?
            .leaky_relu(0.2)?
            .dropout(0.3)?
            .flatten()?
            .dense(1, true),
        // As written: no activation after the conv.
        Arch::ArticleB => keras()
            .conv2d(ndf, 5, same(2), true)?
            .flatten()?
            .dense(1, true),
        Arch::ArticleC => keras()
            .conv2d(ndf, 3, same(1), true)?
            .relu()?
            .conv2d(ndf, 3, same(1), true)?
            .relu()?
            .flatten()?
            .dense(1, true),
    }
}
