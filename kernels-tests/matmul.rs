//! GPU matmul against the CPU reference, on every path the engine can pick.
//!
//! Tolerance: a K-term f32 dot product of values in [-1, 1] rounds at each of its K
//! steps by at most ε times a partial sum, whose size grows like √K for random signs;
//! atol = 4·K·ε stays well above that while a wrong index or a dropped term (an
//! error of order 0.1 or more) fails by orders of magnitude.

use crate::common::{
    ACTIVATION_ATOL, ACTIVATIONS, EPS, GEMM_CORES, assert_close, gpu, random_array, rng, runs_here,
    upload,
};
use duel::gpu::{GemmPlan, all_candidate_cores};
use duel::reference as r;
use duel::{Activation, ops};

/// Every core in `GEMM_CORES`, and every core the tuner may time here or on a GPU
/// (`GemmPolicy::Tuned`), that this adapter runs, whole and with K split in three
/// (odd, so slices of the test shapes' K come out uneven).
pub fn plans() -> Vec<GemmPlan> {
    // Here, and on a GPU with 32-lane subgroups (whose subgroup core runs_here drops).
    let mut cores = GEMM_CORES.to_vec();
    let tuned = [gpu().subgroup_size(), Some(32)].map(all_candidate_cores);
    for core in tuned.into_iter().flatten() {
        if !cores.contains(&core) {
            cores.push(core);
        }
    }
    cores
        .into_iter()
        .filter(|&c| runs_here(c))
        .flat_map(|c| [GemmPlan::new(c, 1), GemmPlan::new(c, 3)])
        .collect()
}

/// (M, K, N): degenerate, odd, batch 1, a Dense layer's shapes, a matrix times a
/// vector (run transposed), and a large case.
const SHAPES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (97, 130, 1),
    (7, 13, 29),
    (127, 255, 63),
    (1, 784, 128),
    (65, 100, 130),
    (257, 1031, 515),
];

#[allow(clippy::too_many_arguments)]
fn check(
    m: usize,
    k: usize,
    n: usize,
    trans_a: bool,
    trans_b: bool,
    with_bias: bool,
    act: Activation,
    seed: u64,
) {
    let mut rng = rng(seed);
    let a = random_array(&mut rng, &if trans_a { [k, m] } else { [m, k] }, -1.0, 1.0);
    let b = random_array(&mut rng, &if trans_b { [n, k] } else { [k, n] }, -1.0, 1.0);
    let bias = random_array(&mut rng, &[n], -1.0, 1.0);
    let want = r::matmul_with(&a, &b, with_bias.then_some(&bias), trans_a, trans_b, act);
    let (ga, gb, gbias) = (upload(&a), upload(&b), upload(&bias));
    for plan in plans() {
        let got = ops::matmul_with(
            Some(plan),
            &ga,
            &gb,
            with_bias.then_some(&gbias),
            trans_a,
            trans_b,
            act,
        )
        .unwrap();
        let what = format!(
            "{plan} {m}x{k}x{n} trans_a={trans_a} trans_b={trans_b} bias={with_bias} {act:?}"
        );
        let atol = 4.0 * k as f64 * EPS + ACTIVATION_ATOL;
        assert_close(&what, &got, &want, atol, 4.0 * EPS);
    }
}

#[test]
pub fn matmul_a_b_matches_reference() {
    for (i, &(m, k, n)) in SHAPES.iter().enumerate() {
        check(m, k, n, false, false, false, Activation::Identity, i as u64);
    }
}

#[test]
pub fn matmul_at_b_matches_reference() {
    for (i, &(m, k, n)) in SHAPES.iter().enumerate() {
        check(
            m,
            k,
            n,
            true,
            false,
            false,
            Activation::Identity,
            100 + i as u64,
        );
    }
}

#[test]
pub fn matmul_a_bt_matches_reference() {
    for (i, &(m, k, n)) in SHAPES.iter().enumerate() {
        check(
            m,
            k,
            n,
            false,
            true,
            false,
            Activation::Identity,
            200 + i as u64,
        );
    }
}

/// The epilogue: bias, then each activation in turn.
#[test]
pub fn matmul_with_fused_bias_and_activation_matches_reference() {
    for (i, &(m, k, n)) in SHAPES.iter().enumerate() {
        let act = ACTIVATIONS[i % ACTIVATIONS.len()];
        check(m, k, n, false, false, true, act, 300 + i as u64);
    }
}

