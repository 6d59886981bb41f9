// SPDX-License-Identifier: GPL-2.0
//! The device models. None of them knows QEMU: a transport (see
//! `crate::transport`) hands them the guest's calls and serves their
//! answers.
//!
//! - [`nvdimm`]: the NFIT platform (root device, DIMMs, label areas, ARS,
//!   flush hints, hotplug), called through [`crate::dsm::DsmCall`]s;
//! - [`ocxl`]: the OpenCAPI persistent memory card, a register-file
//!   device ([`card::Device`]);
//! - [`faults`]: the fault rules both share.

pub mod card;
pub mod faults;
pub mod nvdimm;
pub mod ocxl;
