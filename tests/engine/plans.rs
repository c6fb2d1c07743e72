//! The GEMM plan cache through real contexts: a tuned plan is written to the cache,
//! the next context on this adapter takes it without tuning, `fresh` tunes again, and
//! a damaged cache is ignored and replaced.

use crate::common::scratch;
use duel::gpu::{GemmPolicy, GpuOptions, PlanCache};
use duel::{Gpu, Tensor, ops};

/// A context that tunes, keeping its plans in `path` (read when `read`).
fn tuning(path: &std::path::Path, read: bool) -> Gpu {
    let options = GpuOptions {
        gemm: GemmPolicy::Tuned,
        plan_cache: Some(PlanCache {
            path: path.to_path_buf(),
            read,
        }),
        ..GpuOptions::from_env().unwrap()
    };
    Gpu::with_options(&options).unwrap()
}

/// One matmul of C (33, 70) over 300 on `gpu`; returns how many GEMMs it tuned and
/// the plans it ran.
fn one_matmul(gpu: &Gpu) -> (usize, Vec<(String, duel::gpu::GemmPlan)>) {
    let a = Tensor::from_slice(gpu, &[33, 300], &vec![0.5; 33 * 300]).unwrap();
    let b = Tensor::from_slice(gpu, &[300, 70], &vec![0.25; 300 * 70]).unwrap();
    let c = ops::matmul(&a, &b).unwrap().to_vec().unwrap();
    assert!(c.iter().all(|&v| v == 37.5), "wrong product");
    (gpu.tuning_stats().0, gpu.gemm_plans())
}

#[test]
fn tuned_plans_are_cached_reused_retuned_when_fresh_and_damage_is_replaced() {
    let path = scratch("plan_cache").join("duel").join("plans.json");
    let (tuned, plans) = one_matmul(&tuning(&path, true));
    assert_eq!((tuned, plans.len()), (1, 1));
    assert!(path.is_file(), "the tuned plan was not written");

    let (tuned_again, cached) = one_matmul(&tuning(&path, true));
    assert_eq!(tuned_again, 0, "a cached plan was tuned again");
    assert_eq!(cached, plans);

    let (fresh, _) = one_matmul(&tuning(&path, false));
    assert_eq!(fresh, 1, "DUEL_TUNE=fresh took the cached plan");

    std::fs::write(&path, b"{\"sections\": [ damaged").unwrap();
    assert_eq!(one_matmul(&tuning(&path, true)).0, 1);
    assert_eq!(
        one_matmul(&tuning(&path, true)).0,
        0,
        "the damaged cache was not replaced"
    );
}
