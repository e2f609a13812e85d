//! `#[soa(...)]` attributes parsed into typed options. Every misuse is a spanned error on the
//! narrowest token; parsing goes on so all mistakes show up in one compile.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::punctuated::Punctuated;
use syn::{Attribute, LitInt, LitStr, Path, Token};

use super::case::{RULES, RenameRule};
use super::ctxt::Ctxt;
use super::symbol::*;

/// Options on the struct or enum.
#[derive(Default)]
pub struct Container {
    /// `#[soa(crate = "path")]`: where the runtime crate is (default `::soa_runtime`).
    pub krate: Option<Path>,
    /// `#[soa(derive(...))]`: traits derived on the generated container.
    pub derives: Option<Vec<Path>>,
    /// `#[soa(rename_all = "camelCase")]`: column (or variant) naming rule.
    pub rename_all: Option<RenameRule>,
    /// `#[soa(metadata(key = "value", ..))]`: Arrow schema metadata.
    pub metadata: Vec<(String, String)>,
}

/// The Arrow layout picked by an attribute instead of the type's default.
#[derive(Clone)]
pub enum Layout {
    /// `#[soa(large)]`.
    Large(Span),
    /// `#[soa(dictionary)]`.
    Dictionary(Span),
    /// `#[soa(timestamp = "ms")]`: the unit's adapter type name.
    Timestamp(Span, &'static str),
    /// `#[soa(decimal(precision = P, scale = S))]`.
    Decimal(Span, u8, i8),
}

impl Layout {
    pub fn span(&self) -> Span {
        match self {
            Layout::Large(s)
            | Layout::Dictionary(s)
            | Layout::Timestamp(s, _)
            | Layout::Decimal(s, ..) => *s,
        }
    }
}

/// Options on one struct field.
#[derive(Default)]
pub struct Field {
    /// `#[soa(rename = "name")]`: the Arrow column name.
    pub rename: Option<String>,
    /// `#[soa(skip)]`: no column; `Default` on load.
    pub skip: Option<Span>,
    /// `#[soa(default)]`: a missing column loads as `Default` (schema evolution).
    pub default: Option<Span>,
    /// `#[soa(flatten)]`: a nested struct's columns inlined as `field_inner`.
    pub flatten: Option<Span>,
    /// `#[soa(arrow_layout)]`: the container stores this column Arrow-shaped
    /// (`<T as ArrowLayout>::Column`) instead of a `Vec<T>`.
    pub arrow_layout: Option<Span>,
    /// Attribute-chosen layouts (more than one is an error reported by `check`).
    pub layouts: Vec<Layout>,
    /// `#[soa(metadata(key = "value", ..))]`: Arrow field metadata.
    pub metadata: Vec<(String, String)>,
    /// `#[soa(partition)]` / `#[soa(partition = "day")]`: the store partition spec entry for
    /// this column (the text after `=`, `""` for the value itself).
    pub partition: Option<(Span, String)>,
}

/// Transforms `#[soa(partition = "..")]` takes (`bucket(N)` is checked separately).
const PARTITION_TRANSFORMS: [&str; 5] = ["identity", "year", "month", "day", "hour"];

/// The spec entry for `column` from the attribute's text (`day`, `bucket(16)`, `day as d`), or
/// `None` if the text is not a transform.
pub fn partition_entry(column: &str, text: &str) -> Option<String> {
    let (transform, key) = match text.split_once(" as ") {
        Some((t, k)) => (t.trim(), Some(k.trim())),
        None => (text.trim(), None),
    };
    let base = if transform.is_empty() || transform == "identity" {
        column.to_owned()
    } else if PARTITION_TRANSFORMS.contains(&transform) {
        format!("{transform}({column})")
    } else {
        let n = transform.strip_prefix("bucket(")?.strip_suffix(')')?.trim();
        let n: u32 = n.parse().ok().filter(|n| *n > 0)?;
        format!("bucket({n}, {column})")
    };
    match key {
        Some(k) if k.is_empty() || !k.chars().all(|c| c.is_alphanumeric() || c == '_') => None,
        Some(k) => Some(format!("{base} as {k}")),
        None => Some(base),
    }
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
        // On the repeated key alone (`meta.error` would span the key and its value).
        cx.syn_error(syn::Error::new(
            meta.path.span_of_key(),
            format!("duplicate soa attribute `{key}`"),
        ));
    } else {
        *slot = Some(value);
    }
}

