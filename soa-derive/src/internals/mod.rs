//! Parsing and validation: input -> validated `ast::Container`.

pub mod ast;
pub mod attr;
pub mod case;
pub mod check;
pub mod ctxt;
pub mod symbol;
pub mod ty;
