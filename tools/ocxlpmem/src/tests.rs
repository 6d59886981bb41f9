// SPDX-License-Identifier: GPL-2.0
//! Unit tests of the kernel's protocol files: every parser with every
//! truncation and overflow, the command area, the mailbox against a
//! scripted controller, the user API against the C header.

use crate::admin::{self, AdminMailbox, CommandArea, Sleep};
use crate::data::{self, *};
use crate::device;
use crate::error::{self, Error};
use crate::mem::MemWindow;
use crate::regs::{self, chi, hci, Capabilities, Mmio};
use crate::uapi::{self, Dir, Ioctl};

const DS: usize = 0x1000;

fn entry() -> ErrorLogEntry {
    ErrorLogEntry {
        log_identifier: 7,
        program_reference_code: 0xdead_beef,
        error_log_type: ERRLOG_TYPE_GENERAL,
        action_flags: ERRLOG_ACTION_CHKFW,
        power_on_seconds: 99,
        timestamp: 1 << 40,
        wwid: [1, 2],
        fw_revision: *b"abcdefgh",
        data_len: 0,
    }
}

// ---- data header ----

#[test]
fn data_header_identifier_and_length_width() {
    let w = DataHeader::encode(ID_ERROR_LOG, 0x234);
    assert_eq!(
        DataHeader::decode(w, ID_ERROR_LOG, DS),
        Ok(DataHeader {
            identifier: ID_ERROR_LOG,
            length: 0x234
        })
    );
    // 16-bit fields ignore bits 31:16, 32-bit ones do not.
    let w = u64::from(ID_CONTROLLER_DUMP) << 48 | 0x0001_0010;
    assert_eq!(
        DataHeader::decode(w, ID_CONTROLLER_DUMP, DS)
            .unwrap()
            .length,
        0x10
    );
    let w = u64::from(ID_SMART) << 48 | 0x0001_0010;
    assert_eq!(
        DataHeader::decode(w, ID_SMART, DS),
        Err(Error::BadLength {
            what: "data length",
            value: 0x1_0010
        })
    );
    assert_eq!(
        DataHeader::decode(w, ID_ERROR_LOG, DS),
        Err(Error::BadIdentifier {
            expected: ID_ERROR_LOG,
            got: ID_SMART
        })
    );
    // The answer must fit the buffer: exactly, and one byte over.
    let fit = DataHeader::encode(ID_SMART, (DS - 8) as u32);
    assert!(DataHeader::decode(fit, ID_SMART, DS).is_ok());
    let over = DataHeader::encode(ID_SMART, (DS - 7) as u32);
    assert!(matches!(
        DataHeader::decode(over, ID_SMART, DS),
        Err(Error::BadLength { .. })
    ));
    assert!(
        DataHeader::decode(DataHeader::encode(ID_SMART, u32::MAX), ID_SMART, usize::MAX).is_ok()
    );
    assert!(DataHeader::decode(0, ID_SMART, 0).is_err());
}

// ---- error log ----

#[test]
fn error_log_round_trip_and_flags() {
    let b = device::error_log(&entry(), &[1, 2, 3]);
    let e = ErrorLogEntry::parse(&b, DS).unwrap().unwrap();
    assert_eq!(
        e,
        ErrorLogEntry {
            data_len: 3,
            ..entry()
        }
    );
    assert_eq!(&b[ERRLOG_FIXED_BYTES..], &[1, 2, 3]);
    // Action flags only for general entries.
    let t = ErrorLogEntry {
        error_log_type: ERRLOG_TYPE_DATA_LOSS,
        ..entry()
    };
    let e = ErrorLogEntry::parse(&device::error_log(&t, &[]), DS)
        .unwrap()
        .unwrap();
    assert_eq!(e.action_flags, 0);
    assert_eq!(error_log_type_name(e.error_log_type), "data loss");
    assert_eq!(error_log_type_name(9), "unknown");
    // Empty log.
    assert_eq!(
        ErrorLogEntry::parse(&device::error_log_empty(), DS),
        Ok(None)
    );
}

#[test]
fn error_log_every_truncation() {
    let b = device::error_log(&entry(), &[]);
    for n in 0..b.len() {
        let r = ErrorLogEntry::parse(&b[..n], DS);
        assert!(
            matches!(r, Err(Error::Truncated { .. })),
            "{n} bytes: {r:?}"
        );
    }
    // Lengths below the fixed fields.
    for len in 1..ERRLOG_MIN_LENGTH as u32 {
        let mut b = b.clone();
        b[..8].copy_from_slice(&DataHeader::encode(ID_ERROR_LOG, len).to_le_bytes());
        assert_eq!(
            ErrorLogEntry::parse(&b, DS),
            Err(Error::Truncated {
                need: ERRLOG_MIN_LENGTH as u64,
                have: u64::from(len)
            })
        );
    }
    // Additional data longer than the buffer.
    let mut b = b.clone();
    b[..8].copy_from_slice(&DataHeader::encode(ID_ERROR_LOG, 0xffff).to_le_bytes());
    assert!(matches!(
        ErrorLogEntry::parse(&b, DS),
        Err(Error::BadLength { .. })
    ));
    assert!(ErrorLogEntry::parse(&b, 0x10008).is_ok());
}

// ---- statistics ----

