//! Shared test pieces: one GPU for the whole run, seeded random data, and the
//! tolerance check that names the worst element when it fails.

use duel::gpu::{
    GemmCore, GemmPlan, GemmPolicy, GpuOptions, TILED_4X64, TILED_64, TILED_64X4, TILED_128,
};
use duel::reference::Array;
use duel::{Activation, Gpu, Tensor};
use rand::{RngExt, SeedableRng, rngs::StdRng};
#[cfg(not(target_arch = "wasm32"))]
use std::sync::{Mutex, OnceLock};

/// f32 machine epsilon, the unit the tolerances below are stated in.
pub const EPS: f64 = f32::EPSILON as f64;

/// Every activation an epilogue applies.
pub const ACTIVATIONS: [Activation; 5] = [
    Activation::Identity,
    Activation::Relu,
    Activation::LeakyRelu(0.2),
    Activation::Tanh,
    Activation::Sigmoid,
];

/// The error an activation epilogue adds, absolute. ReLU and LeakyReLU add at most
/// one rounding of α·x. Sigmoid goes through exp(-|x|), which WGSL allows 3 + 2|x| ulp
/// (at most 4 ulp of 1 once scaled by e^-|x|), and a division (2.5 ulp); tanh is
/// 2σ(2x) - 1, twice that. All are 1-Lipschitz (σ' ≤ 1/4, tanh' ≤ 1), so the error of
/// the value they are applied to passes through at most unchanged: 16ε covers them.
pub const ACTIVATION_ATOL: f64 = 16.0 * EPS;

/// The process-wide GPU. Panics with the engine's own message (which says how to
/// install lavapipe) when there is no adapter.
#[cfg(not(target_arch = "wasm32"))]
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
    upload_to(gpu(), a)
}

pub fn upload_to(gpu: &Gpu, a: &Array) -> Tensor {
    Tensor::from_slice(gpu, &a.shape, &a.to_f32()).expect("upload")
}

/// Downloads `t` and checks it against `want` elementwise: |got - want| <= atol + rtol·|want|.
/// On failure, reports the worst element by how far it exceeds its bound.
/// In the browser, where a download must be awaited, the check is queued and
/// `browser::check_queued` makes it once the test body has recorded its work.
pub fn assert_close(what: &str, t: &Tensor, want: &Array, atol: f64, rtol: f64) {
    assert_eq!(t.shape(), &want.shape[..], "{what}: shape");
    #[cfg(not(target_arch = "wasm32"))]
    assert_slice_close(what, &t.to_vec().expect("download"), want, atol, rtol);
    #[cfg(target_arch = "wasm32")]
    browser::queue(what, t, want, atol, rtol);
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

/// Every GEMM core shape the engine picks, and shapes that exercise the generator's
/// corners: the CPU-shaped and GPU-shaped portable cores, the short ones that GEMMs with
/// few rows get, the 8-lane subgroup core at lavapipe's shape and at the 4-column shape
/// the 32-lane GPU core has, both GPU tiled cores, and tiled cores where each
/// invocation fetches more than one vec4 of A and of B per slice.
pub const GEMM_CORES: [GemmCore; 12] = [
    GemmCore::PORTABLE_CPU,
    PORTABLE_GPU,
    GemmCore::short(8, 1),
    GemmCore::short(64, 4),
    GemmCore::SUBGROUP8,
    SUBGROUP8_NARROW,
    TILED_64,
    TILED_128,
    TILED_4X64,
    TILED_64X4,
    GemmCore::Tiled {
        bm: 32,
        bn: 64,
        bk: 16,
        tm: 4,
        tn: 8,
    },
    GemmCore::Tiled {
        bm: 64,
        bn: 32,
        bk: 8,
        tm: 8,
        tn: 4,
    },
];

pub const PORTABLE_GPU: GemmCore = GemmCore::PORTABLE_GPU;
pub const SUBGROUP8_NARROW: GemmCore = GemmCore::SUBGROUP8_NARROW;
/// Validated by naga here, though lavapipe's 8-lane subgroups can't run them (the
/// 8-lane cores run the same generator; the browser's tests run the 4-lane ones).
pub const SUBGROUP32: GemmCore = GemmCore::SUBGROUP32;
pub const SUBGROUP4: GemmCore = GemmCore::SUBGROUP4;
pub const SUBGROUP4_NARROW: GemmCore = GemmCore::SUBGROUP4_NARROW;

/// Whether this adapter can run `core`: subgroup cores need their exact lane count.
pub fn runs_here(core: GemmCore) -> bool {
    core.lanes()
        .is_none_or(|lanes| gpu().subgroup_size() == Some(lanes))
}

/// A GPU context whose every GEMM runs on `plan`, one per plan for the whole run.
#[cfg(not(target_arch = "wasm32"))]
pub fn gpu_with(plan: GemmPlan) -> &'static Gpu {
    static GPUS: Mutex<Vec<(GemmPlan, &'static Gpu)>> = Mutex::new(Vec::new());
    let mut gpus = GPUS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, gpu)) = gpus.iter().find(|(p, _)| *p == plan) {
        return gpu;
    }
    let options = GpuOptions {
        gemm: GemmPolicy::Plan(plan),
        ..GpuOptions::from_env().unwrap()
    };
    let gpu: &'static Gpu = Box::leak(Box::new(
        Gpu::with_options(&options).unwrap_or_else(|e| panic!("{e}")),
    ));
    gpus.push((plan, gpu));
    gpu
}

