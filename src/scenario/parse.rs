//! Parsing a scenario: TOML text -> a validated [`Scenario`], each error
//! naming the file, line and column, and the field. Depends on the root's
//! public types only; the running side ([`super::run`]) does not use it.

use super::ops::Op;
use super::{MAX_EVENTS, ProcessDef, Scenario, Scheduler, ScriptItem, summary};
use crate::addr::parse_number;
use crate::cost::CostModel;
use crate::kernel::layout::{LayoutKind, Sizes};
use crate::kernel::placement::Fit;
use crate::kernel::syscall::Abi;
use crate::kernel::system::{Kernel, KernelConfig, ProcessSpec, Strategy};
use crate::mmu::{Perms, Segment};
use serde::Deserialize;
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
