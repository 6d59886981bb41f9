// SPDX-License-Identifier: GPL-2.0

//! Rust nvdimm bus provider sample.
//!
//! Registers a bus with one DIMM and one persistent-memory region over a
//! physical range that the administrator set aside, for example with
//! `mem=1G` (or `memmap=512M!1G` where no e820 pmem driver takes it) on the
//! kernel command line and then
//! `modprobe rust_nvdimm phys_addr=0x40000000 size=0x20000000`. The DIMM's
//! label area lives in memory, so namespaces last until the module is
//! removed; the data in the range stays.
//!
//! `poison=OFFSET` reports the 4 KiB at that offset of the range as bad
//! media, which namespaces then show as badblocks. `async_flush=1` makes the
//! region asynchronous (`ND_REGION_ASYNC`): flushes then reach
//! `Provider::flush`. The DIMM publishes
//! `nmemN/rust_sample/{label_reads,label_writes,poisoned,flushes}`;
//! `poisoned` exists only when a poisoned range was given.

use core::{
    fmt::Write,
    sync::atomic::{AtomicU64, Ordering},
};
use kernel::{
    bindings,
    device::Bound,
    faux,
    nvdimm::{
        fletcher64, AttributeOutput, Bus, BusOptions, DimmOptions, InterleaveSet, LabelArea,
        Mapping, NoAttributes, Provider, RegionEvent, RegionKind, RegionOptions,
    },
    prelude::*,
    sync::Mutex,
};

module! {
    type: RustNvdimm,
    name: "rust_nvdimm",
    authors: ["nvdimm-rs developers"],
    description: "Rust nvdimm bus provider sample",
    license: "GPL",
    params: {
        phys_addr: u64 {
            default: 0,
            description: "Physical address of the range to serve (reserved, not system RAM)",
        },
        size: u64 {
            default: 0,
            description: "Size of the range in bytes (a multiple of 16 MiB)",
        },
        poison: u64 {
            default: 0,
            description: "Offset of a 4 KiB range to report as bad media (0: none)",
        },
        async_flush: bool {
            default: false,
            description: "Make the region asynchronous: flushes go through the provider",
        },
    },
}

/// Size of the in-memory label area: 128 KiB, QEMU's minimum too.
const LABEL_AREA_SIZE: u32 = 128 << 10;
/// Namespaces are aligned to 16 MiB within a region.
const REGION_ALIGN: u64 = 16 << 20;
/// Size of the reported bad range.
const POISON_LEN: u64 = 4096;

/// The DIMM's label area, held in memory.
#[pin_data]
struct LabelStore {
    #[pin]
    bytes: Mutex<KVVec<u8>>,
    reads: AtomicU64,
    writes: AtomicU64,
}

impl LabelStore {
    fn new() -> Result<impl PinInit<Self>> {
        let bytes = KVVec::from_elem(0u8, LABEL_AREA_SIZE as usize, GFP_KERNEL)?;
        Ok(pin_init!(Self {
            bytes <- kernel::new_mutex!(bytes),
            reads: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        }))
    }
}

struct SampleBus {
    /// Physical address of the bad range, if one was given.
    poison: Option<u64>,
    /// Flushes requested by the core (asynchronous region only).
    flushes: AtomicU64,
}

kernel::nvdimm_attributes! {
    /// The `rust_sample/*` DIMM attributes.
    enum SampleAttr in c"rust_sample" {
        /// Label reads served.
        LabelReads = c"label_reads",
        /// Label writes served.
        LabelWrites = c"label_writes",
        /// The bad range, when one was given.
        Poisoned = c"poisoned",
        /// Flushes of the asynchronous region.
        Flushes = c"flushes",
    }
}

#[vtable]
impl Provider for SampleBus {
    type Dimm = LabelStore;
    type Region = ();

    type BusAttribute = NoAttributes;
    type DimmAttribute = SampleAttr;
    type RegionAttribute = NoAttributes;

    fn show_dimm_attribute(
        &self,
        dimm: &LabelStore,
        attr: SampleAttr,
        out: &mut AttributeOutput<'_>,
    ) -> Result {
        match attr {
            SampleAttr::LabelReads => writeln!(out, "{}", dimm.reads.load(Ordering::Relaxed)),
            SampleAttr::LabelWrites => writeln!(out, "{}", dimm.writes.load(Ordering::Relaxed)),
            SampleAttr::Poisoned => writeln!(out, "{:#x} {POISON_LEN}", self.poison.unwrap_or(0)),
            SampleAttr::Flushes => writeln!(out, "{}", self.flushes.load(Ordering::Relaxed)),
        }
        .map_err(|_| EOVERFLOW)
    }

    fn dimm_attribute_visible(&self, _dimm: &LabelStore, attr: SampleAttr) -> bool {
        attr != SampleAttr::Poisoned || self.poison.is_some()
    }

