//! `vmlab scheduler`: a drop-in for OSTEP's scheduler.py (same flags, same
//! jobs, same answers, byte for byte), scheduling on the kernel's scheduler;
//! `--json` prints one record per time slice, per job and the averages.

use super::{CliError, CmdResult};
use crate::homework::pyvalue::{float_repr, percent_d, push_fixed2, push_percent_d};
use crate::homework::scheduler::{self as hw, Answer, JobSource};
use crate::kernel::scheduler::{Job, Policy, Slice, Slices, SlotKind};
use std::io::Write;

/// Flags of `vmlab scheduler` (scheduler.py's, in every optparse form).
#[derive(clap::Args, Debug)]
#[command(
    allow_negative_numbers = true,
    infer_long_args = true,
    args_override_self = true,
    after_help = "Example: vmlab scheduler -p RR -q 5 -l 40,20,10 -c"
)]
pub struct Args {
    /// The random seed.
    #[arg(
        short = 's',
        long = "seed",
        default_value = "0",
        allow_hyphen_values = true
    )]
    seed: String,
    /// Number of jobs in the system.
    #[arg(
        short = 'j',
        long = "jobs",
        default_value = "3",
        allow_hyphen_values = true
    )]
    jobs: String,
    /// Instead of random jobs, a comma-separated list of run times.
    #[arg(
        short = 'l',
        long = "jlist",
        default_value = "",
        allow_hyphen_values = true
    )]
    jlist: String,
    /// Max length of a job.
    #[arg(
        short = 'm',
        long = "maxlen",
        default_value = "10",
        allow_hyphen_values = true
    )]
    maxlen: String,
    /// Sched policy to use: SJF, FIFO, RR (any case).
    #[arg(short = 'p', long = "policy", default_value = "FIFO")]
    policy: String,
    /// Length of time slice for RR policy.
    #[arg(
        short = 'q',
        long = "quantum",
        default_value = "1",
        allow_hyphen_values = true
    )]
    quantum: String,
    /// Compute answers for me.
    #[arg(short = 'c')]
    compute: bool,
    /// Print the solution as JSON records: one per slice, per job, and the averages.
    #[arg(long)]
    json: bool,
    /// Ignored, as scheduler.py ignores extra arguments.
    #[arg(hide = true)]
    extra: Vec<String>,
}

/// Reads an optparse `int` flag, erring as scheduler.py's optparse does.
fn int(flag: &str, text: &str) -> Result<i128, CliError> {
    super::ostep::optparse_int_flag("scheduler", flag, text)
}

/// A policy name scheduler.py knows, in any case.
fn known_policy(name: &str, quantum: i128) -> Option<Policy> {
    match name.to_ascii_uppercase().as_str() {
        "FIFO" => Some(Policy::Fifo),
        "SJF" => Some(Policy::Sjf),
        "RR" => Some(Policy::RoundRobin {
            quantum: quantum as f64,
        }),
        _ => None,
    }
}

