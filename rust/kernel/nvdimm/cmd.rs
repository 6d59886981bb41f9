// SPDX-License-Identifier: GPL-2.0

//! Typed views of the command buffers that libnvdimm hands to a provider.
//!
//! The core passes every DIMM command as a byte buffer whose layout is
//! defined by `include/uapi/linux/ndctl.h`. The lengths inside those buffers
//! come from userspace (through `/dev/nmemN`) or from the core's label code.
//! The core does not check them against the buffer or against the label
//! area, and it reads the user buffer twice, so every length and offset is
//! checked here, with overflow-safe arithmetic, before a provider sees a
//! slice. Fields are native-endian, like the C structs.

use crate::{
    bindings::{
        self, nd_cmd_get_config_data_hdr, nd_cmd_get_config_size, nd_cmd_pkg, nd_cmd_set_config_hdr,
    },
    impl_flags,
    prelude::*,
    transmute::{AsBytes, FromBytes},
};
use core::mem::{offset_of, size_of};

// SAFETY: `__packed` structs of `__u32` fields (the flexible array member
// has no size): no padding, and every bit pattern is a valid value.
unsafe impl FromBytes for nd_cmd_get_config_size {}
// SAFETY: As above: no padding, so every byte of a value is initialised.
unsafe impl AsBytes for nd_cmd_get_config_size {}
// SAFETY: As above.
unsafe impl FromBytes for nd_cmd_get_config_data_hdr {}
// SAFETY: As above.
unsafe impl FromBytes for nd_cmd_set_config_hdr {}
// SAFETY: `__u64` and `__u32` fields laid out without padding (64 bytes,
// checked below), every bit pattern valid.
unsafe impl FromBytes for nd_cmd_pkg {}

/// Size of `struct nd_cmd_get_config_size`.
pub const CONFIG_SIZE_LEN: usize = size_of::<nd_cmd_get_config_size>();
/// Size of `struct nd_cmd_get_config_data_hdr`.
pub const GET_CONFIG_HDR_LEN: usize = size_of::<nd_cmd_get_config_data_hdr>();
/// Size of `struct nd_cmd_set_config_hdr`.
pub const SET_CONFIG_HDR_LEN: usize = size_of::<nd_cmd_set_config_hdr>();
/// Size of the trailing status word of a set-config-data command.
pub const STATUS_LEN: usize = size_of::<u32>();
/// Size of `struct nd_cmd_pkg` without its payload.
pub const CALL_HDR_LEN: usize = size_of::<nd_cmd_pkg>();

const _: () = {
    assert!(CONFIG_SIZE_LEN == 12);
    assert!(GET_CONFIG_HDR_LEN == 12);
    assert!(SET_CONFIG_HDR_LEN == 8);
    assert!(CALL_HDR_LEN == 64);
};

/// Geometry of a DIMM's label (config) area, as reported by
/// `ND_CMD_GET_CONFIG_SIZE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LabelArea {
    /// Size of the label area in bytes.
    pub size: u32,
    /// Largest transfer the provider accepts per get/set command.
    pub max_xfer: u32,
}

impl LabelArea {
    /// A label area whose geometry only the DIMM knows, asked each time
    /// ([`Provider::config_size`](super::Provider::config_size), which a
    /// DIMM created with it must have), as the C NFIT driver has it: the
    /// DIMM lists the label commands whatever its firmware answers, the
    /// core's probe of the DIMM asks its size and fails with the DIMM's
    /// error, and label transfers reach the provider with any range that
    /// fits in `u32` (the firmware checks it).
    pub const UNSIZED: Self = Self {
        size: u32::MAX,
        max_xfer: u32::MAX,
    };
}

