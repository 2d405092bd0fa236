//! A scenario's closing summary: the few lines a student looks for at the
//! end of a long run (the addresses a program's printf lines would show, a
//! variable -> region table), filled in from the run's own events.
//!
//! ```toml
//! summary_title = "What stacktest prints"
//! summary = [
//!   "main:   &a      = {main store 2}",
//!   "x = 1           -> {main store 4 region} at {main store 4}, {main store 4 pa}",
//!   "h2 - h1         = {main sbrk 2 - main sbrk 1} bytes",
//! ]
//! ```
//!
//! A placeholder `{PROCESS KIND N [ATTR]}` names the Nth (from 1) `fetch`,
//! `load`, `store`, `sbrk` or `output` (a write to the console) of a
//! process; an access's ATTR is `va` (the default), `region`, `pa` (the
//! physical address, or the fault) or `value`; an sbrk shows what it
//! returned, an output what it wrote. `{A - B}`, two
//! placeholders without ATTR, is their difference in decimal. A run keeps
//! only the events the placeholders name, so memory stays bounded.

use crate::kernel::event::{AccessRecord, Event, Pid};
use std::collections::HashMap;

/// What a placeholder counts.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Kind {
    Fetch,
    Load,
    Store,
    Sbrk,
    Output,
}

impl Kind {
    fn parse(word: &str) -> Option<Kind> {
        Some(match word {
            "fetch" => Kind::Fetch,
            "load" => Kind::Load,
            "store" => Kind::Store,
            "sbrk" => Kind::Sbrk,
            "output" => Kind::Output,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Fetch => "fetch",
            Kind::Load => "load",
            Kind::Store => "store",
            Kind::Sbrk => "sbrk",
            Kind::Output => "output",
        }
    }
}

/// Which part of an event a placeholder shows.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Attr {
    Va,
    Region,
    Pa,
    Value,
}

/// The Nth event of a kind of one process (by its index in the scenario).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Ref {
    process: usize,
    kind: Kind,
    n: usize,
}

#[derive(Clone, PartialEq, Eq, Debug)]
enum Piece {
    Text(String),
    Show(Ref, Attr),
    Diff(Ref, Ref),
}

/// A validated summary: its title and its lines, each text and placeholders.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Template {
    title: String,
    lines: Vec<Vec<Piece>>,
}

/// Parses one reference `PROCESS KIND N` (the words), with `names` the
/// scenario's processes.
fn parse_ref(words: &[&str], names: &[String]) -> Result<Ref, String> {
    let [process, kind, n] = words else {
        return Err(format!(
            "'{}': expected PROCESS KIND N (KIND fetch, load, store, sbrk or output)",
            words.join(" ")
        ));
    };
    let process = names
        .iter()
        .position(|p| p == process)
        .ok_or_else(|| format!("no process named '{process}'"))?;
    let kind = Kind::parse(kind)
        .ok_or_else(|| format!("unknown event '{kind}' (expected fetch, load, store or sbrk)"))?;
    let n = n
        .parse::<usize>()
        .ok()
        .filter(|&n| (1..=MAX_INDEX).contains(&n))
        .ok_or_else(|| format!("'{n}': N counts from 1 to {MAX_INDEX}"))?;
    Ok(Ref { process, kind, n })
}

/// The largest N a placeholder may name: what a run keeps is bounded by it
/// (at most this many events per process and kind, an output at most 4 KiB).
const MAX_INDEX: usize = 1_000;

/// Parses one placeholder's inside.
fn parse_placeholder(inside: &str, names: &[String]) -> Result<Piece, String> {
    if let Some((a, b)) = inside.split_once(" - ") {
        let a: Vec<&str> = a.split_whitespace().collect();
        let b: Vec<&str> = b.split_whitespace().collect();
        return Ok(Piece::Diff(parse_ref(&a, names)?, parse_ref(&b, names)?));
    }
    let words: Vec<&str> = inside.split_whitespace().collect();
    let (words, attr) = match words.as_slice() {
        [p, k, n, attr] => (
            vec![*p, *k, *n],
            match *attr {
                "va" => Attr::Va,
                "region" => Attr::Region,
                "pa" => Attr::Pa,
                "value" => Attr::Value,
                other => {
                    return Err(format!(
                        "unknown attribute '{other}' (expected va, region, pa or value)"
                    ));
                }
            },
        ),
        _ => (words, Attr::Va),
    };
    let r = parse_ref(&words, names)?;
    if matches!(r.kind, Kind::Sbrk | Kind::Output) && attr != Attr::Va {
        return Err(format!(
            "{} shows what it {}: no attribute",
            if r.kind == Kind::Sbrk {
                "an sbrk"
            } else {
                "an output"
            },
            if r.kind == Kind::Sbrk {
                "returned"
            } else {
                "wrote"
            }
        ));
    }
    Ok(Piece::Show(r, attr))
}

