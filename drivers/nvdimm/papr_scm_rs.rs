// SPDX-License-Identifier: GPL-2.0

//! Rust PAPR SCM driver: persistent memory of pseries guests.
//!
//! Binds the `ibm,pmemory` (and `ibm,pmemory-v2`) device-tree nodes the
//! hypervisor gives a logical partition, binds the DIMM's storage-class-memory
//! blocks into the partition's address space with `H_SCM_BIND_MEM`, and
//! registers one nvdimm bus (no parent device), one DIMM and one region per
//! node through `kernel::nvdimm`, like the C `papr_scm` driver: labels through
//! `H_SCM_READ_METADATA`/`H_SCM_WRITE_METADATA`, health and smart injection
//! through the PAPR PDSMs of `ND_CMD_CALL`, the `papr/*` DIMM attributes, and
//! an asynchronous region whose flush issues `H_SCM_FLUSH` when the node has
//! `ibm,hcall-flush-required`.
//!
//! Every decision is made by the `core`-only files of `papr_scm_rs/`, which
//! the host crate `tools/papr` tests against a model of the hypervisor with
//! fault injection; this file is the kernel side: hcalls, device-tree
//! access, registration, locking. Where it differs from C (stricter
//! device-tree validation, a partial bind cleaned up, malformed PDSM packages
//! refused with `EINVAL` instead of reported as a status) the shared files
//! say why.

use core::fmt::Write;
use kernel::{
    device::{self, property::FwNode, Core},
    nvdimm::{
        self, papr, AttributeOutput, Bus, BusOptions, CallPackage, DimmOptions, Family,
        InterleaveSet, LabelArea, Mapping, NoAttributes, Persistence, Provider, RegionKind,
        RegionOptions,
    },
    of, platform,
    prelude::*,
    sync::{aref::ARef, Mutex},
    time::{delay::fsleep, Delta, Instant, Monotonic},
};

// `core`-only logic shared with the host crate `tools/papr`, which tests it
// against its hypervisor model and uses parts this driver does not.
#[path = "papr_scm_rs/dt.rs"]
#[allow(dead_code, unreachable_pub)]
mod dt;
#[path = "papr_scm_rs/hcall.rs"]
#[allow(dead_code, unreachable_pub)]
mod hcall;
#[path = "papr_scm_rs/health.rs"]
#[allow(dead_code, unreachable_pub)]
mod health;
#[path = "papr_scm_rs/logic.rs"]
#[allow(dead_code, unreachable_pub)]
mod logic;
#[path = "papr_scm_rs/mce.rs"]
mod mce;
#[cfg(CONFIG_PERF_EVENTS)]
#[path = "papr_scm_rs/pmu.rs"]
#[allow(dead_code, unreachable_pub)]
mod pmu;
#[path = "papr_scm_rs/poison.rs"]
#[allow(dead_code, unreachable_pub)]
mod poison;
#[path = "papr_scm_rs/stats.rs"]
#[allow(dead_code, unreachable_pub)]
mod stats;

use hcall::{Hypervisor, PLPAR_HCALL9_BUFSIZE};

/// Label bytes per `ND_CMD_GET/SET_CONFIG_DATA`: one v1.1 label. The
/// hypervisor moves 8 bytes per hcall whatever this is, so a larger transfer
/// saves no hcalls, while the core reads the label area in chunks of this
/// size and skips chunks without a label in use: a chunk of one label reads
/// no more than C's 8-byte transfers do (4096 read 30% more at probe), with
/// 1/16 of the ioctls for user space.
const LABEL_MAX_XFER: u32 = 128;

/// How long a health reading is reused by `papr/flags` (C's
/// `MIN_HEALTH_QUERY_INTERVAL`).
const HEALTH_CACHE_MS: i64 = health::MIN_HEALTH_QUERY_INTERVAL_SECS as i64 * 1000;

/// `NUMA_NO_NODE`.
const NO_NODE: i32 = -1;

