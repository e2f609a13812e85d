//! File-system helpers of the Parquet store: durable writes, positional reads with byte
//! accounting, the cheap `PAR1` guard, file naming and the sweep of leftovers.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use parquet::file::reader::{ChunkReader, Length};

use crate::error::{Error, Result};

use super::manifest::{DATA_FILE, MANIFEST};

const MAGIC: &[u8; 4] = b"PAR1";
/// The commit lock: an advisory `flock` on this (empty) file serializes commits of every process
/// and store instance. The leading `_` hides it from dataset readers.
pub(crate) const LOCK_FILE: &str = "_soa_lock";
const STAGED_PREFIX: &str = ".soa-";
const STAGED_SUFFIX: &str = ".tmp";

/// `true` for the names of our staging files (see [`staged_name`]).
pub(crate) fn is_staged_name(name: &str) -> bool {
    name.starts_with(STAGED_PREFIX) && name.ends_with(STAGED_SUFFIX)
}

/// `true` for the names this store gives data files (`data.parquet`, `part-NNNNNN.parquet`).
pub(crate) fn is_data_name(name: &str) -> bool {
    name == DATA_FILE
        || name
            .strip_prefix("part-")
            .and_then(|n| n.strip_suffix(".parquet"))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The name of an appended file.
pub(crate) fn part_name(n: u64) -> String {
    format!("part-{n:06}.parquet")
}

/// A staging name for `target` in the commit with sequence number `seq`:
/// `.soa-<seq>-<pid>-<n>-<target>.tmp`. The sequence number keeps a crashed writer's leftovers
/// from ever matching a name that a committed manifest lists as pending; process id and a
/// process-wide counter keep concurrent store instances apart.
pub(crate) fn staged_name(seq: u64, target: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    format!("{STAGED_PREFIX}{seq}-{pid}-{n}-{target}{STAGED_SUFFIX}")
}

/// Takes the commit lock of `dir`, waiting while another process or store instance holds it.
/// The lock lives as long as the returned handle (and never outlives the process: the kernel
/// releases it when the process dies, `kill -9` included).
pub(crate) fn lock_commits(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let file = open_lock_file(&path).map_err(|e| Error::io(&path, e))?;
    file.lock().map_err(|e| Error::io(&path, e))?;
    Ok(file)
}

/// Takes the commit lock if nobody holds it (`None` if somebody does, or if the lock file cannot
/// be opened, for example in a read-only directory without one).
pub(crate) fn try_lock_commits(dir: &Path) -> Option<File> {
    let file = open_lock_file(&dir.join(LOCK_FILE)).ok()?;
    file.try_lock().ok()?;
    Some(file)
}

fn open_lock_file(path: &Path) -> io::Result<File> {
    match File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
    {
        Ok(file) => Ok(file),
        // A read-only directory that already has the lock file: a shared handle locks too.
        Err(e) if e.kind() != io::ErrorKind::NotFound => File::open(path).map_err(|_| e),
        Err(e) => Err(e),
    }
}

/// What identifies one version of the manifest file: a commit renames a new file over it, so
/// inode, size and change time differ after every commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    ino: u64,
    len: u64,
    changed: i128,
}

/// The [`Stamp`] of `path`, `None` if it does not exist.
pub(crate) fn stamp(path: &Path) -> Result<Option<Stamp>> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    #[cfg(unix)]
    let (ino, changed) = {
        use std::os::unix::fs::MetadataExt;
        (
            meta.ino(),
            i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
        )
    };
    #[cfg(not(unix))]
    let (ino, changed) = (
        0,
        meta.modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i128),
    );
    Ok(Some(Stamp {
        ino,
        len: meta.len(),
        changed,
    }))
}

pub(crate) use crate::store::durable::{sync_dir, write_new_durable};

/// Bytes per checksummed block of a file's data pages (see [`CrcWriter::seal`]).
pub(crate) const BLOCK: u64 = 16 * 1024;

/// A file sink that computes the CRC32 and size of everything written through it, and a CRC32
/// per [`BLOCK`] bytes until [`seal`](Self::seal)ed, then one CRC32 of the rest (the tail: page
/// index and footer).
#[derive(Debug)]
pub(crate) struct CrcWriter {
    file: File,
    hasher: crc32fast::Hasher,
    bytes: u64,
    block: crc32fast::Hasher,
    blocks: Vec<u32>,
    sealed_at: Option<u64>,
}

/// What a sealed [`CrcWriter`] knows besides size and CRC32: where the data blocks end and
/// the CRC32 of the bytes after them.
pub(crate) type Tail = (u64, u32);

