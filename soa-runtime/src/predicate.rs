//! Typed predicates: row filters written in Rust against column handles the derive generates,
//! checked by the compiler, evaluated by Arrow's kernels.
//!
//! `#[derive(Soa, ToArrow)]` on a struct `Order` generates `Order::col()`, a struct of handles
//! with one field per column (`OrderCols`). A handle compares with values of the field's own type
//! (a comparison with another type does not compile) and combines with `&`, `|` and `!`:
//!
//! ```
//! use soa_runtime::prelude::*;
//!
//! #[derive(Soa, ToArrow, Debug, Clone, Copy, PartialEq)]
//! enum Side { Buy, Sell }
//!
//! #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
//! struct Order { id: u64, symbol: String, side: Side, qty: u32, note: Option<String> }
//!
//! let c = Order::col();
//! let big_apple_buys = c.symbol.eq("AAPL") & c.side.eq(Side::Buy) & c.qty.between(100, 500);
//! let flagged = c.note.is_not_null() | !c.symbol.starts_with("A") | c.id.is_in([1, 2, 3]);
//! # let _ = (big_apple_buys, flagged);
//! ```
//!
//! Stores take predicates through [`StoreExt::load_where`](crate::StoreExt::load_where) and
//! [`StoreExt::scan_where`](crate::StoreExt::scan_where); the result is exactly the rows for which
//! the predicate holds (SQL semantics: a comparison with a null value does not hold, so
//! `!c.note.eq("x")` keeps neither `"x"` nor null notes). Handles of nested struct fields are
//! reached through the parent's handle (`c.address.city.eq("Paris")`); a null parent makes the
//! comparison not hold.

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{BitAnd, BitOr, Deref, Not};
use std::sync::{Arc, OnceLock};

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch, Scalar, StringArray};
use arrow_schema::DataType;

use crate::error::{Error, Result};
use crate::field::ArrowField;

/// A column in a batch: the top-level column name, then nested struct field names.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ColumnPath {
    segments: Vec<String>,
    /// A flattened struct's columns are `<prefix>_<name>` at the parent's level.
    prefix: Option<String>,
}

impl fmt::Debug for ColumnPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.segments.join("."))
    }
}

impl fmt::Display for ColumnPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.segments.join("."))
    }
}

impl ColumnPath {
    /// The root: no column yet.
    pub fn root() -> Self {
        ColumnPath {
            segments: Vec::new(),
            prefix: None,
        }
    }

    /// The column or field `name` below this path.
    pub fn child(&self, name: &str) -> Self {
        let mut segments = self.segments.clone();
        match &self.prefix {
            Some(prefix) => {
                segments.push(format!("{prefix}_{name}"));
            }
            None => segments.push(name.to_owned()),
        }
        ColumnPath {
            segments,
            prefix: None,
        }
    }

    /// The columns of a flattened struct field: `<prefix>_<name>` at this level.
    pub fn flattened(&self, prefix: &str) -> Self {
        let prefix = match &self.prefix {
            Some(outer) => format!("{outer}_{prefix}"),
            None => prefix.to_owned(),
        };
        ColumnPath {
            segments: self.segments.clone(),
            prefix: Some(prefix),
        }
    }

