//! Which core runs a GEMM, and into how many slices its K is split: chosen per
//! adapter and per problem shape, so that every GEMM fills the device.

use super::{AdapterReport, GemmCore};

/// How one GEMM runs: its core, and `splits` slices of K (split-K) whose partial
/// sums a second, deterministic pass adds up. `splits == 1` is a plain GEMM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GemmPlan {
    pub core: GemmCore,
    pub splits: u32,
}

impl GemmPlan {
    pub fn new(core: GemmCore, splits: u32) -> GemmPlan {
        GemmPlan {
            core,
            splits: splits.max(1),
        }
    }
}

impl std::fmt::Display for GemmPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}, split {}", self.core, self.splits)
    }
}

/// What the GEMM plans come from (`GpuOptions::gemm`; `DUEL_GEMM` sets it from the
/// environment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GemmPolicy {
    /// Per adapter and per problem shape.
    #[default]
    Auto,
    /// As `Auto` would plan on a device of this type: a CPU device then runs, and the
    /// tests check, the plans that a GPU gets.
    AutoAs(wgpu::DeviceType),
    /// This core for every GEMM, with the splits `Auto` would give it.
    Core(GemmCore),
    /// This core and split for every GEMM (tests and benches).
    Plan(GemmPlan),
    /// `Auto`'s plans, each replaced by the fastest plan this adapter ran when timed
    /// on the GEMM's first use (see `gemm_tune`; `DUEL_TUNE=on`), or by the one the
    /// plan cache kept from an earlier run. Where nothing can be timed without
    /// blocking (the browser), `Auto`.
    Tuned,
    /// `Tuned` on a GPU, `Auto` on a CPU device (`DUEL_TUNE` unset). On lavapipe,
    /// tuning the default DCGAN costs 30 s for a 15% faster step, which a long run
    /// repays, but CPU devices are where tests and CI run, and there plans must not
    /// depend on timing; `DUEL_TUNE=on` tunes a CPU device too.
    TunedOnGpus,
}

impl GemmPolicy {
    /// The subgroup size that a forced GEMM core needs, if it needs one.
    pub(crate) fn lanes(self) -> Option<u32> {
        match self {
            GemmPolicy::Core(core) => core.lanes(),
            GemmPolicy::Plan(plan) => plan.core.lanes(),
            _ => None,
        }
    }

    /// Whether every GEMM's core is forced (`Core`, `Plan`), so that no kept plan
    /// may replace it.
    pub(crate) fn forced(self) -> bool {
        matches!(self, GemmPolicy::Core(_) | GemmPolicy::Plan(_))
    }
}

/// The GPU cores. 8×8 per invocation gives the most arithmetic per workgroup-memory
/// load, so it runs where there are enough 128×128 tiles; 4×4 gives four times the
/// workgroups for the mid-sized GEMMs of a small GAN.
pub const TILED_128: GemmCore = GemmCore::Tiled {
    bm: 128,
    bn: 128,
    bk: 8,
    tm: 8,
    tn: 8,
};
pub const TILED_64: GemmCore = GemmCore::Tiled {
    bm: 64,
    bn: 64,
    bk: 16,
    tm: 4,
    tn: 4,
};

/// Thin tiled cores, which the tuner times for thin matmuls: 4 rows by 64 columns (a
/// Dense layer at batch 2, a row vector times a matrix) and 64 rows by 4 columns (a
/// matrix times a vector, as spectral norm's power iteration does). 16 invocations each.
pub const TILED_4X64: GemmCore = GemmCore::Tiled {
    bm: 4,
    bn: 64,
    bk: 16,
    tm: 4,
    tn: 4,
};
pub const TILED_64X4: GemmCore = GemmCore::Tiled {
    bm: 64,
    bn: 4,
    bk: 16,
    tm: 4,
    tn: 4,
};

/// GEMMs with at most this many rows (a convolution with one output channel) get a
/// portable core only as tall as they need, since a big tile would waste most of its work.
pub(super) const SMALL_M: usize = 8;

/// GEMMs with at most this many columns (the weight gradient of a convolution with
/// one input channel and a 4 × 4 kernel) get a CPU device's narrow subgroup core, whose
/// tile is 16 (4 lanes) or 32 (8 lanes) columns wide rather than 64.
pub(super) const SMALL_N: usize = 16;

/// A slice of K shorter than this costs more in partial sums than it saves.
pub(super) const MIN_K_PER_SPLIT: usize = 256;
pub(super) const MAX_SPLITS: usize = 32;

