//! RISC-V Sv39: three levels of page tables in physical memory, as the
//! privileged specification defines them.
//!
//! A virtual address has 39 bits that count; bits 63..39 must copy bit 38
//! (a *canonical* address), or the access page-faults:
//!
//! ```text
//!   38        30 29        21 20        12 11            0
//!  +------------+------------+------------+---------------+
//!  |   VPN[2]   |   VPN[1]   |   VPN[0]   |    offset     |
//!  +------------+------------+------------+---------------+
//!      9 bits       9 bits       9 bits        12 bits
//! ```
//!
//! The `satp` register holds the mode (8 = Sv39, 0 = Bare: no translation),
//! a 16-bit address-space identifier (ASID) and the physical page number of
//! the root table. Each table is one 4 KiB page of 512 eight-byte entries:
//!
//! ```text
//!   63    54 53                        10 9  8 7 6 5 4 3 2 1 0
//!  +--------+----------------------------+----+-+-+-+-+-+-+-+-+
//!  |reserved|            PPN             |RSW |D|A|G|U|X|W|R|V|
//!  +--------+----------------------------+----+-+-+-+-+-+-+-+-+
//! ```
//!
//! The walk, for level 2 (the root) down to 0:
//!
//! ```text
//!   1. pte = memory[table + VPN[level] * 8]
//!   2. V = 0, or W = 1 with R = 0, or reserved bits set: page fault
//!   3. R = X = 0: a pointer to the next level's table (none below 0: fault)
//!   4. otherwise a leaf, mapping a 4 KiB page (level 0), a 2 MiB
//!      superpage (level 1) or a 1 GiB one (level 2); a superpage whose PPN
//!      is not aligned to its size faults
//!   5. the leaf must allow the access: U = 1 (user mode), R for a load,
//!      W for a store, X for a fetch
//!   6. A = 0, or D = 0 on a store: page fault (see below)
//!   7. pa = the leaf's PPN (with the VPN's low parts for a superpage) | offset
//! ```
//!
//! **Accessed and dirty bits.** The specification lets hardware either set
//! A and D itself or raise a page fault so that the operating system sets
//! them (the Svade behaviour). vmlab's MMU does the latter: a walk only
//! reads memory, never writes it. vmlab's loader and kernel set A (and D for
//! writable pages) when they map a page; a kernel that wants to know which
//! pages are used (a clock over use bits) clears A and sees the next access
//! fault.
//!
//! **The TLB.** [`Sv39::with_tlb`] puts a [`super::tlb::Tlb`] in front of
//! the walk: a hit gives the leaf's frame and bits without reading memory
//! (the leaf checks of steps 5 and 6 still run on the cached bits), a miss
//! walks and fills. Writing `satp` keeps or flushes the TLB per its tagging;
//! a kernel that changes or removes a mapping calls [`Sv39::sfence_vma`].
//!
//! Every process runs in user mode, so every leaf it uses needs U = 1.
//! Entries are read with the machine's physical memory: an entry outside
//! memory is an access fault ([`FaultKind::OutsidePhysicalMemory`]), a
//! corrupted entry behaves as the hardware would.

use super::tlb::{Tagging, Tlb, TlbConfig, TlbEntry, TlbTicket};
use super::{Access, Mmu, MmuRegisters, Mode, RegisterError, Step, StepRecorder};
use crate::addr::{PhysAddr, VirtAddr};
use crate::fault::{Fault, FaultKind};
use crate::memory::PhysicalMemory;
use std::cell::Cell;

/// Bytes in a page (and in each page table).
pub const PAGE_SIZE: u64 = 4096;
/// Bits of the page offset.
pub const PAGE_BITS: u32 = 12;
/// Levels of tables.
pub const LEVELS: u32 = 3;
/// Bits of each VPN part (512 entries per table).
pub const INDEX_BITS: u32 = 9;
/// Bytes of one entry.
pub const PTE_SIZE: u64 = 8;
/// The `satp` mode field for Sv39.
pub const MODE_SV39: u64 = 8;
/// The `satp` mode field for no translation.
pub const MODE_BARE: u64 = 0;

/// The bits of a page-table entry.
pub mod pte {
    /// Valid.
    pub const V: u64 = 1 << 0;
    /// Readable.
    pub const R: u64 = 1 << 1;
    /// Writable.
    pub const W: u64 = 1 << 2;
    /// Executable.
    pub const X: u64 = 1 << 3;
    /// Accessible in user mode.
    pub const U: u64 = 1 << 4;
    /// Global: present in every address space (the TLB ignores its ASID).
    pub const G: u64 = 1 << 5;
    /// Accessed.
    pub const A: u64 = 1 << 6;
    /// Dirty (written).
    pub const D: u64 = 1 << 7;
    /// Where the PPN starts.
    pub const PPN_SHIFT: u32 = 10;
    /// The PPN's width (bits 53..10).
    pub const PPN_BITS: u32 = 44;
    /// Bits 63..54, which must be zero.
    pub const RESERVED: u64 = !0u64 << 54;

    /// The entry's physical page number.
    pub const fn ppn(pte: u64) -> u64 {
        (pte >> PPN_SHIFT) & ((1 << PPN_BITS) - 1)
    }

    /// An entry naming page `ppn` with `flags`.
    pub const fn make(ppn: u64, flags: u64) -> u64 {
        ((ppn & ((1 << PPN_BITS) - 1)) << PPN_SHIFT) | (flags & 0xff)
    }

    /// The flags as letters, `-` for a clear bit: `vrwxugad`.
    pub fn letters(pte: u64) -> String {
        "vrwxugad"
            .chars()
            .enumerate()
            .map(|(i, c)| if pte & (1 << i) != 0 { c } else { '-' })
            .collect()
    }
}

/// The `satp` register: mode, ASID and root table.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Satp(pub u64);

impl Satp {
    /// `satp` for Sv39 with root table in page `root_ppn`, tagged `asid`.
    pub const fn sv39(asid: u16, root_ppn: u64) -> Self {
        Satp((MODE_SV39 << 60) | ((asid as u64) << 44) | (root_ppn & ((1 << 44) - 1)))
    }

