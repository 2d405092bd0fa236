//! The built-in scenarios: the lecture's worked examples (E4..E15 of
//! `spec/lecture-examples.md`) as TOML files compiled into the binary, so
//! that `vmlab scenario show NAME` prints one to copy and edit.

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
    builtin!("e8-context-switch"),
    builtin!("e8-forgot-mmu-reload"),
    builtin!("e9-segment-table"),
    builtin!("e10-segments-in-memory"),
    builtin!("e11-segmentation"),
    builtin!("e12-time-sharing"),
    builtin!("e13-xv6"),
    builtin!("e13-canonical"),
    builtin!("e14-latency"),
    builtin!("e15-where-does-it-live"),
    builtin!("e15-segmentation"),
    builtin!("uniprogramming"),
];

/// The built-in scenario called `name`; `e6` finds `e6-base` when the
/// prefix names exactly one.
pub fn find(name: &str) -> Option<&'static Builtin> {
    if let Some(b) = ALL.iter().find(|b| b.name == name) {
        return Some(b);
    }
    let prefix = format!("{name}-");
    let mut hits = ALL.iter().filter(|b| b.name.starts_with(&prefix));
    match (hits.next(), hits.next()) {
        (Some(b), None) => Some(b),
        _ => None,
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
