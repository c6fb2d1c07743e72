//! Batch normalisation in training and eval modes, its running statistics and its
//! backward, against the two-pass f64 reference.
//!
//! Tolerance: x̂ = (x - mean)·invstd carries the f32 rounding of the mean, about
//! ε·|mean|/std, so the bound is 16·ε·(1 + |offset|/std) absolute. A one-pass
//! E[x²] - E[x]² variance at an offset of 1e3 would be off by about 1e6·ε ≈ 0.06,
//! hundreds of times over it.

use crate::common::{ACTIVATION_ATOL, ACTIVATIONS, EPS, assert_close, random_array, rng, upload};
use duel::reference as r;
use duel::{Activation, BatchNormConfig, ops};

fn check(shape: &[usize], offset: f64, seed: u64) {
    let mut rng = rng(seed);
    let c = shape[1];
    let x = random_array(&mut rng, shape, -2.0, 2.0).map(|v| v + offset);
    let gamma = random_array(&mut rng, &[c], 0.5, 1.5);
    let beta = random_array(&mut rng, &[c], -0.5, 0.5);
    let mut running_mean = random_array(&mut rng, &[c], -0.1, 0.1);
    let mut running_var = random_array(&mut rng, &[c], 0.5, 1.5);
    let dy = random_array(&mut rng, shape, -1.0, 1.0);
    let config = BatchNormConfig::keras(0.8, 1e-3);
    let (gx, ggamma, gbeta, grm, grv, gdy) = (
        upload(&x),
        upload(&gamma),
        upload(&beta),
        upload(&running_mean),
        upload(&running_var),
        upload(&dy),
    );
    let what = format!("batch_norm {shape:?} offset {offset}");
    let tol = 16.0 * EPS * (1.0 + offset.abs());

    let (y, saved) = ops::batch_norm_train(
        &gx,
        &ggamma,
        &gbeta,
        &grm,
        &grv,
        &config,
        Activation::Identity,
    )
    .unwrap();
    let (want_y, want_saved) = r::batch_norm_train(
        &x,
        &gamma,
        &beta,
        &mut running_mean,
        &mut running_var,
        &config,
        Activation::Identity,
    );
    assert_close(&format!("{what} train y"), &y, &want_y, tol, 0.0);
    assert_close(
        &format!("{what} saved mean"),
        &saved.mean,
        &want_saved.mean,
        tol,
        4.0 * EPS,
    );
    assert_close(
        &format!("{what} saved invstd"),
        &saved.invstd,
        &want_saved.invstd,
        tol,
        1e-5,
    );
    assert_close(
        &format!("{what} running mean"),
        &grm,
        &running_mean,
        tol,
        4.0 * EPS,
    );
    assert_close(
        &format!("{what} running var"),
        &grv,
        &running_var,
        tol,
        1e-5,
    );

    let eval = ops::batch_norm_eval(
        &gx,
        &ggamma,
        &gbeta,
        &grm,
        &grv,
        &config,
        Activation::Identity,
    )
    .unwrap();
    let want_eval = r::batch_norm_eval(
        &x,
        &gamma,
        &beta,
        &running_mean,
        &running_var,
        &config,
        Activation::Identity,
    );
    assert_close(
        &format!("{what} eval y"),
        &eval,
        &want_eval,
        tol * (1.0 + offset.abs()),
        1e-5,
    );

    let (dx, dgamma, dbeta) = ops::batch_norm_backward(&gdy, &gx, &ggamma, &saved).unwrap();
    let (want_dx, want_dgamma, want_dbeta) = r::batch_norm_backward(&dy, &x, &gamma, &want_saved);
    let count = (x.numel() / c) as f64;
    assert_close(&format!("{what} dx"), &dx, &want_dx, tol, 1e-4);
    assert_close(
        &format!("{what} dgamma"),
        &dgamma,
        &want_dgamma,
        count * tol,
        1e-5,
    );
    assert_close(
        &format!("{what} dbeta"),
        &dbeta,
        &want_dbeta,
        count * EPS,
        1e-5,
    );
}

#[test]
pub fn batch_norm_2d_matches_reference() {
    check(&[1, 3, 5, 7], 0.0, 1100);
    check(&[4, 5, 7, 9], 0.0, 1101);
}

#[test]
pub fn batch_norm_1d_matches_reference() {
    check(&[16, 33], 0.0, 1110);
    check(&[2, 1], 0.0, 1111);
}

#[test]
pub fn batch_norm_is_sound_at_a_large_mean_offset() {
    check(&[64, 128, 14, 14], 1e3, 1120);
}

