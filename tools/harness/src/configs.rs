// SPDX-License-Identifier: GPL-2.0
//! The guests of scenario boots: what `run` and `check` boot, and what
//! `nvdimm-harness vmm-configs` lists.
//!
//! `vmm-configs` prints the `nvdimm-vmm` command line of every scenario
//! boot that the test VMM serves, built by the code a real run uses
//! (header parsing, [`guest_config`], [`guest::vmm_arguments`]), so that
//! host-side checks of the VMM's tables (`tools/testing/harness/acpica.sh`)
//! cover exactly the configurations the scenarios boot. One line per boot:
//!
//! ```text
//! SCENARIO-bootN <TAB> RUN_DIR <TAB> ARG <TAB> ARG ...
//! ```
//!
//! `RUN_DIR` is the run directory the scenario's backing files (and
//! `--hotplug-dir`, `{dir}` of `# vmm-args:`) name; it must exist before
//! `nvdimm-vmm` runs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::guest::{self, GuestConfig, Nvdimm};
use crate::scenario::{Platform, Scenario};
use crate::Ctx;

/// The run directory of `sc` with `driver` on `arch` (fresh per run).
pub(crate) fn run_dir(ctx: &Ctx, sc: &Scenario, arch: &str, driver: &str) -> PathBuf {
    ctx.cache
        .join("results")
        .join(format!("{arch}{}", ctx.kernel.suffix()))
        .join(format!("{}-{driver}", sc.name))
}

/// The NVDIMMs of `sc` on `arch`, backed by files in the run directory.
pub(crate) fn scenario_nvdimms(sc: &Scenario, arch: &str, dir: &Path) -> Vec<Nvdimm> {
    sc.nvdimms_for(arch)
        .iter()
        .enumerate()
        .map(|(i, spec)| Nvdimm {
            spec: spec.clone(),
            file: dir.join(format!("nvdimm{i}.img")),
        })
        .collect()
}

/// One boot of a scenario run.
#[derive(Clone, Copy)]
pub(crate) struct Boot<'a> {
    pub arch: &'a str,
    pub driver: &'a str,
    /// 1-based.
    pub boot: u32,
    pub dir: &'a Path,
    pub timeout_secs: u64,
}

/// The guest of boot `b` of `sc`: what `run_scenario` boots and what
/// `vmm-configs` lists.
pub(crate) fn guest_config(
    ctx: &Ctx,
    sc: &Scenario,
    b: Boot<'_>,
    nvdimms: &[Nvdimm],
    echo: bool,
) -> GuestConfig {
    let Boot {
        arch,
        driver,
        boot,
        dir,
        timeout_secs,
    } = b;
    GuestConfig {
        arch: arch.to_string(),
        kernel: ctx.kernel(arch),
        initrd: ctx.build_dir(arch).join("initramfs.cpio"),
        cmdline: format!(
            "scenario={} driver={driver} boot={boot} platform={}{} {}",
            sc.name,
            sc.platform_for(boot).name(),
            sc.malformed_for(boot)
                .map(|m| format!(" malformed={m}"))
                .unwrap_or_default(),
            sc.cmdline_for(arch)
        ),
        nvdimms: nvdimms.to_vec(),
        memory_mib: sc.memory_mib,
        numa_mib: sc.numa_mib.clone(),
        machine_props: sc.machine.clone(),
        cpu: sc.cpu.clone(),
        timeout: Duration::from_secs(timeout_secs),
        console_log: dir.join(format!("console-boot{boot}.log")),
        results: dir.join(format!("results-boot{boot}.txt")),
        echo,
        trace_events: sc.qemu_trace.clone(),
        trace_log: dir.join(format!("qemu-trace-boot{boot}.log")),
        qmp_socket: dir.join("qmp.sock"),
        hotplug_dir: dir.to_path_buf(),
        platform: sc.platform_for(boot),
        malformed_nfit: sc.malformed_for(boot).map(str::to_string),
        vmm_dir: dir.join(format!("vmm-boot{boot}")),
        vmm_args: sc.vmm_args.clone(),
    }
}

/// The architecture the test VMM serves.
const VMM_ARCH: &str = "x86_64";

/// One scenario boot served by the test VMM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmmConfig {
    /// `SCENARIO-bootN`.
    pub name: String,
    /// The run directory the arguments name.
    pub run_dir: PathBuf,
    /// The arguments of `nvdimm-vmm`.
    pub args: Vec<String>,
}

/// Why a scenario boot has no printable VMM command line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The harness refuses the boot's configuration for the VMM.
    #[error("{name}: {cause}")]
    Arguments {
        name: String,
        #[source]
        cause: guest::GuestError,
    },
    /// A field holds a tab or a newline, which separate the output.
    #[error("{name}: '{field}' holds a tab or a newline")]
    Separator { name: String, field: String },
}

impl VmmConfig {
    /// The output line: name, run directory and arguments, tab-separated.
    pub fn line(&self) -> Result<String, ConfigError> {
        let dir = self.run_dir.display().to_string();
        let fields: Vec<&str> = [self.name.as_str(), dir.as_str()]
            .into_iter()
            .chain(self.args.iter().map(String::as_str))
            .collect();
        if let Some(bad) = fields.iter().find(|f| f.contains(['\t', '\n'])) {
            return Err(ConfigError::Separator {
                name: self.name.clone(),
                field: bad.to_string(),
            });
        }
        Ok(fields.join("\t"))
    }
}

