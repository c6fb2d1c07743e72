//! Batch normalisation, 2-D (N, C, H, W) with statistics per channel and 1-D (N, F)
//! with statistics per feature, in training and eval modes, with its backward.
//!
//! The momentum convention is documented on `BatchNormConfig`.
//!
//! Training mode also comes in parts, for a batch split across the ranks of a
//! data-parallel run (synchronised batch norm): each slice's own statistics and
//! gradient sums (`batch_norm_partial_stats`, `batch_norm_partial_grad`), one row per
//! slice, gathered from every slice in order, are merged into the whole batch's
//! (`batch_norm_train_merged`, `batch_norm_backward_merged`). What the ranks exchange
//! is two values per channel each way, whatever the batch.

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

/// `params` for merging `n` rows of partials, each over `s` values, that came from
/// `parts` slices of a batch.
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

/// The running statistics and affine parameters a training forward checks and takes.
fn check_state(
    c: usize,
    [gamma, beta, running_mean, running_var]: [&Tensor; 4],
    op: &str,
) -> Result<()> {
    check_channels(
        c,
        &[
            ("gamma", gamma),
            ("beta", beta),
            ("running_mean", running_mean),
            ("running_var", running_var),
        ],
        op,
    )
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
    let (_, c, s) = layout(x, op)?;
    let state = [gamma, beta, running_mean, running_var];
    check_state(c, state, op)?;
    let stats = per_sample_stats(x)?;
    train_from(x, &stats, (s, 1), state, config, act)
}

/// Per (sample, channel): the mean and Σ(x - mean)² of its S values, each (N, C).
fn per_sample_stats(x: &Tensor) -> Result<[Tensor; 2]> {
    let (n, c, s) = layout(x, "batch_norm_train")?;
    let gpu = x.gpu();
    let stats = [Tensor::uninit(gpu, &[n, c])?, Tensor::uninit(gpu, &[n, c])?];
    gpu.dispatch(
        &KernelKey::new("batch_norm", "bn_partial_stats"),
        &params(n, c, s, false, &BatchNormConfig::default())?,
        &[x.buffer(), stats[0].buffer(), stats[1].buffer()],
        per_thread(gpu, n * c)?,
    );
    Ok(stats)
}

