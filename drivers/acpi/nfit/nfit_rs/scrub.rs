// SPDX-License-Identifier: GPL-2.0

//! Address range scrub (ARS) in the background, as the C driver's
//! `acpi_nfit_scrub()` does it.
//!
//! When a range is registered the platform is asked, in the registering
//! context, for what it already knows (a status query and a "short" scrub
//! that returns the previous scan's records), which takes no time; the
//! "long" scrub that scans the media runs on a workqueue. The work item
//! starts one range's scrub at a time and polls the platform with C's
//! back-off (one second, doubled while the platform is busy, at most 30
//! minutes; a read of `nfit/scrub` asks for the next poll within a second),
//! continues a scrub whose records overflowed the status output, and when
//! every request is done counts the pass in `nfit/scrub` and wakes its
//! pollers. No probe, notification handler or sysfs store waits for it.
//!
//! The work item ticks once a second while a pass runs and queries the
//! platform when its back-off has elapsed: so a poll can be brought
//! forward without re-arming a timer, and stopping (unbind, `rmmod`) waits
//! one tick at most.

use core::{
    ops::Deref,
    sync::atomic::{AtomicBool, Ordering},
};
use kernel::{
    nvdimm::{Bus, RegionEvent, RegionId},
    prelude::*,
    sync::{Arc, Mutex},
    time::msecs_to_jiffies,
    workqueue::{self, impl_has_delayed_work, new_delayed_work, DelayedWork, WorkItem},
};

use crate::{ars, BusAttr, NfitBus};

/// The longest back-off between two status queries, in seconds (C's).
const MAX_BACKOFF: u32 = 30 * 60;

/// What a scrub asks of the platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scrub {
    /// Scan the media (C's `ARS_REQ_LONG`).
    Long,
    /// Report what the previous scan found (C's `ARS_REQ_SHORT`).
    Short,
}

/// One persistent-memory range and what is asked of it (C's
/// `nfit_spa::ars_state`).
struct ScrubRange {
    start: u64,
    len: u64,
    region: RegionId,
    /// Start ARS type: `ars::ARS_PERSISTENT` or `ars::ARS_VOLATILE`.
    ars_type: u16,
    short: bool,
    long: bool,
    /// The platform cannot scrub it (C's `ARS_FAILED`): no more requests.
    failed: bool,
}

impl ScrubRange {
    fn request(&mut self, kind: Scrub) -> &mut bool {
        match kind {
            Scrub::Short => &mut self.short,
            Scrub::Long => &mut self.long,
        }
    }
}

/// The scrub state, under the lock the work item holds while it talks to
/// the platform (C's `init_mutex` and `scrub_flags`).
struct ScrubState {
    /// In the order their scrubs are started (a scrubbed range goes last).
    ranges: KVec<ScrubRange>,
    /// A pass is queued or running (C's `ARS_BUSY`): the work item is
    /// pending or running exactly when this is set.
    busy: bool,
    /// The driver is going away (C's `ARS_CANCEL`): nothing is queued any
    /// more.
    cancel: bool,
    /// Someone polls `nfit/scrub`: query at the next tick (C's `ARS_POLL`).
    poll: bool,
    /// The next status answers a start of ours (C's `ARS_VALID`): its
    /// records are news, not stale.
    valid: bool,
    /// Completed passes (`nfit/scrub`).
    count: u32,
    /// Back-off of the last poll, seconds (C's `scrub_tmo`).
    backoff: u32,
    /// Seconds before the next status query.
    wait: u32,
    /// The range whose scrub we started and wait for (C's `scrub_spa`).
    active: Option<(u64, u64)>,
    /// The last status output (a continuation resumes from it).
    last: KVec<u8>,
    /// The work item, from the bus's registration until the driver stops
    /// it; the bus holds it through its provider, so it is taken out to
    /// break that cycle when the driver goes.
    work: Option<Arc<ScrubbedBus>>,
}

/// The background scrub of a bus: a field of its provider.
#[pin_data]
pub(crate) struct Scrubber {
    #[pin]
    state: Mutex<ScrubState>,
    /// `ScrubState::busy`, readable without waiting for the work item:
    /// a userspace Start ARS is refused while it is set.
    busy: AtomicBool,
}

/// The registered bus, shared with its scrub work item: the item keeps it
/// alive while queued, and the driver stops the item before it lets go.
#[pin_data]
pub(crate) struct ScrubbedBus {
    bus: Pin<KBox<Bus<NfitBus>>>,
    #[pin]
    work: DelayedWork<ScrubbedBus>,
}

