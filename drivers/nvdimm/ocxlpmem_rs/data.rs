// SPDX-License-Identifier: GPL-2.0

//! Layouts of the admin commands' parameters and data buffers.
//!
//! `core`-only. A data buffer answer starts with a header word: a two
//! character identifier in bits 63:48 and the bytes that follow the header
//! in the low bits (16 bits for error logs and dumps, 32 for statistics and
//! SMART, as v4 reads them). Parsers take the bytes copied out of the data
//! buffer (so they are fuzzed without a device) and check every length,
//! count and identifier against the layout and the buffer size.

use super::error::{Error, Result};

/// Bytes of the data header word.
pub const HEADER_BYTES: usize = 8;
/// Data identifier of an error log entry, `"EL"`.
pub const ID_ERROR_LOG: u16 = 0x454c;
/// Data identifier of a controller dump chunk, `"CD"`.
pub const ID_CONTROLLER_DUMP: u16 = 0x4344;
/// Data identifier of the controller statistics, `"CS"`.
pub const ID_CONTROLLER_STATS: u16 = 0x4353;
/// Data identifier of SMART data, `"SM"`.
pub const ID_SMART: u16 = 0x534d;
/// Data identifier of the command capabilities, `"CC"` (this driver's
/// choice: v4 defines the opcode but not its answer).
pub const ID_CMD_CAPS: u16 = 0x4343;

/// Width of a data header's length field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LengthWidth {
    /// Bits 15:0 (error log, controller dump).
    Bits16,
    /// Bits 31:0 (statistics, SMART, command capabilities).
    Bits32,
}

/// The width of the length field of the answers with identifier `id`.
pub fn length_width(id: u16) -> LengthWidth {
    match id {
        ID_ERROR_LOG | ID_CONTROLLER_DUMP => LengthWidth::Bits16,
        _ => LengthWidth::Bits32,
    }
}

/// A decoded data header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataHeader {
    /// The identifier.
    pub identifier: u16,
    /// Bytes after the header word.
    pub length: usize,
}

impl DataHeader {
    /// Decodes a header word, expecting identifier `expected`, for a data
    /// buffer of `data_size` bytes (the answer must fit in it).
    pub fn decode(word: u64, expected: u16, data_size: usize) -> Result<Self> {
        let identifier = (word >> 48) as u16;
        if identifier != expected {
            return Err(Error::BadIdentifier {
                expected,
                got: identifier,
            });
        }
        let raw = match length_width(expected) {
            LengthWidth::Bits16 => word & 0xffff,
            LengthWidth::Bits32 => word & 0xffff_ffff,
        };
        let bad = Error::BadLength {
            what: "data length",
            value: raw,
        };
        let length = usize::try_from(raw).map_err(|_| bad)?;
        match length.checked_add(HEADER_BYTES) {
            Some(total) if total <= data_size => Ok(DataHeader { identifier, length }),
            _ => Err(bad),
        }
    }

    /// The header word (the device side).
    pub fn encode(identifier: u16, length: u32) -> u64 {
        u64::from(identifier) << 48 | u64::from(length)
    }
}

fn word(b: &[u8], offset: usize) -> Result<u64> {
    let end = offset.checked_add(8).ok_or(Error::Truncated {
        need: u64::MAX,
        have: b.len() as u64,
    })?;
    match b.get(offset..end) {
        Some(w) => {
            let mut a = [0u8; 8];
            a.copy_from_slice(w);
            Ok(u64::from_le_bytes(a))
        }
        None => Err(Error::Truncated {
            need: end as u64,
            have: b.len() as u64,
        }),
    }
}

fn need(b: &[u8], n: usize) -> Result<()> {
    if b.len() < n {
        Err(Error::Truncated {
            need: n as u64,
            have: b.len() as u64,
        })
    } else {
        Ok(())
    }
}

// ---- error log ----

