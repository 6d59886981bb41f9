// SPDX-License-Identifier: GPL-2.0
//! Malformed NFITs, one field class each, for the robustness campaign.

use nfit_table::builder::{self, DcrEntry, MemdevEntry, SpaEntry};

use super::nfit::{nfit, qemu_dimm};
use super::sdt::checksum;
use crate::config::PlacedDimm;

/// Classes of malformed NFITs, one field class each, for the robustness
/// campaign (`--malformed-nfit CLASS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Malformed {
    /// The table header's length is longer than the table.
    TableLength,
    /// A subtable length of zero (a parser that trusts it never advances).
    SubtableLengthZero,
    /// A subtable length past the end of the table.
    SubtableLengthOverrun,
    /// An SPA range structure shorter than its type's fixed size.
    SpaLengthShort,
    /// A control region structure shorter than its type's fixed size.
    DcrLengthShort,
    /// An interleave structure whose line count exceeds its length.
    InterleaveCount,
    /// A flush hint structure whose hint count exceeds its length.
    FlushHintCount,
    /// A memory device naming an SPA range index that does not exist.
    MemdevSpaIndex,
    /// A memory device naming a control region index that does not exist.
    MemdevDcrIndex,
    /// Two SPA structures with the same range index.
    DuplicateSpaIndex,
    /// The second DIMM's SPA range overlaps the first one's.
    SpaOverlap,
    /// An SPA range whose base is not page aligned.
    SpaUnaligned,
    /// An SPA range of length zero.
    SpaZeroLength,
    /// A memory device mapping more than its SPA range holds.
    MemdevSizeOverflow,
    /// A memory device with zero interleave ways.
    InterleaveWaysZero,
    /// A second control region with the first DIMM's index (and another
    /// serial number).
    DuplicateDcrIndex,
    /// Two interleave structures with the same index.
    DuplicateInterleaveIndex,
    /// The first DIMM mapped twice into its SPA range.
    DuplicateMemdev,
    /// Two capabilities structures that disagree.
    DuplicateCapabilities,
    /// Flush hints for a DIMM no memory device names.
    FlushHintHandle,
    /// An unmapped memory device (SPA range 0) naming a control region that
    /// does not exist.
    UnmappedMemdevDcrIndex,
    /// The first DIMM's memory device names control region 0, which does
    /// not exist (C does not look for index 0).
    MemdevDcrIndexZero,
    /// A second, unmapped (SPA range 0) memory device of the first DIMM
    /// naming a control region that does not exist, after its mapped entry
    /// named its own.
    SecondMemdevDcrIndex,
}

impl Malformed {
    /// Every class, for the campaign and the tests.
    #[cfg_attr(not(test), allow(dead_code))]
    pub const ALL: [Malformed; 23] = [
        Malformed::TableLength,
        Malformed::SubtableLengthZero,
        Malformed::SubtableLengthOverrun,
        Malformed::SpaLengthShort,
        Malformed::DcrLengthShort,
        Malformed::InterleaveCount,
        Malformed::FlushHintCount,
        Malformed::MemdevSpaIndex,
        Malformed::MemdevDcrIndex,
        Malformed::DuplicateSpaIndex,
        Malformed::SpaOverlap,
        Malformed::SpaUnaligned,
        Malformed::SpaZeroLength,
        Malformed::MemdevSizeOverflow,
        Malformed::InterleaveWaysZero,
        Malformed::DuplicateDcrIndex,
        Malformed::DuplicateInterleaveIndex,
        Malformed::DuplicateMemdev,
        Malformed::DuplicateCapabilities,
        Malformed::FlushHintHandle,
        Malformed::UnmappedMemdevDcrIndex,
        Malformed::MemdevDcrIndexZero,
        Malformed::SecondMemdevDcrIndex,
    ];

    pub fn name(self) -> String {
        use clap::ValueEnum;
        self.to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default()
    }

