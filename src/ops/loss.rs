//! Losses as means, with their backward: binary cross-entropy on logits (stable for
//! any logit) and on probabilities (clamped, as Keras does), and softmax cross-entropy
//! on logits with integer labels or with target distributions. Targets for BCE may be any value in [0, 1], so
//! label smoothing works. Each backward takes dloss, the gradient of the mean (shape []).

use crate::gpu::BufferRange;
use crate::{Result, Tensor, error::shape_err, ops};

/// Probabilities are clamped into [EPS, 1 - EPS] before their logarithm (Keras's epsilon).
pub const BCE_EPS: f32 = 1e-7;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    classes: u32,
    scale: f32,
    eps: f32,
}

fn params(n: usize, classes: usize, count: usize) -> Result<Params> {
    let idx = |v: usize| crate::ops::dim(v, "loss");
    Ok(Params {
        n: idx(n)?,
        classes: idx(classes)?,
        scale: 1.0 / count.max(1) as f32,
        eps: BCE_EPS,
    })
}

fn dispatch(
    entry: &'static str,
    params: Params,
    buffers: &[&Tensor],
    invocations: usize,
) -> Result<()> {
    let gpu = buffers[0].gpu();
    let buffers: Vec<BufferRange> = buffers.iter().map(|t| t.buffer()).collect();
    crate::ops::dispatch_flat(gpu, ("loss", entry), &params, &buffers, invocations)?;
    Ok(())
}

fn check_pair(x: &Tensor, target: &Tensor, op: &str) -> Result<()> {
    if x.shape() != target.shape() {
        return Err(shape_err!(
            "{op}: predictions {:?} and targets {:?} differ in shape",
            x.shape(),
            target.shape()
        ));
    }
    if x.numel() == 0 {
        return Err(shape_err!("{op}: empty batch"));
    }
    Ok(())
}

fn check_dloss(dloss: &Tensor, op: &str) -> Result<()> {
    if dloss.numel() != 1 {
        return Err(shape_err!(
            "{op}: dloss must hold one value, got shape {:?}",
            dloss.shape()
        ));
    }
    Ok(())
}

/// Per-element forward, then the mean.
fn elementwise_mean(entry: &'static str, x: &Tensor, target: &Tensor) -> Result<Tensor> {
    check_pair(x, target, entry)?;
    let losses = Tensor::uninit(x.gpu(), x.shape())?;
    dispatch(
        entry,
        params(x.numel(), 0, x.numel())?,
        &[x, target, &losses],
        x.numel(),
    )?;
    ops::mean(&losses)
}

fn elementwise_backward(
    entry: &'static str,
    dloss: &Tensor,
    x: &Tensor,
    target: &Tensor,
) -> Result<Tensor> {
    check_pair(x, target, entry)?;
    check_dloss(dloss, entry)?;
    let dx = Tensor::uninit(x.gpu(), x.shape())?;
    dispatch(
        entry,
        params(x.numel(), 0, x.numel())?,
        &[x, target, &dx, dloss],
        x.numel(),
    )?;
    Ok(dx)
}

/// mean(max(z, 0) - z·t + ln(1 + e^-|z|)): BCE of sigmoid(z) against t, from logits.
pub fn bce_with_logits(z: &Tensor, t: &Tensor) -> Result<Tensor> {
    elementwise_mean("bce_logits", z, t)
}

pub fn bce_with_logits_backward(dloss: &Tensor, z: &Tensor, t: &Tensor) -> Result<Tensor> {
    elementwise_backward("bce_logits_backward", dloss, z, t)
}

/// mean(-(t ln p + (1 - t) ln(1 - p))) with p clamped to [BCE_EPS, 1 - BCE_EPS], for
/// models that end in a sigmoid. The gradient is zero where the clamp is active.
pub fn bce(p: &Tensor, t: &Tensor) -> Result<Tensor> {
    elementwise_mean("bce_probs", p, t)
}

pub fn bce_backward(dloss: &Tensor, p: &Tensor, t: &Tensor) -> Result<Tensor> {
    elementwise_backward("bce_probs_backward", dloss, p, t)
}

fn check_softmax(logits: &Tensor, labels: &Tensor, op: &str) -> Result<(usize, usize)> {
    let [n, c] = <[usize; 2]>::try_from(logits.shape())
        .map_err(|_| shape_err!("{op}: logits must be (N, C), got {:?}", logits.shape()))?;
    if labels.shape() != [n] {
        return Err(shape_err!(
            "{op}: labels must have shape [{n}] for logits {:?}, got {:?}",
            logits.shape(),
            labels.shape()
        ));
    }
    if n == 0 || c == 0 {
        return Err(shape_err!("{op}: empty logits {:?}", logits.shape()));
    }
    Ok((n, c))
}

/// mean over rows of logsumexp(z) - z[label]. Labels are class indices stored as f32;
/// an index outside [0, C) makes the loss NaN.
pub fn softmax_cross_entropy(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    let (n, c) = check_softmax(logits, labels, "softmax_cross_entropy")?;
    let losses = Tensor::uninit(logits.gpu(), &[n])?;
    dispatch(
        "softmax_ce",
        params(n, c, n)?,
        &[logits, labels, &losses],
        n,
    )?;
    ops::mean(&losses)
}

pub fn softmax_cross_entropy_backward(
    dloss: &Tensor,
    logits: &Tensor,
    labels: &Tensor,
) -> Result<Tensor> {
    let (n, c) = check_softmax(logits, labels, "softmax_cross_entropy_backward")?;
    check_dloss(dloss, "softmax_cross_entropy_backward")?;
    let dz = Tensor::uninit(logits.gpu(), logits.shape())?;
    dispatch(
        "softmax_ce_backward",
        params(n, c, n)?,
        &[logits, labels, &dz, dloss],
        n,
    )?;
    Ok(dz)
}

fn check_soft(logits: &Tensor, targets: &Tensor, op: &str) -> Result<(usize, usize)> {
    let [n, c] = <[usize; 2]>::try_from(logits.shape())
        .map_err(|_| shape_err!("{op}: logits must be (N, C), got {:?}", logits.shape()))?;
    check_pair(logits, targets, op)?;
    Ok((n, c))
}

/// mean over rows of Σ_c t_c (logsumexp(z) - z_c): cross-entropy against target
/// distributions (N, C), for label smoothing or for a uniform target that teaches a
/// classifier to be unsure.
pub fn softmax_cross_entropy_soft(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let (n, c) = check_soft(logits, targets, "softmax_cross_entropy_soft")?;
    let losses = Tensor::uninit(logits.gpu(), &[n])?;
    dispatch(
        "softmax_ce_soft",
        params(n, c, n)?,
        &[logits, targets, &losses],
        n,
    )?;
    ops::mean(&losses)
}

pub fn softmax_cross_entropy_soft_backward(
    dloss: &Tensor,
    logits: &Tensor,
    targets: &Tensor,
) -> Result<Tensor> {
    let (n, c) = check_soft(logits, targets, "softmax_cross_entropy_soft_backward")?;
    check_dloss(dloss, "softmax_cross_entropy_soft_backward")?;
    let dz = Tensor::uninit(logits.gpu(), logits.shape())?;
    dispatch(
        "softmax_ce_soft_backward",
        params(n, c, n)?,
        &[logits, targets, &dz, dloss],
        n,
    )?;
    Ok(dz)
}
