// SPDX-License-Identifier: GPL-2.0
//! The NFIT, laid out exactly as QEMU's (see `tools/nfit`'s builder).

use nfit_table::builder;

use super::sdt::sdt;
use crate::config::PlacedDimm;

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

/// The NFIT's structures (what `_FIT` returns): QEMU's, plus a flush
/// hint address structure for each DIMM with `flush-hints=N`.
pub fn nfit_body(dimms: &[PlacedDimm], capabilities: u32) -> Vec<u8> {
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
    body
}

/// The NFIT: its header (with the reserved word) and `body`.
pub fn nfit(body: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 4];
    b.extend_from_slice(body);
    sdt(b"NFIT", 1, b"NVDIMMRS", &b)
}
