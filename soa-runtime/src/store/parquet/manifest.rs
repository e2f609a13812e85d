//! The manifest: the list of committed files and the commit sequence, in a small line format.
//!
//! ```text
//! soa-parquet-manifest 1
//! type Order
//! version 0.1.0
//! seq 7
//! next-part 3
//! file data.parquet 1234567 9a3f02c1 1000000 120033,88120,...
//! file part-000002.parquet 4567 0b1c2d3e 100 -
//! pending .soa-1234-5-data.parquet.tmp data.parquet
//! crc 5e6f7a8b
//! ```
//!
//! A partitioned store lists its partitions (`partition day(ts)`, `partition symbol`) before the
//! files, and every `file` line ends with one value per partition: `-` for null, `=` followed by
//! the value. Names and values are percent-encoded where they hold a space, `%` or a control
//! character (names of partitioned files are paths `day=2026-01-05/part-000003.parquet`).
//!
//! `file` lines are `name size crc32(hex) rows column-bytes` (compressed bytes per top-level
//! column in schema order, `-` if unknown); the checksum is `crc32:data-end:tail-crc32` for files
//! with block checksums (see [`StoredFile::tail`]); their order is the row order of the store. `pending`
//! lines name staged files that the commit renames into place after the manifest is committed
//! (roll-forward on open). The last line is the CRC32 of every byte before it, so a damaged
//! manifest is detected instead of misread.

use std::fmt::Write as _;
use std::path::Path;

use crate::error::{Error, Result};

/// File name of the manifest (a leading `_` makes dataset readers skip it).
pub(crate) const MANIFEST: &str = "_soa_manifest";
/// The single data file after `save` and `compact`.
pub(crate) const DATA_FILE: &str = "data.parquet";
const HEADER: &str = "soa-parquet-manifest 1";

/// One committed data file, as recorded in the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// File name inside the store directory (`data.parquet`, `part-000001.parquet`).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// CRC32 (IEEE, as computed by `crc32fast`) of the whole file.
    pub crc32: u32,
    /// For files whose footer lists a CRC32 per 16 KiB block of the data pages (key
    /// `soa.block_crc32`, written by this crate since 0.1): where the blocks end and the CRC32
    /// of the bytes from there to the end (page index and footer). A read that needs part of
    /// the file checks the tail and the blocks it reads instead of the whole file.
    pub tail: Option<(u64, u32)>,
    /// Rows in the file.
    pub rows: u64,
    /// Compressed bytes per top-level column, in schema order (empty if unknown).
    pub column_bytes: Vec<u64>,
    /// The partition the file belongs to: `(key, value)` per partition of the store, `None`
    /// for null (empty if the store is not partitioned).
    pub partition: Vec<(String, Option<String>)>,
}

/// The committed state of a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Manifest {
    pub type_name: String,
    pub version: String,
    pub seq: u64,
    pub next_part: u64,
    /// The partition spec, one entry per level (`day(ts)`, `symbol`); empty: unpartitioned.
    pub partitions: Vec<String>,
    pub files: Vec<StoredFile>,
    /// `(staged, final)` renames that complete the commit.
    pub pending: Vec<(String, String)>,
    /// Positions recorded with commits (`mark name value`): how far a writer's stream is in
    /// the store, e.g. the last write-ahead-log sequence number a `TieredStore` flushed.
    pub marks: Vec<(String, u64)>,
}

impl Manifest {
    pub(crate) fn empty(type_name: &str) -> Self {
        Manifest {
            type_name: type_name.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            seq: 0,
            next_part: 1,
            partitions: Vec::new(),
            files: Vec::new(),
            pending: Vec::new(),
            marks: Vec::new(),
        }
    }

    /// The position recorded under `name`.
    pub(crate) fn mark(&self, name: &str) -> Option<u64> {
        self.marks.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    /// Records `value` under `name` (replacing the previous one).
    pub(crate) fn set_mark(&mut self, name: &str, value: u64) {
        match self.marks.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.marks.push((name.to_owned(), value)),
        }
    }

