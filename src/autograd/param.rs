//! `Param`: a named, trainable tensor with its gradient accumulator.

use crate::{Gpu, Result, Tensor, ops};
use std::cell::Cell;
use std::rc::Rc;

/// A model parameter. The value and the gradient live on the GPU and are updated
/// by kernels in place, so a `Param` is shared (`Rc`) without Rust-side mutation.
pub struct Param {
    pub name: String,
    pub value: Tensor,
    /// Accumulated with += by every backward pass until `zero_grad`.
    pub grad: Tensor,
    trainable: Cell<bool>,
}

impl Param {
    pub fn new(gpu: &Gpu, name: impl Into<String>, value: Tensor) -> Result<Rc<Param>> {
        let grad = ops::zeros(gpu, value.shape())?;
        Ok(Rc::new(Param {
            name: name.into(),
            value,
            grad,
            trainable: Cell::new(true),
        }))
    }

    /// Whether backward computes this parameter's gradient. A frozen parameter still
    /// passes gradients through to its inputs.
    pub fn trainable(&self) -> bool {
        self.trainable.get()
    }

    pub fn set_trainable(&self, trainable: bool) {
        self.trainable.set(trainable);
    }

    pub fn zero_grad(&self) -> Result<()> {
        ops::fill(&self.grad, 0.0)
    }
}

/// A tensor that belongs to a model but is not trained by gradients: batch norm's
/// running statistics. Checkpoints save these beside the parameters.
pub struct Buffer {
    pub name: String,
    pub value: Tensor,
}
