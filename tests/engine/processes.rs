//! The example binaries run as a user runs them, for what only a process shows:
//! SIGTERM and Ctrl-C in each long phase, a second Ctrl-C, exit codes, and a start
//! with nothing on stderr but duel's own lines. `cargo test` builds the examples
//! beside the test binary.
#![cfg(unix)]

use crate::common::{mnist_dir, scratch};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// Long enough for a slow CPU device to load MNIST and build the models, and for a
/// stopped run to save; a run that ignores a signal would take minutes more.
const PATIENCE: Duration = Duration::from_secs(120);

/// How soon a stop must be honoured: the issue asks for a second or two; this allows
/// for a loaded 2-core CI machine, and is far below the 45 s floor or a long export.
const PROMPT: Duration = Duration::from_secs(10);

fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        path.is_file(),
        "{} is missing: `cargo test` builds the examples",
        path.display()
    );
    path
}

/// A running example and its stderr, line by line.
struct Run {
    child: Child,
    lines: Receiver<String>,
    stderr: Vec<String>,
}

impl Run {
    fn start(name: &str, out: &Path, flags: &[&str]) -> Run {
        let mut child = Command::new(example(name))
            .arg(format!("--data-dir={}", mnist_dir().display()))
            .arg(format!("--out={}", out.display()))
            .args(flags)
            .env_remove("NODEVICE_SELECT")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (send, lines) = channel();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        Run {
            child,
            lines,
            stderr: Vec::new(),
        }
    }

    /// Waits for a stderr line that contains `text`.
    fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + PATIENCE;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(text);
                    self.stderr.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("no line with {text:?}; stderr: {:#?}", self.stderr);
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the exit: its code, all of stderr, and how long it took.
    fn finish(mut self) -> (Option<i32>, String, Duration) {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > PATIENCE {
                let _ = self.child.kill();
                panic!("the run did not end; stderr: {:#?}", self.stderr);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let waited = started.elapsed();
        let rest = self.lines.iter().collect::<Vec<_>>();
        self.stderr.extend(rest);
        (status.code(), self.stderr.join("\n"), waited)
    }
}

/// A test that fails part-way leaves no run behind to write into later tests' folders.
impl Drop for Run {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn sigterm_saves_a_checkpoint_says_so_and_exits_143() {
    let out = scratch("process_sigterm");
    let flags = ["--eval-every=0", "--ngf=8", "--ndf=8", "--max-steps=100000"];
    let mut run = Run::start("mnist_dcgan", &out, &flags);
    run.wait_for("parameters");
    std::thread::sleep(Duration::from_millis(1500));
    run.signal("TERM");
    let (code, stderr, _) = run.finish();
    assert_eq!(code, Some(143), "{stderr}");
    assert!(
        stderr.contains("interrupted by SIGTERM") && stderr.contains("checkpoint saved at step"),
        "{stderr}"
    );
    // A quiet start: nothing from the Vulkan loader's display probing.
    assert!(!stderr.contains("XDG_RUNTIME_DIR"), "{stderr}");
    let saved = duel::io::checkpoint::metadata(&out.join("checkpoint.safetensors")).unwrap();
    assert!(saved["step"].parse::<usize>().unwrap() >= 1, "{saved:?}");
}

/// The entries of `dir`, or None where there is no such directory.
fn listing(dir: &Path) -> Option<Vec<String>> {
    let entries = std::fs::read_dir(dir).ok()?;
    Some(
        entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
    )
}

/// Ctrl-C while the data loads stops before the first step: --out, which did not
/// exist, still does not, and a fresh start into it is then not refused.
#[test]
fn ctrl_c_during_data_loading_leaves_out_as_it_was() {
    let out = scratch("process_loading").join("out");
    let mut run = Run::start("mnist_dcgan", &out, &["--eval-every=0", "--max-steps=10"]);
    run.wait_for("adapter:");
    run.signal("INT");
    let (code, stderr, _) = run.finish();
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("before the first step"), "{stderr}");
    assert_eq!(listing(&out), None, "{stderr}");
}

#[test]
fn ctrl_c_during_the_metric_floor_stops_promptly_with_130() {
    let out = scratch("process_floor");
    let mut run = Run::start("mnist_dcgan", &out, &["--max-steps=10"]);
    run.wait_for("MNIST from");
    std::thread::sleep(Duration::from_millis(500));
    run.signal("INT");
    let (code, stderr, waited) = run.finish();
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("interrupted by SIGINT"), "{stderr}");
    assert!(waited < PROMPT, "took {waited:?} to stop");
    assert!(
        !stderr.contains("metric floor"),
        "the floor finished first: {stderr}"
    );
    assert_eq!(listing(&out), Some(vec![]), "{stderr}");
}

