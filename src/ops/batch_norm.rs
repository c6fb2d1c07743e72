//! Batch normalisation, 2-D (N, C, H, W) with statistics per channel and 1-D (N, F)
//! with statistics per feature, in training and eval modes, with its backward.
//!
//! The momentum convention is documented on `BatchNormConfig`.
//!
//! Training mode also comes in parts, for a batch split across the ranks of a
//! data-parallel run (synchronised batch norm): each slice's per-sample partials
//! (`batch_norm_partial_stats`, `batch_norm_partial_grad`), gathered from every
//! slice in order, are merged into the whole batch's statistics
//! (`batch_norm_train_merged`, `batch_norm_backward_merged`). Since each partial covers
//! one sample, the gathered partials are those the whole batch would have made, and
//! the merge sums them in the same order: every slice gets the whole batch's bits.

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
    parts: u32,
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
    params_of_parts(n, c, s, eval, config, 1)
}

/// `params` for merging the partials of `parts` equal slices, `n` samples in all.
fn params_of_parts(
    n: usize,
    c: usize,
    s: usize,
    eval: bool,
    config: &BatchNormConfig,
    parts: usize,
) -> Result<Params> {
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
        parts: idx(parts)?,
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
    let stats = batch_norm_partial_stats(x)?;
    batch_norm_train_merged(
        x,
        &stats,
        gamma,
        beta,
        running_mean,
        running_var,
        config,
        act,
    )
}

/// Each sample's share of the statistics: per (sample, channel), the mean and the sum
/// of squared deviations Σ(x - mean)² of its spatial values, each (N, C).
pub fn batch_norm_partial_stats(x: &Tensor) -> Result<[Tensor; 2]> {
    let (n, c, s) = layout(x, "batch_norm_partial_stats")?;
    let params = params(n, c, s, false, &BatchNormConfig::default())?;
    let gpu = x.gpu();
    let partials = [Tensor::uninit(gpu, &[n, c])?, Tensor::uninit(gpu, &[n, c])?];
    gpu.dispatch(
        &KernelKey::new("batch_norm", "bn_partial_stats"),
        &params,
        &[x.buffer(), partials[0].buffer(), partials[1].buffer()],
        per_thread(gpu, n * c)?,
    );
    Ok(partials)
}

/// The number of equal slices whose partials `gathered` holds, for a slice of `n`
/// samples and `c` channels.
fn slices(gathered: &[Tensor; 2], n: usize, c: usize, op: &str) -> Result<usize> {
    let rows = gathered[0].shape().first().copied().unwrap_or(0);
    let fits = gathered.iter().all(|t| t.shape() == [rows, c]);
    if !fits || rows == 0 || !rows.is_multiple_of(n) {
        return Err(shape_err!(
            "{op}: the partials must be (P·{n}, {c}), P slices of {n} samples, got {:?} \
             and {:?}",
            gathered[0].shape(),
            gathered[1].shape()
        ));
    }
    Ok(rows / n)
}

/// Training mode for `x`, one of P equal slices of a batch, from `stats`: the
/// `batch_norm_partial_stats` of every slice in order, (P·N, C). Normalises with the
/// whole batch's statistics and updates the running ones with them (the same on
/// every slice), as `batch_norm_train` of the whole batch would.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_train_merged(
    x: &Tensor,
    stats: &[Tensor; 2],
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
    let parts = slices(stats, n, c, op)?;
    let gpu = x.gpu();
    let saved = BatchNormSaved {
        mean: Tensor::uninit(gpu, &[c])?,
        invstd: Tensor::uninit(gpu, &[c])?,
    };
    gpu.dispatch(
        &KernelKey::new("batch_norm", "bn_merge_stats"),
        &params_of_parts(parts * n, c, s, false, config, parts)?,
        &[
            stats[0].buffer(),
            stats[1].buffer(),
            saved.mean.buffer(),
            saved.invstd.buffer(),
            running_mean.buffer(),
            running_var.buffer(),
        ],
        per_thread(gpu, c)?,
    );
    let params = params(n, c, s, false, config)?;
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
    let sums = batch_norm_partial_grad(dy, x, saved)?;
    batch_norm_backward_merged(dy, x, gamma, saved, &sums)
}

