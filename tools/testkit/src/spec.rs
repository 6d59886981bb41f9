// SPDX-License-Identifier: GPL-2.0
//! The values of an NVDIMM spec (`# nvdimm:` headers, the harness's
//! hotplug requests, the VMM's `--nvdimm`) that both tools read: on/off
//! switches, `label-methods=` and `flush-hints=`.

use std::fmt;

/// The most flush hints of one DIMM.
pub const MAX_FLUSH_HINTS: u8 = 8;

/// A value a key does not take: the message names the key and the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError(pub String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

/// The callers' errors are still text.
impl From<SpecError> for String {
    fn from(e: SpecError) -> String {
        e.0
    }
}

/// `on`, `yes`, `true` or `off`, `no`, `false` (QEMU's and the scenario
/// headers' switches).
pub fn parse_switch(key: &str, v: &str) -> Result<bool, SpecError> {
    match v {
        "on" | "yes" | "true" => Ok(true),
        "off" | "no" | "false" => Ok(false),
        _ => Err(SpecError(format!("{key}={v}: expected on or off"))),
    }
}

/// `flush-hints=N`: 0 to [`MAX_FLUSH_HINTS`].
pub fn parse_flush_hints(v: &str) -> Result<u8, SpecError> {
    v.parse::<u8>()
        .ok()
        .filter(|n| *n <= MAX_FLUSH_HINTS)
        .ok_or_else(|| SpecError(format!("flush-hints={v}: expected 0 to {MAX_FLUSH_HINTS}")))
}

/// Label access methods of a DIMM (`label-methods=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LabelMethods {
    /// Intel `_DSM` functions 4, 5 and 6 only (QEMU's interface).
    #[default]
    Off,
    /// `_LSI`, `_LSR` and `_LSW` only: function 0 no longer lists 4-6.
    On,
    /// Both the methods and the `_DSM` functions.
    Both,
    /// `_LSI` and `_LSR` only, no `_LSW`: labels the OS may read but not
    /// write (as with `on`, function 0 no longer lists 4-6).
    Ro,
}

impl LabelMethods {
    /// `off`, `on`, `ro` or `both`.
    pub fn parse(v: &str) -> Result<Self, SpecError> {
        match v {
            "off" => Ok(LabelMethods::Off),
            "on" => Ok(LabelMethods::On),
            "both" => Ok(LabelMethods::Both),
            "ro" => Ok(LabelMethods::Ro),
            _ => Err(SpecError(format!(
                "label-methods={v}: expected off, on, ro or both"
            ))),
        }
    }

    /// Whether the DIMM's device has `_LSI` and `_LSR`.
    pub fn methods(self) -> bool {
        self != LabelMethods::Off
    }

    /// Whether the DIMM's device also has `_LSW`.
    pub fn writes(self) -> bool {
        matches!(self, LabelMethods::On | LabelMethods::Both)
    }

    /// Whether the Intel `_DSM` offers functions 4, 5 and 6.
    pub fn dsm(self) -> bool {
        matches!(self, LabelMethods::Off | LabelMethods::Both)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        for v in ["on", "yes", "true"] {
            assert_eq!(parse_switch("k", v), Ok(true));
        }
        for v in ["off", "no", "false"] {
            assert_eq!(parse_switch("k", v), Ok(false));
        }
        assert_eq!(
            String::from(parse_switch("unarmed", "maybe").unwrap_err()),
            "unarmed=maybe: expected on or off"
        );
        assert_eq!(parse_flush_hints("8"), Ok(8));
        assert_eq!(parse_flush_hints("0"), Ok(0));
        for bad in ["9", "-1", "", "x", "256"] {
            assert!(parse_flush_hints(bad).is_err(), "{bad}");
        }
        assert_eq!(LabelMethods::parse("both"), Ok(LabelMethods::Both));
        assert!(LabelMethods::parse("On").is_err());
        assert!(LabelMethods::On.methods() && !LabelMethods::On.dsm());
        assert!(!LabelMethods::Off.methods() && LabelMethods::Off.dsm());
        assert!(LabelMethods::Both.methods() && LabelMethods::Both.dsm());
        let ro = LabelMethods::parse("ro").unwrap();
        assert!(ro.methods() && !ro.writes() && !ro.dsm());
        assert!(LabelMethods::On.writes() && LabelMethods::Both.writes());
    }
}
