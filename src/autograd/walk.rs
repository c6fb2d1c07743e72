//! The reverse walk: from an output back to every node that needs a gradient, each
//! node's rule (`Op::backward`) turning its output's gradient into its inputs'.
//!
//! A first-order walk (`backward`, or `grad` without `create_graph`) runs each rule
//! with recording off and keeps only the resulting tensors: the nodes a rule made are
//! dropped as soon as it is done, so their buffers go back to the pool, and the walk
//! launches exactly the backward kernels. With `create_graph` the rules' ops stay in
//! the graph, so the gradients are values like any other, differentiable again.

use super::graph::{Graph, Paths, Var};
use super::op::Op;
use crate::{Result, Tensor, ops};

/// A gradient being summed: a tensor in a first-order walk, a node in a recorded one.
#[derive(Clone)]
enum Slot {
    Value(Tensor),
    Node(Var),
}

impl Graph {
    /// Back-propagates from the scalar `loss`, adding each trainable parameter's
    /// gradient into `Param::grad`.
    pub fn backward(&mut self, loss: Var) -> Result<()> {
        self.walk(loss, &[], &[], false).map(|_| ())
    }

    /// The gradient of the scalar `output` with respect to each of `inputs` (zeros
    /// where no path leads). Parameters' `grad`s are left alone. With `create_graph`
    /// the gradients are recorded ops of this graph, so a loss made of them can be
    /// differentiated again (a gradient penalty: R1, WGAN-GP).
    pub fn grad(&mut self, output: Var, inputs: &[Var], create_graph: bool) -> Result<Vec<Var>> {
        self.partial_grad(output, inputs, &[], create_graph)
    }

    /// `grad` with the nodes `held` taken as constants: the partial derivative, with
    /// no gradient passing into them (a rule's incoming gradient, when the rule is
    /// itself a `grad` of ⟨dy, f(x)⟩ with respect to x).
    pub(crate) fn partial_grad(
        &mut self,
        output: Var,
        inputs: &[Var],
        held: &[Var],
        create_graph: bool,
    ) -> Result<Vec<Var>> {
        let before = self.recording_backward;
        self.recording_backward = create_graph;
        let found = self.walk(output, inputs, held, create_graph);
        self.recording_backward = before;
        found?
            .into_iter()
            .zip(inputs)
            .map(|(slot, &input)| match slot {
                Some(Slot::Node(v)) => Ok(v),
                Some(Slot::Value(t)) => Ok(self.input(t)),
                None => {
                    let zeros = ops::zeros(self.gpu(), self.shape(input))?;
                    Ok(self.input(zeros))
                }
            })
            .collect()
    }

    /// The walk behind both: the gradients reaching `wanted`, and, when `wanted` is
    /// empty (`backward`), every trainable parameter's, added to its `grad`. A `grad`
    /// walk passes gradients only along paths to `wanted` that avoid `held` (`Paths`).
    fn walk(
        &mut self,
        output: Var,
        wanted: &[Var],
        held: &[Var],
        create_graph: bool,
    ) -> Result<Vec<Option<Slot>>> {
        self.check_scalar(output)?;
        let paths = (!wanted.is_empty()).then(|| Paths::new(&self.nodes, wanted, held, output));
        // A rule may walk again (batch norm's recorded rule): each walk keeps its own.
        let outer = std::mem::replace(&mut self.wanted_paths, paths);
        let found = self.walk_paths(output, wanted, create_graph);
        self.wanted_paths = outer;
        found
    }

    fn walk_paths(
        &mut self,
        output: Var,
        wanted: &[Var],
        create_graph: bool,
    ) -> Result<Vec<Option<Slot>>> {
        let into_params = wanted.is_empty();
        let ones = ops::full(self.gpu(), self.shape(output), 1.0)?;
        let mut slots: Vec<Option<Slot>> = vec![None; output.0 + 1];
        slots[output.0] = Some(match create_graph {
            true => Slot::Node(self.input(ones)),
            false => Slot::Value(ones),
        });
        let mut found = vec![None; wanted.len()];
        // Below the earliest wanted input nothing reaches one (`Paths` marks from there).
        let lowest = self.wanted_paths.as_ref().map_or(0, Paths::lowest);
        for id in (lowest..=output.0).rev() {
            if !self.needs_grad(Var(id)) {
                continue;
            }
            let Some(dy) = slots[id].take() else {
                continue;
            };
            for (k, w) in wanted.iter().enumerate() {
                if w.0 == id {
                    found[k] = Some(dy.clone());
                }
            }
            let op = self.nodes[id].op.clone();
            if let Op::Param(p) = &op {
                if into_params {
                    ops::add_assign(&p.grad, &self.slot_value(&dy))?;
                }
                continue;
            }
            let mark = self.nodes.len();
            let dy = match dy {
                Slot::Node(v) => v,
                Slot::Value(t) => self.input(t),
            };
            let grads = match create_graph {
                true => op.backward(self, Var(id), dy)?,
                false => self.no_grad(|g| op.backward(g, Var(id), dy))?,
            };
            let grads: Vec<(Var, Slot)> = grads
                .into_iter()
                .filter(|(input, _)| self.needs_grad(*input))
                .map(|(input, grad)| match create_graph {
                    true => (input, Slot::Node(grad)),
                    false => (input, Slot::Value(self.value(grad).clone())),
                })
                .collect();
            if !create_graph {
                self.nodes.truncate(mark);
            }
            for (input, grad) in grads {
                let sum = match (slots[input.0].take(), grad) {
                    (None, grad) => grad,
                    (Some(Slot::Value(a)), Slot::Value(b)) => Slot::Value(ops::add(&a, &b)?),
                    (Some(Slot::Node(a)), Slot::Node(b)) => Slot::Node(self.add(a, b)?),
                    _ => unreachable!("one walk keeps one kind of slot"),
                };
                slots[input.0] = Some(sum);
            }
        }
        Ok(found)
    }

    fn slot_value(&self, slot: &Slot) -> Tensor {
        match slot {
            Slot::Value(t) => t.clone(),
            Slot::Node(v) => self.value(*v).clone(),
        }
    }
}
