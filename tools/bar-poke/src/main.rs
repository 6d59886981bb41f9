// SPDX-License-Identifier: GPL-2.0
//! Guest-side check of the test VMM's `ivshmem-doorbell` attachment of the
//! OpenCAPI pmem card with no kernel driver: finds the card's PCI device,
//! maps its BARs through `/sys/bus/pci/devices/*/resourceN` and talks to
//! the card model (`tools/vmm/src/devices/ocxl`) with the driver's own protocol
//! code (`ocxlpmem-core`, the kernel's `drivers/nvdimm/ocxlpmem_rs/`).
//!
//! ```text
//! bar-poke find                 the device: address, IVPosition, vectors, BAR2 size
//! bar-poke descriptor           the attachment descriptor (checked as the driver does)
//! bar-poke read OFFSET          a 64-bit register of the register file
//! bar-poke heartbeat            ready check, admin area, a HEARTBEAT command
//! bar-poke irq                  HEARTBEAT with CHIE.ACRA enabled and MSI-X enabled and
//!                               function-masked: vector 0 must become pending in the PBA
//! bar-poke ring PEER VECTOR     a raw doorbell write (BAR0 + 12)
//! ```
//!
//! The card is 1af4:1110 revision 1 *with* an MSI-X capability (the VMM's
//! `_DSM` mailbox is an `ivshmem-plain` 1af4:1110 without one) whose BAR2,
//! the register file, has the attachment descriptor's magic at 0xf000. The
//! VMM is ivshmem peer 0 (the descriptor says so); the guest reads its own
//! id (1) from IVPosition (BAR0 + 8).

use ocxlpmem_core::admin::{AdminMailbox, Sleep};
use ocxlpmem_core::attach::{self, Descriptor};
use ocxlpmem_core::regs::{self, Capabilities, Mmio};
use ocxlpmem_core::{commands, error};
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const VENDOR: &str = "0x1af4";
const DEVICE: &str = "0x1110";
/// BAR0 registers.
const IVPOSITION: usize = attach::IVSHMEM_IVPOSITION;
const DOORBELL: usize = attach::IVSHMEM_DOORBELL;
const PCI_CAP_ID_MSIX: u8 = 0x11;
/// An x86 guest's memory section (the attachment's unit).
const SECTION: u64 = 128 << 20;

/// A mapping of part of a BAR, accessed with volatile loads and stores.
struct Map {
    base: *mut u8,
    len: usize,
    /// Where the requested range starts inside the mapping.
    skew: usize,
    want: usize,
}

