//! `vmlab segmentation`: the OSTEP `segmentation.py` homework (two segments,
//! one growing down), byte for byte, plus `--json` and `--quiz`.

use super::ostep::{
    int_flag, problem_record, question_record, quiz_on_stdin, refused_json, translation_question,
};
use super::{CliError, CmdResult};
use crate::addr::VirtAddr;
use crate::homework::segmentation::{self, Options, Outcome, out_of_range_message, question_line};
use crate::memory::PhysicalMemory;
use crate::mmu::{Access, Mmu, Step};
use serde_json::json;
use std::io::Write;

/// Flags of `vmlab segmentation` (those of `segmentation.py`, plus `--json`
/// and `--quiz`). Long names may be abbreviated, as optparse allows.
#[derive(clap::Args, Debug)]
#[command(
    infer_long_args = true,
    args_override_self = true,
    after_help = "\
Examples:
  vmlab segmentation -s 1 -c
  vmlab segmentation -a 128 -p 512 -b 0 -l 20 -B 512 -L 20 -A 108,97,53 -c
  vmlab segmentation -s 1 --quiz
  vmlab segmentation -s 1 --json"
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
    /// A set of comma-separated addresses to access; -1 means randomly generate.
    #[arg(
        short = 'A',
        long = "addresses",
        default_value = "-1",
        allow_hyphen_values = true
    )]
    addresses: String,
    /// Address space size (e.g., 16, 64k, 32m, 1g); a power of two.
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
        long = "numaddrs",
        default_value = "5",
        allow_hyphen_values = true
    )]
    num: String,
    /// Value of segment 0 base register (-1: random).
    #[arg(
        short = 'b',
        long = "b0",
        default_value = "-1",
        allow_hyphen_values = true
    )]
    base0: String,
    /// Value of segment 0 limit register (-1: random).
    #[arg(
        short = 'l',
        long = "l0",
        default_value = "-1",
        allow_hyphen_values = true
    )]
    len0: String,
    /// Value of segment 1 base register, the top of the segment (-1: random).
    #[arg(
        short = 'B',
        long = "b1",
        default_value = "-1",
        allow_hyphen_values = true
    )]
    base1: String,
    /// Value of segment 1 limit register (-1: random).
    #[arg(
        short = 'L',
        long = "l1",
        default_value = "-1",
        allow_hyphen_values = true
    )]
    len1: String,
    /// Compute the answers.
    #[arg(short = 'c')]
    solve: bool,
    /// `--json` / `--quiz`.
    #[command(flatten)]
    pub answers: super::ostep::AnswerFlags,
}

/// Runs `vmlab segmentation`.
pub fn run(args: Args, out: &mut dyn Write) -> CmdResult {
    let opts = Options {
        seed: int_flag("-s", &args.seed)?,
        addresses: args.addresses,
        asize: args.asize,
        psize: args.psize,
        num: int_flag("-n", &args.num)?,
        base0: args.base0,
        len0: args.len0,
        base1: args.base1,
        len1: args.len1,
    };
    let outcome = segmentation::generate(&opts).map_err(CliError::Input)?;
    if args.answers.json {
        return json(&opts, outcome, out);
    }
    if args.answers.quiz {
        return quiz(&opts, outcome, &args.answers, out);
    }
    Ok(segmentation::write_text(&opts, outcome, args.solve, out)?)
}

fn json(opts: &Options, outcome: Outcome, out: &mut dyn Write) -> CmdResult {
    let mut problem = match outcome {
        Outcome::Refused(message) => return refused_json(out, "segmentation", message),
        Outcome::Overlap(_) => {
            return refused_json(out, "segmentation", "segments overlap in physical memory");
        }
        Outcome::Problem(p) => p,
    };
    let mmu = problem.mmu.clone();
    let r = problem.registers;
    let asize = problem.asize;
    let fields = json!({
        "asize": asize,
        "psize": mmu.phys_size(),
        "segments": [
            {"segment": 0, "base": r.base0, "limit": r.len0, "grows": "up"},
            {"segment": 1, "base": r.base1, "limit": r.len1, "grows": "down"},
        ],
    });
    let total = problem.source.len();
    problem_record(out, "segmentation", opts.seed, fields, total)?;
    for (i, va) in problem.addresses().enumerate() {
        let va = match va {
            Ok(va) => va,
            Err(bad) => {
                let message = out_of_range_message(bad, asize);
                return refused_json(out, "segmentation", &message);
            }
        };
        let t = mmu.explain(PhysicalMemory::empty(), VirtAddr::new(va), Access::Read);
        let (segment, offset) = t.segment().unwrap_or((0, va));
        let split = json!({"segment": segment, "offset": offset});
        question_record(out, i, va, split, t.result)?;
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
        return Ok(segmentation::write_text(opts, outcome, false, out)?);
    };
    let asize = problem.asize;
    if let Some(bad) = problem.source.first_out_of_range(asize) {
        // The original stops at such an address; the quiz refuses up front.
        return Err(CliError::input(format!(
            "-A: {}",
            out_of_range_message(bad, asize).trim_start_matches("Error: ")
        )));
    }
    segmentation::write_header(opts, out)?;
    segmentation::write_registers(&problem.registers, out)?;
    let mmu = problem.mmu.clone();
    let total = problem.source.len();
    let questions = problem.addresses().enumerate().map(|(i, va)| {
        let va = va.unwrap_or_default();
        let t = mmu.explain(PhysicalMemory::empty(), VirtAddr::new(va), Access::Read);
        let (segment, offset) = t.segment().unwrap_or((0, va));
        let why = t.steps.iter().find_map(|s| match s {
            Step::CheckBounds { bounds, ok, .. } => Some(if *ok {
                format!("offset {offset} < limit {bounds}")
            } else {
                format!("offset {offset} >= limit {bounds}")
            }),
            Step::CheckNegativeOffset {
                distance,
                bounds,
                ok,
                ..
            } => Some(if *ok {
                format!("negative offset -{distance}, and {distance} <= limit {bounds}")
            } else {
                format!("negative offset -{distance}, and {distance} > limit {bounds}")
            }),
            Step::SegmentUnused { .. } => Some("the segment has limit 0".to_string()),
            _ => None,
        });
        let why = why.unwrap_or_default();
        let answer = match t.result {
            Ok(pa) => {
                let base = mmu.segments()[segment as usize].base;
                let sum = if segment == 0 {
                    format!("base {base} + {offset}")
                } else {
                    format!("base {base} - {}", base - pa.as_u64())
                };
                Ok((
                    pa.as_u64(),
                    format!("VA {va} is in segment {segment}; {why}, so PA = {sum}"),
                ))
            }
            Err(_) => Err(format!(
                "VA {va} is in segment {segment}; {why}: a segmentation violation"
            )),
        };
        let mut line = Vec::new();
        question_line(&mut line, i as u64, va);
        translation_question(line, "PA or segmentation violation?", answer)
    });
    quiz_on_stdin(questions, total, flags, out)
}
