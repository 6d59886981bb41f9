// SPDX-License-Identifier: GPL-2.0
//! The control protocol: one JSON object per line in, one per line out.
//! The same requests come from the control socket (`--control SOCK`) and
//! from the guest itself, as `@@ VMM {...}` lines on its results port.
//!
//! ```text
//! {"cmd":"ping"}                                   -> {"ok":true}
//! {"cmd":"stats"}                                  -> {"ok":true,"stats":{...}}
//! {"cmd":"reset-stats"}
//! {"cmd":"fault","dimm":1,"function":5,"status":4,"count":1}
//! {"cmd":"fault","function":5,"short":100}         cut outputs to 100 bytes
//! {"cmd":"fault","dimm":2,"torn":64,"count":1}     label write: 64 bytes, then error
//! {"cmd":"fault","delay_ms":200}                   answer late (up to 60 s)
//! {"cmd":"clear-faults"}
//! {"cmd":"hotplug","nvdimm":"path=F,size=256M,label-size=128K"}
//! {"cmd":"poison","address":4294971392,"length":512}  (with --ars)
//! {"cmd":"ars-finish"}  -> {"ok":true,"finished":true}  ends a scan now (--ars-ms)
//! {"cmd":"notify","value":129}                     Notify(NVDR, 0x81); 0x80 too
//! {"cmd":"notify","value":129,"dimm":1}            Notify(NV00, 0x81): DIMM health
//! {"cmd":"flush-hints"}   -> {"ok":true,"flush_hints":[{"dimm":1,"written":[true,false],
//!                             "addresses":[...]}]}  (and clears them)
//! {"cmd":"card-fault","opcode":0,"status":255,"count":1}   (with --ocxlpmem)
//! {"cmd":"card-fault","action":"no-response"}  also fatal, hardware-fatal, wrong-id
//! {"cmd":"card-fault","opcode":4,"delay_ms":200}
//! {"cmd":"card-clear-faults"}
//! {"cmd":"card-smart","life_used":95,"spares":5,"media_celsius":90,
//!  "ctrl_celsius":70,"dirty_shutdown":true,"media_errors":2}
//!                                  wear / SMART faults of the card (its next
//!                                  SMART answer); -> {"ok":true,"smart":{...}}
//! {"cmd":"fault","dimm":1,"function":24,"media_error":true}  Intel erase fails
//! {"cmd":"smart","dimm":1,"media_celsius":85,"spares":5,"life_used":90,
//!  "health":"critical","dirty_shutdown":true,"notify":true}   (intel=on)
//! {"cmd":"power-cycle","dimm":1}                   locked again, unfrozen
//! {"cmd":"intel-state","dimm":1}  -> {"ok":true,"intel":{"security":...}}
//! {"cmd":"media","dimm":1,"offset":0,"length":16777216}
//!                                  -> {"ok":true,"zero":false,"fnv1a":...}
//! ```
//!
//! `card-fault` arms a fault of the OpenCAPI pmem card for admin commands
//! with `opcode` (left out: every opcode); the card takes it at its next
//! doorbell. `stats` then also reports the card's counters (`card`).
//!
//! `hotplug` (a new DIMM at run time, on a machine started with
//! `--hotplug-slots`) is accepted from the control socket only: the guest
//! must not name host files. Its backing file must be under a directory
//! named on the command line (`--hotplug-dir`, or that of an `--nvdimm`
//! file; see [`crate::host::HotplugDirs`]).
//!
//! What requests can add is bounded: [`crate::devices::faults::MAX_RULES`] armed
//! fault rules per model, [`crate::devices::nvdimm::ars::MAX_RANGES`] poison ranges.
//!
//! `dimm` is an NFIT handle (0 is the root device), left out for all;
//! `function` left out for all; `count` left out for every call until
//! `clear-faults`; `null` is the same as leaving these out. Errors answer
//! `{"ok":false,"error":"..."}` ([`ControlError`]). Lines are untrusted:
//! a line is parsed into a [`Request`] (unknown commands, unknown or
//! repeated fields and wrong types refused, naming the field), which is
//! range-checked, and only then carried out.

pub mod error;
pub mod request;
pub mod server;

use serde_json::{json, Value};

use std::sync::{Arc, Mutex};

use crate::devices::nvdimm::Platform;
use crate::devices::ocxl::attached::Control;
use crate::dsm::Notification;
use crate::host::HotplugDirs;
use error::ControlError;
use request::Request;

/// What the control plane acts on: the NVDIMM platform (shared with the
/// transport's threads that serve the guest's calls) and the card's
/// control handle.
#[derive(Clone)]
pub struct Target {
    pub platform: Arc<Mutex<Platform>>,
    pub card: Option<Control>,
}

impl Target {
    /// Handles one request line from `channel`; always returns one reply
    /// object.
    pub fn handle(&self, line: &str, channel: Channel<'_>) -> Value {
        let mut p = Platform::lock(&self.platform);
        handle(&mut p, self.card.as_ref(), line, channel)
    }
}

/// Where a request comes from.
#[derive(Debug, Clone, Copy)]
pub enum Channel<'a> {
    /// The guest (`@@ VMM` lines on its results port).
    Guest,
    /// The host (the control socket): may hot-add DIMMs whose backing
    /// files are under `hotplug_dirs`.
    Host { hotplug_dirs: &'a HotplugDirs },
}

/// The most bytes one `media` request reads.
pub const MAX_MEDIA_DIGEST: u64 = 1 << 30;

/// Longest request line accepted.
pub const MAX_LINE: usize = 4096;

