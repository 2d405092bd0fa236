//! The context switch: the OS takes the CPU from one process and gives it
//! to another.
//!
//! ```text
//!  user mode   P1 running
//!  ---------   trap / timer interrupt / system call  -> kernel mode
//!  kernel      1. save P1's registers into P1's PCB
//!              2. save the MMU registers (base/bounds, segment table, satp) into P1's PCB
//!              (time sharing: write P1's address space to disk, read P2's back)
//!              3. load P2's MMU registers from its PCB      (privileged)
//!                 paging: satp names P2's page table; without ASIDs the
//!                 TLB is flushed, with ASIDs its entries stay, tagged
//!              4. restore P2's registers
//!  ---------   return from trap                      -> user mode
//!  user mode   P2 running
//! ```
//!
//! Each step is an event. With `forget_mmu_reload` step 3 is skipped (E8's
//! bug): P2 runs with P1's base and bounds, and its accesses land in P1's
//! memory. Only the kernel may load MMU registers or set the mode bit: from
//! user mode both trap as privileged operations.

use super::event::{Event, Pid};
use super::process::{Context, ProcState};
use super::system::{Kernel, Strategy, registers_view};
use crate::fault::Fault;
use crate::mmu::{Mmu, MmuRegisters, Mode};

impl Kernel {
    /// Enters the kernel for `cause` (a no-op if already in kernel mode).
    pub fn enter_kernel(&mut self, cause: &'static str, detail: String) {
        if self.mode == Mode::Kernel {
            return;
        }
        self.emit(Event::Trap {
            pid: self.current,
            cause,
            detail,
        });
        self.mode = Mode::Kernel;
        self.emit(Event::Mode { mode: "kernel" });
    }

    /// Returns from the trap to user mode.
    pub(crate) fn return_to_user(&mut self) {
        self.mode = Mode::User;
        self.emit(Event::Mode { mode: "user" });
    }

    /// Switches the CPU to process `to` (which must be alive): saves the
    /// current process's registers and MMU state into its PCB, loads `to`'s,
    /// and returns to user mode. `cause` names why the kernel was entered
    /// (`timer-interrupt`, `yield`, `start`...). Switching to the running
    /// process does nothing.
    pub fn context_switch(&mut self, to: Pid, cause: &'static str) {
        let from = self.current;
        if from == Some(to) && self.proc(to).state == ProcState::Running {
            return;
        }
        let to_name = self.proc(to).name.clone();
        self.enter_kernel(cause, format!("switch to {to_name}"));
        if let Some(old) = from.filter(|&p| self.proc(p).alive()) {
            // 1. Save the CPU registers.
            let cpu = Context {
                pc: self.hart.pc,
                x: *self.hart.regs.as_array(),
            };
            let p = self.proc_mut(old);
            p.context = cpu;
            p.state = ProcState::Ready;
            self.emit(Event::ContextSwitch {
                from,
                to,
                step: "save-registers",
                registers: None,
                sp: stack_pointer(&self.proc(old).context),
            });
            // 2. Save the MMU registers.
            if self.config.strategy.dynamic() {
                let regs = self.mmu.registers();
                self.emit(Event::ContextSwitch {
                    from,
                    to,
                    step: "save-mmu",
                    registers: Some(registers_view(&regs)),
                    sp: None,
                });
                let was = std::mem::replace(&mut self.proc_mut(old).mmu, regs.clone());
                // After a forgotten reload the MMU holds another process's
                // values: saving them overwrites this PCB's own.
                if let Some(owner) = self.mmu_loaded_from.filter(|&o| o != old) {
                    if was != regs {
                        self.emit(Event::PcbOverwritten {
                            pid: old,
                            owner,
                            was: registers_view(&was),
                            now: registers_view(&regs),
                        });
                    }
                }
            }
        }
        if self.config.strategy == Strategy::TimeSharing {
            self.swap_for(to);
        }
        // 3. Load the new process's MMU registers (privileged).
        if self.config.strategy.dynamic() {
            let regs = self.proc(to).mmu.clone();
            if self.config.forget_mmu_reload && from.is_some() {
                self.emit(Event::ContextSwitch {
                    from,
                    to,
                    step: "skip-mmu-reload",
                    registers: Some(registers_view(&self.mmu.registers())),
                    sp: None,
                });
            } else {
                let _ = self.mmu.load_registers(Mode::Kernel, &regs);
                self.mmu_loaded_from = Some(to);
                self.emit(Event::ContextSwitch {
                    from,
                    to,
                    step: "load-mmu",
                    registers: Some(registers_view(&regs)),
                    sp: None,
                });
                // 3b. Paging: the TLB's entries belong to the old address
                //     space unless each is tagged with its ASID.
                if let Some(pg) = &self.paging {
                    let step = if pg.config.asid {
                        "keep-tlb"
                    } else {
                        "flush-tlb"
                    };
                    if from.is_some() {
                        self.emit(Event::ContextSwitch {
                            from,
                            to,
                            step,
                            registers: Some(registers_view(&regs)),
                            sp: None,
                        });
                    }
                }
            }
        }
        // 4. Restore the CPU registers.
        let ctx = self.proc(to).context.clone();
        self.hart.pc = ctx.pc;
        for (r, v) in ctx.x.iter().enumerate() {
            self.hart.regs.set(r, *v);
        }
        self.emit(Event::ContextSwitch {
            from,
            to,
            step: "restore-registers",
            registers: None,
            sp: stack_pointer(&ctx),
        });
        self.proc_mut(to).state = ProcState::Running;
        self.current = Some(to);
        if from.is_some() {
            self.context_switches += 1;
        }
        self.return_to_user();
    }

    /// The running process tries to write MMU registers itself (`set-base`,
    /// `set-bounds`). The MMU refuses in user mode: a privileged-operation
    /// trap, and the OS kills the process. Returns whether the write
    /// happened (only in kernel mode).
    pub fn user_load_registers(&mut self, regs: &MmuRegisters) -> bool {
        let Some(pid) = self.current else {
            return false;
        };
        let mode = self.mode;
        match self.mmu.load_registers(mode, regs) {
            Ok(()) => true,
            Err(e) => {
                let fault = e.as_fault().unwrap_or_else(Fault::privileged);
                self.privileged_trap(pid, fault, "writing the MMU registers");
                false
            }
        }
    }

    /// The running process tries to set the mode bit to kernel: a
    /// privileged-operation trap (in user mode), and the OS kills it.
    pub fn user_set_kernel_mode(&mut self) -> bool {
        let Some(pid) = self.current else {
            return false;
        };
        if self.mode == Mode::Kernel {
            return true;
        }
        self.privileged_trap(pid, Fault::privileged(), "setting the mode bit to kernel");
        false
    }

    /// A privileged operation from user mode: trap, and the OS kills the
    /// process.
    fn privileged_trap(&mut self, pid: Pid, fault: Fault, what: &str) {
        self.proc_mut(pid).stats.faults += 1;
        self.enter_kernel("privileged", format!("{what} in user mode"));
        self.kill(pid, format!("{} ({what})", fault.kind.describe()));
    }
}

/// The stack pointer (x2) of a saved context, when the process runs a
/// program (an access list's context is all zeros).
fn stack_pointer(ctx: &crate::kernel::process::Context) -> Option<u64> {
    let sp = ctx.x[2];
    (sp != 0).then_some(sp)
}
