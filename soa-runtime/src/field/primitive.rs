//! Integers, floats and `bool`. Integer and float columns move into Arrow without a copy (the `Vec`
//! becomes the buffer) and come back without one when the buffer is uniquely owned; reading widens
//! losslessly from narrower Arrow types (schema evolution).

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowPrimitiveType, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, BooleanArray, PrimitiveArray};
use arrow_buffer::{BooleanBuffer, ScalarBuffer};
use arrow_schema::DataType;

use super::{ArrowField, Values, expect_type, list, reject_nulls, validity};
use crate::error::FieldError;

pub(super) fn primitive_to_vec<P: ArrowPrimitiveType>(array: PrimitiveArray<P>) -> Vec<P::Native> {
    let (_, values, _) = array.into_parts();
    let len = values.len();
    match values.into_inner().into_vec::<P::Native>() {
        Ok(vec) if vec.len() == len => vec,
        Ok(vec) => vec[..len.min(vec.len())].to_vec(),
        Err(buffer) => ScalarBuffer::<P::Native>::new(buffer, 0, len).to_vec(),
    }
}

macro_rules! primitive_field {
    ($($rust:ty => $arrow:ty, $dt:expr, [$($src:ty),*] $(, { $($extra:tt)* })?;)*) => {$(
        impl ArrowField for $rust {
            fn data_type() -> DataType {
                $dt
            }

            fn to_array(values: &[Self]) -> Result<ArrayRef, FieldError> {
                Self::into_array(values.to_vec())
            }

            fn into_array(values: Vec<Self>) -> Result<ArrayRef, FieldError> {
                // `ScalarBuffer::from(Vec)` takes the allocation over: no copy.
                Ok(Arc::new(PrimitiveArray::<$arrow>::new(ScalarBuffer::from(values), None)))
            }

            fn from_array(array: &dyn Array) -> Result<Vec<Self>, FieldError> {
                if array.data_type() != &$dt {
                    return list::required(Self::from_array_opt(array)?, $dt);
                }
                reject_nulls(array, $dt)?;
                Ok(array.as_primitive::<$arrow>().values().to_vec())
            }

            fn values(array: &dyn Array) -> Result<impl Iterator<Item = Self>, FieldError> {
                if array.data_type() != &$dt {
                    return Ok(Values::Converted(Self::from_array(array)?.into_iter()));
                }
                reject_nulls(array, $dt)?;
                Ok(Values::Direct(array.as_primitive::<$arrow>().values().iter().copied()))
            }

            fn values_opt(
                array: &dyn Array,
            ) -> Result<impl Iterator<Item = Option<Self>>, FieldError> {
                if array.data_type() != &$dt {
                    return Ok(Values::Converted(Self::from_array_opt(array)?.into_iter()));
                }
                Ok(Values::Direct(array.as_primitive::<$arrow>().iter()))
            }

            fn from_array_owned(array: ArrayRef) -> Result<Vec<Self>, FieldError> {
                if array.data_type() != &$dt {
                    return Self::from_array(array.as_ref());
                }
                reject_nulls(array.as_ref(), $dt)?;
                let typed = array.as_primitive::<$arrow>().clone();
                // Drop our handle first so the buffer can be uniquely owned by `typed`.
                drop(array);
                Ok(primitive_to_vec(typed))
            }

            fn to_array_opt(values: &[Option<Self>]) -> Result<ArrayRef, FieldError> {
                let nulls = validity(values);
                let data: Vec<Self> = values.iter().map(|v| v.unwrap_or_default()).collect();
                Ok(Arc::new(PrimitiveArray::<$arrow>::new(ScalarBuffer::from(data), nulls)))
            }

            fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, FieldError> {
                if array.data_type() == &$dt {
                    return Ok(array.as_primitive::<$arrow>().iter().collect());
                }
                // Schema evolution: a column written with a narrower type widens losslessly.
                $(
                    if array.data_type() == &<$src as ArrowPrimitiveType>::DATA_TYPE {
                        return Ok(array
                            .as_primitive::<$src>()
                            .iter()
                            .map(|v| v.map(<$rust>::from))
                            .collect());
                    }
                )*
                expect_type(array, $dt)?;
                Ok(Vec::new())
            }

            $($($extra)*)?
        }
    )*};
}

