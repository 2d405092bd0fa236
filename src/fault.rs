//! Traps to the OS raised by the hardware: faults are values, never panics.
//!
//! Every fault carries the virtual address that caused it, the kind of access
//! (fetch, read, write) and the reason. The kernel decides what a fault does
//! (kill the process, grow the stack); the MMU only raises it.

use crate::access::Access;
use crate::addr::VirtAddr;
use std::fmt;

/// Why the hardware refused an access.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum FaultKind {
    /// The offset is not below the bounds (limit) register or segment size.
    Bounds,
    /// The access is not permitted by the segment's R/W/X bits.
    Protection,
    /// The address selects a segment that is not in use.
    InvalidSegment,
    /// User mode tried to write an MMU register or the mode bit.
    Privileged,
    /// The translated address lies beyond the end of physical memory.
    OutsidePhysicalMemory,
    /// Address arithmetic would pass 2^64 - 1 (or go below 0).
    Overflow,
    /// The virtual address does not fit the address width of the machine.
    AddressWidth,
    /// A load, store or fetch whose address is not a multiple of its size.
    Misaligned,
    /// Paging: the page-table entry's valid bit is clear.
    InvalidPage,
    /// Paging in memory (multi-level tables, Sv39): the walk found no valid
    /// leaf, the leaf forbids the access, or its accessed/dirty bit is
    /// clear. RISC-V's instruction, load and store page faults (which one is
    /// the fault's [`Access`]).
    PageFault,
}

impl FaultKind {
    /// The stable name used in JSON (`"bounds"`, `"invalid-segment"`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            FaultKind::Bounds => "bounds",
            FaultKind::Protection => "protection",
            FaultKind::InvalidSegment => "invalid-segment",
            FaultKind::Privileged => "privileged",
            FaultKind::OutsidePhysicalMemory => "outside-physical-memory",
            FaultKind::Overflow => "overflow",
            FaultKind::AddressWidth => "address-width",
            FaultKind::Misaligned => "misaligned",
            FaultKind::InvalidPage => "invalid-page",
            FaultKind::PageFault => "page-fault",
        }
    }

    /// The lecture's words for it.
    pub const fn describe(self) -> &'static str {
        match self {
            FaultKind::Bounds => "segmentation violation: out of bounds",
            FaultKind::Protection => "protection fault: access not permitted",
            FaultKind::InvalidSegment => "segmentation violation: invalid segment",
            FaultKind::Privileged => "privileged operation attempted in user mode",
            FaultKind::OutsidePhysicalMemory => "address beyond physical memory",
            FaultKind::Overflow => "address arithmetic overflow",
            FaultKind::AddressWidth => "address does not fit the address width",
            FaultKind::Misaligned => "misaligned access",
            FaultKind::InvalidPage => "segmentation violation: invalid page",
            FaultKind::PageFault => "page fault",
        }
    }
}

/// A trap raised by the MMU or CPU: what was accessed, how, and why it failed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Fault {
    /// The virtual address that faulted (0 for a privileged register write).
    pub va: VirtAddr,
    /// The kind of access that faulted.
    pub access: Access,
    /// The reason.
    pub kind: FaultKind,
}

impl Fault {
    /// A fault of `kind` for an `access` to `va`.
    pub const fn new(va: VirtAddr, access: Access, kind: FaultKind) -> Self {
        Self { va, access, kind }
    }

    /// The fault raised when user mode writes a privileged register.
    pub const fn privileged() -> Self {
        Self::new(VirtAddr::new(0), Access::Write, FaultKind::Privileged)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == FaultKind::Privileged {
            return f.write_str(self.kind.describe());
        }
        write!(
            f,
            "{} ({} of {})",
            self.kind.describe(),
            self.access.name(),
            self.va
        )
    }
}

impl std::error::Error for Fault {}
