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

#[test]
fn every_command_that_computes_prints_the_same_bytes_twice() {
    for args in [
        &["scenario", "run", "e7"][..],
        &["scenario", "run", "e11", "--json"],
        &["translate", "--base", "1k", "--bounds", "1k", "100", "3072"],
        &["run", "examples/sum.s", "--trace"],
        &["run", "examples/sum.s", "--json"],
        &["heap", "--size", "100", "--policy", "all", "A:20", "B:30"],
        &["sched", "--jobs", "A:0:40,B:0:20,C:5:10", "--policy", "rr"],
        &["trace", "--layout", "auto", "--json", LACKEY],
    ] {
        same_bytes_twice(args);
    }
}

// --- one vocabulary ----------------------------------------------------------

#[test]
fn run_takes_the_mechanism_flags_of_translate_and_trace() {
    let e4 = [
        "run",
        "examples/e4.s",
        "--reg",
        "s0=0x200",
        "--max-instructions",
        "3",
        "--trace",
    ];
    let new: Vec<&str> = e4
        .iter()
        .copied()
        .chain(["--base", "4k", "--bounds", "1k"])
        .collect();
    let old: Vec<&str> = e4
        .iter()
        .copied()
        .chain(["--mmu", "base-bounds", "--base", "4k", "--space", "1k"])
        .collect();
    let (new, old) = (vmlab(&new), vmlab(&old));
    assert_eq!(new.stdout, old.stdout);
    assert!(
        new.stdout.contains("load 0x00000208 -> 0x00001208"),
        "{}",
        new.stdout
    );
    // Beyond the bounds: --bounds is the bounds register.
    let tight = vmlab(&["run", "examples/e4.s", "--base", "4k", "--bounds", "0x10"]);
    assert_eq!(tight.code, 2, "{}", tight.stderr);
    assert!(tight.stderr.contains("--bounds"), "{}", tight.stderr);
    // --base alone is a base register only, as in translate.
    let base = vmlab(&["run", "examples/sum.s", "--base", "8k", "--json", "--trace"]);
    let first = &base.json_lines()[0];
    assert_eq!(
        first["pa"].as_u64(),
        Some(0x2000 + first["va"].as_u64().unwrap())
    );
    // A segment table by hand, as translate and trace take it: code r-x,
    // data rw- (sum.s keeps it at 0x1000: segment 1), a stack growing down.
    let table = [
        "--va-bits",
        "14",
        "--segment",
        "0x4000:0x1000:rx:code",
        "--segment",
        "0x8000:0x100:rw:data",
        "--segment",
        "0:0:-",
        "--segment",
        "0xa000:0x400:rw:down:stack",
    ];
    let args: Vec<&str> = ["run", "examples/sum.s", "--json", "--trace"]
        .into_iter()
        .chain(table)
        .collect();
    let run = vmlab(&args);
    assert_eq!(run.code, 55, "{}", run.stderr);
    let records = run.json_lines();
    let load = records.iter().find(|r| r["kind"] == "load").unwrap();
    assert_eq!(load["segment"], 1);
    assert_eq!(
        load["pa"].as_u64(),
        Some(0x8000 + load["offset"].as_u64().unwrap())
    );
    // The same table with the data segment read-only: the store faults.
    let ro: Vec<&str> = ["run", "examples/sum.s"]
        .into_iter()
        .chain(table)
        .map(|a| {
            if a == "0x8000:0x100:rw:data" {
                "0x8000:0x100:r:data"
            } else {
                a
            }
        })
        .collect();
    let ro = vmlab(&ro);
    assert_eq!(ro.code, 1);
    assert!(ro.stderr.contains("protection fault"), "{}", ro.stderr);
    // Flags that contradict each other are one-line errors.
    vmlab(&["run", "examples/sum.s", "--va-bits", "14"]).bad_input(&["--va-bits", "--segment"]);
    vmlab(&[
        "run",
        "examples/sum.s",
        "--base",
        "4k",
        "--va-bits",
        "14",
        "--segment",
        "0:4k:rx",
    ])
    .bad_input(&["--segment", "--base"]);
    vmlab(&[
        "run",
        "examples/sum.s",
        "--va-bits",
        "14",
        "--segment",
        "0:0x10:rx",
    ])
    .bad_input(&["outside segment 0's bounds"]);
}

#[test]
fn one_default_physical_memory_size_in_every_command() {
    for cmd in ["translate", "trace", "run"] {
        let help = vmlab(&[cmd, "--help"]);
        assert!(help.ok().contains("64m, as in every command"), "{cmd}");
    }
    let translate = vmlab(&["translate", "--base", "1k", "--bounds", "1k", "100"]);
    assert!(translate.ok().contains("physical memory 64m"));
    // 64m holds a base far beyond the old 64k default.
    let far = vmlab(&["translate", "--base", "1m", "--bounds", "1k", "100"]);
    assert!(far.ok().contains("-> PA 0x100064"), "{}", far.stdout);
    let trace = crate::support::vmlab_with_input(
        &["trace", "--base", "1m", "--bounds", "1k", "-"],
        "100\n",
    );
    assert!(
        trace.ok().contains("physical memory 64m"),
        "{}",
        trace.stdout
    );
}

