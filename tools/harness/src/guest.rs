// SPDX-License-Identifier: GPL-2.0
//! Launches one QEMU guest and supervises it: the serial console is copied
//! to a log (and optionally to stdout), a second serial port carries the
//! scenario's result lines, and the end of the guest is classified as a
//! power-off, a kernel panic, a timeout or a QEMU failure.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::scenario::{NvdimmSpec, NvdimmSpecError, Platform};

use nvdimm_testkit::qemu::{CommandLine, MemSize, Props};
use nvdimm_testkit::qmp::QmpError;
pub use nvdimm_testkit::{Accel, Outcome};

/// Why a guest could not be configured, started or served.
#[derive(Debug, thiserror::Error)]
pub enum GuestError {
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: is {len} bytes, expected {expected}")]
    FileSize {
        path: PathBuf,
        len: u64,
        expected: u64,
    },
    #[error("{path} does not exist (run 'make initramfs')")]
    NoBootFile { path: PathBuf },
    #[error(
        "nvdimm{index}: '{key}' is served by the test VMM only (QEMU's nvdimm has no such property)"
    )]
    VmmOnly { index: usize, key: String },
    #[error(
        "nvdimm{index}: on pseries the size without the label area must be a multiple of 256M, \
         not {size}"
    )]
    PseriesUnaligned { index: usize, size: u64 },
    #[error("no NVDIMM device for architecture '{0}'")]
    NoNvdimmDevice(String),
    #[error("architecture '{0}' is not supported by the harness yet")]
    UnsupportedArch(String),
    #[error("current_exe: {0}")]
    CurrentExe(#[source] std::io::Error),
    #[error("{path} not found (run 'make tools')")]
    NoVmm { path: PathBuf },
    #[error("the test VMM serves x86_64 guests, not {0}")]
    VmmArch(String),
    #[error("the test VMM has no machine property '{0}'")]
    VmmMachineProperty(String),
    #[error("pmem=on is a QEMU backend property; the test VMM has none")]
    VmmPmem,
    #[error("the test VMM has no NUMA description ('# numa:')")]
    VmmNuma,
    #[error("the test VMM chooses its own CPU model")]
    VmmCpu,
    #[error("machine-check request '{0}': expected BANK STATUS MCG-STATUS ADDR MISC")]
    MceRequest(String),
    #[error("QEMU did not inject the machine check: {0}")]
    MceRefused(String),
    #[error("only 'nvdimm' can be hot-added")]
    HotplugKind,
    #[error(transparent)]
    Spec(#[from] NvdimmSpecError),
    #[error(transparent)]
    Qmp(#[from] QmpError),
    /// Setting up or writing the test VMM's control socket, or writing
    /// the console log's first line.
    #[error(transparent)]
    Io(std::io::Error),
    #[error("test VMM control: {0}")]
    ControlRead(#[source] std::io::Error),
    #[error("test VMM control: '{line}': {source}")]
    ControlReply {
        line: String,
        source: serde_json::Error,
    },
    /// The test VMM refused the request: its `error`, as JSON.
    #[error("test VMM: {0}")]
    ControlRefused(serde_json::Value),
    #[error("cannot start {bin}: {source} (run 'make setup')")]
    Start { bin: String, source: std::io::Error },
    /// QEMU's stdout or stderr was not piped.
    #[error("no QEMU {0}")]
    NoPipe(&'static str),
    #[error("waiting for {bin}: {source}")]
    Wait { bin: String, source: std::io::Error },
    /// The harness got `SIGINT` or `SIGTERM`: the guest was not started,
    /// or was ended.
    #[error("stopped by signal {0}")]
    Stopped(i32),
}

/// `path: error`, for `map_err`.
fn file_error(path: &Path) -> impl FnOnce(std::io::Error) -> GuestError {
    let path = path.to_path_buf();
    move |source| GuestError::File { path, source }
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
    pub fn ensure_file(&self) -> Result<(), GuestError> {
        match std::fs::metadata(&self.file) {
            Ok(m) if m.len() == self.file_size() => Ok(()),
            Ok(m) => Err(GuestError::FileSize {
                path: self.file.clone(),
                len: m.len(),
                expected: self.file_size(),
            }),
            Err(_) => File::create_new(&self.file)
                .and_then(|f| f.set_len(self.file_size()))
                .map_err(file_error(&self.file)),
        }
    }

    /// The DIMM as the test VMM's `--nvdimm` option (and its control
    /// socket's hotplug request) write it.
    pub fn vmm_spec(&self) -> String {
        let mut spec = format!("path={},size={}", self.file.display(), self.spec.size);
        if self.spec.label_size != 0 {
            spec += &format!(",label-size={}", self.spec.label_size);
        }
        if self.spec.unarmed {
            spec += ",unarmed=on";
        }
        for kv in self.spec.vmm_only() {
            spec += &format!(",{kv}");
        }
        spec
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
    /// NUMA nodes and their RAM in MiB (`# numa:`); empty for none.
    pub numa_mib: Vec<u64>,
    /// Extra `-machine` properties (`nvdimm-persistence=cpu`).
    pub machine_props: Vec<String>,
    /// QEMU's CPU model (`# cpu:`) instead of the machine's default.
    pub cpu: Option<String>,
    pub timeout: Duration,
    pub console_log: PathBuf,
    pub results: PathBuf,
    /// Copy the console to stdout while the guest runs.
    pub echo: bool,
    /// QEMU trace events to enable (`-trace enable=EVENT`), logged to `trace_log`.
    pub trace_events: Vec<String>,
    pub trace_log: PathBuf,
    /// The QMP socket of the running guest.
    pub qmp_socket: PathBuf,
    /// Where backing files of NVDIMMs hot-added at the guest's request go.
    pub hotplug_dir: PathBuf,
    /// Who serves the NVDIMMs: QEMU's nvdimm, or the test VMM (which
    /// then runs QEMU itself).
    pub platform: Platform,
    /// The test VMM's malformed NFIT class for this boot.
    pub malformed_nfit: Option<String>,
    /// The test VMM's state directory and control socket.
    pub vmm_dir: PathBuf,
    /// Extra arguments of the test VMM (`# vmm-args:`).
    pub vmm_args: Vec<String>,
}

/// What a finished guest left behind.
#[derive(Debug)]
pub struct GuestRun {
    pub outcome: Outcome,
    pub accel: Accel,
    pub elapsed: Duration,
    /// Hotplug requests of the guest that the harness could not serve.
    pub problems: Vec<String>,
    /// `@@ MARK name` lines of the results port, with the time from launch
    /// to the harness seeing them (20 ms resolution).
    pub marks: Vec<(String, Duration)>,
}

/// The two QEMU objects of one NVDIMM, so that the command line and QMP
/// hotplug describe a DIMM the same way.
#[derive(Debug, Clone, PartialEq)]
struct NvdimmObjects {
    backend: Props,
    device: Props,
}

/// QEMU pseries serves NVDIMM memory in blocks of 256 MiB.
const PSERIES_NVDIMM_ALIGN: u64 = 256 << 20;

/// A stable `uuid=` per DIMM index (pseries needs one): labels and
/// interleave-set cookies must find the same DIMM again after a reboot.
fn nvdimm_uuid(index: usize) -> String {
    format!("6e766469-6d6d-4272-8000-{index:012x}")
}

fn nvdimm_objects(arch: &str, index: usize, nv: &Nvdimm) -> Result<NvdimmObjects, GuestError> {
    if let Some(key) = nv.spec.vmm_only().into_iter().next() {
        return Err(GuestError::VmmOnly { index, key });
    }
    // The label area is carved from the end of the backend on both machines.
    let mut backend =
        Props::shared_file_backend(&format!("nvmem{index}"), &nv.file, nv.file_size());
    if nv.spec.pmem {
        backend.push("pmem", true);
    }
    let driver = match arch {
        "x86_64" => "nvdimm",
        "ppc64le" => {
            if !nv.spec.size.is_multiple_of(PSERIES_NVDIMM_ALIGN) {
                return Err(GuestError::PseriesUnaligned {
                    index,
                    size: nv.spec.size,
                });
            }
            "spapr-nvdimm"
        }
        a => return Err(GuestError::NoNvdimmDevice(a.to_string())),
    };
    let mut device = Props::device(driver)
        .with("id", format!("nvdimm{index}"))
        .with("memdev", format!("nvmem{index}"));
    if nv.spec.label_size != 0 {
        device.push("label-size", nv.spec.label_size);
    }
    if nv.spec.unarmed {
        device.push("unarmed", true);
    }
    if arch == "ppc64le" {
        device.push("uuid", nvdimm_uuid(index));
    }
    if let Some(node) = nv.spec.node {
        device.push("node", u64::from(node));
    }
    Ok(NvdimmObjects { backend, device })
}

/// Seconds the harness waits past the test VMM's own timeout before it
/// kills the VMM (which takes its QEMU with it).
const VMM_GRACE: Duration = Duration::from_secs(20);

/// The `nvdimm-vmm` binary: built with the harness, next to it.
fn vmm_binary() -> Result<PathBuf, GuestError> {
    let exe = std::env::current_exe().map_err(GuestError::CurrentExe)?;
    let vmm = exe.with_file_name("nvdimm-vmm");
    if vmm.is_file() {
        Ok(vmm)
    } else {
        Err(GuestError::NoVmm { path: vmm })
    }
}

/// `# vmm-args:` with `{dir}` replaced by the scenario run's directory
/// (fresh per run, kept across its boots, like the `# nvdimm:` files), so
/// that arguments can name per-run backing files (`--ocxlpmem
/// path={dir}/card.img,size=512M`).
fn expand_vmm_args(args: &[String], dir: &Path) -> Vec<String> {
    let d = dir.display().to_string();
    args.iter().map(|a| a.replace("{dir}", &d)).collect()
}

/// The test VMM's command line for the same guest: the same kernel,
/// initramfs, command line, RAM, DIMMs and results port.
fn vmm_args(cfg: &GuestConfig) -> Result<(String, Vec<String>), GuestError> {
    let args = vmm_arguments(cfg)?;
    Ok((vmm_binary()?.display().to_string(), args))
}

/// The arguments of `nvdimm-vmm` for `cfg` (what [`vmm_args`] runs; also
/// listed by `nvdimm-harness vmm-configs`).
pub fn vmm_arguments(cfg: &GuestConfig) -> Result<Vec<String>, GuestError> {
    if cfg.arch != "x86_64" {
        return Err(GuestError::VmmArch(cfg.arch.clone()));
    }
    let mut args: Vec<String> = vec![
        "--kernel".into(),
        cfg.kernel.display().to_string(),
        "--initrd".into(),
        cfg.initrd.display().to_string(),
        "--append".into(),
        format!("console=ttyS0 results=/dev/ttyS1 panic=-1 {}", cfg.cmdline),
        "--memory".into(),
        format!("{}M", cfg.memory_mib),
        "--results".into(),
        cfg.results.display().to_string(),
        "--timeout".into(),
        cfg.timeout.as_secs().to_string(),
        "--state-dir".into(),
        cfg.vmm_dir.display().to_string(),
        "--control".into(),
        cfg.vmm_dir.join("control.sock").display().to_string(),
        // Where the scenario's hot-added backing files are (the VMM's
        // control socket takes hotplug files only from named directories).
        "--hotplug-dir".into(),
        cfg.hotplug_dir.display().to_string(),
        "--qmp".into(),
        cfg.qmp_socket.display().to_string(),
    ];
    if !cfg.numa_mib.is_empty() {
        return Err(GuestError::VmmNuma);
    }
    if cfg.cpu.is_some() {
        return Err(GuestError::VmmCpu);
    }
    for p in &cfg.machine_props {
        match p.strip_prefix("nvdimm-persistence=") {
            Some(v) => args.extend(["--nvdimm-persistence".into(), v.to_string()]),
            None => return Err(GuestError::VmmMachineProperty(p.clone())),
        }
    }
    for nv in &cfg.nvdimms {
        if nv.spec.pmem {
            return Err(GuestError::VmmPmem);
        }
        args.extend(["--nvdimm".into(), nv.vmm_spec()]);
    }
    match &cfg.malformed_nfit {
        Some(m) => args.extend(["--malformed-nfit".into(), m.clone()]),
        // Room for the scenario's hotplug requests (and so a _FIT, as
        // QEMU's nvdimm has); a malformed campaign tests the static NFIT.
        None => args.extend(["--hotplug-slots".into(), "2".into()]),
    }
    args.extend(expand_vmm_args(&cfg.vmm_args, &cfg.hotplug_dir));
    Ok(args)
}

fn qemu_args(cfg: &GuestConfig, accel: Accel) -> Result<(String, Vec<String>), GuestError> {
    if cfg.platform == Platform::Vmm {
        return vmm_args(cfg);
    }
    // The console and the port that carries the scenario's result lines
    // (on pseries, `-serial` ports become spapr-vty devices: hvc0, hvc1).
    let (bin, mut machine, cpu, console, results_dev) = match cfg.arch.as_str() {
        "x86_64" => (
            "qemu-system-x86_64",
            Props::machine("pc").with("nvdimm", true),
            None,
            "ttyS0",
            "/dev/ttyS1",
        ),
        // The default CPU model makes Debian's ppc64el ndctl die with
        // SIGILL under TCG, and POWER10 is out of reach (see powerpc.rst).
        // VOF, QEMU's minimal firmware for a kernel it loads itself,
        // instead of SLOF: SLOF takes 10 to 20 s of TCG time before the
        // kernel starts, VOF under one.
        "ppc64le" => (
            "qemu-system-ppc64",
            Props::machine("pseries").with("x-vof", true),
            Some("POWER9"),
            "hvc0",
            "/dev/hvc1",
        ),
        // PowerNV: QEMU's skiboot.lid boots the kernel; its console is
        // the OPAL console, hvc0, and the only line (see `powernv_serial`).
        "powernv" => (
            "qemu-system-ppc64",
            Props::machine("powernv9"),
            Some("POWER9"),
            "hvc0",
            "",
        ),
        a => return Err(GuestError::UnsupportedArch(a.to_string())),
    };
    for p in &cfg.machine_props {
        // Scenario headers have only `key=value`; a bare key is QEMU's `key=on`.
        match p.split_once('=') {
            Some((k, v)) => machine.push(k, v),
            None => machine.push(p.as_str(), true),
        };
    }
    let mut c = CommandLine::new();
    c.machine(&machine);
    if let Some(model) = cfg.cpu.as_deref().or(cpu) {
        c.cpu(model);
    }
    c.memory(cfg.memory_mib, Some((4, MemSize::GiB(16))))
        .accel(accel.name())
        .smp(1);
    if cfg.arch == "powernv" {
        powernv_serial(&mut c, &cfg.results);
    } else {
        c.headless().serial_file(&cfg.results);
    }
    c.qmp(&cfg.qmp_socket);
    if cfg.arch == "powernv" {
        powernv_bmc(&mut c);
    }
    if cfg.arch == "ppc64le" {
        // VOF, unlike SLOF, leaves the NVRAM unformatted, and the kernel
        // warns about a 0-length partition: give it one formatted by
        // `run` (see `nvram_image`).
        c.args([
            "-drive".to_string(),
            format!(
                "file={},if=none,id=nvram,format=raw",
                nvram_path(cfg).display()
            ),
            "-global".to_string(),
            "spapr-nvram.drive=nvram".to_string(),
        ]);
    }
    if !cfg.trace_events.is_empty() {
        for ev in &cfg.trace_events {
            c.trace_event(ev);
        }
        c.log_file(&cfg.trace_log);
    }
    // NUMA nodes: the RAM of each from its own backend (QEMU wants every
    // node's memory from a memdev), the CPU on node 0.
    for (i, mib) in cfg.numa_mib.iter().enumerate() {
        let mut node = Props::numa_node().with("nodeid", i as u64);
        if i == 0 {
            node.push("cpus", 0u64);
        }
        if *mib != 0 {
            c.object(
                &Props::object("memory-backend-ram")
                    .with("id", format!("ram{i}"))
                    .with("size", mib << 20),
            );
            node.push("memdev", format!("ram{i}"));
        }
        c.numa(&node);
    }
    for (i, nv) in cfg.nvdimms.iter().enumerate() {
        let o = nvdimm_objects(&cfg.arch, i, nv)?;
        c.object(&o.backend).device(&o.device);
    }
    // Without a results port, /init's emit() puts every record on the
    // console, which QEMU copies to the results file.
    let results = match results_dev {
        "" => String::new(),
        dev => format!(" results={dev}"),
    };
    c.kernel(&cfg.kernel).initrd(&cfg.initrd).append(&format!(
        "console={console}{results} panic=-1 {}",
        cfg.cmdline
    ));
    Ok((bin.to_string(), c.into_args()))
}

/// [`HEADLESS`](nvdimm_testkit::qemu::HEADLESS) for PowerNV, with one
/// serial line. QEMU's powernv puts skiboot's console on the last
/// `-serial` and leaves the other ports' LPC I/O unmapped in Linux (the
/// 8250 probe of a second port oopses), so the scenario's records share
/// the console: its chardev also logs to `results`, which the harness
/// reads as it reads a results port (lines not starting with `@@ ` are
/// ignored there).
fn powernv_serial(c: &mut CommandLine, results: &Path) {
    c.args([
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-no-reboot",
    ])
    .args([
        "-chardev".to_string(),
        format!(
            "stdio,id=console,logfile={},logappend=off",
            results.display()
        ),
        "-serial".to_string(),
        "chardev:console".to_string(),
    ]);
}

/// The BMC that `-nodefaults` leaves out of a PowerNV machine, as QEMU's
/// own warning spells it: skiboot powers the machine off through its IPMI
/// chassis control, so without it the guest's `poweroff -f` never ends QEMU.
fn powernv_bmc(c: &mut CommandLine) {
    c.device(&Props::device("ipmi-bmc-sim").with("id", "bmc0"))
        .device(
            &Props::device("isa-ipmi-bt")
                .with("bmc", "bmc0")
                .with("irq", 10u32),
        );
}

/// Serves the guest's hotplug requests: the scenario writes
/// `@@ HOTPLUG nvdimm <nvdimm header syntax>` to its results port; the
/// harness creates the backing file and hot-adds the backend and the DIMM
/// over QMP. The guest then waits for the new DIMM and region itself.
struct Hotplug {
    /// How far the results file has been read.
    offset: usize,
    /// DIMMs added so far (their indexes follow the boot-time DIMMs').
    added: usize,
    /// `@@ MARK name` lines and when the harness saw them.
    marks: Vec<(String, Duration)>,
    start: Instant,
}

impl Hotplug {
    fn poll(&mut self, cfg: &GuestConfig, problems: &mut Vec<String>) {
        let Ok(bytes) = std::fs::read(&cfg.results) else {
            return;
        };
        let Some(end) = bytes[self.offset.min(bytes.len())..]
            .iter()
            .rposition(|b| *b == b'\n')
            .map(|p| self.offset + p + 1)
        else {
            return;
        };
        let text = String::from_utf8_lossy(&bytes[self.offset..end]).into_owned();
        self.offset = end;
        for line in text.lines() {
            if let Some(m) = line.trim_end_matches('\r').strip_prefix("@@ MARK ") {
                self.marks
                    .push((m.trim().to_string(), self.start.elapsed()));
                continue;
            }
            if let Some(req) = line.trim_end_matches('\r').strip_prefix("@@ MCE ") {
                if let Err(e) = inject_mce(cfg, req) {
                    problems.push(format!("mce '{req}': {e}"));
                }
                continue;
            }
            let Some(req) = line.trim_end_matches('\r').strip_prefix("@@ HOTPLUG ") else {
                continue;
            };
            let index = cfg.nvdimms.len() + self.added;
            self.added += 1;
            if let Err(e) = hotplug(cfg, index, req) {
                problems.push(format!("hotplug '{req}': {e}"));
            }
        }
    }
}

fn hotplug(cfg: &GuestConfig, index: usize, req: &str) -> Result<(), GuestError> {
    let spec = NvdimmSpec::parse(req.strip_prefix("nvdimm ").ok_or(GuestError::HotplugKind)?)?;
    let nv = Nvdimm {
        spec,
        file: cfg.hotplug_dir.join(format!("nvdimm{index}.img")),
    };
    nv.ensure_file()?;
    if cfg.platform == Platform::Vmm {
        return vmm_hotplug(cfg, &nv);
    }
    let o = nvdimm_objects(&cfg.arch, index, &nv)?;
    let mut qmp = nvdimm_testkit::qmp::Qmp::connect(&cfg.qmp_socket)?;
    qmp.execute("object-add", o.backend.qmp_args())?;
    qmp.execute("device_add", o.device.qmp_args())?;
    Ok(())
}

/// QEMU's HMP `mce` arguments after the CPU index for a guest's request
/// `BANK STATUS MCG-STATUS ADDR MISC` (numbers, hexadecimal with `0x`):
/// checked, so that a request can only ever become an `mce` command.
fn mce_arguments(req: &str) -> Result<String, GuestError> {
    let bad = || GuestError::MceRequest(req.to_string());
    let num = |t: &str| match t.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => t.parse::<u64>().ok(),
    };
    let v: Vec<u64> = req
        .split_whitespace()
        .map(num)
        .collect::<Option<_>>()
        .ok_or_else(bad)?;
    match v[..] {
        [bank, status, mcg, addr, misc] if bank < 256 => {
            Ok(format!("{bank} {status:#x} {mcg:#x} {addr:#x} {misc:#x}"))
        }
        _ => Err(bad()),
    }
}

/// Injects a machine check into the guest's CPU 0 (QEMU's HMP `mce`, over
/// QMP), as a guest's `@@ MCE` request asks. QEMU answers with text only
/// when it does not inject (no MCA on the CPU model, reporting disabled).
fn inject_mce(cfg: &GuestConfig, req: &str) -> Result<(), GuestError> {
    let cmd = format!("mce 0 {}", mce_arguments(req)?);
    let mut qmp = nvdimm_testkit::qmp::Qmp::connect(&cfg.qmp_socket)?;
    let out = qmp.execute(
        "human-monitor-command",
        serde_json::json!({ "command-line": cmd }),
    )?;
    match out.as_str().map(str::trim) {
        Some("") => Ok(()),
        _ => Err(GuestError::MceRefused(out.to_string())),
    }
}

/// Asks the test VMM (its control socket) to hot-add `nv`.
fn vmm_hotplug(cfg: &GuestConfig, nv: &Nvdimm) -> Result<(), GuestError> {
    use std::os::unix::net::UnixStream;
    let sock = cfg.vmm_dir.join("control.sock");
    let mut s = UnixStream::connect(&sock).map_err(file_error(&sock))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(GuestError::Io)?;
    let req = serde_json::json!({"cmd": "hotplug", "nvdimm": nv.vmm_spec()});
    writeln!(s, "{req}").map_err(GuestError::Io)?;
    let mut line = String::new();
    BufReader::new(s)
        .read_line(&mut line)
        .map_err(GuestError::ControlRead)?;
    let reply: serde_json::Value =
        serde_json::from_str(&line).map_err(|source| GuestError::ControlReply {
            line: line.trim().to_string(),
            source,
        })?;
    if reply["ok"] == true {
        Ok(())
    } else {
        Err(GuestError::ControlRefused(reply["error"].clone()))
    }
}

/// The pseries guest's NVRAM: next to the boot's results file, one per boot
/// (the kernel writes its partitions into it).
fn nvram_path(cfg: &GuestConfig) -> PathBuf {
    cfg.results.with_extension("nvram")
}

/// Bytes of the pseries NVRAM (QEMU's default size).
const NVRAM_BYTES: usize = 64 << 10;

/// An NVRAM as firmware leaves it for the kernel
/// (`arch/powerpc/kernel/nvram_64.c`): one free-space partition (signature
/// 0x7f, name twelve `w`) over all of it. The header is the signature, a
/// checksum, the length in 16-byte blocks (big-endian) and the name; the
/// checksum folds the signature, the length and the name read as six
/// native (here little-endian) 16-bit words into one byte.
pub fn nvram_image() -> Vec<u8> {
    let mut image = vec![0u8; NVRAM_BYTES];
    let blocks = (NVRAM_BYTES / 16) as u16;
    let name = [b'w'; 12];
    let mut sum: u32 = 0x7f + u32::from(blocks);
    for pair in name.chunks_exact(2) {
        sum += u32::from(u16::from_le_bytes([pair[0], pair[1]]));
    }
    let sum = ((sum & 0xffff) + (sum >> 16)) & 0xffff;
    let swapped = (sum >> 8) + (sum << 8);
    let checksum = (((sum + swapped) >> 8) & 0xff) as u8;
    image[0] = 0x7f;
    image[1] = checksum;
    image[2..4].copy_from_slice(&blocks.to_be_bytes());
    image[4..16].copy_from_slice(&name);
    image
}

/// Boots the guest and waits for it to end.
pub fn run(cfg: &GuestConfig) -> Result<GuestRun, GuestError> {
    if let Some(sig) = nvdimm_testkit::stop::requested() {
        return Err(GuestError::Stopped(sig));
    }
    for f in [&cfg.kernel, &cfg.initrd] {
        if !f.exists() {
            return Err(GuestError::NoBootFile { path: f.clone() });
        }
    }
    for nv in &cfg.nvdimms {
        nv.ensure_file()?;
    }
    if cfg.arch == "ppc64le" && cfg.platform == Platform::Qemu {
        let path = nvram_path(cfg);
        std::fs::write(&path, nvram_image()).map_err(file_error(&path))?;
    }
    let accel = Accel::detect(&cfg.arch);
    let (bin, args) = qemu_args(cfg, accel)?;
    File::create(&cfg.results).map_err(file_error(&cfg.results))?;
    let mut log = File::create(&cfg.console_log).map_err(file_error(&cfg.console_log))?;
    writeln!(log, "# {bin} {}", args.join(" ")).map_err(GuestError::Io)?;

    let start = Instant::now();
    let mut child = Command::new(&bin)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| GuestError::Start {
            bin: bin.clone(),
            source,
        })?;

    let stdout = child.stdout.take().ok_or(GuestError::NoPipe("stdout"))?;
    let console = nvdimm_testkit::console::copy(stdout, Some(log), cfg.echo);
    let stderr = child.stderr.take().ok_or(GuestError::NoPipe("stderr"))?;
    let errors = nvdimm_testkit::console::collect(stderr);

    let limit = match cfg.platform {
        Platform::Qemu => cfg.timeout,
        Platform::Vmm => cfg.timeout + VMM_GRACE,
    };
    let mut hotplug = Hotplug {
        offset: 0,
        added: 0,
        marks: Vec::new(),
        start,
    };
    let mut problems = Vec::new();
    let outcome = loop {
        hotplug.poll(cfg, &mut problems);
        match child.try_wait() {
            Ok(Some(status)) => {
                let panicked = console.finish();
                let err = errors.join().unwrap_or_default();
                // `nvdimm-vmm` reports a panic or a timeout by its exit
                // code (`nvdimm_testkit::Exit`); others need its message.
                let vmm = (cfg.platform == Platform::Vmm && !panicked && !status.success())
                    .then(|| Outcome::from_vmm_status(status.code()))
                    .flatten();
                break vmm.unwrap_or_else(|| Outcome::of_exit(&bin, status, panicked, &err));
            }
            Ok(None) => {
                let stop = nvdimm_testkit::stop::requested();
                if stop.is_none() && start.elapsed() <= limit {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                // Over time, or the harness is stopping: our own child,
                // ended by pid through its handle (the test VMM takes its
                // QEMU with it).
                let _ = child.kill();
                let _ = child.wait();
                let _ = console.finish();
                match stop {
                    Some(sig) => return Err(GuestError::Stopped(sig)),
                    None => break Outcome::Timeout,
                }
            }
            Err(source) => {
                return Err(GuestError::Wait {
                    bin: bin.clone(),
                    source,
                })
            }
        }
    };
    Ok(GuestRun {
        outcome,
        accel,
        elapsed: start.elapsed(),
        problems,
        marks: hotplug.marks,
    })
}

/// Reads a file that may not exist yet as text.
pub fn read_lossy(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dimm(size: u64, pmem: bool) -> Nvdimm {
        Nvdimm {
            spec: NvdimmSpec {
                size,
                label_size: 128 << 10,
                unarmed: false,
                pmem,
                label_methods: "off".into(),
                flush_hints: 0,
                zero_uuid: false,
                node: None,
            },
            file: PathBuf::from("/tmp/d.img"),
        }
    }

    /// A guest of `arch` with no DIMMs, its files under `/k` and `/r`.
    fn guest(arch: &str) -> GuestConfig {
        let p = PathBuf::from;
        GuestConfig {
            arch: arch.into(),
            kernel: p("/k/bzImage"),
            initrd: p("/k/initrd"),
            cmdline: String::new(),
            nvdimms: Vec::new(),
            memory_mib: 1024,
            numa_mib: Vec::new(),
            machine_props: Vec::new(),
            cpu: None,
            timeout: Duration::from_secs(1),
            console_log: p("/r/console.log"),
            results: p("/r/results"),
            echo: false,
            trace_events: Vec::new(),
            trace_log: p("/r/trace.log"),
            qmp_socket: p("/r/qmp.sock"),
            hotplug_dir: p("/r/hp"),
            platform: Platform::Qemu,
            malformed_nfit: None,
            vmm_dir: p("/r/vmm"),
            vmm_args: Vec::new(),
        }
    }

    #[test]
    fn x86_command_line() {
        let cfg = GuestConfig {
            cmdline: "quiet".into(),
            nvdimms: vec![dimm(256 << 20, true)],
            machine_props: vec!["nvdimm-persistence=cpu".into()],
            trace_events: vec!["nvdimm*".into()],
            ..guest("x86_64")
        };
        let (bin, args) = qemu_args(&cfg, Accel::Tcg).unwrap();
        assert_eq!(bin, "qemu-system-x86_64");
        // 33 arguments: the only one with blanks is the kernel command line.
        assert_eq!(args.len(), 33, "{args:?}");
        assert_eq!(
            args.join(" "),
            "-machine pc,nvdimm=on,nvdimm-persistence=cpu -m 1024M,slots=4,maxmem=16G \
             -accel tcg -smp 1 -nodefaults -no-user-config -display none -no-reboot \
             -serial stdio -serial file:/r/results -qmp unix:/r/qmp.sock,server=on,wait=off \
             -trace enable=nvdimm* -D /r/trace.log \
             -object memory-backend-file,id=nvmem0,share=on,mem-path=/tmp/d.img,size=268566528,pmem=on \
             -device nvdimm,id=nvdimm0,memdev=nvmem0,label-size=131072 \
             -kernel /k/bzImage -initrd /k/initrd \
             -append console=ttyS0 results=/dev/ttyS1 panic=-1 quiet"
        );
    }

    #[test]
    fn numa_command_line() {
        let mut d = dimm(256 << 20, false);
        d.spec.node = Some(2);
        let cfg = GuestConfig {
            nvdimms: vec![d],
            numa_mib: vec![768, 256, 0],
            ..guest("x86_64")
        };
        let args = qemu_args(&cfg, Accel::Tcg).unwrap().1.join(" ");
        assert!(
            args.contains(
                "-object memory-backend-ram,id=ram0,size=805306368 \
                 -numa node,nodeid=0,cpus=0,memdev=ram0 \
                 -object memory-backend-ram,id=ram1,size=268435456 \
                 -numa node,nodeid=1,memdev=ram1 -numa node,nodeid=2 \
                 -object memory-backend-file,id=nvmem0"
            ),
            "{args}"
        );
        assert!(args.contains("-device nvdimm,id=nvdimm0,memdev=nvmem0,label-size=131072,node=2"));
        let vmm = GuestConfig {
            platform: Platform::Vmm,
            ..cfg
        };
        assert!(matches!(vmm_arguments(&vmm), Err(GuestError::VmmNuma)));
    }

    #[test]
    fn ppc64le_command_line() {
        let p = PathBuf::from;
        let mut unarmed = dimm(512 << 20, false);
        unarmed.spec.unarmed = true;
        unarmed.spec.label_size = 0;
        unarmed.file = p("/r/nvdimm1.img");
        let cfg = GuestConfig {
            kernel: p("/k/vmlinux"),
            nvdimms: vec![dimm(256 << 20, true), unarmed],
            memory_mib: 2048,
            numa_mib: Vec::new(),
            ..guest("ppc64le")
        };
        let (bin, args) = qemu_args(&cfg, Accel::Kvm).unwrap();
        assert_eq!(bin, "qemu-system-ppc64");
        assert_eq!(
            args,
            [
                "-machine",
                "pseries,x-vof=on",
                "-cpu",
                "POWER9",
                "-m",
                "2048M,slots=4,maxmem=16G",
                "-accel",
                "kvm",
                "-smp",
                "1",
                "-nodefaults",
                "-no-user-config",
                "-display",
                "none",
                "-no-reboot",
                "-serial",
                "stdio",
                "-serial",
                "file:/r/results",
                "-qmp",
                "unix:/r/qmp.sock,server=on,wait=off",
                "-drive",
                "file=/r/results.nvram,if=none,id=nvram,format=raw",
                "-global",
                "spapr-nvram.drive=nvram",
                "-object",
                "memory-backend-file,id=nvmem0,share=on,mem-path=/tmp/d.img,size=268566528,pmem=on",
                "-device",
                "spapr-nvdimm,id=nvdimm0,memdev=nvmem0,label-size=131072,\
                 uuid=6e766469-6d6d-4272-8000-000000000000",
                "-object",
                "memory-backend-file,id=nvmem1,share=on,mem-path=/r/nvdimm1.img,size=536870912",
                "-device",
                "spapr-nvdimm,id=nvdimm1,memdev=nvmem1,unarmed=on,\
                 uuid=6e766469-6d6d-4272-8000-000000000001",
                "-kernel",
                "/k/vmlinux",
                "-initrd",
                "/k/initrd",
                "-append",
                "console=hvc0 results=/dev/hvc1 panic=-1 ",
            ]
        );
    }

    #[test]
    fn nvram_is_one_free_partition() {
        let image = nvram_image();
        assert_eq!(image.len(), 65536);
        // 0x7f + 4096 + 6 * 0x7777 = 0x2dd49 -> 0xdd4b -> 0x29.
        assert_eq!(&image[..4], &[0x7f, 0x29, 0x10, 0x00]);
        assert_eq!(&image[4..16], b"wwwwwwwwwwww");
        assert!(image[16..].iter().all(|&b| b == 0));
    }

    #[test]
    fn mce_requests() {
        assert_eq!(
            mce_arguments("1 0xbd000000000000c0 0x5 0x140001040 0x86").unwrap(),
            "1 0xbd000000000000c0 0x5 0x140001040 0x86"
        );
        assert_eq!(
            mce_arguments("9 1 5 4096 134").unwrap(),
            "9 0x1 0x5 0x1000 0x86"
        );
        for bad in [
            "",
            "1 2 3 4",
            "1 2 3 4 5 6",
            "256 0 0 0 0",
            "1 0x 0 0 0",
            "1 0 0 0 0; quit",
            "1 -1 0 0 0",
        ] {
            assert!(mce_arguments(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cpu_model() {
        let mut cfg = guest("x86_64");
        cfg.cpu = Some("qemu64,vendor=GenuineIntel".into());
        let (_, args) = qemu_args(&cfg, Accel::Tcg).unwrap();
        let at = args.iter().position(|a| a == "-cpu").unwrap();
        assert_eq!(args[at + 1], "qemu64,vendor=GenuineIntel");
        assert!(matches!(vmm_arguments(&cfg), Err(GuestError::VmmCpu)));
    }

    #[test]
    fn powernv_command_line() {
        let cfg = GuestConfig {
            kernel: PathBuf::from("/k/vmlinux"),
            cmdline: "quiet".into(),
            ..guest("powernv")
        };
        let (bin, args) = qemu_args(&cfg, Accel::Tcg).unwrap();
        assert_eq!(bin, "qemu-system-ppc64");
        assert_eq!(
            args.join(" "),
            "-machine powernv9 -cpu POWER9 -m 1024M,slots=4,maxmem=16G \
             -accel tcg -smp 1 -nodefaults -no-user-config -display none -no-reboot \
             -chardev stdio,id=console,logfile=/r/results,logappend=off \
             -serial chardev:console -qmp unix:/r/qmp.sock,server=on,wait=off \
             -device ipmi-bmc-sim,id=bmc0 -device isa-ipmi-bt,bmc=bmc0,irq=10 \
             -kernel /k/vmlinux -initrd /k/initrd \
             -append console=hvc0 panic=-1 quiet"
        );
        // PowerNV has no NVDIMM device model: the scenario runs without one.
        let with_dimm = GuestConfig {
            nvdimms: vec![dimm(256 << 20, false)],
            ..cfg
        };
        assert!(matches!(
            qemu_args(&with_dimm, Accel::Tcg),
            Err(GuestError::NoNvdimmDevice(a)) if a == "powernv"
        ));
    }

    #[test]
    fn hotplug_qmp_arguments() {
        // What `hotplug` sends: `object-add` and `device_add` of one DIMM.
        let o = nvdimm_objects("x86_64", 2, &dimm(128 << 20, true)).unwrap();
        assert_eq!(
            o.backend.qmp_args(),
            serde_json::json!({
                "qom-type": "memory-backend-file",
                "id": "nvmem2",
                "share": true,
                "mem-path": "/tmp/d.img",
                "size": 134348800u64,
                "pmem": true,
            })
        );
        assert_eq!(
            o.device.qmp_args(),
            serde_json::json!({
                "driver": "nvdimm",
                "id": "nvdimm2",
                "memdev": "nvmem2",
                "label-size": 131072,
            })
        );
    }

    #[test]
    fn vmm_nvdimm_spec() {
        let mut nv = dimm(128 << 20, false);
        assert_eq!(
            nv.vmm_spec(),
            "path=/tmp/d.img,size=134217728,label-size=131072"
        );
        nv.spec.unarmed = true;
        nv.spec.label_methods = "both".into();
        nv.spec.flush_hints = 2;
        assert_eq!(
            nv.vmm_spec(),
            "path=/tmp/d.img,size=134217728,label-size=131072,unarmed=on,\
             label-methods=both,flush-hints=2"
        );
    }

    /// The messages a user sees when a guest cannot be configured.
    #[test]
    fn messages() {
        let mut lsx = dimm(128 << 20, false);
        lsx.spec.label_methods = "on".into();
        fn err<E: std::fmt::Display>(r: Result<NvdimmObjects, E>) -> String {
            r.err().map(|e| e.to_string()).unwrap_or_default()
        }
        assert_eq!(
            err(nvdimm_objects("x86_64", 0, &lsx)),
            "nvdimm0: 'label-methods=on' is served by the test VMM only (QEMU's nvdimm has no \
             such property)"
        );
        assert_eq!(
            err(nvdimm_objects("ppc64le", 1, &dimm(128 << 20, false))),
            "nvdimm1: on pseries the size without the label area must be a multiple of 256M, \
             not 134217728"
        );
        assert_eq!(
            err(nvdimm_objects("arm64", 0, &dimm(128 << 20, false))),
            "no NVDIMM device for architecture 'arm64'"
        );
        let p = PathBuf::from;
        let mut cfg = GuestConfig {
            kernel: p("/nonexistent/k"),
            initrd: p("/nonexistent/i"),
            machine_props: vec!["x=y".into()],
            hotplug_dir: p("/nonexistent/hp"),
            ..guest("arm64")
        };
        assert_eq!(
            qemu_args(&cfg, Accel::Tcg).unwrap_err().to_string(),
            "architecture 'arm64' is not supported by the harness yet"
        );
        assert_eq!(
            run(&cfg).unwrap_err().to_string(),
            "/nonexistent/k does not exist (run 'make initramfs')"
        );
        assert_eq!(
            vmm_arguments(&cfg).unwrap_err().to_string(),
            "the test VMM serves x86_64 guests, not arm64"
        );
        cfg.arch = "x86_64".into();
        assert_eq!(
            vmm_arguments(&cfg).unwrap_err().to_string(),
            "the test VMM has no machine property 'x=y'"
        );
        cfg.machine_props.clear();
        cfg.nvdimms.push(dimm(128 << 20, true));
        assert_eq!(
            vmm_arguments(&cfg).unwrap_err().to_string(),
            "pmem=on is a QEMU backend property; the test VMM has none"
        );
        assert_eq!(
            hotplug(&cfg, 1, "disk size=4M").unwrap_err().to_string(),
            "only 'nvdimm' can be hot-added"
        );
        assert_eq!(
            hotplug(&cfg, 1, "nvdimm size=3M").unwrap_err().to_string(),
            "nvdimm size must be a non-zero multiple of 2 MiB"
        );
        assert_eq!(
            hotplug(&cfg, 1, "nvdimm size=4M").unwrap_err().to_string(),
            "/nonexistent/hp/nvdimm1.img: No such file or directory (os error 2)"
        );
        let f = std::env::temp_dir().join(format!("nvdimm-harness-short-{}", std::process::id()));
        std::fs::write(&f, b"abc").unwrap();
        let short = Nvdimm {
            file: f.clone(),
            ..dimm(128 << 20, false)
        };
        assert_eq!(
            short.ensure_file().unwrap_err().to_string(),
            format!("{}: is 3 bytes, expected 134348800", f.display())
        );
        let _ = std::fs::remove_file(&f);
    }

    #[test]
    fn vmm_args_name_the_run_directory() {
        let a = expand_vmm_args(
            &[
                "--ocxlpmem".into(),
                "path={dir}/c.img,size=512M".into(),
                "--ars".into(),
            ],
            Path::new("/r/x86_64/vmm-ivshmem-c"),
        );
        assert_eq!(
            a,
            [
                "--ocxlpmem",
                "path=/r/x86_64/vmm-ivshmem-c/c.img,size=512M",
                "--ars"
            ]
        );
    }

    #[test]
    fn pseries_dimm() {
        let o = nvdimm_objects("ppc64le", 3, &dimm(256 << 20, true)).unwrap();
        assert_eq!(
            o.backend.cmdline(),
            "memory-backend-file,id=nvmem3,share=on,mem-path=/tmp/d.img,size=268566528,pmem=on"
        );
        assert_eq!(
            o.device.cmdline(),
            "spapr-nvdimm,id=nvdimm3,memdev=nvmem3,label-size=131072,\
             uuid=6e766469-6d6d-4272-8000-000000000003"
        );
        // QMP wants integers for sizes and a JSON bool for pmem.
        let j = o.backend.qmp_args();
        assert_eq!(j["size"], 268566528u64);
        assert_eq!(j["pmem"], true);
        assert!(nvdimm_objects("ppc64le", 0, &dimm(128 << 20, false)).is_err());
    }

    #[test]
    fn x86_dimm() {
        let o = nvdimm_objects("x86_64", 0, &dimm(128 << 20, false)).unwrap();
        assert_eq!(o.device.type_name(), "nvdimm");
        assert_eq!(o.device.get("uuid"), None);
        assert_eq!(o.backend.get("pmem"), None);
        let mut lsx = dimm(128 << 20, false);
        lsx.spec.label_methods = "on".into();
        assert!(matches!(
            nvdimm_objects("x86_64", 0, &lsx),
            Err(GuestError::VmmOnly { index: 0, key }) if key == "label-methods=on"
        ));
    }
}
