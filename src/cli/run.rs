//! `vmlab run PROGRAM`: assemble (`.s`) or load (ELF) a program, place it in
//! physical memory, and run it on the RV64IM CPU with every access
//! translated by the chosen MMU. `--trace` narrates every access in the
//! lecture's words; `--json` gives the same as JSON lines (without
//! `--trace`: the program's output as records, and how it ended); `--trace-out`
//! records the program's references as a binary trace that `vmlab trace`
//! replays under any other mechanism.

use super::{CliError, CmdResult, parse_size_arg};
use crate::addr::{PhysAddr, VirtAddr};
use crate::asm::{Options, assemble_with_data_at};
use crate::cpu::{Observer, Trap, parse_register};
use crate::machine::{Config, Machine, MmuKind, Outcome, Regions, Tracer};
use crate::program::Program;
use serde_json::json;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

/// The instruction limit of a run without `--max-instructions`: 10^7, a
/// fraction of a second of simulation (and at most about 200 MB of
/// `--trace-out`), so that `loop: j loop` ends quickly.
pub const DEFAULT_MAX_INSTRUCTIONS: u64 = 10_000_000;

/// Flags of `vmlab run`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  vmlab run examples/sum.s
  vmlab run examples/e4.s --mmu base-bounds --base 4k --space 1k --reg s0=0x200 \\
            --max-instructions 3 --trace
  vmlab run prog.elf --mmu identity --stats
  vmlab run examples/sum.s --trace-out sum.bink
  vmlab trace --va-bits 16 --segment 0x1000:0x4000:rx:code --segment 0x8000:0x4000:rw sum.bink

--trace-out writes every reference the program makes (fetches, loads,
stores, and the access that faulted, if one did), by virtual address:
bin-kind records (u64 address + u8 kind: 0 read, 1 write, 2 fetch).

Limits: a program file (assembly or ELF) of at most 16 MiB; assembly
expressions nested at most 256 levels deep.

Exit code: the program's exit status when it exits; 1 when the run did not
finish (an unhandled fault, an unknown system call, or the instruction limit
stopped it: raise that with --max-instructions); 2 bad input.")]
pub struct Args {
    /// An assembly source (.s) or a static RISC-V ELF64 executable.
    program: PathBuf,
    /// The MMU: identity, base, base-bounds, segmentation or sv39.
    #[arg(long, default_value = "base-bounds", value_name = "KIND")]
    mmu: String,
    /// Under sv39: the TLB, ENTRIES[,WAYS[,POLICY[,TAGGING]]] (WAYS a
    /// number, full or direct; POLICY lru, fifo, random or clock; TAGGING
    /// asid or flush), or `off`. Default 64 entries, fully associative, LRU.
    #[arg(long, value_name = "SPEC")]
    tlb: Option<String>,
    /// Where the address space starts in physical memory.
    #[arg(long, value_name = "ADDR")]
    base: Option<String>,
    /// Physical memory size.
    #[arg(long, default_value = "64m", value_name = "SIZE")]
    phys_mem: String,
    /// Address-space size (the bounds); default: the program + 128 KiB,
    /// rounded up to a power of two.
    #[arg(long, value_name = "SIZE")]
    space: Option<String>,
    /// Set a register before the run, e.g. `s0=0x200` (repeatable).
    #[arg(long = "reg", value_name = "NAME=VALUE")]
    regs: Vec<String>,
    /// Print every fetch, load and store with its translation and region.
    #[arg(long)]
    trace: bool,
    /// Write every reference's virtual address and kind to FILE, as a
    /// bin-kind trace for `vmlab trace`.
    #[arg(long, value_name = "FILE")]
    trace_out: Option<PathBuf>,
    /// JSON lines instead of text.
    #[arg(long)]
    json: bool,
    /// Stop after this many instructions (the run then did not finish:
    /// exit code 1).
    #[arg(long, default_value_t = DEFAULT_MAX_INSTRUCTIONS.to_string(), value_name = "N")]
    max_instructions: String,
    /// Print the instruction count and rate on stderr.
    #[arg(long)]
    stats: bool,
}

/// Loads `path`: an ELF executable if it starts with the ELF magic, else
/// assembly (text at address 0).
pub fn load_program(path: &std::path::Path) -> Result<Program, CliError> {
    load_program_with_data_at(path, None)
}

