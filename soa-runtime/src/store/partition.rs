//! Partitioning: which directory (Parquet) or `partitionValues` (Delta) a row goes to.
//!
//! A store is partitioned by a list of [`Partition`]s, each a column of the row type and a
//! [`Transform`]: the column's value itself (`identity`), the `year`, `month`, `day` or `hour` of
//! a timestamp or date (UTC), or `bucket(N)` of any integer, string, enum, boolean or date
//! column. Every partition has a key (the column name for `identity`, the transform's name
//! otherwise, or the name given with `as`): the directory level `key=value/` of the files.
//!
//! Values are written as text: integers in decimal, booleans `true`/`false`, strings and enum
//! variants as they are, dates `YYYY-MM-DD`; `year` `2026`, `month` `2026-01`, `day`
//! `2026-01-05`, `hour` `2026-01-05-13`, `bucket` the bucket number. Directory names escape them
//! as Hive and Spark do ([`escape`]); null (and, as in Hive, the empty string) is
//! `__HIVE_DEFAULT_PARTITION__`. The store's own manifest or log keeps each file's values
//! exactly, typed by the column, so `"007"` stays the string `"007"` and `""` stays apart from
//! null whatever the directory says.

use std::collections::HashMap;

/// A fast, fixed-seed hasher for grouping rows (values are ours, not an attacker's key set that
/// matters: the worst case is a slower split).
type Fast = ahash::RandomState;

fn fast() -> Fast {
    ahash::RandomState::with_seeds(0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344)
}
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow_schema::{DataType, Schema, SchemaRef, TimeUnit};

use crate::error::{Error, Result};
use crate::store::cluster::{self, Cluster};
use crate::store::prune::ColumnStats;

/// What a partition takes from its column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transform {
    /// The value itself (integers, booleans, strings, unit enums, dates).
    Identity,
    /// The year of a timestamp or date (UTC): `2026`.
    Year,
    /// The month of a timestamp or date (UTC): `2026-01`.
    Month,
    /// The day of a timestamp or date (UTC): `2026-01-05`.
    Day,
    /// The hour of a timestamp (UTC): `2026-01-05-13`.
    Hour,
    /// `crc32(value) % N` (integers and dates as little-endian `i64`, strings and enum variants
    /// as UTF-8, booleans as 0 / 1): spreads a column of many values over `N` directories.
    Bucket(u32),
}

impl Transform {
    fn name(self) -> &'static str {
        match self {
            Transform::Identity => "identity",
            Transform::Year => "year",
            Transform::Month => "month",
            Transform::Day => "day",
            Transform::Hour => "hour",
            Transform::Bucket(_) => "bucket",
        }
    }
}

/// One level of partitioning: a column, a [`Transform`] and the key of its directories.
///
/// Written in Rust (`Partition::day("ts")`) or as text (`"day(ts)"`, `"symbol"`,
/// `"bucket(16, id)"`, `"day(ts) as date"`), which is also what [`Display`](fmt::Display)
/// prints and what `#[soa(partition = "...")]` takes.
///
/// ```
/// use soa_runtime::store::partition::Partition;
/// let p: Partition = "day(ts) as date".parse().unwrap();
/// assert_eq!(p, Partition::day("ts").named("date"));
/// assert_eq!(p.key(), "date");
/// assert_eq!(Partition::column("symbol").key(), "symbol");
/// assert_eq!(Partition::bucket(16, "id").to_string(), "bucket(16, id)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Partition {
    column: String,
    transform: Transform,
    key: Option<String>,
}

impl Partition {
    fn new(column: impl Into<String>, transform: Transform) -> Self {
        Partition {
            column: column.into(),
            transform,
            key: None,
        }
    }

    /// By the column's value (directory `column=value`).
    pub fn column(column: impl Into<String>) -> Self {
        Partition::new(column, Transform::Identity)
    }

    /// By the year of a timestamp or date column (directory `year=2026`).
    pub fn year(column: impl Into<String>) -> Self {
        Partition::new(column, Transform::Year)
    }

    /// By the month of a timestamp or date column (directory `month=2026-01`).
    pub fn month(column: impl Into<String>) -> Self {
        Partition::new(column, Transform::Month)
    }

    /// By the day of a timestamp or date column (directory `day=2026-01-05`).
    pub fn day(column: impl Into<String>) -> Self {
        Partition::new(column, Transform::Day)
    }

    /// By the hour of a timestamp column (directory `hour=2026-01-05-13`).
    pub fn hour(column: impl Into<String>) -> Self {
        Partition::new(column, Transform::Hour)
    }

    /// Into `buckets` buckets by a hash of the column (directory `bucket=7`).
    pub fn bucket(buckets: u32, column: impl Into<String>) -> Self {
        Partition::new(column, Transform::Bucket(buckets))
    }

    /// The same partition with directories named `key=...`.
    #[must_use]
    pub fn named(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// The column the partition is computed from.
    pub fn source(&self) -> &str {
        &self.column
    }

    /// The transform.
    pub fn transform(&self) -> Transform {
        self.transform
    }

    /// The key of the partition's directories (`key=value`).
    pub fn key(&self) -> &str {
        match (&self.key, self.transform) {
            (Some(key), _) => key,
            (None, Transform::Identity) => &self.column,
            (None, t) => t.name(),
        }
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.transform {
            Transform::Identity => write!(f, "{}", self.column)?,
            Transform::Bucket(n) => write!(f, "bucket({n}, {})", self.column)?,
            t => write!(f, "{}({})", t.name(), self.column)?,
        }
        if let Some(key) = &self.key {
            write!(f, " as {key}")?;
        }
        Ok(())
    }
}

impl FromStr for Partition {
    type Err = Error;

