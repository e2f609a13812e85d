//! Shared fixtures for the cross-crate tests: the `Order` model of the README and demos and its
//! deterministic generator (defined once in `soa-fixtures`, re-exported here), the store
//! conformance suite and a stable schema rendering for snapshots.

pub use soa_fixtures::{Order, OrderGenerator, OrderRef, OrderSoA, Side, orders};

pub mod child;
pub mod conformance;

/// Renders a schema as stable text for snapshots (arrow's `Debug` output changes between
/// versions; this format is ours): one line per field, `name: Type [nullable] {metadata}`.
#[must_use]
pub fn render_schema(schema: &soa_runtime::arrow::datatypes::Schema) -> String {
    fn meta<'a>(m: impl IntoIterator<Item = (&'a String, &'a String)>) -> String {
        let mut pairs: Vec<_> = m.into_iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        if pairs.is_empty() {
            return String::new();
        }
        pairs.sort();
        format!(" {{{}}}", pairs.join(", "))
    }
    let mut out = String::new();
    for field in schema.fields() {
        out.push_str(&format!(
            "{}: {}{}{}\n",
            field.name(),
            field.data_type(),
            if field.is_nullable() { " nullable" } else { "" },
            meta(field.metadata()),
        ));
    }
    if !schema.metadata().is_empty() {
        out.push_str(&format!("schema metadata:{}\n", meta(schema.metadata())));
    }
    out
}
