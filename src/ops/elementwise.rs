//! Elementwise launchers over tensors of any shape, forward and backward.
//!
//! Backward kernels take the upstream gradient first, then what the forward saw:
//! ReLU and LeakyReLU take the input x, tanh and sigmoid take their output y.
//! The gradients of add are the upstream gradient itself, and those of mul are
//! two more muls, so neither needs a kernel of its own.

use crate::error::shape_err;
use crate::{Result, Tensor};

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

fn unary(entry: &'static str, x: &Tensor, alpha: f32) -> Result<Tensor> {
    let out = Tensor::uninit(x.gpu(), x.shape())?;
    if x.numel() > 0 {
        let gpu = x.gpu();
        let params = flat_params(x.numel(), alpha)?;
        crate::ops::dispatch_flat(
            gpu,
            ("elementwise", entry),
            &params,
            &[x.buffer(), out.buffer()],
            x.numel(),
        )?;
    }
    Ok(out)
}

fn binary(entry: &'static str, a: &Tensor, b: &Tensor, alpha: f32) -> Result<Tensor> {
    if a.shape() != b.shape() {
        return Err(shape_err!(
            "{entry}: shapes differ: {:?} and {:?}",
            a.shape(),
            b.shape()
        ));
    }
    let out = Tensor::uninit(a.gpu(), a.shape())?;
    if a.numel() > 0 {
        let gpu = a.gpu();
        let params = flat_params(a.numel(), alpha)?;
        crate::ops::dispatch_flat(
            gpu,
            ("elementwise", entry),
            &params,
            &[a.buffer(), b.buffer(), out.buffer()],
            a.numel(),
        )?;
    }
    Ok(out)
}

/// out = a + b, same shapes.
pub fn add(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary("add", a, b, 0.0)
}

/// out = a - b, same shapes.
pub fn sub(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary("sub", a, b, 0.0)
}

/// out = a * b, same shapes.
pub fn mul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary("mul", a, b, 0.0)
}

/// out = x * s.
pub fn scale(x: &Tensor, s: f32) -> Result<Tensor> {
    unary("scale", x, s)
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

fn accumulate(entry: &'static str, dst: &Tensor, src: &Tensor, alpha: f32) -> Result<()> {
    if dst.shape() != src.shape() {
        return Err(shape_err!(
            "{entry}: shapes differ: dst {:?}, src {:?}",
            dst.shape(),
            src.shape()
        ));
    }
    if dst.numel() > 0 {
        let gpu = dst.gpu();
        let params = flat_params(dst.numel(), alpha)?;
        crate::ops::dispatch_flat(
            gpu,
            ("elementwise", entry),
            &params,
            &[src.buffer(), dst.buffer()],
            dst.numel(),
        )?;
    }
    Ok(())
}

pub fn relu(x: &Tensor) -> Result<Tensor> {
    unary("relu", x, 0.0)
}

/// max(x, 0) for x > 0, else alpha * x.
pub fn leaky_relu(x: &Tensor, alpha: f32) -> Result<Tensor> {
    unary("leaky_relu", x, alpha)
}

pub fn tanh(x: &Tensor) -> Result<Tensor> {
    unary("tanh_forward", x, 0.0)
}

pub fn sigmoid(x: &Tensor) -> Result<Tensor> {
    unary("sigmoid_forward", x, 0.0)
}

/// (x + eps)^-1/2: batch norm's inverse standard deviation, from a variance.
pub fn rsqrt(x: &Tensor, eps: f32) -> Result<Tensor> {
    unary("rsqrt", x, eps)
}

/// dx = dy where x > 0, else 0.
pub fn relu_backward(dy: &Tensor, x: &Tensor) -> Result<Tensor> {
    binary("relu_backward", dy, x, 0.0)
}

/// dx = dy where x > 0, else alpha * dy.
pub fn leaky_relu_backward(dy: &Tensor, x: &Tensor, alpha: f32) -> Result<Tensor> {
    binary("leaky_relu_backward", dy, x, alpha)
}

/// dx = dy * (1 - y²), from the forward output y.
pub fn tanh_backward(dy: &Tensor, y: &Tensor) -> Result<Tensor> {
    binary("tanh_backward", dy, y, 0.0)
}

/// dx = dy * y * (1 - y), from the forward output y.
pub fn sigmoid_backward(dy: &Tensor, y: &Tensor) -> Result<Tensor> {
    binary("sigmoid_backward", dy, y, 0.0)
}
