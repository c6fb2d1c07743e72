//! `Tensor`: an f32 buffer on the GPU plus a shape.
//!
//! The storage is shared between views (`reshape` copies nothing) and returns to the
//! pool when the last view drops, so steady-state loops allocate nothing. A tensor's
//! storage is either a pooled buffer of its own or a range of another tensor's (an
//! arena), and can move into an arena once made (`relocate`): an optimizer gathers
//! its parameters into one buffer that way, so one dispatch updates them all.

use crate::gpu::{BufferKind, BufferRange, Gpu};
use crate::{Error, Result, error::shape_err, ops};
use std::sync::{Arc, RwLock};

/// Where a tensor's data lives.
enum Place {
    /// A pooled buffer of its own, given back to the pool on drop.
    Own(wgpu::Buffer),
    /// A range starting `offset` bytes into another storage, which it keeps alive.
    In { arena: Arc<Storage>, offset: u64 },
}

pub(crate) struct Storage {
    gpu: Gpu,
    place: RwLock<Place>,
}

impl Storage {
    fn new(gpu: &Gpu, place: Place) -> Arc<Storage> {
        Arc::new(Storage {
            gpu: gpu.clone(),
            place: RwLock::new(place),
        })
    }

    /// The buffer this storage lies in, and its byte offset there: `None` for a
    /// buffer of its own, `Some` for a range of an arena's.
    fn origin(&self) -> (wgpu::Buffer, Option<u64>) {
        match &*self.place.read().unwrap_or_else(|e| e.into_inner()) {
            Place::Own(buffer) => (buffer.clone(), None),
            Place::In { arena, offset } => {
                let (buffer, base) = arena.origin();
                (buffer, Some(base.unwrap_or(0) + offset))
            }
        }
    }

    fn replace(&self, place: Place) {
        let old = std::mem::replace(
            &mut *self.place.write().unwrap_or_else(|e| e.into_inner()),
            place,
        );
        if let Place::Own(buffer) = old {
            self.gpu.give_back(BufferKind::Storage, buffer);
        }
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        // A wgpu::Buffer is a handle: the pool's clone keeps the buffer itself.
        if let Place::Own(buffer) = self.place.get_mut().unwrap_or_else(|e| e.into_inner()) {
            self.gpu.give_back(BufferKind::Storage, buffer.clone());
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
            storage: Storage::new(gpu, Place::Own(buffer)),
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
            gpu.write(&t.buffer(), bytemuck::cast_slice(words));
        }
        Ok(t)
    }

    /// Uploads bytes as the little-endian u32 words that kernels read four to a word,
    /// the last word zero-padded; no second copy of the bytes is made on the host.
    pub(crate) fn from_packed_bytes(gpu: &Gpu, bytes: &[u8]) -> Result<Tensor> {
        let t = Tensor::uninit(gpu, &[bytes.len().div_ceil(4)])?;
        let whole = bytes.len() / 4 * 4;
        let range = t.buffer();
        if whole > 0 {
            gpu.write(&range, &bytes[..whole]);
        }
        if whole < bytes.len() {
            let mut tail = [0u8; 4];
            tail[..bytes.len() - whole].copy_from_slice(&bytes[whole..]);
            let at = BufferRange {
                offset: range.offset + whole as u64,
                ..range
            };
            gpu.write(&at, &tail);
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
            self.gpu().write(&self.buffer(), bytemuck::cast_slice(data));
        }
        Ok(())
    }

    /// Downloads the contents. This is a sync point: pending work is submitted first.
    pub async fn to_vec_async(&self) -> Result<Vec<f32>> {
        let mut all = Tensor::to_vecs_async(&[self]).await?;
        Ok(all.pop().unwrap_or_default())
    }

    /// `to_vec_async`, waited for.
    #[cfg(feature = "native")]
    pub fn to_vec(&self) -> Result<Vec<f32>> {
        pollster::block_on(self.to_vec_async())
    }

    /// Downloads several tensors of one GPU at one sync point: one submission and one
    /// wait, however many they are.
    pub async fn to_vecs_async(tensors: &[&Tensor]) -> Result<Vec<Vec<f32>>> {
        let Some(first) = tensors.first() else {
            return Ok(Vec::new());
        };
        if tensors.iter().any(|t| !t.gpu().is(first.gpu())) {
            return Err(Error::Usage(
                "tensors downloaded together must live on one GPU context".into(),
            ));
        }
        let ranges: Vec<BufferRange> = tensors.iter().map(|t| t.buffer()).collect();
        let parts: Vec<(&BufferRange, u64)> = ranges
            .iter()
            .zip(tensors)
            .filter(|(_, t)| t.numel() > 0)
            .map(|(r, t)| (r, (t.numel() * 4) as u64))
            .collect();
        let mut bytes = first.gpu().read_async(&parts).await?.into_iter();
        Ok(tensors
            .iter()
            .map(|t| match t.numel() {
                0 => Vec::new(),
                _ => bytemuck::pod_collect_to_vec(&bytes.next().unwrap_or_default()),
            })
            .collect())
    }

    /// `to_vecs_async`, waited for.
    #[cfg(feature = "native")]
    pub fn to_vecs(tensors: &[&Tensor]) -> Result<Vec<Vec<f32>>> {
        pollster::block_on(Tensor::to_vecs_async(tensors))
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

    /// Where the data lies, for binding, copying and writing.
    pub(crate) fn buffer(&self) -> BufferRange {
        // A tensor with a buffer of its own binds all of it, as pooled buffers may be
        // larger than the tensor; one in an arena binds exactly its range.
        let (buffer, offset) = self.storage.origin();
        let (offset, size) = match offset {
            None => (0, None),
            Some(offset) => (offset, wgpu::BufferSize::new((self.numel() * 4) as u64)),
        };
        BufferRange {
            buffer,
            offset,
            size,
        }
    }

    /// A tensor of `shape` over the elements of `arena` from `offset` on. `offset`
    /// must be a multiple of `Gpu::binding_alignment`, so that the view can be bound.
    pub(crate) fn view(arena: &Tensor, offset: usize, shape: &[usize]) -> Result<Tensor> {
        let n = element_count(shape)?;
        let align = arena.gpu().binding_alignment();
        if !offset.is_multiple_of(align) || offset + n > arena.numel() {
            return Err(shape_err!(
                "a view of {shape:?} at element {offset} does not fit {:?} on a {align}-element boundary",
                arena.shape
            ));
        }
        let place = Place::In {
            arena: arena.storage.clone(),
            offset: (offset * 4) as u64,
        };
        Ok(Tensor {
            storage: Storage::new(arena.gpu(), place),
            shape: shape.to_vec(),
        })
    }

    /// Whether this tensor's storage is a range of `arena`'s.
    pub(crate) fn lies_in(&self, arena: &Tensor) -> bool {
        match &*self.storage.place.read().unwrap_or_else(|e| e.into_inner()) {
            Place::In { arena: a, .. } => Arc::ptr_eq(a, &arena.storage),
            Place::Own(_) => false,
        }
    }

    /// Copies the data into `arena` at `offset` (see `view`) and moves the storage
    /// there: this tensor, its clones and its reshapes all read and write the arena
    /// from now on, and the buffer they had goes back to the pool.
    pub(crate) fn relocate(&self, arena: &Tensor, offset: usize) -> Result<()> {
        let target = Tensor::view(arena, offset, &self.shape)?;
        ops::copy(&target, self)?;
        self.storage.replace(Place::In {
            arena: arena.storage.clone(),
            offset: (offset * 4) as u64,
        });
        Ok(())
    }
}
