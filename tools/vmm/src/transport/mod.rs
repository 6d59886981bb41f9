// SPDX-License-Identifier: GPL-2.0
//! The QEMU transport and the guest supervisor.
//!
//! QEMU (TCG, `-machine pc` without its own NVDIMM support) runs the
//! guest; the VMM gives it:
//! - the NFIT and the SSDT, as `-acpitable` files;
//! - each NVDIMM's backing file as a `memory-backend-file,share=on` on a
//!   `pc-dimm` at the address the NFIT names (the guest runs with
//!   `acpi_no_memhotplug`, so it never onlines those ranges as RAM: only
//!   the NFIT describes them);
//! - the `_DSM` mailbox as the BAR of an `ivshmem-plain` device and its
//!   doorbell as an `isa-debugcon` whose chardev is a socket the VMM
//!   listens on;
//! - the OpenCAPI pmem card (`--ocxlpmem`): its register file as BAR2 of
//!   an `ivshmem-doorbell` device on the VMM's ivshmem server, its memory
//!   as one more `pc-dimm` at [`crate::config::OCXL_MEMORY_BASE`];
//! - the console (`-serial stdio`, copied to stdout and a log) and an
//!   optional results port (a socket: appended to a file, with `@@ VMM`
//!   control lines answered on the same port).
//!
//! The end of the guest is classified like `nvdimm-harness` does it: a
//! power-off (QEMU exits 0, `-no-reboot`), a kernel panic (`panic=-1` on
//! the command line; recognised on the console), a timeout, or a QEMU
//! failure, each with its own exit code ([`Outcome::exit_code`]).

mod doorbell;
mod error;
mod hotplug;
pub mod ivshmem;
mod launch;
mod results;

use doorbell::serve_doorbell;
use results::serve_results;

use std::io::Write;
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use error::TransportError;
pub use launch::{Launch, HOTPLUG_ROOM};
pub use nvdimm_testkit::Outcome;

use crate::control::Target;
use crate::devices::card::Device;
use crate::devices::nvdimm::{HotplugRoom, Platform};
use crate::mailbox::Mailbox;
use hotplug::QemuHotplug;

fn accept_within(
    l: &UnixListener,
    child: &mut Child,
    limit: Duration,
) -> Result<UnixStream, TransportError> {
    l.set_nonblocking(true)?;
    let start = Instant::now();
    loop {
        match l.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false)?;
                return Ok(s);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e.into()),
        }
        if let Ok(Some(st)) = child.try_wait() {
            return Err(TransportError::ExitedEarly(st));
        }
        if start.elapsed() > limit {
            return Err(TransportError::NotConnected);
        }
        if let Some(sig) = crate::host::stop_requested() {
            return Err(TransportError::Stopped(sig));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn file_error(path: &Path) -> impl FnOnce(std::io::Error) -> TransportError + '_ {
    |source| TransportError::File {
        path: path.to_path_buf(),
        source,
    }
}

fn bind(path: &Path) -> Result<UnixListener, TransportError> {
    let _ = std::fs::remove_file(path);
    UnixListener::bind(path).map_err(file_error(path))
}

/// Creates and maps the card's register file and starts its ivshmem
/// server.
fn start_card(
    l: &Launch,
    card: Option<Box<dyn Device>>,
) -> Result<Option<crate::transport::ivshmem::Transport>, TransportError> {
    let (Some(c), Some(device)) = (&l.ocxlpmem, card) else {
        return Ok(None);
    };
    let path = l.ocxl_regs_path();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .map_err(file_error(&path))?;
    // The register file the attachment asks for, a power of two as a BAR.
    let bytes = device.register_bytes().next_power_of_two() as u64;
    file.set_len(bytes).map_err(file_error(&path))?;
    let window = crate::transport::ivshmem::Window::map(file).map_err(|source| {
        TransportError::CardWindow {
            path: path.clone(),
            source,
        }
    })?;
    crate::transport::ivshmem::Transport::start(&l.ocxl_socket(), window, c.vectors, device)
        .map(Some)
        .map_err(TransportError::Card)
}

