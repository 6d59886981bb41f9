// SPDX-License-Identifier: GPL-2.0

//! NVDIMM Firmware Interface Table (NFIT) parsing.
//!
//! `core`-only, without allocation: compiled into the `nfit_rs` kernel
//! module and into the host crate `tools/nfit` (unit tests, fuzzing).
//!
//! [`Nfit::parse`] checks the whole table once: the header, every subtable's
//! length against its type and against the end of the table, every count
//! and index, and the cross-references between subtables (a memory device
//! names an existing interleave description and maps its DIMM into its range
//! once, and every DIMM has a control region; ranges are not empty and do
//! not wrap).
//! After that, the accessors cannot fail. Every rejection says what was
//! wrong and where, for a clear message at probe time.
//!
//! What the C driver tolerates is tolerated here too, and handled as C
//! handles it: the table ends at a subtable of length zero or at an
//! SMBIOS or unknown subtable that runs past the end, a memory device naming
//! a missing SPA range is ignored, and duplicate SPA indexes, overlapping or
//! unaligned ranges and mappings larger than their range are kept as they
//! are; of two control regions or interleave descriptions with one index the
//! first counts, of two capabilities structures the last, and flush hints
//! for a DIMM no memory device maps are ignored, and a DIMM keeps the
//! control region of its first entry that names one (C's order) when a
//! later entry names a missing one. [`Nfit::warnings`] reports
//! each of these, for a warning at probe.

use core::cmp::Ordering;
use core::fmt;

/// Most DIMMs in one interleave set (the core's `ND_MAX_MAPPINGS`).
pub const MAX_SET: usize = 32;

/// Length of the ACPI table header plus the NFIT's reserved word.
pub const HEADER_LEN: usize = 40;

/// Subtable types.
pub const TYPE_SPA: u16 = 0;
/// Memory device to SPA range map.
pub const TYPE_MEMDEV: u16 = 1;
/// Interleave description.
pub const TYPE_INTERLEAVE: u16 = 2;
/// SMBIOS management information.
pub const TYPE_SMBIOS: u16 = 3;
/// NVDIMM control region.
pub const TYPE_DCR: u16 = 4;
/// Block data window region.
pub const TYPE_BDW: u16 = 5;
/// Flush hint addresses.
pub const TYPE_FLUSH: u16 = 6;
/// Platform capabilities.
pub const TYPE_CAPABILITIES: u16 = 7;

const SPA_LEN: usize = 56;
const SPA_LEN_WITH_COOKIE: usize = 64;
const MEMDEV_LEN: usize = 48;
const IDT_MIN_LEN: usize = 16;
const SMBIOS_MIN_LEN: usize = 8;
const DCR_SHORT_LEN: usize = 32;
const DCR_LEN: usize = 80;
const BDW_LEN: usize = 40;
const FLUSH_MIN_LEN: usize = 16;
const CAP_LEN: usize = 16;

/// SPA range flag: the proximity domain field is valid.
pub const SPA_PROXIMITY_VALID: u16 = 1 << 1;
/// SPA range flag: the location cookie field is present and valid.
pub const SPA_LOCATION_COOKIE_VALID: u16 = 1 << 2;

/// Platform capability: CPU caches are flushed to the NVDIMMs on power loss.
pub const CAP_CACHE_FLUSH: u32 = 1 << 0;
/// Platform capability: memory controller buffers are flushed on power loss.
pub const CAP_MEM_FLUSH: u32 = 1 << 1;
/// Platform capability: memory mirroring.
pub const CAP_MEM_MIRRORING: u32 = 1 << 2;

/// Memory device flag: the last save to the device failed.
pub const MEM_SAVE_FAILED: u16 = 1 << 0;
/// Memory device flag: the last restore failed.
pub const MEM_RESTORE_FAILED: u16 = 1 << 1;
/// Memory device flag: the platform flush before power loss failed.
pub const MEM_FLUSH_FAILED: u16 = 1 << 2;
/// Memory device flag: the device is not armed (cannot persist data).
pub const MEM_NOT_ARMED: u16 = 1 << 3;
/// Memory device flag: SMART/health events were observed.
pub const MEM_HEALTH_OBSERVED: u16 = 1 << 4;
/// Memory device flag: health events are enabled.
pub const MEM_HEALTH_ENABLED: u16 = 1 << 5;
/// Memory device flag: the device is mapped through an SPA range but the
/// platform did not map it (errors in the map).
pub const MEM_MAP_FAILED: u16 = 1 << 6;

