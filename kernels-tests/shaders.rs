//! Every shader the engine compiles parses and validates with naga: each plain shader,
//! and each GEMM prelude with each core, whole and split. The files are embedded at
//! compile time (build.rs), so this reads nothing from the source tree at run time.

use crate::common::{GEMM_CORES, SUBGROUP4, SUBGROUP4_NARROW, SUBGROUP32};
use duel::gpu::{SHADER_FILES, ShaderKind, gemm_source, includes, shader_kind, shader_source};

fn validate(name: &str, source: &str) {
    let module = naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    )
    .validate(&module)
    .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
}

#[test]
pub fn every_shader_parses_and_validates() {
    for (name, _) in SHADER_FILES {
        match shader_kind(name) {
            ShaderKind::Plain => validate(name, &shader_source(name)),
            ShaderKind::GemmPrelude => {
                for core in GEMM_CORES
                    .into_iter()
                    .chain([SUBGROUP4, SUBGROUP4_NARROW, SUBGROUP32])
                {
                    for split in [false, true] {
                        validate(
                            &format!("{name} with {core:?}, split {split}"),
                            &gemm_source(&shader_source(name), core, split),
                        );
                    }
                }
            }
            // Validated inside each shader that includes it.
            ShaderKind::Part => {}
        }
    }
}

/// Every file is compiled: a part only through the shaders that include it, so each
/// part must be reached from some plain shader or GEMM prelude, and every include must
/// name a file.
#[test]
pub fn every_wgsl_file_is_compiled() {
    assert!(SHADER_FILES.iter().any(|(name, _)| *name == "elementwise"));
    let text_of = |name: &str| {
        SHADER_FILES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, text)| *text)
            .unwrap_or_else(|| panic!("an include names {name}, which is not a file in shaders/"))
    };
    let mut reached: Vec<&str> = SHADER_FILES
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| shader_kind(name) != ShaderKind::Part)
        .collect();
    let mut i = 0;
    while i < reached.len() {
        for part in includes(text_of(reached[i])) {
            if !reached.contains(&part) {
                reached.push(part);
            }
        }
        i += 1;
    }
    for (name, _) in SHADER_FILES {
        assert!(
            reached.contains(name),
            "shaders/{name}.wgsl is not compiled by any shader"
        );
    }
}
