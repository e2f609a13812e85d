//! Test fixture: re-exports the runtime under another name, as a facade crate would. The crate
//! `soa-reexport-user` depends on this crate only and derives with
//! `#[soa(crate = "::soa_reexport::soa_rt")]`.

pub use soa_runtime as soa_rt;
