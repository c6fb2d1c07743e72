//! The browser bench page's measurement, natively: ms per training step of
//! mnist_dcgan's default recipe (what web/ trains) at batch 32 and 64, each on a fresh
//! trainer, after warm-up steps, with the steps recorded back to back and one wait
//! for the GPU, as web/bench.js times them in the browser.
//!
//! `cargo bench --bench page_step [-- --json PATH]` (PATH gets {"32": ms, "64": ms},
//! which the bench page shows beside its own figures).

mod common;

use duel::Gpu;
use duel::data::{ImageSet, Mnist};
use duel::gan::{Dataset, MNIST_DCGAN, Trainer};
use std::time::Instant;

const BATCHES: [usize; 2] = [32, 64];
const WARM_UP: usize = 2;
const MEASURED: usize = 5;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let argv: Vec<String> = std::env::args().collect();
    let json = argv
        .iter()
        .position(|a| a == "--json")
        .and_then(|i| argv.get(i + 1).cloned());
    let gpu = Gpu::new()?;
    println!("adapter: {}", gpu.adapter());
    let data = Mnist::load(&common::mnist_dir()?)?;
    let data = Dataset::upload(&gpu, ImageSet::Mnist, &data.train, None)?;
    let mut figures = Vec::new();
    for batch in BATCHES {
        let (mut config, model) = MNIST_DCGAN.defaults();
        config.batch_size = batch;
        let mut trainer = Trainer::new(&gpu, &config, &model, &data)?;
        for _ in 0..WARM_UP {
            trainer.step(&gpu, &data)?;
        }
        gpu.sync()?;
        let start = Instant::now();
        for _ in 0..MEASURED {
            trainer.step(&gpu, &data)?;
        }
        gpu.sync()?;
        let ms = start.elapsed().as_secs_f64() * 1e3 / MEASURED as f64;
        println!("batch {batch}: {ms:.1} ms per step (mnist_dcgan's default recipe)");
        figures.push(format!("\"{batch}\": {ms:.1}"));
    }
    if let Some(path) = json {
        std::fs::write(&path, format!("{{{}}}\n", figures.join(", ")))?;
        println!("wrote {path}");
    }
    Ok(())
}
