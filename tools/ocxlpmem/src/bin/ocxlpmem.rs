// SPDX-License-Identifier: GPL-2.0
//! `ocxlpmem`: the userspace tool of the Rust ocxlpmem driver. Drives the
//! ioctls of `/dev/ocxlpmemN` (`include/uapi/linux/ocxlpmem.h`) with the
//! same layouts the driver decodes (`ocxlpmem_core::uapi`) and prints JSON.
//!
//! ```text
//! ocxlpmem stats [DEV]              controller statistics
//! ocxlpmem error-log [--size N] [DEV]
//!                                   the oldest error log entry ({} when none);
//!                                   the first call has an N-byte data buffer
//!                                   (4096); a larger entry stays with the
//!                                   driver, which says its size (EOVERFLOW),
//!                                   and is read again with a buffer that fits
//! ocxlpmem dump FILE [DEV]          collect a controller dump into FILE
//! ocxlpmem request-health [DEV]     ask the controller for health data
//! ocxlpmem events [DEV]             pending events
//! ocxlpmem watch-health [DEV]       register an eventfd, request health data,
//!                                   wait (5 s at most) for the interrupt
//! ocxlpmem watch-fatal [DEV]        register an eventfd, read the statistics
//!                                   (arm a fatal card fault on them first),
//!                                   wait for the interrupt, try one more ioctl
//! ocxlpmem fwdebug --action A [--function F] [--p1 X] [--p2 Y] [--size N]
//!          [--data HEX] [DEV]         a firmware debug action (debug kernels)
//! ocxlpmem mmio-read ADDR [DEV]     a register of the global MMIO (debug kernels)
//! ocxlpmem mmio-write ADDR VALUE [DEV]
//! ocxlpmem shutdown [DEV]           shut the controller down (debug kernels)
//! ocxlpmem eventfd-exclusive [DEV]  one eventfd per card: a second one is
//!                                   refused (EBUSY) until the file that
//!                                   registered the first is closed
//! ocxlpmem unknown-ioctl [DEV]      issue an ioctl the driver does not have
//!                                   (its magic, an unassigned number): succeeds
//!                                   only if the kernel answers ENOTTY
//! ocxlpmem smart [--attrs N] [DIMM] the card's SMART attributes and health
//!                                   through ND_CMD_CALL on /dev/nmemN (room
//!                                   for N attributes, 255 by default)
//! ocxlpmem smart-malformed [DIMM]   send malformed SMART packages, print the
//!                                   errno of each
//! ```
//!
//! DEV defaults to `/dev/ocxlpmem0`, DIMM to `nmem0` (a name under `/dev`
//! or a path). Exit status: 0 done, 1 the ioctl
//! failed (errno printed), 2 bad usage.

