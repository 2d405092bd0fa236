//! Scenarios: a machine, its OS's policies and some processes, described in
//! TOML, run by the kernel, told as a story (or as JSON events).
//!
//! ```toml
//! title = "Dynamic relocation with a base register"
//! description = "P1 and P2 relocated by a base register; P1 corrupts P2"
//!
//! [machine]
//! memory = "16k"          # physical memory
//! os_size = "1k"          # the OS's region at physical 0
//! strategy = "base"       # uniprogramming | time-sharing | static-relocation
//!                         # | base | base-bounds | segmentation
//! placement = "first-fit" # | best-fit | worst-fit | next-fit (or first, ...)
//!
//! [[process]]
//! name = "P1"
//! size = "1k"             # or code/data/heap/stack sizes
//! base = "1k"             # a fixed place (else the placement policy)
//! accesses = ["load 100", "store 3072"]
//! # or a program: source = "...RISC-V assembly...", limit = 100000 (then
//! # killed), stop_after = 3 (show its first 3 instructions, then end)
//!
//! script = ["say P1 runs", "P1: load 100", "P2: load 100"]
//! ```
//!
//! The `script` interleaves processes explicitly (each change of process is
//! a context switch); afterwards any `accesses` lists still pending run under
//! the scheduler (`[machine] scheduler = "rr"`, `quantum`). Script lines:
//! `say TEXT`, `NAME: OPERATION` (see [`ops`]), `spawn NAME`, `switch NAME`,
//! `compact`, `move NAME ADDR`, `map`, `costs`.
//!
//! Errors name the file, line and column, and the field.

pub mod builtin;
pub mod ops;
pub mod summary;

use crate::addr::parse_number;
use crate::cost::CostModel;
use crate::kernel::event::{Event, Pid};
use crate::kernel::exec::RunOutcome;
use crate::kernel::layout::{LayoutKind, Sizes};
use crate::kernel::placement::Fit;
use crate::kernel::process::ProcState;
use crate::kernel::syscall::{Abi, Call, SyscallOutcome};
use crate::kernel::system::{Kernel, KernelConfig, ProcessSpec, Strategy};
use crate::mmu::{Mmu, MmuRegisters, Perms, Segment};
use ops::Op;
use serde::Deserialize;
use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use toml::Spanned;

/// A number as TOML may hold it: `1024` or `"1k"` / `"0x400"`.
#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
enum Num {
    Int(i64),
    Text(String),
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct FileToml {
    title: Option<String>,
    #[serde(default)]
    switch_steps: bool,
    description: Option<String>,
    machine: MachineToml,
    cost: Option<CostModel>,
    #[serde(default, rename = "process")]
    processes: Vec<ProcessToml>,
    #[serde(default)]
    script: Vec<Spanned<String>>,
    /// The closing summary's title (see [`summary`]).
    summary_title: Option<String>,
    /// The closing summary's lines, with placeholders.
    #[serde(default)]
    summary: Vec<Spanned<String>>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct MachineToml {
    memory: Spanned<Num>,
    os_size: Option<Spanned<Num>>,
    strategy: Strategy,
    placement: Option<Fit>,
    layout: Option<LayoutKind>,
    va_bits: Option<u32>,
    stack_limit: Option<Spanned<Num>>,
    #[serde(default)]
    forget_mmu_reload: bool,
    share_code: Option<bool>,
    syscalls: Option<Abi>,
    random_stack: Option<i64>,
    scheduler: Option<SchedulerToml>,
    quantum: Option<Spanned<u64>>,
    #[serde(default)]
    compare: Vec<Strategy>,
    timer: Option<Spanned<u64>>,
    /// The most events a collected run keeps in memory.
    max_events: Option<Spanned<u64>>,
    /// Paging: the page-table format (`sv39`).
    page_table: Option<crate::kernel::paging::PageTableKind>,
    /// Paging: the page size (fixed by the format: 4 KiB under Sv39).
    page_size: Option<Spanned<Num>>,
    /// Paging: frames for user pages.
    frames: Option<Spanned<Num>>,
    /// Paging: the replacement policy.
    policy: Option<crate::kernel::paging::PolicyName>,
    /// Paging: the random policy's seed.
    seed: Option<u64>,
    /// Paging: demand paging with a swap area.
    #[serde(default)]
    swap: bool,
    /// Paging: address-space identifiers (else the TLB is flushed).
    #[serde(default)]
    asid: bool,
    /// Paging: the TLB, `ENTRIES[,WAYS[,POLICY]]` or `off` (default 64
    /// entries, fully associative, LRU).
    tlb: Option<Spanned<String>>,
    /// Paging: the same workload with these numbers of frames.
    #[serde(default)]
    compare_frames: Vec<Spanned<u64>>,
    /// Paging: the same workload with the TLB's other tagging (ASIDs or
    /// flushes).
    #[serde(default)]
    compare_asid: bool,
    /// Paging: the same workload with another page-table format.
    compare_page_table: Option<crate::kernel::paging::PageTableKind>,
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum SchedulerToml {
    Fifo,
    Sjf,
    Stcf,
    Rr,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct ProcessToml {
    name: Spanned<String>,
    program: Option<String>,
    size: Option<Spanned<Num>>,
    code: Option<Spanned<Num>>,
    data: Option<Spanned<Num>>,
    heap: Option<Spanned<Num>>,
    stack: Option<Spanned<Num>>,
    base: Option<Spanned<Num>>,
    segments: Option<Vec<SegmentToml>>,
    #[serde(default)]
    accesses: Vec<Spanned<String>>,
    #[serde(default)]
    image: Vec<WordToml>,
    #[serde(default)]
    relocations: Vec<Spanned<Num>>,
    #[serde(default)]
    delayed: bool,
    /// RISC-V assembly source, inline.
    source: Option<Spanned<String>>,
    /// RISC-V assembly source file (relative to the scenario file).
    file: Option<Spanned<String>>,
    /// Where the program's .text is linked (default 0).
    text_base: Option<Spanned<Num>>,
    /// Initial register values by ABI name (`s0 = "0x200"`).
    #[serde(default)]
    registers: std::collections::BTreeMap<String, Spanned<Num>>,
    /// The most instructions the program may run (default 100000); a
    /// program still running then is killed.
    limit: Option<u64>,
    /// A demonstration of the program's first N instructions: after them
    /// the run ends, the process neither killed nor exited.
    stop_after: Option<Spanned<u64>>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct SegmentToml {
    base: Spanned<Num>,
    size: Spanned<Num>,
    perms: Spanned<String>,
    #[serde(default)]
    grows_down: bool,
    name: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct WordToml {
    at: Spanned<Num>,
    word: Spanned<Num>,
}

/// How leftover access lists and programs are scheduled (by the kernel's
/// `scheduler` policies).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Scheduler {
    /// Each process runs to the end, in order.
    Fifo,
    /// Shortest (fewest remaining operations) first, to the end.
    Sjf,
    /// Shortest remaining first (all processes arrive at 0, so as SJF).
    Stcf,
    /// Round robin: `quantum` operations (programs: `timer` instructions)
    /// per turn.
    RoundRobin(u64),
}

/// One process of a scenario.
#[derive(Clone, Debug)]
pub struct ProcessDef {
    /// What the loader gets.
    pub spec: ProcessSpec,
    /// Its access list.
    pub ops: Vec<Op>,
    /// Loaded only by a `spawn` script line.
    pub delayed: bool,
    /// Whether it runs a program on the CPU.
    pub runs_program: bool,
    /// The most instructions its program may run.
    pub limit: u64,
    /// Show only the program's first N instructions, then end the run
    /// (the process is not killed): a slide's few instructions.
    pub stop_after: Option<u64>,
}

/// One line of a script.
#[derive(Clone, Debug)]
pub enum ScriptItem {
    /// Narration.
    Say(String),
    /// A process does something (switching to it first); the line's text.
    Do(String, Op, String),
    /// Load a (delayed) process.
    Spawn(String),
    /// Switch to a process.
    Switch(String),
    /// Compaction.
    Compact,
    /// Move a process.
    Move(String, u64),
    /// Show the memory map.
    Map,
    /// Show the latency table.
    Costs,
}

/// A validated scenario, ready to run.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// One-line title.
    pub title: String,
    /// One-line description.
    pub description: String,
    /// The machine and OS.
    pub config: KernelConfig,
    /// The processes.
    pub processes: Vec<ProcessDef>,
    /// The script.
    pub script: Vec<ScriptItem>,
    /// How access lists are scheduled.
    pub scheduler: Scheduler,
    /// Strategies to run the same workload under, for comparison.
    pub compare: Vec<Strategy>,
    /// Narrate every step of each context switch (else one line each).
    pub switch_steps: bool,
    /// Instructions per time slice for programs (the timer interrupt).
    pub timer: u64,
    /// The most events [`run`] and [`run_kernel`] keep in memory
    /// (`machine.max_events`, default [`MAX_EVENTS`]).
    pub max_events: usize,
    /// The summary shown at the end of the run, filled in from its events.
    pub summary: Option<summary::Template>,
    /// Paging: numbers of frames to run the same workload with, for
    /// comparison (Belady's anomaly).
    pub compare_frames: Vec<u64>,
    /// Paging: run the same workload with the other TLB tagging.
    pub compare_asid: bool,
    /// Paging: run the same workload with this page-table format.
    pub compare_page_table: Option<crate::kernel::paging::PageTableKind>,
}

/// Where the text came from, for error messages.
struct Source<'a> {
    name: &'a str,
    text: &'a str,
}

impl Source<'_> {
    /// The 1-based line of byte `at`.
    fn line(&self, at: usize) -> usize {
        self.text[..at.min(self.text.len())].matches('\n').count() + 1
    }

    /// `file:line:col`.
    fn at(&self, span: Range<usize>) -> String {
        let start = span.start.min(self.text.len());
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let col = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
        format!("{}:{line}:{col}", self.name)
    }

    fn line_text(&self, span: Range<usize>) -> String {
        let start = span.start.min(self.text.len());
        let from = self.text[..start].rfind('\n').map(|i| i + 1).unwrap_or(0);
        let to = self.text[start..]
            .find('\n')
            .map(|i| start + i)
            .unwrap_or(self.text.len());
        self.text[from..to].trim().to_string()
    }

    fn err(&self, span: Range<usize>, field: &str, msg: impl std::fmt::Display) -> String {
        format!("{}: {field}: {msg}", self.at(span))
    }

    fn num(&self, n: &Spanned<Num>, field: &str) -> Result<u64, String> {
        match n.get_ref() {
            Num::Int(i) => {
                u64::try_from(*i).map_err(|_| self.err(n.span(), field, format!("{i} is negative")))
            }
            Num::Text(t) => parse_number(t).map_err(|e| self.err(n.span(), field, e)),
        }
    }

    fn opt(&self, n: &Option<Spanned<Num>>, field: &str) -> Result<Option<u64>, String> {
        n.as_ref().map(|n| self.num(n, field)).transpose()
    }
}

/// Parses and validates a scenario. `name` is used in error messages
/// (`file:line:col: field: message`).
///
/// Impossible machines (a process larger than user memory, fixed placements
/// that overlap each other or the OS) are errors too.
pub fn parse(name: &str, text: &str) -> Result<Scenario, String> {
    let src = Source { name, text };
    let file: FileToml = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let msg = e.message().trim().replace('\n', " ");
        format!(
            "{}: {msg} (in `{}`)",
            src.at(span.clone()),
            src.line_text(span)
        )
    })?;
    let m = &file.machine;
    let memory = src.num(&m.memory, "machine.memory")?;
    if memory == 0 {
        return Err(src.err(m.memory.span(), "machine.memory", "must be more than 0"));
    }
    let os_size = src.opt(&m.os_size, "machine.os_size")?.unwrap_or(0);
    if os_size > memory {
        return Err(src.err(
            m.os_size.as_ref().map(|s| s.span()).unwrap_or(0..0),
            "machine.os_size",
            format!("the OS region ({os_size} bytes) is larger than memory ({memory} bytes)"),
        ));
    }
    let mut config = KernelConfig::new(memory, os_size, m.strategy);
    config.placement = m.placement.unwrap_or_default();
    config.layout = m.layout.unwrap_or_default();
    config.va_bits = m.va_bits.unwrap_or(16);
    if !(3..=64).contains(&config.va_bits) {
        return Err(format!(
            "{name}: machine.va_bits = {}: must be 3..64",
            config.va_bits
        ));
    }
    if let Some(limit) = src.opt(&m.stack_limit, "machine.stack_limit")? {
        config.stack_limit = limit;
    }
    config.forget_mmu_reload = m.forget_mmu_reload;
    config.share_code = m.share_code.unwrap_or(true);
    config.abi = m.syscalls.unwrap_or_default();
    config.random_stack = m.random_stack.map(i128::from);
    if let Some(cost) = &file.cost {
        cost.validate().map_err(|e| format!("{name}: {e}"))?;
        config.cost = cost.clone();
    }
    let scheduler = match (m.scheduler, &m.quantum) {
        (Some(SchedulerToml::Fifo), _) => Scheduler::Fifo,
        (Some(SchedulerToml::Sjf), _) => Scheduler::Sjf,
        (Some(SchedulerToml::Stcf), _) => Scheduler::Stcf,
        (_, Some(q)) if *q.get_ref() == 0 => {
            return Err(src.err(q.span(), "machine.quantum", "must be at least 1"));
        }
        (_, q) => Scheduler::RoundRobin(q.as_ref().map(|q| *q.get_ref()).unwrap_or(1)),
    };

