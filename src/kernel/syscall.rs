//! System calls: thin handlers that fetch the arguments and call the
//! mechanism (`grow_heap`, `exit`, the console).
//!
//! | call | xv6 | Linux RISC-V |
//! | --- | --- | --- |
//! | exit | 2 | 93 (and exit_group 94) |
//! | getpid | 11 | 172 |
//! | sbrk / brk | 12 (sbrk) | 214 (brk) |
//! | write | 16 | 64 |
//! | yield | 22 (vmlab's addition) | 124 (sched_yield) |
//!
//! This module holds the calls, the numberings and the outcome, and pure
//! functions over them. The dependency goes one way: `system` uses
//! `syscall`, never the reverse; the kernel's handlers (`impl Kernel`:
//! [`Kernel::syscall`](crate::kernel::Kernel::syscall) and the rest) live in
//! `system/syscalls.rs`.

/// Which numbering the system calls use.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Abi {
    /// xv6's numbers (the default).
    #[default]
    Xv6,
    /// Linux on RISC-V.
    Linux,
}

/// A system call, decoded from its number.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Call {
    /// Terminate with a status.
    Exit,
    /// The caller's pid.
    Getpid,
    /// Grow the heap by a signed amount; returns the old break.
    Sbrk,
    /// Set the break to an address (Linux); returns the new break.
    Brk,
    /// Write bytes to a file descriptor (1: the console).
    Write,
    /// Give up the CPU.
    Yield,
}

impl Call {
    /// The call's name.
    pub const fn name(self) -> &'static str {
        match self {
            Call::Exit => "exit",
            Call::Getpid => "getpid",
            Call::Sbrk => "sbrk",
            Call::Brk => "brk",
            Call::Write => "write",
            Call::Yield => "yield",
        }
    }
}

impl Abi {
    /// Decodes a system-call number.
    pub fn decode(self, number: u64) -> Option<Call> {
        Some(match (self, number) {
            (Abi::Xv6, 2) => Call::Exit,
            (Abi::Xv6, 11) => Call::Getpid,
            (Abi::Xv6, 12) => Call::Sbrk,
            (Abi::Xv6, 16) => Call::Write,
            (Abi::Xv6, 22) => Call::Yield,
            (Abi::Linux, 93 | 94) => Call::Exit,
            (Abi::Linux, 172) => Call::Getpid,
            (Abi::Linux, 214) => Call::Brk,
            (Abi::Linux, 64) => Call::Write,
            (Abi::Linux, 124) => Call::Yield,
            _ => return None,
        })
    }

    /// The number of a call (`None` when this ABI lacks it, like sbrk on
    /// Linux, where the C library builds it on brk).
    pub fn number(self, call: Call) -> Option<u64> {
        Some(match (self, call) {
            (Abi::Xv6, Call::Exit) => 2,
            (Abi::Xv6, Call::Getpid) => 11,
            (Abi::Xv6, Call::Sbrk) => 12,
            (Abi::Xv6, Call::Write) => 16,
            (Abi::Xv6, Call::Yield) => 22,
            (Abi::Linux, Call::Exit) => 93,
            (Abi::Linux, Call::Getpid) => 172,
            (Abi::Linux, Call::Brk) => 214,
            (Abi::Linux, Call::Write) => 64,
            (Abi::Linux, Call::Yield) => 124,
            _ => return None,
        })
    }
}

/// What the caller sees after a system call.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum SyscallOutcome {
    /// The call returned this value (in a0); `u64::MAX` is -1, an error.
    Return(u64),
    /// The process exited.
    Exited,
    /// The process gave up the CPU (the scheduler picks the next).
    Yielded,
}

/// -1, as a register holds it.
pub const ERROR: u64 = u64::MAX;
