// SPDX-License-Identifier: GPL-2.0
//! Deterministic, dependency-free mutation fuzzing of [`Nfit::parse`] and
//! [`Nfit::parse_fit`].
//!
//! [`check`] is the oracle shared by the `nfit-fuzz` binary, the unit test
//! and the cargo-fuzz target: it parses an input both ways, and for every
//! accepted table walks all accessors and checks what `parse` promises
//! (panicking on a broken invariant, so a fuzzer reports it like a crash).
//! [`run`] drives it with inputs mutated from [`seeds`].

use crate::builder::{self, DcrEntry, MemdevEntry, Qemu, SpaEntry};
use crate::reference;
use crate::table::{self, Error, Nfit, Subtable, Warning};
use std::fmt::{self, Write as _};

/// Largest input the mutator produces (the parser's cross-checks are
/// quadratic in the number of subtables).
pub const MAX_INPUT: usize = 16 * 1024;

/// Names of the [`Error`] variants, in declaration order.
pub const ERROR_KINDS: [&str; 10] = [
    "TooShort",
    "BadSignature",
    "BadLength",
    "TruncatedHeader",
    "BadSubtableLength",
    "SubtableOverrun",
    "DuplicateMapping",
    "MissingDcr",
    "MissingInterleave",
    "BadRange",
];

/// Names of the [`Warning`] variants, in declaration order.
pub const WARNING_KINDS: [&str; 12] = [
    "ZeroLength",
    "Overrun",
    "DuplicateSpaIndex",
    "OverlappingRanges",
    "UnalignedRange",
    "MissingSpa",
    "MappingOutOfRange",
    "DuplicateDcrIndex",
    "DuplicateInterleaveIndex",
    "DuplicateCapabilities",
    "UnknownFlushHandle",
    "MissingDcrKept",
];

/// Index of an error's variant in [`ERROR_KINDS`].
pub fn error_kind(e: &Error) -> usize {
    match e {
        Error::TooShort { .. } => 0,
        Error::BadSignature => 1,
        Error::BadLength { .. } => 2,
        Error::TruncatedHeader { .. } => 3,
        Error::BadSubtableLength { .. } => 4,
        Error::SubtableOverrun { .. } => 5,
        Error::DuplicateMapping { .. } => 6,
        Error::MissingDcr { .. } => 7,
        Error::MissingInterleave { .. } => 8,
        Error::BadRange { .. } => 9,
    }
}

/// Index of a warning's variant in [`WARNING_KINDS`].
pub fn warning_kind(w: &Warning) -> usize {
    match w {
        Warning::ZeroLength { .. } => 0,
        Warning::Overrun { .. } => 1,
        Warning::DuplicateSpaIndex { .. } => 2,
        Warning::OverlappingRanges { .. } => 3,
        Warning::UnalignedRange { .. } => 4,
        Warning::MissingSpa { .. } => 5,
        Warning::MappingOutOfRange { .. } => 6,
        Warning::DuplicateDcrIndex { .. } => 7,
        Warning::DuplicateInterleaveIndex { .. } => 8,
        Warning::DuplicateCapabilities => 9,
        Warning::UnknownFlushHandle { .. } => 10,
        Warning::MissingDcrKept { .. } => 11,
    }
}

/// Formats into nothing, to exercise `Display` without allocating.
struct Sink;

impl fmt::Write for Sink {
    fn write_str(&mut self, _: &str) -> fmt::Result {
        Ok(())
    }
}

/// What [`check`] saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// `Nfit::parse` of the whole input.
    pub parse: Result<(), Error>,
    /// `Nfit::parse_fit` of the input past the header (`None` if shorter
    /// than a header).
    pub fit_body: Option<Result<(), Error>>,
    /// `Nfit::parse_fit` of the whole input taken as a header-less body.
    pub fit_whole: Result<(), Error>,
    /// The [`WARNING_KINDS`] (bit per entry) `Nfit::parse` reported.
    pub warnings: u16,
}

