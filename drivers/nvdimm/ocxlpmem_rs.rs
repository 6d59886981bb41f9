// SPDX-License-Identifier: GPL-2.0

//! Rust driver for OpenCAPI persistent memory cards (IBM 0x1014:0x0625).
//!
//! The card's controller is driven through its global MMIO registers and
//! admin command mailbox (`ocxlpmem_rs/*.rs`, `core`-only and shared with
//! the host crate `tools/ocxlpmem` and the test VMM's card model). Its
//! memory becomes an nvdimm bus with one DIMM, whose namespace labels live
//! at the start of the first memory section (v4 carves that section out
//! for metadata), and one pmem region over the rest.
//!
//! `/dev/ocxlpmemN` carries the card's own operations as ioctls
//! (`include/uapi/linux/ocxlpmem.h`; the `ocxlpmem` tool in
//! `tools/ocxlpmem` drives them): error log, controller dump, statistics,
//! health request, pending events. Its firmware is updated through the
//! firmware loader's upload interface, `/sys/class/firmware/ocxlpmemN/`
//! (`ocxlpmem_rs/upload.rs`).
//!
//! How a card is reached is behind `ocxlpmem_rs/transport.rs`: the module
//! registers a PCI driver per transport, `ocxlpmem_rs` for the test VMM's
//! attachment (`ocxlpmem_rs/ivshmem.rs`: an `ivshmem-doorbell` device whose
//! shared memory is the register file, the card memory at a guest-physical
//! range its descriptor names) and, with `CONFIG_OCXL`, `ocxlpmem_rs_ocxl`
//! for the card on the OpenCAPI bus (`ocxlpmem_rs/ocxl.rs`). Both hand the
//! shared [`bring_up`] a register window and what they know of the card.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use kernel::{
    bindings,
    device::Core,
    eventfd::EventFd,
    fs::File,
    ioctl::{_IO, _IOR, _IOW, _IOWR},
    irq::{IrqReturn, ThreadedHandler},
    miscdevice::{MiscDevice, MiscDeviceOptions, MiscDeviceRegistration},
    nvdimm::{
        self, AttributeOutput, Bus, BusOptions, CallPackage, DeviceMemory, DimmOptions, Family,
        LabelArea, Mapping, NoAttributes, Persistence, Provider, RegionKind, RegionOptions,
    },
    pci,
    prelude::*,
    sync::{aref::ARef, Arc, Mutex},
    time::{delay::fsleep, Delta},
    uaccess::{UserPtr, UserSlice},
};

// The `core`-only protocol, shared with `tools/ocxlpmem` (which tests and
// fuzzes it) and the test VMM's card model. The files name each other as
// `super::regs`, ...: they are siblings here too.
#[path = "ocxlpmem_rs/admin.rs"]
#[allow(dead_code, unreachable_pub)]
mod admin;
#[path = "ocxlpmem_rs/attach.rs"]
#[allow(dead_code, unreachable_pub)]
mod attach;
#[path = "ocxlpmem_rs/commands.rs"]
#[allow(dead_code, unreachable_pub)]
mod commands;
#[path = "ocxlpmem_rs/data.rs"]
#[allow(dead_code, unreachable_pub)]
mod data;
#[path = "ocxlpmem_rs/error.rs"]
#[allow(dead_code, unreachable_pub)]
mod error;
#[path = "ocxlpmem_rs/firmware.rs"]
#[allow(dead_code, unreachable_pub)]
mod firmware;
#[path = "ocxlpmem_rs/regs.rs"]
#[allow(dead_code, unreachable_pub)]
mod regs;
#[path = "ocxlpmem_rs/smart.rs"]
#[allow(dead_code, unreachable_pub)]
mod smart;
#[path = "ocxlpmem_rs/uapi.rs"]
#[allow(dead_code, unreachable_pub)]
mod uapi;
#[cfg(CONFIG_FW_UPLOAD)]
#[path = "ocxlpmem_rs/upload.rs"]
mod upload;

// The transports (kernel-only).
#[path = "ocxlpmem_rs/ivshmem.rs"]
mod ivshmem;
#[cfg(CONFIG_OCXL)]
#[path = "ocxlpmem_rs/ocxl.rs"]
mod ocxl;
#[path = "ocxlpmem_rs/transport.rs"]
mod transport;

/// Bytes of the label area: the start of the metadata section (the rest
/// of it stays reserved). A whole section would make the core read and
/// keep 128 MiB of labels (x86) at every probe.
const LABEL_AREA_SIZE: u32 = 128 << 10;
/// The guest's memory section size.
const SECTION: u64 = 1 << bindings::SECTION_SIZE_BITS;