    /// Parses `column`, `year(c)`, `month(c)`, `day(c)`, `hour(c)`, `bucket(N, c)`,
    /// `identity(c)`, each optionally followed by ` as key`.
    fn from_str(text: &str) -> Result<Self> {
        let bad = |reason: &str| Error::InvalidOption {
            option: "partition_by",
            reason: format!(
                "{text:?}: {reason} (expected `column`, `day(column)`, `month(..)`, `year(..)`, `hour(..)` or `bucket(N, column)`, optionally followed by ` as key`)"
            ),
        };
        let (body, key) = match text.rsplit_once(" as ") {
            Some((body, key)) => (body.trim(), Some(key.trim())),
            None => (text.trim(), None),
        };
        let plain = |s: &str| !s.is_empty() && !s.contains(['(', ')', ',', ' ']);
        let partition =
            match body.split_once('(') {
                None if plain(body) => Partition::column(body),
                None => return Err(bad("not a column name")),
                Some((name, rest)) => {
                    let inner = rest
                        .strip_suffix(')')
                        .ok_or_else(|| bad("missing `)`"))?
                        .trim();
                    let column = |c: &str| {
                        let c = c.trim();
                        if plain(c) {
                            Ok(c.to_owned())
                        } else {
                            Err(bad("not a column name"))
                        }
                    };
                    match name.trim() {
                        "identity" => Partition::column(column(inner)?),
                        "year" => Partition::year(column(inner)?),
                        "month" => Partition::month(column(inner)?),
                        "day" => Partition::day(column(inner)?),
                        "hour" => Partition::hour(column(inner)?),
                        "bucket" => {
                            let (n, c) = inner
                                .split_once(',')
                                .ok_or_else(|| bad("bucket takes a count and a column"))?;
                            let n: u32 =
                                n.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                                    bad("the bucket count is not a positive integer")
                                })?;
                            Partition::bucket(n, column(c)?)
                        }
                        _ => return Err(bad("unknown transform")),
                    }
                }
            };
        Ok(match key {
            Some(key) if plain(key) && escape(key) == key => partition.named(key),
            Some(_) => return Err(bad("not a key name")),
            None => partition,
        })
    }
}

impl From<&Partition> for Partition {
    fn from(p: &Partition) -> Self {
        p.clone()
    }
}

/// One partition of a store, from its manifest or log (`ParquetStore::partitions`,
/// `DeltaStore::partitions`): no data file is read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartitionInfo {
    /// `(key, value)` per partition level (`None`: null).
    pub values: Vec<(String, Option<String>)>,
    /// Its directory: the absolute path for a `ParquetStore`, relative to the table root for a
    /// `DeltaStore`.
    pub dir: std::path::PathBuf,
    /// Data files in it.
    pub files: usize,
    /// Rows in it (from the statistics for Delta files; files without are not counted).
    pub rows: u64,
    /// Bytes of its files.
    pub bytes: u64,
}

