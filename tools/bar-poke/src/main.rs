// SPDX-License-Identifier: GPL-2.0
//! Guest-side check of the test VMM's `ivshmem-doorbell` transport with no
//! kernel driver: finds the card's PCI device, maps its BARs through
//! `/sys/bus/pci/devices/*/resourceN` and talks to the placeholder echo
//! model (`tools/vmm/src/ocxl_placeholder.rs`).
//!
//! ```text
//! bar-poke find                      the device: address, IVPosition, vectors, BAR2 size
//! bar-poke echo VALUE                write IN (0x08), ring the VMM, wait for OUT (0x10)
//! bar-poke irq VALUE                 echo with MSI-X enabled and function-masked: the
//!                                    VMM's vector 0 must become pending in the PBA
//! bar-poke ring PEER VECTOR          a raw doorbell write (BAR0 + 12)
//! bar-poke fill|verify OFFSET LEN SEED   a seeded pattern in BAR2 (sizes take K/M/G)
//! ```
//!
//! The card is 1af4:1110 revision 1 *with* an MSI-X capability (the VMM's
//! `_DSM` mailbox is an `ivshmem-plain` 1af4:1110 without one) whose BAR2
//! starts with the magic "OCXLECHO". The VMM is ivshmem peer 0; the guest
//! reads its own id (1) from IVPosition (BAR0 + 8).

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const VENDOR: &str = "0x1af4";
const DEVICE: &str = "0x1110";
const MAGIC: u64 = u64::from_le_bytes(*b"OCXLECHO");
const VMM_PEER: u32 = 0;
/// BAR0 registers.
const IVPOSITION: usize = 8;
const DOORBELL: usize = 12;
/// Echo model registers (BAR2).
const IN: usize = 0x08;
const OUT: usize = 0x10;
const DOORBELLS: usize = 0x18;
const PCI_CAP_ID_MSIX: u8 = 0x11;

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

/// The first ivshmem-doorbell device whose BAR2 has the echo magic.
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
        if bar2 < 4096 {
            seen.push(format!("{name}: BAR2 of {bar2} bytes"));
            continue;
        }
        let regs = Map::new(&dev, 2, 0, 4096)?;
        let magic = regs.r64(0);
        if magic != MAGIC {
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
        "no ivshmem-doorbell card with the echo magic (seen: {})",
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

/// Writes IN, rings the VMM, waits until OUT echoes it.
fn echo(card: &Card, value: u64) -> Result<(), String> {
    let regs = Map::new(&card.dev, 2, 0, 4096)?;
    let before = regs.r64(DOORBELLS);
    regs.w64(OUT, 0);
    regs.w64(IN, value);
    ring(card, VMM_PEER, 0)?;
    let t = Instant::now();
    while regs.r64(OUT) != value || regs.r64(DOORBELLS) == before {
        if t.elapsed() > Duration::from_secs(10) {
            return Err(format!(
                "no echo of {value:#x} within 10 s (OUT {:#x}, doorbells {} -> {})",
                regs.r64(OUT),
                before,
                regs.r64(DOORBELLS)
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    println!(
        "echo {value:#x} ok in {} us (doorbells served {})",
        t.elapsed().as_micros(),
        regs.r64(DOORBELLS)
    );
    Ok(())
}

/// Echo with MSI-X enabled and function-masked: QEMU then records the
/// VMM's interrupt as pending in the PBA instead of delivering it.
fn irq(card: &Card, value: u64) -> Result<(), String> {
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
    let armed = ctl | 0xc000; // MSI-X enable + function mask
    cfg.write_all_at(&armed.to_le_bytes(), card.msix as u64 + 2)
        .map_err(|e| format!("enabling MSI-X: {e}"))?;
    let result = (|| {
        echo(card, value)?;
        let t = Instant::now();
        while pending.r32(0) & 1 == 0 {
            if t.elapsed() > Duration::from_secs(5) {
                return Err("vector 0 never became pending".to_string());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        println!("irq vector 0 pending (before: {was})");
        Ok(())
    })();
    let _ = cfg.write_all_at(&ctl.to_le_bytes(), card.msix as u64 + 2);
    result
}

fn word_at(seed: u64, offset: u64) -> u64 {
    let mut x = seed ^ offset.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x6f63_786c_6563_686f;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    x.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

fn pattern(card: &Card, verify: bool, offset: u64, len: u64, seed: u64) -> Result<(), String> {
    if !offset.is_multiple_of(8) || !len.is_multiple_of(8) {
        return Err("OFFSET and LEN must be multiples of 8".into());
    }
    if offset < 4096 {
        return Err("the first page of BAR2 is the register file".into());
    }
    let len_us = usize::try_from(len).map_err(|_| "LEN too large")?;
    let m = Map::new(&card.dev, 2, offset, len_us)?;
    for i in (0..len_us).step_by(8) {
        let want = word_at(seed, offset + i as u64);
        if verify {
            let got = m.r64(i);
            if got != want {
                return Err(format!(
                    "mismatch at BAR2 offset {:#x}: {got:#x}, expected {want:#x}",
                    offset + i as u64
                ));
            }
        } else {
            m.w64(i, want);
        }
    }
    println!(
        "{} {len} bytes at BAR2 offset {offset:#x} (seed {seed})",
        if verify { "verified" } else { "filled" }
    );
    Ok(())
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
        ["echo", v] => echo(&card, num(v)?),
        ["irq", v] => irq(&card, num(v)?),
        ["ring", p, v] => {
            let p = u32::try_from(num(p)?).ok().filter(|p| *p <= 0xffff);
            let v = u32::try_from(num(v)?).ok().filter(|v| *v <= 0xffff);
            match (p, v) {
                (Some(p), Some(v)) => ring(&card, p, v),
                _ => Err("PEER and VECTOR are 16-bit numbers".into()),
            }
        }
        ["fill", o, l, s] => pattern(&card, false, num(o)?, num(l)?, num(s)?),
        ["verify", o, l, s] => pattern(&card, true, num(o)?, num(l)?, num(s)?),
        _ => Err(
            "usage: bar-poke find | echo VALUE | irq VALUE | ring PEER VECTOR | \
                  fill|verify OFFSET LEN SEED"
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
        assert_ne!(word_at(1, 0), word_at(1, 8));
    }
}