/// One --out, one run: two started together, a second beside a live run (with
/// --overwrite too) are refused naming the holder's PID, and the live run's checkpoint
/// survives; a killed run's lock is stale and takes no cleaning.
#[test]
fn a_run_locks_its_out_and_a_killed_runs_lock_is_stale() {
    let out = scratch("process_lock");
    let small = ["--eval-every=0", "--ngf=8", "--ndf=8"];
    let with = |extra: &[&'static str]| [&small[..], extra].concat();
    let together = [
        Run::start("mnist_dcgan", &out, &with(&["--max-steps=3"])),
        Run::start("mnist_dcgan", &out, &with(&["--max-steps=3"])),
    ];
    let ids = together.each_ref().map(|r| r.child.id());
    let ends = together.map(Run::finish);
    let codes = ends.each_ref().map(|e| e.0);
    assert!(
        codes == [Some(0), Some(1)] || codes == [Some(1), Some(0)],
        "{ends:#?}"
    );
    let (winner, loser) = if codes[0] == Some(0) { (0, 1) } else { (1, 0) };
    assert!(
        ends[loser]
            .1
            .contains(&format!("in use by another run (process {},", ids[winner])),
        "{}",
        ends[loser].1
    );
    assert_eq!(
        listing(&out)
            .unwrap()
            .iter()
            .filter(|n| n.starts_with('.'))
            .count(),
        0
    );

    let mut live = Run::start(
        "mnist_dcgan",
        &out,
        &with(&["--max-steps=100000", "--sample-every=1", "--overwrite"]),
    );
    live.wait_for("parameters");
    let checkpoint = out.join("checkpoint.safetensors");
    let deadline = Instant::now() + PATIENCE;
    while duel::io::checkpoint::metadata(&checkpoint).map_or(true, |m| m["step"] == "3")
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    for extra in [&["--max-steps=2"][..], &["--max-steps=2", "--overwrite"]] {
        let (code, stderr, _) = Run::start("mnist_dcgan", &out, &with(extra)).finish();
        assert_eq!(code, Some(1), "{extra:?}: {stderr}");
        let holder = format!("(process {}", live.child.id());
        assert!(stderr.contains(&holder), "{extra:?}: {stderr}");
    }
    live.signal("KILL");
    let (code, _, _) = live.finish();
    assert_eq!(code, None, "killed");
    assert!(
        out.join(duel::io::LOCK_FILE).exists(),
        "a killed run can't clean up"
    );
    duel::io::checkpoint::metadata(&checkpoint).unwrap();

    let (code, stderr, _) = Run::start(
        "mnist_dcgan",
        &out,
        &with(&["--max-steps=1", "--overwrite"]),
    )
    .finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!out.join(duel::io::LOCK_FILE).exists());
}

#[test]
fn ctrl_c_during_the_sample_export_stops_promptly() {
    let out = scratch("process_export");
    let flags = [
        "--eval-every=0",
        "--max-steps=2",
        "--export-samples=1000000",
    ];
    let mut run = Run::start("mnist_dcgan", &out, &flags);
    run.wait_for("parameters");
    let checkpoint = out.join("checkpoint.safetensors");
    let deadline = Instant::now() + PATIENCE;
    while !checkpoint.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(1000));
    run.signal("INT");
    let (code, stderr, waited) = run.finish();
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("exporting samples"), "{stderr}");
    assert!(waited < PROMPT, "took {waited:?} to stop");
    assert!(!out.join("samples-idx3-ubyte").exists());
}

/// The first Ctrl-C asks for a checkpoint at the end of the step; a second, sent
/// while that step still runs, ends the process at once, without one. Steps of 512
/// images take seconds on a CPU device, and the second signal goes once the run has
/// said it saw the first (two at once would merge into one).
#[test]
fn a_second_ctrl_c_quits_at_once() {
    let out = scratch("process_twice");
    let flags = ["--eval-every=0", "--max-steps=100000", "--batch-size=512"];
    let mut run = Run::start("mnist_dcgan", &out, &flags);
    run.wait_for("parameters");
    std::thread::sleep(Duration::from_millis(500));
    run.signal("INT");
    run.wait_for("send it again to quit at once");
    run.signal("INT");
    let (code, stderr, _) = run.finish();
    assert_eq!(code, Some(130), "{stderr}");
    assert!(!stderr.contains("checkpoint saved"), "{stderr}");
}

/// A flag that takes a whole number says so and names itself, with the value after
/// `=` or after a space; mnist_eval without images to score names both ways to give
/// them, and its help names the download it may start.
#[test]
fn bad_whole_numbers_and_a_bare_mnist_eval_are_told_what_to_pass() {
    let out = scratch("process_whole");
    for flags in [
        &["--n-critic=-1"][..],
        &["--seed=-1"],
        &["--n-critic", "-1"],
        &["--export-samples", "-1"],
        &["--ngf=1.5"],
    ] {
        let (code, stderr, _) = Run::start("mnist_dcgan", &out, flags).finish();
        let flag = flags[0].split('=').next().unwrap();
        assert_eq!(code, Some(2), "{flags:?}: {stderr}");
        assert!(
            stderr.contains(&format!("{flag} takes a whole number ≥ 0")),
            "{flags:?}: {stderr}"
        );
    }
    let bare = Command::new(example("mnist_eval")).output().unwrap();
    let stderr = String::from_utf8_lossy(&bare.stderr);
    assert_eq!(bare.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--samples") && stderr.contains("--checkpoint"),
        "{stderr}"
    );
    // A download it may start is in its help.
    let help = Command::new(example("mnist_eval"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("CIFAR-10, 170 MB"), "{help}");
}

#[test]
fn refused_runs_exit_1_and_say_why_before_any_long_work() {
    let out = scratch("process_refused");
    let (code, stderr, _) = Run::start("mnist_dcgan", &out, &["--lr=0"]).finish();
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("usage error") && stderr.contains("--lr"),
        "{stderr}"
    );

    let bogus = Command::new(example("mnist_dcgan"))
        .arg(format!("--out={}", out.display()))
        .env("WGPU_BACKEND", "bogus")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&bogus.stderr);
    assert_eq!(bogus.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("\"bogus\" is not a backend") && stderr.contains("vulkan, metal or dx12"),
        "{stderr}"
    );

    // mnist_eval refuses a count it can't score before the floor, not after.
    let checkpoint = out.join("none.safetensors");
    let eval = Command::new(example("mnist_eval"))
        .args(["--count=1", "--checkpoint"])
        .arg(&checkpoint)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&eval.stderr);
    assert_eq!(eval.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--count 1"), "{stderr}");
    assert!(!String::from_utf8_lossy(&eval.stdout).contains("floor"));
}
