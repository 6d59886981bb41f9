// SPDX-License-Identifier: GPL-2.0

//! The card on the OpenCAPI bus (IBM 0x1014:0x0625), as v4 drives it.
//!
//! The card has two PCI functions with the same ids. Function 0 carries
//! the transaction layer: opening it (`ocxl_function_open`) configures the
//! link's templates, and it stays open while bound. Function 1 is the AFU
//! and the transport: its AFU 0's global MMIO area is the register file
//! (little-endian), a kernel context attached to the AFU gets two AFU
//! interrupts whose trigger addresses go to `IMA0` (events) and `IMA1`
//! (fatal failures), and the AFU's LPC memory is the card memory.
//!
//! The card memory is mapped through the ocxl core
//! (`ocxl_afu_map_lpc_mem`, patches 0032-0037: OPAL sets the link's memory
//! BAR up) and unmapped when the function closes, after the nvdimm bus is
//! gone. The serial number is function 1's PCIe Device Serial Number
//! (`ocxl_function_serial`). A card whose memory cannot be mapped or used
//! is driven (device node, ioctls, firmware update, fatal failures)
//! without an nvdimm bus.

use super::transport::{Attachment, CardMemory, Transport};
use super::{bring_up, regs, Bound, Controller, SECTION};
use kernel::{
    device::Core,
    irq::IrqReturn,
    ocxl::{self, AfuIrqHandler, Endian, GlobalMmio},
    pci,
    prelude::*,
    sync::{aref::ARef, Arc},
    workqueue::{self, impl_has_delayed_work, new_delayed_work, DelayedWork, WorkItem},
};

/// The AFU's global MMIO area, the register file.
struct AfuMmio {
    mmio: Arc<GlobalMmio>,
}

impl Transport for AfuMmio {
    fn size(&self) -> usize {
        self.mmio.size()
    }

    fn read_u64(&self, offset: usize) -> u64 {
        // After the function closed: a dead device.
        self.mmio.read64(offset, Endian::Little).unwrap_or(u64::MAX)
    }

    fn write_u64(&self, offset: usize, value: u64) {
        let _ = self.mmio.write64(offset, Endian::Little, value);
    }
}

/// An AFU interrupt of the card. The ocxl core calls the handler in hard
/// interrupt context; the protocol sleeps, so the handler only queues
/// the work (a delayed work item queued without delay, for its `flush`).
/// The ocxl core holds a reference for the handler until the interrupt is
/// freed, a queued work holds its own, and the bound card one more, to
/// flush it at unbind: the controller outlives all of them, and no work
/// runs once the card is unbound (nor once the module is gone).
#[pin_data]
struct CardIrq {
    ctrl: Arc<Controller>,
    dev: ARef<kernel::device::Device>,
    #[pin]
    work: DelayedWork<CardIrq>,
}

impl_has_delayed_work! {
    impl HasDelayedWork<Self> for CardIrq { self.work }
}

impl WorkItem for CardIrq {
    type Pointer = Arc<CardIrq>;

    fn run(this: Arc<CardIrq>) {
        // Queued before the unbind and run after the function closed: the
        // window reads all ones, there is no card to look at.
        if this
            .ctrl
            .with(|w, _| regs::chi(w))
            .is_ok_and(|chi| chi == u64::MAX)
        {
            return;
        }
        this.ctrl.interrupt(&this.dev);
    }
}

/// The handler the ocxl core calls: queues the card's work item.
struct Trigger {
    irq: Arc<CardIrq>,
}

impl AfuIrqHandler for Trigger {
    fn handle(&self) -> IrqReturn {
        // Already queued: the pending run reads CHI anew.
        let _ = workqueue::system().enqueue_delayed(self.irq.clone(), 0);
        IrqReturn::Handled
    }
}

/// A bound function 1: the card. At unbind the card goes first (device
/// node, bus, `CHIEC`, over a still open function), then the function:
/// its MMIO handle is revoked, the interrupts are freed (the ocxl core
/// waits for a running handler, then drops its reference), the context
/// is detached and freed, and the function closed. Last, a work item an
/// interrupt queued before is waited for.
pub(crate) struct OcxlCard {
    /// The card and its function, dropped in this order.
    bound: Option<(Bound, ocxl::Function)>,
    irqs: KVec<Arc<CardIrq>>,
}

impl Drop for OcxlCard {
    fn drop(&mut self) {
        drop(self.bound.take());
        flush(&self.irqs);
    }
}

/// Waits for the work the card's interrupts queued (once they are freed:
/// nothing queues it again).
fn flush(irqs: &[Arc<CardIrq>]) {
    for irq in irqs {
        irq.work.flush();
    }
}

