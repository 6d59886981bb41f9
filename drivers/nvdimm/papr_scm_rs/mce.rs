// SPDX-License-Identifier: GPL-2.0

//! Uncorrectable memory errors (UE machine checks) in the bound range, as
//! C's `handle_mce_ue()`: the error's cache line becomes a bad range of the
//! bus and the region revalidates its poison (`ndctl list --media-errors`).
//!
//! C keeps one notifier for all DIMMs and walks a global list of them under
//! a mutex; here every DIMM has its own notifier, registered once its
//! region is up and removed (waiting for a call in progress) before its bus
//! goes, so a bind or unbind racing with a machine check needs no list.

use super::{poison, Scm};
use kernel::{
    mce::{self, MachineCheckEvent, Outcome},
    nvdimm::{Bus, RegionEvent, RegionId},
    page::{PAGE_SHIFT, PAGE_SIZE},
    prelude::*,
};

/// The bus of one DIMM, watched for UEs in its region while it exists.
pub(crate) type Watched = Pin<KBox<mce::Registration<Watch>>>;

/// Watches for UEs in the region `region` (`size` bytes at `start`) of
/// `bus` from now on. The notifier goes first when the result is dropped,
/// then the bus.
pub(crate) fn watch(
    bus: Pin<KBox<Bus<Scm>>>,
    region: RegionId,
    start: u64,
    size: u64,
) -> Result<Watched> {
    mce::Registration::register(
        mce::Priority::Lowest,
        Watch {
            bus,
            region,
            start,
            size,
        },
    )
}

/// The notifier of one DIMM.
pub(crate) struct Watch {
    bus: Pin<KBox<Bus<Scm>>>,
    region: RegionId,
    start: u64,
    size: u64,
}

impl mce::Handler for Watch {
    fn handle(&self, evt: &MachineCheckEvent) -> Outcome {
        let Some(ue) = evt.ue_address() else {
            return Outcome::Done;
        };
        let addr = poison::error_address(ue.physical_page, ue.effective, PAGE_SIZE as u64);
        // As C: only errors in pages with a memory map of device memory
        // (namespaces in fsdax or devdax mode).
        if !mce::is_device_memory_pfn(addr >> PAGE_SHIFT)
            || !poison::in_region(self.start, self.size, addr)
        {
            return Outcome::Done;
        }
        let (start, len) = poison::badrange(addr, mce::L1_CACHE_BYTES);
        if self.bus.add_badrange(start, len).is_err() {
            pr_err!("Bad block registration for {addr:#x} failed\n");
            return Outcome::Handled;
        }
        pr_debug!(
            "Add memory range ({start:#x} - {:#x}) as bad range\n",
            start + len
        );
        let _ = self
            .bus
            .notify_region(self.region, RegionEvent::RevalidatePoison);
        Outcome::Handled
    }
}
