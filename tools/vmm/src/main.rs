// SPDX-License-Identifier: GPL-2.0
//! `nvdimm-vmm`: the project's test VMM.
//!
//! A Rust process that owns the NVDIMM device models (NFIT platform,
//! label areas, `_DSM`, fault injection), generates the guest's NFIT and
//! SSDT, and serves them to a QEMU guest it launches and supervises. See
//! `Documentation/nvdimm-rs/vmm.rst`.

mod acpi;
mod config;
mod control;
mod devices;
mod dsm;
mod host;
mod logger;
mod mailbox;
mod shm;
mod transport;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use nvdimm_testkit::size::parse_size_arg;
use nvdimm_testkit::{Accel, Exit};

use config::{ConfigError, IntelOption, NvdimmConfig, OcxlConfig, Persistence, SpaConfig};
use devices::card::Device;
use devices::nvdimm::flush::FlushPage;
use devices::nvdimm::{Platform, PlatformError};
use devices::ocxl::attached::{Attached, Control};
use devices::ocxl::{Card, CardConfig};

#[derive(Parser, Debug)]
#[command(
    about = "Test VMM: Rust NVDIMM device models (NFIT, _DSM labels, faults) served to a QEMU guest",
    after_help = Exit::help()
)]
struct Cli {
    /// Guest kernel (bzImage).
    #[arg(long)]
    kernel: PathBuf,
    /// Guest initramfs.
    #[arg(long)]
    initrd: Option<PathBuf>,
    /// Kernel command line.
    #[arg(long, default_value = "console=ttyS0 panic=-1")]
    append: String,
    /// Guest RAM (at most 3G).
    #[arg(long, short = 'm', default_value = "1G", value_parser = parse_size_arg)]
    memory: u64,
    /// An NVDIMM: path=FILE,size=SIZE,label-size=SIZE,unarmed=on|off,
    /// label-methods=off|on|both,flush-hints=0..8,set=1..8 (repeat for
    /// more; size may be left out for an existing file). Two consecutive
    /// --nvdimm of one size with the same set=N form a 2-way interleave
    /// set: one SPA range over both DIMMs' persistent parts.
    #[arg(long, value_parser = NvdimmConfig::parse)]
    nvdimm: Vec<NvdimmConfig>,
    /// intel=on for the --nvdimm with this NFIT handle (1 for the first):
    /// DIMM[,state=PATH][,overwrite-ms=N] (the same as adding
    /// intel=on,state=PATH,overwrite-ms=N to that --nvdimm).
    #[arg(long, value_parser = IntelOption::parse)]
    nvdimm_intel: Vec<IntelOption>,
    /// An SPA range besides the DIMMs' persistent ones:
    /// TYPE,path=FILE[,size=SIZE][,dimm=N]. TYPE volatile is volatile
    /// memory that the --nvdimm with NFIT handle N (1 for the first) maps
    /// past its persistent part; vdisk, vcd, pdisk and pcd are volatile or
    /// persistent virtual disks and CDs (a loaded image), mapped by no DIMM.
    /// FILE backs the range (a pc-dimm from 192 GiB); SIZE a multiple of
    /// 2M, may be left out for an existing file (repeat for more, up to 8).
    #[arg(long, value_parser = SpaConfig::parse)]
    spa: Vec<SpaConfig>,
    /// The OpenCAPI pmem card: path=FILE,size=SIZE[,vectors=N]. FILE is
    /// the card's memory (a pc-dimm at 65 GiB; SIZE a multiple of 128M,
    /// 256M to 64G, may be left out for an existing file: the first 128M
    /// are metadata, the rest pmem); its registers are BAR2 of an
    /// ivshmem-doorbell PCI device served by the VMM with N MSI-X vectors
    /// (1-32, default 2).
    #[arg(long, value_parser = OcxlConfig::parse)]
    ocxlpmem: Option<OcxlConfig>,
    /// Platform capabilities (QEMU's -machine nvdimm-persistence=).
    #[arg(long, value_enum, default_value = "none")]
    nvdimm_persistence: Persistence,
    /// Control socket (JSON lines: faults, counters), mode 0600, for our
    /// uid only. An existing PATH must be a stale socket: anything else is
    /// refused, never replaced.
    #[arg(long)]
    control: Option<PathBuf>,
    /// A directory whose files the control socket's "hotplug" may name
    /// (repeat for more; those of the --nvdimm files are allowed too).
    #[arg(long)]
    hotplug_dir: Vec<PathBuf>,
    /// Seconds before the guest is killed (0: never).
    #[arg(long, default_value_t = 0)]
    timeout: u64,
    /// Copy of the serial console (created; an existing file only with
    /// --force).
    #[arg(long)]
    console_log: Option<PathBuf>,
    /// Overwrite an existing --console-log file.
    #[arg(long)]
    force: bool,
    /// A second serial port (ttyS1) appended to this file; '@@ VMM {json}'
    /// lines on it are control requests, answered on the same port.
    #[arg(long)]
    results: Option<PathBuf>,
    /// QMP socket of the QEMU guest.
    #[arg(long)]
    qmp: Option<PathBuf>,
    /// Directory for the generated tables, the mailbox and sockets: made
    /// mode 0700 if missing, else it must be ours and writable by no one
    /// else (default: a fresh private directory under $TMPDIR, removed at
    /// exit).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// I/O port of the _DSM doorbell.
    #[arg(long, default_value = "0xa40", value_parser = parse_port)]
    doorbell_port: u16,
    /// Room for this many NVDIMMs hot-added at run time (control socket
    /// command "hotplug"); adds _FIT and the notification line.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=8))]
    hotplug_slots: u8,
    /// Address range scrub and error injection on the root device
    /// (_DSM functions 1-4, 7-9); poison from the control protocol.
    #[arg(long)]
    ars: bool,
    /// With --ars: how long a scrub's scan of the media takes, in
    /// milliseconds (a status query before then answers "in progress", a
    /// start "busy").
    #[arg(long, default_value_t = 0, requires = "ars",
          value_parser = clap::value_parser!(u32).range(0..=600_000))]
    ars_ms: u32,
    /// With --ars: the most error records one ARS status answer carries;
    /// more overflow, and the OS continues the scrub where it stopped.
    #[arg(long, default_value_t = devices::nvdimm::ars::MAX_RECORDS as u16, requires = "ars",
          value_parser = clap::value_parser!(u16).range(1..=devices::nvdimm::ars::MAX_RECORDS as i64))]
    ars_max_records: u16,
    /// Serve a malformed NFIT of this class (robustness campaign).
    #[arg(long, value_enum)]
    malformed_nfit: Option<acpi::Malformed>,
    /// Do not copy the console to stdout; log warnings and errors only
    /// (the level is otherwise info, or NVDIMM_VMM_LOG=error|warn|info|debug).
    #[arg(long)]
    quiet: bool,
    /// Log debug messages too (wins over --quiet and NVDIMM_VMM_LOG).
    #[arg(long, short = 'v')]
    verbose: bool,
    /// Write the tables and print the QEMU command line, run nothing.
    #[arg(long)]
    dry_run: bool,
    /// QEMU binary.
    #[arg(long, default_value = "qemu-system-x86_64")]
    qemu: String,
}