/// Address range type GUIDs, in their in-table (mixed-endian) byte order.
pub mod guid {
    /// Persistent memory.
    pub const PM: [u8; 16] = [
        0x79, 0xd3, 0xf0, 0x66, 0xf3, 0xb4, 0x74, 0x40, 0xac, 0x43, 0x0d, 0x33, 0x18, 0xb7, 0x8c,
        0xdb,
    ];
    /// Volatile memory.
    pub const VOLATILE: [u8; 16] = [
        0x4f, 0x94, 0x05, 0x73, 0xda, 0xfd, 0xe3, 0x44, 0xb1, 0x6c, 0x3f, 0x22, 0xd2, 0x52, 0xe5,
        0xd0,
    ];
    /// NVDIMM control region.
    pub const DCR: [u8; 16] = [
        0xe3, 0x6f, 0xd3, 0x92, 0x1c, 0x5e, 0xbb, 0x4c, 0x94, 0x22, 0x7d, 0x0f, 0x98, 0x25, 0x4d,
        0xa0,
    ];
    /// NVDIMM block data window region.
    pub const BDW: [u8; 16] = [
        0x41, 0xc0, 0x14, 0x91, 0x3c, 0xb6, 0xe7, 0x46, 0xb4, 0xbb, 0x93, 0xc9, 0xfe, 0x36, 0x7a,
        0xe6,
    ];
    /// Volatile virtual disk (77ab535a-45fc-624b-5560-f7b281d1f96e).
    pub const VOLATILE_DISK: [u8; 16] = [
        0x5a, 0x53, 0xab, 0x77, 0xfc, 0x45, 0x4b, 0x62, 0x55, 0x60, 0xf7, 0xb2, 0x81, 0xd1, 0xf9,
        0x6e,
    ];
    /// Volatile virtual CD (3d5abd30-4175-87ce-6d64-d2ade523c4bb).
    pub const VOLATILE_CD: [u8; 16] = [
        0x30, 0xbd, 0x5a, 0x3d, 0x75, 0x41, 0xce, 0x87, 0x6d, 0x64, 0xd2, 0xad, 0xe5, 0x23, 0xc4,
        0xbb,
    ];
    /// Persistent virtual disk (5cea02c9-4d07-69d3-269f-4496fbe096f9).
    pub const PERSISTENT_DISK: [u8; 16] = [
        0xc9, 0x02, 0xea, 0x5c, 0x07, 0x4d, 0xd3, 0x69, 0x26, 0x9f, 0x44, 0x96, 0xfb, 0xe0, 0x96,
        0xf9,
    ];
    /// Persistent virtual CD (08018188-42cd-bb48-100f-5387d53ded3d).
    pub const PERSISTENT_CD: [u8; 16] = [
        0x88, 0x81, 0x01, 0x08, 0xcd, 0x42, 0x48, 0xbb, 0x10, 0x0f, 0x53, 0x87, 0xd5, 0x3d, 0xed,
        0x3d,
    ];
}

/// What an SPA range is, by its type GUID (C's `nfit_spa_type()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpaKind {
    Volatile,
    Pmem,
    /// NVDIMM control region.
    Dcr,
    /// Block data window.
    Bdw,
    VolatileDisk,
    VolatileCd,
    PersistentDisk,
    PersistentCd,
    /// A GUID this table does not know.
    Unknown,
}

impl SpaKind {
    /// A virtual disk or CD (C's `nfit_spa_is_virtual()`): a region
    /// without DIMMs, registered even with range index 0.
    pub fn is_virtual(self) -> bool {
        matches!(
            self,
            SpaKind::VolatileDisk
                | SpaKind::VolatileCd
                | SpaKind::PersistentDisk
                | SpaKind::PersistentCd
        )
    }

    /// Volatile memory or a volatile virtual disk or CD (C's
    /// `nfit_spa_is_volatile()`): a volatile region.
    pub fn is_volatile(self) -> bool {
        matches!(
            self,
            SpaKind::Volatile | SpaKind::VolatileDisk | SpaKind::VolatileCd
        )
    }
}

/// Why a table was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Shorter than the NFIT header.
    TooShort { len: usize },
    /// The signature is not "NFIT".
    BadSignature,
    /// The header's length disagrees with the bytes available.
    BadLength { header: u32, available: usize },
    /// A subtable header does not fit before the end of the table.
    TruncatedHeader { offset: usize },
    /// A subtable's length is below what its type needs, or (for fixed-size
    /// types) not the exact size.
    BadSubtableLength {
        offset: usize,
        kind: u16,
        len: usize,
        want: usize,
    },
    /// A subtable extends past the end of the table.
    SubtableOverrun {
        offset: usize,
        kind: u16,
        len: usize,
    },
    /// A DIMM is mapped twice into one SPA range: C registers a region
    /// with the same DIMM twice in its interleave set, which libnvdimm
    /// cannot serve.
    DuplicateMapping { handle: u32, range: u16 },
    /// A memory device names a control region that does not exist, and no
    /// entry of its DIMM that C meets before it names one (for index 0,
    /// which C does not check, no entry at all: C would register the DIMM
    /// without a region and oops). Otherwise a [`Warning::MissingDcrKept`].
    MissingDcr { handle: u32, index: u16 },
    /// An interleaved memory device names an interleave description that
    /// does not exist.
    MissingInterleave { handle: u32, index: u16 },
    /// An SPA range is empty or wraps around the address space.
    BadRange { index: u16 },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::TooShort { len } => write!(f, "table of {len} bytes is shorter than its header"),
            Error::BadSignature => write!(f, "signature is not NFIT"),
            Error::BadLength { header, available } => {
                write!(f, "header length {header} but {available} bytes available")
            }
            Error::TruncatedHeader { offset } => {
                write!(f, "subtable header at offset {offset} is truncated")
            }
            Error::BadSubtableLength {
                offset,
                kind,
                len,
                want,
            } => write!(
                f,
                "type {kind} subtable at offset {offset} has length {len}, expected {want}"
            ),
            Error::SubtableOverrun { offset, kind, len } => write!(
                f,
                "type {kind} subtable at offset {offset} (length {len}) runs past the table"
            ),
            Error::DuplicateMapping { handle, range } => {
                write!(f, "DIMM {handle:#x} is mapped twice into SPA range {range}")
            }
            Error::MissingDcr { handle, index } => {
                write!(f, "DIMM {handle:#x} names missing control region {index}")
            }
            Error::MissingInterleave { handle, index } => {
                write!(
                    f,
                    "DIMM {handle:#x} names missing interleave description {index}"
                )
            }
            Error::BadRange { index } => write!(f, "SPA range {index} is empty or wraps"),
        }
    }
}

