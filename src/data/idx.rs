//! The IDX format of the MNIST files, raw or gzipped: a magic number (two zero bytes,
//! a type byte, the number of dimensions), the dimensions as big-endian u32, then the
//! data. Only unsigned bytes (type 0x08) are accepted, which is what MNIST uses.

#[cfg(feature = "native")]
use crate::{Error, Result};

/// A decoded IDX file: its dimensions and its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Idx {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Reads and validates an IDX file; a `.gz` (or any gzip-compressed) file is inflated.
#[cfg(feature = "native")]
pub fn read_idx(path: &std::path::Path) -> Result<Idx> {
    let bytes = super::locate::read_maybe_gzipped(path)?;
    parse_idx(&bytes).map_err(|what| Error::Data(format!("{}: {what}", path.display())))
}

/// Parses IDX bytes, saying what is wrong when they are not a whole, valid file.
pub fn parse_idx(bytes: &[u8]) -> std::result::Result<Idx, String> {
    if bytes.len() < 4 {
        return Err(format!(
            "only {} bytes, too short for an IDX header",
            bytes.len()
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(format!(
            "bad magic number {:02x} {:02x}: not an IDX file",
            bytes[0], bytes[1]
        ));
    }
    if bytes[2] != 0x08 {
        return Err(format!(
            "element type 0x{:02x} is not unsigned bytes (0x08)",
            bytes[2]
        ));
    }
    let ndims = usize::from(bytes[3]);
    let header = 4 + 4 * ndims;
    if ndims == 0 || bytes.len() < header {
        return Err(format!(
            "header claims {ndims} dimensions but the file has {} bytes",
            bytes.len()
        ));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or("dimensions overflow")?;
    let actual = bytes.len() - header;
    if actual != expected {
        return Err(format!(
            "dimensions {dims:?} need {expected} data bytes but the file has {actual}: it is {}",
            if actual < expected {
                "truncated"
            } else {
                "longer than its header says"
            }
        ));
    }
    Ok(Idx {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// Encodes bytes with their dimensions as an (uncompressed) IDX file.
pub fn encode_idx(dims: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}
