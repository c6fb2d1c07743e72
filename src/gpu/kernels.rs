//! Shader modules and compute pipelines, each created once and cached.
//!
//! Every `shaders/*.wgsl` is registered here, plain or as a GEMM prelude. A kernel is
//! one entry point of one shader plus its override constants; GEMM shaders also name
//! their generated core, whose tile sizes are chosen per adapter.

use super::GemmCore;
use std::collections::HashMap;
use std::sync::Arc;

/// Every plain shader, by name, with its source.
pub const SHADERS: &[(&str, &str)] = &[
    ("adam", include_str!("../../shaders/adam.wgsl")),
    ("batchnorm", include_str!("../../shaders/batchnorm.wgsl")),
    ("classify", include_str!("../../shaders/classify.wgsl")),
    (
        "elementwise",
        include_str!("../../shaders/elementwise.wgsl"),
    ),
    ("fill", include_str!("../../shaders/fill.wgsl")),
    ("gather", include_str!("../../shaders/gather.wgsl")),
    ("loss", include_str!("../../shaders/loss.wgsl")),
    ("random", include_str!("../../shaders/random.wgsl")),
    ("reduce", include_str!("../../shaders/reduce.wgsl")),
    ("upsample", include_str!("../../shaders/upsample.wgsl")),
];

/// Every GEMM prelude, by name; each compiles with a generated `gemm` core after it.
/// WGSL has no includes, so the convolutions' shared geometry is a file placed in front.
pub const GEMM_PRELUDES: &[(&str, &str)] = &[
    (
        "gemm_matmul",
        include_str!("../../shaders/gemm_matmul.wgsl"),
    ),
    (
        "gemm_conv_forward",
        concat!(
            include_str!("../../shaders/gemm_conv_common.wgsl"),
            include_str!("../../shaders/gemm_conv_forward.wgsl")
        ),
    ),
    (
        "gemm_conv_input_grad",
        concat!(
            include_str!("../../shaders/gemm_conv_common.wgsl"),
            include_str!("../../shaders/gemm_conv_input_grad.wgsl")
        ),
    ),
    (
        "gemm_conv_weight_grad",
        concat!(
            include_str!("../../shaders/gemm_conv_common.wgsl"),
            include_str!("../../shaders/gemm_conv_weight_grad.wgsl")
        ),
    ),
];

/// Where a kernel's WGSL comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ShaderId {
    Plain(&'static str),
    Gemm(&'static str, GemmCore),
}

impl ShaderId {
    fn source(self) -> String {
        let find = |table: &[(&str, &'static str)], name: &str| {
            table
                .iter()
                .find(|(n, _)| *n == name)
                .unwrap_or_else(|| panic!("shader {name} is not registered"))
                .1
        };
        match self {
            ShaderId::Plain(name) => find(SHADERS, name).to_string(),
            ShaderId::Gemm(prelude, core) => gemm_source(find(GEMM_PRELUDES, prelude), core),
        }
    }
}

/// A GEMM shader's full WGSL: its prelude followed by the generated core.
pub fn gemm_source(prelude: &str, core: GemmCore) -> String {
    format!("{prelude}{}", core.wgsl())
}

/// Names one pipeline: shader, entry point and override constants.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct KernelKey {
    pub shader: ShaderId,
    pub entry: &'static str,
    /// Override constants as (name, f64 bits) so the key can be hashed.
    pub constants: Vec<(&'static str, u64)>,
}

impl KernelKey {
    pub fn new(shader: &'static str, entry: &'static str) -> Self {
        KernelKey {
            shader: ShaderId::Plain(shader),
            entry,
            constants: Vec::new(),
        }
    }

    pub fn gemm(prelude: &'static str, core: GemmCore) -> Self {
        KernelKey {
            shader: ShaderId::Gemm(prelude, core),
            entry: "gemm",
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
    modules: HashMap<ShaderId, wgpu::ShaderModule>,
    pipelines: HashMap<KernelKey, Arc<Kernel>>,
    pub pipelines_created: u64,
}

impl KernelCache {
    pub fn get(&mut self, device: &wgpu::Device, key: &KernelKey) -> Arc<Kernel> {
        if let Some(kernel) = self.pipelines.get(key) {
            return kernel.clone();
        }
        let module = self.modules.entry(key.shader).or_insert_with(|| {
            let source = key.shader.source();
            device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some("duel"),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            })
        });
        let constants: Vec<(&str, f64)> = key
            .constants
            .iter()
            .map(|(name, bits)| (*name, f64::from_bits(*bits)))
            .collect();
        let name = format!("{:?}::{}", key.shader, key.entry);
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
