// SPDX-License-Identifier: GPL-2.0
//! The device side of the data layouts: what a controller writes into its
//! data buffer. The test VMM's card model and the tests build answers with
//! these; the kernel only parses them.

use crate::data::{self, CommandCaps, ControllerStats, DataHeader, ErrorLogEntry, SmartAttribute};

/// An error log answer: header, fixed fields, `extra` additional bytes
/// (the header's length counts the fixed fields and `extra`).
pub fn error_log(e: &ErrorLogEntry, extra: &[u8]) -> Vec<u8> {
    let length = data::ERRLOG_MIN_LENGTH + extra.len();
    let mut b = Vec::with_capacity(data::HEADER_BYTES + length);
    b.extend(DataHeader::encode(data::ID_ERROR_LOG, length as u32 & 0xffff).to_le_bytes());
    b.extend(
        (u64::from(e.log_identifier) << 32 | u64::from(e.program_reference_code)).to_le_bytes(),
    );
    b.extend(
        (u64::from(e.error_log_type) << 56
            | u64::from(e.action_flags & 0xff_ffff) << 32
            | u64::from(e.power_on_seconds))
        .to_le_bytes(),
    );
    b.extend(e.timestamp.to_le_bytes());
    b.extend(e.wwid[0].to_le_bytes());
    b.extend(e.wwid[1].to_le_bytes());
    b.extend(e.fw_revision);
    b.extend([0u8; 16]);
    b.extend(extra);
    b
}

/// An empty error log answer (length 0).
pub fn error_log_empty() -> Vec<u8> {
    DataHeader::encode(data::ID_ERROR_LOG, 0)
        .to_le_bytes()
        .to_vec()
}

/// The controller statistics answer.
pub fn controller_stats(s: &ControllerStats) -> Vec<u8> {
    let mut b = vec![0u8; data::STATS_BYTES];
    let mut put = |off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    put(
        0,
        DataHeader::encode(data::ID_CONTROLLER_STATS, data::STATS_LENGTH as u32),
    );
    put(data::STATS_SPID1, 1 << 56 | 0x38);
    put(
        data::STATS_SPID1 + 8,
        u64::from(s.reset_count) << 32 | u64::from(s.reset_uptime),
    );
    put(
        data::STATS_SPID1 + 0x10,
        u64::from(s.power_on_uptime) << 32 | u64::from(s.life_remaining),
    );
    put(data::STATS_SPID2, 2 << 56 | 0xf8);
    put(
        data::STATS_SPID2 + 8,
        u64::from(s.critical_resource_utilization),
    );
    let counters = s.counters();
    for (off, v) in data::STATS_COUNTERS.iter().zip(counters) {
        put(*off, v);
    }
    b
}

/// A SMART answer.
pub fn smart(attrs: &[SmartAttribute]) -> Vec<u8> {
    let len = attrs.len() * data::SMART_ATTR_BYTES;
    let mut b = DataHeader::encode(data::ID_SMART, len as u32)
        .to_le_bytes()
        .to_vec();
    for a in attrs {
        b.extend(a.0[0].to_le_bytes());
        b.extend(a.0[1].to_le_bytes());
    }
    b
}

/// A controller dump chunk answer.
pub fn dump_chunk(bytes: &[u8]) -> Vec<u8> {
    let mut b = DataHeader::encode(data::ID_CONTROLLER_DUMP, bytes.len() as u32 & 0xffff)
        .to_le_bytes()
        .to_vec();
    b.extend(bytes);
    b
}

/// The command capabilities answer.
pub fn cmd_caps(c: &CommandCaps) -> Vec<u8> {
    let mut b = DataHeader::encode(data::ID_CMD_CAPS, data::CAPS_LENGTH as u32)
        .to_le_bytes()
        .to_vec();
    b.extend(c.admin.to_le_bytes());
    b.extend(c.near_storage.to_le_bytes());
    b
}
