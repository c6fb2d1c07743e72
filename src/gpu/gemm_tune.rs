//! GEMM plans measured on the device (`GemmPolicy::Tuned`, `DUEL_TUNE=on`), as
//! cuDNN's benchmark mode and Triton's autotune do: the first time a GEMM of a given
//! prelude and shape is recorded, every plan this adapter may run is timed on the
//! real operands, and the fastest is kept for the rest of the process.
//!
//! This file holds what does not touch the device: the candidates and the choice.
//! `ops::gemm` does the timing, and `plan_store` keeps the winners between runs.

use super::gemm_plan::{MAX_SPLITS, MIN_K_PER_SPLIT, SMALL_M};
use super::plan_store::GemmKey;
use super::{AdapterReport, GemmCore, GemmPlan, TILED_4X64, TILED_64, TILED_64X4, TILED_128};
use std::collections::HashMap;
use std::time::Duration;

/// The GEMM plans of one context.
#[derive(Default)]
pub(crate) struct Plans {
    /// The plan each GEMM has run on, chosen on its first launch: what a checkpoint
    /// records.
    pub chosen: HashMap<GemmKey, GemmPlan>,
    /// Plans from before this process (the plan cache, or the checkpoint being
    /// resumed), each taken on its GEMM's first launch if `could_pick` allows it.
    pub kept: HashMap<GemmKey, GemmPlan>,
    /// GEMMs tuned in this process, and the time that took.
    pub tuned: usize,
    pub spent: Duration,
}

/// A candidate replaces the heuristic plan only when it is faster by more than this
/// share of the heuristic's time, so that timing noise does not churn plans.
pub const MARGIN: f64 = 0.03;

/// Timed runs of each candidate (after one that compiles its pipelines); the median
/// counts.
pub const RUNS: usize = 3;

/// A candidate whose first run takes this many times the best median so far is
/// dropped without its other runs.
pub const HOPELESS: f64 = 2.0;

/// The cores worth timing for C (m, n) on this adapter: the portable cores (a short
/// one when m is small), the subgroup cores of the adapter's one subgroup size, both
/// tiled cores, and the thin tiled cores where m or n is at most 4.
fn candidate_cores(lanes: Option<u32>, m: usize, n: usize) -> Vec<GemmCore> {
    let mut cores = vec![
        GemmCore::PORTABLE_CPU,
        GemmCore::PORTABLE_GPU,
        TILED_64,
        TILED_128,
    ];
    if m <= SMALL_M {
        let rows = m.max(1).next_power_of_two() as u32;
        cores.extend([8, 64].map(|wg_x| GemmCore::short(wg_x, rows)));
    }
    match lanes {
        Some(4) => cores.extend([GemmCore::SUBGROUP4, GemmCore::SUBGROUP4_NARROW]),
        Some(8) => cores.extend([GemmCore::SUBGROUP8, GemmCore::SUBGROUP8_NARROW]),
        Some(32) => cores.push(GemmCore::SUBGROUP32),
        _ => {}
    }
    if m <= 4 {
        cores.push(TILED_4X64);
    }
    if n <= 4 {
        cores.push(TILED_64X4);
    }
    cores
}

/// How many of the fastest cores of the first round go on to be timed with K split.
pub const FINALISTS: usize = 2;

/// The first round of plans to time for C (m, n): the heuristic plan, then every
/// candidate core unsplit. Splits come after, for the fastest cores only (`splits`):
/// each plan is a pipeline to compile, which on a CPU device costs more than timing
/// it.
pub fn first_round(
    report: &AdapterReport,
    heuristic: GemmPlan,
    m: usize,
    n: usize,
) -> Vec<GemmPlan> {
    let mut plans = vec![heuristic];
    for core in candidate_cores(report.subgroup_size(), m, n) {
        let plan = GemmPlan::new(core, 1);
        if !plans.contains(&plan) {
            plans.push(plan);
        }
    }
    plans
}

/// Whether `plan` is one this adapter could run for C (m, n) over k under the
/// heuristic plan `heuristic`: that plan, or a candidate core with K split no more
/// ways than the cap (a slice past K's end adds nothing). A plan read back from a
/// file or checkpoint is used only then.
pub fn could_pick(
    report: &AdapterReport,
    heuristic: GemmPlan,
    plan: GemmPlan,
    m: usize,
    n: usize,
) -> bool {
    plan == heuristic
        || (plan.splits as usize <= MAX_SPLITS
            && first_round(report, heuristic, m, n)
                .iter()
                .any(|p| p.core == plan.core))
}

/// The splits of K worth timing, in order: powers of two up to the cap while each
/// slice keeps `MIN_K_PER_SPLIT` of K.
pub fn splits(k: usize) -> Vec<u32> {
    (1..)
        .map(|i| 1usize << i)
        .take_while(|&s| s <= MAX_SPLITS && k / s >= MIN_K_PER_SPLIT)
        .map(|s| s as u32)
        .collect()
}

