//! Arrow-shaped columns: what `#[soa(arrow_layout)]` stores instead of a `Vec`.
//!
//! A `Vec<String>` column keeps one heap allocation per value. Arrow keeps all bytes of a string
//! column in one buffer plus an offsets buffer. Converting between the two costs one pass, one
//! allocation per value back, one `free` per value forth. Marking the field `#[soa(arrow_layout)]`
//! stores the column the Arrow way from the start:
//!
//! | field type       | column                  | `into_record_batch`            | scans             |
//! |------------------|-------------------------|--------------------------------|-------------------|
//! | `String`         | [`StringColumn`]        | **no copy** (offsets + bytes move) | contiguous bytes |
//! | `Option<String>` | [`OptionStringColumn`]  | **no copy** (+ validity bitmap move) | contiguous bytes |
//!
//! Reading back, `try_from_record_batch` takes over a uniquely owned, unsliced Utf8 array that
//! was built from a `Vec` (for example one made by `into_record_batch`) without copying; any
//! other Utf8 array is copied with two `memcpy`s (no allocation per value); other string types
//! (LargeUtf8, Utf8View, dictionaries) convert value by value.
//!
//! ```
//! use soa_runtime::{Soa, ToArrow};
//!
//! #[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
//! struct Trade {
//!     #[soa(arrow_layout)]
//!     symbol: String,
//!     #[soa(arrow_layout)]
//!     venue: Option<String>,
//!     price: f64,
//! }
//!
//! let mut trades = TradeSoA::new();
//! trades.push(Trade { symbol: "AAPL".into(), venue: None, price: 189.5 });
//! trades.push(Trade { symbol: "MSFT".into(), venue: Some("XNAS".into()), price: 410.0 });
//! assert_eq!(&trades.symbol[1], "MSFT");                    // a &str, no String behind it
//! assert_eq!(trades.venue.get(1), Some(Some("XNAS")));
//! assert_eq!(trades.symbol.iter().filter(|s| *s == "AAPL").count(), 1);
//!
//! let bytes = trades.symbol.as_bytes().as_ptr();
//! let batch = trades.into_record_batch()?;                  // the buffers move into Arrow
//! let symbols = batch.column(0).to_data();
//! assert_eq!(symbols.buffers()[1].as_ptr(), bytes);
//! # Ok::<(), soa_runtime::Error>(())
//! ```
//!
//! Operations that move values around (`swap_remove`, `retain`, `sort_by`) rebuild the byte
//! buffer: O(total bytes) instead of `Vec`'s O(rows) moves.
//!
//! # Where things are
//!
//! | file | holds |
//! |------|-------|
//! | `traits.rs` | [`ArrowLayout`] (which field types have an Arrow-shaped column) and [`Column`] (what the generated container calls) |
//! | `string.rs` | [`StringColumn`]: the `String` column, its API and standard traits |
//! | `option_string.rs` | [`OptionStringColumn`]: the `Option<String>` column (a `StringColumn` plus validity) |
//! | `iter.rs` | the iterators: [`StringIter`], [`StringIntoIter`], [`OptionStringIter`], [`OptionStringIntoIter`] |
//! | `arrow.rs` | Arrow conversion of the string columns: their `Column` impls and the Utf8 buffer helpers |
//! | `offsets.rs` | the offsets buffer: i32 (Arrow Utf8) until the bytes outgrow them, then i64 |
//! | `validity.rs` | the validity bitmap of `OptionStringColumn`, packed as Arrow packs it |

mod arrow;
mod iter;
mod offsets;
mod option_string;
mod string;
mod traits;
mod validity;

#[cfg(test)]
mod tests;

pub use iter::{OptionStringIntoIter, OptionStringIter, StringIntoIter, StringIter};
pub use option_string::OptionStringColumn;
pub use string::StringColumn;
pub use traits::{ArrowLayout, Column};
