//! A write-ahead log of record batches: the durable half of streaming ingestion.
//!
//! A log is a directory of segment files `wal-<first sequence number, 20 digits>.seg`, each an
//! 8-byte header `SOAWAL01` followed by framed records:
//!
//! ```text
//! | body length: u32 LE | sequence number: u64 LE | CRC32C of the 12 bytes before: u32 LE | CRC32C of the body: u32 LE | body |
//! ```
//!
//! The body is one record batch as an Arrow IPC stream (schema and batch: every record decodes on
//! its own). Sequence numbers start at 1 and grow by one per record, across segments; a segment
//! holds records from its first number on. [`Wal::append`] writes a record (to the operating
//! system, not yet durable), [`Wal::sync`] makes every record appended so far durable (one
//! `fsync` for any number of records: group commit is the caller's batching of appends between
//! syncs); a segment grows to [`WalOptions::segment_bytes`], then the next record starts a new
//! one.
//!
//! **Reading back** ([`Wal::open`], [`replay`]): at the end of the last segment, a record whose
//! header is cut short or all zeros, whose body is cut short, or whose body checksum fails as the
//! last bytes of the log (the tail a crash can leave: a write the kernel had not finished) is a
//! *torn tail*. The header has its own checksum, so a damaged length is never mistaken for a
//! torn tail (it would hide every record after it). A torn tail reading stops before it and, when the log is opened for writing,
//! the file is cut at the last whole record. A bad record anywhere else is damage, not a crash:
//! [`Error::Corrupt`] naming the segment and the offset, unless the reader asked for
//! [`Recovery::UpToDamage`], which keeps every record before it (and, on open, cuts the log
//! there, removing later segments). Nothing is ever read past a failed checksum.
//!
//! [`Wal::remove_through`] deletes the segments whose every record is at or below a sequence
//! number (once a snapshot holding them is committed elsewhere).
//!
//! ```
//! # use std::sync::Arc;
//! # use soa_runtime::arrow::array::{Int64Array, RecordBatch};
//! use soa_runtime::store::wal::{Recovery, Wal, WalOptions, replay};
//! # let dir = std::env::temp_dir().join(format!("wal-doc-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! # let batch = RecordBatch::try_from_iter([("n", Arc::new(Int64Array::from(vec![1, 2])) as _)]).unwrap();
//! let (mut wal, recovered) = Wal::open(&dir, WalOptions::default(), Recovery::Strict)?;
//! assert!(recovered.records.is_empty());
//! let seq = wal.append(&batch)?;   // 1
//! wal.sync()?;                     // durable
//! let back = replay(&dir, 0, Recovery::Strict)?;
//! assert_eq!(back.records, vec![(seq, batch)]);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), soa_runtime::Error>(())
//! ```

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;

use crate::error::{Error, Result};
use crate::store::durable::sync_dir;

const MAGIC: &[u8; 8] = b"SOAWAL01";
const FRAME: usize = 20;
/// The largest body a record may declare (a damaged length is not an allocation request).
const MAX_BODY: u32 = 1 << 30;
/// Slice-by-16 tables: ~8x the speed of the one-byte table on replay.
const CASTAGNOLI: crc::Crc<u32, crc::Table<16>> =
    crc::Crc::<u32, crc::Table<16>>::new(&crc::CRC_32_ISCSI);

/// Options of a [`Wal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WalOptions {
    /// A segment is closed once it holds this many bytes (default 64 MiB).
    pub segment_bytes: u64,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_bytes: 64 << 20,
        }
    }
}

impl WalOptions {
    /// Segments of `bytes` bytes.
    #[must_use]
    pub fn segment_bytes(mut self, bytes: u64) -> Self {
        self.segment_bytes = bytes.max(1);
        self
    }
}

/// What a reader does with a bad record that is not the torn tail of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Recovery {
    /// [`Error::Corrupt`] naming the segment and the offset.
    Strict,
    /// Keep every record before it and report where reading stopped ([`Replay::damage`]).
    UpToDamage,
}

