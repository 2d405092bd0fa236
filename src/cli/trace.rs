//! `vmlab trace`: replays an address trace (text, binary, or a Valgrind
//! lackey capture of a real program) through base, base+bounds,
//! segmentation, no translation or a scenario process's MMU, at memory
//! speed, and reports what the MMU did: references by kind, valid ones,
//! faults by reason, per-segment counts and the addresses each segment
//! touched, and the time the cost model estimates for the valid references
//! (`--served-by`, `--cost`).
//!
//! The mechanism flags are `vmlab translate`'s (shared parser); `--layout
//! auto` fits a segment table to the trace instead (two passes over a file;
//! from stdin or a pipe, the table is fitted to the first 72 MiB, which are
//! kept in memory and then replayed with the rest); `--scenario NAME --pid
//! N` runs a scenario through the kernel and replays the trace through the
//! MMU registers the kernel left for that process.

use super::translate::{MechanismFlags, build_mechanism, describe};
use super::{CliError, CmdResult, parse_size_arg};
use crate::cost::{CostModel, ServedBy};
use crate::kernel::Pid;
use crate::mmu::{Access, AnyMmu};
use crate::render::trace::{CostFrom, ScenarioProcess, Summary, summary_json, summary_text};
use crate::scenario;
use crate::trace::{self, Format, Input, Options, Sinks, TraceError};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How much of stdin `--layout auto` reads to fit the segment table
/// (a multiple of both binary record sizes).
const STDIN_LAYOUT_WINDOW: usize = 72 << 20;

/// Flags of `vmlab trace`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Formats (detected from the name and content, or --format):
  text      one address per line: 4096, 0x1000, with an optional kind: R 0x10, W:4096, F 7
  bin       little-endian u64 addresses (*.bin); all take --access
  bin-kind  u64 address + u8 kind (0 read, 1 write, 2 fetch) records (*.bink)
  lackey    valgrind --tool=lackey --trace-mem=yes output (I, L, S, M = read + write)

Examples:
  vmlab trace --base 0 --bounds 1g --phys-mem 4g addresses.bin
  valgrind --tool=lackey --trace-mem=yes ./prog 2> prog.lackey
  vmlab trace --layout auto prog.lackey
  valgrind --tool=lackey --trace-mem=yes ./prog 2>&1 | vmlab trace --format lackey --layout auto -
  vmlab trace --va-bits 14 --segment 0x2000:0x6ff:r --segment 0:0x4ff:rw \\
              --segment 0x3000:0xfff:rw --segment 0:0:- refs.txt --json --per-access
  vmlab trace --scenario e11-segmentation --pid 1 refs.txt

The estimated time charges each valid reference one memory access at the
cost model's level (--served-by, default dram: 80 ns); the cost model has no
figure for translation, traps or CPU time, so they are not charged.
--cost FILE takes the keys of a scenario's [cost] table, e.g.
  dram_ns = 100
  served_by = \"l2\"

--scenario runs the scenario to its end through the kernel, then replays the
trace through the process's MMU registers as the kernel left them: saved in
its PCB, or loaded in the MMU if it was on the CPU. It brings its own physical
memory: --base, --bounds, --segment, --va-bits, --layout and --phys-mem do not
apply.