/// Every boot of `scenarios` (in order, boots ascending) that the test
/// VMM serves, with the guest `guest` makes for it (scenario, its first
/// driver, boot). Scenarios of other architectures only are left out.
pub fn vmm_configs(
    scenarios: &[Scenario],
    guest: impl Fn(&Scenario, &str, u32) -> GuestConfig,
) -> Result<Vec<VmmConfig>, ConfigError> {
    let mut out = Vec::new();
    for sc in scenarios
        .iter()
        .filter(|s| s.arches.iter().any(|a| a == VMM_ARCH))
    {
        let Some(driver) = sc.drivers.first() else {
            continue;
        };
        for boot in (1..=sc.boots).filter(|b| sc.platform_for(*b) == Platform::Vmm) {
            let name = format!("{}-boot{boot}", sc.name);
            let cfg = guest(sc, driver, boot);
            let args = guest::vmm_arguments(&cfg).map_err(|cause| ConfigError::Arguments {
                name: name.clone(),
                cause,
            })?;
            out.push(VmmConfig {
                name,
                run_dir: cfg.hotplug_dir.clone(),
                args,
            });
        }
    }
    Ok(out)
}

/// `vmm-configs`: the guests of `ctx`'s scenarios as `run` would boot
/// them, with `kernel` and `initrd` (files that exist: `nvdimm-vmm`
/// checks them) instead of the build's.
pub fn vmm_configs_of(
    ctx: &Ctx,
    scenarios: &[Scenario],
    kernel: &Path,
    initrd: &Path,
) -> Result<Vec<VmmConfig>, ConfigError> {
    vmm_configs(scenarios, |sc, driver, boot| {
        let dir = run_dir(ctx, sc, VMM_ARCH, driver);
        let nvdimms = scenario_nvdimms(sc, VMM_ARCH, &dir);
        let b = Boot {
            arch: VMM_ARCH,
            driver,
            boot,
            dir: &dir,
            timeout_secs: sc.timeout_secs * ctx.kernel.timeout_factor(),
        };
        let mut cfg = guest_config(ctx, sc, b, &nvdimms, false);
        cfg.kernel = kernel.to_path_buf();
        cfg.initrd = initrd.to_path_buf();
        cfg
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debug::Kernel;

    fn ctx() -> Ctx {
        Ctx {
            repo: Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
            cache: PathBuf::from("/c"),
            kernel: Kernel::Default,
        }
    }

    fn configs() -> Vec<VmmConfig> {
        let (all, _) = ctx().scenarios().unwrap();
        vmm_configs_of(&ctx(), &all, Path::new("/k"), Path::new("/i")).unwrap()
    }

    fn value<'a>(c: &'a VmmConfig, key: &str) -> Vec<&'a str> {
        c.args
            .windows(2)
            .filter(|w| w[0] == key)
            .map(|w| w[1].as_str())
            .collect()
    }

    #[test]
    fn every_vmm_boot_of_the_scenarios_is_listed() {
        let c = configs();
        let names: Vec<&str> = c.iter().map(|c| c.name.as_str()).collect();
        // Boots on QEMU's nvdimm are left out; boots on the VMM are not.
        assert!(names.contains(&"vmm-interchange-boot1"), "{names:?}");
        assert!(!names.contains(&"vmm-interchange-boot2"), "{names:?}");
        assert!(names.contains(&"vmm-interchange-boot3"), "{names:?}");
        // Every malformed class a scenario names, on the boot that names it.
        let (all, _) = ctx().scenarios().unwrap();
        for sc in all.iter().filter(|s| !s.malformed_nfit.is_empty()) {
            for (i, class) in sc.malformed_nfit.iter().enumerate() {
                let name = format!("{}-boot{}", sc.name, i + 1);
                let cfg = c.iter().find(|c| c.name == name).unwrap();
                assert_eq!(value(cfg, "--malformed-nfit"), [class.as_str()]);
                assert!(value(cfg, "--hotplug-slots").is_empty());
            }
        }
        let ndctl = c.iter().find(|c| c.name == "vmm-ndctl-boot1").unwrap();
        assert_eq!(value(ndctl, "--kernel"), ["/k"]);
        assert_eq!(value(ndctl, "--nvdimm").len(), 3);
        assert_eq!(value(ndctl, "--nvdimm-persistence"), ["cpu"]);
        assert_eq!(value(ndctl, "--hotplug-slots"), ["2"]);
        assert_eq!(
            ndctl.run_dir,
            Path::new("/c/results/x86_64/vmm-ndctl-c"),
            "{ndctl:?}"
        );
        // `{dir}` of `# vmm-args:` is the run directory.
        let ocxl = c.iter().find(|c| c.name == "ocxlpmem-enum-boot1").unwrap();
        let card = value(ocxl, "--ocxlpmem");
        assert!(
            card[0].starts_with(&format!("path={}/", ocxl.run_dir.display())),
            "{card:?}"
        );
    }

    #[test]
    fn lines_are_tab_separated_and_refuse_tabs() {
        let mut c = VmmConfig {
            name: "s-boot1".into(),
            run_dir: PathBuf::from("/r"),
            args: vec!["--append".into(), "a b".into()],
        };
        assert_eq!(c.line().unwrap(), "s-boot1\t/r\t--append\ta b");
        c.args.push("x\ty".into());
        let e = c.line().unwrap_err();
        assert!(
            matches!(&e, ConfigError::Separator { name, field } if name == "s-boot1" && field == "x\ty"),
            "{e:?}"
        );
        assert_eq!(e.to_string(), "s-boot1: 'x\ty' holds a tab or a newline");
    }
}
