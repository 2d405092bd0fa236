//! What a fault does: the hardware only raises it; the OS decides.
//!
//! - A reference just below the stack segment (under segmentation) is the
//!   stack growing: the OS extends the stack segment, up to `stack_limit`,
//!   and the instruction runs again.
//! - Under paging, a page fault on a page of the process that is not
//!   resident brings it in (demand paging, `paging`); the guard page, an
//!   address outside every region or a forbidden access kills.
//! - Anything else (bounds, protection, invalid segment, privileged
//!   operation) kills the process; the others go on, untouched.

use super::event::{Event, Pid};
use super::process::ProcState;
use super::system::{Kernel, Strategy};
use crate::fault::{Fault, FaultKind};
use crate::mmu::{AnyMmu, MmuRegisters};

impl Kernel {
    /// The trap handler for a fault of process `pid`. Returns `true` when the
    /// OS fixed the cause (the access should be retried), `false` when the
    /// process was killed.
    pub(crate) fn handle_fault(&mut self, pid: Pid, fault: Fault) -> bool {
        let cause = if fault.kind == FaultKind::Privileged {
            "privileged"
        } else {
            "fault"
        };
        self.enter_kernel(cause, fault.to_string());
        if self.paging.is_some() {
            return match self.paging_fault(pid, &fault) {
                Ok(()) => {
                    self.return_to_user();
                    true
                }
                Err(reason) => {
                    self.kill(pid, reason);
                    false
                }
            };
        }
        if let Some(new_size) = self.stack_growth_for(pid, &fault) {
            if self.grow_stack(pid, new_size).is_ok() {
                self.return_to_user();
                return true;
            }
        }
        self.kill(pid, fault.to_string());
        false
    }

    /// When `fault` is a reference below the stack segment within the stack
    /// limit, the stack size that would cover it.
    fn stack_growth_for(&self, pid: Pid, fault: &Fault) -> Option<u64> {
        if self.config.strategy != Strategy::Segmentation || fault.kind != FaultKind::Bounds {
            return None;
        }
        let AnyMmu::Segmentation(mmu) = &self.mmu else {
            return None;
        };
        let (seg, offset) = mmu.split(fault.va)?;
        let MmuRegisters::Segments(table) = &self.proc(pid).mmu else {
            return None;
        };
        let s = table.get(seg as usize)?;
        if !s.grows_down || s.name.as_deref() != Some("stack") {
            return None;
        }
        let max = 1u64.checked_shl(mmu.offset_bits())?;
        let distance = max - offset;
        let new_size = distance.div_ceil(16) * 16;
        (new_size > s.size && new_size <= self.config.stack_limit).then_some(new_size)
    }

    /// Kills `pid`: it becomes a zombie and its memory returns to the free
    /// list (shared code stays while another process uses it).
    pub fn kill(&mut self, pid: Pid, reason: String) {
        self.emit(Event::Kill { pid, reason });
        self.terminate(pid);
    }

    /// `pid` exits with `status`.
    pub fn exit(&mut self, pid: Pid, status: u64) {
        self.proc_mut(pid).exit_status = Some(status);
        self.emit(Event::Exit { pid, status });
        self.terminate(pid);
    }

    fn terminate(&mut self, pid: Pid) {
        self.proc_mut(pid).state = ProcState::Zombie;
        if self.current == Some(pid) {
            self.current = None;
        }
        if self.config.strategy == Strategy::TimeSharing {
            // Memory stays the resident area of time sharing.
            self.disk.images.remove(&pid);
            return;
        }
        if self.paging.is_some() {
            // Its pages, page tables and swap slots go back.
            self.paging_release(pid);
            return;
        }
        let blocks = self.proc(pid).memory.clone();
        for b in blocks {
            let still_used = b.shared
                && self
                    .procs
                    .iter()
                    .any(|q| q.pid != pid && q.alive() && q.memory.contains(&b));
            if !still_used {
                self.free.free(b.start, b.size);
                self.emit(Event::Free {
                    pid,
                    block: b.block(),
                });
            }
        }
    }
}
