// SPDX-License-Identifier: GPL-2.0
//! SMART and health: functions 1 (SMART data), 2 (thresholds), 10 (latch
//! system shutdown status), 17 (set thresholds) and 18 (inject), with the
//! payload layouts of Linux's `struct nd_intel_smart` and ndctl's
//! `nd_intel_smart_threshold`, `_set_threshold` and `_inject`.

use super::state::SmartState;
use super::wire::{put16, put32, Status};

/// `nd_intel_smart`: status then 128 bytes of data.
pub const SMART_LEN: usize = 132;
/// Byte offsets of `nd_intel_smart`'s fields (the status included).
#[cfg_attr(not(test), allow(dead_code))]
pub mod at {
    pub const FLAGS: usize = 4;
    pub const HEALTH: usize = 12;
    pub const SPARES: usize = 13;
    pub const LIFE_USED: usize = 14;
    pub const ALARM_FLAGS: usize = 15;
    pub const MEDIA_TEMPERATURE: usize = 16;
    pub const CTRL_TEMPERATURE: usize = 18;
    pub const SHUTDOWN_COUNT: usize = 20;
    pub const AIT_STATUS: usize = 24;
    pub const PMIC_TEMPERATURE: usize = 25;
    pub const SHUTDOWN_STATE: usize = 35;
    pub const VENDOR_SIZE: usize = 36;
    pub const VENDOR_DATA: usize = 40;
}

/// Validity flags of `nd_intel_smart.flags`.
pub const HEALTH_VALID: u32 = 1 << 0;
pub const SPARES_VALID: u32 = 1 << 1;
pub const USED_VALID: u32 = 1 << 2;
pub const MTEMP_VALID: u32 = 1 << 3;
pub const CTEMP_VALID: u32 = 1 << 4;
pub const SHUTDOWN_COUNT_VALID: u32 = 1 << 5;
pub const ALARM_VALID: u32 = 1 << 9;
pub const SHUTDOWN_VALID: u32 = 1 << 10;

/// Alarm trips (`alarm_flags`) and alarm enables (`alarm_control`).
pub const SPARE_TRIP: u8 = 1 << 0;
pub const MTEMP_TRIP: u8 = 1 << 1;
pub const CTEMP_TRIP: u8 = 1 << 2;

/// Health bits.
pub const NON_CRITICAL: u8 = 1 << 0;
#[cfg_attr(not(test), allow(dead_code))]
pub const CRITICAL: u8 = 1 << 1;
pub const FATAL: u8 = 1 << 2;

/// Injection flags of `nd_intel_smart_inject.flags`.
pub const INJECT_MTEMP: u64 = 1 << 0;
pub const INJECT_SPARE: u64 = 1 << 1;
pub const INJECT_FATAL: u64 = 1 << 2;
pub const INJECT_SHUTDOWN: u64 = 1 << 3;

/// `nd_intel_smart_threshold`: status then 8 bytes.
pub const THRESHOLD_LEN: usize = 12;
/// `nd_intel_smart_set_threshold`'s input (before its status).
pub const SET_THRESHOLD_IN: usize = 7;
/// `nd_intel_smart_inject`'s input (before its status).
pub const INJECT_IN: usize = 15;

/// The temperature encoding of the Intel DSM: 1/16 °C, bit 15 the sign.
pub fn encode_celsius(c: i16) -> u16 {
    let mag = (c.unsigned_abs() * 16) & 0x7fff;
    if c < 0 {
        mag | 0x8000
    } else {
        mag
    }
}

/// An encoded temperature as signed sixteenths of a degree.
fn sixteenths(t: u16) -> i32 {
    let mag = i32::from(t & 0x7fff);
    if t & 0x8000 != 0 {
        -mag
    } else {
        mag
    }
}

impl SmartState {
    pub fn media_temperature_now(&self) -> u16 {
        self.injected_media_temperature
            .unwrap_or(self.media_temperature)
    }

    pub fn spares_now(&self) -> u8 {
        self.injected_spares.unwrap_or(self.spares)
    }

    /// The alarms that trip: an enabled alarm whose value reached its
    /// threshold (spares at or below, temperatures at or above).
    pub fn alarm_flags(&self) -> u8 {
        let on = |bit: u8| self.alarm_control & u16::from(bit) != 0;
        let mut a = 0;
        if on(SPARE_TRIP) && self.spares_now() <= self.spares_threshold {
            a |= SPARE_TRIP;
        }
        if on(MTEMP_TRIP)
            && sixteenths(self.media_temperature_now())
                >= sixteenths(self.media_temperature_threshold)
        {
            a |= MTEMP_TRIP;
        }
        if on(CTEMP_TRIP)
            && sixteenths(self.ctrl_temperature) >= sixteenths(self.ctrl_temperature_threshold)
        {
            a |= CTEMP_TRIP;
        }
        a
    }

