// SPDX-License-Identifier: GPL-2.0
//! NFIT builder for tests and fuzzing.
//!
//! [`Qemu`] lays out a table the way QEMU's `hw/acpi/nvdimm.c` does (one SPA
//! range, one memory device map and one control region per vNVDIMM, in that
//! order, then a platform capabilities structure when `nvdimm-persistence`
//! is set). The per-structure encoders ([`SpaEntry`], [`MemdevEntry`], ...)
//! write any field value, so tests can also hand-make malformed tables.
//!
//! QEMU's numbering, as in `hw/acpi/nvdimm.c`:
//! - device handle = slot + 1,
//! - SPA range index = (slot + 1) << 1, control region index = that + 1,
//! - serial number = 0x123456 + slot,
//! - SPA flags = 1 (control region for hot add only) | 2 (proximity valid),
//!   proximity domain = the DIMM's NUMA node, memory attributes WB | NV,
//! - memdev: region size = the DIMM's pmem size, region offset 0, DPA 0,
//!   interleave ways 1, flags [`table::MEM_NOT_ARMED`] for `unarmed=on`,
//!   physical id, region id and interleave index 0,
//! - control region: vendor 0x8086, device 1, revision 1, subsystem ids 0,
//!   format interface code 0x301, no block control windows, 80 bytes,
//! - capabilities: highest capability = index of the highest set bit.

use crate::table;

/// Length of the NFIT header (ACPI header plus a reserved word).
pub const HEADER_LEN: usize = table::HEADER_LEN;

fn put16(v: &mut [u8], off: usize, x: u16) {
    v[off..off + 2].copy_from_slice(&x.to_le_bytes());
}

fn put32(v: &mut [u8], off: usize, x: u32) {
    v[off..off + 4].copy_from_slice(&x.to_le_bytes());
}

fn put64(v: &mut [u8], off: usize, x: u64) {
    v[off..off + 8].copy_from_slice(&x.to_le_bytes());
}

/// A subtable of `len` zero bytes with its type and length set.
fn subtable(kind: u16, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    put16(&mut v, 0, kind);
    put16(&mut v, 2, u16::try_from(len).unwrap_or(u16::MAX));
    v
}

/// The ACPI checksum byte that makes all bytes of `table` sum to zero,
/// computed with the checksum byte itself taken as zero.
pub fn checksum(table: &[u8]) -> u8 {
    let sum = table
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != 9)
        .fold(0u8, |s, (_, &b)| s.wrapping_add(b));
    0u8.wrapping_sub(sum)
}

/// Puts an NFIT header in front of `body`: signature, length, revision 1,
/// QEMU's OEM fields, and a correct checksum.
pub fn wrap(body: &[u8]) -> Vec<u8> {
    wrap_with(b"NFIT", 1, body)
}

/// [`wrap`] with any signature and revision.
pub fn wrap_with(signature: &[u8; 4], revision: u8, body: &[u8]) -> Vec<u8> {
    let mut t = vec![0u8; HEADER_LEN];
    t[0..4].copy_from_slice(signature);
    let len = u32::try_from(HEADER_LEN + body.len()).expect("table length fits in u32");
    put32(&mut t, 4, len);
    t[8] = revision;
    t[10..16].copy_from_slice(b"BOCHS ");
    t[16..24].copy_from_slice(b"BXPC    ");
    put32(&mut t, 24, 1);
    t[28..32].copy_from_slice(b"BXPC");
    put32(&mut t, 32, 1);
    t.extend_from_slice(body);
    t[9] = checksum(&t);
    t
}

/// Recomputes the checksum of a whole table in place (no-op if too short).
pub fn fix_checksum(t: &mut [u8]) {
    if t.len() > 9 {
        t[9] = checksum(t);
    }
}

/// An SPA range structure (type 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpaEntry {
    pub range_index: u16,
    pub flags: u16,
    pub proximity_domain: u32,
    pub guid: [u8; 16],
    pub address: u64,
    pub length: u64,
    pub memory_mapping: u64,
    /// Written at offset 56 (length 64) when `flags` has the cookie bit.
    pub location_cookie: u64,
}

