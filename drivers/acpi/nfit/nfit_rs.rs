// SPDX-License-Identifier: GPL-2.0

//! Rust NFIT consumer: the ACPI NVDIMM root device (`ACPI0012`) driver.
//!
//! Reads the NFIT (through `_FIT` when the platform has it, as the C driver
//! does), validates all of it before registering anything, and registers an
//! nvdimm bus with one DIMM per NFIT device handle and one region per
//! persistent-memory, volatile or virtual disk/CD SPA range, through
//! `kernel::nvdimm`. Labels go through
//! the Intel `_DSM` functions 4/5/6, or `_LSI`/`_LSR`/`_LSW` on DIMMs of
//! the other `_DSM` families (Hyper-V's). The result is meant to be
//! indistinguishable from the C `nfit` driver's for `ndctl`: the same
//! `nfit/*` DIMM attributes, interleave-set cookies and persistence domain.

use core::{
    fmt::Write,
    sync::atomic::{AtomicBool, Ordering},
};
use kernel::{
    acpi::{
        self,
        node::{Guid, Node, Notifier, NotifyHandler},
    },
    bindings,
    device::{self, Core},
    nvdimm::{
        self, AttributeOutput, Bus, BusCommand, BusCommandKind, BusCommands, BusFamily, BusOptions,
        CallPackage, DimmCommands, DimmFeatures, DimmId, DimmOptions, Family, FirmwareCapability,
        FirmwareResult, FirmwareState, FirmwareTrigger, LabelArea, LockedBus, Mapping,
        NativeCommand, Passphrase, PassphraseKind, Persistence, Provider, RegionId, RegionKind,
        RegionOptions, SecurityFlag, SecurityFlags, MAX_FLUSH_HINTS,
    },
    platform,
    prelude::*,
    str::CString,
    sync::{aref::ARef, Arc, Mutex, SetOnce},
};

// `core`-only parsers shared with the host crate `tools/nfit`, which tests
// and fuzzes them and uses parts this driver does not.
#[path = "nfit_rs/ars.rs"]
#[allow(dead_code, unreachable_pub)]
mod ars;
#[path = "nfit_rs/dsm.rs"]
#[allow(dead_code, unreachable_pub)]
mod dsm;
#[path = "nfit_rs/intel.rs"]
#[allow(dead_code, unreachable_pub)]
mod intel;
#[path = "nfit_rs/mce.rs"]
mod mce;
#[path = "nfit_rs/poison.rs"]
#[allow(dead_code, unreachable_pub)]
mod poison;
#[path = "nfit_rs/scrub.rs"]
mod scrub;
#[path = "nfit_rs/table.rs"]
#[allow(dead_code, unreachable_pub)]
mod table;

use scrub::{Scrub, ScrubbedBus, Scrubber};
use table::{Dcr, Memdev, Nfit, SpaKind};

/// `_DSM` interface of the NVDIMM root device (ARS, error injection).
const ROOT_DSM: Guid = Guid::new(
    0x2f10e7a4,
    0x9e91,
    0x11e4,
    [0x89, 0xd3, 0x12, 0x3b, 0x93, 0xf7, 0x5c, 0xba],
);
/// Root functions the C driver looks for: ARS capabilities, start, status,
/// clear error (1-4), translate SPA (5), error-inject set/clear/get (7-9).
const ROOT_FUNCTIONS: u64 = 0b11_1011_1110;
/// Revision of the root `_DSM` interface.
const DSM_REVISION: u64 = 1;
/// The Intel `_DSM` label functions: size, read, write.
const LABEL_FUNCTIONS: u64 =
    1 << dsm::FUNC_LABEL_SIZE | 1 << dsm::FUNC_LABEL_READ | 1 << dsm::FUNC_LABEL_WRITE;
/// Bit of `Dcr::valid_fields`: manufacturing location and date are valid.
const DCR_MFG_INFO_VALID: u8 = 1;

/// What the driver knows of one DIMM.
#[pin_data]
struct Dimm {
    /// The DIMM's ACPI device; `None` for a DIMM registered without one
    /// (`force_enable_dimms`), whose firmware calls fail with `ENOTTY`.
    node: Option<Node>,
    handle: u32,
    physical_id: u16,
    /// Memory device flags of all the DIMM's mappings, or-ed.
    flags: u16,
    dcr: Dcr,
    /// The DIMM's `_DSM` family and functions; `None` when it speaks no
    /// known family.
    dsm: Option<DimmDsm>,
    /// Labels go through `_LSR`/`_LSW` rather than the Intel `_DSM`.
    label_methods: bool,
    /// Whether one of the DIMM's mappings is in a persistent-memory range.
    pmem: bool,
    /// The last shutdown, from SMART at probe (Intel family).
    shutdown: intel::ShutdownStatus,
    /// Firmware activation state, as C caches it.
    #[pin]
    activation: Mutex<intel::DimmActivation>,
}

/// The `nfit/id` string of a DIMM: vendor, optional manufacturing data,
/// serial, printed the way the C driver does (byte-swapped fields
/// included). It also names the DIMM's key.
struct DimmIdText<'a>(&'a Dcr);

impl core::fmt::Display for DimmIdText<'_> {
    fn fmt(&self, out: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let d = self.0;
        if d.valid_fields & DCR_MFG_INFO_VALID != 0 {
            write!(
                out,
                "{:04x}-{:02x}-{:04x}-{:08x}",
                d.vendor_id.swap_bytes(),
                d.manufacturing_location,
                d.manufacturing_date.swap_bytes(),
                d.serial_number.swap_bytes()
            )
        } else {
            write!(
                out,
                "{:04x}-{:08x}",
                d.vendor_id.swap_bytes(),
                d.serial_number.swap_bytes()
            )
        }
    }
}

impl Dimm {
    /// The DIMM's ACPI device: as C's `acpi_nfit_ctl()`, a DIMM without
    /// one answers no call (`ENOTTY`).
    fn acpi(&self) -> Result<&Node> {
        self.node.as_ref().ok_or(ENOTTY)
    }

    /// Calls a function of the DIMM's `_DSM` family.
    fn call_dsm(&self, func: u64, input: Option<&[u8]>) -> Result<acpi::node::Object> {
        let d = self.dsm.ok_or(ENOTTY)?;
        self.acpi()?.evaluate_dsm(
            &Guid(d.info.guid),
            dsm::revision(d.info.family, func),
            func,
            input,
        )
    }

    /// Calls an Intel function as C's security and activation operations
    /// do (an `ND_CMD_CALL` through `acpi_nfit_ctl()`): only offered
    /// functions of the DIMM's family (`ENOTTY`); a failed evaluation or an
    /// answer that is not a buffer is `EINVAL`; the reply is `N` bytes,
    /// zero-filled where the answer is shorter.
    fn intel_call<const N: usize>(&self, func: u64, input: &[u8]) -> Result<[u8; N]> {
        let d = self.dsm.ok_or(ENOTTY)?;
        if d.info.family != dsm::FAMILY_INTEL || func >= 64 || d.mask & (1 << func) == 0 {
            return Err(ENOTTY);
        }
        let answer = self.call_dsm(func, Some(input)).map_err(|_| EINVAL)?;
        let bytes = answer.get().buffer().ok_or(EINVAL)?;
        Ok(intel::reply::<N>(bytes))
    }

    /// A security function's status, translated as C translates it for
    /// `op`.
    fn security_call<const N: usize>(
        &self,
        op: intel::SecurityOp,
        func: u64,
        input: &[u8],
    ) -> Result {
        let reply = self.intel_call::<N>(func, input)?;
        match op.errno(intel::status(&reply)) {
            0 => Ok(()),
            e => Err(Error::from_errno(e)),
        }
    }

    /// The firmware activation DIMM info, `None` when the call fails.
    fn activation_info(&self) -> Option<[u8; intel::DIMMINFO_LEN]> {
        self.intel_call(intel::FUNC_FWA_DIMMINFO, &[]).ok()
    }

    /// Reads label bytes at `offset` into `out` (`_LSR` or function 5).
    fn read_labels(&self, offset: u32, out: &mut [u8]) -> Result {
        let len = u32::try_from(out.len())?;
        let flat;
        let obj;
        let answer: &[u8] = if self.label_methods {
            let pkg = self
                .acpi()?
                .evaluate(
                    c"_LSR",
                    &[
                        acpi::node::Arg::Integer(offset.into()),
                        acpi::node::Arg::Integer(len.into()),
                    ],
                )?
                .ok_or(EIO)?;
            flat = package_bytes(pkg.get())?;
            &flat
        } else {
            obj = self.call_dsm(dsm::FUNC_LABEL_READ, Some(&dsm::label_range(offset, len)))?;
            obj.get().buffer().ok_or(EIO)?
        };
        let data = dsm::label_data(answer, out.len()).map_err(|e| self.label_errno(e))?;
        out.copy_from_slice(data);
        Ok(())
    }

