//! Per-kernel GPU times, for finding where a training step spends its time. While
//! profiling, each dispatch runs in a compute pass of its own with timestamps at its
//! start and end, so totals include no other kernel; the extra passes make the whole
//! run slower, so compare kernels with each other, not with unprofiled runs.

use std::collections::HashMap;

/// Dispatches timed per submission; later ones in the same submission go untimed.
pub(crate) const CAPACITY: u32 = 2048;

/// One kernel's share of the profiled time.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelTime {
    pub name: String,
    pub calls: u64,
    pub ms: f64,
}

pub(crate) struct Profiler {
    pub query_set: wgpu::QuerySet,
    pub resolve: wgpu::Buffer,
    pub readback: wgpu::Buffer,
    /// The kernel of each timed dispatch in the open batch, in order.
    pub pending: Vec<String>,
    totals: HashMap<String, (u64, f64)>,
}

impl Profiler {
    pub fn new(device: &wgpu::Device) -> Profiler {
        let bytes = u64::from(CAPACITY) * 2 * 8;
        Profiler {
            query_set: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("duel profiler"),
                ty: wgpu::QueryType::Timestamp,
                count: CAPACITY * 2,
            }),
            resolve: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("duel profiler resolve"),
                size: bytes,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
            readback: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("duel profiler readback"),
                size: bytes,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            pending: Vec::new(),
            totals: HashMap::new(),
        }
    }

    /// Adds the pending dispatches' times, from their (start, end) timestamp pairs.
    pub fn account(&mut self, stamps: &[u8], period_ns: f64) {
        for (i, name) in self.pending.drain(..).enumerate() {
            let at = |j: usize| {
                u64::from_le_bytes(stamps[j * 8..j * 8 + 8].try_into().expect("8 bytes"))
            };
            let ns = at(2 * i + 1).saturating_sub(at(2 * i)) as f64 * period_ns;
            let entry = self.totals.entry(name).or_default();
            entry.0 += 1;
            entry.1 += ns;
        }
    }

    /// Totals so far, most expensive first.
    pub fn report(&self) -> Vec<KernelTime> {
        let mut rows: Vec<KernelTime> = self
            .totals
            .iter()
            .map(|(name, (calls, ns))| KernelTime {
                name: name.clone(),
                calls: *calls,
                ms: ns / 1e6,
            })
            .collect();
        rows.sort_by(|a, b| b.ms.total_cmp(&a.ms));
        rows
    }
}
