//! `vmlab cc prog.c -o prog`: compile a C program written for xv6 into a
//! static RISC-V ELF64 executable that `vmlab run` and the scenarios' xv6
//! layout load, with the RISC-V cross gcc and vmlab's own xv6-compatible
//! user library (`xv6/` in the repository).
//!
//! The library (headers `kernel/types.h` and `user/user.h`, the start file
//! and `ulib.c`) is compiled into the `vmlab` binary with `include_str!` and
//! written to a fresh temporary directory for each compilation, so the
//! command works wherever the binary is, `cargo install` included. The
//! program is linked with its text at address 0, as xv6 links its user
//! programs and as `vmlab run` assembles.

use super::{CliError, CmdResult};
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The cross compiler `vmlab cc` runs unless `--compiler` says otherwise.
pub const DEFAULT_COMPILER: &str = "riscv64-unknown-elf-gcc";

/// The Debian/Ubuntu package that holds [`DEFAULT_COMPILER`].
pub const DEBIAN_PACKAGE: &str = "gcc-riscv64-unknown-elf";

/// The library's files: (path under the temporary directory, contents).
const LIBRARY: [(&str, &str); 4] = [
    (
        "include/kernel/types.h",
        include_str!("../../xv6/include/kernel/types.h"),
    ),
    (
        "include/user/user.h",
        include_str!("../../xv6/include/user/user.h"),
    ),
    ("lib/start.S", include_str!("../../xv6/lib/start.S")),
    ("lib/ulib.c", include_str!("../../xv6/lib/ulib.c")),
];

/// The flags every compilation gets: RV64IM without floating point (what
/// vmlab's CPU runs), no C library but vmlab's, a static executable with
/// its text at 0, no linker relaxation and no small-data sections (the
/// start file sets no `gp`; .sdata would also share the text's segment), and
/// no builtins (so `printf("...\n")` stays a call to our printf).
const FLAGS: &[&str] = &[
    "-march=rv64im",
    "-mabi=lp64",
    "-mcmodel=medany",
    "-mno-relax",
    "-msmall-data-limit=0",
    "-O",
    "-fno-omit-frame-pointer",
    "-ffreestanding",
    "-fno-builtin",
    "-fno-common",
    "-fno-pic",
    "-fno-stack-protector",
    "-fno-asynchronous-unwind-tables",
    "-fno-unwind-tables",
    "-nostdlib",
    "-static",
    "-Wl,-Ttext=0",
    "-Wl,--build-id=none",
];

/// Flags of `vmlab cc`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
The program includes \"kernel/types.h\" and \"user/user.h\" as on xv6 and may
call exit, write, getpid, sbrk, printf, fprintf, malloc and free (see
xv6/include/user/user.h). System calls use xv6's numbers.

Needs the RISC-V cross gcc (Debian/Ubuntu: apt-get install gcc-riscv64-unknown-elf).

Examples:
  vmlab cc examples/xv6/stacktest.c -o examples/xv6/stacktest.elf
  vmlab run examples/xv6/stacktest.elf
  vmlab scenario run examples/xv6/stacktest.toml
  vmlab cc prog.c -o prog.elf -- -DN=10 -Wall")]
pub struct Args {
    /// The C (or assembly) sources of the program.
    #[arg(required = true, value_name = "FILE.c")]
    sources: Vec<PathBuf>,
    /// Where to write the executable.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// The cross compiler to run.
    #[arg(long, value_name = "GCC", default_value = DEFAULT_COMPILER)]
    compiler: String,
    /// Print the compiler's command line on stderr before running it.
    #[arg(short, long)]
    verbose: bool,
    /// More flags for the compiler (after `--`).
    #[arg(last = true, value_name = "GCC-FLAGS")]
    extra: Vec<String>,
}

/// A directory that is removed (with its contents) when dropped.
struct TempDir(PathBuf);

impl TempDir {
    /// Creates a fresh directory under the system's temporary directory.
    ///
    /// Fails with a message when none can be made.
    fn new() -> Result<TempDir, CliError> {
        let base = std::env::temp_dir();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let mut last = None;
        for attempt in 0..100u32 {
            let dir = base.join(format!("vmlab-cc-{}-{nanos}-{attempt}", std::process::id()));
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok(TempDir(dir)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => {
                    last = Some(e);
                    break;
                }
            }
        }
        Err(CliError::input(format!(
            "cc: cannot make a temporary directory in {}: {}",
            base.display(),
            last.map(|e| e.to_string()).unwrap_or_default()
        )))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes the library into `dir` (`include/...`, `lib/...`).
///
/// Fails with a message naming the file that could not be written.
fn write_library(dir: &Path) -> Result<(), CliError> {
    for (name, text) in LIBRARY {
        let path = dir.join(name);
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, text));
        written
            .map_err(|e| CliError::input(format!("cc: cannot write {}: {e}", path.display())))?;
    }
    Ok(())
}

/// The compiler's arguments for `sources` -> `output`, with the library
/// written under `library`: the fixed flags, the include path, the start
/// file first (its `_start` is the entry), the program, the library, then
/// `extra` and libgcc (for what RV64IM lacks, like floating point).
pub fn compiler_args(
    library: &Path,
    sources: &[PathBuf],
    output: &Path,
    extra: &[String],
) -> Vec<OsString> {
    let mut args: Vec<OsString> = FLAGS.iter().map(OsString::from).collect();
    let mut include = OsString::from("-I");
    include.push(library.join("include"));
    args.push(include);
    args.push(library.join("lib/start.S").into());
    args.extend(sources.iter().map(OsString::from));
    args.push(library.join("lib/ulib.c").into());
    args.extend(extra.iter().map(OsString::from));
    args.push("-lgcc".into());
    args.push("-o".into());
    args.push(output.into());
    args
}

