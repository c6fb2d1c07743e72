//! MNIST: decoding and checking the four files from their bytes (anywhere, the
//! browser included) and, natively, finding them as `locate` says, in the cache under
//! `duel/mnist`.

use super::Split;
use super::idx::{Idx, parse_idx};
use crate::{Error, Result};
#[cfg(feature = "native")]
pub use files::{find, find_or_download, search_dirs};

/// The four standard files, without the `.gz` they are distributed with.
pub const FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

pub struct Mnist {
    pub train: Split,
    pub test: Split,
}

pub const SIDE: usize = 28;

fn expect_dims(idx: &Idx, name: &str, want: &[usize]) -> Result<()> {
    if idx.dims != want {
        return Err(Error::Data(format!(
            "{name}: dimensions {:?}, expected {want:?}",
            idx.dims
        )));
    }
    Ok(())
}

/// Decodes one split from its image and label files' bytes, raw or gzipped; the
/// names are what the errors call the files.
fn parse_split(files: [(&str, Vec<u8>); 2], count: usize) -> Result<Split> {
    let [(image_name, images), (label_name, labels)] = files;
    let decode = |name: &str, bytes: Vec<u8>| {
        super::inflate_if_gzipped(bytes)
            .and_then(|b| parse_idx(&b))
            .map_err(|what| Error::Data(format!("{name}: {what}")))
    };
    let image_idx = decode(image_name, images)?;
    expect_dims(&image_idx, image_name, &[count, SIDE, SIDE])?;
    let label_idx = decode(label_name, labels)?;
    expect_dims(&label_idx, label_name, &[count])?;
    if let Some(bad) = label_idx.data.iter().find(|&&l| l > 9) {
        return Err(Error::Data(format!(
            "{label_name}: label {bad} is not a digit"
        )));
    }
    Ok(Split {
        images: image_idx.data,
        labels: label_idx.data,
        count,
    })
}

impl Mnist {
    /// Decodes and checks both splits from the bytes of the four `FILES`, in order,
    /// each raw or gzipped; `names` are what the errors call them.
    pub fn from_bytes(files: [(&str, Vec<u8>); 4]) -> Result<Mnist> {
        let [a, b, c, d] = files;
        Ok(Mnist {
            train: parse_split([a, b], 60_000)?,
            test: parse_split([c, d], 10_000)?,
        })
    }

    /// Loads and checks both splits from `dir`.
    #[cfg(feature = "native")]
    pub fn load(dir: &std::path::Path) -> Result<Mnist> {
        let read = |name: &str| -> Result<(String, Vec<u8>)> {
            let path = super::locate::file_in(dir, name).ok_or_else(|| {
                Error::Data(format!(
                    "{name} (or {name}.gz) is missing in {}",
                    dir.display()
                ))
            })?;
            let bytes = std::fs::read(&path)
                .map_err(|e| Error::Data(format!("{}: cannot read: {e}", path.display())))?;
            Ok((path.display().to_string(), bytes))
        };
        let [a, b, c, d] = FILES.map(read);
        let (a, b, c, d) = (a?, b?, c?, d?);
        Mnist::from_bytes([(&a.0, a.1), (&b.0, b.1), (&c.0, c.1), (&d.0, d.1)])
    }
}

/// Finding the files on disk, and downloading them when they are nowhere.
#[cfg(feature = "native")]
mod files {
    use super::FILES;
    use crate::data::locate;
    use crate::{Error, Result};
    use std::path::{Path, PathBuf};

    /// The directories searched, in order.
    pub fn search_dirs(data_dir: Option<&Path>) -> Vec<PathBuf> {
        locate::search_dirs(data_dir, "mnist")
    }

    /// What to do when no directory serves: where the files go.
    fn advice() -> String {
        format!(
            "Put the four MNIST files ({}, each optionally .gz) in one directory and pass \
         --data-dir DIR, or set DUEL_DATA=DIR",
            FILES.join(", ")
        )
    }

    /// A given `--data-dir` that can't serve the files: it is never passed over.
    fn data_dir_error(problem: &str) -> Error {
        Error::Data(format!(
            "--data-dir does not hold MNIST: {problem}. {}",
            advice()
        ))
    }

    /// The first directory that holds all four files: `data_dir` when one is given (it
    /// must hold them), else `$DUEL_DATA` or the cache. The error names, for each
    /// directory, the files missing or unreadable there.
    pub fn find(data_dir: Option<&Path>) -> Result<PathBuf> {
        if let Some(dir) = data_dir {
            return match locate::problems(dir, &FILES) {
                None => Ok(dir.to_path_buf()),
                Some(problem) => Err(data_dir_error(&problem)),
            };
        }
        let dirs = search_dirs(None);
        let mut problems = Vec::new();
        for dir in &dirs {
            match locate::problems(dir, &FILES) {
                None => return Ok(dir.clone()),
                Some(problem) => problems.push(problem),
            }
        }
        Err(not_found(&problems, None))
    }

    fn not_found(problems: &[String], download: Option<Error>) -> Error {
        let download = download.map(|e| format!(" Downloading failed too: {e}."));
        Error::Data(format!(
            "MNIST not found: {}.{} {}",
            problems.join("; "),
            download.unwrap_or_default(),
            advice()
        ))
    }

    /// Like `find`, but when no directory is given and none holds the files, downloads
    /// the missing ones (checking each SHA-256) into the user cache first.
    pub fn find_or_download(data_dir: Option<&Path>) -> Result<PathBuf> {
        let found = find(data_dir);
        if found.is_ok() || data_dir.is_some() {
            return found;
        }
        let problems: Vec<String> = search_dirs(None)
            .iter()
            .filter_map(|d| locate::problems(d, &FILES))
            .collect();
        let Some(cache) = locate::cache_dir("mnist") else {
            return Err(not_found(&problems, None));
        };
        eprintln!("MNIST not found; downloading it into {}", cache.display());
        crate::data::download_into(&cache).map_err(|e| not_found(&problems, Some(e)))?;
        match locate::problems(&cache, &FILES) {
            None => Ok(cache),
            Some(problem) => Err(not_found(&[problem], None)),
        }
    }
}
