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
