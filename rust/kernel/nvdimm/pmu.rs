// SPDX-License-Identifier: GPL-2.0

//! nvdimm performance monitoring units (`nd_perf`).
//!
//! A provider whose DIMMs keep counters registers one PMU per DIMM, named
//! after the DIMM (`nmemN`). `nd_perf` gives it the fixed event list of
//! nvdimm PMUs (`events/ctl_res_cnt` = `event=0x01` ... `fast_w_cnt` =
//! `event=0x10`, format `config:0-4`) and the `cpumask` of the CPU that
//! reads the counters; perf opens CPU-wide counting events only (no
//! sampling, no task context).
//!
//! The provider implements [`Counters`]: [`Counters::open`] validates an
//! event's config against the device's counters when perf opens the event
//! and makes the event's state (for instance a buffer the hypervisor
//! writes), in process context; [`Counters::read`] reads the counter with
//! interrupts disabled. The abstraction keeps the counts as C PMUs do (the
//! previous value in `hw.prev_count`, the difference added to
//! `event->count`).
//!
//! A [`Registration`] unregisters the PMU when dropped; it borrows the bound
//! platform device, so it lives in the driver's data. `perf_pmu_unregister()`
//! detaches the events still open (they read as revoked afterwards, their
//! state is dropped), so no callback reaches the provider's counters once
//! the registration is gone, whatever user space still holds.
//!
//! C header: [`include/linux/nd.h`](srctree/include/linux/nd.h); C code:
//! [`drivers/nvdimm/nd_perf.c`](srctree/drivers/nvdimm/nd_perf.c).

use super::{Bus, DimmId, Provider};
use crate::{
    bindings, device, platform,
    prelude::*,
    str::{CStr, CString},
    types::Opaque,
};
use core::{marker::PhantomData, ptr::NonNull};

/// The event configs of nvdimm PMUs (`nd_perf`'s `events/`).
pub const EVENT_CONFIGS: core::ops::RangeInclusive<u64> = 1..=16;

/// The counters of one DIMM.
pub trait Counters: Send + Sync {
    /// The state of one open event.
    type Event: Send;

    /// Opens an event counting `config` (in [`EVENT_CONFIGS`]): `EINVAL`
    /// when the device has no such counter, else the event's state. Runs in
    /// process context and may sleep.
    fn open(&self, config: u64) -> Result<Self::Event>;

    /// Reads the event's counter. Runs with interrupts disabled (perf's
    /// `add`, `read` and `del` callbacks): must not sleep.
    fn read(&self, event: &mut Self::Event) -> Result<u64>;
}

/// What perf asks of an event at `event_init`, before the provider sees it.
#[derive(Clone, Copy, Debug)]
struct EventRequest {
    /// The event's `attr.type` is this PMU's type.
    ours: bool,
    /// `attr.sample_period` is not zero.
    sampling: bool,
    /// `attr.sample_type` asks for the branch stack.
    branch_stack: bool,
    /// `attr.config`.
    config: u64,
}

/// The checks of C's nvdimm PMU `event_init` (`papr_scm_pmu_event_init()`):
/// another PMU's event is `ENOENT` (perf tries the next PMU), sampling is
/// not supported, the config must be one of the nvdimm events.
fn check_event(req: &EventRequest) -> Result {
    if !req.ours {
        return Err(ENOENT);
    }
    if req.sampling || req.branch_stack {
        return Err(EOPNOTSUPP);
    }
    if !EVENT_CONFIGS.contains(&req.config) {
        return Err(EINVAL);
    }
    Ok(())
}

/// One registered PMU: `nd_perf`'s `struct nvdimm_pmu` first, as
/// `unregister_nvdimm_pmu()` frees it with `kfree()`.
#[repr(C)]
struct PmuAlloc<T: Counters> {
    nd: Opaque<bindings::nvdimm_pmu>,
    /// The counters, owned by the [`Registration`].
    counters: *const T,
}

/// The counters of the PMU of `event`.
///
/// # Safety
///
/// `event` is an event of a PMU registered by a [`Registration<T>`] that is
/// not yet dropped: its `pmu` field is the `pmu` of a live [`PmuAlloc<T>`].
unsafe fn counters_of<'a, T: Counters>(event: *mut bindings::perf_event) -> &'a T {
    // SAFETY: `event` is valid (caller).
    let pmu = unsafe { (*event).pmu };
    // SAFETY: `pmu` is the first field of a `struct nvdimm_pmu`, itself the
    // first field of a `#[repr(C)]` `PmuAlloc<T>` (caller); `Opaque` has the
    // layout of what it wraps.
    let alloc = unsafe { &*pmu.cast::<PmuAlloc<T>>() };
    // SAFETY: The registration keeps the counters alive until it has
    // unregistered the PMU, after which perf makes no more callbacks.
    unsafe { &*alloc.counters }
}