--out FILE writes the physical address of every reference that translated
(faulting references never reach memory and are left out): bin records for a
bin trace, bin-kind records otherwise.")]
pub struct Args {
    /// The trace file, or - for standard input.
    #[arg(value_name = "TRACE")]
    trace: PathBuf,
    /// The trace format: text, bin, bin-kind or lackey (default: detected).
    #[arg(long, value_name = "FORMAT")]
    format: Option<String>,
    // The mechanism, as in `vmlab translate` (a --segment table overrides
    // --layout).
    #[command(flatten)]
    mechanism: MechanismFlags,
    /// `auto`: fit a segment table (code, data, stack) to the addresses the
    /// trace touches (a --segment table given by hand overrides it).
    #[arg(long, value_name = "auto")]
    layout: Option<String>,
    /// Size of physical memory (default 64k; with --layout auto, just what
    /// the segments need).
    #[arg(long, value_name = "SIZE")]
    phys_mem: Option<String>,
    /// Replay through a scenario's process: the scenario (a built-in name
    /// or a TOML file, as `vmlab scenario run` takes it) runs to the end
    /// through the kernel, and the trace goes through the MMU registers
    /// the kernel left for the process --pid.
    #[arg(long, value_name = "NAME|FILE")]
    scenario: Option<String>,
    /// With --scenario: the process (its pid; needed when the scenario has
    /// more than one).
    #[arg(long, value_name = "PID")]
    pid: Option<String>,
    /// The access of references that do not say: read, write or fetch.
    #[arg(long, default_value = "read", value_name = "KIND")]
    access: String,
    /// The cache level that serves every valid reference in the estimated
    /// time: l1, l2, l3 or dram (default: the cost model's, dram).
    #[arg(long, value_name = "LEVEL")]
    served_by: Option<String>,
    /// A cost model for the estimated time: a TOML file with the keys of a
    /// scenario's [cost] table (dram_ns = 100, served_by = "l2", ...);
    /// keys left out keep the E14 table (default: the E14 table, or the
    /// scenario's [cost] with --scenario). At most 64 KiB.
    #[arg(long, value_name = "FILE")]
    cost: Option<PathBuf>,
    /// Print the summary as one JSON record.
    #[arg(long)]
    json: bool,
    /// With --json: also one JSON record per reference, streamed, before
    /// the summary.
    #[arg(long, requires = "json")]
    per_access: bool,
    /// Write the physical addresses of translated references to FILE.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Stop at the first malformed line (exit 2) instead of skipping it.
    #[arg(long)]
    strict: bool,
    /// Never draw the progress bar (it is drawn on a terminal for files).
    #[arg(long)]
    no_progress: bool,
    /// The trace's bytes, held in memory instead of read from TRACE (the
    /// browser page, which has no files; TRACE then only names it). Never
    /// a flag.
    #[arg(skip)]
    pub bytes: Option<Arc<[u8]>>,
    /// A clock in seconds for the rate figures instead of the system's
    /// (the browser's `performance.now()`: wasm32 has no clock in std).
    /// Never a flag.
    #[arg(skip)]
    pub clock: Option<fn() -> f64>,
}

/// Measures the wall-clock time of a pass: with the system's clock, or
/// with the one given in [`Args::clock`].
enum Stopwatch {
    /// The system's monotonic clock (never on wasm32, where it panics).
    #[cfg(not(target_arch = "wasm32"))]
    System(std::time::Instant),
    /// A given clock and its reading at the start.
    Given(fn() -> f64, f64),
    /// No clock at all: every pass takes 0 seconds.
    #[cfg(target_arch = "wasm32")]
    Stopped,
}

impl Stopwatch {
    /// Starts timing with `clock`, or the system's clock.
    fn start(clock: Option<fn() -> f64>) -> Stopwatch {
        match clock {
            Some(now) => Stopwatch::Given(now, now()),
            #[cfg(not(target_arch = "wasm32"))]
            None => Stopwatch::System(std::time::Instant::now()),
            #[cfg(target_arch = "wasm32")]
            None => Stopwatch::Stopped,
        }
    }

    /// Seconds since the start.
    fn seconds(&self) -> f64 {
        match self {
            #[cfg(not(target_arch = "wasm32"))]
            Stopwatch::System(t) => t.elapsed().as_secs_f64(),
            Stopwatch::Given(now, t0) => (now() - t0).max(0.0),
            #[cfg(target_arch = "wasm32")]
            Stopwatch::Stopped => 0.0,
        }
    }
}

/// The trace's name for messages.
fn name_of(path: &Path) -> String {
    path.display().to_string()
}

/// Opens the trace: the bytes given in memory, else the file (or stdin
/// for `-`).
fn open_trace(args: &Args) -> Result<Input, CliError> {
    match &args.bytes {
        Some(bytes) => Ok(Input::from_bytes(bytes.clone())),
        None => open(&args.trace),
    }
}

/// Opens `path` (or stdin for `-`).
fn open(path: &Path) -> Result<Input, CliError> {
    if path == Path::new("-") {
        return Ok(Input::stream(Box::new(io::stdin())));
    }
    Input::open(path).map_err(|e| CliError::input(format!("{}: {e}", name_of(path))))
}

/// Turns a replay error into a one-line message naming the trace.
fn trace_error(name: &str, e: TraceError) -> CliError {
    match e {
        TraceError::Write(e) => CliError::Io(e),
        e => CliError::input(format!("{name}: {e}")),
    }
}

