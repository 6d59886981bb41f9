// SPDX-License-Identifier: GPL-2.0

//! Firmware upload: user space hands a device an image through sysfs.
//!
//! C header: [`include/linux/firmware.h`](srctree/include/linux/firmware.h)
//!
//! A driver registers a [`Registration`] under a unique name; user space then writes `1` to
//! `/sys/class/firmware/NAME/loading`, the image to `NAME/data` and `0` to `NAME/loading`. The
//! firmware loader's worker hands the image to the driver's [`Operations`]:
//! [`prepare`](Operations::prepare) once, [`write`](Operations::write) until every byte is
//! taken, [`poll_complete`](Operations::poll_complete), then [`cleanup`](Operations::cleanup).
//! `NAME/status`, `NAME/error` and `NAME/remaining_size` report the progress and the
//! [`UploadError`] that ended an upload. [`cancel`](Operations::cancel) comes from another
//! thread: `NAME/cancel`, or the registration being dropped.

use crate::{
    bindings, device,
    error::from_err_ptr,
    prelude::*,
    str::{CStr, CStrExt as _, CString},
};
use core::{marker::PhantomData, ptr::NonNull};

/// Why an upload failed: the loader's `enum fw_upload_err`, which user space reads in
/// `NAME/error` (as the name given with each variant).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum UploadError {
    /// The device reported an error (`hw-error`); the driver logs what it was.
    HwError = bindings::fw_upload_err_FW_UPLOAD_ERR_HW_ERROR,
    /// The device did not answer in time (`timeout`).
    Timeout = bindings::fw_upload_err_FW_UPLOAD_ERR_TIMEOUT,
    /// The upload was cancelled (`user-abort`).
    Canceled = bindings::fw_upload_err_FW_UPLOAD_ERR_CANCELED,
    /// The device is busy with other work (`device-busy`).
    Busy = bindings::fw_upload_err_FW_UPLOAD_ERR_BUSY,
    /// The image's size does not suit the device (`invalid-file-size`).
    InvalidSize = bindings::fw_upload_err_FW_UPLOAD_ERR_INVALID_SIZE,
    /// Reading or writing the device failed (`read-write-error`).
    RwError = bindings::fw_upload_err_FW_UPLOAD_ERR_RW_ERROR,
    /// The device's flash is wearing out (`flash-wearout`).
    Wearout = bindings::fw_upload_err_FW_UPLOAD_ERR_WEAROUT,
    /// The device refused the image (`firmware-invalid`).
    FwInvalid = bindings::fw_upload_err_FW_UPLOAD_ERR_FW_INVALID,
}

impl UploadError {
    /// The loader's code for this error.
    pub fn as_raw(self) -> bindings::fw_upload_err {
        self as bindings::fw_upload_err
    }
}

/// The loader's code for an operation's result.
fn to_raw(r: Result<(), UploadError>) -> bindings::fw_upload_err {
    match r {
        Ok(()) => bindings::fw_upload_err_FW_UPLOAD_ERR_NONE,
        Err(e) => e.as_raw(),
    }
}

/// A device's side of firmware upload.
///
/// [`prepare`](Operations::prepare), [`write`](Operations::write),
/// [`poll_complete`](Operations::poll_complete) and [`cleanup`](Operations::cleanup) run one
/// after the other in the loader's worker, one upload at a time; [`cancel`](Operations::cancel)
/// may run on another thread at the same time as any of them.
#[vtable]
pub trait Operations: Send + Sync + Sized {
    /// Gets the device ready for `image`, the whole image user space wrote.
    fn prepare(&self, image: &[u8]) -> Result<(), UploadError>;

    /// Writes a part of the image from `offset` (`offset < image.len()`); returns the bytes
    /// taken, at least one and at most `image.len() - offset`. Called until the whole image
    /// is taken; any other count fails the upload with [`UploadError::RwError`].
    fn write(&self, image: &[u8], offset: usize) -> Result<usize, UploadError>;

    /// Waits for the device to finish with the image (programming, authentication).
    fn poll_complete(&self) -> Result<(), UploadError>;

    /// Asks for the upload under way to stop: the operation running (or the next one) should
    /// fail with [`UploadError::Canceled`].
    fn cancel(&self);

