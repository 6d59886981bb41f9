// SPDX-License-Identifier: GPL-2.0
//! Tests of `transport/ivshmem.rs`.

use super::*;

#[test]
fn the_card_config_allows_what_the_transport_raises() {
    assert_eq!(crate::config::MAX_OCXL_VECTORS, MAX_VECTORS);
}
use std::io::Write;
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
    vmm: Vec<File>,
    own: Vec<Interrupt>,
}

/// One of the guest's eventfds and an epoll to wait on it.
struct Interrupt {
    fd: File,
    epoll: Epoll,
}

impl Interrupt {
    fn new(fd: File) -> Self {
        let epoll = Epoll::new().unwrap();
        watch(&epoll, fd.as_raw_fd(), 0).unwrap();
        Interrupt { fd, epoll }
    }
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
            own.push(Interrupt::new(fd));
        } else {
            assert_eq!(peer, i64::from(VMM_PEER));
            vmm.push(fd);
        }
    }
    Client {
        sock,
        id,
        shm: shm.unwrap(),
        vmm,
        own,
    }
}

fn write_fd(mut fd: &File, v: u64) {
    fd.write_all(&v.to_ne_bytes()).unwrap();
}

/// Waits up to `ms` for the eventfd; returns its counter.
fn wait_fd(i: &Interrupt, ms: i32) -> u64 {
    let mut ev = [EpollEvent::default()];
    if i.epoll.wait(ms, &mut ev).unwrap() != 1 {
        return 0;
    }
    let mut b = [0u8; 8];
    match (&i.fd).read(&mut b) {
        Ok(8) => u64::from_ne_bytes(b),
        _ => 0,
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
    let e = Window::map(f).unwrap_err();
    assert!(matches!(e, IvshmemError::WindowSize(12288)), "{e}");
    assert!(e.to_string().contains("power of two"));
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
    assert!(e.err().unwrap().to_string().contains("vectors=0"));
    let (_, w) = window("small.img", 4096);
    let e = Transport::start(&sock, w, 33, Box::new(Echo(seen.clone())));
    let e = e.err().unwrap();
    assert!(matches!(e, IvshmemError::Vectors(33)), "{e}");
    assert!(e.to_string().contains("1 to 32"));
    // A register file larger than the window.
    struct Big;
    impl Device for Big {
        fn register_bytes(&self) -> usize {
            8192
        }
        fn reset(&mut self, _regs: &mut dyn Registers) {}
        fn doorbell(&mut self, _regs: &mut dyn Registers) -> Vectors {
            0
        }
        fn tick(&mut self, _regs: &mut dyn Registers) -> Vectors {
            0
        }
    }
    let (_, w) = window("small.img", 4096);
    let e = Transport::start(&sock, w, 1, Box::new(Big)).err().unwrap();
    assert!(matches!(
        e,
        IvshmemError::RegistersTooLarge {
            needs: 8192,
            window: 4096
        }
    ));
    // A socket path that cannot be bound names the path.
    let (_, w) = window("small.img", 4096);
    let nowhere = tmp("no-such-dir").join("x.sock");
    let e = Transport::start(&nowhere, w, 1, Box::new(Echo(seen)));
    let e = e.err().unwrap();
    assert!(matches!(e, IvshmemError::Socket { .. }), "{e}");
    assert!(e.to_string().contains("no-such-dir"));
    let _ = std::fs::remove_file(img);
}

/// Sends `value` with `count` descriptors, each one end of a fresh
/// socket pair; returns the other ends.
fn send_with_pairs(sock: &UnixStream, value: i64, count: usize) -> Vec<UnixStream> {
    let pairs: Vec<_> = (0..count).map(|_| UnixStream::pair().unwrap()).collect();
    let fds: Vec<RawFd> = pairs.iter().map(|(_, b)| b.as_raw_fd()).collect();
    sock.send_with_fds(&[&value.to_le_bytes()[..]], &fds)
        .unwrap();
    pairs
        .into_iter()
        .map(|(a, _)| {
            a.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            a
        })
        .collect()
}

/// Whether `peer`'s other end is closed everywhere (it reads the end).
fn closed(mut peer: &UnixStream) -> bool {
    matches!(peer.read(&mut [0u8; 1]), Ok(0))
}

#[test]
fn extra_descriptors_are_closed() {
    let (server, client) = UnixStream::pair().unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    // Two (what `recv_with_fd` leaks one of): the first is kept.
    let peers = send_with_pairs(&server, 7, 2);
    let (v, first) = recv_msg(&client).unwrap();
    assert_eq!(v, 7);
    assert!(closed(&peers[1]), "the second is closed");
    drop(first);
    assert!(closed(&peers[0]), "the first was the one kept");
    // As many as a message may carry: the same.
    let peers = send_with_pairs(&server, 8, MAX_MSG_FDS);
    let (v, first) = recv_msg(&client).unwrap();
    assert_eq!((v, first.is_some()), (8, true));
    assert!(peers[1..].iter().all(closed));
    // One more is refused, and all are closed.
    let peers = send_with_pairs(&server, 9, MAX_MSG_FDS + 1);
    let e = recv_msg(&client).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENOBUFS), "{e}");
    assert!(peers.iter().all(closed));
    // The stream goes on with the next message.
    send_msg(&server, 10, None).unwrap();
    assert_eq!(recv_msg(&client).unwrap().0, 10);
}

