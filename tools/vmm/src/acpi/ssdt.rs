// SPDX-License-Identifier: GPL-2.0
//! The ACPI tables the VMM hands to the guest: the NFIT (laid out exactly
//! as QEMU's, so labels and interleave-set cookies carry over between the
//! two) and an SSDT with the NVDIMM root device, its DIMMs and the `_DSM`
//! methods that call the VMM through the mailbox (see [`crate::mailbox`]).
//!
//! QEMU's pc machine builds its DSDT with revision 1, so AML integers are
//! 32 bits wide for every table: the mailbox must sit below 4 GiB. It is
//! the shared-memory BAR of an `ivshmem-plain` PCI device, which the
//! firmware places in the 32-bit PCI hole; the AML reads the BAR from the
//! device's configuration space on every call, so it follows the BAR
//! wherever the firmware or the OS put it.

use super::aml::{self, arg, int, local, Access, FieldUnit, RegionSpace, Term};
use crate::config::{LabelMethods, PlacedDimm};
use crate::dsm;
use crate::mailbox;

/// Where the SSDT finds the VMM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Doorbell {
    /// I/O port of the `isa-debugcon` doorbell.
    pub port: u16,
    /// PCI slot (bus 0, function 0) of the `ivshmem-plain` mailbox.
    pub pci_slot: u8,
}

/// Polling of the mailbox's `DONE` field: `Stall(STALL_US)` until
/// `FAST_POLL_TIME` has passed since the doorbell (the VMM usually answers
/// within microseconds), then `Sleep(1)` until `POLL_TIMEOUT` (injected
/// delays), well inside ACPICA's 30 s loop timeout. Both are in `Timer`'s
/// 100 ns units (10 ms and 12 s). The deadlines are time, not counts of
/// rounds: on the debug kernel (KASAN, lockdep) each round of the
/// interpreter took so much longer that 2000 `Stall` and 1000 `Sleep(1)`
/// rounds outlasted a 30 s injected delay.
pub const STALL_US: u64 = 5;
pub const FAST_POLL_TIME: u64 = 100_000;
pub const POLL_TIMEOUT: u64 = 120_000_000;

/// `Timer` ticks since `start` (a `Timer` value), modulo 2^32: a
/// revision-1 table may cut `Timer` to 32 bits.
fn elapsed(start: Term) -> Term {
    aml::and(
        aml::subtract(aml::timer(), start, None),
        int(0xffff_ffff),
        None,
    )
}

const MAILBOX_DEVICE: &str = "\\_SB.PCI0.NVMB";
const ROOT: &str = "\\_SB.NVDR";

fn status_buffer(s: u32) -> Term {
    aml::buffer(&s.to_le_bytes())
}

/// The payload fields of the mailbox, smallest first: `DAT0`..`DAT3`.
const DATA_NAMES: [&str; 4] = ["DAT0", "DAT1", "DAT2", "DAT3"];

/// `If (size < n0 + 1) { op(DAT0) } Else { If (size < n1 + 1) ... }`: the
/// smallest payload field that holds `size` bytes; nothing when even the
/// largest is too small.
fn ladder(size: Term, op: &dyn Fn(&str) -> Term) -> Vec<Term> {
    let mut inner: Vec<Term> = Vec::new();
    for (i, n) in mailbox::DATA_FIELDS.iter().enumerate().rev() {
        let this = aml::if_(
            aml::l_less(size.clone(), int(*n as u64 + 1)),
            &[op(DATA_NAMES[i])],
        );
        let mut v = vec![this];
        if !inner.is_empty() {
            v.push(aml::else_(&inner));
        }
        inner = v;
    }
    inner
}

/// `NVDR.ZBUF`, `Buffer (DATA_SIZE) {}` (ACPICA allocates it at its first
/// use), and `size` zero bytes of it.
fn zero_buffer() -> Term {
    let size = int(mailbox::DATA_SIZE as u64);
    let mut v = vec![0x11];
    v.extend(aml::pkg_length(size.len()));
    v.extend(size);
    aml::name_obj("ZBUF", v)
}

fn zeros(size: Term) -> Term {
    aml::mid(aml::name("ZBUF"), int(0), size)
}

