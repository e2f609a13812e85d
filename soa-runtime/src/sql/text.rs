//! SQL text: quoted identifiers, literals, `ENUM` types.

/// A double-quoted SQL identifier.
pub(super) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A single-quoted SQL string literal.
pub(super) fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// `ENUM('A', 'B')`.
pub(super) fn enum_type(variants: &[String]) -> String {
    let names: Vec<String> = variants.iter().map(|v| literal(v)).collect();
    format!("ENUM({})", names.join(", "))
}
