//! `#[derive(ToArrow)]` on an enum whose variants carry data.
//!
//! Arrow's Union cannot be stored in Parquet, so the column is a Struct: a `tag` child
//! (`Dictionary(Int8, Utf8)` of variant names, like a unit enum) plus one nullable child per
//! data-carrying variant, named after the variant, holding that variant's fields as a Struct
//! (tuple fields are named `_0`, `_1`, ...). Exactly the child of the row's variant is non-null.
//! pyarrow, polars, pandas and DuckDB all read this layout.
//!
//! Each variant's payload is a hidden struct deriving `Soa` and `ToArrow`, so its fields use the
//! same type mapping as any struct field.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::internals::ast::{Container, Variant, VariantFields};

pub fn expand(container: &Container<'_>, variants: &[Variant<'_>]) -> TokenStream {
    let krate = container.krate();
    let krate_str = quote!(#krate).to_string().replace(' ', "");
    let p = quote!(#krate::__private);
    let ident = container.ident;
    let vis = container.vis;
    let name = ident.to_string();
    let stored: Vec<&String> = variants.iter().map(|v| &v.stored).collect();

    let mut payload_defs = Vec::new();
    let mut child_fields = Vec::new();
    let mut build_children = Vec::new();
    let mut build_children_opt = Vec::new();
    let mut read_children = Vec::new();
    let mut tag_arms = Vec::new();
    let mut make_arms = Vec::new();

    for (index, v) in variants.iter().enumerate() {
        let vident = v.ident;
        let stored_name = &v.stored;
        let payload = format_ident!("__Soa{}{}", ident, vident);
        let column = format_ident!("__soa_child_{}", index);
        match &v.fields {
            VariantFields::Unit => {
                tag_arms.push(quote!(#ident::#vident => #index));
                make_arms.push(quote!(#index => #p::Ok(#ident::#vident)));
                continue;
            }
            VariantFields::Named(fields) => {
                let names: Vec<_> = fields.iter().map(|(n, _)| n).collect();
                let tys: Vec<_> = fields.iter().map(|(_, t)| t).collect();
                payload_defs.push(quote! {
                    #[doc(hidden)]
                    #[derive(#krate::Soa, #krate::ToArrow, Clone)]
                    #[soa(crate = #krate_str, derive(Clone))]
                    #vis struct #payload { #( #vis #names: #tys, )* }
                });
                tag_arms.push(quote!(#ident::#vident { .. } => #index));
                let pattern = quote!(#ident::#vident { #( #names, )* });
                let body = quote!(#p::Some(#payload { #( #names: #p::Clone::clone(#names), )* }));
                build_children.push(quote! {
                    let #column: #p::Vec<#p::Option<#payload>> = values.iter().map(|v| match v {
                        #pattern => #body,
                        #[allow(unreachable_patterns)]
                        _ => #p::None,
                    }).collect();
                });
                build_children_opt.push(quote! {
                    let #column: #p::Vec<#p::Option<#payload>> = values.iter().map(|v| match v {
                        #p::Some(#pattern) => #body,
                        #[allow(unreachable_patterns)]
                        _ => #p::None,
                    }).collect();
                });
                make_arms.push(quote! {
                    #index => match #column.get_mut(row).and_then(|c| c.take()) {
                        #p::Some(#payload { #( #names, )* }) => #p::Ok(#ident::#vident { #( #names, )* }),
                        #p::None => #p::Err(#p::missing_payload(#name, #stored_name, row)),
                    }
                });
            }
            VariantFields::Unnamed(tys) => {
                let names: Vec<_> = (0..tys.len()).map(|i| format_ident!("_{}", i)).collect();
                payload_defs.push(quote! {
                    #[doc(hidden)]
                    #[derive(#krate::Soa, #krate::ToArrow, Clone)]
                    #[soa(crate = #krate_str, derive(Clone))]
                    #vis struct #payload { #( #vis #names: #tys, )* }
                });
                tag_arms.push(quote!(#ident::#vident(..) => #index));
                let pattern = quote!(#ident::#vident( #( #names, )* ));
                let body = quote!(#p::Some(#payload { #( #names: #p::Clone::clone(#names), )* }));
                build_children.push(quote! {
                    let #column: #p::Vec<#p::Option<#payload>> = values.iter().map(|v| match v {
                        #pattern => #body,
                        #[allow(unreachable_patterns)]
                        _ => #p::None,
                    }).collect();
                });
                build_children_opt.push(quote! {
                    let #column: #p::Vec<#p::Option<#payload>> = values.iter().map(|v| match v {
                        #p::Some(#pattern) => #body,
                        #[allow(unreachable_patterns)]
                        _ => #p::None,
                    }).collect();
                });
                make_arms.push(quote! {
                    #index => match #column.get_mut(row).and_then(|c| c.take()) {
                        #p::Some(#payload { #( #names, )* }) => #p::Ok(#ident::#vident( #( #names, )* )),
                        #p::None => #p::Err(#p::missing_payload(#name, #stored_name, row)),
                    }
                });
            }
        }
        child_fields.push(quote! {
            #p::Field::new(#stored_name, <#payload as #krate::ArrowField>::data_type(), true)
        });
        read_children.push(quote! {
            let mut #column: #p::Vec<#p::Option<#payload>> = match #p::data_enum_child(structs, #stored_name) {
                #p::Some(child) => <#payload as #krate::ArrowField>::from_array_opt(child.as_ref())?,
                #p::None => (0..len).map(|_| #p::None).collect(),
            };
        });
    }
    let children: Vec<TokenStream> = variants
        .iter()
        .enumerate()
        .filter(|(_, v)| !matches!(v.fields, VariantFields::Unit))
        .map(|(index, v)| {
            let column = format_ident!("__soa_child_{}", index);
            let payload = format_ident!("__Soa{}{}", ident, v.ident);
            let stored_name = &v.stored;
            quote!((#stored_name, <#payload as #krate::ArrowField>::to_array_opt(&#column)?))
        })
        .collect();

    quote! {
        #( #payload_defs )*

        const _: () = {
            const VARIANTS: &[&::core::primitive::str] = &[ #( #stored, )* ];

            #[automatically_derived]
            impl #krate::ArrowField for #ident {
                fn data_type() -> #p::DataType {
                    #p::data_enum_type(VARIANTS, ::std::vec![ #( #child_fields, )* ])
                }

                fn to_array(values: &[Self]) -> #p::Result<#p::ArrayRef, #krate::FieldError> {
                    let tags: #p::Vec<::core::primitive::usize> = values.iter().map(|v| match v { #( #tag_arms, )* }).collect();
                    #( #build_children )*
                    #p::data_enum_to_array(VARIANTS, tags, #p::None, ::std::vec![ #( #children, )* ])
                }

                fn from_array(array: &dyn #p::Array) -> #p::Result<#p::Vec<Self>, #krate::FieldError> {
                    let rows = <Self as #krate::ArrowField>::from_array_opt(array)?;
                    #p::require_rows(rows, <Self as #krate::ArrowField>::data_type())
                }

                fn to_array_opt(values: &[#p::Option<Self>]) -> #p::Result<#p::ArrayRef, #krate::FieldError> {
                    let tags: #p::Vec<::core::primitive::usize> = values.iter().map(|v| match v {
                        #p::Some(v) => match v { #( #tag_arms, )* },
                        #p::None => 0,
                    }).collect();
                    let valid: #p::Vec<::core::primitive::bool> = values.iter().map(|v| v.is_some()).collect();
                    #( #build_children_opt )*
                    #p::data_enum_to_array(VARIANTS, tags, #p::Some(valid), ::std::vec![ #( #children, )* ])
                }

                fn from_array_opt(array: &dyn #p::Array) -> #p::Result<#p::Vec<#p::Option<Self>>, #krate::FieldError> {
                    let (structs, tags) = #p::data_enum_tags(array, #name, VARIANTS, <Self as #krate::ArrowField>::data_type())?;
                    let len = tags.len();
                    #( #read_children )*
                    let mut out = #p::Vec::with_capacity(len);
                    for (row, tag) in tags.into_iter().enumerate() {
                        let value = match tag {
                            #p::None => #p::None,
                            #p::Some(tag) => #p::Some(match tag {
                                #( #make_arms, )*
                                _ => #p::Err(#p::missing_payload(#name, "?", row)),
                            }?),
                        };
                        out.push(value);
                    }
                    #p::Ok(out)
                }
            }
        };
    }
}