/// Writes the input (`Local2` bytes in `Local1`): through the smallest
/// payload field past which it holds only zeros (`Mid` and a zero `Buffer`
/// compared natively, not byte by byte; a longer buffer stored into a
/// field is cut to it), with its zero tail in `IZTL` (see
/// [`mailbox::IN_ZERO_TAIL`]); else through the smallest field that holds
/// it all, as [`ladder`] does.
fn write_input() -> Vec<Term> {
    let plain = ladder(local(2), &|f| aml::store(local(1), aml::name(f)));
    let fields = &mailbox::DATA_FIELDS[..mailbox::DATA_FIELDS.len() - 1];
    let mut inner = plain.clone();
    for (i, &n) in fields.iter().enumerate().rev() {
        let rest = || aml::subtract(local(2), int(n as u64), None);
        let test = vec![
            aml::if_(
                aml::l_equal(aml::mid(local(1), int(n as u64), rest()), zeros(rest())),
                &[
                    aml::store(local(1), aml::name(DATA_NAMES[i])),
                    aml::store(rest(), aml::name("IZTL")),
                ],
            ),
            aml::else_(&inner),
        ];
        inner = vec![
            aml::if_(aml::l_greater(local(2), int(n as u64)), &test),
            aml::else_(&plain),
        ];
    }
    inner
}

