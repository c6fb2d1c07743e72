//! A GAN trainer: two `Sequential` models, their optimisers and one training step
//! (`Gan`), what each step trains on (`Schedule`), a run as a stepping object
//! (`Trainer`), the native run loop with its grids, metrics, plots and checkpoints
//! (`run`), and the models it trains (`zoo`).
//! The examples pick a data set, the models and the defaults, and call `run`.

mod checks;
pub mod data_parallel;
mod examples;
mod model;
#[cfg(feature = "mpi")]
mod mpi_ranks;
mod rebuild;
mod recipe;
pub mod report;
#[cfg(feature = "native")]
mod run;
mod schedule;
mod train;
mod trainer;
pub mod zoo;

#[cfg(feature = "native")]
pub use checks::check_run;
pub use checks::{CHECKPOINT, MAX_SAMPLES, check_batch, check_resume, check_settings};
pub use data_parallel::Collective;
pub use examples::{CIFAR10_DCGAN, FOLDER_DCGAN, GanExample, MLP_GAN, MNIST_DCGAN};
pub use model::{Gan, Restored, StepStats, metadata_number};
#[cfg(feature = "mpi")]
pub use mpi_ranks::{Exchanges, MpiRanks, launched_by_mpi, signal_grace_note};
pub use recipe::{Loss, Recipe};
#[cfg(feature = "native")]
pub(crate) use run::run_locked;
#[cfg(feature = "native")]
pub use run::{LABELS_FILE, run};
pub use schedule::{EVAL_NOISE_STREAM, FIXED_NOISE_STREAM, NOISE_STREAM, Schedule, epoch_order};
pub use train::{Dataset, TrainConfig, run_metadata};
pub use trainer::Trainer;
pub use zoo::{Arch, ModelConfig};
