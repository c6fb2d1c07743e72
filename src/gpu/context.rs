//! Choosing an adapter and opening a device on it.
//!
//! `WGPU_BACKEND` (vulkan, metal, dx12) narrows the backends, and `WGPU_ADAPTER_NAME`
//! picks an adapter by case-insensitive substring of its name. Otherwise the most
//! capable kind wins: discrete, then integrated, virtual, and last a CPU device such as lavapipe.

use super::{GemmCore, GemmPlan, GemmPolicy, TILED_64, TILED_128};
use crate::{Error, Result};

#[cfg(not(target_arch = "wasm32"))]
const HOW_TO_GET_ONE: &str = "duel needs a Vulkan, Metal or DX12 adapter. \
On Linux without a GPU, install Mesa's lavapipe (CPU Vulkan): \
`sudo apt-get install mesa-vulkan-drivers` on Debian or Ubuntu. \
Run `cargo run --example adapters` to list what wgpu sees.";
#[cfg(target_arch = "wasm32")]
const HOW_TO_GET_ONE: &str = "this browser offers no WebGPU adapter. \
Use a browser with WebGPU turned on (Chrome or Edge 113 or later, Firefox 141 or later, \
Safari 26), and check that its GPU is not blocklisted (chrome://gpu).";

/// What the engine knows about the adapter it runs on.
#[derive(Debug, Clone)]
pub struct AdapterReport {
    pub name: String,
    /// The backend's vendor and device ids (PCI ids on most GPUs).
    pub vendor: u32,
    pub device: u32,
    pub backend: wgpu::Backend,
    pub device_type: wgpu::DeviceType,
    pub driver: String,
    /// The driver's version, as the driver words it.
    pub driver_info: String,
    pub subgroup_min_size: u32,
    pub subgroup_max_size: u32,
    pub has_subgroups: bool,
    pub has_timestamps: bool,
}

impl AdapterReport {
    /// The subgroup size kernels may assume: the one size the adapter's subgroups
    /// always have, where it has subgroups at all.
    pub fn subgroup_size(&self) -> Option<u32> {
        (self.has_subgroups && self.subgroup_min_size == self.subgroup_max_size)
            .then_some(self.subgroup_min_size)
    }
}

impl std::fmt::Display for AdapterReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({:?}, {:?}, driver {:?}), subgroups {}, timestamps {}",
            self.name,
            self.backend,
            self.device_type,
            self.driver,
            if self.has_subgroups {
                format!("{}..{}", self.subgroup_min_size, self.subgroup_max_size)
            } else {
                "no".to_string()
            },
            if self.has_timestamps { "yes" } else { "no" },
        )
    }
}

/// Which adapters to consider, and how GEMMs run on the one chosen.
/// `GpuOptions::from_env()` reads `WGPU_BACKEND`, `WGPU_ADAPTER_NAME`, `DUEL_GEMM` and
/// `DUEL_TUNE`;
/// `Gpu::new()` uses exactly that.
#[derive(Debug, Clone)]
pub struct GpuOptions {
    pub backends: wgpu::Backends,
    /// Case-insensitive substring of the adapter name.
    pub adapter_name: Option<String>,
    /// Which of the most capable adapters (of the kind that wins), counting from 0
    /// and wrapping around: a data-parallel rank's local rank.
    pub adapter_index: Option<usize>,
    pub gemm: GemmPolicy,
    /// Where tuned GEMM plans are kept between runs (native only; None: nowhere).
    pub plan_cache: Option<PlanCache>,
}

/// The file of tuned GEMM plans (`gpu::plan_store`), and whether its plans are used
/// (`DUEL_TUNE=fresh` tunes again, and rewrites them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanCache {
    pub path: std::path::PathBuf,
    pub read: bool,
}

impl PlanCache {
    /// `$XDG_CACHE_HOME/duel/plans.json` or `~/.cache/duel/plans.json`, if a home is
    /// known; none in the browser, which has no files.
    pub fn in_user_cache(read: bool) -> Option<PlanCache> {
        #[cfg(feature = "native")]
        let path = crate::data::locate::cache_dir("plans.json");
        #[cfg(not(feature = "native"))]
        let path = None;
        Some(PlanCache { path: path?, read })
    }
}