impl_flags!(
    /// The native (`ND_CMD_*`) DIMM commands a DIMM serves through
    /// [`Provider::dimm_command`](super::Provider::dimm_command), besides
    /// the label commands (which the label area decides) and
    /// `ND_CMD_CALL`. They become bits of the DIMM's command mask, which
    /// userspace sees in `nmemN/commands`.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct DimmCommands(u64);

    /// One native DIMM command.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum DimmCommandKind {
        /// `ND_CMD_SMART`: health data (`struct nd_cmd_smart`).
        Smart = 1 << bindings::ND_CMD_SMART,
        /// `ND_CMD_SMART_THRESHOLD`: alarm thresholds.
        SmartThreshold = 1 << bindings::ND_CMD_SMART_THRESHOLD,
        /// `ND_CMD_DIMM_FLAGS`.
        DimmFlags = 1 << bindings::ND_CMD_DIMM_FLAGS,
        /// `ND_CMD_VENDOR_EFFECT_LOG_SIZE`: listed in the command mask
        /// only; the core has no layout for it and refuses it.
        VendorEffectLogSize = 1 << bindings::ND_CMD_VENDOR_EFFECT_LOG_SIZE,
        /// `ND_CMD_VENDOR_EFFECT_LOG`: as `VendorEffectLogSize`.
        VendorEffectLog = 1 << bindings::ND_CMD_VENDOR_EFFECT_LOG,
        /// `ND_CMD_VENDOR`: vendor-specific pass-through.
        Vendor = 1 << bindings::ND_CMD_VENDOR,
    }
);

impl DimmCommands {
    /// The native commands among `mask`'s bits, by `ND_CMD_*` number (bit
    /// `n` for command `n`); other bits (the label commands, `ND_CMD_CALL`)
    /// are dropped. For a platform whose function numbers are the command
    /// numbers, as the Intel `_DSM` family's are.
    pub fn from_command_numbers(mask: u64) -> Self {
        Self(mask & Self::all_bits())
    }

    /// The command-mask bits.
    pub(super) fn bits(self) -> u64 {
        self.0
    }
}

impl DimmCommandKind {
    const ALL: [Self; 6] = [
        Self::Smart,
        Self::SmartThreshold,
        Self::DimmFlags,
        Self::VendorEffectLogSize,
        Self::VendorEffectLog,
        Self::Vendor,
    ];

    /// The command of an `ND_CMD_*` number, if it is a native one.
    pub fn from_number(cmd: u32) -> Option<Self> {
        let bit = 1u64.checked_shl(cmd).unwrap_or(0);
        Self::ALL.into_iter().find(|k| *k as u64 == bit)
    }

    /// The `ND_CMD_*` number (also the Intel `_DSM` function number of the
    /// same command).
    pub fn number(self) -> u32 {
        (self as u64).trailing_zeros()
    }
}

/// A native DIMM command with its buffer split as the core's command
/// descriptor (`nd_cmd_dimm_desc()`) splits it: the input fields, then the
/// output fields.
pub struct NativeCommand<'a> {
    kind: DimmCommandKind,
    input: &'a [u8],
    output: &'a mut [u8],
}

impl NativeCommand<'_> {
    /// Which command.
    pub fn kind(&self) -> DimmCommandKind {
        self.kind
    }

    /// The input fields (`ND_CMD_VENDOR`: opcode, length and the
    /// `in_length` bytes; empty for the others).
    pub fn input(&self) -> &[u8] {
        self.input
    }

    /// The output fields: the fixed size of the command's reply
    /// (`ND_CMD_SMART` 132 bytes, `SMART_THRESHOLD` 12, `DIMM_FLAGS` 8), or
    /// what is left of the buffer for `ND_CMD_VENDOR` (at least its status
    /// and length words).
    pub fn output(&mut self) -> &mut [u8] {
        self.output
    }
}

/// Sizes of the fixed output of a native command (status word included),
/// as `include/uapi/linux/ndctl.h` lays them out.
const SMART_LEN: usize = 4 + 128;
const SMART_THRESHOLD_LEN: usize = 4 + 8;
const DIMM_FLAGS_LEN: usize = 4 + 4;
/// `ND_CMD_VENDOR`: opcode and input length; status and output length.
const VENDOR_IN_HDR_LEN: usize = 8;
const VENDOR_OUT_HDR_LEN: usize = 8;