    /// The mode field (bits 63..60).
    pub const fn mode(self) -> u64 {
        self.0 >> 60
    }

    /// The address-space identifier (bits 59..44).
    pub const fn asid(self) -> u16 {
        (self.0 >> 44) as u16
    }

    /// The root table's physical page number (bits 43..0).
    pub const fn root_ppn(self) -> u64 {
        self.0 & ((1 << 44) - 1)
    }

    /// Checks that the mode is one vmlab implements (Bare or Sv39).
    ///
    /// Returns the one-line reason otherwise.
    pub fn check(self) -> Result<Self, String> {
        match self.mode() {
            MODE_BARE | MODE_SV39 => Ok(self),
            m => Err(format!(
                "satp mode {m} is not implemented (vmlab has 0 = Bare and 8 = Sv39)"
            )),
        }
    }
}

/// The three VPN parts of `va`, root first.
pub const fn indices(va: u64) -> [u64; 3] {
    [(va >> 30) & 0x1ff, (va >> 21) & 0x1ff, (va >> 12) & 0x1ff]
}

/// Whether `va` is canonical: bits 63..39 equal bit 38.
pub const fn canonical(va: u64) -> bool {
    ((va as i64) << 25 >> 25) as u64 == va
}

/// The Sv39 MMU: the `satp` register over a physical memory of `phys_size`
/// bytes, optionally with a TLB in front of the walk. The tables themselves
/// are in that memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sv39 {
    satp: Satp,
    phys_size: u64,
    tlb: Option<Tlb>,
    /// A separate first-level TLB for instruction fetches (`None`: fetches
    /// use `tlb`, a unified TLB).
    itlb: Option<Box<Tlb>>,
    /// A second-level TLB, asked on a first-level miss before walking.
    l2: Option<Box<Tlb>>,
    /// Page-table walks so far (every translation without a TLB, every
    /// miss with one).
    walks: Cell<u64>,
}

impl Sv39 {
    /// An MMU with `satp` over `phys_size` bytes of memory, without a TLB.
    ///
    /// Returns the one-line reason when the mode is not implemented.
    pub fn new(satp: Satp, phys_size: u64) -> Result<Self, String> {
        Ok(Self {
            satp: satp.check()?,
            phys_size,
            tlb: None,
            itlb: None,
            l2: None,
            walks: Cell::new(0),
        })
    }

    /// The same MMU with an empty TLB shaped by `config` in front of its
    /// walk. Translations give the same results with it as without it, as
    /// long as the kernel flushes ([`Sv39::sfence_vma`]) after changing a
    /// mapping.
    pub fn with_tlb(mut self, config: TlbConfig) -> Self {
        self.tlb = Some(Tlb::new(config));
        self
    }

    /// The TLB, if there is one (with [`Sv39::with_itlb`], the data TLB).
    pub fn tlb(&self) -> Option<&Tlb> {
        self.tlb.as_ref()
    }

    /// The same MMU with a separate first-level TLB for instruction
    /// fetches, as processors have: then the TLB of [`Sv39::with_tlb`]
    /// serves loads and stores only. Needs that TLB (without it, fetches
    /// use this one and data accesses walk).
    pub fn with_itlb(mut self, config: TlbConfig) -> Self {
        self.itlb = Some(Box::new(Tlb::new(config)));
        self
    }

    /// The instruction TLB, if fetches have their own.
    pub fn itlb(&self) -> Option<&Tlb> {
        self.itlb.as_deref()
    }

    /// The same MMU with a second-level TLB behind the first-level one(s):
    /// a first-level miss asks it before walking, and a walk fills both.
    pub fn with_l2_tlb(mut self, config: TlbConfig) -> Self {
        self.l2 = Some(Box::new(Tlb::new(config)));
        self
    }

    /// The second-level TLB, if there is one.
    pub fn l2_tlb(&self) -> Option<&Tlb> {
        self.l2.as_deref()
    }

    /// Every TLB of the MMU: first level (data or unified), instruction,
    /// second level.
    fn tlbs(&self) -> impl Iterator<Item = &Tlb> {
        self.tlb
            .iter()
            .chain(self.itlb.as_deref())
            .chain(self.l2.as_deref())
    }

    /// The first-level TLB an `access` asks.
    #[inline(always)]
    fn first_level(&self, access: Access) -> Option<&Tlb> {
        match (access, &self.itlb) {
            (Access::Fetch, Some(itlb)) => Some(&**itlb),
            _ => self.tlb.as_ref(),
        }
    }

    /// How many page-table walks translations made so far.
    pub fn walks(&self) -> u64 {
        self.walks.get()
    }

    /// `sfence.vma`: drops the TLB entries for `va` (all addresses when
    /// `None`) in address space `asid` (all when `None`; global entries stay
    /// when an ASID is named), as [`Tlb::flush`] says. A kernel calls it
    /// after changing or removing a mapping. Privileged: from user mode it
    /// changes nothing and returns [`RegisterError::Privileged`]. Without a
    /// TLB there is nothing to flush.
    pub fn sfence_vma(
        &self,
        mode: Mode,
        va: Option<u64>,
        asid: Option<u16>,
    ) -> Result<(), RegisterError> {
        super::require_kernel(mode)?;
        for tlb in self.tlbs() {
            tlb.flush(va, asid);
        }
        Ok(())
    }

    /// The `satp` register.
    pub fn satp(&self) -> Satp {
        self.satp
    }

    /// The physical memory size.
    pub fn phys_size(&self) -> u64 {
        self.phys_size
    }
}

/// What a walk found for a virtual page, before the access checks: the leaf
/// entry, its level, and where it was.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Leaf {
    /// The entry.
    pub pte: u64,
    /// Its level: 0 a 4 KiB page, 1 a 2 MiB and 2 a 1 GiB superpage.
    pub level: u32,
    /// The entry's physical address.
    pub entry_pa: u64,
}

impl Leaf {
    /// Bytes the leaf maps.
    pub const fn size(&self) -> u64 {
        PAGE_SIZE << (INDEX_BITS * self.level)
    }

