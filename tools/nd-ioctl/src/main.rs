// SPDX-License-Identifier: GPL-2.0
//! Sends ndctl ioctls with bad sizes, offsets, families and command numbers
//! to a DIMM (`/dev/nmemN`) and a bus (`/dev/ndctlN`), plus valid ones as
//! controls, and checks that each gets the errno the C core gives (or 0).
//!
//! ```text
//! nd-ioctl bad-input /dev/nmem0 /dev/ndctl0 LABEL_SIZE
//! nd-ioctl stale /dev/nmem0 MODULE      (ioctl after the provider is gone)
//! nd-ioctl nfit-call /dev/nmem0          (ND_CMD_CALL rules of the NFIT
//!                                          driver, on an Intel-family DIMM
//!                                          offering function 4 but not 2)
//! nd-ioctl add-key user nvdimm-master HEX|random   (user keyring; prints
//!                                          the serial)
//! nd-ioctl fw-image VERSION LEN OUT [bad]  (a test VMM firmware image)
//! nd-ioctl vendor /dev/nmem0 OPCODE HEX   (ND_CMD_VENDOR; prints the
//!                                          status and the output in hex)
//! nd-ioctl ars-start /dev/ndctl0 ADDR LEN  (ND_CMD_ARS_START of a
//!                                          persistent-memory range; prints
//!                                          "ok" or the errno's name)
//! ```

mod keys;

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::process::ExitCode;

const ND_CMD_GET_CONFIG_SIZE: u32 = 4;
const ND_CMD_GET_CONFIG_DATA: u32 = 5;
const ND_CMD_SET_CONFIG_DATA: u32 = 6;
const ND_CMD_VENDOR: u32 = 9;
const ND_CMD_CALL: u32 = 10;
const ND_CMD_ARS_CAP: u32 = 1;
const ND_CMD_ARS_START: u32 = 2;
/// `struct nd_cmd_ars_start`: address, length, type, flags, reserved,
/// status, scrub time.
const ARS_START_LEN: u32 = 32;
/// `ND_ARS_PERSISTENT`.
const ND_ARS_PERSISTENT: u16 = 2;
const NVDIMM_FAMILY_INTEL: u64 = 0;
const NVDIMM_FAMILY_PAPR: u64 = 5;

/// `_IOWR('N', nr, size)`.
fn iowr(nr: u32, size: u32) -> u32 {
    (3 << 30) | ((size & 0x3fff) << 16) | (u32::from(b'N') << 8) | nr
}

fn ioctl(file: &File, nr: u32, size: u32, buf: &mut [u8]) -> i32 {
    // SAFETY: `buf` is valid for its length, which covers every byte the
    // kernel is allowed to touch for the sizes the buffer declares (each
    // case sizes its buffer to what it declares).
    let rc = unsafe {
        libc::ioctl(
            file.as_raw_fd(),
            iowr(nr, size) as libc::c_ulong,
            buf.as_mut_ptr(),
        )
    };
    if rc < 0 {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
    } else {
        0
    }
}

fn u32_at(buf: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(buf[at..at + 4].try_into().unwrap_or([0; 4]))
}

/// A config-data command: offset, length, then room for `room` more bytes.
fn config_cmd(offset: u32, len: u32, room: usize) -> Vec<u8> {
    let mut b = vec![0u8; 12 + room];
    b[0..4].copy_from_slice(&offset.to_ne_bytes());
    b[4..8].copy_from_slice(&len.to_ne_bytes());
    b
}

/// An `nd_cmd_pkg` with an empty payload of `room` bytes.
fn call_cmd(family: u64, size_in: u32, size_out: u32, room: usize) -> Vec<u8> {
    let mut b = vec![0u8; 64 + room];
    b[0..8].copy_from_slice(&family.to_ne_bytes());
    b[16..20].copy_from_slice(&size_in.to_ne_bytes());
    b[20..24].copy_from_slice(&size_out.to_ne_bytes());
    b
}

struct Report {
    failed: u32,
}

impl Report {
    fn expect(&mut self, name: &str, got: i32, want: i32) {
        let show = |e: i32| {
            if e == 0 {
                "0".to_string()
            } else {
                format!("{} ({})", std::io::Error::from_raw_os_error(e), e)
            }
        };
        if got == want {
            println!("ok   {name}: {}", show(got));
        } else {
            println!("FAIL {name}: got {}, want {}", show(got), show(want));
            self.failed += 1;
        }
    }

    fn expect_one_of(&mut self, name: &str, got: i32, want: &[i32]) {
        let ok = want.contains(&got);
        self.require(
            name,
            ok,
            &format!(
                "{} (want one of {want:?})",
                std::io::Error::from_raw_os_error(got)
            ),
        );
    }

