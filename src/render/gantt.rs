//! Gantt charts of a schedule (lecture E1): the slot sequence, a text chart
//! with one row per job, the metrics table, JSON records and an SVG picture.

use crate::kernel::scheduler::{Job, Policy, Schedule, SlotKind};
use serde_json::{Value, json};

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

/// An SVG Gantt chart (one section per policy): one lane per job with its
/// arrival marked, its waiting time hatched and its slots as bars, the
/// switches and idle time on their own lane, a time axis with a tick at
/// every slot boundary, a legend, and the metrics table.
pub fn svg(jobs: &[Job], runs: &[(Policy, Schedule)]) -> String {
    use super::svg::{FAULT, FREE, Svg, process_fill};
    let end = runs
        .iter()
        .filter_map(|(_, s)| s.slots.last().map(|sl| sl.end))
        .fold(0.0f64, f64::max)
        .max(1.0);
    let (left, lane, width) = (110.0, 24.0, 640.0);
    let x = |t: f64| left + t / end * width;
    let table_h = 18.0 * (jobs.len() as f64 + 2.0);
    let block = (jobs.len() as f64 + 1.0) * lane + 60.0 + table_h;
    let mut o = Svg::new(
        left + width + 40.0,
        block * runs.len() as f64 + 60.0,
        "CPU scheduling: Gantt chart and metrics",
    );
    for (k, (policy, s)) in runs.iter().enumerate() {
        let top = k as f64 * block + 22.0;
        o.item(&title(*policy), &[("policy", policy.name().to_string())]);
        o.text(4.0, top, &title(*policy), "start", 14.0, true);
        o.end();
        for (j, job) in jobs.iter().enumerate() {
            let y = top + 10.0 + j as f64 * lane;
            let st = &s.stats[j];
            o.item(
                &format!(
                    "{}: arrives at {}, runs {}, completes at {}",
                    job.name,
                    time(job.arrival),
                    time(job.runtime),
                    time(st.completion)
                ),
                &[("job", job.name.clone()), ("kind", "lane".into())],
            );
            o.text(4.0, y + 16.0, &job.name, "start", 12.0, false);
            o.end();
            // Waiting: from arrival to completion, under the run bars.
            o.item(
                &format!("{} waits {} in total (hatched)", job.name, time(st.wait)),
                &[
                    ("job", job.name.clone()),
                    ("kind", "wait".into()),
                    ("start", time(job.arrival)),
                    ("end", time(st.completion)),
                ],
            );
            o.rect(
                x(job.arrival),
                y + 5.0,
                x(st.completion) - x(job.arrival),
                lane - 14.0,
                FREE,
                0.5,
            );
            o.end();
            for sl in s.slots.iter().filter(|sl| sl.kind == SlotKind::Run(j)) {
                o.item(
                    &format!("{} runs {}-{}", job.name, time(sl.start), time(sl.end)),
                    &[
                        ("job", job.name.clone()),
                        ("kind", "run".into()),
                        ("start", time(sl.start)),
                        ("end", time(sl.end)),
                    ],
                );
                o.rect(
                    x(sl.start),
                    y,
                    x(sl.end) - x(sl.start),
                    lane - 4.0,
                    process_fill(j),
                    1.0,
                );
                if x(sl.end) - x(sl.start) > 7.0 * job.name.len() as f64 + 4.0 {
                    o.text(
                        (x(sl.start) + x(sl.end)) / 2.0,
                        y + 15.0,
                        &job.name,
                        "middle",
                        11.0,
                        false,
                    );
                }
                o.end();
            }
            // The arrival: a mark on the lane.
            o.item(
                &format!("{} arrives at {}", job.name, time(job.arrival)),
                &[
                    ("job", job.name.clone()),
                    ("kind", "arrival".into()),
                    ("at", time(job.arrival)),
                ],
            );
            o.line(
                x(job.arrival),
                y - 3.0,
                x(job.arrival),
                y + lane - 1.0,
                2.5,
                "",
            );
            o.text(
                x(job.arrival) + 2.0,
                y - 1.0,
                "arrives",
                "start",
                8.0,
                false,
            );
            o.end();
        }
        // Switches and idle time on their own lane.
        let y = top + 10.0 + jobs.len() as f64 * lane;
        o.item("switch and idle lane", &[]);
        o.text(4.0, y + 12.0, "switch/idle", "start", 11.0, false);
        o.end();
        for sl in &s.slots {
            let (what, fill) = match sl.kind {
                SlotKind::Switch => ("switch", FAULT),
                SlotKind::Idle => ("idle", "#ffffff"),
                SlotKind::Run(_) => continue,
            };
            o.item(
                &format!("{what} {}-{}", time(sl.start), time(sl.end)),
                &[
                    ("kind", what.into()),
                    ("start", time(sl.start)),
                    ("end", time(sl.end)),
                ],
            );
            o.rect(
                x(sl.start),
                y + 2.0,
                x(sl.end) - x(sl.start),
                14.0,
                fill,
                1.0,
            );
            o.end();
        }
        // The time axis, a tick at every slot boundary.
        let axis = y + lane;
        o.item("time axis", &[]);
        o.line(left, axis, left + width, axis, 1.0, "");
        let mut ticks: Vec<f64> = s.slots.iter().map(|sl| sl.end).collect();
        ticks.insert(0, 0.0);
        ticks.dedup();
        let mut last_label = f64::NEG_INFINITY;
        for t in ticks {
            o.line(x(t), axis, x(t), axis + 4.0, 1.0, "");
            // Labels only where they do not run into the previous one.
            if x(t) - last_label >= 18.0 {
                o.text(x(t), axis + 14.0, &time(t), "middle", 10.0, false);
                last_label = x(t);
            }
        }
        o.text(left + width + 4.0, axis + 4.0, "time", "start", 10.0, false);
        o.end();
        // The metrics table.
        let mut ty = axis + 36.0;
        o.item(
            &format!("metrics under {}", title(*policy)),
            &[("kind", "metrics".into())],
        );
        o.mono(
            4.0,
            ty,
            &format!(
                "{:<8}{:>9}{:>9}{:>11}{:>12}{:>12}{:>10}{:>8}",
                "job",
                "arrival",
                "runtime",
                "first run",
                "completion",
                "turnaround",
                "response",
                "wait"
            ),
            "start",
            11.0,
        );
        for (job, st) in jobs.iter().zip(&s.stats) {
            ty += 16.0;
            o.mono(
                4.0,
                ty,
                &{
                    let [n, a, rt, f, c, t, r, w] = stream::metric_cells(job, st);
                    format!("{n:<8}{a:>9}{rt:>9}{f:>11}{c:>12}{t:>12}{r:>10}{w:>8}")
                },
                "start",
                11.0,
            );
        }
        // The exact averages, as the text table prints them.
        let [t, r, w] = s.averages_text();
        ty += 16.0;
        o.mono(
            4.0,
            ty,
            &format!(
                "{:<8}{:>9}{:>9}{:>11}{:>12}{:>12}{:>10}{:>8}",
                "average", "", "", "", "", t, r, w
            ),
            "start",
            11.0,
        );
        o.end();
    }
    // The legend.
    let y = block * runs.len() as f64 + 20.0;
    o.item("legend", &[]);
    o.rect(4.0, y, 16.0, 12.0, process_fill(0), 1.0);
    o.text(24.0, y + 10.0, "running", "start", 11.0, false);
    o.rect(90.0, y, 16.0, 12.0, FREE, 0.5);
    o.text(
        110.0,
        y + 10.0,
        "waiting (ready, not running)",
        "start",
        11.0,
        false,
    );
    o.line(290.0, y - 2.0, 290.0, y + 14.0, 2.5, "");
    o.text(296.0, y + 10.0, "arrival", "start", 11.0, false);
    o.rect(350.0, y, 16.0, 12.0, FAULT, 1.0);
    o.text(370.0, y + 10.0, "context switch", "start", 11.0, false);
    o.rect(470.0, y, 16.0, 12.0, "#ffffff", 1.0);
    o.text(490.0, y + 10.0, "idle", "start", 11.0, false);
    o.end();
    o.finish()
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
        let pic = svg(&jobs, &[(Policy::RoundRobin { quantum: 5.0 }, s.clone())]);
        let doc = crate::render::svg::tests::parse(&pic);
        crate::render::svg::tests::every_shape_has_a_title(&doc);
        let runs: Vec<(String, String, String)> = doc
            .descendants()
            .filter(|n| n.attribute("data-kind") == Some("run"))
            .map(|n| {
                let a = |k| n.attribute(k).unwrap().to_string();
                (a("data-job"), a("data-start"), a("data-end"))
            })
            .collect();
        // 11 merged runs: A's last four quanta are one bar.
        assert_eq!(runs.len(), 11);
        // The bars are the schedule's slots, job by job.
        let mut want: Vec<(String, String, String)> = Vec::new();
        for (j, job) in jobs.iter().enumerate() {
            for sl in s.slots.iter().filter(|sl| sl.kind == SlotKind::Run(j)) {
                want.push((job.name.clone(), time(sl.start), time(sl.end)));
            }
        }
        assert_eq!(runs, want);
        assert!(
            runs.contains(&("C".into(), "10".into(), "15".into())),
            "{runs:?}"
        );
        // C arrives at 5 and waits.
        let arrivals: Vec<&str> = doc
            .descendants()
            .filter(|n| n.attribute("data-kind") == Some("arrival"))
            .filter_map(|n| n.attribute("data-at"))
            .collect();
        assert_eq!(arrivals, ["0", "0", "5"]);
        assert!(pic.contains("turnaround"));
    }

    #[test]
    fn times_print_plainly() {
        assert_eq!(time(5.0), "5");
        assert_eq!(time(2.5), "2.5");
        assert_eq!(time_json(70.0), json!(70));
    }
}
