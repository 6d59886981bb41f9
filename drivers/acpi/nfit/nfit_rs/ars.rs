// SPDX-License-Identifier: GPL-2.0

//! Address range scrub (ARS) and error clearing through the NVDIMM root
//! device's `_DSM` (functions 1 to 4), as the ACPI specification lays out
//! their buffers and `include/uapi/linux/ndctl.h` mirrors them in
//! `struct nd_cmd_ars_cap`, `nd_cmd_ars_start`, `nd_cmd_ars_status` and
//! `nd_cmd_clear_error`.
//!
//! `core`-only: builders for the inputs, parsers for the outputs and the
//! status translation the C driver applies (`xlat_bus_status()`). Every read
//! of firmware output is bounds-checked: a short answer is an error, never a
//! panic.

/// Root `_DSM` function (and `ND_CMD_*` number): Query ARS Capabilities.
pub const FUNC_ARS_CAP: u32 = 1;
/// Root `_DSM` function: Start ARS.
pub const FUNC_ARS_START: u32 = 2;
/// Root `_DSM` function: Query ARS Status.
pub const FUNC_ARS_STATUS: u32 = 3;
/// Root `_DSM` function: Clear Uncorrectable Error.
pub const FUNC_CLEAR_ERROR: u32 = 4;

/// Input bytes of each command (the `nd_cmd_*` fields before the status).
pub const fn input_len(func: u32) -> Option<usize> {
    match func {
        FUNC_ARS_CAP => Some(16),
        FUNC_ARS_START => Some(24),
        FUNC_ARS_STATUS => Some(0),
        FUNC_CLEAR_ERROR => Some(16),
        _ => None,
    }
}

/// ARS type: persistent memory (`ND_ARS_PERSISTENT`).
pub const ARS_PERSISTENT: u16 = 2;
/// ARS type: volatile memory (`ND_ARS_VOLATILE`).
pub const ARS_VOLATILE: u16 = 1;
/// Status: ARS not supported for the range (`NFIT_ARS_CAP_NONE`).
pub const CAP_NONE: u32 = 1;
/// Status: an ARS is already running (`NFIT_ARS_START_BUSY`).
pub const START_BUSY: u32 = 6;
/// Query ARS Status, extended status: in progress.
pub const STATUS_BUSY: u32 = 1 << 16;
/// Query ARS Status, extended status: no ARS performed since boot.
pub const STATUS_NONE: u32 = 2 << 16;
/// Query ARS Status, extended status: stopped early.
pub const STATUS_INTR: u32 = 3 << 16;
/// Query ARS Status flag: the record buffer overflowed.
pub const STATUS_F_OVERFLOW: u16 = 1;

/// Bytes of the Query ARS Status output before the records.
pub const STATUS_HDR_LEN: usize = 48;
/// Bytes of one error record.
pub const RECORD_LEN: usize = 24;

/// Errno values (positive) returned by [`xlat_status`] as negatives.
const EIO: i32 = 5;
const EAGAIN: i32 = 11;
const EBUSY: i32 = 16;
const ENOSPC: i32 = 28;
const ENOTTY: i32 = 25;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The status word at the start of every output; `None` when shorter.
pub fn status(out: &[u8]) -> Option<u32> {
    u32_at(out, 0)
}

/// The "maximum Query ARS Status output size" of a Query ARS
/// Capabilities output; `None` when it is too short to say.
pub fn max_status_out(cap: &[u8]) -> Option<u32> {
    u32_at(cap, 4)
}

/// Input of Query ARS Capabilities and Clear Uncorrectable Error: a range.
pub fn range_input(address: u64, length: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&address.to_le_bytes());
    b[8..].copy_from_slice(&length.to_le_bytes());
    b
}

/// Start ARS flag: return the records of the previous scrub instead of
/// scrubbing again (what C asks after an uncorrectable-error notification
/// unless `hw_error_scrub` is on).
pub const START_RETURN_PREV_DATA: u8 = 1 << 1;

/// Input of Start ARS: range, type, flags.
pub fn start_input(address: u64, length: u64, ty: u16, flags: u8) -> [u8; 24] {
    let mut b = [0u8; 24];
    b[..16].copy_from_slice(&range_input(address, length));
    b[16..18].copy_from_slice(&ty.to_le_bytes());
    b[18] = flags;
    b
}

/// One error record of Query ARS Status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// NFIT device handle of the DIMM.
    pub handle: u32,
    /// System physical address of the error.
    pub address: u64,
    /// Its length in bytes.
    pub length: u64,
}

/// A parsed Query ARS Status output.
#[derive(Clone, Copy, Debug)]
pub struct ArsStatus<'a> {
    /// Status word (extended status in the upper 16 bits).
    pub status: u32,
    /// Start of the range scrubbed.
    pub address: u64,
    /// Its length.
    pub length: u64,
    /// Where a scrub stopped early (an overflow of the record buffer)
    /// resumes: C's `ars_continue()` starts there.
    pub restart_address: u64,
    /// Length of what is left to scrub.
    pub restart_length: u64,
    /// Type of the scrub (`ND_ARS_PERSISTENT`, `ND_ARS_VOLATILE`).
    pub ty: u16,
    /// `NFIT_ARS_F_*` flags.
    pub flags: u16,
    records: &'a [u8],
}

