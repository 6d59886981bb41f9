// SPDX-License-Identifier: GPL-2.0
//! The test VMM's benchmark table: the `BENCH|metric|microseconds` lines
//! of scenario `bench-vmm`'s boots (one per round), grouped by who served
//! the NVDIMMs (the boots alternate), the harness's own launch-to-ready
//! clock, and the host's memcpy of the backing file as the ceiling for
//! pmem I/O. Each cell is the median of all rounds with their minimum and
//! maximum.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::scenario::{Platform, Scenario};

/// Why the table could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: shorter than {len} bytes")]
    Short { path: PathBuf, len: usize },
    #[error("no samples")]
    NoSamples,
}

/// `metric -> platform -> values` (microseconds).
type Samples = BTreeMap<String, BTreeMap<&'static str, Vec<f64>>>;

fn median(v: &[f64]) -> Option<f64> {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len().checked_sub(1)? / 2).copied()
}

/// `(min, median, max)`.
fn spread(v: &[f64]) -> Option<(f64, f64, f64)> {
    let min = v.iter().copied().min_by(f64::total_cmp)?;
    let max = v.iter().copied().max_by(f64::total_cmp)?;
    Some((min, median(v)?, max))
}

/// Parses `BENCH|metric|value` console lines.
pub fn bench_lines(console: &str) -> Vec<(String, f64)> {
    console
        .lines()
        .filter_map(|l| {
            let mut it = l.trim_end_matches('\r').strip_prefix("BENCH|")?.split('|');
            let m = it.next()?.trim().to_string();
            let v = it.next()?.trim().parse().ok()?;
            Some((m, v))
        })
        .collect()
}

