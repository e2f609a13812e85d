//! Compile-time diagnostics of the derive macros (trybuild). The `.stderr` files depend on the
//! rustc version; regenerate with `TRYBUILD=overwrite cargo test -p soa-tests --test ui` and review.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/unsupported/*.rs");
    t.compile_fail("ui/attribute/*.rs");
    t.compile_fail("ui/field-type/*.rs");
}
