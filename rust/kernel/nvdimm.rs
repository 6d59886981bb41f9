// SPDX-License-Identifier: GPL-2.0

//! libnvdimm bus providers.
//!
//! A provider registers an nvdimm bus, creates DIMMs on it (each optionally
//! with a label area) and persistent-memory or volatile regions over them;
//! the core then offers namespaces to userspace (`ndctl`) and to the pmem,
//! BTT and DAX drivers.
//!
//! [`Bus`] is the registration: it owns the bus descriptor, the provider's
//! data and the data of every DIMM and region, and unregisters the bus when
//! dropped. Unregistering the bus removes its regions, then its DIMMs, and
//! waits for commands in flight, so the teardown order is the core's and no
//! callback can see freed provider data. The callbacks are the [`Provider`]
//! trait; commands arrive typed and with every length already checked.
//!
//! C headers: [`include/linux/libnvdimm.h`](srctree/include/linux/libnvdimm.h),
//! [`include/uapi/linux/ndctl.h`](srctree/include/uapi/linux/ndctl.h).
//!
//! Reference: <https://docs.kernel.org/driver-api/nvdimm/nvdimm.html>

pub mod cmd;
pub mod cookie;
pub mod firmware;
#[cfg(CONFIG_PPC_PSERIES)]
pub mod papr;
#[cfg(CONFIG_PERF_EVENTS)]
pub mod pmu;
pub mod security;
pub mod sysfs;

use crate::{
    bindings,
    device,
    device::property::FwNode,
    error::to_result,
    impl_flags,
    prelude::*,
    str::CString,
    sync::{aref::ARef, Completion, Mutex, MutexGuard},
    types::Opaque,
    ThisModule, //
};
use core::{
    marker::PhantomData,
    mem::ManuallyDrop,
    ops::{Deref, DerefMut},
    ptr::{self, NonNull},
    sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering},
};

pub use cmd::{
    CallPackage, ConfigSize, DimmCommand, DimmCommandKind, DimmCommands, LabelArea, NativeCommand,
};
pub use cookie::{fletcher64, InterleaveSet};
pub use firmware::{FirmwareCapability, FirmwareResult, FirmwareState, FirmwareTrigger};
pub use security::{Passphrase, PassphraseKind, SecurityFlag, SecurityFlags};
pub use sysfs::{Attribute, AttributeOutput, Mode, NoAttributes};

/// A family of DIMM commands passed through with `ND_CMD_CALL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Family {
    /// Intel DSM interface (also what QEMU's vNVDIMM implements).
    Intel = bindings::NVDIMM_FAMILY_INTEL,
    /// HPE DSM interface, first revision.
    Hpe1 = bindings::NVDIMM_FAMILY_HPE1,
    /// HPE DSM interface, second revision.
    Hpe2 = bindings::NVDIMM_FAMILY_HPE2,
    /// Microsoft DSM interface.
    Msft = bindings::NVDIMM_FAMILY_MSFT,
    /// Hyper-V DSM interface.
    Hyperv = bindings::NVDIMM_FAMILY_HYPERV,
    /// PAPR SCM (pseries) PDSM interface.
    Papr = bindings::NVDIMM_FAMILY_PAPR,
    /// OpenCAPI persistent memory (`ND_CMD_OCXL_SMART`).
    Ocxl = bindings::NVDIMM_FAMILY_OCXL,
}

impl Family {
    /// The bitmask of a set of families, as `dimm_family_mask` holds it.
    #[inline]
    pub const fn mask(families: &[Family]) -> u64 {
        let mut mask = 0u64;
        let mut i = 0;
        while i < families.len() {
            mask |= 1 << families[i] as u32;
            i += 1;
        }
        mask
    }
}

/// The online NUMA node nearest to `node` (C's `numa_map_to_online_node()`),
/// for a region's `numa_node` when the memory's own node may be offline;
/// `NUMA_NO_NODE` (-1) stays so, as does any node without NUMA support.
#[inline]
pub fn nearest_online_node(node: i32) -> i32 {
    #[cfg(CONFIG_NUMA)]
    {
        let valid = u32::try_from(node).is_ok_and(|n| n < bindings::MAX_NUMNODES);
        if !valid {
            return bindings::NUMA_NO_NODE;
        }
        // SAFETY: A lookup in the node masks, for a node number in range.
        unsafe { bindings::numa_nearest_node(node, bindings::node_states_N_ONLINE) }
    }
    #[cfg(not(CONFIG_NUMA))]
    node
}

/// The node that memory hot-added at physical address `addr` would join
/// (C's `memory_add_physaddr_to_nid()`): the node of the firmware's memory
/// block holding `addr`, else the first block's; 0 without NUMA support.
/// The fallback for a region whose platform description names no node.
#[inline]
pub fn memory_node(addr: u64) -> i32 {
    #[cfg(CONFIG_NUMA)]
    {
        // SAFETY: A lookup in the boot-time memory block table, for any
        // address; nothing is dereferenced on the caller's behalf.
        unsafe { bindings::memory_add_physaddr_to_nid(addr) }
    }
    #[cfg(not(CONFIG_NUMA))]
    {
        let _ = addr;
        0
    }
}

/// The node the firmware gives the reserved (not system RAM) memory at
/// `addr`, such as persistent memory (C's `phys_to_target_node()`);
/// `NUMA_NO_NODE` when it names none; 0 without NUMA support.
#[inline]
pub fn reserved_memory_node(addr: u64) -> i32 {
    #[cfg(CONFIG_NUMA)]
    {
        // SAFETY: A lookup in the boot-time reserved memory block table,
        // for any address.
        unsafe { bindings::phys_to_target_node(addr) }
    }
    #[cfg(not(CONFIG_NUMA))]
    {
        let _ = addr;
        0
    }
}

/// Options of a bus registration.
pub struct BusOptions<'a> {
    /// Name shown as the bus `provider` (for example `ACPI.NFIT`); the bus
    /// keeps a copy.
    pub provider_name: &'a CStr,
    /// Device-tree node of the bus (`ndbusN/of_node`); libndctl reads its
    /// `compatible` to recognise a PAPR SCM DIMM. The bus holds a reference.
    pub of_node: Option<&'a FwNode>,
    /// Families whose `ND_CMD_CALL` commands DIMMs of this bus accept.
    pub dimm_families: &'static [Family],
    /// Bus commands the provider serves ([`Provider::bus_command`]).
    pub bus_commands: BusCommands,
    /// Bus families whose bus-level `ND_CMD_CALL` packages the provider
    /// accepts (with [`BusCommandKind::Call`]).
    pub bus_families: BusFamilies,
}

impl_flags!(
    /// The commands a bus serves (the descriptor's `cmd_mask`).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct BusCommands(u64);

    /// One command to the bus itself.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum BusCommandKind {
        /// `ND_CMD_ARS_CAP`.
        ArsCap = 1 << bindings::ND_CMD_ARS_CAP,
        /// `ND_CMD_ARS_START`.
        ArsStart = 1 << bindings::ND_CMD_ARS_START,
        /// `ND_CMD_ARS_STATUS`.
        ArsStatus = 1 << bindings::ND_CMD_ARS_STATUS,
        /// `ND_CMD_CLEAR_ERROR`.
        ClearError = 1 << bindings::ND_CMD_CLEAR_ERROR,
        /// `ND_CMD_CALL`.
        Call = 1 << bindings::ND_CMD_CALL,
    }
);

impl BusCommands {
    /// The commands among `mask`'s bits, by `ND_CMD_*` number (bit `n` for
    /// command `n`); other bits are dropped. For a platform whose own
    /// function numbers are the command numbers, as ACPI's root `_DSM` is.
    pub fn from_command_numbers(mask: u64) -> Self {
        Self(mask & Self::all_bits())
    }

    fn bits(self) -> u64 {
        self.0
    }
}

impl BusCommandKind {
    /// The command of an `ND_CMD_*` number the bus may be asked.
    #[inline]
    fn from_number(cmd: u32) -> Option<Self> {
        [
            Self::ArsCap,
            Self::ArsStart,
            Self::ArsStatus,
            Self::ClearError,
            Self::Call,
        ]
        .into_iter()
        .find(|k| (*k as u64) == 1u64.checked_shl(cmd).unwrap_or(0))
    }

    /// The `ND_CMD_*` number (which is also the function number of ACPI's
    /// root `_DSM` for the same command).
    pub fn number(self) -> u32 {
        (self as u64).trailing_zeros()
    }
}

impl_flags!(
    /// Families of bus-level `ND_CMD_CALL` packages (`bus_family_mask`).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct BusFamilies(u64);

    /// One bus-level family.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum BusFamily {
        /// `NVDIMM_BUS_FAMILY_NFIT`: ACPI root `_DSM` functions by number.
        Nfit = 1 << bindings::NVDIMM_BUS_FAMILY_NFIT,
        /// `NVDIMM_BUS_FAMILY_INTEL`: the Intel root `_DSM` (firmware
        /// activation).
        Intel = 1 << bindings::NVDIMM_BUS_FAMILY_INTEL,
    }
);

impl BusFamilies {
    fn bits(self) -> u64 {
        self.0
    }
}

/// A command to the bus itself rather than to one of its DIMMs.
pub enum BusCommand<'a> {
    /// [`BusCommandKind::ArsCap`], [`BusCommandKind::ArsStart`],
    /// [`BusCommandKind::ArsStatus`] or [`BusCommandKind::ClearError`]:
    /// `buf` is the whole `struct nd_cmd_*` (input fields, then output
    /// fields, as `include/uapi/linux/ndctl.h` lays them out), as long as
    /// the caller made it; its layout is not checked here.
    Fixed {
        /// Which command.
        kind: BusCommandKind,
        /// The command buffer.
        buf: &'a mut [u8],
    },
    /// `ND_CMD_CALL` with one of [`BusOptions::bus_families`].
    Call(CallPackage<'a>),
}

/// The callbacks of a bus provider.
///
/// The core may call them concurrently, for different DIMMs or for the same
/// one (an ioctl and a DIMM probe are not serialised), and they may sleep.
/// They must not re-enter the core for the same bus (for example by adding
/// a DIMM from a command). The core has checked nothing that arrives here;
/// this layer has checked every length and offset before a provider sees a
/// slice.
#[vtable]
pub trait Provider: Send + Sync + Sized {
    /// What the provider keeps for each DIMM.
    type Dimm: Send + Sync;
    /// What the provider keeps for each region.
    type Region: Send + Sync;

    /// The sysfs attributes of the bus itself (`ndbusN/<group>/`);
    /// [`NoAttributes`] for none.
    type BusAttribute: Attribute;

    /// The sysfs attributes every DIMM of the bus gets
    /// (`nmemN/<group>/`); [`NoAttributes`] for none. DIMM attributes are
    /// read-only whatever their mode says.
    type DimmAttribute: Attribute;

    /// The sysfs attributes every region of the bus gets
    /// (`regionN/<group>/`, C's `nd_region_desc.attr_groups`);
    /// [`NoAttributes`] for none. Read-only whatever their mode says.
    type RegionAttribute: Attribute;

    /// Reads `out.len()` bytes at `offset` of the DIMM's label area. The
    /// range lies within the [`LabelArea`] the DIMM was created with (any
    /// range for [`LabelArea::UNSIZED`]), and is at most its `max_xfer`
    /// bytes long when the core reads labels.
    fn read_labels(&self, _dimm: &Self::Dimm, _offset: u32, _out: &mut [u8]) -> Result {
        Err(ENOTTY)
    }

    /// Writes `data` at `offset` of the DIMM's label area (range checked as
    /// for [`Provider::read_labels`]).
    fn write_labels(&self, _dimm: &Self::Dimm, _offset: u32, _data: &[u8]) -> Result {
        Err(ENOTTY)
    }

    /// Answers `ND_CMD_GET_CONFIG_SIZE` for a DIMM with a label area by
    /// asking the DIMM, each time the core or userspace asks. Without it,
    /// the [`LabelArea`] the DIMM was created with is the answer, with
    /// status 0.
    fn config_size(&self, _dimm: &Self::Dimm) -> Result<ConfigSize> {
        Err(ENOTTY)
    }

    /// Handles an `ND_CMD_CALL` package of one of the bus's families. The
    /// function number in it is not validated.
    fn call(&self, _dimm: &Self::Dimm, _pkg: &mut CallPackage<'_>) -> Result {
        Err(ENOTTY)
    }

    /// Shows a bus attribute.
    fn show_bus_attribute(
        &self,
        _attr: Self::BusAttribute,
        _out: &mut AttributeOutput<'_>,
    ) -> Result {
        Err(ENOTTY)
    }

    /// Shows a DIMM attribute of a DIMM.
    /// The output holds one page; writing past it fails.
    fn show_dimm_attribute(
        &self,
        _dimm: &Self::Dimm,
        _attr: Self::DimmAttribute,
        _out: &mut AttributeOutput<'_>,
    ) -> Result {
        Err(ENOTTY)
    }

    /// Shows a region attribute of a region.
    /// The output holds one page; writing past it fails.
    fn show_region_attribute(
        &self,
        _region: &Self::Region,
        _attr: Self::RegionAttribute,
        _out: &mut AttributeOutput<'_>,
    ) -> Result {
        Err(ENOTTY)
    }

    /// Whether a DIMM attribute exists for a DIMM (asked once, when the
    /// DIMM is registered).
    fn dimm_attribute_visible(&self, _dimm: &Self::Dimm, _attr: Self::DimmAttribute) -> bool {
        true
    }

    /// Serves a bus command (one of [`BusOptions::bus_commands`]). Returns
    /// the command's status for in-kernel callers (0, or a negative errno
    /// translated from the firmware's status, which stays in the buffer for
    /// user space); an error fails the command itself.
    ///
    /// The core holds the bus's device lock and `nvdimm_bus_lock` around a
    /// command, so it gets a [`LockedBus`]: what is safe under those locks.
    /// A command that arrives while [`Bus::register`] is still running
    /// fails with `EBUSY` without reaching the provider.
    fn bus_command(&self, _bus: &LockedBus<'_, Self>, _cmd: BusCommand<'_>) -> Result<i32> {
        Err(ENOTTY)
    }

    /// Handles a write of a bus attribute (one with a writable [`Mode`]);
    /// `data` is what was written. Runs in the writer's
    /// process without any lock of the core held, so it may add DIMMs or
    /// notify regions; a write during [`Bus::register`] fails with `EBUSY`
    /// without reaching the provider.
    fn store_bus_attribute(
        &self,
        _bus: &Bus<Self>,
        _attr: Self::BusAttribute,
        _data: &[u8],
    ) -> Result {
        Err(EINVAL)
    }

    /// Whether a bus attribute exists on this bus (asked once, when the bus
    /// is registered).
    fn bus_attribute_visible(&self, _attr: Self::BusAttribute) -> bool {
        true
    }

    /// Makes writes to a region durable, for regions created with
    /// [`RegionOptions::async_flush`]. Called in process context; may sleep.
    fn flush(&self, _region: &Self::Region) -> Result {
        Err(ENOTTY)
    }

    /// Serves a native DIMM command, one of the DIMM's
    /// [`DimmFeatures::commands`]; its buffer is checked against the core's
    /// layout for it. Returns the command's status for in-kernel callers (0,
    /// or a negative errno translated from the firmware's status, which
    /// stays in the output for user space); an error fails the command
    /// itself.
    fn dimm_command(&self, _dimm: &Self::Dimm, _cmd: NativeCommand<'_>) -> Result<i32> {
        Err(ENOTTY)
    }

    /// The DIMM's security state for `kind`'s passphrase (`get_flags` of
    /// `nvdimm_security_ops`); `overwriting` says whether the core has an
    /// overwrite in progress on it. Empty: no security, or the query
    /// failed. Called for DIMMs with [`DimmFeatures::security`], also
    /// while the DIMM is being created (before it has a device).
    fn security_flags(
        &self,
        _dimm: &Self::Dimm,
        _kind: PassphraseKind,
        _overwriting: bool,
    ) -> SecurityFlags {
        SecurityFlags::empty()
    }

    /// Freezes the DIMM's security state until the next reset.
    fn security_freeze(&self, _dimm: &Self::Dimm) -> Result {
        Err(EOPNOTSUPP)
    }

    /// Changes the `kind` passphrase from `old` to `new` (the core also
    /// sends the same key twice to check it).
    fn security_change_key(
        &self,
        _dimm: &Self::Dimm,
        _old: &Passphrase,
        _new: &Passphrase,
        _kind: PassphraseKind,
    ) -> Result {
        Err(EOPNOTSUPP)
    }

