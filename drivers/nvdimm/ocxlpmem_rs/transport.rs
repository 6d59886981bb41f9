// SPDX-License-Identifier: GPL-2.0

//! How the driver reaches a card: the boundary between the card's protocol
//! (the `core`-only files next to this one) and its attachment.
//!
//! Kernel-only. Two transports implement [`Transport`]:
//!
//! - `ivshmem.rs`, the test VMM's attachment: the register file is an
//!   `ivshmem-doorbell` BAR, a doorbell tells the VMM about control
//!   register writes, interrupts are MSI-X vectors, and the card memory
//!   range and serial number come from a descriptor in the register file;
//! - `ocxl.rs` (with `CONFIG_OCXL`), the real card on the OpenCAPI bus:
//!   the register file is the AFU's global MMIO area, interrupts are AFU
//!   interrupts whose trigger addresses the driver writes to `IMA0`/`IMA1`,
//!   and the card memory is the AFU's LPC memory.
//!
//! A transport sets up its device, builds a [`Transport`] and an
//! [`Attachment`], and hands them to the shared bring-up, which calls back
//! into the transport once (after the controller exists, before the
//! card's interrupts are enabled) to hook the interrupts up.

/// The card's register window, as a transport reaches it.
///
/// Accesses cannot fail: a transport whose device is gone reads all ones
/// (which the protocol reports as a failed controller) and drops writes.
pub(crate) trait Transport: Send + Sync {
    /// Bytes in the window.
    fn size(&self) -> usize;
    /// Reads the little-endian 64-bit register at `offset` (checked by the
    /// protocol: aligned and inside the window).
    fn read_u64(&self, offset: usize) -> u64;
    /// Writes the little-endian 64-bit register at `offset`.
    fn write_u64(&self, offset: usize, value: u64);
    /// Tells the card a control register was written (a device model that
    /// only sees memory needs it; real MMIO does not).
    fn doorbell(&self) {}
}

/// The card memory a transport found: a physical range, not mapped yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CardMemory {
    /// Physical address of the first byte.
    pub(crate) base: u64,
    /// Bytes of card memory, the metadata section included.
    pub(crate) size: u64,
}

/// What a transport tells the bring-up about the card.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Attachment {
    /// The card's memory, `None` when the transport cannot map it: the
    /// card is then driven (ioctls, firmware) without an nvdimm bus.
    pub(crate) memory: Option<CardMemory>,
    /// The card's serial number, the interleave-set cookie: never 0 when
    /// `memory` is there (0 only for a card served without a bus).
    pub(crate) serial: u64,
}
