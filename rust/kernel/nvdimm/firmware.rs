// SPDX-License-Identifier: GPL-2.0

//! Firmware activation (`struct nvdimm_bus_fw_ops`, `struct
//! nvdimm_fw_ops`): a new firmware image, staged on the DIMMs through the
//! provider's own pass-through commands, is armed per DIMM
//! (`nmemN/firmware/activate`) and activated for the whole bus
//! (`ndbusN/firmware/activate`), with or without quiescing the system.
//!
//! A bus gets the bus operations when its provider says so at registration
//! ([`Provider::firmware_activation`]); a DIMM gets the DIMM operations
//! with [`DimmFeatures::firmware`](super::DimmFeatures::firmware). The core
//! calls them from sysfs: some with `nvdimm_bus_lock` held, the bus
//! activation possibly with every process frozen
//! (`hibernate_quiet_exec()`), the capability query even while the bus or a
//! DIMM is being registered (it decides whether the `firmware` attributes
//! are visible). So they get only the provider and the DIMM's data, never
//! the [`Bus`].

use super::{Bus, Provider};
use crate::{bindings, prelude::*, types::Opaque};

/// The activation state of the bus or of a DIMM (`enum nvdimm_fwa_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum FirmwareState {
    /// Unknown (a failed query).
    Invalid = bindings::nvdimm_fwa_state_NVDIMM_FWA_INVALID,
    /// Nothing armed.
    Idle = bindings::nvdimm_fwa_state_NVDIMM_FWA_IDLE,
    /// Armed for activation.
    Armed = bindings::nvdimm_fwa_state_NVDIMM_FWA_ARMED,
    /// An activation is running.
    Busy = bindings::nvdimm_fwa_state_NVDIMM_FWA_BUSY,
    /// Armed, but activating may take longer than the platform's quiesce
    /// time (bus only).
    ArmOverflow = bindings::nvdimm_fwa_state_NVDIMM_FWA_ARM_OVERFLOW,
}

/// How the bus can activate firmware (`enum nvdimm_fwa_capability`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum FirmwareCapability {
    /// Unknown (a failed query): the `firmware` attributes are hidden.
    Invalid = bindings::nvdimm_fwa_capability_NVDIMM_FWA_CAP_INVALID,
    /// No activation: hidden as well.
    None = bindings::nvdimm_fwa_capability_NVDIMM_FWA_CAP_NONE,
    /// Activation needs the system quiesced.
    Quiesce = bindings::nvdimm_fwa_capability_NVDIMM_FWA_CAP_QUIESCE,
    /// Activation may run live.
    Live = bindings::nvdimm_fwa_capability_NVDIMM_FWA_CAP_LIVE,
}

/// The result of a DIMM's last activation (`enum nvdimm_fwa_result`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum FirmwareResult {
    /// Unknown (a failed query).
    Invalid = bindings::nvdimm_fwa_result_NVDIMM_FWA_RESULT_INVALID,
    /// No activation happened.
    None = bindings::nvdimm_fwa_result_NVDIMM_FWA_RESULT_NONE,
    /// The new firmware runs.
    Success = bindings::nvdimm_fwa_result_NVDIMM_FWA_RESULT_SUCCESS,
    /// No firmware was staged.
    NotStaged = bindings::nvdimm_fwa_result_NVDIMM_FWA_RESULT_NOTSTAGED,
    /// The firmware runs after the next reset.
    NeedReset = bindings::nvdimm_fwa_result_NVDIMM_FWA_RESULT_NEEDRESET,
    /// The activation failed.
    Fail = bindings::nvdimm_fwa_result_NVDIMM_FWA_RESULT_FAIL,
}

/// What a write to `nmemN/firmware/activate` asks (`enum
/// nvdimm_fwa_trigger`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirmwareTrigger {
    /// "arm".
    Arm,
    /// "disarm".
    Disarm,
}

impl<P: Provider> Bus<P> {
    /// The bus's firmware activation operations.
    pub(super) const BUS_FW_OPS: bindings::nvdimm_bus_fw_ops = bindings::nvdimm_bus_fw_ops {
        activate_state: Some(Self::bus_fwa_state_callback),
        capability: Some(Self::bus_fwa_capability_callback),
        activate: Some(Self::bus_fwa_activate_callback),
    };