    let timer = match &m.timer {
        Some(t) if *t.get_ref() == 0 => {
            return Err(src.err(t.span(), "machine.timer", "must be at least 1"));
        }
        Some(t) => *t.get_ref(),
        None => 1000,
    };
    let max_events = match &m.max_events {
        Some(n) if *n.get_ref() == 0 => {
            return Err(src.err(n.span(), "machine.max_events", "must be at least 1"));
        }
        Some(n) => usize::try_from(*n.get_ref()).unwrap_or(usize::MAX),
        None => MAX_EVENTS,
    };
    let compare_frames = paging_config(&src, m, memory, os_size, &mut config)?;
    let user = memory - os_size;
    let mut processes: Vec<ProcessDef> = Vec::new();
    let mut fixed: Vec<(String, u64, u64)> = Vec::new();
    for (i, p) in file.processes.iter().enumerate() {
        let pname = p.name.get_ref().trim().to_string();
        let field = |f: &str| format!("process[{i}] ({pname}).{f}");
        if pname.is_empty() || pname.contains(char::is_whitespace) || pname.contains(':') {
            return Err(src.err(
                p.name.span(),
                "process.name",
                format!("'{pname}' must be one word without ':'"),
            ));
        }
        if processes.iter().any(|q| q.spec.name == pname) {
            return Err(src.err(
                p.name.span(),
                "process.name",
                format!("two processes are named '{pname}'"),
            ));
        }
        let va_bits = m.va_bits.unwrap_or(16);
        let data_base = (m.strategy == Strategy::Segmentation && (3..=64).contains(&va_bits))
            .then(|| 2u64 << (va_bits - 2));
        let program_image = load_program(&src, p, &field, data_base)?;
        let (pcode, pdata) = match (&program_image, data_base) {
            (Some(prog), Some(data_base)) => {
                // Segmented: text (and read-only data) in segment 0, data
                // and bss in segment 2.
                let end = |low: bool| {
                    prog.sections
                        .iter()
                        .filter(|s| (s.addr < data_base) == low)
                        .filter_map(|s| s.end())
                        .max()
                };
                let code = end(true).unwrap_or(0);
                let data = end(false).map(|e| e - data_base).unwrap_or(0);
                (code, data)
            }
            (Some(prog), None) => {
                let (_, hi) = prog.extent().unwrap_or((0, 0));
                let data_start = prog
                    .sections
                    .iter()
                    .filter(|s| !s.perms.contains(Perms::X))
                    .map(|s| s.addr)
                    .min()
                    .unwrap_or(hi);
                (data_start, hi - data_start)
            }
            (None, _) => (0, 0),
        };
        let mut context = crate::kernel::process::Context::default();
        for (reg_name, value) in &p.registers {
            let r = crate::cpu::parse_register(reg_name).ok_or_else(|| {
                src.err(
                    value.span(),
                    &field("registers"),
                    format!("unknown register '{reg_name}'"),
                )
            })?;
            let v = src.num(value, &field(&format!("registers.{reg_name}")))?;
            if reg_name == "pc" {
                context.pc = v;
            } else {
                context.x[r] = v;
            }
        }
        if !p.registers.is_empty() && program_image.is_none() {
            return Err(src.err(
                p.name.span(),
                &field("registers"),
                "registers need a program (source or file)",
            ));
        }
        let sizes = Sizes {
            code: src.opt(&p.code, &field("code"))?.unwrap_or(pcode),
            data: src.opt(&p.data, &field("data"))?.unwrap_or(pdata),
            heap: src.opt(&p.heap, &field("heap"))?.unwrap_or(0),
            stack: src.opt(&p.stack, &field("stack"))?.unwrap_or(0),
            total: src.opt(&p.size, &field("size"))?,
        };
        let parts =
            sizes.code as u128 + sizes.data as u128 + sizes.heap as u128 + sizes.stack as u128;
        let want = (sizes.total.unwrap_or(0) as u128).max(parts);
        // Paging maps only the pages of the regions (a sparse space may be
        // far larger than memory), and demand paging runs a process larger
        // than memory: the loader says whether the pages fit.
        let swapped = m.strategy == Strategy::Paging;
        if want > user as u128 && !swapped {
            return Err(src.err(
                p.name.span(),
                &field("size"),
                format!("the process needs {want} bytes but memory has only {user} bytes for processes: it can never be loaded"),
            ));
        }
        let base = src.opt(&p.base, &field("base"))?;
        if let Some(b) = base {
            if b < os_size {
                return Err(src.err(
                    p.base.as_ref().map(|s| s.span()).unwrap_or(0..0),
                    &field("base"),
                    format!("{b:#x} is inside the OS region [0, {os_size:#x})"),
                ));
            }
            if b as u128 + want > memory as u128 {
                return Err(src.err(
                    p.base.as_ref().map(|s| s.span()).unwrap_or(0..0),
                    &field("base"),
                    format!("{b:#x} + {want} bytes ends beyond physical memory ({memory} bytes)"),
                ));
            }
            if m.strategy != Strategy::TimeSharing && !p.delayed {
                let size = want as u64;
                if let Some((other, ob, os)) = fixed
                    .iter()
                    .find(|(_, ob, os)| b < ob + os && *ob < b + size)
                {
                    return Err(src.err(
                        p.base.as_ref().map(|s| s.span()).unwrap_or(0..0),
                        &field("base"),
                        format!(
                            "[{b:#x}, {:#x}) overlaps {other} at [{ob:#x}, {:#x})",
                            b + size,
                            ob + os
                        ),
                    ));
                }
                fixed.push((pname.clone(), b, size));
            }
        }
        let segments = match &p.segments {
            None => None,
            Some(list) => {
                if m.strategy != Strategy::Segmentation {
                    return Err(format!(
                        "{name}: {}: segments need strategy = \"segmentation\"",
                        field("segments")
                    ));
                }
                if list.len() != 4 {
                    return Err(format!(
                        "{name}: {}: {} entries; the MMU has 4 segments",
                        field("segments"),
                        list.len()
                    ));
                }
                let mut table = Vec::new();
                for (j, s) in list.iter().enumerate() {
                    let f = field(&format!("segments[{j}]"));
                    let sbase = src.num(&s.base, &f)?;
                    let size = src.num(&s.size, &f)?;
                    let perms = Perms::parse(s.perms.get_ref())
                        .map_err(|e| src.err(s.perms.span(), &f, e))?;
                    let mut seg = if s.grows_down {
                        Segment::down(sbase, size, perms)
                    } else {
                        Segment::up(sbase, size, perms)
                    };
                    if let Some(n) = &s.name {
                        seg = seg.named(n.clone());
                    }
                    if size > 0 {
                        let (lo, hi) = seg
                            .phys_range()
                            .ok_or_else(|| src.err(s.base.span(), &f, "starts below physical 0"))?;
                        if hi > memory || lo < os_size {
                            return Err(src.err(s.base.span(), &f, format!("[{lo:#x}, {hi:#x}) is not inside user memory [{os_size:#x}, {memory:#x})")));
                        }
                        if let Some((other, ob, os)) = fixed
                            .iter()
                            .find(|(_, ob, os)| !p.delayed && lo < ob + os && *ob < hi)
                        {
                            return Err(src.err(
                                s.base.span(),
                                &f,
                                format!(
                                    "[{lo:#x}, {hi:#x}) overlaps {other} at [{ob:#x}, {:#x})",
                                    ob + os
                                ),
                            ));
                        }
                        if !p.delayed {
                            fixed.push((format!("{pname} segment {j}"), lo, size));
                        }
                    }
                    table.push(seg);
                }
                Some(table)
            }
        };
        let mut image = Vec::new();
        for w in &p.image {
            let at = src.num(&w.at, &field("image.at"))?;
            let word = src.num(&w.word, &field("image.word"))?;
            let word = u32::try_from(word).map_err(|_| {
                src.err(w.word.span(), &field("image.word"), "does not fit 32 bits")
            })?;
            if at as u128 + 4 > want {
                return Err(src.err(
                    w.at.span(),
                    &field("image.at"),
                    format!("the word at {at:#x} does not fit the address space of {want} bytes"),
                ));
            }
            image.push((at, word.to_le_bytes().to_vec()));
        }
        let mut relocations = Vec::new();
        for r in &p.relocations {
            let at = src.num(r, &field("relocations"))?;
            if at as u128 + 4 > want {
                return Err(src.err(
                    r.span(),
                    &field("relocations"),
                    format!("{at:#x} is outside the address space of {want} bytes"),
                ));
            }
            relocations.push(at);
        }
        let stop_after = match &p.stop_after {
            None => None,
            Some(n) if program_image.is_none() => {
                return Err(src.err(
                    n.span(),
                    &field("stop_after"),
                    "only a program (source or file) runs instructions to stop after",
                ));
            }
            Some(n) if *n.get_ref() == 0 => {
                return Err(src.err(n.span(), &field("stop_after"), "must be at least 1"));
            }
            Some(n) => Some(*n.get_ref()),
        };
        let ops = p
            .accesses
            .iter()
            .map(|a| Op::parse(a.get_ref()).map_err(|e| src.err(a.span(), &field("accesses"), e)))
            .collect::<Result<Vec<_>, _>>()?;
        processes.push(ProcessDef {
            spec: ProcessSpec {
                name: pname.clone(),
                program: p.program.clone().unwrap_or_else(|| pname.clone()),
                sizes,
                base,
                segments,
                image,
                relocations,
                context,
                program_image: program_image.clone(),
            },
            ops,
            delayed: p.delayed,
            runs_program: program_image.is_some(),
            limit: p.limit.unwrap_or(100_000),
            stop_after,
        });
    }
    if m.strategy == Strategy::Uniprogramming && processes.iter().filter(|p| !p.delayed).count() > 1
    {
        return Err(format!(
            "{name}: uniprogramming runs one process at a time; mark the others delayed = true and spawn them later"
        ));
    }

