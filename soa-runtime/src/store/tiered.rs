//! A tiered store: rows land in memory (the hot tier) and in a write-ahead log, reads see the
//! hot rows after the durable cold tier's, and a background task moves hot rows into the cold
//! tier in batches (a flush), recording in the same cold commit the last log sequence number it
//! holds, so that recovery after a crash replays exactly the rows the cold tier lacks.
//!
//! ```no_run
//! use std::time::Duration;
//! use soa_runtime::prelude::*;
//! use soa_runtime::store::tiered::{Durability, FlushPolicy, TieredOptions, TieredStore};
//!
//! #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
//! struct Tick { id: u64, px: f64 }
//!
//! # async fn demo() -> soa_runtime::Result<()> {
//! let cold = ParquetStore::<Tick>::open_or_create("./ticks").await?;
//! let options = TieredOptions::new()
//!     .durability(Durability::Sync)
//!     .flush(FlushPolicy::new().rows(1_000_000).bytes(64 << 20).age(Duration::from_secs(10)));
//! let store = TieredStore::open("./ticks-wal", cold, options).await?;
//! let ingest = store.ingestor();          // cloneable, Send: one per producer task
//! ingest.send(Tick { id: 1, px: 10.5 }).await?; // returns once the row is fsynced in the log
//! assert_eq!(store.count().await?, 1);    // hot and cold rows, each once
//! store.flush().await?;                   // hot rows into the cold tier now
//! store.close().await?;
//! # Ok(()) }
//! ```
//!
//! **Durability.** [`Durability::Sync`]: a send returns once its rows are in the log and the log
//! is fsynced; sends that arrive together share one fsync (group commit). A crash of the process
//! or of the machine loses nothing acknowledged. [`Durability::Interval`]: a send returns once
//! its rows are written to the log (the operating system holds them); the log is fsynced at
//! least every interval, so a machine crash may lose up to one interval of acknowledged rows,
//! a process crash none. [`Durability::None`]: no log; a send returns once its rows are in
//! memory; a crash loses every row not yet flushed.
//!
//! **Exactly once, without locks.** Every cold commit of a flush records the last log sequence
//! number it holds (mark `soa.wal`). A read copies the hot tier's list of batches (with their
//! sequence numbers), then opens the cold tier's snapshot with the mark of that commit, and keeps
//! the hot batches above the mark: a batch that left the hot tier before the copy was committed
//! before it, so the later snapshot holds it. A read never waits for a flush and sees every row
//! once, whether it overlaps a flush or not. Recovery uses the same mark:
//! it replays the log after it, and log segments are deleted only once a commit covers them, so
//! a crash between the commit and the deletion never duplicates a row. One process writes a log
//! directory at a time (an exclusive lock on its `_soa_writer` file; another gets
//! `Error::Locked`).
//!
//! **Where things live.** The log is a local directory; the cold tier may be anywhere its store
//! supports. Rows appended to the cold tier directly (not through this store) are simply cold
//! rows.

use std::collections::VecDeque;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use futures::StreamExt;
use tokio::sync::{mpsc, oneshot};

use crate::convert::ToArrow;
use crate::error::{Error, Result};
use crate::store::blocking;
// Memory of a batch's rows: the slices its columns cover, as an `ArrowStore` counts them (a batch
// decoded from the log shares one buffer among its columns, counted once per slice).
use crate::store::memory::batch_bytes;
use crate::store::wal::{EncodedRecord, RecordEncoder, Recovery, Wal, WalOptions};
use crate::store::{
    ArrowStore, BatchStream, ParquetStore, Record, ScanOptions, Store, StoreStats, WriteMode,
};

/// The prefix of the mark under which the cold tier records the last log sequence number it
/// holds: `soa.wal.<id>`, the id of the log (file `_soa_wal_id` in its directory), so several
/// tiered stores may share one cold store, each with its own log.
pub const WAL_MARK: &str = "soa.wal";

/// File in the log directory holding the log's id.
const WAL_ID_FILE: &str = "_soa_wal_id";

/// The log's id: read from its directory, or made and stored there (durably) for a new log.
fn wal_id(dir: &Path) -> Result<String> {
    let path = dir.join(WAL_ID_FILE);
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => return Ok(id.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(&path, e)),
    }
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    let id = format!("{:016x}", h.finish());
    let tmp = dir.join(format!(".{WAL_ID_FILE}.{id}.tmp"));
    crate::store::durable::write_new_durable(&tmp, id.as_bytes())?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    crate::store::durable::sync_dir(dir)?;
    Ok(id)
}

/// What an acknowledged send promises (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// In the log and fsynced: survives a machine crash. Concurrent sends share an fsync.
    Sync,
    /// In the log; fsynced at least every interval: survives a process crash, a machine crash
    /// may lose up to one interval.
    Interval(Duration),
    /// In memory only until flushed.
    None,
}

/// When the hot tier is flushed into the cold tier: when any limit is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlushPolicy {
    /// Hot rows not yet flushed. Default 1,000,000.
    pub rows: u64,
    /// Arrow bytes of those rows. Default 64 MiB.
    pub bytes: u64,
    /// Age of the oldest of them. Default 10 s.
    pub age: Duration,
}

impl Default for FlushPolicy {
    fn default() -> Self {
        FlushPolicy {
            rows: 1_000_000,
            bytes: 64 << 20,
            age: Duration::from_secs(10),
        }
    }
}

impl FlushPolicy {
    /// The defaults: every 1M rows or 64 MiB or 10 s.
    pub fn new() -> Self {
        Self::default()
    }

    /// Flushes once this many rows wait.
    #[must_use]
    pub fn rows(mut self, rows: u64) -> Self {
        self.rows = rows.max(1);
        self
    }

    /// Flushes once this many bytes wait.
    #[must_use]
    pub fn bytes(mut self, bytes: u64) -> Self {
        self.bytes = bytes.max(1);
        self
    }

    /// Flushes once the oldest waiting row is this old.
    #[must_use]
    pub fn age(mut self, age: Duration) -> Self {
        self.age = age;
        self
    }
}

/// How many flushed rows the hot tier keeps in memory for [`TieredStore::recent`] (reads of the
/// latest rows without touching the cold tier). Both limits apply: a flushed batch is dropped
/// once more than `rows` rows were flushed after it began or it was flushed more than `age` ago.
/// Default: none kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Retention {
    /// Flushed rows kept, at most (whole batches). Default 0.
    pub rows: u64,
    /// How long a flushed batch is kept, at most. Default zero.
    pub age: Duration,
}

impl Retention {
    /// Keep nothing flushed (the default).
    pub fn none() -> Self {
        Self::default()
    }

    /// Keep the last `rows` flushed rows, for at most `age`.
    pub fn last(rows: u64, age: Duration) -> Self {
        Retention { rows, age }
    }
}

/// Settings of a [`TieredStore`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TieredOptions {
    /// Default [`Durability::Sync`].
    pub durability: Durability,
    /// Default [`FlushPolicy::new`].
    pub flush: FlushPolicy,
    /// Hot bytes above which sends wait for a flush (backpressure). Default 256 MiB.
    pub hot_limit: u64,
    /// Flushed rows kept in memory for [`TieredStore::recent`]. Default none.
    pub retention: Retention,
    /// Sends queued for the log writer before `send` waits. Default 1,024.
    pub queue: usize,
    /// Log segment settings.
    pub wal: WalOptions,
    /// What recovery does with a damaged record in the middle of the log. Default
    /// [`Recovery::Strict`] (open fails with `Error::Corrupt` naming the segment and offset).
    pub recovery: Recovery,
    /// `open` waits while another process holds the log, instead of failing with
    /// [`Error::Locked`]. Default off.
    pub wait_for_writer: bool,
}