    /// Unlocks the DIMM (the core does it when the DIMM's driver probes,
    /// with the key named after [`DimmFeatures::id`]).
    fn security_unlock(&self, _dimm: &Self::Dimm, _key: &Passphrase) -> Result {
        Err(EOPNOTSUPP)
    }

    /// Disables the user passphrase.
    fn security_disable(&self, _dimm: &Self::Dimm, _key: &Passphrase) -> Result {
        Err(EOPNOTSUPP)
    }

    /// Erases the DIMM (secure erase) with the `kind` passphrase.
    fn security_erase(
        &self,
        _dimm: &Self::Dimm,
        _key: &Passphrase,
        _kind: PassphraseKind,
    ) -> Result {
        Err(EOPNOTSUPP)
    }

    /// Starts an overwrite of the DIMM; the core then polls
    /// [`Provider::security_query_overwrite`] from delayed work.
    fn security_overwrite(&self, _dimm: &Self::Dimm, _key: &Passphrase) -> Result {
        Err(EOPNOTSUPP)
    }

    /// Whether the overwrite is done: `Ok`, `EBUSY` while it runs (the core
    /// asks again later), another error when it failed.
    fn security_query_overwrite(&self, _dimm: &Self::Dimm) -> Result {
        Err(EOPNOTSUPP)
    }

    /// Disables the master passphrase.
    fn security_disable_master(&self, _dimm: &Self::Dimm, _key: &Passphrase) -> Result {
        Err(EOPNOTSUPP)
    }

    /// Whether the bus offers firmware activation (`nvdimm_bus_fw_ops`);
    /// asked once, before the bus is registered.
    fn firmware_activation(&self) -> bool {
        false
    }

    /// The bus's firmware activation state (`ndbusN/firmware/activate`).
    fn firmware_activate_state(&self) -> FirmwareState {
        FirmwareState::Invalid
    }

    /// How the bus activates firmware; below
    /// [`FirmwareCapability::Quiesce`] the `firmware` attributes of the bus
    /// and its DIMMs are hidden. Also asked while the bus and its DIMMs are
    /// being registered.
    fn firmware_capability(&self) -> FirmwareCapability {
        FirmwareCapability::Invalid
    }

    /// Activates the armed firmware of the bus's DIMMs; may run with every
    /// process frozen.
    fn firmware_activate(&self) -> Result {
        Err(EOPNOTSUPP)
    }

    /// A DIMM's firmware activation state, for DIMMs with
    /// [`DimmFeatures::firmware`].
    fn dimm_firmware_state(&self, _dimm: &Self::Dimm) -> FirmwareState {
        FirmwareState::Invalid
    }

    /// The result of a DIMM's last activation.
    fn dimm_firmware_result(&self, _dimm: &Self::Dimm) -> FirmwareResult {
        FirmwareResult::Invalid
    }

    /// Arms or disarms a DIMM for the next activation.
    fn dimm_firmware_arm(&self, _dimm: &Self::Dimm, _trigger: FirmwareTrigger) -> Result {
        Err(EOPNOTSUPP)
    }
}

/// The bus as [`Provider::bus_command`] sees it.
///
/// The core runs a command with the bus's device lock and `nvdimm_bus_lock`
/// held. Region probe takes a region's device lock and then
/// `nvdimm_bus_lock`, so notifying a region from here could deadlock, and
/// adding a DIMM or region would wait for a probe that waits for these
/// locks. This handle offers only what takes neither: the provider, bad
/// ranges and attribute notifications.
pub struct LockedBus<'a, P: Provider>(&'a Bus<P>);

impl<P: Provider> LockedBus<'_, P> {
    /// The provider's data.
    pub fn provider(&self) -> &P {
        &self.0.provider
    }

    /// As [`Bus::add_badrange`] (the core's bad-range list has its own
    /// spinlock).
    pub fn add_badrange(&self, start: u64, len: u64) -> Result {
        self.0.add_badrange(start, len)
    }

    /// As [`Bus::notify_bus_attribute`].
    pub fn notify_bus_attribute(&self, attr: P::BusAttribute) {
        self.0.notify_bus_attribute(attr)
    }
}

/// Options of a DIMM.
#[derive(Clone, Copy, Debug, Default)]
pub struct DimmOptions<'a> {
    /// The DIMM's label area, if it has one. Requires
    /// [`Provider::read_labels`]; without [`Provider::write_labels`] the area
    /// is read-only. [`LabelArea::UNSIZED`] also requires
    /// [`Provider::config_size`].
    pub label_area: Option<LabelArea>,
    /// The DIMM is known to hold namespace labels (`NDD_LABELING`): its
    /// regions offer labelled namespaces from the start. Without it the core
    /// sets the flag itself once it finds a valid label index (the C NFIT
    /// driver relies on that).
    pub labeling: bool,
    /// The DIMM cannot guarantee persistence: its regions become read-only.
    pub unarmed: bool,
    /// The DIMM accepts `ND_CMD_CALL` (requires [`Provider::call`]).
    pub call: bool,
    /// Physical addresses of the DIMM's flush hints (write-pending-queue
    /// flush registers, eight bytes each): the core maps them when one of
    /// the DIMM's regions is enabled and writes them on every region flush.
    /// A hint in system RAM or persistent memory fails the DIMM (`EBUSY`).
    pub flush_hints: &'a [u64],
}

/// What a DIMM offers besides its label area and pass-through: native
/// commands, a name for its key, security and firmware activation
/// operations. [`Bus::add_dimm_with`] takes it; [`Bus::add_dimm`] gives a
/// DIMM none of it.
#[derive(Clone, Copy, Debug, Default)]
pub struct DimmFeatures<'a> {
    /// Native commands the DIMM serves (requires
    /// [`Provider::dimm_command`]); they join its command mask.
    pub commands: DimmCommands,
    /// The DIMM's id (C's `dimm_id`): the core requests the key
    /// `nvdimm:<id>` to unlock it, as `ndctl` names the keys it stores. At
    /// most [`MAX_DIMM_ID_LEN`] bytes; the bus keeps a copy.
    pub id: Option<&'a CStr>,
    /// The DIMM gets security operations: the `security_*` methods the
    /// provider implements (the others are left out, as a C provider leaves
    /// out an operation it does not have). Requires
    /// [`Provider::security_flags`], which the core always calls.
    pub security: bool,
    /// The DIMM gets firmware activation operations (the
    /// `dimm_firmware_*` methods).
    pub firmware: bool,
    /// The DIMM's label area is read-only even though the provider writes
    /// labels (`ND_CMD_SET_CONFIG_DATA` is left out of its commands): the
    /// C NFIT driver's `force_labels` for a DIMM without `_LSW`.
    pub labels_read_only: bool,
}

/// Longest DIMM id: the core formats `nvdimm:<id>` into a buffer of
/// `NVDIMM_KEY_DESC_LEN` bytes after the prefix, terminator included.
pub const MAX_DIMM_ID_LEN: usize = bindings::NVDIMM_KEY_DESC_LEN as usize - 1;

/// Most flush hints a DIMM may have (the core uses a power of two of them,
/// chosen per CPU; firmware tables may list more, which gain nothing).
pub const MAX_FLUSH_HINTS: usize = 256;

impl DimmOptions<'_> {
    /// The `NDD_*` flags of the DIMM.
    #[inline]
    fn flags(&self) -> u64 {
        // Registered synchronously, so a failed device_add cannot free the
        // DIMM behind the bus's back.
        let mut flags = 1 << bindings::NDD_REGISTER_SYNC;
        if self.labeling {
            flags |= 1 << bindings::NDD_LABELING;
        }
        if self.unarmed {
            flags |= 1 << bindings::NDD_UNARMED;
        }
        flags
    }

    /// The `ND_CMD_*` mask of the DIMM, given which callbacks exist and its
    /// native commands.
    #[inline]
    fn cmd_mask(&self, can_write: bool, commands: DimmCommands) -> u64 {
        let mut mask = commands.bits();
        if self.label_area.is_some() {
            mask |= 1 << bindings::ND_CMD_GET_CONFIG_SIZE | 1 << bindings::ND_CMD_GET_CONFIG_DATA;
            if can_write {
                mask |= 1 << bindings::ND_CMD_SET_CONFIG_DATA;
            }
        }
        if self.call {
            mask |= 1 << bindings::ND_CMD_CALL;
        }
        mask
    }
}

/// Which media a region is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionKind {
    /// Persistent memory.
    Pmem,
    /// Volatile memory exposed through the nvdimm stack.
    Volatile,
}

/// Where writes become persistent (the region's `persistence_domain`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Persistence {
    /// CPU caches are flushed on power loss (`ND_REGION_PERSIST_CACHE`).
    CpuCache,
    /// The memory controller's buffers are (`ND_REGION_PERSIST_MEMCTRL`).
    MemoryController,
}

/// Identifies a DIMM of a [`Bus`]. It names the bus it came from: another
/// bus does not accept it (its lookups fail with `EINVAL` or `None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DimmId {
    bus: u64,
    index: usize,
}

/// Identifies a region of a [`Bus`]; like [`DimmId`], only its own bus
/// accepts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionId {
    bus: u64,
    index: usize,
}

/// Serial numbers of registrations, which brand their ids. Never reused (a
/// 64-bit counter does not wrap).
static BUS_SERIAL: AtomicU64 = AtomicU64::new(1);

/// One DIMM's part of a region.
#[derive(Clone, Copy, Debug)]
pub struct Mapping {
    /// The DIMM.
    pub dimm: DimmId,
    /// Offset of this part within the DIMM's capacity (page aligned).
    pub start: u64,
    /// Size of this part (page aligned).
    pub size: u64,
    /// Position of the DIMM in the interleave set.
    pub position: i32,
}

/// Options of a region.
pub struct RegionOptions<'a> {
    /// Persistent or volatile.
    pub kind: RegionKind,
    /// Physical address of the region. Page alignment is the provider's
    /// policy: the core takes any address (C's NFIT driver registers a
    /// firmware range as it is), though namespaces need aligned ones. Whatever the
    /// provider passes, the region only gets memory that the platform
    /// describes as persistent memory in `/proc/iomem`, or physical address
    /// space nothing else uses, which the region then claims there as
    /// "Persistent Memory" until the bus is gone (what C's NFIT driver
    /// does); anything else, system RAM first, fails with `EBUSY`.
    pub start: u64,
    /// Size of the region in bytes (not zero; alignment as for `start`).
    pub size: u64,
    /// The DIMMs behind the region (at most `ND_MAX_MAPPINGS`; none for a
    /// range whose DIMMs the firmware failed to describe, which C's NFIT
    /// driver registers all the same).
    pub mappings: &'a [Mapping],
    /// NUMA node of the memory (`NUMA_NO_NODE` is -1).
    pub numa_node: i32,
    /// Node the memory would have as system RAM.
    pub target_node: i32,
    /// Interleave-set cookies, checked against namespace labels.
    pub interleave_set: Option<InterleaveSet>,
    /// Where writes become persistent, if known.
    pub persistence: Option<Persistence>,
    /// Writes are made durable by [`Provider::flush`] (`ND_REGION_ASYNC`).
    pub async_flush: bool,
    /// Namespaces may be mapped with struct pages (`ND_REGION_PAGEMAP`).
    pub pagemap: bool,
    /// Device-tree node of the region (`regionN/of_node`); the bus holds a
    /// reference until it is unregistered.
    pub of_node: Option<&'a FwNode>,
}

/// A reference to one sysfs attribute file whose pollers (`poll()` for
/// `POLLPRI`, as `ndctl monitor` does) can be woken with [`notify`]. Holds
/// the file's kernfs node, not the bus: it may outlive both, and then wakes
/// nobody.
///
/// [`notify`]: AttributeNotifier::notify
pub struct AttributeNotifier(NonNull<bindings::kernfs_node>);

impl AttributeNotifier {
    /// Wakes the attribute's pollers (`sysfs_notify_dirent()`).
    pub fn notify(&self) {
        // SAFETY: The node is referenced (type invariant); kernfs_notify()
        // may be called from any context.
        unsafe { bindings::kernfs_notify(self.0.as_ptr()) };
    }
}

impl Drop for AttributeNotifier {
    fn drop(&mut self) {
        // SAFETY: Drops the reference the lookup took.
        unsafe { bindings::kernfs_put(self.0.as_ptr()) };
    }
}

// SAFETY: A kernfs node reference may be used and dropped from any thread.
unsafe impl Send for AttributeNotifier {}
// SAFETY: `notify` is safe to call concurrently.
unsafe impl Sync for AttributeNotifier {}

/// The mapping type of persistent memory: write-back where the architecture
/// can write cache lines back to the persistence domain
/// (`CONFIG_ARCH_HAS_PMEM_API`, as the pmem driver's `ARCH_MEMREMAP_PMEM`),
/// write-through elsewhere.
#[cfg(CONFIG_ARCH_HAS_PMEM_API)]
const PMEM_MAPPING: u32 = bindings::MEMREMAP_WB;
#[cfg(not(CONFIG_ARCH_HAS_PMEM_API))]
const PMEM_MAPPING: u32 = bindings::MEMREMAP_WT;

/// Writes `len` bytes at `addr` back to the persistence domain.
///
/// # Safety
///
/// `addr..addr + len` is mapped.
unsafe fn write_back(addr: *mut u8, len: usize) {
    #[cfg(CONFIG_ARCH_HAS_PMEM_API)]
    // SAFETY: Per the function's safety requirements.
    unsafe {
        bindings::arch_wb_cache_pmem(addr.cast(), len)
    };
    // A write-through mapping has nothing to write back.
    #[cfg(not(CONFIG_ARCH_HAS_PMEM_API))]
    let _ = (addr, len);
}

/// A mapping of persistent memory a provider owns outside its regions (the
/// label area of a device that keeps its labels in its own media), with
/// bounds-checked copies, each made under the mapping's own lock, so
/// concurrent readers and writers (a DIMM probe reading labels while an
/// ioctl writes them) never race; writes reach the persistence domain
/// before they return. Mapped as the pmem driver maps persistent memory
/// (see [`PMEM_MAPPING`]). Unmapped on drop.
///
/// # Invariants
///
/// `addr` maps `size` bytes (`memremap(PMEM_MAPPING)`) until dropped, and is
/// only accessed with `lock` held. If `claimed`, the range is a busy iomem
/// resource of this mapping, released on drop.
pub struct DeviceMemory {
    addr: NonNull<u8>,
    start: u64,
    size: usize,
    claimed: bool,
    lock: Pin<KBox<Mutex<()>>>,
}

impl DeviceMemory {
    /// Claims `size` bytes of memory at physical address `start` for the
    /// caller alone and maps them. The range may come from a device (a
    /// descriptor the device wrote): it is refused with `EBUSY` if any of
    /// it is system RAM or already claimed by someone else (another
    /// driver, a namespace of a region), so whatever the address, this
    /// mapping is the only user of memory the kernel does not use.
    /// `name` labels the claim in `/proc/iomem`.
    pub fn claim(start: u64, size: usize, name: &'static CStr) -> Result<Self> {
        let len = u64::try_from(size).map_err(|_| EINVAL)?;
        if size == 0 || start.checked_add(len).is_none() {
            return Err(EINVAL);
        }
        if overlaps_system_ram(start, len) {
            return Err(EBUSY);
        }
        let lock = KBox::pin_init(crate::new_mutex!(()), GFP_KERNEL)?;
        // SAFETY: `iomem_resource` is the root of the iomem tree, whose
        // lock the call takes; `name` is static.
        let res = unsafe {
            bindings::__request_region(
                &raw mut bindings::iomem_resource,
                start,
                len,
                name.as_char_ptr(),
                0,
            )
        };
        if res.is_null() {
            return Err(EBUSY);
        }
        // SAFETY: The range is claimed for this mapping alone and is not
        // system RAM (both checked above).
        let addr = unsafe { bindings::memremap(start, size, PMEM_MAPPING as c_ulong) };
        let Some(addr) = NonNull::new(addr.cast::<u8>()) else {
            // SAFETY: Claimed above.
            unsafe { bindings::__release_region(&raw mut bindings::iomem_resource, start, len) };
            return Err(ENOMEM);
        };
        Ok(Self {
            addr,
            start,
            size,
            claimed: true,
            lock,
        })
    }

