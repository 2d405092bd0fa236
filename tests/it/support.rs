//! Helpers: run the `vmlab` binary and compare its output, showing expected
//! and actual text on failure.

#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

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
