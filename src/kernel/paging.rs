//! The paging strategy: every process gets its own page table (RISC-V
//! Sv39, three levels in physical memory), built by the loader in exec's
//! phases; frames come from the frame allocator ([`super::frames`]); sbrk
//! maps and unmaps whole pages; and with a swap area, demand paging brings
//! pages in on a fault and a replacement policy ([`super::replacement`])
//! picks the victim when frames run out.
//!
//! ```text
//!  exec (xv6's exec.c, as phases)
//!   1. the layout: text, data, guard page, one stack page, heap (xv6), or
//!      code, data, heap ... stack (canonical)
//!   2. a root table from the kernel's frames
//!   3. each page of each region: a frame, zeroed, mapped with the
//!      region's permissions (code r-x, the rest rw-); U, A and D set
//!      (Sv39 in vmlab is Svade: the walk faults on A = 0, so the loader
//!      sets A, and D on writable pages). The guard page is left unmapped:
//!      a stack overflow into it page-faults and the process is killed.
//!      Read-only code pages of a program already in memory are shared.
//!   4. the image copied in through the new table; satp = Sv39 | ASID | root
//! ```
//!
//! **Demand paging** (`swap = true`): step 3 maps nothing. The loader puts
//! the image in the swap area; the first touch of a page faults, and the
//! kernel brings it in from swap (a disk read, priced by the cost model)
//! or, for a page never written (heap, stack), fills a frame with zeros.
//! When every frame is taken the replacement policy names a victim: its
//! entry is cleared, and if it was written while resident it is written
//! back to swap (a disk write).
//!
//! **How the kernel learns use and dirtiness.** Every access the kernel's
//! access path records ([`Kernel::user_access`], and the CPU's accesses
//! after each run) is given to the replacement policy: the exact order for
//! LRU, the use bit that CLOCK's hand clears, the dirty bit that decides a
//! write-back. The page-table entries keep A and D set (the walk never
//! writes them and never faults on them), so the Svade fault is not used as
//! a use signal; the kernel's own record is the use bit.
//!
//! Replacement is global: all processes' pages compete for the frames. OPT
//! needs the future: a scenario records the run's page references once
//! (under FIFO) and replays them. Under demand paging each process has its
//! own copy of its code (code pages are shared only when every page is
//! resident, without swap).
//!
//! Paging has no external fragmentation (any free frame serves any page);
//! its waste is internal: the unused end of each region's last page,
//! counted per process and shown in the memory map and the summary.

use super::event::{Event, MapEntry, Owner, Pid};
use super::frames::{FrameOwner, Frames};
use super::layout::{AddressSpace, RegionKind};
use super::replacement::{NextUse, Policy, Replacer};
use super::swap::SwapArea;
use super::system::{Kernel, KernelConfig};
use crate::addr::PhysAddr;
use crate::fault::{Fault, FaultKind};
use crate::mmu::multilevel::{self, Layout, MultiLevel};
use crate::mmu::sv39::{self, Satp, Sv39, pte};
use crate::mmu::{Access, AnyMmu, MmuRegisters, Perms};
use std::collections::BTreeMap;

/// The page-table format the paging strategy builds.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PageTableKind {
    /// RISC-V Sv39: 4 KiB pages, three levels of 512 entries.
    #[default]
    Sv39,
    /// The teaching multi-level table with one level: a linear page table
    /// (`va_bits`, `page_size` configurable; four-byte entries).
    Linear,
    /// The teaching multi-level table with two levels: a page directory
    /// and page tables (the index bits split in two halves).
    TwoLevel,
}

impl PageTableKind {
    /// Its name.
    pub const fn name(self) -> &'static str {
        match self {
            PageTableKind::Sv39 => "sv39",
            PageTableKind::Linear => "linear",
            PageTableKind::TwoLevel => "two-level",
        }
    }
}

/// The table format a paging kernel builds, with its geometry.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Format {
    /// Sv39 (4 KiB pages).
    Sv39,
    /// The teaching multi-level table.
    Multi(Layout),
}

impl Format {
    /// The format `kind` with `va_bits`-bit addresses and `page_size`-byte
    /// pages (both only for the teaching tables; defaults 32 and 4096).
    ///
    /// Fails with the one-line reason: a page size not a power of two (or
    /// not 4096 under Sv39), widths that leave no index bits.
    pub fn new(
        kind: PageTableKind,
        va_bits: Option<u32>,
        page_size: Option<u64>,
    ) -> Result<Format, String> {
        let ps = page_size.unwrap_or(sv39::PAGE_SIZE);
        if !ps.is_power_of_two() {
            return Err(format!("a page size of {ps} bytes is not a power of two"));
        }
        let levels = match kind {
            PageTableKind::Sv39 => {
                if ps != sv39::PAGE_SIZE {
                    return Err(format!("sv39 pages are 4096 bytes, not {ps}"));
                }
                if va_bits.is_some_and(|b| b != 39) {
                    return Err("sv39 addresses have 39 bits".into());
                }
                return Ok(Format::Sv39);
            }
            PageTableKind::Linear => 1,
            PageTableKind::TwoLevel => 2,
        };
        let va_bits = va_bits.unwrap_or(32);
        let page_bits = ps.trailing_zeros();
        let n = va_bits.checked_sub(page_bits).filter(|&n| n >= levels).ok_or_else(|| {
            format!("{va_bits}-bit addresses with {ps}-byte pages leave no index bits for {levels} level(s)")
        })?;
        let bits = if levels == 1 {
            vec![n]
        } else {
            vec![n.div_ceil(2), n / 2]
        };
        let entry = if va_bits <= 32 {
            multilevel::EntryFormat::WORD32
        } else {
            multilevel::EntryFormat::WORD64
        };
        Layout::new(va_bits, ps, bits, entry)
            .map(Format::Multi)
            .map_err(|e| e.to_string())
    }

    /// Its name.
    pub fn name(&self) -> &'static str {
        match self {
            Format::Sv39 => "sv39",
            Format::Multi(l) if l.levels() == 1 => "linear",
            Format::Multi(_) => "two-level",
        }
    }

    /// Bytes per page.
    pub fn page_size(&self) -> u64 {
        match self {
            Format::Sv39 => sv39::PAGE_SIZE,
            Format::Multi(l) => l.page_size(),
        }
    }

    /// One past the highest user virtual address (Sv39: the lower half of
    /// the canonical space, 2^38; the teaching tables: 2^va_bits).
    pub fn va_limit(&self) -> u64 {
        match self {
            Format::Sv39 => 1 << 38,
            Format::Multi(l) => 1u64.checked_shl(l.va_bits()).unwrap_or(u64::MAX),
        }
    }

    /// Bytes of the root table.
    pub fn root_bytes(&self) -> u64 {
        match self {
            Format::Sv39 => sv39::PAGE_SIZE,
            Format::Multi(l) => l.table_bytes(0),
        }
    }
}

