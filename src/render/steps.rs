//! A scenario's run as numbered steps, each with its narration and the
//! pictures of the machine after it: what `vmlab scenario run --html` writes
//! and what the web page steps through.
//!
//! The run is the one `vmlab scenario run` makes ([`scenario::run`]); its
//! events are narrated by the same [`Narration`]. A step is one event that
//! narrates something, together with the silent events just before it
//! (the mode changes, the saves of a brief context switch), so that the
//! steps' narrations, joined, are exactly the run's narration.
//!
//! Pictures fold the events into a small picture state (blocks per process,
//! regions, PCB and MMU registers, residency), never re-running the
//! simulation. A copy of the state is kept every [`CHECKPOINT`] steps, so
//! that `pictures(i)` costs at most that many steps of folding plus the
//! drawing, whatever the length of the run.

use super::events::Narration;
use super::svg::{address_space, context_switch, cost, frames, memory_map, tlb, translation};
use crate::addr::VirtAddr;
use crate::kernel::event::{AccessRecord, Event, Pid, RegistersView};
use crate::mmu::{Access, AnyMmu, Base, BaseBounds, Identity, Mmu, Perms, Segment, Segmentation};
use crate::scenario::{self, Scenario};
use std::collections::BTreeMap;

/// Steps between two kept copies of the picture state.
pub const CHECKPOINT: usize = 256;

/// A scenario's run as numbered steps, with pictures after any step.
pub struct Stepper {
    title: String,
    events: Vec<Event>,
    /// Step `i` covers `events[bounds[i]..bounds[i + 1]]`.
    bounds: Vec<usize>,
    narrations: Vec<String>,
    kinds: Vec<&'static str>,
    first_fault: Option<usize>,
    /// `checkpoints[k]`: the state before step `k * interval`.
    checkpoints: Vec<State>,
    interval: usize,
    costs: Vec<cost::Bar>,
}

/// The pictures of the machine after one step (SVG documents).
#[derive(Clone, Debug)]
pub struct Pictures {
    /// Physical memory: the OS's region, each process's pieces, the holes
    /// with their sizes, the largest hole and the external fragmentation.
    pub memory_map: String,
    /// The virtual address spaces of the live processes (the current one
    /// marked `running`).
    pub address_space: String,
    /// When the step is an access (or the trap of its fault): its
    /// translation.
    pub translation: Option<String>,
    /// When the step is part of a context switch: the PCBs and the MMU
    /// registers, the save and the load.
    pub context_switch: Option<String>,
    /// When the run has a cost estimate: the time split into CPU, memory
    /// and disk.
    pub cost: Option<String>,
    /// Paging with a TLB, once the run's summary told: the TLB's contents.
    pub tlb: Option<String>,
}

impl Stepper {
    /// Runs the scenario with the same code as `vmlab scenario run`
    /// ([`scenario::run`], the collected form of its event stream) and keeps
    /// its events as steps. Err: the message the CLI would print (the
    /// machine cannot boot, or the run passes `machine.max_events`).
    pub fn from_scenario(sc: &Scenario) -> Result<Stepper, String> {
        let events = scenario::run(sc)?;
        if events.is_empty() {
            // `run` returns nothing only when the machine cannot boot:
            // ask for the reason.
            return Err(match scenario::run_kernel(sc) {
                Err(e) => e,
                Ok(_) => "the scenario produced no events".to_string(),
            });
        }
        Ok(Stepper::from_events(&sc.title, events, sc.switch_steps))
    }

    /// The steps of an event log (as [`scenario::run`] returns it), narrated
    /// with `switch_steps` as `vmlab scenario run` would.
    pub fn from_events(title: &str, events: Vec<Event>, switch_steps: bool) -> Stepper {
        Stepper::build(title, events, switch_steps, CHECKPOINT)
    }