fn flag(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    slot: &mut Option<Span>,
    key: Symbol,
) -> syn::Result<()> {
    if !meta.input.is_empty() && !meta.input.peek(Token![,]) {
        return Err(meta.error(format!("`{key}` takes no value: write #[soa({key})]")));
    }
    set_once(cx, meta, slot, meta.path.span_of_key(), key);
    Ok(())
}

trait SpanOfKey {
    fn span_of_key(&self) -> Span;
}

impl SpanOfKey for Path {
    fn span_of_key(&self) -> Span {
        self.segments
            .first()
            .map_or_else(Span::call_site, |s| s.ident.span())
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

/// `metadata(key = "value", ...)`.
fn parse_metadata(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    out: &mut Vec<(String, String)>,
) -> syn::Result<()> {
    meta.parse_nested_meta(|entry| {
        let Some(key) = entry.path.get_ident() else {
            return Err(
                entry.error("metadata keys are plain identifiers: metadata(owner = \"desk\")")
            );
        };
        let value = parse_lit_str(&entry)?;
        let key = key.to_string();
        if out.iter().any(|(k, _)| *k == key) {
            cx.syn_error(entry.error(format!("duplicate metadata key `{key}`")));
        } else {
            out.push((key, value.value()));
        }
        Ok(())
    })
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
            } else if meta.path == RENAME_ALL {
                let lit = parse_lit_str(meta)?;
                match RenameRule::parse(&lit.value()) {
                    Some(rule) => set_once(cx, meta, &mut out.rename_all, rule, RENAME_ALL),
                    None => {
                        let names: Vec<String> =
                            RULES.iter().map(|(n, _)| format!("{n:?}")).collect();
                        cx.error_spanned_by(
                            &lit,
                            format!(
                                "unknown rename rule {:?}; expected one of {}",
                                lit.value(),
                                names.join(", ")
                            ),
                        );
                    }
                }
            } else if meta.path == METADATA {
                parse_metadata(cx, meta, &mut out.metadata)?;
            } else {
                return Err(unknown(
                    meta,
                    "container",
                    &[CRATE, DERIVE, RENAME_ALL, METADATA],
                ));
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

const TIMESTAMP_UNITS: &[(&str, &str)] = &[
    ("s", "Second"),
    ("ms", "Millisecond"),
    ("us", "Microsecond"),
    ("ns", "Nanosecond"),
];

fn parse_decimal(cx: &Ctxt, meta: &ParseNestedMeta<'_>) -> syn::Result<Option<Layout>> {
    let span = meta.path.span_of_key();
    let mut precision: Option<u8> = None;
    let mut scale: Option<i8> = None;
    let mut invalid = false;
    meta.parse_nested_meta(|inner| {
        if inner.path == PRECISION {
            let lit: LitInt = inner.value()?.parse()?;
            match lit.base10_parse::<u8>() {
                Ok(p) if (1..=38).contains(&p) => {
                    set_once(cx, &inner, &mut precision, p, PRECISION)
                }
                _ => {
                    invalid = true;
                    cx.error_spanned_by(&lit, "`precision` must be between 1 and 38 (Decimal128)");
                }
            }
        } else if inner.path == SCALE {
            let lit: LitInt = inner.value()?.parse()?;
            match lit.base10_parse::<i8>() {
                Ok(s) => set_once(cx, &inner, &mut scale, s, SCALE),
                Err(_) => {
                    invalid = true;
                    cx.error_spanned_by(&lit, "`scale` must be an integer between -128 and 127");
                }
            }
        } else {
            return Err(unknown(&inner, "decimal", &[PRECISION, SCALE]));
        }
        Ok(())
    })?;
    match (precision, scale) {
        (Some(p), Some(s)) if i16::from(s) > i16::from(p) => {
            cx.syn_error(syn::Error::new(
                span,
                format!("decimal scale {s} exceeds precision {p}"),
            ));
            Ok(None)
        }
        (Some(p), Some(s)) => Ok(Some(Layout::Decimal(span, p, s))),
        _ if invalid => Ok(None),
        _ => {
            cx.syn_error(syn::Error::new(
                span,
                "`decimal` needs both values: #[soa(decimal(precision = 18, scale = 4))]",
            ));
            Ok(None)
        }
    }
}

impl Field {
    pub fn from_ast(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut out = Field::default();
        for_each_soa_meta(cx, attrs, |meta| {
            if meta.path == RENAME {
                parse_rename(cx, meta, &mut out.rename)
            } else if meta.path == SKIP {
                flag(cx, meta, &mut out.skip, SKIP)
            } else if meta.path == DEFAULT {
                flag(cx, meta, &mut out.default, DEFAULT)
            } else if meta.path == FLATTEN {
                flag(cx, meta, &mut out.flatten, FLATTEN)
            } else if meta.path == ARROW_LAYOUT {
                flag(cx, meta, &mut out.arrow_layout, ARROW_LAYOUT)
            } else if meta.path == LARGE {
                let mut span = None;
                flag(cx, meta, &mut span, LARGE)?;
                out.layouts.extend(span.map(Layout::Large));
                Ok(())
            } else if meta.path == DICTIONARY {
                let mut span = None;
                flag(cx, meta, &mut span, DICTIONARY)?;
                out.layouts.extend(span.map(Layout::Dictionary));
                Ok(())
            } else if meta.path == TIMESTAMP {
                let lit = parse_lit_str(meta)?;
                match TIMESTAMP_UNITS.iter().find(|(u, _)| *u == lit.value()) {
                    Some((_, unit)) => out
                        .layouts
                        .push(Layout::Timestamp(meta.path.span_of_key(), unit)),
                    None => cx.error_spanned_by(
                        &lit,
                        format!(
                            "unknown timestamp unit {:?}; expected \"s\", \"ms\", \"us\" or \"ns\"",
                            lit.value()
                        ),
                    ),
                }
                Ok(())
            } else if meta.path == DECIMAL {
                if let Some(layout) = parse_decimal(cx, meta)? {
                    out.layouts.push(layout);
                }
                Ok(())
            } else if meta.path == METADATA {
                parse_metadata(cx, meta, &mut out.metadata)
            } else if meta.path == PARTITION {
                let span = meta.path.span_of_key();
                let text = if meta.input.is_empty() || meta.input.peek(Token![,]) {
                    String::new()
                } else {
                    let lit = parse_lit_str(meta)?;
                    if partition_entry("c", &lit.value()).is_none() {
                        cx.error_spanned_by(
                            &lit,
                            format!(
                                "unknown partition transform {:?}; expected \"day\", \"hour\", \"month\", \"year\", \"bucket(N)\" or \"identity\", optionally followed by ` as key`",
                                lit.value()
                            ),
                        );
                    }
                    lit.value()
                };
                if out.partition.is_some() {
                    cx.syn_error(syn::Error::new(span, "duplicate soa attribute `partition`"));
                }
                out.partition = Some((span, text));
                Ok(())
            } else {
                Err(unknown(
                    meta,
                    "field",
                    &[
                        RENAME,
                        SKIP,
                        DEFAULT,
                        FLATTEN,
                        ARROW_LAYOUT,
                        LARGE,
                        DICTIONARY,
                        TIMESTAMP,
                        DECIMAL,
                        METADATA,
                        PARTITION,
                    ],
                ))
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