/// The platform's hypervisor: the SCM calls of [`papr`], `msleep()`,
/// `cond_resched()`.
struct Hcalls;

impl Hypervisor for Hcalls {
    fn hcall(&mut self, opcode: u64, args: &[u64], ret: &mut [u64; PLPAR_HCALL9_BUFSIZE]) -> i64 {
        match papr::ScmHcall::from_opcode(opcode) {
            Some(call) => papr::hcall(call, args, ret),
            // The shared code makes SCM calls only.
            None => hcall::H_FUNCTION,
        }
    }

    fn hcall_buf(
        &mut self,
        opcode: u64,
        arg0: u64,
        buf: Option<&mut [u8]>,
        ret: &mut [u64; PLPAR_HCALL9_BUFSIZE],
    ) -> i64 {
        let Some(call) = papr::ScmHcall::from_opcode(opcode) else {
            return hcall::H_FUNCTION;
        };
        match buf {
            None => papr::hcall(call, &[arg0, 0, 0], ret),
            // The hypervisor needs memory a physical address describes: a
            // copy in a `kmalloc` buffer (statistics are read rarely).
            Some(buf) => papr::hcall_with_copy(call, arg0, buf, ret),
        }
    }

    fn sleep_ms(&mut self, ms: u32) {
        fsleep(Delta::from_millis(i64::from(ms)));
    }

    fn cond_resched(&mut self) {
        papr::cond_resched();
    }
}

/// The hypervisor of counter reads, which run with interrupts disabled:
/// the request goes through the event's own `kmalloc` buffer (no
/// allocation), and nothing sleeps (statistics calls are not retried).
#[cfg(CONFIG_PERF_EVENTS)]
struct CounterHcalls<'a> {
    buf: &'a mut papr::HcallBuffer,
}

#[cfg(CONFIG_PERF_EVENTS)]
impl Hypervisor for CounterHcalls<'_> {
    /// Counter reads make statistics calls only.
    fn hcall(
        &mut self,
        _opcode: u64,
        _args: &[u64],
        _ret: &mut [u64; PLPAR_HCALL9_BUFSIZE],
    ) -> i64 {
        hcall::H_FUNCTION
    }

    fn hcall_buf(
        &mut self,
        opcode: u64,
        arg0: u64,
        buf: Option<&mut [u8]>,
        ret: &mut [u64; PLPAR_HCALL9_BUFSIZE],
    ) -> i64 {
        let (Some(call), Some(buf)) = (papr::ScmHcall::from_opcode(opcode), buf) else {
            return hcall::H_PARAMETER;
        };
        let len = buf.len();
        let Some(request) = self.buf.as_mut_slice().get_mut(..len) else {
            return hcall::H_PARAMETER;
        };
        request.copy_from_slice(buf);
        let rc = papr::hcall_with_buffer(call, arg0, &mut *self.buf, len, ret);
        if let Some(answer) = self.buf.as_slice().get(..len) {
            buf.copy_from_slice(answer);
        }
        rc
    }

    fn sleep_ms(&mut self, _ms: u32) {}
}

/// The counters of a DIMM's nvdimm PMU.
#[cfg(CONFIG_PERF_EVENTS)]
#[pin_data]
struct ScmCounters {
    drc_index: u32,
    /// The events whose statistic the hypervisor reported at probe.
    events: pmu::EventSet,
}

/// An open counter event.
#[cfg(CONFIG_PERF_EVENTS)]
struct CounterEvent {
    config: u64,
    /// The request and answer of the statistics call.
    buf: papr::HcallBuffer,
}

#[cfg(CONFIG_PERF_EVENTS)]
impl nvdimm::pmu::Counters for ScmCounters {
    type Event = CounterEvent;

    fn open(&self, config: u64) -> Result<CounterEvent> {
        if !self.events.contains(config) {
            return Err(EINVAL);
        }
        Ok(CounterEvent {
            config,
            buf: papr::HcallBuffer::new(stats::ONE_STAT_LEN)?,
        })
    }

