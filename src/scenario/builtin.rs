//! The built-in scenarios: the lecture's worked examples (E4..E15 of
//! `spec/lecture-examples.md`), and what the lecture says without an
//! example (privacy and P2 hurting P1 under a base register alone, the hole
//! base+bounds wastes, malloc on top of sbrk, Linux's randomized stack
//! top), as TOML files compiled into the binary, so that `vmlab scenario
//! show NAME` prints one to copy and edit.

/// A built-in scenario.
#[derive(Clone, Copy, Debug)]
pub struct Builtin {
    /// Its name (`e6-base`).
    pub name: &'static str,
    /// Its TOML text.
    pub toml: &'static str,
}

macro_rules! builtin {
    ($name:literal) => {
        Builtin {
            name: $name,
            toml: include_str!(concat!("builtin/", $name, ".toml")),
        }
    };
}

/// Every built-in scenario, in the lecture's order.
pub const ALL: &[Builtin] = &[
    builtin!("e1-scheduling"),
    builtin!("e2-stack"),
    builtin!("e3-heap"),
    builtin!("e4-three-instructions"),
    builtin!("e5-static-relocation"),
    builtin!("e6-base"),
    builtin!("e7-base-bounds"),
    builtin!("base-privacy"),
    builtin!("base-p2-hurts-p1"),
    builtin!("base-bounds-hole"),
    builtin!("e8-context-switch"),
    builtin!("e8-forgot-mmu-reload"),
    builtin!("e9-segment-table"),
    builtin!("e10-segments-in-memory"),
    builtin!("e11-segmentation"),
    builtin!("e12-time-sharing"),
    builtin!("e13-xv6"),
    builtin!("e13-canonical"),
    builtin!("malloc-on-sbrk"),
    builtin!("linux-stack-top"),
    builtin!("e14-latency"),
    builtin!("e15-where-does-it-live"),
    builtin!("e15-segmentation"),
    builtin!("uniprogramming"),
    builtin!("paging-xv6-guard"),
    builtin!("paging-sbrk"),
    builtin!("paging-asid"),
    builtin!("paging-tlb-array"),
    builtin!("paging-table-size"),
    builtin!("paging-vs-segmentation"),
    builtin!("paging-belady"),
    builtin!("paging-thrashing"),
];

/// The built-in scenario called `name`, in any case; a prefix finds the
/// one scenario whose name starts with it (`e6` and `E6` find `e6-base`).
/// `None` when no scenario, or more than one, matches: [`lookup`] says which.
pub fn find(name: &str) -> Option<&'static Builtin> {
    lookup(name).ok()
}

/// Like [`find`], but `Err` is the message for a person: no built-in
/// scenario by that name, or the candidates when the prefix names several
/// (`e8` is `e8-context-switch` or `e8-forgot-mmu-reload`).
pub fn lookup(name: &str) -> Result<&'static Builtin, String> {
    let wanted = name.to_ascii_lowercase();
    if let Some(b) = ALL.iter().find(|b| b.name == wanted) {
        return Ok(b);
    }
    // `e1` is e1-scheduling, though e10 to e15 start with it too.
    let numbered = format!("{wanted}-");
    let mut hits: Vec<&'static Builtin> = ALL
        .iter()
        .filter(|b| b.name.starts_with(&numbered))
        .collect();
    if hits.is_empty() {
        hits = ALL.iter().filter(|b| b.name.starts_with(&wanted)).collect();
    }
    match hits.as_slice() {
        [b] if !wanted.is_empty() => Ok(b),
        [] | [_] => Err(format!(
            "no scenario file or built-in scenario named '{name}' (see vmlab scenario list)"
        )),
        several => {
            let names: Vec<&str> = several.iter().map(|b| b.name).collect();
            Err(format!(
                "'{name}' names {} built-in scenarios: {} (say which)",
                names.len(),
                names.join(", ")
            ))
        }
    }
}

/// The `description = "..."` line of a scenario's TOML.
pub fn description(b: &Builtin) -> String {
    toml::from_str::<toml::Table>(b.toml)
        .ok()
        .and_then(|t| {
            t.get("description")
                .and_then(|d| d.as_str())
                .map(String::from)
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unique_prefix_in_any_case_finds_the_scenario() {
        assert_eq!(find("e7").unwrap().name, "e7-base-bounds");
        assert_eq!(find("E7").unwrap().name, "e7-base-bounds");
        assert_eq!(find("E8-Forgot").unwrap().name, "e8-forgot-mmu-reload");
        assert_eq!(find("uni").unwrap().name, "uniprogramming");
        // e1 is a prefix of e10..e15 too, but names e1-scheduling.
        assert_eq!(find("e1").unwrap().name, "e1-scheduling");
        assert_eq!(find("E1-").unwrap().name, "e1-scheduling");
    }

    #[test]
    fn an_ambiguous_prefix_lists_the_candidates() {
        let e = lookup("e8").unwrap_err();
        assert!(e.contains("e8-context-switch, e8-forgot-mmu-reload"), "{e}");
        let e = lookup("e15").unwrap_err();
        assert!(
            e.contains("e15-where-does-it-live, e15-segmentation"),
            "{e}"
        );
        assert!(lookup("").is_err());
        assert!(lookup("zz").unwrap_err().contains("no scenario"));
    }

    #[test]
    fn every_builtin_parses_and_runs() {
        for b in ALL {
            if crate::scenario::commands_of(b.name, b.toml)
                .unwrap()
                .is_some()
            {
                continue;
            }
            let sc = crate::scenario::parse(b.name, b.toml)
                .unwrap_or_else(|e| panic!("{}: {e}", b.name));
            let events = crate::scenario::run(&sc).unwrap();
            assert!(!events.is_empty(), "{}", b.name);
            assert!(!description(b).is_empty(), "{} needs a description", b.name);
        }
    }

    #[test]
    fn a_unique_prefix_finds_a_scenario() {
        assert_eq!(find("e6").map(|b| b.name), Some("e6-base"));
        assert!(find("e8").is_none(), "two e8 scenarios");
    }
}