/// Why an ARS status output could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusError {
    /// Shorter than its header.
    Short,
    /// The record count does not fit the output (or its `out_length`).
    BadCount(u32),
}

impl<'a> ArsStatus<'a> {
    /// Parses `out`; the records must fit both the buffer and the output
    /// length the firmware declares.
    pub fn parse(out: &'a [u8]) -> Result<Self, StatusError> {
        let status = u32_at(out, 0).ok_or(StatusError::Short)?;
        if out.len() < STATUS_HDR_LEN {
            // A failed or unfinished query may carry the status only.
            return Ok(Self {
                status,
                address: 0,
                length: 0,
                restart_address: 0,
                restart_length: 0,
                ty: 0,
                flags: 0,
                records: &[],
            });
        }
        let out_length = u32_at(out, 4).ok_or(StatusError::Short)? as usize;
        let count = u32_at(out, 44).ok_or(StatusError::Short)?;
        let bytes = (count as usize)
            .checked_mul(RECORD_LEN)
            .ok_or(StatusError::BadCount(count))?;
        let end = STATUS_HDR_LEN
            .checked_add(bytes)
            .ok_or(StatusError::BadCount(count))?;
        // `out_length` counts from the out_length field itself (4 bytes in).
        if end > out.len() || end > out_length.saturating_add(4) {
            return Err(StatusError::BadCount(count));
        }
        Ok(Self {
            status,
            address: u64_at(out, 8).ok_or(StatusError::Short)?,
            length: u64_at(out, 16).ok_or(StatusError::Short)?,
            restart_address: u64_at(out, 24).ok_or(StatusError::Short)?,
            restart_length: u64_at(out, 32).ok_or(StatusError::Short)?,
            ty: u16_at(out, 40).ok_or(StatusError::Short)?,
            flags: u16_at(out, 42).ok_or(StatusError::Short)?,
            records: out.get(STATUS_HDR_LEN..end).ok_or(StatusError::Short)?,
        })
    }

    /// Whether the scrub this status reports covered the end of
    /// `start .. start + len`, the range the driver asked for (C's
    /// `ars_complete()`): a status of the range's beginning, or of a
    /// continuation inside it, that reaches its end.
    pub fn completes(&self, start: u64, len: u64) -> bool {
        let end = start.saturating_add(len);
        self.address < end && self.address.saturating_add(self.length) >= end
    }

    /// The Start ARS input that resumes a scrub stopped by an overflow
    /// (C's `ars_continue()`).
    pub fn continuation(&self) -> [u8; 24] {
        start_input(self.restart_address, self.restart_length, self.ty, 0)
    }

    /// The error records.
    pub fn records(&self) -> impl Iterator<Item = Record> + 'a {
        self.records.chunks_exact(RECORD_LEN).map(|r| Record {
            handle: u32_at(r, 0).unwrap_or(0),
            address: u64_at(r, 8).unwrap_or(0),
            length: u64_at(r, 16).unwrap_or(0),
        })
    }
}

/// The part of `record` inside `start .. start + len` (C reports only
/// errors within the range it scrubbed), or `None`.
pub fn clip(record: &Record, start: u64, len: u64) -> Option<(u64, u64)> {
    let end = start.checked_add(len)?;
    let r_end = record.address.checked_add(record.length)?;
    let a = record.address.max(start);
    let b = r_end.min(end);
    (a < b).then(|| (a, b - a))
}

/// The result the C driver gives in-kernel callers for a bus command with
/// input `input` whose output is `out` (`xlat_bus_status()`): 0, the bytes
/// cleared when a clear was partial, or a negative errno.
pub fn xlat_status(func: u32, input: &[u8], out: &[u8]) -> i32 {
    let Some(st) = status(out) else {
        return -EIO;
    };
    match func {
        FUNC_ARS_CAP => {
            if st & 0xffff == CAP_NONE {
                -ENOTTY
            } else if st & 0xffff != 0 {
                -EIO
            } else if (st >> 16) as u16 & (ARS_PERSISTENT | ARS_VOLATILE) == 0 {
                -ENOTTY
            } else {
                0
            }
        }
        FUNC_ARS_START => match st & 0xffff {
            0 => 0,
            START_BUSY => -EBUSY,
            _ => -EIO,
        },
        FUNC_ARS_STATUS => {
            if st & 0xffff != 0 {
                return -EIO;
            }
            match st {
                0 => 0,
                STATUS_BUSY => -EBUSY,
                STATUS_NONE => -EAGAIN,
                STATUS_INTR => match ArsStatus::parse(out) {
                    Ok(s) if s.flags & STATUS_F_OVERFLOW != 0 => -ENOSPC,
                    _ => 0,
                },
                _ => -EIO,
            }
        }
        FUNC_CLEAR_ERROR => {
            // Output: status, reserved, bytes cleared.
            let cleared = u64_at(out, 8).unwrap_or(0);
            let asked = u64_at(input, 8).unwrap_or(0);
            if st & 0xffff != 0 || cleared == 0 {
                -EIO
            } else if asked > cleared {
                i32::try_from(cleared).unwrap_or(i32::MAX)
            } else {
                0
            }
        }
        _ => {
            if st != 0 {
                -EIO
            } else {
                0
            }
        }
    }
}