/// The Hive/Spark escaping of a directory name part: control characters, `"#%'*/:=?\{[]^` and
/// DEL become `%XX` (uppercase hex); everything else, unicode included, stays.
///
/// ```
/// use soa_runtime::store::partition::{escape, unescape};
/// assert_eq!(escape("a/b=c"), "a%2Fb%3Dc");
/// assert_eq!(escape("../../etc"), "..%2F..%2Fetc");
/// assert_eq!(unescape("a%2Fb%3Dc"), "a/b=c");
/// ```
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        let special = matches!(
            c,
            '\0'..='\x1f'
                | '"'
                | '#'
                | '%'
                | '\''
                | '*'
                | '/'
                | ':'
                | '='
                | '?'
                | '\\'
                | '\x7f'
                | '{'
                | '['
                | ']'
                | '^'
        );
        if special {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Reverses [`escape`] (a `%` not followed by two hex digits stays as it is, as in Hive).
pub fn unescape(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Strict percent-decoding (`%XX` with two hex digits, the result UTF-8), for the store's own
/// encodings (manifest lines, Delta action paths): `None` for anything else.
pub(crate) fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The directory name Hive and Spark give null and empty partition values.
pub const HIVE_NULL: &str = "__HIVE_DEFAULT_PARTITION__";

/// Longest `key=value` directory name written (file systems allow 255 bytes per name).
const MAX_DIR_NAME: usize = 240;

/// A partition spec resolved against a row type's schema.
#[derive(Debug, Clone)]
pub(crate) struct PartitionSpec {
    pub fields: Vec<PartField>,
}

#[derive(Debug, Clone)]
pub(crate) struct PartField {
    pub partition: Partition,
    /// Index of the source column in the row schema.
    pub index: usize,
    pub data_type: DataType,
}

impl PartitionSpec {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Checks `parts` against `schema`: every source a top-level column of a type its transform
    /// takes, every key distinct and (for transforms) not a column name.
    pub fn resolve(
        parts: &[Partition],
        schema: &SchemaRef,
        type_name: &'static str,
        store: &'static str,
    ) -> Result<Self> {
        let mut fields: Vec<PartField> = Vec::with_capacity(parts.len());
        for p in parts {
            let bad = |reason: String| Error::InvalidOption {
                option: "partition_by",
                reason: format!("{type_name}: `{p}`: {reason}"),
            };
            let index = schema
                .index_of(p.source())
                .map_err(|_| Error::UnknownColumn {
                    type_name,
                    column: p.source().to_owned(),
                    available: schema.fields().iter().map(|f| f.name().clone()).collect(),
                })?;
            let data_type = schema.field(index).data_type().clone();
            if !takes(p.transform, &data_type) {
                return Err(Error::UnsupportedType {
                    store,
                    type_name,
                    column: p.source().to_owned(),
                    data_type: data_type.to_string(),
                    reason: match p.transform {
                        Transform::Identity => "a partition column must be an integer, boolean, \
                            string, unit enum or date (partition a timestamp by `day`, `hour`, \
                            `month` or `year`, anything else by `bucket(N)`)"
                            .into(),
                        Transform::Bucket(_) => "`bucket` takes integer, boolean, string, enum \
                            and date columns"
                            .into(),
                        Transform::Hour => "`hour` takes timestamp columns".into(),
                        _ => format!("`{}` takes timestamp and date columns", p.transform.name()),
                    },
                });
            }
            let key = p.key();
            if key.starts_with(['_', '.']) {
                return Err(bad(format!(
                    "the key {key:?} starts with `{}`: Hive readers (pyarrow, pandas, Spark) skip \
                     such directories (name it with `as`)",
                    &key[..1]
                )));
            }
            if key.is_empty() || escape(key) != key {
                return Err(bad(format!(
                    "the key {key:?} is not a plain name (no `=`, `/`, `%`, quotes or control \
                     characters)"
                )));
            }
            if fields.iter().any(|f| f.partition.key() == key) {
                return Err(bad(format!("two partitions have the key {key:?}")));
            }
            if fields
                .iter()
                .any(|f| f.index == index && f.partition.transform == Transform::Identity)
                || (p.transform == Transform::Identity && fields.iter().any(|f| f.index == index))
            {
                return Err(bad(format!("column {:?} is partitioned twice", p.source())));
            }
            if p.transform != Transform::Identity && schema.index_of(key).is_ok() {
                return Err(bad(format!(
                    "the key {key:?} is also a column name (name it with `as`, e.g. \
                     `{}({}) as {}_{key}`)",
                    p.transform.name(),
                    p.source(),
                    p.source()
                )));
            }
            fields.push(PartField {
                partition: p.clone(),
                index,
                data_type,
            });
        }
        Ok(PartitionSpec { fields })
    }

    /// The keys, in order.
    pub fn keys(&self) -> Vec<String> {
        self.fields
            .iter()
            .map(|f| f.partition.key().to_owned())
            .collect()
    }

    /// The spec as text (one entry per partition), as the manifest stores it.
    pub fn texts(&self) -> Vec<String> {
        self.fields
            .iter()
            .map(|f| f.partition.to_string())
            .collect()
    }

    /// `true` if column `name` is an identity partition column (not stored in data files).
    pub fn is_identity_column(&self, name: &str) -> bool {
        self.fields
            .iter()
            .any(|f| f.partition.transform == Transform::Identity && f.partition.source() == name)
    }

    /// The schema of the data files: `schema` without the identity partition columns.
    pub fn data_schema(&self, schema: &SchemaRef) -> SchemaRef {
        if !self
            .fields
            .iter()
            .any(|f| f.partition.transform == Transform::Identity)
        {
            return Arc::clone(schema);
        }
        let fields: Vec<_> = schema
            .fields()
            .iter()
            .filter(|f| !self.is_identity_column(f.name()))
            .cloned()
            .collect();
        Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
    }

    /// Removes the identity partition columns from a batch of the row type.
    pub fn data_batch(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let keep: Vec<usize> = (0..batch.num_columns())
            .filter(|&i| !self.is_identity_column(batch.schema().field(i).name()))
            .collect();
        if keep.len() == batch.num_columns() {
            return Ok(batch.clone());
        }
        batch
            .project(&keep)
            .map_err(|e| Error::arrow("removing the partition columns", e))
    }

    /// Splits a batch of the row type by partition: each group's values and rows (in their
    /// order), groups in order of first appearance.
    /// With `cluster`, the rows of each group are in cluster order (stable).
    pub fn split(
        &self,
        batch: &RecordBatch,
        type_name: &'static str,
        cluster: &Cluster,
    ) -> Result<Vec<(Vec<Option<String>>, Rows)>> {
        let rows = batch.num_rows();
        let mut ids: Vec<u32> = vec![0; rows];
        let mut values: Vec<Vec<Option<String>>> = vec![Vec::new()];
        for field in &self.fields {
            let column = batch.column(field.index);
            let (column_ids, column_values) =
                keys_of(column, field.partition.transform).map_err(|reason| Error::OutOfRange {
                    type_name,
                    column: field.partition.source().to_owned(),
                    reason,
                })?;
            // Combine: the pair (group so far, this column's id) -> new group.
            let mut combined: HashMap<(u32, u32), u32, Fast> = HashMap::with_hasher(fast());
            let mut next_values: Vec<Vec<Option<String>>> = Vec::new();
            let mut last: Option<((u32, u32), u32)> = None;
            for (id, c) in ids.iter_mut().zip(&column_ids) {
                let pair = (*id, *c);
                let group = match last {
                    Some((p, g)) if p == pair => g,
                    _ => {
                        let g = *combined.entry(pair).or_insert_with(|| {
                            let mut v = values[pair.0 as usize].clone();
                            v.push(column_values[pair.1 as usize].clone());
                            next_values.push(v);
                            (next_values.len() - 1) as u32
                        });
                        last = Some((pair, g));
                        g
                    }
                };
                *id = group;
            }
            values = next_values;
            if rows == 0 {
                values = Vec::new();
            }
        }
        for (field, group) in self.fields.iter().zip(0..) {
            for v in &values {
                if let Some(Some(text)) = v.get(group) {
                    let name = format!("{}={}", field.partition.key(), escape(text));
                    if name.len() > MAX_DIR_NAME {
                        return Err(Error::OutOfRange {
                            type_name,
                            column: field.partition.source().to_owned(),
                            reason: format!(
                                "a partition value of {} bytes makes a directory name of {} \
                                 bytes (at most {MAX_DIR_NAME}): partition this column by \
                                 `bucket(N)` instead",
                                text.len(),
                                name.len()
                            ),
                        });
                    }
                }
            }
        }
        let groups = values.len();
        let ranks = cluster.ranks(batch)?;
        // Rows sorted by (group, cluster rank), stably: one key per row.
        let (keys, buckets) = match &ranks {
            None => (ids, groups),
            Some((ranks, n)) => {
                let n = (*n).max(1);
                let bound = groups.saturating_mul(n);
                if bound <= rows.saturating_mul(4).max(1 << 16) {
                    let keys = ids
                        .iter()
                        .zip(ranks)
                        .map(|(id, r)| *id * n as u32 + *r)
                        .collect();
                    (keys, bound)
                } else {
                    // Too many (group, rank) pairs for a counting sort: a stable sort.
                    let mut order: Vec<u32> = (0..rows as u32).collect();
                    order.sort_by_key(|r| (ids[*r as usize], ranks[*r as usize]));
                    let mut starts = vec![0usize; groups + 1];
                    for id in &ids {
                        starts[*id as usize + 1] += 1;
                    }
                    for i in 1..starts.len() {
                        starts[i] += starts[i - 1];
                    }
                    return Ok(gathers(values, batch, order, &starts));
                }
            }
        };
        let per_group = |starts: &[usize]| -> Vec<usize> {
            match &ranks {
                None => starts.to_vec(),
                Some((_, n)) => {
                    let n = (*n).max(1);
                    (0..=groups).map(|g| starts[g * n]).collect()
                }
            }
        };
        // Rows already in order (ids are numbered by first appearance, so in order means
        // non-decreasing: time-sorted rows by day, for example): zero-copy slices.
        if keys.windows(2).all(|w| w[0] <= w[1]) {
            if groups <= 1 {
                return Ok(values
                    .into_iter()
                    .map(|v| (v, Rows::Slice(batch.clone())))
                    .collect());
            }
            let mut starts = vec![0usize; buckets + 1];
            for k in &keys {
                starts[*k as usize + 1] += 1;
            }
            for i in 1..starts.len() {
                starts[i] += starts[i - 1];
            }
            return Ok(slices(values, batch, &per_group(&starts)));
        }
        // One stable counting sort of the rows; each group's rows are gathered (one `take` per
        // column) when its file is written, on the thread that encodes it.
        let (order, starts) = cluster::counting_order(&keys, buckets);
        Ok(gathers(values, batch, order, &per_group(&starts)))
    }

    /// Files grouped into partitions, in order of first appearance: each file as its
    /// `(key, value)`s (in the spec's order), rows and bytes; `root` joined with the partition's
    /// directory (`root` itself when unpartitioned).
    pub fn infos(
        &self,
        root: &std::path::Path,
        files: impl IntoIterator<Item = (Vec<(String, Option<String>)>, u64, u64)>,
    ) -> Vec<PartitionInfo> {
        let mut out: Vec<PartitionInfo> = Vec::new();
        for (values, rows, bytes) in files {
            let slot = match out.iter().position(|p| p.values == values) {
                Some(slot) => slot,
                None => {
                    let texts: Vec<Option<String>> =
                        values.iter().map(|(_, v)| v.clone()).collect();
                    let dir = if texts.is_empty() {
                        root.to_path_buf()
                    } else {
                        root.join(self.dir(&texts))
                    };
                    out.push(PartitionInfo {
                        values,
                        dir,
                        files: 0,
                        rows: 0,
                        bytes: 0,
                    });
                    out.len() - 1
                }
            };
            let info = &mut out[slot];
            info.files += 1;
            info.rows += rows;
            info.bytes += bytes;
        }
        out
    }

    /// The relative directory of a partition: `key=value/key=value`.
    pub fn dir(&self, values: &[Option<String>]) -> String {
        let parts: Vec<String> = self
            .fields
            .iter()
            .zip(values)
            .map(|(f, v)| {
                let value = match v {
                    Some(v) if !v.is_empty() => escape(v),
                    _ => HIVE_NULL.to_owned(),
                };
                format!("{}={value}", f.partition.key())
            })
            .collect();
        parts.join("/")
    }

    /// The column of `rows` copies of an identity partition value, of the column's type.
    pub fn constant_column(
        &self,
        column: &str,
        value: Option<&str>,
        rows: usize,
    ) -> Result<Option<ArrayRef>> {
        let Some(field) = self.fields.iter().find(|f| {
            f.partition.transform == Transform::Identity && f.partition.source() == column
        }) else {
            return Ok(None);
        };
        text_column(value, &field.data_type, rows).map(Some)
    }

    /// A decoded batch with the identity partition columns its file does not hold, built from
    /// the file's partition `values`, in the order of `columns` (every column of `schema`, the
    /// row type's, if `None`).
    pub fn complete(
        &self,
        batch: RecordBatch,
        schema: &SchemaRef,
        values: &[(String, Option<String>)],
        columns: Option<&[String]>,
    ) -> Result<RecordBatch> {
        let names: Vec<&str> = match columns {
            Some(names) => names.iter().map(String::as_str).collect(),
            None => schema.fields().iter().map(|f| f.name().as_str()).collect(),
        };
        let have = batch.schema();
        let rows = batch.num_rows();
        let mut fields = Vec::with_capacity(names.len());
        let mut arrays = Vec::with_capacity(names.len());
        for name in names {
            if let Ok(i) = have.index_of(name) {
                fields.push(Arc::clone(&have.fields()[i]));
                arrays.push(Arc::clone(batch.column(i)));
                continue;
            }
            let value = self
                .fields
                .iter()
                .position(|f| {
                    f.partition.source() == name && f.partition.transform == Transform::Identity
                })
                .and_then(|i| values.get(i))
                .and_then(|(_, v)| v.as_deref());
            if let (Some(column), Ok(field)) = (
                self.constant_column(name, value, rows)?,
                schema.field_with_name(name),
            ) {
                fields.push(Arc::new(field.clone()));
                arrays.push(column);
            }
        }
        let out = Arc::new(Schema::new_with_metadata(fields, have.metadata().clone()));
        let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(out, arrays, &options)
            .map_err(|e| Error::arrow("restoring the partition columns", e))
    }

    /// Statistics of the source columns over `n` units (files) from their partition values:
    /// an identity column is its value, a time transform bounds its column to the period.
    pub fn stats<'a>(
        &'a self,
        units: &'a [(&'a [Option<String>], u64)],
    ) -> impl FnMut(&str) -> Option<ColumnStats> + 'a {
        move |name: &str| {
            let mut best: Option<ColumnStats> = None;
            for (i, field) in self.fields.iter().enumerate() {
                if field.partition.source() != name {
                    continue;
                }
                let stats = match field.partition.transform {
                    Transform::Identity => identity_stats(field, i, units),
                    Transform::Bucket(_) => None,
                    t => period_stats(field, t, i, units),
                };
                // Identity bounds are exact; prefer them to a period's.
                if best.is_none() || field.partition.transform == Transform::Identity {
                    best = stats.or(best);
                }
            }
            best
        }
    }
}