    let known = |n: &str| processes.iter().any(|p| p.spec.name == n);
    let mut script = Vec::new();
    for line in &file.script {
        let text = line.get_ref().trim();
        let bad = |msg: String| src.err(line.span(), "script", msg);
        let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        let rest = rest.trim();
        let item = match word {
            "say" => ScriptItem::Say(rest.to_string()),
            "compact" => ScriptItem::Compact,
            "map" => ScriptItem::Map,
            "costs" => ScriptItem::Costs,
            "spawn" | "switch" => {
                if !known(rest) {
                    return Err(bad(format!("no process named '{rest}'")));
                }
                if word == "spawn" {
                    ScriptItem::Spawn(rest.into())
                } else {
                    ScriptItem::Switch(rest.into())
                }
            }
            "move" => {
                let (p, addr) = rest
                    .split_once(char::is_whitespace)
                    .ok_or_else(|| bad("move needs NAME ADDR".into()))?;
                if !known(p) {
                    return Err(bad(format!("no process named '{p}'")));
                }
                ScriptItem::Move(
                    p.into(),
                    parse_number(addr.trim()).map_err(|e| bad(e.to_string()))?,
                )
            }
            _ => match text.split_once(':') {
                Some((p, op)) => {
                    let p = p.trim();
                    if !known(p) {
                        return Err(bad(format!("no process named '{p}'")));
                    }
                    ScriptItem::Do(p.into(), Op::parse(op).map_err(bad)?, text.to_string())
                }
                None => {
                    return Err(bad(format!(
                        "'{text}': expected 'NAME: OPERATION', say, spawn, switch, compact, move, map or costs"
                    )));
                }
            },
        };
        script.push(item);
    }
    Kernel::boot(config.clone()).map_err(|e| format!("{name}: machine: {e}"))?;
    let summary = if file.summary.is_empty() {
        None
    } else {
        let names: Vec<String> = processes.iter().map(|p| p.spec.name.clone()).collect();
        let lines: Vec<String> = file.summary.iter().map(|l| l.get_ref().clone()).collect();
        let title = file
            .summary_title
            .clone()
            .unwrap_or_else(|| "Summary".into());
        Some(
            summary::Template::parse(&title, &lines, &names).map_err(|e| {
                // Name the line of the file that holds the bad entry.
                let at = e
                    .strip_prefix("summary[")
                    .and_then(|r| r.split_once(']'))
                    .and_then(|(i, _)| i.parse::<usize>().ok())
                    .and_then(|i| file.summary.get(i))
                    .map(|l| src.at(l.span()))
                    .unwrap_or_else(|| name.to_string());
                format!("{at}: {e}")
            })?,
        )
    };
    Ok(Scenario {
        title: file.title.unwrap_or_else(|| name.to_string()),
        description: file.description.unwrap_or_default(),
        config,
        processes,
        script,
        scheduler,
        compare: m.compare.clone(),
        switch_steps: file.switch_steps,
        timer,
        max_events,
        summary,
        compare_frames,
        compare_asid: m.compare_asid,
        compare_page_table: m.compare_page_table,
    })
}

