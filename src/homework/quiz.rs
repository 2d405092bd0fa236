//! The answer checker behind `--quiz`: asks each question of a generated
//! problem, reads the student's answer, says right or wrong with a one-line
//! explanation, and ends with a score.
//!
//! An answer is a physical address (decimal, or hex with `0x`), an address
//! and the value loaded (for `paging-multilevel-translate`), or a word
//! saying the access traps (`violation`, `segfault`, `fault`, `invalid`, ...).
//! Input may be a terminal or a pipe; end of input ends the quiz with the
//! score so far.

use std::io::{self, BufRead, Write};

/// The right answer to one question.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// The access succeeds at this physical address.
    Address(u64),
    /// The access succeeds at this physical address and loads this value
    /// (both must be given).
    AddressValue {
        /// The physical address.
        pa: u64,
        /// The value loaded.
        value: u64,
    },
    /// The access traps to the OS.
    Fault,
}

/// One question: what to print, the right answer, and why it is right.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// The question line, e.g. `VA  0: 0x000001ae (decimal:  430) --> PA or
    /// segmentation violation?`.
    pub prompt: String,
    /// The right answer.
    pub expected: Expected,
    /// One line saying how the hardware gets the answer.
    pub explanation: String,
}

/// What a student typed, understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Given {
    /// A number: a physical address.
    Address(u64),
    /// Two numbers: a physical address and the value loaded from it.
    AddressValue(u64, u64),
    /// A word meaning "this traps".
    Fault,
    /// Neither (kept to echo back).
    Unclear(String),
}

/// Words accepted as "the access traps".
const FAULT_WORDS: &[&str] = &[
    "violation",
    "segmentation violation",
    "seg violation",
    "segfault",
    "seg fault",
    "segmentation fault",
    "fault",
    "invalid",
    "invalid address",
    "not valid",
    "out of bounds",
    "bounds",
    "trap",
    "sv",
    "x",
];

/// One number: decimal, or hex with `0x`.
fn parse_number(t: &str) -> Option<u64> {
    match t.strip_prefix("0x") {
        Some(hex) if !hex.is_empty() => u64::from_str_radix(hex, 16).ok(),
        _ => t.parse::<u64>().ok(),
    }
}

/// Reads one answer: a number (`12848`, `0x3230`), two numbers (an address
/// and a value: `0x6bc 0x08`, `1724, 8`, `0x6bc -> 8`) or a fault word, in
/// any case, surrounding spaces ignored.
pub fn parse_answer(text: &str) -> Given {
    let t = text.trim().to_ascii_lowercase();
    if let Some(n) = parse_number(&t) {
        return Given::Address(n);
    }
    let parts: Vec<&str> = t
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|p| !p.is_empty() && *p != "->")
        .collect();
    if let [a, v] = parts[..]
        && let (Some(a), Some(v)) = (parse_number(a), parse_number(v))
    {
        return Given::AddressValue(a, v);
    }
    let words: String = t.split_whitespace().collect::<Vec<_>>().join(" ");
    if FAULT_WORDS.contains(&words.as_str()) {
        return Given::Fault;
    }
    Given::Unclear(text.trim().to_string())
}

/// Whether `given` is the `expected` answer.
pub fn is_right(given: &Given, expected: Expected) -> bool {
    match (given, expected) {
        (Given::Fault, Expected::Fault) => true,
        (Given::Address(a), Expected::Address(b)) => *a == b,
        (Given::AddressValue(a, v), Expected::AddressValue { pa, value }) => {
            *a == pa && *v == value
        }
        _ => false,
    }
}

/// The tally of a quiz.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Score {
    /// Questions answered right.
    pub right: u64,
    /// Questions asked and answered.
    pub answered: u64,
}

