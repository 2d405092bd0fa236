//! A whole (small) machine running one program: CPU + MMU + physical memory
//! and a minimal kernel for three system calls — enough to run the examples
//! and compiled C programs. The full OS (processes, context switches, the
//! loader's policies) is `kernel`'s; this runner is its smallest case.
//!
//! The address space of the program, as the lecture draws it:
//!
//! ```text
//!   0                                                         space
//!   | code | data/bss | heap -> (brk)      free       <- stack |
//!                                                  ^ stack region: the top
//!                                                    `stack` bytes
//! ```
//!
//! It is placed in physical memory at `base` (`pa = base + va`) and the MMU
//! (identity, base, base + bounds with bounds = space, or segmentation with
//! code, heap and stack segments over the same placement) translates every
//! access.
//!
//! Under Sv39 the address space is xv6's (`exec`): the program's pages,
//! an unmapped guard page, one stack page, then the heap, each page in a
//! frame of its own taken from physical memory from `base` up, mapped by
//! real Sv39 tables that the loader writes into that memory:
//!
//! ```text
//!   0                                                  sz (the break)
//!   | code r-x | data rw- | guard (unmapped) | stack rw- | heap rw- ->
//!                                             ^ sp starts at the top
//! ```
//!
//! Every user page is mapped with A set, and D set when writable (vmlab's
//! MMU faults rather than setting them: see [`crate::mmu::sv39`]). `sbrk`
//! maps pages as the break grows and unmaps them (with an `sfence.vma` of
//! each page) as it shrinks, as xv6's `uvmalloc`/`uvmdealloc` do. System calls (number in `a7`, xv6 and Linux RISC-V numbers):
//! `exit` (2, 93), `write` (16, 64) to fd 1 or 2, `sbrk` (12), `brk` (214),
//! `getpid` (11, 172: the one process is pid 1).

use crate::addr::{PhysAddr, VirtAddr};
use crate::cpu::registers::reg;
use crate::cpu::{Cpu, Exit, NoObserver, Observer, Trap};
use crate::memory::PhysicalMemory;
use crate::mmu::sv39::{self, Satp, Sv39, pte};
use crate::mmu::{
    Access, AnyMmu, Base, BaseBounds, Identity, Mmu, MmuRegisters, Mode, Perms, Segment,
    Segmentation, TlbConfig, TlbStats,
};
use crate::program::Program;
use std::io::Write;

/// Which translation the MMU performs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MmuKind {
    /// `pa = va` (the program is placed at physical `va`).
    Identity,
    /// `pa = base + va`, no check.
    Base,
    /// `va < bounds ? base + va : fault`, bounds = the address space size.
    BaseBounds,
    /// Four segments, selected by the top two bits of the address: 0 code
    /// (r-x), 1 data and heap (rw-, grows up), 2 unused, 3 stack (rw-,
    /// grows down). The address space must be a power of two.
    Segmentation,
    /// RISC-V Sv39: page tables in physical memory, xv6's layout (code,
    /// data, guard page, stack page, heap), a TLB if [`Config::tlb`] asks.
    Sv39,
}

/// The segmented layout's quarter size for `program` when it was linked
/// without knowing it: the largest power of two at or below the start of its
/// writable data (or above its code when it has none), if the code fits below
/// it and the data in the quarter above.
pub fn segment_quarter(program: &Program) -> Option<u64> {
    let writable = |s: &&crate::program::Section| s.perms.contains(Perms::W);
    let code_end = program
        .sections
        .iter()
        .filter(|s| !writable(s))
        .filter_map(|s| s.end())
        .max()
        .unwrap_or(0);
    let data_start = program
        .sections
        .iter()
        .filter(writable)
        .map(|s| s.addr)
        .min();
    let data_end = program
        .sections
        .iter()
        .filter(writable)
        .filter_map(|s| s.end())
        .max();
    let q = match data_start {
        Some(d) if d > 0 => 1u64 << (63 - d.leading_zeros()),
        Some(_) => return None,
        None => code_end.max(1).checked_next_power_of_two()?,
    };
    let q = q.max(16 << 10);
    (code_end <= q && data_end.is_none_or(|e| e <= 2 * q)).then_some(q)
}

/// How to build the machine.
#[derive(Clone, Debug)]
pub struct Config {
    /// The MMU mechanism.
    pub mmu: MmuKind,
    /// Where the address space starts in physical memory.
    pub base: u64,
    /// Physical memory size.
    pub phys_mem: u64,
    /// Address-space size; `None` picks one that holds the program plus
    /// 64 KiB of heap and 64 KiB of stack, rounded up to a power of two.
    /// Under Sv39 the break may not pass it.
    pub space: Option<u64>,
    /// Under Sv39: the TLB in front of the walk (`None`: every access
    /// walks). Ignored by the other mechanisms.
    pub tlb: Option<TlbConfig>,
}

/// The ASID the runner gives its one process under Sv39.
pub const SV39_ASID: u16 = 1;

