//! The kernel proper: the state the OS keeps (processes, the free list, the
//! disk, the current process, the mode bit) over one machine (physical
//! memory and an MMU), and the loader that places a process according to the
//! memory strategy in use.
//!
//! The other kernel files add the rest of the OS as `impl Kernel` blocks:
//! `context_switch` (switching processes), `trap` (what a fault does),
//! `syscall` (the system calls), `swap` (time sharing) and `growth`
//! (heap and stack growth, compaction).
//!
//! Every user access goes through [`Kernel::user_access`]: the MMU
//! translates it, physical memory is read or written, and the event log gets
//! the record, plus a `violation` when the byte belongs to someone else.

use super::event::{Event, MapEntry, Owner, Pid, RegistersView, SegmentView};
use super::layout::{AddressSpace, LayoutKind, RegionKind, Sizes};
use super::placement::{Fit, FreeList};
use super::process::{Accounting, Allocation, Context, ProcState, Process};
use super::swap::Disk;
use super::syscall::Abi;
use crate::addr::{PhysAddr, VirtAddr};
use crate::cost::{CostModel, Counts};
use crate::fault::{Fault, FaultKind};
use crate::memory::PhysicalMemory;
use crate::mmu::{
    Access, AnyMmu, Base, BaseBounds, Identity, Mmu, MmuRegisters, Mode, Perms, RegisterError,
    Segment, Segmentation,
};

/// How the OS virtualizes memory.
#[derive(Clone, Copy, PartialEq, Eq, Debug, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// One process owns memory; the OS sits in a reserved region; no
    /// protection.
    Uniprogramming,
    /// Each running process owns all of memory; a switch swaps whole
    /// address spaces to and from disk.
    TimeSharing,
    /// The loader rewrites absolute addresses; no translation, no protection.
    StaticRelocation,
    /// Dynamic relocation with a base register (no protection).
    Base,
    /// Base and bounds.
    BaseBounds,
    /// Code, heap, data and stack as separate segments.
    Segmentation,
    /// Paging: a page table per process, frames, demand paging.
    Paging,
}

impl Strategy {
    /// The name used in scenarios and JSON.
    pub const fn name(self) -> &'static str {
        match self {
            Strategy::Uniprogramming => "uniprogramming",
            Strategy::TimeSharing => "time-sharing",
            Strategy::StaticRelocation => "static-relocation",
            Strategy::Base => "base",
            Strategy::BaseBounds => "base-bounds",
            Strategy::Segmentation => "segmentation",
            Strategy::Paging => "paging",
        }
    }

    /// Whether the MMU translates (the OS may move address spaces).
    pub const fn dynamic(self) -> bool {
        matches!(
            self,
            Strategy::Base | Strategy::BaseBounds | Strategy::Segmentation | Strategy::Paging
        )
    }

    /// Whether user addresses are physical addresses (no translation).
    pub const fn identity(self) -> bool {
        !self.dynamic()
    }
}

/// The machine and the OS's policies.
#[derive(Clone, Debug)]
pub struct KernelConfig {
    /// Physical memory in bytes.
    pub memory: u64,
    /// The OS's reserved region `[0, os_size)`.
    pub os_size: u64,
    /// The memory strategy.
    pub strategy: Strategy,
    /// The fit policy for placing address spaces and segments.
    pub placement: Fit,
    /// Address-space layout (non-segmented strategies).
    pub layout: LayoutKind,
    /// Stack randomization seed (canonical layout).
    pub random_stack: Option<i128>,
    /// Virtual address width under segmentation.
    pub va_bits: u32,
    /// The largest size the OS lets a stack grow to implicitly.
    pub stack_limit: u64,
    /// E8's bug: the context switch does not reload the MMU.
    pub forget_mmu_reload: bool,
    /// Processes of the same program share one code segment.
    pub share_code: bool,
    /// System-call numbering.
    pub abi: Abi,
    /// Latencies.
    pub cost: CostModel,
    /// The paging strategy's settings.
    pub paging: super::paging::PagingConfig,
}

impl KernelConfig {
    /// A configuration with the defaults: first fit, canonical layout, 16-bit
    /// segmented addresses, an 8 KiB stack limit, xv6 system calls.
    pub fn new(memory: u64, os_size: u64, strategy: Strategy) -> Self {
        Self {
            memory,
            os_size,
            strategy,
            placement: Fit::FirstFit,
            layout: LayoutKind::Canonical,
            random_stack: None,
            va_bits: 16,
            stack_limit: 8 * 1024,
            forget_mmu_reload: false,
            share_code: true,
            abi: Abi::Xv6,
            cost: CostModel::default(),
            paging: super::paging::PagingConfig::default(),
        }
    }
}

/// What the loader needs to create a process.
#[derive(Clone, Debug, Default)]
pub struct ProcessSpec {
    /// Name.
    pub name: String,
    /// Program name (processes of one program may share code).
    pub program: String,
    /// Sizes of code, data, heap, stack, total.
    pub sizes: Sizes,
    /// A fixed physical start (else the placement policy picks).
    pub base: Option<u64>,
    /// An explicit segment table (segmentation; fixed placement).
    pub segments: Option<Vec<Segment>>,
    /// Initial bytes: (virtual address, bytes).
    pub image: Vec<(u64, Vec<u8>)>,
    /// Virtual addresses of 32-bit words holding absolute addresses (the
    /// relocation table).
    pub relocations: Vec<u64>,
    /// Initial registers (a program's pc and sp are set by the loader
    /// unless given here).
    pub context: Context,
    /// A program to run on the CPU (else the process runs an access list).
    pub program_image: Option<crate::program::Program>,
}

/// Why a process could not be loaded (the run goes on; this is an event).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LoadError(pub String);