    pub(crate) fn rows(&self) -> u64 {
        self.files.iter().map(|f| f.rows).sum()
    }

    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{HEADER}");
        let _ = writeln!(out, "type {}", self.type_name);
        let _ = writeln!(out, "version {}", self.version);
        let _ = writeln!(out, "seq {}", self.seq);
        let _ = writeln!(out, "next-part {}", self.next_part);
        for p in &self.partitions {
            let _ = writeln!(out, "partition {}", encode_text(p));
        }
        for (name, value) in &self.marks {
            let _ = writeln!(out, "mark {} {value}", encode_text(name));
        }
        for f in &self.files {
            let cols = if f.column_bytes.is_empty() {
                "-".to_owned()
            } else {
                let parts: Vec<String> = f.column_bytes.iter().map(u64::to_string).collect();
                parts.join(",")
            };
            let crc = match f.tail {
                Some((end, tail)) => format!("{:08x}:{end}:{tail:08x}", f.crc32),
                None => format!("{:08x}", f.crc32),
            };
            let _ = write!(
                out,
                "file {} {} {crc} {} {}",
                encode_text(&f.name),
                f.size,
                f.rows,
                cols
            );
            for (_, value) in &f.partition {
                match value {
                    Some(v) => {
                        let _ = write!(out, " ={}", encode_text(v));
                    }
                    None => out.push_str(" -"),
                }
            }
            out.push('\n');
        }
        for (staged, target) in &self.pending {
            let _ = writeln!(
                out,
                "pending {} {}",
                encode_text(staged),
                encode_text(target)
            );
        }
        let crc = crc32fast::hash(out.as_bytes());
        let _ = writeln!(out, "crc {crc:08x}");
        out
    }

    pub(crate) fn decode(text: &str, path: &Path) -> Result<Self> {
        let corrupt = |reason: String| Error::Corrupt {
            path: path.to_owned(),
            reason,
        };
        let body_end = text
            .trim_end_matches('\n')
            .rfind('\n')
            .map(|i| i + 1)
            .ok_or_else(|| corrupt("manifest is truncated (no checksum line)".into()))?;
        let (body, last) = text.split_at(body_end);
        let stored = last
            .trim_end()
            .strip_prefix("crc ")
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| corrupt("manifest is truncated (no checksum line)".into()))?;
        let actual = crc32fast::hash(body.as_bytes());
        if stored != actual {
            return Err(corrupt(format!(
                "manifest checksum mismatch (stored {stored:08x}, computed {actual:08x})"
            )));
        }
        let mut lines = body.lines();
        if lines.next() != Some(HEADER) {
            return Err(corrupt(format!(
                "not a manifest (expected first line {HEADER:?})"
            )));
        }
        let mut m = Manifest::empty("");
        for (number, line) in lines.enumerate() {
            let bad = |what: &str| corrupt(format!("line {}: {what}: {line:?}", number + 2));
            let (key, rest) = line.split_once(' ').ok_or_else(|| bad("malformed line"))?;
            match key {
                "type" => m.type_name = rest.to_owned(),
                "version" => m.version = rest.to_owned(),
                "seq" => m.seq = rest.parse().map_err(|_| bad("bad number"))?,
                "next-part" => m.next_part = rest.parse().map_err(|_| bad("bad number"))?,
                "partition" => {
                    if !m.files.is_empty() {
                        return Err(bad("a partition after the files"));
                    }
                    m.partitions
                        .push(decode_text(rest).ok_or_else(|| bad("bad partition"))?);
                }
                "file" => {
                    let fields: Vec<&str> = rest.split(' ').collect();
                    let Some((fixed, values)) = fields.split_at_checked(5) else {
                        return Err(bad("expected 5 fields"));
                    };
                    let [name, size, crc, rows, cols] = fixed[..] else {
                        return Err(bad("expected 5 fields"));
                    };
                    if values.len() != m.partitions.len() {
                        return Err(bad("expected one value per partition"));
                    }
                    let name = decode_text(name).ok_or_else(|| bad("bad file name"))?;
                    if !is_plain_name(&name) {
                        return Err(bad("bad file name"));
                    }
                    let partition = values
                        .iter()
                        .zip(&m.partitions)
                        .map(|(v, p)| {
                            let value = match *v {
                                "-" => None,
                                v => Some(
                                    v.strip_prefix('=')
                                        .and_then(decode_text)
                                        .ok_or_else(|| bad("bad partition value"))?,
                                ),
                            };
                            Ok((partition_key(p), value))
                        })
                        .collect::<Result<Vec<_>>>()?;
                    let column_bytes = if cols == "-" {
                        Vec::new()
                    } else {
                        cols.split(',')
                            .map(str::parse)
                            .collect::<Result<Vec<u64>, _>>()
                            .map_err(|_| bad("bad column sizes"))?
                    };
                    let hex = |t: &str| u32::from_str_radix(t, 16).map_err(|_| bad("bad checksum"));
                    let size: u64 = size.parse().map_err(|_| bad("bad size"))?;
                    let (crc32, tail) = match crc.split(':').collect::<Vec<_>>()[..] {
                        [whole] => (hex(whole)?, None),
                        [whole, end, tail] => {
                            let end: u64 = end.parse().map_err(|_| bad("bad checksum"))?;
                            if end > size {
                                return Err(bad("bad checksum"));
                            }
                            (hex(whole)?, Some((end, hex(tail)?)))
                        }
                        _ => return Err(bad("bad checksum")),
                    };
                    m.files.push(StoredFile {
                        name,
                        partition,
                        size,
                        crc32,
                        tail,
                        rows: rows.parse().map_err(|_| bad("bad row count"))?,
                        column_bytes,
                    });
                }
                "mark" => {
                    let (name, value) = rest.split_once(' ').ok_or_else(|| bad("malformed"))?;
                    let name = decode_text(name).ok_or_else(|| bad("bad mark name"))?;
                    let value = value.parse().map_err(|_| bad("bad mark value"))?;
                    m.marks.push((name, value));
                }
                "pending" => {
                    let (staged, target) = rest.split_once(' ').ok_or_else(|| bad("malformed"))?;
                    let (Some(staged), Some(target)) = (decode_text(staged), decode_text(target))
                    else {
                        return Err(bad("bad file name"));
                    };
                    if !is_plain_name(&staged) || !is_plain_name(&target) {
                        return Err(bad("bad file name"));
                    }
                    m.pending.push((staged, target));
                }
                _ => return Err(bad("unknown key")),
            }
        }
        Ok(m)
    }
}

