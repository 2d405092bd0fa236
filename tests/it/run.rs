//! `vmlab run`: the lecture's E4 accesses, the examples, faults, bad input,
//! and the differential test against qemu-riscv64 on compiled C programs.

use super::support::{assert_text_eq, temp_file, temp_path, vmlab};
use std::path::Path;
use std::process::Command;

#[test]
fn e4_prints_exactly_the_five_accesses() {
    let run = vmlab(&[
        "run",
        "examples/e4.s",
        "--mmu",
        "base-bounds",
        "--base",
        "4k",
        "--space",
        "1k",
        "--reg",
        "s0=0x200",
        "--max-instructions",
        "3",
        "--trace",
    ]);
    assert_text_eq(
        "fetch 0x00000010 -> 0x00001010 (code)\n\
         load 0x00000208 -> 0x00001208 (stack)\n\
         fetch 0x00000014 -> 0x00001014 (code)\n\
         fetch 0x00000018 -> 0x00001018 (code)\n\
         store 0x00000208 -> 0x00001208 (stack)\n",
        &run.stdout,
    );
    // The limit ended the run before the program finished: exit 1, and
    // the message says which flag raises the limit.
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "vmlab: the instruction limit stopped the run after 3 instructions (raise it with --max-instructions N)\n"
    );
}

#[test]
fn e4_json_has_kind_va_pa_access() {
    let run = vmlab(&[
        "run",
        "examples/e4.s",
        "--space",
        "1k",
        "--reg",
        "s0=0x200",
        "--max-instructions",
        "3",
        "--trace",
        "--json",
    ]);
    let lines = run.json_lines();
    assert_eq!(lines.len(), 6);
    assert_eq!(lines[1]["kind"], "load");
    assert_eq!(lines[1]["va"], 0x208);
    assert_eq!(lines[1]["pa"], 0x1208);
    assert_eq!(lines[1]["access"], "read");
    assert_eq!(lines[5]["kind"], "limit");
}

#[test]
fn examples_run_and_print() {
    let sum = vmlab(&["run", "examples/sum.s"]);
    assert_eq!(sum.code, 55);
    assert_eq!(sum.stdout, "sum = 55\n");
    assert_eq!(vmlab(&["run", "examples/recursion.s"]).code, 120);
    let stack = vmlab(&["run", "examples/stacktest.s"]);
    let addr = |label: &str| {
        let line = stack.stdout.lines().find(|l| l.starts_with(label)).unwrap();
        u64::from_str_radix(line.split("0x").nth(1).unwrap(), 16).unwrap()
    };
    assert!(
        addr("main") > addr("f1") && addr("f1") > addr("f2"),
        "{}",
        stack.stdout
    );
    assert_eq!(addr("arr[1]") - addr("arr[0]"), 4);
    let heap = vmlab(&["run", "examples/arraytest.s"]);
    let h: Vec<u64> = heap
        .ok()
        .lines()
        .map(|l| u64::from_str_radix(l.split("0x").nth(1).unwrap(), 16).unwrap())
        .collect();
    assert_eq!((h[1] - h[0], h[2] - h[1]), (40, 40));
}

