// SPDX-License-Identifier: GPL-2.0

//! The admin command mailbox.
//!
//! `core`-only. The controller describes its admin command area in
//! `ACMA_*`: a request block ([`REQUEST_BYTES`]), a response word and a
//! data buffer, all inside the register window. A command is:
//!
//! 1. write the request: header word `opcode | id << 16`, then the
//!    opcode's parameter words, the rest of the block zeroed;
//! 2. set `HCI.ACRW`;
//! 3. poll `CHI.ACRA` for at most the opcode's timeout ([`timeout_ms`]);
//! 4. read the response word: status in bits 7:0, id in bits 31:16; the id
//!    must be the one issued;
//! 5. read the data buffer (per opcode, see `data.rs`);
//! 6. acknowledge through `CHIC.ACRA`.

use super::error::{Error, Result};
use super::regs::{self, chi, hci, Mmio};

/// Admin opcode: heartbeat.
pub const HEARTBEAT: u8 = 0x00;
/// Admin opcode: shut down (flush and stop the media).
pub const SHUTDOWN: u8 = 0x01;
/// Admin opcode: write a firmware image block.
pub const FW_UPDATE: u8 = 0x02;
/// Admin opcode: firmware debug action (needs `HCI.FW_DEBUG`).
pub const FW_DEBUG: u8 = 0x03;
/// Admin opcode: retrieve the oldest error log entry.
pub const ERRLOG: u8 = 0x04;
/// Admin opcode: retrieve SMART data.
pub const SMART: u8 = 0x05;
/// Admin opcode: controller statistics.
pub const CONTROLLER_STATS: u8 = 0x06;
/// Admin opcode: read a chunk of the controller dump.
pub const CONTROLLER_DUMP: u8 = 0x07;
/// Admin opcode: command capabilities.
pub const CMD_CAPS: u8 = 0x08;
/// The largest admin opcode.
pub const OPCODE_MAX: u8 = CMD_CAPS;

/// Status: success.
pub const STATUS_SUCCESS: u8 = 0x00;
/// Status: persistent memory unavailable.
pub const STATUS_MEM_UNAVAILABLE: u8 = 0x20;
/// Status: blocked on a background task (for firmware update: blocked).
pub const STATUS_BLOCKED_BG_TASK: u8 = 0x21;
/// Status: bad opcode.
pub const STATUS_BAD_OPCODE: u8 = 0x50;
/// Status: bad request parameter (for firmware update: bad argument).
pub const STATUS_BAD_REQUEST_PARM: u8 = 0x51;
/// Status: bad data parameter (for firmware update: invalid image).
pub const STATUS_BAD_DATA_PARM: u8 = 0x52;
/// Status: debug action blocked.
pub const STATUS_DEBUG_BLOCKED: u8 = 0x70;
/// Status: failed.
pub const STATUS_FAIL: u8 = 0xff;

/// Bytes of the request block (header word and seven parameter words).
pub const REQUEST_BYTES: usize = 8 * 8;
/// Bytes of the response the driver reads (one word).
pub const RESPONSE_BYTES: usize = 8;
/// Smallest data buffer accepted: the controller statistics answer
/// (header and 0x140 bytes), the largest fixed-size answer.
pub const MIN_DATA_SIZE: usize = 8 + 0x140;
/// Largest data buffer accepted (1 MiB; a larger `CDBS` is a broken
/// device, not a generous one).
pub const MAX_DATA_SIZE: usize = 1 << 20;
/// Interval between two polls of `CHI.ACRA` (v4: the next power of 2 above
/// msleep's 20 ms minimum).
pub const POLL_INTERVAL_MS: u32 = 32;
/// Timeout of the opcodes v4 gives none (firmware debug, command
/// capabilities).
pub const DEFAULT_TIMEOUT_MS: u32 = 100;

/// The opcode's response timeout in milliseconds (v4's table), `None` for
/// an unknown opcode.
pub fn timeout_ms(opcode: u8) -> Option<u32> {
    Some(match opcode {
        HEARTBEAT => 100,
        SHUTDOWN => 1000,
        FW_UPDATE => 16000,
        FW_DEBUG => DEFAULT_TIMEOUT_MS,
        ERRLOG => 2000,
        SMART => 100,
        CONTROLLER_STATS => 100,
        CONTROLLER_DUMP => 1000,
        CMD_CAPS => DEFAULT_TIMEOUT_MS,
        _ => return None,
    })
}

/// Parameter words (after the header) the opcode's request carries; the
/// rest of the block is zeroed. `None` for an unknown opcode.
pub fn param_words(opcode: u8) -> Option<usize> {
    Some(match opcode {
        HEARTBEAT | SHUTDOWN | ERRLOG | CMD_CAPS => 0,
        FW_UPDATE | SMART | CONTROLLER_STATS | CONTROLLER_DUMP => 1,
        FW_DEBUG => 3,
        _ => return None,
    })
}

