//! Multi-level page tables for teaching: the tables live in physical memory,
//! and the number of levels, the page size, each level's index width and
//! the entry format are all configurable.
//!
//! A virtual address is cut into one index per level (the root's first) and
//! the offset inside the page:
//!
//! ```text
//!   va_bits-1                                       page_bits-1      0
//!  +------------+------------+-----+----------------+----------------+
//!  | index[0]   | index[1]   | ... | index[n-1]     |     offset     |
//!  +------------+------------+-----+----------------+----------------+
//!    root table   next level         last level (leaf)
//! ```
//!
//! Three shapes the lecture uses, all the same code:
//!
//! | layout | address | page | indices | entry |
//! | --- | --- | --- | --- | --- |
//! | [`Layout::ostep`] (OSTEP's `paging-multilevel-translate`) | 15 bits | 32 B | 5 + 5 | 1 byte: valid bit 7, PFN bits 6..0 |
//! | [`Layout::x86_32`] (two levels, 32-bit) | 32 bits | 4 KiB | 10 + 10 | 4 bytes: V R W X in bits 0..3, PFN from bit 12 |
//! | a linear table ([`Layout::new`] with one level) | any | any | one | any |
//!
//! The *page-directory base register* (PDBR) holds the physical address of
//! the root table; it is the MMU's one register ([`MmuRegisters::PageDirectoryBase`]),
//! loaded by the kernel on a context switch. A table of level `l` has
//! `2^index_bits[l]` entries of [`EntryFormat::size`] bytes; an entry points
//! to the next level's table (or, at the last level, to the page) by its
//! page frame number: the table or page starts at `pfn << page_bits`.
//!
//! The walk, for level 0 (the root) down to the last:
//!
//! ```text
//!   1. va must fit in va_bits, or the access faults (address width)
//!   2. split va into index[0..n] and the offset
//!   3. entry = memory[table + index[level] * entry_size]
//!      (an entry beyond physical memory: an access fault)
//!   4. valid bit clear: a page fault (the level says which entry)
//!   5. not the last level: table = pfn << page_bits, go to 3
//!   6. the last level's entry is the leaf: with permission bits in the
//!      format, it must allow the access (R, W or X), or a protection fault
//!   7. pa = (pfn << page_bits) | offset, which must lie in memory
//! ```
//!
//! Permission bits are checked on the leaf only (a pointer's permission
//! bits are ignored); there are no superpages. The kernel side ([`map`],
//! [`unmap`], [`leaf_entry`], [`table_usage`]) writes and reads the same
//! entries through the same [`PhysicalMemory`].

use super::{Access, Mmu, MmuRegisters, Mode, Perms, RegisterError, Step, StepRecorder};
use crate::addr::{PhysAddr, VirtAddr};
use crate::fault::{Fault, FaultKind};
use crate::memory::PhysicalMemory;
use std::collections::HashSet;

/// The most levels a layout may have.
pub const MAX_LEVELS: usize = 16;

/// Where the bits of one page-table entry are.
///
/// ```text
///   size*8-1                pfn_shift+pfn_bits-1   pfn_shift
///  +-----------------------+-----------------------+-----------+
///  | valid / perms bits    |          PFN          | V/R/W/X   |
///  +-----------------------+-----------------------+-----------+
/// ```
///
/// (the valid and permission bits may lie above or below the PFN field, but
/// never inside it).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct EntryFormat {
    /// Bytes of one entry: 1, 2, 4 or 8 (little-endian in memory).
    pub size: u32,
    /// The bit that says the entry is valid.
    pub valid_bit: u32,
    /// The bits of R, W and X, in that order; `None`: the format has no
    /// permission bits and a valid page allows every access.
    pub perm_bits: Option<[u32; 3]>,
    /// Where the PFN field starts.
    pub pfn_shift: u32,
    /// How many bits the PFN field has.
    pub pfn_bits: u32,
    /// What every entry of a fresh table holds (invalid). OSTEP fills new
    /// tables with `0x7f` (invalid, PFN 127); most formats use 0.
    pub empty: u64,
}

impl EntryFormat {
    /// OSTEP's one-byte entry, for directory and table alike: valid bit 7,
    /// a 7-bit PFN below it, no permission bits; a fresh table is `0x7f`.
    pub const OSTEP: EntryFormat = EntryFormat {
        size: 1,
        valid_bit: 7,
        perm_bits: None,
        pfn_shift: 0,
        pfn_bits: 7,
        empty: 0x7f,
    };

    /// A four-byte entry: V, R, W, X in bits 0..3 and a 20-bit PFN from bit
    /// 12 (the shape of 32-bit x86's entries, without its other bits).
    pub const WORD32: EntryFormat = EntryFormat {
        size: 4,
        valid_bit: 0,
        perm_bits: Some([1, 2, 3]),
        pfn_shift: 12,
        pfn_bits: 20,
        empty: 0,
    };

    /// An eight-byte entry: V, R, W, X in bits 0..3 and a 44-bit PFN from
    /// bit 10 (where Sv39 keeps its PPN).
    pub const WORD64: EntryFormat = EntryFormat {
        size: 8,
        valid_bit: 0,
        perm_bits: Some([1, 2, 3]),
        pfn_shift: 10,
        pfn_bits: 44,
        empty: 0,
    };

    /// Checks that every field fits the entry and no two overlap.
    ///
    /// Returns the one-line reason otherwise.
    pub fn check(&self) -> Result<(), LayoutError> {
        let bad = |why: String| Err(LayoutError::Entry(why));
        if ![1, 2, 4, 8].contains(&self.size) {
            return bad(format!(
                "an entry of {} bytes (use 1, 2, 4 or 8)",
                self.size
            ));
        }
        let width = self.size * 8;
        if self.pfn_bits == 0 || self.pfn_bits > 63 {
            return bad(format!(
                "a PFN field of {} bits (use 1 to 63)",
                self.pfn_bits
            ));
        }
        if u64::from(self.pfn_shift) + u64::from(self.pfn_bits) > u64::from(width) {
            return bad(format!(
                "the PFN field (bits {}..{}) does not fit a {}-bit entry",
                self.pfn_shift,
                u64::from(self.pfn_shift) + u64::from(self.pfn_bits) - 1,
                width
            ));
        }
        let pfn = self.pfn_mask() << self.pfn_shift;
        let mut used = pfn;
        let mut named = vec![("valid", self.valid_bit)];
        if let Some([r, w, x]) = self.perm_bits {
            named.extend([("R", r), ("W", w), ("X", x)]);
        }
        for (name, bit) in named {
            if bit >= width {
                return bad(format!(
                    "the {name} bit {bit} is outside a {width}-bit entry"
                ));
            }
            if used & (1 << bit) != 0 {
                return bad(format!(
                    "the {name} bit {bit} overlaps the PFN field or another bit"
                ));
            }
            used |= 1 << bit;
        }
        let all = if width == 64 {
            u64::MAX
        } else {
            (1 << width) - 1
        };
        if self.empty & !all != 0 || self.is_valid(self.empty) {
            return bad(format!(
                "the empty entry {:#x} must fit the entry and be invalid",
                self.empty
            ));
        }
        Ok(())
    }