/// The one-line message for a compiler that could not be started.
pub fn missing_compiler_message(compiler: &str, error: &std::io::Error) -> String {
    if error.kind() == std::io::ErrorKind::NotFound {
        format!(
            "cc: the RISC-V cross compiler '{compiler}' is not installed (Debian/Ubuntu: sudo apt-get install {DEBIAN_PACKAGE})"
        )
    } else {
        format!("cc: cannot run '{compiler}': {error}")
    }
}

/// Checks that `output` can be written before the compiler runs, so a bad
/// `-o` is one clear line. Returns whether the file existed already (if not,
/// the probe made it, and a failed compilation removes it again).
fn probe_output(output: &Path) -> Result<bool, CliError> {
    if output.is_dir() {
        return Err(CliError::input(format!(
            "cc: -o {}: is a directory",
            output.display()
        )));
    }
    let existed = output.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(output)
        .map_err(|e| CliError::input(format!("cc: -o {}: cannot write: {e}", output.display())))?;
    Ok(existed)
}

/// Runs `vmlab cc`: checks the sources and the output, writes the library
/// to a temporary directory, runs the compiler with its output passed
/// through, and removes the temporary directory.
///
/// Bad input (a source that is not a readable file, an unwritable `-o`, a
/// missing compiler, a failed compilation) is a [`CliError::Input`]: exit 2
/// with one line of vmlab's own (the compiler's messages come before it).
pub fn run(args: Args, _out: &mut dyn Write) -> CmdResult {
    for source in &args.sources {
        match std::fs::metadata(source) {
            Ok(m) if m.is_file() => {}
            Ok(_) => {
                return Err(CliError::input(format!(
                    "cc: {}: not a file",
                    source.display()
                )));
            }
            Err(e) => {
                return Err(CliError::input(format!("cc: {}: {e}", source.display())));
            }
        }
    }
    let same = |source: &PathBuf| match (source.canonicalize(), args.output.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if let Some(source) = args.sources.iter().find(|s| same(s)) {
        return Err(CliError::input(format!(
            "cc: -o {} is the source {}: the compiler would overwrite it",
            args.output.display(),
            source.display()
        )));
    }
    let existed = probe_output(&args.output)?;
    let remove_probe = || {
        if !existed {
            let _ = std::fs::remove_file(&args.output);
        }
    };
    let dir = TempDir::new().inspect_err(|_| remove_probe())?;
    write_library(&dir.0).inspect_err(|_| remove_probe())?;
    let cc_args = compiler_args(&dir.0, &args.sources, &args.output, &args.extra);
    if args.verbose {
        let shown: Vec<String> = cc_args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        eprintln!("{} {}", args.compiler, shown.join(" "));
    }
    let status = std::process::Command::new(&args.compiler)
        .args(&cc_args)
        .stdin(std::process::Stdio::null())
        .status();
    let status = match status {
        Ok(s) => s,
        Err(e) => {
            remove_probe();
            return Err(CliError::input(missing_compiler_message(
                &args.compiler,
                &e,
            )));
        }
    };
    if !status.success() {
        remove_probe();
        let names: Vec<String> = args
            .sources
            .iter()
            .map(|s| s.display().to_string())
            .collect();
        return Err(CliError::input(format!(
            "cc: {} failed on {} ({status}; its messages are above)",
            args.compiler,
            names.join(" ")
        )));
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_compiler_names_the_debian_package() {
        let e = std::process::Command::new("vmlab-no-such-compiler-gcc")
            .status()
            .unwrap_err();
        let m = missing_compiler_message("vmlab-no-such-compiler-gcc", &e);
        assert!(
            m.contains("'vmlab-no-such-compiler-gcc' is not installed"),
            "{m}"
        );
        assert!(m.contains("apt-get install gcc-riscv64-unknown-elf"), "{m}");
        assert!(!m.contains('\n'), "{m}");
    }

    #[test]
    fn the_start_file_comes_first_and_the_text_sits_at_zero() {
        let args = compiler_args(
            Path::new("/t"),
            &[PathBuf::from("p.c")],
            Path::new("p"),
            &["-DN=1".into()],
        );
        let args: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let at = |s: &str| args.iter().position(|a| a == s).unwrap();
        assert!(at("/t/lib/start.S") < at("p.c"));
        assert!(at("p.c") < at("/t/lib/ulib.c"));
        assert!(at("-DN=1") > at("p.c"));
        for flag in [
            "-march=rv64im",
            "-mabi=lp64",
            "-nostdlib",
            "-static",
            "-Wl,-Ttext=0",
            "-I/t/include",
        ] {
            assert!(args.iter().any(|a| a == flag), "{flag} missing: {args:?}");
        }
        assert_eq!(&args[args.len() - 2..], ["-o", "p"]);
    }

    #[test]
    fn the_library_is_written_where_the_include_path_points() {
        let dir = TempDir::new().unwrap();
        write_library(&dir.0).unwrap();
        let h = std::fs::read_to_string(dir.0.join("include/user/user.h")).unwrap();
        assert!(h.contains("char *sbrk(int n);"));
        assert!(dir.0.join("include/kernel/types.h").is_file());
        let path = dir.0.clone();
        drop(dir);
        assert!(!path.exists(), "the temporary directory is removed");
    }
}
