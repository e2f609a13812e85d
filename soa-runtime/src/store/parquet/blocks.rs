//! Verified partial reads: a file whose footer lists a CRC32 per block of its data pages (and
//! whose tail's CRC32 the manifest records) is read block by block, each block checked before
//! any byte of it is used, so a query that needs a few pages reads and checks a few blocks
//! instead of the whole file.
//!
//! The tail (page index and footer) is read and checked first, against the manifest; the block
//! list comes from the checked footer. A block that fails its check is remembered, so the
//! decoding error it causes becomes [`Error::Corrupt`] naming the file and the byte range.

use std::collections::HashMap;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::{Bytes, BytesMut};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use parquet::file::reader::{ChunkReader, Length};

use crate::error::{Error, Result};

use super::decode::OpenFile;
use super::encode::BLOCK_CRC32_KEY;
use super::fsio::CountingFile;

/// Checked blocks kept for reuse (4 MiB of 16 KiB blocks).
const MAX_CACHED: usize = 256;

/// A committed file read through its block checksums. Clones share the blocks read.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedFile {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    file: CountingFile,
    path: PathBuf,
    size: u64,
    /// Where the data blocks end (the tail starts).
    end: u64,
    tail_crc: u32,
    tail: OnceLock<Bytes>,
    /// Block size and the CRC32 of each block, from the footer.
    blocks: OnceLock<(u64, Vec<u32>)>,
    checked: Mutex<HashMap<u64, Bytes>>,
    read: AtomicU64,
    damage: Mutex<Option<String>>,
}

impl VerifiedFile {
    /// The file read through its block checksums, if the manifest has its tail's CRC32.
    pub(crate) fn of(file: &OpenFile) -> Option<Self> {
        let (end, tail_crc) = file.entry.tail?;
        Some(VerifiedFile {
            inner: Arc::new(Inner {
                file: file.file.clone(),
                path: file.path.clone(),
                size: file.entry.size,
                end,
                tail_crc,
                tail: OnceLock::new(),
                blocks: OnceLock::new(),
                checked: Mutex::new(HashMap::new()),
                read: AtomicU64::new(0),
                damage: Mutex::new(None),
            }),
        })
    }

