//! The Kernel Inception Distance (Bińkowski et al., 2018): the squared maximum mean
//! discrepancy between two sets of features under the cubic polynomial kernel
//! k(x, y) = (s·x·y / d + 1)³, in its unbiased form. Unlike the Fréchet distance it
//! assumes no Gaussian, and its expectation does not depend on how many samples are
//! drawn, so small sample counts are not biased upwards; being unbiased it can come
//! out slightly below zero when the sets match.
//!
//! Inception's features are small and non-negative; a duel classifier's are not, and
//! the cube of a large dot product would swamp the estimate with its own noise. So
//! s = 1 / (the reference's mean squared feature): the kernel sees terms of order
//! one whatever the classifier's scale, and the distance does not change when the
//! features are multiplied by a constant.

use crate::{Result, error::shape_err};

/// The features KID compares generated samples with, and their mean kernel value
/// between distinct pairs, computed once.
#[derive(Debug, Clone)]
pub struct KidReference {
    /// (n, dim), row-major.
    features: Vec<f32>,
    dim: usize,
    /// s of the kernel.
    scale: f64,
    within: f64,
}

impl KidReference {
    pub fn new(features: Vec<f32>, dim: usize) -> Result<KidReference> {
        let square: f64 = features.iter().map(|&v| f64::from(v).powi(2)).sum();
        let mean_square = square / features.len().max(1) as f64;
        let scale = if mean_square > 0.0 {
            1.0 / mean_square
        } else {
            1.0
        };
        let within = within(&features, dim, scale)?;
        Ok(KidReference {
            features,
            dim,
            scale,
            within,
        })
    }

    /// KID between `samples` (m, dim) and the reference:
    /// mean over i≠j of k(xᵢ, xⱼ) + the same of the reference − 2·mean of k(xᵢ, yⱼ).
    pub fn kid(&self, samples: &[f32]) -> Result<f64> {
        let within_samples = within(samples, self.dim, self.scale)?;
        let mut across = 0.0;
        for x in samples.chunks(self.dim) {
            for y in self.features.chunks(self.dim) {
                across += kernel(x, y, self.scale);
            }
        }
        let pairs = (samples.len() / self.dim) * (self.features.len() / self.dim);
        Ok(within_samples + self.within - 2.0 * across / pairs as f64)
    }
}

/// k(x, y) = (s·x·y / d + 1)³, the dot product summed in f32 (a feature vector's 128
/// terms lose nothing that matters next to the estimator's sampling error).
fn kernel(x: &[f32], y: &[f32], scale: f64) -> f64 {
    let dot: f32 = x.iter().zip(y).map(|(a, b)| a * b).sum();
    (scale * f64::from(dot) / x.len() as f64 + 1.0).powi(3)
}

/// The mean of k over the n(n−1) ordered pairs of distinct rows.
fn within(features: &[f32], dim: usize, scale: f64) -> Result<f64> {
    let n = features.len() / dim.max(1);
    if dim == 0 || n < 2 || features.len() != n * dim {
        return Err(shape_err!(
            "KID needs at least two feature vectors of {dim} values, got {} values",
            features.len()
        ));
    }
    let rows: Vec<&[f32]> = features.chunks(dim).collect();
    let mut sum = 0.0;
    for (i, x) in rows.iter().enumerate() {
        for y in &rows[i + 1..] {
            sum += kernel(x, y, scale);
        }
    }
    Ok(2.0 * sum / (n * (n - 1)) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{SeedableRng, rngs::StdRng};
    use rand_distr::{Distribution, Normal};

    /// One-dimensional features worked by hand: samples x = {0, 1}, reference
    /// y = {2, 4}, whose mean square 10 makes s = 1/10: k(a, b) = (ab/10 + 1)³.
    /// Within x: k(0, 1) = 1. Within y: k(2, 4) = 1.8³ = 5.832. Across:
    /// k(0,2) + k(0,4) + k(1,2) + k(1,4) = 1 + 1 + 1.728 + 2.744 = 6.472, mean 1.618.
    /// KID = 1 + 5.832 − 2·1.618 = 3.596. Scaling every feature by 3 changes nothing.
    #[test]
    fn kid_matches_a_hand_computed_case() {
        for c in [1.0, 3.0] {
            let reference = KidReference::new(vec![2.0 * c, 4.0 * c], 1).unwrap();
            let kid = reference.kid(&[0.0, c]).unwrap();
            assert!((kid - 3.596).abs() < 1e-12, "{kid}");
        }
    }

    fn normal(rng: &mut StdRng, n: usize, dim: usize, shift: f32) -> Vec<f32> {
        let unit = Normal::new(0.0f32, 1.0).unwrap();
        (0..n * dim).map(|_| unit.sample(rng) + shift).collect()
    }

    /// Unbiased: two samples of one distribution give KID near zero (either sign),
    /// far below a shifted distribution's, whose KID grows with the shift.
    #[test]
    fn kid_is_near_zero_for_one_distribution_and_grows_with_a_shift() {
        let mut rng = StdRng::seed_from_u64(7);
        let dim = 16;
        let reference = KidReference::new(normal(&mut rng, 400, dim, 0.0), dim).unwrap();
        let same = reference.kid(&normal(&mut rng, 300, dim, 0.0)).unwrap();
        let near = reference.kid(&normal(&mut rng, 300, dim, 0.3)).unwrap();
        let far = reference.kid(&normal(&mut rng, 300, dim, 0.6)).unwrap();
        // The same distribution's estimate is sampling noise only, a small fraction
        // of what a shift of 0.3 standard deviations in every feature gives.
        assert!(same.abs() < 0.2 * near, "same {same}, near {near}");
        assert!(near < far, "near {near}, far {far}");
        assert!(KidReference::new(vec![1.0; 3], 3).is_err());
        assert!(reference.kid(&[0.0; 15]).is_err());
    }
}