impl Default for TieredOptions {
    fn default() -> Self {
        TieredOptions {
            durability: Durability::Sync,
            flush: FlushPolicy::default(),
            hot_limit: 256 << 20,
            retention: Retention::none(),
            queue: 1024,
            wal: WalOptions::default(),
            recovery: Recovery::Strict,
            wait_for_writer: false,
        }
    }
}

impl TieredOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// See [`Durability`].
    #[must_use]
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// See [`FlushPolicy`].
    #[must_use]
    pub fn flush(mut self, policy: FlushPolicy) -> Self {
        self.flush = policy;
        self
    }

    /// Hot bytes above which sends wait for a flush.
    #[must_use]
    pub fn hot_limit(mut self, bytes: u64) -> Self {
        self.hot_limit = bytes.max(1);
        self
    }

    /// Flushed rows kept in memory for [`TieredStore::recent`].
    #[must_use]
    pub fn retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// Sends queued before `send` waits.
    #[must_use]
    pub fn queue(mut self, sends: usize) -> Self {
        self.queue = sends.max(1);
        self
    }

    /// Log segment settings.
    #[must_use]
    pub fn wal(mut self, wal: WalOptions) -> Self {
        self.wal = wal;
        self
    }

    /// Waits in `open` while another process holds the log (it ends when that process closes
    /// or drops its store, or dies), instead of failing with [`Error::Locked`].
    #[must_use]
    pub fn wait_for_writer(mut self, wait: bool) -> Self {
        self.wait_for_writer = wait;
        self
    }

    /// What recovery does with a damaged record in the middle of the log.
    #[must_use]
    pub fn recovery(mut self, recovery: Recovery) -> Self {
        self.recovery = recovery;
        self
    }
}

/// A durable store that can record a stream position with a commit: the cold tier of a
/// [`TieredStore`].
pub trait ColdTier<T: Record>: Store<T> + Clone + 'static {
    /// Appends `batches` and records `position` under `name` in the same commit.
    fn append_marked(
        &self,
        batches: Vec<RecordBatch>,
        name: &str,
        position: u64,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The position last recorded under `name`.
    fn marked(&self, name: &str) -> impl Future<Output = Result<Option<u64>>> + Send;

    /// Every stored row, read on the calling thread (blocking), and the position the same
    /// commit records under `name` (for SQL views, which DuckDB binds synchronously).
    fn rows_marked(&self, name: &str) -> Result<(Vec<RecordBatch>, Option<u64>)>;

    /// [`Store::scan_with`], and the position recorded under `name` in the commit it reads.
    fn scan_marked(
        &self,
        options: ScanOptions,
        name: &str,
    ) -> impl Future<Output = Result<(BatchStream, Option<u64>)>> + Send;

    /// [`Store::count`], and the position recorded under `name` in the same commit.
    fn count_marked(&self, name: &str) -> impl Future<Output = Result<(u64, Option<u64>)>> + Send;
}

impl<T: Record> ColdTier<T> for ParquetStore<T> {
    async fn append_marked(
        &self,
        batches: Vec<RecordBatch>,
        name: &str,
        position: u64,
    ) -> Result<()> {
        ParquetStore::append_marked(self, batches, name, position).await
    }

    async fn marked(&self, name: &str) -> Result<Option<u64>> {
        ParquetStore::marked(self, name).await
    }

    fn rows_marked(&self, name: &str) -> Result<(Vec<RecordBatch>, Option<u64>)> {
        ParquetStore::rows_marked(self, name)
    }

    async fn scan_marked(
        &self,
        options: ScanOptions,
        name: &str,
    ) -> Result<(BatchStream, Option<u64>)> {
        ParquetStore::scan_marked(self, options, Some(name)).await
    }

    async fn count_marked(&self, name: &str) -> Result<(u64, Option<u64>)> {
        let store = self.clone();
        let name = name.to_owned();
        blocking(move || store.count_marked(&name)).await
    }
}

#[cfg(feature = "delta")]
impl<T: Record> ColdTier<T> for crate::store::DeltaStore<T> {
    /// A Delta `txn` action (`appId` = the mark's name) in the same commit as the rows.
    async fn append_marked(
        &self,
        batches: Vec<RecordBatch>,
        name: &str,
        position: u64,
    ) -> Result<()> {
        crate::store::DeltaStore::append_marked(self, batches, name, position).await
    }

    async fn marked(&self, name: &str) -> Result<Option<u64>> {
        crate::store::DeltaStore::marked(self, name).await
    }

    fn rows_marked(&self, name: &str) -> Result<(Vec<RecordBatch>, Option<u64>)> {
        self.blocking_rows_marked(name)
    }

    async fn scan_marked(
        &self,
        options: ScanOptions,
        name: &str,
    ) -> Result<(BatchStream, Option<u64>)> {
        let (view, position) = self.pinned_marked(name).await?;
        Ok((view.scan_with(options).await?, position))
    }

    async fn count_marked(&self, name: &str) -> Result<(u64, Option<u64>)> {
        let (view, position) = self.pinned_marked(name).await?;
        Ok((view.count().await?, position))
    }
}

/// `batches` joined into batches of about `rows` rows (in order; one copy of the data).
fn coalesce(batches: Vec<RecordBatch>, rows: usize) -> Result<Vec<RecordBatch>> {
    let mut out = Vec::new();
    let mut run: Vec<RecordBatch> = Vec::new();
    let mut run_rows = 0;
    let close = |run: &mut Vec<RecordBatch>, out: &mut Vec<RecordBatch>| -> Result<()> {
        match run.len() {
            0 => {}
            1 => out.append(run),
            _ => {
                let schema = run[0].schema();
                let joined = arrow_select::concat::concat_batches(&schema, run.iter())
                    .map_err(|e| Error::arrow("joining hot batches for a flush", e))?;
                run.clear();
                out.push(joined);
            }
        }
        Ok(())
    };
    for batch in batches {
        if run_rows + batch.num_rows() > rows && !run.is_empty() {
            close(&mut run, &mut out)?;
            run_rows = 0;
        }
        run_rows += batch.num_rows();
        run.push(batch);
    }
    close(&mut run, &mut out)?;
    Ok(out)
}

/// What [`TieredStore::open`] found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryReport {
    /// The last sequence number the cold tier held (its `soa.wal` mark).
    pub cold_mark: u64,
    /// Log records replayed into the hot tier (those after the mark).
    pub records: u64,
    /// Rows replayed.
    pub rows: u64,
    /// Bytes of log read.
    pub log_bytes: u64,
    /// A torn tail cut off: the segment and the offset of the partial record.
    pub torn_tail: Option<(PathBuf, u64)>,
    /// With `Recovery::UpToDamage`: where reading stopped.
    pub damage: Option<(PathBuf, u64, String)>,
    /// Time from the start of `open` to a queryable store.
    pub elapsed: Duration,
}

/// Counters of a running [`TieredStore`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TieredStats {
    /// Rows in the hot tier (not yet flushed).
    pub hot_rows: u64,
    /// Arrow bytes of those rows.
    pub hot_bytes: u64,
    /// Bytes of log segments on disk.
    pub wal_bytes: u64,
    /// Flushes committed since open.
    pub flushes: u64,
    /// The last sequence number the cold tier holds.
    pub cold_mark: u64,
    /// The last sequence number acknowledged.
    pub last_seq: u64,
}

/// Rows a run of sends is joined into for reads (one batch of about this many rows, with
/// cached column statistics), so that a query over a million hot rows handles tens of batches,
/// not ten thousand.
const JOIN_ROWS: u64 = 16 * 1024;