    /// Takes the block checksums from the (checked) footer. Call once the footer is parsed,
    /// before reading data pages.
    pub(crate) fn adopt(&self, metadata: &ParquetMetaData) -> Result<()> {
        let corrupt = |reason: String| Error::Corrupt {
            path: self.inner.path.clone(),
            reason,
        };
        let text = metadata
            .file_metadata()
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|kv| kv.key == BLOCK_CRC32_KEY))
            .and_then(|kv| kv.value.as_deref())
            .ok_or_else(|| corrupt(format!("the footer has no {BLOCK_CRC32_KEY} key")))?;
        let (size, hex) = text
            .split_once(' ')
            .ok_or_else(|| corrupt(format!("malformed {BLOCK_CRC32_KEY}")))?;
        let size: u64 = size
            .parse()
            .ok()
            .filter(|s| *s > 0)
            .ok_or_else(|| corrupt(format!("malformed {BLOCK_CRC32_KEY}")))?;
        let expected = self.inner.end.div_ceil(size);
        let crcs: Option<Vec<u32>> = hex
            .as_bytes()
            .chunks(8)
            .map(|c| {
                std::str::from_utf8(c)
                    .ok()
                    .filter(|c| c.len() == 8)
                    .and_then(|c| u32::from_str_radix(c, 16).ok())
            })
            .collect();
        let crcs = crcs
            .filter(|c| c.len() as u64 == expected)
            .ok_or_else(|| corrupt(format!("{BLOCK_CRC32_KEY} does not cover the data")))?;
        let _ = self.inner.blocks.set((size, crcs));
        Ok(())
    }

    /// Bytes read from disk so far (each block once).
    pub(crate) fn bytes_read(&self) -> u64 {
        self.inner.read.load(Ordering::Relaxed)
    }

    /// `result`, with a decoding error caused by a block that failed its check turned into
    /// [`Error::Corrupt`] naming it.
    pub(crate) fn explain<R>(&self, result: Result<R>) -> Result<R> {
        match result {
            Err(e) => match self.damage() {
                Some(reason) => Err(Error::Corrupt {
                    path: self.inner.path.clone(),
                    reason,
                }),
                None => Err(e),
            },
            ok => ok,
        }
    }

    fn damage(&self) -> Option<String> {
        self.inner.damage.lock().ok().and_then(|d| d.clone())
    }

    fn fail(&self, reason: String) -> ParquetError {
        if let Ok(mut d) = self.inner.damage.lock()
            && d.is_none()
        {
            *d = Some(reason.clone());
        }
        ParquetError::External(Box::new(io::Error::new(io::ErrorKind::InvalidData, reason)))
    }

    /// The checked tail.
    fn tail(&self) -> parquet::errors::Result<Bytes> {
        if let Some(tail) = self.inner.tail.get() {
            return Ok(tail.clone());
        }
        let i = &self.inner;
        let len = usize::try_from(i.size - i.end).map_err(|_| self.fail("tail too big".into()))?;
        let bytes = i.file.get_bytes(i.end, len)?;
        i.read.fetch_add(len as u64, Ordering::Relaxed);
        let actual = crc32fast::hash(&bytes);
        if actual != i.tail_crc {
            return Err(self.fail(format!(
                "bytes {}..{} (page index and footer): CRC32 is {actual:08x}, the manifest \
                 recorded {:08x} (the bytes changed after the commit)",
                i.end, i.size, i.tail_crc
            )));
        }
        Ok(i.tail.get_or_init(|| bytes).clone())
    }

    /// The checked piece holding byte `pos`: `(its first byte, its bytes)`. Reads the blocks
    /// from `pos`'s up to the one holding `until - 1` at once when none of them is checked yet.
    fn piece(&self, pos: u64, until: u64) -> parquet::errors::Result<(u64, Bytes)> {
        let i = &self.inner;
        if pos >= i.end {
            return Ok((i.end, self.tail()?));
        }
        if i.blocks.get().is_none() {
            // First data read (the leading magic, say): the block list from the checked footer.
            let metadata = ParquetMetaDataReader::new().parse_and_finish(self)?;
            self.adopt(&metadata)
                .map_err(|e| self.fail(e.to_string()))?;
        }
        let Some((size, crcs)) = i.blocks.get() else {
            return Err(self.fail("no block checksums".into()));
        };
        let first = pos / size;
        if let Some(block) = i.checked.lock().ok().and_then(|c| c.get(&first).cloned()) {
            return Ok((first * size, block));
        }
        // Read the run of unchecked blocks up to `until` in one call.
        let last = (until.min(i.end).max(pos + 1) - 1) / size;
        let mut run_end = first + 1;
        {
            let checked = i
                .checked
                .lock()
                .map_err(|_| self.fail("lock poisoned".into()))?;
            while run_end <= last && !checked.contains_key(&run_end) {
                run_end += 1;
            }
        }
        let start = first * size;
        let stop = (run_end * size).min(i.end);
        let bytes = i
            .file
            .get_bytes(start, usize::try_from(stop - start).unwrap_or(usize::MAX))?;
        i.read.fetch_add(stop - start, Ordering::Relaxed);
        let mut checked = i
            .checked
            .lock()
            .map_err(|_| self.fail("lock poisoned".into()))?;
        // The first block is returned from here, not looked up again: the cache may drop it
        // while the rest of the run goes in (or another thread's run may).
        let mut wanted = Bytes::new();
        for b in first..run_end {
            let from = usize::try_from(b * size - start).unwrap_or(0);
            let to = usize::try_from(((b + 1) * size).min(i.end) - start).unwrap_or(0);
            let block = bytes.slice(from..to);
            let expected = crcs.get(b as usize).copied().unwrap_or(0);
            let actual = crc32fast::hash(&block);
            if actual != expected {
                return Err(self.fail(format!(
                    "bytes {}..{}: CRC32 is {actual:08x}, the footer recorded {expected:08x} \
                     (the bytes changed after the commit)",
                    b * size,
                    b * size + block.len() as u64
                )));
            }
            if b == first {
                wanted = block.clone();
            }
            if checked.len() >= MAX_CACHED {
                // Pages are read once each: only blocks shared by neighbouring pages matter.
                checked.clear();
            }
            checked.insert(b, block);
        }
        Ok((start, wanted))
    }

    /// Whether the block checksums are known (the footer was read through this reader).
    pub(crate) fn adopted(&self) -> bool {
        self.inner.blocks.get().is_some()
    }
}

impl Length for VerifiedFile {
    fn len(&self) -> u64 {
        self.inner.size
    }
}

