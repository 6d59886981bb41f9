// SPDX-License-Identifier: GPL-2.0
//! Scenario files: shell scripts run by the guest's `/init`, whose header
//! comments tell the harness how to boot the guest for them.
//!
//! ```text
//! # title: namespaces in every mode
//! # arch: x86_64
//! # drivers: c
//! # nvdimm: size=512M label-size=128K
//! # nvdimm: size=256M label-size=128K pmem=on
//! # boots: 2
//! # qemu-trace: thread_pool_submit_aio
//! # known-panic: BUG: scheduling while atomic
//! # timeout: 300
//! # check: yes
//! # platform: vmm qemu          (who serves the NVDIMMs, per boot)
//! # malformed-nfit: spa-overlap (test VMM: boot N gets the Nth class)
//! # vmm-args: --ars             (extra nvdimm-vmm arguments; {dir} is the
//! #                               run's directory, e.g. --ocxlpmem path={dir}/c.img,size=512M)
//! ```

use std::path::Path;

/// One NVDIMM of a scenario, served by QEMU's native device model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NvdimmSpec {
    /// Persistent-memory size visible to the guest, in bytes.
    pub size: u64,
    /// Label area size in bytes; `0` means a label-less DIMM.
    pub label_size: u64,
    /// Whether the DIMM is marked unarmed (read-only).
    pub unarmed: bool,
    /// Whether the backend claims real persistent memory (`pmem=on`): on
    /// pseries such a DIMM needs no `H_SCM_FLUSH` (no `ibm,hcall-flush-required`).
    pub pmem: bool,
    /// Test VMM only: `label-methods=off|on|both` (`_LSI`/`_LSR`/`_LSW`).
    pub label_methods: String,
    /// Test VMM only: `flush-hints=N` (NFIT flush hint addresses, 0 to 8).
    pub flush_hints: u8,
}

impl NvdimmSpec {
    /// The keys only the test VMM serves, as `key=value` pieces of its
    /// `--nvdimm` option (empty for a plain DIMM).
    pub fn vmm_only(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.label_methods != "off" {
            v.push(format!("label-methods={}", self.label_methods));
        }
        if self.flush_hints != 0 {
            v.push(format!("flush-hints={}", self.flush_hints));
        }
        v
    }
}

/// How a scenario is expected to end. Anything but `Pass` is for the
/// harness's own tests: they prove that a panic, a hung guest or a failed
/// check is caught and reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Pass,
    FailedCheck,
    Panic,
    Timeout,
}

/// A scenario as described by its header.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub title: String,
    pub arches: Vec<String>,
    pub drivers: Vec<String>,
    pub nvdimms: Vec<NvdimmSpec>,
    /// NVDIMMs for one architecture only (`# nvdimm[ppc64le]: ...`),
    /// after the common ones.
    pub arch_nvdimms: Vec<(String, NvdimmSpec)>,
    pub boots: u32,
    pub timeout_secs: u64,
    /// Part of `make check`.
    pub in_check: bool,
    pub expect: Expect,
    /// Guest RAM in MiB.
    pub memory_mib: u64,
    /// Extra kernel command line.
    pub cmdline: String,
    /// Extra kernel command line for one architecture only
    /// (`# cmdline[ppc64le]: mem=1G`).
    pub arch_cmdline: Vec<(String, String)>,
    /// Extra `-machine` properties, for example `nvdimm-persistence=cpu`.
    pub machine: Vec<String>,
    /// QEMU trace events to enable; each boot must log every one of them at
    /// least once (proof that the guest made QEMU do something).
    pub qemu_trace: Vec<String>,
    /// A known bug (of a C driver, never of ours) that may crash the guest:
    /// a boot that panics after this text appeared on its console ends the
    /// run as that known failure, reported as such, instead of failing it.
    pub known_panic: Option<String>,
    /// Who serves the NVDIMMs, per boot (the last one repeats): `qemu`
    /// (QEMU's native nvdimm) or `vmm` (the project's test VMM,
    /// `tools/vmm`). `# platform: vmm qemu vmm` switches between boots.
    pub platforms: Vec<Platform>,
    /// `# malformed-nfit: CLASS...`: boot N gets the test VMM's malformed
    /// NFIT of the Nth class (and `malformed=CLASS` on its command line).
    pub malformed_nfit: Vec<String>,
    /// `# vmm-args: --ars`: extra arguments of the test VMM.
    pub vmm_args: Vec<String>,
}

