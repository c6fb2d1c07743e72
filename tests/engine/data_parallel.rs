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

/// --sync-batch-norm means nothing without ranks to synchronise, and is refused.
#[test]
fn sync_batch_norm_without_data_parallel_is_refused() {
    let out = scratch("dp_sync_alone");
    let output = Command::new(mnist_dcgan())
        .args(single(&out, &["--sync-batch-norm"]))
        .output()
        .unwrap();
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(text.contains("--data-parallel"), "{text}");
}

/// One MPI job at a time: two jobs of two ranks on a 2-core machine starve each
/// other's start-up.
#[cfg(feature = "mpi")]
fn one_job() -> std::sync::MutexGuard<'static, ()> {
    static ONE_JOB: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE_JOB.lock().unwrap_or_else(|e| e.into_inner())
}

/// `mpirun` for `ranks`, each `(count, extra flags)`, on loopback, with `mpirun`'s own
/// `options`; as root where CI runs so, and with `DUEL_GEMM` set to `gemm` on every
/// rank when given.
#[cfg(feature = "mpi")]
fn mpirun_command(
    out: &Path,
    ranks: &[(usize, &[&str])],
    options: &[&str],
    gemm: Option<&str>,
) -> Command {
    let mut command = Command::new("mpirun");
    command
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .args([
            "--oversubscribe",
            "--mca",
            "btl_vader_single_copy_mechanism",
            "none",
        ])
        .args(options);
    if let Some(plan) = gemm {
        command.env("DUEL_GEMM", plan).args(["-x", "DUEL_GEMM"]);
    }
    for (i, (count, extra)) in ranks.iter().enumerate() {
        if i > 0 {
            command.arg(":");
        }
        command
            .args(["-np", &count.to_string()])
            .arg(mnist_dcgan())
            .args(flags(out, extra));
    }
    command
}

/// Runs `mpirun_command` to its end.
#[cfg(feature = "mpi")]
fn mpirun(out: &Path, ranks: &[(usize, &[&str])]) -> Output {
    mpirun_with(out, ranks, None)
}

