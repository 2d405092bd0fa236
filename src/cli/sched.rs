//! `vmlab sched`: the CPU-scheduling review as a workload tool (lecture E1).
//! Jobs `name:arrival:runtime` run under FIFO, SJF, STCF or RR (or all four)
//! on the kernel's scheduler; prints the timeline as a Gantt chart and each
//! job's turnaround, response and wait, or JSON records, or an SVG picture.

use super::{CliError, CmdResult};
use crate::kernel::scheduler::{
    Job, MAX_TIME, Policy, Schedule, Timeline, averages_text, simulate, whole_time,
};
use crate::render::gantt::{self, stream};
use std::io::Write;

/// Flags of `vmlab sched`.
#[derive(clap::Args, Debug)]
#[command(
    allow_negative_numbers = true,
    after_help = "\
Examples (lecture E1):
  vmlab sched --jobs A:0:40,B:0:20,C:5:10 --policy rr --quantum 5
  vmlab sched --policy all --quantum 5 --svg e1.svg

Ties go to the job listed first; under RR, jobs arriving at time t enter the
queue before the job preempted at t."
)]
pub struct Args {
    /// The workload: comma-separated NAME:ARRIVAL:RUNTIME.
    #[arg(long, default_value = "A:0:40,B:0:20,C:5:10", value_name = "JOBS")]
    jobs: String,
    /// fifo, sjf, stcf, rr, or all (the four one after the other, then a
    /// comparison).
    #[arg(long, default_value = "fifo", value_name = "POLICY")]
    policy: String,
    /// The RR time slice.
    #[arg(long, default_value = "1", value_name = "TIME")]
    quantum: String,
    /// Time charged whenever the CPU passes from one job to another.
    #[arg(long, default_value = "0", value_name = "TIME")]
    switch_cost: String,
    /// Print JSON records (slot, switch, idle, job, average) instead of text.
    #[arg(long)]
    json: bool,
    /// Also write an SVG Gantt chart to FILE.
    #[arg(long, value_name = "FILE")]
    svg: Option<std::path::PathBuf>,
}

/// Refuses a workload whose schedule could end after [`MAX_TIME`] under
/// `policy`: the end is at most the last arrival, plus every runtime, plus a
/// switch cost for each run (a job runs at most once per quantum under RR,
/// at most twice under STCF, which stops only at arrivals, else once).
fn check_horizon(jobs: &[Job], policy: Policy, switch_cost: u64) -> Result<(), CliError> {
    let whole = |t: f64| t as u128;
    let last_arrival = jobs.iter().map(|j| whole(j.arrival)).max().unwrap_or(0);
    let work: u128 = jobs.iter().map(|j| whole(j.runtime)).sum();
    let runs: u128 = match policy {
        Policy::RoundRobin { quantum } => jobs
            .iter()
            .map(|j| whole(j.runtime).div_ceil(whole(quantum).max(1)).max(1))
            .sum(),
        Policy::Stcf => 2 * jobs.len() as u128,
        Policy::Fifo | Policy::Sjf => jobs.len() as u128,
    };
    let end = runs
        .checked_mul(u128::from(switch_cost))
        .and_then(|s| s.checked_add(last_arrival + work));
    if end.is_none_or(|e| e > u128::from(MAX_TIME)) {
        return Err(CliError::input(format!(
            "--jobs: under {} the schedule could end after 2^53 = {MAX_TIME}, the latest time vmlab sched keeps exact (shorten the jobs{})",
            policy.name(),
            if switch_cost > 0 {
                " or the switch cost"
            } else {
                ""
            }
        )));
    }
    Ok(())
}

/// The policies named by `--policy`.
fn parse_policies(text: &str, quantum: f64) -> Result<Vec<Policy>, CliError> {
    let rr = Policy::RoundRobin { quantum };
    Ok(match text.to_ascii_lowercase().as_str() {
        "fifo" => vec![Policy::Fifo],
        "sjf" => vec![Policy::Sjf],
        "stcf" => vec![Policy::Stcf],
        "rr" => vec![rr],
        "all" => vec![Policy::Fifo, Policy::Sjf, Policy::Stcf, rr],
        _ => {
            return Err(CliError::input(format!(
                "--policy: unknown policy '{text}' (fifo, sjf, stcf, rr or all)"
            )));
        }
    })
}

