//! The command line: raw flags (clap) in, validated configuration, a run, and
//! an exit code out.
//!
//! Every subcommand lives in its own file under `cli/`, parses its flags into
//! a configuration, runs the simulation and hands the result to a renderer.
//! Exit codes (DESIGN.md): 0 success; 1 a strict run ended with an unhandled
//! fault; 2 bad input, with a one-line message on stderr.

pub mod asm;
pub mod cc;
pub mod heap;
pub mod malloc;
pub mod multilevel;
pub mod ostep;
pub mod paging;
pub mod paging_policy;
pub mod relocation;
pub mod run;
pub mod scenario;
pub mod sched;
pub mod scheduler;
pub mod segmentation;
pub mod stack;
pub mod tlb;
pub mod trace;
pub mod translate;
#[cfg(feature = "native")]
pub mod web;

use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::io::{self, Write};
use std::process::ExitCode;

/// vmlab: run, step through, measure and draw every mechanism of memory
/// virtualization.
#[derive(Parser, Debug)]
#[command(name = "vmlab", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Addresses in decimal instead of hex (vmlab's own text; JSON and
    /// the OSTEP drop-ins are unchanged).
    #[arg(long, global = true)]
    pub decimal: bool,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Translate virtual addresses with base, base+bounds, segmentation or a
    /// multi-level page table in memory,
    /// narrating every step.
    Translate(translate::Args),
    /// Run the lecture's scenarios (or your own TOML): processes, memory
    /// strategies, context switches, traps, narrated or as JSON events.
    Scenario(scenario::Args),
    /// Drop-in for OSTEP's malloc.py: free-list allocation problems and answers.
    Malloc(malloc::Args),
    /// Drop-in for OSTEP's scheduler.py: FIFO/SJF/RR problems and answers.
    Scheduler(scheduler::Args),
    /// CPU scheduling of a workload (FIFO, SJF, STCF, RR): Gantt chart and metrics.
    Sched(sched::Args),
    /// Heap allocation on the free list: fit policies, holes, fragmentation.
    Heap(heap::Args),
    /// Stack allocation by pointer bump: frees only in reverse order.
    Stack(stack::Args),
    /// Assemble RISC-V assembly into a static ELF64 executable.
    Asm(asm::Args),
    /// Compile a C program written for xv6 (kernel/types.h, user/user.h)
    /// with the RISC-V cross gcc and vmlab's xv6-compatible user library.
    Cc(cc::Args),
    /// Run a program (assembly or ELF) on the RV64IM CPU, every access
    /// translated by the MMU.
    Run(run::Args),
    /// OSTEP relocation.py drop-in: base-and-bounds homework problems.
    Relocation(relocation::Args),
    /// OSTEP segmentation.py drop-in: two-segment homework problems.
    Segmentation(segmentation::Args),
    /// OSTEP paging-linear-translate.py drop-in: linear page-table homework
    /// problems.
    #[command(name = "paging-linear-translate", visible_alias = "paging")]
    Paging(paging::Args),
    /// OSTEP paging-multilevel-translate.py drop-in: two-level page-table
    /// homework problems (address and value, or fault).
    #[command(name = "paging-multilevel-translate")]
    PagingMultilevel(multilevel::Args),
    /// OSTEP paging-policy.py drop-in: page-replacement homework problems
    /// (FIFO, LRU, OPT, UNOPT, RAND, CLOCK).
    #[command(name = "paging-policy")]
    PagingPolicy(paging_policy::Args),
    /// Replay an address trace (text, binary, Valgrind lackey) through an
    /// MMU at memory speed and count what it did.
    Trace(trace::Args),
    /// The TLB chapter's measurement: time per access against pages
    /// touched, run on the CPU under Sv39 with simulated TLBs.
    #[command(name = "tlb-measure")]
    TlbMeasure(tlb::Args),
    /// Serve the browser site (web/dist, built by web/build.sh) on
    /// 127.0.0.1.
    #[cfg(feature = "native")]
    Web(web::Args),
}

/// The physical memory size of every command that takes `--phys-mem`
/// (`translate`, `trace`, `run`) when it is not given: 64 MiB, room for a
/// program's address space at any of the lecture's bases.
pub const DEFAULT_PHYS_MEM: &str = "64m";

/// Why a command could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad input: flags, numbers, files, programs. Exit code 2.
    #[error("{0}")]
    Input(String),
    /// Writing the output failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl CliError {
    /// A bad-input error from anything printable.
    pub fn input(message: impl std::fmt::Display) -> Self {
        CliError::Input(message.to_string())
    }
}

/// What a command returns: its exit code, or why it failed.
pub type CmdResult = Result<u8, CliError>;

/// Runs one parsed command, writing to `out`.
pub fn run(cli: Cli, out: &mut dyn Write) -> CmdResult {
    crate::addr::with_decimal(cli.decimal, || run_command(cli.command, out))
}