/// Like [`load_program`]; assembly puts its data at `data_base` if given.
fn load_program_with_data_at(
    path: &std::path::Path,
    data_base: Option<u64>,
) -> Result<Program, CliError> {
    let bytes =
        crate::files::read(path, crate::files::FileKind::Program).map_err(CliError::input)?;
    if bytes.starts_with(b"\x7fELF") {
        return crate::elf::load(&bytes)
            .map_err(|e| CliError::input(format!("{}: {e}", path.display())));
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        CliError::input(format!(
            "{}: neither an ELF executable nor assembly text",
            path.display()
        ))
    })?;
    assemble_with_data_at(
        &text,
        &path.display().to_string(),
        &Options { text_base: 0 },
        data_base,
    )
    .map_err(CliError::input)
}

/// This thread's CPU time in seconds (Linux `/proc/thread-self/schedstat`),
/// so a rate measured on a busy machine is not diluted by waiting.
fn cpu_time() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}

/// Prints every access, labelled with its region.
struct Trace<'a> {
    out: &'a mut dyn Write,
    json: bool,
    regions: Regions,
    /// The segment table, to name each address's segment and offset.
    segments: Option<crate::mmu::Segmentation>,
    error: Option<std::io::Error>,
}

impl Trace<'_> {
    fn line(
        &mut self,
        kind: &str,
        access: &str,
        va: VirtAddr,
        pa: PhysAddr,
        extra: Option<(u64, u64)>,
    ) {
        let region = self.regions.of(va.as_u64()).name();
        let r = if self.json {
            let mut v = json!({"kind": kind, "va": va.as_u64(), "pa": pa.as_u64(), "access": access, "region": region});
            if let Some((segment, offset)) = self.segments.as_ref().and_then(|m| m.split(va)) {
                v["segment"] = json!(segment);
                v["offset"] = json!(offset);
            }
            if let Some((size, value)) = extra {
                v["size"] = json!(size);
                v["value"] = json!(value);
            }
            writeln!(self.out, "{v}")
        } else {
            writeln!(
                self.out,
                "{kind} {:#010x} -> {:#010x} ({region})",
                va.as_u64(),
                pa.as_u64()
            )
        };
        if let Err(e) = r {
            self.error.get_or_insert(e);
        }
    }
}

impl Observer for Trace<'_> {
    fn fetch(&mut self, va: VirtAddr, pa: PhysAddr) {
        self.line("fetch", "fetch", va, pa, None);
    }
    fn load(&mut self, va: VirtAddr, pa: PhysAddr, size: u64, value: u64) {
        self.line("load", "read", va, pa, Some((size, value)));
    }
    fn store(&mut self, va: VirtAddr, pa: PhysAddr, size: u64, value: u64) {
        self.line("store", "write", va, pa, Some((size, value)));
    }
    fn trap(&mut self, trap: &Trap) {
        if let Trap::Fault { fault, .. } = trap {
            self.fault_line(fault);
        }
    }
}

impl Trace<'_> {
    /// The access that faulted: the record carries `fault` instead of `pa`.
    fn fault_line(&mut self, fault: &crate::fault::Fault) {
        let kind = match fault.access {
            crate::mmu::Access::Fetch => "fetch",
            crate::mmu::Access::Read => "load",
            crate::mmu::Access::Write => "store",
        };
        let va = fault.va.as_u64();
        let region = self.regions.of(va).name();
        let r = if self.json {
            let v = json!({"kind": kind, "va": va, "fault": fault.kind.name(), "access": fault.access.name(), "region": region});
            writeln!(self.out, "{v}")
        } else {
            writeln!(
                self.out,
                "{kind} {va:#010x} -> fault: {} ({region})",
                fault.kind.describe()
            )
        };
        if let Err(e) = r {
            self.error.get_or_insert(e);
        }
    }
}

impl Tracer for Trace<'_> {
    fn regions_changed(&mut self, regions: &Regions) {
        self.regions = regions.clone();
    }
    fn program_wrote(&mut self, fd: u64, bytes: &[u8]) {
        // Text: standard output itself, where it happens (standard error
        // goes to vmlab's); JSON: a record of either.
        let r = if self.json {
            let text = String::from_utf8_lossy(bytes);
            writeln!(
                self.out,
                "{}",
                json!({"kind": "output", "fd": fd, "text": text})
            )
        } else if fd == 1 {
            self.out.write_all(bytes)
        } else {
            Ok(())
        };
        if let Err(e) = r {
            self.error.get_or_insert(e);
        }
    }
}