    /// Undoes [`prepare`](Operations::prepare), after an upload that got past it ended, in
    /// success or failure.
    fn cleanup(&self) {
        build_error!(crate::error::VTABLE_DEFAULT_ERROR)
    }
}

/// A firmware upload interface, `/sys/class/firmware/NAME/`, served by `T`.
///
/// Dropping it unregisters the interface: an upload under way is cancelled and waited for, so
/// no operation of `T` runs after the drop, and the data goes with it.
///
/// It must be dropped before the module whose code serves it is unloaded, as a driver's data
/// (dropped when its device is unbound) is: the loader takes no reference on the module, so a
/// module keeping a registration until it exits can still be removed.
///
/// # Invariants
///
/// `fw_upload` is the live registration returned by `firmware_upload_register()` for the
/// name `name`, the operations of `Adapter<T>` and the data at `data`, which is a
/// [`KBox<T>`] turned into a raw pointer and owned by this registration.
pub struct Registration<T: Operations> {
    fw_upload: NonNull<bindings::fw_upload>,
    data: NonNull<T>,
    // The loader keeps a pointer to the name.
    _name: CString,
}

// SAFETY: The registration only gives out `&T`, and `T` is `Send + Sync`; unregistering may
// happen on any thread.
unsafe impl<T: Operations> Send for Registration<T> {}

// SAFETY: `&Registration` only gives out `&T`, and `T` is `Sync`.
unsafe impl<T: Operations> Sync for Registration<T> {}

impl<T: Operations> Registration<T> {
    /// Registers `/sys/class/firmware/NAME/` for the bound device `parent`, served by `data`.
    ///
    /// `name` must be unique among the firmware upload interfaces of the system.
    pub fn register(parent: &device::Device<device::Bound>, name: &CStr, data: T) -> Result<Self> {
        let name = CString::try_from(name)?;
        let data = KBox::into_raw(KBox::new(data, GFP_KERNEL)?);
        // SAFETY: `parent` is a valid device, `name` a NUL-terminated string and the operations
        // a static table; both outlive the registration (the name is kept with it). `data` is
        // the handle the operations get back, valid until after `firmware_upload_unregister()`
        // in `drop`. A null module takes no module reference (see the type's documentation).
        let fw_upload = from_err_ptr(unsafe {
            bindings::firmware_upload_register(
                core::ptr::null_mut(),
                parent.as_raw(),
                name.as_char_ptr(),
                &Adapter::<T>::OPS,
                data.cast(),
            )
        });
        let fw_upload = match fw_upload {
            Ok(p) => p,
            Err(e) => {
                // SAFETY: `data` came from `KBox::into_raw` above and the loader did not keep it.
                drop(unsafe { KBox::from_raw(data) });
                return Err(e);
            }
        };
        Ok(Self {
            // `from_err_ptr` leaves only valid pointers; a null one would be a loader bug.
            fw_upload: NonNull::new(fw_upload).ok_or(EINVAL)?,
            // SAFETY: `KBox::into_raw` never returns null.
            data: unsafe { NonNull::new_unchecked(data) },
            _name: name,
        })
    }

    /// The data that serves the interface.
    pub fn data(&self) -> &T {
        // SAFETY: By the type invariants `data` is a live `KBox<T>` the registration owns, and
        // only shared references to it are given out.
        unsafe { self.data.as_ref() }
    }
}

impl<T: Operations> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariants `fw_upload` is a live registration. Unregistering
        // cancels an upload under way, waits for the loader's worker and removes the sysfs
        // files (waiting for their callers): no operation runs on `data` after this.
        unsafe { bindings::firmware_upload_unregister(self.fw_upload.as_ptr()) };
        // SAFETY: By the type invariants `data` came from `KBox::into_raw`; nothing uses it any
        // more.
        drop(unsafe { KBox::from_raw(self.data.as_ptr()) });
    }
}

/// The loader's operation table for `T`.
struct Adapter<T: Operations>(PhantomData<T>);