/// The winner among `timed` (each candidate's median): the fastest, unless it beats
/// the heuristic plan by no more than `MARGIN`, in which case the heuristic stays. The
/// heuristic also stays when it was not timed or nothing was.
pub fn pick(heuristic: GemmPlan, timed: &[(GemmPlan, Duration)]) -> GemmPlan {
    let Some(&(fastest, best)) = timed.iter().min_by_key(|(_, t)| *t) else {
        return heuristic;
    };
    match timed.iter().find(|(p, _)| *p == heuristic) {
        Some(&(_, own)) if own.as_secs_f64() <= best.as_secs_f64() * (1.0 + MARGIN) => heuristic,
        Some(_) => fastest,
        None => heuristic,
    }
}

/// The median of a candidate's runs.
pub fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

/// The cores the tuner may time, for any shape, on an adapter whose subgroups
/// have `lanes` lanes (None: no subgroups, or of varying size): what the kernel tests
/// must cover.
pub fn all_candidate_cores(lanes: Option<u32>) -> Vec<GemmCore> {
    let mut cores = candidate_cores(lanes, 1, 1);
    cores.extend(candidate_cores(lanes, 2, 2));
    cores.extend(candidate_cores(lanes, 8, 8));
    cores.sort_by_key(|c| format!("{c:?}"));
    cores.dedup();
    cores
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: f64) -> Duration {
        Duration::from_secs_f64(v / 1e3)
    }

    const H: GemmPlan = GemmPlan {
        core: TILED_128,
        splits: 1,
    };
    const A: GemmPlan = GemmPlan {
        core: TILED_64,
        splits: 1,
    };
    const B: GemmPlan = GemmPlan {
        core: TILED_64,
        splits: 4,
    };

    /// A fake clock: whichever candidate it makes fastest by more than 3% wins;
    /// within 3% of the heuristic, the heuristic stays.
    #[test]
    fn the_fastest_plan_wins_unless_within_the_margin_of_the_heuristic() {
        assert_eq!(pick(H, &[(H, ms(10.0)), (A, ms(8.0)), (B, ms(9.0))]), A);
        assert_eq!(pick(H, &[(H, ms(10.0)), (A, ms(12.0)), (B, ms(9.0))]), B);
        assert_eq!(pick(H, &[(H, ms(10.0)), (A, ms(9.8)), (B, ms(11.0))]), H);
        assert_eq!(pick(H, &[(H, ms(10.0)), (A, ms(10.0))]), H);
        assert_eq!(pick(H, &[(H, ms(9.0)), (A, ms(10.0))]), H);
        assert_eq!(pick(H, &[(A, ms(1.0))]), H);
        assert_eq!(pick(H, &[]), H);
        assert_eq!(median(vec![ms(3.0), ms(1.0), ms(2.0)]), ms(2.0));
    }

    fn lavapipe() -> AdapterReport {
        AdapterReport {
            name: "llvmpipe".into(),
            backend: wgpu::Backend::Vulkan,
            device_type: wgpu::DeviceType::Cpu,
            driver: String::new(),
            driver_info: String::new(),
            vendor: 0,
            device: 0,
            subgroup_min_size: 8,
            subgroup_max_size: 8,
            has_subgroups: true,
            has_timestamps: true,
        }
    }

    /// The first round: the heuristic first, no repeats, nothing split, the subgroup
    /// cores only at the adapter's lane count. Splits: while each slice keeps
    /// MIN_K_PER_SPLIT of K.
    #[test]
    fn candidates_are_legal_here_and_split_only_long_k() {
        let report = lavapipe();
        let h = super::super::gemm_plan::auto_plan(&report, 1, 128, 1568, 1024);
        let plans = first_round(&report, h, 128, 1568);
        assert_eq!(plans[0], h);
        for (i, p) in plans.iter().enumerate() {
            assert!(!plans[i + 1..].contains(p), "{p} twice");
            assert_eq!(p.splits, 1, "{p}");
            assert!(p.core.lanes().is_none_or(|l| l == 8), "{p}");
        }
        assert_eq!(splits(1024), [2, 4]);
        assert_eq!(splits(12_544), [2, 4, 8, 16, 32]);
        assert!(splits(300).is_empty());
    }

    /// A kept plan is taken only if this adapter could have chosen it: a candidate
    /// core, K split within the cap; never another subgroup size's core.
    #[test]
    fn only_plans_this_adapter_could_pick_are_taken() {
        let report = lavapipe();
        let h = GemmPlan::new(TILED_128, 1);
        let (m, n) = (128, 1568);
        assert!(could_pick(&report, h, h, m, n));
        assert!(could_pick(&report, h, GemmPlan::new(TILED_64, 4), m, n));
        assert!(could_pick(
            &report,
            h,
            GemmPlan::new(GemmCore::SUBGROUP8, 1),
            m,
            n
        ));
        assert!(could_pick(&report, h, GemmPlan::new(TILED_64, 3), m, n));
        assert!(!could_pick(&report, h, GemmPlan::new(TILED_64, 64), m, n));
        assert!(!could_pick(
            &report,
            h,
            GemmPlan::new(GemmCore::SUBGROUP32, 1),
            m,
            n
        ));
        assert!(!could_pick(&report, h, GemmPlan::new(TILED_4X64, 1), m, n));
    }
}
