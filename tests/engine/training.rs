//! The example's whole training loop on real MNIST: the files it leaves under --out,
//! the classifier metric in metrics.csv, and a NaN loss that stops the run with a
//! clear error while the last good checkpoint stays as it was.

use crate::common::{gpu, mnist_dir, scratch};
use duel::gan::{Dataset, ModelConfig, Recipe, TrainConfig, report};
use duel::{AdamConfig, Error};
use std::path::Path;
use std::sync::atomic::AtomicBool;

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
    let classifier = duel::metrics::default_classifier_path();
    let metric = (config.eval_every > 0).then_some(classifier.as_path());
    let data = Dataset::mnist(gpu(), Some(&mnist_dir()), metric)?;
    duel::gan::run(gpu(), &config, &model, &data, &AtomicBool::new(false))
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