use clap::{Parser, Subcommand};
use ocxlpmem_core::data::ErrorLogEntry;
use ocxlpmem_core::uapi::{self, Dir, DumpDataArgs, ErrorLogArgs, Ioctl};
use ocxlpmem_core::{health, smart};
use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Error log additional data fetched by the first call, by default.
const ERROR_DATA: u16 = 4096;
/// Bytes per dump chunk.
const DUMP_CHUNK: u16 = 4096;
const DEFAULT_DEV: &str = "/dev/ocxlpmem0";
const DEFAULT_DIMM: &str = "nmem0";

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
enum ToolError {
    #[error("{}: {source}", path.display())]
    Open { path: PathBuf, source: io::Error },
    #[error("{ioctl:?}: payload of {len} bytes, not {size}")]
    Payload {
        ioctl: Ioctl,
        len: usize,
        size: usize,
    },
    #[error("{0:?}: no ioctl number on this architecture")]
    NoNumber(Ioctl),
    #[error("{ioctl:?}: {source}")]
    Ioctl { ioctl: Ioctl, source: io::Error },
    #[error("{}: {source}", path.display())]
    Output { path: PathBuf, source: io::Error },
    #[error("dump larger than 4 GiB")]
    DumpTooLarge,
    #[error("eventfd: {0}")]
    Eventfd(io::Error),
    #[error("no interrupt within 5 s")]
    NoInterrupt,
    #[error("error log: the entry has {0} bytes of data, more than the ioctl can take")]
    ErrorDataTooLarge(usize),
    #[error("error log: the entry still does not fit a buffer of its own size")]
    ErrorDataGrew,
    #[error("eventfd registration: {0}")]
    NotExclusive(&'static str),
    #[error("--data: not hex bytes")]
    BadHex,
    #[error(transparent)]
    UnknownIoctl(#[from] UnknownIoctlError),
    #[error("ND_CMD_CALL: {0}")]
    Call(io::Error),
    #[error("SMART answer: {0}")]
    SmartAnswer(ocxlpmem_core::error::Error),
    #[error("SMART package {0} was accepted")]
    MalformedAccepted(&'static str),
}

fn encoding() -> &'static uapi::IocEncoding {
    if cfg!(any(target_arch = "powerpc", target_arch = "powerpc64")) {
        &uapi::IOC_POWERPC
    } else {
        &uapi::IOC_GENERIC
    }
}

fn open(path: &Path) -> Result<File, ToolError> {
    File::options()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|source| ToolError::Open {
            path: path.to_owned(),
            source,
        })
}

/// Issues `ioctl` with `payload` (whose size the ioctl declares).
fn ioctl(dev: &File, ioctl: Ioctl, payload: &mut [u8]) -> Result<(), ToolError> {
    let (_, _, size) = ioctl.def();
    if payload.len() != size {
        return Err(ToolError::Payload {
            ioctl,
            len: payload.len(),
            size,
        });
    }
    let nr = ioctl.number(encoding()).ok_or(ToolError::NoNumber(ioctl))?;
    let arg = if size == 0 {
        0
    } else {
        payload.as_mut_ptr() as libc::c_ulong
    };
    // SAFETY: `arg` is 0 or a buffer of exactly the size the ioctl number
    // declares, live for the call.
    let rc = unsafe { libc::ioctl(dev.as_raw_fd(), nr as libc::c_ulong, arg) };
    if rc < 0 {
        return Err(ToolError::Ioctl {
            ioctl,
            source: io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// The errno of a failed ioctl, if that is what `e` is.
fn errno(e: &ToolError) -> Option<i32> {
    match e {
        ToolError::Ioctl { source, .. } => source.raw_os_error(),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(bytes: &[u8]) -> String {
    let n = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..n]).into_owned()
}

fn stats(dev: &File) -> Result<(), ToolError> {
    let mut b = [0u8; uapi::STATS_SIZE];
    ioctl(dev, Ioctl::ControllerStats, &mut b)?;
    let s = uapi::decode_stats(&b);
    let names = [
        "host_load_count",
        "host_store_count",
        "host_load_duration",
        "host_store_duration",
        "media_read_count",
        "media_write_count",
        "media_read_duration",
        "media_write_duration",
        "cache_read_hit_count",
        "cache_write_hit_count",
        "fast_write_count",
    ];
    let counters: Vec<String> = names
        .iter()
        .zip(s.counters())
        .map(|(n, v)| format!("\"{n}\":{v}"))
        .collect();
    println!(
        "{{\"reset_count\":{},\"reset_uptime\":{},\"power_on_uptime\":{},\"life_remaining\":{},\"critical_resource_utilization\":{},{}}}",
        s.reset_count,
        s.reset_uptime,
        s.power_on_uptime,
        s.life_remaining,
        s.critical_resource_utilization,
        counters.join(",")
    );
    Ok(())
}

/// Reads the oldest error log entry with a data buffer of `size` bytes
/// (rounded down to a multiple of 8). An entry with more data stays with
/// the driver, which answers EOVERFLOW with the entry's data size: the
/// call is then made once more with a buffer of that size.
fn error_log(dev: &File, size: u16) -> Result<(), ToolError> {
    let mut size = size & !7;
    let mut retries = 0u32;
    let (e, data) = loop {
        let mut data = vec![0u8; usize::from(size)];
        let args = ErrorLogArgs {
            buf_ptr: data.as_mut_ptr() as u64,
            buf_size: size,
        };
        let mut b = args.request();
        match ioctl(dev, Ioctl::ErrorLog, &mut b) {
            Ok(()) => {}
            Err(e) if errno(&e) == Some(libc::EOVERFLOW) => {
                if retries > 0 {
                    return Err(ToolError::ErrorDataGrew);
                }
                let need = ErrorLogArgs::answer(&b).map_or(0, |e| e.data_len);
                size = u16::try_from(need.next_multiple_of(8))
                    .map_err(|_| ToolError::ErrorDataTooLarge(need))?;
                retries += 1;
                continue;
            }
            Err(e) => return Err(e),
        }
        let Some(e): Option<ErrorLogEntry> = ErrorLogArgs::answer(&b) else {
            println!("{{}}");
            return Ok(());
        };
        break (e, data);
    };
    let copied = e.data_len.min(data.len());
    println!(
        "{{\"log_identifier\":{},\"program_reference_code\":{},\"error_log_type\":{},\"type\":\"{}\",\"action_flags\":{},\"power_on_seconds\":{},\"timestamp\":{},\"wwid\":\"{:016x}{:016x}\",\"fw_revision\":\"{}\",\"data_len\":{},\"data\":\"{}\",\"buffer_retries\":{}}}",
        e.log_identifier,
        e.program_reference_code,
        e.error_log_type,
        ocxlpmem_core::data::error_log_type_name(e.error_log_type),
        e.action_flags,
        e.power_on_seconds,
        e.timestamp,
        e.wwid[0],
        e.wwid[1],
        text(&e.fw_revision),
        e.data_len,
        hex(&data[..copied]),
        retries
    );
    Ok(())
}

fn dump(dev: &File, path: &Path) -> Result<(), ToolError> {
    ioctl(dev, Ioctl::ControllerDump, &mut [])?;
    let output = |source| ToolError::Output {
        path: path.to_owned(),
        source,
    };
    let mut out = File::create(path).map_err(output)?;
    let mut chunk = vec![0u8; usize::from(DUMP_CHUNK)];
    let mut offset = 0u32;
    loop {
        let args = DumpDataArgs {
            buf_ptr: chunk.as_mut_ptr() as u64,
            buf_size: DUMP_CHUNK,
            offset,
        };
        let mut b = args.request();
        ioctl(dev, Ioctl::ControllerDumpData, &mut b)?;
        let n = DumpDataArgs::returned(&b);
        if n == 0 {
            break;
        }
        let n = usize::from(n).min(chunk.len());
        out.write_all(&chunk[..n]).map_err(output)?;
        offset = offset
            .checked_add(n as u32)
            .ok_or(ToolError::DumpTooLarge)?;
    }
    ioctl(dev, Ioctl::ControllerDumpComplete, &mut [])?;
    println!("{{\"dump\":\"{}\",\"bytes\":{offset}}}", path.display());
    Ok(())
}

fn events(dev: &File) -> Result<(), ToolError> {
    let mut b = [0u8; 8];
    ioctl(dev, Ioctl::EventCheck, &mut b)?;
    let e = u64::from_ne_bytes(b);
    let names = [
        (
            uapi::EVENT_CONTROLLER_DUMP_AVAILABLE,
            "controller_dump_available",
        ),
        (uapi::EVENT_ERROR_LOG_AVAILABLE, "error_log_available"),
        (uapi::EVENT_HARDWARE_FATAL, "hardware_fatal"),
        (uapi::EVENT_FIRMWARE_FATAL, "firmware_fatal"),
    ];
    let set: Vec<String> = names
        .iter()
        .filter(|(bit, _)| e & bit != 0)
        .map(|(_, n)| format!("\"{n}\""))
        .collect();
    println!("{{\"events\":[{}]}}", set.join(","));
    Ok(())
}

/// A new eventfd.
fn new_eventfd() -> Result<OwnedFd, ToolError> {
    // SAFETY: eventfd has no memory arguments; the result is checked.
    let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
    if raw < 0 {
        return Err(ToolError::Eventfd(io::Error::last_os_error()));
    }
    // SAFETY: `raw` is a fresh descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Registers `efd` for the card's interrupts through `dev`.
fn register_eventfd(dev: &File, efd: &OwnedFd) -> Result<(), ToolError> {
    let mut b = [0u8; uapi::EVENTFD_SIZE];
    b[..4].copy_from_slice(&(efd.as_raw_fd() as u32).to_ne_bytes());
    ioctl(dev, Ioctl::Eventfd, &mut b)
}

/// Registers an eventfd for the card's interrupts, asks for health data
/// (which the card answers with an error log entry, an event) and waits
/// for the eventfd: the interrupt's way from the card to userspace.
fn watch_health(dev: &File) -> Result<(), ToolError> {
    let efd = new_eventfd()?;
    register_eventfd(dev, &efd)?;
    ioctl(dev, Ioctl::RequestHealth, &mut [])?;
    println!("{{\"interrupts\":{}}}", wait_eventfd(&efd)?);
    Ok(())
}

/// Waits (5 s at most) for `efd` to be signalled; returns its count.
fn wait_eventfd(efd: &OwnedFd) -> Result<u64, ToolError> {
    let mut pfd = libc::pollfd {
        fd: efd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut pfd, 1, 5000) };
    if n <= 0 {
        return Err(ToolError::NoInterrupt);
    }
    let mut count = [0u8; 8];
    // SAFETY: reads the 8-byte counter into a live local buffer.
    let r = unsafe { libc::read(efd.as_raw_fd(), count.as_mut_ptr().cast(), 8) };
    if r != 8 {
        return Err(ToolError::Eventfd(io::Error::last_os_error()));
    }
    Ok(u64::from_ne_bytes(count))
}

/// The outcome of an ioctl as JSON text: `"ok"` or the errno's name.
fn outcome(r: Result<(), ToolError>) -> Result<String, ToolError> {
    match r {
        Ok(()) => Ok("ok".into()),
        Err(e) => match errno(&e) {
            Some(libc::ENODEV) => Ok("ENODEV".into()),
            Some(libc::EIO) => Ok("EIO".into()),
            Some(n) => Ok(format!("errno {n}")),
            None => Err(e),
        },
    }
}

/// Registers an eventfd, reads the statistics (a card fault armed on that
/// command makes the controller fail fatally), waits for the interrupt
/// and tries one more ioctl: how a fatal failure looks from userspace.
fn watch_fatal(dev: &File) -> Result<(), ToolError> {
    let efd = new_eventfd()?;
    register_eventfd(dev, &efd)?;
    let mut b = [0u8; uapi::STATS_SIZE];
    let stats = outcome(ioctl(dev, Ioctl::ControllerStats, &mut b))?;
    let interrupts = wait_eventfd(&efd)?;
    let mut e = [0u8; 8];
    let after = outcome(ioctl(dev, Ioctl::EventCheck, &mut e))?;
    println!("{{\"stats\":\"{stats}\",\"interrupts\":{interrupts},\"after\":\"{after}\"}}");
    Ok(())
}

/// A firmware debug action (debug kernels only); prints the buffer as the
/// card returned it.
fn fwdebug(dev: &File, a: &FwDebug) -> Result<(), ToolError> {
    let mut buf = vec![0u8; usize::from(a.size)];
    let data = hex_bytes(&a.data).ok_or(ToolError::BadHex)?;
    let n = data.len().min(buf.len());
    buf[..n].copy_from_slice(&data[..n]);
    let args = uapi::FwDebugArgs {
        parameter_1: a.p1,
        parameter_2: a.p2,
        buf_ptr: if buf.is_empty() {
            0
        } else {
            buf.as_mut_ptr() as u64
        },
        action: a.action,
        function_code: a.function,
        buf_size: a.size,
    };
    let mut b = args.request();
    ioctl(dev, Ioctl::FwDebug, &mut b)?;
    println!("{{\"action\":{},\"data\":\"{}\"}}", a.action, hex(&buf));
    Ok(())
}

fn mmio(dev: &File, address: u64, value: Option<u64>) -> Result<(), ToolError> {
    let mut b = [0u8; uapi::MMIO_SIZE];
    b[..8].copy_from_slice(&address.to_ne_bytes());
    match value {
        Some(v) => {
            b[8..].copy_from_slice(&v.to_ne_bytes());
            ioctl(dev, Ioctl::MmioWrite, &mut b)?;
            println!("{{\"address\":\"{address:#x}\",\"written\":\"{v:#x}\"}}");
        }
        None => {
            ioctl(dev, Ioctl::MmioRead, &mut b)?;
            let v = u64::from_ne_bytes(b[8..].try_into().unwrap_or_default());
            println!("{{\"address\":\"{address:#x}\",\"value\":\"{v:#x}\"}}");
        }
    }
    Ok(())
}

fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A number in decimal or `0x` hex.
fn number(s: &str) -> Result<u64, std::num::ParseIntError> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    }
}

/// One eventfd per card: with one registered through a file, another
/// registration (through another file or the same one) is refused with
/// EBUSY; once that file is closed, another file can register.
fn eventfd_exclusive(path: &Path) -> Result<(), ToolError> {
    let (first, second) = (open(path)?, open(path)?);
    let (a, b) = (new_eventfd()?, new_eventfd()?);
    register_eventfd(&first, &a)?;
    let busy = |r: Result<(), ToolError>, what| match r {
        Err(e) if errno(&e) == Some(libc::EBUSY) => Ok(()),
        Err(e) => Err(e),
        Ok(()) => Err(ToolError::NotExclusive(what)),
    };
    busy(
        register_eventfd(&second, &b),
        "another file registered one while the first file holds one",
    )?;
    busy(
        register_eventfd(&first, &b),
        "the file holding one registered another",
    )?;
    drop(first);
    register_eventfd(&second, &b)?;
    println!("{{\"other_file\":\"EBUSY\",\"same_file\":\"EBUSY\",\"after_close\":\"registered\"}}");
    Ok(())
}

/// The ioctl numbers the driver owns (`uapi::MAGIC`, these `nr`s; the
/// debug ones, 0xf0..=0xf3, are outside).
const DRIVER_NRS: std::ops::RangeInclusive<u8> = 0x30..=0x3f;

/// Why `unknown-ioctl` failed.
#[derive(Debug)]
enum UnknownIoctlError {
    /// Every number of the driver's range is assigned: nothing to issue.
    NoFreeNumber,
    /// The kernel accepted the ioctl `cmd`.
    Accepted { cmd: u32 },
    /// The kernel refused `cmd` with another errno than ENOTTY.
    Refused { cmd: u32, err: std::io::Error },
}

impl fmt::Display for UnknownIoctlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoFreeNumber => write!(
                f,
                "every ioctl number {:#x}..={:#x} is assigned",
                DRIVER_NRS.start(),
                DRIVER_NRS.end()
            ),
            Self::Accepted { cmd } => {
                write!(f, "ioctl {cmd:#010x} succeeded, expected ENOTTY")
            }
            Self::Refused { cmd, err } => write!(
                f,
                "ioctl {cmd:#010x} failed with errno {} ({err}), expected ENOTTY ({})",
                err.raw_os_error().unwrap_or(0),
                libc::ENOTTY
            ),
        }
    }
}