impl_has_delayed_work! {
    impl HasDelayedWork<Self> for ScrubbedBus { self.work }
}

impl WorkItem for ScrubbedBus {
    type Pointer = Arc<ScrubbedBus>;

    fn run(this: Arc<ScrubbedBus>) {
        this.bus.provider().scrubber.tick(&this);
    }
}

impl Deref for ScrubbedBus {
    type Target = Bus<NfitBus>;

    fn deref(&self) -> &Bus<NfitBus> {
        &self.bus
    }
}

impl ScrubbedBus {
    /// Shares `bus` with its scrub work item.
    pub(crate) fn new(bus: Pin<KBox<Bus<NfitBus>>>) -> Result<Arc<Self>> {
        let this = Arc::pin_init(
            pin_init!(ScrubbedBus {
                bus,
                work <- new_delayed_work!("nfit_rs::scrub"),
            }),
            GFP_KERNEL,
        )?;
        this.bus.provider().scrubber.state.lock().work = Some(this.clone());
        Ok(this)
    }
}

/// Queues the work item `delay_ms` from now. The caller holds the state
/// lock and has checked `cancel`.
fn queue(work: &Arc<ScrubbedBus>, delay_ms: u32) {
    // Queued exactly when `busy` is set (see `ScrubState::busy`), so this
    // does not find it queued already.
    let _ = workqueue::system_long().enqueue_delayed(work.clone(), msecs_to_jiffies(delay_ms));
}

/// The errno of a translated command result.
fn rc_is(rc: i32, e: Error) -> bool {
    rc == e.to_errno()
}

