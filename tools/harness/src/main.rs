// SPDX-License-Identifier: GPL-2.0
//! `nvdimm-harness`: runs the project's guest scenarios on QEMU.
//!
//! A scenario is a shell script in `tools/testing/scenarios/` that the
//! guest's `/init` runs; its header says which NVDIMMs the guest gets, how
//! often it boots (backing files persist between boots) and with which
//! drivers it runs. See `Documentation/nvdimm-rs/testing.rst`.

mod bench;
mod configs;
mod debug;
mod guest;
mod report;
mod scenario;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::{Parser, Subcommand};

use debug::Kernel;
use guest::Outcome;
use report::BootReport;
use scenario::{Expect, Scenario};

#[derive(Parser)]
#[command(about = "Boot the project's kernel on QEMU and run guest scenarios")]
struct Cli {
    /// Repository root (holds tools/testing/scenarios).
    #[arg(long, default_value = ".")]
    repo: PathBuf,
    /// Build cache (kernel builds, initramfs, results).
    #[arg(long, env = "NVDIMM_RS_CACHE")]
    cache: Option<PathBuf>,
    /// The kernel the guests boot: the one of `make check`, or the debug
    /// kernel (KASAN, lockdep, kmemleak; `make check-debug`).
    #[arg(long, value_enum, default_value = "default")]
    kernel: Kernel,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// List the scenarios.
    List,
    /// Run one scenario, showing the guest console.
    Run {
        scenario: String,
        /// Which driver serves the device: c or rust.
        #[arg(long, default_value = "c")]
        driver: String,
        #[arg(long, default_value = "x86_64")]
        arch: String,
        /// Do not copy the console to stdout.
        #[arg(long)]
        quiet: bool,
    },
    /// Benchmark the test VMM against QEMU's native nvdimm (scenario
    /// bench-vmm) and print the table.
    BenchVmm,
    /// Print the nvdimm-vmm command line of every scenario boot the test
    /// VMM serves (one line each: NAME, RUN_DIR, arguments, tab-separated;
    /// paths under --cache), for host-side checks of its tables.
    VmmConfigs {
        /// The kernel the command lines name (an existing file).
        #[arg(long)]
        kernel: PathBuf,
        /// The initramfs the command lines name (an existing file).
        #[arg(long)]
        initrd: PathBuf,
    },
    /// Run every scenario that belongs to `make check`, with every driver it
    /// names, and summarise.
    Check {
        #[arg(long, default_value = "x86_64", value_delimiter = ',')]
        arch: Vec<String>,
        /// Guests run at once (each uses one host core under TCG).
        #[arg(long, default_value_t = 2)]
        jobs: usize,
        /// Only scenarios whose name contains this.
        #[arg(long)]
        only: Option<String>,
    },
}