/// `NCAL(uuid, revision, function, arg3, handle, kind)`: one call to the
/// VMM; returns the VMM's output buffer, or a status-4 (hardware error)
/// buffer when the VMM cannot be reached.
fn ncal() -> Term {
    let mbx = |f: &str| format!("{MAILBOX_DEVICE}.{f}");
    let hw_error = aml::ret(status_buffer(dsm::STATUS_HW_ERROR));
    let header = vec![
        FieldUnit::Named("MAGI", 32),
        FieldUnit::Named("VERS", 32),
        FieldUnit::Named("SEQN", 32),
        FieldUnit::Named("DONE", 32),
        FieldUnit::Named("HNDL", 32),
        FieldUnit::Named("REVI", 32),
        FieldUnit::Named("FUNC", 32),
        FieldUnit::Named("ILEN", 32),
        FieldUnit::Named("OLEN", 32),
        FieldUnit::Named("KIND", 32),
        FieldUnit::Named("OZTL", 32),
        FieldUnit::Named("IZTL", 32),
        FieldUnit::Named("UUID", 128),
    ];
    let mut body = vec![
        // A BAR above 4 GiB cannot be reached with 32-bit AML integers.
        aml::if_(
            aml::l_not_equal(aml::name(&mbx("MBHI")), int(0)),
            std::slice::from_ref(&hw_error),
        ),
        aml::store(
            aml::and(aml::name(&mbx("MBLO")), int(0xffff_fff0), None),
            local(0),
        ),
        aml::if_(
            aml::l_equal(local(0), int(0)),
            std::slice::from_ref(&hw_error),
        ),
        // Memory decoding on (the firmware normally did it already).
        aml::store(
            aml::or(aml::name(&mbx("PCMD")), int(2), None),
            aml::name(&mbx("PCMD")),
        ),
        aml::op_region(
            "MBOX",
            RegionSpace::SystemMemory,
            local(0),
            int(mailbox::SIZE as u64),
        ),
        aml::field("MBOX", Access::DWord, &header),
    ];
    for (i, n) in mailbox::DATA_FIELDS.iter().enumerate() {
        body.push(aml::field(
            "MBOX",
            Access::QWord,
            &[
                FieldUnit::Reserved(mailbox::DATA * 8),
                FieldUnit::Named(DATA_NAMES[i], n * 8),
            ],
        ));
    }
    body.push(aml::if_(
        aml::l_not_equal(aml::name("MAGI"), int(u64::from(mailbox::MAGIC_VALUE))),
        std::slice::from_ref(&hw_error),
    ));
    // Input: the first element of the argument package, if it is a
    // buffer; or the argument itself when it is a buffer (label methods).
    let write_input = write_input();
    body.push(aml::store(int(0), local(2)));
    body.push(aml::if_(
        aml::l_equal(aml::object_type(arg(3)), int(3)),
        &[
            vec![
                aml::store(arg(3), local(1)),
                aml::store(aml::size_of(local(1)), local(2)),
            ],
            write_input.clone(),
        ]
        .concat(),
    ));
    body.push(aml::if_(
        aml::l_equal(aml::object_type(arg(3)), int(4)),
        &[aml::if_(
            aml::l_greater(aml::size_of(arg(3)), int(0)),
            &[
                aml::store(aml::element(arg(3), int(0)), local(1)),
                aml::if_(
                    aml::l_equal(aml::object_type(local(1)), int(3)),
                    &[
                        vec![aml::store(aml::size_of(local(1)), local(2))],
                        write_input,
                    ]
                    .concat(),
                ),
            ],
        )],
    ));
    body.extend([
        aml::store(arg(4), aml::name("HNDL")),
        aml::store(arg(1), aml::name("REVI")),
        aml::store(arg(2), aml::name("FUNC")),
        aml::store(local(2), aml::name("ILEN")),
        aml::store(arg(5), aml::name("KIND")),
        aml::store(arg(0), aml::name("UUID")),
        aml::add(aml::name("SEQN"), int(1), Some(local(3))),
        aml::store(local(3), aml::name("SEQN")),
        aml::store(int(1), aml::name(&format!("{ROOT}.DBEL"))),
        aml::store(aml::timer(), local(4)),
        aml::while_(
            aml::l_and(
                aml::l_not_equal(aml::name("DONE"), local(3)),
                aml::l_less(elapsed(local(4)), int(FAST_POLL_TIME)),
            ),
            &[aml::stall(int(STALL_US))],
        ),
        aml::while_(
            aml::l_and(
                aml::l_not_equal(aml::name("DONE"), local(3)),
                aml::l_less(elapsed(local(4)), int(POLL_TIMEOUT)),
            ),
            &[aml::sleep(int(1))],
        ),
        aml::if_(aml::l_not_equal(aml::name("DONE"), local(3)), &[hw_error]),
        aml::store(aml::name("OLEN"), local(5)),
        aml::if_(
            aml::l_greater(local(5), int(mailbox::DATA_SIZE as u64)),
            &[aml::store(int(mailbox::DATA_SIZE as u64), local(5))],
        ),
        aml::store(aml::buffer(&[]), local(6)),
    ]);
    // With a zero tail, read the bytes before it (Local2) and append
    // zeros.
    body.push(aml::if_(
        aml::name("OZTL"),
        &[
            vec![
                aml::store(aml::subtract(local(5), aml::name("OZTL"), None), local(2)),
                aml::if_(
                    aml::l_greater(local(2), local(5)),
                    &[aml::store(local(5), local(2))],
                ),
            ],
            ladder(local(2), &|f| aml::store(aml::name(f), local(6))),
            vec![aml::ret(aml::concatenate(
                aml::mid(local(6), int(0), local(2)),
                zeros(aml::subtract(local(5), local(2), None)),
                None,
            ))],
        ]
        .concat(),
    ));
    body.extend(ladder(local(5), &|f| aml::store(aml::name(f), local(6))));
    body.push(aml::ret(aml::mid(local(6), int(0), local(5))));
    aml::method("NCAL", 6, true, &body)
}

/// The hotplug notification line: a 16550 UART (QEMU `isa-serial`) the
/// VMM writes a byte to; its interrupt reaches a Generic Event Device
/// (ACPI0013) whose `_EVT` drains the UART and notifies by the byte's low
/// five bits: 1 → `Notify(NVDR, 0x81)` (uncorrectable memory error:
/// scrub), `2 + s` → `Notify(NVss, 0x81)` (DIMM slot `s`'s health changed,
/// see [`dimm_health_byte`]), anything else → `Notify(NVDR, 0x80)` (re-read
/// `_FIT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotifyLine {
    pub port: u16,
    pub irq: u8,
}

const GED: &str = "\\_SB.NVGE";

/// The GED and the UART's registers. `ARM` enables the UART's
/// received-data interrupt (`_INI`, and again from `_FIT`, since the OS's
/// serial driver may probe the UART in between).
/// Most DIMM slots a health notification can name (five bits less 0 and 1).
pub const MAX_NOTIFY_SLOTS: usize = 30;

