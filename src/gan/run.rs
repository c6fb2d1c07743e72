//! The native training loop: a `Trainer` driven to its last step, with everything
//! written under the output directory, the progress bar, and signals.

use super::checks::{CHECKPOINT, MAY_CHANGE, check_run, check_steps_left};
use super::data_parallel::Collective;
use super::model::Restored;
use super::schedule::NOISE_STREAM;
use super::train::{Dataset, TrainConfig, run_metadata};
use super::trainer::Trainer;
use super::zoo::ModelConfig;
use super::{Gan, report};
use crate::data::{ImageSet, Split, encode_idx};
use crate::metrics::{Classifier, Scorer};
use crate::{Error, Gpu, Result, Tensor, interrupt, io, ops};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use web_time::Instant;

impl Dataset {
    /// The training images of `set`, looked for in `data_dir`, then `$DUEL_DATA`, then
    /// the cache, else downloaded; with the classifier metric when `classifier` is
    /// given. A classifier that does not load turns the metric off with a note on how
    /// to train one.
    pub fn load(
        gpu: &Gpu,
        set: ImageSet,
        data_dir: Option<&Path>,
        classifier: Option<&Path>,
    ) -> Result<Dataset> {
        let (set, train, test) = set.load(data_dir)?;
        Dataset::new(gpu, set, &train, &test, classifier)
    }

    /// `load` with the splits already read.
    pub fn new(
        gpu: &Gpu,
        set: ImageSet,
        train: &Split,
        test: &Split,
        classifier: Option<&Path>,
    ) -> Result<Dataset> {
        let metric = match classifier.map(|path| Classifier::load(gpu, set, path)) {
            Some(Ok((classifier, _))) => {
                let shape = set.image_shape();
                let (scorer, floor) = Scorer::with_floor(gpu, classifier, &shape, train, test)?;
                eprintln!(
                    "metric floor, {} real training images: {floor}",
                    floor.count
                );
                Some((scorer, floor.fd))
            }
            Some(Err(e)) => {
                eprintln!("note: no FD metric this run: {e}");
                None
            }
            None => None,
        };
        Dataset::upload(gpu, set, train, metric)
    }
}

/// What a run leaves in its output directory, deleted by `--overwrite`; the sample
/// grids under `samples/` go too.
const OUTPUTS: [&str; 8] = [
    CHECKPOINT,
    "metrics.csv",
    "latest.png",
    "loss_curve.png",
    "fd_curve.png",
    "progress.gif",
    "samples-idx3-ubyte",
    LABELS_FILE,
];

/// Makes the output directory ready: created, cleared of an earlier run's outputs when
/// overwriting, and of temporary files that killed runs left.
fn prepare_output(config: &TrainConfig) -> Result<()> {
    let samples = config.out.join("samples");
    std::fs::create_dir_all(&samples)
        .map_err(|e| Error::Output(format!("cannot create {}: {e}", samples.display())))?;
    let removed: Vec<PathBuf> = [&config.out, &samples]
        .into_iter()
        .flat_map(|dir| io::remove_stale_temporaries(dir))
        .collect();
    if !removed.is_empty() {
        eprintln!(
            "removed {} temporary files that an interrupted run left in {}",
            removed.len(),
            config.out.display()
        );
    }
    if config.overwrite && config.resume.is_none() {
        let grids = std::fs::read_dir(&samples)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("step_"))
            });
        for path in OUTPUTS.iter().map(|f| config.out.join(f)).chain(grids) {
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::Output(format!(
                        "--overwrite: cannot delete {}: {e}",
                        path.display()
                    )));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Where a resumed run came from.
struct Resumed {
    path: PathBuf,
    step: usize,
    restored: Restored,
}

/// What the run has kept in `checkpoint_path`, in words, and whether it has one.
fn kept_checkpoint(config: &TrainConfig, checkpoint_path: &Path) -> (String, bool) {
    match io::checkpoint::metadata(checkpoint_path) {
        Ok(m) => (
            format!(
                "The last good checkpoint, from step {}, is kept at {}.",
                m.get("step").map_or("?", String::as_str),
                checkpoint_path.display()
            ),
            true,
        ),
        Err(_) => (
            format!(
                "No checkpoint of this run was written (the first comes at step {}).",
                config.sample_every
            ),
            false,
        ),
    }
}

