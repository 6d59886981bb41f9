// SPDX-License-Identifier: GPL-2.0
//! Reference implementations of the C side, written independently of
//! `table.rs` to check it.

use crate::table::Dcr;

/// Linux `nd_fletcher64(addr, len, le = false)` (drivers/nvdimm/core.c):
/// sums the buffer as native-endian `u32` words (a trailing partial word is
/// ignored), `lo32` wrapping at 32 bits, `hi32` a 64-bit sum of the running
/// `lo32`, result `hi32 << 32 | lo32`.
pub fn nd_fletcher64(buf: &[u8]) -> u64 {
    let mut lo32: u32 = 0;
    let mut hi32: u64 = 0;
    for w in buf.chunks_exact(4) {
        lo32 = lo32.wrapping_add(u32::from_ne_bytes([w[0], w[1], w[2], w[3]]));
        hi32 = hi32.wrapping_add(u64::from(lo32));
    }
    (hi32 << 32) | u64::from(lo32)
}

/// `struct nfit_set_info` as the C driver lays it out in memory.
fn set_info(region_offset: u64, dcr: &Dcr) -> [u8; 16] {
    let mut m = [0u8; 16];
    m[0..8].copy_from_slice(&region_offset.to_ne_bytes());
    m[8..12].copy_from_slice(&dcr.serial_number.to_ne_bytes());
    m
}

/// `struct nfit_set_info2` as the C driver lays it out in memory.
fn set_info2(region_offset: u64, dcr: &Dcr) -> [u8; 48] {
    let mut m = [0u8; 48];
    m[0..8].copy_from_slice(&region_offset.to_ne_bytes());
    m[8..12].copy_from_slice(&dcr.serial_number.to_ne_bytes());
    m[12..14].copy_from_slice(&dcr.vendor_id.to_ne_bytes());
    m[14..16].copy_from_slice(&dcr.manufacturing_date.to_ne_bytes());
    m[16] = dcr.manufacturing_location;
    m
}

fn offset_of(m: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&m[0..8]);
    u64::from_ne_bytes(w)
}

/// What `acpi_nfit_init_interleave_set()` computes for the DIMMs of one
/// SPA range (`entries` in memdev table order: region offset and control
/// region): `(cookie1, cookie2, altcookie, positions)`.
///
/// Follows the C code step by step: fill `info`/`info2` in mapping order,
/// sort `info` numerically by offset (`cmp_map`) for cookie1, `info2` the
/// same way (`cmp_map2`) for cookie2, then `info` by the offset's bytes in
/// memory (`cmp_map_compat`, a `memcmp`) for the altcookie; a mapping's
/// position is the index of the first sorted `info2` record whose serial,
/// vendor, date and location match its control region. The C sort is not
/// stable, so results agree with any other implementation only when the
/// offsets are distinct.
pub fn interleave_cookies(entries: &[(u64, Dcr)]) -> (u64, u64, u64, Vec<u8>) {
    let mut info: Vec<[u8; 16]> = entries.iter().map(|(o, d)| set_info(*o, d)).collect();
    let mut info2: Vec<[u8; 48]> = entries.iter().map(|(o, d)| set_info2(*o, d)).collect();
    info.sort_by_key(|m| offset_of(m));
    let cookie1 = nd_fletcher64(info.as_flattened());
    info2.sort_by_key(|m| offset_of(m));
    let cookie2 = nd_fletcher64(info2.as_flattened());
    info.sort_by(|a, b| a[0..8].cmp(&b[0..8]));
    let altcookie = nd_fletcher64(info.as_flattened());
    let mut positions = vec![0u8; entries.len()];
    for (i, m2) in info2.iter().enumerate() {
        for (j, (_, dcr)) in entries.iter().enumerate() {
            if m2[8..17] == set_info2(0, dcr)[8..17] {
                positions[j] = i as u8;
                break;
            }
        }
    }
    (cookie1, cookie2, altcookie, positions)
}
