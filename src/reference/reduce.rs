//! CPU twins of `ops::reduce`.

use super::Array;

fn split(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (
        shape[..axis].iter().product(),
        shape[axis],
        shape[axis + 1..].iter().product(),
    )
}

fn without(shape: &[usize], axis: usize) -> Vec<usize> {
    let mut s = shape.to_vec();
    s.remove(axis);
    s
}

fn reduce_axis(x: &Array, axis: usize, scale: f64) -> Array {
    let (outer, len, inner) = split(&x.shape, axis);
    let mut out = vec![0.0; outer * inner];
    for o in 0..outer {
        for a in 0..len {
            for i in 0..inner {
                out[o * inner + i] += x.data[(o * len + a) * inner + i];
            }
        }
    }
    Array::new(
        &without(&x.shape, axis),
        out.into_iter().map(|v| v * scale).collect(),
    )
}

fn broadcast(dy: &Array, input_shape: &[usize], axis: usize, scale: f64) -> Array {
    let (outer, len, inner) = split(input_shape, axis);
    let mut out = vec![0.0; outer * len * inner];
    for o in 0..outer {
        for a in 0..len {
            for i in 0..inner {
                out[(o * len + a) * inner + i] = dy.data[o * inner + i] * scale;
            }
        }
    }
    Array::new(input_shape, out)
}

pub fn sum(x: &Array) -> Array {
    Array::new(&[], vec![x.data.iter().sum()])
}

pub fn mean(x: &Array) -> Array {
    Array::new(&[], vec![x.data.iter().sum::<f64>() / x.numel() as f64])
}

pub fn sum_axis(x: &Array, axis: usize) -> Array {
    reduce_axis(x, axis, 1.0)
}

pub fn mean_axis(x: &Array, axis: usize) -> Array {
    reduce_axis(x, axis, 1.0 / x.shape[axis] as f64)
}

pub fn sum_axis_backward(dy: &Array, input_shape: &[usize], axis: usize) -> Array {
    broadcast(dy, input_shape, axis, 1.0)
}

pub fn mean_axis_backward(dy: &Array, input_shape: &[usize], axis: usize) -> Array {
    broadcast(dy, input_shape, axis, 1.0 / input_shape[axis] as f64)
}

pub fn sum_backward(dy: &Array, input_shape: &[usize]) -> Array {
    Array::new(input_shape, vec![dy.data[0]; input_shape.iter().product()])
}

pub fn mean_backward(dy: &Array, input_shape: &[usize]) -> Array {
    let n = input_shape.iter().product::<usize>();
    Array::new(input_shape, vec![dy.data[0] / n as f64; n])
}