/// Who serves a guest's NVDIMMs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// QEMU's own nvdimm device model (`-machine pc,nvdimm=on`).
    Qemu,
    /// The test VMM, `nvdimm-vmm`, which runs QEMU itself.
    Vmm,
}

impl Platform {
    pub fn name(self) -> &'static str {
        match self {
            Platform::Qemu => "qemu",
            Platform::Vmm => "vmm",
        }
    }
}

/// Parses `512M`, `128K`, `1G` or a plain byte count.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, shift) = match s.chars().last() {
        Some('K' | 'k') => (&s[..s.len() - 1], 10),
        Some('M' | 'm') => (&s[..s.len() - 1], 20),
        Some('G' | 'g') => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    let n: u64 = num.parse().map_err(|_| format!("bad size '{s}'"))?;
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("size '{s}' overflows"))
}

fn parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "yes" | "on" | "true" => Ok(true),
        "no" | "off" | "false" => Ok(false),
        _ => Err(format!("expected yes/no, got '{s}'")),
    }
}

impl NvdimmSpec {
    /// Parses `size=512M label-size=128K unarmed=on` (order free).
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut spec = NvdimmSpec {
            size: 0,
            label_size: 0,
            unarmed: false,
            pmem: false,
            label_methods: "off".into(),
            flush_hints: 0,
        };
        for kv in s.split([' ', ',']).filter(|t| !t.is_empty()) {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| format!("expected key=value, got '{kv}'"))?;
            match k {
                "size" => spec.size = parse_size(v)?,
                "label-size" => spec.label_size = parse_size(v)?,
                "unarmed" => spec.unarmed = parse_bool(v)?,
                "pmem" => spec.pmem = parse_bool(v)?,
                "label-methods" => {
                    if !["off", "on", "both"].contains(&v) {
                        return Err(format!("label-methods={v}: expected off, on or both"));
                    }
                    spec.label_methods = v.to_string();
                }
                "flush-hints" => {
                    spec.flush_hints = v
                        .parse()
                        .ok()
                        .filter(|n| *n <= 8)
                        .ok_or_else(|| format!("flush-hints={v}: expected 0 to 8"))?
                }
                _ => return Err(format!("unknown nvdimm key '{k}'")),
            }
        }
        if spec.size == 0 || !spec.size.is_multiple_of(2 << 20) {
            return Err("nvdimm size must be a non-zero multiple of 2 MiB".into());
        }
        if spec.label_size != 0 && spec.label_size < 128 << 10 {
            return Err("label-size must be at least 128K (or absent)".into());
        }
        if spec.label_methods != "off" && spec.label_size == 0 {
            return Err("label-methods=on|both needs a label area (label-size=)".into());
        }
        Ok(spec)
    }
}

