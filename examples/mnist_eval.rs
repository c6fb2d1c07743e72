//! Scores generated MNIST digits with duel's classifier metric: FD to the real test
//! digits, confidence and class entropy, beside the floor of real training digits.
//!
//! ```text
//! cargo run --release --example mnist_eval -- --samples out/samples-idx3-ubyte
//! cargo run --release --example mnist_eval -- --checkpoint out/checkpoint.safetensors
//! ```

use clap::Parser;
use duel::data::{GpuImages, Mnist, mnist, read_idx};
use duel::gan::{Gan, ModelConfig, Recipe};
use duel::metrics::{Classifier, Scorer, default_classifier_path};
use duel::{Error, Gpu, Result};
use std::path::{Path, PathBuf};

#[derive(Debug, Parser)]
#[command(about = "Score generated MNIST digits with duel's classifier metric")]
struct Args {
    /// An IDX file of (N, 28, 28) bytes, as mnist_dcgan --export-samples writes.
    #[arg(
        long,
        conflicts_with = "checkpoint",
        required_unless_present = "checkpoint"
    )]
    samples: Option<PathBuf>,
    /// An mnist_dcgan checkpoint: its generator draws --count samples.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    #[arg(long, default_value_t = 10_000)]
    count: usize,
    #[arg(long, default_value_os_t = default_classifier_path())]
    classifier: PathBuf,
    /// Directory holding the four MNIST files (else $DUEL_DATA, else the user cache).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

fn main() {
    if let Err(e) = run(&Args::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<()> {
    let gpu = Gpu::new()?;
    let (classifier, info) = Classifier::load(&gpu, &args.classifier)?;
    eprintln!(
        "classifier {} (test accuracy {})",
        args.classifier.display(),
        info.get("test_accuracy").map_or("unknown", String::as_str)
    );
    let data = Mnist::load(&mnist::find_or_download(args.data_dir.as_deref())?)?;
    let (scorer, floor) = Scorer::with_floor(&gpu, classifier, &data)?;
    println!("floor (10,000 real training digits): {floor}");
    let score = match (&args.samples, &args.checkpoint) {
        (Some(path), _) => scorer.score_set(&load_samples(&gpu, path)?)?,
        (None, Some(path)) => {
            // The checkpoint's own seed draws the noise, so the score matches the one
            // its training run logged at that step.
            let (gan, model) = load_generator(&gpu, path)?;
            gan.score(&gpu, &scorer, model.nz, model.seed, args.count)?
        }
        (None, None) => unreachable!("clap requires one of them"),
    };
    println!("samples: {score}");
    Ok(())
}

fn load_samples(gpu: &Gpu, path: &Path) -> Result<GpuImages> {
    let idx = read_idx(path)?;
    match idx.dims[..] {
        [n, 28, 28] if n >= 2 => GpuImages::upload(gpu, &idx.data, n, &[1, 28, 28]),
        _ => Err(Error::Data(format!(
            "{}: expected (N ≥ 2, 28, 28) images, found dimensions {:?}",
            path.display(),
            idx.dims
        ))),
    }
}

/// Rebuilds the GAN a checkpoint was saved from, from its metadata, and the settings
/// it was built with.
fn load_generator(gpu: &Gpu, path: &Path) -> Result<(Gan, ModelConfig)> {
    let metadata = duel::io::checkpoint::metadata(path)?;
    let model = ModelConfig::from_metadata(&metadata, &path.display().to_string())?;
    let batch_size = metadata
        .get("batch_size")
        .and_then(|b| b.parse().ok())
        .ok_or_else(|| {
            Error::Data(format!(
                "{} has no batch_size in its metadata: is it a duel GAN checkpoint?",
                path.display()
            ))
        })?;
    // The optimiser's settings don't change what the generator draws.
    let mut gan = Gan::new(gpu, &model, &Recipe::default(), batch_size)?;
    gan.load(path)?;
    Ok((gan, model))
}