/// The register window as the protocol sees it: the transport's.
struct Window<'a> {
    t: &'a dyn transport::Transport,
}

impl regs::Mmio for Window<'_> {
    fn size(&self) -> usize {
        self.t.size()
    }

    fn read_u64(&self, offset: usize) -> u64 {
        self.t.read_u64(offset)
    }

    fn write_u64(&mut self, offset: usize, value: u64) {
        self.t.write_u64(offset, value)
    }

    fn doorbell(&mut self) {
        self.t.doorbell()
    }
}

/// The card's controller: its registers and the admin mailbox, which
/// serialises the admin commands of probe and of every open file.
#[pin_data]
struct Controller {
    /// How the card is reached.
    transport: KBox<dyn transport::Transport>,
    #[pin]
    mailbox: Mutex<admin::AdminMailbox>,
    /// Where the card's interrupts go (`IOCTL_OCXLPMEM_EVENTFD`), and the
    /// open file that registered it (its [`CardFile::id`]): one at a time,
    /// released when that file is closed.
    #[pin]
    eventfd: Mutex<Option<(u64, EventFd)>>,
    /// An error log entry read from the card whose additional data did not
    /// fit the caller's buffer: kept, whole, for the next `ERROR_LOG` call
    /// (the card hands each entry out once).
    #[pin]
    pending_log: Mutex<Option<(data::ErrorLogEntry, KVec<u8>)>>,
    /// The nvdimm bus, until the card is unbound or fails fatally.
    #[pin]
    bus: Mutex<Option<Pin<KBox<Bus<CardBus>>>>>,
    /// The controller failed fatally (`CHI.CFFS` or `CHI.CHFS`): its bus
    /// is gone and every ioctl fails with `ENODEV`.
    dead: AtomicBool,
}

impl Controller {
    /// Runs `f` on the register window with the mailbox held.
    fn with<R>(
        &self,
        f: impl FnOnce(&mut Window<'_>, &mut admin::AdminMailbox) -> error::Result<R>,
    ) -> Result<R> {
        let mut mailbox = self.mailbox.lock();
        let mut w = Window {
            t: &*self.transport,
        };
        f(&mut w, &mut mailbox).map_err(errno)
    }

    /// As [`Controller::with`], for a controller that has not failed.
    fn live<R>(
        &self,
        f: impl FnOnce(&mut Window<'_>, &mut admin::AdminMailbox) -> error::Result<R>,
    ) -> Result<R> {
        if self.dead.load(Ordering::Acquire) {
            return Err(ENODEV);
        }
        self.with(f)
    }

    /// An interrupt of the card, whichever transport brought it (in
    /// process context: the protocol sleeps): a fatal failure takes the
    /// card offline, and the registered eventfd is signalled.
    fn interrupt(&self, dev: &kernel::device::Device) {
        if let Ok(chi) = self.with(|w, _| regs::chi(w)) {
            if chi & regs::chi::FATAL != 0 {
                self.fail(dev, chi);
            }
        }
        self.signal();
    }

    /// Sends the card's interrupt on to the registered eventfd, if any.
    fn signal(&self) {
        if let Some((_, e)) = self.eventfd.lock().as_ref() {
            e.signal();
        }
    }

    /// Handles a fatal failure of the controller (`chi` has `CFFS` or
    /// `CHFS`), once: logs it with the card's last error log entry, takes
    /// the nvdimm bus down (its regions and namespaces go with it) and
    /// fails every later ioctl with `ENODEV`.
    fn fail(&self, dev: &kernel::device::Device, chi: u64) {
        if self.dead.swap(true, Ordering::AcqRel) {
            return;
        }
        let what = if chi & regs::chi::CHFS != 0 {
            "hardware"
        } else {
            "firmware"
        };
        dev_err!(
            dev,
            "controller {what} fatal (CHI {chi:#x}): taking the card offline\n"
        );
        // A controller that failed in firmware may still answer its admin
        // mailbox; whatever it says is logged, nothing waits on it twice.
        let mut extra = [0u8; 0];
        let read = self.with(|w, mb| {
            mb.salvage(|mb| commands::read_error_log(w, mb, &mut Sleeper, &mut extra))
        });
        match read {
            Ok(Some((e, _))) => dev_err!(
                dev,
                "error log: id {:#x}, type {} ({}), action flags {:#x}, program reference code {:#x}, {} bytes of data\n",
                e.log_identifier,
                e.error_log_type,
                data::error_log_type_name(e.error_log_type),
                e.action_flags,
                e.program_reference_code,
                e.data_len
            ),
            Ok(None) => dev_err!(dev, "error log: no entry\n"),
            Err(e) if e == EAGAIN => dev_err!(dev, "error log: no entry\n"),
            Err(e) => dev_err!(dev, "error log unreadable: {e:?}\n"),
        }
        drop(self.bus.lock().take());
    }
}

/// Sleeping between polls.
struct Sleeper;

impl admin::Sleep for Sleeper {
    fn sleep_ms(&mut self, ms: u32) {
        fsleep(Delta::from_millis(i64::from(ms)));
    }
}

/// A protocol error printed through the kernel's formatting.
struct ProtocolError(error::Error);

impl kernel::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        core::fmt::Display::fmt(&self.0, f)
    }
}