fn stats() -> ControllerStats {
    ControllerStats {
        reset_count: 3,
        reset_uptime: 4,
        power_on_uptime: 5,
        life_remaining: 100,
        critical_resource_utilization: 0,
        host_load_count: 10,
        host_store_count: 11,
        host_load_duration: 12,
        host_store_duration: 13,
        media_read_count: 14,
        media_write_count: 15,
        media_read_duration: 16,
        media_write_duration: 17,
        cache_read_hit_count: 18,
        cache_write_hit_count: 19,
        fast_write_count: 20,
    }
}

#[test]
fn stats_round_trip_and_every_truncation() {
    let b = device::controller_stats(&stats());
    assert_eq!(b.len(), STATS_BYTES);
    assert_eq!(ControllerStats::parse(&b, DS), Ok(stats()));
    for n in 0..b.len() {
        assert!(
            matches!(
                ControllerStats::parse(&b[..n], DS),
                Err(Error::Truncated { .. })
            ),
            "{n}"
        );
    }
    // Shorter than documented, longer (accepted), beyond the buffer.
    let with_len = |l: u32| {
        let mut b = b.clone();
        b[..8].copy_from_slice(&DataHeader::encode(ID_CONTROLLER_STATS, l).to_le_bytes());
        b
    };
    assert!(matches!(
        ControllerStats::parse(&with_len(0x13f), DS),
        Err(Error::Truncated { .. })
    ));
    assert!(ControllerStats::parse(&with_len(0x200), DS).is_ok());
    assert!(matches!(
        ControllerStats::parse(&with_len(0x140), STATS_BYTES - 1),
        Err(Error::BadLength { .. })
    ));
}

#[test]
fn stats_parameter_blocks_and_percentages() {
    let good = device::controller_stats(&stats());
    let patch = |off: usize, v: u64| {
        let mut b = good.clone();
        b[off..off + 8].copy_from_slice(&v.to_le_bytes());
        ControllerStats::parse(&b, DS)
    };
    for (off, v, what) in [
        (STATS_SPID1, 2 << 56 | 0x38, "statistics parameter id"),
        (STATS_SPID1, 1 << 56 | 0x30, "statistics parameter length"),
        (STATS_SPID2, 1 << 56 | 0xf8, "statistics parameter id"),
        (STATS_SPID2, 2 << 56 | 0xf0, "statistics parameter length"),
        (STATS_SPID1 + 0x10, 101, "life remaining"),
        (STATS_SPID2 + 0x08, 0xff, "critical resource utilization"),
    ] {
        assert!(
            matches!(patch(off, v), Err(Error::BadLength { what: w, .. }) if w == what),
            "{what}"
        );
    }
}

// ---- SMART ----

#[test]
fn smart_counts_and_attributes() {
    let attrs = [SmartAttribute([1, 2]), SmartAttribute([3, 4])];
    let b = device::smart(&attrs);
    let w = u64::from_le_bytes(b[..8].try_into().unwrap());
    assert_eq!(smart_attribute_count(w, DS), Ok(2));
    assert_eq!(SmartAttribute::parse(&b[8..], 1), Ok(attrs[1]));
    assert!(matches!(
        SmartAttribute::parse(&b[8..], 2),
        Err(Error::Truncated { .. })
    ));
    assert!(SmartAttribute::parse(&b[8..], usize::MAX).is_err());
    for n in 0..16 {
        assert!(SmartAttribute::parse(&b[8..8 + n], 0).is_err());
    }
    let len = |l: u32| DataHeader::encode(ID_SMART, l);
    assert!(matches!(
        smart_attribute_count(len(17), DS),
        Err(Error::BadLength { .. })
    ));
    assert_eq!(smart_attribute_count(len(255 * 16), 0x10000), Ok(255));
    assert!(matches!(
        smart_attribute_count(len(256 * 16), 0x10000),
        Err(Error::BadLength {
            what: "SMART attribute count",
            ..
        })
    ));
    assert_eq!(smart_attribute_count(len(0), DS), Ok(0));
}

// ---- controller dump ----

#[test]
fn dump_requests_and_chunks() {
    assert_eq!(dump_request(0x100, 0x800, DS), Ok(0x100 << 32 | 0x800));
    assert_eq!(decode_dump_request(0x100 << 32 | 0x800), (0x100, 0x800));
    for size in [0, 7, 12, DS - 7, DS, DUMP_MAX_CHUNK + 8] {
        assert!(dump_request(0, size, DS).is_err(), "{size}");
    }
    assert!(dump_request(0, DS - 8, DS).is_ok());
    assert!(dump_request(0, DUMP_MAX_CHUNK, 0x20000).is_ok());
    let w = |l: u32| DataHeader::encode(ID_CONTROLLER_DUMP, l);
    assert_eq!(dump_chunk_len(w(0x40), 0x40, DS), Ok(0x40));
    assert_eq!(dump_chunk_len(w(0), 0x40, DS), Ok(0));
    assert!(matches!(
        dump_chunk_len(w(0x48), 0x40, DS),
        Err(Error::BadLength { .. })
    ));
    assert!(dump_chunk_len(w(DS as u32), DS, DS).is_err());
    assert_eq!(dump_chunk_size(DS, 1 << 20), DS - 8);
    assert_eq!(dump_chunk_size(1 << 20, 1 << 20), DUMP_MAX_CHUNK);
    assert_eq!(dump_chunk_size(DS, 13), 8);
    assert_eq!(dump_chunk_size(4, 100), 0);
}

