//! Code generation from a validated container. Nothing here can fail.

mod data_enum;
mod mapping;
pub mod soa;
pub mod to_arrow;

use proc_macro2::TokenStream;
use quote::quote;

use crate::internals::ctxt::Ctxt;

/// Appends the collected errors (if any) to `tokens`.
pub fn with_errors(cx: Ctxt, tokens: TokenStream) -> TokenStream {
    match cx.check() {
        Ok(()) => tokens,
        Err(err) => {
            let errors = err.to_compile_error();
            quote!(#tokens #errors)
        }
    }
}
