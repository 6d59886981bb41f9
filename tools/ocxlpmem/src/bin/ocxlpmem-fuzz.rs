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

use fuzz_rng::{parse_u64, report};
use ocxlpmem_core::fuzz;
use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!("usage: ocxlpmem-fuzz [--iterations N] [--seed S]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut iterations = 1_000_000u64;
    let mut seed = 0u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let value = args.next().as_deref().and_then(parse_u64);
        match (a.as_str(), value) {
            ("--iterations", Some(n)) => iterations = n,
            ("--seed", Some(n)) => seed = n,
            _ => return usage(),
        }
    }
    report(seed, || fuzz::run(iterations, seed))
}
