//! The training loop: a GAN on a data set, the metric, and everything written under
//! the output directory.

use super::checks::{CHECKPOINT, MAY_CHANGE, check_batch, check_resume, check_run};
use super::model::Restored;
use super::report;
use super::schedule::{FIXED_NOISE_STREAM, NOISE_STREAM, Schedule};
use super::zoo::ModelConfig;
use super::{Gan, Recipe};
use crate::data::{GpuImages, ImageSet, Split, encode_idx, one_hot};
use crate::metrics::{Classifier, Scorer};
use crate::{AdamConfig, Error, Gpu, Result, Tensor, interrupt, io, ops};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

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
        let (train, test) = set.load(data_dir)?;
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
        let images = GpuImages::upload(gpu, &train.images, train.count, &set.image_shape())?;
        let classes = set.classes();
        let rows = one_hot(&train.labels, classes);
        let one_hot = GpuImages::upload_scaled(gpu, &rows, train.count, &[classes], 1.0, 0.0)?;
        let metric = match classifier.map(|path| Classifier::load(gpu, set, path)) {
            Some(Ok((classifier, _))) => {
                let (scorer, floor) = Scorer::with_floor(gpu, classifier, train, test)?;
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
        Ok(Dataset {
            set,
            images,
            one_hot,
            metric,
        })
    }
}

