// SPDX-License-Identifier: GPL-2.0

//! Machine-check notifiers: memory errors the architecture reports to
//! drivers after it has handled the exception.
//!
//! On x86 the notifier sits on the MCE decode chain, which runs in process
//! context (a work item) for every logged [`Mce`] record; on 64-bit Book3S
//! powerpc it sits on the machine-check notifier list, which runs in process
//! context for every [`MachineCheckEvent`] of an uncorrectable error. Either
//! way a [`Handler`] sees the events through a [`Registration`], which
//! removes the notifier when dropped, after the calls in progress returned.
//!
//! C headers: [`arch/x86/include/asm/mce.h`](srctree/arch/x86/include/asm/mce.h),
//! [`arch/powerpc/include/asm/mce.h`](srctree/arch/powerpc/include/asm/mce.h)

use crate::ffi::{c_int, c_ulong, c_void};
use crate::{bindings, error::to_result, prelude::*, types::Opaque};

/// Bytes in an L1 cache line: the granule of poison a machine check
/// reports on powerpc.
pub const L1_CACHE_BYTES: u64 = bindings::L1_CACHE_BYTES as u64;

/// What a handler tells the notifier chain about an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Not for this handler, or nothing to report (`NOTIFY_DONE`).
    Done,
    /// The handler acted on the event (`NOTIFY_OK`); the chain goes on.
    Handled,
}

impl Outcome {
    fn to_notify(self) -> c_int {
        match self {
            Outcome::Done => bindings::NOTIFY_DONE as c_int,
            Outcome::Handled => bindings::NOTIFY_OK as c_int,
        }
    }
}

/// Receives machine-check events, in process context (it may sleep).
pub trait Handler: Send + Sync {
    /// Called once for each event, one event at a time.
    fn handle(&self, event: &Event) -> Outcome;
}

/// Where in the decode chain a handler runs (x86; higher runs first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority {
    /// Persistent-memory bus providers (`MCE_PRIO_NFIT`), after the
    /// kernel's own uncorrectable-error handling (`memory_failure()`).
    Nfit,
    /// Last, with the default notifier (`MCE_PRIO_LOWEST`).
    Lowest,
}

impl Priority {
    #[cfg(CONFIG_X86_MCE)]
    fn value(self) -> c_int {
        match self {
            Priority::Nfit => bindings::mce_notifier_prios_MCE_PRIO_NFIT as c_int,
            Priority::Lowest => bindings::mce_notifier_prios_MCE_PRIO_LOWEST as c_int,
        }
    }

    // The powerpc list has no priorities: everything runs in the order it
    // registered.
    #[cfg(not(CONFIG_X86_MCE))]
    fn value(self) -> c_int {
        0
    }
}

/// A [`Handler`] on the architecture's machine-check notifier.
///
/// # Invariants
///
/// While `registered` is set, `nb` is on the architecture's notifier with
/// [`Self::call`] as its callback.
#[pin_data(PinnedDrop)]
pub struct Registration<T: Handler> {
    #[pin]
    nb: Opaque<bindings::notifier_block>,
    handler: T,
    registered: bool,
}

// SAFETY: The notifier block is only touched by the notifier core, under its
// own lock; the handler is `Send`.
unsafe impl<T: Handler> Send for Registration<T> {}
// SAFETY: Shared access reaches only `handler`, which is `Sync`.
unsafe impl<T: Handler> Sync for Registration<T> {}

