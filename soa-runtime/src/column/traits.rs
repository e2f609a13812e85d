//! The two traits generated code names: [`ArrowLayout`] (which field types have an Arrow-shaped
//! column) and [`Column`] (what the generated container calls on one).

use std::fmt;
use std::ops::Range;

use arrow_array::{Array, ArrayRef};

use super::{OptionStringColumn, StringColumn};
use crate::error::FieldError;
use crate::field::ArrowField;

/// A field type that has an Arrow-shaped column, selected by `#[soa(arrow_layout)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no Arrow-shaped column for `#[soa(arrow_layout)]`",
    label = "`arrow_layout` needs `String` or `Option<String>`",
    note = "remove `#[soa(arrow_layout)]` to store this field in a `Vec`"
)]
pub trait ArrowLayout: ArrowField {
    /// The column type (`StringColumn` for `String`).
    type Column: Column<Self>;
}

impl ArrowLayout for String {
    type Column = StringColumn;
}

impl ArrowLayout for Option<String> {
    type Column = OptionStringColumn;
}

/// What the generated container needs from an Arrow-shaped column of `T` values.
///
/// The inherent methods of [`StringColumn`] and [`OptionStringColumn`] are the user-facing API;
/// this trait is how the generated code reaches them.
pub trait Column<T>:
    Default + Clone + fmt::Debug + PartialEq + FromIterator<T> + Extend<T> + IntoIterator<Item = T>
{
    /// A borrowed value (`&str` for strings).
    type Ref<'a>: Copy + fmt::Debug
    where
        Self: 'a;
    /// An empty column with room for `rows` values.
    fn with_capacity(rows: usize) -> Self;
    /// Number of values.
    fn len(&self) -> usize;
    /// `true` when empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Appends a value.
    fn push(&mut self, value: T);
    /// Appends a copy of a borrowed value (strings: their bytes, no `String` clone).
    fn push_ref(&mut self, value: &T);
    /// The value at `index`, borrowed.
    fn get(&self, index: usize) -> Option<Self::Ref<'_>>;
    /// An owned copy of a borrowed value.
    fn to_owned_value(value: Self::Ref<'_>) -> T;
    /// An owned copy of the value at `index`.
    ///
    /// # Panics
    /// If `index >= len`.
    fn value(&self, index: usize) -> T;
    /// Keeps the first `len` values.
    fn truncate(&mut self, len: usize);
    /// Removes every value, keeping the allocations.
    fn clear(&mut self);
    /// Room for `additional` more values.
    fn reserve(&mut self, additional: usize);
    /// Frees unused capacity.
    fn shrink_to_fit(&mut self);
    /// Removes the value at `index`, the last value takes its place.
    ///
    /// # Panics
    /// If `index >= len`.
    fn swap_remove(&mut self, index: usize) -> T;
    /// Keeps the values whose `keep` entry is `true` (missing entries keep).
    fn retain_mask(&mut self, keep: &[bool]);
    /// Reorders so that value `i` becomes the old value `perm[i]`.
    fn permute(&mut self, perm: &[usize]);
    /// The values at `indices`, in order.
    ///
    /// # Panics
    /// If an index is out of bounds.
    #[must_use]
    fn take(&self, indices: &[usize]) -> Self;
    /// A copy of the values in `range`.
    ///
    /// # Panics
    /// If the range is out of bounds.
    #[must_use]
    fn slice(&self, range: Range<usize>) -> Self;
    /// Moves every value of `other` to the end of `self`.
    fn append(&mut self, other: &mut Self);
    /// Builds an Arrow array, copying the buffers.
    ///
    /// # Errors
    /// When the column does not fit the Arrow type (more than 2 GiB of bytes for Utf8).
    fn to_array(&self) -> Result<ArrayRef, FieldError>;
    /// Builds an Arrow array by moving the buffers (no copy).
    ///
    /// # Errors
    /// As [`Column::to_array`].
    fn into_array(self) -> Result<ArrayRef, FieldError>;
    /// Reads a column back (same types and errors as the field's `ArrowField::from_array`).
    ///
    /// # Errors
    /// Type mismatch, unexpected null.
    fn from_array(array: &dyn Array) -> Result<Self, FieldError>;
    /// Reads an owned column back, taking its buffers over when possible.
    ///
    /// # Errors
    /// As [`Column::from_array`].
    fn from_array_owned(array: ArrayRef) -> Result<Self, FieldError> {
        Self::from_array(array.as_ref())
    }
    /// The column when a batch lacks it: all nulls for `Option`, `None` (an error) otherwise.
    fn absent(len: usize) -> Option<Self>;
}
