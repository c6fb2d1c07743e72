//! Elementwise arithmetic between tensors of one shape, with their rules.

use super::graph::{Graph, Var};
use super::op::{Grads, Op};
use crate::{Result, ops};

impl Graph {
    pub fn add(&mut self, a: Var, b: Var) -> Result<Var> {
        let y = ops::add(self.value(a), self.value(b))?;
        Ok(self.push(y, Op::Add { a, b }, &[a, b]))
    }

    pub fn sub(&mut self, a: Var, b: Var) -> Result<Var> {
        let y = ops::sub(self.value(a), self.value(b))?;
        Ok(self.push(y, Op::Sub { a, b }, &[a, b]))
    }

    pub fn mul(&mut self, a: Var, b: Var) -> Result<Var> {
        let y = ops::mul(self.value(a), self.value(b))?;
        Ok(self.push(y, Op::Mul { a, b }, &[a, b]))
    }

    /// x², elementwise: `mul(x, x)`.
    pub fn square(&mut self, x: Var) -> Result<Var> {
        self.mul(x, x)
    }

    /// (x + eps)^-1/2.
    pub fn rsqrt(&mut self, x: Var, eps: f32) -> Result<Var> {
        let y = ops::rsqrt(self.value(x), eps)?;
        Ok(self.push(y, Op::Rsqrt { x }, &[x]))
    }

    /// s · x.
    pub fn scale(&mut self, x: Var, s: f32) -> Result<Var> {
        let y = ops::scale(self.value(x), s)?;
        Ok(self.push(y, Op::Scale { x, s }, &[x]))
    }
}

pub(crate) fn sub_rule(g: &mut Graph, a: Var, b: Var, dy: Var) -> Result<Grads> {
    let mut grads = vec![(a, dy)];
    if g.needs_grad(b) {
        grads.push((b, g.scale(dy, -1.0)?));
    }
    Ok(grads)
}

pub(crate) fn mul_rule(g: &mut Graph, a: Var, b: Var, dy: Var) -> Result<Grads> {
    let mut grads = Vec::new();
    if g.needs_grad(a) {
        grads.push((a, g.mul(dy, b)?));
    }
    if g.needs_grad(b) {
        grads.push((b, g.mul(dy, a)?));
    }
    Ok(grads)
}

/// y = (x + eps)^-1/2 has dy/dx = -y³/2, read from the output.
pub(crate) fn rsqrt_rule(g: &mut Graph, y: Var, x: Var, dy: Var) -> Result<Grads> {
    let y2 = g.mul(y, y)?;
    let y3 = g.mul(y2, y)?;
    let dy_y3 = g.mul(dy, y3)?;
    Ok(vec![(x, g.scale(dy_y3, -0.5)?)])
}