    fn read(&self, event: &mut CounterEvent) -> Result<u64> {
        let mut hv = CounterHcalls {
            buf: &mut event.buf,
        };
        pmu::read_counter(&mut hv, self.drc_index, self.events, event.config)
            .map_err(|e| Error::from_errno(e.errno()))
    }
}

/// The DIMM's PMU, as C's `papr_scm_pmu_register()`: registered when the
/// hypervisor gives statistics (all of them fetched once to check the call
/// works), else none, which is only logged.
#[cfg(CONFIG_PERF_EVENTS)]
fn register_pmu<'bound>(
    pdev: &'bound platform::Device<Core<'_>>,
    bus: &Bus<Scm>,
    dimm: nvdimm::DimmId,
    online_node: i32,
) -> Option<nvdimm::pmu::Registration<'bound, ScmCounters>> {
    let scm = bus.provider();
    let drc_index = scm.cfg.drc_index;
    let registered = scm
        .stats_len
        .ok_or(ENOENT)
        .and_then(|len| {
            let mut buf = papr::HcallBuffer::new(len)?;
            pmu::check_events(&mut Hcalls, drc_index, buf.as_mut_slice()).map_err(|e| {
                dev_dbg!(scm.dev, "performance statistics: {e:?}\n");
                Error::from_errno(e.errno())
            })
        })
        .and_then(|events| {
            nvdimm::pmu::Registration::register(
                pdev,
                bus.dimm_name(dimm)?,
                (online_node != NO_NODE).then_some(online_node),
                try_pin_init!(ScmCounters { drc_index, events }),
            )
        });
    registered
        .inspect_err(|e| {
            dev_info!(
                scm.dev,
                "nvdimm pmu didn't register rc={}\n",
                i64::from(e.to_errno())
            )
        })
        .ok()
}

/// The health cache (C's `health_mutex` protects the same fields).
struct Health {
    /// Last reading, with the injected bits applied.
    bitmap: u64,
    /// When it was taken; `None`: never, or invalidated by a smart inject.
    taken: Option<Instant<Monotonic>>,
    /// `papr/health_bitmap_inject`: bits forced on in every reading.
    inject: u64,
}

/// One `ibm,pmemory` node: the provider of its bus.
#[pin_data]
struct Scm {
    dev: ARef<device::Device>,
    cfg: dt::PmemConfig,
    /// Size of the all-statistics buffer; `None` when the hypervisor has
    /// no statistics (QEMU): `papr/perf_stats` is hidden then.
    stats_len: Option<usize>,
    #[pin]
    health: Mutex<Health>,
}

impl Scm {
    /// Reads the health from the hypervisor into the cache (C's
    /// `__drc_pmem_query_health()`); the caller holds the lock.
    fn refresh(&self, h: &mut Health) -> Result<u64> {
        let reading = health::query(&mut Hcalls, self.cfg.drc_index).map_err(|e| {
            dev_err!(
                self.dev,
                "Failed to query health information, Err:{}\n",
                e.rc
            );
            Error::from_errno(e.errno())
        })?;
        h.bitmap = health::apply_inject(reading.bitmap, h.inject);
        h.taken = Some(Instant::now());
        Ok(h.bitmap)
    }

    /// The health, from the cache when it is younger than a minute.
    fn health_cached(&self) -> Result<u64> {
        let mut h = self.health.lock();
        let fresh = h
            .taken
            .as_ref()
            .is_some_and(|t| t.elapsed().as_millis() <= HEALTH_CACHE_MS);
        if fresh {
            Ok(h.bitmap)
        } else {
            self.refresh(&mut h)
        }
    }

