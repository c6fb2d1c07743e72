//! The examples' command lines: each example's data set and defaults (`examples.rs`,
//! here so that tests run each example as it is), and what parses its flags, runs it
//! and reports errors. Flags are named as PyTorch's dcgan example names them.

mod classifier;
mod examples;
mod gan;

pub use classifier::{ClassifierExample, classifier_main};
pub use examples::{CIFAR10_CLASSIFIER, CIFAR10_DCGAN, MLP_GAN, MNIST_CLASSIFIER, MNIST_DCGAN};
pub use gan::{GanArgs, GanExample, Optimizer, gan_main, run_gan};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A flag that Ctrl-C raises: the training loop saves a checkpoint at the end of the
/// step and stops.
fn interrupt_flag() -> Arc<AtomicBool> {
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = interrupted.clone();
    if let Err(e) = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst)) {
        eprintln!("warning: Ctrl-C will not save a checkpoint: {e}");
    }
    interrupted
}

/// Ends the process with the error's message and status 1.
fn exit_on_error(result: crate::Result<()>) {
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// Parses `T`'s flags after `adjust` changes its command (its defaults, its about);
/// the matches tell which flags were given.
fn parse<T: clap::Parser, I, S>(
    args: I,
    adjust: impl FnOnce(clap::Command) -> clap::Command,
) -> (T, clap::ArgMatches)
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    let matches = adjust(<T as clap::CommandFactory>::command()).get_matches_from(args);
    let args = <T as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    (args, matches)
}

/// Gives the flag `id` the default `value`, chosen by the example at run time.
fn with_default(command: clap::Command, id: &str, value: impl ToString) -> clap::Command {
    let value = value.to_string();
    command.mut_arg(id, |arg| arg.required(false).default_value(value))
}
