// SPDX-License-Identifier: GPL-2.0
//! Address Range Scrub and error injection: the root device's `_DSM`
//! functions 1-4 and 7-9 (ACPI's NVDIMM root device interface; the Linux
//! layouts are `struct nd_cmd_ars_*` and `nd_cmd_clear_error` in
//! `include/uapi/linux/ndctl.h`).
//!
//! Poison is a list of guest-physical ranges. A scrub's results are the
//! poison inside the scrubbed range at the time it started. A scan takes
//! [`ArsConfig::scan_time`] (none by default): until then a status query
//! answers "in progress" and a start "busy"; a start that returns the
//! previous data (no scan) is answered at once. A status answer carries at
//! most [`ArsConfig::max_records`] records: past that the scrub stops after
//! the last one it reports, with the overflow flag and the address to
//! restart from, as a platform whose output buffer is full. Clearing an
//! error (function 4) or an injected error (8) removes the range from the
//! poison list. Every input length and range is checked.

use std::time::{Duration, Instant};

/// Root functions.
pub const FN_ARS_CAP: u32 = 1;
pub const FN_ARS_START: u32 = 2;
pub const FN_ARS_STATUS: u32 = 3;
pub const FN_CLEAR_ERROR: u32 = 4;
pub const FN_INJECT_SET: u32 = 7;
pub const FN_INJECT_CLEAR: u32 = 8;
pub const FN_INJECT_GET: u32 = 9;

/// Function 0's mask with ARS: functions 1-4 and 7-9.
pub const FUNCTIONS: u32 = 1
    | 1 << FN_ARS_CAP
    | 1 << FN_ARS_START
    | 1 << FN_ARS_STATUS
    | 1 << FN_CLEAR_ERROR
    | 1 << FN_INJECT_SET
    | 1 << FN_INJECT_CLEAR
    | 1 << FN_INJECT_GET;

/// Extended status of function 1: volatile and persistent memory scrub
/// supported (bits 0 and 1; the platform scrubs `--spa volatile` ranges
/// as well as persistent ones).
const EXT_SCRUB_TYPES: u32 = 3 << 16;
/// Extended status of function 3: no scrub ran since the machine started.
const EXT_NO_ARS: u32 = 2 << 16;
/// Extended status of function 3: a scrub is in progress.
const EXT_IN_PROGRESS: u32 = 1 << 16;
/// Extended status of function 3: the scrub stopped before the end of the
/// range (here: its records filled the output).
const EXT_STOPPED: u32 = 3 << 16;
/// Status of function 2: a scrub is in progress already.
const STATUS_BUSY: u32 = 6;
/// Query ARS Status flag: the records overflowed the output.
const FLAG_OVERFLOW: u16 = 1;
/// Scrub type bit: volatile memory.
const TYPE_VOLATILE: u16 = 1;
/// Scrub type bit: persistent memory.
const TYPE_PERSISTENT: u16 = 2;
/// Most error records one status answer carries.
pub const MAX_RECORDS: usize = 64;
/// Size of the status answer with `MAX_RECORDS` records (function 1's
/// "maximum query ARS status output buffer size").
#[cfg(test)]
const MAX_STATUS_OUT: u32 = 48 + 24 * MAX_RECORDS as u32;
/// Unit of error clearing.
pub const CLEAR_UNIT: u64 = 512;
/// Start ARS flag (byte 18 of the input): return the data of a previous
/// scrub without scrubbing (Linux `ND_ARS_RETURN_PREV_DATA`, its "short"
/// ARS after an uncorrectable-error notification).
pub const FLAG_RETURN_PREV_DATA: u8 = 1 << 1;
/// How many ARS starts `stats` lists.
pub const STARTS_KEPT: usize = 16;
/// The most separate ranges a list (poison, injected, found) holds: the
/// guest (error injection, clearing inside a range splits it) and the
/// control protocol cannot grow them without bound. A function that would
/// go past it changes nothing and answers [`STATUS_FULL`].
pub const MAX_RANGES: usize = 256;
/// The status of a function refused because a range list is full.
pub const STATUS_FULL: u32 = crate::dsm::STATUS_HW_ERROR;