    /// Writes label bytes at `offset` (`_LSW` or function 6).
    fn write_labels(&self, offset: u32, data: &[u8]) -> Result {
        let len = u32::try_from(data.len())?;
        let obj;
        let flat;
        let status: &[u8] = if self.label_methods {
            let obj = self
                .acpi()?
                .evaluate(
                    c"_LSW",
                    &[
                        acpi::node::Arg::Integer(offset.into()),
                        acpi::node::Arg::Integer(len.into()),
                        acpi::node::Arg::Buffer(data),
                    ],
                )?
                .ok_or(EIO)?;
            // `_LSW` answers its status as an integer; as C, its low 32 bits.
            let status = obj.get().integer().ok_or(EIO)?;
            flat = (status as u32).to_le_bytes();
            &flat
        } else {
            let mut input = KVec::with_capacity(data.len() + 8, GFP_KERNEL)?;
            input.extend_from_slice(&dsm::label_range(offset, len), GFP_KERNEL)?;
            input.extend_from_slice(data, GFP_KERNEL)?;
            obj = self.call_dsm(dsm::FUNC_LABEL_WRITE, Some(&input))?;
            obj.get().buffer().ok_or(EIO)?
        };
        dsm::payload(status).map_err(|e| self.label_errno(e))?;
        Ok(())
    }

    /// The error of a failed label transfer, as C's
    /// `xlat_nvdimm_status()`: a locked label area is `EACCES` (status 3 of
    /// `_LSR`/`_LSW`); anything else, any non-zero status of Intel
    /// functions 5 and 6 included (4 is a hardware error there; a lock
    /// shows in function 4's extended status), `EIO`.
    fn label_errno(&self, e: dsm::DsmError) -> Error {
        match e {
            dsm::DsmError::Status(dsm::LABELS_LOCKED) if self.label_methods => EACCES,
            _ => EIO,
        }
    }
}

/// A DIMM's `_DSM` command family and the functions it offers.
#[derive(Clone, Copy)]
struct DimmDsm {
    info: &'static dsm::FamilyInfo,
    /// Offered functions of the family (function 0 excluded).
    mask: u64,
}

/// The bytes of an `_LSI`/`_LSR` package as the C driver flattens it:
/// integers as their low four bytes, buffers as they are. Anything else in
/// the package is a firmware bug, answered with `EIO`.
fn package_bytes(obj: acpi::node::ObjectRef<'_>) -> Result<KVec<u8>> {
    if obj.kind() != bindings::ACPI_TYPE_PACKAGE {
        return Err(EIO);
    }
    let mut out = KVec::new();
    for i in 0..obj.len() {
        let e = obj.element(i).ok_or(EIO)?;
        if let Some(v) = e.integer() {
            out.extend_from_slice(&(v as u32).to_le_bytes(), GFP_KERNEL)?;
        } else if let Some(b) = e.buffer() {
            out.extend_from_slice(b, GFP_KERNEL)?;
        } else {
            return Err(EIO);
        }
    }
    Ok(out)
}

kernel::nvdimm_attributes! {
    /// The `nfit/*` DIMM attributes, in the C driver's order.
    enum DimmAttr in c"nfit" {
        Handle = c"handle",
        PhysId = c"phys_id",
        Vendor = c"vendor",
        Device = c"device",
        RevId = c"rev_id",
        SubsystemVendor = c"subsystem_vendor",
        SubsystemDevice = c"subsystem_device",
        SubsystemRevId = c"subsystem_rev_id",
        Format = c"format",
        Formats = c"formats",
        Format1 = c"format1",
        Serial = c"serial",
        Flags = c"flags",
        Id = c"id",
        Family = c"family",
        DsmMask = c"dsm_mask",
        DirtyShutdown = c"dirty_shutdown",
    }
}

kernel::nvdimm_attributes! {
    /// The `nfit/*` region attributes (C's `acpi_nfit_region_attribute_groups`).
    enum RegionAttr in c"nfit" {
        RangeIndex = c"range_index",
    }
}

kernel::nvdimm_attributes! {
    /// The `nfit/*` bus attributes. `scrub` exists when the platform scrubs
    /// and `firmware_activate_noidle` when it activates firmware (as in C).
    enum BusAttr in c"nfit" {
        Revision = c"revision",
        HwErrorScrub = c"hw_error_scrub": ReadWrite,
        DsmMask = c"dsm_mask",
        Scrub = c"scrub": ReadWrite,
        FirmwareActivateNoidle = c"firmware_activate_noidle": ReadWrite,
    }
}

#[pin_data]
struct NfitBus {
    /// Revision of the NFIT (the static table's, as the C driver reports).
    revision: u8,
    /// Root-device DSM functions (ARS and error injection) the platform has.
    bus_dsm_mask: u64,
    /// The NVDIMM root device, whose `_DSM` serves the bus commands.
    root: Node,
    /// The platform device, for messages.
    dev: ARef<device::Device>,
    /// The persistent-memory ranges and their background scrub.
    #[pin]
    scrubber: Scrubber,
    /// Every persistent-memory range registered (start, length, region),
    /// scrubbed or not: where a machine check's address is looked up.
    #[pin]
    ranges: Mutex<KVec<(u64, u64, RegionId)>>,
    /// `nfit/hw_error_scrub`: an uncorrectable-error notification scans
    /// the media again instead of asking for the previous scan's records.
    hw_error_scrub: AtomicBool,
    /// Functions of the root's Intel bus family (firmware activation) the
    /// platform has, as C's `family_dsm_mask[NVDIMM_BUS_FAMILY_INTEL]`.
    intel_bus_mask: u64,
    /// Firmware activation state of the bus, as C caches it.
    #[pin]
    activation: Mutex<intel::BusActivation>,
    /// An invalid activation state was reported (C says so once).
    activation_warned: AtomicBool,
}

/// Root functions a scrub needs: ARS capabilities, start, status.
const ROOT_ARS: u64 = 1 << ars::FUNC_ARS_CAP | 1 << ars::FUNC_ARS_START | 1 << ars::FUNC_ARS_STATUS;

/// What was written to a sysfs attribute, without the newline and the NUL
/// libndctl appends.
fn written_value(data: &[u8]) -> &[u8] {
    data.iter()
        .rposition(|&c| !matches!(c, b'\0' | b'\n'))
        .map_or(&data[..0], |end| &data[..=end])
}

impl NfitBus {
    /// Whether the platform scrubs (C's `ars_supported()`).
    fn ars_supported(&self) -> bool {
        self.bus_dsm_mask & ROOT_ARS == ROOT_ARS
    }

    /// Whether the platform activates firmware (C's
    /// `intel_fwa_supported()`: both Intel bus functions).
    fn activation_supported(&self) -> bool {
        self.intel_bus_mask == intel::BUS_FWA_FUNCTIONS
    }

    /// Calls a function of the root's Intel bus family as C's bus-level
    /// `ND_CMD_CALL` does; `None` when the evaluation fails or the answer
    /// is not a buffer (C's `EINVAL`).
    fn intel_bus_call<const N: usize>(&self, func: u64, input: &[u8]) -> Option<[u8; N]> {
        let answer = self
            .root
            .evaluate_dsm(
                &Guid(intel::INTEL_BUS_GUID),
                DSM_REVISION,
                func,
                Some(input),
            )
            .ok()?;
        let bytes = answer.get().buffer()?;
        Some(intel::reply::<N>(bytes))
    }

    /// The firmware activation bus info.
    fn activation_info(&self) -> Option<[u8; intel::BUSINFO_LEN]> {
        self.intel_bus_call(intel::BUS_FUNC_FWA_BUSINFO, &[])
    }

    /// Says once that the platform reported an invalid activation state.
    fn invalid_activation_state(&self, s: intel::InvalidState) {
        if !self.activation_warned.swap(true, Ordering::Relaxed) {
            dev_err!(self.dev, "invalid firmware activate state {}\n", s.0);
        }
    }

    /// Activations so far (a DIMM's cached state is stale when it changed).
    fn activation_count(&self) -> u32 {
        self.activation.lock().count
    }

    /// Evaluates root `_DSM` function `func` with `input`; the output buffer.
    fn root_dsm(&self, func: u32, input: &[u8]) -> Result<KVec<u8>> {
        let answer =
            self.root
                .evaluate_dsm(&ROOT_DSM, DSM_REVISION, u64::from(func), Some(input))?;
        let bytes = answer.get().buffer().ok_or(EIO)?;
        let mut out = KVec::with_capacity(bytes.len(), GFP_KERNEL)?;
        out.extend_from_slice(bytes, GFP_KERNEL)?;
        Ok(out)
    }
}

/// Whether a registered range gets a scan after the previous scan's
/// records (C's `ars_register()`: unless `no_init_ars`).
fn init_ars() -> bool {
    !module_parameters::no_init_ars.value()
}

