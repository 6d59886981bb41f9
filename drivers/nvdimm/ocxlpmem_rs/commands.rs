// SPDX-License-Identifier: GPL-2.0

//! The driver's operations: each admin command from request to parsed
//! answer, and the doorbell-only requests (dump, health, debug enable).
//!
//! `core`-only, generic over the register window ([`Mmio`]) and over how
//! time passes ([`Sleep`]). The kernel driver holds the mailbox under its
//! admin lock and calls these; the host tests call them against the test
//! VMM's card model. Differences from v4 are marked "v4:".

use super::admin::{self, read_data, read_data_word, write_data, AdminMailbox, Sleep};
use super::data::{self, CommandCaps, ControllerStats, ErrorLogEntry};
use super::error::{Error, Result};
use super::firmware;
use super::regs::{self, chi, hci, Capabilities, Mmio};

/// Interval between two polls of `CHI` while waiting for readiness.
pub const READY_POLL_MS: u32 = 1000;

/// Waits for the controller to be usable after a reset (`CHI.CRDY` and
/// `CHI.MA`), at most the capabilities' readiness plus memory timeouts.
/// A fatal status fails at once.
pub fn wait_ready(m: &impl Mmio, caps: &Capabilities, sleep: &mut impl Sleep) -> Result<()> {
    let mut left = caps.ready_timeout_s();
    loop {
        let chi = regs::chi(m)?;
        match regs::usable(chi) {
            Ok(()) => return Ok(()),
            Err(e @ Error::Fatal { .. }) => return Err(e),
            Err(e) if left == 0 => return Err(e),
            Err(_) => {}
        }
        left -= 1;
        sleep.sleep_ms(READY_POLL_MS);
    }
}

/// Runs `read` on a successful response, then acknowledges it whatever
/// `read` returned.
fn with_response<T>(
    mb: &mut AdminMailbox,
    m: &mut impl Mmio,
    opcode: u8,
    params: &[u64],
    sleep: &mut impl Sleep,
    read: impl FnOnce(&AdminMailbox, &mut dyn FnMut(usize, &mut [u8]) -> Result<()>) -> Result<T>,
) -> Result<T> {
    mb.execute(m, opcode, params, sleep)?;
    let area = *mb.area();
    let result = {
        let mut rd = |off: usize, out: &mut [u8]| read_data(&*m, &area, off, out);
        read(mb, &mut rd)
    };
    let ack = mb.acknowledge(m);
    let v = result?;
    ack?;
    Ok(v)
}

/// Heartbeat: the controller answers.
pub fn heartbeat(m: &mut impl Mmio, mb: &mut AdminMailbox, sleep: &mut impl Sleep) -> Result<()> {
    mb.run(m, admin::HEARTBEAT, &[], sleep)
}

/// Shutdown: the controller flushes and stops its media.
pub fn shutdown(m: &mut impl Mmio, mb: &mut AdminMailbox, sleep: &mut impl Sleep) -> Result<()> {
    mb.run(m, admin::SHUTDOWN, &[], sleep)
}

/// Reads the oldest error log entry and up to `extra.len()` bytes of its
/// additional data into `extra`; returns the entry and the bytes copied.
/// [`Error::NoData`] when `CHI.ELA` is clear (v4: `-EAGAIN`), `Ok(None)`
/// when the controller answers with an empty log.
pub fn read_error_log(
    m: &mut impl Mmio,
    mb: &mut AdminMailbox,
    sleep: &mut impl Sleep,
    extra: &mut [u8],
) -> Result<Option<(ErrorLogEntry, usize)>> {
    if regs::chi(m)? & chi::ELA == 0 {
        return Err(Error::NoData);
    }
    let data_size = mb.area().data_size;
    with_response(mb, m, admin::ERRLOG, &[], sleep, |_, rd| {
        let mut head = [0u8; data::HEADER_BYTES];
        rd(0, &mut head)?;
        let h = data::DataHeader::decode(u64::from_le_bytes(head), data::ID_ERROR_LOG, data_size)?;
        if h.length == 0 {
            return Ok(None);
        }
        let mut fixed = [0u8; data::ERRLOG_FIXED_BYTES];
        if h.length >= data::ERRLOG_MIN_LENGTH {
            rd(0, &mut fixed)?;
        } else {
            fixed[..8].copy_from_slice(&head);
        }
        let entry = match ErrorLogEntry::parse(&fixed, data_size)? {
            Some(e) => e,
            None => return Ok(None),
        };
        let n = entry.data_len.min(extra.len());
        rd(data::ERRLOG_FIXED_BYTES, &mut extra[..n])?;
        Ok(Some((entry, n)))
    })
}

/// Reads the controller statistics.
pub fn controller_stats(
    m: &mut impl Mmio,
    mb: &mut AdminMailbox,
    sleep: &mut impl Sleep,
) -> Result<ControllerStats> {
    let data_size = mb.area().data_size;
    with_response(mb, m, admin::CONTROLLER_STATS, &[0], sleep, |_, rd| {
        let mut b = [0u8; data::STATS_BYTES];
        rd(0, &mut b[..data::HEADER_BYTES])?;
        // Check the header before reading the rest.
        data::DataHeader::decode(
            u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8])),
            data::ID_CONTROLLER_STATS,
            data_size,
        )?;
        rd(0, &mut b)?;
        ControllerStats::parse(&b, data_size)
    })
}

/// What a SMART read returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SmartRead {
    /// Attributes the controller has.
    pub available: usize,
    /// Attributes copied.
    pub copied: usize,
}

