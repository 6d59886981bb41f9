// SPDX-License-Identifier: GPL-2.0
//! What the control plane refuses, as answered in `{"ok":false,"error":...}`.

use std::path::PathBuf;

use crate::devices::faults::TooManyRules;
use crate::host::HostError;

/// A request the control plane did not carry out.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("request longer than {max} bytes")]
    TooLong { max: usize },
    #[error("bad JSON: {0}")]
    Json(serde_json::Error),
    #[error("the request must be a JSON object")]
    NotAnObject,
    /// Unknown `cmd` or field, a field of the wrong type, a missing or
    /// repeated field: serde's words, which name the field or list the
    /// known commands.
    #[error("bad request: {0}")]
    Malformed(serde_json::Error),
    #[error("a fault needs exactly one of status, short, torn, delay_ms, media_error (true)")]
    FaultAction,
    #[error(
        "a card fault needs exactly one of status, action, delay_ms, data_length, \
         data_identifier, bad_area (bad_area without an opcode: it is taken at the next reset)"
    )]
    CardFaultAction,
    #[error(
        "card-smart needs at least one of life_used, spares, media_celsius, ctrl_celsius, \
         dirty_shutdown (true), media_errors (above 0)"
    )]
    CardSmartChange,
    /// Too many `card-smart` changes wait for the card.
    #[error(transparent)]
    TooManySmartChanges(#[from] crate::devices::ocxl::attached::TooManySmartChanges),
    #[error("'{field}' must be from 0 to {max}")]
    OutOfRange { field: &'static str, max: u64 },
    /// `count` 0: a rule that never fires. `per` is what it counts.
    #[error("'count' must be at least 1 (leave it out for every {per})")]
    ZeroCount { per: &'static str },
    #[error("'{field}' must be from -273 to 1000 (degrees Celsius)")]
    Temperature { field: &'static str },
    #[error("the range must be non-empty and not wrap")]
    PoisonRange,
    #[error("notify needs \"value\": 128 (0x80) or 129 (0x81)")]
    NotifyValue,
    #[error("a DIMM takes only 129 (0x81, health changed)")]
    DimmNotifyValue,
    #[error("no card on this machine (--ocxlpmem)")]
    NoCard,
    #[error("hotplug is a host request (control socket only)")]
    HostOnly,
    #[error("this machine has no hotplug slots (--hotplug-slots)")]
    NoHotplugSlots,
    #[error("{}: already a DIMM", .0.display())]
    AlreadyADimm(PathBuf),
    /// A `hotplug` request's `nvdimm` specification did not parse.
    #[error(transparent)]
    NvdimmSpec(#[from] crate::config::ConfigError),
    /// A `hotplug` backing file outside the allowed directories.
    #[error(transparent)]
    HotplugPath(#[from] HostError),
    #[error(transparent)]
    TooManyRules(#[from] TooManyRules),
    /// The NVDIMM platform refused.
    #[error(transparent)]
    Device(#[from] crate::devices::nvdimm::PlatformError),
}
