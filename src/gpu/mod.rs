//! The GPU context: adapter and device, buffer pool, kernel cache and the pending batch.
//!
//! `Gpu` is a cheap handle (an `Arc`); tensors keep one so they can return their
//! buffers to the pool when dropped and download themselves.

mod batch;
#[cfg(feature = "native")]
mod blocking;
mod context;
mod gemm_core;
mod gemm_plan;
// The browser can't time a GEMM without blocking, so it only lists the candidates.
#[cfg_attr(not(feature = "native"), allow(dead_code))]
pub(crate) mod gemm_tune;
mod kernels;
pub(crate) mod plan_store;
mod pool;
mod profiler;
#[cfg(target_arch = "wasm32")]
mod web_subgroups;

pub use batch::BatchStats;
#[cfg(feature = "native")]
pub use context::list_adapters;
pub use context::{AdapterReport, GpuOptions, PlanCache};
pub use gemm_core::{GemmCore, PARTIALS_BINDING, tiled_shape_ok};
pub use gemm_plan::{GemmPlan, GemmPolicy, TILED_4X64, TILED_64, TILED_64X4, TILED_128};
pub use gemm_tune::all_candidate_cores;
pub use kernels::{SHADER_FILES, ShaderKind, gemm_source, includes, shader_kind, shader_source};
use plan_store::GemmKey;
pub use pool::PoolStats;
pub use profiler::KernelTime;

pub(crate) use kernels::KernelKey;
pub(crate) use pool::BufferKind;

/// A range of a buffer: where a tensor's data lies. `size` None means to the end.
#[derive(Clone)]
pub(crate) struct BufferRange {
    pub buffer: wgpu::Buffer,
    pub offset: u64,
    pub size: Option<wgpu::BufferSize>,
}

use crate::{Error, Result};
use batch::Recorder;
use kernels::KernelCache;
use pool::BufferPool;
use std::sync::{Arc, Mutex, MutexGuard};

pub(crate) struct GpuInner {
    device: wgpu::Device,
    queue: wgpu::Queue,
    report: AdapterReport,
    limits: wgpu::Limits,
    gemm_policy: GemmPolicy,
    /// Workgroups that fill the device (see `gemm_plan::fill_workgroups`).
    fill: usize,
    /// The plan of every GEMM run so far, and those kept from earlier runs.
    plans: Mutex<gemm_tune::Plans>,
    /// Where `GemmPolicy::Tuned` keeps its winners between runs.
    #[cfg(feature = "native")]
    plan_cache: Option<PlanCache>,
    pool: Mutex<BufferPool>,
    kernels: Mutex<KernelCache>,
    recorder: Mutex<Recorder>,
    /// The first fault wgpu reported: the device lost, or work it rejected (an invalid
    /// shader or pipeline, or memory it could not allocate), whose results would
    /// otherwise read back as stale data. Shared by `with_gemm`'s contexts.
    fault: Arc<Mutex<Option<String>>>,
}