/// The simulated OS over its machine.
#[derive(Debug)]
pub struct Kernel {
    /// Configuration.
    pub config: KernelConfig,
    /// Physical memory.
    pub memory: PhysicalMemory,
    /// The MMU.
    pub mmu: AnyMmu,
    /// The mode bit.
    pub mode: Mode,
    /// Free physical memory.
    pub free: FreeList,
    /// Every process ever created; pid `n` is at index `n - 1`.
    pub procs: Vec<Process>,
    /// The process on the CPU.
    pub current: Option<Pid>,
    /// The CPU (its registers are the current process's).
    pub hart: crate::cpu::Cpu,
    /// The swap disk (time sharing).
    pub disk: Disk,
    /// Totals for the cost model.
    pub counts: Counts,
    /// Context switches performed.
    pub context_switches: u64,
    /// The process whose PCB the MMU registers were last loaded from by a
    /// context switch (with a forgotten reload, not the running one).
    pub mmu_loaded_from: Option<Pid>,
    /// The event log: every event since boot, or (when a scenario runner
    /// streams them) those emitted since it last took them.
    pub events: Vec<Event>,
    /// The most events `events` holds: beyond, [`Kernel::emit`] drops the
    /// event and sets `events_overflowed` (the runner then stops the run
    /// with an error). Unlimited unless set.
    pub event_cap: usize,
    /// Whether an event was dropped at `event_cap`.
    pub events_overflowed: bool,
    /// The paging strategy's frames, page tables and swap area.
    pub paging: Option<super::paging::Paging>,
    /// The TLB's verdict on the access being recorded (`user_access`
    /// sets it, `record_access` takes it).
    pending_tlb: Option<&'static str>,
}

impl Kernel {
    /// Boots a machine: memory, an MMU for the strategy, the OS region taken
    /// from the free list.
    ///
    /// Fails when the OS region does not fit memory or va_bits is invalid.
    pub fn boot(config: KernelConfig) -> Result<Self, String> {
        if config.os_size > config.memory {
            return Err(format!(
                "the OS region ({} bytes) is larger than physical memory ({} bytes)",
                config.os_size, config.memory
            ));
        }
        config.cost.validate()?;
        let phys = config.memory;
        let mut paging = None;
        let mmu = match config.strategy {
            Strategy::Uniprogramming | Strategy::TimeSharing | Strategy::StaticRelocation => {
                AnyMmu::Identity(Identity::new(phys))
            }
            Strategy::Base => AnyMmu::Base(Base::new(0, phys)),
            Strategy::BaseBounds => {
                AnyMmu::BaseBounds(BaseBounds::new(0, 0, phys).map_err(|e| e.to_string())?)
            }
            Strategy::Segmentation => AnyMmu::Segmentation(
                Segmentation::new(
                    config.va_bits,
                    vec![Segment::up(0, 0, Perms::empty()); 4],
                    phys,
                )
                .map_err(|e| format!("va_bits: {e}"))?,
            ),
            Strategy::Paging => {
                let (mmu, state) = super::paging::Paging::boot(&config)?;
                paging = Some(state);
                mmu
            }
        };
        let free = FreeList::new(config.os_size, config.memory, config.placement);
        let mut k = Self {
            memory: PhysicalMemory::new(phys),
            mmu,
            mode: Mode::Kernel,
            free,
            procs: Vec::new(),
            current: None,
            hart: crate::cpu::Cpu::new(0),
            disk: Disk::default(),
            counts: Counts::default(),
            context_switches: 0,
            mmu_loaded_from: None,
            events: Vec::new(),
            event_cap: usize::MAX,
            events_overflowed: false,
            paging,
            pending_tlb: None,
            config,
        };
        k.emit(Event::Machine {
            strategy: k.config.strategy.name(),
            memory: k.config.memory,
            os_size: k.config.os_size,
            placement: k.config.placement.name(),
        });
        Ok(k)
    }

    /// Appends an event to the log, or drops it and sets
    /// `events_overflowed` when the log holds `event_cap` events.
    pub fn emit(&mut self, e: Event) {
        if self.events.len() < self.event_cap {
            self.events.push(e);
        } else {
            self.events_overflowed = true;
        }
    }

    /// A narration line.
    pub fn note(&mut self, text: impl Into<String>) {
        self.emit(Event::Note { text: text.into() });
    }

    /// The PCB of `pid` (panics on an unknown pid: a kernel bug).
    pub fn proc(&self, pid: Pid) -> &Process {
        &self.procs[pid as usize - 1]
    }

    /// The PCB of `pid`, mutably.
    pub fn proc_mut(&mut self, pid: Pid) -> &mut Process {
        &mut self.procs[pid as usize - 1]
    }

    /// The pid of the process named `name` (the newest if several).
    pub fn pid_of(&self, name: &str) -> Option<Pid> {
        self.procs
            .iter()
            .rev()
            .find(|p| p.name == name)
            .map(|p| p.pid)
    }

    /// The (unsegmented) address space a spec asks for under the current
    /// strategy: under uniprogramming and time sharing it defaults to all of
    /// user memory.
    fn flat_space(&self, spec: &ProcessSpec) -> Result<AddressSpace, String> {
        let mut sizes = spec.sizes;
        if matches!(
            self.config.strategy,
            Strategy::Uniprogramming | Strategy::TimeSharing
        ) && sizes.total.is_none()
        {
            // The process owns all of (user) memory.
            sizes.total = Some(self.config.memory - self.config.os_size);
        }
        AddressSpace::build(self.config.layout, sizes, self.config.random_stack)
    }

    // ------------------------------------------------------------------
    // The loader
    // ------------------------------------------------------------------

    /// Loads a process: builds its address space, finds physical memory for
    /// it (the placement policy, or the fixed base), copies its image,
    /// applies relocations (static relocation) and fills the PCB. The new
    /// process is ready, not running.
    ///
    /// A process that finds no memory is not created: a `load-failed` event
    /// and `Err` with the reason (the simulation goes on).
    pub fn spawn(&mut self, spec: &ProcessSpec) -> Result<Pid, LoadError> {
        match self.load(spec) {
            Ok(pid) => Ok(pid),
            Err((reason, needed)) => {
                let (free_total, largest_hole) = match &self.paging {
                    // Any free frame serves any page: no hole is needed.
                    Some(pg) => {
                        let free = pg.frames.free_user() * pg.page_size();
                        (free, free)
                    }
                    None => (self.free.free_total(), self.free.largest_hole()),
                };
                self.emit(Event::LoadFailed {
                    name: spec.name.clone(),
                    needed,
                    free_total,
                    largest_hole,
                    reason: reason.clone(),
                });
                Err(LoadError(reason))
            }
        }
    }