    /// A DIMM's firmware activation operations.
    pub(super) const DIMM_FW_OPS: bindings::nvdimm_fw_ops = bindings::nvdimm_fw_ops {
        activate_state: Some(Self::dimm_fwa_state_callback),
        activate_result: Some(Self::dimm_fwa_result_callback),
        arm: Some(Self::dimm_fwa_arm_callback),
    };

    /// The bus operations, as the `'static` data the core keeps a pointer to.
    pub(super) const fn bus_fw_ops() -> &'static bindings::nvdimm_bus_fw_ops {
        &Self::BUS_FW_OPS
    }

    /// The DIMM operations, as `'static` data.
    pub(super) const fn dimm_fw_ops() -> &'static bindings::nvdimm_fw_ops {
        &Self::DIMM_FW_OPS
    }

    /// The provider of a bus descriptor.
    ///
    /// # Safety
    ///
    /// `nd_desc` is the `desc` of a live `Bus<P>` (registered or being
    /// registered: the provider is initialised before the descriptor is
    /// handed to the core).
    unsafe fn provider_of<'a>(nd_desc: *mut bindings::nvdimm_bus_descriptor) -> &'a P {
        // SAFETY: Per the safety requirements.
        let bus = unsafe { &*crate::container_of!(Opaque::cast_from(nd_desc), Self, desc) };
        &bus.provider
    }

    /// # Safety
    ///
    /// Called by the core only, with the descriptor of a `Bus<P>` that
    /// registered these operations.
    unsafe extern "C" fn bus_fwa_state_callback(
        nd_desc: *mut bindings::nvdimm_bus_descriptor,
    ) -> bindings::nvdimm_fwa_state {
        // SAFETY: Per the function's safety requirements.
        let provider = unsafe { Self::provider_of(nd_desc) };
        provider.firmware_activate_state() as bindings::nvdimm_fwa_state
    }

    /// # Safety
    ///
    /// As [`Self::bus_fwa_state_callback`].
    unsafe extern "C" fn bus_fwa_capability_callback(
        nd_desc: *mut bindings::nvdimm_bus_descriptor,
    ) -> bindings::nvdimm_fwa_capability {
        // SAFETY: Per the function's safety requirements.
        let provider = unsafe { Self::provider_of(nd_desc) };
        provider.firmware_capability() as bindings::nvdimm_fwa_capability
    }

    /// # Safety
    ///
    /// As [`Self::bus_fwa_state_callback`].
    unsafe extern "C" fn bus_fwa_activate_callback(
        nd_desc: *mut bindings::nvdimm_bus_descriptor,
    ) -> c_int {
        // SAFETY: Per the function's safety requirements.
        let provider = unsafe { Self::provider_of(nd_desc) };
        match provider.firmware_activate() {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by the core only, for a DIMM created with these operations.
    unsafe extern "C" fn dimm_fwa_state_callback(
        nvdimm: *mut bindings::nvdimm,
    ) -> bindings::nvdimm_fwa_state {
        // SAFETY: Per the function's safety requirements.
        let (bus, dimm) = unsafe { Self::of_nvdimm(nvdimm) };
        bus.provider.dimm_firmware_state(dimm) as bindings::nvdimm_fwa_state
    }

    /// # Safety
    ///
    /// As [`Self::dimm_fwa_state_callback`].
    unsafe extern "C" fn dimm_fwa_result_callback(
        nvdimm: *mut bindings::nvdimm,
    ) -> bindings::nvdimm_fwa_result {
        // SAFETY: Per the function's safety requirements.
        let (bus, dimm) = unsafe { Self::of_nvdimm(nvdimm) };
        bus.provider.dimm_firmware_result(dimm) as bindings::nvdimm_fwa_result
    }

    /// # Safety
    ///
    /// As [`Self::dimm_fwa_state_callback`].
    unsafe extern "C" fn dimm_fwa_arm_callback(
        nvdimm: *mut bindings::nvdimm,
        trigger: bindings::nvdimm_fwa_trigger,
    ) -> c_int {
        // SAFETY: Per the function's safety requirements.
        let (bus, dimm) = unsafe { Self::of_nvdimm(nvdimm) };
        let trigger = if trigger == bindings::nvdimm_fwa_trigger_NVDIMM_FWA_ARM {
            FirmwareTrigger::Arm
        } else {
            FirmwareTrigger::Disarm
        };
        match bus.provider.dimm_firmware_arm(dimm, trigger) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }
}