/// `mpirun`, with `DUEL_GEMM` set to `gemm` on every rank when given.
#[cfg(feature = "mpi")]
fn mpirun_with(out: &Path, ranks: &[(usize, &[&str])], gemm: Option<&str>) -> Output {
    let _job = one_job();
    mpirun_command(out, ranks, &[], gemm).output().unwrap()
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

/// A checkpoint of 2 synced ranks resumes in one process without MPI, and that one
/// on 2 ranks again, each from the step saved: 2 ranks to step 4, 1 process to step
/// 7, 2 ranks to step 10. With --sync-batch-norm the one process trains as the ranks
/// would, up to the order of its sums, so the end matches an uninterrupted 2-rank
/// run within what reordering the sums alone does to it (the uninterrupted run with
/// every GEMM's K split in two), by the median tensor's normwise difference, as in
/// `sync_batch_norm_trains_as_one_process_on_the_global_batch`. The ranks of the last
/// leg also compare their models at every checkpoint.
#[cfg(feature = "mpi")]
#[test]
fn a_checkpoint_moves_from_two_ranks_to_one_process_and_back() {
    let sync = "--sync-batch-norm";
    let out = scratch("dp_resume");
    let checkpoint = out.join(duel::gan::CHECKPOINT);
    let resume = format!("--resume={}", checkpoint.display());
    let step = || duel::io::checkpoint::metadata(&checkpoint).unwrap()["step"].clone();
    let first = mpirun(&out, &[(2, &[sync, "--max-steps=4"])]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(step(), "4");
    let alone = Command::new(mnist_dcgan())
        .args(single(&out, &["--max-steps=7", &resume]))
        .output()
        .unwrap();
    let text = stderr(&alone);
    assert!(alone.status.success(), "{text}");
    assert!(
        text.contains("resumed from") && text.contains("at step 4"),
        "{text}"
    );
    assert_eq!(step(), "7");
    let again = mpirun(&out, &[(2, &[sync, &resume])]);
    let text = stderr(&again);
    assert!(again.status.success(), "{text}");
    assert_eq!(text.matches("at step 7").count(), 2, "{text}");
    assert_eq!(step(), "10");

    let straight = scratch("dp_resume_straight");
    let output = mpirun(&straight, &[(2, &[sync])]);
    assert!(output.status.success(), "{}", stderr(&output));
    let reordered = scratch("dp_resume_reordered");
    let output = mpirun_with(&reordered, &[(2, &[sync])], Some("tiled64:2"));
    assert!(output.status.success(), "{}", stderr(&output));
    let straight = straight.join(duel::gan::CHECKPOINT);
    let control = median(&differences(
        &reordered.join(duel::gan::CHECKPOINT),
        &straight,
    ));
    let moved = median(&differences(&checkpoint, &straight));
    eprintln!(
        "median differences from the uninterrupted run: moved {moved:e}, control {control:e}"
    );
    assert!(control > 0.0, "the control must reorder the sums");
    assert!(
        moved <= 2.0 * control,
        "moved {moved:e} vs control {control:e}"
    );
}

/// Every tensor of a checkpoint as f32 values, by name.
#[cfg(feature = "mpi")]
fn checkpoint_values(path: &Path) -> Vec<(String, Vec<f32>)> {
    crate::common::tensor_bytes(path)
        .into_iter()
        .map(|(name, bytes)| (name, bytemuck::pod_collect_to_vec(&bytes)))
        .collect()
}

/// Per tensor of two checkpoints of one model: the largest difference of an element,
/// relative to the largest magnitude in that tensor of `want`. Worst first.
#[cfg(feature = "mpi")]
fn differences(got: &Path, want: &Path) -> Vec<(f64, String)> {
    let (got, want) = (checkpoint_values(got), checkpoint_values(want));
    assert_eq!(got.len(), want.len());
    let mut all: Vec<(f64, String)> = got
        .iter()
        .zip(&want)
        .map(|((name, a), (other, b))| {
            assert_eq!(name, other);
            let norm = b.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt();
            let diff = a
                .iter()
                .zip(b)
                .map(|(x, y)| f64::from(x - y).powi(2))
                .sum::<f64>()
                .sqrt();
            (diff / norm.max(f64::MIN_POSITIVE), name.clone())
        })
        .collect();
    all.sort_by(|a, b| b.0.total_cmp(&a.0));
    all
}

/// The median over tensors of `differences`.
#[cfg(feature = "mpi")]
fn median(differences: &[(f64, String)]) -> f64 {
    differences[differences.len() / 2].0
}

/// The checkpoint of a run of `steps` steps at global batch 32: in one process, with
/// `DUEL_GEMM` when given, or on 2 ranks with `extra` flags.
#[cfg(feature = "mpi")]
fn checkpoint_after(
    name: &str,
    steps: usize,
    gemm: Option<&str>,
    ranks: Option<&[&str]>,
) -> PathBuf {
    let out = scratch(name);
    let steps = format!("--max-steps={steps}");
    let output = match ranks {
        Some(extra) => mpirun(&out, &[(2, &[extra, &[steps.as_str()]].concat())]),
        None => {
            let mut command = Command::new(mnist_dcgan());
            if let Some(plan) = gemm {
                command.env("DUEL_GEMM", plan);
            }
            command.args(single(&out, &[&steps])).output().unwrap()
        }
    };
    assert!(output.status.success(), "{name}: {}", stderr(&output));
    out.join(duel::gan::CHECKPOINT)
}

/// With --sync-batch-norm, 2 ranks at global batch 32 train as 1 process at batch 32
/// does, up to the order of the sums over the batch: each rank sums its 16 rows, and
/// the two sums are averaged, where one process sums 32. Batch norm's statistics
/// differ the same way: each rank's own, merged, against one pass over 32 rows.
///
/// Tolerances, per tensor of the checkpoint (weights, batch-norm statistics, Adam
/// moments, the EMA), as the normwise relative difference ‖a - b‖/‖b‖:
/// - After 1 step: 1e-3. A sum of K terms in another order differs by at most
///   (K - 1)·ε·Σ|terms|; the longest sum here is D's first weight gradient over the
///   batch and 14×14 positions, K = 6,272, so 2·K·ε ≈ 7.5e-4 on a gradient and its
///   moments. A weight moves by Adam's first step, ±lr·sign(g) for all but tiny g, so
///   it differs only where rounding flips a near-zero gradient's sign: a few elements.
///   Without --sync-batch-norm the median tensor differs by about 0.17.
/// - After 10 steps: no bound on rounding holds, since a GAN's steps amplify any
///   difference. The tolerance is what reordering the sums alone does in one process:
///   the same run with every GEMM's K split in two (`DUEL_GEMM=tiled64:2`). The synced
///   ranks' median difference must be within 2× that control's, and the unsynced
///   ranks' beyond it (they measured 1.1× and 5× here).
///
/// How the unsynced ranks are shown to differ only in batch norm's statistics: the
/// flag changes nothing but where batch norm takes its statistics and its gradient
/// sums from (each rank's 16 samples, or the whole 32), and with it the difference
/// falls to that of reordered sums.
#[cfg(feature = "mpi")]
#[test]
fn sync_batch_norm_trains_as_one_process_on_the_global_batch() {
    let sync: &[&str] = &["--sync-batch-norm"];
    let one = checkpoint_after("dp_one_1", 1, None, None);
    let synced = differences(&checkpoint_after("dp_sync_1", 1, None, Some(sync)), &one);
    let apart = differences(&checkpoint_after("dp_apart_1", 1, None, Some(&[])), &one);
    assert!(
        synced[0].0 <= 1e-3,
        "after 1 step, synced: {:?}",
        &synced[..4]
    );
    assert!(
        median(&apart) > 1e-2,
        "after 1 step, apart: {:?}",
        &apart[..4]
    );

    let one = checkpoint_after("dp_one_10", 10, None, None);
    let control = median(&differences(
        &checkpoint_after("dp_control_10", 10, Some("tiled64:2"), None),
        &one,
    ));
    let synced = median(&differences(
        &checkpoint_after("dp_sync_10", 10, None, Some(sync)),
        &one,
    ));
    let apart = median(&differences(
        &checkpoint_after("dp_apart_10", 10, None, Some(&[])),
        &one,
    ));
    eprintln!(
        "after 10 steps, median differences: control {control:e}, synced {synced:e}, apart {apart:e}"
    );
    assert!(control > 0.0, "the control must reorder the sums");
    assert!(
        synced <= 2.0 * control,
        "synced {synced:e} vs control {control:e}"
    );
    assert!(
        apart > 2.0 * control,
        "apart {apart:e} vs control {control:e}"
    );
}

/// An MPI job running in the background, its stderr going to a log.
#[cfg(feature = "mpi")]
struct Job {
    launcher: std::process::Child,
    log: PathBuf,
}

/// A run of up to 400 steps into `out` on `ranks` (as `mpirun_command` takes them),
/// started in the background with `mpirun`'s `options`; its stderr goes to
/// `out/../<name>.log`.
#[cfg(feature = "mpi")]
fn start(out: &Path, ranks: &[(usize, &[&str])], options: &[&str]) -> Job {
    let log = out.with_extension("log");
    let file = std::fs::File::create(&log).unwrap();
    let flags: Vec<Vec<&str>> = ranks
        .iter()
        .map(|(_, extra)| [extra, &["--max-steps=400"][..]].concat())
        .collect();
    let ranks: Vec<(usize, &[&str])> = ranks
        .iter()
        .zip(&flags)
        .map(|((count, _), flags)| (*count, &flags[..]))
        .collect();
    let launcher = mpirun_command(out, &ranks, options, None)
        .stdout(std::process::Stdio::null())
        .stderr(file)
        .spawn()
        .unwrap();
    Job { launcher, log }
}

#[cfg(feature = "mpi")]
impl Job {
    fn text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `ready` holds, up to `START_LIMIT`; else ends the job and fails,
    /// saying `what` it waited for.
    fn wait_until(&mut self, what: &str, ready: impl FnMut() -> bool) {
        if !wait_for(START_LIMIT, ready) {
            let _ = self.launcher.kill();
            let _ = self.launcher.wait();
            panic!("{what} never came: {}", self.text());
        }
    }

    /// The log, once every rank has ended: within `FAULT_LIMIT` of now, and with a
    /// non-zero status, or the test fails.
    fn ends_failing(mut self) -> String {
        let mut status = None;
        wait_for(FAULT_LIMIT, || {
            status = self.launcher.try_wait().unwrap();
            status.is_some()
        });
        if status.is_none() {
            let _ = self.launcher.kill();
            let _ = self.launcher.wait();
        }
        let text = self.text();
        let status = status.unwrap_or_else(|| panic!("the ranks did not end in 30 s: {text}"));
        assert!(!status.success(), "{text}");
        text
    }
}

/// Waits, up to `limit`, until `ready` holds; false if it never did.
#[cfg(feature = "mpi")]
fn wait_for(limit: std::time::Duration, mut ready: impl FnMut() -> bool) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < limit {
        if ready() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

/// The step of an intact checkpoint: one that parses and whose tensors match the
/// checksum in its metadata.
#[cfg(feature = "mpi")]
fn intact_step(path: &Path) -> Option<usize> {
    let bytes = std::fs::read(path).ok()?;
    let file = safetensors::SafeTensors::deserialize(&bytes).ok()?;
    let metadata = duel::io::checkpoint::metadata_of(&bytes, "checkpoint").ok()?;
    let views = file.tensors();
    let sum = duel::io::checkpoint::data_sha256(
        views.iter().map(|(n, v)| (n.as_str(), v.shape(), v.data())),
    );
    (metadata.get(duel::io::checkpoint::CHECKSUM)? == &sum)
        .then(|| metadata["step"].parse().ok())
        .flatten()
}

/// The pid of rank `rank` of the job writing into `out`, from /proc.
#[cfg(feature = "mpi")]
fn rank_pid(out: &Path, rank: usize) -> Option<i32> {
    let wanted = format!("OMPI_COMM_WORLD_RANK={rank}");
    let out = out.display().to_string();
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let environ = std::fs::read(entry.path().join("environ")).ok()?;
            let has = |bytes: &[u8], text: &str| {
                bytes
                    .split(|b| *b == 0)
                    .any(|part| String::from_utf8_lossy(part).contains(text))
            };
            let is_rank = has(&cmdline, &out) && has(&environ, &wanted);
            (is_rank && !has(&cmdline, "mpirun")).then_some(pid)
        })
}

/// Sends `signal` (as `kill` names it) to `pid`.
#[cfg(feature = "mpi")]
fn signal(pid: i32, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

#[cfg(feature = "mpi")]
const FAULT_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);
#[cfg(feature = "mpi")]
const START_LIMIT: std::time::Duration = std::time::Duration::from_secs(180);

/// A rank that fails mid-run: rank 0 cannot write step 10's grid (a directory stands
/// at its path), after writing step 10's checkpoint. Every rank ends within 30 s of
/// that checkpoint, with a non-zero status and a message naming the rank and the
/// cause, and the checkpoint stays intact.
#[cfg(feature = "mpi")]
#[test]
fn a_rank_that_fails_mid_run_ends_every_rank_and_keeps_the_checkpoint() {
    let _job = one_job();
    let out = scratch("dp_fault_error");
    std::fs::create_dir_all(out.join("samples").join("step_000010.png")).unwrap();
    let checkpoint = out.join(duel::gan::CHECKPOINT);
    let mut job = start(&out, &[(2, &[])], &[]);
    job.wait_until("step 10's checkpoint", || {
        intact_step(&checkpoint) == Some(10)
    });
    let text = job.ends_failing();
    assert!(
        text.contains("error on rank 0 of 2") && text.contains("step_000010.png"),
        "{text}"
    );
    // Launched without it, rank 0 says which mpirun option lets a signal save.
    assert!(
        text.contains("--mca odls_base_sigkill_timeout 10"),
        "{text}"
    );
    assert_eq!(intact_step(&checkpoint), Some(10), "{text}");
}

/// A rank killed mid-run (SIGKILL to rank 1 after step 5's checkpoint): mpirun ends
/// every rank within 30 s with a non-zero status, naming the rank, and the last
/// checkpoint stays intact.
#[cfg(feature = "mpi")]
#[test]
fn a_rank_killed_mid_run_ends_every_rank_and_keeps_the_checkpoint() {
    let _job = one_job();
    let out = scratch("dp_fault_kill");
    let checkpoint = out.join(duel::gan::CHECKPOINT);
    let mut job = start(&out, &[(2, &[])], &[]);
    let mut pid = None;
    job.wait_until("a checkpoint and rank 1", || {
        pid = rank_pid(&out, 1);
        pid.is_some() && intact_step(&checkpoint).is_some()
    });
    signal(pid.unwrap(), "KILL");
    let text = job.ends_failing();
    assert!(
        text.contains("process rank 1") && text.contains("signal 9"),
        "{text}"
    );
    assert!(intact_step(&checkpoint).is_some_and(|s| s >= 5), "{text}");
}

/// SIGTERM to `mpirun`, launched as the README says (`--mca odls_base_sigkill_timeout
/// 10`: Open MPI passes the signal on after that many seconds and kills the ranks as
/// many seconds later): every rank stops after the same step, rank 0 saves there as a
/// single process does, and all end within 30 s, non-zero, each naming itself.
#[cfg(feature = "mpi")]
#[test]
fn sigterm_to_mpirun_saves_as_one_process_does() {
    let _job = one_job();
    let out = scratch("dp_fault_sigterm");
    let checkpoint = out.join(duel::gan::CHECKPOINT);
    let options = ["--mca", "odls_base_sigkill_timeout", "10"];
    let mut job = start(&out, &[(2, &[])], &options);
    job.wait_until("a checkpoint", || intact_step(&checkpoint).is_some());
    signal(job.launcher.id() as i32, "TERM");
    let text = job.ends_failing();
    assert!(!text.contains("odls_base_sigkill_timeout"), "{text}");
    for rank in 0..2 {
        assert!(
            text.contains(&format!(
                "error on rank {rank} of 2: interrupted by SIGTERM"
            )),
            "{text}"
        );
    }
    let step = intact_step(&checkpoint).unwrap_or(0);
    assert!(
        text.contains(&format!("checkpoint saved at step {step} ")),
        "{text}"
    );
}

/// A rank whose loss becomes NaN: rank 1 alone is launched with a learning rate of
/// 1e30, which its first Adam step turns into huge weights. The logged losses are
/// means over the ranks, so every rank sees the NaN at the same step, and each ends,
/// non-zero and naming itself and the cause, within 30 s of the start of training;
/// no checkpoint with a NaN is written.
#[cfg(feature = "mpi")]
#[test]
fn a_nan_on_one_rank_ends_every_rank_and_writes_no_bad_checkpoint() {
    let _job = one_job();
    let out = scratch("dp_fault_nan");
    let checkpoint = out.join(duel::gan::CHECKPOINT);
    let mut job = start(&out, &[(1, &[]), (1, &["--lr=1e30"])], &[]);
    let log = job.log.clone();
    job.wait_until("training", || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains("parameters"))
    });
    let text = job.ends_failing();
    assert!(
        text.contains("error on rank") && text.contains("NaN"),
        "{text}"
    );
    assert!(
        !checkpoint.exists() || intact_step(&checkpoint).is_some(),
        "{text}"
    );
}
