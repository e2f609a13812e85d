//! Arrow conversion of the string columns: their [`Column`] impls (row operations delegate to the
//! inherent methods; `to_array` / `into_array` move or copy the buffers into a Utf8 array,
//! `from_array` / `from_array_owned` take a uniquely owned Utf8 array over or copy it) and the Utf8
//! buffer helpers they share.

use std::ops::Range;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, StringArray};
use arrow_buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::DataType;

use super::offsets::Offsets;
use super::validity::Validity;
use super::{Column, OptionStringColumn, StringColumn};
use crate::error::FieldError;
use crate::field::{ArrowField, reject_nulls};

fn too_large(bytes: usize) -> FieldError {
    FieldError::OutOfRange(format!(
        "{bytes} bytes of strings exceed the 2 GiB limit of Arrow Utf8 offsets; split the container into smaller ones"
    ))
}

/// Offsets of a Utf8 array rebased to start at 0, and the bytes they cover.
fn copy_utf8(array: &StringArray) -> (Vec<i32>, Vec<u8>) {
    let offsets = array.value_offsets();
    let first = offsets.first().copied().unwrap_or(0);
    let last = offsets.last().copied().unwrap_or(0);
    let bytes = array.value_data()[first as usize..last as usize].to_vec();
    let offsets = if first == 0 {
        offsets.to_vec()
    } else {
        offsets.iter().map(|o| o - first).collect()
    };
    (offsets, bytes)
}

/// Offsets, bytes and validity taken over from a Utf8 array.
type Utf8Parts = (Vec<i32>, Vec<u8>, Option<NullBuffer>);

/// Takes the buffers of a uniquely owned, unsliced Utf8 array over; `Err` gives it back.
fn reclaim_utf8(array: StringArray) -> Result<Utf8Parts, StringArray> {
    let len = array.len();
    let (offsets, values, nulls) = array.into_parts();
    if offsets.first() != 0 {
        // SAFETY: the parts come from a valid array, unchanged.
        #[allow(unsafe_code)]
        return Err(unsafe { StringArray::new_unchecked(offsets, values, nulls) });
    }
    let end = offsets.last() as usize;
    let offsets_buffer = offsets.into_inner().into_inner();
    match offsets_buffer.into_vec::<i32>() {
        Ok(o) if o.len() == len + 1 => match values.into_vec::<u8>() {
            Ok(mut bytes) if bytes.len() >= end => {
                bytes.truncate(end);
                Ok((o, bytes, nulls))
            }
            Ok(bytes) => Err(rebuild(o, Buffer::from_vec(bytes), nulls)),
            Err(values) => Err(rebuild(o, values, nulls)),
        },
        Ok(o) => Err(rebuild(o, values, nulls)),
        Err(buffer) => {
            let offsets = ScalarBuffer::<i32>::new(buffer, 0, len + 1);
            // SAFETY: the parts come from a valid array, unchanged.
            #[allow(unsafe_code)]
            Err(unsafe {
                StringArray::new_unchecked(OffsetBuffer::new_unchecked(offsets), values, nulls)
            })
        }
    }
}

fn rebuild(offsets: Vec<i32>, values: Buffer, nulls: Option<NullBuffer>) -> StringArray {
    // SAFETY: the parts come from a valid array; only the container types changed.
    #[allow(unsafe_code)]
    unsafe {
        StringArray::new_unchecked(
            OffsetBuffer::new_unchecked(ScalarBuffer::from(offsets)),
            values,
            nulls,
        )
    }
}

impl StringColumn {
    fn into_parts_checked(self) -> Result<(Vec<i32>, Vec<u8>), FieldError> {
        match self.offsets {
            Offsets::Small(offsets) => Ok((offsets, self.bytes)),
            Offsets::Large(_) => Err(too_large(self.bytes.len())),
        }
    }

    fn from_parts(offsets: Vec<i32>, bytes: Vec<u8>) -> Self {
        Self {
            offsets: Offsets::Small(offsets),
            bytes,
        }
    }

