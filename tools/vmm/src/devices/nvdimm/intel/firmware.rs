// SPDX-License-Identifier: GPL-2.0
//! Firmware update and activation: DIMM functions 12-16 (get info, start,
//! send data, finish, query finish) and 29-30 (activate DIMM info, arm),
//! and the root's Intel bus family (functions 1, activate bus info, and 2,
//! activate), with ndctl's `nd_intel_fw_*` and Linux's
//! `nd_intel_*fw_activate*` layouts.
//!
//! The model takes images in its own small format ([`Image`]), checked at
//! finish; a good image is staged and runs only after a bus activation of
//! an armed DIMM or a power cycle.

use super::state::FirmwareState;
use super::wire::{self, put16, put32, put64, Status};

/// The largest image (get info's storage size).
pub const STORAGE_SIZE: u32 = 1 << 20;
/// The most bytes of one send (get info's maximum send length).
pub const MAX_SEND: u32 = 4096;
/// Query interval and maximum query time, in microseconds.
pub const QUERY_INTERVAL_US: u32 = 1000;
pub const MAX_QUERY_US: u32 = 1_000_000;
/// The firmware interface version get info reports.
pub const FIS_VERSION: u32 = 0x0200;

/// `nd_intel_fw_info`, `nd_intel_fw_start`, `nd_intel_fw_finish_query`,
/// `nd_intel_fw_activate_dimminfo` outputs.
pub const INFO_LEN: usize = 44;
pub const START_LEN: usize = 8;
pub const QUERY_LEN: usize = 12;
pub const DIMMINFO_LEN: usize = 14;
/// `nd_intel_bus_fw_activate_businfo`.
pub const BUSINFO_LEN: usize = 40;

/// Extended codes (the status's high word, low word 7).
pub const EXT_CONTEXT: u16 = 1; // start: busy; send, finish, query: bad context
pub const EXT_FIN_BAD: u16 = 3; // finish: bad image
pub const EXT_FIN_ABORTED: u16 = 4; // finish: aborted; query: out of order

/// Activation states (DIMM and bus) and results.
pub const FWA_IDLE: u8 = 0;
pub const FWA_ARMED: u8 = 1;
pub const RESULT_NONE: u16 = 0;
pub const RESULT_NOTSTAGED: u16 = 1;
pub const RESULT_SUCCESS: u16 = 2;
/// Bus capability: the OS quiesces (Linux: live activation).
pub const BUS_CAP_OSQUIESCE: u8 = 1 << 1;
/// Bus activate without an armed DIMM (`ND_INTEL_BUS_FWA_STATUS_NOARM`).
pub const BUS_STATUS_NOARM: u32 = 6 | 1 << 16;
/// Timeouts the bus info reports (microseconds): activation fits in the
/// quiesce budget, so Linux sees "armed", not "overflow".
pub const ACTIVATE_TMO_US: u64 = 1000;
pub const MAX_QUIESCE_TMO_US: u64 = 1_000_000;

/// The image format: a 32-byte header, then the payload.
///
/// ```text
/// 0x00  magic "NVDFWIMG"
/// 0x08  version (u64, non-zero): what runs after activation
/// 0x10  payload length (u32)
/// 0x14  FNV-1a 32 of the payload (u32)
/// 0x18  reserved, zero (8 bytes)
/// 0x20  payload
/// ```
pub struct Image;

impl Image {
    pub const MAGIC: &'static [u8; 8] = b"NVDFWIMG";
    pub const HEADER: usize = 32;

    pub fn checksum(payload: &[u8]) -> u32 {
        payload.iter().fold(0x811c_9dc5u32, |h, &b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        })
    }

    /// The version of a well-formed image.
    pub fn verify(image: &[u8]) -> Option<u64> {
        let h = image.get(..Self::HEADER)?;
        if &h[..8] != Self::MAGIC || h[24..32].iter().any(|&b| b != 0) {
            return None;
        }
        let word = |at: usize| u32::from_le_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]);
        let mut v = [0u8; 8];
        v.copy_from_slice(&h[8..16]);
        let version = u64::from_le_bytes(v);
        let payload = &image[Self::HEADER..];
        (version != 0 && word(16) as usize == payload.len() && word(20) == Self::checksum(payload))
            .then_some(version)
    }

    /// Builds an image (tests; the guest's `nd-ioctl fw-image`).
    #[cfg(test)]
    pub fn build(version: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = Self::MAGIC.to_vec();
        out.extend(version.to_le_bytes());
        out.extend((payload.len() as u32).to_le_bytes());
        out.extend(Self::checksum(payload).to_le_bytes());
        out.extend([0u8; 8]);
        out.extend(payload);
        out
    }
}

/// An update session (not kept across power cycles).
#[derive(Debug, Default)]
pub struct Update {
    /// The context of the session under way.
    context: Option<u32>,
    next_context: u32,
    image: Vec<u8>,
    /// Finished: the staged version.
    finished: Option<u64>,
}