    fn pfn_mask(&self) -> u64 {
        (1u64 << self.pfn_bits) - 1
    }

    /// Whether `entry`'s valid bit is set.
    #[inline(always)]
    pub fn is_valid(&self, entry: u64) -> bool {
        entry >> self.valid_bit & 1 != 0
    }

    /// The frame number `entry` names.
    #[inline(always)]
    pub fn pfn(&self, entry: u64) -> u64 {
        entry >> self.pfn_shift & self.pfn_mask()
    }

    /// The permissions of `entry` (all of them when the format has no
    /// permission bits).
    #[inline(always)]
    pub fn perms(&self, entry: u64) -> Perms {
        match self.perm_bits {
            None => Perms::all(),
            Some([r, w, x]) => {
                let mut p = Perms::empty();
                p.set(Perms::R, entry >> r & 1 != 0);
                p.set(Perms::W, entry >> w & 1 != 0);
                p.set(Perms::X, entry >> x & 1 != 0);
                p
            }
        }
    }

    /// A valid entry naming frame `pfn` with `perms` (ignored by a format
    /// without permission bits), or `None` when `pfn` does not fit the PFN
    /// field.
    pub fn make(&self, pfn: u64, perms: Perms) -> Option<u64> {
        if pfn > self.pfn_mask() {
            return None;
        }
        let mut e = (pfn << self.pfn_shift) | (1 << self.valid_bit);
        if let Some([r, w, x]) = self.perm_bits {
            for (bit, p) in [(r, Perms::R), (w, Perms::W), (x, Perms::X)] {
                if perms.contains(p) {
                    e |= 1 << bit;
                }
            }
        }
        Some(e)
    }

    /// The flags as letters, `-` for a clear bit: `v` alone, or `vrwx` when
    /// the format has permission bits.
    pub fn letters(&self, entry: u64) -> String {
        let mut s = String::from(if self.is_valid(entry) { "v" } else { "-" });
        if self.perm_bits.is_some() {
            s.push_str(&self.perms(entry).to_string());
        }
        s
    }
}

/// Why a layout cannot be built (bad input: one line, exit 2).
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum LayoutError {
    /// No levels at all.
    #[error("a page table needs at least one level (got 0 index widths)")]
    NoLevels,
    /// More levels than [`MAX_LEVELS`].
    #[error("{0} levels: at most {MAX_LEVELS} are supported")]
    TooManyLevels(usize),
    /// The page size is not a power of two.
    #[error("a page size of {0} bytes is not a power of two")]
    PageSize(u64),
    /// A level has no index bits.
    #[error("level {0} has 0 index bits (each level needs at least 1)")]
    EmptyLevel(usize),
    /// The address width is 0 or over 64 bits.
    #[error("an address width of {0} bits is not between 1 and 64")]
    AddressWidth(u32),
    /// The index widths and the offset do not add up to the address width.
    #[error(
        "index widths {indices:?} ({index_sum} bits) + {page_bits} offset bits = {total} bits, not the {va_bits}-bit address width"
    )]
    Widths {
        /// The index widths, root first.
        indices: Vec<u32>,
        /// Their sum.
        index_sum: u32,
        /// The offset bits.
        page_bits: u32,
        /// The sum of all.
        total: u32,
        /// The address width asked for.
        va_bits: u32,
    },
    /// A table would be larger than 2^63 bytes.
    #[error("level {level}'s table of 2^{bits} entries of {size} bytes is too large")]
    TableTooLarge {
        /// The level.
        level: usize,
        /// Its index bits.
        bits: u32,
        /// Bytes per entry.
        size: u32,
    },
    /// A frame number shifted by the page bits would not fit 64 bits.
    #[error("a {pfn_bits}-bit PFN with {page_bits}-bit pages does not fit a 64-bit address")]
    FrameWidth {
        /// The PFN bits.
        pfn_bits: u32,
        /// The page bits.
        page_bits: u32,
    },
    /// A field of the entry format is wrong.
    #[error("entry format: {0}")]
    Entry(String),
    /// The root table does not lie inside physical memory.
    #[error(
        "the root table at {root:#x} ({bytes} bytes) ends beyond physical memory of {phys_size:#x} bytes"
    )]
    RootOutside {
        /// The root's physical address.
        root: u64,
        /// The root table's size.
        bytes: u64,
        /// The memory size.
        phys_size: u64,
    },
}

/// The shape of a multi-level page table: page size, each level's index
/// width (root first) and the entry format. The hardware's fixed part; the
/// tables themselves are in memory.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Layout {
    page_bits: u32,
    index_bits: Vec<u32>,
    entry: EntryFormat,
}

impl Layout {
    /// A layout for `va_bits`-bit addresses with pages of `page_size` bytes
    /// and `index_bits` bits of index per level, root first, with entries
    /// in `entry`'s format. One level is a linear page table.
    ///
    /// Returns the [`LayoutError`] naming what is wrong: no levels, a page
    /// size that is not a power of two, widths that do not add up to
    /// `va_bits`, a bad entry format, tables or frames too large to
    /// address.
    pub fn new(
        va_bits: u32,
        page_size: u64,
        index_bits: Vec<u32>,
        entry: EntryFormat,
    ) -> Result<Self, LayoutError> {
        if index_bits.is_empty() {
            return Err(LayoutError::NoLevels);
        }
        if index_bits.len() > MAX_LEVELS {
            return Err(LayoutError::TooManyLevels(index_bits.len()));
        }
        if !page_size.is_power_of_two() {
            return Err(LayoutError::PageSize(page_size));
        }
        if va_bits == 0 || va_bits > 64 {
            return Err(LayoutError::AddressWidth(va_bits));
        }
        if let Some(level) = index_bits.iter().position(|&b| b == 0) {
            return Err(LayoutError::EmptyLevel(level));
        }
        let page_bits = page_size.trailing_zeros();
        let index_sum: u64 = index_bits.iter().map(|&b| u64::from(b)).sum();
        let total = index_sum + u64::from(page_bits);
        if total != u64::from(va_bits) {
            return Err(LayoutError::Widths {
                indices: index_bits,
                index_sum: index_sum.min(u64::from(u32::MAX)) as u32,
                page_bits,
                total: total.min(u64::from(u32::MAX)) as u32,
                va_bits,
            });
        }
        entry.check()?;
        for (level, &bits) in index_bits.iter().enumerate() {
            if u64::from(bits) + u64::from(entry.size.trailing_zeros()) > 62 {
                return Err(LayoutError::TableTooLarge {
                    level,
                    bits,
                    size: entry.size,
                });
            }
        }
        if entry.pfn_bits + page_bits > 64 {
            return Err(LayoutError::FrameWidth {
                pfn_bits: entry.pfn_bits,
                page_bits,
            });
        }
        Ok(Self {
            page_bits,
            index_bits,
            entry,
        })
    }