/// A range's NUMA node and target node, as C's
/// `acpi_nfit_register_region()` gives them: from the range's proximity
/// domain when the firmware marks it valid (the nearest online node, and
/// the domain's own node), and where that names no node, from the address
/// (the node hot-added memory there would join, and the node the firmware's
/// affinity table gives the reserved range), each fallback logged as C
/// logs it.
fn region_nodes(dev: &device::Device, spa: &table::Spa) -> (i32, i32) {
    const NO_NODE: i32 = bindings::NUMA_NO_NODE;
    let (mut numa_node, mut target_node) = if spa.flags & table::SPA_PROXIMITY_VALID != 0 {
        let node = acpi::node::pxm_to_node(spa.proximity_domain);
        (nvdimm::nearest_online_node(node), node)
    } else {
        (NO_NODE, NO_NODE)
    };
    let end = spa.address.wrapping_add(spa.length).wrapping_sub(1);
    if numa_node == NO_NODE {
        numa_node = nvdimm::memory_node(spa.address);
        dev_info!(
            dev,
            "changing numa node from {NO_NODE} to {numa_node} for nfit region [{:#018x}-{end:#018x}]\n",
            spa.address
        );
    }
    if target_node == NO_NODE {
        target_node = nvdimm::reserved_memory_node(spa.address);
        dev_info!(
            dev,
            "changing target node from {NO_NODE} to {target_node} for nfit region [{:#018x}-{end:#018x}]\n",
            spa.address
        );
    }
    (numa_node, target_node)
}

/// The module parameters that decide a DIMM's `_DSM` family and functions.
fn dsm_policy() -> dsm::Policy {
    dsm::Policy {
        default_family: module_parameters::default_dsm_family.value(),
        override_mask: module_parameters::override_dsm_mask.value(),
        disable_vendor_specific: module_parameters::disable_vendor_specific.value(),
    }
}

#[vtable]
impl Provider for NfitBus {
    type Dimm = Dimm;
    /// The SPA range index of the region's range.
    type Region = u16;

    type BusAttribute = BusAttr;
    type DimmAttribute = DimmAttr;
    type RegionAttribute = RegionAttr;

    fn show_region_attribute(
        &self,
        range_index: &u16,
        attr: RegionAttr,
        out: &mut AttributeOutput<'_>,
    ) -> Result {
        match attr {
            RegionAttr::RangeIndex => writeln!(out, "{range_index}").map_err(|_| EOVERFLOW),
        }
    }

    fn show_bus_attribute(&self, attr: BusAttr, out: &mut AttributeOutput<'_>) -> Result {
        match attr {
            BusAttr::Revision => writeln!(out, "{}", self.revision),
            BusAttr::HwErrorScrub => writeln!(
                out,
                "{}",
                u8::from(self.hw_error_scrub.load(Ordering::Relaxed))
            ),
            BusAttr::DsmMask => writeln!(out, "{:#x}", self.bus_dsm_mask),
            BusAttr::Scrub => self.scrubber.show(out),
            BusAttr::FirmwareActivateNoidle => {
                let noidle = self.activation.lock().noidle();
                writeln!(out, "{}", if noidle { "Y" } else { "N" })
            }
        }
        .map_err(|_| EOVERFLOW)
    }

    fn bus_attribute_visible(&self, attr: BusAttr) -> bool {
        match attr {
            BusAttr::Scrub => self.ars_supported(),
            BusAttr::FirmwareActivateNoidle => self.activation_supported(),
            _ => true,
        }
    }

    fn store_bus_attribute(&self, _bus: &Bus<Self>, attr: BusAttr, data: &[u8]) -> Result {
        match (attr, written_value(data)) {
            // As C: 0 (off) or 1 (on).
            (BusAttr::HwErrorScrub, b"0") => self.hw_error_scrub.store(false, Ordering::Relaxed),
            (BusAttr::HwErrorScrub, b"1") => self.hw_error_scrub.store(true, Ordering::Relaxed),
            // As C: only 1 asks for a scrub, which runs in the background.
            (BusAttr::Scrub, b"1") => return self.scrubber.rescan(Scrub::Long),
            // As C: what `kstrtobool()` takes.
            (BusAttr::FirmwareActivateNoidle, _) => {
                let noidle = intel::parse_bool(data).ok_or(EINVAL)?;
                self.activation.lock().set_noidle(noidle);
            }
            _ => return Err(EINVAL),
        }
        Ok(())
    }

    fn bus_command(&self, _bus: &LockedBus<'_, Self>, cmd: BusCommand<'_>) -> Result<i32> {
        match cmd {
            BusCommand::Fixed { kind, buf } => {
                let cmd = kind.number();
                if cmd >= 64 || self.bus_dsm_mask & (1 << cmd) == 0 {
                    return Err(ENOTTY);
                }
                // As C: the driver's own scrub is not interrupted by a
                // start request from userspace.
                if cmd == ars::FUNC_ARS_START && self.scrubber.busy() {
                    return Err(EBUSY);
                }
                let in_len = ars::input_len(cmd).ok_or(ENOTTY)?;
                let (input, output) = buf.split_at_mut_checked(in_len).ok_or(EINVAL)?;
                let out = self.root_dsm(cmd, input)?;
                // As C: an answer longer than the caller's buffer is an error.
                output
                    .get_mut(..out.len())
                    .ok_or(ENXIO)?
                    .copy_from_slice(&out);
                Ok(ars::xlat_status(cmd, input, &out))
            }
            BusCommand::Call(mut pkg) => {
                // As C's `acpi_nfit_clear_to_send()` intends: the Intel bus
                // family (firmware activation) is the kernel's alone.
                if pkg.family() != u64::from(bindings::NVDIMM_BUS_FAMILY_NFIT) {
                    return Err(EOPNOTSUPP);
                }
                // NVDIMM_BUS_FAMILY_NFIT: root functions by number.
                let func = pkg.command();
                if func == 0 || func >= 64 || self.bus_dsm_mask & (1 << func) == 0 {
                    return Err(ENOTTY);
                }
                let out = self.root_dsm(u32::try_from(func)?, pkg.input())?;
                let dst = pkg.output();
                let n = out.len().min(dst.len());
                dst[..n].copy_from_slice(&out[..n]);
                pkg.set_fw_size(u32::try_from(out.len())?);
                Ok(0)
            }
        }
    }

    fn config_size(&self, dimm: &Dimm) -> Result<nvdimm::ConfigSize> {
        // As C, asked of the DIMM each time (`_LSI`, or function 4 with an
        // empty input); a failed evaluation or an answer of the wrong type
        // is EINVAL, one without a status ENXIO. Only function 4 reports a
        // lock this way (`_LSx` report it on reads and writes).
        let flat;
        let obj;
        let answer: &[u8] = if dimm.label_methods {
            let pkg = dimm
                .acpi()
                .ok()
                .and_then(|n| n.evaluate(c"_LSI", &[]).ok())
                .flatten()
                .ok_or(EINVAL)?;
            flat = package_bytes(pkg.get()).map_err(|_| EINVAL)?;
            &flat
        } else {
            obj = dimm
                .call_dsm(dsm::FUNC_LABEL_SIZE, Some(&[][..]))
                .map_err(|_| EINVAL)?;
            obj.get().buffer().ok_or(EINVAL)?
        };
        let [status, size, max_xfer] = dsm::config_size_fields(answer).ok_or(ENXIO)?;
        Ok(nvdimm::ConfigSize {
            status,
            area: LabelArea { size, max_xfer },
            locked: !dimm.label_methods && dsm::config_locked(status),
        })
    }

    // As C, one firmware call per command: the core and ndctl move at most
    // the maximum transfer `config_size` reported, and the firmware judges
    // the range.
    fn read_labels(&self, dimm: &Dimm, offset: u32, out: &mut [u8]) -> Result {
        dimm.read_labels(offset, out)
    }

    fn write_labels(&self, dimm: &Dimm, offset: u32, data: &[u8]) -> Result {
        dimm.write_labels(offset, data)
    }

    fn call(&self, dimm: &Dimm, pkg: &mut CallPackage<'_>) -> Result {
        let func = pkg.command();
        // As C, before anything else: Intel security and firmware-activation
        // functions are the kernel's alone, never passed through.
        if pkg.family() == u64::from(dsm::FAMILY_INTEL)
            && (func > 31 || dsm::INTEL_DENIED & (1 << func) != 0)
        {
            return Err(EOPNOTSUPP);
        }
        let d = dimm.dsm.ok_or(ENOTTY)?;
        // As C: a package of another family than the DIMM's is not for it,
        // reserved words must be zero, and only offered functions (never 0)
        // reach the firmware.
        if pkg.family() != u64::from(d.info.family) {
            return Err(ENOTTY);
        }
        if !pkg.reserved_is_zero() {
            return Err(EINVAL);
        }
        if func == 0 || func >= 64 || d.mask & (1 << func) == 0 {
            return Err(ENOTTY);
        }
        let answer = dimm.call_dsm(func, Some(pkg.input()))?;
        let bytes = answer.get().buffer().ok_or(EIO)?;
        let out = pkg.output();
        let n = bytes.len().min(out.len());
        out[..n].copy_from_slice(&bytes[..n]);
        pkg.set_fw_size(u32::try_from(bytes.len())?);
        Ok(())
    }