    /// The top-level column, then nested field names.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The top-level column.
    pub fn top(&self) -> &str {
        self.segments.first().map_or("", String::as_str)
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// An untyped predicate over the columns of a batch (what stores see).
#[derive(Clone)]
#[non_exhaustive]
pub enum Expr {
    /// `column op value` (`value`: one Arrow value of the field's own type).
    Compare {
        /// The column.
        column: ColumnPath,
        /// The operator.
        op: CmpOp,
        /// A one-element array.
        value: ArrayRef,
    },
    /// `column IN (values)`.
    InList {
        /// The column.
        column: ColumnPath,
        /// The values.
        values: ArrayRef,
    },
    /// `column IS NULL` (`negated`: `IS NOT NULL`).
    IsNull {
        /// The column.
        column: ColumnPath,
        /// `IS NOT NULL`.
        negated: bool,
    },
    /// `column LIKE 'prefix%'`.
    StartsWith {
        /// The column.
        column: ColumnPath,
        /// The prefix.
        prefix: String,
    },
    /// Both.
    And(Box<Expr>, Box<Expr>),
    /// Either.
    Or(Box<Expr>, Box<Expr>),
    /// Not (a comparison with a null value stays false under `Not`).
    Not(Box<Expr>),
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = |a: &ArrayRef| -> String {
            arrow_cast::display::array_value_to_string(a, 0).unwrap_or_else(|_| "?".into())
        };
        match self {
            Expr::Compare {
                column,
                op,
                value: v,
            } => {
                write!(f, "{column} {} {}", op.symbol(), value(v))
            }
            Expr::InList { column, values } => {
                let list: Vec<String> = (0..values.len())
                    .map(|i| {
                        arrow_cast::display::array_value_to_string(values, i)
                            .unwrap_or_else(|_| "?".into())
                    })
                    .collect();
                write!(f, "{column} IN ({})", list.join(", "))
            }
            Expr::IsNull { column, negated } => {
                write!(f, "{column} IS {}NULL", if *negated { "NOT " } else { "" })
            }
            Expr::StartsWith { column, prefix } => write!(f, "{column} STARTS WITH {prefix:?}"),
            Expr::And(a, b) => write!(f, "({a:?} AND {b:?})"),
            Expr::Or(a, b) => write!(f, "({a:?} OR {b:?})"),
            Expr::Not(a) => write!(f, "NOT {a:?}"),
        }
    }
}

impl Expr {
    /// The top-level columns the expression reads.
    pub fn columns(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_columns(&mut out);
        out
    }

    fn collect_columns(&self, out: &mut Vec<String>) {
        let mut push = |c: &ColumnPath| {
            if !out.iter().any(|o| o == c.top()) {
                out.push(c.top().to_owned());
            }
        };
        match self {
            Expr::Compare { column, .. }
            | Expr::InList { column, .. }
            | Expr::IsNull { column, .. }
            | Expr::StartsWith { column, .. } => push(column),
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.collect_columns(out);
                b.collect_columns(out);
            }
            Expr::Not(a) => a.collect_columns(out),
        }
    }

    /// Which rows of `batch` the expression keeps (never null: a comparison with a null value
    /// is false). The batch must have the expression's columns with the row type's types.
    ///
    /// # Errors
    /// [`Error::UnknownColumn`]-like [`Error::SchemaMismatch`] for a column the batch lacks,
    /// Arrow errors for types the kernels cannot compare.
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<BooleanArray> {
        let mask = self.eval(batch)?;
        // Nulls (from null values) become false.
        Ok(match mask.nulls() {
            None => mask,
            Some(_) => arrow_arith::boolean::and(
                &mask,
                &BooleanArray::from(arrow_buffer::BooleanBuffer::from_iter(
                    (0..mask.len()).map(|i| mask.is_valid(i)),
                )),
            )
            .map_err(|e| Error::arrow("evaluating a predicate", e))?,
        })
    }

    /// Kleene logic: the result may hold nulls (unknown).
    fn eval(&self, batch: &RecordBatch) -> Result<BooleanArray> {
        let arrow = |e| Error::arrow(format!("evaluating {self:?}"), e);
        match self {
            Expr::Compare { column, op, value } => {
                let (array, parents) = resolve(batch, column)?;
                let value = scalar_for(value, array.data_type()).map_err(arrow)?;
                let scalar = Scalar::new(value);
                use arrow_ord::cmp;
                let result = match op {
                    CmpOp::Eq => cmp::eq(&array, &scalar),
                    CmpOp::Ne => cmp::neq(&array, &scalar),
                    CmpOp::Lt => cmp::lt(&array, &scalar),
                    CmpOp::Le => cmp::lt_eq(&array, &scalar),
                    CmpOp::Gt => cmp::gt(&array, &scalar),
                    CmpOp::Ge => cmp::gt_eq(&array, &scalar),
                }
                .map_err(arrow)?;
                Ok(with_parents(result, &parents))
            }
            Expr::InList { column, values } => {
                let (array, parents) = resolve(batch, column)?;
                let values = scalar_for(values, array.data_type()).map_err(arrow)?;
                let mut any: Option<BooleanArray> = None;
                for i in 0..values.len() {
                    let one = Scalar::new(values.slice(i, 1));
                    let hit = arrow_ord::cmp::eq(&array, &one).map_err(arrow)?;
                    any = Some(match any {
                        None => hit,
                        Some(prev) => {
                            arrow_arith::boolean::or_kleene(&prev, &hit).map_err(arrow)?
                        }
                    });
                }
                let result = any.unwrap_or_else(|| BooleanArray::from(vec![false; array.len()]));
                Ok(with_parents(result, &parents))
            }
            Expr::IsNull { column, negated } => {
                let (array, parents) = resolve(batch, column)?;
                // A null parent makes the field null.
                let null = (0..array.len())
                    .map(|i| array.is_null(i) || parents.iter().any(|p| p.is_null(i)));
                Ok(BooleanArray::from_iter(null.map(|n| Some(n != *negated))))
            }
            Expr::StartsWith { column, prefix } => {
                let (array, parents) = resolve(batch, column)?;
                let array = match array.data_type() {
                    DataType::Dictionary(_, value) => {
                        arrow_cast::cast(&array, value).map_err(arrow)?
                    }
                    _ => array,
                };
                let pattern =
                    Scalar::new(Arc::new(StringArray::from(vec![prefix.as_str()])) as ArrayRef);
                let pattern = Scalar::new(
                    arrow_cast::cast(pattern.into_inner().as_ref(), array.data_type())
                        .map_err(arrow)?,
                );
                let result = arrow_string::like::starts_with(&array, &pattern).map_err(arrow)?;
                Ok(with_parents(result, &parents))
            }
            Expr::And(a, b) => {
                arrow_arith::boolean::and_kleene(&a.eval(batch)?, &b.eval(batch)?).map_err(arrow)
            }
            Expr::Or(a, b) => {
                arrow_arith::boolean::or_kleene(&a.eval(batch)?, &b.eval(batch)?).map_err(arrow)
            }
            Expr::Not(a) => arrow_arith::boolean::not(&a.eval(batch)?).map_err(arrow),
        }
    }
}

