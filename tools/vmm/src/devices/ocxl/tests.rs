// SPDX-License-Identifier: GPL-2.0
//! The driver side (`ocxlpmem-core`, the kernel's protocol code) against
//! the card model through a `Vec<u8>` register file, with every fault.

use std::cell::RefCell;
use std::rc::Rc;

use ocxlpmem_core::admin::{self, AdminMailbox, Sleep};
use ocxlpmem_core::commands;
use ocxlpmem_core::data::{self, ErrorLogEntry};
use ocxlpmem_core::error::Error;
use ocxlpmem_core::firmware;
use ocxlpmem_core::regs::{self, chi, hci, Capabilities, Mmio};
use ocxlpmem_core::uapi;

use super::faults::{Fault, FaultAction};
use super::*;
use crate::devices::card::{Device, Registers, Vectors};
use crate::devices::nvdimm::intel::firmware::Image;

struct Bus {
    regs: Vec<u8>,
    card: Card,
    vectors: Vectors,
    slept_ms: u64,
}

/// The window and the sleeper: two handles of one bus. A doorbell runs the
/// card; a sleep of `ms` runs `ms / 10` ticks (at least one).
#[derive(Clone)]
struct Shared(Rc<RefCell<Bus>>);

impl Mmio for Shared {
    fn size(&self) -> usize {
        self.0.borrow().regs.len()
    }

    fn read_u64(&self, offset: usize) -> u64 {
        Registers::read_u64(&self.0.borrow().regs, offset)
    }

    fn write_u64(&mut self, offset: usize, value: u64) {
        Registers::write_u64(&mut self.0.borrow_mut().regs, offset, value)
    }

    fn doorbell(&mut self) {
        let mut b = self.0.borrow_mut();
        let Bus {
            regs,
            card,
            vectors,
            ..
        } = &mut *b;
        *vectors |= card.doorbell(regs);
    }
}

impl Sleep for Shared {
    fn sleep_ms(&mut self, ms: u32) {
        let mut b = self.0.borrow_mut();
        b.slept_ms += u64::from(ms);
        let Bus {
            regs,
            card,
            vectors,
            ..
        } = &mut *b;
        for _ in 0..(ms / 10).max(1) {
            *vectors |= card.tick(regs);
        }
    }
}

impl Shared {
    fn new(card: Card) -> Self {
        let mut regs = vec![0u8; card.register_bytes()];
        let mut card = card;
        card.reset(&mut regs);
        Shared(Rc::new(RefCell::new(Bus {
            regs,
            card,
            vectors: 0,
            slept_ms: 0,
        })))
    }

    fn card(&self) -> std::cell::RefMut<'_, Card> {
        std::cell::RefMut::map(self.0.borrow_mut(), |b| &mut b.card)
    }

    fn fault(&self, opcode: Option<u8>, action: FaultAction, remaining: Option<u32>) {
        self.card()
            .faults
            .add(Fault {
                opcode,
                action,
                remaining,
            })
            .unwrap();
    }

    fn take_vectors(&self) -> Vectors {
        std::mem::take(&mut self.0.borrow_mut().vectors)
    }

    fn chi(&self) -> u64 {
        regs::chi(self).unwrap()
    }

    fn reset(&self) {
        let mut b = self.0.borrow_mut();
        let Bus { regs, card, .. } = &mut *b;
        card.reset(regs);
    }

    fn push_log(&self, entry: ErrorLogEntry, extra: Vec<u8>) -> Vectors {
        let mut b = self.0.borrow_mut();
        let Bus { regs, card, .. } = &mut *b;
        card.push_error_log(regs, entry, extra)
    }
}

/// A probed card: window, sleeper, mailbox.
fn setup() -> (Shared, Shared, AdminMailbox) {
    let w = Shared::new(Card::new(CardConfig::default()));
    let caps = Capabilities::read(&w).unwrap();
    let mut s = w.clone();
    commands::wait_ready(&w, &caps, &mut s).unwrap();
    let mb = AdminMailbox::probe(&w).unwrap();
    (w.clone(), w, mb)
}

/// A power cycle whose controller comes up `ready` and `memory` ticks
/// later, seen by the driver's readiness wait (which sleeps in ticks).
fn wait_after_power_cycle(ready: u32, memory: u32) -> Result<(), Error> {
    let (w, mut s, _) = setup();
    {
        let mut b = w.0.borrow_mut();
        let Bus { regs, card, .. } = &mut *b;
        card.power_cycle(regs, ready, memory);
    }
    let caps = Capabilities::read(&w).unwrap();
    commands::wait_ready(&w, &caps, &mut s)
}

