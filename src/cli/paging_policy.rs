//! `vmlab paging-policy`: the OSTEP `paging-policy.py` homework (page
//! replacement), byte for byte, plus `--json` (one record per reference)
//! and `--quiz` (type hit or miss and the victim).

use super::ostep::{AnswerFlags, optparse_int_flag, problem_record, record, refused_json};
use super::{CliError, CmdResult};
use crate::homework::paging_policy::{
    self, DropPolicy, Options, Problem, Simulation, Step, push_list,
};
use serde_json::json;
use std::io::{self, BufRead, IsTerminal, Write};

/// Flags of `vmlab paging-policy` (those of the original, plus `--json`
/// and `--quiz`). Long names may be abbreviated, as optparse allows.
#[derive(clap::Args, Debug)]
#[command(
    infer_long_args = true,
    args_override_self = true,
    after_help = "\
Policies: FIFO, LRU, OPT, UNOPT, RAND, CLOCK (the original's: random frames
with saturating counters, -b bits), and MRU (works in the original too, but
is not in its help). Names are case-sensitive, as in the original.

Examples:
  vmlab paging-policy -s 0 -n 10 -c
  vmlab paging-policy -a 1,2,3,4,1,2,5,1,2,3,4,5 -p FIFO -C 4 -c
  vmlab paging-policy -s 1 -p LRU --quiz
  vmlab paging-policy -a 0,1,2,0,1,3 -p OPT --json"
)]
pub struct Args {
    /// A set of comma-separated pages to access; -1 means randomly generate.
    #[arg(
        short = 'a',
        long = "addresses",
        default_value = "-1",
        allow_hyphen_values = true
    )]
    addresses: String,
    /// A file with a bunch of addresses in it (one page a line).
    #[arg(short = 'f', long = "addressfile", default_value = "")]
    addressfile: String,
    /// If -a (--addresses) is -1, this is the number of addrs to generate.
    #[arg(
        short = 'n',
        long = "numaddrs",
        default_value = "10",
        allow_hyphen_values = true
    )]
    numaddrs: String,
    /// Replacement policy: FIFO, LRU, OPT, UNOPT, RAND, CLOCK.
    #[arg(short = 'p', long = "policy", default_value = "FIFO")]
    policy: String,
    /// For CLOCK policy, how many clock bits to use.
    #[arg(
        short = 'b',
        long = "clockbits",
        default_value = "2",
        allow_hyphen_values = true
    )]
    clockbits: String,
    /// Size of the page cache, in pages.
    #[arg(
        short = 'C',
        long = "cachesize",
        default_value = "3",
        allow_hyphen_values = true
    )]
    cachesize: String,
    /// If randomly generating page accesses, this is the max page number.
    #[arg(
        short = 'm',
        long = "maxpage",
        default_value = "10",
        allow_hyphen_values = true
    )]
    maxpage: String,
    /// Random number seed.
    #[arg(
        short = 's',
        long = "seed",
        default_value = "0",
        allow_hyphen_values = true
    )]
    seed: String,
    /// Do not print out a detailed trace.
    #[arg(short = 'N', long = "notrace")]
    notrace: bool,
    /// Compute answers for me.
    #[arg(short = 'c', long = "compute")]
    solve: bool,
    /// `--json` / `--quiz`.
    #[command(flatten)]
    pub answers: AnswerFlags,
}