/// The records read back from a log.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Replay {
    /// `(sequence number, batch)` of every whole record after the asked number, in order.
    pub records: Vec<(u64, RecordBatch)>,
    /// The last sequence number in the log (0 if it has no record).
    pub last_seq: u64,
    /// Bytes of the segments read.
    pub bytes: u64,
    /// A torn tail left out: the segment and the offset of the partial record.
    pub torn_tail: Option<(PathBuf, u64)>,
    /// With [`Recovery::UpToDamage`]: the segment and offset of the bad record reading stopped at.
    pub damage: Option<(PathBuf, u64, String)>,
}

/// An open log, appending to its last segment.
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    options: WalOptions,
    file: File,
    path: PathBuf,
    len: u64,
    next_seq: u64,
    /// A new segment whose directory entry is not yet durable.
    new_segment: bool,
    /// Why the log refuses appends until reopened (a failed fsync, an uncut partial write).
    broken: Option<String>,
    /// Bytes of every segment (kept as records are written and segments deleted).
    bytes: u64,
    /// Records appended since the last sync.
    dirty: bool,
}

impl Wal {
    /// Opens (creating the directory if needed) the log in `dir`, reads it back after sequence
    /// number 0 and makes it ready to append after its last whole record: a torn tail is cut
    /// off, and with [`Recovery::UpToDamage`] everything from the damage on.
    ///
    /// # Errors
    /// [`Error::Io`]; [`Error::Corrupt`] for damage under [`Recovery::Strict`].
    pub fn open(
        dir: impl AsRef<Path>,
        options: WalOptions,
        recovery: Recovery,
    ) -> Result<(Wal, Replay)> {
        let dir = dir.as_ref().to_owned();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let replay = read(&dir, 0, recovery, true)?;
        let segments = segments(&dir)?;
        // An empty last segment names the number its first record will get.
        let next_seq = (replay.last_seq + 1).max(segments.last().map_or(1, |(first, _)| *first));
        let (file, path, len, new_segment) = match segments.last() {
            Some((_, path)) => {
                let file = OpenOptions::new()
                    .append(true)
                    .open(path)
                    .map_err(|e| Error::io(path, e))?;
                let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
                (file, path.clone(), len, false)
            }
            None => {
                let (file, path) = create_segment(&dir, next_seq)?;
                (file, path, MAGIC.len() as u64, true)
            }
        };
        let wal = Wal {
            dir,
            options,
            file,
            path,
            len,
            next_seq,
            new_segment,
            dirty: new_segment,
            broken: None,
            bytes: 0,
        };
        let mut wal = wal;
        wal.bytes = wal.size()?;
        Ok((wal, replay))
    }

    /// The directory of the log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The number the next record gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Appends one record and returns its sequence number. Written to the operating system
    /// (it survives a crash of this process), durable only after [`sync`](Self::sync).
    ///
    /// # Errors
    /// [`Error::Io`] (the record is then not in the log: a partial write is cut off as a torn
    /// tail by the next open); [`Error::Arrow`] if the batch cannot be encoded.
    pub fn append(&mut self, batch: &RecordBatch) -> Result<u64> {
        let seqs = self.append_all(std::slice::from_ref(batch))?;
        Ok(seqs
            .first()
            .copied()
            .unwrap_or(self.next_seq.saturating_sub(1)))
    }

