//! Every name the macros generate, from one place.

use proc_macro2::{Ident, Span};
use quote::format_ident;
use syn::Lifetime;

/// `Order` -> `OrderSoA`.
pub fn soa_ident(row: &Ident) -> Ident {
    format_ident!("{}SoA", row)
}

/// `Order` -> `OrderCols` (the predicate column handles).
pub fn cols_ident(row: &Ident) -> Ident {
    format_ident!("{}Cols", row)
}

/// `Order` -> `OrderRef` (the borrowed row view).
pub fn ref_ident(row: &Ident) -> Ident {
    format_ident!("{}Ref", row)
}

/// The lifetime of the borrowed row view.
pub fn ref_lifetime() -> Lifetime {
    Lifetime::new("'soa", Span::call_site())
}
