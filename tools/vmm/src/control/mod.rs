// SPDX-License-Identifier: GPL-2.0
//! The control protocol: one JSON object per line in, one per line out.
//! The same requests come from the control socket (`--control SOCK`) and
//! from the guest itself, as `@@ VMM {...}` lines on its results port.
//!
//! ```text
//! {"cmd":"ping"}                                   -> {"ok":true}
//! {"cmd":"stats"}                                  -> {"ok":true,"stats":{...}}
//! {"cmd":"reset-stats"}
//! {"cmd":"fault","dimm":1,"function":5,"status":4,"count":1}
//! {"cmd":"fault","function":5,"short":100}         cut outputs to 100 bytes
//! {"cmd":"fault","dimm":2,"torn":64,"count":1}     label write: 64 bytes, then error
//! {"cmd":"fault","delay_ms":200}                   answer late (up to 60 s)
//! {"cmd":"clear-faults"}
//! {"cmd":"hotplug","nvdimm":"path=F,size=256M,label-size=128K"}
//! {"cmd":"poison","address":4294971392,"length":512}  (with --ars)
//! {"cmd":"notify","value":129}                     Notify(NVDR, 0x81); 0x80 too
//! {"cmd":"notify","value":129,"dimm":1}            Notify(NV00, 0x81): DIMM health
//! {"cmd":"flush-hints"}   -> {"ok":true,"flush_hints":[{"dimm":1,"written":[true,false],
//!                             "addresses":[...]}]}  (and clears them)
//! {"cmd":"card-fault","opcode":0,"status":255,"count":1}   (with --ocxlpmem)
//! {"cmd":"card-fault","action":"no-response"}  also fatal, hardware-fatal, wrong-id
//! {"cmd":"card-fault","opcode":4,"delay_ms":200}
//! {"cmd":"card-clear-faults"}
//! ```
//!
//! `card-fault` arms a fault of the OpenCAPI pmem card for admin commands
//! with `opcode` (left out: every opcode); the card takes it at its next
//! doorbell. `stats` then also reports the card's counters (`card`).
//!
//! `hotplug` (a new DIMM at run time, on a machine started with
//! `--hotplug-slots`) is accepted from the control socket only: the guest
//! must not name host files. Its backing file must be under a directory
//! named on the command line (`--hotplug-dir`, or that of an `--nvdimm`
//! file; see [`crate::host::HotplugDirs`]).
//!
//! What requests can add is bounded: [`crate::devices::faults::MAX_RULES`] armed
//! fault rules per model, [`crate::devices::nvdimm::ars::MAX_RANGES`] poison ranges.
//!
//! `dimm` is an NFIT handle (0 is the root device), left out for all;
//! `function` left out for all; `count` left out for every call until
//! `clear-faults`. Errors answer `{"ok":false,"error":"..."}`. Lines are
//! untrusted: every field is type- and range-checked.

pub mod server;

use serde_json::{json, Map, Value};

use std::sync::{Arc, Mutex};

use crate::devices::nvdimm::{Fault, FaultAction, Platform};
use crate::devices::ocxl::attached::Control;
use crate::dsm::Notification;
use crate::host::HotplugDirs;

/// What the control plane acts on: the NVDIMM platform (shared with the
/// transport's threads that serve the guest's calls) and the card's
/// control handle.
#[derive(Clone)]
pub struct Target {
    pub platform: Arc<Mutex<Platform>>,
    pub card: Option<Control>,
}

impl Target {
    /// Handles one request line from `channel`; always returns one reply
    /// object.
    pub fn handle(&self, line: &str, channel: Channel<'_>) -> Value {
        let mut p = Platform::lock(&self.platform);
        handle(&mut p, self.card.as_ref(), line, channel)
    }
}

/// Where a request comes from.
#[derive(Debug, Clone, Copy)]
pub enum Channel<'a> {
    /// The guest (`@@ VMM` lines on its results port).
    Guest,
    /// The host (the control socket): may hot-add DIMMs whose backing
    /// files are under `hotplug_dirs`.
    Host { hotplug_dirs: &'a HotplugDirs },
}