/// Column statistics of a joined hot batch, computed on first use by a predicate.
type StatsCache = Arc<
    std::sync::Mutex<std::collections::HashMap<String, Option<crate::store::prune::ColumnStats>>>,
>;

/// A batch of the hot tier.
#[derive(Clone)]
struct HotBatch {
    /// The sequence number of its (last) log record.
    seq: u64,
    batch: RecordBatch,
    /// `Some` for a batch joined from many sends.
    stats: Option<StatsCache>,
}

struct Hot {
    /// In sequence order; all after `mark`.
    batches: VecDeque<HotBatch>,
    /// Rows of the sends not yet joined (`stats: None`).
    unjoined: u64,
    /// The last sequence number a flush in progress takes: batches up to it are never joined
    /// with later ones (a joined batch is flushed whole or not at all).
    frozen: u64,
    rows: u64,
    bytes: u64,
    oldest: Option<Instant>,
    /// The last sequence number the cold tier holds.
    mark: u64,
    /// Flushed batches kept for `recent` (also in the cold tier; never served by `scan`),
    /// oldest first, with when they were flushed.
    retained: VecDeque<(Instant, RecordBatch)>,
    retained_rows: u64,
}

impl Hot {
    /// Adds a send's batch of `bytes` bytes (`batch_bytes`, computed before taking the lock).
    fn push(&mut self, seq: u64, batch: RecordBatch, bytes: u64) {
        let rows = batch.num_rows() as u64;
        self.rows += rows;
        self.unjoined += rows;
        self.bytes += bytes;
        self.batches.push_back(HotBatch {
            seq,
            batch,
            stats: None,
        });
        if self.oldest.is_none() {
            self.oldest = Some(Instant::now());
        }
    }

    /// Drops the batches at or below `last` (now in the cold tier), keeping them for `recent`
    /// as `retention` says.
    fn drop_through(&mut self, last: u64, retention: Retention) {
        let keep = retention.rows > 0 && !retention.age.is_zero();
        let now = Instant::now();
        while self.batches.front().is_some_and(|b| b.seq <= last) {
            if let Some(b) = self.batches.pop_front() {
                let rows = b.batch.num_rows() as u64;
                self.rows -= rows;
                if b.stats.is_none() {
                    self.unjoined -= rows;
                }
                self.bytes = self.bytes.saturating_sub(batch_bytes(&b.batch));
                if keep {
                    self.retained_rows += rows;
                    self.retained.push_back((now, b.batch));
                }
            }
        }
        self.trim_retained(retention);
        self.mark = self.mark.max(last);
        self.oldest = (!self.batches.is_empty()).then(Instant::now);
    }

    /// The hot batches a read whose cold snapshot holds everything up to `mark` needs.
    fn after(&self, mark: u64) -> Vec<HotBatch> {
        let start = self.batches.partition_point(|b| b.seq <= mark);
        self.batches.range(start..).cloned().collect()
    }

    /// The trailing runs of unjoined sends (after `frozen`) of at least `JOIN_ROWS` rows each:
    /// `(first sequence number, number of batches, the batches)`.
    fn runs_to_join(&self) -> Vec<(u64, usize, Vec<RecordBatch>)> {
        if self.unjoined < JOIN_ROWS {
            return Vec::new();
        }
        let start = self
            .batches
            .iter()
            .rposition(|b| b.stats.is_some() || b.seq <= self.frozen)
            .map_or(0, |i| i + 1);
        let mut runs = Vec::new();
        let mut run: Vec<RecordBatch> = Vec::new();
        let (mut first, mut rows) = (0, 0);
        for b in self.batches.range(start..) {
            if run.is_empty() {
                first = b.seq;
            }
            rows += b.batch.num_rows() as u64;
            run.push(b.batch.clone());
            if rows >= JOIN_ROWS {
                runs.push((first, run.len(), std::mem::take(&mut run)));
                rows = 0;
            }
        }
        runs
    }

    /// Replaces the `count` batches from sequence number `first` on by `joined`, if they are
    /// still here, unjoined and not taken by a flush in progress.
    fn replace_run(&mut self, first: u64, count: usize, joined: RecordBatch) {
        if first <= self.frozen {
            return;
        }
        let start = self.batches.partition_point(|b| b.seq < first);
        let end = start + count;
        if end > self.batches.len()
            || self.batches[start].seq != first
            || self.batches.range(start..end).any(|b| b.stats.is_some())
        {
            return;
        }
        let seq = self.batches[end - 1].seq;
        let old: Vec<HotBatch> = self.batches.drain(start..end).collect();
        let rows: u64 = old.iter().map(|b| b.batch.num_rows() as u64).sum();
        let bytes: u64 = old.iter().map(|b| batch_bytes(&b.batch)).sum();
        self.unjoined -= rows;
        self.bytes = self.bytes.saturating_sub(bytes) + batch_bytes(&joined);
        self.batches.insert(
            start,
            HotBatch {
                seq,
                batch: joined,
                stats: Some(StatsCache::default()),
            },
        );
    }

    /// Drops retained batches beyond the retention limits.
    fn trim_retained(&mut self, retention: Retention) {
        while let Some((at, batch)) = self.retained.front() {
            let rows = batch.num_rows() as u64;
            // The newer batches alone hold the rows to keep, or this one is too old.
            if self.retained_rows - rows >= retention.rows || at.elapsed() > retention.age {
                self.retained_rows -= rows;
                self.retained.pop_front();
            } else {
                break;
            }
        }
    }
}

struct Request {
    batch: RecordBatch,
    /// The log record, encoded by the sender.
    record: Option<EncodedRecord>,
    ack: oneshot::Sender<Result<u64>>,
}

struct Inner<T: Record, C: ColdTier<T>> {
    cold: C,
    options: TieredOptions,
    hot: std::sync::RwLock<Hot>,
    /// `None` under `Durability::None`.
    wal: Option<Arc<std::sync::Mutex<Wal>>>,
    wal_dir: PathBuf,
    /// `soa.wal.<log id>`: the cold tier's mark of this log.
    mark_name: String,
    /// One flush at a time.
    flushing: tokio::sync::Mutex<()>,
    /// Wakes the flusher (policy reached) and waiting senders (flush done).
    flush_wanted: Arc<tokio::sync::Notify>,
    flushed: tokio::sync::Notify,
    flushes: AtomicU64,
    next_seq: AtomicU64,
    /// Bytes of the log's segments, as of the last group or flush.
    wal_bytes: Arc<AtomicU64>,
    /// Set by `close`: sends are refused from then on.
    closed: std::sync::atomic::AtomicBool,
    /// Held by the log writer while it handles a group (`close` waits for it).
    committing: tokio::sync::Mutex<()>,
    /// One process appends to a log directory at a time (`_soa_writer` lock in it).
    /// Released by `close`.
    wal_lock: std::sync::Mutex<Option<Arc<crate::store::parquet::writer_lock::WriterLock>>>,
    tx: std::sync::Mutex<Option<mpsc::Sender<Request>>>,
    recovery: RecoveryReport,
    failure: std::sync::Mutex<Option<String>>,
    /// Set while a task joins hot sends into larger batches.
    joining: std::sync::atomic::AtomicBool,
    /// When the store was opened, and the last read since (milliseconds after it).
    opened: Instant,
    last_read: AtomicU64,
    _rows: std::marker::PhantomData<fn() -> T>,
}

/// Hot rows in memory and a write-ahead log in front of a durable cold tier, read as one store
/// (see the [module docs](self)).
pub struct TieredStore<T: Record, C: ColdTier<T>> {
    inner: Arc<Inner<T, C>>,
}

