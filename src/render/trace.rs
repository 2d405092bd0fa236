//! Renders a trace replay: the summary table (text), the summary record
//! (JSON), and the streamed per-reference records (JSON lines with the
//! fields of [`super::translation::to_json`], written without building a
//! JSON tree per reference). The summary names the scenario process the
//! mechanism came from (`--scenario`) and the estimated time of the valid
//! references under the cost model ([`crate::cost`]).

use crate::addr::PhysAddr;
use crate::cost::{CostModel, Counts, Estimate, human_ns};
use crate::fault::Fault;
use crate::kernel::Pid;
use crate::kernel::system::registers_view;
use crate::mmu::{Access, AnyMmu};
use crate::trace::stats::{ACCESSES, FAULT_KINDS};
use crate::trace::{Format, Location, Report};
use serde_json::{Map, Value, json};
use std::io::{self, Write};

/// Writes the JSON record of one reference: `kind`, `mechanism`, `va`,
/// `access`, `segment` and `offset` when segmented, then `pa` or `fault`
/// (the same record as `vmlab translate --json`), and a newline.
pub fn write_access(
    w: &mut dyn Write,
    mechanism: &str,
    va: u64,
    access: Access,
    split: Option<(u32, u64)>,
    result: Result<PhysAddr, Fault>,
) -> io::Result<()> {
    write!(
        w,
        "{{\"kind\":\"translation\",\"mechanism\":\"{mechanism}\",\"va\":{va},\"access\":\"{}\"",
        access.name()
    )?;
    if let Some((segment, offset)) = split {
        write!(w, ",\"segment\":{segment},\"offset\":{offset}")?;
    }
    match result {
        Ok(pa) => writeln!(w, ",\"pa\":{}}}", pa.as_u64()),
        Err(f) => writeln!(w, ",\"fault\":\"{}\"}}", f.kind.name()),
    }
}

/// The process of a scenario whose MMU a trace was replayed through
/// (`vmlab trace --scenario`), as the kernel left it at the end of the run.
#[derive(Clone, Debug)]
pub struct ScenarioProcess {
    /// The scenario: a built-in's name or the file given.
    pub scenario: String,
    /// Its memory strategy (`base-bounds`, `segmentation` ...).
    pub strategy: &'static str,
    /// The process's pid.
    pub pid: Pid,
    /// Its name in the scenario.
    pub name: String,
    /// Its state at the end of the run (`ready`, `running`, `zombie` ...).
    pub state: &'static str,
    /// Whether it was on the CPU at the end, so that its registers were
    /// the ones loaded in the MMU rather than the copy saved in its PCB.
    pub on_cpu: bool,
}

impl ScenarioProcess {
    /// Where the registers were taken from, in words.
    fn registers_from(&self) -> &'static str {
        if self.on_cpu {
            "registers loaded in the MMU (it was on the CPU at the end of the run)"
        } else {
            "registers saved in its PCB at the end of the run"
        }
    }
}

/// Where the cost model of the estimated time came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CostFrom<'a> {
    /// The lecture's E14 table (the defaults).
    Defaults,
    /// The `[cost]` table of the scenario named (`--scenario`).
    Scenario(&'a str),
    /// A `--cost` file.
    File(&'a str),
}

impl CostFrom<'_> {
    /// The JSON name: `defaults`, `scenario`, `file`.
    fn name(self) -> &'static str {
        match self {
            CostFrom::Defaults => "defaults",
            CostFrom::Scenario(_) => "scenario",
            CostFrom::File(_) => "file",
        }
    }
}

/// What the estimated time leaves out, because the cost model has no
/// figure for it (JSON `estimated_time.not_charged`, explained in the text).
const NOT_CHARGED: [&str; 3] = ["translation", "trap", "cpu"];

/// The estimated time of a replay: each valid reference is one memory
/// access at the model's serving level; a faulting reference never reaches
/// memory. The MMU's work, the trap of a fault and CPU time are not
/// charged: the cost model has no figure for them (see [`NOT_CHARGED`]).
fn estimate(s: &Summary<'_>) -> Estimate {
    s.cost.estimate(&Counts {
        accesses: s.report.stats.valid,
        ..Counts::default()
    })
}

