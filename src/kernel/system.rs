//! The kernel proper: the state the OS keeps (processes, the free list, the
//! disk, the current process, the mode bit) over one machine (physical
//! memory and an MMU), and the loader that places a process according to the
//! memory strategy in use.
//!
//! The other kernel files add the rest of the OS as `impl Kernel` blocks:
//! `context_switch` (switching processes), `trap` (what a fault does) and
//! `growth` (heap and stack growth, compaction).
//!
//! Every user access goes through [`Kernel::user_access`]: the MMU
//! translates it, physical memory is read or written, and the event log gets
//! the record, plus a `violation` when the byte belongs to someone else.
//!
//! This file holds the types, booting and the event log; the rest of the
//! kernel proper is in its rooms, each an `impl Kernel` block:
//! `process_table` (lookup, spawn, the loader), `access` (the access path:
//! `user_access`, the kernel's own translations, violations) and
//! `accounting` (the memory map, costs, the end-of-run totals), `swapping`
//! (time sharing's swap out / swap in) and `syscalls` (the system-call
//! handlers).
//!
//! `system` depends on `swap` and `syscall` for their data types, and
//! neither of them depends on `system`: the `impl Kernel` blocks for
//! swapping and system calls live here, in `system/swapping.rs` and
//! `system/syscalls.rs`, so the dependency goes one way.

use super::event::{Event, Pid, RegistersView, SegmentView};
use super::layout::{LayoutKind, Sizes};
use super::placement::{Fit, FreeList};
use super::process::{Context, Process};
use super::swap::Disk;
use super::syscall::Abi;
use crate::addr::VirtAddr;
use crate::cost::{CostModel, Counts};
use crate::memory::PhysicalMemory;
use crate::mmu::{
    Access, AnyMmu, Base, BaseBounds, Identity, Mmu, MmuRegisters, Mode, Perms, Segment,
    Segmentation,
};

mod access;
mod accounting;
mod process_table;
mod swapping;
mod syscalls;

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
    use crate::addr::PhysAddr;
    use crate::kernel::event::Owner;
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