    /// Appends one record per batch, in order, with as few writes as the segments allow (one
    /// per segment touched), and returns their sequence numbers.
    ///
    /// # Errors
    /// As [`append`](Self::append). On an error, the records of earlier writes of this call
    /// (before a segment change) may be in the log; their numbers are used up.
    pub fn append_all(&mut self, batches: &[RecordBatch]) -> Result<Vec<u64>> {
        self.check()?;
        let mut seqs = Vec::with_capacity(batches.len());
        let mut buffer: Vec<u8> = Vec::new();
        let mut pending = 0u64;
        for batch in batches {
            let body = encode(batch)?;
            let body_len = u32::try_from(body.len())
                .ok()
                .filter(|n| *n <= MAX_BODY)
                .ok_or_else(|| {
                    Error::io(
                        &self.path,
                        io::Error::new(
                            io::ErrorKind::InvalidInput,
                            format!("a WAL record of {} bytes (at most 1 GiB)", body.len()),
                        ),
                    )
                })?;
            let used = self.len + buffer.len() as u64;
            if used > MAGIC.len() as u64
                && used + (FRAME + body.len()) as u64 > self.options.segment_bytes
            {
                self.write_frames(&mut buffer, &mut pending)?;
                self.rotate()?;
            }
            let seq = self.next_seq + pending;
            buffer.extend_from_slice(&body_len.to_le_bytes());
            buffer.extend_from_slice(&seq.to_le_bytes());
            let header = buffer.len() - 12;
            let header_crc = CASTAGNOLI.checksum(&buffer[header..]);
            buffer.extend_from_slice(&header_crc.to_le_bytes());
            buffer.extend_from_slice(&CASTAGNOLI.checksum(&body).to_le_bytes());
            buffer.extend_from_slice(&body);
            pending += 1;
            seqs.push(seq);
        }
        self.write_frames(&mut buffer, &mut pending)?;
        Ok(seqs)
    }

    /// Writes `buffer` (`pending` whole records) to the segment in one call.
    fn write_frames(&mut self, buffer: &mut Vec<u8>, pending: &mut u64) -> Result<()> {
        if buffer.is_empty() {
            return Ok(());
        }
        self.check()?;
        let written = faults::check(faults::Step::Write)
            .and_then(|()| match faults::check(faults::Step::ShortWrite) {
                Ok(()) => Ok(()),
                Err(e) => {
                    // Half the records reach the file, then the error (a full disk mid-write).
                    let half = buffer.get(..buffer.len() / 2).unwrap_or_default();
                    let _ = self.file.write_all(half);
                    Err(e)
                }
            })
            .and_then(|()| self.file.write_all(buffer));
        if let Err(e) = written {
            // Cut the partial records so the next one follows a whole record; if even that
            // fails, refuse every later append (the next open cuts the tail).
            if self.file.set_len(self.len).is_err() {
                self.broken = Some(format!("a failed write could not be cut off: {e}"));
            }
            buffer.clear();
            *pending = 0;
            return Err(Error::io(&self.path, e));
        }
        self.len += buffer.len() as u64;
        self.bytes += buffer.len() as u64;
        self.next_seq += *pending;
        self.dirty = true;
        buffer.clear();
        *pending = 0;
        Ok(())
    }

    /// Makes every record appended so far durable: one `fsync` of the segment (and of the
    /// directory after a new segment).
    ///
    /// # Errors
    /// [`Error::Io`]: the records since the last successful sync may or may not be durable.
    pub fn sync(&mut self) -> Result<()> {
        self.check()?;
        if !self.dirty {
            return Ok(());
        }
        if let Err(e) = faults::check(faults::Step::Sync).and_then(|()| self.file.sync_data()) {
            // After a failed fsync the kernel may have dropped the written pages: what the
            // file holds is unknown until it is read again (reopen the log).
            self.broken = Some(format!("fsync failed: {e}"));
            return Err(Error::io(&self.path, e));
        }
        if self.new_segment {
            sync_dir(&self.dir)?;
            self.new_segment = false;
        }
        self.dirty = false;
        Ok(())
    }

