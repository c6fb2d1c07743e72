//! Data-parallel training over MPI (--data-parallel), as a user launches it: two ranks
//! under `mpirun` on loopback, both on lavapipe. Built without the `mpi` feature, the
//! flag is refused with a message saying how to get it.
#![cfg(unix)]

use crate::common::{mnist_dir, scratch};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mnist_dcgan() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    dir.join("mnist_dcgan")
}

/// A short run's flags, without --data-parallel: global batch 32, a checkpoint every
/// 5 steps, and 10 steps unless `extra` says otherwise.
fn single(out: &Path, extra: &[&str]) -> Vec<String> {
    let mut flags: Vec<String> = vec![
        format!("--data-dir={}", mnist_dir().display()),
        format!("--out={}", out.display()),
        "--sample-every=5".into(),
        "--eval-every=0".into(),
        "--batch-size=32".into(),
    ];
    if !extra.iter().any(|f| f.starts_with("--max-steps")) {
        flags.push("--max-steps=10".into());
    }
    flags.extend(extra.iter().map(|f| f.to_string()));
    flags
}

/// `single`'s flags with --data-parallel.
fn flags(out: &Path, extra: &[&str]) -> Vec<String> {
    let mut flags = single(out, extra);
    flags.push("--data-parallel".into());
    flags
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[cfg(not(feature = "mpi"))]
#[test]
fn a_build_without_mpi_refuses_data_parallel_saying_how_to_build_it() {
    let out = scratch("dp_refused");
    let output = Command::new(mnist_dcgan())
        .args(flags(&out, &[]))
        .output()
        .unwrap();
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("--features mpi") && text.contains("mpirun"),
        "{text}"
    );
}

/// `mpirun` for `ranks`, each `(count, extra flags)`, on loopback; as root where
/// CI runs so. One job at a time: two jobs of two ranks on a 2-core machine starve
/// each other's start-up.
#[cfg(feature = "mpi")]
fn mpirun(out: &Path, ranks: &[(usize, &[&str])]) -> Output {
    static ONE_JOB: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _job = ONE_JOB.lock().unwrap_or_else(|e| e.into_inner());
    let mut command = Command::new("mpirun");
    command
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .args([
            "--oversubscribe",
            "--mca",
            "btl_vader_single_copy_mechanism",
            "none",
        ]);
    for (i, (count, extra)) in ranks.iter().enumerate() {
        if i > 0 {
            command.arg(":");
        }
        command
            .args(["-np", &count.to_string()])
            .arg(mnist_dcgan())
            .args(flags(out, extra));
    }
    command.output().unwrap()
}

/// Two ranks train 10 steps of the default recipe. At every checkpoint (steps 5 and
/// 10) the ranks compare a hash of every tensor a checkpoint holds (weights,
/// batch-norm statistics, Adam moments, the average) and fail on any difference;
/// the next test shows that check failing.
#[cfg(feature = "mpi")]
#[test]
fn two_ranks_hold_bit_identical_models_after_ten_steps() {
    let out = scratch("dp_two_ranks");
    let output = mpirun(&out, &[(2, &[])]);
    let text = stderr(&output);
    assert!(output.status.success(), "{text}");
    for rank in 0..2 {
        assert!(
            text.contains(&format!("rank {rank} (local rank {rank}): adapter")),
            "{text}"
        );
    }
    let saved = duel::io::checkpoint::metadata(&out.join(duel::gan::CHECKPOINT)).unwrap();
    assert_eq!(saved["step"], "10");
    assert_eq!(saved["batch_size"], "32");
}

/// Ranks started with different seeds build different models: every rank ends, with
/// a non-zero status and a message naming the rank and the cause, rather than
/// training apart or waiting on each other.
#[cfg(feature = "mpi")]
#[test]
fn ranks_with_different_models_all_stop_with_the_rank_and_cause() {
    let out = scratch("dp_mismatch");
    let started = std::time::Instant::now();
    let output = mpirun(&out, &[(1, &["--seed=1"]), (1, &["--seed=2"])]);
    let text = stderr(&output);
    assert!(!output.status.success(), "{text}");
    assert!(
        started.elapsed().as_secs() < 120,
        "took {:?}",
        started.elapsed()
    );
    assert!(text.contains("error on rank"), "{text}");
    assert!(text.contains("initial models differ"), "{text}");
}

/// A checkpoint of 2 ranks resumes in one process without MPI, and that one on 2
/// ranks again: each continues from the step saved, and the 2 ranks of the last leg
/// again hold identical models at every checkpoint.
#[cfg(feature = "mpi")]
#[test]
fn a_checkpoint_moves_from_two_ranks_to_one_process_and_back() {
    let out = scratch("dp_resume");
    let checkpoint = out.join(duel::gan::CHECKPOINT);
    let resume = format!("--resume={}", checkpoint.display());
    let step = || duel::io::checkpoint::metadata(&checkpoint).unwrap()["step"].clone();
    let first = mpirun(&out, &[(2, &[])]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(step(), "10");
    let alone = Command::new(mnist_dcgan())
        .args(single(&out, &["--max-steps=15", &resume]))
        .output()
        .unwrap();
    let text = stderr(&alone);
    assert!(alone.status.success(), "{text}");
    assert!(
        text.contains("resumed from") && text.contains("at step 10"),
        "{text}"
    );
    assert_eq!(step(), "15");
    let again = mpirun(&out, &[(2, &["--max-steps=20", &resume])]);
    let text = stderr(&again);
    assert!(again.status.success(), "{text}");
    assert_eq!(text.matches("at step 15").count(), 2, "{text}");
    assert_eq!(step(), "20");
}
