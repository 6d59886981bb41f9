// SPDX-License-Identifier: GPL-2.0
//! The NVDIMM device models, independent of how calls reach them.
//!
//! [`Platform`] is the NFIT platform: an ACPI0012 root device and one
//! [`Nvdimm`] per DIMM with its label area in the backing file. A transport
//! (the QEMU mailbox in [`crate::qemu`] today; a KVM front end's I/O exit
//! handler tomorrow) turns a guest call into a [`DsmCall`] and hands it to
//! [`Platform::call`]; the model answers with the `_DSM` output buffer.
//! Fault injection and the counters of served calls live here too, so
//! every transport gets them.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::Duration;

use serde_json::{json, Value};

use crate::config::PlacedDimm;
use crate::mailbox::MAX_TRANSFER;

/// `_DSM` UUID of the NVDIMM root device, in its in-buffer byte order
/// (`ToUUID("2f10e7a4-9e91-11e4-89d3-123b93f75cba")`).
pub const ROOT_UUID: [u8; 16] = [
    0xa4, 0xe7, 0x10, 0x2f, 0x91, 0x9e, 0xe4, 0x11, 0x89, 0xd3, 0x12, 0x3b, 0x93, 0xf7, 0x5c, 0xba,
];
/// `_DSM` UUID of the Intel NVDIMM command family
/// (`ToUUID("4309ac30-0d11-11e4-9191-0800200c9a66")`).
pub const INTEL_UUID: [u8; 16] = [
    0x30, 0xac, 0x09, 0x43, 0x11, 0x0d, 0xe4, 0x11, 0x91, 0x91, 0x08, 0x00, 0x20, 0x0c, 0x9a, 0x66,
];

/// `_DSM` UUID of the Microsoft NVDIMM family
/// (`ToUUID("1ee68b36-d4bd-4a1a-9a16-4f8e53d46e05")`). A DIMM with
/// `label-methods=on` belongs to this family (function 0 answers 1: the
/// family, no function) instead of Intel's: Linux's C nfit never enables
/// the label methods for an Intel-family DIMM (it checks the family's
/// fixed command mask, which has 4-6, not function 0), and it enables
/// them for any other known family. (Hyper-V's family, whose NVDIMMs have
/// `_LSx` on real hosts, makes ndctl 76 misread the label commands'
/// status: its Hyper-V ops read a Hyper-V package's status field.)
pub const MSFT_UUID: [u8; 16] = [
    0x36, 0x8b, 0xe6, 0x1e, 0xbd, 0xd4, 0x1a, 0x4a, 0x9a, 0x16, 0x4f, 0x8e, 0x53, 0xd4, 0x6e, 0x05,
];

/// Intel family functions served to DIMMs.
pub const FN_QUERY: u32 = 0;
pub const FN_GET_CONFIG_SIZE: u32 = 4;
pub const FN_GET_CONFIG_DATA: u32 = 5;
pub const FN_SET_CONFIG_DATA: u32 = 6;

/// `_DSM` status codes (the Intel DSM interface's low 16 bits).
pub const STATUS_SUCCESS: u32 = 0;
pub const STATUS_NOT_SUPPORTED: u32 = 1;
pub const STATUS_NO_SUCH_DEVICE: u32 = 2;
pub const STATUS_INVALID_INPUT: u32 = 3;
pub const STATUS_HW_ERROR: u32 = 4;

/// Status codes of the ACPI label methods (`_LSI`, `_LSR`, `_LSW`).
#[cfg_attr(not(test), allow(dead_code))]
pub const LS_SUCCESS: u32 = 0;
pub const LS_HW_ERROR: u32 = 1;
pub const LS_INVALID_INPUT: u32 = 2;
/// "Label storage area locked" (Linux: `ACPI_LABELS_LOCKED`, -EACCES).
#[allow(dead_code)]
pub const LS_LOCKED: u32 = 3;

/// The label method status for a model (Intel `_DSM`) status.
pub fn ls_status(dsm: u32) -> u32 {
    match dsm {
        STATUS_SUCCESS => LS_SUCCESS,
        STATUS_INVALID_INPUT => LS_INVALID_INPUT,
        _ => LS_HW_ERROR,
    }
}

/// A label method's name for its Intel function.
pub fn method_name(function: u32) -> Option<&'static str> {
    match function {
        FN_GET_CONFIG_SIZE => Some("LSI"),
        FN_GET_CONFIG_DATA => Some("LSR"),
        FN_SET_CONFIG_DATA => Some("LSW"),
        _ => None,
    }
}

/// One guest call, whatever carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsmCall {
    /// 0 for the root device, else the DIMM's NFIT handle.
    pub handle: u32,
    pub uuid: [u8; 16],
    pub revision: u32,
    pub function: u32,
    /// `None`: the guest described an input the transport could not hold.
    pub input: Option<Vec<u8>>,
}