/// The notification-line byte for "DIMM slot `slot`'s health changed".
fn dimm_health_byte(slot: usize) -> Option<u8> {
    (slot < MAX_NOTIFY_SLOTS).then(|| 0x80 | (slot as u8 + 2))
}

/// The byte the transport writes to the notification line for `n`;
/// `None` for a DIMM slot past the line's range.
pub fn notify_byte(n: dsm::Notification) -> Option<u8> {
    match n {
        dsm::Notification::Update => Some(dsm::NOTIFY_UPDATE),
        dsm::Notification::UcMemoryError => Some(dsm::NOTIFY_UC_MEMORY_ERROR),
        dsm::Notification::DimmHealth(slot) => dimm_health_byte(slot),
    }
}

fn ged(n: NotifyLine, slots: usize, has_device: impl Fn(usize) -> bool) -> Term {
    // One `If` per DIMM slot with a device: Notify's target must be a name.
    let dimm_health: Vec<Term> = (0..slots.min(MAX_NOTIFY_SLOTS))
        .filter(|&slot| has_device(slot))
        .map(|slot| {
            aml::if_(
                aml::l_equal(local(3), int(slot as u64 + 2)),
                &[aml::notify(
                    &format!("{ROOT}.NV{slot:02X}"),
                    int(u64::from(dsm::NOTIFY_DIMM_HEALTH)),
                )],
            )
        })
        .collect();
    let mut crs = vec![0x89, 0x06, 0x00, 0x03, 0x01];
    crs.extend(u32::from(n.irq).to_le_bytes());
    crs.extend([0x79, 0x00]);
    aml::device(
        GED,
        &[
            aml::name_obj("_HID", aml::string("ACPI0013")),
            aml::name_obj("_CRS", aml::buffer(&crs)),
            aml::op_region(
                "NUAR",
                RegionSpace::SystemIo,
                int(u64::from(n.port)),
                int(8),
            ),
            aml::field(
                "NUAR",
                Access::Byte,
                &[
                    FieldUnit::Named("URBR", 8),
                    FieldUnit::Named("UIER", 8),
                    FieldUnit::Named("UIIR", 8),
                    FieldUnit::Named("ULCR", 8),
                    FieldUnit::Named("UMCR", 8),
                    FieldUnit::Named("ULSR", 8),
                ],
            ),
            aml::method(
                "ARM",
                0,
                true,
                &[
                    // 8 data bits, no parity, DLAB off.
                    aml::store(int(3), aml::name("ULCR")),
                    aml::store(int(8), aml::name("UMCR")),
                    aml::store(int(1), aml::name("UIER")),
                ],
            ),
            aml::method("_INI", 0, true, &[aml::call("ARM", &[])]),
            aml::method(
                "_EVT",
                1,
                true,
                &[
                    aml::store(int(0), local(0)),
                    // Bit 0: a 0x80 byte (or any other), bit 1: a 0x81.
                    aml::store(int(0), local(2)),
                    aml::while_(
                        aml::l_and(
                            aml::and(aml::name("ULSR"), int(1), None),
                            aml::l_less(local(0), int(64)),
                        ),
                        &[
                            aml::store(aml::name("URBR"), local(1)),
                            aml::increment(local(0)),
                            // Only the low bits: robust to a 5-bit line setting.
                            aml::store(aml::and(local(1), int(0x1f), None), local(3)),
                            aml::if_(
                                aml::l_equal(local(3), int(1)),
                                &[aml::or(local(2), int(2), Some(local(2)))],
                            ),
                            aml::else_(&[
                                aml::if_(
                                    aml::l_less(local(3), int(2)),
                                    &[aml::or(local(2), int(1), Some(local(2)))],
                                ),
                                aml::else_(
                                    &[
                                        // A slot past the DIMMs' is an update.
                                        aml::if_(
                                            aml::l_greater(
                                                local(3),
                                                int(slots.min(MAX_NOTIFY_SLOTS) as u64 + 1),
                                            ),
                                            &[aml::or(local(2), int(1), Some(local(2)))],
                                        ),
                                    ]
                                    .into_iter()
                                    .chain(dimm_health.iter().cloned())
                                    .collect::<Vec<_>>(),
                                ),
                            ]),
                        ],
                    ),
                    aml::if_(
                        aml::l_or(
                            aml::l_equal(local(2), int(0)),
                            aml::and(local(2), int(1), None),
                        ),
                        &[aml::notify(ROOT, int(u64::from(dsm::NOTIFY_UPDATE)))],
                    ),
                    aml::if_(
                        aml::and(local(2), int(2), None),
                        &[aml::notify(
                            ROOT,
                            int(u64::from(dsm::NOTIFY_UC_MEMORY_ERROR)),
                        )],
                    ),
                ],
            ),
        ],
    )
}