/// `pmu::event_init`.
///
/// # Safety
///
/// Called by perf with an event being initialised for a PMU of a
/// [`Registration<T>`].
unsafe extern "C" fn event_init_callback<T: Counters>(event: *mut bindings::perf_event) -> c_int {
    // SAFETY: perf passes an event whose `attr` is filled in and whose
    // `pmu` is the PMU tried.
    let req = unsafe {
        let attr = &(*event).attr;
        EventRequest {
            ours: attr.type_ == (*(*event).pmu).type_ as u32,
            sampling: attr.__bindgen_anon_1.sample_period != 0,
            branch_stack: attr.sample_type
                & u64::from(bindings::perf_event_sample_format_PERF_SAMPLE_BRANCH_STACK)
                != 0,
            config: attr.config,
        }
    };
    if let Err(e) = (ENTRIES.check_event)(&req) {
        return e.to_errno();
    }
    // SAFETY: The event is one of our PMU's (checked above) and the
    // registration is alive while perf calls it.
    let counters = unsafe { counters_of::<T>(event) };
    let state = match counters
        .open(req.config)
        .and_then(|s| KBox::new(s, GFP_KERNEL).map_err(Into::into))
    {
        Ok(state) => state,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: `event` is valid and not yet visible to other callbacks; the
    // state is freed by `destroy_callback`, which perf calls once when it
    // frees or detaches the event.
    unsafe {
        (*event).pmu_private = KBox::into_raw(state).cast();
        (*event).destroy = Some(destroy_callback::<T>);
    }
    0
}

/// `perf_event::destroy`: drops the event's state.
///
/// # Safety
///
/// Called by perf once for an event whose `event_init_callback::<T>`
/// succeeded.
unsafe extern "C" fn destroy_callback<T: Counters>(event: *mut bindings::perf_event) {
    // SAFETY: `pmu_private` holds the state boxed by `event_init_callback`,
    // freed only here, once.
    drop(unsafe { KBox::from_raw((*event).pmu_private.cast::<T::Event>()) });
    // SAFETY: `event` is valid.
    unsafe { (*event).pmu_private = core::ptr::null_mut() };
}

/// Reads the counter of `event`.
///
/// # Safety
///
/// `event` is an initialised event of a PMU of a live
/// [`Registration<T>`]; perf serialises the callbacks of one event (under
/// its context's lock).
unsafe fn read_counter<T: Counters>(event: *mut bindings::perf_event) -> Result<u64> {
    // SAFETY: As for `counters_of` (caller).
    let counters = unsafe { counters_of::<T>(event) };
    // SAFETY: `event_init_callback` set `pmu_private` to the event's state,
    // which only the serialised callbacks of this event use.
    let state = unsafe { &mut *(*event).pmu_private.cast::<T::Event>() };
    counters.read(state)
}

/// `pmu::add`: starts counting from the current value.
///
/// # Safety
///
/// As [`read_counter`].
unsafe extern "C" fn add_callback<T: Counters>(
    event: *mut bindings::perf_event,
    flags: c_int,
) -> c_int {
    if flags as u32 & bindings::PERF_EF_START == 0 {
        return 0;
    }
    // SAFETY: As the caller guarantees.
    match unsafe { read_counter::<T>(event) } {
        Ok(now) => {
            // SAFETY: A valid event, in one of its serialised callbacks.
            unsafe { (ENTRIES.record_reading)(event, now, true) };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// Records reading `now` of `event`'s counter: where counting starts if
/// `start` (`pmu::add`), else the change since the last reading is added to
/// the count. Not generic, so a provider module has one call for all the
/// local64 operations rather than its own calls of each.
///
/// # Safety
///
/// `event` is a valid event, in one of its callbacks (which perf
/// serialises).
unsafe fn record_reading(event: *mut bindings::perf_event, now: u64, start: bool) {
    // SAFETY: `hw.prev_count` and `count` of a valid event (caller),
    // updated with the local64 operations perf uses for them.
    unsafe {
        if start {
            bindings::local64_set(&raw mut (*event).hw.prev_count, now);
        } else {
            let prev = bindings::local64_xchg(&raw mut (*event).hw.prev_count, now);
            bindings::local64_add(now.wrapping_sub(prev) as i64, &raw mut (*event).count);
        }
    }
}

/// `pmu::read`: adds the change since the last reading to the count; a
/// failed reading leaves the count as it was (as in C).
///
/// # Safety
///
/// As [`read_counter`].
unsafe extern "C" fn read_callback<T: Counters>(event: *mut bindings::perf_event) {
    // SAFETY: As the caller guarantees.
    let Ok(now) = (unsafe { read_counter::<T>(event) }) else {
        return;
    };
    // SAFETY: As the caller guarantees.
    unsafe { (ENTRIES.record_reading)(event, now, false) };
}

/// `pmu::del`: takes a last reading.
///
/// # Safety
///
/// As [`read_counter`].
unsafe extern "C" fn del_callback<T: Counters>(event: *mut bindings::perf_event, _flags: c_int) {
    // SAFETY: As the caller guarantees.
    unsafe { read_callback::<T>(event) };
}

impl<P: Provider> Bus<P> {
    /// The device name of a DIMM (`nmemN`), for instance to name its PMU.
    pub fn dimm_name(&self, id: DimmId) -> Result<CString> {
        let nvdimm = {
            let dimms = super::BusGuard::<P, _>::lock(&self.dimms);
            dimms
                .get(self.dimm_index(id).ok_or(EINVAL)?)
                .ok_or(EINVAL)?
                .nvdimm
        };
        // SAFETY: `nvdimm` is a registered DIMM of this bus, which `self`
        // keeps alive; its name is a NUL-terminated string of its device.
        let name = unsafe { CStr::from_char_ptr(bindings::nvdimm_name(nvdimm)) };
        CString::try_from(name).map_err(Into::into)
    }
}

/// The part of [`Registration::register`] that does not depend on the
/// counters' type: fills in the rest of `nd` and registers it for `dev`'s
/// platform device. Not generic, so a provider module does not carry these
/// calls itself.
///
/// # Safety
///
/// `nd` is a zeroed, not yet registered `nvdimm_pmu` whose callbacks are
/// filled in, allocated with `Kmalloc`, and `name` outlives its
/// registration. `dev` is the device of a platform device.
unsafe fn register_raw(
    nd: *mut bindings::nvdimm_pmu,
    name: &CStr,
    cpu_node: Option<i32>,
    dev: &device::Device<device::Bound>,
) -> c_int {
    // SAFETY: `nd` is valid and not shared yet (caller).
    unsafe {
        let pmu = &raw mut (*nd).pmu;
        (*pmu).name = name.as_char_ptr();
        (*pmu).task_ctx_nr = bindings::perf_event_task_context_perf_invalid_context;
        (*pmu).capabilities =
            (bindings::PERF_PMU_CAP_NO_INTERRUPT | bindings::PERF_PMU_CAP_NO_EXCLUDE) as c_int;
        if let Some(node) = cpu_node {
            bindings::cpumask_copy(&raw mut (*nd).arch_cpumask, bindings::cpumask_of_node(node));
        }
    }
    // SAFETY: `dev` is the `dev` field of a platform device (caller).
    let raw_pdev = unsafe { crate::container_of!(dev.as_raw(), bindings::platform_device, dev) };
    // SAFETY: `nd` is filled in and `Kmalloc` memory (caller); on success
    // `nd_perf` owns it.
    unsafe { bindings::register_nvdimm_pmu(nd, raw_pdev) }
}

/// A registered nvdimm PMU; unregistered when dropped.
///
/// # Invariants
///
/// `pmu` is a `PmuAlloc<T>` registered with `register_nvdimm_pmu()` whose
/// `counters` points to `*counters` and whose `pmu.name` points to `name`;
/// `nd_perf` frees it at unregistration.
pub struct Registration<'bound, T: Counters> {
    pmu: NonNull<PmuAlloc<T>>,
    counters: Pin<KBox<T>>,
    name: CString,
    _dev: PhantomData<&'bound platform::Device<device::Bound>>,
}

// SAFETY: The registration only unregisters, from any thread; the counters
// are `Send + Sync`.
unsafe impl<T: Counters> Send for Registration<'_, T> {}
// SAFETY: A shared registration gives access to the counters only, which
// are `Sync`.
unsafe impl<T: Counters> Sync for Registration<'_, T> {}

impl<'bound, T: Counters> Registration<'bound, T> {
    /// Registers the PMU `name` (the DIMM's name, see [`Bus::dimm_name`])
    /// of platform device `pdev` with `counters`. The counters are read on
    /// a CPU of NUMA node `cpu_node` (the device's online node), else of
    /// the device's node.
    pub fn register(
        pdev: &'bound platform::Device<device::Bound>,
        name: CString,
        cpu_node: Option<i32>,
        counters: impl PinInit<T, Error>,
    ) -> Result<Self> {
        let counters = KBox::pin_init(counters, GFP_KERNEL)?;
        let alloc = KBox::new(
            PmuAlloc {
                nd: Opaque::zeroed(),
                counters: core::ptr::from_ref(&*counters),
            },
            GFP_KERNEL,
        )?;
        let nd = alloc.nd.get();
        // SAFETY: `nd` is the zeroed, not yet registered `nvdimm_pmu` of
        // `alloc`.
        unsafe {
            let pmu = &raw mut (*nd).pmu;
            (*pmu).event_init = Some(event_init_callback::<T>);
            (*pmu).add = Some(add_callback::<T>);
            (*pmu).del = Some(del_callback::<T>);
            (*pmu).read = Some(read_callback::<T>);
        }
        let pmu = KBox::into_raw(alloc);
        // SAFETY: `pmu` starts with an `nvdimm_pmu` whose callbacks are
        // filled in; `name` outlives the registration (type invariant). On
        // success `nd_perf` owns it until `unregister_nvdimm_pmu()`, whose
        // `kfree()` matches the `Kmalloc` allocation of a `KBox`.
        let ret = unsafe { (ENTRIES.register_raw)(pmu.cast(), &name, cpu_node, pdev.as_ref()) };
        if ret != 0 {
            // SAFETY: Registration failed, so `pmu` is still ours (and
            // `nd_perf` freed what it allocated for it).
            drop(unsafe { KBox::from_raw(pmu) });
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: Registered above, pointing to `counters` and `name`.
        Ok(Self {
            // SAFETY: `KBox::into_raw` does not return null.
            pmu: unsafe { NonNull::new_unchecked(pmu) },
            counters,
            name,
            _dev: PhantomData,
        })
    }

    /// The counters.
    pub fn counters(&self) -> Pin<&T> {
        self.counters.as_ref()
    }

    /// The PMU's name.
    pub fn name(&self) -> &CStr {
        &self.name
    }
}

impl<T: Counters> Drop for Registration<'_, T> {
    fn drop(&mut self) {
        // SAFETY: Registered (type invariant); `unregister_nvdimm_pmu()`
        // detaches the open events (dropping their state through
        // `destroy_callback`) and frees `pmu`. The counters and the name are
        // dropped after this, when no callback can reach them.
        unsafe { bindings::unregister_nvdimm_pmu(self.pmu.as_ptr().cast()) };
    }
}

/// The functions above that the callbacks and [`Registration::register`],
/// instantiated in a provider module, reach: through this table, as
/// `kernel::nvdimm`'s `Entries` explains (calls through it cost the
/// powerpc64 module loader no instruction words).
struct Entries {
    check_event: fn(&EventRequest) -> Result,
    record_reading: unsafe fn(*mut bindings::perf_event, u64, bool),
    register_raw: unsafe fn(
        *mut bindings::nvdimm_pmu,
        &CStr,
        Option<i32>,
        &device::Device<device::Bound>,
    ) -> c_int,
}

/// See [`Entries`].
static ENTRIES: Entries = Entries {
    check_event,
    record_reading,
    register_raw,
};

#[cfg(CONFIG_RUST_LIBNVDIMM_KUNIT_TEST)]
#[macros::kunit_tests(rust_nvdimm_pmu)]
mod tests {
    use super::*;

    fn req(config: u64) -> EventRequest {
        EventRequest {
            ours: true,
            sampling: false,
            branch_stack: false,
            config,
        }
    }

    #[test]
    fn counting_events_of_the_nvdimm_list_are_accepted() {
        for config in EVENT_CONFIGS {
            assert!(check_event(&req(config)).is_ok());
        }
    }

    #[test]
    fn configs_outside_the_list_are_einval() {
        for config in [0, 17, 31, u64::MAX] {
            assert_eq!(check_event(&req(config)), Err(EINVAL));
        }
    }

    #[test]
    fn another_pmus_event_is_enoent() {
        let r = EventRequest {
            ours: false,
            sampling: true,
            ..req(0)
        };
        assert_eq!(check_event(&r), Err(ENOENT));
    }

    #[test]
    fn sampling_is_not_supported() {
        let sampling = EventRequest {
            sampling: true,
            ..req(1)
        };
        let branch = EventRequest {
            branch_stack: true,
            ..req(1)
        };
        assert_eq!(check_event(&sampling), Err(EOPNOTSUPP));
        assert_eq!(check_event(&branch), Err(EOPNOTSUPP));
    }
}