/// Asks every question in turn, reading one line of `input` per answer and
/// writing the verdict to `out` (flushed after every prompt so a person at a
/// terminal sees it). Stops early, cleanly, at end of input. Ends with the
/// score line. `total` is the number of questions, for the score line.
/// With `echo` (input from a pipe, not typed), each answer is written after
/// its question so the transcript reads like a session.
///
/// Returns the score; errors only when reading or writing fails.
pub fn run(
    questions: impl IntoIterator<Item = Question>,
    total: u64,
    input: &mut dyn BufRead,
    echo: bool,
    out: &mut dyn Write,
) -> io::Result<Score> {
    let mut score = Score::default();
    let mut line = String::new();
    for q in questions {
        write!(out, "{} ", q.prompt)?;
        out.flush()?;
        line.clear();
        if input.read_line(&mut line)? == 0 {
            writeln!(out)?;
            writeln!(
                out,
                "End of input after {} of {total} questions.",
                score.answered
            )?;
            break;
        }
        if echo {
            writeln!(out, "{}", line.trim())?;
        }
        let given = parse_answer(&line);
        score.answered += 1;
        let verdict = if is_right(&given, q.expected) {
            score.right += 1;
            "right".to_string()
        } else {
            match &given {
                Given::Unclear(t) if t.is_empty() => "wrong (no answer)".to_string(),
                Given::Unclear(t) => format!(
                    "wrong (did not understand '{t}': answer with an address like 12848 or 0x3230, or 'violation')"
                ),
                Given::Address(a) if matches!(q.expected, Expected::AddressValue { .. }) => {
                    format!("wrong (you said {a} = {a:#x}; give the value loaded too)")
                }
                Given::Address(a) => format!("wrong (you said {a} = {a:#x})"),
                Given::AddressValue(a, v) => {
                    format!("wrong (you said {a} = {a:#x}, value {v} = {v:#x})")
                }
                Given::Fault => "wrong (you said it faults)".to_string(),
            }
        };
        writeln!(out, "    {verdict}: {}", q.explanation)?;
    }
    writeln!(
        out,
        "Score: {} of {} right ({} questions)",
        score.right, score.answered, total
    )?;
    Ok(score)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(expected: Expected) -> Question {
        Question {
            prompt: "VA 1?".into(),
            expected,
            explanation: "because".into(),
        }
    }

    #[test]
    fn answers_in_hex_decimal_and_words() {
        assert_eq!(parse_answer("12848\n"), Given::Address(12848));
        assert_eq!(parse_answer(" 0x3230 "), Given::Address(0x3230));
        assert_eq!(parse_answer("0X3230"), Given::Address(0x3230));
        assert_eq!(parse_answer("Violation"), Given::Fault);
        assert_eq!(parse_answer("seg  fault"), Given::Fault);
        assert_eq!(parse_answer("INVALID"), Given::Fault);
        assert_eq!(parse_answer("maybe"), Given::Unclear("maybe".into()));
        assert_eq!(parse_answer(""), Given::Unclear(String::new()));
        assert_eq!(parse_answer("0x6bc 0x08"), Given::AddressValue(0x6bc, 8));
        assert_eq!(parse_answer("1724, 8"), Given::AddressValue(1724, 8));
        assert_eq!(parse_answer("0x6BC -> 0x8"), Given::AddressValue(0x6bc, 8));
        assert_eq!(
            parse_answer("0x6bc 8 9"),
            Given::Unclear("0x6bc 8 9".into())
        );
    }

    #[test]
    fn an_address_and_value_question_needs_both() {
        let expected = Expected::AddressValue {
            pa: 0x6bc,
            value: 8,
        };
        assert!(is_right(&Given::AddressValue(0x6bc, 8), expected));
        assert!(!is_right(&Given::AddressValue(0x6bc, 9), expected));
        assert!(!is_right(&Given::Address(0x6bc), expected));
        let mut out = Vec::new();
        run(
            vec![q(expected)],
            1,
            &mut "0x6bc\n".as_bytes(),
            true,
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("give the value loaded too"), "{text}");
    }

    #[test]
    fn scores_right_and_wrong_and_stops_at_eof() {
        let questions = vec![
            q(Expected::Address(10)),
            q(Expected::Fault),
            q(Expected::Address(0x20)),
            q(Expected::Fault),
        ];
        let mut input = "10\n0x5\n".as_bytes();
        let mut out = Vec::new();
        let score = run(questions, 4, &mut input, true, &mut out).unwrap();
        assert_eq!(
            score,
            Score {
                right: 1,
                answered: 2
            }
        );
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("VA 1? 10\n    right: because\n"), "{text}");
        assert!(text.contains("wrong (you said 5 = 0x5)"), "{text}");
        assert!(text.contains("End of input after 2 of 4"), "{text}");
        assert!(
            text.ends_with("Score: 1 of 2 right (4 questions)\n"),
            "{text}"
        );
    }
}