    /// OSTEP's two-level table (`paging-multilevel-translate.py`): 15-bit
    /// addresses, 32-byte pages, a 5-bit directory index and a 5-bit table
    /// index, one-byte entries ([`EntryFormat::OSTEP`]).
    pub fn ostep() -> Self {
        Self {
            page_bits: 5,
            index_bits: vec![5, 5],
            entry: EntryFormat::OSTEP,
        }
    }

    /// The classic 32-bit two-level table: 4 KiB pages, 10 + 10 index bits,
    /// four-byte entries ([`EntryFormat::WORD32`]): each table is one page
    /// of 1024 entries.
    pub fn x86_32() -> Self {
        Self {
            page_bits: 12,
            index_bits: vec![10, 10],
            entry: EntryFormat::WORD32,
        }
    }

    /// The number of levels.
    pub fn levels(&self) -> usize {
        self.index_bits.len()
    }

    /// Index bits per level, root first.
    pub fn index_bits(&self) -> &[u32] {
        &self.index_bits
    }

    /// The width of a virtual address.
    pub fn va_bits(&self) -> u32 {
        self.page_bits + self.index_bits.iter().sum::<u32>()
    }

    /// log2 of the page size: the offset's bits.
    pub fn page_bits(&self) -> u32 {
        self.page_bits
    }

    /// The page size in bytes.
    pub fn page_size(&self) -> u64 {
        1 << self.page_bits
    }

    /// The entry format.
    pub fn entry(&self) -> &EntryFormat {
        &self.entry
    }

    /// Bytes of one table of `level` (entries times entry size); 0 for a
    /// level that does not exist.
    pub fn table_bytes(&self, level: usize) -> u64 {
        self.index_bits
            .get(level)
            .map_or(0, |&b| u64::from(self.entry.size) << b)
    }

    /// Whether `va` fits in the address width.
    #[inline(always)]
    pub fn fits(&self, va: u64) -> bool {
        let bits = self.va_bits();
        bits >= 64 || va >> bits == 0
    }

    /// The index of `va` into `level`'s table (`va` must fit).
    #[inline(always)]
    pub fn index(&self, va: u64, level: usize) -> u64 {
        let below: u32 = self.page_bits + self.index_bits[level + 1..].iter().sum::<u32>();
        (va >> below) & ((1u64 << self.index_bits[level]) - 1)
    }

    /// The indices of `va`, root first.
    pub fn indices(&self, va: u64) -> Vec<u64> {
        (0..self.levels()).map(|l| self.index(va, l)).collect()
    }

    /// The offset of `va` inside its page.
    #[inline(always)]
    pub fn offset(&self, va: u64) -> u64 {
        va & (self.page_size() - 1)
    }

    /// The virtual page number of `va`.
    pub fn vpn(&self, va: u64) -> u64 {
        va >> self.page_bits
    }

    /// Where the entry `index` of the table at `table` is, or `None` past
    /// 2^64.
    #[inline(always)]
    fn entry_pa(&self, table: u64, index: u64) -> Option<u64> {
        index
            .checked_mul(u64::from(self.entry.size))
            .and_then(|off| table.checked_add(off))
    }

    /// Where frame `pfn` starts (fits: the layout checked the widths).
    #[inline(always)]
    fn frame_pa(&self, pfn: u64) -> u64 {
        pfn << self.page_bits
    }
}

/// The multi-level MMU: the layout (hardware) and the page-directory base
/// register over a physical memory of `phys_size` bytes. The tables
/// themselves are in that memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultiLevel {
    layout: Layout,
    root: u64,
    phys_size: u64,
    /// A TLB in front of the walk (untagged: this format has no ASIDs, so
    /// loading the base register flushes it).
    tlb: Option<super::tlb::Tlb>,
    /// Walks made so far (every translation the TLB did not answer).
    walks: std::cell::Cell<u64>,
}

impl MultiLevel {
    /// An MMU of `layout` whose root table is at physical address `root`, in
    /// a memory of `phys_size` bytes.
    ///
    /// Returns [`LayoutError::RootOutside`] when the root table does not lie
    /// inside memory.
    pub fn new(layout: Layout, root: u64, phys_size: u64) -> Result<Self, LayoutError> {
        let bytes = layout.table_bytes(0);
        if u128::from(root) + u128::from(bytes) > u128::from(phys_size) {
            return Err(LayoutError::RootOutside {
                root,
                bytes,
                phys_size,
            });
        }
        Ok(Self {
            layout,
            root,
            phys_size,
            tlb: None,
            walks: std::cell::Cell::new(0),
        })
    }

    /// The same MMU with an empty TLB shaped by `config` in front of its
    /// walk. The format has no address-space identifiers: the TLB is
    /// flushed whenever the base register is loaded (a context switch), and
    /// the kernel flushes a page's entry ([`MultiLevel::flush_tlb`]) when
    /// it changes or removes its mapping.
    pub fn with_tlb(mut self, config: super::tlb::TlbConfig) -> Self {
        let config = config.with_tagging(super::tlb::Tagging::FlushOnSwitch);
        self.tlb = Some(super::tlb::Tlb::new(config));
        self
    }

    /// The TLB, if there is one.
    pub fn tlb(&self) -> Option<&super::tlb::Tlb> {
        self.tlb.as_ref()
    }

    /// How many page-table walks translations made so far.
    pub fn walks(&self) -> u64 {
        self.walks.get()
    }

    /// Drops the TLB's entry for the page of `va` (every entry when
    /// `None`): what the kernel does after unmapping a page. Privileged.
    pub fn flush_tlb(&self, mode: Mode, va: Option<u64>) -> Result<(), RegisterError> {
        super::require_kernel(mode)?;
        if let Some(tlb) = &self.tlb {
            tlb.flush(va, None);
        }
        Ok(())
    }

    /// The layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The page-directory base register: the root table's physical address.
    pub fn root(&self) -> u64 {
        self.root
    }

    /// The physical memory size.
    pub fn phys_size(&self) -> u64 {
        self.phys_size
    }
}

/// The valid leaf entry a walk found for a virtual page.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Leaf {
    /// The entry's bits.
    pub entry: u64,
    /// Its physical address.
    pub entry_pa: u64,
    /// The page's frame number.
    pub pfn: u64,
}