    /// Maps `size` bytes of device memory at physical address `start`
    /// without claiming them.
    ///
    /// # Safety
    ///
    /// The range is persistent or device memory that belongs to the caller's
    /// device, is not system RAM, and is not used through another mapping
    /// (such as one of the bus's regions) while this one exists.
    pub unsafe fn map(start: u64, size: usize) -> Result<Self> {
        if size == 0 || start.checked_add(size as u64).is_none() {
            return Err(EINVAL);
        }
        let lock = KBox::pin_init(crate::new_mutex!(()), GFP_KERNEL)?;
        // SAFETY: The caller vouches for the range; memremap() checks it
        // against system RAM itself.
        let addr = unsafe { bindings::memremap(start, size, PMEM_MAPPING as c_ulong) };
        let addr = NonNull::new(addr.cast::<u8>()).ok_or(ENOMEM)?;
        Ok(Self {
            addr,
            start,
            size,
            claimed: false,
            lock,
        })
    }

    /// Bytes mapped.
    pub fn len(&self) -> usize {
        self.size
    }

    /// Whether nothing is mapped (never: a mapping has at least one byte).
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    fn range(&self, offset: usize, len: usize) -> Result<*mut u8> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size => {
                // SAFETY: `offset` is within the mapping (checked above).
                Ok(unsafe { self.addr.as_ptr().add(offset) })
            }
            _ => Err(EINVAL),
        }
    }

    /// Copies `out.len()` bytes at `offset` into `out`.
    pub fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        let src = self.range(offset, out.len())?;
        let _guard = self.lock.lock();
        // SAFETY: `src` is valid for `out.len()` bytes of the mapping (type
        // invariant, `range`), which nobody writes while the lock is held;
        // the mapping never overlaps `out`.
        unsafe { ptr::copy_nonoverlapping(src, out.as_mut_ptr(), out.len()) };
        Ok(())
    }

    /// Copies `data` to `offset` and writes it back to the persistence
    /// domain.
    pub fn write(&self, offset: usize, data: &[u8]) -> Result {
        let dst = self.range(offset, data.len())?;
        let _guard = self.lock.lock();
        // SAFETY: As in `read`, with the lock excluding every other access;
        // the memory is only accessed by copies, so no reference to it
        // exists that the write could invalidate.
        unsafe {
            ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len());
            write_back(dst, data.len());
        }
        Ok(())
    }
}

impl Drop for DeviceMemory {
    fn drop(&mut self) {
        // SAFETY: Mapped by `claim` or `map` (type invariant).
        unsafe { bindings::memunmap(self.addr.as_ptr().cast()) };
        if self.claimed {
            // SAFETY: Claimed by `claim` (type invariant); `size` fits in a
            // `u64` (checked there).
            unsafe {
                bindings::__release_region(
                    &raw mut bindings::iomem_resource,
                    self.start,
                    self.size as u64,
                )
            };
        }
    }
}

// SAFETY: The mapping may be used and unmapped from any thread.
unsafe impl Send for DeviceMemory {}
// SAFETY: Every access through `&self` is a copy made with `lock` held.
unsafe impl Sync for DeviceMemory {}

/// Whether any part of `start..start + size` is system RAM, which a region
/// must never hand to the pmem driver. Not generic, so built in once.
fn overlaps_system_ram(start: u64, size: u64) -> bool {
    let Ok(len) = usize::try_from(size) else {
        return true;
    };
    // SAFETY: A query of the iomem resource tree, which takes its own lock.
    let found = unsafe {
        bindings::region_intersects(
            start,
            len,
            bindings::IORESOURCE_SYSTEM_RAM as c_ulong,
            bindings::IORES_DESC_NONE as c_ulong,
        )
    };
    found != bindings::REGION_DISJOINT as c_int
}

/// A "Persistent Memory" iomem resource inserted for a region.
struct IomemClaim(KBox<Opaque<bindings::resource>>);

impl IomemClaim {
    /// Decides whether a region may have `start..start + size` (see
    /// [`RegionOptions::start`]): firmware-described persistent memory is
    /// used as it is (`None`); free address space is claimed for the region
    /// (`Some`); anything else is refused. Not generic, so built in once.
    fn for_region(start: u64, size: u64) -> Result<Option<Self>> {
        let len = usize::try_from(size).map_err(|_| EINVAL)?;
        let end = start.checked_add(size - 1).ok_or(EINVAL)?;
        if overlaps_system_ram(start, size) {
            return Err(EBUSY);
        }
        let covered_by = |desc: u32| {
            // SAFETY: A query of the iomem tree, which takes its own lock.
            unsafe {
                bindings::region_intersects(
                    start,
                    len,
                    bindings::IORESOURCE_MEM as c_ulong,
                    desc as c_ulong,
                )
            }
        };
        let described = bindings::REGION_INTERSECTS as c_int;
        if covered_by(bindings::IORES_DESC_PERSISTENT_MEMORY) == described
            || covered_by(bindings::IORES_DESC_PERSISTENT_MEMORY_LEGACY) == described
        {
            return Ok(None);
        }
        // Any other memory resource there (a device's window, reserved
        // memory) belongs to someone else.
        if covered_by(bindings::IORES_DESC_NONE) != bindings::REGION_DISJOINT as c_int {
            return Err(EBUSY);
        }
        let mut res: bindings::resource = pin_init::zeroed();
        res.name = c"Persistent Memory".as_char_ptr();
        res.start = start;
        res.end = end;
        res.flags = bindings::IORESOURCE_MEM as c_ulong;
        res.desc = bindings::IORES_DESC_PERSISTENT_MEMORY as c_ulong;
        let claim = KBox::new(Opaque::new(res), GFP_KERNEL)?;
        // SAFETY: `claim` is a complete resource at a stable heap address
        // that lives until `drop` removes it from the tree again.
        to_result(unsafe {
            bindings::insert_resource(&raw mut bindings::iomem_resource, claim.get())
        })
        .map_err(|_| EBUSY)?;
        Ok(Some(Self(claim)))
    }
}

/// The resources of a DIMM's flush hints, each checked with
/// [`flush_hint_allowed`]. Not generic, so built in once (as are the
/// vector's methods).
fn flush_hint_resources(hints: &[u64]) -> Result<KVec<bindings::resource>> {
    let mut flush = KVec::with_capacity(hints.len(), GFP_KERNEL)?;
    for &start in hints {
        if !flush_hint_allowed(start) {
            return Err(EBUSY);
        }
        let mut res: bindings::resource = pin_init::zeroed();
        res.start = start;
        // A hint is one 64-bit register.
        res.end = start.checked_add(7).ok_or(EINVAL)?;
        flush.push(res, GFP_KERNEL)?;
    }
    Ok(flush)
}

/// The core's descriptions of a region's mappings; `nvdimm_of` finds the
/// registered DIMM of an id (`None`: not one of this bus's). Not generic,
/// so built in once (as are the vector's methods).
fn mapping_descs(
    mappings: &[Mapping],
    nvdimm_of: &dyn Fn(DimmId) -> Option<*mut bindings::nvdimm>,
) -> Result<KVec<bindings::nd_mapping_desc>> {
    let mut descs = KVec::with_capacity(mappings.len(), GFP_KERNEL)?;
    for m in mappings {
        let mut desc: bindings::nd_mapping_desc = pin_init::zeroed();
        desc.nvdimm = nvdimm_of(m.dimm).ok_or(EINVAL)?;
        desc.start = m.start;
        desc.size = m.size;
        desc.position = m.position;
        descs.push(desc, GFP_KERNEL)?;
    }
    Ok(descs)
}

/// Whether a DIMM's flush hint (an eight-byte register at `addr`) may be
/// handed to the core, which maps and writes it on every region flush:
/// never in system RAM or persistent memory.
fn flush_hint_allowed(addr: u64) -> bool {
    if addr.checked_add(7).is_none() || overlaps_system_ram(addr, 8) {
        return false;
    }
    [
        bindings::IORES_DESC_PERSISTENT_MEMORY,
        bindings::IORES_DESC_PERSISTENT_MEMORY_LEGACY,
    ]
    .into_iter()
    .all(|desc| {
        // SAFETY: A query of the iomem tree, which takes its own lock.
        let found = unsafe {
            bindings::region_intersects(
                addr,
                8,
                bindings::IORESOURCE_MEM as c_ulong,
                desc as c_ulong,
            )
        };
        found == bindings::REGION_DISJOINT as c_int
    })
}

impl IomemClaim {
    /// Takes the claim out of the iomem tree (reached through [`ENTRIES`]).
    fn remove(&mut self) {
        // SAFETY: Inserted by `for_region`; children (namespaces' own
        // claims) are handed to the parent by `remove_resource`.
        unsafe { bindings::remove_resource(self.0.get()) };
    }
}

impl Drop for IomemClaim {
    #[inline]
    fn drop(&mut self) {
        (ENTRIES.iomem_remove)(self);
    }
}

// SAFETY: The resource is only touched under the resource lock, by
// `insert_resource`/`remove_resource`.
unsafe impl Send for IomemClaim {}
// SAFETY: As above; shared references give no access.
unsafe impl Sync for IomemClaim {}

impl RegionOptions<'_> {
    /// The `ND_REGION_*` flags of the region.
    #[inline]
    fn flags(&self) -> u64 {
        let mut flags = 0u64;
        match self.persistence {
            Some(Persistence::CpuCache) => flags |= 1 << bindings::ND_REGION_PERSIST_CACHE,
            Some(Persistence::MemoryController) => {
                flags |= 1 << bindings::ND_REGION_PERSIST_MEMCTRL
            }
            None => {}
        }
        if self.async_flush {
            flags |= 1 << bindings::ND_REGION_ASYNC;
        }
        if self.pagemap {
            flags |= 1 << bindings::ND_REGION_PAGEMAP;
        }
        flags
    }

    /// Checks what the core would reject without saying why, and what the
    /// resource needs (a size, and no wrap).
    #[inline]
    fn validate(&self) -> Result {
        let page = bindings::PAGE_SIZE as u64;
        let aligned = |v: u64| v % page == 0;
        if self.mappings.len() > bindings::ND_MAX_MAPPINGS as usize
            || self.size == 0
            || self.start.checked_add(self.size).is_none()
        {
            return Err(EINVAL);
        }
        for m in self.mappings {
            if m.size == 0 || !aligned(m.start) || !aligned(m.size) {
                return Err(EINVAL);
            }
        }
        Ok(())
    }
}

/// An event a provider reports on a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionEvent {
    /// The bus's bad ranges changed: namespaces re-read their badblocks.
    RevalidatePoison,
    /// The region's configuration changed.
    RevalidateRegion,
}

/// Lets callers pass plain values (or initialisers with any error that
/// converts) where the registration needs an `Error` initialiser.
fn with_error<T, E>(init: impl PinInit<T, E>) -> impl PinInit<T, Error>
where
    Error: From<E>,
{
    let convert = move |slot: *mut T| {
        // SAFETY: `pin_init_from_closure` below hands the closure a valid
        // slot that stays pinned, as `raw_try_init` requires.
        unsafe { pin_init::raw_try_init(slot, init) }.map_err(Error::from)
    };
    // SAFETY: The closure initialises `slot` exactly when `init` does and
    // only converts the error.
    unsafe { pin_init::pin_init_from_closure(convert) }
}

/// What the bus keeps of a DIMM's options, checked; not generic.
struct DimmInfo {
    /// Flush hint resources, read by the core while the DIMM exists.
    flush: KVec<bindings::resource>,
    label: Option<LabelArea>,
    /// The `NDD_*` flags.
    flags: u64,
    cmd_mask: u64,
    families: u64,
    /// The `dimm_id` the core reads (key lookups) while the DIMM exists.
    id: Option<CString>,
}

/// Which optional [`Provider`] methods a provider implements, for the
/// non-generic checks.
#[derive(Clone, Copy)]
struct ProviderCaps {
    dimm_command: bool,
    security_flags: bool,
    read_labels: bool,
    write_labels: bool,
    config_size: bool,
    call: bool,
}

impl ProviderCaps {
    #[inline]
    fn of<P: Provider>() -> Self {
        Self {
            dimm_command: P::HAS_DIMM_COMMAND,
            security_flags: P::HAS_SECURITY_FLAGS,
            read_labels: P::HAS_READ_LABELS,
            write_labels: P::HAS_WRITE_LABELS,
            config_size: P::HAS_CONFIG_SIZE,
            call: P::HAS_CALL,
        }
    }
}

impl DimmInfo {
    /// Checks a new DIMM's options and features against what the provider
    /// implements and copies what the bus keeps (`families`: the bus's).
    fn new(
        options: &DimmOptions<'_>,
        features: &DimmFeatures<'_>,
        caps: ProviderCaps,
        families: u64,
    ) -> Result<Self> {
        if features.commands != DimmCommands::empty() && !caps.dimm_command {
            return Err(EINVAL);
        }
        // The core calls `get_flags` of any security operations it has.
        if features.security && !caps.security_flags {
            return Err(EINVAL);
        }
        let id = match features.id {
            Some(id) if id.to_bytes().len() > MAX_DIMM_ID_LEN => return Err(EINVAL),
            Some(id) => Some(CString::try_from(id)?),
            None => None,
        };
        if let Some(area) = &options.label_area {
            if !caps.read_labels || area.size == 0 || area.max_xfer == 0 {
                return Err(EINVAL);
            }
            // Only the DIMM can answer for an unsized area.
            if *area == LabelArea::UNSIZED && !caps.config_size {
                return Err(EINVAL);
            }
        } else if options.labeling {
            return Err(EINVAL);
        }
        if options.call && !caps.call {
            return Err(EINVAL);
        }
        if options.flush_hints.len() > MAX_FLUSH_HINTS {
            return Err(EINVAL);
        }
        Ok(Self {
            flush: flush_hint_resources(options.flush_hints)?,
            label: options.label_area,
            flags: options.flags(),
            cmd_mask: options.cmd_mask(
                caps.write_labels && !features.labels_read_only,
                features.commands,
            ),
            families,
            id,
        })
    }
}

#[pin_data]
struct DimmEntry<P: Provider> {
    #[pin]
    data: P::Dimm,
    info: DimmInfo,
    bus: *const Bus<P>,
}

/// A counted reference to a device the core created for a bus (a DIMM or a
/// region).
///
/// # Invariants
///
/// The reference on the `struct device` at `.0` is owned by this value.
struct DeviceRef(NonNull<bindings::device>);

impl Drop for DeviceRef {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: Drops the reference this value owns (type invariant).
        unsafe { bindings::put_device(self.0.as_ptr()) };
    }
}

// SAFETY: A device reference may be dropped on any thread.
unsafe impl Send for DeviceRef {}
// SAFETY: Shared references give no access to the device.
unsafe impl Sync for DeviceRef {}

/// Which kind of child of a bus [`find_child`] looks for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ChildKind {
    Dimm,
    Region,
}

/// What [`find_child`] matches: a child of the given kind whose provider
/// data is `data`.
struct ChildQuery {
    kind: ChildKind,
    data: *const c_void,
}

/// `device_find_child()`'s match callback for a [`ChildQuery`].
///
/// # Safety
///
/// `dev` is a live child of a bus device and `query` points to a
/// [`ChildQuery`].
unsafe extern "C" fn match_child(dev: *mut bindings::device, query: *const c_void) -> c_int {
    // SAFETY: Per the function's safety requirements.
    let query = unsafe { &*query.cast::<ChildQuery>() };
    // SAFETY: `dev` is a registered device, so it has a name.
    let name = unsafe { CStr::from_char_ptr(bindings::dev_name(dev)) }.to_bytes();
    // The children of a bus are the core's: `nmemN` DIMMs, `regionN`
    // regions and the `ndctlN` control device; the name tells which type
    // `to_nvdimm()`/`to_nd_region()` may be used on.
    let data = match query.kind {
        // SAFETY: A bus child named `nmem*` is an nvdimm.
        ChildKind::Dimm if name.starts_with(b"nmem") => unsafe {
            bindings::nvdimm_provider_data(bindings::to_nvdimm(dev))
        },
        // SAFETY: A bus child named `region*` is an nd_region.
        ChildKind::Region if name.starts_with(b"region") => unsafe {
            bindings::nd_region_provider_data(bindings::to_nd_region(dev))
        },
        _ => return 0,
    };
    c_int::from(ptr::eq(data.cast_const(), query.data))
}

