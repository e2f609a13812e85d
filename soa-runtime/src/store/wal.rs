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
use arrow_schema::ArrowError;

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
    /// The encoder of the last schema appended.
    encoder: Option<RecordEncoder>,
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
            encoder: None,
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
        let mut records = Vec::with_capacity(batches.len());
        for batch in batches {
            let encoder = match &self.encoder {
                Some(e) if e.schema().as_ref() == batch.schema_ref().as_ref() => e,
                _ => self.encoder.insert(RecordEncoder::new(batch.schema_ref())?),
            };
            records.push(encoder.encode(batch)?);
        }
        self.append_encoded(&records)
    }

    /// Appends records encoded by a [`RecordEncoder`] (possibly on other threads), in order,
    /// with one write per segment touched; returns their sequence numbers.
    ///
    /// # Errors
    /// As [`append_all`](Self::append_all).
    pub fn append_encoded(&mut self, records: &[EncodedRecord]) -> Result<Vec<u64>> {
        self.check()?;
        let mut seqs = Vec::with_capacity(records.len());
        let total: usize = records.iter().map(|r| FRAME + r.body.len()).sum();
        let mut buffer: Vec<u8> =
            Vec::with_capacity(total.min(self.options.segment_bytes as usize));
        let mut pending = 0u64;
        for record in records {
            let body = &record.body;
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
            buffer.extend_from_slice(&record.crc.to_le_bytes());
            buffer.extend_from_slice(body);
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

/// Encodes record batches as log record bodies: each body is a whole Arrow IPC stream (schema,
/// dictionaries, batch, end marker) so that every record decodes on its own, but the schema
/// message is encoded once per encoder, not once per record.
///
/// Cheap to clone (the encoded schema is shared); `Send + Sync`, so producers can encode their
/// records in parallel before handing them to the log ([`Wal::append_encoded`]).
#[derive(Debug, Clone)]
pub struct RecordEncoder {
    schema: arrow_schema::SchemaRef,
    /// The schema message, as a stream writer writes it.
    head: std::sync::Arc<[u8]>,
    /// Dictionary ids the schema assigns (0..n, in field order).
    dictionaries: usize,
}

/// A record body encoded by a [`RecordEncoder`], with its CRC32C and its rows.
#[derive(Debug, Clone)]
pub struct EncodedRecord {
    body: Vec<u8>,
    crc: u32,
    rows: usize,
}

impl EncodedRecord {
    /// Bytes of the body.
    pub fn len(&self) -> usize {
        self.body.len()
    }

    /// Whether the body is empty (never, for an encoded batch).
    pub fn is_empty(&self) -> bool {
        self.body.is_empty()
    }

    /// Rows of the batch it holds.
    pub fn rows(&self) -> usize {
        self.rows
    }
}

const IPC_END: [u8; 8] = [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0];

impl RecordEncoder {
    /// An encoder of batches of `schema`.
    ///
    /// # Errors
    /// [`Error::Arrow`] for a schema IPC cannot encode.
    pub fn new(schema: &arrow_schema::SchemaRef) -> Result<Self> {
        let mut head = Vec::new();
        drop(
            arrow_ipc::writer::StreamWriter::try_new(&mut head, schema)
                .map_err(|e| Error::arrow("encoding a WAL record schema", e))?,
        );
        let mut tracker = arrow_ipc::writer::DictionaryTracker::new(false);
        let _ = arrow_ipc::writer::IpcDataGenerator::default()
            .schema_to_bytes_with_dictionary_tracker(
                schema,
                &mut tracker,
                &arrow_ipc::writer::IpcWriteOptions::default(),
            );
        Ok(RecordEncoder {
            schema: std::sync::Arc::clone(schema),
            head: head.into(),
            dictionaries: tracker.dict_id().len(),
        })
    }

    /// The schema this encoder was made for.
    pub fn schema(&self) -> &arrow_schema::SchemaRef {
        &self.schema
    }

    /// The record body of `batch` and its checksum. A batch of another schema is encoded with
    /// its own schema message.
    ///
    /// # Errors
    /// [`Error::Arrow`] if the batch cannot be encoded.
    pub fn encode(&self, batch: &RecordBatch) -> Result<EncodedRecord> {
        let body = if batch.schema_ref() == &self.schema
            || batch.schema_ref().as_ref() == self.schema.as_ref()
        {
            self.encode_body(batch)
        } else {
            RecordEncoder::new(batch.schema_ref())?.encode_body(batch)
        }
        .map_err(|e| Error::arrow("encoding a WAL record", e))?;
        Ok(EncodedRecord {
            crc: CASTAGNOLI.checksum(&body),
            rows: batch.num_rows(),
            body,
        })
    }

    fn encode_body(&self, batch: &RecordBatch) -> std::result::Result<Vec<u8>, ArrowError> {
        use arrow_ipc::writer::{
            DictionaryTracker, IpcDataGenerator, IpcWriteContext, IpcWriteOptions, write_message,
        };
        let options = IpcWriteOptions::default();
        // A fresh tracker with the schema's dictionary ids: every dictionary is written.
        let mut tracker = DictionaryTracker::new(false);
        for _ in 0..self.dictionaries {
            tracker.next_dict_id();
        }
        let (dictionaries, data) = IpcDataGenerator::default().encode(
            batch,
            &mut tracker,
            &options,
            &mut IpcWriteContext::default(),
        )?;
        let size = self.head.len()
            + dictionaries
                .iter()
                .map(|d| d.ipc_message.len() + d.arrow_data.len() + 16)
                .sum::<usize>()
            + data.ipc_message.len()
            + data.arrow_data.len()
            + 32;
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(&self.head);
        for dictionary in dictionaries {
            write_message(&mut out, dictionary, &options)?;
        }
        write_message(&mut out, data, &options)?;
        out.extend_from_slice(&IPC_END);
        Ok(out)
    }
}

/// Decodes record bodies, parsing a schema message once as long as the records repeat it.
#[derive(Default)]
struct RecordDecoder {
    schema: Option<(Vec<u8>, arrow_schema::SchemaRef)>,
}

impl RecordDecoder {
    fn decode(&mut self, body: &[u8]) -> std::result::Result<RecordBatch, String> {
        use arrow_ipc::MessageHeader;
        let mut offset = 0usize;
        let mut schema: Option<arrow_schema::SchemaRef> = None;
        let mut dictionaries = std::collections::HashMap::new();
        let mut batch: Option<RecordBatch> = None;
        loop {
            let word = |at: usize| -> std::result::Result<u32, String> {
                body.get(at..at + 4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .ok_or_else(|| "the IPC stream is cut short".to_string())
            };
            let mut len = word(offset)?;
            offset += 4;
            if len == 0xFFFF_FFFF {
                len = word(offset)?;
                offset += 4;
            }
            if len == 0 {
                break;
            }
            let meta = body
                .get(offset..offset.saturating_add(len as usize))
                .ok_or("an IPC message runs past the record")?;
            offset += len as usize;
            let message = arrow_ipc::root_as_message(meta)
                .map_err(|e| format!("a damaged IPC message: {e}"))?;
            let body_len = usize::try_from(message.bodyLength())
                .map_err(|_| "a negative IPC body length".to_string())?;
            let data = body
                .get(offset..offset.saturating_add(body_len))
                .ok_or("an IPC message body runs past the record")?;
            offset += body_len;
            let version = message.version();
            match message.header_type() {
                MessageHeader::Schema => {
                    if schema.is_some() {
                        return Err("the record holds two schemas".into());
                    }
                    let cached = self
                        .schema
                        .as_ref()
                        .filter(|(bytes, _)| bytes.as_slice() == meta)
                        .map(|(_, s)| std::sync::Arc::clone(s));
                    schema = Some(match cached {
                        Some(s) => s,
                        None => {
                            let fb = message
                                .header_as_schema()
                                .ok_or("a damaged IPC schema message")?;
                            let parsed = std::sync::Arc::new(
                                arrow_ipc::convert::try_fb_to_schema(fb)
                                    .map_err(|e| e.to_string())?,
                            );
                            self.schema = Some((meta.to_vec(), std::sync::Arc::clone(&parsed)));
                            parsed
                        }
                    });
                }
                MessageHeader::DictionaryBatch => {
                    let schema = schema.as_ref().ok_or("a dictionary before the schema")?;
                    let fb = message
                        .header_as_dictionary_batch()
                        .ok_or("a damaged IPC dictionary message")?;
                    arrow_ipc::reader::read_dictionary(
                        &arrow_buffer::Buffer::from(data),
                        fb,
                        schema,
                        &mut dictionaries,
                        &version,
                    )
                    .map_err(|e| e.to_string())?;
                }
                MessageHeader::RecordBatch => {
                    let schema = schema.as_ref().ok_or("a batch before the schema")?;
                    if batch.is_some() {
                        return Err("the record holds more than one batch".into());
                    }
                    let fb = message
                        .header_as_record_batch()
                        .ok_or("a damaged IPC batch message")?;
                    batch = Some(
                        arrow_ipc::reader::read_record_batch(
                            &arrow_buffer::Buffer::from(data),
                            fb,
                            std::sync::Arc::clone(schema),
                            &dictionaries,
                            None,
                            &version,
                        )
                        .map_err(|e| e.to_string())?,
                    );
                }
                other => return Err(format!("an unexpected IPC message {other:?}")),
            }
        }
        if offset != body.len() {
            return Err("bytes after the end of the IPC stream".into());
        }
        batch.ok_or_else(|| "the record holds no batch".into())
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

/// What reading one segment found.
struct SegmentScan {
    bytes: u64,
    /// The sequence number of its first whole record.
    first_seq: Option<u64>,
    records: Vec<(u64, RecordBatch)>,
    last_seq: Option<u64>,
    /// Where reading stopped: (offset, reason, whether it is a torn tail).
    stop: Option<(usize, String, bool)>,
}

/// Reads one segment: records must follow each other from its name's number on.
fn scan_segment(
    path: &Path,
    first: u64,
    last_segment: bool,
    after: u64,
    decoder: &mut RecordDecoder,
) -> Result<SegmentScan> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| Error::io(path, e))?;
    let mut out = SegmentScan {
        bytes: bytes.len() as u64,
        first_seq: None,
        records: Vec::new(),
        last_seq: None,
        stop: None,
    };
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        let torn = last_segment && MAGIC.starts_with(&bytes[..bytes.len().min(MAGIC.len())]);
        out.stop = Some((0, "not a WAL segment (bad header)".into(), torn));
        return Ok(out);
    }
    let mut expected = first;
    let mut offset = MAGIC.len();
    while offset < bytes.len() {
        let rest = &bytes[offset..];
        if rest.len() < FRAME {
            out.stop = Some((
                offset,
                "the record header is cut short".into(),
                last_segment,
            ));
            break;
        }
        let word =
            |at: usize| u32::from_le_bytes([rest[at], rest[at + 1], rest[at + 2], rest[at + 3]]);
        let len = word(0);
        let mut seq_bytes = [0u8; 8];
        seq_bytes.copy_from_slice(&rest[4..12]);
        let seq = u64::from_le_bytes(seq_bytes);
        if CASTAGNOLI.checksum(&rest[..12]) != word(12) {
            // Zeros to the end: blocks the crash allocated but never wrote.
            let torn = last_segment && rest.iter().all(|b| *b == 0);
            out.stop = Some((offset, "record header checksum mismatch".into(), torn));
            break;
        }
        let end = FRAME + len as usize;
        if len > MAX_BODY || rest.len() < end {
            // The header is whole and genuine: the body was cut short.
            out.stop = Some((
                offset,
                format!("a record of {len} bytes runs past the end"),
                last_segment,
            ));
            break;
        }
        let body = &rest[FRAME..end];
        let tail = last_segment && offset + end == bytes.len();
        if CASTAGNOLI.checksum(body) != word(16) {
            out.stop = Some((offset, "record body checksum mismatch".into(), tail));
            break;
        }
        if seq != expected {
            out.stop = Some((
                offset,
                format!("sequence number {seq}, expected {expected}"),
                false,
            ));
            break;
        }
        if seq > after {
            match decoder.decode(body) {
                Ok(batch) => out.records.push((seq, batch)),
                Err(reason) => {
                    out.stop = Some((
                        offset,
                        format!("the record does not decode: {reason}"),
                        false,
                    ));
                    break;
                }
            }
        }
        out.first_seq.get_or_insert(seq);
        out.last_seq = Some(seq);
        expected = seq + 1;
        offset += end;
    }
    Ok(out)
}

/// Reads every segment (up to four at a time, each on its own thread); with `repair`, cuts a
/// torn tail (and, under `UpToDamage`, the damage and every later segment) off the files.
fn read(dir: &Path, after: u64, recovery: Recovery, repair: bool) -> Result<Replay> {
    let all = segments(dir)?;
    let count = all.len();
    let scan = |index: usize, decoder: &mut RecordDecoder| {
        let (first, path) = &all[index];
        scan_segment(path, *first, index + 1 == count, after, decoder)
    };
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(4)
        .min(count);
    let scans: Vec<Result<SegmentScan>> = if workers <= 1 {
        let mut decoder = RecordDecoder::default();
        (0..count).map(|i| scan(i, &mut decoder)).collect()
    } else {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let slots: Vec<std::sync::Mutex<Option<Result<SegmentScan>>>> =
            (0..count).map(|_| std::sync::Mutex::new(None)).collect();
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    let mut decoder = RecordDecoder::default();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= count {
                            break;
                        }
                        let result = scan(i, &mut decoder);
                        if let Ok(mut slot) = slots[i].lock() {
                            *slot = Some(result);
                        }
                    }
                });
            }
        });
        slots
            .into_iter()
            .map(|slot| {
                slot.into_inner()
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| Err(Error::Task("a WAL reader thread failed".into())))
            })
            .collect()
    };
    let mut out = Replay::default();
    let mut expected: Option<u64> = None;
    for (index, ((first, path), scanned)) in all.iter().zip(scans).enumerate() {
        let mut scanned = scanned?;
        out.bytes += scanned.bytes;
        // A segment starts at the number in its name: numbers may jump up between segments
        // (the records in between were flushed and their segments deleted), never down.
        if let Some(e) = expected.filter(|e| *first < *e)
            && let Some(seq) = scanned.first_seq
        {
            scanned.records.clear();
            scanned.last_seq = None;
            scanned.stop = Some((
                MAGIC.len(),
                format!("sequence number {seq}, expected {e}"),
                false,
            ));
        }
        out.records.append(&mut scanned.records);
        if let Some(last) = scanned.last_seq {
            out.last_seq = last;
            expected = Some(last + 1);
        } else if expected.is_none_or(|e| *first >= e) {
            expected = Some(*first);
        }
        let Some((at, reason, torn)) = scanned.stop else {
            continue;
        };
        if torn {
            out.torn_tail = Some((path.clone(), at as u64));
        } else if recovery == Recovery::UpToDamage {
            out.damage = Some((path.clone(), at as u64, reason));
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

    fn dict_batch(values: &[&str], keys: &[i32]) -> RecordBatch {
        use arrow_array::{DictionaryArray, Int32Array, types::Int32Type};
        let dict = DictionaryArray::<Int32Type>::try_new(
            Int32Array::from(keys.to_vec()),
            Arc::new(StringArray::from(values.to_vec())),
        )
        .unwrap();
        RecordBatch::try_from_iter([
            ("k", Arc::new(dict) as _),
            ("n", Arc::new(Int64Array::from(vec![7; keys.len()])) as _),
        ])
        .unwrap()
    }

    /// Records encoded with the schema once: each body is still a whole IPC stream that
    /// arrow's own reader decodes alone (dictionaries included, the same or different ones in
    /// consecutive records), and the log reads them back across a change of schema.
    #[test]
    fn encoded_records_decode_alone_and_across_schemas() {
        let a = dict_batch(&["x", "ÿ"], &[0, 1, 1]);
        let b = dict_batch(&["x", "ÿ"], &[1, 0]);
        let c = dict_batch(&["q"], &[0]);
        let encoder = RecordEncoder::new(a.schema_ref()).unwrap();
        for batch in [&a, &b, &c] {
            let record = encoder.encode(batch).unwrap();
            assert_eq!(record.rows(), batch.num_rows());
            assert_eq!(record.crc, CASTAGNOLI.checksum(&record.body));
            let mut reader =
                arrow_ipc::reader::StreamReader::try_new(io::Cursor::new(&record.body), None)
                    .unwrap();
            assert_eq!(&reader.next().unwrap().unwrap(), batch);
            assert!(reader.next().is_none());
            assert_eq!(
                &RecordDecoder::default().decode(&record.body).unwrap(),
                batch
            );
        }
        let dir = tempfile_dir("enc");
        let (mut wal, _) = Wal::open(&dir, WalOptions::default(), Recovery::Strict).unwrap();
        let other = batch(5);
        let records = [&a, &b, &c]
            .into_iter()
            .map(|x| encoder.encode(x).unwrap())
            .collect::<Vec<_>>();
        assert_eq!(wal.append_encoded(&records).unwrap(), vec![1, 2, 3]);
        assert_eq!(
            wal.append_all(&[other.clone(), a.clone()]).unwrap(),
            vec![4, 5]
        );
        wal.sync().unwrap();
        let back = replay(&dir, 0, Recovery::Strict).unwrap();
        let batches: Vec<RecordBatch> = back.records.into_iter().map(|(_, b)| b).collect();
        assert_eq!(batches, vec![a.clone(), b, c, other, a]);
        // A body that is not an IPC stream is a typed error, not a panic.
        for junk in [
            &b""[..],
            &[0xFF; 8][..],
            &[0xFF, 0xFF, 0xFF, 0xFF, 9, 0, 0, 0, 1][..],
        ] {
            assert!(RecordDecoder::default().decode(junk).is_err());
        }
        std::fs::remove_dir_all(&dir).unwrap();
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
