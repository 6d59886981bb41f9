// SPDX-License-Identifier: GPL-2.0
//! Deterministic fuzzer of everything the driver parses from the device or
//! from userspace.
//!
//! Each iteration picks one target:
//!
//! - `data`: a data buffer (a valid answer of a random kind, mutated:
//!   truncated, extended, header length/identifier changed, random bytes)
//!   fed to every parser; [`crate::data::DataHeader::decode`] is compared
//!   with an independent reference in 128-bit arithmetic;
//! - `area`: `ACMA_*` values for a random window, compared with a
//!   reference;
//! - `uapi`: random ioctl payloads fed to every decoder, the error log
//!   one compared with a reference;
//! - `device`: every driver operation of [`crate::commands`] against a
//!   hostile controller that answers doorbells with random register,
//!   response and data buffer contents.
//!
//! Any panic or mismatch is a [`Crash`] carrying the case.

use crate::admin::{self, AdminMailbox, CommandArea, Sleep};
use crate::commands;
use crate::data::{self, CommandCaps, ControllerStats, ErrorLogEntry, SmartAttribute};
use crate::device;
use crate::error::Error;
use crate::regs::{self, chi, Capabilities, Mmio};
use crate::uapi;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

pub use fuzz_rng::Rng;

/// One fuzz case.
#[derive(Clone, Debug)]
pub enum Case {
    /// A data buffer for a buffer of `data_size` bytes.
    Data {
        /// Advertised data buffer size.
        data_size: usize,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Command area registers for a window.
    Area {
        /// `ACMA_CREQO` value.
        offsets: u64,
        /// `ACMA_CDBO` value.
        data: u64,
        /// Window size.
        window: usize,
    },
    /// An ioctl payload (padded or cut to each decoder's size).
    Uapi(Vec<u8>),
    /// A hostile controller: its seed.
    Device(u64),
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Case::Data { data_size, bytes } => {
                writeln!(f, "  data_size: {data_size:#x}")?;
                writeln!(f, "  bytes: {}", hex(bytes))
            }
            Case::Area {
                offsets,
                data,
                window,
            } => writeln!(f, "  area: {offsets:#x} {data:#x} window {window:#x}"),
            Case::Uapi(b) => writeln!(f, "  payload: {}", hex(b)),
            Case::Device(s) => writeln!(f, "  device seed: {s:#x}"),
        }
    }
}

/// Bytes as hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

const IDS: [u16; 5] = [
    data::ID_ERROR_LOG,
    data::ID_CONTROLLER_DUMP,
    data::ID_CONTROLLER_STATS,
    data::ID_SMART,
    data::ID_CMD_CAPS,
];

fn edge(rng: &mut Rng) -> u64 {
    rng.pick(&[
        0,
        1,
        7,
        8,
        0x38,
        0x40,
        0x48,
        0x140,
        0x148,
        0xfff8,
        0xffff,
        0x1_0000,
        0x7fff_ffff,
        0xffff_ffff,
        u64::MAX,
    ])
}

fn valid_answer(rng: &mut Rng) -> Vec<u8> {
    match rng.below(5) {
        0 => {
            let e = ErrorLogEntry {
                log_identifier: rng.next_u64() as u32,
                program_reference_code: rng.next_u64() as u32,
                error_log_type: rng.below(6) as u8,
                action_flags: rng.next_u64() as u32 & 0xff_ffff,
                power_on_seconds: rng.next_u64() as u32,
                timestamp: rng.next_u64(),
                wwid: [rng.next_u64(), rng.next_u64()],
                fw_revision: *b"1.2.3\0\0\0",
                data_len: 0,
            };
            let extra: Vec<u8> = (0..rng.below(40)).map(|_| rng.next_u64() as u8).collect();
            device::error_log(&e, &extra)
        }
        1 => {
            let s = ControllerStats {
                life_remaining: rng.below(101) as u8,
                critical_resource_utilization: rng.below(101) as u8,
                host_load_count: rng.next_u64(),
                fast_write_count: rng.next_u64(),
                ..Default::default()
            };
            device::controller_stats(&s)
        }
        2 => {
            let n = rng.below(6) as usize;
            let attrs: Vec<_> = (0..n)
                .map(|_| SmartAttribute([rng.next_u64(), rng.next_u64()]))
                .collect();
            device::smart(&attrs)
        }
        3 => {
            let n = rng.below(8) as usize * 8;
            let b: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            device::dump_chunk(&b)
        }
        _ => device::cmd_caps(&CommandCaps {
            admin: rng.next_u64(),
            near_storage: rng.next_u64(),
        }),
    }
}

