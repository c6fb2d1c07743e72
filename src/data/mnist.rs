//! MNIST: finding the four files, checking them, and loading them.
//!
//! The files are looked for as `locate` says, in the cache under `duel/mnist`.

use super::Split;
use super::idx::{Idx, read_idx};
use super::locate::{self, file_in};
use crate::{Error, Result};
use std::path::{Path, PathBuf};

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
    super::download::download_into(&cache).map_err(|e| not_found(&problems, Some(e)))?;
    match locate::problems(&cache, &FILES) {
        None => Ok(cache),
        Some(problem) => Err(not_found(&[problem], None)),
    }
}

fn expect_dims(idx: &Idx, path: &Path, want: &[usize]) -> Result<()> {
    if idx.dims != want {
        return Err(Error::Data(format!(
            "{}: dimensions {:?}, expected {want:?}",
            path.display(),
            idx.dims
        )));
    }
    Ok(())
}

fn load_split(dir: &Path, images: &str, labels: &str, count: usize) -> Result<Split> {
    let path = |name: &str| {
        file_in(dir, name).ok_or_else(|| {
            Error::Data(format!(
                "{name} (or {name}.gz) is missing in {}",
                dir.display()
            ))
        })
    };
    let image_path = path(images)?;
    let label_path = path(labels)?;
    let image_idx = read_idx(&image_path)?;
    expect_dims(&image_idx, &image_path, &[count, SIDE, SIDE])?;
    let label_idx = read_idx(&label_path)?;
    expect_dims(&label_idx, &label_path, &[count])?;
    if let Some(bad) = label_idx.data.iter().find(|&&l| l > 9) {
        return Err(Error::Data(format!(
            "{}: label {bad} is not a digit",
            label_path.display()
        )));
    }
    Ok(Split {
        images: image_idx.data,
        labels: label_idx.data,
        count,
    })
}

impl Mnist {
    /// Loads and checks both splits from `dir`.
    pub fn load(dir: &Path) -> Result<Mnist> {
        Ok(Mnist {
            train: load_split(dir, FILES[0], FILES[1], 60_000)?,
            test: load_split(dir, FILES[2], FILES[3], 10_000)?,
        })
    }
}