    fn build(title: &str, events: Vec<Event>, switch_steps: bool, interval: usize) -> Stepper {
        let mut narrator = Narration::new(switch_steps);
        let mut bounds = vec![0];
        let mut narrations = Vec::new();
        let mut kinds = Vec::new();
        for (i, e) in events.iter().enumerate() {
            let mut text = String::new();
            narrator.event(e, &mut text);
            if !text.is_empty() {
                narrations.push(text);
                kinds.push(kind(e));
                bounds.push(i + 1);
            }
        }
        if narrations.is_empty() {
            narrations.push(String::new());
            kinds.push(events.first().map_or("none", kind));
            bounds.push(events.len());
        }
        // Silent events after the last narrating one belong to the last step.
        if let Some(last) = bounds.last_mut() {
            *last = events.len();
        }
        let mut st = Stepper {
            title: title.to_string(),
            events,
            bounds,
            narrations,
            kinds,
            first_fault: None,
            checkpoints: Vec::new(),
            interval: interval.max(1),
            costs: Vec::new(),
        };
        st.first_fault = (0..st.len()).find(|&i| st.span(i).iter().any(is_fault));
        st.costs = st
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Cost {
                    strategy, estimate, ..
                } => Some(cost::Bar {
                    strategy: strategy.to_string(),
                    cpu_ns: estimate.cpu_ns,
                    memory_ns: estimate.memory_ns,
                    disk_ns: estimate.disk_ns,
                }),
                _ => None,
            })
            .collect();
        // Fold once, keeping a copy every CHECKPOINT steps.
        let mut state = State::default();
        for i in 0..st.len() {
            if i % st.interval == 0 {
                st.checkpoints.push(state.clone());
            }
            for e in st.span(i) {
                state.apply(e);
            }
        }
        st
    }

    /// The scenario's title (the first line `scenario run` prints).
    pub fn title(&self) -> &str {
        &self.title
    }

    /// Number of steps (at least 1): one per event that narrates.
    pub fn len(&self) -> usize {
        self.narrations.len()
    }

    /// Never true: a run has at least one step.
    pub fn is_empty(&self) -> bool {
        self.narrations.is_empty()
    }

    /// Step `i`'s narration line(s), exactly as `vmlab scenario run` prints
    /// them (`i` clamped to the last step).
    pub fn narration(&self, i: usize) -> String {
        self.narrations[self.clamp(i)].clone()
    }

    /// The event kind of step `i` (`load`, `kill`, `context-switch`, ...),
    /// as the JSON `kind` field names it.
    pub fn kind(&self, i: usize) -> &'static str {
        self.kinds[self.clamp(i)]
    }

    /// The first step whose access faulted (or that traps on a fault, or
    /// kills a process).
    pub fn first_fault(&self) -> Option<usize> {
        self.first_fault
    }

    /// The events of step `i` (`i` clamped).
    pub fn events(&self, i: usize) -> &[Event] {
        self.span(self.clamp(i))
    }

    /// The pictures of the machine after step `i` (`i` clamped to the last
    /// step). Folds at most [`CHECKPOINT`] steps from the nearest copy of
    /// the state, then draws.
    pub fn pictures(&self, i: usize) -> Pictures {
        let i = self.clamp(i);
        let k = i / self.interval;
        let mut state = self.checkpoints[k].clone();
        for j in k * self.interval..i {
            for e in self.span(j) {
                state.apply(e);
            }
        }
        // The step itself: note its access and switch as they happen.
        let mut access = None;
        let mut switch = None;
        for e in self.span(i) {
            match e {
                Event::Fetch(r) | Event::Load(r) | Event::Store(r) => {
                    access = Some((r.clone(), state.mmu.clone()));
                }
                Event::Trap { cause, .. }
                    if matches!(*cause, "fault" | "privileged") && access.is_none() =>
                {
                    access = state.last_access.clone();
                }
                _ => {}
            }
            state.apply(e);
            if let Event::ContextSwitch { from, to, step, .. } = e {
                switch = Some(state.switch_view(*from, *to, step));
            }
        }
        Pictures {
            memory_map: state.frame_map().unwrap_or_else(|| state.memory_map()),
            tlb: state.tlb.as_ref().map(tlb::svg),
            address_space: state.address_spaces(),
            translation: access.map(|(r, mmu)| state.translation(&r, mmu)),
            context_switch: switch.map(|v| context_switch::svg(&v)),
            cost: (!self.costs.is_empty()).then(|| cost::svg(&self.costs)),
        }
    }

    /// The final state's pictures: address spaces and memory map in one
    /// SVG document (`vmlab scenario run --svg`).
    pub fn final_svg(&self) -> String {
        let p = self.pictures(self.len() - 1);
        match &p.tlb {
            Some(t) => combine(&[&p.address_space, &p.memory_map, t], &self.title, true),
            None => combine(&[&p.address_space, &p.memory_map], &self.title, true),
        }
    }

    fn clamp(&self, i: usize) -> usize {
        i.min(self.len() - 1)
    }

    fn span(&self, i: usize) -> &[Event] {
        &self.events[self.bounds[i]..self.bounds[i + 1]]
    }
}

/// Puts SVG documents made by [`super::svg::Svg`] into one, each as a
/// nested `<svg>`: side by side when `horizontal`, else one under another.
pub fn combine(parts: &[&str], title: &str, horizontal: bool) -> String {
    let mut body = String::new();
    let (mut x, mut y, mut width, mut height) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for p in parts {
        let (w, h) = size_of(p);
        // Nest the document at (x, y).
        let inner = p
            .trim_end()
            .replacen("<svg ", &format!("<svg x=\"{x}\" y=\"{y}\" "), 1);
        body.push_str(&inner);
        body.push('\n');
        width = width.max(x + w);
        height = height.max(y + h);
        if horizontal {
            x += w + 10.0;
        } else {
            y += h + 10.0;
        }
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\" role=\"img\">\n<title>{}</title>\n{body}</svg>\n",
        super::svg::esc(title)
    )
}

