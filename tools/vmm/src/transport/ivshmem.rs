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
//! An event loop thread waits on the VMM's eventfds, the socket and a
//! stop eventfd: a doorbell calls [`Device::doorbell`], every [`TICK`]
//! [`Device::tick`] runs, and the vectors either returns are raised on
//! the guest's eventfds. Vectors the device does not have are dropped
//! (counted). Everything the guest controls is bounds-checked: register
//! accesses are clipped to the register file, doorbell vectors past the
//! configured count never reach the VMM (QEMU drops them), and whatever a
//! client sends on the socket is read and discarded.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

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

/// A Linux eventfd (non-blocking, close-on-exec).
#[derive(Debug)]
pub struct EventFd(OwnedFd);

impl EventFd {
    pub fn new() -> io::Result<Self> {
        // SAFETY: eventfd has no memory arguments; the result is checked.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor that nothing else owns.
        Ok(EventFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Adds 1 to the counter (a full counter stays signalled).
    pub fn signal(&self) -> io::Result<()> {
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes 8 bytes from a live local buffer.
        let n = unsafe { libc::write(self.0.as_raw_fd(), one.as_ptr().cast(), 8) };
        if n == 8 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::WouldBlock {
            Ok(())
        } else {
            Err(e)
        }
    }

    /// Reads and clears the counter (0 when it was not signalled).
    pub fn drain(&self) -> u64 {
        let mut buf = [0u8; 8];
        // SAFETY: reads at most 8 bytes into a live local buffer.
        let n = unsafe { libc::read(self.0.as_raw_fd(), buf.as_mut_ptr().cast(), 8) };
        if n == 8 {
            u64::from_ne_bytes(buf)
        } else {
            0
        }
    }

    pub fn raw(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

/// Sends one protocol message: `value` as 8 little-endian bytes, with
/// `fd` attached by `SCM_RIGHTS` when given.
pub fn send_msg(sock: &UnixStream, value: i64, fd: Option<RawFd>) -> io::Result<()> {
    let bytes = value.to_le_bytes();
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    // Room for one descriptor, aligned for cmsghdr.
    let mut cbuf = [0u64; 4];
    // SAFETY: a zeroed msghdr is a valid "no name, no control" header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if let Some(fd) = fd {
        // SAFETY: CMSG_SPACE only computes a size.
        let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as usize;
        assert!(space <= std::mem::size_of_val(&cbuf));
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        // SAFETY: msg_control points to `space` bytes of suitably aligned
        // memory, so the first header and its data are inside it.
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as _;
            std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<RawFd>(), fd);
        }
    }
    loop {
        // SAFETY: msg and everything it points to live across the call.
        let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
        if n == bytes.len() as isize {
            return Ok(());
        }
        if n >= 0 {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short send"));
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Receives one protocol message: the value and the descriptor that came
/// with it (a client's side: tests).
#[cfg(test)]
pub fn recv_msg(sock: &UnixStream) -> io::Result<(i64, Option<OwnedFd>)> {
    let mut bytes = [0u8; 8];
    let mut got = 0;
    let mut fd = None;
    while got < 8 {
        let mut iov = libc::iovec {
            iov_base: bytes[got..].as_mut_ptr().cast(),
            iov_len: 8 - got,
        };
        let mut cbuf = [0u64; 8];
        // SAFETY: a zeroed msghdr is a valid empty header.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&cbuf) as _;
        // SAFETY: msg points to live buffers of the sizes it names.
        let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        got += n as usize;
        // SAFETY: walks the control headers the kernel wrote into cbuf,
        // bounded by msg_controllen; data is read unaligned.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                    let data = libc::CMSG_DATA(c);
                    let len = (*c).cmsg_len as usize - (data as usize - c as usize);
                    for i in 0..len / std::mem::size_of::<RawFd>() {
                        let raw = std::ptr::read_unaligned(data.cast::<RawFd>().add(i));
                        let owned = OwnedFd::from_raw_fd(raw);
                        // Keep the first; others are closed on drop.
                        if fd.is_none() {
                            fd = Some(owned);
                        }
                    }
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
    }
    Ok((i64::from_le_bytes(bytes), fd))
}

/// The shared window (BAR2): the whole backing file, mapped shared.
#[derive(Debug)]
pub struct Window(SharedFile);

impl Window {
    /// Maps `file` (read-write), whose size must be a power of two of at
    /// least [`MIN_WINDOW`] bytes (a PCI BAR's size).
    pub fn map(file: File) -> Result<Self, String> {
        let len = file.metadata().map_err(|e| e.to_string())?.len();
        if len < MIN_WINDOW || !len.is_power_of_two() {
            return Err(format!(
                "the shared window is {len} bytes: it must be a power of two of at least {MIN_WINDOW}"
            ));
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
    stop: Arc<EventFd>,
    stats: Arc<Stats>,
    /// Whether a guest was ever connected (a later one gets a reset).
    served: bool,
}

impl Transport {
    /// Binds `socket` (replacing a stale one), resets the device and
    /// starts serving.
    pub fn start(
        socket: &Path,
        window: Window,
        vectors: u32,
        mut device: Box<dyn Device>,
    ) -> Result<Self, String> {
        if vectors == 0 || vectors > MAX_VECTORS {
            return Err(format!("vectors={vectors}: expected 1 to {MAX_VECTORS}"));
        }
        if device.register_bytes() > window.len() {
            return Err(format!(
                "the device needs {} bytes of registers, the window has {}",
                device.register_bytes(),
                window.len()
            ));
        }
        let _ = std::fs::remove_file(socket);
        let listener =
            UnixListener::bind(socket).map_err(|e| format!("{}: {e}", socket.display()))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("{}: {e}", socket.display()))?;
        let fds = |n| -> Result<Vec<EventFd>, String> {
            (0..n)
                .map(|_| EventFd::new().map_err(|e| format!("eventfd: {e}")))
                .collect()
        };
        let vmm = fds(vectors)?;
        let guest = fds(vectors)?;
        let stop = Arc::new(EventFd::new().map_err(|e| format!("eventfd: {e}"))?);
        let stats = Arc::new(Stats::default());
        device.reset(&mut window.registers(device.register_bytes()));
        let mut server = Server {
            listener,
            client: None,
            window,
            device,
            vmm,
            guest,
            stop: stop.clone(),
            stats: stats.clone(),
            served: false,
        };
        let thread = std::thread::Builder::new()
            .name("ivshmem".into())
            .spawn(move || server.run())
            .map_err(|e| format!("cannot start the ivshmem thread: {e}"))?;
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
        let _ = self.stop.signal();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}

impl Server {
    fn run(&mut self) {
        let mut next_tick = Instant::now() + TICK;
        loop {
            let mut fds = vec![
                pollin(self.stop.raw()),
                pollin(self.listener.as_raw_fd()),
                pollin(self.client.as_ref().map_or(-1, |c| c.as_raw_fd())),
            ];
            fds.extend(self.vmm.iter().map(|e| pollin(e.raw())));
            let wait = next_tick.saturating_duration_since(Instant::now());
            let ms = wait.as_millis().min(1000) as libc::c_int + 1;
            // SAFETY: fds is a live array of fds.len() pollfd entries.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
            if n < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                eprintln!("nvdimm-vmm: ivshmem: poll: {}", io::Error::last_os_error());
                return;
            }
            let ready = |i: usize| n > 0 && fds[i].revents != 0;
            if ready(0) {
                return;
            }
            if ready(1) {
                self.accept();
            }
            if ready(2) {
                self.client_input();
            }
            let mut rang = false;
            for (p, e) in fds[3..].iter().zip(&self.vmm) {
                // Drain every ringing vector: one model call for all.
                if n > 0 && p.revents != 0 && e.drain() > 0 {
                    rang = true;
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
                Some(e) if e.signal().is_ok() => {
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
            return;
        }
        if self.served {
            // A new guest (a new QEMU): the card powers on again.
            let bytes = self.device.register_bytes();
            self.device.reset(&mut self.window.registers(bytes));
        }
        if let Err(e) = self.setup(&conn) {
            eprintln!("nvdimm-vmm: ivshmem: setting up a client: {e}");
            return;
        }
        let _ = conn.set_nonblocking(true);
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
            send_msg(conn, i64::from(VMM_PEER), Some(e.raw()))?;
        }
        for e in &self.guest {
            send_msg(conn, i64::from(GUEST_PEER), Some(e.raw()))?;
        }
        Ok(())
    }

    /// The client never speaks: discard anything, notice a disconnect.
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
        self.client = None;
        self.stats.disconnects.fetch_add(1, Ordering::Relaxed);
    }
}

fn pollin(fd: RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("nvdimm-vmm-ivshmem-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d.join(name)
    }

    fn window(name: &str, len: u64) -> (PathBuf, Window) {
        let p = tmp(name);
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&p)
            .unwrap();
        f.set_len(len).unwrap();
        (p, Window::map(f).unwrap())
    }

    /// What the test model saw, shared with the test.
    #[derive(Default)]
    struct Seen {
        resets: u32,
        doorbells: u32,
        ticks: u32,
    }

    /// A tiny model: magic at 0 on reset; on doorbell copies 0x08 to 0x10
    /// and raises the vectors named at 0x18 (any, even invalid ones).
    struct Echo(Arc<Mutex<Seen>>);

    impl Device for Echo {
        fn register_bytes(&self) -> usize {
            0x100
        }
        fn reset(&mut self, regs: &mut dyn Registers) {
            self.0.lock().unwrap().resets += 1;
            regs.write_u64(0, 0xec40);
        }
        fn doorbell(&mut self, regs: &mut dyn Registers) -> Vectors {
            self.0.lock().unwrap().doorbells += 1;
            let v = regs.read_u64(0x08);
            regs.write_u64(0x10, v);
            // Past the register file: dropped, no panic.
            regs.write_u64(0x100, u64::MAX);
            regs.read_u32(0x18)
        }
        fn tick(&mut self, _regs: &mut dyn Registers) -> Vectors {
            self.0.lock().unwrap().ticks += 1;
            0
        }
    }

    /// A fake QEMU: connects and collects everything the server sends.
    struct Client {
        sock: UnixStream,
        id: i64,
        shm: File,
        /// The VMM's eventfds (ring them) and ours (wait on them).
        vmm: Vec<OwnedFd>,
        own: Vec<OwnedFd>,
    }

    fn connect(path: &Path, vectors: usize) -> Client {
        let sock = UnixStream::connect(path).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let (v, fd) = recv_msg(&sock).unwrap();
        assert_eq!((v, fd.is_none()), (PROTOCOL_VERSION, true));
        let (id, fd) = recv_msg(&sock).unwrap();
        assert!(fd.is_none());
        let (m, shm) = recv_msg(&sock).unwrap();
        assert_eq!(m, -1);
        let mut vmm = Vec::new();
        let mut own = Vec::new();
        for _ in 0..2 * vectors {
            let (peer, fd) = recv_msg(&sock).unwrap();
            let fd = fd.expect("an eventfd with every peer message");
            if peer == id {
                own.push(fd);
            } else {
                assert_eq!(peer, i64::from(VMM_PEER));
                vmm.push(fd);
            }
        }
        Client {
            sock,
            id,
            shm: File::from(shm.unwrap()),
            vmm,
            own,
        }
    }

    fn write_fd(fd: &OwnedFd, v: u64) {
        // SAFETY: 8 bytes from a live local.
        let n = unsafe { libc::write(fd.as_raw_fd(), v.to_ne_bytes().as_ptr().cast(), 8) };
        assert_eq!(n, 8);
    }

    /// Waits up to 5 s for the eventfd; returns its counter.
    fn wait_fd(fd: &OwnedFd, ms: i32) -> u64 {
        let mut p = [pollin(fd.as_raw_fd())];
        // SAFETY: one live pollfd.
        if unsafe { libc::poll(p.as_mut_ptr(), 1, ms) } != 1 {
            return 0;
        }
        let mut b = [0u8; 8];
        // SAFETY: 8 bytes into a live local.
        let n = unsafe { libc::read(fd.as_raw_fd(), b.as_mut_ptr().cast(), 8) };
        if n == 8 {
            u64::from_ne_bytes(b)
        } else {
            0
        }
    }

    fn read_u64(shm: &File, off: u64) -> u64 {
        use std::os::unix::fs::FileExt;
        let mut b = [0u8; 8];
        shm.read_exact_at(&mut b, off).unwrap();
        u64::from_le_bytes(b)
    }

    fn write_u64(shm: &File, off: u64, v: u64) {
        use std::os::unix::fs::FileExt;
        shm.write_all_at(&v.to_le_bytes(), off).unwrap();
    }

    #[test]
    fn window_registers_are_bounded() {
        let (p, w) = window("regs.img", 8192);
        let mut r = w.registers(16);
        assert_eq!(Registers::len(&r), 16);
        r.write_u64(8, 0x1122_3344_5566_7788);
        assert_eq!(r.read_u32(12), 0x1122_3344);
        assert_eq!(r.read_u32(9), 0x4455_6677);
        // Past the end: zero, dropped, no panic (even at usize::MAX).
        r.write_u64(12, u64::MAX);
        assert_eq!(r.read_u64(12), 0xffff_ffff);
        assert_eq!(r.read_u64(100), 0);
        r.write_u32(usize::MAX, 1);
        assert_eq!(r.read_u64(usize::MAX - 3), 0);
        // What the registers wrote is in the file.
        let f = File::open(&p).unwrap();
        assert_eq!(read_u64(&f, 8), 0xffff_ffff_5566_7788);
        assert_eq!(read_u64(&f, 16), 0, "nothing past the register file");
        // Sizes that cannot be a BAR are refused.
        let bad = tmp("bad.img");
        let f = File::create(&bad).unwrap();
        f.set_len(12288).unwrap();
        assert!(Window::map(f).unwrap_err().contains("power of two"));
        let _ = std::fs::remove_file(p);
        let _ = std::fs::remove_file(bad);
    }

    #[test]
    fn fake_client_rings_and_is_interrupted() {
        let (img, w) = window("echo.img", 1 << 16);
        let sock = tmp("echo.sock");
        let seen = Arc::new(Mutex::new(Seen::default()));
        let t = Transport::start(&sock, w, 2, Box::new(Echo(seen.clone()))).unwrap();
        assert_eq!(seen.lock().unwrap().resets, 1, "reset before the guest");
        let c = connect(&sock, 2);
        assert_eq!(c.id, i64::from(GUEST_PEER));
        assert_eq!((c.vmm.len(), c.own.len()), (2, 2));
        // The shared memory is the window file: the magic is there.
        assert_eq!(c.shm.metadata().unwrap().len(), 1 << 16);
        assert_eq!(read_u64(&c.shm, 0), 0xec40);
        // The guest writes 0x08 and rings vector 1 of the VMM; the model
        // copies the value and raises vector 0 and 1.
        write_u64(&c.shm, 0x08, 0xdead_beef);
        write_u64(&c.shm, 0x18, 0b11);
        write_fd(&c.vmm[1], 1);
        assert_eq!(wait_fd(&c.own[0], 5000), 1, "vector 0 raised");
        assert_eq!(wait_fd(&c.own[1], 5000), 1, "vector 1 raised");
        assert_eq!(read_u64(&c.shm, 0x10), 0xdead_beef);
        // Vectors the device does not have are dropped and counted.
        write_u64(&c.shm, 0x18, 1 << 31 | 1 << 2);
        write_fd(&c.vmm[0], 1);
        let t0 = Instant::now();
        while t.stats.dropped.load(Ordering::Relaxed) < 2 {
            assert!(t0.elapsed() < Duration::from_secs(5));
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(wait_fd(&c.own[0], 50), 0, "nothing raised");
        // Ticks run without a doorbell.
        let t0 = Instant::now();
        while seen.lock().unwrap().ticks < 3 {
            assert!(t0.elapsed() < Duration::from_secs(5));
            std::thread::sleep(Duration::from_millis(5));
        }
        // A second client while the first is connected is refused: the
        // server closes it without a word.
        let second = UnixStream::connect(&sock).unwrap();
        second
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        assert!(recv_msg(&second).is_err());
        assert_eq!(t.stats.refused.load(Ordering::Relaxed), 1);
        // Junk from the client is discarded; a disconnect frees the slot,
        // and the next guest finds a freshly reset card.
        use std::io::Write;
        (&c.sock).write_all(b"junk").unwrap();
        write_u64(&c.shm, 0, 0);
        drop(c);
        let t0 = Instant::now();
        while t.stats.disconnects.load(Ordering::Relaxed) < 1 {
            assert!(t0.elapsed() < Duration::from_secs(5));
            std::thread::sleep(Duration::from_millis(5));
        }
        let c = connect(&sock, 2);
        assert_eq!(read_u64(&c.shm, 0), 0xec40);
        assert!(seen.lock().unwrap().resets >= 2);
        assert!(seen.lock().unwrap().doorbells >= 2);
        assert_eq!(t.stats.raised.load(Ordering::Relaxed), 2);
        drop(t);
        assert!(!sock.exists(), "socket removed on shutdown");
        // The model's thread is gone: ringing does nothing.
        write_fd(&c.vmm[0], 1);
        let _ = std::fs::remove_file(img);
    }

    #[test]
    fn bad_setups_are_refused() {
        let (img, w) = window("small.img", 4096);
        let seen = Arc::new(Mutex::new(Seen::default()));
        let sock = tmp("bad.sock");
        let e = Transport::start(&sock, w, 0, Box::new(Echo(seen.clone())));
        assert!(e.err().unwrap().contains("vectors=0"));
        let (_, w) = window("small.img", 4096);
        assert!(Transport::start(&sock, w, 33, Box::new(Echo(seen)))
            .err()
            .unwrap()
            .contains("1 to 32"));
        let _ = std::fs::remove_file(img);
    }
}