/// An output that could not be written (a full disk): what is kept, and how to go on.
fn output_failed(e: Error, config: &TrainConfig, checkpoint_path: &Path) -> Error {
    let Error::Output(what) = e else {
        return e;
    };
    let (kept, exists) = kept_checkpoint(config, checkpoint_path);
    let next = match exists {
        true => format!(
            "Free some space, then continue with --resume {}",
            checkpoint_path.display()
        ),
        false => "Free some space, then start again".to_string(),
    };
    Error::Output(format!("{what}. {kept} {next}"))
}

/// The error for a run whose numbers went bad by `step`: what went bad, which
/// checkpoint is kept, and the likely cause.
fn diverged(
    what: &str,
    step: usize,
    config: &TrainConfig,
    checkpoint_path: &Path,
    resumed: Option<&Resumed>,
) -> Error {
    let kept = kept_checkpoint(config, checkpoint_path).0;
    let cause = match resumed {
        Some(r) if r.restored.warning().is_some() => format!(
            "Likely cause: the checkpoint this run resumed from, {}: {}.",
            r.path.display(),
            r.restored.warning().unwrap_or_default()
        ),
        _ => format!(
            "Likely cause: learning rates too high for this model (generator {}, \
             discriminator {}): try a lower --lr.",
            config.recipe.adam_g.lr, config.recipe.adam_d.lr
        ),
    };
    let resumed = resumed.map_or(String::new(), |r| {
        format!(" (resumed at step {} from {})", r.step, r.path.display())
    });
    Error::Numeric(format!("{what} by step {step}{resumed}. {kept} {cause}"))
}

/// Trains the models of `model` on `data` as `config` says, until the last step, a
/// NaN (an error; the checkpoint of the last good step stays), or a stop that
/// `interrupt` received (a checkpoint is saved, then `Error::Interrupted`; before the
/// first step, nothing is written). The output directory is locked throughout
/// (`io::OutputLock`): a second run into it is refused.
pub fn run(gpu: &Gpu, config: &TrainConfig, model: &ModelConfig, data: &Dataset) -> Result<()> {
    let _lock = io::OutputLock::take(&config.out)?;
    run_locked(gpu, config, model, data, None)
}

