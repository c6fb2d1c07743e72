//! Layers, a Keras-style `Sequential` builder and weight initialisation.

mod init;
mod layers;
mod sequential;
mod spectral;

pub use init::{Init, Initializer};
pub use layers::{BatchNorm, Conv2d, ConvTranspose2d, Dense, Layer, Stateless, Weights};
pub use sequential::Sequential;
pub use spectral::SpectralNorm;
