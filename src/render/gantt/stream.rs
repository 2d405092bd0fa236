//! The text chart, metrics table and JSON records of a schedule, written as
//! its timeline streams by: nothing here keeps the slots, so a run of any
//! length renders in memory O(jobs) (the chart's grid is at most 70 columns
//! per job). The text chart needs the run's end time for its scale: take it
//! from a first pass over the timeline (see `vmlab sched`).

use super::{label, time, time_json};
use crate::kernel::scheduler::{Job, JobStats, Policy, Slot, SlotKind, averages, averages_text};
use serde_json::{Value, json};
use std::io::{self, Write};

/// The widest chart: at most this many columns.
const MAX_COLUMNS: f64 = 70.0;

/// The rows of a text Gantt chart, filled in slot by slot: one row per job
/// (`#` running, `.` ready but waiting, blank before arrival and after
/// completion), and a `switch` row when a switch happened.
#[derive(Clone, Debug)]
pub struct Chart {
    /// Time units per column.
    scale: f64,
    columns: usize,
    /// `running[job * columns + c]`: the job ran at some time in column c.
    running: Vec<bool>,
    /// A switch happened at some time in column c.
    switching: Vec<bool>,
    end: f64,
}

impl Chart {
    /// An empty chart of `jobs` jobs over `[0, end)`: one column per time
    /// unit, or per a whole number of units so that it stays within 70
    /// columns.
    pub fn new(jobs: usize, end: f64) -> Chart {
        let scale = (end / MAX_COLUMNS).ceil().max(1.0);
        let columns = if end > 0.0 {
            ((end / scale).ceil() as usize).max(1)
        } else {
            0
        };
        Chart {
            scale,
            columns,
            running: vec![false; jobs.saturating_mul(columns)],
            switching: vec![false; columns],
            end,
        }
    }

    /// The columns `[from, to)` of column `c`.
    fn span(&self, c: usize) -> (f64, f64) {
        (c as f64 * self.scale, (c as f64 + 1.0) * self.scale)
    }

    /// Marks the columns `slot` shows in (a column shows what happened at
    /// any time inside it). Costs O(columns it covers).
    pub fn add(&mut self, slot: &Slot) {
        if self.columns == 0 {
            return;
        }
        // The candidate columns, one wider on each side; the exact test
        // below decides (as a per-column scan would).
        let first = ((slot.start / self.scale).floor().max(0.0) as usize).saturating_sub(1);
        let last = ((slot.end / self.scale).ceil().max(0.0) as usize).min(self.columns - 1);
        for c in first..=last {
            let (from, to) = self.span(c);
            if slot.start < to && from < slot.end {
                match slot.kind {
                    SlotKind::Run(j) => {
                        if let Some(cell) = self.running.get_mut(j * self.columns + c) {
                            *cell = true;
                        }
                    }
                    SlotKind::Switch => self.switching[c] = true,
                    SlotKind::Idle => {}
                }
            }
        }
    }

    /// Writes the rows, the time axis and the legend, `stats` giving each
    /// job's completion.
    pub fn write(&self, out: &mut dyn Write, jobs: &[Job], stats: &[JobStats]) -> io::Result<()> {
        if self.columns == 0 {
            return Ok(());
        }
        let name_width = jobs.iter().map(|j| j.name.len()).max().unwrap_or(1).max(6);
        writeln!(out)?;
        let mut row = String::with_capacity(self.columns);
        for (j, (job, st)) in jobs.iter().zip(stats).enumerate() {
            row.clear();
            for c in 0..self.columns {
                let (from, to) = self.span(c);
                // Running wins over waiting.
                row.push(if self.running[j * self.columns + c] {
                    '#'
                } else if job.arrival < to && from < st.completion {
                    '.'
                } else {
                    ' '
                });
            }
            writeln!(out, "  {:>w$} |{row}|", job.name, w = name_width)?;
        }
        if self.switching.iter().any(|&s| s) {
            let row: String = self
                .switching
                .iter()
                .map(|&s| if s { 'x' } else { ' ' })
                .collect();
            writeln!(out, "  {:>w$} |{row}|", "switch", w = name_width)?;
        }
        writeln!(
            out,
            "  {:>w$}  0{:>r$}",
            "time",
            time(self.end),
            w = name_width,
            r = self.columns.max(2)
        )?;
        writeln!(
            out,
            "  (# running, . waiting; one column = {} time unit{})",
            time(self.scale),
            if self.scale == 1.0 { "" } else { "s" }
        )
    }
}

