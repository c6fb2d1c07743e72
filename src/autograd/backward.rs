//! The reverse walk, and the table of derivatives: one arm per op, each calling the
//! backward kernels. Gradients meeting at a node are summed with `add_assign`;
//! parameters accumulate into their own gradient buffers with +=.

use super::graph::{Graph, Op, Var};
use crate::{Activation, Result, Tensor, ops};

/// Gradients collected during one backward walk, one slot per node.
struct Grads<'g> {
    graph: &'g Graph,
    slots: Vec<Option<Tensor>>,
}

impl Grads<'_> {
    fn needs(&self, v: Var) -> bool {
        self.graph.nodes[v.0].requires_grad
    }

    /// Adds `g` to v's gradient, if v wants one.
    fn add(&mut self, v: Var, g: Tensor) -> Result<()> {
        if !self.needs(v) {
            return Ok(());
        }
        match &self.slots[v.0] {
            Some(existing) => ops::add_assign(existing, &g),
            None => {
                self.slots[v.0] = Some(g);
                Ok(())
            }
        }
    }

    /// Computes and adds a gradient only when v wants one.
    fn add_with(&mut self, v: Var, g: impl FnOnce() -> Result<Tensor>) -> Result<()> {
        if self.needs(v) {
            self.add(v, g()?)
        } else {
            Ok(())
        }
    }
}

/// The gradient before an activation that an op applied in its epilogue, from the
/// op's output y: ReLU and LeakyReLU (slope ≥ 0) are positive exactly where their
/// input is, and tanh and sigmoid differentiate through y anyway.
fn through_activation(dy: Tensor, y: &Tensor, act: Activation) -> Result<Tensor> {
    match act {
        Activation::Identity => Ok(dy),
        Activation::Relu => ops::relu_backward(&dy, y),
        Activation::LeakyRelu(alpha) => ops::leaky_relu_backward(&dy, y, alpha),
        Activation::Tanh => ops::tanh_backward(&dy, y),
        Activation::Sigmoid => ops::sigmoid_backward(&dy, y),
    }
}

impl Graph {
    /// Back-propagates from the scalar `loss`, adding each trainable parameter's
    /// gradient into `Param::grad`.
    pub fn backward(&mut self, loss: Var) -> Result<()> {
        self.check_scalar(loss)?;
        let mut grads = Grads {
            graph: self,
            slots: (0..self.nodes.len()).map(|_| None).collect(),
        };
        grads.slots[loss.0] = Some(ops::full(self.gpu(), self.shape(loss), 1.0)?);
        for id in (0..=loss.0).rev() {
            let node = &self.nodes[id];
            if !node.requires_grad {
                continue;
            }
            let Some(dy) = grads.slots[id].take() else {
                continue;
            };
            let value = |v: Var| &self.nodes[v.0].value;
            match &node.op {
                Op::Leaf => {}
                Op::Param(p) => ops::add_assign(&p.grad, &dy)?,
                Op::Linear { x, w, b, act } => {
                    let dy = through_activation(dy, &node.value, *act)?;
                    grads.add_with(*x, || ops::matmul_nt(&dy, value(*w)))?;
                    grads.add_with(*w, || ops::matmul_tn(value(*x), &dy))?;
                    if let Some(b) = b {
                        grads.add_with(*b, || ops::sum_axis(&dy, 0))?;
                    }
                }
                Op::Conv2d { x, w, b, spec, act } => {
                    let dy = through_activation(dy, &node.value, *act)?;
                    grads.add_with(*x, || {
                        ops::conv2d_backward_input(&dy, value(*w), value(*x).shape(), spec)
                    })?;
                    grads.add_with(*w, || {
                        ops::conv2d_backward_weight(&dy, value(*x), value(*w).shape(), spec)
                    })?;
                    if let Some(b) = b {
                        grads.add_with(*b, || ops::conv2d_backward_bias(&dy))?;
                    }
                }
                Op::ConvTranspose2d { x, w, b, spec, act } => {
                    let dy = through_activation(dy, &node.value, *act)?;
                    grads.add_with(*x, || {
                        ops::conv_transpose2d_backward_input(
                            &dy,
                            value(*w),
                            value(*x).shape(),
                            spec,
                        )
                    })?;
                    grads.add_with(*w, || {
                        ops::conv_transpose2d_backward_weight(
                            &dy,
                            value(*x),
                            value(*w).shape(),
                            spec,
                        )
                    })?;
                    if let Some(b) = b {
                        grads.add_with(*b, || ops::conv2d_backward_bias(&dy))?;
                    }
                }
                Op::BatchNorm {
                    x,
                    gamma,
                    beta,
                    saved,
                    act,
                } => {
                    let dy = through_activation(dy, &node.value, *act)?;
                    let (dx, dgamma, dbeta) =
                        ops::batch_norm_backward(&dy, value(*x), value(*gamma), saved)?;
                    grads.add(*x, dx)?;
                    grads.add(*gamma, dgamma)?;
                    grads.add(*beta, dbeta)?;
                }
                Op::Relu { x } => grads.add_with(*x, || ops::relu_backward(&dy, value(*x)))?,
                Op::LeakyRelu { x, alpha } => {
                    grads.add_with(*x, || ops::leaky_relu_backward(&dy, value(*x), *alpha))?
                }
                Op::Tanh { x } => grads.add_with(*x, || ops::tanh_backward(&dy, &node.value))?,
                Op::Sigmoid { x } => {
                    grads.add_with(*x, || ops::sigmoid_backward(&dy, &node.value))?
                }
                Op::Dropout {
                    x,
                    rate,
                    seed,
                    offset,
                } => grads.add_with(*x, || ops::dropout_backward(&dy, *rate, *seed, *offset))?,
                Op::Upsample { x, factor } => {
                    grads.add_with(*x, || ops::upsample_nearest_backward(&dy, *factor))?
                }
                Op::Reshape { x } => grads.add_with(*x, || dy.reshape(value(*x).shape()))?,
                Op::Add { a, b } => {
                    // A copy for one side: the slots are accumulated into in place.
                    grads.add_with(*a, || ops::scale(&dy, 1.0))?;
                    grads.add(*b, dy)?;
                }
                Op::Sub { a, b } => {
                    grads.add_with(*b, || ops::scale(&dy, -1.0))?;
                    grads.add(*a, dy)?;
                }
                Op::Mul { a, b } => {
                    grads.add_with(*a, || ops::mul(&dy, value(*b)))?;
                    grads.add_with(*b, || ops::mul(&dy, value(*a)))?;
                }
                Op::Mean { x } => {
                    grads.add_with(*x, || ops::mean_backward(&dy, value(*x).shape()))?
                }
                Op::BceWithLogits { z, target } => {
                    grads.add_with(*z, || ops::bce_with_logits_backward(&dy, value(*z), target))?
                }
                Op::Bce { p, target } => {
                    grads.add_with(*p, || ops::bce_backward(&dy, value(*p), target))?
                }
                Op::SoftmaxCrossEntropy { z, labels } => grads.add_with(*z, || {
                    ops::softmax_cross_entropy_backward(&dy, value(*z), labels)
                })?,
                Op::SoftmaxCrossEntropySoft { z, targets } => grads.add_with(*z, || {
                    ops::softmax_cross_entropy_soft_backward(&dy, value(*z), targets)
                })?,
            }
        }
        Ok(())
    }
}