/// Runs one subcommand, writing to `out`.
fn run_command(command: Command, out: &mut dyn Write) -> CmdResult {
    match command {
        Command::Translate(args) => translate::run(args, out),
        Command::Scenario(args) => scenario::run(args, out),
        Command::Malloc(args) => malloc::run(args, out),
        Command::Scheduler(args) => scheduler::run(args, out),
        Command::Sched(args) => sched::run(args, out),
        Command::Heap(args) => heap::run(args, out),
        Command::Stack(args) => stack::run(args, out),
        Command::Asm(args) => asm::run(args, out),
        Command::Cc(args) => cc::run(args, out),
        Command::Run(args) => run::run(args, out),
        Command::Relocation(args) => relocation::run(args, out),
        Command::Segmentation(args) => segmentation::run(args, out),
        Command::Paging(args) => paging::run(args, out),
        Command::PagingMultilevel(args) => multilevel::run(args, out),
        Command::PagingPolicy(args) => paging_policy::run(args, out),
        Command::Trace(args) => trace::run(args, out),
        Command::TlbMeasure(args) => tlb::run(args, out),
        #[cfg(feature = "native")]
        Command::Web(args) => web::run(args, out),
    }
}

/// The whole program: parse `args`, run, print any error once on stderr and
/// return the exit code. A closed pipe on stdout (`vmlab ... | head`) ends the
/// run quietly with 0.
pub fn main_with_args<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // Help and version: clap prints them to stdout (exit 0).
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // A usage error: one line, exit 2.
            eprintln!("vmlab: {}", usage_error_line(&e, &args));
            return ExitCode::from(2);
        }
    };
    let stdout = io::stdout();
    let mut out =
        io::BufWriter::with_capacity(1 << 16, NamedWriter::new(stdout.lock(), "standard output"));
    let result = run(cli, &mut out).and_then(|code| {
        out.flush()?;
        Ok(code)
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(CliError::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            let _ = out.flush();
            eprintln!("vmlab: {e}");
            ExitCode::from(2)
        }
    }
}

/// Writes a picture to `path` (the `--svg FILE` and `--html FILE` flags);
/// a file that cannot be written is bad input naming the flag and the file.
pub(crate) fn write_svg_as(flag: &str, path: &std::path::Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text)
        .map_err(|e| CliError::input(format!("{flag}: cannot write {}: {e}", path.display())))
}

/// [`write_svg_as`] for `--svg`.
pub(crate) fn write_svg(path: &std::path::Path, text: &str) -> Result<(), CliError> {
    write_svg_as("--svg", path, text)
}

/// clap's usage error `e` as one line: what is wrong and clap's tips. A
/// negative number given to a flag (which clap takes for an unknown flag,
/// `--base -1`) says so, naming the flag.
fn usage_error_line(e: &clap::Error, args: &[OsString]) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() == ErrorKind::UnknownArgument {
        if let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) {
            let digits = arg.strip_prefix('-').unwrap_or("");
            if digits.starts_with(|c: char| c.is_ascii_digit()) {
                let at = args.iter().position(|a| a.to_str() == Some(arg.as_str()));
                let flag = at
                    .and_then(|i| i.checked_sub(1))
                    .and_then(|i| args[i].to_str())
                    .filter(|f| f.starts_with('-'));
                let why = "is negative (sizes, addresses and counts are unsigned)";
                return match flag {
                    Some(f) => format!("{f}: '{arg}' {why}"),
                    None => format!("'{arg}' {why}"),
                };
            }
        }
    }
    // clap's text: the error (up to the first blank line), then tips.
    let text = e.render().to_string();
    let mut lines = text.lines().map(str::trim);
    let error: Vec<&str> = lines.by_ref().take_while(|l| !l.is_empty()).collect();
    let error = error.join(" ");
    let error = error.strip_prefix("error: ").unwrap_or(&error).to_string();
    let tips: Vec<&str> = lines.filter_map(|l| l.strip_prefix("tip: ")).collect();
    if tips.is_empty() {
        error
    } else {
        format!("{error} ({})", tips.join("; "))
    }
}

/// A writer whose errors name what it writes to: `standard output: No
/// space left on device`, `--out trace.pa: ...`. The error kind is kept
/// (a closed pipe stays a broken pipe).
pub struct NamedWriter<W> {
    inner: W,
    name: String,
}

impl<W> NamedWriter<W> {
    /// Wraps `inner`, naming it `name` in errors.
    pub fn new(inner: W, name: impl Into<String>) -> Self {
        Self {
            inner,
            name: name.into(),
        }
    }

    fn named(&self, e: io::Error) -> io::Error {
        io::Error::new(e.kind(), format!("{}: {e}", self.name))
    }
}

impl<W: Write> Write for NamedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).map_err(|e| self.named(e))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| self.named(e))
    }
}

/// A clap value parser for a small count or width (`14`, `0xe`): the
/// number forms every other flag takes, at most 2^32 - 1.
pub fn parse_u32_arg(text: &str) -> Result<u32, String> {
    let v = crate::addr::parse_number(text).map_err(|e| e.to_string())?;
    u32::try_from(v).map_err(|_| format!("{v} is too large (at most {})", u32::MAX))
}

/// Parses a size or address argument (`16k`, `0x3000`, `100`), naming the
/// flag in the error.
pub fn parse_size_arg(flag: &str, text: &str) -> Result<u64, CliError> {
    crate::addr::parse_number(text).map_err(|e| CliError::input(format!("{flag}: {e}")))
}
