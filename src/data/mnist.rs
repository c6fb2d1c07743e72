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

/// The first searched directory that holds all four files.
pub fn find(data_dir: Option<&Path>) -> Result<PathBuf> {
    let dirs = search_dirs(data_dir);
    dirs.iter()
        .find(|d| has_all(d))
        .cloned()
        .ok_or_else(|| not_found(&dirs, None))
}

fn has_all(dir: &Path) -> bool {
    FILES.iter().all(|f| file_in(dir, f).is_some())
}

fn not_found(dirs: &[PathBuf], download: Option<Error>) -> Error {
    let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    let download = download.map(|e| format!(" Downloading failed too ({e})."));
    Error::Data(format!(
        "MNIST not found; looked in {looked:?}.{} Put the four files ({}, each optionally .gz) in one \
         of those directories, or pass --data-dir DIR, or set DUEL_DATA=DIR.",
        download.unwrap_or_default(),
        FILES.join(", ")
    ))
}

/// Like `find`, but when no directory has the files, downloads them (checking each
/// SHA-256) into the user cache first.
pub fn find_or_download(data_dir: Option<&Path>) -> Result<PathBuf> {
    let dirs = search_dirs(data_dir);
    if let Some(dir) = dirs.iter().find(|d| has_all(d)) {
        return Ok(dir.clone());
    }
    let Some(cache) = locate::cache_dir("mnist") else {
        return Err(not_found(&dirs, None));
    };
    match super::download::download_into(&cache) {
        Ok(()) if has_all(&cache) => Ok(cache),
        Ok(()) => Err(not_found(&dirs, None)),
        Err(e) => Err(not_found(&dirs, Some(e))),
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
    let image_path = file_in(dir, images)
        .ok_or_else(|| Error::Data(format!("{images} missing in {}", dir.display())))?;
    let label_path = file_in(dir, labels)
        .ok_or_else(|| Error::Data(format!("{labels} missing in {}", dir.display())))?;
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
