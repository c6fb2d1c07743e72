//! `Tensor`: an f32 buffer on the GPU plus a shape.
//!
//! The buffer is shared between views (`reshape` copies nothing) and returns to the
//! pool when the last view drops, so steady-state loops allocate nothing.

use crate::gpu::{BufferKind, Gpu};
use crate::{Error, Result, error::shape_err};
use std::sync::Arc;

/// A pooled GPU buffer; gives itself back to the pool on drop.
pub(crate) struct Storage {
    gpu: Gpu,
    buffer: Option<wgpu::Buffer>,
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Some(buffer) = self.buffer.take() {
            self.gpu.give_back(BufferKind::Storage, buffer);
        }
    }
}

#[derive(Clone)]
pub struct Tensor {
    storage: Arc<Storage>,
    shape: Vec<usize>,
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor{:?}", self.shape)
    }
}

fn element_count(shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| Error::TooLarge(format!("shape {shape:?} has too many elements")))
}

impl Tensor {
    /// A tensor whose contents are whatever the pooled buffer held: write it before reading.
    pub fn uninit(gpu: &Gpu, shape: &[usize]) -> Result<Tensor> {
        let n = element_count(shape)?;
        let buffer = gpu.take_buffer(BufferKind::Storage, (n * 4) as u64)?;
        Ok(Tensor {
            storage: Arc::new(Storage {
                gpu: gpu.clone(),
                buffer: Some(buffer),
            }),
            shape: shape.to_vec(),
        })
    }

    /// Uploads host data; `data.len()` must equal the product of `shape`.
    pub fn from_slice(gpu: &Gpu, shape: &[usize], data: &[f32]) -> Result<Tensor> {
        let n = element_count(shape)?;
        if data.len() != n {
            return Err(shape_err!(
                "shape {shape:?} holds {n} elements but {} were given",
                data.len()
            ));
        }
        let t = Tensor::uninit(gpu, shape)?;
        t.write(data)?;
        Ok(t)
    }

    /// Uploads raw 32-bit words (packed bytes, indices) that kernels read as u32.
    pub(crate) fn from_words(gpu: &Gpu, shape: &[usize], words: &[u32]) -> Result<Tensor> {
        let t = Tensor::uninit(gpu, shape)?;
        if words.len() != t.numel() {
            return Err(shape_err!(
                "shape {shape:?} holds {} words but {} were given",
                t.numel(),
                words.len()
            ));
        }
        if !words.is_empty() {
            gpu.write(t.buffer(), bytemuck::cast_slice(words));
        }
        Ok(t)
    }

    /// Overwrites the contents from host data of the same length.
    pub fn write(&self, data: &[f32]) -> Result<()> {
        if data.len() != self.numel() {
            return Err(shape_err!(
                "cannot write {} values into a tensor of shape {:?}",
                data.len(),
                self.shape
            ));
        }
        if !data.is_empty() {
            self.gpu().write(self.buffer(), bytemuck::cast_slice(data));
        }
        Ok(())
    }

    /// Downloads the contents. This is a sync point: pending work is submitted first.
    pub fn to_vec(&self) -> Result<Vec<f32>> {
        if self.numel() == 0 {
            return Ok(Vec::new());
        }
        let bytes = self.gpu().read(self.buffer(), (self.numel() * 4) as u64)?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }

    /// The same buffer under another shape with the same element count; copies nothing.
    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor> {
        if element_count(shape)? != self.numel() {
            return Err(shape_err!("cannot reshape {:?} to {shape:?}", self.shape));
        }
        Ok(Tensor {
            storage: self.storage.clone(),
            shape: shape.to_vec(),
        })
    }

    /// (N, ...) viewed as (N, product of the rest), as Keras's Flatten; copies nothing.
    pub fn flatten(&self) -> Result<Tensor> {
        match self.shape.split_first() {
            Some((&n, rest)) => self.reshape(&[n, rest.iter().product()]),
            None => Err(shape_err!("cannot flatten a scalar")),
        }
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn gpu(&self) -> &Gpu {
        &self.storage.gpu
    }

    pub(crate) fn buffer(&self) -> &wgpu::Buffer {
        self.storage
            .buffer
            .as_ref()
            .expect("storage holds its buffer until dropped")
    }
}
