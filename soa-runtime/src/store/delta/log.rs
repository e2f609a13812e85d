//! The Delta log as this crate writes it: commit files of newline-delimited JSON actions, each
//! published by a put-if-absent of `_delta_log/<version>.json`, and read back for conflict checks
//! and `history`. The kernel's transaction API cannot put `tags` (our CRC32 and order key) on an
//! `add`, so commits are written here; replay, snapshots and checkpoints are the kernel's.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde_json::{Value, json};

use super::location::Location;
use crate::error::{Error, Result};

/// Tag of an `add`: the file's CRC32 (8 hex digits), verified when the file is read.
pub(crate) const CRC_TAG: &str = "soa.crc32";
/// Tag of an `add`: where the file's rows go in the table's order (`<version>.<index>`, both
/// zero-padded, so the tags sort as strings).
pub(crate) const ORDER_TAG: &str = "soa.order";
/// Tag of an `add`: compressed bytes per column, comma-separated (for `stats()`).
pub(crate) const COLUMN_BYTES_TAG: &str = "soa.columnBytes";
/// `commitInfo` key naming the commit, so a writer recognises its own commit after a retried
/// request whose first attempt succeeded.
pub(crate) const COMMIT_ID_KEY: &str = "soa.commitId";
/// Table property naming the row type.
pub(crate) const ROW_TYPE_PROPERTY: &str = "soa.rustType";

/// A data file to add.
#[derive(Debug, Clone)]
pub(crate) struct AddFile {
    /// Relative to the table root, unescaped.
    pub path: String,
    pub size: u64,
    pub stats: String,
    pub crc32: u32,
    /// Where the file's rows go (`ORDER_TAG`); `None`: after everything, in this commit's order.
    pub order: Option<String>,
    pub column_bytes: Vec<u64>,
    /// `(partition column, value)`; `None`: null.
    pub partition: Vec<(String, Option<String>)>,
}

/// A data file to remove (from the snapshot the commit was prepared on).
#[derive(Debug, Clone)]
pub(crate) struct RemoveFile {
    pub path: String,
    pub size: u64,
    pub partition: Vec<(String, Option<String>)>,
}

/// The `partitionValues` object of an action.
fn partition_values(values: &[(String, Option<String>)]) -> serde_json::Value {
    let map: serde_json::Map<String, serde_json::Value> = values
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.clone().map_or(serde_json::Value::Null, Into::into),
            )
        })
        .collect();
    serde_json::Value::Object(map)
}

/// What a commit does, for `commitInfo` and for conflict checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    Create,
    Append,
    Overwrite,
    Compact,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Operation::Create => "CREATE TABLE",
            Operation::Append | Operation::Overwrite => "WRITE",
            Operation::Compact => "OPTIMIZE",
        }
    }

    pub fn data_change(self) -> bool {
        self != Operation::Compact
    }
}

