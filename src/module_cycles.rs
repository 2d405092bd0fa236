//! A check of the module layout (issue 12 §5): no import cycles among the
//! modules that once had them. The test reads the source files under `src/`,
//! resolves every `crate::`, `super::` and `self::` path in their code
//! (comments and the trailing `#[cfg(test)]` module left out), maps each to
//! one of the [`NODES`] (a node covers its submodules) and looks for a
//! cycle in the resulting graph.
//!
//! The directions it expects: `fault -> access <- mmu`, `render::trace ->
//! trace`, `kernel::system -> kernel::swap, kernel::syscall`, and neither
//! `scenario::parse` nor `scenario::run` using the other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The modules checked, as paths from the crate root. A file belongs to the
/// longest node its module path starts with; files under no node are not
/// read.
const NODES: &[&str] = &[
    "access",
    "fault",
    "mmu",
    "trace",
    "render::trace",
    "kernel::system",
    "kernel::swap",
    "kernel::syscall",
    "scenario::parse",
    "scenario::run",
];

/// A dependency graph: node -> the nodes it uses.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// The module path of a file relative to `src/` (`kernel/system/access.rs`
/// -> `kernel::system::access`; `x/mod.rs` -> `x`).
fn module_of(rel: &Path) -> Vec<String> {
    let mut segs: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = segs.pop() {
        let stem = last.strip_suffix(".rs").unwrap_or(&last).to_string();
        if stem != "mod" {
            segs.push(stem);
        }
    }
    segs
}

/// The node a module path belongs to: the longest node it starts with.
fn node_of(path: &[String]) -> Option<&'static str> {
    NODES
        .iter()
        .filter(|n| {
            let segs: Vec<&str> = n.split("::").collect();
            segs.len() <= path.len() && segs.iter().zip(path).all(|(a, b)| *a == b.as_str())
        })
        .max_by_key(|n| n.len())
        .copied()
}

/// The code of a file: up to its test module, without `//` comments.
fn code_of(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|l| l.trim_start().starts_with("mod "))
        {
            break;
        }
        let code = line.split("//").next().unwrap_or("");
        out.push_str(code);
        out.push(' ');
    }
    out
}

/// Reads one `use` tree (or inline path) at `pos`: segments separated by
/// `::`, possibly ending in a `{...}` group. Pushes each full path to `out`
/// and returns where it stopped.
fn parse_tree(
    s: &[u8],
    mut pos: usize,
    mut prefix: Vec<String>,
    out: &mut Vec<Vec<String>>,
) -> usize {
    let skip = |mut p: usize| {
        while p < s.len() && s[p].is_ascii_whitespace() {
            p += 1;
        }
        p
    };
    loop {
        pos = skip(pos);
        if pos < s.len() && s[pos] == b'{' {
            pos += 1;
            loop {
                pos = skip(pos);
                if pos >= s.len() {
                    return pos;
                }
                if s[pos] == b'}' {
                    return pos + 1;
                }
                let before = pos;
                pos = parse_tree(s, pos, prefix.clone(), out);
                pos = skip(pos);
                // Past a comma, or past a byte no tree starts with.
                if (pos < s.len() && s[pos] == b',') || pos == before {
                    pos += 1;
                }
            }
        }
        let start = pos;
        while pos < s.len() && (s[pos].is_ascii_alphanumeric() || s[pos] == b'_') {
            pos += 1;
        }
        if start == pos {
            out.push(prefix);
            return pos;
        }
        prefix.push(String::from_utf8_lossy(&s[start..pos]).into_owned());
        if s[pos..].starts_with(b"::") {
            pos += 2;
        } else {
            out.push(prefix);
            return pos;
        }
    }
}

