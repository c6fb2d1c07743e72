//! Weight initialisation on the GPU, keyed so that the same seed builds the same model.

use crate::{Gpu, Result, Tensor, ops};
use std::cell::Cell;

/// How a layer's weights start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// DCGAN's N(0, 0.02) for weights; batch norm's γ from N(1, 0.02).
    Dcgan,
    /// Keras's default: uniform in ±sqrt(6 / (fan_in + fan_out)).
    GlorotUniform,
}

/// Hands out (seed, offset) keys for successive initialisations.
pub struct Initializer {
    pub init: Init,
    seed: u64,
    next: Cell<u64>,
}

impl Initializer {
    pub fn new(init: Init, seed: u64) -> Initializer {
        Initializer {
            init,
            seed,
            next: Cell::new(0),
        }
    }

    fn key(&self) -> (u64, u64) {
        let offset = self.next.get();
        self.next.set(offset + 1);
        // Offsets are far apart so no two tensors share counters.
        (self.seed, offset << 32)
    }

    /// A weight tensor with the given fans.
    pub fn weight(
        &self,
        gpu: &Gpu,
        shape: &[usize],
        fan_in: usize,
        fan_out: usize,
    ) -> Result<Tensor> {
        let t = Tensor::uninit(gpu, shape)?;
        let (seed, offset) = self.key();
        match self.init {
            Init::Dcgan => ops::fill_normal(&t, 0.0, 0.02, seed, offset)?,
            Init::GlorotUniform => {
                let limit = (6.0 / (fan_in + fan_out) as f32).sqrt();
                ops::fill_uniform(&t, -limit, limit, seed, offset)?
            }
        }
        Ok(t)
    }

    /// Batch norm's scale γ: N(1, 0.02) for DCGAN, ones for Keras.
    pub fn bn_scale(&self, gpu: &Gpu, channels: usize) -> Result<Tensor> {
        let t = Tensor::uninit(gpu, &[channels])?;
        let (seed, offset) = self.key();
        match self.init {
            Init::Dcgan => ops::fill_normal(&t, 1.0, 0.02, seed, offset)?,
            Init::GlorotUniform => ops::fill(&t, 1.0)?,
        }
        Ok(t)
    }
}
