//! Bounded resources (issue 11 §2): a short command line or a small file
//! never allocates gigabytes, overflows the stack or runs for minutes. Each
//! input is bounded by its real size or by a documented limit refused with a
//! one-line error (exit 2). The inputs here are the ones that blew up; the
//! tests assert on behaviour and output, never on time.

use super::support::{temp_file, vmlab};

/// A `.word` whose expression nests `depth` parentheses.
fn nested_parens(depth: usize) -> String {
    format!(".word {}1{}\n", "(".repeat(depth), ")".repeat(depth))
}

#[test]
fn deeply_nested_expressions_are_refused_in_asm_run_and_scenarios() {
    let deep = temp_file("deep.s", nested_parens(20_000).as_bytes());
    let deep = deep.to_str().unwrap();
    let out = temp_file("deep.elf", b"");
    vmlab(&["asm", deep, "-o", out.to_str().unwrap()])
        .bad_input(&["deep.s:1", "nested more than 256 levels"]);
    vmlab(&["run", deep]).bad_input(&["deep.s:1", "nested more than 256 levels"]);
    let minus = temp_file(
        "minus.s",
        format!(".word {}1\n", "-".repeat(50_000)).as_bytes(),
    );
    vmlab(&["run", minus.to_str().unwrap()]).bad_input(&["minus.s:1", "nested more than"]);
    let scenario = format!(
        "[machine]\nmemory = \"16k\"\nstrategy = \"base\"\n[[process]]\nname = \"P1\"\nsize = \"1k\"\nsource = \"\"\"\n{}\"\"\"\n",
        nested_parens(20_000)
    );
    let sc = temp_file("deep.toml", scenario.as_bytes());
    vmlab(&["scenario", "run", sc.to_str().unwrap()]).bad_input(&[
        "deep.toml",
        "source",
        "nested more than",
    ]);
    // Within the limit, nesting still assembles.
    let fine = temp_file("fine.s", nested_parens(200).as_bytes());
    vmlab(&["asm", fine.to_str().unwrap(), "-o", out.to_str().unwrap()]).ok();
}

#[cfg(unix)]
#[test]
fn endless_files_are_refused_after_a_cap_that_names_the_file() {
    for dev in ["/dev/zero", "/dev/urandom"] {
        vmlab(&["run", dev]).bad_input(&[dev, "a program file may hold at most 16 MiB"]);
        vmlab(&["asm", dev, "-o", "/dev/null"])
            .bad_input(&[dev, "a program file may hold at most 16 MiB"]);
        vmlab(&["scenario", "run", dev])
            .bad_input(&[dev, "a scenario file may hold at most 1 MiB"]);
        vmlab(&["trace", "--cost", dev, "--base", "0", "--bounds", "1k", "-"]).bad_input(&[
            "--cost",
            dev,
            "a cost model file may hold at most 64 KiB",
        ]);
    }
    let sc = temp_file(
        "endless.toml",
        b"[machine]\nmemory = \"16k\"\nstrategy = \"base\"\n[[process]]\nname = \"P1\"\nsize = \"1k\"\nfile = \"/dev/zero\"\n",
    );
    vmlab(&["scenario", "run", sc.to_str().unwrap()]).bad_input(&[
        "endless.toml:7",
        "/dev/zero",
        "at most 16 MiB",
    ]);
}

#[test]
fn an_endless_program_stops_at_the_default_limit_and_says_so() {
    let src = temp_file("loop.s", b"loop: j loop\n");
    let run = vmlab(&["run", src.to_str().unwrap()]);
    // Not finished: exit 1, as `scenario run --strict` exits for the same kill.
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "vmlab: the instruction limit stopped the run after 10000000 instructions (raise it with --max-instructions N)\n"
    );
    let json = vmlab(&[
        "run",
        src.to_str().unwrap(),
        "--json",
        "--max-instructions",
        "1k",
    ]);
    assert_eq!(json.code, 1);
    let last = json.json_lines().pop().unwrap();
    assert_eq!(
        (last["kind"].as_str(), last["instructions"].as_u64()),
        (Some("limit"), Some(1024))
    );
    let help = vmlab(&["run", "--help"]).stdout;
    assert!(
        help.contains("[default: 10000000]") && help.contains("instruction limit"),
        "{help}"
    );
}

#[test]
fn the_instruction_limit_is_one_rule_for_run_and_scenario_strict() {
    let sc = temp_file(
        "spin.toml",
        b"[machine]\nmemory = \"16k\"\nstrategy = \"base-bounds\"\n[[process]]\nname = \"P1\"\nsize = \"1k\"\nlimit = 1000\nsource = \"loop: j loop\"\n",
    );
    let strict = vmlab(&["scenario", "run", sc.to_str().unwrap(), "--strict"]);
    assert_eq!(strict.code, 1, "{}", strict.stdout);
    let src = temp_file("spin.s", b"loop: j loop\n");
    assert_eq!(
        vmlab(&["run", src.to_str().unwrap(), "--max-instructions", "1000"]).code,
        1
    );
}