#[cfg(target_arch = "wasm32")]
pub use browser::{gpu, gpu_with};

/// The browser's side of the above: one device opened (awaited) before each test, plan
/// contexts sharing it, and checks queued until their downloads can be awaited.
#[cfg(target_arch = "wasm32")]
pub mod browser {
    use super::{GemmPlan, GemmPolicy, GpuOptions, assert_slice_close};
    use duel::reference::Array;
    use duel::{Gpu, Tensor};
    use std::cell::{OnceCell, RefCell};

    type Check = (String, Tensor, Array, f64, f64);

    thread_local! {
        static GPU: OnceCell<&'static Gpu> = const { OnceCell::new() };
        static PLANS: RefCell<Vec<(GemmPlan, &'static Gpu)>> = const { RefCell::new(Vec::new()) };
        static QUEUED: RefCell<Vec<Check>> = const { RefCell::new(Vec::new()) };
    }

    /// Opens the page's adapter, once; each test awaits it first.
    pub async fn open() {
        if GPU.with(|g| g.get().is_some()) {
            return;
        }
        let options = GpuOptions::from_env().unwrap();
        let gpu = Gpu::with_options_async(&options)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let gpu: &'static Gpu = Box::leak(Box::new(gpu));
        GPU.with(|g| {
            let _ = g.set(gpu);
        });
    }

    pub fn gpu() -> &'static Gpu {
        GPU.with(|g| {
            *g.get()
                .expect("a browser test awaits browser::open() first")
        })
    }

    pub fn gpu_with(plan: GemmPlan) -> &'static Gpu {
        PLANS.with(|plans| {
            let mut plans = plans.borrow_mut();
            if let Some((_, gpu)) = plans.iter().find(|(p, _)| *p == plan) {
                return *gpu;
            }
            let gpu = gpu()
                .with_gemm(GemmPolicy::Plan(plan))
                .unwrap_or_else(|e| panic!("{e}"));
            let gpu: &'static Gpu = Box::leak(Box::new(gpu));
            plans.push((plan, gpu));
            gpu
        })
    }

    /// Queues a check of `t` as it is now: a test may overwrite it later, so the
    /// check takes a copy (recorded in order, like the work before it).
    pub fn queue(what: &str, t: &Tensor, want: &Array, atol: f64, rtol: f64) {
        let snapshot = Tensor::uninit(t.gpu(), t.shape()).expect("a snapshot");
        duel::ops::copy(&snapshot, t).expect("a snapshot");
        let check = (what.to_string(), snapshot, want.clone(), atol, rtol);
        QUEUED.with(|q| q.borrow_mut().push(check));
    }

    /// Downloads and checks everything queued, in order; returns how many.
    pub async fn check_queued() -> usize {
        let checks = QUEUED.with(|q| std::mem::take(&mut *q.borrow_mut()));
        for (what, t, want, atol, rtol) in &checks {
            let got = t.to_vec_async().await.expect("download");
            assert_slice_close(what, &got, want, *atol, *rtol);
        }
        checks.len()
    }
}

/// The contexts the convolution tests run on: the adapter's own choices, then forced
/// plans that cover each kind of core, split and unsplit.
pub fn conv_gpus() -> Vec<&'static Gpu> {
    let plans = [
        GemmPlan::new(TILED_64, 1),
        GemmPlan::new(TILED_128, 2),
        GemmPlan::new(SUBGROUP8_NARROW, 3),
        GemmPlan::new(PORTABLE_GPU, 2),
    ];
    std::iter::once(gpu())
        .chain(
            plans
                .into_iter()
                .filter(|p| runs_here(p.core))
                .map(gpu_with),
        )
        .collect()
}
