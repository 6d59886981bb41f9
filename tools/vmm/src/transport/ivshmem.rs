// SPDX-License-Identifier: GPL-2.0
//! The `ivshmem-doorbell` transport: serves a register-file device model
//! ([`crate::devices::card::Device`]) to a QEMU guest through QEMU's standard
//! `ivshmem-doorbell` PCI device.
//!
//! The VMM runs its own ivshmem server (the protocol of QEMU's
//! `docs/specs/ivshmem-spec.rst`) on a Unix socket that QEMU's
//! `-chardev socket` connects to. There are exactly two peers:
//!
//! - the VMM, peer [`VMM_PEER`] (0), which never connects to itself: its
//!   eventfds are created here and handed to the guest's QEMU as the
//!   "connect notification" of an existing peer, so a guest write of
//!   `VMM_PEER << 16 | vector` to the Doorbell register (BAR0 + 12)
//!   signals the VMM;
//! - the guest, peer [`GUEST_PEER`] (1), which reads that id from the
//!   IVPosition register (BAR0 + 8). Its eventfds (one per MSI-X vector)
//!   are created here too: writing one raises that vector in the guest.
//!
//! The shared memory (BAR2) is a regular file, mapped by QEMU and by the
//! VMM ([`Window`]): the model's register file ([`Device::register_bytes`],
//! rounded up to a power of two as a BAR's size). A device's memory is
//! not in it: mapping a BAR's registers would make all of it uncached and
//! busy for the guest's kernel, so memory is attached otherwise (the
//! OpenCAPI pmem card's is a `pc-dimm`, see `ocxl::attached`).
//!
//! On connect the server sends, as 8-byte little-endian signed numbers
//! (file descriptors by `SCM_RIGHTS`, one per message): the protocol
//! version 0; the client's id; -1 with the shared-memory fd; the VMM's id
//! once per vector with the VMM's eventfd of that vector; the client's own
//! id once per vector with its eventfd of that vector. QEMU reads the
//! first three synchronously while it realizes the device, the rest from
//! its main loop.
//!
//! An event loop thread waits (epoll) on the VMM's eventfds, the socket and a
//! stop eventfd: a doorbell calls [`Device::doorbell`], every [`TICK`]
//! [`Device::tick`] runs, and the vectors either returns are raised on
//! the guest's eventfds. Vectors the device does not have are dropped
//! (counted). Everything the guest controls is bounds-checked: register
//! accesses are clipped to the register file, doorbell vectors past the
//! configured count never reach the VMM (QEMU drops them), and whatever a
//! client sends on the socket is read and discarded.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use vmm_sys_util::epoll::{ControlOperation, Epoll, EpollEvent, EventSet};
use vmm_sys_util::eventfd::{EventFd, EFD_CLOEXEC, EFD_NONBLOCK};
use vmm_sys_util::sock_ctrl_msg::ScmSocket;

use crate::devices::card::{Device, Registers, Vectors};
use crate::shm::SharedFile;

/// The ivshmem client-server protocol version.
pub const PROTOCOL_VERSION: i64 = 0;
/// The VMM's peer id: the guest rings `VMM_PEER << 16 | vector`.
pub const VMM_PEER: u16 = 0;
/// The guest's peer id (its IVPosition register).
pub const GUEST_PEER: u16 = 1;
/// The most interrupt vectors (a [`Vectors`] mask has 32 bits; QEMU's
/// Doorbell register takes 8 bits of vector).
pub const MAX_VECTORS: u32 = 32;
/// The smallest shared window the transport maps (a page).
pub const MIN_WINDOW: u64 = 4096;
/// How often [`Device::tick`] runs.
pub const TICK: Duration = Duration::from_millis(10);

