//! Pruning by statistics: which row groups (or batches, or files) a predicate may match, from
//! their minimum, maximum and null count per column, and the counters every store fills
//! ([`ScanMetrics`]).
//!
//! A unit is skipped only when the statistics prove that no row of it can match: a missing
//! statistic, a nested column, a type the statistics do not hold, or a `NOT` keeps the unit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow_array::{Array, ArrayRef, BooleanArray, Scalar, UInt64Array};
use arrow_schema::DataType;

use crate::predicate::{CmpOp, Expr};

/// What a scan read and what it skipped, filled by the store while the scan runs (shared by
/// clones; read it once the scan is drained).
#[derive(Debug, Default)]
pub struct ScanMetrics {
    partitions_total: AtomicU64,
    partitions_skipped: AtomicU64,
    files_total: AtomicU64,
    files_skipped: AtomicU64,
    row_groups_total: AtomicU64,
    row_groups_skipped: AtomicU64,
    pages_total: AtomicU64,
    pages_skipped: AtomicU64,
    rows_scanned: AtomicU64,
    rows_matched: AtomicU64,
    bytes_read: AtomicU64,
    bytes_stored: AtomicU64,
}

/// A reading of [`ScanMetrics`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScanReport {
    /// Partitions (Hive directories, Delta partition values) of the snapshot.
    pub partitions_total: u64,
    /// Partitions skipped by their values, without reading their files.
    pub partitions_skipped: u64,
    /// Data files of the snapshot (Parquet and Delta stores).
    pub files_total: u64,
    /// Files skipped without reading their data: by their partition, by their statistics
    /// (Delta `add` stats, Parquet footers when every row group is skipped).
    pub files_skipped: u64,
    /// Row groups of the files read (for `ArrowStore`: its batches).
    pub row_groups_total: u64,
    /// Row groups (batches) skipped by their column statistics.
    pub row_groups_skipped: u64,
    /// Page ranges of the row groups read that the Parquet page index could judge: the rows
    /// between consecutive page boundaries of the predicate's columns (one per page when the
    /// predicate has one column).
    pub pages_total: u64,
    /// Page ranges skipped by the page index's statistics (their rows are not decoded).
    pub pages_skipped: u64,
    /// Rows decoded and given to the filter.
    pub rows_scanned: u64,
    /// Rows the predicate kept (`rows_scanned - rows_matched` were removed by Arrow's kernels).
    pub rows_matched: u64,
    /// Bytes read from files or objects.
    pub bytes_read: u64,
    /// Bytes of the files of the snapshot.
    pub bytes_stored: u64,
}

impl ScanMetrics {
    /// New zero counters.
    pub fn new() -> Arc<Self> {
        Arc::new(ScanMetrics::default())
    }

    /// The counters now.
    pub fn report(&self) -> ScanReport {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ScanReport {
            partitions_total: get(&self.partitions_total),
            partitions_skipped: get(&self.partitions_skipped),
            files_total: get(&self.files_total),
            files_skipped: get(&self.files_skipped),
            row_groups_total: get(&self.row_groups_total),
            row_groups_skipped: get(&self.row_groups_skipped),
            pages_total: get(&self.pages_total),
            pages_skipped: get(&self.pages_skipped),
            rows_scanned: get(&self.rows_scanned),
            rows_matched: get(&self.rows_matched),
            bytes_read: get(&self.bytes_read),
            bytes_stored: get(&self.bytes_stored),
        }
    }

    pub(crate) fn partitions(&self, total: u64, skipped: u64) {
        self.partitions_total.fetch_add(total, Ordering::Relaxed);
        self.partitions_skipped
            .fetch_add(skipped, Ordering::Relaxed);
    }

    pub(crate) fn files(&self, total: u64, skipped: u64) {
        self.files_total.fetch_add(total, Ordering::Relaxed);
        self.files_skipped.fetch_add(skipped, Ordering::Relaxed);
    }

