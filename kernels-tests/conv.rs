//! GPU conv2d and conv_transpose2d, forward and every gradient, against the CPU
//! reference's direct loops.
//!
//! Tolerance: each output is a K-term f32 dot product of values in [-1, 1] (K is
//! Cin·KH·KW, Cout·KH·KW or N·Ho·Wo depending on the pass), so as for matmul,
//! atol = 4·K·ε with 4ε relative.

use crate::common::{
    ACTIVATION_ATOL, ACTIVATIONS, EPS, assert_close, conv_gpus, random_array, rng, upload_to,
};
use duel::reference as r;
use duel::reference::Array;
use duel::{Activation, Tensor};
use duel::{Conv2dSpec, ConvTranspose2dSpec, Padding, TransposePadding, ops};

/// Each case runs on every context of `conv_gpus`: the adapter's own GEMM plans and
/// forced ones, so every kind of core and split-K meets every convolution pass. The
/// CPU references, which cost far more than the GPU's work (most in the browser, where
/// they hold the page's one thread), are computed once for all contexts.
fn check_conv(x_shape: [usize; 4], w_shape: [usize; 4], spec: Conv2dSpec, seed: u64) {
    // The epilogue's activation, a different one from case to case.
    let act = ACTIVATIONS[seed as usize % ACTIVATIONS.len()];
    let mut rng = rng(seed);
    let x = random_array(&mut rng, &x_shape, -1.0, 1.0);
    let w = random_array(&mut rng, &w_shape, -1.0, 1.0);
    let bias = random_array(&mut rng, &[w_shape[0]], -1.0, 1.0);
    let g = spec.geometry(&x_shape, &w_shape).unwrap();
    let dy = random_array(&mut rng, &g.output_shape(), -1.0, 1.0);
    let taps = (g.kh * g.kw) as f64;
    let fwd_tol = 4.0 * g.cin as f64 * taps * EPS;
    let grad_tol = 4.0 * (g.n * g.ho * g.wo) as f64 * EPS;
    let wants = [
        (
            "forward".to_string(),
            r::conv2d(&x, &w, None, &spec, Activation::Identity),
            fwd_tol,
        ),
        (
            format!("forward+bias {act:?}"),
            r::conv2d(&x, &w, Some(&bias), &spec, act),
            fwd_tol + ACTIVATION_ATOL,
        ),
        (
            "input grad".to_string(),
            r::conv2d_backward_input(&dy, &w, &x_shape, &spec),
            4.0 * g.cout as f64 * taps * EPS,
        ),
        (
            "weight grad".to_string(),
            r::conv2d_backward_weight(&dy, &x, &w_shape, &spec),
            grad_tol,
        ),
        (
            "bias grad".to_string(),
            r::conv2d_backward_bias(&dy),
            grad_tol,
        ),
    ];
    let what = format!("conv2d x {x_shape:?} w {w_shape:?} {spec:?}");
    check_on_every_context(
        &what,
        [&x, &w, &bias, &dy],
        &wants,
        |[gx, gw, gbias, gdy]| {
            [
                ops::conv2d(gx, gw, None, &spec, Activation::Identity),
                ops::conv2d(gx, gw, Some(gbias), &spec, act),
                ops::conv2d_backward_input(gdy, gw, &x_shape, &spec),
                ops::conv2d_backward_weight(gdy, gx, &w_shape, &spec),
                ops::conv2d_backward_bias(gdy),
            ]
        },
    );
}

/// Uploads `inputs` (x, w, bias, dy) to each context of `conv_gpus`, runs the passes
/// there, and checks each pass's result against its reference, with 4ε relative.
fn check_on_every_context<const N: usize>(
    what: &str,
    inputs: [&Array; 4],
    wants: &[(String, Array, f64); N],
    passes: impl Fn([&Tensor; 4]) -> [duel::Result<Tensor>; N],
) {
    for (i, gpu) in conv_gpus().into_iter().enumerate() {
        let uploaded = inputs.map(|a| upload_to(gpu, a));
        let gots = passes(uploaded.each_ref());
        for (got, (pass, want, atol)) in gots.into_iter().zip(wants) {
            let what = format!("context {i}: {what} {pass}");
            assert_close(&what, &got.unwrap(), want, *atol, 4.0 * EPS);
        }
    }
}

