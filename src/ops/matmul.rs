//! Matmul launchers: C = A·B, Aᵀ·B and A·Bᵀ (what a Dense layer's backward needs),
//! each with an optional fused bias add and activation; `dense` is Dense's forward.

use super::gemm::Gemm;
use crate::Activation;
use crate::error::shape_err;
use crate::gpu::GemmPlan;
use crate::{Result, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    m: u32,
    n: u32,
    k: u32,
    _pad: u32,
}

fn dims2(t: &Tensor, what: &str) -> Result<(usize, usize)> {
    match t.shape() {
        [r, c] => Ok((*r, *c)),
        s => Err(shape_err!("matmul: {what} must be 2-D, got shape {s:?}")),
    }
}

/// C (M, N) = act(op(A) · op(B) [+ bias (N)]), on the GEMM plan given, or the one the
/// adapter picks for this shape when `plan` is `None`.
/// op(A) = A (M, K), or Aᵀ of A stored (K, M); op(B) = B (K, N), or Bᵀ of B stored (N, K).
pub fn matmul_with(
    plan: Option<GemmPlan>,
    a: &Tensor,
    b: &Tensor,
    bias: Option<&Tensor>,
    trans_a: bool,
    trans_b: bool,
    act: Activation,
) -> Result<Tensor> {
    let (ar, ac) = dims2(a, "A")?;
    let (br, bc) = dims2(b, "B")?;
    let (m, k) = if trans_a { (ac, ar) } else { (ar, ac) };
    let (kb, n) = if trans_b { (bc, br) } else { (br, bc) };
    let name = match (trans_a, trans_b) {
        (false, false) => "A·B",
        (true, false) => "Aᵀ·B",
        (false, true) => "A·Bᵀ",
        (true, true) => "Aᵀ·Bᵀ",
    };
    if k != kb {
        return Err(shape_err!(
            "matmul {name}: inner dimensions differ: A {:?} gives K={k}, B {:?} gives K={kb}",
            a.shape(),
            b.shape()
        ));
    }
    if let Some(bias) = bias
        && bias.shape() != [n]
    {
        return Err(shape_err!(
            "matmul {name}: bias must have shape [{n}], got {:?}",
            bias.shape()
        ));
    }
    let gpu = a.gpu();
    let c = Tensor::uninit(gpu, &[m, n])?;
    // A matrix times a vector, C (M, 1), is Cᵀ (1, M) in memory: it runs as Bᵀ·Aᵀ, a
    // GEMM of one row, which the small-M cores fit, where C's one column would fill
    // one column of every tile. Each element sums the same products in the same order
    // (fma is symmetric in its factors), so the result is the same to the bit; the bias,
    // C's one column's, becomes the one row's.
    let swap = n == 1 && m > 1;
    let too_big = |d: usize| crate::ops::dim(d, "matmul");
    let params = Params {
        m: too_big(if swap { 1 } else { m })?,
        n: too_big(if swap { m } else { n })?,
        k: too_big(k)?,
        _pad: 0,
    };
    let (trans_a, trans_b, a, b) = if swap {
        (!trans_b, !trans_a, b, a)
    } else {
        (trans_a, trans_b, a, b)
    };
    Gemm {
        prelude: "gemm_matmul",
        constants: &[
            ("TRANS_A", f64::from(u8::from(trans_a))),
            ("TRANS_B", f64::from(u8::from(trans_b))),
            ("HAS_BIAS", f64::from(u8::from(bias.is_some()))),
            ("BIAS_ON_ROWS", f64::from(u8::from(swap))),
            act.constants()[0],
            act.constants()[1],
        ],
        params: &params,
        mnk: (params.m, params.n, params.k),
        what: &format!("matmul {name}"),
    }
    .launch(
        gpu,
        plan,
        &[
            a.buffer(),
            b.buffer(),
            bias.unwrap_or(a).buffer(),
            c.buffer(),
        ],
    )?;
    Ok(c)
}

/// C (M, N) = A (M, K) · B (K, N).
pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    matmul_with(None, a, b, None, false, false, Activation::Identity)
}

/// y (N, out) = act(x (N, in) · w (in, out) [+ bias (out)]): the forward of Dense.
pub fn dense(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, act: Activation) -> Result<Tensor> {
    matmul_with(None, x, w, bias, false, false, act)
}

/// C (M, N) = Aᵀ · B with A stored (K, M) and B (K, N): a weight gradient Xᵀ·dY.
pub fn matmul_tn(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    matmul_with(None, a, b, None, true, false, Activation::Identity)
}

/// C (M, N) = A · Bᵀ with A stored (M, K) and B (N, K): an input gradient dY·Wᵀ.
pub fn matmul_nt(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    matmul_with(None, a, b, None, false, true, Activation::Identity)
}

/// Gradients of C = A·B: dA = dC·Bᵀ and dB = Aᵀ·dC.
pub fn matmul_backward(dc: &Tensor, a: &Tensor, b: &Tensor) -> Result<(Tensor, Tensor)> {
    Ok((matmul_nt(dc, b)?, matmul_tn(a, dc)?))
}