/// Runs `vmlab scheduler`.
pub fn run(args: Args, out: &mut dyn Write) -> CmdResult {
    let seed = int("-s", &args.seed)?;
    let jobs = int("-j", &args.jobs)?;
    let maxlen = int("-m", &args.maxlen)?;
    let quantum = int("-q", &args.quantum)?;
    let source = if args.jlist.is_empty() {
        if jobs < 1 {
            return Err(CliError::input(format!(
                "scheduler: option -j: need at least one job (got {jobs})"
            )));
        }
        if jobs > i128::from(hw::MAX_JOBS) {
            return Err(CliError::input(format!(
                "scheduler: option -j: at most {} jobs (got {jobs}; each job is kept in memory, as scheduler.py keeps it in a list)",
                hw::MAX_JOBS
            )));
        }
        if !(0..=1i128 << 53).contains(&maxlen) {
            return Err(CliError::input(format!(
                "scheduler: option -m: the max length must be between 0 and 2^53 (got {maxlen})"
            )));
        }
        JobSource::Random {
            jobs: u64::try_from(jobs).map_err(CliError::input)?,
            maxlen,
            seed,
        }
    } else {
        JobSource::List(
            hw::parse_jlist(&args.jlist).map_err(|e| CliError::input(format!("scheduler: {e}")))?,
        )
    };
    let policy = known_policy(&args.policy, quantum);
    if matches!(policy, Some(Policy::RoundRobin { .. }))
        && quantum < 1
        && (args.compute || args.json)
    {
        return Err(CliError::input(format!(
            "scheduler: option -q: the RR time slice must be >= 1 (got {quantum}; scheduler.py loops forever)"
        )));
    }
    let runtimes = hw::runtimes(&source);

    if args.json {
        let policy = policy.ok_or_else(|| {
            CliError::input(format!(
                "scheduler: option -p: unknown policy '{}' (FIFO, SJF or RR)",
                args.policy
            ))
        })?;
        json(out, &runtimes, policy)?;
        return Ok(0);
    }

    // The problem, as scheduler.py prints it.
    writeln!(out, "ARG policy {}", args.policy)?;
    match &source {
        JobSource::Random { jobs, maxlen, seed } => {
            writeln!(out, "ARG jobs {jobs}")?;
            writeln!(out, "ARG maxlen {maxlen}")?;
            writeln!(out, "ARG seed {seed}")?;
        }
        JobSource::List(_) => writeln!(out, "ARG jlist {}", args.jlist)?,
    }
    writeln!(out)?;
    writeln!(out, "Here is the job list, with the run time of each job: ")?;
    for (i, r) in runtimes.iter().enumerate() {
        let shown = match source {
            JobSource::Random { .. } => percent_d(*r),
            JobSource::List(_) => float_repr(*r),
        };
        writeln!(out, "  Job {i} ( length = {shown} )")?;
    }
    writeln!(out, "\n")?;

    if !args.compute {
        writeln!(
            out,
            "Compute the turnaround time, response time, and wait time for each job."
        )?;
        writeln!(
            out,
            "When you are done, run this program again, with the same arguments,"
        )?;
        writeln!(
            out,
            "but with -c, which will thus provide you with the answers. You can use"
        )?;
        writeln!(
            out,
            "-s <somenumber> or your own job list (-l 10,15,20 for example)"
        )?;
        writeln!(out, "to generate different problems for yourself.")?;
        writeln!(out)?;
        return Ok(0);
    }
    writeln!(out, "** Solutions **\n")?;
    let Some(policy) = policy else {
        // scheduler.py's own answer to an unknown policy (on stdout, exit 0).
        writeln!(out, "Error: Policy {} is not available.", args.policy)?;
        return Ok(0);
    };
    let answers = trace(out, &runtimes, policy)?;
    writeln!(out, "\nFinal statistics:")?;
    statistics(out, &answers)?;
    let (r, t, w) = hw::averages(&answers);
    writeln!(
        out,
        "\n  Average -- Response: {r:3.2}  Turnaround {t:3.2}  Wait {w:3.2}\n"
    )?;
    Ok(0)
}

/// The slices of the jobs' run, as the scheduler gives them (every RR
/// quantum), streamed: memory O(jobs) however long the run.
fn slices(jobs: &[Job], policy: Policy) -> Result<Slices<'_>, CliError> {
    Slices::new(jobs, policy, 0.0).map_err(CliError::input)
}

