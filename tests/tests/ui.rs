//! Compile-time diagnostics of the derive macros (trybuild). The `.stderr` files depend on the
//! rustc version; regenerate with `TRYBUILD=overwrite cargo test -p soa-tests --test ui` and review.
//!
//! One misuse per file where practical. `ui/cascade/` caps the error cascade: each file has one
//! misuse and uses the generated API in `main`, and its `.stderr` holds exactly one error.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/unsupported/*.rs");
    t.compile_fail("ui/attribute/*.rs");
    t.compile_fail("ui/field-type/*.rs");
    t.compile_fail("ui/cascade/*.rs");
    t.compile_fail("ui/predicate/*.rs");
}