/// The backends duel is built with, by the names `WGPU_BACKEND` takes.
const BACKENDS: [(&str, wgpu::Backends); 6] = [
    ("vulkan", wgpu::Backends::VULKAN),
    ("vk", wgpu::Backends::VULKAN),
    ("metal", wgpu::Backends::METAL),
    ("mtl", wgpu::Backends::METAL),
    ("dx12", wgpu::Backends::DX12),
    ("d3d12", wgpu::Backends::DX12),
];

/// `WGPU_BACKEND` as a set of backends: all when unset or empty. wgpu's own reading
/// skips a name it does not know, which turns a typo into "no adapter"; here it is an
/// error that lists the names.
fn backends_from_env() -> Result<wgpu::Backends> {
    let Some(value) = std::env::var("WGPU_BACKEND")
        .ok()
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(wgpu::Backends::all());
    };
    let mut backends = wgpu::Backends::empty();
    for name in value.split(',').map(|n| n.trim().to_lowercase()) {
        let Some((_, backend)) = BACKENDS.iter().find(|(n, _)| *n == name) else {
            return Err(Error::Usage(format!(
                "WGPU_BACKEND={value}: {name:?} is not a backend duel runs on; use vulkan, \
                 metal or dx12 (several separated by commas), or unset it to try them all"
            )));
        };
        backends |= *backend;
    }
    Ok(backends)
}

impl GpuOptions {
    /// The options the environment sets; an unknown `WGPU_BACKEND` is an error.
    pub fn from_env() -> Result<GpuOptions> {
        let fresh = std::env::var("DUEL_TUNE").as_deref() == Ok("fresh");
        Ok(GpuOptions {
            backends: backends_from_env()?,
            adapter_name: std::env::var("WGPU_ADAPTER_NAME")
                .ok()
                .filter(|n| !n.is_empty()),
            adapter_index: None,
            gemm: gemm_policy_from_env()?,
            plan_cache: PlanCache::in_user_cache(!fresh),
        })
    }
}

/// `DUEL_GEMM=portable|subgroup4|subgroup8|subgroup32|tiled64|tiled128` forces one core, for
/// comparison, and a suffix `:S` (`tiled64:2`) also splits every GEMM's K S ways,
/// which sums in another order; unset or anything else leaves the choice to the
/// engine. `DUEL_TUNE` says how it chooses: `on` times the candidate plans of each GEMM
/// once per adapter and keeps the winners in the plan cache (`GemmPolicy::Tuned`),
/// `fresh` times them again, `off` keeps the heuristic plans, and unset tunes on GPUs
/// only (`GemmPolicy::TunedOnGpus`).
fn gemm_policy_from_env() -> Result<GemmPolicy> {
    let forced = std::env::var("DUEL_GEMM").unwrap_or_default();
    let (name, splits) = forced.split_once(':').unwrap_or((&forced, ""));
    let core = match name {
        "portable" => GemmCore::PORTABLE_GPU,
        "subgroup4" => GemmCore::SUBGROUP4,
        "subgroup8" => GemmCore::SUBGROUP8,
        "subgroup32" => GemmCore::SUBGROUP32,
        "tiled64" => TILED_64,
        "tiled128" => TILED_128,
        _ => {
            return match std::env::var("DUEL_TUNE").as_deref() {
                Err(_) | Ok("") => Ok(GemmPolicy::TunedOnGpus),
                Ok("off") => Ok(GemmPolicy::Auto),
                Ok("on" | "fresh") => Ok(GemmPolicy::Tuned),
                Ok(other) => Err(Error::Usage(format!(
                    "DUEL_TUNE={other}: use on (time each GEMM's candidate plans once per \
                     adapter, and keep the winners), fresh (time them again), or off (the \
                     heuristic plans)"
                ))),
            };
        }
    };
    match splits {
        "" => Ok(GemmPolicy::Core(core)),
        splits => match splits.parse::<u32>() {
            Ok(s @ 1..=64) => Ok(GemmPolicy::Plan(GemmPlan::new(core, s))),
            _ => Err(Error::Usage(format!(
                "DUEL_GEMM={forced}: the split after ':' must be a number of ways from 1 \
                 to 64"
            ))),
        },
    }
}

