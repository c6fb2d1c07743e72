//! Trains the MNIST classifier that `duel::metrics` measures generated digits with:
//! `cargo run --release --example mnist_classifier`. It writes its weights to
//! assets/mnist_classifier.safetensors by default, where the metric looks for them.
//!
//! Besides the digits, one image in eleven of its training set is noise with a uniform
//! target over the ten classes, so the classifier learns to be unsure of what is not a
//! digit: a metric whose classifier is confident on noise would call noise a digit.

use clap::Parser;
use duel::autograd::Graph;
use duel::data::{GpuImages, Mnist, mnist};
use duel::metrics::{CLASSES, Classifier, default_classifier_path};
use duel::optim::Adam;
use duel::{AdamConfig, Error, Gpu, Result, ops};
use rand::{RngExt, SeedableRng, rngs::StdRng, seq::SliceRandom};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

const PIXELS: usize = 28 * 28;

#[derive(Debug, Parser)]
#[command(about = "Train the MNIST classifier behind duel's FD metric")]
struct Args {
    #[arg(long, default_value_t = 3)]
    epochs: usize,
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Adam's learning rate in the first epoch; it halves every epoch after.
    #[arg(long, default_value_t = 2e-3)]
    lr: f32,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Directory holding the four MNIST files (else $DUEL_DATA, else the user cache).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Where the weights go; the metric reads them from the default.
    #[arg(long, default_value_os_t = default_classifier_path())]
    out: PathBuf,
    /// Read the loss back every this many steps, for the progress bar.
    #[arg(long, default_value_t = 50)]
    log_every: usize,
}

fn main() {
    if let Err(e) = run(&Args::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<()> {
    if args.batch_size == 0 || args.log_every == 0 {
        return Err(Error::Shape(
            "--batch-size and --log-every must be at least 1".into(),
        ));
    }
    let gpu = Gpu::new()?;
    eprintln!("adapter: {}", gpu.adapter());
    let data = Mnist::load(&mnist::find_or_download(args.data_dir.as_deref())?)?;
    let shape = [1, 28, 28];
    let (images, targets) = with_noise(&data.train.images, &data.train.labels, args.seed);
    let count = targets.len() / CLASSES;
    let train_images = GpuImages::upload(&gpu, &images, count, &shape)?;
    // Target bytes are tenths: 10 for the labelled class, 1 everywhere for noise.
    let train_targets = GpuImages::upload_scaled(&gpu, &targets, count, &[CLASSES], 0.1, 0.0)?;
    let test_images = GpuImages::upload(&gpu, &data.test.images, data.test.count, &shape)?;
    let test_labels = GpuImages::upload_labels(&gpu, &data.test.labels)?;

    let model = Classifier::new(&gpu, args.seed)?;
    let mut adam = Adam::new(
        model.params(),
        AdamConfig {
            lr: args.lr,
            ..AdamConfig::default()
        },
    )?;
    let steps_per_epoch = train_images.len() / args.batch_size;
    let bar = duel::io::progress_bar((steps_per_epoch * args.epochs) as u64);
    let started = Instant::now();
    let mut accuracy = 0.0;
    for epoch in 0..args.epochs {
        adam.config.lr = args.lr * 0.5f32.powi(epoch as i32);
        let mut perm: Vec<u32> = (0..train_images.len() as u32).collect();
        perm.shuffle(&mut rand::rngs::StdRng::seed_from_u64(
            args.seed ^ (epoch as u64) << 32,
        ));
        let order = train_images.order(&perm)?;
        for step in 0..steps_per_epoch {
            let start = step * args.batch_size;
            let images = train_images.batch(&order, start, args.batch_size)?;
            let targets = train_targets.batch(&order, start, args.batch_size)?;
            let global_step = epoch * steps_per_epoch + step;
            let mut graph = Graph::new(&gpu, true, args.seed.wrapping_add(global_step as u64));
            adam.zero_grad()?;
            let x = graph.input(images);
            let (_, logits) = model.forward(&mut graph, x)?;
            let loss = graph.softmax_cross_entropy_soft(logits, &targets)?;
            graph.backward(loss)?;
            adam.step()?;
            if step % args.log_every == 0 {
                let loss = graph.value(loss).to_vec()?[0];
                if !loss.is_finite() {
                    return Err(Error::Numeric(format!(
                        "the loss became {loss} at step {global_step}; try a lower --lr"
                    )));
                }
                bar.set_message(format!("epoch {} loss {loss:.4}", epoch + 1));
            }
            bar.inc(1);
        }
        accuracy = test_accuracy(&model, &test_images, &test_labels)?;
        bar.suspend(|| {
            eprintln!(
                "epoch {}: test accuracy {:.2}% after {:.0} s",
                epoch + 1,
                100.0 * accuracy,
                started.elapsed().as_secs_f64()
            )
        });
    }
    bar.finish();
    let seconds = started.elapsed().as_secs_f64();
    let metadata = BTreeMap::from([
        ("test_accuracy".to_string(), format!("{accuracy:.4}")),
        ("epochs".to_string(), args.epochs.to_string()),
        ("train_seconds".to_string(), format!("{seconds:.0}")),
        ("adapter".to_string(), gpu.adapter().to_string()),
    ]);
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Data(format!("cannot create {}: {e}", dir.display())))?;
    }
    model.save(&args.out, metadata)?;
    eprintln!(
        "test accuracy {:.2}% after {} epochs in {seconds:.0} s; weights in {}",
        100.0 * accuracy,
        args.epochs,
        args.out.display()
    );
    Ok(())
}

/// The training images followed by one noise image for every ten digits, and their
/// targets as bytes, CLASSES per image. Half the noise is uniform bytes; half is sparse
/// speckle on black, closer to a failed generator's output.
fn with_noise(images: &[u8], labels: &[u8], seed: u64) -> (Vec<u8>, Vec<u8>) {
    let noise_count = labels.len() / 10;
    let mut rng = StdRng::seed_from_u64(seed ^ 0x006e_6f69_7365);
    let mut all_images = images.to_vec();
    for i in 0..noise_count {
        let density: f64 = rng.random_range(0.05..0.5);
        all_images.extend((0..PIXELS).map(|_| {
            if i % 2 == 0 {
                rng.random::<u8>()
            } else if rng.random_bool(density) {
                rng.random_range(128..=255)
            } else {
                0
            }
        }));
    }
    let mut targets = Vec::with_capacity((labels.len() + noise_count) * CLASSES);
    for &label in labels {
        targets.extend((0..CLASSES as u8).map(|c| if c == label { 10 } else { 0 }));
    }
    targets.resize(targets.len() + noise_count * CLASSES, 1);
    (all_images, targets)
}

/// Accuracy on the 10,000 test digits, with batch norm in inference mode.
fn test_accuracy(model: &Classifier, images: &GpuImages, labels: &GpuImages) -> Result<f64> {
    let order = images.order(&(0..images.len() as u32).collect::<Vec<_>>())?;
    let batch = 1000;
    let mut correct = 0.0;
    for start in (0..images.len()).step_by(batch) {
        let n = batch.min(images.len() - start);
        let (_, logits) = model.infer(&images.batch(&order, start, n)?)?;
        let accuracy = ops::accuracy(&logits, &labels.batch(&order, start, n)?)?;
        correct += f64::from(accuracy.to_vec()?[0]) * n as f64;
    }
    Ok(correct / images.len() as f64)
}
