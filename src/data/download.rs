//! Fetching the four MNIST files into the user cache, each checked against its
//! published SHA-256 before it is kept.

use super::bytes::{CHECKSUMS, verify};
use crate::io::write_bytes;
use crate::{Error, Result};
use std::io::Read;
use std::path::Path;

/// Public mirrors of the original files, tried in order.
const MIRRORS: [&str; 2] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
];

pub(crate) fn fetch(url: &str) -> std::result::Result<Vec<u8>, String> {
    let response = ureq::get(url).call().map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    response
        .into_body()
        .into_reader()
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// Downloads every missing file into `dir` from the public mirrors, after
/// `$DUEL_MNIST_MIRROR` when it is set (a URL ending in `/`, e.g. a local copy).
pub fn download_into(dir: &Path) -> Result<()> {
    let own = std::env::var("DUEL_MNIST_MIRROR").ok();
    let mirrors: Vec<&str> = own.as_deref().into_iter().chain(MIRRORS).collect();
    download_from(dir, &mirrors)
}

/// Downloads every missing file into `dir`, trying `mirrors` in order and keeping a
/// file only when its SHA-256 matches; the error lists what each mirror said.
pub fn download_from(dir: &Path, mirrors: &[&str]) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Data(format!("cannot create {}: {e}", dir.display())))?;
    for (name, _) in CHECKSUMS {
        let path = dir.join(name);
        if path.is_file() {
            continue;
        }
        let mut failures = Vec::new();
        let mut saved = false;
        for mirror in mirrors {
            match fetch(&format!("{mirror}{name}"))
                .map_err(Error::Data)
                .and_then(|b| verify(name, &b).map(|()| b))
            {
                Ok(bytes) => {
                    write_bytes(&path, &bytes)?;
                    saved = true;
                    break;
                }
                Err(e) => failures.push(format!("{mirror}: {e}")),
            }
        }
        if !saved {
            return Err(Error::Data(format!(
                "could not download {name}: {}",
                failures.join("; ")
            )));
        }
    }
    Ok(())
}