/// Parses `data` every way and checks every accepted table (see the module
/// documentation). Panics when the parser breaks a promise.
pub fn check(data: &[u8]) -> Outcome {
    let parse = Nfit::parse(data);
    let fit_body = data.get(table::HEADER_LEN..).map(Nfit::parse_fit);
    let fit_whole = Nfit::parse_fit(data);

    // A table whose header is right is exactly its body.
    let header_ok = data.len() >= table::HEADER_LEN
        && &data[0..4] == b"NFIT"
        && usize::try_from(u32::from_le_bytes([data[4], data[5], data[6], data[7]])).ok()
            == Some(data.len());
    if let Some(fit) = &fit_body {
        if header_ok {
            assert_eq!(
                parse.as_ref().err(),
                fit.as_ref().err(),
                "parse and parse_fit disagree"
            );
        }
    }
    if !header_ok {
        assert!(
            matches!(
                parse,
                Err(Error::TooShort { .. } | Error::BadSignature | Error::BadLength { .. })
            ),
            "bad header accepted or misreported: {parse:?}"
        );
    }

    for r in [Some(&parse), fit_body.as_ref(), Some(&fit_whole)]
        .into_iter()
        .flatten()
    {
        match r {
            Ok(nfit) => walk(nfit),
            Err(e) => {
                let _ = write!(Sink, "{e}");
            }
        }
    }
    let mut warnings = 0u16;
    if let Ok(nfit) = &parse {
        assert_eq!(nfit.revision(), data[8]);
        nfit.warnings(|w| warnings |= 1 << warning_kind(&w));
    }
    Outcome {
        parse: parse.map(|_| ()),
        fit_body: fit_body.map(|r| r.map(|_| ())),
        fit_whole: fit_whole.map(|_| ()),
        warnings,
    }
}

