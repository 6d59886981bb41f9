// SPDX-License-Identifier: GPL-2.0

//! The errors of the OpenCAPI persistent memory protocol.
//!
//! `core`-only. Everything the device writes (register values, offsets,
//! lengths, identifiers) is untrusted: a value that does not fit is a typed
//! [`Error`], never a panic. [`Error::errno`] is what the kernel driver
//! returns to userspace.

use core::fmt;

/// `EPERM`.
pub const EPERM: i32 = 1;
/// `EIO`.
pub const EIO: i32 = 5;
/// `ENXIO`.
pub const ENXIO: i32 = 6;
/// `EAGAIN`.
pub const EAGAIN: i32 = 11;
/// `EBUSY`.
pub const EBUSY: i32 = 16;
/// `ENODEV`.
pub const ENODEV: i32 = 19;
/// `EINVAL`.
pub const EINVAL: i32 = 22;
/// `EOPNOTSUPP`.
pub const EOPNOTSUPP: i32 = 95;
/// `ETIMEDOUT`.
pub const ETIMEDOUT: i32 = 110;

/// A protocol error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// An access of `len` bytes at `offset` is misaligned or does not fit
    /// in the register window (or in the admin data buffer).
    Window {
        /// Byte offset of the access.
        offset: u64,
        /// Bytes accessed.
        len: u64,
    },
    /// The admin command area the device describes (`ACMA_*`) is unusable:
    /// outside the window, misaligned, overlapping the global registers or
    /// itself, or with a data buffer smaller than
    /// [`MIN_DATA_SIZE`](super::admin::MIN_DATA_SIZE).
    BadArea,
    /// The controller is not ready (`CHI.CRDY` clear).
    NotReady,
    /// The controller's memory is not available (`CHI.MA` clear).
    NoMemory,
    /// The controller reports a fatal failure (`CHI.CFFS` or `CHI.CHFS`).
    Fatal {
        /// The `CHI` value seen.
        chi: u64,
    },
    /// No response (`CHI.ACRA`) within the opcode's timeout.
    Timeout {
        /// The opcode.
        opcode: u8,
    },
    /// The response names another command than the one issued.
    IdMismatch {
        /// The id issued.
        expected: u16,
        /// The id in the response.
        got: u16,
    },
    /// The controller answered with a non-success status.
    Status {
        /// The opcode.
        opcode: u8,
        /// The status code.
        status: u8,
    },
    /// The data buffer does not start with the expected identifier.
    BadIdentifier {
        /// The identifier expected (`'E' << 8 | 'L'`, ...).
        expected: u16,
        /// The identifier found.
        got: u16,
    },
    /// The device's length (or the bytes given) is shorter than the layout
    /// needs.
    Truncated {
        /// Bytes needed.
        need: u64,
        /// Bytes available.
        have: u64,
    },
    /// A length, count or offset from the device is out of range.
    BadLength {
        /// What the value is.
        what: &'static str,
        /// The value.
        value: u64,
    },
    /// A caller's argument (ioctl payload, buffer size, offset) is invalid.
    BadParameter(&'static str),
    /// Nothing to read (no error log entry, no controller dump).
    NoData,
    /// Unknown opcode.
    UnknownOpcode(u8),
}

impl Error {
    /// The errno the driver returns for this error (negative).
    pub fn errno(&self) -> i32 {
        -match self {
            Error::NotReady | Error::NoMemory => ENXIO,
            Error::Fatal { .. } => ENODEV,
            Error::Timeout { .. } => ETIMEDOUT,
            Error::Status { status, .. } => match *status {
                super::admin::STATUS_MEM_UNAVAILABLE => ENXIO,
                super::admin::STATUS_BLOCKED_BG_TASK => EBUSY,
                super::admin::STATUS_BAD_OPCODE => EOPNOTSUPP,
                super::admin::STATUS_BAD_REQUEST_PARM | super::admin::STATUS_BAD_DATA_PARM => {
                    EINVAL
                }
                super::admin::STATUS_DEBUG_BLOCKED => EPERM,
                _ => EIO,
            },
            Error::BadParameter(_) | Error::UnknownOpcode(_) => EINVAL,
            Error::NoData => EAGAIN,
            Error::Window { .. }
            | Error::BadArea
            | Error::IdMismatch { .. }
            | Error::BadIdentifier { .. }
            | Error::Truncated { .. }
            | Error::BadLength { .. } => EIO,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Window { offset, len } => {
                write!(f, "access of {len} bytes at {offset:#x} outside the window")
            }
            Error::BadArea => write!(f, "unusable admin command area"),
            Error::NotReady => write!(f, "controller not ready"),
            Error::NoMemory => write!(f, "controller memory not available"),
            Error::Fatal { chi } => write!(f, "controller failed (CHI {chi:#x})"),
            Error::Timeout { opcode } => {
                write!(f, "{} timed out", super::admin::opcode_name(*opcode))
            }
            Error::IdMismatch { expected, got } => {
                write!(f, "response for command {got}, expected {expected}")
            }
            Error::Status { opcode, status } => write!(
                f,
                "{}: {} ({status:#x})",
                super::admin::opcode_name(*opcode),
                super::admin::status_name(*status)
            ),
            Error::BadIdentifier { expected, got } => {
                write!(f, "data identifier {got:#06x}, expected {expected:#06x}")
            }
            Error::Truncated { need, have } => {
                write!(f, "data truncated: {have} bytes, {need} needed")
            }
            Error::BadLength { what, value } => write!(f, "bad {what}: {value:#x}"),
            Error::BadParameter(what) => write!(f, "invalid argument: {what}"),
            Error::NoData => write!(f, "no data available"),
            Error::UnknownOpcode(op) => write!(f, "unknown opcode {op:#x}"),
        }
    }
}

/// A protocol result.
pub type Result<T> = core::result::Result<T, Error>;
