//! A set of 8-bit images uploaded to the GPU once, packed four pixels to a word
//! (MNIST's 60,000 training digits take 47 MB, where f32 would need 188 MB, over
//! lavapipe's 128 MiB binding limit), with batches drawn by a kernel. A set larger
//! than one binding (a big image folder) lies in shards, each a whole number of
//! images; a batch is drawn by one pass per shard, each filling the rows whose images
//! it holds. Labels travel the same way, so a batch's labels come from the same order
//! as its images.

use crate::gpu::KernelKey;
use crate::{Gpu, Result, Tensor, error::shape_err};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    batch: u32,
    pixels: u32,
    start: u32,
    /// The first image the shard holds, and how many it holds.
    shard_first: u32,
    shard_count: u32,
    scale: f32,
    shift: f32,
    _pad: u32,
}

pub struct GpuImages {
    gpu: Gpu,
    /// The shards in order, `per_shard` images each (the last may hold fewer).
    shards: Vec<Tensor>,
    per_shard: usize,
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
        Self::upload_sharded(
            gpu,
            bytes,
            count,
            shape,
            scale,
            shift,
            gpu.max_binding_bytes(),
        )
    }

    /// `upload_scaled` in shards of at most `max_shard_bytes`, rounded down to a
    /// multiple of four images so that every shard starts on a word.
    fn upload_sharded(
        gpu: &Gpu,
        bytes: &[u8],
        count: usize,
        shape: &[usize],
        scale: f32,
        shift: f32,
        max_shard_bytes: u64,
    ) -> Result<GpuImages> {
        let pixels: usize = shape.iter().product();
        if bytes.len() != count * pixels {
            return Err(shape_err!(
                "{} bytes are not {count} images of {shape:?}",
                bytes.len()
            ));
        }
        let per_shard = (max_shard_bytes as usize / pixels.max(1)) / 4 * 4;
        if per_shard == 0 {
            return Err(crate::Error::TooLarge(format!(
                "an image of {shape:?} takes {pixels} bytes, and four of them do not fit \
                 in one GPU binding of {max_shard_bytes} bytes: use smaller images"
            )));
        }
        let shards = bytes
            .chunks(per_shard * pixels)
            .map(|chunk| Tensor::from_packed_bytes(gpu, chunk))
            .collect::<Result<Vec<_>>>()?;
        Ok(GpuImages {
            gpu: gpu.clone(),
            shards,
            per_shard,
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
        Tensor::from_words(&self.gpu, &[indices.len()], indices)
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
        let gpu = &self.gpu;
        let pixels: usize = self.shape.iter().product();
        let out = Tensor::uninit(gpu, &[&[batch], &self.shape[..]].concat())?;
        for (s, shard) in self.shards.iter().enumerate() {
            let first = s * self.per_shard;
            let params = Params {
                batch: batch as u32,
                pixels: pixels as u32,
                start: start as u32,
                shard_first: first as u32,
                shard_count: self.per_shard.min(self.count - first) as u32,
                scale: self.scale,
                shift: self.shift,
                _pad: 0,
            };
            gpu.dispatch(
                &KernelKey::new("gather", "gather_images"),
                &params,
                &[shard.buffer(), order.buffer(), out.buffer()],
                gpu.grid(((batch * pixels) as u64).div_ceil(256))?,
            );
        }
        Ok(out)
    }
}

#[cfg(all(test, feature = "native"))]
mod tests {
    use super::*;

    /// A set split into shards of four, four and three images of an odd size (105
    /// bytes, so no image starts on a word of its own) draws the same batches as the
    /// bytes say: rows from every shard, repeated and in any order, at any start.
    #[test]
    fn a_set_in_shards_draws_every_image_exactly() {
        let gpu = Gpu::new().unwrap();
        let shape = [3, 5, 7];
        let (count, pixels) = (11, 105);
        let bytes: Vec<u8> = (0..count * pixels).map(|i| (i * 37 % 251) as u8).collect();
        let one = GpuImages::upload(&gpu, &bytes, count, &shape).unwrap();
        // 4 images' worth plus a little: rounded down to four images a shard.
        let sharded =
            GpuImages::upload_sharded(&gpu, &bytes, count, &shape, 2.0 / 255.0, -1.0, 430).unwrap();
        assert_eq!((one.shards.len(), sharded.shards.len()), (1, 3));
        let picks = [10u32, 0, 4, 3, 10, 7, 8, 1];
        for set in [&one, &sharded] {
            let order = set.order(&picks).unwrap();
            for (start, batch) in [(0, 8), (3, 1), (5, 3)] {
                let got = set.batch(&order, start, batch).unwrap().to_vec().unwrap();
                let want: Vec<f32> = picks[start..start + batch]
                    .iter()
                    .flat_map(|&i| &bytes[i as usize * pixels..][..pixels])
                    .map(|&b| f32::from(b) * (2.0 / 255.0) - 1.0)
                    .collect();
                // b·(2/255) − 1 in f32, which a GPU may fuse into one rounding: values
                // in [-1, 1] then differ by at most an ulp of 1 (1.2e-7).
                assert_eq!(got.len(), want.len());
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        (g - w).abs() <= 2e-7,
                        "batch {start}..+{batch}, value {i}: {g} vs {w}"
                    );
                }
            }
        }
        let too_small = GpuImages::upload_sharded(&gpu, &bytes, count, &shape, 1.0, 0.0, 400);
        assert!(too_small.is_err_and(|e| e.to_string().contains("smaller images")));
    }
}