/// What the model asks the transport to do with an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsmReply {
    pub output: Vec<u8>,
    /// Answer only after this long (injected delay).
    pub delay: Option<Duration>,
}

fn status(s: u32) -> Vec<u8> {
    s.to_le_bytes().to_vec()
}

fn le32(b: &[u8], off: usize) -> Option<u32> {
    b.get(off..off + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// One NVDIMM: its label area is the last `label_size` bytes of the
/// backing file (QEMU's layout), accessed with positioned I/O.
pub struct Nvdimm {
    pub handle: u32,
    file: Option<File>,
    label_offset: u64,
    label_size: u32,
    methods: crate::config::LabelMethods,
}

impl Nvdimm {
    /// Opens the backing file of a placed DIMM (for its label area).
    pub fn open(d: &PlacedDimm) -> Result<Self, String> {
        let label_size = u32::try_from(d.config.label_size)
            .map_err(|_| format!("{}: label-size above 4 GiB", d.config.path.display()))?;
        let file = if label_size == 0 {
            None
        } else {
            Some(
                File::options()
                    .read(true)
                    .write(true)
                    .open(&d.config.path)
                    .map_err(|e| format!("{}: {e}", d.config.path.display()))?,
            )
        };
        Ok(Nvdimm {
            handle: u32::from(d.slot) + 1,
            file,
            label_offset: d.config.size,
            label_size,
            methods: d.config.label_methods,
        })
    }

    /// Intel function 0's mask: functions 4, 5 and 6 when there is a
    /// label area served through the `_DSM`; 0 (not this family) with
    /// `label-methods=on`, where the label methods serve it and the DIMM
    /// is of the Microsoft family ([`MSFT_UUID`]).
    pub fn functions(&self) -> u32 {
        match (&self.file, self.methods.dsm()) {
            (None, _) | (Some(_), false) => 0,
            (Some(_), true) => {
                1 | 1 << FN_GET_CONFIG_SIZE | 1 << FN_GET_CONFIG_DATA | 1 << FN_SET_CONFIG_DATA
            }
        }
    }

    /// Whether the DIMM answers as the Microsoft family (no functions).
    pub fn msft_family(&self) -> bool {
        self.has_methods() && !self.methods.dsm()
    }

    /// Whether the DIMM has the label methods.
    pub fn has_methods(&self) -> bool {
        self.file.is_some() && self.methods.methods()
    }

    /// Checks `(offset, length)` of a label call against the label area.
    fn range(&self, input: &[u8]) -> Option<(u64, usize)> {
        let off = le32(input, 0)?;
        let len = le32(input, 4)?;
        let end = u64::from(off) + u64::from(len);
        (end <= u64::from(self.label_size) && len as usize <= MAX_TRANSFER)
            .then(|| (self.label_offset + u64::from(off), len as usize))
    }

    /// Serves one Intel-family function (from the `_DSM`, or from a label
    /// method: `method`).
    pub fn dsm(
        &mut self,
        function: u32,
        input: &[u8],
        faults: &mut Faults,
        method: bool,
    ) -> Vec<u8> {
        let Some(file) = &self.file else {
            return status(STATUS_NOT_SUPPORTED);
        };
        let served = if method {
            self.methods.methods()
        } else {
            self.methods.dsm()
        };
        if !served {
            return status(STATUS_NOT_SUPPORTED);
        }
        match function {
            FN_GET_CONFIG_SIZE => {
                let mut out = status(STATUS_SUCCESS);
                out.extend(self.label_size.to_le_bytes());
                out.extend((MAX_TRANSFER as u32).to_le_bytes());
                out
            }
            FN_GET_CONFIG_DATA => {
                let Some((pos, len)) = self.range(input) else {
                    return status(STATUS_INVALID_INPUT);
                };
                let mut out = status(STATUS_SUCCESS);
                out.resize(4 + len, 0);
                match file.read_exact_at(&mut out[4..], pos) {
                    Ok(()) => out,
                    Err(_) => status(STATUS_HW_ERROR),
                }
            }
            FN_SET_CONFIG_DATA => {
                let Some((pos, len)) = self.range(input) else {
                    return status(STATUS_INVALID_INPUT);
                };
                let Some(data) = input.get(8..8 + len) else {
                    return status(STATUS_INVALID_INPUT);
                };
                let (data, fail) = match faults.torn_write(self.handle) {
                    Some(keep) => (&data[..keep.min(len)], true),
                    None => (data, false),
                };
                if file.write_all_at(data, pos).is_err() || fail {
                    return status(STATUS_HW_ERROR);
                }
                status(STATUS_SUCCESS)
            }
            _ => status(STATUS_NOT_SUPPORTED),
        }
    }
}

/// A fault rule, as given on the control socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// DIMM handle the rule applies to; `None` for every DIMM (and root).
    pub handle: Option<u32>,
    /// Function the rule applies to; `None` for every function.
    pub function: Option<u32>,
    pub action: FaultAction,
    /// Calls left to fault; `None` for every call until cleared.
    pub remaining: Option<u32>,
}

/// What an injected fault does to a matching call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer with this status and no payload.
    Status(u32),
    /// Serve the call, then cut the output to this many bytes.
    Short(usize),
    /// Label writes: write only this many bytes, then answer hardware error.
    TornWrite(usize),
    /// Serve the call after this many milliseconds.
    Delay(u64),
}

