//! Finite-difference checks, in f64, of every backward reference.
//!
//! For an op y = f(x) and a random upstream gradient dy, the loss L = Σ dy·f(x) has
//! dL/dx = backward(dy, x). Central differences with h = 1e-6 have truncation error
//! O(h²) ≈ 1e-12 and rounding error about ε64·|L|/h ≈ 1e-9 for |L| ≲ 10, so 1e-6
//! absolute plus relative separates a right gradient from a wrong one by orders of magnitude.

use crate::common::{random_array, rng};
use duel::Activation;
use duel::reference::{self as r, Array};

const H: f64 = 1e-6;
const TOL: f64 = 1e-6;

fn dot(a: &Array, b: &Array) -> f64 {
    a.data.iter().zip(&b.data).map(|(x, y)| x * y).sum()
}

/// Checks `analytic` against the numerical gradient of Σ dy·f(x) with respect to x.
pub fn check(what: &str, f: impl Fn(&Array) -> Array, x: &Array, dy: &Array, analytic: &Array) {
    assert_eq!(analytic.shape, x.shape, "{what}: gradient shape");
    for i in 0..x.numel() {
        let mut plus = x.clone();
        plus.data[i] += H;
        let mut minus = x.clone();
        minus.data[i] -= H;
        let numeric = (dot(dy, &f(&plus)) - dot(dy, &f(&minus))) / (2.0 * H);
        let diff = (numeric - analytic.data[i]).abs();
        assert!(
            diff <= TOL * (1.0 + numeric.abs()),
            "{what}: d/dx[{i}] analytic {} vs numeric {numeric} (diff {diff:e})",
            analytic.data[i]
        );
    }
}

/// Inputs kept away from 0, where ReLU and LeakyReLU have their kink.
fn away_from_zero(shape: &[usize], seed: u64) -> Array {
    random_array(&mut rng(seed), shape, -2.0, 2.0).map(|v| if v.abs() < 0.05 { v + 0.1 } else { v })
}

#[test]
pub fn activations_backward_match_finite_differences() {
    let x = away_from_zero(&[3, 7], 1);
    let dy = random_array(&mut rng(2), &[3, 7], -1.0, 1.0);
    for act in [
        Activation::Relu,
        Activation::LeakyRelu(0.2),
        Activation::Tanh,
        Activation::Sigmoid,
    ] {
        let at = match act.backward_reads_input() {
            true => x.clone(),
            false => r::activation(&x, act),
        };
        let forward = |x: &Array| r::activation(x, act);
        let dx = r::activation_backward(&dy, &at, act);
        check(&format!("{act:?}"), forward, &x, &dy, &dx);
    }
}

#[test]
pub fn add_mul_scale_backward_match_finite_differences() {
    let a = random_array(&mut rng(3), &[4, 5], -1.0, 1.0);
    let b = random_array(&mut rng(4), &[4, 5], -1.0, 1.0);
    let dy = random_array(&mut rng(5), &[4, 5], -1.0, 1.0);
    // add: both gradients are dy; mul: dy·b and dy·a; scale: s·dy.
    check("add/a", |a| r::add(a, &b), &a, &dy, &dy);
    check("add/b", |b| r::add(&a, b), &b, &dy, &dy);
    check("mul/a", |a| r::mul(a, &b), &a, &dy, &r::mul(&dy, &b));
    check("mul/b", |b| r::mul(&a, b), &b, &dy, &r::mul(&dy, &a));
    check(
        "scale",
        |x| r::scale(x, 0.75),
        &a,
        &dy,
        &r::scale(&dy, 0.75),
    );
}

#[test]
pub fn matmul_backward_matches_finite_differences() {
    let a = random_array(&mut rng(6), &[3, 4], -1.0, 1.0);
    let b = random_array(&mut rng(7), &[4, 5], -1.0, 1.0);
    let bias = random_array(&mut rng(8), &[5], -1.0, 1.0);
    let dc = random_array(&mut rng(9), &[3, 5], -1.0, 1.0);
    let (da, db) = r::matmul_backward(&dc, &a, &b);
    check("matmul/a", |a| r::matmul(a, &b), &a, &dc, &da);
    check("matmul/b", |b| r::matmul(&a, b), &b, &dc, &db);
    // The bias gradient of a Dense layer is the upstream gradient summed over the batch.
    check(
        "dense/bias",
        |bias| r::dense(&a, &b, Some(bias), Activation::Identity),
        &bias,
        &dc,
        &r::sum_axis(&dc, 0),
    );
}

