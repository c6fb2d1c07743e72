//! Kernel throughput: `cargo bench --bench kernels [-- --json PATH]`.
//!
//! Each row times `reps` launches recorded into one compute pass, measured with
//! timestamp queries where the adapter has them and wall time otherwise, after a
//! warm-up launch that pays for pipeline compilation.

use duel::{Conv2d, ConvTranspose2d, Gpu, Padding, Result, Tensor, TransposePadding, ops};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use std::time::Duration;

struct Row {
    kernel: String,
    shape: String,
    ms: f64,
    gflops: Option<f64>,
    gbps: Option<f64>,
}

fn random(gpu: &Gpu, shape: &[usize], rng: &mut StdRng) -> Result<Tensor> {
    let data: Vec<f32> = (0..shape.iter().product())
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    Tensor::from_slice(gpu, shape, &data)
}

/// Milliseconds per launch of `op`: the best of `TRIALS` timings of `reps` launches
/// recorded into one pass. The best, not the mean, because other load on the machine
/// only ever adds time.
fn time_op(gpu: &Gpu, reps: usize, mut op: impl FnMut() -> Result<()>) -> Result<f64> {
    const TRIALS: usize = 7;
    op()?;
    gpu.sync()?;
    let mut best = Duration::MAX;
    for _ in 0..TRIALS {
        let total = gpu.time(|| {
            for _ in 0..reps {
                op()?;
            }
            Ok(())
        })?;
        best = best.min(total);
    }
    Ok(best.as_secs_f64() * 1e3 / reps as f64)
}

fn core_name(gpu: &Gpu, core: duel::gpu::GemmCore) -> &'static str {
    if core == gpu.portable_gemm_core() {
        "portable"
    } else {
        "subgroup"
    }
}

fn matmul_rows(gpu: &Gpu, rng: &mut StdRng, rows: &mut Vec<Row>) -> Result<()> {
    let mut paths = vec![(
        core_name(gpu, gpu.portable_gemm_core()),
        gpu.portable_gemm_core(),
    )];
    if gpu.gemm_core() != gpu.portable_gemm_core() {
        paths.push((core_name(gpu, gpu.gemm_core()), gpu.gemm_core()));
    }
    // (M, K, N, transposes, label): the headline cube, odd shapes, and the DCGAN's Linear layers.
    let cases: &[(usize, usize, usize, bool, bool, &str)] = &[
        (1024, 1024, 1024, false, false, "A·B"),
        (1024, 1024, 1024, true, false, "Aᵀ·B"),
        (1024, 1024, 1024, false, true, "A·Bᵀ"),
        (127, 255, 63, false, false, "A·B"),
        (64, 100, 6272, false, false, "A·B"),
        (6272, 64, 128, true, false, "Aᵀ·B"),
    ];
    for &(m, k, n, ta, tb, label) in cases {
        let a = random(gpu, &if ta { [k, m] } else { [m, k] }, rng)?;
        let b = random(gpu, &if tb { [n, k] } else { [k, n] }, rng)?;
        for &(name, path) in &paths {
            let reps = if m * n * k >= 1 << 28 { 3 } else { 10 };
            let ms = time_op(gpu, reps, || {
                ops::matmul_with(path, &a, &b, None, ta, tb).map(drop)
            })?;
            let flops = 2.0 * (m * n * k) as f64;
            rows.push(Row {
                kernel: format!("matmul {label} ({name})"),
                shape: format!("{m}x{k}x{n}"),
                ms,
                gflops: Some(flops / ms / 1e6),
                gbps: None,
            });
        }
    }
    Ok(())
}

