//! Table state from the kernel: a snapshot (log replay from the last checkpoint) and the data
//! files it references, in the table's row order.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, MapArray, RecordBatch};
use delta_kernel::engine::arrow_data::ArrowEngineData;
use delta_kernel::snapshot::{Snapshot, SnapshotRef};
use delta_kernel_default_engine::DefaultEngine;
use delta_kernel_default_engine::executor::tokio::TokioMultiThreadExecutor;
use serde_json::Value;

use super::location::{Location, runtime};
use super::log::{COLUMN_BYTES_TAG, CRC_TAG, ORDER_TAG, ROW_TYPE_PROPERTY, unescape_path};
use crate::error::{Error, Result};

pub(crate) type Engine = DefaultEngine<TokioMultiThreadExecutor>;

/// The kernel engine of a table: its object store, on the shared I/O runtime.
pub(crate) fn engine(location: &Location) -> Result<Arc<Engine>> {
    static EXECUTOR: OnceLock<Arc<TokioMultiThreadExecutor>> = OnceLock::new();
    let handle = runtime()?.handle().clone();
    let executor =
        Arc::clone(EXECUTOR.get_or_init(|| Arc::new(TokioMultiThreadExecutor::new(handle))));
    Ok(Arc::new(
        DefaultEngine::builder(Arc::clone(&location.store))
            .with_task_executor(executor)
            .build(),
    ))
}

/// A data file of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DataFile {
    /// Relative to the table root.
    pub path: String,
    pub size: u64,
    /// From the statistics; `None` if the writer wrote none.
    pub rows: Option<u64>,
    pub crc32: Option<u32>,
    pub order: Option<String>,
    pub modification_time: i64,
    pub column_bytes: Vec<u64>,
    /// The `stats` JSON of the `add` action, if any.
    pub stats: Option<Arc<str>>,
    /// `partitionValues`, sorted by column (`None`: null).
    pub partition: Vec<(String, Option<String>)>,
}

/// A snapshot and its files in row order.
#[derive(Clone)]
pub(crate) struct TableState {
    pub snapshot: SnapshotRef,
    pub files: Arc<Vec<DataFile>>,
}

impl std::fmt::Debug for TableState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableState")
            .field("version", &self.snapshot.version())
            .field("files", &self.files.len())
            .finish()
    }
}

impl TableState {
    pub fn version(&self) -> u64 {
        self.snapshot.version()
    }

    /// Rows from the statistics (`None` if a file has none).
    pub fn rows(&self) -> Option<u64> {
        self.files.iter().map(|f| f.rows).sum()
    }

    /// The row type recorded in the table's properties.
    pub fn row_type(&self) -> Option<&str> {
        self.snapshot
            .table_properties()
            .unknown_properties
            .get(ROW_TYPE_PROPERTY)
            .map(String::as_str)
    }
}

pub(crate) fn kernel_error(location: &Location, e: delta_kernel::KernelError) -> Error {
    Error::Delta {
        location: location.display.clone(),
        reason: e.without_backtrace().to_string(),
    }
}

/// Builds the snapshot at `version` (latest if `None`) and lists its files. Blocking.
pub(crate) fn load(
    location: &Location,
    engine: &Engine,
    version: Option<u64>,
) -> Result<TableState> {
    let mut builder = Snapshot::builder_for(location.url.as_str());
    if let Some(version) = version {
        builder = builder.at_version(version);
    }
    let snapshot = builder
        .build(engine)
        .map_err(|e| kernel_error(location, e))?;
    files_of(location, engine, snapshot)
}

/// The latest state, reusing `previous` when no commit was made since. Blocking.
pub(crate) fn refresh(
    location: &Location,
    engine: &Engine,
    previous: &TableState,
) -> Result<TableState> {
    let snapshot = Snapshot::builder_from(Arc::clone(&previous.snapshot))
        .build(engine)
        .map_err(|e| kernel_error(location, e))?;
    if snapshot.version() == previous.version() {
        return Ok(previous.clone());
    }
    files_of(location, engine, snapshot)
}

fn files_of(location: &Location, engine: &Engine, snapshot: SnapshotRef) -> Result<TableState> {
    let properties = snapshot.table_properties();
    if let Some(mode) = &properties.column_mapping_mode
        && *mode != delta_kernel::table_features::ColumnMappingMode::None
    {
        return Err(Error::Delta {
            location: location.display.clone(),
            reason: format!("column mapping ({mode:?}) is not supported"),
        });
    }
    let scan = Arc::clone(&snapshot)
        .scan_builder()
        .build()
        .map_err(|e| kernel_error(location, e))?;
    let mut files = Vec::new();
    for metadata in scan
        .scan_metadata(engine)
        .map_err(|e| kernel_error(location, e))?
    {
        let metadata = metadata.map_err(|e| kernel_error(location, e))?;
        let selection = metadata.scan_files.selection_vector().to_vec();
        let data = metadata
            .scan_files
            .data()
            .any_ref()
            .downcast_ref::<ArrowEngineData>()
            .ok_or_else(|| Error::Delta {
                location: location.display.clone(),
                reason: "the kernel returned scan metadata that is not Arrow".into(),
            })?;
        read_scan_rows(location, data.record_batch(), &selection, &mut files)?;
    }
    // Row order: files we wrote by their order tag; others (no tag) first, by time then path.
    files.sort_by(|a, b| {
        (a.order.is_some(), &a.order, a.modification_time, &a.path).cmp(&(
            b.order.is_some(),
            &b.order,
            b.modification_time,
            &b.path,
        ))
    });
    Ok(TableState {
        snapshot,
        files: Arc::new(files),
    })
}

