//! Shader modules and compute pipelines, each created once and cached.
//!
//! Every `shaders/*.wgsl` is embedded at compile time (build.rs) and found by name, so
//! a new shader needs no table entry; `// @include` lines pull in shared parts. A kernel is
//! one entry point of one shader plus its override constants; GEMM shaders also name
//! their generated core, whose tile sizes are chosen per adapter.

use super::GemmCore;
use std::collections::HashMap;
use std::sync::Arc;

include!(concat!(env!("OUT_DIR"), "/shader_files.rs"));

/// A line `// @include NAME` stands for the text of shaders/NAME.wgsl, since WGSL has
/// no includes of its own. Each file goes in once, where it is first named.
const INCLUDE: &str = "// @include ";

/// shaders/NAME.wgsl's entry in `SHADER_FILES`: its name, and its text.
fn file(name: &str) -> (&'static str, &'static str) {
    SHADER_FILES
        .iter()
        .find(|(n, _)| *n == name)
        .copied()
        .unwrap_or_else(|| panic!("there is no shaders/{name}.wgsl"))
}

/// The names that `text` includes directly.
pub fn includes(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter_map(|line| line.strip_prefix(INCLUDE))
        .map(str::trim)
}

/// The text of shaders/NAME.wgsl with its includes expanded.
pub fn shader_source(name: &str) -> String {
    fn expand(name: &'static str, seen: &mut Vec<&'static str>, out: &mut String) {
        for line in file(name).1.lines() {
            match line.strip_prefix(INCLUDE).map(str::trim) {
                Some(part) if !seen.contains(&part) => {
                    seen.push(part);
                    expand(part, seen, out);
                }
                Some(_) => {}
                None => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
    }
    let name = file(name).0;
    let mut out = String::new();
    expand(name, &mut vec![name], &mut out);
    out
}

/// What a shader file is, from its name and from what includes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShaderKind {
    /// Compiled as it is, its entry points named by the launchers.
    Plain,
    /// `gemm_*`: says what A, B and C are, and compiles with a generated core after it.
    GemmPrelude,
    /// Included by other shaders, never compiled alone.
    Part,
}

pub fn shader_kind(name: &str) -> ShaderKind {
    if SHADER_FILES
        .iter()
        .any(|(_, text)| includes(text).any(|n| n == name))
    {
        ShaderKind::Part
    } else if name.starts_with("gemm_") {
        ShaderKind::GemmPrelude
    } else {
        ShaderKind::Plain
    }
}

/// Where a kernel's WGSL comes from: a plain shader, or a GEMM prelude with a core in
/// its plain (`split` false) or split-K form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ShaderId {
    Plain(&'static str),
    Gemm {
        prelude: &'static str,
        core: GemmCore,
        split: bool,
    },
}

/// How profiles and labels name a shader: `batch_norm`, `gemm_conv_forward on tiled 64x64x16
/// (4x4 each), split-K`.
impl std::fmt::Display for ShaderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShaderId::Plain(name) => write!(f, "{name}"),
            ShaderId::Gemm {
                prelude,
                core,
                split,
            } => write!(
                f,
                "{prelude} on {core}{}",
                if *split { ", split-K" } else { "" }
            ),
        }
    }
}

impl ShaderId {
    /// What the browser's WGSL compiler needs before the source: `enable subgroups;`
    /// for the subgroup cores. naga 30, which reads every shader here and compiles them
    /// natively, refuses that directive ("not yet supported") and needs none.
    fn directives(self) -> &'static str {
        match self {
            ShaderId::Gemm {
                core: GemmCore::Subgroup { .. },
                ..
            } if cfg!(target_arch = "wasm32") => "enable subgroups;\n",
            _ => "",
        }
    }

    fn source(self) -> String {
        match self {
            ShaderId::Plain(name) => shader_source(name),
            ShaderId::Gemm {
                prelude,
                core,
                split,
            } => gemm_source(&shader_source(prelude), core, split),
        }
    }
}