/// The validated workload, policies and switch cost of `args`; every
/// policy's workload is checked, so nothing is written for bad input.
fn prepare(args: &Args) -> Result<(Vec<Job>, Vec<Policy>, f64), CliError> {
    // Integer time throughout: whole numbers up to 2^53, which the
    // scheduler's arithmetic holds exactly.
    let jobs = Job::parse_list(&args.jobs).map_err(|e| CliError::input(format!("--jobs: {e}")))?;
    let quantum = whole_time("the quantum", &args.quantum)
        .map_err(|e| CliError::input(format!("--quantum: {e}")))?;
    let switch_cost = whole_time("the switch cost", &args.switch_cost)
        .map_err(|e| CliError::input(format!("--switch-cost: {e}")))?;
    let policies = parse_policies(&args.policy, quantum as f64)?;
    for &p in &policies {
        check_horizon(&jobs, p, switch_cost)?;
    }
    let switch_cost = switch_cost as f64;
    for &p in &policies {
        Timeline::new(&jobs, p, switch_cost).map_err(CliError::input)?;
    }
    Ok((jobs, policies, switch_cost))
}

/// The Gantt picture of validated input: it needs every run at once, so it
/// takes the stored schedules (merged runs, O(context switches)).
fn picture(jobs: &[Job], policies: &[Policy], switch_cost: f64) -> Result<String, CliError> {
    let runs: Vec<(Policy, Schedule)> = policies
        .iter()
        .map(|&p| simulate(jobs, p, switch_cost).map(|s| (p, s)))
        .collect::<Result<_, _>>()
        .map_err(CliError::input)?;
    Ok(gantt::svg(jobs, &runs))
}

/// The Gantt picture `--svg` writes (arrivals, waiting, idle time, legend,
/// time axis and metrics table), for the flags in `args`; bad flags are a
/// [`CliError::Input`] as for `vmlab sched`.
pub fn svg(args: &Args) -> Result<String, CliError> {
    let (jobs, policies, switch_cost) = prepare(args)?;
    picture(&jobs, &policies, switch_cost)
}

/// Runs `vmlab sched`.
pub fn run(args: Args, out: &mut dyn Write) -> CmdResult {
    let (jobs, policies, switch_cost) = prepare(&args)?;
    let timeline = |p: Policy| Timeline::new(&jobs, p, switch_cost).map_err(CliError::input);

    if let Some(path) = &args.svg {
        super::write_svg(path, &picture(&jobs, &policies, switch_cost)?)?;
    }
    // The text and JSON stream the timeline: memory O(jobs), however many
    // slots the run has.
    if args.json {
        for &p in &policies {
            let mut t = timeline(p)?;
            for slot in t.by_ref() {
                writeln!(out, "{}", stream::slot_json(&jobs, p, &slot))?;
            }
            for r in stream::stats_json(&jobs, p, &t.stats()) {
                writeln!(out, "{r}")?;
            }
        }
        return Ok(0);
    }
    let workload: Vec<String> = jobs
        .iter()
        .map(|j| {
            format!(
                "{} (arrives {}, runs {})",
                j.name,
                gantt::time(j.arrival),
                gantt::time(j.runtime)
            )
        })
        .collect();
    writeln!(out, "Jobs: {}", workload.join(", "))?;
    if switch_cost > 0.0 {
        writeln!(out, "Context switch cost: {}", gantt::time(switch_cost))?;
    }
    let mut compared = Vec::new();
    for &p in &policies {
        // A first pass finds when the run ends (the chart's scale) and the
        // metrics; the second writes the slots as they come.
        let mut first = timeline(p)?;
        let end = first.by_ref().fold(0.0, |_, slot| slot.end);
        let stats = first.stats();
        writeln!(out)?;
        writeln!(out, "{}", gantt::title(p))?;
        stream::write_chart(out, &jobs, timeline(p)?, end, &stats)?;
        writeln!(out)?;
        stream::write_metrics(out, &jobs, &stats)?;
        compared.push((p, averages_text(&stats)));
    }
    if compared.len() > 1 {
        writeln!(out)?;
        writeln!(out, "Comparison (averages)")?;
        writeln!(
            out,
            "  {:<16} {:>10} {:>8} {:>6}",
            "policy", "turnaround", "response", "wait"
        )?;
        for (p, [t, r, w]) in compared {
            writeln!(out, "  {:<16} {t:>10} {r:>8} {w:>6}", gantt::title(p))?;
        }
    }
    Ok(0)
}
