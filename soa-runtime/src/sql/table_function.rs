//! The DuckDB table function that scans snapshot sources (`soa_arrow_store_scan(token)`),
//! vector by vector, handing unit-enum dictionaries to DuckDB as `ENUM` keys.

use super::*;

/// A window of rows of one batch: what one call of the scan emits.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    batch: usize,
    offset: usize,
    len: usize,
    /// Row number of the window's first row in the snapshot.
    first_row: usize,
}

/// Bind data: the snapshot a query scans.
pub(super) struct ScanBind {
    source: Arc<Source>,
    batches: Vec<RecordBatch>,
    windows: Vec<Window>,
}

/// Init data: the next window to emit and the projected columns.
pub(super) struct ScanInit {
    next: AtomicUsize,
    columns: Vec<usize>,
    /// The schema of the emitted windows (the projected columns), built by the first call.
    schema: std::sync::OnceLock<Arc<Schema>>,
}

/// Scans the snapshot of a registered `ArrowStore`: `soa_arrow_store_scan(token)`.
pub(super) struct StoreScan;

impl VTab for StoreScan {
    type InitData = ScanInit;
    type BindData = ScanBind;

    fn bind(bind: &BindInfo) -> Result<ScanBind, Box<dyn std::error::Error>> {
        let token = bind.get_parameter(0).to_uint64();
        let source = sources().get(&token).cloned().ok_or_else(|| {
            format!(
                "no store is registered under {SCAN_FUNCTION}({token}) (its SqlEngine was dropped)"
            )
        })?;
        for (field, plan) in source.scan_fields.iter().zip(&source.plans) {
            let ty = match plan {
                ColumnPlan::EnumKeys { variants, .. } => enum_logical_type(variants)?,
                ColumnPlan::Plain | ColumnPlan::Decode(_) => {
                    to_duckdb_logical_type_for_field(field)?
                }
            };
            bind.add_result_column(field.name(), ty);
        }
        let batches = (source.snapshot)().map_err(|e| e.to_string())?;
        let mut windows = Vec::new();
        let mut rows = 0;
        for (index, batch) in batches.iter().enumerate() {
            let n = batch.num_rows();
            let mut offset = 0;
            while offset < n {
                let len = (n - offset).min(VECTOR_SIZE);
                windows.push(Window {
                    batch: index,
                    offset,
                    len,
                    first_row: rows + offset,
                });
                offset += len;
            }
            rows += n;
        }
        bind.set_cardinality(rows as u64, true);
        Ok(ScanBind {
            source,
            batches,
            windows,
        })
    }

    fn init(init: &InitInfo) -> Result<ScanInit, Box<dyn std::error::Error>> {
        let columns = init
            .get_column_indices()
            .into_iter()
            .map(|c| usize::try_from(c).unwrap_or(usize::MAX))
            .collect();
        // Windows are claimed with an atomic counter, so any number of DuckDB's threads can
        // scan at once; DuckDB caps this by its own thread count.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        init.set_max_threads(threads as u64);
        Ok(ScanInit {
            next: AtomicUsize::new(0),
            columns,
            schema: std::sync::OnceLock::new(),
        })
    }

    fn func(
        info: &TableFunctionInfo<Self>,
        output: &mut DataChunkHandle,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let bind = info.get_bind_data();
        let init = info.get_init_data();
        let index = init.next.fetch_add(1, Ordering::Relaxed);
        let Some(window) = bind.windows.get(index).copied() else {
            output.set_len(0);
            return Ok(());
        };
        let batch = bind
            .batches
            .get(window.batch)
            .ok_or("scan window out of range")?
            .slice(window.offset, window.len);
        let mut fields = Vec::new();
        let mut arrays = Vec::with_capacity(init.columns.len());
        for (position, &column) in init.columns.iter().enumerate() {
            match (
                bind.source.plans.get(column),
                bind.source.scan_fields.get(column),
            ) {
                (Some(plan), Some(field)) => {
                    arrays.push(scan_column(batch.column(column), plan)?);
                    fields.push(Arc::clone(field));
                }
                _ => {
                    // Not a column of the store: DuckDB's row id (it asks for one when a query
                    // reads no column, as in `count(*)`). Only ever written into a BIGINT vector.
                    if output.flat_vector(position).logical_type().id() != LogicalTypeId::Bigint {
                        return Err(
                            format!("unsupported column id {column} in a store scan").into()
                        );
                    }
                    let start = window.first_row as i64;
                    arrays.push(Arc::new(Int64Array::from_iter_values(
                        start..start + window.len as i64,
                    )));
                    fields.push(Arc::new(Field::new("rowid", DataType::Int64, false)));
                }
            }
        }
        let schema = Arc::clone(init.schema.get_or_init(|| Arc::new(Schema::new(fields))));
        let options = RecordBatchOptions::new().with_row_count(Some(window.len));
        let batch = RecordBatch::try_new_with_options(schema, arrays, &options)?;
        record_batch_to_duckdb_data_chunk(&batch, output)?;
        Ok(())
    }

