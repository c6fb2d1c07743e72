//! The harness's promises: pooled buffers, cached pipelines, batched submissions.
//! These tests open their own `Gpu` so that other tests' work does not move the counters.

use duel::{Activation, Gpu, Tensor, ops};

fn own_gpu() -> Gpu {
    Gpu::new().unwrap_or_else(|e| panic!("{e}"))
}

/// One pass of a small Dense → LeakyReLU → mean-square loop, with its backward and
/// a plain gradient-descent update.
fn training_like_pass(gpu: &Gpu, w: &Tensor, bias: &Tensor, input: &[f32]) -> f32 {
    let x = Tensor::from_slice(gpu, &[16, 24], input).unwrap();
    let leaky = Activation::LeakyRelu(0.2);
    let h = ops::dense(&x, w, Some(bias), Activation::Identity).unwrap();
    let y = ops::activation(&h, leaky).unwrap();
    let loss = ops::mean(&ops::mul(&y, &y).unwrap()).unwrap();
    let dsquare = ops::mean_backward(&ops::full(gpu, &[], 1.0).unwrap(), y.shape()).unwrap();
    let dy = ops::scale(&ops::mul(&dsquare, &y).unwrap(), 2.0).unwrap();
    let dh = ops::activation_backward(&dy, &h, leaky).unwrap();
    let (_dx, dw) = ops::matmul_backward(&dh, &x, w).unwrap();
    let db = ops::sum_axis(&dh, 0).unwrap();
    ops::add_assign(w, &ops::scale(&dw, -0.01).unwrap()).unwrap();
    ops::add_assign(bias, &ops::scale(&db, -0.01).unwrap()).unwrap();
    loss.to_vec().unwrap()[0]
}

#[test]
pub fn repeated_work_allocates_no_buffers_and_compiles_no_pipelines_after_the_first_pass() {
    let gpu = own_gpu();
    let w = ops::full(&gpu, &[24, 10], 0.05).unwrap();
    let bias = ops::zeros(&gpu, &[10]).unwrap();
    let input: Vec<f32> = (0..16 * 24).map(|i| (i % 7) as f32 - 3.0).collect();
    training_like_pass(&gpu, &w, &bias, &input);
    let buffers = gpu.pool_stats().allocations;
    let pipelines = gpu.pipelines_created();
    let mut losses = Vec::new();
    for _ in 0..5 {
        losses.push(training_like_pass(&gpu, &w, &bias, &input));
    }
    assert_eq!(
        gpu.pool_stats().allocations,
        buffers,
        "buffers were created after the first pass"
    );
    assert_eq!(
        gpu.pipelines_created(),
        pipelines,
        "pipelines were compiled after the first pass"
    );
    assert!(gpu.pool_stats().reuses > 0);
    // The loop really trained: gradient descent lowers the loss step by step.
    assert!(losses.windows(2).all(|w| w[1] < w[0]), "losses {losses:?}");
}

#[test]
pub fn dispatches_are_submitted_only_at_sync_points() {
    let gpu = own_gpu();
    let x = ops::full(&gpu, &[1000], 1.0).unwrap();
    gpu.sync().unwrap();
    let before = gpu.batch_stats();
    let mut y = x.clone();
    for _ in 0..100 {
        y = ops::scale(&y, 1.01).unwrap();
    }
    assert_eq!(
        gpu.batch_stats().submissions,
        before.submissions,
        "recording submitted work"
    );
    assert_eq!(gpu.batch_stats().dispatches, before.dispatches + 100);
    let got = y.to_vec().unwrap();
    assert_eq!(
        gpu.batch_stats().submissions,
        before.submissions + 1,
        "a download is one submission"
    );
    let want = 1.01f32.powi(100);
    assert!(
        (got[999] - want).abs() < 1e-3 * want,
        "{} vs {want}",
        got[999]
    );
}

#[test]
pub fn an_upload_into_a_recycled_buffer_does_not_overtake_pending_reads() {
    let gpu = own_gpu();
    let first = Tensor::from_slice(&gpu, &[4], &[1.0, 2.0, 3.0, 4.0]).unwrap();
    let doubled = ops::scale(&first, 2.0).unwrap();
    drop(first);
    // Same size, so the pool hands back the buffer `doubled` still reads from.
    let second = Tensor::from_slice(&gpu, &[4], &[100.0; 4]).unwrap();
    assert_eq!(doubled.to_vec().unwrap(), [2.0, 4.0, 6.0, 8.0]);
    assert_eq!(second.to_vec().unwrap(), [100.0; 4]);
}

#[test]
pub fn reshape_is_a_view_over_the_same_buffer() {
    let gpu = own_gpu();
    let x = Tensor::from_slice(&gpu, &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    let allocations = gpu.pool_stats().allocations;
    let flat = x.reshape(&[6]).unwrap();
    assert_eq!(gpu.pool_stats().allocations, allocations);
    ops::fill(&flat, 9.0).unwrap();
    assert_eq!(
        x.to_vec().unwrap(),
        [9.0; 6],
        "writing through the view changes the original"
    );
}

#[test]
pub fn gpu_timing_reports_a_positive_duration() {
    let gpu = own_gpu();
    let a = ops::full(&gpu, &[128, 128], 1.0).unwrap();
    let elapsed = gpu.time(|| ops::matmul(&a, &a).map(drop)).unwrap();
    assert!(elapsed.as_nanos() > 0, "{elapsed:?}");
}
