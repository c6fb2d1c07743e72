//! Spectral normalisation (Miyato et al. 2018): a layer's weight W divided by σ(W),
//! its largest singular value, which keeps the layer 1-Lipschitz. σ is estimated by
//! power iteration on W viewed as a matrix (its first dimension, by the rest), one
//! iteration per training step, the vectors u and v carried from step to step (and
//! in checkpoints). The forward differentiates W / (uᵀ W v) with u and v held
//! constant, as the paper does, in the tape's own ops, so a gradient penalty can pass
//! through it.

use crate::autograd::{Buffer, Graph, Var};
use crate::{Gpu, Result, Tensor, ops};

/// Keys the random start of u, apart from the weights' own initialisation.
const START_STREAM: u64 = 0x5350_4543_5452_414c;

pub struct SpectralNorm {
    /// The left singular vector estimate, (rows, 1).
    pub u: Buffer,
    /// The right one, (cols, 1).
    pub v: Buffer,
}

/// x / ‖x‖, on the GPU; the 1e-12 keeps a zero vector finite.
fn normalized(x: &Tensor) -> Result<Tensor> {
    let norm2 = ops::sum(&ops::mul(x, x)?)?;
    let inverse = ops::rsqrt(&norm2, 1e-12)?;
    ops::mul(x, &ops::sum_backward(&inverse, x.shape())?)
}

/// W's shape as a matrix: its first dimension by the product of the rest.
fn matrix(w: &Tensor) -> [usize; 2] {
    let rows = w.shape()[0];
    [rows, w.numel() / rows]
}

impl SpectralNorm {
    /// For the weight `w` of the layer `name`: u starts as a random unit vector drawn
    /// from (`seed`, `index`), and v from one half-iteration.
    pub fn new(gpu: &Gpu, name: &str, w: &Tensor, seed: u64, index: u64) -> Result<SpectralNorm> {
        let [rows, cols] = matrix(w);
        let start = Tensor::uninit(gpu, &[rows, 1])?;
        ops::fill_normal(&start, 0.0, 1.0, seed ^ START_STREAM, index)?;
        let buffer = |what: &str, value| Buffer {
            name: format!("{name}.spectral_{what}"),
            value,
        };
        let norm = SpectralNorm {
            u: buffer("u", normalized(&start)?),
            v: buffer("v", ops::zeros(gpu, &[cols, 1])?),
        };
        let v = normalized(&ops::matmul_tn(&w.reshape(&[rows, cols])?, &norm.u.value)?)?;
        ops::copy(&norm.v.value, &v)?;
        Ok(norm)
    }

    /// One power iteration on W: v ← Wᵀu / ‖Wᵀu‖, then u ← W v / ‖W v‖.
    pub fn power_iteration(&self, w: &Tensor) -> Result<()> {
        let w = w.reshape(&matrix(w))?;
        let v = normalized(&ops::matmul_tn(&w, &self.u.value)?)?;
        let u = normalized(&ops::matmul(&w, &v)?)?;
        ops::copy(&self.v.value, &v)?;
        ops::copy(&self.u.value, &u)
    }

    /// W / σ with σ = uᵀ W v, recorded: its gradient reaches W, not u or v.
    pub fn apply(&self, g: &mut Graph, w: Var) -> Result<Var> {
        let shape = g.shape(w).to_vec();
        let [rows, cols] = matrix(g.value(w));
        let (u, v) = (g.input(self.u.value.clone()), g.input(self.v.value.clone()));
        let w2 = g.reshape(w, &[rows, cols])?;
        let wv = g.matmul(w2, v, false, false)?;
        let sigma = g.matmul(u, wv, true, false)?;
        let sigma2 = g.square(sigma)?;
        let inverse = g.rsqrt(sigma2, 1e-12)?;
        let inverse = g.reshape(inverse, &[])?;
        let spread = g.spread_over(inverse, &shape)?;
        g.mul(w, spread)
    }

    pub fn buffers(&self) -> Vec<&Buffer> {
        vec![&self.u, &self.v]
    }
}