/// Runs `vmlab trace`.
pub fn run(args: Args, out: &mut dyn Write) -> CmdResult {
    let name = name_of(&args.trace);
    let is_stdin = args.trace == Path::new("-");
    let default_access: Access = args
        .access
        .parse()
        .map_err(|e| CliError::input(format!("--access: {e}")))?;
    let served_by: Option<ServedBy> = args
        .served_by
        .as_deref()
        .map(|l| {
            l.parse()
                .map_err(|e| CliError::input(format!("--served-by: {e}")))
        })
        .transpose()?;
    let cost_file = match &args.cost {
        Some(path) => {
            let text = crate::files::read_text(path, crate::files::FileKind::Cost)
                .map_err(|e| CliError::input(format!("--cost {e}")))?;
            Some(
                CostModel::from_toml(&path.display().to_string(), &text)
                    .map_err(|e| CliError::input(format!("--cost {e}")))?,
            )
        }
        None => None,
    };
    // A scenario's process brings its own mechanism and memory.
    let from_scenario = match &args.scenario {
        Some(which) => {
            refuse_mechanism_flags(&args)?;
            Some(scenario_mechanism(which, args.pid.as_deref())?)
        }
        None if args.pid.is_some() => {
            return Err(CliError::input(
                "--pid chooses a process of --scenario: give --scenario NAME too",
            ));
        }
        None => None,
    };
    let phys_mem = args
        .phys_mem
        .as_deref()
        .map(|p| parse_size_arg("--phys-mem", p))
        .transpose()?;
    let auto = match args.layout.as_deref() {
        None => false,
        Some("auto") => args.mechanism.segments.is_empty(),
        Some(other) => {
            return Err(CliError::input(format!(
                "--layout: unknown layout '{other}' (expected auto)"
            )));
        }
    };
    if auto && (args.mechanism.base.is_some() || args.mechanism.bounds.is_some()) {
        return Err(CliError::input(
            "--layout auto builds a segment table: it cannot be combined with --base/--bounds",
        ));
    }

    // The input. A stream (stdin, a pipe) cannot be read twice: with
    // --layout auto its first window is kept in memory, the layout is
    // fitted to it, then it is replayed with the rest of the stream.
    let streamed = args.bytes.is_none()
        && (is_stdin || std::fs::metadata(&args.trace).is_ok_and(|m| !m.is_file() && !m.is_dir()));
    let mut window: Option<Arc<[u8]>> = None;
    let mut input = if streamed && auto {
        let mut reader: Box<dyn Read> = if is_stdin {
            Box::new(io::stdin())
        } else {
            Box::new(File::open(&args.trace).map_err(|e| CliError::input(format!("{name}: {e}")))?)
        };
        let mut kept = Vec::new();
        reader
            .by_ref()
            .take(STDIN_LAYOUT_WINDOW as u64)
            .read_to_end(&mut kept)
            .map_err(|e| CliError::input(format!("{name}: {e}")))?;
        let kept: Arc<[u8]> = kept.into();
        window = Some(kept.clone());
        Input::stream(Box::new(io::Cursor::new(kept).chain(reader)))
    } else {
        open_trace(&args)?
    };
    let format = match &args.format {
        Some(f) => f
            .parse::<Format>()
            .map_err(|e| CliError::input(format!("--format: {e}")))?,
        None => {
            let head = input
                .peek()
                .map_err(|e| CliError::input(format!("{name}: {e}")))?;
            Format::detect((!is_stdin).then_some(args.trace.as_path()), head)
                .map_err(|e| CliError::input(format!("{name}: {e}")))?
        }
    };
    let opts = Options {
        format,
        default_access,
        strict: args.strict,
    };

    // The mechanism: the scenario process's, from the flags, or fitted to
    // the trace.
    let fitting = Stopwatch::start(args.clock);
    let (mmu, process, scenario_cost) = match from_scenario {
        Some((mmu, process, cost)) => (mmu, Some(process), Some(cost)),
        None => (
            mechanism_for_trace(&args, auto, phys_mem, &window, &opts, &name)?,
            None,
            None,
        ),
    };
    let layout_seconds = auto.then(|| fitting.seconds());

    // The cost model of the estimated time: --cost, else the scenario's
    // [cost] (when it differs from the E14 table), else the E14 table;
    // --served-by then picks the level.
    let cost_name = args.cost.as_ref().map(|p| p.display().to_string());
    let (mut cost, cost_from) = match (cost_file, scenario_cost, &process) {
        (Some(model), _, _) => (model, CostFrom::File(cost_name.as_deref().unwrap_or(""))),
        (None, Some(model), Some(p)) if model != CostModel::default() => {
            (model, CostFrom::Scenario(p.scenario.as_str()))
        }
        _ => (CostModel::default(), CostFrom::Defaults),
    };
    if let Some(level) = served_by {
        cost.served_by = level;
    }

    // Sinks: --out, per-access records, the progress bar.
    let mut out_file = match &args.out {
        Some(p) => Some(io::BufWriter::with_capacity(
            1 << 20,
            super::NamedWriter::new(
                File::create(p)
                    .map_err(|e| CliError::input(format!("--out {}: {e}", p.display())))?,
                format!("--out {}", p.display()),
            ),
        )),
        None => None,
    };
    let bar = progress_bar(&input, args.no_progress, "replay");
    let mut progress = |n: u64| {
        if let Some(b) = &bar {
            b.set_position(n);
        }
    };
    let started = Stopwatch::start(args.clock);
    let report = {
        let sinks = Sinks {
            out: out_file
                .as_mut()
                .map(|w| (w as &mut dyn Write, format.has_kinds())),
            per_access: if args.per_access {
                Some(&mut *out)
            } else {
                None
            },
            progress: &mut progress,
        };
        trace::replay(&mmu, &mut input, &opts, sinks)
    };
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let report = report.map_err(|e| trace_error(&name, e))?;
    if let Some(mut w) = out_file {
        w.flush()?;
    }
    let seconds = started.seconds();

    let header = match &mmu {
        AnyMmu::Segmentation(_) => describe(&mmu).lines().next().unwrap_or("").to_string(),
        _ => describe(&mmu),
    };
    let summary = Summary {
        trace: &name,
        format,
        mmu: &mmu,
        header: &header,
        auto_layout: auto,
        scenario: process.as_ref(),
        cost: &cost,
        cost_from,
        report: &report,
        seconds,
        layout_seconds,
    };
    if args.json {
        writeln!(out, "{}", summary_json(&summary))?;
    } else {
        write!(out, "{}", summary_text(&summary))?;
    }
    Ok(0)
}

