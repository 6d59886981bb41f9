// SPDX-License-Identifier: GPL-2.0
//! Text of the shared files' errors, for the host: the model's logs, the
//! fuzzer's reports and the tests. The kernel module logs the errors'
//! `what()`/`kind()` and numbers instead, so that it carries no
//! `core::fmt` code (each formatting function the module calls costs the
//! powerpc module loader a stub), which is why these impls live here rather
//! than next to the types.

use crate::dt::DtError;
use crate::logic::BindError;
use crate::stats::StatsError;
use std::fmt;

impl fmt::Display for DtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DtError::Missing(p) => write!(f, "missing {p}"),
            DtError::TooShort(p, n) => write!(f, "{p}: {n} bytes is too short"),
            DtError::NotAString(p) => write!(f, "{p}: not a NUL-terminated string"),
            DtError::BadUuid(p) => write!(f, "{p}: not a UUID"),
            DtError::Zero(p) => write!(f, "{p}: zero"),
            DtError::SizeOverflow(p) => write!(f, "{p}: size overflows 64 bits"),
            DtError::TooLarge(p, v) => write!(f, "{p}: {v:#x} is too large"),
        }
    }
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BindError::BadGeometry => write!(f, "size overflows"),
            BindError::Hcall { opcode, rc } => write!(f, "hcall {opcode:#x} failed: {rc}"),
            BindError::NotContiguous { expected, got } => {
                write!(f, "bound at {got:#x}, expected {expected:#x}")
            }
            BindError::WrongCount { bound } => write!(f, "{bound} blocks bound"),
            BindError::NoAddress => write!(f, "no bound address"),
            BindError::AddressOverflow { addr } => write!(f, "bound range at {addr:#x} wraps"),
            BindError::Partial { cause, cleanup_ok } => write!(
                f,
                "partial bind ({cause:?}), unbind {}",
                if cleanup_ok { "done" } else { "failed" }
            ),
        }
    }
}

impl fmt::Display for StatsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatsError::UnknownStat => write!(f, "unknown performance stat"),
            StatsError::Denied => write!(f, "permission denied"),
            StatsError::Unsupported(rc) => write!(f, "not supported ({rc})"),
            StatsError::Hcall(rc) => write!(f, "hcall failed: {rc}"),
            StatsError::BadSize(n) => write!(f, "absurd buffer size {n}"),
            StatsError::Truncated => write!(f, "buffer truncated"),
        }
    }
}