/// A replacement policy as a scenario names it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyName {
    /// First in, first out.
    #[default]
    Fifo,
    /// Least recently used (exact).
    Lru,
    /// CLOCK: a hand over use bits.
    Clock,
    /// A seeded random victim.
    Random,
    /// Belady's optimal policy (the run is recorded first).
    Opt,
}

impl PolicyName {
    /// Its name.
    pub const fn name(self) -> &'static str {
        match self {
            PolicyName::Fifo => "fifo",
            PolicyName::Lru => "lru",
            PolicyName::Clock => "clock",
            PolicyName::Random => "random",
            PolicyName::Opt => "opt",
        }
    }
}

/// The paging strategy's settings.
#[derive(Clone, Debug, Default)]
pub struct PagingConfig {
    /// The page-table format.
    pub table: PageTableKind,
    /// Address bits (teaching tables only; default 32).
    pub va_bits: Option<u32>,
    /// Page size (teaching tables only; default 4096).
    pub page_size: Option<u64>,
    /// Frames for user pages (default: all of user memory).
    pub frames: Option<u64>,
    /// The replacement policy (demand paging).
    pub policy: PolicyName,
    /// The random policy's seed.
    pub seed: u64,
    /// Demand paging with a swap area (else every page is mapped at exec
    /// and a process that does not fit is not loaded).
    pub swap: bool,
    /// Tag address spaces with ASIDs (the TLB keeps its entries across a
    /// switch) instead of flushing the TLB at every switch.
    pub asid: bool,
    /// OPT's future: the recorded page references of this run.
    pub future: Option<NextUse>,
    /// Record the page references (for a later OPT run).
    pub record: bool,
    /// The TLB in front of the walk (`None`: no TLB). Its tagging follows
    /// `asid`.
    pub tlb: Option<crate::mmu::tlb::TlbConfig>,
}

/// What demand paging has counted.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct PagingStats {
    /// Page references (one per page an access touches).
    pub references: u64,
    /// Page faults that brought a page in.
    pub page_faults: u64,
    /// Pages read from swap.
    pub disk_reads: u64,
    /// Pages filled with zeros (never written before).
    pub zero_fills: u64,
    /// Pages evicted.
    pub evictions: u64,
    /// Dirty victims written back to swap.
    pub writebacks: u64,
}

/// One process's paged address space, as the kernel keeps it.
#[derive(Clone, Debug, Default)]
pub struct PageSpace {
    /// The root table's frame.
    pub root: u64,
    /// Every table frame (the root first).
    pub tables: Vec<u64>,
    /// Resident pages: virtual page number -> frame.
    pub resident: BTreeMap<u64, u64>,
}

/// The paging state of the kernel.
#[derive(Clone, Debug)]
pub struct Paging {
    /// The settings.
    pub config: PagingConfig,
    /// The table format.
    pub format: Format,
    /// Bytes of page tables each process had (at its exit for the dead).
    pub table_bytes: BTreeMap<Pid, u64>,
    /// The frame table.
    pub frames: Frames,
    /// The replacement policy over the user frames.
    pub replacer: Replacer,
    /// Each process's tables and resident pages.
    pub spaces: BTreeMap<Pid, PageSpace>,
    /// The swap area.
    pub swap: SwapArea,
    /// Counts.
    pub stats: PagingStats,
    /// The page references recorded (when `config.record`).
    pub recorded: Vec<u64>,
    /// Internal fragmentation of each process, last measured (at its exit
    /// for the dead).
    pub fragmentation: BTreeMap<Pid, u64>,
    /// Pages just brought in whose retried access is the fault's reference.
    skip: Vec<u64>,
    /// Events to emit after the Spawn event (the loader's mappings).
    pending: Vec<Event>,
}

/// The replacement policy's name for page `vpn` of `pid`.
fn key(pid: Pid, vpn: u64) -> u64 {
    (u64::from(pid) << 40) | (vpn & ((1 << 40) - 1))
}

/// The process and page of a replacement key.
fn unkey(k: u64) -> (Pid, u64) {
    ((k >> 40) as Pid, k & ((1 << 40) - 1))
}

/// The permissions of a region's pages.
fn region_perms(kind: RegionKind) -> Perms {
    match kind {
        RegionKind::Code => Perms::R | Perms::X,
        RegionKind::Guard => Perms::empty(),
        _ => Perms::R | Perms::W,
    }
}

/// The areas a process may touch, `[start, end)` with permissions: its
/// regions (not the guard page), or, for a space given only as a size,
/// all of `[0, size)` read-write-execute.
fn areas(space: &AddressSpace) -> Vec<(u128, u128, Perms)> {
    let mut v: Vec<(u128, u128, Perms)> = space
        .regions
        .iter()
        .filter(|r| r.size > 0 && r.kind != RegionKind::Guard)
        .map(|r| (u128::from(r.start), r.end_wide(), region_perms(r.kind)))
        .collect();
    if v.is_empty() && space.size > 0 && space.region(RegionKind::Guard).is_none() {
        v.push((0, u128::from(space.size), Perms::all()));
    }
    v
}

/// The permissions of page `vpn`: the union of the areas it overlaps
/// (`None`: no area does, the page is not the process's).
pub(crate) fn page_perms(space: &AddressSpace, vpn: u64, page_size: u64) -> Option<Perms> {
    let start = u128::from(vpn) * u128::from(page_size);
    let end = start + u128::from(page_size);
    areas(space)
        .into_iter()
        .filter(|(s, e, _)| *s < end && start < *e)
        .map(|(_, _, p)| p)
        .reduce(|a, b| a | b)
}

