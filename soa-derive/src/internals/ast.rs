//! The input as a `Container` of `Field`s or `Variant`s, keeping the syn nodes for spans.

use syn::{Data, DeriveInput, Fields, Generics, Ident, Type, Visibility};

use super::attr;
use super::check;
use super::ctxt::Ctxt;

/// Which macro is expanding (words the error messages).
#[derive(Copy, Clone, PartialEq, Eq)]
pub enum Derive {
    Soa,
    ToArrow,
}

impl Derive {
    pub fn name(self) -> &'static str {
        match self {
            Derive::Soa => "Soa",
            Derive::ToArrow => "ToArrow",
        }
    }
}

pub struct Container<'a> {
    pub ident: &'a Ident,
    pub vis: &'a Visibility,
    pub generics: &'a Generics,
    pub attrs: attr::Container,
    pub body: Body<'a>,
}

pub enum Body<'a> {
    Struct(Vec<Field<'a>>),
    /// Every variant is a unit variant: a dictionary column.
    UnitEnum(Vec<Variant<'a>>),
    /// Some variants carry data: a struct column of a tag plus one nullable child per variant.
    DataEnum(Vec<Variant<'a>>),
}

/// The data a variant carries.
pub enum VariantFields<'a> {
    Unit,
    Named(Vec<(Ident, &'a Type)>),
    Unnamed(Vec<&'a Type>),
}

pub struct Field<'a> {
    pub ident: &'a Ident,
    pub vis: &'a Visibility,
    pub ty: &'a Type,
    pub attrs: attr::Field,
    /// The Arrow column name (after `rename` / `rename_all`); for a flattened field, the prefix
    /// without its `_`.
    pub column: String,
}

impl Field<'_> {
    /// The Arrow column name.
    pub fn column_name(&self) -> String {
        self.column.clone()
    }

    /// Whether the container stores this field Arrow-shaped: `#[soa(arrow_layout)]` on a type it
    /// fits. Every misuse (on `skip`/`flatten` fields, on another type) is reported by `check`
    /// on the attribute, and the field then falls back to a `Vec` so it is the only error.
    pub fn arrow_layout(&self) -> bool {
        self.attrs.arrow_layout.is_some()
            && self.attrs.skip.is_none()
            && self.attrs.flatten.is_none()
            && super::ty::fits_arrow_layout(self.ty)
    }

    /// The Rust field name as written (without `r#`).
    pub fn rust_name(&self) -> String {
        self.ident.to_string().trim_start_matches("r#").to_owned()
    }
}

pub struct Variant<'a> {
    pub ident: &'a Ident,
    /// The name stored in the dictionary (after `rename` / `rename_all`).
    pub stored: String,
    pub fields: VariantFields<'a>,
}

impl Variant<'_> {
    pub fn stored_name(&self) -> String {
        self.stored.clone()
    }
}

fn raw(ident: &Ident) -> String {
    ident.to_string().trim_start_matches("r#").to_owned()
}