#[test]
pub fn reduction_backward_matches_finite_differences() {
    let x = random_array(&mut rng(10), &[3, 4, 5], -1.0, 1.0);
    for axis in 0..3 {
        let mut reduced = x.shape.clone();
        reduced.remove(axis);
        let dy = random_array(&mut rng(11 + axis as u64), &reduced, -1.0, 1.0);
        check(
            "sum_axis",
            |x| r::sum_axis(x, axis),
            &x,
            &dy,
            &r::sum_axis_backward(&dy, &x.shape, axis),
        );
        check(
            "mean_axis",
            |x| r::mean_axis(x, axis),
            &x,
            &dy,
            &r::mean_axis_backward(&dy, &x.shape, axis),
        );
    }
    let dy = Array::new(&[], vec![0.7]);
    check("sum", r::sum, &x, &dy, &r::sum_backward(&dy, &x.shape));
    check("mean", r::mean, &x, &dy, &r::mean_backward(&dy, &x.shape));
}

#[test]
pub fn conv2d_backward_matches_finite_differences() {
    use duel::{Conv2dSpec, Padding};
    let specs = [
        Conv2dSpec::new(
            2,
            Padding::Explicit {
                top: 1,
                bottom: 0,
                left: 1,
                right: 1,
            },
        ),
        Conv2dSpec::new(1, Padding::Same),
    ];
    for (i, spec) in specs.iter().enumerate() {
        let seed = 20 + 4 * i as u64;
        let x = random_array(&mut rng(seed), &[2, 2, 5, 4], -1.0, 1.0);
        let w = random_array(&mut rng(seed + 1), &[3, 2, 3, 2], -1.0, 1.0);
        let bias = random_array(&mut rng(seed + 2), &[3], -1.0, 1.0);
        let y = r::conv2d(&x, &w, Some(&bias), spec, Activation::Identity);
        let dy = random_array(&mut rng(seed + 3), &y.shape, -1.0, 1.0);
        check(
            "conv2d/x",
            |x| r::conv2d(x, &w, Some(&bias), spec, Activation::Identity),
            &x,
            &dy,
            &r::conv2d_backward_input(&dy, &w, &x.shape, spec),
        );
        check(
            "conv2d/w",
            |w| r::conv2d(&x, w, Some(&bias), spec, Activation::Identity),
            &w,
            &dy,
            &r::conv2d_backward_weight(&dy, &x, &w.shape, spec),
        );
        check(
            "conv2d/bias",
            |b| r::conv2d(&x, &w, Some(b), spec, Activation::Identity),
            &bias,
            &dy,
            &r::conv2d_backward_bias(&dy),
        );
    }
}

#[test]
pub fn conv_transpose2d_backward_matches_finite_differences() {
    use duel::{ConvTranspose2dSpec, TransposePadding};
    let specs = [
        ConvTranspose2dSpec::torch(2, 1, 1),
        ConvTranspose2dSpec::new(2, TransposePadding::Same),
    ];
    for (i, spec) in specs.iter().enumerate() {
        let seed = 40 + 4 * i as u64;
        let x = random_array(&mut rng(seed), &[2, 2, 3, 3], -1.0, 1.0);
        let w = random_array(&mut rng(seed + 1), &[2, 3, 3, 3], -1.0, 1.0);
        let bias = random_array(&mut rng(seed + 2), &[3], -1.0, 1.0);
        let y = r::conv_transpose2d(&x, &w, Some(&bias), spec, Activation::Identity);
        let dy = random_array(&mut rng(seed + 3), &y.shape, -1.0, 1.0);
        check(
            "convT/x",
            |x| r::conv_transpose2d(x, &w, Some(&bias), spec, Activation::Identity),
            &x,
            &dy,
            &r::conv_transpose2d_backward_input(&dy, &w, &x.shape, spec),
        );
        check(
            "convT/w",
            |w| r::conv_transpose2d(&x, w, Some(&bias), spec, Activation::Identity),
            &w,
            &dy,
            &r::conv_transpose2d_backward_weight(&dy, &x, &w.shape, spec),
        );
        check(
            "convT/bias",
            |b| r::conv_transpose2d(&x, &w, Some(b), spec, Activation::Identity),
            &bias,
            &dy,
            &r::conv2d_backward_bias(&dy),
        );
    }
}

