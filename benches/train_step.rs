//! Milliseconds per DCGAN training step (one D step and one G step, batch 64, the
//! default model) beside the GPU time of its kernels, so the overhead shows; first with
//! the heuristic GEMM plans (tuning off, or the core `DUEL_GEMM` forces), then with
//! plans tuned on this device (`GemmPolicy::Tuned`, without the plan cache, so each
//! GEMM is timed on its first use and the tuning's cost shows):
//! `cargo bench --bench train_step [-- --json PATH] [--profile] [--batch N]`; `--profile` adds
//! the time of each kernel. The JSON holds the first measurement.

mod common;

use duel::data::{GpuImages, Mnist};
use duel::gan::{Gan, ModelConfig, Recipe, Schedule};
use duel::gpu::GemmPolicy;
use duel::{Gpu, Result};
use std::time::{Duration, Instant};

const WARM_UP: usize = 3;
const MEASURED: usize = 10;

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let argv: Vec<String> = std::env::args().collect();
    let json = argv
        .iter()
        .position(|a| a == "--json")
        .and_then(|i| argv.get(i + 1).cloned());
    let gpu = Gpu::new()?;
    let gpu = if gpu.tunes() {
        gpu.with_gemm(GemmPolicy::Auto)?
    } else {
        gpu
    };
    println!("adapter: {}", gpu.adapter());
    let data = Mnist::load(&common::mnist_dir()?)?;
    let images = GpuImages::upload(&gpu, &data.train.images, data.train.count, &[1, 28, 28])?;
    // The reference point: batch 64, the default model; `--batch N` for others.
    let batch: usize = argv
        .iter()
        .position(|a| a == "--batch")
        .and_then(|i| argv.get(i + 1))
        .map_or(Ok(64), |b| b.parse())?;
    let untuned = measure(&gpu, &images, batch, &argv)?;
    if let Some(path) = json {
        let Figures {
            ms,
            kernel_ms,
            dispatches,
        } = untuned;
        let body = format!(
            "{{\"ms_per_step\": {ms:.3}, \"kernel_ms_per_step\": {kernel_ms:.3}, \"dispatches_per_step\": {dispatches:.0}}}\n"
        );
        duel::io::write_bytes(std::path::Path::new(&path), body.as_bytes())?;
        println!("wrote {path}");
    }
    println!("\nwith GEMM plans tuned on this device (DUEL_TUNE=on):");
    let tuned = gpu.with_gemm(GemmPolicy::Tuned)?;
    let started = Instant::now();
    measure(&tuned, &images, batch, &argv)?;
    let (shapes, spent) = tuned.tuning_stats();
    println!(
        "tuning: {shapes} GEMM shapes in {:.1} s, of {:.1} s in all",
        spent.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

struct Figures {
    ms: f64,
    kernel_ms: f64,
    dispatches: f64,
}

/// Trains the default model on `gpu` from its first step and prints, then returns,
/// what a step costs once warm.
fn measure(gpu: &Gpu, images: &GpuImages, batch: usize, argv: &[String]) -> Result<Figures> {
    let model = ModelConfig::default();
    let mut gan = Gan::new(gpu, &model, &Recipe::default(), batch)?;
    let mut schedule = Schedule::new(gpu, model.seed, batch, model.nz, images)?;
    let mut step = 0;
    let mut run_step = |gan: &mut Gan| -> Result<()> {
        let (real, z, seed) = schedule.inputs(images, step)?;
        gan.step(gpu, &real, None, z, seed, true)?;
        step += 1;
        Ok(())
    };
    for _ in 0..WARM_UP {
        run_step(&mut gan)?;
        gpu.sync()?;
    }
    let dispatches_before = gpu.batch_stats().dispatches;
    let mut wall = Duration::ZERO;
    for _ in 0..MEASURED {
        let start = Instant::now();
        run_step(&mut gan)?;
        gpu.sync()?;
        wall += start.elapsed();
    }
    let dispatches = (gpu.batch_stats().dispatches - dispatches_before) as f64 / MEASURED as f64;
    let mut kernels = Duration::ZERO;
    for _ in 0..MEASURED {
        kernels += gpu.time(|| run_step(&mut gan))?;
    }
    let ms = wall.as_secs_f64() * 1e3 / MEASURED as f64;
    let kernel_ms = kernels.as_secs_f64() * 1e3 / MEASURED as f64;
    println!(
        "batch {batch}, {} parameters in G, {} in D",
        gan.g.parameter_count(),
        gan.d.parameter_count()
    );
    println!("ms per step (wall, to a finished sync): {ms:.1}");
    println!("GPU time of its kernels:                {kernel_ms:.1}");
    println!(
        "overhead:                               {:.0}%",
        100.0 * (ms - kernel_ms) / kernel_ms
    );
    println!("dispatches per step:                    {dispatches:.0}");
    if argv.iter().any(|a| a == "--profile") {
        // Each dispatch in its own timed pass: kernels compared with each other.
        gpu.set_profiling(true)?;
        for _ in 0..MEASURED {
            run_step(&mut gan)?;
            gpu.sync()?;
        }
        println!("\nprofile (each kernel timed in a pass of its own), ms per step:");
        for k in gpu.profile()?.iter().take(20) {
            println!(
                "{:>9.2}  {:>5} calls  {}",
                k.ms / MEASURED as f64,
                k.calls / MEASURED as u64,
                k.name
            );
        }
        gpu.set_profiling(false)?;
    }
    Ok(Figures {
        ms,
        kernel_ms,
        dispatches,
    })
}
