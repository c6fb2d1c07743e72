//! Trains a DCGAN on MNIST with duel: `cargo run --release --example mnist_dcgan`.
//!
//! Under --out it writes, every epoch and every --sample-every steps, a grid of 64
//! digits from fixed noise (`samples/step_NNNNNN.png`, and `latest.png`), `metrics.csv`,
//! `loss_curve.png` and `checkpoint.safetensors`; at the end `progress.gif`. Every
//! --eval-every steps it scores 10,000 samples with the MNIST classifier (FD,
//! confidence, class entropy) into `metrics.csv` and `fd_curve.png`.
//!
//! The models, the training loop and everything it writes live in `duel::gan`; this
//! example picks MNIST, the models and the defaults.

mod cli;

use clap::Parser;
use duel::gan::Dataset;
use duel::{Gpu, Result};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

fn main() {
    let args = cli::Args::parse();
    // Ctrl-C only raises a flag: the loop saves a checkpoint at the end of the step.
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = interrupted.clone();
    let handler = ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::SeqCst));
    if let Err(e) = handler {
        eprintln!("warning: Ctrl-C will not save a checkpoint: {e}");
    }
    if let Err(e) = run(&args, &interrupted) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(args: &cli::Args, interrupted: &AtomicBool) -> Result<()> {
    let gpu = Gpu::new()?;
    eprintln!("adapter: {}", gpu.adapter());
    let classifier = (args.eval_every > 0).then_some(args.classifier.as_path());
    let data = Dataset::mnist(&gpu, args.data_dir.as_deref(), classifier)?;
    let (config, model) = (args.train_config(), args.model_config());
    duel::gan::run(&gpu, &config, &model, &data, interrupted)
}
