//! Issue 11 §3, wrong answers that look right: each test failed before its
//! fix. Every one runs the real binary, as a user does.

use super::support::{temp_file, vmlab};
use serde_json::Value;

/// The records of `kind` in a JSON event log.
fn kinds<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["kind"] == kind).collect()
}

/// §3.1: every implicit stack growth the OS makes is progress; a deep
/// recursion needs many more than 64 of them and must run to its end.
#[test]
fn deep_recursion_under_segmentation_grows_the_stack_to_the_end() {
    let toml = r#"
title = "depth 100"
[machine]
memory = "64k"
os_size = "4k"
strategy = "segmentation"
va_bits = 16
stack_limit = "8k"

[[process]]
name = "deep"
code = "256"
stack = "64"
limit = 1000000
source = """
    .text
_start:
    li   a0, 100
    call depth
    li   a7, 2
    ecall                 # exit(depth(100)) = exit(100)
depth:                    # depth(n) = n == 0 ? 0 : depth(n - 1) + 1
    addi sp, sp, -16
    sd   ra, 8(sp)
    sd   a0, 0(sp)
    beqz a0, 1f
    addi a0, a0, -1
    call depth
    addi a0, a0, 1
1:  ld   ra, 8(sp)
    addi sp, sp, 16
    ret
"""
"#;
    let path = temp_file("deep.toml", toml.as_bytes());
    let run = vmlab(&["scenario", "run", path.to_str().unwrap(), "--json"]);
    let ev = run.json_lines();
    let growths = kinds(&ev, "grow")
        .iter()
        .filter(|e| e["how"] == "implicit")
        .count();
    assert!(growths > 64, "only {growths} implicit stack growths");
    assert!(kinds(&ev, "kill").is_empty(), "{}", run.stdout);
    let exits = kinds(&ev, "exit");
    assert_eq!(exits.len(), 1);
    assert_eq!(exits[0]["status"], 100);
}

