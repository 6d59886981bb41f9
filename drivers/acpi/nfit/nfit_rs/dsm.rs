// SPDX-License-Identifier: GPL-2.0

//! The Intel NVDIMM `_DSM` interface (revision 1): the functions the label
//! area uses and the layout of their answers. `core`-only: the answers come
//! from firmware (or a VMM) and are checked here before use.

/// `_DSM` interface GUID of NVDIMM_FAMILY_INTEL DIMMs,
/// 4309ac30-0d11-11e4-9191-0800200c9a66, in memory order.
pub const INTEL_GUID: [u8; 16] = [
    0x30, 0xac, 0x09, 0x43, 0x11, 0x0d, 0xe4, 0x11, 0x91, 0x91, 0x08, 0x00, 0x20, 0x0c, 0x9a, 0x66,
];

/// Query supported functions.
pub const FUNC_QUERY: u64 = 0;
/// Get namespace label size.
pub const FUNC_LABEL_SIZE: u64 = 4;
/// Get namespace label data.
pub const FUNC_LABEL_READ: u64 = 5;
/// Set namespace label data.
pub const FUNC_LABEL_WRITE: u64 = 6;

/// Functions the C driver considers for the Intel family (its
/// `NVDIMM_INTEL_CMDMASK`: commands 1-9 and the Intel functions 10-30).
pub const INTEL_FUNCTIONS: u64 = 0x7fff_fffe;

/// Label status: the label area is locked.
pub const STATUS_LOCKED: u32 = 4;

/// Why an answer was not usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DsmError {
    /// Shorter than its layout.
    Short { len: usize, want: usize },
    /// The function reported a non-zero status.
    Status(u32),
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// The function mask from a function-0 answer (up to 64 bits,
/// little-endian; missing bytes are zero, as ACPI's `acpi_check_dsm` reads it).
pub fn function_mask(out: &[u8]) -> u64 {
    let mut mask = 0u64;
    for (i, b) in out.iter().take(8).enumerate() {
        mask |= u64::from(*b) << (8 * i);
    }
    mask
}

/// Splits an answer into its status and payload; a non-zero status is an
/// error.
pub fn payload(out: &[u8]) -> Result<&[u8], DsmError> {
    let status = u32_at(out, 0).ok_or(DsmError::Short {
        len: out.len(),
        want: 4,
    })?;
    if status != 0 {
        return Err(DsmError::Status(status));
    }
    Ok(&out[4..])
}

/// The label area size and maximum transfer from a function-4 answer.
pub fn label_size(out: &[u8]) -> Result<(u32, u32), DsmError> {
    let p = payload(out)?;
    match (u32_at(p, 0), u32_at(p, 4)) {
        (Some(size), Some(max_xfer)) => Ok((size, max_xfer)),
        _ => Err(DsmError::Short {
            len: out.len(),
            want: 12,
        }),
    }
}

/// The offset and length words that start the input of a label read
/// (function 5) or write (function 6).
pub fn label_range(offset: u32, len: u32) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[0..4].copy_from_slice(&offset.to_le_bytes());
    b[4..8].copy_from_slice(&len.to_le_bytes());
    b
}

/// The label bytes of a function-5 answer, which must hold `len` of them.
pub fn label_data(out: &[u8], len: usize) -> Result<&[u8], DsmError> {
    let p = payload(out)?;
    p.get(..len).ok_or(DsmError::Short {
        len: out.len(),
        want: 4 + len,
    })
}
