//! fill and copy, as kernels so they stay inside the open compute pass.

use crate::error::shape_err;
use crate::gpu::Gpu;
use crate::ops::elementwise::flat_params;
use crate::{Result, Tensor};

/// Sets every element of `t` to `value`.
pub fn fill(t: &Tensor, value: f32) -> Result<()> {
    if t.numel() > 0 {
        let params = flat_params(t.numel(), value)?;
        crate::ops::dispatch_flat(t.gpu(), ("fill", "fill"), &params, &[t.buffer()], t.numel())?;
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
        let params = flat_params(dst.numel(), 0.0)?;
        let buffers = [src.buffer(), dst.buffer()];
        crate::ops::dispatch_flat(dst.gpu(), ("fill", "copy"), &params, &buffers, dst.numel())?;
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