/// Finds the registered DIMM or region of `bus` whose provider data is
/// `data`, and takes a reference on it. Not generic, so that it is built
/// into the kernel once rather than into each provider.
///
/// The pointer the core's create functions return cannot be trusted for
/// this: a device whose `device_add()` fails is freed (synchronously for a
/// DIMM registered with `NDD_REGISTER_SYNC`, later for a region), and the
/// pointer is returned all the same.
///
/// # Safety
///
/// `bus` is a registered nvdimm bus.
unsafe fn find_child(
    bus: *mut bindings::nvdimm_bus,
    kind: ChildKind,
    data: *const c_void,
) -> Option<DeviceRef> {
    let query = ChildQuery { kind, data };
    // SAFETY: The bus device is alive (the bus is registered); the query
    // outlives the call; `device_find_child()` returns the match with a
    // reference taken, which the `DeviceRef` then owns.
    let dev = unsafe {
        bindings::device_find_child(
            bindings::to_nvdimm_bus_dev(bus),
            ptr::from_ref(&query).cast(),
            Some(match_child),
        )
    };
    NonNull::new(dev).map(DeviceRef)
}

/// A registered DIMM.
///
/// # Invariants
///
/// `nvdimm` is the DIMM that `dev` holds a reference on.
struct DimmSlot<P: Provider> {
    entry: Pin<KBox<DimmEntry<P>>>,
    nvdimm: *mut bindings::nvdimm,
    _dev: DeviceRef,
}

#[pin_data]
struct RegionEntry<P: Provider> {
    #[pin]
    data: P::Region,
    #[pin]
    nd_set: Opaque<bindings::nd_interleave_set>,
    bus: *const Bus<P>,
}

/// A registered region.
///
/// # Invariants
///
/// `region` is the region that `dev` holds a reference on.
struct RegionSlot<P: Provider> {
    entry: Pin<KBox<RegionEntry<P>>>,
    region: *mut bindings::nd_region,
    _dev: DeviceRef,
    _of_node: Option<ARef<FwNode>>,
    /// Dropped with the slot, after the bus is unregistered.
    _iomem: Option<IomemClaim>,
}

/// A counted reference to a device-tree node and the node's address, for a
/// descriptor's `of_node` (null for `None`).
fn of_node_ref(
    node: Option<&FwNode>,
) -> Result<(Option<ARef<FwNode>>, *mut bindings::device_node)> {
    let Some(node) = node else {
        return Ok((None, ptr::null_mut()));
    };
    if !node.is_of_node() {
        return Err(EINVAL);
    }
    // SAFETY: `node` is an OF node, so its `fwnode_handle` is the `fwnode`
    // field of a `struct device_node` (what `to_of_node()` computes).
    let raw = unsafe { crate::container_of!(node.as_raw(), bindings::device_node, fwnode) };
    Ok((Some(ARef::from(node)), raw))
}

/// The lock class of one of a [`Bus`]'s mutexes: a name and a key, each one
/// static item for every provider.
///
/// Lockdep knows a class by its key and warns ("found a different class
/// ... with the same key") when the key comes with another name pointer.
/// `new_mutex!()` in the generic `Bus::new` gets one key (a static in a
/// generic function is one item), but its name literal is emitted again in
/// every module that instantiates `Bus<P>`: the second Rust libnvdimm
/// module to register a bus (or the KUnit fault module after the built-in
/// suites) hit that warning on the debug kernel. Statics in this
/// non-generic scope are emitted once, in the kernel crate.
struct BusLockClass {
    name: &'static CStr,
    key: crate::sync::LockClassKey,
}

impl BusLockClass {
    /// A class named `name`.
    ///
    /// # Safety
    ///
    /// The result is stored in a `static` (the key must never move or drop).
    const unsafe fn new(name: &'static CStr) -> Self {
        Self {
            name,
            // SAFETY: The caller puts the class in a static.
            key: unsafe { crate::sync::LockClassKey::new_static() },
        }
    }

    #[inline]
    fn key(&'static self) -> Pin<&'static crate::sync::LockClassKey> {
        Pin::static_ref(&self.key)
    }
}

// SAFETY: Each class is a static.
static ADDING_LOCK: BusLockClass = unsafe { BusLockClass::new(c"nvdimm::Bus::adding") };
// SAFETY: Each class is a static.
static DIMMS_LOCK: BusLockClass = unsafe { BusLockClass::new(c"nvdimm::Bus::dimms") };
// SAFETY: Each class is a static.
static REGIONS_LOCK: BusLockClass = unsafe { BusLockClass::new(c"nvdimm::Bus::regions") };

/// The part of a [`Bus`] that does not depend on its provider: the core's
/// bus, the owner's devres action and the serialisation of additions.
///
/// Its methods, and the halves of [`Bus::register`], [`Bus::add_dimm_with`]
/// and [`Bus::add_region`] that are not about the provider's data, are not
/// generic: they are built into the kernel once, and a provider module
/// calls one function for each instead of instantiating its dozen calls
/// into the core (on powerpc64 the module loader patches every such call;
/// see `Documentation/nvdimm-rs/papr-scm-rs.rst`, "Load time").
///
/// # Invariants
///
/// - The descriptor `register` is given is registered with
///   `nvdimm_bus_register()`, and `bus` then holds the result until
///   `teardown` swaps it out and unregisters it (from `release`, or from
///   the owner's devres action when the owner unbinds first). `bus_dev`
///   holds a reference on the bus's device from registration until
///   `release`, so the core's bus stays valid memory for a method that
///   loaded `bus` just before a teardown.
/// - While `armed`, the owner has a devres action with this `BusLink` as
///   its data; `release` removes it, or waits for `action_done` if the
///   owner's unbind already took it.
#[pin_data]
struct BusLink {
    bus: AtomicPtr<bindings::nvdimm_bus>,
    bus_dev: AtomicPtr<bindings::device>,
    /// The device whose binding the registration lives in.
    owner: ARef<device::Device>,
    armed: AtomicBool,
    /// Set (under `adding`) when the bus is unregistered.
    torn_down: AtomicBool,
    #[pin]
    action_done: Completion,
    /// Serialises the creation of DIMMs and regions, which runs the core's
    /// synchronous device registration; a `Bus`'s `dimms` and `regions` are
    /// only held for lookups and the final push, never across a call into
    /// the core that can reach a provider callback.
    #[pin]
    adding: Mutex<()>,
    /// The descriptor's `provider_name`, which the core reads until the bus
    /// is unregistered.
    provider_name: CString,
    /// The descriptor's `of_node`, referenced while the bus exists, and its
    /// `struct device_node` (null for `None`).
    of_node: Option<ARef<FwNode>>,
    of_ptr: *mut bindings::device_node,
}

/// A registered nvdimm bus with its provider.
///
/// # Invariants
///
/// - `desc` holds a descriptor whose `ndctl` callback is
///   `Bus::<P>::ndctl_callback`; `link` completes it with the name and node
///   it holds and registers it once the `Bus` is pinned, and `release`s it
///   when the `Bus` is dropped.
/// - `link.bus` is not null whenever provider code can reach a `&Bus`:
///   `register` stores it before it returns the `Bus`, and the callbacks
///   that hand the provider a `&Bus` ([`Provider::bus_command`],
///   [`Provider::store_bus_attribute`]) fail with `EBUSY` while it is null
///   (the core creates the bus's sysfs files and `/dev/ndctlN` inside
///   `nvdimm_bus_register()`, before `register` has the pointer).
/// - Every `nvdimm` in `dimms` and `nd_region` in `regions` belongs to that
///   bus, has its entry (which never moves) as provider data, and is kept
///   alive by the slot's device reference.
/// - `serial` is unique among registrations; the ids of this bus carry it.
#[pin_data(PinnedDrop)]
pub struct Bus<P: Provider> {
    #[pin]
    provider: P,
    #[pin]
    desc: Opaque<bindings::nvdimm_bus_descriptor>,
    #[pin]
    link: BusLink,
    /// `BusOptions::bus_commands` and `bus_families`.
    bus_commands: BusCommands,
    bus_families: BusFamilies,
    families: u64,
    serial: u64,
    #[pin]
    dimms: Mutex<KVec<DimmSlot<P>>>,
    #[pin]
    regions: Mutex<KVec<RegionSlot<P>>>,
    groups: sysfs::BusGroups,
}

/// The functions of this crate that the code instantiated in a provider
/// module (the generic [`Bus`] and the inline wrappers) reaches, called
/// through this table rather than directly.
///
/// On powerpc64 a module's loader writes each direct call into another
/// object with `patch_instruction()`, one instruction word at a time (about
/// 16 us a word under TCG): an eleven-word stub for every distinct function
/// called and two words at every call site. A call through a pointer read
/// from this table costs the loader no instruction word, only the data
/// relocation of the table's address; the price is an indirect call, on
/// paths that are not hot (probe, sysfs, commands). The table's contents are
/// known only in this crate, so the calls made here stay direct. See
/// `Documentation/nvdimm-rs/papr-scm-rs.rst`, "Load time"; `papr`, `pmu` and
/// `crate::mce` keep their own tables for the same reason.
struct Entries {
    follow: unsafe fn(Link, *mut c_void) -> *mut c_void,
    link_init: unsafe fn(*mut BusLink, &device::Device, &BusOptions<'_>) -> Result,
    link_register: unsafe fn(
        &BusLink,
        *mut bindings::nvdimm_bus_descriptor,
        Option<&device::Device>,
    ) -> Result,
    link_release: fn(&BusLink),
    create_dimm: CreateDimm,
    create_region: CreateRegion,
    dimm_info: fn(&DimmOptions<'_>, &DimmFeatures<'_>, ProviderCaps, u64) -> Result<DimmInfo>,
    bus_groups:
        fn(&sysfs::GroupSpec, &sysfs::GroupSpec, &sysfs::GroupSpec) -> Result<sysfs::BusGroups>,
    dimm_command: for<'a> fn(u32, &'a mut [u8], Option<&LabelArea>, u64) -> Result<DimmCommand<'a>>,
    call_package: for<'a> fn(&'a mut [u8], u64) -> Result<CallPackage<'a>>,
    iomem_remove: fn(&mut IomemClaim),
}

/// [`BusLink::create_dimm`].
type CreateDimm = unsafe fn(
    &BusLink,
    &mut dyn ChildTable,
    *mut c_void,
    &DimmInfo,
    *mut *const bindings::attribute_group,
    *const bindings::nvdimm_security_ops,
    *const bindings::nvdimm_fw_ops,
) -> Result<usize>;

/// [`BusLink::create_region`].
type CreateRegion = unsafe fn(
    &BusLink,
    &mut dyn ChildTable,
    &RegionOptions<'_>,
    *mut c_void,
    *mut bindings::nd_interleave_set,
    *mut *const bindings::attribute_group,
    FlushCallback,
) -> Result<usize>;

/// See [`Entries`].
static ENTRIES: Entries = Entries {
    follow,
    link_init: BusLink::init,
    link_register: BusLink::register,
    link_release: BusLink::release,
    create_dimm: BusLink::create_dimm,
    create_region: BusLink::create_region,
    dimm_info: DimmInfo::new,
    bus_groups: sysfs::BusGroups::build,
    // The buffer's lifetime is the impl's, so each method is named through
    // a closure that is generic over it.
    dimm_command: |cmd, buf, label, families| DimmCommand::parse(cmd, buf, label, families),
    call_package: |buf, families| CallPackage::parse(buf, families),
    iomem_remove: IomemClaim::remove,
};

/// A link between core objects that [`follow`] takes.
#[derive(Clone, Copy)]
enum Link {
    /// A bus to its device (`to_nvdimm_bus_dev()`).
    BusDevice,
    /// A bus's device to the bus's descriptor
    /// (`to_nd_desc(to_nvdimm_bus())`).
    DeviceDescriptor,
    /// A DIMM's device to the DIMM (`to_nvdimm()`).
    DeviceDimm,
    /// A DIMM to its provider data (`nvdimm_provider_data()`).
    DimmData,
    /// A region's device to the region (`to_nd_region()`).
    DeviceRegion,
    /// A region to its provider data (`nd_region_provider_data()`).
    RegionData,
}

/// Follows `link` from `from` with the core's accessor for it.
///
/// The `Bus` callbacks are instantiated in each provider module; through
/// this one entry (in [`ENTRIES`]) a module reaches all these accessors
/// rather than calling each of them. The typed wrappers below are what the
/// code uses.
///
/// # Safety
///
/// `from` is a live object of the kind `link` starts from.
unsafe fn follow(link: Link, from: *mut c_void) -> *mut c_void {
    // SAFETY: `from` is a live object of the kind the accessor takes
    // (caller).
    unsafe {
        match link {
            Link::BusDevice => bindings::to_nvdimm_bus_dev(from.cast()).cast(),
            Link::DeviceDescriptor => {
                bindings::to_nd_desc(bindings::to_nvdimm_bus(from.cast())).cast()
            }
            Link::DeviceDimm => bindings::to_nvdimm(from.cast()).cast(),
            Link::DimmData => bindings::nvdimm_provider_data(from.cast()),
            Link::DeviceRegion => bindings::to_nd_region(from.cast()).cast(),
            Link::RegionData => bindings::nd_region_provider_data(from.cast()),
        }
    }
}

/// The device of `bus` (`to_nvdimm_bus_dev()`).
///
/// # Safety
///
/// `bus` is a live bus.
#[inline]
unsafe fn bus_device(bus: *mut bindings::nvdimm_bus) -> *mut bindings::device {
    // SAFETY: `bus` is a live bus (caller).
    unsafe { (ENTRIES.follow)(Link::BusDevice, bus.cast()).cast() }
}

/// The descriptor of the bus whose device is `dev`
/// (`to_nd_desc(to_nvdimm_bus())`).
///
/// # Safety
///
/// `dev` is the device of a live bus.
#[inline]
unsafe fn bus_descriptor(dev: *mut bindings::device) -> *mut bindings::nvdimm_bus_descriptor {
    // SAFETY: `dev` is the device of a live bus (caller).
    unsafe { (ENTRIES.follow)(Link::DeviceDescriptor, dev.cast()).cast() }
}

/// The DIMM whose device is `dev` (`to_nvdimm()`).
///
/// # Safety
///
/// `dev` is the device of a live DIMM.
#[inline]
unsafe fn device_nvdimm(dev: *mut bindings::device) -> *mut bindings::nvdimm {
    // SAFETY: `dev` is the device of a live DIMM (caller).
    unsafe { (ENTRIES.follow)(Link::DeviceDimm, dev.cast()).cast() }
}

/// The provider data of `nvdimm` (`nvdimm_provider_data()`).
///
/// # Safety
///
/// `nvdimm` is a live DIMM.
#[inline]
unsafe fn dimm_data(nvdimm: *mut bindings::nvdimm) -> *mut c_void {
    // SAFETY: `nvdimm` is a live DIMM (caller).
    unsafe { (ENTRIES.follow)(Link::DimmData, nvdimm.cast()) }
}

/// The region whose device is `dev` (`to_nd_region()`).
///
/// # Safety
///
/// `dev` is the device of a live region.
#[inline]
unsafe fn device_region(dev: *mut bindings::device) -> *mut bindings::nd_region {
    // SAFETY: `dev` is the device of a live region (caller).
    unsafe { (ENTRIES.follow)(Link::DeviceRegion, dev.cast()).cast() }
}

/// The provider data of `region` (`nd_region_provider_data()`).
///
/// # Safety
///
/// `region` is a live region.
#[inline]
unsafe fn region_data(region: *mut bindings::nd_region) -> *mut c_void {
    // SAFETY: `region` is a live region (caller).
    unsafe { (ENTRIES.follow)(Link::RegionData, region.cast()) }
}

/// A held mutex of a [`Bus`], taken and released by out-of-line functions.
///
/// `Mutex::lock()` and its guard's drop are inline: every lock site, and
/// every path that leaves a locked scope, would call `mutex_lock()` or
/// `mutex_unlock()` itself. A provider module instantiates the `Bus` code,
/// and on powerpc64 the module loader patches two words for each such call
/// into the kernel (see `Documentation/nvdimm-rs/papr-scm-rs.rst`, "Load
/// time"); through this type the module has one call of each per mutex. The
/// type names the provider `P` so that the module instantiates these
/// functions itself rather than calling the kernel crate's instances (for
/// `T = ()`).
struct BusGuard<'a, P, T>(ManuallyDrop<MutexGuard<'a, T>>, PhantomData<fn() -> P>);

impl<'a, P: Provider, T> BusGuard<'a, P, T> {
    #[inline(never)]
    fn lock(mutex: &'a Mutex<T>) -> Self {
        Self(ManuallyDrop::new(mutex.lock()), PhantomData)
    }
}

impl<P, T> Deref for BusGuard<'_, P, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<P, T: Unpin> DerefMut for BusGuard<'_, P, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<P, T> Drop for BusGuard<'_, P, T> {
    #[inline(never)]
    fn drop(&mut self) {
        // SAFETY: The guard is dropped here, once; `self.0` is not used
        // after this (the `ManuallyDrop` keeps drop glue from dropping it
        // again).
        unsafe { ManuallyDrop::drop(&mut self.0) };
    }
}