/// Something wrong in a table that the C driver tolerates (it warns or says
/// nothing, and registers the rest). The parser accepts the table and
/// handles each as C does; [`Nfit::warnings`] reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Warning {
    /// A subtable of length zero: the table ends before it, as C stops
    /// reading there.
    ZeroLength { offset: usize, kind: u16 },
    /// An SMBIOS or unknown subtable (types neither driver reads) runs past
    /// the end of the table: the table ends before it, as in C.
    Overrun {
        offset: usize,
        kind: u16,
        len: usize,
    },
    /// Two SPA ranges share an index. Both are kept and each maps every
    /// memory device that names the index, as C registers them;
    /// [`Nfit::spa`] finds the first.
    DuplicateSpaIndex { index: u16 },
    /// Two persistent-memory ranges overlap. Both are kept, as in C (the
    /// namespaces of the second cannot claim the shared part).
    OverlappingRanges { first: u16, second: u16 },
    /// A persistent-memory range is not 4 KiB aligned. Kept, as in C.
    UnalignedRange {
        index: u16,
        address: u64,
        length: u64,
    },
    /// A memory device names an SPA range that does not exist. The entry is
    /// ignored ([`Nfit::memdevs`] leaves it out), as C ignores it: its DIMM
    /// is registered only if another entry maps it.
    MissingSpa { handle: u32, index: u16 },
    /// A memory device's part of its persistent-memory range lies outside
    /// the range. The mapping is kept as it is, as in C.
    MappingOutOfRange { handle: u32, index: u16 },
    /// Two control regions share an index. The first is the one every
    /// memory device naming the index uses ([`Nfit::dcr`]), as in C.
    DuplicateDcrIndex { index: u16 },
    /// Two interleave descriptions share an index. The first counts, as in
    /// C (which reads them for block windows only).
    DuplicateInterleaveIndex { index: u16 },
    /// More than one capabilities structure. The last counts
    /// ([`Nfit::capabilities`]), as C overwrites the earlier ones.
    DuplicateCapabilities,
    /// A flush hint structure names a DIMM no memory device maps. Ignored,
    /// as C looks flush hints up by the handles of the DIMMs it registers.
    UnknownFlushHandle { handle: u32 },
    /// A memory device names a control region that does not exist, but
    /// another entry of its DIMM found one first ([`Nfit::dimm_dcr`]). C
    /// keeps that one: it looks a DIMM's region up until it has one, and
    /// refuses an entry without one only while the DIMM has none.
    MissingDcrKept { handle: u32, index: u16 },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Warning::ZeroLength { offset, kind } => write!(
                f,
                "type {kind} subtable at offset {offset} has length 0, ignoring it and the rest of the table"
            ),
            Warning::Overrun { offset, kind, len } => write!(
                f,
                "type {kind} subtable at offset {offset} (length {len}) runs past the table, ignoring it"
            ),
            Warning::DuplicateSpaIndex { index } => write!(
                f,
                "SPA range index {index} appears twice, registering both ranges"
            ),
            Warning::OverlappingRanges { first, second } => write!(
                f,
                "persistent memory ranges {first} and {second} overlap, registering both"
            ),
            Warning::UnalignedRange {
                index,
                address,
                length,
            } => write!(
                f,
                "SPA range {index} ({length:#x} bytes at {address:#x}) is not 4 KiB aligned, registering it as it is"
            ),
            Warning::MissingSpa { handle, index } => write!(
                f,
                "DIMM {handle:#x} names missing SPA range {index}, ignoring that mapping"
            ),
            Warning::MappingOutOfRange { handle, index } => write!(
                f,
                "DIMM {handle:#x} maps outside SPA range {index}, registering the mapping as it is"
            ),
            Warning::DuplicateDcrIndex { index } => write!(
                f,
                "control region index {index} appears twice, using the first"
            ),
            Warning::DuplicateInterleaveIndex { index } => write!(
                f,
                "interleave index {index} appears twice, using the first"
            ),
            Warning::DuplicateCapabilities => write!(
                f,
                "more than one capabilities structure, using the last"
            ),
            Warning::UnknownFlushHandle { handle } => write!(
                f,
                "flush hints for unknown DIMM {handle:#x}, ignoring them"
            ),
            Warning::MissingDcrKept { handle, index } => write!(
                f,
                "DIMM {handle:#x} names missing control region {index}, using the one its other entry names"
            ),
        }
    }
}

/// Alignment below which a persistent-memory range gets a warning.
const RANGE_ALIGN: u64 = 4096;

fn u8_at(b: &[u8], off: usize) -> u8 {
    b.get(off).copied().unwrap_or(0)
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    match b.get(off..off + 2) {
        Some(s) => u16::from_le_bytes([s[0], s[1]]),
        None => 0,
    }
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    match b.get(off..off + 4) {
        Some(s) => u32::from_le_bytes([s[0], s[1], s[2], s[3]]),
        None => 0,
    }
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    match b.get(off..off + 8) {
        Some(s) => {
            let mut w = [0u8; 8];
            w.copy_from_slice(s);
            u64::from_le_bytes(w)
        }
        None => 0,
    }
}

/// A System Physical Address range (type 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spa {
    pub range_index: u16,
    pub flags: u16,
    pub proximity_domain: u32,
    pub range_guid: [u8; 16],
    pub address: u64,
    pub length: u64,
    pub memory_mapping: u64,
    pub location_cookie: Option<u64>,
}

impl Spa {
    /// Persistent memory, the only kind that becomes a pmem region.
    pub fn is_pmem(&self) -> bool {
        self.range_guid == guid::PM
    }

    /// Volatile memory.
    pub fn is_volatile(&self) -> bool {
        self.range_guid == guid::VOLATILE
    }

