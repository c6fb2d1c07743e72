//! Embeds every `shaders/*.wgsl` at compile time: `$OUT_DIR/shader_files.rs` holds
//! `SHADER_FILES`, each file's name (without `.wgsl`) and text, sorted by name. The
//! engine finds plain shaders there by name, so a new shader needs no table entry, and
//! the tests see every file without reading the source tree at run time.

use std::path::Path;
use std::{env, fs};

fn main() {
    let root = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&root).join("shaders");
    // A directory here makes cargo rerun this when a file is added or removed.
    println!("cargo::rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = fs::read_dir(&dir)
        .expect("shaders/ is readable")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "wgsl").then(|| path.file_stem()?.to_str().map(String::from))?
        })
        .collect();
    names.sort();
    let mut out = String::from("/// Every `shaders/*.wgsl`, by name, with its text.\n");
    out.push_str("pub const SHADER_FILES: &[(&str, &str)] = &[\n");
    for name in names {
        let path = dir.join(format!("{name}.wgsl"));
        out.push_str(&format!("    ({name:?}, include_str!({path:?})),\n"));
    }
    out.push_str("];\n");
    let out_dir = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    fs::write(Path::new(&out_dir).join("shader_files.rs"), out).expect("OUT_DIR is writable");
}
