//! How the two networks train: the adversarial loss, and each network's Adam.

use crate::AdamConfig;

/// The adversarial loss, on the discriminator's raw output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Loss {
    /// Non-saturating BCE on logits (DCGAN): D minimises BCE(D(x), 1) + BCE(D(G(z)), 0),
    /// and G minimises BCE(D(G(z)), 1).
    #[default]
    Bce,
    /// Least squares (LSGAN, as the Keras articles write it): D minimises
    /// mean (D(x) - 1)² + mean D(G(z))², and G minimises mean (D(G(z)) - 1)².
    Lsgan,
}

impl std::str::FromStr for Loss {
    type Err = String;

    fn from_str(s: &str) -> Result<Loss, String> {
        match s.to_ascii_lowercase().as_str() {
            "bce" => Ok(Loss::Bce),
            "lsgan" => Ok(Loss::Lsgan),
            other => Err(format!("{other:?} is not a loss: bce or lsgan")),
        }
    }
}

impl std::fmt::Display for Loss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Loss::Bce => "BCE",
            Loss::Lsgan => "LSGAN",
        })
    }
}

/// The training recipe.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Recipe {
    pub loss: Loss,
    pub adam_g: AdamConfig,
    pub adam_d: AdamConfig,
}