/// What ends `nvdimm-harness` with exit code 2 (printed by `main`).
#[derive(Debug, thiserror::Error)]
enum HarnessError {
    #[error("{0} not found: run from the repository root or pass --repo")]
    NoScenarioDir(PathBuf),
    #[error(transparent)]
    Load(#[from] scenario::LoadError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Guest(#[from] guest::GuestError),
    #[error("no scenario selected")]
    NothingSelected,
    #[error("no scenario '{0}' (see 'nvdimm-harness list')")]
    NoScenario(String),
    #[error("no scenario 'bench-vmm'")]
    NoBenchScenario,
    #[error("scenario {name} is rejected: {error}")]
    Rejected {
        name: String,
        #[source]
        error: Box<scenario::ScenarioError>,
    },
    #[error(transparent)]
    Config(#[from] configs::ConfigError),
    #[error(transparent)]
    Bench(#[from] bench::BenchError),
}

/// `path: error`, for `map_err`.
fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> HarnessError {
    let path = path.to_path_buf();
    move |source| HarnessError::Io { path, source }
}

struct Ctx {
    repo: PathBuf,
    cache: PathBuf,
    kernel: Kernel,
}

impl Ctx {
    /// The scenarios that parse, and the files that do not.
    fn scenarios(&self) -> Result<(Vec<Scenario>, Vec<scenario::Rejected>), HarnessError> {
        let dir = self.repo.join("tools/testing/scenarios");
        if !dir.is_dir() {
            return Err(HarnessError::NoScenarioDir(dir));
        }
        Ok(scenario::load_all(&dir)?)
    }

    fn build_dir(&self, arch: &str) -> PathBuf {
        let kbuild = match arch {
            "ppc64le" => "powerpc",
            a => a,
        };
        self.cache
            .join("build")
            .join(format!("{kbuild}{}", self.kernel.suffix()))
    }

    fn kernel(&self, arch: &str) -> PathBuf {
        let b = self.build_dir(arch);
        match arch {
            "x86_64" => b.join("arch/x86/boot/bzImage"),
            _ => b.join("vmlinux"),
        }
    }
}

/// The result of one scenario with one driver.
struct ScenarioRun {
    label: String,
    arch: String,
    scenario: String,
    driver: String,
    problems: Vec<String>,
    checks: usize,
    boot_secs: Vec<f64>,
    accel: &'static str,
    dir: PathBuf,
    /// Known failures that ended a boot (see `# known-panic:`).
    notes: Vec<String>,
    /// `(boot, mark, seconds from launch)` of the guest's `@@ MARK` lines.
    marks: Vec<(u32, String, f64)>,
}

fn run_scenario(
    ctx: &Ctx,
    sc: &Scenario,
    arch: &str,
    driver: &str,
    echo: bool,
) -> Result<ScenarioRun, HarnessError> {
    let arch_kernel = format!("{arch}{}", ctx.kernel.suffix());
    let label = format!("{arch_kernel}/{}/{driver}", sc.name);
    let dir = configs::run_dir(ctx, sc, arch, driver);
    let timeout_secs = sc.timeout_secs * ctx.kernel.timeout_factor();
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(io_error(&dir))?;
    }
    std::fs::create_dir_all(&dir).map_err(io_error(&dir))?;
    let nvdimms = configs::scenario_nvdimms(sc, arch, &dir);

    let mut run = ScenarioRun {
        label,
        arch: arch.to_string(),
        scenario: sc.name.clone(),
        driver: driver.to_string(),
        problems: Vec::new(),
        checks: 0,
        boot_secs: Vec::new(),
        accel: "",
        dir: dir.clone(),
        notes: Vec::new(),
        marks: Vec::new(),
    };
    for boot in 1..=sc.boots {
        let cfg = configs::guest_config(
            ctx,
            sc,
            configs::Boot {
                arch,
                driver,
                boot,
                dir: &dir,
                timeout_secs,
            },
            &nvdimms,
            echo,
        );
        let console = cfg.console_log.clone();
        let results = cfg.results.clone();
        let g = guest::run(&cfg)?;
        run.accel = g.accel.name();
        run.boot_secs.push(g.elapsed.as_secs_f64());
        run.marks.extend(
            g.marks
                .iter()
                .map(|(m, t)| (boot, m.clone(), t.as_secs_f64())),
        );
        run.problems.extend(g.problems);
        let trace = guest::read_lossy(&cfg.trace_log);
        for ev in &sc.qemu_trace {
            run.checks += 1;
            if !trace.lines().any(|l| l.contains(ev.as_str())) {
                run.problems.push(format!(
                    "QEMU trace event '{ev}' never fired (trace: {})",
                    cfg.trace_log.display()
                ));
            }
        }
        if ctx.kernel == Kernel::Debug {
            let found = debug::reports(&guest::read_lossy(&console));
            if let Some(first) = found.first() {
                run.problems.push(format!(
                    "the debug kernel reported {} problem(s), the first: '{first}'",
                    found.len()
                ));
            }
        }
        let rep = BootReport::parse(&guest::read_lossy(&results));
        run.checks += rep.scenario_checks();
        for (tag, json) in &rep.json {
            let file = dir.join(format!("boot{boot}-{tag}.json"));
            let text = match serde_json::from_str(json) {
                Ok(v) => serde_json::to_string_pretty(&report::normalise(v)).unwrap_or_default(),
                Err(e) => {
                    run.problems
                        .push(format!("boot {boot}: JSON '{tag}' does not parse: {e}"));
                    json.clone()
                }
            };
            std::fs::write(&file, text + "\n").map_err(io_error(&file))?;
        }
        if g.outcome == Outcome::Panic {
            let text = guest::read_lossy(&console);
            if let Some(known) = sc.known_panics.iter().find(|k| k.explains(driver, &text)) {
                run.checks += 1;
                run.notes.push(format!(
                    "boot {boot}: KNOWN FAILURE of the {} driver: the guest panicked after '{}' \
                     (console: {})",
                    known.driver,
                    known.text,
                    console.display()
                ));
                // A malformed-table campaign goes on with its next class;
                // other scenarios end (later boots build on earlier ones).
                if sc.malformed_nfit.is_empty() {
                    break;
                }
                continue;
            }
        }
        let ended = match (&g.outcome, &sc.expect) {
            (Outcome::Panic, Expect::Panic) | (Outcome::Timeout, Expect::Timeout) => {
                run.checks += 1;
                break;
            }
            (Outcome::PowerOff, Expect::FailedCheck)
                if rep.done.is_some() && !rep.failed.is_empty() =>
            {
                run.checks += 1;
                break;
            }
            (_, Expect::Pass | Expect::Problem(_)) => None,
            (o, e) => Some(format!(
                "expected the guest to end with {e:?}, it ended with {o:?}"
            )),
        };
        let why = ended.or(match &g.outcome {
            Outcome::PowerOff => None,
            Outcome::Panic => Some("the guest kernel panicked".to_string()),
            Outcome::Timeout => Some(format!("the guest did not finish within {timeout_secs} s")),
            Outcome::QemuFailed(e) => Some(e.clone()),
            // The harness is not stopped by a signal it reports.
            Outcome::Stopped(sig) => Some(format!("stopped by signal {sig}")),
        });
        let stop = why.is_some();
        run.problems.extend(why);
        if matches!(sc.expect, Expect::Pass | Expect::Problem(_)) {
            run.problems.extend(rep.problems());
        }
        if stop || !run.problems.is_empty() {
            // Only this boot's problems are in the list: earlier boots were clean.
            for p in &mut run.problems {
                *p = format!("boot {boot}: {p} (console: {})", console.display());
            }
            break;
        }
    }
    if run.problems.is_empty() && sc.drivers.len() > 1 && !has_records(&dir) {
        run.problems.push(format!(
            "it runs with drivers {} but emitted no JSON record to compare between them \
             (record one with 'json TAG CMD')",
            sc.drivers.join(" and ")
        ));
    }
    let min = sc.min_checks_for(driver);
    if run.problems.is_empty() && run.checks < min {
        run.problems.push(format!(
            "{} checks ran, fewer than the scenario's '# min-checks: {min}' for driver {driver}",
            run.checks
        ));
    }
    if let Expect::Problem(want) = &sc.expect {
        invert(&mut run.problems, &mut run.notes, want);
    }
    Ok(run)
}

/// Whether a run directory holds a JSON record.
fn has_records(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|rd| {
        rd.filter_map(|e| e.ok())
            .any(|e| e.path().extension().is_some_and(|x| x == "json"))
    })
}

/// A self-test that expects the problem `want`: it passes when a problem
/// containing `want` was reported (the loophole is closed), and fails
/// otherwise, naming what was reported instead.
fn invert(problems: &mut Vec<String>, notes: &mut Vec<String>, want: &str) {
    if let Some(p) = problems.iter().find(|p| p.contains(want)) {
        notes.push(format!("expected problem reported: {p}"));
        problems.clear();
    } else {
        let got = std::mem::take(problems);
        problems.push(format!(
            "expected a problem containing '{want}', but the run reported {}",
            if got.is_empty() {
                "none".to_string()
            } else {
                format!("only: {}", got.join("; "))
            }
        ));
    }
}

fn print_run(r: &ScenarioRun) {
    let status = if r.problems.is_empty() {
        "PASS"
    } else {
        "FAIL"
    };
    let boots: Vec<String> = r.boot_secs.iter().map(|s| format!("{s:.1}s")).collect();
    println!(
        "{status} {:<32} {:>3} checks  boots: {}  ({})",
        r.label,
        r.checks,
        boots.join(" + "),
        r.accel
    );
    for n in &r.notes {
        println!("     {n}");
    }
    for p in &r.problems {
        println!("     {p}");
    }
}

impl ScenarioRun {
    /// A run that did not get to boot: its problems say why.
    fn not_run(arch: &str, scenario: &str, driver: &str, problems: Vec<String>) -> Self {
        ScenarioRun {
            label: format!("{arch}/{scenario}/{driver}"),
            arch: arch.to_string(),
            scenario: scenario.to_string(),
            driver: driver.to_string(),
            problems,
            checks: 0,
            boot_secs: vec![],
            accel: "",
            dir: PathBuf::new(),
            notes: Vec::new(),
            marks: Vec::new(),
        }
    }