#[test]
fn power_cycle_delays_readiness_and_memory() {
    // The default card: 2 s to ready plus 3 s to memory, polled each second.
    assert_eq!(wait_after_power_cycle(0, 0), Ok(()));
    assert_eq!(wait_after_power_cycle(150, 250), Ok(()));
    assert_eq!(wait_after_power_cycle(800, 0), Err(Error::NotReady));
    assert_eq!(wait_after_power_cycle(0, 800), Err(Error::NoMemory));
    // Not ready at first: the bits are clear right after the power cycle.
    let (w, _, _) = setup();
    {
        let mut b = w.0.borrow_mut();
        let Bus { regs, card, .. } = &mut *b;
        card.power_cycle(regs, 3, 5);
    }
    assert_eq!(w.chi() & (chi::CRDY | chi::MA), 0);
    {
        let mut b = w.0.borrow_mut();
        let Bus { regs, card, .. } = &mut *b;
        for _ in 0..3 {
            card.tick(regs);
        }
    }
    assert_eq!(w.chi() & (chi::CRDY | chi::MA), chi::CRDY);
    {
        let mut b = w.0.borrow_mut();
        let Bus { regs, card, .. } = &mut *b;
        for _ in 0..2 {
            card.tick(regs);
        }
    }
    assert_eq!(w.chi() & (chi::CRDY | chi::MA), chi::CRDY | chi::MA);
}

fn general_entry(prc: u32) -> ErrorLogEntry {
    ErrorLogEntry {
        program_reference_code: prc,
        error_log_type: data::ERRLOG_TYPE_GENERAL,
        action_flags: data::ERRLOG_ACTION_DUMP | data::ERRLOG_ACTION_RESET,
        power_on_seconds: 77,
        timestamp: 0x1234,
        ..Default::default()
    }
}

// ---- the card as the driver finds it ----

#[test]
fn reset_gives_a_ready_card_with_its_capabilities_and_area() {
    let (mut w, mut s, mb) = setup();
    let caps = Capabilities::read(&w).unwrap();
    assert_eq!(caps, CardConfig::default().caps);
    assert_eq!(caps.fw_version_text(), Some("1.0.0"));
    assert_eq!(caps.ready_timeout_s(), 5);
    assert_eq!(*mb.area(), ADMIN_AREA);
    assert_eq!(regs::usable(w.chi()), Ok(()));
    assert_eq!(w.chi() & chi::ELA, 0);
    let mut mb = mb;
    commands::heartbeat(&mut w, &mut mb, &mut s).unwrap();
    assert_eq!(w.chi() & chi::ACRA, 0, "acknowledged");
    assert_eq!(w.card().counters.commands.get(&admin::HEARTBEAT), Some(&1));
}

#[test]
fn shutdown_clears_memory_available_and_afu_reset_restores_it() {
    let (mut w, mut s, mut mb) = setup();
    commands::shutdown(&mut w, &mut mb, &mut s).unwrap();
    assert_eq!(regs::usable(w.chi()), Err(Error::NoMemory));
    let caps = Capabilities::read(&w).unwrap();
    let mut short = caps;
    short.readiness_timeout_s = 0;
    short.memory_available_timeout_s = 1;
    assert_eq!(
        commands::wait_ready(&w, &short, &mut s),
        Err(Error::NoMemory)
    );
    regs::set_bits(&mut w, regs::HCI, hci::AFU_RESET).unwrap();
    assert_eq!(regs::usable(w.chi()), Ok(()));
    assert_eq!(w.card().counters.resets, 2);
}

#[test]
fn commands_and_their_answers() {
    let (mut w, mut s, mut mb) = setup();
    // SMART: all attributes, then as many as fit.
    let mut out = [0u8; 8 * 16];
    let r = commands::smart(&mut w, &mut mb, &mut s, &mut out).unwrap();
    assert_eq!((r.available, r.copied), (8, 8));
    assert_eq!(data::SmartAttribute::parse(&out, 0).unwrap().0, [1, 98]);
    let mut small = [0u8; 20];
    let r = commands::smart(&mut w, &mut mb, &mut s, &mut small).unwrap();
    assert_eq!((r.available, r.copied), (8, 1));
    // Statistics, and their ioctl payload.
    let st = commands::controller_stats(&mut w, &mut mb, &mut s).unwrap();
    assert_eq!(st.life_remaining, 98);
    assert_eq!(st.host_load_count, 1000);
    assert_eq!(st.fast_write_count, 7);
    assert_eq!(uapi::decode_stats(&uapi::encode_stats(&st)), st);
    // Capabilities.
    let caps = commands::cmd_caps(&mut w, &mut mb, &mut s).unwrap();
    assert!((0..=admin::OPCODE_MAX).all(|op| caps.supports(op)));
    assert!(!caps.supports(admin::OPCODE_MAX + 1));
    // Ids advance with each command.
    assert_eq!(mb.last_id(), 4);
}

#[test]
fn unknown_opcode_is_refused_by_the_card() {
    let (mut w, mut s, mut mb) = setup();
    // The driver refuses unknown opcodes itself...
    assert_eq!(
        mb.execute(&mut w, 0x30, &[], &mut s),
        Err(Error::UnknownOpcode(0x30))
    );
    // ...so write one by hand: the card answers bad opcode.
    let area = *mb.area();
    regs::write(&mut w, area.request, admin::request_header(0x30, 9)).unwrap();
    regs::set_bits(&mut w, regs::HCI, hci::ACRW).unwrap();
    let word = regs::read(&w, area.response).unwrap();
    assert_eq!(admin::decode_response(word), (admin::STATUS_BAD_OPCODE, 9));
}

