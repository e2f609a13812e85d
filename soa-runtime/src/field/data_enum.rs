//! Enums whose variants carry data, as a Parquet-safe Struct column (Arrow Union cannot be
//! stored in Parquet): a `tag` child (dictionary of variant names, as for unit enums) plus one
//! nullable Struct child per data-carrying variant, named after it. Used by `#[derive(ToArrow)]`.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int8Type;
use arrow_array::{Array, ArrayRef, DictionaryArray, PrimitiveArray, StructArray};
use arrow_buffer::{NullBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Fields};

use super::{FieldError, list, utf8_array};

/// Name of the tag child.
pub const TAG: &str = "tag";

fn tag_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8))
}

/// The Struct type: `tag` then the variant children.
pub fn data_enum_type(_variants: &[&str], children: Vec<Field>) -> DataType {
    let mut fields = vec![Field::new(TAG, tag_type(), false)];
    fields.extend(children);
    DataType::Struct(Fields::from(fields))
}

/// Assembles the column from variant indexes, optional row validity and the children arrays.
///
/// # Errors
/// More than 128 variants, or Arrow rejecting the parts.
pub fn data_enum_to_array(
    variants: &[&str],
    tags: Vec<usize>,
    valid: Option<Vec<bool>>,
    children: Vec<(&str, ArrayRef)>,
) -> Result<ArrayRef, FieldError> {
    if variants.len() > 128 {
        return Err(FieldError::Unsupported(format!(
            "an enum with data has at most 128 variants, found {}",
            variants.len()
        )));
    }
    let nulls = valid.map(NullBuffer::from).filter(|n| n.null_count() > 0);
    let total = variants.iter().map(|v| v.len()).sum();
    let names = utf8_array(variants.iter().copied(), total, None)?;
    // Indexes are below 128 (checked above), so the cast to i8 is exact.
    let keys: Vec<i8> = tags.into_iter().map(|t| t as i8).collect();
    let keys = PrimitiveArray::<Int8Type>::new(ScalarBuffer::from(keys), None);
    let tag: ArrayRef = Arc::new(DictionaryArray::try_new(keys, names)?);
    let mut fields = vec![Field::new(TAG, tag_type(), false)];
    let mut arrays = vec![tag];
    for (name, array) in children {
        fields.push(Field::new(name, array.data_type().clone(), true));
        arrays.push(array);
    }
    Ok(Arc::new(StructArray::try_new(
        Fields::from(fields),
        arrays,
        nulls,
    )?))
}

/// Splits a column into its struct array and per-row variant index (`None` for null rows).
///
/// # Errors
/// Not a struct with a `tag` child, or a tag naming no variant.
pub fn data_enum_tags<'a>(
    array: &'a dyn Array,
    enum_name: &'static str,
    variants: &'static [&'static str],
    expected: DataType,
) -> Result<(&'a StructArray, Vec<Option<usize>>), FieldError> {
    let mismatch = || FieldError::TypeMismatch {
        expected: expected.clone(),
        found: array.data_type().clone(),
    };
    let structs = array.as_struct_opt().ok_or_else(mismatch)?;
    let tag = structs.column_by_name(TAG).ok_or_else(mismatch)?;
    let mut names: Vec<Option<String>> = Vec::with_capacity(tag.len());
    super::for_each_str(tag.as_ref(), tag_type(), |_, s| {
        names.push(s.map(str::to_owned));
        Ok(())
    })
    .map_err(|_| mismatch())?;
    let mut tags = Vec::with_capacity(names.len());
    for (row, name) in names.into_iter().enumerate() {
        if structs.is_null(row) {
            tags.push(None);
            continue;
        }
        let Some(name) = name else {
            return Err(FieldError::unexpected_null(row, tag_type()));
        };
        match variants.iter().position(|v| *v == name) {
            Some(index) => tags.push(Some(index)),
            None => {
                return Err(FieldError::UnknownVariant {
                    enum_name,
                    expected: variants,
                    found: name,
                    row,
                    items: Vec::new(),
                });
            }
        }
    }
    Ok((structs, tags))
}

/// The child of a variant, if the column has it (a batch written before the variant existed has not).
pub fn data_enum_child<'a>(structs: &'a StructArray, variant: &str) -> Option<&'a ArrayRef> {
    structs.column_by_name(variant)
}

/// The error for a row whose tag names a variant but whose child is null.
pub fn missing_payload(enum_name: &str, variant: &str, row: usize) -> FieldError {
    FieldError::out_of_range_at(
        row,
        format!("enum {enum_name} is tagged {variant:?} but that variant's data is null"),
    )
}

/// Optional rows to required rows, failing on the first null.
///
/// # Errors
/// [`FieldError::UnexpectedNull`].
pub fn require_rows<T>(rows: Vec<Option<T>>, expected: DataType) -> Result<Vec<T>, FieldError> {
    list::required(rows, expected)
}
