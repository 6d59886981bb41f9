// SPDX-License-Identifier: GPL-2.0
//! The emulated OpenCAPI persistent memory card (IBM 0x1014:0x0625).
//!
//! A register-file device ([`crate::devices::card::Device`]) with the v4 global
//! MMIO layout: after reset the controller is ready (`CHI.CRDY`) with its
//! memory available (`CHI.MA`), and describes its admin command area in
//! `ACMA_*`. The guest writes a request and sets `HCI.ACRW`; the card
//! serves it at the doorbell (heartbeat, shutdown, firmware update and
//! debug, error log, SMART, statistics, controller dump, command
//! capabilities), writes the response and sets `CHI.ACRA`. Other `HCI`
//! bits take a controller dump, free it, request health data (an error log
//! entry) or reset the AFU. `CHIC`, `CHIEC` and `HCIC` clear bits of
//! `CHI`, `CHIE` and `HCI`.
//!
//! Interrupts: a `CHI` bit the card sets while it is enabled in `CHIE`
//! raises vector 0 (`IMA0`: `ACRA`, `ELA`, `CDA`) or vector 1 (`IMA1`:
//! `CFFS`, `CHFS`). Answers are built with `ocxlpmem-core`, the layouts
//! the kernel driver parses. Fault injection: [`faults`].
//!
//! Firmware update: `FW_UPDATE` blocks (multiples of 8 bytes, in order,
//! a block at offset 0 starting over) are staged; the zero-size commit at their end checks the staged bytes
//! as an image of the VMM's format (the NVDIMM model's [`Image`]: magic,
//! version, payload length, checksum), zero-padded to whole words. A bad
//! image is refused with `STATUS_BAD_DATA_PARM`; a good one's version
//! (its 8 bytes, little-endian, as `FWVER` holds them) runs from the next
//! AFU reset or power cycle on. Busy and bad-data answers can also be
//! injected: `card-fault` with opcode 2 and status 0x21 or 0x52.

pub mod attached;
pub mod faults;
pub mod smart;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};

use ocxlpmem_core::admin::{self, CommandArea};
use ocxlpmem_core::data::{self, CommandCaps, ControllerStats, ErrorLogEntry};
use ocxlpmem_core::device;
use ocxlpmem_core::regs::{self, chi, hci, Capabilities};

use crate::devices::card::{Device, Registers, Vectors};
use crate::devices::nvdimm::intel::firmware::Image;
use faults::{FaultAction, Faults};
use smart::{SmartChange, SmartState};

/// Bytes of register file (global registers, admin area, data buffer).
pub const REGISTER_BYTES: usize = 0x10000;
/// The card's admin command area.
pub const ADMIN_AREA: CommandArea = CommandArea {
    request: 0x1000,
    response: 0x1040,
    data: 0x2000,
    data_size: 0x8000,
};
/// Vector of `IMA0` (admin responses, error logs, dumps).
pub const VECTOR_EVENTS: Vectors = 1 << 0;
/// Program reference code of the error log entry a firmware fatal
/// failure leaves.
pub const FATAL_FIRMWARE_PRC: u32 = 0xfa7a_0001;
/// Program reference code of the entry a hardware fatal failure leaves.
pub const FATAL_HARDWARE_PRC: u32 = 0xfa7a_0002;
/// Vector of `IMA1` (fatal failures).
pub const VECTOR_FATAL: Vectors = 1 << 1;
/// Bytes of controller memory the firmware debug actions reach.
pub const CONTROLLER_MEMORY: usize = 4096;
/// Largest firmware image staged.
pub const MAX_FW_IMAGE: usize = 1 << 20;

/// What the card is made of.
#[derive(Clone, Debug)]
pub struct CardConfig {
    pub caps: Capabilities,
    pub wwid: [u64; 2],
    /// Bytes of a controller dump.
    pub dump_size: usize,
    /// The SMART state at power-on.
    pub smart: SmartState,
    pub stats: ControllerStats,
}

