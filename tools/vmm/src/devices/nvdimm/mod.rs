// SPDX-License-Identifier: GPL-2.0
//! The NVDIMM device models, independent of how calls reach them.
//!
//! [`Platform`] is the NFIT platform: an ACPI0012 root device and one
//! [`Nvdimm`] per DIMM with its label area in the backing file. A transport
//! (the QEMU mailbox in `crate::transport` today; a KVM front end's I/O exit
//! handler tomorrow) turns a guest call into a [`DsmCall`] and hands it to
//! [`Platform::call`]; the model answers with the `_DSM` output buffer.
//! Fault injection and the counters of served calls live here too, so
//! every transport gets them.

pub mod ars;
mod counters;
mod dimm;
mod error;
mod faults;
pub mod flush;
pub mod intel;
#[cfg(test)]
mod tests;

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{json, Value};

pub use counters::Counters;
pub use dimm::Nvdimm;
pub use error::{BackendError, PlatformError};
pub use faults::{Fault, FaultAction, Faults};

use ars::Ars;
use flush::FlushPage;

use crate::config::PlacedDimm;
use crate::devices::faults::TooManyRules;
use crate::dsm::*;

/// The root's Intel bus family functions: 0, 1 and 2 (firmware activation).
const INTEL_BUS_FUNCTIONS: u32 = 0b111;

/// What a transport does for a hot-added DIMM: map it into the guest and
/// tell the guest to re-read `_FIT`.
pub trait HotplugBackend: Send {
    /// Maps the DIMM's backing file at its address.
    fn add(&mut self, d: &PlacedDimm) -> Result<(), BackendError>;
    /// Raises a notification on the guest's devices.
    fn notify(&mut self, n: Notification) -> Result<(), BackendError>;
}

/// Room for hot-added DIMMs, fixed when the machine starts.
pub struct HotplugRoom {
    pub backend: Box<dyn HotplugBackend>,
    /// DIMMs that can still be added.
    pub slots: usize,
    /// Guest physical address where device memory ends.
    pub limit: u64,
    /// NFIT platform capabilities (kept in the regenerated `_FIT`).
    pub capabilities: u32,
    /// The `--spa` ranges (kept in the regenerated `_FIT`).
    pub spas: Vec<crate::config::PlacedSpa>,
}

/// The NFIT platform: the root device, the DIMMs, the current NFIT body
/// (what `_FIT` returns), faults and counters. Its state changes only
/// through its methods: the guest's calls ([`Platform::call`],
/// [`Platform::label_method`], [`Platform::fit`]) and the host's requests.
pub struct Platform {
    dimms: Vec<Nvdimm>,
    placed: Vec<PlacedDimm>,
    faults: Faults,
    counters: Counters,
    fit: Vec<u8>,
    hotplug: Option<HotplugRoom>,
    /// Address range scrub and error injection on the root device
    /// (`--ars`); `None`: the root offers no function, as QEMU's.
    ars: Option<Ars>,
    /// The flush hint page, when some DIMM has flush hints.
    flush: Option<FlushPage>,
}

impl Platform {
    pub fn new(dimms: &[PlacedDimm], fit: Vec<u8>) -> Result<Self, PlatformError> {
        Ok(Platform {
            dimms: dimms.iter().map(Nvdimm::open).collect::<Result<_, _>>()?,
            placed: dimms.to_vec(),
            faults: Faults::default(),
            counters: Counters::default(),
            fit,
            hotplug: None,
            ars: None,
            flush: None,
        })
    }