fn errno(e: error::Error) -> Error {
    Error::from_errno(e.errno())
}

/// The card as the nvdimm bus's DIMM.
struct Card {
    labels: DeviceMemory,
    caps: regs::Capabilities,
    /// The card's serial number (the attachment's; on the ocxl bus the
    /// PCIe Device Serial Number of function 0).
    serial: u64,
    /// The controller, for the SMART `ND_CMD_CALL`.
    ctrl: Arc<Controller>,
    dev: ARef<kernel::device::Device>,
}

impl Card {
    /// Answers `ND_CMD_OCXL_SMART` (the only function of the family) from
    /// the card's SMART data; the package is checked first (see
    /// `ocxlpmem_rs/smart.rs`).
    fn smart(&self, pkg: &mut CallPackage<'_>) -> Result {
        let (size_in, size_out) = (pkg.input().len(), pkg.output().len());
        let room = smart::check_package(pkg.command(), pkg.reserved_is_zero(), size_in, size_out)
            .map_err(|e| {
            dev_err!(self.dev, "ND_CMD_CALL refused: {}\n", PackageRefusal(e));
            Error::from_errno(e.errno())
        })?;
        let mut attrs = KVec::from_elem(0u8, room * data::SMART_ATTR_BYTES, GFP_KERNEL)?;
        let read = self.ctrl.live(|w, mb| {
            commands::smart(w, mb, &mut Sleeper, &mut attrs)
                .inspect_err(|e| dev_err!(self.dev, "SMART: {}\n", ProtocolError(*e)))
        })?;
        smart::encode_answer(pkg.output(), &attrs, read.copied);
        pkg.set_fw_size(smart::answer_size(read.available));
        Ok(())
    }
}

/// A refused SMART package printed through the kernel's formatting.
struct PackageRefusal(smart::PackageError);

impl kernel::fmt::Display for PackageRefusal {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        core::fmt::Display::fmt(&self.0, f)
    }
}

kernel::nvdimm_attributes! {
    /// The `ocxlpmem/*` DIMM attributes.
    enum CardAttr in c"ocxlpmem" {
        FwVersion = c"fw_version",
        Serial = c"serial",
    }
}

struct CardBus;

#[vtable]
impl Provider for CardBus {
    type Dimm = Card;
    type Region = ();

    type BusAttribute = NoAttributes;
    type DimmAttribute = CardAttr;
    type RegionAttribute = NoAttributes;

    fn read_labels(&self, card: &Card, offset: u32, out: &mut [u8]) -> Result {
        card.labels.read(offset as usize, out)
    }

    fn write_labels(&self, card: &Card, offset: u32, data: &[u8]) -> Result {
        card.labels.write(offset as usize, data)
    }

    fn show_dimm_attribute(
        &self,
        card: &Card,
        attr: CardAttr,
        out: &mut AttributeOutput<'_>,
    ) -> Result {
        use core::fmt::Write;
        match attr {
            CardAttr::FwVersion => writeln!(out, "{}", card.caps.fw_version_text().ok_or(EIO)?),
            CardAttr::Serial => writeln!(out, "{:#x}", card.serial),
        }
        .map_err(|_| EOVERFLOW)
    }

    fn call(&self, card: &Card, pkg: &mut CallPackage<'_>) -> Result {
        card.smart(pkg)
    }
}

/// `/dev/ocxlpmemN` of one card; the registration carries the card's
/// controller for `open`.
#[pin_data(PinnedDrop)]
struct CardDevice {
    index: u32,
    #[pin]
    misc: MiscDeviceRegistration<CardFile>,
}

/// Device node names, one per card (`MiscDeviceOptions` wants static
/// names).
const NAMES: [&CStr; 8] = [
    c"ocxlpmem0",
    c"ocxlpmem1",
    c"ocxlpmem2",
    c"ocxlpmem3",
    c"ocxlpmem4",
    c"ocxlpmem5",
    c"ocxlpmem6",
    c"ocxlpmem7",
];
/// Which names are taken.
static NAMES_USED: AtomicU32 = AtomicU32::new(0);

