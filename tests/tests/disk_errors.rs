//! Disk full and permission errors give a typed `Error::Io` (with the OS error kind) and leave the
//! stored data loadable, for `ParquetStore` commits and `ArrowStore::save_ipc`.
//!
//! Real failures where the machine allows them, injected ones otherwise (each test prints which):
//!
//! * **disk full**: a 1 MiB tmpfs mounted for the test (needs `CAP_SYS_ADMIN`, as root in CI
//!   containers that allow it). Appends of growing size run until the file system is full; each
//!   failed commit must be `StorageFull`, and a reopened store must hold exactly the rows of the
//!   successful commits. Without mount rights: `inject_fault(.., StorageFull)` at each commit step.
//! * **read-only directory**: `chmod 0555` when permissions are enforced (not as root); else a
//!   tmpfs remounted read-only (`EROFS`, enforced even for root); else an injected
//!   `PermissionDenied`.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use soa_runtime::StoreExt;
use soa_runtime::store::memory::IpcCompression;
use soa_runtime::store::parquet::{Codec, FaultPoint};
use soa_runtime::{ArrowStore, Error, ParquetStore, Soa, Store, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Reading {
    pub id: u64,
    pub sensor: String,
    pub value: f64,
}

/// `n` rows from `from`, with incompressible text so file sizes follow row counts.
fn readings(from: u64, n: u64) -> Vec<Reading> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D ^ from;
    (from..from + n)
        .map(|id| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Reading {
                id,
                sensor: format!("{x:016x}{:016x}", x.rotate_left(17)),
                value: id as f64 * 0.5,
            }
        })
        .collect()
}

fn soa(rows: &[Reading]) -> ReadingSoA {
    rows.iter().cloned().collect()
}

/// A tmpfs mounted for one test; unmounted (lazily) on drop.
struct Mount {
    dir: PathBuf,
    _parent: tempfile::TempDir,
}

impl Mount {
    /// `None` when this process may not mount (no `CAP_SYS_ADMIN`, no `mount` binary).
    fn tmpfs(size: &str) -> Option<Mount> {
        let parent = tempfile::tempdir().ok()?;
        let dir = parent.path().join("mnt");
        fs::create_dir(&dir).ok()?;
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then_some(Mount {
            dir,
            _parent: parent,
        })
    }

    fn remount(&self, options: &str) -> bool {
        Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// `true` if a `chmod 0555` directory refuses new files for this process (false as root).
fn permissions_enforced(dir: &Path) -> bool {
    fs::set_permissions(dir, fs::Permissions::from_mode(0o555)).unwrap();
    let probe = dir.join("probe");
    let refused = fs::write(&probe, b"x").is_err();
    let _ = fs::remove_file(&probe);
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    refused
}

/// The kind of the `std::io::Error` behind `e`: `Error::Io` itself, or one found in the
/// `source()` chain (a Parquet writer's `External(io::Error)`, an Arrow `IoError`).
fn io_kind(e: &Error) -> Option<ErrorKind> {
    if let Error::Io { source, .. } = e {
        return Some(source.kind());
    }
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        if let Some(soa_runtime::arrow::datatypes::ArrowError::IoError(_, io)) =
            err.downcast_ref::<soa_runtime::arrow::datatypes::ArrowError>()
        {
            return Some(io.kind());
        }
        next = err.source();
    }
    None
}

/// The `Error` variant, for the report.
fn variant(e: &Error) -> &'static str {
    match e {
        Error::Io { .. } => "Io",
        Error::Parquet { .. } => "Parquet(External(io))",
        Error::Arrow { .. } => "Arrow(IoError)",
        _ => "other",
    }
}

fn assert_kind(result: Result<(), Error>, kinds: &[ErrorKind], what: &str) {
    match result {
        Err(e) => assert!(
            io_kind(&e).is_some_and(|k| kinds.contains(&k)),
            "{what}: expected Error::Io of kind {kinds:?}, got {e:?}"
        ),
        Ok(()) => panic!("{what}: succeeded, expected an I/O error {kinds:?}"),
    }
}

fn visible(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && !n.starts_with('_'))
        .collect();
    names.sort();
    names
}

// ---------------------------------------------------------------------------------------------
// Disk full