/// The DCGAN-sized convolutions of the GAN-ops issue, each pass timed on its own.
fn conv_rows(gpu: &Gpu, rng: &mut StdRng, rows: &mut Vec<Row>) -> Result<()> {
    let batch = 64;
    let convs = [
        ("k5 s2 same", Conv2d::new(2, Padding::Same), 5),
        ("k4 s2 p1", Conv2d::new(2, Padding::symmetric(1)), 4),
    ];
    for (label, spec, k) in convs {
        let x = random(gpu, &[batch, 64, 14, 14], rng)?;
        let w = random(gpu, &[128, 64, k, k], rng)?;
        let g = spec.geometry(x.shape(), w.shape())?;
        let dy = random(gpu, &g.output_shape(), rng)?;
        let flops = 2.0 * g.macs() as f64;
        let shape = format!("{batch}x64x14x14 -> 128x{}x{}", g.ho, g.wo);
        type Pass<'a> = Box<dyn FnMut() -> Result<()> + 'a>;
        let passes: [(&str, Pass); 3] = [
            (
                "forward",
                Box::new(|| ops::conv2d(&x, &w, None, &spec).map(drop)),
            ),
            (
                "input grad",
                Box::new(|| ops::conv2d_backward_input(&dy, &w, x.shape(), &spec).map(drop)),
            ),
            (
                "weight grad",
                Box::new(|| ops::conv2d_backward_weight(&dy, &x, w.shape(), &spec).map(drop)),
            ),
        ];
        for (pass, op) in passes {
            let ms = time_op(gpu, 3, op)?;
            rows.push(Row {
                kernel: format!("conv2d {label} {pass}"),
                shape: shape.clone(),
                ms,
                gflops: Some(flops / ms / 1e6),
                gbps: None,
            });
        }
    }
    let transposes = [
        (
            "k5 s2 same",
            ConvTranspose2d::new(2, TransposePadding::Same),
            5,
        ),
        ("k4 s2 p1", ConvTranspose2d::torch(2, 1, 0), 4),
    ];
    for (label, spec, k) in transposes {
        let x = random(gpu, &[batch, 128, 7, 7], rng)?;
        let w = random(gpu, &[128, 64, k, k], rng)?;
        let g = spec.geometry(x.shape(), w.shape())?;
        let dy = random(gpu, &g.input_shape(), rng)?;
        let flops = 2.0 * g.macs() as f64;
        let shape = format!("{batch}x128x7x7 -> 64x{}x{}", g.h, g.w);
        type Pass<'a> = Box<dyn FnMut() -> Result<()> + 'a>;
        let passes: [(&str, Pass); 3] = [
            (
                "forward",
                Box::new(|| ops::conv_transpose2d(&x, &w, None, &spec).map(drop)),
            ),
            (
                "input grad",
                Box::new(|| {
                    ops::conv_transpose2d_backward_input(&dy, &w, x.shape(), &spec).map(drop)
                }),
            ),
            (
                "weight grad",
                Box::new(|| {
                    ops::conv_transpose2d_backward_weight(&dy, &x, w.shape(), &spec).map(drop)
                }),
            ),
        ];
        for (pass, op) in passes {
            let ms = time_op(gpu, 3, op)?;
            rows.push(Row {
                kernel: format!("convT {label} {pass}"),
                shape: shape.clone(),
                ms,
                gflops: Some(flops / ms / 1e6),
                gbps: None,
            });
        }
    }
    Ok(())
}

