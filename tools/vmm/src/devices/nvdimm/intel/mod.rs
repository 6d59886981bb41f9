// SPDX-License-Identifier: GPL-2.0
//! The Intel NVDIMM `_DSM` family beyond the label area (`intel=on`):
//! SMART and health ([`smart`]), security ([`security`]) and firmware
//! update and activation ([`firmware`]), over one DIMM's [`IntelState`],
//! which lives in memory or in a JSON file (`state=PATH`, [`state`])
//! written atomically on every change.
//!
//! Function numbers, layouts and statuses are Linux 7.3's
//! (`drivers/acpi/nfit/intel.h`, `nfit.h`) and ndctl's (`ndctl/lib/intel.h`).

pub mod firmware;
pub mod security;
pub mod smart;
pub mod state;
#[cfg(test)]
mod tests;
pub mod wire;

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub use state::{IntelState, StateError};
pub use wire::*;

/// The functions an `intel=on` DIMM adds to function 0's mask (the label
/// functions 4-6 come with a label area).
pub const FUNCTIONS: u32 = 1 << FN_SMART
    | 1 << FN_SMART_THRESHOLD
    | 1 << FN_DIMM_FLAGS
    | 1 << FN_LATCH_SHUTDOWN
    | 1 << FN_GET_FWINFO
    | 1 << FN_START_FWUPDATE
    | 1 << FN_SEND_FWUPDATE
    | 1 << FN_FINISH_FWUPDATE
    | 1 << FN_QUERY_FWUPDATE
    | 1 << FN_SET_THRESHOLD
    | 1 << FN_INJECT_ERROR
    | 1 << FN_GET_SECURITY_STATE
    | 1 << FN_SET_PASSPHRASE
    | 1 << FN_DISABLE_PASSPHRASE
    | 1 << FN_UNLOCK_UNIT
    | 1 << FN_FREEZE_LOCK
    | 1 << FN_SECURE_ERASE
    | 1 << FN_OVERWRITE
    | 1 << FN_QUERY_OVERWRITE
    | 1 << FN_SET_MASTER_PASSPHRASE
    | 1 << FN_MASTER_SECURE_ERASE
    | 1 << FN_FW_ACTIVATE_DIMMINFO
    | 1 << FN_FW_ACTIVATE_ARM;

/// A status-only result as the output buffer.
fn out(r: Result<(), Status>) -> Vec<u8> {
    r.err().unwrap_or(Status::Success).out()
}

/// The DIMM's media as the family reaches it: the backing file, its data
/// part `[0, data_len)` and its label area.
pub struct Media<'a> {
    pub file: &'a File,
    pub data_len: u64,
    pub label_offset: u64,
    pub label_len: u64,
}

impl Media<'_> {
    /// Zeroes `[offset, offset + len)`: punches a hole (the file stays
    /// sparse, the guest's shared mapping reads zeros), else writes zeros.
    fn wipe(&self, offset: u64, len: u64) -> std::io::Result<()> {
        if len == 0 {
            return Ok(());
        }
        let (Ok(o), Ok(l)) = (libc::off_t::try_from(offset), libc::off_t::try_from(len)) else {
            return Err(std::io::Error::from(std::io::ErrorKind::InvalidInput));
        };
        // SAFETY: fallocate on a descriptor we own, with plain integers.
        let rc = unsafe {
            libc::fallocate(
                self.file.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                o,
                l,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let zeros = vec![0u8; 1 << 20];
        let mut at = offset;
        while at < offset + len {
            let n = (offset + len - at).min(zeros.len() as u64) as usize;
            self.file.write_all_at(&zeros[..n], at)?;
            at += n as u64;
        }
        Ok(())
    }

    /// Erases the data (and with `labels` the label area). A media
    /// error (`fail`) erases the second half of the data only (the first
    /// stays as it was) and fails.
    fn erase(&self, labels: bool, fail: bool) -> Result<(), Status> {
        if fail {
            let half = self.data_len / 2;
            self.wipe(half, self.data_len - half)
                .map_err(|_| Status::HwError)?;
            return Err(Status::HwError);
        }
        self.wipe(0, self.data_len).map_err(|_| Status::HwError)?;
        if labels {
            self.wipe(self.label_offset, self.label_len)
                .map_err(|_| Status::HwError)?;
        }
        Ok(())
    }
}

/// An overwrite in progress.
#[derive(Debug, Clone, Copy)]
struct Overwrite {
    until: Instant,
    /// A media error: the query answers hardware error at the end.
    failed: bool,
}

/// One DIMM's Intel family: its state, where it is kept, and what runs.
pub struct IntelDimm {
    state: IntelState,
    path: Option<PathBuf>,
    overwrite_time: Duration,
    overwrite: Option<Overwrite>,
    firmware: firmware::Update,
}

/// A host-side change of SMART values (the control protocol's `smart`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SmartChange {
    pub health: Option<u8>,
    pub spares: Option<u8>,
    pub life_used: Option<u8>,
    pub media_celsius: Option<i16>,
    pub ctrl_celsius: Option<i16>,
    pub dirty_shutdown: bool,
}