/// Why `--doorbell-port` is refused.
#[derive(Debug, thiserror::Error)]
enum PortError {
    #[error("'{0}' is not an I/O port number")]
    NotAPort(String),
    #[error("port {0:#x} is used by the platform; pick another (e.g. 0xa40)")]
    Taken(u16),
}

fn parse_port(s: &str) -> Result<u16, PortError> {
    let v = match s.strip_prefix("0x") {
        Some(h) => u16::from_str_radix(h, 16),
        None => s.parse(),
    }
    .map_err(|_| PortError::NotAPort(s.to_string()))?;
    // Ports the PC platform or QEMU's pc machine already decode.
    if v < 0x100
        || (0x3b0..0x400).contains(&v)
        || (0xcf8..0xd00).contains(&v)
        || (0xa00..0xa20).contains(&v)
    {
        return Err(PortError::Taken(v));
    }
    Ok(v)
}

/// Why the command line cannot be run (exit status 2): checked before
/// anything is created.
#[derive(Debug, thiserror::Error)]
enum UsageError {
    #[error("--kernel {}: no such file", .0.display())]
    NoKernel(PathBuf),
    #[error("--initrd {}: no such file", .0.display())]
    NoInitrd(PathBuf),
    #[error("--memory {0}: expected a multiple of 2M from 64M to 3G (NVDIMMs start at 4 GiB)")]
    Memory(u64),
    #[error("{}: used by two NVDIMMs", .0.display())]
    SharedFile(PathBuf),
    #[error("--nvdimm-intel {0}: no such --nvdimm")]
    NoIntelDimm(u32),
    #[error("--nvdimm {}: {source}", path.display())]
    IntelState {
        path: PathBuf,
        source: devices::nvdimm::intel::StateError,
    },
    #[error("--malformed-nfit tests the static NFIT: leave out --hotplug-slots")]
    MalformedWithHotplug,
    #[error("--spa ranges are not part of a --malformed-nfit table: leave out one or the other")]
    SpaWithMalformed,
    #[error("{}: used by an --spa range and another range or NVDIMM", .0.display())]
    SpaSharesFile(PathBuf),
    #[error("--malformed-nfit {0}: needs two NVDIMMs")]
    MalformedNeedsTwo(String),
    #[error("--malformed-nfit {0}: needs an NVDIMM")]
    MalformedNeedsOne(String),
    #[error("--hotplug-dir: {0}")]
    HotplugDir(host::HostError),
    #[error("{}: used by an NVDIMM and the --ocxlpmem card", .0.display())]
    CardSharesFile(PathBuf),
    #[error(
        "the NVDIMMs and their hotplug room reach 64 GiB, where the flush hint page and the \
         --ocxlpmem card memory are"
    )]
    CardOverlap,
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A host path: `--console-log`, `--control`, `--state-dir`.
    #[error(transparent)]
    Host(#[from] host::HostError),
}

