//! CPU twins of `ops::fill`.

use super::Array;

pub fn fill(t: &mut Array, value: f32) {
    t.data.iter_mut().for_each(|v| *v = f64::from(value));
}

pub fn copy(dst: &mut Array, src: &Array) {
    assert_eq!(dst.shape, src.shape, "copy of different shapes");
    dst.data.copy_from_slice(&src.data);
}

pub fn full(shape: &[usize], value: f32) -> Array {
    Array::new(shape, vec![f64::from(value); shape.iter().product()])
}

pub fn zeros(shape: &[usize]) -> Array {
    full(shape, 0.0)
}
