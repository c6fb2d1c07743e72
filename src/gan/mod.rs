//! A GAN trainer: two `Sequential` models, their optimisers and one training step
//! (`Gan`), what each step trains on (`Schedule`), the run loop with its grids,
//! metrics, plots and checkpoints (`run`), and the models it trains (`zoo`).
//! The examples pick a data set, the models and the defaults, and call `run`.

mod checks;
mod model;
mod recipe;
pub mod report;
mod schedule;
mod train;
pub mod zoo;

pub use checks::{CHECKPOINT, MAX_SAMPLES, check_batch, check_resume, check_run};
pub use model::{Gan, Restored, StepStats, metadata_number};
pub use recipe::{Loss, Recipe};
pub use schedule::{EVAL_NOISE_STREAM, FIXED_NOISE_STREAM, NOISE_STREAM, Schedule, epoch_order};
pub use train::{Dataset, TrainConfig, run, run_metadata};
pub use zoo::{Arch, ModelConfig};
