//! Random fills and dropout from a counter-based generator (Philox4x32-10), keyed by
//! (seed, offset): the same key gives the same numbers, on any adapter, and element i
//! depends on nothing but the key and i.

use crate::gpu::BufferRange;
use crate::{Result, Tensor, error::shape_err};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    seed_lo: u32,
    seed_hi: u32,
    offset_lo: u32,
    offset_hi: u32,
    a: f32,
    b: f32,
    first: u32,
}

/// `entry` over `out` under the key (seed, offset), drawing element i as element
/// first + i of a larger call would; `(a, b)` are the entry's two parameters.
fn launch(
    entry: &'static str,
    inputs: &[&Tensor],
    out: &Tensor,
    (seed, offset, first): (u64, u64, usize),
    (a, b): (f32, f32),
) -> Result<()> {
    let n = out.numel();
    if n == 0 {
        return Ok(());
    }
    // The shader's element indices, first..first + n, are u32.
    crate::ops::dim(first + n, "random")?;
    let params = Params {
        n: crate::ops::dim(n, "random")?,
        seed_lo: seed as u32,
        seed_hi: (seed >> 32) as u32,
        offset_lo: offset as u32,
        offset_hi: (offset >> 32) as u32,
        a,
        b,
        first: first as u32,
    };
    let gpu = out.gpu();
    let mut buffers: Vec<BufferRange> = inputs.iter().map(|t| t.buffer()).collect();
    buffers.push(out.buffer());
    crate::ops::dispatch_flat(gpu, ("random", entry), &params, &buffers, n)?;
    Ok(())
}

/// Fills `t` with uniform values in [lo, hi).
pub fn fill_uniform(t: &Tensor, lo: f32, hi: f32, seed: u64, offset: u64) -> Result<()> {
    if lo.partial_cmp(&hi) != Some(std::cmp::Ordering::Less) {
        return Err(shape_err!("fill_uniform: need lo < hi, got [{lo}, {hi})"));
    }
    launch("fill_uniform", &[], t, (seed, offset, 0), (lo, hi))
}

/// Fills `t` with normal values of the given mean and standard deviation.
pub fn fill_normal(t: &Tensor, mean: f32, std: f32, seed: u64, offset: u64) -> Result<()> {
    fill_normal_part(t, mean, std, seed, offset, 0)
}

/// Fills `t` with elements `first..` of what `fill_normal` of the same key draws for
/// a larger tensor: a data-parallel rank's rows of the global batch's noise.
pub fn fill_normal_part(
    t: &Tensor,
    mean: f32,
    std: f32,
    seed: u64,
    offset: u64,
    first: usize,
) -> Result<()> {
    if std.is_nan() || std < 0.0 {
        return Err(shape_err!("fill_normal: std must be >= 0, got {std}"));
    }
    launch("fill_normal", &[], t, (seed, offset, first), (mean, std))
}

/// Inverted dropout: zeroes each element with probability `rate` and scales the rest
/// by 1 / (1 - rate). The mask is a function of (seed, offset, index) only.
pub fn dropout(x: &Tensor, rate: f32, seed: u64, offset: u64) -> Result<Tensor> {
    if !(0.0..1.0).contains(&rate) {
        return Err(shape_err!("dropout: rate must be in [0, 1), got {rate}"));
    }
    let out = Tensor::uninit(x.gpu(), x.shape())?;
    launch("dropout", &[x], &out, (seed, offset, 0), (rate, 0.0))?;
    Ok(out)
}

/// The gradient of `dropout` with the same (rate, seed, offset): the same mask and
/// scale applied to dy, rebuilt rather than stored.
pub fn dropout_backward(dy: &Tensor, rate: f32, seed: u64, offset: u64) -> Result<Tensor> {
    dropout(dy, rate, seed, offset)
}
