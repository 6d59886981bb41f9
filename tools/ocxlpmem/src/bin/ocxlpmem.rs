// SPDX-License-Identifier: GPL-2.0
//! `ocxlpmem`: the userspace tool of the Rust ocxlpmem driver. Drives the
//! ioctls of `/dev/ocxlpmemN` (`include/uapi/linux/ocxlpmem.h`) with the
//! same layouts the driver decodes (`ocxlpmem_core::uapi`) and prints JSON.
//!
//! ```text
//! ocxlpmem stats [DEV]            controller statistics
//! ocxlpmem error-log [DEV]        the oldest error log entry ({} when none)
//! ocxlpmem dump FILE [DEV]        collect a controller dump into FILE
//! ocxlpmem request-health [DEV]   ask the controller for health data
//! ocxlpmem events [DEV]           pending events
//! ocxlpmem watch-health [DEV]     register an eventfd, request health data,
//!                                 wait (5 s at most) for the interrupt
//! ocxlpmem unknown-ioctl [DEV]    issue an ioctl the driver does not have
//!                                 (its magic, an unassigned number): succeeds
//!                                 only if the kernel answers ENOTTY
//! ```
//!
//! DEV defaults to `/dev/ocxlpmem0`. Exit status: 0 done, 1 the ioctl
//! failed (errno printed), 2 bad usage.

use ocxlpmem_core::data::ErrorLogEntry;
use ocxlpmem_core::uapi::{self, Dir, DumpDataArgs, ErrorLogArgs, Ioctl};
use std::fmt;
use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::process::ExitCode;

/// Largest error log additional data fetched.
const ERROR_DATA: u16 = 4096;
/// Bytes per dump chunk.
const DUMP_CHUNK: u16 = 4096;

fn encoding() -> &'static uapi::IocEncoding {
    if cfg!(any(target_arch = "powerpc", target_arch = "powerpc64")) {
        &uapi::IOC_POWERPC
    } else {
        &uapi::IOC_GENERIC
    }
}