/// Why the VMM ends before the guest does.
#[derive(Debug, thiserror::Error)]
enum VmmError {
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// Binding `--control` (exit status 2, as for its checks).
    #[error(transparent)]
    ControlSocket(host::HostError),
    /// Writing the generated tables.
    #[error(transparent)]
    Tables(std::io::Error),
    #[error(transparent)]
    Platform(#[from] PlatformError),
    #[error(transparent)]
    FlushPage(shm::ShmError),
    #[error(transparent)]
    Transport(#[from] transport::TransportError),
    #[error(transparent)]
    Signals(host::HostError),
}

impl VmmError {
    /// The exit status: bad arguments or an unusable path, else a VMM
    /// error.
    fn exit(&self) -> Exit {
        match self {
            VmmError::Usage(_) | VmmError::ControlSocket(_) => Exit::Usage,
            VmmError::Tables(_)
            | VmmError::Platform(_)
            | VmmError::FlushPage(_)
            | VmmError::Transport(_)
            | VmmError::Signals(_) => Exit::Error,
        }
    }
}

/// The hotplug notification UART's I/O base and ISA interrupt (both free
/// on QEMU's pc machine with -nodefaults). The base is COM3's legacy
/// address: Linux's 8250 driver then gives the UART the ttyS2 slot it
/// keeps for that address; an unknown address can take over the
/// console's ttyS0 slot while the legacy ports are not probed yet.
const NOTIFY_PORT: u16 = 0x3e8;
const NOTIFY_IRQ: u8 = 7;

/// The PCI slot of the mailbox device (bus 0; free on QEMU's pc machine
/// with -nodefaults).
const MAILBOX_SLOT: u8 = 0x10;
/// The PCI slot of the `--ocxlpmem` card (`0000:00:11.0` in the guest).
const OCXL_SLOT: u8 = 0x11;

/// A checked machine: how to launch it and its tables.
#[derive(Debug)]
struct Prepared {
    launch: transport::Launch,
    nfit: Vec<u8>,
    ssdt: Vec<u8>,
    /// The NFIT's structures, what `_FIT` serves.
    fit: Vec<u8>,
    /// Where the control socket's `hotplug` may take backing files from.
    hotplug_dirs: host::HotplugDirs,
    state_dir: StateDir,
}

/// The state directory; a fresh one (no `--state-dir`) is removed with
/// everything in it when this is dropped, on every way out of `run`.
#[derive(Debug)]
struct StateDir {
    path: PathBuf,
    remove: bool,
}

impl StateDir {
    fn new(explicit: Option<&std::path::Path>) -> Result<Self, host::HostError> {
        match explicit {
            Some(d) => host::explicit_state_dir(d).map(|()| StateDir {
                path: d.to_path_buf(),
                remove: false,
            }),
            None => host::fresh_state_dir(&std::env::temp_dir())
                .map(|path| StateDir { path, remove: true }),
        }
    }
}

impl Drop for StateDir {
    fn drop(&mut self) {
        if self.remove {
            if let Err(e) = std::fs::remove_dir_all(&self.path) {
                log::warn!("{}: {e}", self.path.display());
            }
        }
    }
}

/// Checks everything, then creates what is missing; returns the launch.
fn prepare(cli: &Cli) -> Result<Prepared, UsageError> {
    if !cli.kernel.is_file() {
        return Err(UsageError::NoKernel(cli.kernel.clone()));
    }
    if let Some(i) = &cli.initrd {
        if !i.is_file() {
            return Err(UsageError::NoInitrd(i.clone()));
        }
    }
    if cli.memory < 64 << 20
        || cli.memory > config::MAX_MEMORY
        || !cli.memory.is_multiple_of(2 << 20)
    {
        return Err(UsageError::Memory(cli.memory));
    }
    for (i, a) in cli.nvdimm.iter().enumerate() {
        if cli.nvdimm[..i].iter().any(|b| b.path == a.path) {
            return Err(UsageError::SharedFile(a.path.clone()));
        }
        // A malformed Intel state file stops the VMM here, before
        // anything is created.
        if let Some(state) = &a.intel_state {
            devices::nvdimm::intel::IntelState::load(state).map_err(|source| {
                UsageError::IntelState {
                    path: a.path.clone(),
                    source,
                }
            })?;
        }
    }
    if let Some(m) = cli.malformed_nfit {
        if cli.hotplug_slots > 0 {
            return Err(UsageError::MalformedWithHotplug);
        }
        if m.needs_two_dimms() && cli.nvdimm.len() < 2 {
            return Err(UsageError::MalformedNeedsTwo(m.name()));
        }
        if cli.nvdimm.is_empty() {
            return Err(UsageError::MalformedNeedsOne(m.name()));
        }
    }
    if !cli.spa.is_empty() && cli.malformed_nfit.is_some() {
        return Err(UsageError::SpaWithMalformed);
    }
    for (i, a) in cli.spa.iter().enumerate() {
        let taken = cli.spa[..i].iter().any(|b| b.path == a.path)
            || cli.nvdimm.iter().any(|d| d.path == a.path)
            || cli.ocxlpmem.as_ref().is_some_and(|c| c.path == a.path);
        if taken {
            return Err(UsageError::SpaSharesFile(a.path.clone()));
        }
    }
    if let Some(p) = &cli.console_log {
        host::check_console_log(p, cli.force)?;
    }
    if let Some(p) = &cli.control {
        host::check_control(p)?;
    }
    let mut hotplug_dirs = host::HotplugDirs::default();
    for d in &cli.hotplug_dir {
        hotplug_dirs.allow(d).map_err(UsageError::HotplugDir)?;
    }
    if let Some(c) = &cli.ocxlpmem {
        if cli.nvdimm.iter().any(|d| d.path == c.path) {
            return Err(UsageError::CardSharesFile(c.path.clone()));
        }
    }
    let exists: Vec<bool> = cli
        .nvdimm
        .iter()
        .map(NvdimmConfig::check_file)
        .collect::<Result<_, _>>()?;
    let card_exists = cli
        .ocxlpmem
        .as_ref()
        .map(OcxlConfig::check_file)
        .transpose()?;
    let spa_exists: Vec<bool> = cli
        .spa
        .iter()
        .map(SpaConfig::check_file)
        .collect::<Result<_, _>>()?;
    let (dimms, end) = config::place(&cli.nvdimm)?;
    let spas = config::place_spas(&cli.spa, &dimms)?;
    if cli.ocxlpmem.is_some()
        && end.max(config::DEVICE_MEMORY_BASE)
            + u64::from(cli.hotplug_slots) * transport::HOTPLUG_ROOM
            > config::FLUSH_BASE
    {
        return Err(UsageError::CardOverlap);
    }
    let state_dir = StateDir::new(cli.state_dir.as_deref())?;
    // Every check passed: only now create missing backing files.
    for (d, e) in cli.nvdimm.iter().zip(exists) {
        if !e {
            d.create_file()?;
        }
        let dir = match d.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => std::path::Path::new("."),
        };
        hotplug_dirs.allow(dir)?;
    }
    if let (Some(c), Some(false)) = (&cli.ocxlpmem, card_exists) {
        c.create_file()?;
    }
    for (s, e) in cli.spa.iter().zip(spa_exists) {
        if !e {
            s.create_file()?;
        }
    }
    let caps = cli.nvdimm_persistence.bits();
    let body = acpi::nfit_body(&dimms, &spas, caps);
    let nfit = match cli.malformed_nfit {
        Some(m) => m.nfit(&dimms, caps),
        None => acpi::nfit(&body),
    };
    let ssdt = acpi::ssdt(
        &dimms,
        acpi::Doorbell {
            port: cli.doorbell_port,
            pci_slot: MAILBOX_SLOT,
        },
        (cli.hotplug_slots > 0).then_some(acpi::NotifyLine {
            port: NOTIFY_PORT,
            irq: NOTIFY_IRQ,
        }),
        usize::from(cli.hotplug_slots),
    );
    let launch = transport::Launch {
        qemu: cli.qemu.clone(),
        accel: Accel::detect("x86_64").name().into(),
        kernel: cli.kernel.clone(),
        initrd: cli.initrd.clone(),
        append: cli.append.clone(),
        memory: cli.memory,
        dimms,
        dimms_end: end,
        spas,
        state_dir: state_dir.path.clone(),
        doorbell_port: cli.doorbell_port,
        mailbox_slot: MAILBOX_SLOT,
        results: cli.results.clone(),
        qmp: cli.qmp.clone(),
        console_log: cli.console_log.clone(),
        overwrite_console_log: cli.force,
        echo: !cli.quiet,
        timeout: (cli.timeout > 0).then(|| Duration::from_secs(cli.timeout)),
        hotplug_slots: usize::from(cli.hotplug_slots),
        capabilities: caps,
        notify_port: NOTIFY_PORT,
        notify_irq: NOTIFY_IRQ,
        flush_page: cli.nvdimm.iter().any(|d| d.flush_hints > 0),
        ocxlpmem: cli.ocxlpmem.clone(),
        ocxl_slot: OCXL_SLOT,
    };
    Ok(Prepared {
        launch,
        nfit,
        ssdt,
        fit: body,
        hotplug_dirs,
        state_dir,
    })
}

/// Applies `--nvdimm-intel` to the DIMMs it names.
fn apply_intel(cli: &mut Cli) -> Result<(), UsageError> {
    for o in &cli.nvdimm_intel {
        let d = cli
            .nvdimm
            .get_mut(o.handle as usize - 1)
            .ok_or(UsageError::NoIntelDimm(o.handle))?;
        *d = o.apply(d)?;
    }
    Ok(())
}

fn run(mut cli: Cli) -> Result<u8, VmmError> {
    apply_intel(&mut cli)?;
    let Prepared {
        launch,
        nfit,
        ssdt,
        fit,
        hotplug_dirs,
        mut state_dir,
    } = prepare(&cli)?;
    std::fs::write(launch.nfit_path(), &nfit).map_err(VmmError::Tables)?;
    std::fs::write(launch.ssdt_path(), &ssdt).map_err(VmmError::Tables)?;
    if cli.dry_run {
        // The printed command line names the tables: they stay.
        state_dir.remove = false;
        println!("{} {}", launch.qemu, launch.args().join(" "));
        return Ok(Exit::PowerOff.code());
    }
    let mut platform = Platform::new(&launch.dimms, fit)?;
    if cli.ars {
        platform = platform.with_ars_config(devices::nvdimm::ars::ArsConfig {
            scan_time: std::time::Duration::from_millis(cli.ars_ms.into()),
            max_records: cli.ars_max_records.into(),
        });
    }
    if launch.flush_page {
        let page = FlushPage::create(&launch.flush_path()).map_err(VmmError::FlushPage)?;
        platform = platform.with_flush_page(page);
    }
    // The OpenCAPI pmem card behind --ocxlpmem, with the descriptor of
    // its memory; the control protocol reaches it through its `Control`.
    let card_control = launch.ocxlpmem.as_ref().map(|_| Control::default());
    let card = launch
        .ocxlpmem
        .as_ref()
        .zip(card_control.clone())
        .map(|(c, control)| {
            Box::new(Attached::new(
                Card::new(CardConfig::default()),
                c.serial,
                config::OCXL_MEMORY_BASE,
                c.size,
                transport::ivshmem::VMM_PEER,
                control,
            )) as Box<dyn Device>
        });
    let target = control::Target {
        platform: Arc::new(Mutex::new(platform)),
        card: card_control,
    };
    // Removed when `run` returns, if it is still ours.
    let _control = match &cli.control {
        Some(sock) => {
            let (guard, l) = host::ControlSocket::bind(sock).map_err(VmmError::ControlSocket)?;
            let t = target.clone();
            let owner = host::euid();
            std::thread::spawn(move || control::server::serve_control(l, t, owner, hotplug_dirs));
            Some(guard)
        }
        None => None,
    };
    let (outcome, card_stats) = transport::run(&launch, target.clone(), card)?;
    let stats = Platform::lock(&target.platform).counters().json();
    log::info!("guest ended: {outcome:?}; _DSM calls served: {stats}");
    if let Some(s) = card_stats {
        log::info!("ocxlpmem transport: {s}");
    }
    Ok(outcome.exit_code())
}

fn main() -> ExitCode {
    logger::init();
    let cli = Cli::parse();
    logger::apply_cli(cli.quiet, cli.verbose);
    // Before any thread starts: they all inherit the blocked signals.
    let result = host::handle_stop_signals()
        .map_err(VmmError::Signals)
        .and_then(|()| run(cli));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            log::error!("{e}");
            ExitCode::from(e.exit().code())
        }
    }
}

#[cfg(test)]
mod tests;
