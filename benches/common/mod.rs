//! What the benches that train share.

use duel::Result;
use duel::data::mnist;
use std::path::PathBuf;

/// Where MNIST is: `$DUEL_DATA` (or the user cache) when set, as on a machine that
/// was handed a copy, else the checkout's shared data, else the user cache.
pub fn mnist_dir() -> Result<PathBuf> {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/mnist");
    if std::env::var_os("DUEL_DATA").is_none() && shared.is_dir() {
        return mnist::find(Some(&shared));
    }
    mnist::find(None)
}
