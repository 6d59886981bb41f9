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
//! # known-panic[c]: BUG: scheduling while atomic
//! # timeout: 300
//! # min-checks: 12              (fewer checks in a run fail it)
//! # check: yes
//! # platform: vmm qemu          (who serves the NVDIMMs, per boot)
//! # malformed-nfit: spa-overlap (test VMM: boot N gets the Nth class)
//! # vmm-args: --ars             (extra nvdimm-vmm arguments; {dir} is the
//! #                               run's directory, e.g. --ocxlpmem path={dir}/c.img,size=512M)
//! # expect-problem: ran no check  (a self-test: the run must report this)
//! # kernel: debug               (the kernels it runs on; default: default, and
//! #                               debug with the rust driver for a Rust scenario)
//! ```
//!
//! The header is the comment block after the SPDX line, up to the first
//! line that is `#` alone or not a comment; every line in it must be a
//! known `# key: value`, so a typo is an error, not a silently ignored
//! line. The body is linted for the two ways a scenario passes without
//! testing anything: a `sleep` used as synchronisation and a check whose
//! command cannot fail.

use std::path::{Path, PathBuf};

use nvdimm_testkit::spec::{parse_flush_hints, parse_switch, LabelMethods, SpecError};
use nvdimm_testkit::{parse_size, SizeError};

use crate::debug::Kernel;

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
    /// Test VMM only: `zero-uuid=on` (the DIMM's `_DSM` answers function 0
    /// of the all-zero UUID).
    pub zero_uuid: bool,
    /// `node=N`: the guest NUMA node of the DIMM (QEMU's nvdimm `node`;
    /// the scenario's `# numa:` must have that node).
    pub node: Option<u32>,
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
        if self.zero_uuid {
            v.push("zero-uuid=on".into());
        }
        v
    }
}

/// How a scenario is expected to end. Anything but `Pass` is for the
/// harness's own tests: they prove that a panic, a hung guest, a failed
/// check or another way of passing a broken driver is caught and reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    Pass,
    FailedCheck,
    Panic,
    Timeout,
    /// `# expect-problem: TEXT`: the run must report a problem containing
    /// TEXT, which then makes it pass (an inverted self-test).
    Problem(String),
}

/// The architectures the harness builds and boots: `ppc64le` is a pseries
/// guest, `powernv` a PowerNV one (a powerpc kernel of its own configuration).
pub const ARCHES: &[&str] = &["x86_64", "ppc64le", "powernv"];
/// The driver flavours a scenario can run with.
pub const DRIVERS: &[&str] = &["c", "rust"];

/// `# known-panic[DRIVER]: TEXT`: a known bug of DRIVER (a C driver, never
/// ours) that crashes the guest. It excuses a panic only in a run with that
/// driver, and only when TEXT appeared on the console of the boot that
/// panicked, after the scenario started and before the panic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownPanic {
    pub driver: String,
    pub text: String,
}

impl KnownPanic {
    /// Whether this known failure explains the panic on `console` (one
    /// boot's log) of a run with `driver`.
    pub fn explains(&self, driver: &str, console: &str) -> bool {
        if driver != self.driver {
            return false;
        }
        let Some(start) = console.find(SCENARIO_START_MARK) else {
            return false;
        };
        let after = &console[start..];
        let Some(panic) = after.find(nvdimm_testkit::console::PANIC_MARK) else {
            return false;
        };
        after[..panic].contains(self.text.as_str())
    }
}

/// The line the guest's `/init` prints before it runs the scenario.
pub const SCENARIO_START_MARK: &str = "=== scenario ";

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
    /// The kernels `check` runs it on (`# kernel:`), if it names them.
    pub kernels: Option<Vec<Kernel>>,
    pub expect: Expect,
    /// Guest RAM in MiB.
    pub memory_mib: u64,
    /// `# numa: 512M 512M 0`: the guest's NUMA nodes, each with its RAM in
    /// MiB (0: a node without memory or CPUs); the sizes add up to the
    /// guest's RAM, the CPU is on node 0. Empty: no NUMA description.
    pub numa_mib: Vec<u64>,
    /// Extra kernel command line.
    pub cmdline: String,
    /// Extra kernel command line for one architecture only
    /// (`# cmdline[ppc64le]: mem=1G`).
    pub arch_cmdline: Vec<(String, String)>,
    /// Extra `-machine` properties, for example `nvdimm-persistence=cpu`.
    pub machine: Vec<String>,
    /// `# cpu: MODEL`: QEMU's CPU model instead of the machine's default
    /// (`qemu64,vendor=GenuineIntel` for Intel machine-check decoding).
    pub cpu: Option<String>,
    /// QEMU trace events to enable; each boot must log every one of them at
    /// least once (proof that the guest made QEMU do something).
    pub qemu_trace: Vec<String>,
    /// Known bugs (of a C driver, never of ours) that may crash the guest:
    /// a boot that panics after the text appeared on its console, in a run
    /// with that driver, ends as that known failure, reported as such.
    pub known_panics: Vec<KnownPanic>,
    /// `# min-checks: N`: a run with fewer checks fails.
    pub min_checks: usize,
    /// `# min-checks[DRIVER]: N`: the minimum of the runs with DRIVER.
    pub driver_min_checks: Vec<(String, usize)>,
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

