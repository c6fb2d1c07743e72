//! duel: a small GPU compute engine for training GANs, on hand-written WGSL compute shaders.
//!
//! Layers, lowest first: `gpu` (device, buffer pool, kernel cache, batched dispatch),
//! `Tensor` (a GPU buffer plus a shape), `ops` (kernel launchers), and `reference`
//! (CPU twins of every op, used by the tests as the oracle).

pub mod autograd;
pub mod cli;
pub mod conv_spec;
pub mod data;
mod error;
pub mod gan;
pub mod gpu;
pub mod interrupt;
pub mod io;
pub mod metrics;
pub mod nn;
pub mod op_config;
pub mod ops;
pub mod optim;
pub mod reference;
mod tensor;

pub use conv_spec::{Conv2dSpec, ConvTranspose2dSpec, Padding, TransposePadding};
pub use error::{Error, Result};
pub use gpu::Gpu;
pub use op_config::{Activation, AdamConfig, BatchNormConfig};
pub use tensor::Tensor;
