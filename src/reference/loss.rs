//! CPU twins of `ops::loss`.

use super::Array;

/// The kernel's clamp bounds, as f32 computes them: 1 - 1e-7 rounds to 1 - 1.19e-7.
const LOW: f64 = 1e-7f32 as f64;
const HIGH: f64 = (1.0f32 - 1e-7f32) as f64;

fn mean(values: impl Iterator<Item = f64>, count: usize) -> Array {
    Array::new(&[], vec![values.sum::<f64>() / count as f64])
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

pub fn bce_with_logits(z: &Array, t: &Array) -> Array {
    mean(
        z.data
            .iter()
            .zip(&t.data)
            .map(|(&z, &t)| z.max(0.0) - z * t + (-z.abs()).exp().ln_1p()),
        z.numel(),
    )
}

pub fn bce_with_logits_backward(dloss: &Array, z: &Array, t: &Array) -> Array {
    let g = dloss.data[0] / z.numel() as f64;
    z.zip(t, |z, t| g * (sigmoid(z) - t))
}

pub fn bce(p: &Array, t: &Array) -> Array {
    mean(
        p.data.iter().zip(&t.data).map(|(&p, &t)| {
            let q = p.clamp(LOW, HIGH);
            -(t * q.ln() + (1.0 - t) * (1.0 - q).ln())
        }),
        p.numel(),
    )
}

pub fn bce_backward(dloss: &Array, p: &Array, t: &Array) -> Array {
    let g = dloss.data[0] / p.numel() as f64;
    p.zip(t, |p, t| {
        if (LOW..=HIGH).contains(&p) {
            g * (p - t) / (p * (1.0 - p))
        } else {
            0.0
        }
    })
}

/// (max, ln Σ exp(z - max)) of one row.
fn row_stats(row: &[f64]) -> (f64, f64) {
    let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    (m, row.iter().map(|z| (z - m).exp()).sum::<f64>().ln())
}

pub fn softmax_cross_entropy(logits: &Array, labels: &Array) -> Array {
    let c = logits.shape[1];
    let rows = logits
        .data
        .chunks(c)
        .zip(&labels.data)
        .map(|(row, &label)| {
            let (m, lse) = row_stats(row);
            m + lse - row[label as usize]
        });
    mean(rows, labels.numel())
}

pub fn softmax_cross_entropy_backward(dloss: &Array, logits: &Array, labels: &Array) -> Array {
    let c = logits.shape[1];
    let g = dloss.data[0] / labels.numel() as f64;
    let mut dz = Vec::with_capacity(logits.numel());
    for (row, &label) in logits.data.chunks(c).zip(&labels.data) {
        let (m, lse) = row_stats(row);
        for (j, z) in row.iter().enumerate() {
            let onehot = if j == label as usize { 1.0 } else { 0.0 };
            dz.push(g * ((z - m - lse).exp() - onehot));
        }
    }
    Array::new(&logits.shape, dz)
}

pub fn softmax_cross_entropy_soft(logits: &Array, targets: &Array) -> Array {
    let c = logits.shape[1];
    let rows = logits
        .data
        .chunks(c)
        .zip(targets.data.chunks(c))
        .map(|(row, t)| {
            let (m, lse) = row_stats(row);
            row.iter().zip(t).map(|(z, t)| t * (m + lse - z)).sum()
        });
    mean(rows, logits.shape[0])
}

pub fn softmax_cross_entropy_soft_backward(
    dloss: &Array,
    logits: &Array,
    targets: &Array,
) -> Array {
    let c = logits.shape[1];
    let g = dloss.data[0] / logits.shape[0] as f64;
    let mut dz = Vec::with_capacity(logits.numel());
    for (row, t) in logits.data.chunks(c).zip(targets.data.chunks(c)) {
        let (m, lse) = row_stats(row);
        let mass: f64 = t.iter().sum();
        for (z, t) in row.iter().zip(t) {
            dz.push(g * ((z - m - lse).exp() * mass - t));
        }
    }
    Array::new(&logits.shape, dz)
}