/// The opcode's name, for log lines.
pub fn opcode_name(opcode: u8) -> &'static str {
    match opcode {
        HEARTBEAT => "heartbeat",
        SHUTDOWN => "shutdown",
        FW_UPDATE => "firmware update",
        FW_DEBUG => "firmware debug",
        ERRLOG => "retrieve error log",
        SMART => "retrieve SMART data",
        CONTROLLER_STATS => "controller statistics",
        CONTROLLER_DUMP => "controller dump",
        CMD_CAPS => "command capabilities",
        _ => "unknown command",
    }
}

/// The status's name, for log lines.
pub fn status_name(status: u8) -> &'static str {
    match status {
        STATUS_SUCCESS => "success",
        STATUS_MEM_UNAVAILABLE => "persistent memory unavailable",
        STATUS_BLOCKED_BG_TASK => "blocked on a background task",
        STATUS_BAD_OPCODE => "bad opcode",
        STATUS_BAD_REQUEST_PARM => "bad request parameter",
        STATUS_BAD_DATA_PARM => "bad data parameter",
        STATUS_DEBUG_BLOCKED => "debug action blocked",
        STATUS_FAIL => "failed",
        _ => "unknown status",
    }
}

/// The request header word.
pub fn request_header(opcode: u8, id: u16) -> u64 {
    u64::from(opcode) | u64::from(id) << 16
}

/// Splits a request header word into `(opcode, id)` (the device side).
pub fn decode_request_header(word: u64) -> (u8, u16) {
    ((word & 0xff) as u8, ((word >> 16) & 0xffff) as u16)
}

/// The response word (the device side).
pub fn response_word(status: u8, id: u16) -> u64 {
    u64::from(status) | u64::from(id) << 16
}

/// Splits a response word into `(status, id)`.
pub fn decode_response(word: u64) -> (u8, u16) {
    ((word & 0xff) as u8, ((word >> 16) & 0xffff) as u16)
}

/// A command area (`ACMA_*` or `NSCMA_*`), validated against the window.
///
/// # Invariants
///
/// The request block, the response word and the data buffer are 8-byte
/// aligned, lie inside the window above [`regs::GLOBAL_BYTES`] and do not
/// overlap; `MIN_DATA_SIZE <= data_size <= MAX_DATA_SIZE`, a multiple of 8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandArea {
    /// Offset of the request block.
    pub request: usize,
    /// Offset of the response word.
    pub response: usize,
    /// Offset of the data buffer.
    pub data: usize,
    /// Bytes of the data buffer.
    pub data_size: usize,
}

impl CommandArea {
    /// Decodes the area registers' two values (request and response
    /// offsets, data offset and size) and validates them for a window of
    /// `window` bytes.
    pub fn decode(offsets: u64, data: u64, window: usize) -> Result<Self> {
        let field = |v: u64| usize::try_from(v & 0xffff_ffff).map_err(|_| Error::BadArea);
        let area = CommandArea {
            request: field(offsets >> 32)?,
            response: field(offsets)?,
            data: field(data >> 32)?,
            data_size: field(data)?,
        };
        area.validate(window)?;
        Ok(area)
    }

    /// The registers' two values for this area (the device side).
    pub fn encode(&self) -> (u64, u64) {
        (
            (self.request as u64) << 32 | (self.response as u64 & 0xffff_ffff),
            (self.data as u64) << 32 | (self.data_size as u64 & 0xffff_ffff),
        )
    }

    /// Reads and validates the admin command area.
    pub fn read_admin(m: &impl Mmio) -> Result<Self> {
        Self::decode(
            regs::read(m, regs::ACMA_CREQO)?,
            regs::read(m, regs::ACMA_CDBO)?,
            m.size(),
        )
    }

    /// Checks the invariants.
    pub fn validate(&self, window: usize) -> Result<()> {
        if self.data_size < MIN_DATA_SIZE
            || self.data_size > MAX_DATA_SIZE
            || self.data_size & 7 != 0
        {
            return Err(Error::BadArea);
        }
        let parts = [
            (self.request, REQUEST_BYTES),
            (self.response, RESPONSE_BYTES),
            (self.data, self.data_size),
        ];
        for (i, &(start, len)) in parts.iter().enumerate() {
            if start < regs::GLOBAL_BYTES {
                return Err(Error::BadArea);
            }
            regs::check_access(start, len, window).map_err(|_| Error::BadArea)?;
            // Inside the window, so `start + len` does not overflow.
            for &(s2, l2) in &parts[..i] {
                if start < s2 + l2 && s2 < start + len {
                    return Err(Error::BadArea);
                }
            }
        }
        Ok(())
    }