impl CardDevice {
    fn new(ctrl: Arc<Controller>) -> Result<Pin<KBox<Self>>> {
        let index = (0..NAMES.len() as u32)
            .find(|i| NAMES_USED.fetch_or(1 << i, Ordering::AcqRel) & (1 << i) == 0)
            .ok_or(EBUSY)?;
        let name = NAMES[index as usize];
        let dev = KBox::try_pin_init(
            try_pin_init!(CardDevice {
                index,
                misc <- MiscDeviceRegistration::register(MiscDeviceOptions { name }, ctrl),
            }),
            GFP_KERNEL,
        );
        if dev.is_err() {
            NAMES_USED.fetch_and(!(1 << index), Ordering::AcqRel);
        }
        dev
    }
}

#[pinned_drop]
impl PinnedDrop for CardDevice {
    fn drop(self: Pin<&mut Self>) {
        // The registration (a field) is dropped after this: the name is
        // free again once the node is gone, which is what matters for a
        // card bound again later.
        NAMES_USED.fetch_and(!(1 << self.index), Ordering::AcqRel);
    }
}

/// An open `/dev/ocxlpmemN`.
struct CardFile {
    ctrl: Arc<Controller>,
    /// Tells the files apart (the eventfd's owner).
    id: u64,
}

/// Ids of open files.
static NEXT_FILE_ID: AtomicU64 = AtomicU64::new(1);

impl Drop for CardFile {
    fn drop(&mut self) {
        // The eventfd registered through this file goes with it (v4 keeps
        // one event context per card).
        let mut eventfd = self.ctrl.eventfd.lock();
        if eventfd.as_ref().is_some_and(|(owner, _)| *owner == self.id) {
            *eventfd = None;
        }
    }
}
const MAGIC: u32 = uapi::MAGIC as u32;

/// The ioctls served and their numbers, built with the kernel's helpers
/// (the architecture's `_IOC` encoding and the payloads' sizes). The debug
/// ioctls are not served: their numbers answer `ENOTTY` as unknown ones.
const IOCTL_NUMBERS: [(u32, uapi::Ioctl); 8] = [
    (
        _IOWR::<[u8; uapi::ERROR_LOG_SIZE]>(MAGIC, 0x30),
        uapi::Ioctl::ErrorLog,
    ),
    (_IO(MAGIC, 0x31), uapi::Ioctl::ControllerDump),
    (
        _IOWR::<[u8; uapi::DUMP_DATA_SIZE]>(MAGIC, 0x32),
        uapi::Ioctl::ControllerDumpData,
    ),
    (_IO(MAGIC, 0x33), uapi::Ioctl::ControllerDumpComplete),
    (
        _IOR::<[u8; uapi::STATS_SIZE]>(MAGIC, 0x34),
        uapi::Ioctl::ControllerStats,
    ),
    (
        _IOW::<[u8; uapi::EVENTFD_SIZE]>(MAGIC, 0x35),
        uapi::Ioctl::Eventfd,
    ),
    (_IOR::<u64>(MAGIC, 0x36), uapi::Ioctl::EventCheck),
    (_IO(MAGIC, 0x37), uapi::Ioctl::RequestHealth),
];

/// The debug ioctls, served only with `CONFIG_OCXLPMEM_RUST_DEBUG` (they
/// give raw access to the controller).
const DEBUG_IOCTL_NUMBERS: [(u32, uapi::Ioctl); 4] = [
    (
        _IOWR::<[u8; uapi::FWDEBUG_SIZE]>(MAGIC, 0xf0),
        uapi::Ioctl::FwDebug,
    ),
    (
        _IOW::<[u8; uapi::MMIO_SIZE]>(MAGIC, 0xf1),
        uapi::Ioctl::MmioWrite,
    ),
    (
        _IOWR::<[u8; uapi::MMIO_SIZE]>(MAGIC, 0xf2),
        uapi::Ioctl::MmioRead,
    ),
    (_IO(MAGIC, 0xf3), uapi::Ioctl::Shutdown),
];

/// The register offset a debug MMIO ioctl names: 8-byte aligned (checked
/// when decoded) and inside the register window.
fn register(address: u64) -> Result<usize> {
    usize::try_from(address)
        .ok()
        .filter(|a| {
            a.checked_add(8)
                .is_some_and(|end| end <= attach::REGISTER_BYTES)
        })
        .ok_or(EINVAL)
}

