// SPDX-License-Identifier: GPL-2.0
//! Deterministic mutation fuzzer of the kernel's NFIT parser.
//!
//! Usage: `nfit-fuzz [--iterations N] [--seed S] [--write-seeds DIR]`
//!
//! Generates `N` inputs from the builder's QEMU-like tables and random
//! bytes (same `S`, same inputs), checks each with
//! `nfit_table::fuzz::check`, and prints how many were accepted and how
//! many were rejected per error kind. On a panic it prints the iteration
//! and the input in hex and exits with status 1. `--write-seeds DIR` writes
//! the seed tables as files (a starting corpus for cargo-fuzz) and exits.

use fuzz_rng::{parse_u64, report};
use nfit_table::fuzz;
use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!("usage: nfit-fuzz [--iterations N] [--seed S] [--write-seeds DIR]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut iterations = 1_000_000u64;
    let mut seed = 0u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let value = args.next();
        match (a.as_str(), value) {
            ("--iterations", Some(v)) => match parse_u64(&v) {
                Some(n) => iterations = n,
                None => return usage(),
            },
            ("--seed", Some(v)) => match parse_u64(&v) {
                Some(n) => seed = n,
                None => return usage(),
            },
            ("--write-seeds", Some(dir)) => {
                if let Err(e) = std::fs::create_dir_all(&dir) {
                    eprintln!("{dir}: {e}");
                    return ExitCode::FAILURE;
                }
                for (i, s) in fuzz::seeds().iter().enumerate() {
                    let path = format!("{dir}/seed-{i:02}.bin");
                    if let Err(e) = std::fs::write(&path, s) {
                        eprintln!("{path}: {e}");
                        return ExitCode::FAILURE;
                    }
                }
                return ExitCode::SUCCESS;
            }
            _ => return usage(),
        }
    }

    report(seed, || fuzz::run(iterations, seed))
}
