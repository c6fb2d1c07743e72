//! Nothing silently wrong: settings that make no sense are refused before anything
//! runs, naming the flag; a checkpoint never holds a NaN and is never loaded with one,
//! a flipped bit or another run's settings; a fresh run never replaces an earlier one;
//! and a run that diverges says what is kept and why.

use crate::common::{gpu, mnist_dir, scratch};
use duel::cli::{CIFAR10_DCGAN, GanArgs, GanExample, MNIST_DCGAN, run_gan};
use duel::data::ImageSet;
use duel::gan::{Dataset, Gan, ModelConfig, Recipe, TrainConfig, check_resume};
use duel::io::{checkpoint, remove_stale_temporaries};
use duel::{Error, Tensor};
use safetensors::{Dtype, tensor::TensorView};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// What `run_gan` says to mnist_dcgan's command line plus `flags`, writing into `out`.
fn cli_error(out: &Path, flags: &[&str]) -> Error {
    let mut line = vec![
        "mnist_dcgan".to_string(),
        format!("--data-dir={}", mnist_dir().display()),
        format!("--out={}", out.display()),
    ];
    if !flags.iter().any(|f| f.starts_with("--eval-every")) {
        line.push("--eval-every=0".into());
    }
    line.extend(flags.iter().map(|f| f.to_string()));
    let args = GanArgs::parse_for(&MNIST_DCGAN, line);
    run_gan(ImageSet::Mnist, &args).expect_err("the run must be refused")
}

/// Runs mnist_dcgan's command line with 8-wide models into `out`, plus `flags`.
fn small_run(out: &Path, flags: &[&str]) -> duel::Result<()> {
    let mut line = vec![
        "mnist_dcgan".to_string(),
        format!("--data-dir={}", mnist_dir().display()),
        format!("--out={}", out.display()),
        "--eval-every=0".into(),
        "--ngf=8".into(),
        "--ndf=8".into(),
    ];
    line.extend(flags.iter().map(|f| f.to_string()));
    run_gan(ImageSet::Mnist, &GanArgs::parse_for(&MNIST_DCGAN, line))
}

#[test]
fn settings_that_make_no_sense_are_refused_naming_the_flag() {
    let out = scratch("guards_settings");
    let huge = u64::MAX.to_string();
    let cases: &[(&[&str], &str)] = &[
        (&["--nz=0"], "--nz"),
        (&["--ngf=0"], "--ngf"),
        (&["--ndf=0"], "--ndf"),
        (&["--lr=0"], "--lr"),
        (&["--lr=-1e-3"], "--lr"),
        (&["--lr=NaN"], "--lr"),
        (&["--lr=inf"], "--lr"),
        (&["--lr-g=0"], "--lr-g"),
        (&["--lr-d=NaN"], "--lr-d"),
        (&["--beta1=1"], "--beta1"),
        (&["--batch-size=1"], "--batch-size"),
        (&["--batch-size=60001"], "--batch-size"),
        (&["--epochs=0", "--max-steps=0"], "--epochs"),
        (&["--eval-every=100", "--eval-samples=1"], "--eval-samples"),
        (
            &["--eval-every=100", "--eval-samples", &huge],
            "--eval-samples",
        ),
        (&["--export-samples", &huge], "--export-samples"),
        (&["--log-every=0"], "--log-every"),
        (&["--sample-every=0"], "--sample-every"),
        // A negative number after a space is the flag's value, checked like any other.
        (&["--r1", "-1"], "--r1"),
        (&["--gp", "-10"], "--gp -10"),
        (&["--ema", "-0.1"], "--ema"),
        (&["--beta1", "-0.5"], "--beta1"),
        // Too wide: the widths are named, not the batch.
        (&["--ngf=100000"], "--ngf 100000"),
    ];
    for (flags, names) in cases {
        match cli_error(&out, flags) {
            Error::Usage(m) => assert!(m.contains(names), "{flags:?}: {m}"),
            other => panic!("{flags:?}: expected a usage error, got {other}"),
        }
    }
    // Nothing was written by any of them.
    assert!(!out.join("checkpoint.safetensors").exists());
}

