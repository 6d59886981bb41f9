// SPDX-License-Identifier: GPL-2.0

//! Global MMIO registers of the OpenCAPI persistent memory controller.
//!
//! `core`-only: compiled into the Rust ocxlpmem kernel module and into the
//! host crate `tools/ocxlpmem`. Offsets and bits are those of the v4 C
//! series ("Add support for OpenCAPI Persistent Memory devices", 2020).
//! Every register is 64 bits wide and little-endian.
//!
//! The protocol code is generic over [`Mmio`], a register window: the
//! kernel implements it over the ocxl global MMIO area (or over the test
//! VMM's `ivshmem` BAR), host tests over memory. The files of
//! `drivers/nvdimm/ocxlpmem_rs/` refer to each other as `super::regs`,
//! `super::error`, ...: include them as sibling modules with these names.

use super::error::{Error, Result};

/// Controller Health Indicator: status bits the controller sets.
pub const CHI: usize = 0x000;
/// CHI clear: writing 1s clears the matching `CHI` bits.
pub const CHIC: usize = 0x008;
/// CHI interrupt enable: `CHI` bits that raise an interrupt.
pub const CHIE: usize = 0x010;
/// CHI interrupt enable clear: writing 1s clears `CHIE` bits.
pub const CHIEC: usize = 0x018;
/// Host Command Indicator: requests the host makes.
pub const HCI: usize = 0x020;
/// HCI clear: writing 1s clears `HCI` bits.
pub const HCIC: usize = 0x028;
/// Interrupt message address 0, object handle pointer (event interrupt).
pub const IMA0_OHP: usize = 0x040;
/// Interrupt message address 0, command flag pointer.
pub const IMA0_CFP: usize = 0x048;
/// Interrupt message address 1, object handle pointer (fatal interrupt).
pub const IMA1_OHP: usize = 0x050;
/// Interrupt message address 1, command flag pointer.
pub const IMA1_CFP: usize = 0x058;
/// Admin command area: 64-bit register, request offset (`CREQO`) in bits
/// 63:32, response offset (`CRSPO`) in bits 31:0.
pub const ACMA_CREQO: usize = 0x100;
/// Admin command area: the `CRSPO` name of v4 (the low half of the
/// 64-bit register at [`ACMA_CREQO`]).
pub const ACMA_CRSPO: usize = 0x104;
/// Admin command area: 64-bit register, data buffer offset (`CDBO`) in bits
/// 63:32, data buffer size (`CDBS`) in bits 31:0.
pub const ACMA_CDBO: usize = 0x108;
/// Admin command area: the `CDBS` name of v4 (the low half of the 64-bit
/// register at [`ACMA_CDBO`]).
pub const ACMA_CDBS: usize = 0x10c;
/// Near-storage command area, same layout as `ACMA_*`.
pub const NSCMA_CREQO: usize = 0x120;
/// Near-storage command area, response offset name.
pub const NSCMA_CRSPO: usize = 0x124;
/// Near-storage command area, data buffer offset and size.
pub const NSCMA_CDBO: usize = 0x128;
/// Near-storage command area, data buffer size name.
pub const NSCMA_CDBS: usize = 0x12c;
/// Controller status.
pub const CSTS: usize = 0x140;
/// Firmware version: 8 bytes of ASCII text, in memory order.
pub const FWVER: usize = 0x148;
/// Controller capabilities 0 (revision, latency, timeouts).
pub const CCAP0: usize = 0x160;
/// Controller capabilities 1 (maximum controller dump size).
pub const CCAP1: usize = 0x168;
/// Bytes of global registers; command areas must lie above them.
pub const GLOBAL_BYTES: usize = 0x170;

/// `CHI` bits.
pub mod chi {
    /// Admin command response available.
    pub const ACRA: u64 = 1 << 0;
    /// Near-storage command response available.
    pub const NSCRA: u64 = 1 << 1;
    /// Controller ready.
    pub const CRDY: u64 = 1 << 4;
    /// Controller firmware fatal status.
    pub const CFFS: u64 = 1 << 5;
    /// Memory available.
    pub const MA: u64 = 1 << 6;
    /// Error log available.
    pub const ELA: u64 = 1 << 7;
    /// Controller dump available.
    pub const CDA: u64 = 1 << 8;
    /// Controller hardware fatal status.
    pub const CHFS: u64 = 1 << 9;
    /// Every defined bit.
    pub const ALL: u64 = ACRA | NSCRA | CRDY | CFFS | MA | ELA | CDA | CHFS;
    /// The fatal bits (the second interrupt, `IMA1`).
    pub const FATAL: u64 = CFFS | CHFS;
    /// The bits of the first interrupt (`IMA0`).
    pub const EVENTS: u64 = ACRA | ELA | CDA;
}

/// `HCI` bits.
pub mod hci {
    /// Admin command request written.
    pub const ACRW: u64 = 1 << 0;
    /// Near-storage command request written.
    pub const NSCRW: u64 = 1 << 1;
    /// AFU reset.
    pub const AFU_RESET: u64 = 1 << 2;
    /// Firmware debug enable.
    pub const FW_DEBUG: u64 = 1 << 3;
    /// Take a controller dump (cleared by the controller when done).
    pub const CONTROLLER_DUMP: u64 = 1 << 4;
    /// The controller dump has been collected.
    pub const CONTROLLER_DUMP_COLLECTED: u64 = 1 << 5;
    /// Request controller health and performance data (as an error log
    /// entry of type health & performance).
    pub const REQ_HEALTH_PERF: u64 = 1 << 6;
}

