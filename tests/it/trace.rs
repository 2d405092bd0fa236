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

/// One trace written in `format`, with the references it stands for:
/// address, access and the bytes it touches.
fn encode(format: &str, refs: &[(u64, Access)]) -> (Vec<u8>, Vec<(u64, Access, u64)>) {
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
                meant.push((va, a, 1));
            }
        }
        "bin" => {
            for &(va, _) in refs {
                b.extend_from_slice(&va.to_le_bytes());
                meant.push((va, Access::Write, 1)); // the test passes --access write
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
                meant.push((va, a, 1));
            }
        }
        "lackey" => {
            b.extend_from_slice(b"==42== Lackey, an example Valgrind tool\n");
            for (i, &(va, a)) in refs.iter().enumerate() {
                let (line, size) = match a {
                    Access::Fetch => (format!("I  {va:08x},3\n"), 3),
                    Access::Read if i % 3 == 0 => {
                        meant.push((va, Access::Read, 4));
                        meant.push((va, Access::Write, 4));
                        b.extend_from_slice(format!(" M {va:08x},4\n").as_bytes());
                        continue;
                    }
                    Access::Read => (format!(" L {va:08x},8\n"), 8),
                    Access::Write => (format!(" S {va:08x},8\n"), 8),
                };
                b.extend_from_slice(line.as_bytes());
                meant.push((va, a, size));
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
            for (&(va, access, size), got) in meant.iter().zip(&lines) {
                let t = scalar(&mmu, va, access, size);
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

            // The counting-only loop (and with --out, the one that keeps
            // addresses): every counter and the physical addresses, in
            // trace order, against the scalar path.
            let path = temp_file(&format!("random-summary.{format}"), &bytes);
            let out = temp_path(&format!("random-summary.{format}.out"));
            let expected = scalar_summary(&mmu, &meant);
            for keep in [false, true] {
                let mut args = vec!["trace"];
                args.extend(flags.iter().copied());
                args.extend(["--format", format, "--access", "write", "--json"]);
                if keep {
                    args.extend(["--out", out.to_str().unwrap()]);
                }
                args.push(path.to_str().unwrap());
                let run = vmlab(&args);
                run.ok();
                let summary = &run.json_lines()[0];
                prop_assert_eq!(&summarised(summary), &expected.0, "{} keep {}", format, keep);
                if keep {
                    let bytes = std::fs::read(&out).unwrap();
                    let size = if format == "bin" { 8 } else { 9 };
                    let pas: Vec<u64> = bytes
                        .chunks_exact(size)
                        .map(|r| u64::from_le_bytes(r[..8].try_into().unwrap()))
                        .collect();
                    prop_assert_eq!(&pas, &expected.1, "{}", format);
                }
            }
            let _ = std::fs::remove_file(&path);
            let _ = std::fs::remove_file(&out);
        }
    }
}

/// The scalar path for a reference of `size` bytes: the narrated walk of
/// its first byte and, when that translates, `Mmu::translate_span`'s
/// verdict on every byte it touches.
fn scalar(mmu: &AnyMmu, va: u64, access: Access, size: u64) -> vmlab::mmu::Translation {
    let mut t = mmu.explain(
        vmlab::PhysicalMemory::empty(),
        vmlab::VirtAddr::new(va),
        access,
    );
    if t.result.is_ok() {
        if let Err(f) = mmu.translate_span(
            vmlab::PhysicalMemory::empty(),
            vmlab::VirtAddr::new(va),
            size,
            access,
        ) {
            t.result = Err(f);
        }
    }
    t
}

/// What the scalar path says a replay of `refs` must count: the summary
/// fields [`summarised`] picks, and the physical addresses of the
/// references that translated, in order.
fn scalar_summary(mmu: &AnyMmu, refs: &[(u64, Access, u64)]) -> (serde_json::Value, Vec<u64>) {
    let mut faults = serde_json::Map::new();
    let mut segments = vec![(0u64, 0u64, u64::MAX, 0u64); segment_sizes(mmu).len()];
    let (mut lowest, mut highest, mut pas) = (u64::MAX, 0u64, Vec::new());
    for &(va, access, size) in refs {
        let t = scalar(mmu, va, access, size);
        let seg = t.segment().map(|(s, _)| s as usize);
        match t.result {
            Ok(pa) => {
                pas.push(pa.as_u64());
                lowest = lowest.min(va);
                highest = highest.max(va);
                if let Some(s) = seg {
                    let e = &mut segments[s];
                    e.0 += 1;
                    e.2 = e.2.min(va);
                    e.3 = e.3.max(va);
                }
            }
            Err(f) => {
                let n = faults.entry(f.kind.name()).or_insert(0.into());
                *n = (n.as_u64().unwrap() + 1).into();
                if let Some(s) = seg {
                    segments[s].1 += 1;
                }
            }
        }
    }
    // The summary lists a segment in use, or one that references selected.
    let sizes = segment_sizes(mmu);
    let segments: Vec<_> = segments
        .into_iter()
        .enumerate()
        .filter(|&(i, (valid, faults, _, _))| sizes[i] > 0 || valid + faults > 0)
        .map(|(i, (valid, faults, lo, hi))| {
            serde_json::json!({"segment": i, "valid": valid, "faults": faults,
                "lowest_va": (valid > 0).then_some(lo), "highest_va": (valid > 0).then_some(hi)})
        })
        .collect();
    let any = !pas.is_empty();
    let summary = serde_json::json!({
        "faults": faults,
        "lowest_va": any.then_some(lowest),
        "highest_va": any.then_some(highest),
        "segments": segments,
    });
    (summary, pas)
}

