//! Memory accounting of the stored batches: bytes per column, validity bitmaps apart.

use arrow_array::{Array, RecordBatch};
use arrow_buffer::bit_util;
use arrow_data::ArrayData;
use arrow_schema::DataType;

use super::ColumnSize;

/// Bytes of a batch's rows (the slices its columns cover, as [`batch_sizes`] counts them).
pub(crate) fn batch_bytes(batch: &RecordBatch) -> u64 {
    batch.columns().iter().map(|c| column_size(c).bytes).sum()
}

/// Sizes of every column of a batch. O(columns), plus a walk of nested children.
pub(super) fn batch_sizes(batch: &RecordBatch) -> Vec<ColumnSize> {
    batch.columns().iter().map(column_size).collect()
}

fn column_size(column: &arrow_array::ArrayRef) -> ColumnSize {
    let mut size = ColumnSize::default();
    add_data_size(&column.to_data(), &mut size);
    size
}

/// Adds the bytes an array's slice occupies: values and offsets of its own rows (not buffer
/// capacities), its validity bitmap, and its children (including dictionary values, which are
/// counted whole since every key may refer to any of them).
pub(super) fn add_data_size(data: &ArrayData, size: &mut ColumnSize) {
    let len = data.len();
    let offset = data.offset();
    if data.nulls().is_some() {
        let validity = bit_util::ceil(len, 8) as u64;
        size.validity += validity;
        size.bytes += validity;
    }
    let buffers = data.buffers();
    let own = match data.data_type() {
        DataType::Null => 0,
        DataType::Boolean => bit_util::ceil(len, 8),
        DataType::Utf8 | DataType::Binary => {
            var_width_bytes(buffers.first().map(|b| b.as_slice()), offset, len, 4)
        }
        DataType::LargeUtf8 | DataType::LargeBinary => {
            var_width_bytes(buffers.first().map(|b| b.as_slice()), offset, len, 8)
        }
        DataType::List(_) | DataType::Map(..) => {
            offsets_bytes(buffers.first().map(|b| b.len()), len, 4)
        }
        DataType::LargeList(_) => offsets_bytes(buffers.first().map(|b| b.len()), len, 8),
        DataType::Dictionary(key, _) => len * key.primitive_width().unwrap_or(0),
        DataType::FixedSizeBinary(width) => len * usize::try_from(*width).unwrap_or(0),
        other => match other.primitive_width() {
            Some(width) => len * width,
            // Struct, unions, views...: whatever their buffers hold.
            None => buffers.iter().map(|b| b.len()).sum(),
        },
    };
    size.bytes += own as u64;
    for child in data.child_data() {
        add_data_size(child, size);
    }
}

/// Offsets of `len` rows: `len + 1` entries, or none for an empty array without offsets.
fn offsets_bytes(buffer_len: Option<usize>, len: usize, width: usize) -> usize {
    match buffer_len {
        Some(0) | None if len == 0 => 0,
        _ => (len + 1) * width,
    }
}

/// Offsets plus the value bytes between the first and last offset of the slice. Reads the two
/// offsets from raw bytes so that a short or misaligned buffer cannot panic.
pub(super) fn var_width_bytes(
    offsets: Option<&[u8]>,
    offset: usize,
    len: usize,
    width: usize,
) -> usize {
    let read = |index: usize| -> Option<i64> {
        let start = index.checked_mul(width)?;
        let bytes = offsets?.get(start..start.checked_add(width)?)?;
        Some(match width {
            4 => i64::from(i32::from_le_bytes(bytes.try_into().ok()?)),
            _ => i64::from_le_bytes(bytes.try_into().ok()?),
        })
    };
    let values = match (read(offset), read(offset + len)) {
        (Some(first), Some(last)) => usize::try_from(last.saturating_sub(first)).unwrap_or(0),
        _ => 0,
    };
    offsets_bytes(offsets.map(<[u8]>::len), len, width) + values
}
