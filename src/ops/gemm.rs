//! The one launcher of every GEMM shader (matmul and the convolutions): grid, limits
//! and split-K, whatever the prelude.

use crate::gpu::gemm_tune::could_pick;
use crate::gpu::plan_store::GemmKey;
use crate::gpu::{BufferRange, GemmPlan, KernelKey, PARTIALS_BINDING};
use crate::{Error, Result, Tensor};

/// One GEMM to record: prelude, override constants, and the prelude's `Params`, whose
/// C is (m, n) over k.
pub(crate) struct Gemm<'a, P> {
    pub prelude: &'static str,
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
    /// Records the GEMM on `plan`, or when it is `None` on this GEMM's plan in `gpu`
    /// (`plan`); `buffers` bind in order from binding 1, as the prelude declares them.
    pub fn launch(
        &self,
        gpu: &crate::Gpu,
        plan: Option<GemmPlan>,
        buffers: &[BufferRange],
    ) -> Result<()> {
        let (m, n, _) = self.mnk;
        if m == 0 || n == 0 {
            return Ok(());
        }
        let plan = match plan {
            Some(plan) => plan,
            None => self.plan(gpu, buffers)?,
        };
        self.record(gpu, plan, buffers)
    }

    /// What this GEMM's plan is kept under.
    fn plan_key(&self) -> GemmKey {
        let constants: Vec<String> = self
            .constants
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        GemmKey {
            prelude: self.prelude,
            params: bytemuck::bytes_of(self.params).to_vec(),
            constants: constants.join(","),
        }
    }

    /// The plan this GEMM runs on in `gpu`, the same at every launch: chosen on the
    /// first, as the plan kept from an earlier run (a checkpoint resumed, or the plan
    /// cache) if the adapter could have chosen it, else the tuner's winner
    /// (`GemmPolicy::Tuned`), else the heuristic plan.
    fn plan(&self, gpu: &crate::Gpu, buffers: &[BufferRange]) -> Result<GemmPlan> {
        let key = self.plan_key();
        if let Some(plan) = gpu.chosen_plan(&key) {
            return Ok(plan);
        }
        let (m, n, k) = self.mnk;
        let (m, n, k) = (m as usize, n as usize, k as usize);
        let heuristic = gpu.gemm_plan(m, n, k);
        let kept = gpu.kept_plan(&key).filter(|&kept| {
            let ok = could_pick(gpu.adapter(), heuristic, kept, m, n);
            if !ok {
                eprintln!(
                    "note: the plan kept for {} {m}×{n} over {k} ({kept}) is not one this \
                     adapter could choose; it is planned afresh",
                    self.prelude
                );
            }
            ok
        });
        match kept {
            Some(plan) => gpu.choose_plan(key, plan),
            None if gpu.tunes() => return self.tuned(gpu, key, heuristic, buffers),
            None => gpu.choose_plan(key, heuristic),
        }
        Ok(kept.unwrap_or(heuristic))
    }

    /// Records the GEMM on `plan`. A split plan adds a pooled scratch buffer of partial
    /// sums and a second dispatch that reduces them in a fixed order.
    fn record(&self, gpu: &crate::Gpu, plan: GemmPlan, buffers: &[BufferRange]) -> Result<()> {
        let (m, n, _) = self.mnk;
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

    /// The plan tuned for this GEMM, kept as `key`'s: the candidates run on the real
    /// operands (each run overwrites the output, which the final recording then
    /// writes for real), timed by the GPU's clock: every core unsplit, then the fastest
    /// `FINALISTS` with K split 2, 4, … ways until a split is no faster. Plans the
    /// device can't launch at this size are passed over.
    #[cfg(feature = "native")]
    fn tuned(
        &self,
        gpu: &crate::Gpu,
        key: GemmKey,
        heuristic: GemmPlan,
        buffers: &[BufferRange],
    ) -> Result<GemmPlan> {
        use crate::gpu::gemm_tune::{FINALISTS, HOPELESS, RUNS, first_round, median, pick, splits};
        use std::time::Duration;
        let started = web_time::Instant::now();
        let (m, n, k) = self.mnk;
        let (m, n, k) = (m as usize, n as usize, k as usize);
        let mut timed: Vec<(GemmPlan, Duration)> = Vec::new();
        // The median of RUNS runs, or None for a plan that can't launch here or whose
        // first run is HOPELESS times the best so far.
        let time = |plan: GemmPlan, timed: &[(GemmPlan, Duration)]| -> Result<Option<Duration>> {
            let run = || gpu.time(|| self.record(gpu, plan, buffers));
            let first = match run() {
                Err(Error::TooLarge(_)) => return Ok(None),
                first => first?,
            };
            let best = timed
                .iter()
                .map(|(_, t)| t.as_secs_f64())
                .fold(f64::INFINITY, f64::min);
            if first.as_secs_f64() > HOPELESS * best {
                return Ok(None);
            }
            let mut runs = vec![first];
            for _ in 1..RUNS {
                runs.push(run()?);
            }
            Ok(Some(median(runs)))
        };
        for plan in first_round(gpu.adapter(), heuristic, m, n) {
            if let Some(t) = time(plan, &timed)? {
                timed.push((plan, t));
            }
        }
        let mut finalists: Vec<(GemmPlan, Duration)> = timed
            .iter()
            .filter(|(p, _)| p.splits == 1)
            .copied()
            .collect();
        finalists.sort_by_key(|&(_, t)| t);
        for (unsplit, mut last) in finalists.into_iter().take(FINALISTS) {
            for s in splits(k) {
                let plan = GemmPlan::new(unsplit.core, s);
                let Some(t) = time(plan, &timed)? else { break };
                timed.push((plan, t));
                if t >= last {
                    break;
                }
                last = t;
            }
        }
        let plan = pick(heuristic, &timed);
        let spent = started.elapsed();
        let ms = |p: GemmPlan| {
            timed
                .iter()
                .find(|(q, _)| *q == p)
                .map_or("-".to_string(), |(_, t)| {
                    format!("{:.2}", t.as_secs_f64() * 1e3)
                })
        };
        eprintln!(
            "tuned {} {m}×{n} over {k} in {:.1} s: {plan} {} ms (heuristic {heuristic} {} ms)",
            self.prelude,
            spent.as_secs_f64(),
            ms(plan),
            ms(heuristic)
        );
        gpu.keep_tuned(key, plan, spent);
        Ok(plan)
    }

    /// Nothing can be timed without blocking here: the heuristic plan.
    #[cfg(not(feature = "native"))]
    fn tuned(
        &self,
        gpu: &crate::Gpu,
        key: GemmKey,
        heuristic: GemmPlan,
        _: &[BufferRange],
    ) -> Result<GemmPlan> {
        gpu.choose_plan(key, heuristic);
        Ok(heuristic)
    }
}
