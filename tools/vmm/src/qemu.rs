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

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::card::Device;
use crate::config::{OcxlConfig, PlacedDimm, DEVICE_MEMORY_BASE};
use crate::mailbox::{Mailbox, KIND_DSM, KIND_FIT, KIND_LABEL};
use crate::model::{DsmCall, Platform};

use nvdimm_testkit::qemu as qemu_cmdline;
pub use nvdimm_testkit::Outcome;

/// Everything the transport needs to start a guest.
#[derive(Debug, Clone)]
pub struct Launch {
    pub qemu: String,
    pub accel: String,
    pub kernel: PathBuf,
    pub initrd: Option<PathBuf>,
    pub append: String,
    pub memory: u64,
    pub dimms: Vec<PlacedDimm>,
    /// End of the last DIMM in guest physical memory.
    pub dimms_end: u64,
    pub state_dir: PathBuf,
    pub doorbell_port: u16,
    pub mailbox_slot: u8,
    pub results: Option<PathBuf>,
    pub qmp: Option<PathBuf>,
    pub console_log: Option<PathBuf>,
    /// Truncate an existing `console_log` (`--force`).
    pub overwrite_console_log: bool,
    pub echo: bool,
    pub timeout: Option<Duration>,
    /// DIMMs that can be hot-added (0: no hotplug, no `_FIT`).
    pub hotplug_slots: usize,
    /// NFIT platform capabilities (for the regenerated `_FIT`).
    pub capabilities: u32,
    /// The hotplug notification UART.
    pub notify_port: u16,
    pub notify_irq: u8,
    /// The flush hint page (a `pc-dimm` at [`crate::config::FLUSH_BASE`]),
    /// when some DIMM has flush hints.
    pub flush_page: bool,
    /// The OpenCAPI pmem card (`--ocxlpmem`): an `ivshmem-doorbell`
    /// device in PCI slot [`Launch::ocxl_slot`] on the VMM's ivshmem server
    /// (the register file) and a `pc-dimm` (the card memory).
    pub ocxlpmem: Option<OcxlConfig>,
    pub ocxl_slot: u8,
}

/// Device memory kept free for each hotplug slot.
pub const HOTPLUG_ROOM: u64 = 2 << 30;

impl Launch {
    pub fn nfit_path(&self) -> PathBuf {
        self.state_dir.join("nfit.aml")
    }
    pub fn ssdt_path(&self) -> PathBuf {
        self.state_dir.join("ssdt.aml")
    }
    fn mailbox_path(&self) -> PathBuf {
        self.state_dir.join("mailbox")
    }
    pub fn flush_path(&self) -> PathBuf {
        self.state_dir.join("flush-hints")
    }
    fn doorbell_socket(&self) -> PathBuf {
        self.state_dir.join("doorbell.sock")
    }
    fn results_socket(&self) -> PathBuf {
        self.state_dir.join("results.sock")
    }
    fn notify_socket(&self) -> PathBuf {
        self.state_dir.join("notify.sock")
    }
    fn vmm_qmp_socket(&self) -> PathBuf {
        self.state_dir.join("vmm-qmp.sock")
    }
    /// The VMM's ivshmem server socket (`--ocxlpmem`).
    pub fn ocxl_socket(&self) -> PathBuf {
        self.state_dir.join("ocxlpmem.sock")
    }
    /// The card's register file (BAR2 of its `ivshmem-doorbell` device),
    /// created afresh for every run: registers do not persist.
    pub fn ocxl_regs_path(&self) -> PathBuf {
        self.state_dir.join("ocxlpmem-regs")
    }

    /// The end of device memory, hotplug room included.
    pub fn device_memory_end(&self) -> u64 {
        self.dimms_end.max(DEVICE_MEMORY_BASE) + self.hotplug_slots as u64 * HOTPLUG_ROOM
    }

    /// The end of every device QEMU maps in device memory: the DIMMs,
    /// their hotplug room, the flush hint page and the card's memory.
    fn device_span_end(&self) -> u64 {
        let mut end = self.device_memory_end();
        if self.flush_page {
            end = end.max(crate::config::FLUSH_BASE + crate::config::FLUSH_SIZE);
        }
        if let Some(c) = &self.ocxlpmem {
            end = end.max(crate::config::OCXL_MEMORY_BASE + c.size);
        }
        end
    }

