//! Losses and their backward against the reference.
//!
//! Tolerance: each per-element loss rounds within a few ε of its largest term (|z| up
//! to 100 for logits), and the mean is a tree sum; atol 1e-5 with 1e-5 relative is
//! above that and far below a wrong formula (an error of order 0.01 or more). The
//! gradients are single expressions per element, so a few ε relative suffices.

use crate::common::{EPS, assert_close, gpu, random_array, rng, upload};
use duel::reference::{self as r, Array};
use duel::{Tensor, ops};

fn scalar(v: f32) -> Tensor {
    Tensor::from_slice(gpu(), &[], &[v]).unwrap()
}

#[test]
pub fn bce_with_logits_matches_reference_even_at_extreme_logits() {
    for (i, shape) in [&[1usize, 1][..], &[64, 1], &[7, 13], &[100_003]]
        .into_iter()
        .enumerate()
    {
        let z = random_array(&mut rng(900 + i as u64), shape, -100.0, 100.0);
        // Targets anywhere in [0, 1], as label smoothing produces.
        let t = random_array(&mut rng(910 + i as u64), shape, 0.0, 1.0);
        let (gz, gt) = (upload(&z), upload(&t));
        let loss = ops::bce_with_logits(&gz, &gt).unwrap();
        assert_close(
            &format!("bce_with_logits {shape:?}"),
            &loss,
            &r::bce_with_logits(&z, &t),
            1e-5,
            1e-5,
        );
        let dz = ops::bce_with_logits_backward(&scalar(0.7), &gz, &gt).unwrap();
        let want = r::bce_with_logits_backward(&Array::new(&[], vec![0.7]), &z, &t);
        assert_close(
            &format!("bce_with_logits_backward {shape:?}"),
            &dz,
            &want,
            4.0 * EPS * want.data.iter().fold(0.0, |m, v| v.abs().max(m)),
            4.0 * EPS,
        );
    }
}

#[test]
pub fn bce_on_probabilities_clamps_like_keras() {
    let p = Array::from_f32(&[8], &[0.0, 1e-9, 0.01, 0.3, 0.5, 0.99, 1.0 - 1e-9, 1.0]);
    let t = Array::from_f32(&[8], &[0.0, 1.0, 1.0, 0.2, 0.5, 0.0, 1.0, 0.0]);
    let (gp, gt) = (upload(&p), upload(&t));
    // ln(1e-7) ≈ -16 is the largest term; 1e-5 covers its f32 rounding.
    assert_close(
        "bce extremes",
        &ops::bce(&gp, &gt).unwrap(),
        &r::bce(&p, &t),
        1e-5,
        1e-5,
    );
    let dp = ops::bce_backward(&scalar(1.0), &gp, &gt).unwrap();
    assert_close(
        "bce_backward extremes",
        &dp,
        &r::bce_backward(&Array::new(&[], vec![1.0]), &p, &t),
        1e-6,
        1e-5,
    );
    for (i, shape) in [&[1usize][..], &[7, 13], &[100_003]]
        .into_iter()
        .enumerate()
    {
        let p = random_array(&mut rng(920 + i as u64), shape, 0.001, 0.999);
        let t = random_array(&mut rng(930 + i as u64), shape, 0.0, 1.0);
        let (gp, gt) = (upload(&p), upload(&t));
        assert_close(
            &format!("bce {shape:?}"),
            &ops::bce(&gp, &gt).unwrap(),
            &r::bce(&p, &t),
            1e-5,
            1e-5,
        );
        let dp = ops::bce_backward(&scalar(0.5), &gp, &gt).unwrap();
        assert_close(
            &format!("bce_backward {shape:?}"),
            &dp,
            &r::bce_backward(&Array::new(&[], vec![0.5]), &p, &t),
            1e-6,
            1e-5,
        );
    }
}

fn labels(n: usize, classes: usize, seed: u64) -> Array {
    let draws = random_array(&mut rng(seed), &[n], 0.0, classes as f32);
    draws.map(f64::floor)
}

#[test]
pub fn softmax_cross_entropy_matches_reference() {
    for (i, (n, c)) in [(1usize, 10usize), (67, 10), (10_000, 7)]
        .into_iter()
        .enumerate()
    {
        let z = random_array(&mut rng(940 + i as u64), &[n, c], -20.0, 20.0);
        let y = labels(n, c, 950 + i as u64);
        let (gz, gy) = (upload(&z), upload(&y));
        let loss = ops::softmax_cross_entropy(&gz, &gy).unwrap();
        assert_close(
            &format!("softmax_ce ({n}, {c})"),
            &loss,
            &r::softmax_cross_entropy(&z, &y),
            1e-5,
            1e-5,
        );
        let dz = ops::softmax_cross_entropy_backward(&scalar(1.3), &gz, &gy).unwrap();
        let want = r::softmax_cross_entropy_backward(&Array::new(&[], vec![1.3]), &z, &y);
        assert_close(
            &format!("softmax_ce_backward ({n}, {c})"),
            &dz,
            &want,
            1e-6 / n as f64,
            1e-5,
        );
    }
}

