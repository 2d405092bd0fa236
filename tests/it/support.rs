//! Helpers: run the `vmlab` binary and compare its output, showing expected
//! and actual text on failure; replay the recorded OSTEP cases; make
//! temporary files.

#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// What a run of `vmlab` produced.
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

/// Runs `vmlab ARGS` with no standard input.
pub fn vmlab(args: &[&str]) -> Run {
    vmlab_with_input(args, "")
}

/// Runs `vmlab ARGS` with `input` piped to its standard input.
pub fn vmlab_with_input(args: &[&str], input: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vmlab"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vmlab binary runs");
    {
        let mut stdin = child.stdin.take().unwrap();
        // The program may exit before reading everything; that is fine.
        let _ = stdin.write_all(input.as_bytes());
    }
    let Output {
        stdout,
        stderr,
        status,
    } = child.wait_with_output().unwrap();
    Run {
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        code: status.code().unwrap_or(-1),
    }
}

impl Run {
    /// Asserts success (exit 0) and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "expected exit 0\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        &self.stdout
    }

    /// Asserts exit code 2 with exactly one line on stderr containing every
    /// one of `needles`, and no panic.
    #[track_caller]
    pub fn bad_input(&self, needles: &[&str]) {
        assert_eq!(
            self.code, 2,
            "expected exit 2 (bad input)\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "panic: {}", self.stderr);
        for n in needles {
            assert!(
                self.stderr.contains(n),
                "stderr should mention {n:?}\n--- stderr\n{}",
                self.stderr
            );
        }
    }

    /// Parses stdout as JSON lines.
    #[track_caller]
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }
}

/// Asserts two texts are equal, printing both in full when they are not.
#[track_caller]
pub fn assert_text_eq(expected: &str, actual: &str) {
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "texts differ (first difference at line {})\n--- expected\n{expected}\n--- actual\n{actual}",
            line + 1
        );
    }
}

/// Runs every recorded case of the OSTEP simulator `sim` (at least
/// `at_least` of them) in `tests/fixtures/ostep-public.jsonl` as `vmlab sim
/// ARGS`, and reports all the cases whose stdout or exit code differ at
/// once, each with the lines that differ and stderr.
#[track_caller]
pub fn golden(sim: &str, at_least: usize) {
    golden_in("ostep-public.jsonl", sim, at_least);
}

/// [`golden`] for the cases recorded in `tests/fixtures/FIXTURE`.
#[track_caller]
pub fn golden_in(fixture: &str, sim: &str, at_least: usize) {
    let path = format!("{}/tests/fixtures/{fixture}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("fixture file");
    let mut cases = 0;
    let mut failures = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: serde_json::Value = serde_json::from_str(line).expect("fixture line is JSON");
        if case["sim"] != sim {
            continue;
        }
        cases += 1;
        let args: Vec<&str> = case["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let mut argv = vec![sim];
        argv.extend(&args);
        let run = vmlab(&argv);
        let expected = case["stdout"].as_str().unwrap();
        let code = case["exit"].as_i64().unwrap() as i32;
        if run.stdout != expected || run.code != code {
            failures.push(format!(
                "{sim} {}: exit {} (expected {code})\n{}\n--- stderr\n{}",
                args.join(" "),
                run.code,
                diff(expected, &run.stdout),
                run.stderr
            ));
        }
    }
    assert!(
        cases >= at_least,
        "only {cases} {sim} cases found (expected at least {at_least})"
    );
    assert!(
        failures.is_empty(),
        "{} of {cases} {sim} cases differ:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The lines that differ, `-` expected and `+` actual.
fn diff(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<_>, Vec<_>) = (expected.lines().collect(), actual.lines().collect());
    let mut out = String::new();
    for i in 0..e.len().max(a.len()) {
        let (x, y) = (e.get(i), a.get(i));
        if x != y {
            if let Some(x) = x {
                out.push_str(&format!("  line {:>4} - {x}\n", i + 1));
            }
            if let Some(y) = y {
                out.push_str(&format!("  line {:>4} + {y}\n", i + 1));
            }
        }
    }
    if out.is_empty() && expected != actual {
        out.push_str("  (differ only in the final newline)\n");
    }
    out
}

/// A fresh path under the system's temporary directory, ending in `name`
/// (so that messages naming the file show `name`). Every call gets its
/// own path: the tests run in parallel.
pub fn temp_path(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("vmlab-it-{}-{n}-{name}", std::process::id()))
}

/// Writes `bytes` to a fresh temporary file ending in `name`.
pub fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let p = temp_path(name);
    std::fs::write(&p, bytes).unwrap();
    p
}
