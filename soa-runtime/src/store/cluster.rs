//! Clustering: the rows of each file written grouped by the values of some columns, in value
//! order, so that row-group and page statistics of those columns are narrow and a predicate on
//! them skips most of a file (`symbol = 'NVDA'` in a file of one day of trades reads one page
//! range instead of the whole day).
//!
//! The order is stable: rows with equal cluster values keep their arrival order (time order of a
//! time-sorted feed stays). Ranks come from grouping equal values by hash (one pass, no string
//! comparison per row) and sorting the distinct values once; types that cannot be grouped by
//! hash (floats, timestamps, binary) are ranked by a sort.

use std::cmp::Ordering;
use std::collections::HashMap;

use arrow_array::{Array, ArrayRef, RecordBatch, UInt32Array};
use arrow_ord::ord::make_comparator;
use arrow_schema::{DataType, SchemaRef, SortOptions};

use crate::error::{Error, Result};

/// The cluster columns of a store, resolved against its row schema.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cluster {
    /// The column names, in order of significance.
    columns: Vec<String>,
}

const OPTIONS: SortOptions = SortOptions {
    descending: false,
    nulls_first: false,
};

impl Cluster {
    /// Checks `names` against `schema`: top-level columns, each of a type with an order.
    pub fn resolve(
        names: &[String],
        schema: &SchemaRef,
        type_name: &'static str,
        store: &'static str,
    ) -> Result<Self> {
        let mut columns = Vec::with_capacity(names.len());
        for name in names {
            let index = schema.index_of(name).map_err(|_| Error::UnknownColumn {
                type_name,
                column: name.clone(),
                available: schema.fields().iter().map(|f| f.name().clone()).collect(),
            })?;
            let data_type = schema.field(index).data_type();
            if !orderable(data_type) {
                return Err(Error::UnsupportedType {
                    store,
                    type_name,
                    column: name.clone(),
                    data_type: data_type.to_string(),
                    reason: "`cluster_by` takes integer, float, boolean, string, enum, date and \
                             timestamp columns"
                        .into(),
                });
            }
            if columns.contains(name) {
                return Err(Error::InvalidOption {
                    option: "cluster_by",
                    reason: format!("{type_name}: column {name:?} is named twice"),
                });
            }
            columns.push(name.clone());
        }
        Ok(Cluster { columns })
    }

    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// The dense rank of each row's cluster values (lexicographic over the columns, each
    /// ascending with nulls last) and the number of distinct ranks; `None` if not clustered.
    /// A cluster column the batch does not have (an identity partition column, constant in a
    /// partition's file) orders nothing.
    pub fn ranks(&self, batch: &RecordBatch) -> Result<Option<(Vec<u32>, usize)>> {
        let mut combined: Option<(Vec<u32>, usize)> = None;
        for name in &self.columns {
            let Some(column) = batch.column_by_name(name) else {
                continue;
            };
            let (ranks, n) = column_ranks(column)
                .map_err(|e| Error::arrow(format!("clustering by column {name:?}"), e))?;
            combined = Some(match combined {
                None => (ranks, n),
                Some((outer, m)) => {
                    let keys: Vec<u64> = outer
                        .iter()
                        .zip(&ranks)
                        .map(|(o, r)| u64::from(*o) * n as u64 + u64::from(*r))
                        .collect();
                    dense(&keys, m as u64 * n as u64)
                }
            });
        }
        Ok(combined)
    }

    /// The rows of `batch` in cluster order (stable), one `take` per column (on `threads`
    /// threads); the batch itself when already in order.
    pub fn apply(&self, batch: &RecordBatch, threads: usize) -> Result<RecordBatch> {
        let Some((ranks, n)) = self.ranks(batch)? else {
            return Ok(batch.clone());
        };
        if ranks.windows(2).all(|w| w[0] <= w[1]) {
            return Ok(batch.clone());
        }
        let (order, _) = counting_order(&ranks, n);
        take(batch, &UInt32Array::from(order), threads)
    }
}

/// Whether `cluster_by` can order a column of this type.
fn orderable(data_type: &DataType) -> bool {
    match data_type {
        DataType::Dictionary(_, values) => orderable(values),
        t => {
            t.is_primitive()
                || matches!(
                    t,
                    DataType::Boolean
                        | DataType::Utf8
                        | DataType::LargeUtf8
                        | DataType::Utf8View
                        | DataType::Binary
                        | DataType::LargeBinary
                        | DataType::BinaryView
                        | DataType::FixedSizeBinary(_)
                )
        }
    }
}

