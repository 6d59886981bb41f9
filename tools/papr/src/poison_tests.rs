// SPDX-License-Identifier: GPL-2.0
//! The UE range arithmetic of `papr_scm_rs/poison.rs`, against what C's
//! `handle_mce_ue()` and `papr_scm_add_badblock()` compute.

use crate::poison::{badrange, error_address, in_region};

/// ppc64 L1 cache line.
const LINE: u64 = 128;

#[test]
fn address_from_page_and_effective_offset() {
    // 4K pages (the guests' configuration) and 64K pages.
    assert_eq!(
        error_address(0x4_0001_0000, 0xc000_0000_0123_4567, 4096),
        0x4_0001_0567
    );
    assert_eq!(
        error_address(0x4_0001_0000, 0xc000_0000_0123_4567, 65536),
        0x4_0001_4567
    );
    // The offset only: the page's own bits of the effective address never
    // reach the physical page.
    assert_eq!(
        error_address(0x4_0001_0000, 0xffff_ffff_ffff_f000, 4096),
        0x4_0001_0000
    );
    assert_eq!(error_address(0x4_0001_0000, 0xfff, 4096), 0x4_0001_0fff);
}

#[test]
fn region_bounds_are_inclusive_of_the_last_byte() {
    let (start, size) = (0x4_0000_0000, 0x1000_0000);
    assert!(!in_region(start, size, start - 1));
    assert!(in_region(start, size, start));
    assert!(in_region(start, size, start + size - 1));
    assert!(!in_region(start, size, start + size));
    assert!(!in_region(start, 0, start));
    // A region ending at the top of the address space.
    assert!(in_region(u64::MAX - 0xfff, 0x1000, u64::MAX));
}

#[test]
fn one_cache_line_aligned_down() {
    assert_eq!(badrange(0x4_0001_0567, LINE), (0x4_0001_0500, LINE));
    assert_eq!(badrange(0x4_0001_0580, LINE), (0x4_0001_0580, LINE));
    assert_eq!(badrange(0x4_0001_05ff, LINE), (0x4_0001_0580, LINE));
    for addr in [0u64, 1, 127, 128, 0x4_0001_0567, u64::MAX] {
        let (s, l) = badrange(addr, LINE);
        // C: ALIGN_DOWN(phys_addr, L1_CACHE_BYTES), L1_CACHE_BYTES.
        assert_eq!((s, l), (addr / LINE * LINE, LINE));
        assert!(s <= addr && addr - s < l);
    }
}

#[test]
fn a_ue_in_a_bound_dimm_becomes_one_bad_sector() {
    // A region bound at 4G (QEMU pseries puts DIMM memory above RAM), a
    // UE reported on its third page.
    let (start, size) = (0x1_0000_0000, 0x1000_0000);
    let addr = error_address(start + 2 * 4096, 0xc000_0000_dead_b0ef, 4096);
    assert_eq!(addr, start + 0x2000 + 0x0ef);
    assert!(in_region(start, size, addr));
    let (bad, len) = badrange(addr, LINE);
    assert_eq!((bad, len), (start + 0x2080, 128));
    // The region's badblocks (512-byte sectors) get the sector holding it.
    assert_eq!((bad - start) / 512, 16);
}