#[test]
fn error_log_entries_in_order_then_none() {
    let (mut w, mut s, mut mb) = setup();
    let mut buf = [0u8; 64];
    assert_eq!(
        commands::read_error_log(&mut w, &mut mb, &mut s, &mut buf),
        Err(Error::NoData)
    );
    regs::set_bits(&mut w, regs::CHIE, chi::ELA).unwrap();
    assert_eq!(
        w.push_log(general_entry(0xaa), vec![1, 2, 3, 4, 5]),
        VECTOR_EVENTS
    );
    let other = ErrorLogEntry {
        error_log_type: data::ERRLOG_TYPE_THERMAL_WARNING,
        action_flags: 0xff,
        ..general_entry(0xbb)
    };
    w.push_log(other, (0..100).collect());
    assert_ne!(w.chi() & chi::ELA, 0);
    let (e, n) = commands::read_error_log(&mut w, &mut mb, &mut s, &mut buf)
        .unwrap()
        .unwrap();
    assert_eq!((e.program_reference_code, e.log_identifier), (0xaa, 1));
    assert_eq!(
        e.action_flags,
        data::ERRLOG_ACTION_DUMP | data::ERRLOG_ACTION_RESET
    );
    assert_eq!((e.data_len, n, &buf[..5]), (5, 5, &[1u8, 2, 3, 4, 5][..]));
    assert_eq!(e.wwid, CardConfig::default().wwid);
    assert_eq!(&e.fw_revision, b"1.0.0\0\0\0");
    // Additional data cut to the buffer; flags only for general entries.
    let (e, n) = commands::read_error_log(&mut w, &mut mb, &mut s, &mut buf)
        .unwrap()
        .unwrap();
    assert_eq!((e.data_len, n, buf[63]), (100, 64, 63));
    assert_eq!(e.action_flags, 0);
    assert_eq!(w.chi() & chi::ELA, 0);
    // The ioctl answer.
    let args = uapi::ErrorLogArgs {
        buf_ptr: 0x7000,
        buf_size: 64,
    };
    let b = args.encode(Some(&e));
    assert_eq!(u16::from_le_bytes([b[56], b[57]]), 100);
    assert_eq!(b[58], data::ERRLOG_TYPE_THERMAL_WARNING);
    // ELA set without entries: the card answers an empty log.
    let c = w.chi();
    regs::write(&mut w, regs::CHI, c | chi::ELA).unwrap();
    assert_eq!(
        commands::read_error_log(&mut w, &mut mb, &mut s, &mut buf),
        Ok(None)
    );
}

#[test]
fn health_request_arrives_as_an_error_log_entry() {
    let (mut w, mut s, mut mb) = setup();
    commands::request_health_perf(&mut w).unwrap();
    assert_eq!(regs::read(&w, regs::HCI).unwrap() & hci::REQ_HEALTH_PERF, 0);
    let mut buf = vec![0u8; data::STATS_BYTES];
    let (e, n) = commands::read_error_log(&mut w, &mut mb, &mut s, &mut buf)
        .unwrap()
        .unwrap();
    assert_eq!(e.error_log_type, data::ERRLOG_TYPE_HEALTH_PERFORMANCE);
    assert_eq!(n, data::STATS_BYTES);
    let st = data::ControllerStats::parse(&buf, data::STATS_BYTES).unwrap();
    assert_eq!(st.life_remaining, 98);
}

#[test]
fn unread_error_log_entries_are_bounded() {
    let (mut w, _s, _mb) = setup();
    for _ in 0..MAX_ERROR_LOG_ENTRIES + 10 {
        commands::request_health_perf(&mut w).unwrap();
    }
    assert_eq!(w.card().pending_error_logs(), MAX_ERROR_LOG_ENTRIES);
}

#[test]
fn controller_dump_in_chunks_then_collected() {
    let (mut w, mut s, mut mb) = setup();
    // No dump yet: the card refuses the chunk read.
    let mut chunk = vec![0u8; 4096];
    assert_eq!(
        commands::read_dump_chunk(&mut w, &mut mb, &mut s, 0, &mut chunk),
        Err(Error::Status {
            opcode: admin::CONTROLLER_DUMP,
            status: admin::STATUS_BAD_REQUEST_PARM
        })
    );
    regs::set_bits(&mut w, regs::CHIE, chi::CDA).unwrap();
    w.take_vectors();
    commands::request_dump(&mut w, &mut s, 1000).unwrap();
    assert_eq!(w.take_vectors(), VECTOR_EVENTS);
    assert_ne!(w.chi() & chi::CDA, 0);
    assert_eq!(uapi::events(w.chi()), uapi::EVENT_CONTROLLER_DUMP_AVAILABLE);
    let mut dump = Vec::new();
    loop {
        let off = u32::try_from(dump.len()).unwrap();
        let n = commands::read_dump_chunk(&mut w, &mut mb, &mut s, off, &mut chunk).unwrap();
        if n == 0 {
            break;
        }
        dump.extend_from_slice(&chunk[..n]);
    }
    assert_eq!(dump.len(), CardConfig::default().dump_size);
    assert_eq!(&dump[..8], b"OCXLDUMP");
    // More than the data buffer holds: the chunk is cut to it.
    let mut big = vec![0u8; 0x10000];
    let n = commands::read_dump_chunk(&mut w, &mut mb, &mut s, 0, &mut big).unwrap();
    assert_eq!(
        n,
        CardConfig::default()
            .dump_size
            .min(ADMIN_AREA.data_size - 8)
    );
    commands::dump_collected(&mut w).unwrap();
    assert_eq!(w.chi() & chi::CDA, 0);
    assert!(!w.card().has_dump());
    // A buffer too small for one word.
    assert_eq!(
        commands::read_dump_chunk(&mut w, &mut mb, &mut s, 0, &mut [0u8; 7]),
        Err(Error::BadParameter("dump chunk size"))
    );
}

