//! The memory-management unit: the hardware that translates every virtual
//! address a process issues into a physical address, or raises a fault.
//!
//! One file per mechanism, in the lecture's order:
//!
//! | mechanism | file | translation |
//! | --- | --- | --- |
//! | none (uniprogramming, static relocation) | [`identity`] | `pa = va` |
//! | base register (dynamic relocation) | [`base`] | `pa = base + va` |
//! | base + bounds | [`base_bounds`] | `va < bounds ? base + va : fault` |
//! | segmentation | [`segmentation`] | `seg = top bits; offset < size ? base + offset : fault` |
//! | paging (linear page table) | [`paging`] | `pte = table[vpn]; valid ? pfn * page_size + offset : fault` |
//! | multi-level tables for teaching (levels, page size, entry format configurable) | [`multilevel`] | walk the tables from the page-directory base in physical memory; check valid, R/W/X |
//! | RISC-V Sv39 (three levels in memory) | [`sv39`] | walk `satp`'s tables in physical memory to a leaf; check U, R/W/X, A/D |
//! | a TLB in front of any walk | [`tlb`] | hit: the cached leaf, checked again; miss: walk and fill |
//!
//! Every mechanism implements [`Mmu::walk`] once; [`Mmu::translate`] (the fast
//! path, no record kept) and [`Mmu::explain`] (every step kept, for narration)
//! are both that same walk, so what is narrated is what runs.
//!
//! The MMU owns mechanism; the kernel owns policy. Loading MMU registers is a
//! privileged operation: from user mode it raises [`FaultKind::Privileged`].

pub mod base;
pub mod base_bounds;
pub mod identity;
pub mod multilevel;
pub mod paging;
pub mod segmentation;
pub mod sv39;
pub mod tlb;

pub use base::Base;
pub use base_bounds::BaseBounds;
pub use identity::Identity;
pub use multilevel::{EntryFormat, Layout, MultiLevel};
pub use paging::{LinearPageTable, PageTableEntry};
pub use segmentation::{Segment, Segmentation};
pub use sv39::{Satp, Sv39};
pub use tlb::{Policy, Tagging, Tlb, TlbConfig, TlbEntry, TlbStats, TlbTicket};

pub use crate::access::{Access, Perms};
use crate::addr::{PhysAddr, VirtAddr};
use crate::fault::{Fault, FaultKind};
use crate::memory::PhysicalMemory;

/// The processor's mode bit.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Mode {
    /// Privileged: the OS may load MMU registers and flip the mode bit.
    Kernel,
    /// Unprivileged: a process; privileged operations trap.
    User,
}