/// Writes the text chart of a timeline: the slot sequence (`  A 0-5, B
/// 5-10, ...`) as the slots come, then the rows. `end` is the time the last
/// slot ends, `stats` the jobs' metrics (both from a first pass).
pub fn write_chart(
    out: &mut dyn Write,
    jobs: &[Job],
    slots: impl IntoIterator<Item = Slot>,
    end: f64,
    stats: &[JobStats],
) -> io::Result<()> {
    let mut chart = Chart::new(jobs.len(), end);
    let mut num = itoa::Buffer::new();
    let mut item: Vec<u8> = Vec::with_capacity(64);
    out.write_all(b"  ")?;
    for (i, slot) in slots.into_iter().enumerate() {
        // `A 0-5`, built in a reused buffer (a run may have millions).
        item.clear();
        if i > 0 {
            item.extend_from_slice(b", ");
        }
        item.extend_from_slice(label(jobs, slot.kind).as_bytes());
        item.push(b' ');
        push_time(&mut item, slot.start, &mut num);
        item.push(b'-');
        push_time(&mut item, slot.end, &mut num);
        out.write_all(&item)?;
        chart.add(&slot);
    }
    writeln!(out)?;
    chart.write(out, jobs, stats)
}

/// Appends a time as [`time`] writes it, without allocating for the whole
/// numbers of a typical run.
fn push_time(buf: &mut Vec<u8>, x: f64, num: &mut itoa::Buffer) {
    if x.fract() == 0.0 && x.abs() < 1e15 && !(x == 0.0 && x.is_sign_negative()) {
        buf.extend_from_slice(num.format(x as i64).as_bytes());
    } else {
        buf.extend_from_slice(time(x).as_bytes());
    }
}

/// One job's row of the metrics table: name, arrival, runtime, first run,
/// completion, turnaround, response and wait, as the text and the picture
/// print them.
pub fn metric_cells(job: &Job, st: &JobStats) -> [String; 8] {
    [
        job.name.clone(),
        time(job.arrival),
        time(job.runtime),
        time(st.first_run),
        time(st.completion),
        time(st.turnaround),
        time(st.response),
        time(st.wait),
    ]
}

/// Writes the metrics table: per job and the averages (2 decimals).
pub fn write_metrics(out: &mut dyn Write, jobs: &[Job], stats: &[JobStats]) -> io::Result<()> {
    writeln!(
        out,
        "  {:<6} {:>7} {:>7} {:>9} {:>10} {:>10} {:>8} {:>6}",
        "job", "arrival", "runtime", "first run", "completion", "turnaround", "response", "wait"
    )?;
    for (job, st) in jobs.iter().zip(stats) {
        let [n, a, rt, f, c, t, r, w] = metric_cells(job, st);
        writeln!(
            out,
            "  {n:<6} {a:>7} {rt:>7} {f:>9} {c:>10} {t:>10} {r:>8} {w:>6}"
        )?;
    }
    let [t, r, w] = averages_text(stats);
    writeln!(
        out,
        "  {:<6} {:>7} {:>7} {:>9} {:>10} {:>10} {:>8} {:>6}",
        "avg", "", "", "", "", t, r, w
    )
}

/// The JSON record of one slot (`slot`, `switch` or `idle`), with `policy`.
pub fn slot_json(jobs: &[Job], policy: Policy, slot: &Slot) -> Value {
    let p = policy.name();
    let (start, end) = (time_json(slot.start), time_json(slot.end));
    match slot.kind {
        SlotKind::Run(j) => {
            json!({"kind": "slot", "policy": p, "job": jobs[j].name, "start": start, "end": end})
        }
        SlotKind::Switch => json!({"kind": "switch", "policy": p, "start": start, "end": end}),
        SlotKind::Idle => json!({"kind": "idle", "policy": p, "start": start, "end": end}),
    }
}

