//! Growing and moving address spaces: sbrk's heap growth, the stack's
//! implicit growth, moving a process, and compaction.
//!
//! A segment (or a base+bounds address space) is contiguous in physical
//! memory, so growing it needs the hole next to it. When that hole is too
//! small the OS moves the segment: it takes a new block from the free list,
//! copies the bytes, frees the old block and updates the registers in the
//! PCB (and in the MMU when the process is running). Only dynamic
//! relocation allows moving; under static relocation the OS refuses and says
//! why.

use super::event::{Block, Event, Pid};
use super::layout::RegionKind;
use super::process::Allocation;
use super::system::{Kernel, Strategy};
use crate::addr::PhysAddr;
use crate::mmu::{MmuRegisters, Perms, Segment};

impl Kernel {
    /// Grows (or, with a negative `delta`, shrinks) `pid`'s heap by `delta`
    /// bytes: the heap segment under segmentation, the bounds when the heap
    /// is the last region of the address space, or the gap below the stack
    /// otherwise. Returns the old break (the start of the new memory).
    ///
    /// Fails, changing nothing, with the reason: out of memory, no room to
    /// move, a strategy that cannot move, a heap shrinking below zero.
    pub fn grow_heap(&mut self, pid: Pid, delta: i64) -> Result<u64, String> {
        if let Some(seg) = self.explicit_heap_segment(pid)? {
            return self.grow_named_heap(pid, seg, delta);
        }
        let heap = *self
            .proc(pid)
            .space
            .region(RegionKind::Heap)
            .ok_or("this process has no heap")?;
        let old_brk = heap.end();
        let new_size = u64::try_from(heap.size as i128 + delta as i128).map_err(|_| {
            format!(
                "the heap has {} bytes; it cannot shrink by {}",
                heap.size, -delta
            )
        })?;
        if delta == 0 {
            return Ok(old_brk);
        }
        let how = if self.config.strategy == Strategy::Segmentation {
            self.resize_heap_segment(pid, heap.size, new_size)?
        } else if self.paging.is_some() {
            self.paging_resize_heap(pid, heap.start, heap.size, new_size)?
        } else if let Some(limit) = self.proc(pid).space.room_above_heap() {
            // The heap grows into the free gap below the stack, inside the
            // address space: no physical change.
            if heap.start + new_size > limit {
                return Err(format!(
                    "the heap would reach {:#x}, into the region at {limit:#x} above it",
                    heap.start + new_size
                ));
            }
            "in-place"
        } else {
            self.resize_image(pid, new_size as i128 - heap.size as i128)?
        };
        let p = self.proc_mut(pid);
        if let Some(h) = p.space.region_mut(RegionKind::Heap) {
            h.size = new_size;
        }
        self.emit(Event::Grow {
            pid,
            region: "heap",
            old_size: heap.size,
            new_size,
            how,
        });
        self.reload_if_current(pid);
        Ok(old_brk)
    }

    /// Under an explicit segment table (a scenario's `segments = [...]`),
    /// the segment whose name is `heap`: `Ok(None)` for a process without
    /// an explicit table, an error naming the table when no segment is
    /// named heap.
    fn explicit_heap_segment(&self, pid: Pid) -> Result<Option<usize>, String> {
        let p = self.proc(pid);
        let MmuRegisters::Segments(table) = &p.mmu else {
            return Ok(None);
        };
        if !p.space.regions.is_empty() {
            return Ok(None);
        }
        table
            .iter()
            .position(|s| s.name.as_deref() == Some("heap"))
            .map(Some)
            .ok_or_else(|| {
                "this process has no heap: no segment of its table is named heap".to_string()
            })
    }