// ---- firmware update ----

#[test]
fn firmware_plan_blocks_then_commit() {
    let plan: Vec<_> = FwUpdatePlan::new(70_000, 0x10000).unwrap().collect();
    assert_eq!(
        plan,
        [
            FwChunk {
                offset: 0,
                len: FW_BLOCK_BYTES
            },
            FwChunk {
                offset: FW_BLOCK_BYTES,
                len: FW_BLOCK_BYTES
            },
            FwChunk {
                offset: 2 * FW_BLOCK_BYTES,
                len: 70_000 - 2 * FW_BLOCK_BYTES
            },
            FwChunk {
                offset: 70_000,
                len: 0
            },
        ]
    );
    // A data buffer smaller than a block limits the blocks.
    let plan: Vec<_> = FwUpdatePlan::new(0x1000, 0x800 + 4).unwrap().collect();
    assert_eq!(plan.len(), 3);
    assert!(plan.iter().all(|c| c.len <= 0x800));
    for bad in [0, 4, FW_MAX_IMAGE + 8] {
        assert!(FwUpdatePlan::new(bad, DS).is_err(), "{bad}");
    }
    assert_eq!(FwUpdatePlan::new(8, 4).unwrap_err(), Error::BadArea);
    assert_eq!(fw_update_request(8, 16), Ok(8 << 32 | 16));
    assert!(fw_update_request(0, FW_BLOCK_BYTES + 8).is_err());
    assert!(fw_update_request(0, 3).is_err());
    assert_eq!(decode_fw_update_request(8 << 32 | 16), (8, 16));
    let p = fw_debug_params(FWDEBUG_GET_PEL, 0xabcd, 1, 2);
    assert_eq!(decode_fw_debug(p[0]), (FWDEBUG_GET_PEL, 0xabcd));
    assert_eq!(&p[1..], &[1, 2]);
}

// ---- command capabilities ----

#[test]
fn command_caps() {
    let c = CommandCaps {
        admin: 0b1_0000_0001,
        near_storage: 0,
    };
    let b = device::cmd_caps(&c);
    assert_eq!(CommandCaps::parse(&b, DS), Ok(c));
    assert!(c.supports(0) && c.supports(8) && !c.supports(1) && !c.supports(200));
    for n in 0..b.len() {
        assert!(CommandCaps::parse(&b[..n], DS).is_err());
    }
    let mut short = b.clone();
    short[..8].copy_from_slice(&DataHeader::encode(ID_CMD_CAPS, 8).to_le_bytes());
    assert!(matches!(
        CommandCaps::parse(&short, DS),
        Err(Error::Truncated { .. })
    ));
}

// ---- registers and the command area ----

#[test]
fn capabilities_round_trip_and_version_text() {
    let c = Capabilities {
        revision: 0x0012,
        read_latency_ns: 0xabcd,
        readiness_timeout_s: 0xf,
        memory_available_timeout_s: 0xfff,
        max_controller_dump_size: 0x8000_0000,
        fw_version: *b"v1\0garba",
    };
    let (a, b, v) = c.encode();
    assert_eq!(Capabilities::decode(a, b, v), c);
    assert_eq!(c.fw_version_text(), Some("v1"));
    assert_eq!(c.ready_timeout_s(), 15 + 4095);
    let odd = Capabilities {
        fw_version: [0xff; 8],
        ..c
    };
    assert_eq!(odd.fw_version_text(), None);
    let full = Capabilities {
        fw_version: *b"12345678",
        ..c
    };
    assert_eq!(full.fw_version_text(), Some("12345678"));
}

#[test]
fn usable_and_access_checks() {
    assert_eq!(regs::usable(chi::CRDY | chi::MA), Ok(()));
    assert_eq!(regs::usable(chi::MA), Err(Error::NotReady));
    assert_eq!(regs::usable(chi::CRDY), Err(Error::NoMemory));
    assert!(matches!(
        regs::usable(chi::CRDY | chi::MA | chi::CHFS),
        Err(Error::Fatal { .. })
    ));
    assert!(regs::check_access(0, 8, 8).is_ok());
    assert!(regs::check_access(8, 8, 8).is_err());
    assert!(regs::check_access(4, 8, 16).is_err());
    assert!(regs::check_access(usize::MAX - 7, 8, usize::MAX).is_err());
    let m = MemWindow::new(16);
    assert!(regs::read(&m, 16).is_err());
    assert!(Capabilities::read(&m).is_err());
}

