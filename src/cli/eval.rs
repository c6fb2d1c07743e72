//! mnist_eval's flags and what it does: scores generated images with the classifier
//! metric (FD to the real test images, confidence, class entropy, and label accuracy
//! when the classes are known), beside the floor of real training images. The images
//! come from an exported file, or from a checkpoint's generator, rebuilt as its
//! metadata says.

use crate::data::{GpuImages, ImageSet, read_idx};
use crate::gan::{Gan, MAX_SAMPLES, ModelConfig};
use crate::metrics::{Classifier, Score, Scorer, default_classifier_path, proxy_takes};
use crate::{Error, Gpu, Result};
use clap::{ArgGroup, Parser};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Parser)]
#[command(
    about = "Score generated images with duel's classifier metric",
    group(ArgGroup::new("images").required(true).args(["samples", "checkpoint"]))
)]
pub struct EvalArgs {
    /// An IDX file of (N, 28, 28) or (N, 32, 32, 3) bytes, as --export-samples writes.
    #[arg(long, conflicts_with = "checkpoint")]
    pub samples: Option<PathBuf>,
    /// With --samples: the class each sample was drawn for, as an IDX file of N bytes
    /// (a conditional GAN's --export-samples writes labels-idx1-ubyte); adds the label
    /// accuracy.
    #[arg(long, requires = "samples")]
    pub labels: Option<PathBuf>,
    /// A GAN example's checkpoint: its generator, built as the checkpoint's metadata
    /// says, draws --count samples.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    #[arg(long, default_value_t = 10_000)]
    pub count: usize,
    /// The classifier's weights [default: the data set's, in assets/].
    #[arg(long)]
    pub classifier: Option<PathBuf>,
    /// Directory holding the data set's files, whose real images the samples are
    /// scored against (else $DUEL_DATA, else the user cache; where none holds them,
    /// MNIST is downloaded, 11 MB, and CIFAR-10, 170 MB).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// mnist_eval's whole program.
pub fn eval_main() {
    super::init();
    let (args, _) = super::parse::<EvalArgs, _, _>(std::env::args_os(), |command| command);
    super::exit_on_error(run_eval(&args).map(|_| ()));
}

/// What is scored: a set of images with the classes they were drawn for, if known, or
/// a generator with the settings it was built with.
enum Samples {
    Images(GpuImages, Option<Vec<u8>>),
    Generator(Box<Gan>, ModelConfig),
}

/// Scores as the flags say, printing the floor and the score, and returns the score.
/// Everything is checked (the count, the samples or checkpoint, the classifier, the
/// data) before the floor, the slow part, is computed.
pub fn run_eval(args: &EvalArgs) -> Result<Score> {
    if args.checkpoint.is_some() && !(2..=MAX_SAMPLES).contains(&args.count) {
        return Err(Error::Usage(format!(
            "--count {}: the FD fits a covariance, so score between 2 and {MAX_SAMPLES} \
             samples (10,000 is usual)",
            args.count
        )));
    }
    let gpu = Gpu::new()?;
    let (set, samples) = match (&args.samples, &args.checkpoint) {
        (Some(path), _) => load_samples(&gpu, path, args.labels.as_deref())?,
        (None, Some(path)) => load_generator(&gpu, path)?,
        (None, None) => {
            return Err(Error::Usage(
                "nothing to score: pass --samples FILE or --checkpoint FILE".into(),
            ));
        }
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
    let (_, train, test) = set.load(args.data_dir.as_deref())?;
    let (scorer, floor) = Scorer::with_floor(&gpu, classifier, &set.image_shape(), &train, &test)?;
    println!("floor ({} real training images): {floor}", floor.count);
    let score = match samples {
        Samples::Images(images, None) => scorer.score_set(&images)?,
        Samples::Images(images, Some(labels)) => scorer.score_labelled(&images, &labels)?,
        // The checkpoint's own seed draws the noise, so the score matches the one its
        // training run logged at that step.
        Samples::Generator(gan, model) => {
            gan.score(&gpu, &scorer, model.nz, model.seed, args.count)?
        }
    };
    println!("samples: {score}");
    Ok(score)
}

/// Exported samples: (N, 28, 28) grey digits, or (N, 32, 32, 3) RGB photos, which the
/// classifier takes as (N, 3, 32, 32); with their classes when `labels` is given.
fn load_samples(gpu: &Gpu, path: &Path, labels: Option<&Path>) -> Result<(ImageSet, Samples)> {
    let idx = read_idx(path)?;
    let (set, n, pixels) = match idx.dims[..] {
        [n, 28, 28] if n >= 2 => (ImageSet::Mnist, n, idx.data),
        [n, 32, 32, 3] if n >= 2 => {
            let planar = (0..n * 3 * 32 * 32)
                .map(|i| {
                    let (image, rest) = (i / 3072, i % 3072);
                    idx.data[image * 3072 + (rest % 1024) * 3 + rest / 1024]
                })
                .collect();
            (ImageSet::Cifar10, n, planar)
        }
        _ => {
            return Err(Error::Data(format!(
                "{}: expected (N ≥ 2, 28, 28) or (N ≥ 2, 32, 32, 3) images, found \
                 dimensions {:?}",
                path.display(),
                idx.dims
            )));
        }
    };
    let classes = labels
        .map(|labels| load_labels(labels, n, set.classes()))
        .transpose()?;
    let images = GpuImages::upload(gpu, &pixels, n, &set.image_shape())?;
    Ok((set, Samples::Images(images, classes)))
}

/// The `n` classes in the IDX file `path`, each below `classes`.
fn load_labels(path: &Path, n: usize, classes: usize) -> Result<Vec<u8>> {
    let idx = read_idx(path)?;
    if idx.dims != [n] {
        return Err(Error::Data(format!(
            "{}: expected the classes of the {n} samples, dimensions [{n}], found {:?}",
            path.display(),
            idx.dims
        )));
    }
    if let Some(bad) = idx.data.iter().find(|&&c| usize::from(c) >= classes) {
        return Err(Error::Data(format!(
            "{}: class {bad} is not one of the data set's {classes}",
            path.display()
        )));
    }
    Ok(idx.data)
}

/// Rebuilds the GAN a checkpoint was saved from.
fn load_generator(gpu: &Gpu, path: &Path) -> Result<(ImageSet, Samples)> {
    let bytes = crate::io::checkpoint::read(path)?;
    let name = path.display().to_string();
    let (gan, model, restored) = pollster::block_on(Gan::from_checkpoint(gpu, &bytes, &name))?;
    if let Some(warning) = restored.warning() {
        eprintln!("warning: {warning}");
    }
    // An image folder's generator (grey or RGB, a side that is a multiple of 32) is
    // scored as CIFAR-10, its samples box-filtered to 32×32 (`Classifier::input`).
    let set = match model.image[..] {
        [1, 28, 28] => ImageSet::Mnist,
        _ if proxy_takes(&model.image) => ImageSet::Cifar10,
        _ => {
            return Err(Error::Data(format!(
                "{name} makes {:?} images, which no classifier takes",
                model.image
            )));
        }
    };
    if model.image != set.image_shape() {
        eprintln!(
            "note: {name} makes {:?} images; they are scored as CIFAR-10 at 32x32 RGB",
            model.image
        );
    }
    Ok((set, Samples::Generator(Box::new(gan), model)))
}