/// The `width` and `height` attributes of a document made by [`super::svg::Svg`].
fn size_of(svg: &str) -> (f64, f64) {
    let attr = |name: &str| {
        let key = format!(" {name}=\"");
        svg.find(&key)
            .and_then(|i| {
                let rest = &svg[i + key.len()..];
                rest[..rest.find('"')?].parse::<f64>().ok()
            })
            .unwrap_or(0.0)
    };
    (attr("width"), attr("height"))
}

/// The JSON `kind` of an event.
pub fn kind(e: &Event) -> &'static str {
    match e {
        Event::Note { .. } => "note",
        Event::Machine { .. } => "machine",
        Event::Spawn { .. } => "spawn",
        Event::LoadFailed { .. } => "load-failed",
        Event::Relocate { .. } => "relocate",
        Event::Fetch(_) => "fetch",
        Event::Load(_) => "load",
        Event::Store(_) => "store",
        Event::Violation { .. } => "violation",
        Event::Trap { .. } => "trap",
        Event::Mode { .. } => "mode",
        Event::ContextSwitch { .. } => "context-switch",
        Event::PcbOverwritten { .. } => "pcb-overwritten",
        Event::Summary { .. } => "summary",
        Event::Swap { .. } => "swap",
        Event::Syscall { .. } => "syscall",
        Event::Output { .. } => "output",
        Event::Alloc { .. } => "alloc",
        Event::Free { .. } => "free",
        Event::Grow { .. } => "grow",
        Event::Move { .. } => "move",
        Event::Refused { .. } => "refused",
        Event::Kill { .. } => "kill",
        Event::Exit { .. } => "exit",
        Event::MemoryMap { .. } => "memory-map",
        Event::TablePage { .. } => "table-page",
        Event::MapPage { .. } => "map-page",
        Event::UnmapPage { .. } => "unmap-page",
        Event::PageIn { .. } => "page-in",
        Event::PageOut { .. } => "page-out",
        Event::PagingSummary { .. } => "paging-summary",
        Event::FramesCompare { .. } => "frames-compare",
        Event::TlbSummary { .. } => "tlb-summary",
        Event::TlbCompare { .. } => "tlb-compare",
        Event::TableCompare { .. } => "table-compare",
        Event::CostTable { .. } => "cost-table",
        Event::ProcessSummary { .. } => "process-summary",
        Event::Compare { .. } => "compare",
        Event::Cost { .. } => "cost",
    }
}

/// Whether `e` is a fault: a faulting access, a trap on a fault or a
/// privileged operation, or a kill.
fn is_fault(e: &Event) -> bool {
    match e {
        Event::Fetch(r) | Event::Load(r) | Event::Store(r) => r.fault.is_some(),
        Event::Trap { cause, .. } => matches!(*cause, "fault" | "privileged"),
        Event::Kill { .. } => true,
        _ => false,
    }
}

/// What the pictures know of one process.
#[derive(Clone, Debug, Default)]
struct Proc {
    name: String,
    size: u128,
    /// Physical blocks: (what, start, size).
    blocks: Vec<(String, u64, u64)>,
    /// Virtual regions: (what, start, size).
    regions: Vec<(String, u64, u64)>,
    /// The MMU registers its PCB holds.
    pcb: Option<RegistersView>,
    offset_bits: Option<u32>,
    /// The stack pointer, as last saved or restored.
    sp: Option<u64>,
    /// `ready`, `running`, `killed`, `exited`.
    state: &'static str,
    /// Whether its memory is in physical memory (time sharing swaps out).
    resident: bool,
}

/// The machine as the pictures see it, folded from the events.
#[derive(Clone, Debug, Default)]
struct State {
    strategy: &'static str,
    memory: u64,
    os_size: u64,
    procs: BTreeMap<Pid, Proc>,
    current: Option<Pid>,
    /// The MMU's registers, and whose they are.
    mmu: Option<RegistersView>,
    mmu_owner: Option<Pid>,
    last_access: Option<(AccessRecord, Option<RegistersView>)>,
    /// Paging: who holds each frame, folded from the paging events.
    frames: BTreeMap<u64, Holder>,
    /// Paging: bytes per frame (0 until a paging event tells).
    frame_size: u64,
    /// Paging with a TLB: its contents as the run's summary left them.
    tlb: Option<tlb::TlbPicture>,
    /// Demand paging under CLOCK: the frame under the hand.
    clock_hand: Option<u64>,
}

/// Who holds a frame under paging.
#[derive(Clone, Debug)]
enum Holder {
    /// A page: the processes mapping it (several for shared code), its
    /// virtual address, its permissions (empty when paged in on demand).
    Page {
        pids: Vec<Pid>,
        va: u64,
        perms: String,
    },
    /// A page of a process's page table.
    Table(Pid),
}

