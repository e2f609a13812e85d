//! Types deriving through a re-exported runtime (`#[soa(crate = "::soa_reexport::soa_rt")]`);
//! this crate does not depend on `soa-runtime`, so `::soa_runtime` does not resolve here. The
//! round trips are in `tests/crate_path.rs`.

use soa_reexport::soa_rt::{Soa, ToArrow};

/// A unit enum column.
#[derive(Soa, ToArrow, Debug, Clone, Copy, PartialEq)]
#[soa(crate = "::soa_reexport::soa_rt")]
pub enum Side {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

/// A data enum column.
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
#[soa(crate = "soa_reexport::soa_rt")]
pub enum Event {
    /// Nothing.
    Idle,
    /// A fill.
    Fill {
        /// Price.
        price: f64,
    },
    /// Free text.
    Note(String),
}

/// A nested struct, also flattened.
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
#[soa(crate = "soa_reexport::soa_rt")]
pub struct Geo {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

/// Every kind of column: scalars, `arrow_layout`, enums, nested, flattened, layouts, skip.
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
#[soa(crate = "soa_reexport::soa_rt", rename_all = "camelCase")]
pub struct Tick {
    /// Id.
    pub tick_id: u64,
    /// Arrow-shaped string column.
    #[soa(arrow_layout)]
    pub symbol: String,
    /// Arrow-shaped optional string column.
    #[soa(arrow_layout)]
    pub note: Option<String>,
    /// Unit enum.
    pub side: Side,
    /// Data enum.
    pub event: Event,
    /// Nested struct.
    pub place: Geo,
    /// Flattened struct.
    #[soa(flatten)]
    pub origin: Geo,
    /// Dictionary-encoded.
    #[soa(dictionary)]
    pub venue: String,
    /// Milliseconds.
    #[soa(timestamp = "ms")]
    pub ts: i64,
    /// Not stored.
    #[soa(skip)]
    pub scratch: Vec<u8>,
}

/// A generic struct with a where clause.
#[derive(Soa, ToArrow, Debug, Clone, PartialEq)]
#[soa(crate = "soa_reexport::soa_rt")]
pub struct Pair<T>
where
    T: Copy,
{
    /// First.
    pub a: T,
    /// Second.
    pub b: Option<T>,
}
