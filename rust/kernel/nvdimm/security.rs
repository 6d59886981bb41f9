// SPDX-License-Identifier: GPL-2.0

//! DIMM security operations (`struct nvdimm_security_ops`).
//!
//! The core drives them: it asks for the security state when a DIMM is
//! created (inside `__nvdimm_create()`, before the device exists), unlocks
//! a DIMM with the key `nvdimm:<id>` when its driver probes, runs the
//! operations userspace writes to `nmemN/security` with the bus's device
//! and reconfiguration locks held, and polls an overwrite from delayed
//! work. A provider implements the `security_*` methods of
//! [`Provider`] and gives a DIMM the operations with
//! [`DimmFeatures::security`](super::DimmFeatures::security).
//!
//! The operations reach only the provider's data: the delayed overwrite
//! query is cancelled by `nvdimm_delete()`, which
//! `nvdimm_bus_unregister()` calls for every DIMM before the [`Bus`]
//! drops its data.

use super::{Bus, DimmEntry, Provider};
use crate::{bindings, impl_flags, prelude::*};

/// A DIMM passphrase: the 32 bytes of `struct nvdimm_key_data`, which the
/// core takes from an encrypted key (or zeroes for "no key"). It is only
/// lent to a callback, and has no `Debug`, so that it is not printed.
#[repr(transparent)]
pub struct Passphrase(bindings::nvdimm_key_data);

impl Passphrase {
    /// Bytes of a passphrase (`NVDIMM_PASSPHRASE_LEN`).
    pub const LEN: usize = bindings::NVDIMM_PASSPHRASE_LEN as usize;

    /// A passphrase of the given bytes (for tests and for providers that
    /// keep a passphrase of their own).
    pub fn new(data: [u8; Self::LEN]) -> Self {
        Self(bindings::nvdimm_key_data { data })
    }

    /// The passphrase bytes.
    pub fn as_bytes(&self) -> &[u8; Self::LEN] {
        &self.0.data
    }

    /// The passphrase the core hands a callback.
    ///
    /// # Safety
    ///
    /// `key` points to a `struct nvdimm_key_data` that stays valid and
    /// unchanged for `'a` (the core holds the key's semaphore, or it is a
    /// static zero key, for the duration of the callback).
    unsafe fn from_raw<'a>(key: *const bindings::nvdimm_key_data) -> &'a Self {
        // SAFETY: `Passphrase` is a transparent wrapper of the struct; the
        // caller vouches for the pointer.
        unsafe { &*key.cast::<Self>() }
    }
}

/// Which passphrase an operation is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PassphraseKind {
    /// The user passphrase (`NVDIMM_USER`).
    User,
    /// The master passphrase (`NVDIMM_MASTER`).
    Master,
}

impl PassphraseKind {
    fn from_raw(kind: bindings::nvdimm_passphrase_type) -> Self {
        if kind == bindings::nvdimm_passphrase_type_NVDIMM_MASTER {
            Self::Master
        } else {
            Self::User
        }
    }
}

impl_flags!(
    /// A DIMM's security state, as the core keeps it (`nmemN/security`
    /// shows the first of overwrite, disabled, unlocked, locked;
    /// `nmemN/frozen` the frozen flag). An empty set means "no security"
    /// (or a failed query): the core then hides both attributes. At most
    /// one of disabled, unlocked, locked and overwrite may be set (the core
    /// warns otherwise).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct SecurityFlags(u64);

    /// One security state flag (`NVDIMM_SECURITY_*`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum SecurityFlag {
        /// Security is not enabled.
        Disabled = 1 << bindings::nvdimm_security_bits_NVDIMM_SECURITY_DISABLED,
        /// Enabled and unlocked.
        Unlocked = 1 << bindings::nvdimm_security_bits_NVDIMM_SECURITY_UNLOCKED,
        /// Enabled and locked.
        Locked = 1 << bindings::nvdimm_security_bits_NVDIMM_SECURITY_LOCKED,
        /// The security state cannot change until the next reset.
        Frozen = 1 << bindings::nvdimm_security_bits_NVDIMM_SECURITY_FROZEN,
        /// An overwrite is in progress.
        Overwrite = 1 << bindings::nvdimm_security_bits_NVDIMM_SECURITY_OVERWRITE,
    }
);