/// "2.1.0" as `FWVER` holds it.
const NEW_VERSION: [u8; 8] = *b"2.1.0\0\0\0";

/// An image of the VMM's format whose length is not a multiple of 8.
fn new_image() -> Vec<u8> {
    let payload: Vec<u8> = (0..80_003u32).map(|i| (i * 7) as u8).collect();
    Image::build(u64::from_le_bytes(NEW_VERSION), &payload)
}

#[test]
fn firmware_update_in_blocks_runs_after_a_reset() {
    let (mut w, mut s, mut mb) = setup();
    let image = new_image();
    commands::firmware_update(&mut w, &mut mb, &mut s, &image).unwrap();
    // 3 blocks of at most 32 KiB (the last one padded), then the commit.
    assert_eq!(w.card().counters.commands.get(&admin::FW_UPDATE), Some(&4));
    // Committed, not running yet.
    assert_eq!(&w.card().fw_version(), b"1.0.0\0\0\0");
    let caps = Capabilities::read(&w).unwrap();
    assert_eq!(caps.fw_version_text(), Some("1.0.0"));
    regs::set_bits(&mut w, regs::HCI, hci::AFU_RESET).unwrap();
    assert_eq!(w.card().fw_version(), NEW_VERSION);
    let caps = Capabilities::read(&w).unwrap();
    assert_eq!(caps.fw_version_text(), Some("2.1.0"));
    // A second reset runs the same firmware.
    regs::set_bits(&mut w, regs::HCI, hci::AFU_RESET).unwrap();
    assert_eq!(w.card().fw_version(), NEW_VERSION);
    // Images the driver refuses before sending anything.
    assert_eq!(
        commands::firmware_update(&mut w, &mut mb, &mut s, &[]),
        Err(Error::BadParameter("firmware image size"))
    );
    assert_eq!(
        firmware::check_image(data::FW_MAX_IMAGE + 1),
        Err(Error::BadParameter("firmware image size"))
    );
}

#[test]
fn firmware_images_the_card_refuses() {
    let (mut w, mut s, mut mb) = setup();
    let bad_data = Error::Status {
        opcode: admin::FW_UPDATE,
        status: admin::STATUS_BAD_DATA_PARM,
    };
    let refused = Err(bad_data);
    let good = new_image();
    let mut spoiled = [
        good.clone(),
        good.clone(),
        good.clone(),
        good[..good.len() - 1].to_vec(),
    ];
    spoiled[0][0] ^= 1; // magic
    spoiled[1][20] ^= 1; // checksum
    spoiled[2][1000] ^= 1; // payload
    for image in &spoiled {
        let r = commands::firmware_update(&mut w, &mut mb, &mut s, image);
        assert_eq!(r, refused);
        assert_eq!(
            firmware::UpdateFailure::of(&r.unwrap_err()),
            firmware::UpdateFailure::InvalidImage
        );
    }
    // Not an image at all; a version of 0.
    let zero = Image::build(0, &[1, 2, 3]);
    for image in [&[0x55u8; 64][..], &zero] {
        assert_eq!(
            commands::firmware_update(&mut w, &mut mb, &mut s, image),
            refused
        );
    }
    regs::set_bits(&mut w, regs::HCI, hci::AFU_RESET).unwrap();
    assert_eq!(&w.card().fw_version(), b"1.0.0\0\0\0");
    // Blocks out of order, a commit of nothing.
    let fw = |w: &mut Shared, mb: &mut AdminMailbox, s: &mut Shared, off: u32, len: usize| {
        let p = data::fw_update_request(off, len).unwrap();
        mb.run(w, admin::FW_UPDATE, &[p], s)
    };
    assert_eq!(
        fw(&mut w, &mut mb, &mut s, 8, 8),
        Err(Error::Status {
            opcode: admin::FW_UPDATE,
            status: admin::STATUS_BAD_REQUEST_PARM,
        })
    );
    assert_eq!(fw(&mut w, &mut mb, &mut s, 0, 0), refused);
    assert_eq!(bad_data.errno(), -ocxlpmem_core::error::EINVAL);
}

