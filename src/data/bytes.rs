//! Checks and decoding of data files' bytes, wherever they came from (a file, a
//! download, a browser's fetch): the published checksums, and gzip.

use crate::{Error, Result};
use sha2::{Digest, Sha256};
use std::io::Read;

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

/// `raw` inflated when it is gzip-compressed (whatever the file's name), else as it
/// is; the error says the data is corrupt or truncated.
pub fn inflate_if_gzipped(raw: Vec<u8>) -> std::result::Result<Vec<u8>, String> {
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(raw);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&raw[..])
        .read_to_end(&mut out)
        .map_err(|e| format!("corrupt or truncated gzip data ({e}); download the file again"))?;
    Ok(out)
}
