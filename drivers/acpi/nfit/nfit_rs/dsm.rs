// SPDX-License-Identifier: GPL-2.0

//! The Intel NVDIMM `_DSM` interface (revision 1): the functions the label
//! area uses and the layout of their answers. `core`-only: the answers come
//! from firmware (or a VMM) and are checked here before use.

/// `_DSM` interface GUID of NVDIMM_FAMILY_INTEL DIMMs,
/// 4309ac30-0d11-11e4-9191-0800200c9a66, in memory order.
pub const INTEL_GUID: [u8; 16] = [
    0x30, 0xac, 0x09, 0x43, 0x11, 0x0d, 0xe4, 0x11, 0x91, 0x91, 0x08, 0x00, 0x20, 0x0c, 0x9a, 0x66,
];

/// A `_DSM` command family of NVDIMM devices that the C driver knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FamilyInfo {
    /// Its `NVDIMM_FAMILY_*` number.
    pub family: u32,
    /// Its interface GUID, in memory order.
    pub guid: [u8; 16],
    /// The functions the C driver considers (its publicly documented ones).
    pub functions: u64,
}

/// The DIMM families in the C driver's probe order: the first one whose
/// function 0 answers wins. Intel 0, HPE1 1, HPE2 2, Microsoft 3, Hyper-V 4.
pub const FAMILIES: [FamilyInfo; 5] = [
    FamilyInfo {
        family: 0,
        guid: INTEL_GUID,
        functions: INTEL_FUNCTIONS,
    },
    // 9002c334-acf3-4c0e-9642-a235f0d53bc6
    FamilyInfo {
        family: 1,
        guid: [
            0x34, 0xc3, 0x02, 0x90, 0xf3, 0xac, 0x0e, 0x4c, 0x96, 0x42, 0xa2, 0x35, 0xf0, 0xd5,
            0x3b, 0xc6,
        ],
        functions: 0x1c_3c76,
    },
    // 5008664b-b758-41a0-a03c-27c2f2d04f7e
    FamilyInfo {
        family: 2,
        guid: [
            0x4b, 0x66, 0x08, 0x50, 0x58, 0xb7, 0xa0, 0x41, 0xa0, 0x3c, 0x27, 0xc2, 0xf2, 0xd0,
            0x4f, 0x7e,
        ],
        functions: 0x1fe,
    },
    // 1ee68b36-d4bd-4a1a-9a16-4f8e53d46e05
    FamilyInfo {
        family: 3,
        guid: [
            0x36, 0x8b, 0xe6, 0x1e, 0xbd, 0xd4, 0x1a, 0x4a, 0x9a, 0x16, 0x4f, 0x8e, 0x53, 0xd4,
            0x6e, 0x05,
        ],
        functions: 0xffff_ffff,
    },
    // 5746c5f2-a9a2-4264-ad0e-e4ddc9e09e80
    FamilyInfo {
        family: 4,
        guid: [
            0xf2, 0xc5, 0x46, 0x57, 0xa2, 0xa9, 0x64, 0x42, 0xad, 0x0e, 0xe4, 0xdd, 0xc9, 0xe0,
            0x9e, 0x80,
        ],
        functions: 0x1f,
    },
];

/// The last slot of the C driver's family probe, `NVDIMM_FAMILY_PAPR`
/// (5). The nfit driver has no GUID for it (PAPR DIMMs are not ACPI ones):
/// its entry of C's `nfit_uuid[]` is never set, so `acpi_nfit_add_dimm()`
/// asks function 0 of the all-zero GUID. A DIMM whose `_DSM` answers it
/// gets the slot's bit as any family would, and, when the slot is the
/// family chosen (no earlier family answers, or `default_dsm_family=5`), no
/// family at all: C does not know its functions and stops there, before
/// looking for `_LSx`.
pub const PAPR_SLOT: FamilyInfo = FamilyInfo {
    family: 5,
    guid: [0; 16],
    functions: 0,
};

/// Intel functions userspace may not call through `ND_CMD_CALL` (C's
/// `NVDIMM_INTEL_DENY_CMDMASK`): security 19-28, firmware activation 29-30.
pub const INTEL_DENIED: u64 = 0x7ff8_0000;

/// `NVDIMM_FAMILY_INTEL`.
pub const FAMILY_INTEL: u32 = 0;

/// The `_DSM` revision the C driver uses for a function: 2 for the Intel
/// functions from "get modes" (11) to "firmware activate arm" (30), else 1.
pub fn revision(family: u32, func: u64) -> u64 {
    if family == FAMILY_INTEL && (11..=30).contains(&func) {
        2
    } else {
        1
    }
}