    fn read_labels(&self, dimm: &LabelStore, offset: u32, out: &mut [u8]) -> Result {
        let bytes = dimm.bytes.lock();
        let start = offset as usize;
        let src = bytes.get(start..start + out.len()).ok_or(EINVAL)?;
        out.copy_from_slice(src);
        dimm.reads.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn write_labels(&self, dimm: &LabelStore, offset: u32, data: &[u8]) -> Result {
        let mut bytes = dimm.bytes.lock();
        let start = offset as usize;
        let dst = bytes.get_mut(start..start + data.len()).ok_or(EINVAL)?;
        dst.copy_from_slice(data);
        dimm.writes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn flush(&self, _region: &()) -> Result {
        // The range is ordinary memory: the CPU's stores are already where a
        // reader finds them. Count the call so tests can see the path.
        self.flushes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// Dropped in field order: the bus, then the device it belongs to.
struct RustNvdimm {
    _bus: Pin<KBox<Bus<SampleBus>>>,
    _owner: faux::Registration,
}

/// Checks the range the parameters name: aligned and non-empty.
fn check_range(start: u64, size: u64) -> Result {
    if size == 0 || start % REGION_ALIGN != 0 || size % REGION_ALIGN != 0 {
        pr_err!("phys_addr={start:#x} size={size:#x}: both must be non-zero multiples of 16 MiB\n");
        return Err(EINVAL);
    }
    if start.checked_add(size).is_none() {
        pr_err!("phys_addr={start:#x} size={size:#x}: range overflows\n");
        return Err(EINVAL);
    }
    // Whether the range is free memory (not system RAM) is the
    // abstraction's to check: `add_region` refuses system RAM with `EBUSY`.
    Ok(())
}

impl kernel::Module for RustNvdimm {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let start = module_parameters::phys_addr.value();
        let size = module_parameters::size.value();
        check_range(start, size)?;
        let poison = match module_parameters::poison.value() {
            0 => None,
            off if off % POISON_LEN == 0 && off < size => Some(start + off),
            off => {
                pr_err!("poison={off:#x}: not a 4 KiB aligned offset within the range\n");
                return Err(EINVAL);
            }
        };

        // A module has no device of its own: a faux device owns the bus.
        let owner = faux::Registration::new(c"rust_nvdimm", None)?;
        let owner_dev: &faux::Device<Bound> = owner.as_ref();
        let bus = Bus::register(
            module,
            owner_dev.as_ref(),
            None,
            &BusOptions {
                provider_name: c"rust_nvdimm",
                of_node: None,
                dimm_families: &[],
                bus_commands: kernel::nvdimm::BusCommands::empty(),
                bus_families: kernel::nvdimm::BusFamilies::empty(),
            },
            SampleBus {
                poison,
                flushes: AtomicU64::new(0),
            },
        )?;
        if let Some(addr) = poison {
            // Known before the region probes, so its namespaces see it.
            bus.add_badrange(addr, POISON_LEN)?;
        }
        let dimm = bus.add_dimm(
            LabelStore::new()?,
            &DimmOptions {
                label_area: Some(LabelArea {
                    size: LABEL_AREA_SIZE,
                    max_xfer: 4096,
                }),
                labeling: true,
                ..DimmOptions::default()
            },
        )?;
        // The cookie ties labels to this range: labels are only valid for a
        // region at the same address with the same size.
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&start.to_le_bytes());
        id[8..].copy_from_slice(&size.to_le_bytes());
        let cookie = fletcher64(&id, true);
        let region = bus
            .add_region(
                (),
                &RegionOptions {
                    kind: RegionKind::Pmem,
                    start,
                    size,
                    mappings: &[Mapping {
                        dimm,
                        start: 0,
                        size,
                        position: 0,
                    }],
                    numa_node: bindings::NUMA_NO_NODE,
                    target_node: bindings::NUMA_NO_NODE,
                    interleave_set: Some(InterleaveSet {
                        cookie1: cookie,
                        cookie2: cookie,
                        altcookie: cookie,
                        ..InterleaveSet::default()
                    }),
                    persistence: None,
                    async_flush: module_parameters::async_flush.value(),
                    of_node: None,
                    pagemap: true,
                },
            )
            .inspect_err(|e| {
                if *e == EBUSY {
                    pr_err!(
                        "{start:#x}+{size:#x} overlaps system RAM or memory in use: \
                         set it aside first (mem= or memmap=nn!ss)\n"
                    );
                }
            })?;
        if poison.is_some() {
            // Namespaces that already exist re-read their badblocks.
            bus.notify_region(region, RegionEvent::RevalidatePoison)?;
        }
        pr_info!("serving {start:#x}+{size:#x} with a {LABEL_AREA_SIZE}-byte label area\n");
        Ok(Self {
            _bus: bus,
            _owner: owner,
        })
    }
}
