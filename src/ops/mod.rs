//! Op launchers: each validates shapes in Rust, then records its kernel's dispatch.
//! Their CPU twins, with the same names and argument order, are in `reference`.

use crate::gpu::{BufferRange, Gpu, KernelKey};
use crate::{Error, Result};

mod adam;
mod batch_norm;
mod classify;
mod conv;
mod elementwise;
mod fill;
mod gemm;
mod health;
mod loss;
mod matmul;
mod random;
mod reduce;
mod upsample;

pub use adam::adam_step;
pub use batch_norm::{
    BatchNormSaved, batch_norm_backward, batch_norm_backward_merged, batch_norm_eval,
    batch_norm_partial_grad, batch_norm_partial_stats, batch_norm_train, batch_norm_train_merged,
};
pub use classify::{accuracy, argmax, max_softmax};
pub use conv::{
    ConvPass, col2im, conv_gemm_plans, conv_transpose2d, conv_transpose2d_backward_input,
    conv_transpose2d_backward_weight, conv2d, conv2d_backward_bias, conv2d_backward_input,
    conv2d_backward_weight,
};
pub use elementwise::{
    activation, activation_backward, add, add_assign, lerp_assign, mul, rsqrt, scale, sub,
};
pub use fill::{copy, fill, full, zeros};
#[cfg(feature = "native")]
pub use health::health;
pub use health::{Health, health_async};
pub use loss::{
    BCE_EPS, bce, bce_backward, bce_with_logits, bce_with_logits_backward, softmax_cross_entropy,
    softmax_cross_entropy_backward, softmax_cross_entropy_soft,
    softmax_cross_entropy_soft_backward,
};
pub use matmul::{dense, matmul, matmul_backward, matmul_nt, matmul_tn, matmul_with};
pub use random::{dropout, dropout_backward, fill_normal, fill_normal_part, fill_uniform};
pub use reduce::{
    mean, mean_axis, mean_axis_backward, mean_backward, sum, sum_axis, sum_axis_backward,
    sum_backward,
};
pub use upsample::{upsample, upsample_backward};

/// Invocations to a workgroup of the kernels with one item per invocation: the `WG`
/// of their WGSL prelude, shaders/flat.wgsl.
const FLAT_WG: u64 = 256;

/// Records entry point `entry` of shaders/`shader`.wgsl for `items` invocations, one
/// per item, FLAT_WG to a workgroup, on the 2-D grid that more than 65,535 workgroups
/// need; `buffers` bind in order from binding 1.
pub(crate) fn dispatch_flat<P: bytemuck::Pod>(
    gpu: &Gpu,
    key: impl Into<KernelKey>,
    params: &P,
    buffers: &[BufferRange],
    items: usize,
) -> Result<()> {
    let groups = gpu.grid((items as u64).div_ceil(FLAT_WG))?;
    gpu.dispatch(&key.into(), params, buffers, groups);
    Ok(())
}

/// `v` as a shader's u32 size or index; beyond 2^32 it is `Error::TooLarge`, naming
/// `what`.
pub(crate) fn dim(v: usize, what: &str) -> Result<u32> {
    u32::try_from(v)
        .map_err(|_| Error::TooLarge(format!("{what}: {v} exceeds the 2^32 index range")))
}