/// Starts QEMU, serves the guest until it ends, and classifies the end.
/// `card` is the device model behind `--ocxlpmem` (if any); its transport
/// statistics are returned with the outcome.
pub fn run(
    l: &Launch,
    target: Target,
    card: Option<Box<dyn Device>>,
) -> Result<(Outcome, Option<serde_json::Value>), TransportError> {
    // Before QEMU starts: it reads the server's setup messages while it
    // realizes the device.
    let card = start_card(l, card)?;
    let mailbox = Mailbox::create(&l.mailbox_path())?;
    let doorbell = bind(&l.doorbell_socket())?;
    let results = match &l.results {
        Some(_) => Some(bind(&l.results_socket())?),
        None => None,
    };
    let notify = match l.hotplug_slots {
        0 => None,
        _ => Some(bind(&l.notify_socket())?),
    };
    let mut log = match &l.console_log {
        Some(p) => Some(crate::host::open_console_log(p, l.overwrite_console_log)?),
        None => None,
    };
    if let Some(sig) = crate::host::stop_requested() {
        return Ok((Outcome::Stopped(sig), None));
    }
    let args = l.args();
    if let Some(f) = &mut log {
        let _ = writeln!(f, "# {} {}", l.qemu, args.join(" "));
    }
    let mut cmd = Command::new(&l.qemu);
    cmd.args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its own process group: a terminal's ^C reaches the VMM only, which
    // then stops QEMU itself (and cleans up).
    cmd.process_group(0);
    // SAFETY: prctl and sigprocmask are async-signal-safe; prctl only asks
    // the kernel to kill QEMU when the VMM dies, so no guest outlives its
    // device models, and QEMU gets the signals the VMM blocks unblocked.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            crate::host::unblock_stop_signals()
        });
    }
    log::debug!("starting {} {}", l.qemu, args.join(" "));
    let start = Instant::now();
    let mut child = cmd.spawn().map_err(|source| TransportError::Spawn {
        qemu: l.qemu.clone(),
        source,
    })?;
    let stderr = child
        .stderr
        .take()
        .ok_or(TransportError::NoPipe("stderr"))?;
    let errors = nvdimm_testkit::console::collect(stderr);
    let stdout = child
        .stdout
        .take()
        .ok_or(TransportError::NoPipe("stdout"))?;
    let console = nvdimm_testkit::console::copy(stdout, log, l.echo);

    let connect = (|| -> Result<(), TransportError> {
        // QEMU connects its chardevs in command-line order.
        if let (Some(listener), Some(file)) = (&results, &l.results) {
            let conn = accept_within(listener, &mut child, Duration::from_secs(30))?;
            let (file, t) = (file.clone(), target.clone());
            std::thread::spawn(move || serve_results(conn, file, t));
        }
        let conn = accept_within(&doorbell, &mut child, Duration::from_secs(30))?;
        let p = target.platform.clone();
        std::thread::spawn(move || serve_doorbell(conn, mailbox, p));
        if let Some(listener) = &notify {
            let conn = accept_within(listener, &mut child, Duration::from_secs(30))?;
            let mut p = Platform::lock(&target.platform);
            p.attach_hotplug(HotplugRoom {
                backend: Box::new(QemuHotplug::new(l.vmm_qmp_socket(), conn)),
                slots: l.hotplug_slots,
                limit: l.device_memory_end(),
                capabilities: l.capabilities,
                spas: l.spas.clone(),
            });
        }
        Ok(())
    })();
    if let Err(e) = connect {
        let _ = child.kill();
        let status = child.wait()?;
        let _ = console.finish();
        if let Some(sig) = crate::host::stop_requested() {
            return Ok((Outcome::Stopped(sig), None));
        }
        let err = errors.join().unwrap_or_default();
        return Ok((
            Outcome::QemuFailed(format!("{e}; QEMU exited with {status}: {}", err.trim())),
            None,
        ));
    }

    let outcome = loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let panicked = console.finish();
                let err = errors.join().unwrap_or_default();
                break Outcome::of_exit("QEMU", status, panicked, &err);
            }
            Ok(None) if crate::host::stop_requested().is_some() => {
                // Our own child, ended through its handle.
                let _ = child.kill();
                let _ = child.wait();
                let _ = console.finish();
                break Outcome::Stopped(crate::host::stop_requested().unwrap_or_default());
            }
            Ok(None) if l.timeout.is_some_and(|t| start.elapsed() > t) => {
                // Our own child, ended through its handle.
                let _ = child.kill();
                let _ = child.wait();
                let _ = console.finish();
                break Outcome::Timeout;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(TransportError::Wait(e)),
        }
    };
    for p in [
        l.doorbell_socket(),
        l.results_socket(),
        l.notify_socket(),
        l.vmm_qmp_socket(),
    ] {
        let _ = std::fs::remove_file(p);
    }
    // Stops the card's event loop and removes its socket.
    let card_stats = card.map(|t| t.stats.json());
    Ok((outcome, card_stats))
}
