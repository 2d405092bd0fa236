//! Paging with a linear page table: the next lecture's mechanism.
//!
//! The address space is cut into fixed-size pages and physical memory into
//! frames of the same size. The low bits of a virtual address are the offset
//! inside the page, the high bits the virtual page number (VPN):
//!
//! ```text
//!   va_bits-1        page_bits  page_bits-1        0
//!  +---------------------------+-------------------+
//!  |            VPN            |      offset       |
//!  +---------------------------+-------------------+
//! ```
//!
//! The page table is an array indexed by VPN; each entry (PTE) holds a valid
//! bit and a physical frame number (PFN). On every access:
//!
//! ```text
//!   1. vpn = va >> page_bits, offset = va & (page_size - 1)
//!   2. if vpn >= number of entries: trap (beyond the address space)
//!   3. pte = page_table[vpn]; if !pte.valid: trap (invalid page)
//!   4. pa = (pte.pfn << page_bits) | offset
//! ```

use super::{Access, ConfigError, Mmu, MmuRegisters, Mode, RegisterError, Step, StepRecorder};
use crate::addr::{PhysAddr, VirtAddr};
use crate::fault::{Fault, FaultKind};
use crate::memory::PhysicalMemory;

/// One entry of a linear page table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PageTableEntry {
    /// Whether the page is part of the address space.
    pub valid: bool,
    /// The physical frame number holding the page (meaningful when valid).
    pub pfn: u64,
}

impl PageTableEntry {
    /// A valid entry mapping to frame `pfn`.
    pub const fn mapped(pfn: u64) -> Self {
        Self { valid: true, pfn }
    }

    /// An invalid entry: the page is not part of the address space.
    pub const fn invalid() -> Self {
        Self {
            valid: false,
            pfn: 0,
        }
    }
}

/// A linear page table over `phys_size` bytes of physical memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinearPageTable {
    page_bits: u32,
    entries: Vec<PageTableEntry>,
    phys_size: u64,
}

impl LinearPageTable {
    /// A page table with pages of `page_size` bytes; entry `i` maps virtual
    /// page `i`, so the address space is `entries.len() * page_size` bytes.
    ///
    /// Returns [`ConfigError::PageSize`] when the page size is not a power of
    /// two, [`ConfigError::BeyondPhysical`] when a valid entry names a frame
    /// past the end of physical memory.
    pub fn new(
        page_size: u64,
        entries: Vec<PageTableEntry>,
        phys_size: u64,
    ) -> Result<Self, ConfigError> {
        if !page_size.is_power_of_two() {
            return Err(ConfigError::PageSize(page_size));
        }
        let page_bits = page_size.trailing_zeros();
        for (vpn, pte) in entries.iter().enumerate() {
            if !pte.valid {
                continue;
            }
            let start = u128::from(pte.pfn) << page_bits;
            if start + u128::from(page_size) > u128::from(phys_size) {
                return Err(ConfigError::BeyondPhysical {
                    what: format!("frame {} of virtual page {vpn}", pte.pfn),
                    end: start + u128::from(page_size),
                    phys_size,
                });
            }
        }
        Ok(Self {
            page_bits,
            entries,
            phys_size,
        })
    }

    /// The page size in bytes.
    pub fn page_size(&self) -> u64 {
        1 << self.page_bits
    }

    /// How many low bits of an address are the offset.
    pub fn page_bits(&self) -> u32 {
        self.page_bits
    }

    /// The page table, indexed by VPN.
    pub fn entries(&self) -> &[PageTableEntry] {
        &self.entries
    }

    /// The physical memory size.
    pub fn phys_size(&self) -> u64 {
        self.phys_size
    }

    /// Splits `va` into (VPN, offset).
    #[inline(always)]
    pub fn split(&self, va: VirtAddr) -> (u64, u64) {
        let raw = va.as_u64();
        (raw >> self.page_bits, raw & (self.page_size() - 1))
    }
}

impl Mmu for LinearPageTable {
    /// The page table is held as registers here (not read from memory).
    #[inline(always)]
    fn translation_is_stable(&self) -> bool {
        true
    }

