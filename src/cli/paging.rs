//! `vmlab paging-linear-translate` (alias `vmlab paging`): the OSTEP
//! `paging-linear-translate.py` homework, byte for byte, plus `--json` and
//! `--quiz`.

use super::ostep::{
    int_flag, problem_record, question_record, quiz_on_stdin, refused_json, translation_question,
};
use super::{CliError, CmdResult};
use crate::addr::VirtAddr;
use crate::homework::paging::{self, Options, Outcome, question_line};
use crate::memory::PhysicalMemory;
use crate::mmu::{Access, Mmu};
use serde_json::json;
use std::io::Write;

/// Flags of `vmlab paging-linear-translate` (those of the original, plus
/// `--json` and `--quiz`). Long names may be abbreviated, as optparse allows.
#[derive(clap::Args, Debug)]
#[command(
    infer_long_args = true,
    args_override_self = true,
    after_help = "\
Examples:
  vmlab paging -s 1 -c
  vmlab paging -a 32k -p 1m -P 4k -u 75 -v -c
  vmlab paging -s 1 --quiz
  vmlab paging -s 1 --json"
)]
pub struct Args {
    /// A set of comma-separated addresses to access; -1 means randomly generate.
    #[arg(
        short = 'A',
        long = "addresses",
        default_value = "-1",
        allow_hyphen_values = true
    )]
    addresses: String,
    /// The random seed.
    #[arg(
        short = 's',
        long = "seed",
        default_value = "0",
        allow_hyphen_values = true
    )]
    seed: String,
    /// Address space size (e.g., 16, 64k, 32m, 1g).
    #[arg(
        short = 'a',
        long = "asize",
        default_value = "16k",
        allow_hyphen_values = true
    )]
    asize: String,
    /// Physical memory size (e.g., 16, 64k, 32m, 1g).
    #[arg(
        short = 'p',
        long = "physmem",
        default_value = "64k",
        allow_hyphen_values = true
    )]
    psize: String,
    /// Page size (e.g., 4k, 8k, whatever).
    #[arg(
        short = 'P',
        long = "pagesize",
        default_value = "4k",
        allow_hyphen_values = true
    )]
    pagesize: String,
    /// Number of virtual addresses to generate.
    #[arg(
        short = 'n',
        long = "numaddrs",
        default_value = "5",
        allow_hyphen_values = true
    )]
    num: String,
    /// Percent of virtual address space that is used.
    #[arg(
        short = 'u',
        long = "used",
        default_value = "50",
        allow_hyphen_values = true
    )]
    used: String,
    /// Verbose mode: print the VPN by each page-table entry.
    #[arg(short = 'v')]
    verbose: bool,
    /// Compute the answers.
    #[arg(short = 'c')]
    solve: bool,
    /// `--json` / `--quiz`.
    #[command(flatten)]
    pub answers: super::ostep::AnswerFlags,
}

/// Runs `vmlab paging-linear-translate`.
pub fn run(args: Args, out: &mut dyn Write) -> CmdResult {
    let opts = Options {
        seed: int_flag("-s", &args.seed)?,
        addresses: args.addresses,
        asize: args.asize,
        psize: args.psize,
        pagesize: args.pagesize,
        num: int_flag("-n", &args.num)?,
        used: int_flag("-u", &args.used)?,
        verbose: args.verbose,
    };
    let outcome = paging::generate(&opts).map_err(CliError::Input)?;
    if args.answers.json {
        return json(&opts, outcome, out);
    }
    if args.answers.quiz {
        return quiz(&opts, outcome, &args.answers, out);
    }
    Ok(paging::write_text(&opts, outcome, args.solve, out)?)
}

fn json(opts: &Options, outcome: Outcome, out: &mut dyn Write) -> CmdResult {
    let mut problem = match outcome {
        Outcome::Refused(message) => {
            let message = message
                .strip_prefix("Error in argument: ")
                .unwrap_or(message);
            return refused_json(out, "paging-linear-translate", message);
        }
        Outcome::Problem(p) => p,
    };
    let total = problem.source.len();
    let asize = problem.asize;
    let (mmu, addresses) = problem.trace();
    let table: Vec<_> = mmu
        .entries()
        .iter()
        .enumerate()
        .map(|(vpn, pte)| {
            if pte.valid {
                json!({"vpn": vpn, "valid": true, "pfn": pte.pfn})
            } else {
                json!({"vpn": vpn, "valid": false})
            }
        })
        .collect();
    let fields = json!({
        "asize": asize,
        "psize": mmu.phys_size(),
        "page_size": mmu.page_size(),
        "page_table": table,
    });
    problem_record(out, "paging-linear-translate", opts.seed, fields, total)?;
    for (i, va) in addresses.enumerate() {
        let (vpn, offset) = mmu.split(VirtAddr::new(va));
        let answer = mmu.translate(PhysicalMemory::empty(), VirtAddr::new(va), Access::Read);
        question_record(out, i, va, json!({"vpn": vpn, "offset": offset}), answer)?;
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
        return Ok(paging::write_text(opts, outcome, false, out)?);
    };
    let total = problem.source.len();
    let (mmu, addresses) = problem.trace();
    paging::write_header(opts, out)?;
    paging::write_page_table(mmu, opts.verbose, out)?;
    let bits = mmu.page_bits();
    let questions = addresses.map(|va| {
        let (vpn, offset) = mmu.split(VirtAddr::new(va));
        let answer = match mmu.translate(PhysicalMemory::empty(), VirtAddr::new(va), Access::Read) {
            Ok(pa) => {
                let pfn = mmu.entries()[vpn as usize].pfn;
                Ok((
                    pa.as_u64(),
                    format!(
                        "VPN = {va:#x} >> {bits} = {vpn}, entry valid with PFN {pfn}, so PA = ({pfn} << {bits}) | {offset:#x}"
                    ),
                ))
            }
            Err(_) => Err(format!(
                "VPN = {va:#x} >> {bits} = {vpn}, and entry {vpn} is not valid: an invalid address"
            )),
        };
        let mut line = Vec::new();
        question_line(&mut line, va);
        translation_question(line, "PA or invalid address?", answer)
    });
    quiz_on_stdin(questions, total, flags, out)
}
