// SPDX-License-Identifier: GPL-2.0
//! The `_DSM` interface the guest's AML and the device models speak: the
//! UUIDs, function numbers, status codes and notification values of the
//! ACPI NVDIMM root device and the DIMM families the VMM serves, and one
//! call as a transport hands it to a model. Both the ACPI generator and
//! the models use it; it uses neither.

use std::time::Duration;

/// `_DSM` UUID of the NVDIMM root device, in its in-buffer byte order
/// (`ToUUID("2f10e7a4-9e91-11e4-89d3-123b93f75cba")`).
pub const ROOT_UUID: [u8; 16] = [
    0xa4, 0xe7, 0x10, 0x2f, 0x91, 0x9e, 0xe4, 0x11, 0x89, 0xd3, 0x12, 0x3b, 0x93, 0xf7, 0x5c, 0xba,
];
/// `_DSM` UUID of the Intel NVDIMM command family
/// (`ToUUID("4309ac30-0d11-11e4-9191-0800200c9a66")`).
pub const INTEL_UUID: [u8; 16] = [
    0x30, 0xac, 0x09, 0x43, 0x11, 0x0d, 0xe4, 0x11, 0x91, 0x91, 0x08, 0x00, 0x20, 0x0c, 0x9a, 0x66,
];

/// `_DSM` UUID of the Intel bus family on the root device
/// (`ToUUID("c7d8acd4-2df8-4b82-9f65-a325335af149")`): firmware activation.
pub const INTEL_BUS_UUID: [u8; 16] = [
    0xd4, 0xac, 0xd8, 0xc7, 0xf8, 0x2d, 0x82, 0x4b, 0x9f, 0x65, 0xa3, 0x25, 0x33, 0x5a, 0xf1, 0x49,
];

/// `_DSM` UUID of the Microsoft NVDIMM family
/// (`ToUUID("1ee68b36-d4bd-4a1a-9a16-4f8e53d46e05")`). A DIMM with
/// `label-methods=on` belongs to this family (function 0 answers 1: the
/// family, no function) instead of Intel's: Linux's C nfit never enables
/// the label methods for an Intel-family DIMM (it checks the family's
/// fixed command mask, which has 4-6, not function 0), and it enables
/// them for any other known family. (Hyper-V's family, whose NVDIMMs have
/// `_LSx` on real hosts, makes ndctl 76 misread the label commands'
/// status: its Hyper-V ops read a Hyper-V package's status field.)
pub const MSFT_UUID: [u8; 16] = [
    0x36, 0x8b, 0xe6, 0x1e, 0xbd, 0xd4, 0x1a, 0x4a, 0x9a, 0x16, 0x4f, 0x8e, 0x53, 0xd4, 0x6e, 0x05,
];

/// Intel family functions served to DIMMs.
pub const FN_QUERY: u32 = 0;
pub const FN_GET_CONFIG_SIZE: u32 = 4;
pub const FN_GET_CONFIG_DATA: u32 = 5;
pub const FN_SET_CONFIG_DATA: u32 = 6;

/// `_DSM` status codes (the Intel DSM interface's low 16 bits).
pub const STATUS_SUCCESS: u32 = 0;
pub const STATUS_NOT_SUPPORTED: u32 = 1;
pub const STATUS_NO_SUCH_DEVICE: u32 = 2;
pub const STATUS_INVALID_INPUT: u32 = 3;
pub const STATUS_HW_ERROR: u32 = 4;

/// Intel label functions on a locked DIMM: extended status
/// `ND_CONFIG_LOCKED` (bit 16) with the low word 7 ("see extended").
pub const STATUS_CONFIG_LOCKED: u32 = 7 | 1 << 16;

/// Status codes of the ACPI label methods (`_LSI`, `_LSR`, `_LSW`).
#[cfg_attr(not(test), allow(dead_code))]
pub const LS_SUCCESS: u32 = 0;
pub const LS_HW_ERROR: u32 = 1;
pub const LS_INVALID_INPUT: u32 = 2;
/// "Label storage area locked" (Linux: `ACPI_LABELS_LOCKED`, -EACCES).
pub const LS_LOCKED: u32 = 3;

/// The label method status for a model (Intel `_DSM`) status.
pub fn ls_status(dsm: u32) -> u32 {
    match dsm {
        STATUS_SUCCESS => LS_SUCCESS,
        STATUS_INVALID_INPUT => LS_INVALID_INPUT,
        STATUS_CONFIG_LOCKED => LS_LOCKED,
        _ => LS_HW_ERROR,
    }
}

/// A label method's name for its Intel function.
pub fn method_name(function: u32) -> Option<&'static str> {
    match function {
        FN_GET_CONFIG_SIZE => Some("LSI"),
        FN_GET_CONFIG_DATA => Some("LSR"),
        FN_SET_CONFIG_DATA => Some("LSW"),
        _ => None,
    }
}

/// One guest call, whatever carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsmCall {
    /// 0 for the root device, else the DIMM's NFIT handle.
    pub handle: u32,
    pub uuid: [u8; 16],
    pub revision: u32,
    pub function: u32,
    /// `None`: the guest described an input the transport could not hold.
    pub input: Option<Vec<u8>>,
}

/// What the model asks the transport to do with an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsmReply {
    pub output: Vec<u8>,
    /// Answer only after this long (injected delay).
    pub delay: Option<Duration>,
}

pub fn status(s: u32) -> Vec<u8> {
    s.to_le_bytes().to_vec()
}

pub fn le32(b: &[u8], off: usize) -> Option<u32> {
    b.get(off..off + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Notification values for the root device.
pub const NOTIFY_UPDATE: u8 = 0x80;
pub const NOTIFY_UC_MEMORY_ERROR: u8 = 0x81;
/// Notification value for a DIMM device: its health changed.
pub const NOTIFY_DIMM_HEALTH: u8 = 0x81;

/// A notification the platform raises on the guest's ACPI devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notification {
    /// `Notify(NVDR, 0x80)`: re-read `_FIT`.
    Update,
    /// `Notify(NVDR, 0x81)`: an uncorrectable memory error; scrub.
    UcMemoryError,
    /// `Notify(NVss, 0x81)`: the health of the DIMM in slot `s` changed.
    DimmHealth(usize),
}