/// `--json` without `--trace`: what the program writes, as `output`
/// records (standard output and standard error alike), so that the
/// command's standard output is JSON lines and nothing else.
struct JsonOutput<'a> {
    out: &'a mut dyn Write,
    error: Option<std::io::Error>,
}

impl Observer for JsonOutput<'_> {}

impl Tracer for JsonOutput<'_> {
    fn program_wrote(&mut self, fd: u64, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        if let Err(e) = writeln!(
            self.out,
            "{}",
            json!({"kind": "output", "fd": fd, "text": text})
        ) {
            self.error.get_or_insert(e);
        }
    }
}

/// Records every reference of the run as a `bin-kind` record
/// (`--trace-out`), by virtual address: what the program asked for, for
/// `vmlab trace` to replay under another mechanism.
struct Recorder {
    w: BufWriter<super::NamedWriter<std::fs::File>>,
    error: Option<std::io::Error>,
}

impl Recorder {
    fn record(&mut self, va: VirtAddr, access: crate::mmu::Access) {
        let r = crate::trace::binary::kind_record(va.as_u64(), access);
        if let Err(e) = self.w.write_all(&r) {
            self.error.get_or_insert(e);
        }
    }
}

impl Observer for Recorder {
    fn fetch(&mut self, va: VirtAddr, _pa: PhysAddr) {
        self.record(va, crate::mmu::Access::Fetch);
    }
    fn load(&mut self, va: VirtAddr, _pa: PhysAddr, _size: u64, _value: u64) {
        self.record(va, crate::mmu::Access::Read);
    }
    fn store(&mut self, va: VirtAddr, _pa: PhysAddr, _size: u64, _value: u64) {
        self.record(va, crate::mmu::Access::Write);
    }
    fn trap(&mut self, trap: &Trap) {
        // The access that faulted was a reference too.
        if let Trap::Fault { fault, .. } = trap {
            self.record(fault.va, fault.access);
        }
    }
}

impl Tracer for Recorder {}

/// Two observers of one run, each told everything (`--trace` with
/// `--trace-out`).
struct Both<'a, A, B>(&'a mut A, &'a mut B);

impl<A: Tracer, B: Tracer> Observer for Both<'_, A, B> {
    fn fetch(&mut self, va: VirtAddr, pa: PhysAddr) {
        self.0.fetch(va, pa);
        self.1.fetch(va, pa);
    }
    fn load(&mut self, va: VirtAddr, pa: PhysAddr, size: u64, value: u64) {
        self.0.load(va, pa, size, value);
        self.1.load(va, pa, size, value);
    }
    fn store(&mut self, va: VirtAddr, pa: PhysAddr, size: u64, value: u64) {
        self.0.store(va, pa, size, value);
        self.1.store(va, pa, size, value);
    }
    fn trap(&mut self, trap: &Trap) {
        self.0.trap(trap);
        self.1.trap(trap);
    }
}

impl<A: Tracer, B: Tracer> Tracer for Both<'_, A, B> {
    fn regions_changed(&mut self, regions: &Regions) {
        self.0.regions_changed(regions);
        self.1.regions_changed(regions);
    }
    fn program_wrote(&mut self, fd: u64, bytes: &[u8]) {
        self.0.program_wrote(fd, bytes);
        self.1.program_wrote(fd, bytes);
    }
}