#[test]
fn firmware_update_statuses_from_faults() {
    let (mut w, mut s, mut mb) = setup();
    let image = new_image();
    // Blocked on a background task: busy, and the block goes through
    // when sent again.
    let status = |st| FaultAction::Status(st);
    w.fault(
        Some(admin::FW_UPDATE),
        status(admin::STATUS_BLOCKED_BG_TASK),
        Some(1),
    );
    let busy = firmware::write_block(&mut w, &mut mb, &mut s, &image, 0).unwrap_err();
    assert_eq!(
        firmware::UpdateFailure::of(&busy),
        firmware::UpdateFailure::Busy
    );
    assert_eq!(busy.errno(), -ocxlpmem_core::error::EBUSY);
    // Bad data injected at the commit.
    let mut offset = 0;
    while offset < image.len() {
        offset += firmware::write_block(&mut w, &mut mb, &mut s, &image, offset).unwrap();
    }
    assert_eq!(offset, image.len());
    w.fault(
        Some(admin::FW_UPDATE),
        status(admin::STATUS_BAD_DATA_PARM),
        Some(1),
    );
    let bad = firmware::commit(&mut w, &mut mb, &mut s, image.len()).unwrap_err();
    assert_eq!(
        firmware::UpdateFailure::of(&bad),
        firmware::UpdateFailure::InvalidImage
    );
    commands::firmware_update(&mut w, &mut mb, &mut s, &image).unwrap();
    // No answer: a timeout.
    w.fault(Some(admin::FW_UPDATE), FaultAction::NoResponse, Some(1));
    let late = firmware::write_block(&mut w, &mut mb, &mut s, &image, 0).unwrap_err();
    assert_eq!(
        firmware::UpdateFailure::of(&late),
        firmware::UpdateFailure::Timeout
    );
    // Blocks the driver refuses to send.
    assert!(firmware::write_block(&mut w, &mut mb, &mut s, &image, 4).is_err());
    assert!(firmware::write_block(&mut w, &mut mb, &mut s, &image, image.len()).is_err());
}

#[test]
fn firmware_debug_needs_the_enable_bit() {
    let (mut w, mut s, mut mb) = setup();
    let mut buf = [0u8; 16];
    commands::fw_debug(
        &mut w,
        &mut mb,
        &mut s,
        data::FWDEBUG_READ_CONTROLLER_MEMORY,
        0,
        [32, 16],
        &mut buf,
    )
    .unwrap();
    assert_eq!(buf, core::array::from_fn::<u8, 16, _>(|i| 32 + i as u8));
    assert_eq!(regs::read(&w, regs::HCI).unwrap() & hci::FW_DEBUG, 0);
    // Write then read back.
    let mut pat = [0xeeu8; 8];
    commands::fw_debug(
        &mut w,
        &mut mb,
        &mut s,
        data::FWDEBUG_WRITE_CONTROLLER_MEMORY,
        0,
        [0, 8],
        &mut pat,
    )
    .unwrap();
    let mut back = [0u8; 8];
    commands::fw_debug(
        &mut w,
        &mut mb,
        &mut s,
        data::FWDEBUG_READ_CONTROLLER_MEMORY,
        0,
        [0, 8],
        &mut back,
    )
    .unwrap();
    assert_eq!(back, [0xee; 8]);
    // Outside the controller's memory.
    let e = commands::fw_debug(
        &mut w,
        &mut mb,
        &mut s,
        data::FWDEBUG_READ_CONTROLLER_MEMORY,
        0,
        [CONTROLLER_MEMORY as u64, 8],
        &mut back,
    );
    assert_eq!(
        e,
        Err(Error::Status {
            opcode: admin::FW_DEBUG,
            status: admin::STATUS_BAD_REQUEST_PARM
        })
    );
    assert_eq!(regs::read(&w, regs::HCI).unwrap() & hci::FW_DEBUG, 0);
    // Without HCI.FW_DEBUG the card blocks the action.
    let words = data::fw_debug_params(data::FWDEBUG_GET_PEL, 0, 0, 0);
    let e = mb.run(&mut w, admin::FW_DEBUG, &words, &mut s).unwrap_err();
    assert_eq!(
        e,
        Error::Status {
            opcode: admin::FW_DEBUG,
            status: admin::STATUS_DEBUG_BLOCKED
        }
    );
    assert_eq!(e.errno(), -ocxlpmem_core::error::EPERM);
    // Bad buffers are refused before touching the card.
    assert!(commands::fw_debug(&mut w, &mut mb, &mut s, 1, 0, [0, 0], &mut [0u8; 5]).is_err());
}

