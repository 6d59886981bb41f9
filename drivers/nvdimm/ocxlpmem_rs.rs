// SPDX-License-Identifier: GPL-2.0

//! Rust driver for OpenCAPI persistent memory cards (IBM 0x1014:0x0625).
//!
//! The card's controller is driven through its global MMIO registers and
//! admin command mailbox (`ocxlpmem_rs/*.rs`, `core`-only and shared with
//! the host crate `tools/ocxlpmem` and the test VMM's card model). Its
//! memory becomes an nvdimm bus with one DIMM, whose namespace labels live
//! at the start of the first memory section (v4 carves that section out
//! for metadata), and one pmem region over the rest.
//!
//! This module binds the test VMM's attachment of the card (see
//! `ocxlpmem_rs/attach.rs`): an `ivshmem-doorbell` PCI device whose shared
//! memory is the register file, and the card memory at a guest-physical
//! range the attachment's descriptor names. The ocxl attachment (POWER
//! hosts with the card) needs the same protocol over the AFU's MMIO.

use kernel::{
    bindings,
    device::Core,
    io::Io,
    nvdimm::{
        self, AttributeGroup, AttributeOutput, Bus, BusOptions, DeviceMemory, DimmOptions,
        LabelArea, Mapping, Persistence, Provider, RegionKind, RegionOptions,
    },
    pci,
    prelude::*,
    time::{delay::fsleep, Delta},
};

// The `core`-only protocol, shared with `tools/ocxlpmem` (which tests and
// fuzzes it) and the test VMM's card model. The files name each other as
// `super::regs`, ...: they are siblings here too.
#[path = "ocxlpmem_rs/admin.rs"]
#[allow(dead_code, unreachable_pub)]
mod admin;
#[path = "ocxlpmem_rs/attach.rs"]
#[allow(dead_code, unreachable_pub)]
mod attach;
#[path = "ocxlpmem_rs/commands.rs"]
#[allow(dead_code, unreachable_pub)]
mod commands;
#[path = "ocxlpmem_rs/data.rs"]
#[allow(dead_code, unreachable_pub)]
mod data;
#[path = "ocxlpmem_rs/error.rs"]
#[allow(dead_code, unreachable_pub)]
mod error;
#[path = "ocxlpmem_rs/regs.rs"]
#[allow(dead_code, unreachable_pub)]
mod regs;
#[path = "ocxlpmem_rs/uapi.rs"]
#[allow(dead_code, unreachable_pub)]
mod uapi;

/// Bytes of the label area: the start of the metadata section (the rest
/// of it stays reserved). A whole section would make the core read and
/// keep 128 MiB of labels (x86) at every probe.
const LABEL_AREA_SIZE: u32 = 128 << 10;
/// The guest's memory section size.
const SECTION: u64 = 1 << bindings::SECTION_SIZE_BITS;

type RegBar<'a> = pci::Bar<'a, { attach::REGISTER_BYTES }>;
type BellBar<'a> = pci::Bar<'a, 16>;

/// The register file as the protocol sees it: BAR2 of the attachment, and
/// its doorbell (BAR0) rung after every control-register write.
struct Window<'a> {
    regs: &'a RegBar<'a>,
    bell: &'a BellBar<'a>,
    doorbell: u32,
}

impl regs::Mmio for Window<'_> {
    fn size(&self) -> usize {
        attach::REGISTER_BYTES
    }

    fn read_u64(&self, offset: usize) -> u64 {
        // The protocol checks every offset before it gets here; a failed
        // access reads as a dead device would.
        self.regs.try_read64(offset).unwrap_or(u64::MAX)
    }

    fn write_u64(&mut self, offset: usize, value: u64) {
        let _ = self.regs.try_write64(value, offset);
    }

    fn doorbell(&mut self) {
        let _ = self
            .bell
            .try_write32(self.doorbell, attach::IVSHMEM_DOORBELL);
    }
}

/// Sleeping between polls.
struct Sleeper;

impl admin::Sleep for Sleeper {
    fn sleep_ms(&mut self, ms: u32) {
        fsleep(Delta::from_millis(i64::from(ms)));
    }
}

/// A protocol error printed through the kernel's formatting.
struct ProtocolError(error::Error);

impl kernel::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        core::fmt::Display::fmt(&self.0, f)
    }
}

fn errno(e: error::Error) -> Error {
    Error::from_errno(e.errno())
}

/// The card as the nvdimm bus's DIMM.
struct Card {
    labels: DeviceMemory,
    caps: regs::Capabilities,
}

/// The `ocxlpmem/*` DIMM attributes.
const ATTRS: &[&CStr] = &[c"fw_version"];

struct CardBus;

#[vtable]
impl Provider for CardBus {
    type Dimm = Card;
    type Region = ();

    const DIMM_ATTRIBUTES: Option<AttributeGroup> = Some(AttributeGroup {
        name: c"ocxlpmem",
        attributes: ATTRS,
        admin_only: 0,
        writable: 0,
    });

    fn read_labels(&self, card: &Card, offset: u32, out: &mut [u8]) -> Result {
        card.labels.read(offset as usize, out)
    }

    fn write_labels(&self, card: &Card, offset: u32, data: &[u8]) -> Result {
        card.labels.write(offset as usize, data)
    }

