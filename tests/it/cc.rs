//! `vmlab cc`: the seed's C programs (examples/xv6) compiled with the
//! RISC-V cross gcc and vmlab's xv6-compatible library, run under
//! `vmlab run` and under the xv6 layout; printf's formats; bad input. The
//! tests that compile print "skipped: ..." and pass when the compiler is
//! not installed.

use super::support::{temp_file, temp_path, vmlab};
use std::path::{Path, PathBuf};
use std::process::Command;

const GCC: &str = "riscv64-unknown-elf-gcc";

/// Whether the cross compiler runs here; if not, says the test is skipped.
fn have_gcc(test: &str) -> bool {
    let ok = Command::new(GCC)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!(
            "skipped: {test}: {GCC} is not installed (apt-get install gcc-riscv64-unknown-elf)"
        );
    }
    ok
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Compiles `source` with `vmlab cc` into `dir/name.elf`.
fn compile(source: &Path, dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(format!("{name}.elf"));
    let run = vmlab(&["cc", source.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (0, ""),
        "vmlab cc {}",
        source.display()
    );
    out
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = temp_path(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The hex address after `= 0x` on each line that has one.
fn addresses(text: &str) -> Vec<u64> {
    text.lines()
        .filter_map(|l| {
            let hex = l.split("= 0x").nth(1)?;
            let hex: String = hex.chars().take_while(|c| c.is_ascii_hexdigit()).collect();
            u64::from_str_radix(&hex, 16).ok()
        })
        .collect()
}

/// What the program wrote, from a scenario's narration.
fn console(narration: &str) -> String {
    narration
        .lines()
        .filter_map(|l| l.split("writes to the console: ").nth(1))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn check_stacktest(out: &str) {
    let a = addresses(out);
    assert_eq!(a.len(), 4, "main's arr[0], arr[1], f1's b, f2's c:\n{out}");
    assert_eq!(a[1], a[0] + 4, "arr[1] is 4 bytes above arr[0]:\n{out}");
    assert!(
        a[2] < a[0] && a[3] < a[2],
        "deeper calls have lower addresses (the stack grows down):\n{out}"
    );
    assert!(out.contains("(4 bytes above arr[0])"), "{out}");
    assert!(out.ends_with("pid 1: the stack grows down\n"), "{out}");
}

fn check_arraytest(out: &str) {
    let a = addresses(out);
    assert_eq!(a.len(), 6, "three sbrk and three malloc arrays:\n{out}");
    assert_eq!(a[1] - a[0], 40, "{out}");
    assert_eq!(a[2] - a[1], 40, "{out}");
    assert!(
        a.windows(2).all(|w| w[0] < w[1]),
        "each array above the last (the heap grows up):\n{out}"
    );
    assert!(
        a[3..].iter().all(|m| m % 16 == 0),
        "malloc aligns to 16:\n{out}"
    );
    assert!(
        out.contains("h2 - h1 = 40 bytes, h3 - h2 = 40 bytes\n"),
        "{out}"
    );
}

#[test]
fn stacktest_and_arraytest_compile_and_run_under_vmlab_run() {
    if !have_gcc("stacktest_and_arraytest_compile_and_run_under_vmlab_run") {
        return;
    }
    let dir = fresh_dir("cc-run");
    let stack = compile(&root().join("examples/xv6/stacktest.c"), &dir, "stacktest");
    let run = vmlab(&["run", stack.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    check_stacktest(&run.stdout);

    let array = compile(&root().join("examples/xv6/arraytest.c"), &dir, "arraytest");
    let run = vmlab(&["run", array.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    check_arraytest(&run.stdout);
    // fprintf(2, ...) goes to standard error.
    assert_eq!(run.stderr, "arraytest: 100% done\n");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_shipped_scenarios_run_them_under_the_xv6_layout_stack_below_heap() {
    if !have_gcc("the_shipped_scenarios_run_them_under_the_xv6_layout_stack_below_heap") {
        return;
    }
    let dir = fresh_dir("cc-xv6");
    let mut found = Vec::new();
    for name in ["stacktest", "arraytest"] {
        compile(&root().join(format!("examples/xv6/{name}.c")), &dir, name);
        let toml = dir.join(format!("{name}.toml"));
        std::fs::copy(root().join(format!("examples/xv6/{name}.toml")), &toml).unwrap();
        let run = vmlab(&["scenario", "run", "--strict", toml.to_str().unwrap()]);
        assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
        let out = console(&run.stdout);
        found.push(addresses(&out));
        if name == "stacktest" {
            check_stacktest(&out);
        } else {
            check_arraytest(&out);
        }
    }
    // xv6: text, data, guard page, one stack page, then the heap: every
    // local lies in the page just below the first sbrk array.
    let (stack, heap) = (&found[0], &found[1]);
    let page = heap[0] - 4096..heap[0];
    assert!(
        stack.iter().all(|a| page.contains(a)),
        "locals {stack:x?} in the stack page below the heap at {:#x}",
        heap[0]
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn printf_formats_malloc_reuse_and_the_exit_status_of_main() {
    if !have_gcc("printf_formats_malloc_reuse_and_the_exit_status_of_main") {
        return;
    }
    let source = temp_file(
        "formats.c",
        br#"#include "kernel/types.h"
#include "user/user.h"

int
main(int argc, char *argv[])
{
  printf("%d %d %i %u %x %x|\n", 42, -7, 0, 3000000000u, 255, -1);
  printf("%ld %lx %lu %lld %llx|\n", -5000000000L, 0xdeadbeefcafeL,
         18446744073709551615UL, -1LL, 0x123456789abcLL);
  printf("%p %p %s %s %c%c %% %q|\n", (void *)0x1234, (void *)0, "str",
         (char *)0, 'o', 'k');
  fprintf(1, "fd %d, pid %d, argc %d\n", 1, getpid(), argc);
  char *a = malloc(100);
  free(a);
  char *b = malloc(100);
  char *big = malloc(10000);
  char *top = sbrk(0);
  printf("reused %d, big below break %d, aligned %d\n", a == b,
         big + 10000 <= top, ((uint64)big & 15) == 0);
  write(1, "raw\n", 4);
  return 3;
}
"#,
    );
    let dir = fresh_dir("cc-formats");
    let elf = compile(&source, &dir, "formats");
    let run = vmlab(&["run", elf.to_str().unwrap()]);
    assert_eq!(
        run.stdout,
        "42 -7 0 3000000000 ff ffffffff|\n\
         -5000000000 deadbeefcafe 18446744073709551615 -1 123456789abc|\n\
         0x1234 0x0 str (null) ok % %q|\n\
         fd 1, pid 1, argc 0\n\
         reused 1, big below break 1, aligned 1\n\
         raw\n"
    );
    assert_eq!(run.code, 3, "main's return value is the exit status");
    std::fs::remove_dir_all(dir).unwrap();
    std::fs::remove_file(source).unwrap();
}

#[test]
fn compiler_errors_pass_through_then_one_vmlab_line_exit_2() {
    if !have_gcc("compiler_errors_pass_through_then_one_vmlab_line_exit_2") {
        return;
    }
    let source = temp_file("broken.c", b"int main(void) { return undeclared; }\n");
    let out = temp_path("broken.elf");
    let run = vmlab(&["cc", source.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("'undeclared' undeclared"),
        "{}",
        run.stderr
    );
    let vmlab_lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("vmlab:"))
        .collect();
    assert_eq!(vmlab_lines.len(), 1, "{}", run.stderr);
    assert!(vmlab_lines[0].contains("riscv64-unknown-elf-gcc failed on"));
    assert!(!out.exists(), "no output file is left behind");
    std::fs::remove_file(source).unwrap();
}

#[test]
fn a_missing_compiler_is_one_line_naming_the_debian_package() {
    let out = temp_path("never.elf");
    let run = vmlab(&[
        "cc",
        "examples/xv6/stacktest.c",
        "-o",
        out.to_str().unwrap(),
        "--compiler",
        "vmlab-test-no-such-gcc",
    ]);
    run.bad_input(&[
        "vmlab-test-no-such-gcc",
        "apt-get install gcc-riscv64-unknown-elf",
    ]);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(!out.exists(), "no output file is left behind");
}

#[test]
fn a_missing_source_is_one_line_exit_2() {
    let out = temp_path("never.elf");
    let run = vmlab(&["cc", "examples/xv6/no-such.c", "-o", out.to_str().unwrap()]);
    run.bad_input(&["cc: examples/xv6/no-such.c"]);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    let run = vmlab(&["cc", "examples/xv6", "-o", out.to_str().unwrap()]);
    run.bad_input(&["examples/xv6: not a file"]);
}

#[test]
fn an_unwritable_output_is_one_line_exit_2() {
    let run = vmlab(&[
        "cc",
        "examples/xv6/stacktest.c",
        "-o",
        "/nonexistent-dir/stacktest.elf",
    ]);
    run.bad_input(&["-o /nonexistent-dir/stacktest.elf", "cannot write"]);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    let run = vmlab(&["cc", "examples/xv6/stacktest.c", "-o", "examples"]);
    run.bad_input(&["-o examples: is a directory"]);
}

#[test]
fn an_output_that_is_the_source_is_refused() {
    let source = temp_file("self.c", b"int main(void) { return 0; }\n");
    let run = vmlab(&[
        "cc",
        source.to_str().unwrap(),
        "-o",
        source.to_str().unwrap(),
    ]);
    run.bad_input(&["is the source", "would overwrite it"]);
    assert_eq!(
        std::fs::read(&source).unwrap(),
        b"int main(void) { return 0; }\n",
        "the source is untouched"
    );
    std::fs::remove_file(source).unwrap();
}

#[test]
fn stacktest_and_arraytest_run_under_sv39_page_tables() {
    if !have_gcc("stacktest_and_arraytest_run_under_sv39_page_tables") {
        return;
    }
    let dir = fresh_dir("cc-sv39");
    let stack = compile(&root().join("examples/xv6/stacktest.c"), &dir, "stacktest");
    let run = vmlab(&["run", stack.to_str().unwrap(), "--mmu", "sv39"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    check_stacktest(&run.stdout);
    let array = compile(&root().join("examples/xv6/arraytest.c"), &dir, "arraytest");
    let run = vmlab(&["run", array.to_str().unwrap(), "--mmu", "sv39"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    check_arraytest(&run.stdout);
    // xv6's layout: the heap starts on the page above the stack page.
    assert_eq!(addresses(&run.stdout)[0] % 4096, 0, "{}", run.stdout);
    std::fs::remove_dir_all(dir).unwrap();
}