#[test]
fn interrupts_follow_chie() {
    let (mut w, mut s, mut mb) = setup();
    commands::heartbeat(&mut w, &mut mb, &mut s).unwrap();
    assert_eq!(w.take_vectors(), 0, "ACRA not enabled");
    regs::set_bits(&mut w, regs::CHIE, chi::ACRA | chi::FATAL).unwrap();
    commands::heartbeat(&mut w, &mut mb, &mut s).unwrap();
    assert_eq!(w.take_vectors(), VECTOR_EVENTS);
    regs::set_bits(&mut w, regs::CHIEC, chi::ACRA).unwrap();
    assert_eq!(regs::read(&w, regs::CHIE).unwrap(), chi::FATAL);
    commands::heartbeat(&mut w, &mut mb, &mut s).unwrap();
    assert_eq!(w.take_vectors(), 0);
    let v = {
        let mut b = w.0.borrow_mut();
        let Bus { regs, card, .. } = &mut *b;
        card.fail(regs, true)
    };
    // Only the fatal bits are enabled: the failure's error log entry
    // (ELA) is pending without an event interrupt.
    assert_eq!(v, VECTOR_FATAL);
    assert_eq!(
        uapi::events(w.chi()),
        uapi::EVENT_HARDWARE_FATAL | uapi::EVENT_ERROR_LOG_AVAILABLE
    );
}

// ---- faults ----

#[test]
fn fault_status_for_one_opcode() {
    let (mut w, mut s, mut mb) = setup();
    w.fault(
        Some(admin::SMART),
        FaultAction::Status(admin::STATUS_BAD_REQUEST_PARM),
        Some(1),
    );
    let mut out = [0u8; 64];
    let e = commands::smart(&mut w, &mut mb, &mut s, &mut out).unwrap_err();
    assert_eq!(
        e,
        Error::Status {
            opcode: admin::SMART,
            status: admin::STATUS_BAD_REQUEST_PARM
        }
    );
    assert_eq!(e.errno(), -ocxlpmem_core::error::EINVAL);
    assert_eq!(w.chi() & chi::ACRA, 0, "a failed command is acknowledged");
    // Other opcodes and the next SMART are served.
    commands::heartbeat(&mut w, &mut mb, &mut s).unwrap();
    commands::smart(&mut w, &mut mb, &mut s, &mut out).unwrap();
    assert_eq!(w.card().faults.injected, 1);
    assert_eq!(w.card().faults.armed(), 0);
    // Every status maps to an errno.
    for (st, errno) in [
        (admin::STATUS_MEM_UNAVAILABLE, ocxlpmem_core::error::ENXIO),
        (admin::STATUS_BLOCKED_BG_TASK, ocxlpmem_core::error::EBUSY),
        (admin::STATUS_BAD_OPCODE, ocxlpmem_core::error::EOPNOTSUPP),
        (admin::STATUS_FAIL, ocxlpmem_core::error::EIO),
    ] {
        w.fault(None, FaultAction::Status(st), Some(1));
        let e = commands::heartbeat(&mut w, &mut mb, &mut s).unwrap_err();
        assert_eq!(e.errno(), -errno, "{e}");
    }
}

#[test]
fn fault_no_response_times_out_after_the_opcode_timeout() {
    let (mut w, mut s, mut mb) = setup();
    w.fault(Some(admin::ERRLOG), FaultAction::NoResponse, Some(1));
    w.push_log(general_entry(1), vec![]);
    let before = w.0.borrow().slept_ms;
    let e = commands::read_error_log(&mut w, &mut mb, &mut s, &mut []).unwrap_err();
    assert_eq!(
        e,
        Error::Timeout {
            opcode: admin::ERRLOG
        }
    );
    assert_eq!(e.errno(), -ocxlpmem_core::error::ETIMEDOUT);
    let slept = w.0.borrow().slept_ms - before;
    assert!((2000..2000 + 64).contains(&slept), "slept {slept} ms");
    // The controller still answers later commands.
    commands::heartbeat(&mut w, &mut mb, &mut s).unwrap();
}

#[test]
fn fault_delay_within_and_beyond_the_timeout() {
    let (mut w, mut s, mut mb) = setup();
    w.fault(Some(admin::HEARTBEAT), FaultAction::Delay(5), Some(1));
    commands::heartbeat(&mut w, &mut mb, &mut s).unwrap();
    w.fault(Some(admin::HEARTBEAT), FaultAction::Delay(50), Some(1));
    assert_eq!(
        commands::heartbeat(&mut w, &mut mb, &mut s),
        Err(Error::Timeout {
            opcode: admin::HEARTBEAT
        })
    );
    // The late answer to the timed-out command arrives later and names
    // the old id: the next command acknowledges it as nobody's and does
    // not take it for its own.
    for _ in 0..50 {
        s.sleep_ms(10);
    }
    let area = *mb.area();
    let late = |w: &Shared| admin::decode_response(regs::read(w, area.response).unwrap()).1;
    assert_eq!(late(&w), mb.last_id());
    assert_ne!(w.chi() & chi::ACRA, 0);
    commands::heartbeat(&mut w, &mut mb, &mut s).unwrap();
    // A command right after the timeout: the card still works on the
    // timed-out one (one command at a time), so the next command waits for
    // the late answer, acknowledges it as nobody's and then runs; its own
    // answer is the last one and nothing is left pending.
    w.fault(Some(admin::HEARTBEAT), FaultAction::Delay(50), Some(1));
    assert!(commands::heartbeat(&mut w, &mut mb, &mut s).is_err());
    let timed_out = mb.last_id();
    commands::heartbeat(&mut w, &mut mb, &mut s).unwrap();
    assert_ne!(mb.last_id(), timed_out);
    assert_eq!(late(&w), mb.last_id());
    assert_eq!(w.chi() & chi::ACRA, 0);
    commands::heartbeat(&mut w, &mut mb, &mut s).unwrap();
}