    /// The physical address of `va` through this leaf.
    pub const fn pa(&self, va: u64) -> u64 {
        (pte::ppn(self.pte) << PAGE_BITS) | (va & (self.size() - 1))
    }
}

/// Walks the tables under `satp` for `va` without any permission check:
/// the leaf, or the fault kind and the level where the walk stopped. The
/// first half of [`Sv39::walk`], also what a TLB refill caches.
pub fn find_leaf<R: StepRecorder>(
    mem: &PhysicalMemory,
    satp: Satp,
    va: u64,
    rec: &mut R,
) -> Result<Leaf, FaultKind> {
    let idx = indices(va);
    let mut table = satp.root_ppn();
    for (depth, &index) in idx.iter().enumerate() {
        let level = LEVELS - 1 - depth as u32;
        let entry_pa = table
            .checked_mul(PAGE_SIZE)
            .and_then(|t| t.checked_add(index * PTE_SIZE));
        let raw = entry_pa.and_then(|a| mem.read_le(PhysAddr::new(a), PTE_SIZE as usize).ok());
        let Some(raw) = raw else {
            rec.record(|| Step::ReadEntry {
                level: depth as u32,
                index,
                entry_pa: entry_pa.unwrap_or(u64::MAX),
                raw: None,
                flags: String::new(),
                valid: false,
                leaf: false,
                pfn: 0,
            });
            return Err(FaultKind::OutsidePhysicalMemory);
        };
        let valid = raw & pte::V != 0;
        let leaf = raw & (pte::R | pte::X) != 0;
        rec.record(|| Step::ReadEntry {
            level: depth as u32,
            index,
            entry_pa: entry_pa.unwrap_or(0),
            raw: Some(raw),
            flags: pte::letters(raw),
            valid,
            leaf,
            pfn: pte::ppn(raw),
        });
        if !valid {
            return Err(FaultKind::PageFault);
        }
        let malformed = (raw & pte::W != 0 && raw & pte::R == 0) || raw & pte::RESERVED != 0;
        if malformed {
            rec.record(|| Step::CheckEntry {
                what: "W=1 needs R=1, reserved bits 63..54 zero".into(),
                ok: false,
            });
            return Err(FaultKind::PageFault);
        }
        if leaf {
            // A superpage's PPN must be aligned to its size.
            let low = (1u64 << (INDEX_BITS * level)) - 1;
            let aligned = pte::ppn(raw) & low == 0;
            if level > 0 {
                rec.record(|| Step::CheckEntry {
                    what: format!(
                        "a {} superpage: its PPN is aligned",
                        if level == 1 { "2 MiB" } else { "1 GiB" }
                    ),
                    ok: aligned,
                });
            }
            if !aligned {
                return Err(FaultKind::PageFault);
            }
            return Ok(Leaf {
                pte: raw,
                level,
                entry_pa: entry_pa.unwrap_or(0),
            });
        }
        if level == 0 {
            rec.record(|| Step::CheckEntry {
                what: "a pointer at the last level".into(),
                ok: false,
            });
            return Err(FaultKind::PageFault);
        }
        table = pte::ppn(raw);
    }
    Err(FaultKind::PageFault)
}

/// The bits a leaf must have set for a user-mode `access` to pass
/// [`check_leaf`]: U and A, and X, R, or W and D.
#[inline(always)]
pub const fn leaf_bits_needed(access: Access) -> u64 {
    pte::U
        | pte::A
        | match access {
            Access::Fetch => pte::X,
            Access::Read => pte::R,
            Access::Write => pte::W | pte::D,
        }
}

/// The leaf's checks for a user-mode `access`, in order: U, the permission
/// bit, A, and D for a store. Returns whether all pass; each check made is
/// recorded, so the first failing one ends the narration.
pub fn check_leaf<R: StepRecorder>(leaf_pte: u64, access: Access, rec: &mut R) -> bool {
    let user = leaf_pte & pte::U != 0;
    rec.record(|| Step::CheckEntry {
        what: "U=1: a user page".into(),
        ok: user,
    });
    if !user {
        return false;
    }
    let (bit, name) = match access {
        Access::Fetch => (pte::X, "X=1: executable"),
        Access::Read => (pte::R, "R=1: readable"),
        Access::Write => (pte::W, "W=1: writable"),
    };
    let allowed = leaf_pte & bit != 0;
    rec.record(|| Step::CheckEntry {
        what: name.into(),
        ok: allowed,
    });
    if !allowed {
        return false;
    }
    let accessed = leaf_pte & pte::A != 0;
    rec.record(|| Step::CheckEntry {
        what: "A=1: accessed (else the OS sets it)".into(),
        ok: accessed,
    });
    if !accessed {
        return false;
    }
    if access == Access::Write {
        let dirty = leaf_pte & pte::D != 0;
        rec.record(|| Step::CheckEntry {
            what: "D=1: dirty (else the OS sets it)".into(),
            ok: dirty,
        });
        if !dirty {
            return false;
        }
    }
    true
}

