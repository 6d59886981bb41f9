// SPDX-License-Identifier: GPL-2.0
//! Security: functions 19-28 (get security state, set passphrase, disable
//! passphrase, unlock unit, freeze lock, secure erase, overwrite, query
//! overwrite, set master passphrase, master secure erase) as a state
//! machine over [`SecurityState`], with the statuses Linux's
//! `drivers/acpi/nfit/intel.c` translates.

use super::state::{SecurityState, PASSPHRASE_LEN};
use super::wire::Status;

/// `nd_intel_get_security_state`: status, extended state, state.
pub const SECURITY_STATE_LEN: usize = 12;
pub const AT_EXTENDED_STATE: usize = 4;
pub const AT_STATE: usize = 8;

/// `state` bits.
pub const STATE_ENABLED: u8 = 0x02;
pub const STATE_LOCKED: u8 = 0x04;
pub const STATE_FROZEN: u8 = 0x08;
pub const STATE_PLIMIT: u8 = 0x10;
pub const STATE_OVERWRITE: u8 = 0x40;
/// `extended_state` bits (the master passphrase).
pub const ESTATE_ENABLED: u8 = 0x01;
pub const ESTATE_PLIMIT: u8 = 0x02;

/// Wrong passphrases in a row before the DIMM refuses more until a power
/// cycle (the "passphrase limit" state).
pub const PASS_LIMIT: u32 = 5;

const ZERO: [u8; PASSPHRASE_LEN] = [0; PASSPHRASE_LEN];

/// A passphrase field of a payload.
pub fn passphrase(input: &[u8], at: usize) -> Result<[u8; PASSPHRASE_LEN], Status> {
    let mut p = [0u8; PASSPHRASE_LEN];
    p.copy_from_slice(
        input
            .get(at..at + PASSPHRASE_LEN)
            .ok_or(Status::InvalidInput)?,
    );
    Ok(p)
}

impl SecurityState {
    pub fn enabled(&self) -> bool {
        self.passphrase.is_some()
    }

    fn plimit(&self) -> bool {
        self.failed_attempts >= PASS_LIMIT
    }

    fn master_plimit(&self) -> bool {
        self.master_failed_attempts >= PASS_LIMIT
    }

    /// The user passphrase (all zeros while security is disabled: Linux
    /// sends the zero key then).
    fn current(&self) -> [u8; PASSPHRASE_LEN] {
        self.passphrase.unwrap_or(ZERO)
    }

    fn master(&self) -> [u8; PASSPHRASE_LEN] {
        self.master_passphrase.unwrap_or(ZERO)
    }

    fn check_user(&mut self, p: &[u8; PASSPHRASE_LEN]) -> Result<(), Status> {
        if *p == self.current() {
            self.failed_attempts = 0;
            Ok(())
        } else {
            self.failed_attempts = self.failed_attempts.saturating_add(1);
            Err(Status::InvalidPassphrase)
        }
    }

    fn check_master(&mut self, p: &[u8; PASSPHRASE_LEN]) -> Result<(), Status> {
        if *p == self.master() {
            self.master_failed_attempts = 0;
            Ok(())
        } else {
            self.master_failed_attempts = self.master_failed_attempts.saturating_add(1);
            Err(Status::InvalidPassphrase)
        }
    }

    /// Function 19's `state` and `extended_state` bytes.
    pub fn state_bits(&self, overwriting: bool) -> (u8, u8) {
        let mut s = 0;
        if self.enabled() {
            s |= STATE_ENABLED;
        }
        if self.locked {
            s |= STATE_LOCKED;
        }
        if self.frozen {
            s |= STATE_FROZEN;
        }
        if self.plimit() {
            s |= STATE_PLIMIT;
        }
        if overwriting {
            s |= STATE_OVERWRITE;
        }
        let mut e = ESTATE_ENABLED;
        if self.master_plimit() {
            e |= ESTATE_PLIMIT;
        }
        (s, e)
    }

    /// Function 20: set (or change) the user passphrase.
    pub fn set_passphrase(&mut self, input: &[u8]) -> Result<(), Status> {
        let old = passphrase(input, 0)?;
        let new = passphrase(input, PASSPHRASE_LEN)?;
        if self.frozen || self.locked || self.plimit() {
            return Err(Status::InvalidState);
        }
        self.check_user(&old)?;
        self.passphrase = Some(new);
        Ok(())
    }

    /// Function 27: set the master passphrase (never while the user
    /// passphrase is enabled: Intel sets it with security disabled).
    pub fn set_master_passphrase(&mut self, input: &[u8]) -> Result<(), Status> {
        let old = passphrase(input, 0)?;
        let new = passphrase(input, PASSPHRASE_LEN)?;
        if self.frozen || self.locked || self.master_plimit() {
            return Err(Status::InvalidState);
        }
        self.check_master(&old)?;
        self.master_passphrase = Some(new);
        Ok(())
    }

    /// Function 21: disable security.
    pub fn disable(&mut self, input: &[u8]) -> Result<(), Status> {
        let p = passphrase(input, 0)?;
        if !self.enabled() || self.frozen || self.locked || self.plimit() {
            return Err(Status::InvalidState);
        }
        self.check_user(&p)?;
        self.passphrase = None;
        Ok(())
    }

    /// Function 22: unlock.
    pub fn unlock(&mut self, input: &[u8]) -> Result<(), Status> {
        let p = passphrase(input, 0)?;
        if !self.locked || self.frozen || self.plimit() {
            return Err(Status::InvalidState);
        }
        self.check_user(&p)?;
        self.locked = false;
        Ok(())
    }

    /// Function 23: freeze the security state until a power cycle.
    pub fn freeze(&mut self) -> Result<(), Status> {
        if !self.enabled() {
            return Err(Status::InvalidState);
        }
        self.frozen = true;
        Ok(())
    }

    /// Function 24: may the user passphrase `input` erase the media? (The zero key while security is disabled.) On success
    /// security ends disabled and unlocked.
    pub fn user_erase(&mut self, input: &[u8]) -> Result<(), Status> {
        let p = passphrase(input, 0)?;
        if self.frozen || self.plimit() {
            return Err(Status::InvalidState);
        }
        self.check_user(&p)?;
        self.passphrase = None;
        self.locked = false;
        Ok(())
    }

    /// Function 25: may the passphrase `input` start an overwrite? (The
    /// zero key while security is disabled.) Security stays as it is
    /// (unlocked), as Linux's `nfit_test` DIMMs keep it.
    pub fn overwrite(&mut self, input: &[u8]) -> Result<(), Status> {
        let p = passphrase(input, 0)?;
        if self.frozen || self.plimit() {
            return Err(Status::InvalidState);
        }
        self.check_user(&p)?;
        self.locked = false;
        Ok(())
    }

    /// Function 28: erase with the master passphrase (which stays).
    pub fn master_erase(&mut self, input: &[u8]) -> Result<(), Status> {
        let p = passphrase(input, 0)?;
        if self.frozen || self.master_plimit() {
            return Err(Status::InvalidState);
        }
        self.check_master(&p)?;
        self.passphrase = None;
        self.locked = false;
        self.failed_attempts = 0;
        Ok(())
    }

    /// A power cycle: locked again if a passphrase is set, not frozen,
    /// attempt counts reset.
    pub fn power_cycle(&mut self) {
        self.locked = self.enabled();
        self.frozen = false;
        self.failed_attempts = 0;
        self.master_failed_attempts = 0;
    }
}