impl State {
    fn apply(&mut self, e: &Event) {
        match e {
            Event::Machine {
                strategy,
                memory,
                os_size,
                ..
            } => {
                self.strategy = strategy;
                self.memory = *memory;
                self.os_size = *os_size;
            }
            Event::Spawn {
                pid,
                name,
                size,
                blocks,
                registers,
                regions,
                offset_bits,
                ..
            } => {
                // Under time sharing only the running process is in memory.
                let resident = self.strategy != "time-sharing"
                    || !self
                        .procs
                        .values()
                        .any(|p| p.resident && p.state != "killed" && p.state != "exited");
                self.procs.insert(
                    *pid,
                    Proc {
                        name: name.clone(),
                        size: *size,
                        blocks: blocks
                            .iter()
                            .map(|b| (b.what.clone(), b.start, b.size))
                            .collect(),
                        regions: virtual_regions(*size, blocks, registers, regions, *offset_bits),
                        pcb: Some(registers.clone()),
                        offset_bits: *offset_bits,
                        sp: None,
                        state: "ready",
                        resident,
                    },
                );
            }
            Event::Fetch(r) | Event::Load(r) | Event::Store(r) => {
                self.last_access = Some((r.clone(), self.mmu.clone()));
            }
            Event::ContextSwitch {
                from,
                to,
                step,
                registers,
                sp,
            } => {
                // The stack pointer as last saved or restored.
                let whose = if *step == "save-registers" {
                    *from
                } else {
                    Some(*to)
                };
                if let (Some(v), Some(p)) = (sp, whose.and_then(|w| self.procs.get_mut(&w))) {
                    p.sp = Some(*v);
                }
                match *step {
                    "save-mmu" => {
                        if let Some(p) = from.and_then(|f| self.procs.get_mut(&f)) {
                            p.pcb = registers.clone();
                        }
                    }
                    "load-mmu" => {
                        self.mmu = registers.clone();
                        self.mmu_owner = Some(*to);
                    }
                    "skip-mmu-reload" if registers.is_some() => {
                        self.mmu = registers.clone();
                    }
                    _ => {}
                }
                if let Some(f) = from.and_then(|f| self.procs.get_mut(&f))
                    && f.state == "running"
                {
                    f.state = "ready";
                }
                if let Some(p) = self.procs.get_mut(to) {
                    p.state = "running";
                }
                self.current = Some(*to);
                self.last_access = None;
            }
            Event::Swap { pid, direction, .. } => {
                if let Some(p) = self.procs.get_mut(pid) {
                    p.resident = *direction == "in";
                }
            }
            Event::Alloc { pid, block } => {
                if let Some(p) = self.procs.get_mut(pid) {
                    p.blocks.push((block.what.clone(), block.start, block.size));
                }
            }
            Event::Free { pid, block } => {
                if let Some(p) = self.procs.get_mut(pid)
                    && let Some(k) = p
                        .blocks
                        .iter()
                        .position(|b| b.1 == block.start && b.2 == block.size)
                        .or_else(|| p.blocks.iter().position(|b| b.1 == block.start))
                {
                    p.blocks.remove(k);
                }
            }
            Event::Move { pid, from, to, .. } => {
                if let Some(p) = self.procs.get_mut(pid) {
                    for b in p.blocks.iter_mut().filter(|b| b.1 == *from) {
                        b.1 = *to;
                    }
                    // The OS updates the PCB's registers (and the MMU's, when
                    // the process runs) to the new place.
                    let shift = |r: &mut RegistersView| {
                        if r.base == Some(*from) {
                            r.base = Some(*to);
                        }
                        for s in r.segments.iter_mut().filter(|s| s.base == *from) {
                            s.base = *to;
                        }
                    };
                    if let Some(r) = p.pcb.as_mut() {
                        shift(r);
                    }
                    if self.mmu_owner == Some(*pid)
                        && let Some(r) = self.mmu.as_mut()
                    {
                        shift(r);
                    }
                }
            }
            Event::Grow {
                pid,
                region,
                new_size,
                ..
            } => {
                if let Some(p) = self.procs.get_mut(pid)
                    && let Some(r) = p.regions.iter_mut().find(|r| r.0 == *region)
                {
                    // Heaps grow up from their start; stacks grow down from
                    // their top.
                    if *region == "stack" {
                        let top = r.1.saturating_add(r.2);
                        r.1 = top.saturating_sub(*new_size);
                    }
                    r.2 = *new_size;
                }
            }
            Event::Kill { pid, .. } => {
                if let Some(p) = self.procs.get_mut(pid) {
                    p.state = "killed";
                }
                self.release_frames(*pid);
            }
            Event::Exit { pid, .. } => {
                if let Some(p) = self.procs.get_mut(pid) {
                    p.state = "exited";
                }
                self.release_frames(*pid);
            }
            Event::TablePage {
                pid,
                frame,
                pa,
                bytes,
            } => {
                self.learn_frame_size(*frame, *pa);
                let n = if self.frame_size > 0 {
                    bytes.div_ceil(self.frame_size).max(1)
                } else {
                    1
                };
                for f in *frame..frame.saturating_add(n) {
                    self.frames.insert(f, Holder::Table(*pid));
                }
            }
            Event::MapPage {
                pid,
                va,
                frame,
                pa,
                perms,
                ..
            } => {
                self.learn_frame_size(*frame, *pa);
                match self.frames.get_mut(frame) {
                    Some(Holder::Page { pids, .. }) if !pids.contains(pid) => pids.push(*pid),
                    _ => {
                        self.frames.insert(
                            *frame,
                            Holder::Page {
                                pids: vec![*pid],
                                va: *va,
                                perms: perms.clone(),
                            },
                        );
                    }
                }
            }
            Event::PageIn {
                pid, va, frame, pa, ..
            } => {
                self.learn_frame_size(*frame, *pa);
                self.frames.insert(
                    *frame,
                    Holder::Page {
                        pids: vec![*pid],
                        va: *va,
                        perms: String::new(),
                    },
                );
            }
            Event::TlbSummary {
                entries,
                ways,
                policy,
                tagging,
                hits,
                misses,
                contents,
                ..
            } => {
                let shape = if ways == entries {
                    "fully associative".to_string()
                } else if *ways == 1 {
                    "direct-mapped".to_string()
                } else {
                    format!("{ways}-way")
                };
                self.tlb = Some(tlb::TlbPicture {
                    heading: format!(
                        "{entries} entries, {shape}, {policy}, {}: {hits} hits, {misses} misses",
                        if *tagging == "asid" {
                            "ASID-tagged"
                        } else {
                            "flushed at each switch"
                        }
                    ),
                    sets: entries / (*ways).max(1),
                    ways: *ways,
                    tagged: *tagging == "asid",
                    slots: contents.clone(),
                });
            }
            Event::UnmapPage { pid, frame, .. } => self.drop_frame(*frame, *pid),
            Event::PageOut {
                pid, frame, hand, ..
            } => {
                self.drop_frame(*frame, *pid);
                self.clock_hand = *hand;
            }
            _ => {}
        }
    }