impl Mmu for Sv39 {
    fn mechanism(&self) -> &'static str {
        "sv39"
    }

    /// Two addresses in one 4 KiB page share its leaf and its checks.
    #[inline(always)]
    fn one_piece(&self, first: VirtAddr, last: VirtAddr) -> bool {
        first.as_u64() >> PAGE_BITS == last.as_u64() >> PAGE_BITS
    }

    #[inline(always)]
    fn walk<R: StepRecorder>(
        &self,
        mem: &PhysicalMemory,
        va: VirtAddr,
        access: Access,
        rec: &mut R,
    ) -> Result<PhysAddr, Fault> {
        let raw = va.as_u64();
        let fault = |kind| Fault::new(va, access, kind);
        if self.satp.mode() == MODE_BARE {
            rec.record(|| Step::Identity);
            return super::check_physical(va, access, raw, self.phys_size, rec);
        }
        // 0. The TLB first: a hit skips the walk, never the checks.
        let Some(tlb) = self.first_level(access) else {
            return self.walk_tables(mem, va, access, rec);
        };
        let asid = self.satp.asid();
        let Some((pa, perms)) = tlb.lookup_pa(raw, asid, access) else {
            return self.walk_missed(mem, va, access, rec);
        };
        rec.record(|| Step::TlbLookup {
            vpn: raw >> PAGE_BITS,
            asid: (tlb.config().tagging == Tagging::Asid).then_some(asid),
            pfn: Some(pa >> PAGE_BITS),
            second: false,
        });
        // The leaf's checks, on the cached bits: all the needed bits set
        // is check_leaf passing (which then only narrates).
        let need = leaf_bits_needed(access);
        if perms & need != need {
            let _ = check_leaf(perms, access, rec);
            return Err(fault(FaultKind::PageFault));
        }
        let _ = check_leaf(perms, access, rec);
        rec.record(|| Step::JoinFrame {
            pfn: pa >> PAGE_BITS,
            offset: raw & (PAGE_SIZE - 1),
            pa: Some(pa),
        });
        super::check_physical(va, access, pa, self.phys_size, rec)
    }

    /// A TLB in front of the walk gives tickets (paging on).
    #[inline(always)]
    fn has_tickets(&self) -> bool {
        self.satp.mode() != MODE_BARE && (self.tlb.is_some() || self.itlb.is_some())
    }

    /// The first-level TLB's ticket for `va`'s page, for accesses like
    /// `access`, when the whole page lies in memory.
    #[inline]
    fn ticket(&self, va: VirtAddr, access: Access) -> Option<TlbTicket> {
        if self.satp.mode() == MODE_BARE {
            return None;
        }
        let t = self
            .first_level(access)?
            .ticket(va.as_u64(), self.satp.asid(), access)?;
        let in_memory =
            t.pa.checked_add(t.len)
                .is_some_and(|end| end <= self.phys_size);
        in_memory.then_some(t)
    }

    #[inline(always)]
    fn ticket_holds(&self, ticket: &TlbTicket, access: Access) -> bool {
        self.first_level(access)
            .is_some_and(|tlb| tlb.ticket_holds(ticket))
    }

    /// The leaf's checks on the cached bits, as the TLB hit path makes them:
    /// U, A, and X, R, or W and D.
    #[inline(always)]
    fn ticket_allows(&self, ticket: &TlbTicket, access: Access) -> bool {
        let need = leaf_bits_needed(access);
        ticket.perms & need == need
    }

    #[inline(always)]
    fn ticket_hit(&self, ticket: &TlbTicket, access: Access) {
        if let Some(tlb) = self.first_level(access) {
            tlb.ticket_hit(ticket);
        }
    }

    /// One translation (one TLB probe) per 4 KiB page the access touches
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
        super::paged_span(self, mem, va, size, access, PAGE_BITS, self.phys_size)
    }

    fn registers(&self) -> MmuRegisters {
        MmuRegisters::Satp(self.satp)
    }

    fn load_registers(&mut self, mode: Mode, regs: &MmuRegisters) -> Result<(), RegisterError> {
        super::require_kernel(mode)?;
        match regs {
            MmuRegisters::Satp(satp) => {
                self.satp = *satp;
                for tlb in self.tlbs() {
                    tlb.switch_address_space();
                }
                Ok(())
            }
            other => Err(RegisterError::WrongMechanism {
                expected: "sv39",
                got: other.mechanism(),
            }),
        }
    }
}

impl Sv39 {
    /// A TLB miss: narrated, then the walk.
    #[inline(never)]
    fn walk_missed<R: StepRecorder>(
        &self,
        mem: &PhysicalMemory,
        va: VirtAddr,
        access: Access,
        rec: &mut R,
    ) -> Result<PhysAddr, Fault> {
        let asid = self.satp.asid();
        let raw = va.as_u64();
        let tag = |tlb: &Tlb| (tlb.config().tagging == Tagging::Asid).then_some(asid);
        let first = self.first_level(access);
        rec.record(|| Step::TlbLookup {
            vpn: raw >> PAGE_BITS,
            asid: first.and_then(tag),
            pfn: None,
            second: false,
        });
        // A second-level TLB, if there is one, before the walk; a hit there
        // refills the first level.
        if let Some(l2) = self.l2.as_deref() {
            let Some(entry) = l2.lookup(raw, asid, access) else {
                rec.record(|| Step::TlbLookup {
                    vpn: raw >> PAGE_BITS,
                    asid: tag(l2),
                    pfn: None,
                    second: true,
                });
                return self.walk_tables(mem, va, access, rec);
            };
            if let Some(first) = first {
                first.fill(entry);
            }
            let pa = entry.pa(raw);
            rec.record(|| Step::TlbLookup {
                vpn: raw >> PAGE_BITS,
                asid: tag(l2),
                pfn: Some(pa >> PAGE_BITS),
                second: true,
            });
            if !check_leaf(entry.perms, access, rec) {
                return Err(Fault::new(va, access, FaultKind::PageFault));
            }
            rec.record(|| Step::JoinFrame {
                pfn: pa >> PAGE_BITS,
                offset: raw & (PAGE_SIZE - 1),
                pa: Some(pa),
            });
            return super::check_physical(va, access, pa, self.phys_size, rec);
        }
        self.walk_tables(mem, va, access, rec)
    }