fn takes(transform: Transform, data_type: &DataType) -> bool {
    let temporal = matches!(
        data_type,
        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64
    );
    let plain = data_type.is_integer()
        || matches!(
            data_type,
            DataType::Boolean
                | DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
                | DataType::Date32
        )
        || matches!(data_type, DataType::Dictionary(k, v)
            if k.is_integer() && matches!(v.as_ref(), DataType::Utf8 | DataType::LargeUtf8));
    match transform {
        Transform::Identity | Transform::Bucket(_) => plain,
        Transform::Hour => matches!(data_type, DataType::Timestamp(_, _)),
        _ => temporal,
    }
}

/// `rows` copies of a value of `data_type` given as partition text (null for `None`).
pub(crate) fn text_column(
    value: Option<&str>,
    data_type: &DataType,
    rows: usize,
) -> Result<ArrayRef> {
    let one = typed_value(value, data_type)?;
    let zeros = UInt32Array::from(vec![0u32; rows]);
    arrow_select::take::take(&one, &zeros, None)
        .map_err(|e| Error::arrow("restoring a partition column", e))
}

/// One value of `data_type` from its partition text.
fn typed_value(value: Option<&str>, data_type: &DataType) -> Result<ArrayRef> {
    let text: ArrayRef = Arc::new(StringArray::from(vec![value]));
    let options = arrow_cast::CastOptions {
        safe: false,
        ..Default::default()
    };
    arrow_cast::cast_with_options(&text, data_type, &options)
        .map_err(|e| Error::arrow(format!("reading the partition value {value:?}"), e))
}