    /// Makes the next record's number greater than `seq`: a log whose records were all flushed
    /// (and its segments deleted) continues after the number the flushed copy recorded. Starts
    /// a new segment if the number moves.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn resume_after(&mut self, seq: u64) -> Result<()> {
        if self.next_seq > seq {
            return Ok(());
        }
        self.next_seq = seq + 1;
        self.rotate()
    }

    /// Starts a new segment if the one being written holds records, so that once they are all
    /// flushed [`remove_through`](Self::remove_through) can delete it.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn roll(&mut self) -> Result<()> {
        if self.len > MAGIC.len() as u64 {
            self.rotate()?;
        }
        Ok(())
    }

    /// Deletes every segment whose records are all at or below `seq` (the segment being
    /// written is kept). Returns how many were deleted.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn remove_through(&mut self, seq: u64) -> Result<usize> {
        let all = segments(&self.dir)?;
        let mut removed = 0;
        for pair in all.windows(2) {
            let ((_, path), (next_first, _)) = (&pair[0], &pair[1]);
            // Every record of a segment is below the next segment's first number.
            if *next_first <= seq.saturating_add(1) && *path != self.path {
                let len = std::fs::metadata(path).map_or(0, |m| m.len());
                std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
                self.bytes = self.bytes.saturating_sub(len);
                removed += 1;
            }
        }
        if removed > 0 {
            sync_dir(&self.dir)?;
        }
        Ok(removed)
    }

    /// Bytes of every segment of the log.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn size(&self) -> Result<u64> {
        self.disk_size()
    }

    /// Bytes of every segment, as written by this log (no file system call).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    fn disk_size(&self) -> Result<u64> {
        let mut total = 0;
        for (_, path) in segments(&self.dir)? {
            total += std::fs::metadata(&path)
                .map_err(|e| Error::io(&path, e))?
                .len();
        }
        Ok(total)
    }

    fn check(&self) -> Result<()> {
        match &self.broken {
            None => Ok(()),
            Some(reason) => Err(Error::io(
                &self.path,
                io::Error::other(format!("the write-ahead log must be reopened: {reason}")),
            )),
        }
    }

    fn rotate(&mut self) -> Result<()> {
        self.sync()?;
        let (file, path) = create_segment(&self.dir, self.next_seq)?;
        self.file = file;
        self.path = path;
        self.len = MAGIC.len() as u64;
        self.bytes += MAGIC.len() as u64;
        self.new_segment = true;
        self.dirty = true;
        Ok(())
    }
}

/// Reads the records of the log in `dir` after sequence number `after`, without changing
/// anything (a torn tail is left out and reported).
///
/// # Errors
/// [`Error::Io`]; [`Error::Corrupt`] for damage under [`Recovery::Strict`].
pub fn replay(dir: impl AsRef<Path>, after: u64, recovery: Recovery) -> Result<Replay> {
    read(dir.as_ref(), after, recovery, false)
}

fn encode(batch: &RecordBatch) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut writer = arrow_ipc::writer::StreamWriter::try_new(&mut out, &batch.schema())
        .map_err(|e| Error::arrow("encoding a WAL record", e))?;
    writer
        .write(batch)
        .and_then(|()| writer.finish())
        .map_err(|e| Error::arrow("encoding a WAL record", e))?;
    drop(writer);
    Ok(out)
}

fn decode(body: &[u8]) -> std::result::Result<RecordBatch, String> {
    let reader = arrow_ipc::reader::StreamReader::try_new(io::Cursor::new(body), None)
        .map_err(|e| e.to_string())?;
    let mut batches = Vec::new();
    for batch in reader {
        batches.push(batch.map_err(|e| e.to_string())?);
    }
    match batches.len() {
        1 => Ok(batches.remove(0)),
        n => Err(format!("the record holds {n} batches, not 1")),
    }
}

fn segment_name(first: u64) -> String {
    format!("wal-{first:020}.seg")
}

/// The segments of `dir` by first sequence number.
fn segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let Some(first) = name
            .to_str()
            .and_then(|n| n.strip_prefix("wal-"))
            .and_then(|n| n.strip_suffix(".seg"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        out.push((first, entry.path()));
    }
    out.sort();
    Ok(out)
}

fn create_segment(dir: &Path, first: u64) -> Result<(File, PathBuf)> {
    let path = dir.join(segment_name(first));
    faults::check(faults::Step::NewSegment).map_err(|e| Error::io(&path, e))?;
    let mut file = OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    file.write_all(MAGIC).map_err(|e| Error::io(&path, e))?;
    Ok((file, path))
}

#[doc(hidden)]
pub mod faults {
    //! Test hook (process-wide): makes the n-th log operation of one kind fail, to check that
    //! no failure is ever acknowledged and that the log reopens. Not for production use.

    use std::io;
    use std::sync::Mutex;

