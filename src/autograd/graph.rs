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
    /// The nodes it was computed from, kept when a gradient flows through it.
    pub inputs: Vec<Var>,
}

pub struct Graph {
    gpu: Gpu,
    pub(crate) nodes: Vec<Node>,
    training: bool,
    grad_enabled: bool,
    /// Set while a backward walk records its rules (`grad` with `create_graph`).
    pub(crate) recording_backward: bool,
    /// While `grad` walks: the nodes that lead to an input it was asked for.
    pub(crate) wanted_paths: Option<Paths>,
    seed: u64,
    random_calls: u64,
    /// The ranks whose batches batch norm normalises over together (`sync_batch_norm`).
    pub(crate) batch_ranks: Option<Rc<dyn AllGather>>,
}

/// What a synchronised batch norm needs of the ranks of a data-parallel run.
pub trait AllGather {
    /// Every rank's `tensors` (the same shapes on each), each (N, ...) stacked along
    /// its first axis in rank order into (ranks·N, ...): the same bits on every rank.
    /// Every rank must call it alike.
    fn all_gather(&self, tensors: &[&Tensor]) -> Result<Vec<Tensor>>;
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
            wanted_paths: None,
            seed,
            random_calls: 0,
            batch_ranks: None,
        }
    }

    /// Batch norm in training normalises over the batches of all `ranks` together, as
    /// one batch (PyTorch's SyncBatchNorm): the ranks exchange each layer's statistics
    /// (per channel, their slice's mean and sum of squared deviations) in the forward
    /// pass and its two gradient sums in the backward, and each merges them in rank
    /// order. Each exchange waits for this rank's pending GPU work.
    pub fn sync_batch_norm(&mut self, ranks: Rc<dyn AllGather>) {
        self.batch_ranks = Some(ranks);
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

    /// Whether the walk under way needs `v`'s gradient: it requires one and, in a
    /// `grad`, leads to an input asked for. A rule computes only these.
    pub(crate) fn needs_grad(&self, v: Var) -> bool {
        self.requires_grad(v) && self.wanted_paths.as_ref().is_none_or(|p| p.leads(v))
    }

    pub(crate) fn push(&mut self, value: Tensor, op: Op, inputs: &[Var]) -> Var {
        let requires_grad = self.grad_enabled && inputs.iter().any(|v| self.requires_grad(*v));
        self.nodes.push(Node {
            value,
            op,
            requires_grad,
            inputs: match requires_grad {
                true => inputs.to_vec(),
                false => Vec::new(),
            },
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
            inputs: Vec::new(),
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
            inputs: Vec::new(),
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

/// The nodes from which a `grad` walk can reach one of the inputs it was asked for
/// without passing through a held node. Only these pass gradients on, so a walk stops
/// at its inputs instead of going on through the whole network below them.
#[derive(Clone)]
pub(crate) struct Paths {
    /// The lowest node id marked; every id below leads nowhere.
    lowest: usize,
    /// (output − lowest + 1): whether each node leads to a wanted input.
    leads: Vec<bool>,
}

impl Paths {
    /// Marks, in one forward pass over the tape, every node from `wanted` up to
    /// `output` that is wanted, or is not held and has an input that leads to one.
    pub(crate) fn new(nodes: &[Node], wanted: &[Var], held: &[Var], output: Var) -> Paths {
        let lowest = wanted.iter().map(|v| v.0).min().unwrap_or(output.0);
        let mut leads = vec![false; output.0 + 1 - lowest.min(output.0 + 1)];
        for id in lowest..=output.0 {
            leads[id - lowest] = wanted.contains(&Var(id))
                || !held.contains(&Var(id))
                    && nodes[id]
                        .inputs
                        .iter()
                        .any(|i| i.0 >= lowest && leads[i.0 - lowest]);
        }
        Paths { lowest, leads }
    }

    pub(crate) fn lowest(&self) -> usize {
        self.lowest
    }

    pub(crate) fn leads(&self, v: Var) -> bool {
        v.0 >= self.lowest && self.leads.get(v.0 - self.lowest).copied().unwrap_or(true)
    }
}