impl<T: Record, C: ColdTier<T>> std::fmt::Debug for TieredStore<T, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TieredStore")
            .field("options", &self.inner.options)
            .field("recovery", &self.inner.recovery)
            .finish_non_exhaustive()
    }
}

impl<T: Record> std::fmt::Debug for Ingestor<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingestor").finish_non_exhaustive()
    }
}

impl<T: Record, C: ColdTier<T>> Clone for TieredStore<T, C> {
    fn clone(&self) -> Self {
        TieredStore {
            inner: Arc::clone(&self.inner),
        }
    }
}

/// A producer's handle: cloneable, `Send`; each send returns once its rows are as durable as
/// the store's [`Durability`] says, with their log sequence number.
pub struct Ingestor<T: Record> {
    tx: mpsc::Sender<Request>,
    /// Encodes log records on the sender's thread (`None` without a log).
    encoder: Option<RecordEncoder>,
    /// Without a log: sends go straight into the hot tier.
    direct: Option<Weak<dyn Direct>>,
    _rows: std::marker::PhantomData<fn() -> T>,
}

impl<T: Record> Clone for Ingestor<T> {
    fn clone(&self) -> Self {
        Ingestor {
            tx: self.tx.clone(),
            encoder: self.encoder.clone(),
            direct: self.direct.clone(),
            _rows: std::marker::PhantomData,
        }
    }
}

/// The hot tier as `Durability::None` senders reach it: no log writer between.
trait Direct: Send + Sync {
    /// Adds `batch` to the hot tier and returns its sequence number and whether enough sends
    /// await joining, or gives the batch back when the hot tier is at its limit.
    fn try_push(&self, batch: RecordBatch)
    -> Result<std::result::Result<(u64, bool), RecordBatch>>;
    /// Waits until the hot tier is below its limit (a flush made room).
    fn room(&self) -> futures::future::BoxFuture<'_, ()>;
    /// Joins runs of sends into larger batches, on a blocking thread, if enough accumulated.
    fn join_later(self: Arc<Self>);
}

impl<T: Record> Ingestor<T> {
    /// Sends one row.
    ///
    /// # Errors
    /// The log's I/O errors (nothing acknowledged then); [`Error::Task`] once the store is
    /// closed.
    pub async fn send(&self, row: T) -> Result<u64> {
        let columns: T::Columns = std::iter::once(row).collect();
        self.send_batch(&columns).await
    }

    /// Sends the rows of a container, as one log record.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn send_batch(&self, columns: &T::Columns) -> Result<u64> {
        self.send_record_batch(columns.to_record_batch()?).await
    }

    /// Sends a record batch of the row type's schema, as one log record.
    ///
    /// # Errors
    /// As [`send`](Self::send); [`Error::SchemaMismatch`] for a batch of another schema.
    pub async fn send_record_batch(&self, batch: RecordBatch) -> Result<u64> {
        self.submit_record_batch(batch).await?.await
    }

    /// Queues the rows of a container as one log record without waiting for its
    /// acknowledgement: returns once the store has taken the rows (waiting only while the queue
    /// or the hot tier is full), with an [`Ack`] that resolves as [`send_batch`](Self::send_batch)
    /// would. A producer that keeps several sends in flight lets one fsync cover more rows
    /// under [`Durability::Sync`]; the log holds one producer's submissions in the order
    /// submitted, and each `Ack` reports its own outcome (an I/O error fails the sends of its
    /// group only; nothing is acknowledged that the durability level does not hold).
    ///
    /// ```no_run
    /// # use soa_runtime::prelude::*;
    /// # use soa_runtime::store::tiered::TieredStore;
    /// # #[derive(Soa, ToArrow, Debug, Clone, PartialEq)] struct Tick { id: u64 }
    /// # async fn demo(store: TieredStore<Tick, ParquetStore<Tick>>, batches: Vec<TickSoA>) -> soa_runtime::Result<()> {
    /// let ingest = store.ingestor();
    /// let mut in_flight = std::collections::VecDeque::new();
    /// for batch in &batches {
    ///     if in_flight.len() == 8 {
    ///         let ack: soa_runtime::store::tiered::Ack = in_flight.pop_front().unwrap();
    ///         ack.await?; // the oldest send is durable
    ///     }
    ///     in_flight.push_back(ingest.submit_batch(batch).await?);
    /// }
    /// for ack in in_flight {
    ///     ack.await?;
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::SchemaMismatch`] and [`Error::Task`] (closed) at once; the log's errors from the
    /// `Ack`.
    pub async fn submit_batch(&self, columns: &T::Columns) -> Result<Ack> {
        self.submit_record_batch(columns.to_record_batch()?).await
    }

    /// [`submit_batch`](Self::submit_batch) of a record batch of the row type's schema.
    ///
    /// # Errors
    /// As [`submit_batch`](Self::submit_batch).
    pub async fn submit_record_batch(&self, batch: RecordBatch) -> Result<Ack> {
        let schema = <T::Columns as ToArrow>::schema();
        let mut batch = crate::store::conform::conform(&schema, batch, None)?;
        if let Some(direct) = &self.direct {
            loop {
                let store = direct.upgrade().ok_or_else(closed)?;
                match store.try_push(batch)? {
                    Ok((seq, join)) => {
                        if join {
                            store.join_later();
                        }
                        return Ok(Ack(AckState::Done(Some(seq))));
                    }
                    Err(back) => {
                        batch = back;
                        store.room().await;
                    }
                }
            }
        }
        // Encoded here: producers encode in parallel, the log writer only writes.
        let record = self
            .encoder
            .as_ref()
            .map(|e| e.encode(&batch))
            .transpose()?;
        let (ack, done) = oneshot::channel();
        self.tx
            .send(Request { batch, record, ack })
            .await
            .map_err(|_| closed())?;
        Ok(Ack(AckState::Waiting(done)))
    }
}

/// The acknowledgement of a submitted send ([`Ingestor::submit_batch`]): a future of the send's
/// log sequence number, resolved once its rows are as durable as the store's [`Durability`]
/// says, or of the error that kept them from being so. Dropping it does not cancel the send.
#[must_use = "an Ack resolves to the send's outcome"]
pub struct Ack(AckState);

enum AckState {
    /// Acknowledged at submission (`Durability::None`).
    Done(Option<u64>),
    Waiting(oneshot::Receiver<Result<u64>>),
}

impl std::fmt::Debug for Ack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            AckState::Done(_) => "Ack(done)",
            AckState::Waiting(_) => "Ack(waiting)",
        })
    }
}

impl Future for Ack {
    type Output = Result<u64>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<u64>> {
        use std::task::Poll;
        match &mut self.0 {
            AckState::Done(seq) => Poll::Ready(
                seq.take()
                    .ok_or_else(|| Error::Task("this acknowledgement was already awaited".into())),
            ),
            AckState::Waiting(rx) => match std::pin::Pin::new(rx).poll(cx) {
                Poll::Ready(Ok(outcome)) => Poll::Ready(outcome),
                Poll::Ready(Err(_)) => Poll::Ready(Err(closed())),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<T: Record> Ingestor<T> {
    /// This ingestor as a [`futures::Sink`] of containers: each item is sent as one log record
    /// and the sink accepts the next item once it is acknowledged (`SinkExt::send_all` from a
    /// stream of batches, with the store's backpressure).
    ///
    /// ```no_run
    /// # use soa_runtime::prelude::*;
    /// # use soa_runtime::store::tiered::TieredStore;
    /// # #[derive(Soa, ToArrow, Debug, Clone, PartialEq)] struct Tick { id: u64 }
    /// # async fn demo(store: TieredStore<Tick, ParquetStore<Tick>>, batches: Vec<TickSoA>) -> soa_runtime::Result<()> {
    /// use futures::{SinkExt, StreamExt};
    /// let mut sink = store.ingestor().into_sink();
    /// sink.send_all(&mut futures::stream::iter(batches).map(Ok)).await?;
    /// sink.close().await?;
    /// # Ok(()) }
    /// ```
    pub fn into_sink(self) -> impl futures::Sink<T::Columns, Error = Error> + Send + Unpin {
        Box::pin(futures::sink::unfold(
            self,
            |ingest, columns: T::Columns| async move {
                ingest.send_batch(&columns).await?;
                Ok::<_, Error>(ingest)
            },
        ))
    }
}