/// Everything the summary shows.
pub struct Summary<'a> {
    /// The trace's name (`-` for stdin).
    pub trace: &'a str,
    /// Its format.
    pub format: Format,
    /// The mechanism replayed.
    pub mmu: &'a AnyMmu,
    /// A one-line description of the mechanism and its registers.
    pub header: &'a str,
    /// Whether the segment table came from `--layout auto`.
    pub auto_layout: bool,
    /// The scenario process the mechanism came from (`--scenario`).
    pub scenario: Option<&'a ScenarioProcess>,
    /// What the replay found.
    pub report: &'a Report,
    /// The cost model of the estimated time.
    pub cost: &'a CostModel,
    /// Where it came from.
    pub cost_from: CostFrom<'a>,
    /// Wall-clock seconds of the replay, printed (as the `time` line of
    /// the text) only when given: `vmlab trace --timing`. Without it the
    /// summary is the same bytes on every run, for diffing and grading;
    /// JSON never carries it.
    pub seconds: Option<f64>,
    /// Wall-clock seconds of the `--layout auto` pass before it, if any
    /// (text only).
    pub layout_seconds: Option<f64>,
}

/// The width of the label column of the counts (`  outside-physical-memory`).
const LABEL: usize = 25;

/// `part` as a percentage of `whole` (`-` when `whole` is 0).
fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".into()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

/// `n` per second in words: `2.6 million`, `1.23 billion`.
fn per_second(n: f64) -> String {
    if n >= 1e9 {
        format!("{:.2} billion", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1} million", n / 1e6)
    } else {
        format!("{n:.0}")
    }
}

/// The summary as a table for a person.
pub fn summary_text(s: &Summary<'_>) -> String {
    use std::fmt::Write as _;
    let st = &s.report.stats;
    let total = st.references();
    let mut t = String::new();
    let _ = writeln!(
        t,
        "trace {} ({}, {} bytes)",
        s.trace,
        s.format.name(),
        s.report.bytes
    );
    if let Some(sp) = s.scenario {
        let _ = writeln!(
            t,
            "scenario {} ({}): process {} ({}, {}), {}",
            sp.scenario,
            sp.strategy,
            sp.pid,
            sp.name,
            sp.state,
            sp.registers_from()
        );
    }
    let _ = writeln!(
        t,
        "{}{}",
        s.header,
        if s.auto_layout {
            " [--layout auto]"
        } else {
            ""
        }
    );
    let _ = writeln!(t);
    // One label column wide enough for the longest fault name.
    let row = |t: &mut String, label: &str, n: u64, share: bool| {
        let pct = if share {
            percent(n, total)
        } else {
            String::new()
        };
        let _ = writeln!(t, "{label:<LABEL$} {n:>12}  {pct:>6}");
        t.truncate(t.trim_end().len());
        t.push('\n');
    };
    row(&mut t, "references", total, false);
    for a in ACCESSES {
        row(&mut t, &format!("  {}", a.name()), st.of_access(a), true);
    }
    row(&mut t, "valid", st.valid, true);
    row(&mut t, "faults", st.faulted(), true);
    for k in FAULT_KINDS {
        let n = st.of_fault(k);
        if n > 0 {
            row(&mut t, &format!("  {}", k.name()), n, true);
        }
    }
    if let AnyMmu::Segmentation(m) = s.mmu {
        let _ = writeln!(t);
        let _ = writeln!(
            t,
            "seg    name       base           size           perms grows      references      faults  lowest va       highest va"
        );
        for (i, (seg, ss)) in m.segments().iter().zip(&st.segments).enumerate() {
            if seg.size == 0 && ss.references() == 0 {
                continue;
            }
            let (lo, hi) = ss
                .touched()
                .map_or(("-".to_string(), "-".to_string()), |(lo, hi)| {
                    (format!("{lo:#x}"), format!("{hi:#x}"))
                });
            let _ = writeln!(
                t,
                "{i:<6} {:<10} {:<14} {:<14} {:<5} {:<5} {:>15} {:>11}  {lo:<15} {hi}",
                seg.name.as_deref().unwrap_or("-"),
                format!("{:#x}", seg.base),
                format!("{:#x}", seg.size),
                seg.perms.to_string(),
                if seg.grows_down { "down" } else { "up" },
                ss.references(),
                ss.faults,
            );
        }
    } else if let Some((lo, hi)) = st.touched() {
        let _ = writeln!(t, "addresses translated: lowest {lo:#x}, highest {hi:#x}");
    }
    let _ = writeln!(t);
    match &s.report.bad.first {
        Some(first) => {
            let _ = writeln!(
                t,
                "malformed lines skipped: {} (first: {first})",
                s.report.bad.count
            );
        }
        None => {
            let _ = writeln!(t, "malformed lines skipped: 0");
        }
    }
    let e = estimate(s);
    let model = match s.cost_from {
        CostFrom::Defaults => "the E14 table".to_string(),
        CostFrom::Scenario(name) => format!("{name}'s [cost]"),
        CostFrom::File(name) => name.to_string(),
    };
    let _ = writeln!(
        t,
        "estimated time {} = {} x {} ns (one {} access each; cost model: {model})",
        human_ns(e.total_ns()),
        super::counted(st.valid, "valid reference", "valid references"),
        s.cost.access_ns(),
        s.cost.served_by.level(),
    );
    let _ = writeln!(
        t,
        "  not charged (the cost model has no figure for them): address translation, {} to the OS (one per fault), CPU time",
        super::counted(st.faulted(), "trap", "traps"),
    );
    if let Some(seconds) = s.seconds {
        let _ = write!(
            t,
            "time {:.3} s: {} references/s, {:.1} MB/s",
            seconds,
            per_second(total as f64 / seconds.max(1e-9)),
            s.report.bytes as f64 / seconds.max(1e-9) / 1e6
        );
        if let Some(layout) = s.layout_seconds {
            let _ = write!(t, " (after {layout:.3} s fitting the layout)");
        }
        t.push('\n');
    }
    t
}

