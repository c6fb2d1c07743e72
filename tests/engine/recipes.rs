//! The GAN recipes: each loss against its formula, R1 and WGAN-GP training on real
//! MNIST, the D-to-G step ratio, resume bit for bit with every recipe flag on, and a
//! CIFAR-10 DCGAN step with R1 or WGAN-GP within a bound on its memory.

use crate::common::{cifar10_dir, gpu, mnist_dir, random, scratch, tensor_bytes, upload};
use duel::autograd::Graph;
use duel::cli::{CIFAR10_DCGAN, GanArgs, MNIST_DCGAN, run_gan};
use duel::data::ImageSet;
use duel::gan::{Dataset, Loss, Trainer, report};
use duel::reference::Array;
use std::path::Path;

/// Runs mnist_dcgan's command line with small models, logging every step, and
/// returns the rows it logged.
fn run(out: &Path, flags: &[&str]) -> Vec<report::Row> {
    let mut line = vec![
        "mnist_dcgan".to_string(),
        format!("--data-dir={}", mnist_dir().display()),
        format!("--out={}", out.display()),
        "--eval-every=0".into(),
        "--log-every=1".into(),
        "--ngf=16".into(),
        "--ndf=16".into(),
    ];
    line.extend(flags.iter().map(|f| f.to_string()));
    run_gan(ImageSet::Mnist, &GanArgs::parse_for(&MNIST_DCGAN, line))
        .unwrap_or_else(|e| panic!("{flags:?}: {e}"));
    report::read_csv(&out.join("metrics.csv"))
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// D's and G's loss for each `Loss` on fixed outputs, against the formulas in its
/// doc comment, in f64. Tolerance: a few f32 roundings of O(1) values, 1e-5.
#[test]
fn each_loss_matches_its_formula() {
    let real = random(&[6, 1], 1, -3.0, 3.0);
    let fake = random(&[6, 1], 2, -3.0, 3.0);
    let ones = upload(&Array::new(&[6, 1], vec![1.0; 6]));
    let zeros = upload(&Array::new(&[6, 1], vec![0.0; 6]));
    let softplus = |v: f64| v.max(0.0) + (-v.abs()).exp().ln_1p();
    let relu = |v: f64| v.max(0.0);
    let (r, f) = (&real.data, &fake.data);
    let map = |a: &[f64], h: &dyn Fn(f64) -> f64| a.iter().map(|&v| h(v)).collect::<Vec<_>>();
    let cases = [
        (
            Loss::Bce,
            mean(&map(r, &|v| softplus(-v))) + mean(&map(f, &softplus)),
            mean(&map(f, &|v| softplus(-v))),
        ),
        (
            Loss::Lsgan,
            mean(&map(r, &|v| (v - 1.0).powi(2))) + mean(&map(f, &|v| v * v)),
            mean(&map(f, &|v| (v - 1.0).powi(2))),
        ),
        (
            Loss::Hinge,
            mean(&map(r, &|v| relu(1.0 - v))) + mean(&map(f, &|v| relu(1.0 + v))),
            -mean(f),
        ),
        (Loss::Wgan, mean(f) - mean(r), -mean(f)),
    ];
    for (loss, want_d, want_g) in cases {
        let mut g = Graph::new(gpu(), true, 0);
        let (rv, fv) = (g.input(upload(&real)), g.input(upload(&fake)));
        let d = loss.discriminator(&mut g, rv, fv, (&ones, &zeros)).unwrap();
        let gl = loss.generator(&mut g, fv, &ones).unwrap();
        let got_d = f64::from(g.value(d).to_vec().unwrap()[0]);
        let got_g = f64::from(g.value(gl).to_vec().unwrap()[0]);
        assert!(
            (got_d - want_d).abs() < 1e-5,
            "{loss}: D {got_d} vs {want_d}"
        );
        assert!(
            (got_g - want_g).abs() < 1e-5,
            "{loss}: G {got_g} vs {want_g}"
        );
    }
}

/// 20 steps each of R1 on the default BCE, and of WGAN-GP with 5 D steps per G step,
/// through the DCGAN discriminator and its batch norm: every logged loss is finite, and
/// the penalty moves D's loss away from the unpenalised run's.
#[test]
fn r1_and_wgan_gp_runs_of_20_steps_on_real_mnist_stay_finite() {
    let plain = run(&scratch("recipe_plain"), &["--max-steps=20"]);
    let r1 = run(&scratch("recipe_r1"), &["--max-steps=20", "--r1=10"]);
    let gp = run(
        &scratch("recipe_gp"),
        &["--max-steps=20", "--loss=wgan", "--gp=10", "--n-critic=5"],
    );
    for (name, rows) in [("r1", &r1), ("wgan-gp", &gp)] {
        assert_eq!(rows.len(), 20, "{name}");
        for row in rows.iter() {
            assert!(
                row.loss_d.is_finite() && row.loss_g.is_finite(),
                "{name}: {row:?}"
            );
        }
    }
    // The first step's D loss differs only by the penalty, which is positive.
    assert!(
        r1[0].loss_d > plain[0].loss_d,
        "{:?} vs {:?}",
        r1[0],
        plain[0]
    );
}

/// With --n-critic 3, every step trains D and steps 3, 6, … also G: after 2 steps
/// G's Adam has taken none, after 7 it has taken 2.
#[test]
fn n_critic_trains_the_generator_every_nth_step() {
    let out = scratch("recipe_n_critic");
    run(&out, &["--max-steps=2", "--n-critic=3"]);
    let saved = duel::io::checkpoint::metadata(&out.join("checkpoint.safetensors")).unwrap();
    assert_eq!(
        (saved["adam_steps"].as_str(), saved["adam_steps_g"].as_str()),
        ("2", "0")
    );
    let out = scratch("recipe_n_critic_3");
    run(&out, &["--max-steps=7", "--n-critic=3"]);
    let saved = duel::io::checkpoint::metadata(&out.join("checkpoint.safetensors")).unwrap();
    assert_eq!(
        (saved["adam_steps"].as_str(), saved["adam_steps_g"].as_str()),
        ("7", "2")
    );
}

/// A run stopped at step 3 and resumed to step 6 logs the same losses and saves the
/// same tensors, bit for bit, as one that ran straight through, with R1, WGAN-GP's
/// interpolates, n-critic, the EMA generator, spectral norm and a conditional GAN on.
#[test]
fn resume_is_bit_exact_with_every_recipe_flag() {
    for (name, flags) in [
        ("r1", &["--r1=5", "--n-critic=2"][..]),
        ("gp", &["--loss=wgan", "--gp=10", "--n-critic=2"]),
        ("hinge_ema", &["--loss=hinge", "--ema=0.9"]),
        ("spectral_norm", &["--spectral-norm", "--r1=1"]),
        ("conditional", &["--conditional", "--gp=1"]),
    ] {
        let straight_dir = scratch(&format!("resume_straight_{name}"));
        let straight = run(&straight_dir, &[flags, &["--max-steps=6"]].concat());
        let dir = scratch(&format!("resume_split_{name}"));
        run(&dir, &[flags, &["--max-steps=3"]].concat());
        let checkpoint = dir.join("checkpoint.safetensors").display().to_string();
        let resume = format!("--resume={checkpoint}");
        let resumed = run(&dir, &[flags, &["--max-steps=6", resume.as_str()]].concat());
        let losses = |rows: &[report::Row]| -> Vec<(usize, f32, f32)> {
            rows.iter().map(|r| (r.step, r.loss_d, r.loss_g)).collect()
        };
        assert_eq!(losses(&resumed), losses(&straight), "{name}");
        let saved = |dir: &Path| tensor_bytes(&dir.join("checkpoint.safetensors"));
        let (a, b) = (saved(&straight_dir), saved(&dir));
        assert_eq!(a.len(), b.len(), "{name}");
        for ((name_a, a), (name_b, b)) in a.iter().zip(&b) {
            assert!(name_a == name_b && a == b, "{name}: {name_a} differs");
        }
        if name.contains("ema") {
            assert!(
                a.iter().any(|(n, _)| n.starts_with("ema.")),
                "{name}: no EMA saved"
            );
        }
    }
}

/// After enough power iterations σ = uᵀWv is W's largest singular value, and the
/// normalised weight's is 1. W is a (6, 3, 2, 2) conv weight, a 6 × 12 matrix.
/// Tolerance: 1e-4 relative, f32 products of a dozen terms per iteration.
#[test]
fn spectral_norm_finds_the_largest_singular_value() {
    let w = random(&[6, 3, 2, 2], 5, -1.0, 1.0);
    let norm = duel::nn::SpectralNorm::new(gpu(), "w", &upload(&w), 3, 0).unwrap();
    for _ in 0..100 {
        norm.power_iteration(&upload(&w)).unwrap();
    }
    let largest = |data: &[f64]| {
        let m = nalgebra::DMatrix::from_row_slice(6, 12, data);
        m.singular_values().max()
    };
    let (u, v) = (
        norm.u.value.to_vec().unwrap(),
        norm.v.value.to_vec().unwrap(),
    );
    let sigma: f64 = (0..6)
        .map(|i| {
            let row: f64 = (0..12).map(|j| w.data[i * 12 + j] * f64::from(v[j])).sum();
            f64::from(u[i]) * row
        })
        .sum();
    let want = largest(&w.data);
    assert!((sigma - want).abs() < 1e-4 * want, "σ {sigma} vs {want}");

    let mut g = Graph::new(gpu(), true, 0);
    let wv = g.input(upload(&w));
    let normalised = norm.apply(&mut g, wv).unwrap();
    let data: Vec<f64> = g
        .value(normalised)
        .to_vec()
        .unwrap()
        .iter()
        .map(|&v| f64::from(v))
        .collect();
    let one = largest(&data);
    assert!((one - 1.0).abs() < 1e-4, "normalised σ {one}");
}

/// 20 steps with spectral norm on every layer of the DCGAN discriminator and the
/// hinge loss stay finite.
#[test]
fn a_spectrally_normalised_run_stays_finite() {
    let rows = run(
        &scratch("recipe_sn"),
        &["--max-steps=20", "--spectral-norm", "--loss=hinge"],
    );
    assert_eq!(rows.len(), 20);
    assert!(
        rows.iter()
            .all(|r| r.loss_d.is_finite() && r.loss_g.is_finite()),
        "{rows:?}"
    );
}

/// A conditional run: a grid row per class (10 rows of 8), the exported samples'
/// classes in turn in `labels-idx1-ubyte`, and G taking the noise and the class.
#[test]
fn a_conditional_run_draws_a_row_per_class_and_exports_the_classes() {
    let out = scratch("recipe_conditional");
    let rows = run(
        &out,
        &["--max-steps=10", "--conditional", "--export-samples=25"],
    );
    assert!(
        rows.iter()
            .all(|r| r.loss_d.is_finite() && r.loss_g.is_finite())
    );
    let grid = image::open(out.join("latest.png")).unwrap();
    let unconditional = scratch("recipe_unconditional");
    run(&unconditional, &["--max-steps=10", "--conditional=false"]);
    let square = image::open(unconditional.join("latest.png")).unwrap();
    assert_eq!(grid.width(), square.width());
    // Rows of 30 pixels (a 28-pixel image and its border): 8 of them, then 10.
    assert_eq!(
        grid.height() - square.height(),
        2 * 30,
        "{grid:?} vs {square:?}"
    );
    let labels = duel::data::read_idx(&out.join("labels-idx1-ubyte")).unwrap();
    assert_eq!(labels.dims, [25]);
    assert_eq!(labels.data, (0..25).map(|i| i % 10).collect::<Vec<u8>>());
    let samples = duel::data::read_idx(&out.join("samples-idx3-ubyte")).unwrap();
    assert_eq!(samples.dims, [25, 28, 28]);
}

/// Label accuracy: the share of samples classified as the class they were drawn for.
#[test]
fn label_accuracy_counts_the_samples_classified_as_asked() {
    let readouts = duel::metrics::Readouts {
        features: (0..4 * duel::metrics::FEATURES)
            .map(|i| (i % 7) as f32)
            .collect(),
        predicted: vec![0, 1, 2, 3],
        confidence: vec![0.9; 4],
    };
    let reference = readouts.gaussian().unwrap();
    let kid = duel::metrics::KidReference::new(readouts.features.clone(), duel::metrics::FEATURES)
        .unwrap();
    let score = duel::metrics::Score::new(&readouts, &reference, &kid).unwrap();
    assert_eq!(score.label_accuracy, None);
    let score = score.with_labels(&readouts, &[0, 1, 0, 3]);
    assert_eq!(score.label_accuracy, Some(0.75));
    assert!(
        score.to_string().contains("label accuracy 75.0%"),
        "{score}"
    );
}

/// One step of cifar10_dcgan's default models (conditional, two batch norms in D) at
/// batch 8, hinge with R1, and WGAN-GP, each on a Gpu of its own. Each must finish with
/// finite losses, and its memory must stay within three times a plain hinge step's.
///
/// Memory is the bytes of every buffer the step's Gpu creates (`PoolStats::
/// bytes_allocated`), from after the models are built to after the step has run: the
/// pool never frees, so this is the most the step held at once, rounded up to whole
/// buffers. A penalty runs D on a batch once more, records D's backward as ops (batch
/// norm's as a dozen elementwise ones, each holding a tensor of the layer's size) and
/// differentiates that: 2.3 times a plain step's here. A walk that repeated layers
/// grew by gigabytes.
#[test]
fn a_cifar10_dcgan_step_with_r1_or_gp_finishes_within_three_plain_steps_memory() {
    let step_bytes = |loss: Loss, r1: f32, gp: f32| {
        let gpu = duel::Gpu::new().unwrap();
        let data = Dataset::load(&gpu, ImageSet::Cifar10, Some(&cifar10_dir()), None).unwrap();
        let (mut config, model) = CIFAR10_DCGAN.defaults();
        config.batch_size = 8;
        config.recipe.loss = loss;
        config.recipe.r1 = r1;
        config.recipe.gp = gp;
        let mut trainer = Trainer::new(&gpu, &config, &model, &data).unwrap();
        let before = gpu.pool_stats().bytes_allocated;
        let stats = trainer.step(&gpu, &data).unwrap();
        let losses = [&stats.loss_d, &stats.loss_g].map(|t| t.to_vec().unwrap()[0]);
        assert!(
            losses.iter().all(|l| l.is_finite()),
            "{loss} r1 {r1} gp {gp}: {losses:?}"
        );
        let bytes = gpu.pool_stats().bytes_allocated - before;
        eprintln!("{loss} r1 {r1} gp {gp}: {:.1} MB", bytes as f64 / 1e6);
        bytes
    };
    let plain = step_bytes(Loss::Hinge, 0.0, 0.0);
    for (loss, r1, gp) in [(Loss::Hinge, 1.0, 0.0), (Loss::Wgan, 0.0, 10.0)] {
        let bytes = step_bytes(loss, r1, gp);
        assert!(
            bytes <= 3 * plain,
            "{loss} r1 {r1} gp {gp}: {bytes} bytes against a plain step's {plain}"
        );
    }
}