impl crate::faults::Rule for Fault {
    type Action = FaultAction;
    fn action(&self) -> &FaultAction {
        &self.action
    }
    fn remaining(&mut self) -> &mut Option<u32> {
        &mut self.remaining
    }
}

/// The armed fault rules.
pub type Faults = crate::faults::Rules<Fault>;

impl Faults {
    /// Takes the first rule matching a call whose action satisfies `want`
    /// (consuming one of its counts).
    fn take_call(
        &mut self,
        handle: u32,
        function: u32,
        want: impl Fn(&FaultAction) -> bool,
    ) -> Option<FaultAction> {
        self.take(|r| {
            r.handle.is_none_or(|h| h == handle)
                && r.function.is_none_or(|f| f == function)
                && want(&r.action)
        })
    }

    fn torn_write(&mut self, handle: u32) -> Option<usize> {
        match self.take_call(handle, FN_SET_CONFIG_DATA, |a| {
            matches!(a, FaultAction::TornWrite(_))
        })? {
            FaultAction::TornWrite(n) => Some(n),
            _ => None,
        }
    }
}

/// The most keys each per-call counter map holds: the guest chooses the
/// handle and function of a call, so a map keyed by them must not grow
/// without bound. Calls with a new key past it are counted in
/// [`Counters::other_calls`].
pub const MAX_COUNTER_KEYS: usize = 1024;

/// Counters of served calls, per handle and function.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counters {
    pub calls: BTreeMap<(u32, u32), u64>,
    /// Label method calls per handle and method (`"1:LSR"` in `calls`).
    pub methods: BTreeMap<(u32, &'static str), u64>,
    /// Calls not counted per key: their map had [`MAX_COUNTER_KEYS`].
    pub other_calls: u64,
    pub label_bytes_read: u64,
    pub label_bytes_written: u64,
    pub fit_reads: u64,
    pub bad_requests: u64,
    /// Answers dropped because the guest had timed out and moved on.
    pub abandoned: u64,
}

/// Counts one call under `key` in `map`, or in `other` when `map` is full.
fn count<K: Ord>(map: &mut BTreeMap<K, u64>, key: K, other: &mut u64) {
    if map.len() < MAX_COUNTER_KEYS || map.contains_key(&key) {
        *map.entry(key).or_default() += 1;
        return;
    }
    if *other == 0 {
        eprintln!(
            "nvdimm-vmm: more than {MAX_COUNTER_KEYS} distinct calls; \
             further ones are counted as calls_other"
        );
    }
    *other += 1;
}

impl Counters {
    /// Counts a `_DSM` call.
    pub fn count_call(&mut self, handle: u32, function: u32) {
        count(&mut self.calls, (handle, function), &mut self.other_calls);
    }

    /// Counts a label method call.
    pub fn count_method(&mut self, handle: u32, name: &'static str) {
        count(&mut self.methods, (handle, name), &mut self.other_calls);
    }

    pub fn json(&self) -> Value {
        let calls: serde_json::Map<String, Value> = self
            .calls
            .iter()
            .map(|((h, f), n)| (format!("{h}:{f}"), json!(n)))
            .chain(
                self.methods
                    .iter()
                    .map(|((h, m), n)| (format!("{h}:{m}"), json!(n))),
            )
            .collect();
        json!({
            "calls": calls,
            "calls_other": self.other_calls,
            "total": self.calls.values().sum::<u64>()
                + self.methods.values().sum::<u64>()
                + self.other_calls,
            "label_bytes_read": self.label_bytes_read,
            "label_bytes_written": self.label_bytes_written,
            "fit_reads": self.fit_reads,
            "bad_requests": self.bad_requests,
            "abandoned": self.abandoned,
        })
    }
}

