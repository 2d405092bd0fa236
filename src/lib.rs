//! vmlab — a laboratory for memory virtualization.
//!
//! The hardware (a RISC-V CPU, an MMU, physical memory) and the operating
//! system (processes, loader, context switch, traps, scheduler, allocators)
//! that give every process the illusion of a private address space. The
//! modules are named after the lecture; see `DESIGN.md` for the flow
//! (simulate -> events -> renderers).
#![warn(missing_docs)]

pub mod access;
pub mod addr;
pub mod cli;
pub mod cost;
pub mod fault;
pub mod files;
pub mod heap;
pub mod homework;
pub mod kernel;
pub mod memory;
pub mod mmu;
#[cfg(test)]
mod module_cycles;
pub mod render;
pub mod scenario;
pub mod trace;

pub use addr::{PhysAddr, Size, VirtAddr};
pub use fault::{Fault, FaultKind};
pub use memory::PhysicalMemory;
pub use mmu::{Access, AnyMmu, Mmu, Mode};
pub mod asm;
pub mod cpu;
pub mod elf;
pub mod machine;
pub mod program;
