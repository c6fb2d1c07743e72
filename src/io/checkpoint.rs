//! Checkpoints in the safetensors format: named f32 tensors plus string metadata
//! (step counts, seeds, the model's architecture).
//!
//! Saving first checks every tensor on the GPU (`check_health`) and refuses to write
//! a NaN, an infinity or a negative variance; then it downloads each tensor, records a
//! SHA-256 of all their data in the metadata, and (natively) writes the file
//! atomically; the browser offers the same bytes as a download. Loading
//! checks that the file holds exactly the expected tensors with the expected shapes
//! (naming the first that does not), that the data still has its SHA-256, and, once
//! uploaded, that it is healthy.

use crate::data::sha256_hex;
use crate::ops::{self, Health};
use crate::{Error, Result, Tensor};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use std::collections::{BTreeMap, HashMap};
#[cfg(feature = "native")]
use std::path::Path;

/// The metadata key of the SHA-256 over the tensors' data (`data_sha256`).
pub const CHECKSUM: &str = "tensor_sha256";

/// Tensors whose values are variances, which no update makes negative: Adam's second
/// moments and batch norm's running variances.
fn is_variance(name: &str) -> bool {
    name.ends_with(".adam_v") || name.ends_with(".running_var")
}

/// SHA-256 over the tensors' names, shapes and data, in name order, so that it does
/// not depend on how the file lays them out: the value of `CHECKSUM`.
pub fn data_sha256<'a>(tensors: impl Iterator<Item = (&'a str, &'a [usize], &'a [u8])>) -> String {
    let mut sorted: Vec<_> = tensors.collect();
    sorted.sort_by_key(|(name, _, _)| *name);
    let mut bytes = Vec::new();
    for (name, shape, data) in sorted {
        bytes.extend_from_slice(name.as_bytes());
        bytes.push(0);
        for d in shape {
            bytes.extend_from_slice(&(*d as u64).to_le_bytes());
        }
        bytes.extend_from_slice(data);
    }
    sha256_hex(&bytes)
}

/// The health of `tensors` (name, tensor), measured on the GPU in one read-back; an
/// `Error::Numeric` naming each tensor that holds a NaN or an infinity, or, for a
/// variance, a negative value. `what` says whose tensors they are.
pub async fn check_health(tensors: &[(String, &Tensor)], what: &str) -> Result<Vec<Health>> {
    let health = ops::health_async(&tensors.iter().map(|(_, t)| *t).collect::<Vec<_>>()).await?;
    let mut bad = Vec::new();
    for ((name, t), h) in tensors.iter().zip(&health) {
        if h.nonfinite > 0 {
            bad.push(format!(
                "{name} holds {} NaN or infinite values (of {})",
                h.nonfinite,
                t.numel()
            ));
        } else if is_variance(name) && h.negative > 0 {
            bad.push(format!(
                "{name}, a variance, holds {} negative values",
                h.negative
            ));
        }
    }
    if bad.is_empty() {
        return Ok(health);
    }
    let shown = bad.len().min(4);
    let more = match bad.len() - shown {
        0 => String::new(),
        n => format!("; and {n} more tensors"),
    };
    Err(Error::Numeric(format!(
        "{what}: {}{more}",
        bad[..shown].join("; ")
    )))
}

