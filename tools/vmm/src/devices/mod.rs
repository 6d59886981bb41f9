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

// Register access helpers the transport's own tests use.
#[allow(dead_code)]
pub mod card;
pub mod faults;
pub mod nvdimm;
// The model offers more than the control protocol reaches yet (error log
// entries, fatal failures, malformed answers): its tests use all of it.
#[allow(dead_code)]
pub mod ocxl;