impl<T: Handler> Registration<T> {
    /// Puts `handler` on the notifier, at `priority` where the architecture
    /// has priorities. Events logged from now on reach it; it is removed when
    /// the registration is dropped.
    pub fn register(priority: Priority, handler: T) -> Result<Pin<KBox<Self>>> {
        let mut this = KBox::try_pin_init(
            try_pin_init!(Self {
                nb <- Opaque::ffi_init(|nb: *mut bindings::notifier_block| {
                    // SAFETY: `nb` is valid for writes, and not shared yet.
                    unsafe {
                        nb.write(bindings::notifier_block {
                            notifier_call: Some(Self::call),
                            next: core::ptr::null_mut(),
                            priority: priority.value(),
                        })
                    };
                }),
                handler,
                registered: false,
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: `nb` is initialised and pinned: it stays where it is until
        // `drop` has removed it from the chain.
        to_result(unsafe { (ENTRIES.register)(this.nb.get()) })?;
        // SAFETY: Only a plain field changes; nothing structurally pinned
        // moves. INVARIANT: the block is on the chain now.
        unsafe { this.as_mut().get_unchecked_mut().registered = true };
        Ok(this)
    }

    /// The handler.
    pub fn handler(&self) -> &T {
        &self.handler
    }

    /// # Safety
    ///
    /// Called by the notifier core only, with a block registered by
    /// [`Self::register`] and the architecture's event as `data`.
    unsafe extern "C" fn call(
        nb: *mut bindings::notifier_block,
        _action: c_ulong,
        data: *mut c_void,
    ) -> c_int {
        if data.is_null() {
            return bindings::NOTIFY_DONE as c_int;
        }
        // SAFETY: `nb` is the `nb` field of a registration, which stays
        // alive until it is unregistered (type invariant), and unregistering
        // waits for the calls in progress.
        let this = unsafe { &*crate::container_of!(Opaque::cast_from(nb), Self, nb) };
        // SAFETY: The chain passes its event, valid for the duration of the
        // call and handed to one notifier at a time.
        let event = unsafe { Event::from_raw(data.cast()) };
        this.handler.handle(event).to_notify()
    }
}

#[pinned_drop]
impl<T: Handler> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        if self.registered {
            // SAFETY: The block was registered (type invariant). Removal
            // takes the chain's lock for writing, so no call is running, or
            // starts, once it returns.
            unsafe { (ENTRIES.unregister)(self.nb.get()) };
        }
    }
}

/// The event type of this architecture.
#[cfg(CONFIG_X86_MCE)]
pub type Event = Mce;
/// The event type of this architecture.
#[cfg(all(not(CONFIG_X86_MCE), CONFIG_PPC_BOOK3S_64))]
pub type Event = MachineCheckEvent;

/// # Safety
///
/// `nb` is an initialised block that stays in place, and is not freed,
/// until [`arch_unregister`] has removed it.
#[cfg(CONFIG_X86_MCE)]
unsafe fn arch_register(nb: *mut bindings::notifier_block) -> c_int {
    // SAFETY: As required of the caller: `nb` is initialised and stays put
    // while registered; `Priority` values are in the chain's range.
    unsafe { bindings::mce_register_decode_chain(nb) };
    0
}

/// # Safety
///
/// `nb` was registered by [`arch_register`] and not removed since.
#[cfg(CONFIG_X86_MCE)]
unsafe fn arch_unregister(nb: *mut bindings::notifier_block) {
    // SAFETY: `nb` was registered by `arch_register`.
    unsafe { bindings::mce_unregister_decode_chain(nb) };
}

/// # Safety
///
/// `nb` is an initialised block that stays in place, and is not freed,
/// until [`arch_unregister`] has removed it.
#[cfg(all(not(CONFIG_X86_MCE), CONFIG_PPC_BOOK3S_64))]
unsafe fn arch_register(nb: *mut bindings::notifier_block) -> c_int {
    // SAFETY: As required of the caller: `nb` is initialised and stays put
    // while registered.
    unsafe { bindings::mce_register_notifier(nb) }
}

/// # Safety
///
/// `nb` was registered by [`arch_register`] and not removed since.
#[cfg(all(not(CONFIG_X86_MCE), CONFIG_PPC_BOOK3S_64))]
unsafe fn arch_unregister(nb: *mut bindings::notifier_block) {
    // SAFETY: `nb` was registered by `arch_register`.
    unsafe { bindings::mce_unregister_notifier(nb) };
}

/// An x86 machine-check record (`struct mce`) on the decode chain.
#[cfg(CONFIG_X86_MCE)]
#[repr(transparent)]
pub struct Mce(Opaque<bindings::mce>);

/// Decoders that mark a record handled (`mce->kflags`), so that the
/// default notifier does not report it again.
#[cfg(CONFIG_X86_MCE)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoder {
    /// `MCE_HANDLED_NFIT`: a persistent-memory provider recorded the error.
    Nfit,
}

