//! A GAN rebuilt from a checkpoint alone: its metadata says how the run that saved it
//! built the models (architecture, widths, conditioning, spectral norm, an averaged
//! generator), and the tensors are then loaded into them, checksum first (see
//! `checkpoint::decode_into`). mnist_eval scores such a GAN.

use super::model::{Restored, metadata_number};
use super::{Gan, ModelConfig, Recipe};
use crate::io::checkpoint;
use crate::{Error, Gpu, Result};
use std::collections::BTreeMap;
use std::path::Path;

impl Gan {
    /// The GAN of the checkpoint `bytes` (`name` is what errors call them), with the
    /// settings it was built with.
    pub async fn from_checkpoint(
        gpu: &Gpu,
        bytes: &[u8],
        name: &str,
    ) -> Result<(Gan, ModelConfig, Restored)> {
        let metadata = checkpoint::metadata_of(bytes, name)?;
        let model = ModelConfig::from_metadata(&metadata, name)?;
        let batch_size = metadata_number(&metadata, "batch_size", Path::new(name))? as usize;
        // The optimisers' settings don't change what the generator draws; the tensors
        // that spectral norm and an average add do change what the checkpoint holds.
        let recipe = Recipe {
            spectral_norm: setting(&metadata, "spectral_norm", false, name)?,
            ema: setting(&metadata, "ema", 0.0, name)?,
            ..Recipe::default()
        };
        let mut gan = Gan::new(gpu, &model, &recipe, batch_size)?;
        let restored = gan.load_bytes(bytes, name).await?;
        Ok((gan, model, restored))
    }
}

/// The metadata's `key`, or `absent` for a checkpoint from before the setting existed.
fn setting<T: std::str::FromStr>(
    metadata: &BTreeMap<String, String>,
    key: &str,
    absent: T,
    name: &str,
) -> Result<T> {
    match metadata.get(key) {
        None => Ok(absent),
        Some(text) => text.parse().map_err(|_| {
            Error::Data(format!(
                "checkpoint {name} is damaged: its metadata has {key} {text:?}, which no run \
                 saves. Use an earlier copy"
            ))
        }),
    }
}
