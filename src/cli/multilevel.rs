//! `vmlab paging-multilevel-translate`: the OSTEP
//! `paging-multilevel-translate.py` homework (two-level page tables in a
//! 4 KiB memory), byte for byte, plus `--json` (the walk of every address)
//! and `--quiz` (type the physical address and the value, or the fault).

use super::ostep::{AnswerFlags, int_flag, problem_record, record};
use super::{CliError, CmdResult};
use crate::homework::multilevel::{self, EntryRead, Options, PAGE_SIZE, Problem, Walk};
use crate::homework::quiz::{self, Expected, Question};
use serde_json::{Map, Value, json};
use std::io::{self, IsTerminal, Write};

/// Flags of `vmlab paging-multilevel-translate` (those of the original,
/// plus `--json` and `--quiz`). Long names may be abbreviated, as optparse
/// allows.
#[derive(clap::Args, Debug)]
#[command(
    infer_long_args = true,
    args_override_self = true,
    after_help = "\
Examples:
  vmlab paging-multilevel-translate -s 1 -c
  vmlab paging-multilevel-translate -s 2 -a 20 -n 5 -c
  vmlab paging-multilevel-translate -s 1 --quiz
  vmlab paging-multilevel-translate -s 1 --json"
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
    /// Number of virtual pages allocated.
    #[arg(
        short = 'a',
        long = "allocated",
        default_value = "64",
        allow_hyphen_values = true
    )]
    allocated: String,
    /// Number of virtual addresses to generate.
    #[arg(
        short = 'n',
        long = "addresses",
        default_value = "10",
        allow_hyphen_values = true
    )]
    num: String,
    /// Compute answers for me.
    #[arg(short = 'c', long = "solve")]
    solve: bool,
    /// `--json` / `--quiz`.
    #[command(flatten)]
    pub answers: AnswerFlags,
}

/// Runs `vmlab paging-multilevel-translate`.
pub fn run(args: Args, out: &mut dyn Write) -> CmdResult {
    let opts = Options {
        seed: int_flag("-s", &args.seed)?,
        allocated: int_flag("-a", &args.allocated)?,
        num: int_flag("-n", &args.num)?,
    };
    let problem = multilevel::generate(&opts).map_err(CliError::Input)?;
    if args.answers.json {
        return json(&opts, problem, out);
    }
    if args.answers.quiz {
        return quiz(&opts, problem, &args.answers, out);
    }
    Ok(multilevel::write_text(&opts, problem, args.solve, out)?)
}

/// An entry read, as JSON fields `<what>_index`, `<what>` (the byte),
/// `<what>_valid`, `<what>_pfn`.
fn entry_fields(m: &mut Map<String, Value>, what: &str, e: EntryRead) {
    m.insert(format!("{what}_index"), json!(e.index));
    m.insert(what.into(), json!(e.value));
    m.insert(format!("{what}_valid"), json!(e.valid()));
    m.insert(format!("{what}_pfn"), json!(e.pfn()));
}

/// The question record of one walk: `kind`, `index`, `va`, `access`, the
/// directory entry read, the table entry read (when there was one), then
/// `pa` and `value`, or `fault` (`page-fault`) and `fault_at` (`pde` or
/// `pte`).
fn walk_record(index: usize, w: &Walk) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), json!("question"));
    m.insert("index".into(), json!(index));
    m.insert("va".into(), json!(w.va));
    m.insert("access".into(), json!("read"));
    entry_fields(&mut m, "pde", w.pde);
    if let Some(pte) = w.pte {
        entry_fields(&mut m, "pte", pte);
    }
    match w.answer {
        Some((pa, value)) => {
            m.insert("pa".into(), json!(pa));
            m.insert("value".into(), json!(value));
        }
        None => {
            m.insert("fault".into(), json!("page-fault"));
            m.insert(
                "fault_at".into(),
                json!(if w.pte.is_some() { "pte" } else { "pde" }),
            );
        }
    }
    Value::Object(m)
}

