//! Adam over a set of parameters: one `adam_step` dispatch per parameter tensor.

use crate::autograd::{Buffer, Param};
use crate::{AdamConfig, Result, ops};
use std::rc::Rc;

pub struct Adam {
    pub config: AdamConfig,
    params: Vec<Rc<Param>>,
    /// First and second moments, one pair per parameter, named after it.
    moments: Vec<(Buffer, Buffer)>,
    step: u32,
}

impl Adam {
    pub fn new(params: Vec<Rc<Param>>, config: AdamConfig) -> Result<Adam> {
        let moments = params
            .iter()
            .map(|p| {
                let gpu = p.value.gpu();
                Ok((
                    Buffer {
                        name: format!("{}.adam_m", p.name),
                        value: ops::zeros(gpu, p.value.shape())?,
                    },
                    Buffer {
                        name: format!("{}.adam_v", p.name),
                        value: ops::zeros(gpu, p.value.shape())?,
                    },
                ))
            })
            .collect::<Result<_>>()?;
        Ok(Adam {
            config,
            params,
            moments,
            step: 0,
        })
    }

    /// Applies one update from the accumulated gradients.
    pub fn step(&mut self) -> Result<()> {
        self.step += 1;
        for (p, (m, v)) in self.params.iter().zip(&self.moments) {
            ops::adam_step(
                &p.value,
                &p.grad,
                &m.value,
                &v.value,
                &self.config,
                self.step,
            )?;
        }
        Ok(())
    }

    pub fn zero_grad(&self) -> Result<()> {
        self.params.iter().try_for_each(|p| p.zero_grad())
    }

    /// Steps taken so far (for bias correction; saved in checkpoints).
    pub fn steps(&self) -> u32 {
        self.step
    }

    pub fn set_steps(&mut self, step: u32) {
        self.step = step;
    }

    /// The moment buffers, for checkpoints.
    pub fn state(&self) -> Vec<&Buffer> {
        self.moments.iter().flat_map(|(m, v)| [m, v]).collect()
    }
}