impl Default for SpaEntry {
    fn default() -> Self {
        SpaEntry {
            range_index: 1,
            flags: 0,
            proximity_domain: 0,
            guid: table::guid::PM,
            address: 0x1_0000_0000,
            length: 1 << 30,
            memory_mapping: 0x8 | 0x8000,
            location_cookie: 0,
        }
    }
}

impl SpaEntry {
    /// 56 bytes, or 64 with the location cookie flag.
    pub fn bytes(&self) -> Vec<u8> {
        let cookie = self.flags & table::SPA_LOCATION_COOKIE_VALID != 0;
        self.bytes_len(if cookie { 64 } else { 56 })
    }

    /// The structure padded or cut to `len` bytes, length field included.
    pub fn bytes_len(&self, len: usize) -> Vec<u8> {
        let mut v = subtable(table::TYPE_SPA, len.max(64));
        put16(&mut v, 4, self.range_index);
        put16(&mut v, 6, self.flags);
        put32(&mut v, 12, self.proximity_domain);
        v[16..32].copy_from_slice(&self.guid);
        put64(&mut v, 32, self.address);
        put64(&mut v, 40, self.length);
        put64(&mut v, 48, self.memory_mapping);
        put64(&mut v, 56, self.location_cookie);
        v.resize(len, 0);
        put16(&mut v, 2, u16::try_from(len).unwrap_or(u16::MAX));
        v
    }
}

/// A memory device to SPA range map (type 1, 48 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemdevEntry {
    pub device_handle: u32,
    pub physical_id: u16,
    pub region_id: u16,
    pub range_index: u16,
    pub region_index: u16,
    pub region_size: u64,
    pub region_offset: u64,
    pub address: u64,
    pub interleave_index: u16,
    pub interleave_ways: u16,
    pub flags: u16,
}

impl MemdevEntry {
    /// 48 bytes.
    pub fn bytes(&self) -> Vec<u8> {
        let mut v = subtable(table::TYPE_MEMDEV, 48);
        put32(&mut v, 4, self.device_handle);
        put16(&mut v, 8, self.physical_id);
        put16(&mut v, 10, self.region_id);
        put16(&mut v, 12, self.range_index);
        put16(&mut v, 14, self.region_index);
        put64(&mut v, 16, self.region_size);
        put64(&mut v, 24, self.region_offset);
        put64(&mut v, 32, self.address);
        put16(&mut v, 40, self.interleave_index);
        put16(&mut v, 42, self.interleave_ways);
        put16(&mut v, 44, self.flags);
        v
    }
}

/// An NVDIMM control region (type 4, 80 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DcrEntry {
    pub region_index: u16,
    pub vendor_id: u16,
    pub device_id: u16,
    pub revision_id: u16,
    pub subsystem_vendor_id: u16,
    pub subsystem_device_id: u16,
    pub subsystem_revision_id: u16,
    pub valid_fields: u8,
    pub manufacturing_location: u8,
    pub manufacturing_date: u16,
    pub serial_number: u32,
    pub code: u16,
    pub windows: u16,
}

impl DcrEntry {
    /// QEMU's control region for `slot`.
    pub fn qemu(slot: u16) -> Self {
        DcrEntry {
            region_index: qemu_dcr_index(slot),
            vendor_id: 0x8086,
            device_id: 1,
            revision_id: 1,
            serial_number: 0x123456 + u32::from(slot),
            code: 0x301,
            ..DcrEntry::default()
        }
    }

    /// 80 bytes.
    pub fn bytes(&self) -> Vec<u8> {
        self.bytes_len(80)
    }