fn json(opts: &Options, mut problem: Problem, out: &mut dyn Write) -> CmdResult {
    let mut memory = Vec::new();
    for p in 0..multilevel::PHYS_PAGES {
        let mut page = [0u8; PAGE_SIZE as usize];
        let _ = problem
            .mem
            .read(crate::addr::PhysAddr::new(p * PAGE_SIZE), &mut page);
        memory.push(json!(page.to_vec()));
    }
    let fields = json!({
        "allocated": problem.used.len(),
        "page_size": PAGE_SIZE,
        "phys_pages": multilevel::PHYS_PAGES,
        "pdbr": problem.pdbr(),
        "virtual_pages": problem.used,
        "memory": memory,
    });
    problem_record(
        out,
        "paging-multilevel-translate",
        opts.seed,
        fields,
        problem.num,
    )?;
    let (mmu, mem, addresses) = problem.trace();
    let mut out = io::BufWriter::new(out);
    for (i, va) in addresses.enumerate() {
        record(&mut out, &walk_record(i, &multilevel::walk(mmu, mem, va)))?;
    }
    out.flush()?;
    Ok(0)
}

/// How the hardware gets the answer to `w`, in one line.
fn explain(w: &Walk, pdbr: u64) -> String {
    let pde = w.pde;
    let mut s = format!(
        "directory index = VA {:#06x} bits 14..10 = {}; PDE at page {pdbr} + {} = {:#04x}",
        w.va, pde.index, pde.index, pde.value
    );
    let Some(pte) = w.pte else {
        s.push_str(": not valid, a fault");
        return s;
    };
    s.push_str(&format!(
        ", valid, table in page {}; table index = bits 9..5 = {}; PTE = {:#04x}",
        pde.pfn(),
        pte.index,
        pte.value
    ));
    match w.answer {
        None => s.push_str(": not valid, a fault"),
        Some((pa, value)) => s.push_str(&format!(
            ", valid, page {}; PA = ({} << 5) | offset {:#x} = {pa} ({pa:#x}), value {value:#04x}",
            pte.pfn(),
            pte.pfn(),
            w.va & 31
        )),
    }
    s
}

fn quiz(
    opts: &Options,
    mut problem: Problem,
    flags: &AnswerFlags,
    out: &mut dyn Write,
) -> CmdResult {
    multilevel::write_header(opts, out)?;
    multilevel::write_memory(&problem, out)?;
    let total = problem.num;
    let pdbr = problem.pdbr();
    let (mmu, mem, addresses) = problem.trace();
    let questions = addresses.map(|va| {
        let w = multilevel::walk(mmu, mem, va);
        let mut line = Vec::new();
        multilevel::question_line(&mut line, va);
        Question {
            prompt: String::from_utf8_lossy(&line).into_owned(),
            expected: match w.answer {
                Some((pa, value)) => Expected::AddressValue {
                    pa,
                    value: u64::from(value),
                },
                None => Expected::Fault,
            },
            explanation: explain(&w, pdbr),
        }
    });
    writeln!(
        out,
        "Answer each question with the physical address and the value loaded\n(e.g. 0x6bc 0x08, or 1724 8), or with 'fault' if the walk finds an invalid entry."
    )?;
    if let Some(typed) = &flags.typed {
        quiz::run(questions, total, &mut typed.as_bytes(), true, out)?;
        return Ok(0);
    }
    let stdin = io::stdin();
    let echo = !stdin.is_terminal();
    let mut input = stdin.lock();
    quiz::run(questions, total, &mut input, echo, out)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_explanation_walks_both_levels() {
        let opts = Options {
            seed: 0,
            allocated: 64,
            num: 1,
        };
        let mut p = multilevel::generate(&opts).unwrap();
        let (mmu, mem, mut vas) = p.trace();
        let w = multilevel::walk(mmu, mem, vas.next().unwrap());
        let text = explain(&w, 108);
        assert!(text.contains("PDE at page 108 + 24 = 0xa1"), "{text}");
        assert!(text.contains("table in page 33"), "{text}");
        assert!(text.contains("= 1724 (0x6bc), value 0x08"), "{text}");
        let rec = walk_record(0, &w);
        assert_eq!(rec["pde"], 0xa1);
        assert_eq!(rec["pte_index"], 8);
        assert_eq!(rec["pa"], 0x6bc);
        assert_eq!(rec["value"], 8);
    }

    #[test]
    fn typed_answers_are_checked_like_the_terminal_quiz() {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from([
            "vmlab",
            "paging-multilevel-translate",
            "-s",
            "0",
            "-n",
            "2",
        ])
        .unwrap();
        let mut out = Vec::new();
        let code = crate::cli::ostep::quiz_with_answers(cli, "1724 8\nfault\n", &mut out);
        assert_eq!(code.unwrap(), 0);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("Score: 2 of 2 right (2 questions)"), "{text}");
    }
}