/// Under Sv39: the tables, and the frames the runner hands out.
#[derive(Debug)]
struct Paging {
    /// The root table's physical page number.
    root: u64,
    /// Frames never used yet start here (a physical page number).
    next_frame: u64,
    /// One past the last frame of physical memory.
    end_frame: u64,
    /// Frames given back by `sbrk` with a negative size.
    free: Vec<u64>,
}

impl Paging {
    /// A free frame (zeroed), or `None` when memory is full.
    fn alloc(&mut self, mem: &mut PhysicalMemory) -> Option<u64> {
        let frame = match self.free.pop() {
            Some(f) => f,
            None if self.next_frame < self.end_frame => {
                self.next_frame += 1;
                self.next_frame - 1
            }
            None => return None,
        };
        mem.zero(PhysAddr::new(frame * sv39::PAGE_SIZE), sv39::PAGE_SIZE)
            .ok()?;
        Some(frame)
    }

    /// Maps the user page at `va` to a new frame with `flags` (U and A are
    /// added, and D with W). Returns the frame's physical address.
    fn map_page(&mut self, mem: &mut PhysicalMemory, va: u64, flags: u64) -> Result<u64, String> {
        let frame = self.alloc(mem).ok_or_else(|| {
            format!(
                "out of physical memory mapping page {va:#x} (use a larger --phys-mem or a lower --base)"
            )
        })?;
        let mut flags = flags | pte::U | pte::A;
        if flags & pte::W != 0 {
            flags |= pte::D | pte::R;
        }
        let root = self.root;
        let mut tables = Vec::new();
        let r = sv39::map(
            mem,
            root,
            va,
            frame * sv39::PAGE_SIZE,
            0,
            flags,
            &mut || {
                let t = self.alloc_table()?;
                tables.push(t);
                Some(t)
            },
        );
        // Table pages come fresh (map zeroes them).
        match r {
            Ok(_) => Ok(frame * sv39::PAGE_SIZE),
            Err(e) => {
                self.free.push(frame);
                self.free.extend(tables);
                Err(match e {
                    sv39::MapError::OutOfMemory => format!(
                        "out of physical memory for the page tables mapping page {va:#x} (use a larger --phys-mem or a lower --base)"
                    ),
                    e => format!("mapping page {va:#x}: {e}"),
                })
            }
        }
    }

    /// A frame for a page table (`map` zeroes it).
    fn alloc_table(&mut self) -> Option<u64> {
        match self.free.pop() {
            Some(f) => Some(f),
            None if self.next_frame < self.end_frame => {
                self.next_frame += 1;
                Some(self.next_frame - 1)
            }
            None => None,
        }
    }

    /// Removes the mapping of the user page at `va` and frees its frame.
    /// Returns whether a page was mapped there.
    fn unmap_page(&mut self, mem: &mut PhysicalMemory, va: u64) -> bool {
        let Some(leaf) = sv39::leaf_entry(mem, self.root, va) else {
            return false;
        };
        if mem.write_le(PhysAddr::new(leaf.entry_pa), 8, 0).is_err() {
            return false;
        }
        self.free.push(pte::ppn(leaf.pte));
        true
    }
}

/// What paging cost a run: the TLB's counters and the page-table walks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PagingStats {
    /// The TLB's configuration and counters, when there is a TLB.
    pub tlb: Option<(TlbConfig, TlbStats)>,
    /// Page-table walks (each reads up to three entries from memory).
    pub walks: u64,
}

/// The region an address falls in (E15: where does it live?).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Region {
    /// Instructions.
    Code,
    /// Static data (`.data`, `.rodata`, `.bss`).
    Data,
    /// Between the end of the program and the break.
    Heap,
    /// The top of the address space.
    Stack,
    /// None of these.
    None,
}

impl Region {
    /// `code`, `data`, `heap`, `stack`, `none`.
    pub const fn name(self) -> &'static str {
        match self {
            Region::Code => "code",
            Region::Data => "data",
            Region::Heap => "heap",
            Region::Stack => "stack",
            Region::None => "none",
        }
    }
}

/// The layout of the address space, for labelling accesses.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Regions {
    /// Code ranges `[lo, hi)`.
    pub code: Vec<(u64, u64)>,
    /// Static data ranges.
    pub data: Vec<(u64, u64)>,
    /// Start of the heap.
    pub heap_start: u64,
    /// The break (end of the heap).
    pub brk: u64,
    /// Lowest address of the stack region.
    pub stack_bottom: u64,
    /// One past the top of the stack (the address-space size).
    pub top: u64,
}

impl Regions {
    /// The region holding `va`.
    pub fn of(&self, va: u64) -> Region {
        let inside = |r: &[(u64, u64)]| r.iter().any(|&(lo, hi)| va >= lo && va < hi);
        if inside(&self.code) {
            Region::Code
        } else if inside(&self.data) {
            Region::Data
        } else if va >= self.heap_start && va < self.brk {
            Region::Heap
        } else if va >= self.stack_bottom && va < self.top {
            Region::Stack
        } else {
            Region::None
        }
    }
}