#[test]
fn descriptors_from_the_client_are_closed() {
    let (img, w) = window("fds.img", 4096);
    let sock = tmp("fds.sock");
    let seen = Arc::new(Mutex::new(Seen::default()));
    let t = Transport::start(&sock, w, 1, Box::new(Echo(seen))).unwrap();
    let c = connect(&sock, 1);
    // Its peer sees the end once the server has read the message.
    let peers = send_with_pairs(&c.sock, 5, 1);
    assert!(closed(&peers[0]));
    // The guest is still connected and served.
    assert_eq!(t.stats.disconnects.load(Ordering::Relaxed), 0);
    write_u64(&c.shm, 0x18, 1);
    write_fd(&c.vmm[0], 1);
    assert_eq!(wait_fd(&c.own[0], 5000), 1);
    drop(t);
    let _ = std::fs::remove_file(img);
}

/// The doorbell round trip as the guest sees it: ring the VMM's
/// eventfd, wait for the interrupt. A measurement, not a check: run
/// it with `cargo test -p nvdimm-vmm doorbell_round_trip -- --ignored
/// --nocapture`.
#[test]
#[ignore = "a measurement"]
fn doorbell_round_trip() {
    const WARMUP: usize = 200;
    const RUNS: usize = 20_000;
    let (img, w) = window("rtt.img", 1 << 16);
    let sock = tmp("rtt.sock");
    let seen = Arc::new(Mutex::new(Seen::default()));
    let t = Transport::start(&sock, w, 1, Box::new(Echo(seen))).unwrap();
    let c = connect(&sock, 1);
    write_u64(&c.shm, 0x18, 1);
    let mut rtt = Vec::with_capacity(WARMUP + RUNS);
    for _ in 0..WARMUP + RUNS {
        let t0 = Instant::now();
        write_fd(&c.vmm[0], 1);
        assert_eq!(wait_fd(&c.own[0], 5000), 1);
        rtt.push(t0.elapsed());
    }
    let mut rtt = rtt.split_off(WARMUP);
    rtt.sort();
    println!(
        "doorbell round trip over {RUNS}: min {:?} median {:?} p99 {:?} max {:?}",
        rtt[0],
        rtt[RUNS / 2],
        rtt[RUNS * 99 / 100],
        rtt[RUNS - 1]
    );
    drop(t);
    let _ = std::fs::remove_file(img);
}