    /// Learns the frame size from a frame number and its address.
    fn learn_frame_size(&mut self, frame: u64, pa: u64) {
        if self.frame_size == 0 && frame > 0 && pa % frame == 0 {
            self.frame_size = pa / frame;
        }
    }

    /// `pid` no longer maps `frame`: free unless another process shares it.
    fn drop_frame(&mut self, frame: u64, pid: Pid) {
        let empty = match self.frames.get_mut(&frame) {
            Some(Holder::Page { pids, .. }) => {
                pids.retain(|p| *p != pid);
                pids.is_empty()
            }
            Some(Holder::Table(_)) | None => true,
        };
        if empty {
            self.frames.remove(&frame);
        }
    }

    /// A process ended: its pages and page tables are freed (shared code
    /// stays while another process maps it).
    fn release_frames(&mut self, pid: Pid) {
        let frames: Vec<u64> = self.frames.keys().copied().collect();
        for f in frames {
            let mine = match &self.frames[&f] {
                Holder::Page { pids, .. } => pids.contains(&pid),
                Holder::Table(p) => *p == pid,
            };
            if mine {
                self.drop_frame(f, pid);
            }
        }
    }

    /// The frame map, under paging (once a paging event told the frame
    /// size): there the physical memory picture is the frames, each one a
    /// process's page, a page table, the OS's or free.
    fn frame_map(&self) -> Option<String> {
        if self.strategy != "paging" || self.frame_size == 0 {
            return None;
        }
        // Coloured by pid, as the address spaces and the memory map are.
        let index = |pid: &Pid| {
            let i = *pid as usize;
            let name = self
                .procs
                .get(pid)
                .map_or_else(|| format!("pid {pid}"), |p| p.name.clone());
            (i, name)
        };
        // The OS's region, less the frames it lends to page tables.
        let os = self.os_size.div_ceil(self.frame_size);
        let mut used: Vec<(u64, frames::FrameUse)> = (0..os)
            .filter(|f| !self.frames.contains_key(f))
            .map(|f| (f, frames::FrameUse::Os))
            .collect();
        for (f, h) in &self.frames {
            let u = match h {
                Holder::Page { pids, va, perms } => frames::FrameUse::Page {
                    owners: pids.iter().map(index).collect(),
                    va: *va,
                    perms: perms.clone(),
                },
                Holder::Table(pid) => frames::FrameUse::Table { owner: index(pid) },
            };
            used.push((*f, u));
        }
        Some(frames::svg(&frames::FrameMap {
            frame_size: self.frame_size,
            frames: self.memory / self.frame_size,
            used,
            hand: self.clock_hand,
        }))
    }