impl Scrubber {
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Scrubber {
            state <- kernel::new_mutex!(ScrubState {
                ranges: KVec::new(),
                busy: false,
                cancel: false,
                poll: false,
                // As C: records found before the driver came are news.
                valid: true,
                count: 0,
                backoff: 1,
                wait: 0,
                active: None,
                last: KVec::new(),
                work: None,
            }),
            busy: AtomicBool::new(false),
        })
    }

    /// Whether a pass is queued or running (a userspace Start ARS gets
    /// `EBUSY`, as C's `acpi_nfit_clear_to_send()` answers while its work
    /// item is busy).
    pub(crate) fn busy(&self) -> bool {
        self.busy.load(Ordering::Acquire)
    }

    /// `nfit/scrub`: completed passes, "+" while one runs. As C, a read
    /// during a pass brings the next status query forward to the next
    /// tick and resets the back-off (`ndctl wait-scrub` reads it while it
    /// waits).
    pub(crate) fn show(&self, out: &mut impl core::fmt::Write) -> core::fmt::Result {
        let mut st = self.state.lock();
        let busy = st.busy && !st.cancel;
        if busy && !st.poll {
            st.poll = true;
            st.backoff = 1;
        }
        writeln!(out, "{}{}", st.count, if busy { "+" } else { "" })
    }

    /// Registers a range that was just added to the bus and asks the
    /// platform for what it already knows of it, without waiting (C's
    /// `acpi_nfit_init_ars()` and `ars_register()`); a scan follows in the
    /// next pass unless `no_init_ars`. Failures are logged: the range stays
    /// registered, unscrubbed, as in C. `ars_type` is the range's scrub type
    /// (`ars::ARS_PERSISTENT` or `ars::ARS_VOLATILE`), which the platform
    /// must list among the range's capabilities.
    pub(crate) fn add_range(
        &self,
        bus: &Bus<NfitBus>,
        start: u64,
        len: u64,
        region: RegionId,
        ars_type: u16,
        long: bool,
    ) -> Result {
        let nfit = bus.provider();
        let mut st = self.state.lock();
        let mut range = ScrubRange {
            start,
            len,
            region,
            ars_type,
            short: true,
            long,
            failed: true,
        };
        // C's `acpi_nfit_init_ars()`: the platform must scrub the type.
        let cap = nfit.root_dsm(ars::FUNC_ARS_CAP, &ars::range_input(start, len));
        if cap.is_ok_and(|c| {
            ars::xlat_status(ars::FUNC_ARS_CAP, &[], &c) == 0
                && ars::status(&c).is_some_and(|st| (st >> 16) as u16 & ars_type != 0)
        }) {
            range.failed = false;
            // C's `ars_register()`: the previous scan's records now.
            let rc = self.query_poison(bus, &mut st);
            if rc == 0 || rc_is(rc, ENOSPC) || rc_is(rc, EAGAIN) {
                match self.start(nfit, &mut st, start, len, ars_type, Scrub::Short) {
                    // A scrub by someone else; the next pass retries.
                    Err(e) if e == EBUSY => {}
                    Err(e) => {
                        dev_err!(
                            nfit.dev,
                            "ARS: range {start:#x}+{len:#x} ARS failed ({e:?})\n"
                        );
                        range.failed = true;
                    }
                    Ok(()) => {
                        range.short = false;
                        if self.query_poison(bus, &mut st) == 0 {
                            st.active = Some((start, len));
                            Self::complete(bus, &mut st, start, len, region);
                            st.active = None;
                        }
                    }
                }
            } else if !rc_is(rc, EBUSY) && !rc_is(rc, ENOMEM) {
                range.failed = true;
            }
        }
        st.ranges.push(range, GFP_KERNEL)?;
        Ok(())
    }

    /// Starts a pass for the requests made so far (C's `sched_ars()`), if
    /// one is not queued or running already; it picks them up.
    pub(crate) fn schedule(&self) {
        let mut st = self.state.lock();
        Self::schedule_locked(&self.busy, &mut st);
    }

    fn schedule_locked(busy: &AtomicBool, st: &mut ScrubState) {
        if st.cancel || st.busy || st.ranges.iter().all(|r| r.failed) {
            return;
        }
        let Some(work) = &st.work else {
            return;
        };
        queue(work, 0);
        st.wait = 0;
        st.busy = true;
        busy.store(true, Ordering::Release);
    }

    /// Asks for a scrub of every range (C's `acpi_nfit_ars_rescan()`):
    /// `EBUSY` when each has that request pending already, `ENOTTY` when
    /// none can be scrubbed.
    pub(crate) fn rescan(&self, kind: Scrub) -> Result {
        let mut st = self.state.lock();
        if st.cancel {
            return Ok(());
        }
        let (mut scheduled, mut pending) = (0, 0);
        for r in st.ranges.iter_mut().filter(|r| !r.failed) {
            let asked = r.request(kind);
            if *asked {
                pending += 1;
            } else {
                *asked = true;
                scheduled += 1;
            }
        }
        if scheduled > 0 {
            Self::schedule_locked(&self.busy, &mut st);
            Ok(())
        } else if pending > 0 {
            Err(EBUSY)
        } else {
            Err(ENOTTY)
        }
    }

    /// Stops the work item and waits until it no longer runs (C's
    /// `ARS_CANCEL` and `cancel_delayed_work_sync()` in
    /// `acpi_nfit_shutdown()`). Called before the bus goes; nothing is
    /// queued afterwards.
    pub(crate) fn stop(&self) {
        let work = {
            let mut st = self.state.lock();
            st.cancel = true;
            st.work.take()
        };
        // A pending item runs now, sees `cancel` and does not requeue
        // (it decides under the lock taken above); a running one finishes.
        if let Some(work) = work {
            work.work.flush();
        }
    }

    /// One tick of the work item.
    fn tick(&self, this: &Arc<ScrubbedBus>) {
        let bus: &Bus<NfitBus> = this;
        let mut st = self.state.lock();
        if st.cancel {
            return;
        }
        if st.wait > 1 && !st.poll {
            st.wait -= 1;
            queue(this, 1000);
            return;
        }
        let rc = self.query_poison(bus, &mut st);
        let next = self.advance(bus, &mut st, rc);
        st.poll = false;
        if next > 0 {
            st.backoff = next;
            st.wait = next;
            queue(this, 1000);
        } else {
            // C's `notify_ars_done()`.
            st.busy = false;
            self.busy.store(false, Ordering::Release);
            st.count = st.count.wrapping_add(1);
            bus.notify_bus_attribute(BusAttr::Scrub);
        }
    }

    /// Acts on the status query's result `rc` (C's `__acpi_nfit_scrub()`):
    /// the seconds before the next query, 0 when the pass is over.
    fn advance(&self, bus: &Bus<NfitBus>, st: &mut ScrubState, rc: i32) -> u32 {
        let nfit = bus.provider();
        if rc_is(rc, EBUSY) {
            return MAX_BACKOFF.min(st.backoff.saturating_mul(2));
        }
        if rc_is(rc, ENOSPC) {
            // The records overflowed the output: the platform stopped
            // where the status says; resume from there. As C, records of
            // the rest count as new.
            if let Ok(s) = ars::ArsStatus::parse(&st.last) {
                let input = s.continuation();
                match nfit.root_dsm(ars::FUNC_ARS_START, &input) {
                    Ok(out) if ars::xlat_status(ars::FUNC_ARS_START, &input, &out) == 0 => {
                        st.valid = true;
                    }
                    _ => dev_err!(nfit.dev, "ARS: continuation failed\n"),
                }
            }
            return 1;
        }
        // C's `ars_complete_all()`.
        for i in 0..st.ranges.len() {
            let r = &st.ranges[i];
            if !r.failed {
                let (start, len, region) = (r.start, r.len, r.region);
                Self::complete(bus, st, start, len, region);
            }
        }
        let mut i = 0;
        while i < st.ranges.len() {
            let r = &st.ranges[i];
            let kind = if r.failed {
                None
            } else if r.short {
                Some(Scrub::Short)
            } else if r.long {
                Some(Scrub::Long)
            } else {
                None
            };
            let Some(kind) = kind else {
                i += 1;
                continue;
            };
            let (start, len, ty) = (r.start, r.len, r.ars_type);
            match self.start(nfit, st, start, len, ty, kind) {
                // Someone else started one: try again in a bit.
                Err(e) if e == EBUSY => return 1,
                Ok(()) => {
                    *st.ranges[i].request(kind) = false;
                    st.active = Some((start, len));
                    // Last in line for the next requests, as C.
                    st.ranges[i..].rotate_left(1);
                    return 1;
                }
                Err(e) => {
                    dev_err!(
                        nfit.dev,
                        "ARS: range {start:#x}+{len:#x} ARS failed ({e:?})\n"
                    );
                    st.ranges[i].failed = true;
                    i += 1;
                }
            }
        }
        0
    }

    /// Whether the status in `last` completes the scrub of a range.
    fn completes(last: &[u8], start: u64, len: u64) -> bool {
        ars::ArsStatus::parse(last).is_ok_and(|s| s.completes(start, len))
    }

    /// C's `ars_complete()`: when the last status finishes the scrub we
    /// started of a range, the range's region learns its new bad blocks.
    fn complete(bus: &Bus<NfitBus>, st: &mut ScrubState, start: u64, len: u64, region: RegionId) {
        if st.active == Some((start, len)) && Self::completes(&st.last, start, len) {
            st.active = None;
            let _ = bus.notify_region(region, RegionEvent::RevalidatePoison);
        }
    }

    /// Starts a scrub of a range (C's `ars_start()`).
    fn start(
        &self,
        nfit: &NfitBus,
        st: &mut ScrubState,
        start: u64,
        len: u64,
        ty: u16,
        kind: Scrub,
    ) -> Result {
        let flags = match kind {
            Scrub::Long => 0,
            Scrub::Short => ars::START_RETURN_PREV_DATA,
        };
        let input = ars::start_input(start, len, ty, flags);
        let out = nfit.root_dsm(ars::FUNC_ARS_START, &input)?;
        match ars::xlat_status(ars::FUNC_ARS_START, &input, &out) {
            0 => {
                st.valid = true;
                Ok(())
            }
            e => Err(Error::from_errno(e)),
        }
    }

    /// Queries the ARS status and adds the records of a scrub we started
    /// to the bus's bad ranges (C's `acpi_nfit_query_poison()`); the
    /// translated status.
    fn query_poison(&self, bus: &Bus<NfitBus>, st: &mut ScrubState) -> i32 {
        let nfit = bus.provider();
        st.last.clear();
        let out = match nfit.root_dsm(ars::FUNC_ARS_STATUS, &[]) {
            Ok(out) => out,
            Err(e) => return e.to_errno(),
        };
        let rc = ars::xlat_status(ars::FUNC_ARS_STATUS, &[], &out);
        st.last = out;
        if rc < 0 && !rc_is(rc, ENOSPC) {
            return rc;
        }
        // As C: results are only refreshed by a start, so without one of
        // ours since the last query they are stale.
        if !core::mem::replace(&mut st.valid, false) {
            return rc;
        }
        match ars::ArsStatus::parse(&st.last) {
            Ok(s) => {
                for r in s.records() {
                    if let Err(e) = bus.add_badrange(r.address, r.length) {
                        dev_err!(nfit.dev, "ARS: recording {:#x}: {e:?}\n", r.address);
                        break;
                    }
                }
            }
            Err(e) => dev_err!(nfit.dev, "ARS: unusable status ({e:?})\n"),
        }
        rc
    }
}