fn closed() -> Error {
    Error::Task("the tiered store is closed".into())
}

impl<T: Record, C: ColdTier<T>> TieredStore<T, C> {
    /// Opens the log in `wal_dir` (created if missing) in front of `cold`: reads the cold
    /// tier's mark, replays the log records after it into the hot tier, and starts the log
    /// writer and the flusher (on the current tokio runtime).
    ///
    /// # Errors
    /// The log's and the cold tier's I/O errors; [`Error::Corrupt`] for a damaged log record
    /// under [`Recovery::Strict`].
    pub async fn open(wal_dir: impl AsRef<Path>, cold: C, options: TieredOptions) -> Result<Self> {
        let started = Instant::now();
        let mark_name = {
            let dir = wal_dir.as_ref().to_owned();
            let id = blocking(move || {
                std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                wal_id(&dir)
            })
            .await?;
            format!("{WAL_MARK}.{id}")
        };
        let mark = cold.marked(&mark_name).await?.unwrap_or(0);
        let mut report = RecoveryReport {
            cold_mark: mark,
            ..RecoveryReport::default()
        };
        let mut hot = Hot {
            batches: VecDeque::new(),
            unjoined: 0,
            frozen: 0,
            rows: 0,
            bytes: 0,
            oldest: None,
            mark,
            retained: VecDeque::new(),
            retained_rows: 0,
        };
        let mut next_seq = mark + 1;
        let mut wal_lock = None;
        let mut wal_bytes = 0;
        let wal = if options.durability == Durability::None {
            None
        } else {
            let dir = wal_dir.as_ref().to_owned();
            let wal_options = options.wal;
            let recovery = options.recovery;
            let wait = options.wait_for_writer;
            let (wal, replay, lock) = blocking(move || {
                std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                let lock = crate::store::parquet::writer_lock::acquire(&dir, wait)?;
                let (mut wal, replay) = Wal::open(&dir, wal_options, recovery)?;
                wal.resume_after(mark)?;
                Ok((wal, replay, lock))
            })
            .await?;
            wal_lock = Some(lock);
            report.log_bytes = replay.bytes;
            report.torn_tail = replay.torn_tail;
            report.damage = replay.damage;
            for (seq, batch) in replay.records {
                if seq <= mark {
                    continue;
                }
                report.records += 1;
                report.rows += batch.num_rows() as u64;
                let bytes = batch_bytes(&batch);
                hot.push(seq, batch, bytes);
            }
            next_seq = next_seq.max(wal.next_seq());
            wal_bytes = wal.bytes();
            Some(Arc::new(std::sync::Mutex::new(wal)))
        };
        report.elapsed = started.elapsed();
        let (tx, rx) = mpsc::channel(options.queue);
        let inner = Arc::new(Inner {
            cold,
            options,
            hot: std::sync::RwLock::new(hot),
            wal,
            wal_dir: wal_dir.as_ref().to_owned(),
            mark_name,
            flushing: tokio::sync::Mutex::new(()),
            flush_wanted: Arc::new(tokio::sync::Notify::new()),
            flushed: tokio::sync::Notify::new(),
            flushes: AtomicU64::new(0),
            next_seq: AtomicU64::new(next_seq),
            wal_bytes: Arc::new(AtomicU64::new(wal_bytes)),
            closed: std::sync::atomic::AtomicBool::new(false),
            committing: tokio::sync::Mutex::new(()),
            wal_lock: std::sync::Mutex::new(wal_lock),
            tx: std::sync::Mutex::new(Some(tx)),
            recovery: report,
            failure: std::sync::Mutex::new(None),
            joining: std::sync::atomic::AtomicBool::new(false),
            opened: Instant::now(),
            last_read: AtomicU64::new(0),
            _rows: std::marker::PhantomData,
        });
        // Replayed sends are joined in the background: the store is queryable now.
        if inner.wal.is_some() {
            Direct::join_later(Arc::clone(&inner) as Arc<dyn Direct>);
        }
        tokio::spawn(commit_loop(Arc::downgrade(&inner), rx));
        tokio::spawn(flush_loop(Arc::downgrade(&inner)));
        if let Durability::Interval(every) = inner.options.durability {
            tokio::spawn(sync_loop(Arc::downgrade(&inner), every));
        }
        Ok(TieredStore { inner })
    }

    /// A producer handle.
    ///
    /// # Panics
    /// Never; after [`close`](Self::close) its sends fail with [`Error::Task`].
    pub fn ingestor(&self) -> Ingestor<T> {
        let tx = self
            .inner
            .tx
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .unwrap_or_else(|| mpsc::channel(1).0);
        let logged = self.inner.wal.is_some();
        let encoder = logged
            .then(|| RecordEncoder::new(&<T::Columns as ToArrow>::schema()).ok())
            .flatten();
        let direct = (!logged).then(|| {
            let inner: Arc<dyn Direct> = Arc::clone(&self.inner) as Arc<dyn Direct>;
            Arc::downgrade(&inner)
        });
        Ingestor {
            tx,
            encoder,
            direct,
            _rows: std::marker::PhantomData,
        }
    }

    /// What `open` recovered, and how long it took.
    pub fn recovery(&self) -> &RecoveryReport {
        &self.inner.recovery
    }

    /// The mark under which the cold tier records how far this log is flushed
    /// (`soa.wal.<log id>`).
    pub fn mark_name(&self) -> &str {
        &self.inner.mark_name
    }

    /// The cold tier.
    pub fn cold(&self) -> &C {
        &self.inner.cold
    }

    /// Current counters.
    pub fn tiered_stats(&self) -> TieredStats {
        let hot = self.inner.hot();
        let wal_bytes = self.inner.wal_bytes.load(Ordering::Relaxed);
        TieredStats {
            hot_rows: hot.rows,
            hot_bytes: hot.bytes,
            wal_bytes,
            flushes: self.inner.flushes.load(Ordering::Relaxed),
            cold_mark: hot.mark,
            last_seq: self
                .inner
                .next_seq
                .load(Ordering::Relaxed)
                .saturating_sub(1),
        }
    }

    /// Every row, hot and cold, each once, read on the calling thread (blocking): the hot
    /// batches first, then the cold tier's snapshot with its mark; the hot batches the snapshot
    /// already holds (sequence number at or below its mark) are left out. Used by SQL views.
    ///
    /// # Errors
    /// The cold tier's read errors.
    pub fn blocking_snapshot(&self) -> Result<Vec<RecordBatch>> {
        let hot: Vec<HotBatch> = self.inner.hot().after(0);
        let (mut rows, mark) = self.inner.cold.rows_marked(&self.inner.mark_name)?;
        let mark = mark.unwrap_or(0);
        rows.extend(hot.into_iter().filter(|b| b.seq > mark).map(|b| b.batch));
        Ok(rows)
    }

