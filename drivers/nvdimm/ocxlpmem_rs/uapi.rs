// SPDX-License-Identifier: GPL-2.0

//! The user API of `/dev/ocxlpmemN`: ioctl numbers and payload layouts,
//! the same as `include/uapi/linux/ocxlpmem.h`.
//!
//! `core`-only. Payloads are decoded from and encoded to byte arrays of
//! the C struct's size (fields in the CPU's byte order, as a C caller's
//! struct has them; explicit padding; user pointers as `__u64`); decoding
//! checks every input field (sizes, reserved fields zero) before the
//! driver acts on it. The host test
//! `uapi_matches_header` parses the C header and compares its layouts with
//! the tables here.

use super::data::{ControllerStats, ErrorLogEntry};
use super::error::{Error, Result};
use super::regs::chi;

/// The ioctl type (magic) shared with `misc/cxl.h` and `misc/ocxl.h`;
/// this driver owns numbers 0x30..=0x3f and the debug ones 0xf0..=0xf3.
pub const MAGIC: u8 = 0xca;

/// Event bit: a controller dump is available.
pub const EVENT_CONTROLLER_DUMP_AVAILABLE: u64 = 1 << 0;
/// Event bit: an error log entry is available.
pub const EVENT_ERROR_LOG_AVAILABLE: u64 = 1 << 1;
/// Event bit: hardware fatal (`CHI.CHFS`).
pub const EVENT_HARDWARE_FATAL: u64 = 1 << 2;
/// Event bit: firmware fatal (`CHI.CFFS`).
pub const EVENT_FIRMWARE_FATAL: u64 = 1 << 3;

/// The `EVENT_CHECK` answer for a `CHI` value.
pub fn events(chi: u64) -> u64 {
    let mut e = 0;
    if chi & chi::ELA != 0 {
        e |= EVENT_ERROR_LOG_AVAILABLE;
    }
    if chi & chi::CDA != 0 {
        e |= EVENT_CONTROLLER_DUMP_AVAILABLE;
    }
    if chi & chi::CFFS != 0 {
        e |= EVENT_FIRMWARE_FATAL;
    }
    if chi & chi::CHFS != 0 {
        e |= EVENT_HARDWARE_FATAL;
    }
    e
}

/// An ioctl's data direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// `_IO`.
    None,
    /// `_IOR`: the kernel writes the payload.
    Read,
    /// `_IOW`: the kernel reads the payload.
    Write,
    /// `_IOWR`.
    ReadWrite,
}

/// How an architecture encodes ioctl numbers (`asm/ioctl.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IocEncoding {
    /// `_IOC_NONE`.
    pub none: u32,
    /// `_IOC_READ`.
    pub read: u32,
    /// `_IOC_WRITE`.
    pub write: u32,
    /// `_IOC_SIZEBITS`.
    pub size_bits: u32,
}

/// x86, arm64, riscv, ... (`asm-generic/ioctl.h`).
pub const IOC_GENERIC: IocEncoding = IocEncoding {
    none: 0,
    read: 2,
    write: 1,
    size_bits: 14,
};

/// powerpc (`arch/powerpc/include/uapi/asm/ioctl.h`).
pub const IOC_POWERPC: IocEncoding = IocEncoding {
    none: 1,
    read: 2,
    write: 4,
    size_bits: 13,
};

/// `_IOC(dir, MAGIC, nr, size)`; `None` if `size` does not fit.
pub const fn ioc(enc: &IocEncoding, dir: Dir, nr: u8, size: usize) -> Option<u32> {
    if size >= 1 << enc.size_bits {
        return None;
    }
    let d = match dir {
        Dir::None => enc.none,
        Dir::Read => enc.read,
        Dir::Write => enc.write,
        Dir::ReadWrite => enc.read | enc.write,
    };
    Some(d << (16 + enc.size_bits) | (size as u32) << 16 | (MAGIC as u32) << 8 | nr as u32)
}

