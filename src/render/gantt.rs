//! Gantt charts of a schedule (lecture E1): the slot sequence, a text chart
//! with one row per job, the metrics table, JSON records and an SVG picture.

use crate::kernel::scheduler::{Job, Policy, Schedule, SlotKind};
use serde_json::{Value, json};
use std::fmt::Write;

pub mod stream;

/// A time as a person writes it: `5`, `2.5`.
pub fn time(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        let s = format!("{x:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A time as a JSON number: an integer when whole, else a float.
pub fn time_json(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.2e18 {
        // Every whole float below 2^63 converts exactly.
        json!(x as i64)
    } else {
        json!(x)
    }
}

/// The policy's title: `FIFO`, `SJF`, `STCF`, `RR (quantum 5)`.
pub fn title(policy: Policy) -> String {
    match policy {
        Policy::RoundRobin { quantum } => format!("RR (quantum {})", time(quantum)),
        p => p.name().to_uppercase(),
    }
}

/// What a slot shows: the job's name, `switch` or `idle`.
fn label(jobs: &[Job], kind: SlotKind) -> &str {
    match kind {
        SlotKind::Run(j) => &jobs[j].name,
        SlotKind::Switch => "switch",
        SlotKind::Idle => "idle",
    }
}

/// The chart: the slot sequence (`A 0-5, B 5-10, ...`), then one row per
/// job, one column per `scale` time units: `#` running, `.` ready but
/// waiting, blank before arrival and after completion
/// ([`stream::write_chart`] over the stored slots).
pub fn text_chart(jobs: &[Job], s: &Schedule) -> String {
    let end = s.slots.last().map_or(0.0, |sl| sl.end);
    let mut out = Vec::new();
    // (writing to a Vec cannot fail)
    let _ = stream::write_chart(&mut out, jobs, s.slots.iter().copied(), end, &s.stats);
    String::from_utf8_lossy(&out).into_owned()
}

/// The metrics table: per job and the averages (2 decimals).
pub fn metrics_table(jobs: &[Job], s: &Schedule) -> String {
    let mut out = Vec::new();
    let _ = stream::write_metrics(&mut out, jobs, &s.stats);
    String::from_utf8_lossy(&out).into_owned()
}

/// JSON records: one per slot (`slot`, `switch`, `idle`), one per job, one
/// `average`; each carries `policy`.
pub fn json_records(jobs: &[Job], policy: Policy, s: &Schedule) -> Vec<Value> {
    let mut v: Vec<Value> = s
        .slots
        .iter()
        .map(|sl| stream::slot_json(jobs, policy, sl))
        .collect();
    v.extend(stream::stats_json(jobs, policy, &s.stats));
    v
}

/// Fill colours for jobs, in order.
const COLOURS: [&str; 8] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f",
];

/// Escapes text for SVG.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An SVG Gantt chart: one lane per job (per policy when several are
/// given), bars for the slots, a time axis.
pub fn svg(jobs: &[Job], runs: &[(Policy, Schedule)]) -> String {
    let end = runs
        .iter()
        .filter_map(|(_, s)| s.slots.last().map(|sl| sl.end))
        .fold(0.0f64, f64::max)
        .max(1.0);
    let (left, lane, width) = (110.0, 22.0, 700.0);
    let x = |t: f64| left + t / end * width;
    let block = (jobs.len() as f64 + 1.0) * lane + 30.0;
    let height = block * runs.len() as f64 + 30.0;
    let mut o = String::new();
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{height}" font-family="sans-serif" font-size="12">"#,
        left + width + 30.0
    );
    for (k, (policy, s)) in runs.iter().enumerate() {
        let top = k as f64 * block + 20.0;
        let _ = writeln!(
            o,
            r#"<text x="4" y="{top}" font-weight="bold">{}</text>"#,
            esc(&title(*policy))
        );
        for (j, job) in jobs.iter().enumerate() {
            let y = top + 8.0 + j as f64 * lane;
            let _ = writeln!(
                o,
                r#"<text x="4" y="{}">{}</text>"#,
                y + 15.0,
                esc(&job.name)
            );
            for sl in &s.slots {
                let on_lane = sl.kind == SlotKind::Run(j);
                if on_lane {
                    let _ = writeln!(
                        o,
                        r##"<rect x="{:.2}" y="{y}" width="{:.2}" height="{}" fill="{}" stroke="#222"><title>{} {}-{}</title></rect>"##,
                        x(sl.start),
                        x(sl.end) - x(sl.start),
                        lane - 4.0,
                        COLOURS[j % COLOURS.len()],
                        esc(&job.name),
                        time(sl.start),
                        time(sl.end)
                    );
                }
            }
        }
        for sl in s.slots.iter().filter(|sl| sl.kind == SlotKind::Switch) {
            let y = top + 8.0 + jobs.len() as f64 * lane;
            let _ = writeln!(
                o,
                r##"<rect x="{:.2}" y="{y}" width="{:.2}" height="6" fill="#999"><title>switch</title></rect>"##,
                x(sl.start),
                x(sl.end) - x(sl.start)
            );
        }
        let axis = top + 8.0 + jobs.len() as f64 * lane + 10.0;
        let _ = writeln!(
            o,
            r##"<line x1="{left}" y1="{axis}" x2="{}" y2="{axis}" stroke="#000"/>"##,
            left + width
        );
        let mut ticks: Vec<f64> = s.slots.iter().map(|sl| sl.end).collect();
        ticks.insert(0, 0.0);
        ticks.dedup();
        for t in ticks {
            let _ = writeln!(
                o,
                r#"<text x="{:.2}" y="{}" text-anchor="middle" font-size="10">{}</text>"#,
                x(t),
                axis + 12.0,
                time(t)
            );
        }
    }
    o.push_str("</svg>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::scheduler::simulate;
    use crate::kernel::scheduler::tests::e1;

    #[test]
    fn chart_rows_show_running_and_waiting() {
        let jobs = e1();
        let s = simulate(&jobs, Policy::Fifo, 0.0).unwrap();
        let chart = text_chart(&jobs, &s);
        assert!(chart.starts_with("  A 0-40, B 40-60, C 60-70\n"), "{chart}");
        let c_row = chart
            .lines()
            .find(|l| l.trim_start().starts_with("C |"))
            .unwrap();
        assert_eq!(
            c_row.trim_start(),
            format!("C |{}{}{}|", " ".repeat(5), ".".repeat(55), "#".repeat(10))
        );
    }

    #[test]
    fn svg_has_a_bar_per_slot() {
        let jobs = e1();
        let s = simulate(&jobs, Policy::RoundRobin { quantum: 5.0 }, 0.0).unwrap();
        let pic = svg(&jobs, &[(Policy::RoundRobin { quantum: 5.0 }, s)]);
        // 11 merged runs: A's last four quanta are one bar.
        assert_eq!(pic.matches("<rect").count(), 11);
        assert!(pic.starts_with("<svg") && pic.ends_with("</svg>\n"));
    }

    #[test]
    fn times_print_plainly() {
        assert_eq!(time(5.0), "5");
        assert_eq!(time(2.5), "2.5");
        assert_eq!(time_json(70.0), json!(70));
    }
}