/// The sizes of a segmentation MMU's segments (none for the others).
fn segment_sizes(mmu: &AnyMmu) -> Vec<u64> {
    match mmu {
        AnyMmu::Segmentation(m) => m.segments().iter().map(|s| s.size).collect(),
        _ => Vec::new(),
    }
}

/// The counters of a JSON summary that [`scalar_summary`] predicts: faults
/// by reason (those that occurred), the extremes, and per segment.
fn summarised(summary: &serde_json::Value) -> serde_json::Value {
    let faults: serde_json::Map<_, _> = summary["faults"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, n)| n.as_u64() != Some(0))
        .map(|(k, n)| (k.clone(), n.clone()))
        .collect();
    let pick =
        |v: &serde_json::Value, k: &str| v.get(k).cloned().unwrap_or(serde_json::Value::Null);
    let segments: Vec<_> = summary
        .get("segments")
        .and_then(|s| s.as_array())
        .into_iter()
        .flatten()
        .map(|s| {
            serde_json::json!({"segment": s["segment"], "valid": s["valid"], "faults": s["faults"],
                "lowest_va": pick(s, "lowest_va"), "highest_va": pick(s, "highest_va")})
        })
        .collect();
    serde_json::json!({
        "faults": faults,
        "lowest_va": pick(summary, "lowest_va"),
        "highest_va": pick(summary, "highest_va"),
        "segments": segments,
    })
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

/// References enough for a `bin` file that replays split between the
/// cores (vmlab splits a mapped `bin` file of at least 16 MiB): random
/// addresses, mostly near the bounds of [`mechanisms`]' MMUs, some
/// anywhere, and the edges of the 64-bit range.
fn split_sized_trace() -> Vec<u64> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..(16 << 20) / 8 + 12_345)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            match i % 1000 {
                0 => u64::MAX,
                1 => 0,
                2 => x,
                _ => x % 0x5000,
            }
        })
        .collect()
}

#[test]
fn a_trace_split_between_the_cores_counts_what_the_scalar_path_counts() {
    let vas = split_sized_trace();
    let bytes: Vec<u8> = vas.iter().flat_map(|v| v.to_le_bytes()).collect();
    let trace = temp_file("split.bin", &bytes);
    let refs: Vec<(u64, Access, u64)> = vas.iter().map(|&v| (v, Access::Write, 1)).collect();
    // Base and bounds (the vectorised window loop) and segmentation.
    for which in [0, 3] {
        let (flags, mmu) = mechanisms().swap_remove(which);
        let mut args = vec!["trace"];
        args.extend(flags.iter().copied());
        args.extend(["--format", "bin", "--access", "write", "--json"]);
        args.push(trace.to_str().unwrap());
        let run = vmlab(&args);
        let summary = &run.json_lines()[0];
        let (expected, pas) = scalar_summary(&mmu, &refs);
        assert_eq!(summarised(summary), expected, "{}", mmu.mechanism());
        assert_eq!(summary["references"].as_u64(), Some(vas.len() as u64));
        assert_eq!(summary["valid"].as_u64(), Some(pas.len() as u64));
        assert_eq!(summary["bytes"].as_u64(), Some(bytes.len() as u64));
    }
    let _ = std::fs::remove_file(trace);
}