/// `run`, for a caller that took the output directory's lock itself, as one of
/// `ranks` in a data-parallel run: rank 0 alone checks and writes --out (grids,
/// metrics, checkpoints), scores, and draws the progress bar; every rank stops at the
/// same step.
pub(crate) fn run_locked(
    gpu: &Gpu,
    config: &TrainConfig,
    model: &ModelConfig,
    data: &Dataset,
    ranks: Option<Rc<dyn Collective>>,
) -> Result<()> {
    let root = ranks.as_ref().is_none_or(|r| r.rank() == 0);
    if root {
        check_run(config, model)?;
    }
    let mut trainer = Trainer::new_on(gpu, config, model, data, ranks.clone())?;
    interrupt::check("getting ready, before the first step; nothing was written to --out")?;
    if root {
        prepare_output(config)?;
    }
    let checkpoint_path = config.out.join(CHECKPOINT);
    let csv_path = config.out.join("metrics.csv");

    let scorer = data
        .metric
        .as_ref()
        .filter(|_| config.eval_every > 0 && root);
    let fd_floor = scorer.map_or(0.0, |(_, floor)| *floor);

    if root {
        eprintln!(
            "generator {} parameters, discriminator {} parameters",
            trainer.gan.g.parameter_count(),
            trainer.gan.d.parameter_count()
        );
    }
    let mut rows = Vec::new();
    let mut resumed = None;
    if let Some(path) = &config.resume {
        let bytes = io::checkpoint::read(path)?;
        let restored = pollster::block_on(trainer.resume(&bytes, &path.display().to_string()))?;
        let expected = run_metadata(config, model, 0);
        for key in MAY_CHANGE {
            if let Some(saved) = restored.metadata.get(key).filter(|&s| s != &expected[key]) {
                eprintln!(
                    "note: the checkpoint trained with {key} {saved}; this run goes on with {}",
                    expected[key]
                );
            }
        }
        if let Some(warning) = restored.warning() {
            eprintln!("warning: {warning}");
        }
        let step = trainer.steps_done();
        rows = report::read_csv(&csv_path)
            .into_iter()
            .filter(|r| r.step <= step)
            .collect();
        eprintln!("resumed from {} at step {step}", path.display());
        resumed = Some(Resumed {
            path: path.clone(),
            step,
            restored,
        });
    }
    let diverged =
        |what: &str, step| diverged(what, step, config, &checkpoint_path, resumed.as_ref());

    let steps_per_epoch = trainer.steps_per_epoch();
    let total_steps = trainer.total_steps();
    if let Some(r) = &resumed {
        check_steps_left(config, &r.path, r.step, total_steps)?;
    }
    let bar =
        io::progress_bar(total_steps as u64, "steps").with_position(trainer.steps_done() as u64);
    if !root {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let started = Instant::now();
    let seconds_before = rows.last().map_or(0.0, |r: &report::Row| r.seconds);
    let mut frames = Vec::new();

    while trainer.steps_done() < total_steps {
        let stats = trainer.step(gpu, data)?;
        let step = trainer.steps_done();

        let end_of_epoch = step % steps_per_epoch == 0;
        let sample_now = step % config.sample_every == 0 || end_of_epoch || step == total_steps;
        // A signal to any rank stops them all after this step.
        let mut stop = agree(&ranks, interrupt::requested().is_some())?;
        let eval_now = config.eval_every > 0
            && scorer.is_some()
            && (step % config.eval_every == 0 || step == total_steps);
        if step % config.log_every == 0 || sample_now || eval_now || stop {
            let seconds = seconds_before + started.elapsed().as_secs_f64();
            let row = pollster::block_on(trainer.row(&stats, seconds))?;
            if !row.loss_d.is_finite() || !row.loss_g.is_finite() {
                bar.abandon();
                let what = format!("the loss became {} (D) / {} (G)", row.loss_d, row.loss_g);
                return Err(diverged(&what, step));
            }
            bar.set_message(format!(
                "epoch {} Loss_D {:.3} Loss_G {:.3} D(x) {:.3} D(G(z)) {:.3}",
                row.epoch, row.loss_d, row.loss_g, row.d_x, row.d_g_z
            ));
            rows.push(row);
        }
        if let (true, false, Some((scorer, _))) = (eval_now, stop, scorer) {
            match pollster::block_on(trainer.score(gpu, scorer, config.eval_samples)) {
                Ok(score) => {
                    bar.suspend(|| eprintln!("step {step}: {score}"));
                    if let Some(row) = rows.last_mut() {
                        row.eval = Some(report::Eval::from(&score));
                    }
                    report::write_csv(&csv_path, &rows)?;
                    io::save_png(
                        &config.out.join("fd_curve.png"),
                        &report::fd_chart(&rows, fd_floor),
                    )?;
                }
                Err(Error::Interrupted { .. }) => stop = true,
                Err(e) => return Err(e),
            }
        }
        bar.set_position(step as u64);
        // Rank 0's scoring may have been stopped.
        stop = agree(&ranks, stop)?;
        if (sample_now || stop) && !root {
            // Once rank 0 has written the checkpoint, the ranks' models are compared.
            check_same_models(&ranks, &trainer, step)?;
        }
        if (sample_now || stop) && root {
            let name = checkpoint_path.display().to_string();
            match pollster::block_on(trainer.checkpoint_bytes(&name)) {
                Err(Error::Numeric(what)) => {
                    bar.abandon();
                    return Err(diverged(
                        &format!("the weights became NaN or infinite ({what})"),
                        step,
                    ));
                }
                bytes => {
                    let saved = io::write_bytes(&checkpoint_path, &bytes?);
                    saved.map_err(|e| output_failed(e, config, &checkpoint_path))?;
                }
            }
            check_same_models(&ranks, &trainer, step)?;
            let grid = pollster::block_on(trainer.grid(gpu))?;
            let write = || -> Result<()> {
                let samples = config.out.join("samples");
                io::save_png(&samples.join(format!("step_{step:06}.png")), &grid)?;
                io::save_png(&config.out.join("latest.png"), &grid)?;
                report::write_csv(&csv_path, &rows)?;
                let losses = config.out.join("loss_curve.png");
                io::save_png(&losses, &report::loss_chart(&rows, config.recipe.loss))
            };
            write().map_err(|e| output_failed(e, config, &checkpoint_path))?;
            frames.push(grid);
        }
        if stop {
            bar.abandon();
            // A rank that no signal reached stops as if it had had its launcher's.
            let signal = interrupt::requested().unwrap_or(signal_hook::consts::SIGTERM);
            return Err(Error::Interrupted {
                signal,
                message: format!(
                    "checkpoint saved at step {step} in {}; continue with --resume {0}",
                    checkpoint_path.display()
                ),
            });
        }
    }
    bar.finish();
    if !root {
        return Ok(());
    }
    if !frames.is_empty() {
        report::write_gif(&config.out.join("progress.gif"), &frames)?;
    }
    if config.export_samples > 0 {
        let path = config.out.join("samples-idx3-ubyte");
        export_samples(gpu, &trainer.gan, model, config.export_samples, &path).map_err(
            |e| match e {
                Error::Interrupted { signal, message } => Error::Interrupted {
                    signal,
                    message: format!(
                        "{message}; training finished and its checkpoint is saved in {}",
                        checkpoint_path.display()
                    ),
                },
                e => e,
            },
        )?;
    }
    eprintln!(
        "done: {} steps in {:.0} s; outputs in {}",
        trainer.steps_done(),
        started.elapsed().as_secs_f64(),
        config.out.display()
    );
    Ok(())
}

/// Whether any rank says `flag` (all of them, in a data-parallel run).
fn agree(ranks: &Option<Rc<dyn Collective>>, flag: bool) -> Result<bool> {
    match ranks {
        Some(ranks) => Ok(ranks.max(i32::from(flag))? != 0),
        None => Ok(flag),
    }
}

/// An error unless every rank of a data-parallel run holds the same model at `step`.
fn check_same_models(
    ranks: &Option<Rc<dyn Collective>>,
    trainer: &Trainer,
    step: usize,
) -> Result<()> {
    match ranks {
        Some(ranks) => ranks.check_same_tensors(
            &format!("models at step {step}"),
            &trainer.gan.checkpoint_tensors(),
        ),
        None => Ok(()),
    }
}

/// Writes `count` generated images as an IDX file of bytes: (N, H, W) for grey images,
/// (N, H, W, C) with the channels interleaved (RGB) for colour, as image tools and
/// NumPy's CIFAR-10 arrays lay them out.
fn export_samples(
    gpu: &Gpu,
    gan: &Gan,
    model: &ModelConfig,
    count: usize,
    path: &Path,
) -> Result<()> {
    let [c, h, w] = model.image;
    let asked = gan.asked(count);
    let mut bytes = Vec::with_capacity(count * c * h * w);
    let mut drawn = 0;
    while drawn < count {
        interrupt::check("exporting samples")?;
        let n = (count - drawn).min(256);
        let z = Tensor::uninit(gpu, &[n, model.nz])?;
        ops::fill_normal(&z, 0.0, 1.0, model.seed ^ NOISE_STREAM ^ 0xE7, drawn as u64)?;
        let images = gan.generate(gpu, &z, &asked[drawn..drawn + n])?.to_vec()?;
        for image in images.chunks_exact(c * h * w) {
            // (C, H, W) → (H, W, C)
            bytes.extend(
                (0..h * w)
                    .flat_map(|p| (0..c).map(move |ch| image[ch * h * w + p]))
                    .map(io::pixel_byte),
            );
        }
        drawn += n;
    }
    let dims: Vec<usize> = if c == 1 {
        vec![count, h, w]
    } else {
        vec![count, h, w, c]
    };
    // A conditional GAN's samples come with the class each was drawn for, as MNIST's
    // labels file does.
    if gan.classes() > 0 {
        let labels = path.with_file_name(LABELS_FILE);
        io::write_bytes(&labels, &encode_idx(&[count], &asked))?;
    }
    io::write_bytes(path, &encode_idx(&dims, &bytes))
}

/// Beside `samples-idx3-ubyte`, a conditional GAN's requested classes.
pub const LABELS_FILE: &str = "labels-idx1-ubyte";