/// An observer that also wants to know when the heap moves.
pub trait Tracer: Observer {
    /// The break moved (after `sbrk`/`brk`).
    fn regions_changed(&mut self, regions: &Regions) {
        let _ = regions;
    }
    /// The program wrote `bytes` to file descriptor `fd` (1 or 2), at this
    /// point of the run.
    fn program_wrote(&mut self, fd: u64, bytes: &[u8]) {
        let _ = (fd, bytes);
    }
}

impl Tracer for NoObserver {}

/// How a run ended.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// The program called exit with this status.
    Exited(i64),
    /// An unhandled trap: a fault, an illegal instruction, `ebreak`.
    Trapped(Trap),
    /// An `ecall` with a number this runner does not know.
    UnknownSyscall {
        /// The number in `a7`.
        number: u64,
        /// Where.
        pc: u64,
    },
    /// The instruction limit was reached.
    Limit,
}

/// A machine running one program.
#[derive(Debug)]
pub struct Machine {
    /// The CPU.
    pub cpu: Cpu,
    /// The MMU, loaded with this program's registers.
    pub mmu: AnyMmu,
    /// Physical memory.
    pub mem: PhysicalMemory,
    /// The address-space layout.
    pub regions: Regions,
    /// Where the address space starts in physical memory.
    pub base: u64,
    /// The break may not pass this address.
    heap_limit: u64,
    /// Under Sv39: the page tables and frames.
    paging: Option<Paging>,
}

/// The most bytes one `write` system call copies; a longer request is a
/// short write (the count returned says how many bytes were written).
pub const MAX_WRITE: u64 = 1 << 16;

fn round_up(v: u64, to: u64) -> Option<u64> {
    v.checked_next_multiple_of(to)
}

impl Machine {
    /// Builds the machine and loads `program` into it: each section copied
    /// to `base + va`, pc at the entry, `sp` at the top of the address space.
    ///
    /// Returns a message when the program does not fit the address space or
    /// the address space does not fit physical memory.
    pub fn new(program: &Program, config: &Config) -> Result<Machine, String> {
        // 1. The address space: big enough for the program.
        let (_, end) = program.extent().ok_or("the program is empty")?;
        if !program
            .sections
            .iter()
            .any(|s| s.perms.contains(Perms::X) && s.size > 0)
        {
            return Err("the program has no instructions".into());
        }
        let space = match config.space {
            Some(s) => s,
            None => round_up(end, 4096)
                .and_then(|e| e.checked_add(128 << 10))
                .and_then(u64::checked_next_power_of_two)
                .ok_or("the program ends too high to run")?,
        };
        if end > space {
            return Err(format!(
                "the program ends at {end:#x}, beyond the address space of {space:#x} bytes (use a larger --space)"
            ));
        }
        if config.mmu == MmuKind::Sv39 {
            // Frames come one by one from `base` up: only the pages used
            // need physical memory.
            return Self::new_sv39(program, config, space);
        }
        let phys_end = config
            .base
            .checked_add(space)
            .ok_or("--base + address space passes 2^64")?;
        if phys_end > config.phys_mem {
            return Err(format!(
                "the address space [{:#x}, {phys_end:#x}) does not fit physical memory of {:#x} bytes (use --phys-mem)",
                config.base, config.phys_mem
            ));
        }
        if config.mmu == MmuKind::Identity && config.base != 0 {
            return Err(
                "--base needs --mmu base or base-bounds (identity translates pa = va)".into(),
            );
        }
        // 2. The MMU for this placement.
        let writable = |s: &crate::program::Section| s.perms.contains(Perms::W);
        let mut heap_limit = None;
        let mmu = match config.mmu {
            MmuKind::Segmentation => {
                if !space.is_power_of_two() || space < 16 << 10 {
                    return Err(format!(
                        "under segmentation the address space must be a power of two of at least 16 KiB, not {space:#x} (use --space)"
                    ));
                }
                let q = space / 4;
                // Code is r-x and data rw-: a section that is both writable
                // and executable fits neither segment.
                if let Some(s) = program
                    .sections
                    .iter()
                    .find(|s| s.perms.contains(Perms::W | Perms::X))
                {
                    return Err(format!(
                        "{} at {:#x} is writable and executable ({}): under segmentation code (r-x) and data (rw-) are separate segments; link them apart or use another --mmu",
                        s.name, s.addr, s.perms
                    ));
                }
                for s in &program.sections {
                    let (lo, hi, what) = if writable(s) {
                        (q, 2 * q, "segment 1 (data and heap)")
                    } else {
                        (0, q, "segment 0 (code)")
                    };
                    if s.addr < lo || s.end().is_none_or(|e| e > hi) {
                        return Err(format!(
                            "{} at {:#x} does not fit {what} [{lo:#x}, {hi:#x}) of a segmented {space:#x}-byte address space",
                            s.name, s.addr
                        ));
                    }
                }
                let code_end = program
                    .sections
                    .iter()
                    .filter(|s| !writable(s))
                    .filter_map(|s| s.end())
                    .max()
                    .unwrap_or(0);
                heap_limit = Some(2 * q);
                let segments = vec![
                    Segment::up(config.base, code_end, Perms::R | Perms::X).named("code"),
                    Segment::up(config.base + q, q, Perms::R | Perms::W).named("heap"),
                    Segment::up(0, 0, Perms::empty()).named("unused"),
                    Segment::down(phys_end, q, Perms::R | Perms::W).named("stack"),
                ];
                AnyMmu::Segmentation(
                    Segmentation::new(space.trailing_zeros(), segments, config.phys_mem)
                        .map_err(|e| e.to_string())?,
                )
            }
            MmuKind::Sv39 => unreachable!("built by new_sv39"),
            MmuKind::Identity => AnyMmu::Identity(Identity::new(config.phys_mem)),
            MmuKind::Base => AnyMmu::Base(Base::new(config.base, config.phys_mem)),
            MmuKind::BaseBounds => AnyMmu::BaseBounds(
                BaseBounds::new(config.base, space, config.phys_mem).map_err(|e| e.to_string())?,
            ),
        };
        // 3. Copy the sections in (the kernel writes physical memory).
        let mut mem = PhysicalMemory::new(config.phys_mem);
        for s in &program.sections {
            let pa = config.base + s.addr;
            mem.write(PhysAddr::new(pa), &s.data)
                .map_err(|e| e.to_string())?;
        }
        // 4. Regions, heap and stack.
        let ranges = |exec: bool| {
            program
                .sections
                .iter()
                .filter(|s| s.perms.contains(Perms::X) == exec)
                .map(|s| (s.addr, s.addr + s.size))
                .collect::<Vec<_>>()
        };
        // The heap starts after the program; under segmentation it is in
        // segment 1 (data and heap) even when the program has no data.
        let heap_floor = match heap_limit {
            Some(segment_end) => {
                let data_end = program
                    .sections
                    .iter()
                    .filter(|s| writable(s))
                    .filter_map(|s| s.end())
                    .max()
                    .unwrap_or(0);
                data_end.max(segment_end / 2)
            }
            None => end,
        };
        let heap_start = round_up(heap_floor, 16).unwrap_or(heap_floor);
        let stack = if config.mmu == MmuKind::Segmentation {
            space / 4
        } else {
            (space / 2).min(1 << 20)
        };
        let regions = Regions {
            code: ranges(true),
            data: ranges(false),
            heap_start,
            brk: heap_start,
            stack_bottom: (space - stack).max(heap_start),
            top: space,
        };
        let heap_limit = heap_limit.unwrap_or(regions.stack_bottom);
        let mut cpu = Cpu::new(program.entry);
        cpu.regs.set(reg::SP, space & !15);
        Ok(Machine {
            cpu,
            mmu,
            mem,
            regions,
            base: config.base,
            heap_limit,
            paging: None,
        })
    }