impl<'a> NativeCommand<'a> {
    /// Checks a native command's buffer against the core's layout for it.
    fn parse(kind: DimmCommandKind, buf: &'a mut [u8]) -> Result<Self> {
        let fixed = |len: usize, buf: &'a mut [u8]| -> Result<Self> {
            let output = buf.get_mut(..len).ok_or(EINVAL)?;
            Ok(Self {
                kind,
                input: &[],
                output,
            })
        };
        match kind {
            DimmCommandKind::Smart => fixed(SMART_LEN, buf),
            DimmCommandKind::SmartThreshold => fixed(SMART_THRESHOLD_LEN, buf),
            DimmCommandKind::DimmFlags => fixed(DIMM_FLAGS_LEN, buf),
            DimmCommandKind::Vendor => {
                let len = buf.get(4..8).ok_or(EINVAL)?;
                let in_len = u32::from_ne_bytes([len[0], len[1], len[2], len[3]]) as usize;
                let in_end = VENDOR_IN_HDR_LEN.checked_add(in_len).ok_or(EINVAL)?;
                if buf.len() < in_end.checked_add(VENDOR_OUT_HDR_LEN).ok_or(EINVAL)? {
                    return Err(EINVAL);
                }
                let (input, output) = buf.split_at_mut(in_end);
                Ok(Self {
                    kind,
                    input,
                    output,
                })
            }
            // No layout in the core (`nd_cmd_dimm_desc()` has none), which
            // refuses them before any provider.
            DimmCommandKind::VendorEffectLogSize | DimmCommandKind::VendorEffectLog => Err(ENOTTY),
        }
    }
}

/// A provider's answer to `ND_CMD_GET_CONFIG_SIZE` when it asks the DIMM
/// each time ([`Provider::config_size`](super::Provider::config_size)), as
/// C's NFIT driver does: a DIMM's label area may be locked until the core
/// unlocks the DIMM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigSize {
    /// The firmware's status word, as userspace gets it.
    pub status: u32,
    /// The geometry the DIMM reports. Label commands stay limited to the
    /// [`LabelArea`] the DIMM was created with.
    pub area: LabelArea,
    /// The DIMM's configuration is locked: in-kernel callers get `EACCES`,
    /// on which the core marks the DIMM locked.
    pub locked: bool,
}

impl ConfigSize {
    /// The status for in-kernel callers: `EACCES` when locked, `EIO` for any
    /// other non-zero firmware status (C's `xlat_nvdimm_status()`).
    pub fn kernel_status(&self) -> i32 {
        if self.locked {
            EACCES.to_errno()
        } else if self.status != 0 {
            EIO.to_errno()
        } else {
            0
        }
    }
}

/// A DIMM command with its buffer split into checked parts.
pub enum DimmCommand<'a> {
    /// `ND_CMD_GET_CONFIG_SIZE`: the reply is written by [`DimmCommand::reply_config_size`].
    GetConfigSize {
        /// `struct nd_cmd_get_config_size`.
        out: &'a mut [u8],
        /// The DIMM's label area.
        area: LabelArea,
    },
    /// `ND_CMD_GET_CONFIG_DATA`: read `out.len()` bytes at `offset`.
    GetConfigData {
        /// Offset into the label area; `offset + out.len()` is within it.
        offset: u32,
        /// Where the data goes.
        out: &'a mut [u8],
        /// The status word of the command.
        status: &'a mut [u8],
    },
    /// `ND_CMD_SET_CONFIG_DATA`: write `data` at `offset`.
    SetConfigData {
        /// Offset into the label area; `offset + data.len()` is within it.
        offset: u32,
        /// The bytes to write.
        data: &'a [u8],
        /// The trailing status word of the command.
        status: &'a mut [u8],
    },
    /// `ND_CMD_CALL`: a family-specific pass-through command.
    Call(CallPackage<'a>),
    /// A native command ([`DimmCommandKind`]).
    Native(NativeCommand<'a>),
}

/// A checked `struct nd_cmd_pkg`: the family is one the bus accepts and the
/// payload holds exactly `nd_size_in + nd_size_out` bytes.
pub struct CallPackage<'a> {
    header: &'a mut [u8],
    payload: &'a mut [u8],
    size_in: usize,
}