#[tokio::test(flavor = "multi_thread")]
async fn disk_full_is_storage_full_and_committed_data_stays_loadable() {
    let Some(mount) = Mount::tmpfs("1m") else {
        println!("route: injected StorageFull (mounting a tmpfs is not permitted here)");
        return injected_storage_full().await;
    };
    println!(
        "route: real ENOSPC on a 1 MiB tmpfs at {}",
        mount.dir.display()
    );
    let dir = mount.dir.join("store");
    let store = ParquetStore::<Reading>::builder(&dir)
        .compression(Codec::Uncompressed)
        .dictionary(false)
        .open_or_create()
        .await
        .unwrap();
    let mut committed: Vec<Reading> = readings(0, 100);
    store.save(&soa(&committed)).await.unwrap();
    let (mut ok, mut full) = (0, 0);
    let mut variants = std::collections::BTreeMap::new();
    // Growing appends until the disk is full, then smaller ones that still fail or fit.
    let mut size = 200u64;
    for step in 0..40 {
        let rows = readings(committed.len() as u64, size);
        match store.append(&soa(&rows)).await {
            Ok(()) => {
                ok += 1;
                committed.extend(rows);
                size = size * 3 / 2;
            }
            Err(e) => {
                full += 1;
                *variants.entry(variant(&e)).or_insert(0) += 1;
                assert!(
                    io_kind(&e) == Some(ErrorKind::StorageFull),
                    "step {step}: expected StorageFull, got {e:?}"
                );
                size = (size / 2).max(1);
            }
        }
        // The same instance and a reopened one hold exactly the committed rows.
        assert_eq!(
            store.load().await.unwrap().into_rows(),
            committed,
            "step {step}"
        );
        let reopened = ParquetStore::<Reading>::open(&dir).await.unwrap();
        assert_eq!(reopened.count().await.unwrap(), committed.len() as u64);
        assert_eq!(
            reopened.load().await.unwrap().into_rows(),
            committed,
            "step {step} reopened"
        );
        for name in visible(&dir) {
            assert!(
                name.ends_with(".parquet"),
                "step {step}: visible leftover {name}"
            );
        }
    }
    assert!(
        ok > 0 && full > 0,
        "{ok} appends fitted, {full} hit a full disk"
    );

    // compact needs room for a second copy: it fails cleanly on the full disk.
    match store.compact().await {
        Ok(()) => println!("compact fitted"),
        Err(e) => assert_eq!(io_kind(&e), Some(ErrorKind::StorageFull), "{e:?}"),
    }
    assert_eq!(store.load().await.unwrap().into_rows(), committed);

    // ArrowStore::save_ipc: a snapshot that does not fit leaves the previous file intact.
    let snapshot = mount.dir.join("snap.arrow");
    let small = ArrowStore::<Reading>::new();
    // Free the space the Parquet store used, so the small snapshot fits.
    store.clear().await.unwrap();
    small.append(&soa(&readings(0, 50))).await.unwrap();
    small
        .save_ipc(&snapshot, IpcCompression::None)
        .await
        .unwrap();
    let big = ArrowStore::<Reading>::new();
    big.append(&soa(&readings(0, 40_000))).await.unwrap();
    let result = big.save_ipc(&snapshot, IpcCompression::None).await;
    assert_kind(result, &[ErrorKind::StorageFull], "save_ipc on a full disk");
    let loaded = ArrowStore::<Reading>::new();
    loaded.load_ipc(&snapshot).await.unwrap();
    assert_eq!(loaded.load().await.unwrap().into_rows(), readings(0, 50));
    let leftovers: Vec<_> = fs::read_dir(&mount.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "save_ipc left {leftovers:?}");
    println!(
        "disk full: {ok} appends fitted, {full} failed with StorageFull ({variants:?}); data loadable after each"
    );
}

/// Without mount rights: a `StorageFull` injected at each step of the commit protocol.
async fn injected_storage_full() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("store");
    let store = ParquetStore::<Reading>::open_or_create(&dir).await.unwrap();
    store.save(&soa(&readings(0, 100))).await.unwrap();
    for point in [FaultPoint::CreateStaged, FaultPoint::BeforeCommit] {
        let failing = ParquetStore::<Reading>::builder(&dir)
            .inject_fault(point, ErrorKind::StorageFull)
            .open()
            .await
            .unwrap();
        assert_kind(
            failing.append(&soa(&readings(100, 10))).await,
            &[ErrorKind::StorageFull],
            &format!("append with {point:?}"),
        );
        let reopened = ParquetStore::<Reading>::open(&dir).await.unwrap();
        assert_eq!(reopened.load().await.unwrap().into_rows(), readings(0, 100));
    }
}