/// The mechanism without `--scenario`: fitted to the trace (`--layout
/// auto`: a first pass over the kept stdin window or the file), or built
/// from the mechanism flags. Bad flags or an unreadable trace are
/// [`CliError::Input`].
fn mechanism_for_trace(
    args: &Args,
    auto: bool,
    phys_mem: Option<u64>,
    window: &Option<Arc<[u8]>>,
    opts: &Options,
    name: &str,
) -> Result<AnyMmu, CliError> {
    if auto {
        let scan = match window {
            Some(kept) => {
                let mut first = Input::stream(Box::new(io::Cursor::new(kept.clone())));
                trace::scan(&mut first, opts, &mut |_| {}).map_err(|e| trace_error(name, e))?
            }
            None => {
                // A pass over the whole file: it gets a bar of its own.
                let mut first = open_trace(args)?;
                let bar = progress_bar(&first, args.no_progress, "layout");
                let mut progress = |n: u64| {
                    if let Some(b) = &bar {
                        b.set_position(n);
                    }
                };
                let scan = trace::scan(&mut first, opts, &mut progress);
                if let Some(b) = &bar {
                    b.finish_and_clear();
                }
                scan.map_err(|e| trace_error(name, e))?
            }
        };
        Ok(AnyMmu::Segmentation(
            scan.build(phys_mem).map_err(CliError::input)?,
        ))
    } else {
        build_mechanism(&args.mechanism, phys_mem.unwrap_or(64 * 1024))
    }
}

/// `--scenario` takes the whole machine from the scenario: refuses the
/// flags that would choose or size another mechanism, naming them.
fn refuse_mechanism_flags(args: &Args) -> Result<(), CliError> {
    let given: Vec<&str> = [
        ("--base", args.mechanism.base.is_some()),
        ("--bounds", args.mechanism.bounds.is_some()),
        ("--segment", !args.mechanism.segments.is_empty()),
        ("--va-bits", args.mechanism.va_bits.is_some()),
        ("--layout", args.layout.is_some()),
        ("--phys-mem", args.phys_mem.is_some()),
    ]
    .into_iter()
    .filter_map(|(flag, set)| set.then_some(flag))
    .collect();
    if given.is_empty() {
        return Ok(());
    }
    Err(CliError::input(format!(
        "--scenario cannot be combined with {}: the mechanism and physical memory are those the scenario's kernel set up",
        given.join(", ")
    )))
}

