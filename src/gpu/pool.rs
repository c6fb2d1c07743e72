//! A buffer pool keyed by (kind, size), so that a loop repeating the same work
//! allocates nothing after its first pass: a dropped tensor's buffer is parked here
//! and handed to the next request of the same size.

use std::collections::HashMap;

/// What a pooled buffer is for; each kind has its own usage flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum BufferKind {
    /// Tensor storage: bound to kernels, copied to and from.
    Storage,
    /// CPU-readable staging for downloads.
    Readback,
}

impl BufferKind {
    fn usage(self) -> wgpu::BufferUsages {
        match self {
            BufferKind::Storage => {
                wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST
            }
            BufferKind::Readback => wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        }
    }
}

/// Counters that tests and benches read to prove the steady state allocates nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Buffers created on the device since start.
    pub allocations: u64,
    /// Requests served from the pool.
    pub reuses: u64,
    /// Bytes held by all buffers the pool has created.
    pub bytes_allocated: u64,
}

#[derive(Default)]
pub(crate) struct BufferPool {
    free: HashMap<(BufferKind, u64), Vec<wgpu::Buffer>>,
    stats: PoolStats,
}

/// Sizes round up to 16 bytes so that kernels may read whole vec4s at the tail.
pub(crate) fn rounded_size(bytes: u64) -> u64 {
    bytes.max(16).div_ceil(16) * 16
}

impl BufferPool {
    pub(crate) fn take(
        &mut self,
        device: &wgpu::Device,
        kind: BufferKind,
        bytes: u64,
    ) -> wgpu::Buffer {
        let size = rounded_size(bytes);
        if let Some(buffer) = self.free.get_mut(&(kind, size)).and_then(Vec::pop) {
            self.stats.reuses += 1;
            return buffer;
        }
        self.stats.allocations += 1;
        self.stats.bytes_allocated += size;
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("duel pooled buffer"),
            size,
            usage: kind.usage(),
            mapped_at_creation: false,
        })
    }

    pub(crate) fn give_back(&mut self, kind: BufferKind, buffer: wgpu::Buffer) {
        self.free
            .entry((kind, buffer.size()))
            .or_default()
            .push(buffer);
    }

    pub(crate) fn stats(&self) -> PoolStats {
        self.stats
    }
}
