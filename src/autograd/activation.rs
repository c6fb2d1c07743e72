//! Activations as ops of their own, and `act_backward`, the gradient through one,
//! which the fused ops use too. A new activation is an `Activation` variant with its
//! cases in shaders/activation.wgsl and the CPU twin; these rules take it from there,
//! but for its second derivative in `act_backward_rule`.

use super::graph::{Graph, Var};
use super::op::{Grads, Op};
use crate::{Activation, Result, error::shape_err, ops};

/// An activation fused into the op before it is differentiated from that op's output,
/// which only some allow (see `Activation::differentiable_from_output`).
pub(crate) fn check_fusable(act: Activation) -> Result<()> {
    if act.differentiable_from_output() {
        return Ok(());
    }
    Err(shape_err!(
        "{act:?} cannot be fused into the op before it (its gradient needs the op's \
         output before the activation); apply it as an op of its own"
    ))
}

impl Graph {
    /// act(x) as an op of its own.
    pub fn activation(&mut self, x: Var, act: Activation) -> Result<Var> {
        if act == Activation::Identity {
            return Ok(x);
        }
        let y = ops::activation(self.value(x), act)?;
        Ok(self.push(y, Op::Act { x, act }, &[x]))
    }

    pub fn relu(&mut self, x: Var) -> Result<Var> {
        self.activation(x, Activation::Relu)
    }

    pub fn leaky_relu(&mut self, x: Var, alpha: f32) -> Result<Var> {
        self.activation(x, Activation::LeakyRelu(alpha))
    }

    pub fn tanh(&mut self, x: Var) -> Result<Var> {
        self.activation(x, Activation::Tanh)
    }

    pub fn sigmoid(&mut self, x: Var) -> Result<Var> {
        self.activation(x, Activation::Sigmoid)
    }

    /// dy · act′, read from `at`: the activation's output, or for ReLU and LeakyReLU
    /// either side of it (their sign decides). The identity passes dy on.
    pub(crate) fn act_backward(&mut self, dy: Var, at: Var, act: Activation) -> Result<Var> {
        if act == Activation::Identity {
            return Ok(dy);
        }
        let dz = ops::activation_backward(self.value(dy), self.value(at), act)?;
        Ok(self.push(dz, Op::ActBackward { dy, at, act }, &[dy, at]))
    }
}

pub(crate) fn act_rule(g: &mut Graph, y: Var, x: Var, act: Activation, dy: Var) -> Result<Grads> {
    let at = if act.backward_reads_input() { x } else { y };
    Ok(vec![(x, g.act_backward(dy, at, act)?)])
}

/// dz = dy · f′ is linear in dy, so d dy = G · f′ (the same op); f′ is constant for
/// the piecewise-linear ones, (1 - y²)′ = -2y for tanh and (y(1 - y))′ = 1 - 2y for
/// sigmoid.
pub(crate) fn act_backward_rule(
    g: &mut Graph,
    dy: Var,
    at: Var,
    act: Activation,
    grad: Var,
) -> Result<Grads> {
    let mut grads = Vec::new();
    if g.needs_grad(dy) {
        grads.push((dy, g.act_backward(grad, at, act)?));
    }
    if g.needs_grad(at) && matches!(act, Activation::Tanh | Activation::Sigmoid) {
        let g_dy = g.mul(grad, dy)?;
        let g_dy_y = g.mul(g_dy, at)?;
        let d_at = match act {
            Activation::Tanh => g.scale(g_dy_y, -2.0)?,
            _ => {
                let twice = g.scale(g_dy_y, 2.0)?;
                g.sub(g_dy, twice)?
            }
        };
        grads.push((at, d_at));
    }
    Ok(grads)
}
