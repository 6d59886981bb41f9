// SPDX-License-Identifier: GPL-2.0
//! Tests of `config.rs`.

use super::*;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nvdimm-vmm-test-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

#[test]
fn spec_values() {
    let nv = NvdimmConfig::parse("path=/x/d.img,size=512M,label-size=128K,unarmed=on").unwrap();
    assert_eq!(nv.size, 512 << 20);
    assert_eq!(nv.label_size, 128 << 10);
    assert!(nv.unarmed);
    assert_eq!(nv.file_size().unwrap(), (512 << 20) + (128 << 10));
    let e = |s: &str| NvdimmConfig::parse(s).unwrap_err().to_string();
    assert!(e("path=/x,size=3M").contains("multiple of 2M"));
    assert!(e("path=/x,size=0").contains("multiple of 2M"));
    assert!(e("path=/x,size=4M,label-size=64K").contains("below the minimum"));
    assert!(e("path=/x,size=4M,label-size=129K").contains("multiple of 4K"));
    assert!(e("size=4M").contains("path"));
    assert!(e("path=/x,size=4M,colour=red").contains("unknown key"));
    assert!(e("path=/x,size=4M,unarmed=maybe").contains("on or off"));
    assert!(e("path=/x,size=4M,junk").contains("key=value"));
    assert!(e("path=/x,size=18446744073709551615").contains("multiple"));
    assert!(e("path=/nonexistent/d.img").contains("give size="));
    assert!(e("path=/x,size=4M,label-methods=on").contains("label area"));
    assert!(e("path=/x,size=4M,label-methods=both").contains("label area"));
    assert!(e("path=/x,size=4M,label-size=128K,label-methods=yes").contains("off, on, ro or both"));
    assert!(e("path=/x,size=4M,flush-hints=9").contains("0 to 8"));
    assert!(e("path=/x,size=4M,flush-hints=-1").contains("0 to 8"));
    let m = NvdimmConfig::parse("path=/x,size=4M,label-size=128K,label-methods=on,flush-hints=8")
        .unwrap();
    assert_eq!(m.label_methods, LabelMethods::On);
    assert!(m.label_methods.methods() && !m.label_methods.dsm());
    assert_eq!(m.flush_hints, 8);
    let d = NvdimmConfig::parse("path=/x,size=4M").unwrap();
    assert_eq!((d.label_methods, d.flush_hints), (LabelMethods::Off, 0));
    assert_eq!(flush_hint_address(0, 0), FLUSH_BASE);
    assert_eq!(flush_hint_address(2, 3), FLUSH_BASE + 2 * 4096 + 3 * 64);
}

#[test]
fn files_are_checked_not_changed() {
    let p = tmp("small.img");
    std::fs::write(&p, vec![7u8; 4096]).unwrap();
    let nv = NvdimmConfig::parse(&format!("path={},size=4M", p.display())).unwrap();
    assert_eq!(
        nv.check_file().unwrap_err().to_string(),
        format!(
            "{}: the file is 4096 bytes, too small for size=4194304 plus label-size=0 \
             (4194304 bytes)",
            p.display()
        )
    );
    assert_eq!(std::fs::read(&p).unwrap(), vec![7u8; 4096], "untouched");
    // Without size=, the size comes from the file; 4 KiB is too small.
    assert!(NvdimmConfig::parse(&format!("path={},label-size=128K", p.display())).is_err());
    let big = tmp("big.img");
    std::fs::File::create(&big)
        .unwrap()
        .set_len((6 << 20) + (128 << 10))
        .unwrap();
    let nv = NvdimmConfig::parse(&format!("path={},label-size=128K", big.display())).unwrap();
    assert_eq!(nv.size, 6 << 20);
    assert!(nv.check_file().unwrap());
    let wrong = NvdimmConfig::parse(&format!("path={},size=4M", big.display())).unwrap();
    assert!(wrong
        .check_file()
        .unwrap_err()
        .to_string()
        .contains("must match"));
    let new = tmp("new.img");
    let _ = std::fs::remove_file(&new);
    let nv =
        NvdimmConfig::parse(&format!("path={},size=4M,label-size=128K", new.display())).unwrap();
    assert!(!nv.check_file().unwrap());
    assert!(!new.exists(), "checking creates nothing");
    nv.create_file().unwrap();
    assert_eq!(
        std::fs::metadata(&new).unwrap().len(),
        (4 << 20) + (128 << 10)
    );
    assert!(nv.create_file().is_err(), "never recreated");
    let nodir = NvdimmConfig::parse("path=/nonexistent-dir/x.img,size=4M").unwrap();
    assert!(nodir
        .check_file()
        .unwrap_err()
        .to_string()
        .contains("does not exist"));
}