/// One step of a translation, recorded so a renderer can narrate it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Step {
    /// No translation hardware: the physical address is the virtual address.
    Identity,
    /// The top bits of the address select a segment, the rest are the offset.
    Split {
        /// The segment number (top `segment_bits` bits).
        segment: u32,
        /// The offset within the segment (low `offset_bits` bits).
        offset: u64,
        /// How many bits select the segment.
        segment_bits: u32,
        /// How many bits form the offset.
        offset_bits: u32,
    },
    /// The selected segment is not in use (size 0).
    SegmentUnused {
        /// The segment number.
        segment: u32,
    },
    /// `offset < bounds` (grows-up segment, or the bounds register).
    CheckBounds {
        /// The offset checked.
        offset: u64,
        /// The bounds (limit) it must stay below.
        bounds: u64,
        /// Whether it passed.
        ok: bool,
    },
    /// For a segment growing down: the distance below the top of the
    /// segment's range, `max - offset`, must be at most the segment size.
    CheckNegativeOffset {
        /// The maximum segment size `2^offset_bits` (up to 2^64).
        max: u128,
        /// The distance below the segment's top (the negative offset, up
        /// to 2^64).
        distance: u128,
        /// The segment size it must not exceed.
        bounds: u64,
        /// Whether it passed.
        ok: bool,
    },
    /// The access kind against the segment's permissions.
    CheckPermission {
        /// The access.
        access: Access,
        /// The segment's permissions.
        perms: Perms,
        /// Whether they allow the access.
        ok: bool,
    },
    /// `pa = base + offset` (`pa` is `None` when the sum overflows).
    AddBase {
        /// The base register.
        base: u64,
        /// The offset added.
        offset: u64,
        /// The sum.
        pa: Option<u64>,
    },
    /// `pa = base - distance`, for a segment growing down.
    SubtractFromBase {
        /// The base register (top of the segment).
        base: u64,
        /// The distance subtracted.
        distance: u64,
        /// The difference (`None` below zero).
        pa: Option<u64>,
    },
    /// Paging: the low bits are the offset in the page, the rest the VPN.
    SplitPage {
        /// The virtual page number.
        vpn: u64,
        /// The offset inside the page.
        offset: u64,
        /// How many bits form the offset.
        offset_bits: u32,
    },
    /// Paging: the page-table entry of `vpn` was read.
    PageTableLookup {
        /// The virtual page number.
        vpn: u64,
        /// The entry's valid bit.
        valid: bool,
        /// The entry's frame number.
        pfn: u64,
    },
    /// Paging: `pa = pfn * page_size + offset` (`None` on overflow).
    JoinFrame {
        /// The physical frame number.
        pfn: u64,
        /// The offset inside the page.
        offset: u64,
        /// The physical address.
        pa: Option<u64>,
    },
    /// A multi-level walk: the VPN cut into one index per level (the root's
    /// first) and the offset.
    SplitIndices {
        /// The index into each level's table, root first.
        indices: Vec<u64>,
        /// How many bits each index has, root first.
        index_bits: Vec<u32>,
        /// The offset inside the page.
        offset: u64,
        /// How many bits form the offset.
        offset_bits: u32,
    },
    /// Sv39: bits 63..39 of the address must all equal bit 38.
    CheckCanonical {
        /// Whether they do.
        ok: bool,
    },
    /// A multi-level walk read one entry from physical memory.
    ReadEntry {
        /// The level, 0 for the root table.
        level: u32,
        /// The index into that level's table.
        index: u64,
        /// The physical address of the entry.
        entry_pa: u64,
        /// The entry's bits as read (`None`: the address is not in memory).
        raw: Option<u64>,
        /// The entry's flags, in the format's own letters (`v r w x u g a d`
        /// for Sv39, with `-` for a clear bit).
        flags: String,
        /// Whether the valid bit is set.
        valid: bool,
        /// Whether the entry is a leaf (maps a page) rather than pointing to
        /// the next level's table.
        leaf: bool,
        /// The frame it names: the next table's, or the page's.
        pfn: u64,
    },
    /// A check the walk made on an entry, in words (`U=1: a user page`).
    CheckEntry {
        /// What was checked.
        what: String,
        /// Whether it passed.
        ok: bool,
    },
    /// The TLB was consulted for the page of the address.
    TlbLookup {
        /// The virtual page number looked up.
        vpn: u64,
        /// The address-space identifier it was tagged with, if the TLB uses
        /// ASIDs.
        asid: Option<u16>,
        /// The frame, on a hit (`None`: a miss, the walk follows).
        pfn: Option<u64>,
        /// Whether this is the second-level TLB, asked after a miss in the
        /// first.
        second: bool,
    },
    /// The physical address must exist.
    CheckPhysical {
        /// The physical address.
        pa: u64,
        /// The size of physical memory.
        phys_size: u64,
        /// Whether `pa < phys_size`.
        ok: bool,
    },
}

/// Receives the steps of a translation. [`NoSteps`] discards them (and the
/// compiler removes the calls); `Vec<Step>` keeps them.
pub trait StepRecorder {
    /// Records one step; `step` is only called when steps are kept.
    fn record(&mut self, step: impl FnOnce() -> Step);
}

/// The fast path: records nothing.
pub struct NoSteps;

impl StepRecorder for NoSteps {
    #[inline(always)]
    fn record(&mut self, _step: impl FnOnce() -> Step) {}
}

impl StepRecorder for Vec<Step> {
    fn record(&mut self, step: impl FnOnce() -> Step) {
        self.push(step());
    }
}

/// A translation with every step kept, for narration and JSON.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Translation {
    /// The virtual address translated.
    pub va: VirtAddr,
    /// The kind of access.
    pub access: Access,
    /// The steps the hardware took, in order.
    pub steps: Vec<Step>,
    /// The physical address, or the fault.
    pub result: Result<PhysAddr, Fault>,
}

impl Translation {
    /// The segment number and offset, when the mechanism is segmentation.
    pub fn segment(&self) -> Option<(u32, u64)> {
        self.steps.iter().find_map(|s| match s {
            Step::Split {
                segment, offset, ..
            } => Some((*segment, *offset)),
            _ => None,
        })
    }
}