    /// The latest rows, from memory only: the flushed rows the [`Retention`] keeps, then the
    /// rows not yet flushed, in order, as an `ArrowStore` (sharing the batches, no copy) with
    /// every read of the store core (`count`, `load_where` with batch pruning, `scan`, SQL).
    /// Older rows are in the cold tier only (read them through the store itself).
    pub async fn recent(&self) -> Result<ArrowStore<T>> {
        let batches: Vec<RecordBatch> = {
            let mut hot = self.inner.hot_mut();
            hot.trim_retained(self.inner.options.retention);
            hot.retained
                .iter()
                .map(|(_, b)| b.clone())
                .chain(hot.batches.iter().map(|b| b.batch.clone()))
                .collect()
        };
        let store = ArrowStore::<T>::new();
        if !batches.is_empty() {
            store.write_batches(batches, WriteMode::Append).await?;
        }
        Ok(store)
    }

    /// Moves every hot row into the cold tier now (one cold commit), then deletes the log
    /// segments it covers.
    ///
    /// # Errors
    /// The cold tier's errors (the rows stay hot and in the log).
    pub async fn flush(&self) -> Result<()> {
        self.inner.flush().await
    }

    /// Stops accepting sends (every `Ingestor`'s later sends fail with [`Error::Task`]; a group
    /// being written when `close` is called is finished and acknowledged), flushes every hot
    /// row, and stops the background tasks. The store stays readable.
    ///
    /// # Errors
    /// As [`flush`](Self::flush).
    pub async fn close(&self) -> Result<()> {
        self.inner.closed.store(true, Ordering::SeqCst);
        // A send going straight into the hot tier (no log) holds its lock while it checks for
        // `closed`: once this lock is had, every later one sees it.
        drop(self.inner.hot_mut());
        // The group being written (if any) finishes and is acknowledged; later ones are refused.
        drop(self.inner.committing.lock().await);
        self.inner
            .tx
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let flushed = self.inner.flush().await;
        if flushed.is_ok() {
            // Nothing more is written to the log: another process may take it.
            self.inner
                .wal_lock
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
        }
        flushed
    }
}

impl<T: Record, C: ColdTier<T>> Inner<T, C> {
    fn hot(&self) -> std::sync::RwLockReadGuard<'_, Hot> {
        self.hot
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn hot_mut(&self) -> std::sync::RwLockWriteGuard<'_, Hot> {
        self.hot
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn wants_flush(&self) -> bool {
        self.policy_reached(&self.hot())
    }

    fn policy_reached(&self, hot: &Hot) -> bool {
        let p = self.options.flush;
        hot.rows >= p.rows
            || hot.bytes >= p.bytes
            // Senders wait at the hot limit for a flush: it must come, whatever the policy.
            || hot.bytes >= self.options.hot_limit
            || hot.oldest.is_some_and(|t| t.elapsed() >= p.age)
    }

    /// Appends `batches` (the log records up to `last`) to the cold tier with the mark `last`.
    /// An error after the commit point (the cold tier's mark reached `last`) is a success.
    async fn commit_cold(&self, batches: Vec<RecordBatch>, last: u64) -> Result<()> {
        match self
            .cold
            .append_marked(batches, &self.mark_name, last)
            .await
        {
            Ok(()) => Ok(()),
            Err(e) => match self.cold.marked(&self.mark_name).await {
                Ok(Some(mark)) if mark >= last => Ok(()),
                _ => Err(e),
            },
        }
    }

    async fn flush(&self) -> Result<()> {
        let _one = self.flushing.lock().await;
        let (batches, last) = {
            let mut hot = self.hot_mut();
            let Some(last) = hot.batches.back().map(|b| b.seq) else {
                return Ok(());
            };
            // No batch up to `last` is joined with a later one from now on.
            hot.frozen = hot.frozen.max(last);
            (
                hot.batches
                    .iter()
                    .map(|b| b.batch.clone())
                    .collect::<Vec<_>>(),
                last,
            )
        };
        // Sends are small (often 100 rows): joined into batches of up to 128 Ki rows, the cold
        // tier encodes a few large column chunks instead of thousands of tiny ones.
        let batches = blocking(move || coalesce(batches, 128 * 1024)).await?;
        {
            // Readers need no exclusion: each keeps the hot batches above the mark of the
            // cold snapshot it read (`snapshot`).
            self.commit_cold(batches, last).await?;
            self.hot_mut().drop_through(last, self.options.retention);
        }
        self.flushes.fetch_add(1, Ordering::Relaxed);
        self.flushed.notify_waiters();
        if let Some(wal) = &self.wal {
            // Reclaiming the log's space: a failure here loses nothing (the segments stay and
            // the next flush deletes them), so the flush still succeeds.
            let wal = Arc::clone(wal);
            let cleaned = blocking(move || {
                let mut wal = wal
                    .lock()
                    .map_err(|_| Error::Task("log lock poisoned".into()))?;
                wal.roll()?;
                let removed = wal.remove_through(last).map(|_| ());
                Ok((removed, wal.bytes()))
            })
            .await
            .and_then(|(removed, bytes)| {
                self.wal_bytes.store(bytes, Ordering::Relaxed);
                removed
            });
            if let (Err(e), Ok(mut f)) = (cleaned, self.failure.lock()) {
                *f = Some(e.to_string());
            }
        }
        Ok(())
    }

    /// One group of sends: into the log (one write each, one fsync for all under `Sync`), then
    /// into the hot tier; every send acknowledged with its sequence number or the error.
    async fn commit_group(&self, group: Vec<Request>) {
        let _busy = self.committing.lock().await;
        if self.closed.load(Ordering::SeqCst) {
            for request in group {
                let _ = request.ack.send(Err(closed()));
            }
            return;
        }
        // Backpressure: over the hot limit, wait for a flush first.
        self.wait_for_room().await;
        let mut batches = Vec::with_capacity(group.len());
        let mut records = Vec::with_capacity(group.len());
        let mut acks = Vec::with_capacity(group.len());
        for r in group {
            batches.push(r.batch);
            records.push(r.record);
            acks.push(r.ack);
        }
        let logged: Result<(Vec<u64>, Vec<RecordBatch>)> = match &self.wal {
            None => {
                let first = self
                    .next_seq
                    .fetch_add(batches.len() as u64, Ordering::SeqCst);
                Ok(((first..first + batches.len() as u64).collect(), batches))
            }
            Some(wal) => {
                let wal = Arc::clone(wal);
                let sync = self.options.durability == Durability::Sync;
                let (dir, options, mark) =
                    (self.wal_dir.clone(), self.options.wal, self.hot().mark);
                let recovery = self.options.recovery;
                let wal_bytes = Arc::clone(&self.wal_bytes);
                blocking(move || {
                    let mut wal = wal
                        .lock()
                        .map_err(|_| Error::Task("log lock poisoned".into()))?;
                    let logged = (|| {
                        let seqs = if records.iter().all(Option::is_some) {
                            let records: Vec<EncodedRecord> =
                                records.into_iter().flatten().collect();
                            wal.append_encoded(&records)?
                        } else {
                            wal.append_all(&batches)?
                        };
                        if sync {
                            wal.sync()?;
                        }
                        Ok(seqs)
                    })();
                    wal_bytes.store(wal.bytes(), Ordering::Relaxed);
                    match logged {
                        Ok(seqs) => Ok((seqs, batches)),
                        Err(e) => {
                            // This group is not acknowledged. Reopen the log (reading it back
                            // cuts a partial record) so that the next sends can succeed; if
                            // that fails too, the next group tries again.
                            if let Ok((mut reopened, _)) = Wal::open(&dir, options, recovery)
                                && reopened.resume_after(mark).is_ok()
                            {
                                *wal = reopened;
                            }
                            Err(e)
                        }
                    }
                })
                .await
            }
        };
        match logged {
            Ok((seqs, batches)) => {
                {
                    let sizes: Vec<u64> = batches.iter().map(batch_bytes).collect();
                    let mut hot = self.hot_mut();
                    for ((seq, batch), bytes) in seqs.iter().zip(batches).zip(sizes) {
                        hot.push(*seq, batch, bytes);
                    }
                }
                if let Some(last) = seqs.last() {
                    self.next_seq.fetch_max(last + 1, Ordering::SeqCst);
                }
                if self.wants_flush() {
                    self.flush_wanted.notify_one();
                }
                for (ack, seq) in acks.into_iter().zip(seqs) {
                    let _ = ack.send(Ok(seq));
                }
            }
            Err(e) => {
                // Nothing of the group is acknowledged; a record the log may hold in part is
                // cut on the next open (torn tail) or, written whole but unsynced, replayed:
                // rows sent but not acknowledged may appear, acknowledged rows are never lost.
                if let Ok(mut f) = self.failure.lock() {
                    *f = Some(e.to_string());
                }
                let text = e.to_string();
                let mut first = Some(e);
                for ack in acks {
                    let err = first
                        .take()
                        .unwrap_or_else(|| Error::Task(format!("write-ahead log: {text}")));
                    let _ = ack.send(Err(err));
                }
            }
        }
    }