    /// [`Machine::new`] under Sv39: xv6's `exec`, in its phases.
    fn new_sv39(program: &Program, config: &Config, space: u64) -> Result<Machine, String> {
        const PAGE: u64 = sv39::PAGE_SIZE;
        if config.base % PAGE != 0 {
            return Err(format!(
                "under sv39 --base is where the frames start and must be a multiple of 4 KiB, not {:#x}",
                config.base
            ));
        }
        if space > 1 << 38 {
            return Err(format!(
                "under sv39 a user address space has at most 2^38 bytes (the lower half of Sv39's 39-bit addresses), not {space:#x}"
            ));
        }
        // 1. Frames: physical memory from `base` up; the root table first.
        let mut mem = PhysicalMemory::new(config.phys_mem);
        let mut paging = Paging {
            root: 0,
            next_frame: config.base / PAGE,
            end_frame: config.phys_mem / PAGE,
            free: Vec::new(),
        };
        paging.root = paging
            .alloc(&mut mem)
            .ok_or("physical memory has no frame for the root page table above --base")?;
        // 2. The program's pages: each page gets the permissions of every
        //    section in it (a page holding code and data is r-x and rw-).
        let frames = paging.end_frame.saturating_sub(paging.next_frame);
        let mut wanted = 0u64;
        for s in program.sections.iter().filter(|s| s.size > 0) {
            let end = s.end().ok_or("a section ends past 2^64")?;
            wanted = wanted.saturating_add(end.div_ceil(PAGE) - s.addr / PAGE);
        }
        if wanted > frames {
            return Err(format!(
                "the program needs {wanted} pages, more than the {frames} free frames of physical memory above --base (use a larger --phys-mem)"
            ));
        }
        let mut pages = std::collections::BTreeMap::<u64, u64>::new();
        for s in program.sections.iter().filter(|s| s.size > 0) {
            let end = s.end().ok_or("a section ends past 2^64")?;
            let mut flags = 0;
            if s.perms.contains(Perms::R) {
                flags |= pte::R;
            }
            if s.perms.contains(Perms::W) {
                flags |= pte::W | pte::R;
            }
            if s.perms.contains(Perms::X) {
                flags |= pte::X;
            }
            for page in s.addr / PAGE..end.div_ceil(PAGE) {
                *pages.entry(page).or_default() |= flags;
            }
        }
        let mut frame_of = std::collections::BTreeMap::new();
        for (&page, &flags) in &pages {
            let pa = paging.map_page(&mut mem, page * PAGE, flags)?;
            frame_of.insert(page, pa);
        }
        // 3. Copy each section in, page by page (the kernel writes frames).
        for s in &program.sections {
            let mut done = 0usize;
            while done < s.data.len() {
                let va = s.addr + done as u64;
                let in_page = (PAGE - va % PAGE).min((s.data.len() - done) as u64) as usize;
                let pa = frame_of[&(va / PAGE)] + va % PAGE;
                mem.write(PhysAddr::new(pa), &s.data[done..done + in_page])
                    .map_err(|e| e.to_string())?;
                done += in_page;
            }
        }
        // 4. A guard page (left unmapped), then the stack page.
        let (_, end) = program.extent().ok_or("the program is empty")?;
        let sz = round_up(end, PAGE).ok_or("the program ends too high to run")?;
        let stack_bottom = sz + PAGE;
        let stack_top = stack_bottom + PAGE;
        if stack_top > space {
            return Err(format!(
                "the program, its guard page and stack page end at {stack_top:#x}, beyond the address space of {space:#x} bytes (use a larger --space)"
            ));
        }
        paging.map_page(&mut mem, stack_bottom, pte::R | pte::W)?;
        // 5. satp: the root table, ASID 1; the kernel loads it.
        let mut mmu = Sv39::new(Satp::sv39(SV39_ASID, 0), config.phys_mem)?;
        if let Some(tlb) = config.tlb {
            mmu = mmu.with_tlb(tlb);
        }
        mmu.load_registers(
            Mode::Kernel,
            &MmuRegisters::Satp(Satp::sv39(SV39_ASID, paging.root)),
        )
        .map_err(|e| e.to_string())?;
        if let Some(tlb) = mmu.tlb() {
            tlb.reset_stats();
        }
        let ranges = |exec: bool| {
            program
                .sections
                .iter()
                .filter(|s| s.perms.contains(Perms::X) == exec)
                .map(|s| (s.addr, s.addr + s.size))
                .collect::<Vec<_>>()
        };
        let regions = Regions {
            code: ranges(true),
            data: ranges(false),
            heap_start: stack_top,
            brk: stack_top,
            stack_bottom,
            top: stack_top,
        };
        let mut cpu = Cpu::new(program.entry);
        cpu.regs.set(reg::SP, stack_top);
        Ok(Machine {
            cpu,
            mmu: AnyMmu::Sv39(mmu),
            mem,
            regions,
            base: config.base,
            heap_limit: space,
            paging: Some(paging),
        })
    }