/// The MMU's registers, as the kernel saves them in a PCB on a context switch
/// and loads them back.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum MmuRegisters {
    /// No translation registers.
    None,
    /// The base register.
    Base {
        /// Base.
        base: u64,
    },
    /// Base and bounds.
    BaseBounds {
        /// Base.
        base: u64,
        /// Bounds (the size of the address space).
        bounds: u64,
    },
    /// The segment table.
    Segments(Vec<Segment>),
    /// A linear page table (standing for the page-table base register).
    PageTable {
        /// log2 of the page size.
        page_bits: u32,
        /// The entries, indexed by VPN.
        entries: Vec<PageTableEntry>,
    },
    /// Sv39's `satp`: mode, ASID and the root table's page.
    Satp(Satp),
    /// A multi-level table's page-directory base register: the physical
    /// address of the root table.
    PageDirectoryBase {
        /// The root table's physical address.
        root: u64,
    },
}

/// Why loading MMU registers failed.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum RegisterError {
    /// User mode tried it: a trap to the OS.
    #[error("privileged operation attempted in user mode: loading MMU registers")]
    Privileged,
    /// The saved state belongs to another mechanism (a kernel bug).
    #[error("MMU register state for {got} loaded into a {expected} MMU")]
    WrongMechanism {
        /// The mechanism of this MMU.
        expected: &'static str,
        /// What the state described.
        got: &'static str,
    },
    /// The segment table has the wrong number of entries.
    #[error("segment table has {got} entries, the MMU has {expected}")]
    SegmentCount {
        /// The MMU's segment count.
        expected: usize,
        /// The table's.
        got: usize,
    },
}

impl RegisterError {
    /// The fault this raises when it is the user's doing.
    pub fn as_fault(&self) -> Option<Fault> {
        matches!(self, RegisterError::Privileged).then(Fault::privileged)
    }
}

impl MmuRegisters {
    /// The mechanism these registers belong to.
    pub fn mechanism(&self) -> &'static str {
        match self {
            MmuRegisters::None => "identity",
            MmuRegisters::Base { .. } => "base",
            MmuRegisters::BaseBounds { .. } => "base-bounds",
            MmuRegisters::Segments(_) => "segmentation",
            MmuRegisters::PageTable { .. } => "paging",
            MmuRegisters::Satp(_) => "sv39",
            MmuRegisters::PageDirectoryBase { .. } => "multilevel",
        }
    }
}

/// Why an MMU could not be configured as asked (bad input, exit 2).
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum ConfigError {
    /// A region would end beyond physical memory.
    #[error("{what} ends at {end:#x}, beyond physical memory of {phys_size:#x} bytes")]
    BeyondPhysical {
        /// What the region is.
        what: String,
        /// Its exclusive end.
        end: u128,
        /// The physical memory size.
        phys_size: u64,
    },
    /// A region would start below physical address 0.
    #[error("{what} starts below physical address 0 (base {base:#x} - size {size:#x})")]
    BelowZero {
        /// What the region is.
        what: String,
        /// Its base.
        base: u64,
        /// Its size.
        size: u64,
    },
    /// The segment count is not a power of two.
    #[error("{0} segments: the number of segments must be a power of two")]
    SegmentCount(usize),
    /// The address width cannot hold the segment bits, or is over 64.
    #[error("an address width of {va_bits} bits cannot select {segments} segments")]
    AddressWidth {
        /// The width.
        va_bits: u32,
        /// The segment count.
        segments: usize,
    },
    /// A segment is larger than the largest offset its address bits allow.
    #[error(
        "segment {segment} has size {size:#x}, more than the {max:#x} bytes its offset bits can address"
    )]
    SegmentTooLarge {
        /// The segment number.
        segment: usize,
        /// Its size.
        size: u64,
        /// The most the offset can address.
        max: u64,
    },
    /// The page size is not a power of two.
    #[error("a page size of {0} bytes is not a power of two")]
    PageSize(u64),
}

/// Checks that `[start, start + size)` lies inside physical memory.
pub(crate) fn check_region(
    what: impl Into<String>,
    start: u64,
    size: u64,
    phys_size: u64,
) -> Result<(), ConfigError> {
    let end = start as u128 + size as u128;
    if end > phys_size as u128 {
        return Err(ConfigError::BeyondPhysical {
            what: what.into(),
            end,
            phys_size,
        });
    }
    Ok(())
}

/// The last hardware step of every mechanism: `pa` must exist in memory.
#[inline(always)]
pub(crate) fn check_physical<R: StepRecorder>(
    va: VirtAddr,
    access: Access,
    pa: u64,
    phys_size: u64,
    rec: &mut R,
) -> Result<PhysAddr, Fault> {
    let ok = pa < phys_size;
    rec.record(|| Step::CheckPhysical { pa, phys_size, ok });
    if ok {
        Ok(PhysAddr::new(pa))
    } else {
        Err(Fault::new(va, access, FaultKind::OutsidePhysicalMemory))
    }
}