fn identity_stats(
    field: &PartField,
    i: usize,
    units: &[(&[Option<String>], u64)],
) -> Option<ColumnStats> {
    let texts: Vec<Option<&str>> = units
        .iter()
        .map(|(v, _)| v.get(i).and_then(|v| v.as_deref()))
        .collect();
    let target = match &field.data_type {
        DataType::Dictionary(_, v) => v.as_ref().clone(),
        other => other.clone(),
    };
    let text: ArrayRef = Arc::new(StringArray::from(texts));
    let values = arrow_cast::cast(&text, &target).ok()?;
    let null_counts: UInt64Array = units
        .iter()
        .zip(0..)
        .map(|((v, rows), _)| {
            Some(if v.get(i).is_some_and(Option::is_none) {
                *rows
            } else {
                0
            })
        })
        .collect();
    Some(ColumnStats {
        mins: Arc::clone(&values),
        maxes: values,
        null_counts: Some(null_counts),
        row_counts: Some(units.iter().map(|(_, r)| Some(*r)).collect()),
    })
}

/// `[start, end)` of a period in days since the epoch (hours for `Hour`: in hours).
fn period_stats(
    field: &PartField,
    transform: Transform,
    i: usize,
    units: &[(&[Option<String>], u64)],
) -> Option<ColumnStats> {
    // Bounds in microseconds or days, per unit.
    let (mul, div) = match &field.data_type {
        DataType::Date32 => (1, 86_400),
        DataType::Date64 => (1000, 1),
        DataType::Timestamp(TimeUnit::Second, _) => (1, 1),
        DataType::Timestamp(TimeUnit::Millisecond, _) => (1000, 1),
        DataType::Timestamp(TimeUnit::Microsecond, _) => (1_000_000, 1),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => (1_000_000_000, 1),
        _ => return None,
    };
    // `[start, end - 1]` in the source column's unit.
    let bounds: Vec<Option<(i64, i64)>> = units
        .iter()
        .map(|(v, _)| {
            let (start, end, unit_seconds) = period_of(transform, v.get(i)?.as_deref()?)?;
            let scale = |x: i64| {
                x.checked_mul(unit_seconds)?
                    .checked_mul(mul)
                    .map(|v| v / div)
            };
            Some((scale(start)?, scale(end)?.checked_sub(1)?))
        })
        .collect();
    let (mins, maxes): (Vec<Option<i64>>, Vec<Option<i64>>) = bounds
        .iter()
        .map(|b| (b.map(|b| b.0), b.map(|b| b.1)))
        .unzip();
    let as_type = |v: Vec<Option<i64>>| -> Option<ArrayRef> {
        let a: ArrayRef = Arc::new(arrow_array::Int64Array::from(v));
        match &field.data_type {
            DataType::Date32 => {
                let a = arrow_cast::cast(&a, &DataType::Int32).ok()?;
                arrow_cast::cast(&a, &DataType::Date32).ok()
            }
            other => arrow_cast::cast(&a, other).ok(),
        }
    };
    Some(ColumnStats {
        mins: as_type(mins)?,
        maxes: as_type(maxes)?,
        null_counts: None,
        row_counts: None,
    })
}

/// `(start, end, unit seconds)` of a period from its text: days for year/month/day, hours for
/// hour.
fn period_of(transform: Transform, text: &str) -> Option<(i64, i64, i64)> {
    let num = |s: &str| s.parse::<i64>().ok();
    match transform {
        Transform::Year => {
            let y = num(text)?;
            Some((
                days_from_civil(y, 1, 1),
                days_from_civil(y + 1, 1, 1),
                86_400,
            ))
        }
        Transform::Month => {
            let (y, m) = text.rsplit_once('-')?;
            let (y, m) = (num(y)?, num(m)?);
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            Some((days_from_civil(y, m, 1), days_from_civil(ny, nm, 1), 86_400))
        }
        Transform::Day => {
            let d = parse_date(text)?;
            Some((d, d + 1, 86_400))
        }
        Transform::Hour => {
            let (date, h) = text.rsplit_once('-')?;
            let h = days_from_date_text(date)? * 24 + num(h)?;
            Some((h, h + 1, 3_600))
        }
        _ => None,
    }
}

fn days_from_date_text(text: &str) -> Option<i64> {
    parse_date(text)
}

fn parse_date(text: &str) -> Option<i64> {
    // `-0001-01-01` style years are written with a leading `-`.
    let (sign, rest) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text),
    };
    let mut parts = rest.splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    Some(days_from_civil(sign * y, m, d))
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day number.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn date_text(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{}-{m:02}-{d:02}", year_text(y))
}

fn year_text(y: i64) -> String {
    if y < 0 {
        format!("-{:04}", -y)
    } else {
        format!("{y:04}")
    }
}

/// Dense ids per row and the text of each id, for one column under a transform. Consecutive
/// equal values (sorted or clustered data) cost one comparison each.
/// The rows of one group of [`PartitionSpec::split`]: a zero-copy slice of the batch, or the
/// batch and the rows to gather from it (in order), taken when the group is written.
#[derive(Debug, Clone)]
pub(crate) enum Rows {
    Slice(RecordBatch),
    Gather(RecordBatch, UInt32Array),
}

impl Rows {
    pub fn num_rows(&self) -> usize {
        match self {
            Rows::Slice(b) => b.num_rows(),
            Rows::Gather(_, rows) => rows.len(),
        }
    }

    /// The rows as a batch.
    pub fn materialize(self) -> Result<RecordBatch> {
        match self {
            Rows::Slice(b) => Ok(b),
            Rows::Gather(b, rows) => cluster::take(&b, &rows, 1),
        }
    }
}

/// Each group's rows: zero-copy slices; `starts` has one entry per group plus the end.
fn slices(
    values: Vec<Vec<Option<String>>>,
    batch: &RecordBatch,
    starts: &[usize],
) -> Vec<(Vec<Option<String>>, Rows)> {
    values
        .into_iter()
        .enumerate()
        .map(|(g, v)| {
            (
                v,
                Rows::Slice(batch.slice(starts[g], starts[g + 1] - starts[g])),
            )
        })
        .collect()
}