/// A relative file path that stays inside the store directory: `/`-separated names, none
/// empty, `.` or `..`, no backslash or NUL.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('/').all(|part| {
            !part.is_empty() && part != "." && part != ".." && !part.contains(['\\', '\0'])
        })
}

/// The key of a partition spec entry (`day(ts) as d` -> `d`).
fn partition_key(spec: &str) -> String {
    spec.parse::<crate::store::partition::Partition>()
        .map_or_else(|_| spec.to_owned(), |p| p.key().to_owned())
}

/// Percent-encodes the bytes the line format cannot hold as they are (space, `%`, control
/// characters).
fn encode_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == ' ' || c == '%' || c.is_control() && (c as u32) < 0x80 {
            let _ = write!(out, "%{:02X}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

fn decode_text(text: &str) -> Option<String> {
    crate::store::partition::percent_decode(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let mut m = Manifest::empty("Order");
        m.seq = 3;
        m.next_part = 7;
        m.files.push(StoredFile {
            name: "data.parquet".into(),
            size: 10,
            crc32: 0xdead_beef,
            tail: Some((8, 0x0102_0304)),
            rows: 5,
            column_bytes: vec![1, 2, 3],
            partition: vec![],
        });
        m.files.push(StoredFile {
            name: "part-000006.parquet".into(),
            size: 11,
            crc32: 1,
            tail: None,
            rows: 0,
            column_bytes: vec![],
            partition: vec![],
        });
        m.pending
            .push((".soa-1-2-data.parquet.tmp".into(), "data.parquet".into()));
        m.set_mark("soa.wal", 42);
        m.set_mark("a b", 7);
        m.set_mark("soa.wal", 43);
        let text = m.encode();
        let p = Path::new("_soa_manifest");
        assert_eq!(Manifest::decode(&text, p).ok(), Some(m.clone()));
        // Partitioned: paths and values with spaces, `%`, newlines, `-`, empty and null.
        let mut parted = m.clone();
        parted.partitions = vec!["day(ts) as d".into(), "sym".into()];
        for f in &mut parted.files {
            f.name = format!("d=2026-01-05/sym=a b%2F\n-/{}", f.name);
            f.partition = vec![
                ("d".into(), Some("2026-01-05".into())),
                ("sym".into(), None),
            ];
        }
        parted.files[1].partition[1].1 = Some("a b%2F\n-".into());
        parted.files[0].partition[1].1 = Some(String::new());
        let back = Manifest::decode(&parted.encode(), p).unwrap();
        assert_eq!(back, parted);
        // A path leaving the directory is refused.
        let mut evil = m.clone();
        evil.files[0].name = "../x/part-000001.parquet".into();
        assert!(matches!(
            Manifest::decode(&evil.encode(), p),
            Err(Error::Corrupt { .. })
        ));
        let damaged = text.replacen("rows", "rowz", 1).replacen(" 5 ", " 6 ", 1);
        assert!(matches!(
            Manifest::decode(&damaged, p),
            Err(Error::Corrupt { .. })
        ));
        let truncated = &text[..text.len() / 2];
        assert!(matches!(
            Manifest::decode(truncated, p),
            Err(Error::Corrupt { .. })
        ));
        assert!(matches!(
            Manifest::decode("", p),
            Err(Error::Corrupt { .. })
        ));
    }
}