#[test]
fn command_rung_while_the_card_works_waits() {
    // A command rung while a delayed answer is pending is not served (the
    // card has one response register): it stays in HCI.ACRW until the
    // delayed answer is delivered and acknowledged.
    let (mut w, mut s, mut mb) = setup();
    w.fault(Some(admin::HEARTBEAT), FaultAction::Delay(30), Some(1));
    let first = mb.submit(&mut w, admin::HEARTBEAT, &[]).unwrap();
    s.sleep_ms(10);
    let second = mb.submit(&mut w, admin::HEARTBEAT, &[]).unwrap();
    s.sleep_ms(10);
    assert_eq!(w.chi() & chi::ACRA, 0);
    for _ in 0..40 {
        s.sleep_ms(10);
    }
    let area = *mb.area();
    let answered = |w: &Shared| admin::decode_response(regs::read(w, area.response).unwrap()).1;
    assert_ne!(w.chi() & chi::ACRA, 0);
    assert_eq!(answered(&w), first);
    mb.acknowledge(&mut w).unwrap();
    for _ in 0..3 {
        s.sleep_ms(10);
    }
    assert_ne!(w.chi() & chi::ACRA, 0);
    assert_eq!(answered(&w), second);
}

#[test]
fn fault_fatal_firmware_and_hardware_then_afu_reset() {
    for (action, bit, event) in [
        (FaultAction::Fatal, chi::CFFS, uapi::EVENT_FIRMWARE_FATAL),
        (
            FaultAction::HardwareFatal,
            chi::CHFS,
            uapi::EVENT_HARDWARE_FATAL,
        ),
    ] {
        let (mut w, mut s, mut mb) = setup();
        regs::set_bits(&mut w, regs::CHIE, chi::FATAL).unwrap();
        w.take_vectors();
        w.fault(Some(admin::CONTROLLER_STATS), action, Some(1));
        let e = commands::controller_stats(&mut w, &mut mb, &mut s).unwrap_err();
        assert!(matches!(e, Error::Fatal { chi } if chi & bit != 0), "{e}");
        assert_eq!(e.errno(), -ocxlpmem_core::error::ENODEV);
        assert_eq!(w.take_vectors(), VECTOR_FATAL);
        assert_eq!(
            uapi::events(w.chi()),
            event | uapi::EVENT_ERROR_LOG_AVAILABLE
        );
        // Nothing is served until a reset; acknowledging cannot clear it.
        assert!(matches!(
            commands::heartbeat(&mut w, &mut mb, &mut s),
            Err(Error::Fatal { .. })
        ));
        // But a driver salvaging the controller's record of the failure
        // gets its error log entry, which names it.
        let mut extra = [0u8; 64];
        let (entry, n) = mb
            .salvage(|mb| commands::read_error_log(&mut w, mb, &mut s, &mut extra))
            .unwrap()
            .unwrap();
        let prc = if bit == chi::CHFS {
            super::FATAL_HARDWARE_PRC
        } else {
            super::FATAL_FIRMWARE_PRC
        };
        assert_eq!(entry.program_reference_code, prc);
        assert_eq!(entry.error_log_type, data::ERRLOG_TYPE_GENERAL);
        assert_eq!(&extra[..n], b"controller failed");
        // Outside the salvage, the failure is reported again.
        assert!(matches!(
            commands::heartbeat(&mut w, &mut mb, &mut s),
            Err(Error::Fatal { .. })
        ));
        regs::clear_chi(&mut w, chi::FATAL).unwrap();
        assert_ne!(w.chi() & bit, 0);
        let caps = Capabilities::read(&w).unwrap();
        assert!(matches!(
            commands::wait_ready(&w, &caps, &mut s),
            Err(Error::Fatal { .. })
        ));
        regs::set_bits(&mut w, regs::HCI, hci::AFU_RESET).unwrap();
        let mut mb = AdminMailbox::probe(&w).unwrap();
        commands::heartbeat(&mut w, &mut mb, &mut s).unwrap();
    }
}

#[test]
fn fault_wrong_id() {
    let (mut w, mut s, mut mb) = setup();
    w.fault(None, FaultAction::WrongId, Some(1));
    let e = commands::heartbeat(&mut w, &mut mb, &mut s).unwrap_err();
    assert_eq!(
        e,
        Error::IdMismatch {
            expected: 1,
            got: 2
        }
    );
    assert_eq!(e.errno(), -ocxlpmem_core::error::EIO);
    assert_eq!(w.chi() & chi::ACRA, 0);
    commands::heartbeat(&mut w, &mut mb, &mut s).unwrap();
}

