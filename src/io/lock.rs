//! A run's hold on its output directory: an advisory lock on `.duel.lock` inside it,
//! taken before anything there is read or written and held until the run ends. The
//! operating system releases it when the process ends, however it ends, so a crashed
//! run's lock file is stale, not an obstacle; a run that ends normally removes the file,
//! and the directory too when the run created it and left nothing in it.

use crate::{Error, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The lock file's name inside the output directory.
pub const LOCK_FILE: &str = ".duel.lock";

/// Held while it lives; see the module.
pub struct OutputLock {
    path: PathBuf,
    /// The directory, when taking the lock created it.
    created: Option<PathBuf>,
    /// Kept open: closing it releases the lock.
    _file: File,
}

impl OutputLock {
    /// Takes the lock on `dir`, creating the directory if need be, or refuses with
    /// the process id of the run that holds it.
    pub fn take(dir: &Path) -> Result<OutputLock> {
        let failed = |e: std::io::Error| {
            Error::Output(format!(
                "cannot lock the output directory {}: {e}",
                dir.display()
            ))
        };
        let created = (!dir.exists()).then(|| dir.to_path_buf());
        std::fs::create_dir_all(dir).map_err(failed)?;
        let path = dir.join(LOCK_FILE);
        loop {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(failed)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    let holder = match holder_pid(&mut file) {
                        Some(pid) => format!("process {pid}"),
                        None => "another process".to_string(),
                    };
                    return Err(Error::Usage(format!(
                        "{} is in use by another run ({holder}, which holds {}): two runs \
                         in one --out would overwrite each other's checkpoints, grids and \
                         metrics, with --overwrite too. Wait for it to end, stop it, or \
                         pass another --out",
                        dir.display(),
                        path.display()
                    )));
                }
                Err(TryLockError::Error(e)) => return Err(failed(e)),
            }
            // The holder before us may have removed the file between our open and our
            // lock: then we hold a file no one else will find, so try again.
            if !same_file(&file, &path) {
                continue;
            }
            file.set_len(0)
                .and_then(|()| file.rewind())
                .and_then(|()| writeln!(file, "{}", std::process::id()))
                .map_err(failed)?;
            return Ok(OutputLock {
                path,
                created,
                _file: file,
            });
        }
    }
}

impl Drop for OutputLock {
    /// Removes the lock file while still holding the lock, then the directory if this
    /// lock created it and nothing else was written there.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        if let Some(dir) = &self.created {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// The process id the holder of the lock on `file` wrote into it. A holder writes it
/// just after locking, so an empty file is read again for a moment.
fn holder_pid(file: &mut File) -> Option<u32> {
    for _ in 0..40 {
        let mut text = String::new();
        let read = file.rewind().and_then(|()| file.read_to_string(&mut text));
        if let Some(pid) = read.ok().and_then(|_| text.trim().parse().ok()) {
            return Some(pid);
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    None
}

/// Whether the open `file` is the one at `path` now.
#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Elsewhere an open file can't be removed, so the file at `path` is still ours.
#[cfg(not(unix))]
fn same_file(_: &File, _: &Path) -> bool {
    true
}
