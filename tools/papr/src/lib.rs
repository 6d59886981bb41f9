// SPDX-License-Identifier: GPL-2.0
//! Host build of the `core`-only logic of the Rust papr_scm driver.
//!
//! [`hcall`], [`dt`], [`logic`], [`health`], [`stats`] and [`pmu`] are the kernel's
//! files from `drivers/nvdimm/papr_scm_rs/`, compiled unchanged (they refer
//! to each other as `super::hcall`, ..., so they stay siblings here as in
//! the kernel module). Around them this crate adds what the kernel build
//! cannot have: a PAPR SCM hypervisor model with fault injection
//! ([`model`], independent of any transport so the test VMM can serve it to
//! a guest), a deterministic fuzzer of the device-tree property parser
//! ([`fuzz`], driven by the `papr-fuzz` binary) and the tests.

#![forbid(unsafe_code)]

// The kernel's files, compiled as they are. `rustfmt::skip`: `cargo fmt`
// here must not reformat files that belong to the kernel tree (they are
// formatted with the kernel's rustfmt configuration).
#[rustfmt::skip]
#[path = "../../../drivers/nvdimm/papr_scm_rs/hcall.rs"]
pub mod hcall;
#[rustfmt::skip]
#[path = "../../../drivers/nvdimm/papr_scm_rs/dt.rs"]
pub mod dt;
#[rustfmt::skip]
#[path = "../../../drivers/nvdimm/papr_scm_rs/logic.rs"]
pub mod logic;
#[rustfmt::skip]
#[path = "../../../drivers/nvdimm/papr_scm_rs/health.rs"]
pub mod health;
#[rustfmt::skip]
#[path = "../../../drivers/nvdimm/papr_scm_rs/stats.rs"]
pub mod stats;
#[rustfmt::skip]
#[path = "../../../drivers/nvdimm/papr_scm_rs/pmu.rs"]
pub mod pmu;
#[path = "../../../drivers/nvdimm/papr_scm_rs/poison.rs"]
pub mod poison;

mod display;
pub mod fuzz;
pub mod model;

#[cfg(test)]
mod poison_tests;
#[cfg(test)]
mod tests;
