//! One error type for the whole engine: every fallible call returns `duel::Result`.
//! Each message says what went wrong and, where there is one, what to do about it.

use std::fmt;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// No usable GPU adapter: the message says how to get one.
    NoAdapter(String),
    /// The adapter exists but the device could not be created or was lost.
    Device(String),
    /// Shapes or parameters that an op cannot accept; checked before any dispatch.
    Shape(String),
    /// A buffer larger than the adapter allows.
    TooLarge(String),
    /// A data set or checkpoint file that is missing, corrupt or of another model.
    Data(String),
    /// Training went wrong numerically (a NaN or infinite loss).
    Numeric(String),
    /// A call the engine cannot honour as made, such as two optimizers over one
    /// parameter, or a command-line setting that makes no sense.
    Usage(String),
    /// An output (checkpoint, image, chart, samples) that could not be written.
    Output(String),
    /// SIGINT or SIGTERM stopped the work (see `interrupt`); the message says what
    /// was kept.
    Interrupted { signal: i32, message: String },
}

impl Error {
    /// The exit status a program reports this error with: 128 + the signal's number
    /// when interrupted, as shells report it, else 1.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Interrupted { signal, .. } => 128 + signal,
            _ => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoAdapter(m) => write!(f, "no GPU adapter: {m}"),
            Error::Device(m) => write!(f, "GPU device error: {m}"),
            Error::Shape(m) => write!(f, "shape error: {m}"),
            Error::TooLarge(m) => write!(f, "buffer too large: {m}"),
            Error::Data(m) => write!(f, "data error: {m}"),
            Error::Numeric(m) => write!(f, "numeric error: {m}"),
            Error::Usage(m) => write!(f, "usage error: {m}"),
            Error::Output(m) => write!(f, "output error: {m}"),
            Error::Interrupted { signal, message } => {
                write!(
                    f,
                    "interrupted by {}: {message}",
                    crate::interrupt::name(*signal)
                )
            }
        }
    }
}

impl std::error::Error for Error {}

/// Builds an `Error::Shape` from a format string, for the launchers' checks.
macro_rules! shape_err {
    ($($arg:tt)*) => { $crate::Error::Shape(format!($($arg)*)) };
}
pub(crate) use shape_err;
