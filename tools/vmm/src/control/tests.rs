// SPDX-License-Identifier: GPL-2.0
//! Tests of `control/mod.rs`.

use super::*;
use crate::devices::ocxl::attached::Control;
use crate::dsm::{DsmCall, INTEL_UUID};

/// A platform with one DIMM, on a backing file of its own: tests run
/// in parallel.
fn platform() -> Platform {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("nvdimm-vmm-ctl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("d{n}.img"));
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
        spas: Vec::new(),
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
        spas: Vec::new(),
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
fn card_smart_changes() {
    let mut p = platform();
    let req = r#"{"cmd":"card-smart","life_used":95}"#;
    assert!(handle_t(&mut p, req)["error"]
        .as_str()
        .unwrap()
        .contains("--ocxlpmem"));
    let card = Control::default();
    let r = handle_c(&mut p, &card, req);
    assert_eq!(r["ok"], true, "{r}");
    // Applied by the card at its next doorbell or tick: pending until then.
    assert_eq!(r["smart"]["pending_changes"], 1);
    for good in [
        r#"{"cmd":"card-smart","spares":0,"media_celsius":-40,"ctrl_celsius":1000}"#,
        r#"{"cmd":"card-smart","dirty_shutdown":true}"#,
        r#"{"cmd":"card-smart","media_errors":3}"#,
    ] {
        assert_eq!(handle_c(&mut p, &card, good)["ok"], true, "{good}");
    }
    for (bad, says) in [
        (r#"{"cmd":"card-smart"}"#, "at least one"),
        (
            r#"{"cmd":"card-smart","dirty_shutdown":false}"#,
            "at least one",
        ),
        (r#"{"cmd":"card-smart","media_errors":0}"#, "at least one"),
        (r#"{"cmd":"card-smart","life_used":101}"#, "'life_used'"),
        (r#"{"cmd":"card-smart","spares":101}"#, "'spares'"),
        (
            r#"{"cmd":"card-smart","media_celsius":-274}"#,
            "'media_celsius'",
        ),
        (
            r#"{"cmd":"card-smart","ctrl_celsius":1001}"#,
            "'ctrl_celsius'",
        ),
        (
            r#"{"cmd":"card-smart","media_errors":1000001}"#,
            "'media_errors'",
        ),
        (r#"{"cmd":"card-smart","life_used":-1}"#, "'life_used'"),
        (
            r#"{"cmd":"card-smart","media_errors":null}"#,
            "'media_errors'",
        ),
        (r#"{"cmd":"card-smart","life_used":5,"dimm":1}"#, "`dimm`"),
    ] {
        let e = handle_c(&mut p, &card, bad);
        assert_eq!(e["ok"], false, "{bad}");
        let text = e["error"].as_str().unwrap();
        assert!(text.contains(says), "{bad} -> {text}");
    }
    assert_eq!(card.json()["smart"]["pending_changes"], 4);
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
fn refusals_name_what_was_wrong() {
    let mut p = platform();
    let card = Control::default();
    for (line, want) in [
        (r#"{"cmd":"ping","x":1}"#, "unknown field `x`"),
        (r#"{"cmd":"fault","status":4,"colour":"red"}"#, "`colour`"),
        (r#"{"cmd":"card-fault","status":1,"dimm":1}"#, "`dimm`"),
        (r#"{"cmd":"reboot"}"#, "`card-clear-faults`"),
        (r#"{"cmd":"fault","status":"4"}"#, "'status'"),
        (r#"{"cmd":"poison","address":4096}"#, "`length`"),
        (
            r#"{"cmd":"fault","delay_ms":60001}"#,
            "'delay_ms' must be from 0 to 60000",
        ),
        (
            r#"{"cmd":"card-fault","status":256}"#,
            "'status' must be from 0 to 255",
        ),
        (
            r#"{"cmd":"notify","value":130}"#,
            "128 (0x80) or 129 (0x81)",
        ),
        (r#"{"cmd":"notify","value":128,"dimm":1}"#, "only 129"),
        ("[1,2]", "JSON object"),
        ("{", "bad JSON"),
    ] {
        let r = handle_c(&mut p, &card, line);
        assert_eq!(r["ok"], false, "{line} -> {r}");
        let e = r["error"].as_str().unwrap();
        assert!(e.contains(want), "{line} -> {e}");
    }
    let long = format!(r#"{{"cmd":"ping","x":"{}"}}"#, "a".repeat(MAX_LINE));
    assert_eq!(
        handle_t(&mut p, &long)["error"],
        format!("request longer than {MAX_LINE} bytes")
    );
    assert_eq!(card.json()["faults_armed"], 0);
    assert_eq!(p.stats()["faults_armed"], 0);
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

/// A platform whose one DIMM serves the Intel family (`intel=on`).
fn intel_platform() -> Platform {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("nvdimm-vmm-ctl-intel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("d{n}.img"));
    let _ = std::fs::remove_file(&p);
    let c = crate::config::NvdimmConfig::parse(&format!(
        "path={},size=4M,label-size=128K,intel=on",
        p.display()
    ))
    .unwrap();
    c.create_file().unwrap();
    Platform::new(&crate::config::place(&[c]).unwrap().0, vec![]).unwrap()
}

#[test]
fn intel_commands() {
    let mut p = intel_platform();
    let r = handle_t(
        &mut p,
        r#"{"cmd":"smart","dimm":1,"spares":7,"media_celsius":-2,"dirty_shutdown":true}"#,
    );
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["intel"]["smart"]["spares"], 7);
    assert_eq!(r["intel"]["smart"]["media_temperature"], 0x8000 | 32);
    assert_eq!(r["intel"]["smart"]["shutdown_count"], 1);
    // What the guest then reads (function 1).
    let smart = p
        .call(&DsmCall {
            handle: 1,
            uuid: INTEL_UUID,
            revision: 1,
            function: 1,
            input: Some(vec![]),
        })
        .output;
    assert_eq!((smart[13], smart[35]), (7, 1));
    // notify needs the notification line; nothing else changed then.
    let r = handle_t(&mut p, r#"{"cmd":"smart","dimm":1,"notify":true}"#);
    assert!(
        r["error"].as_str().unwrap().contains("notification line"),
        "{r}"
    );
    let r = handle_t(&mut p, r#"{"cmd":"smart","dimm":2,"spares":1}"#);
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("no DIMM with handle 2"),
        "{r}"
    );
    assert_eq!(handle_t(&mut p, r#"{"cmd":"power-cycle"}"#)["dimms"], 1);
    assert_eq!(
        handle_t(&mut p, r#"{"cmd":"power-cycle","dimm":1}"#)["ok"],
        true
    );
    let r = handle_t(&mut p, r#"{"cmd":"intel-state","dimm":1}"#);
    assert_eq!(r["intel"]["security"]["locked"], false);
    let r = handle_t(
        &mut p,
        r#"{"cmd":"media","dimm":1,"offset":0,"length":4096}"#,
    );
    assert_eq!(
        (r["zero"].clone(), r["fnv1a"].is_u64()),
        (json!(true), true)
    );
    let r = handle_t(
        &mut p,
        r#"{"cmd":"media","dimm":1,"offset":4194304,"length":131073}"#,
    );
    assert!(r["error"].as_str().unwrap().contains("not inside"), "{r}");
    let r = handle_t(
        &mut p,
        r#"{"cmd":"media","dimm":1,"offset":0,"length":1073741825}"#,
    );
    assert!(r["error"].as_str().unwrap().contains("'length'"), "{r}");
    // A DIMM without intel=on refuses them.
    let mut plain = platform();
    for line in [
        r#"{"cmd":"smart","dimm":1,"spares":1}"#,
        r#"{"cmd":"power-cycle","dimm":1}"#,
        r#"{"cmd":"intel-state","dimm":1}"#,
        r#"{"cmd":"media","dimm":1,"offset":0,"length":1}"#,
    ] {
        let r = handle_t(&mut plain, line);
        assert!(
            r["error"].as_str().unwrap().contains("intel=on"),
            "{line}: {r}"
        );
    }
    assert_eq!(handle_t(&mut plain, r#"{"cmd":"power-cycle"}"#)["dimms"], 0);
}

#[test]
fn fit_delete_needs_a_dimm_and_the_notification_line() {
    let mut p = platform();
    let fit = p.fit();
    for (line, says) in [
        (r#"{"cmd":"fit-delete"}"#, "missing field `dimm`"),
        (r#"{"cmd":"fit-delete","dimm":0}"#, "no DIMM with handle 0"),
        (r#"{"cmd":"fit-delete","dimm":1}"#, "notification line"),
    ] {
        let r = handle_t(&mut p, line);
        assert_eq!(r["ok"], false, "{line}: {r}");
        assert!(r["error"].as_str().unwrap().contains(says), "{line}: {r}");
    }
    assert_eq!(p.fit(), fit, "a refused request leaves _FIT alone");
}
