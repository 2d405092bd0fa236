//! The access path: every user access goes through [`Kernel::user_access`]
//! (the MMU translates it, physical memory is read or written, the event
//! log gets the record, plus a `violation` when the byte belongs to someone
//! else), and the kernel's own translations of a process's addresses.

use crate::addr::VirtAddr;
use crate::fault::{Fault, FaultKind};
use crate::kernel::event::{Event, Owner, Pid};
use crate::kernel::layout::RegionKind;
use crate::kernel::process::Process;
use crate::mmu::{Access, AnyMmu, Mmu, MmuRegisters, Mode, RegisterError};

use super::{Kernel, Strategy, kernel_pa, static_region};

impl Kernel {
    /// Static relocation of one address of an access list: the loader adds
    /// the load address (and says so). Other strategies leave it alone.
    pub fn relocate_address(&mut self, pid: Pid, va: u64, what: &str) -> u64 {
        match (self.config.strategy, self.proc(pid).load_address) {
            (Strategy::StaticRelocation, Some(load)) => {
                let to = va.saturating_add(load);
                self.emit(Event::Relocate {
                    pid,
                    from: va,
                    to,
                    what: what.to_string(),
                });
                to
            }
            _ => va,
        }
    }

    /// Translates `va` the way process `pid`'s MMU registers would (the
    /// kernel reading a process's memory), or `None` on a fault.
    pub fn kernel_translate(&self, pid: Pid, va: u64) -> Option<u64> {
        kernel_pa(&self.memory, self.process_mmu(pid).as_ref(), None, va)
    }

    /// The MMU as process `pid` uses it, for replaying its addresses
    /// elsewhere (`vmlab trace --scenario`): when `pid` is on the CPU its
    /// registers are the ones loaded in the MMU (the PCB copy is only
    /// written at the next switch), so this is a copy of the live MMU;
    /// otherwise it is this machine's MMU (same physical memory, address
    /// width and segment count) loaded, in kernel mode, with the registers
    /// saved in `pid`'s PCB. Nothing is re-derived from the layout.
    ///
    /// Fails only when the saved registers do not fit this MMU (a kernel
    /// bug). Panics on an unknown pid, as [`Kernel::proc`]. No side effects.
    pub fn mmu_of(&self, pid: Pid) -> Result<AnyMmu, RegisterError> {
        if self.current == Some(pid) {
            return Ok(self.mmu.clone());
        }
        let mut mmu = self.mmu.clone();
        mmu.load_registers(Mode::Kernel, &self.proc(pid).mmu)?;
        Ok(mmu)
    }

    /// An MMU loaded with `pid`'s saved registers (kernel mode), for the
    /// kernel to reach the process's memory.
    pub(super) fn process_mmu(&self, pid: Pid) -> Option<AnyMmu> {
        let mut mmu = self.mmu.clone();
        mmu.load_registers(Mode::Kernel, &self.proc(pid).mmu).ok()?;
        Some(mmu)
    }

    // ------------------------------------------------------------------
    // User accesses
    // ------------------------------------------------------------------

    /// The current process accesses `size` bytes at `va` (a store writes
    /// `value`). The MMU translates; on success memory is read or written
    /// and the record says what was there; on a fault the trap handler
    /// decides (grow the stack and retry, or kill).
    ///
    /// Returns the value read (or written), or the fault if the process was
    /// killed. Without a running process, returns `None` and does nothing.
    pub fn user_access(
        &mut self,
        access: Access,
        va: u64,
        size: u64,
        value: u64,
    ) -> Option<Result<u64, Fault>> {
        let pid = self.current?;
        // A fault the OS fixes restarts the access; an access that needs
        // more frames at once than there are would restart forever.
        let mut restarts = 0;
        loop {
            let tlb_before = self.tlb_counts();
            let result = self
                .mmu
                .translate_span(&self.memory, VirtAddr::new(va), size, access);
            let tlb_after = self.tlb_counts();
            self.pending_tlb = if tlb_after.1 > tlb_before.1 {
                Some("miss")
            } else if tlb_after.0 > tlb_before.0 {
                Some("hit")
            } else {
                None
            };
            let result = result.and_then(|pa| {
                let fits = pa
                    .as_u64()
                    .checked_add(size)
                    .is_some_and(|end| end <= self.config.memory);
                if fits {
                    Ok(pa)
                } else {
                    Err(Fault::new(
                        VirtAddr::new(va),
                        access,
                        FaultKind::OutsidePhysicalMemory,
                    ))
                }
            });
            match result {
                Ok(pa) => {
                    let v = match access {
                        Access::Write => {
                            let v = value & mask(size);
                            let _ = self.memory.write_le(pa, size as usize, v);
                            v
                        }
                        _ => self.memory.read_le(pa, size as usize).unwrap_or(0),
                    };
                    self.record_access(pid, access, va, Ok(pa.as_u64()), size, v);
                    return Some(Ok(v));
                }
                Err(fault) => {
                    self.record_access(pid, access, va, Err(fault), size, 0);
                    restarts += 1;
                    if restarts > 8 && self.proc(pid).alive() {
                        self.enter_kernel("fault", fault.to_string());
                        self.kill(
                            pid,
                            format!("{fault}: the access cannot complete (it needs more frames at once than the OS can keep)"),
                        );
                        return Some(Err(fault));
                    }
                    if !self.handle_fault(pid, fault) {
                        return Some(Err(fault));
                    }
                    // The OS fixed it (stack growth): the instruction restarts.
                }
            }
        }
    }

