//! What a GAN run is: its settings (`TrainConfig`), the data set on the GPU with its
//! metric (`Dataset`), and the metadata its checkpoints carry.

use super::Recipe;
use super::zoo::ModelConfig;
use crate::data::{GpuImages, ImageSet, Split, one_hot};
use crate::metrics::Scorer;
use crate::{AdamConfig, Gpu, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// How a run trains and what it writes; the models are a `ModelConfig`'s.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Passes over the training images.
    pub epochs: usize,
    pub batch_size: usize,
    /// The loss, and each network's Adam.
    pub recipe: Recipe,
    /// Where grids, metrics, plots and checkpoints go.
    pub out: PathBuf,
    /// Continue from this checkpoint (see `checks::check_resume` for what must match).
    pub resume: Option<PathBuf>,
    /// Start afresh even where `out` holds a run, deleting its outputs first; without
    /// it such a run is refused.
    pub overwrite: bool,
    /// Train this many steps in all (a step trains D once and G once), however many
    /// epochs that takes; 0 trains `epochs` epochs instead.
    pub max_steps: usize,
    /// Also write a sample grid and a checkpoint every this many steps.
    pub sample_every: usize,
    /// Read the losses back every this many steps for the progress bar and metrics.
    pub log_every: usize,
    /// At the end, write this many generated images to `samples-idx3-ubyte`.
    pub export_samples: usize,
    /// Score `eval_samples` generated images every this many steps (and at the end),
    /// when the data set has a metric; 0 turns it off.
    pub eval_every: usize,
    pub eval_samples: usize,
    /// In a data-parallel run, batch norm normalises over the global batch
    /// (`Gan::set_data_parallel`).
    pub sync_batch_norm: bool,
}

impl Default for TrainConfig {
    fn default() -> TrainConfig {
        TrainConfig {
            epochs: 2,
            batch_size: 32,
            recipe: Recipe::default(),
            out: PathBuf::from("out"),
            resume: None,
            overwrite: false,
            max_steps: 0,
            sample_every: 500,
            log_every: 10,
            export_samples: 0,
            sync_batch_norm: false,
            eval_every: 1000,
            eval_samples: 10_000,
        }
    }
}

/// What a GAN trains on, and how its samples are scored.
pub struct Dataset {
    pub set: ImageSet,
    /// The training images, on the GPU.
    pub images: GpuImages,
    /// Their labels as one-hot rows (classes), for conditional GANs.
    pub one_hot: GpuImages,
    /// The metric, and its floor: the FD of real training images.
    pub metric: Option<(Scorer, f64)>,
}

impl Dataset {
    /// The training images of `set` on the GPU, with their one-hot labels, and the
    /// metric (a scorer and its floor) when there is one.
    pub fn upload(
        gpu: &Gpu,
        set: ImageSet,
        train: &Split,
        metric: Option<(Scorer, f64)>,
    ) -> Result<Dataset> {
        let images = GpuImages::upload(gpu, &train.images, train.count, &set.image_shape())?;
        let classes = set.classes();
        let rows = one_hot(&train.labels, classes);
        let one_hot = GpuImages::upload_scaled(gpu, &rows, train.count, &[classes], 1.0, 0.0)?;
        Ok(Dataset {
            set,
            images,
            one_hot,
            metric,
        })
    }
}

fn adam_text(adam: &AdamConfig) -> String {
    format!(
        "lr {} beta1 {} beta2 {} eps {}",
        adam.lr, adam.beta1, adam.beta2, adam.eps
    )
}

/// What a checkpoint's metadata says of the run: the models, the batch, the recipe.
pub fn run_metadata(
    config: &TrainConfig,
    model: &ModelConfig,
    step: usize,
) -> BTreeMap<String, String> {
    let mut metadata = model.metadata();
    let recipe = &config.recipe;
    metadata.extend([
        ("step".to_string(), step.to_string()),
        ("batch_size".to_string(), config.batch_size.to_string()),
        ("loss".to_string(), recipe.loss.to_string()),
        ("r1".to_string(), recipe.r1.to_string()),
        ("gp".to_string(), recipe.gp.to_string()),
        ("n_critic".to_string(), recipe.n_critic.to_string()),
        ("ema".to_string(), recipe.ema.to_string()),
        (
            "spectral_norm".to_string(),
            recipe.spectral_norm.to_string(),
        ),
        ("adam_g".to_string(), adam_text(&recipe.adam_g)),
        ("adam_d".to_string(), adam_text(&recipe.adam_d)),
    ]);
    metadata
}