fn read_scan_rows(
    location: &Location,
    batch: &RecordBatch,
    selection: &[bool],
    out: &mut Vec<DataFile>,
) -> Result<()> {
    let bad = |what: &str| Error::Delta {
        location: location.display.clone(),
        reason: format!("unexpected scan metadata: {what}"),
    };
    let paths = batch
        .column_by_name("path")
        .and_then(|c| c.as_string_opt::<i32>())
        .ok_or_else(|| bad("no path column"))?;
    let sizes = batch
        .column_by_name("size")
        .and_then(|c| c.as_primitive_opt::<Int64Type>())
        .ok_or_else(|| bad("no size column"))?;
    let times = batch
        .column_by_name("modificationTime")
        .and_then(|c| c.as_primitive_opt::<Int64Type>());
    let stats = batch
        .column_by_name("stats")
        .and_then(|c| c.as_string_opt::<i32>());
    let dvs = batch.column_by_name("deletionVector");
    let constants = batch
        .column_by_name("fileConstantValues")
        .and_then(|c| c.as_struct_opt());
    let tags = constants
        .and_then(|c| c.column_by_name("tags"))
        .and_then(|c| c.as_map_opt());
    let partitions = constants
        .and_then(|c| c.column_by_name("partitionValues"))
        .and_then(|c| c.as_map_opt());
    for row in 0..batch.num_rows() {
        if !selection.get(row).copied().unwrap_or(true) || paths.is_null(row) {
            continue;
        }
        let raw = paths.value(row);
        let path = unescape_path(raw).ok_or_else(|| Error::Delta {
            location: location.display.clone(),
            reason: format!("data file {raw:?} is not a path inside the table (not supported)"),
        })?;
        if dvs.is_some_and(|dv| dv.is_valid(row)) {
            return Err(Error::Delta {
                location: location.display.clone(),
                reason: format!("data file {path} has a deletion vector (not supported)"),
            });
        }
        let mut partition: Vec<(String, Option<String>)> =
            partitions.map(|p| values_at(p, row)).unwrap_or_default();
        partition.sort();
        let tags = tags.map(|t| map_at(t, row)).unwrap_or_default();
        let stats_text = stats.filter(|s| s.is_valid(row)).map(|s| s.value(row));
        let rows = stats_text
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
            .and_then(|s| s["numRecords"].as_u64());
        let size = u64::try_from(sizes.value(row)).map_err(|_| bad("negative size"))?;
        out.push(DataFile {
            path,
            size,
            rows,
            crc32: tags
                .get(CRC_TAG)
                .and_then(|c| u32::from_str_radix(c, 16).ok()),
            order: tags.get(ORDER_TAG).cloned(),
            modification_time: times.map_or(0, |t| t.value(row)),
            column_bytes: tags
                .get(COLUMN_BYTES_TAG)
                .map(|c| c.split(',').filter_map(|n| n.parse().ok()).collect())
                .unwrap_or_default(),
            stats: stats_text.map(Arc::from),
            partition,
        });
    }
    Ok(())
}

/// The entries of a string map, nulls kept.
fn values_at(map: &MapArray, row: usize) -> Vec<(String, Option<String>)> {
    if map.is_null(row) {
        return Vec::new();
    }
    let entries = map.value(row);
    let (Some(keys), Some(values)) = (
        entries.column(0).as_string_opt::<i32>(),
        entries.column(1).as_string_opt::<i32>(),
    ) else {
        return Vec::new();
    };
    (0..entries.len())
        .map(|i| {
            let value = values.is_valid(i).then(|| values.value(i).to_owned());
            (keys.value(i).to_owned(), value)
        })
        .collect()
}

fn map_at(map: &MapArray, row: usize) -> HashMap<String, String> {
    if map.is_null(row) {
        return HashMap::new();
    }
    let entries = map.value(row);
    let (Some(keys), Some(values)) = (
        entries.column(0).as_string_opt::<i32>(),
        entries.column(1).as_string_opt::<i32>(),
    ) else {
        return HashMap::new();
    };
    (0..entries.len())
        .filter(|&i| values.is_valid(i))
        .map(|i| (keys.value(i).to_owned(), values.value(i).to_owned()))
        .collect()
}