/// The span check of a paged mechanism with pages of `2^page_bits` bytes
/// ([`Mmu::translate_span`]'s contract): inside one page every byte shares
/// the first byte's leaf and checks, so one translation (one TLB probe)
/// answers for the page; an access crossing pages also translates the first
/// byte of each further page, which must land right after the bytes
/// before it (else [`FaultKind::Bounds`] at that byte). The first byte past
/// physical memory faults with [`FaultKind::OutsidePhysicalMemory`]; a last
/// byte past 2^64 - 1 with [`FaultKind::Overflow`].
#[inline(always)]
pub(crate) fn paged_span<M: Mmu>(
    m: &M,
    mem: &PhysicalMemory,
    va: VirtAddr,
    size: u64,
    access: Access,
    page_bits: u32,
    phys_size: u64,
) -> Result<PhysAddr, Fault> {
    let pa = m.translate(mem, va, access)?.as_u64();
    let first = va.as_u64();
    let Some(last) = first.checked_add(size.max(1) - 1) else {
        return Err(Fault::new(va, access, FaultKind::Overflow));
    };
    let page = |a: u64| a.checked_shr(page_bits).unwrap_or(0);
    let mut at = first;
    loop {
        // This page's bytes of the access, [at, end]: consecutive from pa.
        let end = if page(at) == page(last) {
            last
        } else {
            ((page(at) + 1) << page_bits) - 1
        };
        if pa.checked_add(end - first).is_none_or(|e| e >= phys_size) {
            let outside = first.saturating_add(phys_size.saturating_sub(pa));
            return Err(Fault::new(
                VirtAddr::new(outside),
                access,
                FaultKind::OutsidePhysicalMemory,
            ));
        }
        if end == last {
            break;
        }
        // The next page's first byte must land right after.
        let next = end + 1;
        let byte = VirtAddr::new(next);
        let got = m.translate(mem, byte, access)?;
        if pa.checked_add(next - first) != Some(got.as_u64()) {
            return Err(Fault::new(byte, access, FaultKind::Bounds));
        }
        at = next;
    }
    Ok(PhysAddr::new(pa))
}

/// An address-translation mechanism.
pub trait Mmu {
    /// The mechanism's name: `identity`, `base`, `base-bounds`, `segmentation`.
    fn mechanism(&self) -> &'static str;

    /// Translates `va` for `access`, telling `rec` each step taken.
    ///
    /// Returns the physical address, or the fault the hardware raises. Never
    /// panics, for any input.
    /// `mem` is the machine's physical memory: a mechanism whose tables live
    /// in memory (paging) reads its entries there, one whose registers hold
    /// the whole translation ignores it ([`PhysicalMemory::empty`] serves).
    fn walk<R: StepRecorder>(
        &self,
        mem: &PhysicalMemory,
        va: VirtAddr,
        access: Access,
        rec: &mut R,
    ) -> Result<PhysAddr, Fault>;

    /// The fast path: translate without recording steps.
    #[inline(always)]
    fn translate(
        &self,
        mem: &PhysicalMemory,
        va: VirtAddr,
        access: Access,
    ) -> Result<PhysAddr, Fault> {
        self.walk(mem, va, access, &mut NoSteps)
    }

    /// Whether the bytes from `first` to `last` (inclusive, `first <= last`)
    /// lie in one piece of the mechanism, inside which the valid offsets are
    /// an interval mapped linearly: then, when both ends translate to
    /// physical bytes `size - 1` apart, every byte between them translates
    /// too. A mechanism that cannot promise it answers `false` (the default)
    /// and [`Mmu::translate_span`] checks every byte.
    #[inline(always)]
    fn one_piece(&self, first: VirtAddr, last: VirtAddr) -> bool {
        let _ = (first, last);
        false
    }