    fn show_dimm_attribute(
        &self,
        dimm: &Dimm,
        attr: DimmAttr,
        out: &mut AttributeOutput<'_>,
    ) -> Result {
        let d = &dimm.dcr;
        let r = match attr {
            DimmAttr::Handle => writeln!(out, "{:#x}", dimm.handle),
            DimmAttr::PhysId => writeln!(out, "{:#x}", dimm.physical_id),
            DimmAttr::Vendor => writeln!(out, "0x{:04x}", d.vendor_id.swap_bytes()),
            DimmAttr::Device => writeln!(out, "0x{:04x}", d.device_id.swap_bytes()),
            DimmAttr::RevId => writeln!(out, "0x{:04x}", d.revision_id.swap_bytes()),
            DimmAttr::SubsystemVendor => {
                writeln!(out, "0x{:04x}", d.subsystem_vendor_id.swap_bytes())
            }
            DimmAttr::SubsystemDevice => {
                writeln!(out, "0x{:04x}", d.subsystem_device_id.swap_bytes())
            }
            DimmAttr::SubsystemRevId => {
                writeln!(out, "0x{:04x}", d.subsystem_revision_id.swap_bytes())
            }
            DimmAttr::Format => writeln!(out, "0x{:04x}", d.code),
            DimmAttr::Formats => writeln!(out, "{}", u32::from(dimm.pmem)),
            DimmAttr::Serial => writeln!(out, "0x{:08x}", d.serial_number.swap_bytes()),
            DimmAttr::Flags => {
                // As C: a dirty shutdown shows as a flush failure.
                let f = if dimm.shutdown.dirty {
                    dimm.flags | table::MEM_FLUSH_FAILED
                } else {
                    dimm.flags
                };
                let names = [
                    (table::MEM_SAVE_FAILED, "save_fail "),
                    (table::MEM_RESTORE_FAILED, "restore_fail "),
                    (table::MEM_FLUSH_FAILED, "flush_fail "),
                    (table::MEM_NOT_ARMED, "not_armed "),
                    (table::MEM_HEALTH_OBSERVED, "smart_event "),
                    (table::MEM_MAP_FAILED, "map_fail "),
                    (table::MEM_HEALTH_ENABLED, "smart_notify "),
                ];
                names
                    .iter()
                    .filter(|(bit, _)| f & bit != 0)
                    .try_for_each(|(_, name)| out.write_str(name))
                    .and_then(|()| out.write_str("\n"))
            }
            DimmAttr::Id => writeln!(out, "{}", DimmIdText(&dimm.dcr)),
            DimmAttr::Family => match dimm.dsm {
                Some(d) => writeln!(out, "{}", d.info.family),
                None => return Err(ENXIO),
            },
            DimmAttr::DsmMask => match dimm.dsm {
                Some(d) => writeln!(out, "{:#x}", d.mask),
                None => return Err(ENXIO),
            },
            // As C, the count as a signed int.
            DimmAttr::DirtyShutdown => match dimm.shutdown.count {
                Some(n) => writeln!(out, "{}", n as i32),
                None => return Err(ENXIO),
            },
            // Hidden (see below).
            DimmAttr::Format1 => return Err(ENXIO),
        };
        r.map_err(|_| EOVERFLOW)
    }

    fn dimm_attribute_visible(&self, dimm: &Dimm, attr: DimmAttr) -> bool {
        match attr {
            // One interface code per DIMM here: the C driver hides it so.
            DimmAttr::Format1 => false,
            // As C: only with a valid shutdown count from SMART.
            DimmAttr::DirtyShutdown => dimm.shutdown.count.is_some(),
            _ => true,
        }
    }

    fn dimm_command(&self, dimm: &Dimm, mut cmd: NativeCommand<'_>) -> Result<i32> {
        // As C: Intel functions 1-9 are the native commands of the same
        // number, at revision 1; a failed evaluation or an answer that is
        // not a buffer is EINVAL, one that does not fit the output ENXIO.
        let func = cmd.kind().number();
        let answer = dimm
            .call_dsm(u64::from(func), Some(cmd.input()))
            .map_err(|_| EINVAL)?;
        let bytes = answer.get().buffer().ok_or(EINVAL)?;
        intel::native_reply(func, bytes, cmd.output()).map_err(|_| ENXIO)
    }

    fn security_flags(
        &self,
        dimm: &Dimm,
        kind: PassphraseKind,
        overwriting: bool,
    ) -> SecurityFlags {
        let offered = dimm
            .dsm
            .is_some_and(|d| d.mask & (1 << intel::FUNC_GET_SECURITY_STATE) != 0);
        if !offered {
            return SecurityFlags::empty();
        }
        // As C: the state is indeterminate while an overwrite runs.
        if overwriting && kind == PassphraseKind::User {
            return SecurityFlag::Overwrite.into();
        }
        let master = kind == PassphraseKind::Master;
        let state = dimm
            .intel_call::<{ intel::SECURITY_STATE_LEN }>(intel::FUNC_GET_SECURITY_STATE, &[])
            .ok()
            .and_then(|r| intel::SecurityState::parse(&r, master));
        let Some(state) = state else {
            pr_err!("DIMM {:#x}: security state retrieval failed\n", dimm.handle);
            return SecurityFlags::empty();
        };
        let mut flags = SecurityFlags::empty();
        for (on, flag) in [
            (state.disabled, SecurityFlag::Disabled),
            (state.unlocked, SecurityFlag::Unlocked),
            (state.locked, SecurityFlag::Locked),
            (state.frozen, SecurityFlag::Frozen),
        ] {
            if on {
                flags |= flag;
            }
        }
        flags
    }

    fn security_freeze(&self, dimm: &Dimm) -> Result {
        dimm.security_call::<{ intel::STATUS_LEN }>(
            intel::SecurityOp::Freeze,
            intel::FUNC_FREEZE_LOCK,
            &[],
        )
    }

    fn security_change_key(
        &self,
        dimm: &Dimm,
        old: &Passphrase,
        new: &Passphrase,
        kind: PassphraseKind,
    ) -> Result {
        let func = match kind {
            PassphraseKind::Master => intel::FUNC_SET_MASTER_PASSPHRASE,
            PassphraseKind::User => intel::FUNC_SET_PASSPHRASE,
        };
        let mut input = [0u8; 2 * Passphrase::LEN];
        input[..Passphrase::LEN].copy_from_slice(old.as_bytes());
        input[Passphrase::LEN..].copy_from_slice(new.as_bytes());
        dimm.security_call::<{ intel::STATUS_LEN }>(intel::SecurityOp::ChangeKey, func, &input)
    }

    fn security_disable(&self, dimm: &Dimm, key: &Passphrase) -> Result {
        dimm.security_call::<{ intel::STATUS_LEN }>(
            intel::SecurityOp::Disable,
            intel::FUNC_DISABLE_PASSPHRASE,
            key.as_bytes(),
        )
    }

    // As C, unlock, erase and overwrite exist on x86 only.
    #[cfg(CONFIG_X86)]
    fn security_unlock(&self, dimm: &Dimm, key: &Passphrase) -> Result {
        dimm.security_call::<{ intel::STATUS_LEN }>(
            intel::SecurityOp::Unlock,
            intel::FUNC_UNLOCK_UNIT,
            key.as_bytes(),
        )
    }

    #[cfg(CONFIG_X86)]
    fn security_erase(&self, dimm: &Dimm, key: &Passphrase, kind: PassphraseKind) -> Result {
        let func = match kind {
            PassphraseKind::Master => intel::FUNC_MASTER_SECURE_ERASE,
            PassphraseKind::User => intel::FUNC_SECURE_ERASE,
        };
        dimm.security_call::<{ intel::STATUS_LEN }>(intel::SecurityOp::Erase, func, key.as_bytes())
    }

    #[cfg(CONFIG_X86)]
    fn security_overwrite(&self, dimm: &Dimm, key: &Passphrase) -> Result {
        dimm.security_call::<{ intel::STATUS_LEN }>(
            intel::SecurityOp::Overwrite,
            intel::FUNC_OVERWRITE,
            key.as_bytes(),
        )
    }

    #[cfg(CONFIG_X86)]
    fn security_query_overwrite(&self, dimm: &Dimm) -> Result {
        dimm.security_call::<{ intel::STATUS_LEN }>(
            intel::SecurityOp::QueryOverwrite,
            intel::FUNC_QUERY_OVERWRITE,
            &[],
        )
    }

    fn firmware_activation(&self) -> bool {
        self.activation_supported()
    }

    fn firmware_activate_state(&self) -> FirmwareState {
        let state = self.activation.lock().state(
            || self.activation_info(),
            |s| self.invalid_activation_state(s),
        );
        firmware_state(state)
    }

    fn firmware_capability(&self) -> FirmwareCapability {
        let cap = self.activation.lock().capability(
            || self.activation_info(),
            |s| self.invalid_activation_state(s),
        );
        match cap {
            intel::FwaCapability::Invalid => FirmwareCapability::Invalid,
            intel::FwaCapability::None => FirmwareCapability::None,
            intel::FwaCapability::Quiesce => FirmwareCapability::Quiesce,
            intel::FwaCapability::Live => FirmwareCapability::Live,
        }
    }