fn mutate(rng: &mut Rng, b: &mut Vec<u8>) {
    for _ in 0..=rng.below(3) {
        match rng.below(7) {
            0 => {
                let n = rng.index(b.len() + 1);
                b.truncate(n);
            }
            1 => b.extend((0..rng.below(64)).map(|_| rng.next_u64() as u8)),
            2 if b.len() >= 8 => {
                // Header length.
                let len = edge(rng);
                let id = u16::from_le_bytes([b[6], b[7]]);
                b[..8].copy_from_slice(&(u64::from(id) << 48 | (len & 0xffff_ffff)).to_le_bytes());
            }
            3 if b.len() >= 8 => {
                let id = rng.pick(&IDS);
                b[6..8].copy_from_slice(&id.to_le_bytes());
            }
            4 if !b.is_empty() => {
                let i = rng.index(b.len());
                b[i] = rng.next_u64() as u8;
            }
            5 => {
                *b = (0..rng.below(400)).map(|_| rng.next_u64() as u8).collect();
            }
            _ => {}
        }
    }
}

/// Generates the next case.
pub fn generate(rng: &mut Rng) -> Case {
    match rng.below(8) {
        0..=3 => {
            let mut bytes = valid_answer(rng);
            if rng.chance(7, 8) {
                mutate(rng, &mut bytes);
            }
            let data_size = if rng.chance(1, 4) {
                edge(rng) as usize
            } else {
                admin::MIN_DATA_SIZE + 8 * rng.below(64) as usize
            };
            Case::Data { data_size, bytes }
        }
        4 => {
            let window = rng.pick(&[0usize, 0x170, 0x1000, 0x10000, 0x20000]);
            let f = |rng: &mut Rng| {
                if rng.chance(1, 2) {
                    edge(rng) & 0xffff_ffff
                } else {
                    rng.below(0x20000) & !7
                }
            };
            let offsets = f(rng) << 32 | f(rng);
            let data = f(rng) << 32 | f(rng);
            Case::Area {
                offsets,
                data,
                window,
            }
        }
        5 => {
            let mut b: Vec<u8> = vec![0; rng.index(uapi::ERROR_LOG_SIZE + 8)];
            for x in b.iter_mut() {
                if rng.chance(1, 3) {
                    *x = rng.next_u64() as u8;
                }
            }
            Case::Uapi(b)
        }
        _ => Case::Device(rng.next_u64()),
    }
}

/// The reference of [`data::DataHeader::decode`]: `Some(length)` when
/// accepted.
fn header_reference(word: u64, expected: u16, data_size: usize) -> Option<u128> {
    if (word >> 48) as u16 != expected {
        return None;
    }
    let len = match expected {
        data::ID_ERROR_LOG | data::ID_CONTROLLER_DUMP => u128::from(word & 0xffff),
        _ => u128::from(word & 0xffff_ffff),
    };
    (len + 8 <= data_size as u128).then_some(len)
}

fn area_reference(offsets: u64, data: u64, window: usize) -> bool {
    let w = window as u128;
    let parts = [
        (u128::from(offsets >> 32), 64u128),
        (u128::from(offsets & 0xffff_ffff), 8),
        (u128::from(data >> 32), u128::from(data & 0xffff_ffff)),
    ];
    let size = parts[2].1;
    if size < admin::MIN_DATA_SIZE as u128 || size > admin::MAX_DATA_SIZE as u128 || size % 8 != 0 {
        return false;
    }
    for (i, (s, l)) in parts.iter().enumerate() {
        if *s < regs::GLOBAL_BYTES as u128 || s % 8 != 0 || s + l > w {
            return false;
        }
        for (s2, l2) in &parts[..i] {
            if s < &(s2 + l2) && s2 < &(s + l) {
                return false;
            }
        }
    }
    true
}