/// The scalar `value` as the type of the column it is compared with: the dictionary's value type
/// for a dictionary column, else the column's type (a timestamp unit, a decimal scale, a large
/// string), exactly.
fn scalar_for(
    value: &ArrayRef,
    column: &DataType,
) -> std::result::Result<ArrayRef, arrow_schema::ArrowError> {
    let target = match column {
        DataType::Dictionary(_, v) => v.as_ref(),
        other => other,
    };
    let value = match value.data_type() {
        DataType::Dictionary(_, v) => arrow_cast::cast(value, v)?,
        _ => Arc::clone(value),
    };
    if value.data_type() == target {
        return Ok(value);
    }
    let options = arrow_cast::CastOptions {
        safe: false,
        ..Default::default()
    };
    arrow_cast::cast_with_options(&value, target, &options)
}

/// The array at `path` and the struct arrays above it (whose nulls hide it).
fn resolve(batch: &RecordBatch, path: &ColumnPath) -> Result<(ArrayRef, Vec<ArrayRef>)> {
    let missing = || Error::SchemaMismatch {
        path: None,
        reason: format!("a predicate reads column {path}, which the batch does not have"),
    };
    let mut segments = path.segments().iter();
    let top = segments.next().ok_or_else(missing)?;
    let mut array = Arc::clone(batch.column_by_name(top).ok_or_else(missing)?);
    let mut parents = Vec::new();
    for name in segments {
        let child = array
            .as_struct_opt()
            .and_then(|s| s.column_by_name(name))
            .cloned()
            .ok_or_else(missing)?;
        parents.push(array);
        array = child;
    }
    Ok((array, parents))
}

/// `result` with a null where a parent struct is null (unknown: the field does not exist).
fn with_parents(result: BooleanArray, parents: &[ArrayRef]) -> BooleanArray {
    if parents.iter().all(|p| p.null_count() == 0) {
        return result;
    }
    BooleanArray::from_iter((0..result.len()).map(|i| {
        if parents.iter().any(|p| p.is_null(i)) || result.is_null(i) {
            None
        } else {
            Some(result.value(i))
        }
    }))
}

/// A predicate over rows of `R` (see the [module docs](self)).
pub struct Predicate<R> {
    expr: Expr,
    _row: PhantomData<fn() -> R>,
}

impl<R> Clone for Predicate<R> {
    fn clone(&self) -> Self {
        Predicate {
            expr: self.expr.clone(),
            _row: PhantomData,
        }
    }
}

impl<R> fmt::Debug for Predicate<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.expr.fmt(f)
    }
}

impl<R> Predicate<R> {
    fn new(expr: Expr) -> Self {
        Predicate {
            expr,
            _row: PhantomData,
        }
    }

    /// The untyped expression.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Both hold (also `a & b`).
    #[must_use]
    pub fn and(self, other: Predicate<R>) -> Predicate<R> {
        Predicate::new(Expr::And(Box::new(self.expr), Box::new(other.expr)))
    }