/// Where a walk stopped without a leaf.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Stop {
    /// The level whose entry stopped it (0 is the root).
    pub level: usize,
    /// Why: [`FaultKind::PageFault`] for an invalid entry,
    /// [`FaultKind::OutsidePhysicalMemory`] for an entry beyond memory,
    /// [`FaultKind::AddressWidth`] (level 0) for an address too wide.
    pub kind: FaultKind,
}

/// Walks the tables rooted at `root` for `va` down to the leaf, reading
/// every entry from `mem` and telling `rec` each one
/// ([`Step::ReadEntry`]). No permission check: the first half of
/// [`MultiLevel`]'s walk, and what the kernel uses to find a page's entry.
///
/// Returns the leaf, or where and why the walk stopped. Never panics.
pub fn find_leaf<R: StepRecorder>(
    mem: &PhysicalMemory,
    layout: &Layout,
    root: u64,
    va: u64,
    rec: &mut R,
) -> Result<Leaf, Stop> {
    if !layout.fits(va) {
        return Err(Stop {
            level: 0,
            kind: FaultKind::AddressWidth,
        });
    }
    let fmt = &layout.entry;
    let last = layout.levels() - 1;
    let mut table = root;
    for level in 0..=last {
        let index = layout.index(va, level);
        let entry_pa = layout.entry_pa(table, index);
        let raw = entry_pa.and_then(|a| mem.read_le(PhysAddr::new(a), fmt.size as usize).ok());
        let Some(raw) = raw else {
            rec.record(|| Step::ReadEntry {
                level: level as u32,
                index,
                entry_pa: entry_pa.unwrap_or(u64::MAX),
                raw: None,
                flags: String::new(),
                valid: false,
                leaf: level == last,
                pfn: 0,
            });
            return Err(Stop {
                level,
                kind: FaultKind::OutsidePhysicalMemory,
            });
        };
        let entry_pa = entry_pa.unwrap_or_default();
        let valid = fmt.is_valid(raw);
        let pfn = fmt.pfn(raw);
        rec.record(|| Step::ReadEntry {
            level: level as u32,
            index,
            entry_pa,
            raw: Some(raw),
            flags: fmt.letters(raw),
            valid,
            leaf: level == last,
            pfn,
        });
        if !valid {
            return Err(Stop {
                level,
                kind: FaultKind::PageFault,
            });
        }
        if level == last {
            return Ok(Leaf {
                entry: raw,
                entry_pa,
                pfn,
            });
        }
        table = layout.frame_pa(pfn);
    }
    unreachable!("the loop returns at the last level")
}

impl Mmu for MultiLevel {
    fn mechanism(&self) -> &'static str {
        "multilevel"
    }

    /// Two addresses in one page share its leaf and its checks.
    #[inline(always)]
    fn one_piece(&self, first: VirtAddr, last: VirtAddr) -> bool {
        self.layout.vpn(first.as_u64()) == self.layout.vpn(last.as_u64())
    }

    fn walk<R: StepRecorder>(
        &self,
        mem: &PhysicalMemory,
        va: VirtAddr,
        access: Access,
        rec: &mut R,
    ) -> Result<PhysAddr, Fault> {
        let raw = va.as_u64();
        let layout = &self.layout;
        let fault = |kind| Fault::new(va, access, kind);
        // 1. The address must fit the address width.
        if !layout.fits(raw) {
            rec.record(|| Step::CheckBounds {
                offset: raw,
                bounds: 1u64 << layout.va_bits(),
                ok: false,
            });
            return Err(fault(FaultKind::AddressWidth));
        }
        // 2. The TLB first: a hit skips the walk, never the check.
        let offset = layout.offset(raw);
        if let Some(tlb) = &self.tlb {
            let vpn = raw >> layout.page_bits;
            match tlb.lookup(raw, 0, access) {
                Some(e) => {
                    rec.record(|| Step::TlbLookup {
                        vpn,
                        asid: None,
                        pfn: Some(e.frame >> layout.page_bits),
                        second: false,
                    });
                    return self.finish(e.perms, e.frame >> layout.page_bits, va, access, rec);
                }
                None => rec.record(|| Step::TlbLookup {
                    vpn,
                    asid: None,
                    pfn: None,
                    second: false,
                }),
            }
        }
        // 2b. Split: index[0] | ... | index[n-1] | offset.
        rec.record(|| Step::SplitIndices {
            indices: layout.indices(raw),
            index_bits: layout.index_bits.clone(),
            offset,
            offset_bits: layout.page_bits,
        });
        // 3-5. Read one entry per level, from the root down to the leaf.
        self.walks.set(self.walks.get() + 1);
        let leaf = find_leaf(mem, layout, self.root, raw, rec).map_err(|s| fault(s.kind))?;
        let result = self.finish(leaf.entry, leaf.pfn, va, access, rec);
        // 8. Refill: the TLB keeps translations that worked.
        if let (Some(tlb), Ok(_)) = (&self.tlb, &result) {
            tlb.fill(super::tlb::TlbEntry {
                asid: 0,
                global: false,
                vpn: raw >> layout.page_bits,
                page_bits: layout.page_bits,
                frame: layout.frame_pa(leaf.pfn),
                perms: leaf.entry,
            });
        }
        result
    }

    fn registers(&self) -> MmuRegisters {
        MmuRegisters::PageDirectoryBase { root: self.root }
    }

    fn load_registers(&mut self, mode: Mode, regs: &MmuRegisters) -> Result<(), RegisterError> {
        super::require_kernel(mode)?;
        match regs {
            MmuRegisters::PageDirectoryBase { root } => {
                self.root = *root;
                if let Some(tlb) = &self.tlb {
                    tlb.switch_address_space();
                }
                Ok(())
            }
            other => Err(RegisterError::WrongMechanism {
                expected: "multilevel",
                got: other.mechanism(),
            }),
        }
    }

    /// One translation (one TLB probe) per page the access touches
    /// (`mmu::paged_span`): inside a page every byte has the same leaf
    /// and checks.
    #[inline(always)]
    fn translate_span(
        &self,
        mem: &PhysicalMemory,
        va: VirtAddr,
        size: u64,
        access: Access,
    ) -> Result<PhysAddr, Fault> {
        super::paged_span(
            self,
            mem,
            va,
            size,
            access,
            self.layout.page_bits,
            self.phys_size,
        )
    }
}

