//! `#[derive(ToArrow)]`: `ToArrow` for `NameSoA`, or `UnitEnum` + `ArrowField` for a unit enum.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, WhereClause};

use super::{mapping, with_errors};
use crate::internals::ast::{Body, Container, Derive, Field, Variant};
use crate::internals::ctxt::Ctxt;
use crate::names;

pub fn derive(input: &DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let tokens = match Container::from_ast(&cx, input, Derive::ToArrow) {
        Some(Container {
            body: Body::Struct(ref fields),
            ..
        }) if fields.is_empty() => TokenStream::new(),
        Some(
            ref container @ Container {
                body: Body::Struct(ref fields),
                ..
            },
        ) => expand_struct(container, fields),
        Some(
            ref container @ Container {
                body: Body::UnitEnum(ref variants),
                ..
            },
        ) => expand_enum(container, variants),
        Some(
            ref container @ Container {
                body: Body::DataEnum(ref variants),
                ..
            },
        ) => super::data_enum::expand(container, variants),
        None => TokenStream::new(),
    };
    with_errors(cx, tokens)
}

/// The struct's where clause plus `FieldType: ArrowField` for generic field types (see
/// [`super::bounded_where`]).
fn where_with_bounds(
    container: &Container<'_>,
    fields: &[Field<'_>],
    krate: &syn::Path,
) -> WhereClause {
    super::bounded_where(container, fields, &quote!(#krate::ArrowField))
}

fn expand_struct(container: &Container<'_>, fields: &[Field<'_>]) -> TokenStream {
    let krate = container.krate();
    let row = container.ident;
    let soa = names::soa_ident(row);
    let (impl_generics, ty_generics, _) = container.generics.split_for_impl();
    let where_clause = where_with_bounds(container, fields, &krate);
    let row_name = row.to_string();

    let idents: Vec<_> = fields.iter().map(|f| f.ident).collect();
    let names: Vec<String> = fields.iter().map(Field::rust_name).collect();
    let first = idents[0];
    let first_name = &names[0];
    let p = quote!(#krate::__private);

    let mut schema_fields = Vec::new();
    let mut to_arrays = Vec::new();
    let mut into_arrays = Vec::new();
    let mut reads = Vec::new();
    let mut takes = Vec::new();
    // `rows_from_record_batch`: one value source per column, one value per row from each.
    let mut value_reads = Vec::new();
    let mut row_values = Vec::new();
    for (index, (f, name)) in fields.iter().zip(&names).enumerate() {
        let (ty, ident, span) = (f.ty, f.ident, f.ty.span());
        // The field's value source in `rows_from_record_batch` (not the field's own name, which
        // could be any of the method's locals).
        let source = quote::format_ident!("__soa_values_{index}");
        let column = f.column_name();
        if f.attrs.skip.is_some() {
            // No column; loads as `Default`.
            reads.push(quote_spanned!(span=> #ident: #p::skipped_column::<#ty>(batch.num_rows())));
            row_values
                .push(quote_spanned!(span=> #ident: <#ty as ::core::default::Default>::default()));
            takes.push(
                quote_spanned!(span=> #ident: #p::skipped_column::<#ty>(#p::owned_rows(&columns))),
            );
            continue;
        }
        if f.attrs.flatten.is_some() {
            // The nested struct's columns, named `field_inner`.
            let prefix = format!("{column}_");
            let inner = quote_spanned!(span=> <#ty as #krate::Soa>::Columns);
            schema_fields
                .push(quote_spanned!(span=> fields.extend(#p::flatten_fields::<#inner>(#prefix));));
            to_arrays.push(quote_spanned!(span=>
                columns.extend(#p::flatten_arrays::<#inner>(self.#ident.iter().map(#p::Clone::clone).collect(), #row_name, #name)?);
            ));
            into_arrays.push(quote_spanned!(span=>
                columns.extend(#p::flatten_arrays::<#inner>(self.#ident.into_iter().collect(), #row_name, #name)?);
            ));
            reads.push(quote_spanned!(span=> #ident: #p::flatten_read::<#inner>(batch, #prefix, #row_name, #name)?));
            value_reads.push(quote_spanned!(span=>
                let mut #source = #p::IntoIterator::into_iter(#p::flatten_read::<#inner>(__soa_part, #prefix, #row_name, #name)?);
            ));
            row_values.push(next_value(&p, ident, &source, &row_name, name));
            takes.push(quote_spanned!(span=>
                #ident: #p::flatten_read::<#inner>(&#p::owned_batch(&columns)?, #prefix, #row_name, #name)?
            ));
            continue;
        }
        let c = mapping::codec(&krate, f);
        let (data_type, nullable, metadata) = (&c.data_type, &c.nullable, &c.metadata);
        let (to, into, from, owned, absent, expected) = (
            &c.to_array,
            &c.into_array,
            &c.from_array,
            &c.from_array_owned,
            &c.absent,
            &c.expected,
        );
        let (col, borrowed) = (&c.column, &c.borrowed);
        schema_fields.push(quote_spanned! {span=>
            fields.push(#p::Arc::new(
                #p::Field::new(#column, #data_type, #nullable).with_metadata(#metadata),
            ));
        });
        to_arrays.push(quote_spanned!(span=> columns.push(#p::column_to_array::<#borrowed>(&self.#ident, #to, #row_name, #name)?);));
        into_arrays.push(quote_spanned!(span=> columns.push(#p::column_into_array::<#col>(self.#ident, #into, #row_name, #name)?);));
        reads.push(quote_spanned!(span=>
            #ident: #p::read_column::<#col>(batch, #row_name, #name, #column, #expected, #from, #absent)?
        ));
        let values = &c.values;
        value_reads.push(quote_spanned!(span=>
            let mut #source = #p::read_values(__soa_part, #row_name, #name, #column, #expected, #values, #absent)?;
        ));
        row_values.push(next_value(&p, ident, &source, &row_name, name));
        takes.push(quote_spanned!(span=>
            #ident: #p::take_column::<#col>(&mut columns, #row_name, #name, #column, #expected, #owned, #absent)?
        ));
    }
    let check_lens = quote! {
        let len = self.#first.len();
        #( #p::check_len(#row_name, #names, len, self.#idents.len())?; )*
        let _ = #first_name;
    };
    let schema_meta = container
        .attrs
        .metadata
        .iter()
        .map(|(k, v)| quote!((#k.into(), #v.into())));

    let build_schema = quote! {{
        let mut fields: #p::Vec<#p::FieldRef> = #p::Vec::new();
        #( #schema_fields )*
        let metadata: #p::HashMap<#p::String, #p::String> = [ #( #schema_meta, )* ].into_iter().collect();
        #p::Arc::new(#p::Schema::new_with_metadata(fields, metadata))
    }};
    // A generic struct has one schema per instantiation; a `static` inside a generic fn would be
    // shared by all of them, so only non-generic structs cache. The cache also holds whether a
    // column name repeats (a flatten prefix plus an inner name the macro cannot see), which
    // every conversion checks first: a typed error, never a value read from the wrong column.
    let (cache, schema_body, check_schema) = if container.generics.params.is_empty() {
        (
            quote! {
                fn __soa_checked_schema() -> &'static #p::CheckedSchema {
                    static SCHEMA: #p::OnceLock<#p::CheckedSchema> = #p::OnceLock::new();
                    SCHEMA.get_or_init(|| #p::CheckedSchema::new(#build_schema))
                }
            },
            quote!(#p::Clone::clone(&__soa_checked_schema().schema)),
            quote!(__soa_checked_schema().check(#row_name)?;),
        )
    } else {
        (
            TokenStream::new(),
            build_schema,
            quote!(#p::CheckedSchema::new(<Self as #krate::ToArrow>::schema()).check(#row_name)?;),
        )
    };

    // A derived struct is also a column type (Arrow Struct) so it can nest in another struct, in
    // an Option or a Vec. Building the column clones the fields, so this needs `Clone`.
    let as_field = if container.is_cloneable() {
        let mut field_where = where_clause.clone();
        field_where.predicates.extend(
            super::bounded_where(container, fields, &quote!(::core::clone::Clone)).predicates,
        );
        quote! {
            #[automatically_derived]
            impl #impl_generics #krate::ArrowField for #row #ty_generics #field_where {
                fn data_type() -> #krate::__private::DataType {
                    #krate::__private::struct_data_type::<#soa #ty_generics>()
                }

                fn to_array(values: &[Self]) -> #krate::__private::Result<#krate::__private::ArrayRef, #krate::FieldError> {
                    let columns = #soa {
                        #( #idents: values.iter().map(|row| #krate::__private::Clone::clone(&row.#idents)).collect(), )*
                    };
                    #krate::__private::struct_into_array(columns)
                }

                fn into_array(values: #krate::__private::Vec<Self>) -> #krate::__private::Result<#krate::__private::ArrayRef, #krate::FieldError> {
                    #krate::__private::struct_into_array(values.into_iter().collect::<#soa #ty_generics>())
                }

                fn from_array(array: &dyn #krate::__private::Array) -> #krate::__private::Result<#krate::__private::Vec<Self>, #krate::FieldError> {
                    #krate::__private::struct_from_array::<#soa #ty_generics>(array)
                }

                fn to_array_opt(values: &[#krate::__private::Option<Self>]) -> #krate::__private::Result<#krate::__private::ArrayRef, #krate::FieldError> {
                    let valid: #krate::__private::Vec<::core::primitive::bool> = values.iter().map(|v| v.is_some()).collect();
                    let columns = #soa {
                        #( #idents: values.iter().flatten().map(|row| #krate::__private::Clone::clone(&row.#idents)).collect(), )*
                    };
                    #krate::__private::struct_into_array_opt(&valid, columns)
                }

                fn from_array_opt(array: &dyn #krate::__private::Array) -> #krate::__private::Result<#krate::__private::Vec<#krate::__private::Option<Self>>, #krate::FieldError> {
                    #krate::__private::struct_from_array_opt::<#soa #ty_generics>(array)
                }
            }
        }
    } else {
        TokenStream::new()
    };

    let handles = column_handles(container, fields);
    let partitions: Vec<String> = fields
        .iter()
        .filter(|f| f.attrs.skip.is_none() && f.attrs.flatten.is_none())
        .filter_map(|f| {
            let (_, text) = f.attrs.partition.as_ref()?;
            crate::internals::attr::partition_entry(&f.column_name(), text)
        })
        .collect();
    let partition_by = if partitions.is_empty() {
        TokenStream::new()
    } else {
        quote! {
            const PARTITION_BY: &'static [&'static ::core::primitive::str] = &[#( #partitions ),*];
        }
    };
    quote! {
        const _: () = {
            #cache

            #as_field

            #[automatically_derived]
            impl #impl_generics #krate::ToArrow for #soa #ty_generics #where_clause {
                const TYPE_NAME: &'static ::core::primitive::str = #row_name;
                #partition_by

                fn schema() -> #krate::__private::SchemaRef {
                    #schema_body
                }

                fn to_record_batch(&self) -> #krate::Result<#krate::__private::RecordBatch> {
                    #check_schema
                    #check_lens
                    let mut columns: #p::Vec<#p::ArrayRef> = #p::Vec::new();
                    #( #to_arrays )*
                    #krate::__private::make_batch(<Self as #krate::ToArrow>::schema(), columns, len)
                }

                fn into_record_batch(self) -> #krate::Result<#krate::__private::RecordBatch> {
                    #check_schema
                    #check_lens
                    let mut columns: #p::Vec<#p::ArrayRef> = #p::Vec::new();
                    #( #into_arrays )*
                    #krate::__private::make_batch(<Self as #krate::ToArrow>::schema(), columns, len)
                }

                fn from_record_batch(batch: &#krate::__private::RecordBatch) -> #krate::Result<Self> {
                    #check_schema
                    #krate::__private::Ok(Self { #( #reads, )* })
                }

                fn rows_from_record_batch(batch: &#krate::__private::RecordBatch) -> #krate::Result<#p::Vec<#row #ty_generics>> {
                    #check_schema
                    let __soa_len = batch.num_rows();
                    let __soa_part = batch;
                    #( #value_reads )*
                    let mut __soa_out = #p::Vec::new();
                    match #p::extend_rows(&mut __soa_out, __soa_len, |__soa_i| {
                        #p::ControlFlow::Continue(#row { #( #row_values, )* })
                    }) {
                        #p::None => #p::Ok(__soa_out),
                        #p::Some(error) => #p::Err(error),
                    }
                }

                fn try_from_record_batch(batch: #krate::__private::RecordBatch) -> #krate::Result<Self> {
                    #check_schema
                    let mut columns = #krate::__private::owned_columns(batch);
                    #krate::__private::Ok(Self { #( #takes, )* })
                }
            }
        };

        #handles
    }
}

/// `Row::col()` and `RowCols<R>`: one predicate handle per column (`Col<R, FieldType>`; the
/// handles of a flattened struct's columns under the field's name), and `HasColumns` so a field
/// of this type reaches them. Generic structs get none (one handle type per instantiation would
/// need the generics on the handles too).
fn column_handles(container: &Container<'_>, fields: &[Field<'_>]) -> TokenStream {
    if !container.generics.params.is_empty() {
        return TokenStream::new();
    }
    let krate = container.krate();
    let row = container.ident;
    let vis = container.vis;
    let cols = names::cols_ident(row);
    let pr = quote!(#krate::predicate);
    let mut decls = Vec::new();
    let mut inits = Vec::new();
    for f in fields {
        if f.attrs.skip.is_some() {
            continue;
        }
        let (ident, ty, fvis) = (f.ident, f.ty, f.vis);
        let column = f.column_name();
        let doc = format!("The `{column}` column.");
        if f.attrs.flatten.is_some() {
            decls.push(quote! {
                #[doc = #doc]
                #fvis #ident: <#ty as #pr::HasColumns>::Columns<R>
            });
            inits.push(quote! {
                #ident: <#ty as #pr::HasColumns>::columns_at::<R>(path.flattened(#column))
            });
        } else {
            decls.push(quote! {
                #[doc = #doc]
                #fvis #ident: #pr::Col<R, #ty>
            });
            inits.push(quote!(#ident: #pr::Col::at(path.child(#column))));
        }
    }
    let doc = format!(
        "Predicate handles of `{row}`'s columns (see `soa_runtime::predicate`), from `{row}::col()`."
    );
    let col_doc = format!(
        "Handles of `{row}`'s columns for typed predicates: `{row}::col().field.eq(value)`."
    );
    let handle_idents: Vec<_> = fields
        .iter()
        .filter(|f| f.attrs.skip.is_none())
        .map(|f| f.ident)
        .collect();
    let handle_names: Vec<String> = fields
        .iter()
        .filter(|f| f.attrs.skip.is_none())
        .map(Field::rust_name)
        .collect();
    let cols_name = cols.to_string();
    quote! {
        #[doc = #doc]
        #[allow(dead_code)]
        #vis struct #cols<R: 'static> {
            #( #decls, )*
        }

        #[automatically_derived]
        impl<R: 'static> ::core::fmt::Debug for #cols<R> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#cols_name)
                    #( .field(#handle_names, &self.#handle_idents) )*
                    .finish()
            }
        }

        #[automatically_derived]
        impl #pr::HasColumns for #row {
            type Columns<R: 'static> = #cols<R>;
            fn columns_at<R: 'static>(path: #pr::ColumnPath) -> #cols<R> {
                #cols { #( #inits, )* }
            }
        }

        #[automatically_derived]
        impl #row {
            #[doc = #col_doc]
            #[allow(dead_code)]
            #vis fn col() -> #cols<#row> {
                <#row as #pr::HasColumns>::columns_at::<#row>(#pr::ColumnPath::root())
            }
        }
    }
}

fn expand_enum(container: &Container<'_>, variants: &[Variant<'_>]) -> TokenStream {
    let krate = container.krate();
    let ident = container.ident;
    let (impl_generics, ty_generics, where_clause) = container.generics.split_for_impl();
    let name = ident.to_string();
    let stored: Vec<String> = variants.iter().map(Variant::stored_name).collect();
    let variant_idents: Vec<_> = variants.iter().map(|v| v.ident).collect();
    let indexes: Vec<usize> = (0..variants.len()).collect();
    // One names array per (non-generic) enum, shared by every column built from it.
    let names_body = if container.generics.params.is_empty() {
        quote! {
            static NAMES: #krate::__private::OnceLock<#krate::__private::ArrayRef> = #krate::__private::OnceLock::new();
            if let #krate::__private::Some(names) = NAMES.get() {
                return #krate::__private::Some(#krate::__private::Clone::clone(names));
            }
            let names = #krate::__private::enum_names_array(<Self as #krate::UnitEnum>::VARIANTS).ok()?;
            #krate::__private::Some(#krate::__private::Clone::clone(NAMES.get_or_init(|| names)))
        }
    } else {
        quote!(#krate::__private::None)
    };

    quote! {
        const _: () = {
            #[automatically_derived]
            impl #impl_generics #krate::UnitEnum for #ident #ty_generics #where_clause {
                const NAME: &'static ::core::primitive::str = #name;
                const VARIANTS: &'static [&'static ::core::primitive::str] = &[ #( #stored, )* ];

                fn variant_index(&self) -> ::core::primitive::usize {
                    match self { #( Self::#variant_idents => #indexes, )* }
                }

                fn names_array() -> #krate::__private::Option<#krate::__private::ArrayRef> {
                    #names_body
                }

                fn from_variant_index(index: ::core::primitive::usize) -> #krate::__private::Option<Self> {
                    match index {
                        #( #indexes => #krate::__private::Some(Self::#variant_idents), )*
                        _ => #krate::__private::None,
                    }
                }
            }

            #[automatically_derived]
            impl #impl_generics #krate::predicate::Comparable for #ident #ty_generics #where_clause {
                type Value = Self;
            }

            #[automatically_derived]
            impl #impl_generics #krate::ArrowField for #ident #ty_generics #where_clause {
                fn data_type() -> #krate::__private::DataType {
                    #krate::__private::enum_data_type(<Self as #krate::UnitEnum>::VARIANTS.len())
                }

                fn to_array(values: &[Self]) -> #krate::__private::Result<#krate::__private::ArrayRef, #krate::FieldError> {
                    #krate::__private::enum_to_array(values)
                }

                fn from_array(array: &dyn #krate::__private::Array) -> #krate::__private::Result<#krate::__private::Vec<Self>, #krate::FieldError> {
                    #krate::__private::enum_from_array(array)
                }

                fn to_array_opt(values: &[#krate::__private::Option<Self>]) -> #krate::__private::Result<#krate::__private::ArrayRef, #krate::FieldError> {
                    #krate::__private::enum_to_array_opt(values)
                }

                fn from_array_opt(array: &dyn #krate::__private::Array) -> #krate::__private::Result<#krate::__private::Vec<#krate::__private::Option<Self>>, #krate::FieldError> {
                    #krate::__private::enum_from_array_opt(array)
                }
            }
        };
    }
}

/// `field: <next value of its source>` in a `rows_from_record_batch` row.
fn next_value(
    p: &TokenStream,
    ident: &syn::Ident,
    source: &syn::Ident,
    row_name: &str,
    name: &str,
) -> TokenStream {
    quote! {
        #ident: match ::core::iter::Iterator::next(&mut #source) {
            #p::Some(value) => value,
            #p::None => return #p::ControlFlow::Break(#p::short_column(#row_name, #name, __soa_len, __soa_i)),
        }
    }
}
