//! The kernel tests of kernels-tests/, compiled into the page's wasm and run in headless
//! Chromium on its WebGPU adapter (SwiftShader without a GPU), by
//! `wasm-bindgen-test-runner` through chromedriver (scripts/test-web.sh). Each test body
//! is the native one: it records its work and queues its checks, which are then
//! downloaded and checked with the same tolerances. Tests that compute on values they
//! read back run natively only (marked in their files).
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

// Some of its GEMM cores are for adapters other than the browser's.
#[path = "../../kernels-tests/adam.rs"]
mod adam;
#[path = "../../kernels-tests/batch_norm.rs"]
mod batch_norm;
#[allow(dead_code)]
#[path = "../../kernels-tests/common.rs"]
mod common;
#[path = "../../kernels-tests/conv.rs"]
mod conv;
#[path = "../../kernels-tests/elementwise.rs"]
mod elementwise;
#[path = "../../kernels-tests/fill.rs"]
mod fill;
#[path = "../../kernels-tests/loss.rs"]
mod loss;
#[path = "../../kernels-tests/matmul.rs"]
mod matmul;
#[path = "../../kernels-tests/reduce.rs"]
mod reduce;
#[path = "../../kernels-tests/upsample.rs"]
mod upsample;
// Its helpers for the statistics tests, which run natively only, go unused here.
#[path = "../../kernels-tests/classify.rs"]
mod classify;
#[allow(unused_imports, dead_code)]
#[path = "../../kernels-tests/random.rs"]
mod random;

/// Runs test bodies on the page's device, each followed by its queued checks; a family
/// that queued none checked nothing, which is a failure.
///
/// Awaiting each body's checks before the next body records keeps the page answering.
/// The GPU process compiles a body's new pipelines after the body returns, and later
/// WebGPU calls can wait for that synchronously, on the page's one thread: recorded
/// straight after the small conv_transpose2d cases, the large one held the thread for
/// 35 s on SwiftShader, and for 1.4 s once their work had been awaited. Chromedriver
/// gives up on a page that does not answer its poll for 30 s, and the runner fails.
async fn run(family: &str, bodies: &[fn()]) {
    common::browser::open().await;
    let mut checked = 0;
    for body in bodies {
        body();
        checked += common::browser::check_queued().await;
    }
    assert!(checked > 0, "{family}: no checks were queued");
}

#[wasm_bindgen_test]
async fn matmul_kernels() {
    run(
        "matmul",
        &[
            matmul::matmul_a_b_matches_reference,
            matmul::matmul_at_b_matches_reference,
            matmul::matmul_a_bt_matches_reference,
            matmul::matmul_with_fused_bias_and_activation_matches_reference,
            matmul::named_launchers_and_backward_match_reference,
        ],
    )
    .await;
}

#[wasm_bindgen_test]
async fn conv_kernels() {
    run(
        "conv",
        &[
            conv::conv2d_small_and_odd_shapes_match_reference,
            conv::conv2d_large_matches_reference,
            conv::conv_transpose2d_small_and_odd_shapes_match_reference,
            conv::conv_transpose2d_large_matches_reference,
            conv::col2im_matches_reference,
            conv::col2im_of_the_column_product_is_the_input_gradient,
        ],
    )
    .await;
}

#[wasm_bindgen_test]
async fn batch_norm_kernels() {
    run(
        "batch_norm",
        &[
            batch_norm::batch_norm_2d_matches_reference,
            batch_norm::batch_norm_1d_matches_reference,
            batch_norm::batch_norm_is_sound_at_a_large_mean_offset,
            batch_norm::batch_norm_shape_errors,
            batch_norm::batch_norm_with_an_activation_matches_reference,
            batch_norm::running_statistics_follow_each_framework,
        ],
    )
    .await;
}

#[wasm_bindgen_test]
async fn elementwise_kernels() {
    run(
        "elementwise",
        &[
            elementwise::unary_forward_ops_match_reference,
            elementwise::rsqrt_matches_reference,
            elementwise::lerp_assign_matches_reference,
            elementwise::binary_and_backward_ops_match_reference,
            elementwise::sigmoid_and_tanh_stay_finite_at_extremes,
        ],
    )
    .await;
}

#[wasm_bindgen_test]
async fn fill_kernels() {
    run("fill", &[fill::fill_and_copy_match_reference]).await;
}

#[wasm_bindgen_test]
async fn upsample_kernels() {
    run(
        "upsample",
        &[
            upsample::upsample_and_backward_match_reference,
            upsample::upsample_rejects_bad_shapes,
        ],
    )
    .await;
}

#[wasm_bindgen_test]
async fn loss_kernels() {
    run(
        "loss",
        &[
            loss::bce_with_logits_matches_reference_even_at_extreme_logits,
            loss::bce_on_probabilities_clamps_like_keras,
            loss::softmax_cross_entropy_matches_reference,
            loss::soft_target_softmax_cross_entropy_matches_reference,
            loss::loss_shape_errors,
        ],
    )
    .await;
}

#[wasm_bindgen_test]
async fn reduce_kernels() {
    run(
        "reduce",
        &[
            reduce::full_sum_and_mean_match_reference,
            reduce::axis_sums_and_means_match_reference,
            reduce::reduction_backward_matches_reference,
        ],
    )
    .await;
}

#[wasm_bindgen_test]
async fn adam_kernels() {
    run(
        "adam",
        &[
            adam::adam_matches_reference_over_100_steps,
            adam::adam_rejects_mismatched_buffers_and_step_zero,
        ],
    )
    .await;
}

#[wasm_bindgen_test]
async fn random_kernels() {
    run(
        "random",
        &[
            random::uniform_and_normal_match_the_cpu_generator,
            random::bad_random_parameters_are_errors,
        ],
    )
    .await;
}

#[wasm_bindgen_test]
async fn classify_kernels() {
    run(
        "classify",
        &[
            classify::argmax_and_max_softmax_match_reference,
            classify::accuracy_matches_reference,
            classify::readouts_reject_bad_shapes,
        ],
    )
    .await;
}
