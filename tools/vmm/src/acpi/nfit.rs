// SPDX-License-Identifier: GPL-2.0
//! The NFIT, laid out exactly as QEMU's (see `tools/nfit`'s builder).

use nfit_table::builder;

use super::sdt::sdt;
use crate::config::{PlacedDimm, PlacedSpa, SetMember, SET_LINE_SIZE, SET_WAYS};

/// The QEMU-compatible description of a DIMM (see `tools/nfit`'s builder
/// for QEMU's numbering: handle slot + 1, SPA index (slot + 1) << 1, ...).
pub fn qemu_dimm(d: &PlacedDimm) -> builder::QemuDimm {
    builder::QemuDimm {
        slot: d.slot,
        address: d.address,
        size: d.config.size,
        node: 0,
        unarmed: d.config.unarmed,
    }
}

/// The structures of a DIMM of an interleave set: the set's SPA range
/// and interleave structure (with its first DIMM), the DIMM's memory
/// device map into the set's range, and its control region. QEMU's values
/// otherwise (flags, attributes, numbering), so the DIMM keeps its
/// identity (serial number, handle) whether it is in a set or not.
pub fn set_structures(d: &PlacedDimm, set: &SetMember) -> Vec<u8> {
    let mut b = Vec::new();
    if set.position == 0 {
        b.extend(
            builder::SpaEntry {
                address: set.base,
                length: set.length,
                range_index: set.range_index,
                ..builder::Qemu::spa(&qemu_dimm(d))
            }
            .bytes(),
        );
        // One line per DIMM in each period of SET_WAYS lines: the DIMM's
        // lines start at its region offset, SET_WAYS lines apart.
        b.extend(builder::interleave(
            u16::from(set.number),
            SET_LINE_SIZE,
            &[0],
            None,
        ));
    }
    b.extend(
        builder::MemdevEntry {
            range_index: set.range_index,
            region_offset: set.region_offset(),
            interleave_index: u16::from(set.number),
            interleave_ways: SET_WAYS,
            ..builder::Qemu::memdev(&qemu_dimm(d))
        }
        .bytes(),
    );
    b.extend(builder::DcrEntry::qemu(d.slot).bytes());
    b
}

/// The structures of a `--spa` range: its SPA range structure, and for a
/// volatile one the memory device map of the DIMM that maps it (its
/// control region, past its persistent part). Virtual disks and CDs are
/// mapped by no DIMM.
pub fn spa_structures(s: &PlacedSpa) -> Vec<u8> {
    let mut b = builder::SpaEntry {
        range_index: s.index,
        flags: nfit_table::table::SPA_PROXIMITY_VALID,
        proximity_domain: 0,
        guid: s.config.kind.guid(),
        address: s.address,
        length: s.config.size,
        // Write-back (EFI_MEMORY_WB); not EFI_MEMORY_NV.
        memory_mapping: 0x8,
        location_cookie: 0,
    }
    .bytes();
    if let Some((slot, dimm_address)) = s.mapped_by {
        b.extend(
            builder::MemdevEntry {
                device_handle: builder::qemu_handle(slot),
                range_index: s.index,
                region_index: builder::qemu_dcr_index(slot),
                region_size: s.config.size,
                region_offset: 0,
                address: dimm_address,
                interleave_ways: 1,
                ..builder::MemdevEntry::default()
            }
            .bytes(),
        );
    }
    b
}

/// The NFIT's structures (what `_FIT` returns): QEMU's (those of an
/// interleave set from [`set_structures`]), a flush hint address
/// structure for each DIMM with `flush-hints=N`, and the `--spa` ranges.
pub fn nfit_body(dimms: &[PlacedDimm], spas: &[PlacedSpa], capabilities: u32) -> Vec<u8> {
    let mut body = Vec::new();
    for d in dimms {
        match &d.set {
            Some(set) => body.extend(set_structures(d, set)),
            None => body.extend(
                builder::Qemu {
                    dimms: vec![qemu_dimm(d)],
                    capabilities: 0,
                }
                .body(),
            ),
        }
    }
    body.extend(builder::qemu_capabilities(capabilities));
    for d in dimms.iter().filter(|d| d.config.flush_hints > 0) {
        let hints: Vec<u64> = (0..d.config.flush_hints)
            .map(|i| crate::config::flush_hint_address(d.slot, i))
            .collect();
        body.extend(builder::flush(builder::qemu_handle(d.slot), &hints, None));
    }
    for s in spas {
        body.extend(spa_structures(s));
    }
    body
}

/// The NFIT: its header (with the reserved word) and `body`.
pub fn nfit(body: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 4];
    b.extend_from_slice(body);
    sdt(b"NFIT", 1, b"NVDIMMRS", &b)
}
