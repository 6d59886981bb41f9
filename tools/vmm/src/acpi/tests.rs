// SPDX-License-Identifier: GPL-2.0
//! Tests of the generated tables, across the ACPI modules.

use nfit_table::builder;

use super::malformed::Malformed;
use super::nfit::{nfit, nfit_body, qemu_dimm};
use super::ssdt::*;
use crate::config::PlacedDimm;
use crate::config::{place, NvdimmConfig};
use nfit_table::table;

fn dimms(n: usize) -> Vec<PlacedDimm> {
    let cfgs: Vec<NvdimmConfig> = (0..n)
        .map(|i| {
            NvdimmConfig::parse(&format!(
                "path=/x{i},size=512M,label-size=128K,unarmed={}",
                if i == 1 { "on" } else { "off" }
            ))
            .unwrap()
        })
        .collect();
    place(&cfgs).unwrap().0
}

fn sum(t: &[u8]) -> u8 {
    t.iter().fold(0u8, |s, b| s.wrapping_add(*b))
}

#[test]
fn nfit_parses_like_qemus() {
    let d = dimms(2);
    let t = nfit(&nfit_body(&d, &[], 3));
    assert_eq!(sum(&t), 0);
    assert_eq!(&t[0..4], b"NFIT");
    assert_eq!(
        u32::from_le_bytes(t[4..8].try_into().unwrap()) as usize,
        t.len()
    );
    let n = table::Nfit::parse(&t).expect("our NFIT parses");
    // Same structures as QEMU's own NFIT for these DIMMs.
    let q = builder::Qemu {
        dimms: d.iter().map(qemu_dimm).collect(),
        capabilities: 3,
    };
    assert_eq!(&t[40..], &q.body()[..]);
    assert_eq!(n.memdevs().count(), 2);
    let spas: Vec<_> = n.spas().collect();
    assert_eq!(spas[0].address, 1 << 32);
    assert_eq!(spas[0].length, 512 << 20);
    assert_eq!(spas[1].address, (1 << 32) + (640 << 20));
    let m: Vec<_> = n.memdevs().collect();
    assert_eq!(m[0].device_handle, 1);
    assert_eq!(m[1].flags & table::MEM_NOT_ARMED, table::MEM_NOT_ARMED);
    assert_eq!(n.capabilities(), 3);
}

#[test]
fn flush_hints_in_the_nfit() {
    let cfgs: Vec<NvdimmConfig> = [
        "path=/a,size=512M,flush-hints=2",
        "path=/b,size=512M",
        "path=/c,size=512M,flush-hints=8",
    ]
    .iter()
    .map(|s| NvdimmConfig::parse(s).unwrap())
    .collect();
    let d = place(&cfgs).unwrap().0;
    let t = nfit(&nfit_body(&d, &[], 0));
    let n = table::Nfit::parse(&t).expect("our NFIT parses");
    let hints = |h: u32| -> Vec<u64> {
        n.flush_hints(h)
            .map(|f| f.addresses().collect())
            .unwrap_or_default()
    };
    assert_eq!(hints(1), [0x10_0000_0000, 0x10_0000_0040]);
    assert!(hints(2).is_empty());
    let h = hints(3);
    assert_eq!(h.len(), 8);
    assert_eq!(h[0], 0x10_0000_2000, "slot 2's own page");
    assert_eq!(h[7], 0x10_0000_2000 + 7 * 64);
    // Every hint is outside every SPA range.
    for a in [hints(1), hints(3)].concat() {
        assert!(d
            .iter()
            .all(|d| a < d.address || a >= d.address + d.config.size));
    }
}