    fn load(&mut self, spec: &ProcessSpec) -> Result<Pid, (String, u64)> {
        let pid = self.procs.len() as Pid + 1;
        let strategy = self.config.strategy;
        // Phase 1: the virtual layout.
        let mut space = if strategy == Strategy::Segmentation {
            AddressSpace::segmented(spec.sizes, self.config.va_bits).map_err(|e| (e, 0))?
        } else {
            self.flat_space(spec).map_err(|e| (e, 0))?
        };
        // Phase 2: physical memory.
        let mut memory = Vec::new();
        let mut mmu = MmuRegisters::None;
        let mut load_address = None;
        match strategy {
            Strategy::Uniprogramming | Strategy::TimeSharing => {
                if strategy == Strategy::Uniprogramming && self.procs.iter().any(|p| p.alive()) {
                    return Err((
                        "uniprogramming: one process owns memory; another is still loaded".into(),
                        space.size,
                    ));
                }
                let start = spec.base.unwrap_or(self.config.os_size);
                let resident = self.disk.resident.is_some();
                if !resident {
                    self.free
                        .allocate_at(start, space.size)
                        .map_err(|e| (e, space.size))?;
                } else if start as u128 + space.size as u128 > self.config.memory as u128
                    || start < self.config.os_size
                {
                    return Err((
                        format!("[{start:#x}, +{:#x}) is not user memory", space.size),
                        space.size,
                    ));
                }
                memory.push(Allocation {
                    what: "image",
                    start,
                    size: space.size,
                    segment: None,
                    shared: false,
                });
                shift_regions(&mut space, start);
                load_address = Some(start);
            }
            Strategy::StaticRelocation | Strategy::Base | Strategy::BaseBounds => {
                let start = self.place(spec.base, space.size)?;
                memory.push(Allocation {
                    what: "image",
                    start,
                    size: space.size,
                    segment: None,
                    shared: false,
                });
                if strategy == Strategy::StaticRelocation {
                    shift_regions(&mut space, start);
                    load_address = Some(start);
                } else if strategy == Strategy::Base {
                    mmu = MmuRegisters::Base { base: start };
                } else {
                    mmu = MmuRegisters::BaseBounds {
                        base: start,
                        bounds: space.size,
                    };
                }
            }
            Strategy::Paging => {
                mmu = self.paging_load(pid, &spec.program, &space)?;
            }
            Strategy::Segmentation => {
                let (table, blocks) = self.place_segments(spec, &space)?;
                memory = blocks;
                mmu = MmuRegisters::Segments(table);
                if spec.segments.is_some() {
                    // An explicit table: the regions are the segments.
                    space.regions.clear();
                }
            }
        }
        // Phase 2b: static relocation rewrites 32-bit words; each must still
        // fit once the load address is added, or the process is not loaded.
        if let (Strategy::StaticRelocation, Some(load)) = (strategy, load_address) {
            if let Err(why) = self.check_relocations(spec, load) {
                self.free.free(load, space.size);
                return Err((why, space.size));
            }
        }
        let process = Process {
            pid,
            name: spec.name.clone(),
            program: spec.program.clone(),
            state: ProcState::Ready,
            exit_status: None,
            context: spec.context.clone(),
            mmu,
            space,
            memory,
            load_address,
            stats: Accounting::default(),
        };
        self.procs.push(process);
        let p = self.proc(pid);
        let blocks = p.memory.iter().map(Allocation::block).collect();
        let registers = registers_view(&p.mmu);
        // A segmented space is 2^va_bits bytes: 2^64 does not fit a u64.
        let size = if strategy == Strategy::Segmentation {
            1u128 << self.config.va_bits
        } else {
            u128::from(p.space.size)
        };
        let regions = p
            .space
            .regions
            .iter()
            .map(|r| crate::kernel::event::RegionView {
                what: r.kind.name(),
                start: r.start,
                size: r.size,
            })
            .collect();
        let offset_bits = p.space.offset_bits;
        // Time sharing: while another process owns memory, the new image is
        // written to disk (phase 3) and read in at its first switch.
        let on_disk_while = self
            .disk
            .resident
            .filter(|&r| strategy == Strategy::TimeSharing && r != pid);
        self.emit(Event::Spawn {
            pid,
            name: spec.name.clone(),
            size,
            blocks,
            registers,
            regions,
            offset_bits,
            on_disk_while,
        });
        self.paging_flush_pending();
        // Phase 3: the image, through the new process's own translation.
        self.copy_image(pid, spec);
        if strategy == Strategy::TimeSharing {
            self.time_sharing_admit(pid);
        }
        Ok(pid)
    }

    /// Takes `size` bytes at `fixed` or where the policy says.
    fn place(&mut self, fixed: Option<u64>, size: u64) -> Result<u64, (String, u64)> {
        match fixed {
            Some(start) => {
                self.free.allocate_at(start, size).map_err(|e| (e, size))?;
                Ok(start)
            }
            None => self.free.allocate(size).map_err(|e| (e.to_string(), size)),
        }
    }

