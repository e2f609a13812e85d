//! The decoder-panic guard, one copy for every store: the upstream Parquet and Arrow IPC readers
//! panic on some damaged inputs; every decode of external bytes runs under
//! [`std::panic::catch_unwind`] and a panic becomes [`Error::Corrupt`] naming the file. (With
//! `panic = "abort"` the process aborts instead: this guard needs unwinding.)

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use crate::error::{Error, Result};

/// Runs `decode`; a panic inside it becomes [`Error::Corrupt`] for `path`, saying which
/// `decoder` panicked and why.
pub(crate) fn decoding<R>(
    path: &Path,
    decoder: &str,
    decode: impl FnOnce() -> Result<R>,
) -> Result<R> {
    match catch_unwind(AssertUnwindSafe(decode)) {
        Ok(result) => result,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(Error::Corrupt {
                path: path.to_owned(),
                reason: format!("the {decoder} decoder panicked: {message}"),
            })
        }
    }
}
