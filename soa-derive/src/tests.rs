//! Expansion snapshots: the code each derive generates for a few representative inputs,
//! pretty-printed (prettyplease) and compared with the committed `snapshots/*.snap` (insta), so a
//! change to the macro shows as a reviewable diff. Review a change with `cargo insta review` (or
//! `INSTA_UPDATE=always cargo test -p soa-derive` and `git diff`); with `CI` set a mismatch fails.
//!
//! The inputs cover each expansion path: plain struct, `arrow_layout`, generics with a where
//! clause, unit enum, data enum, `flatten`, `rename_all` + `rename`, `skip`, `default`, and a
//! custom `crate` path. Each also asserts the expansion carries no error.

use proc_macro2::TokenStream;
use syn::DeriveInput;

use crate::expand;

/// Snapshots the input followed by both derives' expansions, each pretty-printed under a header
/// comment, as `snapshots/soa_derive__tests__{name}.snap`.
fn snapshot(name: &str, input: TokenStream) {
    let parsed: DeriveInput = syn::parse2(input.clone()).expect("test input parses");
    let soa = expand::soa::derive(&parsed);
    let to_arrow = expand::to_arrow::derive(&parsed);
    let text = format!(
        "// input\n{}\n// #[derive(Soa)]\n{}\n// #[derive(ToArrow)]\n{}",
        pretty(input),
        pretty(soa),
        pretty(to_arrow)
    );
    let mut settings = insta::Settings::clone_current();
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

fn pretty(tokens: TokenStream) -> String {
    let text = tokens.to_string();
    assert!(
        !text.contains("compile_error"),
        "the expansion reports an error: {text}"
    );
    let file: syn::File = syn::parse2(tokens).expect("the expansion is valid Rust");
    prettyplease::unparse(&file)
}

#[test]
fn plain_struct() {
    snapshot(
        "plain_struct",
        quote::quote! {
            pub struct Order {
                pub order_id: u64,
                pub symbol: String,
                pub price: f64,
                pub note: Option<String>,
                qty: u32,
            }
        },
    );
}

#[test]
fn arrow_layout_fields() {
    snapshot(
        "arrow_layout_fields",
        quote::quote! {
            pub struct Quote {
                pub id: u64,
                #[soa(arrow_layout)]
                pub symbol: String,
                #[soa(arrow_layout)]
                pub venue: Option<std::string::String>,
            }
        },
    );
}

#[test]
fn generic_struct_with_where_clause() {
    snapshot(
        "generic_struct_with_where_clause",
        quote::quote! {
            #[soa(derive(Debug, Clone))]
            pub struct Point<'a, T, const N: usize>
            where
                T: Copy + Default,
            {
                pub x: T,
                pub ys: Vec<T>,
                pub label: &'a str,
                pub fixed: [u8; N],
                pub count: u32,
            }
        },
    );
}

#[test]
fn unit_enum() {
    snapshot(
        "unit_enum",
        quote::quote! {
            #[soa(rename_all = "snake_case")]
            pub enum Side {
                Buy,
                SellShort,
                #[soa(rename = "x")]
                Cross = 7,
            }
        },
    );
}

#[test]
fn data_enum() {
    snapshot(
        "data_enum",
        quote::quote! {
            pub enum Event {
                Idle,
                Trade { price: f64, qty: u32 },
                Note(String, Option<u8>),
            }
        },
    );
}

#[test]
fn flatten_field() {
    snapshot(
        "flatten_field",
        quote::quote! {
            pub struct Leg {
                pub id: u32,
                #[soa(flatten)]
                pub origin: Geo,
                #[soa(flatten, rename = "to")]
                pub destination: Geo,
            }
        },
    );
}

#[test]
fn rename_all_skip_default() {
    snapshot(
        "rename_all_skip_default",
        quote::quote! {
            #[soa(rename_all = "camelCase", metadata(owner = "desk"))]
            pub struct Trade {
                pub trade_id: u64,
                #[soa(rename = "px")]
                pub unit_price: f64,
                #[soa(skip)]
                pub cache: Vec<u64>,
                #[soa(default, metadata(unit = "EUR"))]
                pub gross_fee: Option<f64>,
                #[soa(dictionary)]
                pub book_name: String,
                #[soa(timestamp = "ms")]
                pub ts: i64,
            }
        },
    );
}

#[test]
fn custom_crate_path() {
    snapshot(
        "custom_crate_path",
        quote::quote! {
            #[soa(crate = "reexport::soa_rt")]
            pub struct Tick {
                pub id: u64,
                pub side: Side,
            }
        },
    );
}