#[test]
fn placement() {
    let a = NvdimmConfig::parse("path=/a,size=512M,label-size=128K").unwrap();
    let b = NvdimmConfig::parse("path=/b,size=256M").unwrap();
    let (p, end) = place(&[a.clone(), b]).unwrap();
    assert_eq!(p[0].address, DEVICE_MEMORY_BASE);
    // 512M + 128K rounds up to 640M.
    assert_eq!(p[1].address, DEVICE_MEMORY_BASE + (640 << 20));
    assert_eq!(p[1].slot, 1);
    assert_eq!(end, DEVICE_MEMORY_BASE + (896 << 20));
    assert!(place(&vec![a; MAX_DIMMS + 1]).is_err());
}

#[test]
fn ocxlpmem_values_and_files() {
    let c = OcxlConfig::parse("path=/x/c.img,size=512M").unwrap();
    assert_eq!((c.size, c.vectors), (512 << 20, 2));
    let c = OcxlConfig::parse("path=/x/c.img,size=1G,vectors=32").unwrap();
    assert_eq!((c.size, c.vectors), (1 << 30, 32));
    let e = |s: &str| OcxlConfig::parse(s).unwrap_err().to_string();
    assert_eq!(
        OcxlConfig::parse("path=/x,size=384M").unwrap().size,
        384 << 20
    );
    assert!(e("path=/x,size=200M").contains("multiple of 128M"));
    assert!(e("path=/x,size=128M").contains("multiple of 128M"));
    assert!(e("path=/x,size=128G").contains("multiple of 128M"));
    assert!(e("path=/x,size=512M,vectors=0").contains("1 to 32"));
    assert!(e("path=/x,size=512M,vectors=33").contains("1 to 32"));
    assert_eq!(c.serial, DEFAULT_OCXL_SERIAL);
    let serial = |s: &str| OcxlConfig::parse(s).unwrap().serial;
    assert_eq!(serial("path=/x,size=512M,serial=0x10"), 16);
    assert_eq!(serial("path=/x,size=512M,serial=17"), 17);
    for bad in ["0", "0x0", "-1", "0x", "x1", "18446744073709551616"] {
        let msg = e(&format!("path=/x,size=512M,serial={bad}"));
        assert!(msg.contains("non-zero number"), "{bad}: {msg}");
    }
    assert!(e("path=/x,size=512M,label-size=128K").contains("unknown key"));
    assert!(e("size=512M").contains("path"));
    assert!(e("path=/nonexistent/c.img").contains("give size="));
    let p = tmp("ocxl-small.img");
    std::fs::write(&p, vec![5u8; 4096]).unwrap();
    let c = OcxlConfig::parse(&format!("path={},size=512M", p.display())).unwrap();
    // A card has no label area: its message names the size only.
    assert_eq!(
        c.check_file().unwrap_err().to_string(),
        format!(
            "{}: the file is 4096 bytes, too small for size=536870912 (536870912 bytes)",
            p.display()
        )
    );
    assert_eq!(std::fs::read(&p).unwrap(), vec![5u8; 4096], "untouched");
    assert!(OcxlConfig::parse(&format!("path={}", p.display()))
        .unwrap_err()
        .to_string()
        .contains("multiple of 128M"));
    const {
        assert!(OCXL_MEMORY_BASE.is_multiple_of(OCXL_SECTION));
        assert!(OCXL_MEMORY_BASE >= FLUSH_BASE + FLUSH_SIZE);
    }
    let new = tmp("ocxl-new.img");
    let _ = std::fs::remove_file(&new);
    let c = OcxlConfig::parse(&format!("path={},size=512M", new.display())).unwrap();
    assert!(!c.check_file().unwrap());
    assert!(!new.exists());
    c.create_file().unwrap();
    assert_eq!(std::fs::metadata(&new).unwrap().len(), 512 << 20);
    assert!(c.create_file().is_err(), "never recreated");
    let again = OcxlConfig::parse(&format!("path={}", new.display())).unwrap();
    assert_eq!(again.size, 512 << 20);
    assert!(again.check_file().unwrap());
    let _ = std::fs::remove_file(&new);
}

#[test]
fn persistence_bits() {
    assert_eq!(Persistence::None.bits(), 0);
    assert_eq!(Persistence::MemCtrl.bits(), 2);
    assert_eq!(Persistence::Cpu.bits(), 3);
}

