// SPDX-License-Identifier: GPL-2.0

//! Where a machine check's poison lands, as C's `nfit/mce.c` works it out.
//!
//! `core`-only: the host crate `tools/nfit` tests it.

/// `MCi_MISC` bits 5:0: the least significant valid bit of `MCi_ADDR`
/// (C's `MCI_MISC_ADDR_LSB()`).
const MISC_ADDR_LSB: u64 = 0x3f;

/// The bad range a machine check at `addr` records: the granule the bank
/// reports valid in `misc` (a 64-byte cache line for a memory error on
/// Intel hardware), aligned down. Returns `(start, length)`.
pub fn badrange(addr: u64, misc: u64) -> (u64, u64) {
    // At most 63: the shift cannot overflow.
    let granule = 1u64 << (misc & MISC_ADDR_LSB);
    (addr & !(granule - 1), granule)
}

/// The first of `ranges` (start, length, tag) that covers `addr`; its tag.
/// Ranges of length 0 cover nothing, and none reaches past the end of the
/// address space.
pub fn covering<T: Copy>(ranges: impl IntoIterator<Item = (u64, u64, T)>, addr: u64) -> Option<T> {
    ranges
        .into_iter()
        .find(|&(start, len, _)| addr >= start && addr - start < len)
        .map(|(_, _, tag)| tag)
}
