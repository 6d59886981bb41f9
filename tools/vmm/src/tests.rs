// SPDX-License-Identifier: GPL-2.0
//! Tests of `main.rs`.

use super::*;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nvdimm-vmm-main-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn cli(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from([&["nvdimm-vmm"], args].concat())
}

#[test]
fn bad_values_are_rejected_with_clear_errors() {
    let e = |a: &[&str]| cli(a).unwrap_err().to_string();
    assert!(e(&["--nvdimm", "path=/x,size=1M"]).contains("multiple of 2M"));
    assert!(e(&["--kernel", "k", "--nvdimm", "path=/x,size=4M,label-size=4K"]).contains("128K"));
    assert!(e(&["--nvdimm", "path=/x,size=4M"]).contains("--kernel"));
    assert!(e(&["--kernel", "k", "--doorbell-port", "0x80"]).contains("used by the platform"));
    assert!(e(&["--kernel", "k", "-m", "lots"]).contains("not a size"));
}

#[test]
fn nothing_is_created_on_error() {
    let d = dir("noerr");
    let kernel = d.join("bzImage");
    std::fs::write(&kernel, b"k").unwrap();
    let a = d.join("a.img");
    let small = d.join("small.img");
    std::fs::write(&small, [1u8; 100]).unwrap();
    let k = kernel.display().to_string();
    let dimm_a = format!("path={},size=4M,label-size=128K", a.display());
    let dimm_small = format!("path={},size=4M", small.display());
    // A too-small second file: the first, missing one is not created.
    let c = cli(&["--kernel", &k, "--nvdimm", &dimm_a, "--nvdimm", &dimm_small]).unwrap();
    assert!(prepare(&c).unwrap_err().to_string().contains("too small"));
    assert!(!a.exists());
    assert_eq!(std::fs::read(&small).unwrap(), [1u8; 100]);
    // A missing kernel.
    let c = cli(&["--kernel", "/nonexistent/bzImage", "--nvdimm", &dimm_a]).unwrap();
    assert!(prepare(&c).unwrap_err().to_string().contains("--kernel"));
    assert!(!a.exists());
    // The same file twice; too much memory; a malformed class without DIMMs.
    let c = cli(&["--kernel", &k, "--nvdimm", &dimm_a, "--nvdimm", &dimm_a]).unwrap();
    assert!(prepare(&c).unwrap_err().to_string().contains("two NVDIMMs"));
    let c = cli(&["--kernel", &k, "-m", "8G", "--nvdimm", &dimm_a]).unwrap();
    assert!(prepare(&c).unwrap_err().to_string().contains("--memory"));
    let c = cli(&[
        "--kernel",
        &k,
        "--nvdimm",
        &dimm_a,
        "--malformed-nfit",
        "spa-overlap",
    ])
    .unwrap();
    assert!(prepare(&c).unwrap_err().to_string().contains("two NVDIMMs"));
    assert!(!a.exists());
    // All good: the file appears, at its full size.
    let state = d.join("state");
    let c = cli(&[
        "--kernel",
        &k,
        "--nvdimm",
        &dimm_a,
        "--state-dir",
        &state.display().to_string(),
    ])
    .unwrap();
    let Prepared {
        launch: l,
        nfit,
        ssdt,
        ..
    } = prepare(&c).unwrap();
    assert_eq!(
        std::fs::metadata(&a).unwrap().len(),
        (4 << 20) + (128 << 10)
    );
    assert_eq!(&nfit[..4], b"NFIT");
    assert_eq!(&ssdt[..4], b"SSDT");
    assert_eq!(l.dimms[0].address, config::DEVICE_MEMORY_BASE);
}

#[test]
fn ocxlpmem_files_are_checked_first() {
    let d = dir("ocxl");
    let kernel = d.join("bzImage");
    std::fs::write(&kernel, b"k").unwrap();
    let k = kernel.display().to_string();
    let card = d.join("card.img");
    let a = d.join("a.img");
    let spec = format!("path={},size=512M", card.display());
    let dimm = format!("path={},size=4M", a.display());
    // Bad values are usage errors.
    let e = cli(&["--kernel", &k, "--ocxlpmem", "path=/x,size=300M"]).unwrap_err();
    assert!(e.to_string().contains("multiple of 128M"), "{e}");
    // A card sharing a DIMM's file: nothing created.
    let same = format!("path={},size=512M", a.display());
    let c = cli(&["--kernel", &k, "--nvdimm", &dimm, "--ocxlpmem", &same]).unwrap();
    assert!(prepare(&c).unwrap_err().to_string().contains("--ocxlpmem"));
    assert!(!a.exists());
    // A wrong-sized existing card file: the DIMM is not created either.
    std::fs::write(&card, [3u8; 10]).unwrap();
    let c = cli(&["--kernel", &k, "--nvdimm", &dimm, "--ocxlpmem", &spec]).unwrap();
    assert!(prepare(&c).unwrap_err().to_string().contains("too small"));
    assert!(!a.exists());
    assert_eq!(std::fs::read(&card).unwrap(), [3u8; 10]);
    std::fs::remove_file(&card).unwrap();
    // All good: the card file appears at its size; QEMU gets the device.
    let state = d.join("state").display().to_string();
    let c = cli(&["--kernel", &k, "--ocxlpmem", &spec, "--state-dir", &state]).unwrap();
    let p = prepare(&c).unwrap();
    assert_eq!(std::fs::metadata(&card).unwrap().len(), 512 << 20);
    let args = p.launch.args().join(" ");
    assert!(
        args.contains("ivshmem-doorbell,id=ocxlpmem0,chardev=nvocxl,vectors=2,addr=0x11"),
        "{args}"
    );
    assert!(
        args.contains("pc-dimm,id=nvocxld,memdev=nvocxlmem,addr=0x1040000000"),
        "{args}"
    );
    // DIMMs whose hotplug room would reach the card: refused.
    let c = cli(&[
        "--kernel",
        &k,
        "--ocxlpmem",
        &spec,
        "--hotplug-slots",
        "8",
        "--nvdimm",
        &format!("path={},size=50G", a.display()),
    ])
    .unwrap();
    assert!(prepare(&c).unwrap_err().to_string().contains("64 GiB"));
    assert!(!a.exists());
}
