//! CIFAR-10 in its official binary layout: `cifar-10-batches-bin/` holds
//! `data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin` and `batches.meta.txt`.
//! Each record is a label byte then the red, green and blue planes, 32×32 row-major:
//! already (C, H, W), the layout the GPU image sets take. A `.bin.gz` is read as well as
//! a `.bin`, and the record count comes from the file size, so the shared subset
//! (4,000 + 1,000 records, gzipped) reads as the full set does.
//!
//! The folder is looked for as `locate` says (in `dir/cifar-10-batches-bin` or in `dir`
//! itself), in the cache under `duel/cifar10`; failing that, the official archive is
//! downloaded, checked and unpacked into the cache.

use super::{Split, md5_hex};
use crate::{Error, Result};
#[cfg(feature = "native")]
pub use files::{download_from, download_into, find, find_or_download, read_batch};

pub const SIDE: usize = 32;
pub const CHANNELS: usize = 3;
/// Bytes of one record: the label, then the three planes.
pub const RECORD: usize = 1 + CHANNELS * SIDE * SIDE;
/// The folder the archive unpacks to.
pub const FOLDER: &str = "cifar-10-batches-bin";
pub const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
pub const TEST_FILE: &str = "test_batch.bin";
pub const META_FILE: &str = "batches.meta.txt";

/// The ten class names in label order, used when `batches.meta.txt` is absent.
pub const CLASS_NAMES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// A downloadable archive and what it must be to be kept.
#[derive(Debug, Clone)]
pub struct Archive {
    pub name: String,
    pub bytes: u64,
    /// Lowercase hex MD5, as published.
    pub md5: String,
}

impl Archive {
    /// The official `cifar-10-binary.tar.gz`, as its page publishes it.
    pub fn official() -> Archive {
        Archive {
            name: "cifar-10-binary.tar.gz".into(),
            bytes: 170_052_171,
            md5: "c32a1d4ab5d03f1284b67883e8d87530".into(),
        }
    }

    /// Checks downloaded bytes against the published size and MD5.
    pub fn verify(&self, bytes: &[u8]) -> Result<()> {
        if bytes.len() as u64 != self.bytes {
            return Err(Error::Data(format!(
                "{}: {} bytes, the published archive has {}",
                self.name,
                bytes.len(),
                self.bytes
            )));
        }
        let got = md5_hex(bytes);
        if got != self.md5 {
            return Err(Error::Data(format!(
                "{}: MD5 {got} does not match the published {}",
                self.name, self.md5
            )));
        }
        Ok(())
    }
}

#[derive(Debug)]
pub struct Cifar10 {
    /// Every training batch present, in order: (count, 3, 32, 32) bytes.
    pub train: Split,
    pub test: Split,
    pub classes: Vec<String>,
}

/// Parses the records of one batch file (`name` names it in errors).
pub fn parse_records(bytes: &[u8], name: &str) -> Result<Split> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(RECORD) {
        return Err(Error::Data(format!(
            "{}: {} bytes is not a whole number of {RECORD}-byte CIFAR-10 records: the file \
             is truncated or not a CIFAR-10 batch; download it again",
            name,
            bytes.len()
        )));
    }
    let count = bytes.len() / RECORD;
    let mut split = Split {
        images: Vec::with_capacity(count * (RECORD - 1)),
        labels: Vec::with_capacity(count),
        count,
    };
    for (i, record) in bytes.chunks_exact(RECORD).enumerate() {
        if record[0] > 9 {
            return Err(Error::Data(format!(
                "{}: record {i} has label {}, over 9: not a CIFAR-10 batch",
                name, record[0]
            )));
        }
        split.labels.push(record[0]);
        split.images.extend_from_slice(&record[1..]);
    }
    Ok(split)
}

/// Finding, downloading and reading the batch files on disk.
#[cfg(feature = "native")]
mod files {
    use super::*;
    use crate::data::download::fetch;
    use crate::data::locate::{self, file_in, read_maybe_gzipped};
    use std::path::{Path, PathBuf};