    /// Places the segments of a new process; on failure returns every block
    /// already taken to the free list.
    fn place_segments(
        &mut self,
        spec: &ProcessSpec,
        space: &AddressSpace,
    ) -> Result<(Vec<Segment>, Vec<Allocation>), (String, u64)> {
        let mut blocks: Vec<Allocation> = Vec::new();
        let undo = |k: &mut Kernel, blocks: &[Allocation]| {
            for b in blocks.iter().filter(|b| !b.shared) {
                k.free.free(b.start, b.size);
            }
        };
        if let Some(table) = &spec.segments {
            if table.len() != 4 {
                return Err((
                    format!(
                        "segment table has {} entries; vmlab's MMU has 4",
                        table.len()
                    ),
                    0,
                ));
            }
            for (i, s) in table.iter().enumerate() {
                let Some((start, end)) = s.phys_range() else {
                    undo(self, &blocks);
                    return Err((
                        format!("segment {i} starts below physical address 0"),
                        s.size,
                    ));
                };
                if s.size == 0 {
                    continue;
                }
                if let Err(e) = self.free.allocate_at(start, end - start) {
                    undo(self, &blocks);
                    return Err((format!("segment {i}: {e}"), s.size));
                }
                blocks.push(Allocation {
                    what: match s.name.as_deref() {
                        Some(n) if static_region(n) != "none" => static_region(n),
                        _ => ["segment 0", "segment 1", "segment 2", "segment 3"][i],
                    },
                    start,
                    size: s.size,
                    segment: Some(i),
                    shared: false,
                });
            }
            return Ok((table.clone(), blocks));
        }
        let mut table = vec![Segment::up(0, 0, Perms::empty()); 4];
        // Placement order: code, data, stack, heap (so that the heap, which
        // sbrk grows, is the last block of the process).
        let mut order: Vec<_> = space.regions.iter().collect();
        order.sort_by_key(|r| match r.kind {
            RegionKind::Code => 0,
            RegionKind::Data => 1,
            RegionKind::Stack => 2,
            _ => 3,
        });
        for region in order {
            let kind = region.kind;
            let seg = kind.segment();
            let perms = match kind {
                RegionKind::Code => Perms::R | Perms::X,
                _ => Perms::R | Perms::W,
            };
            // Sharing: another live process of the same program already has
            // the (read-only) code in memory.
            let sharer = (kind == RegionKind::Code && self.config.share_code)
                .then(|| {
                    self.procs.iter_mut().find(|p| {
                        p.alive() && p.program == spec.program && !spec.program.is_empty()
                    })
                })
                .flatten();
            if let Some(other) = sharer {
                if let Some(b) = other.memory.iter_mut().find(|b| b.segment == Some(0)) {
                    b.shared = true;
                    let shared = b.clone();
                    table[0] = Segment::up(shared.start, shared.size, perms).named("code");
                    blocks.push(shared);
                    continue;
                }
            }
            if region.size == 0 {
                table[seg] = Segment::up(0, 0, perms).named(kind.name());
                continue;
            }
            let start = match self.free.allocate(region.size) {
                Ok(s) => s,
                Err(e) => {
                    undo(self, &blocks);
                    return Err((format!("{} segment: {e}", kind.name()), region.size));
                }
            };
            blocks.push(Allocation {
                what: kind.name(),
                start,
                size: region.size,
                segment: Some(seg),
                shared: false,
            });
            table[seg] = if kind == RegionKind::Stack {
                Segment::down(start + region.size, region.size, perms).named("stack")
            } else {
                Segment::up(start, region.size, perms).named(kind.name())
            };
        }
        Ok((table, blocks))
    }

    /// Checks that every word of `spec`'s relocation table, plus `load`,
    /// fits the word's 32 bits. A word's bytes are the image's (the last
    /// image entry covering a byte wins), else what memory holds there.
    ///
    /// Returns the reason for the first word that does not fit.
    fn check_relocations(&self, spec: &ProcessSpec, load: u64) -> Result<(), String> {
        for &r in &spec.relocations {
            let mut word = [0u8; 4];
            for (i, byte) in word.iter_mut().enumerate() {
                let Some(va) = r.checked_add(i as u64) else {
                    continue;
                };
                let from_image = spec.image.iter().rev().find_map(|(at, bytes)| {
                    let k = va.checked_sub(*at)?;
                    bytes.get(usize::try_from(k).ok()?).copied()
                });
                *byte = match from_image {
                    Some(b) => b,
                    None => load
                        .checked_add(va)
                        .and_then(|pa| self.memory.read_le(PhysAddr::new(pa), 1).ok())
                        .map_or(0, |b| b as u8),
                };
            }
            let old = u64::from(u32::from_le_bytes(word));
            let new = old + load;
            if new > u64::from(u32::MAX) {
                return Err(format!(
                    "static relocation: the word at {r:#x} holds {old:#x}; plus the load address {load:#x} it is {new:#x}, which does not fit its 32 bits"
                ));
            }
        }
        Ok(())
    }

    /// Copies the spec's image into the new process's memory, translating
    /// with its registers (kernel mode), then applies the relocation table
    /// under static relocation.
    fn copy_image(&mut self, pid: Pid, spec: &ProcessSpec) {
        let load = self.proc(pid).load_address;
        let to_disk = self.config.strategy == Strategy::TimeSharing
            && self.disk.resident.is_some_and(|r| r != pid);
        let mmu = self.process_mmu(pid);
        for (va, bytes) in &spec.image {
            for (i, byte) in bytes.iter().enumerate() {
                let Some(va) = va.checked_add(i as u64) else {
                    continue;
                };
                if to_disk {
                    // Another process owns memory: the image waits on disk.
                    self.disk.poke(pid, va, *byte);
                    continue;
                }
                if self.paging_image_byte(pid, va, *byte) {
                    // Demand paging: the image waits in the swap area.
                    continue;
                }
                let pa = kernel_pa(&self.memory, mmu.as_ref(), load, va);
                if let Some(pa) = pa {
                    let _ = self.memory.write(PhysAddr::new(pa), &[*byte]);
                }
            }
        }
        if let Some(prog) = &spec.program_image {
            self.load_program(pid, prog, spec);
        }
        if let Some(load) = self.proc(pid).load_address {
            if self.config.strategy == Strategy::StaticRelocation {
                for &r in &spec.relocations {
                    let Some(at) = load.checked_add(r) else {
                        continue;
                    };
                    let Ok(old) = self.memory.read_le(PhysAddr::new(at), 4) else {
                        continue;
                    };
                    // The loader checked that every word fits (phase 2b).
                    let Some(new) = old.checked_add(load).filter(|&n| n <= u64::from(u32::MAX))
                    else {
                        continue;
                    };
                    let _ = self.memory.write_le(PhysAddr::new(at), 4, new);
                    self.emit(Event::Relocate {
                        pid,
                        from: old,
                        to: new,
                        what: format!("word at {r:#x} (now at {at:#x})"),
                    });
                }
            }
        }
    }