/// What the flags alone refuse is refused before the data is looked for: here there
/// is none, so a refusal after loading would be a data error instead.
#[test]
fn an_impossible_batch_or_architecture_is_refused_before_the_data_loads() {
    let out = scratch("guards_before_data");
    let nowhere = format!("--data-dir={}", out.join("no data here").display());
    let cases: [(&GanExample, ImageSet, &str, &str); 3] = [
        (
            &MNIST_DCGAN,
            ImageSet::Mnist,
            "--batch-size=60001",
            "--batch-size",
        ),
        (
            &CIFAR10_DCGAN,
            ImageSet::Cifar10,
            "--batch-size=50001",
            "--batch-size",
        ),
        (
            &CIFAR10_DCGAN,
            ImageSet::Cifar10,
            "--arch=article-c",
            "--arch article-c",
        ),
    ];
    for (example, set, flag, named) in cases {
        let line = ["example", &nowhere, "--eval-every=0", flag];
        let args = GanArgs::parse_for(example, line.map(String::from));
        match run_gan(set, &args) {
            Err(Error::Usage(m)) => assert!(m.contains(named), "{flag}: {m}"),
            other => panic!("{flag}: expected a usage error, got {other:?}"),
        }
    }
}

/// --epochs counts only when --max-steps is 0, as --help says.
#[test]
fn epochs_0_is_fine_beside_max_steps() {
    let out = scratch("guards_epochs_0");
    small_run(&out, &["--max-steps=1", "--epochs=0"]).unwrap();
    assert!(out.join("checkpoint.safetensors").exists());
}

/// A checkpoint that can't be written (here a directory stands where its temporary
/// file goes, as a full disk would refuse it) stops the run saying that the previous
/// checkpoint is intact and how to resume it, and leaves that checkpoint as it was.
#[test]
fn a_checkpoint_that_cannot_be_written_says_the_last_one_is_intact() {
    let out = scratch("guards_full_disk");
    let run = |flags: &[&str]| small_run(&out, &[&["--sample-every=2"], flags].concat());
    run(&["--max-steps=2"]).unwrap();
    let checkpoint = out.join("checkpoint.safetensors");
    let good = std::fs::read(&checkpoint).unwrap();
    let temporary = out.join(format!("checkpoint.safetensors.tmp{}", std::process::id()));
    std::fs::create_dir(&temporary).unwrap();
    let resume = format!("--resume={}", checkpoint.display());
    let result = run(&["--max-steps=4", &resume]);
    std::fs::remove_dir(&temporary).unwrap();
    let Err(Error::Output(m)) = result else {
        panic!("expected an output error, got {result:?}");
    };
    assert!(
        m.contains("from step 2, is kept")
            && m.contains(&format!("--resume {}", checkpoint.display())),
        "{m}"
    );
    assert_eq!(std::fs::read(&checkpoint).unwrap(), good);
}

#[test]
fn a_fresh_run_never_replaces_an_earlier_one() {
    let out = scratch("guards_overwrite");
    let steps = |flags: &[&str]| small_run(&out, flags);
    steps(&["--max-steps=4"]).unwrap();
    let checkpoint = out.join("checkpoint.safetensors");
    let first = std::fs::read(&checkpoint).unwrap();
    let Err(Error::Usage(m)) = steps(&["--max-steps=2"]) else {
        panic!("a second fresh run into the same --out must be refused");
    };
    assert!(
        m.contains("--resume") && m.contains("--overwrite") && m.contains("step 4"),
        "{m}"
    );
    assert_eq!(std::fs::read(&checkpoint).unwrap(), first);

    // --overwrite starts afresh: the old grids go, and the checkpoint is the new run's.
    steps(&["--max-steps=2", "--overwrite"]).unwrap();
    let saved = checkpoint::metadata(&checkpoint).unwrap();
    assert_eq!(saved["step"], "2");
    assert!(!out.join("samples/step_000004.png").exists());
    assert!(out.join("samples/step_000002.png").exists());
}

