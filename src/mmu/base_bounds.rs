//! Dynamic relocation with base and bounds registers.
//!
//! The bounds register holds the size of the address space. On every access:
//!
//! ```text
//!   if va >= bounds: trap to the OS (segmentation violation)
//!   pa = base + va
//! ```
//!
//! so a process can reach exactly `[base, base + bounds)` of physical memory.

use super::{Access, Mmu, MmuRegisters, Mode, RegisterError, Step, StepRecorder};
use crate::addr::{PhysAddr, VirtAddr};
use crate::fault::{Fault, FaultKind};
use crate::memory::PhysicalMemory;

/// Base and bounds registers over `phys_size` bytes of physical memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseBounds {
    base: u64,
    bounds: u64,
    phys_size: u64,
}

impl BaseBounds {
    /// Registers holding `base` and `bounds`, checked to fit physical memory.
    ///
    /// Returns [`super::ConfigError::BeyondPhysical`] when `base + bounds`
    /// passes the end of physical memory.
    pub fn new(base: u64, bounds: u64, phys_size: u64) -> Result<Self, super::ConfigError> {
        super::check_region("base + bounds", base, bounds, phys_size)?;
        Ok(Self {
            base,
            bounds,
            phys_size,
        })
    }

    /// The base register.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// The bounds register.
    pub fn bounds(&self) -> u64 {
        self.bounds
    }

    /// The physical memory size.
    pub fn phys_size(&self) -> u64 {
        self.phys_size
    }

    /// Loads both registers. Privileged. The hardware does not validate the
    /// values: an address beyond memory faults when it is used.
    pub fn set(&mut self, mode: Mode, base: u64, bounds: u64) -> Result<(), RegisterError> {
        super::require_kernel(mode)?;
        self.base = base;
        self.bounds = bounds;
        Ok(())
    }
}

impl Mmu for BaseBounds {
    /// Base and bounds registers alone decide.
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
        "base-bounds"
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
        let offset = va.as_u64();
        // 1. Is the virtual address inside the address space? (va < bounds)
        let ok = offset < self.bounds;
        rec.record(|| Step::CheckBounds {
            offset,
            bounds: self.bounds,
            ok,
        });
        if !ok {
            return Err(Fault::new(va, access, FaultKind::Bounds));
        }
        // 2. Relocate: pa = base + va.
        let pa = self.base.checked_add(offset);
        rec.record(|| Step::AddBase {
            base: self.base,
            offset,
            pa,
        });
        let pa = pa.ok_or(Fault::new(va, access, FaultKind::Overflow))?;
        // 3. Memory answers only for addresses it has.
        super::check_physical(va, access, pa, self.phys_size, rec)
    }

    fn registers(&self) -> MmuRegisters {
        MmuRegisters::BaseBounds {
            base: self.base,
            bounds: self.bounds,
        }
    }

    fn load_registers(&mut self, mode: Mode, regs: &MmuRegisters) -> Result<(), RegisterError> {
        super::require_kernel(mode)?;
        match regs {
            MmuRegisters::BaseBounds { base, bounds } => {
                self.base = *base;
                self.bounds = *bounds;
                Ok(())
            }
            other => Err(RegisterError::WrongMechanism {
                expected: "base-bounds",
                got: other.mechanism(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e7_bounds_stop_p1_before_it_reaches_p2() {
        let p1 = BaseBounds::new(1024, 1024, 16 * 1024).unwrap();
        assert_eq!(
            p1.translate(
                crate::memory::PhysicalMemory::empty(),
                VirtAddr::new(1000),
                Access::Read
            ),
            Ok(PhysAddr::new(2024))
        );
        let f = p1
            .translate(
                crate::memory::PhysicalMemory::empty(),
                VirtAddr::new(3072),
                Access::Write,
            )
            .unwrap_err();
        assert_eq!(f.kind, FaultKind::Bounds);
        assert_eq!(f.va, VirtAddr::new(3072));
        assert_eq!(f.access, Access::Write);
    }

    #[test]
    fn last_byte_is_inside_and_bounds_is_outside() {
        let m = BaseBounds::new(100, 10, 1000).unwrap();
        assert!(
            m.translate(
                crate::memory::PhysicalMemory::empty(),
                VirtAddr::new(9),
                Access::Read
            )
            .is_ok()
        );
        assert!(
            m.translate(
                crate::memory::PhysicalMemory::empty(),
                VirtAddr::new(10),
                Access::Read
            )
            .is_err()
        );
    }

    #[test]
    fn registers_beyond_physical_memory_are_rejected() {
        assert!(BaseBounds::new(15 * 1024, 2048, 16 * 1024).is_err());
        assert!(BaseBounds::new(u64::MAX, 2, u64::MAX).is_err());
    }

    #[test]
    fn context_switch_saves_and_restores_registers() {
        let mut m = BaseBounds::new(0, 0, 1 << 20).unwrap();
        let saved = MmuRegisters::BaseBounds {
            base: 4096,
            bounds: 1024,
        };
        assert_eq!(
            m.load_registers(Mode::User, &saved),
            Err(RegisterError::Privileged)
        );
        m.load_registers(Mode::Kernel, &saved).unwrap();
        assert_eq!(m.registers(), saved);
    }
}