    fn firmware_activate(&self) -> Result {
        let rc = self.activation.lock().activate(
            || self.activation_info(),
            |s| self.invalid_activation_state(s),
            |iodev| {
                // As C: the call's result; the firmware status is the
                // DIMMs' to report.
                match self.intel_bus_call::<{ intel::ACTIVATE_REPLY_LEN }>(
                    intel::BUS_FUNC_FWA_ACTIVATE,
                    &[iodev],
                ) {
                    Some(_) => 0,
                    None => intel::EINVAL,
                }
            },
        );
        match rc {
            0 => Ok(()),
            e => Err(Error::from_errno(e)),
        }
    }

    fn dimm_firmware_state(&self, dimm: &Dimm) -> FirmwareState {
        let count = self.activation_count();
        let state = dimm
            .activation
            .lock()
            .state(count, || dimm.activation_info());
        firmware_state(state)
    }

    fn dimm_firmware_result(&self, dimm: &Dimm) -> FirmwareResult {
        let count = self.activation_count();
        match dimm
            .activation
            .lock()
            .result(count, || dimm.activation_info())
        {
            intel::FwaResult::Invalid => FirmwareResult::Invalid,
            intel::FwaResult::None => FirmwareResult::None,
            intel::FwaResult::Success => FirmwareResult::Success,
            intel::FwaResult::NotStaged => FirmwareResult::NotStaged,
            intel::FwaResult::NeedReset => FirmwareResult::NeedReset,
            intel::FwaResult::Fail => FirmwareResult::Fail,
        }
    }

    fn dimm_firmware_arm(&self, dimm: &Dimm, trigger: FirmwareTrigger) -> Result {
        let count = self.activation_count();
        let mut activation = dimm.activation.lock();
        let arm = trigger == FirmwareTrigger::Arm;
        match activation.arm(count, arm, || dimm.activation_info()) {
            Err(e) => Err(Error::from_errno(e)),
            Ok(None) => Ok(()),
            Ok(Some(input)) => {
                // Committed to a change: the bus state is stale (lock order:
                // a DIMM's, then the bus's).
                self.activation.lock().invalidate();
                dimm.intel_call::<{ intel::ARM_REPLY_LEN }>(intel::FUNC_FWA_ARM, &[input])
                    .map(|_| ())
            }
        }
    }
}

/// The core's activation state of the driver's.
fn firmware_state(state: intel::FwaState) -> FirmwareState {
    match state {
        intel::FwaState::Invalid => FirmwareState::Invalid,
        intel::FwaState::Idle => FirmwareState::Idle,
        intel::FwaState::Armed => FirmwareState::Armed,
        intel::FwaState::Busy => FirmwareState::Busy,
        intel::FwaState::ArmOverflow => FirmwareState::ArmOverflow,
    }
}

/// A table error or warning printed through the kernel's formatting.
struct TableMessage<T>(T);

impl<T: core::fmt::Display> kernel::fmt::Display for TableMessage<T> {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        core::fmt::Display::fmt(&self.0, f)
    }
}

struct NfitDriver;

/// The driver's data while it is bound to a root device.
struct RootBinding<'bound> {
    /// The root device's state; dropping it removes the machine-check
    /// notifier and the notify handler first, then unregisters the bus.
    _root: mce::Watched<'bound>,
}

/// The driver's state on the NVDIMM root device. As C, it binds without an
/// NFIT (a platform that hot-adds NVDIMMs later); the platform, and so the
/// bus, comes with the first description: the NFIT at probe, else the first
/// `_FIT` notification.
#[pin_data]
struct NfitRoot<'bound> {
    /// Bound while this exists: a `_FIT` notification registers the bus
    /// for as long as the binding lasts.
    dev: &'bound device::Device<device::Bound>,
    root: Node,
    /// Held by a `_FIT` update from start to end, and by the probe's first
    /// scan: the platform is created, and its description changed, by one
    /// of them at a time.
    #[pin]
    update: Mutex<()>,
    /// Set once, under `update`; it goes (the bus with it) only when the
    /// driver lets go, after the notify handler and the machine-check
    /// notifier are removed.
    platform: SetOnce<Pin<KBox<Platform>>>,
}

/// What has been registered from the firmware's description so far.
struct Registered {
    dimms: KVec<(u32, DimmId)>,
    /// The DIMMs' notification handlers (they hold no reference to the
    /// bus, so they may go after it).
    dimm_events: KVec<DimmNotifier>,
    /// The ranges registered, whole (two may share an index, as in C).
    spas: KVec<table::Spa>,
    /// The last description read and whether it came from `_FIT` (a `_FIT`
    /// that deletes entries of it is refused, as in C).
    table: Option<(KVVec<u8>, bool)>,
}

/// A DIMM's installed notification handler.
type DimmNotifier = Pin<KBox<Notifier<DimmEvents>>>;

/// `Notify` value on a DIMM device: "its health changed".
const NOTIFY_DIMM_HEALTH: u32 = 0x81;

/// A DIMM's ACPI notifications: a health event wakes the pollers of its
/// `nfit/flags` (`ndctl monitor`), as C's `acpi_nvdimm_notify()`.
#[pin_data]
struct DimmEvents {
    flags: Option<nvdimm::AttributeNotifier>,
}

impl NotifyHandler for DimmEvents {
    fn notify(&self, value: u32) {
        if value == NOTIFY_DIMM_HEALTH {
            if let Some(f) = &self.flags {
                f.notify();
            }
        }
    }
}

/// The bus and its DIMMs and regions, kept in step with `_FIT`.
#[pin_data(PinnedDrop)]
struct Platform {
    dev: ARef<device::Device>,
    root: Node,
    /// Shared with the scrub work item, which `drop` stops first.
    bus: Arc<ScrubbedBus>,
    #[pin]
    registered: Mutex<Registered>,
}

#[pinned_drop]
impl PinnedDrop for Platform {
    fn drop(self: Pin<&mut Self>) {
        // Before the bus goes (this holds the last reference to it): the
        // work item uses it, and its code is the module's.
        self.bus.provider().scrubber.stop();
    }
}

/// `Notify` value for "the NFIT changed, evaluate `_FIT`".
const NOTIFY_NFIT_UPDATE: u32 = 0x80;

/// `Notify` value for "an uncorrectable memory error was detected".
const NOTIFY_UC_MEMORY_ERROR: u32 = 0x81;

impl NotifyHandler for NfitRoot<'_> {
    fn notify(&self, value: u32) {
        match value {
            NOTIFY_NFIT_UPDATE => self.update(),
            // As C: a new scan with `hw_error_scrub` on, else the records
            // the platform already has; nothing before there is a bus.
            NOTIFY_UC_MEMORY_ERROR => {
                let Some(p) = self.platform.as_ref() else {
                    return;
                };
                let nfit_bus = p.bus.provider();
                if nfit_bus.ars_supported() {
                    let kind = if nfit_bus.hw_error_scrub.load(Ordering::Relaxed) {
                        Scrub::Long
                    } else {
                        Scrub::Short
                    };
                    let _ = nfit_bus.scrubber.rescan(kind);
                }
            }
            _ => {}
        }
    }
}

impl NfitRoot<'_> {
    /// The platform, registering its bus if there is none yet. The caller
    /// holds `update`.
    fn platform(&self) -> Result<&Platform> {
        if self.platform.as_ref().is_none() {
            let p = Platform::new(self.dev, &self.root)?;
            // Cannot be set already: only `update`'s holder sets it.
            self.platform.populate(p);
        }
        self.platform.as_ref().map(|p| &**p).ok_or(EINVAL)
    }

    /// A `_FIT` notification, as C's `acpi_nfit_update_notify()`: the
    /// first one with a description creates the bus (it stays, whatever
    /// the scan finds), later ones add what is new, and new ranges are
    /// scrubbed. What is registered stays.
    fn update(&self) {
        let _update = self.update.lock();
        let Some(bytes) = read_fit(self.dev, &self.root) else {
            return;
        };
        let p = match self.platform() {
            Ok(p) => p,
            Err(e) => {
                dev_err!(self.dev, "bus registration failed: {e:?}\n");
                return;
            }
        };
        match p.scan(bytes, true) {
            Ok(new) if !new.is_empty() && p.bus.provider().ars_supported() => {
                p.bus.provider().scrubber.schedule();
            }
            Ok(_) => {}
            Err(e) => dev_err!(self.dev, "failed to merge updated NFIT: {e:?}\n"),
        }
    }
}

/// Parses a description as it was read: a whole NFIT, or `_FIT`'s
/// subtables.
fn parse_nfit(bytes: &[u8], from_fit: bool) -> core::result::Result<Nfit<'_>, table::Error> {
    if from_fit {
        Nfit::parse_fit(bytes)
    } else {
        Nfit::parse(bytes)
    }
}

