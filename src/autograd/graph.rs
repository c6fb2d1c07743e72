//! The tape: a `Graph` records each op's output and what its backward needs, in the
//! order the ops ran, so that order is already topological. The reverse walk is in
//! `walk.rs`; each op's forward and backward rule sit together in the file of its
//! family. Dropping the graph returns every tensor it held to the pool, so a training
//! loop that builds one graph per step allocates nothing new.

use super::Param;
use super::op::Op;
use crate::{Gpu, Result, Tensor, error::shape_err};
use std::rc::Rc;

/// A value in the graph. Cheap to copy; only meaningful for the graph that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Var(pub(crate) usize);

pub(crate) struct Node {
    pub value: Tensor,
    pub op: Op,
    /// Whether any gradient can reach this node from a trainable parameter's side.
    pub requires_grad: bool,
}

pub struct Graph {
    gpu: Gpu,
    pub(crate) nodes: Vec<Node>,
    training: bool,
    grad_enabled: bool,
    /// Set while a backward walk records its rules (`grad` with `create_graph`).
    pub(crate) recording_backward: bool,
    seed: u64,
    random_calls: u64,
}

impl Graph {
    /// A new tape. `training` selects batch statistics in batch norm and active
    /// dropout; `seed` keys this graph's dropout masks.
    pub fn new(gpu: &Gpu, training: bool, seed: u64) -> Graph {
        Graph {
            gpu: gpu.clone(),
            nodes: Vec::new(),
            training,
            grad_enabled: true,
            recording_backward: false,
            seed,
            random_calls: 0,
        }
    }

    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    pub fn training(&self) -> bool {
        self.training
    }

    /// Runs `f` with gradient recording off: nodes made inside need no backward.
    pub fn no_grad<T>(&mut self, f: impl FnOnce(&mut Graph) -> Result<T>) -> Result<T> {
        let before = self.grad_enabled;
        self.grad_enabled = false;
        let out = f(self);
        self.grad_enabled = before;
        out
    }

    pub fn value(&self, v: Var) -> &Tensor {
        &self.nodes[v.0].value
    }

    pub fn shape(&self, v: Var) -> &[usize] {
        self.nodes[v.0].value.shape()
    }

    /// Whether a gradient flows into `v`.
    pub fn requires_grad(&self, v: Var) -> bool {
        self.nodes[v.0].requires_grad
    }

    pub(crate) fn push(&mut self, value: Tensor, op: Op, inputs: &[Var]) -> Var {
        let requires_grad = self.grad_enabled && inputs.iter().any(|v| self.requires_grad(*v));
        self.nodes.push(Node {
            value,
            op,
            requires_grad,
        });
        Var(self.nodes.len() - 1)
    }

    /// A constant input: data, noise, targets.
    pub fn input(&mut self, value: Tensor) -> Var {
        self.push(value, Op::Leaf, &[])
    }

    /// An input that gradients reach, for `grad` to differentiate with respect to (the
    /// images of a gradient penalty).
    pub fn variable(&mut self, value: Tensor) -> Var {
        let requires_grad = self.grad_enabled;
        self.nodes.push(Node {
            value,
            op: Op::Leaf,
            requires_grad,
        });
        Var(self.nodes.len() - 1)
    }

    /// The same value with no path back: gradients stop here.
    pub fn detach(&mut self, v: Var) -> Var {
        let value = self.value(v).clone();
        self.input(value)
    }

    /// A parameter as a graph value. Frozen parameters (`set_trainable(false)`) get no
    /// gradient, but still pass gradients through to the ops' other inputs.
    pub fn param(&mut self, p: &Rc<Param>) -> Var {
        let requires_grad = self.grad_enabled && p.trainable();
        self.nodes.push(Node {
            value: p.value.clone(),
            op: Op::Param(p.clone()),
            requires_grad,
        });
        Var(self.nodes.len() - 1)
    }

    /// The dropout stream's (seed, offset) for the next random op.
    pub(crate) fn next_random(&mut self) -> (u64, u64) {
        self.random_calls += 1;
        (self.seed, self.random_calls)
    }

    pub(crate) fn check_scalar(&self, loss: Var) -> Result<()> {
        if self.value(loss).numel() != 1 {
            return Err(shape_err!(
                "backward needs a scalar loss, got shape {:?}",
                self.shape(loss)
            ));
        }
        Ok(())
    }

    /// Refuses to record the backward of an op whose rule is not yet made of
    /// differentiable ops: its first derivative is exact, its second is not there.
    pub(crate) fn first_order_only(&self, op: &str) -> Result<()> {
        if self.recording_backward {
            return Err(crate::Error::Usage(format!(
                "{op} has no second derivative yet: a gradient penalty can't pass \
                 through it"
            )));
        }
        Ok(())
    }
}
