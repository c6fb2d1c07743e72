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

/// act(x), elementwise; also the epilogue of the GEMM and batch-norm twins.
pub fn activation(x: &Array, act: Activation) -> Array {
    x.map(|v| match act {
        Activation::Identity => v,
        Activation::Relu => v.max(0.0),
        Activation::LeakyRelu(alpha) => {
            if v > 0.0 {
                v
            } else {
                f64::from(alpha) * v
            }
        }
        Activation::Tanh => v.tanh(),
        Activation::Sigmoid => 1.0 / (1.0 + (-v).exp()),
    })
}

/// dx = dy · act′(x), read from `at`: x for ReLU and LeakyReLU, y for tanh and sigmoid.
pub fn activation_backward(dy: &Array, at: &Array, act: Activation) -> Array {
    dy.zip(at, |g, a| match act {
        Activation::Identity => g,
        Activation::Relu => {
            if a > 0.0 {
                g
            } else {
                0.0
            }
        }
        Activation::LeakyRelu(alpha) => {
            if a > 0.0 {
                g
            } else {
                f64::from(alpha) * g
            }
        }
        Activation::Tanh => g * (1.0 - a * a),
        Activation::Sigmoid => g * a * (1.0 - a),
    })
}

pub fn rsqrt(x: &Array, eps: f32) -> Array {
    x.map(|v| 1.0 / (v + f64::from(eps)).sqrt())
}