/// `_LSI`, `_LSR` and `_LSW` of the DIMM `handle`: each calls `NCAL` with
/// kind [`mailbox::KIND_LABEL`] and the Intel function of the same
/// meaning (4, 5, 6), its input in that function's layout (offset and
/// length as 4-byte integers: `Mid(ToBuffer(x), 0, 4)` whatever the
/// integer width), and turns the answer into the method's return value.
/// An answer too short for its status, or for the data it promises, makes
/// a failure status (1), never an AML error.
fn label_methods(handle: u32, methods: LabelMethods) -> Vec<Term> {
    let ncal = |function: u32, input: Term| {
        aml::call(
            &format!("{ROOT}.NCAL"),
            &[
                int(0),
                int(1),
                int(u64::from(function)),
                input,
                int(u64::from(handle)),
                int(u64::from(mailbox::KIND_LABEL)),
            ],
        )
    };
    let dword = |x: Term| aml::mid(aml::to_buffer(x), int(0), int(4));
    let range = || aml::concatenate(dword(arg(0)), dword(arg(1)), None);
    let fail = u64::from(dsm::LS_HW_ERROR);
    let status_of = |t: Term| aml::to_integer(aml::mid(t, int(0), int(4)));
    let has_status = || aml::l_greater(aml::size_of(local(0)), int(3));
    // Local1: the package; Local2: the status. A non-zero status goes
    // into element 0 as it is; success needs the whole answer.
    let fill = |complete: Term, set: Vec<Term>| {
        aml::if_(
            has_status(),
            &[
                aml::store(status_of(local(0)), local(2)),
                aml::if_(
                    aml::l_not_equal(local(2), int(0)),
                    &[aml::store(local(2), aml::index(local(1), int(0)))],
                ),
                aml::else_(&[aml::if_(
                    complete,
                    &[vec![aml::store(int(0), aml::index(local(1), int(0)))], set].concat(),
                )]),
            ],
        )
    };
    let lsi = aml::method(
        "_LSI",
        0,
        true,
        &[
            aml::store(ncal(dsm::FN_GET_CONFIG_SIZE, int(0)), local(0)),
            aml::store(aml::package(&[int(fail), int(0), int(0)]), local(1)),
            fill(
                aml::l_greater(aml::size_of(local(0)), int(11)),
                vec![
                    aml::store(
                        aml::to_integer(aml::mid(local(0), int(4), int(4))),
                        aml::index(local(1), int(1)),
                    ),
                    aml::store(
                        aml::to_integer(aml::mid(local(0), int(8), int(4))),
                        aml::index(local(1), int(2)),
                    ),
                ],
            ),
            aml::ret(local(1)),
        ],
    );
    let lsr = aml::method(
        "_LSR",
        2,
        true,
        &[
            aml::store(ncal(dsm::FN_GET_CONFIG_DATA, range()), local(0)),
            aml::store(aml::package(&[int(fail), aml::buffer(&[])]), local(1)),
            fill(
                aml::l_equal(aml::size_of(local(0)), aml::add(arg(1), int(4), None)),
                vec![aml::store(
                    aml::mid(local(0), int(4), arg(1)),
                    aml::index(local(1), int(1)),
                )],
            ),
            aml::ret(local(1)),
        ],
    );
    let lsw = aml::method(
        "_LSW",
        3,
        true,
        &[
            aml::store(
                ncal(
                    dsm::FN_SET_CONFIG_DATA,
                    aml::concatenate(range(), arg(2), None),
                ),
                local(0),
            ),
            aml::if_(has_status(), &[aml::ret(status_of(local(0)))]),
            aml::ret(int(fail)),
        ],
    );
    if methods.writes() {
        vec![lsi, lsr, lsw]
    } else {
        vec![lsi, lsr]
    }
}

