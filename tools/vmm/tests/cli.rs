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
    let cases: [(&[&str], &str); 10] = [
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
        (&["--nvdimm", "path=IMG,size=4M,set=1"], "found 1"),
        (&["--nvdimm", "path=IMG,size=4M,set=9"], "1 to 8"),
        (
            &[
                "--nvdimm",
                "path=IMG,size=4M,set=1",
                "--nvdimm",
                "path=IMG.b,size=8M,set=1",
            ],
            "same size",
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
    // The Intel family: a malformed state file, keys without intel=on,
    // a --nvdimm-intel for no DIMM.
    let state = d.join("state.json");
    std::fs::write(&state, b"{\"smart\":{\"spares\":\"lots\"}}").unwrap();
    let st = state.display().to_string();
    let spec = format!("path={},size=4M", img.display());
    for (args, want) in [
        (
            vec![
                "--nvdimm".to_string(),
                format!("{spec},intel=on,state={st}"),
            ],
            "state.json",
        ),
        (
            vec![
                "--nvdimm".into(),
                spec.clone(),
                "--nvdimm-intel".into(),
                format!("1,state={st}"),
            ],
            "not an Intel DIMM state file",
        ),
        (
            vec!["--nvdimm".into(), format!("{spec},state={st}")],
            "needs intel=on",
        ),
        (
            vec![
                "--nvdimm".into(),
                spec.clone(),
                "--nvdimm-intel".into(),
                "2".into(),
            ],
            "--nvdimm-intel 2",
        ),
        (
            vec![
                "--nvdimm".into(),
                spec.clone(),
                "--nvdimm-intel".into(),
                "1,colour=red".into(),
            ],
            "unknown key",
        ),
    ] {
        let out = vmm()
            .arg("--kernel")
            .arg(&kernel)
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: '{err}' lacks '{want}'");
        assert!(!img.exists(), "{args:?} created the backing file");
    }
    assert_eq!(
        std::fs::read(&state).unwrap(),
        b"{\"smart\":{\"spares\":\"lots\"}}"
    );
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

/// A kernel file and the arguments that boot it with one small NVDIMM.
fn machine(d: &std::path::Path) -> Vec<String> {
    let kernel = d.join("bzImage");
    std::fs::write(&kernel, b"k").unwrap();
    vec![
        "--kernel".into(),
        kernel.display().to_string(),
        "--quiet".into(),
        "--nvdimm".into(),
        format!("path={},size=4M", d.join("d.img").display()),
    ]
}

/// A stand-in for QEMU: a shell script (it gets QEMU's arguments and the
/// VMM's environment).
/// A script standing in for QEMU. It is written by a child shell, not by
/// this process: a file this process held open for writing would be
/// inherited by every child another test thread forks in the meantime
/// (until that child's exec), and exec of the script would then fail with
/// ETXTBSY.
fn fake_qemu(d: &std::path::Path, body: &str) -> PathBuf {
    let p = d.join("fake-qemu");
    let st = Command::new("sh")
        .args([
            "-c",
            r#"printf '#!/bin/sh\n%s\n' "$1" >"$2" && chmod 755 "$2""#,
        ])
        .arg("sh")
        .arg(body)
        .arg(&p)
        .status()
        .unwrap();
    assert!(st.success(), "writing {}: {st}", p.display());
    p
}

fn entries(d: &std::path::Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn default_state_dir_is_fresh_and_private() {
    use std::os::unix::fs::PermissionsExt;
    let d = dir("state");
    let tmp = d.join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    for _ in 0..2 {
        let out = vmm()
            .args(machine(&d))
            .arg("--dry-run")
            .env("TMPDIR", &tmp)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
    }
    let made = entries(&tmp);
    assert_eq!(made.len(), 2, "{made:?}");
    for s in &made {
        let m = std::fs::symlink_metadata(s).unwrap();
        assert!(m.is_dir());
        assert_eq!(m.permissions().mode() & 0o777, 0o700, "{}", s.display());
        assert!(s.join("nfit.aml").is_file());
    }
    assert_ne!(made[0], made[1]);
    // No directory to make it in: an error, never a directory made on
    // the way.
    let missing = d.join("missing");
    let out = vmm()
        .args(machine(&d))
        .arg("--dry-run")
        .env("TMPDIR", &missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(!missing.exists());
}

#[test]
fn explicit_state_dir_must_be_private() {
    let d = dir("explicit");
    let real = d.join("real");
    std::fs::create_dir(&real).unwrap();
    let link = d.join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let out = vmm()
        .args(machine(&d))
        .args(["--dry-run", "--state-dir"])
        .arg(&link)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("symlink"));
    assert!(entries(&real).is_empty());
    assert!(!d.join("d.img").exists(), "nothing created");
}

/// nvdimm-vmm on the test machine of `d`, with `--control ctl`.
fn with_control(d: &std::path::Path, ctl: &std::path::Path) -> Command {
    let mut c = vmm();
    c.args(machine(d)).arg("--control").arg(ctl);
    c
}

/// Runs `c`, which must refuse its command line (exit 2); its stderr.
fn refused(c: &mut Command) -> String {
    let out = c.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    err
}

#[test]
fn control_path_that_is_not_a_socket_is_refused() {
    let d = dir("ctlfile");
    let ctl = d.join("precious.txt");
    std::fs::write(&ctl, b"precious").unwrap();
    let err = refused(&mut with_control(&d, &ctl));
    assert!(err.contains("not a socket"), "{err}");
    assert_eq!(std::fs::read(&ctl).unwrap(), b"precious");
    assert!(!d.join("d.img").exists(), "nothing created");
}

#[test]
fn live_control_socket_is_refused_and_a_stale_one_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let d = dir("ctllive");
    let ctl = d.join("control.sock");
    let live = std::os::unix::net::UnixListener::bind(&ctl).unwrap();
    let err = refused(&mut with_control(&d, &ctl));
    assert!(err.contains("answers"), "{err}");
    assert!(std::fs::symlink_metadata(&ctl)
        .unwrap()
        .file_type()
        .is_socket());
    // Gone stale: replaced by ours, mode 0600 while QEMU runs, removed
    // at the end.
    drop(live);
    // Another test's child holds a copy of the listener from its fork to
    // its exec (close-on-exec closes it only then): under load that can
    // outlast the drop, and the socket would still answer. Wait until it
    // refuses.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::os::unix::net::UnixStream::connect(&ctl).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "the dropped listener still answers"
        );
        std::thread::yield_now();
    }
    let mode = d.join("mode");
    let qemu = fake_qemu(&d, r#"stat -c %a "$CTL" >"$MODE"; exit 1"#);
    let out = with_control(&d, &ctl)
        .arg("--qemu")
        .arg(&qemu)
        .env("CTL", &ctl)
        .env("MODE", &mode)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    assert_eq!(std::fs::read_to_string(&mode).unwrap().trim(), "600");
    assert!(!ctl.exists(), "our socket is removed at exit");
}

#[test]
fn control_socket_replaced_behind_our_back_is_left_alone() {
    let d = dir("ctlswap");
    let ctl = d.join("control.sock");
    let qemu = fake_qemu(&d, r#"rm -f "$CTL"; echo mine >"$CTL"; exit 1"#);
    let out = with_control(&d, &ctl)
        .arg("--qemu")
        .arg(&qemu)
        .env("CTL", &ctl)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    assert_eq!(std::fs::read_to_string(&ctl).unwrap(), "mine\n");
}

#[test]
fn console_log_is_not_truncated_without_force() {
    let d = dir("log");
    let log = d.join("console.log");
    std::fs::write(&log, b"precious").unwrap();
    let qemu = fake_qemu(&d, "exit 1");
    let run = |extra: &[&str]| {
        vmm()
            .args(machine(&d))
            .arg("--console-log")
            .arg(&log)
            .arg("--qemu")
            .arg(&qemu)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(std::fs::read(&log).unwrap(), b"precious");
    assert!(!d.join("d.img").exists(), "nothing created");
    let out = run(&["--force"]);
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.starts_with("# "), "{text}");
}

#[test]
fn stop_signals_stop_qemu_and_remove_the_state_dir() {
    use std::io::BufRead;
    let d = dir("signal");
    let tmp = d.join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    // Runs until it is killed; says so first, with its pid.
    let qemu = fake_qemu(&d, r#"echo "fake-qemu $$"; exec sleep 600"#);
    for (sig, code) in [("TERM", 143), ("INT", 130)] {
        let mut args = machine(&d);
        args.retain(|a| a != "--quiet");
        let mut child = vmm()
            .args(&args)
            .arg("--qemu")
            .arg(&qemu)
            .env("TMPDIR", &tmp)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let qemu_pid = loop {
            let line = lines.next().expect("the fake QEMU's line").unwrap();
            if let Some(p) = line.strip_prefix("fake-qemu ") {
                break p.trim().to_string();
            }
        };
        assert_eq!(entries(&tmp).len(), 1, "the state directory exists");
        let kill = Command::new("kill")
            .args([format!("-{sig}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "SIG{sig}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(entries(&tmp).is_empty(), "SIG{sig}: state directory left");
        assert!(
            !PathBuf::from(format!("/proc/{qemu_pid}")).exists(),
            "SIG{sig}: QEMU {qemu_pid} still runs"
        );
    }
}

#[test]
fn help_states_the_shared_exit_codes() {
    let out = vmm().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for e in nvdimm_testkit::Exit::ALL {
        let said = format!(" {} {},", e.code(), e.meaning());
        assert!(text.contains(&said), "--help lacks '{said}': {text}");
    }
    assert!(
        text.contains("130/143 stopped by SIGINT/SIGTERM."),
        "{text}"
    );
}