/// A GEMM shader's full WGSL: its prelude followed by the generated core.
pub fn gemm_source(prelude: &str, core: GemmCore, split: bool) -> String {
    format!("{prelude}{}", core.wgsl(split))
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

    /// Entry `entry` ("gemm", or "gemm_reduce" of a split core) of a GEMM shader.
    pub fn gemm(prelude: &'static str, core: GemmCore, split: bool, entry: &'static str) -> Self {
        KernelKey {
            shader: ShaderId::Gemm {
                prelude,
                core,
                split,
            },
            entry,
            constants: Vec::new(),
        }
    }

    pub fn with(self, name: &'static str, value: u32) -> Self {
        self.with_value(name, f64::from(value))
    }

    pub fn with_value(mut self, name: &'static str, value: f64) -> Self {
        self.constants.push((name, value.to_bits()));
        self
    }

    /// The override constants ACT and ALPHA that pick `act` in shaders/activation.wgsl.
    pub fn with_activation(self, act: crate::Activation) -> Self {
        let [(act_name, act_value), (alpha_name, alpha_value)] = act.constants();
        self.with_value(act_name, act_value)
            .with_value(alpha_name, alpha_value)
    }
}

/// (shader, entry) with no override constants.
impl From<(&'static str, &'static str)> for KernelKey {
    fn from((shader, entry): (&'static str, &'static str)) -> Self {
        KernelKey::new(shader, entry)
    }
}

/// A compiled pipeline, the layout its bind groups must follow, and the bindings of
/// group 0 that its entry point uses (the layout holds those and no others).
pub(crate) struct Kernel {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
    pub bindings: Vec<u32>,
    pub name: String,
}

/// A shader module with what naga found in it, for the bindings of each entry point.
struct Module {
    module: wgpu::ShaderModule,
    ir: naga::Module,
    info: naga::valid::ModuleInfo,
}

impl Module {
    /// The group-0 bindings that `entry` uses, as wgpu derives its layout from them.
    /// Two entry points of one shader may use different bindings (a split GEMM's
    /// `gemm_reduce` reads neither A nor B), so callers may pass a superset.
    fn bindings(&self, entry: &str) -> Vec<u32> {
        let index = self
            .ir
            .entry_points
            .iter()
            .position(|e| e.name == entry)
            .unwrap_or_else(|| panic!("no entry point {entry}"));
        let uses = self.info.get_entry_point(index);
        let mut bindings: Vec<u32> = self
            .ir
            .global_variables
            .iter()
            .filter(|(handle, _)| !uses[*handle].is_empty())
            .filter_map(|(_, var)| var.binding.as_ref())
            .filter(|b| b.group == 0)
            .map(|b| b.binding)
            .collect();
        bindings.sort_unstable();
        bindings
    }
}

#[derive(Default)]
pub(crate) struct KernelCache {
    modules: HashMap<ShaderId, Module>,
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
            // The engine's own shaders: a failure here is a bug the shader tests catch.
            let ir = naga::front::wgsl::parse_str(&source)
                .unwrap_or_else(|e| panic!("{:?}: {}", key.shader, e.emit_to_string(&source)));
            let info = naga::valid::Validator::new(
                naga::valid::ValidationFlags::all(),
                naga::valid::Capabilities::all(),
            )
            .validate(&ir)
            .unwrap_or_else(|e| panic!("{:?}: {}", key.shader, e.emit_to_string(&source)));
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some("duel"),
                source: wgpu::ShaderSource::Wgsl(
                    format!("{}{source}", key.shader.directives()).into(),
                ),
            });
            Module { module, ir, info }
        });
        let bindings = module.bindings(key.entry);
        let constants: Vec<(&str, f64)> = key
            .constants
            .iter()
            .map(|(name, bits)| (*name, f64::from_bits(*bits)))
            .collect();
        let name = format!("{}::{}", key.shader, key.entry);
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&name),
            layout: None,
            module: &module.module,
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
            bindings,
            name,
        });
        self.pipelines.insert(key.clone(), kernel.clone());
        kernel
    }
}