/// A handle to the device that every tensor and op runs on.
#[derive(Clone)]
pub struct Gpu(Arc<GpuInner>);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock leaves plain data behind, still usable.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Gpu {
    /// Opens the best adapter among those `options` allow. In the browser the page's
    /// WebGPU adapter is the only one, and `options` only chooses the GEMM policy.
    pub async fn with_options_async(options: &GpuOptions) -> Result<Gpu> {
        let (_adapter, device, queue, report) = context::open(options).await?;
        let fault: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
        let record = |fault: &Arc<Mutex<Option<String>>>, what: String| {
            lock(fault).get_or_insert(what);
        };
        let lost = fault.clone();
        device.set_device_lost_callback(move |reason, message| {
            record(
                &lost,
                format!("the GPU device was lost ({reason:?}: {message})"),
            );
        });
        let rejected = fault.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            record(&rejected, format!("the GPU rejected work: {e}"));
        }));
        let cache = options.plan_cache.clone();
        Gpu::on_device(device, queue, report, options.gemm, cache, fault)
    }

    /// Another context on this one's device, whose GEMMs follow `gemm`: for comparing
    /// plans without opening a second device (which the browser can't do blocking).
    /// It has no plan cache: what it tunes, it tunes itself.
    pub fn with_gemm(&self, gemm: GemmPolicy) -> Result<Gpu> {
        let inner = &self.0;
        Gpu::on_device(
            inner.device.clone(),
            inner.queue.clone(),
            inner.report.clone(),
            gemm,
            None,
            inner.fault.clone(),
        )
    }

    fn on_device(
        device: wgpu::Device,
        queue: wgpu::Queue,
        report: AdapterReport,
        gemm: GemmPolicy,
        plan_cache: Option<PlanCache>,
        fault: Arc<Mutex<Option<String>>>,
    ) -> Result<Gpu> {
        let gemm = match gemm {
            GemmPolicy::TunedOnGpus if report.device_type == wgpu::DeviceType::Cpu => {
                GemmPolicy::Auto
            }
            GemmPolicy::TunedOnGpus => GemmPolicy::Tuned,
            gemm => gemm,
        };
        let plans = gemm_tune::Plans {
            kept: plan_store::cached(plan_cache.as_ref(), gemm, &report),
            ..Default::default()
        };
        let limits = device.limits();
        let recorder = Recorder::new(limits.min_uniform_buffer_offset_alignment);
        let fill = gemm_plan::fill_workgroups(&report);
        if let Some(lanes) = gemm.lanes()
            && report.subgroup_size() != Some(lanes)
        {
            return Err(Error::Device(format!(
                "the GEMM core asked for needs subgroups of exactly {lanes} lanes, and {} has {}",
                report.name,
                if report.has_subgroups {
                    format!("{}..{}", report.subgroup_min_size, report.subgroup_max_size)
                } else {
                    "none".to_string()
                }
            )));
        }
        Ok(Gpu(Arc::new(GpuInner {
            device,
            queue,
            report,
            limits,
            gemm_policy: gemm,
            fill,
            plans: Mutex::new(plans),
            #[cfg(feature = "native")]
            plan_cache,
            pool: Mutex::new(BufferPool::default()),
            kernels: Mutex::new(KernelCache::default()),
            recorder: Mutex::new(recorder),
            fault,
        })))
    }

    /// The fault wgpu reported, if any, as an error: every read-back checks it, so
    /// work the GPU rejected or lost never reads back as a result.
    fn check_fault(&self) -> Result<()> {
        match lock(&self.0.fault).as_ref() {
            None => Ok(()),
            Some(fault) => Err(Error::Device(format!(
                "{fault}. Start again (in a browser, reload the page), and resume from the \
                 last checkpoint"
            ))),
        }
    }

    /// The error for work the GPU never finished: the fault wgpu reported, or `what`.
    fn unfinished(&self, what: &str) -> Error {
        self.check_fault().err().unwrap_or_else(|| {
            Error::Device(format!(
                "{what}: the GPU device was probably lost. Start again (in a browser, \
                 reload the page), and resume from the last checkpoint"
            ))
        })
    }

    /// Whether `other` is this same context (not merely one on the same adapter).
    pub(crate) fn is(&self, other: &Gpu) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The adapter this context chose, and what it offers.
    pub fn adapter(&self) -> &AdapterReport {
        &self.0.report
    }

    /// The device limits in force (the adapter's real ones).
    pub fn limits(&self) -> &wgpu::Limits {
        &self.0.limits
    }

    /// Whether a workgroup barrier costs far more than the work between barriers: on
    /// Chromium's SwiftShader (the browser's CPU device), which runs such a workgroup
    /// as one coroutine per 4 lanes and switches between them at every barrier. Kernels
    /// with a barrier-free form take it there.
    pub fn barriers_are_slow(&self) -> bool {
        let r = &self.0.report;
        r.backend == wgpu::Backend::BrowserWebGpu && r.device_type == wgpu::DeviceType::Cpu
    }

    /// Whether kernels may use subgroup builtins, with the subgroup size they must assume.
    pub fn subgroup_size(&self) -> Option<u32> {
        self.0.report.subgroup_size()
    }

    /// How a GEMM of C (m, n) over k runs on this adapter (see
    /// `GemmPolicy`).
    pub fn gemm_plan(&self, m: usize, n: usize, k: usize) -> GemmPlan {
        match self.0.gemm_policy {
            GemmPolicy::Plan(plan) => plan,
            GemmPolicy::Core(core) => self.gemm_plan_on(core, m, n, k),
            GemmPolicy::Auto | GemmPolicy::Tuned | GemmPolicy::TunedOnGpus => {
                gemm_plan::auto_plan(&self.0.report, self.0.fill, m, n, k)
            }
            GemmPolicy::AutoAs(device_type) => {
                let report = AdapterReport {
                    device_type,
                    ..self.0.report.clone()
                };
                let fill = gemm_plan::fill_workgroups(&report);
                gemm_plan::auto_plan(&report, fill, m, n, k)
            }
        }
    }

    /// Whether GEMMs time their candidate plans on first use (`GemmPolicy::Tuned`).
    pub fn tunes(&self) -> bool {
        cfg!(feature = "native") && self.0.gemm_policy == GemmPolicy::Tuned
    }

    /// The plan `key`'s GEMM has run on in this context, if it has run.
    pub(crate) fn chosen_plan(&self, key: &GemmKey) -> Option<GemmPlan> {
        lock(&self.0.plans).chosen.get(key).copied()
    }

    /// The plan kept for `key` from an earlier run, if any.
    pub(crate) fn kept_plan(&self, key: &GemmKey) -> Option<GemmPlan> {
        lock(&self.0.plans).kept.get(key).copied()
    }

    /// Makes `plan` the one `key`'s GEMM runs on from now on.
    pub(crate) fn choose_plan(&self, key: GemmKey, plan: GemmPlan) {
        lock(&self.0.plans).chosen.insert(key, plan);
    }

    /// Makes `plan`, found by timing in `spent`, `key`'s, and keeps it in the plan
    /// cache; a cache that can't be written costs a note, not the run.
    #[cfg(feature = "native")]
    pub(crate) fn keep_tuned(&self, key: GemmKey, plan: GemmPlan, spent: std::time::Duration) {
        let mut plans = lock(&self.0.plans);
        plans.chosen.insert(key.clone(), plan);
        plans.tuned += 1;
        plans.spent += spent;
        drop(plans);
        if let Some(cache) = &self.0.plan_cache {
            let one = std::collections::HashMap::from([(key, plan)]);
            if let Err(e) = plan_store::file::save(&cache.path, &self.0.report, &one) {
                eprintln!("note: the tuned GEMM plan is not cached: {e}");
            }
        }
    }

    /// GEMM shapes tuned so far, and the time spent tuning them.
    pub fn tuning_stats(&self) -> (usize, std::time::Duration) {
        let plans = lock(&self.0.plans);
        (plans.tuned, plans.spent)
    }

    /// The plan of every GEMM run so far, by its key's text, in order: what a
    /// checkpoint records.
    pub fn gemm_plans(&self) -> Vec<(String, GemmPlan)> {
        let plans = lock(&self.0.plans);
        let mut list: Vec<(String, GemmPlan)> =
            plans.chosen.iter().map(|(k, p)| (k.text(), *p)).collect();
        list.sort_by(|a, b| a.0.cmp(&b.0));
        list
    }

    /// The checkpoint metadata entry (name, value) that records every GEMM's plan
    /// and the adapter that chose them.
    pub fn plans_metadata(&self) -> (String, String) {
        let plans = lock(&self.0.plans);
        let text = plan_store::plans_metadata(&self.0.report, plans.chosen.iter());
        (plan_store::METADATA_KEY.to_string(), text)
    }

    /// Takes the plans that a checkpoint's `metadata` recorded, so that a resumed run
    /// sums as the run it continues did: each replaces this context's plan for its
    /// GEMM. Returns a note when they are not taken: recorded on another adapter,
    /// damaged, or every core forced here (`DUEL_GEMM`). `name` is what the note
    /// calls the checkpoint.
    pub fn resume_plans(
        &self,
        metadata: &std::collections::BTreeMap<String, String>,
        name: &str,
    ) -> Option<String> {
        let text = metadata.get(plan_store::METADATA_KEY)?;
        if self.0.gemm_policy.forced() {
            return Some(format!(
                "{name}'s GEMM plans are not used, since DUEL_GEMM forces a core"
            ));
        }
        match plan_store::plans_from_metadata(&self.0.report, text, name) {
            Ok(kept) => {
                let mut plans = lock(&self.0.plans);
                for (key, plan) in kept {
                    plans.chosen.remove(&key);
                    plans.kept.insert(key, plan);
                }
                None
            }
            Err(note) => Some(note),
        }
    }

    /// `core` with the split of K that fills this adapter for C (m, n) over k.
    pub fn gemm_plan_on(&self, core: GemmCore, m: usize, n: usize, k: usize) -> GemmPlan {
        GemmPlan::new(core, gemm_plan::auto_splits(core, self.0.fill, m, n, k))
    }

    /// The element offsets at which a tensor can begin inside another's buffer and
    /// still be bound: a multiple of this (the device's storage offset alignment).
    pub fn binding_alignment(&self) -> usize {
        (self.0.limits.min_storage_buffer_offset_alignment as usize / 4).max(1)
    }

    pub fn pool_stats(&self) -> PoolStats {
        lock(&self.0.pool).stats()
    }

    pub fn batch_stats(&self) -> BatchStats {
        lock(&self.0.recorder).stats
    }

    /// How many compute pipelines have been compiled so far.
    pub fn pipelines_created(&self) -> u64 {
        lock(&self.0.kernels).pipelines_created
    }

    /// The largest buffer a kernel can bind, in bytes.
    pub fn max_binding_bytes(&self) -> u64 {
        self.0
            .limits
            .max_storage_buffer_binding_size
            .min(self.0.limits.max_buffer_size)
    }

    /// Takes a storage buffer of at least `bytes` from the pool.
    pub(crate) fn take_buffer(&self, kind: BufferKind, bytes: u64) -> Result<wgpu::Buffer> {
        let max = self.max_binding_bytes();
        if pool::rounded_size(bytes) > max {
            return Err(Error::TooLarge(format!(
                "{bytes} bytes requested, but {} binds at most {max} bytes per buffer; \
                 split the tensor or use smaller batches",
                self.0.report.name
            )));
        }
        Ok(lock(&self.0.pool).take(&self.0.device, kind, bytes))
    }

    pub(crate) fn give_back(&self, kind: BufferKind, buffer: wgpu::Buffer) {
        lock(&self.0.pool).give_back(kind, buffer);
    }

    /// Splits a 1-D count of workgroups into a grid within the per-dimension limit.
    /// Kernels rebuild the linear index as `id.x + id.y * num_workgroups.x`.
    pub(crate) fn grid(&self, groups: u64) -> Result<[u32; 3]> {
        let max = u64::from(self.0.limits.max_compute_workgroups_per_dimension);
        if groups <= max {
            return Ok([groups.max(1) as u32, 1, 1]);
        }
        let y = groups.div_ceil(max);
        if y > max {
            return Err(Error::TooLarge(format!(
                "{groups} workgroups exceed a {max}x{max} grid"
            )));
        }
        Ok([max as u32, y as u32, 1])
    }

    /// Records one dispatch of `key` into the pending batch; `buffers` bind in order
    /// from binding 1.
    pub(crate) fn dispatch<P: bytemuck::Pod>(
        &self,
        key: &KernelKey,
        params: &P,
        buffers: &[BufferRange],
        groups: [u32; 3],
    ) {
        let numbered: Vec<(u32, BufferRange)> = (1..).zip(buffers.iter().cloned()).collect();
        self.dispatch_bound(key, params, &numbered, groups);
    }

    /// Records one dispatch of `key`, with each buffer at the binding it names.
    pub(crate) fn dispatch_bound<P: bytemuck::Pod>(
        &self,
        key: &KernelKey,
        params: &P,
        buffers: &[(u32, BufferRange)],
        groups: [u32; 3],
    ) {
        let kernel = lock(&self.0.kernels).get(&self.0.device, key);
        lock(&self.0.recorder).dispatch(
            &self.0.device,
            &kernel,
            bytemuck::bytes_of(params),
            buffers,
            groups,
        );
    }

    /// Writes host data into a buffer range, ordered after everything already recorded.
    pub(crate) fn write(&self, range: &BufferRange, bytes: &[u8]) {
        // `queue.write_buffer` lands before the next submission's commands, so any
        // pending work that still reads this (possibly recycled) buffer goes first.
        let mut recorder = lock(&self.0.recorder);
        // A failed profile read-back only loses timings; the write must still happen.
        let _ = self.submit(&mut recorder);
        self.0
            .queue
            .write_buffer(&range.buffer, range.offset, bytes);
    }

    /// Submits the pending batch and reads the first bytes of each range back to the
    /// host, all through one staging buffer and one wait. This is the one place data
    /// leaves the GPU: every download awaits it.
    pub(crate) async fn read_async(&self, parts: &[(&BufferRange, u64)]) -> Result<Vec<Vec<u8>>> {
        if parts.is_empty() {
            return Ok(Vec::new());
        }
        // Rounding up stays inside each buffer: pooled sizes are rounded the same way,
        // and ranges start on a binding boundary, a multiple of 16 bytes. The rounded
        // sizes also keep each part's place in the staging buffer copy-aligned.
        let places: Vec<u64> = parts
            .iter()
            .scan(0, |at, (_, bytes)| {
                let place = *at;
                *at += pool::rounded_size(*bytes);
                Some(place)
            })
            .collect();
        let total = parts.iter().map(|(_, b)| pool::rounded_size(*b)).sum();
        let staging = self.take_buffer(BufferKind::Readback, total)?;
        {
            let mut recorder = lock(&self.0.recorder);
            for ((range, bytes), &place) in parts.iter().zip(&places) {
                let size = pool::rounded_size(*bytes);
                recorder.copy(&self.0.device, range, (&staging, place), size);
            }
            self.submit(&mut recorder)?;
        }
        let data = self.map_and_copy(&staging, total).await;
        self.give_back(BufferKind::Readback, staging);
        let data = data?;
        Ok(parts
            .iter()
            .zip(&places)
            .map(|((_, bytes), &place)| data[place as usize..(place + bytes) as usize].to_vec())
            .collect())
    }

    /// Submits everything pending and waits until the GPU has finished it.
    pub async fn finish_async(&self) -> Result<()> {
        self.submit(&mut lock(&self.0.recorder))?;
        let (sender, receiver) = futures_channel::oneshot::channel();
        self.0.queue.on_submitted_work_done(move || {
            let _ = sender.send(());
        });
        self.wait()?;
        receiver
            .await
            .map_err(|_| self.unfinished("the GPU never finished its work"))?;
        self.check_fault()
    }

    /// Maps `staging` and copies its first `bytes` out. The map completes when the GPU
    /// is done with the buffer: natively a blocking poll gets there; in the browser the
    /// callback fires only once control returns to the page, which the await does.
    async fn map_and_copy(&self, staging: &wgpu::Buffer, bytes: u64) -> Result<Vec<u8>> {
        let (sender, receiver) = futures_channel::oneshot::channel();
        staging.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            let _ = sender.send(r);
        });
        self.wait()?;
        receiver
            .await
            .map_err(|_| self.unfinished("a readback never finished"))?
            .map_err(|e| self.unfinished(&format!("could not map a readback buffer ({e})")))?;
        self.check_fault()?;
        let data = {
            let view = staging
                .slice(..)
                .get_mapped_range()
                .map_err(|e| Error::Device(format!("could not view a mapped buffer: {e}")))?;
            view[..bytes as usize].to_vec()
        };
        staging.unmap();
        Ok(data)
    }

    /// Starts or stops per-kernel timing (see `profile_async`). Needs timestamp
    /// queries. Each timed dispatch gets a compute pass of its own, so a profiled step
    /// is slower than a plain one; the kernels compare with each other.
    pub fn set_profiling(&self, on: bool) -> Result<()> {
        if on && !self.0.report.has_timestamps {
            return Err(Error::Device(format!(
                "{} has no timestamp queries to profile with",
                self.0.report.name
            )));
        }
        let mut recorder = lock(&self.0.recorder);
        self.submit(&mut recorder)?;
        recorder.profiler = on.then(|| profiler::Profiler::new(&self.0.device));
        Ok(())
    }

    /// GPU time per kernel since profiling started, most expensive first: submits
    /// what is recorded and reads its timestamps.
    pub async fn profile_async(&self) -> Result<Vec<KernelTime>> {
        let unread = {
            let mut recorder = lock(&self.0.recorder);
            recorder.submit(&self.0.queue);
            recorder
                .profiler
                .as_ref()
                .map(|p| (p.readback.clone(), p.pending.len() as u64 * 16))
        };
        let Some((readback, bytes)) = unread else {
            return Ok(Vec::new());
        };
        let stamps = match bytes {
            0 => Vec::new(),
            _ => self.map_and_copy(&readback, bytes).await?,
        };
        let period = f64::from(self.0.queue.get_timestamp_period());
        let mut recorder = lock(&self.0.recorder);
        Ok(recorder
            .profiler
            .as_mut()
            .map(|p| {
                p.account(&stamps, period);
                p.report()
            })
            .unwrap_or_default())
    }

    /// Submits the recorder's batch; when profiling natively, waits for it and reads
    /// the per-dispatch timestamps into the profiler's totals, so that they never
    /// outgrow the query set. (In the browser they wait for `profile_async`.)
    fn submit(&self, recorder: &mut Recorder) -> Result<()> {
        let profiling = recorder
            .profiler
            .as_ref()
            .is_some_and(|p| !p.pending.is_empty());
        if !recorder.submit(&self.0.queue) || !profiling {
            return Ok(());
        }
        self.account_profile(recorder)
    }

    /// Natively, blocks until the GPU is idle; in the browser, returns at once (the
    /// browser finishes work only after the page yields).
    pub(crate) fn wait(&self) -> Result<()> {
        self.0
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(|_| ())
            .map_err(|e| Error::Device(format!("waiting for the GPU failed: {e}")))
    }

    /// In the browser a wait can't block: `profile_async` reads the timestamps.
    #[cfg(not(feature = "native"))]
    fn account_profile(&self, _recorder: &mut Recorder) -> Result<()> {
        Ok(())
    }
}