impl MultiLevel {
    /// Steps 6 and 7 for a leaf entry (from the walk or the TLB): the
    /// permission check when the format has permission bits, then the
    /// frame's address with the offset.
    fn finish<R: StepRecorder>(
        &self,
        entry: u64,
        pfn: u64,
        va: VirtAddr,
        access: Access,
        rec: &mut R,
    ) -> Result<PhysAddr, Fault> {
        let layout = &self.layout;
        let raw = va.as_u64();
        let offset = layout.offset(raw);
        // 6. The leaf must allow the access, when the format says.
        if layout.entry.perm_bits.is_some() {
            let perms = layout.entry.perms(entry);
            let ok = perms.contains(access.required());
            rec.record(|| Step::CheckEntry {
                what: match access {
                    Access::Fetch => "X=1: executable",
                    Access::Read => "R=1: readable",
                    Access::Write => "W=1: writable",
                }
                .into(),
                ok,
            });
            if !ok {
                return Err(Fault::new(va, access, FaultKind::Protection));
            }
        }
        // 7. The frame's address with the offset.
        let pa = layout.frame_pa(pfn) | offset;
        rec.record(|| Step::JoinFrame {
            pfn,
            offset,
            pa: Some(pa),
        });
        super::check_physical(va, access, pa, self.phys_size, rec)
    }
}

/// Why the kernel could not change a multi-level table.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum MapError {
    /// The virtual address does not fit the layout or is not page-aligned.
    #[error("virtual address {0:#x} does not fit the address width or is not page-aligned")]
    BadAddress(u64),
    /// The frame number does not fit the entry's PFN field.
    #[error("frame {pfn} does not fit a {bits}-bit PFN field")]
    FrameTooLarge {
        /// The frame.
        pfn: u64,
        /// The field's width.
        bits: u32,
    },
    /// A new table was needed and the allocator had no room.
    #[error("out of memory for a page table")]
    OutOfMemory,
    /// A table or entry lies outside physical memory.
    #[error("page-table memory at {0:#x} is outside physical memory")]
    Outside(u64),
}

/// Fills the table of `level` at physical address `table` with empty
/// entries ([`EntryFormat::empty`]): what the kernel does to a frame before
/// it becomes a table.
///
/// Returns [`MapError::Outside`] when the table does not fit in memory.
pub fn init_table(
    mem: &mut PhysicalMemory,
    layout: &Layout,
    level: usize,
    table: u64,
) -> Result<(), MapError> {
    let fmt = &layout.entry;
    let entries = 1u64 << layout.index_bits.get(level).copied().unwrap_or(0);
    let size = u64::from(fmt.size);
    let end = entries
        .checked_mul(size)
        .and_then(|b| table.checked_add(b))
        .ok_or(MapError::Outside(table))?;
    if end > mem.size() {
        return Err(MapError::Outside(table));
    }
    if fmt.empty == 0 {
        return mem
            .zero(PhysAddr::new(table), end - table)
            .map_err(|_| MapError::Outside(table));
    }
    for i in 0..entries {
        mem.write_le(PhysAddr::new(table + i * size), size as usize, fmt.empty)
            .map_err(|_| MapError::Outside(table + i * size))?;
    }
    Ok(())
}

/// The kernel's side: maps the page at `va` (page-aligned) to frame `pfn`
/// with `perms` in the tables rooted at `root`, writing the entries into
/// `mem`. A missing table on the way is created: `alloc(bytes)` gives the
/// frame number of `bytes` free contiguous bytes (or `None`: memory is
/// full), which is filled with empty entries and pointed to by a valid
/// entry. An existing mapping of `va` is replaced.
///
/// Returns the physical address of the leaf entry written, or the
/// [`MapError`]; on an error, tables created so far stay.
pub fn map(
    mem: &mut PhysicalMemory,
    layout: &Layout,
    root: u64,
    va: u64,
    pfn: u64,
    perms: Perms,
    alloc: &mut dyn FnMut(u64) -> Option<u64>,
) -> Result<u64, MapError> {
    if !layout.fits(va) || layout.offset(va) != 0 {
        return Err(MapError::BadAddress(va));
    }
    let fmt = layout.entry;
    let leaf = fmt.make(pfn, perms).ok_or(MapError::FrameTooLarge {
        pfn,
        bits: fmt.pfn_bits,
    })?;
    let size = fmt.size as usize;
    let last = layout.levels() - 1;
    let mut table = root;
    for level in 0..=last {
        let index = layout.index(va, level);
        let entry_pa = layout
            .entry_pa(table, index)
            .ok_or(MapError::Outside(table))?;
        if level == last {
            mem.write_le(PhysAddr::new(entry_pa), size, leaf)
                .map_err(|_| MapError::Outside(entry_pa))?;
            return Ok(entry_pa);
        }
        let e = mem
            .read_le(PhysAddr::new(entry_pa), size)
            .map_err(|_| MapError::Outside(entry_pa))?;
        if fmt.is_valid(e) {
            table = layout.frame_pa(fmt.pfn(e));
            continue;
        }
        // No table below yet: take memory for one, empty it, point to it.
        let next = alloc(layout.table_bytes(level + 1)).ok_or(MapError::OutOfMemory)?;
        let pointer = fmt
            .make(next, Perms::all())
            .ok_or(MapError::FrameTooLarge {
                pfn: next,
                bits: fmt.pfn_bits,
            })?;
        table = layout.frame_pa(next);
        init_table(mem, layout, level + 1, table)?;
        mem.write_le(PhysAddr::new(entry_pa), size, pointer)
            .map_err(|_| MapError::Outside(entry_pa))?;
    }
    unreachable!("the loop returns at the last level")
}

/// The valid leaf entry mapping `va` in the tables rooted at `root`, or
/// `None` when the walk finds none (what the kernel reads to unmap a page,
/// or to check a mapping).
pub fn leaf_entry(mem: &PhysicalMemory, layout: &Layout, root: u64, va: u64) -> Option<Leaf> {
    find_leaf(mem, layout, root, va, &mut super::NoSteps).ok()
}

/// Unmaps the page of `va`: its leaf entry becomes the empty entry. Tables
/// left empty stay allocated (as xv6's `uvmunmap` leaves them).
///
/// Returns the frame the page had, or `None` when it was not mapped.
pub fn unmap(mem: &mut PhysicalMemory, layout: &Layout, root: u64, va: u64) -> Option<u64> {
    let leaf = leaf_entry(mem, layout, root, va)?;
    let fmt = layout.entry;
    mem.write_le(PhysAddr::new(leaf.entry_pa), fmt.size as usize, fmt.empty)
        .ok()?;
    Some(leaf.pfn)
}

/// What a process's page tables cost: the tables of each level reachable
/// from the root, and their bytes.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct TableUsage {
    /// How many tables each level has, root first (the root level is 1).
    pub tables: Vec<u64>,
    /// Their bytes together (each table is `2^index_bits * entry size`).
    pub bytes: u64,
    /// Valid leaf entries: pages mapped.
    pub pages: u64,
}