#[cfg(CONFIG_X86_MCE)]
impl Decoder {
    /// The `kflags` bit (`MCE_HANDLED_*` are `BIT_ULL()` macros, which
    /// bindgen does not expand).
    fn kflag(self) -> u64 {
        match self {
            Decoder::Nfit => 1 << 3,
        }
    }
}

#[cfg(CONFIG_X86_MCE)]
impl Mce {
    /// # Safety
    ///
    /// `ptr` points to a record valid, and changed by no one else, for `'a`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::mce) -> &'a Self {
        // SAFETY: `Mce` is a transparent wrapper of the record; validity as
        // required of the caller.
        unsafe { &*ptr.cast::<Self>() }
    }

    fn raw(&self) -> *mut bindings::mce {
        self.0.get()
    }

    /// The bank's `MCi_STATUS`.
    pub fn status(&self) -> u64 {
        // SAFETY: The record is valid (see `from_raw`).
        unsafe { (*self.raw()).status }
    }

    /// The bank's `MCi_MISC` (for memory errors, the address mode and its
    /// least significant valid bit).
    pub fn misc(&self) -> u64 {
        // SAFETY: As in `status`.
        unsafe { (*self.raw()).misc }
    }

    /// The bank's `MCi_ADDR`: a physical address when
    /// [`Self::usable_address`] says so.
    pub fn addr(&self) -> u64 {
        // SAFETY: As in `status`.
        unsafe { (*self.raw()).addr }
    }

    /// Whether the record is of a memory error (by the vendor's rules).
    pub fn is_memory_error(&self) -> bool {
        // SAFETY: The record is valid; the function only reads it.
        unsafe { bindings::mce_is_memory_error(self.raw()) }
    }

    /// Whether the error was corrected.
    pub fn is_correctable(&self) -> bool {
        // SAFETY: As in `is_memory_error`.
        unsafe { bindings::mce_is_correctable(self.raw()) }
    }

    /// Whether [`Self::addr`] is a physical address at a granularity of at
    /// most a page (by the vendor's rules).
    pub fn usable_address(&self) -> bool {
        // SAFETY: As in `is_memory_error`.
        unsafe { bindings::mce_usable_address(self.raw()) }
    }

    /// Marks the record handled by `decoder`.
    pub fn mark_handled(&self, decoder: Decoder) {
        // SAFETY: The record is valid, and decode-chain notifiers run one at
        // a time, so nothing else reads or writes it meanwhile.
        unsafe { (*self.raw()).kflags |= decoder.kflag() };
    }

    /// Whether `decoder` marked the record handled.
    pub fn handled_by(&self, decoder: Decoder) -> bool {
        // SAFETY: As in `status`.
        unsafe { (*self.raw()).kflags & decoder.kflag() != 0 }
    }
}

/// A powerpc machine-check event (`struct machine_check_event`).
#[cfg(all(not(CONFIG_X86_MCE), CONFIG_PPC_BOOK3S_64))]
#[repr(transparent)]
pub struct MachineCheckEvent(Opaque<bindings::machine_check_event>);

/// Where an uncorrectable memory error was, as the event reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UeAddress {
    /// The effective address of the access (the page offset of the error
    /// is taken from it).
    pub effective: u64,
    /// The physical address of the page.
    pub physical_page: u64,
}

