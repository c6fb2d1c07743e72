//! CPU twins of `ops::matmul`: triple loops with f64 accumulation.

use super::Array;
use crate::Activation;

fn dims(t: &Array) -> (usize, usize) {
    assert_eq!(t.shape.len(), 2, "matmul operands are 2-D");
    (t.shape[0], t.shape[1])
}

/// C (M, N) = act(op(A) · op(B) [+ bias]), as `ops::matmul_with` without the plan.
pub fn matmul_with(
    a: &Array,
    b: &Array,
    bias: Option<&Array>,
    trans_a: bool,
    trans_b: bool,
    act: Activation,
) -> Array {
    let (ar, ac) = dims(a);
    let (br, bc) = dims(b);
    let (m, k) = if trans_a { (ac, ar) } else { (ar, ac) };
    let (kb, n) = if trans_b { (bc, br) } else { (br, bc) };
    assert_eq!(k, kb, "matmul inner dimensions");
    let at = |i: usize, p: usize| {
        if trans_a {
            a.data[p * m + i]
        } else {
            a.data[i * k + p]
        }
    };
    let bt = |p: usize, j: usize| {
        if trans_b {
            b.data[j * k + p]
        } else {
            b.data[p * n + j]
        }
    };
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut s = bias.map_or(0.0, |bias| bias.data[j]);
            for p in 0..k {
                s += at(i, p) * bt(p, j);
            }
            c[i * n + j] = s;
        }
    }
    super::activation(&Array::new(&[m, n], c), act)
}

pub fn matmul(a: &Array, b: &Array) -> Array {
    matmul_with(a, b, None, false, false, Activation::Identity)
}

pub fn dense(x: &Array, w: &Array, bias: Option<&Array>, act: Activation) -> Array {
    matmul_with(x, w, bias, false, false, act)
}

pub fn matmul_tn(a: &Array, b: &Array) -> Array {
    matmul_with(a, b, None, true, false, Activation::Identity)
}

pub fn matmul_nt(a: &Array, b: &Array) -> Array {
    matmul_with(a, b, None, false, true, Activation::Identity)
}

/// Gradients of C = A·B: dA = dC·Bᵀ and dB = Aᵀ·dC.
pub fn matmul_backward(dc: &Array, a: &Array, b: &Array) -> (Array, Array) {
    (matmul_nt(dc, b), matmul_tn(a, dc))
}
