// SPDX-License-Identifier: GPL-2.0
//! The debug kernels (`--kernel debug`): KASAN, lockdep, atomic-sleep
//! checks, debug objects and kmemleak (arch/<arch>/configs/nvdimm_rs_debug.config).
//!
//! The guest's `finish` (lib.sh) already fails `dmesg-clean` on a
//! warning, BUG or oops that the scenario's `known_dmesg` does not excuse,
//! and `kmemleak-clean` on a leak. The harness reads each boot's console as
//! well, for the reports of the debug options: those are never expected, so
//! no `known_dmesg` excuses them, and the console has them even when the
//! guest died before `finish` or the report came after it (at power-off).

/// The kernel a scenario boots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kernel {
    /// The kernel of `make check` (build/<arch>).
    Default,
    /// The debug kernel (build/<arch>-debug).
    Debug,
}

impl Kernel {
    /// The suffix of the build directory and of the results directory.
    pub fn suffix(self) -> &'static str {
        match self {
            Kernel::Default => "",
            Kernel::Debug => "-debug",
        }
    }

    /// How much longer than the scenario's `# timeout:` a boot may take:
    /// KASAN and lockdep slow a TCG guest down about threefold.
    pub fn timeout_factor(self) -> u64 {
        match self {
            Kernel::Default => 1,
            Kernel::Debug => 4,
        }
    }
}

/// Console lines that start a report of a debug option: each is a bug,
/// whatever the scenario expects.
pub const REPORTS: &[&str] = &[
    "BUG: KASAN:",
    "WARNING: possible circular locking dependency detected",
    "WARNING: possible recursive locking detected",
    "WARNING: inconsistent lock state",
    "WARNING: possible irq lock inversion dependency detected",
    "WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected",
    "WARNING: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected",
    "WARNING: suspicious RCU usage",
    "WARNING: bad unlock balance detected",
    "WARNING: held lock freed",
    "WARNING: lock held when returning to user space",
    "BUG: Invalid wait context",
    "BUG: sleeping function called from invalid context",
    "BUG: scheduling while atomic",
    "DEBUG_LOCKS_WARN_ON",
    "ODEBUG:",
    "UBSAN:",
    "unreferenced object 0x",
];

/// The debug reports on a console, one line each (with the line before, the
/// lockdep or KASAN header's context, where there is one), in order.
pub fn reports(console: &str) -> Vec<String> {
    console
        .lines()
        .filter(|l| REPORTS.iter().any(|r| l.contains(r)))
        .map(|l| l.trim_end_matches('\r').trim().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_debug_reports() {
        let console = "\
[    1.0] nd_pmem namespace0.0: unable to guarantee persistence of writes\n\
[    2.0] ======================================================\n\
[    2.0] WARNING: possible circular locking dependency detected\r\n\
[    3.0] BUG: KASAN: slab-use-after-free in nvdimm_bus_probe+0x12/0x40\n\
[    4.0] BUG: sleeping function called from invalid context at kernel/locking/mutex.c:580\n\
unreferenced object 0xffff888003a1c000 (size 32):\n\
[    5.0] WARNING: CPU: 0 PID: 1 at samples/rust/rust_warn.rs:9\n";
        let r = reports(console);
        assert_eq!(r.len(), 4, "{r:?}");
        assert!(r[0].ends_with("dependency detected"));
        assert!(r[1].contains("BUG: KASAN: slab-use-after-free"));
        assert!(r[3].starts_with("unreferenced object"));
        assert!(reports("[ 1.0] all fine\n").is_empty());
    }
}