/// Issues `ioctl` with `payload` (whose size the ioctl declares).
fn ioctl(dev: &File, ioctl: Ioctl, payload: &mut [u8]) -> Result<(), String> {
    let (_, _, size) = ioctl.def();
    if payload.len() != size {
        return Err(format!(
            "{ioctl:?}: payload of {} bytes, not {size}",
            payload.len()
        ));
    }
    let nr = ioctl
        .number(encoding())
        .ok_or_else(|| format!("{ioctl:?}: no number"))?;
    let arg = if size == 0 {
        0
    } else {
        payload.as_mut_ptr() as libc::c_ulong
    };
    // SAFETY: `arg` is 0 or a buffer of exactly the size the ioctl number
    // declares, live for the call.
    let rc = unsafe { libc::ioctl(dev.as_raw_fd(), nr as libc::c_ulong, arg) };
    if rc < 0 {
        return Err(format!("{ioctl:?}: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(bytes: &[u8]) -> String {
    let n = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..n]).into_owned()
}

fn stats(dev: &File) -> Result<(), String> {
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

fn error_log(dev: &File) -> Result<(), String> {
    let mut data = vec![0u8; usize::from(ERROR_DATA)];
    let args = ErrorLogArgs {
        buf_ptr: data.as_mut_ptr() as u64,
        buf_size: ERROR_DATA,
    };
    let mut b = args.request();
    ioctl(dev, Ioctl::ErrorLog, &mut b)?;
    let Some(e): Option<ErrorLogEntry> = ErrorLogArgs::answer(&b) else {
        println!("{{}}");
        return Ok(());
    };
    let copied = e.data_len.min(data.len());
    println!(
        "{{\"log_identifier\":{},\"program_reference_code\":{},\"error_log_type\":{},\"type\":\"{}\",\"action_flags\":{},\"power_on_seconds\":{},\"timestamp\":{},\"wwid\":\"{:016x}{:016x}\",\"fw_revision\":\"{}\",\"data_len\":{},\"data\":\"{}\"}}",
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
        hex(&data[..copied])
    );
    Ok(())
}

fn dump(dev: &File, path: &str) -> Result<(), String> {
    ioctl(dev, Ioctl::ControllerDump, &mut [])?;
    let mut out = File::create(path).map_err(|e| format!("{path}: {e}"))?;
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
        out.write_all(&chunk[..n])
            .map_err(|e| format!("{path}: {e}"))?;
        offset = offset
            .checked_add(n as u32)
            .ok_or("dump larger than 4 GiB")?;
    }
    ioctl(dev, Ioctl::ControllerDumpComplete, &mut [])?;
    println!("{{\"dump\":\"{path}\",\"bytes\":{offset}}}");
    Ok(())
}

fn events(dev: &File) -> Result<(), String> {
    let mut b = [0u8; 8];
    ioctl(dev, Ioctl::EventCheck, &mut b)?;
    let e = u64::from_le_bytes(b);
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

/// Registers an eventfd for the card's interrupts, asks for health data
/// (which the card answers with an error log entry, an event) and waits
/// for the eventfd: the interrupt's way from the card to userspace.
fn watch_health(dev: &File) -> Result<(), String> {
    // SAFETY: eventfd has no memory arguments; the result is checked.
    let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
    if raw < 0 {
        return Err(format!("eventfd: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: `raw` is a fresh descriptor nothing else owns.
    let efd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) };
    let mut b = [0u8; uapi::EVENTFD_SIZE];
    b[..4].copy_from_slice(&(raw as u32).to_le_bytes());
    ioctl(dev, Ioctl::Eventfd, &mut b)?;
    ioctl(dev, Ioctl::RequestHealth, &mut [])?;
    let mut pfd = libc::pollfd {
        fd: efd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut pfd, 1, 5000) };
    if n <= 0 {
        return Err("no interrupt within 5 s".into());
    }
    let mut count = [0u8; 8];
    // SAFETY: reads the 8-byte counter into a live local buffer.
    let r = unsafe { libc::read(efd.as_raw_fd(), count.as_mut_ptr().cast(), 8) };
    if r != 8 {
        return Err(format!("eventfd read: {}", std::io::Error::last_os_error()));
    }
    println!("{{\"interrupts\":{}}}", u64::from_ne_bytes(count));
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

fn usage() -> ExitCode {
    eprintln!(
        "usage: ocxlpmem stats|error-log|request-health|events|watch-health|unknown-ioctl [DEV] | ocxlpmem dump FILE [DEV]"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, file, dev) = match args.as_slice() {
        [c] if c != "dump" => (c.as_str(), None, "/dev/ocxlpmem0"),
        [c, d] if c != "dump" => (c.as_str(), None, d.as_str()),
        [c, f] if c == "dump" => (c.as_str(), Some(f.as_str()), "/dev/ocxlpmem0"),
        [c, f, d] if c == "dump" => (c.as_str(), Some(f.as_str()), d.as_str()),
        _ => return usage(),
    };
    let dev_file = match File::options().read(true).write(true).open(dev) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("ocxlpmem: {dev}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match (cmd, file) {
        ("stats", None) => stats(&dev_file),
        ("error-log", None) => error_log(&dev_file),
        ("request-health", None) => ioctl(&dev_file, Ioctl::RequestHealth, &mut []),
        ("events", None) => events(&dev_file),
        ("watch-health", None) => watch_health(&dev_file),
        ("unknown-ioctl", None) => unknown_ioctl(&dev_file).map_err(|e| e.to_string()),
        ("dump", Some(path)) => dump(&dev_file, path),
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ocxlpmem: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unassigned_ioctl_is_the_drivers_and_unknown_to_it() {
        for enc in [&uapi::IOC_GENERIC, &uapi::IOC_POWERPC] {
            let cmd = unassigned_ioctl(enc).expect("a free number");
            assert_eq!((cmd >> 8) & 0xff, u32::from(uapi::MAGIC));
            let nr = (cmd & 0xff) as u8;
            assert!(DRIVER_NRS.contains(&nr), "{nr:#x}");
            assert_eq!(Ioctl::from_number(cmd, enc), None);
            assert!(uapi::IOCTLS.iter().all(|i| i.def().0 != nr));
            assert_eq!(Some(cmd), uapi::ioc(enc, Dir::None, nr, 0));
        }
    }

    #[test]
    fn unknown_ioctl_errors_name_the_errno() {
        let e = UnknownIoctlError::Refused {
            cmd: 0xca38,
            err: std::io::Error::from_raw_os_error(libc::EINVAL),
        };
        let text = e.to_string();
        assert!(
            text.contains("errno 22") && text.contains("0x0000ca38"),
            "{text}"
        );
        let a = UnknownIoctlError::Accepted { cmd: 0xca38 }.to_string();
        assert!(a.contains("succeeded"), "{a}");
    }
}