/// What a transport does for a hot-added DIMM: map it into the guest and
/// tell the guest to re-read `_FIT`.
pub trait HotplugBackend: Send {
    /// Maps the DIMM's backing file at its address.
    fn add(&mut self, d: &PlacedDimm) -> Result<(), String>;
    /// Sends one notification-line byte (see `acpi::ged`): 0x80 makes the
    /// guest evaluate `Notify(NVDR, 0x80)` (re-read `_FIT`), 0x81
    /// `Notify(NVDR, 0x81)` (uncorrectable memory error, scrub), and
    /// [`crate::acpi::dimm_health_byte`] a DIMM's `Notify(NVss, 0x81)`.
    fn notify(&mut self, value: u8) -> Result<(), String>;
}

/// Notification values for the root device.
pub const NOTIFY_UPDATE: u8 = 0x80;
pub const NOTIFY_UC_MEMORY_ERROR: u8 = 0x81;
/// Notification value for a DIMM device: its health changed.
pub const NOTIFY_DIMM_HEALTH: u8 = 0x81;

/// Room for hot-added DIMMs, fixed when the machine starts.
pub struct HotplugRoom {
    pub backend: Box<dyn HotplugBackend>,
    /// DIMMs that can still be added.
    pub slots: usize,
    /// Guest physical address where device memory ends.
    pub limit: u64,
    /// NFIT platform capabilities (kept in the regenerated `_FIT`).
    pub capabilities: u32,
}

/// The NFIT platform: the root device, the DIMMs, the current NFIT body
/// (what `_FIT` returns), faults and counters.
pub struct Platform {
    pub dimms: Vec<Nvdimm>,
    pub placed: Vec<PlacedDimm>,
    pub faults: Faults,
    pub counters: Counters,
    pub fit: Vec<u8>,
    pub hotplug: Option<HotplugRoom>,
    /// Address range scrub and error injection on the root device
    /// (`--ars`); `None`: the root offers no function, as QEMU's.
    pub ars: Option<crate::ars::Ars>,
    /// The flush hint page, when some DIMM has flush hints.
    pub flush: Option<crate::flush::FlushPage>,
    /// The OpenCAPI pmem card (`--ocxlpmem`): faults and counters.
    pub card: Option<crate::ocxl::attached::Control>,
}

impl Platform {
    pub fn new(dimms: &[PlacedDimm], fit: Vec<u8>) -> Result<Self, String> {
        Ok(Platform {
            dimms: dimms.iter().map(Nvdimm::open).collect::<Result<_, _>>()?,
            placed: dimms.to_vec(),
            faults: Faults::default(),
            counters: Counters::default(),
            fit,
            hotplug: None,
            ars: None,
            flush: None,
            card: None,
        })
    }

    /// Raises the root device notification `value` (0x80 or 0x81).
    pub fn notify(&mut self, value: u8) -> Result<(), String> {
        if value != NOTIFY_UPDATE && value != NOTIFY_UC_MEMORY_ERROR {
            return Err(format!("notify value {value:#x}: expected 0x80 or 0x81"));
        }
        let room = self
            .hotplug
            .as_mut()
            .ok_or("this machine has no notification line (--hotplug-slots)")?;
        room.backend.notify(value)
    }

    /// Raises `Notify(NVss, 0x81)` on the device of the DIMM with NFIT
    /// `handle` (a DIMM of the machine or a hot-added one).
    pub fn notify_dimm_health(&mut self, handle: u32) -> Result<(), String> {
        let slot = handle
            .checked_sub(1)
            .map(|s| s as usize)
            .filter(|s| self.placed.iter().any(|d| usize::from(d.slot) == *s))
            .ok_or_else(|| format!("no DIMM with handle {handle}"))?;
        let byte = crate::acpi::dimm_health_byte(slot)
            .ok_or_else(|| format!("DIMM slot {slot}: past the notification line's range"))?;
        let room = self
            .hotplug
            .as_mut()
            .ok_or("this machine has no notification line (--hotplug-slots)")?;
        room.backend.notify(byte)
    }

