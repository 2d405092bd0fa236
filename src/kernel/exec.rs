//! Running a program's instructions on the CPU for the current process: the
//! kernel gives the CPU a budget (the timer interrupt), and handles what the
//! CPU traps with: `ecall` (a system call), a fault (stack growth or kill),
//! an illegal instruction or a breakpoint (kill).
//!
//! Every fetch, load and store the CPU makes becomes an event, labelled with
//! the region of the address space it falls in.

use super::syscall::SyscallOutcome;
use super::system::Kernel;
use crate::addr::{PhysAddr, VirtAddr};
use crate::cpu::registers::reg;
use crate::cpu::{Exit, Observer, Trap};
use crate::fault::Fault;
use crate::mmu::{Access, Mmu};

/// How a turn on the CPU ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RunOutcome {
    /// The budget ran out: a timer interrupt.
    Preempted,
    /// The process called yield.
    Yielded,
    /// The process exited or was killed.
    Gone,
    /// No process is running.
    Idle,
}

/// Collects the CPU's accesses during a run (the kernel turns them into
/// events afterwards, when it may borrow itself again).
#[derive(Default)]
struct Recorder(Vec<(Access, u64, u64, u64, u64)>);

impl Observer for Recorder {
    fn fetch(&mut self, va: VirtAddr, pa: PhysAddr) {
        self.0.push((Access::Fetch, va.as_u64(), pa.as_u64(), 4, 0));
    }
    fn load(&mut self, va: VirtAddr, pa: PhysAddr, size: u64, value: u64) {
        self.0
            .push((Access::Read, va.as_u64(), pa.as_u64(), size, value));
    }
    fn store(&mut self, va: VirtAddr, pa: PhysAddr, size: u64, value: u64) {
        self.0
            .push((Access::Write, va.as_u64(), pa.as_u64(), size, value));
    }
}

/// The most bytes one write system call copies.
const MAX_WRITE: u64 = 4096;

impl Kernel {
    /// Runs the current process's program for at most `budget` instructions.
    pub fn run_program(&mut self, budget: u64) -> RunOutcome {
        let Some(pid) = self.current else {
            return RunOutcome::Idle;
        };
        let mut left = budget;
        // A fault the OS fixes restarts the instruction; bound the retries so
        // that a kernel bug cannot loop forever.
        let mut retries = 0;
        while left > 0 {
            let before = self.hart.instret;
            let mut rec = Recorder::default();
            let exit = self.hart.run(&self.mmu, &mut self.memory, left, &mut rec);
            let ran = self.hart.instret - before;
            left = left.saturating_sub(ran);
            if ran > 0 {
                // Progress since the last fault: the OS's fix worked.
                retries = 0;
            }
            self.counts.instructions += ran;
            self.proc_mut(pid).stats.instructions += ran;
            for (access, va, pa, size, value) in rec.0 {
                self.record_access(pid, access, va, Ok(pa), size, value);
            }
            match exit {
                Exit::Budget => return RunOutcome::Preempted,
                Exit::Trap(Trap::Ecall { .. }) => match self.ecall() {
                    SyscallOutcome::Return(v) => self.hart.regs.set(reg::A0, v),
                    SyscallOutcome::Exited => return RunOutcome::Gone,
                    SyscallOutcome::Yielded => {
                        self.hart.regs.set(reg::A0, 0);
                        return RunOutcome::Yielded;
                    }
                },
                Exit::Trap(Trap::Fault { word, fault, .. }) => {
                    let size = match fault.access {
                        Access::Fetch => 4,
                        _ => word
                            .and_then(|w| crate::cpu::decode(w).op.access_size())
                            .unwrap_or(1),
                    };
                    self.record_access(pid, fault.access, fault.va.as_u64(), Err(fault), size, 0);
                    retries += 1;
                    if !self.handle_fault(pid, fault) || retries > 64 {
                        if self.proc(pid).alive() {
                            self.kill(pid, "the same fault again and again".into());
                        }
                        return RunOutcome::Gone;
                    }
                }
                Exit::Trap(t @ (Trap::Illegal { .. } | Trap::Ebreak { .. })) => {
                    self.enter_kernel("fault", t.to_string());
                    self.proc_mut(pid).stats.faults += 1;
                    self.kill(pid, t.to_string());
                    return RunOutcome::Gone;
                }
            }
            if !self.proc(pid).alive() {
                return RunOutcome::Gone;
            }
        }
        RunOutcome::Preempted
    }

    /// The system call the CPU trapped with: number in a7, arguments in
    /// a0..a2; a write's buffer is copied in from user memory first.
    fn ecall(&mut self) -> SyscallOutcome {
        let r = &self.hart.regs;
        let number = r.get(reg::A7);
        let args = [r.get(reg::A0), r.get(reg::A1), r.get(reg::A2)];
        let is_write = self
            .config
            .abi
            .decode(number)
            .is_some_and(|c| c == super::syscall::Call::Write);
        let bytes = if is_write {
            match self.copy_in(args[1], args[2].min(MAX_WRITE)) {
                Ok(b) => b,
                Err(f) => {
                    let pid = self.current.unwrap_or(0);
                    self.enter_kernel("syscall", format!("write (number {number})"));
                    self.emit_syscall(
                        pid,
                        "write",
                        number,
                        &args,
                        None,
                        Some(format!("bad buffer address: {f}")),
                    );
                    self.return_to_user();
                    return SyscallOutcome::Return(super::syscall::ERROR);
                }
            }
        } else {
            Vec::new()
        };
        self.syscall(number, args, &bytes)
    }

    /// Copies `len` bytes from the current process's virtual address `va`
    /// into the kernel, translating each byte with the process's registers.
    pub fn copy_in(&self, va: u64, len: u64) -> Result<Vec<u8>, Fault> {
        let mut out = Vec::with_capacity(len as usize);
        for i in 0..len {
            let a = VirtAddr::new(va.saturating_add(i));
            let pa = self.mmu.translate(&self.memory, a, Access::Read)?;
            let mut b = [0u8];
            let _ = self.memory.read(pa, &mut b);
            out.push(b[0]);
        }
        Ok(out)
    }
}