/// The core's flush callback of a region (`nd_region_desc::flush`).
type FlushCallback =
    Option<unsafe extern "C" fn(*mut bindings::nd_region, *mut bindings::bio) -> c_int>;

/// A DIMM or region the core created for a bus, found again by
/// [`find_child`].
struct Child {
    /// The `nvdimm` or `nd_region` that `dev` is the device of.
    raw: *mut c_void,
    dev: DeviceRef,
    /// A region's device-tree node, referenced while the region exists.
    of_node: Option<ARef<FwNode>>,
    /// A region's claim of its range in `/proc/iomem`.
    iomem: Option<IomemClaim>,
}

/// The table of a `Bus<P>` that a new DIMM or region goes into, holding
/// the child's entry until then: the non-generic halves of
/// [`Bus::add_dimm_with`] and [`Bus::add_region`] reach the generic parts
/// through this trait object.
trait ChildTable {
    /// The registered DIMM of `id`; `None` if it is not one of this bus's.
    fn nvdimm(&self, id: DimmId) -> Option<*mut bindings::nvdimm>;
    /// How many DIMMs are registered.
    fn dimm_count(&self) -> usize;
    /// Makes room for one more child.
    fn reserve(&mut self) -> Result;
    /// Moves the held entry into the table as `child`'s slot; returns the
    /// slot's index. On failure the entry is leaked, never freed: the core
    /// has the child.
    fn insert(&mut self, child: Child) -> Result<usize>;
}

/// A new DIMM's or region's entry `E` on its way into a `Bus<P>`.
struct NewChild<'a, P: Provider, E> {
    bus: &'a Bus<P>,
    entry: Option<Pin<KBox<E>>>,
}

impl<P: Provider> ChildTable for NewChild<'_, P, DimmEntry<P>> {
    fn nvdimm(&self, id: DimmId) -> Option<*mut bindings::nvdimm> {
        self.bus.nvdimm_of(id)
    }

    fn dimm_count(&self) -> usize {
        BusGuard::<P, _>::lock(&self.bus.dimms).len()
    }

    fn reserve(&mut self) -> Result {
        Ok(BusGuard::<P, _>::lock(&self.bus.dimms).reserve(1, GFP_KERNEL)?)
    }

    fn insert(&mut self, child: Child) -> Result<usize> {
        let entry = self.entry.take().ok_or(EINVAL)?;
        let mut dimms = BusGuard::<P, _>::lock(&self.bus.dimms);
        let index = dimms.len();
        // INVARIANT: `child.raw` is the DIMM `child.dev` references.
        dimms
            .push_within_capacity(DimmSlot {
                entry,
                nvdimm: child.raw.cast(),
                _dev: child.dev,
            })
            // Cannot fail (room was made under `adding`); if it did, the
            // registered DIMM's provider data must stay alive: leak it.
            .map_err(|slot| {
                core::mem::forget(slot);
                ENOMEM
            })?;
        Ok(index)
    }
}

impl<P: Provider> ChildTable for NewChild<'_, P, RegionEntry<P>> {
    fn nvdimm(&self, id: DimmId) -> Option<*mut bindings::nvdimm> {
        self.bus.nvdimm_of(id)
    }

    fn dimm_count(&self) -> usize {
        BusGuard::<P, _>::lock(&self.bus.dimms).len()
    }

    fn reserve(&mut self) -> Result {
        Ok(BusGuard::<P, _>::lock(&self.bus.regions).reserve(1, GFP_KERNEL)?)
    }

    fn insert(&mut self, child: Child) -> Result<usize> {
        let entry = self.entry.take().ok_or(EINVAL)?;
        let mut regions = BusGuard::<P, _>::lock(&self.bus.regions);
        let index = regions.len();
        // INVARIANT: `child.raw` is the region `child.dev` references.
        regions
            .push_within_capacity(RegionSlot {
                entry,
                region: child.raw.cast(),
                _dev: child.dev,
                _of_node: child.of_node,
                _iomem: child.iomem,
            })
            // As for a DIMM: cannot fail, and leaks rather than frees.
            .map_err(|slot| {
                core::mem::forget(slot);
                ENOMEM
            })?;
        Ok(index)
    }
}

impl BusLink {
    /// A link without a bus, for a registration owned by `owner` with the
    /// name and node of `options`.
    #[inline]
    fn new<'a>(
        owner: &'a device::Device,
        options: &'a BusOptions<'_>,
    ) -> impl PinInit<Self, Error> + use<'a> {
        let init = move |slot: *mut Self| {
            // SAFETY: `pin_init_from_closure` hands the closure a valid slot
            // that stays pinned.
            unsafe { (ENTRIES.link_init)(slot, owner, options) }
        };
        // SAFETY: `init` initialises the slot completely when it succeeds
        // and leaves nothing to drop when it fails.
        unsafe { pin_init::pin_init_from_closure(init) }
    }

    /// Initialises the link at `slot` (reached through [`ENTRIES`]).
    ///
    /// # Safety
    ///
    /// `slot` is valid for writes and stays pinned once initialised.
    unsafe fn init(slot: *mut Self, owner: &device::Device, options: &BusOptions<'_>) -> Result {
        let provider_name = CString::try_from(options.provider_name)?;
        let (of_node, of_ptr) = of_node_ref(options.of_node)?;
        let init = pin_init!(Self {
            bus: AtomicPtr::new(ptr::null_mut()),
            bus_dev: AtomicPtr::new(ptr::null_mut()),
            owner: ARef::from(owner),
            armed: AtomicBool::new(false),
            torn_down: AtomicBool::new(false),
            action_done <- Completion::new(),
            adding <- Mutex::new((), ADDING_LOCK.name, ADDING_LOCK.key()),
            provider_name,
            of_node,
            of_ptr,
        });
        // SAFETY: Per the function's safety requirements.
        unsafe { pin_init::raw_try_init(slot, init) }.map_err(|e| match e {})
    }

    /// Completes `desc` with the link's name and node, registers its bus
    /// under `parent` (`None`: none) and arms the owner's devres action.
    ///
    /// # Safety
    ///
    /// `self` is pinned and its owner is bound; `desc` is an initialised,
    /// pinned descriptor not shared with the core yet; both live until
    /// [`BusLink::release`] has returned, which must be called before either
    /// is dropped.
    unsafe fn register(
        &self,
        desc: *mut bindings::nvdimm_bus_descriptor,
        parent: Option<&device::Device>,
    ) -> Result {
        // SAFETY: The core does not have `desc` yet (caller). The name is on
        // the heap and the node referenced while the link lives; the core
        // never writes through the name.
        unsafe {
            (*desc).provider_name = self.provider_name.as_char_ptr().cast_mut();
            (*desc).of_node = self.of_ptr;
        }
        let parent = parent.map_or(ptr::null_mut(), |dev| dev.as_raw());
        // SAFETY: `desc` is initialised and pinned, and outlives the bus
        // (the caller's `release` unregisters it). `parent`, if not null, is
        // a live device; the core takes its own reference.
        let bus = unsafe { bindings::nvdimm_bus_register(parent, desc) };
        if bus.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: The bus is registered; the reference is dropped in
        // `release`.
        let dev = unsafe { bindings::get_device(bus_device(bus)) };
        self.bus_dev.store(dev, Ordering::Release);
        // INVARIANT: From here on the callbacks hand the provider its `Bus`.
        self.bus.store(bus, Ordering::Release);
        let data = ptr::from_ref::<Self>(self).cast_mut().cast::<c_void>();
        // SAFETY: `owner` is bound (caller); the action gets this pinned
        // link, which `release` keeps alive until the action is removed or
        // has completed.
        to_result(unsafe {
            bindings::__devm_add_action(
                self.owner.as_raw(),
                Some(Self::unbind_action),
                data,
                c"nvdimm bus".as_char_ptr(),
            )
        })?;
        // INVARIANT: The action is installed.
        self.armed.store(true, Ordering::Release);
        Ok(())
    }

    /// The owner's devres action: unregisters a bus that outlived its
    /// owner's binding.
    ///
    /// # Safety
    ///
    /// `data` is the `BusLink` that installed the action, kept alive by its
    /// `release` until this returns.
    unsafe extern "C" fn unbind_action(data: *mut c_void) {
        // SAFETY: Per the function's safety requirements.
        let this = unsafe { &*data.cast::<Self>() };
        this.teardown();
        this.action_done.complete_all();
    }

    /// Unregisters the bus once (whoever comes first: `release` or the
    /// owner's unbind). Adds in progress finish first; later ones see no
    /// bus.
    fn teardown(&self) {
        let bus = {
            let _adding = self.adding.lock();
            self.torn_down.store(true, Ordering::Release);
            self.bus.swap(ptr::null_mut(), Ordering::AcqRel)
        };
        if !bus.is_null() {
            // SAFETY: `bus` was registered by `register` and `swap` hands it
            // out once. This removes the regions and DIMMs and waits for
            // commands and sysfs accesses in flight, so no callback runs
            // after it.
            unsafe { bindings::nvdimm_bus_unregister(bus) };
        }
    }

    /// Ends the registration: removes the owner's action (or waits for it
    /// to finish), unregisters the bus and drops the reference `register`
    /// took. The first thing a `Bus` does when it is dropped.
    fn release(&self) {
        if self.armed.load(Ordering::Acquire) {
            let data = ptr::from_ref::<Self>(self).cast_mut().cast::<c_void>();
            // SAFETY: The action was installed on `owner` with this data
            // (type invariant); `owner` is referenced.
            let removed = unsafe {
                bindings::devm_remove_action_nowarn(
                    self.owner.as_raw(),
                    Some(Self::unbind_action),
                    data,
                )
            } == 0;
            if !removed {
                // The owner's unbind took the action: it runs, or ran, on
                // this link, which must stay until it is done.
                self.action_done.wait_for_completion();
            }
        }
        self.teardown();
        let dev = self.bus_dev.load(Ordering::Acquire);
        if !dev.is_null() {
            // SAFETY: The reference `register` took.
            unsafe { bindings::put_device(dev) };
        }
    }

    /// The core's bus; null before registration and after teardown.
    #[inline]
    fn raw(&self) -> *mut bindings::nvdimm_bus {
        self.bus.load(Ordering::Acquire)
    }

    /// The core's bus, or `EBUSY` while `register` has not stored it yet (a
    /// callback that arrived during `nvdimm_bus_register()`) and `ENXIO`
    /// once it is unregistered (the owner unbound before the `Bus` was
    /// dropped).
    #[inline]
    fn live(&self) -> Result<*mut bindings::nvdimm_bus> {
        let bus = self.raw();
        if !bus.is_null() {
            Ok(bus)
        } else if self.torn_down.load(Ordering::Acquire) {
            Err(ENXIO)
        } else {
            Err(EBUSY)
        }
    }

    /// The non-generic half of [`Bus::add_dimm_with`]: creates the DIMM
    /// whose entry `table` holds and has `table` insert it; returns its
    /// index.
    ///
    /// # Safety
    ///
    /// `self` is the link of `table`'s bus; `data` is the address of the
    /// boxed, pinned entry `table` holds and `info` is that entry's;
    /// `groups`, `sec_ops` and `fw_ops` (each null or valid) live as long as
    /// the bus, and the operations' callbacks reach only the provider data
    /// and the provider.
    unsafe fn create_dimm(
        &self,
        table: &mut dyn ChildTable,
        data: *mut c_void,
        info: &DimmInfo,
        groups: *mut *const bindings::attribute_group,
        sec_ops: *const bindings::nvdimm_security_ops,
        fw_ops: *const bindings::nvdimm_fw_ops,
    ) -> Result<usize> {
        let num_flush = c_int::try_from(info.flush.len()).map_err(|_| EINVAL)?;
        let flush_wpq = if info.flush.is_empty() {
            ptr::null_mut()
        } else {
            info.flush.as_ptr().cast_mut()
        };
        // The id is on the heap and does not move with the entry.
        let dimm_id = info.id.as_ref().map_or(ptr::null(), |id| id.as_char_ptr());
        let _adding = self.adding.lock();
        // The bus cannot be torn down while `adding` is held.
        let bus = self.live()?;
        // Room for the slot first: once the core has the DIMM, nothing may
        // fail before it is in the table.
        table.reserve()?;
        // SAFETY: The bus is registered. `data` is pinned and, once the DIMM
        // is registered, stays in the bus until the bus is unregistered,
        // which ends every use of it (the core's delayed overwrite query
        // included: `nvdimm_delete()` cancels it); so do the `num_flush`
        // resources' buffer at `flush_wpq`, which the core only reads, and
        // the id, short enough for the core's key description buffer
        // (checked by `DimmInfo::new`); `groups` and the operations live as
        // long as the bus, and their callbacks reach only `data` and the
        // provider, both valid from here on (the core calls `get_flags`
        // before the DIMM is registered). All per the caller.
        let created = unsafe {
            bindings::__nvdimm_create(
                bus,
                data,
                groups,
                info.flags as c_ulong,
                info.cmd_mask as c_ulong,
                num_flush,
                flush_wpq,
                dimm_id,
                sec_ops,
                fw_ops,
            )
        };
        if created.is_null() {
            return Err(ENOMEM);
        }
        // With `NDD_REGISTER_SYNC` the DIMM is registered, or already freed
        // if `device_add()` failed, when the call returns; `created` is not
        // looked at again. If it is not found, the core holds nothing of
        // the entry any more, and `table` may drop it.
        // SAFETY: The bus is registered.
        let dev = unsafe { find_child(bus, ChildKind::Dimm, data) }.ok_or(ENXIO)?;
        // SAFETY: `dev` is a DIMM (`find_child` matched one).
        let nvdimm = unsafe { device_nvdimm(dev.0.as_ptr()) };
        table.insert(Child {
            raw: nvdimm.cast(),
            dev,
            of_node: None,
            iomem: None,
        })
    }

    /// The non-generic half of [`Bus::add_region`]: creates the region
    /// whose entry `table` holds and has `table` insert it; returns its
    /// index.
    ///
    /// # Safety
    ///
    /// `self` is the link of `table`'s bus; `data` is the address of the
    /// boxed, pinned entry `table` holds and `nd_set` the interleave set in
    /// it; `groups` (null or valid) lives as long as the bus; `flush`
    /// reaches only the provider data and the provider. (`options` passed
    /// [`RegionOptions::validate`].)
    unsafe fn create_region(
        &self,
        table: &mut dyn ChildTable,
        options: &RegionOptions<'_>,
        data: *mut c_void,
        nd_set: *mut bindings::nd_interleave_set,
        groups: *mut *const bindings::attribute_group,
        flush: FlushCallback,
    ) -> Result<usize> {
        let mut mappings = mapping_descs(options.mappings, &|id| table.nvdimm(id))?;
        let mut res: bindings::resource = pin_init::zeroed();
        res.start = options.start;
        // The caller's `validate` checked that the range does not wrap.
        res.end = options.start + (options.size - 1);
        res.flags = bindings::IORESOURCE_MEM as c_ulong;
        let mut desc: bindings::nd_region_desc = pin_init::zeroed();
        desc.res = &mut res;
        desc.mapping = mappings.as_mut_ptr();
        desc.num_mappings = mappings.len() as u16;
        desc.nd_set = if options.interleave_set.is_some() {
            nd_set
        } else {
            ptr::null_mut()
        };
        desc.provider_data = data;
        desc.numa_node = options.numa_node;
        desc.target_node = options.target_node;
        desc.flags = options.flags() as c_ulong;
        let (of_node, of_ptr) = of_node_ref(options.of_node)?;
        desc.of_node = of_ptr;
        desc.flush = flush;
        desc.attr_groups = groups;

        let _adding = self.adding.lock();
        let bus = self.live()?;
        table.reserve()?;
        let iomem = IomemClaim::for_region(options.start, options.size)?;
        // SAFETY: The bus is registered. The core copies `res` and the
        // mappings (whose DIMMs belong to this bus and are referenced by
        // their slots) and keeps `nd_set` and the provider data, both pinned
        // in the entry, which stays in the bus until the bus is unregistered
        // once the region is registered (per the caller).
        let created = unsafe {
            match options.kind {
                RegionKind::Pmem => bindings::nvdimm_pmem_region_create(bus, &mut desc),
                RegionKind::Volatile => bindings::nvdimm_volatile_region_create(bus, &mut desc),
            }
        };
        if created.is_null() {
            return Err(ENOMEM);
        }
        // The core registers regions asynchronously and frees one whose
        // `device_add()` fails, so `created` is not looked at again: wait for
        // the registrations in flight (the DIMM count is right by
        // construction, the call is made for its wait), then look the region
        // up. Not found: the core holds nothing of the entry any more.
        // Nothing may return early from here until the lookup decides who
        // owns the entry.
        let live = c_int::try_from(table.dimm_count()).unwrap_or(c_int::MAX);
        // SAFETY: The bus is registered. Its answer (whether the count
        // matches) says nothing about the region; it is called for its wait.
        let _ = unsafe { bindings::nvdimm_bus_check_dimm_count(bus, live) };
        // SAFETY: The bus is registered.
        let dev = unsafe { find_child(bus, ChildKind::Region, data) }.ok_or(ENXIO)?;
        // SAFETY: `dev` is a region (`find_child` matched one).
        let region = unsafe { device_region(dev.0.as_ptr()) };
        table.insert(Child {
            raw: region.cast(),
            dev,
            of_node,
            iomem,
        })
    }
}

