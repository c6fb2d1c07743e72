//! mnist_eval (`duel::cli::run_eval`): a default mnist_dcgan run's checkpoint, whose
//! discriminator has spectral norm and whose generator is conditional and averaged,
//! is rebuilt from its metadata and scored; a damaged copy is called damaged; exported
//! samples score with their labels.

use crate::common::{mnist_dir, scratch};
use duel::cli::{EvalArgs, GanArgs, MNIST_DCGAN, run_eval, run_gan};
use duel::data::ImageSet;
use duel::{Error, Result};
use std::path::Path;

fn eval(flags: &[String]) -> Result<duel::metrics::Score> {
    let data = format!("--data-dir={}", mnist_dir().display());
    let line = ["mnist_eval", &data].into_iter().map(String::from);
    run_eval(&<EvalArgs as clap::Parser>::parse_from(
        line.chain(flags.iter().cloned()),
    ))
}

fn flag(name: &str, path: &Path) -> String {
    format!("--{name}={}", path.display())
}

#[test]
fn mnist_eval_scores_a_default_runs_checkpoint_and_its_exported_samples() {
    let out = scratch("eval_default");
    let line = [
        "mnist_dcgan".to_string(),
        format!("--data-dir={}", mnist_dir().display()),
        flag("out", &out),
        "--max-steps=2".into(),
        "--eval-every=0".into(),
        "--export-samples=300".into(),
    ];
    run_gan(ImageSet::Mnist, &GanArgs::parse_for(&MNIST_DCGAN, line)).unwrap();
    let checkpoint = out.join("checkpoint.safetensors");

    let scored = eval(&[flag("checkpoint", &checkpoint), "--count=300".into()]).unwrap();
    assert!(scored.fd.is_finite() && scored.fd > 0.0, "{scored}");
    assert!(scored.label_accuracy.is_some(), "{scored}");
    assert_eq!(scored.count, 300, "{scored}");

    let samples = flag("samples", &out.join("samples-idx3-ubyte"));
    let labels = flag("labels", &out.join("labels-idx1-ubyte"));
    let exported = eval(&[samples.clone(), labels]).unwrap();
    assert!(exported.label_accuracy.is_some(), "{exported}");
    assert!(eval(&[samples]).unwrap().label_accuracy.is_none());

    // One flipped bit in the tensor data: damaged, not "saved with other settings".
    let mut bytes = std::fs::read(&checkpoint).unwrap();
    let last = bytes.len() - 9;
    bytes[last] ^= 0x04;
    let damaged = out.join("damaged.safetensors");
    std::fs::write(&damaged, &bytes).unwrap();
    match eval(&[flag("checkpoint", &damaged)]) {
        Err(Error::Data(m)) => assert!(
            m.contains("is damaged") && !m.contains("other model settings"),
            "{m}"
        ),
        other => panic!("expected a data error, got {other:?}"),
    }
}