/// Each group's rows to gather from `batch`: `order` holds the rows of every group in turn,
/// `starts` where each group's begin (plus the end).
fn gathers(
    values: Vec<Vec<Option<String>>>,
    batch: &RecordBatch,
    order: Vec<u32>,
    starts: &[usize],
) -> Vec<(Vec<Option<String>>, Rows)> {
    let order = UInt32Array::from(order);
    values
        .into_iter()
        .enumerate()
        .map(|(g, v)| {
            let rows = order.slice(starts[g], starts[g + 1] - starts[g]);
            (v, Rows::Gather(batch.clone(), rows))
        })
        .collect()
}

fn keys_of(
    column: &ArrayRef,
    transform: Transform,
) -> std::result::Result<(Vec<u32>, Vec<Option<String>>), String> {
    match transform {
        Transform::Identity => identity_keys(column),
        Transform::Bucket(n) => {
            let hashes = bucket_hashes(column)?;
            let ints: Vec<Option<i64>> = hashes
                .into_iter()
                .map(|h| h.map(|h| i64::from(h % n)))
                .collect();
            Ok(int_keys(ints.into_iter(), |v| v.to_string()))
        }
        t => {
            if matches!(t, Transform::Day | Transform::Hour)
                && let Some(keys) = fast_periods(column, t)
            {
                return Ok(keys);
            }
            let seconds = seconds_of(column)?;
            let (per, format): (i64, fn(i64) -> String) = match t {
                Transform::Hour => (3_600, |h| {
                    format!("{}-{:02}", date_text(h.div_euclid(24)), h.rem_euclid(24))
                }),
                _ => (86_400, date_text),
            };
            let periods = seconds.map(|s| s.map(|s| s.div_euclid(per)));
            match t {
                Transform::Day | Transform::Hour => Ok(int_keys(periods, format)),
                Transform::Month => {
                    let months = periods.map(|d| {
                        d.map(|d| {
                            let (y, m, _) = civil_from_days(d);
                            y * 12 + (m - 1)
                        })
                    });
                    Ok(int_keys(months, |m| {
                        format!(
                            "{}-{:02}",
                            year_text(m.div_euclid(12)),
                            m.rem_euclid(12) + 1
                        )
                    }))
                }
                _ => {
                    let years = periods.map(|d| d.map(|d| civil_from_days(d).0));
                    Ok(int_keys(years, year_text))
                }
            }
        }
    }
}

/// `day`/`hour` keys of a timestamp column without nulls, in one tight pass over its values.
fn fast_periods(
    column: &ArrayRef,
    transform: Transform,
) -> Option<(Vec<u32>, Vec<Option<String>>)> {
    if column.null_count() > 0 {
        return None;
    }
    let per_second: i64 = match column.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => 1,
        DataType::Timestamp(TimeUnit::Millisecond, _) => 1_000,
        DataType::Timestamp(TimeUnit::Microsecond, _) => 1_000_000,
        DataType::Timestamp(TimeUnit::Nanosecond, _) => 1_000_000_000,
        _ => return None,
    };
    let period = per_second
        * if transform == Transform::Hour {
            3_600
        } else {
            86_400
        };
    let values = column
        .to_data()
        .buffers()
        .first()?
        .typed_data::<i64>()
        .get(column.offset()..column.offset() + column.len())?
        .to_vec();
    let format: fn(i64) -> String = if transform == Transform::Hour {
        |h| format!("{}-{:02}", date_text(h.div_euclid(24)), h.rem_euclid(24))
    } else {
        date_text
    };
    let mut ids = Vec::with_capacity(values.len());
    let mut seen: HashMap<i64, u32, Fast> = HashMap::with_hasher(fast());
    let mut texts = Vec::new();
    let mut current: Option<(i64, i64, u32)> = None; // [lo, hi) of the last period, its id
    for v in values {
        let id = match current {
            Some((lo, hi, id)) if v >= lo && v < hi => id,
            _ => {
                let p = v.div_euclid(period);
                let id = *seen.entry(p).or_insert_with(|| {
                    texts.push(Some(format(p)));
                    (texts.len() - 1) as u32
                });
                // Near the ends of the i64 range the bounds do not exist: no shortcut there.
                current = p
                    .checked_mul(period)
                    .map(|lo| (lo, lo.saturating_add(period), id));
                id
            }
        };
        ids.push(id);
    }
    Some((ids, texts))
}

/// Seconds since the epoch (floored) of a timestamp or date column, per row.
fn seconds_of(
    column: &ArrayRef,
) -> std::result::Result<Box<dyn Iterator<Item = Option<i64>> + '_>, String> {
    fn floor(v: i64, per_second: i64) -> i64 {
        v.div_euclid(per_second)
    }
    Ok(match column.data_type() {
        DataType::Date32 => Box::new(
            column
                .as_primitive::<Date32Type>()
                .iter()
                .map(|v| v.map(|d| i64::from(d) * 86_400)),
        ),
        DataType::Date64 => Box::new(
            column
                .as_primitive::<Date64Type>()
                .iter()
                .map(|v| v.map(|ms| floor(ms, 1000))),
        ),
        DataType::Timestamp(TimeUnit::Second, _) => {
            Box::new(column.as_primitive::<TimestampSecondType>().iter())
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => Box::new(
            column
                .as_primitive::<TimestampMillisecondType>()
                .iter()
                .map(|v| v.map(|v| floor(v, 1000))),
        ),
        DataType::Timestamp(TimeUnit::Microsecond, _) => Box::new(
            column
                .as_primitive::<TimestampMicrosecondType>()
                .iter()
                .map(|v| v.map(|v| floor(v, 1_000_000))),
        ),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => Box::new(
            column
                .as_primitive::<TimestampNanosecondType>()
                .iter()
                .map(|v| v.map(|v| floor(v, 1_000_000_000))),
        ),
        other => return Err(format!("cannot take a date from a {other} column")),
    })
}

