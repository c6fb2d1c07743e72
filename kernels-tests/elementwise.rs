//! GPU elementwise ops against the CPU reference.
//!
//! Tolerance: add, mul, scale, ReLU and LeakyReLU are one rounding of exact inputs,
//! within ε·|ref|; tanh and sigmoid go through exp, which WGSL lets a driver compute
//! to a few ulp, so they get 8ε absolute (their outputs lie within [-1, 1]).

use crate::common::{EPS, assert_close, random_array, rng, upload};
use duel::reference::{self as r, Array};
use duel::{Activation, Tensor, ops};

/// Batch 1, odd shapes, and one large enough to need a 2-D grid (over 65,535 groups of 256).
const SHAPES: &[&[usize]] = &[
    &[1],
    &[1, 17],
    &[7, 13, 29],
    &[127, 255, 63],
    &[65_535 * 256 + 77],
];

/// Every activation, with the absolute tolerances of its forward and its backward:
/// none for the piecewise-linear ones; for tanh and sigmoid, 8ε forward (see above)
/// and 4ε backward (dy·(1 - y²) and dy·y·(1 - y) of exact inputs: a few roundings of
/// values within [-2, 2]).
const ACTIVATIONS: [(Activation, f64, f64); 5] = [
    (Activation::Identity, 0.0, 0.0),
    (Activation::Relu, 0.0, 0.0),
    (Activation::LeakyRelu(0.2), 0.0, 0.0),
    (Activation::Tanh, 8.0 * EPS, 4.0 * EPS),
    (Activation::Sigmoid, 8.0 * EPS, 4.0 * EPS),
];

type GpuBinary = fn(&Tensor, &Tensor) -> duel::Result<Tensor>;
type CpuBinary = fn(&Array, &Array) -> Array;

fn each_shape(seed: u64, mut f: impl FnMut(&[usize], &mut rand::rngs::StdRng)) {
    for (i, shape) in SHAPES.iter().enumerate() {
        f(shape, &mut rng(seed + i as u64));
    }
}

#[test]
pub fn unary_forward_ops_match_reference() {
    each_shape(10, |shape, rng| {
        // Wide inputs reach the saturated ends of tanh and sigmoid.
        let x = random_array(rng, shape, -30.0, 30.0);
        let gx = upload(&x);
        for (act, atol, _) in ACTIVATIONS {
            assert_close(
                &format!("activation {act:?} {shape:?}"),
                &ops::activation(&gx, act).unwrap(),
                &r::activation(&x, act),
                atol,
                EPS,
            );
        }
        assert_close(
            &format!("scale {shape:?}"),
            &ops::scale(&gx, -0.3).unwrap(),
            &r::scale(&x, -0.3),
            0.0,
            EPS,
        );
    });
}

/// WGSL's inverseSqrt is within 2 ulp, after one rounding of x + eps: 4ε relative.
#[test]
pub fn rsqrt_matches_reference() {
    each_shape(20, |shape, rng| {
        let x = random_array(rng, shape, 0.0, 50.0);
        for eps in [1e-5, 1e-3] {
            assert_close(
                &format!("rsqrt {shape:?} eps {eps}"),
                &ops::rsqrt(&upload(&x), eps).unwrap(),
                &r::rsqrt(&x, eps),
                0.0,
                4.0 * EPS,
            );
        }
    });
}

/// a + t·(b - a) rounds three times, each within ε of values up to 5 in size: 16ε
/// absolute covers them.
#[test]
pub fn lerp_assign_matches_reference() {
    each_shape(30, |shape, rng| {
        let a = random_array(rng, shape, -5.0, 5.0);
        let b = random_array(rng, shape, -5.0, 5.0);
        for t in [0.001, 0.5] {
            let acc = upload(&a);
            ops::lerp_assign(&acc, &upload(&b), t).unwrap();
            let mut want = a.clone();
            r::lerp_assign(&mut want, &b, t);
            let what = format!("lerp_assign {shape:?} t {t}");
            assert_close(&what, &acc, &want, 16.0 * EPS, EPS);
        }
    });
}

#[test]
pub fn binary_and_backward_ops_match_reference() {
    let cases: [(&str, GpuBinary, CpuBinary, f64); 4] = [
        ("add", ops::add, r::add, 0.0),
        ("sub", ops::sub, r::sub, 0.0),
        ("mul", ops::mul, r::mul, 0.0),
        (
            "add_assign",
            |a, b| {
                let acc = ops::scale(a, 1.0)?;
                ops::add_assign(&acc, b)?;
                Ok(acc)
            },
            r::add,
            0.0,
        ),
    ];
    each_shape(20, |shape, rng| {
        let a = random_array(rng, shape, -2.0, 2.0);
        // The backward of tanh and sigmoid takes the forward output, which lies in (-1, 1).
        let b = random_array(rng, shape, -1.0, 1.0);
        let (ga, gb) = (upload(&a), upload(&b));
        for (name, gpu_op, cpu_op, atol) in cases {
            assert_close(
                &format!("{name} {shape:?}"),
                &gpu_op(&ga, &gb).unwrap(),
                &cpu_op(&a, &b),
                atol,
                2.0 * EPS,
            );
        }
        for (act, _, atol) in ACTIVATIONS {
            assert_close(
                &format!("activation_backward {act:?} {shape:?}"),
                &ops::activation_backward(&ga, &gb, act).unwrap(),
                &r::activation_backward(&a, &b, act),
                atol,
                2.0 * EPS,
            );
        }
    });
}

#[test]
pub fn sigmoid_and_tanh_stay_finite_at_extremes() {
    let x = Array::from_f32(&[6], &[-100.0, -88.0, -1e-30, 1e-30, 88.0, 100.0]);
    let gx = upload(&x);
    for act in [Activation::Sigmoid, Activation::Tanh] {
        assert_close(
            &format!("{act:?} extremes"),
            &ops::activation(&gx, act).unwrap(),
            &r::activation(&x, act),
            8.0 * EPS,
            EPS,
        );
    }
}