    /// Queries statistics `ids` (all of them when empty) into a fresh
    /// buffer and hands them to `f`.
    fn with_stats<T>(&self, ids: &[[u8; 8]], f: impl FnOnce(&stats::Stats<'_>) -> T) -> Result<T> {
        let len = if ids.is_empty() {
            self.stats_len.ok_or(ENOENT)?
        } else {
            stats::HEADER_LEN + ids.len() * stats::STAT_LEN
        };
        // A zeroed `kmalloc` buffer (`len` is at least the header's size).
        let mut buf = papr::HcallBuffer::new(len)?;
        let s = stats::query(&mut Hcalls, self.cfg.drc_index, buf.as_mut_slice(), ids).map_err(
            |e| {
                dev_dbg!(self.dev, "performance statistics: {e:?}\n");
                Error::from_errno(e.errno())
            },
        )?;
        Ok(f(&s))
    }

    /// `PAPR_PDSM_HEALTH`: a fresh reading, the fuel gauge when statistics
    /// have it, the dirty shutdown count.
    fn pdsm_health(&self, payload: &mut [u8]) -> Result<usize> {
        let bitmap = {
            let mut h = self.health.lock();
            self.refresh(&mut h)?
        };
        let mut out = health::PdsmHealth::from_bitmap(bitmap);
        if self.stats_len.is_some() {
            // Without the gauge the answer is still valid (as in C).
            out.fuel_gauge = self
                .with_stats(&[stats::MEM_LIFE], |s| s.get(&stats::MEM_LIFE))
                .ok()
                .flatten()
                .map(health::fuel_gauge);
        }
        out.dsc = Some(self.cfg.dirty_shutdown_count);
        let bytes = out.to_payload();
        payload
            .get_mut(..bytes.len())
            .ok_or(EINVAL)?
            .copy_from_slice(&bytes);
        Ok(bytes.len())
    }

    /// `PAPR_PDSM_SMART_INJECT`: updates the inject mask and invalidates
    /// the cached health so the next reading shows it.
    fn pdsm_smart_inject(&self, payload: &mut [u8]) -> Result<usize> {
        let req = health::SmartInject::decode(payload).ok_or(EINVAL)?;
        let supported = {
            let mut h = self.health.lock();
            let (mask, supported) = req.apply(h.inject);
            h.inject = mask;
            h.taken = None;
            supported
        };
        payload
            .get_mut(..4)
            .ok_or(EINVAL)?
            .copy_from_slice(&supported.to_ne_bytes());
        Ok(health::ND_PDSM_PAYLOAD_MAX_SIZE)
    }
}

/// Errno of a label access that failed; logs what happened.
fn meta_error(dev: &device::Device, what: &str, offset: u32, e: logic::MetaError) -> Error {
    dev_err!(
        dev,
        "label {what} at {:#x} failed: {} ({})\n",
        u64::from(offset),
        e.what(),
        e.rc()
    );
    Error::from_errno(e.errno())
}

kernel::nvdimm_attributes! {
    /// The `papr/*` DIMM attributes; `perf_stats` and
    /// `health_bitmap_inject` are `DEVICE_ATTR_ADMIN_RO` in C.
    enum PaprAttr in c"papr" {
        Flags = c"flags",
        PerfStats = c"perf_stats": AdminReadOnly,
        DirtyShutdown = c"dirty_shutdown",
        HealthBitmapInject = c"health_bitmap_inject": AdminReadOnly,
    }
}

#[vtable]
impl Provider for Scm {
    type Dimm = ();
    type Region = ();

    type BusAttribute = NoAttributes;
    type DimmAttribute = PaprAttr;
    type RegionAttribute = NoAttributes;

    fn read_labels(&self, _dimm: &(), offset: u32, out: &mut [u8]) -> Result {
        let c = &self.cfg;
        logic::read_metadata(&mut Hcalls, c.drc_index, c.metadata_size, offset, out)
            .map_err(|e| meta_error(&self.dev, "read", offset, e))
    }

    fn write_labels(&self, _dimm: &(), offset: u32, data: &[u8]) -> Result {
        let c = &self.cfg;
        logic::write_metadata(&mut Hcalls, c.drc_index, c.metadata_size, offset, data)
            .map_err(|e| meta_error(&self.dev, "write", offset, e))
    }

