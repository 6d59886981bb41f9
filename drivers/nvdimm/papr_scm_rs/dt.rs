// SPDX-License-Identifier: GPL-2.0

//! Validation of the device-tree properties of an `ibm,pmemory` node.
//!
//! `core`-only: [`parse`] is a pure function of the raw property values
//! (as `of_find_property()` returns them), fuzzed on the host by
//! `tools/papr`.
//!
//! What the C driver (`papr_scm_probe()`) accepts, and where this is
//! stricter (only where C would misbehave):
//! - `ibm,my-drc-index`, `ibm,block-size`, `ibm,number-of-blocks`: required;
//!   like `of_property_read_u32/u64()` a value at least as long as the
//!   integer is accepted and its first cell read (big-endian). Stricter:
//!   a block size or block count of zero, or a product that overflows
//!   64 bits, is rejected (C registers a region of size 0 or of a wrapped
//!   size, and computes `blocks - 1` on an unsigned zero).
//! - `ibm,unit-guid`: required, a NUL-terminated string whose first 36
//!   characters are a UUID (`uuid_is_valid()`: hex digits and hyphens at
//!   8, 13, 18, 23; anything after 36 characters is ignored as in C).
//!   Stricter: C ignores `uuid_parse()` failing and derives the cookies from
//!   uninitialised stack; an invalid UUID is rejected here.
//! - `ibm,metadata-size`: optional. Stricter: C leaves the size
//!   uninitialised when the property is missing or shorter than 4 bytes;
//!   here missing means 0 (no label area) and short is an error. A size
//!   above `i32::MAX` is rejected (C stores it in an `int`).
//! - `ibm,cache-flush-required`, `ibm,hcall-flush-required`: booleans,
//!   true when present whatever their value (`of_property_read_bool()`).
//! - `ibm,persistence-failed-count`: optional; missing or shorter than 8
//!   bytes reads as 0, as in C.
//!
//! The block size is not required to be a power of two or 256 MiB aligned:
//! C does not require it and PowerVM is not QEMU. [`PmemConfig::qemu_aligned`]
//! tells whether it is.

/// Raw values of the properties of an `ibm,pmemory` node; `None` when the
/// property is absent.
#[derive(Clone, Copy, Debug, Default)]
pub struct Props<'a> {
    /// `ibm,my-drc-index`.
    pub drc_index: Option<&'a [u8]>,
    /// `ibm,unit-guid`.
    pub unit_guid: Option<&'a [u8]>,
    /// `ibm,block-size`.
    pub block_size: Option<&'a [u8]>,
    /// `ibm,number-of-blocks`.
    pub number_of_blocks: Option<&'a [u8]>,
    /// `ibm,metadata-size`.
    pub metadata_size: Option<&'a [u8]>,
    /// `ibm,cache-flush-required`.
    pub cache_flush_required: Option<&'a [u8]>,
    /// `ibm,hcall-flush-required`.
    pub hcall_flush_required: Option<&'a [u8]>,
    /// `ibm,persistence-failed-count`.
    pub persistence_failed_count: Option<&'a [u8]>,
}

/// Property names, in the form the device tree spells them.
pub mod names {
    /// DRC index.
    pub const DRC_INDEX: &str = "ibm,my-drc-index";
    /// Unit GUID.
    pub const UNIT_GUID: &str = "ibm,unit-guid";
    /// Block size.
    pub const BLOCK_SIZE: &str = "ibm,block-size";
    /// Number of blocks.
    pub const NUMBER_OF_BLOCKS: &str = "ibm,number-of-blocks";
    /// Label area size.
    pub const METADATA_SIZE: &str = "ibm,metadata-size";
    /// Persistent (cache flush on power loss) when present.
    pub const CACHE_FLUSH_REQUIRED: &str = "ibm,cache-flush-required";
    /// Flushes go through `H_SCM_FLUSH` when present.
    pub const HCALL_FLUSH_REQUIRED: &str = "ibm,hcall-flush-required";
    /// Dirty shutdown count.
    pub const PERSISTENCE_FAILED_COUNT: &str = "ibm,persistence-failed-count";
}