impl Default for CardConfig {
    fn default() -> Self {
        CardConfig {
            caps: Capabilities {
                revision: 0x0011,
                read_latency_ns: 150,
                readiness_timeout_s: 2,
                memory_available_timeout_s: 3,
                max_controller_dump_size: 0x10000,
                fw_version: *b"1.0.0\0\0\0",
            },
            wwid: [0x5005_0768_0100_0001, 0x0000_0000_0000_0625],
            dump_size: 20000,
            smart: SmartState::default(),
            stats: ControllerStats {
                reset_count: 1,
                // Overridden by the SMART state's.
                life_remaining: 98,
                critical_resource_utilization: 3,
                host_load_count: 1000,
                host_store_count: 500,
                media_read_count: 200,
                media_write_count: 100,
                fast_write_count: 7,
                ..Default::default()
            },
        }
    }
}

/// The most error log entries the card holds unread.
pub const MAX_ERROR_LOG_ENTRIES: usize = 64;

/// Counters of what the card served.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counters {
    /// Admin commands per opcode.
    pub commands: BTreeMap<u8, u64>,
    pub doorbells: u64,
    pub resets: u64,
}

/// A response held back by a [`FaultAction::Delay`].
#[derive(Debug, Clone, Copy)]
struct Pending {
    ticks: u32,
    word: u64,
}

/// The card.
pub struct Card {
    config: CardConfig,
    area: CommandArea,
    fw_version: [u8; 8],
    error_log: VecDeque<(ErrorLogEntry, Vec<u8>)>,
    next_log_id: u32,
    dump: Option<Vec<u8>>,
    dumps_taken: u32,
    fw_staging: Vec<u8>,
    /// The version of an image committed, which runs after a reset.
    fw_committed: Option<[u8; 8]>,
    controller_memory: Vec<u8>,
    fatal: bool,
    /// The SMART state, as wear and faults changed it.
    smart: SmartState,
    /// A `SHUTDOWN` command came since the card last powered on: the next
    /// power cycle is clean.
    shut_down: bool,
    pending: Option<Pending>,
    /// After a power cycle: the tick at which the controller becomes
    /// ready (`CHI.CRDY`), and memory available (`CHI.MA`).
    ready_at: Option<u64>,
    memory_at: Option<u64>,
    ticks: u64,
    /// `CHI` bits set during the current doorbell or tick.
    raised: u64,
    pub faults: Faults,
    pub counters: Counters,
}

fn read(r: &dyn Registers, off: usize) -> u64 {
    r.read_u64(off)
}

fn write(r: &mut dyn Registers, off: usize, v: u64) {
    r.write_u64(off, v)
}

impl Card {
    pub fn new(config: CardConfig) -> Self {
        let fw_version = config.caps.fw_version;
        Card {
            area: ADMIN_AREA,
            fw_version,
            error_log: VecDeque::new(),
            next_log_id: 1,
            dump: None,
            dumps_taken: 0,
            fw_staging: Vec::new(),
            fw_committed: None,
            controller_memory: (0..CONTROLLER_MEMORY).map(|i| i as u8).collect(),
            fatal: false,
            smart: config.smart.clone(),
            shut_down: false,
            pending: None,
            ready_at: None,
            memory_at: None,
            ticks: 0,
            raised: 0,
            faults: Faults::default(),
            counters: Counters::default(),
            config,
        }
    }

    /// The firmware version the card runs.
    #[cfg(test)]
    pub fn fw_version(&self) -> [u8; 8] {
        self.fw_version
    }

    /// Error log entries not yet read.
    #[cfg(test)]
    pub fn pending_error_logs(&self) -> usize {
        self.error_log.len()
    }

    /// Whether a controller dump is held.
    #[cfg(test)]
    pub fn has_dump(&self) -> bool {
        self.dump.is_some()
    }

