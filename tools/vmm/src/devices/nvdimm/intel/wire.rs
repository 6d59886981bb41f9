// SPDX-License-Identifier: GPL-2.0
//! What the family's parts share: function numbers, the status codes,
//! and little-endian field writers. It imports nothing.

/// Functions of the family (Linux's `NVDIMM_INTEL_*` and `ND_CMD_*`).
pub const FN_SMART: u32 = 1;
pub const FN_SMART_THRESHOLD: u32 = 2;
pub const FN_DIMM_FLAGS: u32 = 3;
pub const FN_LATCH_SHUTDOWN: u32 = 10;
pub const FN_GET_FWINFO: u32 = 12;
pub const FN_START_FWUPDATE: u32 = 13;
pub const FN_SEND_FWUPDATE: u32 = 14;
pub const FN_FINISH_FWUPDATE: u32 = 15;
pub const FN_QUERY_FWUPDATE: u32 = 16;
pub const FN_SET_THRESHOLD: u32 = 17;
pub const FN_INJECT_ERROR: u32 = 18;
pub const FN_GET_SECURITY_STATE: u32 = 19;
pub const FN_SET_PASSPHRASE: u32 = 20;
pub const FN_DISABLE_PASSPHRASE: u32 = 21;
pub const FN_UNLOCK_UNIT: u32 = 22;
pub const FN_FREEZE_LOCK: u32 = 23;
pub const FN_SECURE_ERASE: u32 = 24;
pub const FN_OVERWRITE: u32 = 25;
pub const FN_QUERY_OVERWRITE: u32 = 26;
pub const FN_SET_MASTER_PASSPHRASE: u32 = 27;
pub const FN_MASTER_SECURE_ERASE: u32 = 28;
pub const FN_FW_ACTIVATE_DIMMINFO: u32 = 29;
pub const FN_FW_ACTIVATE_ARM: u32 = 30;

/// An Intel DSM status: the low 16 bits the common code, the high 16 an
/// extended code of the function (with the low word 7, "see extended").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Success,
    NotSupported,
    InvalidInput,
    HwError,
    /// Retry later (busy).
    Retry,
    /// The security state does not allow it.
    InvalidState,
    InvalidPassphrase,
    /// Label area functions on a locked DIMM (`ND_CONFIG_LOCKED`).
    ConfigLocked,
    /// Query overwrite: still running.
    OverwriteInProgress,
    /// Query overwrite without an overwrite.
    OverwriteSequence,
    /// Another function-specific extended code (low word 7).
    Extended(u16),
}

impl Status {
    pub fn code(self) -> u32 {
        match self {
            Status::Success => 0,
            Status::NotSupported => 1,
            Status::InvalidInput => 3,
            Status::HwError => 4,
            Status::Retry => 5,
            Status::InvalidState => 10,
            Status::InvalidPassphrase => 11,
            Status::ConfigLocked | Status::OverwriteInProgress => 7 | 1 << 16,
            Status::OverwriteSequence => 7 | 2 << 16,
            Status::Extended(x) => 7 | u32::from(x) << 16,
        }
    }

    /// The output of a function whose output is its status alone.
    pub fn out(self) -> Vec<u8> {
        self.code().to_le_bytes().to_vec()
    }
}

pub(crate) fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

pub(crate) fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

pub(crate) fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}
