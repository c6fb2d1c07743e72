//! Shared test pieces: one GPU for the whole run, seeded random data, and the
//! tolerance check that names the worst element when it fails.

use duel::gpu::GemmCore;
use duel::reference::Array;
use duel::{Gpu, Tensor};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use std::sync::OnceLock;

/// f32 machine epsilon, the unit the tolerances below are stated in.
pub const EPS: f64 = f32::EPSILON as f64;

/// The process-wide GPU. Panics with the engine's own message (which says how to
/// install lavapipe) when there is no adapter.
pub fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| Gpu::new().unwrap_or_else(|e| panic!("{e}")))
}

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Uniform values in [lo, hi), as f32-representable f64 so GPU and CPU see the same inputs.
pub fn random_array(rng: &mut StdRng, shape: &[usize], lo: f32, hi: f32) -> Array {
    let data: Vec<f32> = (0..shape.iter().product())
        .map(|_| rng.random_range(lo..hi))
        .collect();
    Array::from_f32(shape, &data)
}

pub fn upload(a: &Array) -> Tensor {
    Tensor::from_slice(gpu(), &a.shape, &a.to_f32()).expect("upload")
}

/// Downloads `t` and checks it against `want` elementwise: |got - want| <= atol + rtol·|want|.
/// On failure, reports the worst element by how far it exceeds its bound.
pub fn assert_close(what: &str, t: &Tensor, want: &Array, atol: f64, rtol: f64) {
    assert_eq!(t.shape(), &want.shape[..], "{what}: shape");
    let got = t.to_vec().expect("download");
    assert_slice_close(what, &got, want, atol, rtol);
}

pub fn assert_slice_close(what: &str, got: &[f32], want: &Array, atol: f64, rtol: f64) {
    assert_eq!(got.len(), want.numel(), "{what}: element count");
    let mut worst: Option<(usize, f64)> = None;
    for (i, (&g, &w)) in got.iter().zip(&want.data).enumerate() {
        // A NaN from the GPU counts as the worst possible element.
        let excess = (f64::from(g) - w).abs() - (atol + rtol * w.abs());
        let excess = if excess.is_nan() {
            f64::INFINITY
        } else {
            excess
        };
        if excess > 0.0 && worst.is_none_or(|(_, e)| excess > e) {
            worst = Some((i, excess));
        }
    }
    if let Some((i, _)) = worst {
        panic!(
            "{what}: element {i} of shape {:?} is {} but the reference says {} (|diff| {:e} > atol {atol:e} + rtol {rtol:e}·|ref|)",
            want.shape,
            got[i],
            want.data[i],
            (f64::from(got[i]) - want.data[i]).abs()
        );
    }
}

/// Every GEMM core shape the engine picks: the CPU-shaped and GPU-shaped portable
/// cores, the short ones that GEMMs with few rows get, and the subgroup core.
pub const GEMM_CORES: [GemmCore; 5] = [
    GemmCore::Portable {
        wg_x: 8,
        wg_y: 1,
        rows: 32,
    },
    GemmCore::Portable {
        wg_x: 16,
        wg_y: 16,
        rows: 8,
    },
    GemmCore::Portable {
        wg_x: 8,
        wg_y: 1,
        rows: 1,
    },
    GemmCore::Portable {
        wg_x: 64,
        wg_y: 1,
        rows: 4,
    },
    GemmCore::Subgroup8,
];