/// `--scenario WHICH --pid PID`: runs the scenario (a file or a built-in,
/// as `vmlab scenario run` finds it) to the end through the kernel and
/// returns the MMU of process `pid` exactly as the kernel left it
/// ([`crate::kernel::Kernel::mmu_of`]: its saved registers in the
/// scenario's MMU, or the live MMU if it was on the CPU), what to say
/// about it, and the scenario's cost model.
///
/// Without `pid` the scenario must have loaded exactly one process. Bad
/// input (exit 2, one line): an unknown scenario, a scenario of other
/// commands, a strategy without MMU registers (uniprogramming, time
/// sharing, static relocation: pa = va), a bad or unknown pid (the message
/// lists the valid ones), registers the MMU refuses.
fn scenario_mechanism(
    which: &str,
    pid: Option<&str>,
) -> Result<(AnyMmu, ScenarioProcess, CostModel), CliError> {
    let (origin, text) = super::scenario::load(which).map_err(|e| match e {
        CliError::Input(m) => CliError::input(format!("--scenario: {m}")),
        e => e,
    })?;
    let label = if Path::new(which).exists() {
        which.to_string()
    } else {
        origin.trim_end_matches(".toml").to_string()
    };
    if scenario::commands_of(&origin, &text)
        .map_err(CliError::Input)?
        .is_some()
    {
        return Err(CliError::input(format!(
            "--scenario {label}: it runs other vmlab commands and has no processes to take an MMU from"
        )));
    }
    let sc = scenario::parse(&origin, &text).map_err(CliError::Input)?;
    // Only the registers the run leaves are needed: its events are dropped
    // as they happen.
    let k = scenario::run_kernel_unlogged(&sc)
        .map_err(|e| CliError::input(format!("{origin}: {e}")))?;
    let strategy = k.config.strategy;
    if !strategy.dynamic() {
        return Err(CliError::input(format!(
            "--scenario {label} runs under {}, where the MMU does not translate (pa = va): its processes have no registers to replay; without --scenario, --phys-mem {} replays the same",
            strategy.name(),
            k.config.memory
        )));
    }
    if strategy == crate::kernel::Strategy::Paging {
        // The replay translates with registers alone; a page table lives
        // in the run's physical memory, which the replay does not have.
        return Err(CliError::input(format!(
            "--scenario {label} runs under paging: its page tables live in the run's physical memory, which a trace replay does not keep; replay base, base+bounds or segmentation scenarios, or run the accesses in the scenario itself"
        )));
    }
    let listing = || {
        k.procs
            .iter()
            .map(|p| format!("{} {} ({})", p.pid, p.name, p.state.name()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let pid: Pid = match pid {
        Some(text) => {
            let n = text.trim().parse::<Pid>().map_err(|_| {
                CliError::input(format!(
                    "--pid '{text}': not a process id (its processes: {})",
                    listing()
                ))
            })?;
            if !k.procs.iter().any(|p| p.pid == n) {
                return Err(CliError::input(format!(
                    "--pid {n}: scenario {label} has no process {n} (its processes: {})",
                    listing()
                )));
            }
            n
        }
        None => match k.procs.as_slice() {
            [only] => only.pid,
            [] => {
                return Err(CliError::input(format!(
                    "--scenario {label}: no process was loaded, there is no MMU to take"
                )));
            }
            _ => {
                return Err(CliError::input(format!(
                    "--scenario {label} has {} processes: choose one with --pid ({})",
                    k.procs.len(),
                    listing()
                )));
            }
        },
    };
    let p = k.proc(pid);
    let mmu = k.mmu_of(pid).map_err(|e| {
        CliError::input(format!(
            "--scenario {label}: process {pid} ({}): the trace cannot be replayed: {e}",
            p.name
        ))
    })?;
    let process = ScenarioProcess {
        scenario: label,
        strategy: strategy.name(),
        pid,
        name: p.name.clone(),
        state: p.state.name(),
        on_cpu: k.current == Some(pid),
    };
    Ok((mmu, process, k.config.cost.clone()))
}

/// A progress bar on stderr for one pass over `input` (`pass` names it:
/// `layout` or `replay`), when stderr is a terminal and the size is known.
#[cfg(feature = "native")]
fn progress_bar(input: &Input, disabled: bool, pass: &'static str) -> Option<Bar> {
    let len = input.len()?;
    if disabled || !io::IsTerminal::is_terminal(&io::stderr()) || len == 0 {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len).with_prefix(pass);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{prefix:>6} {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}

/// Without the `native` feature (in a browser) there is no terminal to
/// draw on: never a bar.
#[cfg(not(feature = "native"))]
fn progress_bar(_input: &Input, _disabled: bool, _pass: &'static str) -> Option<Bar> {
    None
}

/// The progress bar's type: indicatif's on a terminal build.
#[cfg(feature = "native")]
type Bar = indicatif::ProgressBar;

/// The progress bar's type without a terminal: it draws nothing.
#[cfg(not(feature = "native"))]
struct Bar;

#[cfg(not(feature = "native"))]
impl Bar {
    fn set_position(&self, _n: u64) {}
    fn finish_and_clear(&self) {}
}