/// The ioctls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ioctl {
    /// `IOCTL_OCXLPMEM_ERROR_LOG`: read the oldest error log entry.
    ErrorLog,
    /// `IOCTL_OCXLPMEM_CONTROLLER_DUMP`: ask for a controller dump.
    ControllerDump,
    /// `IOCTL_OCXLPMEM_CONTROLLER_DUMP_DATA`: read a dump chunk.
    ControllerDumpData,
    /// `IOCTL_OCXLPMEM_CONTROLLER_DUMP_COMPLETE`: the dump is collected.
    ControllerDumpComplete,
    /// `IOCTL_OCXLPMEM_CONTROLLER_STATS`: read the statistics.
    ControllerStats,
    /// `IOCTL_OCXLPMEM_EVENTFD`: register an eventfd for the interrupts.
    Eventfd,
    /// `IOCTL_OCXLPMEM_EVENT_CHECK`: which events are pending.
    EventCheck,
    /// `IOCTL_OCXLPMEM_REQUEST_HEALTH`: ask for health & performance data.
    RequestHealth,
    /// `IOCTL_OCXLPMEM_FWDEBUG` (debug builds only).
    FwDebug,
    /// `IOCTL_OCXLPMEM_MMIO_WRITE` (debug builds only).
    MmioWrite,
    /// `IOCTL_OCXLPMEM_MMIO_READ` (debug builds only).
    MmioRead,
    /// `IOCTL_OCXLPMEM_SHUTDOWN` (debug builds only).
    Shutdown,
}

/// Every ioctl, in number order.
pub const IOCTLS: [Ioctl; 12] = [
    Ioctl::ErrorLog,
    Ioctl::ControllerDump,
    Ioctl::ControllerDumpData,
    Ioctl::ControllerDumpComplete,
    Ioctl::ControllerStats,
    Ioctl::Eventfd,
    Ioctl::EventCheck,
    Ioctl::RequestHealth,
    Ioctl::FwDebug,
    Ioctl::MmioWrite,
    Ioctl::MmioRead,
    Ioctl::Shutdown,
];

impl Ioctl {
    /// `(nr, direction, payload size)`.
    pub const fn def(self) -> (u8, Dir, usize) {
        match self {
            Ioctl::ErrorLog => (0x30, Dir::ReadWrite, ERROR_LOG_SIZE),
            Ioctl::ControllerDump => (0x31, Dir::None, 0),
            Ioctl::ControllerDumpData => (0x32, Dir::ReadWrite, DUMP_DATA_SIZE),
            // v4: _IO although the kernel writes the payload.
            Ioctl::ControllerStats => (0x34, Dir::Read, STATS_SIZE),
            Ioctl::ControllerDumpComplete => (0x33, Dir::None, 0),
            Ioctl::Eventfd => (0x35, Dir::Write, EVENTFD_SIZE),
            Ioctl::EventCheck => (0x36, Dir::Read, 8),
            Ioctl::RequestHealth => (0x37, Dir::None, 0),
            Ioctl::FwDebug => (0xf0, Dir::ReadWrite, FWDEBUG_SIZE),
            Ioctl::MmioWrite => (0xf1, Dir::Write, MMIO_SIZE),
            Ioctl::MmioRead => (0xf2, Dir::ReadWrite, MMIO_SIZE),
            Ioctl::Shutdown => (0xf3, Dir::None, 0),
        }
    }

    /// Whether the ioctl exists only in debug builds.
    pub const fn debug_only(self) -> bool {
        matches!(
            self,
            Ioctl::FwDebug | Ioctl::MmioWrite | Ioctl::MmioRead | Ioctl::Shutdown
        )
    }

    /// The ioctl number under `enc`.
    pub const fn number(self, enc: &IocEncoding) -> Option<u32> {
        let (nr, dir, size) = self.def();
        ioc(enc, dir, nr, size)
    }