    /// The range's type.
    pub fn kind(&self) -> SpaKind {
        match self.range_guid {
            guid::VOLATILE => SpaKind::Volatile,
            guid::PM => SpaKind::Pmem,
            guid::DCR => SpaKind::Dcr,
            guid::BDW => SpaKind::Bdw,
            guid::VOLATILE_DISK => SpaKind::VolatileDisk,
            guid::VOLATILE_CD => SpaKind::VolatileCd,
            guid::PERSISTENT_DISK => SpaKind::PersistentDisk,
            guid::PERSISTENT_CD => SpaKind::PersistentCd,
            _ => SpaKind::Unknown,
        }
    }

    /// One past the last byte of the range (cannot overflow after `parse`).
    pub fn end(&self) -> u64 {
        self.address.saturating_add(self.length)
    }
}

/// A memory device to SPA range mapping (type 1): one DIMM's part of a range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Memdev {
    pub device_handle: u32,
    pub physical_id: u16,
    pub region_id: u16,
    /// SPA range index, 0 when the DIMM is not mapped.
    pub range_index: u16,
    /// Control region index.
    pub region_index: u16,
    pub region_size: u64,
    pub region_offset: u64,
    pub address: u64,
    pub interleave_index: u16,
    pub interleave_ways: u16,
    pub flags: u16,
}

impl Memdev {
    /// Whether the DIMM's share, placed at its offset, stays inside `spa`.
    pub fn inside(&self, spa: &Spa) -> bool {
        self.region_offset
            .checked_add(self.region_size)
            .is_some_and(|end| end <= spa.length)
    }
}

/// An interleave description (type 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interleave<'a> {
    pub interleave_index: u16,
    pub line_count: u32,
    pub line_size: u32,
    lines: &'a [u8],
}

impl Interleave<'_> {
    /// The offset of line `i` (`i < line_count`).
    pub fn line_offset(&self, i: u32) -> Option<u32> {
        let off = usize::try_from(i).ok()?.checked_mul(4)?;
        self.lines
            .get(off..off + 4)
            .map(|_| u32_at(self.lines, off))
    }
}

/// An NVDIMM control region (type 4): identity of a DIMM model and instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dcr {
    pub region_index: u16,
    pub vendor_id: u16,
    pub device_id: u16,
    pub revision_id: u16,
    pub subsystem_vendor_id: u16,
    pub subsystem_device_id: u16,
    pub subsystem_revision_id: u16,
    pub valid_fields: u8,
    pub manufacturing_location: u8,
    pub manufacturing_date: u16,
    pub serial_number: u32,
    /// Format interface code.
    pub code: u16,
    pub windows: u16,
}

/// Flush hint addresses of one DIMM (type 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlushHints<'a> {
    pub device_handle: u32,
    pub hint_count: u16,
    hints: &'a [u8],
}

impl FlushHints<'_> {
    /// The hint addresses.
    pub fn addresses(&self) -> impl Iterator<Item = u64> + '_ {
        self.hints.chunks_exact(8).map(|c| u64_at(c, 0))
    }
}

/// Platform capabilities (type 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    pub highest_capability: u8,
    /// Capability bits, masked to those up to `highest_capability` (as the
    /// C driver reads them).
    pub capabilities: u32,
}

/// One subtable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subtable<'a> {
    Spa(Spa),
    Memdev(Memdev),
    Interleave(Interleave<'a>),
    Smbios(&'a [u8]),
    Dcr(Dcr),
    /// A block data window (kept for completeness; block mode is gone from
    /// Linux): region index.
    Bdw {
        region_index: u16,
        windows: u16,
    },
    Flush(FlushHints<'a>),
    Capabilities(Capabilities),
    /// A type this parser does not know; skipped, as the C driver does.
    Unknown {
        kind: u16,
        len: usize,
    },
}

/// Decodes one subtable whose bytes are exactly `b` (length checked for the
/// type; `b.len()` equals the subtable's length field).
fn decode(offset: usize, kind: u16, b: &[u8]) -> Result<Subtable<'_>, Error> {
    let len = b.len();
    let exact = |want: usize| {
        if len == want {
            Ok(())
        } else {
            Err(Error::BadSubtableLength {
                offset,
                kind,
                len,
                want,
            })
        }
    };
    let at_least = |want: usize| {
        if len >= want {
            Ok(())
        } else {
            Err(Error::BadSubtableLength {
                offset,
                kind,
                len,
                want,
            })
        }
    };
    Ok(match kind {
        TYPE_SPA => {
            let flags = u16_at(b, 6);
            let with_cookie = flags & SPA_LOCATION_COOKIE_VALID != 0;
            exact(if with_cookie {
                SPA_LEN_WITH_COOKIE
            } else {
                SPA_LEN
            })?;
            let mut range_guid = [0u8; 16];
            range_guid.copy_from_slice(&b[16..32]);
            Subtable::Spa(Spa {
                range_index: u16_at(b, 4),
                flags,
                proximity_domain: u32_at(b, 12),
                range_guid,
                address: u64_at(b, 32),
                length: u64_at(b, 40),
                memory_mapping: u64_at(b, 48),
                location_cookie: with_cookie.then(|| u64_at(b, 56)),
            })
        }
        TYPE_MEMDEV => {
            exact(MEMDEV_LEN)?;
            Subtable::Memdev(Memdev {
                device_handle: u32_at(b, 4),
                physical_id: u16_at(b, 8),
                region_id: u16_at(b, 10),
                range_index: u16_at(b, 12),
                region_index: u16_at(b, 14),
                region_size: u64_at(b, 16),
                region_offset: u64_at(b, 24),
                address: u64_at(b, 32),
                interleave_index: u16_at(b, 40),
                interleave_ways: u16_at(b, 42),
                flags: u16_at(b, 44),
            })
        }
        TYPE_INTERLEAVE => {
            at_least(IDT_MIN_LEN)?;
            let line_count = u32_at(b, 8);
            let want = usize::try_from(line_count)
                .ok()
                .and_then(|n| n.checked_mul(4))
                .and_then(|n| n.checked_add(IDT_MIN_LEN))
                .unwrap_or(usize::MAX);
            at_least(want)?;
            Subtable::Interleave(Interleave {
                interleave_index: u16_at(b, 4),
                line_count,
                line_size: u32_at(b, 12),
                lines: &b[IDT_MIN_LEN..want],
            })
        }
        TYPE_SMBIOS => {
            at_least(SMBIOS_MIN_LEN)?;
            Subtable::Smbios(&b[SMBIOS_MIN_LEN..])
        }
        TYPE_DCR => {
            at_least(DCR_SHORT_LEN)?;
            let windows = u16_at(b, 30);
            if windows != 0 {
                at_least(DCR_LEN)?;
            }
            Subtable::Dcr(Dcr {
                region_index: u16_at(b, 4),
                vendor_id: u16_at(b, 6),
                device_id: u16_at(b, 8),
                revision_id: u16_at(b, 10),
                subsystem_vendor_id: u16_at(b, 12),
                subsystem_device_id: u16_at(b, 14),
                subsystem_revision_id: u16_at(b, 16),
                valid_fields: u8_at(b, 18),
                manufacturing_location: u8_at(b, 19),
                manufacturing_date: u16_at(b, 20),
                serial_number: u32_at(b, 24),
                code: u16_at(b, 28),
                windows,
            })
        }
        TYPE_BDW => {
            exact(BDW_LEN)?;
            Subtable::Bdw {
                region_index: u16_at(b, 4),
                windows: u16_at(b, 6),
            }
        }
        TYPE_FLUSH => {
            at_least(FLUSH_MIN_LEN)?;
            let hint_count = u16_at(b, 8);
            let want = FLUSH_MIN_LEN + 8 * usize::from(hint_count);
            at_least(want)?;
            Subtable::Flush(FlushHints {
                device_handle: u32_at(b, 4),
                hint_count,
                hints: &b[FLUSH_MIN_LEN..want],
            })
        }
        TYPE_CAPABILITIES => {
            at_least(CAP_LEN)?;
            let highest = u8_at(b, 4);
            // Bits 0..=highest are defined; the rest must be ignored.
            let mask = if highest >= 31 {
                u32::MAX
            } else {
                (1u32 << (highest + 1)) - 1
            };
            Subtable::Capabilities(Capabilities {
                highest_capability: highest,
                capabilities: u32_at(b, 8) & mask,
            })
        }
        _ => Subtable::Unknown { kind, len },
    })
}

/// Walks the subtables of a body whose framing has been checked.
#[derive(Clone)]
pub struct Subtables<'a> {
    body: &'a [u8],
    offset: usize,
}

