//! CPU twins of `ops::upsample`.

use super::Array;

pub fn upsample(x: &Array, factor: (usize, usize)) -> Array {
    let [n, c, h, w] = <[usize; 4]>::try_from(&x.shape[..]).expect("(N, C, H, W)");
    let (bh, bw) = (h * factor.0, w * factor.1);
    let mut y = vec![0.0; n * c * bh * bw];
    for plane in 0..n * c {
        for i in 0..bh {
            for j in 0..bw {
                y[(plane * bh + i) * bw + j] =
                    x.data[(plane * h + i / factor.0) * w + j / factor.1];
            }
        }
    }
    Array::new(&[n, c, bh, bw], y)
}

pub fn upsample_backward(dy: &Array, factor: (usize, usize)) -> Array {
    let [n, c, bh, bw] = <[usize; 4]>::try_from(&dy.shape[..]).expect("(N, C, H, W)");
    let (h, w) = (bh / factor.0, bw / factor.1);
    let mut dx = vec![0.0; n * c * h * w];
    for plane in 0..n * c {
        for i in 0..bh {
            for j in 0..bw {
                dx[(plane * h + i / factor.0) * w + j / factor.1] +=
                    dy.data[(plane * bh + i) * bw + j];
            }
        }
    }
    Array::new(&[n, c, h, w], dx)
}
