// SPDX-License-Identifier: GPL-2.0

//! The nvdimm PMU's counters: `nd_perf`'s events over
//! `H_SCM_PERFORMANCE_STATS`.
//!
//! `core`-only. Event config `n` (1..=16) counts statistic
//! [`stats::PMU_EVENTS`]`[n]` (C's `nvdimm_events_map`). At probe the driver
//! fetches all statistics once ([`check_events`]): the PMU is registered
//! only when that works, with the events whose statistic the hypervisor
//! reported; a counter is then read with a one-statistic request
//! ([`read_counter`]) whose answer must name the statistic asked for.
//!
//! QEMU does not implement `H_SCM_PERFORMANCE_STATS`, so in a QEMU guest
//! only the "absent" outcome of [`check_events`] happens; the rest runs
//! under PowerVM (and against the hypervisor model of `tools/papr`).

use super::hcall::Hypervisor;
use super::logic::{EINVAL, EIO};
use super::stats::{self, StatsError};

/// The event configs (`nd_perf`'s `events/`).
pub const EVENT_CONFIGS: core::ops::RangeInclusive<u64> = 1..=16;

/// A set of event configs: bit `n` for config `n`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventSet(u32);

impl EventSet {
    /// Every event of [`EVENT_CONFIGS`].
    pub const ALL: EventSet = EventSet(0x1_fffe);

    /// Whether `config` is in the set.
    pub fn contains(&self, config: u64) -> bool {
        EVENT_CONFIGS.contains(&config) && self.0 & (1 << config) != 0
    }

    /// Adds `config` (ignored outside [`EVENT_CONFIGS`]).
    pub fn insert(&mut self, config: u64) {
        if EVENT_CONFIGS.contains(&config) {
            self.0 |= 1 << config;
        }
    }

    /// Number of events.
    pub fn len(&self) -> u32 {
        self.0.count_ones()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }
}

/// Why the PMU is not registered, or a counter not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CounterError {
    /// No such event (config outside 1..=16, or not counted here).
    UnknownEvent(u64),
    /// The statistics call failed or its answer does not fit the buffer.
    Stats(StatsError),
    /// The answer holds no statistic, or another one than asked for.
    WrongStatistic,
    /// The hypervisor reports none of the events' statistics.
    NoEvents,
}

impl CounterError {
    /// The errno (`-EINVAL` for an unknown event, as C's event checks;
    /// that of the statistics error; `-EIO` for a wrong answer).
    pub fn errno(&self) -> i32 {
        match self {
            CounterError::UnknownEvent(_) => -EINVAL,
            CounterError::Stats(e) => e.errno(),
            CounterError::WrongStatistic | CounterError::NoEvents => -EIO,
        }
    }
}

impl From<StatsError> for CounterError {
    fn from(e: StatsError) -> Self {
        CounterError::Stats(e)
    }
}

/// Fetches all statistics into `buf` (the size [`stats::query_size`] gave)
/// and returns the events whose statistic is among them. An error, or no
/// event at all, means no PMU.
pub fn check_events(
    hv: &mut impl Hypervisor,
    drc_index: u32,
    buf: &mut [u8],
) -> Result<EventSet, CounterError> {
    let all = stats::query(hv, drc_index, buf, &[])?;
    let mut events = EventSet::default();
    for config in EVENT_CONFIGS {
        if let Some(id) = stats::pmu_event(config) {
            if all.get(id).is_some() {
                events.insert(config);
            }
        }
    }
    if events.is_empty() {
        return Err(CounterError::NoEvents);
    }
    Ok(events)
}

/// Reads the counter of event `config`, one of `events`, with a
/// one-statistic request. The answer's count must fit the request and its
/// first statistic must be the one asked for (C reads the first value
/// whatever it is).
pub fn read_counter(
    hv: &mut impl Hypervisor,
    drc_index: u32,
    events: EventSet,
    config: u64,
) -> Result<u64, CounterError> {
    let id = stats::pmu_event(config)
        .filter(|_| events.contains(config))
        .ok_or(CounterError::UnknownEvent(config))?;
    let mut buf = [0u8; stats::ONE_STAT_LEN];
    let answer = stats::query(hv, drc_index, &mut buf, core::slice::from_ref(id))?;
    let first = answer.iter().next();
    match first {
        Some((got, value)) if got == *id => Ok(value),
        _ => Err(CounterError::WrongStatistic),
    }
}