/// The JSON records after the slots: one `job` per job, then `average`.
pub fn stats_json(jobs: &[Job], policy: Policy, stats: &[JobStats]) -> Vec<Value> {
    let p = policy.name();
    let mut v: Vec<Value> = jobs
        .iter()
        .zip(stats)
        .map(|(job, st)| {
            json!({"kind": "job", "policy": p, "job": job.name,
                "arrival": time_json(job.arrival), "runtime": time_json(job.runtime),
                "first_run": time_json(st.first_run), "completion": time_json(st.completion),
                "turnaround": time_json(st.turnaround), "response": time_json(st.response),
                "wait": time_json(st.wait)})
        })
        .collect();
    let (t, r, w) = averages(stats);
    v.push(
        json!({"kind": "average", "policy": p, "turnaround": time_json(t),
        "response": time_json(r), "wait": time_json(w)}),
    );
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::scheduler::tests::e1;
    use crate::kernel::scheduler::{Timeline, simulate};

    /// The rows as the chart's definition says: a column shows `#` when
    /// any slot of the job overlaps it (a scan of every slot per column).
    fn rows_by_definition(jobs: &[Job], slots: &[Slot], stats: &[JobStats]) -> Vec<String> {
        let end = slots.last().map_or(0.0, |s| s.end);
        let scale = (end / 70.0).ceil().max(1.0);
        let columns = ((end / scale).ceil() as usize).max(1);
        (0..jobs.len())
            .map(|j| {
                (0..columns)
                    .map(|c| {
                        let (from, to) = (c as f64 * scale, (c as f64 + 1.0) * scale);
                        if slots
                            .iter()
                            .any(|s| s.kind == SlotKind::Run(j) && s.start < to && from < s.end)
                        {
                            '#'
                        } else if jobs[j].arrival < to && from < stats[j].completion {
                            '.'
                        } else {
                            ' '
                        }
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn streamed_rows_match_the_definition() {
        // Fractional times too: the library's scheduler takes any time.
        let jobs: Vec<Job> = [("A", 0.0, 40.0), ("B", 0.0, 20.0), ("C", 5.0, 10.0)]
            .into_iter()
            .chain([("D", 90.0, 3.5), ("E", 100.0, 300.0)])
            .map(|(name, arrival, runtime)| Job {
                name: name.to_string(),
                arrival,
                runtime,
            })
            .collect();
        for policy in [
            Policy::Fifo,
            Policy::Stcf,
            Policy::RoundRobin { quantum: 2.5 },
        ] {
            for cost in [0.0, 1.0] {
                let s = simulate(&jobs, policy, cost).unwrap();
                let end = s.slots.last().unwrap().end;
                let mut streamed = Vec::new();
                let timeline = Timeline::new(&jobs, policy, cost).unwrap();
                write_chart(&mut streamed, &jobs, timeline, end, &s.stats).unwrap();
                let text = String::from_utf8(streamed).unwrap();
                let rows: Vec<String> = text
                    .lines()
                    .skip(2)
                    .take(jobs.len())
                    .map(|l| l.split('|').nth(1).unwrap().to_string())
                    .collect();
                assert_eq!(
                    rows,
                    rows_by_definition(&jobs, &s.slots, &s.stats),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn times_are_written_as_time_writes_them() {
        let mut num = itoa::Buffer::new();
        for x in [0.0, -0.0, 5.0, 2.5, 1e15, 123456789.0, 0.1 + 0.2, 1e300] {
            let mut buf = Vec::new();
            push_time(&mut buf, x, &mut num);
            assert_eq!(String::from_utf8(buf).unwrap(), time(x), "{x}");
        }
    }

    #[test]
    fn merged_rr_runs_read_as_one_stretch() {
        let jobs = e1();
        let s = simulate(&jobs, Policy::RoundRobin { quantum: 5.0 }, 0.0).unwrap();
        let chart = super::super::text_chart(&jobs, &s);
        assert!(
            chart.starts_with("  A 0-5, B 5-10, C 10-15, A 15-20, B 20-25, C 25-30, A 30-35, B 35-40, A 40-45, B 45-50, A 50-70\n"),
            "{chart}"
        );
    }
}
