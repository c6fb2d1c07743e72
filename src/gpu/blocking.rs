//! The blocking half of the GPU context, native only: opening a device, downloading
//! and waiting without an executor, and timing. Each download is `read_async` run to
//! completion by `pollster`, so native code and the browser share one readback path.

use super::batch::{Recorder, Timestamps};
use super::pool::BufferKind;
use super::{Gpu, GpuOptions, KernelTime, lock};
use crate::Result;
use std::time::{Duration, Instant};

impl Gpu {
    /// Opens the best adapter, honouring `WGPU_BACKEND` and `WGPU_ADAPTER_NAME`.
    pub fn new() -> Result<Gpu> {
        Gpu::with_options(&GpuOptions::from_env()?)
    }

    /// Opens the best adapter among those `options` allow.
    pub fn with_options(options: &GpuOptions) -> Result<Gpu> {
        pollster::block_on(Gpu::with_options_async(options))
    }

    /// Reads the profiler's pending timestamps into its totals.
    pub(super) fn account_profile(&self, recorder: &mut Recorder) -> Result<()> {
        let p = recorder.profiler.as_mut().expect("the caller checked");
        let bytes =
            pollster::block_on(self.map_and_copy(&p.readback, p.pending.len() as u64 * 16))?;
        p.account(&bytes, f64::from(self.0.queue.get_timestamp_period()));
        Ok(())
    }

    /// GPU time per kernel since profiling started, most expensive first.
    pub fn profile(&self) -> Result<Vec<KernelTime>> {
        pollster::block_on(self.profile_async())
    }

    /// Submits everything pending and waits for the GPU to finish it.
    pub fn sync(&self) -> Result<()> {
        pollster::block_on(self.finish_async())
    }

    /// Runs `work` and returns the GPU time it took: from timestamp queries around one
    /// compute pass where the adapter has them, else the wall time to a finished sync.
    /// `work` should only record dispatches: a download inside it ends the timed pass.
    pub fn time<F: FnMut() -> Result<()>>(&self, mut work: F) -> Result<Duration> {
        self.sync()?;
        if !self.0.report.has_timestamps {
            let start = Instant::now();
            work()?;
            self.sync()?;
            return Ok(start.elapsed());
        }
        {
            let mut recorder = lock(&self.0.recorder);
            if recorder.timestamps.is_none() {
                recorder.timestamps = Some(Timestamps {
                    query_set: self.0.device.create_query_set(&wgpu::QuerySetDescriptor {
                        label: Some("duel timing"),
                        ty: wgpu::QueryType::Timestamp,
                        count: 2,
                    }),
                    resolve: self.0.device.create_buffer(&wgpu::BufferDescriptor {
                        label: Some("duel timing resolve"),
                        size: 16,
                        usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                        mapped_at_creation: false,
                    }),
                });
            }
            recorder.time_next_pass = true;
        }
        work()?;
        let staging = self.take_buffer(BufferKind::Readback, 16)?;
        {
            let mut recorder = lock(&self.0.recorder);
            if recorder.is_empty() {
                recorder.time_next_pass = false;
                drop(recorder);
                self.give_back(BufferKind::Readback, staging);
                return Ok(Duration::ZERO);
            }
            recorder.resolve_timestamps(&self.0.device, &staging);
            recorder.submit(&self.0.queue);
        }
        let bytes = pollster::block_on(self.map_and_copy(&staging, 16))?;
        self.give_back(BufferKind::Readback, staging);
        let stamp = |i: usize| u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap());
        let period = f64::from(self.0.queue.get_timestamp_period());
        let nanos = stamp(1).saturating_sub(stamp(0)) as f64 * period;
        Ok(Duration::from_nanos(nanos as u64))
    }
}