/// Walks every accessor of an accepted table and checks the invariants
/// `Nfit::parse` establishes.
pub fn walk(nfit: &Nfit<'_>) {
    let mut warnings = Vec::new();
    nfit.warnings(|w| {
        let _ = write!(Sink, "{w}");
        warnings.push(w);
    });
    let warned = |w: Warning| warnings.contains(&w);
    // Only the first warning may say where the table ends.
    for w in warnings.iter().skip(1) {
        assert!(
            !matches!(w, Warning::ZeroLength { .. } | Warning::Overrun { .. }),
            "table end reported late: {warnings:?}"
        );
    }
    let subtables: Vec<Subtable<'_>> = nfit.subtables().collect();
    // A description never deletes its own entries (a `_FIT` update that
    // changes nothing is accepted); the check is quadratic, so small
    // tables only.
    if subtables.len() <= 64 {
        assert_eq!(table::deleted_entry(nfit, nfit), None);
    }
    let mut counts = [0usize; 5];
    let mut caps_seen = 0;
    let mut last_caps = None;
    for s in &subtables {
        match *s {
            Subtable::Spa(spa) => {
                counts[0] += 1;
                assert!(spa.length > 0, "empty range {spa:?}");
                let end = spa.address.checked_add(spa.length);
                assert_eq!(end, Some(spa.end()), "wrapping range {spa:?}");
                let cookie = spa.flags & table::SPA_LOCATION_COOKIE_VALID != 0;
                assert_eq!(spa.location_cookie.is_some(), cookie);
                let first = nfit.spa(spa.range_index).expect("SPA range not found");
                assert_eq!(first.range_index, spa.range_index);
                if first != spa {
                    assert!(warned(Warning::DuplicateSpaIndex {
                        index: spa.range_index
                    }));
                }
                let aligned = (spa.address | spa.length) & 0xfff == 0;
                if spa.is_pmem() && !aligned {
                    assert!(warned(Warning::UnalignedRange {
                        index: spa.range_index,
                        address: spa.address,
                        length: spa.length
                    }));
                }
                let kind = spa.kind();
                assert_eq!(kind == table::SpaKind::Pmem, spa.is_pmem());
                assert_eq!(kind == table::SpaKind::Volatile, spa.is_volatile());
                assert!(!(kind.is_virtual() && kind == table::SpaKind::Volatile));
            }
            Subtable::Memdev(m) => {
                let (handle, index) = (m.device_handle, m.range_index);
                if index != 0 && nfit.spa(index).is_none() {
                    // Ignored, as C ignores it.
                    assert!(warned(Warning::MissingSpa { handle, index }));
                    assert!(!nfit.memdevs().any(|o| o == m), "ignored {m:?} listed");
                    continue;
                }
                counts[1] += 1;
                // Every DIMM has a control region; an entry naming a missing
                // one uses its DIMM's, as C.
                assert!(
                    nfit.dimm_dcr(handle).is_some(),
                    "DIMM of {m:?} without a DCR"
                );
                if nfit.dcr(m.region_index).is_none() {
                    assert!(warned(Warning::MissingDcrKept {
                        handle,
                        index: m.region_index
                    }));
                }
                // Index 0 is "not mapped": no range to stay inside.
                let spa = nfit.spa(index).filter(|s| index != 0 && s.is_pmem());
                if let Some(spa) = spa {
                    let end = m.region_offset.checked_add(m.region_size);
                    let inside = end.is_some_and(|e| e <= spa.length);
                    assert_eq!(m.inside(&spa), inside);
                    if !inside {
                        assert!(warned(Warning::MappingOutOfRange { handle, index }));
                    }
                }
                if m.interleave_ways > 1 {
                    assert!(nfit
                        .interleaves()
                        .any(|i| i.interleave_index == m.interleave_index));
                }
                assert!(nfit.memdevs_of(m.range_index).any(|o| o == m));
                assert_eq!(
                    nfit.memdevs()
                        .filter(|o| o.device_handle == m.device_handle
                            && o.range_index == m.range_index)
                        .count(),
                    1,
                    "duplicate memdev accepted"
                );
            }
            Subtable::Interleave(i) => {
                counts[2] += 1;
                // Every counted line is there, and nothing past them.
                let n = i.line_count;
                for k in 0..n.min(64) {
                    assert!(i.line_offset(k).is_some());
                }
                if n > 0 {
                    assert!(i.line_offset(n - 1).is_some());
                }
                assert_eq!(i.line_offset(n), None);
                assert_eq!(i.line_offset(u32::MAX), None);
                let _ = i.line_size;
                let index = i.interleave_index;
                let first = nfit.interleaves().find(|o| o.interleave_index == index);
                if first != Some(i) {
                    assert!(warned(Warning::DuplicateInterleaveIndex { index }));
                }
            }
            Subtable::Smbios(data) => {
                let _ = data.len();
            }
            Subtable::Dcr(d) => {
                counts[3] += 1;
                let first = nfit.dcr(d.region_index).expect("DCR not found");
                assert_eq!(first.region_index, d.region_index);
                if first != d {
                    assert!(warned(Warning::DuplicateDcrIndex {
                        index: d.region_index
                    }));
                }
            }
            Subtable::Bdw {
                region_index,
                windows,
            } => {
                let _ = (region_index, windows);
            }
            Subtable::Flush(f) => {
                counts[4] += 1;
                assert_eq!(f.addresses().count(), usize::from(f.hint_count));
                let handle = f.device_handle;
                if !nfit.memdevs().any(|m| m.device_handle == handle) {
                    assert!(warned(Warning::UnknownFlushHandle { handle }));
                }
                let first = nfit.flush_hints(f.device_handle).expect("flush hints");
                assert_eq!(first.device_handle, f.device_handle);
                let _ = first.addresses().fold(0u64, |a, h| a ^ h);
            }
            Subtable::Capabilities(c) => {
                caps_seen += 1;
                if c.highest_capability < 31 {
                    let bits = u32::from(c.highest_capability) + 1;
                    assert_eq!(c.capabilities >> bits, 0, "capabilities not masked: {c:?}");
                }
                last_caps = Some(c.capabilities);
            }
            Subtable::Unknown { kind, len } => {
                assert!(kind > table::TYPE_CAPABILITIES, "known type {kind} skipped");
                assert!(len >= 4);
            }
        }
    }
    // The last structure counts, as in C.
    assert_eq!(nfit.capabilities(), last_caps.unwrap_or(0));
    if caps_seen > 1 {
        assert!(warned(Warning::DuplicateCapabilities));
    }
    assert_eq!(nfit.spas().count(), counts[0]);
    assert_eq!(nfit.memdevs().count(), counts[1]);
    assert_eq!(nfit.interleaves().count(), counts[2]);
    assert_eq!(nfit.dcrs().count(), counts[3]);
    let _ = counts[4];

    let pmem: Vec<table::Spa> = nfit.spas().filter(|s| s.is_pmem()).collect();
    for (i, a) in pmem.iter().enumerate() {
        for b in &pmem[i + 1..] {
            if a.end() > b.address && b.end() > a.address {
                assert!(
                    warned(Warning::OverlappingRanges {
                        first: a.range_index,
                        second: b.range_index
                    }),
                    "overlapping PM ranges {a:?} {b:?} not reported"
                );
            }
        }
        check_set(nfit, a.range_index);
    }
}