#[test]
fn fit_policies_take_both_spellings() {
    let short = vmlab(&["heap", "--size", "100", "--policy", "first", "A:20", "B:30"]);
    let long = vmlab(&[
        "heap",
        "--size",
        "100",
        "--policy",
        "first-fit",
        "A:20",
        "B:30",
    ]);
    assert_eq!(short.ok(), long.ok());
    vmlab(&["heap", "--policy", "firstest", "A:20"]).bad_input(&["--policy", "first-fit"]);
    let toml = |placement: &str| {
        format!(
            "title = \"fit\"\n[machine]\nmemory = \"16k\"\nos_size = \"1k\"\nstrategy = \"base-bounds\"\nplacement = \"{placement}\"\n\n[[process]]\nname = \"P1\"\nsize = \"1k\"\naccesses = [\"load 100\"]\n"
        )
    };
    let a = crate::support::temp_file("fit-short.toml", toml("best").as_bytes());
    let b = crate::support::temp_file("fit-long.toml", toml("best-fit").as_bytes());
    let a = vmlab(&["scenario", "run", a.to_str().unwrap()]);
    let b = vmlab(&["scenario", "run", b.to_str().unwrap()]);
    assert!(a.ok().contains("placement best-fit"), "{}", a.stdout);
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn strict_means_a_fault_fails_the_command_everywhere() {
    for cmd in [
        &["translate"][..],
        &["trace"],
        &["run"],
        &["scenario", "run"],
    ] {
        let help: Vec<&str> = cmd.iter().copied().chain(["--help"]).collect();
        let help = vmlab(&help);
        assert!(
            help.ok().contains("Strict: exit with code 1"),
            "{cmd:?}: {}",
            help.stdout
        );
    }
    let translate = vmlab(&[
        "translate",
        "--base",
        "1k",
        "--bounds",
        "1k",
        "3072",
        "--strict",
    ]);
    assert_eq!(translate.code, 1);
    let trace = crate::support::vmlab_with_input(
        &["trace", "--base", "1k", "--bounds", "1k", "--strict", "-"],
        "100\n3072\n",
    );
    assert_eq!(trace.code, 1, "{}", trace.stderr);
    assert!(trace.stdout.contains("bounds"), "{}", trace.stdout);
    let clean = crate::support::vmlab_with_input(
        &["trace", "--base", "1k", "--bounds", "1k", "--strict", "-"],
        "100\n",
    );
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    assert_eq!(vmlab(&["scenario", "run", "e7", "--strict"]).code, 1);
}

#[test]
fn output_files_are_named_by_what_they_hold_and_the_old_names_still_work() {
    let new = crate::support::temp_path("vocab-new.bink");
    let old = crate::support::temp_path("vocab-old.bink");
    // sum.s exits with its sum, 55.
    let a = vmlab(&["run", "examples/sum.s", "--va-trace", new.to_str().unwrap()]);
    let b = vmlab(&[
        "run",
        "examples/sum.s",
        "--trace-out",
        old.to_str().unwrap(),
    ]);
    assert_eq!((a.code, b.code), (55, 55), "{}{}", a.stderr, b.stderr);
    let recorded = std::fs::read(&new).unwrap();
    assert!(!recorded.is_empty());
    assert_eq!(recorded, std::fs::read(&old).unwrap());
    let pa_new = crate::support::temp_path("vocab-pa-new.bink");
    let pa_old = crate::support::temp_path("vocab-pa-old.bink");
    for (flag, path) in [("--pa-trace", &pa_new), ("--out", &pa_old)] {
        vmlab(&[
            "trace",
            "--base",
            "4k",
            "--bounds",
            "64k",
            flag,
            path.to_str().unwrap(),
            new.to_str().unwrap(),
        ])
        .ok();
    }
    assert_eq!(
        std::fs::read(&pa_new).unwrap(),
        std::fs::read(&pa_old).unwrap()
    );
    let help = vmlab(&["trace", "--help"]);
    assert!(help.ok().contains("--pa-trace <FILE>"));
    assert!(!help.stdout.contains("--out <FILE>"));
    for p in [new, old, pa_new, pa_old] {
        let _ = std::fs::remove_file(p);
    }
}

#[test]
fn run_help_example_sends_code_and_data_to_different_segments() {
    let help = vmlab(&["run", "--help"]);
    let text = help.ok();
    assert!(text.contains("--segment 0x4000:0x1000:rx:code --segment 0x8000:0x100:r:data"));
    // What the example shows, run: code in segment 0, data faulting in 1.
    let bink = crate::support::temp_path("vocab-help.bink");
    let recorded = vmlab(&[
        "run",
        "examples/sum.s",
        "--va-trace",
        bink.to_str().unwrap(),
    ]);
    assert_eq!(recorded.code, 55, "{}", recorded.stderr);
    let run = vmlab(&[
        "trace",
        "--va-bits",
        "14",
        "--segment",
        "0x4000:0x1000:rx:code",
        "--segment",
        "0x8000:0x100:r:data",
        "--segment",
        "0:0:-",
        "--segment",
        "0:0:-",
        "--json",
        bink.to_str().unwrap(),
    ]);
    let s = &run.json_lines()[0];
    let segs = s["segments"].as_array().unwrap();
    assert!(
        segs.iter()
            .any(|g| g["segment"] == 0 && g["references"].as_u64() > Some(0))
    );
    assert!(
        segs.iter()
            .any(|g| g["segment"] == 1 && g["faults"].as_u64() > Some(0))
    );
    let _ = std::fs::remove_file(bink);
}

// --- numbers as the slides write them ---------------------------------------

#[test]
fn addresses_are_hex_in_one_format_and_decimal_on_request() {
    let e7 = vmlab(&["scenario", "run", "e7"]);
    let text = e7.ok();
    assert!(text.contains("P1: load 0x64 -> PA 0x464, read 0"), "{text}");
    assert!(
        text.contains("MMU loaded with base=0x400 bounds=0x400"),
        "{text}"
    );
    assert!(!text.contains("100 (0x64)"), "{text}");
    let decimal = vmlab(&["--decimal", "scenario", "run", "e7"]);
    assert!(decimal.ok().contains("P1: load 100 -> PA 1124, read 0"));
    // After the subcommand too (the switch is global).
    let after = vmlab(&["scenario", "run", "e7", "--decimal"]);
    assert_eq!(after.ok(), decimal.stdout);
    let t = vmlab(&["translate", "--base", "1k", "--bounds", "1k", "100"]);
    let t = t.ok();
    assert!(t.contains("VA 0x64 (decimal 100) read"), "{t}");
    assert!(
        t.contains("add    base 0x400 + 0x64 = 0x464\n  -> PA 0x464 (decimal 1124)"),
        "{t}"
    );
    let d = vmlab(&[
        "translate",
        "--decimal",
        "--base",
        "1k",
        "--bounds",
        "1k",
        "100",
    ]);
    assert!(d.ok().contains("-> PA 1124 (hex 0x464)"), "{}", d.stdout);
    // run --trace keeps its columns, in decimal on request.
    let run = vmlab(&["run", "examples/sum.s", "--trace", "--decimal"]);
    assert!(
        run.stdout
            .starts_with("fetch          0 ->       4096 (code)\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn the_ostep_drop_ins_ignore_decimal_and_stay_byte_identical() {
    for args in [
        &["relocation", "-s", "1", "-c"][..],
        &["segmentation", "-s", "1", "-c"],
        &["paging-linear-translate", "-s", "1", "-c"],
        &["malloc", "-s", "1", "-n", "5", "-c"],
        &["scheduler", "-s", "1", "-c"],
    ] {
        let plain = vmlab(args);
        let with: Vec<&str> = args.iter().copied().chain(["--decimal"]).collect();
        let with = vmlab(&with);
        assert_eq!(plain.ok(), with.ok(), "{args:?}");
    }
}

// --- the instructors' guide ---------------------------------------------------

/// The `$ vmlab` commands of docs/instructors.md's `console` blocks, each
/// with the lines shown under it.
fn guide_commands(text: &str) -> Vec<(String, Vec<String>)> {
    let mut shown = Vec::new();
    let mut lines = text.lines().peekable();
    let mut console = false;
    while let Some(l) = lines.next() {
        if l.starts_with("```") {
            console = !console && l == "```console";
            continue;
        }
        let Some(cmd) = l.strip_prefix("$ vmlab ").filter(|_| console) else {
            continue;
        };
        let mut output = Vec::new();
        while let Some(next) = lines.peek() {
            if next.starts_with("$ ") || next.starts_with("```") {
                break;
            }
            output.push(lines.next().unwrap().to_string());
        }
        while output.last().is_some_and(|l| l.is_empty()) {
            output.pop();
        }
        shown.push((cmd.to_string(), output));
    }
    shown
}

#[test]
fn the_instructors_guide_shows_real_output_and_the_readme_links_it() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("docs/instructors.md")).unwrap();
    let cmds = guide_commands(&text);
    assert!(cmds.len() >= 3, "{} commands", cmds.len());
    for (cmd, shown) in cmds {
        let args: Vec<&str> = cmd.split_whitespace().collect();
        let run = vmlab(&args);
        let printed = run.ok().trim_end_matches('\n');
        crate::support::assert_text_eq(&shown.join("\n"), printed);
    }
    for term in [
        "PCB", "bounds", "lackey", "bin-kind", "ADDRSORT", "TLB", "ASID", "satp", "PTE",
    ] {
        assert!(
            text.contains(&format!("**{term}")) || text.contains(&format!(", {term}")),
            "{term}"
        );
    }
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains("(docs/instructors.md)"));
}