/// A range list would hold more than [`MAX_RANGES`] separate ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("more than {MAX_RANGES} separate poison ranges (clear some first)")]
pub struct TooManyRanges;

const INVALID: u32 = crate::dsm::STATUS_INVALID_INPUT;

fn le64(b: &[u8], off: usize) -> Option<u64> {
    b.get(off..off + 8)
        .map(|s| u64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]))
}

fn le16(b: &[u8], off: usize) -> Option<u16> {
    b.get(off..off + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
}

/// `(address, length)` at the start of `input`, non-empty and not wrapping.
fn range(input: &[u8]) -> Option<(u64, u64)> {
    let a = le64(input, 0)?;
    let l = le64(input, 8)?;
    (l > 0 && a.checked_add(l).is_some()).then_some((a, l))
}

/// A set of ranges, kept sorted and merged.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Ranges(Vec<(u64, u64)>);

impl Ranges {
    /// Adds `[a, a + l)`; the ranges now held. Nothing changes if that
    /// would make more than [`MAX_RANGES`].
    pub fn add(&mut self, a: u64, l: u64) -> Result<usize, TooManyRanges> {
        Self::keep(self, self.added(a, l))
    }

    /// Removes `[a, a + l)` (which can split a range in two); as
    /// [`Ranges::add`] for the cap.
    #[cfg(test)]
    pub fn remove(&mut self, a: u64, l: u64) -> Result<usize, TooManyRanges> {
        Self::keep(self, self.removed(a, l))
    }

    fn keep(&mut self, new: Ranges) -> Result<usize, TooManyRanges> {
        new.check()?;
        *self = new;
        Ok(self.0.len())
    }

    fn check(&self) -> Result<(), TooManyRanges> {
        if self.0.len() > MAX_RANGES {
            return Err(TooManyRanges);
        }
        Ok(())
    }

    fn added(&self, a: u64, l: u64) -> Ranges {
        let (mut s, mut e) = (a, a.saturating_add(l));
        let mut out = Vec::with_capacity(self.0.len() + 1);
        for &(ra, rl) in &self.0 {
            let re = ra + rl;
            if re < s || ra > e {
                out.push((ra, rl));
            } else {
                s = s.min(ra);
                e = e.max(re);
            }
        }
        out.push((s, e - s));
        out.sort_unstable();
        Ranges(out)
    }

    fn removed(&self, a: u64, l: u64) -> Ranges {
        let (s, e) = (a, a.saturating_add(l));
        let mut out = Vec::with_capacity(self.0.len() + 1);
        for &(ra, rl) in &self.0 {
            let re = ra + rl;
            if re <= s || ra >= e {
                out.push((ra, rl));
                continue;
            }
            if ra < s {
                out.push((ra, s - ra));
            }
            if re > e {
                out.push((e, re - e));
            }
        }
        Ranges(out)
    }

    /// The parts inside `[a, a + l)`.
    pub fn within(&self, a: u64, l: u64) -> Vec<(u64, u64)> {
        let e = a.saturating_add(l);
        self.0
            .iter()
            .filter_map(|&(ra, rl)| {
                let (s, t) = (ra.max(a), (ra + rl).min(e));
                if s < t {
                    Some((s, t - s))
                } else {
                    None
                }
            })
            .collect()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &(u64, u64)> {
        self.0.iter()
    }
}

/// The last scrub.
#[derive(Debug)]
struct Scrub {
    address: u64,
    length: u64,
    kind: u16,
    /// The poison inside the range when the scrub ran.
    found: Ranges,
    /// When its results are ready (a scan takes time).
    done_at: Instant,
}

/// How the platform's scrubs behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArsConfig {
    /// How long a scan (a start without "return previous data") takes.
    pub scan_time: Duration,
    /// The most records one status answer carries (1 to [`MAX_RECORDS`]).
    pub max_records: usize,
}

impl Default for ArsConfig {
    fn default() -> Self {
        Self {
            scan_time: Duration::ZERO,
            max_records: MAX_RECORDS,
        }
    }
}

/// The scrub and poison state of the platform.
#[derive(Debug, Default)]
pub struct Ars {
    pub poison: Ranges,
    /// What the error-inject functions added (function 9 lists them).
    pub injected: Ranges,
    /// The last scrub.
    scrub: Option<Scrub>,
    pub scrubs: u64,
    /// What scrubs found, kept for "return previous data" starts: a full
    /// scrub of a range replaces what is known inside it; clears remove.
    known: Ranges,
    /// The last [`STARTS_KEPT`] starts: address, length, flags.
    pub starts: std::collections::VecDeque<(u64, u64, u8)>,
    /// Starts answered from previous data.
    pub short_starts: u64,
    pub config: ArsConfig,
    /// Status queries answered "in progress" and starts refused as busy.
    pub busy_answers: u64,
    /// Status answers whose records overflowed.
    pub overflows: u64,
}

impl Ars {
    /// Serves root function `function`; `handle_of` names the DIMM whose
    /// persistent range holds an address (0 if none).
    pub fn call(&mut self, function: u32, input: &[u8], handle_of: &dyn Fn(u64) -> u32) -> Vec<u8> {
        self.call_at(Instant::now(), function, input, handle_of)
    }

    /// [`Ars::call`] at time `now`.
    pub fn call_at(
        &mut self,
        now: Instant,
        function: u32,
        input: &[u8],
        handle_of: &dyn Fn(u64) -> u32,
    ) -> Vec<u8> {
        let st = |s: u32| s.to_le_bytes().to_vec();
        let full = || {
            // Logged once: the guest can ask again and again.
            static LOGGED: std::sync::atomic::AtomicBool =
                std::sync::atomic::AtomicBool::new(false);
            if !LOGGED.swap(true, std::sync::atomic::Ordering::Relaxed) {
                log::warn!("ARS function {function} refused: {TooManyRanges}");
            }
            st(STATUS_FULL)
        };
        match function {
            FN_ARS_CAP => {
                if range(input).is_none() {
                    return st(INVALID);
                }
                let mut o = st(EXT_SCRUB_TYPES);
                o.extend(self.max_status_out().to_le_bytes());
                o.extend((CLEAR_UNIT as u32).to_le_bytes());
                o.extend(0u32.to_le_bytes());
                o
            }
            FN_ARS_START => {
                let (Some((a, l)), Some(t)) = (range(input), le16(input, 16)) else {
                    return st(INVALID);
                };
                if input.len() < 24 || t & (TYPE_PERSISTENT | TYPE_VOLATILE) == 0 {
                    return st(INVALID);
                }
                let flags = input[18];
                if self.scrub.as_ref().is_some_and(|s| now < s.done_at) {
                    self.busy_answers += 1;
                    return st(STATUS_BUSY);
                }
                if self.starts.len() == STARTS_KEPT {
                    self.starts.pop_front();
                }
                self.starts.push_back((a, l, flags));
                let short = flags & FLAG_RETURN_PREV_DATA != 0;
                let found = if short {
                    // No scan: what earlier scrubs found in the range
                    // (nothing if none ran), never poison added since.
                    self.short_starts += 1;
                    Ranges(self.known.within(a, l))
                } else {
                    let found = Ranges(self.poison.within(a, l));
                    let mut known = self.known.removed(a, l);
                    for &(ea, el) in found.iter() {
                        known = known.added(ea, el);
                    }
                    if known.check().is_err() {
                        return full();
                    }
                    self.known = known;
                    self.scrubs += 1;
                    found
                };
                let done_at = if short {
                    now
                } else {
                    now + self.config.scan_time
                };
                self.scrub = Some(Scrub {
                    address: a,
                    length: l,
                    kind: t,
                    found,
                    done_at,
                });
                let mut o = st(0);
                o.extend(1u32.to_le_bytes());
                o
            }
            FN_ARS_STATUS => {
                let Some(Scrub {
                    address: a,
                    length: l,
                    kind: t,
                    found,
                    done_at,
                }) = &self.scrub
                else {
                    let mut o = st(EXT_NO_ARS);
                    o.extend(0u32.to_le_bytes());
                    return o;
                };
                if now < *done_at {
                    self.busy_answers += 1;
                    let mut o = st(EXT_IN_PROGRESS);
                    o.extend(0u32.to_le_bytes());
                    return o;
                }
                let max = self.config.max_records.clamp(1, MAX_RECORDS);
                let records = &found.0[..found.len().min(max)];
                // Records beyond the output: the scrub stopped after the
                // last one reported; the rest of the range is to restart.
                let (status, length, restart, flags) = match records.last() {
                    Some(&(ea, el)) if found.len() > max => {
                        let stop = (ea + el).min(a + l);
                        (EXT_STOPPED, stop - a, (stop, a + l - stop), FLAG_OVERFLOW)
                    }
                    _ => (0, *l, (0, 0), 0),
                };
                if flags != 0 {
                    self.overflows += 1;
                }
                let mut o = st(status);
                o.extend((44 + 24 * records.len() as u32).to_le_bytes());
                o.extend(a.to_le_bytes());
                o.extend(length.to_le_bytes());
                o.extend(restart.0.to_le_bytes());
                o.extend(restart.1.to_le_bytes());
                o.extend(t.to_le_bytes());
                o.extend(flags.to_le_bytes());
                o.extend((records.len() as u32).to_le_bytes());
                for &(ea, el) in records {
                    o.extend(handle_of(ea).to_le_bytes());
                    o.extend(0u32.to_le_bytes());
                    o.extend(ea.to_le_bytes());
                    o.extend(el.to_le_bytes());
                }
                o
            }
            FN_CLEAR_ERROR => {
                let Some((a, l)) = range(input) else {
                    return st(INVALID);
                };
                if a % CLEAR_UNIT != 0 || l % CLEAR_UNIT != 0 {
                    return st(INVALID);
                }
                if self.remove_everywhere(a, l).is_err() {
                    return full();
                }
                let mut o = st(0);
                o.extend(0u32.to_le_bytes());
                o.extend(l.to_le_bytes());
                o
            }
            FN_INJECT_SET => {
                let Some((a, l)) = range(input) else {
                    return st(INVALID);
                };
                if input.len() < 17 {
                    return st(INVALID);
                }
                let (poison, injected) = (self.poison.added(a, l), self.injected.added(a, l));
                if poison.check().and(injected.check()).is_err() {
                    return full();
                }
                (self.poison, self.injected) = (poison, injected);
                st(0)
            }
            FN_INJECT_CLEAR => {
                let Some((a, l)) = range(input) else {
                    return st(INVALID);
                };
                if self.remove_everywhere(a, l).is_err() {
                    return full();
                }
                st(0)
            }
            FN_INJECT_GET => {
                let n = self.injected.len().min(MAX_RECORDS);
                let mut o = st(0);
                o.extend((n as u32).to_le_bytes());
                for &(a, l) in self.injected.iter().take(n) {
                    o.extend(a.to_le_bytes());
                    o.extend(l.to_le_bytes());
                }
                o
            }
            _ => st(crate::dsm::STATUS_NOT_SUPPORTED),
        }
    }
}

impl Ars {
    /// Scrubs behaving as `config` says.
    pub fn new(config: ArsConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    /// Ends the scan in progress at `now`: its results are ready. Whether
    /// one was in progress.
    pub fn finish(&mut self, now: Instant) -> bool {
        match &mut self.scrub {
            Some(s) if now < s.done_at => {
                s.done_at = now;
                true
            }
            _ => false,
        }
    }

    /// Function 1's "maximum query ARS status output buffer size".
    fn max_status_out(&self) -> u32 {
        48 + 24 * self.config.max_records.clamp(1, MAX_RECORDS) as u32
    }

    /// Adds poison (the control protocol's `poison`); the poison ranges
    /// now held.
    pub fn add_poison(&mut self, a: u64, l: u64) -> Result<usize, TooManyRanges> {
        self.poison.add(a, l)
    }

    /// Removes `[a, a + l)` from the poison, the injected errors, what
    /// scrubs found and the last results: all of them or, if one would
    /// split past [`MAX_RANGES`], none.
    fn remove_everywhere(&mut self, a: u64, l: u64) -> Result<(), TooManyRanges> {
        let poison = self.poison.removed(a, l);
        let injected = self.injected.removed(a, l);
        let known = self.known.removed(a, l);
        let found = self.scrub.as_ref().map(|s| s.found.removed(a, l));
        poison.check()?;
        injected.check()?;
        known.check()?;
        if let Some(f) = &found {
            f.check()?;
        }
        (self.poison, self.injected, self.known) = (poison, injected, known);
        if let (Some(scrub), Some(f)) = (&mut self.scrub, found) {
            scrub.found = f;
        }
        Ok(())
    }

    /// The scrub counters and the last starts, for `stats`.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "ars_scrubs": self.scrubs,
            "ars_short_starts": self.short_starts,
            "ars_busy_answers": self.busy_answers,
            "ars_overflows": self.overflows,
            "ars_starts": self.starts.iter().map(|&(a, l, f)| serde_json::json!([a, l, f])).collect::<Vec<_>>(),
            "poison_ranges": self.poison.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(a: u64, l: u64) -> Vec<u8> {
        [a.to_le_bytes(), l.to_le_bytes()].concat()
    }

    #[test]
    fn ranges() {
        let mut p = Ranges::default();
        p.add(100, 10).unwrap();
        p.add(105, 10).unwrap();
        p.add(200, 5).unwrap();
        assert_eq!(p.0, [(100, 15), (200, 5)]);
        p.remove(104, 2).unwrap();
        assert_eq!(p.0, [(100, 4), (106, 9), (200, 5)]);
        assert_eq!(p.within(102, 100), [(102, 2), (106, 9), (200, 2)]);
        p.remove(0, u64::MAX).unwrap();
        assert_eq!(p.len(), 0);
    }

    #[test]
    fn range_lists_are_capped() {
        let mut p = Ranges::default();
        for i in 0..MAX_RANGES as u64 {
            assert_eq!(p.add(i * 0x1000, 0x10), Ok(i as usize + 1));
        }
        assert_eq!(p.add(MAX_RANGES as u64 * 0x1000, 0x10), Err(TooManyRanges));
        assert_eq!(p.len(), MAX_RANGES);
        // Merging into an existing range is fine; splitting one is not.
        assert_eq!(p.add(0x8, 0x10), Ok(MAX_RANGES));
        assert_eq!(p.remove(0x4, 0x2), Err(TooManyRanges));
        assert_eq!(p.len(), MAX_RANGES);
        // The guest cannot grow them either: injection and clearing that
        // would split are refused and change nothing.
        let mut a = Ars::default();
        let h = |_: u64| 1;
        let inject = |at: u64| {
            let mut i = r(at, 0x600);
            i.push(0);
            i
        };
        for i in 0..MAX_RANGES as u64 {
            assert_eq!(a.call(FN_INJECT_SET, &inject(i * 0x1000), &h), [0; 4]);
        }
        let before = (a.poison.clone(), a.injected.clone());
        let refused = STATUS_FULL.to_le_bytes();
        assert_eq!(a.call(FN_INJECT_SET, &inject(1 << 40), &h), refused);
        assert_eq!(a.call(FN_INJECT_CLEAR, &r(0x100, 0x100), &h), refused);
        assert_eq!(a.call(FN_CLEAR_ERROR, &r(0x200, 0x200), &h), refused);
        assert_eq!((a.poison.clone(), a.injected.clone()), before.clone());
        assert_eq!(a.add_poison(1 << 40, 1), Err(TooManyRanges));
        // Clearing whole ranges still works.
        assert_eq!(a.call(FN_INJECT_CLEAR, &r(0, 0x1000), &h), [0; 4]);
        assert_eq!(a.poison.len(), MAX_RANGES - 1);
    }

    #[test]
    fn scrub_finds_poison_and_clear_removes_it() {
        let mut a = Ars::default();
        let h = |addr: u64| u32::from(addr >= 0x1000);
        assert_eq!(
            a.call(FN_ARS_STATUS, &[], &h)[..4],
            EXT_NO_ARS.to_le_bytes()
        );
        let cap = a.call(FN_ARS_CAP, &r(0x1000, 0x10000), &h);
        assert_eq!(cap.len(), 16);
        assert_eq!(cap[..4], EXT_SCRUB_TYPES.to_le_bytes());
        let mut inj = r(0x2000, 0x400);
        inj.push(0);
        assert_eq!(a.call(FN_INJECT_SET, &inj, &h), [0; 4]);
        let mut start = r(0x1000, 0x10000);
        start.extend(TYPE_PERSISTENT.to_le_bytes());
        start.extend([0; 6]);
        assert_eq!(a.call(FN_ARS_START, &start, &h)[..4], [0; 4]);
        let s = a.call(FN_ARS_STATUS, &[], &h);
        assert_eq!(s.len(), 48 + 24);
        assert_eq!(u32::from_le_bytes(s[4..8].try_into().unwrap()), 44 + 24);
        assert_eq!(
            u32::from_le_bytes(s[44..48].try_into().unwrap()),
            1,
            "one record"
        );
        assert_eq!(
            u32::from_le_bytes(s[48..52].try_into().unwrap()),
            1,
            "handle"
        );
        assert_eq!(le64(&s, 56), Some(0x2000));
        assert_eq!(le64(&s, 64), Some(0x400));
        let got = a.call(FN_INJECT_GET, &[], &h);
        assert_eq!(got.len(), 8 + 16);
        let c = a.call(FN_CLEAR_ERROR, &r(0x2000, 0x200), &h);
        assert_eq!(c.len(), 16);
        assert_eq!(le64(&c, 8), Some(0x200));
        assert_eq!(a.poison.0, [(0x2200, 0x200)]);
        let s = a.call(FN_ARS_STATUS, &[], &h);
        assert_eq!(le64(&s, 56), Some(0x2200), "results follow the clear");
        assert_eq!(a.call(FN_INJECT_CLEAR, &r(0, 0x10000), &h), [0; 4]);
        assert_eq!(a.poison.len(), 0);
    }

    fn start(a: u64, l: u64, flags: u8) -> Vec<u8> {
        let mut s = r(a, l);
        s.extend(TYPE_PERSISTENT.to_le_bytes());
        s.push(flags);
        s.extend([0; 5]);
        s
    }

    fn records(s: &[u8]) -> u32 {
        u32::from_le_bytes(s[44..48].try_into().unwrap())
    }

    #[test]
    fn return_previous_data_does_not_scan() {
        let mut a = Ars::default();
        let h = |_: u64| 1;
        // Before any scrub, previous data is empty.
        assert_eq!(a.call(FN_ARS_START, &start(0, 0x10000, 2), &h)[..4], [0; 4]);
        a.poison.add(0x1000, 0x200).unwrap();
        assert_eq!(records(&a.call(FN_ARS_STATUS, &[], &h)), 0);
        // A full scrub finds it; a short one then returns it too.
        a.call(FN_ARS_START, &start(0, 0x10000, 0), &h);
        assert_eq!(records(&a.call(FN_ARS_STATUS, &[], &h)), 1);
        a.poison.add(0x8000, 0x200).unwrap();
        a.call(FN_ARS_START, &start(0, 0x10000, FLAG_RETURN_PREV_DATA), &h);
        let s = a.call(FN_ARS_STATUS, &[], &h);
        assert_eq!(records(&s), 1, "new poison not scanned");
        assert_eq!(le64(&s, 8), Some(0), "the requested range");
        assert_eq!(le64(&s, 16), Some(0x10000));
        // A short start of a range no scrub covered: nothing.
        a.call(FN_ARS_START, &start(0x20000, 0x1000, 2), &h);
        assert_eq!(records(&a.call(FN_ARS_STATUS, &[], &h)), 0);
        // A full scrub sees both; clearing removes one from previous data.
        a.call(FN_ARS_START, &start(0, 0x10000, 0), &h);
        assert_eq!(records(&a.call(FN_ARS_STATUS, &[], &h)), 2);
        a.call(FN_CLEAR_ERROR, &r(0x1000, 0x200), &h);
        a.call(FN_ARS_START, &start(0, 0x10000, 2), &h);
        let s = a.call(FN_ARS_STATUS, &[], &h);
        assert_eq!(records(&s), 1);
        assert_eq!(le64(&s, 56), Some(0x8000));
        assert_eq!((a.scrubs, a.short_starts), (2, 4));
        assert_eq!(a.starts.len(), 6);
        assert_eq!(a.starts[1], (0, 0x10000, 0));
        for i in 0..20 {
            a.call(FN_ARS_START, &start(i << 20, 0x1000, 0), &h);
        }
        assert_eq!(a.starts.len(), STARTS_KEPT);
        assert_eq!(a.starts.back(), Some(&(19 << 20, 0x1000, 0)));
        let j = a.json();
        assert_eq!(j["ars_starts"].as_array().unwrap().len(), STARTS_KEPT);
        assert_eq!(
            j["ars_starts"][15],
            serde_json::json!([19u64 << 20, 4096, 0])
        );
    }

    fn status_word(s: &[u8]) -> u32 {
        u32::from_le_bytes(s[..4].try_into().unwrap())
    }

    #[test]
    fn a_scan_takes_time_and_answers_busy_meanwhile() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut a = Ars::new(ArsConfig {
            scan_time: ms(3000),
            ..ArsConfig::default()
        });
        let h = |_: u64| 1;
        a.poison.add(0x1000, 0x200).unwrap();
        assert_eq!(
            status_word(&a.call_at(t0, FN_ARS_START, &start(0, 0x10000, 0), &h)),
            0
        );
        // In progress: status busy, another start refused, even a short one.
        let s = a.call_at(t0 + ms(10), FN_ARS_STATUS, &[], &h);
        assert_eq!(status_word(&s), EXT_IN_PROGRESS);
        assert_eq!(s.len(), 8, "status and output length only");
        let busy = a.call_at(t0 + ms(20), FN_ARS_START, &start(0, 0x10000, 2), &h);
        assert_eq!(status_word(&busy), STATUS_BUSY);
        assert_eq!(a.busy_answers, 2);
        assert_eq!(a.starts.len(), 1, "a refused start is not a start");
        // Done: the records of the poison at the start.
        let s = a.call_at(t0 + ms(3000), FN_ARS_STATUS, &[], &h);
        assert_eq!((status_word(&s), records(&s)), (0, 1));
        // Finishing early: nothing in progress now.
        assert!(!a.finish(t0 + ms(3000)));
        a.call_at(t0 + ms(3000), FN_ARS_START, &start(0, 0x10000, 0), &h);
        assert!(a.finish(t0 + ms(3000)));
        let s = a.call_at(t0 + ms(3000), FN_ARS_STATUS, &[], &h);
        assert_eq!((status_word(&s), records(&s)), (0, 1));
        // A short start answers at once.
        a.call_at(t0 + ms(3001), FN_ARS_START, &start(0, 0x10000, 2), &h);
        let s = a.call_at(t0 + ms(3001), FN_ARS_STATUS, &[], &h);
        assert_eq!((status_word(&s), records(&s)), (0, 1));
        assert_eq!(a.json()["ars_busy_answers"], 2);
    }

    #[test]
    fn records_past_the_output_stop_the_scrub_for_a_restart() {
        let mut a = Ars::new(ArsConfig {
            max_records: 2,
            ..ArsConfig::default()
        });
        let h = |_: u64| 1;
        let cap = a.call(FN_ARS_CAP, &r(0, 0x10000), &h);
        assert_eq!(
            u32::from_le_bytes(cap[4..8].try_into().unwrap()),
            48 + 2 * 24
        );
        for i in 0..5u64 {
            a.poison.add(0x1000 + i * 0x1000, 0x200).unwrap();
        }
        let mut found = Vec::new();
        let (mut at, mut len) = (0u64, 0x10000u64);
        for round in 0..3 {
            a.call(FN_ARS_START, &start(at, len, 0), &h);
            let s = a.call(FN_ARS_STATUS, &[], &h);
            for i in 0..records(&s) as usize {
                found.push(le64(&s, 48 + 24 * i + 8).unwrap());
            }
            if round < 2 {
                assert_eq!(status_word(&s), EXT_STOPPED, "round {round}");
                assert_eq!(le16(&s, 42), Some(FLAG_OVERFLOW));
                assert_eq!(records(&s), 2);
                // Stopped after its last record; the rest is to restart.
                let (ra, rl) = (le64(&s, 24).unwrap(), le64(&s, 32).unwrap());
                assert_eq!(ra, found.last().unwrap() + 0x200);
                assert_eq!(ra + rl, 0x10000);
                assert_eq!(le64(&s, 8).unwrap() + le64(&s, 16).unwrap(), ra);
                (at, len) = (ra, rl);
            } else {
                assert_eq!((status_word(&s), le16(&s, 42)), (0, Some(0)));
                assert_eq!(records(&s), 1);
            }
        }
        assert_eq!(found, [0x1000, 0x2000, 0x3000, 0x4000, 0x5000]);
        assert_eq!(a.overflows, 2);
    }

    #[test]
    fn bad_inputs() {
        let mut a = Ars::default();
        let h = |_: u64| 0;
        let invalid = INVALID.to_le_bytes();
        assert_eq!(a.call(FN_ARS_CAP, &[1, 2, 3], &h), invalid);
        assert_eq!(a.call(FN_ARS_START, &r(0, 10), &h), invalid, "no type");
        let mut untyped = r(0, 10);
        untyped.extend([0; 8]);
        assert_eq!(a.call(FN_ARS_START, &untyped, &h), invalid, "type 0");
        let mut volatile = r(0, 10);
        volatile.extend(TYPE_VOLATILE.to_le_bytes());
        volatile.extend([0; 6]);
        assert_eq!(a.call(FN_ARS_START, &volatile, &h)[..4], [0; 4], "volatile");
        assert_eq!(
            a.call(FN_CLEAR_ERROR, &r(0x100, 512), &h),
            invalid,
            "unaligned"
        );
        assert_eq!(
            a.call(FN_CLEAR_ERROR, &r(u64::MAX - 10, 512), &h),
            invalid,
            "wraps"
        );
        assert_eq!(a.call(FN_INJECT_SET, &r(0, 0), &h), invalid, "empty");
        assert_eq!(
            a.call(FN_INJECT_SET, &r(0, 8), &h),
            invalid,
            "no options byte"
        );
        assert_eq!(
            a.call(5, &[], &h),
            crate::dsm::STATUS_NOT_SUPPORTED.to_le_bytes()
        );
        // Records are capped.
        for i in 0..(MAX_RECORDS as u64 + 10) {
            a.poison.add(i * 0x1000, 0x10).unwrap();
        }
        let mut start = r(0, 1 << 30);
        start.extend(TYPE_PERSISTENT.to_le_bytes());
        start.extend([0; 6]);
        a.call(FN_ARS_START, &start, &h);
        assert_eq!(a.call(FN_ARS_STATUS, &[], &h).len() as u32, MAX_STATUS_OUT);
    }
}