    fn call(&self, _dimm: &(), pkg: &mut CallPackage<'_>) -> Result {
        // The family is PAPR (the bus accepts no other). The package is an
        // `nd_pkg_pdsm`: status (i32) and two reserved u16 words, then the
        // payload union.
        let hdr = health::ND_PDSM_HDR_SIZE;
        let full = hdr + health::ND_PDSM_PAYLOAD_MAX_SIZE;
        let cmd = pkg.command();
        let (size_in, size_out) = (pkg.input().len(), pkg.output().len());
        let (need_in, need_out) = match u32::try_from(cmd) {
            Ok(health::PAPR_PDSM_HEALTH) => (None, full),
            Ok(health::PAPR_PDSM_SMART_INJECT) => (Some(full), full),
            _ => return Err(EINVAL),
        };
        if size_out != need_out || need_in.is_some_and(|n| n != size_in) {
            dev_dbg!(
                self.dev,
                "PDSM[{cmd:#x}]: size_in {size_in} / size_out {size_out} mismatch\n"
            );
            return Err(EINVAL);
        }
        // Checked accesses that return errors rather than panic: a panic
        // path is code and relocations the module would carry for nothing.
        let (head, body) = pkg.payload().split_at_mut_checked(hdr).ok_or(EINVAL)?;
        let (status_out, reserved) = head.split_first_chunk_mut::<4>().ok_or(EINVAL)?;
        if reserved.iter().any(|&b| b != 0) {
            return Err(EINVAL);
        }
        let result = match u32::try_from(cmd) {
            Ok(health::PAPR_PDSM_HEALTH) => self.pdsm_health(body),
            _ => self.pdsm_smart_inject(body),
        };
        let (status, len) = match result {
            Ok(n) => (0i32, hdr.checked_add(n).ok_or(EINVAL)?),
            Err(e) => (e.to_errno(), hdr),
        };
        *status_out = status.to_ne_bytes();
        pkg.set_fw_size(len as u32);
        Ok(())
    }

    fn show_dimm_attribute(
        &self,
        _dimm: &(),
        attr: PaprAttr,
        out: &mut AttributeOutput<'_>,
    ) -> Result {
        match attr {
            PaprAttr::Flags => {
                let bitmap = self.health_cached()?;
                health::write_flags(bitmap, out)
            }
            PaprAttr::PerfStats => self.with_stats(&[], |s| s.write_text(out))?,
            PaprAttr::DirtyShutdown => health::write_decimal(out, self.cfg.dirty_shutdown_count)
                .and_then(|()| out.write_str("\n")),
            // The kernel's "%#llx" prints the prefix for zero too: "0x0".
            PaprAttr::HealthBitmapInject => {
                let inject = self.health.lock().inject;
                out.write_str("0x")
                    .and_then(|()| health::write_hex(out, inject, 1, false))
                    .and_then(|()| out.write_str("\n"))
            }
        }
        .map_err(|_| EOVERFLOW)
    }

    fn dimm_attribute_visible(&self, _dimm: &(), attr: PaprAttr) -> bool {
        attr != PaprAttr::PerfStats || self.stats_len.is_some()
    }

