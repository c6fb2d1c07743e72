//! The progress bar of long runs (training, scoring): elapsed time, a bar, the step
//! count, the ETA, and a message the caller keeps current.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `len` steps.
pub fn progress_bar(len: u64) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} steps, ETA {eta} {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar
}
