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

use super::event::{Event, Pid};
use super::system::Kernel;

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

impl Kernel {
    /// Runs system call `number` for the current process with arguments
    /// `args` (a0..a2). `write_bytes` is the buffer of a write, already
    /// copied in from user memory by the caller. An unknown number returns
    /// -1 (an error), as a real kernel does.
    pub fn syscall(&mut self, number: u64, args: [u64; 3], write_bytes: &[u8]) -> SyscallOutcome {
        let Some(pid) = self.current else {
            return SyscallOutcome::Return(ERROR);
        };
        let call = self.config.abi.decode(number);
        let name = call.map(Call::name).unwrap_or("unknown");
        self.enter_kernel("syscall", format!("{name} (number {number})"));
        let (outcome, error) = match call {
            None => (
                SyscallOutcome::Return(ERROR),
                Some(format!(
                    "no system call {number} in the {:?} numbering",
                    self.config.abi
                )),
            ),
            Some(Call::Exit) => {
                self.emit_syscall(pid, name, number, &args[..1], None, None);
                self.exit(pid, args[0]);
                return SyscallOutcome::Exited;
            }
            Some(Call::Getpid) => (SyscallOutcome::Return(pid as u64), None),
            Some(Call::Sbrk) => match self.grow_heap(pid, args[0] as i64) {
                Ok(old) => (SyscallOutcome::Return(old), None),
                Err(e) => (SyscallOutcome::Return(ERROR), Some(e)),
            },
            Some(Call::Brk) => self.sys_brk(pid, args[0]),
            Some(Call::Write) => {
                let text = String::from_utf8_lossy(write_bytes).into_owned();
                if args[0] == 1 || args[0] == 2 {
                    self.emit(Event::Output { pid, text });
                    (SyscallOutcome::Return(write_bytes.len() as u64), None)
                } else {
                    (
                        SyscallOutcome::Return(ERROR),
                        Some(format!("file descriptor {} is not open", args[0])),
                    )
                }
            }
            Some(Call::Yield) => (SyscallOutcome::Yielded, None),
        };
        let result = match &outcome {
            SyscallOutcome::Return(v) if *v != ERROR => Some(*v),
            SyscallOutcome::Yielded => Some(0),
            _ => None,
        };
        let shown = if call == Some(Call::Write) {
            &args[..]
        } else {
            &args[..1]
        };
        let shown = if matches!(call, Some(Call::Getpid) | Some(Call::Yield)) {
            &[]
        } else {
            shown
        };
        let error = error.or_else(|| result.is_none().then(|| "failed".to_string()));
        self.emit_syscall(pid, name, number, shown, result, error);
        if outcome != SyscallOutcome::Yielded && self.proc(pid).alive() {
            self.return_to_user();
        }
        outcome
    }

    pub(crate) fn emit_syscall(
        &mut self,
        pid: Pid,
        name: &'static str,
        number: u64,
        args: &[u64],
        result: Option<u64>,
        error: Option<String>,
    ) {
        self.emit(Event::Syscall {
            pid,
            name,
            number,
            args: args.to_vec(),
            result,
            error,
        });
    }

    /// Linux brk: `brk(0)` asks for the break; `brk(addr)` moves it there.
    /// Returns the new break (the old one when it could not move).
    fn sys_brk(&mut self, pid: Pid, addr: u64) -> (SyscallOutcome, Option<String>) {
        let Some(heap) = self
            .proc(pid)
            .space
            .region(super::layout::RegionKind::Heap)
            .copied()
        else {
            return (SyscallOutcome::Return(ERROR), Some("no heap".into()));
        };
        let brk = heap.end();
        if addr == 0 || addr == brk {
            return (SyscallOutcome::Return(brk), None);
        }
        let delta = addr as i128 - brk as i128;
        let Ok(delta) = i64::try_from(delta) else {
            return (
                SyscallOutcome::Return(brk),
                Some("break out of range".into()),
            );
        };
        match self.grow_heap(pid, delta) {
            Ok(_) => (SyscallOutcome::Return(addr), None),
            Err(e) => (SyscallOutcome::Return(brk), Some(e)),
        }
    }
}
