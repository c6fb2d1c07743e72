//! Every shader the engine compiles parses and validates with naga, and every
//! `shaders/*.wgsl` file is part of one of them.

#[test]
fn every_shader_parses_and_validates() {
    for (name, source) in duel::gpu::SHADERS {
        let module = naga::front::wgsl::parse_str(source)
            .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::all(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
    }
}

#[test]
fn every_wgsl_file_is_compiled_by_the_engine() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "wgsl") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            duel::gpu::SHADERS
                .iter()
                .any(|(_, source)| source.contains(&text)),
            "{} is not part of any source in gpu::SHADERS",
            path.display()
        );
    }
}
