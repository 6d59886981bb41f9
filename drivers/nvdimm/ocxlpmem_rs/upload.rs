// SPDX-License-Identifier: GPL-2.0

//! Firmware update of the card through the firmware loader's upload
//! interface, `/sys/class/firmware/ocxlpmemN/` (N as in `/dev/ocxlpmemN`).
//!
//! The protocol is `firmware.rs`'s; this serves it to the loader's worker.
//! Each `write` sends one block under the admin mailbox, so the card's
//! other commands interleave with an update. The new firmware runs, and
//! `ocxlpmem/fw_version` shows it, once the card has been reset and bound
//! again.

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use kernel::{
    device,
    firmware_upload::{Operations, Registration, UploadError},
    prelude::*,
    str::CString,
    sync::{aref::ARef, Arc},
};

use super::{error, firmware, Controller, ProtocolError, Sleeper};

/// The card's side of an upload.
pub(crate) struct CardFirmware {
    ctrl: Arc<Controller>,
    dev: ARef<device::Device>,
    /// Set by `cancel` (from another thread), cleared when an upload ends.
    cancelled: AtomicBool,
    /// Bytes of the image under way (the commit names its end).
    image_len: AtomicUsize,
}

/// Registers `/sys/class/firmware/ocxlpmem<index>/` for the card.
pub(crate) fn register(
    dev: &device::Device<device::Bound>,
    ctrl: Arc<Controller>,
    index: u32,
) -> Result<Registration<CardFirmware>> {
    let name = CString::try_from_fmt(fmt!("ocxlpmem{index}"))?;
    Registration::register(
        dev,
        &name,
        CardFirmware {
            ctrl,
            dev: dev.into(),
            cancelled: AtomicBool::new(false),
            image_len: AtomicUsize::new(0),
        },
    )
}

impl CardFirmware {
    /// The reason an update command failed, logged with the card's error.
    fn failed(&self, what: &str, e: error::Error) -> UploadError {
        dev_err!(self.dev, "firmware update: {what}: {}\n", ProtocolError(e));
        match firmware::UpdateFailure::of(&e) {
            firmware::UpdateFailure::Busy => UploadError::Busy,
            firmware::UpdateFailure::InvalidImage => UploadError::FwInvalid,
            firmware::UpdateFailure::InvalidSize => UploadError::InvalidSize,
            firmware::UpdateFailure::Timeout => UploadError::Timeout,
            firmware::UpdateFailure::Device => UploadError::HwError,
        }
    }

    /// Runs one update command, unless the upload was cancelled or the
    /// card failed.
    fn command<R>(
        &self,
        what: &str,
        f: impl FnOnce(&mut super::Window<'_>, &mut super::admin::AdminMailbox) -> error::Result<R>,
    ) -> Result<R, UploadError> {
        if self.cancelled.load(Ordering::Acquire) {
            return Err(UploadError::Canceled);
        }
        if self.ctrl.dead.load(Ordering::Acquire) {
            return Err(UploadError::HwError);
        }
        let mut failure = None;
        let r = self
            .ctrl
            .with(|w, mb| f(w, mb).inspect_err(|e| failure = Some(*e)));
        match (r, failure) {
            (Ok(v), _) => Ok(v),
            (Err(_), Some(e)) => Err(self.failed(what, e)),
            (Err(_), None) => Err(UploadError::RwError),
        }
    }
}

#[vtable]
impl Operations for CardFirmware {
    fn prepare(&self, image: &[u8]) -> Result<(), UploadError> {
        if let Err(e) = firmware::check_image(image.len()) {
            self.cancelled.store(false, Ordering::Release);
            return Err(self.failed("image refused", e));
        }
        // A cancel before the upload started still counts.
        if self.cancelled.swap(false, Ordering::AcqRel) {
            return Err(UploadError::Canceled);
        }
        self.image_len.store(image.len(), Ordering::Relaxed);
        dev_info!(self.dev, "firmware update: {} bytes\n", image.len());
        Ok(())
    }

    fn write(&self, image: &[u8], offset: usize) -> Result<usize, UploadError> {
        self.command("block", |w, mb| {
            firmware::write_block(w, mb, &mut Sleeper, image, offset)
        })
    }

    fn poll_complete(&self) -> Result<(), UploadError> {
        // Every block is written: the card checks the image now.
        let len = self.image_len.load(Ordering::Relaxed);
        self.command("image", |w, mb| firmware::commit(w, mb, &mut Sleeper, len))?;
        dev_info!(
            self.dev,
            "firmware update: image accepted, runs after a card reset\n"
        );
        Ok(())
    }

    fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
    }

    fn cleanup(&self) {
        self.cancelled.store(false, Ordering::Release);
    }
}
