//! `vmlab relocation`: the OSTEP `relocation.py` homework (base and bounds),
//! byte for byte, plus `--json` (problem and answers for graders) and
//! `--quiz` (asks, checks and scores the student's answers).

use super::ostep::{
    int_flag, problem_record, question_record, quiz_on_stdin, refused_json, translation_question,
};
use super::{CliError, CmdResult};
use crate::addr::VirtAddr;
use crate::homework::relocation::{self, Options, Outcome, question_line};
use crate::memory::PhysicalMemory;
use crate::mmu::{Access, Mmu};
use serde_json::json;
use std::io::Write;

/// Flags of `vmlab relocation` (those of `relocation.py`, plus `--json` and
/// `--quiz`). Long names may be abbreviated, as optparse allows.
#[derive(clap::Args, Debug)]
#[command(
    infer_long_args = true,
    args_override_self = true,
    after_help = "\
Examples:
  vmlab relocation -s 1            a problem (seed 1)
  vmlab relocation -s 1 -c         ... with the answers
  vmlab relocation -s 1 --quiz     ... asked one by one, answers checked
  vmlab relocation -s 1 --json     ... as JSON lines for a grader"
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
    /// Address space size (e.g., 16, 64k, 32m, 1g, 0x400).
    #[arg(
        short = 'a',
        long = "asize",
        default_value = "1k",
        allow_hyphen_values = true
    )]
    asize: String,
    /// Physical memory size (e.g., 16, 64k, 32m, 1g).
    #[arg(
        short = 'p',
        long = "physmem",
        default_value = "16k",
        allow_hyphen_values = true
    )]
    psize: String,
    /// Number of virtual addresses to generate.
    #[arg(
        short = 'n',
        long = "addresses",
        default_value = "5",
        allow_hyphen_values = true
    )]
    num: String,
    /// Value of the base register (-1: random).
    #[arg(
        short = 'b',
        long = "b",
        default_value = "-1",
        allow_hyphen_values = true
    )]
    base: String,
    /// Value of the limit (bounds) register (-1: random).
    #[arg(
        short = 'l',
        long = "l",
        default_value = "-1",
        allow_hyphen_values = true
    )]
    limit: String,
    /// Compute the answers.
    #[arg(short = 'c', long = "compute")]
    solve: bool,
    /// `--json` / `--quiz`.
    #[command(flatten)]
    pub answers: super::ostep::AnswerFlags,
}

/// Runs `vmlab relocation`.
pub fn run(args: Args, out: &mut dyn Write) -> CmdResult {
    let opts = Options {
        seed: int_flag("-s", &args.seed)?,
        asize: args.asize,
        psize: args.psize,
        num: int_flag("-n", &args.num)?,
        base: args.base,
        limit: args.limit,
    };
    let outcome = relocation::generate(&opts).map_err(CliError::Input)?;
    if args.answers.json {
        return json(&opts, outcome, out);
    }
    if args.answers.quiz {
        return quiz(&opts, outcome, &args.answers, out);
    }
    Ok(relocation::write_text(&opts, outcome, args.solve, out)?)
}

fn json(opts: &Options, outcome: Outcome, out: &mut dyn Write) -> CmdResult {
    let mut problem = match outcome {
        Outcome::Refused(message) => return refused_json(out, "relocation", message),
        Outcome::DoesNotFit { base, limit, psize } => {
            let message = format!(
                "address space does not fit into physical memory with those base/bounds values (base {base} + limit {limit} > {psize})"
            );
            return refused_json(out, "relocation", &message);
        }
        Outcome::Problem(p) => p,
    };
    let mmu = problem.mmu.clone();
    let fields = json!({
        "asize": problem.asize,
        "psize": mmu.phys_size(),
        "base": mmu.base(),
        "bounds": mmu.bounds(),
    });
    problem_record(out, "relocation", opts.seed, fields, problem.count)?;
    for (i, va) in problem.addresses().enumerate() {
        let answer = mmu.translate(PhysicalMemory::empty(), VirtAddr::new(va), Access::Read);
        question_record(out, i, va, json!({}), answer)?;
    }
    Ok(0)
}

fn quiz(
    opts: &Options,
    outcome: Outcome,
    flags: &super::ostep::AnswerFlags,
    out: &mut dyn Write,
) -> CmdResult {
    let Outcome::Problem(mut problem) = outcome else {
        return Ok(relocation::write_text(opts, outcome, false, out)?);
    };
    let mmu = problem.mmu.clone();
    relocation::write_header(opts, out)?;
    relocation::write_registers(mmu.base(), mmu.bounds(), out)?;
    let total = problem.count;
    let (base, limit) = (mmu.base(), mmu.bounds());
    let questions = problem.addresses().enumerate().map(|(i, va)| {
        let mut line = Vec::new();
        question_line(&mut line, i as u64, va);
        let answer = match mmu.translate(PhysicalMemory::empty(), VirtAddr::new(va), Access::Read) {
            Ok(pa) => Ok((
                pa.as_u64(),
                format!("VA {va} < limit {limit}, so PA = base {base} + {va}"),
            )),
            Err(_) => Err(format!(
                "VA {va} >= limit {limit}: out of bounds, a segmentation violation"
            )),
        };
        translation_question(line, "PA or segmentation violation?", answer)
    });
    quiz_on_stdin(questions, total, flags, out)
}
