//! CPU twins of `ops::elementwise`.

use super::Array;
use crate::Activation;

pub fn add(a: &Array, b: &Array) -> Array {
    a.zip(b, |x, y| x + y)
}

pub fn sub(a: &Array, b: &Array) -> Array {
    a.zip(b, |x, y| x - y)
}

pub fn mul(a: &Array, b: &Array) -> Array {
    a.zip(b, |x, y| x * y)
}

pub fn scale(x: &Array, s: f32) -> Array {
    x.map(|v| v * f64::from(s))
}

pub fn add_assign(dst: &mut Array, src: &Array) {
    *dst = add(dst, src);
}

pub fn lerp_assign(dst: &mut Array, src: &Array, t: f32) {
    *dst = dst.zip(src, |d, s| d + f64::from(t) * (s - d));
}

/// `act` applied to every element: the epilogue of the GEMM and batch-norm twins.
pub fn activate(x: Array, act: Activation) -> Array {
    match act {
        Activation::Identity => x,
        Activation::Relu => relu(&x),
        Activation::LeakyRelu(alpha) => leaky_relu(&x, alpha),
        Activation::Tanh => tanh(&x),
        Activation::Sigmoid => sigmoid(&x),
    }
}

pub fn relu(x: &Array) -> Array {
    x.map(|v| v.max(0.0))
}

pub fn leaky_relu(x: &Array, alpha: f32) -> Array {
    x.map(|v| if v > 0.0 { v } else { f64::from(alpha) * v })
}

pub fn tanh(x: &Array) -> Array {
    x.map(f64::tanh)
}

pub fn sigmoid(x: &Array) -> Array {
    x.map(|v| 1.0 / (1.0 + (-v).exp()))
}

pub fn rsqrt(x: &Array, eps: f32) -> Array {
    x.map(|v| 1.0 / (v + f64::from(eps)).sqrt())
}

pub fn relu_backward(dy: &Array, x: &Array) -> Array {
    dy.zip(x, |g, v| if v > 0.0 { g } else { 0.0 })
}

pub fn leaky_relu_backward(dy: &Array, x: &Array, alpha: f32) -> Array {
    dy.zip(x, |g, v| if v > 0.0 { g } else { f64::from(alpha) * g })
}

pub fn tanh_backward(dy: &Array, y: &Array) -> Array {
    dy.zip(y, |g, t| g * (1.0 - t * t))
}

pub fn sigmoid_backward(dy: &Array, y: &Array) -> Array {
    dy.zip(y, |g, s| g * s * (1.0 - s))
}