    /// The malformed NFIT (whole table) for `dimms`; the table checksum is
    /// kept valid so that the malformation is the only fault.
    pub fn nfit(self, dimms: &[PlacedDimm], capabilities: u32) -> Vec<u8> {
        let q = builder::Qemu {
            dimms: dimms.iter().map(qemu_dimm).collect(),
            capabilities,
        };
        let mut body = Vec::new();
        let first = q.dimms.first().copied();
        for (i, d) in q.dimms.iter().enumerate() {
            let mut spa: SpaEntry = builder::Qemu::spa(d);
            let mut memdev: MemdevEntry = builder::Qemu::memdev(d);
            let dcr = DcrEntry::qemu(d.slot);
            let mut spa_len = 56;
            let mut dcr_len = 80;
            if i == 0 {
                match self {
                    Malformed::SpaLengthShort => spa_len = 48,
                    Malformed::DcrLengthShort => dcr_len = 24,
                    Malformed::MemdevSpaIndex => memdev.range_index = 0x7777,
                    Malformed::MemdevDcrIndex => memdev.region_index = 0x7777,
                    Malformed::MemdevDcrIndexZero => memdev.region_index = 0,
                    Malformed::SpaUnaligned => spa.address += 0x200,
                    Malformed::SpaZeroLength => spa.length = 0,
                    Malformed::MemdevSizeOverflow => memdev.region_size = spa.length * 2,
                    Malformed::InterleaveWaysZero => memdev.interleave_ways = 0,
                    _ => {}
                }
            }
            if i == 1 {
                if let (Some(f), Malformed::SpaOverlap) = (first, self) {
                    spa.address = f.address + f.size / 2;
                }
                if self == Malformed::DuplicateSpaIndex {
                    spa.range_index = builder::qemu_spa_index(0);
                    memdev.range_index = spa.range_index;
                }
            }
            body.extend(spa.bytes_len(spa_len));
            body.extend(memdev.bytes());
            if i == 0 && self == Malformed::DuplicateMemdev {
                body.extend(memdev.bytes());
            }
            if i == 0 && self == Malformed::SecondMemdevDcrIndex {
                // The same DIMM (handle, physical id, flags), unmapped.
                let unmapped = MemdevEntry {
                    range_index: 0,
                    region_index: 0x7777,
                    ..memdev
                };
                body.extend(unmapped.bytes());
            }
            body.extend(dcr.bytes_len(dcr_len));
        }
        match self {
            Malformed::InterleaveCount => {
                body.extend(builder::interleave(1, 256, &[0, 1], Some(1000)))
            }
            Malformed::FlushHintCount => body.extend(builder::flush(
                builder::qemu_handle(0),
                &[0xfed0_0000],
                Some(500),
            )),
            Malformed::SubtableLengthZero => {
                let mut st = builder::smbios(&[0; 8]);
                st[2..4].copy_from_slice(&0u16.to_le_bytes());
                body.extend(st);
            }
            Malformed::SubtableLengthOverrun => {
                let mut s = builder::smbios(&[0; 8]);
                s[2..4].copy_from_slice(&0x4000u16.to_le_bytes());
                body.extend(s);
            }
            Malformed::DuplicateDcrIndex => {
                if let Some(f) = first {
                    let mut dcr = DcrEntry::qemu(f.slot);
                    dcr.serial_number ^= 0x5a5a;
                    body.extend(dcr.bytes());
                }
            }
            Malformed::DuplicateInterleaveIndex => {
                for _ in 0..2 {
                    body.extend(builder::interleave(1, 256, &[0], None));
                }
            }
            Malformed::FlushHintHandle => body.extend(builder::flush(0x7777, &[0xfed0_0000], None)),
            Malformed::UnmappedMemdevDcrIndex => {
                let unmapped = MemdevEntry {
                    device_handle: 0x7777,
                    range_index: 0,
                    region_index: 0x7777,
                    ..MemdevEntry::default()
                };
                body.extend(unmapped.bytes());
            }
            _ => {}
        }
        if self == Malformed::DuplicateCapabilities {
            // CPU caches flushed, then only memory controller buffers: C
            // keeps the last.
            body.extend(builder::capabilities(1, 0b11));
            body.extend(builder::capabilities(1, 0b10));
        } else if capabilities != 0 {
            let highest = 31 - capabilities.leading_zeros();
            body.extend(builder::capabilities(highest as u8, capabilities));
        }
        let mut t = nfit(&body);
        if self == Malformed::TableLength {
            let len = (t.len() as u32 + 0x100).to_le_bytes();
            t[4..8].copy_from_slice(&len);
            t[9] = checksum(&t);
        }
        t
    }

    /// Whether the class needs two DIMMs to be expressed.
    pub fn needs_two_dimms(self) -> bool {
        matches!(self, Malformed::SpaOverlap | Malformed::DuplicateSpaIndex)
    }
}
