// SPDX-License-Identifier: GPL-2.0

//! SMART through `ND_CMD_CALL`: family `NVDIMM_FAMILY_OCXL` (6), function
//! `ND_CMD_OCXL_SMART` (1), as the v4 series defined them.
//!
//! `core`-only, shared with `tools/ocxlpmem` (which sends the call through
//! `/dev/nmemN` and decodes the answer) and the test VMM's card model.
//!
//! The package takes no input. Its output is `struct nd_ocxl_smart`: a
//! count byte, seven reserved bytes, then `count` attributes of two 64-bit
//! words each, in the CPU's byte order (the card's data buffer holds them
//! little-endian). `nd_fw_size` is the size of the whole answer, so a
//! caller whose output was too small sees how much it needs; its output
//! then holds the attributes that fitted. Everything in the package is the
//! caller's: [`check_package`] refuses a package before the card is asked.
//!
//! What the attributes mean is the card's (v4 calls the format
//! proprietary and leaves the decoding to userspace). The test VMM's card
//! model uses word 0 as an attribute id ([`attr`]) and word 1 as its
//! value; [`Health`] decodes those, and counts the attributes it does not
//! know.

use core::fmt;

use super::data::{
    SmartAttribute, ND_CMD_OCXL_SMART, SMART_ATTR_BYTES, SMART_MAX_ATTRS, SMART_PAYLOAD_HEADER,
};
use super::error::{Error, Result, EINVAL};
use super::uapi::IocEncoding;

/// `ENOTTY`: the family has no such function (as the NFIT driver answers
/// a DSM function outside its mask).
pub const ENOTTY: i32 = 25;

/// Bytes of `struct nd_cmd_pkg` before the payload.
pub const ND_CMD_PKG_BYTES: usize = 64;
/// Offset of `nd_family` in `struct nd_cmd_pkg`.
pub const PKG_FAMILY: usize = 0;
/// Offset of `nd_command`.
pub const PKG_COMMAND: usize = 8;
/// Offset of `nd_size_in`.
pub const PKG_SIZE_IN: usize = 16;
/// Offset of `nd_size_out`.
pub const PKG_SIZE_OUT: usize = 20;
/// Offset of `nd_reserved2` (nine 32-bit words).
pub const PKG_RESERVED: usize = 24;
/// Offset of `nd_fw_size`.
pub const PKG_FW_SIZE: usize = 60;

/// `ND_CMD_CALL`, the libnvdimm command number.
const ND_CMD_CALL: u8 = 10;
/// The libnvdimm ioctl type, `'N'`.
const ND_IOCTL: u32 = b'N' as u32;

/// `ND_IOCTL_CALL` (`_IOWR('N', ND_CMD_CALL, struct nd_cmd_pkg)`) in the
/// encoding `enc`.
pub const fn nd_ioctl_call(enc: &IocEncoding) -> u32 {
    (enc.read | enc.write) << (16 + enc.size_bits)
        | (ND_CMD_PKG_BYTES as u32) << 16
        | ND_IOCTL << 8
        | ND_CMD_CALL as u32
}

/// Why a package of the family is refused before the card is asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackageError {
    /// The family has no such function.
    UnknownFunction(u64),
    /// The header's reserved words (`nd_reserved2`) are not zero.
    Reserved,
    /// SMART takes no input; this many bytes were given.
    Input(usize),
    /// The output cannot hold the answer's count and reserved bytes.
    ShortOutput(usize),
}

impl PackageError {
    /// The errno the driver returns (negative).
    pub fn errno(&self) -> i32 {
        -match self {
            PackageError::UnknownFunction(_) => ENOTTY,
            PackageError::Reserved | PackageError::Input(_) | PackageError::ShortOutput(_) => {
                EINVAL
            }
        }
    }
}

impl fmt::Display for PackageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PackageError::UnknownFunction(n) => write!(f, "unknown function {n:#x}"),
            PackageError::Reserved => write!(f, "reserved header words set"),
            PackageError::Input(n) => write!(f, "{n} bytes of input, SMART takes none"),
            PackageError::ShortOutput(n) => write!(
                f,
                "{n} bytes of output, fewer than the {SMART_PAYLOAD_HEADER} of the answer's header"
            ),
        }
    }
}

