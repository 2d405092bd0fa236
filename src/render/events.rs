//! Renders a kernel event log: the lecture's narration, one line (or a small
//! table) per event, or JSON lines (one object per event, `kind` first).

use super::counted;
use crate::cost::human_ns;
use crate::kernel::event::{AccessRecord, Event, Owner, Pid, RegistersView};
use std::collections::HashMap;
use std::fmt::Write;

/// One JSON object per line.
pub fn to_json_lines(events: &[Event]) -> String {
    let mut s = String::new();
    for e in events {
        s.push_str(&json_line(e));
        s.push('\n');
    }
    s
}

/// One event as a JSON object (one line, no newline).
pub fn json_line(e: &Event) -> String {
    serde_json::to_string(e).unwrap_or_else(|_| "{}".into())
}

/// The narration of a whole log. With `switch_steps` every step of a
/// context switch gets its line; otherwise one line per switch.
pub fn narrate(events: &[Event], switch_steps: bool) -> String {
    let mut n = Narration::new(switch_steps);
    let mut s = String::new();
    for e in events {
        n.event(e, &mut s);
    }
    s
}

/// The narration of a log that streams by, one event at a time (it
/// remembers only the processes' names and the strategy).
pub struct Narration(Narrator);

impl Narration {
    /// A narration that has seen no event yet (`switch_steps` as in
    /// [`narrate`]).
    pub fn new(switch_steps: bool) -> Narration {
        Narration(Narrator {
            switch_steps,
            ..Narrator::default()
        })
    }

    /// Appends the lines of `e` (none for some events) to `s`.
    pub fn event(&mut self, e: &Event, s: &mut String) {
        self.0.event(e, s);
    }
}

#[derive(Default)]
struct Narrator {
    names: HashMap<Pid, String>,
    switch_steps: bool,
    dynamic: bool,
    /// Per process under segmentation: the offset bits and which of its
    /// segments grow down (their offsets are narrated as negative offsets).
    grows_down: HashMap<Pid, (u32, Vec<bool>)>,
    /// The process whose MMU registers were last loaded (a forgotten
    /// reload leaves them in the MMU).
    mmu_from: Option<Pid>,
}

fn regs(r: &RegistersView) -> String {
    if let Some(root) = r.page_directory {
        return format!("page-directory base register = PA {root:#x} (the root table)");
    }
    if let Some(satp) = r.satp {
        let s = crate::mmu::Satp(satp);
        return format!(
            "satp={satp:#x}: Sv39, ASID {}, root table at PA {:#x}",
            s.asid(),
            s.root_ppn() << 12
        );
    }
    match (r.base, r.bounds) {
        (Some(b), Some(l)) => format!("base={} bounds={}", addr(b), addr(l)),
        (Some(b), None) => format!("base={}", addr(b)),
        _ if !r.segments.is_empty() => {
            let segs: Vec<String> = r
                .segments
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    format!(
                        "seg{i} base={:#x} size={:#x} {}{}",
                        s.base,
                        s.size,
                        s.perms,
                        if s.grows_down { " down" } else { "" }
                    )
                })
                .collect();
            segs.join("; ")
        }
        _ => "no translation registers".into(),
    }
}

/// An address as the slides write it: hex (`0x1010`), decimal under
/// `--decimal` ([`crate::addr::hex`]).
fn addr(v: u64) -> String {
    crate::addr::hex(v)
}

/// A value read or stored: small ones (the slides' markers such as 7 or
/// 99, below 256) as they are, others like addresses, in hex (a value
/// read may be an address: the word at 0x1010 holds 0x1500).
fn value(v: u64) -> String {
    if v < 256 { v.to_string() } else { addr(v) }
}

impl Narrator {
    fn name(&self, pid: Pid) -> String {
        self.names
            .get(&pid)
            .cloned()
            .unwrap_or_else(|| format!("pid {pid}"))
    }