/// Runs `vmlab ARGS` and returns (stdout bytes, stderr, exit code): for
/// programs whose output is not text.
fn vmlab_bytes(args: &[&str]) -> (Vec<u8>, String, i32) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vmlab"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("vmlab runs");
    (
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

/// §3.2: `write` returns how many bytes it wrote, not how many were asked
/// for; fd 2 is standard error.
#[test]
fn run_write_returns_what_it_wrote_and_fd_2_is_stderr() {
    let src = "
    .text
_start:
    li   a0, 1
    li   a1, 0
    li   a2, 0x2000000
    li   a7, 64
    ecall                 # n = write(1, 0, 32 MiB)
    addi sp, sp, -16
    sd   a0, 0(sp)
    li   a0, 1
    mv   a1, sp
    li   a2, 8
    li   a7, 64
    ecall                 # write(1, &n, 8)
    li   a0, 2
    la   a1, msg
    li   a2, 4
    li   a7, 64
    ecall                 # write(2, \"err\\n\", 4)
    li   a0, 0
    li   a7, 93
    ecall
    .data
msg: .ascii \"err\\n\"
";
    let path = temp_file("write.s", src.as_bytes());
    let (stdout, stderr, code) = vmlab_bytes(&["run", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.len() > 8, "{} bytes", stdout.len());
    let (written, n) = stdout.split_at(stdout.len() - 8);
    let n = u64::from_le_bytes(n.try_into().unwrap());
    assert_eq!(n, written.len() as u64, "write's result is what it wrote");
    assert!(n < 0x2000000);
    assert_eq!(stderr, "err\n");
    // Under the trace too, standard error is vmlab's standard error.
    let (_, stderr, _) = vmlab_bytes(&["run", path.to_str().unwrap(), "--trace"]);
    assert_eq!(stderr, "err\n");
}

/// §3.3: under segmentation a program without data still gets its heap in
/// segment 1: sbrk's memory is writable.
#[test]
fn run_segmentation_without_data_puts_the_heap_in_segment_1() {
    let src = "
    .text
_start:
    li   a0, 16
    li   a7, 12
    ecall                 # p = sbrk(16)
    li   t0, 7
    sd   t0, 0(a0)        # *p = 7
    ld   a0, 0(a0)
    li   a7, 93
    ecall                 # exit(*p)
";
    let path = temp_file("nodata.s", src.as_bytes());
    let run = vmlab(&["run", path.to_str().unwrap(), "--mmu", "segmentation"]);
    assert_eq!(run.code, 7, "{}{}", run.stdout, run.stderr);
    let run = vmlab(&[
        "run",
        path.to_str().unwrap(),
        "--mmu",
        "segmentation",
        "--trace",
        "--json",
    ]);
    let ev = run.json_lines();
    let store = kinds(&ev, "store")[0];
    assert_eq!(store["region"], "heap");
    assert!(store.get("pa").is_some(), "{store}");
}

/// §3.4: a layout's block names are unique, else `free:A` is ambiguous.
#[test]
fn heap_layout_refuses_a_duplicate_name() {
    vmlab(&["heap", "--layout", "A:5,A:5,free:10"]).bad_input(&[
        "--layout",
        "piece 2",
        "A is already the name of piece 1",
    ]);
    // Distinct names still work.
    vmlab(&["heap", "--layout", "A:5,B:5,free:10", "free:A", "free:B"]).ok();
}

/// §3.5: `vmlab sched` keeps integer time: exact up to 2^53, refused
/// beyond, never rounded; `-0` is not a time.
#[test]
fn sched_times_are_whole_numbers_and_exact() {
    // Beyond 2^53 a float would round: refused, saying why.
    vmlab(&["sched", "--jobs", "A:0:9007199254740993,B:0:1"]).bad_input(&[
        "--jobs",
        "job 1",
        "9007199254740993",
        "2^53",
    ]);
    vmlab(&["sched", "--jobs", "A:0:18446744073709551615"]).bad_input(&["job 1", "runtime"]);
    vmlab(&["sched", "--jobs", "A:-0:5"]).bad_input(&["job 1", "arrival '-0'", "whole number"]);
    vmlab(&["sched", "--jobs", "A:0:2.5"]).bad_input(&["runtime '2.5'", "whole number"]);
    // Each time alone fits, but the schedule would end after 2^53.
    vmlab(&["sched", "--jobs", "A:0:9007199254740992,B:0:1"]).bad_input(&["2^53"]);
    vmlab(&[
        "sched",
        "--jobs",
        "A:0:4,B:0:4",
        "--policy",
        "rr",
        "--switch-cost",
        "9007199254740000",
    ])
    .bad_input(&["switch cost"]);
    // Up to 2^53 every time is exact: B runs for 1, not 0.
    let big = "9007199254740991";
    let jobs = format!("A:0:{big},B:0:1");
    let recs = vmlab(&["sched", "--jobs", &jobs, "--json"]).json_lines();
    let slots: Vec<(String, u64, u64)> = recs
        .iter()
        .filter(|r| r["kind"] == "slot")
        .map(|r| {
            (
                r["job"].as_str().unwrap().to_string(),
                r["start"].as_u64().unwrap(),
                r["end"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        slots,
        vec![
            ("A".into(), 0, 9007199254740991),
            ("B".into(), 9007199254740991, 9007199254740992)
        ]
    );
    // The average turnaround is exactly 9007199254740991.5.
    let text = vmlab(&["sched", "--jobs", &jobs]).ok().to_string();
    let avg = text
        .lines()
        .find(|l| l.trim_start().starts_with("avg"))
        .unwrap();
    assert!(avg.contains("9007199254740991.50"), "{avg}");
}

/// §3.6: static relocation never wraps a word: an address that does not
/// fit 32 bits after adding the load address keeps the process out.
#[test]
fn static_relocation_refuses_a_word_that_would_wrap() {
    let scenario = |word: &str| {
        format!(
            r#"
script = ["P1: load.w 0x10"]

[machine]
memory = "16k"
os_size = "1k"
strategy = "static-relocation"

[[process]]
name = "P1"
size = "1k"
image = [{{ at = "0x10", word = "{word}" }}]
relocations = ["0x10"]
"#
        )
    };
    let path = temp_file("wrap.toml", scenario("0xffffffff").as_bytes());
    let ev = vmlab(&["scenario", "run", path.to_str().unwrap(), "--json"]).json_lines();
    assert!(kinds(&ev, "relocate").is_empty(), "{ev:?}");
    let failed = kinds(&ev, "load-failed");
    assert_eq!(failed.len(), 1, "{ev:?}");
    let reason = failed[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("0xffffffff") && reason.contains("does not fit"),
        "{reason}"
    );
    // A word that fits is rewritten, as before.
    let path = temp_file("fits.toml", scenario("0x200").as_bytes());
    let ev = vmlab(&["scenario", "run", path.to_str().unwrap(), "--json"]).json_lines();
    let r = kinds(&ev, "relocate");
    assert_eq!(
        (r[0]["from"].as_u64(), r[0]["to"].as_u64()),
        (Some(0x200), Some(0x600))
    );
}

/// §3.7: the assembler's arithmetic never wraps, and code is 4-byte aligned.
#[test]
fn asm_refuses_overflowing_constants_and_a_misaligned_text_base() {
    for (expr, needle) in [
        ("1<<64", "shift count 64"),
        ("1<<-1", "shift count -1"),
        ("3<<63", "does not fit 64 bits"),
        ("0x7fffffffffffffff*4", "does not fit 64 bits"),
        ("0xffffffff<<33", "does not fit 64 bits"),
    ] {
        let src = format!("    .data\n    .word {expr}\n");
        let path = temp_file("big.s", src.as_bytes());
        let out = super::support::temp_path("big.elf");
        vmlab(&["asm", path.to_str().unwrap(), "-o", out.to_str().unwrap()])
            .bad_input(&["big.s:2", needle]);
    }
    // What fits still assembles: 64-bit masks, negative shifts of -1.
    let src = "    .data\n    .dword 1<<63, -1<<4, 0xffffffffffffffff+0\n";
    let path = temp_file("fits.s", src.as_bytes());
    let out = super::support::temp_path("fits.elf");
    vmlab(&["asm", path.to_str().unwrap(), "-o", out.to_str().unwrap()]).ok();
    // An ELF whose first instruction is misaligned is refused, not written.
    let path = temp_file("nop.s", b"    nop\n");
    let out = super::support::temp_path("nop.elf");
    vmlab(&[
        "asm",
        path.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--text-base",
        "1",
    ])
    .bad_input(&["--text-base", "0x1", "multiple of 4"]);
    assert!(!out.exists());
}

/// §3.8: at 64 bits the narration says 2^64, not 2^64 - 1.
#[test]
fn sixty_four_bit_narration_says_two_to_the_64() {
    let out = vmlab(&[
        "translate",
        "--va-bits",
        "64",
        "--segment",
        "0x1000:0x100:rw:down",
        "0xfffffffffffffff0",
    ])
    .ok()
    .to_string();
    assert!(
        out.contains(
            "negative offset = offset - max segment size = 0xfffffffffffffff0 - 0x10000000000000000 = -0x10"
        ),
        "{out}"
    );
    let toml = r#"
script = ["P1: load 0x10"]
[machine]
memory = "64k"
os_size = "4k"
strategy = "segmentation"
va_bits = 64
[[process]]
name = "P1"
code = "1k"
"#;
    let path = temp_file("s64.toml", toml.as_bytes());
    let text = vmlab(&["scenario", "run", path.to_str().unwrap()])
        .ok()
        .to_string();
    assert!(
        text.contains("address space of 18446744073709551616 bytes"),
        "{text}"
    );
    // JSON: the exact integer (a reader without big numbers sees 1.8e19).
    let json = vmlab(&["scenario", "run", path.to_str().unwrap(), "--json"]);
    let spawn = json
        .stdout
        .lines()
        .find(|l| l.contains("\"spawn\""))
        .unwrap();
    assert!(spawn.contains("\"size\":18446744073709551616,"), "{spawn}");
}

/// §3.9: a name addresses one process: a second `spawn P1` while P1 lives
/// is refused, so `P1: ...` always means the one P1.
#[test]
fn spawning_a_living_name_twice_is_refused() {
    let toml = r#"
script = ["spawn P1", "spawn P1", "P1: load 0", "P1: store 0x2000 = 1", "spawn P1", "P1: load 0"]
[machine]
memory = "16k"
os_size = "1k"
strategy = "base-bounds"
[[process]]
name = "P1"
size = "1k"
delayed = true
"#;
    let path = temp_file("twice.toml", toml.as_bytes());
    let ev = vmlab(&["scenario", "run", path.to_str().unwrap(), "--json"]).json_lines();
    // One P1 at a time: the second spawn is refused; after the first P1
    // is killed (a bounds fault), the name is free again.
    let spawns: Vec<u64> = kinds(&ev, "spawn")
        .iter()
        .map(|e| e["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(spawns, vec![1, 2], "{ev:?}");
    let refused = kinds(&ev, "refused");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0]["reason"]
            .as_str()
            .unwrap()
            .contains("P1 is already loaded (pid 1)")
    );
    // Both loads ran: by pid 1, then by pid 2.
    let loads: Vec<u64> = kinds(&ev, "load")
        .iter()
        .map(|e| e["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(loads, vec![1, 2]);
}

/// §3.11: an ELF whose code is writable and executable fits neither the
/// code (r-x) nor the data (rw-) segment: a layout error, not a fault on
/// the first fetch.
#[test]
fn rwx_elf_under_segmentation_is_a_layout_error() {
    let src = temp_file("rwx.s", b"    li a0, 3\n    li a7, 93\n    ecall\n");
    let elf = super::support::temp_path("rwx.elf");
    let (src, elf) = (src.to_str().unwrap(), elf.to_str().unwrap());
    vmlab(&["asm", src, "-o", elf, "--text-base", "0x10000"]).ok();
    // Make every loadable segment RWX (p_flags = 7).
    let mut bytes = std::fs::read(elf).unwrap();
    let u = |b: &[u8], at: usize, n: usize| {
        b[at..at + n]
            .iter()
            .rev()
            .fold(0usize, |acc, &x| acc << 8 | x as usize)
    };
    let (phoff, phentsize, phnum) = (u(&bytes, 32, 8), u(&bytes, 54, 2), u(&bytes, 56, 2));
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        if u(&bytes, ph, 4) == 1 {
            bytes[ph + 4..ph + 8].copy_from_slice(&7u32.to_le_bytes());
        }
    }
    std::fs::write(elf, &bytes).unwrap();
    // It runs where nothing separates code from data...
    assert_eq!(vmlab(&["run", elf]).code, 3);
    // ...and is refused, saying why, under segmentation.
    vmlab(&["run", elf, "--mmu", "segmentation"]).bad_input(&[
        "rwx.elf",
        "writable and executable (rwx)",
        "segmentation",
    ]);
}

/// §3.10: a lackey reference is checked at every byte it touches: an
/// 8-byte load at 0x3fc under 1 KiB of bounds faults.
#[test]
fn lackey_sizes_are_checked_at_every_byte() {
    let run = super::support::vmlab_with_input(
        &[
            "trace", "--base", "0", "--bounds", "1k", "--format", "lackey", "--json", "-",
        ],
        " L 3fc,8\n L 3f8,8\n M 3fd,2\nI  3fe,4\n S 3ff,1\n",
    );
    let s = &run.json_lines()[0];
    assert_eq!(s["references"], 6);
    // Valid: 3f8+8, both halves of the modify at 3fd+2, 3ff+1. Faults:
    // 3fc+8 and the 4-byte fetch at 3fe, each past 0x3ff.
    assert_eq!(s["valid"], 4, "{s}");
    assert_eq!(s["faults"]["bounds"], 2, "{s}");
    // The per-access records say the same, reference by reference.
    let run = super::support::vmlab_with_input(
        &[
            "trace",
            "--base",
            "0",
            "--bounds",
            "1k",
            "--format",
            "lackey",
            "--json",
            "--per-access",
            "-",
        ],
        " L 3fc,8\n L 3f8,8\n",
    );
    let recs: Vec<Value> = run
        .json_lines()
        .into_iter()
        .filter(|r| r.get("va").is_some())
        .collect();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0]["fault"], "bounds");
    assert!(recs[1].get("pa").is_some());
}

/// §3.12: every error names what and where, on one line.
#[test]
fn error_messages_name_what_is_wrong_on_one_line() {
    let trace = temp_file("t.txt", b"100\n");
    let trace = trace.to_str().unwrap();
    // A full disk names the file (or standard output).
    if std::path::Path::new("/dev/full").exists() {
        vmlab(&[
            "trace",
            "--base",
            "0",
            "--bounds",
            "1k",
            "--out",
            "/dev/full",
            trace,
        ])
        .bad_input(&["--out /dev/full", "No space left"]);
        vmlab(&["run", "examples/sum.s", "--trace-out", "/dev/full"])
            .bad_input(&["--trace-out /dev/full", "No space left"]);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_vmlab"))
            .args(["run", "examples/sum.s"])
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr.contains("standard output: No space left"),
            "{stderr}"
        );
    }
    // An access kind without an address.
    vmlab(&["translate", "--base", "0", "--bounds", "1k", "r:"])
        .bad_input(&["address 'r:'", "no address after 'r'"]);
    // A 1-byte program: the byte, shown; a blank program: no instructions.
    let one = temp_file("one.s", b"\x01");
    vmlab(&["run", one.to_str().unwrap()]).bad_input(&["one.s:1", "unknown instruction '\\u{1}'"]);
    let blank = temp_file("blank.s", b" ");
    vmlab(&["run", blank.to_str().unwrap()]).bad_input(&["blank.s", "no instructions"]);
    // --va-bits takes hex like every other number flag.
    vmlab(&[
        "translate",
        "--va-bits",
        "0xe",
        "--segment",
        "0x1000:0x100:rw",
        "0x10",
    ])
    .ok();
    // A negative number says so, naming the flag, on one line.
    for (args, flag) in [
        (
            &["run", "examples/sum.s", "--base", "-1"][..],
            "--base: '-1' is negative",
        ),
        (
            &["trace", "--base", "-1", "--bounds", "1k", trace][..],
            "--base: '-1' is negative",
        ),
        (
            &["run", "examples/sum.s", "--max-instructions", "-5"][..],
            "--max-instructions: '-5' is negative",
        ),
        (
            &[
                "translate",
                "--va-bits",
                "-3",
                "--segment",
                "0x1000:0x100:rw",
                "0x10",
            ][..],
            "'-3' is negative",
        ),
    ] {
        let run = vmlab(args);
        run.bad_input(&[flag]);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    }
    // Any other usage error is one line too.
    let run = vmlab(&["trace", "--base", "0"]);
    run.bad_input(&["required", "<TRACE>"]);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

/// Found by the scenario fuzz target: a program under a 64-bit segmented
/// space has its stack at the top, 2^64; computing that overflowed (a
/// panic with overflow checks, sp = 0 and unlabelled stack accesses
/// without). The stack works and its accesses are labelled.
#[test]
fn a_program_runs_at_the_top_of_a_64_bit_space() {
    let toml = r#"
[machine]
memory = "64k"
os_size = "4k"
strategy = "segmentation"
va_bits = 64
stack_limit = "8k"

[[process]]
name = "deep"
code = "256"
stack = "64"
source = """
    li   a0, 10
    call depth
    li   a7, 2
    ecall
depth:
    addi sp, sp, -16
    sd   ra, 8(sp)
    beqz a0, 1f
    addi a0, a0, -1
    call depth
    addi a0, a0, 1
1:  ld   ra, 8(sp)
    addi sp, sp, 16
    ret
"""
"#;
    let path = temp_file("top64.toml", toml.as_bytes());
    let ev = vmlab(&["scenario", "run", path.to_str().unwrap(), "--json"]).json_lines();
    assert!(kinds(&ev, "kill").is_empty(), "{ev:?}");
    assert_eq!(kinds(&ev, "exit")[0]["status"], 10);
    let first_push = kinds(&ev, "store")[0];
    assert_eq!(
        first_push["va"].as_u64(),
        Some(u64::MAX - 7),
        "{first_push}"
    );
    assert_eq!(first_push["region"], "stack");
}