    /// Under Sv39, the guard page's range `[lo, hi)`: unmapped, just below
    /// the stack page, so that a stack overflow faults there.
    pub fn guard_page(&self) -> Option<(u64, u64)> {
        self.paging.as_ref().map(|_| {
            let hi = self.regions.stack_bottom;
            (hi - sv39::PAGE_SIZE, hi)
        })
    }

    /// Under Sv39, what paging cost so far; `None` for other mechanisms.
    pub fn paging_stats(&self) -> Option<PagingStats> {
        match &self.mmu {
            AnyMmu::Sv39(m) => Some(PagingStats {
                tlb: m.tlb().map(|t| (*t.config(), t.stats())),
                walks: m.walks(),
            }),
            _ => None,
        }
    }

    /// Moves the break to `new` (checked by the caller against the heap's
    /// limits). Under Sv39 it maps the pages the heap grows into and unmaps
    /// (flushing each from the TLB) those it gives back, as xv6's
    /// `uvmalloc`/`uvmdealloc`: sizes round up to whole pages. Returns
    /// false, changing nothing, when physical memory runs out.
    fn set_break(&mut self, new: u64) -> bool {
        const PAGE: u64 = sv39::PAGE_SIZE;
        let old = self.regions.brk;
        if let (Some(paging), AnyMmu::Sv39(mmu)) = (&mut self.paging, &self.mmu) {
            // Page-rounded ends: [old_top, new_top) maps, or unmaps.
            let old_top = old.div_ceil(PAGE) * PAGE;
            let new_top = new.div_ceil(PAGE) * PAGE;
            if new_top > old_top {
                let mut va = old_top;
                while va < new_top {
                    if paging.map_page(&mut self.mem, va, pte::R | pte::W).is_err() {
                        // Out of memory: undo this call's pages, as
                        // uvmalloc does.
                        let mut back = old_top;
                        while back < va {
                            paging.unmap_page(&mut self.mem, back);
                            back += PAGE;
                        }
                        return false;
                    }
                    va += PAGE;
                }
            } else {
                let mut va = new_top;
                while va < old_top {
                    if paging.unmap_page(&mut self.mem, va) {
                        let _ = mmu.sfence_vma(Mode::Kernel, Some(va), Some(SV39_ASID));
                    }
                    va += PAGE;
                }
            }
        }
        self.regions.brk = new;
        true
    }

