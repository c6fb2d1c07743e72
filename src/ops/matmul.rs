//! Matmul launchers: C = A·B, Aᵀ·B and A·Bᵀ (what a Linear layer's backward needs),
//! each with an optional fused bias add.

use crate::error::shape_err;
use crate::gpu::{GemmCore, KernelKey};
use crate::{Error, Result, Tensor};

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

/// C (M, N) = op(A) · op(B) [+ bias (N)], on the GEMM core given.
/// op(A) = A (M, K), or Aᵀ of A stored (K, M); op(B) = B (K, N), or Bᵀ of B stored (N, K).
pub fn matmul_with(
    core: GemmCore,
    a: &Tensor,
    b: &Tensor,
    bias: Option<&Tensor>,
    trans_a: bool,
    trans_b: bool,
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
    if m == 0 || n == 0 {
        return Ok(c);
    }
    let too_big =
        |d: usize| u32::try_from(d).map_err(|_| Error::TooLarge(format!("dimension {d}")));
    let params = Params {
        m: too_big(m)?,
        n: too_big(n)?,
        k: too_big(k)?,
        _pad: 0,
    };
    let (tile_m, tile_n) = core.tile();
    let groups_x = params.n.div_ceil(tile_n);
    let groups_y = params.m.div_ceil(tile_m);
    let max = gpu.limits().max_compute_workgroups_per_dimension;
    if groups_x > max || groups_y > max {
        return Err(Error::TooLarge(format!(
            "matmul {name} of {m}×{n} needs more than {max} workgroups per dimension"
        )));
    }
    let bias_buffer = bias.unwrap_or(a).buffer();
    gpu.dispatch(
        &KernelKey::gemm("gemm_matmul", core)
            .with("TRANS_A", trans_a.into())
            .with("TRANS_B", trans_b.into())
            .with("HAS_BIAS", bias.is_some().into()),
        &params,
        &[a.buffer(), b.buffer(), bias_buffer, c.buffer()],
        [groups_x, groups_y, 1],
    );
    Ok(c)
}

/// The core for A·B or Aᵀ·B given A: what suits C's row count.
fn fastest(a: &Tensor, trans_a: bool) -> GemmCore {
    let rows = a.shape().get(usize::from(trans_a)).copied().unwrap_or(0);
    a.gpu().gemm_core_for(rows)
}

/// C (M, N) = A (M, K) · B (K, N).
pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    matmul_with(fastest(a, false), a, b, None, false, false)
}

/// C (M, N) = A (M, K) · B (K, N) + bias (N), the forward of a Linear layer.
pub fn matmul_bias(a: &Tensor, b: &Tensor, bias: &Tensor) -> Result<Tensor> {
    matmul_with(fastest(a, false), a, b, Some(bias), false, false)
}

/// C (M, N) = Aᵀ · B with A stored (K, M) and B (K, N): a weight gradient Xᵀ·dY.
pub fn matmul_tn(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    matmul_with(fastest(a, true), a, b, None, true, false)
}

/// C (M, N) = A · Bᵀ with A stored (M, K) and B (N, K): an input gradient dY·Wᵀ.
pub fn matmul_nt(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    matmul_with(fastest(a, false), a, b, None, false, true)
}

/// Gradients of C = A·B: dA = dC·Bᵀ and dB = Aᵀ·dC.
pub fn matmul_backward(dc: &Tensor, a: &Tensor, b: &Tensor) -> Result<(Tensor, Tensor)> {
    Ok((matmul_nt(dc, b)?, matmul_tn(a, dc)?))
}