    /// The flush hints of every DIMM that has some: which slots the guest
    /// wrote since the last call; clears them.
    pub fn take_flush_hints(&mut self) -> Result<Value, String> {
        let page = self
            .flush
            .as_ref()
            .ok_or("no DIMM has flush hints (flush-hints=N)")?;
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
    pub fn hotplug(&mut self, config: crate::config::NvdimmConfig) -> Result<PlacedDimm, String> {
        let room = self
            .hotplug
            .as_mut()
            .ok_or("this machine has no hotplug slots (--hotplug-slots)")?;
        if room.slots == 0 {
            return Err("no hotplug slot left".into());
        }
        if self.placed.iter().any(|d| d.config.path == config.path) {
            return Err(format!("{}: already a DIMM", config.path.display()));
        }
        if config.label_methods.methods() {
            return Err("label-methods: the hotplug slots' devices have no label methods".into());
        }
        if config.flush_hints > 0 && self.flush.is_none() {
            return Err(
                "flush-hints: this machine has no flush hint page (give a boot DIMM flush hints)"
                    .into(),
            );
        }
        let mut all: Vec<_> = self.placed.iter().map(|d| d.config.clone()).collect();
        all.push(config.clone());
        let (placed, end) = crate::config::place(&all)?;
        if end > room.limit {
            return Err(format!(
                "a DIMM of {} bytes does not fit in the device memory left",
                config.file_size()?
            ));
        }
        let new = placed.last().cloned().ok_or("no DIMM placed")?;
        if !config.check_file()? {
            config.create_file()?;
        }
        let model = Nvdimm::open(&new)?;
        room.backend.add(&new)?;
        room.slots -= 1;
        self.dimms.push(model);
        self.placed.push(new.clone());
        self.fit = crate::acpi::nfit_body(&self.placed, room.capabilities);
        room.backend.notify(NOTIFY_UPDATE)?;
        Ok(new)
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
        if handle == 0 {
            // The root device: function 0 only, offering nothing else (as
            // QEMU's root device does), unless ARS is on.
            let placed = &self.placed;
            return match (uuid == &ROOT_UUID, function, &mut self.ars) {
                (true, FN_QUERY, Some(_)) => crate::ars::FUNCTIONS.to_le_bytes().to_vec(),
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
        let out = dimm.dsm(function, input, &mut self.faults, false);
        self.count_label_bytes(function, input, &out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{place, NvdimmConfig};

    fn platform(name: &str, specs: &[&str]) -> Platform {
        let dir =
            std::env::temp_dir().join(format!("nvdimm-vmm-model-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cfgs: Vec<NvdimmConfig> = specs
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let p = dir.join(format!("d{i}.img"));
                let _ = std::fs::remove_file(&p);
                let c = NvdimmConfig::parse(&format!("path={},{s}", p.display())).unwrap();
                c.create_file().unwrap();
                c
            })
            .collect();
        let (placed, _) = place(&cfgs).unwrap();
        Platform::new(&placed, vec![1, 2, 3]).unwrap()
    }

    fn call(p: &mut Platform, handle: u32, function: u32, input: &[u8]) -> Vec<u8> {
        p.call(&DsmCall {
            handle,
            uuid: if handle == 0 { ROOT_UUID } else { INTEL_UUID },
            revision: 1,
            function,
            input: Some(input.to_vec()),
        })
        .output
    }

    fn range(off: u32, len: u32) -> Vec<u8> {
        [off.to_le_bytes(), len.to_le_bytes()].concat()
    }

    #[test]
    fn query_functions() {
        let mut p = platform("query", &["size=4M,label-size=128K", "size=4M"]);
        assert_eq!(call(&mut p, 0, 0, &[]), 0u32.to_le_bytes());
        assert_eq!(call(&mut p, 0, 1, &[]), status(STATUS_NOT_SUPPORTED));
        assert_eq!(call(&mut p, 1, 0, &[]), 0x71u32.to_le_bytes());
        assert_eq!(call(&mut p, 2, 0, &[]), 0u32.to_le_bytes(), "label-less");
        assert_eq!(call(&mut p, 2, 4, &[]), status(STATUS_NOT_SUPPORTED));
        assert_eq!(call(&mut p, 9, 4, &[]), status(STATUS_NO_SUCH_DEVICE));
        let other = p.call(&DsmCall {
            handle: 1,
            uuid: [0x55; 16],
            revision: 1,
            function: 0,
            input: Some(vec![]),
        });
        assert_eq!(other.output, [0], "unknown family: no functions");
        assert_eq!(p.counters.calls[&(1, 0)], 2);
    }

    #[test]
    fn counters_keyed_by_guest_values_are_capped() {
        let mut p = platform("counters", &["size=4M,label-size=128K"]);
        let n = MAX_COUNTER_KEYS as u32 + 100;
        for f in 0..n {
            call(&mut p, 7, f, &[]);
            p.label_method(f, 4, Some(&[]));
        }
        call(&mut p, 7, 0, &[]);
        assert_eq!(p.counters.calls.len(), MAX_COUNTER_KEYS);
        assert_eq!(p.counters.methods.len(), MAX_COUNTER_KEYS);
        assert_eq!(p.counters.calls[&(7, 0)], 2, "known keys still count");
        assert_eq!(p.counters.other_calls, 200);
        let j = p.counters.json();
        assert_eq!(j["calls_other"], 200);
        assert_eq!(j["total"], u64::from(n) * 2 + 1);
    }

    #[test]
    fn label_area() {
        let mut p = platform("labels", &["size=4M,label-size=128K"]);
        let size = call(&mut p, 1, 4, &[]);
        assert_eq!(size.len(), 12);
        assert_eq!(le32(&size, 0), Some(0));
        assert_eq!(le32(&size, 4), Some(128 << 10));
        assert_eq!(le32(&size, 8), Some(MAX_TRANSFER as u32));
        let mut w = range(100, 5);
        w.extend(b"hello");
        assert_eq!(call(&mut p, 1, 6, &w), status(0));
        let r = call(&mut p, 1, 5, &range(98, 9));
        assert_eq!(&r[..4], &[0; 4]);
        assert_eq!(&r[4..], b"\0\0hello\0\0");
        // The bytes are at the end of the file, after the 4 MiB of pmem.
        let file = std::fs::read(std::env::temp_dir().join(format!(
            "nvdimm-vmm-model-{}-labels/d0.img",
            std::process::id()
        )))
        .unwrap();
        assert_eq!(&file[(4 << 20) + 100..(4 << 20) + 105], b"hello");
        // Out of range, overflowing, short and truncated inputs.
        assert_eq!(call(&mut p, 1, 5, &range(128 << 10, 1)), status(3));
        assert_eq!(call(&mut p, 1, 5, &range(u32::MAX, 2)), status(3));
        assert_eq!(call(&mut p, 1, 5, &[1, 2, 3]), status(3));
        assert_eq!(call(&mut p, 1, 6, &range(0, 10)), status(3), "data missing");
        assert_eq!(call(&mut p, 1, 7, &[]), status(STATUS_NOT_SUPPORTED));
        let whole = call(&mut p, 1, 5, &range(0, 128 << 10));
        assert_eq!(whole.len(), 4 + (128 << 10));
        assert_eq!(p.counters.label_bytes_written, 5);
        let bad = p.call(&DsmCall {
            handle: 1,
            uuid: INTEL_UUID,
            revision: 1,
            function: 6,
            input: None,
        });
        assert_eq!(bad.output, status(3));
        assert_eq!(p.counters.bad_requests, 1);
    }

    #[test]
    fn label_methods() {
        let mut p = platform(
            "lsx",
            &[
                "size=4M,label-size=128K,label-methods=on",
                "size=4M,label-size=128K,label-methods=both",
                "size=4M,label-size=128K",
            ],
        );
        // on: not the Intel family (function 0 lists nothing) but Microsoft's,
        // and the _DSM refuses the label functions.
        assert_eq!(call(&mut p, 1, 0, &[]), 0u32.to_le_bytes());
        let hv = |p: &mut Platform, h: u32, f: u32| {
            p.call(&DsmCall {
                handle: h,
                uuid: MSFT_UUID,
                revision: 1,
                function: f,
                input: Some(vec![]),
            })
            .output
        };
        assert_eq!(hv(&mut p, 1, 0), 1u32.to_le_bytes());
        assert_eq!(hv(&mut p, 1, 1), status(STATUS_NOT_SUPPORTED));
        assert_eq!(hv(&mut p, 2, 0), [0], "both: Intel only");
        assert_eq!(hv(&mut p, 3, 0), [0], "off: Intel only");
        assert_eq!(call(&mut p, 1, 4, &[]), status(STATUS_NOT_SUPPORTED));
        assert_eq!(
            call(&mut p, 1, 5, &range(0, 4)),
            status(STATUS_NOT_SUPPORTED)
        );
        assert_eq!(call(&mut p, 2, 0, &[]), 0x71u32.to_le_bytes(), "both");
        assert_eq!(call(&mut p, 3, 0, &[]), 0x71u32.to_le_bytes(), "off");
        let m = |p: &mut Platform, h: u32, f: u32, input: &[u8]| {
            p.label_method(h, f, Some(input)).output
        };
        let lsi = m(&mut p, 1, 4, &[]);
        assert_eq!(lsi.len(), 12);
        assert_eq!(le32(&lsi, 0), Some(LS_SUCCESS));
        assert_eq!(le32(&lsi, 4), Some(128 << 10));
        assert_eq!(le32(&lsi, 8), Some(MAX_TRANSFER as u32));
        let mut w = range(10, 3);
        w.extend(b"abc");
        assert_eq!(m(&mut p, 1, 6, &w), status(LS_SUCCESS));
        assert_eq!(&m(&mut p, 1, 5, &range(10, 3))[4..], b"abc");
        // Invalid input is the methods' 2, not the _DSM's 3 ("locked").
        assert_eq!(
            m(&mut p, 1, 5, &range(128 << 10, 1)),
            status(LS_INVALID_INPUT)
        );
        assert_eq!(m(&mut p, 1, 6, &range(0, 10)), status(LS_INVALID_INPUT));
        assert_eq!(m(&mut p, 1, 7, &[]), status(LS_INVALID_INPUT));
        // DIMMs without the methods, unknown handles, no input.
        assert_eq!(m(&mut p, 3, 4, &[]), status(LS_HW_ERROR));
        assert_eq!(m(&mut p, 9, 4, &[]), status(LS_HW_ERROR));
        assert_eq!(p.label_method(2, 4, None).output, status(LS_INVALID_INPUT));
        assert_eq!(m(&mut p, 2, 4, &[]).len(), 12, "both: the methods work too");
        // Faults keyed by the function hit the method too; injected
        // statuses pass unchanged (3: locked).
        p.faults
            .add(Fault {
                handle: Some(1),
                function: Some(5),
                action: FaultAction::Status(LS_LOCKED),
                remaining: Some(1),
            })
            .unwrap();
        assert_eq!(m(&mut p, 1, 5, &range(10, 3)), status(LS_LOCKED));
        p.faults
            .add(Fault {
                handle: None,
                function: Some(5),
                action: FaultAction::Short(5),
                remaining: Some(1),
            })
            .unwrap();
        assert_eq!(m(&mut p, 1, 5, &range(10, 3)).len(), 5);
        let s = p.counters.json();
        assert_eq!(s["calls"]["1:LSR"], 4);
        assert_eq!(s["calls"]["1:LSW"], 2);
        assert_eq!(s["calls"]["1:LSI"], 1);
        assert_eq!(s["calls"]["1:5"], 1);
        assert_eq!(p.counters.label_bytes_written, 3);
    }

    struct FakeBackend(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

    impl HotplugBackend for FakeBackend {
        fn add(&mut self, d: &PlacedDimm) -> Result<(), String> {
            self.0.lock().unwrap().push(format!("add {:#x}", d.address));
            Ok(())
        }
        fn notify(&mut self, value: u8) -> Result<(), String> {
            self.0.lock().unwrap().push(format!("notify {value:#x}"));
            Ok(())
        }
    }

    #[test]
    fn hotplug_regenerates_fit() {
        let mut p = platform("hotplug", &["size=4M,label-size=128K"]);
        let cfg = |name: &str| {
            let f = std::env::temp_dir().join(format!(
                "nvdimm-vmm-model-{}-hotplug/{name}",
                std::process::id()
            ));
            let _ = std::fs::remove_file(&f);
            NvdimmConfig::parse(&format!("path={},size=4M,label-size=128K", f.display())).unwrap()
        };
        assert!(p
            .hotplug(cfg("h1.img"))
            .unwrap_err()
            .contains("no hotplug slots"));
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        p.hotplug = Some(HotplugRoom {
            backend: Box::new(FakeBackend(log.clone())),
            slots: 1,
            limit: crate::config::DEVICE_MEMORY_BASE + (1 << 30),
            capabilities: 0,
        });
        let d = p.hotplug(cfg("h1.img")).unwrap();
        assert_eq!(d.slot, 1);
        assert_eq!(d.address, crate::config::DEVICE_MEMORY_BASE + (128 << 20));
        assert_eq!(*log.lock().unwrap(), ["add 0x108000000", "notify 0x80"]);
        let t = crate::acpi::nfit(&p.fit);
        let n = nfit_table::table::Nfit::parse(&t).unwrap();
        assert_eq!(n.memdevs().count(), 2);
        assert_eq!(
            call(&mut p, 2, 0, &[]),
            0x71u32.to_le_bytes(),
            "the new DIMM answers"
        );
        assert!(p
            .hotplug(cfg("h2.img"))
            .unwrap_err()
            .contains("no hotplug slot left"));
        p.hotplug.as_mut().unwrap().slots = 1;
        let mut big = cfg("h3.img");
        big.size = 2 << 30;
        assert!(p.hotplug(big).unwrap_err().contains("does not fit"));
        assert!(!std::env::temp_dir()
            .join(format!(
                "nvdimm-vmm-model-{}-hotplug/h3.img",
                std::process::id()
            ))
            .exists());
    }

    #[test]
    fn root_ars_functions() {
        let mut p = platform("ars", &["size=4M,label-size=128K"]);
        assert_eq!(
            call(&mut p, 0, 0, &[]),
            0u32.to_le_bytes(),
            "off by default"
        );
        assert_eq!(call(&mut p, 0, 1, &[0; 16]), status(STATUS_NOT_SUPPORTED));
        p.ars = Some(crate::ars::Ars::default());
        assert_eq!(call(&mut p, 0, 0, &[]), crate::ars::FUNCTIONS.to_le_bytes());
        let base = crate::config::DEVICE_MEMORY_BASE;
        let mut inj = [(base + 4096).to_le_bytes(), 512u64.to_le_bytes()].concat();
        inj.push(0);
        assert_eq!(call(&mut p, 0, 7, &inj), [0; 4]);
        let mut start = [base.to_le_bytes(), (4u64 << 20).to_le_bytes()].concat();
        start.extend(2u16.to_le_bytes());
        start.extend([0; 6]);
        assert_eq!(call(&mut p, 0, 2, &start)[..4], [0; 4]);
        let st = call(&mut p, 0, 3, &[]);
        assert_eq!(
            u32::from_le_bytes(st[48..52].try_into().unwrap()),
            1,
            "DIMM handle"
        );
        assert_eq!(
            Platform::handle_of(&p.placed, base + (4 << 20)),
            0,
            "past the pmem"
        );
    }

    use fuzz_rng::Rng;

    #[test]
    fn random_guest_calls_never_panic_and_stay_in_bounds() {
        let mut p = platform("random", &["size=4M,label-size=128K", "size=4M"]);
        p.ars = Some(crate::ars::Ars::default());
        let mut rng = Rng::new(0x6e76_6469_6d6d_0001);
        let label = std::fs::read(std::env::temp_dir().join(format!(
            "nvdimm-vmm-model-{}-random/d1.img",
            std::process::id()
        )))
        .unwrap();
        for i in 0..20_000u32 {
            let handle = rng.below(5) as u32;
            let function = if rng.below(4) == 0 {
                rng.next_u64() as u32
            } else {
                rng.below(11) as u32
            };
            let uuid = match rng.below(3) {
                0 => ROOT_UUID,
                1 => INTEL_UUID,
                _ => [rng.next_u64() as u8; 16],
            };
            let len = match rng.below(4) {
                0 => 0,
                1 => 8,
                2 => rng.below(64) as usize,
                _ => rng.below(crate::mailbox::DATA_SIZE as u64 + 1) as usize,
            };
            let mut input: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            // Half the label calls get a plausible (offset, length).
            if len >= 8 && rng.below(2) == 0 {
                let off = rng.below(140 << 10) as u32;
                let n = rng.below(140 << 10) as u32;
                input[..8].copy_from_slice(&[off.to_le_bytes(), n.to_le_bytes()].concat());
            }
            let out = p.call(&DsmCall {
                handle,
                uuid,
                revision: 1,
                function,
                input: if i % 97 == 0 { None } else { Some(input) },
            });
            assert!(!out.output.is_empty(), "every call answers");
            assert!(
                out.output.len() <= crate::mailbox::DATA_SIZE,
                "an answer fits the mailbox ({} bytes)",
                out.output.len()
            );
        }
        // The label-less DIMM's file was never written (it has no label area).
        let after = std::fs::read(std::env::temp_dir().join(format!(
            "nvdimm-vmm-model-{}-random/d1.img",
            std::process::id()
        )))
        .unwrap();
        assert_eq!(label, after);
    }

    #[test]
    fn faults() {
        let mut p = platform(
            "faults",
            &["size=4M,label-size=128K", "size=4M,label-size=128K"],
        );
        p.faults
            .add(Fault {
                handle: Some(1),
                function: Some(5),
                action: FaultAction::Status(STATUS_HW_ERROR),
                remaining: Some(1),
            })
            .unwrap();
        assert_eq!(call(&mut p, 1, 5, &range(0, 4)), status(4));
        assert_eq!(
            call(&mut p, 1, 5, &range(0, 4)).len(),
            8,
            "one-shot rule consumed"
        );
        p.faults
            .add(Fault {
                handle: None,
                function: Some(4),
                action: FaultAction::Short(6),
                remaining: None,
            })
            .unwrap();
        assert_eq!(call(&mut p, 2, 4, &[]).len(), 6);
        assert_eq!(call(&mut p, 1, 4, &[]).len(), 6, "persistent rule");
        p.faults.clear();
        assert_eq!(call(&mut p, 1, 4, &[]).len(), 12);
        p.faults
            .add(Fault {
                handle: Some(2),
                function: None,
                action: FaultAction::TornWrite(2),
                remaining: Some(1),
            })
            .unwrap();
        let mut w = range(0, 4);
        w.extend(b"ABCD");
        assert_eq!(call(&mut p, 2, 6, &w), status(4));
        assert_eq!(&call(&mut p, 2, 5, &range(0, 4))[4..], b"AB\0\0");
        p.faults
            .add(Fault {
                handle: None,
                function: None,
                action: FaultAction::Delay(5),
                remaining: Some(1),
            })
            .unwrap();
        let r = p.call(&DsmCall {
            handle: 1,
            uuid: INTEL_UUID,
            revision: 1,
            function: 4,
            input: Some(vec![]),
        });
        assert_eq!(r.delay, Some(Duration::from_millis(5)));
        assert_eq!(r.output.len(), 12);
        assert_eq!(p.faults.injected, 5);
        assert_eq!(p.faults.armed(), 0);
    }
}