    fn require(&mut self, name: &str, ok: bool, what: &str) {
        if ok {
            println!("ok   {name}: {what}");
        } else {
            println!("FAIL {name}: {what}");
            self.failed += 1;
        }
    }
}

fn open(path: &str, write: bool) -> Result<File, String> {
    OpenOptions::new()
        .read(true)
        .write(write)
        .open(path)
        .map_err(|e| format!("{path}: {e}"))
}

fn bad_input(nmem: &str, ndctl: &str, label_size: u32) -> Result<Report, String> {
    let dimm = open(nmem, true)?;
    let dimm_ro = open(nmem, false)?;
    let bus = open(ndctl, true)?;
    let mut r = Report { failed: 0 };

    // Controls: valid commands work and report the label area.
    let mut b = vec![0u8; 12];
    r.expect(
        "get-config-size",
        ioctl(&dimm, ND_CMD_GET_CONFIG_SIZE, 12, &mut b),
        0,
    );
    r.require(
        "config-size-value",
        u32_at(&b, 0) == 0 && u32_at(&b, 4) == label_size && u32_at(&b, 8) > 0,
        &format!(
            "status {} size {} max_xfer {}",
            u32_at(&b, 0),
            u32_at(&b, 4),
            u32_at(&b, 8)
        ),
    );
    let mut b = config_cmd(0, 256, 256);
    r.expect(
        "get-config-data-ok",
        ioctl(&dimm, ND_CMD_GET_CONFIG_DATA, 12, &mut b),
        0,
    );
    // The core takes only the command number from the ioctl; size bits are ignored.
    let mut b = vec![0u8; 12];
    r.expect(
        "size-bits-ignored",
        ioctl(&dimm, ND_CMD_GET_CONFIG_SIZE, 0, &mut b),
        0,
    );

    // Ranges outside the label area.
    let mut b = config_cmd(label_size - 8, 16, 16);
    r.expect(
        "get-past-end",
        ioctl(&dimm, ND_CMD_GET_CONFIG_DATA, 12, &mut b),
        libc::EINVAL,
    );
    let mut b = config_cmd(0xffff_fff0, 32, 32);
    r.expect(
        "get-offset-wraps",
        ioctl(&dimm, ND_CMD_GET_CONFIG_DATA, 12, &mut b),
        libc::EINVAL,
    );
    let mut b = config_cmd(label_size, 4, 8);
    r.expect(
        "set-past-end",
        ioctl(&dimm, ND_CMD_SET_CONFIG_DATA, 8, &mut b),
        libc::EINVAL,
    );
    // Larger than the core's 4 MiB envelope: refused before any copy.
    let mut b = config_cmd(0, 5 << 20, 64);
    r.expect(
        "get-over-4mib",
        ioctl(&dimm, ND_CMD_GET_CONFIG_DATA, 12, &mut b),
        libc::EINVAL,
    );
    // Writes through a read-only descriptor.
    let mut b = config_cmd(0, 4, 8);
    r.expect(
        "set-read-only-fd",
        ioctl(&dimm_ro, ND_CMD_SET_CONFIG_DATA, 8, &mut b),
        libc::EPERM,
    );

    // Commands the DIMM does not have, or nobody knows.
    let mut b = vec![0u8; 64];
    r.expect(
        "vendor-not-offered",
        ioctl(&dimm, ND_CMD_VENDOR, 8, &mut b),
        libc::ENOTTY,
    );
    r.expect("command-0", ioctl(&dimm, 0, 8, &mut b), libc::ENOTTY);
    r.expect("command-7", ioctl(&dimm, 7, 8, &mut b), libc::ENOTTY);
    r.expect("command-0x33", ioctl(&dimm, 0x33, 8, &mut b), libc::ENOTTY);

    // Pass-through calls with families the bus does not accept.
    let mut b = call_cmd(99, 0, 0, 0);
    r.expect(
        "call-family-99",
        ioctl(&dimm, ND_CMD_CALL, 64, &mut b),
        libc::EINVAL,
    );
    let mut b = call_cmd(NVDIMM_FAMILY_PAPR, 8, 8, 16);
    r.expect(
        "call-family-papr",
        ioctl(&dimm, ND_CMD_CALL, 64, &mut b),
        libc::EINVAL,
    );
    let mut b = call_cmd(NVDIMM_FAMILY_INTEL, 8, 8, 16);
    r.expect(
        "call-family-intel",
        ioctl(&dimm, ND_CMD_CALL, 64, &mut b),
        libc::EINVAL,
    );
    let mut b = call_cmd(NVDIMM_FAMILY_INTEL, u32::MAX, u32::MAX, 0);
    r.expect(
        "call-sizes-overflow",
        ioctl(&dimm, ND_CMD_CALL, 64, &mut b),
        libc::EINVAL,
    );

    // Bus commands the bus does not offer.
    let mut b = vec![0u8; 64];
    r.expect(
        "bus-ars-cap",
        ioctl(&bus, ND_CMD_ARS_CAP, 32, &mut b),
        libc::ENOTTY,
    );
    let mut b = call_cmd(0, 0, 0, 0);
    r.expect(
        "bus-call",
        ioctl(&bus, ND_CMD_CALL, 64, &mut b),
        libc::EINVAL,
    );
    Ok(r)
}