#[test]
fn command_area_validation() {
    let a = CommandArea {
        request: 0x200,
        response: 0x240,
        data: 0x400,
        data_size: admin::MIN_DATA_SIZE,
    };
    let (o, d) = a.encode();
    assert_eq!(CommandArea::decode(o, d, 0x1000), Ok(a));
    // The v4 register halves: CREQO high, CRSPO low; CDBO high, CDBS low.
    assert_eq!((o >> 32, o & 0xffff_ffff, d >> 32), (0x200, 0x240, 0x400));
    let bad = [
        CommandArea {
            request: 0x100,
            ..a
        },
        CommandArea {
            response: 0x244,
            ..a
        },
        CommandArea {
            response: 0x238,
            ..a
        },
        CommandArea { data: 0x220, ..a },
        CommandArea {
            data_size: admin::MIN_DATA_SIZE - 8,
            ..a
        },
        CommandArea {
            data_size: admin::MIN_DATA_SIZE + 4,
            ..a
        },
        CommandArea {
            data_size: admin::MAX_DATA_SIZE + 8,
            ..a
        },
        CommandArea {
            data: 0x1000 - 8,
            ..a
        },
    ];
    for b in bad {
        assert_eq!(b.validate(0x1000), Err(Error::BadArea), "{b:?}");
    }
    assert_eq!(a.data_range(8, 8), Ok(0x408));
    assert!(a.data_range(a.data_size - 8, 8).is_ok());
    assert!(a.data_range(a.data_size - 8, 9).is_err());
    assert!(a.data_range(4, 8).is_err());
    assert!(a.data_range(usize::MAX, 8).is_err());
}

// ---- the mailbox against a scripted controller ----

/// Answers `ACRW` with the next scripted `(status, id delta, data)`.
struct Scripted {
    mem: MemWindow,
    answers: Vec<(u8, u16, Vec<u8>)>,
    area: CommandArea,
    requests: Vec<[u64; 8]>,
}

impl Scripted {
    fn new(answers: Vec<(u8, u16, Vec<u8>)>) -> Self {
        let area = CommandArea {
            request: 0x200,
            response: 0x240,
            data: 0x400,
            data_size: 0x400,
        };
        let mut mem = MemWindow::new(0x1000);
        let (o, d) = area.encode();
        mem.write_u64(regs::ACMA_CREQO, o);
        mem.write_u64(regs::ACMA_CDBO, d);
        mem.write_u64(regs::CHI, chi::CRDY | chi::MA | chi::ELA);
        Scripted {
            mem,
            answers,
            area,
            requests: Vec::new(),
        }
    }
}

impl Mmio for Scripted {
    fn size(&self) -> usize {
        self.mem.size()
    }
    fn read_u64(&self, o: usize) -> u64 {
        self.mem.read_u64(o)
    }
    fn write_u64(&mut self, o: usize, v: u64) {
        self.mem.write_u64(o, v)
    }
    fn doorbell(&mut self) {
        let chic = self.mem.read_u64(regs::CHIC);
        let c = self.mem.read_u64(regs::CHI);
        self.mem.write_u64(regs::CHI, c & !chic);
        self.mem.write_u64(regs::CHIC, 0);
        let h = self.mem.read_u64(regs::HCI);
        if h & hci::ACRW == 0 || self.answers.is_empty() {
            return;
        }
        self.mem.write_u64(regs::HCI, h & !hci::ACRW);
        let mut req = [0u64; 8];
        for (i, w) in req.iter_mut().enumerate() {
            *w = self.mem.read_u64(self.area.request + i * 8);
        }
        self.requests.push(req);
        let (_, id) = admin::decode_request_header(req[0]);
        let (status, delta, data) = self.answers.remove(0);
        self.mem.0[self.area.data..self.area.data + data.len()].copy_from_slice(&data);
        self.mem.write_u64(
            self.area.response,
            admin::response_word(status, id.wrapping_add(delta)),
        );
        let c = self.mem.read_u64(regs::CHI);
        self.mem.write_u64(regs::CHI, c | chi::ACRA);
    }
}

struct Clock(u32);

impl Sleep for Clock {
    fn sleep_ms(&mut self, ms: u32) {
        self.0 += ms;
    }
}

#[test]
fn mailbox_request_layout_and_response_checks() {
    let mut d = Scripted::new(vec![
        (0, 0, vec![]),
        (admin::STATUS_BAD_DATA_PARM, 0, vec![]),
        (0, 1, vec![]),
    ]);
    let mut mb = AdminMailbox::probe(&d).unwrap();
    let mut clock = Clock(0);
    // Stale parameter words are zeroed.
    d.mem.write_u64(0x200 + 7 * 8, u64::MAX);
    mb.run(&mut d, admin::CONTROLLER_DUMP, &[0x55], &mut clock)
        .unwrap();
    assert_eq!(d.requests[0], [7 | 1 << 16, 0x55, 0, 0, 0, 0, 0, 0]);
    assert_eq!(d.mem.read_u64(regs::CHI) & chi::ACRA, 0);
    assert_eq!(
        mb.run(&mut d, admin::HEARTBEAT, &[], &mut clock),
        Err(Error::Status {
            opcode: admin::HEARTBEAT,
            status: admin::STATUS_BAD_DATA_PARM
        })
    );
    assert_eq!(
        mb.run(&mut d, admin::HEARTBEAT, &[], &mut clock),
        Err(Error::IdMismatch {
            expected: 3,
            got: 4
        })
    );
    assert_eq!(clock.0, 0);
    // No answer: the opcode's timeout, in poll intervals.
    assert_eq!(
        mb.run(&mut d, admin::FW_UPDATE, &[0], &mut clock),
        Err(Error::Timeout {
            opcode: admin::FW_UPDATE
        })
    );
    assert!(clock.0 >= 16000 && clock.0 < 16000 + admin::POLL_INTERVAL_MS);
    assert_eq!(
        mb.submit(&mut d, admin::HEARTBEAT, &[1]),
        Err(Error::BadParameter("too many request parameters"))
    );
    assert_eq!(mb.submit(&mut d, 9, &[]), Err(Error::UnknownOpcode(9)));
    // Ids wrap.
    let mut mb = AdminMailbox::new(*mb.area());
    for _ in 0..=u16::MAX {
        mb.submit(&mut d, admin::HEARTBEAT, &[]).unwrap();
    }
    assert_eq!(mb.last_id(), 0);
}

