// SPDX-License-Identifier: GPL-2.0
//! Guest-side tool of the boot scenarios: fills a range of a pmem block
//! device, a device-dax character device or a plain file with a pattern
//! derived from a seed, and verifies it later (possibly after a reboot).
//!
//! Block devices are accessed with `O_DIRECT`, so a verify reads the media
//! and not the page cache; device-dax has no read/write and is mapped.
//!
//! Usage: `pattern fill|verify PATH LEN SEED [OFFSET]` (sizes take K/M/G),
//! `pattern now` for the monotonic clock in microseconds, or `pattern wait
//! DIR PREFIX TIMEOUT_MS`, which polls (every 200 µs, in-process) until DIR
//! has an entry whose name starts with PREFIX and prints the clock then
//! (benchmarks: a shell loop forking `sleep` cannot resolve milliseconds),
//! or `pattern poll FILE TIMEOUT_MS`, which reads a sysfs attribute and
//! waits for the kernel to notify it (`POLLPRI`, as `ndctl monitor` does);
//! it prints `armed: FILE` once a notification can no longer be missed, so
//! a scenario waits for that line before it triggers one. `pattern fsync
//! PATH COUNT` writes 4 KiB and times an `fdatasync()` COUNT times, printing
//! each in microseconds (benchmarks: the flush a provider makes). `pattern
//! load PATH NAME COUNT` loads the module file PATH with `finit_module()`
//! and unloads module NAME again, COUNT times, printing how long each
//! `finit_module()` took in microseconds (the kernel's module loader and
//! the module's init, without starting a process per load).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};
use std::process::ExitCode;

const CHUNK: usize = 1 << 20;
const ALIGN: usize = 4096;