/// Reads the paging fields of `[machine]` into `config.paging` and checks
/// them, each error naming its field and place: a page size that is not a
/// power of two or not the format's, frames beyond memory or zero, an OS
/// region that is not whole pages or too small for page tables. Paging
/// fields under another strategy are an error too. Returns the frame
/// counts to compare.
fn paging_config(
    src: &Source,
    m: &MachineToml,
    memory: u64,
    os_size: u64,
    config: &mut KernelConfig,
) -> Result<Vec<u64>, String> {
    let paging = m.strategy == Strategy::Paging;
    if !paging {
        let given = [
            ("page_table", m.page_table.is_some()),
            ("page_size", m.page_size.is_some()),
            ("frames", m.frames.is_some()),
            ("policy", m.policy.is_some()),
            ("seed", m.seed.is_some()),
            ("swap", m.swap),
            ("asid", m.asid),
            ("tlb", m.tlb.is_some()),
            ("compare_frames", !m.compare_frames.is_empty()),
            ("compare_asid", m.compare_asid),
            ("compare_page_table", m.compare_page_table.is_some()),
        ];
        if let Some((field, _)) = given.iter().find(|(_, g)| *g) {
            return Err(src.err(
                m.memory.span(),
                &format!("machine.{field}"),
                "needs strategy = \"paging\"",
            ));
        }
        return Ok(Vec::new());
    }
    let pc = &mut config.paging;
    pc.table = m.page_table.unwrap_or_default();
    pc.page_size = src.opt(&m.page_size, "machine.page_size")?;
    pc.va_bits = m.va_bits;
    let format =
        crate::kernel::paging::Format::new(pc.table, pc.va_bits, pc.page_size).map_err(|e| {
            let (span, field) = match &m.page_size {
                Some(n) => (n.span(), "machine.page_size"),
                None => (m.memory.span(), "machine.va_bits"),
            };
            src.err(span, field, e)
        })?;
    let ps = format.page_size();
    let at_memory = m.memory.span();
    if memory % ps != 0 {
        return Err(src.err(
            at_memory,
            "machine.memory",
            format!("{memory} bytes is not a whole number of {ps}-byte frames"),
        ));
    }
    let os_span = m.os_size.as_ref().map(|s| s.span()).unwrap_or(at_memory);
    if os_size % ps != 0 || os_size == 0 {
        return Err(src.err(
            os_span,
            "machine.os_size",
            format!(
                "{os_size} bytes: under paging the OS region holds the page tables, so it must be a whole number (at least 1) of {ps}-byte frames"
            ),
        ));
    }
    if format.root_bytes() > os_size {
        return Err(src.err(
            os_span,
            "machine.os_size",
            format!(
                "the OS region ({os_size} bytes) cannot hold one {} root table of {} bytes",
                format.name(),
                format.root_bytes()
            ),
        ));
    }
    let user = (memory - os_size) / ps;
    let check_frames = |n: u64, span: Range<usize>| -> Result<u64, String> {
        if n == 0 {
            return Err(src.err(span, "machine.frames", "0 frames cannot hold a page"));
        }
        if n > user {
            return Err(src.err(
                span,
                "machine.frames",
                format!(
                    "{n} frames of {ps} bytes are more than memory has after the OS region ({user} frames)"
                ),
            ));
        }
        Ok(n)
    };
    if let Some(f) = &m.frames {
        let n = src.num(f, "machine.frames")?;
        pc.frames = Some(check_frames(n, f.span())?);
    }
    pc.policy = m.policy.unwrap_or_default();
    pc.seed = m.seed.unwrap_or(0);
    pc.swap = m.swap;
    pc.asid = m.asid;
    pc.tlb = match &m.tlb {
        None => Some(crate::mmu::tlb::TlbConfig::default()),
        Some(t) if t.get_ref().trim() == "off" => None,
        Some(t) => {
            let text = t.get_ref().trim();
            if text.split(',').count() > 3 {
                return Err(src.err(
                    t.span(),
                    "machine.tlb",
                    "ENTRIES[,WAYS[,POLICY]] or off (tagging follows machine.asid)",
                ));
            }
            Some(
                crate::mmu::tlb::TlbConfig::parse(text)
                    .map_err(|e| src.err(t.span(), "machine.tlb", e))?,
            )
        }
    };
    m.compare_frames
        .iter()
        .map(|f| check_frames(*f.get_ref(), f.span()))
        .collect()
}

/// A scenario that wraps other vmlab commands (E1-E3: `sched`, `stack`,
/// `heap`): its `commands = [["sched", "--policy", "all"], ...]`, or `None`
/// for a machine scenario. Errors name the file and the field.
pub fn commands_of(name: &str, text: &str) -> Result<Option<Vec<Vec<String>>>, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Wrapper {
        #[allow(dead_code)]
        title: Option<String>,
        #[allow(dead_code)]
        description: Option<String>,
        commands: Spanned<Vec<Vec<String>>>,
    }
    let Ok(table) = toml::from_str::<toml::Table>(text) else {
        return Ok(None);
    };
    if !table.contains_key("commands") {
        return Ok(None);
    }
    let src = Source { name, text };
    let w: Wrapper = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        format!(
            "{}: {} (in `{}`)",
            src.at(span.clone()),
            e.message().trim(),
            src.line_text(span)
        )
    })?;
    let span = w.commands.span();
    let cmds = w.commands.into_inner();
    if cmds.is_empty() || cmds.iter().any(|c| c.is_empty()) {
        return Err(src.err(span, "commands", "each command needs at least its name"));
    }
    Ok(Some(cmds))
}

