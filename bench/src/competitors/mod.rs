//! One module per competitor. Each has its own model type (what a user of that crate would write),
//! built from the same [`crate::Order`] rows outside the timed region.

pub mod arrow_convert_impl;
pub mod handwritten;
pub mod parquet_derive_impl;
pub mod serde_arrow_impl;
pub mod soa_derive_impl;
pub mod typed_arrow_impl;
