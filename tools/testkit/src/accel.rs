// SPDX-License-Identifier: GPL-2.0
//! Which accelerator runs a guest (see `Documentation/nvdimm-rs/testing.rst`).

use std::path::Path;

/// Which accelerator runs the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Tcg,
    Kvm,
}

impl Accel {
    /// KVM only for an x86_64 guest where the host has real hardware
    /// virtualization: `/dev/kvm` alone is not enough (a software-emulated
    /// hypervisor can provide it, and Linux guests then do not boot in
    /// useful time).
    pub fn detect(arch: &str) -> Accel {
        if arch != "x86_64" || !Path::new("/dev/kvm").exists() {
            return Accel::Tcg;
        }
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        if hardware_virtualization(&cpuinfo) {
            Accel::Kvm
        } else {
            Accel::Tcg
        }
    }

    /// QEMU's name for it (`-accel NAME`).
    pub fn name(self) -> &'static str {
        match self {
            Accel::Tcg => "tcg",
            Accel::Kvm => "kvm",
        }
    }
}

/// Whether a `/proc/cpuinfo` text has a `flags` line with `vmx` or `svm`.
fn hardware_virtualization(cpuinfo: &str) -> bool {
    cpuinfo
        .lines()
        .filter(|l| l.starts_with("flags"))
        .any(|l| l.split_whitespace().any(|f| f == "vmx" || f == "svm"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags() {
        assert!(hardware_virtualization("flags\t\t: fpu vme vmx sse\n"));
        assert!(hardware_virtualization("model\t: x\nflags\t: svm lm\n"));
        assert!(!hardware_virtualization("flags\t: fpu vmxx hypervisor\n"));
        assert!(!hardware_virtualization("vmx\n"));
        assert_eq!(Accel::detect("aarch64"), Accel::Tcg);
        assert_eq!(Accel::Kvm.name(), "kvm");
        assert_eq!(Accel::Tcg.name(), "tcg");
    }
}