/// The ioctl numbered `cmd`, if this build serves it.
fn served_ioctl(cmd: u32) -> Option<uapi::Ioctl> {
    let debug: &[(u32, uapi::Ioctl)] = if cfg!(CONFIG_OCXLPMEM_RUST_DEBUG) {
        &DEBUG_IOCTL_NUMBERS
    } else {
        &[]
    };
    Iterator::chain(IOCTL_NUMBERS.iter(), debug)
        .find(|(n, _)| *n == cmd)
        .map(|(_, i)| *i)
}

/// Checks a table of numbers against the protocol's, which the user-space
/// tool and the header test use, on this architecture.
const fn same_numbers(table: &[(u32, uapi::Ioctl)]) -> bool {
    let enc = if cfg!(CONFIG_PPC) {
        &uapi::IOC_POWERPC
    } else {
        &uapi::IOC_GENERIC
    };
    let mut i = 0;
    while i < table.len() {
        let (n, ioctl) = table[i];
        if !matches!(ioctl.number(enc), Some(m) if m == n) {
            return false;
        }
        i += 1;
    }
    true
}
const _: () = assert!(same_numbers(&IOCTL_NUMBERS) && same_numbers(&DEBUG_IOCTL_NUMBERS));

/// The most error log additional data one call returns: the largest
/// buffer size (a multiple of 8) the user API's 16-bit field can name.
const MAX_ERROR_DATA: usize = 0xfff8;
/// Timeout of a controller dump request (v4 waits forever).
const DUMP_TIMEOUT_MS: u32 = 10_000;

#[vtable]
impl MiscDevice for CardFile {
    type Ptr = Pin<KBox<Self>>;
    type RegistrationData = Arc<Controller>;

    fn open(_file: &File, misc: &MiscDeviceRegistration<Self>) -> Result<Pin<KBox<Self>>> {
        KBox::pin(
            CardFile {
                ctrl: misc.data().clone(),
                id: NEXT_FILE_ID.fetch_add(1, Ordering::Relaxed),
            },
            GFP_KERNEL,
        )
        .map_err(Into::into)
    }