    /// Runs until the program exits, traps, or `limit` instructions have run,
    /// writing what the program writes to fd 1 to `out`, to fd 2 to `err`,
    /// and every access to `tracer`.
    ///
    /// Fails only when writing to `out` or `err` fails.
    pub fn run<T: Tracer>(
        &mut self,
        limit: u64,
        out: &mut dyn Write,
        err: &mut dyn Write,
        tracer: &mut T,
    ) -> std::io::Result<Outcome> {
        loop {
            let left = limit.saturating_sub(self.cpu.instret);
            if left == 0 {
                return Ok(Outcome::Limit);
            }
            // Dispatch on the mechanism once per slice, not on every access.
            let exit = match &self.mmu {
                AnyMmu::Identity(m) => self.cpu.run(m, &mut self.mem, left, tracer),
                AnyMmu::Base(m) => self.cpu.run(m, &mut self.mem, left, tracer),
                AnyMmu::BaseBounds(m) => self.cpu.run(m, &mut self.mem, left, tracer),
                AnyMmu::Segmentation(m) => self.cpu.run(m, &mut self.mem, left, tracer),
                AnyMmu::Paging(m) => self.cpu.run(m, &mut self.mem, left, tracer),
                AnyMmu::Sv39(m) => self.cpu.run(m, &mut self.mem, left, tracer),
                AnyMmu::MultiLevel(m) => self.cpu.run(m, &mut self.mem, left, tracer),
            };
            match exit {
                Exit::Budget => return Ok(Outcome::Limit),
                Exit::Trap(Trap::Ecall { pc }) => {
                    if let Some(outcome) = self.syscall(pc, out, err, tracer)? {
                        return Ok(outcome);
                    }
                }
                Exit::Trap(trap) => return Ok(Outcome::Trapped(trap)),
            }
        }
    }

    /// Handles one system call; `Some` when the run ends.
    fn syscall<T: Tracer>(
        &mut self,
        pc: u64,
        out: &mut dyn Write,
        err: &mut dyn Write,
        tracer: &mut T,
    ) -> std::io::Result<Option<Outcome>> {
        let number = self.cpu.regs.get(reg::A7);
        let a0 = self.cpu.regs.get(reg::A0);
        let result = match number {
            2 | 93 | 94 => return Ok(Some(Outcome::Exited(a0 as i64))),
            // getpid(): the machine runs one process, pid 1.
            11 | 172 => 1,
            16 | 64 => {
                // write(fd, buf, len): at most MAX_WRITE bytes, up to the
                // first byte the MMU refuses; returns how many were written
                // (a short write, as on Unix), or -1 when none could be.
                let (fd, buf, len) = (a0, self.cpu.regs.get(reg::A1), self.cpu.regs.get(reg::A2));
                let bytes = self.copy_in_prefix(buf, len.min(MAX_WRITE));
                let sink: Option<&mut dyn Write> = match fd {
                    1 => Some(out),
                    2 => Some(err),
                    _ => None,
                };
                match sink {
                    // A bad fd or buffer: the call fails, the process lives.
                    None => u64::MAX,
                    Some(_) if bytes.is_empty() && len > 0 => u64::MAX,
                    Some(w) => {
                        tracer.program_wrote(fd, &bytes);
                        w.write_all(&bytes)?;
                        bytes.len() as u64
                    }
                }
            }
            12 => {
                // sbrk(n): old break, or -1 if the heap would reach the stack.
                let old = self.regions.brk;
                match old.checked_add_signed(a0 as i64) {
                    Some(new)
                        if new >= self.regions.heap_start
                            && new <= self.heap_limit
                            && self.set_break(new) =>
                    {
                        tracer.regions_changed(&self.regions);
                        old
                    }
                    _ => u64::MAX,
                }
            }
            214 => {
                // brk(addr): the new break, or the old one if refused.
                if a0 >= self.regions.heap_start && a0 <= self.heap_limit && self.set_break(a0) {
                    tracer.regions_changed(&self.regions);
                }
                self.regions.brk
            }
            _ => return Ok(Some(Outcome::UnknownSyscall { number, pc })),
        };
        self.cpu.regs.set(reg::A0, result);
        Ok(None)
    }

    /// Copies `len` bytes (at most [`MAX_WRITE`]) from the program's virtual
    /// address `va`, each byte translated by the MMU as a read (the kernel's
    /// copy-in).
    ///
    /// Returns the first byte's fault when any byte cannot be read (an
    /// address past 2^64 is a bounds fault, never a wrap).
    pub fn copy_in(&self, va: u64, len: u64) -> Result<Vec<u8>, crate::fault::Fault> {
        let mut bytes = Vec::new();
        for i in 0..len.min(MAX_WRITE) {
            bytes.push(self.copy_in_byte(va, i)?);
        }
        Ok(bytes)
    }