    /// The structure padded or cut to `len` bytes, length field included.
    pub fn bytes_len(&self, len: usize) -> Vec<u8> {
        let mut v = subtable(table::TYPE_DCR, len.max(80));
        put16(&mut v, 4, self.region_index);
        put16(&mut v, 6, self.vendor_id);
        put16(&mut v, 8, self.device_id);
        put16(&mut v, 10, self.revision_id);
        put16(&mut v, 12, self.subsystem_vendor_id);
        put16(&mut v, 14, self.subsystem_device_id);
        put16(&mut v, 16, self.subsystem_revision_id);
        v[18] = self.valid_fields;
        v[19] = self.manufacturing_location;
        put16(&mut v, 20, self.manufacturing_date);
        put32(&mut v, 24, self.serial_number);
        put16(&mut v, 28, self.code);
        put16(&mut v, 30, self.windows);
        v.resize(len, 0);
        put16(&mut v, 2, u16::try_from(len).unwrap_or(u16::MAX));
        v
    }

    /// The parsed form, as [`table::Nfit::dcr`] returns it.
    pub fn parsed(&self) -> table::Dcr {
        table::Dcr {
            region_index: self.region_index,
            vendor_id: self.vendor_id,
            device_id: self.device_id,
            revision_id: self.revision_id,
            subsystem_vendor_id: self.subsystem_vendor_id,
            subsystem_device_id: self.subsystem_device_id,
            subsystem_revision_id: self.subsystem_revision_id,
            valid_fields: self.valid_fields,
            manufacturing_location: self.manufacturing_location,
            manufacturing_date: self.manufacturing_date,
            serial_number: self.serial_number,
            code: self.code,
            windows: self.windows,
        }
    }
}

/// An interleave description (type 2): 16 bytes plus 4 per line. The line
/// count field is `line_count` (defaults to the number of lines when
/// `None`), so tests can make it disagree with the length.
pub fn interleave(index: u16, line_size: u32, lines: &[u32], line_count: Option<u32>) -> Vec<u8> {
    let mut v = subtable(table::TYPE_INTERLEAVE, 16 + 4 * lines.len());
    put16(&mut v, 4, index);
    let count = line_count.unwrap_or(u32::try_from(lines.len()).unwrap_or(u32::MAX));
    put32(&mut v, 8, count);
    put32(&mut v, 12, line_size);
    for (i, l) in lines.iter().enumerate() {
        put32(&mut v, 16 + 4 * i, *l);
    }
    v
}

/// Flush hint addresses (type 6): 16 bytes plus 8 per hint; `hint_count`
/// as for [`interleave`].
pub fn flush(handle: u32, hints: &[u64], hint_count: Option<u16>) -> Vec<u8> {
    let mut v = subtable(table::TYPE_FLUSH, 16 + 8 * hints.len());
    put32(&mut v, 4, handle);
    let count = hint_count.unwrap_or(u16::try_from(hints.len()).unwrap_or(u16::MAX));
    put16(&mut v, 8, count);
    for (i, h) in hints.iter().enumerate() {
        put64(&mut v, 16 + 8 * i, *h);
    }
    v
}

/// Platform capabilities (type 7, 16 bytes).
pub fn capabilities(highest: u8, caps: u32) -> Vec<u8> {
    let mut v = subtable(table::TYPE_CAPABILITIES, 16);
    v[4] = highest;
    put32(&mut v, 8, caps);
    v
}

/// QEMU's platform capabilities structure for `caps` (none for 0): the
/// highest capability is the index of the highest bit set.
pub fn qemu_capabilities(caps: u32) -> Vec<u8> {
    match caps.checked_ilog2() {
        Some(highest) => capabilities(highest as u8, caps),
        None => Vec::new(),
    }
}

/// A block data window region (type 5, 40 bytes).
pub fn bdw(region_index: u16, windows: u16) -> Vec<u8> {
    let mut v = subtable(table::TYPE_BDW, 40);
    put16(&mut v, 4, region_index);
    put16(&mut v, 6, windows);
    v
}

/// An SMBIOS management information structure (type 3) carrying `data`.
pub fn smbios(data: &[u8]) -> Vec<u8> {
    let mut v = subtable(table::TYPE_SMBIOS, 8 + data.len());
    v[8..].copy_from_slice(data);
    v
}