/// Computes the interleave set of one range and compares it with the
/// C driver's computation.
fn check_set(nfit: &Nfit<'_>, range_index: u16) {
    let entries: Vec<(u64, table::Dcr)> = nfit
        .memdevs_of(range_index)
        .map(|m| {
            // The DIMM's control region, as the driver (and C) use it.
            let dcr = nfit
                .dimm_dcr(m.device_handle)
                .expect("memdev's DIMM without a DCR");
            (m.region_offset, dcr)
        })
        .collect();
    let n = entries.len();
    let set = table::interleave_set(&entries, reference::nd_fletcher64);
    let Some(set) = set else {
        assert!(n > table::MAX_SET, "interleave_set refused {n} DIMMs");
        return;
    };
    assert!(n <= table::MAX_SET);
    // The positions are a permutation that orders the offsets.
    let mut seen = [false; table::MAX_SET];
    let mut by_pos = [0u64; table::MAX_SET];
    for (i, &p) in set.positions[..n].iter().enumerate() {
        let p = usize::from(p);
        assert!(p < n && !seen[p], "positions {:?}", &set.positions[..n]);
        seen[p] = true;
        by_pos[p] = entries[i].0;
    }
    assert!(by_pos[..n].windows(2).all(|w| w[0] <= w[1]));
    let mut offsets: Vec<u64> = entries.iter().map(|e| e.0).collect();
    offsets.sort_unstable();
    offsets.dedup();
    if offsets.len() == n {
        let (c1, c2, alt, pos) = reference::interleave_cookies(&entries);
        assert_eq!(
            (set.cookie1, set.cookie2, set.altcookie),
            (c1, c2, alt),
            "cookies differ from the C computation"
        );
        let ids = |d: &table::Dcr| {
            (
                d.serial_number,
                d.vendor_id,
                d.manufacturing_date,
                d.manufacturing_location,
            )
        };
        let unique = entries
            .iter()
            .enumerate()
            .all(|(i, a)| entries[i + 1..].iter().all(|b| ids(&a.1) != ids(&b.1)));
        if unique {
            assert_eq!(&set.positions[..n], &pos[..]);
        }
    }
}

pub use fuzz_rng::Rng;