    /// Copies a program's sections into `pid`'s memory, rewrites its
    /// absolute addresses when it is not loaded where it was linked (the
    /// identity strategies), and sets the initial pc and sp.
    fn load_program(&mut self, pid: Pid, prog: &crate::program::Program, spec: &ProcessSpec) {
        let load = self.proc(pid).load_address.unwrap_or(0);
        let mmu = self.process_mmu(pid);
        for sec in &prog.sections {
            for (i, byte) in sec.data.iter().enumerate() {
                let Some(va) = sec.addr.checked_add(i as u64) else {
                    continue;
                };
                if self.paging_image_byte(pid, va, *byte) {
                    continue;
                }
                let pa = kernel_pa(&self.memory, mmu.as_ref(), self.proc(pid).load_address, va);
                if let Some(pa) = pa {
                    let _ = self.memory.write(PhysAddr::new(pa), &[*byte]);
                }
            }
        }
        if load != 0 {
            // Phase: relocation. Each place holding an absolute address now
            // holds that address plus the load address.
            for r in &prog.relocations {
                let at = load + r.at;
                let mut place = [0u8; 8];
                let n = (self.config.memory - at.min(self.config.memory)).min(8) as usize;
                if self
                    .memory
                    .read(PhysAddr::new(at), &mut place[..n])
                    .is_err()
                {
                    continue;
                }
                let to = r.target + load;
                if r.kind.patch(&mut place[..n], to).is_ok() {
                    let _ = self.memory.write(PhysAddr::new(at), &place[..n]);
                    self.emit(Event::Relocate {
                        pid,
                        from: r.target,
                        to,
                        what: format!(
                            "{:?} reference{} at {:#x}",
                            r.kind,
                            r.symbol
                                .as_ref()
                                .map(|s| format!(" to {s}"))
                                .unwrap_or_default(),
                            r.at
                        ),
                    });
                }
            }
        }
        // sp starts at the top of the stack. At the top of a 64-bit space
        // that is 2^64, which a 64-bit register holds as 0: the first push
        // (sp - 16, modular as the hardware's addi) lands on the highest 16
        // bytes, as on a real machine.
        let stack_top = self
            .proc(pid)
            .space
            .region(RegionKind::Stack)
            .map(|r| (r.end_wide() % (1u128 << 64)) as u64)
            .unwrap_or(self.proc(pid).space.size);
        let p = self.proc_mut(pid);
        if spec.context.pc == 0 {
            p.context.pc = prog.entry + load;
        }
        if spec.context.x[2] == 0 {
            p.context.x[2] = stack_top;
        }
    }

    /// Static relocation of one address of an access list: the loader adds
    /// the load address (and says so). Other strategies leave it alone.
    pub fn relocate_address(&mut self, pid: Pid, va: u64, what: &str) -> u64 {
        match (self.config.strategy, self.proc(pid).load_address) {
            (Strategy::StaticRelocation, Some(load)) => {
                let to = va.saturating_add(load);
                self.emit(Event::Relocate {
                    pid,
                    from: va,
                    to,
                    what: what.to_string(),
                });
                to
            }
            _ => va,
        }
    }

    /// Translates `va` the way process `pid`'s MMU registers would (the
    /// kernel reading a process's memory), or `None` on a fault.
    pub fn kernel_translate(&self, pid: Pid, va: u64) -> Option<u64> {
        kernel_pa(&self.memory, self.process_mmu(pid).as_ref(), None, va)
    }

    /// The MMU as process `pid` uses it, for replaying its addresses
    /// elsewhere (`vmlab trace --scenario`): when `pid` is on the CPU its
    /// registers are the ones loaded in the MMU (the PCB copy is only
    /// written at the next switch), so this is a copy of the live MMU;
    /// otherwise it is this machine's MMU (same physical memory, address
    /// width and segment count) loaded, in kernel mode, with the registers
    /// saved in `pid`'s PCB. Nothing is re-derived from the layout.
    ///
    /// Fails only when the saved registers do not fit this MMU (a kernel
    /// bug). Panics on an unknown pid, as [`Kernel::proc`]. No side effects.
    pub fn mmu_of(&self, pid: Pid) -> Result<AnyMmu, RegisterError> {
        if self.current == Some(pid) {
            return Ok(self.mmu.clone());
        }
        let mut mmu = self.mmu.clone();
        mmu.load_registers(Mode::Kernel, &self.proc(pid).mmu)?;
        Ok(mmu)
    }

    /// An MMU loaded with `pid`'s saved registers (kernel mode), for the
    /// kernel to reach the process's memory.
    fn process_mmu(&self, pid: Pid) -> Option<AnyMmu> {
        let mut mmu = self.mmu.clone();
        mmu.load_registers(Mode::Kernel, &self.proc(pid).mmu).ok()?;
        Some(mmu)
    }

    // ------------------------------------------------------------------
    // User accesses
    // ------------------------------------------------------------------