    pub(crate) fn row_groups(&self, total: u64, skipped: u64) {
        self.row_groups_total.fetch_add(total, Ordering::Relaxed);
        self.row_groups_skipped
            .fetch_add(skipped, Ordering::Relaxed);
    }

    pub(crate) fn pages(&self, total: u64, skipped: u64) {
        self.pages_total.fetch_add(total, Ordering::Relaxed);
        self.pages_skipped.fetch_add(skipped, Ordering::Relaxed);
    }

    pub(crate) fn rows(&self, scanned: u64, matched: u64) {
        self.rows_scanned.fetch_add(scanned, Ordering::Relaxed);
        self.rows_matched.fetch_add(matched, Ordering::Relaxed);
    }

    pub(crate) fn bytes(&self, read: u64, stored: u64) {
        self.bytes_read.fetch_add(read, Ordering::Relaxed);
        self.bytes_stored.fetch_add(stored, Ordering::Relaxed);
    }
}

/// Statistics of one column over `n` units (row groups, batches, files): arrays of length `n`
/// (a null entry: unknown).
#[derive(Clone)]
pub(crate) struct ColumnStats {
    pub mins: ArrayRef,
    pub maxes: ArrayRef,
    pub null_counts: Option<UInt64Array>,
    pub row_counts: Option<UInt64Array>,
}

/// Which of `n` units may hold a row matching `expr`, given the statistics of a top-level
/// column by name (`None`: unknown, the unit is kept).
pub(crate) fn may_match(
    expr: &Expr,
    n: usize,
    stats: &mut dyn FnMut(&str) -> Option<ColumnStats>,
) -> Vec<bool> {
    let all = || vec![true; n];
    match expr {
        Expr::And(a, b) => {
            let (a, b) = (may_match(a, n, stats), may_match(b, n, stats));
            a.iter().zip(&b).map(|(x, y)| *x && *y).collect()
        }
        Expr::Or(a, b) => {
            let (a, b) = (may_match(a, n, stats), may_match(b, n, stats));
            a.iter().zip(&b).map(|(x, y)| *x || *y).collect()
        }
        Expr::Not(_) => all(),
        Expr::Compare { column, op, value } if column.segments().len() == 1 => {
            let Some(s) = stats(column.top()) else {
                return all();
            };
            compare(&s, *op, value, n).unwrap_or_else(all)
        }
        Expr::InList { column, values } if column.segments().len() == 1 => {
            let Some(s) = stats(column.top()) else {
                return all();
            };
            let mut any = vec![false; n];
            for i in 0..values.len() {
                let one = values.slice(i, 1);
                match compare(&s, CmpOp::Eq, &one, n) {
                    Some(hit) => {
                        for (a, h) in any.iter_mut().zip(hit) {
                            *a |= h;
                        }
                    }
                    None => return all(),
                }
            }
            any
        }
        Expr::IsNull { column, negated } if column.segments().len() == 1 => {
            let Some(s) = stats(column.top()) else {
                return all();
            };
            let Some(nulls) = &s.null_counts else {
                return all();
            };
            (0..n)
                .map(|i| {
                    if nulls.is_null(i) {
                        return true;
                    }
                    let null = nulls.value(i);
                    if *negated {
                        // Some non-null value: fewer nulls than rows (unknown rows: keep).
                        s.row_counts
                            .as_ref()
                            .is_none_or(|r| r.is_null(i) || null < r.value(i))
                    } else {
                        null > 0
                    }
                })
                .collect()
        }
        Expr::StartsWith { column, prefix } if column.segments().len() == 1 => {
            let Some(s) = stats(column.top()) else {
                return all();
            };
            starts_with(&s, prefix, n).unwrap_or_else(all)
        }
        _ => all(),
    }
}