    /// QEMU's command line (program name excluded).
    pub fn args(&self) -> Vec<String> {
        let mut a: Vec<String> = Vec::new();
        let mut push = |s: &[&str]| a.extend(s.iter().map(|x| x.to_string()));
        push(&["-machine", "pc", "-accel", &self.accel, "-smp", "1"]);
        let mem_mib = self.memory >> 20;
        let slots = self.dimms.len()
            + self.hotplug_slots
            + usize::from(self.flush_page)
            + usize::from(self.ocxlpmem.is_some());
        if slots == 0 {
            push(&["-m", &format!("{mem_mib}M")]);
        } else {
            // Device memory must span every DIMM; QEMU adds slack per slot.
            let span = self.device_span_end() - DEVICE_MEMORY_BASE;
            let maxmem = (self.memory + span).div_ceil(1 << 30) << 10;
            push(&["-m", &format!("{mem_mib}M,slots={slots},maxmem={maxmem}M")]);
        }
        push(&qemu_cmdline::HEADLESS);
        if self.results.is_some() {
            push(&[
                "-chardev",
                &format!("socket,id=nvres,path={}", self.results_socket().display()),
                "-serial",
                "chardev:nvres",
            ]);
        }
        push(&[
            "-chardev",
            &format!("socket,id=nvdb,path={}", self.doorbell_socket().display()),
            "-device",
            &format!("isa-debugcon,iobase={:#x},chardev=nvdb", self.doorbell_port),
            "-object",
            &qemu_cmdline::shared_file_backend(
                "nvmb",
                &self.mailbox_path(),
                crate::mailbox::SIZE as u64,
            ),
            "-device",
            &format!("ivshmem-plain,memdev=nvmb,addr={:#x}", self.mailbox_slot),
        ]);
        if let Some(c) = &self.ocxlpmem {
            push(&[
                "-chardev",
                &format!("socket,id=nvocxl,path={}", self.ocxl_socket().display()),
                "-device",
                &format!(
                    "ivshmem-doorbell,id=ocxlpmem0,chardev=nvocxl,vectors={},addr={:#x}",
                    c.vectors, self.ocxl_slot
                ),
            ]);
        }
        if self.hotplug_slots > 0 {
            push(&[
                "-chardev",
                &format!("socket,id=nvhp,path={}", self.notify_socket().display()),
                "-device",
                &format!(
                    "isa-serial,iobase={:#x},irq={},chardev=nvhp",
                    self.notify_port, self.notify_irq
                ),
                "-qmp",
                &qemu_cmdline::qmp_server(&self.vmm_qmp_socket()),
            ]);
        }
        for d in &self.dimms {
            let size = d.config.size + d.config.label_size;
            push(&[
                "-object",
                &qemu_cmdline::shared_file_backend(
                    &format!("nvmem{}", d.slot),
                    &d.config.path,
                    size,
                ),
                "-device",
                &format!(
                    "pc-dimm,id=nvdimm{0},memdev=nvmem{0},addr={1:#x}",
                    d.slot, d.address
                ),
            ]);
        }
        if let Some(c) = &self.ocxlpmem {
            push(&[
                "-object",
                &qemu_cmdline::shared_file_backend("nvocxlmem", &c.path, c.size),
                "-device",
                &format!(
                    "pc-dimm,id=nvocxld,memdev=nvocxlmem,addr={:#x}",
                    crate::config::OCXL_MEMORY_BASE
                ),
            ]);
        }
        if self.flush_page {
            push(&[
                "-object",
                &qemu_cmdline::shared_file_backend(
                    "nvflush",
                    &self.flush_path(),
                    crate::config::FLUSH_SIZE,
                ),
                "-device",
                &format!(
                    "pc-dimm,id=nvflushd,memdev=nvflush,addr={:#x}",
                    crate::config::FLUSH_BASE
                ),
            ]);
        }
        push(&[
            "-acpitable",
            &format!("file={}", self.nfit_path().display()),
            "-acpitable",
            &format!("file={}", self.ssdt_path().display()),
        ]);
        if let Some(q) = &self.qmp {
            push(&["-qmp", &qemu_cmdline::qmp_server(q)]);
        }
        push(&["-kernel", &self.kernel.display().to_string()]);
        if let Some(i) = &self.initrd {
            push(&["-initrd", &i.display().to_string()]);
        }
        // The DIMMs are device memory only the NFIT describes: keep the
        // guest's ACPI memory hotplug driver from adding them as RAM.
        let append = format!("{} acpi_no_memhotplug", self.append.trim());
        push(&["-append", append.trim()]);
        a
    }
}

