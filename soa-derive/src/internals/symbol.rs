//! Attribute keys, as constants so a typo is a compile error here and not a silent no-op.

use std::fmt::{self, Display};

use syn::{Ident, Path};

#[derive(Copy, Clone, Debug)]
pub struct Symbol(&'static str);

pub const SOA: Symbol = Symbol("soa");
pub const CRATE: Symbol = Symbol("crate");
pub const DERIVE: Symbol = Symbol("derive");
pub const RENAME: Symbol = Symbol("rename");

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