// SAFETY: The raw pointers in a `Bus` are handles of core objects, which may
// be used from any thread; the provider data they lead to is `Send`.
unsafe impl<P: Provider> Send for Bus<P> {}
// SAFETY: Shared access goes through `&P` (which is `Sync`), the mutexes, or
// core functions that do their own locking.
unsafe impl<P: Provider> Sync for Bus<P> {}

impl<P: Provider> Bus<P> {
    /// Registers a bus for as long as `owner` stays bound: dropping the
    /// returned `Bus` unregisters it, and so does the owner's unbind if the
    /// `Bus` is still alive then (leaked, say), after which its methods fail
    /// with `ENXIO`; so no callback can run into a driver or module that is
    /// gone. `parent` is the device the bus hangs off (`None` for a bus at
    /// `/sys/devices/ndbusN`, as pseries has it).
    pub fn register<E>(
        module: &'static ThisModule,
        owner: &device::Device<device::Bound>,
        parent: Option<&device::Device>,
        options: &BusOptions<'_>,
        provider: impl PinInit<P, E>,
    ) -> Result<Pin<KBox<Self>>>
    where
        Error: From<E>,
    {
        let this = Self::new(module, owner, options, provider)?;
        if this.provider.firmware_activation() {
            // SAFETY: The descriptor is not shared with the core yet; the
            // operations are a constant of this type.
            unsafe { (*this.desc.get()).fw_ops = Self::bus_fw_ops() };
        }
        // SAFETY: The link's owner is `owner`, bound while it is borrowed;
        // `desc` is initialised, pinned next to `link` in the `Bus` and not
        // registered yet, and the `Bus`'s drop `release`s the link before
        // either is freed.
        unsafe { (ENTRIES.link_register)(&this.link, this.desc.get(), parent) }?;
        Ok(this)
    }

    /// A pinned bus that is not registered yet.
    fn new<E>(
        module: &'static ThisModule,
        owner: &device::Device<device::Bound>,
        options: &BusOptions<'_>,
        provider: impl PinInit<P, E>,
    ) -> Result<Pin<KBox<Self>>>
    where
        Error: From<E>,
    {
        let families = Family::mask(options.dimm_families);
        let (bus_commands, bus_families) = (options.bus_commands, options.bus_families);
        let groups = (ENTRIES.bus_groups)(
            &sysfs::GroupSpec::of::<P::DimmAttribute>(
                Self::show_callback,
                None,
                Some(Self::visible_callback),
            ),
            &sysfs::GroupSpec::of::<P::RegionAttribute>(Self::show_region_callback, None, None),
            &sysfs::GroupSpec::of::<P::BusAttribute>(
                Self::show_bus_callback,
                Some(Self::store_bus_callback),
                Some(Self::bus_visible_callback),
            ),
        )?;
        // The group memory is on the heap and moves with `groups` without
        // changing address.
        let attr_groups = groups.bus.as_ref().map_or(ptr::null_mut(), |g| g.groups());
        KBox::try_pin_init(
            try_pin_init!(Self {
                provider <- with_error(provider),
                desc <- Opaque::ffi_init(move |slot: *mut bindings::nvdimm_bus_descriptor| {
                    // The name and node are the link's (`BusLink::register`).
                    let mut desc: bindings::nvdimm_bus_descriptor = pin_init::zeroed();
                    desc.module = module.as_ptr();
                    desc.ndctl = Some(Self::ndctl_callback);
                    desc.dimm_family_mask = families as c_ulong;
                    desc.cmd_mask = bus_commands.bits() as c_ulong;
                    desc.bus_family_mask = bus_families.bits() as c_ulong;
                    desc.attr_groups = attr_groups;
                    // SAFETY: `slot` is valid for writes while being initialised.
                    unsafe { slot.write(desc) };
                }),
                link <- BusLink::new(owner, options),
                bus_commands,
                bus_families,
                families,
                serial: BUS_SERIAL.fetch_add(1, Ordering::Relaxed),
                dimms <- Mutex::new(KVec::new(), DIMMS_LOCK.name, DIMMS_LOCK.key()),
                regions <- Mutex::new(KVec::new(), REGIONS_LOCK.name, REGIONS_LOCK.key()),
                groups,
            }),
            GFP_KERNEL,
        )
    }

    /// The core's bus: not null where a callback hands the provider a
    /// `&Bus` (type invariant), null before registration and after teardown.
    #[inline]
    fn raw(&self) -> *mut bindings::nvdimm_bus {
        self.link.raw()
    }

    /// The core's bus, or `EBUSY` before registration and `ENXIO` after
    /// teardown ([`BusLink::live`]).
    #[inline]
    fn live(&self) -> Result<*mut bindings::nvdimm_bus> {
        self.link.live()
    }

    fn registered(&self) -> Result {
        self.live().map(|_| ())
    }

    fn dimm_index(&self, id: DimmId) -> Option<usize> {
        (id.bus == self.serial).then_some(id.index)
    }

    fn region_index(&self, id: RegionId) -> Option<usize> {
        (id.bus == self.serial).then_some(id.index)
    }

    /// The registered DIMM of `id`; `None` if it is not one of this bus's.
    fn nvdimm_of(&self, id: DimmId) -> Option<*mut bindings::nvdimm> {
        let dimms = BusGuard::<P, _>::lock(&self.dimms);
        self.dimm_index(id)
            .and_then(|i| dimms.get(i))
            .map(|slot| slot.nvdimm)
    }

    /// The provider's data.
    pub fn provider(&self) -> &P {
        &self.provider
    }

    /// Creates a DIMM on the bus; `data` becomes its provider data.
    pub fn add_dimm<E>(
        &self,
        data: impl PinInit<P::Dimm, E>,
        options: &DimmOptions<'_>,
    ) -> Result<DimmId>
    where
        Error: From<E>,
    {
        self.add_dimm_with(data, options, &DimmFeatures::default())
    }

    /// Creates a DIMM with native commands, an id, security or firmware
    /// operations ([`DimmFeatures`]); `data` becomes its provider data.
    /// The core asks for the security state (if the DIMM has security
    /// operations) and, when the DIMM's driver probes, unlocks it, all
    /// before this returns.
    pub fn add_dimm_with<E>(
        &self,
        data: impl PinInit<P::Dimm, E>,
        options: &DimmOptions<'_>,
        features: &DimmFeatures<'_>,
    ) -> Result<DimmId>
    where
        Error: From<E>,
    {
        let info = (ENTRIES.dimm_info)(options, features, ProviderCaps::of::<P>(), self.families)?;
        let entry = KBox::try_pin_init(
            try_pin_init!(DimmEntry::<P> {
                data <- with_error(data),
                info,
                bus: ptr::from_ref(self),
            }),
            GFP_KERNEL,
        )?;
        let provider_data = ptr::from_ref::<DimmEntry<P>>(&entry)
            .cast_mut()
            .cast::<c_void>();
        let groups = self
            .groups
            .dimm
            .as_ref()
            .map_or(ptr::null_mut(), |g| g.groups());
        let sec_ops: *const bindings::nvdimm_security_ops = if features.security {
            Self::security_ops()
        } else {
            ptr::null()
        };
        let fw_ops: *const bindings::nvdimm_fw_ops = if features.firmware {
            Self::dimm_fw_ops()
        } else {
            ptr::null()
        };
        let info: *const DimmInfo = &entry.info;
        let mut table = NewChild {
            bus: self,
            entry: Some(entry),
        };
        // SAFETY: `self.link` is the link of `table`'s bus; `provider_data`
        // and `info` are the entry's that `table` holds (boxed and pinned: the
        // addresses do not change when it moves into the table). The groups
        // live as long as the bus; the operations are constants whose
        // callbacks reach only the provider data and the provider.
        let index = unsafe {
            (ENTRIES.create_dimm)(
                &self.link,
                &mut table,
                provider_data,
                &*info,
                groups,
                sec_ops,
                fw_ops,
            )
        }?;
        Ok(DimmId {
            bus: self.serial,
            index,
        })
    }

    /// The provider data of a DIMM.
    pub fn dimm(&self, id: DimmId) -> Option<Pin<&P::Dimm>> {
        let dimms = BusGuard::<P, _>::lock(&self.dimms);
        let entry: *const DimmEntry<P> = &*dimms.get(self.dimm_index(id)?)?.entry;
        // SAFETY: Entries are boxed, pinned and never removed before `self`
        // is dropped, so the data outlives the returned borrow of `self`.
        Some(unsafe { Pin::new_unchecked(&(*entry).data) })
    }

    /// Creates a region on the bus; `data` becomes its provider data.
    pub fn add_region<E>(
        &self,
        data: impl PinInit<P::Region, E>,
        options: &RegionOptions<'_>,
    ) -> Result<RegionId>
    where
        Error: From<E>,
    {
        options.validate()?;
        if options.async_flush && !P::HAS_FLUSH {
            return Err(EINVAL);
        }
        let set = options.interleave_set.unwrap_or_default();
        let mut nd_set: bindings::nd_interleave_set = pin_init::zeroed();
        nd_set.cookie1 = set.cookie1;
        nd_set.cookie2 = set.cookie2;
        nd_set.altcookie = set.altcookie;
        // SAFETY: `guid_t` is 16 bytes without padding or invalid values.
        nd_set.type_guid =
            unsafe { core::mem::transmute::<[u8; 16], bindings::guid_t>(set.type_guid) };
        let entry = KBox::try_pin_init(
            try_pin_init!(RegionEntry::<P> {
                data <- with_error(data),
                nd_set: Opaque::new(nd_set),
                bus: ptr::from_ref(self),
            }),
            GFP_KERNEL,
        )?;
        let provider_data = ptr::from_ref::<RegionEntry<P>>(&entry)
            .cast_mut()
            .cast::<c_void>();
        let nd_set = entry.nd_set.get();
        // The group memory is on the heap and lives as long as the bus,
        // which outlives its regions.
        let groups = self
            .groups
            .region
            .as_ref()
            .map_or(ptr::null_mut(), |g| g.groups());
        let flush: FlushCallback = if options.async_flush {
            Some(Self::flush_callback)
        } else {
            None
        };
        let mut table = NewChild {
            bus: self,
            entry: Some(entry),
        };
        // SAFETY: `self.link` is the link of `table`'s bus; `provider_data`
        // and `nd_set` are in the entry `table` holds (boxed and pinned).
        // The groups live as long as the bus; `flush` reaches only the
        // provider data and the provider.
        let index = unsafe {
            (ENTRIES.create_region)(
                &self.link,
                &mut table,
                options,
                provider_data,
                nd_set,
                groups,
                flush,
            )
        }?;
        Ok(RegionId {
            bus: self.serial,
            index,
        })
    }

    /// The provider data of a region.
    pub fn region(&self, id: RegionId) -> Option<Pin<&P::Region>> {
        let regions = BusGuard::<P, _>::lock(&self.regions);
        let entry: *const RegionEntry<P> = &*regions.get(self.region_index(id)?)?.entry;
        // SAFETY: As in `dimm`: entries never move or go away before `self`.
        Some(unsafe { Pin::new_unchecked(&(*entry).data) })
    }

    /// Records a range of poisoned media (physical address and length) with
    /// the bus; follow with [`RegionEvent::RevalidatePoison`] on the region.
    pub fn add_badrange(&self, start: u64, len: u64) -> Result {
        let bus = self.live()?;
        // SAFETY: `bus` is registered, or was until a teardown that raced
        // with this call: `bus_dev`'s reference keeps its memory, and the
        // bad-range list it owns, valid until `self` is dropped.
        to_result(unsafe { bindings::nvdimm_bus_add_badrange(bus, start, len) })
    }

    /// Wakes the pollers of a bus attribute (`sysfs_notify()`), for
    /// attributes whose value changes on their own (`ndctl wait-scrub`
    /// polls `nfit/scrub`).
    pub fn notify_bus_attribute(&self, attr: P::BusAttribute) {
        let (group, name) = (P::BusAttribute::GROUP, attr.name());
        let Ok(bus) = self.live() else {
            return;
        };
        // SAFETY: `bus` is registered, or was until a racing teardown; its
        // device is referenced (`bus_dev`) while `self` is borrowed. sysfs
        // only reads the two names, and does nothing when the attribute or
        // the device's directory does not exist (a hidden attribute, a
        // device already deleted).
        unsafe {
            let dev = bus_device(bus);
            bindings::sysfs_notify(
                &raw mut (*dev).kobj,
                group.as_char_ptr(),
                name.as_char_ptr(),
            );
        }
    }

    /// A handle on a DIMM attribute for waking its pollers later without
    /// the bus (from an ACPI notification on the DIMM, say); `None` when the
    /// DIMM or the attribute does not exist (a hidden one).
    pub fn dimm_attribute_notifier(
        &self,
        id: DimmId,
        attr: P::DimmAttribute,
    ) -> Option<AttributeNotifier> {
        let (group, name) = (P::DimmAttribute::GROUP, attr.name());
        let nvdimm = BusGuard::<P, _>::lock(&self.dimms)
            .get(self.dimm_index(id)?)?
            .nvdimm;
        // SAFETY: `nvdimm` belongs to this registered bus and its slot holds
        // a reference on it until `self` is dropped; the lookups take
        // references on the kernfs nodes they return.
        unsafe {
            let kobj = bindings::nvdimm_kobj(nvdimm);
            let dir =
                bindings::kernfs_find_and_get_ns((*kobj).sd, group.as_char_ptr(), ptr::null());
            if dir.is_null() {
                return None;
            }
            let file = bindings::kernfs_find_and_get_ns(dir, name.as_char_ptr(), ptr::null());
            bindings::kernfs_put(dir);
            NonNull::new(file).map(AttributeNotifier)
        }
    }

    /// Notifies a region's namespaces of an event. Takes the region's device
    /// lock: not to be called from the region's own callbacks.
    pub fn notify_region(&self, id: RegionId, event: RegionEvent) -> Result {
        let region = self
            .region_index(id)
            .and_then(|i| {
                BusGuard::<P, _>::lock(&self.regions)
                    .get(i)
                    .map(|r| r.region)
            })
            .ok_or(EINVAL)?;
        let event = match event {
            RegionEvent::RevalidatePoison => bindings::nvdimm_event_NVDIMM_REVALIDATE_POISON,
            RegionEvent::RevalidateRegion => bindings::nvdimm_event_NVDIMM_REVALIDATE_REGION,
        };
        // SAFETY: `region` belongs to this registered bus, whose device is
        // alive while `self` is borrowed, and its slot holds the reference
        // the call requires until `self` is dropped. Once unregistered
        // (while the bus is being dropped) the region has no driver to
        // notify, and the call does nothing.
        unsafe { bindings::nvdimm_region_notify(region, event) };
        Ok(())
    }

    /// Checks and dispatches a DIMM command; the status for in-kernel
    /// callers.
    fn dimm_command(&self, entry: &DimmEntry<P>, cmd: u32, buf: &mut [u8]) -> Result<i32> {
        if cmd >= u64::BITS || entry.info.cmd_mask & (1 << cmd) == 0 {
            return Err(ENOTTY);
        }
        match (ENTRIES.dimm_command)(cmd, buf, entry.info.label.as_ref(), entry.info.families)? {
            DimmCommand::GetConfigSize { out, area } => {
                if !P::HAS_CONFIG_SIZE {
                    DimmCommand::reply_config_size(out, &area);
                    return Ok(0);
                }
                let size = self.provider.config_size(&entry.data)?;
                DimmCommand::reply_config_size_status(out, size.status, &size.area);
                Ok(size.kernel_status())
            }
            DimmCommand::GetConfigData {
                offset,
                out,
                status,
            } => {
                self.provider.read_labels(&entry.data, offset, out)?;
                cmd::write_u32(status, 0);
                Ok(0)
            }
            DimmCommand::SetConfigData {
                offset,
                data,
                status,
            } => {
                self.provider.write_labels(&entry.data, offset, data)?;
                cmd::write_u32(status, 0);
                Ok(0)
            }
            DimmCommand::Call(mut pkg) => self.provider.call(&entry.data, &mut pkg).map(|()| 0),
            DimmCommand::Native(native) => self.provider.dimm_command(&entry.data, native),
        }
    }