#[test]
fn malformed_tables_meet_the_rust_parser_as_c_does() {
    let d = dimms(2);
    for m in Malformed::ALL {
        let t = m.nfit(&d, 0);
        assert_eq!(sum(&t), 0, "{m:?}: checksum still valid");
        // TableLength, SpaUnaligned and friends: whatever the parser
        // thinks, the table differs from the good one.
        assert_ne!(t, nfit(&nfit_body(&d, &[], 0)), "{m:?}");
        // As C: a class C's probe fails on (or oopses on) is refused; one
        // C keeps the bus for is parsed, with a warning where C warns or
        // works around it (see vmm-malformed.sh).
        let refused = [
            Malformed::TableLength,
            Malformed::SpaLengthShort,
            Malformed::DcrLengthShort,
            Malformed::InterleaveCount,
            Malformed::FlushHintCount,
            Malformed::MemdevDcrIndex,
            Malformed::SpaZeroLength,
            Malformed::DuplicateMemdev,
            Malformed::UnmappedMemdevDcrIndex,
            Malformed::MemdevDcrIndexZero,
        ];
        let warned = [
            Malformed::SubtableLengthZero,
            Malformed::SubtableLengthOverrun,
            Malformed::MemdevSpaIndex,
            Malformed::DuplicateSpaIndex,
            Malformed::SpaOverlap,
            Malformed::SpaUnaligned,
            Malformed::MemdevSizeOverflow,
            Malformed::DuplicateDcrIndex,
            Malformed::DuplicateInterleaveIndex,
            Malformed::DuplicateCapabilities,
            Malformed::FlushHintHandle,
            Malformed::SecondMemdevDcrIndex,
        ];
        let parsed = table::Nfit::parse(&t);
        let outcome = match &parsed {
            Err(_) => "refused",
            Ok(n) => {
                let mut warnings = 0;
                n.warnings(|_| warnings += 1);
                if warnings > 0 {
                    "warned"
                } else {
                    "silent"
                }
            }
        };
        let want = if refused.contains(&m) {
            "refused"
        } else if warned.contains(&m) {
            "warned"
        } else {
            "silent"
        };
        assert_eq!(outcome, want, "{m:?}");
        assert!(!m.name().is_empty());
    }
}

#[test]
fn ssdt_label_methods() {
    use crate::acpi::aml::decode::{decode, Object};
    let cfgs: Vec<NvdimmConfig> = [
        "path=/a,size=512M,label-size=128K,label-methods=on",
        "path=/b,size=512M,label-size=128K",
        "path=/c,size=512M,label-size=128K,label-methods=both",
    ]
    .iter()
    .map(|s| NvdimmConfig::parse(s).unwrap())
    .collect();
    let d = place(&cfgs).unwrap().0;
    let db = Doorbell {
        port: 0xa40,
        pci_slot: 0x10,
    };
    let t = ssdt(&d, db, None, 1);
    // The decoder checks every method body's terms and NCAL's arity.
    let ns = decode(&t[36..]).expect("the SSDT decodes");
    let get = |p: &str| ns.iter().find(|(n, _)| n == p).map(|(_, o)| o.clone());
    for dev in ["NV00", "NV02"] {
        let m = |n: &str| get(&format!("\\_SB_.NVDR.{dev}.{n}"));
        assert_eq!(m("_LSI"), Some(Object::Method(0, true)), "{dev}");
        assert_eq!(m("_LSR"), Some(Object::Method(2, true)), "{dev}");
        assert_eq!(m("_LSW"), Some(Object::Method(3, true)), "{dev}");
    }
    for dev in ["NV01", "NV03"] {
        assert!(get(&format!("\\_SB_.NVDR.{dev}._LSI")).is_none(), "{dev}");
    }
}

#[test]
fn ssdt_read_only_label_methods() {
    use crate::acpi::aml::decode::{decode, Object};
    let cfgs = [NvdimmConfig::parse("path=/a,size=512M,label-size=128K,label-methods=ro").unwrap()];
    let d = place(&cfgs).unwrap().0;
    let db = Doorbell {
        port: 0xa40,
        pci_slot: 0x10,
    };
    let t = ssdt(&d, db, None, 0);
    let ns = decode(&t[36..]).expect("the SSDT decodes");
    let get = |n: &str| {
        ns.iter()
            .find(|(p, _)| p == &format!("\\_SB_.NVDR.NV00.{n}"))
            .map(|(_, o)| o.clone())
    };
    assert_eq!(get("_LSI"), Some(Object::Method(0, true)));
    assert_eq!(get("_LSR"), Some(Object::Method(2, true)));
    assert_eq!(get("_LSW"), None);
}

