//! How the two networks train: the adversarial loss, the gradient penalties, how many
//! D steps each G step, and each network's Adam.

use crate::autograd::{Graph, Var};
use crate::{AdamConfig, Result, Tensor};

/// The adversarial loss, on the discriminator's raw output d.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Loss {
    /// Non-saturating BCE on logits (DCGAN): D minimises BCE(d(x), 1) + BCE(d(G(z)), 0),
    /// and G minimises BCE(d(G(z)), 1).
    #[default]
    Bce,
    /// Least squares (LSGAN, as the Keras articles write it): D minimises
    /// mean (d(x) - 1)² + mean d(G(z))², and G minimises mean (d(G(z)) - 1)².
    Lsgan,
    /// Hinge (SAGAN, BigGAN): D minimises mean relu(1 - d(x)) + mean relu(1 + d(G(z))),
    /// and G minimises -mean d(G(z)).
    Hinge,
    /// Wasserstein (WGAN): D minimises mean d(G(z)) - mean d(x), and G minimises
    /// -mean d(G(z)). D must be kept Lipschitz: with `--gp`, or spectral norm.
    Wgan,
}

impl std::str::FromStr for Loss {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Loss, String> {
        match s.to_ascii_lowercase().as_str() {
            "bce" => Ok(Loss::Bce),
            "lsgan" => Ok(Loss::Lsgan),
            "hinge" => Ok(Loss::Hinge),
            "wgan" => Ok(Loss::Wgan),
            other => Err(format!(
                "{other:?} is not a loss: bce, lsgan, hinge or wgan"
            )),
        }
    }
}

impl std::fmt::Display for Loss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Loss::Bce => "BCE",
            Loss::Lsgan => "LSGAN",
            Loss::Hinge => "hinge",
            Loss::Wgan => "WGAN",
        })
    }
}

impl Loss {
    /// Whether D(x) and D(G(z)) are shown as probabilities (sigmoid of D's output)
    /// rather than as D's raw output.
    pub fn shows_probabilities(self) -> bool {
        self == Loss::Bce
    }

    /// D's loss from its outputs on the real batch and the fake one, with targets of
    /// ones and zeros shaped like them.
    pub fn discriminator(
        self,
        g: &mut Graph,
        real: Var,
        fake: Var,
        (ones, zeros): (&Tensor, &Tensor),
    ) -> Result<Var> {
        match self {
            Loss::Bce => {
                let on_real = g.bce_with_logits(real, ones)?;
                let on_fake = g.bce_with_logits(fake, zeros)?;
                g.add(on_real, on_fake)
            }
            Loss::Lsgan => {
                let one = g.input(ones.clone());
                let on_real = g.mse(real, one)?;
                let fake2 = g.square(fake)?;
                let on_fake = g.mean(fake2)?;
                g.add(on_real, on_fake)
            }
            Loss::Hinge => {
                let one = g.input(ones.clone());
                let below = g.sub(one, real)?;
                let below = g.relu(below)?;
                let on_real = g.mean(below)?;
                let above = g.add(one, fake)?;
                let above = g.relu(above)?;
                let on_fake = g.mean(above)?;
                g.add(on_real, on_fake)
            }
            Loss::Wgan => {
                let on_fake = g.mean(fake)?;
                let on_real = g.mean(real)?;
                g.sub(on_fake, on_real)
            }
        }
    }

    /// G's loss from D's output on the fake batch.
    pub fn generator(self, g: &mut Graph, fake: Var, ones: &Tensor) -> Result<Var> {
        match self {
            Loss::Bce => g.bce_with_logits(fake, ones),
            Loss::Lsgan => {
                let one = g.input(ones.clone());
                g.mse(fake, one)
            }
            Loss::Hinge | Loss::Wgan => {
                let mean = g.mean(fake)?;
                g.scale(mean, -1.0)
            }
        }
    }
}

/// The training recipe.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recipe {
    pub loss: Loss,
    /// R1: γ/2 · E‖∇ₓD(x)‖² on real images, added to D's loss; 0 turns it off.
    pub r1: f32,
    /// WGAN-GP: λ · E(‖∇D(x̂)‖ - 1)² on random interpolates x̂ of real and fake images,
    /// added to D's loss; 0 turns it off.
    pub gp: f32,
    /// D steps per G step: a step trains D, and every `n_critic`-th step also G.
    pub n_critic: usize,
    /// Divide the weight of every Dense and conv of D by its spectral norm, estimated
    /// by one power iteration a step.
    pub spectral_norm: bool,
    /// After each G step, an exponential moving average of G's weights takes in the
    /// new ones with weight 1 - `ema`; grids, scores and exported samples then come
    /// from it. 0 turns it off; 0.999 is usual.
    pub ema: f32,
    pub adam_g: AdamConfig,
    pub adam_d: AdamConfig,
}

impl Default for Recipe {
    fn default() -> Recipe {
        Recipe {
            loss: Loss::default(),
            r1: 0.0,
            gp: 0.0,
            n_critic: 1,
            spectral_norm: false,
            ema: 0.0,
            adam_g: AdamConfig::default(),
            adam_d: AdamConfig::default(),
        }
    }
}
