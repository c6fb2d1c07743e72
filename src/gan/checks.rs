//! What a run refuses before it starts, each with a message that names the flag:
//! settings that make no sense, a fresh run over an earlier one, and a checkpoint
//! that does not continue this run.

use super::model::metadata_number;
use super::train::TrainConfig;
use super::zoo::ModelConfig;
use crate::data::ImageSet;
#[cfg(feature = "native")]
use crate::io::checkpoint;
use crate::{AdamConfig, Error, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// The most images a run scores or exports at once: 20 times the 50,000 of an FID,
/// and a bound that keeps their buffers possible (a million CIFAR-10 samples are 3 GB).
pub const MAX_SAMPLES: usize = 1_000_000;

/// The checkpoint a run writes under its output directory.
pub const CHECKPOINT: &str = "checkpoint.safetensors";

/// Metadata entries that decide what a resumed run computes: another value would
/// not continue the run but start a different one, so resume refuses it.
const MUST_MATCH: [(&str, &str); 9] = [
    ("arch", "--arch"),
    ("image", "the data set"),
    ("nz", "--nz"),
    ("ngf", "--ngf"),
    ("ndf", "--ndf"),
    ("seed", "--seed"),
    ("batch_size", "--batch-size"),
    ("spectral_norm", "--spectral-norm"),
    ("classes", "--conditional"),
];

/// Entries a resumed run may change, taking this run's value with a note: changing the
/// loss, a penalty or a learning rate part-way through is a legitimate thing to try.
#[cfg(feature = "native")]
pub const MAY_CHANGE: [&str; 7] = ["loss", "r1", "gp", "n_critic", "ema", "adam_g", "adam_d"];

fn usage(message: String) -> Result<()> {
    Err(Error::Usage(message))
}

/// Refuses an Adam setting that can't train: `who` is "generator" or
/// "discriminator", `flag` the flag that sets its learning rate.
fn check_adam(adam: &AdamConfig, who: &str, flag: &str) -> Result<()> {
    if !(adam.lr.is_finite() && adam.lr > 0.0) {
        return usage(format!(
            "the {who}'s learning rate is {} (--lr or {flag}); it must be a positive number \
             such as 2e-4",
            adam.lr
        ));
    }
    if !(0.0..1.0).contains(&adam.beta1) || !(0.0..1.0).contains(&adam.beta2) {
        return usage(format!(
            "the {who}'s Adam betas are {} and {} (--beta1); each must be in [0, 1)",
            adam.beta1, adam.beta2
        ));
    }
    if !(adam.eps.is_finite() && adam.eps > 0.0) {
        return usage(format!(
            "the {who}'s Adam epsilon is {}; it must be a positive number",
            adam.eps
        ));
    }
    Ok(())
}

/// The settings alone, before any file or device is touched.
pub fn check_settings(config: &TrainConfig, model: &ModelConfig) -> Result<()> {
    model.check_image()?;
    for (flag, width) in [
        ("--nz", model.nz),
        ("--ngf", model.ngf),
        ("--ndf", model.ndf),
    ] {
        if width == 0 {
            return usage(format!(
                "{flag} 0 leaves a layer with no units; use at least 1"
            ));
        }
    }
    if config.batch_size < 2 {
        return usage(format!(
            "--batch-size {}: batch norm over a single image normalises it to zero, so the \
             generator learns nothing; use at least 2 (32 to 128 is usual)",
            config.batch_size
        ));
    }
    // --epochs sets the length only when --max-steps does not.
    if config.epochs == 0 && config.max_steps == 0 {
        return usage(
            "--epochs 0 trains nothing; use at least 1, or set the length with --max-steps".into(),
        );
    }
    for (flag, every) in [
        ("--log-every", config.log_every),
        ("--sample-every", config.sample_every),
    ] {
        if every == 0 {
            return usage(format!(
                "{flag} 0: it counts steps, so it must be at least 1"
            ));
        }
    }
    if config.eval_every > 0 && config.eval_samples < 2 {
        return usage(format!(
            "--eval-samples {}: the FD fits a covariance, which needs at least 2 samples \
             (10,000 is usual); or turn scoring off with --eval-every 0",
            config.eval_samples
        ));
    }
    for (flag, count) in [
        ("--eval-samples", config.eval_samples),
        ("--export-samples", config.export_samples),
    ] {
        if count > MAX_SAMPLES {
            return usage(format!(
                "{flag} {count} is more than the {MAX_SAMPLES} images a run scores or \
                 exports; 10,000 to 50,000 is usual"
            ));
        }
    }
    let recipe = &config.recipe;
    for (flag, weight) in [("--r1", recipe.r1), ("--gp", recipe.gp)] {
        if !(weight.is_finite() && weight >= 0.0) {
            return usage(format!(
                "{flag} {weight}: a penalty's weight is a number ≥ 0 (10 is usual; 0 turns \
                 it off)"
            ));
        }
    }
    if !(0.0..1.0).contains(&recipe.ema) {
        return usage(format!(
            "--ema {}: the decay of a moving average is in [0, 1) (0.999 is usual; 0 turns \
             it off)",
            recipe.ema
        ));
    }
    if recipe.n_critic == 0 {
        return usage("--n-critic 0 would never train the generator; use at least 1".into());
    }
    check_adam(&config.recipe.adam_g, "generator", "--lr-g")?;
    check_adam(&config.recipe.adam_d, "discriminator", "--lr-d")
}

/// Refuses a batch that the data set can't fill even once.
pub fn check_batch(batch_size: usize, images: usize, set: ImageSet) -> Result<()> {
    if batch_size > images {
        return Err(Error::Usage(format!(
            "--batch-size {batch_size} is more than the {images} {} training images; use at \
             most {images}",
            set.name()
        )));
    }
    Ok(())
}

/// Refuses a fresh run into an output directory that holds a checkpoint, unless it
/// resumes or is told to overwrite.
#[cfg(feature = "native")]
fn check_fresh_output(config: &TrainConfig) -> Result<()> {
    let existing = config.out.join(CHECKPOINT);
    if config.resume.is_some() || config.overwrite || !existing.exists() {
        return Ok(());
    }
    let step = checkpoint::metadata(&existing)
        .ok()
        .and_then(|m| m.get("step").cloned())
        .map_or(String::new(), |s| format!(", at step {s}"));
    usage(format!(
        "{} already holds a run ({CHECKPOINT}{step}). Pass --resume {} to continue it, \
         --overwrite to replace it, or another --out",
        config.out.display(),
        existing.display()
    ))
}

/// Whether a `MUST_MATCH` metadata value has the form a run writes: a garbled one is
/// damage, not another setting to resume with.
fn well_formed(key: &str, value: &str) -> bool {
    match key {
        "arch" => value.parse::<super::zoo::Arch>().is_ok(),
        "image" => value.split('x').all(|d| d.parse::<u64>().is_ok()),
        "spectral_norm" => value.parse::<bool>().is_ok(),
        _ => value.parse::<u64>().is_ok(),
    }
}

/// The step a checkpoint was saved at, after refusing one that does not continue
/// this run (`expected` is this run's metadata): another model, seed or batch size,
/// or a setting, step or Adam count that is missing or garbled.
pub fn check_resume(
    path: &Path,
    saved: &BTreeMap<String, String>,
    expected: &BTreeMap<String, String>,
) -> Result<usize> {
    for (key, flag) in MUST_MATCH {
        let want = &expected[key];
        // Checkpoints from before colour images have no `image`: they are MNIST's; and
        // none from before spectral norm has it.
        let got = match (key, saved.get(key)) {
            ("image", None) => Some("1x28x28"),
            ("spectral_norm", None) => Some("false"),
            ("classes", None) => Some("0"),
            (_, got) => got.map(String::as_str),
        };
        if let Some(value) = got.filter(|v| !well_formed(key, v)) {
            return Err(Error::Data(format!(
                "checkpoint {} is damaged: its metadata has {key} {value:?}, which no run \
                 saves. Use an earlier copy, or start a new run",
                path.display()
            )));
        }
        if got != Some(want.as_str()) {
            let why = if key == "seed" {
                " (the seed draws the noise and the order of the images, so another \
                 would start a different run)"
            } else {
                ""
            };
            return Err(Error::Usage(format!(
                "checkpoint {} was saved with {key} {}, this run has {want} ({flag}){why}. \
                 Resume with the checkpoint's setting, or start a new run",
                path.display(),
                got.unwrap_or("missing")
            )));
        }
    }
    // The average is a tensor set of its own: a checkpoint has it or not, as the run must.
    let averaged = |m: &BTreeMap<String, String>| m.get("ema").is_some_and(|v| v != "0");
    if averaged(saved) != averaged(expected) {
        let (with, without) = ("with --ema", "without --ema");
        let (was, is) = match averaged(saved) {
            true => (with, without),
            false => (without, with),
        };
        return Err(Error::Usage(format!(
            "checkpoint {} was saved {was}, and this run is {is}: resume it {was}",
            path.display()
        )));
    }
    metadata_number(saved, "adam_steps", path)?;
    let step = metadata_number(saved, "step", path)?;
    usize::try_from(step).map_err(|_| {
        Error::Data(format!(
            "checkpoint {}: step {step} is out of range",
            path.display()
        ))
    })
}

/// Refuses to resume the checkpoint at `path`, saved at `step`, into a run that ends
/// at `total` steps: it would train nothing. (Exporting samples is still work to do.)
#[cfg(feature = "native")]
pub fn check_steps_left(
    config: &TrainConfig,
    path: &Path,
    step: usize,
    total: usize,
) -> Result<()> {
    if step < total || config.export_samples > 0 {
        return Ok(());
    }
    let end = match config.max_steps {
        0 => format!("{total} (--epochs {})", config.epochs),
        steps => format!("{steps} (--max-steps)"),
    };
    usage(format!(
        "checkpoint {} is at step {step}, and this run ends at step {end}: there is \
         nothing to train. To train on, pass a larger --max-steps, such as --max-steps {}",
        path.display(),
        step + 1000
    ))
}

/// Everything a run refuses before it starts: its settings, its output directory,
/// and the checkpoint it resumes (read for its metadata alone).
#[cfg(feature = "native")]
pub fn check_run(config: &TrainConfig, model: &ModelConfig) -> Result<()> {
    check_settings(config, model)?;
    check_fresh_output(config)?;
    if let Some(path) = &config.resume {
        let saved = checkpoint::metadata(path)?;
        let step = check_resume(path, &saved, &super::train::run_metadata(config, model, 0))?;
        // A run of whole epochs learns its length once the data is read.
        if config.max_steps > 0 {
            check_steps_left(config, path, step, config.max_steps)?;
        }
    }
    Ok(())
}