/// One commit, ready to be written at any version.
#[derive(Debug, Clone)]
pub(crate) struct Commit {
    pub id: String,
    pub operation: Operation,
    pub adds: Vec<AddFile>,
    pub removes: Vec<RemoveFile>,
    /// Actions written before the file actions (protocol and metadata of a new table).
    pub head: Vec<Value>,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// 128 random bits as a UUID string (version 4 layout).
pub(crate) fn random_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut words = [0u64; 2];
    for (i, word) in words.iter_mut().enumerate() {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        hasher.write_u32(std::process::id());
        hasher.write_usize(i);
        *word = hasher.finish();
    }
    let v = (u128::from(words[0]) << 64 | u128::from(words[1])) & !(0xF000u128 << 64)
        | (0x4000u128 << 64);
    let v = v & !(0xC000u128 << 48) | (0x8000u128 << 48);
    let hex = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Escapes a relative path for the `path` field of an action (RFC 2396 URI path).
fn escape_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char);
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Decodes the `path` of an action into a relative object path (`None` for an absolute URL,
/// which this crate does not write or read).
pub(crate) fn unescape_path(path: &str) -> Option<String> {
    if path.contains("://") {
        return None;
    }
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl Commit {
    /// The commit file's content for `version`.
    pub fn to_json(&self, version: u64) -> Bytes {
        let now = now_ms();
        let data_change = self.operation.data_change();
        let mut lines: Vec<String> = Vec::with_capacity(self.adds.len() + self.removes.len() + 3);
        let rows: u64 = self
            .adds
            .iter()
            .filter_map(|a| {
                serde_json::from_str::<Value>(&a.stats)
                    .ok()
                    .and_then(|v| v["numRecords"].as_u64())
            })
            .sum();
        let parameters = match self.operation {
            Operation::Create => json!({"mode": "ErrorIfExists"}),
            Operation::Append => json!({"mode": "Append"}),
            Operation::Overwrite => json!({"mode": "Overwrite"}),
            Operation::Compact => json!({"predicate": "[]", "targetSize": "0"}),
        };
        lines.push(
            json!({"commitInfo": {
                "timestamp": now,
                "operation": self.operation.name(),
                "operationParameters": parameters,
                "isBlindAppend": self.operation == Operation::Append,
                "engineInfo": concat!("soa/", env!("CARGO_PKG_VERSION")),
                "operationMetrics": {
                    "numFiles": self.adds.len().to_string(),
                    "numOutputRows": rows.to_string(),
                    "numRemovedFiles": self.removes.len().to_string(),
                },
                COMMIT_ID_KEY: self.id,
                "txnId": self.id,
            }})
            .to_string(),
        );
        for action in &self.head {
            lines.push(action.to_string());
        }
        for remove in &self.removes {
            lines.push(
                json!({"remove": {
                    "path": escape_path(&remove.path),
                    "deletionTimestamp": now,
                    "dataChange": data_change,
                    "extendedFileMetadata": true,
                    "partitionValues": partition_values(&remove.partition),
                    "size": remove.size,
                }})
                .to_string(),
            );
        }
        for (index, add) in self.adds.iter().enumerate() {
            let order = add
                .order
                .clone()
                .unwrap_or_else(|| format!("{version:020}.{index:06}"));
            let column_bytes: Vec<String> = add.column_bytes.iter().map(u64::to_string).collect();
            lines.push(
                json!({"add": {
                    "path": escape_path(&add.path),
                    "partitionValues": partition_values(&add.partition),
                    "size": add.size,
                    "modificationTime": now,
                    "dataChange": data_change,
                    "stats": add.stats,
                    "tags": {
                        CRC_TAG: format!("{:08x}", add.crc32),
                        ORDER_TAG: order,
                        COLUMN_BYTES_TAG: column_bytes.join(","),
                    },
                }})
                .to_string(),
            );
        }
        let mut text = lines.join("\n");
        text.push('\n');
        Bytes::from(text)
    }
}

/// The path of the commit file of `version`.
pub(crate) fn commit_path(location: &Location, version: u64) -> ObjectPath {
    location
        .log_dir()
        .join(format!("{version:020}.json").as_str())
}

/// The outcome of publishing a commit at one version.
#[derive(Debug)]
pub(crate) enum Publish {
    Committed,
    /// Another commit has this version.
    Taken,
}

/// Publishes `body` as `version` with a put-if-absent. A request whose outcome is unknown (a
/// timeout, a server error after retries) is resolved by reading the version back: ours (our
/// commit id in it) is committed, another's is taken, none is retried once more.
pub(crate) async fn publish(
    location: &Location,
    version: u64,
    commit_id: &str,
    body: Bytes,
) -> Result<Publish> {
    let path = commit_path(location, version);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let options = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        let result = location
            .store
            .put_opts(&path, PutPayload::from_bytes(body.clone()), options)
            .await;
        match result {
            Ok(_) => return Ok(Publish::Committed),
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => {
                // Possibly our own first attempt, retried by the client after it succeeded.
                return match read_commit(location, version).await? {
                    Some(actions) if commit_id_of(&actions).as_deref() == Some(commit_id) => {
                        Ok(Publish::Committed)
                    }
                    _ => Ok(Publish::Taken),
                };
            }
            Err(object_store::Error::NotImplemented { .. }) => {
                return Err(Error::Delta {
                    location: location.display.clone(),
                    reason: "the object store does not support put-if-absent, which Delta \
                             commits need (for S3 before August 2024 use a locking provider; \
                             not supported here)"
                        .into(),
                });
            }
            Err(e) => {
                // Unknown outcome: look, a few times (the store may be failing for a moment).
                let mut looked = None;
                for wait in [0u64, 50, 200, 500, 1000] {
                    tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
                    match read_commit(location, version).await {
                        Ok(found) => {
                            looked = Some(found);
                            break;
                        }
                        Err(_) => continue,
                    }
                }
                match looked {
                    Some(Some(actions)) => {
                        return if commit_id_of(&actions).as_deref() == Some(commit_id) {
                            Ok(Publish::Committed)
                        } else {
                            Ok(Publish::Taken)
                        };
                    }
                    // Not there: nothing was committed, the put can be tried again.
                    Some(None) if attempts < 3 => continue,
                    Some(None) => return Err(location.error("put", &path, e)),
                    // Not readable: whether the commit landed is unknown.
                    None => {
                        return Err(Error::CommitUnknown {
                            location: location.display.clone(),
                            version,
                            source: Box::new(e),
                        });
                    }
                }
            }
        }
    }
}

/// The actions of the commit file of `version`, `None` if there is none.
pub(crate) async fn read_commit(location: &Location, version: u64) -> Result<Option<Vec<Value>>> {
    let path = commit_path(location, version);
    let bytes = match location.store.get(&path).await {
        Ok(result) => result
            .bytes()
            .await
            .map_err(|e| location.error("get", &path, e))?,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(location.error("get", &path, e)),
    };
    parse_actions(location, version, &bytes).map(Some)
}

pub(crate) fn parse_actions(location: &Location, version: u64, bytes: &[u8]) -> Result<Vec<Value>> {
    let text = std::str::from_utf8(bytes).map_err(|_| Error::Delta {
        location: location.display.clone(),
        reason: format!("commit {version} is not UTF-8"),
    })?;
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str::<Value>(line).map_err(|e| Error::Delta {
                location: location.display.clone(),
                reason: format!("commit {version}, line {}: not a JSON action: {e}", i + 1),
            })
        })
        .collect()
}