/// Reads the header a command buffer starts with (a copy: the buffer's
/// alignment is the caller's).
fn header<T: FromBytes>(buf: &[u8]) -> Result<T> {
    T::from_bytes_copy(buf.get(..size_of::<T>()).ok_or(EINVAL)?).ok_or(EINVAL)
}

/// Writes a native-endian `u32` into a status or size field.
#[inline]
pub fn write_u32(field: &mut [u8], value: u32) {
    if let Some(dst) = field.get_mut(..4) {
        dst.copy_from_slice(&value.to_ne_bytes());
    }
}

/// Checks that `offset..offset + len` lies within the label area.
fn check_range(area: &LabelArea, offset: u32, len: u32) -> Result {
    match offset.checked_add(len) {
        Some(end) if end <= area.size => Ok(()),
        _ => Err(EINVAL),
    }
}

impl<'a> DimmCommand<'a> {
    /// Parses the buffer of DIMM command `cmd`.
    ///
    /// `label` is the DIMM's label area (`None` for a label-less DIMM) and
    /// `families` the bitmask of `NVDIMM_FAMILY_*` values the bus accepts for
    /// `ND_CMD_CALL`. Errors: `EINVAL` for a buffer that is too short for the
    /// lengths it declares, a range outside the label area or a family the
    /// bus does not accept; `ENOTTY` for a command this layer does not know or
    /// that the DIMM does not have.
    pub fn parse(
        cmd: u32,
        buf: &'a mut [u8],
        label: Option<&LabelArea>,
        families: u64,
    ) -> Result<Self> {
        match cmd {
            bindings::ND_CMD_GET_CONFIG_SIZE => {
                let area = *label.ok_or(ENOTTY)?;
                let out = buf.get_mut(..CONFIG_SIZE_LEN).ok_or(EINVAL)?;
                Ok(Self::GetConfigSize { out, area })
            }
            bindings::ND_CMD_GET_CONFIG_DATA => {
                let area = label.ok_or(ENOTTY)?;
                let hdr: nd_cmd_get_config_data_hdr = header(buf)?;
                let (offset, len) = (hdr.in_offset, hdr.in_length);
                check_range(area, offset, len)?;
                let end = GET_CONFIG_HDR_LEN.checked_add(len as usize).ok_or(EINVAL)?;
                let (hdr, rest) = buf
                    .get_mut(..end)
                    .ok_or(EINVAL)?
                    .split_at_mut(GET_CONFIG_HDR_LEN);
                let status = offset_of!(nd_cmd_get_config_data_hdr, status);
                Ok(Self::GetConfigData {
                    offset,
                    out: rest,
                    status: &mut hdr[status..status + STATUS_LEN],
                })
            }
            bindings::ND_CMD_SET_CONFIG_DATA => {
                let area = label.ok_or(ENOTTY)?;
                let hdr: nd_cmd_set_config_hdr = header(buf)?;
                let (offset, len) = (hdr.in_offset, hdr.in_length);
                check_range(area, offset, len)?;
                let end = (len as usize)
                    .checked_add(SET_CONFIG_HDR_LEN + STATUS_LEN)
                    .ok_or(EINVAL)?;
                let body = buf.get_mut(SET_CONFIG_HDR_LEN..end).ok_or(EINVAL)?;
                let (data, status) = body.split_at_mut(len as usize);
                Ok(Self::SetConfigData {
                    offset,
                    data,
                    status,
                })
            }
            bindings::ND_CMD_CALL => Ok(Self::Call(CallPackage::parse(buf, families)?)),
            cmd => match DimmCommandKind::from_number(cmd) {
                Some(kind) => Ok(Self::Native(NativeCommand::parse(kind, buf)?)),
                None => Err(ENOTTY),
            },
        }
    }