/// Median microseconds to copy `len` bytes of `file` between two host
/// buffers (after reading it once: page cache and memory, as QEMU's
/// shared mapping sees it).
fn host_memcpy(file: &Path, len: usize) -> Result<f64, BenchError> {
    let mut src = std::fs::read(file).map_err(|source| BenchError::Read {
        path: file.to_path_buf(),
        source,
    })?;
    src.truncate(len);
    if src.len() < len {
        return Err(BenchError::Short {
            path: file.to_path_buf(),
            len,
        });
    }
    let mut dst = vec![1u8; len];
    let mut t = Vec::new();
    for _ in 0..7 {
        let s = Instant::now();
        dst.copy_from_slice(&src);
        t.push(s.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(&dst);
    }
    median(&t).ok_or(BenchError::NoSamples)
}

const MIB128: f64 = 128.0 * 1024.0 * 1024.0;
const KIB128: f64 = 128.0 * 1024.0;

/// Prints the table for the run in `dir`.
pub fn vmm_table(
    sc: &Scenario,
    dir: &Path,
    marks: &[(u32, String, f64)],
) -> Result<(), BenchError> {
    let mut s: Samples = BTreeMap::new();
    for boot in 1..=sc.boots {
        let p = sc.platform_for(boot).name();
        let console = crate::guest::read_lossy(&dir.join(format!("console-boot{boot}.log")));
        for (m, v) in bench_lines(&console) {
            s.entry(m).or_default().entry(p).or_default().push(v);
        }
        for (_, _, t) in marks
            .iter()
            .filter(|(b, m, _)| *b == boot && m == "ndctl-ready")
        {
            s.entry("launch_to_ready".into())
                .or_default()
                .entry(p)
                .or_default()
                .push(t * 1e6);
        }
    }
    let get = |m: &str, p: Platform| {
        s.get(m)
            .and_then(|x| x.get(p.name()))
            .and_then(|v| spread(v))
    };
    let memcpy = host_memcpy(&dir.join("nvdimm0.img"), 128 << 20)?;
    let n = |p: Platform| (1..=sc.boots).filter(|b| sc.platform_for(*b) == p).count();
    println!();
    println!(
        "test VMM vs QEMU native nvdimm, QEMU TCG, 1 vCPU, median [min, max] of all rounds of {} VMM and {} QEMU boots",
        n(Platform::Vmm),
        n(Platform::Qemu)
    );
    println!(
        "| {:<46} | {:>27} | {:>27} | {:>9} |",
        "what", "test VMM", "QEMU native", "VMM/QEMU"
    );
    println!("|{:-<48}|{:-<29}|{:-<29}|{:-<11}|", "", "", "", "");
    let row = |label: &str, m: &str, unit: &str, scale: &dyn Fn(f64) -> f64| {
        let (v, q) = (get(m, Platform::Vmm), get(m, Platform::Qemu));
        // A throughput scale turns the fastest round into the largest value.
        let f = |x: Option<(f64, f64, f64)>| {
            x.map_or("-".to_string(), |(a, m, b)| {
                let (a, b) = (scale(a), scale(b));
                format!("{:.1} {unit} [{:.1}, {:.1}]", scale(m), a.min(b), a.max(b))
            })
        };
        let ratio = match (v, q) {
            (Some(v), Some(q)) if q.1 > 0.0 => format!("{:.2}x", scale(v.1) / scale(q.1)),
            _ => "-".into(),
        };
        println!("| {label:<46} | {:>27} | {:>27} | {ratio:>9} |", f(v), f(q));
    };
    let ms = |x: f64| x / 1000.0;
    let mbps = |bytes: f64| move |us: f64| bytes / us;
    row(
        "launch -> ndctl-ready (host clock)",
        "launch_to_ready",
        "s",
        &|x| x / 1e6,
    );
    row("  guest uptime at ndctl-ready", "ready_uptime", "s", &|x| {
        x / 1e6
    });
    row(
        "ndctl read-labels, 128 KiB (_DSM 4+5)",
        "label_read_128k",
        "ms",
        &ms,
    );
    row(
        "  label read throughput",
        "label_read_128k",
        "MB/s",
        &mbps(KIB128),
    );
    row(
        "ndctl read-labels -s 256 (_DSM latency)",
        "label_read_256",
        "ms",
        &ms,
    );
    row(
        "ndctl write-labels, 128 KiB (_DSM 4+6)",
        "label_write_128k",
        "ms",
        &ms,
    );
    row(
        "  label write throughput",
        "label_write_128k",
        "MB/s",
        &mbps(KIB128),
    );
    row(
        "ndctl list -D (no _DSM: process cost)",
        "ndctl_list",
        "ms",
        &ms,
    );
    row(
        "  timing's own cost (true, a shell builtin)",
        "spawn",
        "ms",
        &ms,
    );
    row(
        "pmem sequential write, 128 MiB (pattern)",
        "pmem_write_128m",
        "MB/s",
        &mbps(MIB128),
    );
    row(
        "pmem sequential read, 128 MiB (pattern)",
        "pmem_read_128m",
        "MB/s",
        &mbps(MIB128),
    );
    println!(
        "| {:<46} | {:>27} | {:>27} | {:>9} |",
        "host memcpy of the backing file, 128 MiB",
        format!("{:.1} MB/s", MIB128 / memcpy),
        "(same)",
        "-"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memcpy_messages() {
        let f = std::env::temp_dir().join(format!("nvdimm-harness-bench-{}", std::process::id()));
        let _ = std::fs::remove_file(&f);
        assert_eq!(
            host_memcpy(&f, 8).unwrap_err().to_string(),
            format!("{}: No such file or directory (os error 2)", f.display())
        );
        std::fs::write(&f, b"abc").unwrap();
        assert_eq!(
            host_memcpy(&f, 8).unwrap_err().to_string(),
            format!("{}: shorter than 8 bytes", f.display())
        );
        let _ = std::fs::remove_file(&f);
    }

    #[test]
    fn lines_and_medians() {
        let l = bench_lines("x\nBENCH|a|10\r\nBENCH|b|x\nBENCH|c|7.5|extra\nBENCH|\n");
        assert_eq!(l, [("a".to_string(), 10.0), ("c".to_string(), 7.5)]);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0]), Some(1.0));
        assert_eq!(median(&[]), None);
        assert_eq!(spread(&[3.0, 1.0, 2.0, 9.0]), Some((1.0, 2.0, 9.0)));
        assert_eq!(spread(&[]), None);
    }
}