    /// An operation of the log.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Step {
        /// Writing a record: nothing written, an error.
        Write,
        /// Writing a record: half of it written, then an error.
        ShortWrite,
        /// `fsync` of a segment.
        Sync,
        /// Creating a segment.
        NewSegment,
    }

    static PLAN: Mutex<Option<(Step, u64, io::ErrorKind)>> = Mutex::new(None);

    /// Makes the `nth` (1-based) next `step` fail with `kind`, once.
    pub fn inject(step: Step, nth: u64, kind: io::ErrorKind) {
        *PLAN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((step, nth.max(1), kind));
    }

    /// Removes the planned failure, if it did not happen yet. Returns whether it happened.
    pub fn clear() -> bool {
        PLAN.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .is_none()
    }

    pub(super) fn check(step: Step) -> io::Result<()> {
        let mut plan = PLAN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((planned, left, kind)) = plan.as_mut()
            && *planned == step
        {
            *left -= 1;
            if *left == 0 {
                let kind = *kind;
                *plan = None;
                return Err(io::Error::new(kind, format!("injected {step:?} failure")));
            }
        }
        Ok(())
    }
}

/// Reads every segment; with `repair`, cuts a torn tail (and, under `UpToDamage`, the damage
/// and every later segment) off the files.
fn read(dir: &Path, after: u64, recovery: Recovery, repair: bool) -> Result<Replay> {
    let all = segments(dir)?;
    let mut out = Replay::default();
    let mut expected: Option<u64> = None;
    for (index, (first, path)) in all.iter().enumerate() {
        let last_segment = index + 1 == all.len();
        // A segment starts at the number in its name: numbers may jump up between segments
        // (the records in between were flushed and their segments deleted), never down.
        if expected.is_none_or(|e| *first >= e) {
            expected = Some(*first);
        }
        let mut bytes = Vec::new();
        File::open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| Error::io(path, e))?;
        out.bytes += bytes.len() as u64;
        let damage = |offset: usize, reason: String| (path.clone(), offset as u64, reason);
        let mut stop: Option<(usize, String, bool)> = None; // (offset, reason, torn)
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            let torn = last_segment && MAGIC.starts_with(&bytes[..bytes.len().min(MAGIC.len())]);
            stop = Some((0, "not a WAL segment (bad header)".into(), torn));
        }
        let mut offset = MAGIC.len();
        while stop.is_none() && offset < bytes.len() {
            let rest = &bytes[offset..];
            if rest.len() < FRAME {
                stop = Some((
                    offset,
                    "the record header is cut short".into(),
                    last_segment,
                ));
                break;
            }
            let word = |at: usize| {
                u32::from_le_bytes([rest[at], rest[at + 1], rest[at + 2], rest[at + 3]])
            };
            let len = word(0);
            let mut seq_bytes = [0u8; 8];
            seq_bytes.copy_from_slice(&rest[4..12]);
            let seq = u64::from_le_bytes(seq_bytes);
            if CASTAGNOLI.checksum(&rest[..12]) != word(12) {
                // Zeros to the end: blocks the crash allocated but never wrote.
                let torn = last_segment && rest.iter().all(|b| *b == 0);
                stop = Some((offset, "record header checksum mismatch".into(), torn));
                break;
            }
            let end = FRAME + len as usize;
            if len > MAX_BODY || rest.len() < end {
                // The header is whole and genuine: the body was cut short.
                stop = Some((
                    offset,
                    format!("a record of {len} bytes runs past the end"),
                    last_segment,
                ));
                break;
            }
            let body = &rest[FRAME..end];
            let tail = last_segment && offset + end == bytes.len();
            if CASTAGNOLI.checksum(body) != word(16) {
                stop = Some((offset, "record body checksum mismatch".into(), tail));
                break;
            }
            let want = expected.unwrap_or(*first);
            if seq != want {
                stop = Some((
                    offset,
                    format!("sequence number {seq}, expected {want}"),
                    false,
                ));
                break;
            }
            if seq > after {
                match decode(body) {
                    Ok(batch) => out.records.push((seq, batch)),
                    Err(reason) => {
                        stop = Some((
                            offset,
                            format!("the record does not decode: {reason}"),
                            false,
                        ));
                        break;
                    }
                }
            }
            out.last_seq = seq;
            expected = Some(seq + 1);
            offset += end;
        }
        let Some((at, reason, torn)) = stop else {
            continue;
        };
        if torn {
            out.torn_tail = Some((path.clone(), at as u64));
        } else if recovery == Recovery::UpToDamage {
            out.damage = Some(damage(at, reason));
        } else {
            return Err(Error::Corrupt {
                path: path.clone(),
                reason: format!("WAL record at offset {at}: {reason}"),
            });
        }
        if repair {
            let keep = at.max(if at == 0 { 0 } else { MAGIC.len() }) as u64;
            if keep < MAGIC.len() as u64 {
                std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
            } else {
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| Error::io(path, e))?;
                file.set_len(keep).map_err(|e| Error::io(path, e))?;
                file.sync_all().map_err(|e| Error::io(path, e))?;
            }
            for (_, later) in &all[index + 1..] {
                std::fs::remove_file(later).map_err(|e| Error::io(later, e))?;
            }
            sync_dir(dir)?;
        }
        break;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray};
    use std::sync::Arc;

    fn batch(n: i64) -> RecordBatch {
        RecordBatch::try_from_iter([
            ("n", Arc::new(Int64Array::from(vec![n, n + 1])) as _),
            (
                "s",
                Arc::new(StringArray::from(vec![format!("v{n}"), "ü".into()])) as _,
            ),
        ])
        .unwrap()
    }

    #[test]
    fn round_trip_across_segments_and_reopen() {
        let dir = tempfile_dir("rt");
        let (mut wal, replay0) = Wal::open(
            &dir,
            WalOptions::default().segment_bytes(2_000),
            Recovery::Strict,
        )
        .unwrap();
        assert!(replay0.records.is_empty());
        for n in 0..20 {
            assert_eq!(wal.append(&batch(n)).unwrap(), n as u64 + 1);
        }
        wal.sync().unwrap();
        assert!(segments(&dir).unwrap().len() > 2);
        drop(wal);
        let (mut wal, back) = Wal::open(
            &dir,
            WalOptions::default().segment_bytes(2_000),
            Recovery::Strict,
        )
        .unwrap();
        assert_eq!(back.records.len(), 20);
        assert_eq!(back.records[7], (8, batch(7)));
        assert_eq!(back.last_seq, 20);
        assert_eq!(wal.append(&batch(20)).unwrap(), 21);
        wal.sync().unwrap();
        assert_eq!(replay(&dir, 15, Recovery::Strict).unwrap().records.len(), 6);
        // Segments wholly at or below 15 go.
        let before = segments(&dir).unwrap().len();
        let removed = wal.remove_through(15).unwrap();
        assert!(removed > 0 && segments(&dir).unwrap().len() == before - removed);
        let rest = replay(&dir, 15, Recovery::Strict).unwrap();
        assert_eq!(
            rest.records.iter().map(|r| r.0).collect::<Vec<_>>(),
            (16..=21).collect::<Vec<_>>()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn torn_tail_at_every_cut_is_cut_off() {
        let dir = tempfile_dir("torn");
        let (mut wal, _) = Wal::open(&dir, WalOptions::default(), Recovery::Strict).unwrap();
        for n in 0..3 {
            wal.append(&batch(n)).unwrap();
        }
        wal.sync().unwrap();
        let path = segments(&dir).unwrap()[0].1.clone();
        let full = std::fs::read(&path).unwrap();
        drop(wal);
        let two = full.len();
        // The third record starts where the first two end.
        let third = replay(&dir, 0, Recovery::Strict).unwrap();
        assert_eq!(third.records.len(), 3);
        let start_of_third = {
            let mut offset = MAGIC.len();
            for _ in 0..2 {
                let len = u32::from_le_bytes(full[offset..offset + 4].try_into().unwrap()) as usize;
                offset += FRAME + len;
            }
            offset
        };
        for cut in start_of_third + 1..two {
            std::fs::write(&path, &full[..cut]).unwrap();
            let r = replay(&dir, 0, Recovery::Strict).unwrap();
            assert_eq!(r.records.len(), 2, "cut {cut}");
            assert_eq!(r.torn_tail, Some((path.clone(), start_of_third as u64)));
            let (mut wal, r) = Wal::open(&dir, WalOptions::default(), Recovery::Strict).unwrap();
            assert_eq!(r.records.len(), 2);
            assert_eq!(
                std::fs::metadata(&path).unwrap().len(),
                start_of_third as u64
            );
            assert_eq!(wal.append(&batch(9)).unwrap(), 3);
            wal.sync().unwrap();
            assert_eq!(
                replay(&dir, 0, Recovery::Strict).unwrap().records[2],
                (3, batch(9))
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn damage_in_the_middle_is_a_typed_error_or_recovered_up_to_it() {
        let dir = tempfile_dir("bad");
        let (mut wal, _) = Wal::open(&dir, WalOptions::default(), Recovery::Strict).unwrap();
        for n in 0..4 {
            wal.append(&batch(n)).unwrap();
        }
        wal.sync().unwrap();
        drop(wal);
        let path = segments(&dir).unwrap()[0].1.clone();
        let full = std::fs::read(&path).unwrap();
        let len0 = u32::from_le_bytes(full[8..12].try_into().unwrap()) as usize;
        let second = MAGIC.len() + FRAME + len0;
        // A bit flip anywhere in the second record (header or body).
        for at in (second..second + FRAME + 40).step_by(3) {
            let mut bad = full.clone();
            bad[at] ^= 0x10;
            std::fs::write(&path, &bad).unwrap();
            match replay(&dir, 0, Recovery::Strict) {
                Err(Error::Corrupt { path: p, reason }) => {
                    assert_eq!(p, path);
                    assert!(reason.contains(&format!("offset {second}")), "{reason}");
                }
                other => panic!("flip at {at}: {other:?}"),
            }
            let r = replay(&dir, 0, Recovery::UpToDamage).unwrap();
            assert_eq!(r.records, vec![(1, batch(0))], "flip at {at}");
            assert_eq!(r.damage.as_ref().map(|d| d.1), Some(second as u64));
        }
        // Opening with recovery cuts the log at the damage and appends after it.
        let (mut wal, r) = Wal::open(&dir, WalOptions::default(), Recovery::UpToDamage).unwrap();
        assert_eq!(r.records.len(), 1);
        assert_eq!(wal.append(&batch(5)).unwrap(), 2);
        wal.sync().unwrap();
        assert_eq!(replay(&dir, 0, Recovery::Strict).unwrap().records.len(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn zeros_and_a_bad_last_body_are_a_torn_tail() {
        let dir = tempfile_dir("zeros");
        let (mut wal, _) = Wal::open(&dir, WalOptions::default(), Recovery::Strict).unwrap();
        for n in 0..2 {
            wal.append(&batch(n)).unwrap();
        }
        wal.sync().unwrap();
        drop(wal);
        let path = segments(&dir).unwrap()[0].1.clone();
        let full = std::fs::read(&path).unwrap();
        // Blocks allocated but never written.
        let mut zeros = full.clone();
        zeros.extend_from_slice(&[0u8; 4096]);
        std::fs::write(&path, &zeros).unwrap();
        let r = replay(&dir, 0, Recovery::Strict).unwrap();
        assert_eq!(r.records.len(), 2);
        assert_eq!(r.torn_tail, Some((path.clone(), full.len() as u64)));
        // The last record's body damaged at the very end of the log.
        let mut bad = full.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        std::fs::write(&path, &bad).unwrap();
        let r = replay(&dir, 0, Recovery::Strict).unwrap();
        assert_eq!(r.records, vec![(1, batch(0))]);
        assert!(r.torn_tail.is_some());
        // Nonzero garbage after the last record is damage, not a crash.
        let mut garbage = full.clone();
        garbage.extend_from_slice(&[7u8; 64]);
        std::fs::write(&path, &garbage).unwrap();
        assert!(matches!(
            replay(&dir, 0, Recovery::Strict),
            Err(Error::Corrupt { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "soa-wal-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }
}
