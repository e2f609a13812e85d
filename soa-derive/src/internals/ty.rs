//! Structural recognition of a few type shapes the adapters need (`Option<X>`, `Vec<u8>`,
//! `Vec<X>`). Only used for attribute-chosen layouts; the default mapping is trait-based.

use syn::{GenericArgument, PathArguments, Type};

/// `Option<X>` (also `std::option::Option<X>`, `core::option::Option<X>`) -> `X`.
pub fn option_inner(ty: &Type) -> Option<&Type> {
    generic_inner(ty, "Option")
}

/// `Vec<X>` -> `X`.
pub fn vec_inner(ty: &Type) -> Option<&Type> {
    generic_inner(ty, "Vec")
}

/// `Vec<u8>`.
pub fn is_vec_u8(ty: &Type) -> bool {
    vec_inner(ty).is_some_and(|inner| matches!(inner, Type::Path(p) if p.path.is_ident("u8")))
}

fn generic_inner<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(path) = ty else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(inner) if args.args.len() == 1 => Some(inner),
        _ => None,
    }
}