    /// Health: the host's bits, fatal if injected, non-critical while an
    /// alarm trips.
    pub fn health_now(&self) -> u8 {
        let mut h = self.health;
        if self.injected_fatal {
            h |= FATAL;
        }
        if self.alarm_flags() != 0 {
            h |= NON_CRITICAL;
        }
        h
    }

    /// Function 1: `nd_intel_smart`.
    pub fn smart(&self) -> Vec<u8> {
        let mut out = vec![0u8; SMART_LEN];
        let flags = HEALTH_VALID
            | SPARES_VALID
            | USED_VALID
            | MTEMP_VALID
            | CTEMP_VALID
            | SHUTDOWN_COUNT_VALID
            | ALARM_VALID
            | SHUTDOWN_VALID;
        put32(&mut out, at::FLAGS, flags);
        out[at::HEALTH] = self.health_now();
        out[at::SPARES] = self.spares_now();
        out[at::LIFE_USED] = self.life_used;
        out[at::ALARM_FLAGS] = self.alarm_flags();
        put16(
            &mut out,
            at::MEDIA_TEMPERATURE,
            self.media_temperature_now(),
        );
        put16(&mut out, at::CTRL_TEMPERATURE, self.ctrl_temperature);
        put32(&mut out, at::SHUTDOWN_COUNT, self.shutdown_count);
        out[at::SHUTDOWN_STATE] = u8::from(self.shutdown_dirty);
        put32(&mut out, at::VENDOR_SIZE, 0);
        out
    }

    /// Function 2: `nd_intel_smart_threshold`.
    pub fn thresholds(&self) -> Vec<u8> {
        let mut out = vec![0u8; THRESHOLD_LEN];
        put16(&mut out, 4, self.alarm_control);
        out[6] = self.spares_threshold;
        put16(&mut out, 7, self.media_temperature_threshold);
        put16(&mut out, 9, self.ctrl_temperature_threshold);
        out
    }

    /// Function 17: `nd_intel_smart_set_threshold` (alarm control,
    /// spares, media and controller temperature).
    pub fn set_thresholds(&mut self, input: &[u8]) -> Result<(), Status> {
        let b = input.get(..SET_THRESHOLD_IN).ok_or(Status::InvalidInput)?;
        let alarm_control = u16::from_le_bytes([b[0], b[1]]);
        let spares = b[2];
        if alarm_control & !7 != 0 || spares > 100 {
            return Err(Status::InvalidInput);
        }
        self.alarm_control = alarm_control;
        self.spares_threshold = spares;
        self.media_temperature_threshold = u16::from_le_bytes([b[3], b[4]]);
        self.ctrl_temperature_threshold = u16::from_le_bytes([b[5], b[6]]);
        Ok(())
    }

    /// Function 18: `nd_intel_smart_inject`, as `ndctl inject-smart`
    /// fills it: each flag selects a field, whose enable byte injects
    /// (1) or withdraws (0) the value.
    pub fn inject(&mut self, input: &[u8]) -> Result<(), Status> {
        let b = input.get(..INJECT_IN).ok_or(Status::InvalidInput)?;
        let mut f = [0u8; 8];
        f.copy_from_slice(&b[..8]);
        let flags = u64::from_le_bytes(f);
        if flags & !(INJECT_MTEMP | INJECT_SPARE | INJECT_FATAL | INJECT_SHUTDOWN) != 0 {
            return Err(Status::InvalidInput);
        }
        if flags & INJECT_SPARE != 0 && b[11] != 0 && b[12] > 100 {
            return Err(Status::InvalidInput);
        }
        if flags & INJECT_MTEMP != 0 {
            self.injected_media_temperature =
                (b[8] != 0).then(|| u16::from_le_bytes([b[9], b[10]]));
        }
        if flags & INJECT_SPARE != 0 {
            self.injected_spares = (b[11] != 0).then_some(b[12]);
        }
        if flags & INJECT_FATAL != 0 {
            self.injected_fatal = b[13] != 0;
        }
        if flags & INJECT_SHUTDOWN != 0 {
            if b[14] != 0 {
                self.dirty_shutdown();
            } else {
                self.shutdown_dirty = false;
            }
        }
        Ok(())
    }

    /// A dirty shutdown: the state says so and the count grows.
    pub fn dirty_shutdown(&mut self) {
        self.shutdown_dirty = true;
        self.shutdown_count = self.shutdown_count.wrapping_add(1);
    }
}
