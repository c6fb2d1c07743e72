//! Shader modules and compute pipelines, each created once and cached.
//!
//! Every `shaders/*.wgsl` is part of a source in `SHADERS`. A kernel is one entry point of
//! one shader plus its override constants (tile sizes and the like), so the same
//! WGSL serves each adapter with the sizes that suit it.

use std::collections::HashMap;
use std::sync::Arc;

/// Every shader the engine compiles, by name, with its source. WGSL has no includes,
/// so a family's shared declarations sit in a file of their own, placed in front.
pub const SHADERS: &[(&str, &str)] = &[
    (
        "elementwise",
        include_str!("../../shaders/elementwise.wgsl"),
    ),
    ("fill", include_str!("../../shaders/fill.wgsl")),
    (
        "matmul",
        concat!(
            include_str!("../../shaders/matmul_common.wgsl"),
            include_str!("../../shaders/matmul.wgsl")
        ),
    ),
    (
        "matmul_subgroup",
        concat!(
            include_str!("../../shaders/matmul_common.wgsl"),
            include_str!("../../shaders/matmul_subgroup.wgsl")
        ),
    ),
    ("reduce", include_str!("../../shaders/reduce.wgsl")),
];

/// Names one pipeline: shader, entry point and override constants.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct KernelKey {
    pub shader: &'static str,
    pub entry: &'static str,
    /// Override constants as (name, f64 bits) so the key can be hashed.
    pub constants: Vec<(&'static str, u64)>,
}

impl KernelKey {
    pub fn new(shader: &'static str, entry: &'static str) -> Self {
        KernelKey {
            shader,
            entry,
            constants: Vec::new(),
        }
    }

    pub fn with(mut self, name: &'static str, value: u32) -> Self {
        self.constants.push((name, f64::from(value).to_bits()));
        self
    }
}

/// A compiled pipeline and the layout its bind groups must follow.
pub(crate) struct Kernel {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
    pub name: String,
}

#[derive(Default)]
pub(crate) struct KernelCache {
    modules: HashMap<&'static str, wgpu::ShaderModule>,
    pipelines: HashMap<KernelKey, Arc<Kernel>>,
    pub pipelines_created: u64,
}

impl KernelCache {
    pub fn get(&mut self, device: &wgpu::Device, key: &KernelKey) -> Arc<Kernel> {
        if let Some(kernel) = self.pipelines.get(key) {
            return kernel.clone();
        }
        let module = self.modules.entry(key.shader).or_insert_with(|| {
            let source = SHADERS
                .iter()
                .find(|(name, _)| *name == key.shader)
                .unwrap_or_else(|| panic!("shader {} is not registered in SHADERS", key.shader))
                .1;
            device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(key.shader),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            })
        });
        let constants: Vec<(&str, f64)> = key
            .constants
            .iter()
            .map(|(name, bits)| (*name, f64::from_bits(*bits)))
            .collect();
        let name = format!("{}::{}", key.shader, key.entry);
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&name),
            layout: None,
            module,
            entry_point: Some(key.entry),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &constants,
                // Kernels initialise the workgroup memory they read.
                zero_initialize_workgroup_memory: false,
            },
            cache: None,
        });
        let layout = pipeline.get_bind_group_layout(0);
        self.pipelines_created += 1;
        let kernel = Arc::new(Kernel {
            pipeline,
            layout,
            name,
        });
        self.pipelines.insert(key.clone(), kernel.clone());
        kernel
    }
}