#[test]
fn ssdt_declares_the_root_and_dimms() {
    use crate::acpi::aml::decode::{decode, Object};
    let d = dimms(3);
    let db = Doorbell {
        port: 0xa40,
        pci_slot: 0x10,
    };
    let t = ssdt(
        &d,
        db,
        Some(NotifyLine {
            port: 0xa50,
            irq: 5,
        }),
        2,
    );
    assert_eq!(sum(&t), 0);
    assert_eq!(&t[0..4], b"SSDT");
    assert_eq!(
        u32::from_le_bytes(t[4..8].try_into().unwrap()) as usize,
        t.len()
    );
    let ns = decode(&t[36..]).expect("the SSDT decodes");
    let get = |p: &str| ns.iter().find(|(n, _)| n == p).map(|(_, o)| o.clone());
    assert_eq!(
        get("\\_SB_.NVDR._HID"),
        Some(Object::String("ACPI0012".into()))
    );
    assert_eq!(
        get("\\_SB_.PCI0.NVMB._ADR"),
        Some(Object::Integer(0x10_0000))
    );
    assert_eq!(
        get("\\_SB_.PCI0.NVMB.PCFG"),
        Some(Object::Region(2, 0, 0x20))
    );
    assert_eq!(get("\\_SB_.NVDR.DBIO"), Some(Object::Region(1, 0xa40, 1)));
    assert_eq!(get("\\_SB_.NVDR.NCAL"), Some(Object::Method(6, true)));
    assert_eq!(get("\\_SB_.NVDR._DSM"), Some(Object::Method(4, true)));
    assert_eq!(get("\\_SB_.NVDR._FIT"), Some(Object::Method(0, true)));
    for f in [
        "\\_SB_.PCI0.NVMB.PCMD",
        "\\_SB_.PCI0.NVMB.MBLO",
        "\\_SB_.PCI0.NVMB.MBHI",
        "\\_SB_.NVDR.DBEL",
    ] {
        assert_eq!(get(f), Some(Object::FieldUnit), "{f}");
    }
    for (i, _) in d.iter().enumerate() {
        let dev = format!("\\_SB_.NVDR.NV{i:02X}");
        assert_eq!(get(&dev), Some(Object::Device));
        assert_eq!(
            get(&format!("{dev}._ADR")),
            Some(Object::Integer(i as u64 + 1))
        );
        assert_eq!(get(&format!("{dev}._DSM")), Some(Object::Method(4, true)));
    }
    assert_eq!(
        get("\\_SB_.NVGE._HID"),
        Some(Object::String("ACPI0013".into()))
    );
    assert_eq!(get("\\_SB_.NVGE._CRS"), Some(Object::Buffer(11)));
    assert_eq!(get("\\_SB_.NVGE.NUAR"), Some(Object::Region(1, 0xa50, 8)));
    assert_eq!(get("\\_SB_.NVGE._EVT"), Some(Object::Method(1, true)));
    assert_eq!(get("\\_SB_.NVGE._INI"), Some(Object::Method(0, true)));
    assert_eq!(
        ns.iter().filter(|(_, o)| *o == Object::Device).count(),
        3 + d.len() + 2
    );
    assert_eq!(
        get("\\_SB_.NVDR.NV04._ADR"),
        Some(Object::Integer(5)),
        "hotplug slots"
    );
    assert!(
        get("\\_SB_.NVDR.NV00._LSR").is_none(),
        "no label methods by default"
    );
    let no_fit = decode(&ssdt(&d, db, None, 0)[36..]).unwrap();
    assert!(!no_fit
        .iter()
        .any(|(n, _)| n.ends_with("_FIT") || n.contains("NVGE")));
}

