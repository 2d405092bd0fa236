//! `vmlab trace`: every format against the scalar `Mmu::explain` path on
//! random traces, the real lackey capture in `tests/fixtures/lackey-prog.txt`
//! (from `tests/fixtures/lackey-prog.c` under Debian's valgrind 3.19: the
//! banner, `main`'s prologue and call to malloc, then `main`'s loops to its
//! return, and valgrind's closing lines; malloc's 3,000-line inside and the
//! dynamic loader's start-up are cut), malformed input, `--out` and stdin.

use crate::support::{temp_file, temp_path, vmlab, vmlab_with_input};
use proptest::prelude::*;
use serde_json::Value;
use vmlab::mmu::{Access, AnyMmu, Base, BaseBounds, Identity, Mmu, Perms, Segment, Segmentation};
use vmlab::render::translation;

const FIXTURE: &str = "tests/fixtures/lackey-prog.txt";

/// The mechanisms the property test replays: flags and the same MMU built
/// through the library.
fn mechanisms() -> Vec<(Vec<&'static str>, AnyMmu)> {
    vec![
        (
            vec![
                "--base",
                "0x1000",
                "--bounds",
                "0x3000",
                "--phys-mem",
                "64k",
            ],
            AnyMmu::BaseBounds(BaseBounds::new(0x1000, 0x3000, 64 * 1024).unwrap()),
        ),
        (
            vec!["--base", "0xe000", "--phys-mem", "64k"],
            AnyMmu::Base(Base::new(0xe000, 64 * 1024)),
        ),
        (
            vec!["--phys-mem", "16k"],
            AnyMmu::Identity(Identity::new(16 * 1024)),
        ),
        (
            vec![
                "--va-bits",
                "14",
                "--segment",
                "0x2000:0x6ff:rx:code",
                "--segment",
                "0:0x4ff:rw:heap",
                "--segment",
                "0x4000:0x800:rw:down:stack",
                "--segment",
                "0:0:-",
                "--phys-mem",
                "64k",
            ],
            AnyMmu::Segmentation(
                Segmentation::new(
                    14,
                    vec![
                        Segment::up(0x2000, 0x6ff, Perms::R | Perms::X).named("code"),
                        Segment::up(0, 0x4ff, Perms::R | Perms::W).named("heap"),
                        Segment::down(0x4000, 0x800, Perms::R | Perms::W).named("stack"),
                        Segment::up(0, 0, Perms::empty()),
                    ],
                    64 * 1024,
                )
                .unwrap(),
            ),
        ),
    ]
}

/// One trace written in `format`, with the references it stands for.
fn encode(format: &str, refs: &[(u64, Access)]) -> (Vec<u8>, Vec<(u64, Access)>) {
    let letter = |a: Access| match a {
        Access::Fetch => "F",
        Access::Read => "R",
        Access::Write => "W",
    };
    let mut b = Vec::new();
    let mut meant = Vec::new();
    match format {
        "text" => {
            b.extend_from_slice(b"# a random trace\n");
            for (i, &(va, a)) in refs.iter().enumerate() {
                let line = if i % 2 == 0 {
                    format!("{} 0x{va:x}\n", letter(a))
                } else {
                    format!("{}:{va}\n", letter(a).to_lowercase())
                };
                b.extend_from_slice(line.as_bytes());
                meant.push((va, a));
            }
        }
        "bin" => {
            for &(va, _) in refs {
                b.extend_from_slice(&va.to_le_bytes());
                meant.push((va, Access::Write)); // the test passes --access write
            }
        }
        "bin-kind" => {
            for &(va, a) in refs {
                b.extend_from_slice(&va.to_le_bytes());
                b.push(match a {
                    Access::Read => 0,
                    Access::Write => 1,
                    Access::Fetch => 2,
                });
                meant.push((va, a));
            }
        }
        "lackey" => {
            b.extend_from_slice(b"==42== Lackey, an example Valgrind tool\n");
            for (i, &(va, a)) in refs.iter().enumerate() {
                let line = match a {
                    Access::Fetch => format!("I  {va:08x},3\n"),
                    Access::Read if i % 3 == 0 => {
                        meant.push((va, Access::Read));
                        meant.push((va, Access::Write));
                        b.extend_from_slice(format!(" M {va:08x},4\n").as_bytes());
                        continue;
                    }
                    Access::Read => format!(" L {va:08x},8\n"),
                    Access::Write => format!(" S {va:08x},8\n"),
                };
                b.extend_from_slice(line.as_bytes());
                meant.push((va, a));
            }
            b.extend_from_slice(b"==42== \n");
        }
        _ => unreachable!(),
    }
    (b, meant)
}