    fn show_dimm_attribute(
        &self,
        card: &Card,
        index: usize,
        out: &mut AttributeOutput<'_>,
    ) -> Result {
        use core::fmt::Write;
        let r = match index {
            0 => writeln!(out, "{}", card.caps.fw_version_text().ok_or(EIO)?),
            _ => return Err(ENXIO),
        };
        r.map_err(|_| EOVERFLOW)
    }
}

/// What a bound card keeps.
struct Bound {
    /// Unregistered first (declared first): its regions use the memory.
    _bus: Pin<KBox<Bus<CardBus>>>,
}

struct OcxlPmemDriver;

kernel::pci_device_table!(
    PCI_TABLE,
    <OcxlPmemDriver as pci::Driver>::IdInfo,
    // ivshmem is 0x1af4 (Qumranet, now Red Hat's virtio vendor id), not
    // Red Hat's own 0x1b36.
    [(
        pci::DeviceId::from_id(pci::Vendor::REDHAT_QUMRANET, 0x1110),
        ()
    )]
);

impl OcxlPmemDriver {
    fn bind(pdev: &pci::Device<Core<'_>>) -> Result<Bound> {
        pdev.enable_device_mem()?;
        let bell = pdev.iomap_region_sized::<16>(0, c"ocxlpmem_rs")?;
        let regs_bar = pdev.iomap_region_sized::<{ attach::REGISTER_BYTES }>(2, c"ocxlpmem_rs")?;
        let mut w = Window {
            regs: &regs_bar,
            bell: &bell,
            doorbell: 0,
        };
        // Another ivshmem device (the test VMM's _DSM mailbox) carries no
        // descriptor: not ours, quietly.
        let desc = attach::Descriptor::read(&w, SECTION)
            .map_err(|e| {
                dev_err!(pdev, "bad attachment descriptor: {}\n", ProtocolError(e));
                EINVAL
            })?
            .ok_or(ENODEV)?;
        w.doorbell = desc.doorbell;
        let fail = |what: &str, e: error::Error| {
            dev_err!(pdev, "{what}: {}\n", ProtocolError(e));
            errno(e)
        };
        let caps = regs::Capabilities::read(&w).map_err(|e| fail("capabilities", e))?;
        commands::wait_ready(&w, &caps, &mut Sleeper).map_err(|e| fail("controller", e))?;
        let mut mailbox = admin::AdminMailbox::probe(&w).map_err(|e| fail("admin area", e))?;
        commands::heartbeat(&mut w, &mut mailbox, &mut Sleeper)
            .map_err(|e| fail("card does not answer", e))?;

        let (meta_start, _) = desc.metadata(SECTION);
        let (pmem_start, pmem_size) = desc.pmem(SECTION);
        // SAFETY: The metadata section is the card's memory (the
        // descriptor names it), outside system RAM (the attachment keeps
        // it offline), and outside the region, which starts a section later.
        let labels = unsafe { DeviceMemory::map(meta_start, LABEL_AREA_SIZE as usize)? };

        let bus = Bus::register(
            kernel::module::this_module::<LocalModule>(),
            Some(pdev.as_ref()),
            &BusOptions {
                provider_name: c"ocxlpmem",
                of_node: None,
                dimm_families: &[],
                bus_commands: 0,
                bus_families: 0,
            },
            CardBus,
        )?;
        let dimm = bus.add_dimm(
            Card { labels, caps },
            &DimmOptions {
                label_area: Some(LabelArea {
                    size: LABEL_AREA_SIZE,
                    max_xfer: LABEL_AREA_SIZE,
                }),
                // A card's labels are its own: as papr_scm, labelled from
                // the start.
                labeling: true,
                unarmed: false,
                call: false,
                flush_hints: &[],
            },
        )?;
        // The cookie ties labels to the card and range.
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&pmem_start.to_le_bytes());
        id[8..].copy_from_slice(&pmem_size.to_le_bytes());
        let cookie = nvdimm::fletcher64(&id, true);
        let node = pdev.as_ref().numa_node().unwrap_or(bindings::NUMA_NO_NODE);
        bus.add_region(
            (),
            &RegionOptions {
                kind: RegionKind::Pmem,
                start: pmem_start,
                size: pmem_size,
                mappings: &[Mapping {
                    dimm,
                    start: 0,
                    size: pmem_size,
                    position: 0,
                }],
                numa_node: node,
                target_node: node,
                interleave_set: Some(nvdimm::InterleaveSet {
                    cookie1: cookie,
                    cookie2: cookie,
                    altcookie: cookie,
                    ..Default::default()
                }),
                persistence: Some(Persistence::MemoryController),
                async_flush: false,
                pagemap: true,
                of_node: None,
                claim_iomem: true,
            },
        )?;
        dev_info!(
            pdev,
            "OpenCAPI persistent memory card: firmware {}, {} MiB\n",
            caps.fw_version_text().unwrap_or("?"),
            pmem_size >> 20
        );
        Ok(Bound { _bus: bus })
    }
}

impl pci::Driver for OcxlPmemDriver {
    type IdInfo = ();
    type Data<'bound> = Bound;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        OcxlPmemDriver::bind(pdev)
    }
}

kernel::module_pci_driver! {
    type: OcxlPmemDriver,
    name: "ocxlpmem_rs",
    authors: ["nvdimm-rs developers"],
    description: "Rust driver for OpenCAPI persistent memory cards",
    license: "GPL",
}