/// Why an NVDIMM description (`# nvdimm:`, a hotplug request) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NvdimmSpecError {
    #[error("expected key=value, got '{0}'")]
    NotKeyValue(String),
    #[error(transparent)]
    Size(#[from] SizeError),
    #[error(transparent)]
    Value(#[from] SpecError),
    #[error("unknown nvdimm key '{0}'")]
    UnknownKey(String),
    #[error("nvdimm size must be a non-zero multiple of 2 MiB")]
    Unaligned,
    #[error("label-size must be at least 128K (or absent)")]
    SmallLabelArea,
    #[error("label-methods=on|both needs a label area (label-size=)")]
    LabelMethodsWithoutLabelArea,
    #[error("node={0}: expected a node number below 8")]
    Node(String),
}

/// Why the value of one header key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("unknown header key")]
    UnknownKey,
    #[error("expected one or more of {}", .known.join(", "))]
    NoneGiven { known: &'static [&'static str] },
    #[error("{what} '{item}' matches none the harness runs ({})", .known.join(", "))]
    Unknown {
        what: &'static str,
        item: String,
        known: &'static [&'static str],
    },
    #[error("expected a count of at least 1")]
    Count,
    #[error("expected 1..16")]
    Boots,
    #[error("expected seconds")]
    Timeout,
    #[error("expected a size of at least 256M")]
    Memory,
    #[error(
        "expected 2 to 8 node sizes in whole MiB, node 0 with at least 256M \
         (0 for a node without memory)"
    )]
    Numa,
    #[error("expected one QEMU CPU model, with its properties")]
    Cpu,
    #[error("unknown kernel '{0}' (default, debug)")]
    UnknownKernel(String),
    #[error("expected default, debug or both")]
    NoKernel,
    #[error("expected pass, failed-check, panic or timeout")]
    Expect,
    #[error("expected key=value, got '{0}'")]
    NotKeyValue(String),
    #[error("name the driver whose known bug it is: '# known-panic[c]: TEXT'")]
    KnownPanicWithoutDriver,
    #[error("expected the console text of the known bug")]
    KnownPanicWithoutText,
    #[error("unknown platform '{0}' (qemu, vmm)")]
    UnknownPlatform(String),
    #[error("expected qemu or vmm")]
    NoPlatform,
    #[error(transparent)]
    Nvdimm(#[from] NvdimmSpecError),
    #[error(transparent)]
    Switch(#[from] SpecError),
}

/// Guest NUMA nodes a scenario may describe.
pub const MAX_NUMA_NODES: u32 = 8;

/// Why a scenario file was refused: it runs as a failed run (see [`Rejected`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    #[error(
        "{path}:{line}: header line '{text}' is not '# key: value' (end the header with a \
         line '#' before prose)"
    )]
    NotHeaderLine {
        path: PathBuf,
        line: usize,
        text: String,
    },
    #[error("{path}: '{key}': {cause}")]
    Header {
        path: PathBuf,
        key: String,
        #[source]
        cause: HeaderError,
    },
    #[error(
        "{path}:{line}: 'sleep' is not synchronisation: wait_for the condition (with a deadline \
         in seconds)"
    )]
    Sleep { path: PathBuf, line: usize },
    #[error("{path}:{line}: this check cannot fail: '{code}'")]
    CheckCannotFail {
        path: PathBuf,
        line: usize,
        code: String,
    },
    #[error("{path}: no '# title:' header")]
    NoTitle { path: PathBuf },
    #[error(
        "{path}: nvdimm '{key}' is served by the test VMM only: QEMU's nvdimm has no such \
         property (use '# platform: vmm')"
    )]
    VmmOnlyOnQemu { path: PathBuf, key: String },
    #[error("{path}: '# malformed-nfit:' needs '# platform: vmm'")]
    MalformedNeedsVmm { path: PathBuf },
    #[error("{path}: '# numa:' nodes have {numa} MiB in all, '# memory:' is {memory} MiB")]
    NumaMemory {
        path: PathBuf,
        numa: u64,
        memory: u64,
    },
    #[error("{path}: '# numa:' is for QEMU guests (the test VMM has no NUMA description)")]
    NumaOnVmm { path: PathBuf },
    #[error("{path}: an nvdimm names node {node}, which '# numa:' does not have")]
    NoSuchNode { path: PathBuf, node: u32 },
    #[error("{path}: 1 to 24 malformed-nfit classes")]
    MalformedCount { path: PathBuf },
    #[error(
        "{path}: no '# min-checks: N' header: a scenario of make check declares how many checks \
         a run must at least run"
    )]
    NoMinChecks { path: PathBuf },
}

/// Why the scenario directory could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Entry(std::io::Error),
    #[error("{path}: bad file name")]
    FileName { path: PathBuf },
}