impl Platform {
    /// Registers the bus of the root device `root` (C's first
    /// `acpi_nfit_init()`), with no DIMMs or regions yet.
    fn new(dev: &device::Device<device::Bound>, root: &Node) -> Result<Pin<KBox<Self>>> {
        let plain: &device::Device = dev;
        let bus_dsm_mask = root_functions(root);
        let intel_bus_mask = intel_bus_functions(root);
        // As C: the Intel bus family when the root has both activation
        // functions (its packages are refused, see `bus_command`).
        let bus_families = if intel_bus_mask == intel::BUS_FWA_FUNCTIONS {
            BusFamily::Nfit | BusFamily::Intel
        } else {
            BusFamily::Nfit.into()
        };
        // As C: the ARS and clear-error commands the root implements, and
        // ND_CMD_CALL of the NFIT bus family (root functions by number).
        let fixed = bus_dsm_mask
            & (1 << ars::FUNC_ARS_CAP
                | 1 << ars::FUNC_ARS_START
                | 1 << ars::FUNC_ARS_STATUS
                | 1 << ars::FUNC_CLEAR_ERROR);
        let bus = Bus::register(
            kernel::module::this_module::<LocalModule>(),
            dev,
            Some(dev),
            &BusOptions {
                provider_name: c"ACPI.NFIT",
                of_node: None,
                // Every family a DIMM may speak (C sets the bits as it finds
                // them; a package of a family no DIMM has fails with ENOTTY
                // here rather than EINVAL).
                dimm_families: &[
                    Family::Intel,
                    Family::Hpe1,
                    Family::Hpe2,
                    Family::Msft,
                    Family::Hyperv,
                ],
                bus_commands: BusCommands::from_command_numbers(fixed) | BusCommandKind::Call,
                bus_families,
            },
            try_pin_init!(NfitBus {
                revision: nfit_revision(),
                bus_dsm_mask,
                root: root.clone(),
                dev: ARef::from(plain),
                scrubber <- Scrubber::new(),
                ranges <- kernel::new_mutex!(KVec::new()),
                hw_error_scrub: AtomicBool::new(false),
                intel_bus_mask,
                activation <- kernel::new_mutex!(intel::BusActivation::new()),
                activation_warned: AtomicBool::new(false),
            }),
        )?;
        // Shared with the scrub work item; `Platform`'s drop stops it.
        let bus = ScrubbedBus::new(bus)?;
        let scrubbed = bus.clone();
        KBox::pin_init(
            try_pin_init!(Platform {
                dev: ARef::from(plain),
                root: root.clone(),
                bus,
                registered <- kernel::new_mutex!(Registered {
                    dimms: KVec::new(),
                    dimm_events: KVec::new(),
                    spas: KVec::new(),
                    table: None,
                }),
            }),
            GFP_KERNEL,
        )
        // Without a `Platform` to stop it, the work item would keep the
        // bus.
        .inspect_err(|_| scrubbed.provider().scrubber.stop())
    }

    /// Validates a description (`from_fit`: `_FIT`'s subtables, else a
    /// whole NFIT) and registers the DIMMs and persistent-memory ranges
    /// that are not registered yet; returns the new regions. As C, a
    /// description that lacks entries of the previous one is refused (the
    /// DIMMs and regions registered stay), and becomes the one the next is
    /// compared with.
    fn scan(&self, bytes: KVVec<u8>, from_fit: bool) -> Result<KVec<RegionId>> {
        let dev = &*self.dev;
        let mut guard = self.registered.lock();
        let reg = &mut *guard;
        let source = if from_fit { " (_FIT)" } else { "" };
        let nfit = parse_nfit(&bytes, from_fit).map_err(|e| {
            let e = TableMessage(e);
            dev_err!(dev, "invalid NFIT{source}: {e}\n");
            EINVAL
        })?;
        // What C tolerates, tolerated as C does, said once per scan.
        nfit.warnings(|w| {
            let w = TableMessage(w);
            dev_warn!(dev, "NFIT{source}: {w}\n");
        });
        // The previous description (it parsed when it was read).
        let deleted = reg.table.as_ref().and_then(|(prev, prev_fit)| {
            let prev = parse_nfit(prev, *prev_fit).ok()?;
            table::deleted_entry(&prev, &nfit)
        });
        let result = match deleted {
            Some(d) => {
                dev_dbg!(dev, "{}\n", TableMessage(d));
                dev_err!(dev, "new nfit deletes entries (unsupported)\n");
                Err(ENXIO)
            }
            None => self.register(reg, nfit),
        };
        reg.table = Some((bytes, from_fit));
        result
    }

    /// Registers what `nfit` has that `reg` does not.
    fn register(&self, reg: &mut Registered, nfit: Nfit<'_>) -> Result<KVec<RegionId>> {
        let dev = &*self.dev;
        // One DIMM per device handle, in handle order (the C driver sorts
        // them so, which decides the nmemN names), each described by the
        // first memory device entry that names it. As C's `nfit_mem_init()`,
        // only entries that map a persistent-memory or control-region range,
        // or no range (index 0), make a DIMM: one that only volatile or
        // virtual ranges map is not registered.
        let makes_dimm = |m: &Memdev| {
            m.range_index == 0
                || nfit.spas().any(|s| {
                    s.range_index == m.range_index
                        && matches!(s.kind(), SpaKind::Pmem | SpaKind::Dcr)
                })
        };
        let mut firsts: KVec<Memdev> = KVec::new();
        for (i, m) in nfit.memdevs().enumerate() {
            let known = reg.dimms.iter().any(|(h, _)| *h == m.device_handle);
            if makes_dimm(&m)
                && !known
                && !nfit
                    .memdevs()
                    .take(i)
                    .any(|o| o.device_handle == m.device_handle && makes_dimm(&o))
            {
                firsts.push(m, GFP_KERNEL)?;
            }
        }
        firsts.sort_unstable_by_key(|m| m.device_handle);
        for m in &firsts {
            if let Some((id, events)) = NfitDriver::add_dimm(dev, &self.bus, &self.root, &nfit, m)?
            {
                reg.dimms.push((m.device_handle, id), GFP_KERNEL)?;
                if let Some(events) = events {
                    reg.dimm_events.push(events, GFP_KERNEL)?;
                }
            }
        }

        let caps = nfit.capabilities();
        let persistence = if caps & table::CAP_CACHE_FLUSH != 0 {
            Some(Persistence::CpuCache)
        } else if caps & table::CAP_MEM_FLUSH != 0 {
            Some(Persistence::MemoryController)
        } else {
            None
        };
        // As C's `acpi_nfit_register_regions()`: persistent and volatile
        // memory ranges become regions and are scrubbed, virtual disks and
        // CDs become regions without a scrub (even with range index 0),
        // control regions are checked as C checks them but are no region,
        // block-data windows and unknown ranges are left alone.
        let mut new = KVec::new();
        for spa in nfit.spas() {
            let kind = spa.kind();
            let region = match kind {
                SpaKind::Pmem | SpaKind::Volatile | SpaKind::Dcr => spa.range_index != 0,
                k => k.is_virtual(),
            };
            if !region || reg.spas.contains(&spa) {
                continue;
            }
            let id = NfitDriver::add_region(dev, &self.bus, &nfit, &spa, &reg.dimms, persistence)?;
            reg.spas.push(spa, GFP_KERNEL)?;
            let Some(id) = id else {
                continue;
            };
            new.push(id, GFP_KERNEL)?;
            let nfit_bus = self.bus.provider();
            // As C's machine-check handler: persistent memory only.
            if kind == SpaKind::Pmem {
                nfit_bus
                    .ranges
                    .lock()
                    .push((spa.address, spa.length, id), GFP_KERNEL)?;
            }
            let ars_type = match kind {
                SpaKind::Pmem => ars::ARS_PERSISTENT,
                SpaKind::Volatile => ars::ARS_VOLATILE,
                _ => continue,
            };
            if nfit_bus.ars_supported() {
                nfit_bus.scrubber.add_range(
                    &self.bus,
                    spa.address,
                    spa.length,
                    id,
                    ars_type,
                    init_ars(),
                )?;
            }
        }
        Ok(new)
    }
}

kernel::acpi_device_table!(
    ACPI_TABLE,
    <NfitDriver as platform::Driver>::IdInfo,
    [(acpi::DeviceId::new(c"ACPI0012"), ())]
);

/// The static NFIT's revision (what the C driver reports, even when it
/// reads `_FIT`); 0 without a static table.
fn nfit_revision() -> u8 {
    acpi::node::table(c"NFIT")
        .ok()
        .and_then(|t| t.get(8).copied())
        .unwrap_or(0)
}

/// Evaluates `_FIT` after a notification, as C: `None` (said) when it
/// fails or answers something else than a buffer; an empty buffer is an
/// empty description.
fn read_fit(dev: &device::Device, root: &Node) -> Option<KVVec<u8>> {
    let Ok(Some(obj)) = root.evaluate(c"_FIT", &[]) else {
        dev_err!(dev, "failed to evaluate _FIT\n");
        return None;
    };
    let Some(bytes) = obj.get().buffer() else {
        dev_err!(dev, "Invalid _FIT\n");
        return None;
    };
    let mut copy = KVVec::new();
    copy.extend_from_slice(bytes, GFP_KERNEL).ok()?;
    Some(copy)
}