#[test]
fn a_fault_says_where_and_exits_1() {
    let src = temp_file("wild.s", b"li a0, 0x10000\nsw a0, 0(a0)\n");
    let trace = vmlab(&["run", src.to_str().unwrap(), "--space", "16k", "--trace"]);
    assert_eq!(
        trace.stdout.lines().last(),
        Some("store 0x00010000 -> fault: segmentation violation: out of bounds (none)")
    );
    let run = vmlab(&["run", src.to_str().unwrap(), "--space", "16k"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(
            "segmentation violation: out of bounds (write of 0x10000) at pc 0x4 (sw a0, 0(a0)"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn bad_input_is_named() {
    vmlab(&["run", "examples/sum.s", "--mmu", "paging"]).bad_input(&["--mmu", "paging"]);
    vmlab(&["run", "examples/sum.s", "--phys-mem", "16q"]).bad_input(&["--phys-mem"]);
    vmlab(&["run", "examples/sum.s", "--reg", "q9=1"]).bad_input(&["q9"]);
    vmlab(&["run", "examples/sum.s", "--space", "1k"]).bad_input(&["beyond the address space"]);
    vmlab(&["run", "no/such/file.s"]).bad_input(&["no/such/file.s"]);
    let bad = temp_file("bad.s", b"nop\naddi a0, a0, 99999\n");
    vmlab(&["run", bad.to_str().unwrap()]).bad_input(&["bad.s:2:", "out of range"]);
    let out = temp_path("ok.elf");
    vmlab(&["asm", "examples/sum.s", "-o", out.to_str().unwrap()]).ok();
    let bytes = std::fs::read(&out).unwrap();
    let trunc = temp_file("trunc.elf", &bytes[..100]);
    vmlab(&["run", trunc.to_str().unwrap()]).bad_input(&["malformed ELF"]);
    let mut b = bytes.clone();
    b[18] = 62;
    let x86 = temp_file("x86.elf", &b);
    vmlab(&["run", x86.to_str().unwrap()]).bad_input(&["not RISC-V"]);
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn c_programs_behave_as_under_qemu() {
    if !have("riscv64-unknown-elf-gcc") || !have("qemu-riscv64") {
        eprintln!(
            "SKIPPED c_programs_behave_as_under_qemu: riscv64-unknown-elf-gcc or qemu-riscv64 not installed (Debian: gcc-riscv64-unknown-elf, qemu-user)"
        );
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c");
    let dir = std::env::temp_dir().join(format!("vmlab-c-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["primes", "arith", "strings"] {
        let elf = dir.join(name);
        let st = Command::new("riscv64-unknown-elf-gcc")
            .args([
                "-static",
                "-nostdlib",
                "-march=rv64im",
                "-mabi=lp64",
                "-O1",
                "-Wl,--emit-relocs",
                "-o",
            ])
            .arg(&elf)
            .arg(root.join("start.s"))
            .arg(root.join(format!("{name}.c")))
            .status()
            .unwrap();
        assert!(st.success(), "gcc failed on {name}.c");
        // The relocations GNU ld kept: each place already encodes its
        // target, so patching it with the target changes nothing.
        let program = vmlab::elf::load(&std::fs::read(&elf).unwrap()).unwrap();
        assert!(
            !program.relocations.is_empty(),
            "{name}: no relocations kept"
        );
        for r in &program.relocations {
            let s = program.section_at(r.at).unwrap();
            let at = (r.at - s.addr) as usize;
            let place = &s.data[at..at + r.kind.width()];
            let mut patched = place.to_vec();
            r.kind.patch(&mut patched, r.target).unwrap();
            assert_eq!(place, &patched[..], "{name}: {r:?}");
        }
        let qemu = Command::new("qemu-riscv64").arg(&elf).output().unwrap();
        for mmu in ["identity", "base-bounds", "sv39"] {
            let ours = vmlab(&["run", elf.to_str().unwrap(), "--mmu", mmu]);
            assert_eq!(
                ours.stdout.as_bytes(),
                &qemu.stdout[..],
                "{name} stdout under {mmu}"
            );
            assert_eq!(
                Some(ours.code),
                qemu.status.code(),
                "{name} exit status under {mmu}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn segmentation_runs_the_examples_and_protects_code() {
    let sum = vmlab(&["run", "examples/sum.s", "--mmu", "segmentation"]);
    assert_eq!((sum.code, sum.stdout.as_str()), (55, "sum = 55\n"));
    let heap = vmlab(&[
        "run",
        "examples/arraytest.s",
        "--mmu",
        "segmentation",
        "--space",
        "64k",
    ]);
    // The heap starts in segment 1 (at 16 KiB of a 64 KiB space).
    assert!(
        heap.ok().starts_with("sbrk(40) = 0x0000403"),
        "{}",
        heap.stdout
    );
    let src = temp_file("smc.s", b"_start: la a0, _start\nsw zero, 0(a0)\n");
    let run = vmlab(&[
        "run",
        src.to_str().unwrap(),
        "--mmu",
        "segmentation",
        "--json",
    ]);
    assert_eq!(run.code, 1);
    let last = run.json_lines().pop().unwrap();
    assert_eq!(
        (
            last["fault"].as_str(),
            last["access"].as_str(),
            last["va"].as_u64()
        ),
        (Some("protection"), Some("write"), Some(0))
    );
    // The same store under base+bounds is allowed: no protection there
    // (the run goes on until the instruction limit stops it).
    let bb = vmlab(&["run", src.to_str().unwrap(), "--max-instructions", "3"]);
    assert!(bb.stderr.contains("instruction limit"), "{}", bb.stderr);
    let trace = vmlab(&[
        "run",
        "examples/sum.s",
        "--mmu",
        "segmentation",
        "--trace",
        "--json",
        "--max-instructions",
        "6",
    ]);
    let lines = trace.json_lines();
    let load = lines.iter().find(|l| l["kind"] == "load").unwrap();
    assert_eq!(
        (load["segment"].as_u64(), load["region"].as_str()),
        (Some(1), Some("data"))
    );
}

#[test]
fn trace_shows_program_output_where_it_happens() {
    let run = vmlab(&["run", "examples/sum.s", "--trace", "--json"]);
    let lines = run.json_lines();
    let outputs: Vec<&str> = lines
        .iter()
        .filter(|l| l["kind"] == "output")
        .map(|l| l["text"].as_str().unwrap())
        .collect();
    assert_eq!(outputs, vec!["sum = ", "55\n"]);
    assert_eq!(lines.last().unwrap()["kind"], "exit");
    assert_eq!(lines.last().unwrap()["status"], 55);
}

#[test]
fn trace_out_records_every_reference_for_vmlab_trace() {
    // The narrated run, as JSON: one record per fetch, load and store.
    let narrated = vmlab(&["run", "examples/sum.s", "--trace", "--json"]);
    let accesses: Vec<(u64, String)> = narrated
        .json_lines()
        .iter()
        .filter(|r| ["fetch", "load", "store"].contains(&r["kind"].as_str().unwrap_or("")))
        .map(|r| {
            (
                r["va"].as_u64().unwrap(),
                r["access"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(accesses.len() > 50, "{}", accesses.len());
    // The same run recording its references, with and without --trace.
    for extra in [&[][..], &["--trace"][..]] {
        let out = temp_path("sum.bink");
        let mut args = vec![
            "run",
            "examples/sum.s",
            "--trace-out",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        let run = vmlab(&args);
        assert_eq!(run.code, 55, "sum exits with its result");
        let bytes = std::fs::read(&out).unwrap();
        let kind = |b: u8| ["read", "write", "fetch"][b as usize].to_string();
        let recorded: Vec<(u64, String)> = bytes
            .chunks_exact(9)
            .map(|r| (u64::from_le_bytes(r[..8].try_into().unwrap()), kind(r[8])))
            .collect();
        assert_eq!(recorded, accesses);
        // vmlab trace reads it back (detected as bin-kind by its name).
        let replay = vmlab(&["trace", "--json", out.to_str().unwrap()]);
        let summary = &replay.json_lines()[0];
        assert_eq!(summary["format"], "bin-kind");
        assert_eq!(summary["references"].as_u64(), Some(accesses.len() as u64));
        let _ = std::fs::remove_file(out);
    }
}

#[test]
fn trace_out_records_the_access_that_faulted() {
    // E4 with the frame pointer at the end of a 1 KiB space: its first
    // load (s0 + 8 = 0x408) is out of bounds, and is the last reference
    // recorded, after the fetch of the instruction that made it.
    let out = temp_path("e4-fault.bink");
    let run = vmlab(&[
        "run",
        "examples/e4.s",
        "--base",
        "4k",
        "--space",
        "1k",
        "--reg",
        "s0=0x400",
        "--max-instructions",
        "3",
        "--trace-out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let bytes = std::fs::read(&out).unwrap();
    let last = &bytes[bytes.len() - 9..];
    assert_eq!(bytes.len(), 18, "the fetch at 0x10 and the faulting load");
    assert_eq!(u64::from_le_bytes(last[..8].try_into().unwrap()), 0x408);
    assert_eq!(last[8], 0, "a read");
    let _ = std::fs::remove_file(out);
    let bad = vmlab(&[
        "run",
        "examples/sum.s",
        "--trace-out",
        "/nonexistent/dir/x.bink",
    ]);
    bad.bad_input(&["--trace-out /nonexistent/dir/x.bink"]);
}

/// §2: `vmlab run --json` is JSON lines always, `--trace` or not: the
/// program's output comes as `output` records, the end as an `exit` record.
#[test]
fn run_json_is_json_lines_without_trace_too() {
    let run = vmlab(&["run", "examples/sum.s", "--json"]);
    assert_eq!(run.code, 55, "{}", run.stderr);
    let lines = run.json_lines();
    assert!(lines.iter().all(|l| l["kind"].is_string()), "{lines:?}");
    let printed: String = lines
        .iter()
        .filter(|l| l["kind"] == "output")
        .inspect(|l| assert_eq!(l["fd"], 1))
        .map(|l| l["text"].as_str().unwrap())
        .collect();
    assert_eq!(printed, "sum = 55\n");
    let last = lines.last().unwrap();
    assert_eq!(
        (last["kind"].as_str(), last["status"].as_i64()),
        (Some("exit"), Some(55))
    );
    // Text mode still prints the program's output as it is.
    assert_eq!(vmlab(&["run", "examples/sum.s"]).stdout, "sum = 55\n");
}