/// A multi-DIMM interleaved range: one SPA, `n` memdevs with the given
/// offsets, an interleave description, `n` control regions, flush hints.
fn interleaved_seed(offsets: &[u64], caps: Option<(u8, u32)>) -> Vec<u8> {
    let n = offsets.len() as u16;
    let mut b = SpaEntry {
        range_index: 1,
        length: 1 << 32,
        ..SpaEntry::default()
    }
    .bytes();
    for (i, &off) in offsets.iter().enumerate() {
        let i = i as u16;
        b.extend(
            MemdevEntry {
                device_handle: 0x1000 + u32::from(i),
                physical_id: i,
                range_index: 1,
                region_index: 10 + i,
                region_size: 1 << 28,
                region_offset: off,
                interleave_index: 5,
                interleave_ways: n,
                ..MemdevEntry::default()
            }
            .bytes(),
        );
    }
    b.extend(builder::interleave(5, 256, &[0, 1, 2, 3], None));
    for i in 0..n {
        b.extend(
            DcrEntry {
                region_index: 10 + i,
                serial_number: 0xabc0 + u32::from(i),
                manufacturing_date: 0x1234,
                manufacturing_location: i as u8,
                ..DcrEntry::qemu(i)
            }
            .bytes(),
        );
        b.extend(builder::flush(
            0x1000 + u32::from(i),
            &[0xfee0_0000 + u64::from(i) * 64],
            None,
        ));
    }
    if let Some((h, c)) = caps {
        b.extend(builder::capabilities(h, c));
    }
    builder::wrap(&b)
}

/// The starting tables: QEMU-like tables, interleaved sets, and tables with
/// every structure type.
pub fn seeds() -> Vec<Vec<u8>> {
    let mut s = Vec::new();
    for n in 1..=4u16 {
        for caps in [0, 1, 3] {
            s.push(Qemu::new(n, 128 << 20).with_capabilities(caps).table());
        }
    }
    let mut q = Qemu::new(3, 1 << 30);
    q.dimms[1].unarmed = true;
    q.dimms[2].node = 1;
    s.push(q.table());
    s.push(interleaved_seed(&[0, 1 << 28], Some((1, 3))));
    s.push(interleaved_seed(&[0x100, 0x1, 0x2000_0000], None));
    s.push(interleaved_seed(
        &[0, 1 << 28, 2 << 28, 3 << 28],
        Some((0, 1)),
    ));
    // Every type: cookie SPA, volatile, DCR and BDW ranges, SMBIOS, BDW,
    // unknown types.
    let mut b = SpaEntry {
        range_index: 7,
        flags: table::SPA_LOCATION_COOKIE_VALID | table::SPA_PROXIMITY_VALID,
        location_cookie: 0x1122_3344_5566_7788,
        ..SpaEntry::default()
    }
    .bytes();
    b.extend(
        SpaEntry {
            range_index: 8,
            guid: table::guid::VOLATILE,
            address: 0x1_0000_0000,
            ..SpaEntry::default()
        }
        .bytes(),
    );
    b.extend(
        SpaEntry {
            range_index: 9,
            guid: table::guid::DCR,
            address: 0x8000_0000,
            length: 0x1000,
            ..SpaEntry::default()
        }
        .bytes(),
    );
    b.extend(
        MemdevEntry {
            device_handle: 1,
            range_index: 7,
            region_index: 3,
            region_size: 1 << 20,
            interleave_ways: 1,
            ..MemdevEntry::default()
        }
        .bytes(),
    );
    b.extend(
        MemdevEntry {
            device_handle: 1,
            range_index: 9,
            region_index: 3,
            region_size: 1 << 20,
            ..MemdevEntry::default()
        }
        .bytes(),
    );
    b.extend(
        MemdevEntry {
            device_handle: 2,
            range_index: 0,
            region_index: 4,
            ..MemdevEntry::default()
        }
        .bytes(),
    );
    b.extend(
        DcrEntry {
            region_index: 5,
            ..DcrEntry::qemu(0)
        }
        .bytes(),
    );
    let mut d = DcrEntry::qemu(0);
    d.region_index = 3;
    d.windows = 1;
    b.extend(d.bytes());
    let mut d = DcrEntry::qemu(1);
    d.region_index = 4;
    b.extend(d.bytes_len(32));
    b.extend(builder::bdw(3, 1));
    b.extend(builder::smbios(&[1, 2, 3, 4, 5]));
    b.extend(builder::raw(8, 12, 0xaa));
    b.extend(builder::raw(0xffff, 4, 0));
    b.extend(builder::flush(2, &[], None));
    b.extend(builder::capabilities(255, u32::MAX));
    s.push(builder::wrap(&b));
    s
}