/// Runs `vmlab run`.
pub fn run(args: Args, out: &mut dyn Write) -> CmdResult {
    // 1. Validate every flag before doing anything.
    let mmu = match args.mmu.as_str() {
        "identity" => MmuKind::Identity,
        "base" => MmuKind::Base,
        "base-bounds" | "base+bounds" => MmuKind::BaseBounds,
        "segmentation" => MmuKind::Segmentation,
        "sv39" => MmuKind::Sv39,
        other => {
            return Err(CliError::input(format!(
                "--mmu: unknown MMU '{other}' (identity, base, base-bounds, segmentation, sv39)"
            )));
        }
    };
    let tlb = match (args.tlb.as_deref(), mmu) {
        (Some("off" | "none"), MmuKind::Sv39) => None,
        (Some(spec), MmuKind::Sv39) => Some(
            crate::mmu::TlbConfig::parse(spec)
                .map_err(|e| CliError::input(format!("--tlb {spec}: {e}")))?,
        ),
        (None, MmuKind::Sv39) => Some(crate::mmu::TlbConfig::default()),
        (Some(_), _) => {
            return Err(CliError::input(
                "--tlb needs --mmu sv39 (the other mechanisms have no page tables to cache)",
            ));
        }
        (None, _) => None,
    };
    let base = match &args.base {
        Some(b) => parse_size_arg("--base", b)?,
        None if mmu == MmuKind::Identity => 0,
        None => 0x1000,
    };
    let phys_mem = parse_size_arg("--phys-mem", &args.phys_mem)?;
    let space = args
        .space
        .as_deref()
        .map(|s| parse_size_arg("--space", s))
        .transpose()?;
    let limit = parse_size_arg("--max-instructions", &args.max_instructions)?;
    let mut regs = Vec::new();
    for r in &args.regs {
        let (name, value) = r.split_once('=').ok_or_else(|| {
            CliError::input(format!("--reg {r}: expected NAME=VALUE, e.g. s0=0x200"))
        })?;
        let n = parse_register(name.trim())
            .ok_or_else(|| CliError::input(format!("--reg {r}: '{name}' is not a register")))?;
        regs.push((n, parse_size_arg("--reg", value.trim())?));
    }
    // 2. Load and place.
    let mut program = load_program(&args.program)?;
    let mut space = space;
    if mmu == MmuKind::Segmentation {
        // Segmented layout: code in segment 0, data and heap in segment 1.
        let is_elf = crate::files::read(&args.program, crate::files::FileKind::Program)
            .is_ok_and(|b| b.starts_with(b"\x7fELF"));
        let quarter = match space {
            Some(s) => s / 4,
            None if is_elf => crate::machine::segment_quarter(&program).ok_or_else(|| {
                CliError::input(format!(
                    "{}: this ELF's layout does not put code and data in two segments of a power-of-two address space (use another --mmu)",
                    args.program.display()
                ))
            })?,
            None => {
                // Room for the code, or the data and 64 KiB of heap.
                let (_, end) = program.extent().unwrap_or((0, 0));
                end.saturating_add(64 << 10).checked_next_power_of_two().unwrap_or(u64::MAX).max(16 << 10)
            }
        };
        space = Some(quarter.saturating_mul(4));
        if !is_elf {
            program = load_program_with_data_at(&args.program, Some(quarter))?;
        }
    }
    let config = Config {
        mmu,
        base,
        phys_mem,
        space,
        tlb,
    };
    let mut machine = Machine::new(&program, &config)
        .map_err(|e| CliError::input(format!("{}: {e}", args.program.display())))?;
    for (n, v) in regs {
        machine.cpu.regs.set(n, v);
    }
    let mut recorder = match &args.trace_out {
        Some(path) => Some(Recorder {
            w: BufWriter::with_capacity(
                1 << 20,
                super::NamedWriter::new(
                    std::fs::File::create(path).map_err(|e| {
                        CliError::input(format!("--trace-out {}: {e}", path.display()))
                    })?,
                    format!("--trace-out {}", path.display()),
                ),
            ),
            error: None,
        }),
        None => None,
    };
    // 3. Run.
    let started = std::time::Instant::now();
    let cpu_before = cpu_time();
    let outcome = if args.trace {
        let regions = machine.regions.clone();
        let mut trace = Trace {
            out: &mut *out,
            json: args.json,
            regions,
            segments: match &machine.mmu {
                crate::mmu::AnyMmu::Segmentation(m) => Some(m.clone()),
                _ => None,
            },
            error: None,
        };
        // The trace prints what the program writes to standard output,
        // where it writes it; standard error stays vmlab's.
        let sink = &mut std::io::sink();
        let err = &mut std::io::stderr();
        let o = match recorder.as_mut() {
            Some(r) => machine.run(limit, sink, err, &mut Both(&mut trace, r))?,
            None => machine.run(limit, sink, err, &mut trace)?,
        };
        if let Some(e) = trace.error {
            return Err(e.into());
        }
        o
    } else if args.json {
        // JSON lines always: the program's output becomes records.
        let mut json = JsonOutput {
            out: &mut *out,
            error: None,
        };
        let sink = &mut std::io::sink();
        let err = &mut std::io::stderr();
        let o = match recorder.as_mut() {
            Some(r) => machine.run(limit, sink, err, &mut Both(&mut json, r))?,
            None => machine.run(limit, sink, err, &mut json)?,
        };
        if let Some(e) = json.error {
            return Err(e.into());
        }
        o
    } else {
        let err = &mut std::io::stderr();
        match recorder.as_mut() {
            Some(r) => machine.run(limit, &mut *out, err, r)?,
            None => machine.run(limit, &mut *out, err, &mut crate::cpu::NoObserver)?,
        }
    };
    if let Some(mut r) = recorder {
        if let Some(e) = r.error.take() {
            return Err(e.into());
        }
        r.w.flush()?;
    }
    let elapsed = started.elapsed();
    let count = machine.cpu.instret;
    if args.stats {
        let rate = |secs: f64| count as f64 / secs.max(1e-9) / 1e6;
        let wall = elapsed.as_secs_f64();
        let mut line = format!(
            "instructions: {count}  time: {wall:.3} s  rate: {:.1} M instructions/s",
            rate(wall)
        );
        if let (Some(before), Some(after)) = (cpu_before, cpu_time()) {
            let cpu = after - before;
            line += &format!("  (cpu time {cpu:.3} s: {:.1} M instructions/s)", rate(cpu));
        }
        eprintln!("{line}");
        if let Some(p) = machine.paging_stats() {
            eprintln!("{}", paging_line(&p));
        }
    }
    let paging = machine.paging_stats().map(|p| paging_json(&p));
    // 4. Report how it ended.
    match outcome {
        Outcome::Exited(status) => {
            if args.json {
                let mut v = json!({"kind": "exit", "status": status, "instructions": count});
                add_paging(&mut v, &paging);
                writeln!(out, "{v}")?;
            }
            Ok((status & 0xff) as u8)
        }
        Outcome::Limit => {
            if args.json {
                let mut v = json!({"kind": "limit", "instructions": count});
                add_paging(&mut v, &paging);
                writeln!(out, "{v}")?;
            }
            out.flush()?;
            eprintln!(
                "vmlab: the instruction limit stopped the run after {count} instructions (raise it with --max-instructions N)"
            );
            Ok(1)
        }
        Outcome::Trapped(trap) => {
            if args.json {
                let mut v = json!({"kind": trap.name(), "pc": trap.pc(), "instructions": count});
                if let Trap::Fault { word, fault, .. } = trap {
                    v["va"] = json!(fault.va.as_u64());
                    v["access"] = json!(fault.access.name());
                    v["fault"] = json!(fault.kind.name());
                    v["instruction"] = json!(word);
                }
                if let Trap::Illegal { word, .. } = trap {
                    v["instruction"] = json!(word);
                }
                add_paging(&mut v, &paging);
                writeln!(out, "{v}")?;
            }
            out.flush()?;
            let in_guard = match (&trap, machine.guard_page()) {
                (Trap::Fault { fault, .. }, Some((lo, hi))) => {
                    (lo..hi).contains(&fault.va.as_u64())
                }
                _ => false,
            };
            if in_guard {
                eprintln!("vmlab: {trap}: in the guard page below the stack (a stack overflow)");
            } else {
                eprintln!("vmlab: {trap}");
            }
            Ok(1)
        }
        Outcome::UnknownSyscall { number, pc } => {
            out.flush()?;
            eprintln!("vmlab: unknown system call {number} (a7) at pc {pc:#x}");
            Ok(1)
        }
    }
}

