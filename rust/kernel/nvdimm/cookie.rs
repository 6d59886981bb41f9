// SPDX-License-Identifier: GPL-2.0

//! Interleave-set cookies.
//!
//! A namespace label records the cookie of the interleave set it was
//! created on; the core only accepts labels whose cookie matches the
//! region's. A Rust provider must therefore compute exactly the cookies its
//! C counterpart computes, or namespaces created under one driver disappear
//! under the other. The checksum is the core's `nd_fletcher64()`.

/// Fletcher-64 over the 32-bit words of `data`, as `nd_fletcher64()` computes
/// it: trailing bytes that do not fill a word are ignored, words are read in
/// native byte order (or little-endian if `le`), the low sum wraps at 32 bits
/// and only the low 32 bits of the high sum are kept.
pub fn fletcher64(data: &[u8], le: bool) -> u64 {
    let mut lo: u32 = 0;
    let mut hi: u64 = 0;
    for word in data.chunks_exact(4) {
        let bytes = [word[0], word[1], word[2], word[3]];
        let value = if le {
            u32::from_le_bytes(bytes)
        } else {
            u32::from_ne_bytes(bytes)
        };
        lo = lo.wrapping_add(value);
        hi = hi.wrapping_add(u64::from(lo));
    }
    (hi << 32) | u64::from(lo)
}

/// The cookies of an interleave set (`struct nd_interleave_set`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InterleaveSet {
    /// Cookie checked against v1.1 label indexes.
    pub cookie1: u64,
    /// Cookie checked against v1.2 label indexes.
    pub cookie2: u64,
    /// Compatibility cookie for labels written by older kernels.
    pub altcookie: u64,
    /// Address range type GUID of the set (for example an NFIT SPA's).
    pub type_guid: [u8; 16],
}

#[cfg(CONFIG_RUST_LIBNVDIMM_KUNIT_TEST)]
#[macros::kunit_tests(rust_nvdimm_cookie)]
mod tests {
    use super::*;
    use crate::{bindings, prelude::*};

    /// The C implementation, for comparison.
    fn c_fletcher64(data: &mut [u8], le: bool) -> u64 {
        // SAFETY: `data` is valid for `data.len()` bytes; `nd_fletcher64` only
        // reads them.
        unsafe { bindings::nd_fletcher64(data.as_mut_ptr().cast(), data.len(), le) }
    }

    fn pseudo_random(len: usize, seed: u32) -> KVec<u8> {
        let mut v = KVec::with_capacity(len, GFP_KERNEL).unwrap();
        let mut x = seed | 1;
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            v.push(x as u8, GFP_KERNEL).unwrap();
        }
        v
    }

    #[test]
    fn matches_c_on_vectors() {
        // Lengths include non-multiples of 4 (ignored tail), empty input and
        // enough words for both sums to wrap.
        for (len, seed) in [
            (0, 1),
            (3, 2),
            (4, 3),
            (16, 4),
            (48, 5),
            (97, 6),
            (4096, 7),
            (65536, 8),
        ] {
            let mut data = pseudo_random(len, seed);
            for le in [false, true] {
                assert_eq!(fletcher64(&data, le), c_fletcher64(&mut data, le));
            }
        }
        let mut ones = KVec::from_elem(0xffu8, 1 << 16, GFP_KERNEL).unwrap();
        assert_eq!(fletcher64(&ones, false), c_fletcher64(&mut ones, false));
    }

    #[test]
    fn known_values() {
        assert_eq!(fletcher64(&[], false), 0);
        // Words 1 and 2 (little-endian): lo = 3, hi = 1 + 3 = 4.
        let words = [1u8, 0, 0, 0, 2, 0, 0, 0, 0xaa];
        assert_eq!(fletcher64(&words, true), (4 << 32) | 3);
    }
}
