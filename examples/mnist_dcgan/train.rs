//! The training loop: data, models, the metric, and everything written under --out.

use crate::cli::Args;
use crate::gan::{FIXED_NOISE_STREAM, Gan, NOISE_STREAM, Schedule};
use crate::report;
use duel::data::{GpuImages, Mnist, encode_idx, mnist};
use duel::metrics::{Classifier, Scorer};
use duel::{Error, Gpu, Result, Tensor, io, ops};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

fn read_scalar(t: &Tensor) -> Result<f32> {
    Ok(t.to_vec()?[0])
}

fn run_metadata(args: &Args, step: usize) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("step".to_string(), step.to_string()),
        ("arch".to_string(), format!("{:?}", args.arch)),
        ("nz".to_string(), args.nz.to_string()),
        ("ngf".to_string(), args.ngf.to_string()),
        ("ndf".to_string(), args.ndf.to_string()),
        ("seed".to_string(), args.seed.to_string()),
        ("batch_size".to_string(), args.batch_size.to_string()),
    ])
}

/// Trains as `args` say until the last step, a NaN loss (an error; the checkpoint of
/// the last good step stays) or `interrupted` (a checkpoint is saved, then Ok).
pub fn run(args: &Args, interrupted: &AtomicBool) -> Result<()> {
    if args.batch_size == 0 || args.log_every == 0 || args.sample_every == 0 {
        return Err(Error::Shape(
            "--batch-size, --log-every and --sample-every must be at least 1".into(),
        ));
    }
    let gpu = Gpu::new()?;
    eprintln!("adapter: {}", gpu.adapter());
    let dir = mnist::find_or_download(args.data_dir.as_deref())?;
    let data = Mnist::load(&dir)?;
    eprintln!(
        "MNIST from {}: {} training digits",
        dir.display(),
        data.train.count
    );
    let images = GpuImages::upload(&gpu, &data.train.images, data.train.count, &[1, 28, 28])?;

    std::fs::create_dir_all(args.out.join("samples"))
        .map_err(|e| Error::Data(format!("cannot create {}: {e}", args.out.display())))?;
    let checkpoint_path = args.out.join("checkpoint.safetensors");
    let csv_path = args.out.join("metrics.csv");

    let scorer = if args.eval_every > 0 {
        scorer(&gpu, args, &data)?
    } else {
        None
    };
    let fd_floor = scorer.as_ref().map_or(0.0, |(_, floor)| *floor);

    let mut gan = Gan::new(&gpu, args)?;
    eprintln!(
        "generator {} parameters, discriminator {} parameters",
        gan.g.parameter_count(),
        gan.d.parameter_count()
    );
    let mut step = 0;
    let mut rows = Vec::new();
    if let Some(resume) = &args.resume {
        let metadata = gan.load(resume)?;
        for key in ["arch", "nz", "ngf", "ndf", "batch_size"] {
            let want = run_metadata(args, 0)[key].clone();
            if metadata.get(key) != Some(&want) {
                return Err(Error::Data(format!(
                    "checkpoint {} was saved with {key} = {:?}, this run has {want}",
                    resume.display(),
                    metadata.get(key)
                )));
            }
        }
        step = metadata
            .get("step")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        rows = report::read_csv(&csv_path)
            .into_iter()
            .filter(|r| r.step <= step)
            .collect();
        eprintln!("resumed from {} at step {step}", resume.display());
    }

    let mut schedule = Schedule::new(&gpu, args, &images)?;
    let steps_per_epoch = schedule.steps_per_epoch();
    let all_epochs = steps_per_epoch * args.epochs;
    let total_steps = match args.max_steps {
        0 => all_epochs,
        cap => all_epochs.min(cap),
    };
    let fixed_noise = Tensor::uninit(&gpu, &[64, args.nz])?;
    ops::fill_normal(&fixed_noise, 0.0, 1.0, args.seed ^ FIXED_NOISE_STREAM, 0)?;

    let bar = ProgressBar::new(total_steps as u64).with_position(step as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} steps, ETA {eta} {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let started = Instant::now();
    let seconds_before = rows.last().map_or(0.0, |r: &report::Row| r.seconds);
    let mut frames = Vec::new();
    let mut last_good_step = step;

    while step < total_steps {
        let epoch = step / steps_per_epoch;
        let (real, z, dropout_seed) = schedule.inputs(&images, step)?;
        let stats = gan.step(&gpu, &real, z, dropout_seed)?;
        step += 1;

        let end_of_epoch = step % steps_per_epoch == 0;
        let sample_now = step % args.sample_every == 0 || end_of_epoch || step == total_steps;
        let stop = interrupted.load(Ordering::SeqCst);
        let eval_now = args.eval_every > 0
            && scorer.is_some()
            && (step % args.eval_every == 0 || step == total_steps);
        if step % args.log_every == 0 || sample_now || eval_now || stop {
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
                return Err(Error::Numeric(format!(
                    "loss became {} (D) / {} (G) by step {step}; the last good checkpoint, from step \
                     {last_good_step}, is kept at {}. Try a lower --lr.",
                    row.loss_d,
                    row.loss_g,
                    checkpoint_path.display()
                )));
            }
            bar.set_message(format!(
                "epoch {} Loss_D {:.3} Loss_G {:.3} D(x) {:.3} D(G(z)) {:.3}",
                row.epoch, row.loss_d, row.loss_g, row.d_x, row.d_g_z
            ));
            rows.push(row);
        }
        if let (true, Some((scorer, _))) = (eval_now, &scorer) {
            let score = gan.score(&gpu, scorer, args.nz, args.seed, args.eval_samples)?;
            bar.suspend(|| eprintln!("step {step}: {score}"));
            if let Some(row) = rows.last_mut() {
                row.eval = Some(report::Eval::from(&score));
            }
            report::write_csv(&csv_path, &rows)?;
            report::plot_fd(&args.out.join("fd_curve.png"), &rows, fd_floor)?;
        }
        bar.set_position(step as u64);
        if sample_now || stop {
            let grid = io::grid_image(&gan.generate(&gpu, &fixed_noise)?, 8)?;
            io::save_png(
                &args.out.join("samples").join(format!("step_{step:06}.png")),
                &grid,
            )?;
            io::save_png(&args.out.join("latest.png"), &grid)?;
            frames.push(grid);
            report::write_csv(&csv_path, &rows)?;
            report::plot_losses(&args.out.join("loss_curve.png"), &rows)?;
            gan.save(&checkpoint_path, run_metadata(args, step))?;
            last_good_step = step;
        }
        if stop {
            bar.abandon_with_message(format!("interrupted; checkpoint saved at step {step}"));
            return Ok(());
        }
    }
    bar.finish();
    if !frames.is_empty() {
        report::write_gif(&args.out.join("progress.gif"), &frames)?;
    }
    if args.export_samples > 0 {
        export_samples(&gpu, &gan, args, &args.out.join("samples-idx3-ubyte"))?;
    }
    eprintln!(
        "done: {step} steps in {:.0} s; outputs in {}",
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}

/// The classifier metric and its floor, the FD of 10,000 real training digits. A
/// missing classifier turns the metric off with a note on how to train one.
fn scorer(gpu: &Gpu, args: &Args, data: &Mnist) -> Result<Option<(Scorer, f64)>> {
    let classifier = match Classifier::load(gpu, &args.classifier) {
        Ok((classifier, _)) => classifier,
        Err(e) => {
            eprintln!("note: no FD metric this run: {e}");
            return Ok(None);
        }
    };
    let (scorer, floor) = Scorer::with_floor(gpu, classifier, data)?;
    eprintln!("metric floor, 10,000 real training digits: {floor}");
    Ok(Some((scorer, floor.fd)))
}

/// Writes `--export-samples` generated digits as an IDX file of (N, 28, 28) bytes.
fn export_samples(gpu: &Gpu, gan: &Gan, args: &Args, path: &Path) -> Result<()> {
    let mut bytes = Vec::with_capacity(args.export_samples * 784);
    let mut drawn = 0;
    while drawn < args.export_samples {
        let n = (args.export_samples - drawn).min(256);
        let z = Tensor::uninit(gpu, &[n, args.nz])?;
        ops::fill_normal(&z, 0.0, 1.0, args.seed ^ NOISE_STREAM ^ 0xE7, drawn as u64)?;
        let images = gan.generate(gpu, &z)?.to_vec()?;
        bytes.extend(
            images
                .iter()
                .map(|v| ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8),
        );
        drawn += n;
    }
    io::write_bytes(path, &encode_idx(&[args.export_samples, 28, 28], &bytes))
}
