// SPDX-License-Identifier: GPL-2.0
//! The `nvdimm-vmm` binary as a user meets it: exit codes, messages, and
//! nothing created when the command line is wrong.

use std::path::PathBuf;
use std::process::Command;

fn vmm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nvdimm-vmm"))
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nvdimm-vmm-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn bad_command_lines_exit_2_and_create_nothing() {
    let d = dir("bad");
    let kernel = d.join("bzImage");
    std::fs::write(&kernel, b"not really a kernel").unwrap();
    let img = d.join("d.img");
    // IMG stands for the backing file's path.
    let cases: [(&[&str], &str); 7] = [
        (&["--nvdimm", "path=IMG,size=3M"], "multiple of 2M"),
        (&["--nvdimm", "path=IMG,size=4M,label-size=64K"], "128K"),
        (
            &["--nvdimm", "path=IMG,size=4M", "--memory", "16G"],
            "--memory",
        ),
        (
            &["--nvdimm", "path=IMG,size=4M", "--doorbell-port", "0x70"],
            "used by the platform",
        ),
        (&["--ocxlpmem", "path=IMG,size=200M"], "multiple of 128M"),
        (&["--ocxlpmem", "path=IMG,size=512M,vectors=64"], "1 to 32"),
        (
            &["--ocxlpmem", "path=IMG,size=512M", "--memory", "16G"],
            "--memory",
        ),
    ];
    for (extra, want) in cases {
        let mut args: Vec<String> = vec!["--kernel".into(), kernel.display().to_string()];
        args.extend(
            extra
                .iter()
                .map(|a| a.replace("IMG", &img.display().to_string())),
        );
        let out = vmm().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: '{err}' lacks '{want}'");
        assert!(!img.exists(), "{args:?} created the backing file");
    }
    let out = vmm()
        .args(["--kernel", "/nonexistent/bzImage", "--nvdimm"])
        .arg(format!("path={},size=4M", img.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--kernel"));
    assert!(!img.exists());
}

#[test]
fn dry_run_prints_the_qemu_command_and_writes_tables() {
    let d = dir("dry");
    let kernel = d.join("bzImage");
    std::fs::write(&kernel, b"k").unwrap();
    let img = d.join("d.img");
    let state = d.join("state");
    let out = vmm()
        .args([
            "--kernel",
            &kernel.display().to_string(),
            "--dry-run",
            "--hotplug-slots",
            "1",
        ])
        .arg("--nvdimm")
        .arg(format!("path={},size=4M,label-size=128K", img.display()))
        .arg("--state-dir")
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cmd = String::from_utf8_lossy(&out.stdout);
    assert!(cmd.starts_with("qemu-system-x86_64 -machine pc "), "{cmd}");
    assert!(
        cmd.contains("pc-dimm,id=nvdimm0,memdev=nvmem0,addr=0x100000000"),
        "{cmd}"
    );
    assert_eq!(
        std::fs::metadata(&img).unwrap().len(),
        (4 << 20) + (128 << 10)
    );
    let nfit = std::fs::read(state.join("nfit.aml")).unwrap();
    let ssdt = std::fs::read(state.join("ssdt.aml")).unwrap();
    assert_eq!(&nfit[..4], b"NFIT");
    assert_eq!(&ssdt[..4], b"SSDT");
    for t in [&nfit, &ssdt] {
        assert_eq!(t.iter().fold(0u8, |s, b| s.wrapping_add(*b)), 0, "checksum");
    }
}
