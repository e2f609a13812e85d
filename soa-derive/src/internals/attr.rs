//! `#[soa(...)]` attributes parsed into typed options. Every misuse is a spanned error on the
//! narrowest token; parsing goes on so all mistakes show up in one compile.

use syn::meta::ParseNestedMeta;
use syn::punctuated::Punctuated;
use syn::{Attribute, LitStr, Path, Token};

use super::ctxt::Ctxt;
use super::symbol::{CRATE, DERIVE, RENAME, SOA, Symbol};

/// Options on the struct or enum.
#[derive(Default)]
pub struct Container {
    /// `#[soa(crate = "path")]`: where the runtime crate is (default `::soa_runtime`).
    pub krate: Option<Path>,
    /// `#[soa(derive(...))]`: traits derived on the generated container.
    pub derives: Option<Vec<Path>>,
}

/// Options on one struct field.
#[derive(Default)]
pub struct Field {
    /// `#[soa(rename = "name")]`: the Arrow column name.
    pub rename: Option<String>,
}

/// Options on one enum variant.
#[derive(Default)]
pub struct Variant {
    /// `#[soa(rename = "name")]`: the name stored in the dictionary.
    pub rename: Option<String>,
}

fn unknown(meta: &ParseNestedMeta<'_>, place: &str, allowed: &[Symbol]) -> syn::Error {
    let key = meta
        .path
        .get_ident()
        .map_or_else(|| "this".to_owned(), |i| format!("`{i}`"));
    let allowed: Vec<String> = allowed.iter().map(|s| format!("`{s}`")).collect();
    meta.error(format!(
        "unknown soa attribute {key} on a {place}; expected one of {}",
        allowed.join(", ")
    ))
}

fn set_once<T>(cx: &Ctxt, meta: &ParseNestedMeta<'_>, slot: &mut Option<T>, value: T, key: Symbol) {
    if slot.is_some() {
        cx.syn_error(meta.error(format!("duplicate soa attribute `{key}`")));
    } else {
        *slot = Some(value);
    }
}

/// Runs `f` on each `key ...` inside every `#[soa(...)]`, recording errors in `cx`.
fn for_each_soa_meta(
    cx: &Ctxt,
    attrs: &[Attribute],
    mut f: impl FnMut(&ParseNestedMeta<'_>) -> syn::Result<()>,
) {
    for attr in attrs {
        if *attr.path() != SOA {
            continue;
        }
        if let syn::Meta::List(list) = &attr.meta
            && list.tokens.is_empty()
        {
            continue;
        }
        if let Err(err) = attr.parse_nested_meta(|meta| f(&meta)) {
            cx.syn_error(err);
        }
    }
}

fn parse_lit_str(meta: &ParseNestedMeta<'_>) -> syn::Result<LitStr> {
    meta.value()?.parse::<LitStr>()
}

impl Container {
    pub fn from_ast(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut out = Container::default();
        for_each_soa_meta(cx, attrs, |meta| {
            if meta.path == CRATE {
                let lit = parse_lit_str(meta)?;
                match lit.parse::<Path>() {
                    Ok(path) => set_once(cx, meta, &mut out.krate, path, CRATE),
                    Err(_) => cx.error_spanned_by(
                        &lit,
                        format!(
                            "`crate` expects a path such as \"::soa_runtime\", found {:?}",
                            lit.value()
                        ),
                    ),
                }
            } else if meta.path == DERIVE {
                let content;
                syn::parenthesized!(content in meta.input);
                let paths = Punctuated::<Path, Token![,]>::parse_terminated(&content)?;
                set_once(
                    cx,
                    meta,
                    &mut out.derives,
                    paths.into_iter().collect(),
                    DERIVE,
                );
            } else {
                return Err(unknown(meta, "container", &[CRATE, DERIVE]));
            }
            Ok(())
        });
        out
    }
}

fn parse_rename(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    slot: &mut Option<String>,
) -> syn::Result<()> {
    let lit = parse_lit_str(meta)?;
    if lit.value().is_empty() {
        cx.error_spanned_by(&lit, "`rename` needs a non-empty name");
    } else {
        set_once(cx, meta, slot, lit.value(), RENAME);
    }
    Ok(())
}

impl Field {
    pub fn from_ast(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut out = Field::default();
        for_each_soa_meta(cx, attrs, |meta| {
            if meta.path == RENAME {
                parse_rename(cx, meta, &mut out.rename)
            } else {
                Err(unknown(meta, "field", &[RENAME]))
            }
        });
        out
    }
}

impl Variant {
    pub fn from_ast(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut out = Variant::default();
        for_each_soa_meta(cx, attrs, |meta| {
            if meta.path == RENAME {
                parse_rename(cx, meta, &mut out.rename)
            } else {
                Err(unknown(meta, "variant", &[RENAME]))
            }
        });
        out
    }
}
