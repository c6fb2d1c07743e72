//! GPU elementwise ops against the CPU reference.
//!
//! Tolerance: add, mul, scale, ReLU and LeakyReLU are one rounding of exact inputs,
//! within ε·|ref|; tanh and sigmoid go through exp, which WGSL lets a driver compute
//! to a few ulp, so they get 8ε absolute (their outputs lie within [-1, 1]).

use crate::common::{EPS, assert_close, random_array, rng, upload};
use duel::reference::{self as r, Array};
use duel::{Tensor, ops};

/// Batch 1, odd shapes, and one large enough to need a 2-D grid (over 65,535 groups of 256).
const SHAPES: &[&[usize]] = &[
    &[1],
    &[1, 17],
    &[7, 13, 29],
    &[127, 255, 63],
    &[65_535 * 256 + 77],
];

type GpuUnary = fn(&Tensor) -> duel::Result<Tensor>;
type CpuUnary = fn(&Array) -> Array;
type GpuBinary = fn(&Tensor, &Tensor) -> duel::Result<Tensor>;
type CpuBinary = fn(&Array, &Array) -> Array;

fn each_shape(seed: u64, mut f: impl FnMut(&[usize], &mut rand::rngs::StdRng)) {
    for (i, shape) in SHAPES.iter().enumerate() {
        f(shape, &mut rng(seed + i as u64));
    }
}

#[test]
fn unary_forward_ops_match_reference() {
    let cases: [(&str, GpuUnary, CpuUnary, f64); 4] = [
        ("relu", ops::relu, r::relu, 0.0),
        ("tanh", ops::tanh, r::tanh, 8.0 * EPS),
        ("sigmoid", ops::sigmoid, r::sigmoid, 8.0 * EPS),
        (
            "leaky_relu(0.2)",
            |x| ops::leaky_relu(x, 0.2),
            |x| r::leaky_relu(x, 0.2),
            0.0,
        ),
    ];
    each_shape(10, |shape, rng| {
        // Wide inputs reach the saturated ends of tanh and sigmoid.
        let x = random_array(rng, shape, -30.0, 30.0);
        let gx = upload(&x);
        for (name, gpu_op, cpu_op, atol) in cases {
            assert_close(
                &format!("{name} {shape:?}"),
                &gpu_op(&gx).unwrap(),
                &cpu_op(&x),
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
fn rsqrt_matches_reference() {
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
fn lerp_assign_matches_reference() {
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
fn binary_and_backward_ops_match_reference() {
    let cases: [(&str, GpuBinary, CpuBinary, f64); 8] = [
        ("add", ops::add, r::add, 0.0),
        ("sub", ops::sub, r::sub, 0.0),
        ("mul", ops::mul, r::mul, 0.0),
        ("relu_backward", ops::relu_backward, r::relu_backward, 0.0),
        (
            "leaky_relu_backward",
            |a, b| ops::leaky_relu_backward(a, b, 0.2),
            |a, b| r::leaky_relu_backward(a, b, 0.2),
            0.0,
        ),
        (
            "tanh_backward",
            ops::tanh_backward,
            r::tanh_backward,
            4.0 * EPS,
        ),
        (
            "sigmoid_backward",
            ops::sigmoid_backward,
            r::sigmoid_backward,
            4.0 * EPS,
        ),
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
        // Backward kernels of tanh and sigmoid take the forward output, which lies in (-1, 1).
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
    });
}

#[test]
fn sigmoid_and_tanh_stay_finite_at_extremes() {
    let x = Array::from_f32(&[6], &[-100.0, -88.0, -1e-30, 1e-30, 88.0, 100.0]);
    let gx = upload(&x);
    assert_close(
        "sigmoid extremes",
        &ops::sigmoid(&gx).unwrap(),
        &r::sigmoid(&x),
        8.0 * EPS,
        EPS,
    );
    assert_close(
        "tanh extremes",
        &ops::tanh(&gx).unwrap(),
        &r::tanh(&x),
        8.0 * EPS,
        EPS,
    );
}