    /// Translates an access of `size` bytes at `va`: the one check every
    /// access path uses (the CPU's loads and stores, a scenario's accesses,
    /// a trace's sized references). Every byte the access touches must
    /// translate for `access`, to consecutive physical bytes; an access that
    /// straddles a bound, a segment's end or a page boundary into other
    /// memory faults, naming the first byte that does not translate (or that
    /// lands elsewhere, as [`FaultKind::Bounds`]).
    ///
    /// Returns the physical address of the first byte. `size` 0 or 1 is a
    /// plain [`Mmu::translate`]; an access whose last byte would pass
    /// 2^64 - 1 faults with [`FaultKind::Overflow`]. Never panics.
    #[inline(always)]
    fn translate_span(
        &self,
        mem: &PhysicalMemory,
        va: VirtAddr,
        size: u64,
        access: Access,
    ) -> Result<PhysAddr, Fault> {
        let pa = self.translate(mem, va, access)?;
        if size <= 1 {
            return Ok(pa);
        }
        let first = va.as_u64();
        let Some(last_va) = first.checked_add(size - 1) else {
            return Err(Fault::new(va, access, FaultKind::Overflow));
        };
        let lands = |i: u64| -> Result<(), Fault> {
            let byte = VirtAddr::new(first + i);
            let got = self.translate(mem, byte, access)?;
            if pa.as_u64().checked_add(i) == Some(got.as_u64()) {
                Ok(())
            } else {
                Err(Fault::new(byte, access, FaultKind::Bounds))
            }
        };
        if self.one_piece(va, VirtAddr::new(last_va)) {
            lands(size - 1)?;
        } else {
            for i in 1..size {
                lands(i)?;
            }
        }
        Ok(pa)
    }

    /// Whether a cache of this MMU's answers stays right until its
    /// registers are loaded again: `true` promises that [`Mmu::translate`]'s
    /// answer for an address and access depends on the MMU's registers
    /// alone (not on the bytes of physical memory, not on earlier
    /// translations) and that translating changes nothing (no counters, no
    /// replacement state). The CPU's software TLB
    /// ([`crate::cpu::soft_tlb`]) is used only then.
    ///
    /// The default, `false`, is the safe answer. Sv39 keeps it: its tables
    /// live in physical memory, which the program's own stores can change,
    /// and its simulated TLB counts every lookup (hits and misses are part
    /// of the lecture), so every access of an Sv39 run walks.
    #[inline(always)]
    fn translation_is_stable(&self) -> bool {
        false
    }

    /// Whether [`Mmu::ticket`] may give tickets: an MMU whose accesses a
    /// simulated TLB answers and counts (Sv39 with a TLB). The default: no.
    #[inline(always)]
    fn has_tickets(&self) -> bool {
        false
    }

    /// After an `access` at `va` that translated, the page around it that
    /// the simulated TLB's memo of that kind of access (fetches, data)
    /// answers, as a [`TlbTicket`], when the whole page lies in memory. The
    /// CPU may then answer accesses of that kind in the page itself, while
    /// [`Mmu::ticket_holds`] and [`Mmu::ticket_allows`], telling each to
    /// [`Mmu::ticket_hit`], so that the TLB counts exactly what its own
    /// lookups would have.
    #[inline(always)]
    fn ticket(&self, va: VirtAddr, access: Access) -> Option<TlbTicket> {
        let _ = (va, access);
        None
    }

    /// Whether `ticket` still answers `access`es: the TLB's contents did
    /// not change since it was taken.
    #[inline(always)]
    fn ticket_holds(&self, ticket: &TlbTicket, access: Access) -> bool {
        let _ = (ticket, access);
        false
    }

    /// Whether the entry behind `ticket` lets a user make `access`: the
    /// checks a hit makes, on the ticket's permission bits.
    #[inline(always)]
    fn ticket_allows(&self, ticket: &TlbTicket, access: Access) -> bool {
        let _ = (ticket, access);
        false
    }

    /// An `access` answered by `ticket`: the TLB counts a hit on its slot.
    #[inline(always)]
    fn ticket_hit(&self, ticket: &TlbTicket, access: Access) {
        let _ = (ticket, access);
    }

    /// Whether the CPU's software TLB is worth it for this MMU: only for a
    /// mechanism whose translation is stable (the default follows
    /// [`Mmu::translation_is_stable`]) and whose walk costs more than a
    /// lookup. Identity, base and base + bounds answer `false`: their walk
    /// is a compare and an add, cheaper than the lookup itself (measured
    /// with callgrind on `bench/sieve.s`: 70.4 host instructions per
    /// emulated instruction walking, 77.7 through the software TLB).
    /// Never changes an answer, only how it is found.
    #[inline(always)]
    fn software_tlb_pays(&self) -> bool {
        self.translation_is_stable()
    }

    /// Translate and keep every step, for narration.
    fn explain(&self, mem: &PhysicalMemory, va: VirtAddr, access: Access) -> Translation {
        let mut steps = Vec::new();
        let result = self.walk(mem, va, access, &mut steps);
        Translation {
            va,
            access,
            steps,
            result,
        }
    }

    /// The current register contents (what a context switch saves).
    fn registers(&self) -> MmuRegisters;