#[test]
pub fn dropout_and_upsample_backward_match_finite_differences() {
    let x = random_array(&mut rng(60), &[2, 3, 2, 3], -1.0, 1.0);
    let dy = random_array(&mut rng(61), &[2, 3, 2, 3], -1.0, 1.0);
    check(
        "dropout",
        |x| r::dropout(x, 0.4, 5, 6),
        &x,
        &dy,
        &r::dropout_backward(&dy, 0.4, 5, 6),
    );
    for factor in [(2, 2), (3, 1)] {
        let up = r::upsample(&x, factor);
        let dy = random_array(&mut rng(62), &up.shape, -1.0, 1.0);
        check(
            "upsample",
            |x| r::upsample(x, factor),
            &x,
            &dy,
            &r::upsample_backward(&dy, factor),
        );
    }
}

#[test]
pub fn loss_backward_matches_finite_differences() {
    let dloss = Array::new(&[], vec![0.8]);
    let z = random_array(&mut rng(70), &[5, 3], -4.0, 4.0);
    let t = random_array(&mut rng(71), &[5, 3], 0.0, 1.0);
    check(
        "bce_with_logits",
        |z| r::bce_with_logits(z, &t),
        &z,
        &dloss,
        &r::bce_with_logits_backward(&dloss, &z, &t),
    );
    let p = random_array(&mut rng(72), &[5, 3], 0.05, 0.95);
    check(
        "bce",
        |p| r::bce(p, &t),
        &p,
        &dloss,
        &r::bce_backward(&dloss, &p, &t),
    );
    let labels = random_array(&mut rng(73), &[5], 0.0, 3.0).map(f64::floor);
    check(
        "softmax_cross_entropy",
        |z| r::softmax_cross_entropy(z, &labels),
        &z,
        &dloss,
        &r::softmax_cross_entropy_backward(&dloss, &z, &labels),
    );
    // Targets whose rows need not sum to 1, so the softmax·Σt term is exercised.
    check(
        "softmax_cross_entropy_soft",
        |z| r::softmax_cross_entropy_soft(z, &t),
        &z,
        &dloss,
        &r::softmax_cross_entropy_soft_backward(&dloss, &z, &t),
    );
}

#[test]
pub fn batch_norm_backward_matches_finite_differences() {
    let config = duel::BatchNormConfig::default();
    for shape in [&[3usize, 2, 2, 3][..], &[4, 3]] {
        let c = shape[1];
        let x = random_array(&mut rng(80), shape, -2.0, 2.0);
        let gamma = random_array(&mut rng(81), &[c], 0.5, 1.5);
        let beta = random_array(&mut rng(82), &[c], -0.5, 0.5);
        let dy = random_array(&mut rng(83), shape, -1.0, 1.0);
        // Training mode; the running statistics are side effects, so each call gets fresh ones.
        let forward = |x: &Array, gamma: &Array, beta: &Array| {
            let (mut rm, mut rv) = (r::zeros(&[c]), r::full(&[c], 1.0));
            r::batch_norm_train(
                x,
                gamma,
                beta,
                &mut rm,
                &mut rv,
                &config,
                Activation::Identity,
            )
            .0
        };
        let (mut rm, mut rv) = (r::zeros(&[c]), r::full(&[c], 1.0));
        let (_, saved) = r::batch_norm_train(
            &x,
            &gamma,
            &beta,
            &mut rm,
            &mut rv,
            &config,
            Activation::Identity,
        );
        let (dx, dgamma, dbeta) = r::batch_norm_backward(&dy, &x, &gamma, &saved);
        check("batch_norm/x", |x| forward(x, &gamma, &beta), &x, &dy, &dx);
        check(
            "batch_norm/gamma",
            |g| forward(&x, g, &beta),
            &gamma,
            &dy,
            &dgamma,
        );
        check(
            "batch_norm/beta",
            |b| forward(&x, &gamma, b),
            &beta,
            &dy,
            &dbeta,
        );
    }
}

