//! The one launcher of every GEMM shader (matmul and the convolutions): grid, limits
//! and split-K, whatever the prelude.

use crate::gpu::{BufferRange, GemmLoads, GemmPlan, KernelKey, PARTIALS_BINDING};
use crate::{Error, Result, Tensor};

/// One GEMM to record: prelude, override constants, and the prelude's `Params`, whose
/// C is (m, n) over k.
pub(crate) struct Gemm<'a, P> {
    pub prelude: &'static str,
    pub loads: GemmLoads,
    pub constants: &'a [(&'static str, f64)],
    pub params: &'a P,
    pub mnk: (u32, u32, u32),
    /// What the error names, e.g. "matmul A·B".
    pub what: &'a str,
}

fn key(gemm: &Gemm<'_, impl bytemuck::Pod>, plan: GemmPlan, entry: &'static str) -> KernelKey {
    let split = plan.splits > 1;
    let mut key = KernelKey::gemm(gemm.prelude, plan.core, split, entry);
    for &(name, value) in gemm.constants {
        key = key.with_value(name, value);
    }
    if split {
        key = key.with("SPLITS", plan.splits);
    }
    key
}

impl<P: bytemuck::Pod> Gemm<'_, P> {
    /// Records the GEMM on `plan`, or on the one the adapter picks for (m, n, k) when
    /// it is `None`; `buffers` bind in order from binding 1, as the prelude declares
    /// them. A split plan adds a pooled scratch buffer of partial sums and a second
    /// dispatch that reduces them in a fixed order.
    pub fn launch(
        &self,
        gpu: &crate::Gpu,
        plan: Option<GemmPlan>,
        buffers: &[BufferRange],
    ) -> Result<()> {
        let (m, n, k) = self.mnk;
        if m == 0 || n == 0 {
            return Ok(());
        }
        let plan =
            plan.unwrap_or_else(|| gpu.gemm_plan(self.loads, m as usize, n as usize, k as usize));
        let (tile_m, tile_n) = plan.core.tile();
        let groups = [n.div_ceil(tile_n), m.div_ceil(tile_m), plan.splits];
        let max = gpu.limits().max_compute_workgroups_per_dimension;
        if groups.iter().any(|&g| g > max) {
            return Err(Error::TooLarge(format!(
                "{} of {m}×{n} on {plan} needs more than {max} workgroups per dimension",
                self.what
            )));
        }
        let mut bound: Vec<(u32, BufferRange)> = (1..).zip(buffers.iter().cloned()).collect();
        if plan.splits == 1 {
            gpu.dispatch_bound(&key(self, plan, "gemm"), self.params, &bound, groups);
            return Ok(());
        }
        let elements = u64::from(m) * u64::from(n);
        let partial_count = elements * u64::from(plan.splits);
        if partial_count > u64::from(u32::MAX) {
            return Err(Error::TooLarge(format!(
                "{} of {m}×{n} split {} ways needs {partial_count} partial sums, over 2^32",
                self.what, plan.splits
            )));
        }
        let partials = Tensor::uninit(gpu, &[partial_count as usize])?;
        bound.push((PARTIALS_BINDING, partials.buffer()));
        gpu.dispatch_bound(&key(self, plan, "gemm"), self.params, &bound, groups);
        let reduce_groups = gpu.grid(elements.div_ceil(256))?;
        gpu.dispatch_bound(
            &key(self, plan, "gemm_reduce"),
            self.params,
            &bound,
            reduce_groups,
        );
        Ok(())
    }
}