#[test]
fn heap_output_grows_linearly_with_the_requests() {
    // 3000 blocks: drawing the whole map after every request would print
    // about 70 MB; each step now says how many pieces there are, and the
    // heap is drawn once at the end.
    let requests: Vec<String> = (0..3000).map(|i| format!("b{i}:1")).collect();
    let mut args = vec!["heap", "--size", "4000", "--policy", "first"];
    args.extend(requests.iter().map(String::as_str));
    let run = vmlab(&args);
    let text = run.ok();
    assert!(text.len() < 1_000_000, "{} bytes of output", text.len());
    assert!(
        text.contains("3000. alloc b2999 (1 bytes) -> 2999"),
        "{}",
        &text[text.len() - 2000..]
    );
    assert!(text.contains("more than 64 pieces, drawn after the last request"));
    let end = text
        .split("\nend\n")
        .nth(1)
        .expect("the heap drawn at the end");
    assert!(end.contains("2999 [b2999 1] 3000 [free 1000] 4000"));
    // The small heaps of the lecture are still drawn after every step.
    let small = vmlab(&["heap", "--size", "100", "A:20", "B:30", "free:A"]);
    assert!(
        small.ok().contains(
            "3. free A (20 bytes at 0)\n  map         0 [free 20] 20 [B 30] 50 [free 50] 100\n"
        ),
        "{}",
        small.stdout
    );
    // JSON: the free list while the heap is small, then a count and an end record.
    args.push("--json");
    let json = vmlab(&args).json_lines();
    assert_eq!(json.len(), 3002);
    assert!(json[10]["free_list"].is_array());
    assert_eq!(json[2000]["free_list_drawn"], false);
    assert_eq!(json[3001]["kind"], "end");
    assert_eq!(json[3001]["free_list"][0]["addr"], 3000);
}

#[test]
fn layout_auto_on_spread_out_addresses_lays_out_every_reference() {
    // 100,000 random 64-bit addresses: the old merge loop was quadratic in
    // the number of clusters (this trace did not finish in 120 s).
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut bytes = Vec::with_capacity(800_000);
    for _ in 0..100_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // (the last page of the 64-bit space cannot be laid out)
        bytes.extend_from_slice(&(x >> 1).to_le_bytes());
    }
    let trace = temp_file("spread.bin", &bytes);
    let run = vmlab(&[
        "trace",
        "--layout",
        "auto",
        "--json",
        "--no-progress",
        trace.to_str().unwrap(),
    ]);
    let summary = run.json_lines().pop().unwrap();
    assert_eq!(summary["references"], 100_000);
    assert_eq!(summary["valid"], 100_000);
    assert!(summary["segments"].as_array().unwrap().len() <= 1 << 16);
}

#[test]
fn a_long_round_robin_run_is_one_merged_slot() {
    // 10^8 quanta: one slot per quantum used to abort allocating 5 GB.
    let text = vmlab(&["sched", "--jobs", "A:0:100000000", "--policy", "rr"])
        .ok()
        .to_string();
    assert!(text.contains("\n  A 0-100000000\n"), "{text}");
    assert!(text.contains(&format!("A |{}|", "#".repeat(70))), "{text}");
    // B arrives at 5 and goes before A, whose quantum ends then.
    let json = vmlab(&[
        "sched",
        "--jobs",
        "A:0:1000,B:5:1",
        "--policy",
        "rr",
        "--json",
    ]);
    let slots: Vec<(String, u64, u64)> = json
        .json_lines()
        .iter()
        .filter(|r| r["kind"] == "slot")
        .map(|r| {
            let n = |k: &str| r[k].as_u64().unwrap();
            (r["job"].as_str().unwrap().to_string(), n("start"), n("end"))
        })
        .collect();
    let s = |j: &str, a, b| (j.to_string(), a, b);
    assert_eq!(slots, vec![s("A", 0, 5), s("B", 5, 6), s("A", 6, 1001)]);
}

#[test]
fn scheduler_refuses_more_jobs_than_it_can_hold() {
    for jobs in ["18446744073709551615", "4294967296", "1000001"] {
        vmlab(&["scheduler", "-j", jobs, "-c"])
            .bad_input(&["scheduler: option -j: at most 1000000 jobs", jobs]);
    }
    vmlab(&["scheduler", "-j", "1000", "-m", "3", "-c"]).ok();
}

#[test]
fn scheduler_streams_every_quantum_of_a_long_run() {
    let run = vmlab(&[
        "scheduler",
        "-l",
        "200000,200000",
        "-p",
        "RR",
        "-q",
        "1",
        "-c",
    ]);
    let text = run.ok();
    let runs = text.lines().filter(|l| l.contains("] Run job")).count();
    assert_eq!(runs, 400_000);
    assert!(text.contains("  [ time 399998 ] Run job   0 for 1.00 secs ( DONE at 399999.00 )\n"));
    assert!(text.contains("  [ time 399999 ] Run job   1 for 1.00 secs ( DONE at 400000.00 )\n"));
    assert!(text.contains("  Job   1 -- Response: 1.00  Turnaround 400000.00  Wait 200000.00\n"));
}