/// Dense ranks of one column: equal values grouped by hash where the type allows (one pass),
/// the distinct values sorted once; otherwise a sort of the rows.
fn column_ranks(
    column: &ArrayRef,
) -> std::result::Result<(Vec<u32>, usize), arrow_schema::ArrowError> {
    let compare = make_comparator(column.as_ref(), column.as_ref(), OPTIONS)?;
    if let Some((ids, first)) = hashed_groups(column) {
        let groups = first.len();
        let mut by_value: Vec<u32> = (0..groups as u32).collect();
        by_value.sort_by(|a, b| compare(first[*a as usize], first[*b as usize]));
        // Equal values in distinct groups (a dictionary with repeated entries) share a rank.
        let mut rank_of = vec![0u32; groups];
        let mut rank = 0u32;
        for (i, g) in by_value.iter().enumerate() {
            if i > 0 {
                let prev = by_value[i - 1] as usize;
                if compare(first[prev], first[*g as usize]) != Ordering::Equal {
                    rank += 1;
                }
            }
            rank_of[*g as usize] = rank;
        }
        let ranks = ids.iter().map(|id| rank_of[*id as usize]).collect();
        let n = if groups == 0 { 0 } else { rank as usize + 1 };
        return Ok((ranks, n));
    }
    let sorted = arrow_ord::sort::sort_to_indices(column.as_ref(), Some(OPTIONS), None)?;
    let mut ranks = vec![0u32; column.len()];
    let mut rank = 0u32;
    let mut prev: Option<usize> = None;
    for row in sorted.values().iter().map(|r| *r as usize) {
        if let Some(p) = prev
            && compare(p, row) != Ordering::Equal
        {
            rank += 1;
        }
        ranks[row] = rank;
        prev = Some(row);
    }
    let n = if column.is_empty() {
        0
    } else {
        rank as usize + 1
    };
    Ok((ranks, n))
}