fn bandwidth_rows(gpu: &Gpu, rng: &mut StdRng, rows: &mut Vec<Row>) -> Result<()> {
    let n = 1 << 22;
    let x = random(gpu, &[n], rng)?;
    let y = random(gpu, &[n], rng)?;
    let bias_grad = random(gpu, &[64, 6272], rng)?;
    // DCGAN-sized activations: the generator's 64×128×7×7 and 64×64×14×14 maps.
    let small_maps = random(gpu, &[64, 128, 7, 7], rng)?;
    let maps = random(gpu, &[64, 64, 14, 14], rng)?;
    let maps_grad = random(gpu, &[64, 64, 14, 14], rng)?;
    let channels = |v: f32| ops::full(gpu, &[64], v);
    let (gamma, beta, running_mean, running_var) = (
        channels(1.0)?,
        channels(0.0)?,
        channels(0.0)?,
        channels(1.0)?,
    );
    let bn = duel::BatchNormConfig::default();
    let (_, saved) = ops::batch_norm_train(&maps, &gamma, &beta, &running_mean, &running_var, &bn)?;
    let (m, v) = (ops::zeros(gpu, &[n])?, ops::zeros(gpu, &[n])?);
    let adam = duel::AdamConfig::default();
    let logits = random(gpu, &[64, 1], rng)?;
    let targets = ops::full(gpu, &[64, 1], 1.0)?;
    // A classifier's logits over a scored set: 10,000 samples, 10 classes.
    let class_logits = random(gpu, &[10_000, 10], rng)?;
    let class_targets = ops::full(gpu, &[10_000, 10], 0.1)?;
    let map_bytes = 4 * 64 * 64 * 14 * 14;
    type Op<'a> = Box<dyn FnMut() -> Result<()> + 'a>;
    // (kernel, shape, bytes moved per launch, op)
    let cases: Vec<(&str, String, usize, Op)> = vec![
        (
            "add",
            format!("{n}"),
            12 * n,
            Box::new(|| ops::add(&x, &y).map(drop)),
        ),
        (
            "relu",
            format!("{n}"),
            8 * n,
            Box::new(|| ops::relu(&x).map(drop)),
        ),
        (
            "leaky_relu_backward",
            format!("{n}"),
            12 * n,
            Box::new(|| ops::leaky_relu_backward(&x, &y, 0.2).map(drop)),
        ),
        (
            "tanh",
            format!("{n}"),
            8 * n,
            Box::new(|| ops::tanh(&x).map(drop)),
        ),
        (
            "fill",
            format!("{n}"),
            4 * n,
            Box::new(|| ops::fill(&x, 0.5)),
        ),
        (
            "sum",
            format!("{n}"),
            4 * n,
            Box::new(|| ops::sum(&y).map(drop)),
        ),
        (
            "sum_axis 0 (bias grad)",
            "64x6272".to_string(),
            4 * 64 * 6272,
            Box::new(|| ops::sum_axis(&bias_grad, 0).map(drop)),
        ),
        (
            "fill_normal",
            format!("{n}"),
            4 * n,
            Box::new(|| ops::fill_normal(&x, 0.0, 0.02, 1, 0)),
        ),
        (
            "dropout",
            format!("{n}"),
            8 * n,
            Box::new(|| ops::dropout(&x, 0.3, 1, 0).map(drop)),
        ),
        // Adam reads param, grad, m, v and writes param, m, v.
        (
            "adam_step",
            format!("{n}"),
            28 * n,
            Box::new(|| ops::adam_step(&x, &y, &m, &v, &adam, 1)),
        ),
        (
            "upsample_nearest 2x",
            "64x128x7x7".to_string(),
            4 * 5 * 64 * 128 * 49,
            Box::new(|| ops::upsample_nearest(&small_maps, (2, 2)).map(drop)),
        ),
        (
            "batch_norm_train",
            "64x64x14x14".to_string(),
            4 * map_bytes,
            Box::new(|| {
                ops::batch_norm_train(&maps, &gamma, &beta, &running_mean, &running_var, &bn)
                    .map(drop)
            }),
        ),
        (
            "batch_norm_backward",
            "64x64x14x14".to_string(),
            5 * map_bytes,
            Box::new(|| ops::batch_norm_backward(&maps_grad, &maps, &gamma, &saved).map(drop)),
        ),
        (
            "bce_with_logits",
            "64x1".to_string(),
            8 * 64,
            Box::new(|| ops::bce_with_logits(&logits, &targets).map(drop)),
        ),
        (
            "argmax",
            "10000x10".to_string(),
            4 * 11 * 10_000,
            Box::new(|| ops::argmax(&class_logits).map(drop)),
        ),
        (
            "max_softmax",
            "10000x10".to_string(),
            4 * 11 * 10_000,
            Box::new(|| ops::max_softmax(&class_logits).map(drop)),
        ),
        (
            "softmax_cross_entropy_soft",
            "10000x10".to_string(),
            4 * 21 * 10_000,
            Box::new(|| ops::softmax_cross_entropy_soft(&class_logits, &class_targets).map(drop)),
        ),
    ];
    for (kernel, shape, bytes, op) in cases {
        let ms = time_op(gpu, 10, op)?;
        rows.push(Row {
            kernel: kernel.to_string(),
            shape,
            ms,
            gflops: None,
            gbps: Some(bytes as f64 / ms / 1e6),
        });
    }
    Ok(())
}