    /// sbrk on an explicit segment table: grows (or shrinks) segment `seg`,
    /// the one named heap, at its end, as the table's names say. The break
    /// is the segment's first virtual address plus its size.
    ///
    /// Fails, changing nothing, when the segment grows down, when it would
    /// outgrow the virtual space of one segment, shrink below zero, or find
    /// no free memory.
    fn grow_named_heap(&mut self, pid: Pid, seg: usize, delta: i64) -> Result<u64, String> {
        let MmuRegisters::Segments(table) = &self.proc(pid).mmu else {
            return Err("this process has no segment table".into());
        };
        let heap = table[seg].clone();
        if heap.grows_down {
            return Err(format!(
                "segment {seg}, named heap, grows down; sbrk grows a heap up"
            ));
        }
        let offset_bits = self.config.va_bits.saturating_sub(2);
        let span = 1u64
            .checked_shl(offset_bits)
            .ok_or("the segments' virtual span does not fit 64 bits")?;
        let seg_va = (seg as u64)
            .checked_mul(span)
            .ok_or("the heap segment's addresses do not fit 64 bits")?;
        let old_brk = seg_va + heap.size;
        let new_size = u64::try_from(heap.size as i128 + delta as i128).map_err(|_| {
            format!(
                "the heap has {} bytes; it cannot shrink by {}",
                heap.size, -delta
            )
        })?;
        if new_size > span {
            return Err(format!(
                "the heap segment would hold {new_size:#x} bytes; a segment spans {span:#x}"
            ));
        }
        if delta == 0 {
            return Ok(old_brk);
        }
        let how = self.resize_segment_block(pid, seg, "heap", heap.size, new_size)?;
        let start = self
            .proc(pid)
            .memory
            .iter()
            .find(|b| b.segment == Some(seg))
            .map(|b| b.start);
        if let MmuRegisters::Segments(table) = &mut self.proc_mut(pid).mmu {
            table[seg].base = start.unwrap_or(table[seg].base);
            table[seg].size = new_size;
        }
        self.emit(Event::Grow {
            pid,
            region: "heap",
            old_size: heap.size,
            new_size,
            how,
        });
        self.reload_if_current(pid);
        Ok(old_brk)
    }

