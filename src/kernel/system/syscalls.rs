//! System calls, the kernel side: dispatching a call by its number and the
//! handlers, over the types of [`crate::kernel::syscall`] (the calls, the
//! numberings, the outcome).

use super::Kernel;
use crate::kernel::event::{Event, Pid};
use crate::kernel::syscall::{Call, ERROR, SyscallOutcome};

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
            .region(crate::kernel::layout::RegionKind::Heap)
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