fn check_conv_transpose(
    x_shape: [usize; 4],
    w_shape: [usize; 4],
    spec: ConvTranspose2dSpec,
    out_hw: [usize; 2],
    seed: u64,
) {
    // The epilogue's activation, a different one from case to case.
    let act = ACTIVATIONS[seed as usize % ACTIVATIONS.len()];
    let mut rng = rng(seed);
    let x = random_array(&mut rng, &x_shape, -1.0, 1.0);
    let w = random_array(&mut rng, &w_shape, -1.0, 1.0);
    let bias = random_array(&mut rng, &[w_shape[1]], -1.0, 1.0);
    let g = spec.geometry(&x_shape, &w_shape).unwrap();
    let y_shape = g.input_shape();
    assert_eq!(
        [y_shape[2], y_shape[3]],
        out_hw,
        "conv_transpose2d output size for {spec:?}"
    );
    let dy = random_array(&mut rng, &y_shape, -1.0, 1.0);
    let taps = (g.kh * g.kw) as f64;
    let fwd_tol = 4.0 * x_shape[1] as f64 * taps * EPS;
    let grad_tol = 4.0 * (x_shape[0] * x_shape[2] * x_shape[3]) as f64 * EPS;
    let wants = [
        (
            "forward".to_string(),
            r::conv_transpose2d(&x, &w, None, &spec, Activation::Identity),
            fwd_tol,
        ),
        (
            format!("forward+bias {act:?}"),
            r::conv_transpose2d(&x, &w, Some(&bias), &spec, act),
            fwd_tol + ACTIVATION_ATOL,
        ),
        (
            "input grad".to_string(),
            r::conv_transpose2d_backward_input(&dy, &w, &x_shape, &spec),
            4.0 * w_shape[1] as f64 * taps * EPS,
        ),
        (
            "weight grad".to_string(),
            r::conv_transpose2d_backward_weight(&dy, &x, &w_shape, &spec),
            grad_tol,
        ),
    ];
    let what = format!("conv_transpose2d x {x_shape:?} w {w_shape:?} {spec:?}");
    check_on_every_context(
        &what,
        [&x, &w, &bias, &dy],
        &wants,
        |[gx, gw, gbias, gdy]| {
            [
                ops::conv_transpose2d(gx, gw, None, &spec, Activation::Identity),
                ops::conv_transpose2d(gx, gw, Some(gbias), &spec, act),
                ops::conv_transpose2d_backward_input(gdy, gw, &x_shape, &spec),
                ops::conv_transpose2d_backward_weight(gdy, gx, &w_shape, &spec),
            ]
        },
    );
}

#[test]
pub fn conv2d_small_and_odd_shapes_match_reference() {
    let cases: [([usize; 4], [usize; 4], Conv2dSpec); 5] = [
        // batch 1, Keras "same"
        (
            [1, 3, 7, 9],
            [5, 3, 3, 3],
            Conv2dSpec::new(1, Padding::Same),
        ),
        // stride 2, "valid", 5×5 kernel
        (
            [2, 4, 13, 11],
            [6, 4, 5, 5],
            Conv2dSpec::new(2, Padding::Valid),
        ),
        // stride 3 with asymmetric padding and a non-square kernel
        (
            [3, 2, 10, 8],
            [3, 2, 3, 2],
            Conv2dSpec::new(
                3,
                Padding::Explicit {
                    top: 1,
                    bottom: 2,
                    left: 0,
                    right: 1,
                },
            ),
        ),
        // DCGAN's discriminator: 4×4, stride 2, padding 1
        (
            [4, 1, 28, 28],
            [8, 1, 4, 4],
            Conv2dSpec::new(2, Padding::symmetric(1)),
        ),
        // stride 4, 1×1 kernel, "same" with a remainder
        (
            [2, 3, 9, 10],
            [2, 3, 1, 1],
            Conv2dSpec::new(4, Padding::Same),
        ),
    ];
    for (i, (x, w, spec)) in cases.into_iter().enumerate() {
        check_conv(x, w, spec, 500 + i as u64);
    }
}

#[test]
pub fn conv2d_large_matches_reference() {
    check_conv(
        [16, 64, 14, 14],
        [128, 64, 5, 5],
        Conv2dSpec::new(2, Padding::Same),
        510,
    );
}

/// Input shape, weight shape, spec, and the output height and width it must give.
type TransposeCase = ([usize; 4], [usize; 4], ConvTranspose2dSpec, [usize; 2]);

#[test]
pub fn conv_transpose2d_small_and_odd_shapes_match_reference() {
    let cases: [TransposeCase; 5] = [
        // batch 1, stride 1, padding 1
        (
            [1, 3, 4, 5],
            [3, 2, 3, 3],
            ConvTranspose2dSpec::torch(1, 1, 0),
            [4, 5],
        ),
        // DCGAN's generator: 4×4, stride 2, padding 1 doubles 7×7
        (
            [2, 8, 7, 7],
            [8, 4, 4, 4],
            ConvTranspose2dSpec::torch(2, 1, 0),
            [14, 14],
        ),
        // Keras "same", stride 2, 5×5 kernel
        (
            [2, 5, 5, 6],
            [5, 3, 5, 5],
            ConvTranspose2dSpec::new(2, TransposePadding::Same),
            [10, 12],
        ),
        // output_padding 1
        (
            [1, 2, 5, 5],
            [2, 3, 3, 3],
            ConvTranspose2dSpec::torch(2, 1, 1),
            [10, 10],
        ),
        // stride 3, output_padding 2, no padding
        (
            [2, 2, 4, 3],
            [2, 2, 3, 3],
            ConvTranspose2dSpec::torch(3, 0, 2),
            [14, 11],
        ),
    ];
    for (i, (x, w, spec, out)) in cases.into_iter().enumerate() {
        check_conv_transpose(x, w, spec, out, 600 + i as u64);
    }
}

#[test]
pub fn conv_transpose2d_large_matches_reference() {
    check_conv_transpose(
        [16, 128, 7, 7],
        [128, 64, 5, 5],
        ConvTranspose2dSpec::new(2, TransposePadding::Same),
        [14, 14],
        610,
    );
}