impl Scenario {
    pub fn parse(name: &str, path: &Path, text: &str) -> Result<Self, String> {
        let mut sc = Scenario {
            name: name.to_string(),
            title: String::new(),
            arches: vec!["x86_64".into()],
            drivers: vec!["c".into()],
            nvdimms: Vec::new(),
            arch_nvdimms: Vec::new(),
            boots: 1,
            timeout_secs: 180,
            in_check: true,
            expect: Expect::Pass,
            memory_mib: 1024,
            cmdline: String::new(),
            arch_cmdline: Vec::new(),
            machine: Vec::new(),
            qemu_trace: Vec::new(),
            known_panic: None,
            platforms: vec![Platform::Qemu],
            malformed_nfit: Vec::new(),
            vmm_args: Vec::new(),
        };
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("# ") else {
                continue;
            };
            let Some((key, val)) = rest.split_once(':') else {
                continue;
            };
            let val = val.trim();
            let err = |e: String| format!("{}: '{key}': {e}", path.display());
            let list = |v: &str| v.split_whitespace().map(str::to_string).collect();
            match key {
                "title" => sc.title = val.to_string(),
                "arch" => sc.arches = list(val),
                "drivers" => sc.drivers = list(val),
                "nvdimm" => sc.nvdimms.push(NvdimmSpec::parse(val).map_err(err)?),
                "boots" => {
                    sc.boots = val
                        .parse()
                        .ok()
                        .filter(|b| (1..=16).contains(b))
                        .ok_or_else(|| err("expected 1..16".into()))?
                }
                "timeout" => {
                    sc.timeout_secs = val
                        .parse()
                        .ok()
                        .filter(|t| *t > 0)
                        .ok_or_else(|| err("expected seconds".into()))?
                }
                "check" => sc.in_check = parse_bool(val).map_err(err)?,
                "expect" => {
                    sc.expect = match val {
                        "pass" => Expect::Pass,
                        "failed-check" => Expect::FailedCheck,
                        "panic" => Expect::Panic,
                        "timeout" => Expect::Timeout,
                        _ => {
                            return Err(err("expected pass, failed-check, panic or timeout".into()))
                        }
                    }
                }
                "memory" => {
                    sc.memory_mib = parse_size(val)
                        .ok()
                        .filter(|m| *m >= 256 << 20)
                        .map(|m| m >> 20)
                        .ok_or_else(|| err("expected a size of at least 256M".into()))?
                }
                "cmdline" => sc.cmdline = val.to_string(),
                "machine" => {
                    for prop in val.split([' ', ',']).filter(|p| !p.is_empty()) {
                        if !prop.contains('=') {
                            return Err(err(format!("expected key=value, got '{prop}'")));
                        }
                        sc.machine.push(prop.to_string());
                    }
                }
                _ if key.starts_with("nvdimm[") && key.ends_with(']') => {
                    let arch = &key["nvdimm[".len()..key.len() - 1];
                    let spec = NvdimmSpec::parse(val).map_err(err)?;
                    sc.arch_nvdimms.push((arch.to_string(), spec));
                }
                _ if key.starts_with("cmdline[") && key.ends_with(']') => {
                    let arch = &key["cmdline[".len()..key.len() - 1];
                    sc.arch_cmdline.push((arch.to_string(), val.to_string()));
                }
                "qemu-trace" => sc.qemu_trace = list(val),
                "known-panic" => sc.known_panic = Some(val.to_string()),
                "platform" => {
                    sc.platforms = val
                        .split_whitespace()
                        .map(|p| match p {
                            "qemu" => Ok(Platform::Qemu),
                            "vmm" => Ok(Platform::Vmm),
                            _ => Err(err(format!("unknown platform '{p}' (qemu, vmm)"))),
                        })
                        .collect::<Result<_, _>>()?;
                    if sc.platforms.is_empty() {
                        return Err(err("expected qemu or vmm".into()));
                    }
                }
                "malformed-nfit" => sc.malformed_nfit = list(val),
                "vmm-args" => sc.vmm_args = list(val),
                _ => {}
            }
        }
        if sc.title.is_empty() {
            return Err(format!("{}: no '# title:' header", path.display()));
        }
        let vmm_only = sc
            .nvdimms
            .iter()
            .chain(sc.arch_nvdimms.iter().map(|(_, n)| n))
            .flat_map(NvdimmSpec::vmm_only)
            .next();
        if let (Some(k), true) = (vmm_only, sc.platforms.contains(&Platform::Qemu)) {
            return Err(format!(
                "{}: nvdimm '{k}' is served by the test VMM only: QEMU's nvdimm has no such \
                 property (use '# platform: vmm')",
                path.display()
            ));
        }
        if !sc.malformed_nfit.is_empty() {
            if sc.platforms != [Platform::Vmm] {
                return Err(format!(
                    "{}: '# malformed-nfit:' needs '# platform: vmm'",
                    path.display()
                ));
            }
            sc.boots = u32::try_from(sc.malformed_nfit.len())
                .ok()
                .filter(|b| (1..=16).contains(b))
                .ok_or_else(|| format!("{}: 1 to 16 malformed-nfit classes", path.display()))?;
        }
        Ok(sc)
    }
}

