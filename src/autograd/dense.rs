//! Matrix products: `matmul` and the fused `dense`, with their rules.

use super::graph::{Graph, Var};
use super::op::{Grads, Op};
use crate::{Activation, Result, ops};

impl Graph {
    /// op(a) · op(b), where `ta`/`tb` transpose a (stored (K, M)) or b (stored (N, K)).
    pub fn matmul(&mut self, a: Var, b: Var, ta: bool, tb: bool) -> Result<Var> {
        let y = ops::matmul_with(
            None,
            self.value(a),
            self.value(b),
            None,
            ta,
            tb,
            Activation::Identity,
        )?;
        Ok(self.push(y, Op::Matmul { a, b, ta, tb }, &[a, b]))
    }

    /// act(x · w + b) with x (N, in), w (in, out), b (out). `act` must be
    /// `differentiable_from_output`.
    pub fn dense(&mut self, x: Var, w: Var, b: Option<Var>, act: Activation) -> Result<Var> {
        super::activation::check_fusable(act)?;
        let y = ops::dense(self.value(x), self.value(w), b.map(|b| self.value(b)), act)?;
        let inputs: Vec<Var> = [Some(x), Some(w), b].into_iter().flatten().collect();
        Ok(self.push(y, Op::Dense { x, w, b, act }, &inputs))
    }
}

/// For C = op(A)·op(B): dA and dB are products of dC with the other factor, each
/// transposed as the case needs.
pub(crate) fn matmul_rule(
    g: &mut Graph,
    a: Var,
    b: Var,
    ta: bool,
    tb: bool,
    dc: Var,
) -> Result<Grads> {
    let mut grads = Vec::new();
    if g.needs_grad(a) {
        let da = match ta {
            false => g.matmul(dc, b, false, !tb)?,
            true => g.matmul(b, dc, tb, true)?,
        };
        grads.push((a, da));
    }
    if g.needs_grad(b) {
        let db = match tb {
            false => g.matmul(a, dc, !ta, false)?,
            true => g.matmul(dc, a, true, ta)?,
        };
        grads.push((b, db));
    }
    Ok(grads)
}

pub(crate) fn dense_rule(
    g: &mut Graph,
    y: Var,
    x: Var,
    w: Var,
    b: Option<Var>,
    act: Activation,
    dy: Var,
) -> Result<Grads> {
    let dz = g.act_backward(dy, y, act)?;
    let mut grads = matmul_rule(g, x, w, false, false, dz)?;
    if let Some(b) = b.filter(|b| g.needs_grad(*b)) {
        grads.push((b, g.sum_axis(dz, 0)?));
    }
    Ok(grads)
}
