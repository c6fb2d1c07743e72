//! The pending command encoder. Dispatches are recorded into one open compute pass
//! and submitted only at a sync point (a download or an explicit `sync`), because on
//! lavapipe a dispatch costs about 30 µs inside a shared pass and about 90 µs in a
//! pass of its own, and a submit-and-wait costs far more than either.
//!
//! Each dispatch's `Params` go into a uniform arena: fixed 64 KiB chunks mirrored on
//! the CPU and written to the GPU once per submission, so recording allocates nothing.

use super::BufferRange;
use super::kernels::Kernel;
use super::profiler::{CAPACITY, Profiler};

const CHUNK_BYTES: u64 = 64 * 1024;

struct UniformChunk {
    buffer: wgpu::Buffer,
    mirror: Vec<u8>,
}

/// Uniform storage for the `Params` of every dispatch in the open batch.
struct UniformArena {
    chunks: Vec<UniformChunk>,
    chunk: usize,
    offset: u64,
    align: u64,
}

impl UniformArena {
    /// Copies `bytes` into the arena and returns where they will live on the GPU.
    fn push(&mut self, device: &wgpu::Device, bytes: &[u8]) -> (usize, u64) {
        let len = bytes.len() as u64;
        if self.offset + len > CHUNK_BYTES {
            self.chunk += 1;
            self.offset = 0;
        }
        if self.chunk == self.chunks.len() {
            self.chunks.push(UniformChunk {
                buffer: device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("duel params"),
                    size: CHUNK_BYTES,
                    usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                }),
                mirror: vec![0; CHUNK_BYTES as usize],
            });
        }
        let at = self.offset;
        let chunk = &mut self.chunks[self.chunk];
        chunk.mirror[at as usize..(at + len) as usize].copy_from_slice(bytes);
        self.offset = (at + len).div_ceil(self.align) * self.align;
        (self.chunk, at)
    }

    /// Writes the used part of each chunk to the GPU and empties the arena.
    fn upload_and_reset(&mut self, queue: &wgpu::Queue) {
        for (i, chunk) in self.chunks.iter().enumerate().take(self.chunk + 1) {
            let used = if i == self.chunk {
                self.offset
            } else {
                CHUNK_BYTES
            };
            if used > 0 {
                queue.write_buffer(&chunk.buffer, 0, &chunk.mirror[..used as usize]);
            }
        }
        self.chunk = 0;
        self.offset = 0;
    }
}

/// Timestamp queries for the pass that a `Profiler` measures.
pub(crate) struct Timestamps {
    pub query_set: wgpu::QuerySet,
    #[cfg_attr(not(feature = "native"), allow(dead_code))]
    pub resolve: wgpu::Buffer,
}

/// Counters of recorded work, for benches and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchStats {
    pub dispatches: u64,
    pub submissions: u64,
}

fn open_encoder<'a>(
    slot: &'a mut Option<wgpu::CommandEncoder>,
    device: &wgpu::Device,
) -> &'a mut wgpu::CommandEncoder {
    slot.get_or_insert_with(|| {
        device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("duel"),
        })
    })
}

pub(crate) struct Recorder {
    // The pass is declared first so it drops before the encoder it records into.
    pass: Option<wgpu::ComputePass<'static>>,
    encoder: Option<wgpu::CommandEncoder>,
    arena: UniformArena,
    /// When set, the next pass opened writes timestamps at its start and end.
    pub timestamps: Option<Timestamps>,
    pub time_next_pass: bool,
    /// When set, each dispatch gets a timed pass of its own (see `profiler`).
    pub profiler: Option<Profiler>,
    pub stats: BatchStats,
}

impl Recorder {
    pub fn new(uniform_align: u32) -> Self {
        Recorder {
            pass: None,
            encoder: None,
            arena: UniformArena {
                chunks: Vec::new(),
                chunk: 0,
                offset: 0,
                align: u64::from(uniform_align.max(16)),
            },
            timestamps: None,
            time_next_pass: false,
            profiler: None,
            stats: BatchStats::default(),
        }
    }

    #[cfg(feature = "native")]
    pub fn is_empty(&self) -> bool {
        self.encoder.is_none()
    }

