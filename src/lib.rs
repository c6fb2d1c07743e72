//! duel: a small GPU compute engine for training GANs, on hand-written WGSL compute shaders.
//!
//! Layers, lowest first: `gpu` (device, buffer pool, kernel cache, batched dispatch),
//! `Tensor` (a GPU buffer plus a shape), `ops` (kernel launchers), and `reference`
//! (CPU twins of every op, used by the tests as the oracle).
//!
//! Everything but the `native` feature's files, downloads, CLI, signals and blocking
//! waits builds for `wasm32-unknown-unknown` too: there every download is awaited
//! (`Tensor::to_vec_async`), and `web/` trains in a browser tab on WebGPU.

// In the browser wgpu's handles are neither Send nor Sync (the page has one thread),
// so the Arcs that make `Gpu` and `Tensor` shareable natively share nothing there.
#![cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]

#[cfg(all(feature = "native", target_arch = "wasm32"))]
compile_error!(
    "duel's `native` feature (files, signals, the CLI, blocking waits) has no wasm32 \
     build: build for the browser with `--no-default-features`, as web/ does"
);

pub mod autograd;
#[cfg(feature = "native")]
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
