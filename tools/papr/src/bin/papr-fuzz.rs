// SPDX-License-Identifier: GPL-2.0
//! Deterministic fuzzer of the papr_scm device-tree property parser.
//!
//! Usage: `papr-fuzz [--iterations N] [--seed S]`
//!
//! Generates `N` mutated `ibm,pmemory` property sets (same `S`, same
//! cases), checks each with `papr_scm::fuzz::check` (no panic, same answer
//! as an independent reference), and prints how many were accepted and how
//! many were rejected per error kind. On a panic it prints the iteration
//! and the case in hex and exits with status 1.

use papr_scm::fuzz;
use std::process::ExitCode;

fn main() -> ExitCode {
    fuzz_rng::main("papr-fuzz", fuzz::run)
}