impl IntelDimm {
    /// The family over the state in `path` (loaded now: a DIMM with a
    /// passphrase starts locked), or over a fresh state in memory.
    pub fn new(path: Option<PathBuf>, overwrite_time: Duration) -> Result<Self, StateError> {
        let mut state = match &path {
            Some(p) => IntelState::load(p)?,
            None => IntelState::default(),
        };
        state.security.power_cycle();
        state.firmware.power_cycle();
        Ok(IntelDimm {
            state,
            path,
            overwrite_time,
            overwrite: None,
            firmware: firmware::Update::default(),
        })
    }

    /// Whether the DIMM's capacity is locked (its label functions then
    /// answer [`Status::ConfigLocked`]). An overwrite leaves the label
    /// area reachable: Linux re-probes the DIMM while it runs.
    pub fn labels_blocked(&mut self) -> Option<Status> {
        self.state.security.locked.then_some(Status::ConfigLocked)
    }

    fn overwriting(&mut self) -> bool {
        self.overwrite.is_some()
    }

    /// Writes the state file after a change; a failure is logged (the
    /// guest's call has happened).
    fn save(&self) {
        if let Some(p) = &self.path {
            if let Err(e) = self.state.store(p) {
                log::error!("Intel DIMM state: {e}");
            }
        }
    }

    /// Serves one function of the family; `None` if it is not one.
    /// `media_error`: an armed media-error fault for this call.
    pub fn call(
        &mut self,
        function: u32,
        input: &[u8],
        media: Option<&Media<'_>>,
        media_error: bool,
    ) -> Option<Vec<u8>> {
        let before = self.state.clone();
        let output = match function {
            FN_SMART => self.state.smart.smart(),
            FN_SMART_THRESHOLD => self.state.smart.thresholds(),
            FN_DIMM_FLAGS => vec![0; 8],
            FN_LATCH_SHUTDOWN => match input.first() {
                Some(&e @ (0 | 1)) => {
                    self.state.smart.latch = e == 1;
                    Status::Success.out()
                }
                _ => Status::InvalidInput.out(),
            },
            FN_SET_THRESHOLD => out(self.state.smart.set_thresholds(input)),
            FN_INJECT_ERROR => out(self.state.smart.inject(input)),
            FN_GET_SECURITY_STATE => {
                let mut o = vec![0u8; security::SECURITY_STATE_LEN];
                let (s, e) = self.state.security.state_bits(self.overwrite.is_some());
                o[security::AT_STATE] = s;
                o[security::AT_EXTENDED_STATE] = e;
                o
            }
            FN_SET_PASSPHRASE => out(self.unless_overwriting(|s| s.security.set_passphrase(input))),
            FN_DISABLE_PASSPHRASE => out(self.unless_overwriting(|s| s.security.disable(input))),
            FN_UNLOCK_UNIT => out(self.unless_overwriting(|s| s.security.unlock(input))),
            FN_FREEZE_LOCK => out(self.unless_overwriting(|s| s.security.freeze())),
            FN_SET_MASTER_PASSPHRASE => {
                out(self.unless_overwriting(|s| s.security.set_master_passphrase(input)))
            }
            FN_SECURE_ERASE | FN_MASTER_SECURE_ERASE => {
                out(self.erase(function, input, media, media_error))
            }
            FN_OVERWRITE => out(self.start_overwrite(input, media, media_error)),
            FN_QUERY_OVERWRITE => out(self.query_overwrite()),
            FN_GET_FWINFO
            | FN_START_FWUPDATE
            | FN_SEND_FWUPDATE
            | FN_FINISH_FWUPDATE
            | FN_QUERY_FWUPDATE
            | FN_FW_ACTIVATE_DIMMINFO
            | FN_FW_ACTIVATE_ARM => {
                self.firmware
                    .call(&mut self.state.firmware, function, input, media_error)
            }
            _ => return None,
        };
        if self.state != before {
            self.save();
        }
        Some(output)
    }