    /// The current process accesses `size` bytes at `va` (a store writes
    /// `value`). The MMU translates; on success memory is read or written
    /// and the record says what was there; on a fault the trap handler
    /// decides (grow the stack and retry, or kill).
    ///
    /// Returns the value read (or written), or the fault if the process was
    /// killed. Without a running process, returns `None` and does nothing.
    pub fn user_access(
        &mut self,
        access: Access,
        va: u64,
        size: u64,
        value: u64,
    ) -> Option<Result<u64, Fault>> {
        let pid = self.current?;
        // A fault the OS fixes restarts the access; an access that needs
        // more frames at once than there are would restart forever.
        let mut restarts = 0;
        loop {
            let tlb_before = self.tlb_counts();
            let result = self
                .mmu
                .translate_span(&self.memory, VirtAddr::new(va), size, access);
            let tlb_after = self.tlb_counts();
            self.pending_tlb = if tlb_after.1 > tlb_before.1 {
                Some("miss")
            } else if tlb_after.0 > tlb_before.0 {
                Some("hit")
            } else {
                None
            };
            let result = result.and_then(|pa| {
                let fits = pa
                    .as_u64()
                    .checked_add(size)
                    .is_some_and(|end| end <= self.config.memory);
                if fits {
                    Ok(pa)
                } else {
                    Err(Fault::new(
                        VirtAddr::new(va),
                        access,
                        FaultKind::OutsidePhysicalMemory,
                    ))
                }
            });
            match result {
                Ok(pa) => {
                    let v = match access {
                        Access::Write => {
                            let v = value & mask(size);
                            let _ = self.memory.write_le(pa, size as usize, v);
                            v
                        }
                        _ => self.memory.read_le(pa, size as usize).unwrap_or(0),
                    };
                    self.record_access(pid, access, va, Ok(pa.as_u64()), size, v);
                    return Some(Ok(v));
                }
                Err(fault) => {
                    self.record_access(pid, access, va, Err(fault), size, 0);
                    restarts += 1;
                    if restarts > 8 && self.proc(pid).alive() {
                        self.enter_kernel("fault", fault.to_string());
                        self.kill(
                            pid,
                            format!("{fault}: the access cannot complete (it needs more frames at once than the OS can keep)"),
                        );
                        return Some(Err(fault));
                    }
                    if !self.handle_fault(pid, fault) {
                        return Some(Err(fault));
                    }
                    // The OS fixed it (stack growth): the instruction restarts.
                }
            }
        }
    }

    /// Counts and records one access of `pid` that the hardware made (or
    /// refused): the event, and a violation when the byte is not `pid`'s.
    /// Only an access that reached memory counts as a memory access (and
    /// is charged by the cost model); a refused one counts as a fault.
    pub(crate) fn record_access(
        &mut self,
        pid: Pid,
        access: Access,
        va: u64,
        result: Result<u64, Fault>,
        size: u64,
        value: u64,
    ) {
        if result.is_ok() {
            self.counts.accesses += 1;
            self.proc_mut(pid).stats.accesses += 1;
            self.paging_touch(pid, va, size, access);
        }
        let segment = match &self.mmu {
            AnyMmu::Segmentation(s) => s.split(VirtAddr::new(va)),
            _ => None,
        };
        let mut rec = super::event::AccessRecord {
            pid,
            va,
            access: access.name(),
            pa: None,
            fault: None,
            segment: segment.map(|s| s.0),
            offset: segment.map(|s| s.1),
            region: self.region_name(pid, va),
            tlb: self.pending_tlb.take(),
            value: None,
            size,
        };
        match result {
            Ok(pa) => {
                rec.pa = Some(pa);
                if access != Access::Fetch {
                    rec.value = Some(value);
                }
                self.emit(access_event(access, rec));
                self.check_owner(pid, va, pa, size, access);
            }
            Err(fault) => {
                rec.fault = Some(fault.kind.name());
                self.proc_mut(pid).stats.faults += 1;
                self.emit(access_event(access, rec));
            }
        }
    }

    /// Records a violation when any of the `size` bytes from `pa` is not
    /// the accessing process's (the first such byte is named).
    fn check_owner(&mut self, pid: Pid, va: u64, pa: u64, size: u64, access: Access) {
        let foreign = (0..size.max(1)).find_map(|i| {
            let byte = pa.checked_add(i)?;
            let owner = self.owner_of(byte, Some(pid));
            (owner != Owner::Process(pid)).then_some((i, byte, owner))
        });
        if let Some((i, pa, owner)) = foreign {
            let va = va.saturating_add(i);
            let owner_va = match owner {
                Owner::Process(other) => self.va_of(other, pa),
                _ => None,
            };
            self.emit(Event::Violation {
                pid,
                va,
                pa,
                access: access.name(),
                owner,
                owner_va,
            });
        }
    }

    /// Who owns physical byte `pa` (preferring `me` for shared blocks).
    pub fn owner_of(&self, pa: u64, me: Option<Pid>) -> Owner {
        if self.paging.is_some() {
            return self.paging_owner(pa, me);
        }
        if pa < self.config.os_size {
            return Owner::Os;
        }
        let holds = |p: &Process| {
            p.alive()
                && p.block_at(pa).is_some()
                && (self.config.strategy != Strategy::TimeSharing
                    || self.disk.resident == Some(p.pid))
        };
        if let Some(me) = me {
            if holds(self.proc(me)) {
                return Owner::Process(me);
            }
        }
        match self.procs.iter().find(|p| holds(p)) {
            Some(p) => Owner::Process(p.pid),
            None => Owner::Free,
        }
    }

    /// The virtual address at which process `pid` sees physical byte `pa`.
    pub fn va_of(&self, pid: Pid, pa: u64) -> Option<u64> {
        if self.paging.is_some() {
            return self.paging_va_of(pid, pa);
        }
        let p = self.proc(pid);
        let b = p.block_at(pa)?;
        match (&p.mmu, b.segment) {
            (MmuRegisters::Segments(table), Some(i)) => {
                let ob = self.config.va_bits.checked_sub(2)?;
                let s = &table[i];
                let seg_base = (i as u64) << ob;
                if s.grows_down {
                    Some(seg_base + (1u64 << ob) - (s.base - pa))
                } else {
                    Some(seg_base + (pa - s.base))
                }
            }
            (MmuRegisters::Base { base }, _) | (MmuRegisters::BaseBounds { base, .. }, _) => {
                Some(pa - base)
            }
            _ => Some(pa),
        }
    }