/// An Intel-family `nd_cmd_pkg` for `func`, 12 bytes of room for the answer.
fn intel_call(func: u64) -> Vec<u8> {
    let mut b = call_cmd(NVDIMM_FAMILY_INTEL, 0, 12, 12);
    b[8..16].copy_from_slice(&func.to_ne_bytes());
    b
}

/// What the C `nfit` driver answers to `ND_CMD_CALL` on one of its DIMMs
/// (`acpi_nfit_clear_to_send()`, `cmd_to_func()`, `acpi_nfit_ctl()`).
fn nfit_call(nmem: &str) -> Result<Report, String> {
    let dimm = open(nmem, true)?;
    let mut r = Report { failed: 0 };
    // A function the DIMM offers goes through; the firmware's answer
    // (status, label area size, maximum transfer) and its size come back.
    let mut b = intel_call(4);
    r.expect("call-label-size", ioctl(&dimm, ND_CMD_CALL, 64, &mut b), 0);
    r.require(
        "call-label-size-answer",
        u32_at(&b, 60) == 12 && u32_at(&b, 64) == 0 && u32_at(&b, 68) > 0,
        &format!(
            "fw_size {} status {} size {}",
            u32_at(&b, 60),
            u32_at(&b, 64),
            u32_at(&b, 68)
        ),
    );
    // Function 0 is never passed through, nor one the DIMM lacks.
    let mut b = intel_call(0);
    r.expect(
        "call-function-0",
        ioctl(&dimm, ND_CMD_CALL, 64, &mut b),
        libc::ENOTTY,
    );
    let mut b = intel_call(2);
    r.expect(
        "call-not-offered",
        ioctl(&dimm, ND_CMD_CALL, 64, &mut b),
        libc::ENOTTY,
    );
    // Security (19-28) and firmware activation (29-30) are the kernel's:
    // refused. C means to refuse them with EOPNOTSUPP, but the core hands
    // its clear_to_send() the package's function number where it expects
    // the command, so C refuses them only as functions the DIMM does not
    // offer (ENOTTY); nfit_rs refuses them as denied. Either is a refusal.
    for func in [19, 22, 24, 28, 29, 30, 32] {
        let mut b = intel_call(func);
        r.expect_one_of(
            &format!("call-denied-{func}"),
            ioctl(&dimm, ND_CMD_CALL, 64, &mut b),
            &[libc::EOPNOTSUPP, libc::ENOTTY],
        );
    }
    // Reserved words must be zero.
    let mut b = intel_call(4);
    b[24] = 1;
    r.expect(
        "call-reserved-set",
        ioctl(&dimm, ND_CMD_CALL, 64, &mut b),
        libc::EINVAL,
    );
    Ok(r)
}

/// Sends one `ND_CMD_VENDOR` (`nd_cmd_vendor_hdr`: opcode, input length,
/// input; then `nd_cmd_vendor_tail`: status, output length, output, with
/// room for as much output as input) and prints `status S out HEX`.
fn vendor(nmem: &str, opcode: &str, hex: &str) -> Result<Report, String> {
    let opcode = opcode
        .parse::<u32>()
        .map_err(|_| format!("bad opcode '{opcode}'"))?;
    let data: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<_>>()
        .ok_or_else(|| format!("bad hex '{hex}'"))?;
    let len = u32::try_from(data.len()).map_err(|_| "input too long".to_string())?;
    let dimm = open(nmem, true)?;
    let mut b = [opcode.to_ne_bytes(), len.to_ne_bytes()].concat();
    b.extend(&data);
    let tail = b.len();
    b.extend(0u32.to_ne_bytes());
    b.extend(len.to_ne_bytes());
    b.resize(b.len() + data.len(), 0);
    let rc = ioctl(&dimm, ND_CMD_VENDOR, 8, &mut b);
    if rc != 0 {
        return Err(format!(
            "ND_CMD_VENDOR: {}",
            std::io::Error::from_raw_os_error(rc)
        ));
    }
    let out_len = (u32_at(&b, tail + 4) as usize).min(data.len());
    let out: String = b[tail + 8..tail + 8 + out_len]
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect();
    println!("status {} out {out}", u32_at(&b, tail));
    Ok(Report { failed: 0 })
}