/// The checks every backward pass makes: dy matches x, whose (N, C, S) it returns.
fn backward_layout(
    dy: &Tensor,
    x: &Tensor,
    saved: &BatchNormSaved,
    op: &str,
) -> Result<(usize, usize, usize)> {
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
        &[("saved mean", &saved.mean), ("saved invstd", &saved.invstd)],
        op,
    )?;
    Ok((n, c, s))
}

/// Each sample's share of the backward's sums: per (sample, channel), Σ dy·x̂ and
/// Σ dy over its spatial values, each (N, C).
pub fn batch_norm_partial_grad(
    dy: &Tensor,
    x: &Tensor,
    saved: &BatchNormSaved,
) -> Result<[Tensor; 2]> {
    let (n, c, s) = backward_layout(dy, x, saved, "batch_norm_partial_grad")?;
    let params = params(n, c, s, false, &BatchNormConfig::default())?;
    let gpu = x.gpu();
    let partials = [Tensor::uninit(gpu, &[n, c])?, Tensor::uninit(gpu, &[n, c])?];
    gpu.dispatch(
        &KernelKey::new("batch_norm", "bn_partial_grad"),
        &params,
        &[
            dy.buffer(),
            x.buffer(),
            saved.mean.buffer(),
            saved.invstd.buffer(),
            partials[0].buffer(),
            partials[1].buffer(),
        ],
        per_thread(gpu, n * c)?,
    );
    Ok(partials)
}

/// The backward of `batch_norm_train_merged` for `x`, one of P equal slices, from
/// `sums`: the `batch_norm_partial_grad` of every slice in order, (P·N, C).
///
/// Each slice's `dy` is the gradient of its own loss, a mean over its N samples: P
/// times its share of the whole batch's mean loss. Then dx is P times the whole
/// loss's gradient for this slice (which averaging over the slices' upstream
/// gradients undoes), and dγ, dβ, the whole batch's sums divided by P, are the whole
/// loss's gradient, the same on every slice. With P = 1 this is the plain backward.
pub fn batch_norm_backward_merged(
    dy: &Tensor,
    x: &Tensor,
    gamma: &Tensor,
    saved: &BatchNormSaved,
    sums: &[Tensor; 2],
) -> Result<(Tensor, Tensor, Tensor)> {
    let op = "batch_norm_backward";
    let (n, c, s) = backward_layout(dy, x, saved, op)?;
    check_channels(c, &[("gamma", gamma)], op)?;
    let parts = slices(sums, n, c, op)?;
    let gpu = x.gpu();
    let dgamma = Tensor::uninit(gpu, &[c])?;
    let dbeta = Tensor::uninit(gpu, &[c])?;
    let config = BatchNormConfig::default();
    gpu.dispatch(
        &KernelKey::new("batch_norm", "bn_merge_grad"),
        &params_of_parts(parts * n, c, s, false, &config, parts)?,
        &[
            sums[0].buffer(),
            sums[1].buffer(),
            dgamma.buffer(),
            dbeta.buffer(),
        ],
        per_thread(gpu, c)?,
    );
    let dx = Tensor::uninit(gpu, x.shape())?;
    // With dγ and dβ divided by P, this slice's own count stands in for the whole's:
    // γ·invstd/(P·M)·(P·M·dy - P·dβ - x̂·P·dγ) = γ·invstd/M·(M·dy - dβ - x̂·dγ).
    gpu.dispatch(
        &KernelKey::new("batch_norm", "bn_backward_apply"),
        &params(n, c, s, false, &config)?,
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