/// Runs `vmlab paging-policy`.
pub fn run(args: Args, out: &mut dyn Write) -> CmdResult {
    let opts = Options {
        addresses: args.addresses,
        addressfile: args.addressfile,
        numaddrs: args.numaddrs,
        policy: args.policy,
        clockbits: optparse_int_flag("paging-policy", "-b", &args.clockbits)?,
        cachesize: args.cachesize,
        maxpage: args.maxpage,
        seed: args.seed,
        notrace: args.notrace,
    };
    let problem = paging_policy::generate(&opts).map_err(CliError::Input)?;
    let known = DropPolicy::parse(&opts.policy);
    let answering = args.solve || args.answers.json || args.answers.quiz;
    if known.is_none() {
        // The original says so only on stdout, and only with -c.
        eprintln!(
            "vmlab paging-policy: policy '{}' is not implemented (FIFO, LRU, OPT, UNOPT, RAND, CLOCK, MRU){}",
            opts.policy,
            if answering {
                ""
            } else {
                "; the questions are printed, but there are no answers"
            }
        );
    }
    match known {
        Some(policy) if args.answers.json => json(&opts, policy, problem, out),
        Some(policy) if args.answers.quiz => quiz(&opts, policy, problem, &args.answers, out),
        None if args.answers.json => refused_json(
            out,
            "paging-policy",
            &format!("Policy {} is not yet implemented", opts.policy),
        ),
        _ => Ok(paging_policy::write_text(&opts, problem, answering, out)?),
    }
}

/// `--json`: a problem record, one `access` record per reference (page,
/// hit, victim, the resident pages in the original's list order, running
/// counts), and a `summary`.
fn json(opts: &Options, policy: DropPolicy, problem: Problem, out: &mut dyn Write) -> CmdResult {
    let fields = json!({
        "policy": opts.policy,
        "cachesize": problem.cachesize,
        "clockbits": opts.clockbits.to_string().parse::<serde_json::Number>().ok(),
        "pages": problem.refs,
    });
    let total = problem.refs.len() as u64;
    problem_record(out, "paging-policy", problem.seed, fields, total)?;
    let mut sim = Simulation::new(problem, policy, opts.clockbits, true);
    let mut index = 0;
    while let Some(step) = sim.step() {
        record(
            out,
            &json!({
                "kind": "access",
                "index": index,
                "page": step.page,
                "hit": step.hit,
                "victim": step.victim,
                "resident": sim.memory().unwrap_or_default(),
                "hits": step.hits,
                "misses": step.misses,
            }),
        )?;
        index += 1;
    }
    let (hits, misses) = sim.counts();
    record(
        out,
        &json!({
            "kind": "summary",
            "hits": hits,
            "misses": misses,
            "hitrate": 100.0 * hits as f64 / (hits + misses) as f64,
        }),
    )?;
    Ok(0)
}

/// What a student typed for one reference.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Given {
    Hit,
    /// A miss, with the victim named (`None`: no page replaced).
    Miss(Option<u64>),
    Unclear(String),
}

/// Reads `hit`, `h`, `miss`, `m`, `miss 3`, `m, 3`, `miss -` (any case).
fn parse_given(text: &str) -> Given {
    let t = text.trim().to_ascii_lowercase();
    let words: Vec<&str> = t
        .split(|c: char| c.is_whitespace() || c == ',' || c == ':')
        .filter(|w| !w.is_empty())
        .collect();
    match words.as_slice() {
        ["hit" | "h"] => Given::Hit,
        ["miss" | "m"] | ["miss" | "m", "-" | "none"] => Given::Miss(None),
        ["miss" | "m", n] => match n.parse() {
            Ok(v) => Given::Miss(Some(v)),
            Err(_) => Given::Unclear(text.trim().to_string()),
        },
        _ => Given::Unclear(text.trim().to_string()),
    }
}