    /// Either holds (also `a | b`).
    #[must_use]
    pub fn or(self, other: Predicate<R>) -> Predicate<R> {
        Predicate::new(Expr::Or(Box::new(self.expr), Box::new(other.expr)))
    }

    /// Which rows of a batch of `R` the predicate keeps.
    ///
    /// # Errors
    /// As [`Expr::evaluate`].
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<BooleanArray> {
        self.expr.evaluate(batch)
    }
}

impl<R> BitAnd for Predicate<R> {
    type Output = Predicate<R>;
    fn bitand(self, rhs: Predicate<R>) -> Predicate<R> {
        self.and(rhs)
    }
}

impl<R> BitOr for Predicate<R> {
    type Output = Predicate<R>;
    fn bitor(self, rhs: Predicate<R>) -> Predicate<R> {
        self.or(rhs)
    }
}

impl<R> Not for Predicate<R> {
    type Output = Predicate<R>;
    fn not(self) -> Predicate<R> {
        Predicate::new(Expr::Not(Box::new(self.expr)))
    }
}

/// A field type that predicates can compare: its values become Arrow scalars of the column's
/// type. Implemented for numbers, `bool`, `char`, strings, the optional field types (dates and
/// times, `Uuid`, `Decimal`), `Option` of any of these, and by `#[derive(ToArrow)]` for unit
/// enums. A user type implements it with no code if it implements `ArrowField` and
/// `Value = Self` suits it.
pub trait Comparable {
    /// The value a comparison takes (the field type itself; `T` for `Option<T>`).
    type Value: ArrowField;
}

/// The value given to a comparison: the field's value type, or something that converts into it
/// exactly (`&str` for `String`).
#[diagnostic::on_unimplemented(
    message = "a predicate on a `{T}` column compares with `{T}` values, not `{Self}`",
    label = "expected a `{T}` value"
)]
pub trait IntoValue<T> {
    /// The value.
    fn into_value(self) -> T;
}

impl<T> IntoValue<T> for T {
    fn into_value(self) -> T {
        self
    }
}

impl IntoValue<String> for &str {
    fn into_value(self) -> String {
        self.to_owned()
    }
}

impl IntoValue<String> for &String {
    fn into_value(self) -> String {
        self.clone()
    }
}

macro_rules! comparable {
    ($($ty:ty),* $(,)?) => { $( impl Comparable for $ty { type Value = $ty; } )* };
}
comparable!(
    i8, i16, i32, i64, u8, u16, u32, u64, f32, f64, bool, char, String, i128, u128
);

impl<T: Comparable> Comparable for Option<T> {
    type Value = T::Value;
}

#[cfg(feature = "chrono")]
comparable!(
    chrono::DateTime<chrono::Utc>,
    chrono::NaiveDateTime,
    chrono::NaiveDate,
    chrono::NaiveTime,
    chrono::TimeDelta
);
#[cfg(feature = "uuid")]
comparable!(uuid::Uuid);
#[cfg(feature = "rust_decimal")]
comparable!(rust_decimal::Decimal);

/// Field types whose handle has `is_null` / `is_not_null`.
pub trait Nullable {}
impl<T> Nullable for Option<T> {}

/// Field types whose handle has `starts_with`.
pub trait Textual {}
impl Textual for String {}
impl Textual for Option<String> {}

/// A struct type whose fields have handles (implemented by `#[derive(ToArrow)]`): the handle of a
/// field of this type derefs to the struct's handles, so `c.address.city` reaches a nested field.
pub trait HasColumns {
    /// The struct of handles, for rows of `R`.
    type Columns<R: 'static>: Send + Sync + fmt::Debug + 'static;
    /// The handles of a value at `path`.
    fn columns_at<R: 'static>(path: ColumnPath) -> Self::Columns<R>;
}

impl<T: HasColumns> HasColumns for Option<T> {
    type Columns<R: 'static> = T::Columns<R>;
    fn columns_at<R: 'static>(path: ColumnPath) -> Self::Columns<R> {
        T::columns_at(path)
    }
}

/// The handle of one column (or nested field) of rows `R`, with values of type `V`.
pub struct Col<R, V> {
    path: ColumnPath,
    nested: OnceLock<Box<dyn Any + Send + Sync>>,
    _types: PhantomData<fn() -> (R, V)>,
}

impl<R, V> fmt::Debug for Col<R, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Col({})", self.path)
    }
}

