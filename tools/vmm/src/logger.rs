// SPDX-License-Identifier: GPL-2.0
//! The VMM's own messages: `log` records written to stderr as
//! `nvdimm-vmm: MESSAGE` lines, the form the harness and users have
//! always seen.
//!
//! The level is `info` unless `NVDIMM_VMM_LOG` (`error`, `warn`, `info`
//! or `debug`) says otherwise; the command line wins over it: `--quiet`
//! keeps warnings and errors only, `-v` adds debug messages. Errors are
//! always written.

use log::{LevelFilter, Log, Metadata, Record};

/// The environment variable that sets the level.
pub const ENV: &str = "NVDIMM_VMM_LOG";

/// Writes every enabled record to stderr, one line each.
struct Stderr;

impl Log for Stderr {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("nvdimm-vmm: {}", record.args());
        }
    }

    fn flush(&self) {}
}

static LOGGER: Stderr = Stderr;

/// A level named by [`ENV`]; `None` for anything else.
pub fn parse_level(s: &str) -> Option<LevelFilter> {
    match s.trim().to_ascii_lowercase().as_str() {
        "error" => Some(LevelFilter::Error),
        "warn" => Some(LevelFilter::Warn),
        "info" => Some(LevelFilter::Info),
        "debug" => Some(LevelFilter::Debug),
        _ => None,
    }
}

/// Installs the logger at the level [`ENV`] gives (`info` without it).
/// Called first thing: messages of the command line's own checks go
/// through it too.
pub fn init() {
    let env = std::env::var(ENV).ok();
    let level = env.as_deref().map(parse_level);
    // A second logger cannot be installed: only the level then changes.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level.flatten().unwrap_or(LevelFilter::Info));
    if let (Some(v), Some(None)) = (env, level) {
        log::warn!("{ENV}={v}: expected error, warn, info or debug; using info");
    }
}

/// The level the command line asks for, if any: `-v` (debug) wins over
/// `--quiet` (warn).
pub fn cli_level(quiet: bool, verbose: bool) -> Option<LevelFilter> {
    match (verbose, quiet) {
        (true, _) => Some(LevelFilter::Debug),
        (false, true) => Some(LevelFilter::Warn),
        (false, false) => None,
    }
}

/// Sets the level the command line asks for, if any.
pub fn apply_cli(quiet: bool, verbose: bool) {
    if let Some(level) = cli_level(quiet, verbose) {
        log::set_max_level(level);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        assert_eq!(parse_level("debug"), Some(LevelFilter::Debug));
        assert_eq!(parse_level(" WARN\n"), Some(LevelFilter::Warn));
        assert_eq!(parse_level("error"), Some(LevelFilter::Error));
        assert_eq!(parse_level("info"), Some(LevelFilter::Info));
        // Errors cannot be turned off.
        assert_eq!(parse_level("off"), None);
        assert_eq!(parse_level("trace"), None);
        assert_eq!(cli_level(false, false), None);
        assert_eq!(cli_level(true, false), Some(LevelFilter::Warn));
        assert_eq!(cli_level(true, true), Some(LevelFilter::Debug));
        assert_eq!(cli_level(false, true), Some(LevelFilter::Debug));
    }
}
