//! The CPU: a RISC-V RV64IM hart in user mode whose every instruction fetch,
//! load and store goes through the MMU.
//!
//! The lecture's claim — the hardware translates *every* memory reference —
//! is literally how this CPU works: [`Cpu::run`] takes the MMU and physical
//! memory as arguments and has no other way to reach memory. Per instruction:
//!
//! ```text
//!   1. pa = mmu.translate(pc, fetch)          (fault -> trap, pc unchanged;
//!                                               on an MMU whose answers are
//!                                               stable for the run, the
//!                                               answer for the bytes around
//!                                               pc, checked once with a span
//!                                               translation: the fetch window;
//!                                               under Sv39, the window on the
//!                                               TLB's word, each fetch counted
//!                                               as its hit: Mmu::ticket)
//!   2. inst = decoded instruction at pa        (decoded once, cached per
//!                                               physical frame, re-decoded
//!                                               after any write to the frame)
//!   3. execute; a load/store translates its va (read / write) and faults
//!      before changing anything: faults are precise
//!   4. pc = next pc
//! ```
//!
//! The caller (the kernel, or the small runner in `machine`) gives the CPU a
//! budget of instructions — the timer interrupt — and gets back an [`Exit`]:
//! the budget ran out, or a [`Trap`] (`ecall`, `ebreak`, a fault, an illegal
//! instruction) that it must handle. An [`Observer`] sees every access; the
//! do-nothing [`NoObserver`] compiles away.
//!
//! Split as the hardware is: [`registers`] (the register file), [`decode`](mod@decode)
//! (words to instructions and back), [`execute`] (one instruction's effect),
//! [`cache`] (the decoded-instruction cache and its fetch window),
//! [`soft_tlb`] (the simulator's software TLB in front of the MMU: a fast
//! path with the walk's answers).

pub mod cache;
pub mod decode;
pub mod execute;
pub mod registers;
pub mod soft_tlb;

pub use decode::{Inst, Op, decode, encode};
pub use registers::{ABI_NAMES, Registers, parse_register};

use crate::addr::{PhysAddr, VirtAddr};
use crate::fault::Fault;
use crate::memory::PhysicalMemory;
use crate::mmu::{Mmu, Mode};
use std::fmt;

/// Why the CPU stopped and handed control to whoever runs it (the kernel).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Trap {
    /// `ecall`: a system call (number in `a7`, arguments in `a0..`, result
    /// to `a0`). `cpu.pc` already points past the `ecall`.
    Ecall {
        /// Address of the `ecall` instruction.
        pc: u64,
    },
    /// `ebreak`: a breakpoint. `cpu.pc` already points past it.
    Ebreak {
        /// Address of the `ebreak` instruction.
        pc: u64,
    },
    /// The MMU (or memory) refused a fetch, load or store, or it was
    /// misaligned. Nothing of the instruction happened; `cpu.pc` is still
    /// `pc`, so a kernel that fixes the cause can run it again.
    Fault {
        /// Address of the instruction.
        pc: u64,
        /// The instruction word, when the fetch itself succeeded.
        word: Option<u32>,
        /// The access that failed, and why.
        fault: Fault,
    },
    /// The word at `pc` is not an RV64IM instruction. `cpu.pc` is still `pc`.
    Illegal {
        /// Address of the instruction.
        pc: u64,
        /// The word.
        word: u32,
    },
}

impl Trap {
    /// The address of the instruction that trapped.
    pub fn pc(&self) -> u64 {
        match *self {
            Trap::Ecall { pc } | Trap::Ebreak { pc } => pc,
            Trap::Fault { pc, .. } | Trap::Illegal { pc, .. } => pc,
        }
    }

    /// The stable JSON name: `ecall`, `ebreak`, `fault`, `illegal-instruction`.
    pub fn name(&self) -> &'static str {
        match self {
            Trap::Ecall { .. } => "ecall",
            Trap::Ebreak { .. } => "ebreak",
            Trap::Fault { .. } => "fault",
            Trap::Illegal { .. } => "illegal-instruction",
        }
    }
}

