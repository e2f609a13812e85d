//! `uuid::Uuid` (feature `uuid`) as `FixedSizeBinary(16)` with the canonical `arrow.uuid`
//! extension type.
//!
//! The field carries the metadata `ARROW:extension:name = "arrow.uuid"` (and no
//! `ARROW:extension:metadata`, as the canonical extension requires), so pyarrow, DuckDB and polars
//! recognise the column as UUIDs; readers that do not know the extension still see 16 raw bytes in
//! the big-endian RFC 9562 order of [`Uuid::as_bytes`].
//!
//! Reading accepts `FixedSizeBinary(16)`, `Binary`, `LargeBinary` and `BinaryView` (every value must
//! be 16 bytes long) and string columns of UUID text such as `"67e55044-10b1-426f-9247-bb680e5fe0c8"`
//! (as older DuckDB versions export them); a value of another length or text that is not a UUID
//! fails with [`FieldError::ValueOutOfRange`] naming the row.

use std::collections::HashMap;
use std::sync::Arc;

use ::uuid::Uuid;
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, FixedSizeBinaryArray};
use arrow_buffer::{Buffer, NullBuffer};
use arrow_schema::DataType;

use super::{ArrowField, FieldError, for_each_str, list};

/// The Arrow field metadata key of an extension type's name.
const EXTENSION_NAME: &str = "ARROW:extension:name";

/// The canonical extension name of UUID columns.
const ARROW_UUID: &str = "arrow.uuid";

const UUID_TYPE: DataType = DataType::FixedSizeBinary(16);

fn uuids_to_array(
    values: impl ExactSizeIterator<Item = Option<Uuid>>,
) -> Result<ArrayRef, FieldError> {
    let mut bytes: Vec<u8> = Vec::with_capacity(values.len() * 16);
    let mut valid: Vec<bool> = Vec::with_capacity(values.len());
    for v in values {
        valid.push(v.is_some());
        bytes.extend_from_slice(v.unwrap_or(Uuid::nil()).as_bytes());
    }
    let nulls = NullBuffer::from(valid);
    let nulls = (nulls.null_count() > 0).then_some(nulls);
    Ok(Arc::new(FixedSizeBinaryArray::try_new(
        16,
        Buffer::from_vec(bytes),
        nulls,
    )?))
}

fn uuid_from_bytes(row: usize, bytes: &[u8]) -> Result<Uuid, FieldError> {
    Uuid::from_slice(bytes).map_err(|_| {
        FieldError::out_of_range_at(
            row,
            format!("a UUID is 16 bytes, found {} bytes", bytes.len()),
        )
    })
}

/// `uuid::Uuid` as `FixedSizeBinary(16)` with the `arrow.uuid` extension (see the [module docs](self)).
impl ArrowField for Uuid {
    fn data_type() -> DataType {
        UUID_TYPE
    }

    fn field_metadata() -> HashMap<String, String> {
        HashMap::from([(EXTENSION_NAME.to_owned(), ARROW_UUID.to_owned())])
    }

    fn to_array(values: &[Self]) -> Result<ArrayRef, FieldError> {
        uuids_to_array(values.iter().copied().map(Some))
    }

    fn from_array(array: &dyn Array) -> Result<Vec<Self>, FieldError> {
        list::required(Self::from_array_opt(array)?, UUID_TYPE)
    }

    fn to_array_opt(values: &[Option<Self>]) -> Result<ArrayRef, FieldError> {
        uuids_to_array(values.iter().copied())
    }

    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, FieldError> {
        match array.data_type() {
            DataType::FixedSizeBinary(16) => array
                .as_fixed_size_binary()
                .iter()
                .enumerate()
                .map(|(row, b)| b.map(|b| uuid_from_bytes(row, b)).transpose())
                .collect(),
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
                list::binary_from_array(array)?
                    .into_iter()
                    .enumerate()
                    .map(|(row, b)| b.map(|b| uuid_from_bytes(row, &b)).transpose())
                    .collect()
            }
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                let mut out = Vec::with_capacity(array.len());
                for_each_str(array, UUID_TYPE, |row, s| {
                    let parsed = s
                        .map(|s| {
                            Uuid::parse_str(s).map_err(|e| {
                                FieldError::out_of_range_at(
                                    row,
                                    format!("{s:?} is not a UUID ({e})"),
                                )
                            })
                        })
                        .transpose()?;
                    out.push(parsed);
                    Ok(())
                })?;
                Ok(out)
            }
            found => Err(FieldError::TypeMismatch {
                expected: UUID_TYPE,
                found: found.clone(),
            }),
        }
    }
}
