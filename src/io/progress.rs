//! The progress bar of long runs (training, scoring): elapsed time, a bar, the step
//! count, the ETA, and a message the caller keeps current.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `len` of `what` ("steps", "images decoded").
pub fn progress_bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}} {what}, ETA {{eta}} {{msg}}"
        ))
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar
}
