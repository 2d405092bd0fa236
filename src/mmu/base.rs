//! Dynamic relocation with a base register and no bounds.
//!
//! `pa = base + va`, for every address. There is no check at all, on
//! purpose: the lecture's point is that a process can then reach another
//! process's memory (E6: P1's store to 3072 lands at 4096, inside P2).

use super::{Access, Mmu, MmuRegisters, Mode, RegisterError, Step, StepRecorder};
use crate::addr::{PhysAddr, VirtAddr};
use crate::fault::{Fault, FaultKind};
use crate::memory::PhysicalMemory;

/// A base register over `phys_size` bytes of physical memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Base {
    base: u64,
    phys_size: u64,
}

impl Base {
    /// A base register holding `base`. Any base is accepted (as in hardware):
    /// translations that leave physical memory fault when they happen.
    pub fn new(base: u64, phys_size: u64) -> Self {
        Self { base, phys_size }
    }

    /// The base register.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// Loads the base register. Privileged.
    pub fn set_base(&mut self, mode: Mode, base: u64) -> Result<(), RegisterError> {
        super::require_kernel(mode)?;
        self.base = base;
        Ok(())
    }
}

impl Mmu for Base {
    /// The base register alone decides.
    #[inline(always)]
    fn translation_is_stable(&self) -> bool {
        true
    }

    /// The walk is a compare and an add: cheaper than a software-TLB lookup.
    #[inline(always)]
    fn software_tlb_pays(&self) -> bool {
        false
    }

    fn mechanism(&self) -> &'static str {
        "base"
    }

    /// The whole address space is one piece: the valid addresses are an
    /// interval from 0, mapped linearly.
    #[inline(always)]
    fn one_piece(&self, _first: VirtAddr, _last: VirtAddr) -> bool {
        true
    }

    #[inline(always)]
    fn walk<R: StepRecorder>(
        &self,
        _mem: &PhysicalMemory,
        va: VirtAddr,
        access: Access,
        rec: &mut R,
    ) -> Result<PhysAddr, Fault> {
        // 1. Add the base register to the virtual address (no bounds check).
        let pa = self.base.checked_add(va.as_u64());
        rec.record(|| Step::AddBase {
            base: self.base,
            offset: va.as_u64(),
            pa,
        });
        let pa = pa.ok_or(Fault::new(va, access, FaultKind::Overflow))?;
        // 2. Memory answers only for addresses it has.
        super::check_physical(va, access, pa, self.phys_size, rec)
    }

    fn registers(&self) -> MmuRegisters {
        MmuRegisters::Base { base: self.base }
    }

    fn load_registers(&mut self, mode: Mode, regs: &MmuRegisters) -> Result<(), RegisterError> {
        super::require_kernel(mode)?;
        match regs {
            MmuRegisters::Base { base } => {
                self.base = *base;
                Ok(())
            }
            other => Err(RegisterError::WrongMechanism {
                expected: "base",
                got: other.mechanism(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pa(m: &Base, va: u64) -> u64 {
        m.translate(
            crate::memory::PhysicalMemory::empty(),
            VirtAddr::new(va),
            Access::Read,
        )
        .unwrap()
        .as_u64()
    }

    #[test]
    fn e6_base_register_relocates_every_address() {
        let p1 = Base::new(1024, 16 * 1024);
        let p2 = Base::new(4096, 16 * 1024);
        assert_eq!(pa(&p1, 100), 1124);
        assert_eq!(pa(&p2, 100), 4196);
        assert_eq!(pa(&p2, 1000), 5096);
        assert_eq!(pa(&p1, 1000), 2024);
        // No bounds: P1 reaches P2's memory.
        assert_eq!(pa(&p1, 3072), 4096);
    }

    #[test]
    fn base_overflow_is_a_fault_not_a_wrap() {
        let m = Base::new(u64::MAX, u64::MAX);
        let f = m
            .translate(
                crate::memory::PhysicalMemory::empty(),
                VirtAddr::new(1),
                Access::Read,
            )
            .unwrap_err();
        assert_eq!(f.kind, FaultKind::Overflow);
    }

    #[test]
    fn user_mode_cannot_load_the_base_register() {
        let mut m = Base::new(0, 4096);
        assert_eq!(m.set_base(Mode::User, 8), Err(RegisterError::Privileged));
        assert_eq!(m.base(), 0);
        m.set_base(Mode::Kernel, 8).unwrap();
        assert_eq!(m.base(), 8);
    }
}