    /// A scenario file whose header or body was rejected: a failed run,
    /// or a passing one for a self-test that expects exactly that.
    fn rejected(r: &scenario::Rejected) -> Self {
        let mut run = Self::not_run("-", &r.name, "-", vec![format!("rejected: {}", r.error)]);
        if let Some(want) = &r.expect_problem {
            invert(&mut run.problems, &mut run.notes, want);
        }
        run
    }
}

fn check(
    ctx: &Ctx,
    arches: &[String],
    jobs: usize,
    only: Option<&str>,
) -> Result<bool, HarnessError> {
    let (all, rejected) = ctx.scenarios()?;
    let selected = |name: &str| only.is_none_or(|o| name.contains(o));
    // Rejected files are reported, never dropped: a typo in a header must
    // not quietly leave a scenario out of the suite.
    let rejected: Vec<ScenarioRun> = rejected
        .iter()
        .filter(|r| selected(&r.name))
        .map(ScenarioRun::rejected)
        .collect();
    rejected.iter().for_each(print_run);
    let mut work = Vec::new();
    for arch in arches {
        for sc in all.iter().filter(|s| s.in_check && s.arches.contains(arch)) {
            if !selected(&sc.name) {
                continue;
            }
            for d in sc.drivers_on(ctx.kernel) {
                work.push((sc.clone(), arch.clone(), d.clone()));
            }
        }
    }
    if work.is_empty() && rejected.is_empty() {
        return Err(HarnessError::NothingSelected);
    }
    // Longest first: with a fixed number of guests at once, a run of
    // minutes that starts last keeps one core busy alone at the end.
    work.sort_by_key(|(sc, _, _)| std::cmp::Reverse(sc.cost_estimate()));
    println!(
        "running {} scenario runs, {} at a time (accelerator: {})",
        work.len(),
        jobs.max(1),
        guest::Accel::detect(&arches[0]).name()
    );
    let queue = Arc::new(Mutex::new(work.into_iter()));
    let results = Arc::new(Mutex::new(Vec::new()));
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            let queue = queue.clone();
            let results = results.clone();
            s.spawn(move || loop {
                if nvdimm_testkit::stop::requested().is_some() {
                    break;
                }
                let Some((sc, arch, driver)) = queue.lock().unwrap().next() else {
                    break;
                };
                let r = run_scenario(ctx, &sc, &arch, &driver, false).unwrap_or_else(|e| {
                    ScenarioRun::not_run(&arch, &sc.name, &driver, vec![e.to_string()])
                });
                print_run(&r);
                results.lock().unwrap().push(r);
            });
        }
    });
    let mut results = results.lock().unwrap();
    results.extend(rejected);
    let failed: Vec<&ScenarioRun> = results.iter().filter(|r| !r.problems.is_empty()).collect();
    let diffs = compare_drivers(&results);
    println!(
        "\n{} scenario runs: {} passed, {} failed; {} driver comparisons differ",
        results.len(),
        results.len() - failed.len(),
        failed.len(),
        diffs.len()
    );
    for f in &failed {
        println!("FAILED {} (logs in {})", f.label, f.dir.display());
    }
    for d in &diffs {
        println!("DIFFERS {d}");
    }
    Ok(failed.is_empty() && diffs.is_empty())
}

