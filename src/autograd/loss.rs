//! The fused losses, with rules from their backward kernels: exact first derivatives.
//! (A gradient penalty differentiates D's output, not the loss on it.)

use super::graph::{Graph, Var};
use super::op::{Grads, Op};
use crate::{Result, Tensor, ops};

impl Graph {
    /// Mean binary cross-entropy of sigmoid(z) against `target`, from logits.
    pub fn bce_with_logits(&mut self, z: Var, target: &Tensor) -> Result<Var> {
        let loss = ops::bce_with_logits(self.value(z), target)?;
        let target = target.clone();
        Ok(self.push(loss, Op::BceWithLogits { z, target }, &[z]))
    }

    /// Mean binary cross-entropy of probabilities `p` against `target`.
    pub fn bce(&mut self, p: Var, target: &Tensor) -> Result<Var> {
        let loss = ops::bce(self.value(p), target)?;
        let target = target.clone();
        Ok(self.push(loss, Op::Bce { p, target }, &[p]))
    }

    pub fn softmax_cross_entropy(&mut self, z: Var, labels: &Tensor) -> Result<Var> {
        let loss = ops::softmax_cross_entropy(self.value(z), labels)?;
        let labels = labels.clone();
        Ok(self.push(loss, Op::SoftmaxCrossEntropy { z, labels }, &[z]))
    }

    /// Softmax cross-entropy against target distributions (N, C).
    pub fn softmax_cross_entropy_soft(&mut self, z: Var, targets: &Tensor) -> Result<Var> {
        let loss = ops::softmax_cross_entropy_soft(self.value(z), targets)?;
        let targets = targets.clone();
        Ok(self.push(loss, Op::SoftmaxCrossEntropySoft { z, targets }, &[z]))
    }
}

/// One input's gradient from a backward kernel, as a leaf: a first derivative only.
fn kernel_grad(
    g: &mut Graph,
    op: &str,
    input: Var,
    kernel: impl FnOnce(&Tensor, &Tensor) -> Result<Tensor>,
    dy: Var,
) -> Result<Grads> {
    g.first_order_only(op)?;
    let grad = kernel(g.value(dy), g.value(input))?;
    Ok(vec![(input, g.input(grad))])
}

pub(crate) fn bce_with_logits_rule(g: &mut Graph, z: Var, t: &Tensor, dy: Var) -> Result<Grads> {
    kernel_grad(
        g,
        "bce_with_logits",
        z,
        |d, z| ops::bce_with_logits_backward(d, z, t),
        dy,
    )
}

pub(crate) fn bce_rule(g: &mut Graph, p: Var, t: &Tensor, dy: Var) -> Result<Grads> {
    kernel_grad(g, "bce", p, |d, p| ops::bce_backward(d, p, t), dy)
}

pub(crate) fn softmax_rule(g: &mut Graph, z: Var, labels: &Tensor, dy: Var) -> Result<Grads> {
    let kernel = |d: &Tensor, z: &Tensor| ops::softmax_cross_entropy_backward(d, z, labels);
    kernel_grad(g, "softmax_cross_entropy", z, kernel, dy)
}

pub(crate) fn softmax_soft_rule(g: &mut Graph, z: Var, t: &Tensor, dy: Var) -> Result<Grads> {
    let kernel = |d: &Tensor, z: &Tensor| ops::softmax_cross_entropy_soft_backward(d, z, t);
    kernel_grad(g, "softmax_cross_entropy_soft", z, kernel, dy)
}