/// Why a node was rejected; every variant names its property.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DtError {
    /// A required property is absent.
    Missing(&'static str),
    /// A property is shorter than its type (`len` bytes).
    TooShort(&'static str, usize),
    /// `ibm,unit-guid` has no NUL terminator.
    NotAString(&'static str),
    /// `ibm,unit-guid` is not a UUID.
    BadUuid(&'static str),
    /// A size or count is zero.
    Zero(&'static str),
    /// `ibm,number-of-blocks` times `ibm,block-size` overflows.
    SizeOverflow(&'static str),
    /// A value is out of the range the kernel can use.
    TooLarge(&'static str, u64),
}

impl DtError {
    /// The property the error is about.
    pub fn property(&self) -> &'static str {
        match *self {
            DtError::Missing(p)
            | DtError::TooShort(p, _)
            | DtError::NotAString(p)
            | DtError::BadUuid(p)
            | DtError::Zero(p)
            | DtError::SizeOverflow(p)
            | DtError::TooLarge(p, _) => p,
        }
    }

    /// The number the error is about (a length or a value), if any.
    pub fn value(&self) -> Option<u64> {
        match *self {
            DtError::TooShort(_, n) => Some(n as u64),
            DtError::TooLarge(_, v) => Some(v),
            _ => None,
        }
    }

    /// A short name of the error kind (for counters).
    pub fn kind(&self) -> &'static str {
        match self {
            DtError::Missing(_) => "missing",
            DtError::TooShort(..) => "too-short",
            DtError::NotAString(_) => "not-a-string",
            DtError::BadUuid(_) => "bad-uuid",
            DtError::Zero(_) => "zero",
            DtError::SizeOverflow(_) => "size-overflow",
            DtError::TooLarge(..) => "too-large",
        }
    }
}

/// A validated `ibm,pmemory` node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PmemConfig {
    /// DRC index: the first argument of every SCM hcall.
    pub drc_index: u32,
    /// UUID bytes in string order (`export_uuid()`).
    pub uuid: [u8; 16],
    /// Bytes per SCM block (non-zero).
    pub block_size: u64,
    /// Number of blocks (non-zero).
    pub blocks: u64,
    /// `blocks * block_size`, checked.
    pub size: u64,
    /// Label area bytes; 0 without a label area.
    pub metadata_size: u32,
    /// `ibm,cache-flush-required` absent: a volatile region.
    pub is_volatile: bool,
    /// `ibm,hcall-flush-required` present: an asynchronous region whose
    /// flush issues `H_SCM_FLUSH`.
    pub hcall_flush_required: bool,
    /// `ibm,persistence-failed-count` (0 when absent).
    pub dirty_shutdown_count: u64,
}

/// Interleave-set cookies of the region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cookies {
    /// First 8 UUID bytes as a little-endian integer.
    pub cookie1: u64,
    /// Last 8 UUID bytes as a little-endian integer.
    pub cookie2: u64,
    /// Always 0: the C driver sets none.
    pub altcookie: u64,
}

/// QEMU's SCM block size and alignment (256 MiB).
pub const QEMU_BLOCK_SIZE: u64 = 256 << 20;

impl PmemConfig {
    /// The interleave-set cookies as `papr_scm_probe()` computes them:
    /// the raw UUID bytes read as two little-endian 64-bit integers, on any
    /// host endianness.
    pub fn cookies(&self) -> Cookies {
        cookies(&self.uuid)
    }

    /// Whether the block size is a power of two and a multiple of QEMU's
    /// 256 MiB.
    pub fn qemu_aligned(&self) -> bool {
        // A power of two at least 256 MiB is a multiple of it.
        self.block_size.is_power_of_two() && self.block_size >= QEMU_BLOCK_SIZE
    }
}

/// Cookies of a raw UUID (see [`PmemConfig::cookies`]).
pub fn cookies(uuid: &[u8; 16]) -> Cookies {
    let mut lo = [0u8; 8];
    let mut hi = [0u8; 8];
    lo.copy_from_slice(&uuid[..8]);
    hi.copy_from_slice(&uuid[8..]);
    Cookies {
        cookie1: u64::from_le_bytes(lo),
        cookie2: u64::from_le_bytes(hi),
        altcookie: 0,
    }
}

fn be_u32(name: &'static str, v: &[u8]) -> Result<u32, DtError> {
    match v.get(..4) {
        Some(&[a, b, c, d]) => Ok(u32::from_be_bytes([a, b, c, d])),
        _ => Err(DtError::TooShort(name, v.len())),
    }
}

fn be_u64(name: &'static str, v: &[u8]) -> Result<u64, DtError> {
    match v.get(..8) {
        Some(&[a, b, c, d, e, f, g, h]) => Ok(u64::from_be_bytes([a, b, c, d, e, f, g, h])),
        _ => Err(DtError::TooShort(name, v.len())),
    }
}

fn required<'a>(name: &'static str, v: Option<&'a [u8]>) -> Result<&'a [u8], DtError> {
    v.ok_or(DtError::Missing(name))
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Parses the first 36 characters of `s` as `uuid_parse()` does; `None`
/// when they are not a UUID.
pub fn parse_uuid(s: &[u8]) -> Option<[u8; 16]> {
    let s = s.get(..36)?;
    let mut out = [0u8; 16];
    let mut n = 0usize;
    let mut i = 0usize;
    while i < 36 {
        if i == 8 || i == 13 || i == 18 || i == 23 {
            if s.get(i) != Some(&b'-') {
                return None;
            }
            i += 1;
            continue;
        }
        let hi = hex_digit(*s.get(i)?)?;
        let lo = hex_digit(*s.get(i + 1)?)?;
        *out.get_mut(n)? = (hi << 4) | lo;
        n += 1;
        i += 2;
    }
    Some(out)
}

/// Validates the properties of one node (see the module documentation for
/// the rules).
pub fn parse(p: &Props<'_>) -> Result<PmemConfig, DtError> {
    use names::*;

    let drc_index = be_u32(DRC_INDEX, required(DRC_INDEX, p.drc_index)?)?;
    let block_size = be_u64(BLOCK_SIZE, required(BLOCK_SIZE, p.block_size)?)?;
    let blocks = be_u64(
        NUMBER_OF_BLOCKS,
        required(NUMBER_OF_BLOCKS, p.number_of_blocks)?,
    )?;

    let guid = required(UNIT_GUID, p.unit_guid)?;
    let nul = guid
        .iter()
        .position(|&c| c == 0)
        .ok_or(DtError::NotAString(UNIT_GUID))?;
    let uuid = parse_uuid(guid.get(..nul).unwrap_or(&[])).ok_or(DtError::BadUuid(UNIT_GUID))?;

    if block_size == 0 {
        return Err(DtError::Zero(BLOCK_SIZE));
    }
    if blocks == 0 {
        return Err(DtError::Zero(NUMBER_OF_BLOCKS));
    }
    let size = blocks
        .checked_mul(block_size)
        .ok_or(DtError::SizeOverflow(NUMBER_OF_BLOCKS))?;

    let metadata_size = match p.metadata_size {
        None => 0,
        Some(v) => be_u32(METADATA_SIZE, v)?,
    };
    if metadata_size > i32::MAX as u32 {
        return Err(DtError::TooLarge(METADATA_SIZE, u64::from(metadata_size)));
    }

    let dirty_shutdown_count = match p.persistence_failed_count {
        None => 0,
        Some(v) => be_u64(PERSISTENCE_FAILED_COUNT, v).unwrap_or(0),
    };

    Ok(PmemConfig {
        drc_index,
        uuid,
        block_size,
        blocks,
        size,
        metadata_size,
        is_volatile: p.cache_flush_required.is_none(),
        hcall_flush_required: p.hcall_flush_required.is_some(),
        dirty_shutdown_count,
    })
}
