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

/// The container's where clause plus `FieldType: bound` for every field type that mentions a type
/// parameter (`T`, `Vec<T>`), so generic structs get exactly the bounds their fields need.
/// Concrete field types get no bound: a type without the trait is then reported at the field's
/// type by the spanned uses in the body (a trivially false bound would be reported at the derive).
pub fn bounded_where(
    container: &crate::internals::ast::Container<'_>,
    fields: &[crate::internals::ast::Field<'_>],
    bound: &TokenStream,
) -> syn::WhereClause {
    use quote::ToTokens;
    use syn::spanned::Spanned;
    let mut clause = container
        .generics
        .where_clause
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(where));
    let params: Vec<String> = container
        .generics
        .type_params()
        .map(|p| p.ident.to_string())
        .collect();
    for field in fields {
        let ty = field.ty;
        if mentions_any(ty.to_token_stream(), &params) {
            clause
                .predicates
                .push(syn::parse_quote_spanned!(ty.span()=> #ty: #bound));
        }
    }
    clause
}

fn mentions_any(tokens: TokenStream, names: &[String]) -> bool {
    tokens.into_iter().any(|tt| match tt {
        proc_macro2::TokenTree::Ident(ident) => names.iter().any(|n| ident == n),
        proc_macro2::TokenTree::Group(group) => mentions_any(group.stream(), names),
        _ => false,
    })
}