    fn ioctl(me: Pin<&CardFile>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        let ioctl = served_ioctl(cmd).ok_or(ENOTTY)?;
        let (_, _, size) = ioctl.def();
        let user = UserSlice::new(UserPtr::from_addr(arg), size);
        let ctrl = &me.ctrl;
        // A card that failed fatally answers nothing any more.
        if ctrl.dead.load(Ordering::Acquire) {
            return Err(ENODEV);
        }
        match ioctl {
            uapi::Ioctl::ControllerStats => {
                let stats = ctrl.live(|w, mb| commands::controller_stats(w, mb, &mut Sleeper))?;
                user.writer().write_slice(&uapi::encode_stats(&stats))?;
            }
            uapi::Ioctl::ErrorLog => {
                let (mut reader, mut writer) = user.reader_writer();
                let mut b = [0u8; uapi::ERROR_LOG_SIZE];
                reader.read_slice(&mut b)?;
                let args = uapi::ErrorLogArgs::decode(&b).map_err(errno)?;
                let mut pending = ctrl.pending_log.lock();
                if pending.is_none() {
                    // Room for all the additional data an entry can have
                    // (the card's data buffer), up to what the user API's
                    // 16-bit size can name.
                    let room = ctrl.live(|_, mb| Ok(mb.area().data_size))?;
                    let room = room.min(MAX_ERROR_DATA);
                    let mut extra = KVec::from_elem(0u8, room, GFP_KERNEL)?;
                    let read = ctrl
                        .live(|w, mb| commands::read_error_log(w, mb, &mut Sleeper, &mut extra));
                    match read {
                        Ok(Some((mut entry, n))) => {
                            extra.truncate(n);
                            entry.data_len = n;
                            *pending = Some((entry, extra));
                        }
                        Ok(None) => {}
                        // v4: no entry pending is EAGAIN, not an error of
                        // the card.
                        Err(e) if e == EAGAIN => {}
                        Err(e) => return Err(e),
                    }
                }
                let Some((entry, extra)) = pending.as_ref() else {
                    writer.write_slice(&args.encode(None))?;
                    return Ok(0);
                };
                // An entry whose data does not fit stays pending and the
                // caller learns its size (buf_size out): nothing is cut.
                let fits = extra.len() <= usize::from(args.buf_size);
                if fits {
                    UserSlice::new(UserPtr::from_addr(args.buf_ptr as usize), extra.len())
                        .writer()
                        .write_slice(extra)?;
                }
                writer.write_slice(&args.encode(Some(entry)))?;
                if !fits {
                    return Err(EOVERFLOW);
                }
                *pending = None;
            }
            uapi::Ioctl::ControllerDump => {
                ctrl.live(|w, _| commands::request_dump(w, &mut Sleeper, DUMP_TIMEOUT_MS))?;
            }
            uapi::Ioctl::ControllerDumpData => {
                let (mut reader, mut writer) = user.reader_writer();
                let mut b = [0u8; uapi::DUMP_DATA_SIZE];
                reader.read_slice(&mut b)?;
                let args = uapi::DumpDataArgs::decode(&b).map_err(errno)?;
                let mut chunk = KVec::from_elem(0u8, usize::from(args.buf_size), GFP_KERNEL)?;
                let n = ctrl.live(|w, mb| {
                    commands::read_dump_chunk(w, mb, &mut Sleeper, args.offset, &mut chunk)
                })?;
                UserSlice::new(UserPtr::from_addr(args.buf_ptr as usize), n)
                    .writer()
                    .write_slice(&chunk[..n])?;
                writer.write_slice(&args.encode(u16::try_from(n).map_err(|_| EIO)?))?;
            }
            uapi::Ioctl::ControllerDumpComplete => {
                ctrl.live(|w, _| commands::dump_collected(w))?;
            }
            uapi::Ioctl::RequestHealth => {
                ctrl.live(|w, _| commands::request_health_perf(w))?;
            }
            uapi::Ioctl::Eventfd => {
                let mut b = [0u8; uapi::EVENTFD_SIZE];
                user.reader().read_slice(&mut b)?;
                let fd = uapi::decode_eventfd(&b).map_err(errno)?;
                let mut slot = ctrl.eventfd.lock();
                // v4: one event context per card.
                if slot.is_some() {
                    return Err(EBUSY);
                }
                *slot = Some((me.id, EventFd::from_fd(fd)?));
            }
            uapi::Ioctl::EventCheck => {
                let chi = ctrl.live(|w, _| regs::chi(w))?;
                user.writer()
                    .write_slice(&uapi::events(chi).to_ne_bytes())?;
            }
            uapi::Ioctl::FwDebug => {
                let (mut reader, _) = user.reader_writer();
                let mut b = [0u8; uapi::FWDEBUG_SIZE];
                reader.read_slice(&mut b)?;
                let args = uapi::FwDebugArgs::decode(&b).map_err(errno)?;
                // The buffer goes to the card and comes back with its answer.
                let buffer = UserSlice::new(
                    UserPtr::from_addr(args.buf_ptr as usize),
                    usize::from(args.buf_size),
                );
                let (mut from, mut to) = buffer.reader_writer();
                let mut buf = KVec::from_elem(0u8, usize::from(args.buf_size), GFP_KERNEL)?;
                from.read_slice(&mut buf)?;
                ctrl.live(|w, mb| {
                    commands::fw_debug(
                        w,
                        mb,
                        &mut Sleeper,
                        args.action,
                        args.function_code,
                        [args.parameter_1, args.parameter_2],
                        &mut buf,
                    )
                })?;
                to.write_slice(&buf)?;
            }
            uapi::Ioctl::MmioWrite => {
                let mut b = [0u8; uapi::MMIO_SIZE];
                user.reader().read_slice(&mut b)?;
                let (address, value) = uapi::decode_mmio(&b).map_err(errno)?;
                let offset = register(address)?;
                ctrl.live(|w, _| {
                    regs::write(w, offset, value)?;
                    // Whatever it was, the card sees it now.
                    regs::Mmio::doorbell(w);
                    Ok(())
                })?;
            }
            uapi::Ioctl::MmioRead => {
                let (mut reader, mut writer) = user.reader_writer();
                let mut b = [0u8; uapi::MMIO_SIZE];
                reader.read_slice(&mut b)?;
                let (address, _) = uapi::decode_mmio(&b).map_err(errno)?;
                let offset = register(address)?;
                let value = ctrl.live(|w, _| regs::read(w, offset))?;
                writer.write_slice(&uapi::encode_mmio(address, value))?;
            }
            uapi::Ioctl::Shutdown => {
                ctrl.live(|w, mb| commands::shutdown(w, mb, &mut Sleeper))?;
            }
        }
        Ok(0)
    }
}

/// Forwards an interrupt of the card to the registered eventfd.
/// A fatal failure (`CHI.CFFS`, `CHI.CHFS`) also takes the card offline.
#[pin_data]
struct Forward {
    ctrl: Arc<Controller>,
    dev: ARef<kernel::device::Device>,
}

impl ThreadedHandler for Forward {
    fn handle_threaded(&self) -> IrqReturn {
        self.ctrl.interrupt(&self.dev);
        IrqReturn::Handled
    }
}

