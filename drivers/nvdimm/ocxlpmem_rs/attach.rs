// SPDX-License-Identifier: GPL-2.0

//! The test VMM's attachment of the card.
//!
//! `core`-only. On POWER the card sits behind the ocxl bus: its global
//! MMIO is a BAR of the AFU and its memory is LPC memory at a physical
//! range the link is configured with. No emulator offers that, so the test
//! VMM (`tools/vmm`) attaches the same register file and memory to any
//! guest with two standard QEMU devices:
//!
//! - an `ivshmem-doorbell` PCI device (Red Hat 0x1af4:0x1110) whose shared
//!   memory (BAR2) *is* the register file: the driver maps BAR2, rings the
//!   VMM through the ivshmem Doorbell register (BAR0 + 12) after writing a
//!   control register, and gets the card's interrupts as MSI-X vectors;
//! - the card's memory as a file-backed `pc-dimm` at a fixed guest-physical
//!   range (the guest runs with `acpi_no_memhotplug`, so the range is not
//!   onlined as RAM), named by the descriptor below.
//!
//! The descriptor sits in a part of the register file the card leaves
//! unused, at [`DESCRIPTOR`]; the VMM writes it before the guest runs. Its
//! values are checked here like any other device input.

use super::error::{Error, Result};
use super::regs::{self, Mmio};

/// Offset of the descriptor in the register file.
pub const DESCRIPTOR: usize = 0xf000;
/// Bytes of register file the attachment needs (the card's own registers,
/// admin areas and the descriptor).
pub const REGISTER_BYTES: usize = 0x10000;
/// `"OCXLPMEM"` in memory order.
pub const MAGIC: u64 = u64::from_le_bytes(*b"OCXLPMEM");
/// Descriptor layout version (2: with the card's serial number).
pub const VERSION: u16 = 2;
/// PCI identity of the card the attachment stands for.
pub const VENDOR_IBM: u16 = 0x1014;
/// Device id of the OpenCAPI persistent memory card.
pub const DEVICE_OCXLPMEM: u16 = 0x0625;
/// ivshmem's Doorbell register, in BAR0.
pub const IVSHMEM_DOORBELL: usize = 12;
/// ivshmem's IVPosition register (the guest's peer id), in BAR0.
pub const IVSHMEM_IVPOSITION: usize = 8;

/// Word offsets inside the descriptor.
pub const D_MAGIC: usize = DESCRIPTOR;
/// Version in bits 15:0, vendor in 47:32, device in 63:48.
pub const D_IDENT: usize = DESCRIPTOR + 0x08;
/// Guest-physical address of the card's memory.
pub const D_MEMORY_BASE: usize = DESCRIPTOR + 0x10;
/// Bytes of card memory.
pub const D_MEMORY_SIZE: usize = DESCRIPTOR + 0x18;
/// The value to write to the ivshmem Doorbell register to reach the
/// card: the VMM's peer id in bits 31:16, the vector in bits 15:0.
pub const D_DOORBELL: usize = DESCRIPTOR + 0x20;
/// The card's serial number: on the ocxl bus the PCIe Device Serial Number
/// of function 0, which v4 keeps in `ocxl_fn`. Never 0.
pub const D_SERIAL: usize = DESCRIPTOR + 0x28;

/// What the descriptor says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Descriptor {
    pub vendor: u16,
    pub device: u16,
    pub memory_base: u64,
    pub memory_size: u64,
    pub doorbell: u32,
    pub serial: u64,
}

impl Descriptor {
    /// The descriptor's words, for the VMM to write: `(offset, value)`.
    pub fn encode(&self) -> [(usize, u64); 6] {
        [
            (D_MAGIC, MAGIC),
            (
                D_IDENT,
                u64::from(VERSION) | u64::from(self.vendor) << 32 | u64::from(self.device) << 48,
            ),
            (D_MEMORY_BASE, self.memory_base),
            (D_MEMORY_SIZE, self.memory_size),
            (D_DOORBELL, u64::from(self.doorbell)),
            (D_SERIAL, self.serial),
        ]
    }

    /// Reads and checks the descriptor of a window. `section` is the
    /// guest's memory section size: the memory must hold the metadata
    /// section and at least one more, at a section-aligned base, without
    /// wrapping. `None` when the window carries no descriptor (another
    /// device with the same PCI ids).
    pub fn read(m: &impl Mmio, section: u64) -> Result<Option<Self>> {
        if regs::read(m, D_MAGIC)? != MAGIC {
            return Ok(None);
        }
        let ident = regs::read(m, D_IDENT)?;
        let version = (ident & 0xffff) as u16;
        let d = Descriptor {
            vendor: (ident >> 32) as u16,
            device: (ident >> 48) as u16,
            memory_base: regs::read(m, D_MEMORY_BASE)?,
            memory_size: regs::read(m, D_MEMORY_SIZE)?,
            doorbell: regs::read(m, D_DOORBELL)? as u32,
            serial: regs::read(m, D_SERIAL)?,
        };
        if version != VERSION || d.vendor != VENDOR_IBM || d.device != DEVICE_OCXLPMEM {
            return Err(Error::BadLength {
                what: "attachment identity",
                value: ident,
            });
        }
        if d.serial == 0 {
            return Err(Error::BadLength {
                what: "attachment serial number",
                value: 0,
            });
        }
        d.check(section)?;
        Ok(Some(d))
    }

    /// Checks the memory range against the guest's section size.
    pub fn check(&self, section: u64) -> Result<()> {
        let bad = |what, value| Err(Error::BadLength { what, value });
        if section == 0 || !section.is_power_of_two() {
            return bad("attachment section size", section);
        }
        if self.memory_base & (section - 1) != 0 {
            return bad("attachment memory base", self.memory_base);
        }
        if self.memory_size & (section - 1) != 0 || self.memory_size / section < 2 {
            return bad("attachment memory size", self.memory_size);
        }
        if self.memory_base.checked_add(self.memory_size).is_none() {
            return bad("attachment memory range", self.memory_base);
        }
        Ok(())
    }

    /// The metadata (label) area: the first section of the memory, as v4
    /// carves it.
    pub fn metadata(&self, section: u64) -> (u64, u64) {
        (self.memory_base, section)
    }

    /// The persistent memory: everything after the metadata section.
    pub fn pmem(&self, section: u64) -> (u64, u64) {
        (self.memory_base + section, self.memory_size - section)
    }
}