impl NvdimmSpec {
    /// Parses `size=512M label-size=128K unarmed=on` (order free).
    pub fn parse(s: &str) -> Result<Self, NvdimmSpecError> {
        let mut spec = NvdimmSpec {
            size: 0,
            label_size: 0,
            unarmed: false,
            pmem: false,
            label_methods: "off".into(),
            flush_hints: 0,
            zero_uuid: false,
            node: None,
        };
        for kv in s.split([' ', ',']).filter(|t| !t.is_empty()) {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| NvdimmSpecError::NotKeyValue(kv.to_string()))?;
            match k {
                "size" => spec.size = parse_size(v)?,
                "label-size" => spec.label_size = parse_size(v)?,
                "unarmed" => spec.unarmed = parse_switch(k, v)?,
                "pmem" => spec.pmem = parse_switch(k, v)?,
                "label-methods" => {
                    LabelMethods::parse(v)?;
                    spec.label_methods = v.to_string();
                }
                "flush-hints" => spec.flush_hints = parse_flush_hints(v)?,
                "zero-uuid" => spec.zero_uuid = parse_switch(k, v)?,
                "node" => {
                    spec.node = Some(
                        v.parse()
                            .ok()
                            .filter(|n| *n < MAX_NUMA_NODES)
                            .ok_or_else(|| NvdimmSpecError::Node(v.to_string()))?,
                    )
                }
                _ => return Err(NvdimmSpecError::UnknownKey(k.to_string())),
            }
        }
        if spec.size == 0 || !spec.size.is_multiple_of(2 << 20) {
            return Err(NvdimmSpecError::Unaligned);
        }
        if spec.label_size != 0 && spec.label_size < 128 << 10 {
            return Err(NvdimmSpecError::SmallLabelArea);
        }
        if spec.label_methods != "off" && spec.label_size == 0 {
            return Err(NvdimmSpecError::LabelMethodsWithoutLabelArea);
        }
        Ok(spec)
    }
}

/// The header block: `(line number, line)` of the comment lines after the
/// SPDX line, up to the first `#` alone or non-comment line.
fn header_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end()))
        .filter(|(_, l)| !l.starts_with("#!") && !l.starts_with("# SPDX-License-Identifier:"))
        .take_while(|(_, l)| l.starts_with('#') && *l != "#")
}

/// A count of at least 1.
fn parse_count(val: &str) -> Result<usize, HeaderError> {
    val.parse()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or(HeaderError::Count)
}

/// Every item of `items` must be one of `known` (and there must be one).
fn one_of(
    items: Vec<String>,
    known: &'static [&'static str],
    what: &'static str,
) -> Result<Vec<String>, HeaderError> {
    if items.is_empty() {
        return Err(HeaderError::NoneGiven { known });
    }
    match items.iter().find(|i| !known.contains(&i.as_str())) {
        Some(bad) => Err(HeaderError::Unknown {
            what,
            item: bad.clone(),
            known,
        }),
        None => Ok(items),
    }
}

/// Rejects the two ways a scenario body passes without testing anything:
/// a `sleep` statement (synchronise with `wait_for CONDITION`, which has a
/// deadline) and a check whose command cannot fail (`check NAME true`, or a
/// command ending in `|| true` / `; true`).
fn lint_body(path: &Path, text: &str) -> Result<(), ScenarioError> {
    for (i, line) in text.lines().enumerate() {
        let code = line.trim();
        if code.starts_with('#') {
            continue;
        }
        let statements = code.split([';', '&', '|']).map(str::trim);
        if statements
            .clone()
            .any(|s| s == "sleep" || s.starts_with("sleep "))
        {
            return Err(ScenarioError::Sleep {
                path: path.to_path_buf(),
                line: i + 1,
            });
        }
        let words: Vec<&str> = code.split_whitespace().collect();
        let is_check = matches!(words.first(), Some(&("check" | "require")));
        let trimmed = code.trim_end_matches(['\'', '"']).trim_end();
        let always_true = words.get(2).is_some_and(|w| *w == "true" || *w == ":")
            && words.len() == 3
            || trimmed.ends_with("|| true")
            || trimmed.ends_with("|| :")
            || trimmed.ends_with("; true");
        if is_check && always_true {
            return Err(ScenarioError::CheckCannotFail {
                path: path.to_path_buf(),
                line: i + 1,
                code: code.to_string(),
            });
        }
    }
    Ok(())
}

/// A scenario file that could not be loaded: it runs as a failed run that
/// reports `error` (or passes if it expects exactly that problem).
#[derive(Debug, Clone)]
pub struct Rejected {
    pub name: String,
    pub error: ScenarioError,
    /// `# expect-problem:`, read from the file even though its header is bad.
    pub expect_problem: Option<String>,
}