    /// Checks that `len` bytes at `offset` lie inside the data buffer and
    /// returns their window offset.
    pub fn data_range(&self, offset: usize, len: usize) -> Result<usize> {
        let bad = Error::Window {
            offset: offset as u64,
            len: len as u64,
        };
        match offset.checked_add(len) {
            Some(end) if end <= self.data_size && offset & 7 == 0 => Ok(self.data + offset),
            _ => Err(bad),
        }
    }
}

/// Reads `out.len()` bytes at `offset` of the data buffer (whole words are
/// read; the buffer's bytes are in memory order).
pub fn read_data(m: &impl Mmio, area: &CommandArea, offset: usize, out: &mut [u8]) -> Result<()> {
    let words = out.len().div_ceil(8);
    let start = area.data_range(offset, words * 8)?;
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let w = regs::read(m, start + i * 8)?.to_le_bytes();
        chunk.copy_from_slice(&w[..chunk.len()]);
    }
    Ok(())
}

/// Writes `data` at `offset` of the data buffer (a partial last word is
/// zero-padded).
pub fn write_data(m: &mut impl Mmio, area: &CommandArea, offset: usize, data: &[u8]) -> Result<()> {
    let words = data.len().div_ceil(8);
    let start = area.data_range(offset, words * 8)?;
    for (i, chunk) in data.chunks(8).enumerate() {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        regs::write(m, start + i * 8, u64::from_le_bytes(w))?;
    }
    Ok(())
}

/// Reads the data word at `offset` of the data buffer.
pub fn read_data_word(m: &impl Mmio, area: &CommandArea, offset: usize) -> Result<u64> {
    regs::read(m, area.data_range(offset, 8)?)
}

/// Time passing while the driver waits (`msleep` in the kernel; the host
/// tests let the device model run here).
pub trait Sleep {
    /// Waits about `ms` milliseconds.
    fn sleep_ms(&mut self, ms: u32);
}

/// The admin mailbox: the validated area and the command id counter.
#[derive(Clone, Debug)]
pub struct AdminMailbox {
    area: CommandArea,
    id: u16,
    /// Wait for responses even with a fatal failure reported (see
    /// [`AdminMailbox::salvage`]).
    salvage: bool,
    /// The id of a command that timed out and whose answer has not come:
    /// if it comes, it is nobody's.
    abandoned: Option<u16>,
}

/// How long the next command waits for the late answer of a command that
/// timed out before it is submitted anyway: a controller works on one
/// command at a time, and its late answer would otherwise be read as the
/// next command's (or overwrite it).
pub const LATE_ANSWER_GRACE_MS: u32 = 2000;

impl AdminMailbox {
    /// A mailbox over a validated area.
    pub fn new(area: CommandArea) -> Self {
        AdminMailbox {
            area,
            id: 0,
            salvage: false,
            abandoned: None,
        }
    }