/// Hot-adds DIMMs to the running QEMU (QMP `object-add` and `device_add`
/// of a `pc-dimm` at the DIMM's address) and raises the notification line.
struct QemuHotplug {
    qmp_socket: PathBuf,
    qmp: Option<nvdimm_testkit::qmp::Qmp>,
    notify: UnixStream,
}

impl crate::model::HotplugBackend for QemuHotplug {
    fn add(&mut self, d: &PlacedDimm) -> Result<(), String> {
        if self.qmp.is_none() {
            self.qmp = Some(nvdimm_testkit::qmp::Qmp::connect(&self.qmp_socket)?);
        }
        let qmp = self.qmp.as_mut().ok_or("no QMP")?;
        qmp.execute(
            "object-add",
            serde_json::json!({
                "qom-type": "memory-backend-file",
                "id": format!("nvmem{}", d.slot),
                "share": true,
                "mem-path": d.config.path.display().to_string(),
                "size": d.config.file_size()?,
            }),
        )?;
        let added = qmp.execute(
            "device_add",
            serde_json::json!({
                "driver": "pc-dimm",
                "id": format!("nvdimm{}", d.slot),
                "memdev": format!("nvmem{}", d.slot),
                "addr": d.address,
            }),
        );
        if let Err(e) = added {
            // Leave no backend behind: the slot can be tried again.
            let _ = qmp.execute(
                "object-del",
                serde_json::json!({ "id": format!("nvmem{}", d.slot) }),
            );
            return Err(e.into());
        }
        Ok(())
    }

    fn notify(&mut self, value: u8) -> Result<(), String> {
        // The byte is the value: `_EVT` notifies 0x81 for 0x81, else 0x80.
        self.notify
            .write_all(&[value])
            .map_err(|e| format!("notification line: {e}"))
    }
}

/// Serves the doorbell: each byte means "look at the mailbox".
fn serve_doorbell(mut conn: UnixStream, mailbox: Mailbox, platform: Arc<Mutex<Platform>>) {
    let mut buf = [0u8; 64];
    loop {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        while let Some(req) = mailbox.pending() {
            let (output, delay) = {
                let mut p = match platform.lock() {
                    Ok(p) => p,
                    Err(e) => e.into_inner(),
                };
                match req.kind {
                    KIND_DSM => {
                        let r = p.call(&DsmCall {
                            handle: req.handle,
                            uuid: req.uuid,
                            revision: req.revision,
                            function: req.function,
                            input: req.input.clone(),
                        });
                        (r.output, r.delay)
                    }
                    KIND_FIT => (p.fit(), None),
                    KIND_LABEL => {
                        let r = p.label_method(req.handle, req.function, req.input.as_deref());
                        (r.output, r.delay)
                    }
                    _ => {
                        p.counters.bad_requests += 1;
                        (
                            crate::model::STATUS_INVALID_INPUT.to_le_bytes().to_vec(),
                            None,
                        )
                    }
                }
            };
            if let Some(d) = delay {
                std::thread::sleep(d);
                // The AML gave up waiting and may already be writing its
                // next request into the payload area: a late answer would
                // overwrite it.
                if mailbox.seq() != req.seq {
                    let mut p = match platform.lock() {
                        Ok(p) => p,
                        Err(e) => e.into_inner(),
                    };
                    p.counters.abandoned += 1;
                    continue;
                }
            }
            mailbox.complete(req.seq, &output);
        }
    }
}

