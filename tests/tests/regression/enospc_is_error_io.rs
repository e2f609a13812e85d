//! A full disk while a `ParquetStore` commit writes its data file surfaced as
//! `Error::Parquet { source: External(io::Error { kind: StorageFull }) }`, not as `Error::Io`
//! (whose documentation promises the kind: `NotFound`, `PermissionDenied`, `StorageFull`). The
//! io error is only reachable by walking `source()`. Found by tests/disk_errors.rs on a 1 MiB
//! tmpfs. Fix: in soa-runtime/src/store/parquet/encode.rs, map `ParquetError::External` holding
//! an `io::Error` (and arrow `IoError`s) to `Error::Io { path, source }`.
//! Needs mount rights for a real ENOSPC; skipped (with a message) otherwise.

use std::io::ErrorKind;
use std::process::Command;

use soa_runtime::StoreExt;
use soa_runtime::store::parquet::Codec;
use soa_runtime::{Error, ParquetStore, Soa, ToArrow};

#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
pub struct Blob {
    pub id: u64,
    pub text: String,
}

#[tokio::test(flavor = "multi_thread")]
async fn storage_full_while_writing_a_data_file_is_error_io() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("mnt");
    std::fs::create_dir(&dir).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&dir)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        println!("skipped: cannot mount a tmpfs here");
        return;
    }
    let store = ParquetStore::<Blob>::builder(dir.join("store"))
        .compression(Codec::Uncompressed)
        .dictionary(false)
        .open_or_create()
        .await
        .unwrap();
    let rows: BlobSoA = (0..20_000u64)
        .map(|id| Blob {
            id,
            text: format!("{:032x}", id.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        })
        .collect();
    let result = store.append(&rows).await;
    let _ = Command::new("umount").arg("-l").arg(&dir).status();
    match result {
        Err(Error::Io { source, .. }) => assert_eq!(source.kind(), ErrorKind::StorageFull),
        other => panic!("expected Error::Io(StorageFull), got {other:?}"),
    }
}