/// Bytes of an error log answer before its additional data (header, then
/// 0x40 bytes of fixed fields).
pub const ERRLOG_FIXED_BYTES: usize = 0x48;
/// Smallest non-zero error log length (the fixed fields).
pub const ERRLOG_MIN_LENGTH: usize = ERRLOG_FIXED_BYTES - HEADER_BYTES;
/// Error log type: general.
pub const ERRLOG_TYPE_GENERAL: u8 = 0x00;
/// Error log type: predictive failure.
pub const ERRLOG_TYPE_PREDICTIVE_FAILURE: u8 = 0x01;
/// Error log type: thermal warning.
pub const ERRLOG_TYPE_THERMAL_WARNING: u8 = 0x02;
/// Error log type: data loss.
pub const ERRLOG_TYPE_DATA_LOSS: u8 = 0x03;
/// Error log type: health & performance (the answer to
/// `HCI.REQ_HEALTH_PERF`).
pub const ERRLOG_TYPE_HEALTH_PERFORMANCE: u8 = 0x04;
/// Recommended action: reset the controller.
pub const ERRLOG_ACTION_RESET: u32 = 1 << 0;
/// Recommended action: check the firmware.
pub const ERRLOG_ACTION_CHKFW: u32 = 1 << 21;
/// Recommended action: replace the card.
pub const ERRLOG_ACTION_REPLACE: u32 = 1 << 22;
/// Recommended action: take a controller dump.
pub const ERRLOG_ACTION_DUMP: u32 = 1 << 23;

/// The name of an error log type.
pub fn error_log_type_name(t: u8) -> &'static str {
    match t {
        ERRLOG_TYPE_GENERAL => "general",
        ERRLOG_TYPE_PREDICTIVE_FAILURE => "predictive failure",
        ERRLOG_TYPE_THERMAL_WARNING => "thermal warning",
        ERRLOG_TYPE_DATA_LOSS => "data loss",
        ERRLOG_TYPE_HEALTH_PERFORMANCE => "health & performance",
        _ => "unknown",
    }
}

/// One error log entry's fixed fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ErrorLogEntry {
    /// Log identifier.
    pub log_identifier: u32,
    /// Program reference code.
    pub program_reference_code: u32,
    /// `ERRLOG_TYPE_*`.
    pub error_log_type: u8,
    /// `ERRLOG_ACTION_*` (24 bits; general entries only, else 0).
    pub action_flags: u32,
    /// Seconds the controller had been on when the error occurred.
    pub power_on_seconds: u32,
    /// Time since the current IPL.
    pub timestamp: u64,
    /// NAA WWID of the controller.
    pub wwid: [u64; 2],
    /// Firmware revision text, NUL-padded.
    pub fw_revision: [u8; 8],
    /// Bytes of additional data after the fixed fields (at data offset
    /// [`ERRLOG_FIXED_BYTES`]).
    pub data_len: usize,
}

impl ErrorLogEntry {
    /// Parses an error log answer: `bytes` starts at the data buffer
    /// (header included) and holds at least the fixed part when the
    /// header's length is not zero. `Ok(None)` when the log is empty
    /// (length 0).
    pub fn parse(bytes: &[u8], data_size: usize) -> Result<Option<Self>> {
        let h = DataHeader::decode(word(bytes, 0)?, ID_ERROR_LOG, data_size)?;
        if h.length == 0 {
            return Ok(None);
        }
        if h.length < ERRLOG_MIN_LENGTH {
            return Err(Error::Truncated {
                need: ERRLOG_MIN_LENGTH as u64,
                have: h.length as u64,
            });
        }
        need(bytes, ERRLOG_FIXED_BYTES)?;
        let w08 = word(bytes, 0x08)?;
        let w10 = word(bytes, 0x10)?;
        let error_log_type = (w10 >> 56) as u8;
        let mut fw_revision = [0u8; 8];
        fw_revision.copy_from_slice(&bytes[0x30..0x38]);
        Ok(Some(ErrorLogEntry {
            log_identifier: (w08 >> 32) as u32,
            program_reference_code: w08 as u32,
            error_log_type,
            action_flags: if error_log_type == ERRLOG_TYPE_GENERAL {
                ((w10 >> 32) & 0xff_ffff) as u32
            } else {
                0
            },
            power_on_seconds: w10 as u32,
            timestamp: word(bytes, 0x18)?,
            wwid: [word(bytes, 0x20)?, word(bytes, 0x28)?],
            fw_revision,
            data_len: h.length - ERRLOG_MIN_LENGTH,
        }))
    }
}

// ---- controller statistics ----

/// The documented length of the statistics answer.
pub const STATS_LENGTH: usize = 0x140;
/// Bytes of the statistics answer, header included.
pub const STATS_BYTES: usize = HEADER_BYTES + STATS_LENGTH;
/// Offset of the first statistics parameter block (id 1, length 0x38).
pub const STATS_SPID1: usize = 0x08;
/// Offset of the second statistics parameter block (id 2, length 0xf8).
pub const STATS_SPID2: usize = 0x48;

