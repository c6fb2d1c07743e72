//! Every GPU kernel against its CPU reference, every backward reference against
//! finite differences, and the harness's promises (pooling, batching, errors).
//!
//! GPU tests need an adapter and fail, not skip, without one: CI always has lavapipe.

mod adam;
mod batch_norm;
mod classify;
mod common;
mod conv;
mod elementwise;
mod errors;
mod fill;
mod gradcheck;
mod harness;
mod health;
mod loss;
mod matmul;
mod random;
mod reduce;
mod shaders;
mod upsample;
