//! The whole training loop on real data: the files it leaves under --out, the
//! classifier metric in metrics.csv, a NaN loss that stops the run with a clear error
//! while the last good checkpoint stays as it was, and 10 steps of every example, as
//! its command line runs it.

use crate::common::{cifar10_dir, gpu, mnist_dir, scratch};
use duel::cli::{CIFAR10_DCGAN, GanArgs, GanExample, MLP_GAN, MNIST_DCGAN, Optimizer, run_gan};
use duel::data::ImageSet;
use duel::gan::{Dataset, Loss, ModelConfig, Recipe, TrainConfig, report};
use duel::{AdamConfig, Error};
use std::path::Path;

/// The library's whole run loop on a small model, as mnist_dcgan runs it; `change`
/// adjusts the settings. The metric is built only when the run scores samples.
fn run(out: &Path, change: impl FnOnce(&mut TrainConfig)) -> duel::Result<()> {
    let adam = AdamConfig {
        lr: 4e-4,
        ..AdamConfig::default()
    };
    let mut config = TrainConfig {
        batch_size: 16,
        recipe: Recipe {
            adam_g: adam,
            adam_d: adam,
            ..Recipe::default()
        },
        sample_every: 5,
        log_every: 5,
        out: out.to_path_buf(),
        ..TrainConfig::default()
    };
    change(&mut config);
    let model = ModelConfig {
        ngf: 16,
        ndf: 16,
        ..ModelConfig::default()
    };
    let classifier = duel::metrics::default_classifier_path(ImageSet::Mnist);
    let metric = (config.eval_every > 0).then_some(classifier.as_path());
    let data = Dataset::load(gpu(), ImageSet::Mnist, Some(&mnist_dir()), metric)?;
    duel::gan::run(gpu(), &config, &model, &data)
}

