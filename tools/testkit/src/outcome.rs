// SPDX-License-Identifier: GPL-2.0
//! How a guest ends, and the exit codes `nvdimm-vmm` reports it with: the
//! VMM maps an [`Outcome`] to an [`Exit`] code, the harness maps the code
//! back, both through this one table.

use std::fmt::Write as _;
use std::process::ExitStatus;

/// How a guest ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The guest powered off (QEMU exited with status 0).
    PowerOff,
    /// The kernel panicked (seen on the console, or reported by the VMM).
    Panic,
    /// The guest did not power off within the timeout and was killed.
    Timeout,
    /// QEMU (or the VMM) itself failed: bad arguments, missing files.
    QemuFailed(String),
    /// SIGINT or SIGTERM (the signal number) stopped the supervisor.
    Stopped(i32),
}

/// The exit codes of `nvdimm-vmm`, with their meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    PowerOff = 0,
    Error = 1,
    Usage = 2,
    Panic = 3,
    Timeout = 4,
    Qemu = 5,
}

/// Stopped by a signal: 128 plus its number, as a shell reports it (130
/// for SIGINT, 143 for SIGTERM).
pub const EXIT_SIGNAL_BASE: u8 = 128;

impl Exit {
    /// Every code, in order.
    pub const ALL: [Exit; 6] = [
        Exit::PowerOff,
        Exit::Error,
        Exit::Usage,
        Exit::Panic,
        Exit::Timeout,
        Exit::Qemu,
    ];

    pub fn code(self) -> u8 {
        self as u8
    }

    /// The exit status of a process, as one of these.
    pub fn from_status(code: i32) -> Option<Exit> {
        Exit::ALL.into_iter().find(|e| i32::from(e.code()) == code)
    }

    /// What the code means, as `--help` says it.
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::PowerOff => "guest powered off",
            Exit::Error => "VMM error",
            Exit::Usage => "bad arguments",
            Exit::Panic => "guest kernel panic",
            Exit::Timeout => "timeout",
            Exit::Qemu => "QEMU failed",
        }
    }

    /// The `Exit codes: ...` paragraph of `nvdimm-vmm --help`.
    pub fn help() -> String {
        let mut s = String::from("Exit codes:");
        for e in Exit::ALL {
            let _ = write!(s, " {} {},", e.code(), e.meaning());
        }
        let _ = write!(
            s,
            " {}/{} stopped by SIGINT/SIGTERM.",
            EXIT_SIGNAL_BASE + 2,
            EXIT_SIGNAL_BASE + 15
        );
        s
    }
}

impl Outcome {
    /// The VMM's exit code for this end.
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::PowerOff => Exit::PowerOff.code(),
            Outcome::Panic => Exit::Panic.code(),
            Outcome::Timeout => Exit::Timeout.code(),
            Outcome::QemuFailed(_) => Exit::Qemu.code(),
            Outcome::Stopped(sig) => EXIT_SIGNAL_BASE.saturating_add(*sig as u8),
        }
    }

    /// How a guest ended whose `program` exited with `status`: a panic
    /// seen on its console (`panic=-1` ends QEMU too), a power-off (exit
    /// 0, `-no-reboot`), else a failure, with the program's stderr.
    pub fn of_exit(program: &str, status: ExitStatus, panicked: bool, stderr: &str) -> Outcome {
        if panicked {
            Outcome::Panic
        } else if status.success() {
            Outcome::PowerOff
        } else {
            Outcome::QemuFailed(format!("{program} exited with {status}: {}", stderr.trim()))
        }
    }

    /// The end an `nvdimm-vmm` exit status reports by itself (a panic or a
    /// timeout); `None` for the others, which need the VMM's message.
    pub fn from_vmm_status(code: Option<i32>) -> Option<Outcome> {
        match code.and_then(Exit::from_status) {
            Some(Exit::Panic) => Some(Outcome::Panic),
            Some(Exit::Timeout) => Some(Outcome::Timeout),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_of_a_process() {
        use std::os::unix::process::ExitStatusExt;
        let (ok, failed) = (ExitStatus::from_raw(0), ExitStatus::from_raw(1 << 8));
        assert_eq!(Outcome::of_exit("q", failed, true, ""), Outcome::Panic);
        assert_eq!(Outcome::of_exit("q", ok, false, ""), Outcome::PowerOff);
        assert_eq!(
            Outcome::of_exit("q", failed, false, " no kvm\n"),
            Outcome::QemuFailed("q exited with exit status: 1: no kvm".into())
        );
    }

    #[test]
    fn codes_are_distinct_and_round_trip() {
        let codes = [
            Outcome::PowerOff.exit_code(),
            Outcome::Panic.exit_code(),
            Outcome::Timeout.exit_code(),
            Outcome::QemuFailed(String::new()).exit_code(),
            Outcome::Stopped(2).exit_code(),
            Outcome::Stopped(15).exit_code(),
            Exit::Error.code(),
            Exit::Usage.code(),
        ];
        for (i, a) in codes.iter().enumerate() {
            assert!(codes[i + 1..].iter().all(|b| b != a));
        }
        assert_eq!(codes, [0, 3, 4, 5, 130, 143, 1, 2]);
        for e in Exit::ALL {
            assert_eq!(Exit::from_status(e.code().into()), Some(e));
        }
        assert_eq!(Exit::from_status(6), None);
        assert_eq!(Outcome::from_vmm_status(Some(3)), Some(Outcome::Panic));
        assert_eq!(Outcome::from_vmm_status(Some(4)), Some(Outcome::Timeout));
        for other in [None, Some(0), Some(1), Some(2), Some(5), Some(130)] {
            assert_eq!(Outcome::from_vmm_status(other), None);
        }
    }

    #[test]
    fn help_text() {
        assert_eq!(
            Exit::help(),
            "Exit codes: 0 guest powered off, 1 VMM error, 2 bad arguments, 3 guest kernel panic, \
             4 timeout, 5 QEMU failed, 130/143 stopped by SIGINT/SIGTERM."
        );
    }
}
