// SPDX-License-Identifier: GPL-2.0
//! The machine-check range arithmetic of `nfit_rs/poison.rs`, against what
//! C's `nfit_handle_mce()` computes.

use crate::poison::{badrange, covering};

/// C: `ALIGN_DOWN(mce->addr, 1UL << MCI_MISC_ADDR_LSB(mce->misc))`, length
/// the same granule.
fn c_badrange(addr: u64, misc: u64) -> (u64, u64) {
    let align = 1u64 << (misc & 0x3f);
    (addr / align * align, align)
}

/// C's walk: the first persistent-memory SPA with `address <= addr` and
/// `address + length - 1 >= addr`.
fn c_covering(ranges: &[(u64, u64, u32)], addr: u64) -> Option<u32> {
    ranges
        .iter()
        .find(|&&(start, len, _)| start <= addr && len != 0 && start + (len - 1) >= addr)
        .map(|r| r.2)
}

#[test]
fn cache_line_of_an_intel_memory_error() {
    // Physical address mode (2 << 6), valid from bit 6: one 64-byte line.
    assert_eq!(badrange(0x1_4000_1047, 2 << 6 | 6), (0x1_4000_1040, 64));
    assert_eq!(badrange(0x1_4000_1040, 2 << 6 | 6), (0x1_4000_1040, 64));
    assert_eq!(badrange(0x1_4000_107f, 0x86), (0x1_4000_1040, 64));
}

#[test]
fn granules_from_byte_to_page_and_beyond() {
    assert_eq!(badrange(0x1234_5677, 0), (0x1234_5677, 1));
    assert_eq!(badrange(0x1234_5677, 12), (0x1234_5000, 4096));
    // The address mode bits (8:6) do not change the granule.
    assert_eq!(badrange(0x1234_5677, 7 << 6 | 12), (0x1234_5000, 4096));
    assert_eq!(badrange(u64::MAX, 63), (1 << 63, 1 << 63));
    for lsb in 0..64 {
        for addr in [0, 1, 0x40, 0x1_4000_1047, u64::MAX - 1, u64::MAX] {
            let misc = 0x80 | lsb;
            assert_eq!(
                badrange(addr, misc),
                c_badrange(addr, misc),
                "{addr:#x} {lsb}"
            );
            let (start, len) = badrange(addr, misc);
            assert!(start <= addr && addr - start < len);
        }
    }
}

#[test]
fn the_range_holding_the_address() {
    let ranges = [
        (0x1_0000_0000, 0x4000_0000, 1u32),
        (0x1_4000_0000, 0x1000_0000, 2),
        (0x2_0000_0000, 0, 3),
        (u64::MAX - 0xfff, 0x1000, 4),
    ];
    let cases = [
        (0xffff_ffff, None),
        (0x1_0000_0000, Some(1)),
        (0x1_3fff_ffff, Some(1)),
        (0x1_4000_0000, Some(2)),
        (0x1_4fff_ffff, Some(2)),
        (0x1_5000_0000, None),
        (0x2_0000_0000, None),
        (u64::MAX - 0x1000, None),
        (u64::MAX - 0xfff, Some(4)),
        (u64::MAX, Some(4)),
    ];
    for (addr, want) in cases {
        assert_eq!(covering(ranges, addr), want, "{addr:#x}");
        assert_eq!(c_covering(&ranges, addr), want, "{addr:#x}");
    }
    assert_eq!(covering::<u32>([], 0x1_0000_0000), None);
}

#[test]
fn first_range_wins_as_in_c() {
    // Two ranges may share addresses (C registers both); C stops at the first.
    let ranges = [(0x1000, 0x2000, 'a'), (0x2000, 0x2000, 'b')];
    assert_eq!(covering(ranges, 0x2800), Some('a'));
    assert_eq!(covering(ranges, 0x3000), Some('b'));
}