    /// Where the archive is published.
    const MIRRORS: [&str; 1] = ["https://www.cs.toronto.edu/~kriz/"];

    /// Reads one batch file, `.bin` or `.bin.gz`.
    pub fn read_batch(path: &Path) -> Result<Split> {
        parse_records(&read_maybe_gzipped(path)?, &path.display().to_string())
    }

    /// The folder of batches under `dir`: `dir/cifar-10-batches-bin`, or `dir` itself, the
    /// first that holds any batch file. (`Cifar10::load` names a batch that is missing.)
    fn batches_in(dir: &Path) -> Option<PathBuf> {
        [dir.join(FOLDER), dir.to_path_buf()].into_iter().find(|d| {
            TRAIN_FILES
                .iter()
                .chain([&TEST_FILE])
                .any(|name| file_in(d, name).is_some())
        })
    }

    /// The batch `name` in `dir`, from `name.gz` or `name`; None when neither is there.
    /// Where both are, the first that reads is taken, with a note on the other.
    fn read_batch_in(dir: &Path, name: &str) -> Result<Option<Split>> {
        let mut failures = Vec::new();
        for path in [dir.join(format!("{name}.gz")), dir.join(name)] {
            if !path.is_file() {
                continue;
            }
            match read_batch(&path) {
                Ok(split) => {
                    for failure in &failures {
                        eprintln!("note: {failure}; reading {} instead", path.display());
                    }
                    return Ok(Some(split));
                }
                Err(e) => failures.push(e.to_string()),
            }
        }
        match &failures[..] {
            [] => Ok(None),
            [one] => Err(Error::Data(one.clone())),
            both => Err(Error::Data(format!(
                "both copies of {name} in {} fail to read: {}",
                dir.display(),
                both.join("; ")
            ))),
        }
    }

    fn not_found(dirs: &[PathBuf], download: Option<Error>) -> Error {
        let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        let download = download.map(|e| format!(" Downloading failed too ({e})."));
        Error::Data(format!(
            "CIFAR-10 not found; looked for {FOLDER}/ (with at least {} and {TEST_FILE}, each \
         optionally .gz) in {looked:?}.{} Pass --data-dir DIR (the folder that holds \
         {FOLDER}/, or that folder), or set DUEL_DATA=DIR.",
            TRAIN_FILES[0],
            download.unwrap_or_default(),
        ))
    }

    /// The folder of batches: in `data_dir` when one is given (it must hold them), else in
    /// `$DUEL_DATA` or the cache.
    pub fn find(data_dir: Option<&Path>) -> Result<PathBuf> {
        if let Some(dir) = data_dir {
            return batches_in(dir).ok_or_else(|| not_found(&[dir.to_path_buf()], None));
        }
        let dirs = locate::search_dirs(None, "cifar10");
        dirs.iter()
            .find_map(|d| batches_in(d))
            .ok_or_else(|| not_found(&dirs, None))
    }

    /// Like `find`, but when no data directory is given and none is found, downloads the
    /// official archive into the cache first.
    pub fn find_or_download(data_dir: Option<&Path>) -> Result<PathBuf> {
        let found = find(data_dir);
        if found.is_ok() || data_dir.is_some() {
            return found;
        }
        let dirs = locate::search_dirs(None, "cifar10");
        let Some(cache) = locate::cache_dir("cifar10") else {
            return Err(not_found(&dirs, None));
        };
        eprintln!(
            "CIFAR-10 not found; downloading {} (170 MB) into {}",
            Archive::official().name,
            cache.display()
        );
        download_into(&cache).map_err(|e| not_found(&dirs, Some(e)))?;
        batches_in(&cache).ok_or_else(|| not_found(&dirs, None))
    }

    /// Downloads the official archive into `dir`, trying `$DUEL_CIFAR10_MIRROR` (a URL
    /// ending in `/`) before the official address.
    pub fn download_into(dir: &Path) -> Result<()> {
        let own = std::env::var("DUEL_CIFAR10_MIRROR").ok();
        let mirrors: Vec<&str> = own.as_deref().into_iter().chain(MIRRORS).collect();
        download_from(dir, &mirrors, &Archive::official())
    }

