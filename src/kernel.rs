//! The operating system: processes and their PCBs, the loader, placement of
//! address spaces in physical memory, context switches, traps, system calls
//! and CPU scheduling. The kernel owns policy; the MMU owns mechanism.

pub mod context_switch;
pub mod event;
pub mod exec;
pub mod frames;
pub mod growth;
pub mod layout;
pub mod paging;
pub mod placement;
pub mod process;
pub mod replacement;
pub mod swap;
pub mod syscall;
pub mod system;
pub mod trap;

pub use event::{Event, Pid};
pub use system::{Kernel, KernelConfig, ProcessSpec, Strategy};
pub mod scheduler;

#[cfg(test)]
mod isolation;
