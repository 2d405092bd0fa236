//! `vmlab sched`: the CPU-scheduling review as a workload tool (lecture E1).
//! Jobs `name:arrival:runtime` run under FIFO, SJF, STCF or RR (or all four)
//! on the kernel's scheduler; prints the timeline as a Gantt chart and each
//! job's turnaround, response and wait, or JSON records, or an SVG picture.

use super::{CliError, CmdResult};
use crate::homework::pyvalue::parse_float;
use crate::kernel::scheduler::{Job, Policy, Schedule, simulate};
use crate::render::gantt;
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

/// The workload, its schedule under each policy, and the switch cost.
type Schedules = (Vec<Job>, Vec<(Policy, Schedule)>, f64);

/// The workload and its schedules under each policy `args` names.
fn schedules(args: &Args) -> Result<Schedules, CliError> {
    let jobs = Job::parse_list(&args.jobs).map_err(|e| CliError::input(format!("--jobs: {e}")))?;
    let quantum = parse_float(&args.quantum)
        .ok_or_else(|| CliError::input(format!("--quantum: '{}' is not a number", args.quantum)))?;
    let switch_cost = parse_float(&args.switch_cost).ok_or_else(|| {
        CliError::input(format!(
            "--switch-cost: '{}' is not a number",
            args.switch_cost
        ))
    })?;
    let policies = parse_policies(&args.policy, quantum)?;
    let runs: Vec<(Policy, Schedule)> = policies
        .into_iter()
        .map(|p| simulate(&jobs, p, switch_cost).map(|s| (p, s)))
        .collect::<Result<_, _>>()
        .map_err(CliError::input)?;
    Ok((jobs, runs, switch_cost))
}

/// The Gantt picture `--svg` writes (arrivals, waiting, idle time, legend,
/// time axis and metrics table), for the flags in `args`; bad flags are a
/// [`CliError::Input`] as for `vmlab sched`.
pub fn svg(args: &Args) -> Result<String, CliError> {
    let (jobs, runs, _) = schedules(args)?;
    Ok(gantt::svg(&jobs, &runs))
}

/// Runs `vmlab sched`.
pub fn run(args: Args, out: &mut dyn Write) -> CmdResult {
    let (jobs, runs, switch_cost) = schedules(&args)?;
    if let Some(path) = &args.svg {
        super::write_svg(path, &gantt::svg(&jobs, &runs))?;
    }
    if args.json {
        for (p, s) in &runs {
            for r in gantt::json_records(&jobs, *p, s) {
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
    for (p, s) in &runs {
        writeln!(out)?;
        writeln!(out, "{}", gantt::title(*p))?;
        write!(out, "{}", gantt::text_chart(&jobs, s))?;
        writeln!(out)?;
        write!(out, "{}", gantt::metrics_table(&jobs, s))?;
    }
    if runs.len() > 1 {
        writeln!(out)?;
        writeln!(out, "Comparison (averages)")?;
        writeln!(
            out,
            "  {:<16} {:>10} {:>8} {:>6}",
            "policy", "turnaround", "response", "wait"
        )?;
        for (p, s) in &runs {
            let (t, r, w) = s.averages();
            writeln!(
                out,
                "  {:<16} {t:>10.2} {r:>8.2} {w:>6.2}",
                gantt::title(*p)
            )?;
        }
    }
    Ok(0)
}