#[cfg(all(not(CONFIG_X86_MCE), CONFIG_PPC_BOOK3S_64))]
impl MachineCheckEvent {
    /// # Safety
    ///
    /// `ptr` points to an event valid, and changed by no one else, for `'a`.
    #[inline]
    unsafe fn from_raw<'a>(ptr: *mut bindings::machine_check_event) -> &'a Self {
        // SAFETY: `MachineCheckEvent` is a transparent wrapper of the event;
        // validity as required of the caller.
        unsafe { &*ptr.cast::<Self>() }
    }

    #[inline]
    fn raw(&self) -> *mut bindings::machine_check_event {
        self.0.get()
    }

    /// Whether the event is an uncorrectable memory error
    /// (`MCE_ERROR_TYPE_UE`).
    #[inline]
    pub fn is_ue(&self) -> bool {
        // SAFETY: The event is valid (see `from_raw`).
        let kind = unsafe { (*self.raw()).error_type() };
        kind == bindings::MCE_ErrorType_MCE_ERROR_TYPE_UE
    }

    /// The addresses of an uncorrectable memory error whose physical address
    /// the hardware provided; `None` for other events.
    #[inline]
    pub fn ue_address(&self) -> Option<UeAddress> {
        if !self.is_ue() {
            return None;
        }
        // SAFETY: The event is valid, and its union holds `ue_error` for a
        // UE (checked above).
        let ue = unsafe { &(*self.raw()).u.ue_error };
        (ue.physical_address_provided != 0).then_some(UeAddress {
            effective: ue.effective_address,
            physical_page: ue.physical_address,
        })
    }
}

/// Whether the page frame `pfn` has a `struct page` of device memory
/// (`ZONE_DEVICE`: a namespace of a persistent-memory region mapped with
/// `memmap=dev`, say). Frames without a memory map are not.
#[cfg(all(not(CONFIG_X86_MCE), CONFIG_PPC_BOOK3S_64))]
#[inline]
pub fn is_device_memory_pfn(pfn: u64) -> bool {
    (ENTRIES.is_device_memory_pfn)(pfn)
}

/// The body of [`is_device_memory_pfn`].
#[cfg(all(not(CONFIG_X86_MCE), CONFIG_PPC_BOOK3S_64))]
fn is_device_memory_pfn_body(pfn: u64) -> bool {
    // SAFETY: The helper checks that the frame has a memory map before it
    // looks at its page.
    unsafe { bindings::pfn_is_zone_device(pfn as c_ulong) }
}

/// The functions above that the code instantiated in a module reaches:
/// through this table, as `kernel::nvdimm`'s `Entries` explains (calls
/// through it cost the powerpc64 module loader no instruction words).
struct Entries {
    register: unsafe fn(*mut bindings::notifier_block) -> c_int,
    unregister: unsafe fn(*mut bindings::notifier_block),
    #[cfg(all(not(CONFIG_X86_MCE), CONFIG_PPC_BOOK3S_64))]
    is_device_memory_pfn: fn(u64) -> bool,
}

/// See [`Entries`].
static ENTRIES: Entries = Entries {
    register: arch_register,
    unregister: arch_unregister,
    #[cfg(all(not(CONFIG_X86_MCE), CONFIG_PPC_BOOK3S_64))]
    is_device_memory_pfn: is_device_memory_pfn_body,
};

#[cfg(all(CONFIG_KUNIT, CONFIG_RUST_LIBNVDIMM_KUNIT_TEST))]
#[macros::kunit_tests(rust_mce)]
mod tests {
    use super::*;
    use core::sync::atomic::{AtomicU32, Ordering};

    struct Counter(AtomicU32);

    impl Handler for Counter {
        fn handle(&self, _event: &Event) -> Outcome {
            self.0.fetch_add(1, Ordering::Relaxed);
            Outcome::Done
        }
    }

    #[test]
    fn register_and_drop() -> Result {
        // Registers on the architecture's chain and leaves it again; no
        // event is raised, so the handler is not called.
        let reg = Registration::register(Priority::Nfit, Counter(AtomicU32::new(0)))?;
        assert_eq!(reg.handler().0.load(Ordering::Relaxed), 0);
        drop(reg);
        Ok(())
    }