    /// The ioctl with number `cmd` under `enc`.
    pub fn from_number(cmd: u32, enc: &IocEncoding) -> Option<Ioctl> {
        IOCTLS.iter().copied().find(|i| i.number(enc) == Some(cmd))
    }
}

/// A field of a payload layout: name, offset and size in bytes.
pub type Field = (&'static str, usize, usize);

/// `sizeof(struct ioctl_ocxlpmem_error_log)`.
pub const ERROR_LOG_SIZE: usize = 88;
/// `struct ioctl_ocxlpmem_error_log`.
pub const ERROR_LOG_FIELDS: &[Field] = &[
    ("log_identifier", 0, 4),
    ("program_reference_code", 4, 4),
    ("action_flags", 8, 4),
    ("power_on_seconds", 12, 4),
    ("timestamp", 16, 8),
    ("wwid", 24, 16),
    ("fw_revision", 40, 9),
    ("reserved0", 49, 7),
    ("buf_size", 56, 2),
    ("error_log_type", 58, 1),
    ("reserved1", 59, 5),
    ("buf_ptr", 64, 8),
    ("reserved2", 72, 16),
];
/// `sizeof(struct ioctl_ocxlpmem_controller_dump_data)`.
pub const DUMP_DATA_SIZE: usize = 80;
/// `struct ioctl_ocxlpmem_controller_dump_data`.
pub const DUMP_DATA_FIELDS: &[Field] = &[
    ("buf_ptr", 0, 8),
    ("buf_size", 8, 2),
    ("reserved0", 10, 2),
    ("offset", 12, 4),
    ("reserved", 16, 64),
];
/// `sizeof(struct ioctl_ocxlpmem_controller_stats)`.
pub const STATS_SIZE: usize = 104;
/// `struct ioctl_ocxlpmem_controller_stats`.
pub const STATS_FIELDS: &[Field] = &[
    ("reset_count", 0, 4),
    ("reset_uptime", 4, 4),
    ("power_on_uptime", 8, 4),
    ("life_remaining", 12, 1),
    ("critical_resource_utilization", 13, 1),
    ("reserved", 14, 2),
    ("host_load_count", 16, 8),
    ("host_store_count", 24, 8),
    ("host_load_duration", 32, 8),
    ("host_store_duration", 40, 8),
    ("media_read_count", 48, 8),
    ("media_write_count", 56, 8),
    ("media_read_duration", 64, 8),
    ("media_write_duration", 72, 8),
    ("cache_read_hit_count", 80, 8),
    ("cache_write_hit_count", 88, 8),
    ("fast_write_count", 96, 8),
];
/// `sizeof(struct ioctl_ocxlpmem_eventfd)`.
pub const EVENTFD_SIZE: usize = 8;
/// `struct ioctl_ocxlpmem_eventfd`.
pub const EVENTFD_FIELDS: &[Field] = &[("eventfd", 0, 4), ("reserved", 4, 4)];
/// `sizeof(struct ioctl_ocxlpmem_fwdebug)`.
pub const FWDEBUG_SIZE: usize = 32;
/// `struct ioctl_ocxlpmem_fwdebug`.
pub const FWDEBUG_FIELDS: &[Field] = &[
    ("debug_parameter_1", 0, 8),
    ("debug_parameter_2", 8, 8),
    ("buf_ptr", 16, 8),
    ("debug_action", 24, 2),
    ("function_code", 26, 2),
    ("buf_size", 28, 2),
    ("reserved", 30, 2),
];
/// `sizeof(struct ioctl_ocxlpmem_mmio)`.
pub const MMIO_SIZE: usize = 16;
/// `struct ioctl_ocxlpmem_mmio`.
pub const MMIO_FIELDS: &[Field] = &[("address", 0, 8), ("val", 8, 8)];

/// Every payload: C struct name, size, fields.
pub const LAYOUTS: [(&str, usize, &[Field]); 6] = [
    ("ioctl_ocxlpmem_error_log", ERROR_LOG_SIZE, ERROR_LOG_FIELDS),
    (
        "ioctl_ocxlpmem_controller_dump_data",
        DUMP_DATA_SIZE,
        DUMP_DATA_FIELDS,
    ),
    ("ioctl_ocxlpmem_controller_stats", STATS_SIZE, STATS_FIELDS),
    ("ioctl_ocxlpmem_eventfd", EVENTFD_SIZE, EVENTFD_FIELDS),
    ("ioctl_ocxlpmem_fwdebug", FWDEBUG_SIZE, FWDEBUG_FIELDS),
    ("ioctl_ocxlpmem_mmio", MMIO_SIZE, MMIO_FIELDS),
];

fn get<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    let mut a = [0u8; N];
    if let Some(s) = b.get(off..off + N) {
        a.copy_from_slice(s);
    }
    a
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_ne_bytes(get(b, off))
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes(get(b, off))
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_ne_bytes(get(b, off))
}