#[test]
fn intel_keys() {
    let d = NvdimmConfig::parse("path=/x,size=4M").unwrap();
    assert!(!d.intel && d.intel_state.is_none());
    assert_eq!(d.overwrite_ms, DEFAULT_OVERWRITE_MS);
    let i =
        NvdimmConfig::parse("path=/x,size=4M,intel=on,state=/s/x.json,overwrite-ms=50").unwrap();
    assert!(i.intel);
    assert_eq!(i.intel_state.as_deref(), Some(Path::new("/s/x.json")));
    assert_eq!(i.overwrite_ms, 50);
    let e = |s: &str| NvdimmConfig::parse(s).unwrap_err().to_string();
    assert!(e("path=/x,size=4M,state=/s").contains("needs intel=on"));
    assert!(e("path=/x,size=4M,overwrite-ms=5").contains("needs intel=on"));
    assert!(e("path=/x,size=4M,intel=on,overwrite-ms=600001").contains("0 to 600000"));
    assert!(e("path=/x,size=4M,intel=on,overwrite-ms=-1").contains("0 to 600000"));
    assert!(e("path=/x,size=4M,label-size=128K,intel=on,label-methods=on").contains("Microsoft"));
    NvdimmConfig::parse("path=/x,size=4M,label-size=128K,intel=on,label-methods=both").unwrap();
    // --nvdimm-intel.
    let o = IntelOption::parse("2,state=/s/y.json,overwrite-ms=7").unwrap();
    assert_eq!(o.handle, 2);
    let a = o.apply(&d).unwrap();
    assert!(a.intel);
    assert_eq!(a.intel_state.as_deref(), Some(Path::new("/s/y.json")));
    assert_eq!(a.overwrite_ms, 7);
    assert_eq!(
        IntelOption::parse("1")
            .unwrap()
            .apply(&d)
            .unwrap()
            .intel_state,
        None
    );
    let oe = |s: &str| IntelOption::parse(s).unwrap_err().to_string();
    assert!(oe("0").contains("--nvdimm-intel 0"));
    assert!(oe("x,state=/s").contains("--nvdimm-intel x"));
    assert!(oe("1,intel=on").contains("unknown key"));
    assert!(oe("1,size=4M").contains("unknown key"));
    let m = NvdimmConfig::parse("path=/x,size=4M,label-size=128K,label-methods=on").unwrap();
    assert!(IntelOption::parse("1").unwrap().apply(&m).is_err());
}

#[test]
fn spa_ranges() {
    let s = SpaConfig::parse("volatile,dimm=2,path=/v.img,size=64M").unwrap();
    assert_eq!(s.kind, SpaType::Volatile);
    assert_eq!((s.size, s.dimm), (64 << 20, Some(2)));
    let s = SpaConfig::parse("pcd,path=/c.img,size=2M").unwrap();
    assert_eq!((s.kind, s.dimm), (SpaType::PersistentCd, None));
    for (name, kind) in [
        ("vdisk", SpaType::VolatileDisk),
        ("vcd", SpaType::VolatileCd),
        ("pdisk", SpaType::PersistentDisk),
    ] {
        let s = SpaConfig::parse(&format!("{name},path=/d,size=4M")).unwrap();
        assert_eq!(s.kind, kind);
        assert_eq!(s.kind.name(), name);
    }
    let e = |s: &str| SpaConfig::parse(s).unwrap_err().to_string();
    assert!(e("pmem,path=/x,size=2M").contains("expected a range type"));
    assert!(e("path=/x,size=2M").contains("expected a range type"));
    assert!(e("volatile,path=/x,size=2M").contains("needs dimm=N"));
    assert!(e("vdisk,dimm=1,path=/x,size=2M").contains("mapped by no DIMM"));
    assert!(e("volatile,dimm=0,path=/x,size=2M").contains("dimm=0"));
    assert!(e("volatile,dimm=17,path=/x,size=2M").contains("dimm=17"));
    assert!(e("vdisk,path=/x,size=3M").contains("multiple of 2M"));
    assert!(e("vdisk,path=/x,size=0").contains("multiple of 2M"));
    assert!(e("vdisk,size=2M").contains("path=FILE"));
    assert!(e("vdisk,path=/x,size=2M,label-size=128K").contains("unknown key"));
    // Without size=, the existing file's.
    let f = tmp("spa-existing.img");
    std::fs::write(&f, vec![0u8; 2 << 20]).unwrap();
    let s = SpaConfig::parse(&format!("vdisk,path={}", f.display())).unwrap();
    assert_eq!(s.size, 2 << 20);
    assert!(s.check_file().unwrap());
    let bigger = SpaConfig { size: 4 << 20, ..s };
    assert!(bigger.check_file().is_err());
    std::fs::remove_file(&f).unwrap();
    // Placement: a volatile range needs its DIMM.
    let (dimms, _) = place(&[NvdimmConfig::parse("path=/a,size=256M").unwrap()]).unwrap();
    let v = SpaConfig::parse("volatile,dimm=2,path=/v,size=2M").unwrap();
    assert!(place_spas(&[v], &dimms)
        .unwrap_err()
        .to_string()
        .contains("no such --nvdimm"));
    let many: Vec<_> = (0..=MAX_SPAS)
        .map(|i| SpaConfig::parse(&format!("vdisk,path=/d{i},size=2M")).unwrap())
        .collect();
    assert!(matches!(
        place_spas(&many, &dimms),
        Err(ConfigError::TooManySpas)
    ));
}

