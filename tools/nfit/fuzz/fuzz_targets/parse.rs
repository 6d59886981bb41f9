// SPDX-License-Identifier: GPL-2.0
//! libFuzzer target: `Nfit::parse` and `Nfit::parse_fit` of the input, and
//! for every accepted table all accessors and interleave-set cookies, with
//! the invariant checks of `nfit_table::fuzz::check` (a broken invariant
//! panics, which libFuzzer reports as a crash).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() <= nfit_table::fuzz::MAX_INPUT {
        nfit_table::fuzz::check(data);
    }
});