fn put(b: &mut [u8], off: usize, v: &[u8]) {
    if let Some(d) = b.get_mut(off..off + v.len()) {
        d.copy_from_slice(v);
    }
}

fn zero(b: &[u8], off: usize, len: usize, what: &'static str) -> Result<()> {
    match b.get(off..off + len) {
        Some(s) if s.iter().all(|&x| x == 0) => Ok(()),
        _ => Err(Error::BadParameter(what)),
    }
}

/// The inputs of `IOCTL_OCXLPMEM_ERROR_LOG`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorLogArgs {
    /// User buffer for the additional data.
    pub buf_ptr: u64,
    /// Its size (a multiple of 8).
    pub buf_size: u16,
}

impl ErrorLogArgs {
    /// Decodes and checks the user's payload.
    pub fn decode(b: &[u8; ERROR_LOG_SIZE]) -> Result<Self> {
        zero(b, 49, 7, "reserved0")?;
        zero(b, 59, 5, "reserved1")?;
        zero(b, 72, 16, "reserved2")?;
        let buf_size = u16_at(b, 56);
        if buf_size & 7 != 0 {
            return Err(Error::BadParameter("buf_size"));
        }
        Ok(ErrorLogArgs {
            buf_ptr: u64_at(b, 64),
            buf_size,
        })
    }

    /// The request userspace sends (its side of [`ErrorLogArgs::decode`]).
    pub fn request(&self) -> [u8; ERROR_LOG_SIZE] {
        let mut b = [0u8; ERROR_LOG_SIZE];
        put(&mut b, 56, &self.buf_size.to_ne_bytes());
        put(&mut b, 64, &self.buf_ptr.to_ne_bytes());
        b
    }

    /// Decodes the answer (userspace's side of [`ErrorLogArgs::encode`]):
    /// the entry, `None` when the log was empty; its `data_len` is the
    /// additional data's full length.
    pub fn answer(b: &[u8; ERROR_LOG_SIZE]) -> Option<ErrorLogEntry> {
        if b[..64].iter().all(|&x| x == 0) {
            return None;
        }
        let mut fw_revision = [0u8; 8];
        fw_revision.copy_from_slice(&b[40..48]);
        Some(ErrorLogEntry {
            log_identifier: u32_at(b, 0),
            program_reference_code: u32_at(b, 4),
            action_flags: u32_at(b, 8),
            power_on_seconds: u32_at(b, 12),
            timestamp: u64_at(b, 16),
            wwid: [u64_at(b, 24), u64_at(b, 32)],
            fw_revision,
            data_len: usize::from(u16_at(b, 56)),
            error_log_type: b[58],
        })
    }