    /// Checks and dispatches a bus command.
    fn bus_command(&self, cmd: u32, buf: &mut [u8]) -> Result<i32> {
        self.registered()?;
        let kind = BusCommandKind::from_number(cmd).ok_or(ENOTTY)?;
        if !self.bus_commands.contains(kind) {
            return Err(ENOTTY);
        }
        let cmd = match kind {
            BusCommandKind::Call => {
                BusCommand::Call((ENTRIES.call_package)(buf, self.bus_families.bits())?)
            }
            kind => BusCommand::Fixed { kind, buf },
        };
        self.provider.bus_command(&LockedBus(self), cmd)
    }

    /// Dispatches a write of a bus attribute.
    fn store_bus_attribute(&self, index: usize, data: &[u8]) -> Result {
        self.registered()?;
        let attr = *P::BusAttribute::ALL.get(index).ok_or(ENXIO)?;
        self.provider.store_bus_attribute(self, attr, data)
    }

    /// The descriptor's `ndctl` callback.
    ///
    /// # Safety
    ///
    /// Called by the core only: `nd_desc` is the `desc` of a `Bus<P>`,
    /// `nvdimm` is null or a DIMM of that bus, `buf` is null or valid for
    /// reads and writes of `buf_len` bytes for the duration of the call, and
    /// `cmd_rc` is null or valid for writes.
    unsafe extern "C" fn ndctl_callback(
        nd_desc: *mut bindings::nvdimm_bus_descriptor,
        nvdimm: *mut bindings::nvdimm,
        cmd: c_uint,
        buf: *mut c_void,
        buf_len: c_uint,
        cmd_rc: *mut c_int,
    ) -> c_int {
        // SAFETY: Only `new` installs this callback, in the `desc` of a
        // pinned `Bus<P>` that outlives the registration.
        let bus = unsafe { &*crate::container_of!(Opaque::cast_from(nd_desc), Self, desc) };
        let result = if nvdimm.is_null() {
            let buf: &mut [u8] = if buf.is_null() {
                &mut []
            } else {
                // SAFETY: Per the function's safety requirements.
                unsafe { core::slice::from_raw_parts_mut(buf.cast(), buf_len as usize) }
            };
            bus.bus_command(cmd, buf)
        } else {
            // SAFETY: DIMMs of this bus are created by `add_dimm` with a
            // pinned `DimmEntry<P>` as provider data, alive while the bus is.
            let entry = unsafe { &*dimm_data(nvdimm).cast::<DimmEntry<P>>() };
            let buf: &mut [u8] = if buf.is_null() {
                &mut []
            } else {
                // SAFETY: Per the function's safety requirements.
                unsafe { core::slice::from_raw_parts_mut(buf.cast(), buf_len as usize) }
            };
            bus.dimm_command(entry, cmd, buf)
        };
        // A command that ran returns 0 and its status goes to in-kernel
        // callers; one that failed returns its error, in both places.
        let (rc, status) = match result {
            Ok(status) => (0, status),
            Err(e) => (e.to_errno(), e.to_errno()),
        };
        if !cmd_rc.is_null() {
            // SAFETY: Per the function's safety requirements.
            unsafe { *cmd_rc = status };
        }
        rc
    }

    /// The provider data of a DIMM device of this bus.
    ///
    /// # Safety
    ///
    /// `dev` is the device of a DIMM created by `add_dimm` of a `Bus<P>`.
    unsafe fn dimm_entry<'a>(dev: *mut bindings::device) -> &'a DimmEntry<P> {
        // SAFETY: Per the safety requirements, `dev` is a live nvdimm whose
        // provider data is a pinned `DimmEntry<P>` that outlives its device.
        unsafe { &*dimm_data(device_nvdimm(dev)).cast::<DimmEntry<P>>() }
    }

    /// The `show` callback of the DIMM attributes.
    ///
    /// # Safety
    ///
    /// Called by sysfs only, for an attribute of this bus's DIMM group on
    /// one of its DIMMs, with a page-sized `buf`.
    unsafe extern "C" fn show_callback(
        dev: *mut bindings::device,
        attr: *mut bindings::device_attribute,
        buf: *mut c_char,
    ) -> isize {
        // SAFETY: The group is only given to DIMMs of this bus (`add_dimm`).
        let entry = unsafe { Self::dimm_entry(dev) };
        // SAFETY: `attr` is the `attr` field of an `AttributeSlot` in the
        // bus's DIMM group, which outlives its DIMMs.
        let slot = unsafe { &*crate::container_of!(attr, sysfs::AttributeSlot, attr) };
        // SAFETY: The entry's bus owns it and so outlives it.
        let bus = unsafe { &*entry.bus };
        // SAFETY: sysfs hands `show` a buffer of one page.
        unsafe {
            sysfs::show_page(buf, |out| {
                let attr = *P::DimmAttribute::ALL.get(slot.index).ok_or(ENXIO)?;
                bus.provider.show_dimm_attribute(&entry.data, attr, out)
            })
        }
    }

    /// The `show` callback of the region attributes.
    ///
    /// # Safety
    ///
    /// Called by sysfs only, for an attribute of this bus's region group
    /// on one of its regions, with a page-sized `buf`.
    unsafe extern "C" fn show_region_callback(
        dev: *mut bindings::device,
        attr: *mut bindings::device_attribute,
        buf: *mut c_char,
    ) -> isize {
        // SAFETY: The group is only given to regions of this bus
        // (`add_region`), whose provider data is a pinned `RegionEntry<P>`
        // that the bus keeps until the region is unregistered.
        let entry = unsafe { &*region_data(device_region(dev)).cast::<RegionEntry<P>>() };
        // SAFETY: `attr` is the `attr` field of an `AttributeSlot` in the
        // bus's region group, which outlives its regions.
        let slot = unsafe { &*crate::container_of!(attr, sysfs::AttributeSlot, attr) };
        // SAFETY: The entry's bus owns it and so outlives it.
        let bus = unsafe { &*entry.bus };
        // SAFETY: sysfs hands `show` a buffer of one page.
        unsafe {
            sysfs::show_page(buf, |out| {
                let attr = *P::RegionAttribute::ALL.get(slot.index).ok_or(ENXIO)?;
                bus.provider.show_region_attribute(&entry.data, attr, out)
            })
        }
    }

    /// The `show` callback of the bus attributes.
    ///
    /// # Safety
    ///
    /// Called by sysfs only, for an attribute of this bus's own group on
    /// its bus device, with a page-sized `buf`.
    unsafe extern "C" fn show_bus_callback(
        dev: *mut bindings::device,
        attr: *mut bindings::device_attribute,
        buf: *mut c_char,
    ) -> isize {
        // SAFETY: The group is only given to this bus's device.
        let bus = unsafe { Self::of_bus_device(dev) };
        // SAFETY: `attr` is the `attr` field of an `AttributeSlot` in the
        // bus's own group, which outlives the bus device.
        let slot = unsafe { &*crate::container_of!(attr, sysfs::AttributeSlot, attr) };
        // SAFETY: sysfs hands `show` a buffer of one page.
        unsafe {
            sysfs::show_page(buf, |out| {
                let attr = *P::BusAttribute::ALL.get(slot.index).ok_or(ENXIO)?;
                bus.provider.show_bus_attribute(attr, out)
            })
        }
    }

    /// The `Bus` of a bus device; it may still be inside `register` (the
    /// core's bus not yet stored).
    ///
    /// # Safety
    ///
    /// `dev` is the device of a bus registered by a live `Bus<P>`.
    unsafe fn of_bus_device<'a>(dev: *mut bindings::device) -> &'a Self {
        // SAFETY: Per the safety requirements, the device's descriptor is
        // the `desc` of a live `Bus<P>`.
        unsafe {
            let desc = bus_descriptor(dev);
            &*crate::container_of!(Opaque::cast_from(desc), Self, desc)
        }
    }

    /// The `store` callback of the bus attributes.
    ///
    /// # Safety
    ///
    /// Called by sysfs only, for a writable attribute of this bus's
    /// own group, with `count` readable bytes at `buf`.
    unsafe extern "C" fn store_bus_callback(
        dev: *mut bindings::device,
        attr: *mut bindings::device_attribute,
        buf: *const c_char,
        count: usize,
    ) -> isize {
        // SAFETY: The group is only given to this bus's device.
        let bus = unsafe { Self::of_bus_device(dev) };
        // SAFETY: `attr` is the `attr` field of an `AttributeSlot` in the
        // bus's own group, which outlives the bus device.
        let slot = unsafe { &*crate::container_of!(attr, sysfs::AttributeSlot, attr) };
        // SAFETY: sysfs passes `count` bytes of a buffer it owns.
        let data = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
        match bus.store_bus_attribute(slot.index, data) {
            Ok(()) => isize::try_from(count).unwrap_or(isize::MAX),
            Err(e) => e.to_errno() as isize,
        }
    }

    /// The `is_visible` callback of the bus attribute group.
    ///
    /// # Safety
    ///
    /// Called by sysfs only, for the kobject of this bus's device.
    unsafe extern "C" fn bus_visible_callback(
        kobj: *mut bindings::kobject,
        attr: *mut bindings::attribute,
        n: c_int,
    ) -> u16 {
        // SAFETY: `kobj` is embedded in the bus's `struct device`.
        let dev = unsafe { crate::container_of!(kobj, bindings::device, kobj) };
        // SAFETY: The group is only given to this bus's device.
        let bus = unsafe { Self::of_bus_device(dev) };
        let index = usize::try_from(n).unwrap_or(usize::MAX);
        let item = P::BusAttribute::ALL.get(index).copied();
        if item.is_some_and(|a| bus.provider.bus_attribute_visible(a)) {
            // SAFETY: `attr` is one of the group's attributes, built by
            // `BusGroups::build` with the mode the provider asked for.
            unsafe { (*attr).mode }
        } else {
            0
        }
    }

    /// The `is_visible` callback of the DIMM attribute group.
    ///
    /// # Safety
    ///
    /// Called by sysfs only, for the kobject of one of this bus's DIMMs.
    unsafe extern "C" fn visible_callback(
        kobj: *mut bindings::kobject,
        attr: *mut bindings::attribute,
        n: c_int,
    ) -> u16 {
        // SAFETY: `kobj` is embedded in the DIMM's `struct device`.
        let dev = unsafe { crate::container_of!(kobj, bindings::device, kobj) };
        // SAFETY: The group is only given to DIMMs of this bus (`add_dimm`).
        let entry = unsafe { Self::dimm_entry(dev) };
        // SAFETY: The entry's bus owns it and so outlives it.
        let bus = unsafe { &*entry.bus };
        let index = usize::try_from(n).unwrap_or(usize::MAX);
        let item = P::DimmAttribute::ALL.get(index).copied();
        if item.is_some_and(|a| bus.provider.dimm_attribute_visible(&entry.data, a)) {
            // SAFETY: `attr` is one of the group's attributes, built by
            // `BusGroups::build` with the mode the provider asked for.
            unsafe { (*attr).mode }
        } else {
            0
        }
    }

    /// The region's `flush` callback.
    ///
    /// # Safety
    ///
    /// Called by the core only, for a region created by `add_region` with
    /// `async_flush`.
    unsafe extern "C" fn flush_callback(
        nd_region: *mut bindings::nd_region,
        _bio: *mut bindings::bio,
    ) -> c_int {
        // SAFETY: The region was created by `add_region`, with a pinned
        // `RegionEntry<P>` as provider data, alive while the bus is.
        let entry = unsafe { &*region_data(nd_region).cast::<RegionEntry<P>>() };
        // SAFETY: `entry.bus` is the bus that owns the entry, so it is alive.
        let bus = unsafe { &*entry.bus };
        match bus.provider.flush(&entry.data) {
            // Done synchronously: the core completes the bio.
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }
}

#[pinned_drop]
impl<P: Provider> PinnedDrop for Bus<P> {
    fn drop(self: Pin<&mut Self>) {
        // Unregistering removes the regions and DIMMs and waits for commands
        // in flight; the provider data is dropped afterwards.
        (ENTRIES.link_release)(&self.link);
    }
}

#[cfg(CONFIG_RUST_LIBNVDIMM_KUNIT_TEST)]
#[macros::kunit_tests(rust_nvdimm_flags)]
mod tests {
    use super::*;

    #[test]
    fn dimm_flags() {
        let labelled = DimmOptions {
            label_area: Some(LabelArea {
                size: 128 << 10,
                max_xfer: 4096,
            }),
            labeling: true,
            unarmed: true,
            call: true,
            flush_hints: &[],
        };
        // NDD_UNARMED 1, NDD_LABELING 6, NDD_REGISTER_SYNC 8.
        assert_eq!(labelled.flags(), 1 << 1 | 1 << 6 | 1 << 8);
        // GET_CONFIG_SIZE 4, GET_CONFIG_DATA 5, SET_CONFIG_DATA 6, CALL 10.
        let none = DimmCommands::empty();
        assert_eq!(
            labelled.cmd_mask(true, none),
            1 << 4 | 1 << 5 | 1 << 6 | 1 << 10
        );
        assert_eq!(labelled.cmd_mask(false, none), 1 << 4 | 1 << 5 | 1 << 10);
        let plain = DimmOptions::default();
        assert_eq!(plain.flags(), 1 << 8);
        assert_eq!(plain.cmd_mask(true, none), 0);
        // C's NVDIMM_STANDARD_CMDMASK of an Intel DIMM offering every
        // function: SMART 1 to VENDOR 9, labels included.
        let native = DimmCommands::from_command_numbers(0x3fe);
        assert_eq!(labelled.cmd_mask(true, native), 0x3fe | 1 << 10);
        assert_eq!(plain.cmd_mask(true, native), 0x38e);
    }

    #[test]
    fn region_flags() {
        let map = [Mapping {
            dimm: DimmId { bus: 0, index: 0 },
            start: 0,
            size: 1 << 20,
            position: 0,
        }];
        let mut r = RegionOptions {
            kind: RegionKind::Pmem,
            start: 1 << 30,
            size: 1 << 20,
            mappings: &map,
            numa_node: -1,
            target_node: -1,
            interleave_set: None,
            persistence: Some(Persistence::CpuCache),
            async_flush: false,
            pagemap: false,
            of_node: None,
        };
        // ND_REGION_PAGEMAP 0, PERSIST_CACHE 1, PERSIST_MEMCTRL 2, ASYNC 3.
        assert_eq!(r.flags(), 1 << 1);
        r.persistence = Some(Persistence::MemoryController);
        r.async_flush = true;
        r.pagemap = true;
        assert_eq!(r.flags(), 1 << 0 | 1 << 2 | 1 << 3);
        assert!(r.validate().is_ok());
        // An unaligned range and no mappings are the provider's business.
        r.start += 0x200;
        assert!(r.validate().is_ok());
        r.mappings = &[];
        assert!(r.validate().is_ok());
        r.size = 0;
        assert!(r.validate().is_err());
        r.size = u64::MAX;
        assert!(r.validate().is_err());
        r.size = 1 << 20;
        // An unaligned mapping is refused (as the core refuses it).
        let odd = [Mapping {
            start: 0x200,
            ..map[0]
        }];
        r.mappings = &odd;
        assert!(r.validate().is_err());
    }

    #[test]
    fn bus_command_numbers() {
        assert_eq!(
            BusCommandKind::from_number(bindings::ND_CMD_ARS_START),
            Some(BusCommandKind::ArsStart)
        );
        assert_eq!(BusCommandKind::ArsStatus.number(), 3);
        assert_eq!(BusCommandKind::Call.number(), 10);
        // A DIMM command, and numbers past the mask.
        assert_eq!(
            BusCommandKind::from_number(bindings::ND_CMD_GET_CONFIG_DATA),
            None
        );
        assert_eq!(BusCommandKind::from_number(64), None);
        assert_eq!(BusCommandKind::from_number(u32::MAX), None);
        let c = BusCommands::from_command_numbers(1 << 1 | 1 << 4 | 1 << 5 | 1 << 63);
        assert!(c.contains(BusCommandKind::ArsCap));
        assert!(c.contains(BusCommandKind::ClearError));
        assert!(!c.contains(BusCommandKind::ArsStart));
        assert_eq!(c.bits(), 1 << 1 | 1 << 4);
    }

