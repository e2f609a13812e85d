//! Durable file writes, one copy for every store: a temporary name next to the target, fsync,
//! rename over the target, fsync of the directory. A crash leaves the old file or the new one,
//! and possibly a temporary file that the next replace of the same target removes once the
//! process that wrote it is gone.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Makes the directory entries of `dir` (creations, renames, unlinks) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Creates `path` (which must not exist), writes `bytes`, and fsyncs the file.
pub(crate) fn write_new_durable(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = File::options()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(path, e))
}

/// Replaces `path` atomically with what `write` puts into a new file: `write` gets a temporary
/// path next to `path` (`.<name>.<pid>.<n>.tmp`) and must create that file and fsync it; then
/// the file is renamed over `path` and the directory fsynced. On error the temporary file is
/// removed and `path` is untouched. Afterwards, temporary files that writers of the same target
/// killed in dead processes left behind are removed.
pub(crate) fn replace<R>(path: &Path, write: impl FnOnce(&Path) -> Result<R>) -> Result<R> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Err(Error::io(
            path,
            io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"),
        ));
    };
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let temp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = write(&temp).and_then(|r| {
        std::fs::rename(&temp, path)
            .map(|()| r)
            .map_err(|e| Error::io(path, e))
    });
    let result = match written {
        Ok(result) => result,
        Err(e) => {
            // Best effort: the error that matters is the one above.
            let _ = std::fs::remove_file(&temp);
            return Err(e);
        }
    };
    sync_dir(&dir)?;
    sweep_stale_temps(&dir, &name);
    Ok(result)
}

/// Removes the temporary files that killed writers of *dead* processes left next to
/// `file_name` (`.<name>.<pid>.<n>.tmp`). Best effort, and only where liveness can be checked
/// (a mounted `/proc`): a temporary file of a live process (this one included, or another process
/// replacing the same file right now) is never touched.
fn sweep_stale_temps(dir: &Path, file_name: &str) {
    let proc_root = Path::new("/proc");
    if !proc_root.join("self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{file_name}.");
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|n| n.strip_suffix(".tmp"))
        else {
            continue;
        };
        let Some((pid, counter)) = rest.split_once('.') else {
            continue;
        };
        let (Ok(pid), Ok(_)) = (pid.parse::<u32>(), counter.parse::<u64>()) else {
            continue;
        };
        if pid != std::process::id() && !proc_root.join(pid.to_string()).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