/// What a bound card keeps. When the card is unbound the firmware upload
/// goes first (an update under way is cancelled and waited for), then the
/// device node (no new opens), then the bus (its regions use the memory),
/// then the card's interrupt enables; the interrupts themselves go after,
/// with the device's resources.
struct Bound {
    #[cfg(CONFIG_FW_UPLOAD)]
    firmware: Option<kernel::firmware_upload::Registration<upload::CardFirmware>>,
    node: Option<Pin<KBox<CardDevice>>>,
    ctrl: Arc<Controller>,
}

impl Drop for Bound {
    fn drop(&mut self) {
        #[cfg(CONFIG_FW_UPLOAD)]
        drop(self.firmware.take());
        drop(self.node.take());
        drop(self.ctrl.bus.lock().take());
        // v4 clears them at unbind; a card already revoked ignores it.
        let _ = self
            .ctrl
            .with(|w, _| regs::write(w, regs::CHIEC, CARD_INTERRUPTS));
    }
}

/// The `CHI` bits the card interrupts for, from probe to unbind: the error
/// log and dump events and the two fatal failures (v4 enables them when an
/// eventfd is registered; fatal failures must be seen without one).
const CARD_INTERRUPTS: u64 = regs::chi::ELA | regs::chi::CDA | regs::chi::FATAL;

/// Brings a card up over `t`, whichever transport found it: checks the
/// controller and its mailbox, hooks the card's interrupts up (`hook`,
/// the transport's part, called once the controller exists), enables
/// them, and registers the nvdimm bus over the card memory (when the
/// transport found it), the device node and the firmware upload.
fn bring_up(
    pdev: &pci::Device<Core<'_>>,
    t: KBox<dyn transport::Transport>,
    attachment: transport::Attachment,
    hook: impl FnOnce(&Arc<Controller>) -> Result,
) -> Result<Bound> {
    let mut w = Window { t: &*t };
    let fail = |what: &str, e: error::Error| {
        dev_err!(pdev, "{what}: {}\n", ProtocolError(e));
        errno(e)
    };
    let caps = regs::Capabilities::read(&w).map_err(|e| fail("capabilities", e))?;
    commands::wait_ready(&w, &caps, &mut Sleeper).map_err(|e| fail("controller", e))?;
    let mut mailbox = admin::AdminMailbox::probe(&w).map_err(|e| fail("admin area", e))?;
    commands::heartbeat(&mut w, &mut mailbox, &mut Sleeper)
        .map_err(|e| fail("card does not answer", e))?;
    let ctrl = Arc::pin_init(
        try_pin_init!(Controller {
            transport: t,
            mailbox <- kernel::new_mutex!(mailbox),
            eventfd <- kernel::new_mutex!(None),
            pending_log <- kernel::new_mutex!(None),
            bus <- kernel::new_mutex!(None),
            dead: AtomicBool::new(false),
        }),
        GFP_KERNEL,
    )?;
    hook(&ctrl)?;
    ctrl.with(|w, _| regs::set_bits(w, regs::CHIE, CARD_INTERRUPTS))?;

    match attachment.memory {
        Some(memory) => {
            let bus = register_bus(pdev, &ctrl, caps, memory, attachment.serial)?;
            *ctrl.bus.lock() = Some(bus);
        }
        None => dev_info!(
            pdev,
            "OpenCAPI persistent memory card: firmware {}, card memory not mapped: no nvdimm bus\n",
            caps.fw_version_text().unwrap_or("?")
        ),
    }
    // A fatal failure before the bus was in place left it there.
    if ctrl.dead.load(Ordering::Acquire) {
        drop(ctrl.bus.lock().take());
        return Err(ENODEV);
    }
    // The DIMM holds the controller: without a node the bus must go here,
    // not with the last reference.
    let node = CardDevice::new(ctrl.clone()).inspect_err(|_| drop(ctrl.bus.lock().take()))?;
    // Without it the card still serves its memory: not a reason to refuse
    // it.
    #[cfg(CONFIG_FW_UPLOAD)]
    let firmware = upload::register(pdev.as_ref(), ctrl.clone(), node.index)
        .inspect_err(|e| dev_warn!(pdev, "no firmware upload: {e:?}\n"))
        .ok();
    Ok(Bound {
        #[cfg(CONFIG_FW_UPLOAD)]
        firmware,
        node: Some(node),
        ctrl,
    })
}