async fn enumerate(backends: wgpu::Backends) -> Vec<wgpu::Adapter> {
    let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    descriptor.backends = backends;
    let instance = wgpu::Instance::new(descriptor);
    if cfg!(target_arch = "wasm32") {
        // WebGPU hands out one adapter per request; there is no list to enumerate.
        let options = wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..Default::default()
        };
        return instance
            .request_adapter(&options)
            .await
            .into_iter()
            .collect();
    }
    instance.enumerate_adapters(backends).await
}

/// Every adapter wgpu can see under the current environment, as reports.
#[cfg(feature = "native")]
pub fn list_adapters() -> Result<Vec<AdapterReport>> {
    Ok(
        pollster::block_on(enumerate(GpuOptions::from_env()?.backends))
            .iter()
            .map(report)
            .collect(),
    )
}

fn report(adapter: &wgpu::Adapter) -> AdapterReport {
    let info = adapter.get_info();
    let features = adapter.features();
    AdapterReport {
        name: info.name,
        vendor: info.vendor,
        device: info.device,
        backend: info.backend,
        device_type: info.device_type,
        driver: info.driver,
        driver_info: info.driver_info,
        subgroup_min_size: info.subgroup_min_size,
        subgroup_max_size: info.subgroup_max_size,
        has_subgroups: features.contains(wgpu::Features::SUBGROUP),
        has_timestamps: features.contains(wgpu::Features::TIMESTAMP_QUERY),
    }
}

fn preference(kind: wgpu::DeviceType) -> u32 {
    match kind {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

async fn choose_adapter(options: &GpuOptions) -> Result<wgpu::Adapter> {
    let adapters = enumerate(options.backends).await;
    if adapters.is_empty() {
        return Err(Error::NoAdapter(format!(
            "none found for backends {:?}. {HOW_TO_GET_ONE}",
            options.backends
        )));
    }
    let seen: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
    let wanted = options.adapter_name.as_ref().map(|n| n.to_lowercase());
    let mut candidates: Vec<wgpu::Adapter> = match &wanted {
        Some(name) => adapters
            .into_iter()
            .filter(|a| a.get_info().name.to_lowercase().contains(name))
            .collect(),
        None => adapters,
    };
    if candidates.is_empty() {
        return Err(Error::NoAdapter(format!(
            "adapter name {:?} (WGPU_ADAPTER_NAME) matches none of the adapters seen: {seen:?}. \
             Unset it or pick one of those names.",
            wanted.unwrap_or_default()
        )));
    }
    candidates.sort_by_key(|a| preference(a.get_info().device_type));
    let best = preference(candidates[0].get_info().device_type);
    candidates.retain(|a| preference(a.get_info().device_type) == best);
    let index = options.adapter_index.unwrap_or(0) % candidates.len();
    Ok(candidates.swap_remove(index))
}

/// Opens the chosen adapter with its real limits and the optional features duel uses.
pub(crate) async fn open(
    options: &GpuOptions,
) -> Result<(wgpu::Adapter, wgpu::Device, wgpu::Queue, AdapterReport)> {
    #[cfg(target_arch = "wasm32")]
    super::web_subgroups::ask();
    let adapter = choose_adapter(options).await?;
    let report = report(&adapter);
    let wanted = wgpu::Features::SUBGROUP | wgpu::Features::TIMESTAMP_QUERY;
    let descriptor = wgpu::DeviceDescriptor {
        label: Some("duel"),
        required_features: adapter.features() & wanted,
        required_limits: adapter.limits(),
        experimental_features: wgpu::ExperimentalFeatures::disabled(),
        memory_hints: wgpu::MemoryHints::Performance,
        trace: wgpu::Trace::Off,
    };
    let (device, queue) = adapter
        .request_device(&descriptor)
        .await
        .map_err(|e| Error::Device(format!("could not open {}: {e}", report.name)))?;
    #[cfg(target_arch = "wasm32")]
    let report = AdapterReport {
        has_subgroups: super::web_subgroups::granted(),
        ..report
    };
    Ok((adapter, device, queue, report))
}
