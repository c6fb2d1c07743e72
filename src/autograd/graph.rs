//! The tape: a `Graph` records each op's output and what its backward needs, in the
//! order the ops ran, so that order is already topological. `backward` walks it in
//! reverse (see `backward.rs`). Dropping the graph returns every tensor it held to
//! the pool, so a training loop that builds one graph per step allocates nothing new.

use super::Param;
use crate::conv_spec::{Conv2d, ConvTranspose2d};
use crate::ops::{self, BatchNormSaved};
use crate::{Activation, BatchNormConfig, Gpu, Result, Tensor, error::shape_err};
use std::rc::Rc;

/// An activation fused into the op before it is differentiated from that op's output,
/// which only some allow (see `Activation::differentiable_from_output`).
fn check_fusable(act: Activation) -> Result<()> {
    if act.differentiable_from_output() {
        return Ok(());
    }
    Err(shape_err!(
        "{act:?} cannot be fused into the op before it (its gradient needs the op's \
         output before the activation); apply it as an op of its own"
    ))
}

/// A value in the graph. Cheap to copy; only meaningful for the graph that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Var(pub(crate) usize);

/// What produced a node, with what its backward needs.
pub(crate) enum Op {
    /// An input, or a detached value: no gradient flows into it.
    Leaf,
    Param(Rc<Param>),
    /// y = act(x·w + b) with x (N, in), w (in, out). The ops with an `act` apply it in
    /// their kernel's epilogue and differentiate through it from their output y.
    Linear {
        x: Var,
        w: Var,
        b: Option<Var>,
        act: Activation,
    },
    Conv2d {
        x: Var,
        w: Var,
        b: Option<Var>,
        spec: Conv2d,
        act: Activation,
    },
    ConvTranspose2d {
        x: Var,
        w: Var,
        b: Option<Var>,
        spec: ConvTranspose2d,
        act: Activation,
    },
    BatchNorm {
        x: Var,
        gamma: Var,
        beta: Var,
        saved: BatchNormSaved,
        act: Activation,
    },
    Relu {
        x: Var,
    },
    LeakyRelu {
        x: Var,
        alpha: f32,
    },
    /// tanh and sigmoid differentiate through their output, the node itself.
    Tanh {
        x: Var,
    },
    Sigmoid {
        x: Var,
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
    /// The mean of every element, a scalar.
    Mean {
        x: Var,
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

    fn push(&mut self, value: Tensor, op: Op, inputs: &[Var]) -> Var {
        let requires_grad =
            self.grad_enabled && inputs.iter().any(|v| self.nodes[v.0].requires_grad);
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

    fn next_random_offset(&mut self) -> u64 {
        self.random_calls += 1;
        self.random_calls
    }

    /// y = act(x·w + b). `act` must be `differentiable_from_output`.
    pub fn linear(
        &mut self,
        x: Var,
        w: &Rc<Param>,
        b: Option<&Rc<Param>>,
        act: Activation,
    ) -> Result<Var> {
        check_fusable(act)?;
        let (wv, bv) = (self.param(w), b.map(|b| self.param(b)));
        let y = ops::matmul_with(
            None,
            self.value(x),
            self.value(wv),
            bv.map(|b| self.value(b)),
            false,
            false,
            act,
        )?;
        let inputs: Vec<Var> = [Some(x), Some(wv), bv].into_iter().flatten().collect();
        Ok(self.push(
            y,
            Op::Linear {
                x,
                w: wv,
                b: bv,
                act,
            },
            &inputs,
        ))
    }

    pub fn conv2d(
        &mut self,
        x: Var,
        w: &Rc<Param>,
        b: Option<&Rc<Param>>,
        spec: Conv2d,
        act: Activation,
    ) -> Result<Var> {
        check_fusable(act)?;
        let (wv, bv) = (self.param(w), b.map(|b| self.param(b)));
        let y = ops::conv2d(
            self.value(x),
            self.value(wv),
            bv.map(|b| self.value(b)),
            &spec,
            act,
        )?;
        let inputs: Vec<Var> = [Some(x), Some(wv), bv].into_iter().flatten().collect();
        Ok(self.push(
            y,
            Op::Conv2d {
                x,
                w: wv,
                b: bv,
                spec,
                act,
            },
            &inputs,
        ))
    }

    pub fn conv_transpose2d(
        &mut self,
        x: Var,
        w: &Rc<Param>,
        b: Option<&Rc<Param>>,
        spec: ConvTranspose2d,
        act: Activation,
    ) -> Result<Var> {
        check_fusable(act)?;
        let (wv, bv) = (self.param(w), b.map(|b| self.param(b)));
        let y = ops::conv_transpose2d(
            self.value(x),
            self.value(wv),
            bv.map(|b| self.value(b)),
            &spec,
            act,
        )?;
        let inputs: Vec<Var> = [Some(x), Some(wv), bv].into_iter().flatten().collect();
        Ok(self.push(
            y,
            Op::ConvTranspose2d {
                x,
                w: wv,
                b: bv,
                spec,
                act,
            },
            &inputs,
        ))
    }

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
        check_fusable(act)?;
        if !self.training {
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

    pub fn relu(&mut self, x: Var) -> Result<Var> {
        let y = ops::relu(self.value(x))?;
        Ok(self.push(y, Op::Relu { x }, &[x]))
    }

    pub fn leaky_relu(&mut self, x: Var, alpha: f32) -> Result<Var> {
        let y = ops::leaky_relu(self.value(x), alpha)?;
        Ok(self.push(y, Op::LeakyRelu { x, alpha }, &[x]))
    }

    pub fn tanh(&mut self, x: Var) -> Result<Var> {
        let y = ops::tanh(self.value(x))?;
        Ok(self.push(y, Op::Tanh { x }, &[x]))
    }

    pub fn sigmoid(&mut self, x: Var) -> Result<Var> {
        let y = ops::sigmoid(self.value(x))?;
        Ok(self.push(y, Op::Sigmoid { x }, &[x]))
    }

    /// Inverted dropout while training; the identity otherwise.
    pub fn dropout(&mut self, x: Var, rate: f32) -> Result<Var> {
        if !self.training || rate == 0.0 {
            return Ok(x);
        }
        let (seed, offset) = (self.seed, self.next_random_offset());
        let y = ops::dropout(self.value(x), rate, seed, offset)?;
        Ok(self.push(
            y,
            Op::Dropout {
                x,
                rate,
                seed,
                offset,
            },
            &[x],
        ))
    }

    pub fn upsample(&mut self, x: Var, factor: (usize, usize)) -> Result<Var> {
        let y = ops::upsample_nearest(self.value(x), factor)?;
        Ok(self.push(y, Op::Upsample { x, factor }, &[x]))
    }

    /// A view under another shape; copies nothing.
    pub fn reshape(&mut self, x: Var, shape: &[usize]) -> Result<Var> {
        let y = self.value(x).reshape(shape)?;
        Ok(self.push(y, Op::Reshape { x }, &[x]))
    }

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

    /// The mean of every element, a scalar (shape []).
    pub fn mean(&mut self, x: Var) -> Result<Var> {
        let y = ops::mean(self.value(x))?;
        Ok(self.push(y, Op::Mean { x }, &[x]))
    }

    /// Mean squared error between `a` and `b`, composed of the ops above.
    pub fn mse(&mut self, a: Var, b: Var) -> Result<Var> {
        let d = self.sub(a, b)?;
        let d2 = self.square(d)?;
        self.mean(d2)
    }

    /// Mean binary cross-entropy of sigmoid(z) against `target`, from logits.
    pub fn bce_with_logits(&mut self, z: Var, target: &Tensor) -> Result<Var> {
        let loss = ops::bce_with_logits(self.value(z), target)?;
        Ok(self.push(
            loss,
            Op::BceWithLogits {
                z,
                target: target.clone(),
            },
            &[z],
        ))
    }

    /// Mean binary cross-entropy of probabilities `p` against `target`.
    pub fn bce(&mut self, p: Var, target: &Tensor) -> Result<Var> {
        let loss = ops::bce(self.value(p), target)?;
        Ok(self.push(
            loss,
            Op::Bce {
                p,
                target: target.clone(),
            },
            &[p],
        ))
    }

    pub fn softmax_cross_entropy(&mut self, z: Var, labels: &Tensor) -> Result<Var> {
        let loss = ops::softmax_cross_entropy(self.value(z), labels)?;
        Ok(self.push(
            loss,
            Op::SoftmaxCrossEntropy {
                z,
                labels: labels.clone(),
            },
            &[z],
        ))
    }

    /// Softmax cross-entropy against target distributions (N, C).
    pub fn softmax_cross_entropy_soft(&mut self, z: Var, targets: &Tensor) -> Result<Var> {
        let loss = ops::softmax_cross_entropy_soft(self.value(z), targets)?;
        Ok(self.push(
            loss,
            Op::SoftmaxCrossEntropySoft {
                z,
                targets: targets.clone(),
            },
            &[z],
        ))
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
}