    /// Answers `ND_CMD_GET_CONFIG_SIZE` from the label area geometry.
    #[inline]
    pub fn reply_config_size(out: &mut [u8], area: &LabelArea) {
        Self::reply_config_size_status(out, 0, area)
    }

    /// Answers `ND_CMD_GET_CONFIG_SIZE` with a firmware status.
    #[inline]
    pub fn reply_config_size_status(out: &mut [u8], status: u32, area: &LabelArea) {
        if let Some(reply) = nd_cmd_get_config_size::from_bytes_mut(out) {
            // A `__packed` struct: its fields are assigned, never borrowed.
            reply.status = status;
            reply.config_size = area.size;
            reply.max_xfer = area.max_xfer;
        }
    }
}

impl<'a> CallPackage<'a> {
    /// Checks a `struct nd_cmd_pkg` in `buf`: its family is one of
    /// `families` (a bitmask) and `buf` holds the declared payload.
    pub(super) fn parse(buf: &'a mut [u8], families: u64) -> Result<Self> {
        let pkg: nd_cmd_pkg = header(buf)?;
        let family = pkg.nd_family;
        if family >= 64 || families & (1 << family) == 0 {
            return Err(EINVAL);
        }
        let size_in = pkg.nd_size_in as usize;
        let size_out = pkg.nd_size_out as usize;
        let end = size_in
            .checked_add(size_out)
            .and_then(|n| n.checked_add(CALL_HDR_LEN))
            .ok_or(EINVAL)?;
        let (header, payload) = buf.get_mut(..end).ok_or(EINVAL)?.split_at_mut(CALL_HDR_LEN);
        Ok(Self {
            header,
            payload,
            size_in,
        })
    }

    /// The `NVDIMM_FAMILY_*` of the command (already checked against the bus).
    #[inline]
    pub fn family(&self) -> u64 {
        header::<nd_cmd_pkg>(self.header).map_or(u64::MAX, |p| p.nd_family)
    }

    /// The family-specific function number (`nd_command`), not validated.
    #[inline]
    pub fn command(&self) -> u64 {
        header::<nd_cmd_pkg>(self.header).map_or(u64::MAX, |p| p.nd_command)
    }

    /// Whether the reserved words of the header (`nd_reserved2`) are zero.
    pub fn reserved_is_zero(&self) -> bool {
        header::<nd_cmd_pkg>(self.header).is_ok_and(|p| p.nd_reserved2.iter().all(|&w| w == 0))
    }

    /// The input part of the payload (`nd_size_in` bytes).
    #[inline]
    pub fn input(&self) -> &[u8] {
        // `size_in <= payload.len()` (checked by `parse`): the fallback is
        // never taken, but unlike indexing it has no panic path.
        self.payload.get(..self.size_in).unwrap_or_default()
    }

    /// The output part of the payload (`nd_size_out` bytes after the input).
    #[inline]
    pub fn output(&mut self) -> &mut [u8] {
        // As in `input`.
        self.payload.get_mut(self.size_in..).unwrap_or_default()
    }

    /// The whole payload, for families whose replies overwrite their input
    /// (PAPR's PDSMs do).
    #[inline]
    pub fn payload(&mut self) -> &mut [u8] {
        self.payload
    }

