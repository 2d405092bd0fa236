//! Differential test against GNU as: every program of the corpus
//! (`tests/asm/*.s` and `examples/*.s`) must encode byte for byte as
//! `riscv64-unknown-elf-as -march=rv64im -mno-relax` + `ld` at the same
//! section addresses. Skips (saying so) when the cross binutils are missing.

use super::support::vmlab;
use std::path::{Path, PathBuf};
use std::process::Command;

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn corpus() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["tests/asm", "examples"] {
        for e in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "s") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

fn section_bytes(elf: &Path, section: &str, dir: &Path) -> Vec<u8> {
    let out = dir.join("section.bin");
    let _ = std::fs::remove_file(&out);
    let st = Command::new("riscv64-unknown-elf-objcopy")
        .args(["-O", "binary", "--only-section", section])
        .arg(elf)
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::read(&out).unwrap_or_default()
}

#[test]
fn corpus_encodes_exactly_like_gnu_as() {
    if !have("riscv64-unknown-elf-as") || !have("riscv64-unknown-elf-ld") {
        eprintln!(
            "SKIPPED corpus_encodes_exactly_like_gnu_as: riscv64-unknown-elf-as/ld not installed (Debian: binutils-riscv64-unknown-elf)"
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("vmlab-asm-gnu-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files = corpus();
    assert!(files.len() >= 8, "corpus too small: {files:?}");
    for src in files {
        let name = src.file_stem().unwrap().to_string_lossy().to_string();
        let ours = dir.join(format!("{name}.vmlab.elf"));
        let run = vmlab(&[
            "asm",
            src.to_str().unwrap(),
            "-o",
            ours.to_str().unwrap(),
            "--verbose",
        ]);
        let listing = run.ok().to_string();
        // Link GNU's object at the addresses our layout chose.
        let mut ld_args = vec!["-e".to_string(), "_start".to_string()];
        let mut sections = Vec::new();
        for line in listing.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() >= 2 && f[0].starts_with('.') {
                ld_args.push(format!("--section-start={}={}", f[0], f[1]));
                sections.push(f[0].to_string());
            }
        }
        let obj = dir.join(format!("{name}.o"));
        let gnu = dir.join(format!("{name}.gnu.elf"));
        let st = Command::new("riscv64-unknown-elf-as")
            .args(["-march=rv64im", "-mabi=lp64", "-mno-relax", "-o"])
            .arg(&obj)
            .arg(&src)
            .status()
            .unwrap();
        assert!(st.success(), "GNU as rejected {}", src.display());
        let st = Command::new("riscv64-unknown-elf-ld")
            .args(&ld_args)
            .arg("--no-relax")
            .arg("-o")
            .arg(&gnu)
            .arg(&obj)
            .status()
            .unwrap();
        assert!(st.success(), "GNU ld failed on {}", src.display());
        for s in sections.iter().filter(|s| *s != ".bss") {
            let a = section_bytes(&ours, s, &dir);
            let b = section_bytes(&gnu, s, &dir);
            if a != b {
                let first = a
                    .iter()
                    .zip(&b)
                    .position(|(x, y)| x != y)
                    .unwrap_or(a.len().min(b.len()));
                panic!(
                    "{}: section {s} differs from GNU as at byte {first:#x} (ours {} bytes, GNU {} bytes)",
                    src.display(),
                    a.len(),
                    b.len()
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
