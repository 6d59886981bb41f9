// SPDX-License-Identifier: GPL-2.0
//! Host build of the NFIT parser of the `nfit_rs` kernel module.
//!
//! [`table`] is the kernel's own `table.rs`, compiled unchanged (it is
//! `core`-only). Around it this crate adds what the kernel build cannot
//! have: a table builder that emits NFITs the way QEMU does
//! ([`builder`]), reference implementations of the C driver's interleave-set
//! cookies ([`reference`]), and a deterministic mutation fuzzer
//! ([`fuzz`], driven by the `nfit-fuzz` binary and the cargo-fuzz target in
//! `fuzz/`).

#![forbid(unsafe_code)]

// The kernel's file, compiled as is. `rustfmt::skip`: `cargo fmt` here must
// not reformat a file that belongs to the kernel tree. The clippy allowance
// covers a style lint that table.rs trips on the host toolchain (see the
// crate's README); it changes nothing in the kernel build.
#[rustfmt::skip]
#[allow(clippy::collapsible_match)]
#[path = "../../../drivers/acpi/nfit/nfit_rs/table.rs"]
pub mod table;

// The kernel's ARS/clear-error buffer parsers (`nfit_rs/ars.rs`), as is.
#[rustfmt::skip]
#[path = "../../../drivers/acpi/nfit/nfit_rs/ars.rs"]
pub mod ars;

// The kernel's DIMM `_DSM` families and label answer parsers
// (`nfit_rs/dsm.rs`), as is.
#[rustfmt::skip]
#[path = "../../../drivers/acpi/nfit/nfit_rs/dsm.rs"]
pub mod dsm;

// The kernel's Intel `_DSM` family layouts, status translations and
// firmware activation caches (`nfit_rs/intel.rs`), as is.
#[rustfmt::skip]
#[path = "../../../drivers/acpi/nfit/nfit_rs/intel.rs"]
pub mod intel;

// The kernel's machine-check range arithmetic (`nfit_rs/poison.rs`), as is.
#[rustfmt::skip]
#[path = "../../../drivers/acpi/nfit/nfit_rs/poison.rs"]
pub mod poison;

pub mod builder;
pub mod fuzz;
pub mod reference;

#[cfg(test)]
mod ars_tests;
#[cfg(test)]
mod dsm_tests;
#[cfg(test)]
mod intel_tests;
#[cfg(test)]
mod merge_tests;
#[cfg(test)]
mod poison_tests;
#[cfg(test)]
mod tests;