/// How many workgroups fill the device. wgpu reports no count of compute units, so
/// this is an estimate from the device type that wgpu does report, sized for the
/// largest parts seen (an H100 has 132 multiprocessors): on a smaller GPU the extra
/// split-K slices cost a little, while too few on a large one leave it idle.
/// `DUEL_GPU_WORKGROUPS` overrides it.
pub fn fill_workgroups(report: &AdapterReport) -> usize {
    if let Some(n) = std::env::var("DUEL_GPU_WORKGROUPS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return n;
    }
    match report.device_type {
        wgpu::DeviceType::DiscreteGpu => 132,
        wgpu::DeviceType::IntegratedGpu => 32,
        wgpu::DeviceType::Cpu => 1,
        _ => 64,
    }
}

/// The core for `m` rows and `n` columns on this adapter, when nothing is forced.
/// A CPU device keeps what is fastest there: a subgroup core where its subgroups fit
/// one (broadcasts instead of per-lane loads: lavapipe's 8 lanes, SwiftShader's 4),
/// else an 8-wide portable core with 32 rows per invocation. Neither has barriers
/// (the tiled cores' barriers are what Chromium's SwiftShader runs slowest).
pub fn auto_core(report: &AdapterReport, units: usize, m: usize, n: usize) -> GemmCore {
    let cpu = report.device_type == wgpu::DeviceType::Cpu;
    if m <= SMALL_M {
        let rows = m.max(1).next_power_of_two() as u32;
        let wg_x = if cpu { 8 } else { 64 };
        return GemmCore::short(wg_x, rows);
    }
    if cpu {
        return match (report.subgroup_size(), n <= SMALL_N) {
            (Some(8), false) => GemmCore::SUBGROUP8,
            (Some(8), true) => GemmCore::SUBGROUP8_NARROW,
            (Some(4), false) => GemmCore::SUBGROUP4,
            (Some(4), true) => GemmCore::SUBGROUP4_NARROW,
            _ => GemmCore::PORTABLE_CPU,
        };
    }
    if workgroups(TILED_128, m, n) >= 2 * units {
        TILED_128
    } else {
        TILED_64
    }
}

/// The plan `Auto` makes for C (m, n) over k on an adapter like `report`, which fills
/// with `units` workgroups.
pub fn auto_plan(report: &AdapterReport, units: usize, m: usize, n: usize, k: usize) -> GemmPlan {
    let core = auto_core(report, units, m, n);
    GemmPlan::new(core, auto_splits(core, units, m, n, k))
}

/// Workgroups that one slice of a `core` GEMM of m × n launches.
pub fn workgroups(core: GemmCore, m: usize, n: usize) -> usize {
    let (tm, tn) = core.tile();
    m.div_ceil(tm as usize) * n.div_ceil(tn as usize)
}

/// Slices of K so that `core` fills `units` workgroups: none when the tiles of C
/// already do, or when K is too short to share out.
pub fn auto_splits(core: GemmCore, units: usize, m: usize, n: usize, k: usize) -> u32 {
    let tiles = workgroups(core, m, n);
    if units <= 1 || tiles >= units {
        return 1;
    }
    units
        .div_ceil(tiles)
        .min(k / MIN_K_PER_SPLIT)
        .clamp(1, MAX_SPLITS) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(backend: wgpu::Backend) -> AdapterReport {
        AdapterReport {
            name: "test".into(),
            backend,
            device_type: wgpu::DeviceType::Cpu,
            driver: String::new(),
            driver_info: String::new(),
            vendor: 0,
            device: 0,
            subgroup_min_size: 4,
            subgroup_max_size: 4,
            has_subgroups: true,
            has_timestamps: true,
        }
    }

    #[test]
    fn the_browsers_cpu_device_gets_the_cores_without_barriers() {
        // SwiftShader runs a workgroup with barriers as one coroutine per 4 lanes,
        // switching at every barrier: the tiled cores took 7.3 s a DCGAN step at
        // batch 32 on the bench page, the portable ones 2.0 s.
        let browser = report(wgpu::Backend::BrowserWebGpu);
        // A transposed convolution to one channel, a Dense layer at batch 2, and a
        // convolution of the DCGAN.
        assert_eq!(auto_core(&browser, 1, 1, 6272), GemmCore::short(8, 1));
        assert_eq!(auto_core(&browser, 1, 2, 6272), GemmCore::short(8, 2));
        assert_eq!(auto_core(&browser, 1, 128, 1568), GemmCore::SUBGROUP4);
        // A weight gradient of 16 columns (one input channel, 4 × 4), and a matrix
        // times a vector.
        assert_eq!(auto_core(&browser, 1, 64, 16), GemmCore::SUBGROUP4_NARROW);
        assert_eq!(auto_core(&browser, 1, 6272, 1), GemmCore::SUBGROUP4_NARROW);
        assert_eq!(auto_core(&browser, 1, 64, 17), GemmCore::SUBGROUP4);
        // A browser that does not grant subgroups.
        let without = AdapterReport {
            has_subgroups: false,
            ..browser
        };
        assert_eq!(auto_core(&without, 1, 128, 1568), GemmCore::PORTABLE_CPU);
    }
}