/// Assembles a process's program (inline `source` or `file`), if it has one.
fn load_program(
    src: &Source,
    p: &ProcessToml,
    field: &dyn Fn(&str) -> String,
    data_base: Option<u64>,
) -> Result<Option<crate::program::Program>, String> {
    let (text, file_name) = match (&p.source, &p.file) {
        (None, None) => return Ok(None),
        (Some(_), Some(f)) => {
            return Err(src.err(
                f.span(),
                &field("file"),
                "give either source or file, not both",
            ));
        }
        (Some(t), None) => (t.get_ref().clone(), String::new()),
        (None, Some(f)) => {
            let base = std::path::Path::new(src.name)
                .parent()
                .unwrap_or(std::path::Path::new(""));
            let path = base.join(f.get_ref());
            let bad = |msg: String| {
                src.err(
                    f.span(),
                    &field("file"),
                    format!("{}: {msg}", path.display()),
                )
            };
            let bytes = crate::files::read(&path, crate::files::FileKind::Program)
                .map_err(|e| src.err(f.span(), &field("file"), e))?;
            if bytes.starts_with(b"\x7fELF") && data_base.is_some() {
                return Err(bad(
                    "an ELF file is linked for a flat address space; under segmentation give assembly".into(),
                ));
            }
            if bytes.starts_with(b"\x7fELF") {
                // A RISC-V ELF executable (static, linked where it runs).
                let prog = crate::elf::load(&bytes).map_err(|e| bad(e.to_string()))?;
                return Ok(Some(prog));
            }
            let text = String::from_utf8(bytes)
                .map_err(|_| bad("neither an ELF file nor UTF-8 assembly".into()))?;
            (text, path.display().to_string())
        }
    };
    let text_base = src.opt(&p.text_base, &field("text_base"))?.unwrap_or(0);
    if let Some(tb) = p.text_base.as_ref().filter(|_| text_base % 4 != 0) {
        return Err(src.err(
            tb.span(),
            &field("text_base"),
            format!("{text_base:#x} is not a multiple of 4 (instructions are 4-byte aligned)"),
        ));
    }
    let prog = crate::asm::assemble_with_data_at(
        &text,
        &file_name,
        &crate::asm::Options { text_base },
        data_base,
    )
    .map_err(|e| match &p.source {
        // Inline source: the error's line is a line of the scenario file.
        Some(t) => {
            let file_line = src.line(t.span().start);
            let rest = &src.text[t.span().start.min(src.text.len())..];
            let skip = usize::from(rest.starts_with("\"\"\"\n") || rest.starts_with("'''\n"));
            format!(
                "{}:{}: {}: {}",
                src.name,
                file_line + skip + e.line - 1,
                field("source"),
                e.message
            )
        }
        None => e.to_string(),
    })?;
    Ok(Some(prog))
}

/// What an operation did to the process.
enum Step {
    Continue,
    Gone,
    Yielded,
}

/// The most events a run keeps in memory when they are collected (by
/// [`run`] and [`run_kernel`], for the web page and the HTML export that
/// step through the log), unless the scenario's `machine.max_events` says
/// otherwise. `vmlab scenario run` streams the events instead
/// ([`run_streaming`]) and keeps none.
pub const MAX_EVENTS: usize = 1_000_000;

/// Runs a scenario (and the same workload under each `compare` strategy)
/// and returns the event log, the compare runs adding their cost and a
/// comparison at the end.
///
/// Fails when the log would hold more than the scenario's `max_events`
/// events (the message says which field raises it).
pub fn run(sc: &Scenario) -> Result<Vec<Event>, String> {
    let mut events = Vec::new();
    let mut overflow = None;
    let completed = run_streaming(sc, &mut |e| {
        if events.len() < sc.max_events {
            events.push(e);
            true
        } else {
            overflow = Some(too_many_events(sc.max_events));
            false
        }
    });
    match overflow {
        Some(e) => Err(e),
        None if completed => Ok(events),
        None => Err("the run was stopped".into()),
    }
}

/// The error of a collected run that passes its cap.
fn too_many_events(cap: usize) -> String {
    format!(
        "the run produced more than {cap} events, the most kept in memory (raise machine.max_events, or run it with `vmlab scenario run`, which streams them)"
    )
}