/// Longest request line accepted.
pub const MAX_LINE: usize = 4096;
/// Longest injectable delay: past the AML's polling budget (about 12 s in
/// a TCG guest), so that its timeout can be tested too.
pub const MAX_DELAY_MS: u64 = 60_000;

fn opt_u32(m: &Map<String, Value>, key: &str) -> Result<Option<u32>, String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| format!("'{key}' must be an integer from 0 to 4294967295")),
    }
}

fn fault(m: &Map<String, Value>) -> Result<Fault, String> {
    let actions: Vec<&str> = ["status", "short", "torn", "delay_ms"]
        .into_iter()
        .filter(|k| m.contains_key(*k))
        .collect();
    let [kind] = actions[..] else {
        return Err("a fault needs exactly one of status, short, torn, delay_ms".into());
    };
    let n = opt_u32(m, kind)?.ok_or_else(|| format!("'{kind}' must not be null"))?;
    let action = match kind {
        "status" => FaultAction::Status(n),
        "short" => FaultAction::Short(n as usize),
        "torn" => FaultAction::TornWrite(n as usize),
        _ if u64::from(n) > MAX_DELAY_MS => {
            return Err(format!("delay_ms above {MAX_DELAY_MS}"));
        }
        _ => FaultAction::Delay(u64::from(n)),
    };
    let remaining = opt_u32(m, "count")?;
    if remaining == Some(0) {
        return Err("'count' must be at least 1 (leave it out for every call)".into());
    }
    for k in m.keys() {
        if !["cmd", "dimm", "function", "count", kind].contains(&k.as_str()) {
            return Err(format!("unknown field '{k}'"));
        }
    }
    Ok(Fault {
        handle: opt_u32(m, "dimm")?,
        function: opt_u32(m, "function")?,
        action,
        remaining,
    })
}

/// The most ticks (10 ms) a card answer may be delayed.
pub const MAX_CARD_DELAY_MS: u32 = 60_000;

fn card_fault(m: &Map<String, Value>) -> Result<crate::devices::ocxl::faults::Fault, String> {
    use crate::devices::ocxl::faults::{Fault, FaultAction};
    let kinds: Vec<&str> = ["status", "action", "delay_ms"]
        .into_iter()
        .filter(|k| m.contains_key(*k))
        .collect();
    let [kind] = kinds[..] else {
        return Err("a card fault needs exactly one of status, action, delay_ms".into());
    };
    let action = match kind {
        "status" => FaultAction::Status(
            opt_u32(m, "status")?
                .and_then(|n| u8::try_from(n).ok())
                .ok_or("'status' must be an integer from 0 to 255")?,
        ),
        "delay_ms" => {
            let ms = opt_u32(m, "delay_ms")?
                .filter(|n| *n <= MAX_CARD_DELAY_MS)
                .ok_or_else(|| format!("'delay_ms' must be from 0 to {MAX_CARD_DELAY_MS}"))?;
            FaultAction::Delay((ms / 10).max(1))
        }
        _ => match m.get("action").and_then(Value::as_str) {
            Some("no-response") => FaultAction::NoResponse,
            Some("fatal") => FaultAction::Fatal,
            Some("hardware-fatal") => FaultAction::HardwareFatal,
            Some("wrong-id") => FaultAction::WrongId,
            _ => {
                return Err(
                    "'action' must be no-response, fatal, hardware-fatal or wrong-id".into(),
                )
            }
        },
    };
    let opcode = match opt_u32(m, "opcode")? {
        None => None,
        Some(n) => Some(u8::try_from(n).map_err(|_| "'opcode' must be from 0 to 255")?),
    };
    let remaining = opt_u32(m, "count")?;
    if remaining == Some(0) {
        return Err("'count' must be at least 1 (leave it out for every command)".into());
    }
    for k in m.keys() {
        if !["cmd", "opcode", "count", kind].contains(&k.as_str()) {
            return Err(format!("unknown field '{k}'"));
        }
    }
    Ok(Fault {
        opcode,
        action,
        remaining,
    })
}