#[test]
fn operations_parse_what_the_controller_wrote() {
    let stats_b = device::controller_stats(&stats());
    let mut d = Scripted::new(vec![
        (0, 0, device::error_log(&entry(), &[9; 20])),
        (0, 0, stats_b),
        (0, 0, device::dump_chunk(&[1; 16])),
        (0, 0, device::smart(&[SmartAttribute([5, 6])])),
    ]);
    let mut mb = AdminMailbox::probe(&d).unwrap();
    let mut c = Clock(0);
    let mut extra = [0u8; 8];
    let (e, n) = crate::commands::read_error_log(&mut d, &mut mb, &mut c, &mut extra)
        .unwrap()
        .unwrap();
    assert_eq!((e.data_len, n, extra), (20, 8, [9; 8]));
    assert_eq!(
        crate::commands::controller_stats(&mut d, &mut mb, &mut c),
        Ok(stats())
    );
    let mut out = [0u8; 24];
    assert_eq!(
        crate::commands::read_dump_chunk(&mut d, &mut mb, &mut c, 0, &mut out),
        Ok(16)
    );
    assert_eq!(d.requests[2][1], data::dump_request(0, 24, 0x400).unwrap());
    let r = crate::commands::smart(&mut d, &mut mb, &mut c, &mut [0u8; 16]).unwrap();
    assert_eq!((r.available, r.copied), (1, 1));
}

#[test]
fn errnos() {
    use error::*;
    let cases = [
        (Error::NotReady, ENXIO),
        (Error::Fatal { chi: 0 }, ENODEV),
        (Error::Timeout { opcode: 0 }, ETIMEDOUT),
        (Error::NoData, EAGAIN),
        (Error::BadParameter("x"), EINVAL),
        (Error::BadArea, EIO),
        (
            Error::Status {
                opcode: 0,
                status: admin::STATUS_DEBUG_BLOCKED,
            },
            EPERM,
        ),
    ];
    for (e, errno) in cases {
        assert_eq!(e.errno(), -errno, "{e}");
        assert!(!e.to_string().is_empty());
    }
    for op in 0..=admin::OPCODE_MAX {
        assert!(admin::timeout_ms(op).is_some() && admin::param_words(op).is_some());
        assert_ne!(admin::opcode_name(op), "unknown command");
    }
    assert_eq!(admin::timeout_ms(9), None);
    assert_eq!(admin::status_name(0x33), "unknown status");
}

// ---- the user API ----

#[test]
fn ioctl_numbers() {
    // asm-generic: _IOWR('\xca', 0x30, 88) and friends.
    let g = &uapi::IOC_GENERIC;
    assert_eq!(Ioctl::ErrorLog.number(g), Some(0xc058_ca30));
    assert_eq!(Ioctl::ControllerDump.number(g), Some(0x0000_ca31));
    assert_eq!(Ioctl::ControllerStats.number(g), Some(0x8068_ca34));
    assert_eq!(Ioctl::Eventfd.number(g), Some(0x4008_ca35));
    assert_eq!(Ioctl::EventCheck.number(g), Some(0x8008_ca36));
    // powerpc: 3 direction bits, none = 1, write = 4.
    let p = &uapi::IOC_POWERPC;
    assert_eq!(Ioctl::ControllerDump.number(p), Some(0x2000_ca31));
    assert_eq!(Ioctl::Eventfd.number(p), Some(0x8008_ca35));
    assert_eq!(Ioctl::ErrorLog.number(p), Some(0xc058_ca30));
    for i in uapi::IOCTLS {
        for enc in [g, p] {
            assert_eq!(Ioctl::from_number(i.number(enc).unwrap(), enc), Some(i));
        }
        let (nr, _, _) = i.def();
        assert_eq!(i.debug_only(), nr >= 0xf0);
    }
    assert_eq!(uapi::ioc(g, Dir::Read, 1, 1 << 14), None);
    assert_eq!(Ioctl::from_number(0xc058_ca3f, g), None);
}

