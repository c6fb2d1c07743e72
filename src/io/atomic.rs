//! Atomic file writes: write a temporary file beside the target, flush it to disk, then
//! rename it over the target and flush the directory, so a crash, a kill or a power
//! cut leaves either the old file or the new one, never half of one.

use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// The suffix of a temporary file before the writer's process id.
const TMP: &str = ".tmp";

fn temporary(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!("{TMP}{}", std::process::id()));
    path.with_file_name(name)
}

/// Makes the rename itself durable: on Unix a directory is opened and synced like a
/// file; elsewhere the rename is as durable as the platform makes it.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    if cfg!(unix) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Writes whatever `write` puts into the temporary path, flushes it, then renames it
/// to `path`.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = temporary(path);
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let result = write(&tmp)
        .and_then(|()| std::fs::File::open(&tmp)?.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path))
        .and_then(|()| sync_dir(dir));
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::Output(format!("could not write {}: {e}", path.display()))
    })
}

/// `write_atomically` for bytes already in memory.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically(path, |tmp| std::fs::write(tmp, bytes))
}

/// Removes the temporary files in `dir` that writers killed mid-write left behind
/// (`NAME.tmpPID` of a process that is no longer running), and returns their paths.
/// Where running processes can't be told (no `/proc`), only this process's own are
/// spared.
pub fn remove_stale_temporaries(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let alive = |pid: u32| {
        pid == std::process::id()
            || (Path::new("/proc/self").exists() && Path::new(&format!("/proc/{pid}")).exists())
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name
            .rsplit_once(TMP)
            .and_then(|(stem, pid)| pid.parse::<u32>().ok().filter(|_| !stem.is_empty()));
        let path = entry.path();
        if pid.is_some_and(|pid| !alive(pid))
            && path.is_file()
            && std::fs::remove_file(&path).is_ok()
        {
            removed.push(path);
        }
    }
    removed
}