/// The SSDT: the mailbox device's configuration fields, the NVDIMM root
/// device `NVDR` (ACPI0012) with `_DSM`, and one child `NVnn` per DIMM
/// with `_ADR` = its NFIT handle and `_DSM`. With a notification line
/// (hotplug), also `_FIT` and the GED.
pub fn ssdt(
    dimms: &[PlacedDimm],
    db: Doorbell,
    notify: Option<NotifyLine>,
    hotplug_slots: usize,
) -> Vec<u8> {
    let pci = aml::scope(
        "\\_SB.PCI0",
        &[aml::device(
            "NVMB",
            &[
                aml::name_obj("_ADR", int(u64::from(db.pci_slot) << 16)),
                aml::op_region("PCFG", RegionSpace::PciConfig, int(0), int(0x20)),
                aml::field(
                    "PCFG",
                    Access::Word,
                    &[FieldUnit::Reserved(4 * 8), FieldUnit::Named("PCMD", 16)],
                ),
                aml::field(
                    "PCFG",
                    Access::DWord,
                    &[
                        FieldUnit::Reserved(0x18 * 8),
                        FieldUnit::Named("MBLO", 32),
                        FieldUnit::Named("MBHI", 32),
                    ],
                ),
            ],
        )],
    );
    let dsm = |handle: u32| {
        aml::method(
            "_DSM",
            4,
            true,
            &[aml::ret(aml::call(
                &format!("{ROOT}.NCAL"),
                &[
                    arg(0),
                    arg(1),
                    arg(2),
                    arg(3),
                    int(u64::from(handle)),
                    int(u64::from(mailbox::KIND_DSM)),
                ],
            ))],
        )
    };
    let mut root = vec![
        aml::name_obj("_HID", aml::string("ACPI0012")),
        aml::op_region(
            "DBIO",
            RegionSpace::SystemIo,
            int(u64::from(db.port)),
            int(1),
        ),
        aml::field("DBIO", Access::Byte, &[FieldUnit::Named("DBEL", 8)]),
        zero_buffer(),
        ncal(),
        dsm(0),
    ];
    if notify.is_some() {
        root.push(aml::method(
            "_FIT",
            0,
            true,
            &[
                aml::call(&format!("{GED}.ARM"), &[]),
                aml::ret(aml::call(
                    &format!("{ROOT}.NCAL"),
                    &[
                        int(0),
                        int(0),
                        int(0),
                        int(0),
                        int(0),
                        int(u64::from(mailbox::KIND_FIT)),
                    ],
                )),
            ],
        ));
    }
    // One child per slot, hot-pluggable ones included (as QEMU does): the
    // OS binds a DIMM it finds in a new _FIT to the device whose _ADR is
    // its handle.
    // A DIMM described in the NFIT only (`acpi-device=off`) has none.
    let has_device = |slot: usize| dimms.get(slot).is_none_or(|d| d.config.acpi_device);
    for slot in 0..dimms.len() + hotplug_slots {
        let handle = slot as u64 + 1;
        if !has_device(slot) {
            continue;
        }
        let mut dev = vec![aml::name_obj("_ADR", int(handle)), dsm(handle as u32)];
        if let Some(d) = dimms
            .get(slot)
            .filter(|d| d.config.label_methods.methods() && d.config.label_size > 0)
        {
            dev.extend(label_methods(handle as u32, d.config.label_methods));
        }
        root.push(aml::device(&format!("NV{slot:02X}"), &dev));
    }
    let mut sb = vec![aml::device("NVDR", &root)];
    if let Some(n) = notify {
        sb.push(ged(n, dimms.len() + hotplug_slots, has_device));
    }
    let sb = aml::scope("\\_SB", &sb);
    aml::definition_block(b"SSDT", 1, b"NVDIMMRS", &[pci, sb])
}