fn int_keys(
    values: impl Iterator<Item = Option<i64>>,
    format: impl Fn(i64) -> String,
) -> (Vec<u32>, Vec<Option<String>>) {
    let mut ids = Vec::with_capacity(values.size_hint().0);
    let mut seen: HashMap<Option<i64>, u32, Fast> = HashMap::with_hasher(fast());
    let mut texts = Vec::new();
    let mut last: Option<(Option<i64>, u32)> = None;
    for v in values {
        let id = match last {
            Some((l, id)) if l == v => id,
            _ => {
                let id = *seen.entry(v).or_insert_with(|| {
                    texts.push(v.map(&format));
                    (texts.len() - 1) as u32
                });
                last = Some((v, id));
                id
            }
        };
        ids.push(id);
    }
    (ids, texts)
}

/// [`str_keys`] for columns whose every value has at most 7 bytes (tickers, codes): each value
/// packed with its length into a `u64`, so grouping hashes integers instead of strings.
fn short_str_keys(strings: &arrow_array::StringArray) -> Option<(Vec<u32>, Vec<Option<String>>)> {
    let offsets = strings.value_offsets();
    if offsets.windows(2).any(|w| w[1] - w[0] > 7) {
        return None;
    }
    let bytes = strings.value_data();
    let pack = |i: usize| -> u64 {
        if strings.is_null(i) {
            return u64::MAX;
        }
        let (start, end) = (offsets[i] as usize, offsets[i + 1] as usize);
        let mut key = ((end - start) as u64) << 56;
        for (k, b) in bytes[start..end].iter().enumerate() {
            key |= u64::from(*b) << (8 * k);
        }
        key
    };
    let rows = strings.len();
    let mut ids = Vec::with_capacity(rows);
    let mut seen: HashMap<u64, u32, Fast> = HashMap::with_hasher(fast());
    let mut texts = Vec::new();
    let mut last: Option<(u64, u32)> = None;
    for i in 0..rows {
        let key = pack(i);
        let id = match last {
            Some((l, id)) if l == key => id,
            _ => {
                let id = *seen.entry(key).or_insert_with(|| {
                    texts.push((!strings.is_null(i)).then(|| strings.value(i).to_owned()));
                    (texts.len() - 1) as u32
                });
                last = Some((key, id));
                id
            }
        };
        ids.push(id);
    }
    Some((ids, texts))
}

fn str_keys<'a>(values: impl Iterator<Item = Option<&'a str>>) -> (Vec<u32>, Vec<Option<String>>) {
    let mut ids = Vec::with_capacity(values.size_hint().0);
    let mut seen: HashMap<Option<&str>, u32, Fast> = HashMap::with_hasher(fast());
    let mut texts = Vec::new();
    let mut last: Option<(Option<&str>, u32)> = None;
    for v in values {
        let id = match last {
            Some((l, id)) if l == v => id,
            _ => {
                let id = *seen.entry(v).or_insert_with(|| {
                    texts.push(v.map(str::to_owned));
                    (texts.len() - 1) as u32
                });
                last = Some((v, id));
                id
            }
        };
        ids.push(id);
    }
    (ids, texts)
}

pub(crate) fn identity_keys(
    column: &ArrayRef,
) -> std::result::Result<(Vec<u32>, Vec<Option<String>>), String> {
    match column.data_type() {
        DataType::Utf8 => {
            let strings = column.as_string::<i32>();
            Ok(short_str_keys(strings).unwrap_or_else(|| str_keys(strings.iter())))
        }
        DataType::LargeUtf8 => Ok(str_keys(column.as_string::<i64>().iter())),
        DataType::Utf8View => Ok(str_keys(column.as_string_view().iter())),
        DataType::Dictionary(_, _) => {
            let dict = column.as_any_dictionary();
            let (value_ids, texts) = identity_keys(dict.values())?;
            let keys = dict.normalized_keys();
            // Several dictionary entries may hold the same text: ids come from the values.
            let mut remap: Vec<Option<u32>> = vec![None; texts.len() + 1];
            let mut out_texts: Vec<Option<String>> = Vec::new();
            let null_id = texts.len();
            let mut ids = Vec::with_capacity(keys.len());
            for (row, key) in keys.iter().enumerate() {
                let vid = if dict.keys().is_null(row) {
                    null_id
                } else {
                    value_ids.get(*key).map_or(null_id, |v| *v as usize)
                };
                let id = match remap[vid] {
                    Some(id) => id,
                    None => {
                        out_texts.push(texts.get(vid).cloned().flatten());
                        let id = (out_texts.len() - 1) as u32;
                        remap[vid] = Some(id);
                        id
                    }
                };
                ids.push(id);
            }
            Ok((ids, out_texts))
        }
        DataType::Boolean => Ok(int_keys(
            column.as_boolean().iter().map(|b| b.map(i64::from)),
            |v| (v == 1).to_string(),
        )),
        DataType::Date32 => Ok(int_keys(
            column
                .as_primitive::<Date32Type>()
                .iter()
                .map(|v| v.map(i64::from)),
            date_text,
        )),
        DataType::UInt64 => {
            // Beyond i64: keep the text exact.
            let texts: Vec<Option<String>> = column
                .as_primitive::<arrow_array::types::UInt64Type>()
                .iter()
                .map(|v| v.map(|v| v.to_string()))
                .collect();
            let (ids, t) = str_keys(texts.iter().map(Option::as_deref));
            Ok((ids, t))
        }
        t if t.is_integer() => {
            let ints = arrow_cast::cast(column, &DataType::Int64).map_err(|e| e.to_string())?;
            let ints = ints.as_primitive::<arrow_array::types::Int64Type>();
            Ok(int_keys(ints.iter(), |v| v.to_string()))
        }
        other => Err(format!("cannot partition by a {other} column")),
    }
}

