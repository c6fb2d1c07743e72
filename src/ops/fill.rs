//! fill and copy, as kernels so they stay inside the open compute pass.

use crate::error::shape_err;
use crate::gpu::{Gpu, KernelKey};
use crate::ops::elementwise::flat_params;
use crate::{Result, Tensor};

const WG: u64 = 256;

/// Sets every element of `t` to `value`.
pub fn fill(t: &Tensor, value: f32) -> Result<()> {
    if t.numel() > 0 {
        let gpu = t.gpu();
        let groups = gpu.grid((t.numel() as u64).div_ceil(WG))?;
        gpu.dispatch(
            &KernelKey::new("fill", "fill"),
            &flat_params(t.numel(), value)?,
            &[t.buffer()],
            groups,
        );
    }
    Ok(())
}

/// Copies `src` into `dst`; the shapes must match.
pub fn copy(dst: &Tensor, src: &Tensor) -> Result<()> {
    if dst.shape() != src.shape() {
        return Err(shape_err!(
            "copy: shapes differ: dst {:?}, src {:?}",
            dst.shape(),
            src.shape()
        ));
    }
    if dst.numel() > 0 {
        let gpu = dst.gpu();
        let groups = gpu.grid((dst.numel() as u64).div_ceil(WG))?;
        gpu.dispatch(
            &KernelKey::new("fill", "copy"),
            &flat_params(dst.numel(), 0.0)?,
            &[src.buffer(), dst.buffer()],
            groups,
        );
    }
    Ok(())
}

/// A new tensor with every element `value`.
pub fn full(gpu: &Gpu, shape: &[usize], value: f32) -> Result<Tensor> {
    let t = Tensor::uninit(gpu, shape)?;
    fill(&t, value)?;
    Ok(t)
}

pub fn zeros(gpu: &Gpu, shape: &[usize]) -> Result<Tensor> {
    full(gpu, shape, 0.0)
}
