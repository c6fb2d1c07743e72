//! Elementwise launchers over tensors of any shape, forward and backward.
//!
//! Every activation runs through one forward and one backward kernel, which the
//! override constants of `Activation` specialise. The gradients of add are the
//! upstream gradient itself, and those of mul are two more muls, so neither needs a
//! kernel of its own.

use crate::error::shape_err;
use crate::gpu::KernelKey;
use crate::{Activation, Result, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct Params {
    pub n: u32,
    pub alpha: f32,
    pub _pad: [u32; 2],
}

pub(crate) fn flat_params(n: usize, alpha: f32) -> Result<Params> {
    let n = crate::ops::dim(n, "elementwise")?;
    Ok(Params {
        n,
        alpha,
        _pad: [0; 2],
    })
}

fn unary(key: KernelKey, x: &Tensor, alpha: f32) -> Result<Tensor> {
    let out = Tensor::uninit(x.gpu(), x.shape())?;
    if x.numel() > 0 {
        let gpu = x.gpu();
        let params = flat_params(x.numel(), alpha)?;
        crate::ops::dispatch_flat(gpu, key, &params, &[x.buffer(), out.buffer()], x.numel())?;
    }
    Ok(out)
}

fn binary(key: KernelKey, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if a.shape() != b.shape() {
        return Err(shape_err!(
            "{}: shapes differ: {:?} and {:?}",
            key.entry,
            a.shape(),
            b.shape()
        ));
    }
    let out = Tensor::uninit(a.gpu(), a.shape())?;
    if a.numel() > 0 {
        let gpu = a.gpu();
        let params = flat_params(a.numel(), 0.0)?;
        let buffers = [a.buffer(), b.buffer(), out.buffer()];
        crate::ops::dispatch_flat(gpu, key, &params, &buffers, a.numel())?;
    }
    Ok(out)
}

fn entry(name: &'static str) -> KernelKey {
    KernelKey::new("elementwise", name)
}

/// out = a + b, same shapes.
pub fn add(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(entry("add"), a, b)
}

/// out = a - b, same shapes.
pub fn sub(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(entry("sub"), a, b)
}

/// out = a * b, same shapes.
pub fn mul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary(entry("mul"), a, b)
}

/// out = x * s.
pub fn scale(x: &Tensor, s: f32) -> Result<Tensor> {
    unary(entry("scale"), x, s)
}

/// dst += src in place: how gradients accumulate.
pub fn add_assign(dst: &Tensor, src: &Tensor) -> Result<()> {
    accumulate("add_assign", dst, src, 0.0)
}

/// dst += t · (src - dst) in place: an exponential moving average of src, with weight
/// t on the new value.
pub fn lerp_assign(dst: &Tensor, src: &Tensor, t: f32) -> Result<()> {
    accumulate("lerp_assign", dst, src, t)
}

fn accumulate(name: &'static str, dst: &Tensor, src: &Tensor, alpha: f32) -> Result<()> {
    if dst.shape() != src.shape() {
        return Err(shape_err!(
            "{name}: shapes differ: dst {:?}, src {:?}",
            dst.shape(),
            src.shape()
        ));
    }
    if dst.numel() > 0 {
        let gpu = dst.gpu();
        let params = flat_params(dst.numel(), alpha)?;
        let buffers = [src.buffer(), dst.buffer()];
        crate::ops::dispatch_flat(gpu, entry(name), &params, &buffers, dst.numel())?;
    }
    Ok(())
}

/// act(x).
pub fn activation(x: &Tensor, act: Activation) -> Result<Tensor> {
    unary(entry("activation").with_activation(act), x, 0.0)
}

/// (x + eps)^-1/2: batch norm's inverse standard deviation, from a variance.
pub fn rsqrt(x: &Tensor, eps: f32) -> Result<Tensor> {
    unary(entry("rsqrt"), x, eps)
}

/// dx = dy · act′(x), read from `at`: the input x for ReLU and LeakyReLU (their sign),
/// the output y for tanh and sigmoid (see `Activation::backward_reads_input`).
pub fn activation_backward(dy: &Tensor, at: &Tensor, act: Activation) -> Result<Tensor> {
    binary(entry("activation_backward").with_activation(act), dy, at)
}
