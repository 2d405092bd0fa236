//! Running a scenario: the kernel runs (the script, then the scheduler over
//! the pending access lists and programs), the `compare` runs, and
//! streaming the events. Takes a parsed [`Scenario`]; does not parse.

use super::ops::Op;
use super::{Scenario, Scheduler, ScriptItem, summary};
use crate::kernel::event::{Event, Pid};
use crate::kernel::exec::RunOutcome;
use crate::kernel::process::ProcState;
use crate::kernel::syscall::{Abi, Call, SyscallOutcome};
use crate::kernel::system::{Kernel, Strategy};
use crate::mmu::{Mmu, MmuRegisters};
use std::collections::{HashMap, VecDeque};

/// What an operation did to the process.
enum Step {
    Continue,
    Gone,
    Yielded,
}

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
/// Fails when the machine cannot boot, which [`parse`](super::parse) already checks, or
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
/// Fails only when the machine cannot boot, which [`parse`](super::parse) already checks.
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
