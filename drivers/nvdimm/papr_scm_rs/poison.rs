// SPDX-License-Identifier: GPL-2.0

//! Where an uncorrectable memory error (UE) machine check's poison lands, as
//! C's `papr_scm.c` (`handle_mce_ue()`) works it out.
//!
//! `core`-only: the host crate `tools/papr` tests it.

/// The physical address of the error: the event gives the physical address
/// of the page only, the page offset comes from the effective address.
/// `page_size` is a power of two.
pub fn error_address(physical_page: u64, effective: u64, page_size: u64) -> u64 {
    physical_page.wrapping_add(effective & (page_size - 1))
}

/// Whether `addr` is in the region of `size` bytes at `start` (C compares
/// with the resource's inclusive end, `start + size - 1`).
pub fn in_region(start: u64, size: u64, addr: u64) -> bool {
    addr >= start && addr - start < size
}

/// The bad range recorded for an error at `addr`: its cache line of
/// `line` bytes (a power of two), aligned down. Returns `(start, length)`.
pub fn badrange(addr: u64, line: u64) -> (u64, u64) {
    (addr & !(line - 1), line)
}