/// Subtable boundaries of a (possibly broken) table: `(offset, length)`,
/// stopping at the first implausible length.
fn boundaries(t: &[u8]) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut off = table::HEADER_LEN;
    while off + 4 <= t.len() {
        let len = usize::from(u16::from_le_bytes([t[off + 2], t[off + 3]]));
        if len < 4 {
            break;
        }
        let len = len.min(t.len() - off);
        v.push((off, len));
        off += len;
    }
    v
}

fn put16(t: &mut [u8], off: usize, x: u16) {
    if let Some(s) = t.get_mut(off..off + 2) {
        s.copy_from_slice(&x.to_le_bytes());
    }
}

fn put32(t: &mut [u8], off: usize, x: u32) {
    if let Some(s) = t.get_mut(off..off + 4) {
        s.copy_from_slice(&x.to_le_bytes());
    }
}

fn put64(t: &mut [u8], off: usize, x: u64) {
    if let Some(s) = t.get_mut(off..off + 8) {
        s.copy_from_slice(&x.to_le_bytes());
    }
}

const SMALL16: [u16; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 0x7fff, 0xffff];
const INTERESTING64: [u64; 10] = [
    0,
    1,
    0x100,
    0x1000,
    1 << 28,
    1 << 32,
    1 << 63,
    u64::MAX - 1,
    u64::MAX,
    0x1_0000_0000,
];

