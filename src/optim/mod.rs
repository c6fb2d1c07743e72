//! Optimisers. Each owns the parameters it updates, so a GAN has one per network.

mod adam;
mod sgd;

pub use adam::Adam;
pub use sgd::Sgd;