#[test]
fn payload_decoders_check_inputs() {
    let mut b = [0u8; uapi::ERROR_LOG_SIZE];
    b[56] = 16;
    b[64] = 0x10;
    assert_eq!(
        uapi::ErrorLogArgs::decode(&b),
        Ok(uapi::ErrorLogArgs {
            buf_ptr: 0x10,
            buf_size: 16
        })
    );
    for (off, v) in [(56, 17u8), (49, 1), (60, 1), (80, 1)] {
        let mut c = b;
        c[off] = v;
        assert!(uapi::ErrorLogArgs::decode(&c).is_err(), "{off}");
    }
    let a = uapi::ErrorLogArgs::decode(&b).unwrap();
    let out = a.encode(Some(&ErrorLogEntry {
        data_len: 70_000,
        ..entry()
    }));
    assert_eq!(u16::from_le_bytes([out[56], out[57]]), u16::MAX);
    assert_eq!(&out[40..48], b"abcdefgh");
    assert_eq!(out[48], 0, "fw_revision is NUL-terminated");

    let mut d = [0u8; uapi::DUMP_DATA_SIZE];
    d[8] = 8;
    d[12] = 1;
    assert_eq!(
        uapi::DumpDataArgs::decode(&d).map(|a| (a.buf_size, a.offset)),
        Ok((8, 1))
    );
    for (off, v) in [(8, 0u8), (8, 9), (10, 1), (79, 1)] {
        let mut c = d;
        c[off] = v;
        assert!(uapi::DumpDataArgs::decode(&c).is_err(), "{off}");
    }
    assert_eq!(uapi::decode_eventfd(&[3, 0, 0, 0, 0, 0, 0, 0]), Ok(3));
    assert!(uapi::decode_eventfd(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]).is_err());
    assert!(uapi::decode_eventfd(&[3, 0, 0, 0, 1, 0, 0, 0]).is_err());
    let mut f = [0u8; uapi::FWDEBUG_SIZE];
    f[24] = 5;
    assert_eq!(uapi::FwDebugArgs::decode(&f).map(|a| a.action), Ok(5));
    for (off, v) in [(25, 1u8), (28, 8), (28, 3), (30, 1)] {
        let mut c = f;
        c[off] = v;
        assert!(uapi::FwDebugArgs::decode(&c).is_err(), "{off}");
    }
    f[16] = 1;
    f[28] = 8;
    assert!(uapi::FwDebugArgs::decode(&f).is_ok());
    assert!(uapi::decode_mmio(&uapi::encode_mmio(4, 0)).is_err());
    assert_eq!(
        uapi::decode_mmio(&uapi::encode_mmio(0x20, 7)),
        Ok((0x20, 7))
    );
    assert_eq!(
        uapi::events(chi::ELA | chi::CDA | chi::CFFS | chi::CHFS | chi::ACRA),
        0xf
    );
}

/// C layout of the header's structs: natural alignment of
/// `__u8/__u16/__u32/__u64/__s32/char` fields and arrays.
/// A C struct: name, size, fields (name, offset, size).
type CStruct = (String, usize, Vec<(String, usize, usize)>);

fn c_layouts(header: &str) -> Vec<CStruct> {
    let mut out = Vec::new();
    let mut lines = header.lines();
    while let Some(l) = lines.next() {
        let Some(name) = l
            .strip_prefix("struct ")
            .and_then(|r| r.split_whitespace().next())
        else {
            continue;
        };
        if !l.contains('{') {
            continue;
        }
        let (mut off, mut align, mut fields) = (0usize, 1usize, Vec::new());
        for f in lines.by_ref() {
            let f = f.trim();
            if f.starts_with('}') {
                break;
            }
            let decl = f.split(';').next().unwrap_or("");
            let mut parts = decl.split_whitespace();
            let (Some(ty), Some(var)) = (parts.next(), parts.next()) else {
                continue;
            };
            let size = match ty {
                "__u8" | "char" => 1,
                "__u16" => 2,
                "__u32" | "__s32" => 4,
                "__u64" => 8,
                _ => continue,
            };
            let (fname, count) = match var.split_once('[') {
                Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().unwrap()),
                None => (var, 1),
            };
            off = off.next_multiple_of(size);
            align = align.max(size);
            fields.push((fname.to_string(), off, size * count));
            off += size * count;
        }
        out.push((name.to_string(), off.next_multiple_of(align), fields));
    }
    out
}

#[test]
fn uapi_matches_header() {
    let header = include_str!("../../../include/uapi/linux/ocxlpmem.h");
    let c = c_layouts(header);
    assert_eq!(c.len(), uapi::LAYOUTS.len());
    for (name, size, fields) in uapi::LAYOUTS {
        let (_, csize, cfields) = c
            .iter()
            .find(|(n, _, _)| n == name)
            .unwrap_or_else(|| panic!("struct {name} not in the header"));
        assert_eq!(*csize, size, "sizeof(struct {name})");
        let ours: Vec<_> = fields
            .iter()
            .map(|(n, o, s)| (n.to_string(), *o, *s))
            .collect();
        assert_eq!(cfields, &ours, "struct {name}");
        // No implicit holes: the fields tile the struct.
        let covered: usize = fields.iter().map(|f| f.2).sum();
        assert_eq!(covered, size, "holes in struct {name}");
    }
    // The ioctl numbers in the header.
    for i in uapi::IOCTLS {
        let (nr, dir, _) = i.def();
        let mac = match dir {
            Dir::None => "_IO(",
            Dir::Read => "_IOR(",
            Dir::Write => "_IOW(",
            Dir::ReadWrite => "_IOWR(",
        };
        let want = format!("{mac}OCXLPMEM_MAGIC, {nr:#x}");
        assert!(header.contains(&want), "{i:?}: {want}");
    }
    assert!(header.contains("#define OCXLPMEM_MAGIC 0xCA"));
}

