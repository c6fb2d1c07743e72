//! GPU conv2d and conv_transpose2d, forward and every gradient, against the CPU
//! reference's direct loops.
//!
//! Tolerance: each output is a K-term f32 dot product of values in [-1, 1] (K is
//! Cin·KH·KW, Cout·KH·KW or N·Ho·Wo depending on the pass), so as for matmul,
//! atol = 4·K·ε with 4ε relative. The input gradient through columns sums the same
//! terms, Cout at a time, then KH·KW at most in col2im.
//!
//! The cases cover both ways the input gradient runs: through columns for at most three
//! input channels (the convolution's Cin; for a transposed convolution, its output
//! channels), by stride phase above that.

use crate::common::{
    ACTIVATION_ATOL, ACTIVATIONS, EPS, assert_close, conv_gpus, random_array, rng, upload,
    upload_to,
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

/// Padding that differs on every side, for the stride-3 cases.
const ASYMMETRIC: Padding = Padding::Explicit {
    top: 1,
    bottom: 2,
    left: 0,
    right: 1,
};

#[test]
pub fn conv2d_small_and_odd_shapes_match_reference() {
    let cases: [([usize; 4], [usize; 4], Conv2dSpec); 6] = [
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
        ([3, 2, 10, 8], [3, 2, 3, 2], Conv2dSpec::new(3, ASYMMETRIC)),
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
        // the stride-3 case with 5 input channels: its input gradient by phase
        ([2, 5, 10, 8], [3, 5, 3, 2], Conv2dSpec::new(3, ASYMMETRIC)),
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
    // DCGAN's first D layer at batch 32, whose input gradient runs through columns.
    check_conv(
        [32, 1, 28, 28],
        [64, 1, 4, 4],
        Conv2dSpec::new(2, Padding::symmetric(1)),
        511,
    );
}

/// Input shape, weight shape, spec, and the output height and width it must give.
type TransposeCase = ([usize; 4], [usize; 4], ConvTranspose2dSpec, [usize; 2]);

#[test]
pub fn conv_transpose2d_small_and_odd_shapes_match_reference() {
    let cases: [TransposeCase; 6] = [
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
        // the same into 5 channels: its forward by phase
        (
            [2, 2, 4, 3],
            [2, 5, 3, 3],
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
    // DCGAN's last G layer at batch 32, whose forward runs through columns.
    check_conv_transpose(
        [32, 64, 14, 14],
        [64, 1, 4, 4],
        ConvTranspose2dSpec::torch(2, 1, 0),
        [28, 28],
        611,
    );
}

/// col2im alone, against the reference's scatter: columns in [-1, 1], each output a
/// sum of at most KH·KW of them, so atol = 4·KH·KW·ε (plus the activation's).
#[test]
pub fn col2im_matches_reference() {
    let cases: [([usize; 4], [usize; 4], Conv2dSpec); 5] = [
        // batch 1, stride 1, "same"
        (
            [1, 2, 5, 7],
            [3, 2, 3, 3],
            Conv2dSpec::new(1, Padding::Same),
        ),
        // DCGAN's 4×4, stride 2, padding 1
        (
            [3, 1, 28, 28],
            [5, 1, 4, 4],
            Conv2dSpec::new(2, Padding::symmetric(1)),
        ),
        // stride 3, asymmetric padding, a non-square kernel, pixels no tap reads
        ([2, 3, 10, 8], [2, 3, 2, 1], Conv2dSpec::new(3, ASYMMETRIC)),
        // taps overlapping across strides (5×5, stride 2, "valid")
        (
            [2, 3, 13, 11],
            [4, 3, 5, 5],
            Conv2dSpec::new(2, Padding::Valid),
        ),
        // large: the columns of DCGAN's first D layer at batch 64
        (
            [64, 1, 28, 28],
            [64, 1, 4, 4],
            Conv2dSpec::new(2, Padding::symmetric(1)),
        ),
    ];
    for (i, (x, w, spec)) in cases.into_iter().enumerate() {
        let g = spec.geometry(&x, &w).unwrap();
        let act = ACTIVATIONS[i % ACTIVATIONS.len()];
        let mut rng = rng(700 + i as u64);
        let cols = random_array(
            &mut rng,
            &[g.cin * g.kh * g.kw, g.n * g.ho * g.wo],
            -1.0,
            1.0,
        );
        let bias = random_array(&mut rng, &[g.cin], -1.0, 1.0);
        let atol = 4.0 * (g.kh * g.kw) as f64 * EPS;
        let (gcols, gbias) = (upload(&cols), upload(&bias));
        let what = format!("col2im x {x:?} w {w:?} {spec:?}");
        let got = ops::col2im(&gcols, None, &g, Activation::Identity).unwrap();
        let want = r::col2im(&cols, None, &g, Activation::Identity);
        assert_close(&what, &got, &want, atol, 4.0 * EPS);
        let got = ops::col2im(&gcols, Some(&gbias), &g, act).unwrap();
        let want = r::col2im(&cols, Some(&bias), &g, act);
        let what = format!("{what} +bias {act:?}");
        assert_close(&what, &got, &want, atol + ACTIVATION_ATOL, 4.0 * EPS);
    }
}

/// The reference col2im of wᵀ·dy is the reference input gradient (whose direct loops
/// the gradient checks cover): a check of col2im's reference that shares none of its
/// index arithmetic. Both sum the same f64 products, so they agree to f64 rounding.
#[test]
pub fn col2im_of_the_column_product_is_the_input_gradient() {
    let spec = Conv2dSpec::new(
        3,
        Padding::Explicit {
            top: 2,
            bottom: 0,
            left: 1,
            right: 1,
        },
    );
    let (x_shape, w_shape) = ([2, 2, 11, 9], [3, 2, 4, 3]);
    let g = spec.geometry(&x_shape, &w_shape).unwrap();
    let mut rng = rng(720);
    let w = random_array(&mut rng, &w_shape, -1.0, 1.0);
    let dy = random_array(&mut rng, &g.output_shape(), -1.0, 1.0);
    let (rows, pixels) = (g.cin * g.kh * g.kw, g.ho * g.wo);
    let mut cols = vec![0.0; rows * g.n * pixels];
    for row in 0..rows {
        for n in 0..g.n {
            for pix in 0..pixels {
                cols[row * g.n * pixels + n * pixels + pix] = (0..g.cout)
                    .map(|co| w.data[co * rows + row] * dy.data[(n * g.cout + co) * pixels + pix])
                    .sum();
            }
        }
    }
    let cols = Array::new(&[rows, g.n * pixels], cols);
    let got = r::col2im(&cols, None, &g, Activation::Identity);
    let want = r::conv2d_backward_input(&dy, &w, &x_shape, &spec);
    assert_eq!(got.shape, want.shape);
    for (i, (a, b)) in got.data.iter().zip(&want.data).enumerate() {
        assert!(
            (a - b).abs() <= 1e-12,
            "element {i}: col2im {a}, input gradient {b}"
        );
    }
}