/// Handles one request line from `channel`; always returns one reply
/// object.
pub fn handle(
    platform: &mut Platform,
    card: Option<&Control>,
    line: &str,
    channel: Channel<'_>,
) -> Value {
    let reply = if line.len() > MAX_LINE {
        Err(ControlError::TooLong { max: MAX_LINE })
    } else {
        Request::parse(line).and_then(|r| execute(platform, card, r, channel))
    };
    reply.unwrap_or_else(|e| json!({"ok": false, "error": e.to_string()}))
}

/// Carries out a parsed request.
fn execute(
    p: &mut Platform,
    card: Option<&Control>,
    request: Request,
    channel: Channel<'_>,
) -> Result<Value, ControlError> {
    match request {
        Request::Ping {} => Ok(json!({"ok": true})),
        Request::Stats {} => {
            let mut s = p.stats();
            if let Some(card) = card {
                s["card"] = card.json();
            }
            Ok(json!({"ok": true, "stats": s}))
        }
        Request::ResetStats {} => {
            p.reset_stats();
            Ok(json!({"ok": true}))
        }
        Request::Fault(f) => {
            let armed = p.arm_fault(f.try_into()?)?;
            Ok(json!({"ok": true, "armed": armed}))
        }
        Request::ClearFaults {} => {
            p.clear_faults();
            Ok(json!({"ok": true}))
        }
        Request::Poison { address, length } => {
            if length == 0 || address.checked_add(length).is_none() {
                return Err(ControlError::PoisonRange);
            }
            let ranges = p.add_poison(address, length)?;
            Ok(json!({"ok": true, "ranges": ranges}))
        }
        Request::Notify { value, dimm } => {
            match (value, dimm) {
                (0x80, None) => p.notify(Notification::Update),
                (0x81, None) => p.notify(Notification::UcMemoryError),
                (0x81, Some(h)) => p.notify_dimm_health(h),
                (0x80, Some(_)) => return Err(ControlError::DimmNotifyValue),
                _ => return Err(ControlError::NotifyValue),
            }?;
            Ok(json!({"ok": true}))
        }
        Request::FitDelete { dimm } => {
            p.fit_delete(dimm)?;
            Ok(json!({"ok": true}))
        }
        Request::ArsFinish {} => {
            let finished = p.finish_scrub()?;
            Ok(json!({"ok": true, "finished": finished}))
        }
        Request::FlushHints {} => {
            let hints = p.take_flush_hints()?;
            Ok(json!({"ok": true, "flush_hints": hints}))
        }
        Request::CardFault(f) => {
            let card = card.ok_or(ControlError::NoCard)?;
            let armed = card.arm(f.try_into()?)?;
            Ok(json!({"ok": true, "armed": armed}))
        }
        Request::Smart(r) => {
            let change = (&r).try_into()?;
            let state = p.change_smart(r.dimm, &change, r.notify)?;
            Ok(json!({"ok": true, "intel": state}))
        }
        Request::PowerCycle { dimm } => {
            let n = p.power_cycle(dimm)?;
            Ok(json!({"ok": true, "dimms": n}))
        }
        Request::IntelState { dimm } => {
            let state = p.intel_state(dimm)?;
            Ok(json!({"ok": true, "intel": state}))
        }
        Request::Media {
            dimm,
            offset,
            length,
        } => {
            if length > MAX_MEDIA_DIGEST {
                return Err(ControlError::OutOfRange {
                    field: "length",
                    max: MAX_MEDIA_DIGEST,
                });
            }
            let (zero, fnv1a) = p.media_digest(dimm, offset, length)?;
            Ok(json!({"ok": true, "zero": zero, "fnv1a": fnv1a}))
        }
        Request::CardSmart(r) => {
            let card = card.ok_or(ControlError::NoCard)?;
            card.change_smart((&r).try_into()?)?;
            Ok(json!({"ok": true, "smart": card.json()["smart"].clone()}))
        }
        Request::CardClearFaults {} => {
            card.ok_or(ControlError::NoCard)?.clear();
            Ok(json!({"ok": true}))
        }
        Request::CardReset {
            ready_after_ms,
            memory_after_ms,
        } => {
            let card = card.ok_or(ControlError::NoCard)?;
            let ticks = |field, ms: Option<u32>| match ms.unwrap_or(0) {
                ms if ms > request::MAX_CARD_DELAY_MS => Err(ControlError::OutOfRange {
                    field,
                    max: request::MAX_CARD_DELAY_MS.into(),
                }),
                // In ticks of 10 ms, a non-zero delay at least one.
                0 => Ok(0),
                ms => Ok((ms / 10).max(1)),
            };
            card.power_cycle(
                ticks("ready_after_ms", ready_after_ms)?,
                ticks("memory_after_ms", memory_after_ms)?,
            );
            Ok(json!({"ok": true}))
        }
        Request::Hotplug { nvdimm } => {
            let Channel::Host { hotplug_dirs } = channel else {
                return Err(ControlError::HostOnly);
            };
            let mut config = crate::config::NvdimmConfig::parse(&nvdimm)?;
            if !p.has_hotplug() {
                return Err(ControlError::NoHotplugSlots);
            }
            let real = hotplug_dirs.resolve(&config.path)?;
            if p.placed()
                .iter()
                .any(|d| std::fs::canonicalize(&d.config.path).is_ok_and(|c| c == real))
            {
                return Err(ControlError::AlreadyADimm(real));
            }
            config.path = real;
            let d = p.hotplug(config)?;
            Ok(json!({
                "ok": true,
                "handle": u32::from(d.slot) + 1,
                "address": d.address,
            }))
        }
    }
}

#[cfg(test)]
mod tests;
