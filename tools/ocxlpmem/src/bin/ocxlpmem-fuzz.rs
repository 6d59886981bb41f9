// SPDX-License-Identifier: GPL-2.0
//! Deterministic fuzzer of the ocxlpmem protocol parsers.
//!
//! Usage: `ocxlpmem-fuzz [--iterations N] [--seed S]`
//!
//! Generates `N` cases (same `S`, same cases): data buffers, command area
//! registers, ioctl payloads and hostile controllers (see
//! `ocxlpmem_core::fuzz`), checks each, and prints the cases per target
//! and the outcomes per error kind. On a panic it prints the iteration and
//! the case and exits with status 1.

use ocxlpmem_core::fuzz;
use std::process::ExitCode;

fn main() -> ExitCode {
    fuzz_rng::main("ocxlpmem-fuzz", fuzz::run)
}