#[test]
fn resume_refuses_another_run_and_a_garbled_step_and_takes_a_new_learning_rate() {
    let path = Path::new("ckpt.safetensors");
    let config = TrainConfig::default();
    let model = ModelConfig::default();
    let expected = duel::gan::run_metadata(&config, &model, 0);
    let mut saved = duel::gan::run_metadata(&config, &model, 120);
    saved.insert("adam_steps".into(), "120".into());
    assert_eq!(check_resume(path, &saved, &expected).unwrap(), 120);

    // Another learning rate continues the run (with a note, from `run`).
    let mut other_lr = saved.clone();
    other_lr.insert(
        "adam_g".into(),
        "lr 0.001 beta1 0.9 beta2 0.999 eps 1e-7".into(),
    );
    assert_eq!(check_resume(path, &other_lr, &expected).unwrap(), 120);

    let changed = |key: &str, value: Option<&str>| {
        let mut m = saved.clone();
        match value {
            Some(v) => m.insert(key.to_string(), v.to_string()),
            None => m.remove(key),
        };
        check_resume(path, &m, &expected)
            .expect_err(key)
            .to_string()
    };
    let m = changed("seed", Some("2"));
    assert!(m.contains("--seed") && m.contains("seed 2"), "{m}");
    let m = changed("batch_size", Some("64"));
    assert!(m.contains("--batch-size"), "{m}");
    // A garbled setting is damage, not a setting to resume with.
    for (key, value) in [
        ("batch_size", "abc"),
        ("seed", "1.5"),
        ("spectral_norm", "yes"),
        ("arch", "?"),
        ("image", "1x28xq"),
    ] {
        let m = changed(key, Some(value));
        assert!(
            m.contains("damaged") && m.contains(value) && !m.contains("Resume with"),
            "{key} {value:?}: {m}"
        );
    }
    for (key, value) in [
        ("step", None),
        ("step", Some("12x")),
        ("step", Some("-3")),
        ("adam_steps", None),
        ("adam_steps", Some("")),
    ] {
        let m = changed(key, value);
        assert!(
            m.contains(key) && m.contains("ckpt.safetensors"),
            "{key} {value:?}: {m}"
        );
    }
}

fn tensor(values: &[f32]) -> Tensor {
    Tensor::from_slice(gpu(), &[values.len()], values).unwrap()
}

#[test]
fn a_checkpoint_with_a_nan_is_never_written() {
    let path = scratch("guards_nan_save").join("c.safetensors");
    let good = tensor(&[1.0, 2.0, 3.0]);
    for (name, bad) in [
        ("w", [1.0, f32::NAN, 0.0]),
        ("w", [f32::INFINITY, 0.0, 0.0]),
        ("layer.adam_v", [1.0, -1e-3, 0.0]),
        ("bn.running_var", [-2.0, 1.0, 1.0]),
    ] {
        let bad = tensor(&bad);
        let named = [("ok".to_string(), &good), (name.to_string(), &bad)];
        match checkpoint::save(&path, &named, &BTreeMap::new()) {
            Err(Error::Numeric(m)) => assert!(m.contains(name) && !m.contains("ok "), "{m}"),
            other => panic!("{name}: expected a numeric error, got {other:?}"),
        }
        assert!(!path.exists(), "{name}: a file was written");
    }
    // A negative value is fine where it is not a variance.
    let signed = tensor(&[-1.0, 2.0, -3.0]);
    checkpoint::save(&path, &[("w".into(), &signed)], &BTreeMap::new()).unwrap();
}

