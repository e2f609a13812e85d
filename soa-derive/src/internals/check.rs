//! Cross-field rules, one function per rule.

use std::collections::HashMap;

use super::ast::{Body, Container, VariantFields};
use super::ctxt::Ctxt;
use super::ty;

pub fn check(cx: &Ctxt, container: &Container<'_>) {
    check_has_fields(cx, container);
    check_unique_columns(cx, container);
    check_unique_flatten_prefixes(cx, container);
    check_unique_variants(cx, container);
    check_data_variant_not_tag(cx, container);
    check_field_options(cx, container);
    check_arrow_layout_type(cx, container);
    check_no_double_option(cx, container);
    check_partition_fields(cx, container);
}

/// `#[soa(partition)]` names a column: not on `skip` (no column) or `flatten` (several).
fn check_partition_fields(cx: &Ctxt, container: &Container<'_>) {
    let Body::Struct(fields) = &container.body else {
        return;
    };
    for field in fields {
        let a = &field.attrs;
        if let Some((span, _)) = &a.partition
            && (a.skip.is_some() || a.flatten.is_some())
        {
            cx.syn_error(syn::Error::new(
                *span,
                "`partition` needs a column of its own: it cannot be combined with `skip` or `flatten`",
            ));
        }
    }
}

/// `#[soa(arrow_layout)]` has a column for `String` and `Option<String>` only. Checked on the
/// type as written, so the error is one, on the attribute (a trait bound would fail at every use
/// of the column type); a type alias of `String` is refused here too.
fn check_arrow_layout_type(cx: &Ctxt, container: &Container<'_>) {
    let Body::Struct(fields) = &container.body else {
        return;
    };
    for field in fields {
        let a = &field.attrs;
        // With `skip` or `flatten` the attribute is already reported as a conflict.
        if let Some(span) = a.arrow_layout
            && a.skip.is_none()
            && a.flatten.is_none()
            && !ty::fits_arrow_layout(field.ty)
        {
            let written = quote::ToTokens::to_token_stream(field.ty)
                .to_string()
                .replace(' ', "");
            cx.syn_error(syn::Error::new(
                span,
                format!(
                    "`arrow_layout` applies to a field written as `String` or `Option<String>`, not `{written}` (type aliases are not followed); remove it to store this field in a `Vec`"
                ),
            ));
        }
    }
}

/// `Option<Option<T>>` has no Arrow layout (one level of nulls per column). Caught as written,
/// on the inner `Option`; behind a type alias it is still the runtime's `Unsupported` error.
fn check_no_double_option(cx: &Ctxt, container: &Container<'_>) {
    let Body::Struct(fields) = &container.body else {
        // A data enum's variant fields become a struct deriving `Soa`/`ToArrow`, checked there.
        return;
    };
    for field in fields.iter().filter(|f| f.attrs.skip.is_none()) {
        if let Some(inner) = ty::double_option(field.ty) {
            cx.error_spanned_by(
                inner,
                "`Option<Option<T>>` has no Arrow layout: a column has one level of nulls; use `Option<T>`, or an enum if the two kinds of `None` differ",
            );
        }
    }
}

/// A field takes at most one layout attribute; `skip` excludes every other option; `flatten`
/// inlines another struct's columns and cannot also pick a layout; `arrow_layout` keeps the
/// type's default Arrow type, so no layout attribute goes with it.
fn check_field_options(cx: &Ctxt, container: &Container<'_>) {
    let Body::Struct(fields) = &container.body else {
        return;
    };
    for field in fields {
        let a = &field.attrs;
        if let [_, second, ..] = a.layouts.as_slice() {
            cx.syn_error(syn::Error::new(
                second.span(),
                "conflicting layout attributes: use one of `large`, `dictionary`, `timestamp`, `decimal` per field",
            ));
        }
        if let Some(span) = a.skip {
            let others = a.rename.is_some()
                || a.default.is_some()
                || a.arrow_layout.is_some()
                || a.flatten.is_some()
                || !a.layouts.is_empty()
                || !a.metadata.is_empty();
            if others {
                cx.syn_error(syn::Error::new(
                    span,
                    "`skip` conflicts with the other soa options on this field: a skipped field has no column",
                ));
            }
        }
        if let Some(span) = a.flatten
            && a.skip.is_none()
            && (!a.layouts.is_empty()
                || a.default.is_some()
                || !a.metadata.is_empty()
                || a.arrow_layout.is_some())
        {
            cx.syn_error(syn::Error::new(
                span,
                "`flatten` inlines the nested struct's own columns: it cannot be combined with a layout, `arrow_layout`, `default` or `metadata`",
            ));
        }
        // `arrow_layout` stores the column as Arrow's default layout of the type; another Arrow
        // layout would need a conversion pass again.
        if let (Some(_), Some(layout)) = (a.arrow_layout, a.layouts.first())
            && a.skip.is_none()
            && a.flatten.is_none()
        {
            cx.syn_error(syn::Error::new(
                layout.span(),
                "`arrow_layout` stores the column in the type's default Arrow layout (Utf8 for `String`): it cannot be combined with `large`, `dictionary`, `timestamp` or `decimal`",
            ));
        }
    }
}