/// A structure of an arbitrary type and length (filled with `fill`).
pub fn raw(kind: u16, len: usize, fill: u8) -> Vec<u8> {
    let mut v = vec![fill; len.max(4)];
    put16(&mut v, 0, kind);
    put16(&mut v, 2, u16::try_from(len).unwrap_or(u16::MAX));
    v.truncate(len);
    v
}

/// QEMU's device handle of a slot.
pub fn qemu_handle(slot: u16) -> u32 {
    u32::from(slot) + 1
}

/// QEMU's SPA range index of a slot.
pub fn qemu_spa_index(slot: u16) -> u16 {
    (slot + 1) << 1
}

/// QEMU's control region index of a slot.
pub fn qemu_dcr_index(slot: u16) -> u16 {
    qemu_spa_index(slot) + 1
}

/// One vNVDIMM as QEMU describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QemuDimm {
    pub slot: u16,
    /// Guest physical address of the pmem (`addr` property).
    pub address: u64,
    /// Pmem size (`size` property: the backend less the label area).
    pub size: u64,
    /// NUMA node (`node` property).
    pub node: u32,
    /// `unarmed=on`.
    pub unarmed: bool,
}

/// A QEMU machine's NVDIMMs and its `nvdimm-persistence` capabilities.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Qemu {
    pub dimms: Vec<QemuDimm>,
    /// 0 for no capabilities structure; QEMU sets 2 (memory controller
    /// flush) for `nvdimm-persistence=mem-ctrl` and 3 for `cpu`.
    pub capabilities: u32,
}

/// Where QEMU's pc machine places the first device memory (4 GiB above a
/// guest with less RAM than that, 1 GiB aligned), for plausible addresses.
pub const QEMU_DEVICE_MEMORY_BASE: u64 = 0x1_0000_0000;

impl Qemu {
    /// `n` DIMMs in slots 0..n, each `size` bytes, placed back to back.
    pub fn new(n: u16, size: u64) -> Self {
        let dimms = (0..n)
            .map(|slot| QemuDimm {
                slot,
                address: QEMU_DEVICE_MEMORY_BASE + u64::from(slot) * size,
                size,
                node: 0,
                unarmed: false,
            })
            .collect();
        Qemu {
            dimms,
            capabilities: 0,
        }
    }

    /// Sets the platform capabilities (0: none).
    pub fn with_capabilities(mut self, caps: u32) -> Self {
        self.capabilities = caps;
        self
    }

    /// The SPA range QEMU describes for a DIMM.
    pub fn spa(d: &QemuDimm) -> SpaEntry {
        SpaEntry {
            range_index: qemu_spa_index(d.slot),
            flags: 1 | table::SPA_PROXIMITY_VALID,
            proximity_domain: d.node,
            guid: table::guid::PM,
            address: d.address,
            length: d.size,
            memory_mapping: 0x8 | 0x8000,
            location_cookie: 0,
        }
    }

    /// The memory device map QEMU describes for a DIMM.
    pub fn memdev(d: &QemuDimm) -> MemdevEntry {
        MemdevEntry {
            device_handle: qemu_handle(d.slot),
            range_index: qemu_spa_index(d.slot),
            region_index: qemu_dcr_index(d.slot),
            region_size: d.size,
            region_offset: 0,
            address: 0,
            interleave_ways: 1,
            flags: if d.unarmed { table::MEM_NOT_ARMED } else { 0 },
            ..MemdevEntry::default()
        }
    }

    /// The subtables, as `_FIT` returns them.
    pub fn body(&self) -> Vec<u8> {
        let mut b = Vec::new();
        for d in &self.dimms {
            b.extend(Self::spa(d).bytes());
            b.extend(Self::memdev(d).bytes());
            b.extend(DcrEntry::qemu(d.slot).bytes());
        }
        b.extend(qemu_capabilities(self.capabilities));
        b
    }

    /// The whole NFIT.
    pub fn table(&self) -> Vec<u8> {
        wrap(&self.body())
    }
}