/// Equal values of `column` grouped by hash: a group id per row (numbered by first appearance)
/// and the first row of each group; `None` for types grouped by sorting instead. Large columns
/// are grouped in two halves on two threads, then the halves' groups merged by value.
fn hashed_groups(column: &ArrayRef) -> Option<(Vec<u32>, Vec<usize>)> {
    let len = column.len();
    let halves = if len >= 1 << 17 { 2 } else { 1 };
    let bounds: Vec<(usize, usize)> = (0..halves)
        .map(|h| (h * len / halves, (h + 1) * len / halves))
        .collect();
    type Keys = Option<(Vec<u32>, Vec<Option<String>>)>;
    let parts: Vec<Keys> = std::thread::scope(|scope| {
        let handles: Vec<_> = bounds
            .iter()
            .map(|&(start, end)| {
                let slice = column.slice(start, end - start);
                scope.spawn(move || crate::store::partition::identity_keys(&slice).ok())
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().ok().flatten())
            .collect()
    });
    let mut ids = Vec::with_capacity(len);
    let mut first: Vec<usize> = Vec::new();
    let mut global: HashMap<Option<String>, u32> = HashMap::new();
    for (part, (start, _)) in parts.into_iter().zip(bounds) {
        let (local, texts) = part?;
        let mut seen = vec![false; texts.len()];
        let remap: Vec<u32> = texts
            .into_iter()
            .map(|t| {
                let next = global.len() as u32;
                *global.entry(t).or_insert(next)
            })
            .collect();
        for (row, id) in local.iter().enumerate() {
            let g = remap[*id as usize];
            if !seen[*id as usize] {
                seen[*id as usize] = true;
                if g as usize == first.len() {
                    first.push(start + row);
                }
            }
            ids.push(g);
        }
    }
    Some((ids, first))
}

/// Dense ranks of `keys` (each `< bound`), in key order.
fn dense(keys: &[u64], bound: u64) -> (Vec<u32>, usize) {
    if bound <= (keys.len() as u64).saturating_mul(4).max(1 << 16) {
        let mut seen = vec![false; usize::try_from(bound).unwrap_or(0)];
        for k in keys {
            seen[*k as usize] = true;
        }
        let mut rank_of = vec![0u32; seen.len()];
        let mut n = 0u32;
        for (k, s) in seen.iter().enumerate() {
            if *s {
                rank_of[k] = n;
                n += 1;
            }
        }
        (
            keys.iter().map(|k| rank_of[*k as usize]).collect(),
            n as usize,
        )
    } else {
        let mut distinct = keys.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        let ranks = keys
            .iter()
            .map(|k| distinct.binary_search(k).unwrap_or(0) as u32)
            .collect();
        (ranks, distinct.len())
    }
}

/// A stable counting sort of the rows by `keys` (each `< n`): the row order and where each
/// key's rows start (`n + 1` entries).
pub(crate) fn counting_order(keys: &[u32], n: usize) -> (Vec<u32>, Vec<usize>) {
    let mut starts = vec![0usize; n + 1];
    for k in keys {
        starts[*k as usize + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut next = starts.clone();
    let mut order = vec![0u32; keys.len()];
    for (row, k) in keys.iter().enumerate() {
        let slot = &mut next[*k as usize];
        order[*slot] = row as u32;
        *slot += 1;
    }
    (order, starts)
}

/// The rows `order` of `batch`, one `take` per column, the columns spread over `threads`
/// threads (largest first onto the least loaded).
pub(crate) fn take(
    batch: &RecordBatch,
    order: &UInt32Array,
    threads: usize,
) -> Result<RecordBatch> {
    let rows = order.len();
    let columns = batch.columns();
    let threads = if rows < 1 << 16 {
        1
    } else {
        threads.clamp(1, columns.len().max(1))
    };
    let mut loads = vec![(0usize, Vec::new()); threads];
    let mut by_size: Vec<usize> = (0..columns.len()).collect();
    by_size.sort_by_key(|i| std::cmp::Reverse(columns[*i].get_array_memory_size()));
    for i in by_size {
        if let Some(least) = loads.iter_mut().min_by_key(|(load, _)| *load) {
            least.0 += columns[i].get_array_memory_size();
            least.1.push(i);
        }
    }
    let taken: Vec<
        Vec<(
            usize,
            std::result::Result<ArrayRef, arrow_schema::ArrowError>,
        )>,
    > = std::thread::scope(|scope| {
        let handles: Vec<_> = loads
            .iter()
            .map(|(_, mine)| {
                scope.spawn(move || {
                    mine.iter()
                        .map(|i| (*i, arrow_select::take::take(&columns[*i], order, None)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut out: Vec<Option<ArrayRef>> = vec![None; columns.len()];
    for (i, column) in taken.into_iter().flatten() {
        out[i] = Some(column.map_err(|e| Error::arrow("reordering the rows of a batch", e))?);
    }
    let columns = out
        .into_iter()
        .map(|c| c.ok_or_else(|| Error::Task("a column was not reordered".into())))
        .collect::<Result<Vec<_>>>()?;
    let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows));
    RecordBatch::try_new_with_options(batch.schema(), columns, &options)
        .map_err(|e| Error::arrow("reordering the rows of a batch", e))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Float64Array, Int64Array, StringArray};
    use arrow_schema::{Field, Schema};

    use super::*;

    fn batch(symbols: Vec<Option<&str>>, prices: Vec<f64>) -> RecordBatch {
        let ids = Int64Array::from_iter_values(0..symbols.len() as i64);
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("symbol", DataType::Utf8, true),
            Field::new("price", DataType::Float64, false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(ids),
                Arc::new(StringArray::from(symbols)),
                Arc::new(Float64Array::from(prices)),
            ],
        )
        .unwrap()
    }

    fn ids(batch: &RecordBatch) -> Vec<i64> {
        batch
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .values()
            .to_vec()
    }

    #[test]
    fn groups_by_value_stably_nulls_last() {
        let b = batch(
            vec![Some("b"), None, Some("a"), Some("b"), Some("é"), Some("a")],
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        );
        let schema = b.schema();
        let c = Cluster::resolve(&["symbol".into()], &schema, "T", "ParquetStore").unwrap();
        assert_eq!(ids(&c.apply(&b, 2).unwrap()), vec![2, 5, 0, 3, 4, 1]);
        // Floats go through the sort, then the second column breaks ties.
        let c = Cluster::resolve(&["price".into()], &schema, "T", "ParquetStore").unwrap();
        let b2 = batch(vec![Some("x"); 4], vec![3.0, -1.0, 3.0, f64::NAN]);
        assert_eq!(ids(&c.apply(&b2, 2).unwrap()), vec![1, 0, 2, 3]);
        let c = Cluster::resolve(
            &["symbol".into(), "price".into()],
            &schema,
            "T",
            "ParquetStore",
        )
        .unwrap();
        let b3 = batch(
            vec![Some("b"), Some("a"), Some("b"), Some("a")],
            vec![2.0, 9.0, 1.0, 3.0],
        );
        assert_eq!(ids(&c.apply(&b3, 2).unwrap()), vec![3, 1, 2, 0]);
        // Empty and one-row batches.
        assert_eq!(c.apply(&batch(vec![], vec![]), 2).unwrap().num_rows(), 0);
        assert_eq!(
            ids(&c.apply(&batch(vec![None], vec![1.0]), 2).unwrap()),
            vec![0]
        );
    }

    #[test]
    fn bad_columns_are_typed_errors() {
        let schema = batch(vec![], vec![]).schema();
        assert!(matches!(
            Cluster::resolve(&["nope".into()], &schema, "T", "ParquetStore"),
            Err(Error::UnknownColumn { .. })
        ));
        assert!(matches!(
            Cluster::resolve(&["id".into(), "id".into()], &schema, "T", "ParquetStore"),
            Err(Error::InvalidOption { .. })
        ));
    }
}