/// Applies one random mutation to `t`.
pub fn mutate_once(rng: &mut Rng, t: &mut Vec<u8>, seeds: &[Vec<u8>]) {
    let subs = boundaries(t);
    let r = rng.next_u64();
    let sub = if subs.is_empty() {
        None
    } else {
        Some(rng.pick(&subs))
    };
    match rng.index(15) {
        0 if !t.is_empty() => {
            let i = rng.index(t.len());
            t[i] ^= 1 << rng.index(8);
        }
        1 if !t.is_empty() => {
            let i = rng.index(t.len());
            t[i] = rng.pick(&[0, 1, 0x7f, 0x80, 0xff, r as u8]);
        }
        2 if !t.is_empty() => {
            let cut = match sub {
                Some((off, len)) if rng.chance(1, 2) => {
                    (off + len).saturating_sub(rng.index(5)).min(t.len())
                }
                _ => rng.index(t.len()),
            };
            t.truncate(cut);
        }
        3 => {
            if let Some((off, len)) = sub {
                let l = len as u16;
                let v = rng.pick(&[
                    0,
                    1,
                    3,
                    4,
                    8,
                    16,
                    l.wrapping_sub(1),
                    l.wrapping_add(1),
                    l.wrapping_add(8),
                    l.wrapping_sub(8),
                    0xffff,
                    r as u16,
                ]);
                put16(t, off + 2, v);
            }
        }
        4 => {
            if let Some((off, _)) = sub {
                match u16::from_le_bytes([t[off], t[off + 1]]) {
                    table::TYPE_INTERLEAVE => {
                        let v = rng.pick(&[
                            0,
                            1,
                            2,
                            4,
                            5,
                            0x3fff_ffff,
                            0x4000_0000,
                            0x4000_0001,
                            0x8000_0000,
                            u32::MAX,
                            r as u32,
                        ]);
                        put32(t, off + 8, v);
                    }
                    table::TYPE_FLUSH => {
                        let v = rng.pick(&[0, 1, 2, 3, 0x2000, 0xffff, r as u16]);
                        put16(t, off + 8, v);
                    }
                    table::TYPE_DCR => put16(t, off + 30, rng.pick(&[0, 1, 2, 0xffff])),
                    table::TYPE_CAPABILITIES => {
                        if let Some(b) = t.get_mut(off + 4) {
                            *b = rng.pick(&[0, 1, 2, 30, 31, 32, 254, 255]);
                        }
                    }
                    table::TYPE_SPA => {
                        if let Some(b) = t.get_mut(off + 6) {
                            *b ^= rng.pick(&[1, 2, 4, 8]);
                        }
                    }
                    _ => put16(t, off + 8, rng.next_u64() as u16),
                }
            }
        }
        5 => {
            // Index and handle fields, to make references collide or miss.
            if let Some((off, _)) = sub {
                let v = rng.pick(&SMALL16);
                let field = match u16::from_le_bytes([t[off], t[off + 1]]) {
                    table::TYPE_MEMDEV => rng.pick(&[4, 12, 14, 40, 42]),
                    table::TYPE_FLUSH => 4,
                    _ => 4,
                };
                if field == 4 && rng.chance(1, 2) {
                    put32(t, off + 4, u32::from(v) + 0x1000 * rng.index(2) as u32);
                } else {
                    put16(t, off + field, v);
                }
            }
        }
        6 => {
            // Address and size fields.
            if let Some((off, _)) = sub {
                let field = match u16::from_le_bytes([t[off], t[off + 1]]) {
                    table::TYPE_SPA => rng.pick(&[32, 40]),
                    table::TYPE_MEMDEV => rng.pick(&[16, 24, 32]),
                    _ => 8 * rng.index(4),
                };
                let v = if rng.chance(1, 4) {
                    rng.next_u64()
                } else {
                    rng.pick(&INTERESTING64)
                };
                put64(t, off + field, v);
            }
        }
        7 => {
            // Duplicate a subtable.
            if let Some((off, len)) = sub {
                let copy = t[off..off + len].to_vec();
                let at = if rng.chance(1, 2) {
                    off + len
                } else {
                    let (o, _) = rng.pick(&subs);
                    o
                };
                t.splice(at..at, copy);
            }
        }
        8 => {
            // Splice in a subtable of another seed.
            let other = &seeds[rng.index(seeds.len())];
            let theirs = boundaries(other);
            if !theirs.is_empty() {
                let (o, l) = rng.pick(&theirs);
                let at = match sub {
                    Some((off, len)) => {
                        if rng.chance(1, 2) {
                            off
                        } else {
                            off + len
                        }
                    }
                    None => t.len(),
                };
                t.splice(at..at, other[o..o + l].iter().copied());
            }
        }
        9 => {
            if let Some((off, len)) = sub {
                t.drain(off..off + len);
            }
        }
        10 => {
            if subs.len() >= 2 {
                let a = rng.index(subs.len());
                let b = rng.index(subs.len());
                let (a, b) = (subs[a.min(b)], subs[a.max(b)]);
                if a.0 + a.1 <= b.0 {
                    let sa = t[a.0..a.0 + a.1].to_vec();
                    let sb = t[b.0..b.0 + b.1].to_vec();
                    t.splice(b.0..b.0 + b.1, sa);
                    t.splice(a.0..a.0 + a.1, sb);
                }
            }
        }
        11 => {
            let at = rng.index(t.len() + 1);
            let n = 1 + rng.index(16);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            t.splice(at..at, bytes);
        }
        12 => {
            if let Some((off, _)) = sub {
                let k = rng.pick(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 0xffff, r as u16]);
                put16(t, off, k);
            }
        }
        13 => {
            let kind = rng.index(10) as u16;
            let len = rng.pick(&[0, 2, 4, 8, 15, 16, 24, 32, 40, 47, 48, 56, 64, 80]);
            let mut s = builder::raw(kind, len, 0);
            for b in s.iter_mut().skip(4) {
                if rng.chance(1, 4) {
                    *b = rng.next_u64() as u8;
                }
            }
            let at = match sub {
                Some((off, _)) if rng.chance(1, 2) => off,
                _ => t.len(),
            };
            t.splice(at..at, s);
        }
        _ => {
            // A 64-bit field anywhere in a subtable, or a header byte.
            if let Some((off, len)) = sub {
                let at = off + rng.index(len);
                put64(t, at, rng.pick(&INTERESTING64));
            } else if t.len() >= table::HEADER_LEN {
                let i = rng.index(table::HEADER_LEN);
                t[i] = rng.next_u64() as u8;
            }
        }
    }
    t.truncate(MAX_INPUT);
}

