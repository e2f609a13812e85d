//! Corrupt input: a generated corpus of damaged Parquet and Arrow IPC files (truncated at every
//! 1/64 of the file, single-bit flips, random byte bursts, zeroed footer, wrong magic, an empty
//! file, a file of another schema) and damaged manifests. Every case must return `Ok` or a typed
//! error (`Corrupt`, `SchemaMismatch`, `Parquet`, `InFile`, `Column`, ...); a panic that escapes,
//! an `Error::Task` (a panic on a blocking thread), an abort or a hang fails the test.
//!
//! Parquet files are damaged twice: once behind the store's manifest (the size or CRC32 check
//! must reject every change), and once with the manifest rewritten to match the damaged bytes,
//! so that the damaged file reaches the Parquet decoder itself.
//!
//! The corpus is deterministic (a fixed xorshift seed); `SOA_CORRUPT_CASES_SCALE=N` multiplies
//! the random cases for longer local runs.

use std::fs;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use soa_runtime::StoreExt;
use soa_runtime::store::memory::IpcCompression;
use soa_runtime::store::parquet::Codec;
use soa_runtime::{ArrowStore, Error, ParquetStore, Soa, Store, ToArrow};
use soa_tests::{Order, OrderSoA, orders};

/// Another row type, for "a file of another schema".
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Other {
    pub order_id: String,
    pub amount: f32,
}

// ---------------------------------------------------------------------------------------------
// The corpus

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One damaged version of a file.
struct Case {
    name: String,
    bytes: Vec<u8>,
}