impl ChunkReader for VerifiedFile {
    type T = VerifiedRead;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(VerifiedRead {
            file: self.clone(),
            pos: start,
        })
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let end = start
            .checked_add(length as u64)
            .filter(|end| *end <= self.inner.size)
            .ok_or_else(|| {
                ParquetError::EOF(format!(
                    "range {start}+{length} is past the end of a {}-byte file",
                    self.inner.size
                ))
            })?;
        let (at, piece) = self.piece(start, end)?;
        if piece.is_empty() {
            return Err(self.fail(format!("no bytes at offset {start}")));
        }
        let from = usize::try_from(start - at).unwrap_or(0);
        if end <= at + piece.len() as u64 {
            return Ok(piece.slice(from..from + length));
        }
        let mut out = BytesMut::with_capacity(length);
        out.extend_from_slice(&piece[from..]);
        let mut pos = at + piece.len() as u64;
        while pos < end {
            let (at, piece) = self.piece(pos, end)?;
            if piece.is_empty() {
                return Err(self.fail(format!("no bytes at offset {pos}")));
            }
            let from = usize::try_from(pos - at).unwrap_or(0);
            let to = usize::try_from((end - at).min(piece.len() as u64)).unwrap_or(0);
            out.extend_from_slice(&piece[from..to]);
            pos = at + to as u64;
        }
        Ok(out.freeze())
    }
}

/// A `Read` from a position of a [`VerifiedFile`], through checked pieces.
#[derive(Debug)]
pub(crate) struct VerifiedRead {
    file: VerifiedFile,
    pos: u64,
}

impl Read for VerifiedRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.file.inner.size || buf.is_empty() {
            return Ok(0);
        }
        let until = self.pos.saturating_add(buf.len() as u64);
        let (at, piece) = self
            .file
            .piece(self.pos, until)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        let from = usize::try_from(self.pos - at).unwrap_or(0);
        let rest = piece.get(from..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicU64;

    use arrow_array::{Float64Array, RecordBatch};
    use arrow_schema::{DataType, Field, Schema};
    use parquet::file::properties::WriterProperties;

    use super::*;
    use crate::store::parquet::decode::open_listed;
    use crate::store::parquet::encode::{WriteSettings, write_file};
    use crate::store::parquet::manifest::StoredFile;

    /// One read spanning more blocks than the cache keeps returns every byte of them (the
    /// first block of the run was once looked up again after the run filled and cleared the
    /// cache: an empty block).
    #[test]
    fn a_run_longer_than_the_cache_comes_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, false)]));
        let mut v = 0x2545_f491_4f6c_dd1du64;
        let values: Vec<f64> = (0..800_000)
            .map(|_| {
                v ^= v << 13;
                v ^= v >> 7;
                v ^= v << 17;
                f64::from_bits(v >> 2)
            })
            .collect();
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![Arc::new(Float64Array::from(values))],
        )
        .unwrap();
        let props = WriterProperties::builder()
            .set_dictionary_enabled(false)
            .build();
        let path = dir.path().join("f.parquet");
        let settings = WriteSettings {
            schema: &schema,
            file_schema: &schema,
            type_name: "T",
            props: &props,
            row_group_size: 1 << 20,
            threads: 1,
        };
        let written = write_file(&path, settings, [Ok(batch)]).unwrap();
        let (end, _) = written.tail.unwrap();
        assert!(end > (MAX_CACHED as u64 + 50) * 16 * 1024, "{end}");
        let entry = StoredFile {
            name: "f.parquet".into(),
            size: written.size,
            crc32: written.crc32,
            tail: written.tail,
            rows: written.rows,
            column_bytes: Vec::new(),
            partition: Vec::new(),
        };
        let open = open_listed(dir.path(), &entry, None, &Arc::new(AtomicU64::new(0)))
            .unwrap()
            .unwrap();
        let vf = VerifiedFile::of(&open).unwrap();
        let whole = std::fs::read(&path).unwrap();
        // From inside the first block (the run starts there, the cache fills and clears on
        // the way).
        let got = vf.get_bytes(100, end as usize - 100).unwrap();
        assert_eq!(got.len(), end as usize - 100);
        assert!(got[..] == whole[100..end as usize]);
        // And again, through the blocks now cached.
        let got = vf.get_bytes(100, 40_000).unwrap();
        assert!(got[..] == whole[100..40_100]);
    }
}