/// The pattern: a xorshift64* stream keyed by the seed and the byte offset of
/// each 8-byte word, so any window of the device can be checked on its own.
fn word_at(seed: u64, offset: u64) -> u64 {
    let mut x = seed ^ offset.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5851_f42d_4c95_7f2d;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    x.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

fn fill_buf(buf: &mut [u8], seed: u64, offset: u64) {
    for (i, w) in buf.chunks_exact_mut(8).enumerate() {
        w.copy_from_slice(&word_at(seed, offset + 8 * i as u64).to_le_bytes());
    }
}

/// First byte offset (relative to `buf`) that differs from the pattern.
fn first_mismatch(buf: &[u8], seed: u64, offset: u64) -> Option<usize> {
    buf.chunks_exact(8).enumerate().find_map(|(i, w)| {
        let want = word_at(seed, offset + 8 * i as u64).to_le_bytes();
        w.iter()
            .zip(want)
            .position(|(a, b)| *a != b)
            .map(|p| 8 * i + p)
    })
}

fn parse_size(s: &str) -> Result<u64, String> {
    let (num, mult) = match s.as_bytes().last() {
        Some(b'K' | b'k') => (&s[..s.len() - 1], 1u64 << 10),
        Some(b'M' | b'm') => (&s[..s.len() - 1], 1 << 20),
        Some(b'G' | b'g') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let n: u64 = if let Some(hex) = num.strip_prefix("0x") {
        u64::from_str_radix(hex, 16)
    } else {
        num.parse()
    }
    .map_err(|_| format!("bad size '{s}'"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("size '{s}' overflows"))
}

/// A heap buffer aligned for `O_DIRECT`.
struct AlignedBuf {
    ptr: *mut u8,
    len: usize,
}

impl AlignedBuf {
    fn new(len: usize) -> Self {
        let layout = std::alloc::Layout::from_size_align(len, ALIGN).expect("valid layout");
        // SAFETY: `layout` has a non-zero size (CHUNK).
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        if ptr.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        Self { ptr, len }
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `ptr` points to `len` initialised bytes owned by `self`.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        let layout = std::alloc::Layout::from_size_align(self.len, ALIGN).expect("valid layout");
        // SAFETY: allocated in `new` with the same layout.
        unsafe { std::alloc::dealloc(self.ptr, layout) };
    }
}

/// A shared mapping of a device-dax range.
struct Mapping {
    addr: *mut u8,
    len: usize,
}

impl Mapping {
    fn new(file: &File, len: usize, offset: u64, writable: bool) -> io::Result<Self> {
        use std::os::fd::AsRawFd;
        let off = libc::off_t::try_from(offset)
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        // SAFETY: a fresh shared mapping of an open fd; the result is checked.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                if writable {
                    libc::PROT_READ | libc::PROT_WRITE
                } else {
                    libc::PROT_READ
                },
                libc::MAP_SHARED,
                file.as_raw_fd(),
                off,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Self {
            addr: addr.cast(),
            len,
        })
    }

    fn as_slice(&self) -> &[u8] {
        // SAFETY: the mapping is `len` readable bytes and lives as long as `self`.
        unsafe { std::slice::from_raw_parts(self.addr, self.len) }
    }

    /// Only for mappings created writable.
    fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: the mapping is `len` bytes, writable (see `new`), and lives
        // as long as `self`.
        unsafe { std::slice::from_raw_parts_mut(self.addr, self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmapping the mapping created in `new`.
        unsafe { libc::munmap(self.addr.cast(), self.len) };
    }
}

fn run(fill: bool, path: &str, len: u64, seed: u64, offset: u64) -> Result<(), String> {
    if len == 0 || !len.is_multiple_of(ALIGN as u64) || !offset.is_multiple_of(ALIGN as u64) {
        return Err(format!(
            "length and offset must be non-zero multiples of {ALIGN}"
        ));
    }
    let meta = std::fs::metadata(path).map_err(|e| format!("{path}: {e}"))?;
    let ft = meta.file_type();
    let mut opts = OpenOptions::new();
    opts.read(true).write(fill);
    if ft.is_block_device() {
        opts.custom_flags(libc::O_DIRECT);
    }
    let file = opts.open(path).map_err(|e| format!("open {path}: {e}"))?;

    if ft.is_char_device() {
        let n = usize::try_from(len).map_err(|_| "length too large".to_string())?;
        let mut map =
            Mapping::new(&file, n, offset, fill).map_err(|e| format!("mmap {path}: {e}"))?;
        // Device-dax has no fsync: stores reach the persistence domain by the
        // mapping itself (and munmap), as for any DAX user.
        if fill {
            fill_buf(map.as_mut_slice(), seed, offset);
        } else if let Some(at) = first_mismatch(map.as_slice(), seed, offset) {
            return Err(format!(
                "{path}: pattern mismatch at byte {}",
                offset + at as u64
            ));
        }
        return Ok(());
    }

    let mut buf = AlignedBuf::new(CHUNK);
    let mut pos = offset;
    let end = offset + len;
    while pos < end {
        let n = (end - pos).min(CHUNK as u64) as usize;
        let chunk = &mut buf.as_mut_slice()[..n];
        if fill {
            fill_buf(chunk, seed, pos);
            file.write_all_at(chunk, pos)
                .map_err(|e| format!("write {path} at {pos}: {e}"))?;
        } else {
            file.read_exact_at(chunk, pos)
                .map_err(|e| format!("read {path} at {pos}: {e}"))?;
            if let Some(at) = first_mismatch(chunk, seed, pos) {
                return Err(format!(
                    "{path}: pattern mismatch at byte {}",
                    pos + at as u64
                ));
            }
        }
        pos += n as u64;
    }
    if fill {
        file.sync_all().map_err(|e| format!("fsync {path}: {e}"))?;
    }
    Ok(())
}

/// The monotonic clock in microseconds.
fn now_us() -> Option<i64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to fill.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) } != 0 {
        return None;
    }
    Some(ts.tv_sec * 1_000_000 + ts.tv_nsec / 1000)
}

/// Whether `dir` has an entry whose name starts with `prefix`.
fn has_entry(dir: &str, prefix: &str) -> bool {
    std::fs::read_dir(dir).is_ok_and(|rd| {
        rd.filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().starts_with(prefix))
    })
}

