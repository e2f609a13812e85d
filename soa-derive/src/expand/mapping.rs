//! Per-field conversion code: the type's `ArrowField` impl, or the adapter an attribute picks.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Type;
use syn::spanned::Spanned;

use crate::internals::ast::Field;
use crate::internals::attr::Layout;
use crate::internals::ty;

/// Expressions that convert one field, all spanned on the field's type so a missing mapping is
/// reported there.
pub struct Codec {
    /// `DataType` expression.
    pub data_type: TokenStream,
    /// `fn() -> DataType`.
    pub expected: TokenStream,
    /// `bool` expression.
    pub nullable: TokenStream,
    /// `HashMap<String, String>` expression (type metadata plus `#[soa(metadata(..))]`).
    pub metadata: TokenStream,
    /// `fn(&[T]) -> Result<ArrayRef, FieldError>`.
    pub to_array: TokenStream,
    /// `fn(Vec<T>) -> Result<ArrayRef, FieldError>`.
    pub into_array: TokenStream,
    /// `fn(&dyn Array) -> Result<Vec<T>, FieldError>`.
    pub from_array: TokenStream,
    /// `fn(ArrayRef) -> Result<Vec<T>, FieldError>`.
    pub from_array_owned: TokenStream,
    /// `|&dyn Array| -> Result<impl Iterator<Item = T>, FieldError>`: the values one at a time
    /// (`rows_from_record_batch`).
    pub values: TokenStream,
    /// `fn(usize) -> Option<Vec<T>>`: the column when the batch lacks it.
    pub absent: TokenStream,
    /// The container's column type (`Vec<T>`, or the Arrow-shaped column).
    pub column: TokenStream,
    /// What `to_array` borrows (`[T]`, or the Arrow-shaped column).
    pub borrowed: TokenStream,
}