impl Scenario {
    /// Who serves the NVDIMMs in boot `boot` (1-based).
    pub fn platform_for(&self, boot: u32) -> Platform {
        let i = (boot as usize)
            .saturating_sub(1)
            .min(self.platforms.len() - 1);
        self.platforms[i]
    }

    /// The malformed NFIT class of boot `boot`, if any.
    pub fn malformed_for(&self, boot: u32) -> Option<&str> {
        self.malformed_nfit
            .get((boot as usize).checked_sub(1)?)
            .map(String::as_str)
    }

    /// The NVDIMMs of a guest of `arch`.
    pub fn nvdimms_for(&self, arch: &str) -> Vec<NvdimmSpec> {
        let own = self.arch_nvdimms.iter().filter(|(a, _)| a == arch);
        self.nvdimms
            .iter()
            .chain(own.map(|(_, n)| n))
            .cloned()
            .collect()
    }

    /// The extra kernel command line for a guest of `arch`.
    pub fn cmdline_for(&self, arch: &str) -> String {
        let mut out = self.cmdline.clone();
        for (a, c) in &self.arch_cmdline {
            if a == arch {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(c);
            }
        }
        out
    }
}

/// All scenarios of a directory, sorted by name.
pub fn load_all(dir: &Path) -> Result<Vec<Scenario>, String> {
    let mut out = Vec::new();
    let rd = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in rd {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|e| e == "sh") {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .ok_or_else(|| format!("{}: bad file name", path.display()))?;
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            out.push(Scenario::parse(name, &path, &text)?);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header() {
        let text = "#!/bin/sh\n# title: modes\n# nvdimm: size=512M label-size=128K\n\
                    # nvdimm: size=256M pmem=on\n# boots: 2\n# qemu-trace: a b\n# known-panic: BUG: x\n# timeout: 60\n# drivers: c rust\n\
                    # expect: panic\n# memory: 2G\n# cmdline: memmap=512M$1G\n";
        let sc = Scenario::parse("modes", Path::new("modes.sh"), text).unwrap();
        assert_eq!(sc.title, "modes");
        assert_eq!(sc.boots, 2);
        assert_eq!(sc.timeout_secs, 60);
        assert_eq!(sc.drivers, ["c", "rust"]);
        assert_eq!(sc.expect, Expect::Panic);
        assert_eq!(sc.memory_mib, 2048);
        assert_eq!(sc.cmdline, "memmap=512M$1G");
        let text = "# title: t\n# cmdline: quiet\n# cmdline[x86_64]: memmap=512M$1G\n\
                    # cmdline[ppc64le]: mem=1G\n";
        let per_arch = Scenario::parse("t", Path::new("t.sh"), text).unwrap();
        assert_eq!(per_arch.cmdline_for("x86_64"), "quiet memmap=512M$1G");
        assert_eq!(per_arch.cmdline_for("ppc64le"), "quiet mem=1G");
        let machine = "# title: t\n# machine: nvdimm-persistence=cpu\n";
        let with_machine = Scenario::parse("t", Path::new("t.sh"), machine).unwrap();
        assert_eq!(with_machine.machine, ["nvdimm-persistence=cpu"]);
        assert!(Scenario::parse("t", Path::new("t.sh"), "# title: t\n# machine: x\n").is_err());
        let text = "# title: t\n# nvdimm[x86_64]: size=512M\n# nvdimm[ppc64le]: size=256M\n";
        let per_arch = Scenario::parse("t", Path::new("t.sh"), text).unwrap();
        assert_eq!(per_arch.nvdimms_for("x86_64")[0].size, 512 << 20);
        assert_eq!(per_arch.nvdimms_for("ppc64le")[0].size, 256 << 20);
        assert_eq!(per_arch.nvdimms_for("ppc64le").len(), 1);
        assert_eq!(sc.qemu_trace, ["a", "b"]);
        assert_eq!(sc.known_panic.as_deref(), Some("BUG: x"));
        assert_eq!(
            sc.nvdimms,
            [
                NvdimmSpec {
                    label_methods: "off".into(),
                    flush_hints: 0,
                    size: 512 << 20,
                    label_size: 128 << 10,
                    unarmed: false,
                    pmem: false
                },
                NvdimmSpec {
                    label_methods: "off".into(),
                    flush_hints: 0,
                    size: 256 << 20,
                    label_size: 0,
                    unarmed: false,
                    pmem: true
                }
            ]
        );
    }

    #[test]
    fn bad_headers() {
        let p = Path::new("x.sh");
        assert!(Scenario::parse("x", p, "# boots: 2\n").is_err(), "no title");
        assert!(Scenario::parse("x", p, "# title: t\n# boots: 0\n").is_err());
        assert!(Scenario::parse("x", p, "# title: t\n# nvdimm: size=3M\n").is_err());
        assert!(Scenario::parse("x", p, "# title: t\n# nvdimm: size=4M label-size=4K\n").is_err());
        assert!(Scenario::parse("x", p, "# title: t\n# nvdimm: size=4M colour=red\n").is_err());
        // Test VMM keys: need '# platform: vmm' (QEMU's nvdimm has none).
        let vmm = "# title: t\n# platform: vmm\n\
                   # nvdimm: size=4M label-size=128K label-methods=on flush-hints=2\n";
        let sc = Scenario::parse("x", p, vmm).unwrap();
        assert_eq!(
            sc.nvdimms[0].vmm_only(),
            ["label-methods=on", "flush-hints=2"]
        );
        let native = "# title: t\n# nvdimm: size=4M label-size=128K label-methods=on\n";
        assert!(Scenario::parse("x", p, native)
            .unwrap_err()
            .contains("test VMM only"));
        let mixed = "# title: t\n# platform: vmm qemu\n# nvdimm: size=4M flush-hints=1\n";
        assert!(Scenario::parse("x", p, mixed).is_err());
        for bad in [
            "size=4M label-methods=on",
            "size=4M label-size=128K label-methods=maybe",
            "size=4M flush-hints=9",
        ] {
            let t = format!("# title: t\n# platform: vmm\n# nvdimm: {bad}\n");
            assert!(Scenario::parse("x", p, &t).is_err(), "{bad}");
        }
        assert!(Scenario::parse("x", p, "# title: t\n# expect: maybe\n").is_err());
        assert!(Scenario::parse("x", p, "# title: t\n# memory: 1M\n").is_err());
        assert!(Scenario::parse("x", p, "# title: t\n# platform: kvm\n").is_err());
        assert!(Scenario::parse("x", p, "# title: t\n# platform:\n").is_err());
        assert!(Scenario::parse("x", p, "# title: t\n# malformed-nfit: spa-overlap\n").is_err());
    }

    #[test]
    fn platforms() {
        let p = Path::new("x.sh");
        let sc = Scenario::parse("x", p, "# title: t\n# boots: 3\n").unwrap();
        assert_eq!(sc.platform_for(3), Platform::Qemu);
        let sc = Scenario::parse("x", p, "# title: t\n# platform: vmm qemu\n# boots: 3\n").unwrap();
        assert_eq!(sc.platform_for(1), Platform::Vmm);
        assert_eq!(sc.platform_for(2), Platform::Qemu);
        assert_eq!(sc.platform_for(3), Platform::Qemu, "the last one repeats");
        let sc = Scenario::parse(
            "x",
            p,
            "# title: t\n# platform: vmm\n# malformed-nfit: a b c\n",
        )
        .unwrap();
        assert_eq!(sc.boots, 3);
        assert_eq!(sc.malformed_for(2), Some("b"));
        assert_eq!(sc.malformed_for(4), None);
        assert_eq!(sc.platform_for(3), Platform::Vmm);
        let sc = Scenario::parse(
            "x",
            p,
            "# title: t\n# platform: vmm\n# vmm-args: --ars --x\n",
        )
        .unwrap();
        assert_eq!(sc.vmm_args, ["--ars", "--x"]);
    }
}