    fn flush(&self, _region: &()) -> Result {
        logic::flush(&mut Hcalls, self.cfg.drc_index).map_err(|e| {
            dev_err!(self.dev, "flush error: {}\n", e.rc);
            EIO
        })
    }
}

/// Reads and validates the properties of `dev`'s node `node`.
fn read_config(dev: &device::Device, node: Option<&FwNode>) -> Result<dt::PmemConfig> {
    let node = node.ok_or_else(|| {
        dev_err!(dev, "no device-tree node\n");
        ENODEV
    })?;
    // One call site for all of them: each call into the kernel crate is
    // words the module loader patches (see the "Load time" documentation).
    let mut raw: [Option<KVec<u8>>; 8] = Default::default();
    for (value, name) in raw.iter_mut().zip([
        c"ibm,my-drc-index",
        c"ibm,unit-guid",
        c"ibm,block-size",
        c"ibm,number-of-blocks",
        c"ibm,metadata-size",
        c"ibm,cache-flush-required",
        c"ibm,hcall-flush-required",
        c"ibm,persistence-failed-count",
    ]) {
        *value = papr::raw_property(node, name)?;
    }
    let [drc, guid, bsize, blocks, meta, cache, hflush, failed] = &raw;
    let props = dt::Props {
        drc_index: drc.as_deref(),
        unit_guid: guid.as_deref(),
        block_size: bsize.as_deref(),
        number_of_blocks: blocks.as_deref(),
        metadata_size: meta.as_deref(),
        cache_flush_required: cache.as_deref(),
        hcall_flush_required: hflush.as_deref(),
        persistence_failed_count: failed.as_deref(),
    };
    dt::parse(&props).map_err(|e| {
        match e.value() {
            Some(v) => dev_err!(
                dev,
                "{}: {} ({v:#x}), not binding\n",
                e.property(),
                e.kind()
            ),
            None => dev_err!(dev, "{}: {}, not binding\n", e.property(), e.kind()),
        }
        ENODEV
    })
}

/// The DIMM's NUMA node and the nearest online one (C's `dev_to_node()`
/// and `numa_map_to_online_node()`).
fn numa_nodes(dev: &device::Device) -> (i32, i32) {
    let Some(target) = dev.numa_node() else {
        return (NO_NODE, NO_NODE);
    };
    let online = nvdimm::nearest_online_node(target);
    (target, online)
}

/// A bound DIMM: unbound when dropped, after the bus (declared before it
/// in [`PaprScm`]) is gone.
struct Binding {
    dev: ARef<device::Device>,
    drc_index: u32,
}

impl Drop for Binding {
    fn drop(&mut self) {
        if let Err(e) = logic::unbind(&mut Hcalls, self.drc_index) {
            dev_err!(
                self.dev,
                "unbind of drc {:#x} failed: {} ({})\n",
                u64::from(self.drc_index),
                e.what(),
                e.value()
            );
        }
    }
}

/// The driver data of one node; the PMU goes first, then the bus (its UE
/// notifier first), then the binding.
struct PaprScm<'bound> {
    #[cfg(CONFIG_PERF_EVENTS)]
    _pmu: Option<nvdimm::pmu::Registration<'bound, ScmCounters>>,
    /// The bus, watched for UEs in its region (the notifier goes first).
    _bus: mce::Watched,
    _binding: Binding,
    _dev: core::marker::PhantomData<&'bound ()>,
}