    /// The hot batches (sequence number, rows), then the cold tier's scan with the mark of the
    /// commit it reads: the hot batches at or below the mark are in that snapshot already.
    /// Hot first: a batch dropped from the hot tier after this point was committed before, so
    /// the cold snapshot (taken later) holds it.
    /// The cold stream, the hot batches the read needs (those the predicate's statistics do
    /// not rule out), and how many hot batches there were.
    async fn snapshot(
        &self,
        options: ScanOptions,
    ) -> Result<(BatchStream, Vec<(HotBatch, bool)>, usize)> {
        // Only batches above the current mark can be needed (the snapshot's mark is at least it).
        let (hot, total) = {
            let hot = self.hot();
            let start = hot.batches.partition_point(|b| b.seq <= hot.mark);
            let candidates: Vec<&HotBatch> = hot.batches.range(start..).collect();
            let verdicts = match &options.predicate {
                Some(expr) => hot_verdicts(&candidates, expr),
                None => vec![Some(true); candidates.len()],
            };
            let kept: Vec<(HotBatch, bool)> = candidates
                .iter()
                .zip(verdicts)
                .filter_map(|(b, v)| v.map(|check| ((*b).clone(), check)))
                .collect();
            (kept, candidates.len())
        };
        let (cold, mark) = self.cold.scan_marked(options, &self.mark_name).await?;
        let mark = mark.unwrap_or(0);
        let hot = hot.into_iter().filter(|(b, _)| b.seq > mark).collect();
        Ok((cold, hot, total))
    }

    /// Joins the runs of sends that reached `JOIN_ROWS` rows (blocking: copies their rows).
    fn join_runs(&self) {
        if self.joining.swap(true, Ordering::AcqRel) {
            return;
        }
        let runs = self.hot().runs_to_join();
        for (first, count, batches) in runs {
            let Some(schema) = batches.first().map(RecordBatch::schema) else {
                continue;
            };
            // Joining is an optimisation of reads: if it fails, the sends stay as they are.
            if let Ok(joined) = arrow_select::concat::concat_batches(&schema, batches.iter()) {
                self.hot_mut().replace_run(first, count, joined);
            }
        }
        self.joining.store(false, Ordering::Release);
    }

    /// Whether a read ran in the last second.
    fn read_recently(&self) -> bool {
        let now = self.opened.elapsed().as_millis() as u64;
        now.saturating_sub(self.last_read.load(Ordering::Relaxed)) < 1_000
            && self.last_read.load(Ordering::Relaxed) > 0
    }

    /// Notes a read: sends are joined from now on (and those waiting, in the background).
    fn reading(self: &Arc<Self>) {
        let now = (self.opened.elapsed().as_millis() as u64).max(1);
        if self.last_read.swap(now, Ordering::Relaxed) != now {
            Direct::join_later(Arc::clone(self) as Arc<dyn Direct>);
        }
    }

    fn wants_join(&self) -> bool {
        !self.joining.load(Ordering::Acquire) && self.hot().unjoined >= JOIN_ROWS
    }
}

impl<T: Record, C: ColdTier<T>> Direct for Inner<T, C> {
    fn try_push(
        &self,
        batch: RecordBatch,
    ) -> Result<std::result::Result<(u64, bool), RecordBatch>> {
        let bytes = batch_bytes(&batch);
        let mut hot = self.hot_mut();
        if self.closed.load(Ordering::SeqCst) {
            return Err(closed());
        }
        if hot.bytes >= self.options.hot_limit {
            drop(hot);
            self.flush_wanted.notify_one();
            return Ok(Err(batch));
        }
        // Under the lock: sequence numbers follow the order of the hot batches.
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        hot.push(seq, batch, bytes);
        let flush = self.policy_reached(&hot);
        // Without a log, sends run at memory speed and joining would cost a third of it: they
        // are joined only while the store is being read.
        let join = hot.unjoined >= JOIN_ROWS && self.read_recently();
        drop(hot);
        if flush {
            self.flush_wanted.notify_one();
        }
        Ok(Ok((seq, join)))
    }

    fn room(&self) -> futures::future::BoxFuture<'_, ()> {
        Box::pin(self.wait_for_room())
    }

    fn join_later(self: Arc<Self>) {
        // Outside a tokio runtime (a read from another executor) the sends stay unjoined.
        if self.wants_join()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            drop(runtime.spawn_blocking(move || self.join_runs()));
        }
    }
}

impl<T: Record, C: ColdTier<T>> Inner<T, C> {
    /// Backpressure: while the hot tier is over its limit, asks for a flush and waits for it.
    async fn wait_for_room(&self) {
        while self.hot().bytes >= self.options.hot_limit {
            self.flush_wanted.notify_one();
            let flushed = self.flushed.notified();
            if self.hot().bytes < self.options.hot_limit {
                break;
            }
            let _ = tokio::time::timeout(Duration::from_millis(100), flushed).await;
        }
    }
}

async fn commit_loop<T: Record, C: ColdTier<T>>(
    inner: Weak<Inner<T, C>>,
    mut rx: mpsc::Receiver<Request>,
) {
    while let Some(first) = rx.recv().await {
        let mut group = vec![first];
        while group.len() < 4096 {
            match rx.try_recv() {
                Ok(r) => group.push(r),
                Err(_) => break,
            }
        }
        let Some(inner) = inner.upgrade() else {
            return;
        };
        inner.commit_group(group).await;
        Direct::join_later(inner as Arc<dyn Direct>);
    }
}

async fn flush_loop<T: Record, C: ColdTier<T>>(inner: Weak<Inner<T, C>>) {
    loop {
        let Some(i) = inner.upgrade() else {
            return;
        };
        if i.closed.load(Ordering::SeqCst) {
            return;
        }
        if i.wants_flush() {
            if let Err(e) = i.flush().await {
                if let Ok(mut f) = i.failure.lock() {
                    *f = Some(e.to_string());
                }
                // A failing cold tier: try again later, not in a tight loop.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            continue;
        }
        let tick =
            (i.options.flush.age / 4).clamp(Duration::from_millis(10), Duration::from_millis(250));
        // Wait for a wake-up or the next tick without keeping the store alive.
        let wake = Arc::clone(&i.flush_wanted);
        drop(i);
        let _ = tokio::time::timeout(tick, wake.notified()).await;
    }
}

async fn sync_loop<T: Record, C: ColdTier<T>>(inner: Weak<Inner<T, C>>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let Some(i) = inner.upgrade() else {
            return;
        };
        if i.closed.load(Ordering::SeqCst) {
            return;
        }
        if let Some(wal) = &i.wal {
            let wal = Arc::clone(wal);
            let _ = blocking(move || {
                wal.lock()
                    .map_err(|_| Error::Task("log lock poisoned".into()))?
                    .sync()
            })
            .await;
        }
    }
}

