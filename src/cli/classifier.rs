//! The classifier examples' flags (mnist_classifier, cifar10_classifier).

use crate::data::ImageSet;
use crate::metrics::{Classifier, ClassifierTraining, default_classifier_path, train_classifier};
use crate::{Error, Gpu, Result};
use clap::Parser;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// What an example fixes: its data set and its defaults.
#[derive(Debug, Clone)]
pub struct ClassifierExample {
    pub about: &'static str,
    pub set: ImageSet,
    pub epochs: usize,
    pub lr_halving: usize,
    pub mirror: bool,
}

#[derive(Debug, Parser)]
struct Args {
    #[arg(long)]
    epochs: usize,
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Adam's learning rate in the first epoch; it halves every --lr-halving epochs.
    #[arg(long, default_value_t = 2e-3)]
    lr: f32,
    #[arg(long)]
    lr_halving: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Directory holding the data set's files (else $DUEL_DATA, else the user cache,
    /// else they are downloaded).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Where the weights go [default: the data set's, in assets/, where the metric
    /// reads them].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Read the loss back every this many steps, for the progress bar.
    #[arg(long, default_value_t = 50)]
    log_every: usize,
}

/// A classifier example's whole program: parse the flags, load the data, train, save.
pub fn classifier_main(example: &ClassifierExample) {
    super::init();
    let (args, _) = super::parse::<Args, _, _>(std::env::args_os(), |command| {
        let command = super::with_default(command.about(example.about), "epochs", example.epochs);
        super::with_default(command, "lr_halving", example.lr_halving)
    });
    super::exit_on_error(run(example, &args));
}

fn run(example: &ClassifierExample, args: &Args) -> Result<()> {
    let set = example.set;
    let gpu = Gpu::new()?;
    eprintln!("adapter: {}", gpu.adapter());
    let (_, train, test) = set.load(args.data_dir.as_deref())?;
    let classifier = Classifier::new(&gpu, set, args.seed)?;
    let config = ClassifierTraining {
        epochs: args.epochs,
        batch_size: args.batch_size,
        lr: args.lr,
        lr_halving: args.lr_halving,
        mirror: example.mirror,
        seed: args.seed,
        log_every: args.log_every,
    };
    let started = Instant::now();
    let accuracy = train_classifier(&gpu, &classifier, &train, &test, &config)?;
    let seconds = started.elapsed().as_secs_f64();
    let metadata = BTreeMap::from([
        ("test_accuracy".to_string(), format!("{accuracy:.4}")),
        ("test_images".to_string(), test.count.to_string()),
        ("train_images".to_string(), train.count.to_string()),
        ("epochs".to_string(), args.epochs.to_string()),
        ("train_seconds".to_string(), format!("{seconds:.0}")),
        ("adapter".to_string(), gpu.adapter().to_string()),
    ]);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_classifier_path(set));
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Output(format!("cannot create {}: {e}", dir.display())))?;
    }
    classifier.save(&out, metadata)?;
    eprintln!(
        "test accuracy {:.2}% on {} test images after {} epochs in {seconds:.0} s; weights in {}",
        100.0 * accuracy,
        test.count,
        args.epochs,
        out.display()
    );
    Ok(())
}