/// The controller statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ControllerStats {
    /// Controller resets.
    pub reset_count: u32,
    /// Seconds since the last reset.
    pub reset_uptime: u32,
    /// Seconds powered on.
    pub power_on_uptime: u32,
    /// Life remaining, percent (0..=100).
    pub life_remaining: u8,
    /// Critical resource utilization, percent (0..=100).
    pub critical_resource_utilization: u8,
    /// Host loads.
    pub host_load_count: u64,
    /// Host stores.
    pub host_store_count: u64,
    /// Total host load time, ns.
    pub host_load_duration: u64,
    /// Total host store time, ns.
    pub host_store_duration: u64,
    /// Media reads.
    pub media_read_count: u64,
    /// Media writes.
    pub media_write_count: u64,
    /// Total media read time, ns.
    pub media_read_duration: u64,
    /// Total media write time, ns.
    pub media_write_duration: u64,
    /// Cache read hits.
    pub cache_read_hit_count: u64,
    /// Cache write hits.
    pub cache_write_hit_count: u64,
    /// Fast writes.
    pub fast_write_count: u64,
}

impl ControllerStats {
    /// The 64-bit counters, in field order from `host_load_count` (the
    /// order of every layout that carries them).
    pub fn counters(&self) -> [u64; 11] {
        [
            self.host_load_count,
            self.host_store_count,
            self.host_load_duration,
            self.host_store_duration,
            self.media_read_count,
            self.media_write_count,
            self.media_read_duration,
            self.media_write_duration,
            self.cache_read_hit_count,
            self.cache_write_hit_count,
            self.fast_write_count,
        ]
    }

    /// `self` with the counters of [`ControllerStats::counters`] order.
    pub fn with_counters(self, c: [u64; 11]) -> Self {
        let [host_load_count, host_store_count, host_load_duration, host_store_duration, media_read_count, media_write_count, media_read_duration, media_write_duration, cache_read_hit_count, cache_write_hit_count, fast_write_count] =
            c;
        ControllerStats {
            host_load_count,
            host_store_count,
            host_load_duration,
            host_store_duration,
            media_read_count,
            media_write_count,
            media_read_duration,
            media_write_duration,
            cache_read_hit_count,
            cache_write_hit_count,
            fast_write_count,
            ..self
        }
    }
}

/// Offsets (from the start of the data buffer) of the 64-bit counters of
/// [`ControllerStats`], in field order from `host_load_count`.
pub const STATS_COUNTERS: [usize; 11] = [
    STATS_SPID2 + 0x10,
    STATS_SPID2 + 0x18,
    STATS_SPID2 + 0x20,
    STATS_SPID2 + 0x28,
    STATS_SPID2 + 0x50,
    STATS_SPID2 + 0x58,
    STATS_SPID2 + 0x60,
    STATS_SPID2 + 0x68,
    STATS_SPID2 + 0x90,
    STATS_SPID2 + 0x98,
    STATS_SPID2 + 0xa0,
];

fn parameter_block(bytes: &[u8], offset: usize, id: u8, len: u32) -> Result<()> {
    let w = word(bytes, offset)?;
    if (w >> 56) as u8 != id {
        return Err(Error::BadLength {
            what: "statistics parameter id",
            value: w >> 56,
        });
    }
    if w as u32 != len {
        return Err(Error::BadLength {
            what: "statistics parameter length",
            value: w & 0xffff_ffff,
        });
    }
    Ok(())
}

fn percent(what: &'static str, v: u64) -> Result<u8> {
    let p = (v & 0xff) as u8;
    if p > 100 {
        return Err(Error::BadLength {
            what,
            value: u64::from(p),
        });
    }
    Ok(p)
}

impl ControllerStats {
    /// Parses the statistics answer (`bytes` from the start of the data
    /// buffer, at least [`STATS_BYTES`]). The length must be at least the
    /// documented 0x140 (v4 only warns; a shorter answer would make the
    /// counters read stale buffer contents).
    pub fn parse(bytes: &[u8], data_size: usize) -> Result<Self> {
        let h = DataHeader::decode(word(bytes, 0)?, ID_CONTROLLER_STATS, data_size)?;
        if h.length < STATS_LENGTH {
            return Err(Error::Truncated {
                need: STATS_LENGTH as u64,
                have: h.length as u64,
            });
        }
        need(bytes, STATS_BYTES)?;
        parameter_block(bytes, STATS_SPID1, 1, 0x38)?;
        parameter_block(bytes, STATS_SPID2, 2, 0xf8)?;
        let reset = word(bytes, STATS_SPID1 + 0x08)?;
        let uptime = word(bytes, STATS_SPID1 + 0x10)?;
        let mut c = [0u64; 11];
        for (v, &off) in c.iter_mut().zip(STATS_COUNTERS.iter()) {
            *v = word(bytes, off)?;
        }
        Ok(ControllerStats {
            reset_count: (reset >> 32) as u32,
            reset_uptime: reset as u32,
            power_on_uptime: (uptime >> 32) as u32,
            life_remaining: percent("life remaining", uptime)?,
            critical_resource_utilization: percent(
                "critical resource utilization",
                word(bytes, STATS_SPID2 + 0x08)?,
            )?,
            ..Default::default()
        }
        .with_counters(c))
    }
}