/// Writes a safetensors file by hand, as a foreign writer would: with the checksum
/// that loading requires when `checksummed`, else with none.
fn write_raw(path: &Path, tensors: &[(&str, Vec<f32>)], checksummed: bool) {
    let bytes: Vec<(String, Vec<u8>, [usize; 1])> = tensors
        .iter()
        .map(|(n, v)| (n.to_string(), bytemuck::cast_slice(v).to_vec(), [v.len()]))
        .collect();
    let views = bytes.iter().map(|(n, b, shape)| {
        (
            n.clone(),
            TensorView::new(Dtype::F32, shape.to_vec(), b).unwrap(),
        )
    });
    let sum = checkpoint::data_sha256(bytes.iter().map(|(n, b, s)| (n.as_str(), &s[..], &b[..])));
    let metadata = checksummed.then(|| HashMap::from([(checkpoint::CHECKSUM.to_string(), sum)]));
    std::fs::write(path, safetensors::serialize(views, metadata).unwrap()).unwrap();
}

#[test]
fn loading_refuses_nan_weights_negative_moments_flipped_bits_and_no_checksum() {
    let dir = scratch("guards_nan_load");
    let path = dir.join("c.safetensors");
    let (w, v) = (tensor(&[0.0; 3]), tensor(&[0.0; 3]));
    let named = [("w".to_string(), &w), ("w.adam_v".to_string(), &v)];
    for (raw_w, raw_v, named_in_error) in [
        (vec![1.0, f32::NAN, 2.0], vec![0.0; 3], "w holds 1 NaN"),
        (vec![1.0, 2.0, 3.0], vec![0.5, -1.0, -2.0], "w.adam_v"),
    ] {
        write_raw(&path, &[("w", raw_w), ("w.adam_v", raw_v)], true);
        match checkpoint::load(&path, &named) {
            Err(Error::Numeric(m)) => assert!(m.contains(named_in_error), "{m}"),
            other => panic!("expected a numeric error, got {other:?}"),
        }
    }

    // Without a checksum there is nothing to check the data by: refused, naming it.
    write_raw(
        &path,
        &[("w", vec![1.0; 3]), ("w.adam_v", vec![0.0; 3])],
        false,
    );
    match checkpoint::load(&path, &named) {
        Err(Error::Data(m)) => assert!(m.contains("no tensor_sha256"), "{m}"),
        other => panic!("expected a data error, got {other:?}"),
    }

    // One bit flipped in the tensor data of a saved checkpoint: the SHA-256 catches it.
    let (w, v) = (tensor(&[0.5, -0.25, 4.0]), tensor(&[1e-4, 2e-4, 0.0]));
    let named = [("w".to_string(), &w), ("w.adam_v".to_string(), &v)];
    checkpoint::save(&path, &named, &BTreeMap::new()).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 5;
    bytes[last] ^= 0x10;
    std::fs::write(&path, &bytes).unwrap();
    match checkpoint::load(&path, &named) {
        Err(Error::Data(m)) => assert!(m.contains("damaged") && m.contains("SHA-256"), "{m}"),
        other => panic!("expected a data error, got {other:?}"),
    }
}

#[test]
fn temporaries_of_killed_writers_are_removed_and_no_others() {
    let dir = scratch("guards_stale");
    // No process has a pid this high (Linux caps them at 2^22).
    let stale = ["checkpoint.safetensors.tmp4294967", "latest.png.tmp4294966"];
    let kept = [
        format!("latest.png.tmp{}", std::process::id()),
        "notes.tmp".to_string(),
        "digits.png".to_string(),
    ];
    for name in stale
        .iter()
        .map(|s| s.to_string())
        .chain(kept.iter().cloned())
    {
        std::fs::write(dir.join(name), b"x").unwrap();
    }
    let mut removed = remove_stale_temporaries(&dir);
    removed.sort();
    assert_eq!(removed, vec![dir.join(stale[0]), dir.join(stale[1])]);
    for name in &kept {
        assert!(dir.join(name).exists(), "{name} was removed");
    }
}

