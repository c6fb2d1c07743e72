//! What data-parallel training costs: ms per DCGAN step (the default model, global
//! batch 64) in one process, then on N MPI ranks, with the share of the step spent
//! averaging gradients and batch-norm statistics over the ranks (download, exchange,
//! upload) and the bytes each rank sends per step. On N ranks it runs twice: batch
//! norm over each rank's slice, then synchronised over the global batch
//! (--sync-batch-norm), whose exchanges of each layer's statistics and gradient sums
//! count in the share.
//! `cargo bench --bench data_parallel --features mpi [-- --ranks 2,4]`: the bench
//! launches itself under `mpirun` for each rank count (default 2).

mod common;

use duel::data::{GpuImages, Mnist};
use duel::gan::{Collective, data_parallel::slice_of};
use duel::gan::{Gan, ModelConfig, MpiRanks, Recipe, Schedule, launched_by_mpi};
use duel::gpu::GpuOptions;
use duel::{Gpu, Result};
use std::rc::Rc;
use std::time::{Duration, Instant};

const BATCH: usize = 64;
const WARM_UP: usize = 3;
const MEASURED: usize = 10;

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    if launched_by_mpi() {
        let ranks = Rc::new(MpiRanks::join()?);
        measure(Some(ranks.clone()), false)?;
        return Ok(measure(Some(ranks), true)?);
    }
    let argv: Vec<String> = std::env::args().collect();
    let counts: Vec<usize> = match argv.iter().position(|a| a == "--ranks") {
        Some(i) => argv
            .get(i + 1)
            .ok_or("--ranks needs a list such as 2,4")?
            .split(',')
            .map(str::parse)
            .collect::<std::result::Result<_, _>>()?,
        None => vec![2],
    };
    measure(None, false)?;
    for n in counts {
        let status = std::process::Command::new("mpirun")
            .args(["--oversubscribe", "-np", &n.to_string()])
            .arg(std::env::current_exe()?)
            .status()?;
        if !status.success() {
            return Err(format!("mpirun -np {n} failed: {status}").into());
        }
    }
    Ok(())
}

/// Trains the default model on this process's slice of each global batch, and rank 0
/// (or the one process) prints what a step costs once warm.
fn measure(ranks: Option<Rc<MpiRanks>>, sync_batch_norm: bool) -> Result<()> {
    let (rank, count) = ranks.as_ref().map_or((0, 1), |r| (r.rank(), r.ranks()));
    let options = GpuOptions {
        adapter_index: ranks.as_ref().map(|r| r.local_rank()),
        ..GpuOptions::from_env()?
    };
    let gpu = Gpu::with_options(&options)?;
    let data = Mnist::load(&common::mnist_dir()?)?;
    let images = GpuImages::upload(&gpu, &data.train.images, data.train.count, &[1, 28, 28])?;
    let model = ModelConfig::default();
    let (_, rows) = slice_of(BATCH, rank, count);
    let mut gan = Gan::new(&gpu, &model, &Recipe::default(), rows)?;
    let mut schedule = Schedule::new(&gpu, model.seed, BATCH, model.nz, &images)?;
    if let Some(ranks) = &ranks {
        schedule.slice(rank, count)?;
        gan.set_data_parallel(ranks.clone(), sync_batch_norm);
    }
    let mut step = 0;
    let mut run_step = |gan: &mut Gan| -> Result<()> {
        let (real, z, seed) = schedule.inputs(&images, step)?;
        gan.step(&gpu, &real, None, z, seed, true)?;
        gpu.sync()?;
        step += 1;
        Ok(())
    };
    for _ in 0..WARM_UP {
        run_step(&mut gan)?;
    }
    let before = ranks.as_ref().map(|r| r.exchanges()).unwrap_or_default();
    let started = Instant::now();
    for _ in 0..MEASURED {
        run_step(&mut gan)?;
    }
    let wall = started.elapsed();
    let after = ranks.as_ref().map(|r| r.exchanges()).unwrap_or_default();
    if rank == 0 {
        let per_step = |d: Duration| d.as_secs_f64() * 1e3 / MEASURED as f64;
        let (ms, exchange_ms) = (per_step(wall), per_step(after.time - before.time));
        let norm = match (count, sync_batch_norm) {
            (1, _) => "",
            (_, false) => ", batch norm per rank",
            (_, true) => ", batch norm synchronised",
        };
        println!(
            "{count} rank(s), global batch {BATCH} ({rows} a rank{norm}) on {}",
            gpu.adapter().name
        );
        println!("  ms per step:                      {ms:.1}");
        println!(
            "  exchanges with the other ranks:   {exchange_ms:.1} ms a step ({:.0}%)",
            100.0 * exchange_ms / ms
        );
        println!(
            "  bytes each rank sends per step:   {}",
            (after.bytes_sent - before.bytes_sent) / MEASURED as u64
        );
    }
    Ok(())
}