#[test]
fn fault_malformed_data_lengths() {
    let (mut w, mut s, mut mb) = setup();
    let mut buf = [0u8; 256];
    type Check = fn(&Error) -> bool;
    let cases: [(u8, u32, Check); 7] = [
        // Statistics: beyond the data buffer, then shorter than documented.
        (admin::CONTROLLER_STATS, 0xffff_ffff, |e| {
            matches!(e, Error::BadLength { .. })
        }),
        (admin::CONTROLLER_STATS, 0x20, |e| {
            matches!(e, Error::Truncated { .. })
        }),
        // Error log: beyond the buffer (16-bit field), shorter than the
        // fixed fields.
        (admin::ERRLOG, 0xffff, |e| {
            matches!(e, Error::BadLength { .. })
        }),
        (admin::ERRLOG, 0x10, |e| {
            matches!(e, Error::Truncated { .. })
        }),
        // SMART: not whole attributes.
        (admin::SMART, 0x11, |e| matches!(e, Error::BadLength { .. })),
        // Dump chunk: more than requested.
        (admin::CONTROLLER_DUMP, 0x200, |e| {
            matches!(e, Error::BadLength { .. })
        }),
        // Capabilities: too short.
        (admin::CMD_CAPS, 8, |e| matches!(e, Error::Truncated { .. })),
    ];
    commands::request_dump(&mut w, &mut s, 1000).unwrap();
    for (op, len, want) in cases {
        w.fault(Some(op), FaultAction::DataLength(len), Some(1));
        if op == admin::ERRLOG {
            w.push_log(general_entry(3), vec![9; 8]);
        }
        let r = match op {
            admin::CONTROLLER_STATS => {
                commands::controller_stats(&mut w, &mut mb, &mut s).map(|_| 0)
            }
            admin::ERRLOG => commands::read_error_log(&mut w, &mut mb, &mut s, &mut buf).map(|_| 0),
            admin::SMART => commands::smart(&mut w, &mut mb, &mut s, &mut buf).map(|_| 0),
            admin::CONTROLLER_DUMP => {
                commands::read_dump_chunk(&mut w, &mut mb, &mut s, 0, &mut buf)
            }
            _ => commands::cmd_caps(&mut w, &mut mb, &mut s).map(|_| 0),
        };
        let e = r.unwrap_err();
        assert!(want(&e), "opcode {op}: length {len:#x} gave {e}");
        assert_eq!(e.errno(), -ocxlpmem_core::error::EIO);
        assert_eq!(w.chi() & chi::ACRA, 0, "acknowledged after a bad answer");
    }
}

#[test]
fn fault_malformed_data_identifier() {
    let (mut w, mut s, mut mb) = setup();
    w.fault(
        Some(admin::CONTROLLER_STATS),
        FaultAction::DataIdentifier(0x1234),
        Some(1),
    );
    assert_eq!(
        commands::controller_stats(&mut w, &mut mb, &mut s),
        Err(Error::BadIdentifier {
            expected: data::ID_CONTROLLER_STATS,
            got: 0x1234
        })
    );
    commands::controller_stats(&mut w, &mut mb, &mut s).unwrap();
}

#[test]
fn fault_malformed_command_area_offsets() {
    let good = ADMIN_AREA.encode();
    let bad = [
        // Request block past the window.
        ((REGISTER_BYTES as u64 - 8) << 32 | 0x1040, good.1),
        // Response inside the global registers.
        (0x1000u64 << 32 | 0x20, good.1),
        // Request and data buffer overlap.
        (0x2000u64 << 32 | 0x1040, good.1),
        // Data buffer past the window, then absurdly large, then too small.
        (good.0, 0xf000u64 << 32 | 0x8000),
        (good.0, 0x2000u64 << 32 | 0xffff_fff8),
        (good.0, 0x2000u64 << 32 | 0x40),
        // Misaligned data buffer.
        (good.0, 0x2004u64 << 32 | 0x1000),
    ];
    let w = Shared::new(Card::new(CardConfig::default()));
    for (offsets, data) in bad {
        w.fault(None, FaultAction::BadArea { offsets, data }, Some(1));
        w.reset();
        let e = AdminMailbox::probe(&w).unwrap_err();
        assert_eq!(e, Error::BadArea, "{offsets:#x} {data:#x}");
        assert_eq!(e.errno(), -ocxlpmem_core::error::EIO);
    }
    w.reset();
    assert_eq!(*AdminMailbox::probe(&w).unwrap().area(), ADMIN_AREA);
}

#[test]
fn faults_armed_until_cleared() {
    let (mut w, mut s, mut mb) = setup();
    w.fault(
        Some(admin::HEARTBEAT),
        FaultAction::Status(admin::STATUS_FAIL),
        None,
    );
    for _ in 0..3 {
        assert!(commands::heartbeat(&mut w, &mut mb, &mut s).is_err());
    }
    assert_eq!(w.card().faults.armed(), 1);
    w.card().faults.clear();
    commands::heartbeat(&mut w, &mut mb, &mut s).unwrap();
    assert_eq!(w.card().faults.injected, 3);
}
