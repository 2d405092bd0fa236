//! The process and its PCB: what the OS keeps about every process so it can
//! stop it, run another, and resume it later exactly where it was.

use super::event::{Block, Pid};
use super::layout::AddressSpace;
use crate::mmu::MmuRegisters;

/// Where a process stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ProcState {
    /// Loaded, waiting for the CPU.
    Ready,
    /// On the CPU.
    Running,
    /// Waiting for something (I/O); not scheduled.
    Blocked,
    /// Finished (exited or killed); its PCB remains until reaped.
    Zombie,
}

impl ProcState {
    /// The lecture's word for it.
    pub const fn name(self) -> &'static str {
        match self {
            ProcState::Ready => "ready",
            ProcState::Running => "running",
            ProcState::Blocked => "blocked",
            ProcState::Zombie => "zombie",
        }
    }
}

/// The CPU registers a context switch saves: the program counter and the 32
/// integer registers (x0..x31 of RISC-V; x2 is the stack pointer).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Context {
    /// Program counter.
    pub pc: u64,
    /// Integer registers.
    pub x: [u64; 32],
}

/// What a process has cost so far.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Accounting {
    /// Instructions executed (access-list items count as one each).
    pub instructions: u64,
    /// Memory accesses that reached memory (a refused one is a fault).
    pub accesses: u64,
    /// Faults taken (including those the OS fixed, such as stack growth).
    pub faults: u64,
}

/// A block of physical memory a process holds.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Allocation {
    /// What it holds: `image` (the whole address space), or one segment
    /// (`code`, `data`, `heap`, `stack`).
    pub what: &'static str,
    /// First physical byte.
    pub start: u64,
    /// Size in bytes.
    pub size: u64,
    /// The segment number, under segmentation.
    pub segment: Option<usize>,
    /// Shared with other processes of the same program (read-only code).
    pub shared: bool,
}

impl Allocation {
    /// The block as an event record.
    pub fn block(&self) -> Block {
        Block {
            what: self.what.to_string(),
            start: self.start,
            size: self.size,
        }
    }

    /// One past the last byte.
    pub fn end(&self) -> u64 {
        self.start + self.size
    }
}

/// The process control block.
#[derive(Clone, Debug)]
pub struct Process {
    // --- identity ---
    /// Process id (1, 2, ...).
    pub pid: Pid,
    /// Name (as in the scenario: `P1`, `stacktest`).
    pub name: String,
    /// The program it runs; processes of the same program may share code.
    pub program: String,

    // --- scheduling ---
    /// Ready, running, blocked or zombie.
    pub state: ProcState,
    /// Exit status once a zombie (`None` while alive; killed processes get -1
    /// as the lecture's `exit(-1)`, shown as the kill reason instead).
    pub exit_status: Option<u64>,

    // --- saved context (valid while not running) ---
    /// CPU registers.
    pub context: Context,
    /// MMU registers: base/bounds, or the segment table.
    pub mmu: MmuRegisters,

    // --- memory ---
    /// The virtual layout: code, data, heap, stack ranges.
    pub space: AddressSpace,
    /// The physical blocks it holds.
    pub memory: Vec<Allocation>,
    /// Under static relocation: the load address the loader used.
    pub load_address: Option<u64>,

    // --- accounting ---
    /// Instructions, accesses, faults.
    pub stats: Accounting,
}

impl Process {
    /// Whether it can still run.
    pub fn alive(&self) -> bool {
        self.state != ProcState::Zombie
    }

    /// The physical block containing `pa`, if this process holds it.
    pub fn block_at(&self, pa: u64) -> Option<&Allocation> {
        self.memory.iter().find(|a| a.start <= pa && pa < a.end())
    }
}