impl CrcWriter {
    /// Creates `path`, failing if it exists.
    pub(crate) fn create_new(path: &Path) -> Result<Self> {
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        Ok(CrcWriter {
            file,
            hasher: crc32fast::Hasher::new(),
            bytes: 0,
            block: crc32fast::Hasher::new(),
            blocks: Vec::new(),
            sealed_at: None,
        })
    }

    /// Ends the data blocks at the bytes written so far: their CRC32s, as the hex text of the
    /// file's `soa.block_crc32` key (`<block size> <crc><crc>...`). What is written next
    /// (the tail) gets one CRC32.
    pub(crate) fn seal(&mut self) -> String {
        if !self.bytes.is_multiple_of(BLOCK) {
            let block = std::mem::replace(&mut self.block, crc32fast::Hasher::new());
            self.blocks.push(block.finalize());
        }
        self.sealed_at = Some(self.bytes);
        let mut text = String::with_capacity(8 + self.blocks.len() * 8);
        text.push_str(&BLOCK.to_string());
        text.push(' ');
        for crc in &self.blocks {
            text.push_str(&format!("{crc:08x}"));
        }
        text
    }

    /// Flushes and fsyncs the file, returning `(size, crc32, tail)`; `tail` if sealed.
    pub(crate) fn finish(mut self, path: &Path) -> Result<(u64, u32, Option<Tail>)> {
        self.file
            .flush()
            .and_then(|()| self.file.sync_all())
            .map_err(|e| Error::io(path, e))?;
        let tail = self.sealed_at.map(|at| (at, self.block.clone().finalize()));
        Ok((self.bytes, self.hasher.finalize(), tail))
    }
}

impl Write for CrcWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        let mut written = buf.get(..n).unwrap_or(buf);
        self.hasher.update(written);
        if self.sealed_at.is_some() {
            self.block.update(written);
            self.bytes += written.len() as u64;
            return Ok(n);
        }
        while !written.is_empty() {
            let room = usize::try_from(BLOCK - self.bytes % BLOCK).unwrap_or(usize::MAX);
            let (now, rest) = written.split_at(room.min(written.len()));
            self.block.update(now);
            self.bytes += now.len() as u64;
            if self.bytes.is_multiple_of(BLOCK) {
                let block = std::mem::replace(&mut self.block, crc32fast::Hasher::new());
                self.blocks.push(block.finalize());
            }
            written = rest;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        std::os::windows::fs::FileExt::seek_read(file, buf, offset)
    }
}

fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match read_at(file, buf, offset) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = buf.get_mut(n..).unwrap_or_default();
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// An open, immutable data file read with positional reads, counting every byte read.
///
/// Clones share the file handle and the counter. Positional reads keep concurrent readers of
/// one handle independent (no shared cursor).
#[derive(Debug, Clone)]
pub(crate) struct CountingFile {
    file: Arc<File>,
    len: u64,
    read: Arc<AtomicU64>,
}

impl CountingFile {
    pub(crate) fn new(file: Arc<File>, len: u64, read: Arc<AtomicU64>) -> Self {
        CountingFile { file, len, read }
    }

    /// The same file with another byte counter.
    pub(crate) fn with_counter(&self, read: Arc<AtomicU64>) -> Self {
        CountingFile {
            file: Arc::clone(&self.file),
            len: self.len,
            read,
        }
    }

    /// Reads the whole file into memory.
    pub(crate) fn read_all(&self, path: &Path) -> Result<Bytes> {
        let len = usize::try_from(self.len).map_err(|_| Error::Corrupt {
            path: path.to_owned(),
            reason: format!("file of {} bytes does not fit in memory", self.len),
        })?;
        let mut buf = vec![0u8; len];
        read_exact_at(&self.file, &mut buf, 0).map_err(|e| Error::io(path, e))?;
        self.read.fetch_add(self.len, Ordering::Relaxed);
        Ok(Bytes::from(buf))
    }

    /// CRC32 of the whole file, streamed in 1 MiB blocks.
    pub(crate) fn crc32(&self, path: &Path) -> Result<u32> {
        let mut hasher = crc32fast::Hasher::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut offset = 0u64;
        while offset < self.len {
            let n = usize::try_from(self.len - offset).map_or(buf.len(), |r| r.min(buf.len()));
            let chunk = buf.get_mut(..n).unwrap_or_default();
            read_exact_at(&self.file, chunk, offset).map_err(|e| Error::io(path, e))?;
            hasher.update(chunk);
            offset += n as u64;
        }
        self.read.fetch_add(self.len, Ordering::Relaxed);
        Ok(hasher.finalize())
    }
}