fn kind(e: &Error) -> &'static str {
    match e {
        Error::Window { .. } => "window",
        Error::BadArea => "bad-area",
        Error::NotReady => "not-ready",
        Error::NoMemory => "no-memory",
        Error::Fatal { .. } => "fatal",
        Error::Timeout { .. } => "timeout",
        Error::IdMismatch { .. } => "id-mismatch",
        Error::Status { .. } => "status",
        Error::BadIdentifier { .. } => "bad-identifier",
        Error::Truncated { .. } => "truncated",
        Error::BadLength { .. } => "bad-length",
        Error::BadParameter(_) => "bad-parameter",
        Error::NoData => "no-data",
        Error::UnknownOpcode(_) => "unknown-opcode",
    }
}

fn tally<T>(out: &mut Vec<&'static str>, r: Result<T, Error>) -> Option<T> {
    match r {
        Ok(v) => {
            out.push("ok");
            Some(v)
        }
        Err(e) => {
            out.push(kind(&e));
            None
        }
    }
}

/// A controller that answers every doorbell (and every sleep of the
/// driver) with random contents; the window and the sleeper are two
/// handles of it.
#[derive(Clone)]
struct Hostile(Rc<RefCell<(crate::mem::MemWindow, Rng)>>);

impl Mmio for Hostile {
    fn size(&self) -> usize {
        self.0.borrow().0.size()
    }

    fn read_u64(&self, offset: usize) -> u64 {
        self.0.borrow().0.read_u64(offset)
    }

    fn write_u64(&mut self, offset: usize, value: u64) {
        self.0.borrow_mut().0.write_u64(offset, value)
    }

    fn doorbell(&mut self) {
        self.scribble();
    }
}

impl Hostile {
    fn scribble(&mut self) {
        let mut st = self.0.borrow_mut();
        let (mem, rng) = &mut *st;
        let size = mem.size();
        for _ in 0..rng.below(6) {
            let off = match rng.below(4) {
                0 => regs::CHI,
                1 => regs::HCI,
                2 => 0x200,
                _ => rng.index(size / 8) * 8,
            };
            let v = match rng.below(4) {
                0 => chi::ACRA | chi::CRDY | chi::MA | chi::ELA,
                1 => u64::from(rng.pick(&IDS)) << 48 | edge(rng) & 0xffff_ffff,
                2 => admin::response_word(rng.pick(&[0, 0x50, 0xff]), rng.below(4) as u16),
                _ => rng.next_u64(),
            };
            mem.write_u64(off, v);
        }
    }
}

impl Sleep for Hostile {
    fn sleep_ms(&mut self, _ms: u32) {
        self.scribble();
    }
}