/// `--quiz`: for each reference, asks hit or miss (and on a miss, which
/// page is replaced, if any), says right or wrong with the memory before
/// and after, and ends with the score.
fn quiz(
    opts: &Options,
    policy: DropPolicy,
    problem: Problem,
    flags: &AnswerFlags,
    out: &mut dyn Write,
) -> CmdResult {
    paging_policy::write_header(opts, out)?;
    writeln!(
        out,
        "Replacement policy {}, a cache of {} pages.\nFor each reference answer 'hit', or 'miss' followed by the page it replaces\n(e.g. 'miss 3'; just 'miss' when nothing is replaced).",
        opts.policy, problem.cachesize
    )?;
    let total = problem.refs.len() as u64;
    let mut sim = Simulation::new(problem, policy, opts.clockbits, true);
    let typed;
    let stdin = io::stdin();
    let (mut input, echo): (Box<dyn BufRead>, bool) = match &flags.typed {
        Some(t) => {
            typed = t.clone();
            (Box::new(io::Cursor::new(typed.into_bytes())), true)
        }
        None => (Box::new(stdin.lock()), !io::stdin().is_terminal()),
    };
    let (mut right, mut answered) = (0u64, 0u64);
    let mut line = String::new();
    let mut before = Vec::new();
    push_list(&mut before, &[]);
    while let Some(step) = sim.step() {
        write!(out, "Access: {}  hit or miss (replaced)? ", step.page)?;
        out.flush()?;
        line.clear();
        if input.read_line(&mut line)? == 0 {
            writeln!(out)?;
            writeln!(out, "End of input after {answered} of {total} references.")?;
            break;
        }
        if echo {
            writeln!(out, "{}", line.trim())?;
        }
        answered += 1;
        let mut after = Vec::new();
        push_list(&mut after, sim.memory().unwrap_or_default());
        let why = explain(&step, policy, &before, &after);
        let given = parse_given(&line);
        let ok = match (&given, step.hit) {
            (Given::Hit, true) => true,
            (Given::Miss(v), false) => *v == step.victim,
            _ => false,
        };
        let verdict = if ok {
            right += 1;
            "right".to_string()
        } else {
            match given {
                Given::Unclear(t) if t.is_empty() => "wrong (no answer)".to_string(),
                Given::Unclear(t) => {
                    format!("wrong (did not understand '{t}': answer 'hit', 'miss' or 'miss 3')")
                }
                Given::Hit => "wrong (you said hit)".to_string(),
                Given::Miss(None) => "wrong (you said miss, nothing replaced)".to_string(),
                Given::Miss(Some(v)) => format!("wrong (you said miss, {v} replaced)"),
            }
        };
        writeln!(out, "    {verdict}: {why}")?;
        before = after;
    }
    writeln!(
        out,
        "Score: {right} of {answered} right ({total} references)"
    )?;
    Ok(0)
}

/// One line on why a reference hit or missed and what it replaced.
fn explain(step: &Step, policy: DropPolicy, before: &[u8], after: &[u8]) -> String {
    let (before, after) = (
        String::from_utf8_lossy(before),
        String::from_utf8_lossy(after),
    );
    if step.hit {
        return format!("hit, {} is in memory {before}", step.page);
    }
    match step.victim {
        None => format!(
            "miss, {} is not in memory {before}, and there is room: {after}",
            step.page
        ),
        Some(v) => {
            let rule = match policy {
                DropPolicy::Fifo => "the first in",
                DropPolicy::Lru => "the least recently used",
                DropPolicy::Mru => "the most recently used",
                DropPolicy::Opt => "used farthest in the future",
                DropPolicy::Unopt => "used soonest",
                DropPolicy::Rand => "drawn at random",
                DropPolicy::Clock => "the first drawn whose counter is 0",
            };
            format!(
                "miss, {} is not in memory {before}, which is full: {} replaces {v} ({rule}): {after}",
                step.page,
                policy_name(policy)
            )
        }
    }
}

fn policy_name(policy: DropPolicy) -> &'static str {
    match policy {
        DropPolicy::Fifo => "FIFO",
        DropPolicy::Lru => "LRU",
        DropPolicy::Mru => "MRU",
        DropPolicy::Opt => "OPT",
        DropPolicy::Unopt => "UNOPT",
        DropPolicy::Rand => "RAND",
        DropPolicy::Clock => "CLOCK",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_loosely() {
        assert_eq!(parse_given(" HIT\n"), Given::Hit);
        assert_eq!(parse_given("m"), Given::Miss(None));
        assert_eq!(parse_given("miss, 3"), Given::Miss(Some(3)));
        assert_eq!(parse_given("miss -"), Given::Miss(None));
        assert!(matches!(parse_given("maybe"), Given::Unclear(_)));
    }
}