impl SecurityFlags {
    pub(super) fn bits(self) -> u64 {
        self.0
    }
}

/// The core's result of an operation.
fn status(r: Result) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

impl<P: Provider> Bus<P> {
    /// The security operations of a DIMM with
    /// [`DimmFeatures::security`](super::DimmFeatures::security): a
    /// callback for each `security_*` method the provider implements.
    pub(super) const SECURITY_OPS: bindings::nvdimm_security_ops = bindings::nvdimm_security_ops {
        get_flags: if P::HAS_SECURITY_FLAGS {
            Some(Self::get_flags_callback)
        } else {
            None
        },
        freeze: if P::HAS_SECURITY_FREEZE {
            Some(Self::freeze_callback)
        } else {
            None
        },
        change_key: if P::HAS_SECURITY_CHANGE_KEY {
            Some(Self::change_key_callback)
        } else {
            None
        },
        unlock: if P::HAS_SECURITY_UNLOCK {
            Some(Self::unlock_callback)
        } else {
            None
        },
        disable: if P::HAS_SECURITY_DISABLE {
            Some(Self::disable_callback)
        } else {
            None
        },
        erase: if P::HAS_SECURITY_ERASE {
            Some(Self::erase_callback)
        } else {
            None
        },
        overwrite: if P::HAS_SECURITY_OVERWRITE {
            Some(Self::overwrite_callback)
        } else {
            None
        },
        query_overwrite: if P::HAS_SECURITY_QUERY_OVERWRITE {
            Some(Self::query_overwrite_callback)
        } else {
            None
        },
        disable_master: if P::HAS_SECURITY_DISABLE_MASTER {
            Some(Self::disable_master_callback)
        } else {
            None
        },
    };