    /// The answer: the entry's fields, `buf_size` the additional data's
    /// full length (more than copied if the buffer was short), `buf_ptr`
    /// as given. `None` (no entry): all zero but `buf_ptr`.
    pub fn encode(&self, entry: Option<&ErrorLogEntry>) -> [u8; ERROR_LOG_SIZE] {
        let mut b = [0u8; ERROR_LOG_SIZE];
        put(&mut b, 64, &self.buf_ptr.to_ne_bytes());
        let Some(e) = entry else {
            return b;
        };
        put(&mut b, 0, &e.log_identifier.to_ne_bytes());
        put(&mut b, 4, &e.program_reference_code.to_ne_bytes());
        put(&mut b, 8, &e.action_flags.to_ne_bytes());
        put(&mut b, 12, &e.power_on_seconds.to_ne_bytes());
        put(&mut b, 16, &e.timestamp.to_ne_bytes());
        put(&mut b, 24, &e.wwid[0].to_ne_bytes());
        put(&mut b, 32, &e.wwid[1].to_ne_bytes());
        put(&mut b, 40, &e.fw_revision);
        let len = u16::try_from(e.data_len).unwrap_or(u16::MAX);
        put(&mut b, 56, &len.to_ne_bytes());
        b[58] = e.error_log_type;
        b
    }
}

/// The inputs of `IOCTL_OCXLPMEM_CONTROLLER_DUMP_DATA`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DumpDataArgs {
    /// User buffer.
    pub buf_ptr: u64,
    /// Its size (a non-zero multiple of 8).
    pub buf_size: u16,
    /// Offset in the dump.
    pub offset: u32,
}

impl DumpDataArgs {
    /// Decodes and checks the user's payload.
    pub fn decode(b: &[u8; DUMP_DATA_SIZE]) -> Result<Self> {
        zero(b, 10, 2, "reserved0")?;
        zero(b, 16, 64, "reserved")?;
        let buf_size = u16_at(b, 8);
        if buf_size == 0 || buf_size & 7 != 0 {
            return Err(Error::BadParameter("buf_size"));
        }
        Ok(DumpDataArgs {
            buf_ptr: u64_at(b, 0),
            buf_size,
            offset: u32_at(b, 12),
        })
    }

    /// The request userspace sends (its side of [`DumpDataArgs::decode`]).
    pub fn request(&self) -> [u8; DUMP_DATA_SIZE] {
        let mut b = [0u8; DUMP_DATA_SIZE];
        put(&mut b, 0, &self.buf_ptr.to_ne_bytes());
        put(&mut b, 8, &self.buf_size.to_ne_bytes());
        put(&mut b, 12, &self.offset.to_ne_bytes());
        b
    }

    /// The bytes an answer says were returned (userspace's side of
    /// [`DumpDataArgs::encode`]).
    pub fn returned(b: &[u8; DUMP_DATA_SIZE]) -> u16 {
        u16_at(b, 8)
    }

    /// The answer: `buf_size` the bytes returned (0 at the end).
    pub fn encode(&self, returned: u16) -> [u8; DUMP_DATA_SIZE] {
        let mut b = [0u8; DUMP_DATA_SIZE];
        put(&mut b, 0, &self.buf_ptr.to_ne_bytes());
        put(&mut b, 8, &returned.to_ne_bytes());
        put(&mut b, 12, &self.offset.to_ne_bytes());
        b
    }
}

/// The answer of `IOCTL_OCXLPMEM_CONTROLLER_STATS`.
pub fn encode_stats(s: &ControllerStats) -> [u8; STATS_SIZE] {
    let mut b = [0u8; STATS_SIZE];
    put(&mut b, 0, &s.reset_count.to_ne_bytes());
    put(&mut b, 4, &s.reset_uptime.to_ne_bytes());
    put(&mut b, 8, &s.power_on_uptime.to_ne_bytes());
    b[12] = s.life_remaining;
    b[13] = s.critical_resource_utilization;
    let counters = s.counters();
    for (i, c) in counters.iter().enumerate() {
        put(&mut b, 16 + i * 8, &c.to_ne_bytes());
    }
    b
}

