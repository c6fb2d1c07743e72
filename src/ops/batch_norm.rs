//! Batch normalisation, 2-D (N, C, H, W) with statistics per channel and 1-D (N, F)
//! with statistics per feature, in training and eval modes, with its backward.
//!
//! The momentum convention is documented on `BatchNormConfig`.

use crate::gpu::KernelKey;
use crate::{Activation, BatchNormConfig};
use crate::{Result, Tensor, error::shape_err};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    c: u32,
    s: u32,
    eval: u32,
    eps: f32,
    momentum: f32,
    unbiased: u32,
    _pad: u32,
}

/// (N, C, S) of a 2-D (N, C, H, W) or 1-D (N, F) input.
fn layout(x: &Tensor, op: &str) -> Result<(usize, usize, usize)> {
    match *x.shape() {
        [n, c, h, w] => Ok((n, c, h * w)),
        [n, f] => Ok((n, f, 1)),
        _ => Err(shape_err!(
            "{op}: input must be (N, C, H, W) or (N, F), got {:?}",
            x.shape()
        )),
    }
}

fn check_channels(c: usize, tensors: &[(&str, &Tensor)], op: &str) -> Result<()> {
    for (what, t) in tensors {
        if t.shape() != [c] {
            return Err(shape_err!(
                "{op}: {what} must have shape [{c}], got {:?}",
                t.shape()
            ));
        }
    }
    Ok(())
}

fn params(n: usize, c: usize, s: usize, eval: bool, config: &BatchNormConfig) -> Result<Params> {
    let idx = |v: usize| crate::ops::dim(v, "batch norm");
    if n * s == 0 {
        return Err(shape_err!(
            "batch_norm: no values per channel (N = {n}, spatial size {s})"
        ));
    }
    Ok(Params {
        n: idx(n)?,
        c: idx(c)?,
        s: idx(s)?,
        eval: eval.into(),
        eps: config.eps,
        momentum: config.momentum,
        unbiased: config.unbiased_running_var.into(),
        _pad: 0,
    })
}

/// What the training forward saves for the backward: the batch mean and inverse
/// standard deviation per channel.
#[derive(Clone)]
pub struct BatchNormSaved {
    pub mean: Tensor,
    pub invstd: Tensor,
}

/// The grid for one invocation per item, 256 to a workgroup.
fn per_thread(gpu: &crate::Gpu, items: usize) -> Result<[u32; 3]> {
    gpu.grid((items as u64).div_ceil(256))
}

fn apply(
    x: &Tensor,
    mean: &Tensor,
    second: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    params: &Params,
    act: Activation,
) -> Result<Tensor> {
    let gpu = x.gpu();
    let y = Tensor::uninit(gpu, x.shape())?;
    gpu.dispatch(
        &KernelKey::new("batch_norm", "bn_apply").with_activation(act),
        params,
        &[
            x.buffer(),
            mean.buffer(),
            second.buffer(),
            gamma.buffer(),
            beta.buffer(),
            y.buffer(),
        ],
        per_thread(gpu, x.numel())?,
    );
    Ok(y)
}

/// Training mode: normalises with this batch's statistics and updates the running
/// mean and variance in place. Returns y and what the backward needs.
pub fn batch_norm_train(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    config: &BatchNormConfig,
    act: Activation,
) -> Result<(Tensor, BatchNormSaved)> {
    let op = "batch_norm_train";
    let (n, c, s) = layout(x, op)?;
    check_channels(
        c,
        &[
            ("gamma", gamma),
            ("beta", beta),
            ("running_mean", running_mean),
            ("running_var", running_var),
        ],
        op,
    )?;
    let params = params(n, c, s, false, config)?;
    let gpu = x.gpu();
    let saved = BatchNormSaved {
        mean: Tensor::uninit(gpu, &[c])?,
        invstd: Tensor::uninit(gpu, &[c])?,
    };
    let partial_mean = Tensor::uninit(gpu, &[n, c])?;
    let partial_m2 = Tensor::uninit(gpu, &[n, c])?;
    gpu.dispatch(
        &KernelKey::new("batch_norm", "bn_partial_stats"),
        &params,
        &[x.buffer(), partial_mean.buffer(), partial_m2.buffer()],
        per_thread(gpu, n * c)?,
    );
    gpu.dispatch(
        &KernelKey::new("batch_norm", "bn_merge_stats"),
        &params,
        &[
            partial_mean.buffer(),
            partial_m2.buffer(),
            saved.mean.buffer(),
            saved.invstd.buffer(),
            running_mean.buffer(),
            running_var.buffer(),
        ],
        per_thread(gpu, c)?,
    );
    let y = apply(x, &saved.mean, &saved.invstd, gamma, beta, &params, act)?;
    Ok((y, saved))
}

