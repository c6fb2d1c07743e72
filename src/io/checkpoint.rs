//! Checkpoints in the safetensors format: named f32 tensors plus string metadata
//! (step counts, seeds, the model's architecture). Saving downloads each tensor and
//! writes the file atomically; loading checks that the file holds exactly the
//! expected tensors with the expected shapes, and names the first that does not.

use super::atomic::write_bytes;
use crate::{Error, Result, Tensor};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Writes `tensors` (name, tensor) and `metadata` to `path`, atomically.
pub fn save(
    path: &Path,
    tensors: &[(String, &Tensor)],
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    let mut downloaded = Vec::with_capacity(tensors.len());
    for (name, t) in tensors {
        let bytes: Vec<u8> = bytemuck::cast_slice(&t.to_vec()?).to_vec();
        downloaded.push((name.clone(), t.shape().to_vec(), bytes));
    }
    let views = downloaded
        .iter()
        .map(|(name, shape, bytes)| {
            TensorView::new(Dtype::F32, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| Error::Data(format!("tensor {name}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let info: HashMap<String, String> = metadata.clone().into_iter().collect();
    let bytes = safetensors::serialize(views, Some(info)).map_err(|e| {
        Error::Data(format!(
            "could not encode checkpoint {}: {e}",
            path.display()
        ))
    })?;
    write_bytes(path, &bytes)
}

/// Reads `path` into `tensors` (uploading each) and returns its metadata. The file
/// must hold exactly these names, each with the same shape: a checkpoint from another
/// model is an error that names the tensor, and nothing is overwritten.
pub fn load(path: &Path, tensors: &[(String, &Tensor)]) -> Result<BTreeMap<String, String>> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Data(format!("cannot read checkpoint {}: {e}", path.display())))?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| {
        Error::Data(format!(
            "{} is not a valid safetensors checkpoint: {e}",
            path.display()
        ))
    })?;
    let other_model = |what: String| {
        Error::Data(format!(
            "checkpoint {} does not fit this model: {what}. Was it saved with other model settings?",
            path.display()
        ))
    };
    let mut values = Vec::with_capacity(tensors.len());
    for (name, t) in tensors {
        let view = file
            .tensor(name)
            .map_err(|_| other_model(format!("it has no tensor {name}")))?;
        if view.dtype() != Dtype::F32 || view.shape() != t.shape() {
            return Err(other_model(format!(
                "tensor {name} is {:?} {:?}, the model needs F32 {:?}",
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
        .find(|n| !tensors.iter().any(|(name, _)| name == n))
    {
        return Err(other_model(format!(
            "it holds tensor {extra}, which this model does not have"
        )));
    }
    for ((_, t), v) in tensors.iter().zip(values) {
        t.write(&v)?;
    }
    header_metadata(&bytes, path)
}

/// A checkpoint's metadata alone, to learn which model it belongs to before building it.
pub fn metadata(path: &Path) -> Result<BTreeMap<String, String>> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Data(format!("cannot read checkpoint {}: {e}", path.display())))?;
    header_metadata(&bytes, path)
}

/// The string metadata in a safetensors header.
fn header_metadata(bytes: &[u8], path: &Path) -> Result<BTreeMap<String, String>> {
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| {
        Error::Data(format!(
            "{} is not a valid safetensors checkpoint: {e}",
            path.display()
        ))
    })?;
    Ok(header
        .metadata()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect())
}