/// One step of the framing walk.
enum Step<'a> {
    /// A subtable.
    Subtable(Subtable<'a>),
    /// The body ends at this index, before a subtable C stops at.
    End(usize, Warning),
}

impl<'a> Subtables<'a> {
    /// The next subtable, the end C would see there, or a framing error.
    fn next_checked(&mut self) -> Option<Result<Step<'a>, Error>> {
        let rest = self.body.get(self.offset..)?;
        if rest.is_empty() {
            return None;
        }
        let offset = self.offset + HEADER_LEN;
        // Whatever happens, the walk stops unless a subtable is decoded.
        let at = core::mem::replace(&mut self.offset, self.body.len());
        if rest.len() < 4 {
            return Some(Err(Error::TruncatedHeader { offset }));
        }
        let kind = u16_at(rest, 0);
        let len = usize::from(u16_at(rest, 2));
        // C's `add_table()` stops at a zero length, and skips by the length
        // the types it does not read, which ends it at an overrun.
        let unread = kind == TYPE_SMBIOS || kind > TYPE_CAPABILITIES;
        Some(if len == 0 {
            Ok(Step::End(at, Warning::ZeroLength { offset, kind }))
        } else if len < 4 {
            Err(Error::BadSubtableLength {
                offset,
                kind,
                len,
                want: 4,
            })
        } else if len > rest.len() && unread {
            Ok(Step::End(at, Warning::Overrun { offset, kind, len }))
        } else if len > rest.len() {
            Err(Error::SubtableOverrun { offset, kind, len })
        } else {
            decode(offset, kind, &rest[..len]).map(|s| {
                self.offset = at + len;
                Step::Subtable(s)
            })
        })
    }
}

impl<'a> Iterator for Subtables<'a> {
    type Item = Subtable<'a>;

    fn next(&mut self) -> Option<Subtable<'a>> {
        // Only handed out by `Nfit`, whose body ends where its framing does.
        match self.next_checked()? {
            Ok(Step::Subtable(s)) => Some(s),
            Ok(Step::End(..)) | Err(_) => None,
        }
    }
}

/// A parsed and validated NFIT.
#[derive(Clone, Copy, Debug)]
pub struct Nfit<'a> {
    /// The subtables up to where the table ends for C.
    body: &'a [u8],
    revision: u8,
    /// Why the table ended before its length, if it did.
    cut: Option<Warning>,
}

impl<'a> Nfit<'a> {
    /// Checks a whole NFIT (header included) and everything it refers to.
    pub fn parse(table: &'a [u8]) -> Result<Self, Error> {
        if table.len() < HEADER_LEN {
            return Err(Error::TooShort { len: table.len() });
        }
        if &table[0..4] != b"NFIT" {
            return Err(Error::BadSignature);
        }
        let header = u32_at(table, 4);
        if usize::try_from(header).ok() != Some(table.len()) {
            return Err(Error::BadLength {
                header,
                available: table.len(),
            });
        }
        Self::parse_body(&table[HEADER_LEN..], table[8])
    }

