//! Whether an image folder slows training: ms per folder_dcgan step (its default model
//! and recipe, 64×64 RGB) with each real batch drawn from the folder's images on the
//! GPU, as training draws them, against the same steps fed one fixed random tensor
//! of the batch's shape. The two kinds alternate step by step (in the order ABBA, so
//! neither always goes first), each step timed to a finished sync, and the medians
//! are compared: a shared machine's drift and stalls reach both alike. Then the
//! drawing kernel's own GPU time per step, from timestamp queries.
//!
//! `cargo bench --bench folder_input -- DIR` (a folder of images, decoded into the
//! cache on the first run; the folder tests write the CIFAR-10 subset as PNGs to
//! target/tmp/folder_cifar10/cifar10).

use duel::cli::GanArgs;
use duel::data::GpuImages;
use duel::gan::{FOLDER_DCGAN, Gan, Schedule};
use duel::{Gpu, Tensor, ops};
use std::path::PathBuf;
use std::time::Instant;

const WARM_UP: usize = 2;
const PAIRS: usize = 12;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .ok_or("usage: cargo bench --bench folder_input -- DIR (a folder of PNG or JPEG images)")?;
    let gpu = Gpu::new()?;
    println!("adapter: {}", gpu.adapter());
    let args = GanArgs::parse_for(
        &FOLDER_DCGAN,
        [
            "folder_dcgan".to_string(),
            format!("--data-dir={}", dir.display()),
        ],
    );
    let (set, train, _) = args.image_set(FOLDER_DCGAN.set).load(Some(&dir))?;
    let (config, model) = (args.train_config(), args.model_config(set));
    let batch = config.batch_size;
    let images = GpuImages::upload(&gpu, &train.images, train.count, &set.image_shape())?;
    let mut gan = Gan::new(&gpu, &model, &config.recipe, batch)?;
    let mut schedule = Schedule::new(&gpu, model.seed, batch, model.nz, &images)?;
    let random = Tensor::uninit(&gpu, &[&[batch], &set.image_shape()[..]].concat())?;
    ops::fill_uniform(&random, -1.0, 1.0, 1, 0)?;
    let z = Tensor::uninit(&gpu, &[batch, model.nz])?;

    let mut step = 0;
    // One step of either kind; `folder` says whether its real batch comes from the folder.
    let mut run = |gan: &mut Gan, folder: bool| -> duel::Result<()> {
        if folder {
            let (real, z, seed) = schedule.inputs(&images, step)?;
            gan.step(&gpu, &real, None, z, seed, true)?;
        } else {
            ops::fill_normal(&z, 0.0, 1.0, model.seed, step as u64)?;
            gan.step(&gpu, &random, None, &z, step as u64, true)?;
        }
        step += 1;
        Ok(())
    };
    for folder in [true, false] {
        for _ in 0..WARM_UP {
            run(&mut gan, folder)?;
        }
    }
    gpu.sync()?;
    // ms of each step, [folder, random].
    let mut times: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for pair in 0..PAIRS {
        for kind in [pair % 2, 1 - pair % 2] {
            let start = Instant::now();
            run(&mut gan, kind == 0)?;
            gpu.sync()?;
            times[kind].push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    let ms = times.map(median);
    gpu.set_profiling(true)?;
    for _ in 0..PAIRS {
        run(&mut gan, true)?;
        gpu.sync()?;
    }
    let gather: f64 = gpu
        .profile()?
        .iter()
        .filter(|k| k.name.contains("gather_images"))
        .map(|k| k.ms)
        .sum::<f64>()
        / PAIRS as f64;
    println!(
        "{} images at {:?}, batch {batch}, medians of {PAIRS} steps each",
        train.count,
        set.image_shape()
    );
    println!("ms per step, batches from the folder: {:.1}", ms[0]);
    println!("ms per step, one random tensor:       {:.1}", ms[1]);
    println!(
        "the folder's cost:                    {:+.1}%",
        100.0 * (ms[0] - ms[1]) / ms[1]
    );
    println!("GPU time drawing a batch:             {gather:.3} ms per step");
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    (v[(n - 1) / 2] + v[n / 2]) / 2.0
}