    /// Loads registers (what a context switch restores). Privileged: in user
    /// mode it changes nothing and returns [`RegisterError::Privileged`].
    fn load_registers(&mut self, mode: Mode, regs: &MmuRegisters) -> Result<(), RegisterError>;
}

/// Any of the mechanisms, chosen at run time, dispatched by a `match` (no
/// dynamic dispatch on the per-access path).
// Sv39 holds its TLB inline (some 300 bytes): an AnyMmu is made once per
// machine, never in bulk, and boxing would put a pointer chase on every
// translation's hit path.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum AnyMmu {
    /// No translation.
    Identity(Identity),
    /// Base register only.
    Base(Base),
    /// Base and bounds.
    BaseBounds(BaseBounds),
    /// Segment table.
    Segmentation(Segmentation),
    /// Linear page table.
    Paging(LinearPageTable),
    /// RISC-V Sv39: three levels of tables in physical memory.
    Sv39(Sv39),
    /// Multi-level tables for teaching, in physical memory.
    MultiLevel(MultiLevel),
}

impl Mmu for AnyMmu {
    fn mechanism(&self) -> &'static str {
        match self {
            AnyMmu::Identity(m) => m.mechanism(),
            AnyMmu::Base(m) => m.mechanism(),
            AnyMmu::BaseBounds(m) => m.mechanism(),
            AnyMmu::Segmentation(m) => m.mechanism(),
            AnyMmu::Paging(m) => m.mechanism(),
            AnyMmu::Sv39(m) => m.mechanism(),
            AnyMmu::MultiLevel(m) => m.mechanism(),
        }
    }

    #[inline(always)]
    fn walk<R: StepRecorder>(
        &self,
        mem: &PhysicalMemory,
        va: VirtAddr,
        access: Access,
        rec: &mut R,
    ) -> Result<PhysAddr, Fault> {
        match self {
            AnyMmu::Identity(m) => m.walk(mem, va, access, rec),
            AnyMmu::Base(m) => m.walk(mem, va, access, rec),
            AnyMmu::BaseBounds(m) => m.walk(mem, va, access, rec),
            AnyMmu::Segmentation(m) => m.walk(mem, va, access, rec),
            AnyMmu::Paging(m) => m.walk(mem, va, access, rec),
            AnyMmu::Sv39(m) => m.walk(mem, va, access, rec),
            AnyMmu::MultiLevel(m) => m.walk(mem, va, access, rec),
        }
    }

    #[inline(always)]
    fn translate_span(
        &self,
        mem: &PhysicalMemory,
        va: VirtAddr,
        size: u64,
        access: Access,
    ) -> Result<PhysAddr, Fault> {
        match self {
            AnyMmu::Identity(m) => m.translate_span(mem, va, size, access),
            AnyMmu::Base(m) => m.translate_span(mem, va, size, access),
            AnyMmu::BaseBounds(m) => m.translate_span(mem, va, size, access),
            AnyMmu::Segmentation(m) => m.translate_span(mem, va, size, access),
            AnyMmu::Paging(m) => m.translate_span(mem, va, size, access),
            AnyMmu::Sv39(m) => m.translate_span(mem, va, size, access),
            AnyMmu::MultiLevel(m) => m.translate_span(mem, va, size, access),
        }
    }

    #[inline(always)]
    fn one_piece(&self, first: VirtAddr, last: VirtAddr) -> bool {
        match self {
            AnyMmu::Identity(m) => m.one_piece(first, last),
            AnyMmu::Base(m) => m.one_piece(first, last),
            AnyMmu::BaseBounds(m) => m.one_piece(first, last),
            AnyMmu::Segmentation(m) => m.one_piece(first, last),
            AnyMmu::Paging(m) => m.one_piece(first, last),
            AnyMmu::Sv39(m) => m.one_piece(first, last),
            AnyMmu::MultiLevel(m) => m.one_piece(first, last),
        }
    }

    #[inline(always)]
    fn has_tickets(&self) -> bool {
        match self {
            AnyMmu::Sv39(m) => m.has_tickets(),
            _ => false,
        }
    }

    #[inline(always)]
    fn ticket(&self, va: VirtAddr, access: Access) -> Option<TlbTicket> {
        match self {
            AnyMmu::Sv39(m) => m.ticket(va, access),
            _ => None,
        }
    }

    #[inline(always)]
    fn ticket_holds(&self, ticket: &TlbTicket, access: Access) -> bool {
        match self {
            AnyMmu::Sv39(m) => m.ticket_holds(ticket, access),
            _ => false,
        }
    }

    #[inline(always)]
    fn ticket_allows(&self, ticket: &TlbTicket, access: Access) -> bool {
        match self {
            AnyMmu::Sv39(m) => m.ticket_allows(ticket, access),
            _ => false,
        }
    }

    #[inline(always)]
    fn ticket_hit(&self, ticket: &TlbTicket, access: Access) {
        if let AnyMmu::Sv39(m) = self {
            m.ticket_hit(ticket, access);
        }
    }

    fn registers(&self) -> MmuRegisters {
        match self {
            AnyMmu::Identity(m) => m.registers(),
            AnyMmu::Base(m) => m.registers(),
            AnyMmu::BaseBounds(m) => m.registers(),
            AnyMmu::Segmentation(m) => m.registers(),
            AnyMmu::Paging(m) => m.registers(),
            AnyMmu::Sv39(m) => m.registers(),
            AnyMmu::MultiLevel(m) => m.registers(),
        }
    }

    fn load_registers(&mut self, mode: Mode, regs: &MmuRegisters) -> Result<(), RegisterError> {
        match self {
            AnyMmu::Identity(m) => m.load_registers(mode, regs),
            AnyMmu::Base(m) => m.load_registers(mode, regs),
            AnyMmu::BaseBounds(m) => m.load_registers(mode, regs),
            AnyMmu::Segmentation(m) => m.load_registers(mode, regs),
            AnyMmu::Paging(m) => m.load_registers(mode, regs),
            AnyMmu::Sv39(m) => m.load_registers(mode, regs),
            AnyMmu::MultiLevel(m) => m.load_registers(mode, regs),
        }
    }

    #[inline(always)]
    fn software_tlb_pays(&self) -> bool {
        match self {
            AnyMmu::Identity(m) => m.software_tlb_pays(),
            AnyMmu::Base(m) => m.software_tlb_pays(),
            AnyMmu::BaseBounds(m) => m.software_tlb_pays(),
            AnyMmu::Segmentation(m) => m.software_tlb_pays(),
            AnyMmu::Paging(m) => m.software_tlb_pays(),
            AnyMmu::Sv39(m) => m.software_tlb_pays(),
            AnyMmu::MultiLevel(m) => m.software_tlb_pays(),
        }
    }

    #[inline(always)]
    fn translation_is_stable(&self) -> bool {
        match self {
            AnyMmu::Identity(m) => m.translation_is_stable(),
            AnyMmu::Base(m) => m.translation_is_stable(),
            AnyMmu::BaseBounds(m) => m.translation_is_stable(),
            AnyMmu::Segmentation(m) => m.translation_is_stable(),
            AnyMmu::Paging(m) => m.translation_is_stable(),
            AnyMmu::Sv39(m) => m.translation_is_stable(),
            AnyMmu::MultiLevel(m) => m.translation_is_stable(),
        }
    }
}

