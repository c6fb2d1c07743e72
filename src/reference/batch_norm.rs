//! CPU twins of `ops::batch_norm`, two-pass in f64.

use super::Array;
use crate::{Activation, BatchNormConfig};

/// (N, C, S) of a 2-D or 1-D input.
fn layout(x: &Array) -> (usize, usize, usize) {
    match x.shape[..] {
        [n, c, h, w] => (n, c, h * w),
        [n, f] => (n, f, 1),
        _ => panic!("batch norm input must be (N, C, H, W) or (N, F)"),
    }
}

fn channel_of(i: usize, c: usize, s: usize) -> usize {
    (i / s) % c
}

/// Per-channel (mean, biased variance), two passes.
fn moments(x: &Array) -> (Vec<f64>, Vec<f64>) {
    let (n, c, s) = layout(x);
    let count = (n * s) as f64;
    let mut mean = vec![0.0; c];
    for (i, v) in x.data.iter().enumerate() {
        mean[channel_of(i, c, s)] += v / count;
    }
    let mut var = vec![0.0; c];
    for (i, v) in x.data.iter().enumerate() {
        let ch = channel_of(i, c, s);
        var[ch] += (v - mean[ch]).powi(2) / count;
    }
    (mean, var)
}

fn normalise(x: &Array, mean: &[f64], invstd: &[f64], gamma: &Array, beta: &Array) -> Array {
    let (_, c, s) = layout(x);
    let data = x
        .data
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let ch = channel_of(i, c, s);
            (v - mean[ch]) * invstd[ch] * gamma.data[ch] + beta.data[ch]
        })
        .collect();
    Array::new(&x.shape, data)
}

/// The saved statistics: batch mean and inverse standard deviation, each (C).
pub struct BatchNormSaved {
    pub mean: Array,
    pub invstd: Array,
}

pub fn batch_norm_train(
    x: &Array,
    gamma: &Array,
    beta: &Array,
    running_mean: &mut Array,
    running_var: &mut Array,
    config: &BatchNormConfig,
    act: Activation,
) -> (Array, BatchNormSaved) {
    let stats = batch_norm_partial_stats(x);
    let (rm, rv) = (running_mean, running_var);
    batch_norm_train_merged(x, &stats, gamma, beta, rm, rv, config, act)
}

pub fn batch_norm_eval(
    x: &Array,
    gamma: &Array,
    beta: &Array,
    running_mean: &Array,
    running_var: &Array,
    config: &BatchNormConfig,
    act: Activation,
) -> Array {
    let eps = f64::from(config.eps);
    let invstd: Vec<f64> = running_var
        .data
        .iter()
        .map(|v| 1.0 / (v + eps).sqrt())
        .collect();
    super::activation(&normalise(x, &running_mean.data, &invstd, gamma, beta), act)
}

pub fn batch_norm_backward(
    dy: &Array,
    x: &Array,
    gamma: &Array,
    saved: &BatchNormSaved,
) -> (Array, Array, Array) {
    let sums = batch_norm_partial_grad(dy, x, saved);
    batch_norm_backward_merged(dy, x, gamma, saved, &sums)
}

/// The batch's statistics as one row of partials: per channel, the mean and
/// Σ(x - mean)² of its N·S values, each (1, C).
pub fn batch_norm_partial_stats(x: &Array) -> [Array; 2] {
    let (n, c, s) = layout(x);
    let (mean, var) = moments(x);
    let m2 = var.iter().map(|v| v * (n * s) as f64).collect();
    [Array::new(&[1, c], mean), Array::new(&[1, c], m2)]
}

/// `batch_norm_train` of the whole batch for `x`, one of its P equal slices, given
/// the partial statistics of all of them in order (P, C).
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_train_merged(
    x: &Array,
    stats: &[Array; 2],
    gamma: &Array,
    beta: &Array,
    running_mean: &mut Array,
    running_var: &mut Array,
    config: &BatchNormConfig,
    act: Activation,
) -> (Array, BatchNormSaved) {
    let (n, c, s) = layout(x);
    let parts = stats[0].shape[0];
    let count = (parts * n * s) as f64;
    let (mut mean, mut var) = (vec![0.0; c], vec![0.0; c]);
    for k in 0..parts * c {
        mean[k % c] += stats[0].data[k] / parts as f64;
    }
    // Σ over the whole of (x - mean)² = each slice's own Σ plus its offset's share.
    for k in 0..parts * c {
        let offset = stats[0].data[k] - mean[k % c];
        var[k % c] += (stats[1].data[k] + (n * s) as f64 * offset * offset) / count;
    }
    let eps = f64::from(config.eps);
    let invstd: Vec<f64> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
    let m = f64::from(config.momentum);
    for ch in 0..c {
        let batch_var = if count > 1.0 && config.unbiased_running_var {
            var[ch] * count / (count - 1.0)
        } else {
            var[ch]
        };
        running_mean.data[ch] = m * running_mean.data[ch] + (1.0 - m) * mean[ch];
        running_var.data[ch] = m * running_var.data[ch] + (1.0 - m) * batch_var;
    }
    let y = super::activation(&normalise(x, &mean, &invstd, gamma, beta), act);
    let saved = BatchNormSaved {
        mean: Array::new(&[c], mean),
        invstd: Array::new(&[c], invstd),
    };
    (y, saved)
}

/// The batch's share of the backward's sums as one row: per channel, Σ dy·x̂ and Σ dy
/// over its N·S values, each (1, C).
pub fn batch_norm_partial_grad(dy: &Array, x: &Array, saved: &BatchNormSaved) -> [Array; 2] {
    let (_, c, s) = layout(x);
    let mut dgamma = vec![0.0; c];
    let mut dbeta = vec![0.0; c];
    for (i, g) in dy.data.iter().enumerate() {
        let ch = channel_of(i, c, s);
        let xhat = (x.data[i] - saved.mean.data[ch]) * saved.invstd.data[ch];
        dgamma[ch] += g * xhat;
        dbeta[ch] += g;
    }
    [Array::new(&[1, c], dgamma), Array::new(&[1, c], dbeta)]
}

/// The backward of `batch_norm_train_merged` for one of P slices, each slice's `dy`
/// being the gradient of its own mean loss, from the partial sums of all slices in
/// order (P, C): dx is P times the whole mean loss's gradient for this slice, and
/// dγ, dβ the whole loss's gradients.
pub fn batch_norm_backward_merged(
    dy: &Array,
    x: &Array,
    gamma: &Array,
    saved: &BatchNormSaved,
    sums: &[Array; 2],
) -> (Array, Array, Array) {
    let (n, c, s) = layout(x);
    let parts = sums[0].shape[0] as f64;
    let mut dgamma = vec![0.0; c];
    let mut dbeta = vec![0.0; c];
    for k in 0..sums[0].data.len() {
        dgamma[k % c] += sums[0].data[k] / parts;
        dbeta[k % c] += sums[1].data[k] / parts;
    }
    let count = (n * s) as f64;
    let dx = dy
        .data
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let ch = channel_of(i, c, s);
            let xhat = (x.data[i] - saved.mean.data[ch]) * saved.invstd.data[ch];
            gamma.data[ch] * saved.invstd.data[ch] / count
                * (count * g - dbeta[ch] - xhat * dgamma[ch])
        })
        .collect();
    (
        Array::new(&x.shape, dx),
        Array::new(&[c], dgamma),
        Array::new(&[c], dbeta),
    )
}
