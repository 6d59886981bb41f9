// SPDX-License-Identifier: GPL-2.0

//! Machine checks that consumed poison in a persistent-memory range of the
//! bus, as C's `nfit/mce.c`: the error's granule becomes a bad range of the
//! bus, the region revalidates its poison, and with `nfit/hw_error_scrub`
//! on the platform is asked for its scrub records.
//!
//! C keeps one notifier for all buses and walks a global list of them under
//! a mutex; here every bound root device has its own notifier, registered
//! once its bus is up (or, without an NFIT at probe, before there is a bus:
//! it finds no range until a `_FIT` notification brings one) and removed
//! (waiting for a call in progress) before the bus goes, so a bind or
//! unbind racing with a machine check needs no list at all. The ranges are
//! disjoint, so at most one bus takes an error, as with C's walk.

use super::NfitRoot;
use kernel::{acpi::node::Notifier, prelude::*};

/// The root device's state, watched for machine checks while it exists.
#[cfg(CONFIG_X86_MCE)]
pub(crate) type Watched<'bound> = Pin<KBox<kernel::mce::Registration<Watch<'bound>>>>;
/// The root device's state (no machine checks to watch for).
#[cfg(not(CONFIG_X86_MCE))]
pub(crate) type Watched<'bound> = Pin<KBox<Notifier<NfitRoot<'bound>>>>;

/// Watches for machine checks in the ranges of `platform`'s bus from now on
/// (none while it has no bus). The notifier goes first when the result is
/// dropped, then the platform.
#[cfg(CONFIG_X86_MCE)]
pub(crate) fn watch(platform: Pin<KBox<Notifier<NfitRoot<'_>>>>) -> Result<Watched<'_>> {
    kernel::mce::Registration::register(kernel::mce::Priority::Nfit, Watch { platform })
}

/// Keeps `platform` (no machine checks to watch for).
#[cfg(not(CONFIG_X86_MCE))]
pub(crate) fn watch(platform: Pin<KBox<Notifier<NfitRoot<'_>>>>) -> Result<Watched<'_>> {
    Ok(platform)
}

/// The decode-chain handler of one bus.
#[cfg(CONFIG_X86_MCE)]
pub(crate) struct Watch<'bound> {
    platform: Pin<KBox<Notifier<NfitRoot<'bound>>>>,
}

#[cfg(CONFIG_X86_MCE)]
impl kernel::mce::Handler for Watch<'_> {
    fn handle(&self, m: &kernel::mce::Mce) -> kernel::mce::Outcome {
        use super::{poison, Scrub};
        use core::sync::atomic::Ordering;
        use kernel::{mce, nvdimm::RegionEvent};

        // Uncorrected memory errors with a physical address only, as C.
        if !m.is_memory_error() || m.is_correctable() || !m.usable_address() {
            return mce::Outcome::Done;
        }
        let Some(p) = self.platform.handler().platform.as_ref() else {
            return mce::Outcome::Done;
        };
        let nfit_bus = p.bus.provider();
        let addr = m.addr();
        let Some(region) = poison::covering(nfit_bus.ranges.lock().iter().copied(), addr) else {
            return mce::Outcome::Done;
        };
        let (start, len) = poison::badrange(addr, m.misc());
        dev_dbg!(
            p.dev,
            "machine check at {addr:#x}: bad range {start:#x}+{len:#x}\n"
        );
        // As C: a failure (ENOMEM) leaves nothing better to do than to
        // revalidate what the bus has.
        if let Err(e) = p.bus.add_badrange(start, len) {
            dev_err!(p.dev, "bad range {start:#x}+{len:#x} not recorded: {e:?}\n");
        }
        let _ = p.bus.notify_region(region, RegionEvent::RevalidatePoison);
        // As C (`acpi_nfit_ars_rescan(acpi_desc, ARS_REQ_SHORT)`): the
        // records the platform has, not a new scan of the media.
        if nfit_bus.hw_error_scrub.load(Ordering::Relaxed) && nfit_bus.ars_supported() {
            let _ = nfit_bus.scrubber.rescan(Scrub::Short);
        }
        m.mark_handled(mce::Decoder::Nfit);
        mce::Outcome::Done
    }
}
