//! Tensor health: non-finite and negative counts and the largest finite magnitude of
//! many tensors, in one submission and one read-back, for the checks that keep a
//! NaN out of a checkpoint.

use crate::{Result, Tensor, ops};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    slot: u32,
    _pad: [u32; 2],
}

/// What `health` found in one tensor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Health {
    /// Values that are NaN or ±∞.
    pub nonfinite: u32,
    /// Finite values below zero (-0.0 is not one).
    pub negative: u32,
    /// The largest finite |x|; 0 for an empty or all-non-finite tensor.
    pub max_abs: f32,
}

impl Health {
    pub fn is_finite(&self) -> bool {
        self.nonfinite == 0
    }
}

/// The health of each of `tensors`, in order. Every tensor gets one dispatch into one
/// shared (tensors, 3) buffer of counts, read back once.
pub async fn health_async(tensors: &[&Tensor]) -> Result<Vec<Health>> {
    let Some(first) = tensors.first() else {
        return Ok(Vec::new());
    };
    let gpu = first.gpu();
    // u32 counts in an f32 tensor's buffer: zeroed by a fill of 0.0, whose bits are 0.
    let slots = ops::zeros(gpu, &[tensors.len(), 3])?;
    for (slot, t) in tensors.iter().enumerate() {
        if t.numel() == 0 {
            continue;
        }
        let n = crate::ops::dim(t.numel(), "health")?;
        let params = Params {
            n,
            slot: slot as u32,
            _pad: [0; 2],
        };
        crate::ops::dispatch_flat(
            gpu,
            ("health", "health_check"),
            &params,
            &[t.buffer(), slots.buffer()],
            t.numel(),
        )?;
    }
    let bits: Vec<u32> = slots
        .to_vec_async()
        .await?
        .iter()
        .map(|v| v.to_bits())
        .collect();
    Ok(bits
        .chunks_exact(3)
        .map(|s| Health {
            nonfinite: s[0],
            negative: s[1],
            max_abs: f32::from_bits(s[2]),
        })
        .collect())
}

/// `health_async`, waited for.
#[cfg(feature = "native")]
pub fn health(tensors: &[&Tensor]) -> Result<Vec<Health>> {
    pollster::block_on(health_async(tensors))
}