#[test]
fn dimm_without_acpi_device() {
    let d = NvdimmConfig::parse("path=/x,size=4M,acpi-device=off").unwrap();
    assert!(!d.acpi_device);
    assert!(NvdimmConfig::parse("path=/x,size=4M").unwrap().acpi_device);
    let e = |s: &str| NvdimmConfig::parse(s).unwrap_err().to_string();
    assert!(e("path=/x,size=4M,acpi-device=off,intel=on").contains("intel=on"));
    assert!(
        e("path=/x,size=4M,label-size=128K,acpi-device=off,label-methods=on")
            .contains("label-methods=")
    );
    assert!(IntelOption::parse("1").unwrap().apply(&d).is_err());
}

#[test]
fn interleave_sets() {
    let nv = |s: &str| NvdimmConfig::parse(s).unwrap();
    let e = |s: &str| NvdimmConfig::parse(s).unwrap_err().to_string();
    assert_eq!(nv("path=/a,size=4M,set=1").set, Some(1));
    assert_eq!(nv("path=/a,size=4M,set=8").set, Some(8));
    assert_eq!(nv("path=/a,size=4M").set, None);
    for bad in ["0", "9", "-1", "x", "", "256"] {
        assert!(
            e(&format!("path=/a,size=4M,set={bad}")).contains("1 to 8"),
            "{bad}"
        );
    }
    let a = nv("path=/a,size=256M,label-size=128K,set=2");
    let b = nv("path=/b,size=256M,label-size=128K,set=2");
    let c = nv("path=/c,size=64M");
    let (p, end) = place(&[c.clone(), a.clone(), b.clone(), c.clone()]).unwrap();
    // The set's first DIMM on the next boundary, the second right after
    // its persistent part (the label areas are not mapped), the next DIMM
    // on the boundary after the pair.
    assert_eq!(p[1].address, DEVICE_MEMORY_BASE + (128 << 20));
    assert_eq!(p[2].address, p[1].address + (256 << 20));
    assert_eq!(p[3].address, p[2].address + (256 << 20));
    assert_eq!(end, p[3].address + (128 << 20));
    assert_eq!(
        (p[1].mapped_size(), p[0].mapped_size()),
        (256 << 20, 64 << 20)
    );
    let first = p[1].set.unwrap();
    let second = p[2].set.unwrap();
    assert_eq!((first.position, second.position), (0, 1));
    assert_eq!((first.number, first.range_index), (2, 4));
    assert_eq!((first.base, first.length), (p[1].address, 512 << 20));
    assert_eq!(second.range_index, first.range_index);
    assert_eq!((first.region_offset(), second.region_offset()), (0, 4096));
    assert_eq!(p[0].set, None);
    let err = |d: &[NvdimmConfig]| place(d).unwrap_err().to_string();
    assert!(err(std::slice::from_ref(&a)).contains("2 --nvdimm options, found 1"));
    assert!(err(&[a.clone(), b.clone(), a.clone()]).contains("found 3"));
    assert!(err(&[a.clone(), c.clone(), b.clone()]).contains("consecutive"));
    let small = nv("path=/s,size=128M,set=2");
    assert!(err(&[a.clone(), small]).contains("same size"));
    // Two sets side by side.
    let x = nv("path=/x,size=4M,set=1");
    let (p, _) = place(&[a, b, x.clone(), x]).unwrap();
    assert_eq!(p[2].set.unwrap().range_index, 6);
    assert_eq!(p[3].address, p[2].address + (4 << 20));
}

#[test]
fn read_only_label_methods_and_zero_uuid() {
    let m = NvdimmConfig::parse("path=/x,size=4M,label-size=128K,label-methods=ro,zero-uuid=on")
        .unwrap();
    assert_eq!(m.label_methods, LabelMethods::Ro);
    assert!(m.label_methods.methods() && !m.label_methods.writes() && !m.label_methods.dsm());
    assert!(m.zero_uuid);
    assert!(!NvdimmConfig::parse("path=/x,size=4M").unwrap().zero_uuid);
    let e = |s: &str| NvdimmConfig::parse(s).unwrap_err().to_string();
    assert!(e("path=/x,size=4M,label-methods=ro").contains("label area"));
    assert!(e("path=/x,size=4M,label-size=128K,intel=on,label-methods=ro").contains("Microsoft"));
    assert!(e("path=/x,size=4M,acpi-device=off,zero-uuid=on").contains("zero-uuid=on"));
    assert!(e("path=/x,size=4M,zero-uuid=maybe").contains("on or off"));
}