#[test]
pub fn batch_norm_shape_errors() {
    let gpu = crate::common::gpu();
    let x = ops::zeros(gpu, &[2, 3, 4, 4]).unwrap();
    let good = ops::zeros(gpu, &[3]).unwrap();
    let bad = ops::zeros(gpu, &[4]).unwrap();
    let config = BatchNormConfig::default();
    assert!(
        ops::batch_norm_train(&x, &bad, &good, &good, &good, &config, Activation::Identity)
            .is_err()
    );
    assert!(
        ops::batch_norm_eval(
            &ops::zeros(gpu, &[3]).unwrap(),
            &good,
            &good,
            &good,
            &good,
            &config,
            Activation::Identity
        )
        .is_err()
    );
}

/// The apply pass's epilogue: each activation after the scale and shift, in training
/// and in eval mode.
#[test]
pub fn batch_norm_with_an_activation_matches_reference() {
    let shape = [3, 5, 7, 9];
    for (i, act) in ACTIVATIONS.into_iter().enumerate() {
        let mut rng = rng(700 + i as u64);
        let x = random_array(&mut rng, &shape, -2.0, 2.0);
        let gamma = random_array(&mut rng, &[5], 0.5, 1.5);
        let beta = random_array(&mut rng, &[5], -0.5, 0.5);
        let (mut running_mean, mut running_var) = (r::zeros(&[5]), r::full(&[5], 1.0));
        let (grm, grv) = (upload(&running_mean), upload(&running_var));
        let config = BatchNormConfig::default();
        let (gx, ggamma, gbeta) = (upload(&x), upload(&gamma), upload(&beta));
        let tol = 16.0 * EPS + ACTIVATION_ATOL;
        let (y, _) = ops::batch_norm_train(&gx, &ggamma, &gbeta, &grm, &grv, &config, act).unwrap();
        let (rm, rv) = (&mut running_mean, &mut running_var);
        let (want, _) = r::batch_norm_train(&x, &gamma, &beta, rm, rv, &config, act);
        assert_close(&format!("train {act:?}"), &y, &want, tol, 0.0);
        let y = ops::batch_norm_eval(&gx, &ggamma, &gbeta, &grm, &grv, &config, act).unwrap();
        let want = r::batch_norm_eval(&x, &gamma, &beta, &running_mean, &running_var, &config, act);
        assert_close(&format!("eval {act:?}"), &y, &want, tol, 1e-5);
    }
}

/// The running statistics after one training step, worked out by hand for the values
/// 0, 1, …, 99 in one channel: mean 49.5, biased variance (100² - 1)/12 = 833.25,
/// unbiased 833.25·100/99 = 841.67. Keras (momentum 0.8, biased) holds 0.2·49.5 = 9.9
/// and 0.8 + 0.2·833.25 = 167.45; PyTorch (momentum 0.1, unbiased) holds
/// 0.1·49.5 = 4.95 and 0.9 + 0.1·841.67 = 85.07. The sums are exact in f32, so only
/// the momentum (an f32: 0.8 is 0.800000012) and the final multiply-adds round: 8ε
/// relative, for the GPU and the twin alike.
#[test]
pub fn running_statistics_follow_each_framework() {
    let x = r::Array::new(&[100, 1], (0..100).map(f64::from).collect());
    let cases = [
        (BatchNormConfig::keras(0.8, 1e-3), 9.9, 0.8 + 0.2 * 833.25),
        (
            BatchNormConfig::torch(0.1, 1e-5),
            4.95,
            0.9 + 0.1 * 833.25 * 100.0 / 99.0,
        ),
    ];
    for (config, want_mean, want_var) in cases {
        let (gamma, beta) = (r::full(&[1], 1.0), r::zeros(&[1]));
        let (mut rm, mut rv) = (r::zeros(&[1]), r::full(&[1], 1.0));
        let (grm, grv) = (upload(&rm), upload(&rv));
        let (gx, gg, gb) = (upload(&x), upload(&gamma), upload(&beta));
        let act = Activation::Identity;
        ops::batch_norm_train(&gx, &gg, &gb, &grm, &grv, &config, act).unwrap();
        r::batch_norm_train(&x, &gamma, &beta, &mut rm, &mut rv, &config, act);
        let by_hand = |v: f64| r::Array::new(&[1], vec![v]);
        let what = format!("{config:?}");
        assert_close(
            &format!("{what} mean"),
            &grm,
            &by_hand(want_mean),
            0.0,
            8.0 * EPS,
        );
        assert_close(
            &format!("{what} var"),
            &grv,
            &by_hand(want_var),
            0.0,
            8.0 * EPS,
        );
        for (name, twin, want) in [("mean", &rm, want_mean), ("var", &rv, want_var)] {
            assert!(
                (twin.data[0] - want).abs() < 8.0 * EPS * want,
                "twin {what} {name}"
            );
        }
    }
}

