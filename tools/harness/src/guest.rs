// SPDX-License-Identifier: GPL-2.0
//! Launches one QEMU guest and supervises it: the serial console is copied
//! to a log (and optionally to stdout), a second serial port carries the
//! scenario's result lines, and the end of the guest is classified as a
//! power-off, a kernel panic, a timeout or a QEMU failure.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::scenario::NvdimmSpec;

/// How a guest ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The guest powered off (QEMU exited with status 0).
    PowerOff,
    /// The kernel panicked (seen on the console).
    Panic,
    /// The guest did not power off within the timeout and was killed.
    Timeout,
    /// QEMU itself failed (bad arguments, missing files).
    QemuError(String),
}

/// Which accelerator runs the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Tcg,
    Kvm,
}

impl Accel {
    /// KVM only where the host has real hardware virtualization: `/dev/kvm`
    /// alone is not enough (a software-emulated hypervisor can provide it,
    /// and Linux guests then do not boot in useful time).
    pub fn detect(arch: &str) -> Accel {
        if arch != "x86_64" || !Path::new("/dev/kvm").exists() {
            return Accel::Tcg;
        }
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let hw = cpuinfo
            .lines()
            .filter(|l| l.starts_with("flags"))
            .any(|l| l.split_whitespace().any(|f| f == "vmx" || f == "svm"));
        if hw {
            Accel::Kvm
        } else {
            Accel::Tcg
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Accel::Tcg => "tcg",
            Accel::Kvm => "kvm",
        }
    }
}

/// An NVDIMM backed by a host file, served by QEMU's native model.
#[derive(Debug, Clone)]
pub struct Nvdimm {
    pub spec: NvdimmSpec,
    pub file: PathBuf,
}

impl Nvdimm {
    /// Bytes of the backing file: QEMU x86 keeps the label area at its end.
    pub fn file_size(&self) -> u64 {
        self.spec.size + self.spec.label_size
    }

    /// Creates the (sparse) backing file if it does not exist yet; an
    /// existing file of another size is an error, never truncated.
    pub fn ensure_file(&self) -> Result<(), String> {
        match std::fs::metadata(&self.file) {
            Ok(m) if m.len() == self.file_size() => Ok(()),
            Ok(m) => Err(format!(
                "{}: is {} bytes, expected {}",
                self.file.display(),
                m.len(),
                self.file_size()
            )),
            Err(_) => File::create_new(&self.file)
                .and_then(|f| f.set_len(self.file_size()))
                .map_err(|e| format!("{}: {e}", self.file.display())),
        }
    }
}

/// Everything needed to boot one guest.
#[derive(Debug, Clone)]
pub struct GuestConfig {
    pub arch: String,
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    pub cmdline: String,
    pub nvdimms: Vec<Nvdimm>,
    pub memory_mib: u64,
    pub timeout: Duration,
    pub console_log: PathBuf,
    pub results: PathBuf,
    /// Copy the console to stdout while the guest runs.
    pub echo: bool,
}

/// What a finished guest left behind.
#[derive(Debug)]
pub struct GuestRun {
    pub outcome: Outcome,
    pub accel: Accel,
    pub elapsed: Duration,
}

fn qemu_args(cfg: &GuestConfig, accel: Accel) -> Result<(String, Vec<String>), String> {
    // The console and the port that carries the scenario's result lines.
    let (bin, mut args, console, results_dev) = match cfg.arch.as_str() {
        "x86_64" => (
            "qemu-system-x86_64",
            vec![
                "-machine".into(),
                "pc,nvdimm=on".into(),
                "-m".into(),
                format!("{}M,slots=4,maxmem=16G", cfg.memory_mib),
            ],
            "ttyS0",
            "/dev/ttyS1",
        ),
        a => {
            return Err(format!(
                "architecture '{a}' is not supported by the harness yet"
            ))
        }
    };
    args.extend(
        [
            "-accel",
            accel.name(),
            "-smp",
            "1",
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-no-reboot",
            "-serial",
            "stdio",
        ]
        .map(String::from),
    );
    args.push("-serial".into());
    args.push(format!("file:{}", cfg.results.display()));
    for (i, nv) in cfg.nvdimms.iter().enumerate() {
        args.push("-object".into());
        args.push(format!(
            "memory-backend-file,id=nvmem{i},share=on,mem-path={},size={}",
            nv.file.display(),
            nv.file_size()
        ));
        let mut dev = format!("nvdimm,id=nvdimm{i},memdev=nvmem{i}");
        if nv.spec.label_size != 0 {
            dev += &format!(",label-size={}", nv.spec.label_size);
        }
        if nv.spec.unarmed {
            dev += ",unarmed=on";
        }
        args.push("-device".into());
        args.push(dev);
    }
    args.extend([
        "-kernel".into(),
        cfg.kernel.display().to_string(),
        "-initrd".into(),
        cfg.initrd.display().to_string(),
        "-append".into(),
        format!(
            "console={console} results={results_dev} panic=-1 {}",
            cfg.cmdline
        ),
    ]);
    Ok((bin.to_string(), args))
}

/// Boots the guest and waits for it to end.
pub fn run(cfg: &GuestConfig) -> Result<GuestRun, String> {
    for f in [&cfg.kernel, &cfg.initrd] {
        if !f.exists() {
            return Err(format!(
                "{} does not exist (run 'make initramfs')",
                f.display()
            ));
        }
    }
    for nv in &cfg.nvdimms {
        nv.ensure_file()?;
    }
    let accel = Accel::detect(&cfg.arch);
    let (bin, args) = qemu_args(cfg, accel)?;
    File::create(&cfg.results).map_err(|e| format!("{}: {e}", cfg.results.display()))?;
    let mut log = File::create(&cfg.console_log)
        .map_err(|e| format!("{}: {e}", cfg.console_log.display()))?;
    writeln!(log, "# {bin} {}", args.join(" ")).map_err(|e| e.to_string())?;

    let start = Instant::now();
    let mut child = Command::new(&bin)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {bin}: {e} (run 'make setup')"))?;

    let panicked = Arc::new(AtomicBool::new(false));
    let stdout = child.stdout.take().ok_or("no QEMU stdout")?;
    let echo = cfg.echo;
    let seen_panic = panicked.clone();
    let console = std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            let text = String::from_utf8_lossy(&line);
            if text.contains("Kernel panic - not syncing") {
                seen_panic.store(true, Ordering::SeqCst);
            }
            let _ = log.write_all(&line);
            if echo {
                print!("{text}");
                let _ = std::io::stdout().flush();
            }
            line.clear();
        }
    });
    let stderr = child.stderr.take().ok_or("no QEMU stderr")?;
    let errors = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut s);
        s
    });

    let outcome = loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let _ = console.join();
                let err = errors.join().unwrap_or_default();
                if panicked.load(Ordering::SeqCst) {
                    break Outcome::Panic;
                } else if status.success() {
                    break Outcome::PowerOff;
                }
                break Outcome::QemuError(format!("{bin} exited with {status}: {}", err.trim()));
            }
            Ok(None) if start.elapsed() > cfg.timeout => {
                // Our own child, ended by pid through its handle.
                let _ = child.kill();
                let _ = child.wait();
                let _ = console.join();
                break Outcome::Timeout;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(format!("waiting for {bin}: {e}")),
        }
    };
    Ok(GuestRun {
        outcome,
        accel,
        elapsed: start.elapsed(),
    })
}

/// Reads a file that may not exist yet as text.
pub fn read_lossy(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}