/// The functions of `family` a DIMM offers, from its function-0 answers at
/// revision 1 (`rev1`) and 2 (`rev2`, for the functions that use it), or
/// `None` when function 0 itself is not offered. Function 0 is left out.
pub fn offered(info: &FamilyInfo, rev1: u64, rev2: u64) -> Option<u64> {
    offered_of(info.family, info.functions, rev1, rev2)
}

/// As [`offered`], limited to `candidates` (see [`candidates`]) rather
/// than the family's documented functions.
pub fn offered_of(family: u32, candidates: u64, rev1: u64, rev2: u64) -> Option<u64> {
    if rev1 & 1 == 0 {
        return None;
    }
    let mut mask = 0;
    for func in 1..64 {
        let answer = if revision(family, func) == 2 {
            rev2
        } else {
            rev1
        };
        // As `acpi_check_dsm()`: a function counts when the answer to its
        // revision's query has bit 0 and the function's bit.
        if candidates & (1 << func) != 0 && answer & 1 != 0 && answer & (1 << func) != 0 {
            mask |= 1 << func;
        }
    }
    Some(mask)
}

/// The C driver's module parameters that decide a DIMM's family and the
/// functions it considers (`acpi_nfit_add_dimm()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// `default_dsm_family`: the family to prefer when a DIMM answers
    /// function 0 of several (-1: none, the first in probe order wins).
    pub default_family: i32,
    /// `override_dsm_mask`: when not 0, the functions considered for every
    /// family instead of the documented ones (ignored with
    /// `disable_vendor_specific`).
    pub override_mask: u64,
    /// `disable_vendor_specific`: leave out the vendor-specific pass-through
    /// (Intel function 9, HPE2 function 8).
    pub disable_vendor_specific: bool,
}

impl Policy {
    /// The C driver's defaults.
    pub const DEFAULT: Policy = Policy {
        default_family: -1,
        override_mask: 0,
        disable_vendor_specific: false,
    };

    /// The family a DIMM gets among those whose function 0 answers, given
    /// in probe order: the first, unless `default_family` is one of them.
    pub fn choose<'a>(
        &self,
        answering: impl Iterator<Item = &'a FamilyInfo>,
    ) -> Option<&'a FamilyInfo> {
        let mut chosen = None;
        for f in answering {
            if chosen.is_none() || i64::from(f.family) == i64::from(self.default_family) {
                chosen = Some(f);
            }
        }
        chosen
    }

    /// The functions the C driver considers for a DIMM of `info`'s family,
    /// function 0 excluded.
    pub fn candidates(&self, info: &FamilyInfo) -> u64 {
        let mask = if self.override_mask != 0 && !self.disable_vendor_specific {
            self.override_mask
        } else if self.disable_vendor_specific {
            match info.family {
                FAMILY_INTEL => info.functions & !(1 << FUNC_INTEL_VENDOR),
                FAMILY_HPE2 => info.functions & !(1 << FUNC_HPE2_VENDOR),
                _ => info.functions,
            }
        } else {
            info.functions
        };
        mask & !1
    }
}

/// `NVDIMM_FAMILY_HPE2`.
pub const FAMILY_HPE2: u32 = 2;
/// Intel vendor-specific command pass-through (`ND_CMD_VENDOR`).
pub const FUNC_INTEL_VENDOR: u64 = 9;
/// HPE2 vendor-specific command pass-through.
pub const FUNC_HPE2_VENDOR: u64 = 8;

/// Status of `_LSR`/`_LSW` for a locked label area.
pub const LABELS_LOCKED: u32 = 3;

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

/// `ND_CONFIG_LOCKED`, in the extended status (upper 16 bits) of a
/// function-4 answer: the DIMM's configuration is locked.
pub const CONFIG_LOCKED: u32 = 1;

/// The `ND_CMD_GET_CONFIG_SIZE` fields (status, size, maximum transfer) of
/// a function-4 or `_LSI` answer, copied as `acpi_nfit_ctl()` copies them:
/// whole four-byte fields, zero where the answer ends; `None` when not
/// even the status came back (C: `ENXIO`).
pub fn config_size_fields(out: &[u8]) -> Option<[u32; 3]> {
    let status = u32_at(out, 0)?;
    Some([
        status,
        u32_at(out, 4).unwrap_or(0),
        u32_at(out, 8).unwrap_or(0),
    ])
}

/// Whether a function-4 status says the configuration is locked.
pub fn config_locked(status: u32) -> bool {
    (status >> 16) & CONFIG_LOCKED != 0
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