// ---- SMART ----

/// Bytes per SMART attribute (two words, proprietary format).
pub const SMART_ATTR_BYTES: usize = 16;
/// Most attributes passed to userspace (`nd_ocxl_smart.count` is a u8).
pub const SMART_MAX_ATTRS: usize = 255;
/// `ND_CMD_CALL` family of the SMART pass-through (v4's
/// `NVDIMM_FAMILY_OCXL`).
pub const NVDIMM_FAMILY_OCXL: u64 = 6;
/// `ND_CMD_CALL` command of the SMART pass-through.
pub const ND_CMD_OCXL_SMART: u64 = 1;
/// Bytes of the pass-through payload before the attributes (`count`, 7
/// reserved bytes).
pub const SMART_PAYLOAD_HEADER: usize = 8;

/// The number of attributes of a SMART answer with header `word`.
pub fn smart_attribute_count(word: u64, data_size: usize) -> Result<usize> {
    let h = DataHeader::decode(word, ID_SMART, data_size)?;
    if h.length % SMART_ATTR_BYTES != 0 {
        return Err(Error::BadLength {
            what: "SMART data length",
            value: h.length as u64,
        });
    }
    let n = h.length / SMART_ATTR_BYTES;
    if n > SMART_MAX_ATTRS {
        return Err(Error::BadLength {
            what: "SMART attribute count",
            value: n as u64,
        });
    }
    Ok(n)
}

/// One SMART attribute (two little-endian words, proprietary).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SmartAttribute(pub [u64; 2]);

impl SmartAttribute {
    /// Decodes attribute `index` of `attrs` (the bytes after the header).
    pub fn parse(attrs: &[u8], index: usize) -> Result<Self> {
        let off = index
            .checked_mul(SMART_ATTR_BYTES)
            .ok_or(Error::BadLength {
                what: "SMART attribute index",
                value: index as u64,
            })?;
        Ok(SmartAttribute([word(attrs, off)?, word(attrs, off + 8)?]))
    }
}

// ---- controller dump ----

/// Largest chunk one dump command can return (the 16-bit length field,
/// rounded down to whole words).
pub const DUMP_MAX_CHUNK: usize = 0xfff8;

/// The parameter word of a dump request for `size` bytes at `offset`.
/// `size` must be a non-zero multiple of 8 that fits in the data buffer
/// after the header and in the length field.
pub fn dump_request(offset: u32, size: usize, data_size: usize) -> Result<u64> {
    if size == 0 || size & 7 != 0 || size > DUMP_MAX_CHUNK {
        return Err(Error::BadParameter("dump chunk size"));
    }
    match size.checked_add(HEADER_BYTES) {
        Some(t) if t <= data_size => Ok(u64::from(offset) << 32 | size as u64),
        _ => Err(Error::BadParameter("dump chunk size")),
    }
}

/// Splits a dump request word into `(offset, size)` (the device side).
pub fn decode_dump_request(word: u64) -> (u32, u32) {
    ((word >> 32) as u32, word as u32)
}

/// The bytes a dump answer with header `word` returns for a request of
/// `requested` bytes; 0 means the dump has no more data.
pub fn dump_chunk_len(word: u64, requested: usize, data_size: usize) -> Result<usize> {
    let h = DataHeader::decode(word, ID_CONTROLLER_DUMP, data_size)?;
    if h.length > requested {
        return Err(Error::BadLength {
            what: "dump chunk length",
            value: h.length as u64,
        });
    }
    Ok(h.length)
}

/// The largest dump chunk for a data buffer of `data_size` bytes and a
/// destination of `room` bytes (0 if none fits).
pub fn dump_chunk_size(data_size: usize, room: usize) -> usize {
    let fit = data_size
        .saturating_sub(HEADER_BYTES)
        .min(DUMP_MAX_CHUNK)
        .min(room);
    fit & !7
}

// ---- firmware update ----

/// Largest firmware block per command.
pub const FW_BLOCK_BYTES: usize = 32 << 10;
/// Largest firmware image (offsets are 32 bits).
pub const FW_MAX_IMAGE: usize = u32::MAX as usize - FW_BLOCK_BYTES;