/// Training mode from rows of partial statistics (rows, C), each row over `per_row`
/// values, from `parts` slices: merges them, normalises x and updates the running
/// statistics.
fn train_from(
    x: &Tensor,
    stats: &[Tensor; 2],
    (per_row, parts): (usize, usize),
    [gamma, beta, running_mean, running_var]: [&Tensor; 4],
    config: &BatchNormConfig,
    act: Activation,
) -> Result<(Tensor, BatchNormSaved)> {
    let (n, c, s) = layout(x, "batch_norm_train")?;
    let rows = stats[0].shape()[0];
    let gpu = x.gpu();
    let saved = BatchNormSaved {
        mean: Tensor::uninit(gpu, &[c])?,
        invstd: Tensor::uninit(gpu, &[c])?,
    };
    gpu.dispatch(
        &KernelKey::new("batch_norm", "bn_merge_stats"),
        &params_of_parts(rows, c, per_row, false, config, parts)?,
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

/// This batch's (or slice's) statistics as one row of partials: per channel, the mean
/// and the sum of squared deviations Σ(x - mean)² of its N·S values, each (1, C).
pub fn batch_norm_partial_stats(x: &Tensor) -> Result<[Tensor; 2]> {
    let (n, c, s) = layout(x, "batch_norm_partial_stats")?;
    let per_sample = per_sample_stats(x)?;
    let gpu = x.gpu();
    let merged = [Tensor::uninit(gpu, &[1, c])?, Tensor::uninit(gpu, &[1, c])?];
    gpu.dispatch(
        &KernelKey::new("batch_norm", "bn_merge_partials"),
        &params(n, c, s, false, &BatchNormConfig::default())?,
        &[
            per_sample[0].buffer(),
            per_sample[1].buffer(),
            merged[0].buffer(),
            merged[1].buffer(),
        ],
        per_thread(gpu, c)?,
    );
    Ok(merged)
}

/// The number of slices P whose rows (P, C) `gathered` holds, for `c` channels.
fn slices(gathered: &[Tensor; 2], c: usize, op: &str) -> Result<usize> {
    let rows = gathered[0].shape().first().copied().unwrap_or(0);
    if rows == 0 || gathered.iter().any(|t| t.shape() != [rows, c]) {
        return Err(shape_err!(
            "{op}: the partials must be (P, {c}), a row from each of P slices, got {:?} \
             and {:?}",
            gathered[0].shape(),
            gathered[1].shape()
        ));
    }
    Ok(rows)
}

/// Training mode for `x`, one of P equal slices of a batch, from `stats`: the
/// `batch_norm_partial_stats` of every slice in order, (P, C). Normalises with the
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
    let state = [gamma, beta, running_mean, running_var];
    check_state(c, state, op)?;
    let parts = slices(stats, c, op)?;
    train_from(x, stats, (n * s, parts), state, config, act)
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
    let (_, c, _) = backward_layout(dy, x, saved, op)?;
    check_channels(c, &[("gamma", gamma)], op)?;
    let sums = per_sample_grad(dy, x, saved)?;
    backward_from(dy, x, gamma, saved, &sums, 1)
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

/// Per (sample, channel): Σ dy·x̂ and Σ dy over its S values, each (N, C).
fn per_sample_grad(dy: &Tensor, x: &Tensor, saved: &BatchNormSaved) -> Result<[Tensor; 2]> {
    let (n, c, s) = layout(x, "batch_norm_backward")?;
    let gpu = x.gpu();
    let sums = [Tensor::uninit(gpu, &[n, c])?, Tensor::uninit(gpu, &[n, c])?];
    gpu.dispatch(
        &KernelKey::new("batch_norm", "bn_partial_grad"),
        &params(n, c, s, false, &BatchNormConfig::default())?,
        &[
            dy.buffer(),
            x.buffer(),
            saved.mean.buffer(),
            saved.invstd.buffer(),
            sums[0].buffer(),
            sums[1].buffer(),
        ],
        per_thread(gpu, n * c)?,
    );
    Ok(sums)
}

/// dγ and dβ, (C) each: the sums of the rows of `sums` (rows, C) divided by `parts`.
fn merge_grad(sums: &[Tensor; 2], parts: usize) -> Result<[Tensor; 2]> {
    let [rows, c] = *sums[0].shape() else {
        return Err(shape_err!(
            "batch_norm_backward: partial sums must be (rows, C)"
        ));
    };
    let gpu = sums[0].gpu();
    let merged = [Tensor::uninit(gpu, &[c])?, Tensor::uninit(gpu, &[c])?];
    gpu.dispatch(
        &KernelKey::new("batch_norm", "bn_merge_grad"),
        &params_of_parts(rows, c, 1, false, &BatchNormConfig::default(), parts)?,
        &[
            sums[0].buffer(),
            sums[1].buffer(),
            merged[0].buffer(),
            merged[1].buffer(),
        ],
        per_thread(gpu, c)?,
    );
    Ok(merged)
}

/// The backward from rows of partial sums from `parts` slices: merges them into dγ
/// and dβ, then dx.
fn backward_from(
    dy: &Tensor,
    x: &Tensor,
    gamma: &Tensor,
    saved: &BatchNormSaved,
    sums: &[Tensor; 2],
    parts: usize,
) -> Result<(Tensor, Tensor, Tensor)> {
    let (n, c, s) = layout(x, "batch_norm_backward")?;
    let [dgamma, dbeta] = merge_grad(sums, parts)?;
    let gpu = x.gpu();
    let dx = Tensor::uninit(gpu, x.shape())?;
    // With dγ and dβ divided by P, this slice's own count stands in for the whole's:
    // γ·invstd/(P·M)·(P·M·dy - P·dβ - x̂·P·dγ) = γ·invstd/M·(M·dy - dβ - x̂·dγ).
    gpu.dispatch(
        &KernelKey::new("batch_norm", "bn_backward_apply"),
        &params(n, c, s, false, &BatchNormConfig::default())?,
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

/// This batch's (or slice's) share of the backward's sums as one row: per channel,
/// Σ dy·x̂ and Σ dy over its N·S values, each (1, C).
pub fn batch_norm_partial_grad(
    dy: &Tensor,
    x: &Tensor,
    saved: &BatchNormSaved,
) -> Result<[Tensor; 2]> {
    let (_, c, _) = backward_layout(dy, x, saved, "batch_norm_partial_grad")?;
    let [dgamma, dbeta] = merge_grad(&per_sample_grad(dy, x, saved)?, 1)?;
    Ok([dgamma.reshape(&[1, c])?, dbeta.reshape(&[1, c])?])
}

/// The backward of `batch_norm_train_merged` for `x`, one of P equal slices, from
/// `sums`: the `batch_norm_partial_grad` of every slice in order, (P, C).
///
/// Each slice's `dy` is the gradient of its own loss, a mean over its N samples: P
/// times its share of the whole batch's mean loss. Then dx is P times the whole
/// loss's gradient for this slice (which averaging over the slices' upstream
/// gradients undoes), and dγ, dβ, the whole batch's sums divided by P, are the whole
/// loss's gradient, the same on every slice.
pub fn batch_norm_backward_merged(
    dy: &Tensor,
    x: &Tensor,
    gamma: &Tensor,
    saved: &BatchNormSaved,
    sums: &[Tensor; 2],
) -> Result<(Tensor, Tensor, Tensor)> {
    let op = "batch_norm_backward";
    let (_, c, _) = backward_layout(dy, x, saved, op)?;
    check_channels(c, &[("gamma", gamma)], op)?;
    let parts = slices(sums, c, op)?;
    backward_from(dy, x, gamma, saved, sums, parts)
}
