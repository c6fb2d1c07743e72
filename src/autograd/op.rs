//! What produced each node, with what its backward rule needs, and the dispatch from
//! an op to its rule. The rules live beside their forwards, one file per family; each
//! is written in the graph's own ops, so that a recorded backward (`grad` with
//! `create_graph`) can be differentiated again.

use super::conv::ConvKind;
use super::graph::{Graph, Var};
use super::{Param, activation, conv, dense, elementwise, loss, norm, reduce, shape};
use crate::ops::BatchNormSaved;
use crate::{Activation, Result, Tensor};
use std::rc::Rc;

/// An op's gradients: (input, gradient of the output's loss with respect to it).
pub(crate) type Grads = Vec<(Var, Var)>;

#[derive(Clone)]
pub(crate) enum Op {
    /// An input, or a detached value: no rule.
    Leaf,
    /// Its gradient goes into `Param::grad`.
    Param(Rc<Param>),
    /// op(a) · op(b), where op transposes when asked.
    Matmul {
        a: Var,
        b: Var,
        ta: bool,
        tb: bool,
    },
    /// act(x · w + b) with x (N, in), w (in, out): the activation runs in the GEMM's
    /// epilogue and is differentiated from the output.
    Dense {
        x: Var,
        w: Var,
        b: Option<Var>,
        act: Activation,
    },
    /// act(conv(x, w) + b), plain or transposed.
    Conv {
        x: Var,
        w: Var,
        b: Option<Var>,
        kind: ConvKind,
        act: Activation,
    },
    /// A conv's input gradient from its output gradient `dy`: linear in dy and in w.
    ConvData {
        dy: Var,
        w: Var,
        kind: ConvKind,
    },
    /// A conv's weight gradient: linear in dy and in x.
    ConvWeight {
        dy: Var,
        x: Var,
        kind: ConvKind,
    },
    BatchNorm {
        x: Var,
        gamma: Var,
        beta: Var,
        saved: BatchNormSaved,
        eps: f32,
        act: Activation,
    },
    /// act(x), an op of its own.
    Act {
        x: Var,
        act: Activation,
    },
    /// dy · act′, from `at`: the activation's output, or for ReLU and LeakyReLU its
    /// input (both have the sign that decides).
    ActBackward {
        dy: Var,
        at: Var,
        act: Activation,
    },
    Dropout {
        x: Var,
        rate: f32,
        seed: u64,
        offset: u64,
    },
    Upsample {
        x: Var,
        factor: (usize, usize),
    },
    /// Sums each factor × factor block: upsampling's adjoint.
    UpsampleGrad {
        dy: Var,
        factor: (usize, usize),
    },
    Reshape {
        x: Var,
    },
    Add {
        a: Var,
        b: Var,
    },
    Sub {
        a: Var,
        b: Var,
    },
    /// Elementwise; `square(x)` is `Mul { a: x, b: x }`, whose two gradients add up.
    Mul {
        a: Var,
        b: Var,
    },
    Scale {
        x: Var,
        s: f32,
    },
    /// (x + eps)^-1/2, differentiated from its output.
    Rsqrt {
        x: Var,
    },
    /// The sum, or the mean, of every element: a scalar.
    Sum {
        x: Var,
        mean: bool,
    },
    /// A scalar spread over a shape, times 1/n for a mean's: `Sum`'s adjoint.
    Spread {
        x: Var,
        mean: bool,
    },
    SumAxis {
        x: Var,
        axis: usize,
    },
    /// Copies along `axis`: `SumAxis`'s adjoint.
    BroadcastAxis {
        x: Var,
        axis: usize,
    },
    BceWithLogits {
        z: Var,
        target: Tensor,
    },
    Bce {
        p: Var,
        target: Tensor,
    },
    SoftmaxCrossEntropy {
        z: Var,
        labels: Tensor,
    },
    SoftmaxCrossEntropySoft {
        z: Var,
        targets: Tensor,
    },
}

impl Op {
    /// The gradients of this op's inputs, given the gradient `dy` of its output `out`.
    /// Only inputs that `requires_grad` need one; a rule may leave out the others.
    pub(crate) fn backward(&self, g: &mut Graph, out: Var, dy: Var) -> Result<Grads> {
        match self {
            Op::Leaf | Op::Param(_) => Ok(Vec::new()),
            Op::Matmul { a, b, ta, tb } => dense::matmul_rule(g, *a, *b, *ta, *tb, dy),
            Op::Dense { x, w, b, act } => dense::dense_rule(g, out, *x, *w, *b, *act, dy),
            Op::Conv { x, w, b, kind, act } => conv::conv_rule(g, out, *x, *w, *b, kind, *act, dy),
            Op::ConvData { dy: d, w, kind } => conv::conv_data_rule(g, *d, *w, kind, dy),
            Op::ConvWeight { dy: d, x, kind } => conv::conv_weight_rule(g, *d, *x, kind, dy),
            Op::BatchNorm {
                x,
                gamma,
                beta,
                saved,
                eps,
                act,
            } => norm::batch_norm_rule(g, out, *x, [*gamma, *beta], saved, *eps, *act, dy),
            Op::Act { x, act } => activation::act_rule(g, out, *x, *act, dy),
            Op::ActBackward { dy: d, at, act } => {
                activation::act_backward_rule(g, *d, *at, *act, dy)
            }
            Op::Dropout {
                x,
                rate,
                seed,
                offset,
            } => shape::dropout_rule(g, *x, *rate, *seed, *offset, dy),
            Op::Upsample { x, factor } => shape::upsample_rule(g, *x, *factor, dy),
            Op::UpsampleGrad { dy: d, factor } => shape::upsample_grad_rule(g, *d, *factor, dy),
            Op::Reshape { x } => shape::reshape_rule(g, *x, dy),
            Op::Add { a, b } => Ok(vec![(*a, dy), (*b, dy)]),
            Op::Sub { a, b } => elementwise::sub_rule(g, *a, *b, dy),
            Op::Mul { a, b } => elementwise::mul_rule(g, *a, *b, dy),
            Op::Scale { x, s } => Ok(vec![(*x, g.scale(dy, *s)?)]),
            Op::Rsqrt { x } => elementwise::rsqrt_rule(g, out, *x, dy),
            Op::Sum { x, mean } => reduce::sum_rule(g, *x, *mean, dy),
            Op::Spread { x, mean } => reduce::spread_rule(g, *x, *mean, dy),
            Op::SumAxis { x, axis } => reduce::sum_axis_rule(g, *x, *axis, dy),
            Op::BroadcastAxis { x, axis } => Ok(vec![(*x, g.sum_axis(dy, *axis)?)]),
            Op::BceWithLogits { z, target } => loss::bce_with_logits_rule(g, *z, target, dy),
            Op::Bce { p, target } => loss::bce_rule(g, *p, target, dy),
            Op::SoftmaxCrossEntropy { z, labels } => loss::softmax_rule(g, *z, labels, dy),
            Op::SoftmaxCrossEntropySoft { z, targets } => {
                loss::softmax_soft_rule(g, *z, targets, dy)
            }
        }
    }
}