#[test]
fn attachment_descriptor_round_trips_and_is_checked() {
    use crate::attach::{self, Descriptor};
    use crate::mem::MemWindow;
    const SECTION: u64 = 128 << 20;
    let d = Descriptor {
        vendor: attach::VENDOR_IBM,
        device: attach::DEVICE_OCXLPMEM,
        memory_base: 0x20_0000_0000,
        memory_size: 3 * SECTION,
        doorbell: 0,
        serial: 0x0625_0000_1234_5678,
    };
    let put = |d: &Descriptor| {
        let mut w = MemWindow::new(attach::REGISTER_BYTES);
        for (off, v) in d.encode() {
            w.write_u64(off, v);
        }
        w
    };
    let w = put(&d);
    assert_eq!(Descriptor::read(&w, SECTION), Ok(Some(d)));
    assert_eq!(d.metadata(SECTION), (0x20_0000_0000, SECTION));
    assert_eq!(d.pmem(SECTION), (0x20_0000_0000 + SECTION, 2 * SECTION));
    // No magic: another device, not an error.
    assert_eq!(
        Descriptor::read(&MemWindow::new(attach::REGISTER_BYTES), SECTION),
        Ok(None)
    );
    // A window too small to hold the descriptor.
    assert!(Descriptor::read(&MemWindow::new(0x100), SECTION).is_err());
    // Wrong identity, misaligned or too small memory, wrapping range.
    let bad = [
        Descriptor {
            device: 0x0623,
            ..d
        },
        Descriptor {
            memory_base: d.memory_base + 4096,
            ..d
        },
        Descriptor {
            memory_size: SECTION,
            ..d
        },
        Descriptor {
            memory_size: 2 * SECTION + 4096,
            ..d
        },
        Descriptor {
            memory_base: u64::MAX - SECTION + 1,
            ..d
        },
        // No serial number: the cookie of the card's labels comes from it.
        Descriptor { serial: 0, ..d },
    ];
    for b in bad {
        assert!(Descriptor::read(&put(&b), SECTION).is_err(), "{b:?}");
    }
    assert!(d.check(0).is_err());
    assert!(d.check(3 << 20).is_err());
}

#[test]
fn ioctl_requests_and_answers_round_trip() {
    use crate::uapi::{DumpDataArgs, ErrorLogArgs};
    // Error log: what userspace sends decodes to the same arguments; the
    // driver's answer decodes to the entry it encoded.
    let args = ErrorLogArgs {
        buf_ptr: 0x7fff_0000_1000,
        buf_size: 4096,
    };
    assert_eq!(ErrorLogArgs::decode(&args.request()), Ok(args));
    let fw = uapi::FwDebugArgs {
        parameter_1: 0x10,
        parameter_2: 64,
        buf_ptr: 0x7fff_0000_2000,
        action: data::FWDEBUG_READ_CONTROLLER_MEMORY,
        function_code: 3,
        buf_size: 64,
    };
    assert_eq!(uapi::FwDebugArgs::decode(&fw.request()), Ok(fw));
    let entry = ErrorLogEntry {
        log_identifier: 7,
        program_reference_code: 0x1234,
        error_log_type: data::ERRLOG_TYPE_GENERAL,
        action_flags: 0x12_3456,
        power_on_seconds: 99,
        timestamp: 0x1122,
        wwid: [1, 2],
        fw_revision: *b"1.0.0\0\0\0",
        data_len: 24,
    };
    assert_eq!(
        ErrorLogArgs::answer(&args.encode(Some(&entry))),
        Some(entry)
    );
    assert_eq!(ErrorLogArgs::answer(&args.encode(None)), None);
    // A buffer size that is not a multiple of 8 is refused.
    let odd = ErrorLogArgs {
        buf_size: 12,
        ..args
    };
    assert!(ErrorLogArgs::decode(&odd.request()).is_err());
    // Dump data.
    let d = DumpDataArgs {
        buf_ptr: 0x5000,
        buf_size: 256,
        offset: 4096,
    };
    assert_eq!(DumpDataArgs::decode(&d.request()), Ok(d));
    assert_eq!(DumpDataArgs::returned(&d.encode(200)), 200);
    assert!(DumpDataArgs::decode(&DumpDataArgs { buf_size: 0, ..d }.request()).is_err());
}

/// A controller that applies register writes some reads after the
/// doorbell (as the test VMM's card does, behind its transport).
struct Lagging {
    inner: std::cell::RefCell<Scripted>,
    pending: std::cell::Cell<u32>,
    reads_left: std::cell::Cell<u32>,
}

impl Mmio for Lagging {
    fn size(&self) -> usize {
        self.inner.borrow().size()
    }
    fn read_u64(&self, o: usize) -> u64 {
        if o == regs::CHI && self.pending.get() > 0 {
            if self.reads_left.get() == 0 {
                for _ in 0..self.pending.replace(0) {
                    self.inner.borrow_mut().doorbell();
                }
            } else {
                self.reads_left.set(self.reads_left.get() - 1);
            }
        }
        self.inner.borrow().read_u64(o)
    }
    fn write_u64(&mut self, o: usize, v: u64) {
        self.inner.get_mut().write_u64(o, v)
    }
    fn doorbell(&mut self) {
        self.pending.set(self.pending.get() + 1);
        self.reads_left.set(2);
    }
}