/// Decodes a statistics answer (userspace's side, and tests).
pub fn decode_stats(b: &[u8; STATS_SIZE]) -> ControllerStats {
    let c = |i: usize| u64_at(b, 16 + i * 8);
    ControllerStats {
        reset_count: u32_at(b, 0),
        reset_uptime: u32_at(b, 4),
        power_on_uptime: u32_at(b, 8),
        life_remaining: b[12],
        critical_resource_utilization: b[13],
        ..Default::default()
    }
    .with_counters(core::array::from_fn(c))
}

/// Decodes `IOCTL_OCXLPMEM_EVENTFD`'s payload: the eventfd (non-negative).
pub fn decode_eventfd(b: &[u8; EVENTFD_SIZE]) -> Result<i32> {
    zero(b, 4, 4, "reserved")?;
    let fd = u32_at(b, 0) as i32;
    if fd < 0 {
        return Err(Error::BadParameter("eventfd"));
    }
    Ok(fd)
}

/// The inputs of `IOCTL_OCXLPMEM_FWDEBUG`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FwDebugArgs {
    /// First debug parameter.
    pub parameter_1: u64,
    /// Second debug parameter.
    pub parameter_2: u64,
    /// Optional in/out user buffer.
    pub buf_ptr: u64,
    /// `FWDEBUG_*` action (fits in 8 bits).
    pub action: u8,
    /// Function code.
    pub function_code: u16,
    /// Buffer size (a multiple of 8; 0 for none).
    pub buf_size: u16,
}

impl FwDebugArgs {
    /// Decodes and checks the user's payload.
    pub fn decode(b: &[u8; FWDEBUG_SIZE]) -> Result<Self> {
        zero(b, 30, 2, "reserved")?;
        let action =
            u8::try_from(u16_at(b, 24)).map_err(|_| Error::BadParameter("debug_action"))?;
        let buf_size = u16_at(b, 28);
        if buf_size & 7 != 0 || (buf_size != 0 && u64_at(b, 16) == 0) {
            return Err(Error::BadParameter("buf_size"));
        }
        Ok(FwDebugArgs {
            parameter_1: u64_at(b, 0),
            parameter_2: u64_at(b, 8),
            buf_ptr: u64_at(b, 16),
            action,
            function_code: u16_at(b, 26),
            buf_size,
        })
    }
}

impl FwDebugArgs {
    /// The request userspace sends (its side of [`FwDebugArgs::decode`]).
    pub fn request(&self) -> [u8; FWDEBUG_SIZE] {
        let mut b = [0u8; FWDEBUG_SIZE];
        put(&mut b, 0, &self.parameter_1.to_ne_bytes());
        put(&mut b, 8, &self.parameter_2.to_ne_bytes());
        put(&mut b, 16, &self.buf_ptr.to_ne_bytes());
        put(&mut b, 24, &u16::from(self.action).to_ne_bytes());
        put(&mut b, 26, &self.function_code.to_ne_bytes());
        put(&mut b, 28, &self.buf_size.to_ne_bytes());
        b
    }
}

/// `IOCTL_OCXLPMEM_MMIO_*`'s payload: `(address, value)`; the address must
/// be 8-byte aligned (the driver checks it against the window).
pub fn decode_mmio(b: &[u8; MMIO_SIZE]) -> Result<(u64, u64)> {
    let address = u64_at(b, 0);
    if address & 7 != 0 {
        return Err(Error::BadParameter("address"));
    }
    Ok((address, u64_at(b, 8)))
}

/// The answer of `IOCTL_OCXLPMEM_MMIO_READ`.
pub fn encode_mmio(address: u64, value: u64) -> [u8; MMIO_SIZE] {
    let mut b = [0u8; MMIO_SIZE];
    put(&mut b, 0, &address.to_ne_bytes());
    put(&mut b, 8, &value.to_ne_bytes());
    b
}
