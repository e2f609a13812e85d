//! Structural recognition of a few type shapes (`Option<X>`, `Vec<u8>`, `Vec<X>`, `String`), by
//! the last path segment as written. Used for attribute-chosen layouts and for two checks that
//! must fail at the attribute or the type rather than deep in the generated code
//! (`arrow_layout` on a non-string type, `Option<Option<T>>`); the default mapping is
//! trait-based, so a type alias still maps, and only these checks cannot see through one.

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

/// `String` (also `std::string::String`, `alloc::string::String`).
pub fn is_string(ty: &Type) -> bool {
    let Type::Path(path) = ty else {
        return false;
    };
    path.qself.is_none()
        && path
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "String" && s.arguments.is_none())
}

/// A type `#[soa(arrow_layout)]` has a column for, as written: `String` or `Option<String>`.
pub fn fits_arrow_layout(ty: &Type) -> bool {
    is_string(ty) || option_inner(ty).is_some_and(is_string)
}

/// The inner `Option<..>` of the first `Option<Option<..>>` written anywhere in `ty` (in generic
/// arguments, arrays, slices, references, tuples), outermost first.
pub fn double_option(ty: &Type) -> Option<&Type> {
    if let Some(inner) = option_inner(ty)
        && option_inner(inner).is_some()
    {
        return Some(inner);
    }
    match ty {
        Type::Path(path) => path.path.segments.iter().find_map(|segment| {
            let PathArguments::AngleBracketed(args) = &segment.arguments else {
                return None;
            };
            args.args.iter().find_map(|arg| match arg {
                GenericArgument::Type(t) => double_option(t),
                _ => None,
            })
        }),
        Type::Array(a) => double_option(&a.elem),
        Type::Slice(s) => double_option(&s.elem),
        Type::Reference(r) => double_option(&r.elem),
        Type::Paren(p) => double_option(&p.elem),
        Type::Group(g) => double_option(&g.elem),
        Type::Tuple(t) => t.elems.iter().find_map(double_option),
        _ => None,
    }
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