    /// The longest readable prefix of the `len` bytes at `va`: what a
    /// `write` system call copies before the first byte the MMU refuses.
    fn copy_in_prefix(&self, va: u64, len: u64) -> Vec<u8> {
        (0..len)
            .map_while(|i| self.copy_in_byte(va, i).ok())
            .collect()
    }

    /// Byte `i` after `va`, translated as a read.
    fn copy_in_byte(&self, va: u64, i: u64) -> Result<u8, crate::fault::Fault> {
        use crate::fault::{Fault, FaultKind};
        let v = va
            .checked_add(i)
            .ok_or_else(|| Fault::new(VirtAddr::new(va), Access::Read, FaultKind::Bounds))?;
        let v = VirtAddr::new(v);
        let pa = self.mmu.translate(&self.mem, v, Access::Read)?;
        let b = self
            .mem
            .read_le(pa, 1)
            .map_err(|_| Fault::new(v, Access::Read, FaultKind::OutsidePhysicalMemory))?;
        Ok(b as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asm::{Options, assemble};

    fn run(src: &str, mmu: MmuKind, base: u64) -> (Outcome, String) {
        let p = assemble(src, "t.s", &Options { text_base: 0 }).unwrap();
        let config = Config {
            mmu,
            base,
            phys_mem: 1 << 22,
            space: None,
            tlb: Some(TlbConfig::default()),
        };
        let mut m = Machine::new(&p, &config).unwrap();
        let mut out = Vec::new();
        let outcome = m
            .run(1_000_000, &mut out, &mut std::io::sink(), &mut NoObserver)
            .unwrap();
        (outcome, String::from_utf8(out).unwrap())
    }

    const HELLO: &str = "
        la a1, msg
        li a0, 1
        li a2, 6
        li a7, 64
        ecall
        li a0, 7
        li a7, 93
        ecall
    .data
    msg: .ascii \"hello\\n\"";

    #[test]
    fn hello_writes_and_exits_under_every_mmu() {
        for (mmu, base) in [
            (MmuKind::Identity, 0),
            (MmuKind::Base, 0x8000),
            (MmuKind::BaseBounds, 0x10000),
        ] {
            assert_eq!(
                run(HELLO, mmu, base),
                (Outcome::Exited(7), "hello\n".into()),
                "{mmu:?}"
            );
        }
    }

    #[test]
    fn three_sbrk_calls_are_40_bytes_apart() {
        let src = "
            li a7, 12
            li a0, 40
            ecall
            mv s1, a0
            li a0, 40
            ecall
            mv s2, a0
            sub a0, s2, s1
            li a7, 2
            ecall";
        assert_eq!(run(src, MmuKind::BaseBounds, 0x1000).0, Outcome::Exited(40));
    }

    #[test]
    fn getpid_is_one_in_both_numberings() {
        for number in [11, 172] {
            let src = format!("li a7, {number}\necall\nli a7, 2\necall");
            assert_eq!(
                run(&src, MmuKind::BaseBounds, 0x1000).0,
                Outcome::Exited(1),
                "{number}"
            );
        }
    }

    #[test]
    fn sv39_runs_hello_through_page_tables_and_the_tlb() {
        assert_eq!(
            run(HELLO, MmuKind::Sv39, 0x1000),
            (Outcome::Exited(7), "hello\n".into())
        );
        let p = assemble(HELLO, "t.s", &Options { text_base: 0 }).unwrap();
        let config = Config {
            mmu: MmuKind::Sv39,
            base: 0x3000,
            phys_mem: 1 << 22,
            space: None,
            tlb: None,
        };
        let mut m = Machine::new(&p, &config).unwrap();
        // The code page is in a frame above --base, mapped r-x, U, A.
        let leaf = sv39::leaf_entry(&m.mem, m.paging.as_ref().unwrap().root, 0).unwrap();
        assert_eq!(pte::letters(leaf.pte), "vr-xu-a-", "code is r-x, accessed");
        assert!(pte::ppn(leaf.pte) << 12 >= 0x3000);
        let mut out = Vec::new();
        let o = m
            .run(1000, &mut out, &mut std::io::sink(), &mut NoObserver)
            .unwrap();
        assert_eq!(o, Outcome::Exited(7));
        // Without a TLB every access walks.
        let stats = m.paging_stats().unwrap();
        assert_eq!(stats.tlb, None);
        assert!(stats.walks > 8, "{stats:?}");
    }

    #[test]
    fn sv39_sbrk_maps_whole_pages_and_a_negative_sbrk_unmaps_them() {
        // sbrk(5000): two pages; store at the last byte; sbrk(-5000); the
        // same store faults (the TLB entry was flushed).
        let src = "
            li a7, 12
            li a0, 5000
            ecall
            mv s1, a0
            li t0, 4999
            add t0, s1, t0
            sb zero, 0(t0)
            li a0, -5000
            ecall
            sb zero, 0(t0)
            li a7, 2
            ecall";
        let (outcome, _) = run(src, MmuKind::Sv39, 0x1000);
        let Outcome::Trapped(Trap::Fault { fault, pc, .. }) = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(fault.kind, crate::fault::FaultKind::PageFault);
        assert_eq!(fault.access, Access::Write);
        assert_eq!(pc, 0x30, "the second sb, after sbrk(-5000)");
    }

    #[test]
    fn sv39_stack_overflow_faults_in_the_guard_page() {
        let src = "1: addi sp, sp, -16\nsd ra, 0(sp)\nj 1b\n";
        let p = assemble(src, "t.s", &Options { text_base: 0 }).unwrap();
        let config = Config {
            mmu: MmuKind::Sv39,
            base: 0x1000,
            phys_mem: 1 << 22,
            space: None,
            tlb: Some(TlbConfig::default()),
        };
        let mut m = Machine::new(&p, &config).unwrap();
        let o = m
            .run(
                100_000,
                &mut Vec::new(),
                &mut std::io::sink(),
                &mut NoObserver,
            )
            .unwrap();
        let Outcome::Trapped(Trap::Fault { fault, .. }) = o else {
            panic!("{o:?}")
        };
        let (lo, hi) = m.guard_page().unwrap();
        assert_eq!((lo, hi), (0x1000, 0x2000));
        assert_eq!(fault.va.as_u64(), hi - 16);
        assert_eq!(fault.kind, crate::fault::FaultKind::PageFault);
    }

    #[test]
    fn sv39_refuses_an_unaligned_base_and_runs_out_of_frames_cleanly() {
        let p = assemble(HELLO, "t.s", &Options { text_base: 0 }).unwrap();
        let mut config = Config {
            mmu: MmuKind::Sv39,
            base: 0x1234,
            phys_mem: 1 << 22,
            space: None,
            tlb: None,
        };
        assert!(
            Machine::new(&p, &config)
                .unwrap_err()
                .contains("multiple of 4 KiB")
        );
        // A program larger than the free frames is refused before mapping.
        let big = assemble(
            "nop\n.bss\n.space 0x10000\n",
            "t.s",
            &Options { text_base: 0 },
        )
        .unwrap();
        config.base = 0x1000;
        config.phys_mem = 0x8000;
        assert!(
            Machine::new(&big, &config)
                .unwrap_err()
                .contains("needs 17 pages, more than the 6 free frames"),
        );
        config.phys_mem = 1 << 22;
        // Frames for the root and both pages, but not for the tables.
        config.base = (1 << 22) - 0x4000;
        assert!(
            Machine::new(&p, &config)
                .unwrap_err()
                .contains("out of physical memory")
        );
        // sbrk past the frames returns -1 and maps nothing.
        config.base = (1 << 22) - 0x8000;
        let src = "li a7, 12\nli a0, 0x10000\necall\nli a7, 2\necall";
        let p = assemble(src, "t.s", &Options { text_base: 0 }).unwrap();
        config.space = Some(1 << 20);
        let mut m = Machine::new(&p, &config).unwrap();
        let o = m
            .run(100, &mut Vec::new(), &mut std::io::sink(), &mut NoObserver)
            .unwrap();
        assert_eq!(o, Outcome::Exited(-1));
        assert_eq!(m.regions.brk, m.regions.heap_start);
    }

    #[test]
    fn segment_quarter_fits_code_below_and_data_above() {
        let at = |text: u64, data: u64| {
            let src = ".text\nnop\n.data\n.word 1\n";
            let p = crate::asm::assemble_with_data_at(
                src,
                "t.s",
                &Options { text_base: text },
                Some(data),
            )
            .unwrap();
            segment_quarter(&p)
        };
        assert_eq!(at(0, 0x4000), Some(0x4000));
        assert_eq!(at(0, 0x10000), Some(0x10000));
        assert_eq!(
            at(0x10000, 0x11000),
            None,
            "GNU-style layout: code and data in one quarter"
        );
    }

    #[test]
    fn segmentation_write_protects_code_and_grows_the_stack_down() {
        let src = "addi sp, sp, -16\nsd ra, 8(sp)\nla a0, 0\nsw zero, 0(a0)\n";
        let (outcome, _) = run(src, MmuKind::Segmentation, 0x1000);
        let Outcome::Trapped(Trap::Fault { pc, fault, .. }) = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!((pc, fault.kind), (16, crate::fault::FaultKind::Protection));
    }

    #[test]
    fn a_wild_store_is_a_bounds_fault() {
        let (outcome, _) = run(
            "li a0, 0x7fffffff\nsw a0, 0(a0)\n",
            MmuKind::BaseBounds,
            0x1000,
        );
        let Outcome::Trapped(Trap::Fault { fault, .. }) = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(fault.kind, crate::fault::FaultKind::Misaligned);
        let (outcome, _) = run(
            "li a0, 0x7ffffff0\nsw a0, 0(a0)\n",
            MmuKind::BaseBounds,
            0x1000,
        );
        let Outcome::Trapped(Trap::Fault { fault, .. }) = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(fault.kind, crate::fault::FaultKind::Bounds);
    }
}
