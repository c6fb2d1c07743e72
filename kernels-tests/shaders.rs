//! Every shader the engine compiles parses and validates with naga (each GEMM prelude
//! with each core), and every `shaders/*.wgsl` file is part of a registered source.

use crate::common::GEMM_CORES;
use duel::gpu::{GEMM_PRELUDES, SHADERS, gemm_source};

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
fn every_shader_parses_and_validates() {
    for (name, source) in SHADERS {
        validate(name, source);
    }
    for (name, prelude) in GEMM_PRELUDES {
        for core in GEMM_CORES {
            validate(
                &format!("{name} with {core:?}"),
                &gemm_source(prelude, core),
            );
        }
    }
}

#[test]
fn every_wgsl_file_is_registered() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "wgsl") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            SHADERS
                .iter()
                .chain(GEMM_PRELUDES)
                .any(|(_, source)| source.contains(&text)),
            "{} is registered neither in gpu::SHADERS nor in gpu::GEMM_PRELUDES",
            path.display()
        );
    }
}
