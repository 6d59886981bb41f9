// SPDX-License-Identifier: GPL-2.0
//! Every size the scenarios and the tools' defaults write parses as it did
//! before the harness and the VMM shared one `parse_size`.

use std::path::Path;

use nvdimm_testkit::parse_size;

/// What the harness's and the VMM's own `parse_size` (before the shared
/// one; they agreed on K, M, G and plain numbers) gave for each string.
const BEFORE: [(&str, u64); 9] = [
    ("128K", 128 << 10),
    ("4M", 4 << 20),
    ("16M", 16 << 20),
    ("64M", 64 << 20),
    ("128M", 128 << 20),
    ("256M", 256 << 20),
    ("512M", 512 << 20),
    ("1G", 1 << 30),
    ("2G", 2 << 30),
];

/// The value of `size=`, `label-size=` or `# memory:` in a header line
/// (`# nvdimm:`, `# vmm-args:`, ...) or a request to the VMM (`@@ VMM`);
/// the scripts' own `size=` (module parameters) are not ours.
fn sizes_in(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    if !line.starts_with('#') && !line.contains("@@ VMM") {
        return out;
    }
    if let Some(v) = line.strip_prefix("# memory:") {
        out.push(v.trim().to_string());
    }
    for word in line.split(|c: char| c.is_whitespace() || ",\"'".contains(c)) {
        let Some(v) = word
            .strip_prefix("size=")
            .or_else(|| word.strip_prefix("label-size="))
        else {
            continue;
        };
        let v: String = v.chars().take_while(char::is_ascii_alphanumeric).collect();
        if !v.is_empty() {
            out.push(v);
        }
    }
    out
}

#[test]
fn scenario_and_default_sizes_parse_as_before() {
    let tools = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found = Vec::new();
    let scenarios = tools.join("testing/scenarios");
    for entry in std::fs::read_dir(&scenarios).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "sh") {
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines() {
                found.extend(sizes_in(line).into_iter().map(|s| (s, path.clone())));
            }
        }
    }
    assert!(found.len() > 50, "scenario sizes found: {}", found.len());
    // The VMM's `--memory` default (the harness's is a number of MiB).
    let vmm_main = std::fs::read_to_string(tools.join("vmm/src/main.rs")).unwrap();
    assert!(vmm_main.contains(r#"default_value = "1G", value_parser = parse_size_arg"#));
    found.push(("1G".into(), tools.join("vmm/src/main.rs")));
    for (s, path) in &found {
        let Some((_, before)) = BEFORE.iter().find(|(b, _)| b == s) else {
            panic!("{}: size '{s}' is not in BEFORE", path.display());
        };
        assert_eq!(parse_size(s), Ok(*before), "{}: '{s}'", path.display());
    }
}