fn read_scalar(t: &Tensor) -> Result<f32> {
    Ok(t.to_vec()?[0])
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

/// The error for a run whose numbers went bad by `step`: what went bad, which
/// checkpoint is kept, and the likely cause.
fn diverged(
    what: &str,
    step: usize,
    config: &TrainConfig,
    checkpoint_path: &Path,
    resumed: Option<&Resumed>,
) -> Error {
    let kept = match io::checkpoint::metadata(checkpoint_path) {
        Ok(m) => format!(
            "The last good checkpoint, from step {}, is kept at {}.",
            m.get("step").map_or("?", String::as_str),
            checkpoint_path.display()
        ),
        Err(_) => format!(
            "No checkpoint of this run was written (the first comes at step {}).",
            config.sample_every
        ),
    };
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
/// `interrupt` received (a checkpoint is saved, then `Error::Interrupted`).
pub fn run(gpu: &Gpu, config: &TrainConfig, model: &ModelConfig, data: &Dataset) -> Result<()> {
    check_run(config, model)?;
    if model.image != data.set.image_shape() {
        return Err(Error::Usage(format!(
            "the models make {:?} images but {} images are {:?}",
            model.image,
            data.set.name(),
            data.set.image_shape()
        )));
    }
    let images = &data.images;
    check_batch(config.batch_size, images.len(), data.set)?;
    prepare_output(config)?;
    let checkpoint_path = config.out.join(CHECKPOINT);
    let csv_path = config.out.join("metrics.csv");

    let scorer = data.metric.as_ref().filter(|_| config.eval_every > 0);
    let fd_floor = scorer.map_or(0.0, |(_, floor)| *floor);

    if config.recipe.loss == super::Loss::Wgan && config.recipe.gp == 0.0 {
        eprintln!(
            "note: --loss wgan without --gp leaves D unconstrained, and its outputs can grow \
             without bound; --gp 10 is the usual pairing"
        );
    }
    let mut gan = Gan::new(gpu, model, &config.recipe, config.batch_size)?;
    eprintln!(
        "generator {} parameters, discriminator {} parameters",
        gan.g.parameter_count(),
        gan.d.parameter_count()
    );
    let mut step = 0;
    let mut rows = Vec::new();
    let mut resumed = None;
    if let Some(path) = &config.resume {
        let restored = gan.load(path)?;
        let expected = run_metadata(config, model, 0);
        step = check_resume(path, &restored.metadata, &expected)?;
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

    let mut schedule = Schedule::new(gpu, model.seed, config.batch_size, model.nz, images)?;
    let steps_per_epoch = schedule.steps_per_epoch();
    let total_steps = match config.max_steps {
        0 => steps_per_epoch * config.epochs,
        steps => steps,
    };
    // An 8 × 8 grid, or for a conditional GAN a row of 8 per class.
    let (grid_count, grid_classes): (usize, Vec<u8>) = match model.classes {
        0 => (64, vec![0; 64]),
        classes => (
            8 * classes,
            (0..8 * classes).map(|i| (i / 8) as u8).collect(),
        ),
    };
    let fixed_noise = Tensor::uninit(gpu, &[grid_count, model.nz])?;
    ops::fill_normal(&fixed_noise, 0.0, 1.0, model.seed ^ FIXED_NOISE_STREAM, 0)?;

    let bar = io::progress_bar(total_steps as u64).with_position(step as u64);
    let started = Instant::now();
    let seconds_before = rows.last().map_or(0.0, |r: &report::Row| r.seconds);
    let mut frames = Vec::new();

    while step < total_steps {
        let epoch = step / steps_per_epoch;
        let (real, z, dropout_seed) = schedule.inputs(images, step)?;
        let z = z.clone();
        let labels = match gan.classes() {
            0 => None,
            _ => Some(schedule.batch_of(&data.one_hot, step)?),
        };
        let train_g = (step + 1) % config.recipe.n_critic == 0;
        let stats = gan.step(gpu, &real, labels.as_ref(), &z, dropout_seed, train_g)?;
        step += 1;

        let end_of_epoch = step % steps_per_epoch == 0;
        let sample_now = step % config.sample_every == 0 || end_of_epoch || step == total_steps;
        let mut stop = interrupt::requested().is_some();
        let eval_now = config.eval_every > 0
            && scorer.is_some()
            && (step % config.eval_every == 0 || step == total_steps);
        if step % config.log_every == 0 || sample_now || eval_now || stop {
            let row = report::Row {
                step,
                epoch: epoch + 1,
                loss_d: read_scalar(&stats.loss_d)?,
                loss_g: read_scalar(&stats.loss_g)?,
                d_x: read_scalar(&stats.d_x)?,
                d_g_z: read_scalar(&stats.d_g_z)?,
                seconds: seconds_before + started.elapsed().as_secs_f64(),
                eval: None,
            };
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
            match gan.score(gpu, scorer, model.nz, model.seed, config.eval_samples) {
                Ok(score) => {
                    bar.suspend(|| eprintln!("step {step}: {score}"));
                    if let Some(row) = rows.last_mut() {
                        row.eval = Some(report::Eval::from(&score));
                    }
                    report::write_csv(&csv_path, &rows)?;
                    report::plot_fd(&config.out.join("fd_curve.png"), &rows, fd_floor)?;
                }
                Err(Error::Interrupted { .. }) => stop = true,
                Err(e) => return Err(e),
            }
        }
        bar.set_position(step as u64);
        if sample_now || stop {
            match gan.save(&checkpoint_path, run_metadata(config, model, step)) {
                Err(Error::Numeric(what)) => {
                    bar.abandon();
                    return Err(diverged(
                        &format!("the weights became NaN or infinite ({what})"),
                        step,
                    ));
                }
                saved => saved?,
            }
            let grid = io::grid_image(&gan.generate(gpu, &fixed_noise, &grid_classes)?, 8)?;
            io::save_png(
                &config
                    .out
                    .join("samples")
                    .join(format!("step_{step:06}.png")),
                &grid,
            )?;
            io::save_png(&config.out.join("latest.png"), &grid)?;
            frames.push(grid);
            report::write_csv(&csv_path, &rows)?;
            let losses = config.out.join("loss_curve.png");
            report::plot_losses(&losses, &rows, config.recipe.loss)?;
        }
        if let (true, Some(signal)) = (stop, interrupt::requested()) {
            bar.abandon();
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
    if !frames.is_empty() {
        report::write_gif(&config.out.join("progress.gif"), &frames)?;
    }
    if config.export_samples > 0 {
        let path = config.out.join("samples-idx3-ubyte");
        export_samples(gpu, &gan, model, config.export_samples, &path).map_err(|e| match e {
            Error::Interrupted { signal, message } => Error::Interrupted {
                signal,
                message: format!(
                    "{message}; training finished and its checkpoint is saved in {}",
                    checkpoint_path.display()
                ),
            },
            e => e,
        })?;
    }
    eprintln!(
        "done: {step} steps in {:.0} s; outputs in {}",
        started.elapsed().as_secs_f64(),
        config.out.display()
    );
    Ok(())
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
