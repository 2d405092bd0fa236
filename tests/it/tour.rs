//! The tour (docs/tour/*.md, and so the README) shows real output: every
//! `$ vmlab ...` command of a console block that can run here as written
//! (no shell pipes or redirections, every file it names in the repository,
//! no wall-clock timing in its output) is run again and must print what the
//! tour shows. A trailing `(exit N)` line in the tour is the exit status,
//! and a trailing `# (stderr)` remark is dropped.

use std::path::Path;

/// One command of the tour and the output shown under it.
struct Shown {
    file: String,
    line: usize,
    command: String,
    output: Vec<String>,
}

/// Every `$ vmlab` command inside a code fence, with the lines up to the
/// next command or the end of the fence.
fn commands(root: &Path) -> Vec<Shown> {
    let mut shown = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(root.join("docs/tour"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    // The README's own introduction too (its tour is the files above).
    files.insert(0, root.join("README.md"));
    for path in files {
        let mut text = std::fs::read_to_string(&path).unwrap();
        if path.ends_with("README.md")
            && let Some(at) = text.find("# A tour of the commands")
        {
            text.truncate(at);
        }
        let lines: Vec<&str> = text.lines().collect();
        let mut fenced = false;
        let mut i = 0;
        while i < lines.len() {
            let l = lines[i];
            i += 1;
            if l.starts_with("```") {
                fenced = !fenced;
                continue;
            }
            let Some(command) = l.strip_prefix("$ vmlab ").filter(|_| fenced) else {
                continue;
            };
            let mut output = Vec::new();
            while i < lines.len() && !lines[i].starts_with("$ ") && !lines[i].starts_with("```") {
                output.push(lines[i].to_string());
                i += 1;
            }
            shown.push(Shown {
                file: path.file_name().unwrap().to_string_lossy().into_owned(),
                line: i - output.len(),
                command: command.to_string(),
                output,
            });
        }
    }
    shown
}

/// Whether `c` can run here exactly as the tour writes it.
fn runnable(root: &Path, c: &Shown) -> bool {
    let shell = c
        .command
        .contains(['|', ';', '<', '>', '&', '\'', '"', '\\', '$']);
    let files_here = c
        .command
        .split_whitespace()
        .filter(|a| {
            a.contains('/')
                || [
                    ".txt", ".toml", ".lackey", ".bin", ".bink", ".s", ".elf", ".c",
                ]
                .iter()
                .any(|e| a.ends_with(e))
        })
        .all(|a| root.join(a).exists());
    let timed = c
        .output
        .iter()
        .any(|l| l.starts_with("time ") || l.contains("M instructions/s"));
    // Pictures written by --svg/--html are checked by the pictures test,
    // which runs those commands into temporary files.
    let writes = c.command.contains("--svg") || c.command.contains("--html");
    !shell && files_here && !timed && !writes
}

/// Whether `c` is a pipeline of `vmlab` into standard text tools (`grep`,
/// `sed`, `head`, `tail`, `cut`) that can run here as written through
/// `sh`: no redirection, no second command, every file in the repository,
/// no timing in its output.
fn piped(root: &Path, c: &Shown) -> bool {
    let mut stages = c.command.split('|');
    let first = stages.next().unwrap_or("");
    let tools_ok = c.command.contains('|')
        && stages.all(|s| {
            matches!(
                s.split_whitespace().next(),
                Some("grep" | "sed" | "head" | "tail" | "cut")
            )
        });
    let first_only = Shown {
        file: c.file.clone(),
        line: c.line,
        command: first.trim().to_string(),
        output: c.output.clone(),
    };
    tools_ok
        && !c.command.contains(['>', '<', ';', '&', '`', '$'])
        && runnable(root, &first_only)
        && programs_built(root, first)
}

/// Whether every program file (`file = "..."`) of the scenario files that
/// `command` names exists: the xv6 examples run ELF files that `vmlab cc`
/// builds only where the RISC-V cross compiler is installed.
fn programs_built(root: &Path, command: &str) -> bool {
    command
        .split_whitespace()
        .filter(|a| a.ends_with(".toml"))
        .all(|a| {
            let toml = root.join(a);
            let dir = toml.parent().unwrap_or(root).to_path_buf();
            let text = std::fs::read_to_string(&toml).unwrap_or_default();
            text.lines()
                .filter_map(|l| l.trim().strip_prefix("file = \""))
                .filter_map(|rest| rest.split('"').next())
                .all(|f| dir.join(f).exists())
        })
}

#[test]
fn every_piped_tour_command_prints_what_the_tour_shows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = Path::new(env!("CARGO_BIN_EXE_vmlab"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let all = commands(root);
    let piped: Vec<&Shown> = all.iter().filter(|c| piped(root, c)).collect();
    assert!(
        piped.len() >= 20,
        "only {} piped tour commands are checked",
        piped.len()
    );
    let mut wrong = Vec::new();
    for c in piped {
        let mut expected = c.output.clone();
        while expected
            .last()
            .is_some_and(|l| l.trim().is_empty() || l == "...")
        {
            expected.pop();
        }
        let run = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("vmlab {}", c.command))
            .env("PATH", &path)
            .current_dir(root)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&run.stdout).into_owned();
        let got: Vec<&str> = text.trim_end_matches('\n').lines().collect();
        if got != expected || !run.stderr.is_empty() {
            wrong.push(format!(
                "{}:{}: $ vmlab {}\n  shown:\n    {}\n  printed:\n    {}\n  stderr: {}",
                c.file,
                c.line,
                c.command,
                expected.join("\n    "),
                got.join("\n    "),
                String::from_utf8_lossy(&run.stderr)
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "the tour is out of date:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_runnable_tour_command_prints_what_the_tour_shows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let all = commands(root);
    let runnable: Vec<&Shown> = all.iter().filter(|c| runnable(root, c)).collect();
    // Most of the tour runs as written; the rest needs valgrind captures,
    // files made by earlier commands, or shows timings.
    assert!(
        runnable.len() >= 30,
        "only {} of {} tour commands are checked",
        runnable.len(),
        all.len()
    );
    let wrong: Vec<String> = runnable
        .into_iter()
        .filter_map(|c| differs(c, root))
        .collect();
    assert!(
        wrong.is_empty(),
        "the tour is out of date:\n{}",
        wrong.join("\n")
    );
}

/// The files a command writes (`-o`, `--pa-trace`, `--va-trace` and their old names `--out`, `--trace-out`, a shell
/// redirection), which later commands of the tour read.
fn written(command: &str) -> Vec<String> {
    let words: Vec<&str> = command.split_whitespace().collect();
    words
        .windows(2)
        .filter(|w| {
            matches!(
                w[0],
                "-o" | "--pa-trace" | "--va-trace" | "--out" | "--trace-out" | ">"
            )
        })
        .map(|w| w[1].trim_end_matches(';').to_string())
        .collect()
}

/// §2: every file a `$ vmlab` command of the tour reads is in the
/// repository (`examples/`, the error examples in `examples/errors/`, the
/// traces in `examples/traces/`), so that each runs as written from the
/// repository root; the exceptions are the files an earlier command of the
/// tour writes, and `prog.lackey`, a valgrind capture (the tour offers
/// `tests/fixtures/lackey-prog.txt` instead).
#[test]
fn every_file_a_tour_command_reads_is_shipped() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let all = commands(root);
    let mut made: Vec<String> = all.iter().flat_map(|c| written(&c.command)).collect();
    made.push("prog.lackey".into());
    let mut missing = Vec::new();
    for c in &all {
        for a in c.command.split_whitespace() {
            let a = a.trim_end_matches(';');
            let file_like = a.contains('/')
                || [
                    ".txt", ".toml", ".lackey", ".bin", ".bink", ".s", ".elf", ".c",
                ]
                .iter()
                .any(|e| a.ends_with(e));
            if file_like
                && !a.starts_with('-')
                && !root.join(a).exists()
                && !made.contains(&a.to_string())
            {
                missing.push(format!(
                    "{}:{}: {a} (in $ vmlab {})",
                    c.file, c.line, c.command
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "files the tour uses but the repository lacks:\n{}",
        missing.join("\n")
    );
}

/// Runs `c` in `dir` and compares with what the tour shows: `None` when
/// they agree, else the report of both.
fn differs(c: &Shown, dir: &Path) -> Option<String> {
    let mut expected = c.output.clone();
    while expected.last().is_some_and(|l| l.trim().is_empty()) {
        expected.pop();
    }
    // The exit status is checked where the tour states it.
    let mut code = None;
    if let Some(n) = expected.last().and_then(|l| {
        l.strip_prefix("(exit ")?
            .strip_suffix(')')?
            .parse::<i32>()
            .ok()
    }) {
        code = Some(n);
        expected.pop();
    }
    for l in &mut expected {
        if let Some(kept) = l.strip_suffix("# (stderr)") {
            *l = kept.trim_end().to_string();
        }
    }
    let args: Vec<&str> = c.command.split_whitespace().collect();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_vmlab"))
        .args(&args)
        .current_dir(dir)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&run.stdout).into_owned() + &String::from_utf8_lossy(&run.stderr);
    let got: Vec<&str> = text.trim_end_matches('\n').lines().collect();
    let status = run.status.code().unwrap_or(-1);
    let status_ok = code.is_none_or(|c| c == status);
    (got != expected || !status_ok).then(|| {
        format!(
            "{}:{}: $ vmlab {}\n  shown (exit {code:?}):\n    {}\n  printed (exit {status}):\n    {}",
            c.file,
            c.line,
            c.command,
            expected.join("\n    "),
            got.join("\n    ")
        )
    })
}

/// The tour's commands that read a file an earlier command writes (`asm
/// -o sum.elf`, `run --va-trace sum.bink`, `trace --pa-trace e7-pa.bink`,
/// and those that read them) run in order in a scratch directory that
/// sees the repository's `examples/`, `tests/` and `docs/`, so that what
/// they write stays out of the repository. Left out: `prog.lackey` (a
/// valgrind capture; the tour offers a fixture) and the xv6 programs
/// that `vmlab cc` writes into `examples/xv6` (tests/it/cc.rs compiles
/// and runs them when the cross compiler is installed).
#[test]
fn tour_commands_that_read_earlier_outputs_print_what_the_tour_shows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scratch = std::env::temp_dir().join(format!("vmlab-tour-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    for d in ["examples", "tests", "docs"] {
        std::os::unix::fs::symlink(root.join(d), scratch.join(d)).unwrap();
    }
    let mut checked = 0;
    let mut wrong = Vec::new();
    for c in commands(root) {
        if runnable(root, &c) {
            continue;
        }
        let shell = c
            .command
            .contains(['|', ';', '<', '>', '&', '\'', '"', '\\', '$']);
        let pictures = c.command.contains("--svg") || c.command.contains("--html");
        let timed = c
            .output
            .iter()
            .any(|l| l.starts_with("time ") || l.contains("M instructions/s"));
        let made = written(&c.command);
        let files: Vec<&str> = c
            .command
            .split_whitespace()
            .filter(|a| !a.starts_with('-'))
            .filter(|a| {
                a.contains('/')
                    || [
                        ".txt", ".toml", ".lackey", ".bin", ".bink", ".s", ".elf", ".c",
                    ]
                    .iter()
                    .any(|e| a.ends_with(e))
            })
            .collect();
        // Files it needs are in the scratch directory (or it writes them);
        // it writes only bare names (never into the repository).
        let ready = files
            .iter()
            .all(|a| scratch.join(a).exists() || made.iter().any(|m| m == a));
        let contained = made.iter().all(|m| !m.contains('/'));
        if shell || pictures || timed || !ready || !contained {
            continue;
        }
        checked += 1;
        wrong.extend(differs(&c, &scratch));
    }
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(checked >= 4, "only {checked} chained tour commands checked");
    assert!(
        wrong.is_empty(),
        "the tour is out of date:\n{}",
        wrong.join("\n")
    );
}