/// Synchronised batch norm: a batch of 3 slices, each normalised with the gathered
/// partial statistics of all three (`batch_norm_train_merged`). Its backward
/// (`batch_norm_backward_merged`), given each slice's `dy` as P times its rows of the
/// upstream gradient, must be P times the numerical gradient of the whole output for
/// x, and the numerical gradient itself for γ and β.
#[test]
pub fn merged_batch_norm_backward_matches_finite_differences() {
    let config = duel::BatchNormConfig::default();
    let (parts, n, c, s) = (3, 2, 2, 3);
    let shape = [parts * n, c, 1, s];
    let x = random_array(&mut rng(84), &shape, -2.0, 2.0);
    let gamma = random_array(&mut rng(85), &[c], 0.5, 1.5);
    let beta = random_array(&mut rng(86), &[c], -0.5, 0.5);
    let dy = random_array(&mut rng(87), &shape, -1.0, 1.0);
    let per_slice = n * c * s;
    let slice = |a: &Array, p: usize| {
        let data = a.data[p * per_slice..(p + 1) * per_slice].to_vec();
        Array::new(&[n, c, 1, s], data)
    };
    let gather = |partials: Vec<[Array; 2]>| {
        [0, 1].map(|k| {
            let data = partials.iter().flat_map(|p| p[k].data.clone()).collect();
            Array::new(&[parts, c], data)
        })
    };
    // The whole output, and each slice's saved statistics, as the ranks compute them.
    let forward = |x: &Array, gamma: &Array, beta: &Array| {
        let stats = gather(
            (0..parts)
                .map(|p| r::batch_norm_partial_stats(&slice(x, p)))
                .collect(),
        );
        let mut y = Vec::new();
        let mut saved = Vec::new();
        for p in 0..parts {
            let (mut rm, mut rv) = (r::zeros(&[c]), r::full(&[c], 1.0));
            let (out, kept) = r::batch_norm_train_merged(
                &slice(x, p),
                &stats,
                gamma,
                beta,
                &mut rm,
                &mut rv,
                &config,
                Activation::Identity,
            );
            y.extend(out.data);
            saved.push(kept);
        }
        (Array::new(&shape, y), saved)
    };
    let (_, saved) = forward(&x, &gamma, &beta);
    let own_dy: Vec<Array> = (0..parts)
        .map(|p| slice(&dy, p).map(|v| v * parts as f64))
        .collect();
    let sums = gather(
        (0..parts)
            .map(|p| r::batch_norm_partial_grad(&own_dy[p], &slice(&x, p), &saved[p]))
            .collect(),
    );
    let mut dx = Vec::new();
    for p in 0..parts {
        let (slice_dx, dgamma, dbeta) =
            r::batch_norm_backward_merged(&own_dy[p], &slice(&x, p), &gamma, &saved[p], &sums);
        dx.extend(slice_dx.data.iter().map(|v| v / parts as f64));
        let at = format!("merged batch_norm part {p}");
        check(
            &format!("{at}/gamma"),
            |g| forward(&x, g, &beta).0,
            &gamma,
            &dy,
            &dgamma,
        );
        check(
            &format!("{at}/beta"),
            |b| forward(&x, &gamma, b).0,
            &beta,
            &dy,
            &dbeta,
        );
    }
    let dx = Array::new(&shape, dx);
    check(
        "merged batch_norm/x",
        |x| forward(x, &gamma, &beta).0,
        &x,
        &dy,
        &dx,
    );
}
