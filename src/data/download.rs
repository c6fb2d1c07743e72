//! Fetching the four MNIST files into the user cache, each checked against its
//! published SHA-256 before it is kept.

use crate::io::write_bytes;
use crate::{Error, Result};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// Public mirrors of the original files, tried in order.
const MIRRORS: [&str; 2] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
];

/// SHA-256 of each original gzipped file.
pub const CHECKSUMS: [(&str, &str); 4] = [
    (
        "train-images-idx3-ubyte.gz",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    ),
    (
        "train-labels-idx1-ubyte.gz",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    ),
    (
        "t10k-images-idx3-ubyte.gz",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    ),
    (
        "t10k-labels-idx1-ubyte.gz",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ),
];

/// A digest as lowercase hex, as checksums are published.
fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The lowercase hex MD5 of `bytes` (CIFAR-10's archive publishes only an MD5).
pub fn md5_hex(bytes: &[u8]) -> String {
    hex(&md5::Md5::digest(bytes))
}

/// Checks downloaded bytes against the expected checksum of `name`.
pub fn verify(name: &str, bytes: &[u8]) -> Result<()> {
    let want = CHECKSUMS
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| Error::Data(format!("{name} is not an MNIST file")))?
        .1;
    let got = sha256_hex(bytes);
    if got != want {
        return Err(Error::Data(format!(
            "{name}: SHA-256 {got} does not match the published {want}"
        )));
    }
    Ok(())
}

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