/// Reads the firmware's description at probe: `_FIT` if the root device
/// has one (it reflects hotplug), else the static NFIT.
fn read_nfit(dev: &device::Device, root: &Node) -> Result<(KVVec<u8>, bool)> {
    if root.has_method(c"_FIT") {
        match root.evaluate(c"_FIT", &[]) {
            Ok(Some(obj)) => {
                if let Some(bytes) = obj.get().buffer().filter(|b| !b.is_empty()) {
                    let mut copy = KVVec::new();
                    copy.extend_from_slice(bytes, GFP_KERNEL)?;
                    return Ok((copy, true));
                }
                dev_warn!(dev, "_FIT returned no buffer, using the static NFIT\n");
            }
            Ok(None) | Err(_) => dev_warn!(dev, "_FIT evaluation failed, using the static NFIT\n"),
        }
    }
    let table = acpi::node::table(c"NFIT").inspect_err(|_| dev_err!(dev, "no NFIT table\n"))?;
    Ok((table, false))
}

/// The root device's DSM functions, as the C driver's `bus_dsm_mask`.
fn root_functions(root: &Node) -> u64 {
    match root.evaluate_dsm(&ROOT_DSM, 1, dsm::FUNC_QUERY, None) {
        Ok(answer) => {
            let mask = answer.get().buffer().map_or(0, dsm::function_mask);
            if mask & 1 != 0 {
                mask & ROOT_FUNCTIONS
            } else {
                0
            }
        }
        Err(_) => 0,
    }
}

/// The root device's Intel bus family functions (firmware activation), as
/// C's `acpi_nfit_init_dsms()` checks each with `acpi_check_dsm()`.
fn intel_bus_functions(root: &Node) -> u64 {
    let mask = query_functions(root, &intel::INTEL_BUS_GUID, DSM_REVISION);
    if mask & 1 != 0 {
        mask & intel::BUS_FWA_FUNCTIONS
    } else {
        0
    }
}

/// The function-0 answer of a `_DSM` interface (0 when there is none).
fn query_functions(node: &Node, guid: &[u8; 16], rev: u64) -> u64 {
    node.evaluate_dsm(&Guid(*guid), rev, dsm::FUNC_QUERY, None)
        .ok()
        .and_then(|a| a.get().buffer().map(dsm::function_mask))
        .unwrap_or(0)
}

/// What a DIMM offers: its `_DSM` family, whether it has a label area,
/// reached through `_LSR`/`_LSW` or not, and whether it is read-only.
struct DimmInterface {
    dsm: Option<DimmDsm>,
    /// The DIMM has a label area (its geometry is asked each time).
    labels: bool,
    label_methods: bool,
    labels_read_only: bool,
}

/// Discovers a DIMM's `_DSM` family and functions and its label area, as
/// the C driver's `acpi_nfit_add_dimm()`: the first family in probe order
/// whose function 0 answers (the slot without a GUID included, see
/// [`dsm::PAPR_SLOT`]); labels through Intel functions 4/5/6 for the
/// Intel family, through `_LSI`/`_LSR`/`_LSW` for the others (without
/// `_LSW` C leaves labels off unless `force_labels`, then they are
/// read-only), none without a known family.
fn probe_dimm(node: &Node) -> DimmInterface {
    let none = DimmInterface {
        dsm: None,
        labels: false,
        label_methods: false,
        labels_read_only: false,
    };
    let policy = dsm_policy();
    let mut rev1 = [0; dsm::FAMILIES.len()];
    for (answer, f) in rev1.iter_mut().zip(dsm::FAMILIES.iter()) {
        *answer = query_functions(node, &f.guid, 1);
    }
    let slot_answer = query_functions(node, &dsm::PAPR_SLOT.guid, 1);
    let probed = dsm::FAMILIES.iter().zip(rev1);
    let answering = Iterator::chain(probed, [(&dsm::PAPR_SLOT, slot_answer)])
        .filter(|(_, a)| a & 1 != 0)
        .map(|(f, _)| f);
    let Some(info) = policy.choose(answering) else {
        return none;
    };
    if info.family == dsm::PAPR_SLOT.family {
        // As C: an unknown command family, no functions and no labels.
        return none;
    }
    let rev1 = dsm::FAMILIES
        .iter()
        .zip(rev1)
        .find(|(f, _)| f.family == info.family)
        .map_or(0, |(_, a)| a);
    let rev2 = if info.family == dsm::FAMILY_INTEL {
        query_functions(node, &info.guid, 2)
    } else {
        0
    };
    let candidates = policy.candidates(info);
    let Some(mask) = dsm::offered_of(info.family, candidates, rev1, rev2) else {
        return none;
    };
    let d = DimmDsm { info, mask };
    // As C: an Intel DIMM whose candidate functions include the label
    // functions uses them (or has no labels); any other DIMM, or an Intel
    // one whose `override_dsm_mask` leaves them out, uses `_LSx`.
    let intel_labels =
        info.family == dsm::FAMILY_INTEL && candidates & LABEL_FUNCTIONS == LABEL_FUNCTIONS;
    // As C, nothing is asked of the label area here: the DIMM lists the
    // label commands and the core's probe of the DIMM asks for the size
    // (`config_size`), so a DIMM whose firmware does not answer fails
    // there instead of looking label-less.
    let no_labels = DimmInterface {
        dsm: Some(d),
        ..none
    };
    let labels = DimmInterface {
        labels: true,
        label_methods: !intel_labels,
        ..no_labels
    };
    if intel_labels {
        return if mask & LABEL_FUNCTIONS == LABEL_FUNCTIONS {
            labels
        } else {
            no_labels
        };
    }
    // As C: labels need `_LSI` and `_LSR`; without `_LSW` they are off
    // (label-less namespaces stay reachable) unless `force_labels`.
    let readable = node.has_method(c"_LSI") && node.has_method(c"_LSR");
    let writable = readable && node.has_method(c"_LSW");
    if !readable || !(writable || module_parameters::force_labels.value()) {
        return no_labels;
    }
    DimmInterface {
        labels_read_only: !writable,
        ..labels
    }
}

/// The last shutdown of an Intel DIMM from its SMART data, as C's
/// `nfit_intel_shutdown_status()`: nothing when the DIMM lacks the function
/// or the answer is not a whole SMART structure.
fn shutdown_status(node: &Node, d: DimmDsm) -> intel::ShutdownStatus {
    if d.mask & (1 << intel::FUNC_SMART) == 0 {
        return intel::ShutdownStatus::default();
    }
    node.evaluate_dsm(
        &Guid(d.info.guid),
        dsm::revision(d.info.family, intel::FUNC_SMART),
        intel::FUNC_SMART,
        Some(&[][..]),
    )
    .ok()
    .and_then(|a| a.get().buffer().and_then(intel::ShutdownStatus::parse))
    .unwrap_or_default()
}

impl NfitDriver {
    fn bind<'bound>(dev: &'bound device::Device<Core<'_>>) -> Result<RootBinding<'bound>> {
        let root = Node::of_device(dev).ok_or_else(|| {
            dev_err!(dev, "no ACPI companion\n");
            ENODEV
        })?;
        let bound: &'bound device::Device<device::Bound> = dev;
        let nfit_root = Notifier::install(
            root.clone(),
            try_pin_init!(NfitRoot {
                dev: bound,
                root,
                update <- kernel::new_mutex!(()),
                platform: SetOnce::new(),
            }),
        )?;
        let r = nfit_root.handler();
        {
            // A notification that arrives meanwhile waits for the first
            // scan, as C's `acpi_notify_lock` makes it wait for the probe.
            let _update = r.update.lock();
            if acpi::node::table(c"NFIT").is_err() {
                // As C: the platform may hot-add NVDIMMs later and tell
                // through a `_FIT` notification, which brings the bus.
                dev_dbg!(dev, "failed to find NFIT at startup\n");
            } else {
                let (bytes, from_fit) = read_nfit(dev, &r.root)?;
                let p = r.platform()?;
                p.scan(bytes, from_fit)?;
                // As C: the ranges' known errors are bad blocks already
                // (`scan` asked for them); the scan of the media runs in
                // the background, the regions do not wait for it.
                p.bus.provider().scrubber.schedule();
            }
        }
        Ok(RootBinding {
            _root: mce::watch(nfit_root)?,
        })
    }

