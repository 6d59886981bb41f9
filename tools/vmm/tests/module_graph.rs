// SPDX-License-Identifier: GPL-2.0
//! The VMM's modules import each other without a circle: the graph of
//! `crate::`, `super::` and child-module paths between the files of
//! `src/` is a DAG (see `Documentation/nvdimm-rs/vmm.rst`, "Structure").
//!
//! Each file is one module (`src/a/b.rs` and `src/a/b/mod.rs` are `a::b`).
//! A path in code (comments and a file's trailing `#[cfg(test)] mod tests
//! { .. }` are left out) is an edge to the longest module it names. A
//! module's `mod` declarations are not edges: a parent holds its children,
//! it does not depend on them unless it uses them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// The module a file under `src/` is.
fn module_of(rel: &Path) -> String {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "main")) {
        parts.pop();
    }
    parts.join("::")
}

fn join(base: &str, name: &str) -> String {
    if base.is_empty() {
        name.to_string()
    } else {
        format!("{base}::{name}")
    }
}

fn parent(m: &str) -> String {
    m.rsplit_once("::")
        .map_or(String::new(), |(p, _)| p.to_string())
}

/// The code of a file: comments and its trailing inline test module cut.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests {") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths in `code` that start with `crate::`, `super::`, `self::` or
/// one of `children`, as lists of segments (a `use` group's `{..}`
/// stops the path: its prefix is already a module or an item of one).
fn paths<'a>(code: &'a str, children: &BTreeSet<String>) -> Vec<Vec<&'a str>> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < code.len() {
        let starts = i == 0 || !is_ident(bytes[i - 1] as char) && bytes[i - 1] != b':';
        if !starts || !is_ident(bytes[i] as char) {
            i += 1;
            continue;
        }
        let mut segs = Vec::new();
        let mut j = i;
        loop {
            let s = j;
            while j < code.len() && is_ident(bytes[j] as char) {
                j += 1;
            }
            segs.push(&code[s..j]);
            if code[j..].starts_with("::") && code[j + 2..].starts_with(|c: char| is_ident(c)) {
                j += 2;
            } else {
                break;
            }
        }
        let head = segs[0];
        let grouped = code[j..].starts_with("::{") || code[j..].starts_with("::*");
        let known = matches!(head, "crate" | "super" | "self") || children.contains(head);
        if known && (segs.len() > 1 || grouped) {
            out.push(segs);
        }
        i = j.max(i + 1);
    }
    out
}

/// The longest module in `modules` that `segs` (relative to `from`) names.
fn target(from: &str, segs: &[&str], modules: &BTreeSet<String>) -> Option<String> {
    let (mut base, rest) = match segs[0] {
        "crate" => (String::new(), &segs[1..]),
        "self" => (from.to_string(), &segs[1..]),
        "super" => {
            let mut b = parent(from);
            let mut k = 1;
            while segs.get(k) == Some(&"super") {
                b = parent(&b);
                k += 1;
            }
            (b, &segs[k..])
        }
        _ => (from.to_string(), segs),
    };
    let mut best = None;
    for s in rest {
        let m = join(&base, s);
        if !modules.contains(&m) {
            break;
        }
        best = Some(m.clone());
        base = m;
    }
    best.or_else(|| (segs[0] == "super").then_some(base))
}

fn graph(files: &BTreeMap<String, String>) -> Graph {
    let modules: BTreeSet<String> = files.keys().cloned().collect();
    let mut g = Graph::new();
    for (m, text) in files {
        let children: BTreeSet<String> = modules
            .iter()
            .filter(|c| !c.is_empty() && parent(c) == *m)
            .map(|c| c.rsplit("::").next().unwrap_or(c).to_string())
            .collect();
        let code = code(text);
        let edges = g.entry(m.clone()).or_default();
        for p in paths(&code, &children) {
            if let Some(t) = target(m, &p, &modules) {
                if &t != m {
                    edges.insert(t);
                }
            }
        }
    }
    g
}

/// A circle of imports, if there is one.
fn circle(g: &Graph) -> Option<Vec<String>> {
    fn visit(
        g: &Graph,
        m: &str,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(m.to_string(), 1);
        stack.push(m.to_string());
        for t in g.get(m).into_iter().flatten() {
            match state.get(t).copied().unwrap_or(0) {
                1 => {
                    let i = stack.iter().position(|s| s == t).unwrap_or(0);
                    let mut c = stack[i..].to_vec();
                    c.push(t.clone());
                    return Some(c);
                }
                0 => {
                    if let Some(c) = visit(g, t, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(m.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in g.keys() {
        if state.get(m).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(g, m, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

fn sources(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, root, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let rel = p.strip_prefix(root).unwrap();
            out.insert(module_of(rel), std::fs::read_to_string(&p).unwrap());
        }
    }
}

#[test]
fn modules_form_a_dag() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    sources(&root, &root, &mut files);
    assert!(files.len() > 20, "{} modules found", files.len());
    let g = graph(&files);
    // The parse sees real imports (a sibling, a crate path, a child).
    assert!(g["devices::nvdimm"].contains("acpi::nfit"), "{g:?}");
    assert!(g["devices::nvdimm::dimm"].contains("devices::nvdimm::faults"));
    assert!(g["transport"].contains("transport::launch"));
    assert!(
        g["control::server"].contains("control"),
        "use super::{{..}}"
    );
    // What the layout promises (vmm.rst): models know no transport.
    for (m, edges) in &g {
        if m.starts_with("devices") || m.starts_with("acpi") || m == "dsm" {
            for t in edges {
                assert!(
                    !t.starts_with("transport") && !t.starts_with("control") && t.as_str() != "",
                    "{m} imports {t}"
                );
            }
        }
        if m.starts_with("acpi") {
            assert!(
                edges.iter().all(|t| !t.starts_with("devices")),
                "{m} imports a device model: {edges:?}"
            );
        }
    }
    if std::env::var_os("VMM_MODULE_GRAPH").is_some() {
        for (m, e) in &g {
            println!("{m} -> {e:?}");
        }
    }
    // The leaves: what everything may use imports nothing of the crate.
    for leaf in [
        "config",
        "host",
        "dsm",
        "shm",
        "logger",
        "devices::faults",
        "devices::card",
    ] {
        assert_eq!(g[leaf], BTreeSet::new(), "{leaf} imports");
    }
    assert_eq!(circle(&g), None, "an import circle");
}

#[test]
fn the_check_finds_circles() {
    let f = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(m, t)| (m.to_string(), t.to_string()))
            .collect()
    };
    // a -> b -> c -> a, through crate, super and child paths.
    let files = f(&[
        ("", "mod a;"),
        ("a", "use crate::b::c::X; // crate::x::y in a comment\n"),
        ("b", "use c::Y;"),
        ("b::c", "fn f() { super::super::a::g() }"),
        ("b::d", "use super::{c, e};"),
    ]);
    let g = graph(&files);
    assert!(g["b"].contains("b::c"), "{g:?}");
    assert!(g["b::d"].contains("b"), "{g:?}");
    assert_eq!(circle(&g).expect("the circle"), ["a", "b::c", "a"]);
    // Cut one edge, and a test module's `use super::*`, are no circle.
    let files = f(&[
        ("", "mod a;"),
        ("a", "use crate::b::c::X;"),
        (
            "b",
            "use c::Y;\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n",
        ),
        ("b::c", "fn f() { crate::a_free::g() }"),
        ("b::tests", "use super::*;"),
        ("e", "use crate::b::c::*;"),
    ]);
    assert_eq!(circle(&graph(&files)), None);
}
