//! Bad input comes back as a `Result` error naming the shapes, before any dispatch.

use crate::common::gpu;
use duel::gpu::{GemmPolicy, GpuOptions};
use duel::{Activation, Error, Gpu, Tensor, ops};

fn t(shape: &[usize]) -> Tensor {
    ops::zeros(gpu(), shape).unwrap()
}

fn shape_message<T: std::fmt::Debug>(r: duel::Result<T>) -> String {
    match r {
        Err(Error::Shape(m)) => m,
        other => panic!("expected a shape error, got {other:?}"),
    }
}

#[test]
pub fn matmul_shape_errors_name_the_shapes() {
    let m = shape_message(ops::matmul(&t(&[3, 4]), &t(&[5, 6])));
    assert!(m.contains("[3, 4]") && m.contains("[5, 6]"), "{m}");
    let m = shape_message(ops::matmul_tn(&t(&[3, 4]), &t(&[5, 6])));
    assert!(m.contains("Aᵀ·B"), "{m}");
    let m = shape_message(ops::dense(
        &t(&[3, 4]),
        &t(&[4, 6]),
        Some(&t(&[5])),
        Activation::Identity,
    ));
    assert!(m.contains("[6]") && m.contains("[5]"), "{m}");
    let m = shape_message(ops::matmul(&t(&[3, 4, 1]), &t(&[4, 6])));
    assert!(m.contains("2-D"), "{m}");
}

#[test]
pub fn elementwise_and_reduction_shape_errors() {
    let m = shape_message(ops::add(&t(&[2, 3]), &t(&[3, 2])));
    assert!(m.contains("[2, 3]") && m.contains("[3, 2]"), "{m}");
    shape_message(ops::add_assign(&t(&[4]), &t(&[5])));
    shape_message(ops::copy(&t(&[4]), &t(&[2, 2])));
    let m = shape_message(ops::sum_axis(&t(&[2, 3]), 2));
    assert!(m.contains("axis 2"), "{m}");
    shape_message(ops::sum_axis_backward(&t(&[2]), &[2, 3], 0));
    shape_message(t(&[2, 3]).reshape(&[4]));
    shape_message(Tensor::from_slice(gpu(), &[2, 2], &[1.0; 3]));
    shape_message(t(&[3]).write(&[1.0; 4]));
}

#[test]
pub fn a_buffer_over_the_binding_limit_is_an_error_not_a_panic() {
    let limit = gpu().limits().max_storage_buffer_binding_size as usize;
    match Tensor::uninit(gpu(), &[limit / 4 + 1]) {
        Err(Error::TooLarge(m)) => assert!(m.contains("bytes"), "{m}"),
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[test]
pub fn a_missing_adapter_says_how_to_get_one() {
    let options = GpuOptions {
        backends: wgpu::Backends::all(),
        adapter_name: Some("no such adapter".into()),
        adapter_index: None,
        gemm: GemmPolicy::Auto,
        plan_cache: None,
    };
    match Gpu::with_options(&options) {
        Err(Error::NoAdapter(m)) => assert!(m.contains("no such adapter"), "{m}"),
        Err(other) => panic!("expected NoAdapter, got {other}"),
        Ok(_) => panic!("expected NoAdapter, got an adapter"),
    }
    // Metal is never present on Linux, so this backend set has no adapter at all.
    let options = GpuOptions {
        backends: wgpu::Backends::METAL,
        adapter_name: None,
        adapter_index: None,
        gemm: GemmPolicy::Auto,
        plan_cache: None,
    };
    if cfg!(target_os = "linux") {
        match Gpu::with_options(&options) {
            Err(Error::NoAdapter(m)) => assert!(m.contains("mesa-vulkan-drivers"), "{m}"),
            Err(other) => panic!("expected NoAdapter, got {other}"),
            Ok(_) => panic!("expected NoAdapter, got an adapter"),
        }
    }
}

#[test]
pub fn convolution_parameter_errors_say_what_is_wrong() {
    use duel::{Conv2dSpec, ConvTranspose2dSpec, Padding};
    let x = t(&[1, 3, 4, 4]);
    let conv = Conv2dSpec::new(1, Padding::Valid);
    let m = shape_message(ops::conv2d(
        &x,
        &t(&[2, 3, 5, 5]),
        None,
        &conv,
        Activation::Identity,
    ));
    assert!(m.contains("larger than the padded input"), "{m}");
    let m = shape_message(ops::conv2d(
        &x,
        &t(&[2, 4, 3, 3]),
        None,
        &conv,
        Activation::Identity,
    ));
    assert!(m.contains("3 channels") && m.contains("expects 4"), "{m}");
    let m = shape_message(ops::conv2d(
        &x,
        &t(&[2, 3, 3, 3]),
        Some(&t(&[3])),
        &conv,
        Activation::Identity,
    ));
    assert!(m.contains("bias"), "{m}");
    let m = shape_message(ops::conv2d(
        &x,
        &t(&[2, 3, 3, 3]),
        None,
        &Conv2dSpec::new(0, Padding::Valid),
        Activation::Identity,
    ));
    assert!(m.contains("stride"), "{m}");
    let m = shape_message(ops::conv_transpose2d(
        &x,
        &t(&[3, 2, 3, 3]),
        None,
        &ConvTranspose2dSpec::torch(2, 0, 2),
        Activation::Identity,
    ));
    assert!(m.contains("output_padding"), "{m}");
    let m = shape_message(ops::conv_transpose2d(
        &x,
        &t(&[2, 2, 3, 3]),
        None,
        &ConvTranspose2dSpec::torch(1, 0, 0),
        Activation::Identity,
    ));
    assert!(m.contains("channels"), "{m}");
    let m = shape_message(ops::conv2d_backward_input(
        &t(&[1, 2, 3, 3]),
        &t(&[2, 3, 3, 3]),
        &[1, 3, 4, 4],
        &conv,
    ));
    assert!(m.contains("[1, 2, 2, 2]"), "{m}");
    let g = conv.geometry(&[1, 3, 4, 4], &[2, 3, 3, 3]).unwrap();
    let m = shape_message(ops::col2im(&t(&[27, 5]), None, &g, Activation::Identity));
    assert!(m.contains("columns") && m.contains("[27, 4]"), "{m}");
    let m = shape_message(ops::conv2d(
        &t(&[3, 4, 4]),
        &t(&[2, 3, 3, 3]),
        None,
        &conv,
        Activation::Identity,
    ));
    assert!(m.contains("4-D"), "{m}");
}
