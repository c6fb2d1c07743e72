//! Trains a DCGAN on MNIST with duel: `cargo run --release --example mnist_dcgan`.
//!
//! Under --out it writes, every epoch and every --sample-every steps, a grid of 64
//! digits from fixed noise (`samples/step_NNNNNN.png`, and `latest.png`), `metrics.csv`,
//! `loss_curve.png` and `checkpoint.safetensors`; at the end `progress.gif`. Every
//! --eval-every steps it scores 10,000 samples with the MNIST classifier (FD,
//! confidence, class entropy) into `metrics.csv` and `fd_curve.png`.

mod chart;
mod cli;
mod gan;
mod models;
mod report;
mod train;

use clap::Parser;
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
    if let Err(e) = train::run(&args, &interrupted) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