/// Counts the tables reachable from `root` by reading them in `mem`: every
/// valid entry above the last level names one table of the next level
/// (each distinct table counted once, however many entries point to it; a
/// table that is not in memory is not counted). A linear table for 32-bit
/// addresses with 4 KiB pages and four-byte entries is 4 MiB; a two-level
/// table for a sparse space is a few KiB.
pub fn table_usage(mem: &PhysicalMemory, layout: &Layout, root: u64) -> TableUsage {
    let fmt = layout.entry;
    let size = fmt.size as usize;
    let mut usage = TableUsage {
        tables: vec![0; layout.levels()],
        bytes: 0,
        pages: 0,
    };
    let mut seen: HashSet<(usize, u64)> = HashSet::new();
    let mut todo = vec![(0usize, root)];
    while let Some((level, table)) = todo.pop() {
        let bytes = layout.table_bytes(level);
        let inside = table
            .checked_add(bytes)
            .is_some_and(|end| end <= mem.size());
        if !inside || !seen.insert((level, table)) {
            continue;
        }
        usage.tables[level] += 1;
        usage.bytes = usage.bytes.saturating_add(bytes);
        let last = level + 1 == layout.levels();
        // Only the frames holding data can hold a valid entry (the rest
        // read as zeros, and a zero entry is invalid): a huge, sparse table
        // costs what is written in it.
        let esize = u64::from(fmt.size);
        let mut next = 0u64;
        for (from, len) in mem
            .held_spans(PhysAddr::new(table), bytes)
            .unwrap_or_default()
        {
            let rel = from.as_u64() - table;
            let first = (rel / esize).max(next);
            let end = (rel + len).div_ceil(esize);
            for i in first..end {
                let Ok(e) = mem.read_le(PhysAddr::new(table + i * esize), size) else {
                    continue;
                };
                if !fmt.is_valid(e) {
                    continue;
                }
                if last {
                    usage.pages += 1;
                } else {
                    todo.push((level + 1, layout.frame_pa(fmt.pfn(e))));
                }
            }
            next = end;
        }
    }
    usage
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::translation::narrate;

    /// A bump allocator of frames from `next` on, `page` bytes each.
    fn bump(next: u64, page: u64) -> impl FnMut(u64) -> Option<u64> {
        let mut next = next;
        move |bytes| {
            let pfn = next;
            next += bytes.div_ceil(page).max(1);
            Some(pfn)
        }
    }

    fn x86_machine() -> (PhysicalMemory, MultiLevel) {
        let mut mem = PhysicalMemory::new(16 << 20);
        let layout = Layout::x86_32();
        init_table(&mut mem, &layout, 0, 0x1000).unwrap();
        (mem, MultiLevel::new(layout, 0x1000, 16 << 20).unwrap())
    }

    #[test]
    fn a_mapped_page_translates_to_its_frame_and_its_neighbours_fault() {
        let (mut mem, m) = x86_machine();
        let layout = m.layout().clone();
        map(
            &mut mem,
            &layout,
            0x1000,
            0x0804_8000,
            0x123,
            Perms::R | Perms::W,
            &mut bump(2, 4096),
        )
        .unwrap();
        let pa = m
            .translate(&mem, VirtAddr::new(0x0804_8abc), Access::Write)
            .unwrap();
        assert_eq!(pa.as_u64(), 0x123abc);
        for va in [0x0804_7fff, 0x0804_9000, 0] {
            let f = m
                .translate(&mem, VirtAddr::new(va), Access::Read)
                .unwrap_err();
            assert_eq!(f.kind, FaultKind::PageFault, "{va:#x}");
        }
        let f = m
            .translate(&mem, VirtAddr::new(0x0804_8000), Access::Fetch)
            .unwrap_err();
        assert_eq!(f.kind, FaultKind::Protection);
        let f = m
            .translate(&mem, VirtAddr::new(1 << 32), Access::Read)
            .unwrap_err();
        assert_eq!(f.kind, FaultKind::AddressWidth);
    }

    #[test]
    fn the_walk_reads_one_entry_per_level_and_narrates_it() {
        let (mut mem, m) = x86_machine();
        let layout = m.layout().clone();
        map(
            &mut mem,
            &layout,
            0x1000,
            0x0040_1000,
            0x77,
            Perms::R,
            &mut bump(2, 4096),
        )
        .unwrap();
        let t = m.explain(&mem, VirtAddr::new(0x0040_1234), Access::Read);
        assert_eq!(
            t.steps[0],
            Step::SplitIndices {
                indices: vec![1, 1],
                index_bits: vec![10, 10],
                offset: 0x234,
                offset_bits: 12
            }
        );
        let reads = t
            .steps
            .iter()
            .filter(|s| matches!(s, Step::ReadEntry { .. }))
            .count();
        assert_eq!(reads, 2);
        assert_eq!(t.result.unwrap().as_u64(), 0x77234);
        let text = narrate(&t);
        assert!(text.contains("L0     entry [1] at PA 0x1004"), "{text}");
        assert!(text.contains("next table in frame 0x2"), "{text}");
        assert!(text.contains("L1     entry [1] at PA 0x2004"), "{text}");
        assert!(text.contains("leaf: page frame 0x77"), "{text}");
        assert!(text.contains("check  R=1: readable: ok"), "{text}");
    }

    #[test]
    fn ostep_entries_are_one_byte_with_valid_bit_7() {
        let mut mem = PhysicalMemory::new(4096);
        let layout = Layout::ostep();
        let root = 108 * 32;
        init_table(&mut mem, &layout, 0, root).unwrap();
        // Directory entry 24 -> table in page 33; its entry 8 -> page 53.
        map(
            &mut mem,
            &layout,
            root,
            0x611c & !31,
            53,
            Perms::all(),
            &mut |_| Some(33),
        )
        .unwrap();
        assert_eq!(mem.read_le(PhysAddr::new(root + 24), 1).unwrap(), 0xa1);
        assert_eq!(mem.read_le(PhysAddr::new(33 * 32 + 8), 1).unwrap(), 0xb5);
        // The fresh table is 0x7f everywhere else.
        assert_eq!(mem.read_le(PhysAddr::new(33 * 32), 1).unwrap(), 0x7f);
        let m = MultiLevel::new(layout, root, 4096).unwrap();
        let pa = m
            .translate(&mem, VirtAddr::new(0x611c), Access::Read)
            .unwrap();
        assert_eq!(pa.as_u64(), 0x6bc);
        let t = m.explain(&mem, VirtAddr::new(0x3da8), Access::Read);
        assert!(matches!(
            t.steps.last(),
            Some(Step::ReadEntry {
                level: 0,
                raw: Some(0x7f),
                valid: false,
                ..
            })
        ));
    }

    #[test]
    fn a_linear_table_is_the_one_level_case_and_costs_4_mib() {
        let layout = Layout::new(32, 4096, vec![20], EntryFormat::WORD32).unwrap();
        assert_eq!(layout.table_bytes(0), 4 << 20);
        let mut mem = PhysicalMemory::new(64 << 20);
        init_table(&mut mem, &layout, 0, 0).unwrap();
        let mut alloc = |_| None;
        map(&mut mem, &layout, 0, 0x1000, 0x2000, Perms::R, &mut alloc).unwrap();
        map(
            &mut mem,
            &layout,
            0,
            0xffff_f000,
            0x2001,
            Perms::R,
            &mut alloc,
        )
        .unwrap();
        let u = table_usage(&mem, &layout, 0);
        assert_eq!(u.tables, vec![1]);
        assert_eq!(u.bytes, 4 << 20);
        assert_eq!(u.pages, 2);
        let m = MultiLevel::new(layout, 0, 64 << 20).unwrap();
        let pa = m
            .translate(&mem, VirtAddr::new(0xffff_f010), Access::Read)
            .unwrap();
        assert_eq!(pa.as_u64(), 0x0200_1010);
    }

    #[test]
    fn a_sparse_two_level_table_costs_a_few_kib() {
        let (mut mem, m) = x86_machine();
        let layout = m.layout().clone();
        let mut alloc = bump(2, 4096);
        // Code at the bottom, a stack at the top: two tables below the root.
        for (i, va) in [0x1000u64, 0x2000, 0x3000, 0xbfff_f000]
            .into_iter()
            .enumerate()
        {
            map(
                &mut mem,
                &layout,
                0x1000,
                va,
                0x100 + i as u64,
                Perms::R,
                &mut alloc,
            )
            .unwrap();
        }
        let u = table_usage(&mem, &layout, 0x1000);
        assert_eq!(u.tables, vec![1, 2]);
        assert_eq!(u.bytes, 3 * 4096);
        assert_eq!(u.pages, 4);
    }

    #[test]
    fn unmap_clears_the_leaf_and_returns_the_frame() {
        let (mut mem, m) = x86_machine();
        let layout = m.layout().clone();
        map(
            &mut mem,
            &layout,
            0x1000,
            0x5000,
            9,
            Perms::R,
            &mut bump(2, 4096),
        )
        .unwrap();
        assert_eq!(leaf_entry(&mem, &layout, 0x1000, 0x5000).unwrap().pfn, 9);
        assert_eq!(unmap(&mut mem, &layout, 0x1000, 0x5000), Some(9));
        assert_eq!(unmap(&mut mem, &layout, 0x1000, 0x5000), None);
        let f = m
            .translate(&mem, VirtAddr::new(0x5000), Access::Read)
            .unwrap_err();
        assert_eq!(f.kind, FaultKind::PageFault);
    }

    #[test]
    fn map_refuses_bad_addresses_big_frames_and_full_memory() {
        let (mut mem, m) = x86_machine();
        let layout = m.layout().clone();
        let r = |mem: &mut PhysicalMemory, va, pfn, alloc: &mut dyn FnMut(u64) -> Option<u64>| {
            map(mem, &layout, 0x1000, va, pfn, Perms::R, alloc)
        };
        assert_eq!(
            r(&mut mem, 0x1001, 1, &mut |_| Some(2)),
            Err(MapError::BadAddress(0x1001))
        );
        assert_eq!(
            r(&mut mem, 1 << 32, 1, &mut |_| Some(2)),
            Err(MapError::BadAddress(1 << 32))
        );
        assert_eq!(
            r(&mut mem, 0x1000, 1 << 20, &mut |_| Some(2)),
            Err(MapError::FrameTooLarge {
                pfn: 1 << 20,
                bits: 20
            })
        );
        assert_eq!(
            r(&mut mem, 0x1000, 1, &mut |_| None),
            Err(MapError::OutOfMemory)
        );
        assert_eq!(
            r(&mut mem, 0x1000, 1, &mut |_| Some(1 << 19)),
            Err(MapError::Outside(1 << 31))
        );
    }

    #[test]
    fn bad_layouts_are_refused_with_a_reason() {
        let e = |va, page, idx: Vec<u32>, fmt| Layout::new(va, page, idx, fmt).unwrap_err();
        assert_eq!(e(15, 32, vec![], EntryFormat::OSTEP), LayoutError::NoLevels);
        assert_eq!(
            e(15, 30, vec![5, 5], EntryFormat::OSTEP),
            LayoutError::PageSize(30)
        );
        assert_eq!(
            e(15, 0, vec![5, 5], EntryFormat::OSTEP),
            LayoutError::PageSize(0)
        );
        let w = e(16, 32, vec![5, 5], EntryFormat::OSTEP);
        assert!(
            w.to_string().contains("not the 16-bit address width"),
            "{w}"
        );
        assert_eq!(
            e(10, 32, vec![5, 0], EntryFormat::OSTEP),
            LayoutError::EmptyLevel(1)
        );
        let mut f = EntryFormat::OSTEP;
        f.valid_bit = 3;
        assert!(
            e(15, 32, vec![5, 5], f)
                .to_string()
                .contains("overlaps the PFN")
        );
        f = EntryFormat::OSTEP;
        f.size = 3;
        assert!(e(15, 32, vec![5, 5], f).to_string().contains("3 bytes"));
        f = EntryFormat::WORD32;
        f.perm_bits = Some([1, 2, 40]);
        assert!(
            e(32, 4096, vec![10, 10], f)
                .to_string()
                .contains("X bit 40")
        );
        assert_eq!(
            e(70, 1 << 6, vec![64], EntryFormat::WORD64),
            LayoutError::AddressWidth(70)
        );
        assert!(Layout::new(15, 32, vec![5, 5], EntryFormat::OSTEP).unwrap() == Layout::ostep());
        assert!(
            Layout::new(32, 4096, vec![10, 10], EntryFormat::WORD32).unwrap() == Layout::x86_32()
        );
        assert_eq!(
            MultiLevel::new(Layout::ostep(), 4090, 4096),
            Err(LayoutError::RootOutside {
                root: 4090,
                bytes: 32,
                phys_size: 4096
            })
        );
    }

    #[test]
    fn entries_outside_memory_fault_instead_of_panicking() {
        // A root inside memory whose entry points far outside it.
        let mut mem = PhysicalMemory::new(4096);
        let layout = Layout::ostep();
        init_table(&mut mem, &layout, 0, 0).unwrap();
        mem.write_le(PhysAddr::new(0), 1, 0xff).unwrap(); // pfn 127: the last page
        let m = MultiLevel::new(layout.clone(), 0, 4096).unwrap();
        // The table at page 127 holds zeros: invalid.
        let f = m
            .translate(&mem, VirtAddr::new(0), Access::Read)
            .unwrap_err();
        assert_eq!(f.kind, FaultKind::PageFault);
        // With 2 KiB of memory the same pointer leads outside.
        let mut small = PhysicalMemory::new(2048);
        small.write_le(PhysAddr::new(0), 1, 0xff).unwrap();
        let m = MultiLevel::new(layout, 0, 2048).unwrap();
        let t = m.explain(&small, VirtAddr::new(0), Access::Read);
        assert_eq!(t.result.unwrap_err().kind, FaultKind::OutsidePhysicalMemory);
        assert!(narrate(&t).contains("beyond physical memory"));
    }

    #[test]
    fn the_page_directory_base_is_a_privileged_register() {
        let (_, mut m) = x86_machine();
        let regs = MmuRegisters::PageDirectoryBase { root: 0x8000 };
        assert_eq!(
            m.load_registers(Mode::User, &regs),
            Err(RegisterError::Privileged)
        );
        assert_eq!(m.root(), 0x1000);
        m.load_registers(Mode::Kernel, &regs).unwrap();
        assert_eq!(m.root(), 0x8000);
        assert_eq!(m.registers(), regs);
        assert!(
            m.load_registers(Mode::Kernel, &MmuRegisters::Base { base: 0 })
                .is_err()
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn any_layout() -> impl Strategy<Value = Layout> {
            prop_oneof![
                Just(Layout::ostep()),
                Just(Layout::x86_32()),
                Just(Layout::new(12, 16, vec![8], EntryFormat::OSTEP).unwrap()),
                Just(Layout::new(16, 16, vec![4, 4, 4], EntryFormat::WORD32).unwrap()),
                Just(Layout::new(20, 64, vec![3, 4, 7], EntryFormat::WORD64).unwrap()),
            ]
        }

        proptest! {
            /// Random memory contents never panic the walk, and the fast
            /// path agrees with the narrated one.
            #[test]
            fn random_memory_never_panics(
                layout in any_layout(),
                bytes in prop::collection::vec(any::<u8>(), 0..512),
                start in 0u64..8192,
                root in 0u64..8192,
                va in any::<u64>(),
                access in crate::mmu::any_access(),
            ) {
                let mut mem = PhysicalMemory::new(8192);
                let _ = mem.write(PhysAddr::new(start), &bytes);
                let Ok(m) = MultiLevel::new(layout.clone(), root, 8192) else {
                    return Ok(());
                };
                for v in [va, va & ((1 << layout.va_bits()) - 1)] {
                    let t = m.explain(&mem, VirtAddr::new(v), access);
                    prop_assert_eq!(t.result, m.translate(&mem, VirtAddr::new(v), access));
                    if let Ok(pa) = t.result {
                        prop_assert!(pa.as_u64() < 8192);
                    }
                }
                let _ = table_usage(&mem, &layout, root);
            }

            /// Any layout a user can type is either refused with a reason
            /// or walks and maps without panicking.
            #[test]
            fn any_layout_is_refused_or_works(
                va_bits in 0u32..=70,
                exact in any::<bool>(),
                page_shift in 0u32..=70,
                odd_page in any::<bool>(),
                index_bits in prop::collection::vec(0u32..=70, 0..20),
                size in prop::sample::select(vec![0u32, 1, 2, 3, 4, 8, 16]),
                valid_bit in prop_oneof![0u32..=31, 0u32..=70],
                perm_bits in prop::option::of((0u32..=70, 0u32..=70, 0u32..=70)),
                pfn_shift in prop_oneof![0u32..=16, 0u32..=70],
                pfn_bits in prop_oneof![0u32..=24, 0u32..=70],
                empty in prop_oneof![Just(0u64), Just(0x7f), any::<u64>()],
                va in any::<u64>(),
                pfn in any::<u64>(),
                access in crate::mmu::any_access(),
            ) {
                let page_size = if page_shift >= 64 { 0 } else { (1u64 << page_shift) + u64::from(odd_page && page_shift > 1) };
                let sum: u32 = index_bits.iter().sum();
                let va_bits = if exact { sum + page_shift } else { va_bits };
                let entry = EntryFormat {
                    size,
                    valid_bit,
                    perm_bits: perm_bits.map(|(r, w, x)| [r, w, x]),
                    pfn_shift,
                    pfn_bits,
                    empty,
                };
                let Ok(layout) = Layout::new(va_bits, page_size, index_bits, entry) else {
                    return Ok(());
                };
                let mut mem = PhysicalMemory::new(1 << 16);
                let _ = init_table(&mut mem, &layout, 0, 0);
                let _ = map(&mut mem, &layout, 0, va, pfn, Perms::all(), &mut |_| Some(1));
                let _ = map(&mut mem, &layout, 0, va & !(layout.page_size() - 1), pfn, Perms::R, &mut |_| Some(1));
                if let Ok(m) = MultiLevel::new(layout.clone(), 0, 1 << 16) {
                    let t = m.explain(&mem, VirtAddr::new(va), access);
                    prop_assert_eq!(t.result, m.translate(&mem, VirtAddr::new(va), access));
                }
                let _ = unmap(&mut mem, &layout, 0, va);
                let _ = table_usage(&mem, &layout, 0);
            }

            /// Pages mapped by the kernel translate to their frames, and
            /// every other page faults.
            #[test]
            fn a_mapped_page_translates_to_its_frame_and_nothing_else_does(
                layout in any_layout(),
                pages in prop::collection::btree_map(0u64..1 << 10, 0u64..64, 0..12),
                probes in prop::collection::vec(any::<u64>(), 16),
            ) {
                let phys = 1u64 << 22;
                let mut mem = PhysicalMemory::new(phys);
                let vpages = 1u64 << (layout.va_bits() - layout.page_bits());
                let page = layout.page_size();
                // Tables from frame 64 on (above every data frame).
                let mut next = 64u64;
                let mut alloc = |bytes: u64| {
                    let pfn = next;
                    next += bytes.div_ceil(page).max(1);
                    Some(pfn)
                };
                let root_pfn = alloc(layout.table_bytes(0)).unwrap();
                let root = root_pfn * page;
                init_table(&mut mem, &layout, 0, root).unwrap();
                let mut want = std::collections::BTreeMap::new();
                for (&vp, &pfn) in &pages {
                    let vp = vp % vpages;
                    map(&mut mem, &layout, root, vp * page, pfn, Perms::all(), &mut alloc).unwrap();
                    want.insert(vp, pfn);
                }
                let m = MultiLevel::new(layout.clone(), root, phys).unwrap();
                let mut vas: Vec<u64> = want.keys().map(|vp| vp * page + page / 2).collect();
                vas.extend(probes.iter().map(|p| p % (vpages * page)));
                for va in vas {
                    let got = m.translate(&mem, VirtAddr::new(va), Access::Read);
                    match want.get(&(va / page)) {
                        Some(pfn) => prop_assert_eq!(got.map(|p| p.as_u64()), Ok(pfn * page + va % page)),
                        None => prop_assert_eq!(got.map_err(|f| f.kind), Err(FaultKind::PageFault)),
                    }
                }
                let usage = table_usage(&mem, &layout, root);
                prop_assert_eq!(usage.pages, want.len() as u64);
            }
        }
    }
}
