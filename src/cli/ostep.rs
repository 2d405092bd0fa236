//! What the OSTEP drop-ins share on the command line: reading optparse
//! integers (all of them), and for the translation drop-ins (`relocation`,
//! `segmentation`, `paging-linear-translate`) the `--json` records and
//! running a quiz on stdin.

use super::{CliError, CmdResult};
use crate::homework::pyconv::optparse_int;
use crate::homework::quiz::{self, Question};
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

/// Runs a quiz over `questions` on stdin, after `out` already holds the
/// problem. Exit 0 whatever the score.
pub fn quiz_on_stdin(
    questions: impl IntoIterator<Item = Question>,
    total: u64,
    out: &mut dyn Write,
) -> CmdResult {
    writeln!(
        out,
        "Answer each question with the physical address (decimal, or hex with 0x)\nor with 'violation' if the access faults."
    )?;
    let stdin = io::stdin();
    let echo = !stdin.is_terminal();
    let mut input = stdin.lock();
    quiz::run(questions, total, &mut input, echo, out)?;
    Ok(0)
}