    /// The walk proper, after a TLB miss (or without a TLB): canonical
    /// check, split, tables, leaf checks, and a fill of the TLB when the
    /// translation succeeds.
    #[inline(never)]
    fn walk_tables<R: StepRecorder>(
        &self,
        mem: &PhysicalMemory,
        va: VirtAddr,
        access: Access,
        rec: &mut R,
    ) -> Result<PhysAddr, Fault> {
        let raw = va.as_u64();
        let fault = |kind| Fault::new(va, access, kind);
        self.walks.set(self.walks.get() + 1);
        // 1. Only canonical addresses exist.
        let ok = canonical(raw);
        rec.record(|| Step::CheckCanonical { ok });
        if !ok {
            return Err(fault(FaultKind::PageFault));
        }
        // 2. Split: VPN[2] | VPN[1] | VPN[0] | offset.
        rec.record(|| Step::SplitIndices {
            indices: indices(raw).to_vec(),
            index_bits: vec![INDEX_BITS; LEVELS as usize],
            offset: raw & (PAGE_SIZE - 1),
            offset_bits: PAGE_BITS,
        });
        // 3. Walk the tables in memory down to a leaf.
        let leaf = find_leaf(mem, self.satp, raw, rec).map_err(fault)?;
        // 4. The leaf must allow this access from user mode.
        if !check_leaf(leaf.pte, access, rec) {
            return Err(fault(FaultKind::PageFault));
        }
        // 5. The frame's address with the offset (a superpage keeps the
        //    VPN's lower parts as part of its offset).
        let pa = leaf.pa(raw);
        rec.record(|| Step::JoinFrame {
            pfn: pa >> PAGE_BITS,
            offset: raw & (PAGE_SIZE - 1),
            pa: Some(pa),
        });
        let result = super::check_physical(va, access, pa, self.phys_size, rec);
        // 6. Refill: the TLBs keep translations that worked.
        if result.is_ok() {
            let page_bits = PAGE_BITS + INDEX_BITS * leaf.level;
            let entry = TlbEntry {
                asid: self.satp.asid(),
                global: leaf.pte & pte::G != 0,
                vpn: raw >> page_bits,
                page_bits,
                frame: pte::ppn(leaf.pte) << PAGE_BITS,
                perms: leaf.pte & 0xff,
            };
            for tlb in [self.first_level(access), self.l2.as_deref()]
                .into_iter()
                .flatten()
            {
                tlb.fill(entry);
            }
        }
        result
    }
}

/// Why the kernel could not map a page.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum MapError {
    /// The virtual address is not canonical, or not aligned to the page
    /// size asked for.
    #[error("virtual address {0:#x} is not canonical or not aligned to its page size")]
    BadAddress(u64),
    /// The physical address is not aligned to the page size.
    #[error("physical address {0:#x} is not aligned to its page size")]
    Unaligned(u64),
    /// The page table needed a new table page and none was free.
    #[error("out of memory for a page table")]
    OutOfMemory,
    /// A table entry lies outside physical memory.
    #[error("page-table entry at {0:#x} is outside physical memory")]
    Outside(u64),
    /// A larger page already maps the address.
    #[error("virtual address {0:#x} is inside a superpage")]
    InSuperpage(u64),
}

/// The kernel's side of Sv39: writes the entries that map the page of
/// `size` bytes (4 KiB, 2 MiB or 1 GiB: `level` 0, 1, 2) at `va` to the
/// frame at `pa` with `flags` (V is added) into the tables rooted at
/// `root_ppn`, taking new, zeroed table pages from `alloc` (a physical page
/// number, or `None` when memory is full).
///
/// Returns the physical address of the leaf entry written.
pub fn map(
    mem: &mut PhysicalMemory,
    root_ppn: u64,
    va: u64,
    pa: u64,
    level: u32,
    flags: u64,
    alloc: &mut dyn FnMut() -> Option<u64>,
) -> Result<u64, MapError> {
    let size = PAGE_SIZE << (INDEX_BITS * level.min(2));
    if !canonical(va) || va & (size - 1) != 0 || level > 2 {
        return Err(MapError::BadAddress(va));
    }
    if pa & (size - 1) != 0 {
        return Err(MapError::Unaligned(pa));
    }
    let idx = indices(va);
    let mut table = root_ppn;
    for (depth, &index) in idx.iter().enumerate() {
        let here = LEVELS - 1 - depth as u32;
        let entry_pa = table
            .checked_mul(PAGE_SIZE)
            .and_then(|t| t.checked_add(index * PTE_SIZE))
            .ok_or(MapError::Outside(u64::MAX))?;
        if here == level {
            let e = pte::make(pa >> PAGE_BITS, flags | pte::V);
            mem.write_le(PhysAddr::new(entry_pa), PTE_SIZE as usize, e)
                .map_err(|_| MapError::Outside(entry_pa))?;
            return Ok(entry_pa);
        }
        let e = mem
            .read_le(PhysAddr::new(entry_pa), PTE_SIZE as usize)
            .map_err(|_| MapError::Outside(entry_pa))?;
        if e & pte::V == 0 {
            let next = alloc().ok_or(MapError::OutOfMemory)?;
            let next_pa = next
                .checked_mul(PAGE_SIZE)
                .ok_or(MapError::Outside(u64::MAX))?;
            mem.zero(PhysAddr::new(next_pa), PAGE_SIZE)
                .map_err(|_| MapError::Outside(next_pa))?;
            mem.write_le(
                PhysAddr::new(entry_pa),
                PTE_SIZE as usize,
                pte::make(next, pte::V),
            )
            .map_err(|_| MapError::Outside(entry_pa))?;
            table = next;
        } else if e & (pte::R | pte::X) != 0 {
            return Err(MapError::InSuperpage(va));
        } else {
            table = pte::ppn(e);
        }
    }
    Err(MapError::BadAddress(va))
}