#[test]
fn a_trace_large_enough_to_split_with_trailing_bytes_is_refused_naming_them() {
    let vas = split_sized_trace();
    let mut bytes: Vec<u8> = vas.iter().flat_map(|v| v.to_le_bytes()).collect();
    let whole = bytes.len().to_string();
    bytes.extend([0xca, 0xfe, 0x01, 0x02, 0x03]);
    let trace = temp_file("split-odd.bin", &bytes);
    let run = vmlab(&[
        "trace",
        "--base",
        "0x1000",
        "--bounds",
        "0x3000",
        trace.to_str().unwrap(),
    ]);
    run.bad_input(&[
        &format!("byte offset {whole}"),
        "ca fe 01 02 03",
        "8-byte record",
    ]);
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

// --- --scenario: a scenario's process as the mechanism -------------------

/// The per-reference records and the summary of `vmlab trace ARGS --json
/// --per-access -` over `refs`.
fn replay_json(args: &[&str], refs: &str) -> (Vec<Value>, Value) {
    let mut argv = vec!["trace"];
    argv.extend_from_slice(args);
    argv.extend(["--json", "--per-access", "-"]);
    let run = vmlab_with_input(&argv, refs);
    run.ok();
    let mut lines = run.json_lines();
    let summary = lines.pop().unwrap();
    (lines, summary)
}

#[test]
fn e7_p1_replays_through_the_base_and_bounds_the_kernel_gave_it() {
    // e7-base-bounds: P1 has size 1k at base 1k. 100 is inside, 3072 is
    // beyond bounds (the store that gets P1 killed in the scenario).
    let (refs, s) = replay_json(&["--scenario", "e7", "--pid", "1"], "R 100\nW 3072\n");
    assert_eq!(refs[0]["pa"].as_u64(), Some(1024 + 100));
    assert_eq!(refs[1]["fault"], "bounds");
    assert_eq!(s["layout"], "scenario");
    assert_eq!(s["mechanism"], "base-bounds");
    let sc = &s["scenario"];
    assert_eq!(sc["name"], "e7-base-bounds");
    assert_eq!(sc["strategy"], "base-bounds");
    assert_eq!(sc["pid"].as_u64(), Some(1));
    assert_eq!(sc["process"], "P1");
    assert_eq!(sc["state"], "zombie");
    assert_eq!(sc["registers_from"], "pcb");
    assert_eq!(sc["registers"]["base"].as_u64(), Some(1024));
    assert_eq!(sc["registers"]["bounds"].as_u64(), Some(1024));
    assert_eq!(s["valid"].as_u64(), Some(1));
    assert_eq!(s["faults"]["bounds"].as_u64(), Some(1));
}

#[test]
fn the_process_on_the_cpu_at_the_end_replays_through_the_live_mmu() {
    // P2 (base 4k) runs last in e7 and is still on the CPU.
    let (refs, s) = replay_json(&["--scenario", "e7", "--pid", "2"], "R 0\n");
    assert_eq!(refs[0]["pa"].as_u64(), Some(4096));
    assert_eq!(s["scenario"]["state"], "running");
    assert_eq!(s["scenario"]["registers_from"], "mmu");
}

#[test]
fn e8_forgotten_reload_replays_p2_with_the_registers_the_buggy_kernel_saved() {
    // The kernel never loads P2's registers: switching away from P2 saves
    // P1's base (1k) into P2's PCB. Re-deriving P2's MMU from its
    // definition (base 4k) would give 4096 + 100; the kernel's gives 1124.
    let (refs, s) = replay_json(&["--scenario", "e8-forgot", "--pid", "2"], "R 100\n");
    assert_eq!(refs[0]["pa"].as_u64(), Some(1024 + 100));
    assert_eq!(s["scenario"]["registers"]["base"].as_u64(), Some(1024));
}

#[test]
fn e10_segments_translate_as_the_lecture_says() {
    // E10's description: 0x2010 -> 0x1610, 0x1010 -> 0x410, 0x1100 -> 0x500;
    // segment 3 is unused.
    let (refs, s) = replay_json(
        &["--scenario", "e10"],
        "R 0x2010\nR 0x1010\nR 0x1100\nR 0x3000\n",
    );
    let pas: Vec<Option<u64>> = refs.iter().map(|r| r["pa"].as_u64()).collect();
    assert_eq!(pas, [Some(0x1610), Some(0x410), Some(0x500), None]);
    assert_eq!(refs[3]["fault"], "invalid-segment");
    assert_eq!(s["va_bits"].as_u64(), Some(14));
    assert_eq!(s["segments"][1]["name"], "heap");
}

#[test]
fn e11_replays_the_segment_table_as_the_run_left_it_not_as_loaded() {
    // A's heap was loaded at 0xa00 with 512 bytes; sbrk moved it to 0x1200
    // and grew it to 1 KiB. Its code segment is read-only.
    let (refs, _) = replay_json(
        &["--scenario", "e11", "--pid", "1"],
        "R 0x1000\nW 0x1300\nR 0x13ff\nW 0x10\n",
    );
    assert_eq!(refs[0]["pa"].as_u64(), Some(0x1200));
    assert_eq!(refs[1]["pa"].as_u64(), Some(0x1500));
    assert_eq!(refs[2]["pa"].as_u64(), Some(0x15ff));
    assert_eq!(refs[3]["fault"], "protection");
}

#[test]
fn a_scenario_file_is_accepted_and_named_in_the_text_summary() {
    let file = temp_file(
        "solo.toml",
        b"[machine]\nmemory = \"8k\"\nos_size = \"1k\"\nstrategy = \"base-bounds\"\n\n\
          [[process]]\nname = \"solo\"\nsize = \"512\"\nbase = \"2k\"\n",
    );
    let name = file.to_str().unwrap();
    let (refs, _) = replay_json(&["--scenario", name], "R 0\nR 511\nR 512\n");
    assert_eq!(refs[0]["pa"].as_u64(), Some(2048));
    assert_eq!(refs[1]["pa"].as_u64(), Some(2559));
    assert_eq!(refs[2]["fault"], "bounds");
    let run = vmlab_with_input(&["trace", "--scenario", name, "-"], "R 0\nR 512\n");
    let text = run.ok();
    assert!(
        text.contains(&format!(
            "scenario {name} (base-bounds): process 1 (solo, ready), registers saved in its PCB"
        )),
        "{text}"
    );
    assert!(
        text.contains("base + bounds: base = 0x800 (decimal 2048), bounds = 0x200 (decimal 512), physical memory 8k"),
        "{text}"
    );
    let _ = std::fs::remove_file(file);
}

/// Asserts a one-line bad-input error mentioning every needle.
#[track_caller]
fn one_line_error(args: &[&str], needles: &[&str]) {
    let run = vmlab_with_input(args, "R 0\n");
    run.bad_input(needles);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn scenario_mistakes_are_one_line_errors() {
    one_line_error(
        &["trace", "--scenario", "e99-nothing", "-"],
        &["--scenario", "e99-nothing"],
    );
    one_line_error(
        &["trace", "--scenario", "e7", "-"],
        &["2 processes", "--pid", "1 P1 (zombie)", "2 P2 (running)"],
    );
    one_line_error(
        &["trace", "--scenario", "e7", "--pid", "3", "-"],
        &["--pid 3", "no process 3", "1 P1", "2 P2"],
    );
    one_line_error(
        &["trace", "--scenario", "e7", "--pid", "one", "-"],
        &["--pid 'one'", "1 P1"],
    );
    one_line_error(
        &["trace", "--scenario", "e5", "--pid", "1", "-"],
        &["static-relocation", "does not translate", "no registers"],
    );
    one_line_error(
        &["trace", "--scenario", "e12", "-"],
        &["time-sharing", "no registers"],
    );
    one_line_error(
        &["trace", "--scenario", "e1", "-"],
        &["e1-scheduling", "other vmlab commands"],
    );
    one_line_error(&["trace", "--pid", "1", "-"], &["--pid", "--scenario"]);
    for flags in [
        &["--base", "0", "--bounds", "1k"][..],
        &["--va-bits", "14", "--segment", "0:0x100:rw"][..],
        &["--layout", "auto"][..],
        &["--phys-mem", "64k"][..],
    ] {
        let mut argv = vec!["trace", "--scenario", "e7", "--pid", "1"];
        argv.extend_from_slice(flags);
        argv.push("-");
        one_line_error(&argv, &["--scenario cannot be combined with", flags[0]]);
    }
    let broken = temp_file(
        "broken.toml",
        b"[machine]\nmemory = \"16k\"\nstrategy = \"inverted-paging\"\n",
    );
    let name = broken.to_str().unwrap();
    one_line_error(&["trace", "--scenario", name, "-"], &[&format!("{name}:3")]);
    let _ = std::fs::remove_file(broken);
}

// --- the estimated time (the cost model) ----------------------------------

/// E7's P1 registers from the flags; 100 and 1000 translate, 3072 faults.
const E7_P1: [&str; 4] = ["--base", "1k", "--bounds", "1k"];
const E7_REFS: &str = "R 100\nW 1000\nR 3072\n";

/// The `estimated_time` record of `vmlab trace E7_P1 EXTRA --json -`.
fn estimated(extra: &[&str], refs: &str) -> Value {
    let mut argv = vec!["trace"];
    argv.extend_from_slice(&E7_P1);
    argv.extend_from_slice(extra);
    argv.extend(["--json", "-"]);
    let run = vmlab_with_input(&argv, refs);
    run.ok();
    run.json_lines()[0]["estimated_time"].clone()
}

#[test]
fn each_valid_reference_is_one_dram_access_by_default() {
    let e = estimated(&[], E7_REFS);
    assert_eq!(e["accesses"].as_u64(), Some(2));
    assert_eq!(e["access_ns"].as_f64(), Some(80.0));
    assert_eq!(e["memory_ns"].as_f64(), Some(160.0));
    assert_eq!(e["total_ns"].as_f64(), Some(160.0));
    assert_eq!(e["served_by"], "dram");
    assert_eq!(e["model_from"], "defaults");
    assert_eq!(
        e["not_charged"],
        serde_json::json!(["translation", "trap", "cpu"])
    );
    assert_eq!(e["model"]["l2_ns"].as_f64(), Some(4.0));
    let run = vmlab_with_input(&["trace", "--base", "1k", "--bounds", "1k", "-"], E7_REFS);
    let text = run.ok();
    assert!(
        text.contains("estimated time 160 ns = 2 valid references x 80 ns (one DRAM access each; cost model: the E14 table)\n"),
        "{text}"
    );
    assert!(
        text.contains("not charged (the cost model has no figure for them): address translation, 1 trap to the OS (one per fault), CPU time\n"),
        "{text}"
    );
}

#[test]
fn served_by_and_a_cost_file_change_the_estimate() {
    let e = estimated(&["--served-by", "l2"], E7_REFS);
    assert_eq!(e["served_by"], "l2");
    assert_eq!(e["total_ns"].as_f64(), Some(8.0));
    let file = temp_file("cost.toml", b"dram_ns = 100\nl1_ns = 0.5\n");
    let name = file.to_str().unwrap();
    let e = estimated(&["--cost", name], E7_REFS);
    assert_eq!(e["total_ns"].as_f64(), Some(200.0));
    assert_eq!(e["model_from"], "file");
    assert_eq!(e["model_file"], name);
    let e = estimated(&["--cost", name, "--served-by", "l1"], E7_REFS);
    assert_eq!(e["total_ns"].as_f64(), Some(1.0));
    let _ = std::fs::remove_file(file);
}

#[test]
fn a_scenario_brings_its_cost_table() {
    let file = temp_file(
        "costly.toml",
        b"[machine]\nmemory = \"8k\"\nos_size = \"1k\"\nstrategy = \"base-bounds\"\n\
          [cost]\ndram_ns = 100\nserved_by = \"l3\"\n\
          [[process]]\nname = \"solo\"\nsize = \"512\"\nbase = \"2k\"\n",
    );
    let name = file.to_str().unwrap();
    let (_, s) = replay_json(&["--scenario", name], "R 0\nR 4\nR 600\n");
    let e = &s["estimated_time"];
    assert_eq!(e["model_from"], "scenario");
    assert_eq!(e["served_by"], "l3");
    assert_eq!(e["total_ns"].as_f64(), Some(80.0));
    assert_eq!(e["model"]["dram_ns"].as_f64(), Some(100.0));
    // --served-by picks another row of the scenario's table.
    let (_, s) = replay_json(&["--scenario", name, "--served-by", "dram"], "R 0\n");
    assert_eq!(s["estimated_time"]["total_ns"].as_f64(), Some(100.0));
    // The built-in scenarios use the E14 table.
    let (_, s) = replay_json(&["--scenario", "e7", "--pid", "1"], "R 0\n");
    assert_eq!(s["estimated_time"]["model_from"], "defaults");
    let _ = std::fs::remove_file(file);
}

#[test]
fn cost_mistakes_are_one_line_errors() {
    one_line_error(
        &["trace", "--served-by", "l4", "-"],
        &["--served-by", "'l4'", "l1, l2, l3 or dram"],
    );
    one_line_error(
        &["trace", "--cost", "/nonexistent/cost.toml", "-"],
        &["--cost /nonexistent/cost.toml"],
    );
    let unknown = temp_file("unknown.toml", b"dram_ns = 80\ntrap_ns = 5\n");
    let name = unknown.to_str().unwrap();
    one_line_error(
        &["trace", "--cost", name, "-"],
        &[&format!("--cost {name}:2:1"), "trap_ns"],
    );
    let negative = temp_file("negative.toml", b"l2_ns = -4\n");
    let name2 = negative.to_str().unwrap();
    one_line_error(&["trace", "--cost", name2, "-"], &[name2, "l2_ns", ">= 0"]);
    let _ = std::fs::remove_file(unknown);
    let _ = std::fs::remove_file(negative);
}