#[test]
pub fn named_launchers_and_backward_match_reference() {
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
        "dense",
        &ops::dense(&ga, &gb, Some(&gbias), Activation::Identity).unwrap(),
        &r::dense(&a, &b, Some(&bias), Activation::Identity),
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

/// A tuning context (`GemmPolicy::Tuned`) times its candidates on the real operands,
/// then records the winner: the result matches the reference whichever plan won, the
/// shape is tuned once (its second launch reuses the plan), and a transposed GEMM of
/// the same size is tuned apart.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn a_tuned_matmul_matches_reference_and_is_tuned_once() {
    use crate::common::upload_to;
    let tuned = gpu().with_gemm(duel::gpu::GemmPolicy::Tuned).unwrap();
    let mut rng = rng(500);
    let (m, k, n) = (65, 300, 130);
    let a = random_array(&mut rng, &[m, k], -1.0, 1.0);
    let b = random_array(&mut rng, &[k, n], -1.0, 1.0);
    let (ga, gb) = (upload_to(&tuned, &a), upload_to(&tuned, &b));
    let tol = 4.0 * k as f64 * EPS;
    for round in 0..2 {
        let got = ops::matmul(&ga, &gb).unwrap();
        assert_close(
            &format!("tuned matmul, round {round}"),
            &got,
            &r::matmul(&a, &b),
            tol,
            4.0 * EPS,
        );
        assert_eq!(tuned.tuning_stats().0, 1);
    }
    let at = random_array(&mut rng, &[k, m], -1.0, 1.0);
    let got = ops::matmul_with(
        None,
        &upload_to(&tuned, &at),
        &gb,
        None,
        true,
        false,
        Activation::Identity,
    )
    .unwrap();
    let want = r::matmul_with(&at, &b, None, true, false, Activation::Identity);
    assert_close("tuned matmul Aᵀ·B", &got, &want, tol, 4.0 * EPS);
    assert_eq!(tuned.tuning_stats().0, 2);
}

/// A matrix times a vector runs transposed (ops::matmul), one row by M columns, yet
/// sums each element's products in K order as an untransposed GEMM does: its column
/// equals, bit for bit, the first column of the same product with a second column
/// beside it, which runs untransposed. Unsplit plans only, since splitting K changes the
/// order. With a bias and each transposition.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn a_matrix_vector_product_runs_transposed_to_the_same_bits() {
    use crate::common::{gpu_with, upload_to};
    use duel::reference::Array;
    let (m, k) = (97, 130);
    for (i, (trans_a, trans_b)) in [(false, false), (true, false), (false, true), (true, true)]
        .into_iter()
        .enumerate()
    {
        let mut rng = rng(600 + i as u64);
        let a = random_array(&mut rng, &if trans_a { [k, m] } else { [m, k] }, -1.0, 1.0);
        let b2 = random_array(&mut rng, &if trans_b { [2, k] } else { [k, 2] }, -1.0, 1.0);
        // B's first column alone, stored as B is, and the first bias.
        let b2_values = b2.to_f32();
        let column: Vec<f32> = if trans_b {
            b2_values[..k].to_vec()
        } else {
            b2_values.iter().step_by(2).copied().collect()
        };
        let b1 = Array::from_f32(&if trans_b { [1, k] } else { [k, 1] }, &column);
        let bias2 = random_array(&mut rng, &[2], -1.0, 1.0);
        let bias1 = Array::from_f32(&[1], &bias2.to_f32()[..1]);
        for plan in plans().into_iter().filter(|p| p.splits == 1) {
            let gpu = gpu_with(plan);
            let [ga, gb1, gb2, gbias1, gbias2] =
                [&a, &b1, &b2, &bias1, &bias2].map(|x| upload_to(gpu, x));
            let launch = |b, bias| {
                ops::matmul_with(
                    None,
                    &ga,
                    b,
                    Some(bias),
                    trans_a,
                    trans_b,
                    Activation::Identity,
                )
                .unwrap()
                .to_vec()
                .unwrap()
            };
            let one = launch(&gb1, &gbias1);
            let two = launch(&gb2, &gbias2);
            let first: Vec<f32> = two.chunks(2).map(|row| row[0]).collect();
            assert_eq!(
                one.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                first.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "{plan} trans_a={trans_a} trans_b={trans_b}: the transposed run differs"
            );
        }
    }
}