/// Every module path the code of module `module` names, resolved from the
/// crate root (`super::` and `self::` against `module`).
fn references(module: &[String], code: &str) -> Vec<Vec<String>> {
    let s = code.as_bytes();
    let mut raw = Vec::new();
    for (i, _) in code.char_indices() {
        let starts = ["crate::", "super::", "self::"]
            .iter()
            .any(|k| s[i..].starts_with(k.as_bytes()));
        let boundary =
            i == 0 || !(s[i - 1].is_ascii_alphanumeric() || s[i - 1] == b'_' || s[i - 1] == b':');
        if starts && boundary {
            parse_tree(s, i, Vec::new(), &mut raw);
        }
    }
    raw.into_iter()
        .map(|segs| {
            let mut base: Vec<String> = Vec::new();
            for (k, seg) in segs.iter().enumerate() {
                match seg.as_str() {
                    "crate" if k == 0 => base.clear(),
                    "self" if k == 0 => base = module.to_vec(),
                    "super" if k == 0 => {
                        base = module.to_vec();
                        base.pop();
                    }
                    "super" => {
                        base.pop();
                    }
                    _ => base.push(seg.clone()),
                }
            }
            base
        })
        .collect()
}

/// The graph of the nodes' files under `src`.
fn graph(src: &Path) -> Graph {
    let mut g = Graph::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let module = module_of(path.strip_prefix(src).expect("under src"));
            let Some(from) = node_of(&module) else {
                continue;
            };
            let text = std::fs::read_to_string(&path).expect("a source file is readable");
            for r in references(&module, &code_of(&text)) {
                if let Some(to) = node_of(&r) {
                    if to != from {
                        g.entry(from.to_string())
                            .or_default()
                            .insert(to.to_string());
                    }
                }
            }
        }
    }
    g
}

/// A cycle of `g` (its nodes in order, the first repeated at the end), if
/// it has one.
fn find_cycle(g: &Graph) -> Option<Vec<String>> {
    fn visit(
        g: &Graph,
        n: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == n) {
            let mut cycle = path[at..].to_vec();
            cycle.push(n.to_string());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(g, m, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    g.keys()
        .find_map(|n| visit(g, n, &mut Vec::new(), &mut done))
}

fn segs(p: &str) -> Vec<String> {
    p.split("::").map(String::from).collect()
}

#[test]
fn the_named_modules_have_no_import_cycle() {
    let g = graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert_eq!(find_cycle(&g), None, "import cycle; the graph: {g:#?}");
}

#[test]
fn the_expected_directions_are_seen() {
    let g = graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let has = |a: &str, b: &str| g.get(a).is_some_and(|s| s.contains(b));
    for (a, b) in [
        ("kernel::system", "kernel::swap"),
        ("kernel::system", "kernel::syscall"),
        ("fault", "access"),
        ("mmu", "access"),
        ("render::trace", "trace"),
    ] {
        assert!(has(a, b), "{a} -> {b} missing; the graph: {g:#?}");
        assert!(!has(b, a), "{b} -> {a}; the graph: {g:#?}");
    }
    assert!(!has("scenario::parse", "scenario::run"), "{g:#?}");
    assert!(!has("scenario::run", "scenario::parse"), "{g:#?}");
}

#[test]
fn references_resolve_groups_super_and_self() {
    let module = segs("kernel::system::access");
    let code = code_of(
        "use super::{Kernel, swap::Disk};\n// use crate::mmu::Mmu;\nuse crate::kernel::{event::{Event, Pid}, syscall};\nfn f() { self::g(); super::super::paging::boot(); }\n#[cfg(test)]\nmod tests { use crate::fault::Fault; }\n",
    );
    let refs = references(&module, &code);
    for want in [
        "kernel::system::Kernel",
        "kernel::system::swap::Disk",
        "kernel::event::Event",
        "kernel::event::Pid",
        "kernel::syscall",
        "kernel::system::access::g",
        "kernel::paging::boot",
    ] {
        assert!(refs.contains(&segs(want)), "{want} not in {refs:?}");
    }
    assert!(
        !refs.iter().any(|r| r[0] == "mmu" || r[0] == "fault"),
        "{refs:?}"
    );
    assert_eq!(node_of(&segs("kernel::swap::Disk")), Some("kernel::swap"));
    assert_eq!(node_of(&segs("render::trace::x")), Some("render::trace"));
    assert_eq!(node_of(&segs("render::svg")), None);
}

#[test]
fn a_cycle_is_found_and_a_chain_is_not_one() {
    let mut g = Graph::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    assert_eq!(find_cycle(&g), None);
    g.entry("c".into()).or_default().insert("a".into());
    let c = find_cycle(&g).expect("a -> b -> c -> a");
    assert_eq!(c.first(), c.last());
    assert_eq!(c.len(), 4);
}
