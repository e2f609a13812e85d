//! `Option<T>`: the column of `T` with a validity bitmap; `T`'s `*_opt` methods do the work.

use std::collections::HashMap;

use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;

use super::ArrowField;
use crate::error::FieldError;

impl<T: ArrowField> ArrowField for Option<T> {
    fn data_type() -> DataType {
        T::data_type()
    }

    const NULLABLE: bool = true;

    fn to_array(values: &[Self]) -> Result<ArrayRef, FieldError> {
        T::to_array_opt(values)
    }

    fn from_array(array: &dyn Array) -> Result<Vec<Self>, FieldError> {
        T::from_array_opt(array)
    }

    fn values(array: &dyn Array) -> Result<impl Iterator<Item = Self>, FieldError> {
        T::values_opt(array)
    }

    fn to_array_opt(_: &[Option<Self>]) -> Result<ArrayRef, FieldError> {
        Err(FieldError::Unsupported(
            "Option<Option<T>> has no Arrow layout: Arrow has a single level of nulls per column"
                .into(),
        ))
    }

    fn field_metadata() -> HashMap<String, String> {
        T::field_metadata()
    }

    fn absent(len: usize) -> Option<Vec<Self>> {
        Some((0..len).map(|_| None).collect())
    }

    fn from_array_opt(_: &dyn Array) -> Result<Vec<Option<Self>>, FieldError> {
        Err(FieldError::Unsupported(
            "Option<Option<T>> has no Arrow layout: Arrow has a single level of nulls per column"
                .into(),
        ))
    }
}