/// Eval mode: normalises with the running statistics, which stay as they are.
pub fn batch_norm_eval(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    config: &BatchNormConfig,
    act: Activation,
) -> Result<Tensor> {
    let op = "batch_norm_eval";
    let (n, c, s) = layout(x, op)?;
    check_channels(
        c,
        &[
            ("gamma", gamma),
            ("beta", beta),
            ("running_mean", running_mean),
            ("running_var", running_var),
        ],
        op,
    )?;
    apply(
        x,
        running_mean,
        running_var,
        gamma,
        beta,
        &params(n, c, s, true, config)?,
        act,
    )
}

/// Training-mode backward: (dx, dγ, dβ) from one fused per-channel reduction
/// (dβ = Σ dy, dγ = Σ dy·x̂, in two barrier-free stages) and one elementwise pass.
pub fn batch_norm_backward(
    dy: &Tensor,
    x: &Tensor,
    gamma: &Tensor,
    saved: &BatchNormSaved,
) -> Result<(Tensor, Tensor, Tensor)> {
    let op = "batch_norm_backward";
    if dy.shape() != x.shape() {
        return Err(shape_err!(
            "{op}: gradient {:?} does not match input {:?}",
            dy.shape(),
            x.shape()
        ));
    }
    let (n, c, s) = layout(x, op)?;
    check_channels(
        c,
        &[
            ("gamma", gamma),
            ("saved mean", &saved.mean),
            ("saved invstd", &saved.invstd),
        ],
        op,
    )?;
    let params = params(n, c, s, false, &BatchNormConfig::keras(0.0, 0.0))?;
    let gpu = x.gpu();
    let dgamma = Tensor::uninit(gpu, &[c])?;
    let dbeta = Tensor::uninit(gpu, &[c])?;
    let partial_dgamma = Tensor::uninit(gpu, &[n, c])?;
    let partial_dbeta = Tensor::uninit(gpu, &[n, c])?;
    gpu.dispatch(
        &KernelKey::new("batch_norm", "bn_partial_grad"),
        &params,
        &[
            dy.buffer(),
            x.buffer(),
            saved.mean.buffer(),
            saved.invstd.buffer(),
            partial_dgamma.buffer(),
            partial_dbeta.buffer(),
        ],
        per_thread(gpu, n * c)?,
    );
    gpu.dispatch(
        &KernelKey::new("batch_norm", "bn_merge_grad"),
        &params,
        &[
            partial_dgamma.buffer(),
            partial_dbeta.buffer(),
            dgamma.buffer(),
            dbeta.buffer(),
        ],
        per_thread(gpu, c)?,
    );
    let dx = Tensor::uninit(gpu, x.shape())?;
    gpu.dispatch(
        &KernelKey::new("batch_norm", "bn_backward_apply"),
        &params,
        &[
            dy.buffer(),
            x.buffer(),
            saved.mean.buffer(),
            saved.invstd.buffer(),
            gamma.buffer(),
            dgamma.buffer(),
            dbeta.buffer(),
            dx.buffer(),
        ],
        per_thread(gpu, x.numel())?,
    );
    Ok((dx, dgamma, dbeta))
}
