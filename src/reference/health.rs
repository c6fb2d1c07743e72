//! CPU twin of `ops::health`.

use super::Array;
use crate::ops::Health;

/// The health of each of `tensors`, judged on their values as f32.
pub fn health(tensors: &[&Array]) -> Vec<Health> {
    tensors
        .iter()
        .map(|t| {
            let values = t.to_f32();
            let finite = values.iter().filter(|v| v.is_finite());
            Health {
                nonfinite: values.iter().filter(|v| !v.is_finite()).count() as u32,
                negative: finite.clone().filter(|&&v| v < 0.0).count() as u32,
                max_abs: finite.map(|v| v.abs()).fold(0.0, f32::max),
            }
        })
        .collect()
}
