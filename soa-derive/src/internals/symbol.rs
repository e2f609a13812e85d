//! Attribute keys, as constants so a typo is a compile error here and not a silent no-op.

use std::fmt::{self, Display};

use syn::{Ident, Path};

#[derive(Copy, Clone, Debug)]
pub struct Symbol(&'static str);

pub const SOA: Symbol = Symbol("soa");
pub const CRATE: Symbol = Symbol("crate");
pub const DERIVE: Symbol = Symbol("derive");
pub const RENAME: Symbol = Symbol("rename");
pub const RENAME_ALL: Symbol = Symbol("rename_all");
pub const METADATA: Symbol = Symbol("metadata");
pub const SKIP: Symbol = Symbol("skip");
pub const DEFAULT: Symbol = Symbol("default");
pub const DICTIONARY: Symbol = Symbol("dictionary");
pub const LARGE: Symbol = Symbol("large");
pub const TIMESTAMP: Symbol = Symbol("timestamp");
pub const DECIMAL: Symbol = Symbol("decimal");
pub const PRECISION: Symbol = Symbol("precision");
pub const SCALE: Symbol = Symbol("scale");
pub const FLATTEN: Symbol = Symbol("flatten");
pub const ARROW_LAYOUT: Symbol = Symbol("arrow_layout");
pub const PARTITION: Symbol = Symbol("partition");

impl PartialEq<Symbol> for Ident {
    fn eq(&self, word: &Symbol) -> bool {
        self == word.0
    }
}

impl PartialEq<Symbol> for Path {
    fn eq(&self, word: &Symbol) -> bool {
        self.is_ident(word.0)
    }
}

impl Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}
