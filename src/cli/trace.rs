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
use crate::cost::{CostModel, Counts, ServedBy, human_ns};
use crate::kernel::Pid;
use crate::kernel::replacement::{MAX_FRAMES, NextUse, NextUseBuilder, Stats as ReplacementStats};
use crate::mmu::{Access, AnyMmu};
use crate::render::svg::curve::CurvePicture;
use crate::render::trace::{CostFrom, ScenarioProcess, Summary, summary_json, summary_text};
use crate::scenario;
use crate::trace::Accesses;
use crate::trace::paging::{Curve, Demand, LruCurve, OptCurve, PolicyName};
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

--pa-trace FILE writes the physical address of every reference that translated
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
    /// Size of physical memory (default 64m, as in every command; with
    /// --layout auto, just what the segments need).
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
    /// Demand paging: the size of the trace's virtual pages (a power of
    /// two; default 4k). Needs --frames or --curve.
    #[arg(long, value_name = "SIZE")]
    page_size: Option<String>,
    /// Demand paging over the trace's virtual pages with N frames, or with
    /// each count of a list (1,2,4,8), side by side in the same pass.
    #[arg(long, value_name = "N[,N...]")]
    frames: Option<String>,
    /// The replacement policy of --frames and --curve: fifo, lru (the
    /// default), clock, random or opt (opt reads a trace file twice).
    #[arg(long, value_name = "POLICY")]
    policy: Option<String>,
    /// A miss-ratio curve: `frames`, the page faults at every frame count
    /// from 1 to N in one pass (lru, opt; fifo, clock and random at the
    /// --frames counts), or `tlb`, the misses of a fully associative LRU
    /// TLB at every number of entries.
    #[arg(long, value_name = "frames|tlb")]
    curve: Option<String>,
    /// The largest count of --curve (default: the trace's distinct pages).
    #[arg(long, value_name = "N", requires = "curve")]
    max_frames: Option<String>,
    /// With --curve: also draw the curve as an SVG picture in FILE.
    #[arg(long, value_name = "FILE", requires = "curve")]
    svg: Option<PathBuf>,
    /// Print the summary as one JSON record.
    #[arg(long)]
    json: bool,
    /// With --json: also one JSON record per reference, streamed, before
    /// the summary.
    #[arg(long, requires = "json")]
    per_access: bool,
    /// Write the physical addresses of translated references to FILE, as
    /// a trace (`--out` is the old name).
    #[arg(long, alias = "out", value_name = "FILE")]
    pa_trace: Option<PathBuf>,
    /// Strict: exit with code 1 if any reference faulted, and stop at the
    /// first malformed line (exit 2) instead of skipping it.
    #[arg(long)]
    strict: bool,
    /// Never draw the progress bar (it is drawn on a terminal for files).
    #[arg(long)]
    no_progress: bool,
    /// Also print the wall-clock time and rates of the replay (the `time`
    /// line). Off by default: the summary is then the same bytes on every
    /// run, for diffing and grading.
    #[arg(long)]
    pub timing: bool,
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

    // Sinks: --pa-trace, per-access records, the progress bar.
    let mut out_file = match &args.pa_trace {
        Some(p) => Some(io::BufWriter::with_capacity(
            1 << 20,
            super::NamedWriter::new(
                File::create(p)
                    .map_err(|e| CliError::input(format!("--pa-trace {}: {e}", p.display())))?,
                format!("--pa-trace {}", p.display()),
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
    // Demand paging over the pages (--frames, --curve): OPT first reads
    // the whole trace for its future.
    let plan = paging_plan(&args)?;
    let mut runner = match &plan {
        Some(plan) => {
            let future = if plan.policy.needs_future() {
                if streamed || is_stdin {
                    return Err(CliError::input(
                        "--policy opt needs the future: it reads the trace twice, so give a trace file, not a stream",
                    ));
                }
                let mut first = open_trace(&args)?;
                let mut next = NextUseBuilder::default();
                let bits = plan.page_bits;
                trace::each_batch(&mut first, &opts, &mut |_| {}, &mut |vas, _| {
                    for &va in vas {
                        next.push(va >> bits);
                    }
                })
                .map_err(|e| trace_error(&name, e))?;
                Some(next.finish())
            } else {
                None
            };
            Some(plan.runner(future).map_err(CliError::input)?)
        }
        None => None,
    };
    let mut on_pages = |vas: &[u64], acc: Accesses<'_>| {
        if let Some(r) = runner.as_mut() {
            r.observe(vas, acc);
        }
    };
    let mut per_access = |t: trace::Translation<'_>| {
        crate::render::trace::write_access(
            &mut *out,
            t.mechanism,
            t.va,
            t.access,
            t.split,
            t.result,
        )
    };
    let started = Stopwatch::start(args.clock);
    let report = {
        let sinks = Sinks {
            out: out_file
                .as_mut()
                .map(|w| (w as &mut dyn Write, format.has_kinds())),
            per_access: if args.per_access {
                Some(&mut per_access)
            } else {
                None
            },
            progress: &mut progress,
            pages: if plan.is_some() {
                Some(&mut on_pages)
            } else {
                None
            },
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
        seconds: args.timing.then_some(seconds),
        layout_seconds,
    };
    let paging = match (&plan, &runner) {
        (Some(plan), Some(runner)) => Some(plan.outcome(runner, &cost, report.stats.valid)),
        _ => None,
    };
    if let (Some(p), Some(path)) = (&paging, &args.svg) {
        let picture = p.picture().ok_or_else(|| {
            CliError::input("--svg draws a curve: give --curve frames or --curve tlb")
        })?;
        std::fs::write(path, crate::render::svg::curve::svg(&picture))
            .map_err(|e| CliError::input(format!("--svg {}: {e}", path.display())))?;
    }
    if args.json {
        let mut record = summary_json(&summary);
        if let Some(p) = &paging {
            record["paging"] = p.json();
        }
        writeln!(out, "{record}")?;
    } else {
        write!(out, "{}", summary_text(&summary))?;
        if let Some(p) = &paging {
            write!(out, "{}", p.text())?;
        }
    }
    // --strict means what it means in every command: a fault fails it.
    Ok(if args.strict && report.stats.faulted() > 0 {
        1
    } else {
        0
    })
}

/// What `--page-size`, `--frames`, `--policy`, `--curve` and
/// `--max-frames` ask for, validated.
struct PagingPlan {
    page_size: u64,
    page_bits: u32,
    policy: PolicyName,
    /// `--frames`: the frame counts.
    frames: Vec<u64>,
    /// `--curve`: `Some(true)` for tlb.
    curve: Option<bool>,
    max_frames: u64,
}

/// The most counts `--frames` may list.
const MAX_FRAME_COUNTS: usize = 64;

/// Reads the paging flags: `None` when neither --frames nor --curve is
/// given (and then none of the others may be). Bad values are one-line
/// input errors naming the flag.
fn paging_plan(args: &Args) -> Result<Option<PagingPlan>, CliError> {
    if args.frames.is_none() && args.curve.is_none() {
        for (flag, given) in [
            ("--page-size", args.page_size.is_some()),
            ("--policy", args.policy.is_some()),
        ] {
            if given {
                return Err(CliError::input(format!(
                    "{flag} is for demand paging: give --frames N or --curve frames too"
                )));
            }
        }
        return Ok(None);
    }
    let page_size = match &args.page_size {
        Some(text) => parse_size_arg("--page-size", text)?,
        None => 4096,
    };
    if !page_size.is_power_of_two() {
        return Err(CliError::input(format!(
            "--page-size: {page_size} is not a power of two (e.g. 4k)"
        )));
    }
    let policy: PolicyName = match &args.policy {
        Some(p) => p
            .parse()
            .map_err(|e| CliError::input(format!("--policy: {e}")))?,
        None => PolicyName::Lru,
    };
    let mut frames = Vec::new();
    if let Some(list) = &args.frames {
        for item in list.split(',') {
            let n = parse_size_arg("--frames", item.trim())?;
            if n == 0 {
                return Err(CliError::input(
                    "--frames: 0 frames cannot hold a page (need at least 1)",
                ));
            }
            if n > MAX_FRAMES {
                return Err(CliError::input(format!(
                    "--frames: {n} frames is more than the {MAX_FRAMES} vmlab manages"
                )));
            }
            frames.push(n);
        }
        if frames.len() > MAX_FRAME_COUNTS {
            return Err(CliError::input(format!(
                "--frames: {} counts; at most {MAX_FRAME_COUNTS} run side by side",
                frames.len()
            )));
        }
    }
    let curve = match args.curve.as_deref() {
        None => None,
        Some("frames") => Some(false),
        Some("tlb") => Some(true),
        Some(other) => {
            return Err(CliError::input(format!(
                "--curve: unknown curve '{other}' (expected frames or tlb)"
            )));
        }
    };
    let max_frames = match &args.max_frames {
        Some(text) => {
            let n = parse_size_arg("--max-frames", text)?;
            if n == 0 || n > MAX_FRAMES {
                return Err(CliError::input(format!(
                    "--max-frames: {n} must be between 1 and {MAX_FRAMES}"
                )));
            }
            n
        }
        None => MAX_FRAMES,
    };
    match (curve, policy) {
        (Some(true), p) if p != PolicyName::Lru => {
            return Err(CliError::input(
                "--curve tlb is the curve of a fully associative LRU TLB: leave out --policy or give lru",
            ));
        }
        (Some(_), PolicyName::Lru | PolicyName::Opt) if !frames.is_empty() => {
            return Err(CliError::input(format!(
                "--frames with --curve and {}: the curve covers every frame count in one pass (bound it with --max-frames)",
                policy.name()
            )));
        }
        (Some(false), PolicyName::Fifo | PolicyName::Clock | PolicyName::Random)
            if frames.is_empty() =>
        {
            return Err(CliError::input(format!(
                "--curve frames with {}: it has no stack property, so the curve re-runs the trace at the frame counts of --frames (e.g. --frames 1,2,4,8)",
                policy.name()
            )));
        }
        _ => {}
    }
    Ok(Some(PagingPlan {
        page_size,
        page_bits: page_size.trailing_zeros(),
        policy,
        frames,
        curve,
        max_frames,
    }))
}

/// The paging pass that runs beside the replay.
enum PagingRunner {
    /// One replacer per frame count.
    Demand(Demand),
    /// The one-pass LRU curve.
    Lru(LruCurve),
    /// The one-pass OPT curve.
    Opt(OptCurve),
}

impl PagingRunner {
    fn observe(&mut self, vas: &[u64], acc: Accesses<'_>) {
        match self {
            PagingRunner::Demand(d) => match acc {
                Accesses::Uniform(a) => d.observe(vas, |_| a == Access::Write),
                _ => d.observe(vas, |i| acc.kind(i) == Access::Write),
            },
            PagingRunner::Lru(c) => c.observe(vas),
            PagingRunner::Opt(c) => c.observe(vas),
        }
    }
}

impl PagingPlan {
    /// The pass to run (`future`: OPT's next uses).
    fn runner(&self, future: Option<NextUse>) -> Result<PagingRunner, String> {
        Ok(match (self.curve, self.policy) {
            (Some(_), PolicyName::Lru) => {
                PagingRunner::Lru(LruCurve::new(self.page_bits, self.max_frames))
            }
            (Some(_), PolicyName::Opt) => PagingRunner::Opt(OptCurve::new(
                self.page_bits,
                self.max_frames,
                future.unwrap_or_default(),
            )),
            _ => PagingRunner::Demand(
                Demand::new(self.page_bits, self.policy, &self.frames, future.as_ref())
                    .map_err(|e| e.to_string())?,
            ),
        })
    }

    /// What the pass found, priced with `cost` (`valid`: the references
    /// the MMU translated, one memory access each).
    fn outcome(&self, runner: &PagingRunner, cost: &CostModel, valid: u64) -> PagingOutcome {
        let price = |s: &ReplacementStats| {
            let transfers = s.misses + s.writebacks;
            cost.estimate(&Counts {
                accesses: valid,
                disk_transfers: transfers,
                disk_bytes: transfers.saturating_mul(self.page_size),
                ..Counts::default()
            })
            .total_ns()
        };
        let runs = match runner {
            PagingRunner::Demand(d) => d
                .results()
                .into_iter()
                .map(|r| (r.frames, r.stats, price(&r.stats)))
                .collect(),
            _ => Vec::new(),
        };
        let curve = match runner {
            PagingRunner::Lru(c) => Some(c.finish()),
            PagingRunner::Opt(c) => Some(c.finish()),
            PagingRunner::Demand(_) => None,
        };
        PagingOutcome {
            page_size: self.page_size,
            policy: self.policy,
            curve_kind: self.curve,
            runs,
            curve,
            fault_ns: cost.disk_ns(self.page_size),
        }
    }
}

/// The paging part of the summary.
struct PagingOutcome {
    page_size: u64,
    policy: PolicyName,
    curve_kind: Option<bool>,
    /// Demand paging: (frames, counts, estimated ns) per frame count.
    runs: Vec<(u64, ReplacementStats, f64)>,
    /// A one-pass curve.
    curve: Option<Curve>,
    /// The price of one fault (a disk transfer of a page).
    fault_ns: f64,
}

impl PagingOutcome {
    fn unit(&self) -> &'static str {
        if self.curve_kind == Some(true) {
            "TLB entries"
        } else {
            "frames"
        }
    }

    /// (count, faults, references) at every point of the curve or run.
    fn points(&self) -> Vec<(u64, u64, u64)> {
        match &self.curve {
            Some(c) => c
                .faults
                .iter()
                .enumerate()
                .map(|(i, &f)| (i as u64 + 1, f, c.references))
                .collect(),
            None => self
                .runs
                .iter()
                .map(|(n, s, _)| (*n, s.misses, s.references()))
                .collect(),
        }
    }

    /// Consecutive frame counts (ascending) where more frames fault more.
    fn anomalies(&self) -> Vec<((u64, u64), (u64, u64))> {
        let mut runs: Vec<(u64, u64)> = self.runs.iter().map(|(n, s, _)| (*n, s.misses)).collect();
        runs.sort_unstable();
        runs.windows(2)
            .filter(|w| w[1].0 > w[0].0 && w[1].1 > w[0].1)
            .map(|w| (w[0], w[1]))
            .collect()
    }

    fn picture(&self) -> Option<CurvePicture> {
        self.curve_kind?;
        let name = self.policy.name().to_ascii_uppercase();
        let title = if self.curve_kind == Some(true) {
            format!(
                "TLB miss rate (fully associative, LRU), {}-byte pages",
                self.page_size
            )
        } else {
            format!("{name} page-fault rate, {}-byte pages", self.page_size)
        };
        let mut points: Vec<(u64, f64)> = self
            .points()
            .into_iter()
            .map(|(n, f, refs)| {
                (
                    n,
                    if refs == 0 {
                        0.0
                    } else {
                        f as f64 / refs as f64
                    },
                )
            })
            .collect();
        points.sort_by_key(|p| p.0);
        Some(CurvePicture {
            title,
            unit: self.unit().to_string(),
            points,
        })
    }

    fn text(&self) -> String {
        use std::fmt::Write as _;
        let mut t = String::new();
        let name = self.policy.name().to_ascii_uppercase();
        let _ = writeln!(t);
        let rate = |f: u64, refs: u64| {
            if refs == 0 {
                "-".to_string()
            } else {
                format!("{:.1}%", f as f64 * 100.0 / refs as f64)
            }
        };
        if let Some(c) = &self.curve {
            let (what, misses) = if self.curve_kind == Some(true) {
                (
                    "TLB miss-ratio curve (fully associative, LRU; one pass, stack distances)"
                        .to_string(),
                    "misses",
                )
            } else if self.policy == PolicyName::Opt {
                (
                    "OPT miss-ratio curve (one pass, the OPT stack)".to_string(),
                    "faults",
                )
            } else {
                (
                    "LRU miss-ratio curve (one pass, stack distances)".to_string(),
                    "faults",
                )
            };
            let _ = writeln!(
                t,
                "{what}: {} references to {} distinct {}-byte pages",
                c.references, c.distinct, self.page_size
            );
            let unit = if self.curve_kind == Some(true) {
                "entries"
            } else {
                "frames"
            };
            let _ = writeln!(
                t,
                "{unit:>10} {misses:>14} {:>10}",
                format!("{} rate", &misses[..misses.len() - 1])
            );
            for (n, f, refs) in self.points() {
                let _ = writeln!(t, "{n:>10} {f:>14} {:>10}", rate(f, refs));
            }
            return t;
        }
        let _ = writeln!(
            t,
            "demand paging: {}-byte pages, {name}{}",
            self.page_size,
            if self.curve_kind.is_some() {
                " (no stack property: one run per frame count)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            t,
            "{:>10} {:>14} {:>10} {:>12} {:>16}",
            "frames", "page faults", "hit ratio", "write-backs", "estimated time"
        );
        for (n, s, ns) in &self.runs {
            let _ = writeln!(
                t,
                "{n:>10} {:>14} {:>10} {:>12} {:>16}",
                s.misses,
                rate(s.hits, s.references()),
                s.writebacks,
                human_ns(*ns)
            );
        }
        let _ = writeln!(
            t,
            "  a fault reads the page from disk and a write-back writes it: {} each (cost model's disk)",
            human_ns(self.fault_ns)
        );
        for ((a, fa), (b, fb)) in self.anomalies() {
            let _ = writeln!(
                t,
                "  Belady's anomaly: {b} frames fault more than {a} ({fb} > {fa})"
            );
        }
        t
    }

    fn json(&self) -> serde_json::Value {
        use serde_json::json;
        let mut v = json!({
            "page_size": self.page_size,
            "policy": self.policy.name(),
            "fault_ns": self.fault_ns,
        });
        if let Some(c) = &self.curve {
            v["curve"] = json!({
                "kind": if self.curve_kind == Some(true) { "tlb" } else { "frames" },
                "references": c.references,
                "distinct_pages": c.distinct,
                "faults": c.faults,
            });
        } else {
            v["runs"] = self
                .runs
                .iter()
                .map(|(n, s, ns)| {
                    json!({
                        "frames": n,
                        "references": s.references(),
                        "page_faults": s.misses,
                        "hits": s.hits,
                        "hit_ratio": if s.references() == 0 { 0.0 } else { s.hits as f64 / s.references() as f64 },
                        "evictions": s.evictions,
                        "write_backs": s.writebacks,
                        "estimated_ns": ns,
                    })
                })
                .collect();
            v["beladys_anomaly"] = self
                .anomalies()
                .iter()
                .map(|((a, fa), (b, fb))| json!({"frames": [a, b], "faults": [fa, fb]}))
                .collect();
        }
        v
    }
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
        build_mechanism(
            &args.mechanism,
            match phys_mem {
                Some(p) => p,
                None => parse_size_arg("--phys-mem", super::DEFAULT_PHYS_MEM)?,
            },
        )
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
