// SPDX-License-Identifier: GPL-2.0

//! Rust nvdimm bus provider sample.
//!
//! Registers a bus with one DIMM and one persistent-memory region over a
//! physical range that the administrator set aside, for example with
//! `memmap=512M$1G` on the kernel command line and then
//! `modprobe rust_nvdimm phys_addr=0x40000000 size=0x20000000`. The DIMM's
//! label area lives in memory, so namespaces last until the module is
//! removed; the data in the range stays.

use kernel::{
    bindings,
    nvdimm::{
        fletcher64, Bus, BusOptions, DimmOptions, InterleaveSet, LabelArea, Mapping, Provider,
        RegionKind, RegionOptions,
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
    },
}

/// Size of the in-memory label area: 128 KiB, QEMU's minimum too.
const LABEL_AREA_SIZE: u32 = 128 << 10;
/// Namespaces are aligned to 16 MiB within a region.
const REGION_ALIGN: u64 = 16 << 20;

/// The DIMM's label area, held in memory.
#[pin_data]
struct LabelStore {
    #[pin]
    bytes: Mutex<KVVec<u8>>,
}

impl LabelStore {
    fn new() -> Result<impl PinInit<Self>> {
        let bytes = KVVec::from_elem(0u8, LABEL_AREA_SIZE as usize, GFP_KERNEL)?;
        Ok(pin_init!(Self {
            bytes <- kernel::new_mutex!(bytes),
        }))
    }
}

struct SampleBus;

#[vtable]
impl Provider for SampleBus {
    type Dimm = LabelStore;
    type Region = ();

    fn read_labels(&self, dimm: &LabelStore, offset: u32, out: &mut [u8]) -> Result {
        let bytes = dimm.bytes.lock();
        let start = offset as usize;
        let src = bytes.get(start..start + out.len()).ok_or(EINVAL)?;
        out.copy_from_slice(src);
        Ok(())
    }

    fn write_labels(&self, dimm: &LabelStore, offset: u32, data: &[u8]) -> Result {
        let mut bytes = dimm.bytes.lock();
        let start = offset as usize;
        let dst = bytes.get_mut(start..start + data.len()).ok_or(EINVAL)?;
        dst.copy_from_slice(data);
        Ok(())
    }
}

struct RustNvdimm {
    _bus: Pin<KBox<Bus<SampleBus>>>,
}

/// Checks the range the parameters name: aligned, non-empty, and not memory
/// the kernel already uses.
fn check_range(start: u64, size: u64) -> Result {
    if size == 0 || start % REGION_ALIGN != 0 || size % REGION_ALIGN != 0 {
        pr_err!("phys_addr={start:#x} size={size:#x}: both must be non-zero multiples of 16 MiB\n");
        return Err(EINVAL);
    }
    if start.checked_add(size).is_none() {
        pr_err!("phys_addr={start:#x} size={size:#x}: range overflows\n");
        return Err(EINVAL);
    }
    // SAFETY: `region_intersects` only reads the resource tree.
    let overlap = unsafe {
        bindings::region_intersects(
            start,
            size as usize,
            bindings::IORESOURCE_SYSTEM_RAM as c_ulong,
            bindings::IORES_DESC_NONE as c_ulong,
        )
    };
    if overlap != bindings::REGION_DISJOINT as i32 {
        pr_err!("{start:#x}+{size:#x} overlaps system RAM: reserve it first (memmap=)\n");
        return Err(EBUSY);
    }
    Ok(())
}

impl kernel::Module for RustNvdimm {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let start = module_parameters::phys_addr.value();
        let size = module_parameters::size.value();
        check_range(start, size)?;

        let bus = Bus::register(
            module,
            None,
            &BusOptions {
                provider_name: c"rust_nvdimm",
                dimm_families: &[],
            },
            SampleBus,
        )?;
        let dimm = bus.add_dimm(
            LabelStore::new()?,
            &DimmOptions {
                label_area: Some(LabelArea {
                    size: LABEL_AREA_SIZE,
                    max_xfer: 4096,
                }),
                ..DimmOptions::default()
            },
        )?;
        // The cookie ties labels to this range: labels are only valid for a
        // region at the same address with the same size.
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&start.to_le_bytes());
        id[8..].copy_from_slice(&size.to_le_bytes());
        let cookie = fletcher64(&id, true);
        bus.add_region(
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
                async_flush: false,
                pagemap: true,
            },
        )?;
        pr_info!("serving {start:#x}+{size:#x} with a {LABEL_AREA_SIZE}-byte label area\n");
        Ok(Self { _bus: bus })
    }
}