/// The summary as one JSON record (`"kind": "trace-summary"`).
pub fn summary_json(s: &Summary<'_>) -> Value {
    let st = &s.report.stats;
    let mut m = Map::new();
    m.insert("kind".into(), json!("trace-summary"));
    m.insert("trace".into(), json!(s.trace));
    m.insert("format".into(), json!(s.format.name()));
    m.insert("mechanism".into(), json!(crate::mmu::Mmu::mechanism(s.mmu)));
    let from = match (s.scenario, s.auto_layout) {
        (Some(_), _) => "scenario",
        (None, true) => "auto",
        (None, false) => "flags",
    };
    m.insert("layout".into(), json!(from));
    if let Some(sp) = s.scenario {
        m.insert(
            "scenario".into(),
            json!({
                "name": sp.scenario,
                "strategy": sp.strategy,
                "pid": sp.pid,
                "process": sp.name,
                "state": sp.state,
                "registers_from": if sp.on_cpu { "mmu" } else { "pcb" },
                "registers": registers_view(&crate::mmu::Mmu::registers(s.mmu)),
            }),
        );
    }
    m.insert("bytes".into(), json!(s.report.bytes));
    m.insert("references".into(), json!(st.references()));
    for a in ACCESSES {
        m.insert(a.name().into(), json!(st.of_access(a)));
    }
    m.insert("valid".into(), json!(st.valid));
    m.insert("faulted".into(), json!(st.faulted()));
    let faults: Map<String, Value> = FAULT_KINDS
        .iter()
        .map(|k| (k.name().to_string(), json!(st.of_fault(*k))))
        .collect();
    m.insert("faults".into(), Value::Object(faults));
    if let Some((lo, hi)) = st.touched() {
        m.insert("lowest_va".into(), json!(lo));
        m.insert("highest_va".into(), json!(hi));
    }
    if let AnyMmu::Segmentation(mmu) = s.mmu {
        m.insert("va_bits".into(), json!(mmu.va_bits()));
        let segs: Vec<Value> = mmu
            .segments()
            .iter()
            .zip(&st.segments)
            .enumerate()
            .filter(|(_, (seg, ss))| seg.size > 0 || ss.references() > 0)
            .map(|(i, (seg, ss))| {
                let mut r = Map::new();
                r.insert("segment".into(), json!(i));
                r.insert("name".into(), json!(seg.name));
                r.insert("base".into(), json!(seg.base));
                r.insert("size".into(), json!(seg.size));
                r.insert("perms".into(), json!(seg.perms.to_string()));
                r.insert(
                    "grows".into(),
                    json!(if seg.grows_down { "down" } else { "up" }),
                );
                r.insert("references".into(), json!(ss.references()));
                r.insert("valid".into(), json!(ss.valid));
                r.insert("faults".into(), json!(ss.faults));
                if let Some((lo, hi)) = ss.touched() {
                    r.insert("lowest_va".into(), json!(lo));
                    r.insert("highest_va".into(), json!(hi));
                }
                Value::Object(r)
            })
            .collect();
        m.insert("segments".into(), Value::Array(segs));
    }
    let e = estimate(s);
    let mut cost = Map::new();
    cost.insert("total_ns".into(), json!(e.total_ns()));
    cost.insert("memory_ns".into(), json!(e.memory_ns));
    cost.insert("accesses".into(), json!(st.valid));
    cost.insert("access_ns".into(), json!(s.cost.access_ns()));
    cost.insert("served_by".into(), json!(s.cost.served_by.name()));
    cost.insert("not_charged".into(), json!(NOT_CHARGED));
    cost.insert("model_from".into(), json!(s.cost_from.name()));
    if let CostFrom::File(name) = s.cost_from {
        cost.insert("model_file".into(), json!(name));
    }
    cost.insert("model".into(), json!(s.cost));
    m.insert("estimated_time".into(), Value::Object(cost));
    m.insert("malformed".into(), json!(s.report.bad.count));
    if let Some(first) = &s.report.bad.first {
        let at = match first.at {
            Location::Line(n) => ("line", n),
            Location::Offset(n) => ("offset", n),
        };
        m.insert(
            "first_malformed".into(),
            json!({ at.0: at.1, "content": first.content, "why": first.why }),
        );
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VirtAddr;
    use crate::mmu::{Mmu, Perms, Segment, Segmentation};
    use crate::render::translation;
    use proptest::prelude::*;

    /// The text summary of `report` under `mmu`, from flags, with the
    /// `cost` model's defaults.
    fn e7_summary<'a>(mmu: &'a AnyMmu, report: &'a Report, cost: &'a CostModel) -> Summary<'a> {
        Summary {
            trace: "-",
            format: Format::Text,
            mmu,
            header: "base + bounds",
            auto_layout: false,
            scenario: None,
            report,
            cost,
            cost_from: CostFrom::Defaults,
            seconds: Some(0.0),
            layout_seconds: None,
        }
    }

    fn e7_p1_summary_parts() -> (AnyMmu, ScenarioProcess, Report) {
        let mmu = AnyMmu::BaseBounds(crate::mmu::BaseBounds::new(1024, 1024, 16 * 1024).unwrap());
        let process = ScenarioProcess {
            scenario: "e7-base-bounds".into(),
            strategy: "base-bounds",
            pid: 1,
            name: "P1".into(),
            state: "zombie",
            on_cpu: false,
        };
        let mut stats = crate::trace::Stats::new(0);
        stats.by_access = [1, 4, 2];
        stats.valid = 5;
        stats.faults[0] = 2;
        let report = Report {
            stats,
            bad: Default::default(),
            bytes: 0,
        };
        (mmu, process, report)
    }

    #[test]
    fn the_time_line_names_the_layout_pass_when_there_was_one() {
        let (mmu, _, report) = e7_p1_summary_parts();
        let cost = CostModel::default();
        let plain = summary_text(&e7_summary(&mmu, &report, &cost));
        assert!(!plain.contains("fitting the layout"), "{plain}");
        let fitted = Summary {
            layout_seconds: Some(0.25),
            ..e7_summary(&mmu, &report, &cost)
        };
        let text = summary_text(&fitted);
        assert!(
            text.ends_with(" (after 0.250 s fitting the layout)\n"),
            "{text}"
        );
    }

    #[test]
    fn without_a_measured_time_the_summary_has_no_time_line() {
        let (mmu, _, report) = e7_p1_summary_parts();
        let cost = CostModel::default();
        let untimed = Summary {
            seconds: None,
            layout_seconds: Some(0.25),
            ..e7_summary(&mmu, &report, &cost)
        };
        let text = summary_text(&untimed);
        assert!(!text.contains("time 0"), "{text}");
        assert!(!text.contains("references/s"), "{text}");
        assert!(text.ends_with("CPU time\n"), "{text}");
    }

    #[test]
    fn scenario_process_is_named_in_text_and_json() {
        let (mmu, process, report) = e7_p1_summary_parts();
        let cost = CostModel::default();
        let s = Summary {
            scenario: Some(&process),
            ..e7_summary(&mmu, &report, &cost)
        };
        let text = summary_text(&s);
        assert!(text.contains(
            "scenario e7-base-bounds (base-bounds): process 1 (P1, zombie), registers saved in its PCB at the end of the run\nbase + bounds\n"
        ), "{text}");
        let j = summary_json(&s);
        assert_eq!(j["layout"], "scenario");
        assert_eq!(j["scenario"]["registers_from"], "pcb");
        assert_eq!(j["scenario"]["registers"]["base"], 1024);
        assert_eq!(j["scenario"]["registers"]["bounds"], 1024);
        let flags = Summary {
            scenario: None,
            ..s
        };
        assert_eq!(summary_json(&flags)["layout"], "flags");
        assert!(summary_json(&flags).get("scenario").is_none());
    }

    #[test]
    fn estimate_charges_valid_references_at_the_serving_level_and_says_what_it_leaves_out() {
        let (mmu, _, report) = e7_p1_summary_parts();
        let l2 = CostModel {
            served_by: crate::cost::ServedBy::L2,
            ..CostModel::default()
        };
        let s = Summary {
            cost_from: CostFrom::File("fast.toml"),
            ..e7_summary(&mmu, &report, &l2)
        };
        let text = summary_text(&s);
        assert!(
            text.contains("estimated time 20 ns = 5 valid references x 4 ns (one L2 access each; cost model: fast.toml)\n"),
            "{text}"
        );
        assert!(
            text.contains("address translation, 2 traps to the OS (one per fault), CPU time\n"),
            "{text}"
        );
        let e = &summary_json(&s)["estimated_time"];
        assert_eq!(e["total_ns"], 20.0);
        assert_eq!(e["memory_ns"], 20.0);
        assert_eq!(e["accesses"], 5);
        assert_eq!(e["access_ns"], 4.0);
        assert_eq!(e["served_by"], "l2");
        assert_eq!(e["not_charged"], json!(["translation", "trap", "cpu"]));
        assert_eq!(e["model_from"], "file");
        assert_eq!(e["model_file"], "fast.toml");
        assert_eq!(e["model"]["dram_ns"], 80.0);
        assert_eq!(e["model"]["served_by"], "l2");
    }

    proptest! {
        /// The streamed record is exactly `vmlab translate --json`'s record.
        #[test]
        fn per_access_record_matches_translate_json(va in 0u64..0x5000, w in 0u8..3) {
            let m = Segmentation::new(
                14,
                vec![
                    Segment::up(0x2000, 0x6ff, Perms::R | Perms::X),
                    Segment::up(0x0000, 0x4ff, Perms::R | Perms::W),
                    Segment::down(0x4000, 0x800, Perms::R | Perms::W),
                    Segment::up(0, 0, Perms::empty()),
                ],
                1 << 16,
            )
            .unwrap();
            let access = [Access::Fetch, Access::Read, Access::Write][w as usize];
            let t = m.explain(crate::memory::PhysicalMemory::empty(), VirtAddr::new(va), access);
            let mut line = Vec::new();
            write_access(&mut line, "segmentation", va, access,
                m.split(VirtAddr::new(va)), t.result).unwrap();
            let ours: Value = serde_json::from_slice(&line).unwrap();
            prop_assert_eq!(ours, translation::to_json(&t, "segmentation"));
        }
    }
}