    /// Locks a shared platform. A thread that panicked while holding the
    /// lock left the platform consistent (each change is one method
    /// call), so the others go on.
    pub fn lock(p: &Mutex<Self>) -> MutexGuard<'_, Self> {
        match p.lock() {
            Ok(p) => p,
            Err(e) => e.into_inner(),
        }
    }

    /// Turns on address range scrub and error injection (`--ars`).
    #[cfg(test)]
    pub fn with_ars(self) -> Self {
        self.with_ars_config(ars::ArsConfig::default())
    }

    /// Turns on address range scrub with scans that take time or status
    /// answers that overflow (`--ars-ms`, `--ars-max-records`).
    pub fn with_ars_config(mut self, config: ars::ArsConfig) -> Self {
        self.ars = Some(Ars::new(config));
        self
    }

    /// Gives the platform the flush hint page its DIMMs' hints are in.
    pub fn with_flush_page(mut self, page: FlushPage) -> Self {
        self.flush = Some(page);
        self
    }

    /// Connects the transport's hotplug backend (once QEMU runs).
    pub fn attach_hotplug(&mut self, room: HotplugRoom) {
        self.hotplug = Some(room);
    }

    /// Whether DIMMs can be hot-added at all.
    pub fn has_hotplug(&self) -> bool {
        self.hotplug.is_some()
    }

    /// The DIMMs, boot and hot-added, as placed.
    pub fn placed(&self) -> &[PlacedDimm] {
        &self.placed
    }

    /// The counters, faults and ARS state, as the control protocol's
    /// `stats` reports them.
    pub fn stats(&self) -> Value {
        let mut s = self.counters.json();
        s["faults_armed"] = json!(self.faults.armed());
        s["faults_injected"] = json!(self.faults.injected);
        if let Some(ars) = &self.ars {
            if let (Some(s), Value::Object(a)) = (s.as_object_mut(), ars.json()) {
                s.extend(a);
            }
        }
        s
    }

    /// The counters of served calls.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Zeroes the counters and the count of injected faults.
    pub fn reset_stats(&mut self) {
        self.counters = Counters::default();
        self.faults.injected = 0;
    }

    /// Arms a fault rule; returns how many are armed.
    pub fn arm_fault(&mut self, f: Fault) -> Result<usize, TooManyRules> {
        self.faults.add(f)
    }

    pub fn clear_faults(&mut self) {
        self.faults.clear();
    }

    /// Adds a poisoned range (with `--ars`); returns how many there are.
    pub fn add_poison(&mut self, address: u64, length: u64) -> Result<usize, PlatformError> {
        let ars = self.ars.as_mut().ok_or(PlatformError::NoArs)?;
        Ok(ars.add_poison(address, length)?)
    }

    /// Ends the scan of a scrub in progress now (with `--ars`); whether one
    /// was in progress.
    pub fn finish_scrub(&mut self) -> Result<bool, PlatformError> {
        let ars = self.ars.as_mut().ok_or(PlatformError::NoArs)?;
        Ok(ars.finish(std::time::Instant::now()))
    }

    /// A transport received a request it could not parse.
    pub fn count_bad_request(&mut self) {
        self.counters.bad_requests += 1;
    }

    /// A transport dropped an answer: the guest had given up waiting.
    pub fn count_abandoned(&mut self) {
        self.counters.abandoned += 1;
    }

    /// Raises a notification on the guest's devices: on the root device
    /// (re-read `_FIT`, an uncorrectable memory error) or on a DIMM's.
    pub fn notify(&mut self, n: Notification) -> Result<(), PlatformError> {
        let room = self
            .hotplug
            .as_mut()
            .ok_or(PlatformError::NoNotificationLine)?;
        room.backend.notify(n).map_err(PlatformError::Backend)
    }

    /// The Intel family of the DIMM with NFIT `handle`.
    fn intel_dimm(&mut self, handle: u32) -> Result<&mut intel::IntelDimm, PlatformError> {
        let d = self
            .dimms
            .iter_mut()
            .find(|d| d.handle == handle)
            .ok_or(PlatformError::NoSuchHandle(handle))?;
        d.intel().ok_or(PlatformError::NotIntel(handle))
    }

    /// Changes SMART values of an Intel DIMM (the control protocol's
    /// `smart`); with `notify`, raises its health notification.
    pub fn change_smart(
        &mut self,
        handle: u32,
        change: &intel::SmartChange,
        notify: bool,
    ) -> Result<Value, PlatformError> {
        let d = self.intel_dimm(handle)?;
        d.change_smart(change);
        let out = d.json();
        if notify {
            self.notify_dimm_health(handle)?;
        }
        Ok(out)
    }

    /// Power-cycles Intel DIMMs (one, or all): locked again if they have
    /// a passphrase, unfrozen, a staged firmware image running.
    pub fn power_cycle(&mut self, handle: Option<u32>) -> Result<usize, PlatformError> {
        if let Some(h) = handle {
            self.intel_dimm(h)?.power_cycle();
            return Ok(1);
        }
        let mut n = 0;
        for d in &mut self.dimms {
            if let Some(i) = d.intel() {
                i.power_cycle();
                n += 1;
            }
        }
        Ok(n)
    }

    /// Whether a range of an Intel DIMM's backing file is zeros, and its
    /// FNV-1a 32 (the control protocol's `media`).
    pub fn media_digest(
        &mut self,
        handle: u32,
        offset: u64,
        length: u64,
    ) -> Result<(bool, u32), PlatformError> {
        self.dimms
            .iter()
            .find(|d| d.handle == handle)
            .ok_or(PlatformError::NoSuchHandle(handle))?
            .digest(offset, length)
    }

    /// The Intel family state of a DIMM, as the control protocol shows it.
    pub fn intel_state(&mut self, handle: u32) -> Result<Value, PlatformError> {
        Ok(self.intel_dimm(handle)?.json())
    }

    /// Whether any DIMM serves the Intel family: the root then has the
    /// Intel bus family (firmware activation).
    fn has_intel(&mut self) -> bool {
        self.dimms.iter_mut().any(|d| d.intel().is_some())
    }

    /// The root's Intel bus family: 1 bus activate info, 2 activate.
    fn intel_bus(&mut self, function: u32) -> Vec<u8> {
        let armed = self
            .dimms
            .iter_mut()
            .filter_map(|d| d.intel())
            .any(|i| i.armed());
        match function {
            FN_QUERY => INTEL_BUS_FUNCTIONS.to_le_bytes().to_vec(),
            1 => intel::firmware::bus_info(armed),
            2 if !armed => intel::firmware::BUS_STATUS_NOARM.to_le_bytes().to_vec(),
            2 => {
                for i in self.dimms.iter_mut().filter_map(|d| d.intel()) {
                    i.activate();
                }
                status(STATUS_SUCCESS)
            }
            _ => status(STATUS_NOT_SUPPORTED),
        }
    }

    /// Raises `Notify(NVss, 0x81)` on the device of the DIMM with NFIT
    /// `handle` (a DIMM of the machine or a hot-added one).
    pub fn notify_dimm_health(&mut self, handle: u32) -> Result<(), PlatformError> {
        let slot = handle
            .checked_sub(1)
            .map(|s| s as usize)
            .filter(|s| self.placed.iter().any(|d| usize::from(d.slot) == *s))
            .ok_or(PlatformError::NoSuchHandle(handle))?;
        self.notify(Notification::DimmHealth(slot))
    }

    /// The flush hints of every DIMM that has some: which slots the guest
    /// wrote since the last call; clears them.
    pub fn take_flush_hints(&mut self) -> Result<Value, PlatformError> {
        let page = self.flush.as_ref().ok_or(PlatformError::NoFlushHints)?;
        let out: Vec<Value> = self
            .placed
            .iter()
            .filter(|d| d.config.flush_hints > 0)
            .map(|d| {
                let written: Vec<bool> = (0..d.config.flush_hints)
                    .map(|i| page.take(d.slot, i))
                    .collect();
                let addresses: Vec<u64> = (0..d.config.flush_hints)
                    .map(|i| crate::config::flush_hint_address(d.slot, i))
                    .collect();
                json!({
                    "dimm": u32::from(d.slot) + 1,
                    "written": written,
                    "addresses": addresses,
                })
            })
            .collect();
        Ok(Value::Array(out))
    }

    /// The NFIT handle of the DIMM whose persistent range holds `addr`.
    pub fn handle_of(placed: &[PlacedDimm], addr: u64) -> u32 {
        placed
            .iter()
            .find(|d| addr >= d.address && addr - d.address < d.config.size)
            .map_or(0, |d| u32::from(d.slot) + 1)
    }

    /// Adds a DIMM at run time: places it after the others, has the
    /// transport map it, regenerates `_FIT` and notifies the guest.
    pub fn hotplug(
        &mut self,
        config: crate::config::NvdimmConfig,
    ) -> Result<PlacedDimm, PlatformError> {
        let room = self.hotplug.as_mut().ok_or(PlatformError::NoHotplug)?;
        if room.slots == 0 {
            return Err(PlatformError::NoSlotLeft);
        }
        if self.placed.iter().any(|d| d.config.path == config.path) {
            return Err(PlatformError::AlreadyADimm { path: config.path });
        }
        if config.label_methods.methods() {
            return Err(PlatformError::HotplugLabelMethods);
        }
        if !config.acpi_device {
            return Err(PlatformError::HotplugNoDevice);
        }
        if config.intel_state.is_some() {
            return Err(PlatformError::HotplugIntelState);
        }
        if config.flush_hints > 0 && self.flush.is_none() {
            return Err(PlatformError::HotplugFlushHints);
        }
        let mut all: Vec<_> = self.placed.iter().map(|d| d.config.clone()).collect();
        all.push(config.clone());
        let (mut placed, end) = crate::config::place(&all)?;
        if end > room.limit {
            return Err(PlatformError::NoRoom(config.file_size()?));
        }
        // `place` places every DIMM it is given, this one last.
        let new = placed.pop().ok_or(PlatformError::NotPlaced)?;
        if !config.check_file()? {
            config.create_file()?;
        }
        let model = Nvdimm::open(&new)?;
        room.backend.add(&new).map_err(PlatformError::Backend)?;
        room.slots -= 1;
        self.dimms.push(model);
        self.placed.push(new.clone());
        self.fit = crate::acpi::nfit::nfit_body(&self.placed, &room.spas, room.capabilities);
        room.backend
            .notify(Notification::Update)
            .map_err(PlatformError::Backend)?;
        log::debug!(
            "hot-added {} at {:#x} (handle {})",
            new.config.path.display(),
            new.address,
            u32::from(new.slot) + 1
        );
        Ok(new)
    }

    /// Serves `_FIT` without the structures of the DIMM with NFIT
    /// `handle` (its range, memory device, control region, flush hints)
    /// and tells the guest to re-read it. Nothing is unmapped; a later
    /// hot-add regenerates `_FIT` from every DIMM.
    pub fn fit_delete(&mut self, handle: u32) -> Result<(), PlatformError> {
        let kept: Vec<PlacedDimm> = self
            .placed
            .iter()
            .filter(|d| u32::from(d.slot) + 1 != handle)
            .cloned()
            .collect();
        if kept.len() == self.placed.len() {
            return Err(PlatformError::NoSuchHandle(handle));
        }
        let room = self
            .hotplug
            .as_mut()
            .ok_or(PlatformError::NoNotificationLine)?;
        self.fit = crate::acpi::nfit::nfit_body(&kept, &room.spas, room.capabilities);
        room.backend
            .notify(Notification::Update)
            .map_err(PlatformError::Backend)?;
        log::debug!("_FIT without DIMM {handle}");
        Ok(())
    }

    /// `_FIT`: the NFIT's structures without the table header.
    pub fn fit(&mut self) -> Vec<u8> {
        self.counters.fit_reads += 1;
        self.fit.clone()
    }

    /// Serves one label method call (`_LSI`, `_LSR`, `_LSW`, as the Intel
    /// function of the same meaning): counted per method, faults keyed by
    /// that function, model statuses translated to the methods' codes
    /// (injected statuses pass as they are).
    pub fn label_method(&mut self, handle: u32, function: u32, input: Option<&[u8]>) -> DsmReply {
        let reply = |output: Vec<u8>| DsmReply {
            output,
            delay: None,
        };
        let Some(name) = method_name(function) else {
            self.counters.bad_requests += 1;
            return reply(status(LS_INVALID_INPUT));
        };
        self.counters.count_method(handle, name);
        let Some(input) = input else {
            self.counters.bad_requests += 1;
            return reply(status(LS_INVALID_INPUT));
        };
        let (delay, injected, short) = self.take_faults(handle, function);
        if let Some(s) = injected {
            return DsmReply {
                output: status(s),
                delay,
            };
        }
        let Some(dimm) = self.dimms.iter_mut().find(|d| d.handle == handle) else {
            return DsmReply {
                output: status(LS_HW_ERROR),
                delay,
            };
        };
        if !dimm.has_methods() {
            return DsmReply {
                output: status(LS_HW_ERROR),
                delay,
            };
        }
        let mut output = dimm.dsm(function, input, &mut self.faults, true);
        self.count_label_bytes(function, input, &output);
        if let Some(s) = le32(&output, 0) {
            output[..4].copy_from_slice(&ls_status(s).to_le_bytes());
        }
        if let Some(n) = short {
            output.truncate(n);
        }
        DsmReply { output, delay }
    }

    /// The delay, status and short-answer faults armed for a call.
    fn take_faults(&mut self, h: u32, f: u32) -> (Option<Duration>, Option<u32>, Option<usize>) {
        let delay = match self
            .faults
            .take_call(h, f, |a| matches!(a, FaultAction::Delay(_)))
        {
            Some(FaultAction::Delay(ms)) => Some(Duration::from_millis(ms)),
            _ => None,
        };
        if let Some(FaultAction::Status(s)) = self
            .faults
            .take_call(h, f, |a| matches!(a, FaultAction::Status(_)))
        {
            return (delay, Some(s), None);
        }
        let short = match self
            .faults
            .take_call(h, f, |a| matches!(a, FaultAction::Short(_)))
        {
            Some(FaultAction::Short(n)) => Some(n),
            _ => None,
        };
        (delay, None, short)
    }

    fn count_label_bytes(&mut self, function: u32, input: &[u8], out: &[u8]) {
        if out.len() > 4 && function == FN_GET_CONFIG_DATA {
            self.counters.label_bytes_read += (out.len() - 4) as u64;
        }
        if function == FN_SET_CONFIG_DATA && out == status(STATUS_SUCCESS) {
            self.counters.label_bytes_written += input.len().saturating_sub(8) as u64;
        }
    }

    /// Serves one `_DSM` call.
    pub fn call(&mut self, c: &DsmCall) -> DsmReply {
        self.counters.count_call(c.handle, c.function);
        let Some(input) = c.input.as_deref() else {
            self.counters.bad_requests += 1;
            return DsmReply {
                output: status(STATUS_INVALID_INPUT),
                delay: None,
            };
        };
        let (delay, injected, short) = self.take_faults(c.handle, c.function);
        if let Some(s) = injected {
            return DsmReply {
                output: status(s),
                delay,
            };
        }
        let mut output = self.serve(c.handle, &c.uuid, c.function, input);
        if let Some(n) = short {
            output.truncate(n);
        }
        DsmReply { output, delay }
    }

    fn serve(&mut self, handle: u32, uuid: &[u8; 16], function: u32, input: &[u8]) -> Vec<u8> {
        if handle == 0 && uuid == &INTEL_BUS_UUID && self.has_intel() {
            return self.intel_bus(function);
        }
        if handle == 0 {
            // The root device: function 0 only, offering nothing else (as
            // QEMU's root device does), unless ARS is on.
            let placed = &self.placed;
            return match (uuid == &ROOT_UUID, function, &mut self.ars) {
                (true, FN_QUERY, Some(_)) => ars::FUNCTIONS.to_le_bytes().to_vec(),
                (true, FN_QUERY, None) => 0u32.to_le_bytes().to_vec(),
                (false, FN_QUERY, _) => vec![0],
                (true, f, Some(ars)) => ars.call(f, input, &|a| Self::handle_of(placed, a)),
                _ => status(STATUS_NOT_SUPPORTED),
            };
        }
        let Some(dimm) = self.dimms.iter_mut().find(|d| d.handle == handle) else {
            return status(STATUS_NO_SUCH_DEVICE);
        };
        if uuid == &MSFT_UUID && dimm.msft_family() {
            return if function == FN_QUERY {
                1u32.to_le_bytes().to_vec()
            } else {
                status(STATUS_NOT_SUPPORTED)
            };
        }
        if uuid == &[0; 16] && dimm.zero_uuid() {
            return if function == FN_QUERY {
                1u32.to_le_bytes().to_vec()
            } else {
                status(STATUS_NOT_SUPPORTED)
            };
        }
        if uuid != &INTEL_UUID {
            return if function == FN_QUERY {
                vec![0]
            } else {
                status(STATUS_NOT_SUPPORTED)
            };
        }
        if function == FN_QUERY {
            return dimm.functions().to_le_bytes().to_vec();
        }
        let before = dimm.intel().map(|i| i.health_signature());
        let out = dimm.dsm(function, input, &mut self.faults, false);
        let after = dimm.intel().map(|i| i.health_signature());
        self.count_label_bytes(function, input, &out);
        // A health change the guest caused (an injection, new thresholds
        // that trip an alarm) is signalled as a real DIMM does: Notify
        // 0x81 on the DIMM, when the machine has a notification line.
        if before != after && self.hotplug.is_some() {
            if let Err(e) = self.notify_dimm_health(handle) {
                log::warn!("DIMM {handle}: health notification: {e}");
            }
        }
        out
    }
}
