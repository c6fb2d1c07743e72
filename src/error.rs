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
    /// A call the engine cannot honour as made, such as two optimizers over one parameter.
    Usage(String),
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
        }
    }
}

impl std::error::Error for Error {}

/// Builds an `Error::Shape` from a format string, for the launchers' checks.
macro_rules! shape_err {
    ($($arg:tt)*) => { $crate::Error::Shape(format!($($arg)*)) };
}
pub(crate) use shape_err;
