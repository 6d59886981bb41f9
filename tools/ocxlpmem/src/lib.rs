// SPDX-License-Identifier: GPL-2.0
//! Host build of the `core`-only protocol of the Rust ocxlpmem driver.
//!
//! [`regs`], [`error`], [`admin`], [`data`], [`commands`], [`uapi`],
//! [`smart`] and [`attach`] are the kernel's files from
//! `drivers/nvdimm/ocxlpmem_rs/`, compiled unchanged (they refer to each
//! other as `super::regs`, ..., so they stay siblings here as in the
//! kernel module). Around them this crate adds what the kernel build does
//! not need: the device side of the data layouts ([`device`], used by the
//! test VMM's card model), a register window over memory ([`mem`]), the
//! SMART packages and report of the tool ([`health`]), a deterministic
//! fuzzer ([`fuzz`], driven by the `ocxlpmem-fuzz` binary) and the tests.

#![forbid(unsafe_code)]

// The kernel's files, compiled as they are. `rustfmt::skip`: `cargo fmt`
// here must not reformat files that belong to the kernel tree.
#[rustfmt::skip]
#[path = "../../../drivers/nvdimm/ocxlpmem_rs/error.rs"]
pub mod error;
#[rustfmt::skip]
#[path = "../../../drivers/nvdimm/ocxlpmem_rs/regs.rs"]
pub mod regs;
#[rustfmt::skip]
#[path = "../../../drivers/nvdimm/ocxlpmem_rs/admin.rs"]
pub mod admin;
#[rustfmt::skip]
#[path = "../../../drivers/nvdimm/ocxlpmem_rs/data.rs"]
pub mod data;
#[rustfmt::skip]
#[path = "../../../drivers/nvdimm/ocxlpmem_rs/commands.rs"]
pub mod commands;
#[rustfmt::skip]
#[path = "../../../drivers/nvdimm/ocxlpmem_rs/firmware.rs"]
pub mod firmware;
#[rustfmt::skip]
#[path = "../../../drivers/nvdimm/ocxlpmem_rs/uapi.rs"]
pub mod uapi;
#[rustfmt::skip]
#[path = "../../../drivers/nvdimm/ocxlpmem_rs/attach.rs"]
pub mod attach;
#[rustfmt::skip]
#[path = "../../../drivers/nvdimm/ocxlpmem_rs/smart.rs"]
pub mod smart;

pub mod device;
pub mod fuzz;
pub mod health;
pub mod mem;

#[cfg(test)]
mod tests;