fn access_strategy() -> impl Strategy<Value = Access> {
    prop_oneof![Just(Access::Fetch), Just(Access::Read), Just(Access::Write)]
}

fn address_strategy() -> impl Strategy<Value = u64> {
    prop_oneof![8 => 0u64..0x5000, 1 => any::<u64>()]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Every format, every mechanism: the per-reference records and the
    /// summary counts are exactly those of the scalar `explain` path.
    #[test]
    fn every_format_matches_the_scalar_translation(
        refs in prop::collection::vec((address_strategy(), access_strategy()), 1..300),
        which in 0usize..4,
    ) {
        let (flags, mmu) = mechanisms().swap_remove(which);
        for format in ["text", "bin", "bin-kind", "lackey"] {
            let (bytes, meant) = encode(format, &refs);
            let path = temp_file(&format!("random.{format}"), &bytes);
            let mut args = vec!["trace"];
            args.extend(flags.iter().copied());
            let p = path.to_str().unwrap();
            args.extend(["--format", format, "--access", "write", "--json", "--per-access", p]);
            let run = vmlab(&args);
            let _ = std::fs::remove_file(&path);
            run.ok();
            let lines = run.json_lines();
            prop_assert_eq!(lines.len(), meant.len() + 1, "{}", format);
            let mut valid = 0;
            for ((va, access), got) in meant.iter().zip(&lines) {
                let t = mmu.explain(vmlab::VirtAddr::new(*va), *access);
                valid += t.result.is_ok() as u64;
                prop_assert_eq!(got, &translation::to_json(&t, mmu.mechanism()), "{}", format);
            }
            let summary = lines.last().unwrap();
            prop_assert_eq!(&summary["kind"], "trace-summary");
            prop_assert_eq!(summary["references"].as_u64(), Some(meant.len() as u64));
            prop_assert_eq!(summary["valid"].as_u64(), Some(valid));
            let count = |a: Access| meant.iter().filter(|m| m.1 == a).count() as u64;
            prop_assert_eq!(summary["write"].as_u64(), Some(count(Access::Write)));
            prop_assert_eq!(summary["fetch"].as_u64(), Some(count(Access::Fetch)));
        }
    }
}

/// The references a lackey file holds, counted independently of vmlab.
fn lackey_counts(text: &str) -> (u64, u64, u64) {
    let (mut fetch, mut read, mut write) = (0, 0, 0);
    for line in text.lines() {
        match line.get(..2) {
            Some("I ") => fetch += 1,
            Some(" L") => read += 1,
            Some(" S") => write += 1,
            Some(" M") => {
                read += 1;
                write += 1;
            }
            _ => {}
        }
    }
    (fetch, read, write)
}

#[test]
fn real_lackey_trace_replays_under_an_auto_layout_without_faults() {
    let run = vmlab(&["trace", "--layout", "auto", "--json", FIXTURE]);
    let s = &run.json_lines()[0];
    let (fetch, read, write) = lackey_counts(&std::fs::read_to_string(FIXTURE).unwrap());
    assert_eq!(s["format"], "lackey");
    assert_eq!(s["layout"], "auto");
    assert_eq!(s["mechanism"], "segmentation");
    assert_eq!(s["fetch"].as_u64(), Some(fetch));
    assert_eq!(s["read"].as_u64(), Some(read));
    assert_eq!(s["write"].as_u64(), Some(write));
    assert_eq!(s["references"].as_u64(), Some(fetch + read + write));
    // The layout fits the trace: nothing faults, nothing is malformed.
    assert_eq!(s["faulted"].as_u64(), Some(0));
    assert_eq!(s["malformed"].as_u64(), Some(0));
    // The program's code, the loader + libc + heap, and a stack growing down.
    let segs = s["segments"].as_array().unwrap();
    let stack = segs.last().unwrap();
    assert_eq!(stack["name"], "stack");
    assert_eq!(stack["grows"], "down");
    assert_eq!(stack["perms"], "rw-");
    assert!(stack["lowest_va"].as_u64().unwrap() >= 0x1ffe000000);
    let program = &segs[0];
    assert!(program["perms"].as_str().unwrap().contains('x'));
    assert!(program["lowest_va"].as_u64().unwrap() <= 0x109149); // main
    let per_segment: u64 = segs.iter().map(|g| g["references"].as_u64().unwrap()).sum();
    assert_eq!(per_segment, fetch + read + write);
}