fn commit_id_of(actions: &[Value]) -> Option<String> {
    actions.iter().find_map(|a| {
        let info = a.get("commitInfo")?;
        info.get(COMMIT_ID_KEY)
            .or_else(|| info.get("txnId"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    })
}

/// Why a commit that lost the race to `actions` cannot simply move to the next version, if it
/// cannot: the winner changed the schema or protocol, or removed a file this commit relies on
/// (or, for an overwrite or compaction, changed the data this commit read).
pub(crate) fn conflict(commit: &Commit, version: u64, actions: &[Value]) -> Option<String> {
    for action in actions {
        if action.get("metaData").is_some() || action.get("protocol").is_some() {
            return Some(format!(
                "version {version} changed the table's schema or protocol"
            ));
        }
        match commit.operation {
            Operation::Append => {}
            Operation::Create => return Some(format!("version {version} exists")),
            Operation::Overwrite => {
                if action.get("add").is_some() || action.get("remove").is_some() {
                    return Some(format!(
                        "version {version} changed the data this overwrite replaces (an \
                         overwrite keeps nothing written after it read the table)"
                    ));
                }
            }
            Operation::Compact => {
                if let Some(path) = action
                    .get("remove")
                    .and_then(|r| r.get("path"))
                    .and_then(Value::as_str)
                    .and_then(unescape_path)
                    && commit.removes.iter().any(|r| r.path == path)
                {
                    return Some(format!(
                        "version {version} removed {path}, which this compaction rewrites"
                    ));
                }
            }
        }
    }
    None
}

/// One entry of [`history`](super::DeltaStore::history).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommitInfo {
    /// The table version this commit made.
    pub version: u64,
    /// When it was committed (the commit's `timestamp`, else the log file's modification time).
    pub timestamp: SystemTime,
    /// `WRITE`, `CREATE TABLE`, `OPTIMIZE`, ... as the writer recorded it.
    pub operation: String,
    /// The operation's parameters (for `WRITE`: `mode` = `Append` / `Overwrite`).
    pub parameters: BTreeMap<String, String>,
    /// Data files added and removed.
    pub files_added: u64,
    /// Data files removed.
    pub files_removed: u64,
    /// Rows in the files added (from their statistics).
    pub rows_added: u64,
    /// The writer (`soa/0.1.0`, `delta-rs.1.6`, `Apache-Spark/4.0 Delta-Lake/4.0`, ...).
    pub engine: Option<String>,
}

/// The history entry of one commit's actions.
pub(crate) fn commit_info(version: u64, actions: &[Value], modified: SystemTime) -> CommitInfo {
    let info = actions.iter().find_map(|a| a.get("commitInfo"));
    let timestamp = info
        .and_then(|i| i.get("inCommitTimestamp").or_else(|| i.get("timestamp")))
        .and_then(Value::as_i64)
        .and_then(|ms| u64::try_from(ms).ok())
        .map_or(modified, |ms| {
            UNIX_EPOCH + std::time::Duration::from_millis(ms)
        });
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let parameters = info
        .and_then(|i| i.get("operationParameters"))
        .and_then(Value::as_object)
        .map(|o| o.iter().map(|(k, v)| (k.clone(), text(v))).collect())
        .unwrap_or_default();
    let mut files_added = 0;
    let mut files_removed = 0;
    let mut rows_added = 0;
    for action in actions {
        if let Some(add) = action.get("add") {
            files_added += 1;
            rows_added += add
                .get("stats")
                .and_then(Value::as_str)
                .and_then(|s| serde_json::from_str::<Value>(s).ok())
                .and_then(|s| s["numRecords"].as_u64())
                .unwrap_or(0);
        } else if action.get("remove").is_some() {
            files_removed += 1;
        }
    }
    CommitInfo {
        version,
        timestamp,
        operation: info
            .and_then(|i| i.get("operation"))
            .and_then(Value::as_str)
            .unwrap_or("UNKNOWN")
            .to_owned(),
        parameters,
        files_added,
        files_removed,
        rows_added,
        engine: info
            .and_then(|i| i.get("engineInfo"))
            .and_then(Value::as_str)
            .map(str::to_owned),
    }
}

/// The versions of the commit files in the log (sorted), with their modification times.
pub(crate) async fn list_commits(location: &Location) -> Result<Vec<(u64, SystemTime)>> {
    use futures::TryStreamExt;
    let dir = location.log_dir();
    let objects: Vec<object_store::ObjectMeta> = location
        .store
        .list(Some(&dir))
        .try_collect()
        .await
        .map_err(|e| location.error("list", &dir, e))?;
    let mut versions: Vec<(u64, SystemTime)> = objects
        .iter()
        .filter_map(|o| {
            let name = o.location.filename()?;
            let stem = name.strip_suffix(".json")?;
            if stem.len() != 20 {
                return None;
            }
            let version = stem.parse::<u64>().ok()?;
            Some((version, SystemTime::from(o.last_modified)))
        })
        .collect();
    versions.sort_unstable();
    Ok(versions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_escape_and_unescape() {
        let path = "part-1 ü%.parquet";
        let escaped = escape_path(path);
        assert_eq!(escaped, "part-1%20%C3%BC%25.parquet");
        assert_eq!(unescape_path(&escaped).as_deref(), Some(path));
        assert_eq!(unescape_path("s3://b/x"), None);
        assert_eq!(unescape_path("bad%2"), Some("bad%2".into()));
    }

    #[test]
    fn ids_are_uuid_shaped_and_distinct() {
        let a = random_id();
        let b = random_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }
}