    fn memory_map(&self) -> String {
        let mut pieces = Vec::new();
        let mut notes = Vec::new();
        for (pid, p) in &self.procs {
            if !p.resident {
                let bytes: u64 = p.blocks.iter().map(|b| b.2).sum();
                notes.push(format!("{} is swapped out to disk ({bytes} bytes)", p.name));
                continue;
            }
            for (what, start, size) in &p.blocks {
                pieces.push(memory_map::Piece {
                    pid: *pid,
                    process: p.name.clone(),
                    region: what.clone(),
                    start: *start,
                    size: *size,
                });
            }
        }
        memory_map::svg(self.memory, self.os_size, &pieces, &notes)
    }

    fn address_spaces(&self) -> String {
        // The live processes; when none is left, every process as it ended.
        let any_live = self
            .procs
            .values()
            .any(|p| p.state == "ready" || p.state == "running");
        let spaces: Vec<address_space::Space> = self
            .procs
            .iter()
            .filter(|(_, p)| !any_live || p.state == "ready" || p.state == "running")
            .map(|(pid, p)| address_space::Space {
                pid: *pid,
                process: p.name.clone(),
                size: p.size,
                regions: if p.regions.is_empty() {
                    // No layout: the segments (or the image) are the regions.
                    Vec::new()
                } else {
                    p.regions
                        .iter()
                        .map(|(what, start, size)| address_space::Region {
                            what: what.clone(),
                            start: *start,
                            size: *size,
                        })
                        .collect()
                },
                sp: p.sp,
                state: if !p.resident {
                    "swapped out".into()
                } else {
                    p.state.to_string()
                },
            })
            .collect();
        address_space::svg(&spaces)
    }

    fn switch_view(&self, from: Option<Pid>, to: Pid, step: &str) -> context_switch::View {
        let name = |p: Pid| {
            self.procs
                .get(&p)
                .map_or_else(|| format!("pid {p}"), |q| q.name.clone())
        };
        let pcb = |p: Pid| self.procs.get(&p).and_then(|q| q.pcb.clone());
        context_switch::View {
            from: from.map(|f| (name(f), pcb(f))),
            to: (name(to), pcb(to)),
            mmu: self.mmu.clone(),
            step: step.to_string(),
            stale: step == "skip-mmu-reload"
                || (self.mmu_owner.is_some()
                    && self.mmu_owner != Some(to)
                    && step == "restore-registers"),
        }
    }

    /// The translation picture of access `r`, made with the MMU registers
    /// it ran under: the same MMU code explains it, and when its answer
    /// differs from the run's (a mechanism the registers cannot rebuild),
    /// only the run's outcome is drawn.
    fn translation(&self, r: &AccessRecord, mmu: Option<RegistersView>) -> String {
        let who = self.procs.get(&r.pid).map(|p| p.name.clone());
        let offset_bits = self.procs.get(&r.pid).and_then(|p| p.offset_bits);
        let explained = mmu
            .as_ref()
            .and_then(|regs| rebuild(regs, self.memory, offset_bits))
            .and_then(|m| {
                let access: Access = r.access.parse().ok()?;
                let t = m.explain(
                    crate::memory::PhysicalMemory::empty(),
                    VirtAddr::new(r.va),
                    access,
                );
                let same = match (&t.result, r.pa) {
                    (Ok(pa), Some(want)) => pa.as_u64() == want,
                    (Err(f), None) => Some(f.kind.name()) == r.fault,
                    _ => false,
                };
                same.then_some(t)
            });
        let view = match explained {
            Some(t) => translation::View::of(&t, who, mmu, self.memory),
            None => translation::View {
                who,
                va: r.va,
                access: r.access.to_string(),
                steps: Vec::new(),
                lines: Vec::new(),
                pa: r.pa,
                fault: r.fault.map(str::to_string),
                registers: mmu,
                phys_size: self.memory,
            },
        };
        translation::svg(&[view])
    }
}

/// A process's virtual regions for the address-space picture: its layout's
/// regions when it has any; else, under a given segment table, each segment
/// in use at its place in the address space (named after the block it
/// maps); else the whole address space as one image.
fn virtual_regions(
    size: u128,
    blocks: &[crate::kernel::event::Block],
    registers: &RegistersView,
    regions: &[crate::kernel::event::RegionView],
    offset_bits: Option<u32>,
) -> Vec<(String, u64, u64)> {
    if regions.iter().any(|r| r.size > 0) {
        return regions
            .iter()
            .map(|r| (r.what.to_string(), r.start, r.size))
            .collect();
    }
    if let Some(ob) = offset_bits.filter(|&b| b < 63)
        && !registers.segments.is_empty()
    {
        return registers
            .segments
            .iter()
            .enumerate()
            .filter(|(_, s)| s.size > 0)
            .filter_map(|(k, s)| {
                let first = (k as u64).checked_mul(1u64 << ob)?;
                let (start, pa) = if s.grows_down {
                    let top = first.checked_add(1u64 << ob)?;
                    (top.checked_sub(s.size)?, s.base.checked_sub(s.size)?)
                } else {
                    (first, s.base)
                };
                let name = blocks
                    .iter()
                    .find(|b| b.start == pa)
                    .map_or_else(|| format!("segment {k}"), |b| b.what.clone());
                Some((name, start, s.size))
            })
            .collect();
    }
    // Only a segmented space reaches 2^64, and it has its table above.
    vec![(
        "image".to_string(),
        0,
        u64::try_from(size).unwrap_or(u64::MAX),
    )]
}