/// Checks a package of the family (`function` is its `nd_command`,
/// `reserved_zero` whether its reserved words are zero) and returns how
/// many attributes its output holds.
pub fn check_package(
    function: u64,
    reserved_zero: bool,
    size_in: usize,
    size_out: usize,
) -> core::result::Result<usize, PackageError> {
    if function != ND_CMD_OCXL_SMART {
        return Err(PackageError::UnknownFunction(function));
    }
    if !reserved_zero {
        return Err(PackageError::Reserved);
    }
    if size_in != 0 {
        return Err(PackageError::Input(size_in));
    }
    match size_out.checked_sub(SMART_PAYLOAD_HEADER) {
        Some(room) => Ok((room / SMART_ATTR_BYTES).min(SMART_MAX_ATTRS)),
        None => Err(PackageError::ShortOutput(size_out)),
    }
}

/// `nd_fw_size` of an answer for a card with `available` attributes.
pub fn answer_size(available: usize) -> u32 {
    let n = available.min(SMART_MAX_ATTRS);
    // At most 8 + 255 * 16 bytes.
    (SMART_PAYLOAD_HEADER + n * SMART_ATTR_BYTES) as u32
}

/// Writes the answer into `out` (the package's output): the first
/// `copied` attributes of `attrs` (as the card's data buffer holds them,
/// little-endian) in the CPU's byte order, as many as `out` holds; the
/// rest of `out` is zeroed. Returns the count written.
pub fn encode_answer(out: &mut [u8], attrs: &[u8], copied: usize) -> u8 {
    out.fill(0);
    let room = out.len().saturating_sub(SMART_PAYLOAD_HEADER) / SMART_ATTR_BYTES;
    let n = copied
        .min(attrs.len() / SMART_ATTR_BYTES)
        .min(room)
        .min(SMART_MAX_ATTRS);
    for i in 0..n * 2 {
        let src = i * 8;
        let dst = SMART_PAYLOAD_HEADER + src;
        let (Some(from), Some(to)) = (attrs.get(src..src + 8), out.get_mut(dst..dst + 8)) else {
            break;
        };
        let mut w = [0u8; 8];
        w.copy_from_slice(from);
        to.copy_from_slice(&u64::from_le_bytes(w).to_ne_bytes());
    }
    // `n` is at most SMART_MAX_ATTRS (255).
    let count = n as u8;
    if let Some(c) = out.first_mut() {
        *c = count;
    }
    count
}

/// An answer as the caller reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer<'a> {
    /// Attributes the card has (from `nd_fw_size`).
    pub available: usize,
    /// The attributes returned, `count` of them, in the CPU's byte order.
    attrs: &'a [u8],
}

/// A native-endian word of `b` at `offset` (in range: checked by the
/// caller).
fn ne_word(b: &[u8], offset: usize) -> Option<u64> {
    let mut w = [0u8; 8];
    w.copy_from_slice(b.get(offset..offset.checked_add(8)?)?);
    Some(u64::from_ne_bytes(w))
}

/// Decodes the output `out` of an answered package whose `nd_fw_size` is
/// `fw_size`. The driver's word is checked like a device's: the count
/// fits the output and the size, the reserved bytes are zero.
pub fn decode_answer(out: &[u8], fw_size: u32) -> Result<Answer<'_>> {
    let head = out.get(..SMART_PAYLOAD_HEADER).ok_or(Error::Truncated {
        need: SMART_PAYLOAD_HEADER as u64,
        have: out.len() as u64,
    })?;
    if head[1..].iter().any(|&b| b != 0) {
        return Err(Error::BadLength {
            what: "SMART answer reserved bytes",
            value: ne_word(head, 0).unwrap_or(0),
        });
    }
    let count = usize::from(head[0]);
    let body = (fw_size as usize)
        .checked_sub(SMART_PAYLOAD_HEADER)
        .filter(|b| b % SMART_ATTR_BYTES == 0)
        .ok_or(Error::BadLength {
            what: "SMART answer size",
            value: u64::from(fw_size),
        })?;
    let available = body / SMART_ATTR_BYTES;
    if count > available {
        return Err(Error::BadLength {
            what: "SMART attribute count",
            value: count as u64,
        });
    }
    let end = SMART_PAYLOAD_HEADER + count * SMART_ATTR_BYTES;
    let attrs = out.get(SMART_PAYLOAD_HEADER..end).ok_or(Error::Truncated {
        need: end as u64,
        have: out.len() as u64,
    })?;
    Ok(Answer { available, attrs })
}

impl Answer<'_> {
    /// Attributes returned.
    pub fn count(&self) -> usize {
        self.attrs.len() / SMART_ATTR_BYTES
    }

    /// Whether every attribute the card has was returned.
    pub fn complete(&self) -> bool {
        self.count() == self.available
    }

    /// Attribute `index`.
    pub fn attribute(&self, index: usize) -> Option<SmartAttribute> {
        let off = index.checked_mul(SMART_ATTR_BYTES)?;
        Some(SmartAttribute([
            ne_word(self.attrs, off)?,
            ne_word(self.attrs, off.checked_add(8)?)?,
        ]))
    }

    /// The attributes returned.
    pub fn attributes(&self) -> impl Iterator<Item = SmartAttribute> + '_ {
        (0..self.count()).filter_map(|i| self.attribute(i))
    }
}