fn word(input: &[u8], at: usize) -> Option<u32> {
    input
        .get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

impl FirmwareState {
    /// A power cycle: a staged image runs, nothing is armed.
    pub fn power_cycle(&mut self) {
        if let Some(v) = self.staged_version.take() {
            self.running_version = v;
        }
        self.armed = false;
        self.activation_result = RESULT_NONE;
    }

    /// A bus activation: an armed DIMM runs its staged image. Returns
    /// whether the DIMM was armed.
    pub fn activate(&mut self) -> bool {
        if !self.armed {
            return false;
        }
        self.armed = false;
        match self.staged_version.take() {
            Some(v) => {
                self.running_version = v;
                self.activation_result = RESULT_SUCCESS;
            }
            None => self.activation_result = RESULT_NOTSTAGED,
        }
        true
    }
}

impl Update {
    fn check_context(&self, input: &[u8], at: usize) -> Result<(), Status> {
        match (self.context, word(input, at)) {
            (Some(c), Some(w)) if c == w => Ok(()),
            (_, None) => Err(Status::InvalidInput),
            _ => Err(Status::Extended(EXT_CONTEXT)),
        }
    }

    /// Serves functions 12-16, 29 and 30.
    pub fn call(
        &mut self,
        fw: &mut FirmwareState,
        function: u32,
        input: &[u8],
        media_error: bool,
    ) -> Vec<u8> {
        match function {
            wire::FN_GET_FWINFO => {
                let mut o = vec![0u8; INFO_LEN];
                put32(&mut o, 4, STORAGE_SIZE);
                put32(&mut o, 8, MAX_SEND);
                put32(&mut o, 12, QUERY_INTERVAL_US);
                put32(&mut o, 16, MAX_QUERY_US);
                put32(&mut o, 24, FIS_VERSION);
                put64(&mut o, 28, fw.running_version);
                put64(&mut o, 36, fw.staged_version.unwrap_or(0));
                o
            }
            wire::FN_START_FWUPDATE => {
                if self.context.is_some() {
                    return Status::Extended(EXT_CONTEXT).out();
                }
                self.next_context = self.next_context.wrapping_add(1).max(1);
                self.context = Some(self.next_context);
                self.image.clear();
                self.finished = None;
                let mut o = vec![0u8; START_LEN];
                put32(&mut o, 4, self.next_context);
                o
            }
            wire::FN_SEND_FWUPDATE => match self.send(input) {
                Ok(()) => Status::Success.out(),
                Err(s) => s.out(),
            },
            wire::FN_FINISH_FWUPDATE => match self.finish(fw, input, media_error) {
                Ok(()) => Status::Success.out(),
                Err(s) => s.out(),
            },
            wire::FN_QUERY_FWUPDATE => {
                if let Err(s) = self.check_context(input, 0) {
                    // A finished session is queried by its old context.
                    if !(self.context.is_none() && self.finished.is_some()) {
                        return s.out();
                    }
                }
                match self.finished {
                    Some(v) => {
                        let mut o = vec![0u8; QUERY_LEN];
                        put64(&mut o, 4, v);
                        o
                    }
                    None => Status::Extended(EXT_FIN_ABORTED).out(),
                }
            }
            wire::FN_FW_ACTIVATE_DIMMINFO => {
                let mut o = vec![0u8; DIMMINFO_LEN];
                put16(&mut o, 4, fw.activation_result);
                o[6] = if fw.armed { FWA_ARMED } else { FWA_IDLE };
                o
            }
            wire::FN_FW_ACTIVATE_ARM => match input.first() {
                Some(1) if fw.staged_version.is_some() => {
                    fw.armed = true;
                    Status::Success.out()
                }
                Some(1) => Status::Extended(EXT_CONTEXT).out(),
                Some(0) => {
                    fw.armed = false;
                    Status::Success.out()
                }
                _ => Status::InvalidInput.out(),
            },
            _ => Status::NotSupported.out(),
        }
    }

    fn send(&mut self, input: &[u8]) -> Result<(), Status> {
        self.check_context(input, 0)?;
        let offset = word(input, 4).ok_or(Status::InvalidInput)?;
        let length = word(input, 8).ok_or(Status::InvalidInput)?;
        let end = offset.checked_add(length).ok_or(Status::InvalidInput)?;
        if length > MAX_SEND || end > STORAGE_SIZE {
            return Err(Status::InvalidInput);
        }
        let data = input
            .get(12..12 + length as usize)
            .ok_or(Status::InvalidInput)?;
        let (offset, end) = (offset as usize, end as usize);
        if self.image.len() < end {
            self.image.resize(end, 0);
        }
        self.image[offset..end].copy_from_slice(data);
        Ok(())
    }

    fn finish(
        &mut self,
        fw: &mut FirmwareState,
        input: &[u8],
        media_error: bool,
    ) -> Result<(), Status> {
        let flags = *input.first().ok_or(Status::InvalidInput)?;
        self.check_context(input, 4)?;
        self.context = None;
        let image = std::mem::take(&mut self.image);
        match flags {
            1 => Err(Status::Extended(EXT_FIN_ABORTED)),
            0 if media_error => Err(Status::HwError),
            0 => match Image::verify(&image) {
                Some(v) => {
                    fw.staged_version = Some(v);
                    fw.armed = false;
                    self.finished = Some(v);
                    log::info!("Intel DIMM: firmware {v:#x} staged");
                    Ok(())
                }
                None => {
                    log::info!("Intel DIMM: firmware image refused ({} bytes)", image.len());
                    Err(Status::Extended(EXT_FIN_BAD))
                }
            },
            _ => Err(Status::InvalidInput),
        }
    }
}

/// The root's bus info (function 1) for the DIMMs' arm states.
pub fn bus_info(any_armed: bool) -> Vec<u8> {
    let mut o = vec![0u8; BUSINFO_LEN];
    o[6] = if any_armed { FWA_ARMED } else { FWA_IDLE };
    o[7] = BUS_CAP_OSQUIESCE;
    put64(&mut o, 8, ACTIVATE_TMO_US);
    put64(&mut o, 16, 0);
    put64(&mut o, 24, 0);
    put64(&mut o, 32, MAX_QUIESCE_TMO_US);
    o
}