fn adapter_type(krate: &syn::Path, layout: &Layout, value_ty: &Type) -> TokenStream {
    let span = layout.span();
    let adapt = quote_spanned!(span=> #krate::field::adapt);
    match layout {
        Layout::Large(_) if ty::is_vec_u8(value_ty) => quote_spanned!(span=> #adapt::Large),
        Layout::Large(_) if ty::vec_inner(value_ty).is_some() => {
            quote_spanned!(span=> #adapt::LargeList)
        }
        Layout::Large(_) => quote_spanned!(span=> #adapt::Large),
        Layout::Dictionary(_) => quote_spanned!(span=> #adapt::Dictionary),
        Layout::Timestamp(_, unit) => {
            let unit = format_ident!("{}", unit, span = span);
            quote_spanned!(span=> #adapt::Timestamp<#adapt::#unit>)
        }
        Layout::Decimal(_, precision, scale) => {
            let mut p = Literal::u8_unsuffixed(*precision);
            p.set_span(span);
            let mut s = Literal::i8_unsuffixed(*scale);
            s.set_span(span);
            quote_spanned!(span=> #adapt::Decimal<#p, { #s }>)
        }
    }
}

pub fn codec(krate: &syn::Path, field: &Field<'_>) -> Codec {
    let ty = field.ty;
    let span = ty.span();
    let extra_meta = field
        .attrs
        .metadata
        .iter()
        .map(|(k, v)| quote!(m.insert(#k.into(), #v.into());));
    let with_meta = |base: TokenStream| {
        if field.attrs.metadata.is_empty() {
            base
        } else {
            let extra = extra_meta.clone();
            quote!({
                let mut m: #krate::__private::HashMap<#krate::__private::String, #krate::__private::String> = #base;
                #( #extra )*
                m
            })
        }
    };
    let default_absent = field
        .attrs
        .default
        .map(|_| quote_spanned!(span=> #krate::__private::default_column));

    let vec_column = quote_spanned!(span=> #krate::__private::Vec<#ty>);
    let slice = quote_spanned!(span=> [#ty]);
    if field.arrow_layout() {
        // The column is already Arrow-shaped: its own conversions, the type's Arrow type.
        let m = quote_spanned!(span=> <#ty as #krate::ArrowField>);
        let column = arrow_column(krate, ty);
        let c = quote_spanned!(span=> <#column as #krate::column::Column<#ty>>);
        return Codec {
            data_type: quote_spanned!(span=> #m::data_type()),
            expected: quote_spanned!(span=> #m::data_type),
            nullable: quote_spanned!(span=> #m::NULLABLE),
            metadata: with_meta(quote_spanned!(span=> #m::field_metadata())),
            to_array: quote_spanned!(span=> #c::to_array),
            into_array: quote_spanned!(span=> #c::into_array),
            from_array: quote_spanned!(span=> #c::from_array),
            from_array_owned: quote_spanned!(span=> #c::from_array_owned),
            values: quote_spanned!(span=> |array: &dyn #krate::__private::Array| #m::values(array)),
            absent: field.attrs.default.map_or_else(
                || quote_spanned!(span=> #c::absent),
                |_| quote_spanned!(span=> #krate::__private::default_column::<#ty, #column>),
            ),
            borrowed: column.clone(),
            column,
        };
    }
    let default_absent = default_absent.map(|f| quote!(#f::<#ty, #vec_column>));

    let Some(layout) = field.attrs.layouts.first() else {
        let m = quote_spanned!(span=> <#ty as #krate::ArrowField>);
        return Codec {
            data_type: quote_spanned!(span=> #m::data_type()),
            expected: quote_spanned!(span=> #m::data_type),
            nullable: quote_spanned!(span=> #m::NULLABLE),
            metadata: with_meta(quote_spanned!(span=> #m::field_metadata())),
            to_array: quote_spanned!(span=> #m::to_array),
            into_array: quote_spanned!(span=> #m::into_array),
            from_array: quote_spanned!(span=> #m::from_array),
            from_array_owned: quote_spanned!(span=> #m::from_array_owned),
            values: quote_spanned!(span=> |array: &dyn #krate::__private::Array| #m::values(array)),
            absent: default_absent.unwrap_or_else(|| quote_spanned!(span=> #m::absent)),
            column: vec_column,
            borrowed: slice,
        };
    };

    // On `Option<X>` the adapter maps `X` and its `*_opt` methods are used.
    let (value_ty, optional) = match ty::option_inner(ty) {
        Some(inner) => (inner, true),
        None => (ty, false),
    };
    let adapter = adapter_type(krate, layout, value_ty);
    let lspan = layout.span();
    // Respanned onto the attribute so "this adapter does not fit this type" points at it.
    let m = respan(
        quote!(<#adapter as #krate::field::adapt::Adapter<#value_ty>>),
        lspan,
    );
    let (to, from, nullable, absent) = if optional {
        (
            quote_spanned!(lspan=> #m::to_array_opt),
            quote_spanned!(lspan=> #m::from_array_opt),
            quote!(true),
            quote_spanned!(span=> #krate::__private::none_column::<#value_ty>),
        )
    } else {
        (
            quote_spanned!(lspan=> #m::to_array),
            quote_spanned!(lspan=> #m::from_array),
            quote!(false),
            quote_spanned!(span=> #krate::__private::required_column::<#ty>),
        )
    };
    Codec {
        data_type: quote_spanned!(lspan=> #m::data_type()),
        expected: quote_spanned!(lspan=> #m::data_type),
        nullable,
        metadata: with_meta(quote_spanned!(lspan=> #m::field_metadata())),
        into_array: quote!(|values: #krate::__private::Vec<#ty>| #krate::__private::via_ref(values, #to)),
        from_array_owned: quote!(|array: #krate::__private::ArrayRef| (#from)(array.as_ref())),
        values: quote!(|array: &dyn #krate::__private::Array| (#from)(array).map(#krate::__private::IntoIterator::into_iter)),
        to_array: to,
        from_array: from,
        absent: default_absent.unwrap_or(absent),
        column: vec_column,
        borrowed: slice,
    }
}

/// The Arrow-shaped column type of a `#[soa(arrow_layout)]` field, spanned on its type.
pub fn arrow_column(krate: &syn::Path, ty: &Type) -> TokenStream {
    quote_spanned!(ty.span()=> <#ty as #krate::column::ArrowLayout>::Column)
}

/// Gives every token (recursively) the span `span`.
fn respan(tokens: TokenStream, span: proc_macro2::Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tt| {
            if let proc_macro2::TokenTree::Group(g) = &tt {
                let mut group = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                tt = proc_macro2::TokenTree::Group(group);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}
