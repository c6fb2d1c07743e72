//! Plain stochastic gradient descent: w -= lr · grad.

use crate::autograd::Param;
use crate::{Result, ops};
use std::rc::Rc;

pub struct Sgd {
    pub lr: f32,
    params: Vec<Rc<Param>>,
}

impl Sgd {
    pub fn new(params: Vec<Rc<Param>>, lr: f32) -> Sgd {
        Sgd { lr, params }
    }

    pub fn step(&self) -> Result<()> {
        for p in &self.params {
            ops::add_assign(&p.value, &ops::scale(&p.grad, -self.lr)?)?;
        }
        Ok(())
    }

    pub fn zero_grad(&self) -> Result<()> {
        self.params.iter().try_for_each(|p| p.zero_grad())
    }
}