#[test]
fn a_late_acknowledgement_is_not_taken_for_the_next_answer() {
    let mut d = Lagging {
        inner: std::cell::RefCell::new(Scripted::new(vec![(0, 0, vec![]); 3])),
        pending: std::cell::Cell::new(0),
        reads_left: std::cell::Cell::new(0),
    };
    let mut mb = AdminMailbox::probe(&d).unwrap();
    let mut clock = Clock(0);
    for _ in 0..3 {
        mb.run(&mut d, admin::HEARTBEAT, &[], &mut clock).unwrap();
    }
    assert_eq!(d.inner.borrow().requests.len(), 3);
}

/// The header compiles on its own as C89 (`-pedantic-errors`), and the C
/// compiler agrees with the protocol's tables: every struct's size and
/// field offsets and every ioctl number (this host's encoding). A failed
/// check is a negative array size, so the compile fails.
#[test]
fn uapi_header_compiles_as_c89_with_the_same_layouts() {
    let mut c = String::from("#include <stddef.h>\n#include <linux/ocxlpmem.h>\n");
    let mut n = 0;
    let mut check = |c: &mut String, cond: String| {
        n += 1;
        c.push_str(&format!("typedef char check_{n}[({cond}) ? 1 : -1];\n"));
    };
    for (name, size, fields) in uapi::LAYOUTS {
        check(&mut c, format!("sizeof(struct {name}) == {size}"));
        for (field, offset, len) in fields.iter() {
            check(
                &mut c,
                format!("offsetof(struct {name}, {field}) == {offset}"),
            );
            check(
                &mut c,
                format!("sizeof(((struct {name} *)0)->{field}) == {len}"),
            );
        }
    }
    let enc = if cfg!(any(target_arch = "powerpc", target_arch = "powerpc64")) {
        &uapi::IOC_POWERPC
    } else {
        &uapi::IOC_GENERIC
    };
    let header = include_str!("../../../include/uapi/linux/ocxlpmem.h");
    for i in uapi::IOCTLS {
        let (nr, _, _) = i.def();
        let name = header
            .lines()
            .find_map(|l| {
                let mut w = l.split_whitespace();
                (w.next() == Some("#define"))
                    .then(|| w.next())
                    .flatten()
                    .filter(|_| l.contains(&format!("OCXLPMEM_MAGIC, {nr:#04x}")))
            })
            .unwrap_or_else(|| panic!("{i:?}: no #define with number {nr:#04x}"));
        let number = i.number(enc).unwrap();
        check(&mut c, format!("{name} == {number:#x}u"));
    }
    let constants: [(&str, u64); 13] = [
        ("OCXLPMEM_MAGIC", u64::from(uapi::MAGIC)),
        (
            "IOCTL_OCXLPMEM_EVENT_CONTROLLER_DUMP_AVAILABLE",
            uapi::EVENT_CONTROLLER_DUMP_AVAILABLE,
        ),
        (
            "IOCTL_OCXLPMEM_EVENT_ERROR_LOG_AVAILABLE",
            uapi::EVENT_ERROR_LOG_AVAILABLE,
        ),
        (
            "IOCTL_OCXLPMEM_EVENT_HARDWARE_FATAL",
            uapi::EVENT_HARDWARE_FATAL,
        ),
        (
            "IOCTL_OCXLPMEM_EVENT_FIRMWARE_FATAL",
            uapi::EVENT_FIRMWARE_FATAL,
        ),
        (
            "OCXLPMEM_ERROR_LOG_ACTION_RESET",
            data::ERRLOG_ACTION_RESET.into(),
        ),
        (
            "OCXLPMEM_ERROR_LOG_ACTION_CHKFW",
            data::ERRLOG_ACTION_CHKFW.into(),
        ),
        (
            "OCXLPMEM_ERROR_LOG_ACTION_REPLACE",
            data::ERRLOG_ACTION_REPLACE.into(),
        ),
        (
            "OCXLPMEM_ERROR_LOG_ACTION_DUMP",
            data::ERRLOG_ACTION_DUMP.into(),
        ),
        (
            "OCXLPMEM_ERROR_LOG_TYPE_GENERAL",
            data::ERRLOG_TYPE_GENERAL.into(),
        ),
        (
            "OCXLPMEM_ERROR_LOG_TYPE_PREDICTIVE_FAILURE",
            data::ERRLOG_TYPE_PREDICTIVE_FAILURE.into(),
        ),
        (
            "OCXLPMEM_ERROR_LOG_TYPE_DATA_LOSS",
            data::ERRLOG_TYPE_DATA_LOSS.into(),
        ),
        (
            "OCXLPMEM_ERROR_LOG_TYPE_HEALTH_PERFORMANCE",
            data::ERRLOG_TYPE_HEALTH_PERFORMANCE.into(),
        ),
    ];
    for (name, value) in constants {
        check(&mut c, format!("{name} == {value}u"));
    }
    let include = concat!(env!("CARGO_MANIFEST_DIR"), "/../../include/uapi");
    let mut cc = std::process::Command::new("cc")
        .args([
            "-std=c89",
            "-pedantic-errors",
            "-Wall",
            "-Werror",
            "-fsyntax-only",
        ])
        .args(["-I", include, "-x", "c", "-"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("cc (make setup installs gcc)");
    use std::io::Write as _;
    cc.stdin.take().unwrap().write_all(c.as_bytes()).unwrap();
    let out = cc.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the header does not compile as C89 or disagrees with uapi.rs:\n{}\n{c}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(n > 60, "{n} checks");
}