/// The probe's case: a checkpoint edited to hold one weight of 1e30, with a valid
/// checksum, is resumed. The weights go to NaN within a few steps while the losses may
/// stay finite; the run must not save them, and must blame the checkpoint, not --lr.
#[test]
fn a_run_from_a_damaged_checkpoint_stops_and_blames_it() {
    let out = scratch("guards_damaged");
    let model = ModelConfig {
        ngf: 8,
        ndf: 8,
        ..ModelConfig::default()
    };
    let config = TrainConfig {
        batch_size: 16,
        max_steps: 4,
        sample_every: 4,
        log_every: 1,
        eval_every: 0,
        out: out.clone(),
        ..TrainConfig::default()
    };
    let data = Dataset::load(gpu(), ImageSet::Mnist, Some(&mnist_dir()), None).unwrap();
    duel::gan::run(gpu(), &config, &model, &data).unwrap();
    let path = out.join("checkpoint.safetensors");

    let mut gan = Gan::new(gpu(), &model, &Recipe::default(), 16).unwrap();
    let restored = gan.load(&path).unwrap();
    assert!(restored.warning().is_none(), "{restored:?}");
    let first = &gan.g.params()[0].value;
    let mut values = first.to_vec().unwrap();
    values[0] = 1e30;
    first.write(&values).unwrap();
    let damaged = scratch("guards_damaged_ckpt").join("edited.safetensors");
    gan.save(&damaged, restored.metadata.clone()).unwrap();
    let good = std::fs::read(&path).unwrap();

    let resumed = TrainConfig {
        resume: Some(damaged.clone()),
        max_steps: 40,
        sample_every: 20,
        ..config
    };
    let Err(Error::Numeric(m)) = duel::gan::run(gpu(), &resumed, &model, &data) else {
        panic!("the run must stop with a numeric error");
    };
    assert!(
        m.contains("resumed at step 4") && m.contains("likely damaged") && m.contains("edited"),
        "{m}"
    );
    assert!(m.contains("from step 4, is kept"), "{m}");
    assert!(!m.contains("--lr"), "{m}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        good,
        "the good checkpoint changed"
    );
}

/// `from`'s tensors written to `to` with its metadata changed by `change`.
fn with_metadata(from: &Path, to: &Path, change: impl FnOnce(&mut HashMap<String, String>)) {
    let bytes = std::fs::read(from).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut metadata: HashMap<String, String> =
        checkpoint::metadata(from).unwrap().into_iter().collect();
    change(&mut metadata);
    let written = safetensors::serialize(file.tensors(), Some(metadata)).unwrap();
    std::fs::write(to, written).unwrap();
}

/// A resume that would train nothing says so and how to train on; a checkpoint whose
/// checksum was deleted is refused, naming the missing key.
#[test]
fn resume_refuses_a_finished_run_and_a_checkpoint_without_its_checksum() {
    let out = scratch("guards_resume_end");
    let small = ["--ngf=8", "--ndf=8"];
    small_run(&out, &["--max-steps=4", "--sample-every=4"]).unwrap();
    let path = out.join("checkpoint.safetensors");
    let resume = format!("--resume={}", path.display());
    for steps in ["--max-steps=2", "--max-steps=4"] {
        let flags = [small[0], small[1], steps, &resume];
        let Error::Usage(m) = cli_error(&out, &flags) else {
            panic!("{steps}: expected a usage error");
        };
        assert!(
            m.contains("at step 4") && m.contains("nothing to train") && m.contains("--max-steps"),
            "{steps}: {m}"
        );
    }

    let unchecked = scratch("guards_no_checksum").join("unchecked.safetensors");
    with_metadata(&path, &unchecked, |m| {
        m.remove(checkpoint::CHECKSUM);
    });
    let resume = format!("--resume={}", unchecked.display());
    let flags = [small[0], small[1], "--max-steps=6", &resume];
    let Error::Data(m) = cli_error(&out, &flags) else {
        panic!("expected a data error");
    };
    assert!(
        m.contains("no tensor_sha256") && m.contains("unchecked"),
        "{m}"
    );
}