    /// Runs `f` with a mailbox that waits for responses even though the
    /// controller reports a fatal failure: what a driver uses to fetch the
    /// controller's record of the failure (its error log) before giving
    /// the card up. A controller that no longer answers times out.
    pub fn salvage<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        self.salvage = true;
        let r = f(self);
        self.salvage = false;
        r
    }

    /// Reads the area from the registers (at probe).
    pub fn probe(m: &impl Mmio) -> Result<Self> {
        Ok(Self::new(CommandArea::read_admin(m)?))
    }

    /// The area.
    pub fn area(&self) -> &CommandArea {
        &self.area
    }

    /// The id of the last command issued.
    pub fn last_id(&self) -> u16 {
        self.id
    }

    /// Writes the request for `opcode` with `params` (at most the opcode's
    /// [`param_words`]; missing ones are zero) and sets `HCI.ACRW`.
    /// Returns the command id.
    pub fn submit(&mut self, m: &mut impl Mmio, opcode: u8, params: &[u64]) -> Result<u16> {
        let n = param_words(opcode).ok_or(Error::UnknownOpcode(opcode))?;
        if params.len() > n {
            return Err(Error::BadParameter("too many request parameters"));
        }
        self.id = self.id.wrapping_add(1);
        let base = self.area.request;
        regs::write(m, base, request_header(opcode, self.id))?;
        for i in 1..REQUEST_BYTES / 8 {
            let v = params.get(i - 1).copied().unwrap_or(0);
            regs::write(m, base + i * 8, v)?;
        }
        regs::set_bits(m, regs::HCI, hci::ACRW)?;
        Ok(self.id)
    }

    /// Polls `CHI` once: `Ok(true)` when the response is available, an
    /// error when the controller reports a fatal failure.
    pub fn poll(&self, m: &impl Mmio) -> Result<bool> {
        let chi = regs::chi(m)?;
        if chi & chi::FATAL != 0 && !self.salvage {
            return Err(Error::Fatal { chi });
        }
        Ok(chi & chi::ACRA != 0)
    }

    /// Waits for the response of `opcode` within its timeout. The late
    /// answer of a command that timed out before (its id) is acknowledged
    /// on the way, not taken for this one's.
    pub fn wait(&mut self, m: &mut impl Mmio, opcode: u8, sleep: &mut impl Sleep) -> Result<()> {
        let timeout = timeout_ms(opcode).ok_or(Error::UnknownOpcode(opcode))?;
        let mut waited = 0u32;
        loop {
            if self.poll(m)? {
                let (_, id) = decode_response(regs::read(m, self.area.response)?);
                match self.abandoned {
                    Some(old) if old == id && id != self.id => {
                        self.acknowledge(m)?;
                        self.abandoned = None;
                    }
                    _ => return Ok(()),
                }
            }
            if waited >= timeout {
                return Err(Error::Timeout { opcode });
            }
            sleep.sleep_ms(POLL_INTERVAL_MS);
            waited = waited.saturating_add(POLL_INTERVAL_MS);
        }
    }

    /// Reads the response word and checks its id: the status.
    pub fn response(&self, m: &impl Mmio) -> Result<u8> {
        let (status, id) = decode_response(regs::read(m, self.area.response)?);
        if id != self.id {
            return Err(Error::IdMismatch {
                expected: self.id,
                got: id,
            });
        }
        Ok(status)
    }

    /// Acknowledges the response (`CHIC.ACRA`).
    pub fn acknowledge(&self, m: &mut impl Mmio) -> Result<()> {
        regs::clear_chi(m, chi::ACRA)
    }

    /// Waits until no response is pending (`CHI.ACRA` clear), within the
    /// timeout of `opcode`. On MMIO the previous acknowledgement took
    /// effect at once; a transport whose device model applies register
    /// writes when it is rung (the test VMM's) may still show the previous
    /// response for a moment, and submitting then would read it back as
    /// the new command's.
    ///
    /// A pending response of a command that timed out (the last one, or
    /// one before it: another id than the last command's) is a late answer
    /// nobody waits for any more, so it is acknowledged; left there, it
    /// would block every command after it. While the answer of the command
    /// that timed out last has not come, the controller may still be
    /// working on it: this waits for it up to [`LATE_ANSWER_GRACE_MS`],
    /// then gives it up and lets the next command go.
    pub fn wait_idle(
        &mut self,
        m: &mut impl Mmio,
        opcode: u8,
        sleep: &mut impl Sleep,
    ) -> Result<()> {
        let timeout = timeout_ms(opcode).ok_or(Error::UnknownOpcode(opcode))?;
        let mut waited = 0u32;
        loop {
            if self.poll(m)? {
                let (_, id) = decode_response(regs::read(m, self.area.response)?);
                if id != self.id || self.abandoned == Some(id) {
                    self.acknowledge(m)?;
                    self.abandoned = None;
                }
                if waited >= timeout.max(LATE_ANSWER_GRACE_MS) {
                    return Err(Error::Timeout { opcode });
                }
            } else if self.abandoned.is_none() {
                return Ok(());
            } else if waited >= LATE_ANSWER_GRACE_MS {
                // Given up: an answer later than this is taken for the
                // next command's and fails it with a wrong id.
                self.abandoned = None;
                return Ok(());
            }
            sleep.sleep_ms(1);
            waited = waited.saturating_add(1);
        }
    }

    /// Submits, waits and checks the response. On success the response
    /// stays pending (read the data, then [`AdminMailbox::acknowledge`]);
    /// a non-success status or a wrong id is acknowledged here.
    pub fn execute(
        &mut self,
        m: &mut impl Mmio,
        opcode: u8,
        params: &[u64],
        sleep: &mut impl Sleep,
    ) -> Result<()> {
        self.wait_idle(m, opcode, sleep)?;
        let id = self.submit(m, opcode, params)?;
        if let Err(e) = self.wait(m, opcode, sleep) {
            if matches!(e, Error::Timeout { .. }) {
                self.abandoned = Some(id);
            }
            return Err(e);
        }
        let status = match self.response(m) {
            Ok(s) => s,
            Err(e) => {
                let _ = self.acknowledge(m);
                return Err(e);
            }
        };
        if status != STATUS_SUCCESS {
            self.acknowledge(m)?;
            return Err(Error::Status { opcode, status });
        }
        Ok(())
    }

    /// [`AdminMailbox::execute`] for a command without response data, then
    /// acknowledge.
    pub fn run(
        &mut self,
        m: &mut impl Mmio,
        opcode: u8,
        params: &[u64],
        sleep: &mut impl Sleep,
    ) -> Result<()> {
        self.execute(m, opcode, params, sleep)?;
        self.acknowledge(m)
    }
}