    fn supports_pushdown() -> bool {
        true
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeHandle::from(LogicalTypeId::UBigint)])
    }
}

/// One column of a window, in the form DuckDB was told about at bind.
pub(super) fn scan_column(
    array: &ArrayRef,
    plan: &ColumnPlan,
) -> Result<ArrayRef, Box<dyn std::error::Error>> {
    match plan {
        ColumnPlan::Plain => Ok(Arc::clone(array)),
        ColumnPlan::Decode(to) => Ok(cast_with_options(array, to, &CastOptions::default())?),
        ColumnPlan::EnumKeys { storage, variants } => enum_keys(array, storage, variants),
    }
}

/// DuckDB's storage type for an `ENUM` of `members` names: `UTINYINT` up to 255 members,
/// `USMALLINT` up to 65,535, `UINTEGER` beyond. The scan writes the variant indexes in it.
pub(super) fn enum_storage(members: usize) -> DataType {
    if members <= usize::from(u8::MAX) {
        DataType::UInt8
    } else if members <= usize::from(u16::MAX) {
        DataType::UInt16
    } else {
        DataType::UInt32
    }
}

/// The DuckDB logical type `ENUM(variants...)`, declared by the scan for a unit-enum column: DuckDB
/// then reads the variant indexes as they are (no per-row mapping in the view).
pub(super) fn enum_logical_type(
    variants: &[String],
) -> Result<LogicalTypeHandle, Box<dyn std::error::Error>> {
    let names = variants
        .iter()
        .map(|v| std::ffi::CString::new(v.as_str()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("an enum variant name holds a NUL byte: {e}"))?;
    let mut pointers: Vec<*const std::ffi::c_char> = names.iter().map(|n| n.as_ptr()).collect();
    let count = u64::try_from(pointers.len())?;
    // SAFETY: `pointers` holds `count` pointers to NUL-terminated strings (`names`) that outlive
    // the call; DuckDB copies the names into the type it returns.
    #[allow(unsafe_code)]
    let raw = unsafe { duckdb::ffi::duckdb_create_enum_type(pointers.as_mut_ptr(), count) };
    if raw.is_null() {
        return Err("DuckDB could not create the ENUM type".into());
    }
    // SAFETY: `LogicalTypeHandle` (duckdb 1.20000.1) is a struct of one field, the
    // `duckdb_logical_type` pointer it owns and destroys when dropped; its constructor from a raw
    // pointer is crate-private. `transmute` refuses to compile unless both have the same size, so
    // the pointer is the whole struct. The handle takes over `raw` (destroyed exactly once).
    #[allow(unsafe_code)]
    let handle =
        unsafe { std::mem::transmute::<duckdb::ffi::duckdb_logical_type, LogicalTypeHandle>(raw) };
    Ok(handle)
}

/// The keys of a unit enum column as variant indexes in `storage` (see [`enum_storage`]).
/// Batches built by this crate have the variant names as their dictionary (keys are the indexes
/// already: one vectorized cast per window); a batch from elsewhere may order or subset them
/// differently, and is remapped.
pub(super) fn enum_keys(
    array: &ArrayRef,
    storage: &DataType,
    variants: &[String],
) -> Result<ArrayRef, Box<dyn std::error::Error>> {
    let dict = array
        .as_any_dictionary_opt()
        .ok_or("an enum column is not dictionary-encoded")?;
    let names = string_values(dict.values().as_ref()).ok_or("enum dictionary is not strings")?;
    let canonical = names.len() <= variants.len()
        && names
            .iter()
            .zip(variants)
            .all(|(n, v)| n.as_deref() == Some(v.as_str()));
    if canonical {
        let keys = make_array(dict.keys().to_data());
        // Keys are never negative (they index the dictionary): when the widths agree, the key
        // buffer is the storage as it is (no copy); otherwise one vectorized cast per window.
        let same_width = matches!(
            (keys.data_type(), storage),
            (DataType::Int8, DataType::UInt8)
                | (DataType::Int16, DataType::UInt16)
                | (DataType::Int32, DataType::UInt32)
        );
        if same_width {
            let data = keys
                .to_data()
                .into_builder()
                .data_type(storage.clone())
                .build()?;
            return Ok(make_array(data));
        }
        return Ok(cast_with_options(&keys, storage, &CastOptions::default())?);
    }
    let mapping = names
        .iter()
        .map(|name| {
            name.as_deref()
                .and_then(|n| variants.iter().position(|v| v == n))
                .map(|i| i as i64)
                .ok_or_else(|| format!("{name:?} is not a variant (expected one of {variants:?})"))
        })
        .collect::<Result<Vec<i64>, String>>()?;
    let keys = dict.normalized_keys();
    let remapped: Int64Array = (0..array.len())
        .map(|row| {
            if array.is_null(row) {
                None
            } else {
                keys.get(row).and_then(|k| mapping.get(*k)).copied()
            }
        })
        .collect();
    Ok(cast_with_options(
        &remapped,
        storage,
        &CastOptions::default(),
    )?)
}

/// The values of a string array (Utf8, LargeUtf8, Utf8View), or `None` for another type.
pub(super) fn string_values(array: &dyn Array) -> Option<Vec<Option<String>>> {
    fn collect<'a>(values: impl Iterator<Item = Option<&'a str>>) -> Vec<Option<String>> {
        values.map(|s| s.map(str::to_owned)).collect()
    }
    match array.data_type() {
        DataType::Utf8 => Some(collect(array.as_string::<i32>().iter())),
        DataType::LargeUtf8 => Some(collect(array.as_string::<i64>().iter())),
        DataType::Utf8View => Some(collect(array.as_string_view().iter())),
        _ => None,
    }
}

