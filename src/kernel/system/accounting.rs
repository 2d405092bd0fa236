//! Accounting: the memory map, the cost summary and the end-of-run
//! totals, as events.

use crate::kernel::event::{Event, MapEntry};

use super::{Kernel, Strategy};

impl Kernel {
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