    fn utf8(offsets: Vec<i32>, bytes: Vec<u8>, nulls: Option<NullBuffer>) -> ArrayRef {
        // SAFETY: offsets start at 0, never decrease and end at `bytes.len()` (which fits i32:
        // the column is `Small`); `bytes` is valid UTF-8 at every offset (see
        // `StringColumn::str_at`); the validity, if any, has one bit per value (callers build it
        // with the same length).
        #[allow(unsafe_code)]
        let array = unsafe {
            StringArray::new_unchecked(
                OffsetBuffer::new_unchecked(ScalarBuffer::from(offsets)),
                Buffer::from_vec(bytes),
                nulls,
            )
        };
        Arc::new(array)
    }
}

impl Column<String> for StringColumn {
    type Ref<'a> = &'a str;

    fn with_capacity(rows: usize) -> Self {
        StringColumn::with_capacity(rows)
    }
    fn len(&self) -> usize {
        StringColumn::len(self)
    }
    fn push(&mut self, value: String) {
        self.push_str(&value);
    }
    fn push_ref(&mut self, value: &String) {
        self.push_str(value);
    }
    fn get(&self, index: usize) -> Option<&str> {
        StringColumn::get(self, index)
    }
    fn to_owned_value(value: &str) -> String {
        value.to_owned()
    }
    fn value(&self, index: usize) -> String {
        self[index].to_owned()
    }
    fn truncate(&mut self, len: usize) {
        StringColumn::truncate(self, len);
    }
    fn clear(&mut self) {
        StringColumn::clear(self);
    }
    fn reserve(&mut self, additional: usize) {
        StringColumn::reserve(self, additional);
    }
    fn shrink_to_fit(&mut self) {
        StringColumn::shrink_to_fit(self);
    }
    fn swap_remove(&mut self, index: usize) -> String {
        StringColumn::swap_remove(self, index)
    }
    fn retain_mask(&mut self, keep: &[bool]) {
        StringColumn::retain_mask(self, keep);
    }
    fn permute(&mut self, perm: &[usize]) {
        *self = self.take(perm);
    }
    fn take(&self, indices: &[usize]) -> Self {
        StringColumn::take(self, indices)
    }
    fn slice(&self, range: Range<usize>) -> Self {
        StringColumn::slice(self, range)
    }
    fn append(&mut self, other: &mut Self) {
        StringColumn::append(self, other);
    }

    fn to_array(&self) -> Result<ArrayRef, FieldError> {
        let (offsets, bytes) = self.clone().into_parts_checked()?;
        Ok(Self::utf8(offsets, bytes, None))
    }

    fn into_array(self) -> Result<ArrayRef, FieldError> {
        let (offsets, bytes) = self.into_parts_checked()?;
        Ok(Self::utf8(offsets, bytes, None))
    }

    fn from_array(array: &dyn Array) -> Result<Self, FieldError> {
        if array.data_type() != &DataType::Utf8 {
            return Ok(String::from_array(array)?.into());
        }
        reject_nulls(array, DataType::Utf8)?;
        let (offsets, bytes) = copy_utf8(array.as_string::<i32>());
        Ok(Self::from_parts(offsets, bytes))
    }

    fn from_array_owned(array: ArrayRef) -> Result<Self, FieldError> {
        if array.data_type() != &DataType::Utf8 {
            return Self::from_array(array.as_ref());
        }
        reject_nulls(array.as_ref(), DataType::Utf8)?;
        let typed = array.as_string::<i32>().clone();
        // Drop our handle first so the buffers can be uniquely owned by `typed`.
        drop(array);
        match reclaim_utf8(typed) {
            Ok((offsets, bytes, _)) => Ok(Self::from_parts(offsets, bytes)),
            Err(typed) => {
                let (offsets, bytes) = copy_utf8(&typed);
                Ok(Self::from_parts(offsets, bytes))
            }
        }
    }

