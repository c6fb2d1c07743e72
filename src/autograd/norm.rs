//! Batch norm, with its rule: the fused backward kernel, for first derivatives.

use super::Param;
use super::graph::{Graph, Var};
use super::op::{Grads, Op};
use crate::ops::{self, BatchNormSaved};
use crate::{Activation, BatchNormConfig, Result, Tensor};
use std::rc::Rc;

impl Graph {
    /// act(batch norm): batch statistics (updating the running ones) when training, the
    /// running statistics otherwise. Eval mode records no backward.
    #[allow(clippy::too_many_arguments)]
    pub fn batch_norm(
        &mut self,
        x: Var,
        gamma: &Rc<Param>,
        beta: &Rc<Param>,
        running_mean: &Tensor,
        running_var: &Tensor,
        config: &BatchNormConfig,
        act: Activation,
    ) -> Result<Var> {
        super::activation::check_fusable(act)?;
        if !self.training() {
            let y = ops::batch_norm_eval(
                self.value(x),
                &gamma.value,
                &beta.value,
                running_mean,
                running_var,
                config,
                act,
            )?;
            return Ok(self.push(y, Op::Leaf, &[]));
        }
        let (g, b) = (self.param(gamma), self.param(beta));
        let (y, saved) = ops::batch_norm_train(
            self.value(x),
            self.value(g),
            self.value(b),
            running_mean,
            running_var,
            config,
            act,
        )?;
        Ok(self.push(
            y,
            Op::BatchNorm {
                x,
                gamma: g,
                beta: b,
                saved,
                act,
            },
            &[x, g, b],
        ))
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn batch_norm_rule(
    g: &mut Graph,
    y: Var,
    x: Var,
    gamma: Var,
    beta: Var,
    saved: &BatchNormSaved,
    act: Activation,
    dy: Var,
) -> Result<Grads> {
    g.first_order_only("batch norm")?;
    let dz = g.act_backward(dy, y, act)?;
    let (dx, dgamma, dbeta) =
        ops::batch_norm_backward(g.value(dz), g.value(x), g.value(gamma), saved)?;
    Ok(vec![
        (x, g.input(dx)),
        (gamma, g.input(dgamma)),
        (beta, g.input(dbeta)),
    ])
}
