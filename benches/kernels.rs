//! Kernel throughput: `cargo bench --bench kernels [-- --json PATH]`.
//!
//! Each row times `reps` launches recorded into one compute pass, measured with
//! timestamp queries where the adapter has them and wall time otherwise, after a
//! warm-up launch that pays for pipeline compilation. Every row runs on the
//! heuristic plans (or the core `DUEL_GEMM` forces); the DCGAN rows then run again on
//! plans tuned on this device (`GemmPolicy::Tuned`, without the plan cache), whose
//! tuning, in the warm-up launch, prints each GEMM's tuned and heuristic plans with
//! their times.

use duel::gpu::{GemmCore, GemmPolicy, TILED_64, TILED_128};
use duel::ops::ConvPass;
use duel::{
    Activation, Conv2dSpec, ConvTranspose2dSpec, Gpu, Padding, Result, Tensor, TransposePadding,
    ops,
};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use std::time::Duration;

struct Row {
    kernel: String,
    shape: String,
    /// The GEMM plan that ran (core, tile, split); empty for other kernels.
    plan: String,
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

/// The cores each matmul row is also timed on, besides the adapter's own plan: the
/// portable core shaped for this adapter, and the ones its GEMMs may pick.
fn bench_cores(gpu: &Gpu) -> Vec<GemmCore> {
    let report = gpu.adapter();
    if report.device_type == wgpu::DeviceType::Cpu {
        let mut cores = vec![GemmCore::PORTABLE_CPU];
        match gpu.subgroup_size() {
            Some(8) => cores.extend([GemmCore::SUBGROUP8, GemmCore::SUBGROUP8_NARROW]),
            Some(4) => cores.extend([GemmCore::SUBGROUP4, GemmCore::SUBGROUP4_NARROW]),
            _ => {}
        }
        return cores;
    }
    let mut cores = vec![GemmCore::PORTABLE_GPU, TILED_64, TILED_128];
    // Rows must be a multiple of the lanes; 64 lanes would need 64 rows × 4 columns each.
    if let Some(lanes @ (16 | 32)) = gpu.subgroup_size() {
        cores.push(GemmCore::Subgroup {
            lanes,
            rows: 32,
            cols: 4,
            steps: 2,
        });
    }
    cores
}

/// One matmul row per plan: the adapter's own ("auto"), then each bench core with the
/// split the adapter would give it.
fn matmul_case(
    gpu: &Gpu,
    rng: &mut StdRng,
    rows: &mut Vec<Row>,
    (m, k, n): (usize, usize, usize),
    (ta, tb): (bool, bool),
    label: &str,
    all_cores: bool,
) -> Result<()> {
    let a = random(gpu, &if ta { [k, m] } else { [m, k] }, rng)?;
    let b = random(gpu, &if tb { [n, k] } else { [k, n] }, rng)?;
    let auto = gpu.gemm_plan(m, n, k);
    // A tuning context picks its own plan on the first run (and prints it).
    let mut plans = vec![if gpu.tunes() {
        ("tuned", None)
    } else {
        ("auto", Some(auto))
    }];
    if all_cores {
        for core in bench_cores(gpu) {
            plans.push(("core", Some(gpu.gemm_plan_on(core, m, n, k))));
        }
    }
    for (how, plan) in plans {
        if how == "core" && plan == Some(auto) {
            continue;
        }
        let reps = if m * n * k >= 1 << 28 { 3 } else { 10 };
        let ms = time_op(gpu, reps, || {
            ops::matmul_with(plan, &a, &b, None, ta, tb, Activation::Identity).map(drop)
        })?;
        rows.push(Row {
            kernel: format!("{label} ({how})"),
            shape: format!("{m}x{k}x{n}"),
            plan: plan.map_or(TUNED.to_string(), |p| p.to_string()),
            ms,
            gflops: Some(2.0 * (m * n * k) as f64 / ms / 1e6),
            gbps: None,
        });
    }
    Ok(())
}

fn matmul_rows(gpu: &Gpu, rng: &mut StdRng, rows: &mut Vec<Row>) -> Result<()> {
    // (M, K, N, transposes, label): the headline cubes, odd shapes, and Dense layers.
    let mut cases: Vec<(usize, usize, usize, bool, bool, &str)> = vec![
        (1024, 1024, 1024, false, false, "matmul A·B"),
        (1024, 1024, 1024, true, false, "matmul Aᵀ·B"),
        (1024, 1024, 1024, false, true, "matmul A·Bᵀ"),
        (127, 255, 63, false, false, "matmul A·B"),
    ];
    // 137 GFLOP: seconds per launch on a CPU device.
    if gpu.adapter().device_type != wgpu::DeviceType::Cpu {
        cases.insert(0, (4096, 4096, 4096, false, false, "matmul A·B"));
    }
    for (m, k, n, ta, tb, label) in cases {
        matmul_case(gpu, rng, rows, (m, k, n), (ta, tb), label, true)?;
    }
    Ok(())
}

/// What the plan column says of a tuning context's rows: the tuner prints each plan.
const TUNED: &str = "tuned (printed above)";

/// The plan a convolution pass runs on: one, or the first of its stride phases' plans.
fn conv_plan(gpu: &Gpu, pass: ConvPass, g: &duel::conv_spec::ConvGeometry) -> Result<String> {
    if gpu.tunes() {
        return Ok(TUNED.to_string());
    }
    let plans = ops::conv_gemm_plans(gpu, pass, g)?;
    let first = plans.first().map_or("none".to_string(), |p| p.to_string());
    Ok(if plans.iter().all(|p| Some(p) == plans.first()) {
        first
    } else {
        format!("{first} (+{} phases on others)", plans.len() - 1)
    })
}

type Pass<'a> = Box<dyn FnMut() -> Result<()> + 'a>;

/// Times the forward, input-gradient and weight-gradient passes of one convolution
/// layer (x, w): a conv2d, or with `transpose` a conv_transpose2d.
fn conv_layer_rows(
    gpu: &Gpu,
    rng: &mut StdRng,
    rows: &mut Vec<Row>,
    label: &str,
    (x_shape, w_shape): (&[usize], &[usize]),
    layer: Layer,
) -> Result<()> {
    let x = random(gpu, x_shape, rng)?;
    let w = random(gpu, w_shape, rng)?;
    let (g, y_shape, gemm_passes) = match layer {
        Layer::Conv(spec) => {
            let g = spec.geometry(x_shape, w_shape)?;
            let y = g.output_shape();
            (
                g,
                y,
                [ConvPass::Forward, ConvPass::InputGrad, ConvPass::WeightGrad],
            )
        }
        Layer::Transpose(spec) => {
            let g = spec.geometry(x_shape, w_shape)?;
            let y = g.input_shape();
            (
                g,
                y,
                [ConvPass::InputGrad, ConvPass::Forward, ConvPass::WeightGrad],
            )
        }
    };
    let dy = random(gpu, &y_shape, rng)?;
    let flops = 2.0 * g.macs() as f64;
    let shape = format!("{x_shape:?} -> {y_shape:?}").replace(' ', "");
    let (x, w, dy) = (&x, &w, &dy);
    let passes: [(&str, Pass); 3] = match layer {
        Layer::Conv(spec) => [
            (
                "forward",
                Box::new(move || ops::conv2d(x, w, None, &spec, Activation::Identity).map(drop)),
            ),
            (
                "input grad",
                Box::new(move || ops::conv2d_backward_input(dy, w, x_shape, &spec).map(drop)),
            ),
            (
                "weight grad",
                Box::new(move || ops::conv2d_backward_weight(dy, x, w_shape, &spec).map(drop)),
            ),
        ],
        Layer::Transpose(spec) => [
            (
                "forward",
                Box::new(move || {
                    ops::conv_transpose2d(x, w, None, &spec, Activation::Identity).map(drop)
                }),
            ),
            (
                "input grad",
                Box::new(move || {
                    ops::conv_transpose2d_backward_input(dy, w, x_shape, &spec).map(drop)
                }),
            ),
            (
                "weight grad",
                Box::new(move || {
                    ops::conv_transpose2d_backward_weight(dy, x, w_shape, &spec).map(drop)
                }),
            ),
        ],
    };
    for ((pass, op), gemm_pass) in passes.into_iter().zip(gemm_passes) {
        let ms = time_op(gpu, 3, op)?;
        rows.push(Row {
            kernel: format!("{label} {pass}"),
            shape: shape.clone(),
            plan: conv_plan(gpu, gemm_pass, &g)?,
            ms,
            gflops: Some(flops / ms / 1e6),
            gbps: None,
        });
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Layer {
    Conv(Conv2dSpec),
    Transpose(ConvTranspose2dSpec),
}

/// The DCGAN-sized convolutions of the GAN-ops issue, each pass timed on its own.
fn conv_rows(gpu: &Gpu, rng: &mut StdRng, rows: &mut Vec<Row>) -> Result<()> {
    let layers = [
        (
            "conv2d k5 s2 same",
            Layer::Conv(Conv2dSpec::new(2, Padding::Same)),
            5,
        ),
        (
            "conv2d k4 s2 p1",
            Layer::Conv(Conv2dSpec::new(2, Padding::symmetric(1))),
            4,
        ),
        (
            "convT k5 s2 same",
            Layer::Transpose(ConvTranspose2dSpec::new(2, TransposePadding::Same)),
            5,
        ),
        (
            "convT k4 s2 p1",
            Layer::Transpose(ConvTranspose2dSpec::torch(2, 1, 0)),
            4,
        ),
    ];
    for (label, layer, k) in layers {
        let x_shape: &[usize] = match layer {
            Layer::Conv(_) => &[64, 64, 14, 14],
            Layer::Transpose(_) => &[64, 128, 7, 7],
        };
        conv_layer_rows(gpu, rng, rows, label, (x_shape, &[128, 64, k, k]), layer)?;
    }
    Ok(())
}

/// Every GEMM of one step of the default DCGAN (examples/mnist_dcgan) at `batch`:
/// both Dense layers' forward and gradients, and the three passes of each conv.
fn dcgan_rows(gpu: &Gpu, rng: &mut StdRng, rows: &mut Vec<Row>, batch: usize) -> Result<()> {
    let b = batch;
    let tuned = if gpu.tunes() { " tuned" } else { "" };
    let label = |what: &str| format!("dcgan b{b}{tuned} {what}");
    // (label, (M, K, N), transposes). G's Dense 100 -> 6272: forward, and its weight
    // gradient Xᵀ·dY (z needs no gradient). D's Dense 6272 -> 1: forward, input
    // gradient dY·Wᵀ, weight gradient Xᵀ·dY.
    type Dense = (&'static str, (usize, usize, usize), (bool, bool));
    let g_linear: [Dense; 2] = [
        ("G dense forward", (b, 100, 6272), (false, false)),
        ("G dense weight grad", (100, b, 6272), (true, false)),
    ];
    let d_linear: [Dense; 3] = [
        ("D dense forward", (b, 6272, 1), (false, false)),
        ("D dense input grad", (b, 1, 6272), (false, true)),
        ("D dense weight grad", (6272, b, 1), (true, false)),
    ];
    let up = Layer::Transpose(ConvTranspose2dSpec::torch(2, 1, 0));
    let down = Layer::Conv(Conv2dSpec::new(2, Padding::symmetric(1)));
    let convs: [(&str, [usize; 4], [usize; 4], Layer); 4] = [
        ("G convT 128->64", [b, 128, 7, 7], [128, 64, 4, 4], up),
        ("G convT 64->1", [b, 64, 14, 14], [64, 1, 4, 4], up),
        ("D conv 1->64", [b, 1, 28, 28], [64, 1, 4, 4], down),
        ("D conv 64->128", [b, 64, 14, 14], [128, 64, 4, 4], down),
    ];
    for (what, mkn, transposes) in g_linear {
        matmul_case(gpu, rng, rows, mkn, transposes, &label(what), false)?;
    }
    for (what, x, w, layer) in convs {
        conv_layer_rows(gpu, rng, rows, &label(what), (&x, &w), layer)?;
    }
    for (what, mkn, transposes) in d_linear {
        matmul_case(gpu, rng, rows, mkn, transposes, &label(what), false)?;
    }
    Ok(())
}

fn bandwidth_rows(
    gpu: &Gpu,
    rng: &mut StdRng,
    rows: &mut Vec<Row>,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<()> {
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
    let bn_train = || {
        let (g, b, m, v) = (&gamma, &beta, &running_mean, &running_var);
        ops::batch_norm_train(&maps, g, b, m, v, &bn, Activation::Identity)
    };
    let (_, saved) = bn_train()?;
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
            Box::new(|| ops::activation(&x, Activation::Relu).map(drop)),
        ),
        (
            "leaky_relu_backward",
            format!("{n}"),
            12 * n,
            Box::new(|| ops::activation_backward(&x, &y, Activation::LeakyRelu(0.2)).map(drop)),
        ),
        (
            "tanh",
            format!("{n}"),
            8 * n,
            Box::new(|| ops::activation(&x, Activation::Tanh).map(drop)),
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
            "upsample 2x",
            "64x128x7x7".to_string(),
            4 * 5 * 64 * 128 * 49,
            Box::new(|| ops::upsample(&small_maps, (2, 2)).map(drop)),
        ),
        (
            "batch_norm_train",
            "64x64x14x14".to_string(),
            4 * map_bytes,
            Box::new(|| bn_train().map(drop)),
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
    for (kernel, shape, bytes, op) in cases.into_iter().filter(|c| wanted(c.0)) {
        let ms = time_op(gpu, 10, op)?;
        rows.push(Row {
            kernel: kernel.to_string(),
            shape,
            plan: String::new(),
            ms,
            gflops: None,
            gbps: Some(bytes as f64 / ms / 1e6),
        });
    }
    Ok(())
}

/// The 1024³ matmul on the adapter's own plan, alone.
fn reference_matmul_row(gpu: &Gpu, rng: &mut StdRng, rows: &mut Vec<Row>) -> Result<()> {
    matmul_case(
        gpu,
        rng,
        rows,
        (1024, 1024, 1024),
        (false, false),
        "matmul A·B",
        false,
    )
}

/// Prints the rows; convolutions also as a share of the 1024³ matmul on the adapter's
/// own plan in the same run.
fn print_table(rows: &[Row]) {
    let reference = rows
        .iter()
        .find(|r| r.shape == "1024x1024x1024" && r.kernel == "matmul A·B (auto)")
        .and_then(|r| r.gflops);
    println!(
        "{:<40} {:>30} {:>9} {:>8} {:>7} {:>9}  plan",
        "kernel", "shape", "ms", "GFLOP/s", "GB/s", "vs matmul"
    );
    for r in rows {
        let ratio = match (
            r.plan.is_empty() || r.kernel.starts_with("matmul"),
            r.gflops,
            reference,
        ) {
            (false, Some(g), Some(m)) => format!("{:.0}%", 100.0 * g / m),
            _ => "-".to_string(),
        };
        println!(
            "{:<40} {:>30} {:>9.3} {:>8} {:>7} {:>9}  {}",
            r.kernel,
            r.shape,
            r.ms,
            figure(r.gflops),
            figure(r.gbps),
            ratio,
            r.plan
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
                "  {{\"kernel\": {:?}, \"shape\": {:?}, \"plan\": {:?}, \"ms\": {:.4}, \"gflops\": {}, \"gbps\": {}}}",
                r.kernel,
                r.shape,
                r.plan,
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
    // The heuristic plans (or a core DUEL_GEMM forces) first, even where tuning is
    // the default: the tuned plans come after, in a context of their own.
    let gpu = Gpu::new()?;
    let gpu = if gpu.tunes() {
        gpu.with_gemm(GemmPolicy::Auto)?
    } else {
        gpu
    };
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
    if wanted("dcgan") {
        // The heuristic plans, then plans tuned here (without the plan cache, so
        // every GEMM is timed), whose choice the tuner prints beside the heuristic's.
        let tuned = gpu.with_gemm(GemmPolicy::Tuned)?;
        for context in [&gpu, &tuned] {
            for batch in [32, 64] {
                dcgan_rows(context, &mut rng, &mut rows, batch)?;
            }
        }
    }
    if filter.is_none() || !["matmul", "conv", "dcgan"].iter().any(|k| wanted(k)) {
        bandwidth_rows(&gpu, &mut rng, &mut rows, &wanted)?;
    }
    print_table(&rows);
    if let Some(path) = json {
        write_json(&path, &rows)?;
        println!("\nwrote {path}");
    }
    Ok(())
}