    /// Queues an error log entry (its `log_identifier` is assigned when
    /// zero) and sets `CHI.ELA`.
    #[allow(
        dead_code,
        reason = "the model offers it; the control protocol does not reach it yet"
    )]
    pub fn push_error_log(
        &mut self,
        regs: &mut dyn Registers,
        entry: ErrorLogEntry,
        extra: Vec<u8>,
    ) -> Vectors {
        self.queue_log(entry, extra);
        self.raised = 0;
        self.set_chi(regs, chi::ELA);
        self.interrupts(regs)
    }

    /// Fails fatally now (firmware `CHI.CFFS` or hardware `CHI.CHFS`).
    #[allow(
        dead_code,
        reason = "the model offers it; the control protocol does not reach it yet"
    )]
    pub fn fail(&mut self, regs: &mut dyn Registers, hardware: bool) -> Vectors {
        self.raised = 0;
        self.go_fatal(regs, hardware);
        self.interrupts(regs)
    }

    /// Wears the media or injects a SMART fault (`card-smart`).
    pub fn change_smart(&mut self, change: &SmartChange) {
        self.smart.apply(change);
    }

    /// The SMART state.
    pub fn smart(&self) -> &SmartState {
        &self.smart
    }

    /// Powers the card off and on: a reset after which the controller
    /// reports ready after `ready_ticks` and memory available after
    /// `memory_ticks` ticks (0: at once), as a real card that takes time
    /// to boot its firmware and bring its media up.
    pub fn power_cycle(&mut self, regs: &mut dyn Registers, ready_ticks: u32, memory_ticks: u32) {
        if !self.shut_down {
            self.smart.apply(&SmartChange {
                dirty_shutdown: true,
                ..Default::default()
            });
        }
        <Self as Device>::reset(self, regs);
        let mut not_yet = 0;
        if ready_ticks > 0 {
            self.ready_at = Some(u64::from(ready_ticks));
            not_yet |= chi::CRDY;
        }
        if memory_ticks > 0 {
            self.memory_at = Some(u64::from(memory_ticks));
            not_yet |= chi::MA;
        }
        Self::clear_chi(regs, not_yet);
    }

    fn go_fatal(&mut self, regs: &mut dyn Registers, hardware: bool) {
        self.fatal = true;
        self.pending = None;
        // The controller records why it failed before it stops: a general
        // entry whose program reference code names the failure.
        let entry = ErrorLogEntry {
            error_log_type: data::ERRLOG_TYPE_GENERAL,
            program_reference_code: if hardware {
                FATAL_HARDWARE_PRC
            } else {
                FATAL_FIRMWARE_PRC
            },
            power_on_seconds: self.stats().power_on_uptime,
            timestamp: self.ticks,
            ..Default::default()
        };
        self.queue_log(entry, b"controller failed".to_vec());
        self.set_chi(regs, chi::ELA);
        self.set_chi(regs, if hardware { chi::CHFS } else { chi::CFFS });
    }

    fn set_chi(&mut self, regs: &mut dyn Registers, bits: u64) {
        let v = read(regs, regs::CHI);
        write(regs, regs::CHI, v | bits);
        self.raised |= bits;
    }

    fn clear_chi(regs: &mut dyn Registers, bits: u64) {
        let v = read(regs, regs::CHI);
        write(regs, regs::CHI, v & !bits);
    }

    fn clear_hci(regs: &mut dyn Registers, bits: u64) {
        let v = read(regs, regs::HCI);
        write(regs, regs::HCI, v & !bits);
    }

    /// The vectors for the bits raised since `self.raised` was reset.
    fn interrupts(&mut self, regs: &mut dyn Registers) -> Vectors {
        let raised = std::mem::take(&mut self.raised) & read(regs, regs::CHIE);
        let mut v = 0;
        if raised & chi::EVENTS != 0 {
            v |= VECTOR_EVENTS;
        }
        if raised & chi::FATAL != 0 {
            v |= VECTOR_FATAL;
        }
        v
    }

    fn stats(&self) -> ControllerStats {
        let secs = u32::try_from(self.ticks / 100).unwrap_or(u32::MAX);
        ControllerStats {
            reset_uptime: secs,
            power_on_uptime: self.config.stats.power_on_uptime.saturating_add(secs),
            life_remaining: self.smart.life_remaining(),
            ..self.config.stats
        }
    }

    /// Writes `bytes` at the start of the data buffer (cut to its size).
    fn put_data(&self, regs: &mut dyn Registers, bytes: &[u8]) {
        let n = bytes.len().min(self.area.data_size);
        regs.write(self.area.data, &bytes[..n]);
    }

    fn get_data(&self, regs: &dyn Registers, len: usize) -> Vec<u8> {
        let mut b = vec![0u8; len.min(self.area.data_size)];
        regs.read(self.area.data, &mut b);
        b
    }

    fn admin(&mut self, regs: &mut dyn Registers) {
        let mut req = [0u64; admin::REQUEST_BYTES / 8];
        for (i, w) in req.iter_mut().enumerate() {
            *w = read(regs, self.area.request + i * 8);
        }
        let (opcode, id) = admin::decode_request_header(req[0]);
        *self.counters.commands.entry(opcode).or_default() += 1;
        let op = Some(opcode);
        let before = |a: &FaultAction| {
            matches!(
                a,
                FaultAction::Status(_)
                    | FaultAction::NoResponse
                    | FaultAction::Fatal
                    | FaultAction::HardwareFatal
            )
        };
        match self.faults.take_command(op, before) {
            Some(FaultAction::NoResponse) => return,
            Some(FaultAction::Fatal) => return self.go_fatal(regs, false),
            Some(FaultAction::HardwareFatal) => return self.go_fatal(regs, true),
            Some(FaultAction::Status(s)) => return self.respond(regs, admin::response_word(s, id)),
            _ => {}
        }
        let status = self.execute(regs, opcode, &req[1..]);
        let mut id = id;
        let after = |a: &FaultAction| {
            matches!(
                a,
                FaultAction::WrongId
                    | FaultAction::DataLength(_)
                    | FaultAction::DataIdentifier(_)
                    | FaultAction::Delay(_)
            )
        };
        let mut delay = None;
        while let Some(a) = self.faults.take_command(op, after) {
            let head = read(regs, self.area.data);
            match a {
                FaultAction::WrongId => id = id.wrapping_add(1),
                FaultAction::DataLength(l) => {
                    write(regs, self.area.data, head & !0xffff_ffff | u64::from(l))
                }
                FaultAction::DataIdentifier(i) => write(
                    regs,
                    self.area.data,
                    head & 0x0000_ffff_ffff_ffff | u64::from(i) << 48,
                ),
                FaultAction::Delay(t) => delay = Some(t),
                _ => {}
            }
        }
        let word = admin::response_word(status, id);
        match delay {
            Some(ticks) => self.pending = Some(Pending { ticks, word }),
            None => self.respond(regs, word),
        }
    }

    /// Serves the command the guest rang for (`HCI.ACRW`), unless the
    /// card is still working on one (a delayed answer is pending) or its
    /// last answer is not acknowledged (`CHI.ACRA`): the controller has one
    /// response register and works on one command at a time, so a command
    /// rung for meanwhile waits (`ACRW` stays set) until the next tick or
    /// doorbell after both.
    fn take_command(&mut self, regs: &mut dyn Registers) {
        let waiting = read(regs, regs::HCI) & hci::ACRW != 0;
        if waiting && self.pending.is_none() && read(regs, regs::CHI) & chi::ACRA == 0 {
            Self::clear_hci(regs, hci::ACRW);
            self.admin(regs);
        }
    }

    fn respond(&mut self, regs: &mut dyn Registers, word: u64) {
        write(regs, self.area.response, word);
        self.set_chi(regs, chi::ACRA);
    }

    /// Serves one admin command; returns its status.
    fn execute(&mut self, regs: &mut dyn Registers, opcode: u8, p: &[u64]) -> u8 {
        let p0 = p.first().copied().unwrap_or(0);
        match opcode {
            admin::HEARTBEAT => admin::STATUS_SUCCESS,
            admin::SHUTDOWN => {
                self.shut_down = true;
                Self::clear_chi(regs, chi::MA);
                admin::STATUS_SUCCESS
            }
            admin::FW_UPDATE => self.fw_update(regs, p0),
            admin::FW_DEBUG => self.fw_debug(regs, p),
            admin::ERRLOG => {
                match self.error_log.pop_front() {
                    Some((e, extra)) => self.put_data(regs, &device::error_log(&e, &extra)),
                    None => self.put_data(regs, &device::error_log_empty()),
                }
                if self.error_log.is_empty() {
                    Self::clear_chi(regs, chi::ELA);
                }
                admin::STATUS_SUCCESS
            }
            admin::SMART => {
                self.put_data(regs, &device::smart(&self.smart.attributes(self.ticks)));
                admin::STATUS_SUCCESS
            }
            admin::CONTROLLER_STATS => {
                self.put_data(regs, &device::controller_stats(&self.stats()));
                admin::STATUS_SUCCESS
            }
            admin::CONTROLLER_DUMP => self.dump_chunk(regs, p0),
            admin::CMD_CAPS => {
                let caps = CommandCaps {
                    admin: (1 << (admin::OPCODE_MAX + 1)) - 1,
                    near_storage: 0,
                };
                self.put_data(regs, &device::cmd_caps(&caps));
                admin::STATUS_SUCCESS
            }
            _ => admin::STATUS_BAD_OPCODE,
        }
    }

    fn fw_update(&mut self, regs: &mut dyn Registers, p0: u64) -> u8 {
        let (offset, size) = data::decode_fw_update_request(p0);
        let size = size as usize;
        if size == 0 {
            // Commit: the card checks the image; it runs after a reset.
            let staged = std::mem::take(&mut self.fw_staging);
            return match staged_version(&staged) {
                Some(v) if offset as usize == staged.len() => {
                    self.fw_committed = Some(v);
                    admin::STATUS_SUCCESS
                }
                _ => admin::STATUS_BAD_DATA_PARM,
            };
        }
        if !size.is_multiple_of(8) || size > data::FW_BLOCK_BYTES || size > self.area.data_size {
            return admin::STATUS_BAD_REQUEST_PARM;
        }
        // A block at offset 0 starts a new image (an upload that failed or
        // was cancelled half-way leaves its blocks behind).
        if offset == 0 {
            self.fw_staging.clear();
        }
        if offset as usize != self.fw_staging.len() {
            return admin::STATUS_BAD_REQUEST_PARM;
        }
        if self.fw_staging.len() + size > MAX_FW_IMAGE {
            return admin::STATUS_BAD_DATA_PARM;
        }
        let block = self.get_data(regs, size);
        self.fw_staging.extend(block);
        admin::STATUS_SUCCESS
    }

    fn fw_debug(&mut self, regs: &mut dyn Registers, p: &[u64]) -> u8 {
        if read(regs, regs::HCI) & hci::FW_DEBUG == 0 {
            return admin::STATUS_DEBUG_BLOCKED;
        }
        let (action, _function) = data::decode_fw_debug(p.first().copied().unwrap_or(0));
        let addr = p.get(1).copied().unwrap_or(0);
        let len = p.get(2).copied().unwrap_or(0);
        let range = usize::try_from(addr)
            .ok()
            .zip(usize::try_from(len).ok())
            .and_then(|(a, l)| Some(a..a.checked_add(l)?))
            .filter(|r| r.end <= CONTROLLER_MEMORY && r.len() <= self.area.data_size);
        match action {
            data::FWDEBUG_READ_CONTROLLER_MEMORY => match range {
                Some(r) => {
                    let bytes = self.controller_memory[r].to_vec();
                    self.put_data(regs, &bytes);
                    admin::STATUS_SUCCESS
                }
                None => admin::STATUS_BAD_REQUEST_PARM,
            },
            data::FWDEBUG_WRITE_CONTROLLER_MEMORY => match range {
                Some(r) => {
                    let bytes = self.get_data(regs, r.len());
                    self.controller_memory[r].copy_from_slice(&bytes);
                    admin::STATUS_SUCCESS
                }
                None => admin::STATUS_BAD_REQUEST_PARM,
            },
            data::FWDEBUG_ENABLE_FUNCTION | data::FWDEBUG_DISABLE_FUNCTION => admin::STATUS_SUCCESS,
            data::FWDEBUG_GET_PEL => {
                self.put_data(regs, b"PEL: no persistent errors\0\0\0\0\0\0\0");
                admin::STATUS_SUCCESS
            }
            _ => admin::STATUS_BAD_REQUEST_PARM,
        }
    }

    fn dump_chunk(&mut self, regs: &mut dyn Registers, p0: u64) -> u8 {
        let (offset, size) = data::decode_dump_request(p0);
        let size = size as usize;
        if size == 0
            || !size.is_multiple_of(8)
            || size > data::DUMP_MAX_CHUNK
            || size + data::HEADER_BYTES > self.area.data_size
        {
            return admin::STATUS_BAD_REQUEST_PARM;
        }
        let Some(dump) = &self.dump else {
            return admin::STATUS_BAD_REQUEST_PARM;
        };
        let start = (offset as usize).min(dump.len());
        let end = start.saturating_add(size).min(dump.len());
        let answer = device::dump_chunk(&dump[start..end]);
        self.put_data(regs, &answer);
        admin::STATUS_SUCCESS
    }

    fn take_dump(&mut self, regs: &mut dyn Registers) {
        self.dumps_taken += 1;
        let n = self.config.dump_size;
        let mut d = Vec::with_capacity(n);
        d.extend(b"OCXLDUMP");
        d.extend(self.dumps_taken.to_le_bytes());
        while d.len() < n {
            d.push((d.len() * 7) as u8);
        }
        d.truncate(n);
        self.dump = Some(d);
        self.set_chi(regs, chi::CDA);
    }

    fn health_entry(&mut self, regs: &mut dyn Registers) {
        let entry = ErrorLogEntry {
            error_log_type: data::ERRLOG_TYPE_HEALTH_PERFORMANCE,
            power_on_seconds: self.stats().power_on_uptime,
            timestamp: self.ticks,
            ..Default::default()
        };
        let extra = device::controller_stats(&self.stats());
        self.queue_log(entry, extra);
        self.set_chi(regs, chi::ELA);
    }

    fn queue_log(&mut self, mut entry: ErrorLogEntry, extra: Vec<u8>) {
        // The guest requests health entries at will and need not read
        // them: the queue is bounded, new entries past it are dropped.
        if self.error_log.len() >= MAX_ERROR_LOG_ENTRIES {
            // Logged once: the guest can ask again and again.
            static LOGGED: std::sync::atomic::AtomicBool =
                std::sync::atomic::AtomicBool::new(false);
            if LOGGED.swap(true, std::sync::atomic::Ordering::Relaxed) {
                return;
            }
            log::warn!(
                "ocxlpmem: {MAX_ERROR_LOG_ENTRIES} error log entries unread; \
                 new ones are dropped (logged once)"
            );
            return;
        }
        if entry.log_identifier == 0 {
            entry.log_identifier = self.next_log_id;
            self.next_log_id += 1;
        }
        entry.wwid = self.config.wwid;
        entry.fw_revision = self.fw_version;
        entry.data_len = extra.len();
        self.error_log.push_back((entry, extra));
    }
}

