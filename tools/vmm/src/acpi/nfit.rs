// SPDX-License-Identifier: GPL-2.0
//! The NFIT, laid out exactly as QEMU's (see `tools/nfit`'s builder).

use nfit_table::builder;

use super::sdt::sdt;
use crate::config::{PlacedDimm, PlacedSpa};

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

/// The NFIT's structures (what `_FIT` returns): QEMU's, a flush hint
/// address structure for each DIMM with `flush-hints=N`, and the `--spa`
/// ranges.
pub fn nfit_body(dimms: &[PlacedDimm], spas: &[PlacedSpa], capabilities: u32) -> Vec<u8> {
    let mut body = builder::Qemu {
        dimms: dimms.iter().map(qemu_dimm).collect(),
        capabilities,
    }
    .body();
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