/// A window of little-endian 64-bit registers and buffers.
///
/// Implementations need not check bounds: the protocol code checks every
/// offset against [`Mmio::size`] and 8-byte alignment before calling.
pub trait Mmio {
    /// Bytes in the window.
    fn size(&self) -> usize;
    /// Reads the 64-bit register at `offset`.
    fn read_u64(&self, offset: usize) -> u64;
    /// Writes the 64-bit register at `offset`.
    fn write_u64(&mut self, offset: usize, value: u64);
    /// Called after the host wrote a control register (`HCI`, `HCIC`,
    /// `CHIC`, `CHIE`, `CHIEC`): a transport whose device model only sees
    /// memory rings its doorbell here. Real MMIO needs nothing.
    fn doorbell(&mut self) {}
}

/// Checks an access of `len` bytes at `offset`: 8-byte aligned and inside
/// a window of `size` bytes.
pub fn check_access(offset: usize, len: usize, size: usize) -> Result<()> {
    let err = Error::Window {
        offset: offset as u64,
        len: len as u64,
    };
    if offset & 7 != 0 {
        return Err(err);
    }
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        _ => Err(err),
    }
}

/// Reads the 64-bit register at `offset`, bounds-checked.
pub fn read(m: &impl Mmio, offset: usize) -> Result<u64> {
    check_access(offset, 8, m.size())?;
    Ok(m.read_u64(offset))
}

/// Writes the 64-bit register at `offset`, bounds-checked.
pub fn write(m: &mut impl Mmio, offset: usize, value: u64) -> Result<()> {
    check_access(offset, 8, m.size())?;
    m.write_u64(offset, value);
    Ok(())
}

/// Sets `bits` in a host-written control register (read-modify-write, as
/// `ocxl_global_mmio_set64`), then rings the doorbell.
pub fn set_bits(m: &mut impl Mmio, reg: usize, bits: u64) -> Result<()> {
    let v = read(m, reg)?;
    write(m, reg, v | bits)?;
    m.doorbell();
    Ok(())
}

/// Reads `CHI`.
pub fn chi(m: &impl Mmio) -> Result<u64> {
    read(m, CHI)
}

/// Acknowledges `CHI` bits through `CHIC`.
pub fn clear_chi(m: &mut impl Mmio, bits: u64) -> Result<()> {
    set_bits(m, CHIC, bits)
}

/// Whether the controller can be used, from one `CHI` value.
pub fn usable(chi: u64) -> Result<()> {
    if chi & self::chi::FATAL != 0 {
        Err(Error::Fatal { chi })
    } else if chi & self::chi::CRDY == 0 {
        Err(Error::NotReady)
    } else if chi & self::chi::MA == 0 {
        Err(Error::NoMemory)
    } else {
        Ok(())
    }
}

/// The controller's capabilities (`CCAP0`, `CCAP1`, `FWVER`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// SCM revision: major in bits 15:4, minor in bits 3:0 (as v4 prints it).
    pub revision: u16,
    /// Nominal unassisted read latency of the media, in nanoseconds.
    pub read_latency_ns: u16,
    /// Worst-case seconds from reset to `CHI.CRDY`.
    pub readiness_timeout_s: u8,
    /// Worst-case seconds from reset to `CHI.MA`.
    pub memory_available_timeout_s: u16,
    /// Largest controller dump, in bytes.
    pub max_controller_dump_size: u32,
    /// Firmware version text, NUL-padded.
    pub fw_version: [u8; 8],
}

impl Capabilities {
    /// Decodes the three registers' values.
    pub fn decode(ccap0: u64, ccap1: u64, fwver: u64) -> Self {
        Capabilities {
            revision: (ccap0 & 0xffff) as u16,
            read_latency_ns: ((ccap0 >> 32) & 0xffff) as u16,
            readiness_timeout_s: ((ccap0 >> 48) & 0xf) as u8,
            memory_available_timeout_s: (ccap0 >> 52) as u16,
            max_controller_dump_size: (ccap1 & 0xffff_ffff) as u32,
            fw_version: fwver.to_le_bytes(),
        }
    }

    /// The register values that decode to `self` (the device side).
    pub fn encode(&self) -> (u64, u64, u64) {
        let ccap0 = u64::from(self.revision)
            | u64::from(self.read_latency_ns) << 32
            | u64::from(self.readiness_timeout_s & 0xf) << 48
            | u64::from(self.memory_available_timeout_s & 0xfff) << 52;
        (
            ccap0,
            u64::from(self.max_controller_dump_size),
            u64::from_le_bytes(self.fw_version),
        )
    }

    /// Reads the capability registers.
    pub fn read(m: &impl Mmio) -> Result<Self> {
        Ok(Self::decode(
            read(m, CCAP0)?,
            read(m, CCAP1)?,
            read(m, FWVER)?,
        ))
    }

    /// Seconds to wait after a reset for the controller to be usable.
    pub fn ready_timeout_s(&self) -> u32 {
        u32::from(self.readiness_timeout_s) + u32::from(self.memory_available_timeout_s)
    }

    /// The firmware version as text: the bytes up to the first NUL,
    /// `None` unless they are printable ASCII.
    pub fn fw_version_text(&self) -> Option<&str> {
        let n = self.fw_version.iter().position(|&b| b == 0).unwrap_or(8);
        let t = self.fw_version.get(..n)?;
        if t.iter().all(|b| (0x20..0x7f).contains(b)) {
            core::str::from_utf8(t).ok()
        } else {
            None
        }
    }
}
