// SPDX-License-Identifier: GPL-2.0
//! The guest's result protocol and the normalisation of `ndctl list` JSON.
//!
//! The guest writes one line per event to its results port:
//! `@@ PASS <check>`, `@@ FAIL <check> <reason>`, `@@ JSON <tag> <json>`
//! and, last, `@@ DONE <passed> <failed>`.

use serde_json::{Map, Value};

/// What one boot reported.
#[derive(Debug, Default, PartialEq)]
pub struct BootReport {
    pub passed: Vec<String>,
    pub failed: Vec<(String, String)>,
    pub json: Vec<(String, String)>,
    /// `(passed, failed)` from the final line, if the guest got that far.
    pub done: Option<(u32, u32)>,
}

/// The checks `finish` in the guest's lib.sh adds to every boot
/// (`kmemleak-clean` on a kernel with kmemleak): they prove nothing about
/// the scenario, so they do not count as its checks.
pub const FINISH_CHECKS: &[&str] = &["dmesg-clean", "kmemleak-clean"];

impl BootReport {
    /// The checks the scenario itself ran (not [`FINISH_CHECKS`]).
    pub fn scenario_checks(&self) -> usize {
        self.passed
            .iter()
            .chain(self.failed.iter().map(|(n, _)| n))
            .filter(|n| !FINISH_CHECKS.contains(&n.as_str()))
            .count()
    }

    pub fn parse(text: &str) -> Self {
        let mut r = BootReport::default();
        for line in text.lines() {
            let Some(rest) = line.trim_end_matches('\r').strip_prefix("@@ ") else {
                continue;
            };
            let (kind, rest) = rest.split_once(' ').unwrap_or((rest, ""));
            match kind {
                "PASS" => r.passed.push(rest.to_string()),
                "FAIL" => {
                    let (name, why) = rest.split_once(' ').unwrap_or((rest, ""));
                    r.failed.push((name.to_string(), why.to_string()));
                }
                "JSON" => {
                    let (tag, json) = rest.split_once(' ').unwrap_or((rest, ""));
                    r.json.push((tag.to_string(), json.to_string()));
                }
                "DONE" => {
                    let mut it = rest.split_whitespace().map(str::parse::<u32>);
                    if let (Some(Ok(p)), Some(Ok(f))) = (it.next(), it.next()) {
                        r.done = Some((p, f));
                    }
                }
                _ => {}
            }
        }
        r
    }

    /// Whether the report is complete and clean: the final line was seen, it
    /// agrees with the individual lines, and nothing failed.
    pub fn problems(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .failed
            .iter()
            .map(|(n, why)| format!("check '{n}' failed: {why}"))
            .collect();
        match self.done {
            None => out.push("the scenario did not finish (no DONE line)".into()),
            Some((p, f)) if p as usize != self.passed.len() || f as usize != self.failed.len() => {
                out.push(format!(
                    "DONE says {p} passed, {f} failed, but {} and {} result lines arrived",
                    self.passed.len(),
                    self.failed.len()
                ))
            }
            Some(_) if self.scenario_checks() == 0 => out.push(format!(
                "the scenario ran no check (finish's {} do not count)",
                FINISH_CHECKS.join(" and ")
            )),
            Some(_) => {}
        }
        out
    }
}

/// Keys whose values differ between two otherwise identical setups.
const VOLATILE_KEYS: &[&str] = &["uuid", "raw_uuid"];

/// Normalises `ndctl list` output so that two runs can be compared: object
/// keys sorted, arrays of devices sorted by their `dev` name, and volatile
/// fields (random namespace UUIDs) dropped.
pub fn normalise(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m
                .into_iter()
                .filter(|(k, _)| !VOLATILE_KEYS.contains(&k.as_str()))
                .map(|(k, v)| (k, normalise(v)))
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().collect::<Map<_, _>>())
        }
        Value::Array(a) => {
            let mut items: Vec<Value> = a.into_iter().map(normalise).collect();
            let key = |v: &Value| v.get("dev").and_then(Value::as_str).map(str::to_string);
            if items.iter().all(|i| key(i).is_some()) {
                items.sort_by_key(key);
            }
            Value::Array(items)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol() {
        let r = BootReport::parse(
            "noise\n@@ PASS load\n@@ FAIL write pattern mismatch\r\n@@ JSON list {\"a\":1}\n@@ DONE 1 1\n",
        );
        assert_eq!(r.passed, ["load"]);
        assert_eq!(r.failed, [("write".into(), "pattern mismatch".into())]);
        assert_eq!(r.json, [("list".into(), "{\"a\":1}".into())]);
        assert_eq!(r.done, Some((1, 1)));
        assert_eq!(r.problems().len(), 1);
    }

    #[test]
    fn incomplete_reports_fail() {
        assert!(!BootReport::parse("@@ PASS a\n").problems().is_empty());
        assert!(!BootReport::parse("@@ DONE 0 0\n").problems().is_empty());
        assert!(!BootReport::parse("@@ PASS a\n@@ DONE 2 0\n")
            .problems()
            .is_empty());
        assert!(BootReport::parse("@@ PASS a\n@@ DONE 1 0\n")
            .problems()
            .is_empty());
        let only_finish = BootReport::parse("@@ PASS dmesg-clean\n@@ DONE 1 0\n");
        assert_eq!(only_finish.scenario_checks(), 0);
        assert!(only_finish.problems()[0].contains("ran no check"));
        let debug_finish =
            BootReport::parse("@@ PASS kmemleak-clean\n@@ PASS dmesg-clean\n@@ DONE 2 0\n");
        assert_eq!(debug_finish.scenario_checks(), 0);
    }

    #[test]
    fn normalisation() {
        let a: Value = serde_json::from_str(
            r#"[{"dev":"region1","size":2},{"uuid":"x","dev":"region0","b":1,"a":[]}]"#,
        )
        .unwrap();
        let want: Value =
            serde_json::from_str(r#"[{"a":[],"b":1,"dev":"region0"},{"dev":"region1","size":2}]"#)
                .unwrap();
        let got = normalise(a);
        assert_eq!(got, want);
        assert_eq!(
            serde_json::to_string(&got).unwrap(),
            r#"[{"a":[],"b":1,"dev":"region0"},{"dev":"region1","size":2}]"#
        );
    }
}