// ---------------------------------------------------------------------------------------------
// Read-only directory

/// What every write must do on a read-only directory, and what must still work.
async fn read_only_checks(dir: &Path, snapshot: &Path, kinds: &[ErrorKind], route: &str) {
    let rows = readings(0, 100);
    let store = ParquetStore::<Reading>::open(dir).await.unwrap();
    assert_kind(store.append(&soa(&readings(100, 5))).await, kinds, "append");
    assert_kind(store.save(&soa(&readings(0, 5))).await, kinds, "save");
    assert_kind(store.clear().await, kinds, "clear");
    assert_eq!(
        store.load().await.unwrap().into_rows(),
        rows,
        "{route}: load after errors"
    );
    let reopened = ParquetStore::<Reading>::open(dir).await.unwrap();
    assert_eq!(
        reopened.load().await.unwrap().into_rows(),
        rows,
        "{route}: reopened"
    );
    assert_eq!(reopened.count_from_footers().await.unwrap().rows, 100);

    let other = ArrowStore::<Reading>::new();
    other.append(&soa(&readings(0, 3))).await.unwrap();
    assert_kind(
        other.save_ipc(snapshot, IpcCompression::Zstd).await,
        kinds,
        "save_ipc",
    );
    let loaded = ArrowStore::<Reading>::new();
    loaded.load_ipc(snapshot).await.unwrap();
    assert_eq!(
        loaded.load().await.unwrap().into_rows(),
        rows,
        "{route}: snapshot"
    );
}

async fn populate(dir: &Path, snapshot: &Path) {
    let rows = readings(0, 100);
    let store = ParquetStore::<Reading>::open_or_create(dir).await.unwrap();
    store.save(&soa(&rows[..60])).await.unwrap();
    store.append(&soa(&rows[60..])).await.unwrap();
    let memory = ArrowStore::<Reading>::new();
    memory.append(&soa(&rows)).await.unwrap();
    memory
        .save_ipc(snapshot, IpcCompression::None)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn read_only_directory_is_a_typed_error_and_data_stays_loadable() {
    let root = tempfile::tempdir().unwrap();
    let area = root.path().join("area");
    fs::create_dir(&area).unwrap();
    if permissions_enforced(&area) {
        println!("route: chmod 0555 (permissions enforced for this user)");
        let dir = area.join("store");
        let snapshot = area.join("snap.arrow");
        populate(&dir, &snapshot).await;
        for d in [&dir, &area] {
            fs::set_permissions(d, fs::Permissions::from_mode(0o555)).unwrap();
        }
        read_only_checks(&dir, &snapshot, &[ErrorKind::PermissionDenied], "chmod").await;
        for d in [&area, &dir] {
            fs::set_permissions(d, fs::Permissions::from_mode(0o755)).unwrap();
        }
        return;
    }
    if let Some(mount) = Mount::tmpfs("8m") {
        let dir = mount.dir.join("store");
        let snapshot = mount.dir.join("snap.arrow");
        populate(&dir, &snapshot).await;
        if mount.remount("ro") {
            println!("route: tmpfs remounted read-only (root ignores chmod; EROFS is enforced)");
            read_only_checks(
                &dir,
                &snapshot,
                &[ErrorKind::ReadOnlyFilesystem, ErrorKind::PermissionDenied],
                "read-only mount",
            )
            .await;
            mount.remount("rw");
            return;
        }
    }
    println!("route: injected PermissionDenied (root, and mounting is not permitted)");
    let dir = root.path().join("store");
    populate(&dir, &root.path().join("snap.arrow")).await;
    let failing = ParquetStore::<Reading>::builder(&dir)
        .inject_fault(FaultPoint::CreateStaged, ErrorKind::PermissionDenied)
        .open()
        .await
        .unwrap();
    assert_kind(
        failing.append(&soa(&readings(100, 5))).await,
        &[ErrorKind::PermissionDenied],
        "append",
    );
    let reopened = ParquetStore::<Reading>::open(&dir).await.unwrap();
    assert_eq!(reopened.load().await.unwrap().into_rows(), readings(0, 100));
}