    fn mechanism(&self) -> &'static str {
        "paging"
    }

    /// One page is one piece: valid or not as a whole.
    #[inline(always)]
    fn one_piece(&self, first: VirtAddr, last: VirtAddr) -> bool {
        self.split(first).0 == self.split(last).0
    }

    #[inline(always)]
    fn walk<R: StepRecorder>(
        &self,
        _mem: &PhysicalMemory,
        va: VirtAddr,
        access: Access,
        rec: &mut R,
    ) -> Result<PhysAddr, Fault> {
        let fault = |kind| Fault::new(va, access, kind);
        // 1. Split the address: VPN | offset.
        let (vpn, offset) = self.split(va);
        rec.record(|| Step::SplitPage {
            vpn,
            offset,
            offset_bits: self.page_bits,
        });
        // 2. The VPN must index the table (the address space's size).
        let Some(pte) = usize::try_from(vpn).ok().and_then(|i| self.entries.get(i)) else {
            rec.record(|| Step::CheckBounds {
                offset: vpn,
                bounds: self.entries.len() as u64,
                ok: false,
            });
            return Err(fault(FaultKind::AddressWidth));
        };
        // 3. Read the PTE: an invalid page traps to the OS.
        rec.record(|| Step::PageTableLookup {
            vpn,
            valid: pte.valid,
            pfn: pte.pfn,
        });
        if !pte.valid {
            return Err(fault(FaultKind::InvalidPage));
        }
        // 4. The frame's address plus the offset.
        let pa = pte
            .pfn
            .checked_mul(self.page_size())
            .and_then(|frame| frame.checked_add(offset));
        rec.record(|| Step::JoinFrame {
            pfn: pte.pfn,
            offset,
            pa,
        });
        let pa = pa.ok_or(fault(FaultKind::Overflow))?;
        // 5. Memory answers only for addresses it has.
        super::check_physical(va, access, pa, self.phys_size, rec)
    }

    fn registers(&self) -> MmuRegisters {
        MmuRegisters::PageTable {
            page_bits: self.page_bits,
            entries: self.entries.clone(),
        }
    }

    fn load_registers(&mut self, mode: Mode, regs: &MmuRegisters) -> Result<(), RegisterError> {
        super::require_kernel(mode)?;
        match regs {
            MmuRegisters::PageTable { page_bits, entries } => {
                self.page_bits = *page_bits;
                self.entries.clone_from(entries);
                Ok(())
            }
            other => Err(RegisterError::WrongMechanism {
                expected: "paging",
                got: other.mechanism(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// OSTEP paging-linear-translate.py seed 0: 16k space, 4k pages, 64k memory.
    fn ostep_seed0() -> LinearPageTable {
        LinearPageTable::new(
            4096,
            vec![
                PageTableEntry::mapped(12),
                PageTableEntry::invalid(),
                PageTableEntry::invalid(),
                PageTableEntry::mapped(6),
            ],
            64 * 1024,
        )
        .unwrap()
    }

    fn read(m: &LinearPageTable, va: u64) -> Result<u64, FaultKind> {
        m.translate(
            crate::memory::PhysicalMemory::empty(),
            VirtAddr::new(va),
            Access::Read,
        )
        .map(PhysAddr::as_u64)
        .map_err(|f| f.kind)
    }

    #[test]
    fn valid_page_maps_to_frame_plus_offset() {
        let m = ostep_seed0();
        assert_eq!(read(&m, 0x3229), Ok(0x6229));
        assert_eq!(read(&m, 0x3a1e), Ok(0x6a1e));
        assert_eq!(read(&m, 0x0fff), Ok(0xcfff));
    }

    #[test]
    fn invalid_page_traps() {
        let m = ostep_seed0();
        assert_eq!(read(&m, 0x1369), Err(FaultKind::InvalidPage));
        assert_eq!(read(&m, 0x2556), Err(FaultKind::InvalidPage));
    }

    #[test]
    fn vpn_beyond_the_table_traps() {
        assert_eq!(read(&ostep_seed0(), 0x4000), Err(FaultKind::AddressWidth));
        assert_eq!(read(&ostep_seed0(), u64::MAX), Err(FaultKind::AddressWidth));
    }

    #[test]
    fn explain_records_vpn_and_lookup() {
        let t = ostep_seed0().explain(
            crate::memory::PhysicalMemory::empty(),
            VirtAddr::new(0x3229),
            Access::Read,
        );
        assert_eq!(
            t.steps[0],
            Step::SplitPage {
                vpn: 3,
                offset: 0x229,
                offset_bits: 12
            }
        );
        assert!(t.steps.contains(&Step::PageTableLookup {
            vpn: 3,
            valid: true,
            pfn: 6
        }));
    }

    #[test]
    fn narration_names_the_vpn_the_entry_and_the_frame() {
        let m = ostep_seed0();
        let ok = crate::render::translation::narrate(&m.explain(
            crate::memory::PhysicalMemory::empty(),
            VirtAddr::new(0x3229),
            Access::Read,
        ));
        assert!(ok.contains("vpn = va >> 12 = 3, offset 0x229"), "{ok}");
        assert!(ok.contains("page_table[3]: valid, pfn 6"), "{ok}");
        assert!(
            ok.contains("join   frame 6 | offset 0x229 = 0x6229"),
            "{ok}"
        );
        let bad = crate::render::translation::narrate(&m.explain(
            crate::memory::PhysicalMemory::empty(),
            VirtAddr::new(0x1369),
            Access::Read,
        ));
        assert!(bad.contains("page_table[1]: NOT valid"), "{bad}");
        assert!(bad.contains("invalid page"), "{bad}");
    }

    #[test]
    fn page_size_must_be_a_power_of_two_and_frames_must_exist() {
        assert_eq!(
            LinearPageTable::new(3000, vec![], 1 << 16),
            Err(ConfigError::PageSize(3000))
        );
        assert_eq!(
            LinearPageTable::new(0, vec![], 1 << 16),
            Err(ConfigError::PageSize(0))
        );
        assert!(LinearPageTable::new(4096, vec![PageTableEntry::mapped(16)], 1 << 16).is_err());
        assert!(LinearPageTable::new(4096, vec![PageTableEntry::mapped(15)], 1 << 16).is_ok());
    }

    #[test]
    fn context_switch_loads_another_page_table() {
        let mut m = ostep_seed0();
        let other = MmuRegisters::PageTable {
            page_bits: 12,
            entries: vec![PageTableEntry::mapped(1); 4],
        };
        assert_eq!(
            m.load_registers(Mode::User, &other),
            Err(RegisterError::Privileged)
        );
        m.load_registers(Mode::Kernel, &other).unwrap();
        assert_eq!(read(&m, 0x3005), Ok(0x1005));
        assert_eq!(m.registers(), other);
    }
}
