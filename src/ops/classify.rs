//! Readouts of a classifier's logits (N, C), one value per row: the predicted class,
//! its softmax probability, and the accuracy against integer labels. None of them is
//! differentiated; they measure a model rather than train it.

use crate::{Result, Tensor, error::shape_err, ops};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    classes: u32,
    _pad: [u32; 2],
}

/// Checks logits are a non-empty (N, C) and returns (N, C).
fn rows_of(logits: &Tensor, op: &str) -> Result<(usize, usize)> {
    match *logits.shape() {
        [n, c] if n > 0 && c > 0 => {
            crate::ops::dim(n * c, op)?;
            Ok((n, c))
        }
        _ => Err(shape_err!(
            "{op}: logits must be a non-empty (N, C), got {:?}",
            logits.shape()
        )),
    }
}

fn per_row(entry: &'static str, logits: &Tensor, labels: Option<&Tensor>) -> Result<Tensor> {
    let (n, classes) = rows_of(logits, entry)?;
    let gpu = logits.gpu();
    let out = Tensor::uninit(gpu, &[n])?;
    let mut buffers = vec![logits.buffer(), out.buffer()];
    buffers.extend(labels.map(|l| l.buffer()));
    let params = Params {
        n: n as u32,
        classes: classes as u32,
        _pad: [0; 2],
    };
    crate::ops::dispatch_flat(gpu, ("classify", entry), &params, &buffers, n)?;
    Ok(out)
}

/// The index of each row's largest logit, as f32, (N); ties go to the lower index.
pub fn argmax(logits: &Tensor) -> Result<Tensor> {
    per_row("argmax", logits, None)
}

/// Each row's largest softmax probability, (N): the classifier's confidence.
pub fn max_softmax(logits: &Tensor) -> Result<Tensor> {
    per_row("max_softmax", logits, None)
}

/// The fraction of rows whose argmax equals the label (class indices as f32), shape [].
pub fn accuracy(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    let (n, _) = rows_of(logits, "accuracy")?;
    if labels.shape() != [n] {
        return Err(shape_err!(
            "accuracy: labels must have shape [{n}] for logits {:?}, got {:?}",
            logits.shape(),
            labels.shape()
        ));
    }
    ops::mean(&per_row("correct", logits, Some(labels))?)
}