/// The rows of `a` (N, ...) from `first`, `count` of them.
#[cfg(not(target_arch = "wasm32"))]
fn rows(a: &r::Array, first: usize, count: usize) -> r::Array {
    let per_row = a.numel() / a.shape[0];
    let mut shape = a.shape.clone();
    shape[0] = count;
    let data = a.data[first * per_row..(first + count) * per_row].to_vec();
    r::Array::new(&shape, data)
}

/// Partials from every slice, gathered in slice order as the ranks gather them.
#[cfg(not(target_arch = "wasm32"))]
fn gathered(per_slice: &[[duel::Tensor; 2]]) -> [duel::Tensor; 2] {
    [0, 1].map(|k| {
        let values: Vec<f32> = per_slice
            .iter()
            .flat_map(|p| p[k].to_vec().unwrap())
            .collect();
        let c = per_slice[0][k].shape()[1];
        duel::Tensor::from_slice(crate::common::gpu(), &[values.len() / c, c], &values).unwrap()
    })
}

/// Batch norm of a batch split into `parts` slices, as the ranks of a synchronised
/// batch norm run it: each part launcher against its twin, and each slice against
/// the whole batch's batch norm. Each slice's dy is `parts` times its rows of the
/// whole's, as a slice's own mean loss gives it.
///
/// The tolerances are those of `check`, with sums over a slice's N·S values bounded
/// as the whole batch's sums are there.
#[cfg(not(target_arch = "wasm32"))]
fn check_parts(shape: &[usize], parts: usize, seed: u64) {
    let mut rng = rng(seed);
    let (total, c) = (shape[0], shape[1]);
    let n = total / parts;
    let x = random_array(&mut rng, shape, -2.0, 2.0);
    let gamma = random_array(&mut rng, &[c], 0.5, 1.5);
    let beta = random_array(&mut rng, &[c], -0.5, 0.5);
    let dy = random_array(&mut rng, shape, -1.0, 1.0);
    let config = BatchNormConfig::torch(0.1, 1e-5);
    let act = Activation::Identity;
    let what = format!("batch_norm {shape:?} in {parts} parts");
    let (ggamma, gbeta) = (upload(&gamma), upload(&beta));
    let fresh = || (r::zeros(&[c]), r::full(&[c], 1.0));
    let (mut whole_rm, mut whole_rv) = fresh();
    let (want_y, want_saved) = r::batch_norm_train(
        &x,
        &gamma,
        &beta,
        &mut whole_rm,
        &mut whole_rv,
        &config,
        act,
    );
    let (want_dx, want_dgamma, want_dbeta) = r::batch_norm_backward(&dy, &x, &gamma, &want_saved);

    let slices: Vec<r::Array> = (0..parts).map(|p| rows(&x, p * n, n)).collect();
    let gpu_slices: Vec<_> = slices.iter().map(upload).collect();
    let stats: Vec<[duel::Tensor; 2]> = gpu_slices
        .iter()
        .map(|s| ops::batch_norm_partial_stats(s).unwrap())
        .collect();
    let tol = 16.0 * EPS;
    // Each slice's values per channel.
    let count = (x.numel() / (parts * c)) as f64;
    for (p, (slice, got)) in slices.iter().zip(&stats).enumerate() {
        let want = r::batch_norm_partial_stats(slice);
        assert_close(
            &format!("{what} part {p} mean"),
            &got[0],
            &want[0],
            tol,
            4.0 * EPS,
        );
        assert_close(
            &format!("{what} part {p} m2"),
            &got[1],
            &want[1],
            count * tol,
            1e-5,
        );
    }
    let all_stats = gathered(&stats);
    let all_stats_twin = slices
        .iter()
        .map(r::batch_norm_partial_stats)
        .fold([vec![], vec![]], |mut acc, s| {
            acc[0].extend(&s[0].data);
            acc[1].extend(&s[1].data);
            acc
        })
        .map(|d| r::Array::new(&[parts, c], d));

    let mut grad_sums = Vec::new();
    let mut saved_each = Vec::new();
    for (p, (slice, gx)) in slices.iter().zip(&gpu_slices).enumerate() {
        let at = format!("{what} part {p}");
        let (mut rm, mut rv) = fresh();
        let (grm, grv) = (upload(&rm), upload(&rv));
        let (y, saved) =
            ops::batch_norm_train_merged(gx, &all_stats, &ggamma, &gbeta, &grm, &grv, &config, act)
                .unwrap();
        let (twin_y, twin_saved) = r::batch_norm_train_merged(
            slice,
            &all_stats_twin,
            &gamma,
            &beta,
            &mut rm,
            &mut rv,
            &config,
            act,
        );
        assert_close(&format!("{at} y"), &y, &twin_y, tol, 0.0);
        assert_close(
            &format!("{at} y as the whole's"),
            &y,
            &rows(&want_y, p * n, n),
            tol,
            0.0,
        );
        assert_close(
            &format!("{at} running mean"),
            &grm,
            &whole_rm,
            tol,
            4.0 * EPS,
        );
        assert_close(&format!("{at} running var"), &grv, &whole_rv, tol, 1e-5);

        let own_dy = rows(&dy, p * n, n).map(|v| v * parts as f64);
        let gdy = upload(&own_dy);
        let sums = ops::batch_norm_partial_grad(&gdy, gx, &saved).unwrap();
        let twin_sums = r::batch_norm_partial_grad(&own_dy, slice, &twin_saved);
        for k in 0..2 {
            let at = format!("{at} gradient partial {k}");
            assert_close(&at, &sums[k], &twin_sums[k], count * tol, 1e-5);
        }
        grad_sums.push(sums);
        saved_each.push((gdy, own_dy, twin_saved, saved));
    }
    let all_sums = gathered(&grad_sums);
    let all_sums_twin: [r::Array; 2] = [0, 1].map(|k| {
        let data: Vec<f64> = slices
            .iter()
            .zip(&saved_each)
            .flat_map(|(s, (_, own_dy, twin_saved, _))| {
                r::batch_norm_partial_grad(own_dy, s, twin_saved)[k]
                    .data
                    .clone()
            })
            .collect();
        r::Array::new(&[parts, c], data)
    });
    let count = (x.numel() / c) as f64;
    for (p, (slice, (gdy, own_dy, twin_saved, saved))) in slices.iter().zip(&saved_each).enumerate()
    {
        let at = format!("{what} part {p}");
        let gx = &gpu_slices[p];
        let (dx, dgamma, dbeta) =
            ops::batch_norm_backward_merged(gdy, gx, &ggamma, saved, &all_sums).unwrap();
        let (twin_dx, twin_dgamma, twin_dbeta) =
            r::batch_norm_backward_merged(own_dy, slice, &gamma, twin_saved, &all_sums_twin);
        assert_close(&format!("{at} dx"), &dx, &twin_dx, tol, 1e-4);
        let whole_dx = rows(&want_dx, p * n, n).map(|v| v * parts as f64);
        assert_close(
            &format!("{at} dx as the whole's"),
            &dx,
            &whole_dx,
            tol,
            1e-4,
        );
        assert_close(
            &format!("{at} dgamma"),
            &dgamma,
            &twin_dgamma,
            count * tol,
            1e-5,
        );
        assert_close(
            &format!("{at} dgamma as the whole's"),
            &dgamma,
            &want_dgamma,
            count * tol,
            1e-5,
        );
        assert_close(
            &format!("{at} dbeta"),
            &dbeta,
            &twin_dbeta,
            count * EPS,
            1e-5,
        );
        assert_close(
            &format!("{at} dbeta as the whole's"),
            &dbeta,
            &want_dbeta,
            count * EPS,
            1e-5,
        );
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
pub fn a_batch_in_parts_normalises_as_the_whole() {
    check_parts(&[1, 3, 5, 7], 1, 1130);
    check_parts(&[6, 5, 7, 9], 2, 1131);
    check_parts(&[3, 33], 3, 1132);
    check_parts(&[64, 96, 14, 14], 2, 1133);
}

#[test]
pub fn partials_of_the_wrong_shape_are_refused() {
    let gpu = crate::common::gpu();
    let x = ops::zeros(gpu, &[2, 3, 4, 4]).unwrap();
    let c = ops::zeros(gpu, &[3]).unwrap();
    let config = BatchNormConfig::default();
    let act = Activation::Identity;
    // No rows at all; (4, 2) has the wrong channels.
    for shape in [[0, 3], [4, 2]] {
        let bad = [0, 1].map(|_| ops::zeros(gpu, &shape).unwrap());
        let err = ops::batch_norm_train_merged(&x, &bad, &c, &c, &c, &c, &config, act)
            .err()
            .expect("refused");
        assert!(err.to_string().contains("partials"), "{err}");
    }
}
