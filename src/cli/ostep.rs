//! What the OSTEP drop-ins (`relocation`, `segmentation`,
//! `paging-linear-translate`) share on the command line: reading optparse
//! integers, the `--json` error record, and running a quiz on stdin.

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

/// Reads an optparse `int` flag (`-s`, `-n`, `-u`), naming the flag.
pub fn int_flag(flag: &str, text: &str) -> Result<i128, CliError> {
    optparse_int(text).map_err(|e| CliError::input(format!("{flag}: {e}")))
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
