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

use nfit_table::fuzz;
use std::process::ExitCode;
use std::time::Instant;

fn parse_u64(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

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

    // Quiet the default hook: the report below carries the message.
    std::panic::set_hook(Box::new(|_| {}));
    let start = Instant::now();
    let result = fuzz::run(iterations, seed);
    let elapsed = start.elapsed();
    match result {
        Ok(stats) => {
            println!("seed: {seed:#x}");
            println!("{stats}");
            println!("time: {:.2} s", elapsed.as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(crash) => {
            println!(
                "PANIC at iteration {} (seed {seed:#x}): {}",
                crash.iteration, crash.message
            );
            println!(
                "input ({} bytes): {}",
                crash.input.len(),
                fuzz::hex(&crash.input)
            );
            ExitCode::FAILURE
        }
    }
}