/// Why the shared window cannot be mapped or the transport cannot start.
#[derive(Debug, thiserror::Error)]
pub enum IvshmemError {
    #[error("the shared window: {0}")]
    WindowFile(#[source] io::Error),
    #[error("the shared window is {0} bytes: it must be a power of two of at least {MIN_WINDOW}")]
    WindowSize(u64),
    #[error(transparent)]
    WindowMap(#[from] crate::shm::ShmError),
    #[error("vectors={0}: expected 1 to {MAX_VECTORS}")]
    Vectors(u32),
    #[error("the device needs {needs} bytes of registers, the window has {window}")]
    RegistersTooLarge { needs: usize, window: usize },
    #[error("{}: {source}", path.display())]
    Socket {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("eventfd: {0}")]
    EventFd(#[source] io::Error),
    #[error("epoll: {0}")]
    Epoll(#[source] io::Error),
    #[error("cannot start the ivshmem thread: {0}")]
    Thread(#[source] io::Error),
}

/// A non-blocking, close-on-exec eventfd.
fn eventfd() -> Result<EventFd, IvshmemError> {
    EventFd::new(EFD_CLOEXEC | EFD_NONBLOCK).map_err(IvshmemError::EventFd)
}

/// Adds 1 to `e`'s counter; a full counter is still signalled, so its
/// `EAGAIN` is success.
fn signal(e: &EventFd) -> io::Result<()> {
    match e.write(1) {
        Err(err) if err.kind() == io::ErrorKind::WouldBlock => Ok(()),
        r => r,
    }
}

/// Reads and clears `e`'s counter (0 when it was not signalled).
fn drain(e: &EventFd) -> u64 {
    e.read().unwrap_or(0)
}

/// Sends one protocol message: `value` as 8 little-endian bytes, with
/// `fd` attached by `SCM_RIGHTS` when given.
pub fn send_msg(sock: &UnixStream, value: i64, fd: Option<RawFd>) -> io::Result<()> {
    let bytes = value.to_le_bytes();
    loop {
        match sock.send_with_fds(&[&bytes[..]], fd.as_slice()) {
            Ok(n) if n == bytes.len() => return Ok(()),
            Ok(_) => return Err(io::Error::new(io::ErrorKind::WriteZero, "short send")),
            Err(e) if e.errno() == libc::EINTR => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// The most descriptors [`recv_msg`] takes with one message, as QEMU's
/// socket chardev (`TCP_MAX_FDS`). Even, so that the control buffer has
/// no room for another one: `CMSG_SPACE` rounds up to 8 bytes, and
/// vmm-sys-util 0.15's `recv_with_fd` leaks a second descriptor that fits
/// the rounding (the test below).
#[cfg(test)]
const MAX_MSG_FDS: usize = 16;

/// Receives one protocol message: the value and the first descriptor
/// that came with it (a client's side: tests). Other descriptors are
/// closed; a message with more than [`MAX_MSG_FDS`] is an error
/// (`ENOBUFS`), and all of them are closed.
#[cfg(test)]
pub fn recv_msg(sock: &UnixStream) -> io::Result<(i64, Option<File>)> {
    use std::os::fd::FromRawFd;

    let mut bytes = [0u8; 8];
    let mut got = 0;
    let mut fd = None;
    while got < bytes.len() {
        let mut iov = [libc::iovec {
            iov_base: bytes[got..].as_mut_ptr().cast(),
            iov_len: bytes.len() - got,
        }];
        let mut raw: [RawFd; MAX_MSG_FDS] = [-1; MAX_MSG_FDS];
        // SAFETY: `iov` is the unread tail of `bytes`, a live local that
        // may take any bytes.
        let (n, count) = match unsafe { sock.recv_with_fds(&mut iov, &mut raw) } {
            Ok(r) => r,
            Err(e) if e.errno() == libc::EINTR => continue,
            Err(e) => return Err(e.into()),
        };
        let received: Vec<File> = raw[..count]
            .iter()
            // SAFETY: the first `count` descriptors are new in this
            // process and ours; each is wrapped exactly once.
            .map(|&r| unsafe { File::from_raw_fd(r) })
            .collect();
        // The first is kept; the others close as they drop.
        fd = fd.or(received.into_iter().next());
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        got += n;
    }
    Ok((i64::from_le_bytes(bytes), fd))
}

/// The shared window (BAR2): the whole backing file, mapped shared.
#[derive(Debug)]
pub struct Window(SharedFile);

impl Window {
    /// Maps `file` (read-write), whose size must be a power of two of at
    /// least [`MIN_WINDOW`] bytes (a PCI BAR's size).
    pub fn map(file: File) -> Result<Self, IvshmemError> {
        let len = file.metadata().map_err(IvshmemError::WindowFile)?.len();
        if len < MIN_WINDOW || !len.is_power_of_two() {
            return Err(IvshmemError::WindowSize(len));
        }
        Ok(Window(SharedFile::map(file)?))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The backing file (its descriptor goes to QEMU).
    pub fn file(&self) -> &File {
        self.0.file()
    }

    /// The first `bytes` of the window (at most all of it) as a register
    /// file.
    pub fn registers(&self, bytes: usize) -> WindowRegisters<'_> {
        WindowRegisters {
            shm: &self.0,
            len: bytes.min(self.len()),
        }
    }
}

/// A register file over the start of a [`Window`]: little-endian,
/// volatile (the guest writes concurrently), clipped to its length.
pub struct WindowRegisters<'a> {
    shm: &'a SharedFile,
    len: usize,
}

impl WindowRegisters<'_> {
    /// The in-bounds part of `[offset, offset + n)`: `(start, count)`.
    fn clip(&self, offset: usize, n: usize) -> (usize, usize) {
        let start = offset.min(self.len);
        let end = offset.saturating_add(n).min(self.len);
        (start, end - start)
    }
}

impl Registers for WindowRegisters<'_> {
    fn len(&self) -> usize {
        self.len
    }

    fn read(&self, offset: usize, buf: &mut [u8]) {
        buf.fill(0);
        let (start, n) = self.clip(offset, buf.len());
        self.shm.read(start, &mut buf[..n]);
    }

    fn write(&mut self, offset: usize, data: &[u8]) {
        let (start, n) = self.clip(offset, data.len());
        self.shm.write(start, &data[..n]);
    }
}

/// What the transport did (read by the VMM at the end and by tests).
#[derive(Debug, Default)]
pub struct Stats {
    /// Guest connections served (QEMU connects once per run).
    pub connections: AtomicU64,
    /// Connections refused while a guest was connected.
    pub refused: AtomicU64,
    /// Guest disconnections seen.
    pub disconnects: AtomicU64,
    /// `Device::doorbell` calls.
    pub doorbells: AtomicU64,
    /// `Device::tick` calls.
    pub ticks: AtomicU64,
    /// Interrupts raised (one per vector per call).
    pub raised: AtomicU64,
    /// Vectors a model returned that the device does not have.
    pub dropped: AtomicU64,
}

impl Stats {
    pub fn json(&self) -> serde_json::Value {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        serde_json::json!({
            "connections": g(&self.connections),
            "refused": g(&self.refused),
            "disconnects": g(&self.disconnects),
            "doorbells": g(&self.doorbells),
            "ticks": g(&self.ticks),
            "raised": g(&self.raised),
            "dropped_vectors": g(&self.dropped),
        })
    }
}

/// A running transport: the server socket and the event loop thread.
/// Dropping it stops the thread and removes the socket.
pub struct Transport {
    stop: Arc<EventFd>,
    thread: Option<JoinHandle<()>>,
    socket: PathBuf,
    pub stats: Arc<Stats>,
}

/// What an epoll event of the event loop is about (its data word);
/// [`DOORBELL`] + n is the VMM's eventfd of vector n.
const STOP: u64 = 0;
const LISTENER: u64 = 1;
const CLIENT: u64 = 2;
const DOORBELL: u64 = 3;

/// The event loop's state.
struct Server {
    listener: UnixListener,
    client: Option<UnixStream>,
    window: Window,
    device: Box<dyn Device>,
    /// The VMM's eventfds (the guest rings them), one per vector.
    vmm: Vec<EventFd>,
    /// The guest's eventfds (the VMM raises them), one per vector.
    guest: Vec<EventFd>,
    /// Waits on `stop`, `listener`, `client` (while there is one) and
    /// `vmm`, level-triggered.
    epoll: Epoll,
    /// The stop eventfd, held so that what `epoll` watches stays open.
    _stop: Arc<EventFd>,
    stats: Arc<Stats>,
    /// Whether a guest was ever connected (a later one gets a reset).
    served: bool,
}

/// Adds `fd` to `epoll`'s readable set with the event data `token`.
fn watch(epoll: &Epoll, fd: RawFd, token: u64) -> io::Result<()> {
    epoll.ctl(
        ControlOperation::Add,
        fd,
        EpollEvent::new(EventSet::IN, token),
    )
}

impl Transport {
    /// Binds `socket` (replacing a stale one), resets the device and
    /// starts serving.
    pub fn start(
        socket: &Path,
        window: Window,
        vectors: u32,
        mut device: Box<dyn Device>,
    ) -> Result<Self, IvshmemError> {
        if vectors == 0 || vectors > MAX_VECTORS {
            return Err(IvshmemError::Vectors(vectors));
        }
        if device.register_bytes() > window.len() {
            return Err(IvshmemError::RegistersTooLarge {
                needs: device.register_bytes(),
                window: window.len(),
            });
        }
        let socket_error = |source| IvshmemError::Socket {
            path: socket.to_path_buf(),
            source,
        };
        let _ = std::fs::remove_file(socket);
        let listener = UnixListener::bind(socket).map_err(socket_error)?;
        listener.set_nonblocking(true).map_err(socket_error)?;
        let vmm = (0..vectors)
            .map(|_| eventfd())
            .collect::<Result<Vec<_>, _>>()?;
        let guest = (0..vectors)
            .map(|_| eventfd())
            .collect::<Result<Vec<_>, _>>()?;
        let stop = Arc::new(eventfd()?);
        let epoll = Epoll::new().map_err(IvshmemError::Epoll)?;
        watch(&epoll, stop.as_raw_fd(), STOP)
            .and_then(|()| watch(&epoll, listener.as_raw_fd(), LISTENER))
            .and_then(|()| {
                (DOORBELL..)
                    .zip(&vmm)
                    .try_for_each(|(token, e)| watch(&epoll, e.as_raw_fd(), token))
            })
            .map_err(IvshmemError::Epoll)?;
        let stats = Arc::new(Stats::default());
        device.reset(&mut window.registers(device.register_bytes()));
        let mut server = Server {
            listener,
            client: None,
            window,
            device,
            vmm,
            guest,
            epoll,
            _stop: stop.clone(),
            stats: stats.clone(),
            served: false,
        };
        let thread = std::thread::Builder::new()
            .name("ivshmem".into())
            .spawn(move || server.run())
            .map_err(IvshmemError::Thread)?;
        Ok(Transport {
            stop,
            thread: Some(thread),
            socket: socket.to_path_buf(),
            stats,
        })
    }
}

impl Drop for Transport {
    fn drop(&mut self) {
        let _ = signal(&self.stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}

impl Server {
    fn run(&mut self) {
        let mut next_tick = Instant::now() + TICK;
        // Room for every watched descriptor at once.
        let mut events = vec![EpollEvent::default(); DOORBELL as usize + self.vmm.len()];
        loop {
            let wait = next_tick.saturating_duration_since(Instant::now());
            let ms = wait.as_millis().min(1000) as i32 + 1;
            let n = match self.epoll.wait(ms, &mut events) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
                Err(e) => {
                    log::warn!("ivshmem: epoll_wait: {e}; the transport stops");
                    return;
                }
            };
            let ready = &events[..n];
            if ready.iter().any(|e| e.data() == STOP) {
                return;
            }
            if ready.iter().any(|e| e.data() == LISTENER) {
                self.accept();
            }
            if ready.iter().any(|e| e.data() == CLIENT) {
                self.client_input();
            }
            let mut rang = false;
            for token in ready.iter().map(EpollEvent::data) {
                // Drain every ringing vector: one model call for all.
                let vector = token.checked_sub(DOORBELL).map(|v| v as usize);
                if let Some(e) = vector.and_then(|v| self.vmm.get(v)) {
                    rang |= drain(e) > 0;
                }
            }
            if rang {
                self.stats.doorbells.fetch_add(1, Ordering::Relaxed);
                let bytes = self.device.register_bytes();
                let v = self.device.doorbell(&mut self.window.registers(bytes));
                self.raise(v);
            }
            let now = Instant::now();
            if now >= next_tick {
                self.stats.ticks.fetch_add(1, Ordering::Relaxed);
                let bytes = self.device.register_bytes();
                let v = self.device.tick(&mut self.window.registers(bytes));
                self.raise(v);
                next_tick += TICK;
                if next_tick < now {
                    next_tick = now + TICK;
                }
            }
        }
    }

    fn raise(&self, vectors: Vectors) {
        for v in 0..MAX_VECTORS {
            if vectors & (1 << v) == 0 {
                continue;
            }
            match self.guest.get(v as usize) {
                Some(e) if signal(e).is_ok() => {
                    self.stats.raised.fetch_add(1, Ordering::Relaxed);
                }
                _ => {
                    self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    fn accept(&mut self) {
        let Ok((conn, _)) = self.listener.accept() else {
            return;
        };
        if self.client.is_some() {
            // Exactly one guest peer: a second client is closed unserved.
            self.stats.refused.fetch_add(1, Ordering::Relaxed);
            log::warn!("ivshmem: refused a second client while the guest is connected");
            return;
        }
        if self.served {
            // A new guest (a new QEMU): the card powers on again.
            let bytes = self.device.register_bytes();
            self.device.reset(&mut self.window.registers(bytes));
        }
        if let Err(e) = self.setup(&conn) {
            log::warn!("ivshmem: setting up a client: {e}");
            return;
        }
        let _ = conn.set_nonblocking(true);
        if let Err(e) = watch(&self.epoll, conn.as_raw_fd(), CLIENT) {
            // Unwatched, a disconnect would go unseen and hold the slot.
            log::warn!("ivshmem: watching a client: {e}");
            return;
        }
        log::info!("ivshmem: guest connected as peer {GUEST_PEER}");
        self.client = Some(conn);
        self.served = true;
        self.stats.connections.fetch_add(1, Ordering::Relaxed);
    }

    /// The server's side of a connection (see the module comment).
    fn setup(&self, conn: &UnixStream) -> io::Result<()> {
        conn.set_nonblocking(false)?;
        conn.set_write_timeout(Some(Duration::from_secs(5)))?;
        send_msg(conn, PROTOCOL_VERSION, None)?;
        send_msg(conn, i64::from(GUEST_PEER), None)?;
        send_msg(conn, -1, Some(self.window.file().as_raw_fd()))?;
        for e in &self.vmm {
            send_msg(conn, i64::from(VMM_PEER), Some(e.as_raw_fd()))?;
        }
        for e in &self.guest {
            send_msg(conn, i64::from(GUEST_PEER), Some(e.as_raw_fd()))?;
        }
        Ok(())
    }

    /// The client never speaks: discard anything (descriptors it attaches
    /// are closed by the kernel, as `read` takes no control data), notice
    /// a disconnect.
    fn client_input(&mut self) {
        let Some(c) = &mut self.client else { return };
        let mut buf = [0u8; 256];
        loop {
            match c.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        if let Some(c) = self.client.take() {
            // Explicitly: epoll forgets a descriptor only with its last copy.
            let _ = self.epoll.ctl(
                ControlOperation::Delete,
                c.as_raw_fd(),
                EpollEvent::default(),
            );
        }
        log::info!("ivshmem: guest disconnected");
        self.stats.disconnects.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests;