fn device_case(seed: u64, out: &mut Vec<&'static str>) {
    let mut rng = Rng::new(seed);
    let window = rng.pick(&[0x1000usize, 0x2000, 0x10000]);
    let mut d = Hostile(Rc::new(RefCell::new((
        crate::mem::MemWindow::new(window),
        Rng::new(seed ^ 0x5555),
    ))));
    let mut sleeper = d.clone();
    // A plausible area most of the time, a random one otherwise.
    let area = if rng.chance(3, 4) {
        CommandArea {
            request: 0x200,
            response: 0x240,
            data: 0x400,
            data_size: (window - 0x400).min(0x8000),
        }
        .encode()
    } else {
        (rng.next_u64(), rng.next_u64())
    };
    d.write_u64(regs::ACMA_CREQO, area.0);
    d.write_u64(regs::ACMA_CDBO, area.1);
    d.write_u64(regs::CHI, chi::CRDY | chi::MA | chi::ELA);
    d.write_u64(regs::CCAP0, rng.next_u64() & 0x00ff_ffff_ffff_ffff);
    if let Some(c) = tally(out, Capabilities::read(&d)) {
        let _ = c.fw_version_text();
        tally(out, commands::wait_ready(&d, &c, &mut sleeper));
    }
    let Some(mut mb) = tally(out, AdminMailbox::probe(&d)) else {
        return;
    };
    for step in 0..8 {
        let mut buf = vec![0u8; rng.below(200) as usize];
        let r = match (step + rng.below(8)) % 10 {
            0 => commands::heartbeat(&mut d, &mut mb, &mut sleeper).map(|_| 0),
            1 => commands::read_error_log(&mut d, &mut mb, &mut sleeper, &mut buf).map(|r| {
                if let Some((e, n)) = r {
                    assert!(n <= buf.len() && n <= e.data_len);
                }
                0
            }),
            2 => commands::controller_stats(&mut d, &mut mb, &mut sleeper).map(|s| {
                assert!(s.life_remaining <= 100);
                0
            }),
            3 => commands::smart(&mut d, &mut mb, &mut sleeper, &mut buf).map(|r| {
                assert!(r.copied <= r.available && r.copied * 16 <= buf.len());
                0
            }),
            4 => {
                let off = rng.next_u64() as u32;
                commands::read_dump_chunk(&mut d, &mut mb, &mut sleeper, off, &mut buf)
                    .inspect(|&n| assert!(n <= buf.len()))
            }
            5 => commands::cmd_caps(&mut d, &mut mb, &mut sleeper).map(|_| 0),
            6 => {
                let img = vec![0xa5u8; rng.below(5) as usize * 8];
                commands::firmware_update(&mut d, &mut mb, &mut sleeper, &img).map(|_| 0)
            }
            7 => {
                let mut b = vec![0u8; rng.below(4) as usize * 8];
                commands::fw_debug(&mut d, &mut mb, &mut sleeper, 1, 2, [3, 4], &mut b).map(|_| 0)
            }
            8 => commands::request_dump(&mut d, &mut sleeper, 200).map(|_| 0),
            _ => commands::shutdown(&mut d, &mut mb, &mut sleeper).map(|_| 0),
        };
        tally(out, r);
    }
}

fn data_case(data_size: usize, bytes: &[u8], out: &mut Vec<&'static str>) {
    if bytes.len() >= 8 {
        let w = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
        for id in IDS {
            let got = data::DataHeader::decode(w, id, data_size).ok();
            let want = header_reference(w, id, data_size);
            assert_eq!(
                got.map(|h| h.length as u128),
                want,
                "DataHeader::decode({w:#x}, {id:#x}, {data_size:#x})"
            );
        }
        let _ = tally(out, data::smart_attribute_count(w, data_size));
        if let Some(n) = tally(out, data::dump_chunk_len(w, 0x100, data_size)) {
            assert!(n <= 0x100);
        }
    }
    if let Some(Some(e)) = tally(out, ErrorLogEntry::parse(bytes, data_size)) {
        assert!(e.data_len + data::ERRLOG_FIXED_BYTES <= data_size);
        if e.error_log_type != data::ERRLOG_TYPE_GENERAL {
            assert_eq!(e.action_flags, 0);
        }
    }
    if let Some(s) = tally(out, ControllerStats::parse(bytes, data_size)) {
        assert!(s.life_remaining <= 100 && s.critical_resource_utilization <= 100);
        // Round trip through the device side.
        let again = device::controller_stats(&s);
        assert_eq!(ControllerStats::parse(&again, data_size), Ok(s));
    }
    tally(out, CommandCaps::parse(bytes, data_size));
    for i in 0..3 {
        tally(out, SmartAttribute::parse(bytes, i));
    }
}