/// `cmp(stat, value)` per unit; a null result (unknown statistic) keeps the unit.
fn per_unit(
    stat: &ArrayRef,
    value: &ArrayRef,
    f: fn(
        &dyn arrow_array::Datum,
        &dyn arrow_array::Datum,
    ) -> Result<BooleanArray, arrow_schema::ArrowError>,
) -> Option<Vec<bool>> {
    let value = scalar_like(value, stat.data_type())?;
    let result = f(stat, &Scalar::new(value)).ok()?;
    Some(
        (0..result.len())
            .map(|i| result.is_null(i) || result.value(i))
            .collect(),
    )
}

/// Whether every row of each of `n` row sets matches `expr`, from exact statistics (those of
/// in-memory batches: [`array_stats`]): a comparison whose opposite no row can satisfy, on a
/// column without nulls; `And`/`Or` of such. `false` wherever it is not known (floats
/// included: NaN orders above every number).
pub(crate) fn all_match(
    expr: &Expr,
    n: usize,
    stats: &mut dyn FnMut(&str) -> Option<ColumnStats>,
) -> Vec<bool> {
    let none = || vec![false; n];
    match expr {
        Expr::And(a, b) => {
            let (a, b) = (all_match(a, n, stats), all_match(b, n, stats));
            a.iter().zip(&b).map(|(x, y)| *x && *y).collect()
        }
        Expr::Or(a, b) => {
            let (a, b) = (all_match(a, n, stats), all_match(b, n, stats));
            a.iter().zip(&b).map(|(x, y)| *x || *y).collect()
        }
        Expr::Compare { column, op, value }
            if column.segments().len() == 1 && !value.data_type().is_floating() =>
        {
            let opposite = match op {
                CmpOp::Lt => CmpOp::Ge,
                CmpOp::Le => CmpOp::Gt,
                CmpOp::Gt => CmpOp::Le,
                CmpOp::Ge => CmpOp::Lt,
                CmpOp::Eq | CmpOp::Ne => return none(),
            };
            let Some(s) = stats(column.top()) else {
                return none();
            };
            let (Some(nulls), Some(some)) = (&s.null_counts, compare(&s, opposite, value, n))
            else {
                return none();
            };
            if nulls.len() != n {
                return none();
            }
            (0..n)
                .map(|i| !some[i] && nulls.is_valid(i) && nulls.value(i) == 0)
                .collect()
        }
        _ => none(),
    }
}

fn compare(s: &ColumnStats, op: CmpOp, value: &ArrayRef, n: usize) -> Option<Vec<bool>> {
    use arrow_ord::cmp::{eq, gt, gt_eq, lt, lt_eq};
    if !prunable(s.mins.data_type())
        || s.mins.len() != n
        || s.maxes.len() != n
        || value.len() != 1
        || value.is_null(0)
    {
        return None;
    }
    match op {
        // Some value in [min, max] equals v: min <= v and max >= v.
        CmpOp::Eq => {
            let lo = per_unit(&s.mins, value, lt_eq)?;
            let hi = per_unit(&s.maxes, value, gt_eq)?;
            Some(lo.iter().zip(&hi).map(|(a, b)| *a && *b).collect())
        }
        // Every value equals v only if min = max = v.
        CmpOp::Ne => {
            let lo = per_unit(&s.mins, value, eq)?;
            let hi = per_unit(&s.maxes, value, eq)?;
            // `per_unit` keeps unknowns as true; a unit is skippable only if both are known
            // equal, which `known_eq` checks without the unknown-as-true rule.
            let lo_known = known(&s.mins);
            let hi_known = known(&s.maxes);
            Some(
                (0..n)
                    .map(|i| !(lo[i] && hi[i] && lo_known[i] && hi_known[i]))
                    .collect(),
            )
        }
        CmpOp::Lt => per_unit(&s.mins, value, lt),
        CmpOp::Le => per_unit(&s.mins, value, lt_eq),
        CmpOp::Gt => per_unit(&s.maxes, value, gt),
        CmpOp::Ge => per_unit(&s.maxes, value, gt_eq),
    }
}

fn known(a: &ArrayRef) -> Vec<bool> {
    (0..a.len()).map(|i| a.is_valid(i)).collect()
}