impl Template {
    /// Parses a summary: `lines` with placeholders naming the processes
    /// `names`. Fails, naming the line (from 0) and the reason, on an
    /// unclosed brace, an unknown process, event or attribute, or N out of
    /// range.
    pub fn parse(title: &str, lines: &[String], names: &[String]) -> Result<Template, String> {
        let mut parsed = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let mut pieces = Vec::new();
            let mut rest = line.as_str();
            while let Some(open) = rest.find('{') {
                if open > 0 {
                    pieces.push(Piece::Text(rest[..open].to_string()));
                }
                let close = rest[open..]
                    .find('}')
                    .ok_or_else(|| format!("summary[{i}]: '{{' without '}}'"))?;
                let inside = &rest[open + 1..open + close];
                pieces.push(
                    parse_placeholder(inside.trim(), names)
                        .map_err(|e| format!("summary[{i}]: {{{inside}}}: {e}"))?,
                );
                rest = &rest[open + close + 1..];
            }
            if !rest.is_empty() {
                pieces.push(Piece::Text(rest.to_string()));
            }
            parsed.push(pieces);
        }
        let t = Template {
            title: title.to_string(),
            lines: parsed,
        };
        t.check()?;
        Ok(t)
    }

    fn refs(&self) -> impl Iterator<Item = Ref> + '_ {
        self.lines.iter().flatten().flat_map(|p| match p {
            Piece::Text(_) => vec![],
            Piece::Show(r, _) => vec![*r],
            Piece::Diff(a, b) => vec![*a, *b],
        })
    }

    /// Fails when a difference names an output (text has no arithmetic).
    fn check(&self) -> Result<(), String> {
        for (i, line) in self.lines.iter().enumerate() {
            for p in line {
                if let Piece::Diff(a, b) = p {
                    if a.kind == Kind::Output || b.kind == Kind::Output {
                        return Err(format!("summary[{i}]: an output is text: no difference"));
                    }
                }
            }
        }
        Ok(())
    }
}

/// One event a placeholder may show.
#[derive(Clone, Debug)]
struct Fact {
    /// The virtual address (an access) or the value returned (an sbrk).
    va: u64,
    /// What an output wrote (its last newline left out).
    text: Option<String>,
    region: &'static str,
    pa: Option<u64>,
    fault: Option<&'static str>,
    value: Option<u64>,
}

impl Fact {
    fn of(r: &AccessRecord) -> Fact {
        Fact {
            va: r.va,
            text: None,
            region: r.region,
            pa: r.pa,
            fault: r.fault,
            value: r.value,
        }
    }
}

/// Watches a run's events and keeps those the template names.
#[derive(Clone, Debug)]
pub struct Collector {
    template: Template,
    /// The largest N named, per process and kind.
    want: HashMap<(usize, Kind), usize>,
    /// The events seen so far (up to `want`), per process and kind.
    seen: HashMap<(usize, Kind), Vec<Fact>>,
}

impl Collector {
    /// A collector for `template`, having seen nothing.
    pub fn new(template: &Template) -> Collector {
        let mut want = HashMap::new();
        for r in template.refs() {
            let w = want.entry((r.process, r.kind)).or_insert(0);
            *w = (*w).max(r.n);
        }
        Collector {
            template: template.clone(),
            want,
            seen: HashMap::new(),
        }
    }

    /// Notes event `e`; `process_of` maps a pid to its process's index in
    /// the scenario.
    pub fn observe(&mut self, e: &Event, process_of: impl Fn(Pid) -> Option<usize>) {
        let (pid, kind, fact) = match e {
            Event::Fetch(r) => (r.pid, Kind::Fetch, Fact::of(r)),
            Event::Load(r) => (r.pid, Kind::Load, Fact::of(r)),
            Event::Store(r) => (r.pid, Kind::Store, Fact::of(r)),
            Event::Syscall {
                pid,
                name: "sbrk",
                result: Some(v),
                ..
            } => (
                *pid,
                Kind::Sbrk,
                Fact {
                    va: *v,
                    text: None,
                    region: "none",
                    pa: None,
                    fault: None,
                    value: Some(*v),
                },
            ),
            Event::Output { pid, text } => (
                *pid,
                Kind::Output,
                Fact {
                    va: 0,
                    text: Some(text.strip_suffix('\n').unwrap_or(text).to_string()),
                    region: "none",
                    pa: None,
                    fault: None,
                    value: None,
                },
            ),
            _ => return,
        };
        let Some(process) = process_of(pid) else {
            return;
        };
        let Some(&want) = self.want.get(&(process, kind)) else {
            return;
        };
        let seen = self.seen.entry((process, kind)).or_default();
        // A fault restarts the access once the OS fixed it: the retry
        // replaces the refused attempt (the Nth store is the Nth store made).
        if let Some(last) = seen.last() {
            if last.fault.is_some()
                && last.va == fact.va
                && !matches!(kind, Kind::Sbrk | Kind::Output)
            {
                seen.pop();
            }
        }
        if seen.len() < want {
            seen.push(fact);
        }
    }