/// Handles one request line from `channel`; always returns one reply
/// object.
pub fn handle(
    platform: &mut Platform,
    card: Option<&Control>,
    line: &str,
    channel: Channel<'_>,
) -> Value {
    match try_handle(platform, card, line, channel) {
        Ok(v) => v,
        Err(e) => json!({"ok": false, "error": e}),
    }
}

fn try_handle(
    p: &mut Platform,
    card: Option<&Control>,
    line: &str,
    channel: Channel<'_>,
) -> Result<Value, String> {
    if line.len() > MAX_LINE {
        return Err(format!("request longer than {MAX_LINE} bytes"));
    }
    let v: Value = serde_json::from_str(line).map_err(|e| format!("bad JSON: {e}"))?;
    let m = v.as_object().ok_or("the request must be a JSON object")?;
    let cmd = m
        .get("cmd")
        .and_then(Value::as_str)
        .ok_or("missing \"cmd\"")?;
    match cmd {
        "ping" => Ok(json!({"ok": true})),
        "stats" => {
            let mut s = p.stats();
            if let Some(card) = card {
                s["card"] = card.json();
            }
            Ok(json!({"ok": true, "stats": s}))
        }
        "reset-stats" => {
            p.reset_stats();
            Ok(json!({"ok": true}))
        }
        "fault" => {
            let armed = p.arm_fault(fault(m)?).map_err(|e| e.to_string())?;
            Ok(json!({"ok": true, "armed": armed}))
        }
        "clear-faults" => {
            p.clear_faults();
            Ok(json!({"ok": true}))
        }
        "poison" => {
            let num = |k: &str| {
                m.get(k)
                    .and_then(Value::as_u64)
                    .ok_or_else(|| format!("'{k}' must be an unsigned integer"))
            };
            let (a, l) = (num("address")?, num("length")?);
            if l == 0 || a.checked_add(l).is_none() {
                return Err("the range must be non-empty and not wrap".into());
            }
            let ranges = p.add_poison(a, l).map_err(|e| e.to_string())?;
            Ok(json!({"ok": true, "ranges": ranges}))
        }
        "notify" => {
            for k in m.keys() {
                if k != "cmd" && k != "value" && k != "dimm" {
                    return Err(format!("unknown field '{k}'"));
                }
            }
            let v = m
                .get("value")
                .and_then(Value::as_u64)
                .filter(|v| *v == 0x80 || *v == 0x81)
                .ok_or("notify needs \"value\": 128 (0x80) or 129 (0x81)")?;
            match opt_u32(m, "dimm")? {
                None if v == 0x80 => p.notify(Notification::Update).map_err(|e| e.to_string())?,
                None => p.notify(Notification::UcMemoryError).map_err(|e| e.to_string())?,
                Some(h) if v == 0x81 => p.notify_dimm_health(h).map_err(|e| e.to_string())?,
                Some(_) => return Err("a DIMM takes only 129 (0x81, health changed)".into()),
            }
            Ok(json!({"ok": true}))
        }
        "flush-hints" => Ok(json!({"ok": true, "flush_hints": p.take_flush_hints().map_err(|e| e.to_string())?})),
        "card-fault" => {
            let card = card.ok_or("no card on this machine (--ocxlpmem)")?;
            let f = card_fault(m)?;
            let armed = card.arm(f).map_err(|e| e.to_string())?;
            Ok(json!({"ok": true, "armed": armed}))
        }
        "card-clear-faults" => {
            card.ok_or("no card on this machine (--ocxlpmem)")?.clear();
            Ok(json!({"ok": true}))
        }
        "hotplug" => {
            let Channel::Host { hotplug_dirs } = channel else {
                return Err("hotplug is a host request (control socket only)".into());
            };
            let spec = m
                .get("nvdimm")
                .and_then(Value::as_str)
                .ok_or("hotplug needs \"nvdimm\": \"path=F,size=S,...\"")?;
            let mut config = crate::config::NvdimmConfig::parse(spec).map_err(|e| e.to_string())?;
            if !p.has_hotplug() {
                return Err("this machine has no hotplug slots (--hotplug-slots)".into());
            }
            let real = hotplug_dirs
                .resolve(&config.path)
                .map_err(|e| e.to_string())?;
            if p
                .placed()
                .iter()
                .any(|d| std::fs::canonicalize(&d.config.path).is_ok_and(|c| c == real))
            {
                return Err(format!("{}: already a DIMM", real.display()));
            }
            config.path = real;
            let d = p.hotplug(config).map_err(|e| e.to_string())?;
            Ok(json!({
                "ok": true,
                "handle": u32::from(d.slot) + 1,
                "address": d.address,
            }))
        }
        other => Err(format!(
            "unknown cmd '{other}' (ping, stats, reset-stats, fault, clear-faults, poison, notify, flush-hints, hotplug, card-fault, card-clear-faults)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::ocxl::attached::Control;
    use crate::dsm::{DsmCall, INTEL_UUID};

    fn platform() -> Platform {
        let dir = std::env::temp_dir().join(format!("nvdimm-vmm-ctl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("d.img");
        let _ = std::fs::remove_file(&p);
        let c = crate::config::NvdimmConfig::parse(&format!(
            "path={},size=4M,label-size=128K",
            p.display()
        ))
        .unwrap();
        c.create_file().unwrap();
        Platform::new(&crate::config::place(&[c]).unwrap().0, vec![]).unwrap()
    }

    /// A request to a machine without a card.
    fn handle(p: &mut Platform, line: &str, channel: Channel<'_>) -> Value {
        super::handle(p, None, line, channel)
    }

    fn handle_t(p: &mut Platform, line: &str) -> Value {
        handle(p, line, Channel::Guest)
    }

    /// A guest request to a machine with `card`.
    fn handle_c(p: &mut Platform, card: &Control, line: &str) -> Value {
        super::handle(p, Some(card), line, Channel::Guest)
    }

    fn host(dirs: &HotplugDirs) -> Channel<'_> {
        Channel::Host { hotplug_dirs: dirs }
    }

    #[test]
    fn hotplug_is_a_host_request() {
        let mut p = platform();
        let req = r#"{"cmd":"hotplug","nvdimm":"path=/tmp/x.img,size=4M"}"#;
        let dirs = HotplugDirs::default();
        assert!(handle(&mut p, req, Channel::Guest)["error"]
            .as_str()
            .unwrap()
            .contains("host request"));
        // From the host: refused for want of slots, after parsing the spec.
        assert!(handle(&mut p, req, host(&dirs))["error"]
            .as_str()
            .unwrap()
            .contains("no hotplug slots"));
        let bad = r#"{"cmd":"hotplug","nvdimm":"path=/tmp/x.img,size=3M"}"#;
        assert!(handle(&mut p, bad, host(&dirs))["error"]
            .as_str()
            .unwrap()
            .contains("multiple of 2M"));
        assert_eq!(
            handle(&mut p, r#"{"cmd":"hotplug"}"#, host(&dirs))["ok"],
            false
        );
    }

    #[test]
    fn hotplug_takes_files_only_from_named_directories() {
        let base = std::env::temp_dir().join(format!("nvdimm-vmm-ctl-hp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let (ok, other) = (base.join("ok"), base.join("other"));
        std::fs::create_dir_all(&ok).unwrap();
        std::fs::create_dir_all(&other).unwrap();
        let mut p = platform();
        let added = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        p.attach_hotplug(crate::devices::nvdimm::HotplugRoom {
            backend: Box::new(Line(added.clone())),
            slots: 1,
            limit: u64::MAX,
            capabilities: 0,
        });
        let mut dirs = HotplugDirs::default();
        dirs.allow(&ok).unwrap();
        let req = |path: &std::path::Path| {
            format!(
                r#"{{"cmd":"hotplug","nvdimm":"path={},size=4M"}}"#,
                path.display()
            )
        };
        // Outside, by name, by `..` or through a symlink: refused, and
        // nothing is created.
        std::os::unix::fs::symlink(&other, ok.join("out")).unwrap();
        for bad in [
            other.join("a.img"),
            ok.join("../other/b.img"),
            ok.join("out/c.img"),
            std::path::PathBuf::from("/etc/passwd"),
        ] {
            let r = handle(&mut p, &req(&bad), host(&dirs));
            assert_eq!(r["ok"], false, "{} -> {r}", bad.display());
            assert!(r["error"].as_str().unwrap().contains("command line"), "{r}");
        }
        assert_eq!(std::fs::read_dir(&other).unwrap().count(), 0);
        // No directory allowed at all: refused too.
        let none = HotplugDirs::default();
        let r = handle(&mut p, &req(&ok.join("d.img")), host(&none));
        assert!(
            r["error"].as_str().unwrap().contains("--hotplug-dir"),
            "{r}"
        );
        // Inside: added, under its real name.
        let r = handle(&mut p, &req(&ok.join("d.img")), host(&dirs));
        assert_eq!(r["ok"], true, "{r}");
        assert!(ok.join("d.img").is_file());
        assert_eq!(
            p.placed().last().unwrap().config.path,
            std::fs::canonicalize(ok.join("d.img")).unwrap()
        );
    }

    #[test]
    fn what_requests_add_is_bounded() {
        let p = platform();
        let mut p = p.with_ars();
        let card = Control::default();
        let max = crate::devices::faults::MAX_RULES;
        for i in 0..max {
            let r = handle_t(&mut p, r#"{"cmd":"fault","status":4}"#);
            assert_eq!(r["armed"], i + 1, "{r}");
            let r = handle_c(&mut p, &card, r#"{"cmd":"card-fault","status":1}"#);
            assert_eq!(r["armed"], i + 1, "{r}");
        }
        for req in [
            r#"{"cmd":"fault","status":4}"#,
            r#"{"cmd":"card-fault","status":1}"#,
        ] {
            let r = handle_c(&mut p, &card, req);
            assert!(r["error"].as_str().unwrap().contains("clear"), "{r}");
        }
        assert_eq!(p.stats()["faults_armed"], max);
        handle_t(&mut p, r#"{"cmd":"clear-faults"}"#);
        assert_eq!(
            handle_t(&mut p, r#"{"cmd":"fault","status":4}"#)["ok"],
            true
        );
        for i in 0..crate::devices::nvdimm::ars::MAX_RANGES as u64 {
            let req = format!(r#"{{"cmd":"poison","address":{},"length":1}}"#, i * 2);
            assert_eq!(handle_t(&mut p, &req)["ok"], true);
        }
        let r = handle_t(&mut p, r#"{"cmd":"poison","address":1000000,"length":1}"#);
        assert!(
            r["error"].as_str().unwrap().contains("poison ranges"),
            "{r}"
        );
    }

    #[test]
    fn random_lines_are_answered() {
        let p = platform();
        let mut p = p.with_ars();
        let pieces = [
            "{",
            "}",
            "\"cmd\"",
            ":",
            ",",
            "\"fault\"",
            "\"poison\"",
            "\"stats\"",
            "\"dimm\"",
            "\"status\"",
            "\"short\"",
            "\"torn\"",
            "\"delay_ms\"",
            "\"count\"",
            "\"address\"",
            "\"length\"",
            "-1",
            "0",
            "1",
            "4294967296",
            "1e99",
            "null",
            "true",
            "[",
            "]",
            "\"x\"",
            "\"hotplug\"",
            "\"nvdimm\"",
            "\"path=/tmp/zz,size=4M\"",
            "\"notify\"",
            "\"value\"",
            "129",
            "\"flush-hints\"",
        ];
        let mut x: u64 = 0x5eed;
        for _ in 0..20_000 {
            let mut line = String::new();
            for _ in 0..(x % 12) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                line.push_str(pieces[(x % pieces.len() as u64) as usize]);
            }
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let r = handle(&mut p, &line, Channel::Guest);
            assert!(r["ok"].is_boolean(), "{line} -> {r}");
        }
        assert!(
            !std::path::Path::new("/tmp/zz").exists(),
            "no hotplug from the guest"
        );
    }

    #[test]
    fn requests() {
        let mut p = platform();
        assert_eq!(handle_t(&mut p, r#"{"cmd":"ping"}"#)["ok"], true);
        let r = handle_t(
            &mut p,
            r#"{"cmd":"fault","dimm":1,"function":4,"status":4,"count":1}"#,
        );
        assert_eq!(r["armed"], 1);
        let out = p.call(&DsmCall {
            handle: 1,
            uuid: INTEL_UUID,
            revision: 1,
            function: 4,
            input: Some(vec![]),
        });
        assert_eq!(out.output, 4u32.to_le_bytes());
        let s = handle_t(&mut p, r#"{"cmd":"stats"}"#);
        assert_eq!(s["stats"]["calls"]["1:4"], 1);
        assert_eq!(s["stats"]["faults_injected"], 1);
        assert_eq!(s["stats"]["faults_armed"], 0);
        assert_eq!(handle_t(&mut p, r#"{"cmd":"reset-stats"}"#)["ok"], true);
        assert_eq!(handle_t(&mut p, r#"{"cmd":"stats"}"#)["stats"]["total"], 0);
        handle_t(&mut p, r#"{"cmd":"fault","short":3}"#);
        assert_eq!(handle_t(&mut p, r#"{"cmd":"clear-faults"}"#)["ok"], true);
        assert_eq!(p.stats()["faults_armed"], 0);
    }

    struct Line(std::sync::Arc<std::sync::Mutex<Vec<Notification>>>);

    impl crate::devices::nvdimm::HotplugBackend for Line {
        fn add(
            &mut self,
            _: &crate::config::PlacedDimm,
        ) -> Result<(), crate::devices::nvdimm::BackendError> {
            Ok(())
        }
        fn notify(&mut self, n: Notification) -> Result<(), crate::devices::nvdimm::BackendError> {
            self.0.lock().unwrap().push(n);
            Ok(())
        }
    }

    #[test]
    fn notify_and_flush_hints() {
        let mut p = platform();
        let r = handle_t(&mut p, r#"{"cmd":"notify","value":129}"#);
        assert!(
            r["error"].as_str().unwrap().contains("--hotplug-slots"),
            "{r}"
        );
        let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        p.attach_hotplug(crate::devices::nvdimm::HotplugRoom {
            backend: Box::new(Line(sent.clone())),
            slots: 0,
            limit: 0,
            capabilities: 0,
        });
        assert_eq!(
            handle_t(&mut p, r#"{"cmd":"notify","value":129}"#)["ok"],
            true
        );
        assert_eq!(
            handle_t(&mut p, r#"{"cmd":"notify","value":128}"#)["ok"],
            true
        );
        for bad in [
            r#"{"cmd":"notify"}"#,
            r#"{"cmd":"notify","value":130}"#,
            r#"{"cmd":"notify","value":"129"}"#,
            r#"{"cmd":"notify","value":385}"#,
            r#"{"cmd":"notify","value":129,"x":1}"#,
        ] {
            assert_eq!(handle_t(&mut p, bad)["ok"], false, "{bad}");
        }
        assert_eq!(
            *sent.lock().unwrap(),
            [Notification::UcMemoryError, Notification::Update]
        );
        let r = handle_t(&mut p, r#"{"cmd":"flush-hints"}"#);
        assert!(
            r["error"].as_str().unwrap().contains("flush-hints=N"),
            "{r}"
        );
        // A DIMM with two hints on a page of its own.
        let dir = std::env::temp_dir().join(format!("nvdimm-vmm-ctl-fh-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let img = dir.join("d.img");
        let _ = std::fs::remove_file(&img);
        let c = crate::config::NvdimmConfig::parse(&format!(
            "path={},size=4M,flush-hints=2",
            img.display()
        ))
        .unwrap();
        c.create_file().unwrap();
        let p = Platform::new(&crate::config::place(&[c]).unwrap().0, vec![]).unwrap();
        let page = crate::devices::nvdimm::flush::FlushPage::create(&dir.join("flush")).unwrap();
        page.write(0, 1, 1);
        let mut p = p.with_flush_page(page);
        let r = handle_t(&mut p, r#"{"cmd":"flush-hints"}"#);
        assert_eq!(
            r["flush_hints"],
            serde_json::json!([{"dimm": 1, "written": [false, true],
                "addresses": [crate::config::FLUSH_BASE, crate::config::FLUSH_BASE + 64]}])
        );
        let r = handle_t(&mut p, r#"{"cmd":"flush-hints"}"#);
        assert_eq!(
            r["flush_hints"][0]["written"],
            serde_json::json!([false, false])
        );
    }

    #[test]
    fn card_faults() {
        let mut p = platform();
        let req = r#"{"cmd":"card-fault","opcode":0,"status":255,"count":1}"#;
        assert!(handle_t(&mut p, req)["error"]
            .as_str()
            .unwrap()
            .contains("--ocxlpmem"));
        let card = Control::default();
        assert_eq!(handle_c(&mut p, &card, req)["armed"], 1);
        for good in [
            r#"{"cmd":"card-fault","action":"no-response"}"#,
            r#"{"cmd":"card-fault","opcode":4,"delay_ms":200}"#,
            r#"{"cmd":"card-fault","action":"fatal","count":2}"#,
        ] {
            assert_eq!(handle_c(&mut p, &card, good)["ok"], true, "{good}");
        }
        assert_eq!(
            handle_c(&mut p, &card, r#"{"cmd":"stats"}"#)["stats"]["card"]["faults_armed"],
            4
        );
        for bad in [
            r#"{"cmd":"card-fault"}"#,
            r#"{"cmd":"card-fault","status":256}"#,
            r#"{"cmd":"card-fault","status":1,"action":"fatal"}"#,
            r#"{"cmd":"card-fault","action":"explode"}"#,
            r#"{"cmd":"card-fault","status":1,"opcode":300}"#,
            r#"{"cmd":"card-fault","status":1,"count":0}"#,
            r#"{"cmd":"card-fault","delay_ms":60001}"#,
            r#"{"cmd":"card-fault","status":1,"dimm":1}"#,
        ] {
            assert_eq!(handle_c(&mut p, &card, bad)["ok"], false, "{bad}");
        }
        assert_eq!(
            handle_c(&mut p, &card, r#"{"cmd":"card-clear-faults"}"#)["ok"],
            true
        );
        assert_eq!(card.json()["faults_armed"], 0);
    }

    #[test]
    fn bad_requests_are_answered_not_obeyed() {
        let mut p = platform();
        for bad in [
            "",
            "nonsense",
            "[1,2]",
            r#"{"cmd":7}"#,
            r#"{"cmd":"reboot"}"#,
            r#"{"cmd":"fault"}"#,
            r#"{"cmd":"fault","status":1,"short":2}"#,
            r#"{"cmd":"fault","status":-1}"#,
            r#"{"cmd":"fault","status":4294967296}"#,
            r#"{"cmd":"fault","status":"4"}"#,
            r#"{"cmd":"fault","status":null}"#,
            r#"{"cmd":"fault","delay_ms":60001}"#,
            r#"{"cmd":"fault","status":4,"count":0}"#,
            r#"{"cmd":"fault","status":4,"dimm":1.5}"#,
            r#"{"cmd":"fault","status":4,"colour":"red"}"#,
        ] {
            let r = handle_t(&mut p, bad);
            assert_eq!(r["ok"], false, "{bad} -> {r}");
            assert!(r["error"].as_str().is_some_and(|e| !e.is_empty()));
        }
        let long = format!(r#"{{"cmd":"ping","x":"{}"}}"#, "a".repeat(MAX_LINE));
        assert_eq!(handle_t(&mut p, &long)["ok"], false);
        assert_eq!(
            p.stats()["faults_armed"],
            0,
            "nothing armed by bad requests"
        );
        let poison = r#"{"cmd":"poison","address":4096,"length":512}"#;
        assert!(handle_t(&mut p, poison)["error"]
            .as_str()
            .unwrap()
            .contains("--ars"));
        let mut p = p.with_ars();
        assert_eq!(handle_t(&mut p, poison)["ranges"], 1);
        for bad in [
            r#"{"cmd":"poison","address":4096}"#,
            r#"{"cmd":"poison","address":4096,"length":0}"#,
            r#"{"cmd":"poison","address":18446744073709551615,"length":2}"#,
            r#"{"cmd":"poison","address":-1,"length":2}"#,
        ] {
            assert_eq!(handle_t(&mut p, bad)["ok"], false, "{bad}");
        }
    }
}