fn starts_with(s: &ColumnStats, prefix: &str, n: usize) -> Option<Vec<bool>> {
    if prefix.is_empty() {
        return None;
    }
    let text = |a: &ArrayRef| -> Option<ArrayRef> {
        match a.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Some(Arc::clone(a)),
            DataType::Dictionary(_, v) => arrow_cast::cast(a, v).ok(),
            _ => None,
        }
    };
    let (mins, maxes) = (text(&s.mins)?, text(&s.maxes)?);
    let mins = arrow_cast::cast(&mins, &DataType::Utf8).ok()?;
    let maxes = arrow_cast::cast(&maxes, &DataType::Utf8).ok()?;
    let (mins, maxes) = (
        mins.as_any()
            .downcast_ref::<arrow_array::StringArray>()?
            .clone(),
        maxes
            .as_any()
            .downcast_ref::<arrow_array::StringArray>()?
            .clone(),
    );
    Some(
        (0..n)
            .map(|i| {
                if mins.is_null(i) || maxes.is_null(i) {
                    return true;
                }
                let (lo, hi) = (mins.value(i), maxes.value(i));
                // Every value is >= lo and <= hi; some value may start with the prefix unless
                // hi < prefix, or lo is past every string starting with the prefix.
                !(hi < prefix || (lo > prefix && !lo.starts_with(prefix)))
            })
            .collect(),
    )
}

/// The one-element `value` as the statistics' type (a dictionary's values, a timestamp unit).
fn scalar_like(value: &ArrayRef, target: &DataType) -> Option<ArrayRef> {
    let target = match target {
        DataType::Dictionary(_, v) => v.as_ref(),
        other => other,
    };
    let value = match value.data_type() {
        DataType::Dictionary(_, v) => arrow_cast::cast(value, v).ok()?,
        _ => Arc::clone(value),
    };
    if value.data_type() == target {
        return Some(value);
    }
    let options = arrow_cast::CastOptions {
        safe: false,
        ..Default::default()
    };
    let cast = arrow_cast::cast_with_options(&value, target, &options).ok()?;
    // Only an exact conversion prunes (a truncated bound could skip a matching unit).
    let back = arrow_cast::cast_with_options(&cast, value.data_type(), &options).ok()?;
    (back.to_data() == value.to_data()).then_some(cast)
}

/// Floats are not pruned: Arrow's comparisons order NaN above every number, which statistics
/// leave out.
fn prunable(data_type: &DataType) -> bool {
    !matches!(
        data_type,
        DataType::Float16 | DataType::Float32 | DataType::Float64
    ) && !data_type.is_nested()
}

/// Statistics of a top-level column over the row groups of a Parquet file (`None` when the
/// column has none usable).
pub(crate) fn parquet_column_stats(
    metadata: &parquet::arrow::arrow_reader::ArrowReaderMetadata,
    column: &str,
) -> Option<ColumnStats> {
    use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
    let schema = metadata.schema();
    let field = schema.field_with_name(column).ok()?;
    if !prunable(field.data_type()) {
        return None;
    }
    let converter = StatisticsConverter::try_new(column, schema, metadata.parquet_schema()).ok()?;
    let groups = metadata.metadata().row_groups();
    Some(ColumnStats {
        mins: converter.row_group_mins(groups.iter()).ok()?,
        maxes: converter.row_group_maxes(groups.iter()).ok()?,
        null_counts: converter.row_group_null_counts(groups.iter()).ok(),
        row_counts: converter.row_group_row_counts(groups.iter()).ok().flatten(),
    })
}

/// The row groups of a Parquet file `expr` may match.
pub(crate) fn parquet_row_groups(
    expr: &Expr,
    metadata: &parquet::arrow::arrow_reader::ArrowReaderMetadata,
) -> Vec<usize> {
    let n = metadata.metadata().num_row_groups();
    let keep = may_match(expr, n, &mut |column| {
        parquet_column_stats(metadata, column)
    });
    keep.iter()
        .enumerate()
        .filter_map(|(i, k)| k.then_some(i))
        .collect()
}