impl<T: Operations> Adapter<T> {
    const OPS: bindings::fw_upload_ops = bindings::fw_upload_ops {
        prepare: Some(Self::prepare),
        write: Some(Self::write),
        poll_complete: Some(Self::poll_complete),
        cancel: Some(Self::cancel),
        cleanup: if T::HAS_CLEANUP {
            Some(Self::cleanup)
        } else {
            None
        },
    };

    /// The data of the registration of `fw_upload`.
    ///
    /// # Safety
    ///
    /// `fw_upload` is valid and its `dd_handle` points to a `T` that stays valid for `'a`.
    unsafe fn data<'a>(fw_upload: *mut bindings::fw_upload) -> &'a T {
        // SAFETY: Guaranteed by the caller.
        unsafe { &*(*fw_upload).dd_handle.cast::<T>() }
    }

    /// The image the loader holds.
    ///
    /// # Safety
    ///
    /// `data` points to `len` readable bytes that stay valid and unchanged for `'a`, or `len`
    /// is zero.
    unsafe fn image<'a>(data: *const u8, len: usize) -> &'a [u8] {
        if data.is_null() || len == 0 {
            return &[];
        }
        // SAFETY: Guaranteed by the caller.
        unsafe { core::slice::from_raw_parts(data, len) }
    }

    /// # Safety
    ///
    /// Called by the loader with the `fw_upload` of a [`Registration<T>`] (whose `dd_handle` is
    /// its data, valid until the registration is dropped, which waits for the worker) and the
    /// image, `size` bytes at `data`, which the loader keeps until its worker ends.
    unsafe extern "C" fn prepare(
        fw_upload: *mut bindings::fw_upload,
        data: *const u8,
        size: u32,
    ) -> bindings::fw_upload_err {
        // SAFETY: See the function's safety section.
        let (ops, image) = unsafe { (Self::data(fw_upload), Self::image(data, size as usize)) };
        to_raw(ops.prepare(image))
    }

    /// # Safety
    ///
    /// As [`Adapter::prepare`]; the image is `offset + size` bytes at `data`, of which `size`
    /// are left to write; `written` is valid for writes.
    unsafe extern "C" fn write(
        fw_upload: *mut bindings::fw_upload,
        data: *const u8,
        offset: u32,
        size: u32,
        written: *mut u32,
    ) -> bindings::fw_upload_err {
        let offset = offset as usize;
        let Some(len) = offset.checked_add(size as usize) else {
            return UploadError::RwError.as_raw();
        };
        // SAFETY: See the function's safety section.
        let (ops, image) = unsafe { (Self::data(fw_upload), Self::image(data, len)) };
        if offset >= image.len() {
            return UploadError::RwError.as_raw();
        }
        let n = match ops.write(image, offset) {
            // More than was left would make the loader's count wrap around.
            Ok(n) if n <= size as usize => n as u32,
            Ok(_) => return UploadError::RwError.as_raw(),
            Err(e) => return e.as_raw(),
        };
        // SAFETY: See the function's safety section.
        unsafe { written.write(n) };
        bindings::fw_upload_err_FW_UPLOAD_ERR_NONE
    }

    /// # Safety
    ///
    /// As [`Adapter::prepare`], for `fw_upload`.
    unsafe extern "C" fn poll_complete(
        fw_upload: *mut bindings::fw_upload,
    ) -> bindings::fw_upload_err {
        // SAFETY: See the function's safety section.
        to_raw(unsafe { Self::data(fw_upload) }.poll_complete())
    }

    /// # Safety
    ///
    /// As [`Adapter::prepare`], for `fw_upload`; the loader calls it under its lock, from
    /// `NAME/cancel` or from `firmware_upload_unregister()` before it waits for the worker.
    unsafe extern "C" fn cancel(fw_upload: *mut bindings::fw_upload) {
        // SAFETY: See the function's safety section.
        unsafe { Self::data(fw_upload) }.cancel();
    }

    /// # Safety
    ///
    /// As [`Adapter::prepare`], for `fw_upload`.
    unsafe extern "C" fn cleanup(fw_upload: *mut bindings::fw_upload) {
        // SAFETY: See the function's safety section.
        unsafe { Self::data(fw_upload) }.cleanup();
    }
}