/// One fuzz input: a seed or random bytes, mutated a few times, usually
/// with its header length fixed so the body is reached.
pub fn generate(rng: &mut Rng, seeds: &[Vec<u8>], pool: &[Vec<u8>]) -> Vec<u8> {
    let mut t = match rng.index(20) {
        0 => {
            // Random bytes, often behind a plausible header.
            let n = rng.index(400);
            let mut v: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            if rng.chance(3, 4) {
                let mut h = builder::wrap(&[]);
                h.extend(v);
                v = h;
            }
            v
        }
        1..=6 if !pool.is_empty() => pool[rng.index(pool.len())].clone(),
        _ => seeds[rng.index(seeds.len())].clone(),
    };
    let rounds = 1 + rng.index(4) + usize::from(rng.chance(1, 8)) * 4;
    for _ in 0..rounds {
        mutate_once(rng, &mut t, seeds);
    }
    if t.len() >= 8 && rng.chance(17, 20) {
        let len = t.len() as u32;
        put32(&mut t, 4, len);
        builder::fix_checksum(&mut t);
    }
    t
}

/// Counts of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub iterations: u64,
    /// Accepted by `Nfit::parse`.
    pub accepted: u64,
    /// Rejections by `Nfit::parse`, per [`ERROR_KINDS`] entry.
    pub rejected: [u64; ERROR_KINDS.len()],
    /// Accepted tables with a warning, per [`WARNING_KINDS`] entry.
    pub warned: [u64; WARNING_KINDS.len()],
    /// Accepted by `Nfit::parse_fit` of the input as a header-less body.
    pub fit_accepted: u64,
}

impl Stats {
    /// Total rejections.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.iter().sum()
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "iterations: {}", self.iterations)?;
        writeln!(f, "accepted:   {}", self.accepted)?;
        writeln!(f, "rejected:   {}", self.rejected_total())?;
        for (name, n) in ERROR_KINDS.iter().zip(self.rejected) {
            writeln!(f, "  {name:<24} {n}")?;
        }
        writeln!(f, "accepted with a warning:")?;
        for (name, n) in WARNING_KINDS.iter().zip(self.warned) {
            writeln!(f, "  {name:<24} {n}")?;
        }
        writeln!(f, "parse_fit(whole input) accepted: {}", self.fit_accepted)
    }
}

/// A panic while checking an input.
#[derive(Clone, Debug)]
pub struct Crash {
    pub iteration: u64,
    pub input: Vec<u8>,
    pub message: String,
}

impl fuzz_rng::Crash for Crash {
    fn iteration(&self) -> u64 {
        self.iteration
    }

    fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Crash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "input ({} bytes): {}",
            self.input.len(),
            hex(&self.input)
        )
    }
}

/// Lower-case hex of `data`.
pub fn hex(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len() * 2);
    for b in data {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Runs `iterations` generated inputs from `seed` through [`check`]; stops
/// at the first panic.
pub fn run(iterations: u64, seed: u64) -> Result<Stats, Crash> {
    let mut rng = Rng::new(seed);
    let seeds = seeds();
    let mut pool: Vec<Vec<u8>> = Vec::new();
    let mut stats = Stats::default();
    for iteration in 0..iterations {
        let input = generate(&mut rng, &seeds, &pool);
        let outcome = match fuzz_rng::catch(|| check(&input)) {
            Ok(o) => o,
            Err(message) => {
                return Err(Crash {
                    iteration,
                    input,
                    message,
                });
            }
        };
        stats.iterations += 1;
        match outcome.parse {
            Ok(()) => {
                stats.accepted += 1;
                for (i, n) in stats.warned.iter_mut().enumerate() {
                    *n += u64::from(outcome.warnings >> i & 1);
                }
                // Keep accepted mutants to mutate further.
                if pool.len() < 512 {
                    pool.push(input);
                } else {
                    let i = rng.index(pool.len());
                    pool[i] = input;
                }
            }
            Err(e) => stats.rejected[error_kind(&e)] += 1,
        }
        if outcome.fit_whole.is_ok() {
            stats.fit_accepted += 1;
        }
    }
    Ok(stats)
}