/// Attribute ids of the test VMM's card model (word 0; word 1 is the
/// value).
pub mod attr {
    /// Life remaining, percent.
    pub const LIFE_REMAINING: u64 = 0x01;
    /// Media temperature, degrees Celsius (two's complement).
    pub const MEDIA_TEMPERATURE: u64 = 0x02;
    /// Shutdowns without a prior `SHUTDOWN` command.
    pub const DIRTY_SHUTDOWNS: u64 = 0x03;
    /// Controller temperature, degrees Celsius (two's complement).
    pub const CONTROLLER_TEMPERATURE: u64 = 0x04;
    /// Spare media remaining, percent.
    pub const SPARES: u64 = 0x05;
    /// Power-on hours.
    pub const POWER_ON_HOURS: u64 = 0x06;
    /// Uncorrectable media errors seen.
    pub const MEDIA_ERRORS: u64 = 0x07;
    /// The controller's health verdict ([`super::HealthState`]).
    pub const HEALTH: u64 = 0x08;
}

/// The controller's health verdict (attribute [`attr::HEALTH`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HealthState {
    /// Healthy.
    Ok,
    /// A threshold is crossed (life, spares or temperature); data is safe.
    NonCritical,
    /// Data is at risk (no spares, media errors).
    Critical,
    /// The media failed.
    Fatal,
}

impl HealthState {
    /// The attribute value of the verdict.
    pub fn value(self) -> u64 {
        match self {
            HealthState::Ok => 0,
            HealthState::NonCritical => 1,
            HealthState::Critical => 2,
            HealthState::Fatal => 3,
        }
    }

    /// The verdict of an attribute value, if it is one.
    pub fn from_value(v: u64) -> Option<Self> {
        match v {
            0 => Some(HealthState::Ok),
            1 => Some(HealthState::NonCritical),
            2 => Some(HealthState::Critical),
            3 => Some(HealthState::Fatal),
            _ => None,
        }
    }

    /// Its name (as `ndctl` spells the health states).
    pub fn name(self) -> &'static str {
        match self {
            HealthState::Ok => "ok",
            HealthState::NonCritical => "non-critical",
            HealthState::Critical => "critical",
            HealthState::Fatal => "fatal",
        }
    }
}

/// The card's health, from the attributes the card model defines
/// ([`attr`]); an attribute the card does not report stays `None`, the
/// last of a repeated id wins.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Health {
    /// Life remaining, percent.
    pub life_remaining: Option<u64>,
    /// Media temperature, degrees Celsius.
    pub media_temperature: Option<i64>,
    /// Controller temperature, degrees Celsius.
    pub controller_temperature: Option<i64>,
    /// Spare media remaining, percent.
    pub spares: Option<u64>,
    /// Dirty shutdowns.
    pub dirty_shutdowns: Option<u64>,
    /// Power-on hours.
    pub power_on_hours: Option<u64>,
    /// Uncorrectable media errors.
    pub media_errors: Option<u64>,
    /// The health verdict, raw (see [`HealthState::from_value`]).
    pub health: Option<u64>,
    /// Attributes with another id.
    pub unknown: usize,
}

impl Health {
    /// Decodes `attrs`.
    pub fn from_attributes(attrs: impl Iterator<Item = SmartAttribute>) -> Self {
        let mut h = Health::default();
        for SmartAttribute([id, value]) in attrs {
            match id {
                attr::LIFE_REMAINING => h.life_remaining = Some(value),
                attr::MEDIA_TEMPERATURE => h.media_temperature = Some(value as i64),
                attr::CONTROLLER_TEMPERATURE => h.controller_temperature = Some(value as i64),
                attr::SPARES => h.spares = Some(value),
                attr::DIRTY_SHUTDOWNS => h.dirty_shutdowns = Some(value),
                attr::POWER_ON_HOURS => h.power_on_hours = Some(value),
                attr::MEDIA_ERRORS => h.media_errors = Some(value),
                attr::HEALTH => h.health = Some(value),
                _ => h.unknown += 1,
            }
        }
        h
    }

    /// Life used, percent (100 less the life remaining; 0 if the card
    /// claims more than 100 remaining).
    pub fn life_used(&self) -> Option<u64> {
        self.life_remaining.map(|r| 100u64.saturating_sub(r))
    }
}