impl<'a> Container<'a> {
    /// Parses and validates. Returns `None` only when the input's shape is unusable (tuple struct,
    /// union, data-carrying enum); attribute errors are recorded in `cx` and parsing continues so
    /// the expansion can still emit fallback items.
    pub fn from_ast(cx: &Ctxt, input: &'a DeriveInput, derive: Derive) -> Option<Container<'a>> {
        let attrs = attr::Container::from_ast(cx, &input.attrs);
        let attrs_rule = attrs.rename_all;
        let body = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => Body::Struct(
                    named
                        .named
                        .iter()
                        .filter_map(|f| {
                            let ident = f.ident.as_ref()?;
                            let attrs = attr::Field::from_ast(cx, &f.attrs);
                            let column = attrs.rename.clone().unwrap_or_else(|| match attrs_rule {
                                Some(rule) => rule.apply_to_field(&raw(ident)),
                                None => raw(ident),
                            });
                            Some(Field {
                                ident,
                                vis: &f.vis,
                                ty: &f.ty,
                                attrs,
                                column,
                            })
                        })
                        .collect(),
                ),
                Fields::Unnamed(fields) => {
                    cx.error_spanned_by(
                        fields,
                        format!(
                            "#[derive({})] needs named fields, one per column; tuple structs are not supported: write `struct {} {{ name: Type, .. }}`",
                            derive.name(),
                            input.ident
                        ),
                    );
                    return None;
                }
                Fields::Unit => {
                    cx.error_spanned_by(
                        &input.ident,
                        format!(
                            "#[derive({})] needs at least one named field; a unit struct has no columns",
                            derive.name()
                        ),
                    );
                    return None;
                }
            },
            Data::Enum(data) => {
                let mut variants = Vec::new();
                let mut ok = true;
                for v in &data.variants {
                    let attrs = attr::Variant::from_ast(cx, &v.attrs);
                    let stored = attrs.rename.clone().unwrap_or_else(|| match attrs_rule {
                        Some(rule) => rule.apply_to_variant(&raw(&v.ident)),
                        None => raw(&v.ident),
                    });
                    let fields = match &v.fields {
                        Fields::Unit => VariantFields::Unit,
                        Fields::Named(named) => VariantFields::Named(
                            named
                                .named
                                .iter()
                                .filter_map(|f| Some((f.ident.clone()?, &f.ty)))
                                .collect(),
                        ),
                        Fields::Unnamed(unnamed) => {
                            VariantFields::Unnamed(unnamed.unnamed.iter().map(|f| &f.ty).collect())
                        }
                    };
                    variants.push(Variant {
                        ident: &v.ident,
                        stored,
                        fields,
                    });
                }
                let has_data = variants
                    .iter()
                    .any(|v| !matches!(v.fields, VariantFields::Unit));
                if has_data && !input.generics.params.is_empty() {
                    cx.error_spanned_by(
                        &input.generics,
                        format!(
                            "#[derive({})] does not support generic enums with data yet; use concrete field types",
                            derive.name()
                        ),
                    );
                    ok = false;
                }
                if data.variants.is_empty() {
                    cx.error_spanned_by(
                        &input.ident,
                        format!(
                            "#[derive({})] needs an enum with at least one variant",
                            derive.name()
                        ),
                    );
                    ok = false;
                }
                if !ok {
                    return None;
                }
                if has_data {
                    Body::DataEnum(variants)
                } else {
                    Body::UnitEnum(variants)
                }
            }
            Data::Union(data) => {
                cx.error_spanned_by(
                    data.union_token,
                    format!(
                        "#[derive({})] does not support unions: a union has no column layout; use a struct or an enum",
                        derive.name()
                    ),
                );
                return None;
            }
        };
        let container = Container {
            ident: &input.ident,
            vis: &input.vis,
            generics: &input.generics,
            attrs,
            body,
        };
        check::check(cx, &container);
        Some(container)
    }

    /// Traits derived on the generated container (`#[soa(derive(..))]`, default Debug, Clone,
    /// PartialEq).
    pub fn container_derives(&self) -> Vec<syn::Path> {
        self.attrs.derives.clone().unwrap_or_else(|| {
            vec![
                syn::parse_quote!(Debug),
                syn::parse_quote!(Clone),
                syn::parse_quote!(PartialEq),
            ]
        })
    }

    /// Whether the container derives `Clone` (then every field type is `Clone`).
    pub fn is_cloneable(&self) -> bool {
        self.container_derives()
            .iter()
            .any(|p| p.segments.last().is_some_and(|s| s.ident == "Clone"))
    }

    /// The path of the runtime crate in generated code.
    pub fn krate(&self) -> syn::Path {
        self.attrs
            .krate
            .clone()
            .unwrap_or_else(|| syn::parse_quote!(::soa_runtime))
    }
}