    /// Fetches `archive` from the first of `mirrors` that serves it whole, checks its size
    /// and MD5 in memory, and unpacks it into `dir` (giving `dir/cifar-10-batches-bin/`).
    /// Nothing is written unless the check passes, and the folder appears only once it is
    /// completely unpacked.
    pub fn download_from(dir: &Path, mirrors: &[&str], archive: &Archive) -> Result<()> {
        let mut failures = Vec::new();
        for mirror in mirrors {
            let bytes = fetch(&format!("{mirror}{}", archive.name))
                .map_err(Error::Data)
                .and_then(|b| archive.verify(&b).map(|()| b));
            match bytes {
                Ok(bytes) => return unpack(&bytes, dir),
                Err(e) => failures.push(format!("{mirror}: {e}")),
            }
        }
        Err(Error::Data(format!(
            "could not download {}: {}",
            archive.name,
            failures.join("; ")
        )))
    }

    /// Unpacks a checked `.tar.gz` into a temporary folder beside the target, then moves
    /// its `cifar-10-batches-bin/` into place.
    fn unpack(tar_gz: &[u8], dir: &Path) -> Result<()> {
        let failed =
            |e: std::io::Error| Error::Data(format!("cannot unpack into {}: {e}", dir.display()));
        std::fs::create_dir_all(dir).map_err(failed)?;
        let staging = dir.join(format!(".unpack{}", std::process::id()));
        let result = (|| {
            tar::Archive::new(flate2::read::GzDecoder::new(tar_gz)).unpack(&staging)?;
            let unpacked = staging.join(FOLDER);
            if !unpacked.is_dir() {
                return Err(std::io::Error::other(format!(
                    "the archive holds no {FOLDER}/ folder"
                )));
            }
            std::fs::rename(unpacked, dir.join(FOLDER))
        })();
        let _ = std::fs::remove_dir_all(&staging);
        result.map_err(failed)
    }

    impl Cifar10 {
        /// Loads the folder `dir` of batches: the training batches from `data_batch_1`
        /// on (a gap is refused, never skipped), the test batch, and the class names.
        pub fn load(dir: &Path) -> Result<Cifar10> {
            let missing = |name: &str| {
                Error::Data(format!(
                    "{name} (or {name}.gz) is missing in {}: download CIFAR-10's binary \
                     version again, or pass --data-dir with a complete copy",
                    dir.display()
                ))
            };
            let mut train = Split::default();
            let mut absent = None;
            let mut batches = Vec::new();
            for name in TRAIN_FILES {
                match (read_batch_in(dir, name)?, absent) {
                    (None, _) => absent = absent.or(Some(name)),
                    (Some(_), Some(gap)) => {
                        return Err(Error::Data(format!(
                            "{gap} (or {gap}.gz) is missing in {}, but {name} is there: the \
                             training batches are read in order, so training would leave \
                             out every batch after the gap. Put {gap} back, or remove the \
                             batches after it to train on fewer",
                            dir.display()
                        )));
                    }
                    (Some(split), None) => {
                        train.append(split);
                        batches.push(name.trim_end_matches(".bin"));
                    }
                }
            }
            if train.count == 0 {
                return Err(missing(TRAIN_FILES[0]));
            }
            let test = read_batch_in(dir, TEST_FILE)?.ok_or_else(|| missing(TEST_FILE))?;
            if batches.len() < TRAIN_FILES.len() {
                eprintln!(
                    "CIFAR-10: training on {} of its {} training batches ({})",
                    batches.len(),
                    TRAIN_FILES.len(),
                    batches.join(", ")
                );
            }
            let classes = match std::fs::read_to_string(dir.join(META_FILE)) {
                Ok(text) => text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect(),
                Err(_) => CLASS_NAMES.map(String::from).to_vec(),
            };
            Ok(Cifar10 {
                train,
                test,
                classes,
            })
        }
    }
}