    /// Resizes the heap segment (segment 1) to `new_size`.
    fn resize_heap_segment(
        &mut self,
        pid: Pid,
        old: u64,
        new: u64,
    ) -> Result<&'static str, String> {
        let how = self.resize_segment_block(pid, 1, "heap", old, new)?;
        let b = self
            .proc(pid)
            .memory
            .iter()
            .find(|b| b.segment == Some(1))
            .cloned();
        if let (Some(b), MmuRegisters::Segments(table)) = (b, &mut self.proc_mut(pid).mmu) {
            table[1] = Segment::up(b.start, new, Perms::R | Perms::W).named("heap");
        }
        Ok(how)
    }

    /// Resizes the physical block of segment `seg` from `old` to `new`
    /// bytes at its end: a new block when the segment had none, else in
    /// place or moved (segments move).
    fn resize_segment_block(
        &mut self,
        pid: Pid,
        seg: usize,
        what: &'static str,
        old: u64,
        new: u64,
    ) -> Result<&'static str, String> {
        let i = self
            .proc(pid)
            .memory
            .iter()
            .position(|b| b.segment == Some(seg));
        Ok(match i {
            None => {
                let start = self.free.allocate(new).map_err(|e| e.to_string())?;
                let b = Allocation {
                    what,
                    start,
                    size: new,
                    segment: Some(seg),
                    shared: false,
                };
                self.emit(Event::Alloc {
                    pid,
                    block: b.block(),
                });
                self.proc_mut(pid).memory.push(b);
                "allocated"
            }
            Some(i) => self.resize_block_up(pid, i, old, new, true)?,
        })
    }

    /// Resizes the single image block (base, base+bounds, static
    /// relocation, uniprogramming) by `delta` bytes at its end.
    fn resize_image(&mut self, pid: Pid, delta: i128) -> Result<&'static str, String> {
        let b = self.proc(pid).memory[0].clone();
        let new = u64::try_from(b.size as i128 + delta).map_err(|_| "negative size".to_string())?;
        let movable = matches!(self.config.strategy, Strategy::Base | Strategy::BaseBounds);
        let how = self.resize_block_up(pid, 0, b.size, new, movable)?;
        let start = self.proc(pid).memory[0].start;
        let p = self.proc_mut(pid);
        p.space.size = new;
        match &mut p.mmu {
            MmuRegisters::Base { base } => *base = start,
            MmuRegisters::BaseBounds { base, bounds } => {
                *base = start;
                *bounds = new;
            }
            _ => {}
        }
        Ok(how)
    }

    /// Resizes block `i` of `pid` (growing at its end): shrink in place,
    /// grow into the hole after it, or (when `movable`) move it to a new
    /// hole, copying its bytes.
    fn resize_block_up(
        &mut self,
        pid: Pid,
        i: usize,
        old: u64,
        new: u64,
        movable: bool,
    ) -> Result<&'static str, String> {
        let b = self.proc(pid).memory[i].clone();
        if new <= old {
            self.free.free(b.start + new, old - new);
            self.proc_mut(pid).memory[i].size = new;
            return Ok("in-place");
        }
        if self.free.extend_up(b.end(), new - old) {
            self.proc_mut(pid).memory[i].size = new;
            return Ok("in-place");
        }
        if !movable {
            return Err(format!(
                "no free memory right after the {} at {:#x} and a {} process cannot be moved",
                b.what,
                b.start,
                self.config.strategy.name()
            ));
        }
        // No room next to it: move it (free the old block first so that it
        // may be reused, as when the hole before it is large enough).
        self.free.free(b.start, b.size);
        let Ok(to) = self.free.allocate(new) else {
            let err = self.free.allocate(new).unwrap_err();
            let _ = self.free.allocate_at(b.start, b.size);
            return Err(err.to_string());
        };
        let _ = self
            .memory
            .copy_within(PhysAddr::new(b.start), PhysAddr::new(to), b.size);
        self.counts.copied_bytes += b.size;
        self.emit(Event::Move {
            pid,
            what: b.what.to_string(),
            from: b.start,
            to,
            bytes: b.size,
        });
        let m = &mut self.proc_mut(pid).memory[i];
        m.start = to;
        m.size = new;
        Ok("moved")
    }

    /// Grows `pid`'s stack segment (segmentation) downward to `new_size`:
    /// into the hole below it, or by moving it. The OS does this when a
    /// reference just below the stack faults.
    pub fn grow_stack(&mut self, pid: Pid, new_size: u64) -> Result<(), String> {
        let i = self
            .proc(pid)
            .memory
            .iter()
            .position(|b| b.segment == Some(3))
            .ok_or("no stack segment")?;
        let b = self.proc(pid).memory[i].clone();
        let more = new_size
            .checked_sub(b.size)
            .ok_or("the stack does not shrink")?;
        let new_start = if self.free.extend_down(b.start, more) {
            b.start - more
        } else {
            self.free.free(b.start, b.size);
            let Ok(to) = self.free.allocate(new_size) else {
                let _ = self.free.allocate_at(b.start, b.size);
                return Err("no memory for a larger stack".into());
            };
            // The old bytes go to the top of the new block.
            let _ =
                self.memory
                    .copy_within(PhysAddr::new(b.start), PhysAddr::new(to + more), b.size);
            self.counts.copied_bytes += b.size;
            self.emit(Event::Move {
                pid,
                what: "stack".into(),
                from: b.start,
                to: to + more,
                bytes: b.size,
            });
            to
        };
        let p = self.proc_mut(pid);
        p.memory[i].start = new_start;
        p.memory[i].size = new_size;
        if let MmuRegisters::Segments(table) = &mut p.mmu {
            table[3] =
                Segment::down(new_start + new_size, new_size, Perms::R | Perms::W).named("stack");
        }
        if let Some(r) = p.space.region_mut(RegionKind::Stack) {
            r.start -= more;
            r.size = new_size;
        }
        self.emit(Event::Grow {
            pid,
            region: "stack",
            old_size: b.size,
            new_size,
            how: "implicit",
        });
        self.reload_if_current(pid);
        Ok(())
    }

    /// Why this strategy cannot move an address space, if it cannot.
    fn cannot_move(&self) -> Option<String> {
        match self.config.strategy {
            Strategy::StaticRelocation => Some(
                "static relocation: the loader rewrote the process's absolute addresses for its load address; addresses computed at run time (pointers in registers, on the stack, in the heap) cannot be found and rewritten, so a placed process cannot be moved"
                    .into(),
            ),
            Strategy::Uniprogramming | Strategy::TimeSharing => Some(format!(
                "{}: there is one address space in memory at a time, at a fixed place",
                self.config.strategy.name()
            )),
            Strategy::Paging => Some(
                "paging: any free frame holds any page, so there is no external fragmentation and nothing to move or compact"
                    .into(),
            ),
            _ => None,
        }
    }

    /// Moves `pid`'s address space (base, base+bounds) to physical `to`.
    /// Refused, with the reason, under static relocation (and segmentation:
    /// use compaction), or when the target is not free.
    pub fn move_process(&mut self, pid: Pid, to: u64) -> bool {
        let name = self.proc(pid).name.clone();
        let operation = format!("move {name} to {to:#x}");
        let reason = self.cannot_move().or_else(|| {
            (self.config.strategy == Strategy::Segmentation)
                .then(|| "segmentation moves segments one by one: use compaction".to_string())
        });
        if let Some(reason) = reason {
            self.emit(Event::Refused { operation, reason });
            return false;
        }
        let b = self.proc(pid).memory[0].clone();
        self.free.free(b.start, b.size);
        if let Err(e) = self.free.allocate_at(to, b.size) {
            let _ = self.free.allocate_at(b.start, b.size);
            self.emit(Event::Refused {
                operation,
                reason: e,
            });
            return false;
        }
        let _ = self
            .memory
            .copy_within(PhysAddr::new(b.start), PhysAddr::new(to), b.size);
        self.counts.copied_bytes += b.size;
        self.relocate_block(pid, b.start, b.size, to);
        true
    }

    /// Points every live process holding block `(start, size)` at `to`,
    /// updating PCB registers (and the MMU for the running one).
    fn relocate_block(&mut self, pid: Pid, start: u64, size: u64, to: u64) {
        let holders: Vec<Pid> = self
            .procs
            .iter()
            .filter(|p| p.alive() && p.memory.iter().any(|b| b.start == start && b.size == size))
            .map(|p| p.pid)
            .collect();
        for q in holders {
            let p = self.proc_mut(q);
            let Some(b) = p
                .memory
                .iter_mut()
                .find(|b| b.start == start && b.size == size)
            else {
                continue;
            };
            b.start = to;
            let seg = b.segment;
            let what = b.what;
            match &mut p.mmu {
                MmuRegisters::Base { base } => *base = to,
                MmuRegisters::BaseBounds { base, .. } => *base = to,
                MmuRegisters::Segments(table) => {
                    if let Some(s) = seg.and_then(|i| table.get_mut(i)) {
                        s.base = if s.grows_down { to + size } else { to };
                    }
                }
                // The kernel places no paged processes yet: nothing to relocate.
                MmuRegisters::None
                | MmuRegisters::PageTable { .. }
                | MmuRegisters::Satp(_)
                | MmuRegisters::PageDirectoryBase { .. } => {}
            }
            if q == pid {
                self.emit(Event::Move {
                    pid: q,
                    what: what.to_string(),
                    from: start,
                    to,
                    bytes: size,
                });
            }
            self.reload_if_current(q);
        }
    }

    /// Compaction: slides every block down to the end of the OS region, in
    /// address order, so all free memory becomes one hole. Refused (with
    /// the reason) when the strategy cannot move address spaces.
    pub fn compact(&mut self) -> bool {
        if let Some(reason) = self.cannot_move() {
            self.emit(Event::Refused {
                operation: "compaction".into(),
                reason,
            });
            return false;
        }
        let mut blocks: Vec<(u64, u64, Pid)> = Vec::new();
        for p in self.procs.iter().filter(|p| p.alive()) {
            for b in &p.memory {
                if !blocks.iter().any(|(s, z, _)| *s == b.start && *z == b.size) {
                    blocks.push((b.start, b.size, p.pid));
                }
            }
        }
        blocks.sort();
        let mut cursor = self.config.os_size;
        for (start, size, pid) in blocks {
            if start != cursor && size > 0 {
                let _ = self
                    .memory
                    .copy_within(PhysAddr::new(start), PhysAddr::new(cursor), size);
                self.counts.copied_bytes += size;
                self.relocate_block(pid, start, size, cursor);
            }
            cursor += size;
        }
        self.free =
            super::placement::FreeList::new(cursor, self.config.memory, self.config.placement);
        let map = self.memory_map();
        self.emit(map);
        true
    }

    /// The blocks `pid` holds, as records.
    pub fn blocks(&self, pid: Pid) -> Vec<Block> {
        self.proc(pid)
            .memory
            .iter()
            .map(Allocation::block)
            .collect()
    }
}