/// The version of a staged image: the VMM's firmware image ([`Image`])
/// sent in whole words, so followed by fewer than 8 zero bytes.
fn staged_version(staged: &[u8]) -> Option<[u8; 8]> {
    let payload = u32::from_le_bytes(staged.get(16..20)?.try_into().ok()?);
    let len = Image::HEADER.checked_add(usize::try_from(payload).ok()?)?;
    let (image, padding) = (staged.get(..len)?, staged.get(len..)?);
    if padding.len() >= 8 || padding.iter().any(|&b| b != 0) {
        return None;
    }
    Image::verify(image).map(u64::to_le_bytes)
}

impl Device for Card {
    fn register_bytes(&self) -> usize {
        REGISTER_BYTES
    }

    fn reset(&mut self, regs: &mut dyn Registers) {
        self.counters.resets += 1;
        self.ready_at = None;
        self.memory_at = None;
        regs.write(0, &[0u8; regs::GLOBAL_BYTES]);
        self.fatal = false;
        self.shut_down = false;
        self.pending = None;
        self.dump = None;
        self.fw_staging.clear();
        if let Some(v) = self.fw_committed.take() {
            log::info!(
                "ocxlpmem: firmware {:?} runs after the reset",
                String::from_utf8_lossy(&v).trim_end_matches('\0')
            );
            self.fw_version = v;
        }
        self.ticks = 0;
        let (ccap0, ccap1, _) = self.config.caps.encode();
        write(regs, regs::CCAP0, ccap0);
        write(regs, regs::CCAP1, ccap1);
        write(regs, regs::FWVER, u64::from_le_bytes(self.fw_version));
        let (offsets, data) = match self
            .faults
            .take_command(None, |a| matches!(a, FaultAction::BadArea { .. }))
        {
            Some(FaultAction::BadArea { offsets, data }) => (offsets, data),
            _ => self.area.encode(),
        };
        write(regs, regs::ACMA_CREQO, offsets);
        write(regs, regs::ACMA_CDBO, data);
        let mut c = chi::CRDY | chi::MA;
        if !self.error_log.is_empty() {
            c |= chi::ELA;
        }
        write(regs, regs::CHI, c);
        self.raised = 0;
    }

