// SPDX-License-Identifier: GPL-2.0

//! Eventfd contexts: the kernel side of an eventfd a process hands to a
//! driver (with an ioctl, say), through which the driver signals it.
//!
//! C header: [`include/linux/eventfd.h`](srctree/include/linux/eventfd.h)

use crate::{bindings, error::from_err_ptr, prelude::*};
use core::ptr::NonNull;

/// A reference to an eventfd's context.
///
/// # Invariants
///
/// `self.0` points to an `eventfd_ctx` this value holds a reference on.
pub struct EventFd(NonNull<bindings::eventfd_ctx>);

impl EventFd {
    /// The eventfd behind the calling process's file descriptor `fd`;
    /// `EBADF` when there is no such descriptor, `EINVAL` when it is not an
    /// eventfd.
    pub fn from_fd(fd: i32) -> Result<Self> {
        // SAFETY: Looks `fd` up in the current process's table; the result
        // is a referenced context or an error pointer.
        let ctx = from_err_ptr(unsafe { bindings::eventfd_ctx_fdget(fd) })?;
        // INVARIANT: `eventfd_ctx_fdget` took a reference for us.
        NonNull::new(ctx).map(Self).ok_or(EINVAL)
    }

    /// Adds one to the counter and wakes the eventfd's readers. May be
    /// called from any context, interrupt handlers included, but not from
    /// within another eventfd's wakeup.
    pub fn signal(&self) {
        // SAFETY: The context is referenced (type invariant).
        unsafe { bindings::eventfd_signal_mask(self.0.as_ptr(), 0) };
    }
}

impl Drop for EventFd {
    fn drop(&mut self) {
        // SAFETY: Drops the reference taken in `from_fd`.
        unsafe { bindings::eventfd_ctx_put(self.0.as_ptr()) };
    }
}

// SAFETY: An eventfd context reference may be used and dropped from any
// thread.
unsafe impl Send for EventFd {}
// SAFETY: `signal` may be called concurrently.
unsafe impl Sync for EventFd {}