impl std::error::Error for UnknownIoctlError {}

/// `_IO(MAGIC, nr)` for the first `nr` of the driver's range that no ioctl
/// uses (in any direction) under `enc`: no payload, so the call cannot
/// touch memory.
fn unassigned_ioctl(enc: &uapi::IocEncoding) -> Option<u32> {
    let nr = DRIVER_NRS
        .clone()
        .find(|&nr| uapi::IOCTLS.iter().all(|i| i.def().0 != nr))?;
    uapi::ioc(enc, Dir::None, nr, 0)
}

/// Issues an ioctl number of the driver's magic that it does not implement
/// and succeeds only if the kernel refused it with ENOTTY.
fn unknown_ioctl(dev: &File) -> Result<(), UnknownIoctlError> {
    let cmd = unassigned_ioctl(encoding()).ok_or(UnknownIoctlError::NoFreeNumber)?;
    // SAFETY: an `_IO` number (no payload): the argument is not a pointer
    // and nothing is read or written through it.
    let rc = unsafe { libc::ioctl(dev.as_raw_fd(), cmd as libc::c_ulong, 0 as libc::c_ulong) };
    if rc >= 0 {
        return Err(UnknownIoctlError::Accepted { cmd });
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::ENOTTY) {
        return Err(UnknownIoctlError::Refused { cmd, err });
    }
    println!("{{\"ioctl\":\"{cmd:#010x}\",\"errno\":\"ENOTTY\"}}");
    Ok(())
}
/// `/dev/nmemN` of `dimm` (`nmemN` or a path).
fn dimm_path(dimm: &str) -> PathBuf {
    if dimm.contains('/') {
        PathBuf::from(dimm)
    } else {
        Path::new("/dev").join(dimm)
    }
}