impl<R, V> Clone for Col<R, V> {
    fn clone(&self) -> Self {
        Col::at(self.path.clone())
    }
}

impl<R, V> Col<R, V> {
    /// The handle of the column at `path` (generated code calls this).
    pub fn at(path: ColumnPath) -> Self {
        Col {
            path,
            nested: OnceLock::new(),
            _types: PhantomData,
        }
    }

    /// The column's path.
    pub fn path(&self) -> &ColumnPath {
        &self.path
    }
}

impl<R, V> Col<R, V>
where
    V: Comparable,
{
    fn value(&self, value: V::Value) -> ArrayRef {
        scalar_array::<V::Value>(&[value])
    }

    fn compare(&self, op: CmpOp, value: V::Value) -> Predicate<R> {
        Predicate::new(Expr::Compare {
            column: self.path.clone(),
            op,
            value: self.value(value),
        })
    }

    /// `= value`.
    pub fn eq(&self, value: impl IntoValue<V::Value>) -> Predicate<R> {
        self.compare(CmpOp::Eq, value.into_value())
    }

    /// `<> value` (a null does not hold).
    pub fn ne(&self, value: impl IntoValue<V::Value>) -> Predicate<R> {
        self.compare(CmpOp::Ne, value.into_value())
    }

    /// `< value`.
    pub fn lt(&self, value: impl IntoValue<V::Value>) -> Predicate<R> {
        self.compare(CmpOp::Lt, value.into_value())
    }

    /// `<= value`.
    pub fn le(&self, value: impl IntoValue<V::Value>) -> Predicate<R> {
        self.compare(CmpOp::Le, value.into_value())
    }

    /// `> value`.
    pub fn gt(&self, value: impl IntoValue<V::Value>) -> Predicate<R> {
        self.compare(CmpOp::Gt, value.into_value())
    }

    /// `>= value`.
    pub fn ge(&self, value: impl IntoValue<V::Value>) -> Predicate<R> {
        self.compare(CmpOp::Ge, value.into_value())
    }

    /// `>= low` and `<= high`.
    pub fn between(
        &self,
        low: impl IntoValue<V::Value>,
        high: impl IntoValue<V::Value>,
    ) -> Predicate<R> {
        self.ge(low).and(self.le(high))
    }

    /// Equal to one of `values` (none: holds for no row).
    pub fn is_in<I>(&self, values: I) -> Predicate<R>
    where
        I: IntoIterator,
        I::Item: IntoValue<V::Value>,
    {
        let values: Vec<V::Value> = values.into_iter().map(IntoValue::into_value).collect();
        Predicate::new(Expr::InList {
            column: self.path.clone(),
            values: scalar_array::<V::Value>(&values),
        })
    }
}

impl<R, V: Nullable> Col<R, V> {
    /// The value is null (also when a parent struct is null).
    pub fn is_null(&self) -> Predicate<R> {
        Predicate::new(Expr::IsNull {
            column: self.path.clone(),
            negated: false,
        })
    }

    /// The value is not null.
    pub fn is_not_null(&self) -> Predicate<R> {
        Predicate::new(Expr::IsNull {
            column: self.path.clone(),
            negated: true,
        })
    }
}

impl<R, V: Textual> Col<R, V> {
    /// The string starts with `prefix`.
    pub fn starts_with(&self, prefix: impl Into<String>) -> Predicate<R> {
        Predicate::new(Expr::StartsWith {
            column: self.path.clone(),
            prefix: prefix.into(),
        })
    }
}

impl<R: 'static, V: HasColumns> Deref for Col<R, V> {
    type Target = V::Columns<R>;
    fn deref(&self) -> &V::Columns<R> {
        let any = self
            .nested
            .get_or_init(|| Box::new(V::columns_at::<R>(self.path.clone())));
        match any.downcast_ref::<V::Columns<R>>() {
            Some(columns) => columns,
            // Only `columns_at` above fills the cell, with this very type.
            None => unreachable!("a column handle holds its own nested handles"),
        }
    }
}

/// One value per element of `values`, as an Arrow array of the type's mapping. A value the
/// mapping refuses (out of its own type's range) becomes a null: nothing compares equal to it.
fn scalar_array<T: ArrowField>(values: &[T]) -> ArrayRef {
    T::to_array(values)
        .unwrap_or_else(|_| Arc::new(arrow_array::NullArray::new(values.len())) as ArrayRef)
}