/// `fault at pc 0x18 (sw a0, 8(s0) = 0x00a42423): ...`.
impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Trap::Ecall { pc } => write!(f, "ecall at pc {pc:#x}"),
            Trap::Ebreak { pc } => write!(f, "ebreak at pc {pc:#x}"),
            Trap::Fault { pc, word, fault } => {
                write!(f, "{fault} at pc {pc:#x}")?;
                if let Some(w) = word {
                    write!(f, " ({} = {w:#010x})", execute::disassemble(decode(w)))?;
                }
                Ok(())
            }
            Trap::Illegal { pc, word } => {
                write!(f, "illegal instruction {word:#010x} at pc {pc:#x}")?;
                match decode::privileged(word) {
                    Some(why) => write!(f, " ({why})"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// How a call to [`Cpu::run`] ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Exit {
    /// The instruction budget ran out (the timer fired); nothing is pending.
    Budget,
    /// The CPU trapped to the kernel.
    Trap(Trap),
}

/// Sees every access the CPU makes, as it makes it. All methods default to
/// doing nothing; with [`NoObserver`] the calls compile away.
pub trait Observer {
    /// An instruction fetch at `va` translated to `pa`.
    #[inline(always)]
    fn fetch(&mut self, va: VirtAddr, pa: PhysAddr) {
        let _ = (va, pa);
    }
    /// A load of `size` bytes at `va` (`pa`) that read `value`.
    #[inline(always)]
    fn load(&mut self, va: VirtAddr, pa: PhysAddr, size: u64, value: u64) {
        let _ = (va, pa, size, value);
    }
    /// A store of `size` bytes of `value` at `va` (`pa`).
    #[inline(always)]
    fn store(&mut self, va: VirtAddr, pa: PhysAddr, size: u64, value: u64) {
        let _ = (va, pa, size, value);
    }
    /// A trap, just before [`Cpu::run`] returns it.
    #[inline(always)]
    fn trap(&mut self, trap: &Trap) {
        let _ = trap;
    }
}

/// Observes nothing, costs nothing.
pub struct NoObserver;

impl Observer for NoObserver {}

/// A RISC-V hart: registers, pc, mode bit and its decoded-instruction cache.
///
/// The registers, pc and mode are public: they are what a context switch
/// saves into and restores from a PCB. The decode cache is keyed by physical
/// address and checks each frame's write generation, so it stays valid
/// across context switches and kernel writes to memory.
#[derive(Debug)]
pub struct Cpu {
    /// The integer registers.
    pub regs: Registers,
    /// The program counter (a virtual address).
    pub pc: u64,
    /// The mode bit.
    pub mode: Mode,
    /// Instructions retired since the CPU was made.
    pub instret: u64,
    cache: cache::DecodeCache,
}

impl Default for Cpu {
    fn default() -> Self {
        Self::new(0)
    }
}

impl Cpu {
    /// A CPU in user mode about to run the instruction at `pc`, registers
    /// zero.
    pub fn new(pc: u64) -> Self {
        Self {
            regs: Registers::new(),
            pc,
            mode: Mode::User,
            instret: 0,
            cache: cache::DecodeCache::new(),
        }
    }

    /// Runs at most `budget` instructions, translating every access with
    /// `mmu`, and tells `observer` each access.
    ///
    /// Returns [`Exit::Budget`] after `budget` instructions, or the first
    /// [`Trap`]. A faulting instruction has no effect and is not counted;
    /// `ecall`/`ebreak` are counted and leave `pc` past themselves.
    pub fn run<M: Mmu, O: Observer>(
        &mut self,
        mmu: &M,
        mem: &mut PhysicalMemory,
        budget: u64,
        observer: &mut O,
    ) -> Exit {
        // The fetch window and the software TLB both remember the MMU's
        // answers: only for an MMU that promises they stay right.
        // An MMU whose accesses a simulated TLB counts gets the fetch
        // window on the TLB's word instead, each use counted
        // ([`Mmu::ticket`]).
        match (mmu.translation_is_stable(), mmu.software_tlb_pays()) {
            (true, true) => self.run_with::<true, true, false, M, O>(mmu, mem, budget, observer),
            (true, false) => self.run_with::<false, true, false, M, O>(mmu, mem, budget, observer),
            (false, _) if mmu.has_tickets() => {
                self.run_with::<false, false, true, M, O>(mmu, mem, budget, observer)
            }
            (false, _) => self.run_with::<false, false, false, M, O>(mmu, mem, budget, observer),
        }
    }

    /// [`Cpu::run`] without the software TLB and without the fetch window:
    /// every fetch, load and store walks the MMU. This is the definition the fast path is tested
    /// against (same registers, memory, traps and observer events); it is
    /// also what [`Cpu::run`] does for an MMU whose translations are not
    /// stable ([`Mmu::translation_is_stable`], e.g. Sv39) or whose walk is
    /// cheaper than a lookup ([`Mmu::software_tlb_pays`]).
    pub fn run_walking<M: Mmu, O: Observer>(
        &mut self,
        mmu: &M,
        mem: &mut PhysicalMemory,
        budget: u64,
        observer: &mut O,
    ) -> Exit {
        self.run_with::<false, false, false, M, O>(mmu, mem, budget, observer)
    }

    /// The run loop, with (`FAST`) or without the software TLB, with
    /// (`STABLE`) or without the fetch window, with (`TICKETS`) or without
    /// the fetch window on a simulated TLB's word. Both live for this call
    /// only: `mmu` is borrowed shared for the whole run, so its registers
    /// cannot change under a remembered answer.
    #[inline(always)]
    pub(crate) fn run_with<
        const FAST: bool,
        const STABLE: bool,
        const TICKETS: bool,
        M: Mmu,
        O: Observer,
    >(
        &mut self,
        mmu: &M,
        mem: &mut PhysicalMemory,
        budget: u64,
        observer: &mut O,
    ) -> Exit {
        // Memory may have been written since the last run (loader, swap).
        self.cache.recheck();
        if budget > 0 {
            if let Some(trap) = self.misaligned_pc() {
                observer.trap(&trap);
                return Exit::Trap(trap);
            }
        }
        let mut tlb = soft_tlb::SoftTlb::new();
        // The pc and the count of retired instructions live in registers
        // while the run lasts, and go back into `self` when it ends.
        let mut pc = self.pc;
        let mut retired = 0;
        let exit = loop {
            if retired == budget {
                break Exit::Budget;
            }
            match self.step::<FAST, STABLE, TICKETS, M, O>(pc, mmu, mem, observer, &mut tlb) {
                Ok(next) => {
                    pc = next;
                    retired += 1;
                }
                Err(trap) => {
                    // `ecall` and `ebreak` complete, leaving the pc past
                    // them; a fault or an illegal word leaves no trace.
                    if let Trap::Ecall { .. } | Trap::Ebreak { .. } = trap {
                        pc = pc.wrapping_add(4);
                        retired += 1;
                    }
                    break Exit::Trap(trap);
                }
            }
        };
        self.pc = pc;
        self.instret += retired;
        if let Exit::Trap(trap) = &exit {
            observer.trap(trap);
        }
        exit
    }

    /// Forgets every decoded instruction (never needed for correctness; for
    /// measurements).
    pub fn flush_decoded(&mut self) {
        self.cache = cache::DecodeCache::new();
    }
}

#[cfg(test)]
mod tests;
