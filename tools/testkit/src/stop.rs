// SPDX-License-Identifier: GPL-2.0
//! A stop asked for by `SIGINT` or `SIGTERM`, for `nvdimm-harness`: the
//! handler only records the signal, and the loops that wait for a guest
//! poll [`requested`] and end their own child (QEMU or the test VMM) by
//! its handle, so that a harness killed by pid leaves no guest running.
//! A caught signal's handler is reset by `exec`, so children start with
//! the default action and the signal mask they would have had anyway.
//! (`nvdimm-vmm` has its own, `sigwait`-based: its supervisor waits on
//! several things at once.)

use std::sync::atomic::{AtomicI32, Ordering};

/// The stop signal received, 0 if none yet.
static STOP: AtomicI32 = AtomicI32::new(0);

/// Records the signal: an atomic store, async-signal-safe.
extern "C" fn record(sig: libc::c_int) {
    STOP.store(sig, Ordering::SeqCst);
}

/// Installs the handler for `SIGINT` and `SIGTERM` (system calls it
/// interrupts are restarted).
pub fn install() -> std::io::Result<()> {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `sigaction` is plain data, zero is a valid value of every
        // field, and `sigemptyset` initialises the mask; the handler only
        // stores to an atomic, which is async-signal-safe.
        let r = unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = record as extern "C" fn(libc::c_int) as libc::sighandler_t;
            act.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut act.sa_mask);
            libc::sigaction(sig, &act, std::ptr::null_mut())
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The stop signal received, if any.
pub fn requested() -> Option<i32> {
    match STOP.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_is_recorded_not_acted_on() {
        install().unwrap();
        assert_eq!(requested(), None);
        // SAFETY: raising a signal this process handles; the handler has
        // run when raise() returns (a signal sent to the calling thread).
        assert_eq!(unsafe { libc::raise(libc::SIGTERM) }, 0);
        assert_eq!(requested(), Some(libc::SIGTERM));
    }
}
