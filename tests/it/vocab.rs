//! One vocabulary across the commands (issue 12 §2): output a teacher diffs
//! or grades is the same bytes on every run, the same flags mean the same
//! thing in every command, and numbers are written as the slides write them.

use crate::support::vmlab;

const LACKEY: &str = "tests/fixtures/lackey-prog.txt";

/// Runs `vmlab ARGS` twice; both runs must succeed with the same stdout,
/// which is returned.
#[track_caller]
fn same_bytes_twice(args: &[&str]) -> String {
    let first = vmlab(args);
    let second = vmlab(args);
    assert_eq!(
        first.code, second.code,
        "vmlab {args:?}: exit codes differ\n{}\n{}",
        first.stderr, second.stderr
    );
    assert_eq!(
        first.stdout, second.stdout,
        "vmlab {args:?}: stdout differs between two runs"
    );
    first.stdout
}

// --- deterministic output --------------------------------------------------

#[test]
fn trace_summary_is_the_same_bytes_on_every_run() {
    let text = same_bytes_twice(&["trace", "--layout", "auto", LACKEY]);
    assert!(!text.contains("references/s"), "{text}");
    assert!(!text.lines().any(|l| l.starts_with("time ")), "{text}");
    assert!(text.contains("estimated time"), "{text}");
}

#[test]
fn trace_timing_adds_the_time_line_at_the_end() {
    let run = vmlab(&["trace", "--layout", "auto", "--timing", LACKEY]);
    let last = run.ok().lines().last().unwrap_or("");
    assert!(
        last.starts_with("time ") && last.contains("references/s"),
        "{last}"
    );
    assert!(last.ends_with("fitting the layout)"), "{last}");
}