impl<'bound> PaprScm<'bound> {
    fn new(pdev: &'bound platform::Device<Core<'_>>) -> Result<Self> {
        let dev: &device::Device<Core<'_>> = pdev.as_ref();
        let plain: &device::Device = dev;
        let node = plain.fwnode();
        let cfg = read_config(plain, node)?;
        // Creating the platform device did not read the node's
        // associativity into the distance table, which numa_nodes() needs
        // to find the nearest online node (as C, before binding).
        nvdimm::papr::update_numa_distance(plain);
        let geometry = logic::Geometry {
            drc_index: cfg.drc_index,
            block_size: cfg.block_size,
            blocks: cfg.blocks,
        };
        let bound =
            logic::bind(&mut Hcalls, &geometry, logic::OnOverlap::QueryExisting).map_err(|e| {
                dev_err!(dev, "bind err: {} ({})\n", e.what(), e.value());
                ENXIO
            })?;
        let binding = Binding {
            dev: ARef::from(plain),
            drc_index: cfg.drc_index,
        };
        dev_dbg!(
            dev,
            "bound drc {:#x} at {:#x} ({:?})\n",
            cfg.drc_index,
            bound.addr,
            bound.how
        );

        let stats_len = match stats::query_size(&mut Hcalls, cfg.drc_index) {
            Ok(len) => len,
            Err(e) => {
                dev_dbg!(dev, "no performance statistics: {e:?}\n");
                None
            }
        };
        let bus = Bus::register(
            kernel::module::this_module::<LocalModule>(),
            dev,
            None,
            &BusOptions {
                provider_name: plain.name(),
                of_node: node,
                dimm_families: &[Family::Papr],
                bus_commands: nvdimm::BusCommands::empty(),
                bus_families: nvdimm::BusFamilies::empty(),
            },
            try_pin_init!(Scm {
                dev: ARef::from(plain),
                cfg,
                stats_len,
                health <- kernel::new_mutex!(Health {
                    bitmap: 0,
                    taken: None,
                    inject: 0,
                }),
            }),
        )
        .inspect_err(|_| dev_err!(dev, "Error creating nvdimm bus\n"))?;

        // Whether the DIMM is unarmed; a failed query counts as healthy, as
        // in C (the reason is logged).
        let bitmap = {
            let scm = bus.provider();
            let mut h = scm.health.lock();
            scm.refresh(&mut h).unwrap_or(0)
        };
        let label_area = (cfg.metadata_size != 0).then_some(LabelArea {
            size: cfg.metadata_size,
            max_xfer: LABEL_MAX_XFER,
        });
        let dimm = bus
            .add_dimm(
                (),
                &DimmOptions {
                    label_area,
                    // C always sets NDD_LABELING; without a label area the
                    // core could not use it.
                    labeling: label_area.is_some(),
                    unarmed: health::is_unarmed(bitmap),
                    call: true,
                    flush_hints: &[],
                },
            )
            .inspect_err(|_| dev_err!(dev, "Error creating DIMM object\n"))?;

        let (target, online) = numa_nodes(plain);
        let cookies = cfg.cookies();
        let mapping = [Mapping {
            dimm,
            start: 0,
            size: cfg.size,
            position: 0,
        }];
        let (kind, persistence) = if cfg.is_volatile {
            (RegionKind::Volatile, None)
        } else {
            (RegionKind::Pmem, Some(Persistence::MemoryController))
        };
        let added = bus.add_region(
            (),
            &RegionOptions {
                kind,
                start: bound.addr,
                size: cfg.size,
                mappings: &mapping,
                numa_node: online,
                target_node: target,
                interleave_set: Some(InterleaveSet {
                    cookie1: cookies.cookie1,
                    cookie2: cookies.cookie2,
                    altcookie: cookies.altcookie,
                    type_guid: [0; 16],
                }),
                persistence,
                async_flush: cfg.hcall_flush_required,
                pagemap: false,
                of_node: node,
            },
        );
        let region = added.inspect_err(|e| {
            dev_err!(
                dev,
                "Error registering region {:#x}+{:#x}: {}\n",
                bound.addr,
                cfg.size,
                i64::from(e.to_errno())
            )
        })?;
        if target != online {
            dev_info!(
                dev,
                "Region registered with target node {} and online node {}\n",
                i64::from(target),
                i64::from(online)
            );
        }
        Ok(Self {
            #[cfg(CONFIG_PERF_EVENTS)]
            _pmu: register_pmu(pdev, &bus, dimm, online),
            _bus: mce::watch(bus, region, bound.addr, cfg.size)?,
            _binding: binding,
            _dev: core::marker::PhantomData,
        })
    }
}

kernel::of_device_table!(
    OF_TABLE,
    <PaprScmDriver as platform::Driver>::IdInfo,
    [
        (of::DeviceId::new(c"ibm,pmemory"), ()),
        (of::DeviceId::new(c"ibm,pmemory-v2"), ()),
    ]
);

struct PaprScmDriver;

impl platform::Driver for PaprScmDriver {
    type IdInfo = ();
    type Data<'bound> = PaprScm<'bound>;
    const OF_ID_TABLE: Option<of::IdTable<Self::IdInfo>> = Some(&OF_TABLE);

    fn probe<'bound>(
        pdev: &'bound platform::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        PaprScm::new(pdev)
    }
}

kernel::module_platform_driver! {
    type: PaprScmDriver,
    name: "papr_scm_rs",
    authors: ["nvdimm-rs developers"],
    description: "Rust PAPR storage class memory (pseries NVDIMM) driver",
    license: "GPL",
}
