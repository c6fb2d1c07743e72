//! Adam and AdamW against the reference over 100 steps with fresh gradients each step.
//!
//! Tolerance: each step rounds the parameter by about ε·|w| and the update by a few ε
//! of lr; over 100 steps with |w| ≲ 2 that stays under 100·ε·4 ≈ 5e-5, while a wrong
//! bias correction or moment (an error of order lr = 1e-2 per step) fails at once.

use crate::common::{assert_close, random_array, rng, upload};
use duel::reference as r;
use duel::{AdamConfig, ops};

fn run(config: AdamConfig, shape: &[usize], seed: u64) {
    let mut rng = rng(seed);
    let mut w = random_array(&mut rng, shape, -1.0, 1.0);
    let mut m = r::zeros(shape);
    let mut v = r::zeros(shape);
    let (gw, gm, gv) = (upload(&w), upload(&m), upload(&v));
    for step in 1..=100 {
        let g = random_array(&mut rng, shape, -1.0, 1.0);
        ops::adam_step(&gw, &upload(&g), &gm, &gv, &config, step).unwrap();
        r::adam_step(&mut w, &g, &mut m, &mut v, &config, step);
    }
    let what = format!("{config:?} {shape:?}");
    assert_close(&format!("{what} weights"), &gw, &w, 5e-5, 0.0);
    assert_close(&format!("{what} first moment"), &gm, &m, 1e-5, 0.0);
    assert_close(&format!("{what} second moment"), &gv, &v, 1e-5, 0.0);
}

#[test]
pub fn adam_matches_reference_over_100_steps() {
    let adam = AdamConfig {
        lr: 1e-2,
        ..AdamConfig::default()
    };
    let l2 = AdamConfig {
        weight_decay: 0.05,
        ..adam
    };
    let adamw = AdamConfig {
        weight_decay: 0.05,
        decoupled: true,
        ..adam
    };
    for (i, config) in [adam, l2, adamw].into_iter().enumerate() {
        run(config, &[1], 1000 + i as u64);
        run(config, &[7, 13], 1010 + i as u64);
    }
    run(AdamConfig { beta1: 0.9, ..adam }, &[100_003], 1020);
}

#[test]
pub fn adam_rejects_mismatched_buffers_and_step_zero() {
    let gpu = crate::common::gpu();
    let a = ops::zeros(gpu, &[3]).unwrap();
    let b = ops::zeros(gpu, &[4]).unwrap();
    let config = AdamConfig::default();
    assert!(ops::adam_step(&a, &b, &a, &a, &config, 1).is_err());
    assert!(ops::adam_step(&a, &a, &a, &a, &config, 0).is_err());
}
