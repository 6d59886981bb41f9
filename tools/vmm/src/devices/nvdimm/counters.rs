// SPDX-License-Identifier: GPL-2.0
//! Counters of the calls the NVDIMM platform served.

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// The most keys each per-call counter map holds: the guest chooses the
/// handle and function of a call, so a map keyed by them must not grow
/// without bound. Calls with a new key past it are counted in
/// [`Counters::other_calls`].
pub const MAX_COUNTER_KEYS: usize = 1024;

/// Counters of served calls, per handle and function.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counters {
    pub calls: BTreeMap<(u32, u32), u64>,
    /// Label method calls per handle and method (`"1:LSR"` in `calls`).
    pub methods: BTreeMap<(u32, &'static str), u64>,
    /// Calls not counted per key: their map had [`MAX_COUNTER_KEYS`].
    pub other_calls: u64,
    pub label_bytes_read: u64,
    pub label_bytes_written: u64,
    pub fit_reads: u64,
    pub bad_requests: u64,
    /// Answers dropped because the guest had timed out and moved on.
    pub abandoned: u64,
}

/// Counts one call under `key` in `map`, or in `other` when `map` is full.
fn count<K: Ord>(map: &mut BTreeMap<K, u64>, key: K, other: &mut u64) {
    if map.len() < MAX_COUNTER_KEYS || map.contains_key(&key) {
        *map.entry(key).or_default() += 1;
        return;
    }
    if *other == 0 {
        log::warn!(
            "more than {MAX_COUNTER_KEYS} distinct calls; further ones are counted as calls_other"
        );
    }
    *other += 1;
}

impl Counters {
    /// Counts a `_DSM` call.
    pub fn count_call(&mut self, handle: u32, function: u32) {
        count(&mut self.calls, (handle, function), &mut self.other_calls);
    }

    /// Counts a label method call.
    pub fn count_method(&mut self, handle: u32, name: &'static str) {
        count(&mut self.methods, (handle, name), &mut self.other_calls);
    }

    pub fn json(&self) -> Value {
        let calls: serde_json::Map<String, Value> = self
            .calls
            .iter()
            .map(|((h, f), n)| (format!("{h}:{f}"), json!(n)))
            .chain(
                self.methods
                    .iter()
                    .map(|((h, m), n)| (format!("{h}:{m}"), json!(n))),
            )
            .collect();
        json!({
            "calls": calls,
            "calls_other": self.other_calls,
            "total": self.calls.values().sum::<u64>()
                + self.methods.values().sum::<u64>()
                + self.other_calls,
            "label_bytes_read": self.label_bytes_read,
            "label_bytes_written": self.label_bytes_written,
            "fit_reads": self.fit_reads,
            "bad_requests": self.bad_requests,
            "abandoned": self.abandoned,
        })
    }
}