    /// Records how many bytes the firmware returned (`nd_fw_size`).
    #[inline]
    pub fn set_fw_size(&mut self, len: u32) {
        let at = offset_of!(nd_cmd_pkg, nd_fw_size);
        // The header is a whole `nd_cmd_pkg` (`parse`); no panic path.
        if let Some(field) = self.header.get_mut(at..) {
            write_u32(field, len);
        }
    }
}

#[cfg(CONFIG_RUST_LIBNVDIMM_KUNIT_TEST)]
#[macros::kunit_tests(rust_nvdimm_cmd)]
mod tests {
    use super::*;

    fn read_u32(buf: &[u8], at: usize) -> Result<u32> {
        let bytes = buf.get(at..at + 4).ok_or(EINVAL)?;
        Ok(u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    const AREA: LabelArea = LabelArea {
        size: 128 << 10,
        max_xfer: 4096,
    };

    fn get_cmd(offset: u32, len: u32, buf_len: usize) -> KVec<u8> {
        let mut v = KVec::from_elem(0u8, buf_len, GFP_KERNEL).unwrap();
        v[0..4].copy_from_slice(&offset.to_ne_bytes());
        v[4..8].copy_from_slice(&len.to_ne_bytes());
        v
    }

    fn errno(r: Result<DimmCommand<'_>>) -> i32 {
        match r {
            Ok(_) => 0,
            Err(e) => e.to_errno(),
        }
    }

    #[test]
    fn get_config_data_bounds() {
        // Exact fit: header + 16 bytes.
        let mut b = get_cmd(0, 16, 12 + 16);
        match DimmCommand::parse(bindings::ND_CMD_GET_CONFIG_DATA, &mut b, Some(&AREA), 0) {
            Ok(DimmCommand::GetConfigData {
                offset,
                out,
                status,
            }) => {
                assert_eq!(offset, 0);
                assert_eq!(out.len(), 16);
                assert_eq!(status.len(), 4);
            }
            _ => panic!("exact fit rejected"),
        }
        // Buffer one byte short of the declared length.
        let mut b = get_cmd(0, 16, 12 + 15);
        assert_eq!(errno(DimmCommand::parse(5, &mut b, Some(&AREA), 0)), -22);
        // Past the end of the label area, and wrapping around u32.
        let mut b = get_cmd(AREA.size - 8, 16, 12 + 16);
        assert_eq!(errno(DimmCommand::parse(5, &mut b, Some(&AREA), 0)), -22);
        let mut b = get_cmd(u32::MAX - 4, 16, 12 + 16);
        assert_eq!(errno(DimmCommand::parse(5, &mut b, Some(&AREA), 0)), -22);
        // Header shorter than 8 bytes.
        let mut b = get_cmd(0, 0, 8);
        b.truncate(6);
        assert_eq!(errno(DimmCommand::parse(5, &mut b, Some(&AREA), 0)), -22);
        // A label-less DIMM has no config commands.
        let mut b = get_cmd(0, 16, 12 + 16);
        assert_eq!(errno(DimmCommand::parse(5, &mut b, None, 0)), -25);
        // An unsized area: any range that fits in u32, none that wraps.
        let unsized_area = Some(&LabelArea::UNSIZED);
        let mut b = get_cmd(u32::MAX - 16, 16, 12 + 16);
        assert_eq!(errno(DimmCommand::parse(5, &mut b, unsized_area, 0)), 0);
        let mut b = get_cmd(u32::MAX - 8, 16, 12 + 16);
        assert_eq!(errno(DimmCommand::parse(5, &mut b, unsized_area, 0)), -22);
    }

    #[test]
    fn set_config_data_bounds() {
        let mut b = get_cmd(AREA.size - 16, 16, 8 + 16 + 4);
        match DimmCommand::parse(bindings::ND_CMD_SET_CONFIG_DATA, &mut b, Some(&AREA), 0) {
            Ok(DimmCommand::SetConfigData {
                offset,
                data,
                status,
            }) => {
                assert_eq!(offset, AREA.size - 16);
                assert_eq!(data.len(), 16);
                assert_eq!(status.len(), 4);
            }
            _ => panic!("last 16 bytes rejected"),
        }
        // The trailing status word must fit too.
        let mut b = get_cmd(0, 16, 8 + 16 + 3);
        assert_eq!(errno(DimmCommand::parse(6, &mut b, Some(&AREA), 0)), -22);
        let mut b = get_cmd(AREA.size, 1, 8 + 1 + 4);
        assert_eq!(errno(DimmCommand::parse(6, &mut b, Some(&AREA), 0)), -22);
    }

    #[test]
    fn get_config_size_reply() {
        let mut b = get_cmd(0, 0, 12);
        match DimmCommand::parse(bindings::ND_CMD_GET_CONFIG_SIZE, &mut b, Some(&AREA), 0) {
            Ok(DimmCommand::GetConfigSize { out, area }) => {
                assert_eq!(area, AREA);
                DimmCommand::reply_config_size(out, &area)
            }
            _ => panic!("get config size rejected"),
        }
        assert_eq!(read_u32(&b, 0), Ok(0));
        assert_eq!(read_u32(&b, 4), Ok(AREA.size));
        assert_eq!(read_u32(&b, 8), Ok(AREA.max_xfer));
        let mut short = get_cmd(0, 0, 8);
        assert_eq!(
            errno(DimmCommand::parse(4, &mut short, Some(&AREA), 0)),
            -22
        );
    }

    fn call_cmd(family: u64, size_in: u32, size_out: u32, buf_len: usize) -> KVec<u8> {
        let mut v = KVec::from_elem(0u8, buf_len, GFP_KERNEL).unwrap();
        v[0..8].copy_from_slice(&family.to_ne_bytes());
        v[8..16].copy_from_slice(&7u64.to_ne_bytes());
        v[16..20].copy_from_slice(&size_in.to_ne_bytes());
        v[20..24].copy_from_slice(&size_out.to_ne_bytes());
        v
    }

    #[test]
    fn call_package() {
        let papr = 1u64 << bindings::NVDIMM_FAMILY_PAPR;
        let mut b = call_cmd(bindings::NVDIMM_FAMILY_PAPR.into(), 8, 16, 64 + 24);
        match DimmCommand::parse(bindings::ND_CMD_CALL, &mut b, None, papr) {
            Ok(DimmCommand::Call(mut pkg)) => {
                assert_eq!(pkg.family(), bindings::NVDIMM_FAMILY_PAPR.into());
                assert_eq!(pkg.command(), 7);
                assert_eq!(pkg.input().len(), 8);
                assert_eq!(pkg.output().len(), 16);
                assert_eq!(pkg.payload().len(), 24);
                pkg.set_fw_size(3);
            }
            _ => panic!("valid package rejected"),
        }
        assert_eq!(read_u32(&b, 60), Ok(3));
        // A family the bus does not accept, and one past any bitmask.
        let mut b = call_cmd(bindings::NVDIMM_FAMILY_INTEL.into(), 8, 16, 64 + 24);
        assert_eq!(errno(DimmCommand::parse(10, &mut b, None, papr)), -22);
        let mut b = call_cmd(200, 0, 0, 64);
        assert_eq!(errno(DimmCommand::parse(10, &mut b, None, u64::MAX)), -22);
        // Sizes larger than the buffer, and sizes that overflow.
        let mut b = call_cmd(bindings::NVDIMM_FAMILY_PAPR.into(), 8, 17, 64 + 24);
        assert_eq!(errno(DimmCommand::parse(10, &mut b, None, papr)), -22);
        let mut b = call_cmd(bindings::NVDIMM_FAMILY_PAPR.into(), u32::MAX, u32::MAX, 64);
        assert_eq!(errno(DimmCommand::parse(10, &mut b, None, papr)), -22);
        // Shorter than the package header.
        let mut b = call_cmd(bindings::NVDIMM_FAMILY_PAPR.into(), 0, 0, 64);
        b.truncate(63);
        assert_eq!(errno(DimmCommand::parse(10, &mut b, None, papr)), -22);
    }

    #[test]
    fn config_size_status() {
        let mut c = ConfigSize {
            status: 0,
            area: AREA,
            locked: false,
        };
        assert_eq!(c.kernel_status(), 0);
        c.status = 3;
        assert_eq!(c.kernel_status(), -5);
        c.status = 1 << 16;
        c.locked = true;
        assert_eq!(c.kernel_status(), -13);
        let mut b = get_cmd(0, 0, 12);
        DimmCommand::reply_config_size_status(&mut b, c.status, &c.area);
        assert_eq!(read_u32(&b, 0), Ok(1 << 16));
        assert_eq!(read_u32(&b, 4), Ok(AREA.size));
    }

    #[test]
    fn native_commands() {
        let mut b = get_cmd(0, 0, 132);
        match DimmCommand::parse(bindings::ND_CMD_SMART, &mut b, None, 0) {
            Ok(DimmCommand::Native(mut n)) => {
                assert_eq!(n.kind(), DimmCommandKind::Smart);
                assert_eq!(n.input().len(), 0);
                assert_eq!(n.output().len(), 132);
            }
            _ => panic!("smart rejected"),
        }
        let mut short = get_cmd(0, 0, 131);
        assert_eq!(errno(DimmCommand::parse(1, &mut short, None, 0)), -22);
        let mut b = get_cmd(0, 0, 12);
        assert!(matches!(
            DimmCommand::parse(bindings::ND_CMD_SMART_THRESHOLD, &mut b, None, 0),
            Ok(DimmCommand::Native(_))
        ));
        let mut b = get_cmd(0, 0, 8);
        assert!(matches!(
            DimmCommand::parse(bindings::ND_CMD_DIMM_FLAGS, &mut b, None, 0),
            Ok(DimmCommand::Native(_))
        ));
        // Vendor: opcode, in_length 4, 4 input bytes, then status and
        // out_length at least.
        let mut b = get_cmd(0x1234, 4, 8 + 4 + 8 + 16);
        match DimmCommand::parse(bindings::ND_CMD_VENDOR, &mut b, None, 0) {
            Ok(DimmCommand::Native(mut n)) => {
                assert_eq!(n.input().len(), 12);
                assert_eq!(n.output().len(), 24);
            }
            _ => panic!("vendor rejected"),
        }
        let mut b = get_cmd(0x1234, 4, 8 + 4 + 7);
        assert_eq!(errno(DimmCommand::parse(9, &mut b, None, 0)), -22);
        let mut b = get_cmd(0x1234, u32::MAX, 64);
        assert_eq!(errno(DimmCommand::parse(9, &mut b, None, 0)), -22);
        // No layout: refused as the core refuses them.
        let mut b = get_cmd(0, 0, 64);
        assert_eq!(errno(DimmCommand::parse(7, &mut b, None, 0)), -25);
        assert_eq!(errno(DimmCommand::parse(8, &mut b, None, 0)), -25);
        assert_eq!(DimmCommandKind::Vendor.number(), 9);
        assert_eq!(
            DimmCommandKind::from_number(3),
            Some(DimmCommandKind::DimmFlags)
        );
        assert_eq!(DimmCommandKind::from_number(4), None);
        assert_eq!(DimmCommandKind::from_number(64), None);
        // Bits 1-3 and 7-9 only.
        assert_eq!(DimmCommands::from_command_numbers(u64::MAX).bits(), 0x38e);
    }

    #[test]
    fn unknown_commands() {
        let mut b = get_cmd(0, 0, 64);
        for cmd in [0, 11, 0x33] {
            assert_eq!(
                errno(DimmCommand::parse(cmd, &mut b, Some(&AREA), u64::MAX)),
                -25
            );
        }
    }
}