    /// The region name of `va` in `pid`'s address space (`none` outside).
    pub fn region_name(&self, pid: Pid, va: u64) -> &'static str {
        let p = self.proc(pid);
        if let (MmuRegisters::Segments(table), true) = (&p.mmu, p.space.regions.is_empty()) {
            // Explicit segment table: name the segment.
            if let AnyMmu::Segmentation(s) = &self.mmu {
                if let Some((seg, _)) = s.split(VirtAddr::new(va)) {
                    return table[seg as usize]
                        .name
                        .as_deref()
                        .map(static_region)
                        .unwrap_or("none");
                }
            }
        }
        p.space
            .region_of(va)
            .map(RegionKind::name)
            .unwrap_or("none")
    }

    // ------------------------------------------------------------------
    // Registers and the memory map
    // ------------------------------------------------------------------

    /// Writes `pid`'s PCB registers into the MMU if it is running (the
    /// kernel changed them: growth, a move). Kernel mode.
    pub(crate) fn reload_if_current(&mut self, pid: Pid) {
        if self.current == Some(pid) {
            let regs = self.proc(pid).mmu.clone();
            let _ = self.mmu.load_registers(Mode::Kernel, &regs);
            self.mmu_loaded_from = Some(pid);
        }
    }

    /// The memory map: the OS, every block and every hole, in address order.
    pub fn memory_map(&self) -> Event {
        if self.paging.is_some() {
            return self.paging_memory_map();
        }
        let mut entries = Vec::new();
        if self.config.os_size > 0 {
            entries.push(MapEntry {
                start: 0,
                size: self.config.os_size,
                owner: "os".into(),
            });
        }
        let mut seen = Vec::new();
        for p in self.procs.iter().filter(|p| p.alive()) {
            if self.config.strategy == Strategy::TimeSharing && self.disk.resident != Some(p.pid) {
                continue;
            }
            for b in &p.memory {
                if seen.contains(&(b.start, b.size)) {
                    continue;
                }
                seen.push((b.start, b.size));
                let owner = if b.shared {
                    let names: Vec<&str> = self
                        .procs
                        .iter()
                        .filter(|q| q.alive() && q.memory.contains(b))
                        .map(|q| q.name.as_str())
                        .collect();
                    format!("{} {} (shared)", names.join("+"), b.what)
                } else {
                    format!("{} {}", p.name, b.what)
                };
                entries.push(MapEntry {
                    start: b.start,
                    size: b.size,
                    owner,
                });
            }
        }
        for h in self.free.holes() {
            entries.push(MapEntry {
                start: h.start,
                size: h.size,
                owner: "free".into(),
            });
        }
        entries.sort_by_key(|e| e.start);
        Event::MemoryMap {
            entries,
            free_total: self.free.free_total(),
            largest_hole: self.free.largest_hole(),
            internal_fragmentation: None,
        }
    }

    /// The totals and the estimate, as an event.
    pub fn cost_event(&self) -> Event {
        let mut counts = self.counts;
        counts.walk_reads = if self.paging.is_some() {
            self.walk_reads()
        } else {
            0
        };
        let estimate = self.config.cost.estimate(&counts);
        Event::Cost {
            walk_reads: counts.walk_reads,
            strategy: self.config.strategy.name(),
            instructions: self.counts.instructions,
            accesses: self.counts.accesses,
            context_switches: self.context_switches,
            disk_transfers: self.counts.disk_transfers,
            disk_bytes: self.counts.disk_bytes,
            copied_bytes: self.counts.copied_bytes,
            estimate,
            total_ns: estimate.total_ns(),
        }
    }

    /// Process summaries and the cost, appended to the log.
    pub fn finish(&mut self) {
        let summaries: Vec<Event> = self
            .procs
            .iter()
            .map(|p| Event::ProcessSummary {
                pid: p.pid,
                name: p.name.clone(),
                state: p.state.name(),
                instructions: p.stats.instructions,
                accesses: p.stats.accesses,
                faults: p.stats.faults,
            })
            .collect();
        for e in summaries {
            self.emit(e);
        }
        if let Some(e) = self.paging_summary() {
            self.emit(e);
        }
        if let Some(e) = self.tlb_summary() {
            self.emit(e);
        }
        let c = self.cost_event();
        self.emit(c);
    }
}

/// Where the kernel finds a process's byte `va`: `load + va` for the
/// strategies without translation, else through the process's MMU state.
fn kernel_pa(
    mem: &PhysicalMemory,
    mmu: Option<&AnyMmu>,
    load: Option<u64>,
    va: u64,
) -> Option<u64> {
    match load {
        Some(l) => l.checked_add(va),
        None => mmu?
            .translate(mem, VirtAddr::new(va), Access::Read)
            .ok()
            .map(|pa| pa.as_u64()),
    }
}

fn static_region(name: &str) -> &'static str {
    match name {
        "code" => "code",
        "data" => "data",
        "heap" => "heap",
        "stack" => "stack",
        _ => "none",
    }
}

fn shift_regions(space: &mut AddressSpace, by: u64) {
    for r in &mut space.regions {
        r.start += by;
    }
}

fn mask(size: u64) -> u64 {
    if size >= 8 {
        u64::MAX
    } else {
        (1u64 << (size * 8)) - 1
    }
}

fn access_event(access: Access, rec: super::event::AccessRecord) -> Event {
    match access {
        Access::Fetch => Event::Fetch(rec),
        Access::Read => Event::Load(rec),
        Access::Write => Event::Store(rec),
    }
}