/// The physical address of the leaf entry mapping `va` under the tables at
/// `root_ppn` (what the kernel changes to unmap a page, or to set A and D),
/// or `None` when no valid leaf maps it.
pub fn leaf_entry(mem: &PhysicalMemory, root_ppn: u64, va: u64) -> Option<Leaf> {
    find_leaf(mem, Satp::sv39(0, root_ppn), va, &mut super::NoSteps).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEM: u64 = 64 << 20;
    const URWX: u64 = pte::R | pte::W | pte::X | pte::U | pte::A | pte::D;

    /// A memory with a root table in page 1 and table pages from page 2 on.
    fn machine() -> (PhysicalMemory, u64, impl FnMut() -> Option<u64>) {
        let mem = PhysicalMemory::new(MEM);
        let mut next = 2u64;
        let alloc = move || {
            next += 1;
            Some(next - 1)
        };
        (mem, 1, alloc)
    }

    fn mmu(root: u64) -> Sv39 {
        Sv39::new(Satp::sv39(1, root), MEM).unwrap()
    }

    #[test]
    fn a_mapped_page_translates_and_its_neighbours_fault() {
        let (mut mem, root, mut alloc) = machine();
        map(&mut mem, root, 0x40_0000, 0x80_0000, 0, URWX, &mut alloc).unwrap();
        let m = mmu(root);
        let pa = m
            .translate(&mem, VirtAddr::new(0x40_0123), Access::Read)
            .unwrap();
        assert_eq!(pa.as_u64(), 0x80_0123);
        let f = m
            .translate(&mem, VirtAddr::new(0x40_1000), Access::Read)
            .unwrap_err();
        assert_eq!(f.kind, FaultKind::PageFault);
    }

    #[test]
    fn the_walk_reads_three_entries_and_narrates_them() {
        let (mut mem, root, mut alloc) = machine();
        map(&mut mem, root, 0x1000, 0x5000, 0, URWX, &mut alloc).unwrap();
        let t = mmu(root).explain(&mem, VirtAddr::new(0x1234), Access::Write);
        let reads = t
            .steps
            .iter()
            .filter(|s| matches!(s, Step::ReadEntry { .. }))
            .count();
        assert_eq!(reads, 3);
        assert_eq!(t.result.unwrap().as_u64(), 0x5234);
        let text = crate::render::translation::narrate(&t);
        assert!(text.contains("L0     entry [0] at PA 0x1000"), "{text}");
        assert!(text.contains("leaf: page frame 0x5"), "{text}");
    }

    #[test]
    fn permissions_user_bit_and_accessed_dirty_fault() {
        let (mut mem, root, mut alloc) = machine();
        let cases = [
            (pte::R | pte::U | pte::A, Access::Read, true),
            (pte::R | pte::U | pte::A, Access::Write, false),
            (pte::R | pte::U | pte::A, Access::Fetch, false),
            (pte::R | pte::X | pte::U | pte::A, Access::Fetch, true),
            (pte::R | pte::A, Access::Read, false),
            (pte::R | pte::U, Access::Read, false),
            (pte::R | pte::W | pte::U | pte::A, Access::Write, false),
            (
                pte::R | pte::W | pte::U | pte::A | pte::D,
                Access::Write,
                true,
            ),
        ];
        for (i, (flags, access, ok)) in cases.into_iter().enumerate() {
            let va = 0x10_0000 + (i as u64) * PAGE_SIZE;
            map(&mut mem, root, va, 0x20_0000, 0, flags, &mut alloc).unwrap();
            let r = mmu(root).translate(&mem, VirtAddr::new(va), access);
            assert_eq!(r.is_ok(), ok, "flags {} {access:?}", pte::letters(flags));
        }
    }

    #[test]
    fn superpages_map_their_whole_size_and_must_be_aligned() {
        let (mut mem, root, mut alloc) = machine();
        map(&mut mem, root, 0x20_0000, 0x40_0000, 1, URWX, &mut alloc).unwrap();
        let m = mmu(root);
        let pa = m
            .translate(&mem, VirtAddr::new(0x3f_fff8), Access::Read)
            .unwrap();
        assert_eq!(pa.as_u64(), 0x5f_fff8);
        // Corrupt the leaf so its PPN is not 2 MiB aligned.
        let leaf = leaf_entry(&mem, root, 0x20_0000).unwrap();
        let bad = pte::make((0x40_0000 >> 12) + 1, URWX | pte::V);
        mem.write_le(PhysAddr::new(leaf.entry_pa), 8, bad).unwrap();
        let f = m
            .translate(&mem, VirtAddr::new(0x20_0000), Access::Read)
            .unwrap_err();
        assert_eq!(f.kind, FaultKind::PageFault);
    }

    #[test]
    fn non_canonical_addresses_and_corrupt_entries_fault() {
        let (mut mem, root, mut alloc) = machine();
        map(&mut mem, root, 0, 0x8000, 0, URWX, &mut alloc).unwrap();
        let m = mmu(root);
        for va in [1u64 << 38, 1 << 39, 0x8000_0000_0000_0000] {
            let f = m
                .translate(&mem, VirtAddr::new(va), Access::Read)
                .unwrap_err();
            assert_eq!(f.kind, FaultKind::PageFault, "{va:#x}");
        }
        // W without R is reserved.
        let leaf = leaf_entry(&mem, root, 0).unwrap();
        let bad = pte::make(8, pte::V | pte::W | pte::U | pte::A | pte::D);
        mem.write_le(PhysAddr::new(leaf.entry_pa), 8, bad).unwrap();
        assert!(m.translate(&mem, VirtAddr::new(0), Access::Write).is_err());
        // A root beyond memory is an access fault, never a panic.
        let far = Sv39::new(Satp::sv39(0, (MEM >> 12) + 10), MEM).unwrap();
        let f = far
            .translate(&mem, VirtAddr::new(0), Access::Read)
            .unwrap_err();
        assert_eq!(f.kind, FaultKind::OutsidePhysicalMemory);
    }

    #[test]
    fn unimplemented_modes_are_refused_and_satp_is_privileged() {
        assert!(
            Sv39::new(Satp(9 << 60), MEM)
                .unwrap_err()
                .contains("mode 9")
        );
        let mut m = Sv39::new(Satp::sv39(1, 1), MEM).unwrap();
        let regs = MmuRegisters::Satp(Satp::sv39(2, 5));
        assert_eq!(
            m.load_registers(Mode::User, &regs),
            Err(RegisterError::Privileged)
        );
        m.load_registers(Mode::Kernel, &regs).unwrap();
        assert_eq!(m.satp().asid(), 2);
    }

    #[test]
    fn bare_mode_does_not_translate() {
        let mem = PhysicalMemory::new(MEM);
        let m = Sv39::new(Satp(0), MEM).unwrap();
        let pa = m
            .translate(&mem, VirtAddr::new(0x1234), Access::Fetch)
            .unwrap();
        assert_eq!(pa.as_u64(), 0x1234);
    }

    #[test]
    fn a_tlb_hit_skips_the_walk_but_not_the_checks() {
        let (mut mem, root, mut alloc) = machine();
        let ro = pte::R | pte::U | pte::A;
        map(&mut mem, root, 0x1000, 0x5000, 0, ro, &mut alloc).unwrap();
        let m = mmu(root).with_tlb(TlbConfig::default());
        let first = m.explain(&mem, VirtAddr::new(0x1234), Access::Read);
        let text = crate::render::translation::narrate(&first);
        assert!(text.contains("TLB miss -> walk"), "{text}");
        let second = m.explain(&mem, VirtAddr::new(0x1238), Access::Read);
        let text = crate::render::translation::narrate(&second);
        assert!(
            text.contains("vpn 0x1, asid 1: TLB hit, frame 0x5"),
            "{text}"
        );
        assert!(!text.contains("L0"), "a hit reads no entry: {text}");
        assert_eq!(second.result.unwrap().as_u64(), 0x5238);
        // The same page, written: the hit still checks W and faults.
        let store = m.explain(&mem, VirtAddr::new(0x1238), Access::Write);
        assert_eq!(store.result.unwrap_err().kind, FaultKind::PageFault);
        let text = crate::render::translation::narrate(&store);
        assert!(
            text.contains("TLB hit") && text.contains("W=1: writable: NO"),
            "{text}"
        );
        let stats = m.tlb().unwrap().stats();
        assert_eq!((stats.hits, stats.misses, m.walks()), (2, 1, 1));
    }

    #[test]
    fn sfence_vma_is_privileged_and_makes_a_remap_visible() {
        let (mut mem, root, mut alloc) = machine();
        map(&mut mem, root, 0x1000, 0x5000, 0, URWX, &mut alloc).unwrap();
        let m = mmu(root).with_tlb(TlbConfig::default());
        let read = |m: &Sv39, mem: &PhysicalMemory| {
            m.translate(mem, VirtAddr::new(0x1000), Access::Read)
                .map(|pa| pa.as_u64())
        };
        assert_eq!(read(&m, &mem), Ok(0x5000));
        map(&mut mem, root, 0x1000, 0x9000, 0, URWX, &mut alloc).unwrap();
        // Until the flush the TLB still holds the old frame, as hardware does.
        assert_eq!(read(&m, &mem), Ok(0x5000));
        assert_eq!(
            m.sfence_vma(Mode::User, None, None),
            Err(RegisterError::Privileged)
        );
        m.sfence_vma(Mode::Kernel, Some(0x1000), Some(1)).unwrap();
        assert_eq!(read(&m, &mem), Ok(0x9000));
    }

    #[test]
    fn an_access_inside_a_page_is_one_lookup_and_across_pages_is_checked_bytewise() {
        let (mut mem, root, mut alloc) = machine();
        map(&mut mem, root, 0x1000, 0x5000, 0, URWX, &mut alloc).unwrap();
        let m = mmu(root).with_tlb(TlbConfig::default());
        m.translate_span(&mem, VirtAddr::new(0x1ff8), 8, Access::Read)
            .unwrap();
        m.translate_span(&mem, VirtAddr::new(0x1ff0), 8, Access::Read)
            .unwrap();
        let stats = m.tlb().unwrap().stats();
        assert_eq!((stats.hits, stats.misses), (1, 1));
        // Straddling into the unmapped next page faults at its first byte.
        let f = m
            .translate_span(&mem, VirtAddr::new(0x1ffc), 8, Access::Read)
            .unwrap_err();
        assert_eq!((f.va.as_u64(), f.kind), (0x2000, FaultKind::PageFault));
        let f = m
            .translate_span(&mem, VirtAddr::new(u64::MAX - 3), 8, Access::Read)
            .unwrap_err();
        assert_eq!(f.kind, FaultKind::PageFault);
    }

    mod properties {
        use super::*;
        use crate::mmu::tlb::{Policy, Tagging};
        use proptest::prelude::*;

        /// The oracle for a span: every byte translated on its own, each
        /// one physical byte after the one before; the first that fails
        /// names the fault.
        fn every_byte(
            m: &Sv39,
            mem: &PhysicalMemory,
            va: VirtAddr,
            size: u64,
            access: Access,
        ) -> Result<PhysAddr, Fault> {
            let pa = m.translate(mem, va, access)?;
            let first = va.as_u64();
            let Some(last) = first.checked_add(size.max(1) - 1) else {
                return Err(Fault::new(va, access, FaultKind::Overflow));
            };
            for byte in first + 1..=last {
                let byte_va = VirtAddr::new(byte);
                let got = m.translate(mem, byte_va, access)?;
                if pa.as_u64().checked_add(byte - first) != Some(got.as_u64()) {
                    return Err(Fault::new(byte_va, access, FaultKind::Bounds));
                }
            }
            Ok(pa)
        }

        /// What a kernel does between accesses.
        #[derive(Clone, Debug)]
        enum Op {
            /// An access of 1, 2, 4 or 8 bytes at page `page` + `offset`.
            Access(u64, u64, u64, Access),
            /// Map `page` to a frame with flags (`None`: unmap it) in the
            /// current address space, then flush the way the last field
            /// says.
            Remap(u64, Option<(u64, u64)>, u8),
            /// Switch to address space 0 or 1 (write satp).
            Switch(usize),
        }

        const PAGES: u64 = 24;
        /// Pages from here on are global, mapped alike in both spaces.
        const GLOBAL_FROM: u64 = 20;
        const SUPER_VA: u64 = 0x4000_0000;

        fn op() -> impl Strategy<Value = Op> {
            let flags = prop::sample::select(vec![
                URWX,
                pte::R | pte::U | pte::A,
                pte::R | pte::W | pte::U | pte::A,
                pte::R | pte::X | pte::U | pte::A,
                pte::R | pte::W | pte::U,
                pte::R | pte::A | pte::D,
                pte::W | pte::U | pte::A | pte::D,
            ]);
            prop_oneof![
                6 => (0..PAGES + 2, 0u64..4096, prop::sample::select(vec![1u64, 2, 4, 8]), crate::mmu::any_access())
                    .prop_map(|(p, o, s, a)| Op::Access(p, o, s, a)),
                2 => (0..PAGES, 0u64..300, flags, 0u8..3).prop_map(|(p, f, fl, h)| Op::Remap(p, Some((f, fl)), h)),
                1 => (0..PAGES, 0u8..3).prop_map(|(p, h)| Op::Remap(p, None, h)),
                1 => (0usize..2).prop_map(Op::Switch),
            ]
        }

        fn va_of(page: u64) -> u64 {
            if page >= PAGES {
                // Inside the 2 MiB superpage.
                SUPER_VA + (page - PAGES) * 0x8_0000
            } else {
                page << PAGE_BITS
            }
        }

        proptest! {
            /// Random, partly corrupted tables never panic the walk, and
            /// every translation lands in a page the tables map.
            #[test]
            fn random_tables_never_panic(
                words in prop::collection::vec(any::<u64>(), 64),
                va in any::<u64>(),
                access in crate::mmu::any_access(),
            ) {
                let mut mem = PhysicalMemory::new(1 << 20);
                for (i, w) in words.iter().enumerate() {
                    // Entries scattered over the first pages, some valid.
                    let pa = ((i as u64 % 8) << 12) + ((w >> 3) & 0x1ff) * 8;
                    mem.write_le(PhysAddr::new(pa), 8, *w).unwrap();
                }
                let m = Sv39::new(Satp::sv39(0, 0), 1 << 20).unwrap();
                let t = m.explain(&mem, VirtAddr::new(va), access);
                prop_assert_eq!(t.result, m.translate(&mem, VirtAddr::new(va), access));
            }

            /// The TLB never changes a translation's result: the same
            /// accesses, remaps, unmaps and context switches (flushing as a
            /// kernel must) give the same answers with any TLB as without.
            #[test]
            fn tlb_on_and_off_give_the_same_answers(
                entries_ways in prop::sample::select(vec![(1usize, 1usize), (4, 1), (4, 4), (8, 2), (16, 4), (64, 64)]),
                policy in prop::sample::select(vec![Policy::Lru, Policy::Fifo, Policy::Random, Policy::Clock]),
                flush_on_switch in any::<bool>(),
                levels in 0u8..4,
                initial in prop::collection::vec((0..PAGES, 0u64..300), 0..30),
                ops in prop::collection::vec(op(), 1..200),
            ) {
                const MEM: u64 = 1 << 20;
                let mut mem = PhysicalMemory::new(MEM);
                // Tables from page 240 up; roots in pages 238 and 239.
                let mut next = 240u64;
                let mut alloc = move || {
                    next += 1;
                    (next <= 256).then_some(next - 1)
                };
                let roots = [238u64, 239];
                for &root in &roots {
                    map(&mut mem, root, SUPER_VA, 0, 1, URWX, &mut alloc).unwrap();
                    for &(page, frame) in &initial {
                        let g = if page >= GLOBAL_FROM { pte::G } else { 0 };
                        map(&mut mem, root, page << PAGE_BITS, frame << PAGE_BITS, 0, URWX | g, &mut alloc).unwrap();
                    }
                }
                let satp = |i: usize| Satp::sv39(i as u16 + 1, roots[i]);
                let tagging = if flush_on_switch { Tagging::FlushOnSwitch } else { Tagging::Asid };
                let config = TlbConfig::new(entries_ways.0, entries_ways.1, policy).unwrap().with_tagging(tagging);
                let mut with = Sv39::new(satp(0), MEM).unwrap().with_tlb(config);
                // Also with a separate instruction TLB and a second level.
                if levels & 1 != 0 {
                    with = with.with_itlb(TlbConfig::new(2, 1, Policy::Lru).unwrap().with_tagging(tagging));
                }
                if levels & 2 != 0 {
                    with = with.with_l2_tlb(TlbConfig::new(16, 4, policy).unwrap().with_tagging(tagging));
                }
                let mut without = Sv39::new(satp(0), MEM).unwrap();
                let mut current = 0usize;
                for op in ops {
                    match op {
                        Op::Access(page, offset, size, access) => {
                            let va = VirtAddr::new(va_of(page) + (offset & !(size - 1)));
                            let a = with.translate_span(&mem, va, size, access);
                            let b = without.translate_span(&mem, va, size, access);
                            prop_assert_eq!(a, b, "{:?} {} bytes at {:#x}", access, size, va.as_u64());
                            prop_assert_eq!(b, every_byte(&without, &mem, va, size, access));
                            let t = with.explain(&mem, va, access);
                            prop_assert_eq!(t.result, without.translate(&mem, va, access));
                        }
                        Op::Remap(page, new, how) => {
                            let va = page << PAGE_BITS;
                            let global = page >= GLOBAL_FROM;
                            let g = if global { pte::G } else { 0 };
                            // A global page changes in every address space.
                            let spaces: &[u64] = if global { &roots } else { &roots[current..=current] };
                            for &root in spaces {
                                match new {
                                    Some((frame, flags)) => {
                                        map(&mut mem, root, va, frame << PAGE_BITS, 0, flags | g, &mut alloc).unwrap();
                                    }
                                    None => {
                                        if let Some(leaf) = leaf_entry(&mem, root, va) {
                                            mem.write_le(PhysAddr::new(leaf.entry_pa), 8, 0).unwrap();
                                        }
                                    }
                                }
                            }
                            let asid = Some(satp(current).asid());
                            match (how, global) {
                                (0, _) => with.sfence_vma(Mode::Kernel, None, None),
                                (1, _) | (2, true) => with.sfence_vma(Mode::Kernel, Some(va), None),
                                _ => with.sfence_vma(Mode::Kernel, Some(va), asid),
                            }.unwrap();
                        }
                        Op::Switch(i) => {
                            current = i;
                            let regs = MmuRegisters::Satp(satp(i));
                            with.load_registers(Mode::Kernel, &regs).unwrap();
                            without.load_registers(Mode::Kernel, &regs).unwrap();
                        }
                    }
                }
            }
        }
    }
}