primitive_field! {
    i8 => Int8Type, DataType::Int8, [];
    i16 => Int16Type, DataType::Int16, [Int8Type, UInt8Type];
    i32 => Int32Type, DataType::Int32, [Int8Type, Int16Type, UInt8Type, UInt16Type];
    i64 => Int64Type, DataType::Int64, [Int8Type, Int16Type, Int32Type, UInt8Type, UInt16Type, UInt32Type];
    u8 => UInt8Type, DataType::UInt8, [], {
        // Bytes are Binary / FixedSizeBinary, not lists of UInt8.
        fn vec_data_type() -> DataType {
            DataType::Binary
        }
        fn vec_to_array(rows: &[Option<&[u8]>]) -> Result<ArrayRef, FieldError> {
            list::binary_to_array(rows)
        }
        fn vec_from_array(array: &dyn Array) -> Result<Vec<Option<Vec<u8>>>, FieldError> {
            list::binary_from_array(array)
        }
        fn fixed_data_type(n: usize) -> DataType {
            DataType::FixedSizeBinary(i32::try_from(n).unwrap_or(i32::MAX))
        }
        fn fixed_to_array(rows: &[Option<&[u8]>], n: usize) -> Result<ArrayRef, FieldError> {
            list::fixed_binary_to_array(rows, n)
        }
        fn fixed_from_array(array: &dyn Array, n: usize) -> Result<Vec<Option<Vec<u8>>>, FieldError> {
            list::fixed_binary_from_array(array, n)
        }
    };
    u16 => UInt16Type, DataType::UInt16, [UInt8Type];
    u32 => UInt32Type, DataType::UInt32, [UInt8Type, UInt16Type];
    u64 => UInt64Type, DataType::UInt64, [UInt8Type, UInt16Type, UInt32Type];
    f32 => Float32Type, DataType::Float32, [];
    f64 => Float64Type, DataType::Float64, [Float32Type];
}

impl ArrowField for bool {
    fn data_type() -> DataType {
        DataType::Boolean
    }

    fn to_array(values: &[Self]) -> Result<ArrayRef, FieldError> {
        let bits = BooleanBuffer::collect_bool(values.len(), |i| values[i]);
        Ok(Arc::new(BooleanArray::new(bits, None)))
    }

    fn from_array(array: &dyn Array) -> Result<Vec<Self>, FieldError> {
        expect_type(array, DataType::Boolean)?;
        reject_nulls(array, DataType::Boolean)?;
        Ok(array.as_boolean().values().iter().collect())
    }

    fn values(array: &dyn Array) -> Result<impl Iterator<Item = Self>, FieldError> {
        expect_type(array, DataType::Boolean)?;
        reject_nulls(array, DataType::Boolean)?;
        Ok(array.as_boolean().values().iter())
    }

    fn values_opt(array: &dyn Array) -> Result<impl Iterator<Item = Option<Self>>, FieldError> {
        expect_type(array, DataType::Boolean)?;
        Ok(array.as_boolean().iter())
    }

    fn to_array_opt(values: &[Option<Self>]) -> Result<ArrayRef, FieldError> {
        let bits = BooleanBuffer::collect_bool(values.len(), |i| values[i].unwrap_or(false));
        Ok(Arc::new(BooleanArray::new(bits, validity(values))))
    }

    fn from_array_opt(array: &dyn Array) -> Result<Vec<Option<Self>>, FieldError> {
        expect_type(array, DataType::Boolean)?;
        Ok(array.as_boolean().iter().collect())
    }
}