/// The registers as an event record.
pub fn registers_view(regs: &MmuRegisters) -> RegistersView {
    let mut v = RegistersView {
        mechanism: regs.mechanism(),
        base: None,
        bounds: None,
        segments: Vec::new(),
        satp: None,
        page_directory: None,
    };
    match regs {
        MmuRegisters::None | MmuRegisters::PageTable { .. } => {}
        MmuRegisters::PageDirectoryBase { root } => v.page_directory = Some(*root),
        MmuRegisters::Satp(satp) => v.satp = Some(satp.0),
        MmuRegisters::Base { base } => v.base = Some(*base),
        MmuRegisters::BaseBounds { base, bounds } => {
            v.base = Some(*base);
            v.bounds = Some(*bounds);
        }
        MmuRegisters::Segments(table) => {
            v.segments = table
                .iter()
                .map(|s| SegmentView {
                    base: s.base,
                    size: s.size,
                    perms: s.perms.to_string(),
                    grows_down: s.grows_down,
                })
                .collect();
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::layout::Sizes;

    fn spec(name: &str, size: u64) -> ProcessSpec {
        ProcessSpec {
            name: name.into(),
            program: name.into(),
            sizes: Sizes {
                total: Some(size),
                ..Sizes::default()
            },
            ..ProcessSpec::default()
        }
    }

    fn boot(strategy: Strategy) -> Kernel {
        Kernel::boot(KernelConfig::new(16 * 1024, 1024, strategy)).unwrap()
    }

    #[test]
    fn mmu_of_a_waiting_process_is_its_saved_registers() {
        let mut k = boot(Strategy::BaseBounds);
        let p1 = k.spawn(&spec("P1", 1024)).unwrap();
        let p2 = k.spawn(&spec("P2", 2048)).unwrap();
        k.context_switch(p2, "start");
        let m = k.mmu_of(p1).unwrap();
        assert_eq!(m.registers(), k.proc(p1).mmu);
        assert_eq!(
            m.translate(
                crate::memory::PhysicalMemory::empty(),
                VirtAddr::new(100),
                Access::Read
            ),
            Ok(PhysAddr::new(1024 + 100))
        );
        assert!(
            m.translate(
                crate::memory::PhysicalMemory::empty(),
                VirtAddr::new(1024),
                Access::Read
            )
            .is_err()
        );
        // The running process: the registers live in the MMU.
        assert_eq!(k.mmu_of(p2).unwrap().registers(), k.mmu.registers());
    }

    /// E8's buggy kernel: P1 started, then the switch to P2 forgot to load
    /// P2's registers. Returns the kernel, P1 and P2.
    fn e8_forgot_the_reload() -> (Kernel, Pid, Pid) {
        let mut config = KernelConfig::new(16 * 1024, 1024, Strategy::BaseBounds);
        config.forget_mmu_reload = true;
        let mut k = Kernel::boot(config).unwrap();
        let p1 = k.spawn(&spec("P1", 1024)).unwrap();
        let p2 = k.spawn(&spec("P2", 1024)).unwrap();
        k.context_switch(p1, "start");
        k.context_switch(p2, "timer-interrupt");
        (k, p1, p2)
    }

    #[test]
    fn mmu_of_the_running_process_is_the_live_mmu_even_when_the_pcb_differs() {
        // E8's bug: the switch to P2 forgets to load P2's registers, so P2
        // runs with P1's base and bounds while its PCB still holds its own.
        let (k, p1, p2) = e8_forgot_the_reload();
        assert_ne!(k.proc(p2).mmu, k.proc(p1).mmu);
        assert_eq!(k.mmu_of(p2).unwrap().registers(), k.proc(p1).mmu);
    }

    #[test]
    fn compaction_moves_bytes_and_updates_saved_base() {
        let mut k = boot(Strategy::BaseBounds);
        let p1 = k.spawn(&spec("P1", 1024)).unwrap();
        let p2 = k.spawn(&spec("P2", 1024)).unwrap();
        k.context_switch(p2, "start");
        k.user_access(Access::Write, 10, 1, 0x5a);
        k.kill(p1, "test".into());
        assert!(k.compact());
        assert_eq!(
            k.proc(p2).mmu,
            MmuRegisters::BaseBounds {
                base: 1024,
                bounds: 1024
            }
        );
        // The running process's MMU was reloaded: its byte is still at va 10.
        assert_eq!(k.user_access(Access::Read, 10, 1, 0), Some(Ok(0x5a)));
        assert_eq!(k.free.holes().len(), 1);
    }

    #[test]
    fn static_relocation_refuses_to_move_or_compact() {
        let mut k = boot(Strategy::StaticRelocation);
        let p1 = k.spawn(&spec("P1", 1024)).unwrap();
        assert!(!k.move_process(p1, 8192));
        assert!(!k.compact());
        let refused = k
            .events
            .iter()
            .filter(|e| matches!(e, Event::Refused { .. }))
            .count();
        assert_eq!(refused, 2);
    }

    #[test]
    fn a_user_write_to_the_bounds_register_traps_and_kills() {
        let mut k = boot(Strategy::BaseBounds);
        let p1 = k.spawn(&spec("P1", 1024)).unwrap();
        k.context_switch(p1, "start");
        let wrote = k.user_load_registers(&MmuRegisters::BaseBounds {
            base: 0,
            bounds: 16 * 1024,
        });
        assert!(!wrote);
        assert!(!k.proc(p1).alive());
        assert_eq!(
            k.mmu.registers(),
            MmuRegisters::BaseBounds {
                base: 1024,
                bounds: 1024
            },
            "the MMU is unchanged"
        );
    }

    #[test]
    fn forgetting_the_mmu_reload_runs_p2_on_p1s_registers() {
        let (mut k, p1, p2) = e8_forgot_the_reload();
        k.user_access(Access::Write, 0, 1, 9);
        assert_eq!(k.owner_of(1024, None), Owner::Process(p1));
        assert!(
            k.events
                .iter()
                .any(|e| matches!(e, Event::Violation { pid, .. } if *pid == p2))
        );
    }

    #[test]
    fn sbrk_moves_a_base_bounds_space_that_cannot_grow_in_place() {
        let mut k = boot(Strategy::BaseBounds);
        let p1 = k.spawn(&spec("P1", 1024)).unwrap();
        let _p2 = k.spawn(&spec("P2", 1024)).unwrap();
        k.context_switch(p1, "start");
        k.user_access(Access::Write, 5, 1, 7);
        let old = k.grow_heap(p1, 1024).unwrap();
        assert_eq!(old, 1024);
        let MmuRegisters::BaseBounds { base, bounds } = k.proc(p1).mmu else {
            panic!()
        };
        assert_eq!((base, bounds), (3072, 2048), "moved past P2, bounds grown");
        assert_eq!(k.user_access(Access::Read, 5, 1, 0), Some(Ok(7)));
        assert_eq!(
            k.grow_heap(p1, 1 << 20)
                .map_err(|e| e.contains("out of memory")),
            Err(true)
        );
    }
}