    #[test]
    fn outcome_values() {
        assert_eq!(Outcome::Done.to_notify(), 0);
        assert_eq!(Outcome::Handled.to_notify(), 1);
    }

    /// An Intel memory-scrub error (action optional) at a 64-byte granule.
    #[cfg(CONFIG_X86_MCE)]
    #[test]
    fn intel_scrub_error() {
        // SAFETY: `struct mce` is plain data; all zeroes is a valid record.
        let mut m: bindings::mce = unsafe { core::mem::zeroed() };
        // VAL, UC, EN, MISCV, ADDRV, S; MCACOD 0xc0 (memory scrubbing).
        m.status = 0xbd00_0000_0000_00c0;
        // Physical address mode (2), least significant valid bit 6.
        m.misc = 2 << 6 | 6;
        m.addr = 0x1_4000_1040;
        m.cpuvendor = bindings::X86_VENDOR_INTEL as u8;
        // SAFETY: `m` is valid and not otherwise used while `e` lives.
        let e = unsafe { Mce::from_raw(&mut m) };
        assert!(e.is_memory_error());
        assert!(!e.is_correctable());
        assert!(e.usable_address());
        assert_eq!(e.addr(), 0x1_4000_1040);
        assert_eq!(e.misc() & 0x3f, 6);
        assert!(!e.handled_by(Decoder::Nfit));
        e.mark_handled(Decoder::Nfit);
        assert!(e.handled_by(Decoder::Nfit));
        assert_eq!(m.kflags, 1 << 3);

        // Corrected, and without a valid address: not for a provider.
        m.status &= !(1 << 61 | 1 << 58);
        // SAFETY: As above.
        let e = unsafe { Mce::from_raw(&mut m) };
        assert!(e.is_correctable());
        assert!(!e.usable_address());
    }

    #[cfg(all(not(CONFIG_X86_MCE), CONFIG_PPC_BOOK3S_64))]
    #[test]
    fn powerpc_ue() -> Result {
        // SAFETY: The event is plain data; all zeroes is a valid event.
        let mut evt: bindings::machine_check_event = unsafe { core::mem::zeroed() };
        evt.set_error_type(bindings::MCE_ErrorType_MCE_ERROR_TYPE_UE);
        evt.u.ue_error.effective_address_provided = 1;
        evt.u.ue_error.effective_address = 0xc000_0000_1234_5678;
        // SAFETY: `evt` is valid and not otherwise used while `e` lives.
        let e = unsafe { MachineCheckEvent::from_raw(&mut evt) };
        assert!(e.is_ue());
        assert_eq!(e.ue_address(), None);
        evt.u.ue_error.physical_address_provided = 1;
        evt.u.ue_error.physical_address = 0x4_0001_0000;
        // SAFETY: As above.
        let e = unsafe { MachineCheckEvent::from_raw(&mut evt) };
        assert_eq!(
            e.ue_address(),
            Some(UeAddress {
                effective: 0xc000_0000_1234_5678,
                physical_page: 0x4_0001_0000,
            })
        );
        evt.set_error_type(bindings::MCE_ErrorType_MCE_ERROR_TYPE_SLB);
        // SAFETY: As above.
        let e = unsafe { MachineCheckEvent::from_raw(&mut evt) };
        assert!(!e.is_ue());
        assert_eq!(e.ue_address(), None);
        // Kernel memory (the linear map) is not device memory.
        let own = KBox::new(0u64, GFP_KERNEL)?;
        let at = core::ptr::from_ref::<u64>(&own).cast_mut().cast::<c_void>();
        // SAFETY: `at` is a kmalloc'ed address, in the linear map.
        let phys = unsafe { bindings::virt_to_phys(at) };
        assert!(!is_device_memory_pfn(phys >> bindings::PAGE_SHIFT));
        Ok(())
    }
}