#[test]
fn a_dimm_without_its_device() {
    use crate::acpi::aml::decode::{decode, Object};
    let cfgs: Vec<NvdimmConfig> = ["path=/a,size=512M", "path=/b,size=256M,acpi-device=off"]
        .iter()
        .map(|s| NvdimmConfig::parse(s).unwrap())
        .collect();
    let d = place(&cfgs).unwrap().0;
    let db = Doorbell {
        port: 0xa40,
        pci_slot: 0x10,
    };
    let notify = NotifyLine {
        port: 0xa50,
        irq: 5,
    };
    let t = ssdt(&d, db, Some(notify), 1);
    let ns = decode(&t[36..]).expect("the SSDT decodes");
    // Neither a device nor the GED's notification names the missing one.
    assert!(!t.windows(4).any(|w| w == b"NV01"));
    let get = |p: &str| ns.iter().find(|(n, _)| n == p).map(|(_, o)| o.clone());
    // The hotplug slot has its device.
    assert!(get("\\_SB_.NVDR.NV02._DSM").is_some());
    assert_eq!(get("\\_SB_.NVDR.NV00._DSM"), Some(Object::Method(4, true)));
    assert!(get("\\_SB_.NVDR.NV01").is_none());
    assert!(get("\\_SB_.NVDR.NV01._DSM").is_none());
    // The NFIT still describes both.
    let t = nfit(&nfit_body(&d, &[], 0));
    let n = table::Nfit::parse(&t).unwrap();
    assert_eq!(n.memdevs().count(), 2);
}

#[test]
fn spa_ranges_in_the_nfit() {
    use crate::config::{place_spas, SpaConfig, SPA_BASE, SPA_INDEX_BASE};
    let d = dimms(2);
    let spas: Vec<SpaConfig> = [
        "volatile,dimm=2,path=/v,size=64M",
        "pdisk,path=/p,size=16M",
        "volatile,dimm=2,path=/w,size=2M",
        "vcd,path=/c,size=4M",
    ]
    .iter()
    .map(|s| SpaConfig::parse(s).unwrap())
    .collect();
    let placed = place_spas(&spas, &d).unwrap();
    let t = nfit(&nfit_body(&d, &placed, 0));
    let n = table::Nfit::parse(&t).expect("our NFIT parses");
    let kinds: Vec<_> = n.spas().map(|s| (s.range_index, s.kind())).collect();
    let i = SPA_INDEX_BASE;
    assert_eq!(
        kinds[2..],
        [
            (i, table::SpaKind::Volatile),
            (i + 1, table::SpaKind::PersistentDisk),
            (i + 2, table::SpaKind::Volatile),
            (i + 3, table::SpaKind::VolatileCd)
        ]
    );
    let s: Vec<_> = n.spas().skip(2).collect();
    assert_eq!(s[0].address, SPA_BASE);
    assert_eq!(s[0].length, 64 << 20);
    // Each range on its own 128 MiB boundary.
    assert_eq!(s[1].address, SPA_BASE + (128 << 20));
    assert_eq!(s[3].address, SPA_BASE + (384 << 20));
    let mut warnings = 0;
    n.warnings(|_| warnings += 1);
    assert_eq!(warnings, 0);
    // The volatile ranges are mapped by DIMM 2 past its persistent part,
    // one after the other; the virtual ones by nobody.
    let v: Vec<_> = n.memdevs().filter(|m| m.range_index >= i).collect();
    assert_eq!(v.len(), 2);
    assert!(v
        .iter()
        .all(|m| m.device_handle == 2 && m.region_index == 5));
    assert_eq!((v[0].address, v[0].region_size), (512 << 20, 64 << 20));
    assert_eq!(
        (v[1].address, v[1].region_size),
        ((512 + 64) << 20, 2 << 20)
    );
    assert_eq!(n.memdevs_of(i + 1).count(), 0);
}

/// Two DIMMs of 256 MiB in interleave set 1, as `vmm-iset.sh` has them
/// (`extra` DIMMs with an SPA range of their own after them).
fn set_dimms(extra: usize) -> Vec<PlacedDimm> {
    let mut cfgs: Vec<NvdimmConfig> = (0..2)
        .map(|i| {
            NvdimmConfig::parse(&format!("path=/s{i},size=256M,label-size=128K,set=1")).unwrap()
        })
        .collect();
    for i in 0..extra {
        cfgs.push(NvdimmConfig::parse(&format!("path=/x{i},size=64M,label-size=128K")).unwrap());
    }
    place(&cfgs).unwrap().0
}

