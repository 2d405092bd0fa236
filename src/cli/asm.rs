//! `vmlab asm FILE.s -o FILE.elf`: assemble to a static RISC-V ELF64
//! executable that `riscv64-unknown-elf-objdump` reads and `qemu-riscv64`
//! runs, with the relocation table kept as ELF relocations.

use super::{CliError, CmdResult, parse_size_arg};
use crate::asm::{DEFAULT_TEXT_BASE, Options, assemble};
use std::io::Write;
use std::path::PathBuf;

/// Flags of `vmlab asm`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Example:
  vmlab asm examples/sum.s -o sum.elf && qemu-riscv64 sum.elf")]
pub struct Args {
    /// The assembly source.
    file: PathBuf,
    /// Where to write the ELF executable.
    #[arg(short, long, value_name = "FILE.elf")]
    output: PathBuf,
    /// Address of the first byte of .text.
    #[arg(long, value_name = "ADDR", default_value_t = format!("{DEFAULT_TEXT_BASE:#x}"))]
    text_base: String,
    /// Also print the sections, entry and relocations.
    #[arg(long)]
    verbose: bool,
}

/// Reads a source file, naming it in the error.
pub fn read_source(path: &std::path::Path) -> Result<String, CliError> {
    crate::files::read_text(path, crate::files::FileKind::Program).map_err(CliError::input)
}

/// Runs `vmlab asm`.
pub fn run(args: Args, out: &mut dyn Write) -> CmdResult {
    let text_base = parse_size_arg("--text-base", &args.text_base)?;
    if text_base % 4 != 0 {
        return Err(CliError::input(format!(
            "--text-base: {text_base:#x} is not a multiple of 4 (instructions are 4-byte aligned)"
        )));
    }
    let source = read_source(&args.file)?;
    let program = assemble(
        &source,
        &args.file.display().to_string(),
        &Options { text_base },
    )
    .map_err(CliError::input)?;
    let bytes = crate::elf::write(&program);
    std::fs::write(&args.output, bytes)
        .map_err(|e| CliError::input(format!("{}: {e}", args.output.display())))?;
    #[cfg(unix)]
    {
        // An executable: qemu-riscv64 (like execve) refuses files without x.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&args.output, std::fs::Permissions::from_mode(0o755))?;
    }
    if args.verbose {
        for s in &program.sections {
            writeln!(
                out,
                "{:<8} {:#010x} {:>6} bytes {}",
                s.name, s.addr, s.size, s.perms
            )?;
        }
        writeln!(out, "entry    {:#010x}", program.entry)?;
        for r in &program.relocations {
            let sym = r.symbol.as_deref().unwrap_or("-");
            writeln!(
                out,
                "reloc    {:#010x} {:<6} -> {:#010x} {sym}",
                r.at, r.kind, r.target
            )?;
        }
    }
    Ok(0)
}
