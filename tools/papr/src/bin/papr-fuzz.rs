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
use std::time::Instant;

fn parse_u64(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

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

    // Quiet the default hook: the report below carries the message.
    std::panic::set_hook(Box::new(|_| {}));
    let start = Instant::now();
    let result = fuzz::run(iterations, seed);
    let elapsed = start.elapsed();
    match result {
        Ok(stats) => {
            println!("seed: {seed:#x}");
            print!("{stats}");
            println!("time: {:.2} s", elapsed.as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(crash) => {
            println!(
                "PANIC at iteration {} (seed {seed:#x}): {}",
                crash.iteration, crash.message
            );
            print!("{}", crash.case);
            ExitCode::FAILURE
        }
    }
}
