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

use fuzz_rng::{parse_u64, report};
use papr_scm::fuzz;
use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!("usage: papr-fuzz [--iterations N] [--seed S]");
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