/// `pattern wait DIR PREFIX TIMEOUT_MS`: the clock when DIR first has a
/// PREFIX entry.
fn wait(dir: &str, prefix: &str, timeout_ms: &str) -> ExitCode {
    let Ok(timeout_ms) = timeout_ms.parse::<i64>() else {
        eprintln!("pattern wait: bad timeout '{timeout_ms}'");
        return ExitCode::from(2);
    };
    let Some(start) = now_us() else {
        return ExitCode::FAILURE;
    };
    loop {
        let Some(t) = now_us() else {
            return ExitCode::FAILURE;
        };
        if has_entry(dir, prefix) {
            println!("{t}");
            return ExitCode::SUCCESS;
        }
        if t - start > timeout_ms.saturating_mul(1000) {
            eprintln!("pattern wait: no {prefix}* in {dir} after {timeout_ms} ms");
            return ExitCode::FAILURE;
        }
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
}

/// `pattern poll FILE TIMEOUT_MS`: success when the attribute is notified
/// within the timeout. Prints `armed: FILE` (flushed) as soon as a
/// notification would be seen: a scenario that starts the poller in the
/// background waits for that line, not for a guessed delay.
fn poll_attr(path: &str, timeout_ms: &str) -> ExitCode {
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;
    let Ok(timeout_ms) = timeout_ms.parse::<i32>() else {
        eprintln!("pattern poll: bad timeout '{timeout_ms}'");
        return ExitCode::from(2);
    };
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("pattern poll: {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    // sysfs arms the notification for readers that have read the file.
    let mut first = Vec::new();
    if let Err(e) = file.read_to_end(&mut first) {
        eprintln!("pattern poll: {path}: {e}");
        return ExitCode::FAILURE;
    }
    // From the read on, kernfs compares the attribute's event count with
    // the one this open file saw: a notification between here and poll()
    // still makes poll() return at once.
    let mut out = io::stdout().lock();
    if let Err(e) = writeln!(out, "armed: {path}").and_then(|()| out.flush()) {
        eprintln!("pattern poll: stdout: {e}");
        return ExitCode::FAILURE;
    }
    drop(out);
    let mut fds = libc::pollfd {
        fd: file.as_raw_fd(),
        events: libc::POLLPRI | libc::POLLERR,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut fds, 1, timeout_ms) };
    if n > 0 && fds.revents & (libc::POLLPRI | libc::POLLERR) != 0 {
        println!("notified: {path}");
        ExitCode::SUCCESS
    } else {
        eprintln!("pattern poll: no notification of {path} in {timeout_ms} ms");
        ExitCode::FAILURE
    }
}

/// `pattern fsync PATH COUNT`: COUNT times, writes 4 KiB at the next
/// offset and prints how long `fdatasync()` took, in microseconds (on a
/// pmem block device: the region flush the provider makes).
fn fsync_times(path: &str, count: &str) -> ExitCode {
    let Ok(count) = count.parse::<u64>() else {
        eprintln!("pattern fsync: bad count '{count}'");
        return ExitCode::from(2);
    };
    let run = || -> Result<(), String> {
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| format!("open {path}: {e}"))?;
        let mut buf = vec![0u8; ALIGN];
        for i in 0..count {
            let pos = i * ALIGN as u64;
            fill_buf(&mut buf, i, pos);
            file.write_all_at(&buf, pos)
                .map_err(|e| format!("write {path} at {pos}: {e}"))?;
            let t0 = now_us().ok_or("no clock")?;
            file.sync_data().map_err(|e| format!("fsync {path}: {e}"))?;
            let t1 = now_us().ok_or("no clock")?;
            println!("{}", t1 - t0);
        }
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pattern fsync: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `pattern load PATH NAME COUNT`: COUNT times, `finit_module(PATH)` timed
/// and printed in microseconds, then `delete_module(NAME)`.
fn load_times(path: &str, name: &str, count: &str) -> ExitCode {
    let Ok(count) = count.parse::<u32>() else {
        eprintln!("pattern load: bad count '{count}'");
        return ExitCode::from(2);
    };
    let Ok(cname) = std::ffi::CString::new(name) else {
        eprintln!("pattern load: bad module name '{name}'");
        return ExitCode::from(2);
    };
    let run = || -> Result<(), String> {
        use std::os::fd::AsRawFd;
        for _ in 0..count {
            let file = File::open(path).map_err(|e| format!("open {path}: {e}"))?;
            let t0 = now_us().ok_or("no clock")?;
            // SAFETY: a valid open file descriptor and an empty, NUL-terminated
            // parameter string for the duration of the call.
            let rc =
                unsafe { libc::syscall(libc::SYS_finit_module, file.as_raw_fd(), c"".as_ptr(), 0) };
            let t1 = now_us().ok_or("no clock")?;
            if rc != 0 {
                return Err(format!(
                    "finit_module {path}: {}",
                    io::Error::last_os_error()
                ));
            }
            println!("{}", t1 - t0);
            // SAFETY: a NUL-terminated module name for the duration of the call.
            let rc =
                unsafe { libc::syscall(libc::SYS_delete_module, cname.as_ptr(), libc::O_NONBLOCK) };
            if rc != 0 {
                return Err(format!(
                    "delete_module {name}: {}",
                    io::Error::last_os_error()
                ));
            }
        }
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pattern load: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 2 && args[1] == "now" {
        return match now_us() {
            Some(t) => {
                println!("{t}");
                ExitCode::SUCCESS
            }
            None => ExitCode::FAILURE,
        };
    }
    if args.len() == 4 && args[1] == "poll" {
        return poll_attr(&args[2], &args[3]);
    }
    if args.len() == 5 && args[1] == "wait" {
        return wait(&args[2], &args[3], &args[4]);
    }
    if args.len() == 4 && args[1] == "fsync" {
        return fsync_times(&args[2], &args[3]);
    }
    if args.len() == 5 && args[1] == "load" {
        return load_times(&args[2], &args[3], &args[4]);
    }
    let usage = || {
        eprintln!(
            "usage: pattern fill|verify PATH LEN SEED [OFFSET] | now | wait DIR PREFIX TIMEOUT_MS | poll FILE TIMEOUT_MS | fsync PATH COUNT | load PATH NAME COUNT"
        );
        ExitCode::from(2)
    };
    if args.len() < 5 || args.len() > 6 {
        return usage();
    }
    let fill = match args[1].as_str() {
        "fill" => true,
        "verify" => false,
        _ => return usage(),
    };
    let parsed = (|| -> Result<(u64, u64, u64), String> {
        let off = args.get(5).map_or(Ok(0), |s| parse_size(s))?;
        Ok((parse_size(&args[3])?, parse_size(&args[4])?, off))
    })();
    let (len, seed, offset) = match parsed {
        Ok(v) => v,
        Err(e) => {
            eprintln!("pattern: {e}");
            return ExitCode::from(2);
        }
    };
    match run(fill, &args[2], len, seed, offset) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pattern: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_agree_with_the_whole() {
        let mut whole = vec![0u8; 64 << 10];
        fill_buf(&mut whole, 7, 0);
        let mut part = vec![0u8; 4096];
        fill_buf(&mut part, 7, 8192);
        assert_eq!(&whole[8192..12288], &part[..]);
        assert_eq!(first_mismatch(&whole[4096..], 7, 4096), None);
    }

    #[test]
    fn mismatch_is_located() {
        let mut buf = vec![0u8; 4096];
        fill_buf(&mut buf, 1, 0);
        buf[1234] ^= 1;
        assert_eq!(first_mismatch(&buf, 1, 0), Some(1234));
        assert!(first_mismatch(&buf, 2, 0).is_some(), "another seed differs");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4K"), Ok(4096));
        assert_eq!(parse_size("2M"), Ok(2 << 20));
        assert_eq!(parse_size("0x1000"), Ok(4096));
        assert!(parse_size("x").is_err());
        assert!(parse_size("99999999999G").is_err());
    }
}