    fn unless_overwriting(
        &mut self,
        f: impl FnOnce(&mut IntelState) -> Result<(), Status>,
    ) -> Result<(), Status> {
        if self.overwriting() {
            return Err(Status::Retry);
        }
        f(&mut self.state)
    }

    fn erase(
        &mut self,
        function: u32,
        input: &[u8],
        media: Option<&Media<'_>>,
        media_error: bool,
    ) -> Result<(), Status> {
        if self.overwriting() {
            return Err(Status::Retry);
        }
        let media = media.ok_or(Status::HwError)?;
        // Check the passphrase on a copy: a media error leaves security
        // as it was.
        let mut sec = self.state.security.clone();
        let r = if function == FN_MASTER_SECURE_ERASE {
            sec.master_erase(input)
        } else {
            sec.user_erase(input)
        };
        if let Err(e) = r {
            // Failed attempts count.
            self.state.security.failed_attempts = sec.failed_attempts;
            self.state.security.master_failed_attempts = sec.master_failed_attempts;
            return Err(e);
        }
        media.erase(false, media_error)?;
        self.state.security = sec;
        log::info!("Intel DIMM: secure erase done");
        Ok(())
    }

    fn start_overwrite(
        &mut self,
        input: &[u8],
        media: Option<&Media<'_>>,
        media_error: bool,
    ) -> Result<(), Status> {
        if self.overwriting() {
            return Err(Status::Retry);
        }
        let media = media.ok_or(Status::HwError)?;
        self.state.security.overwrite(input)?;
        // The media is written now; the DIMM says so only when the time
        // has passed. A media error fails at the end, half written.
        let _ = media.erase(true, media_error);
        self.overwrite = Some(Overwrite {
            until: Instant::now() + self.overwrite_time,
            failed: media_error,
        });
        log::info!(
            "Intel DIMM: overwrite started ({} ms)",
            self.overwrite_time.as_millis()
        );
        Ok(())
    }

    fn query_overwrite(&mut self) -> Result<(), Status> {
        let Some(o) = self.overwrite else {
            return Err(Status::OverwriteSequence);
        };
        if Instant::now() < o.until {
            return Err(Status::OverwriteInProgress);
        }
        self.overwrite = None;
        if o.failed {
            return Err(Status::HwError);
        }
        Ok(())
    }

    /// A power cycle of the DIMM: locked again if it has a passphrase,
    /// not frozen; a staged firmware image becomes the running one.
    pub fn power_cycle(&mut self) {
        let before = self.state.clone();
        self.state.security.power_cycle();
        self.state.firmware.power_cycle();
        self.firmware = firmware::Update::default();
        if self.state != before {
            self.save();
        }
    }

    /// Applies a host-side SMART change.
    pub fn change_smart(&mut self, c: &SmartChange) {
        let before = self.state.clone();
        let s = &mut self.state.smart;
        if let Some(h) = c.health {
            s.health = h;
        }
        if let Some(v) = c.spares {
            s.spares = v;
        }
        if let Some(v) = c.life_used {
            s.life_used = v;
        }
        if let Some(t) = c.media_celsius {
            s.media_temperature = smart::encode_celsius(t);
        }
        if let Some(t) = c.ctrl_celsius {
            s.ctrl_temperature = smart::encode_celsius(t);
        }
        if c.dirty_shutdown {
            s.dirty_shutdown();
        }
        if self.state != before {
            self.save();
        }
    }

    /// Activates an armed, staged image (the root's bus activate); the
    /// DIMM's result for function 29.
    pub fn activate(&mut self) -> bool {
        let before = self.state.clone();
        let armed = self.state.firmware.activate();
        if self.state != before {
            self.save();
        }
        armed
    }

    /// Whether the DIMM is armed for activation.
    pub fn armed(&self) -> bool {
        self.state.firmware.armed
    }

    /// The state as the control protocol reports it (passphrases as
    /// whether they are set).
    pub fn json(&mut self) -> Value {
        let s = &self.state;
        let (state, extended) = s.security.state_bits(self.overwrite.is_some());
        json!({
            "security": {
                "enabled": s.security.enabled(),
                "locked": s.security.locked,
                "frozen": s.security.frozen,
                "master_passphrase_set": s.security.master_passphrase.is_some(),
                "state": state,
                "extended_state": extended,
                "overwriting": self.overwrite.is_some(),
            },
            "smart": serde_json::to_value(&s.smart).unwrap_or(Value::Null),
            "firmware": serde_json::to_value(&s.firmware).unwrap_or(Value::Null),
        })
    }
}