    /// The operations, as the `'static` data the core keeps a pointer to.
    pub(super) const fn security_ops() -> &'static bindings::nvdimm_security_ops {
        &Self::SECURITY_OPS
    }

    /// The bus and the provider data of a DIMM.
    ///
    /// # Safety
    ///
    /// `nvdimm` is a DIMM created by `add_dimm` of a live `Bus<P>` (its
    /// provider data is set before the core calls any operation, even
    /// inside `__nvdimm_create()`).
    pub(super) unsafe fn of_nvdimm<'a>(nvdimm: *mut bindings::nvdimm) -> (&'a Self, &'a P::Dimm) {
        // SAFETY: Per the safety requirements, the provider data is a
        // pinned `DimmEntry<P>`, which the bus keeps (and cancels the core's
        // work on the DIMM) until the bus is unregistered.
        let entry = unsafe { &*super::dimm_data(nvdimm).cast::<DimmEntry<P>>() };
        // SAFETY: The entry's bus owns it and so outlives it.
        let bus = unsafe { &*entry.bus };
        (bus, &entry.data)
    }

    /// # Safety
    ///
    /// Called by the core only, for a DIMM created with these operations.
    unsafe extern "C" fn get_flags_callback(
        nvdimm: *mut bindings::nvdimm,
        kind: bindings::nvdimm_passphrase_type,
    ) -> c_ulong {
        // SAFETY: Per the function's safety requirements.
        let (bus, dimm) = unsafe { Self::of_nvdimm(nvdimm) };
        // SAFETY: `nvdimm` is a live DIMM; the call reads one flag bit.
        let overwriting = unsafe { bindings::nvdimm_in_overwrite(nvdimm) } != 0;
        let flags = bus
            .provider
            .security_flags(dimm, PassphraseKind::from_raw(kind), overwriting);
        flags.bits() as c_ulong
    }

    /// # Safety
    ///
    /// As [`Self::get_flags_callback`].
    unsafe extern "C" fn freeze_callback(nvdimm: *mut bindings::nvdimm) -> c_int {
        // SAFETY: Per the function's safety requirements.
        let (bus, dimm) = unsafe { Self::of_nvdimm(nvdimm) };
        status(bus.provider.security_freeze(dimm))
    }

    /// # Safety
    ///
    /// As [`Self::get_flags_callback`]; the keys are valid for the call.
    unsafe extern "C" fn change_key_callback(
        nvdimm: *mut bindings::nvdimm,
        old: *const bindings::nvdimm_key_data,
        new: *const bindings::nvdimm_key_data,
        kind: bindings::nvdimm_passphrase_type,
    ) -> c_int {
        // SAFETY: Per the function's safety requirements.
        let (bus, dimm) = unsafe { Self::of_nvdimm(nvdimm) };
        // SAFETY: The core holds both keys for the call.
        let (old, new) = unsafe { (Passphrase::from_raw(old), Passphrase::from_raw(new)) };
        status(
            bus.provider
                .security_change_key(dimm, old, new, PassphraseKind::from_raw(kind)),
        )
    }

    /// # Safety
    ///
    /// As [`Self::change_key_callback`].
    unsafe extern "C" fn unlock_callback(
        nvdimm: *mut bindings::nvdimm,
        key: *const bindings::nvdimm_key_data,
    ) -> c_int {
        // SAFETY: Per the function's safety requirements.
        let (bus, dimm) = unsafe { Self::of_nvdimm(nvdimm) };
        // SAFETY: The core holds the key for the call.
        let key = unsafe { Passphrase::from_raw(key) };
        status(bus.provider.security_unlock(dimm, key))
    }

    /// # Safety
    ///
    /// As [`Self::change_key_callback`].
    unsafe extern "C" fn disable_callback(
        nvdimm: *mut bindings::nvdimm,
        key: *const bindings::nvdimm_key_data,
    ) -> c_int {
        // SAFETY: Per the function's safety requirements.
        let (bus, dimm) = unsafe { Self::of_nvdimm(nvdimm) };
        // SAFETY: The core holds the key for the call.
        let key = unsafe { Passphrase::from_raw(key) };
        status(bus.provider.security_disable(dimm, key))
    }

    /// # Safety
    ///
    /// As [`Self::change_key_callback`].
    unsafe extern "C" fn erase_callback(
        nvdimm: *mut bindings::nvdimm,
        key: *const bindings::nvdimm_key_data,
        kind: bindings::nvdimm_passphrase_type,
    ) -> c_int {
        // SAFETY: Per the function's safety requirements.
        let (bus, dimm) = unsafe { Self::of_nvdimm(nvdimm) };
        // SAFETY: The core holds the key for the call.
        let key = unsafe { Passphrase::from_raw(key) };
        status(
            bus.provider
                .security_erase(dimm, key, PassphraseKind::from_raw(kind)),
        )
    }

    /// # Safety
    ///
    /// As [`Self::change_key_callback`].
    unsafe extern "C" fn overwrite_callback(
        nvdimm: *mut bindings::nvdimm,
        key: *const bindings::nvdimm_key_data,
    ) -> c_int {
        // SAFETY: Per the function's safety requirements.
        let (bus, dimm) = unsafe { Self::of_nvdimm(nvdimm) };
        // SAFETY: The core holds the key for the call.
        let key = unsafe { Passphrase::from_raw(key) };
        status(bus.provider.security_overwrite(dimm, key))
    }

    /// # Safety
    ///
    /// As [`Self::get_flags_callback`]. Runs from the core's delayed work,
    /// which `nvdimm_delete()` cancels before the bus data goes.
    unsafe extern "C" fn query_overwrite_callback(nvdimm: *mut bindings::nvdimm) -> c_int {
        // SAFETY: Per the function's safety requirements.
        let (bus, dimm) = unsafe { Self::of_nvdimm(nvdimm) };
        status(bus.provider.security_query_overwrite(dimm))
    }

    /// # Safety
    ///
    /// As [`Self::change_key_callback`].
    unsafe extern "C" fn disable_master_callback(
        nvdimm: *mut bindings::nvdimm,
        key: *const bindings::nvdimm_key_data,
    ) -> c_int {
        // SAFETY: Per the function's safety requirements.
        let (bus, dimm) = unsafe { Self::of_nvdimm(nvdimm) };
        // SAFETY: The core holds the key for the call.
        let key = unsafe { Passphrase::from_raw(key) };
        status(bus.provider.security_disable_master(dimm, key))
    }
}
