// SPDX-License-Identifier: GPL-2.0
//! Sizes as the scenarios, the harness and the VMM write them.
//!
//! The grammar (QEMU's binary suffixes, one implementation for both tools):
//!
//! ```text
//! size   := blank* digits suffix? blank*
//! digits := what u64's FromStr takes: decimal digits, an optional leading '+'
//! suffix := K | M | G | T  (either case; 2^10, 2^20, 2^30, 2^40 bytes)
//! ```
//!
//! No suffix is a byte count. Anything else (an empty string, a fraction,
//! `KiB`, `B`, two suffixes, a negative number) is [`SizeError::Bad`]; a
//! product past `u64::MAX` is [`SizeError::Overflow`].

use std::fmt;

/// Why a size string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SizeError {
    /// Not a size (the trimmed text).
    Bad(String),
    /// A size past 2^64 - 1 bytes (the trimmed text).
    Overflow(String),
}

impl fmt::Display for SizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SizeError::Bad(s) => write!(f, "'{s}' is not a size (e.g. 512M, 128K, 1G, 2T)"),
            SizeError::Overflow(s) => write!(f, "size '{s}' is too large"),
        }
    }
}

impl std::error::Error for SizeError {}

/// The callers' errors are still text.
impl From<SizeError> for String {
    fn from(e: SizeError) -> String {
        e.to_string()
    }
}

/// Parses `512M`, `128K`, `1G`, `2T` or a byte count (see the module).
pub fn parse_size(s: &str) -> Result<u64, SizeError> {
    let s = s.trim();
    let (num, shift) = match s.chars().last() {
        Some('K' | 'k') => (&s[..s.len() - 1], 10),
        Some('M' | 'm') => (&s[..s.len() - 1], 20),
        Some('G' | 'g') => (&s[..s.len() - 1], 30),
        Some('T' | 't') => (&s[..s.len() - 1], 40),
        _ => (s, 0),
    };
    let n: u64 = num.parse().map_err(|_| SizeError::Bad(s.to_string()))?;
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| SizeError::Overflow(s.to_string()))
}

/// [`parse_size`] for clap's `value_parser` (which prints the error's text).
pub fn parse_size_arg(s: &str) -> Result<u64, SizeError> {
    parse_size(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_suffix() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("0"), Ok(0));
        for (k, shift) in [('k', 10), ('m', 20), ('g', 30), ('t', 40)] {
            assert_eq!(parse_size(&format!("3{k}")), Ok(3 << shift), "{k}");
            let up = k.to_ascii_uppercase();
            assert_eq!(parse_size(&format!("3{up}")), Ok(3 << shift), "{up}");
        }
        assert_eq!(parse_size(" 512M\n"), Ok(512 << 20), "blanks around");
        assert_eq!(parse_size("+1G"), Ok(1 << 30), "u64's own leading plus");
    }

    #[test]
    fn garbage_is_refused() {
        for s in [
            "", " ", "K", "12Q", "1.5G", "-1", "1KiB", "1B", "1KK", "1 G", "0x10", "G1", "1e3",
        ] {
            assert_eq!(parse_size(s), Err(SizeError::Bad(s.trim().into())), "{s:?}");
        }
        assert_eq!(
            parse_size("1é"),
            Err(SizeError::Bad("1é".into())),
            "a multibyte last character"
        );
    }

    #[test]
    fn overflow_is_refused() {
        assert_eq!(parse_size(&u64::MAX.to_string()), Ok(u64::MAX));
        assert_eq!(parse_size("16777215T"), Ok(16777215 << 40));
        assert_eq!(
            parse_size("16777216T"),
            Err(SizeError::Overflow("16777216T".into()))
        );
        assert_eq!(
            parse_size("99999999999T"),
            Err(SizeError::Overflow("99999999999T".into()))
        );
        assert_eq!(
            parse_size("18446744073709551616"),
            Err(SizeError::Bad("18446744073709551616".into())),
            "past u64 before any suffix"
        );
        assert_eq!(
            parse_size_arg("17179869184G").map_err(|e| e.to_string()),
            Err("size '17179869184G' is too large".into())
        );
    }
}