/// `tensors` (name, tensor) and `metadata` as the bytes of a safetensors file, after
/// `check_health`: a checkpoint with a NaN in it is never made. `name` is what the
/// errors call it.
pub async fn encode(
    tensors: &[(String, &Tensor)],
    metadata: &BTreeMap<String, String>,
    name: &str,
) -> Result<Vec<u8>> {
    check_health(tensors, &format!("not saving {name}")).await?;
    let mut downloaded = Vec::with_capacity(tensors.len());
    for (tensor_name, t) in tensors {
        let bytes: Vec<u8> = bytemuck::cast_slice(&t.to_vec_async().await?).to_vec();
        downloaded.push((tensor_name.clone(), t.shape().to_vec(), bytes));
    }
    let views = downloaded
        .iter()
        .map(|(name, shape, bytes)| {
            TensorView::new(Dtype::F32, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| Error::Data(format!("tensor {name}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut info: HashMap<String, String> = metadata.clone().into_iter().collect();
    let sums = downloaded
        .iter()
        .map(|(n, s, b)| (n.as_str(), &s[..], &b[..]));
    info.insert(CHECKSUM.to_string(), data_sha256(sums));
    safetensors::serialize(views, Some(info))
        .map_err(|e| Error::Output(format!("could not encode checkpoint {name}: {e}")))
}

/// Reads the checkpoint `bytes` into `tensors` (uploading each) and returns its
/// metadata with the health of each tensor. Its data must match the SHA-256 in its
/// metadata (a file without one is refused), and it must hold exactly these names,
/// each with the same shape: otherwise the error names what is wrong and nothing is
/// overwritten. Data that fails `check_health` is an error too, after the
/// upload: the tensors then hold it, and must not be used. `name` is what the errors
/// call the file.
pub async fn decode_into(
    bytes: &[u8],
    tensors: &[(String, &Tensor)],
    name: &str,
) -> Result<(BTreeMap<String, String>, Vec<Health>)> {
    let file = SafeTensors::deserialize(bytes).map_err(|e| unreadable(name, e))?;
    let metadata = metadata_of(bytes, name)?;
    // Damage is reported as damage: the checksum comes before the fit, whose errors
    // would call a damaged file one from other settings.
    let Some(want) = metadata.get(CHECKSUM) else {
        return Err(Error::Data(format!(
            "checkpoint {name} has no {CHECKSUM} in its metadata, so its data can't be \
             checked: it was edited, or saved by a duel from before checksums. Use a \
             checkpoint that this duel saved, or start afresh"
        )));
    };
    let views: Vec<_> = file.tensors();
    let got = data_sha256(views.iter().map(|(n, v)| (n.as_str(), v.shape(), v.data())));
    if &got != want {
        return Err(Error::Data(format!(
            "checkpoint {name} is damaged: its tensor data has SHA-256 {got}, but it was \
             saved with {want}. Use an earlier copy, or start afresh"
        )));
    }
    let other_model = |what: String| {
        Error::Data(format!(
            "checkpoint {name} does not fit this model: {what}. Was it saved with other model settings?"
        ))
    };
    let mut values = Vec::with_capacity(tensors.len());
    for (tensor_name, t) in tensors {
        let view = file
            .tensor(tensor_name)
            .map_err(|_| other_model(format!("it has no tensor {tensor_name}")))?;
        if view.dtype() != Dtype::F32 || view.shape() != t.shape() {
            return Err(other_model(format!(
                "tensor {tensor_name} is {:?} {:?}, the model needs F32 {:?}",
                view.dtype(),
                view.shape(),
                t.shape()
            )));
        }
        values.push(bytemuck::pod_collect_to_vec::<u8, f32>(view.data()));
    }
    if let Some(extra) = file
        .names()
        .into_iter()
        .find(|n| !tensors.iter().any(|(tensor_name, _)| tensor_name == n))
    {
        return Err(other_model(format!(
            "it holds tensor {extra}, which this model does not have"
        )));
    }
    for ((_, t), v) in tensors.iter().zip(values) {
        t.write(&v)?;
    }
    let health = check_health(tensors, &format!("checkpoint {name} is unusable")).await?;
    Ok((metadata, health))
}

/// The string metadata in the header of the checkpoint `bytes`, to learn which model
/// it belongs to before building it. `name` is what the errors call the file.
pub fn metadata_of(bytes: &[u8], name: &str) -> Result<BTreeMap<String, String>> {
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| unreadable(name, e))?;
    Ok(header
        .metadata()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect())
}

/// Bytes that are not a whole safetensors file: most often a copy cut short.
fn unreadable(name: &str, e: safetensors::SafeTensorError) -> Error {
    Error::Data(format!(
        "checkpoint {name} is truncated or damaged: it does not read as a safetensors \
         file ({e}). Use an earlier copy, or start afresh"
    ))
}

/// Writes `encode`'s bytes to `path`, atomically.
#[cfg(feature = "native")]
pub fn save(
    path: &Path,
    tensors: &[(String, &Tensor)],
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    let name = path.display().to_string();
    let bytes = pollster::block_on(encode(tensors, metadata, &name))?;
    super::write_bytes(path, &bytes)
}

/// `decode_into` of the file at `path`.
#[cfg(feature = "native")]
pub fn load(
    path: &Path,
    tensors: &[(String, &Tensor)],
) -> Result<(BTreeMap<String, String>, Vec<Health>)> {
    let bytes = read(path)?;
    pollster::block_on(decode_into(&bytes, tensors, &path.display().to_string()))
}

/// A checkpoint file's metadata alone.
#[cfg(feature = "native")]
pub fn metadata(path: &Path) -> Result<BTreeMap<String, String>> {
    metadata_of(&read(path)?, &path.display().to_string())
}

/// A checkpoint file's bytes, or an error naming it.
#[cfg(feature = "native")]
pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| Error::Data(format!("cannot read checkpoint {}: {e}", path.display())))
}