/// Holds the DIMM open while the provider module goes away, then uses it.
fn stale(nmem: &str, module: &str) -> Result<Report, String> {
    let dimm = open(nmem, true)?;
    let mut r = Report { failed: 0 };
    let status = std::process::Command::new("/sbin/rmmod")
        .arg(module)
        .status()
        .map_err(|e| format!("rmmod: {e}"))?;
    r.require(
        "rmmod-with-open-fd",
        status.success(),
        &format!("rmmod {module}: {status}"),
    );
    let mut b = vec![0u8; 12];
    r.expect(
        "ioctl-after-removal",
        ioctl(&dimm, ND_CMD_GET_CONFIG_SIZE, 12, &mut b),
        libc::ENXIO,
    );
    Ok(r)
}

/// Asks the bus for a scrub of `addr`+`len` as a userspace tool would:
/// fails, naming the errno, when the kernel refuses (EBUSY while the
/// driver scrubs).
fn ars_start(ndctl: &str, addr: &str, len: &str) -> Result<Report, String> {
    let num = |s: &str| {
        s.strip_prefix("0x")
            .map_or_else(|| s.parse::<u64>(), |h| u64::from_str_radix(h, 16))
            .map_err(|e| format!("'{s}': {e}"))
    };
    let (addr, len) = (num(addr)?, num(len)?);
    let bus = OpenOptions::new()
        .read(true)
        .write(true)
        .open(ndctl)
        .map_err(|e| format!("{ndctl}: {e}"))?;
    let mut b = vec![0u8; ARS_START_LEN as usize];
    b[..8].copy_from_slice(&addr.to_ne_bytes());
    b[8..16].copy_from_slice(&len.to_ne_bytes());
    b[16..18].copy_from_slice(&ND_ARS_PERSISTENT.to_ne_bytes());
    match ioctl(&bus, ND_CMD_ARS_START, ARS_START_LEN, &mut b) {
        0 => {
            println!("ok status {:#x}", u32_at(&b, 24));
            Ok(Report { failed: 0 })
        }
        libc::EBUSY => {
            println!("EBUSY");
            Ok(Report { failed: 1 })
        }
        e => Err(format!(
            "ND_CMD_ARS_START: {}",
            std::io::Error::from_raw_os_error(e)
        )),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [_, "bad-input", nmem, ndctl, size] => match size.parse::<u32>() {
            Ok(size) if size >= 256 => bad_input(nmem, ndctl, size),
            _ => Err(format!("bad label size '{size}'")),
        },
        [_, "stale", nmem, module] => stale(nmem, module),
        [_, "nfit-call", nmem] => nfit_call(nmem),
        [_, "vendor", nmem, opcode, hex] => vendor(nmem, opcode, hex),
        [_, "ars-start", ndctl, addr, len] => ars_start(ndctl, addr, len),
        [_, "add-key", kind, desc, payload] => keys::add_key(kind, desc, payload)
            .map(|serial| {
                println!("{serial}");
                Report { failed: 0 }
            })
            .map_err(|e| format!("add-key {kind} {desc}: {e}")),
        [_, "fw-image", version, len, out, ref rest @ ..] if rest.len() <= 1 => {
            let version = version.strip_prefix("0x").map_or_else(
                || version.parse::<u64>().ok(),
                |h| u64::from_str_radix(h, 16).ok(),
            );
            match (version, len.parse::<usize>(), rest) {
                (Some(v), Ok(n), [] | ["bad"]) if n <= 1 << 20 => {
                    keys::fw_image(v, n, out, !rest.is_empty())
                        .map(|()| Report { failed: 0 })
                        .map_err(|e| format!("fw-image {out}: {e}"))
                }
                _ => Err("usage: nd-ioctl fw-image VERSION LEN(<=1M) OUT [bad]".into()),
            }
        }
        _ => Err(
            "usage: nd-ioctl bad-input NMEM NDCTL LABEL_SIZE | stale NMEM MODULE | \
                  nfit-call NMEM | add-key TYPE DESC HEX|random | fw-image VERSION LEN OUT [bad] | \
                  vendor NMEM OPCODE HEX | ars-start NDCTL ADDR LEN"
                .into(),
        ),
    };
    match result {
        Ok(r) if r.failed == 0 => ExitCode::SUCCESS,
        Ok(r) => {
            println!("{} case(s) failed", r.failed);
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("nd-ioctl: {e}");
            ExitCode::from(2)
        }
    }
}
