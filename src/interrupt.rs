//! SIGINT (Ctrl-C) and SIGTERM (docker, Slurm, `timeout`): the first asks the run to
//! stop, the second ends the process at once.
//!
//! A signal belongs to the whole process, so the request is one process-wide flag,
//! not a value threaded through every call: each loop that can run for more than a
//! second or two (training steps, scoring, the metric's floor, exporting samples,
//! downloads) polls `check()` between its pieces and returns `Error::Interrupted`.
//! The training loop turns that into a saved checkpoint; the examples exit with
//! 128 + the signal's number, as a shell reports a process killed by it.

//!
//! In the browser no signal arrives, so `check` always passes there; the page pauses
//! between steps instead.

use crate::{Error, Result};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

/// POSIX's numbers, the same on every Unix (and what `signal_hook` names them).
const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// The number of the first signal received, or 0.
static SIGNAL: LazyLock<Arc<AtomicUsize>> = LazyLock::new(Arc::default);
/// Raised with the first signal: a second one then exits the process.
#[cfg(feature = "native")]
static RAISED: LazyLock<Arc<std::sync::atomic::AtomicBool>> = LazyLock::new(Arc::default);

/// Routes SIGINT and SIGTERM here, and says on stderr, within a tenth of a second of
/// the first, that the run is stopping and how to quit at once. Until this is called
/// they end the process as usual, which is right for programs with nothing to save.
#[cfg(feature = "native")]
pub fn install() -> Result<()> {
    for signal in [SIGINT, SIGTERM] {
        // Registered first, so it sees the flag as the previous signal left it.
        let exit_code = 128 + signal;
        signal_hook::flag::register_conditional_shutdown(signal, exit_code, RAISED.clone())
            .and_then(|_| signal_hook::flag::register_usize(signal, SIGNAL.clone(), signal as usize))
            .and_then(|_| signal_hook::flag::register(signal, RAISED.clone()))
            .map_err(|e| {
                Error::Device(format!(
                    "cannot handle {}: {e}; interrupting will lose the work since the last checkpoint",
                    name(signal)
                ))
            })?;
    }
    // A handler may not print; a watcher can.
    std::thread::spawn(|| {
        let signal = loop {
            match requested() {
                Some(signal) => break signal,
                None => std::thread::sleep(std::time::Duration::from_millis(100)),
            }
        };
        eprintln!(
            "\n{}: stopping at the end of this step or phase; send it again to quit at once",
            name(signal)
        );
    });
    Ok(())
}

/// The signal that asked the run to stop, if one has.
pub fn requested() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal as i32),
    }
}

/// `Err(Error::Interrupted)` once a stop has been asked for, saying what was cut short.
pub fn check(during: &str) -> Result<()> {
    match requested() {
        None => Ok(()),
        Some(signal) => Err(Error::Interrupted {
            signal,
            message: format!("stopped while {during}"),
        }),
    }
}

/// The usual name of a signal that `install` handles.
pub fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT (Ctrl-C)",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}