/// Sends the `ND_CMD_CALL` package `buf` to the DIMM `dev`.
fn nd_call(dev: &File, buf: &mut [u8]) -> Result<(), io::Error> {
    let nr = smart::nd_ioctl_call(encoding());
    // SAFETY: `buf` is an `nd_cmd_pkg` header followed by the input and
    // output it declares, live for the call; the kernel copies no more.
    let rc = unsafe { libc::ioctl(dev.as_raw_fd(), nr as libc::c_ulong, buf.as_mut_ptr()) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Reads the SMART attributes with room for `attrs` and prints the health.
fn smart_report(dimm: &str, attrs: usize) -> Result<(), ToolError> {
    let path = dimm_path(dimm);
    let dev = open(&path)?;
    let pkg = health::Package::smart(attrs);
    let mut buf = pkg.encode();
    nd_call(&dev, &mut buf).map_err(ToolError::Call)?;
    let answer = health::decode(&pkg, &buf).map_err(ToolError::SmartAnswer)?;
    let name = path
        .file_name()
        .map_or_else(|| dimm.to_string(), |n| n.to_string_lossy().into_owned());
    println!("{}", health::report_json(&name, &answer));
    Ok(())
}

/// Sends each malformed SMART package and prints its errno; any package
/// accepted is an error.
fn smart_malformed(dimm: &str) -> Result<(), ToolError> {
    let dev = open(&dimm_path(dimm))?;
    let mut out = Vec::new();
    for (name, pkg) in health::malformed() {
        let mut buf = pkg.encode();
        match nd_call(&dev, &mut buf) {
            Ok(()) => return Err(ToolError::MalformedAccepted(name)),
            Err(e) => match e.raw_os_error() {
                Some(n) => out.push(format!("\"{name}\":\"{}\"", health::errno_name(n))),
                None => return Err(ToolError::Call(e)),
            },
        }
    }
    println!("{{{}}}", out.join(","));
    Ok(())
}

#[derive(Parser)]
#[command(
    name = "ocxlpmem",
    about = "Drives the ioctls of an OpenCAPI pmem card's /dev/ocxlpmemN (Rust ocxlpmem_rs driver) and prints JSON",
    after_help = "Exit status: 0 done, 1 the ioctl failed (errno printed), 2 bad usage."
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Controller statistics.
    Stats {
        #[arg(default_value = DEFAULT_DEV)]
        dev: PathBuf,
    },
    /// The oldest error log entry ({} when none).
    ErrorLog {
        /// Data buffer of the first call, in bytes (a multiple of 8); an
        /// entry with more data is read again with a buffer that fits.
        #[arg(long, default_value_t = ERROR_DATA)]
        size: u16,
        #[arg(default_value = DEFAULT_DEV)]
        dev: PathBuf,
    },
    /// Collects a controller dump into FILE.
    Dump {
        file: PathBuf,
        #[arg(default_value = DEFAULT_DEV)]
        dev: PathBuf,
    },
    /// Asks the controller for health data (an error log entry).
    RequestHealth {
        #[arg(default_value = DEFAULT_DEV)]
        dev: PathBuf,
    },
    /// Pending events.
    Events {
        #[arg(default_value = DEFAULT_DEV)]
        dev: PathBuf,
    },
    /// Registers an eventfd, requests health data, waits (5 s at most) for the interrupt.
    WatchHealth {
        #[arg(default_value = DEFAULT_DEV)]
        dev: PathBuf,
    },
    /// Registers an eventfd, reads the statistics (arm a fatal card fault
    /// on them first), waits for the interrupt, tries one more ioctl.
    WatchFatal {
        #[arg(default_value = DEFAULT_DEV)]
        dev: PathBuf,
    },
    /// A firmware debug action (kernels with CONFIG_OCXLPMEM_RUST_DEBUG).
    Fwdebug(FwDebug),
    /// Reads a register of the card's global MMIO (debug kernels).
    MmioRead {
        #[arg(value_parser = number)]
        address: u64,
        #[arg(default_value = DEFAULT_DEV)]
        dev: PathBuf,
    },
    /// Writes a register of the card's global MMIO (debug kernels).
    MmioWrite {
        #[arg(value_parser = number)]
        address: u64,
        #[arg(value_parser = number)]
        value: u64,
        #[arg(default_value = DEFAULT_DEV)]
        dev: PathBuf,
    },
    /// Shuts the controller down (debug kernels).
    Shutdown {
        #[arg(default_value = DEFAULT_DEV)]
        dev: PathBuf,
    },
    /// Checks that a card takes one eventfd at a time, until its file is closed.
    EventfdExclusive {
        #[arg(default_value = DEFAULT_DEV)]
        dev: PathBuf,
    },
    /// Issues an ioctl of the driver's magic it does not have: succeeds only on ENOTTY.
    UnknownIoctl {
        #[arg(default_value = DEFAULT_DEV)]
        dev: PathBuf,
    },
    /// The card's SMART attributes and health, through ND_CMD_CALL on /dev/nmemN.
    Smart {
        /// Room for this many attributes (the answer says how many the card has).
        #[arg(long, default_value_t = 255)]
        attrs: usize,
        #[arg(default_value = DEFAULT_DIMM)]
        dimm: String,
    },
    /// Sends malformed SMART packages; prints the errno of each.
    SmartMalformed {
        #[arg(default_value = DEFAULT_DIMM)]
        dimm: String,
    },
}

#[derive(clap::Args)]
struct FwDebug {
    /// The debug action (1 read controller memory, 2 write it, 3 enable
    /// a function, 4 disable it, 5 persistent error log).
    #[arg(long)]
    action: u8,
    #[arg(long, default_value_t = 0)]
    function: u16,
    /// First parameter (the controller memory address for 1 and 2).
    #[arg(long, value_parser = number, default_value = "0")]
    p1: u64,
    /// Second parameter (the length for 1 and 2).
    #[arg(long, value_parser = number, default_value = "0")]
    p2: u64,
    /// The in/out buffer's size (a multiple of 8).
    #[arg(long, default_value_t = 0)]
    size: u16,
    /// Bytes to put in the buffer first, as hex.
    #[arg(long, default_value = "")]
    data: String,
    #[arg(default_value = DEFAULT_DEV)]
    dev: PathBuf,
}

fn run(cmd: Cmd) -> Result<(), ToolError> {
    match cmd {
        Cmd::Stats { dev } => stats(&open(&dev)?),
        Cmd::ErrorLog { size, dev } => error_log(&open(&dev)?, size),
        Cmd::Dump { file, dev } => dump(&open(&dev)?, &file),
        Cmd::RequestHealth { dev } => ioctl(&open(&dev)?, Ioctl::RequestHealth, &mut []),
        Cmd::Events { dev } => events(&open(&dev)?),
        Cmd::WatchHealth { dev } => watch_health(&open(&dev)?),
        Cmd::WatchFatal { dev } => watch_fatal(&open(&dev)?),
        Cmd::Fwdebug(a) => fwdebug(&open(&a.dev)?, &a),
        Cmd::MmioRead { address, dev } => mmio(&open(&dev)?, address, None),
        Cmd::MmioWrite {
            address,
            value,
            dev,
        } => mmio(&open(&dev)?, address, Some(value)),
        Cmd::Shutdown { dev } => ioctl(&open(&dev)?, Ioctl::Shutdown, &mut []),
        Cmd::EventfdExclusive { dev } => eventfd_exclusive(&dev),
        Cmd::UnknownIoctl { dev } => Ok(unknown_ioctl(&open(&dev)?)?),
        Cmd::Smart { attrs, dimm } => smart_report(&dimm, attrs),
        Cmd::SmartMalformed { dimm } => smart_malformed(&dimm),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse().cmd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ocxlpmem: {e}");
            ExitCode::FAILURE
        }
    }
}