impl Length for CountingFile {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for CountingFile {
    type T = BufReader<PositionedReader>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(BufReader::new(PositionedReader {
            file: self.clone(),
            pos: start,
        }))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        if start
            .checked_add(length as u64)
            .is_none_or(|end| end > self.len)
        {
            return Err(parquet::errors::ParquetError::EOF(format!(
                "range {start}+{length} is past the end of a {}-byte file",
                self.len
            )));
        }
        let mut buf = vec![0u8; length];
        read_exact_at(&self.file, &mut buf, start)?;
        self.read.fetch_add(length as u64, Ordering::Relaxed);
        Ok(Bytes::from(buf))
    }
}

/// A `Read` at a position of a [`CountingFile`].
#[derive(Debug)]
pub(crate) struct PositionedReader {
    file: CountingFile,
    pos: u64,
}

impl Read for PositionedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let remaining = self.file.len.saturating_sub(self.pos);
        let n = usize::try_from(remaining).map_or(buf.len(), |r| r.min(buf.len()));
        let Some(buf) = buf.get_mut(..n) else {
            return Ok(0);
        };
        let n = read_at(&self.file.file, buf, self.pos)?;
        self.pos += n as u64;
        self.file.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The cheap guard run before handing bytes to the Parquet decoder: leading and trailing `PAR1`
/// magic and a footer length that fits in the file.
pub(crate) fn check_magic<R: ChunkReader>(reader: &R, path: &Path) -> Result<()> {
    let corrupt = |reason: String| Error::Corrupt {
        path: path.to_owned(),
        reason,
    };
    let len = reader.len();
    if len < 12 {
        return Err(corrupt(format!(
            "file is {len} bytes, shorter than an empty Parquet file (truncated?)"
        )));
    }
    let head = reader
        .get_bytes(0, 4)
        .map_err(|e| corrupt(format!("cannot read the header: {e}")))?;
    if head.as_ref() != MAGIC {
        return Err(corrupt("missing leading PAR1 magic".into()));
    }
    let tail = reader
        .get_bytes(len - 8, 8)
        .map_err(|e| corrupt(format!("cannot read the footer: {e}")))?;
    let Some((footer_len, magic)) = tail.split_at_checked(4) else {
        return Err(corrupt("short read of the footer".into()));
    };
    if magic != MAGIC {
        return Err(corrupt("missing trailing PAR1 magic (truncated?)".into()));
    }
    let mut le = [0u8; 4];
    le.copy_from_slice(footer_len);
    let footer_len = u64::from(u32::from_le_bytes(le));
    if footer_len + 12 > len {
        return Err(corrupt(format!(
            "footer length {footer_len} does not fit in a {len}-byte file (truncated?)"
        )));
    }
    Ok(())
}

/// Removes staging leftovers and data files that the manifest does not list. Returns `true` if
/// anything was removed. Other files (the user's) are left alone.
pub(crate) fn sweep(dir: &Path, listed: &[&str]) -> Result<bool> {
    sweep_under(dir, "", listed)
}

/// [`sweep`] of `dir/prefix`, descending into partition directories (`key=value`): staging
/// leftovers and unlisted data files are removed, then partition directories left empty.
fn sweep_under(dir: &Path, prefix: &str, listed: &[&str]) -> Result<bool> {
    let here = dir.join(prefix);
    let mut removed = false;
    for entry in std::fs::read_dir(&here).map_err(|e| Error::io(&here, e))? {
        let entry = entry.map_err(|e| Error::io(&here, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let relative = format!("{prefix}{name}");
        let path = entry.path();
        if name.contains('=') && !name.starts_with(['.', '_']) {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                removed |= sweep_under(dir, &format!("{relative}/"), listed)?;
                // Only succeeds when empty: a partition whose files are all gone.
                if std::fs::remove_dir(&path).is_ok() {
                    removed = true;
                }
            }
            continue;
        }
        let stale =
            is_staged_name(name) || (is_data_name(name) && !listed.contains(&relative.as_str()));
        if stale {
            match std::fs::remove_file(&path) {
                Ok(()) => removed = true,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(path, e)),
            }
        }
    }
    if removed && !prefix.is_empty() {
        let _ = sync_dir(&here);
    }
    Ok(removed)
}

/// Data files present in `dir` (used to refuse adopting a directory without a manifest).
pub(crate) fn data_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if entry.file_name().to_str().is_some_and(is_data_name) {
            out.push(entry.path());
        }
    }
    Ok(out)
}

/// Path of the manifest in `dir`.
pub(crate) fn manifest_path(dir: &Path) -> PathBuf {
    dir.join(MANIFEST)
}