/// Runs a scenario like [`run`], handing each event to `sink` as it
/// happens instead of keeping the log: memory stays bounded however many
/// events the run makes. `sink` returns false to stop the run (an output
/// that failed); then this returns false, else true.
pub fn run_streaming(sc: &Scenario, sink: &mut dyn FnMut(Event) -> bool) -> bool {
    // The main run's cost, for the comparison.
    let mut cost: Option<Event> = None;
    let mut faults: Option<(&'static str, u64, u64)> = None;
    let mut tlb: Option<Event> = None;
    let mut tables: Option<(&'static str, u64)> = None;
    let main = run_under(sc, sc.config.strategy, &mut |e: Event| {
        if let Event::PagingSummary {
            policy,
            frames,
            page_faults,
            ..
        } = e
        {
            faults = Some((policy, frames, page_faults));
        }
        if matches!(e, Event::TlbSummary { .. }) {
            tlb = Some(e.clone());
        }
        if let Event::PagingSummary {
            table,
            page_table_bytes,
            ..
        } = e
        {
            tables = Some((table, page_table_bytes));
        }
        if matches!(e, Event::Cost { .. }) {
            cost = Some(e.clone());
        } else if !matches!(e, Event::Summary { .. }) {
            cost = None;
        }
        sink(e)
    });
    match main {
        Ok(_) => {}
        Err(Stop::Sink) => return false,
        // (a streamed run keeps no log, so it never passes a cap; a machine
        // that cannot boot was refused by `parse`)
        Err(Stop::Events(_) | Stop::Boot(_)) => return true,
    }
    if let Some((policy, frames, page_faults)) = faults {
        for &other in &sc.compare_frames {
            // The same workload with `other` frames: only its faults count.
            let mut with = sc.clone();
            with.config.paging.frames = Some(other);
            let mut theirs = None;
            let _ = run_under(&with, sc.config.strategy, &mut |e: Event| {
                if let Event::PagingSummary { page_faults, .. } = e {
                    theirs = Some(page_faults);
                }
                true
            });
            if let Some(other_page_faults) = theirs {
                let e = Event::FramesCompare {
                    policy,
                    frames,
                    page_faults,
                    other_frames: other,
                    other_page_faults,
                };
                if !sink(e) {
                    return false;
                }
            }
        }
    }
    if let (Some(kind), Some((table, page_table_bytes))) = (sc.compare_page_table, tables) {
        let mut other = sc.clone();
        other.config.paging.table = kind;
        let mut theirs = None;
        let _ = run_under(&other, sc.config.strategy, &mut |e: Event| {
            if let Event::PagingSummary {
                table,
                page_table_bytes,
                ..
            } = e
            {
                theirs = Some((table, page_table_bytes));
            }
            true
        });
        if let Some((other_table, other_page_table_bytes)) = theirs {
            let e = Event::TableCompare {
                table,
                page_table_bytes,
                other_table,
                other_page_table_bytes,
            };
            if !sink(e) {
                return false;
            }
        }
    }
    if let (
        true,
        Some(Event::TlbSummary {
            tagging,
            misses,
            hit_rate,
            flushes,
            ..
        }),
    ) = (sc.compare_asid, tlb)
    {
        let mut other = sc.clone();
        other.config.paging.asid = !sc.config.paging.asid;
        let mut theirs = None;
        let mut other_total_ns = 0.0;
        let _ = run_under(&other, sc.config.strategy, &mut |e: Event| {
            if let Event::Cost { total_ns, .. } = e {
                other_total_ns = total_ns;
            }
            if matches!(e, Event::TlbSummary { .. }) {
                theirs = Some(e);
            }
            true
        });
        let total_ns = match &cost {
            Some(Event::Cost { total_ns, .. }) => *total_ns,
            _ => 0.0,
        };
        if let Some(Event::TlbSummary {
            tagging: other_tagging,
            misses: other_misses,
            hit_rate: other_hit_rate,
            flushes: other_flushes,
            ..
        }) = theirs
        {
            let e = Event::TlbCompare {
                tagging,
                misses,
                hit_rate,
                flushes,
                total_ns,
                other_tagging,
                other_misses,
                other_hit_rate,
                other_flushes,
                other_total_ns,
            };
            if !sink(e) {
                return false;
            }
        }
    }
    let Some(Event::Cost {
        total_ns, strategy, ..
    }) = cost
    else {
        return true;
    };
    for &other in &sc.compare {
        // Of a compare run only its cost is shown: keep nothing else.
        let mut their: Option<Event> = None;
        let mut other_load_failures = 0;
        let _ = run_under(sc, other, &mut |e: Event| {
            if matches!(e, Event::LoadFailed { .. }) {
                other_load_failures += 1;
            }
            their = Some(e);
            true
        });
        if let Some(
            last @ Event::Cost {
                total_ns: other_total_ns,
                disk_bytes,
                ..
            },
        ) = their
        {
            let compare = Event::Compare {
                strategy,
                total_ns,
                other: other.name(),
                other_total_ns,
                other_disk_bytes: disk_bytes,
                other_load_failures,
                ratio: if other_total_ns > 0.0 {
                    total_ns / other_total_ns
                } else {
                    0.0
                },
            };
            if !sink(last) || !sink(compare) {
                return false;
            }
        }
    }
    true
}

/// Where a run's events go: kept in the kernel's log up to a cap, or
/// handed on after every step.
enum Sink<'s> {
    /// Keep them in `k.events` (at most `event_cap`).
    Keep,
    /// Hand them to the function (which returns false to stop the run).
    Stream(&'s mut dyn FnMut(Event) -> bool),
}

/// Why a run stopped before its end.
#[derive(Debug)]
enum Stop {
    /// The kept log reached its cap.
    Events(usize),
    /// The sink asked to stop.
    Sink,
    /// The machine could not boot.
    Boot(String),
}

struct Runner<'s> {
    k: Kernel,
    queues: Vec<VecDeque<Op>>,
    pids: Vec<Option<Pid>>,
    sink: Sink<'s>,
    /// Script lines as the loader rewrote them (static relocation), by
    /// their index in the script: the rewrite happens once, when the
    /// process is loaded, never at run time.
    loaded_script: HashMap<usize, Op>,
    /// Per process: whether its operations list instruction fetches (then
    /// a fetch starts an instruction and a load or store is part of it).
    lists_fetches: Vec<bool>,
    /// What the closing summary needs, gathered as the events go by.
    summary: Option<summary::Collector>,
    /// Kept events (`Sink::Keep`) the summary has already seen.
    observed: usize,
}

/// Whether process `i`'s access list or script lines hold a `fetch`: its
/// list is then written instruction by instruction (E4, E14), each fetch
/// starting one instruction and each load or store belonging to the
/// instruction fetched before it. Without fetches (E6's `load 100`) every
/// line stands for a whole instruction whose fetch the slide leaves out.
fn lists_fetches(sc: &Scenario, i: usize) -> bool {
    let fetch = |op: &Op| {
        matches!(
            op,
            Op::Access {
                access: crate::mmu::Access::Fetch,
                ..
            }
        )
    };
    let name = &sc.processes[i].spec.name;
    sc.processes[i].ops.iter().any(fetch)
        || sc.script.iter().any(|item| match item {
            ScriptItem::Do(n, op, _) => n == name && fetch(op),
            _ => false,
        })
}

/// Runs a scenario once, under its own strategy, to the end (the script,
/// then the scheduler, then the closing summaries) and returns the kernel
/// as the run left it: every PCB with its saved registers, the MMU, memory
/// and the event log (`k.events`, what [`run`] returns without the
/// `compare` runs).
///
/// Fails when the machine cannot boot, which [`parse`] already checks, or
/// when the log would hold more than the scenario's `max_events` events;
/// the message names the reason.
pub fn run_kernel(sc: &Scenario) -> Result<Kernel, String> {
    run_kernel_under(sc, sc.config.strategy, Sink::Keep).map_err(stop_message)
}

/// Runs a scenario like [`run_kernel`] but keeps no event log (each event
/// is dropped as it happens; `k.events` ends empty): for a caller that
/// needs only the state the run leaves, such as the MMU registers of
/// `vmlab trace --scenario`, in memory bounded however long the run.
///
/// Fails only when the machine cannot boot, which [`parse`] already checks.
pub fn run_kernel_unlogged(sc: &Scenario) -> Result<Kernel, String> {
    run_under(sc, sc.config.strategy, &mut |_| true).map_err(stop_message)
}

/// The message of a run that stopped before its end.
fn stop_message(stop: Stop) -> String {
    match stop {
        Stop::Events(cap) => too_many_events(cap),
        Stop::Boot(e) => e,
        Stop::Sink => "the run was stopped".into(),
    }
}

/// One run under `strategy`, streamed to `sink`.
fn run_under(
    sc: &Scenario,
    strategy: Strategy,
    sink: &mut dyn FnMut(Event) -> bool,
) -> Result<Kernel, Stop> {
    run_kernel_under(sc, strategy, Sink::Stream(sink))
}

/// The most program instructions run between two hand-overs of the events
/// (each instruction makes a few events at most).
const EVENT_STEP: u64 = 4096;

fn run_kernel_under(sc: &Scenario, strategy: Strategy, sink: Sink<'_>) -> Result<Kernel, Stop> {
    let mut config = sc.config.clone();
    config.strategy = strategy;
    if strategy == Strategy::Paging
        && config.paging.policy == crate::kernel::paging::PolicyName::Opt
        && config.paging.future.is_none()
    {
        // OPT needs the future: run once recording the page references
        // (the string does not depend on the policy), then replay it.
        let mut first = sc.clone();
        first.config.paging.policy = crate::kernel::paging::PolicyName::Fifo;
        first.config.paging.record = true;
        let k = run_kernel_under(&first, strategy, Sink::Stream(&mut |_| true))?;
        let refs = k.paging.map(|p| p.recorded).unwrap_or_default();
        config.paging.future = Some(crate::kernel::replacement::NextUse::from_refs(&refs));
    }
    let mut k = Kernel::boot(config).map_err(Stop::Boot)?;
    if matches!(sink, Sink::Keep) {
        k.event_cap = sc.max_events;
    }
    let mut r = Runner {
        k,
        queues: sc
            .processes
            .iter()
            .map(|p| p.ops.iter().cloned().collect())
            .collect(),
        pids: vec![None; sc.processes.len()],
        sink,
        loaded_script: HashMap::new(),
        lists_fetches: (0..sc.processes.len())
            .map(|i| lists_fetches(sc, i))
            .collect(),
        // The summary belongs to the scenario's own run, not to a compare run.
        summary: sc
            .summary
            .as_ref()
            .filter(|_| strategy == sc.config.strategy)
            .map(summary::Collector::new),
        observed: 0,
    };
    r.hand_over()?;
    for i in 0..sc.processes.len() {
        if !sc.processes[i].delayed {
            r.spawn(sc, i, 0);
            r.hand_over()?;
        }
    }
    let index = |n: &str| sc.processes.iter().position(|p| p.spec.name == n);
    for (at, item) in sc.script.iter().cloned().enumerate() {
        match item {
            ScriptItem::Say(t) => r.k.note(t),
            ScriptItem::Map => {
                let m = r.k.memory_map();
                r.k.emit(m);
            }
            ScriptItem::Costs => {
                let c = &r.k.config.cost;
                let e = Event::CostTable {
                    levels: c.table(),
                    served_by: c.served_by.level(),
                    disk_latency_ns: c.disk_latency_ns,
                    disk_bytes_per_sec: c.disk_bytes_per_sec,
                };
                r.k.emit(e);
            }
            ScriptItem::Compact => {
                r.k.compact();
            }
            ScriptItem::Spawn(n) => {
                // Names address processes: while one NAME lives, another
                // cannot be spawned (after it terminates, NAME is free).
                let living = index(&n)
                    .and_then(|i| r.pids[i])
                    .filter(|&p| r.k.proc(p).alive());
                if let Some(pid) = living {
                    r.k.emit(Event::Refused {
                        operation: format!("spawn {n}"),
                        reason: format!(
                            "{n} is already loaded (pid {pid}); process names are unique"
                        ),
                    });
                } else if let Some(i) = index(&n) {
                    // The loader rewrites the script lines still to come.
                    r.spawn(sc, i, at + 1);
                }
            }
            ScriptItem::Move(n, to) => {
                if let Some(pid) = index(&n).and_then(|i| r.pids[i]) {
                    r.k.move_process(pid, to);
                }
            }
            ScriptItem::Switch(n) => {
                if let Some(pid) = r.live(index(&n), &n, "switch") {
                    r.k.context_switch(pid, "timer-interrupt");
                }
            }
            ScriptItem::Do(n, op, text) => {
                if let Some(pid) = r.live(index(&n), &n, &text) {
                    // The line as the loader left it (rewritten at load
                    // time under static relocation; `relocate` is then a
                    // no-op).
                    let op = r.loaded_script.remove(&at).unwrap_or(op);
                    let op = r.relocate(pid, op);
                    r.k.context_switch(pid, "timer-interrupt");
                    r.exec(pid, &op);
                }
            }
        }
        r.hand_over()?;
    }
    r.schedule(sc)?;
    r.k.finish();
    r.hand_over()?;
    if let Some(c) = r.summary.take() {
        r.k.emit(c.event());
        r.hand_over()?;
    }
    Ok(r.k)
}

impl Runner<'_> {
    /// Hands the events emitted since the last call to the sink (streamed
    /// runs), or checks the kept log against its cap.
    fn hand_over(&mut self) -> Result<(), Stop> {
        if let Some(c) = &mut self.summary {
            let pids = &self.pids;
            let process_of = |pid| pids.iter().position(|&p| p == Some(pid));
            for e in self.k.events.iter().skip(self.observed) {
                c.observe(e, process_of);
            }
        }
        self.observed = self.k.events.len();
        match &mut self.sink {
            Sink::Keep if self.k.events_overflowed => Err(Stop::Events(self.k.event_cap)),
            Sink::Keep => Ok(()),
            Sink::Stream(f) => {
                self.observed = 0;
                for e in self.k.events.drain(..) {
                    if !f(e) {
                        return Err(Stop::Sink);
                    }
                }
                Ok(())
            }
        }
    }

    /// Loads process `i`; under static relocation the loader rewrites its
    /// access list and its script lines from index `script_from` on, now,
    /// at load time (the program then runs on physical addresses).
    fn spawn(&mut self, sc: &Scenario, i: usize, script_from: usize) {
        let Ok(pid) = self.k.spawn(&sc.processes[i].spec) else {
            return;
        };
        self.pids[i] = Some(pid);
        let ops: Vec<Op> = self.queues[i].drain(..).collect();
        for op in ops {
            let op = self.relocate(pid, op);
            self.queues[i].push_back(op);
        }
        let name = &sc.processes[i].spec.name;
        for (at, item) in sc.script.iter().enumerate().skip(script_from) {
            if let ScriptItem::Do(n, op, _) = item {
                if n == name {
                    let op = self.relocate(pid, op.clone());
                    self.loaded_script.insert(at, op);
                }
            }
        }
    }

    /// The static loader's rewrite of one operation's address.
    fn relocate(&mut self, pid: Pid, op: Op) -> Op {
        match op {
            Op::Access {
                access,
                va,
                value,
                raw: false,
                size,
            } if self.k.config.strategy == Strategy::StaticRelocation => {
                let verb = match access {
                    crate::mmu::Access::Fetch => "fetch",
                    crate::mmu::Access::Read => "load",
                    crate::mmu::Access::Write => "store",
                };
                let to = self
                    .k
                    .relocate_address(pid, va, &format!("address of '{verb} {va:#x}'"));
                Op::Access {
                    access,
                    va: to,
                    value,
                    raw: true,
                    size,
                }
            }
            op => op,
        }
    }

    /// The pid of a live process, or a `refused` event saying why not.
    fn live(&mut self, i: Option<usize>, name: &str, what: &str) -> Option<Pid> {
        let pid = i.and_then(|i| self.pids[i]);
        let reason = match pid {
            None => format!("{name} is not loaded"),
            Some(p) if !self.k.proc(p).alive() => format!("{name} has terminated"),
            Some(p) => return Some(p),
        };
        self.k.emit(Event::Refused {
            operation: what.to_string(),
            reason,
        });
        None
    }

    /// Runs one operation of the current process `pid`.
    fn exec(&mut self, pid: Pid, op: &Op) -> Step {
        // Instructions are counted once: a load or store of a list that
        // shows its fetches is part of the instruction fetched before it.
        let data_of_fetched = matches!(op, Op::Access { access, .. } if *access != crate::mmu::Access::Fetch)
            && self
                .pids
                .iter()
                .position(|&p| p == Some(pid))
                .is_some_and(|i| self.lists_fetches[i]);
        let k = &mut self.k;
        if !data_of_fetched {
            k.counts.instructions += 1;
            k.proc_mut(pid).stats.instructions += 1;
        }
        let abi = k.config.abi;
        let call = |k: &mut Kernel, c: Call, args: [u64; 3], bytes: &[u8]| {
            let n = abi.number(c).unwrap_or(u64::MAX);
            k.syscall(n, args, bytes)
        };
        let outcome = match op {
            Op::Access {
                access,
                va,
                value,
                size,
                ..
            } => {
                return match k.user_access(*access, *va, *size, value.unwrap_or(pid as u64)) {
                    Some(Ok(_)) => Step::Continue,
                    _ => Step::Gone,
                };
            }
            Op::Sbrk(n) => {
                if abi == Abi::Linux {
                    let brk = call(k, Call::Brk, [0, 0, 0], &[]);
                    match brk {
                        SyscallOutcome::Return(b) => {
                            call(k, Call::Brk, [(b as i128 + *n as i128) as u64, 0, 0], &[])
                        }
                        o => o,
                    }
                } else {
                    call(k, Call::Sbrk, [*n as u64, 0, 0], &[])
                }
            }
            Op::Getpid => call(k, Call::Getpid, [0; 3], &[]),
            Op::Write(t) => call(k, Call::Write, [1, 0, t.len() as u64], t.as_bytes()),
            Op::Exit(s) => call(k, Call::Exit, [*s, 0, 0], &[]),
            Op::Yield => call(k, Call::Yield, [0; 3], &[]),
            Op::Syscall(n, args) => {
                let mut a = [0u64; 3];
                a[..args.len()].copy_from_slice(args);
                k.syscall(*n, a, b"")
            }
            Op::SetBase(v) | Op::SetBounds(v) => {
                let regs = match (k.mmu.registers(), op) {
                    (MmuRegisters::BaseBounds { bounds, .. }, Op::SetBase(_)) => {
                        MmuRegisters::BaseBounds { base: *v, bounds }
                    }
                    (MmuRegisters::BaseBounds { base, .. }, _) => {
                        MmuRegisters::BaseBounds { base, bounds: *v }
                    }
                    (MmuRegisters::Base { .. }, _) => MmuRegisters::Base { base: *v },
                    (other, _) => other,
                };
                k.user_load_registers(&regs);
                return if k.proc(pid).alive() {
                    Step::Continue
                } else {
                    Step::Gone
                };
            }
            Op::SetMode => {
                k.user_set_kernel_mode();
                return if k.proc(pid).alive() {
                    Step::Continue
                } else {
                    Step::Gone
                };
            }
        };
        match outcome {
            SyscallOutcome::Return(_) => Step::Continue,
            SyscallOutcome::Exited => Step::Gone,
            SyscallOutcome::Yielded => Step::Yielded,
        }
    }

    /// Runs what is left: access lists and programs, FIFO or round robin.
    /// A process whose access list ends exits with status 0; a program
    /// runs until it exits, is killed, or reaches its instruction limit.
    /// The events go to the sink after every operation and every
    /// [`EVENT_STEP`] instructions.
    fn schedule(&mut self, sc: &Scenario) -> Result<(), Stop> {
        use crate::kernel::scheduler::{Policy, Scheduler as Queue};
        let policy = match sc.scheduler {
            Scheduler::Fifo => Policy::Fifo,
            Scheduler::Sjf => Policy::Sjf,
            Scheduler::Stcf => Policy::Stcf,
            Scheduler::RoundRobin(q) => Policy::RoundRobin { quantum: q as f64 },
        };
        let rr = matches!(sc.scheduler, Scheduler::RoundRobin(_));
        let program = |i: usize| sc.processes[i].runs_program;
        let mut queue = Queue::new(policy);
        for i in 0..self.queues.len() {
            if (!self.queues[i].is_empty() || program(i)) && self.pids[i].is_some() {
                queue.admit(i, self.remaining(sc, i));
            }
        }
        while let Some((i, _, slice)) = queue.pick() {
            let Some(pid) = self.pids[i] else { continue };
            if !self.k.proc(pid).alive() {
                continue;
            }
            self.k.context_switch(pid, "timer-interrupt");
            if program(i) {
                let stop_after = sc.processes[i].stop_after;
                let limit =
                    stop_after.map_or(sc.processes[i].limit, |n| n.min(sc.processes[i].limit));
                let left = limit.saturating_sub(self.k.proc(pid).stats.instructions);
                let budget = if rr { sc.timer.min(left) } else { left };
                // The turn, in pieces of at most EVENT_STEP instructions
                // (run_program stops early only when the process exits,
                // yields or is killed: that ends the turn).
                let mut rest = budget;
                let mut outcome = RunOutcome::Preempted;
                while rest > 0 && outcome == RunOutcome::Preempted {
                    let piece = rest.min(EVENT_STEP);
                    outcome = self.k.run_program(piece);
                    self.hand_over()?;
                    rest -= piece;
                }
                if outcome == RunOutcome::Gone {
                    continue;
                }
                if self.k.proc(pid).stats.instructions >= limit && stop_after.is_some() {
                    // A slide's few instructions: the demonstration is
                    // over, nothing went wrong, nobody is killed.
                    let name = self.k.proc(pid).name.clone();
                    self.k.note(format!(
                        "{name} has run its {limit} instruction{}: the run ends here ({name} is neither killed nor exited; it is simply not scheduled again).",
                        if limit == 1 { "" } else { "s" }
                    ));
                    self.hand_over()?;
                    continue;
                }
                if self.k.proc(pid).stats.instructions >= limit {
                    let name = self.k.proc(pid).name.clone();
                    self.k
                        .enter_kernel("timer-interrupt", format!("stop {name}"));
                    self.k.kill(
                        pid,
                        format!("the scenario stops {name} after its instruction limit ({limit})"),
                    );
                    continue;
                }
                queue.preempt(i, self.remaining(sc, i));
                continue;
            }
            let mut used = 0.0;
            let mut gone = false;
            while used < slice {
                let Some(op) = self.queues[i].pop_front() else {
                    break;
                };
                used += 1.0;
                let step = self.exec(pid, &op);
                self.hand_over()?;
                match step {
                    Step::Continue => {}
                    Step::Gone => {
                        gone = true;
                        break;
                    }
                    Step::Yielded => break,
                }
            }
            if gone {
                continue;
            }
            if self.queues[i].is_empty() {
                if self.k.proc(pid).state != ProcState::Zombie {
                    // The end of the list: the process calls exit(0).
                    let n = self.k.config.abi.number(Call::Exit).unwrap_or(2);
                    self.k.syscall(n, [0; 3], b"");
                }
            } else {
                queue.preempt(i, self.remaining(sc, i));
            }
        }
        Ok(())
    }

    /// What is left for process `i`: operations, or instructions up to its
    /// limit for a program.
    fn remaining(&self, sc: &Scenario, i: usize) -> f64 {
        if sc.processes[i].runs_program {
            let done = self.pids[i]
                .map(|p| self.k.proc(p).stats.instructions)
                .unwrap_or(0);
            sc.processes[i].limit.saturating_sub(done) as f64
        } else {
            self.queues[i].len() as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Event, parse, run};
    use proptest::prelude::{Just, ProptestConfig, any, prop, prop_assert, prop_oneof, proptest};
    use proptest::strategy::Strategy as _;
    use proptest::test_runner::TestCaseError;

    fn op() -> impl proptest::strategy::Strategy<Value = String> {
        let n = prop_oneof![0u64..5000, Just(u64::MAX), Just(1u64 << 63), any::<u64>()];
        (0..10usize, n).prop_map(|(k, n)| match k {
            0 => format!("load {n}"),
            1 => format!("store.d {n} = {n}"),
            2 => format!("fetch {n}"),
            3 => format!("sbrk {}", n % 10_000),
            4 => format!("sbrk -{}", n % 10_000),
            5 => format!("syscall {} {n}", n % 300),
            6 => format!("set-bounds {n}"),
            7 => "yield".to_string(),
            8 => format!("store *{n}"),
            _ => format!("load.w {}", n % 70_000),
        })
    }

    #[test]
    fn run_kernel_ends_where_run_ends_and_keeps_the_pcbs() {
        let b = super::builtin::find("e7-base-bounds").unwrap();
        let sc = parse(b.name, b.toml).unwrap();
        let k = super::run_kernel(&sc).unwrap();
        assert_eq!(k.events, run(&sc).unwrap());
        assert_eq!(
            k.proc(1).mmu,
            crate::mmu::MmuRegisters::BaseBounds {
                base: 1024,
                bounds: 1024
            }
        );
    }

    /// A scenario of `n` processes spinning in `loop: j loop` up to
    /// `limit` instructions each.
    fn spinners(n: usize, limit: u64, extra: &str) -> super::Scenario {
        let mut text = format!("[machine]\nmemory = \"1m\"\nstrategy = \"base-bounds\"\n{extra}\n");
        for i in 0..n {
            text.push_str(&format!(
                "[[process]]\nname = \"P{i}\"\nsize = \"1k\"\nlimit = {limit}\nsource = \"loop: j loop\"\n"
            ));
        }
        parse("spin.toml", &text).unwrap()
    }

    #[test]
    fn a_streamed_run_keeps_no_log_and_a_collected_one_is_capped() {
        // 20 processes x 50,000 instructions: about a million events.
        let sc = spinners(20, 50_000, "");
        let mut seen = 0u64;
        let mut kills = 0;
        let mut last_cost = false;
        assert!(super::run_streaming(&sc, &mut |e| {
            seen += 1;
            kills += usize::from(matches!(e, Event::Kill { .. }));
            last_cost = matches!(e, Event::Cost { .. });
            true
        }));
        assert!(seen > 1_000_000, "{seen}");
        assert_eq!(kills, 20);
        assert!(last_cost);
        // Collected, the same run passes the default cap: a clear error,
        // from run and run_kernel alike, and the field raises it.
        let e = run(&sc).unwrap_err();
        assert!(
            e.contains("more than 1000000 events") && e.contains("machine.max_events"),
            "{e}"
        );
        assert!(
            super::run_kernel(&sc)
                .unwrap_err()
                .contains("machine.max_events")
        );
        // Unlogged, the same run ends with its state and no log.
        let k = super::run_kernel_unlogged(&sc).unwrap();
        assert!(k.events.is_empty());
        assert_eq!(k.counts.instructions, 20 * 50_000);
        let small = spinners(2, 1000, "max_events = 100");
        assert!(run(&small).unwrap_err().contains("more than 100 events"));
        let raised = spinners(2, 1000, "max_events = 100000");
        assert!(matches!(
            run(&raised).unwrap().last(),
            Some(Event::Cost { .. })
        ));
        // A sink that fails stops the run.
        let mut n = 0;
        assert!(!super::run_streaming(&sc, &mut |_| {
            n += 1;
            n < 10
        }));
        assert_eq!(n, 10);
    }

    #[test]
    fn a_streamed_run_gives_the_collected_log_event_for_event() {
        for b in super::builtin::ALL {
            if super::commands_of(b.name, b.toml).unwrap().is_some() {
                continue;
            }
            let sc = parse(b.name, b.toml).unwrap();
            let mut streamed = Vec::new();
            assert!(super::run_streaming(&sc, &mut |e| {
                streamed.push(e);
                true
            }));
            let k = super::run_kernel(&sc).unwrap();
            assert!(streamed.starts_with(&k.events), "{}", b.name);
            assert!(streamed.len() >= k.events.len(), "{}", b.name);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

        /// Whatever the processes do, the simulator finishes the run.
        #[test]
        fn any_access_list_under_any_strategy_runs_to_the_end(
            ops in prop::collection::vec(op(), 1..30),
            strategy in 0..8usize,
            compact in any::<bool>(),
        ) {
            let strategy = ["uniprogramming", "time-sharing", "static-relocation", "base", "base-bounds", "segmentation", "paging", "paging"][strategy];
            let list: Vec<String> = ops.iter().map(|o| format!("{o:?}")).collect();
            // Paging: page-sized memory, once eager and once with 2 frames
            // and a swap area.
            let machine = match (strategy, compact) {
                ("paging", true) => "memory = \"64k\"\nos_size = \"16k\"\nframes = 2\nswap = true\npolicy = \"clock\"".to_string(),
                ("paging", false) => "memory = \"64k\"\nos_size = \"16k\"\nlayout = \"xv6\"".to_string(),
                _ => "memory = \"16k\"\nos_size = \"1k\"\nva_bits = 14".to_string(),
            };
            let text = format!(
                "script = [{}]\n[machine]\n{machine}\nstrategy = \"{strategy}\"\n[[process]]\nname = \"P1\"\ncode = 512\nheap = 512\nstack = 512\naccesses = [{}]\n",
                if compact { "\"compact\"" } else { "\"map\"" },
                list.join(", ")
            );
            let sc = parse("fuzz.toml", &text).map_err(TestCaseError::fail)?;
            let events = run(&sc).map_err(TestCaseError::fail)?;
            let finished = matches!(events.last(), Some(Event::Cost { .. }));
            prop_assert!(finished, "the run did not end with its cost");
        }
    }
}
