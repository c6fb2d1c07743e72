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
