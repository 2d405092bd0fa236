//! No translation at all: the physical address is the virtual address.
//!
//! This is the hardware of uniprogramming (one process owns memory) and of
//! static relocation (the loader rewrote the program's addresses, so the CPU
//! issues physical addresses directly). There is no protection: any address
//! inside physical memory is reachable.

use super::{Access, Mmu, MmuRegisters, Mode, RegisterError, Step, StepRecorder};
use crate::addr::{PhysAddr, VirtAddr};
use crate::fault::Fault;
use crate::memory::PhysicalMemory;

/// The identity "MMU" over `phys_size` bytes of physical memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    phys_size: u64,
}

impl Identity {
    /// No translation over a physical memory of `phys_size` bytes.
    pub fn new(phys_size: u64) -> Self {
        Self { phys_size }
    }
}

impl Mmu for Identity {
    /// No registers at all: `pa = va` (checked against memory's size).
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
        "identity"
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
        // 1. No translation hardware: the CPU's address goes straight to memory.
        rec.record(|| Step::Identity);
        // 2. Memory answers only for addresses it has.
        super::check_physical(va, access, va.as_u64(), self.phys_size, rec)
    }

    fn registers(&self) -> MmuRegisters {
        MmuRegisters::None
    }

    fn load_registers(&mut self, mode: Mode, regs: &MmuRegisters) -> Result<(), RegisterError> {
        super::require_kernel(mode)?;
        match regs {
            MmuRegisters::None => Ok(()),
            other => Err(RegisterError::WrongMechanism {
                expected: "identity",
                got: other.mechanism(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::FaultKind;

    #[test]
    fn identity_returns_the_same_address() {
        let m = Identity::new(0x1000);
        assert_eq!(
            m.translate(
                crate::memory::PhysicalMemory::empty(),
                VirtAddr::new(0x10),
                Access::Read
            ),
            Ok(PhysAddr::new(0x10))
        );
    }

    #[test]
    fn identity_faults_beyond_physical_memory() {
        let m = Identity::new(0x1000);
        let f = m
            .translate(
                crate::memory::PhysicalMemory::empty(),
                VirtAddr::new(0x1000),
                Access::Write,
            )
            .unwrap_err();
        assert_eq!(f.kind, FaultKind::OutsidePhysicalMemory);
    }
}
