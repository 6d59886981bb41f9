// SPDX-License-Identifier: GPL-2.0
//! What an Intel-family DIMM remembers across power cycles and VMM runs:
//! security (state and passphrases), SMART values and thresholds, the
//! dirty-shutdown count, firmware versions. Kept in a JSON file
//! (`state=PATH`) written atomically on every change, or in memory.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A 32-byte passphrase, as the DSM payloads carry it.
pub const PASSPHRASE_LEN: usize = 32;

/// Why a state file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not an Intel DIMM state file: {source}", path.display())]
    Malformed {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{}: {field}: {why}", path.display())]
    Invalid {
        path: PathBuf,
        field: &'static str,
        why: &'static str,
    },
    #[error("{}: not a regular file", path.display())]
    NotAFile { path: PathBuf },
    #[error("{}: not an Intel DIMM state file: expected a JSON object", path.display())]
    NotAnObject { path: PathBuf },
}

/// Security, as the DIMM keeps it (passphrases in hex in the file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityState {
    /// The user passphrase, when security is enabled.
    #[serde(serialize_with = "pass_to_hex", deserialize_with = "pass_from_hex")]
    pub passphrase: Option<[u8; PASSPHRASE_LEN]>,
    /// The master passphrase (the master feature is always supported;
    /// all zeros until set, as Intel DIMMs ship).
    #[serde(serialize_with = "pass_to_hex", deserialize_with = "pass_from_hex")]
    pub master_passphrase: Option<[u8; PASSPHRASE_LEN]>,
    /// Locked: the data and labels cannot be reached until Unlock Unit.
    /// A DIMM with a passphrase boots locked.
    pub locked: bool,
    /// Frozen (until the next power cycle).
    pub frozen: bool,
    /// Wrong passphrases in a row; at the passphrase limit (five)
    /// the DIMM refuses passphrase commands until a power cycle.
    pub failed_attempts: u32,
    pub master_failed_attempts: u32,
}

/// SMART values and thresholds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmartState {
    /// Health bits set by the host (1 non-critical, 2 critical, 4 fatal);
    /// alarm trips add non-critical.
    pub health: u8,
    /// Spare blocks left, percent.
    pub spares: u8,
    /// Life used, percent.
    pub life_used: u8,
    /// Media and controller temperature, Intel's encoding (1/16 °C,
    /// bit 15 the sign).
    pub media_temperature: u16,
    pub ctrl_temperature: u16,
    /// Values injected by the guest (function 18) in place of the above.
    pub injected_media_temperature: Option<u16>,
    pub injected_spares: Option<u8>,
    pub injected_fatal: bool,
    /// Last shutdown dirty, and how many dirty shutdowns there were.
    pub shutdown_dirty: bool,
    pub shutdown_count: u32,
    /// Latch System Shutdown Status (function 10) enabled.
    pub latch: bool,
    /// Thresholds (functions 2 and 17): which alarms are enabled (bit 0
    /// spares, 1 media temperature, 2 controller temperature) and at what.
    pub alarm_control: u16,
    pub spares_threshold: u8,
    pub media_temperature_threshold: u16,
    pub ctrl_temperature_threshold: u16,
}

impl Default for SmartState {
    fn default() -> Self {
        SmartState {
            health: 0,
            spares: 100,
            life_used: 0,
            media_temperature: 25 * 16,
            ctrl_temperature: 30 * 16,
            injected_media_temperature: None,
            injected_spares: None,
            injected_fatal: false,
            shutdown_dirty: false,
            shutdown_count: 0,
            latch: false,
            alarm_control: 0,
            spares_threshold: 10,
            media_temperature_threshold: 80 * 16,
            ctrl_temperature_threshold: 90 * 16,
        }
    }
}

/// Firmware: the running and staged versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FirmwareState {
    pub running_version: u64,
    /// A verified image waiting for activation or a power cycle.
    pub staged_version: Option<u64>,
    /// The last activation's result (Intel's `ND_INTEL_DIMM_FWA_*`).
    pub activation_result: u16,
    /// Armed for the next bus activation.
    pub armed: bool,
}