    fn doorbell(&mut self, regs: &mut dyn Registers) -> Vectors {
        self.counters.doorbells += 1;
        self.raised = 0;
        let chic = read(regs, regs::CHIC);
        if chic != 0 {
            Self::clear_chi(regs, chic & !chi::FATAL);
            write(regs, regs::CHIC, 0);
        }
        let chiec = read(regs, regs::CHIEC);
        if chiec != 0 {
            let v = read(regs, regs::CHIE);
            write(regs, regs::CHIE, v & !chiec);
            write(regs, regs::CHIEC, 0);
        }
        let hcic = read(regs, regs::HCIC);
        if hcic != 0 {
            Self::clear_hci(regs, hcic);
            write(regs, regs::HCIC, 0);
        }
        let hci = read(regs, regs::HCI);
        if hci & hci::AFU_RESET != 0 {
            self.reset(regs);
            return 0;
        }
        if self.fatal {
            // A failed controller answers one command: reading its error
            // log, where it recorded the failure.
            if hci & hci::ACRW != 0 {
                Self::clear_hci(regs, hci::ACRW);
                let (opcode, _) = admin::decode_request_header(read(regs, self.area.request));
                if opcode == admin::ERRLOG {
                    self.admin(regs);
                }
            }
            return self.interrupts(regs);
        }
        self.take_command(regs);
        if hci & hci::CONTROLLER_DUMP != 0 && !self.fatal {
            self.take_dump(regs);
            Self::clear_hci(regs, hci::CONTROLLER_DUMP);
        }
        if hci & hci::CONTROLLER_DUMP_COLLECTED != 0 {
            self.dump = None;
            Self::clear_chi(regs, chi::CDA);
            Self::clear_hci(regs, hci::CONTROLLER_DUMP_COLLECTED);
        }
        if hci & hci::REQ_HEALTH_PERF != 0 && !self.fatal {
            self.health_entry(regs);
            Self::clear_hci(regs, hci::REQ_HEALTH_PERF);
        }
        self.interrupts(regs)
    }

    fn tick(&mut self, regs: &mut dyn Registers) -> Vectors {
        self.ticks += 1;
        self.raised = 0;
        if self.ready_at.is_some_and(|t| self.ticks >= t) {
            self.ready_at = None;
            self.set_chi(regs, chi::CRDY);
        }
        if self.memory_at.is_some_and(|t| self.ticks >= t) {
            self.memory_at = None;
            self.set_chi(regs, chi::MA);
        }
        if let Some(p) = &mut self.pending {
            if p.ticks <= 1 {
                let word = p.word;
                self.pending = None;
                self.respond(regs, word);
            } else {
                p.ticks -= 1;
            }
        } else if !self.fatal {
            self.take_command(regs);
        }
        self.interrupts(regs)
    }
}
