//! The examples' command lines: each example's data set and defaults (`examples.rs`,
//! here so that tests run each example as it is), and what parses its flags, runs it
//! and reports errors. Flags are named as PyTorch's dcgan example names them.

mod classifier;
mod eval;
mod examples;
mod gan;

pub use crate::gan::{CIFAR10_DCGAN, FOLDER_DCGAN, GanExample, MLP_GAN, MNIST_DCGAN};
pub use classifier::{ClassifierExample, classifier_main};
pub use eval::{EvalArgs, eval_main, run_eval};
pub use examples::{CIFAR10_CLASSIFIER, MNIST_CLASSIFIER};
pub use gan::{GanArgs, Optimizer, gan_main, run_gan};

/// What every example does first, while it is still its only thread: quiets the
/// Vulkan loader, then routes SIGINT and SIGTERM to `duel::interrupt`, whose flag each
/// long loop polls.
pub fn init() {
    // Mesa's device-select layer picks a default GPU for a display: it connects to
    // Wayland and X11 on every instance, and prints "XDG_RUNTIME_DIR is invalid" twice
    // where there is no display. duel picks its own adapter (WGPU_ADAPTER_NAME), so
    // the layer has nothing to do here; a user's own setting stays.
    if std::env::var_os("NODEVICE_SELECT").is_none() {
        // SAFETY: no other thread exists yet to read the environment meanwhile.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
    if let Err(e) = crate::interrupt::install() {
        eprintln!("warning: {e}");
    }
}

/// Ends the process on an error: its message on stderr, and status 128 + the signal
/// for an interrupted run (130 for Ctrl-C, 143 for SIGTERM), 1 for anything else.
pub fn exit_on_error(result: crate::Result<()>) {
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(e.exit_code());
    }
}

/// Parses `T`'s flags after `adjust` changes its command (its defaults, its about);
/// the matches tell which flags were given. A negative number is a value (`--r1 -1`
/// reaches the range check that names the flag), and a flag that wants a whole
/// number says so.
fn parse<T: clap::Parser, I, S>(
    args: I,
    adjust: impl FnOnce(clap::Command) -> clap::Command,
) -> (T, clap::ArgMatches)
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    let mut command = adjust(<T as clap::CommandFactory>::command()).allow_negative_numbers(true);
    let matches = command
        .try_get_matches_from_mut(args)
        .unwrap_or_else(|e| whole_number_words(e, &mut command).exit());
    let args = <T as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    (args, matches)
}

/// Clap's error for a bad whole number is Rust's ("invalid digit found in string"):
/// this one names the flag and what it takes.
fn whole_number_words(e: clap::Error, command: &mut clap::Command) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let parse_int =
        std::error::Error::source(&e).is_some_and(|s| s.is::<std::num::ParseIntError>());
    match (
        e.get(ContextKind::InvalidArg),
        e.get(ContextKind::InvalidValue),
    ) {
        (Some(ContextValue::String(arg)), Some(ContextValue::String(value))) if parse_int => {
            let flag = arg.split_whitespace().next().unwrap_or(arg);
            clap::Error::raw(
                ErrorKind::ValueValidation,
                format!("{flag} takes a whole number ≥ 0, not {value:?}\n"),
            )
            .format(command)
        }
        _ => e,
    }
}

/// Gives the flag `id` the default `value`, chosen by the example at run time.
fn with_default(command: clap::Command, id: &str, value: impl ToString) -> clap::Command {
    let value = value.to_string();
    command.mut_arg(id, |arg| arg.required(false).default_value(value))
}
