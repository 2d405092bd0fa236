//! What the OSTEP drop-ins share on the command line: reading optparse
//! integers (all of them), and for the translation drop-ins (`relocation`,
//! `segmentation`, `paging-linear-translate`) the `--json` records and
//! running a quiz on stdin.

use super::{CliError, CmdResult};
use crate::addr::PhysAddr;
use crate::fault::Fault;
use crate::homework::pyconv::optparse_int;
use crate::homework::quiz::{self, Expected, Question};
use serde_json::{Value, json};
use std::io::{self, IsTerminal, Write};

/// The two answer modes every translation drop-in offers beyond the
/// original's `-c`.
#[derive(clap::Args, Debug)]
pub struct AnswerFlags {
    /// Print the problem and its answers as JSON lines.
    #[arg(long, conflicts_with = "quiz")]
    pub json: bool,
    /// Ask each question, read answers from stdin, and score them.
    #[arg(long)]
    pub quiz: bool,
    /// The quiz's answers given in advance, one a line, instead of read from
    /// stdin (the browser page; never a flag). Read as if piped: echoed.
    #[arg(skip)]
    pub typed: Option<String>,
}

/// Reads an optparse `int` flag of a translation drop-in (`-s`, `-n`,
/// `-u`); the error names the flag and the text.
pub fn int_flag(flag: &str, text: &str) -> Result<i128, CliError> {
    optparse_int(text).ok_or_else(|| CliError::input(format!("{flag}: '{text}' is not an integer")))
}

/// Reads an optparse `int` flag of `malloc` or `scheduler` (`sim`); the
/// error is optparse's own "option -s: invalid integer value: 'x'" after
/// the command's name.
pub fn optparse_int_flag(sim: &str, flag: &str, text: &str) -> Result<i128, CliError> {
    optparse_int(text).ok_or_else(|| {
        CliError::input(format!(
            "{sim}: option {flag}: invalid integer value: '{text}'"
        ))
    })
}

/// Writes one JSON record as a line.
pub fn record(out: &mut dyn Write, value: &Value) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}

/// The `--json` answer when the original refuses its input (exit 1): one
/// `error` record with the original's message.
pub fn refused_json(out: &mut dyn Write, sim: &str, message: &str) -> CmdResult {
    let message = message.strip_prefix("Error: ").unwrap_or(message);
    record(
        out,
        &json!({"kind": "error", "sim": sim, "message": message}),
    )?;
    Ok(1)
}

/// The `--json` problem record: `kind`, `sim` and `seed`, then the
/// problem's own `fields` (an object, in order: sizes, then registers or
/// table), then the number of `questions`.
pub fn problem_record(
    out: &mut dyn Write,
    sim: &str,
    seed: i128,
    fields: Value,
    questions: u64,
) -> io::Result<()> {
    // An i128 is a JSON number but not a serde_json one: go through text.
    let seed = seed.to_string().parse::<serde_json::Number>().ok();
    let mut rec = json!({"kind": "problem", "sim": sim, "seed": seed});
    if let (Value::Object(rec), Value::Object(fields)) = (&mut rec, fields) {
        rec.extend(fields);
    }
    rec["questions"] = json!(questions);
    record(out, &rec)
}

/// One `--json` question record: `kind`, `index`, `va` and `access` (every
/// question is a read), the mechanism's `split` of the address (an object,
/// its fields in order), then the answer: `pa`, or the `fault` kind's name.
pub fn question_record(
    out: &mut dyn Write,
    index: usize,
    va: u64,
    split: Value,
    answer: Result<PhysAddr, Fault>,
) -> io::Result<()> {
    let mut rec = json!({"kind": "question", "index": index, "va": va, "access": "read"});
    if let (Value::Object(rec), Value::Object(fields)) = (&mut rec, split) {
        rec.extend(fields);
    }
    match answer {
        Ok(pa) => rec["pa"] = json!(pa.as_u64()),
        Err(f) => rec["fault"] = json!(f.kind.name()),
    }
    record(out, &rec)
}