/// `data_type` with every dictionary replaced by its value type.
pub(super) fn decoded(data_type: &DataType) -> DataType {
    let field = |f: &FieldRef| -> FieldRef {
        Arc::new(f.as_ref().clone().with_data_type(decoded(f.data_type())))
    };
    match data_type {
        DataType::Dictionary(_, value) => decoded(value),
        DataType::List(f) => DataType::List(field(f)),
        DataType::LargeList(f) => DataType::LargeList(field(f)),
        DataType::FixedSizeList(f, n) => DataType::FixedSizeList(field(f), *n),
        DataType::Struct(fields) => DataType::Struct(fields.iter().map(field).collect::<Fields>()),
        DataType::Map(f, sorted) => DataType::Map(field(f), *sorted),
        other => other.clone(),
    }
}

/// How each column of `T` is exposed to DuckDB, and the DuckDB-side fields.
pub(super) fn plan_columns<T: Record>() -> Result<(Vec<ColumnPlan>, Vec<FieldRef>)> {
    let type_name = <T::Columns as ToArrow>::TYPE_NAME;
    let schema = <T::Columns as ToArrow>::schema();
    // An empty container converts to a batch whose enum columns carry every variant name in
    // their dictionary (the schema alone does not name them).
    let empty = <T::Columns as Default>::default().into_record_batch()?;
    let mut plans = Vec::with_capacity(schema.fields().len());
    let mut fields = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let plan = match field.data_type() {
            DataType::Dictionary(_, _) => {
                let variants = empty
                    .column_by_name(field.name())
                    .and_then(|c| c.as_any_dictionary_opt())
                    .and_then(|d| string_values(d.values().as_ref()))
                    .and_then(|names| names.into_iter().collect::<Option<Vec<String>>>())
                    .filter(|names| !names.is_empty());
                match variants {
                    Some(variants) => ColumnPlan::EnumKeys {
                        storage: enum_storage(variants.len()),
                        variants: variants.into(),
                    },
                    None => ColumnPlan::Decode(decoded(field.data_type())),
                }
            }
            other => {
                let plain = decoded(other);
                if &plain == other {
                    ColumnPlan::Plain
                } else {
                    ColumnPlan::Decode(plain)
                }
            }
        };
        let scan_type = match &plan {
            ColumnPlan::Plain => field.data_type().clone(),
            ColumnPlan::EnumKeys { storage, .. } => storage.clone(),
            ColumnPlan::Decode(to) => to.clone(),
        };
        let scan_field = Arc::new(field.as_ref().clone().with_data_type(scan_type));
        if let Err(e) = to_duckdb_logical_type_for_field(&scan_field) {
            return Err(Error::SqlType {
                type_name,
                column: field.name().clone(),
                data_type: field.data_type().clone(),
                reason: e.to_string(),
            });
        }
        plans.push(plan);
        fields.push(scan_field);
    }
    Ok((plans, fields))
}