#[test]
fn real_lackey_trace_under_a_small_segment_table_faults_by_reason() {
    // Two 2^36-byte segments: the low one read+execute only (stores to
    // globals and heap are protection faults), the high one an 8 MiB stack
    // (the program reaches 16 MiB below the top: bounds faults).
    let run = vmlab(&[
        "trace",
        "--va-bits",
        "37",
        "--segment",
        "0:0x5000000:rx:low",
        "--segment",
        "0x6000000:0x800000:rw:down:high",
        "--phys-mem",
        "96m",
        FIXTURE,
    ]);
    let out = run.ok();
    assert!(
        out.contains("trace tests/fixtures/lackey-prog.txt (lackey, "),
        "{out}"
    );
    assert!(out.contains("  protection "), "{out}");
    assert!(out.contains("  bounds "), "{out}");
    assert!(out.contains("malformed lines skipped: 0"), "{out}");
}

#[test]
fn lackey_from_stdin_with_an_auto_layout_matches_the_file() {
    let text = std::fs::read_to_string(FIXTURE).unwrap();
    let from_file = vmlab(&["trace", "--layout", "auto", "--json", FIXTURE]).json_lines();
    let from_stdin =
        vmlab_with_input(&["trace", "--layout", "auto", "--json", "-"], &text).json_lines();
    for key in ["references", "valid", "fetch", "read", "write", "segments"] {
        assert_eq!(from_file[0][key], from_stdin[0][key], "{key}");
    }
    assert_eq!(from_stdin[0]["trace"], "-");
}

#[test]
fn malformed_lines_are_counted_and_the_first_is_named() {
    let trace = temp_file("bad.txt", b"0x10\nW 0x20\nzap 0x30\n0x40 junk\n0x50\n");
    let run = vmlab(&["trace", "--json", trace.to_str().unwrap()]);
    let s = &run.json_lines()[0];
    assert_eq!(s["references"].as_u64(), Some(3));
    assert_eq!(s["malformed"].as_u64(), Some(2));
    assert_eq!(s["first_malformed"]["line"].as_u64(), Some(3));
    assert_eq!(s["first_malformed"]["content"], "zap 0x30");
    let text = vmlab(&["trace", trace.to_str().unwrap()]);
    assert!(
        text.ok()
            .contains("malformed lines skipped: 2 (first: line 3: "),
        "{}",
        text.stdout
    );
    let _ = std::fs::remove_file(trace);
}

#[test]
fn strict_stops_at_the_first_malformed_line_with_exit_2() {
    let trace = temp_file("strict.txt", b"0x10\n0x20\n0x3q\n0x40\n");
    let name = trace.to_str().unwrap();
    let run = vmlab(&["trace", "--strict", name]);
    run.bad_input(&[name, "line 3", "'0x3q'"]);
    assert_eq!(run.stderr.lines().count(), 1);
    let _ = std::fs::remove_file(trace);
}

#[test]
fn strict_lackey_names_program_output_mixed_into_the_trace() {
    let run = vmlab_with_input(
        &["trace", "--format", "lackey", "--strict", "-"],
        "I  0401ab70,3\nhello from the program\n",
    );
    run.bad_input(&["-: line 2", "hello from the program"]);
}

