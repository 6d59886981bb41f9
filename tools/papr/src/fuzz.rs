// SPDX-License-Identifier: GPL-2.0
//! Deterministic fuzzer of the device-tree property parser ([`crate::dt`]).
//!
//! Each case starts from QEMU-like properties and mutates some of them
//! (absent, truncated, extended, random bytes, edge values, broken UUID
//! strings). [`check`] parses the case and compares the outcome with an
//! independent reference written with `std` and 128-bit arithmetic; any
//! mismatch panics, and [`run`] turns panics into a [`Crash`].

use crate::dt::{self, Props};
use std::collections::BTreeMap;
use std::fmt;

pub use fuzz_rng::Rng;

/// One case: owned property values (index as in [`NAMES`]).
#[derive(Clone, Debug, Default)]
pub struct Case {
    /// Property values, `None` when absent.
    pub props: [Option<Vec<u8>>; 8],
}

/// Property names in [`Case::props`] order.
pub const NAMES: [&str; 8] = [
    dt::names::DRC_INDEX,
    dt::names::UNIT_GUID,
    dt::names::BLOCK_SIZE,
    dt::names::NUMBER_OF_BLOCKS,
    dt::names::METADATA_SIZE,
    dt::names::CACHE_FLUSH_REQUIRED,
    dt::names::HCALL_FLUSH_REQUIRED,
    dt::names::PERSISTENCE_FAILED_COUNT,
];

impl Case {
    /// QEMU's properties for a 1 GiB `spapr-nvdimm` in slot 0 with a
    /// 128 KiB label area.
    pub fn qemu() -> Self {
        let mut c = Case::default();
        c.props[0] = Some(0x9000_0000u32.to_be_bytes().to_vec());
        c.props[1] = Some(b"75a3cdd7-6a2f-4791-8d15-fe0a920e8e9e\0".to_vec());
        c.props[2] = Some((256u64 << 20).to_be_bytes().to_vec());
        c.props[3] = Some(4u64.to_be_bytes().to_vec());
        c.props[4] = Some((128u32 << 10).to_be_bytes().to_vec());
        c.props[5] = Some(Vec::new());
        c.props[6] = None;
        c
    }

    /// The borrowed form the parser takes.
    pub fn as_props(&self) -> Props<'_> {
        let p = |i: usize| self.props[i].as_deref();
        Props {
            drc_index: p(0),
            unit_guid: p(1),
            block_size: p(2),
            number_of_blocks: p(3),
            metadata_size: p(4),
            cache_flush_required: p(5),
            hcall_flush_required: p(6),
            persistence_failed_count: p(7),
        }
    }
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, v) in NAMES.iter().zip(&self.props) {
            match v {
                None => writeln!(f, "  {name}: absent")?,
                Some(v) => writeln!(f, "  {name}: {}", hex(v))?,
            }
        }
        Ok(())
    }
}

/// Bytes as hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

const EDGE64: [u64; 10] = [
    0,
    1,
    2,
    3,
    256 << 20,
    (256 << 20) + 1,
    1 << 32,
    1 << 63,
    u64::MAX,
    u64::MAX / 2,
];

fn mutate_int(rng: &mut Rng, width: usize) -> Vec<u8> {
    match rng.below(6) {
        0 => {
            let v = EDGE64[rng.below(EDGE64.len() as u64) as usize];
            v.to_be_bytes()[8 - width..].to_vec()
        }
        1 => rng.next_u64().to_be_bytes()[8 - width..].to_vec(),
        2 => {
            let n = rng.below(width as u64) as usize;
            (0..n).map(|_| rng.next_u64() as u8).collect()
        }
        3 => {
            let mut v = (rng.next_u64() >> rng.below(64)).to_be_bytes()[8 - width..].to_vec();
            v.extend((0..rng.below(9)).map(|_| rng.next_u64() as u8));
            v
        }
        4 => (rng.below(1 << 20)).to_be_bytes()[8 - width..].to_vec(),
        _ => (1u64 << rng.below(64)).to_be_bytes()[8 - width..].to_vec(),
    }
}

fn mutate_guid(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    match rng.below(8) {
        0 if !v.is_empty() => {
            let i = rng.below(v.len() as u64) as usize;
            v[i] = rng.next_u64() as u8;
        }
        1 => {
            let n = rng.below(v.len() as u64) as usize;
            v.truncate(n);
        }
        2 => {
            v.pop();
        }
        3 => {
            v.pop();
            v.extend((0..rng.below(8)).map(|_| b"0123456789abcdefXYZ-"[rng.below(20) as usize]));
            v.push(0);
        }
        4 => v = v.to_ascii_uppercase(),
        5 if !v.is_empty() => {
            let i = rng.below(v.len() as u64) as usize;
            v[i] = b"0123456789abcdefABCDEF-g "[rng.below(25) as usize];
        }
        0 | 5 | 6 => v = (0..rng.below(48)).map(|_| rng.next_u64() as u8).collect(),
        _ => {
            let i = rng.below(v.len() as u64) as usize;
            v.insert(i, 0);
        }
    }
    v
}

