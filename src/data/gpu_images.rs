//! A set of 8-bit images uploaded to the GPU once, packed four pixels to a word
//! (MNIST's 60,000 training digits take 47 MB, where f32 would need 188 MB, over
//! lavapipe's 128 MiB binding limit), with batches drawn by a kernel. Labels travel
//! the same way, so a batch's labels come from the same order as its images.

use crate::gpu::KernelKey;
use crate::{Gpu, Result, Tensor, error::shape_err};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    batch: u32,
    pixels: u32,
    start: u32,
    _pad: u32,
    scale: f32,
    shift: f32,
    _pad1: [u32; 2],
}

pub struct GpuImages {
    packed: Tensor,
    count: usize,
    shape: Vec<usize>,
    /// A byte b is drawn as b·scale + shift.
    scale: f32,
    shift: f32,
}

impl GpuImages {
    /// Uploads `count` images of `shape` (e.g. [1, 28, 28]) stored as bytes; batches
    /// have pixels scaled to [-1, 1].
    pub fn upload(gpu: &Gpu, bytes: &[u8], count: usize, shape: &[usize]) -> Result<GpuImages> {
        Self::upload_scaled(gpu, bytes, count, shape, 2.0 / 255.0, -1.0)
    }

    /// Uploads one byte label per item; batches hold the labels as f32 class indices,
    /// shape (batch), as the losses and `ops::accuracy` take them.
    pub fn upload_labels(gpu: &Gpu, labels: &[u8]) -> Result<GpuImages> {
        Self::upload_scaled(gpu, labels, labels.len(), &[], 1.0, 0.0)
    }

    /// Uploads `count` items of `shape` stored as bytes; batches hold b·scale + shift.
    pub fn upload_scaled(
        gpu: &Gpu,
        bytes: &[u8],
        count: usize,
        shape: &[usize],
        scale: f32,
        shift: f32,
    ) -> Result<GpuImages> {
        let pixels: usize = shape.iter().product();
        if bytes.len() != count * pixels {
            return Err(shape_err!(
                "{} bytes are not {count} images of {shape:?}",
                bytes.len()
            ));
        }
        let words: Vec<u32> = bytes
            .chunks(4)
            .map(|c| {
                c.iter()
                    .enumerate()
                    .fold(0u32, |w, (i, &b)| w | (u32::from(b) << (8 * i)))
            })
            .collect();
        let packed = Tensor::from_words(gpu, &[words.len()], &words)?;
        Ok(GpuImages {
            packed,
            count,
            shape: shape.to_vec(),
            scale,
            shift,
        })
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Uploads an order over the images (a permutation, or any list of indices).
    pub fn order(&self, indices: &[u32]) -> Result<Tensor> {
        if let Some(bad) = indices.iter().find(|&&i| i as usize >= self.count) {
            return Err(shape_err!(
                "image index {bad} is out of range for {} images",
                self.count
            ));
        }
        Tensor::from_words(self.packed.gpu(), &[indices.len()], indices)
    }

    /// The items `order[start .. start + batch]` as (batch, ...shape), in f32.
    pub fn batch(&self, order: &Tensor, start: usize, batch: usize) -> Result<Tensor> {
        if start + batch > order.numel() {
            return Err(shape_err!(
                "batch {start}..{} runs past an order of {}",
                start + batch,
                order.numel()
            ));
        }
        let gpu = self.packed.gpu();
        let pixels: usize = self.shape.iter().product();
        let out = Tensor::uninit(gpu, &[&[batch], &self.shape[..]].concat())?;
        let params = Params {
            batch: batch as u32,
            pixels: pixels as u32,
            start: start as u32,
            _pad: 0,
            scale: self.scale,
            shift: self.shift,
            _pad1: [0; 2],
        };
        gpu.dispatch(
            &KernelKey::new("gather", "gather_images"),
            &params,
            &[self.packed.buffer(), order.buffer(), out.buffer()],
            gpu.grid(((batch * pixels) as u64).div_ceil(256))?,
        );
        Ok(out)
    }
}