/// The execution trace: one line per slice, written as the slices come
/// (`-l 100000000,100000000 -q 1` is 2 * 10^8 lines), built in a reusable
/// buffer; returns the answers, added up on the way.
fn trace(out: &mut dyn Write, runtimes: &[f64], policy: Policy) -> Result<Vec<Answer>, CliError> {
    let jobs = hw::jobs(runtimes);
    let mut tally = hw::Tally::new(jobs.len(), policy);
    writeln!(out, "Execution trace:")?;
    let rr = matches!(policy, Policy::RoundRobin { .. });
    let mut line: Vec<u8> = Vec::with_capacity(96);
    let mut num = itoa::Buffer::new();
    for Slice { slot, completes } in slices(&jobs, policy)? {
        let SlotKind::Run(j) = slot.kind else {
            continue;
        };
        tally.ran(j, slot.start, slot.end);
        line.clear();
        line.extend_from_slice(b"  [ time ");
        push_percent_d(&mut line, slot.start, 3);
        line.extend_from_slice(b" ] Run job ");
        let digits = num.format(j);
        if rr {
            line.extend(std::iter::repeat_n(
                b' ',
                3usize.saturating_sub(digits.len()),
            ));
        }
        line.extend_from_slice(digits.as_bytes());
        line.extend_from_slice(b" for ");
        // RR prints the slice it gave, FIFO/SJF the job's length.
        push_fixed2(&mut line, if rr { slot.length } else { runtimes[j] });
        line.extend_from_slice(b" secs");
        if !rr || completes {
            line.extend_from_slice(b" ( DONE at ");
            push_fixed2(&mut line, slot.end);
            line.extend_from_slice(b" )");
        }
        line.push(b'\n');
        out.write_all(&line)?;
    }
    Ok(tally.answers())
}

/// `  Job %3d -- Response: %3.2f  Turnaround %3.2f  Wait %3.2f`, per job.
fn statistics(out: &mut dyn Write, answers: &[Answer]) -> std::io::Result<()> {
    let mut line: Vec<u8> = Vec::with_capacity(96);
    let mut num = itoa::Buffer::new();
    for a in answers {
        line.clear();
        line.extend_from_slice(b"  Job ");
        let digits = num.format(a.job);
        line.extend(std::iter::repeat_n(
            b' ',
            3usize.saturating_sub(digits.len()),
        ));
        line.extend_from_slice(digits.as_bytes());
        line.extend_from_slice(b" -- Response: ");
        pad3(&mut line, a.response);
        line.extend_from_slice(b"  Turnaround ");
        pad3(&mut line, a.turnaround);
        line.extend_from_slice(b"  Wait ");
        pad3(&mut line, a.wait);
        line.push(b'\n');
        out.write_all(&line)?;
    }
    Ok(())
}

/// `%3.2f`: at least 3 characters wide (always true with two decimals,
/// except for NaN/inf, which never reach here).
fn pad3(line: &mut Vec<u8>, x: f64) {
    let start = line.len();
    push_fixed2(line, x);
    let len = line.len() - start;
    if len < 3 {
        line.splice(start..start, std::iter::repeat_n(b' ', 3 - len));
    }
}

/// The solution as JSON lines: one per slice (streamed), per job, and the
/// averages.
fn json(out: &mut dyn Write, runtimes: &[f64], policy: Policy) -> Result<(), CliError> {
    use serde_json::json;
    let t = crate::render::gantt::time_json;
    let jobs = hw::jobs(runtimes);
    let mut tally = hw::Tally::new(jobs.len(), policy);
    for Slice { slot, .. } in slices(&jobs, policy)? {
        if let SlotKind::Run(j) = slot.kind {
            tally.ran(j, slot.start, slot.end);
            writeln!(
                out,
                "{}",
                json!({"kind": "slot", "job": j, "start": t(slot.start), "end": t(slot.end), "length": t(slot.length)})
            )?;
        }
    }
    let mut answers: Vec<Answer> = tally.answers();
    let (r, tt, w) = hw::averages(&answers);
    answers.sort_by_key(|a| a.job);
    for a in &answers {
        writeln!(
            out,
            "{}",
            json!({"kind": "job", "job": a.job, "runtime": t(runtimes[a.job]), "response": t(a.response),
                   "turnaround": t(a.turnaround), "wait": t(a.wait)})
        )?;
    }
    writeln!(
        out,
        "{}",
        json!({"kind": "average", "response": t(r), "turnaround": t(tt), "wait": t(w)})
    )?;
    Ok(())
}