/// The most control connections served at once; one more is answered
/// with an error and closed.
pub const MAX_CONTROL_CONNECTIONS: usize = 8;

/// What [`read_line_within`] read.
#[derive(Debug, PartialEq, Eq)]
enum LineRead {
    End,
    Line,
    /// Longer than allowed: the rest of it was skipped.
    TooLong,
}

/// Reads one line of at most `max` bytes (the newline not included, not
/// kept) into `buf`; the rest of a longer line is read and dropped.
fn read_line_within(
    r: &mut impl BufRead,
    max: usize,
    buf: &mut Vec<u8>,
) -> std::io::Result<LineRead> {
    buf.clear();
    if r.take(max as u64 + 1).read_until(b'\n', buf)? == 0 {
        return Ok(LineRead::End);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        return Ok(LineRead::Line);
    }
    if buf.len() <= max {
        return Ok(LineRead::Line);
    }
    loop {
        let (done, used) = {
            let avail = r.fill_buf()?;
            match avail.iter().position(|b| *b == b'\n') {
                Some(i) => (true, i + 1),
                None => (avail.is_empty(), avail.len()),
            }
        };
        r.consume(used);
        if done {
            buf.clear();
            return Ok(LineRead::TooLong);
        }
    }
}

/// Serves control connections on the control socket: only peers whose
/// uid is `owner` (checked with `SO_PEERCRED`; others are closed unheard),
/// at most [`MAX_CONTROL_CONNECTIONS`] at once, lines of at most
/// [`crate::control::MAX_LINE`] bytes. `hotplug` takes backing files
/// under `dirs`.
pub fn serve_control(
    listener: UnixListener,
    platform: Arc<Mutex<Platform>>,
    owner: u32,
    dirs: crate::host::HotplugDirs,
) {
    let dirs = Arc::new(dirs);
    let open = Arc::new(AtomicUsize::new(0));
    for conn in listener.incoming() {
        let Ok(mut conn) = conn else { continue };
        match crate::host::peer_uid(&conn) {
            Ok(uid) if uid == owner => {}
            Ok(uid) => {
                eprintln!(
                    "nvdimm-vmm: control: connection from uid {uid} refused (only uid {owner} may connect)"
                );
                continue;
            }
            Err(e) => {
                eprintln!("nvdimm-vmm: control: no peer credentials ({e}); connection refused");
                continue;
            }
        }
        if open.load(Ordering::SeqCst) >= MAX_CONTROL_CONNECTIONS {
            let e = format!("more than {MAX_CONTROL_CONNECTIONS} control connections at once");
            eprintln!("nvdimm-vmm: control: {e}; connection refused");
            let _ = writeln!(conn, "{}", serde_json::json!({"ok": false, "error": e}));
            continue;
        }
        open.fetch_add(1, Ordering::SeqCst);
        let (platform, dirs, open) = (platform.clone(), dirs.clone(), open.clone());
        std::thread::spawn(move || {
            serve_control_connection(conn, &platform, &dirs);
            open.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

fn serve_control_connection(
    conn: UnixStream,
    platform: &Mutex<Platform>,
    dirs: &crate::host::HotplugDirs,
) {
    let Ok(mut out) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    let mut line = Vec::new();
    loop {
        let reply = match read_line_within(&mut reader, crate::control::MAX_LINE, &mut line) {
            Ok(LineRead::End) | Err(_) => return,
            Ok(LineRead::TooLong) => serde_json::json!({
                "ok": false,
                "error": format!("request longer than {} bytes", crate::control::MAX_LINE),
            }),
            Ok(LineRead::Line) => {
                let mut p = match platform.lock() {
                    Ok(p) => p,
                    Err(e) => e.into_inner(),
                };
                let text = String::from_utf8_lossy(&line);
                crate::control::handle(
                    &mut p,
                    text.trim(),
                    crate::control::Channel::Host { hotplug_dirs: dirs },
                )
            }
        };
        if writeln!(out, "{reply}").is_err() {
            return;
        }
    }
}

/// The results port: appended to `file`; `@@ VMM {json}` lines are
/// control requests whose replies go back to the guest as
/// `@@ VMM-REPLY {json}`.
fn serve_results(conn: UnixStream, file: PathBuf, platform: Arc<Mutex<Platform>>) {
    let Ok(mut out) = File::options().create(true).append(true).open(&file) else {
        eprintln!("nvdimm-vmm: cannot open {}", file.display());
        return;
    };
    let Ok(mut reply_to) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    let mut line = Vec::new();
    // The guest writes this port: a line longer than a request can be is
    // copied to the file in pieces and never taken for a request.
    let mut continuing = false;
    loop {
        line.clear();
        match (&mut reader)
            .take(crate::control::MAX_LINE as u64 + 16)
            .read_until(b'\n', &mut line)
        {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let _ = out.write_all(&line);
        let fragment = continuing;
        continuing = !line.ends_with(b"\n");
        if fragment || continuing {
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if let Some(req) = text.strip_prefix("@@ VMM ") {
            let reply = {
                let mut p = match platform.lock() {
                    Ok(p) => p,
                    Err(e) => e.into_inner(),
                };
                crate::control::handle(&mut p, req.trim(), crate::control::Channel::Guest)
            };
            let _ = writeln!(reply_to, "@@ VMM-REPLY {reply}");
        }
    }
}

fn accept_within(
    l: &UnixListener,
    child: &mut Child,
    limit: Duration,
) -> Result<UnixStream, String> {
    l.set_nonblocking(true).map_err(|e| e.to_string())?;
    let start = Instant::now();
    loop {
        match l.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).map_err(|e| e.to_string())?;
                return Ok(s);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e.to_string()),
        }
        if let Ok(Some(st)) = child.try_wait() {
            return Err(format!("QEMU exited with {st} before connecting"));
        }
        if start.elapsed() > limit {
            return Err("QEMU did not connect to the VMM's sockets".into());
        }
        if let Some(sig) = crate::host::stop_requested() {
            return Err(format!("stopped by signal {sig}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn bind(path: &Path) -> Result<UnixListener, String> {
    let _ = std::fs::remove_file(path);
    UnixListener::bind(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Creates and maps the card's register file and starts its ivshmem
/// server.
fn start_card(
    l: &Launch,
    card: Option<Box<dyn Device>>,
) -> Result<Option<crate::ivshmem::Transport>, String> {
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
        .map_err(|e| format!("{}: {e}", path.display()))?;
    // The register file the attachment asks for, a power of two as a BAR.
    let bytes = device.register_bytes().next_power_of_two() as u64;
    file.set_len(bytes)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let window =
        crate::ivshmem::Window::map(file).map_err(|e| format!("{}: {e}", path.display()))?;
    crate::ivshmem::Transport::start(&l.ocxl_socket(), window, c.vectors, device).map(Some)
}

/// Starts QEMU, serves the guest until it ends, and classifies the end.
/// `card` is the device model behind `--ocxlpmem` (if any); its transport
/// statistics are returned with the outcome.
pub fn run(
    l: &Launch,
    platform: Arc<Mutex<Platform>>,
    card: Option<Box<dyn Device>>,
) -> Result<(Outcome, Option<serde_json::Value>), String> {
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
        Some(p) => Some(
            crate::host::open_console_log(p, l.overwrite_console_log).map_err(|e| e.to_string())?,
        ),
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
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", l.qemu))?;
    let stderr = child.stderr.take().ok_or("no QEMU stderr")?;
    let errors = nvdimm_testkit::console::collect(stderr);
    let stdout = child.stdout.take().ok_or("no QEMU stdout")?;
    let console = nvdimm_testkit::console::copy(stdout, log, l.echo);

    let connect = (|| -> Result<(), String> {
        // QEMU connects its chardevs in command-line order.
        if let (Some(listener), Some(file)) = (&results, &l.results) {
            let conn = accept_within(listener, &mut child, Duration::from_secs(30))?;
            let (file, p) = (file.clone(), platform.clone());
            std::thread::spawn(move || serve_results(conn, file, p));
        }
        let conn = accept_within(&doorbell, &mut child, Duration::from_secs(30))?;
        let p = platform.clone();
        std::thread::spawn(move || serve_doorbell(conn, mailbox, p));
        if let Some(listener) = &notify {
            let conn = accept_within(listener, &mut child, Duration::from_secs(30))?;
            let mut p = match platform.lock() {
                Ok(p) => p,
                Err(e) => e.into_inner(),
            };
            p.hotplug = Some(crate::model::HotplugRoom {
                backend: Box::new(QemuHotplug {
                    qmp_socket: l.vmm_qmp_socket(),
                    qmp: None,
                    notify: conn,
                }),
                slots: l.hotplug_slots,
                limit: l.device_memory_end(),
                capabilities: l.capabilities,
            });
        }
        Ok(())
    })();
    if let Err(e) = connect {
        let _ = child.kill();
        let status = child.wait().map_err(|e| e.to_string())?;
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
                if panicked {
                    break Outcome::Panic;
                }
                if status.success() {
                    break Outcome::PowerOff;
                }
                break Outcome::QemuFailed(format!("QEMU exited with {status}: {}", err.trim()));
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
            Err(e) => return Err(format!("waiting for QEMU: {e}")),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{place, NvdimmConfig};

    #[test]
    fn command_line() {
        let c = NvdimmConfig::parse("path=/d/a.img,size=512M,label-size=128K").unwrap();
        let (dimms, end) = place(&[c]).unwrap();
        let l = Launch {
            qemu: "qemu-system-x86_64".into(),
            accel: "tcg".into(),
            kernel: "/k/bzImage".into(),
            initrd: Some("/k/initrd".into()),
            append: "console=ttyS0".into(),
            memory: 1 << 30,
            dimms,
            dimms_end: end,
            state_dir: "/s".into(),
            doorbell_port: 0xa40,
            mailbox_slot: 0x10,
            results: Some("/r/results.txt".into()),
            qmp: None,
            console_log: None,
            overwrite_console_log: false,
            echo: false,
            timeout: None,
            hotplug_slots: 0,
            capabilities: 0,
            notify_port: 0xa50,
            notify_irq: 5,
            flush_page: false,
            ocxlpmem: None,
            ocxl_slot: 0x11,
        };
        let a = l.args().join(" ");
        // Whole command lines, as they were before the pieces moved to
        // nvdimm-testkit.
        assert_eq!(
            a,
            "-machine pc -accel tcg -smp 1 -m 1024M,slots=1,maxmem=2048M -nodefaults \
             -no-user-config -display none -no-reboot -serial stdio \
             -chardev socket,id=nvres,path=/s/results.sock -serial chardev:nvres \
             -chardev socket,id=nvdb,path=/s/doorbell.sock \
             -device isa-debugcon,iobase=0xa40,chardev=nvdb \
             -object memory-backend-file,id=nvmb,share=on,mem-path=/s/mailbox,size=262144 \
             -device ivshmem-plain,memdev=nvmb,addr=0x10 \
             -object memory-backend-file,id=nvmem0,share=on,mem-path=/d/a.img,size=537001984 \
             -device pc-dimm,id=nvdimm0,memdev=nvmem0,addr=0x100000000 \
             -acpitable file=/s/nfit.aml -acpitable file=/s/ssdt.aml -kernel /k/bzImage \
             -initrd /k/initrd -append console=ttyS0 acpi_no_memhotplug"
        );
        let mut q = l.clone();
        q.qmp = Some("/s/user-qmp.sock".into());
        q.hotplug_slots = 1;
        q.flush_page = true;
        assert_eq!(
            q.args().join(" "),
            "-machine pc -accel tcg -smp 1 -m 1024M,slots=3,maxmem=63488M -nodefaults \
             -no-user-config -display none -no-reboot -serial stdio \
             -chardev socket,id=nvres,path=/s/results.sock -serial chardev:nvres \
             -chardev socket,id=nvdb,path=/s/doorbell.sock \
             -device isa-debugcon,iobase=0xa40,chardev=nvdb \
             -object memory-backend-file,id=nvmb,share=on,mem-path=/s/mailbox,size=262144 \
             -device ivshmem-plain,memdev=nvmb,addr=0x10 \
             -chardev socket,id=nvhp,path=/s/notify.sock \
             -device isa-serial,iobase=0xa50,irq=5,chardev=nvhp \
             -qmp unix:/s/vmm-qmp.sock,server=on,wait=off \
             -object memory-backend-file,id=nvmem0,share=on,mem-path=/d/a.img,size=537001984 \
             -device pc-dimm,id=nvdimm0,memdev=nvmem0,addr=0x100000000 \
             -object memory-backend-file,id=nvflush,share=on,mem-path=/s/flush-hints,size=2097152 \
             -device pc-dimm,id=nvflushd,memdev=nvflush,addr=0x1000000000 \
             -acpitable file=/s/nfit.aml -acpitable file=/s/ssdt.aml \
             -qmp unix:/s/user-qmp.sock,server=on,wait=off -kernel /k/bzImage \
             -initrd /k/initrd -append console=ttyS0 acpi_no_memhotplug"
        );
        assert!(a.contains("-machine pc -accel tcg"), "{a}");
        assert!(!a.contains("nvdimm=on"));
        assert!(a.contains("-m 1024M,slots=1,maxmem=2048M"), "{a}");
        assert!(a.contains(
            "memory-backend-file,id=nvmem0,share=on,mem-path=/d/a.img,size=537001984 -device pc-dimm,id=nvdimm0,memdev=nvmem0,addr=0x100000000"
        ), "{a}");
        assert!(a.contains("isa-debugcon,iobase=0xa40,chardev=nvdb"));
        assert!(a.contains("ivshmem-plain,memdev=nvmb,addr=0x10"));
        assert!(a.contains("-acpitable file=/s/nfit.aml -acpitable file=/s/ssdt.aml"));
        assert!(a.contains("-serial chardev:nvres"));
        assert!(
            a.ends_with("-append console=ttyS0 acpi_no_memhotplug"),
            "{a}"
        );
        assert!(!a.contains("nvflush"));
        assert!(!a.contains("ivshmem-doorbell"));
        // The flush hint page: one more slot, and device memory up to it.
        let l = Launch {
            flush_page: true,
            hotplug_slots: 2,
            ..l
        };
        let a = l.args().join(" ");
        assert!(a.contains("-m 1024M,slots=4,maxmem=63488M"), "{a}");
        assert!(
            a.contains(
                "memory-backend-file,id=nvflush,share=on,mem-path=/s/flush-hints,size=2097152 \
             -device pc-dimm,id=nvflushd,memdev=nvflush,addr=0x1000000000"
            ),
            "{a}"
        );
        // The card: a chardev on the VMM's ivshmem server, then the device.
        let l = Launch {
            ocxlpmem: Some(OcxlConfig::parse("path=/c/card.img,size=512M,vectors=4").unwrap()),
            ..l
        };
        let a = l.args().join(" ");
        assert!(
            a.contains(
                "-chardev socket,id=nvocxl,path=/s/ocxlpmem.sock \
                 -device ivshmem-doorbell,id=ocxlpmem0,chardev=nvocxl,vectors=4,addr=0x11"
            ),
            "{a}"
        );
        // Its memory: one more slot, device memory up to 65.5 GiB.
        assert!(
            a.contains(
                "-object memory-backend-file,id=nvocxlmem,share=on,mem-path=/c/card.img,\
                 size=536870912 -device pc-dimm,id=nvocxld,memdev=nvocxlmem,addr=0x1040000000"
            ),
            "{a}"
        );
        assert!(a.contains("-m 1024M,slots=5,maxmem=64512M"), "{a}");
    }

    #[test]
    fn results_port_requests() {
        let dir = std::env::temp_dir().join(format!("nvdimm-vmm-res-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("results.txt");
        let _ = std::fs::remove_file(&file);
        let p = Arc::new(Mutex::new(Platform::new(&[], vec![]).unwrap()));
        let (mut guest, vmm) = UnixStream::pair().unwrap();
        let f = file.clone();
        let t = std::thread::spawn(move || serve_results(vmm, f, p));
        // A huge line that contains a request is copied, not obeyed.
        let long = format!(
            "@@ VMM {{\"cmd\":\"ping\",\"x\":\"{}\"}}\n",
            "a".repeat(100_000)
        );
        guest.write_all(long.as_bytes()).unwrap();
        let rest = "@@ PASS x\r\n@@ VMM {\"cmd\":\"stats\"}\n\
                    @@ VMM {\"cmd\":\"hotplug\",\"nvdimm\":\"path=/etc/passwd\"}\n";
        guest.write_all(rest.as_bytes()).unwrap();
        let mut r = BufReader::new(guest.try_clone().unwrap());
        let mut reply = String::new();
        r.read_line(&mut reply).unwrap();
        assert!(
            reply.starts_with("@@ VMM-REPLY {\"ok\":true,\"stats\""),
            "{reply}"
        );
        reply.clear();
        r.read_line(&mut reply).unwrap();
        assert!(reply.contains("host request"), "{reply}");
        drop(r);
        guest.shutdown(std::net::Shutdown::Both).unwrap();
        t.join().unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(text, long + rest, "everything copied, in order");
        assert!(text.contains("@@ PASS x"));
    }

    #[test]
    fn control_lines_are_bounded() {
        let long = format!("{}\nnext\nlast", "x".repeat(10_000));
        let mut r = BufReader::with_capacity(64, long.as_bytes());
        let mut buf = Vec::new();
        assert_eq!(
            read_line_within(&mut r, 100, &mut buf).unwrap(),
            LineRead::TooLong
        );
        assert!(buf.is_empty());
        assert_eq!(
            read_line_within(&mut r, 100, &mut buf).unwrap(),
            LineRead::Line
        );
        assert_eq!(buf, b"next");
        assert_eq!(
            read_line_within(&mut r, 4, &mut buf).unwrap(),
            LineRead::Line
        );
        assert_eq!(buf, b"last");
        assert_eq!(
            read_line_within(&mut r, 4, &mut buf).unwrap(),
            LineRead::End
        );
    }

    fn control_server(name: &str, owner: u32) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("nvdimm-vmm-ctlsrv-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("control.sock");
        let l = UnixListener::bind(&sock).unwrap();
        let p = Arc::new(Mutex::new(Platform::new(&[], vec![]).unwrap()));
        std::thread::spawn(move || serve_control(l, p, owner, Default::default()));
        sock
    }

    fn request(s: &mut BufReader<UnixStream>, line: &str) -> String {
        let _ = writeln!(s.get_mut(), "{line}");
        let mut reply = String::new();
        let _ = s.read_line(&mut reply);
        reply
    }

    #[test]
    fn control_peers_of_another_uid_are_not_heard() {
        // Served for a uid that is not ours: our own connection is closed
        // before any request is handled.
        let sock = control_server("uid", crate::host::euid().wrapping_add(1));
        let mut s = BufReader::new(UnixStream::connect(&sock).unwrap());
        assert_eq!(request(&mut s, r#"{"cmd":"ping"}"#), "");
    }

    #[test]
    fn control_connections_and_lines_are_capped() {
        let sock = control_server("cap", crate::host::euid());
        let mut open: Vec<_> = (0..MAX_CONTROL_CONNECTIONS)
            .map(|_| BufReader::new(UnixStream::connect(&sock).unwrap()))
            .collect();
        for s in &mut open {
            assert!(request(s, r#"{"cmd":"ping"}"#).contains("true"));
        }
        let mut extra = BufReader::new(UnixStream::connect(&sock).unwrap());
        let mut reply = String::new();
        extra.read_line(&mut reply).unwrap();
        assert!(reply.contains("control connections at once"), "{reply}");
        reply.clear();
        assert_eq!(extra.read_line(&mut reply).unwrap(), 0, "then closed");
        // A line past the limit is refused; the connection goes on.
        let s = &mut open[0];
        let long = "x".repeat(crate::control::MAX_LINE + 1);
        assert!(request(s, &long).contains("longer than"));
        assert!(request(s, r#"{"cmd":"ping"}"#).contains("true"));
    }
}
