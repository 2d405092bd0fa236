//! The operating system: processes and their PCBs, the loader, placement of
//! address spaces in physical memory, context switches, traps, system calls
//! and CPU scheduling. The kernel owns policy; the MMU owns mechanism.
pub mod scheduler;
