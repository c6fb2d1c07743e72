//! Where data sets are looked for: `--data-dir`, then `$DUEL_DATA`, then the user cache
//! (`$XDG_CACHE_HOME/duel/<set>` or `~/.cache/duel/<set>`), each file gzipped or raw.

use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// Where `set` lives in duel's user cache, if a home directory is known: a data set's
/// directory ("mnist", "cifar10"), or a cache file such as "plans.json".
pub fn cache_dir(set: &str) -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("duel").join(set))
}

/// The directories searched for `set`, in order.
pub fn search_dirs(data_dir: Option<&Path>, set: &str) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    dirs.extend(data_dir.map(Path::to_path_buf));
    dirs.extend(std::env::var_os("DUEL_DATA").map(PathBuf::from));
    dirs.extend(cache_dir(set));
    dirs
}

/// Where `name` lives in `dir`, gzipped or raw.
pub fn file_in(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(format!("{name}.gz")), dir.join(name)]
        .into_iter()
        .find(|p| p.is_file())
}

/// What keeps `dir` from serving `names` (each gzipped or raw), in words that name
/// the directory or each file at fault; None when every file is there and readable.
pub fn problems(dir: &Path, names: &[&str]) -> Option<String> {
    let listing = match std::fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Some(format!("{} does not exist", dir.display()));
        }
        Err(e) => return Some(format!("{} cannot be read: {e}", dir.display())),
    };
    drop(listing);
    let mut found = Vec::new();
    for name in names {
        let problem = match file_in(dir, name) {
            Some(path) => std::fs::File::open(&path)
                .err()
                .map(|e| format!("{} cannot be read: {e}", path.display())),
            None if dir.join(name).is_dir() || dir.join(format!("{name}.gz")).is_dir() => {
                Some(format!("{name} is a directory, not a file"))
            }
            None => Some(format!("{name} (or {name}.gz) is missing")),
        };
        found.extend(problem);
    }
    (!found.is_empty()).then(|| format!("in {}: {}", dir.display(), found.join("; ")))
}

/// The bytes of `path`, inflated when they are gzip-compressed (whatever the name).
pub fn read_maybe_gzipped(path: &Path) -> Result<Vec<u8>> {
    let bad = |what: String| Error::Data(format!("{}: {what}", path.display()));
    let raw = std::fs::read(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    super::bytes::inflate_if_gzipped(raw).map_err(bad)
}