    fn fact(&self, r: Ref) -> Option<&Fact> {
        self.seen.get(&(r.process, r.kind))?.get(r.n - 1)
    }

    fn missing(r: Ref) -> String {
        format!("(no {} {})", r.kind.name(), r.n)
    }

    /// The summary event: the title and every line filled in from what was
    /// seen (a placeholder whose event never happened says so).
    pub fn event(&self) -> Event {
        let lines =
            self.template
                .lines
                .iter()
                .map(|pieces| {
                    let mut line = String::new();
                    for p in pieces {
                        match p {
                            Piece::Text(t) => line.push_str(t),
                            Piece::Show(r, attr) => match self.fact(*r) {
                                None => line.push_str(&Self::missing(*r)),
                                Some(Fact {
                                    text: Some(text), ..
                                }) => line.push_str(text),
                                Some(f) => line.push_str(&match attr {
                                    Attr::Va => format!("{:#x}", f.va),
                                    Attr::Region => f.region.to_string(),
                                    Attr::Pa => match (f.pa, f.fault) {
                                        (Some(pa), _) => format!("PA {pa:#x}"),
                                        (_, Some(fault)) => format!("FAULT ({fault})"),
                                        _ => "-".into(),
                                    },
                                    Attr::Value => {
                                        f.value.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
                                    }
                                }),
                            },
                            Piece::Diff(a, b) => match (self.fact(*a), self.fact(*b)) {
                                (Some(x), Some(y)) => line
                                    .push_str(&(i128::from(x.va) - i128::from(y.va)).to_string()),
                                (None, _) => line.push_str(&Self::missing(*a)),
                                (_, None) => line.push_str(&Self::missing(*b)),
                            },
                        }
                    }
                    line
                })
                .collect();
        Event::Summary {
            title: self.template.title.clone(),
            lines,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["main".into(), "other".into()]
    }

    fn store(pid: Pid, va: u64, fault: Option<&'static str>) -> Event {
        Event::Store(AccessRecord {
            pid,
            va,
            access: "write",
            pa: fault.is_none().then_some(va + 0x4000),
            fault,
            segment: None,
            offset: None,
            region: "stack",
            tlb: None,
            value: Some(1),
            size: 4,
        })
    }

    #[test]
    fn placeholders_fill_in_from_the_events_seen() {
        let t = Template::parse(
            "T",
            &[
                "y at {main store 2} ({main store 2 region}, {main store 2 pa})".into(),
                "apart {main store 2 - main store 1}; {main sbrk 1}; {main store 3}".into(),
            ],
            &names(),
        )
        .unwrap();
        let mut c = Collector::new(&t);
        let of = |p: Pid| (p == 7).then_some(0);
        c.observe(&store(7, 0x3ff0, None), of);
        // Another process's store is not main's.
        c.observe(&store(8, 0x10, None), of);
        // A refused store, then its retry after the OS fixed it.
        c.observe(&store(7, 0x3fe0, Some("bounds")), of);
        c.observe(&store(7, 0x3fe0, None), of);
        let Event::Summary { title, lines } = c.event() else {
            panic!()
        };
        assert_eq!(title, "T");
        assert_eq!(lines[0], "y at 0x3fe0 (stack, PA 0x7fe0)");
        assert_eq!(lines[1], "apart -16; (no sbrk 1); (no store 3)");
    }

    #[test]
    fn bad_placeholders_say_what_is_wrong() {
        let bad = |l: &str| Template::parse("T", &[l.into()], &names()).unwrap_err();
        assert!(bad("{nobody store 1}").contains("no process named 'nobody'"));
        assert!(bad("{main jump 1}").contains("unknown event 'jump'"));
        assert!(bad("{main store 0}").contains("N counts from 1"));
        assert!(bad("{main store 1 colour}").contains("unknown attribute 'colour'"));
        assert!(bad("{main sbrk 1 region}").contains("no attribute"));
        assert!(bad("x {main store 1").contains("without"));
        assert!(bad("{main output 1 pa}").contains("no attribute"));
        assert!(bad("{main output 2 - main output 1}").contains("no difference"));
    }
}