    fn access(&self, verb: &str, r: &AccessRecord, s: &mut String) {
        let who = self.name(r.pid);
        let mut line = format!("  {who}: {verb} {}", addr(r.va));
        if let (Some(seg), Some(off)) = (r.segment, r.offset) {
            let down = self
                .grows_down
                .get(&r.pid)
                .filter(|(_, d)| d.get(seg as usize).copied().unwrap_or(false));
            match down {
                // A segment growing down: base is its top, and the offset
                // counts back from the largest segment size.
                Some((bits, _)) => {
                    let max = 1u128 << bits;
                    let _ = write!(
                        line,
                        " (segment {seg}, offset {off:#x}: negative offset {off:#x} - {max:#x} = -{:#x})",
                        max.saturating_sub(u128::from(off))
                    );
                }
                None => {
                    let _ = write!(line, " (segment {seg}, offset {off:#x})");
                }
            }
        }
        if r.region != "none" {
            let _ = write!(line, " [{}]", r.region);
        }
        match r.tlb {
            Some("hit") => line.push_str(" TLB hit"),
            Some(_) => line.push_str(" TLB miss -> walk"),
            None => {}
        }
        match (r.pa, r.fault) {
            (Some(pa), _) => {
                let _ = write!(line, " -> PA {}", addr(pa));
                if let Some(v) = r.value {
                    let _ = write!(
                        line,
                        ", {} {}",
                        if verb == "store" { "wrote" } else { "read" },
                        value(v)
                    );
                }
            }
            (_, Some(f)) => {
                let _ = write!(line, " -> FAULT ({f})");
            }
            _ => {}
        }
        let _ = writeln!(s, "{line}");
    }

    /// The one-line form of a context switch (brief narration); `None` for
    /// the events it leaves out.
    fn brief(&self, e: &Event) -> Option<Option<String>> {
        match e {
            Event::Trap {
                cause: "timer-interrupt",
                ..
            }
            | Event::Mode { .. } => Some(None),
            Event::ContextSwitch {
                from,
                to,
                step,
                registers,
                ..
            } => {
                let new = self.name(*to);
                let old = from.map(|p| self.name(p));
                let head = match &old {
                    Some(o) => format!("  context switch {o} -> {new}"),
                    None => format!("  dispatch {new}"),
                };
                Some(match (*step, registers) {
                    ("load-mmu", Some(r)) => Some(format!("{head}: MMU loaded with {}", regs(r))),
                    ("skip-mmu-reload", Some(r)) => Some(format!(
                        "{head}: BUG: MMU not reloaded, still {} ({})",
                        self.holder(*to),
                        regs(r)
                    )),
                    ("restore-registers", Some(_)) | ("restore-registers", None)
                        if registers.is_none() && !self.dynamic =>
                    {
                        Some(head)
                    }
                    _ => None,
                })
            }
            _ => None,
        }
    }

    /// Whose values the MMU holds, as seen by `to`, the process now on
    /// the CPU after a forgotten reload: `P1's` or `P1's own values,
    /// loaded when P1 last ran`.
    fn holder(&self, to: Pid) -> String {
        match self.mmu_from {
            Some(p) if p == to => format!(
                "{}'s own values, loaded when {} last ran",
                self.name(p),
                self.name(p)
            ),
            Some(p) => format!("{}'s", self.name(p)),
            None => "no process's".into(),
        }
    }