/// A struct needs at least one field: the container's length is the length of its columns.
fn check_has_fields(cx: &Ctxt, container: &Container<'_>) {
    if let Body::Struct(fields) = &container.body
        && fields.is_empty()
    {
        cx.error_spanned_by(
            container.ident,
            "a struct with no fields has no columns; add at least one named field",
        );
    }
}

/// Two fields must not map to the same Arrow column name (a rename may collide with a field).
fn check_unique_columns(cx: &Ctxt, container: &Container<'_>) {
    let Body::Struct(fields) = &container.body else {
        return;
    };
    let mut seen: HashMap<String, String> = HashMap::new();
    for field in fields
        .iter()
        .filter(|f| f.attrs.skip.is_none() && f.attrs.flatten.is_none())
    {
        let column = field.column_name();
        if let Some(first) = seen.insert(column.clone(), field.rust_name()) {
            cx.error_spanned_by(
                field.ident,
                format!(
                    "column name {column:?} is used twice (by fields `{first}` and `{}`); rename one with #[soa(rename = \"...\")]",
                    field.rust_name()
                ),
            );
        }
    }
}

/// Two flattened fields with the same prefix put the same inner names side by side (and any
/// inner column at all would collide). Collisions the macro cannot see, between a prefix plus
/// an inner name (defined in another item) and another column, are `Error::DuplicateColumn`
/// from every conversion.
fn check_unique_flatten_prefixes(cx: &Ctxt, container: &Container<'_>) {
    let Body::Struct(fields) = &container.body else {
        return;
    };
    let mut seen: HashMap<String, String> = HashMap::new();
    for field in fields
        .iter()
        .filter(|f| f.attrs.skip.is_none() && f.attrs.flatten.is_some())
    {
        let prefix = format!("{}_", field.column_name());
        if let Some(first) = seen.insert(prefix.clone(), field.rust_name()) {
            cx.error_spanned_by(
                field.ident,
                format!(
                    "flattened fields `{first}` and `{}` both prefix their columns with {prefix:?}, so their inner names collide; rename one with #[soa(rename = \"...\")]",
                    field.rust_name()
                ),
            );
        }
    }
}

/// A data enum's column has a `tag` child next to one child per data-carrying variant, named
/// after the stored variant name: a data-carrying variant stored as `tag` (by `rename` or
/// `rename_all = "lowercase"` on `Tag`) would be a second `tag` child.
fn check_data_variant_not_tag(cx: &Ctxt, container: &Container<'_>) {
    let Body::DataEnum(variants) = &container.body else {
        return;
    };
    for variant in variants
        .iter()
        .filter(|v| !matches!(v.fields, VariantFields::Unit) && v.stored == "tag")
    {
        cx.error_spanned_by(
            variant.ident,
            format!(
                "variant `{}` is stored as \"tag\", the name of the enum column's tag child; rename it with #[soa(rename = \"...\")]",
                variant.ident
            ),
        );
    }
}

/// Two variants must not store the same name: the dictionary could not tell them apart.
fn check_unique_variants(cx: &Ctxt, container: &Container<'_>) {
    let (Body::UnitEnum(variants) | Body::DataEnum(variants)) = &container.body else {
        return;
    };
    let mut seen: HashMap<String, String> = HashMap::new();
    for variant in variants {
        let name = variant.stored_name();
        if let Some(first) = seen.insert(name.clone(), variant.ident.to_string()) {
            cx.error_spanned_by(
                variant.ident,
                format!(
                    "variant name {name:?} is used twice (by `{first}` and `{}`); rename one with #[soa(rename = \"...\")]",
                    variant.ident
                ),
            );
        }
    }
}