    /// Parses a bare list of subtables, as `_FIT` returns it (no header).
    pub fn parse_fit(body: &'a [u8]) -> Result<Self, Error> {
        Self::parse_body(body, 1)
    }

    fn parse_body(body: &'a [u8], revision: u8) -> Result<Self, Error> {
        let mut walk = Subtables { body, offset: 0 };
        let mut end = body.len();
        let mut cut = None;
        while let Some(step) = walk.next_checked() {
            if let Step::End(at, w) = step? {
                end = at;
                cut = Some(w);
            }
        }
        let nfit = Nfit {
            body: &body[..end],
            revision,
            cut,
        };
        nfit.validate()?;
        Ok(nfit)
    }

    fn walk(&self) -> Subtables<'a> {
        Subtables {
            body: self.body,
            offset: 0,
        }
    }

    /// The table's revision.
    pub fn revision(&self) -> u8 {
        self.revision
    }

    /// All subtables in table order (up to where the table ends for C),
    /// ignored memory devices included.
    pub fn subtables(&self) -> Subtables<'a> {
        self.walk()
    }

    /// SPA ranges in table order.
    pub fn spas(&self) -> impl Iterator<Item = Spa> + 'a {
        self.walk().filter_map(|s| match s {
            Subtable::Spa(spa) => Some(spa),
            _ => None,
        })
    }

    /// Every memory device entry, ignored ones included.
    fn all_memdevs(&self) -> impl Iterator<Item = Memdev> + 'a {
        self.walk().filter_map(|s| match s {
            Subtable::Memdev(m) => Some(m),
            _ => None,
        })
    }

    /// Whether a memory device entry is ignored (it names a missing SPA
    /// range, see [`Warning::MissingSpa`]).
    fn ignored(&self, m: &Memdev) -> bool {
        m.range_index != 0 && self.spa(m.range_index).is_none()
    }

    /// Memory device mappings in table order, without the ignored ones.
    pub fn memdevs(&self) -> impl Iterator<Item = Memdev> + 'a {
        let nfit = *self;
        self.all_memdevs().filter(move |m| !nfit.ignored(m))
    }

    /// Control regions in table order.
    pub fn dcrs(&self) -> impl Iterator<Item = Dcr> + 'a {
        self.walk().filter_map(|s| match s {
            Subtable::Dcr(d) => Some(d),
            _ => None,
        })
    }

    /// Interleave descriptions in table order.
    pub fn interleaves(&self) -> impl Iterator<Item = Interleave<'a>> + 'a {
        self.walk().filter_map(|s| match s {
            Subtable::Interleave(i) => Some(i),
            _ => None,
        })
    }

    /// The (first) SPA range with this index.
    pub fn spa(&self, index: u16) -> Option<Spa> {
        self.spas().find(|s| s.range_index == index)
    }

    /// The (first) control region with this index.
    pub fn dcr(&self, index: u16) -> Option<Dcr> {
        self.dcrs().find(|d| d.region_index == index)
    }

    /// The control region of a DIMM, as C picks it: that of its first
    /// entry naming one that exists, in the order C meets the entries
    /// ([`Nfit::c_order`]). Every DIMM of a parsed table has one.
    pub fn dimm_dcr(&self, handle: u32) -> Option<Dcr> {
        let nfit = *self;
        self.c_order()
            .filter(|m| m.device_handle == handle)
            .find_map(move |m| nfit.dcr(m.region_index))
    }

    /// Memory device entries in the order C's `nfit_mem_init()` meets
    /// them: those of each SPA range in table order (an index once, at its
    /// first range), then the unmapped ones (range 0).
    fn c_order(&self) -> impl Iterator<Item = Memdev> + 'a {
        let nfit = *self;
        self.spas()
            .enumerate()
            .filter(move |(i, s)| !nfit.spas().take(*i).any(|o| o.range_index == s.range_index))
            .flat_map(move |(_, s)| nfit.memdevs_of(s.range_index))
            .chain(self.memdevs().filter(|m| m.range_index == 0))
    }

    /// The (first) flush hints of a DIMM, if any.
    pub fn flush_hints(&self, handle: u32) -> Option<FlushHints<'a>> {
        self.walk().find_map(|s| match s {
            Subtable::Flush(f) if f.device_handle == handle => Some(f),
            _ => None,
        })
    }

    /// The platform capabilities bits of the last capabilities structure
    /// (0 without one).
    pub fn capabilities(&self) -> u32 {
        self.walk()
            .filter_map(|s| match s {
                Subtable::Capabilities(c) => Some(c.capabilities),
                _ => None,
            })
            .last()
            .unwrap_or(0)
    }

    /// The memory device entries of one SPA range, in table order (of every
    /// range with that index, see [`Warning::DuplicateSpaIndex`]).
    pub fn memdevs_of(&self, range_index: u16) -> impl Iterator<Item = Memdev> + 'a {
        self.memdevs().filter(move |m| m.range_index == range_index)
    }

    /// Reports, in table order of the checks, everything in the table that
    /// the parser tolerated as C does (see [`Warning`]).
    pub fn warnings(&self, mut report: impl FnMut(Warning)) {
        if let Some(w) = self.cut {
            report(w);
        }
        for (i, a) in self.spas().enumerate() {
            let aligned = |v: u64| v & (RANGE_ALIGN - 1) == 0;
            if a.is_pmem() && !(aligned(a.address) && aligned(a.length)) {
                report(Warning::UnalignedRange {
                    index: a.range_index,
                    address: a.address,
                    length: a.length,
                });
            }
            for b in self.spas().skip(i + 1) {
                if a.range_index == b.range_index {
                    report(Warning::DuplicateSpaIndex {
                        index: a.range_index,
                    });
                }
                let overlap = a.address < b.end() && b.address < a.end();
                if a.is_pmem() && b.is_pmem() && overlap {
                    report(Warning::OverlappingRanges {
                        first: a.range_index,
                        second: b.range_index,
                    });
                }
            }
        }
        for m in self.all_memdevs() {
            let (handle, index) = (m.device_handle, m.range_index);
            if index == 0 {
                continue;
            }
            match self.spa(index) {
                None => report(Warning::MissingSpa { handle, index }),
                Some(spa) if spa.is_pmem() && !m.inside(&spa) => {
                    report(Warning::MappingOutOfRange { handle, index })
                }
                Some(_) => {}
            }
        }
        for (i, a) in self.dcrs().enumerate() {
            let index = a.region_index;
            let earlier = self.dcrs().take(i).any(|b| b.region_index == index);
            if !earlier && self.dcrs().skip(i + 1).any(|b| b.region_index == index) {
                report(Warning::DuplicateDcrIndex { index });
            }
        }
        for (i, a) in self.interleaves().enumerate() {
            let index = a.interleave_index;
            let earlier = self
                .interleaves()
                .take(i)
                .any(|b| b.interleave_index == index);
            if !earlier
                && self
                    .interleaves()
                    .skip(i + 1)
                    .any(|b| b.interleave_index == index)
            {
                report(Warning::DuplicateInterleaveIndex { index });
            }
        }
        for m in self.memdevs() {
            if self.dcr(m.region_index).is_none() {
                // `parse` let it through: another entry found the region.
                report(Warning::MissingDcrKept {
                    handle: m.device_handle,
                    index: m.region_index,
                });
            }
        }
        let mut caps = 0;
        for s in self.walk() {
            match s {
                Subtable::Flush(f) => {
                    let handle = f.device_handle;
                    if !self.memdevs().any(|m| m.device_handle == handle) {
                        report(Warning::UnknownFlushHandle { handle });
                    }
                }
                Subtable::Capabilities(_) => caps += 1,
                _ => {}
            }
        }
        if caps > 1 {
            report(Warning::DuplicateCapabilities);
        }
    }

    fn validate(&self) -> Result<(), Error> {
        for a in self.spas() {
            if a.length == 0 || a.address.checked_add(a.length).is_none() {
                return Err(Error::BadRange {
                    index: a.range_index,
                });
            }
        }
        // Ignored entries are not looked at, as C never looks at them.
        for (i, m) in self.all_memdevs().enumerate() {
            if self.ignored(&m) {
                continue;
            }
            let handle = m.device_handle;
            // A DIMM appears once per SPA range it takes part in (an
            // ignored entry names another, missing, range).
            if self
                .all_memdevs()
                .skip(i + 1)
                .any(|o| o.device_handle == handle && o.range_index == m.range_index)
            {
                return Err(Error::DuplicateMapping {
                    handle,
                    range: m.range_index,
                });
            }
            // As C: an entry naming a missing region fails while its DIMM
            // has none yet (C skips the check for index 0, but a DIMM left
            // without any region oopses its registration).
            let kept = || {
                if m.region_index == 0 {
                    self.dimm_dcr(handle).is_some()
                } else {
                    self.c_order()
                        .take_while(|o| *o != m)
                        .any(|o| o.device_handle == handle && self.dcr(o.region_index).is_some())
                }
            };
            if self.dcr(m.region_index).is_none() && !kept() {
                return Err(Error::MissingDcr {
                    handle,
                    index: m.region_index,
                });
            }
            if m.interleave_ways > 1
                && !self
                    .interleaves()
                    .any(|t| t.interleave_index == m.interleave_index)
            {
                return Err(Error::MissingInterleave {
                    handle,
                    index: m.interleave_index,
                });
            }
        }
        Ok(())
    }
}