    /// Counts and records one access of `pid` that the hardware made (or
    /// refused): the event, and a violation when the byte is not `pid`'s.
    /// Only an access that reached memory counts as a memory access (and
    /// is charged by the cost model); a refused one counts as a fault.
    pub(crate) fn record_access(
        &mut self,
        pid: Pid,
        access: Access,
        va: u64,
        result: Result<u64, Fault>,
        size: u64,
        value: u64,
    ) {
        if result.is_ok() {
            self.counts.accesses += 1;
            self.proc_mut(pid).stats.accesses += 1;
            self.paging_touch(pid, va, size, access);
        }
        let segment = match &self.mmu {
            AnyMmu::Segmentation(s) => s.split(VirtAddr::new(va)),
            _ => None,
        };
        let mut rec = crate::kernel::event::AccessRecord {
            pid,
            va,
            access: access.name(),
            pa: None,
            fault: None,
            segment: segment.map(|s| s.0),
            offset: segment.map(|s| s.1),
            region: self.region_name(pid, va),
            tlb: self.pending_tlb.take(),
            value: None,
            size,
        };
        match result {
            Ok(pa) => {
                rec.pa = Some(pa);
                if access != Access::Fetch {
                    rec.value = Some(value);
                }
                self.emit(access_event(access, rec));
                self.check_owner(pid, va, pa, size, access);
            }
            Err(fault) => {
                rec.fault = Some(fault.kind.name());
                self.proc_mut(pid).stats.faults += 1;
                self.emit(access_event(access, rec));
            }
        }
    }

    /// Records a violation when any of the `size` bytes from `pa` is not
    /// the accessing process's (the first such byte is named).
    fn check_owner(&mut self, pid: Pid, va: u64, pa: u64, size: u64, access: Access) {
        let foreign = (0..size.max(1)).find_map(|i| {
            let byte = pa.checked_add(i)?;
            let owner = self.owner_of(byte, Some(pid));
            (owner != Owner::Process(pid)).then_some((i, byte, owner))
        });
        if let Some((i, pa, owner)) = foreign {
            let va = va.saturating_add(i);
            let owner_va = match owner {
                Owner::Process(other) => self.va_of(other, pa),
                _ => None,
            };
            self.emit(Event::Violation {
                pid,
                va,
                pa,
                access: access.name(),
                owner,
                owner_va,
            });
        }
    }

    /// Who owns physical byte `pa` (preferring `me` for shared blocks).
    pub fn owner_of(&self, pa: u64, me: Option<Pid>) -> Owner {
        if self.paging.is_some() {
            return self.paging_owner(pa, me);
        }
        if pa < self.config.os_size {
            return Owner::Os;
        }
        let holds = |p: &Process| {
            p.alive()
                && p.block_at(pa).is_some()
                && (self.config.strategy != Strategy::TimeSharing
                    || self.disk.resident == Some(p.pid))
        };
        if let Some(me) = me {
            if holds(self.proc(me)) {
                return Owner::Process(me);
            }
        }
        match self.procs.iter().find(|p| holds(p)) {
            Some(p) => Owner::Process(p.pid),
            None => Owner::Free,
        }
    }

    /// The virtual address at which process `pid` sees physical byte `pa`.
    pub fn va_of(&self, pid: Pid, pa: u64) -> Option<u64> {
        if self.paging.is_some() {
            return self.paging_va_of(pid, pa);
        }
        let p = self.proc(pid);
        let b = p.block_at(pa)?;
        match (&p.mmu, b.segment) {
            (MmuRegisters::Segments(table), Some(i)) => {
                let ob = self.config.va_bits.checked_sub(2)?;
                let s = &table[i];
                let seg_base = (i as u64) << ob;
                if s.grows_down {
                    Some(seg_base + (1u64 << ob) - (s.base - pa))
                } else {
                    Some(seg_base + (pa - s.base))
                }
            }
            (MmuRegisters::Base { base }, _) | (MmuRegisters::BaseBounds { base, .. }, _) => {
                Some(pa - base)
            }
            _ => Some(pa),
        }
    }

    /// The region name of `va` in `pid`'s address space (`none` outside).
    pub fn region_name(&self, pid: Pid, va: u64) -> &'static str {
        let p = self.proc(pid);
        if let (MmuRegisters::Segments(table), true) = (&p.mmu, p.space.regions.is_empty()) {
            // Explicit segment table: name the segment.
            if let AnyMmu::Segmentation(s) = &self.mmu {
                if let Some((seg, _)) = s.split(VirtAddr::new(va)) {
                    return table[seg as usize]
                        .name
                        .as_deref()
                        .map(static_region)
                        .unwrap_or("none");
                }
            }
        }
        p.space
            .region_of(va)
            .map(RegionKind::name)
            .unwrap_or("none")
    }

    // ------------------------------------------------------------------
    // Registers and the memory map
    // ------------------------------------------------------------------

    /// Writes `pid`'s PCB registers into the MMU if it is running (the
    /// kernel changed them: growth, a move). Kernel mode.
    pub(crate) fn reload_if_current(&mut self, pid: Pid) {
        if self.current == Some(pid) {
            let regs = self.proc(pid).mmu.clone();
            let _ = self.mmu.load_registers(Mode::Kernel, &regs);
            self.mmu_loaded_from = Some(pid);
        }
    }
}

fn mask(size: u64) -> u64 {
    if size >= 8 {
        u64::MAX
    } else {
        (1u64 << (size * 8)) - 1
    }
}

fn access_event(access: Access, rec: crate::kernel::event::AccessRecord) -> Event {
    match access {
        Access::Fetch => Event::Fetch(rec),
        Access::Read => Event::Load(rec),
        Access::Write => Event::Store(rec),
    }
}