impl<T: Record, C: ColdTier<T>> Store<T> for TieredStore<T, C> {
    /// `Append`: through the log and the hot tier, acknowledged as the store's durability says.
    /// `Overwrite`: flushes, then overwrites the cold tier (the hot tier is then empty).
    async fn write_batches(&self, batches: Vec<RecordBatch>, mode: WriteMode) -> Result<()> {
        match mode {
            WriteMode::Append => {
                let ingest = self.ingestor();
                for batch in batches.into_iter().filter(|b| b.num_rows() > 0) {
                    ingest.send_record_batch(batch).await?;
                }
                Ok(())
            }
            _ => {
                self.inner.flush().await?;
                let _one = self.inner.flushing.lock().await;
                // Rows sent since the flush go to the cold tier first: the overwrite replaces
                // them too, as it replaces everything stored before it.
                let (pending, last) = {
                    let mut hot = self.inner.hot_mut();
                    let last = hot.batches.back().map(|b| b.seq);
                    hot.frozen = hot.frozen.max(last.unwrap_or(0));
                    (
                        hot.batches
                            .iter()
                            .map(|b| b.batch.clone())
                            .collect::<Vec<_>>(),
                        last,
                    )
                };
                if let Some(last) = last {
                    self.inner.commit_cold(pending, last).await?;
                    self.inner.hot_mut().drop_through(last, Retention::none());
                }
                let written = self.inner.cold.write_batches(batches, mode).await;
                let mut hot = self.inner.hot_mut();
                hot.retained.clear();
                hot.retained_rows = 0;
                written
            }
        }
    }

    /// The cold tier's rows (its snapshot), then the hot rows, each once.
    async fn scan_with(&self, options: ScanOptions) -> Result<BatchStream> {
        self.inner.reading();
        let (cold, kept, total) = self.inner.snapshot(options.clone()).await?;
        let total = total as u64;
        // Projected here, and the sends not yet joined (up to `JOIN_ROWS` rows of small
        // batches) joined after projection: the filter then runs over a few large batches.
        let projection = match &options.columns {
            Some(names) => Some(crate::store::core::project_columns::<T>(names)?),
            None => None,
        };
        let project = |batch: RecordBatch| -> Result<RecordBatch> {
            match &projection {
                Some((schema, indices)) => RecordBatch::try_new(
                    Arc::clone(schema),
                    indices.iter().map(|&i| batch.column(i).clone()).collect(),
                )
                .map_err(|e| Error::arrow("projecting a hot batch", e)),
                None => Ok(batch),
            }
        };
        let mut batches = Vec::with_capacity(kept.len());
        let mut run: Vec<RecordBatch> = Vec::new();
        let tail = |run: &mut Vec<RecordBatch>, batches: &mut Vec<(RecordBatch, bool)>| {
            coalesce(std::mem::take(run), usize::MAX)
                .map(|joined| batches.extend(joined.into_iter().map(|b| (b, true))))
        };
        for (b, check) in kept {
            let joined = b.stats.is_some();
            let batch = project(b.batch)?;
            if joined {
                tail(&mut run, &mut batches)?;
                batches.push((batch, check));
            } else {
                run.push(batch);
            }
        }
        tail(&mut run, &mut batches)?;
        let mut projected = options;
        projected.columns = None;
        let hot = crate::store::memory::scan_kept::<T>(batches, total, &projected)?;
        Ok(Box::pin(cold.chain(hot)))
    }

    /// The cold tier's count (from its manifest) plus the hot rows its commit does not hold.
    async fn count(&self) -> Result<u64> {
        let hot: Vec<(u64, u64)> = {
            let hot = self.inner.hot();
            let start = hot.batches.partition_point(|b| b.seq <= hot.mark);
            hot.batches
                .range(start..)
                .map(|b| (b.seq, b.batch.num_rows() as u64))
                .collect()
        };
        let (cold, mark) = self.inner.cold.count_marked(&self.inner.mark_name).await?;
        let mark = mark.unwrap_or(0);
        Ok(cold
            + hot
                .iter()
                .filter(|(seq, _)| *seq > mark)
                .map(|(_, n)| n)
                .sum::<u64>())
    }

    fn stats(&self) -> StoreStats {
        let mut stats = self.inner.cold.stats();
        let hot = self.inner.hot();
        stats.rows += hot.rows;
        stats.batches += hot.batches.len() as u64;
        stats.bytes += hot.bytes;
        stats
    }
}

/// For each hot batch: `None` if `expr` matches none of its rows, `Some(false)` if it matches
/// all of them (no need to evaluate it), `Some(true)` otherwise; from the cached statistics of
/// the joined batches, put side by side so that one evaluation decides for them all. A send's
/// own batch (not yet joined, at most `JOIN_ROWS` rows in all) is evaluated.
fn hot_verdicts(batches: &[&HotBatch], expr: &crate::predicate::Expr) -> Vec<Option<bool>> {
    use crate::store::prune::ColumnStats;
    let joined: Vec<(usize, &StatsCache)> = batches
        .iter()
        .enumerate()
        .filter_map(|(i, b)| b.stats.as_ref().map(|s| (i, s)))
        .collect();
    let mut verdicts = vec![Some(true); batches.len()];
    if joined.is_empty() {
        return verdicts;
    }
    let column_stats = |column: &str| -> Option<ColumnStats> {
        let mut per = Vec::with_capacity(joined.len());
        for (i, cache) in &joined {
            let mut cache = cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let stats = match cache.get(column) {
                Some(stats) => stats.clone(),
                None => {
                    let stats = batches[*i]
                        .batch
                        .column_by_name(column)
                        .and_then(|a| crate::store::prune::array_stats(a.as_ref()));
                    cache.insert(column.to_owned(), stats.clone());
                    stats
                }
            };
            per.push(stats?);
        }
        let join =
            |arrays: Vec<&dyn arrow_array::Array>| arrow_select::concat::concat(&arrays).ok();
        let counts = |pick: &dyn Fn(&ColumnStats) -> Option<&arrow_array::UInt64Array>| {
            let parts: Option<Vec<&dyn arrow_array::Array>> = per
                .iter()
                .map(|s| pick(s).map(|a| a as &dyn arrow_array::Array))
                .collect();
            parts
                .and_then(join)
                .map(|a| arrow_array::cast::AsArray::as_primitive(a.as_ref()).clone())
        };
        Some(ColumnStats {
            mins: join(per.iter().map(|s| s.mins.as_ref()).collect())?,
            maxes: join(per.iter().map(|s| s.maxes.as_ref()).collect())?,
            null_counts: counts(&|s| s.null_counts.as_ref()),
            row_counts: counts(&|s| s.row_counts.as_ref()),
        })
    };
    let mut cached: std::collections::HashMap<String, Option<ColumnStats>> =
        std::collections::HashMap::new();
    let mut stats = |column: &str| {
        cached
            .entry(column.to_owned())
            .or_insert_with(|| column_stats(column))
            .clone()
    };
    let may = crate::store::prune::may_match(expr, joined.len(), &mut stats);
    let all = crate::store::prune::all_match(expr, joined.len(), &mut stats);
    if may.len() == joined.len() && all.len() == joined.len() {
        for (((i, _), may), all) in joined.iter().zip(may).zip(all) {
            verdicts[*i] = may.then_some(!all);
        }
    }
    verdicts
}