impl Scenario {
    pub fn parse(name: &str, path: &Path, text: &str) -> Result<Self, ScenarioError> {
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
            kernels: None,
            expect: Expect::Pass,
            min_checks: 1,
            driver_min_checks: Vec::new(),
            memory_mib: 1024,
            numa_mib: Vec::new(),
            cmdline: String::new(),
            arch_cmdline: Vec::new(),
            machine: Vec::new(),
            cpu: None,
            qemu_trace: Vec::new(),
            known_panics: Vec::new(),
            platforms: vec![Platform::Qemu],
            malformed_nfit: Vec::new(),
            vmm_args: Vec::new(),
        };
        for (n, line) in header_lines(text) {
            let Some((key, val)) = line.strip_prefix("# ").and_then(|r| r.split_once(':')) else {
                return Err(ScenarioError::NotHeaderLine {
                    path: path.to_path_buf(),
                    line: n,
                    text: line.to_string(),
                });
            };
            let key = key.trim();
            let val = val.trim();
            let err = |cause: HeaderError| ScenarioError::Header {
                path: path.to_path_buf(),
                key: key.to_string(),
                cause,
            };
            let list = |v: &str| v.split_whitespace().map(str::to_string).collect();
            match key {
                "title" => sc.title = val.to_string(),
                "arch" => sc.arches = one_of(list(val), ARCHES, "architecture").map_err(err)?,
                "drivers" => sc.drivers = one_of(list(val), DRIVERS, "driver").map_err(err)?,
                "nvdimm" => sc
                    .nvdimms
                    .push(NvdimmSpec::parse(val).map_err(|e| err(e.into()))?),
                "boots" => {
                    sc.boots = val
                        .parse()
                        .ok()
                        .filter(|b| (1..=16).contains(b))
                        .ok_or_else(|| err(HeaderError::Boots))?
                }
                "timeout" => {
                    sc.timeout_secs = val
                        .parse()
                        .ok()
                        .filter(|t| *t > 0)
                        .ok_or_else(|| err(HeaderError::Timeout))?
                }
                "check" => sc.in_check = parse_switch(key, val).map_err(|e| err(e.into()))?,
                "kernel" => {
                    let k = val
                        .split_whitespace()
                        .map(|k| match k {
                            "default" => Ok(Kernel::Default),
                            "debug" => Ok(Kernel::Debug),
                            _ => Err(err(HeaderError::UnknownKernel(k.to_string()))),
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    if k.is_empty() {
                        return Err(err(HeaderError::NoKernel));
                    }
                    sc.kernels = Some(k);
                }
                "expect" => {
                    sc.expect = match val {
                        "pass" => Expect::Pass,
                        "failed-check" => Expect::FailedCheck,
                        "panic" => Expect::Panic,
                        "timeout" => Expect::Timeout,
                        _ => return Err(err(HeaderError::Expect)),
                    }
                }
                "expect-problem" if !val.is_empty() => sc.expect = Expect::Problem(val.to_string()),
                "min-checks" => sc.min_checks = parse_count(val).map_err(err)?,
                _ if key.starts_with("min-checks[") && key.ends_with(']') => {
                    let driver = &key["min-checks[".len()..key.len() - 1];
                    one_of(vec![driver.to_string()], DRIVERS, "driver").map_err(err)?;
                    let n = parse_count(val).map_err(err)?;
                    sc.driver_min_checks.push((driver.to_string(), n));
                }
                "memory" => {
                    sc.memory_mib = parse_size(val)
                        .ok()
                        .filter(|m| *m >= 256 << 20)
                        .map(|m| m >> 20)
                        .ok_or_else(|| err(HeaderError::Memory))?
                }
                "numa" => {
                    sc.numa_mib = val
                        .split_whitespace()
                        .map(|v| {
                            parse_size(v)
                                .ok()
                                .filter(|b| b.is_multiple_of(1 << 20))
                                .map(|b| b >> 20)
                        })
                        .collect::<Option<Vec<_>>>()
                        .filter(|n| (2..=MAX_NUMA_NODES as usize).contains(&n.len()))
                        .filter(|n| n.first().is_some_and(|m| *m >= 256))
                        .ok_or_else(|| err(HeaderError::Numa))?;
                }
                "cmdline" => sc.cmdline = val.to_string(),
                "cpu" => {
                    if val.is_empty() || val.contains(char::is_whitespace) {
                        return Err(err(HeaderError::Cpu));
                    }
                    sc.cpu = Some(val.to_string());
                }
                "machine" => {
                    for prop in val.split([' ', ',']).filter(|p| !p.is_empty()) {
                        if !prop.contains('=') {
                            return Err(err(HeaderError::NotKeyValue(prop.to_string())));
                        }
                        sc.machine.push(prop.to_string());
                    }
                }
                _ if key.starts_with("nvdimm[") && key.ends_with(']') => {
                    let arch = &key["nvdimm[".len()..key.len() - 1];
                    one_of(vec![arch.to_string()], ARCHES, "architecture").map_err(err)?;
                    let spec = NvdimmSpec::parse(val).map_err(|e| err(e.into()))?;
                    sc.arch_nvdimms.push((arch.to_string(), spec));
                }
                _ if key.starts_with("cmdline[") && key.ends_with(']') => {
                    let arch = &key["cmdline[".len()..key.len() - 1];
                    one_of(vec![arch.to_string()], ARCHES, "architecture").map_err(err)?;
                    sc.arch_cmdline.push((arch.to_string(), val.to_string()));
                }
                "qemu-trace" => sc.qemu_trace = list(val),
                "known-panic" => return Err(err(HeaderError::KnownPanicWithoutDriver)),
                _ if key.starts_with("known-panic[") && key.ends_with(']') => {
                    let driver = &key["known-panic[".len()..key.len() - 1];
                    one_of(vec![driver.to_string()], DRIVERS, "driver").map_err(err)?;
                    if val.is_empty() {
                        return Err(err(HeaderError::KnownPanicWithoutText));
                    }
                    sc.known_panics.push(KnownPanic {
                        driver: driver.to_string(),
                        text: val.to_string(),
                    });
                }
                "platform" => {
                    sc.platforms = val
                        .split_whitespace()
                        .map(|p| match p {
                            "qemu" => Ok(Platform::Qemu),
                            "vmm" => Ok(Platform::Vmm),
                            _ => Err(err(HeaderError::UnknownPlatform(p.to_string()))),
                        })
                        .collect::<Result<_, _>>()?;
                    if sc.platforms.is_empty() {
                        return Err(err(HeaderError::NoPlatform));
                    }
                }
                "malformed-nfit" => sc.malformed_nfit = list(val),
                "vmm-args" => sc.vmm_args = list(val),
                _ => return Err(err(HeaderError::UnknownKey)),
            }
        }
        lint_body(path, text)?;
        if sc.title.is_empty() {
            return Err(ScenarioError::NoTitle {
                path: path.to_path_buf(),
            });
        }
        let vmm_only = sc
            .nvdimms
            .iter()
            .chain(sc.arch_nvdimms.iter().map(|(_, n)| n))
            .flat_map(NvdimmSpec::vmm_only)
            .next();
        if let (Some(k), true) = (vmm_only, sc.platforms.contains(&Platform::Qemu)) {
            return Err(ScenarioError::VmmOnlyOnQemu {
                path: path.to_path_buf(),
                key: k,
            });
        }
        if !sc.numa_mib.is_empty() {
            let total: u64 = sc.numa_mib.iter().sum();
            if total != sc.memory_mib {
                return Err(ScenarioError::NumaMemory {
                    path: path.to_path_buf(),
                    numa: total,
                    memory: sc.memory_mib,
                });
            }
            if sc.platforms.contains(&Platform::Vmm) {
                return Err(ScenarioError::NumaOnVmm {
                    path: path.to_path_buf(),
                });
            }
        }
        let nodes = sc.numa_mib.len().max(1) as u32;
        if let Some(node) = sc
            .nvdimms
            .iter()
            .chain(sc.arch_nvdimms.iter().map(|(_, n)| n))
            .filter_map(|n| n.node)
            .find(|n| *n >= nodes)
        {
            return Err(ScenarioError::NoSuchNode {
                path: path.to_path_buf(),
                node,
            });
        }
        if !sc.malformed_nfit.is_empty() {
            if sc.platforms != [Platform::Vmm] {
                return Err(ScenarioError::MalformedNeedsVmm {
                    path: path.to_path_buf(),
                });
            }
            // One boot per class; more than '# boots:' allows, as each is
            // short (the driver's probe and a listing).
            sc.boots = u32::try_from(sc.malformed_nfit.len())
                .ok()
                .filter(|b| (1..=24).contains(b))
                .ok_or_else(|| ScenarioError::MalformedCount {
                    path: path.to_path_buf(),
                })?;
        }
        Ok(sc)
    }
}

impl Scenario {
    /// The drivers `check` runs it with on `kernel`. Without a `# kernel:`
    /// header a scenario runs on the default kernel with all its drivers and,
    /// if one is `rust`, on the debug kernel with the Rust driver (the
    /// debug lane judges our drivers, not the C ones).
    pub fn drivers_on(&self, kernel: Kernel) -> Vec<String> {
        match (&self.kernels, kernel) {
            (Some(k), _) if k.contains(&kernel) => self.drivers.clone(),
            (Some(_), _) => Vec::new(),
            (None, Kernel::Default) => self.drivers.clone(),
            (None, Kernel::Debug) => self
                .drivers
                .iter()
                .filter(|d| *d == "rust")
                .cloned()
                .collect(),
        }
    }