#[test]
fn a_run_writes_its_outputs_and_a_nan_loss_keeps_the_last_good_checkpoint() {
    let out = scratch("training_run");
    run(&out, |c| {
        c.max_steps = 10;
        c.eval_every = 5;
        c.eval_samples = 600;
    })
    .unwrap();
    for file in [
        "samples/step_000005.png",
        "samples/step_000010.png",
        "latest.png",
        "metrics.csv",
        "loss_curve.png",
        "fd_curve.png",
        "checkpoint.safetensors",
        "progress.gif",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let rows = report::read_csv(&out.join("metrics.csv"));
    let scored: Vec<_> = rows
        .iter()
        .filter_map(|r| Some((r.step, r.eval?)))
        .collect();
    assert_eq!(scored.iter().map(|s| s.0).collect::<Vec<_>>(), [5, 10]);
    for (step, eval) in scored {
        // Ten steps of a GAN give blobs, far from real digits but a finite distance.
        assert!(
            eval.fd.is_finite() && eval.fd > 0.0,
            "step {step}: {eval:?}"
        );
        assert!(
            (0.0..=10f64.ln() + 1e-9).contains(&eval.entropy),
            "{eval:?}"
        );
        assert!((0.1..=1.0).contains(&eval.confidence), "{eval:?}");
        assert_eq!(eval.classes.iter().sum::<usize>(), 600, "{eval:?}");
    }

    // A learning rate of 1e30 sends the weights to infinity within a step or two.
    let checkpoint = out.join("checkpoint.safetensors");
    let good = std::fs::read(&checkpoint).unwrap();
    let err = run(&out, |c| {
        c.resume = Some(checkpoint.clone());
        c.max_steps = 40;
        c.recipe.adam_g.lr = 1e30;
        c.recipe.adam_d.lr = 1e30;
        c.eval_every = 0;
    })
    .expect_err("the loss must blow up");
    let Error::Numeric(message) = err else {
        panic!("expected a numeric error, got {err}");
    };
    assert!(message.contains("from step 10"), "{message}");
    assert!(message.contains("lower --lr"), "{message}");
    assert_eq!(
        std::fs::read(&checkpoint).unwrap(),
        good,
        "the good checkpoint changed"
    );
}

/// Runs `example` from its command line, as its binary would, for 10 steps on the
/// shared data, and returns the rows it logged.
fn ten_steps(example: &GanExample, name: &str, flags: &[&str]) -> Vec<report::Row> {
    let out = scratch(name);
    let data_dir = match example.set {
        ImageSet::Mnist => mnist_dir(),
        ImageSet::Cifar10 => cifar10_dir(),
        ImageSet::Folder { .. } => panic!("a folder example is tested on folders its test makes"),
    };
    let mut line = vec![
        "example".to_string(),
        "--max-steps=10".into(),
        "--log-every=1".into(),
        "--sample-every=10".into(),
        format!("--data-dir={}", data_dir.display()),
        format!("--out={}", out.display()),
    ];
    line.extend(flags.iter().map(|f| f.to_string()));
    let args = GanArgs::parse_for(example, line);
    run_gan(example.set, &args).unwrap_or_else(|e| panic!("{name}: {e}"));
    for file in ["latest.png", "checkpoint.safetensors", "metrics.csv"] {
        assert!(out.join(file).is_file(), "{name}: {file} missing");
    }
    let grid = image::open(out.join("latest.png")).unwrap();
    let colour = example.set == ImageSet::Cifar10;
    assert_eq!(grid.color().has_color(), colour, "{name}");
    let side = example.set.image_shape()[1];
    assert_eq!(grid.width() as usize, 8 * (side + 2) + 2, "{name}");
    let rows = report::read_csv(&out.join("metrics.csv"));
    assert_eq!(rows.len(), 10, "{name}");
    for r in &rows {
        assert!(
            r.loss_d.is_finite() && r.loss_g.is_finite(),
            "{name}: {r:?}"
        );
    }
    rows
}

#[test]
fn ten_real_steps_of_every_example_and_preset() {
    // Full-width models; batch 16 keeps the heavier presets quick on a CPU device.
    let no_metric = ["--eval-every=0", "--batch-size=16"];
    let with = |extra: &'static str| [no_metric[0], no_metric[1], extra];
    ten_steps(&MNIST_DCGAN, "steps_mnist_dcgan", &no_metric);
    ten_steps(&MNIST_DCGAN, "steps_mnist_lsgan", &with("--loss=lsgan"));
    for arch in ["keras", "article-b", "article-c"] {
        let flag = format!("--arch={arch}");
        let flags = [
            no_metric[0],
            no_metric[1],
            flag.as_str(),
            "--optimizer=keras",
        ];
        ten_steps(&MNIST_DCGAN, &format!("steps_{arch}"), &flags);
    }
    // Article A's generator holds 128 × 28 × 28 values per sample: 500 samples at once
    // would not fit lavapipe's 128 MiB binding, so scoring draws fewer at a time.
    let rows = ten_steps(
        &MNIST_DCGAN,
        "steps_article-a",
        &[
            "--arch=article-a",
            "--batch-size=16",
            "--eval-every=10",
            "--eval-samples=600",
        ],
    );
    assert!(
        rows[9].eval.is_some_and(|e| e.fd.is_finite()),
        "{:?}",
        rows[9]
    );
    ten_steps(&MLP_GAN, "steps_mlp_gan", &no_metric);
    ten_steps(&CIFAR10_DCGAN, "steps_cifar10_keras", &with("--arch=keras"));
    // The colour metric: FD against the subset's test photos in the CIFAR-10
    // classifier's features, at step 5 and 10.
    let rows = ten_steps(
        &CIFAR10_DCGAN,
        "steps_cifar10_dcgan",
        &["--eval-every=5", "--eval-samples=200", "--batch-size=16"],
    );
    let fds: Vec<f64> = rows.iter().filter_map(|r| Some(r.eval?.fd)).collect();
    assert_eq!(fds.len(), 2, "{rows:?}");
    assert!(fds.iter().all(|fd| fd.is_finite() && *fd > 0.0), "{fds:?}");
}

#[test]
fn an_article_brings_its_batch_size_and_optimizer_unless_told_otherwise() {
    let parse = |flags: &[&str]| {
        GanArgs::parse_for(
            &MNIST_DCGAN,
            std::iter::once("example").chain(flags.iter().copied()),
        )
    };
    let a = parse(&["--arch=article-a"]);
    assert_eq!((a.batch_size, a.optimizer), (100, Optimizer::Keras));
    let c = parse(&["--arch", "article-c"]);
    assert_eq!((c.batch_size, c.optimizer), (32, Optimizer::Keras));
    let own = parse(&["--arch=article-a", "--batch-size=20", "--optimizer=dcgan"]);
    assert_eq!((own.batch_size, own.optimizer), (20, Optimizer::Dcgan));
    let dcgan = parse(&[]);
    assert_eq!((dcgan.batch_size, dcgan.optimizer), (32, Optimizer::Dcgan));
    // mnist_dcgan's recipe (conditional, EMA, hinge, spectral norm) is its DCGAN's;
    // another --arch goes without, unless told.
    assert_eq!((dcgan.conditional, dcgan.ema), (true, 0.995));
    assert_eq!((dcgan.loss, dcgan.spectral_norm), (Loss::Hinge, true));
    assert_eq!((a.conditional, a.ema), (false, 0.0));
    assert_eq!((a.loss, a.spectral_norm), (Loss::Bce, false));
    let off = parse(&[
        "--conditional=false",
        "--ema=0",
        "--loss=bce",
        "--spectral-norm=false",
    ]);
    assert_eq!((off.conditional, off.ema), (false, 0.0));
    assert_eq!((off.loss, off.spectral_norm), (Loss::Bce, false));
    let bare = parse(&["--arch=keras", "--conditional", "--ema=0.9"]);
    assert_eq!((bare.conditional, bare.ema), (true, 0.9));
    // Keras's Adam defaults, and the two learning rates set apart.
    let keras = parse(&["--optimizer=keras", "--lr-d=5e-4"])
        .train_config()
        .recipe;
    assert_eq!(keras.adam_g, AdamConfig::keras());
    assert_eq!(keras.adam_d.lr, 5e-4);
    assert_eq!(keras.adam_d.beta1, 0.9);
}

/// --max-steps trains that many steps even past --epochs: 64 digits at batch 16 are 4
/// steps an epoch, and 10 steps run on into the third epoch.
#[test]
fn max_steps_trains_that_many_steps_whatever_the_epochs() {
    let out = scratch("max_steps_past_epochs");
    let mnist = duel::data::Mnist::load(&mnist_dir()).unwrap();
    let first = duel::data::Split {
        images: mnist.train.images[..64 * 784].to_vec(),
        labels: mnist.train.labels[..64].to_vec(),
        count: 64,
    };
    let data = Dataset::new(gpu(), ImageSet::Mnist, &first, &mnist.test, None).unwrap();
    let config = TrainConfig {
        epochs: 1,
        max_steps: 10,
        batch_size: 16,
        log_every: 1,
        eval_every: 0,
        out: out.clone(),
        ..TrainConfig::default()
    };
    let model = ModelConfig {
        ngf: 8,
        ndf: 8,
        ..ModelConfig::default()
    };
    duel::gan::run(gpu(), &config, &model, &data).unwrap();
    let rows = report::read_csv(&out.join("metrics.csv"));
    assert_eq!(rows.last().map(|r| (r.step, r.epoch)), Some((10, 3)));
}

/// The browser page builds its runs from `GanExample::defaults`, the CLI from its
/// flags: the two must agree, flag for flag.
#[test]
fn each_gan_examples_defaults_are_its_command_lines() {
    for (example, name) in [
        (&MNIST_DCGAN, "mnist_dcgan"),
        (&CIFAR10_DCGAN, "cifar10_dcgan"),
        (&MLP_GAN, "mlp_gan"),
    ] {
        let args = GanArgs::parse_for(example, [name]);
        let (config, model) = example.defaults();
        assert_eq!(
            format!("{:?}", args.train_config()),
            format!("{config:?}"),
            "{name}"
        );
        assert_eq!(args.model_config(example.set), model, "{name}");
    }
}