    fn absent(_: usize) -> Option<Self> {
        None
    }
}

impl Column<Option<String>> for OptionStringColumn {
    type Ref<'a> = Option<&'a str>;

    fn with_capacity(rows: usize) -> Self {
        OptionStringColumn::with_capacity(rows)
    }
    fn len(&self) -> usize {
        OptionStringColumn::len(self)
    }
    fn push(&mut self, value: Option<String>) {
        self.push_opt(value.as_deref());
    }
    fn push_ref(&mut self, value: &Option<String>) {
        self.push_opt(value.as_deref());
    }
    fn get(&self, index: usize) -> Option<Option<&str>> {
        OptionStringColumn::get(self, index)
    }
    fn to_owned_value(value: Option<&str>) -> Option<String> {
        value.map(str::to_owned)
    }
    fn value(&self, index: usize) -> Option<String> {
        let len = self.len();
        assert!(
            index < len,
            "index {index} out of bounds for a column of {len} values"
        );
        self.opt_at(index).map(str::to_owned)
    }
    fn truncate(&mut self, len: usize) {
        OptionStringColumn::truncate(self, len);
    }
    fn clear(&mut self) {
        OptionStringColumn::clear(self);
    }
    fn reserve(&mut self, additional: usize) {
        OptionStringColumn::reserve(self, additional);
    }
    fn shrink_to_fit(&mut self) {
        OptionStringColumn::shrink_to_fit(self);
    }
    fn swap_remove(&mut self, index: usize) -> Option<String> {
        OptionStringColumn::swap_remove(self, index)
    }
    fn retain_mask(&mut self, keep: &[bool]) {
        let kept = keep.iter().filter(|k| **k).count();
        let rebuilt = self.rebuild(
            self.iter()
                .enumerate()
                .filter(|(i, _)| keep.get(*i).copied().unwrap_or(true))
                .map(|(_, v)| v),
            kept,
        );
        *self = rebuilt;
    }
    fn permute(&mut self, perm: &[usize]) {
        *self = self.take(perm);
    }
    fn take(&self, indices: &[usize]) -> Self {
        OptionStringColumn::take(self, indices)
    }
    fn slice(&self, range: Range<usize>) -> Self {
        OptionStringColumn::slice(self, range)
    }
    fn append(&mut self, other: &mut Self) {
        OptionStringColumn::append(self, other);
    }

    fn to_array(&self) -> Result<ArrayRef, FieldError> {
        self.clone().into_array()
    }

    fn into_array(self) -> Result<ArrayRef, FieldError> {
        let (offsets, bytes) = self.values.into_parts_checked()?;
        Ok(StringColumn::utf8(
            offsets,
            bytes,
            self.validity.into_nulls(),
        ))
    }

    fn from_array(array: &dyn Array) -> Result<Self, FieldError> {
        if array.data_type() != &DataType::Utf8 {
            return Ok(Option::<String>::from_array(array)?.into());
        }
        let strings = array.as_string::<i32>();
        let (offsets, bytes) = copy_utf8(strings);
        Ok(Self {
            values: StringColumn::from_parts(offsets, bytes),
            validity: Validity::from_nulls(strings.nulls(), strings.len()),
        })
    }

    fn from_array_owned(array: ArrayRef) -> Result<Self, FieldError> {
        if array.data_type() != &DataType::Utf8 {
            return Self::from_array(array.as_ref());
        }
        let typed = array.as_string::<i32>().clone();
        drop(array);
        let len = typed.len();
        match reclaim_utf8(typed) {
            Ok((offsets, bytes, nulls)) => Ok(Self {
                values: StringColumn::from_parts(offsets, bytes),
                validity: Validity::from_nulls(nulls.as_ref(), len),
            }),
            Err(typed) => Self::from_array(&typed),
        }
    }

    fn absent(len: usize) -> Option<Self> {
        let mut c = Self::with_capacity(len);
        for _ in 0..len {
            c.push_opt(None);
        }
        Some(c)
    }
}