    fn event(&mut self, e: &Event, s: &mut String) {
        if let Event::Machine { strategy, .. } = e {
            self.dynamic = matches!(
                *strategy,
                "base" | "base-bounds" | "segmentation" | "paging"
            );
        }
        if let Event::ContextSwitch {
            to,
            step: "load-mmu",
            ..
        } = e
        {
            self.mmu_from = Some(*to);
        }
        if !self.switch_steps {
            if let Some(line) = self.brief(e) {
                if let Some(l) = line {
                    let _ = writeln!(s, "{l}");
                }
                return;
            }
        }
        let _ = match e {
            Event::Note { text } => writeln!(s, "\n{text}"),
            Event::Machine {
                strategy,
                memory,
                os_size,
                placement,
            } => {
                let os = if *os_size == 0 {
                    "no OS region (the OS's own memory is left out)".to_string()
                } else {
                    format!("OS region [0, {os_size:#x})")
                };
                writeln!(
                    s,
                    "Machine: {memory} bytes of physical memory, {os}, strategy {strategy}, placement {placement}"
                )
            }
            Event::Spawn {
                pid,
                name,
                size,
                blocks,
                registers,
                offset_bits,
                on_disk_while,
                ..
            } => {
                self.names.insert(*pid, name.clone());
                if let Some(bits) = offset_bits.filter(|&b| b < 128) {
                    let down = registers.segments.iter().map(|s| s.grows_down).collect();
                    self.grows_down.insert(*pid, (bits, down));
                }
                let placed: Vec<String> = blocks
                    .iter()
                    .map(|b| format!("{} at PA [{:#x}, {:#x})", b.what, b.start, b.start + b.size))
                    .collect();
                let paged = registers.satp.is_some() || registers.page_directory.is_some();
                let placed = if placed.is_empty() && paged {
                    "its pages go to frames one by one (a page table, no contiguous block)"
                        .to_string()
                } else {
                    placed.join(", ")
                };
                let _ = if let Some(owner) = on_disk_while {
                    let owner = self.name(*owner);
                    writeln!(
                        s,
                        "  loader: {name} (pid {pid}), address space of {size} bytes: starts on disk ({owner} owns memory); swapped in when it runs: {placed}"
                    )
                } else {
                    writeln!(
                        s,
                        "  loader: {name} (pid {pid}), address space of {size} bytes: {placed}"
                    )
                };
                if registers.mechanism != "identity" {
                    writeln!(s, "          PCB of {name} holds {}", regs(registers))
                } else {
                    Ok(())
                }
            }
            Event::LoadFailed {
                name,
                needed,
                free_total,
                largest_hole,
                reason,
            } => writeln!(
                s,
                "  loader: cannot load {name} ({needed} bytes): {reason} [free {free_total}, largest hole {largest_hole}]"
            ),
            Event::Relocate {
                pid,
                from,
                to,
                what,
            } => writeln!(
                s,
                "  loader: {} rewrites {from:#x} -> {to:#x} ({what})",
                self.name(*pid)
            ),
            Event::Fetch(r) => {
                self.access("fetch", r, s);
                Ok(())
            }
            Event::Load(r) => {
                self.access("load", r, s);
                Ok(())
            }
            Event::Store(r) => {
                self.access("store", r, s);
                Ok(())
            }
            Event::Violation {
                pid,
                pa,
                access,
                owner,
                owner_va,
                ..
            } => {
                let who = self.name(*pid);
                let did = match *access {
                    "write" => "wrote into",
                    "read" => "read",
                    _ => "fetched from",
                };
                match owner {
                    Owner::Os => writeln!(
                        s,
                        "  !! {who} {did} the OS's memory at PA {pa:#x}: {}",
                        if *access == "write" {
                            "the OS is corrupted"
                        } else {
                            "nothing protects the OS"
                        }
                    ),
                    Owner::Process(other) => writeln!(
                        s,
                        "  !! PA {pa:#x} belongs to {}{}: {who} {did} {}'s memory{}",
                        self.name(*other),
                        owner_va
                            .map(|v| format!(" (its address {})", addr(v)))
                            .unwrap_or_default(),
                        self.name(*other),
                        if *access == "write" {
                            format!(" -- {who} has corrupted {}", self.name(*other))
                        } else {
                            String::new()
                        }
                    ),
                    Owner::Free => writeln!(s, "  !! {who} {did} free memory at PA {pa:#x}"),
                }
            }
            Event::Trap { pid, cause, detail } => {
                let who = pid.map(|p| self.name(p)).unwrap_or_else(|| "-".into());
                let what = match *cause {
                    "timer-interrupt" => "timer interrupt".to_string(),
                    "syscall" => format!("system call {detail}"),
                    "fault" => format!("fault: {detail}"),
                    "privileged" => format!("privileged operation, {detail}"),
                    c => format!("{c}: {detail}"),
                };
                writeln!(s, "  trap ({who}): {what} -> the OS runs in kernel mode")
            }
            Event::Mode { mode } => {
                if *mode == "user" {
                    writeln!(s, "  return from trap -> user mode")
                } else {
                    Ok(())
                }
            }
            Event::ContextSwitch {
                from,
                to,
                step,
                registers,
                ..
            } => {
                let old = from.map(|p| self.name(p)).unwrap_or_else(|| "-".into());
                let new = self.name(*to);
                let r = registers.as_ref().map(regs).unwrap_or_default();
                let head = if from.is_some() {
                    format!("switch {old} -> {new}")
                } else {
                    format!("dispatch {new}")
                };
                match *step {
                    "save-registers" => {
                        writeln!(
                            s,
                            "  {head}: save {old}'s registers (pc, sp, ...) into its PCB"
                        )
                    }
                    "save-mmu" => {
                        writeln!(s, "  {head}: save the MMU registers ({r}) into {old}'s PCB")
                    }
                    "load-mmu" => writeln!(
                        s,
                        "  {head}: load {new}'s MMU registers ({r}) from its PCB (privileged)"
                    ),
                    "skip-mmu-reload" => writeln!(
                        s,
                        "  {head}: BUG: the kernel forgets to load {new}'s MMU registers; the MMU still holds {} ({r})",
                        self.holder(*to)
                    ),
                    "restore-registers" => {
                        writeln!(s, "  {head}: restore {new}'s registers from its PCB")
                    }
                    "flush-tlb" => writeln!(
                        s,
                        "  {head}: no ASIDs: flush the TLB (its entries translate {old}'s addresses)"
                    ),
                    "keep-tlb" => writeln!(
                        s,
                        "  {head}: the TLB keeps its entries: each is tagged with its ASID, so {old}'s cannot match {new}'s addresses"
                    ),
                    other => writeln!(s, "  {head}: {other}"),
                }
            }
            Event::Summary { title, lines } => {
                let _ = writeln!(s, "\n{title}");
                for l in lines {
                    let _ = writeln!(s, "  {l}");
                }
                Ok(())
            }
            Event::PcbOverwritten {
                pid,
                owner,
                was,
                now,
            } => {
                let who = self.name(*pid);
                let owner = self.name(*owner);
                writeln!(
                    s,
                    "  BUG: those were {owner}'s values: {who}'s PCB held {} and now holds {owner}'s {}; from now on {who} runs on {owner}'s memory even after a correct reload",
                    regs(was),
                    regs(now)
                )
            }
            Event::Swap {
                pid,
                direction,
                bytes,
            } => {
                let who = self.name(*pid);
                if *direction == "out" {
                    writeln!(
                        s,
                        "  swap out {who}: its whole address space ({bytes} bytes) written to disk"
                    )
                } else {
                    writeln!(s, "  swap in {who}: {bytes} bytes read back from disk")
                }
            }
            Event::Syscall {
                pid,
                name,
                number,
                args,
                result,
                error,
            } => {
                let a: Vec<String> = args.iter().map(|a| (*a as i64).to_string()).collect();
                let r = match (result, error) {
                    (Some(v), None) => format!(" = {}", addr(*v)),
                    (Some(v), Some(e)) => format!(" = {} ({e})", addr(*v)),
                    (None, Some(e)) => format!(" = -1 ({e})"),
                    (None, None) => String::new(),
                };
                writeln!(
                    s,
                    "  {}: {name}({}) [syscall {number}]{r}",
                    self.name(*pid),
                    a.join(", ")
                )
            }
            Event::Output { pid, text } => {
                writeln!(s, "  {} writes to the console: {text}", self.name(*pid))
            }
            Event::Alloc { pid, block } => writeln!(
                s,
                "  OS gives {} a {} block at PA [{:#x}, {:#x})",
                self.name(*pid),
                block.what,
                block.start,
                block.start + block.size
            ),
            Event::Free { pid, block } => writeln!(
                s,
                "  OS frees {}'s {} at PA [{:#x}, {:#x})",
                self.name(*pid),
                block.what,
                block.start,
                block.start + block.size
            ),
            Event::Grow {
                pid,
                region,
                old_size,
                new_size,
                how,
            } => {
                let how = match *how {
                    "in-place" => "in place",
                    "moved" => "after moving it",
                    "paged" => {
                        "(whole pages mapped or unmapped, as xv6's uvmalloc and uvmdealloc do)"
                    }
                    "lazily" => "(demand paging: the new pages come on first touch)",
                    "implicit" => {
                        "implicitly, on the fault: the OS recognized a reference just below the stack"
                    }
                    h => h,
                };
                writeln!(
                    s,
                    "  {}'s {region} {} from {old_size} to {new_size} bytes {how}",
                    self.name(*pid),
                    if new_size >= old_size {
                        "grows"
                    } else {
                        "shrinks"
                    }
                )
            }
            Event::Move {
                pid,
                what,
                from,
                to,
                bytes,
            } => writeln!(
                s,
                "  OS moves {}'s {what} from PA {from:#x} to {to:#x} ({bytes} bytes copied) and updates its registers",
                self.name(*pid)
            ),
            Event::Refused { operation, reason } => {
                writeln!(s, "  refused: {operation}: {reason}")
            }
            Event::Kill { pid, reason } => {
                writeln!(s, "  OS kills {}: {reason}", self.name(*pid))
            }
            Event::Exit { pid, status } => {
                writeln!(s, "  {} exits with status {status}", self.name(*pid))
            }
            Event::MemoryMap {
                entries,
                free_total,
                largest_hole: _,
                internal_fragmentation: Some(frag),
            } => {
                let _ = writeln!(s, "  physical memory (frames):");
                for m in entries {
                    let _ = writeln!(
                        s,
                        "    [{:#07x}, {:#07x})  {:>6}  {}",
                        m.start,
                        m.start + m.size,
                        m.size,
                        m.owner
                    );
                }
                writeln!(
                    s,
                    "    free {free_total} bytes in frames anywhere (no external fragmentation); internal fragmentation {frag} bytes (unused ends of pages)"
                )
            }
            Event::TablePage {
                pid,
                frame,
                pa,
                bytes,
            } => writeln!(
                s,
                "  OS takes frame {frame} (PA {pa:#x}, {bytes} bytes) for a page table of {}",
                self.name(*pid)
            ),
            Event::MapPage {
                pid,
                va,
                frame,
                pa,
                perms,
                shared,
            } => writeln!(
                s,
                "  map {}'s page at VA {va:#x} -> frame {frame} (PA {pa:#x}) {perms}{}",
                self.name(*pid),
                if *shared {
                    " (shared: the same program's read-only code)"
                } else {
                    ""
                }
            ),
            Event::UnmapPage { pid, va, frame } => writeln!(
                s,
                "  unmap {}'s page at VA {va:#x}: frame {frame} is free",
                self.name(*pid)
            ),
            Event::PageIn {
                pid,
                va,
                frame,
                pa,
                from,
            } => writeln!(
                s,
                "  page fault: {}'s page at VA {va:#x} is not in memory -> {} into frame {frame} (PA {pa:#x}), map it, retry",
                self.name(*pid),
                if *from == "swap" {
                    "read from swap (a disk read)"
                } else {
                    "a frame of zeros (never written: no disk read)"
                }
            ),
            Event::PageOut {
                pid,
                va,
                frame,
                policy,
                written_back,
                hand,
            } => writeln!(
                s,
                "  no free frame: {policy} evicts {}'s page at VA {va:#x} from frame {frame}{}{}",
                self.name(*pid),
                if *written_back {
                    " (dirty: written back to swap)"
                } else {
                    " (clean: no write)"
                },
                hand.map(|h| format!("; the clock hand moves on to frame {h}"))
                    .unwrap_or_default()
            ),
            Event::PagingSummary {
                table,
                page_table_bytes,
                policy,
                page_size,
                frames,
                references,
                page_faults,
                fault_rate,
                evictions,
                writebacks,
                disk_reads,
                zero_fills,
                internal_fragmentation,
            } => writeln!(
                s,
                "  paging ({table}, {page_size}-byte pages, {frames} frames, {}): {} to pages, {} (fault rate {:.1}%: {disk_reads} from swap, {zero_fills} zero-filled), {}, {} written back; internal fragmentation {internal_fragmentation} bytes; page tables {page_table_bytes} bytes",
                if *policy == "none" {
                    "no swap".to_string()
                } else {
                    format!("{policy} replacement")
                },
                counted(*references, "reference", "references"),
                counted(*page_faults, "page fault", "page faults"),
                fault_rate * 100.0,
                counted(*evictions, "eviction", "evictions"),
                counted(*writebacks, "page", "pages"),
            ),
            Event::TlbSummary {
                entries,
                ways,
                policy,
                tagging,
                hits,
                misses,
                flushes,
                hit_rate,
                walks,
                ..
            } => writeln!(
                s,
                "  TLB ({entries} entries, {}, {policy}, {}): {hits} hits, {misses} misses (hit rate {:.1}%), {}, {}",
                if ways == entries {
                    "fully associative".to_string()
                } else if *ways == 1 {
                    "direct-mapped".to_string()
                } else {
                    format!("{ways}-way")
                },
                if *tagging == "asid" {
                    "ASID-tagged"
                } else {
                    "flushed at each switch"
                },
                hit_rate * 100.0,
                counted(*flushes, "flush", "flushes"),
                counted(*walks, "page-table walk", "page-table walks"),
            ),
            Event::TlbCompare {
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
            } => {
                let name = |t: &str| {
                    if t == "asid" {
                        "with ASIDs"
                    } else {
                        "without ASIDs (flush at each switch)"
                    }
                };
                writeln!(
                    s,
                    "  the same workload's TLB: {} {misses} misses (hit rate {:.1}%, {}, {}), {} {other_misses} misses (hit rate {:.1}%, {}, {})",
                    name(tagging),
                    hit_rate * 100.0,
                    counted(*flushes, "flush", "flushes"),
                    human_ns(*total_ns),
                    name(other_tagging),
                    other_hit_rate * 100.0,
                    counted(*other_flushes, "flush", "flushes"),
                    human_ns(*other_total_ns),
                )
            }
            Event::TableCompare {
                table,
                page_table_bytes,
                other_table,
                other_page_table_bytes,
            } => writeln!(
                s,
                "  the same processes' page tables: {table} {page_table_bytes} bytes, {other_table} {other_page_table_bytes} bytes"
            ),
            Event::FramesCompare {
                policy,
                frames,
                page_faults,
                other_frames,
                other_page_faults,
            } => writeln!(
                s,
                "  the same references under {policy}: {frames} frames {}, {other_frames} frames {}{}",
                counted(*page_faults, "page fault", "page faults"),
                counted(*other_page_faults, "page fault", "page faults"),
                if (other_frames > frames) == (other_page_faults > page_faults)
                    && other_page_faults != page_faults
                {
                    " -- more frames, more faults: Belady's anomaly"
                } else {
                    ""
                }
            ),
            Event::MemoryMap {
                entries,
                free_total,
                largest_hole,
                ..
            } => {
                let _ = writeln!(s, "  physical memory:");
                for m in entries {
                    let _ = writeln!(
                        s,
                        "    [{:#07x}, {:#07x})  {:>6}  {}",
                        m.start,
                        m.start + m.size,
                        m.size,
                        m.owner
                    );
                }
                writeln!(
                    s,
                    "    free {free_total} bytes in total, largest hole {largest_hole}"
                )
            }
            Event::CostTable {
                levels,
                served_by,
                disk_latency_ns,
                disk_bytes_per_sec,
            } => {
                let _ = writeln!(s, "  level  size     latency");
                for l in levels {
                    let lat = if l.name == "CPU" {
                        format!("< {}", human_ns(l.latency_ns))
                    } else {
                        human_ns(l.latency_ns)
                    };
                    let _ = writeln!(s, "  {:<6} {:<8} {lat}", l.name, l.size);
                }
                writeln!(
                    s,
                    "  disk   -        {} + bytes / {:.0} MB/s   (vmlab's figure, not the lecture's)\n  (memory accesses are charged at {served_by}; a refused access, a fault, is not charged)",
                    human_ns(*disk_latency_ns),
                    disk_bytes_per_sec / 1e6
                )
            }
            Event::ProcessSummary {
                pid,
                name,
                state,
                instructions,
                accesses,
                faults,
            } => writeln!(
                s,
                "  {name} (pid {pid}): {state}; {}, {}, {}",
                counted(*instructions, "instruction", "instructions"),
                counted(*accesses, "memory access", "memory accesses"),
                counted(*faults, "fault", "faults"),
            ),
            Event::Compare {
                strategy,
                total_ns,
                other,
                other_total_ns,
                ratio,
                other_load_failures,
                ..
            } => {
                if *other_load_failures > 0 {
                    let _ = writeln!(
                        s,
                        "  the same workload under {other}: {} could not be loaded",
                        counted(*other_load_failures, "process", "processes")
                    );
                }
                let verdict = if *ratio >= 1.0 || *ratio <= 0.0 {
                    format!("{strategy} is {ratio:.0}x slower")
                } else {
                    format!("{strategy} is {:.0}x faster", 1.0 / ratio)
                };
                writeln!(
                    s,
                    "  the same workload: {strategy} {} vs {other} {}: {verdict}",
                    human_ns(*total_ns),
                    human_ns(*other_total_ns)
                )
            }
            Event::Cost {
                strategy,
                instructions,
                accesses,
                context_switches,
                disk_transfers,
                disk_bytes,
                copied_bytes,
                walk_reads,
                estimate,
                total_ns,
            } => {
                let _ = writeln!(
                    s,
                    "  cost ({strategy}): {}, {}, {}, {} to/from disk in {}, {} copied{}",
                    counted(*instructions, "instruction", "instructions"),
                    counted(*accesses, "memory access", "memory accesses"),
                    counted(*context_switches, "context switch", "context switches"),
                    counted(*disk_bytes, "byte", "bytes"),
                    counted(*disk_transfers, "transfer", "transfers"),
                    counted(*copied_bytes, "byte", "bytes"),
                    if *walk_reads > 0 {
                        format!(
                            ", {} read by page-table walks",
                            counted(*walk_reads, "entry", "entries")
                        )
                    } else {
                        String::new()
                    }
                );
                writeln!(
                    s,
                    "    estimated time {} = CPU {} + memory {} + disk {}{}",
                    human_ns(*total_ns),
                    human_ns(estimate.cpu_ns),
                    human_ns(estimate.memory_ns),
                    human_ns(estimate.disk_ns),
                    // The lecture's latency table has no disk: say whose
                    // figure it is when it counts.
                    if estimate.disk_ns > 0.0 {
                        " (the disk time is vmlab's own figure, not the lecture's table)"
                    } else {
                        ""
                    }
                )
            }
        };
    }
}