/// The bucket hash per row (`None` for null).
fn bucket_hashes(column: &ArrayRef) -> std::result::Result<Vec<Option<u32>>, String> {
    let hash_int = |v: i64| crc32fast::hash(&v.to_le_bytes());
    match column.data_type() {
        DataType::Utf8 => Ok(column
            .as_string::<i32>()
            .iter()
            .map(|s| s.map(|s| crc32fast::hash(s.as_bytes())))
            .collect()),
        DataType::LargeUtf8 => Ok(column
            .as_string::<i64>()
            .iter()
            .map(|s| s.map(|s| crc32fast::hash(s.as_bytes())))
            .collect()),
        DataType::Utf8View => Ok(column
            .as_string_view()
            .iter()
            .map(|s| s.map(|s| crc32fast::hash(s.as_bytes())))
            .collect()),
        DataType::Dictionary(_, _) => {
            let dict = column.as_any_dictionary();
            let values = bucket_hashes(dict.values())?;
            let keys = dict.normalized_keys();
            Ok(keys
                .iter()
                .enumerate()
                .map(|(row, k)| {
                    if dict.keys().is_null(row) {
                        None
                    } else {
                        values.get(*k).copied().flatten()
                    }
                })
                .collect())
        }
        DataType::Boolean => Ok(column
            .as_boolean()
            .iter()
            .map(|b| b.map(|b| hash_int(i64::from(b))))
            .collect()),
        DataType::UInt64 => Ok(column
            .as_primitive::<arrow_array::types::UInt64Type>()
            .iter()
            .map(|v| v.map(|v| crc32fast::hash(&v.to_le_bytes())))
            .collect()),
        DataType::Date32
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32 => {
            let ints = arrow_cast::cast(column, &DataType::Int64).map_err(|e| e.to_string())?;
            Ok(ints
                .as_primitive::<arrow_array::types::Int64Type>()
                .iter()
                .map(|v| v.map(hash_int))
                .collect())
        }
        other => Err(format!("cannot bucket a {other} column")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int32Array, TimestampMicrosecondArray};
    use arrow_schema::Field;

    #[test]
    fn parse_and_print() {
        for text in [
            "symbol",
            "day(ts)",
            "month(ts)",
            "year(d)",
            "hour(ts) as h",
            "bucket(16, id)",
        ] {
            let p: Partition = text.parse().unwrap();
            assert_eq!(p.to_string(), text);
        }
        assert_eq!(
            "identity(x)".parse::<Partition>().unwrap(),
            Partition::column("x")
        );
        for bad in [
            "",
            "day(",
            "bucket(0, x)",
            "bucket(x)",
            "week(ts)",
            "a b",
            "day(ts) as a=b",
        ] {
            assert!(
                matches!(bad.parse::<Partition>(), Err(Error::InvalidOption { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn escaping_round_trips() {
        let corpus = [
            "plain",
            "",
            "../../etc",
            "/",
            "..",
            ".",
            "=",
            "%2F",
            "a\0b",
            "ünïcödé 東京",
            "a b",
            "\"#%'*/:=?\\{[]^\x7f\x01\x1f",
            "__HIVE_DEFAULT_PARTITION__",
        ];
        for v in corpus {
            let e = escape(v);
            assert!(!e.contains('/') && !e.contains('\0'), "{e}");
            assert_eq!(unescape(&e), v);
        }
        assert_eq!(escape("a:b"), "a%3Ab");
        assert_eq!(unescape("100%"), "100%");
    }

    #[test]
    fn civil_dates() {
        for days in [-800_000i64, -1, 0, 1, 59, 365, 10_957, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
            assert_eq!(parse_date(&date_text(days)), Some(days));
        }
        assert_eq!(date_text(0), "1970-01-01");
        assert_eq!(date_text(-1), "1969-12-31");
    }

    #[test]
    fn split_by_day_and_column() {
        let schema = Arc::new(Schema::new(vec![
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("zip", DataType::Utf8, true),
            Field::new("n", DataType::Int32, false),
        ]));
        let day = 86_400_000_000i64;
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(
                    TimestampMicrosecondArray::from(vec![Some(0), Some(day + 5), None, Some(-1)])
                        .with_timezone("UTC"),
                ),
                Arc::new(StringArray::from(vec![
                    Some("007"),
                    Some("007"),
                    None,
                    Some(""),
                ])),
                Arc::new(Int32Array::from(vec![1, 2, 3, 4])),
            ],
        )
        .unwrap();
        let spec = PartitionSpec::resolve(
            &[Partition::day("ts"), Partition::column("zip")],
            &schema,
            "Row",
            "ParquetStore",
        )
        .unwrap();
        let parts = spec.split(&batch, "Row", &Cluster::default()).unwrap();
        let dirs: Vec<String> = parts.iter().map(|(v, _)| spec.dir(v)).collect();
        assert_eq!(
            dirs,
            [
                "day=1970-01-01/zip=007",
                "day=1970-01-02/zip=007",
                "day=__HIVE_DEFAULT_PARTITION__/zip=__HIVE_DEFAULT_PARTITION__",
                "day=1969-12-31/zip=__HIVE_DEFAULT_PARTITION__",
            ]
        );
        assert_eq!(
            parts[3].0,
            vec![Some("1969-12-31".to_owned()), Some(String::new())]
        );
        let zip = spec
            .constant_column("zip", Some("007"), 2)
            .unwrap()
            .unwrap();
        assert_eq!(zip.as_string::<i32>().value(1), "007");
        assert!(spec.constant_column("n", None, 2).unwrap().is_none());
        // Stats: the day bounds ts.
        let units: Vec<(&[Option<String>], u64)> = parts
            .iter()
            .map(|(v, b)| (v.as_slice(), b.num_rows() as u64))
            .collect();
        let mut stats = spec.stats(&units);
        let ts = stats("ts").unwrap();
        let mins = ts.mins.as_primitive::<TimestampMicrosecondType>();
        assert_eq!(mins.value(1), day);
        assert_eq!(
            ts.maxes.as_primitive::<TimestampMicrosecondType>().value(1),
            2 * day - 1
        );
        assert!(mins.is_null(2));
        // Refusals.
        let err =
            PartitionSpec::resolve(&[Partition::column("ts")], &schema, "Row", "ParquetStore");
        assert!(matches!(err, Err(Error::UnsupportedType { .. })));
        let err = PartitionSpec::resolve(&[Partition::day("ts").named("n")], &schema, "Row", "P");
        assert!(matches!(err, Err(Error::InvalidOption { .. })));
        let err = PartitionSpec::resolve(&[Partition::column("nope")], &schema, "Row", "P");
        assert!(matches!(err, Err(Error::UnknownColumn { .. })));
        let long = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(TimestampMicrosecondArray::from(vec![Some(0)]).with_timezone("UTC")),
                Arc::new(StringArray::from(vec![Some("x".repeat(10_240))])),
                Arc::new(Int32Array::from(vec![1])),
            ],
        )
        .unwrap();
        assert!(matches!(
            spec.split(&long, "Row", &Cluster::default()),
            Err(Error::OutOfRange { .. })
        ));
    }
}