#[test]
fn an_interleave_set_in_the_nfit() {
    use crate::config::{SET_LINE_SIZE, SET_WAYS};
    let d = set_dimms(1);
    let t = nfit(&nfit_body(&d, &[], 0));
    let n = table::Nfit::parse(&t).expect("our NFIT parses");
    let mut warnings = Vec::new();
    n.warnings(|w| warnings.push(w));
    assert!(warnings.is_empty(), "{warnings:?}");
    // One SPA range over both DIMMs' persistent parts, then the third
    // DIMM's own, QEMU's.
    let spas: Vec<_> = n.spas().collect();
    assert_eq!(spas.len(), 2);
    assert_eq!(
        (spas[0].range_index, spas[0].address, spas[0].length),
        (2, 1 << 32, 512 << 20)
    );
    assert_eq!(spas[0].kind(), table::SpaKind::Pmem);
    assert_eq!(spas[1].range_index, 6);
    assert_eq!(spas[1].address, (1 << 32) + (512 << 20));
    let m: Vec<_> = n.memdevs_of(2).collect();
    assert_eq!(m.len(), 2);
    for (i, m) in m.iter().enumerate() {
        assert_eq!(m.device_handle, i as u32 + 1);
        assert_eq!(m.region_index, builder::qemu_dcr_index(i as u16));
        assert_eq!((m.region_size, m.address), (256 << 20, 0));
        assert_eq!(m.region_offset, i as u64 * u64::from(SET_LINE_SIZE));
        assert_eq!((m.interleave_ways, m.interleave_index), (SET_WAYS, 1));
        assert!(m.inside(&spas[0]));
    }
    let idt: Vec<_> = n.interleaves().collect();
    assert_eq!(idt.len(), 1);
    assert_eq!(
        (idt[0].interleave_index, idt[0].line_count, idt[0].line_size),
        (1, 1, SET_LINE_SIZE)
    );
    // Both DIMMs keep their own control regions (and so their serials).
    assert_eq!(n.dcrs().count(), 3);
    // The DIMMs are placed as the table says: the second right after the
    // first's persistent part, the third on the next 128 MiB boundary.
    assert_eq!(d[1].address, d[0].address + (256 << 20));
    assert_eq!(d[2].address, spas[1].address);
}

/// The cookies the set's table leads to, by the kernel's computation
/// (`nfit_rs`'s `table.rs`) and by the reference of C's; `vmm-iset.sh`
/// checks the guest's `set_cookie` and labels against the same values.
#[test]
fn the_interleave_set_cookie_is_cs() {
    use nfit_table::reference;
    let t = nfit(&nfit_body(&set_dimms(0), &[], 0));
    let n = table::Nfit::parse(&t).unwrap();
    let entries: Vec<(u64, table::Dcr)> = n
        .memdevs_of(2)
        .map(|m| (m.region_offset, n.dcr(m.region_index).unwrap()))
        .collect();
    let set = table::interleave_set(&entries, reference::nd_fletcher64).unwrap();
    let (c1, c2, alt, pos) = reference::interleave_cookies(&entries);
    assert_eq!((set.cookie1, set.cookie2, set.altcookie), (c1, c2, alt));
    assert_eq!(&set.positions[..2], &pos[..]);
    assert_eq!(pos, [0, 1]);
    let scenario = include_str!("../../../testing/scenarios/vmm-iset.sh");
    let expected = |name: &str| {
        let line = scenario
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("vmm-iset.sh sets no {name}"));
        u64::from_str_radix(line.trim_start_matches("0x"), 16).unwrap()
    };
    println!("cookie1 {c1:#x} cookie2 {c2:#x} altcookie {alt:#x}");
    assert_eq!(expected("COOKIE1"), c1);
    assert_eq!(expected("COOKIE2"), c2);
}
