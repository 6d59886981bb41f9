// SPDX-License-Identifier: GPL-2.0

//! The test VMM's attachment of the card (see `attach.rs`): an
//! `ivshmem-doorbell` PCI device (0x1af4:0x1110) whose BAR2 is the
//! register file and whose BAR0 holds the doorbell, MSI-X vectors for the
//! card's two interrupts, and the card memory at the range the
//! attachment's descriptor names.

use super::transport::{Attachment, CardMemory, Transport};
use super::{attach, bring_up, error, Bound, Controller, Forward, ProtocolError, SECTION};
use kernel::{
    device::Core,
    io::Io,
    irq::{self},
    pci,
    prelude::*,
    sync::Arc,
};

/// The register file (BAR2) and the doorbell (BAR0). Both are revoked when
/// the device unbinds (an open `/dev/ocxlpmemN` may outlive it); each
/// access takes the mapping on its own, so the protocol may sleep between
/// accesses, and after revocation reads as a dead device (all ones).
pub(crate) struct Ivshmem {
    regs: pci::DevresBar<{ attach::REGISTER_BYTES }>,
    bell: pci::DevresBar<16>,
    /// The value rung (the VMM's peer id and vector), from the descriptor.
    doorbell: u32,
}

impl Transport for Ivshmem {
    fn size(&self) -> usize {
        attach::REGISTER_BYTES
    }

    fn read_u64(&self, offset: usize) -> u64 {
        // The protocol checks every offset before it gets here.
        self.regs
            .try_access()
            .and_then(|r| r.try_read64(offset).ok())
            .unwrap_or(u64::MAX)
    }

    fn write_u64(&self, offset: usize, value: u64) {
        if let Some(r) = self.regs.try_access() {
            let _ = r.try_write64(value, offset);
        }
    }

    fn doorbell(&self) {
        if let Some(b) = self.bell.try_access() {
            let _ = b.try_write32(self.doorbell, attach::IVSHMEM_DOORBELL);
        }
    }
}

/// The card's MSI-X vectors (0: events, 1: fatal failures), both forwarded
/// to the eventfd. They stay requested until the card is unbound, after
/// [`Bound`] is dropped.
const VECTORS: [&CStr; 2] = [c"ocxlpmem_rs-events", c"ocxlpmem_rs-fatal"];

pub(crate) struct IvshmemDriver;

impl IvshmemDriver {
    fn bind(pdev: &pci::Device<Core<'_>>) -> Result<Bound> {
        pdev.enable_device_mem()?;
        // MSI-X messages are memory writes by the device.
        pdev.set_master();
        let bell = pdev
            .iomap_region_sized::<16>(0, c"ocxlpmem_rs")?
            .into_devres()?;
        let regs = pdev
            .iomap_region_sized::<{ attach::REGISTER_BYTES }>(2, c"ocxlpmem_rs")?
            .into_devres()?;
        let mut t = Ivshmem {
            regs,
            bell,
            doorbell: 0,
        };
        // Another ivshmem device (the test VMM's _DSM mailbox) carries no
        // descriptor: not ours, quietly.
        let desc = attach::Descriptor::read(&super::Window { t: &t }, SECTION)
            .map_err(|e: error::Error| {
                dev_err!(pdev, "bad attachment descriptor: {}\n", ProtocolError(e));
                EINVAL
            })?
            .ok_or(ENODEV)?;
        t.doorbell = desc.doorbell;
        let attachment = Attachment {
            memory: Some(CardMemory {
                base: desc.memory_base,
                size: desc.memory_size,
            }),
            serial: desc.serial,
        };
        let t: KBox<dyn Transport> = KBox::new(t, GFP_KERNEL)?;
        bring_up(pdev, t, attachment, |ctrl: &Arc<Controller>| {
            pdev.request_threaded_irqs(
                pci::IrqTypes::default().with(pci::IrqType::MsiX),
                irq::Flags::ONESHOT,
                &VECTORS,
                |_| {
                    let ctrl = ctrl.clone();
                    let dev = pdev.as_ref().into();
                    try_pin_init!(Forward { ctrl, dev })
                },
            )
            .inspect_err(|e| dev_err!(pdev, "no MSI-X interrupts: {e:?}\n"))
            .map(drop)
        })
    }
}

impl pci::Driver for IvshmemDriver {
    type IdInfo = ();
    type Data<'bound> = Bound;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &super::IVSHMEM_PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        IvshmemDriver::bind(pdev)
    }
}