/// One `--quiz` question on a translation. `line` is the original's line
/// up to its answer (`  VA  0: 0x000001ae (decimal:  430) --> `), `ask` the
/// question it ends with. `answer` is either the physical address and how
/// the hardware computes it (`"VA 430 < limit 472, so PA = base 12418 +
/// 430"`; ` = 12848 (0x3230)` is added), or the whole explanation of why the
/// access faults.
pub fn translation_question(
    mut line: Vec<u8>,
    ask: &str,
    answer: Result<(u64, String), String>,
) -> Question {
    line.extend_from_slice(ask.as_bytes());
    let prompt = String::from_utf8_lossy(&line).into_owned();
    match answer {
        Ok((pa, how)) => Question {
            prompt,
            expected: Expected::Address(pa),
            explanation: format!("{how} = {pa} ({pa:#x})"),
        },
        Err(why) => Question {
            prompt,
            expected: Expected::Fault,
            explanation: why,
        },
    }
}

/// Runs a quiz over `questions` on stdin (or on `flags.typed`, when set),
/// after `out` already holds the problem. Exit 0 whatever the score.
pub fn quiz_on_stdin(
    questions: impl IntoIterator<Item = Question>,
    total: u64,
    flags: &AnswerFlags,
    out: &mut dyn Write,
) -> CmdResult {
    writeln!(
        out,
        "Answer each question with the physical address (decimal, or hex with 0x)\nor with 'violation' if the access faults."
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

/// Runs the `--quiz` of a parsed translation drop-in command (`relocation`,
/// `segmentation`, `paging-linear-translate`, `paging-multilevel-translate`)
/// with `typed` as the student's
/// answers, one a line, writing the transcript `--quiz` prints with those
/// answers piped in: the problem, then each question, the answer given,
/// and an indented `right: ...` or `wrong (...): ...` verdict line, then
/// the score. The browser page checks answers through this, so they are
/// checked exactly as the terminal checks them.
///
/// Fails with a bad-input error for any other command, or when the
/// command's own flags are bad.
pub fn quiz_with_answers(cli: super::Cli, typed: &str, out: &mut dyn Write) -> CmdResult {
    use super::Command;
    let mut command = cli.command;
    let flags = match &mut command {
        Command::Relocation(args) => &mut args.answers,
        Command::Segmentation(args) => &mut args.answers,
        Command::Paging(args) => &mut args.answers,
        Command::PagingMultilevel(args) => &mut args.answers,
        _ => {
            return Err(CliError::input(
                "only relocation, segmentation, paging-linear-translate and paging-multilevel-translate have a quiz",
            ));
        }
    };
    flags.quiz = true;
    flags.json = false;
    flags.typed = Some(typed.to_string());
    super::run(super::Cli { command }, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn cli(argv: &[&str]) -> super::super::Cli {
        super::super::Cli::try_parse_from(argv).unwrap()
    }

    #[test]
    fn typed_answers_are_checked_as_the_quiz_checks_them() {
        // The right answer to question 0, from the --json answers.
        let mut json = Vec::new();
        super::super::run(
            cli(&["vmlab", "relocation", "-s", "1", "--json"]),
            &mut json,
        )
        .unwrap();
        let json = String::from_utf8(json).unwrap();
        let q0: Value = serde_json::from_str(json.lines().nth(1).unwrap()).unwrap();
        let right = match q0.get("pa") {
            Some(pa) => pa.to_string(),
            None => "violation".to_string(),
        };
        let wrong = if right == "violation" {
            "0"
        } else {
            "violation"
        };
        let mut out = Vec::new();
        let typed = format!("{right}\n{wrong}\n");
        let code = quiz_with_answers(cli(&["vmlab", "relocation", "-s", "1"]), &typed, &mut out);
        assert_eq!(code.unwrap(), 0);
        let text = String::from_utf8(out).unwrap();
        let verdicts: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("    right") || l.starts_with("    wrong"))
            .collect();
        assert_eq!(verdicts.len(), 2, "{text}");
        assert!(verdicts[0].starts_with("    right: "), "{text}");
        assert!(verdicts[1].starts_with("    wrong ("), "{text}");
        assert!(
            text.contains("End of input after 2 of 5 questions."),
            "{text}"
        );
        assert!(text.contains("Score: 1 of 2 right (5 questions)"), "{text}");
    }

    #[test]
    fn only_translation_drop_ins_have_a_quiz() {
        let err = quiz_with_answers(cli(&["vmlab", "malloc", "-s", "1"]), "", &mut Vec::new());
        assert!(err.unwrap_err().to_string().contains("only relocation"));
    }
}