fn uapi_case(b: &[u8], out: &mut Vec<&'static str>) {
    fn sized<const N: usize>(b: &[u8]) -> [u8; N] {
        let mut a = [0u8; N];
        let n = b.len().min(N);
        a[..n].copy_from_slice(&b[..n]);
        a
    }
    let el: [u8; uapi::ERROR_LOG_SIZE] = sized(b);
    let want = el[49..56].iter().all(|&x| x == 0)
        && el[59..64].iter().all(|&x| x == 0)
        && el[72..88].iter().all(|&x| x == 0)
        && u16::from_le_bytes([el[56], el[57]]).is_multiple_of(8);
    let got = tally(out, uapi::ErrorLogArgs::decode(&el));
    assert_eq!(got.is_some(), want, "ErrorLogArgs::decode");
    if let Some(a) = got {
        let e = uapi::ErrorLogArgs::decode(&a.encode(None));
        assert_eq!(e.map(|x| x.buf_ptr), Ok(a.buf_ptr));
    }
    if let Some(a) = tally(out, uapi::DumpDataArgs::decode(&sized(b))) {
        assert!(a.buf_size != 0 && a.buf_size % 8 == 0);
        assert_eq!(
            uapi::DumpDataArgs::decode(&a.encode(a.buf_size)),
            Ok(a),
            "dump args round trip"
        );
    }
    tally(out, uapi::decode_eventfd(&sized(b)));
    tally(out, uapi::FwDebugArgs::decode(&sized(b)));
    if let Some((addr, val)) = tally(out, uapi::decode_mmio(&sized(b))) {
        assert_eq!(
            uapi::decode_mmio(&uapi::encode_mmio(addr, val)),
            Ok((addr, val))
        );
    }
    let s = uapi::decode_stats(&sized(b));
    assert_eq!(uapi::decode_stats(&uapi::encode_stats(&s)), s);
    let cmd = u32::from_le_bytes(sized(b));
    let _ = uapi::Ioctl::from_number(cmd, &uapi::IOC_GENERIC);
    let _ = uapi::Ioctl::from_number(cmd, &uapi::IOC_POWERPC);
}

/// Checks one case (panics on a failure); returns the outcomes seen.
pub fn check(case: &Case) -> Vec<&'static str> {
    let mut out = Vec::new();
    match case {
        Case::Data { data_size, bytes } => data_case(*data_size, bytes, &mut out),
        Case::Area {
            offsets,
            data,
            window,
        } => {
            let got = CommandArea::decode(*offsets, *data, *window);
            assert_eq!(
                got.is_ok(),
                area_reference(*offsets, *data, *window),
                "CommandArea::decode"
            );
            if let Ok(a) = got {
                assert_eq!(a.encode(), (*offsets, *data));
                assert!(a.data_range(a.data_size, 8).is_err());
                assert!(a.data_range(0, a.data_size).is_ok());
            }
            tally(&mut out, got);
        }
        Case::Uapi(b) => uapi_case(b, &mut out),
        Case::Device(seed) => device_case(*seed, &mut out),
    }
    out
}

/// A failing case.
#[derive(Debug)]
pub struct Crash {
    /// Iteration.
    pub iteration: u64,
    /// Panic message.
    pub message: String,
    /// The case.
    pub case: Case,
}

impl fmt::Display for Crash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.case)
    }
}

impl fuzz_rng::Crash for Crash {
    fn iteration(&self) -> u64 {
        self.iteration
    }

    fn message(&self) -> &str {
        &self.message
    }
}

/// What a run saw.
#[derive(Debug, Default)]
pub struct Stats {
    /// Cases per target.
    pub targets: BTreeMap<&'static str, u64>,
    /// Outcomes (`ok` or an error kind) over all parses and operations.
    pub outcomes: BTreeMap<&'static str, u64>,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, v) in &self.targets {
            writeln!(f, "cases {k}: {v}")?;
        }
        for (k, v) in &self.outcomes {
            writeln!(f, "outcome {k}: {v}")?;
        }
        Ok(())
    }
}

/// Runs `iterations` cases of seed `seed`.
pub fn run(iterations: u64, seed: u64) -> Result<Stats, Box<Crash>> {
    let mut rng = Rng::new(seed);
    let mut stats = Stats::default();
    for iteration in 0..iterations {
        let case = generate(&mut rng);
        let target = match case {
            Case::Data { .. } => "data",
            Case::Area { .. } => "area",
            Case::Uapi(_) => "uapi",
            Case::Device(_) => "device",
        };
        *stats.targets.entry(target).or_default() += 1;
        match fuzz_rng::catch(|| check(&case)) {
            Ok(outs) => {
                for o in outs {
                    *stats.outcomes.entry(o).or_default() += 1;
                }
            }
            Err(message) => {
                return Err(Box::new(Crash {
                    iteration,
                    message,
                    case,
                }));
            }
        }
    }
    Ok(stats)
}