/// Refuses a privileged operation from user mode; shared by every mechanism.
pub(crate) fn require_kernel(mode: Mode) -> Result<(), RegisterError> {
    match mode {
        Mode::Kernel => Ok(()),
        Mode::User => Err(RegisterError::Privileged),
    }
}

/// Any access kind, for property tests.
#[cfg(test)]
pub(crate) fn any_access() -> impl proptest::strategy::Strategy<Value = Access> {
    proptest::sample::select(vec![Access::Fetch, Access::Read, Access::Write])
}

#[cfg(test)]
mod properties {
    //! Properties every mechanism must keep, for any input.

    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn base_bounds_lands_inside_its_own_range(
            base in 0u64..1 << 40,
            bounds in 0u64..1 << 20,
            va in any::<u64>(),
            access in any_access(),
        ) {
            let m = BaseBounds::new(base, bounds, 1 << 41).unwrap();
            match m.translate(PhysicalMemory::empty(), VirtAddr::new(va), access) {
                Ok(pa) => {
                    prop_assert!(pa.as_u64() >= base && pa.as_u64() < base + bounds);
                    prop_assert_eq!(pa.as_u64() - base, va);
                }
                Err(f) => {
                    prop_assert!(va >= bounds);
                    prop_assert_eq!(f.kind, FaultKind::Bounds);
                }
            }
        }

        #[test]
        fn base_only_escapes_its_address_space(
            base in 0u64..1 << 20,
            size in 1u64..1 << 12,
            extra in 0u64..1 << 12,
        ) {
            // A process of `size` bytes at `base` can still reach the bytes
            // just past its end: the lecture's reason for bounds.
            let m = Base::new(base, 1 << 32);
            let pa = m.translate(PhysicalMemory::empty(), VirtAddr::new(size + extra), Access::Write).unwrap();
            prop_assert!(pa.as_u64() >= base + size);
        }