    fn add_dimm(
        dev: &device::Device,
        bus: &Bus<NfitBus>,
        root: &Node,
        nfit: &Nfit<'_>,
        m: &Memdev,
    ) -> Result<Option<(DimmId, Option<DimmNotifier>)>> {
        let handle = m.device_handle;
        let node = root.child(u64::from(handle));
        if node.is_none() {
            dev_err!(
                dev,
                "no ACPI.NFIT device with _ADR {handle:#x}, disabling...\n"
            );
            // As C: `force_enable_dimms` registers it all the same.
            if !module_parameters::force_enable_dimms.value() {
                return Ok(None);
            }
        }
        let same = || nfit.memdevs().filter(move |o| o.device_handle == handle);
        let flags = same().fold(0, |f, o| f | o.flags);
        let pmem = same().any(|o| nfit.spa(o.range_index).is_some_and(|s| s.is_pmem()));
        // `parse` guarantees the DIMM has a control region (as C, the one
        // of its first entry that names one).
        let dcr = nfit.dimm_dcr(handle).ok_or(EINVAL)?;
        let found = match &node {
            Some(n) => probe_dimm(n),
            // As C's `acpi_nfit_add_dimm()`: of the Intel family, with no
            // functions and no labels.
            None => DimmInterface {
                dsm: dsm::FAMILIES
                    .iter()
                    .find(|f| f.family == dsm::FAMILY_INTEL)
                    .map(|info| DimmDsm { info, mask: 0 }),
                labels: false,
                label_methods: false,
                labels_read_only: false,
            },
        };
        let mut hints: KVec<u64> = KVec::new();
        if let Some(f) = nfit.flush_hints(handle) {
            for a in f.addresses().take(MAX_FLUSH_HINTS) {
                hints.push(a, GFP_KERNEL)?;
            }
        }
        let options = DimmOptions {
            // As C: the DIMM answers for its label area when asked.
            label_area: found.labels.then_some(LabelArea::UNSIZED),
            // Like the C driver: labels are found, not declared.
            labeling: false,
            unarmed: flags & table::MEM_NOT_ARMED != 0,
            // As C, every DIMM (one without a family answers ENOTTY).
            call: true,
            flush_hints: &hints,
        };
        let key_id = CString::try_from_fmt(fmt!("{}", TableMessage(DimmIdText(&dcr))))?;
        let intel_dsm = found.dsm.filter(|d| d.info.family == dsm::FAMILY_INTEL);
        let shutdown = match (&node, intel_dsm) {
            (Some(n), Some(d)) => shutdown_status(n, d),
            _ => Default::default(),
        };
        let nfit_bus = bus.provider();
        let features = DimmFeatures {
            // As C: the Intel functions 1-9 that are native commands of the
            // same number.
            commands: intel_dsm.map_or(DimmCommands::empty(), |d| {
                DimmCommands::from_command_numbers(d.mask & intel::STANDARD_COMMANDS)
            }),
            // As C: the id names the DIMM's key (`nvdimm:<id>`).
            id: Some(&key_id),
            // As C: the Intel security operations for every Intel DIMM
            // (each fails with ENOTTY without its function), the activation
            // operations with both DIMM activation functions on a bus that
            // activates.
            security: intel_dsm.is_some(),
            // As C: no SET_CONFIG_DATA without `_LSW` (`force_labels`).
            labels_read_only: found.labels_read_only,
            firmware: nfit_bus.activation_supported()
                && intel_dsm.is_some_and(|d| {
                    d.mask & intel::DIMM_FWA_FUNCTIONS == intel::DIMM_FWA_FUNCTIONS
                }),
        };
        let events_node = node.clone();
        let dimm = try_pin_init!(Dimm {
            node,
            handle,
            physical_id: m.physical_id,
            flags,
            dcr,
            dsm: found.dsm,
            label_methods: found.label_methods,
            pmem,
            shutdown,
            activation <- kernel::new_mutex!(intel::DimmActivation::new()),
        });
        let id = bus.add_dimm_with(dimm, &options, &features)?;
        let failed = table::MEM_SAVE_FAILED
            | table::MEM_RESTORE_FAILED
            | table::MEM_FLUSH_FAILED
            | table::MEM_NOT_ARMED
            | table::MEM_MAP_FAILED;
        if flags & failed != 0 {
            dev_err!(dev, "DIMM {handle:#x} reports error flags {flags:#x}\n");
        }
        let Some(events_node) = events_node else {
            return Ok(Some((id, None)));
        };
        let events = Notifier::install(
            events_node,
            try_pin_init!(DimmEvents {
                flags: bus.dimm_attribute_notifier(id, DimmAttr::Flags),
            }),
        )
        .inspect_err(|_| dev_err!(dev, "DIMM {handle:#x}: notification handler failed\n"))?;
        Ok(Some((id, Some(events))))
    }

    /// Registers the region of a persistent-memory, volatile or virtual
    /// range as C's `acpi_nfit_register_region()`; a control-region range
    /// gets C's checks of its DIMMs and no region (`None`).
    fn add_region(
        dev: &device::Device,
        bus: &Bus<NfitBus>,
        nfit: &Nfit<'_>,
        spa: &table::Spa,
        dimms: &[(u32, DimmId)],
        persistence: Option<Persistence>,
    ) -> Result<Option<RegionId>> {
        let kind = spa.kind();
        // First, as C (which says so for a control region too).
        let (numa_node, target_node) = region_nodes(dev, spa);
        let mut entries = KVec::new();
        let mut mappings = KVec::new();
        // Index 0 is no range: its memory devices map nothing (C).
        let memdevs = nfit
            .memdevs_of(spa.range_index)
            .filter(|_| spa.range_index != 0);
        for m in memdevs {
            let Some(&(_, id)) = dimms.iter().find(|(h, _)| *h == m.device_handle) else {
                dev_err!(
                    dev,
                    "spa{} dimm: {:#x} not found\n",
                    spa.range_index,
                    m.device_handle
                );
                return Err(ENODEV);
            };
            // As C, the DIMM's control region (not the entry's).
            let dcr = nfit.dimm_dcr(m.device_handle).ok_or(EINVAL)?;
            entries.push((m.region_offset, dcr), GFP_KERNEL)?;
            mappings.push(
                Mapping {
                    dimm: id,
                    start: m.address,
                    size: m.region_size,
                    position: 0,
                },
                GFP_KERNEL,
            )?;
        }
        // A range none of whose memory devices is left (they named a
        // missing range, say) is registered without mappings, as C does.
        let set =
            table::interleave_set(&entries, |b| nvdimm::fletcher64(b, false)).ok_or_else(|| {
                dev_err!(
                    dev,
                    "spa{} exceeds max mappings {}\n",
                    spa.range_index,
                    table::MAX_SET
                );
                ENXIO
            })?;
        for (m, pos) in mappings.iter_mut().zip(set.positions.iter()) {
            m.position = i32::from(*pos);
        }
        let region_kind = match kind {
            SpaKind::Pmem => RegionKind::Pmem,
            k if k.is_volatile() => RegionKind::Volatile,
            // As C: a persistent virtual disk or CD is a pmem region.
            k if k.is_virtual() => RegionKind::Pmem,
            _ => return Ok(None),
        };
        // As C, a virtual range's memory devices give no capacity (C passes
        // zero-sized mappings, which the abstraction refuses): none.
        if kind.is_virtual() {
            mappings.clear();
        }
        let id = bus
            .add_region(
                spa.range_index,
                &RegionOptions {
                    kind: region_kind,
                    start: spa.address,
                    size: spa.length,
                    mappings: &mappings,
                    numa_node,
                    target_node,
                    interleave_set: Some(nvdimm::InterleaveSet {
                        cookie1: set.cookie1,
                        cookie2: set.cookie2,
                        altcookie: set.altcookie,
                        type_guid: spa.range_guid,
                    }),
                    persistence,
                    async_flush: false,
                    pagemap: false,
                    of_node: None,
                },
            )
            .inspect_err(|e| {
                dev_err!(
                    dev,
                    "spa{}: region registration failed: {e:?}\n",
                    spa.range_index
                )
            })?;
        Ok(Some(id))
    }
}

impl platform::Driver for NfitDriver {
    type IdInfo = ();
    type Data<'bound> = RootBinding<'bound>;
    const ACPI_ID_TABLE: Option<acpi::IdTable<Self::IdInfo>> = Some(&ACPI_TABLE);

    fn probe<'bound>(
        pdev: &'bound platform::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        NfitDriver::bind(pdev.as_ref())
    }
}

kernel::module_platform_driver! {
    type: NfitDriver,
    name: "nfit_rs",
    authors: ["nvdimm-rs developers"],
    description: "Rust ACPI NFIT (NVDIMM firmware interface table) consumer",
    license: "GPL",
    // C's `nfit` parameters, read when a bus or DIMM is probed, shown in
    // /sys/module/nfit_rs/parameters with C's permissions: `no_init_ars`
    // and `force_enable_dimms` may be written at run time, and take effect
    // at the next probe.
    params: {
        disable_vendor_specific: bool {
            default: false,
            description: "Limit commands to the publicly specified set",
            perm: 0o444,
        },
        override_dsm_mask: u64 {
            default: 0,
            description: "Bitmask of allowed NVDIMM DSM functions",
            perm: 0o444,
        },
        default_dsm_family: i32 {
            default: -1,
            description: "Try this DSM type first when identifying NVDIMM family",
            perm: 0o444,
        },
        no_init_ars: bool {
            default: false,
            description: "Skip ARS run at nfit init time",
            perm: 0o644,
        },
        force_labels: bool {
            default: false,
            description: "Opt-in to labels despite missing methods",
            perm: 0o444,
        },
        force_enable_dimms: bool {
            default: false,
            description: "Ignore _STA (ACPI DIMM device) status",
            perm: 0o644,
        },
    },
}
