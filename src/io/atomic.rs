//! Atomic file writes: write a temporary file beside the target, then rename it over
//! the target, so a crash or Ctrl-C never leaves a half-written checkpoint or image.

use crate::{Error, Result};
use std::path::{Path, PathBuf};

fn temporary(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".tmp{}", std::process::id()));
    path.with_file_name(name)
}

/// Writes whatever `write` puts into the temporary path, then renames it to `path`.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = temporary(path);
    let result = write(&tmp).and_then(|()| std::fs::rename(&tmp, path));
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::Data(format!("could not write {}: {e}", path.display()))
    })
}

/// `write_atomically` for bytes already in memory.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically(path, |tmp| std::fs::write(tmp, bytes))
}