/// The 1024³ matmul on the default core, alone.
fn reference_matmul_row(gpu: &Gpu, rng: &mut StdRng, rows: &mut Vec<Row>) -> Result<()> {
    let a = random(gpu, &[1024, 1024], rng)?;
    let b = random(gpu, &[1024, 1024], rng)?;
    let ms = time_op(gpu, 3, || ops::matmul(&a, &b).map(drop))?;
    rows.push(Row {
        kernel: format!("matmul A·B ({})", core_name(gpu, gpu.gemm_core())),
        shape: "1024x1024x1024".to_string(),
        ms,
        gflops: Some(2.0 * 1024f64.powi(3) / ms / 1e6),
        gbps: None,
    });
    Ok(())
}

/// Prints the rows; convolutions also as a share of the 1024³ matmul on the default
/// core in the same run.
fn print_table(gpu: &Gpu, rows: &[Row]) {
    let matmul = format!("matmul A·B ({})", core_name(gpu, gpu.gemm_core()));
    let reference = rows
        .iter()
        .find(|r| r.shape == "1024x1024x1024" && r.kernel == matmul)
        .and_then(|r| r.gflops);
    println!(
        "{:<30} {:>24} {:>9} {:>8} {:>7} {:>10}",
        "kernel", "shape", "ms", "GFLOP/s", "GB/s", "vs matmul"
    );
    for r in rows {
        let ratio = match (r.kernel.starts_with("conv"), r.gflops, reference) {
            (true, Some(g), Some(m)) => format!("{:.0}%", 100.0 * g / m),
            _ => "-".to_string(),
        };
        println!(
            "{:<30} {:>24} {:>9.3} {:>8} {:>7} {:>10}",
            r.kernel,
            r.shape,
            r.ms,
            figure(r.gflops),
            figure(r.gbps),
            ratio
        );
    }
}

fn figure(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |v| format!("{v:.2}"))
}

fn json_number(v: Option<f64>) -> String {
    v.map_or("null".to_string(), |v| format!("{v:.4}"))
}

fn write_json(path: &str, rows: &[Row]) -> std::io::Result<()> {
    let body: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "  {{\"kernel\": {:?}, \"shape\": {:?}, \"ms\": {:.4}, \"gflops\": {}, \"gbps\": {}}}",
                r.kernel,
                r.shape,
                r.ms,
                json_number(r.gflops),
                json_number(r.gbps)
            )
        })
        .collect();
    let tmp = format!("{path}.tmp");
    std::fs::write(&tmp, format!("[\n{}\n]\n", body.join(",\n")))?;
    std::fs::rename(tmp, path)
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let json = args
        .iter()
        .position(|a| a == "--json")
        .map(|i| args.get(i + 1).cloned().ok_or("--json needs a path"));
    let json = json.transpose()?;
    // A bare argument keeps only the rows whose kernel name contains it.
    let filter = args
        .iter()
        .skip(1)
        .enumerate()
        .find(|(i, a)| !a.starts_with("--") && (*i == 0 || args[*i] != "--json"))
        .map(|(_, a)| a.clone());
    let gpu = Gpu::new()?;
    let timing = if gpu.adapter().has_timestamps {
        "timestamp queries"
    } else {
        "wall time"
    };
    println!("adapter: {}\ntiming: {timing}\n", gpu.adapter());
    let mut rng = StdRng::seed_from_u64(7);
    let mut rows = Vec::new();
    let wanted = |name: &str| filter.as_ref().is_none_or(|f| name.contains(f.as_str()));
    if wanted("matmul") {
        matmul_rows(&gpu, &mut rng, &mut rows)?;
    }
    if wanted("conv") {
        if !wanted("matmul") {
            // The convolutions are judged against this row.
            reference_matmul_row(&gpu, &mut rng, &mut rows)?;
        }
        conv_rows(&gpu, &mut rng, &mut rows)?;
    }
    if filter.is_none() {
        bandwidth_rows(&gpu, &mut rng, &mut rows)?;
    }
    print_table(&gpu, &rows);
    if let Some(path) = json {
        write_json(&path, &rows)?;
        println!("\nwrote {path}");
    }
    Ok(())
}