    /// Records one dispatch into the open pass, opening one if needed.
    /// `buffers` are (binding, buffer); binding 0 is the kernel's `Params`. Those the
    /// kernel's entry point does not use are left out, as its layout leaves them out.
    pub fn dispatch(
        &mut self,
        device: &wgpu::Device,
        kernel: &Kernel,
        params: &[u8],
        buffers: &[(u32, BufferRange)],
        groups: [u32; 3],
    ) {
        let (chunk, offset) = self.arena.push(device, params);
        let uniform = wgpu::BufferBinding {
            buffer: &self.arena.chunks[chunk].buffer,
            offset,
            size: wgpu::BufferSize::new(params.len() as u64),
        };
        let mut entries = Vec::with_capacity(buffers.len() + 1);
        entries.push(wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(uniform),
        });
        for (binding, range) in buffers {
            if kernel.bindings.contains(binding) {
                entries.push(wgpu::BindGroupEntry {
                    binding: *binding,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &range.buffer,
                        offset: range.offset,
                        size: range.size,
                    }),
                });
            }
        }
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(&kernel.name),
            layout: &kernel.layout,
            entries: &entries,
        });
        let profiled = self
            .profiler
            .as_ref()
            .is_some_and(|p| (p.pending.len() as u32) < CAPACITY);
        if profiled {
            self.end_pass();
        }
        if self.pass.is_none() {
            let timestamp_writes = if let Some(p) = self.profiler.as_ref().filter(|_| profiled) {
                let first = 2 * p.pending.len() as u32;
                Some(wgpu::ComputePassTimestampWrites {
                    query_set: &p.query_set,
                    beginning_of_pass_write_index: Some(first),
                    end_of_pass_write_index: Some(first + 1),
                })
            } else if self.time_next_pass {
                self.timestamps
                    .as_ref()
                    .map(|t| wgpu::ComputePassTimestampWrites {
                        query_set: &t.query_set,
                        beginning_of_pass_write_index: Some(0),
                        end_of_pass_write_index: Some(1),
                    })
            } else {
                None
            };
            let pass = open_encoder(&mut self.encoder, device)
                .begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("duel"),
                    timestamp_writes,
                })
                .forget_lifetime();
            self.pass = Some(pass);
        }
        let pass = self.pass.as_mut().expect("pass opened above");
        pass.set_pipeline(&kernel.pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        self.stats.dispatches += 1;
        if profiled && let Some(p) = self.profiler.as_mut() {
            p.pending.push(kernel.name.clone());
            self.pass = None;
        }
    }

    /// Ends the open pass, so that copies (which live outside passes) can follow.
    pub fn end_pass(&mut self) {
        self.pass = None;
    }

    /// Records a buffer-to-buffer copy, into `to` from byte `at`, after everything
    /// recorded so far.
    pub fn copy(
        &mut self,
        device: &wgpu::Device,
        from: &BufferRange,
        (to, at): (&wgpu::Buffer, u64),
        bytes: u64,
    ) {
        self.end_pass();
        open_encoder(&mut self.encoder, device).copy_buffer_to_buffer(
            &from.buffer,
            from.offset,
            to,
            at,
            bytes,
        );
    }

    /// Resolves the timed pass's two timestamps into the resolve buffer and then `to`.
    #[cfg(feature = "native")]
    pub fn resolve_timestamps(&mut self, device: &wgpu::Device, to: &wgpu::Buffer) {
        self.end_pass();
        let Some(t) = self.timestamps.take() else {
            return;
        };
        let encoder = open_encoder(&mut self.encoder, device);
        encoder.resolve_query_set(&t.query_set, 0..2, &t.resolve, 0);
        encoder.copy_buffer_to_buffer(&t.resolve, 0, to, 0, 16);
        self.timestamps = Some(t);
    }

    /// Submits everything recorded; returns whether there was anything to submit.
    pub fn submit(&mut self, queue: &wgpu::Queue) -> bool {
        self.end_pass();
        let Some(mut encoder) = self.encoder.take() else {
            return false;
        };
        // Profiled dispatches' timestamps go to the readback buffer, for the caller.
        if let Some(p) = self.profiler.as_ref().filter(|p| !p.pending.is_empty()) {
            let queries = 2 * p.pending.len() as u32;
            encoder.resolve_query_set(&p.query_set, 0..queries, &p.resolve, 0);
            encoder.copy_buffer_to_buffer(&p.resolve, 0, &p.readback, 0, u64::from(queries) * 8);
        }
        self.arena.upload_and_reset(queue);
        queue.submit([encoder.finish()]);
        self.stats.submissions += 1;
        self.time_next_pass = false;
        true
    }
}