/// `--stats` under Sv39: the TLB's counters and the walks, one line.
fn paging_line(p: &crate::machine::PagingStats) -> String {
    match p.tlb {
        Some((config, t)) => format!(
            "tlb ({config}): hits: {}  misses: {}  hit rate: {:.2} %  evictions: {}  flushes: {}  page-table walks: {}",
            t.hits,
            t.misses,
            100.0 * t.hit_rate(),
            t.evictions,
            t.flushes,
            p.walks
        ),
        None => format!("no TLB: page-table walks: {}", p.walks),
    }
}

/// The `tlb` and `walks` fields of the final JSON record under Sv39.
fn paging_json(p: &crate::machine::PagingStats) -> serde_json::Value {
    let tlb = p.tlb.map(|(config, t)| {
        json!({
            "entries": config.entries(),
            "ways": config.ways(),
            "policy": config.policy.name(),
            "tagging": config.tagging.name(),
            "hits": t.hits,
            "misses": t.misses,
            "evictions": t.evictions,
            "flushes": t.flushes,
        })
    });
    json!({"tlb": tlb, "walks": p.walks})
}

/// Adds the paging fields (if any) to the final record `v`.
fn add_paging(v: &mut serde_json::Value, paging: &Option<serde_json::Value>) {
    if let Some(p) = paging {
        v["tlb"] = p["tlb"].clone();
        v["walks"] = p["walks"].clone();
    }
}
