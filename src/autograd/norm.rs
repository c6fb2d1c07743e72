//! Batch norm, with its rule: the fused backward kernel for a first derivative; for a
//! recorded one, the gradient of the same normalisation composed of the tape's own
//! ops, which can be differentiated again.

use super::graph::{AllGather, Graph, Var};
use super::op::{Grads, Op};
use crate::ops::{self, BatchNormSaved};
use crate::{Activation, BatchNormConfig, Error, Result, Tensor};

impl Graph {
    /// act(batch norm): batch statistics (updating the running ones) when training, the
    /// running statistics otherwise. Eval mode records no backward.
    #[allow(clippy::too_many_arguments)]
    pub fn batch_norm(
        &mut self,
        x: Var,
        gamma: Var,
        beta: Var,
        running_mean: &Tensor,
        running_var: &Tensor,
        config: &BatchNormConfig,
        act: Activation,
    ) -> Result<Var> {
        super::activation::check_fusable(act)?;
        if !self.training() {
            let y = ops::batch_norm_eval(
                self.value(x),
                self.value(gamma),
                self.value(beta),
                running_mean,
                running_var,
                config,
                act,
            )?;
            return Ok(self.push(y, Op::Leaf, &[]));
        }
        let (input, g, b) = (self.value(x), self.value(gamma), self.value(beta));
        let (rm, rv) = (running_mean, running_var);
        let (y, saved) = match &self.batch_ranks {
            None => ops::batch_norm_train(input, g, b, rm, rv, config, act)?,
            Some(ranks) => {
                let stats = gather(ranks.as_ref(), &ops::batch_norm_partial_stats(input)?)?;
                ops::batch_norm_train_merged(input, &stats, g, b, rm, rv, config, act)?
            }
        };
        Ok(self.push(
            y,
            Op::BatchNorm {
                x,
                gamma,
                beta,
                saved,
                eps: config.eps,
                act,
            },
            &[x, gamma, beta],
        ))
    }
}

/// Every rank's partials (1, C), gathered in rank order into (ranks, C).
fn gather(ranks: &dyn AllGather, partials: &[Tensor; 2]) -> Result<[Tensor; 2]> {
    let mut all = ranks.all_gather(&[&partials[0], &partials[1]])?.into_iter();
    match (all.next(), all.next()) {
        (Some(first), Some(second)) => Ok([first, second]),
        _ => Err(Error::Device(
            "the ranks' exchange returned too few tensors".into(),
        )),
    }
}

/// Per-channel values (C) copied over (N, C, S).
fn over_channels(g: &mut Graph, v: Var, n: usize, s: usize) -> Result<Var> {
    let c = g.shape(v)[0];
    let rows = g.broadcast_axis(v, &[n, c], 0)?;
    g.broadcast_axis(rows, &[n, c, s], 2)
}

/// Per-channel means (C) of (N, C, S), `count` = N·S values each.
fn channel_mean(g: &mut Graph, x: Var, count: usize) -> Result<Var> {
    let per_image = g.sum_axis(x, 2)?;
    let total = g.sum_axis(per_image, 0)?;
    g.scale(total, 1.0 / count as f32)
}

/// Training-mode batch norm (no activation) in the tape's own ops: the batch mean and
/// biased variance per channel, over N and the spatial positions.
fn composed(g: &mut Graph, x: Var, gamma: Var, beta: Var, eps: f32) -> Result<Var> {
    let shape = g.shape(x).to_vec();
    let (n, c) = (shape[0], shape[1]);
    let s = shape[2..].iter().product();
    let x3 = g.reshape(x, &[n, c, s])?;
    let mean = channel_mean(g, x3, n * s)?;
    let mean = over_channels(g, mean, n, s)?;
    let centred = g.sub(x3, mean)?;
    let squares = g.square(centred)?;
    let var = channel_mean(g, squares, n * s)?;
    let invstd = g.rsqrt(var, eps)?;
    let invstd = over_channels(g, invstd, n, s)?;
    let xhat = g.mul(centred, invstd)?;
    let gamma = over_channels(g, gamma, n, s)?;
    let beta = over_channels(g, beta, n, s)?;
    let scaled = g.mul(xhat, gamma)?;
    let y = g.add(scaled, beta)?;
    g.reshape(y, &shape)
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn batch_norm_rule(
    g: &mut Graph,
    y: Var,
    x: Var,
    [gamma, beta]: [Var; 2],
    saved: &BatchNormSaved,
    eps: f32,
    act: Activation,
    dy: Var,
) -> Result<Grads> {
    let dz = g.act_backward(dy, y, act)?;
    if g.recording_backward && g.batch_ranks.is_some() {
        return Err(Error::Usage(
            "a synchronised batch norm cannot be differentiated twice (a gradient penalty \
             through batch norm): train without --sync-batch-norm, or with a \
             discriminator without batch norm"
                .into(),
        ));
    }
    if g.recording_backward {
        // ⟨dz, BN(x)⟩ differentiated with respect to (x, γ, β), dz held constant, is the
        // backward, as a recorded function of dz, x and γ. dz itself depends on x
        // through the layers above: passing into it would add terms that are no part
        // of BN's derivative, and would walk those layers again once per batch norm,
        // a cost doubling with each.
        let normalised = composed(g, x, gamma, beta, eps)?;
        let weighted = g.mul(dz, normalised)?;
        let total = g.sum(weighted)?;
        let wanted: Vec<Var> = [x, gamma, beta]
            .into_iter()
            .filter(|v| g.needs_grad(*v))
            .collect();
        let grads = g.partial_grad(total, &wanted, &[dz], true)?;
        return Ok(wanted.into_iter().zip(grads).collect());
    }
    let (dz_value, x_value, gamma_value) = (g.value(dz), g.value(x), g.value(gamma));
    let (dx, dgamma, dbeta) = match &g.batch_ranks {
        None => ops::batch_norm_backward(dz_value, x_value, gamma_value, saved)?,
        Some(ranks) => {
            let sums = ops::batch_norm_partial_grad(dz_value, x_value, saved)?;
            let sums = gather(ranks.as_ref(), &sums)?;
            ops::batch_norm_backward_merged(dz_value, x_value, gamma_value, saved, &sums)?
        }
    };
    Ok(vec![
        (x, g.input(dx)),
        (gamma, g.input(dgamma)),
        (beta, g.input(dbeta)),
    ])
}