    #[test]
    fn family_mask() {
        assert_eq!(Family::mask(&[Family::Intel, Family::Papr]), 1 | 1 << 5);
        assert_eq!(Family::mask(&[]), 0);
    }

    #[test]
    fn ocxl_family_mask() {
        assert_eq!(Family::Ocxl as u32, 6);
        assert_eq!(Family::mask(&[Family::Ocxl]), 1 << 6);
        assert_eq!(
            Family::mask(&[Family::Papr, Family::Ocxl]),
            1 << bindings::NVDIMM_FAMILY_PAPR | 1 << bindings::NVDIMM_FAMILY_OCXL
        );
    }
}

#[cfg(CONFIG_RUST_LIBNVDIMM_KUNIT_TEST)]
#[macros::kunit_tests(rust_nvdimm_bus)]
mod bus_tests {
    use super::*;
    use crate::faux;
    use core::sync::atomic::AtomicUsize;

    /// Counts the callbacks that receive the bus.
    struct Counting {
        calls: AtomicUsize,
    }

    impl Counting {
        fn new() -> Self {
            Self {
                calls: AtomicUsize::new(0),
            }
        }

        fn calls(&self) -> usize {
            self.calls.load(Ordering::Relaxed)
        }
    }

    crate::nvdimm_attributes! {
        enum Knob in c"kunit" {
            Knob = c"knob": ReadWrite,
        }
    }

    #[vtable]
    impl Provider for Counting {
        type Dimm = u32;
        type Region = ();
        type BusAttribute = Knob;
        type DimmAttribute = NoAttributes;
        type RegionAttribute = NoAttributes;

        fn bus_command(&self, bus: &LockedBus<'_, Self>, _cmd: BusCommand<'_>) -> Result<i32> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            // Uses the core's bus: a null one would fault here.
            bus.notify_bus_attribute(Knob::Knob);
            Ok(0)
        }

        fn store_bus_attribute(&self, bus: &Bus<Self>, _attr: Knob, _data: &[u8]) -> Result {
            self.calls.fetch_add(1, Ordering::Relaxed);
            bus.notify_bus_attribute(Knob::Knob);
            Ok(())
        }
    }

    fn options() -> BusOptions<'static> {
        BusOptions {
            provider_name: c"rust_nvdimm_kunit",
            of_node: None,
            dimm_families: &[],
            bus_commands: BusCommandKind::ArsCap.into(),
            bus_families: BusFamilies::empty(),
        }
    }

    fn module() -> &'static ThisModule {
        crate::module::this_module::<crate::LocalModule>()
    }

    /// A bound device to own the test buses.
    fn owner() -> Result<faux::Registration> {
        faux::Registration::new(c"rust_nvdimm_kunit", None)
    }

    /// The owner as a plain bound device.
    fn bound(owner: &faux::Registration) -> &device::Device<device::Bound> {
        let faux: &faux::Device<device::Bound> = owner.as_ref();
        faux.as_ref()
    }

    #[test]
    fn callbacks_wait_for_registration() -> Result {
        let owner = owner()?;
        // What the core's callbacks find while nvdimm_bus_register() runs.
        let bus = Bus::new(module(), bound(&owner), &options(), Counting::new())?;
        let mut buf = [0u8; 16];
        assert_eq!(
            bus.bus_command(bindings::ND_CMD_ARS_CAP, &mut buf),
            Err(EBUSY)
        );
        assert_eq!(bus.store_bus_attribute(0, b"1\n"), Err(EBUSY));
        let mut rc = 0;
        // SAFETY: `desc` is the descriptor of a `Bus<Counting>`; `buf` and
        // `rc` are valid for the call.
        let ret = unsafe {
            Bus::<Counting>::ndctl_callback(
                bus.desc.get(),
                ptr::null_mut(),
                bindings::ND_CMD_ARS_CAP,
                buf.as_mut_ptr().cast(),
                buf.len() as c_uint,
                &mut rc,
            )
        };
        assert_eq!(ret, EBUSY.to_errno());
        assert_eq!(rc, EBUSY.to_errno());
        assert_eq!(bus.provider().calls(), 0);

        // Once registered, the provider gets them.
        let bus = Bus::register(module(), bound(&owner), None, &options(), Counting::new())?;
        assert_eq!(bus.bus_command(bindings::ND_CMD_ARS_CAP, &mut buf), Ok(0));
        assert_eq!(bus.store_bus_attribute(0, b"1\n"), Ok(()));
        assert_eq!(bus.provider().calls(), 2);
        Ok(())
    }

    #[test]
    fn ids_belong_to_their_bus() -> Result {
        let owner = owner()?;
        let one = Bus::register(module(), bound(&owner), None, &options(), Counting::new())?;
        let two = Bus::register(module(), bound(&owner), None, &options(), Counting::new())?;
        let a = one.add_dimm(7u32, &DimmOptions::default())?;
        let b = two.add_dimm(8u32, &DimmOptions::default())?;
        assert_eq!(one.dimm(a).map(|d| *d), Some(7));
        assert_eq!(two.dimm(b).map(|d| *d), Some(8));
        // Same index, other bus: refused.
        assert!(one.dimm(b).is_none());
        assert!(two.dimm(a).is_none());
        let map = [Mapping {
            dimm: b,
            start: 0,
            size: 1 << 20,
            position: 0,
        }];
        let region = RegionOptions {
            kind: RegionKind::Volatile,
            start: 1 << 40,
            size: 1 << 20,
            mappings: &map,
            numa_node: -1,
            target_node: -1,
            interleave_set: None,
            persistence: None,
            async_flush: false,
            pagemap: false,
            of_node: None,
        };
        assert_eq!(one.add_region((), &region).err(), Some(EINVAL));
        Ok(())
    }

    /// A provider with native commands and two security operations.
    struct Secure {
        flags_asked: AtomicUsize,
    }

    #[vtable]
    impl Provider for Secure {
        type Dimm = ();
        type Region = ();
        type BusAttribute = NoAttributes;
        type DimmAttribute = NoAttributes;
        type RegionAttribute = NoAttributes;

        fn dimm_command(&self, _dimm: &(), mut cmd: NativeCommand<'_>) -> Result<i32> {
            assert_eq!(cmd.kind(), DimmCommandKind::Smart);
            cmd.output()[0] = 4;
            // A firmware status the provider translates for the kernel.
            Ok(EIO.to_errno())
        }

        fn security_flags(
            &self,
            _dimm: &(),
            _kind: PassphraseKind,
            overwriting: bool,
        ) -> SecurityFlags {
            assert!(!overwriting);
            self.flags_asked.fetch_add(1, Ordering::Relaxed);
            SecurityFlag::Unlocked | SecurityFlag::Frozen
        }

        fn security_freeze(&self, _dimm: &()) -> Result {
            Ok(())
        }
    }

    #[test]
    fn security_ops_follow_the_provider() {
        let ops = Bus::<Secure>::SECURITY_OPS;
        assert!(ops.get_flags.is_some() && ops.freeze.is_some());
        assert!(ops.unlock.is_none() && ops.change_key.is_none());
        assert!(ops.overwrite.is_none() && ops.query_overwrite.is_none());
        let none = Bus::<Counting>::SECURITY_OPS;
        assert!(none.get_flags.is_none() && none.freeze.is_none());
        // NVDIMM_SECURITY_UNLOCKED 1, FROZEN 3.
        let flags = SecurityFlag::Unlocked | SecurityFlag::Frozen;
        assert_eq!(flags.bits(), 1 << 1 | 1 << 3);
        assert_eq!(Passphrase::LEN, 32);
    }

    #[test]
    fn dimm_features() -> Result {
        let owner = owner()?;
        let secure = || Secure {
            flags_asked: AtomicUsize::new(0),
        };
        let bus = Bus::register(module(), bound(&owner), None, &options(), secure())?;
        let features = DimmFeatures {
            commands: DimmCommandKind::Smart.into(),
            id: Some(c"8086-a1-1234-00000001"),
            security: true,
            firmware: false,
            labels_read_only: false,
        };
        let id = bus.add_dimm_with((), &DimmOptions::default(), &features)?;
        // The core asked for the user and the master state while creating
        // the DIMM.
        assert!(bus.provider().flags_asked.load(Ordering::Relaxed) >= 2);
        let long = DimmFeatures {
            id: Some(c"8086-a1-1234-000000012"),
            ..features
        };
        assert_eq!(
            bus.add_dimm_with((), &DimmOptions::default(), &long).err(),
            Some(EINVAL)
        );
        let nvdimm = bus.dimms.lock()[id.index].nvdimm;
        let mut buf = [0u8; 132];
        let mut rc = 0;
        // SAFETY: `desc` is the descriptor of this `Bus<Secure>` and
        // `nvdimm` one of its DIMMs; `buf` and `rc` are valid for the call.
        let call = |cmd: u32, buf: &mut [u8], rc: &mut c_int| unsafe {
            Bus::<Secure>::ndctl_callback(
                bus.desc.get(),
                nvdimm,
                cmd,
                buf.as_mut_ptr().cast(),
                buf.len() as c_uint,
                rc,
            )
        };
        // The command ran; its translated status goes to in-kernel callers.
        assert_eq!(call(bindings::ND_CMD_SMART, &mut buf, &mut rc), 0);
        assert_eq!((rc, buf[0]), (EIO.to_errno(), 4));
        // Too short for the core's layout; not one of the DIMM's commands.
        assert_eq!(
            call(bindings::ND_CMD_SMART, &mut buf[..100], &mut rc),
            EINVAL.to_errno()
        );
        assert_eq!(
            call(bindings::ND_CMD_DIMM_FLAGS, &mut buf, &mut rc),
            ENOTTY.to_errno()
        );
        // Native commands need the callback; security operations need at
        // least `security_flags`, which the core always calls.
        let plain = Bus::register(module(), bound(&owner), None, &options(), Counting::new())?;
        assert_eq!(
            plain
                .add_dimm_with(0u32, &DimmOptions::default(), &features)
                .err(),
            Some(EINVAL)
        );
        let security = DimmFeatures {
            security: true,
            ..DimmFeatures::default()
        };
        assert_eq!(
            plain
                .add_dimm_with(0u32, &DimmOptions::default(), &security)
                .err(),
            Some(EINVAL)
        );
        Ok(())
    }

    #[test]
    fn unbind_unregisters_a_leaked_bus() -> Result {
        let owner = owner()?;
        let bus = Bus::register(module(), bound(&owner), None, &options(), Counting::new())?;
        let id = bus.add_dimm(1u32, &DimmOptions::default())?;
        // What a driver may do in safe code: never drop its registration
        // (`mem::forget`). Kept as a raw pointer, so that the test can free
        // it at the end and leave no device ids taken for the boot's buses.
        // SAFETY: The box is rebuilt from this pointer exactly once, below,
        // and never moved out of.
        let raw = KBox::into_raw(unsafe { Pin::into_inner_unchecked(bus) });
        // SAFETY: `raw` is a live allocation until it is rebuilt below.
        let leaked = unsafe { &*raw };
        assert_eq!(leaked.dimm(id).map(|d| *d), Some(1));
        // The owner unbinds: its devres action unregisters the bus.
        drop(owner);
        assert!(leaked.raw().is_null());
        assert_eq!(
            leaked.add_dimm(2u32, &DimmOptions::default()).err(),
            Some(ENXIO)
        );
        assert_eq!(leaked.add_badrange(1 << 40, 4096), Err(ENXIO));
        // Notifying a bus that is gone does nothing.
        leaked.notify_bus_attribute(Knob::Knob);
        // The late drop finds the action gone and only drops references.
        // SAFETY: `raw` came from `KBox::into_raw` above; `leaked` is not
        // used after this.
        drop(unsafe { KBox::from_raw(raw) });
        Ok(())
    }
}

/// The example of `Documentation/nvdimm-rs/rust-libnvdimm.rst`, which
/// includes the lines between the `ANCHOR` comments: compiled with the
/// KUnit suites and run at boot, so the documented API is the one that
/// builds.
#[cfg(CONFIG_RUST_LIBNVDIMM_KUNIT_TEST)]
#[macros::kunit_tests(rust_nvdimm_example)]
mod example {
    // ANCHOR: example
    use crate::{
        device::{Bound, Device},
        nvdimm::{
            Bus, BusCommands, BusFamilies, BusOptions, DimmOptions, LabelArea, Mapping,
            NoAttributes, Provider, RegionKind, RegionOptions,
        },
        prelude::*,
        sync::Mutex,
        ThisModule,
    };

    /// A DIMM whose labels live in memory.
    #[pin_data]
    struct LabelStore {
        #[pin]
        area: Mutex<KVec<u8>>,
    }

    impl LabelStore {
        fn new(size: usize) -> impl PinInit<Self, Error> {
            try_pin_init!(Self {
                area <- crate::new_mutex!(KVec::from_elem(0u8, size, GFP_KERNEL)?),
            })
        }
    }

    struct Sample;

    #[vtable]
    impl Provider for Sample {
        type Dimm = LabelStore;
        type Region = ();
        type BusAttribute = NoAttributes;
        type DimmAttribute = NoAttributes;
        type RegionAttribute = NoAttributes;

        // Offsets and lengths arrive checked against the DIMM's LabelArea.
        fn read_labels(&self, dimm: &LabelStore, offset: u32, out: &mut [u8]) -> Result {
            let area = dimm.area.lock();
            let start = offset as usize;
            out.copy_from_slice(area.get(start..start + out.len()).ok_or(EINVAL)?);
            Ok(())
        }

        fn write_labels(&self, dimm: &LabelStore, offset: u32, data: &[u8]) -> Result {
            let mut area = dimm.area.lock();
            let start = offset as usize;
            let dst = area.get_mut(start..start + data.len()).ok_or(EINVAL)?;
            dst.copy_from_slice(data);
            Ok(())
        }
    }

    /// Registers a bus owned by `dev` with one labelled DIMM and one region
    /// over `size` bytes at `start` (firmware-described pmem, or address
    /// space nothing else uses: the bus claims it).
    fn serve(
        module: &'static ThisModule,
        dev: &Device<Bound>,
        start: u64,
        size: u64,
    ) -> Result<Pin<KBox<Bus<Sample>>>> {
        let bus = Bus::register(
            module,
            dev,
            None,
            &BusOptions {
                provider_name: c"sample",
                of_node: None,
                dimm_families: &[],
                bus_commands: BusCommands::empty(),
                bus_families: BusFamilies::empty(),
            },
            Sample,
        )?;
        let dimm = bus.add_dimm(
            LabelStore::new(128 << 10),
            &DimmOptions {
                label_area: Some(LabelArea {
                    size: 128 << 10,
                    max_xfer: 4096,
                }),
                ..DimmOptions::default()
            },
        )?;
        bus.add_region(
            (),
            &RegionOptions {
                kind: RegionKind::Pmem,
                start,
                size,
                mappings: &[Mapping {
                    dimm,
                    start: 0,
                    size,
                    position: 0,
                }],
                numa_node: crate::bindings::NUMA_NO_NODE,
                target_node: crate::bindings::NUMA_NO_NODE,
                interleave_set: None,
                persistence: None,
                async_flush: false,
                pagemap: false,
                of_node: None,
            },
        )?;
        Ok(bus)
    }
    // ANCHOR_END: example

    #[test]
    fn example_serves_a_region() -> Result {
        let owner = crate::faux::Registration::new(c"rust_nvdimm_example", None)?;
        let faux: &crate::faux::Device<Bound> = owner.as_ref();
        // 512 GiB: above the RAM, PCI windows and hotplug areas of the
        // test guests, below their physical address limits.
        let bus = serve(
            crate::module::this_module::<crate::LocalModule>(),
            faux.as_ref(),
            1 << 39,
            16 << 20,
        )?;
        // System RAM is refused, whatever the provider says.
        let ram = serve(
            crate::module::this_module::<crate::LocalModule>(),
            faux.as_ref(),
            0x100_0000,
            16 << 20,
        );
        assert_eq!(ram.err(), Some(EBUSY));
        // An unsized label area needs a provider that asks the DIMM.
        let unsized_area = bus.add_dimm(
            LabelStore::new(16),
            &DimmOptions {
                label_area: Some(LabelArea::UNSIZED),
                ..DimmOptions::default()
            },
        );
        assert_eq!(unsized_area.err(), Some(EINVAL));
        drop(bus);
        Ok(())
    }
}
