// SPDX-License-Identifier: GPL-2.0
//! What the host fuzzers (`nfit-fuzz`, `papr-fuzz`, `ocxlpmem-fuzz`) and the
//! randomised tests share: the deterministic generator (SplitMix64, so a
//! seed printed by a failing run reproduces it exactly), the fuzzer
//! binaries' command line and run-and-report step ([`main`], [`report`])
//! and running one case with its panic caught ([`catch`]).

#![forbid(unsafe_code)]

use std::fmt;
use std::process::ExitCode;
use std::time::Instant;

/// A fuzzer's first failure: where it happened and why; its `Display` is
/// the failing input, as the fuzzer prints it.
pub trait Crash: fmt::Display {
    /// The iteration that failed.
    fn iteration(&self) -> u64;
    /// The panic message.
    fn message(&self) -> &str;
}

/// A boxed crash (a fuzzer whose failing input is large) reports as its
/// contents.
impl<T: Crash + ?Sized> Crash for Box<T> {
    fn iteration(&self) -> u64 {
        (**self).iteration()
    }

    fn message(&self) -> &str {
        (**self).message()
    }
}

/// A decimal or `0x` hexadecimal command-line number.
pub fn parse_u64(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Runs one fuzz case: its result, or the message of the panic it raised.
pub fn catch<T>(case: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(case)).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "non-string panic".to_string())
    })
}

/// A fuzzer binary's `main`: parses `[--iterations N] [--seed S]` (1,000,000
/// and 0 by default), then runs `run(iterations, seed)` through [`report`];
/// `name` is the binary's, for the usage line.
pub fn main<S: fmt::Display, C: Crash>(
    name: &str,
    run: impl FnOnce(u64, u64) -> Result<S, C>,
) -> ExitCode {
    let mut iterations = 1_000_000u64;
    let mut seed = 0u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let value = args.next().as_deref().and_then(parse_u64);
        match (a.as_str(), value) {
            ("--iterations", Some(n)) => iterations = n,
            ("--seed", Some(n)) => seed = n,
            _ => {
                eprintln!("usage: {name} [--iterations N] [--seed S]");
                return ExitCode::from(2);
            }
        }
    }
    report(seed, || run(iterations, seed))
}

/// Runs a fuzzer with the default panic hook quieted (the report carries
/// the message) and prints the seed, the statistics and the time, or the
/// crash and its input; returns the binary's exit status.
pub fn report<S: fmt::Display, C: Crash>(
    seed: u64,
    run: impl FnOnce() -> Result<S, C>,
) -> ExitCode {
    std::panic::set_hook(Box::new(|_| {}));
    let start = Instant::now();
    let result = run();
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
                crash.iteration(),
                crash.message()
            );
            print!("{crash}");
            ExitCode::FAILURE
        }
    }
}

/// SplitMix64.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (multiply-high, no modulo bias worth the name);
    /// 0 when `n` is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// An index into a slice of `len` elements (0 when `len` is 0).
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    /// One element of `s`, which must not be empty (a fuzzer's own tables).
    pub fn pick<T: Copy>(&mut self, s: &[T]) -> T {
        s[self.index(s.len())]
    }
}

#[cfg(test)]
mod tests {
    use super::{catch, Rng};

    #[test]
    fn splitmix64_reference_values() {
        // The first outputs for seed 0 (Vigna's reference implementation).
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn numbers() {
        assert_eq!(super::parse_u64("42"), Some(42));
        assert_eq!(super::parse_u64("0x2a"), Some(42));
        assert_eq!(super::parse_u64("0xz"), None);
        assert_eq!(super::parse_u64(""), None);
    }

    #[test]
    fn bounds() {
        let mut r = Rng::new(42);
        assert_eq!(r.below(0), 0);
        assert_eq!(r.index(0), 0);
        for n in [1u64, 2, 3, 7, 1000, u64::MAX] {
            for _ in 0..1000 {
                assert!(r.below(n) < n);
            }
        }
        assert!((0..1000).all(|_| !r.chance(0, 5)));
        assert!((0..1000).all(|_| r.chance(5, 5)));
    }

    #[test]
    fn catch_reports_panic_messages() {
        assert_eq!(catch(|| 7), Ok(7));
        assert_eq!(
            catch(|| -> u8 { panic!("at {}", 3) }),
            Err("at 3".to_string())
        );
        assert_eq!(
            catch(|| -> u8 { panic!("plain") }),
            Err("plain".to_string())
        );
        assert_eq!(
            catch(|| -> u8 { std::panic::panic_any(5u32) }),
            Err("non-string panic".to_string())
        );
    }
}