impl Default for FirmwareState {
    fn default() -> Self {
        FirmwareState {
            running_version: 0x0102_0000_0000_0001,
            staged_version: None,
            activation_result: 0,
            armed: false,
        }
    }
}

/// Everything an Intel-family DIMM keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntelState {
    pub security: SecurityState,
    pub smart: SmartState,
    pub firmware: FirmwareState,
}

impl IntelState {
    /// Reads a state file; a missing file is the default state (it is
    /// written at the first change).
    pub fn load(path: &Path) -> Result<Self, StateError> {
        let io = |source| StateError::Io {
            path: path.to_path_buf(),
            source,
        };
        let text = match std::fs::symlink_metadata(path) {
            Ok(m) if !m.is_file() => {
                return Err(StateError::NotAFile {
                    path: path.to_path_buf(),
                })
            }
            Ok(_) => std::fs::read_to_string(path).map_err(io)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(io(e)),
        };
        if !text.trim_start().starts_with('{') {
            return Err(StateError::NotAnObject {
                path: path.to_path_buf(),
            });
        }
        let s: IntelState =
            serde_json::from_str(&text).map_err(|source| StateError::Malformed {
                path: path.to_path_buf(),
                source,
            })?;
        s.check(path)?;
        Ok(s)
    }

    fn check(&self, path: &Path) -> Result<(), StateError> {
        let invalid = |field, why| {
            Err(StateError::Invalid {
                path: path.to_path_buf(),
                field,
                why,
            })
        };
        let sm = &self.smart;
        if sm.spares > 100 || sm.injected_spares.is_some_and(|s| s > 100) {
            return invalid("smart.spares", "a percentage (0 to 100)");
        }
        if sm.life_used > 100 {
            return invalid("smart.life_used", "a percentage (0 to 100)");
        }
        if sm.health & !7 != 0 {
            return invalid("smart.health", "bits 1, 2 and 4 only");
        }
        if sm.alarm_control & !7 != 0 {
            return invalid("smart.alarm_control", "bits 1, 2 and 4 only");
        }
        if self.security.locked && self.security.passphrase.is_none() {
            return invalid("security.locked", "locked without a passphrase");
        }
        Ok(())
    }

    /// Writes the state to `path` atomically: a temporary file in the
    /// same directory, synced, then renamed over it.
    pub fn store(&self, path: &Path) -> Result<(), StateError> {
        let io = |source| StateError::Io {
            path: path.to_path_buf(),
            source,
        };
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path.file_name().ok_or_else(|| {
            io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "no file name",
            ))
        })?;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".tmp{}", std::process::id()));
        let tmp = dir.join(tmp_name);
        let text = serde_json::to_string_pretty(self).map_err(|e| io(std::io::Error::other(e)))?;
        // A name someone else already took is an error, never removed.
        let mut f = File::options()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(io)?;
        let mut write = || -> std::io::Result<()> {
            f.write_all(text.as_bytes())?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| {
            // Ours: created above.
            let _ = std::fs::remove_file(&tmp);
            io(e)
        })
    }
}

/// A passphrase as 64 hex digits (or `null`).
fn pass_to_hex<S: serde::Serializer>(
    p: &Option<[u8; PASSPHRASE_LEN]>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match p {
        Some(p) => s.serialize_str(&p.iter().map(|b| format!("{b:02x}")).collect::<String>()),
        None => s.serialize_none(),
    }
}

fn pass_from_hex<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<[u8; PASSPHRASE_LEN]>, D::Error> {
    use serde::de::Error;
    let Some(text) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    let bytes = text.as_bytes();
    if bytes.len() != 2 * PASSPHRASE_LEN {
        return Err(D::Error::custom("a passphrase is 64 hex digits"));
    }
    let mut out = [0u8; PASSPHRASE_LEN];
    for (i, pair) in bytes.chunks(2).enumerate() {
        out[i] = std::str::from_utf8(pair)
            .ok()
            .and_then(|s| u8::from_str_radix(s, 16).ok())
            .ok_or_else(|| D::Error::custom("a passphrase is 64 hex digits"))?;
    }
    Ok(Some(out))
}
