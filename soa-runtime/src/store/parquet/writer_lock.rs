//! The writer lock: one writing process per store directory.
//!
//! A store instance takes the lock on `_soa_writer` (an exclusive `flock`) before its first
//! commit (or at open, with [`lock_on_open`](super::ParquetStoreBuilder::lock_on_open)) and keeps
//! it while any instance of its process that took it is alive. Store instances of one process
//! share the lock (a process-wide registry hands out the same handle), so a program may open a
//! store twice; another process gets [`Error::Locked`] (or waits, with
//! [`wait_for_writer`](super::ParquetStoreBuilder::wait_for_writer)). The kernel releases the lock
//! when the holder dies, `kill -9` included. Readers never take it.
//!
//! The holder writes its process id into the file, so the error can say who holds the lock.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use crate::error::{Error, Result};

/// File name of the writer lock (the leading `_` hides it from dataset readers).
pub(crate) const WRITER_FILE: &str = "_soa_writer";

/// A held writer lock; released when the last handle of this process is dropped.
#[derive(Debug)]
pub(crate) struct WriterLock {
    file: File,
    dir: PathBuf,
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        // Unlocked before the entry goes, so a new holder in this process never meets our lock.
        let _ = self.file.unlock();
        let mut held = registry();
        if held.get(&self.dir).is_some_and(|w| w.strong_count() == 0) {
            held.remove(&self.dir);
        }
    }
}

/// The writer locks this process holds, by canonical store directory.
fn registry() -> MutexGuard<'static, BTreeMap<PathBuf, Weak<WriterLock>>> {
    static HELD: Mutex<BTreeMap<PathBuf, Weak<WriterLock>>> = Mutex::new(BTreeMap::new());
    HELD.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Takes (or shares, within this process) the writer lock of `dir`. With `wait`, waits until the
/// holding process releases it (polling every 50 ms); otherwise a lock held by another process is
/// [`Error::Locked`].
pub(crate) fn acquire(dir: &Path, wait: bool) -> Result<Arc<WriterLock>> {
    let key = std::fs::canonicalize(dir).map_err(|e| Error::io(dir, e))?;
    let path = key.join(WRITER_FILE);
    loop {
        // The registry stays locked from the look-up to the insertion, so two threads of this
        // process never lock the file twice (a second `flock` would fail against the first).
        let mut held = registry();
        if let Some(lock) = held.get(&key).and_then(Weak::upgrade) {
            return Ok(lock);
        }
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {
                // Who holds it, for the error other processes get (best effort: the lock is
                // what counts).
                let _ = file
                    .set_len(0)
                    .and_then(|()| file.rewind())
                    .and_then(|()| write!(file, "{}", std::process::id()))
                    .and_then(|()| file.flush());
                let lock = Arc::new(WriterLock {
                    file,
                    dir: key.clone(),
                });
                held.insert(key, Arc::downgrade(&lock));
                return Ok(lock);
            }
            Err(std::fs::TryLockError::WouldBlock) if wait => {
                drop(held);
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::Locked {
                    holder: holder_of(&mut file),
                    path,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
    }
}

fn holder_of(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}