/// What the page index of a file rules out inside the row groups a scan reads.
pub(crate) struct PageSelection {
    /// The row groups with at least one page range kept, in order.
    pub groups: Vec<usize>,
    /// The rows to decode within `groups`.
    pub selection: parquet::arrow::arrow_reader::RowSelection,
    pub pages_total: u64,
    pub pages_skipped: u64,
}

/// Page-level pruning of the row groups `groups` of a file whose metadata holds its page index
/// (`None` without one, or when no column of `expr` has page statistics). Each row group is cut
/// at every page boundary of the predicate's columns; a range is skipped when the statistics of
/// the pages covering it prove that no row matches.
pub(crate) fn parquet_pages(
    expr: &Expr,
    metadata: &parquet::arrow::arrow_reader::ArrowReaderMetadata,
    groups: &[usize],
) -> Option<PageSelection> {
    use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
    use parquet::arrow::arrow_reader::{RowSelection, RowSelector};
    let meta = metadata.metadata();
    let index = meta.page_index()?;
    if !index.is_complete() {
        return None;
    }
    let schema = metadata.schema();
    let converters: Vec<(String, StatisticsConverter<'_>, usize)> = expr
        .columns()
        .into_iter()
        .filter_map(|name| {
            let field = schema.field_with_name(&name).ok()?;
            if !prunable(field.data_type()) {
                return None;
            }
            let c = StatisticsConverter::try_new(&name, schema, metadata.parquet_schema()).ok()?;
            let leaf = c.parquet_column_index()?;
            Some((name, c, leaf))
        })
        .collect();
    if converters.is_empty() {
        return None;
    }
    let mut selectors: Vec<RowSelector> = Vec::new();
    let mut kept = Vec::new();
    let (mut total, mut skipped) = (0u64, 0u64);
    for &g in groups {
        let rows = usize::try_from(meta.row_groups().get(g)?.num_rows()).ok()?;
        let mut bounds = std::collections::BTreeSet::from([0usize, rows]);
        let mut firsts: Vec<Vec<usize>> = Vec::with_capacity(converters.len());
        for (_, _, leaf) in &converters {
            let pages = index.offset_index(g, *leaf)?.page_locations();
            let starts: Vec<usize> = pages
                .iter()
                .filter_map(|p| usize::try_from(p.first_row_index).ok())
                .filter(|r| *r < rows)
                .collect();
            bounds.extend(starts.iter().copied());
            firsts.push(starts);
        }
        let bounds: Vec<usize> = bounds.into_iter().collect();
        let n = bounds.len() - 1;
        if n == 0 {
            continue;
        }
        let mut by_column: std::collections::HashMap<&str, ColumnStats> =
            std::collections::HashMap::new();
        for ((name, converter, _), starts) in converters.iter().zip(&firsts) {
            // The page of each range: the last page starting at or before it.
            let page_of: arrow_array::UInt32Array = bounds[..n]
                .iter()
                .map(|b| Some(starts.partition_point(|s| s <= b).saturating_sub(1) as u32))
                .collect();
            let pick = |a: &dyn Array| arrow_select::take::take(a, &page_of, None).ok();
            let groups_one = [g];
            let Ok(mins) = converter.data_page_mins(index.as_ref(), groups_one.iter()) else {
                continue;
            };
            let Ok(maxes) = converter.data_page_maxes(index.as_ref(), groups_one.iter()) else {
                continue;
            };
            if mins.len() != starts.len() || maxes.len() != starts.len() {
                continue;
            }
            let nulls = converter
                .data_page_null_counts(index.as_ref(), groups_one.iter())
                .ok()
                .and_then(|a| pick(&a))
                .and_then(|a| a.as_any().downcast_ref::<UInt64Array>().cloned());
            let counts = converter
                .data_page_row_counts(index.as_ref(), meta.row_groups(), groups_one.iter())
                .ok()
                .flatten()
                .and_then(|a| pick(&a))
                .and_then(|a| a.as_any().downcast_ref::<UInt64Array>().cloned());
            let (Some(mins), Some(maxes)) = (pick(&mins), pick(&maxes)) else {
                continue;
            };
            by_column.insert(
                name.as_str(),
                ColumnStats {
                    mins,
                    maxes,
                    null_counts: nulls,
                    row_counts: counts,
                },
            );
        }
        let keep = may_match(expr, n, &mut |name| by_column.get(name).cloned());
        total += n as u64;
        skipped += keep.iter().filter(|k| !**k).count() as u64;
        if !keep.contains(&true) {
            continue; // no page range of this row group can match: not read at all
        }
        kept.push(g);
        for (i, k) in keep.iter().enumerate() {
            let len = bounds[i + 1] - bounds[i];
            selectors.push(if *k {
                RowSelector::select(len)
            } else {
                RowSelector::skip(len)
            });
        }
    }
    Some(PageSelection {
        groups: kept,
        selection: RowSelection::from(selectors),
        pages_total: total,
        pages_skipped: skipped,
    })
}

/// The statistics of one in-memory column (one unit): minimum and maximum of the types that
/// prune (integers, dates, timestamps, decimals, strings; a dictionary's whole value set, a
/// superset of the values used, so still a valid bound), null count and rows.
pub(crate) fn array_stats(array: &dyn Array) -> Option<ColumnStats> {
    use arrow_arith::aggregate::{max, max_string, min, min_string};
    use arrow_array::cast::AsArray;
    use arrow_array::types::*;
    use arrow_array::{PrimitiveArray, StringArray};
    let data_type = array.data_type();
    if !prunable(data_type) {
        return None;
    }
    macro_rules! prim {
        ($t:ty) => {{
            let a = array.as_primitive::<$t>();
            let (lo, hi) = (min(a), max(a));
            let one = |v: Option<<$t as arrow_array::ArrowPrimitiveType>::Native>| -> ArrayRef {
                Arc::new(PrimitiveArray::<$t>::from(vec![v]).with_data_type(data_type.clone()))
            };
            (one(lo), one(hi))
        }};
    }
    use arrow_schema::TimeUnit;
    let (mins, maxes): (ArrayRef, ArrayRef) = match data_type {
        DataType::Int8 => prim!(Int8Type),
        DataType::Int16 => prim!(Int16Type),
        DataType::Int32 => prim!(Int32Type),
        DataType::Int64 => prim!(Int64Type),
        DataType::UInt8 => prim!(UInt8Type),
        DataType::UInt16 => prim!(UInt16Type),
        DataType::UInt32 => prim!(UInt32Type),
        DataType::UInt64 => prim!(UInt64Type),
        DataType::Date32 => prim!(Date32Type),
        DataType::Date64 => prim!(Date64Type),
        DataType::Timestamp(TimeUnit::Second, _) => prim!(TimestampSecondType),
        DataType::Timestamp(TimeUnit::Millisecond, _) => prim!(TimestampMillisecondType),
        DataType::Timestamp(TimeUnit::Microsecond, _) => prim!(TimestampMicrosecondType),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => prim!(TimestampNanosecondType),
        DataType::Decimal128(_, _) => prim!(Decimal128Type),
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            (
                Arc::new(StringArray::from(vec![min_string(a)])),
                Arc::new(StringArray::from(vec![max_string(a)])),
            )
        }
        DataType::Dictionary(_, value) if value.as_ref() == &DataType::Utf8 => {
            let dictionary = array.as_any_dictionary_opt()?;
            let values = dictionary.values().as_string_opt::<i32>()?;
            (
                Arc::new(StringArray::from(vec![min_string(values)])),
                Arc::new(StringArray::from(vec![max_string(values)])),
            )
        }
        _ => return None,
    };
    Some(ColumnStats {
        mins,
        maxes,
        null_counts: Some(UInt64Array::from(vec![array.null_count() as u64])),
        row_counts: Some(UInt64Array::from(vec![array.len() as u64])),
    })
}