/// Maps the card memory, the AFU's LPC memory, if the card can serve it:
/// mapped by the platform (in a hotpluggable range, which the ocxl core
/// checks), section-aligned, at least the metadata section and one more,
/// and a serial number for the interleave-set cookie. Otherwise the card
/// is driven without an nvdimm bus.
fn lpc_memory(
    pdev: &pci::Device<Core<'_>>,
    function: &mut ocxl::Function,
    afu: &ocxl::Afu,
) -> Option<CardMemory> {
    let m = function
        .map_lpc_mem(afu)
        .inspect_err(|e| dev_warn!(pdev, "LPC memory not mapped ({e:?}): no nvdimm bus\n"))
        .ok()?;
    let aligned = |v: u64| v & (SECTION - 1) == 0;
    if !aligned(m.start)
        || !aligned(m.size)
        || m.size / SECTION < 2
        || m.start.checked_add(m.size).is_none()
    {
        dev_warn!(
            pdev,
            "LPC memory {:#x}+{:#x} is not whole sections: no nvdimm bus\n",
            m.start,
            m.size
        );
        return None;
    }
    if function.serial() == 0 {
        dev_warn!(
            pdev,
            "no serial number for the interleave set: no nvdimm bus\n"
        );
        return None;
    }
    Some(CardMemory {
        base: m.start,
        size: m.size,
    })
}

/// A bound card function: function 0 (the link, kept open) or the card.
pub(crate) enum OcxlBound {
    Link(#[allow(dead_code)] ocxl::Function),
    Card(#[allow(dead_code)] OcxlCard),
}

pub(crate) struct OcxlDriver;

/// The AFU of function 1 that is the card.
const AFU_INDEX: u8 = 0;

impl OcxlDriver {
    fn bind(pdev: &pci::Device<Core<'_>>) -> Result<OcxlBound> {
        // Function 0: opening it enables the link's templates.
        if ocxl::pci_function(pdev) == 0 {
            let f = ocxl::Function::open(pdev)
                .inspect_err(|e| dev_err!(pdev, "function 0 does not open: {e:?}\n"))?;
            return Ok(OcxlBound::Link(f));
        }
        let mut function = ocxl::Function::open(pdev)
            .inspect_err(|e| dev_err!(pdev, "AFU function does not open: {e:?}\n"))?;
        let afu = function.afu(AFU_INDEX).ok_or_else(|| {
            dev_err!(pdev, "no AFU {AFU_INDEX}\n");
            ENODEV
        })?;
        let config = afu.config();
        if (config.global_mmio_size as usize) < regs::GLOBAL_BYTES {
            dev_err!(
                pdev,
                "global MMIO area of {:#x} bytes is too small\n",
                config.global_mmio_size
            );
            return Err(ENODEV);
        }
        let mmio = function.global_mmio(&afu)?;
        dev_info!(
            pdev,
            "AFU {}.{}: {:#x} bytes of global MMIO, {} MiB of LPC memory\n",
            config.version_major,
            config.version_minor,
            config.global_mmio_size,
            config.lpc_mem_size >> 20
        );
        let attachment = Attachment {
            memory: lpc_memory(pdev, &mut function, &afu),
            serial: function.serial(),
        };
        let t: KBox<dyn Transport> = KBox::new(AfuMmio { mmio }, GFP_KERNEL)?;
        let mut irqs = KVec::new();
        let card = bring_up(pdev, t, attachment, |ctrl: &Arc<Controller>| {
            let ctx = function.attach_context(&afu)?;
            let mut addr = [0u64; 2];
            for a in addr.iter_mut() {
                let irq = Arc::pin_init(
                    pin_init!(CardIrq {
                        ctrl: ctrl.clone(),
                        dev: pdev.as_ref().into(),
                        work <- new_delayed_work!("ocxlpmem_rs::CardIrq"),
                    }),
                    GFP_KERNEL,
                )?;
                irqs.push(irq.clone(), GFP_KERNEL)?;
                *a = ctx.alloc_irq(Arc::new(Trigger { irq }, GFP_KERNEL)?)?.addr;
            }
            // IMA0: events, IMA1: fatal failures.
            ctrl.with(|w, _| {
                regs::write(w, regs::IMA0_OHP, addr[0])?;
                regs::write(w, regs::IMA0_CFP, 0)?;
                regs::write(w, regs::IMA1_OHP, addr[1])?;
                regs::write(w, regs::IMA1_CFP, 0)
            })
        });
        match card {
            Ok(card) => Ok(OcxlBound::Card(OcxlCard {
                bound: Some((card, function)),
                irqs,
            })),
            Err(e) => {
                // The function frees the interrupts, then their work goes.
                drop(function);
                flush(&irqs);
                Err(e)
            }
        }
    }
}

impl pci::Driver for OcxlDriver {
    type IdInfo = ();
    type Data<'bound> = OcxlBound;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &super::OCXL_PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        OcxlDriver::bind(pdev)
    }
}