/// Interleave-set cookies (see `struct nd_interleave_set`) and the
/// position of each DIMM in the set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterleaveSet {
    pub cookie1: u64,
    pub cookie2: u64,
    pub altcookie: u64,
    /// `positions[i]` is the position of `entries[i]`.
    pub positions: [u8; MAX_SET],
}

/// The interleave set of an SPA range, computed as the C driver computes
/// it, so labels written under either driver match.
///
/// `entries` holds, per DIMM of the range in table order, its region offset
/// and control region. `fletcher` is the core's `nd_fletcher64` over
/// native-endian words. `None` for more than [`MAX_SET`] DIMMs.
pub fn interleave_set(
    entries: &[(u64, Dcr)],
    fletcher: impl Fn(&[u8]) -> u64,
) -> Option<InterleaveSet> {
    let n = entries.len();
    if n > MAX_SET {
        return None;
    }
    // Both cookies sort the DIMMs numerically by region offset, with the
    // kernel's sort, which decides the order of equal offsets.
    let mut order = [0usize; MAX_SET];
    for (i, slot) in order.iter_mut().enumerate().take(n) {
        *slot = i;
    }
    sort_like_kernel(&mut order[..n], |&a, &b| entries[a].0.cmp(&entries[b].0));
    // v1.1 records: {region_offset u64, serial u32, pad u32}.
    let mut v11 = [[0u8; 16]; MAX_SET];
    // v1.2 records: v1.1 fields, vendor u16, date u16, location u8, 31 zeros.
    let mut v12 = [[0u8; 48]; MAX_SET];
    let mut positions = [0u8; MAX_SET];
    for (k, &i) in order[..n].iter().enumerate() {
        let (off, dcr) = &entries[i];
        v11[k][0..8].copy_from_slice(&off.to_ne_bytes());
        v11[k][8..12].copy_from_slice(&dcr.serial_number.to_ne_bytes());
        v12[k][0..8].copy_from_slice(&off.to_ne_bytes());
        v12[k][8..12].copy_from_slice(&dcr.serial_number.to_ne_bytes());
        v12[k][12..14].copy_from_slice(&dcr.vendor_id.to_ne_bytes());
        v12[k][14..16].copy_from_slice(&dcr.manufacturing_date.to_ne_bytes());
        v12[k][16] = dcr.manufacturing_location;
        positions[i] = k as u8;
    }
    let cookie1 = fletcher(v11[..n].as_flattened());
    let cookie2 = fletcher(v12[..n].as_flattened());
    // The compatibility cookie keeps an old sort that compared the offsets'
    // bytes in memory order rather than their values.
    sort_like_kernel(&mut v11[..n], |a, b| a[0..8].cmp(&b[0..8]));
    let altcookie = fletcher(v11[..n].as_flattened());
    Some(InterleaveSet {
        cookie1,
        cookie2,
        altcookie,
        positions,
    })
}