/// The MMU that the registers `r` describe, on `memory` bytes.
fn rebuild(r: &RegistersView, memory: u64, offset_bits: Option<u32>) -> Option<AnyMmu> {
    match r.mechanism {
        "base-bounds" => Some(AnyMmu::BaseBounds(
            BaseBounds::new(r.base?, r.bounds?, memory).ok()?,
        )),
        "base" => Some(AnyMmu::Base(Base::new(r.base?, memory))),
        "segmentation" => {
            let n = r.segments.len();
            if !n.is_power_of_two() {
                return None;
            }
            let va_bits = offset_bits? + n.trailing_zeros();
            let segs = r
                .segments
                .iter()
                .map(|s| {
                    let perms = Perms::parse(&s.perms).ok()?;
                    Some(if s.grows_down {
                        Segment::down(s.base, s.size, perms)
                    } else {
                        Segment::up(s.base, s.size, perms)
                    })
                })
                .collect::<Option<Vec<_>>>()?;
            Some(AnyMmu::Segmentation(
                Segmentation::new(va_bits, segs, memory).ok()?,
            ))
        }
        "identity" | "none" => Some(AnyMmu::Identity(Identity::new(memory))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::svg::tests::{parse, with_attr};

    fn builtin(name: &str) -> Stepper {
        let b = crate::scenario::builtin::find(name).unwrap();
        let sc = crate::scenario::parse(&format!("{}.toml", b.name), b.toml).unwrap();
        Stepper::from_scenario(&sc).unwrap()
    }

    fn ranges(svg: &str, process: &str) -> Vec<(String, String)> {
        let doc = parse(svg);
        with_attr(&doc, "data-process", process)
            .iter()
            .filter(|n| n.attribute("data-start").is_some())
            .map(|n| {
                (
                    n.attribute("data-start").unwrap().to_string(),
                    n.attribute("data-end").unwrap().to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn narrations_joined_are_the_runs_narration() {
        for b in crate::scenario::builtin::ALL {
            let Ok(sc) = crate::scenario::parse(&format!("{}.toml", b.name), b.toml) else {
                continue; // a wrapper of commands (E1-E3)
            };
            let st = Stepper::from_scenario(&sc).unwrap();
            let joined: String = (0..st.len()).map(|i| st.narration(i)).collect();
            let whole =
                crate::render::events::narrate(&scenario::run(&sc).unwrap(), sc.switch_steps);
            assert_eq!(joined, whole, "{}", b.name);
            assert!(!st.is_empty());
        }
    }

    #[test]
    fn e7_p1_is_in_memory_until_the_kill_and_p2_throughout() {
        let st = builtin("e7");
        let fault = st.first_fault().expect("E7 faults");
        assert_eq!(st.kind(fault), "store");
        assert!(st.narration(fault).contains("FAULT (bounds)"));
        let before = st.pictures(fault - 1).memory_map;
        assert_eq!(ranges(&before, "P1"), [("0x400".into(), "0x800".into())]);
        let kill = (fault..st.len()).find(|&i| st.kind(i) == "kill").unwrap();
        assert!(st.narration(kill).contains("OS kills P1"));
        // The kill's step frees nothing yet; the free follows.
        let after = st.pictures(kill + 1).memory_map;
        assert!(ranges(&after, "P1").is_empty(), "{after}");
        let p2 = (0..st.len())
            .find(|&i| st.narration(i).contains("loader: P2"))
            .unwrap();
        for i in p2..st.len() {
            let map = st.pictures(i).memory_map;
            assert_eq!(
                ranges(&map, "P2"),
                [("0x1000".into(), "0x1400".into())],
                "step {i}"
            );
        }
        // The faulting access's translation shows the fault.
        let t = st.pictures(fault).translation.expect("an access");
        assert!(t.contains(r#"data-fault="bounds""#), "{t}");
        assert!(st.pictures(fault).cost.is_some());
    }

    #[test]
    fn e9_steps_draw_the_selected_row_and_the_fault() {
        let st = builtin("e9");
        let fault = st.first_fault().unwrap();
        let t = st.pictures(fault).translation.unwrap();
        let doc = parse(&t);
        let sel: Vec<_> = with_attr(&doc, "data-selected", "true");
        assert_eq!(sel.len(), 1);
        assert_eq!(sel[0].attribute("data-segment"), Some("3"));
        assert_eq!(with_attr(&doc, "data-fault", "invalid-segment").len(), 1);
        let ok = (0..fault).rev().find(|&i| st.kind(i) == "load").unwrap();
        let t = st.pictures(ok).translation.unwrap();
        assert!(t.contains("PA 0x365c"), "{t}");
    }

    #[test]
    fn e8_forgotten_reload_is_drawn_stale() {
        let st = builtin("e8-forgot");
        let i = (0..st.len())
            .find(|&i| st.narration(i).contains("BUG"))
            .unwrap();
        let cs = st.pictures(i).context_switch.expect("a switch");
        let doc = parse(&cs);
        assert_eq!(with_attr(&doc, "data-stale", "true").len(), 1, "{cs}");
    }

    #[test]
    fn e13_marks_the_stack_pointer_and_the_guard_page() {
        let st = builtin("e13-xv6");
        let i = (0..st.len())
            .find(|&i| st.pictures(i).address_space.contains("data-sp="))
            .expect("the program's stack pointer is drawn");
        let spaces = st.pictures(i).address_space;
        let doc = parse(&spaces);
        assert_eq!(with_attr(&doc, "data-sp", "0x3000").len(), 1);
        let guard = with_attr(&doc, "data-region", "guard");
        assert_eq!(guard[0].attribute("data-start"), Some("0x1000"));
        assert_eq!(guard[0].attribute("data-end"), Some("0x2000"));
    }

    #[test]
    fn a_paging_run_with_a_tlb_draws_its_contents_at_the_end() {
        let b = crate::scenario::builtin::find("paging-tlb-array").unwrap();
        let sc = crate::scenario::parse("t.toml", b.toml).unwrap();
        let st = Stepper::build(&sc.title, scenario::run(&sc).unwrap(), sc.switch_steps, 4);
        assert!(st.pictures(0).tlb.is_none());
        let t = st.pictures(st.len() - 1).tlb.expect("the TLB's contents");
        parse(&t);
        assert!(
            t.contains("TLB contents") && t.contains("7 hits, 3 misses"),
            "{t}"
        );
        assert!(st.final_svg().contains("TLB contents"));
    }

    #[test]
    fn under_paging_physical_memory_is_drawn_in_frames() {
        let b = crate::scenario::builtin::find("paging-vs-segmentation").unwrap();
        let sc = crate::scenario::parse("p.toml", b.toml).unwrap();
        let st = Stepper::build(&sc.title, scenario::run(&sc).unwrap(), sc.switch_steps, 4);
        let last = st.pictures(st.len() - 1).memory_map;
        parse(&last);
        assert!(last.contains("Physical memory in frames"), "{last}");
        // C's two pages sit in two frames that are not neighbours: no
        // external fragmentation.
        assert!(
            last.contains("frame 13 (PA 0xd000): C page 0x0 r-x"),
            "{last}"
        );
        assert!(
            last.contains("frame 15 (PA 0xf000): C page 0x1000 r-x"),
            "{last}"
        );
        assert!(
            last.contains("W&apos;s page table") || last.contains("W's page table"),
            "{last}"
        );
        // Folding from a checkpoint gives the same frames as from the start.
        let mut state = State::default();
        for j in 0..st.len() {
            for e in st.span(j) {
                state.apply(e);
            }
        }
        assert_eq!(state.frame_map(), Some(last));
    }

    #[test]
    fn pictures_from_a_checkpoint_equal_pictures_folded_from_the_start() {
        // Checkpoints every 4 steps, so that the run spans many.
        let b = crate::scenario::builtin::find("e12").unwrap();
        let sc = crate::scenario::parse("e12.toml", b.toml).unwrap();
        let st = Stepper::build(&sc.title, scenario::run(&sc).unwrap(), sc.switch_steps, 4);
        assert!(st.checkpoints.len() > 3);
        let n = st.len();
        for i in [0, n / 3, n / 2, n - 1, n + 5] {
            let p = st.pictures(i);
            let mut state = State::default();
            for j in 0..=i.min(n - 1) {
                for e in st.span(j) {
                    state.apply(e);
                }
            }
            assert_eq!(p.memory_map, state.memory_map(), "step {i}");
            parse(&p.memory_map);
            parse(&p.address_space);
        }
    }

    #[test]
    fn every_builtin_pictures_every_step_as_well_formed_xml() {
        for b in crate::scenario::builtin::ALL {
            let Ok(sc) = crate::scenario::parse(&format!("{}.toml", b.name), b.toml) else {
                continue;
            };
            let st = Stepper::from_scenario(&sc).unwrap();
            for i in (0..st.len()).step_by(7).chain([st.len() - 1]) {
                let p = st.pictures(i);
                for svg in [Some(&p.memory_map), Some(&p.address_space)]
                    .into_iter()
                    .chain([
                        p.translation.as_ref(),
                        p.context_switch.as_ref(),
                        p.cost.as_ref(),
                    ])
                    .flatten()
                {
                    let doc = parse(svg);
                    crate::render::svg::tests::every_shape_has_a_title(&doc);
                }
            }
            parse(&st.final_svg());
        }
    }
}
