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

mod parse;
mod run;

pub use parse::{commands_of, parse};
pub use run::{run, run_kernel, run_kernel_unlogged, run_streaming};

use crate::kernel::system::{KernelConfig, ProcessSpec, Strategy};
use ops::Op;

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

/// The most events a run keeps in memory when they are collected (by
/// [`run`] and [`run_kernel`], for the web page and the HTML export that
/// step through the log), unless the scenario's `machine.max_events` says
/// otherwise. `vmlab scenario run` streams the events instead
/// ([`run_streaming`]) and keeps none.
pub const MAX_EVENTS: usize = 1_000_000;

#[cfg(test)]
mod tests {
    use super::{parse, run};
    use crate::kernel::event::Event;
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