        #[test]
        fn segmentation_lands_inside_the_selected_segment(
            va_bits in 4u32..=32,
            seg_bits in 0u32..=3,
            raw in prop::collection::vec((0u64..1 << 30, 0u64..1 << 32, any::<bool>(), 0u8..8), 8),
            va in any::<u64>(),
            access in any_access(),
        ) {
            prop_assume!(seg_bits <= va_bits);
            let n = 1usize << seg_bits;
            let max = 1u64 << (va_bits - seg_bits);
            let segments: Vec<Segment> = raw[..n]
                .iter()
                .map(|&(base, size, down, perms)| {
                    let size = size % (max + 1);
                    let perms = Perms::from_bits_truncate(perms);
                    if down {
                        Segment::down(base + size, size, perms)
                    } else {
                        Segment::up(base, size, perms)
                    }
                })
                .collect();
            let m = Segmentation::new(va_bits, segments.clone(), 1 << 33).unwrap();
            let t = m.explain(PhysicalMemory::empty(), VirtAddr::new(va), access);
            prop_assert_eq!(t.result, m.translate(PhysicalMemory::empty(), VirtAddr::new(va), access));
            if let Ok(pa) = t.result {
                let (seg, _) = t.segment().unwrap();
                let (start, end) = segments[seg as usize].phys_range().unwrap();
                prop_assert!(pa.as_u64() >= start && pa.as_u64() < end,
                    "pa {:#x} outside [{:#x}, {:#x})", pa.as_u64(), start, end);
                prop_assert!(segments[seg as usize].perms.contains(access.required()));
            }
        }

        #[test]
        fn a_span_translates_exactly_when_every_byte_does(
            va_bits in 3u32..=12,
            raw in prop::collection::vec((0u64..1 << 12, 0u64..1 << 12, any::<bool>()), 4),
            base in 0u64..1 << 12,
            bounds in 0u64..1 << 12,
            va in 0u64..1 << 12,
            size in 1u64..=8,
            access in any_access(),
        ) {
            // Tiny segments (2-byte offsets at 3 bits) make spans cross
            // segment ends, sometimes onto a physically adjacent segment.
            let max = 1u64 << (va_bits - 2);
            let segments: Vec<Segment> = raw
                .iter()
                .map(|&(base, size, down)| {
                    let size = size % (max + 1);
                    if down {
                        Segment::down(base + size, size, Perms::all())
                    } else {
                        Segment::up(base, size, Perms::all())
                    }
                })
                .collect();
            let seg = AnyMmu::Segmentation(Segmentation::new(va_bits, segments, 1 << 14).unwrap());
            let bb = AnyMmu::BaseBounds(BaseBounds::new(base, bounds, 1 << 14).unwrap());
            for m in [seg, bb] {
                let oracle = (0..size).try_fold(None, |first: Option<u64>, i| {
                    let pa = m.translate(PhysicalMemory::empty(), VirtAddr::new(va + i), access).ok()?.as_u64();
                    match first {
                        None => Some(Some(pa)),
                        Some(p) => (pa == p + i).then_some(Some(p)),
                    }
                });
                let span = m.translate_span(PhysicalMemory::empty(), VirtAddr::new(va), size, access);
                prop_assert_eq!(span.ok().map(|p| p.as_u64()), oracle.flatten(),
                    "{} at va {:#x}, {} bytes", m.mechanism(), va, size);
            }
        }

        #[test]
        fn no_mechanism_panics_for_any_input(
            base in any::<u64>(),
            bounds in any::<u64>(),
            phys in any::<u64>(),
            va in any::<u64>(),
            va_bits in 0u32..=70,
            access in any_access(),
        ) {
            let _ = Base::new(base, phys).explain(PhysicalMemory::empty(), VirtAddr::new(va), access);
            let _ = Identity::new(phys).explain(PhysicalMemory::empty(), VirtAddr::new(va), access);
            if let Ok(m) = BaseBounds::new(base, bounds, phys) {
                let _ = m.explain(PhysicalMemory::empty(), VirtAddr::new(va), access);
            }
            let segs = vec![Segment::up(base, bounds, Perms::all()), Segment::down(base, bounds, Perms::all())];
            if let Ok(m) = Segmentation::new(va_bits, segs, phys) {
                let _ = m.explain(PhysicalMemory::empty(), VirtAddr::new(va), access);
            }
        }
    }
}