/// The kernel's `sort()` (`lib/sort.c`, a bottom-up heapsort), step for
/// step: it is not stable, and the cookies and positions of a set whose
/// DIMMs share an offset (a malformed table) depend on where it leaves
/// equal elements.
pub fn sort_like_kernel<T>(v: &mut [T], cmp: impl Fn(&T, &T) -> Ordering) {
    // `parent()` of lib/sort.c for one-element steps.
    let parent = |i: usize| (i - 1) / 2;
    let mut n = v.len();
    let mut a = n / 2;
    if a == 0 {
        return;
    }
    let mut shift = 0;
    loop {
        if a != 0 {
            // Building the heap: sift down a.
            a -= 1 << shift;
        } else if n > 3 {
            // Extract the two largest elements.
            n -= 1;
            v.swap(0, n);
            shift = usize::from(cmp(&v[1], &v[2]) != Ordering::Greater);
            a = 1 << shift;
            n -= 1;
            v.swap(a, n);
        } else {
            break;
        }
        // Find the sift-down path to the leaves, then back up to where
        // the element at `a` belongs.
        let mut b = a;
        let (mut c, mut d);
        loop {
            c = 2 * b + 1;
            d = c + 1;
            if d >= n {
                break;
            }
            b = if cmp(&v[c], &v[d]) == Ordering::Greater {
                c
            } else {
                d
            };
        }
        if d == n {
            b = c;
        }
        while b != a && cmp(&v[a], &v[b]) != Ordering::Less {
            b = parent(b);
        }
        c = b;
        while b != a {
            b = parent(b);
            v.swap(b, c);
        }
    }
    n -= 1;
    v.swap(0, n);
    if n == 2 && cmp(&v[0], &v[1]) == Ordering::Greater {
        v.swap(0, 1);
    }
}

/// An entry of a previous description that a new one lacks: C refuses such
/// an update ("new nfit deletes entries (unsupported)").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deletion {
    /// The missing subtable's type.
    pub kind: u16,
    /// Its offset in the previous description.
    pub offset: usize,
}

impl fmt::Display for Deletion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "type {} subtable at offset {} of the previous NFIT is missing",
            self.kind, self.offset
        )
    }
}

/// How many bytes of subtable `b` C compares to tell whether a new
/// description has it (`add_spa()` to `add_flush()`: the structure up to its
/// last valid field, header included); `None` for the types it does not
/// keep (SMBIOS, capabilities, unknown).
fn compared_len(b: &[u8]) -> Option<usize> {
    let n = match u16_at(b, 0) {
        // Exactly their length (checked by `decode`).
        TYPE_SPA | TYPE_MEMDEV | TYPE_BDW => b.len(),
        TYPE_DCR if u16_at(b, 30) != 0 => DCR_LEN,
        TYPE_DCR => DCR_SHORT_LEN,
        TYPE_INTERLEAVE => usize::try_from(u32_at(b, 8))
            .ok()?
            .checked_mul(4)?
            .checked_add(IDT_MIN_LEN)?,
        TYPE_FLUSH => FLUSH_MIN_LEN + 8 * usize::from(u16_at(b, 8)),
        _ => return None,
    };
    b.get(..n).map(|_| n)
}

impl<'a> Nfit<'a> {
    /// The subtables C keeps between descriptions, each with its offset and
    /// the bytes C compares.
    fn kept(&self) -> impl Iterator<Item = (usize, &'a [u8])> + 'a {
        let body = self.body;
        let mut at = 0;
        core::iter::from_fn(move || loop {
            let rest = body.get(at..)?;
            if rest.len() < 4 {
                return None;
            }
            let len = usize::from(u16_at(rest, 2));
            // The framing was checked: only the end stops the walk.
            let sub = rest.get(..len).filter(|_| len != 0)?;
            let offset = at + HEADER_LEN;
            at += len;
            if let Some(n) = compared_len(sub) {
                return Some((offset, &sub[..n]));
            }
        })
    }
}

/// The first entry of `prev` that `next` lacks, as C's
/// `acpi_nfit_check_deletions()` finds one: each entry of the new
/// description takes one equal entry of the previous (its type's bytes as
/// C compares them), and any entry left untaken, a changed one included,
/// is deleted. Entries only C's parser skips (SMBIOS, capabilities) do not
/// count.
pub fn deleted_entry(prev: &Nfit<'_>, next: &Nfit<'_>) -> Option<Deletion> {
    prev.kept().enumerate().find_map(|(i, (offset, key))| {
        // The n-th copy of an entry needs n copies in the new description.
        let copies = prev.kept().take(i + 1).filter(|(_, k)| *k == key).count();
        let present = next.kept().filter(|(_, k)| *k == key).count();
        (present < copies).then(|| Deletion {
            kind: u16_at(key, 0),
            offset,
        })
    })
}