fn scale() -> usize {
    std::env::var("SOA_CORRUPT_CASES_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

/// Damaged versions of `good`: 64 truncations (at k/64 of the length, k = 0 is the empty file),
/// `flips` single-bit flips, `bursts` runs of random bytes, and the structural cases (zeroed
/// footer, zeroed footer length, wrong leading and trailing magic, doubled file, garbage tail).
fn corpus(good: &[u8], magic_len: usize, flips: usize, bursts: usize, seed: u64) -> Vec<Case> {
    let len = good.len();
    let mut cases = Vec::new();
    for k in 0..64 {
        let cut = len * k / 64;
        cases.push(Case {
            name: format!("truncated at {k}/64 ({cut} of {len} bytes)"),
            bytes: good[..cut].to_vec(),
        });
    }
    cases.push(Case {
        name: "last byte cut".into(),
        bytes: good[..len - 1].to_vec(),
    });
    let mut rng = Rng(seed);
    for _ in 0..flips * scale() {
        let bit = rng.below(len * 8);
        let mut bytes = good.to_vec();
        bytes[bit / 8] ^= 1 << (bit % 8);
        cases.push(Case {
            name: format!("bit {bit} flipped (byte {})", bit / 8),
            bytes,
        });
    }
    for _ in 0..bursts * scale() {
        let at = rng.below(len);
        let n = 1 + rng.below(16);
        let mut bytes = good.to_vec();
        for b in bytes.iter_mut().skip(at).take(n) {
            *b = rng.next() as u8;
        }
        cases.push(Case {
            name: format!("{n} random bytes at {at}"),
            bytes,
        });
    }
    let footer = (len / 8).clamp(8, 512).min(len);
    let mut zeroed = good.to_vec();
    zeroed[len - footer..].fill(0);
    cases.push(Case {
        name: format!("last {footer} bytes (footer) zeroed"),
        bytes: zeroed,
    });
    let mut zeroed = good.to_vec();
    zeroed[len - magic_len - 4..len - magic_len].fill(0);
    cases.push(Case {
        name: "footer length zeroed".into(),
        bytes: zeroed,
    });
    let mut huge = good.to_vec();
    huge[len - magic_len - 4..len - magic_len].copy_from_slice(&[0xff, 0xff, 0xff, 0x7f]);
    cases.push(Case {
        name: "footer length i32::MAX".into(),
        bytes: huge,
    });
    let mut magic = good.to_vec();
    magic[..4].copy_from_slice(b"XXXX");
    cases.push(Case {
        name: "wrong leading magic".into(),
        bytes: magic,
    });
    let mut magic = good.to_vec();
    magic[len - 4..].copy_from_slice(b"YYYY");
    cases.push(Case {
        name: "wrong trailing magic".into(),
        bytes: magic,
    });
    let mut doubled = good.to_vec();
    doubled.extend_from_slice(good);
    cases.push(Case {
        name: "file written twice".into(),
        bytes: doubled,
    });
    let mut tail = good.to_vec();
    tail.extend_from_slice(b"garbage after the end");
    cases.push(Case {
        name: "garbage after the end".into(),
        bytes: tail,
    });
    cases.push(Case {
        name: "empty file".into(),
        bytes: Vec::new(),
    });
    cases.push(Case {
        name: "random bytes".into(),
        bytes: (0..len).map(|_| rng.next() as u8).collect(),
    });
    cases
}

// ---------------------------------------------------------------------------------------------
// Outcomes, panics and the watchdog

#[derive(Default)]
struct Tally {
    cases: usize,
    ok: usize,
    errors: std::collections::BTreeMap<&'static str, usize>,
    caught_panics: usize,
    failures: Vec<String>,
}

impl Tally {
    fn record(&mut self, what: &str, case: &Case, result: std::thread::Result<Result<(), Error>>) {
        self.cases += 1;
        match result {
            Ok(Ok(())) => self.ok += 1,
            Ok(Err(e)) => {
                let kind = kind(&e);
                if kind == "Task" || kind == "other" {
                    self.failures
                        .push(format!("{what}, {}: untyped error {kind}: {e}", case.name));
                }
                if e.to_string().contains("panicked") {
                    self.caught_panics += 1;
                }
                *self.errors.entry(kind).or_default() += 1;
            }
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                self.failures
                    .push(format!("{what}, {}: PANIC escaped: {message}", case.name));
            }
        }
    }

    fn report(&self, what: &str) {
        println!(
            "{what}: {} cases, {} ok, errors {:?}, {} decoder panics caught and typed",
            self.cases, self.ok, self.errors, self.caught_panics
        );
        assert!(
            self.failures.is_empty(),
            "{what}: {} failing cases:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
    }
}

fn kind(e: &Error) -> &'static str {
    match e {
        Error::Corrupt { .. } => "Corrupt",
        Error::SchemaMismatch { .. } => "SchemaMismatch",
        Error::Parquet { .. } => "Parquet",
        Error::Io { .. } => "Io",
        Error::Arrow { .. } => "Arrow",
        Error::InFile { source, .. } => match **source {
            Error::Task(_) => "Task",
            _ => "InFile",
        },
        Error::Column { .. } | Error::MissingColumn { .. } | Error::LengthMismatch { .. } => {
            "Column"
        }
        Error::Task(_) => "Task",
        _ => "other",
    }
}

/// Silences the default panic hook (the library catches decoder panics and the hook would print
/// each) and counts them; started once per test binary.
fn quiet_panics() -> &'static AtomicUsize {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // Decoder panics come from dependencies; the tests' own panics are still printed.
            let upstream = info.location().is_some_and(|l| {
                l.file().contains("/.cargo/registry/") || l.file().contains("/rustc/")
            });
            if upstream {
                COUNT.fetch_add(1, Ordering::Relaxed);
            } else {
                default(info);
            }
        }));
    });
    &COUNT
}

/// Ends the test process with the current case's name if one case runs longer than `limit`
/// (a hang would otherwise stall CI). Stops when dropped.
struct Watchdog {
    current: Arc<Mutex<String>>,
    /// Milliseconds since `EPOCH` when the current case started; 0 = idle, `u64::MAX` = stop.
    started: Arc<AtomicU64>,
}

static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

fn now_ms() -> u64 {
    (EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64).max(1)
}

