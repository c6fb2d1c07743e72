//! Classifier readouts on the CPU: argmax, max softmax probability, accuracy.

use super::Array;

fn rows(logits: &Array) -> impl Iterator<Item = &[f64]> {
    logits.data.chunks(logits.shape[1])
}

/// First index of the row's largest value, as the GPU kernel breaks ties.
fn row_argmax(row: &[f64]) -> usize {
    let mut best = 0;
    for (c, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = c;
        }
    }
    best
}

pub fn argmax(logits: &Array) -> Array {
    let data = rows(logits).map(|r| row_argmax(r) as f64).collect();
    Array::new(&[logits.shape[0]], data)
}

pub fn max_softmax(logits: &Array) -> Array {
    let data = rows(logits)
        .map(|r| {
            let m = r[row_argmax(r)];
            1.0 / r.iter().map(|z| (z - m).exp()).sum::<f64>()
        })
        .collect();
    Array::new(&[logits.shape[0]], data)
}

pub fn accuracy(logits: &Array, labels: &Array) -> Array {
    let correct = rows(logits)
        .zip(&labels.data)
        .filter(|(r, l)| row_argmax(r) as f64 == **l)
        .count();
    Array::new(&[], vec![correct as f64 / labels.numel() as f64])
}