/// The parameter word of a firmware update block: `offset << 32 | size`.
/// A zero-size block at the image's end commits the image (this driver's
/// convention, see the documentation).
pub fn fw_update_request(offset: u32, size: usize) -> Result<u64> {
    if size & 7 != 0 || size > FW_BLOCK_BYTES {
        return Err(Error::BadParameter("firmware block size"));
    }
    Ok(u64::from(offset) << 32 | size as u64)
}

/// Splits a firmware update request word into `(offset, size)`.
pub fn decode_fw_update_request(word: u64) -> (u32, u32) {
    ((word >> 32) as u32, word as u32)
}

/// One firmware update command: `len` bytes of the image at `offset`
/// (`len == 0`: commit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FwChunk {
    /// Offset in the image.
    pub offset: usize,
    /// Bytes; 0 for the final commit.
    pub len: usize,
}

/// The commands that write an image: blocks in order, then a commit.
#[derive(Clone, Debug)]
pub struct FwUpdatePlan {
    image_len: usize,
    block: usize,
    next: usize,
    done: bool,
}

impl FwUpdatePlan {
    /// A plan for an image of `image_len` bytes (non-zero, a multiple of
    /// 8, at most [`FW_MAX_IMAGE`]) through a data buffer of `data_size`.
    pub fn new(image_len: usize, data_size: usize) -> Result<Self> {
        if image_len == 0 || image_len & 7 != 0 || image_len > FW_MAX_IMAGE {
            return Err(Error::BadParameter("firmware image size"));
        }
        let block = FW_BLOCK_BYTES.min(data_size & !7);
        if block == 0 {
            return Err(Error::BadArea);
        }
        Ok(FwUpdatePlan {
            image_len,
            block,
            next: 0,
            done: false,
        })
    }
}

impl Iterator for FwUpdatePlan {
    type Item = FwChunk;

    fn next(&mut self) -> Option<FwChunk> {
        if self.done {
            return None;
        }
        let offset = self.next;
        let len = self.block.min(self.image_len - offset);
        if len == 0 {
            self.done = true;
        }
        self.next = offset + len;
        Some(FwChunk { offset, len })
    }
}

// ---- firmware debug ----

/// Firmware debug action: read controller memory.
pub const FWDEBUG_READ_CONTROLLER_MEMORY: u8 = 0x01;
/// Firmware debug action: write controller memory.
pub const FWDEBUG_WRITE_CONTROLLER_MEMORY: u8 = 0x02;
/// Firmware debug action: enable a function.
pub const FWDEBUG_ENABLE_FUNCTION: u8 = 0x03;
/// Firmware debug action: disable a function.
pub const FWDEBUG_DISABLE_FUNCTION: u8 = 0x04;
/// Firmware debug action: retrieve the persistent error log.
pub const FWDEBUG_GET_PEL: u8 = 0x05;

/// The three parameter words of a firmware debug request.
pub fn fw_debug_params(action: u8, function_code: u16, p1: u64, p2: u64) -> [u64; 3] {
    [
        u64::from(action) << 56 | u64::from(function_code) << 40,
        p1,
        p2,
    ]
}

/// Splits the first firmware debug word into `(action, function_code)`.
pub fn decode_fw_debug(word: u64) -> (u8, u16) {
    ((word >> 56) as u8, (word >> 40) as u16)
}

// ---- command capabilities ----

/// Bytes of the command capabilities answer after the header.
pub const CAPS_LENGTH: usize = 16;

/// The command capabilities: which opcodes the controller implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CommandCaps {
    /// Bit `n`: admin opcode `n` is implemented.
    pub admin: u64,
    /// Bit `n`: near-storage opcode `n` is implemented.
    pub near_storage: u64,
}

impl CommandCaps {
    /// Parses the answer (`bytes` from the start of the data buffer).
    pub fn parse(bytes: &[u8], data_size: usize) -> Result<Self> {
        let h = DataHeader::decode(word(bytes, 0)?, ID_CMD_CAPS, data_size)?;
        if h.length < CAPS_LENGTH {
            return Err(Error::Truncated {
                need: CAPS_LENGTH as u64,
                have: h.length as u64,
            });
        }
        Ok(CommandCaps {
            admin: word(bytes, 8)?,
            near_storage: word(bytes, 16)?,
        })
    }

    /// Whether admin `opcode` is implemented.
    pub fn supports(&self, opcode: u8) -> bool {
        opcode < 64 && self.admin & 1 << opcode != 0
    }
}
