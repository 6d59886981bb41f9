// SPDX-License-Identifier: GPL-2.0

//! Lock debugging reports provoked from safe Rust.
//!
//! The borrow checker proves memory safety; it knows nothing of lock order
//! or of atomic context. This module makes both mistakes in safe code when
//! its `provoke` parameter asks for one, so that a test harness can prove it
//! fails a run on the reports of `CONFIG_PROVE_LOCKING` and
//! `CONFIG_DEBUG_ATOMIC_SLEEP`:
//!
//! - `provoke=1`: takes mutex A then B, then B then A, one after the other
//!   in one thread. Nothing deadlocks, but lockdep has seen both orders and
//!   reports a possible circular locking dependency.
//! - `provoke=2`: calls `might_sleep()` while holding a spinlock: "sleeping
//!   function called from invalid context" with this file and line.
//!
//! With `provoke=0` (the default) it loads and does nothing; any other value
//! is refused with `EINVAL`. The module always unloads cleanly.

use kernel::{
    new_mutex, new_spinlock,
    prelude::*,
    sync::{Mutex, SpinLock},
    task::might_sleep,
};

module! {
    type: RustLockDebug,
    name: "rust_lock_debug",
    authors: ["nvdimm-rs developers"],
    description: "Lock debugging reports provoked from safe Rust",
    license: "GPL",
    params: {
        provoke: u32 {
            default: 0,
            description: "1: lock-order inversion (lockdep), 2: might_sleep() under a spinlock",
        },
    },
}

#[pin_data]
struct Locks {
    #[pin]
    a: Mutex<u32>,
    #[pin]
    b: Mutex<u32>,
    #[pin]
    atomic: SpinLock<u32>,
}

struct RustLockDebug {
    _locks: Pin<KBox<Locks>>,
}

impl Locks {
    /// A then B, then B then A: each order alone is fine, together they are
    /// an ABBA deadlock waiting for a second thread.
    fn both_orders(&self) {
        {
            let mut a = self.a.lock();
            let mut b = self.b.lock();
            *a += 1;
            *b += 1;
        }
        {
            let mut b = self.b.lock();
            let mut a = self.a.lock();
            *b += 1;
            *a += 1;
        }
    }

    /// might_sleep() with preemption disabled by the spinlock.
    fn sleep_in_atomic(&self) {
        let mut guard = self.atomic.lock();
        *guard += 1;
        might_sleep();
    }
}

impl kernel::Module for RustLockDebug {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let locks = KBox::pin_init(
            pin_init!(Locks {
                a <- new_mutex!(0),
                b <- new_mutex!(0),
                atomic <- new_spinlock!(0),
            }),
            GFP_KERNEL,
        )?;
        match module_parameters::provoke.value() {
            0 => {}
            1 => {
                pr_info!("taking two mutexes in both orders\n");
                locks.both_orders();
            }
            2 => {
                pr_info!("calling might_sleep() under a spinlock\n");
                locks.sleep_in_atomic();
            }
            other => {
                pr_err!("provoke={} is not a case (0, 1 or 2)\n", other);
                return Err(EINVAL);
            }
        }
        Ok(RustLockDebug { _locks: locks })
    }
}