impl Map {
    /// Maps `[offset, offset + len)` of BAR `bar` of device `dev`.
    fn new(dev: &Path, bar: usize, offset: u64, len: usize) -> Result<Map, String> {
        let (start, size) = bar_range(dev, bar)?;
        if size == 0 {
            return Err(format!("{}: BAR{bar} is not there", dev.display()));
        }
        if offset.checked_add(len as u64).is_none_or(|e| e > size) {
            return Err(format!(
                "range {offset:#x}+{len:#x} is past BAR{bar} ({size:#x} bytes)"
            ));
        }
        let page = page_size();
        // A small BAR need not start on a page: sysfs maps the page that
        // holds it (resource start rounded down).
        let pos = (start % page) + offset;
        let map_off = pos / page * page;
        let skew = (pos - map_off) as usize;
        let map_len = (skew + len).div_ceil(page as usize) * page as usize;
        let path = dev.join(format!("resource{bar}"));
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        // SAFETY: a fresh shared mapping of a sysfs resource file; checked.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                map_off as libc::off_t,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(format!(
                "{}: mmap: {}",
                path.display(),
                std::io::Error::last_os_error()
            ));
        }
        Ok(Map {
            base: p.cast(),
            len: map_len,
            skew,
            want: len,
        })
    }

    fn ptr(&self, off: usize, width: usize) -> *mut u8 {
        assert!(off + width <= self.want && off.is_multiple_of(width));
        // SAFETY: inside the mapping (skew + want <= len).
        unsafe { self.base.add(self.skew + off) }
    }

    fn r32(&self, off: usize) -> u32 {
        // SAFETY: in bounds and aligned (ptr checks); device memory.
        unsafe { std::ptr::read_volatile(self.ptr(off, 4).cast::<u32>()) }
    }

    fn w32(&self, off: usize, v: u32) {
        // SAFETY: as in r32.
        unsafe { std::ptr::write_volatile(self.ptr(off, 4).cast::<u32>(), v) }
    }

    fn r64(&self, off: usize) -> u64 {
        // SAFETY: as in r32.
        unsafe { std::ptr::read_volatile(self.ptr(off, 8).cast::<u64>()) }
    }

    fn w64(&self, off: usize, v: u64) {
        // SAFETY: as in r32.
        unsafe { std::ptr::write_volatile(self.ptr(off, 8).cast::<u64>(), v) }
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        // SAFETY: the mapping made in new(), unmapped once.
        unsafe {
            libc::munmap(self.base.cast(), self.len);
        }
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no memory arguments.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

fn read_trim(p: &Path) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// BAR `bar`'s start and size from the device's `resource` file.
fn bar_range(dev: &Path, bar: usize) -> Result<(u64, u64), String> {
    let text = read_trim(&dev.join("resource"));
    let line = text
        .lines()
        .nth(bar)
        .ok_or_else(|| format!("{}: no BAR{bar} line", dev.display()))?;
    let f: Vec<u64> = line
        .split_whitespace()
        .filter_map(|x| u64::from_str_radix(x.trim_start_matches("0x"), 16).ok())
        .collect();
    match f[..] {
        [start, end, _] if end > start => Ok((start, end - start + 1)),
        _ => Ok((0, 0)),
    }
}

/// The MSI-X capability's offset in configuration space.
fn msix_cap(config: &[u8]) -> Option<usize> {
    if config.len() < 64 || config[6] & 0x10 == 0 {
        return None;
    }
    let mut p = (config[0x34] & 0xfc) as usize;
    for _ in 0..48 {
        if p < 0x40 || p + 12 > config.len() {
            return None;
        }
        if config[p] == PCI_CAP_ID_MSIX {
            return Some(p);
        }
        p = (config[p + 1] & 0xfc) as usize;
    }
    None
}

struct Card {
    dev: PathBuf,
    msix: usize,
    vectors: u32,
    bar2: u64,
}

/// The first ivshmem-doorbell device whose BAR2 has the descriptor magic.
fn find() -> Result<Card, String> {
    let mut seen = Vec::new();
    let dir = std::fs::read_dir("/sys/bus/pci/devices")
        .map_err(|e| format!("/sys/bus/pci/devices: {e}"))?;
    let mut devs: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
    devs.sort();
    for dev in devs {
        if read_trim(&dev.join("vendor")) != VENDOR || read_trim(&dev.join("device")) != DEVICE {
            continue;
        }
        let name = dev
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        if read_trim(&dev.join("revision")) != "0x01" {
            seen.push(format!("{name}: not revision 1"));
            continue;
        }
        let config = std::fs::read(dev.join("config")).unwrap_or_default();
        let Some(msix) = msix_cap(&config) else {
            seen.push(format!("{name}: no MSI-X (ivshmem-plain)"));
            continue;
        };
        let (_, bar2) = bar_range(&dev, 2)?;
        if bar2 < attach::REGISTER_BYTES as u64 {
            seen.push(format!("{name}: BAR2 of {bar2} bytes"));
            continue;
        }
        let regs = Map::new(&dev, 2, attach::D_MAGIC as u64, 8)?;
        let magic = regs.r64(0);
        if magic != attach::MAGIC {
            seen.push(format!("{name}: magic {magic:#x}"));
            continue;
        }
        let ctl = u16::from_le_bytes([config[msix + 2], config[msix + 3]]);
        return Ok(Card {
            dev,
            msix,
            vectors: u32::from(ctl & 0x7ff) + 1,
            bar2,
        });
    }
    Err(format!(
        "no ivshmem-doorbell card with the descriptor magic (seen: {})",
        if seen.is_empty() {
            "no 1af4:1110 device".to_string()
        } else {
            seen.join("; ")
        }
    ))
}

fn ring(card: &Card, peer: u32, vector: u32) -> Result<(), String> {
    let bar0 = Map::new(&card.dev, 0, 0, 16)?;
    bar0.w32(DOORBELL, (peer << 16) | (vector & 0xffff));
    Ok(())
}

/// The register file as the protocol code sees it: BAR2, and BAR0's
/// doorbell rung after every control-register write (as the driver does).
struct Window {
    regs: Map,
    bell: Map,
    doorbell: u32,
}

impl Window {
    fn open(card: &Card) -> Result<Window, String> {
        let regs = Map::new(&card.dev, 2, 0, attach::REGISTER_BYTES)?;
        let bell = Map::new(&card.dev, 0, 0, 16)?;
        let mut w = Window {
            regs,
            bell,
            doorbell: 0,
        };
        w.doorbell = descriptor(&w)?.doorbell;
        Ok(w)
    }
}

impl Mmio for Window {
    fn size(&self) -> usize {
        attach::REGISTER_BYTES
    }

    fn read_u64(&self, offset: usize) -> u64 {
        self.regs.r64(offset)
    }

    fn write_u64(&mut self, offset: usize, value: u64) {
        self.regs.w64(offset, value)
    }

    fn doorbell(&mut self) {
        self.bell.w32(DOORBELL, self.doorbell);
    }
}

struct Sleeper;

impl Sleep for Sleeper {
    fn sleep_ms(&mut self, ms: u32) {
        std::thread::sleep(Duration::from_millis(u64::from(ms)));
    }
}

fn proto(what: &str) -> impl Fn(error::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// The descriptor, checked as the kernel driver checks it.
fn descriptor(w: &impl Mmio) -> Result<Descriptor, String> {
    Descriptor::read(w, SECTION)
        .map_err(proto("descriptor"))?
        .ok_or_else(|| "no descriptor".to_string())
}

/// What the driver's probe does: readiness, the admin area, a HEARTBEAT.
fn heartbeat(w: &mut Window) -> Result<Duration, String> {
    let caps = Capabilities::read(w).map_err(proto("capabilities"))?;
    commands::wait_ready(w, &caps, &mut Sleeper).map_err(proto("controller"))?;
    let mut mb = AdminMailbox::probe(w).map_err(proto("admin area"))?;
    let t = Instant::now();
    commands::heartbeat(w, &mut mb, &mut Sleeper).map_err(proto("heartbeat"))?;
    Ok(t.elapsed())
}

/// A HEARTBEAT with `CHIE.ACRA` enabled and MSI-X enabled and
/// function-masked: QEMU then records the VMM's interrupt as pending in
/// the PBA instead of delivering it.
fn irq(card: &Card) -> Result<(), String> {
    let cfg_path = card.dev.join("config");
    let cfg = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&cfg_path)
        .map_err(|e| format!("{}: {e}", cfg_path.display()))?;
    let mut b = [0u8; 12];
    cfg.read_exact_at(&mut b, card.msix as u64)
        .map_err(|e| e.to_string())?;
    let ctl = u16::from_le_bytes([b[2], b[3]]);
    let pba = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
    let (pba_bar, pba_off) = ((pba & 7) as usize, u64::from(pba & !7));
    let pending = Map::new(&card.dev, pba_bar, pba_off, 8)?;
    let was = pending.r32(0) & 1;
    let mut w = Window::open(card)?;
    let armed = ctl | 0xc000; // MSI-X enable + function mask
    cfg.write_all_at(&armed.to_le_bytes(), card.msix as u64 + 2)
        .map_err(|e| format!("enabling MSI-X: {e}"))?;
    let result = (|| {
        regs::set_bits(&mut w, regs::CHIE, regs::chi::ACRA).map_err(proto("CHIE"))?;
        heartbeat(&mut w)?;
        let t = Instant::now();
        while pending.r32(0) & 1 == 0 {
            if t.elapsed() > Duration::from_secs(5) {
                return Err("vector 0 never became pending".to_string());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        println!("irq vector 0 pending after a heartbeat with CHIE.ACRA (before: {was})");
        Ok(())
    })();
    let _ = regs::set_bits(&mut w, regs::CHIEC, regs::chi::ACRA);
    let _ = cfg.write_all_at(&ctl.to_le_bytes(), card.msix as u64 + 2);
    result
}

fn num(s: &str) -> Result<u64, String> {
    let (n, mult) = match s.as_bytes().last() {
        Some(b'K' | b'k') => (&s[..s.len() - 1], 1u64 << 10),
        Some(b'M' | b'm') => (&s[..s.len() - 1], 1 << 20),
        Some(b'G' | b'g') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let v = match n.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => n.parse(),
    }
    .map_err(|_| format!("'{s}' is not a number"))?;
    v.checked_mul(mult)
        .ok_or_else(|| format!("'{s}' is too large"))
}

fn run(args: &[String]) -> Result<(), String> {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let card = find()?;
    match a[..] {
        ["find"] => {
            let bar0 = Map::new(&card.dev, 0, 0, 16)?;
            println!(
                "{} ivposition={} vectors={} bar2={}",
                card.dev.file_name().unwrap_or_default().to_string_lossy(),
                bar0.r32(IVPOSITION),
                card.vectors,
                card.bar2
            );
            Ok(())
        }
        ["descriptor"] => {
            let w = Window::open(&card)?;
            let d = descriptor(&w)?;
            let (meta, _) = d.metadata(SECTION);
            let (pmem, pmem_size) = d.pmem(SECTION);
            println!(
                "vendor={:#06x} device={:#06x} memory={:#x}+{:#x} metadata={meta:#x} \
                 pmem={pmem:#x}+{pmem_size:#x} doorbell={:#x}",
                d.vendor, d.device, d.memory_base, d.memory_size, d.doorbell
            );
            Ok(())
        }
        ["read", o] => {
            let o = usize::try_from(num(o)?).map_err(|_| "OFFSET too large")?;
            let w = Window::open(&card)?;
            let v = regs::read(&w, o).map_err(proto("read"))?;
            println!("{o:#x} = {v:#018x}");
            Ok(())
        }
        ["heartbeat"] => {
            let mut w = Window::open(&card)?;
            let t = heartbeat(&mut w)?;
            println!("heartbeat ok in {} us", t.as_micros());
            Ok(())
        }
        ["irq"] => irq(&card),
        ["ring", p, v] => {
            let p = u32::try_from(num(p)?).ok().filter(|p| *p <= 0xffff);
            let v = u32::try_from(num(v)?).ok().filter(|v| *v <= 0xffff);
            match (p, v) {
                (Some(p), Some(v)) => ring(&card, p, v),
                _ => Err("PEER and VECTOR are 16-bit numbers".into()),
            }
        }
        _ => Err(
            "usage: bar-poke find | descriptor | read OFFSET | heartbeat | irq | \
             ring PEER VECTOR"
                .into(),
        ),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bar-poke: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msix_capability_walk_is_bounded() {
        let mut c = vec![0u8; 256];
        assert_eq!(msix_cap(&c), None);
        c[6] = 0x10;
        c[0x34] = 0x40;
        c[0x40] = 0x09; // vendor-specific, next 0x50
        c[0x41] = 0x50;
        c[0x50] = PCI_CAP_ID_MSIX;
        assert_eq!(msix_cap(&c), Some(0x50));
        // A loop in the list ends.
        c[0x50] = 0x05;
        c[0x51] = 0x40;
        assert_eq!(msix_cap(&c), None);
        assert_eq!(msix_cap(&c[..10]), None);
    }

    #[test]
    fn numbers() {
        assert_eq!(num("0x10").unwrap(), 16);
        assert_eq!(num("1M").unwrap(), 1 << 20);
        assert!(num("x").is_err());
    }
}
