//! The Fréchet distance between two Gaussians fitted to feature sets:
//! ‖μa − μb‖² + tr Σa + tr Σb − 2 tr (Σa^½ Σb Σa^½)^½.
//! Statistics are accumulated in f64 on the CPU: covariances of 10k samples lose too
//! much to f32 cancellation, and the matrix square root needs an eigensolver, for which
//! nalgebra's symmetric one serves.

use crate::{Error, Result};
use nalgebra::{DMatrix, DVector, SymmetricEigen};

/// Mean and covariance (normalised by n − 1, as NumPy's `cov` and FID do) of a set of
/// feature vectors.
#[derive(Debug, Clone)]
pub struct Gaussian {
    pub mean: DVector<f64>,
    pub cov: DMatrix<f64>,
    pub count: usize,
}

impl Gaussian {
    /// Fits rows of `features`, a row-major (count, dim) array.
    pub fn fit(features: &[f32], dim: usize) -> Result<Gaussian> {
        if dim == 0 || !features.len().is_multiple_of(dim) {
            return Err(Error::Shape(format!(
                "{} feature values do not make rows of {dim}",
                features.len()
            )));
        }
        let count = features.len() / dim;
        if count < 2 {
            return Err(Error::Shape(format!(
                "a covariance needs at least 2 samples, got {count}"
            )));
        }
        if let Some(bad) = features.iter().find(|v| !v.is_finite()) {
            return Err(Error::Numeric(format!(
                "features contain {bad}; the images being measured are not finite"
            )));
        }
        let rows = DMatrix::from_row_iterator(count, dim, features.iter().map(|&v| f64::from(v)));
        let mean = DVector::from_iterator(dim, rows.column_iter().map(|c| c.mean()));
        let mut centred = rows;
        for mut row in centred.row_iter_mut() {
            row -= mean.transpose();
        }
        let cov = centred.tr_mul(&centred) / (count - 1) as f64;
        Ok(Gaussian { mean, cov, count })
    }
}

/// The square root of a symmetric positive semi-definite matrix, by eigendecomposition.
/// Eigenvalues that rounding made slightly negative are taken as zero.
pub fn sqrtm_psd(a: &DMatrix<f64>) -> DMatrix<f64> {
    let symmetric = (a + a.transpose()) * 0.5;
    let eigen = SymmetricEigen::new(symmetric);
    let roots = eigen.eigenvalues.map(|l| l.max(0.0).sqrt());
    &eigen.eigenvectors * DMatrix::from_diagonal(&roots) * eigen.eigenvectors.transpose()
}

/// Fréchet distance between `a` and `b`. Zero for identical statistics; symmetric.
pub fn frechet_distance(a: &Gaussian, b: &Gaussian) -> f64 {
    let root_a = sqrtm_psd(&a.cov);
    // tr (Σa Σb)^½ = tr (Σa^½ Σb Σa^½)^½, and the right side is symmetric PSD, so its
    // trace is the sum of the square roots of its eigenvalues.
    let inner = &root_a * &b.cov * &root_a;
    let inner = (&inner + inner.transpose()) * 0.5;
    let cross: f64 = SymmetricEigen::new(inner)
        .eigenvalues
        .iter()
        .map(|l| l.max(0.0).sqrt())
        .sum();
    let fd = (&a.mean - &b.mean).norm_squared() + a.cov.trace() + b.cov.trace() - 2.0 * cross;
    // Rounding can make a zero distance slightly negative.
    fd.max(0.0)
}
