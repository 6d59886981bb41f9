// SPDX-License-Identifier: GPL-2.0

//! Firmware update a block at a time, as the kernel's firmware upload
//! hands the image over.
//!
//! `core`-only. The image goes to the card in `FW_UPDATE` commands of at
//! most [`FW_BLOCK_BYTES`](super::data::FW_BLOCK_BYTES) at increasing
//! offsets; a zero-size command at the (padded) end commits it, and the
//! card checks the image then. The card runs the new firmware, and
//! reports its version in `FWVER`, only after an AFU reset.
//!
//! Block sizes are multiples of 8: the last block of an image whose
//! length is not is sent zero-padded to the next multiple of 8 (the card
//! knows the image's real length from its header). The card's statuses
//! become an [`UpdateFailure`], the reason the upload interface reports.

use super::admin::{self, write_data, AdminMailbox, Sleep};
use super::data::{self, FW_BLOCK_BYTES, FW_MAX_IMAGE};
use super::error::{Error, Result};
use super::regs::Mmio;

/// Why an update failed, in the upload interface's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateFailure {
    /// The card is blocked on a background task: try again later.
    Busy,
    /// The card refused the image (bad data: its header, length or
    /// checksum).
    InvalidImage,
    /// The image is empty or larger than an update can carry.
    InvalidSize,
    /// The card did not answer in time.
    Timeout,
    /// The card failed otherwise (another status, a fatal failure, a
    /// malformed answer); the driver logs the protocol error.
    Device,
}

impl UpdateFailure {
    /// The failure a protocol error of an update command means.
    pub fn of(e: &Error) -> Self {
        match e {
            Error::Status { status, .. } => match *status {
                admin::STATUS_BLOCKED_BG_TASK => UpdateFailure::Busy,
                admin::STATUS_BAD_DATA_PARM => UpdateFailure::InvalidImage,
                _ => UpdateFailure::Device,
            },
            Error::Timeout { .. } => UpdateFailure::Timeout,
            Error::BadParameter(_) => UpdateFailure::InvalidSize,
            _ => UpdateFailure::Device,
        }
    }
}

/// Checks an image's length before any of it is sent: not empty, and
/// padded to whole words no larger than [`FW_MAX_IMAGE`].
pub fn check_image(len: usize) -> Result<()> {
    match padded(len) {
        Some(p) if len > 0 && p <= FW_MAX_IMAGE => Ok(()),
        _ => Err(Error::BadParameter("firmware image size")),
    }
}

/// `len` rounded up to a multiple of 8.
fn padded(len: usize) -> Option<usize> {
    len.checked_add(7).map(|l| l & !7)
}

/// The bytes of the block at `offset` of an image of `image_len` bytes
/// through a data buffer of `data_size`: as much as one command carries,
/// a multiple of 8 except for the image's last block.
pub fn block_len(image_len: usize, offset: usize, data_size: usize) -> usize {
    let block = FW_BLOCK_BYTES.min(data_size & !7);
    block.min(image_len.saturating_sub(offset))
}

/// Writes the block of `image` at `offset` (a multiple of 8, inside the
/// image) to the card; returns the image bytes sent.
pub fn write_block(
    m: &mut impl Mmio,
    mb: &mut AdminMailbox,
    sleep: &mut impl Sleep,
    image: &[u8],
    offset: usize,
) -> Result<usize> {
    check_image(image.len())?;
    let area = *mb.area();
    if offset & 7 != 0 || offset >= image.len() {
        return Err(Error::BadParameter("firmware block offset"));
    }
    let len = block_len(image.len(), offset, area.data_size);
    let block = image
        .get(offset..offset + len)
        .ok_or(Error::BadParameter("firmware block offset"))?;
    let wire = padded(len).ok_or(Error::BadParameter("firmware block size"))?;
    let param = data::fw_update_request(
        u32::try_from(offset).map_err(|_| Error::BadParameter("firmware image size"))?,
        wire,
    )?;
    // The data buffer's words past the block are zeroed with it.
    write_data(m, &area, 0, block)?;
    mb.run(m, admin::FW_UPDATE, &[param], sleep)?;
    Ok(len)
}

/// Commits an image of `image_len` bytes, all written: the zero-size
/// command at its padded end. The card checks the image here.
pub fn commit(
    m: &mut impl Mmio,
    mb: &mut AdminMailbox,
    sleep: &mut impl Sleep,
    image_len: usize,
) -> Result<()> {
    check_image(image_len)?;
    let end = padded(image_len)
        .and_then(|p| u32::try_from(p).ok())
        .ok_or(Error::BadParameter("firmware image size"))?;
    let param = data::fw_update_request(end, 0)?;
    mb.run(m, admin::FW_UPDATE, &[param], sleep)
}
