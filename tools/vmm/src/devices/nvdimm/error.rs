// SPDX-License-Identifier: GPL-2.0
//! What the NVDIMM platform refuses, and why.

use std::path::PathBuf;

use super::ars::TooManyRanges;
use crate::config::ConfigError;

/// A transport's own error, which the models carry without knowing it.
pub type BackendError = Box<dyn std::error::Error + Send + Sync>;

/// Why the platform refused a request of the host (or could not open a
/// DIMM).
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{}: label-size above 4 GiB", path.display())]
    LabelAreaTooLarge { path: PathBuf },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("Intel DIMM state: {0}")]
    IntelState(#[from] super::intel::StateError),
    #[error("DIMM {0} does not serve the Intel family (intel=on)")]
    NotIntel(u32),
    #[error("the range is not inside the DIMM's backing file")]
    MediaRange,
    #[error("state=: a hot-added DIMM keeps its Intel state in memory")]
    HotplugIntelState,
    #[error("no ARS on this machine (--ars)")]
    NoArs,
    #[error(transparent)]
    TooManyRanges(#[from] TooManyRanges),
    #[error("this machine has no notification line (--hotplug-slots)")]
    NoNotificationLine,
    #[error("no DIMM with handle {0}")]
    NoSuchHandle(u32),
    #[error("no DIMM has flush hints (flush-hints=N)")]
    NoFlushHints,
    #[error("this machine has no hotplug slots (--hotplug-slots)")]
    NoHotplug,
    #[error("no hotplug slot left")]
    NoSlotLeft,
    #[error("{}: already a DIMM", path.display())]
    AlreadyADimm { path: PathBuf },
    #[error("label-methods: the hotplug slots' devices have no label methods")]
    HotplugLabelMethods,
    #[error("acpi-device=off: the hotplug slots have their devices already")]
    HotplugNoDevice,
    #[error("flush-hints: this machine has no flush hint page (give a boot DIMM flush hints)")]
    HotplugFlushHints,
    #[error("a DIMM of {0} bytes does not fit in the device memory left")]
    NoRoom(u64),
    #[error("no DIMM placed")]
    NotPlaced,
    /// The transport failed to map the DIMM or raise the notification.
    #[error("{0}")]
    Backend(BackendError),
}