#[macros::kunit_tests(rust_firmware_upload)]
mod tests {
    use super::*;
    use crate::faux;
    use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// Takes `block` bytes per write, or claims `claim` bytes when set.
    struct Blocks {
        block: usize,
        claim: Option<usize>,
        seen: AtomicUsize,
        cancelled: AtomicBool,
    }

    impl Blocks {
        fn new(block: usize, claim: Option<usize>) -> Self {
            Self {
                block,
                claim,
                seen: AtomicUsize::new(0),
                cancelled: AtomicBool::new(false),
            }
        }
    }

    #[vtable]
    impl Operations for Blocks {
        fn prepare(&self, image: &[u8]) -> Result<(), UploadError> {
            if image.is_empty() {
                return Err(UploadError::InvalidSize);
            }
            Ok(())
        }

        fn write(&self, image: &[u8], offset: usize) -> Result<usize, UploadError> {
            if self.cancelled.load(Ordering::Relaxed) {
                return Err(UploadError::Canceled);
            }
            self.seen.store(image.len(), Ordering::Relaxed);
            Ok(self
                .claim
                .unwrap_or_else(|| self.block.min(image.len() - offset)))
        }

        fn poll_complete(&self) -> Result<(), UploadError> {
            Err(UploadError::FwInvalid)
        }

        fn cancel(&self) {
            self.cancelled.store(true, Ordering::Relaxed);
        }
    }

    /// Calls the write trampoline as the loader does.
    fn write(ops: &Blocks, image: &[u8], offset: u32) -> (bindings::fw_upload_err, u32) {
        let mut fw_upload = bindings::fw_upload {
            dd_handle: core::ptr::from_ref(ops).cast_mut().cast(),
            priv_: core::ptr::null_mut(),
        };
        let mut written = 0;
        // SAFETY: `fw_upload`'s handle is `ops`, alive for the call; the image is `image`, of
        // which `offset` bytes are written; `written` is a local.
        let r = unsafe {
            Adapter::<Blocks>::write(
                &mut fw_upload,
                image.as_ptr(),
                offset,
                image.len() as u32 - offset,
                &mut written,
            )
        };
        (r, written)
    }

    #[test]
    fn codes_are_the_loaders() {
        assert_eq!(to_raw(Ok(())), bindings::fw_upload_err_FW_UPLOAD_ERR_NONE);
        assert_eq!(
            to_raw(Err(UploadError::Busy)),
            bindings::fw_upload_err_FW_UPLOAD_ERR_BUSY
        );
        assert_eq!(
            UploadError::FwInvalid.as_raw(),
            bindings::fw_upload_err_FW_UPLOAD_ERR_FW_INVALID
        );
    }

    #[test]
    fn write_sees_the_whole_image_and_counts() {
        let image = [0u8; 40];
        let ops = Blocks::new(16, None);
        assert_eq!(write(&ops, &image, 0), (0, 16));
        assert_eq!(ops.seen.load(Ordering::Relaxed), 40);
        assert_eq!(write(&ops, &image, 32), (0, 8));
        ops.cancel();
        assert_eq!(
            write(&ops, &image, 16),
            (bindings::fw_upload_err_FW_UPLOAD_ERR_CANCELED, 0)
        );
    }

    #[test]
    fn write_cannot_claim_more_than_is_left() {
        let image = [0u8; 16];
        let ops = Blocks::new(8, Some(9));
        assert_eq!(
            write(&ops, &image, 8),
            (bindings::fw_upload_err_FW_UPLOAD_ERR_RW_ERROR, 0)
        );
    }

    #[test]
    fn registers_and_unregisters() -> Result {
        let owner = faux::Registration::new(c"rust_firmware_upload_kunit", None)?;
        let faux: &faux::Device<device::Bound> = owner.as_ref();
        let reg =
            Registration::register(faux.as_ref(), c"rust-fw-upload-kunit", Blocks::new(8, None))?;
        assert_eq!(reg.data().block, 8);
        drop(reg);
        // The name is free again once dropped.
        let again =
            Registration::register(faux.as_ref(), c"rust-fw-upload-kunit", Blocks::new(4, None))?;
        assert_eq!(again.data().block, 4);
        Ok(())
    }
}