/// Registers the nvdimm bus of a card whose memory is `memory`: one DIMM
/// whose labels are at the start of the metadata section, one pmem region
/// over the rest.
fn register_bus(
    pdev: &pci::Device<Core<'_>>,
    ctrl: &Arc<Controller>,
    caps: regs::Capabilities,
    memory: transport::CardMemory,
    serial: u64,
) -> Result<Pin<KBox<Bus<CardBus>>>> {
    // The range is the device's word, checked by the transport (section
    // aligned, at least two sections).
    let (meta_start, pmem_start, pmem_size) =
        (memory.base, memory.base + SECTION, memory.size - SECTION);
    // The claim refuses system RAM and memory someone else uses, whatever
    // address the device names.
    let labels = DeviceMemory::claim(meta_start, LABEL_AREA_SIZE as usize, c"ocxlpmem labels")
        .inspect_err(|e| {
            dev_err!(pdev, "label area at {meta_start:#x} refused: {e:?}\n");
        })?;

    let bus = Bus::register(
        kernel::module::this_module::<LocalModule>(),
        pdev.as_ref(),
        Some(pdev.as_ref()),
        &BusOptions {
            provider_name: c"ocxlpmem",
            of_node: None,
            dimm_families: &[Family::Ocxl],
            bus_commands: nvdimm::BusCommands::empty(),
            bus_families: nvdimm::BusFamilies::empty(),
        },
        CardBus,
    )?;
    let dimm = bus.add_dimm(
        Card {
            labels,
            caps,
            serial,
            ctrl: ctrl.clone(),
            dev: pdev.as_ref().into(),
        },
        &DimmOptions {
            label_area: Some(LabelArea {
                size: LABEL_AREA_SIZE,
                max_xfer: LABEL_AREA_SIZE,
            }),
            // A card's labels are its own: as papr_scm, labelled from the
            // start.
            labeling: true,
            unarmed: false,
            call: true,
            flush_hints: &[],
        },
    )?;
    // The cookie ties the labels to the card, wherever it is attached: its
    // serial number, as v4 sets it.
    let cookie = serial;
    let node = pdev.as_ref().numa_node().unwrap_or(bindings::NUMA_NO_NODE);
    bus.add_region(
        (),
        &RegionOptions {
            kind: RegionKind::Pmem,
            start: pmem_start,
            size: pmem_size,
            mappings: &[Mapping {
                dimm,
                start: 0,
                size: pmem_size,
                position: 0,
            }],
            numa_node: node,
            target_node: node,
            interleave_set: Some(nvdimm::InterleaveSet {
                cookie1: cookie,
                cookie2: cookie,
                altcookie: cookie,
                ..Default::default()
            }),
            persistence: Some(Persistence::MemoryController),
            async_flush: false,
            pagemap: true,
            of_node: None,
        },
    )?;
    dev_info!(
        pdev,
        "OpenCAPI persistent memory card: firmware {}, {} MiB\n",
        caps.fw_version_text().unwrap_or("?"),
        pmem_size >> 20
    );
    Ok(bus)
}

// The PCI tables (here: modpost reads the module's aliases from tables of
// the crate's root).
kernel::pci_device_table!(
    IVSHMEM_PCI_TABLE,
    <ivshmem::IvshmemDriver as pci::Driver>::IdInfo,
    [(
        pci::DeviceId::from_id(pci::Vendor::REDHAT_QUMRANET, 0x1110),
        ()
    )]
);

#[cfg(CONFIG_OCXL)]
kernel::pci_device_table!(
    OCXL_PCI_TABLE,
    <ocxl::OcxlDriver as pci::Driver>::IdInfo,
    [(pci::DeviceId::from_id(pci::Vendor::IBM, 0x0625), ())]
);

/// The driver: one PCI driver per transport. `ocxlpmem_rs` binds the test
/// VMM's ivshmem attachment; `ocxlpmem_rs_ocxl` (with `CONFIG_OCXL`) the
/// card's two functions on the OpenCAPI bus.
#[pin_data]
struct OcxlPmemModule {
    #[pin]
    ivshmem: kernel::driver::Registration<pci::Adapter<ivshmem::IvshmemDriver>>,
    #[cfg(CONFIG_OCXL)]
    #[pin]
    ocxl: kernel::driver::Registration<pci::Adapter<ocxl::OcxlDriver>>,
}

impl kernel::InPlaceModule for OcxlPmemModule {
    fn init(module: &'static kernel::ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            ivshmem <- kernel::driver::Registration::new(c"ocxlpmem_rs", module),
            #[cfg(CONFIG_OCXL)]
            ocxl <- kernel::driver::Registration::new(c"ocxlpmem_rs_ocxl", module),
        })
    }
}

module! {
    type: OcxlPmemModule,
    name: "ocxlpmem_rs",
    authors: ["nvdimm-rs developers"],
    description: "Rust driver for OpenCAPI persistent memory cards",
    license: "GPL",
}
