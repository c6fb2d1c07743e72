//! Sums and means, and the spreads that are their adjoints, with their rules; and the
//! MSE composed of them.

use super::graph::{Graph, Var};
use super::op::{Grads, Op};
use crate::{Result, ops};

impl Graph {
    /// The sum of every element, a scalar (shape []).
    pub fn sum(&mut self, x: Var) -> Result<Var> {
        let y = ops::sum(self.value(x))?;
        Ok(self.push(y, Op::Sum { x, mean: false }, &[x]))
    }

    /// The mean of every element, a scalar (shape []).
    pub fn mean(&mut self, x: Var) -> Result<Var> {
        let y = ops::mean(self.value(x))?;
        Ok(self.push(y, Op::Sum { x, mean: true }, &[x]))
    }

    /// A scalar spread over `shape`, divided by its size for a mean's gradient.
    fn spread(&mut self, x: Var, shape: &[usize], mean: bool) -> Result<Var> {
        let y = match mean {
            true => ops::mean_backward(self.value(x), shape)?,
            false => ops::sum_backward(self.value(x), shape)?,
        };
        Ok(self.push(y, Op::Spread { x, mean }, &[x]))
    }

    /// A scalar (shape []) copied over `shape`.
    pub fn spread_over(&mut self, x: Var, shape: &[usize]) -> Result<Var> {
        self.spread(x, shape, false)
    }

    /// Sums along `axis`, which is removed from the shape.
    pub fn sum_axis(&mut self, x: Var, axis: usize) -> Result<Var> {
        let y = ops::sum_axis(self.value(x), axis)?;
        Ok(self.push(y, Op::SumAxis { x, axis }, &[x]))
    }

    /// Copies x along a new `axis` to make `shape`.
    pub(crate) fn broadcast_axis(&mut self, x: Var, shape: &[usize], axis: usize) -> Result<Var> {
        let y = ops::sum_axis_backward(self.value(x), shape, axis)?;
        Ok(self.push(y, Op::BroadcastAxis { x, axis }, &[x]))
    }

    /// Mean squared error between `a` and `b`, composed of the ops above.
    pub fn mse(&mut self, a: Var, b: Var) -> Result<Var> {
        let d = self.sub(a, b)?;
        let d2 = self.square(d)?;
        self.mean(d2)
    }
}

pub(crate) fn sum_rule(g: &mut Graph, x: Var, mean: bool, dy: Var) -> Result<Grads> {
    let shape = g.shape(x).to_vec();
    Ok(vec![(x, g.spread(dy, &shape, mean)?)])
}

/// A spread's adjoint is the sum it spreads, scaled as it was: the mean, for a mean.
pub(crate) fn spread_rule(g: &mut Graph, x: Var, mean: bool, grad: Var) -> Result<Grads> {
    let total = if mean { g.mean(grad)? } else { g.sum(grad)? };
    let shape = g.shape(x).to_vec();
    Ok(vec![(x, g.reshape(total, &shape)?)])
}

pub(crate) fn sum_axis_rule(g: &mut Graph, x: Var, axis: usize, dy: Var) -> Result<Grads> {
    let shape = g.shape(x).to_vec();
    Ok(vec![(x, g.broadcast_axis(dy, &shape, axis)?)])
}