/// A mutated case.
pub fn generate(rng: &mut Rng) -> Case {
    let mut c = Case::qemu();
    if rng.below(16) == 0 {
        return c;
    }
    let mutations = 1 + rng.below(3);
    for _ in 0..mutations {
        let i = rng.below(8) as usize;
        if rng.below(6) == 0 {
            c.props[i] = None;
            continue;
        }
        c.props[i] = Some(match i {
            0 | 4 => mutate_int(rng, 4),
            1 => mutate_guid(rng, c.props[1].as_deref().unwrap_or(b"\0")),
            2 | 3 | 7 => mutate_int(rng, 8),
            _ => (0..rng.below(5)).map(|_| rng.next_u64() as u8).collect(),
        });
    }
    c
}

fn reference_uuid(s: &[u8]) -> Option<[u8; 16]> {
    let s = std::str::from_utf8(s.get(..36)?).ok()?;
    for (i, ch) in s.char_indices() {
        let hyphen = matches!(i, 8 | 13 | 18 | 23);
        if hyphen != (ch == '-') || (!hyphen && !ch.is_ascii_hexdigit()) {
            return None;
        }
    }
    let digits: String = s.chars().filter(|&c| c != '-').collect();
    let v = u128::from_str_radix(&digits, 16).ok()?;
    Some(v.to_be_bytes())
}

/// What the reference says: the error kind and property, or the config.
fn reference(c: &Case) -> Result<dt::PmemConfig, (&'static str, &'static str)> {
    use dt::names::*;
    let int =
        |i: usize, w: usize, name: &'static str| -> Result<u64, (&'static str, &'static str)> {
            let v = c.props[i].as_ref().ok_or(("missing", name))?;
            if v.len() < w {
                return Err(("too-short", name));
            }
            Ok(v[..w].iter().fold(0u64, |a, &b| (a << 8) | u64::from(b)))
        };
    let drc = int(0, 4, DRC_INDEX)?;
    let bs = int(2, 8, BLOCK_SIZE)?;
    let blocks = int(3, 8, NUMBER_OF_BLOCKS)?;
    let guid = c.props[1].as_ref().ok_or(("missing", UNIT_GUID))?;
    let nul = guid
        .iter()
        .position(|&b| b == 0)
        .ok_or(("not-a-string", UNIT_GUID))?;
    let uuid = reference_uuid(&guid[..nul]).ok_or(("bad-uuid", UNIT_GUID))?;
    if bs == 0 {
        return Err(("zero", BLOCK_SIZE));
    }
    if blocks == 0 {
        return Err(("zero", NUMBER_OF_BLOCKS));
    }
    let size = u128::from(bs) * u128::from(blocks);
    if size > u128::from(u64::MAX) {
        return Err(("size-overflow", NUMBER_OF_BLOCKS));
    }
    let meta = if c.props[4].is_some() {
        int(4, 4, METADATA_SIZE)?
    } else {
        0
    };
    if meta > i32::MAX as u64 {
        return Err(("too-large", METADATA_SIZE));
    }
    let dsc = match &c.props[7] {
        Some(v) if v.len() >= 8 => v[..8].iter().fold(0u64, |a, &b| (a << 8) | u64::from(b)),
        _ => 0,
    };
    Ok(dt::PmemConfig {
        drc_index: drc as u32,
        uuid,
        block_size: bs,
        blocks,
        size: size as u64,
        metadata_size: meta as u32,
        is_volatile: c.props[5].is_none(),
        hcall_flush_required: c.props[6].is_some(),
        dirty_shutdown_count: dsc,
    })
}

/// Parses `c` and compares with the reference; panics on a mismatch.
/// Returns the outcome's kind (`"ok"` or the error kind).
pub fn check(c: &Case) -> &'static str {
    let got = dt::parse(&c.as_props());
    let want = reference(c);
    match (got, want) {
        (Ok(g), Ok(w)) => {
            assert_eq!(g, w, "config mismatch");
            let ck = g.cookies();
            assert_eq!(ck.cookie1.to_le_bytes(), g.uuid[..8]);
            assert_eq!(ck.cookie2.to_le_bytes(), g.uuid[8..]);
            assert_eq!(ck.altcookie, 0);
            "ok"
        }
        (Err(e), Err((kind, prop))) => {
            assert_eq!((e.kind(), e.property()), (kind, prop), "error mismatch");
            // The message names the property.
            assert!(e.to_string().contains(prop));
            e.kind()
        }
        (g, w) => panic!("parser {g:?}, reference {w:?}"),
    }
}

/// Counts per outcome.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Cases run.
    pub cases: u64,
    /// Outcome kind -> count.
    pub outcomes: BTreeMap<&'static str, u64>,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "cases: {}", self.cases)?;
        for (k, n) in &self.outcomes {
            writeln!(f, "  {k}: {n}")?;
        }
        Ok(())
    }
}

/// A panicking case.
#[derive(Debug)]
pub struct Crash {
    /// Its iteration.
    pub iteration: u64,
    /// The panic message.
    pub message: String,
    /// The case.
    pub case: Case,
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
        write!(f, "{}", self.case)
    }
}

/// Runs `iterations` cases from `seed`.
pub fn run(iterations: u64, seed: u64) -> Result<Stats, Box<Crash>> {
    let mut rng = Rng::new(seed);
    let mut stats = Stats::default();
    for iteration in 0..iterations {
        let case = generate(&mut rng);
        match fuzz_rng::catch(|| check(&case)) {
            Ok(kind) => {
                stats.cases += 1;
                *stats.outcomes.entry(kind).or_default() += 1;
            }
            Err(message) => {
                return Err(Box::new(Crash {
                    iteration,
                    message,
                    case,
                }));
            }
        }
    }
    Ok(stats)
}