/// The differential part of `check`: a scenario that ran with several
/// drivers must have produced the same normalised JSON records under each
/// (same files, same contents). Runs that failed are reported already and
/// are not compared.
fn compare_drivers(results: &[ScenarioRun]) -> Vec<String> {
    let records = |dir: &Path| -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .filter_map(|p| {
                        let name = p.file_name()?.to_str()?.to_string();
                        Some((name, std::fs::read_to_string(&p).ok()?))
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    };
    let mut diffs = Vec::new();
    for (i, a) in results.iter().enumerate() {
        // Compare every later run of the same scenario and arch with the
        // first one.
        if !a.problems.is_empty()
            || results[..i]
                .iter()
                .any(|p| p.arch == a.arch && p.scenario == a.scenario)
        {
            continue;
        }
        let base = records(&a.dir);
        for b in results[i + 1..]
            .iter()
            .filter(|b| b.arch == a.arch && b.scenario == a.scenario && b.problems.is_empty())
        {
            let other = records(&b.dir);
            let names = |r: &[(String, String)]| r.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
            if names(&base) != names(&other) {
                diffs.push(format!(
                    "{}/{}: {} recorded {:?}, {} recorded {:?}",
                    a.arch,
                    a.scenario,
                    a.driver,
                    names(&base),
                    b.driver,
                    names(&other)
                ));
                continue;
            }
            for ((name, x), (_, y)) in base.iter().zip(&other) {
                if x != y {
                    diffs.push(format!(
                        "{}/{}: {name} differs between drivers {} and {} ({} vs {})",
                        a.arch,
                        a.scenario,
                        a.driver,
                        b.driver,
                        a.dir.join(name).display(),
                        b.dir.join(name).display()
                    ));
                }
            }
        }
    }
    diffs
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A stop by signal ends the guests this harness started, not only the
    // harness (see `nvdimm_testkit::stop`).
    if let Err(e) = nvdimm_testkit::stop::install() {
        eprintln!("nvdimm-harness: handling SIGINT and SIGTERM: {e}");
        return ExitCode::from(2);
    }
    let cache = cli.cache.unwrap_or_else(|| {
        let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
        Path::new(&home).join(".cache/nvdimm-rs")
    });
    let ctx = Ctx {
        repo: cli.repo,
        cache,
        kernel: cli.kernel,
    };
    let res = match cli.cmd {
        Cmd::List => ctx.scenarios().map(|(all, rejected)| {
            for r in &rejected {
                println!("{:<24} REJECTED: {}", r.name, r.error);
            }
            for s in all {
                let platforms: Vec<&str> = s.platforms.iter().map(|p| p.name()).collect();
                println!(
                    "{:<24} {:<8} {:<9} drivers: {:<8} boots: {:<2}  {}",
                    s.name,
                    s.arches.join(","),
                    platforms.join(","),
                    s.drivers.join(","),
                    s.boots,
                    s.title
                );
            }
            true
        }),
        Cmd::Run {
            scenario,
            driver,
            arch,
            quiet,
        } => ctx.scenarios().and_then(|(all, rejected)| {
            if let Some(r) = rejected.iter().find(|r| r.name == scenario) {
                let run = ScenarioRun::rejected(r);
                print_run(&run);
                return Ok(run.problems.is_empty());
            }
            let sc = all
                .iter()
                .find(|s| s.name == scenario)
                .ok_or_else(|| HarnessError::NoScenario(scenario.clone()))?;
            let r = run_scenario(&ctx, sc, &arch, &driver, !quiet)?;
            println!();
            print_run(&r);
            println!("logs and JSON: {}", r.dir.display());
            Ok(r.problems.is_empty())
        }),
        Cmd::Check { arch, jobs, only } => check(&ctx, &arch, jobs, only.as_deref()),
        Cmd::VmmConfigs { kernel, initrd } => ctx.scenarios().and_then(|(all, rejected)| {
            // A scenario rejected by mistake would leave its boots out;
            // self-tests that expect their rejection have no boots.
            if let Some(r) = rejected.iter().find(|r| r.expect_problem.is_none()) {
                return Err(HarnessError::Rejected {
                    name: r.name.clone(),
                    error: Box::new(r.error.clone()),
                });
            }
            let configs = configs::vmm_configs_of(&ctx, &all, &kernel, &initrd)?;
            for c in &configs {
                println!("{}", c.line()?);
            }
            Ok(true)
        }),
        Cmd::BenchVmm => ctx.scenarios().and_then(|(all, _)| {
            let sc = all
                .iter()
                .find(|s| s.name == "bench-vmm")
                .ok_or(HarnessError::NoBenchScenario)?;
            let r = run_scenario(&ctx, sc, "x86_64", "c", false)?;
            print_run(&r);
            if !r.problems.is_empty() {
                return Ok(false);
            }
            bench::vmm_table(sc, &r.dir, &r.marks)?;
            Ok(true)
        }),
    };
    if let Some(sig) = nvdimm_testkit::stop::requested() {
        eprintln!("nvdimm-harness: stopped by signal {sig}; its guests were ended");
        return ExitCode::from(128 + (sig & 0x7f) as u8);
    }
    match res {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("nvdimm-harness: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages a user sees when there is nothing to run.
    #[test]
    fn messages() {
        let mut ctx = Ctx {
            repo: PathBuf::from("/nonexistent"),
            cache: PathBuf::from("/c"),
            kernel: Kernel::Default,
        };
        assert_eq!(
            ctx.scenarios().err().map(|e| e.to_string()).as_deref(),
            Some(
                "/nonexistent/tools/testing/scenarios not found: run from the repository root \
                 or pass --repo"
            )
        );
        ctx.repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let none = check(&ctx, &["x86_64".into()], 1, Some("no-such-scenario"));
        assert_eq!(
            none.err().map(|e| e.to_string()).as_deref(),
            Some("no scenario selected")
        );
    }
}