#[test]
fn binary_trace_with_trailing_bytes_is_refused_naming_them() {
    let mut bytes = 0x10u64.to_le_bytes().to_vec();
    bytes.extend([0xde, 0xad, 0xbe]);
    let trace = temp_file("odd.bin", &bytes);
    let run = vmlab(&["trace", trace.to_str().unwrap()]);
    run.bad_input(&["byte offset 8", "de ad be", "8-byte record"]);
    let run = vmlab(&["trace", "--format", "bin-kind", trace.to_str().unwrap()]);
    run.bad_input(&["byte offset 9", "9-byte record"]);
    let _ = std::fs::remove_file(trace);
}

#[test]
fn out_writes_the_physical_addresses_of_translated_references() {
    let trace = temp_file("e7.txt", b"100\nW 1000\n3072\nF 0x10\n");
    let out = temp_path("e7.bink");
    vmlab(&[
        "trace",
        "--base",
        "1024",
        "--bounds",
        "1024",
        "--out",
        out.to_str().unwrap(),
        trace.to_str().unwrap(),
    ])
    .ok();
    let bytes = std::fs::read(&out).unwrap();
    // bin-kind records: 1124 read, 2024 write, 1040 fetch; 3072 faulted.
    let records: Vec<(u64, u8)> = bytes
        .chunks_exact(9)
        .map(|r| (u64::from_le_bytes(r[..8].try_into().unwrap()), r[8]))
        .collect();
    assert_eq!(records, vec![(1124, 0), (2024, 1), (1040, 2)]);
    // Chaining: the output is itself a trace.
    let again = vmlab(&["trace", "--json", out.to_str().unwrap()]);
    assert_eq!(again.json_lines()[0]["format"], "bin-kind");
    assert_eq!(again.json_lines()[0]["references"].as_u64(), Some(3));
    let _ = std::fs::remove_file(trace);
    let _ = std::fs::remove_file(out);
}

#[test]
fn summary_counts_kinds_and_faults_by_reason() {
    // E9's table: a write to read-only code, an unused segment, a bounds
    // violation, and two good references.
    let run = vmlab_with_input(
        &[
            "trace",
            "--va-bits",
            "14",
            "--segment",
            "0x2000:0x6ff:r:code",
            "--segment",
            "0:0x4ff:rw:heap",
            "--segment",
            "0x3000:0xfff:rw",
            "--segment",
            "0:0:-",
            "--json",
            "-",
        ],
        "R 0x0240\nW 0x0240\nR 0x3002\nR 0x1500\nW 0x1108\n",
    );
    let s: &Value = &run.json_lines()[0];
    assert_eq!(s["valid"].as_u64(), Some(2));
    assert_eq!(s["faults"]["protection"].as_u64(), Some(1));
    assert_eq!(s["faults"]["invalid-segment"].as_u64(), Some(1));
    assert_eq!(s["faults"]["bounds"].as_u64(), Some(1));
    let code = &s["segments"][0];
    assert_eq!(code["name"], "code");
    assert_eq!(code["references"].as_u64(), Some(2));
    assert_eq!(code["faults"].as_u64(), Some(1));
    assert_eq!(code["highest_va"].as_u64(), Some(0x240));
    assert_eq!(s["segments"][1]["highest_va"].as_u64(), Some(0x1108));
}

#[test]
fn bad_flags_and_files_are_one_line_errors() {
    vmlab(&["trace", "/nonexistent/trace.txt"]).bad_input(&["/nonexistent/trace.txt"]);
    vmlab(&["trace", "--format", "csv", FIXTURE]).bad_input(&["--format", "csv"]);
    vmlab(&["trace", "--layout", "manual", FIXTURE]).bad_input(&["--layout", "manual"]);
    vmlab(&["trace", "--base", "16q", FIXTURE]).bad_input(&["--base", "16q"]);
    vmlab(&["trace", "--layout", "auto", "--base", "0", FIXTURE]).bad_input(&["--base"]);
    vmlab(&["trace", "--layout", "auto", "--phys-mem", "4k", FIXTURE]).bad_input(&["--phys-mem"]);
    let binary = temp_file("noext", &[1, 0, 0, 0, 0, 0, 0, 0]);
    vmlab(&["trace", binary.to_str().unwrap()]).bad_input(&["binary", "--format bin"]);
    let _ = std::fs::remove_file(binary);
    vmlab_with_input(&["trace", "--layout", "auto", "-"], "").bad_input(&["no references"]);
}