impl Watchdog {
    fn new(limit: Duration) -> Self {
        let current = Arc::new(Mutex::new(String::new()));
        let started = Arc::new(AtomicU64::new(0));
        let (c, s) = (Arc::clone(&current), Arc::clone(&started));
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(250));
                let since = s.load(Ordering::Relaxed);
                if since == u64::MAX {
                    return;
                }
                if since == 0 {
                    continue;
                }
                let running = now_ms().saturating_sub(since);
                if running > limit.as_millis() as u64 {
                    eprintln!(
                        "HANG: case {:?} has run for {running} ms",
                        c.lock().unwrap()
                    );
                    std::process::exit(101);
                }
            }
        });
        Watchdog { current, started }
    }

    fn start(&self, name: &str) {
        *self.current.lock().unwrap() = name.to_owned();
        self.started.store(now_ms(), Ordering::Relaxed);
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.started.store(u64::MAX, Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures

fn soa(rows: &[Order]) -> OrderSoA {
    rows.iter().cloned().collect()
}

/// CRC32 (IEEE), table-driven.
fn crc32(bytes: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    (c >> 1) ^ 0xEDB8_8320
                } else {
                    c >> 1
                };
            }
            *e = c;
        }
        t
    });
    let mut crc = !0u32;
    for &b in bytes {
        crc = table[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

/// Rewrites the `file` line of `name` (size, CRC, rows) and the manifest's checksum line, so the
/// store accepts `content` as committed.
fn forge_manifest(dir: &Path, name: &str, content: &[u8], rows: u64) {
    let path = dir.join("_soa_manifest");
    let text = fs::read_to_string(&path).unwrap();
    let mut body = String::new();
    for line in text.lines() {
        if line.starts_with("crc ") {
            continue;
        }
        if line.starts_with(&format!("file {name} ")) {
            body.push_str(&format!(
                "file {name} {} {:08x} {rows} -\n",
                content.len(),
                crc32(content)
            ));
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    let crc = crc32(body.as_bytes());
    fs::write(&path, format!("{body}crc {crc:08x}\n")).unwrap();
}

const ROWS: usize = 300;

/// Reads everything a store offers (load, scan, a projection, footer count), stopping at the
/// first error.
async fn read_everything(store: &ParquetStore<Order>) -> Result<(), Error> {
    store.load().await?;
    let mut stream = store.scan().await?;
    while let Some(batch) = stream.next().await {
        batch?;
    }
    store.load_columns(&["symbol", "unit_price"]).await?;
    store.count_from_footers().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Parquet

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_parquet_files_give_typed_errors() {
    quiet_panics();
    let watchdog = Watchdog::new(Duration::from_secs(20));
    let started = Instant::now();
    let rows = orders(ROWS);
    let root = tempfile::tempdir().unwrap();
    let mut verified = Tally::default();
    let mut decoded = Tally::default();
    let variants: [(&str, Codec, bool); 3] = [
        ("zstd", Codec::Zstd(1), true),
        ("snappy-plain", Codec::Snappy, false),
        ("uncompressed", Codec::Uncompressed, true),
    ];
    for (seed, (label, codec, dictionary)) in variants.into_iter().enumerate() {
        let dir = root.path().join(label);
        let store = ParquetStore::<Order>::builder(&dir)
            .compression(codec)
            .dictionary(dictionary)
            .row_group_size(100)
            .scan_batch_size(64)
            .open_or_create()
            .await
            .unwrap();
        store.save(&soa(&rows)).await.unwrap();
        let data = dir.join("data.parquet");
        let good = fs::read(&data).unwrap();
        let manifest = fs::read(dir.join("_soa_manifest")).unwrap();
        let cases = corpus(&good, 4, 250, 40, 0x5EED_0000 + seed as u64);

        // 1. Behind the manifest: size and CRC32 reject every change.
        for case in &cases {
            watchdog.start(&format!("parquet {label} verified: {}", case.name));
            fs::write(&data, &case.bytes).unwrap();
            let result = AssertUnwindSafe(read_everything(&store))
                .catch_unwind()
                .await;
            if case.bytes != good {
                match &result {
                    Ok(Err(Error::Corrupt { .. })) => {}
                    other => verified.failures.push(format!(
                        "parquet {label} verified, {}: expected Corrupt, got {:?}",
                        case.name,
                        other.as_ref().map(|r| r.as_ref().map_err(kind))
                    )),
                }
            }
            verified.record(&format!("parquet {label} verified"), case, result);
        }

        // 2. The manifest rewritten to match: the damaged bytes reach the decoder.
        for case in &cases {
            watchdog.start(&format!("parquet {label} decoder: {}", case.name));
            fs::write(&data, &case.bytes).unwrap();
            fs::write(dir.join("_soa_manifest"), &manifest).unwrap();
            forge_manifest(&dir, "data.parquet", &case.bytes, ROWS as u64);
            let result = AssertUnwindSafe(async {
                let store = ParquetStore::<Order>::open(&dir).await?;
                read_everything(&store).await
            })
            .catch_unwind()
            .await;
            decoded.record(&format!("parquet {label} decoder"), case, result);
        }
        fs::write(&data, &good).unwrap();
        fs::write(dir.join("_soa_manifest"), &manifest).unwrap();
    }

    // A file of another schema, behind a manifest that claims `Order`.
    let other_dir = root.path().join("other");
    let other = ParquetStore::<Other>::open_or_create(&other_dir)
        .await
        .unwrap();
    let other_rows: OtherSoA = (0..50)
        .map(|i| Other {
            order_id: format!("o{i}"),
            amount: i as f32,
        })
        .collect();
    other.save(&other_rows).await.unwrap();
    let foreign = fs::read(other_dir.join("data.parquet")).unwrap();
    let dir = root.path().join("zstd");
    fs::write(dir.join("data.parquet"), &foreign).unwrap();
    forge_manifest(&dir, "data.parquet", &foreign, 50);
    let case = Case {
        name: "a Parquet file of another row type".into(),
        bytes: foreign,
    };
    let result = AssertUnwindSafe(async {
        let store = ParquetStore::<Order>::open(&dir).await?;
        read_everything(&store).await
    })
    .catch_unwind()
    .await;
    assert!(
        matches!(result, Ok(Err(Error::SchemaMismatch { .. }))),
        "{:?}",
        result.as_ref().map(|r| r.as_ref().map_err(kind))
    );
    decoded.record("parquet another schema", &case, result);
    // The whole store directory of another type.
    let err = ParquetStore::<Order>::open(&other_dir).await.unwrap_err();
    assert!(matches!(err, Error::SchemaMismatch { .. }), "{err:?}");

    verified.report("Parquet behind the manifest (size + CRC32)");
    decoded.report("Parquet reaching the decoder (manifest forged)");
    println!(
        "Parquet corpus: {} cases in {:.1?}; panic hook calls so far: {}",
        verified.cases + decoded.cases,
        started.elapsed(),
        quiet_panics().load(Ordering::Relaxed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_manifests_give_typed_errors() {
    quiet_panics();
    let watchdog = Watchdog::new(Duration::from_secs(20));
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("store");
    let store = ParquetStore::<Order>::open_or_create(&dir).await.unwrap();
    store.save(&soa(&orders(50))).await.unwrap();
    store.append(&soa(&orders(60)[50..])).await.unwrap();
    let manifest_path = dir.join("_soa_manifest");
    let good = fs::read(&manifest_path).unwrap();
    let files: Vec<(String, Vec<u8>)> = ["data.parquet", "part-000001.parquet"]
        .iter()
        .map(|n| ((*n).to_owned(), fs::read(dir.join(n)).unwrap()))
        .collect();
    // The manifest has no magic number; its trailing `crc` line plays that role.
    let mut tally = Tally::default();
    for case in corpus(&good, 0, 300, 40, 0xFEED) {
        watchdog.start(&format!("manifest: {}", case.name));
        // Open sweeps files a damaged manifest does not list: restore them for every case.
        for (name, bytes) in &files {
            fs::write(dir.join(name), bytes).unwrap();
        }
        fs::write(&manifest_path, &case.bytes).unwrap();
        let mut accepted = None;
        let result = AssertUnwindSafe(async {
            let store = ParquetStore::<Order>::open(&dir).await?;
            let rows = store.load().await?;
            assert_eq!(rows.len() as u64, store.count().await?);
            accepted = Some(rows.into_rows());
            Ok(())
        })
        .catch_unwind()
        .await;
        // A change the CRC line covers is detected; the ones it does not cover (the final
        // newline, the case of a hex digit) must not change the state.
        if let Some(rows) = accepted.filter(|r| !case.bytes.is_empty() && *r != orders(60)) {
            tally.failures.push(format!(
                "manifest, {}: a damaged manifest was accepted with {} rows",
                case.name,
                rows.len()
            ));
        }
        tally.record("manifest", &case, result);
    }
    tally.report("damaged _soa_manifest");
}

// ---------------------------------------------------------------------------------------------
// Arrow IPC

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_arrow_ipc_files_give_typed_errors() {
    quiet_panics();
    let watchdog = Watchdog::new(Duration::from_secs(20));
    let started = Instant::now();
    let root = tempfile::tempdir().unwrap();
    let rows = orders(ROWS);
    let source = ArrowStore::<Order>::new();
    source.append(&soa(&rows[..100])).await.unwrap();
    source.append(&soa(&rows[100..])).await.unwrap();
    let mut tally = Tally::default();
    for (seed, compression) in [
        IpcCompression::None,
        IpcCompression::Lz4,
        IpcCompression::Zstd,
    ]
    .into_iter()
    .enumerate()
    {
        let good_path = root.path().join(format!("good-{compression:?}.arrow"));
        source.save_ipc(&good_path, compression).await.unwrap();
        let good = fs::read(&good_path).unwrap();
        let path = root.path().join("case.arrow");
        let target = ArrowStore::<Order>::new();
        target.append(&soa(&rows[..7])).await.unwrap();
        for case in corpus(&good, 6, 400, 60, 0xA77E_0000 + seed as u64) {
            watchdog.start(&format!("ipc {compression:?}: {}", case.name));
            fs::write(&path, &case.bytes).unwrap();
            let result = AssertUnwindSafe(async {
                let before = target.count().await?;
                match target.load_ipc(&path).await {
                    Ok(()) => {
                        // Whatever decoded must convert (or fail typed) and be counted right.
                        let loaded = target.load().await?;
                        assert_eq!(loaded.len() as u64, target.count().await?);
                        target.save(&soa(&rows[..7])).await?;
                        Ok(())
                    }
                    Err(e) => {
                        assert_eq!(
                            target.count().await?,
                            before,
                            "a failed load changed the store"
                        );
                        Err(e)
                    }
                }
            })
            .catch_unwind()
            .await;
            if case.bytes.len() < good.len() {
                // Truncated IPC files are always detected (the file format has a footer).
                if let Ok(Ok(())) = &result {
                    tally.failures.push(format!(
                        "ipc {compression:?}, {}: truncation accepted",
                        case.name
                    ));
                }
            }
            tally.record(&format!("ipc {compression:?}"), &case, result);
        }
    }
    // A file of another schema.
    let other = ArrowStore::<Other>::new();
    other
        .append(&OtherSoA::from(vec![Other {
            order_id: "x".into(),
            amount: 1.0,
        }]))
        .await
        .unwrap();
    let other_path = root.path().join("other.arrow");
    other
        .save_ipc(&other_path, IpcCompression::None)
        .await
        .unwrap();
    let err = ArrowStore::<Order>::new()
        .load_ipc(&other_path)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::SchemaMismatch { .. }), "{err:?}");
    tally.record(
        "ipc another schema",
        &Case {
            name: "an IPC file of another row type".into(),
            bytes: Vec::new(),
        },
        Ok(Err(err)),
    );
    // A missing file.
    let err = ArrowStore::<Order>::new()
        .load_ipc(root.path().join("missing.arrow"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
        "{err:?}"
    );
    tally.report("Arrow IPC files");
    println!(
        "Arrow IPC corpus: {} cases in {:.1?}",
        tally.cases,
        started.elapsed()
    );
}