/// Reads the SMART attributes into `out` (16 bytes each, as many as fit).
pub fn smart(
    m: &mut impl Mmio,
    mb: &mut AdminMailbox,
    sleep: &mut impl Sleep,
    out: &mut [u8],
) -> Result<SmartRead> {
    let data_size = mb.area().data_size;
    with_response(mb, m, admin::SMART, &[0], sleep, |_, rd| {
        let mut head = [0u8; 8];
        rd(0, &mut head)?;
        let available = data::smart_attribute_count(u64::from_le_bytes(head), data_size)?;
        let copied = available.min(out.len() / data::SMART_ATTR_BYTES);
        rd(
            data::HEADER_BYTES,
            &mut out[..copied * data::SMART_ATTR_BYTES],
        )?;
        Ok(SmartRead { available, copied })
    })
}

/// Reads the command capabilities.
pub fn cmd_caps(
    m: &mut impl Mmio,
    mb: &mut AdminMailbox,
    sleep: &mut impl Sleep,
) -> Result<CommandCaps> {
    let data_size = mb.area().data_size;
    with_response(mb, m, admin::CMD_CAPS, &[], sleep, |_, rd| {
        let mut b = [0u8; data::HEADER_BYTES + data::CAPS_LENGTH];
        rd(0, &mut b)?;
        CommandCaps::parse(&b, data_size)
    })
}

/// Asks the controller for a dump and waits (at most `timeout_ms`) until
/// it clears `HCI.CONTROLLER_DUMP`. v4: waits forever.
pub fn request_dump(m: &mut impl Mmio, sleep: &mut impl Sleep, timeout_ms: u32) -> Result<()> {
    regs::clear_chi(m, chi::CDA)?;
    regs::set_bits(m, regs::HCI, hci::CONTROLLER_DUMP)?;
    let mut waited = 0u32;
    loop {
        let c = regs::chi(m)?;
        if c & chi::FATAL != 0 {
            return Err(Error::Fatal { chi: c });
        }
        if regs::read(m, regs::HCI)? & hci::CONTROLLER_DUMP == 0 {
            return Ok(());
        }
        if waited >= timeout_ms {
            return Err(Error::Timeout {
                opcode: admin::CONTROLLER_DUMP,
            });
        }
        sleep.sleep_ms(admin::POLL_INTERVAL_MS);
        waited = waited.saturating_add(admin::POLL_INTERVAL_MS);
    }
}

/// Reads the dump chunk at `offset` into `out` (as much as fits in `out`
/// and in the data buffer); returns the bytes read, 0 at the end of the
/// dump. v4 also copies the header word to the user buffer; this returns
/// the dump bytes only.
pub fn read_dump_chunk(
    m: &mut impl Mmio,
    mb: &mut AdminMailbox,
    sleep: &mut impl Sleep,
    offset: u32,
    out: &mut [u8],
) -> Result<usize> {
    let data_size = mb.area().data_size;
    let size = data::dump_chunk_size(data_size, out.len());
    let param = data::dump_request(offset, size, data_size)?;
    with_response(mb, m, admin::CONTROLLER_DUMP, &[param], sleep, |_, rd| {
        let mut head = [0u8; 8];
        rd(0, &mut head)?;
        let n = data::dump_chunk_len(u64::from_le_bytes(head), size, data_size)?;
        rd(data::HEADER_BYTES, &mut out[..n])?;
        Ok(n)
    })
}

/// Tells the controller the dump has been collected (it may free it).
pub fn dump_collected(m: &mut impl Mmio) -> Result<()> {
    regs::set_bits(m, regs::HCI, hci::CONTROLLER_DUMP_COLLECTED)
}

/// Asks for health and performance data; it arrives as an error log entry
/// of type health & performance (`CHI.ELA`).
pub fn request_health_perf(m: &mut impl Mmio) -> Result<()> {
    regs::set_bits(m, regs::HCI, hci::REQ_HEALTH_PERF)
}

/// Writes a firmware image block by block, then commits it (see
/// `firmware.rs`, which the kernel's firmware upload drives a block at a
/// time). The new firmware runs after an AFU reset.
pub fn firmware_update(
    m: &mut impl Mmio,
    mb: &mut AdminMailbox,
    sleep: &mut impl Sleep,
    image: &[u8],
) -> Result<()> {
    firmware::check_image(image.len())?;
    let mut offset = 0;
    while offset < image.len() {
        offset += firmware::write_block(m, mb, sleep, image, offset)?;
    }
    firmware::commit(m, mb, sleep, image.len())
}

/// A firmware debug action with an optional in/out buffer (`buf.len()` a
/// multiple of 8, at most the data buffer). Enables `HCI.FW_DEBUG` for the
/// command and disables it afterwards, also on failure.
pub fn fw_debug(
    m: &mut impl Mmio,
    mb: &mut AdminMailbox,
    sleep: &mut impl Sleep,
    action: u8,
    function_code: u16,
    params: [u64; 2],
    buf: &mut [u8],
) -> Result<()> {
    let area = *mb.area();
    if buf.len() & 7 != 0 || buf.len() > area.data_size {
        return Err(Error::BadParameter("debug buffer size"));
    }
    regs::set_bits(m, regs::HCI, hci::FW_DEBUG)?;
    let words = data::fw_debug_params(action, function_code, params[0], params[1]);
    let result = (|| {
        write_data(m, &area, 0, buf)?;
        with_response(mb, m, admin::FW_DEBUG, &words, sleep, |_, rd| rd(0, buf))
    })();
    let off = regs::set_bits(m, regs::HCIC, hci::FW_DEBUG);
    result?;
    off
}

/// Reads one word of the admin data buffer (for diagnostics).
pub fn data_word(m: &impl Mmio, mb: &AdminMailbox, offset: usize) -> Result<u64> {
    read_data_word(m, mb.area(), offset)
}
