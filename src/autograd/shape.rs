//! Ops that move values without arithmetic on them: reshape, nearest upsampling and
//! dropout, with their rules.

use super::graph::{Graph, Var};
use super::op::{Grads, Op};
use crate::{Result, ops};

impl Graph {
    /// A view under another shape; copies nothing.
    pub fn reshape(&mut self, x: Var, shape: &[usize]) -> Result<Var> {
        let y = self.value(x).reshape(shape)?;
        Ok(self.push(y, Op::Reshape { x }, &[x]))
    }

    pub fn upsample(&mut self, x: Var, factor: (usize, usize)) -> Result<Var> {
        let y = ops::upsample(self.value(x), factor)?;
        Ok(self.push(y, Op::Upsample { x, factor }, &[x]))
    }

    fn upsample_grad(&mut self, dy: Var, factor: (usize, usize)) -> Result<Var> {
        let dx = ops::upsample_backward(self.value(dy), factor)?;
        Ok(self.push(dx, Op::UpsampleGrad { dy, factor }, &[dy]))
    }

    /// Inverted dropout while training; the identity otherwise.
    pub fn dropout(&mut self, x: Var, rate: f32) -> Result<Var> {
        if !self.training() || rate == 0.0 {
            return Ok(x);
        }
        let (seed, offset) = self.next_random();
        self.dropout_with(x, rate, seed, offset)
    }

    /// Dropout with a given mask: the mask is a function of (seed, offset) alone, so
    /// the gradient applies the same one.
    fn dropout_with(&mut self, x: Var, rate: f32, seed: u64, offset: u64) -> Result<Var> {
        let y = ops::dropout(self.value(x), rate, seed, offset)?;
        let op = Op::Dropout {
            x,
            rate,
            seed,
            offset,
        };
        Ok(self.push(y, op, &[x]))
    }
}

pub(crate) fn reshape_rule(g: &mut Graph, x: Var, dy: Var) -> Result<Grads> {
    let shape = g.shape(x).to_vec();
    Ok(vec![(x, g.reshape(dy, &shape)?)])
}

pub(crate) fn upsample_rule(
    g: &mut Graph,
    x: Var,
    factor: (usize, usize),
    dy: Var,
) -> Result<Grads> {
    Ok(vec![(x, g.upsample_grad(dy, factor)?)])
}

pub(crate) fn upsample_grad_rule(
    g: &mut Graph,
    dy: Var,
    factor: (usize, usize),
    grad: Var,
) -> Result<Grads> {
    Ok(vec![(dy, g.upsample(grad, factor)?)])
}

/// Dropout is linear with a fixed mask: its gradient applies the same mask and scale.
pub(crate) fn dropout_rule(
    g: &mut Graph,
    x: Var,
    rate: f32,
    seed: u64,
    offset: u64,
    dy: Var,
) -> Result<Grads> {
    Ok(vec![(x, g.dropout_with(dy, rate, seed, offset)?)])
}