/// The pages the areas cover, as merged `[first, end)` page ranges.
fn page_ranges(space: &AddressSpace, page_size: u64) -> Vec<(u64, u64)> {
    let ps = u128::from(page_size);
    let mut r: Vec<(u64, u64)> = areas(space)
        .into_iter()
        .map(|(s, e, _)| ((s / ps) as u64, e.div_ceil(ps) as u64))
        .collect();
    r.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (s, e) in r {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// Internal fragmentation of a space: the bytes of its pages that no
/// region uses.
pub fn internal_fragmentation(space: &AddressSpace, page_size: u64) -> u64 {
    let pages: u128 = page_ranges(space, page_size)
        .iter()
        .map(|(s, e)| u128::from(e - s))
        .sum();
    let used: u128 = areas(space).iter().map(|(s, e, _)| e - s).sum();
    (pages * u128::from(page_size)).saturating_sub(used) as u64
}

/// Appends `count` frames from `first` held by `owner` to a memory map,
/// joining the previous entry when it has the same owner and ends there.
fn add_run(entries: &mut Vec<MapEntry>, first: u64, count: u64, owner: String, ps: u64) {
    if count == 0 {
        return;
    }
    match entries.last_mut() {
        Some(last) if last.owner == owner && last.start + last.size == first * ps => {
            last.size += count * ps;
        }
        _ => entries.push(MapEntry {
            start: first * ps,
            size: count * ps,
            owner,
        }),
    }
}

/// The Sv39 leaf flags for `perms` in user mode: U and A always, D with W
/// (Svade: the walk would fault on a clear A, or D on a store).
fn leaf_flags(perms: Perms) -> u64 {
    let mut f = pte::U | pte::A | pte::R;
    if perms.contains(Perms::W) {
        f |= pte::W | pte::D;
    }
    if perms.contains(Perms::X) {
        f |= pte::X;
    }
    f
}

/// The access kinds a page of `perms` allows.
fn allows(perms: Perms, access: Access) -> bool {
    perms.contains(access.required())
}

impl Paging {
    /// The paging state for `config`, and the MMU it runs on (Sv39 in Bare
    /// mode until the first process is dispatched).
    ///
    /// Fails with a one-line reason: memory or the OS region not a whole
    /// number of pages, no frame for user pages, more frames than memory.
    pub fn boot(config: &KernelConfig) -> Result<(AnyMmu, Paging), String> {
        let pc = &config.paging;
        let format = Format::new(pc.table, pc.va_bits, pc.page_size)?;
        let ps = format.page_size();
        if format.root_bytes() > config.os_size {
            return Err(format!(
                "os_size: the OS region ({} bytes) cannot hold one {} root table of {} bytes",
                config.os_size,
                format.name(),
                format.root_bytes()
            ));
        }
        if config.memory % ps != 0 {
            return Err(format!(
                "memory: {} bytes is not a whole number of {ps}-byte pages",
                config.memory
            ));
        }
        if config.os_size % ps != 0 {
            return Err(format!(
                "os_size: {} bytes is not a whole number of {ps}-byte pages (the kernel keeps page tables there)",
                config.os_size
            ));
        }
        let os_frames = config.os_size / ps;
        let user = (config.memory - config.os_size) / ps;
        let frames = pc.frames.unwrap_or(user);
        if frames > user {
            return Err(format!(
                "frames: {frames} frames of {ps} bytes need {} bytes, but memory has {} bytes after the OS region ({user} frames)",
                u128::from(frames) * u128::from(ps),
                config.memory - config.os_size
            ));
        }
        if frames == 0 {
            return Err("frames: user memory has no frame for a page (need at least 1)".into());
        }
        let policy = match pc.policy {
            PolicyName::Fifo => Policy::Fifo,
            PolicyName::Lru => Policy::Lru,
            PolicyName::Clock => Policy::Clock,
            PolicyName::Random => Policy::Random { seed: pc.seed },
            PolicyName::Opt => Policy::Opt(pc.future.clone().unwrap_or_default()),
        };
        let replacer = Replacer::new(policy, frames).map_err(|e| e.to_string())?;
        let mmu = match &format {
            Format::Sv39 => {
                let mut sv39 = Sv39::new(Satp(0), config.memory)?;
                if let Some(tlb) = pc.tlb {
                    let tagging = if pc.asid {
                        crate::mmu::tlb::Tagging::Asid
                    } else {
                        crate::mmu::tlb::Tagging::FlushOnSwitch
                    };
                    sv39 = sv39.with_tlb(tlb.with_tagging(tagging));
                }
                AnyMmu::Sv39(sv39)
            }
            Format::Multi(layout) => {
                let mut m =
                    MultiLevel::new(layout.clone(), 0, config.memory).map_err(|e| e.to_string())?;
                if let Some(tlb) = pc.tlb {
                    m = m.with_tlb(tlb);
                }
                AnyMmu::MultiLevel(m)
            }
        };
        Ok((
            mmu,
            Paging {
                config: pc.clone(),
                format,
                table_bytes: BTreeMap::new(),
                frames: Frames::new(ps, os_frames, frames),
                replacer,
                spaces: BTreeMap::new(),
                swap: SwapArea::default(),
                stats: PagingStats::default(),
                recorded: Vec::new(),
                fragmentation: BTreeMap::new(),
                skip: Vec::new(),
                pending: Vec::new(),
            },
        ))
    }

    /// Bytes per page.
    pub fn page_size(&self) -> u64 {
        self.frames.page_size()
    }

    /// Page references and page faults so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.stats.references, self.stats.page_faults)
    }
}

impl Kernel {
    fn pg(&self) -> &Paging {
        self.paging.as_ref().expect("paging strategy")
    }

    fn pg_mut(&mut self) -> &mut Paging {
        self.paging.as_mut().expect("paging strategy")
    }

    /// The loader's paging phases for new process `pid` of `program` with
    /// layout `space`: a root table, then (without swap) every page of
    /// every region mapped to a zeroed frame, sharing read-only code pages
    /// with a live process of the same program. The mapping events wait
    /// until [`Kernel::paging_flush_pending`] (after the spawn event).
    ///
    /// Returns the PCB's MMU registers (`satp`). Fails, freeing whatever it
    /// took, with the reason and the bytes needed.
    pub(crate) fn paging_load(
        &mut self,
        pid: Pid,
        program: &str,
        space: &AddressSpace,
    ) -> Result<MmuRegisters, (String, u64)> {
        let pg = self.pg();
        let ps = pg.page_size();
        let limit = pg.format.va_limit();
        if space.size > limit {
            return Err((
                format!(
                    "an address space of {:#x} bytes does not fit {}'s user addresses [0, {limit:#x})",
                    space.size,
                    pg.format.name()
                ),
                space.size,
            ));
        }
        let root_frames = pg.format.root_bytes().div_ceil(ps);
        let swap = pg.config.swap;
        let asid = if pg.config.asid { pid as u16 } else { 0 };
        // Phase 2: the root table, from the kernel's frames.
        let root = self
            .pg_mut()
            .frames
            .alloc_tables(pid, root_frames)
            .map_err(|e| (format!("{e}: the OS region holds the page tables"), ps))?;
        let _ = self.memory.zero(PhysAddr::new(root * ps), root_frames * ps);
        self.pg_mut().spaces.insert(
            pid,
            PageSpace {
                root,
                tables: (root..root + root_frames).collect(),
                resident: BTreeMap::new(),
            },
        );
        self.pg_mut().pending.push(Event::TablePage {
            pid,
            frame: root,
            pa: root * ps,
            bytes: root_frames * ps,
        });
        // Phase 3: every page of every region (without swap).
        if !swap {
            for (first, end) in page_ranges(space, ps) {
                for vpn in first..end {
                    let perms = page_perms(space, vpn, ps).unwrap_or(Perms::empty());
                    let shared = self.shared_code_frame(program, space, vpn, perms);
                    let done = match shared {
                        Some(frame) => {
                            self.pg_mut().frames.share(frame, pid);
                            self.install(pid, vpn, frame, perms).map(|()| frame)
                        }
                        None => self.map_new_page(pid, vpn, perms),
                    };
                    match done {
                        Ok(frame) => self.pg_mut().pending.push(Event::MapPage {
                            pid,
                            va: vpn * ps,
                            frame,
                            pa: frame * ps,
                            perms: perms.to_string(),
                            shared: shared.is_some(),
                        }),
                        Err(e) => {
                            self.paging_release(pid);
                            self.pg_mut().pending.clear();
                            let pages: u64 =
                                page_ranges(space, ps).iter().map(|(s, e)| e - s).sum();
                            return Err((e, pages.saturating_mul(ps)));
                        }
                    }
                }
            }
        }
        Ok(match self.pg().format {
            Format::Sv39 => MmuRegisters::Satp(Satp::sv39(asid, root)),
            Format::Multi(_) => MmuRegisters::PageDirectoryBase { root: root * ps },
        })
    }

    /// Emits the loader's mapping events held back until the spawn event.
    pub(crate) fn paging_flush_pending(&mut self) {
        if let Some(pg) = self.paging.as_mut() {
            let events = std::mem::take(&mut pg.pending);
            for e in events {
                self.emit(e);
            }
        }
    }

    /// The frame of a live process of `program` holding read-only code
    /// page `vpn` with the same permissions, when code is shared.
    fn shared_code_frame(
        &self,
        program: &str,
        space: &AddressSpace,
        vpn: u64,
        perms: Perms,
    ) -> Option<u64> {
        if !self.config.share_code || program.is_empty() || perms.contains(Perms::W) {
            return None;
        }
        let ps = self.pg().page_size();
        let code_only = space
            .regions
            .iter()
            .filter(|r| r.size > 0)
            .filter(|r| {
                let s = u128::from(vpn) * u128::from(ps);
                u128::from(r.start) < s + u128::from(ps) && s < r.end_wide()
            })
            .all(|r| r.kind == RegionKind::Code);
        if !code_only {
            return None;
        }
        self.procs
            .iter()
            .filter(|p| p.alive() && p.program == program)
            .find_map(|p| {
                let frame = *self.pg().spaces.get(&p.pid)?.resident.get(&vpn)?;
                (page_perms(&p.space, vpn, ps) == Some(perms)).then_some(frame)
            })
    }

    /// Takes a user frame for `vpn` of `pid`, zeroes it and maps it.
    fn map_new_page(&mut self, pid: Pid, vpn: u64, perms: Perms) -> Result<u64, String> {
        let ps = self.pg().page_size();
        let frame = self
            .pg_mut()
            .frames
            .alloc_page(pid, vpn)
            .map_err(|e| format!("out of memory: {e}"))?;
        let _ = self.memory.zero(PhysAddr::new(frame * ps), ps);
        if let Err(e) = self.install(pid, vpn, frame, perms) {
            self.pg_mut().frames.release(frame, pid);
            return Err(e);
        }
        Ok(frame)
    }

    /// Writes the leaf entry mapping `vpn` of `pid` to `frame` (taking
    /// table pages from the kernel's frames as needed).
    fn install(&mut self, pid: Pid, vpn: u64, frame: u64, perms: Perms) -> Result<(), String> {
        let Kernel { paging, memory, .. } = self;
        let pg = paging.as_mut().expect("paging strategy");
        let ps = pg.frames.page_size();
        let space = pg
            .spaces
            .get_mut(&pid)
            .ok_or_else(|| format!("pid {pid} has no page table"))?;
        let frames = &mut pg.frames;
        let tables = &mut space.tables;
        let mut new_tables = Vec::new();
        let va = vpn.checked_mul(ps).ok_or("page number overflows")?;
        let pa = frame.checked_mul(ps).ok_or("frame number overflows")?;
        let no_table = "no free page-table frame: the OS region holds the page tables";
        match &pg.format {
            Format::Sv39 => {
                sv39::map(
                    memory,
                    space.root,
                    va,
                    pa,
                    0,
                    leaf_flags(perms),
                    &mut || {
                        let f = frames.alloc_table(pid).ok()?;
                        tables.push(f);
                        new_tables.push((f, 1));
                        Some(f)
                    },
                )
                .map_err(|e| match e {
                    sv39::MapError::OutOfMemory => no_table.to_string(),
                    e => e.to_string(),
                })?;
            }
            Format::Multi(layout) => {
                multilevel::map(
                    memory,
                    layout,
                    space.root * ps,
                    va,
                    frame,
                    perms,
                    &mut |bytes| {
                        let n = bytes.div_ceil(ps);
                        let f = frames.alloc_tables(pid, n).ok()?;
                        tables.extend(f..f + n);
                        new_tables.push((f, n));
                        Some(f)
                    },
                )
                .map_err(|e| match e {
                    multilevel::MapError::OutOfMemory => no_table.to_string(),
                    e => e.to_string(),
                })?;
            }
        }
        space.resident.insert(vpn, frame);
        for (f, n) in new_tables {
            pg.pending.push(Event::TablePage {
                pid,
                frame: f,
                pa: f * ps,
                bytes: n * ps,
            });
        }
        Ok(())
    }

    /// `sfence.vma` for page `vpn` of `pid`: the TLB forgets the mapping
    /// the kernel just removed (else a hit would still reach the frame).
    fn flush_page(&self, pid: Pid, vpn: u64) {
        let pg = self.pg();
        let asid = if pg.config.asid { pid as u16 } else { 0 };
        let va = vpn * pg.page_size();
        match &self.mmu {
            AnyMmu::Sv39(m) => {
                let _ = m.sfence_vma(crate::mmu::Mode::Kernel, Some(va), Some(asid));
            }
            AnyMmu::MultiLevel(m) => {
                let _ = m.flush_tlb(crate::mmu::Mode::Kernel, Some(va));
            }
            _ => {}
        }
    }

    /// Page-table entries the MMU's walks read so far, at most: one per
    /// level per walk (a walk that stops at an invalid entry reads fewer;
    /// it is counted in full). Zero for the other mechanisms.
    pub(crate) fn walk_reads(&self) -> u64 {
        match &self.mmu {
            AnyMmu::Sv39(m) => m.walks() * u64::from(sv39::LEVELS),
            AnyMmu::MultiLevel(m) => m.walks() * m.layout().levels() as u64,
            _ => 0,
        }
    }

    /// The TLB's hits and misses so far (zeros without a TLB).
    pub(crate) fn tlb_counts(&self) -> (u64, u64) {
        let tlb = match &self.mmu {
            AnyMmu::Sv39(m) => m.tlb(),
            AnyMmu::MultiLevel(m) => m.tlb(),
            _ => None,
        };
        tlb.map_or((0, 0), |t| {
            let s = t.stats();
            (s.hits, s.misses)
        })
    }

    /// Clears the leaf entry of `vpn` in `pid`'s table (the page is no
    /// longer mapped; the walk faults).
    fn clear_entry(&mut self, pid: Pid, vpn: u64) {
        let Some(pg) = self.paging.as_ref() else {
            return;
        };
        let ps = pg.page_size();
        let Some(space) = pg.spaces.get(&pid) else {
            return;
        };
        match &pg.format {
            Format::Sv39 => {
                if let Some(leaf) = sv39::leaf_entry(&self.memory, space.root, vpn * ps) {
                    let _ = self.memory.write_le(
                        PhysAddr::new(leaf.entry_pa),
                        sv39::PTE_SIZE as usize,
                        0,
                    );
                }
            }
            Format::Multi(layout) => {
                let layout = layout.clone();
                let root = space.root * ps;
                multilevel::unmap(&mut self.memory, &layout, root, vpn * ps);
            }
        }
        self.flush_page(pid, vpn);
    }

    /// The trap handler's paging part, for a fault of `pid`: a page of the
    /// process that is not resident is brought in (demand paging); anything
    /// else (the guard page, no region, a forbidden access) is the reason
    /// the process is killed.
    ///
    /// Returns `Ok` when the access can be retried.
    pub(crate) fn paging_fault(&mut self, pid: Pid, fault: &Fault) -> Result<(), String> {
        let ps = self.pg().page_size();
        let va = fault.va.as_u64();
        let vpn = va / ps;
        if fault.kind != FaultKind::PageFault {
            return Err(fault.to_string());
        }
        let p = self.proc(pid);
        if p.space.region_of(va) == Some(RegionKind::Guard) {
            return Err(format!(
                "{fault}: {va:#x} is in the guard page below the stack (a stack overflow)"
            ));
        }
        let Some(perms) = page_perms(&p.space, vpn, ps) else {
            return Err(format!(
                "{fault}: no page of {} is mapped at {va:#x}",
                p.name
            ));
        };
        if !allows(perms, fault.access) {
            return Err(format!(
                "{fault}: the page at {:#x} is {perms}, a {} is not allowed",
                vpn * ps,
                fault.access.name()
            ));
        }
        let resident = self
            .pg()
            .spaces
            .get(&pid)
            .is_some_and(|s| s.resident.contains_key(&vpn));
        if resident || !self.pg().config.swap {
            return Err(fault.to_string());
        }
        self.page_in(pid, vpn, perms, fault.access == Access::Write)
    }

    /// Demand paging: brings page `vpn` of `pid` into a frame (a free one,
    /// or the replacement policy's victim's), from swap or zero-filled.
    fn page_in(&mut self, pid: Pid, vpn: u64, perms: Perms, write: bool) -> Result<(), String> {
        let ps = self.pg().page_size();
        let k = key(pid, vpn);
        let pg = self.pg_mut();
        if pg.config.record {
            pg.recorded.push(k);
        }
        let outcome = pg.replacer.access(k, write);
        pg.stats.references += 1;
        pg.stats.page_faults += 1;
        let frame = match outcome.victim {
            Some(v) => {
                let frame = self.evict(v.page, v.dirty);
                self.pg_mut().frames.reassign(frame, pid, vpn);
                frame
            }
            None => match self.pg_mut().frames.alloc_page(pid, vpn) {
                Ok(f) => f,
                Err(e) => {
                    self.pg_mut().replacer.unmap(k);
                    return Err(format!("out of memory: {e}"));
                }
            },
        };
        let pa = frame * ps;
        let from = match self.pg().swap.load(pid, vpn).map(<[u8]>::to_vec) {
            Some(bytes) => {
                let _ = self.memory.write(PhysAddr::new(pa), &bytes);
                self.counts.disk_transfers += 1;
                self.counts.disk_bytes += ps;
                self.pg_mut().stats.disk_reads += 1;
                "swap"
            }
            None => {
                let _ = self.memory.zero(PhysAddr::new(pa), ps);
                self.pg_mut().stats.zero_fills += 1;
                "zero"
            }
        };
        self.install(pid, vpn, frame, perms)?;
        self.pg_mut().skip.push(k);
        self.paging_flush_pending();
        self.emit(Event::PageIn {
            pid,
            va: vpn * ps,
            frame,
            pa,
            from,
        });
        Ok(())
    }

    /// Evicts the page the policy named (`victim` key, `dirty` when it was
    /// written): its entry is cleared, a dirty page written back to swap.
    /// Returns the frame it held.
    fn evict(&mut self, victim: u64, dirty: bool) -> u64 {
        let (owner, vpn) = unkey(victim);
        let ps = self.pg().page_size();
        let frame = self
            .pg_mut()
            .spaces
            .get_mut(&owner)
            .and_then(|s| s.resident.remove(&vpn))
            .unwrap_or(0);
        // The entry first, so that no walk (nor the TLB) finds the frame.
        self.clear_entry(owner, vpn);
        if dirty {
            let mut bytes = vec![0u8; ps as usize];
            let _ = self.memory.read(PhysAddr::new(frame * ps), &mut bytes);
            self.pg_mut().swap.store(owner, vpn, bytes);
            self.counts.disk_transfers += 1;
            self.counts.disk_bytes += ps;
            self.pg_mut().stats.writebacks += 1;
        }
        self.pg_mut().stats.evictions += 1;
        let policy = self.pg().config.policy.name();
        let hand = self.pg().replacer.clock_hand().and_then(|k| {
            let (pid, vpn) = unkey(k);
            self.pg().spaces.get(&pid)?.resident.get(&vpn).copied()
        });
        self.emit(Event::PageOut {
            pid: owner,
            va: vpn * ps,
            frame,
            policy,
            written_back: dirty,
            hand,
        });
        frame
    }

    /// Tells demand paging that `pid` touched the pages of an access of
    /// `size` bytes at `va` (its use and, for a store, its dirtiness).
    pub(crate) fn paging_touch(&mut self, pid: Pid, va: u64, size: u64, access: Access) {
        let Some(pg) = self.paging.as_mut() else {
            return;
        };
        let ps = pg.page_size();
        let first = va / ps;
        let last = va.saturating_add(size.max(1) - 1) / ps;
        for vpn in first..=last {
            let k = key(pid, vpn);
            if let Some(i) = pg.skip.iter().position(|&s| s == k) {
                // The fault that brought the page in was this reference.
                pg.skip.swap_remove(i);
                continue;
            }
            pg.stats.references += 1;
            if pg.config.swap {
                if pg.config.record {
                    pg.recorded.push(k);
                }
                pg.replacer.access(k, access == Access::Write);
            }
        }
    }

    /// sbrk under paging (xv6's uvmalloc / uvmdealloc): the heap's end
    /// moves from its old end to `heap_start + new_size`; growing maps the
    /// new whole pages (demand paging: they come on first touch),
    /// shrinking unmaps the pages no region uses any more.
    ///
    /// Fails, changing nothing, when the heap would reach the region above
    /// it or the top of the user addresses, or no frame is free.
    pub(crate) fn paging_resize_heap(
        &mut self,
        pid: Pid,
        heap_start: u64,
        old_size: u64,
        new_size: u64,
    ) -> Result<&'static str, String> {
        let ps = self.pg().page_size();
        let top = self.pg().format.va_limit();
        let old_end = heap_start + old_size;
        let new_end = heap_start
            .checked_add(new_size)
            .filter(|&e| e <= top)
            .ok_or_else(|| {
                format!("the heap would pass the top of the user addresses ({top:#x})")
            })?;
        if let Some(limit) = self.proc(pid).space.room_above_heap() {
            if new_end > limit {
                return Err(format!(
                    "the heap would reach {new_end:#x}, into the region at {limit:#x} above it"
                ));
            }
        }
        let old_pages = old_end.div_ceil(ps);
        let new_pages = new_end.div_ceil(ps);
        if new_pages > old_pages {
            if self.pg().config.swap {
                return Ok("lazily");
            }
            let mut mapped = Vec::new();
            for vpn in old_pages..new_pages {
                if self
                    .pg()
                    .spaces
                    .get(&pid)
                    .is_some_and(|s| s.resident.contains_key(&vpn))
                {
                    continue;
                }
                match self.map_new_page(pid, vpn, Perms::R | Perms::W) {
                    Ok(frame) => mapped.push((vpn, frame)),
                    Err(e) => {
                        for (vpn, _) in mapped {
                            self.unmap_page(pid, vpn, false);
                        }
                        self.pg_mut().pending.clear();
                        return Err(e);
                    }
                }
            }
            for (vpn, frame) in mapped {
                self.emit(Event::MapPage {
                    pid,
                    va: vpn * ps,
                    frame,
                    pa: frame * ps,
                    perms: "rw-".into(),
                    shared: false,
                });
            }
            self.paging_flush_pending();
        } else if new_pages < old_pages {
            for vpn in new_pages..old_pages {
                // A page another region still uses stays.
                let start = u128::from(vpn) * u128::from(ps);
                let other = self.proc(pid).space.regions.iter().any(|r| {
                    r.kind != RegionKind::Heap
                        && r.size > 0
                        && u128::from(r.start) < start + u128::from(ps)
                        && start < r.end_wide()
                });
                if !other {
                    self.unmap_page(pid, vpn, true);
                }
            }
        }
        Ok("paged")
    }

    /// Unmaps page `vpn` of `pid`: its entry cleared, its frame and swap
    /// slot freed, the replacement policy told.
    fn unmap_page(&mut self, pid: Pid, vpn: u64, narrate: bool) {
        let ps = self.pg().page_size();
        self.clear_entry(pid, vpn);
        let pg = self.pg_mut();
        let frame = pg
            .spaces
            .get_mut(&pid)
            .and_then(|s| s.resident.remove(&vpn));
        if let Some(f) = frame {
            pg.frames.release(f, pid);
        }
        if pg.config.swap {
            pg.replacer.unmap(key(pid, vpn));
        }
        pg.swap.discard(pid, vpn);
        if let (true, Some(frame)) = (narrate, frame) {
            self.emit(Event::UnmapPage {
                pid,
                va: vpn * ps,
                frame,
            });
        }
    }

    /// The process is gone: its pages, tables and swap slots are freed
    /// (shared code stays while another process maps it).
    pub(crate) fn paging_release(&mut self, pid: Pid) {
        let ps = self.pg().page_size();
        let frag = internal_fragmentation(&self.proc_space_or_empty(pid), ps);
        let pg = self.pg_mut();
        let Some(space) = pg.spaces.remove(&pid) else {
            return;
        };
        pg.fragmentation.insert(pid, frag);
        pg.table_bytes.insert(pid, space.tables.len() as u64 * ps);
        for (vpn, frame) in space.resident {
            pg.frames.release(frame, pid);
            if pg.config.swap {
                pg.replacer.unmap(key(pid, vpn));
            }
        }
        for t in space.tables {
            pg.frames.release(t, pid);
        }
        pg.swap.discard_all(pid);
        pg.skip.retain(|&k| unkey(k).0 != pid);
    }

    fn proc_space_or_empty(&self, pid: Pid) -> AddressSpace {
        self.procs
            .get(pid as usize - 1)
            .map(|p| p.space.clone())
            .unwrap_or(AddressSpace {
                layout: Default::default(),
                regions: Vec::new(),
                size: 0,
                offset_bits: None,
            })
    }

    /// Under demand paging the loader puts the image on the swap area: one
    /// byte at `va` of `pid`. Returns whether it did (else the caller
    /// writes through the new page table).
    pub(crate) fn paging_image_byte(&mut self, pid: Pid, va: u64, byte: u8) -> bool {
        let Some(pg) = self.paging.as_mut() else {
            return false;
        };
        if !pg.config.swap {
            return false;
        }
        let ps = pg.page_size();
        pg.swap.poke(pid, va / ps, ps, va % ps, byte);
        true
    }

    /// Who owns physical byte `pa` under paging (preferring `me` for a
    /// shared frame): page tables are the OS's.
    pub(crate) fn paging_owner(&self, pa: u64, me: Option<Pid>) -> Owner {
        let pg = self.pg();
        let frame = pa / pg.page_size();
        match pg.frames.owner(frame) {
            FrameOwner::Free => {
                if frame < pg.frames.kernel_frames() {
                    Owner::Os
                } else {
                    Owner::Free
                }
            }
            FrameOwner::PageTable { .. } => Owner::Os,
            FrameOwner::Page { pids, .. } => match me {
                Some(me) if pids.contains(&me) => Owner::Process(me),
                _ => Owner::Process(pids[0]),
            },
        }
    }

    /// The virtual address at which `pid` sees physical byte `pa`, when a
    /// page of it is in that frame.
    pub(crate) fn paging_va_of(&self, pid: Pid, pa: u64) -> Option<u64> {
        let pg = self.pg();
        let ps = pg.page_size();
        match pg.frames.owner(pa / ps) {
            FrameOwner::Page { pids, vpn } if pids.contains(&pid) => Some(vpn * ps + pa % ps),
            _ => None,
        }
    }

    /// The frame map: the kernel's frames (page tables, free), then each
    /// user frame with its page (or free), runs of free frames merged.
    pub(crate) fn paging_memory_map(&self) -> Event {
        let pg = self.pg();
        let ps = pg.page_size();
        let total = self.config.memory / ps;
        let kernel = pg.frames.kernel_frames();
        let pool_end = pg.frames.first_user() + pg.frames.user_frames();
        let mut entries: Vec<MapEntry> = Vec::new();
        let mut free_total = 0;
        let mut largest = 0;
        // Frames `[from, to)` nobody holds: the OS region's, then free ones.
        let mut gap = |entries: &mut Vec<MapEntry>, from: u64, to: u64| {
            let os_end = to.min(kernel).max(from);
            add_run(entries, from, os_end - from, "os".into(), ps);
            let free_from = from.max(kernel);
            let free_to = to.min(pool_end).max(free_from);
            if free_to > free_from {
                add_run(entries, free_from, free_to - free_from, "free".into(), ps);
                free_total += (free_to - free_from) * ps;
                largest = largest.max((free_to - free_from) * ps);
            }
            let unused_from = from.max(pool_end);
            if to > unused_from {
                add_run(
                    entries,
                    unused_from,
                    to - unused_from,
                    "not used for pages (beyond machine.frames)".into(),
                    ps,
                );
            }
        };
        let mut cursor = 0;
        for (f, owner) in pg.frames.used() {
            gap(&mut entries, cursor, f);
            cursor = f + 1;
            let text = match owner {
                FrameOwner::Free => "free".to_string(),
                FrameOwner::PageTable { pid } => format!("{} page table", self.proc(*pid).name),
                FrameOwner::Page { pids, vpn } => {
                    let names: Vec<&str> =
                        pids.iter().map(|&p| self.proc(p).name.as_str()).collect();
                    let region = match self.region_name(pids[0], vpn * ps) {
                        "none" => String::new(),
                        r => format!(" ({r})"),
                    };
                    format!(
                        "{} page {:#x}{region}{}",
                        names.join("+"),
                        vpn * ps,
                        if pids.len() > 1 { " shared" } else { "" }
                    )
                }
            };
            add_run(&mut entries, f, 1, text, ps);
        }
        gap(&mut entries, cursor, total);
        let frag = self
            .procs
            .iter()
            .filter(|p| p.alive())
            .map(|p| internal_fragmentation(&p.space, ps))
            .sum();
        Event::MemoryMap {
            entries,
            free_total,
            largest_hole: largest,
            internal_fragmentation: Some(frag),
        }
    }

    /// The paging totals: references, faults and their rate, evictions,
    /// write-backs, and internal fragmentation (each process's, at its exit
    /// or now).
    pub fn tlb_summary(&self) -> Option<Event> {
        self.paging.as_ref()?;
        let (t, walks) = match &self.mmu {
            AnyMmu::Sv39(m) => (m.tlb()?, m.walks()),
            AnyMmu::MultiLevel(m) => (m.tlb()?, m.walks()),
            _ => return None,
        };
        let c = t.config();
        let s = t.stats();
        Some(Event::TlbSummary {
            entries: c.entries() as u64,
            ways: c.ways() as u64,
            policy: c.policy.name(),
            tagging: c.tagging.name(),
            hits: s.hits,
            misses: s.misses,
            evictions: s.evictions,
            flushes: s.flushes,
            hit_rate: s.hit_rate(),
            walks,
            contents: t
                .entries()
                .into_iter()
                .map(|(set, way, e)| super::event::TlbSlot {
                    set: set as u64,
                    way: way as u64,
                    asid: e.asid,
                    global: e.global,
                    va: e.vpn << e.page_bits,
                    page_size: 1 << e.page_bits,
                    pa: e.frame,
                })
                .collect(),
        })
    }

    /// Bytes of page tables over all processes (each live one's now, each
    /// dead one's at its exit).
    pub fn page_table_bytes(&self) -> u64 {
        let Some(pg) = self.paging.as_ref() else {
            return 0;
        };
        let ps = pg.page_size();
        let mut bytes = pg.table_bytes.clone();
        for (pid, space) in &pg.spaces {
            bytes.insert(*pid, space.tables.len() as u64 * ps);
        }
        bytes.values().sum()
    }

    /// The paging totals: references, faults and their rate, evictions,
    /// write-backs, and internal fragmentation.
    pub fn paging_summary(&self) -> Option<Event> {
        let pg = self.paging.as_ref()?;
        let ps = pg.page_size();
        let mut frag = pg.fragmentation.clone();
        for p in self.procs.iter().filter(|p| p.alive()) {
            frag.insert(p.pid, internal_fragmentation(&p.space, ps));
        }
        let s = pg.stats;
        Some(Event::PagingSummary {
            table: pg.format.name(),
            page_table_bytes: self.page_table_bytes(),
            // Without swap nothing is ever evicted: no policy runs.
            policy: if pg.config.swap {
                pg.config.policy.name()
            } else {
                "none"
            },
            page_size: ps,
            frames: pg.frames.user_frames(),
            references: s.references,
            page_faults: s.page_faults,
            fault_rate: if s.references > 0 {
                s.page_faults as f64 / s.references as f64
            } else {
                0.0
            },
            evictions: s.evictions,
            writebacks: s.writebacks,
            disk_reads: s.disk_reads,
            zero_fills: s.zero_fills,
            internal_fragmentation: frag.values().sum(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::layout::{LayoutKind, Sizes};
    use crate::kernel::system::{ProcessSpec, Strategy};

    fn config(swap: bool, frames: Option<u64>) -> KernelConfig {
        let mut c = KernelConfig::new(256 * 1024, 64 * 1024, Strategy::Paging);
        c.paging.swap = swap;
        c.paging.frames = frames;
        c
    }

    fn spec(name: &str, layout_sizes: Sizes) -> ProcessSpec {
        ProcessSpec {
            name: name.into(),
            program: name.into(),
            sizes: layout_sizes,
            ..ProcessSpec::default()
        }
    }

    fn xv6(heap: u64) -> Sizes {
        Sizes {
            code: 100,
            data: 20,
            heap,
            ..Sizes::default()
        }
    }

    #[test]
    fn exec_maps_text_stack_and_heap_and_leaves_the_guard_page_unmapped() {
        let mut c = config(false, None);
        c.layout = LayoutKind::Xv6;
        let mut k = Kernel::boot(c).unwrap();
        let p = k.spawn(&spec("P", xv6(0))).unwrap();
        k.context_switch(p, "start");
        // text+data page 0, guard page 1, stack page 2.
        assert_eq!(k.user_access(Access::Write, 0x2ff8, 8, 7), Some(Ok(7)));
        assert!(k.user_access(Access::Read, 0x10, 4, 0).unwrap().is_ok());
        let f = k
            .user_access(Access::Write, 0x1ff8, 8, 1)
            .unwrap()
            .unwrap_err();
        assert_eq!(f.kind, FaultKind::PageFault);
        assert!(!k.proc(p).alive());
        let killed = k
            .events
            .iter()
            .any(|e| matches!(e, Event::Kill { reason, .. } if reason.contains("guard page")));
        assert!(killed);
    }

    #[test]
    fn sbrk_maps_whole_pages_and_a_negative_sbrk_unmaps_them() {
        let mut c = config(false, None);
        c.layout = LayoutKind::Xv6;
        let mut k = Kernel::boot(c).unwrap();
        let p = k.spawn(&spec("P", xv6(0))).unwrap();
        k.context_switch(p, "start");
        let before = k.pg().frames.free_user();
        assert_eq!(k.grow_heap(p, 40), Ok(0x3000));
        assert_eq!(k.pg().frames.free_user(), before - 1);
        assert_eq!(k.grow_heap(p, 4096), Ok(0x3000 + 40));
        assert_eq!(k.pg().frames.free_user(), before - 2);
        assert!(
            k.user_access(Access::Write, 0x3000 + 4100, 1, 1)
                .unwrap()
                .is_ok()
        );
        assert_eq!(
            internal_fragmentation(&k.proc(p).space, 4096),
            2 * 4096 - 4136
        );
        assert_eq!(k.grow_heap(p, -4096), Ok(0x3000 + 4136));
        assert_eq!(k.pg().frames.free_user(), before - 1);
        let f = k.user_access(Access::Read, 0x4000 + 8, 1, 0).unwrap();
        assert!(f.is_err(), "the unmapped page faults");
    }

    #[test]
    fn two_processes_of_one_program_share_read_only_code_frames() {
        let mut c = config(false, None);
        c.layout = LayoutKind::Xv6;
        let mut k = Kernel::boot(c).unwrap();
        let big = Sizes {
            code: 8192,
            data: 100,
            ..Sizes::default()
        };
        let a = k.spawn(&spec("A", big)).unwrap();
        let mut b_spec = spec("B", big);
        b_spec.program = "A".into();
        let b = k.spawn(&b_spec).unwrap();
        let code = |k: &Kernel, p| k.pg().spaces[&p].resident[&0];
        assert_eq!(code(&k, a), code(&k, b));
        // The page holding the end of the code and the data is writable:
        // private.
        assert_ne!(
            k.pg().spaces[&a].resident[&2],
            k.pg().spaces[&b].resident[&2]
        );
        k.kill(a, "test".into());
        assert!(k.pg().frames.held_by(code(&k, b), b));
    }

    #[test]
    fn a_process_that_does_not_fit_is_not_loaded_without_swap() {
        let mut k = Kernel::boot(config(false, Some(2))).unwrap();
        let s = Sizes {
            total: Some(3 * 4096),
            ..Sizes::default()
        };
        assert!(k.spawn(&spec("P", s)).is_err());
        assert_eq!(k.pg().frames.free_user(), 2, "nothing kept");
        assert_eq!(k.pg().frames.free_kernel(), 16, "tables freed");
    }

    #[test]
    fn demand_paging_runs_a_process_larger_than_memory_and_keeps_its_bytes() {
        let mut k = Kernel::boot(config(true, Some(2))).unwrap();
        let s = Sizes {
            total: Some(8 * 4096),
            ..Sizes::default()
        };
        let p = k.spawn(&spec("P", s)).unwrap();
        k.context_switch(p, "start");
        for page in 0..8u64 {
            k.user_access(Access::Write, page * 4096 + 8, 8, page + 100)
                .unwrap()
                .unwrap();
        }
        for page in 0..8u64 {
            let v = k.user_access(Access::Read, page * 4096 + 8, 8, 0);
            assert_eq!(v, Some(Ok(page + 100)), "page {page}");
        }
        let s = k.pg().stats;
        assert_eq!(s.page_faults, 16);
        assert_eq!(s.evictions, 14);
        // The six evicted while writing, and pages 6 and 7 evicted by the
        // reading pass; the rest were read only: clean.
        assert_eq!(s.writebacks, 8);
        assert_eq!(s.disk_reads, 8, "the second pass reads each page back");
        assert_eq!(s.references, 16);
        assert_eq!(k.counts.disk_bytes, 16 * 4096);
    }

    #[test]
    fn frames_beyond_memory_and_unaligned_regions_are_refused_at_boot() {
        let e = Kernel::boot(config(false, Some(49))).unwrap_err();
        assert!(e.contains("frames: 49 frames"), "{e}");
        let mut c = config(false, None);
        c.os_size = 1000;
        assert!(Kernel::boot(c).unwrap_err().contains("os_size"));
    }
}
