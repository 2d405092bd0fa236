//! The process table: looking processes up (`proc`, `pid_of`) and
//! creating them: `spawn` and the loader (placing the address space by
//! the strategy in use, copying the image, setting up the PCB).

use crate::addr::PhysAddr;
use crate::kernel::event::{Event, Pid};
use crate::kernel::layout::{AddressSpace, RegionKind};
use crate::kernel::process::{Accounting, Allocation, ProcState, Process};
use crate::mmu::{MmuRegisters, Perms, Segment};

use super::{Kernel, LoadError, ProcessSpec, Strategy, kernel_pa, registers_view, static_region};

impl Kernel {
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
}

fn shift_regions(space: &mut AddressSpace, by: u64) {
    for r in &mut space.regions {
        r.start += by;
    }
}
