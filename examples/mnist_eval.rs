//! Scores generated images with duel's classifier metric: FD to the real test images,
//! confidence and class entropy, beside the floor of real training images. MNIST
//! digits by default; CIFAR-10 photos when the samples or checkpoint are colour.
//!
//! ```text
//! cargo run --release --example mnist_eval -- --samples out/samples-idx3-ubyte
//! cargo run --release --example mnist_eval -- --checkpoint out/checkpoint.safetensors
//! ```

use clap::Parser;
use duel::data::{GpuImages, ImageSet, read_idx};
use duel::gan::{Gan, MAX_SAMPLES, ModelConfig, Recipe};
use duel::metrics::{Classifier, Scorer, default_classifier_path};
use duel::{Error, Gpu, Result};
use std::path::{Path, PathBuf};

#[derive(Debug, Parser)]
#[command(about = "Score generated images with duel's classifier metric")]
struct Args {
    /// An IDX file of (N, 28, 28) or (N, 32, 32, 3) bytes, as --export-samples writes.
    #[arg(
        long,
        conflicts_with = "checkpoint",
        required_unless_present = "checkpoint"
    )]
    samples: Option<PathBuf>,
    /// A GAN example's checkpoint: its generator draws --count samples.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    #[arg(long, default_value_t = 10_000)]
    count: usize,
    /// The classifier's weights [default: the data set's, in assets/].
    #[arg(long)]
    classifier: Option<PathBuf>,
    /// Directory holding the data set's files (else $DUEL_DATA, else the user cache).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

fn main() {
    duel::cli::init();
    duel::cli::exit_on_error(run(&Args::parse()));
}

/// What is scored: a set of images, or a generator with the settings it was built with.
enum Samples {
    Images(Vec<u8>, usize),
    Generator(Box<Gan>, ModelConfig),
}

/// Everything is checked (the count, the samples or checkpoint, the classifier, the
/// data) before the floor, the 45-second part, is computed.
fn run(args: &Args) -> Result<()> {
    if args.checkpoint.is_some() && !(2..=MAX_SAMPLES).contains(&args.count) {
        return Err(Error::Usage(format!(
            "--count {}: the FD fits a covariance, so score between 2 and {MAX_SAMPLES} \
             samples (10,000 is usual)",
            args.count
        )));
    }
    let gpu = Gpu::new()?;
    let (set, samples) = match (&args.samples, &args.checkpoint) {
        (Some(path), _) => load_samples(path)?,
        (None, Some(path)) => load_generator(&gpu, path)?,
        (None, None) => unreachable!("clap requires one of them"),
    };
    let path = args
        .classifier
        .clone()
        .unwrap_or_else(|| default_classifier_path(set));
    let (classifier, info) = Classifier::load(&gpu, set, &path)?;
    eprintln!(
        "{} classifier {} (test accuracy {})",
        set.name(),
        path.display(),
        info.get("test_accuracy").map_or("unknown", String::as_str)
    );
    let (train, test) = set.load(args.data_dir.as_deref())?;
    let (scorer, floor) = Scorer::with_floor(&gpu, classifier, &train, &test)?;
    println!("floor ({} real training images): {floor}", floor.count);
    let score = match samples {
        Samples::Images(bytes, n) => {
            scorer.score_set(&GpuImages::upload(&gpu, &bytes, n, &set.image_shape())?)?
        }
        // The checkpoint's own seed draws the noise, so the score matches the one its
        // training run logged at that step.
        Samples::Generator(gan, model) => {
            gan.score(&gpu, &scorer, model.nz, model.seed, args.count)?
        }
    };
    println!("samples: {score}");
    Ok(())
}

/// Exported samples: (N, 28, 28) grey digits, or (N, 32, 32, 3) RGB photos, which the
/// classifier takes as (N, 3, 32, 32).
fn load_samples(path: &Path) -> Result<(ImageSet, Samples)> {
    let idx = read_idx(path)?;
    match idx.dims[..] {
        [n, 28, 28] if n >= 2 => Ok((ImageSet::Mnist, Samples::Images(idx.data, n))),
        [n, 32, 32, 3] if n >= 2 => {
            let planar = (0..n * 3 * 32 * 32)
                .map(|i| {
                    let (image, rest) = (i / 3072, i % 3072);
                    idx.data[image * 3072 + (rest % 1024) * 3 + rest / 1024]
                })
                .collect();
            Ok((ImageSet::Cifar10, Samples::Images(planar, n)))
        }
        _ => Err(Error::Data(format!(
            "{}: expected (N ≥ 2, 28, 28) or (N ≥ 2, 32, 32, 3) images, found dimensions {:?}",
            path.display(),
            idx.dims
        ))),
    }
}

/// Rebuilds the GAN a checkpoint was saved from, from its metadata.
fn load_generator(gpu: &Gpu, path: &Path) -> Result<(ImageSet, Samples)> {
    let metadata = duel::io::checkpoint::metadata(path)?;
    let model = ModelConfig::from_metadata(&metadata, &path.display().to_string())?;
    let set = [ImageSet::Mnist, ImageSet::Cifar10]
        .into_iter()
        .find(|s| s.image_shape() == model.image)
        .ok_or_else(|| {
            Error::Data(format!(
                "{} makes {:?} images, which no data set has",
                path.display(),
                model.image
            ))
        })?;
    let batch_size = metadata
        .get("batch_size")
        .and_then(|b| b.parse().ok())
        .ok_or_else(|| {
            Error::Data(format!(
                "{} has no batch_size in its metadata: is it a duel GAN checkpoint?",
                path.display()
            ))
        })?;
    // The optimiser's settings don't change what the generator draws; an averaged
    // generator, which draws the samples, and spectral norm's vectors are part of the
    // checkpoint.
    let ema = metadata
        .get("ema")
        .and_then(|e| e.parse().ok())
        .unwrap_or(0.0);
    let recipe = Recipe {
        ema,
        ..Recipe::default()
    };
    let mut gan = Gan::new(gpu, &model, &recipe, batch_size)?;
    if let Some(warning) = gan.load(path)?.warning() {
        eprintln!("warning: {warning}");
    }
    Ok((set, Samples::Generator(Box::new(gan), model)))
}
