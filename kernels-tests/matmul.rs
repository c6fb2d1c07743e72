//! GPU matmul against the CPU reference, on every path the engine can pick.
//!
//! Tolerance: a K-term f32 dot product of values in [-1, 1] rounds at each of its K
//! steps by at most ε times a partial sum, whose size grows like √K for random signs;
//! atol = 4·K·ε stays well above that while a wrong index or a dropped term (an
//! error of order 0.1 or more) fails by orders of magnitude.

use crate::common::{EPS, GEMM_CORES, assert_close, gpu, random_array, rng, upload};
use duel::gpu::GemmCore;
use duel::ops;
use duel::reference as r;

/// Every core in `GEMM_CORES`, less the subgroup one where the adapter lacks
/// 8-wide subgroups.
pub fn cores() -> Vec<GemmCore> {
    let subgroups = gpu().subgroup_size() == Some(8);
    GEMM_CORES
        .iter()
        .copied()
        .filter(|c| subgroups || *c != GemmCore::Subgroup8)
        .collect()
}

/// (M, K, N): degenerate, odd, batch 1, a Linear layer's shapes, and a large case.
const SHAPES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (7, 13, 29),
    (127, 255, 63),
    (1, 784, 128),
    (65, 100, 130),
    (257, 1031, 515),
];

fn check(m: usize, k: usize, n: usize, trans_a: bool, trans_b: bool, with_bias: bool, seed: u64) {
    let mut rng = rng(seed);
    let a = random_array(&mut rng, &if trans_a { [k, m] } else { [m, k] }, -1.0, 1.0);
    let b = random_array(&mut rng, &if trans_b { [n, k] } else { [k, n] }, -1.0, 1.0);
    let bias = random_array(&mut rng, &[n], -1.0, 1.0);
    let want = r::matmul_with(&a, &b, with_bias.then_some(&bias), trans_a, trans_b);
    let (ga, gb, gbias) = (upload(&a), upload(&b), upload(&bias));
    for core in cores() {
        let got = ops::matmul_with(
            core,
            &ga,
            &gb,
            with_bias.then_some(&gbias),
            trans_a,
            trans_b,
        )
        .unwrap();
        let what =
            format!("{core:?} {m}x{k}x{n} trans_a={trans_a} trans_b={trans_b} bias={with_bias}");
        assert_close(&what, &got, &want, 4.0 * k as f64 * EPS, 4.0 * EPS);
    }
}

#[test]
fn matmul_a_b_matches_reference() {
    for (i, &(m, k, n)) in SHAPES.iter().enumerate() {
        check(m, k, n, false, false, false, i as u64);
    }
}

#[test]
fn matmul_at_b_matches_reference() {
    for (i, &(m, k, n)) in SHAPES.iter().enumerate() {
        check(m, k, n, true, false, false, 100 + i as u64);
    }
}

#[test]
fn matmul_a_bt_matches_reference() {
    for (i, &(m, k, n)) in SHAPES.iter().enumerate() {
        check(m, k, n, false, true, false, 200 + i as u64);
    }
}

#[test]
fn matmul_with_fused_bias_matches_reference() {
    for (i, &(m, k, n)) in SHAPES.iter().enumerate() {
        check(m, k, n, false, false, true, 300 + i as u64);
    }
}

#[test]
fn named_launchers_and_backward_match_reference() {
    let mut rng = rng(400);
    let a = random_array(&mut rng, &[33, 47], -1.0, 1.0);
    let b = random_array(&mut rng, &[47, 21], -1.0, 1.0);
    let bias = random_array(&mut rng, &[21], -1.0, 1.0);
    let dc = random_array(&mut rng, &[33, 21], -1.0, 1.0);
    let (ga, gb, gbias, gdc) = (upload(&a), upload(&b), upload(&bias), upload(&dc));
    let tol = 4.0 * 47.0 * EPS;
    assert_close(
        "matmul",
        &ops::matmul(&ga, &gb).unwrap(),
        &r::matmul(&a, &b),
        tol,
        4.0 * EPS,
    );
    assert_close(
        "matmul_bias",
        &ops::matmul_bias(&ga, &gb, &gbias).unwrap(),
        &r::matmul_bias(&a, &b, &bias),
        tol,
        4.0 * EPS,
    );
    let (da, db) = ops::matmul_backward(&gdc, &ga, &gb).unwrap();
    let (want_da, want_db) = r::matmul_backward(&dc, &a, &b);
    assert_close(
        "matmul_backward dA",
        &da,
        &want_da,
        4.0 * 21.0 * EPS,
        4.0 * EPS,
    );
    assert_close(
        "matmul_backward dB",
        &db,
        &want_db,
        4.0 * 33.0 * EPS,
        4.0 * EPS,
    );
}