/// Rows of random probabilities (summing to 1), one-hot rows, and uniform rows.
fn target_rows(n: usize, c: usize, seed: u64) -> Array {
    let raw = random_array(&mut rng(seed), &[n, c], 0.0, 1.0);
    let mut data = Vec::with_capacity(n * c);
    for (row, values) in raw.data.chunks(c).enumerate() {
        let sum: f64 = values.iter().sum();
        data.extend(values.iter().enumerate().map(|(j, v)| match row % 3 {
            0 => (v / sum) as f32,
            1 => f32::from(j == row % c),
            _ => 1.0 / c as f32,
        }));
    }
    Array::from_f32(&[n, c], &data)
}

#[test]
pub fn soft_target_softmax_cross_entropy_matches_reference() {
    // The same bounds as the hard-label loss: each row's terms are at most ~40 (logits
    // in ±20) and are summed in f32, then averaged.
    for (i, (n, c)) in [(1usize, 10usize), (67, 10), (10_000, 7)]
        .into_iter()
        .enumerate()
    {
        let z = random_array(&mut rng(960 + i as u64), &[n, c], -20.0, 20.0);
        let t = target_rows(n, c, 970 + i as u64);
        let (gz, gt) = (upload(&z), upload(&t));
        assert_close(
            &format!("softmax_ce_soft ({n}, {c})"),
            &ops::softmax_cross_entropy_soft(&gz, &gt).unwrap(),
            &r::softmax_cross_entropy_soft(&z, &t),
            1e-5,
            1e-5,
        );
        let dz = ops::softmax_cross_entropy_soft_backward(&scalar(1.3), &gz, &gt).unwrap();
        let want = r::softmax_cross_entropy_soft_backward(&Array::new(&[], vec![1.3]), &z, &t);
        assert_close(
            &format!("softmax_ce_soft_backward ({n}, {c})"),
            &dz,
            &want,
            1e-6 / n as f64,
            1e-5,
        );
    }
}

// Reads values back to compute on them, which the browser can only await.
#[cfg(not(target_arch = "wasm32"))]
#[test]
pub fn soft_targets_agree_with_hard_labels_when_one_hot() {
    let (n, c) = (33, 10);
    let z = random_array(&mut rng(980), &[n, c], -5.0, 5.0);
    let y = labels(n, c, 981);
    let onehot: Vec<f32> = (0..n * c)
        .map(|i| f32::from(i % c == y.data[i / c] as usize))
        .collect();
    let onehot = upload(&Array::from_f32(&[n, c], &onehot));
    let soft = ops::softmax_cross_entropy_soft(&upload(&z), &onehot).unwrap();
    let hard = ops::softmax_cross_entropy(&upload(&z), &upload(&y)).unwrap();
    let (soft, hard) = (soft.to_vec().unwrap()[0], hard.to_vec().unwrap()[0]);
    assert!((soft - hard).abs() < 1e-5, "soft {soft}, hard {hard}");
}

// Reads values back to compute on them, which the browser can only await.
#[cfg(not(target_arch = "wasm32"))]
#[test]
pub fn a_label_out_of_range_makes_the_loss_nan() {
    let z = upload(&Array::from_f32(&[2, 3], &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]));
    for bad in [3.0, -1.0, 0.5] {
        let y = upload(&Array::from_f32(&[2], &[0.0, bad]));
        let loss = ops::softmax_cross_entropy(&z, &y)
            .unwrap()
            .to_vec()
            .unwrap()[0];
        assert!(loss.is_nan(), "label {bad} gave loss {loss}");
    }
}

#[test]
pub fn loss_shape_errors() {
    let a = ops::zeros(gpu(), &[4, 1]).unwrap();
    let b = ops::zeros(gpu(), &[4]).unwrap();
    assert!(ops::bce_with_logits(&a, &b).is_err());
    assert!(
        ops::bce_with_logits_backward(&a, &a, &a).is_err(),
        "dloss must be one value"
    );
    assert!(ops::softmax_cross_entropy(&a, &ops::zeros(gpu(), &[3]).unwrap()).is_err());
    let logits = ops::zeros(gpu(), &[4, 3]).unwrap();
    assert!(
        ops::softmax_cross_entropy_soft(&logits, &ops::zeros(gpu(), &[4, 2]).unwrap()).is_err()
    );
}