    /// What `check` expects a run to cost, for scheduling only: the
    /// longest a boot may take times the boots. Timeouts are set from what
    /// the scenario did take, so the order follows the real durations.
    pub fn cost_estimate(&self) -> u64 {
        self.timeout_secs
            .saturating_mul(u64::from(self.boots.max(1)))
    }

    /// The fewest checks a run with `driver` may run.
    pub fn min_checks_for(&self, driver: &str) -> usize {
        self.driver_min_checks
            .iter()
            .find(|(d, _)| d == driver)
            .map_or(self.min_checks, |(_, n)| *n)
    }

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

/// All scenarios of a directory, sorted by name: those that parse, and
/// those that do not (reported as failures by `check`, never dropped).
pub fn load_all(dir: &Path) -> Result<(Vec<Scenario>, Vec<Rejected>), LoadError> {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LoadError::Io { path, source }
    };
    let rd = std::fs::read_dir(dir).map_err(io(dir))?;
    for entry in rd {
        let path = entry.map_err(LoadError::Entry)?.path();
        if path.extension().is_some_and(|e| e == "sh") {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .ok_or_else(|| LoadError::FileName { path: path.clone() })?;
            let text = std::fs::read_to_string(&path).map_err(io(&path))?;
            let declares_min = header_lines(&text).any(|(_, l)| l.starts_with("# min-checks"));
            match Scenario::parse(name, &path, &text).and_then(|sc| {
                if sc.in_check && sc.expect == Expect::Pass && !declares_min {
                    return Err(ScenarioError::NoMinChecks { path: path.clone() });
                }
                Ok(sc)
            }) {
                Ok(sc) => good.push(sc),
                Err(error) => bad.push(Rejected {
                    name: name.to_string(),
                    error,
                    expect_problem: header_lines(&text).find_map(|(_, l)| {
                        let v = l.strip_prefix("# expect-problem:")?.trim();
                        (!v.is_empty()).then(|| v.to_string())
                    }),
                }),
            }
        }
    }
    good.sort_by(|a, b| a.name.cmp(&b.name));
    bad.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((good, bad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header() {
        let text = "#!/bin/sh\n# title: modes\n# nvdimm: size=512M label-size=128K\n\
                    # nvdimm: size=256M pmem=on\n# boots: 2\n# qemu-trace: a b\n# known-panic[c]: BUG: x\n# timeout: 60\n# drivers: c rust\n\
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
        let text = "# title: t\n# numa: 512M 512M 0\n# nvdimm: size=4M node=2\n";
        let numa = Scenario::parse("t", Path::new("t.sh"), text).unwrap();
        assert_eq!(numa.numa_mib, [512, 512, 0]);
        assert_eq!(numa.nvdimms[0].node, Some(2));
        let cpu = "# title: t\n# cpu: qemu64,vendor=GenuineIntel\n";
        let with_cpu = Scenario::parse("t", Path::new("t.sh"), cpu).unwrap();
        assert_eq!(with_cpu.cpu.as_deref(), Some("qemu64,vendor=GenuineIntel"));
        assert!(Scenario::parse("t", Path::new("t.sh"), "# title: t\n# cpu:\n").is_err());
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
        assert_eq!(
            sc.known_panics,
            [KnownPanic {
                driver: "c".into(),
                text: "BUG: x".into()
            }]
        );
        assert_eq!(
            sc.nvdimms,
            [
                NvdimmSpec {
                    label_methods: "off".into(),
                    flush_hints: 0,
                    zero_uuid: false,
                    size: 512 << 20,
                    label_size: 128 << 10,
                    unarmed: false,
                    pmem: false,
                    node: None
                },
                NvdimmSpec {
                    label_methods: "off".into(),
                    flush_hints: 0,
                    zero_uuid: false,
                    size: 256 << 20,
                    label_size: 0,
                    unarmed: false,
                    pmem: true,
                    node: None
                }
            ]
        );
    }

    #[test]
    fn kernels() {
        let parse = |t: &str| Scenario::parse("t", Path::new("t.sh"), t);
        let both = parse("# title: t\n# drivers: c rust\n").unwrap();
        assert_eq!(both.drivers_on(Kernel::Default), ["c", "rust"]);
        assert_eq!(both.drivers_on(Kernel::Debug), ["rust"]);
        let c_only = parse("# title: t\n").unwrap();
        assert!(c_only.drivers_on(Kernel::Debug).is_empty());
        let debug = parse("# title: t\n# kernel: debug\n").unwrap();
        assert_eq!(debug.drivers_on(Kernel::Debug), ["c"]);
        assert!(debug.drivers_on(Kernel::Default).is_empty());
        assert!(parse("# title: t\n# kernel: kasan\n").is_err());
        assert!(parse("# title: t\n# kernel:\n").is_err());
    }

    /// The messages a user sees for each way a header or body is refused.
    #[test]
    fn messages() {
        let msg = |t: &str| {
            Scenario::parse("s", Path::new("s.sh"), t)
                .unwrap_err()
                .to_string()
        };
        let cases = [
            (
                "# title: t\n# an aside\n",
                "s.sh:2: header line '# an aside' is not '# key: value' (end the header with a \
                 line '#' before prose)",
            ),
            ("# title: t\n# drviers: c\n", "s.sh: 'drviers': unknown header key"),
            ("# title: t\n# expect-problem:\n", "s.sh: 'expect-problem': unknown header key"),
            (
                "# title: t\n# arch:\n",
                "s.sh: 'arch': expected one or more of x86_64, ppc64le, powernv",
            ),
            (
                "# title: t\n# drivers: c go\n",
                "s.sh: 'drivers': driver 'go' matches none the harness runs (c, rust)",
            ),
            (
                "# title: t\n# nvdimm[ppc]: size=4M\n",
                "s.sh: 'nvdimm[ppc]': architecture 'ppc' matches none the harness runs \
                 (x86_64, ppc64le, powernv)",
            ),
            (
                "# title: t\n# nvdimm: size=3M\n",
                "s.sh: 'nvdimm': nvdimm size must be a non-zero multiple of 2 MiB",
            ),
            (
                "# title: t\n# nvdimm: size=4M label-size=4K\n",
                "s.sh: 'nvdimm': label-size must be at least 128K (or absent)",
            ),
            (
                "# title: t\n# nvdimm: size=4M colour=red\n",
                "s.sh: 'nvdimm': unknown nvdimm key 'colour'",
            ),
            (
                "# title: t\n# nvdimm: size=4M label-methods=on\n",
                "s.sh: 'nvdimm': label-methods=on|both needs a label area (label-size=)",
            ),
            (
                "# title: t\n# nvdimm: size=4X\n",
                "s.sh: 'nvdimm': '4X' is not a size (e.g. 512M, 128K, 1G, 2T)",
            ),
            (
                "# title: t\n# nvdimm: size\n",
                "s.sh: 'nvdimm': expected key=value, got 'size'",
            ),
            (
                "# title: t\n# nvdimm: size=4M unarmed=maybe\n",
                "s.sh: 'nvdimm': unarmed=maybe: expected on or off",
            ),
            ("# title: t\n# boots: 0\n", "s.sh: 'boots': expected 1..16"),
            (
                "# title: t\n# numa: 1G\n",
                "s.sh: 'numa': expected 2 to 8 node sizes in whole MiB, node 0 with at least 256M \
                 (0 for a node without memory)",
            ),
            (
                "# title: t\n# numa: 0 1G\n",
                "s.sh: 'numa': expected 2 to 8 node sizes in whole MiB, node 0 with at least 256M \
                 (0 for a node without memory)",
            ),
            (
                "# title: t\n# numa: 512M 256M\n",
                "s.sh: '# numa:' nodes have 768 MiB in all, '# memory:' is 1024 MiB",
            ),
            (
                "# title: t\n# numa: 512M 512M\n# nvdimm: size=4M node=2\n",
                "s.sh: an nvdimm names node 2, which '# numa:' does not have",
            ),
            (
                "# title: t\n# nvdimm: size=4M node=1\n",
                "s.sh: an nvdimm names node 1, which '# numa:' does not have",
            ),
            (
                "# title: t\n# nvdimm: size=4M node=x\n",
                "s.sh: 'nvdimm': node=x: expected a node number below 8",
            ),
            (
                "# title: t\n# numa: 512M 512M\n# platform: vmm\n",
                "s.sh: '# numa:' is for QEMU guests (the test VMM has no NUMA description)",
            ),
            ("# title: t\n# timeout: x\n", "s.sh: 'timeout': expected seconds"),
            ("# title: t\n# check: maybe\n", "s.sh: 'check': check=maybe: expected on or off"),
            (
                "# title: t\n# kernel: kasan\n",
                "s.sh: 'kernel': unknown kernel 'kasan' (default, debug)",
            ),
            (
                "# title: t\n# kernel:\n",
                "s.sh: 'kernel': expected default, debug or both",
            ),
            (
                "# title: t\n# expect: maybe\n",
                "s.sh: 'expect': expected pass, failed-check, panic or timeout",
            ),
            (
                "# title: t\n# min-checks: 0\n",
                "s.sh: 'min-checks': expected a count of at least 1",
            ),
            (
                "# title: t\n# min-checks[rust]: x\n",
                "s.sh: 'min-checks[rust]': expected a count of at least 1",
            ),
            (
                "# title: t\n# memory: 1M\n",
                "s.sh: 'memory': expected a size of at least 256M",
            ),
            (
                "# title: t\n# machine: x\n",
                "s.sh: 'machine': expected key=value, got 'x'",
            ),
            (
                "# title: t\n# known-panic: BUG\n",
                "s.sh: 'known-panic': name the driver whose known bug it is: \
                 '# known-panic[c]: TEXT'",
            ),
            (
                "# title: t\n# known-panic[c]:\n",
                "s.sh: 'known-panic[c]': expected the console text of the known bug",
            ),
            (
                "# title: t\n# platform: kvm\n",
                "s.sh: 'platform': unknown platform 'kvm' (qemu, vmm)",
            ),
            ("# title: t\n# platform:\n", "s.sh: 'platform': expected qemu or vmm"),
            ("# boots: 2\n", "s.sh: no '# title:' header"),
            (
                "# title: t\n# nvdimm: size=4M label-size=128K label-methods=on\n",
                "s.sh: nvdimm 'label-methods=on' is served by the test VMM only: QEMU's nvdimm \
                 has no such property (use '# platform: vmm')",
            ),
            (
                "# title: t\n# malformed-nfit: spa-overlap\n",
                "s.sh: '# malformed-nfit:' needs '# platform: vmm'",
            ),
            (
                "# title: t\n# platform: vmm\n# malformed-nfit: a a a a a a a a a a a a a a a a a a a a a a a a a\n",
                "s.sh: 1 to 24 malformed-nfit classes",
            ),
            (
                "# title: t\n\nsleep 1\n",
                "s.sh:3: 'sleep' is not synchronisation: wait_for the condition (with a \
                 deadline in seconds)",
            ),
            (
                "# title: t\n\ncheck x true\n",
                "s.sh:3: this check cannot fail: 'check x true'",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(msg(text), want, "{text:?}");
        }
    }

    #[test]
    fn load_messages() {
        let dir = std::env::temp_dir().join(format!("nvdimm-harness-load-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let missing = dir.join("none");
        assert_eq!(
            load_all(&missing).unwrap_err().to_string(),
            format!(
                "{}: No such file or directory (os error 2)",
                missing.display()
            )
        );
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.sh"), "# title: t\n").unwrap();
        let (good, bad) = load_all(&dir).unwrap();
        assert!(good.is_empty());
        assert_eq!(
            bad[0].error.to_string(),
            format!(
                "{}: no '# min-checks: N' header: a scenario of make check declares how many \
                 checks a run must at least run",
                dir.join("a.sh").display()
            )
        );
        let _ = std::fs::remove_dir_all(&dir);
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
        let ro = "# title: t\n# platform: vmm\n\
                  # nvdimm: size=4M label-size=128K label-methods=ro zero-uuid=on\n";
        let sc = Scenario::parse("x", p, ro).unwrap();
        assert_eq!(
            sc.nvdimms[0].vmm_only(),
            ["label-methods=ro", "zero-uuid=on"]
        );
        let native = "# title: t\n# nvdimm: size=4M label-size=128K label-methods=on\n";
        assert!(matches!(
            Scenario::parse("x", p, native),
            Err(ScenarioError::VmmOnlyOnQemu { key, .. }) if key == "label-methods=on"
        ));
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
    fn header_is_strict() {
        let p = Path::new("x.sh");
        let parse = |t: &str| Scenario::parse("x", p, t);
        // A typo is an error, not an ignored line.
        let typo = parse("# title: t\n# drviers: c rust\n").unwrap_err();
        assert!(
            matches!(&typo, ScenarioError::Header { key, cause: HeaderError::UnknownKey, .. }
                if key == "drviers"),
            "{typo}"
        );
        assert!(parse("# title: t\n# an aside in the header\n").is_err());
        // Prose after a '#' line is not header.
        assert!(
            parse("# SPDX-License-Identifier: GPL-2.0\n# title: t\n#\n# note: prose\n").is_ok()
        );
        // Architectures and drivers the harness does not run.
        assert!(matches!(
            parse("# title: t\n# arch: x86\n"),
            Err(ScenarioError::Header {
                cause: HeaderError::Unknown {
                    what: "architecture",
                    ..
                },
                ..
            })
        ));
        assert!(parse("# title: t\n# arch:\n").is_err());
        assert!(parse("# title: t\n# drivers: c go\n").is_err());
        assert!(parse("# title: t\n# nvdimm[ppc]: size=4M\n").is_err());
        // known-panic must name its driver.
        assert!(parse("# title: t\n# known-panic: BUG\n").is_err());
        assert!(parse("# title: t\n# known-panic[go]: BUG\n").is_err());
        let sc = parse("# title: t\n# min-checks: 4\n# expect-problem: ran no check\n").unwrap();
        assert_eq!(sc.min_checks, 4);
        assert_eq!(sc.expect, Expect::Problem("ran no check".into()));
        assert!(parse("# title: t\n# min-checks: 0\n").is_err());
        let sc = parse("# title: t\n# drivers: c rust\n# min-checks: 8\n# min-checks[rust]: 16\n")
            .unwrap();
        assert_eq!((sc.min_checks_for("c"), sc.min_checks_for("rust")), (8, 16));
        assert!(parse("# title: t\n# min-checks[go]: 3\n").is_err());
    }

    #[test]
    fn body_lint() {
        let p = Path::new("x.sh");
        let parse = |body: &str| Scenario::parse("x", p, &format!("# title: t\n\n{body}\n"));
        for bad in [
            "sleep 1",
            "\tsleep 2",
            "modprobe x; sleep 1",
            "check probe-returns true",
            "require x :",
            "check x sh -c 'ndctl list || true'",
            "check x sh -c \"false; true\"",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        for good in [
            "check x wait_for 3 sh -c 'sleep 3; false'",
            "while :; do sleep 1; done",
            "# sleep 1 is fine in a comment",
            "check x test -e /dev/pmem0",
        ] {
            assert!(parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn known_panic_scope() {
        let k = KnownPanic {
            driver: "c".into(),
            text: "BUG: unable".into(),
        };
        let panic = nvdimm_testkit::console::PANIC_MARK;
        let console = format!("=== scenario x\nBUG: unable to handle\n{panic}: Fatal\n");
        assert!(k.explains("c", &console));
        assert!(!k.explains("rust", &console), "another driver's panic");
        let before_start = format!("BUG: unable\n=== scenario x\n{panic}: Fatal\n");
        assert!(
            !k.explains("c", &before_start),
            "text before the scenario ran"
        );
        let after_panic = format!("=== scenario x\n{panic}: Fatal BUG: unable\n");
        assert!(!k.explains("c", &after_panic), "text not before the panic");
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
        let one = Scenario::parse("y", p, "# title: t\n# timeout: 100\n").unwrap();
        assert!(
            sc.cost_estimate() > one.cost_estimate(),
            "3 boots of 180 s outrank one of 100 s: {} vs {}",
            sc.cost_estimate(),
            one.cost_estimate()
        );
        let sc = Scenario::parse(
            "x",
            p,
            "# title: t\n# platform: vmm\n# vmm-args: --ars --x\n",
        )
        .unwrap();
        assert_eq!(sc.vmm_args, ["--ars", "--x"]);
    }
}
