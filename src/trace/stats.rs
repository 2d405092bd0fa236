//! What a trace replay counts: references by kind, valid ones, faults by
//! reason, and for segmentation the references, faults and the lowest and
//! highest address touched in each segment.
//!
//! Counting is separate from translating ([`super::batch`] does both in one
//! loop, writing into these counters) and from showing
//! ([`crate::render::trace`]).

use crate::fault::FaultKind;
use crate::mmu::Access;

/// Every fault kind, in the order of their counters.
pub const FAULT_KINDS: [FaultKind; 10] = [
    FaultKind::Bounds,
    FaultKind::Protection,
    FaultKind::InvalidSegment,
    FaultKind::Privileged,
    FaultKind::OutsidePhysicalMemory,
    FaultKind::Overflow,
    FaultKind::AddressWidth,
    FaultKind::Misaligned,
    FaultKind::InvalidPage,
    FaultKind::PageFault,
];

/// How many interleaved copies of the counters the batch loop keeps.
pub const LANES: usize = 4;

/// Every access kind, in the order of their counters.
pub const ACCESSES: [Access; 3] = [Access::Fetch, Access::Read, Access::Write];

/// The counter index of an access kind (the order of [`ACCESSES`]).
#[inline(always)]
pub const fn access_index(a: Access) -> usize {
    match a {
        Access::Fetch => 0,
        Access::Read => 1,
        Access::Write => 2,
    }
}

/// The counter index of a fault kind (the order of [`FAULT_KINDS`]).
#[inline(always)]
pub const fn fault_index(k: FaultKind) -> usize {
    match k {
        FaultKind::Bounds => 0,
        FaultKind::Protection => 1,
        FaultKind::InvalidSegment => 2,
        FaultKind::Privileged => 3,
        FaultKind::OutsidePhysicalMemory => 4,
        FaultKind::Overflow => 5,
        FaultKind::AddressWidth => 6,
        FaultKind::Misaligned => 7,
        FaultKind::InvalidPage => 8,
        FaultKind::PageFault => 9,
    }
}

/// The counters of one segment.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SegmentStats {
    /// References selecting this segment that translated.
    pub valid: u64,
    /// References selecting this segment that faulted.
    pub faults: u64,
    /// The lowest virtual address translated in it (`u64::MAX` if none).
    pub lowest_va: u64,
    /// The highest virtual address translated in it (0 if none).
    pub highest_va: u64,
}

impl Default for SegmentStats {
    fn default() -> Self {
        Self {
            valid: 0,
            faults: 0,
            lowest_va: u64::MAX,
            highest_va: 0,
        }
    }
}

impl SegmentStats {
    /// References whose address selects this segment.
    pub fn references(&self) -> u64 {
        self.valid + self.faults
    }

    /// `(lowest, highest)` translated address, if any translated.
    pub fn touched(&self) -> Option<(u64, u64)> {
        (self.valid > 0).then_some((self.lowest_va, self.highest_va))
    }
}

/// Everything counted over a trace.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Stats {
    /// References, by access kind (order of [`ACCESSES`]).
    pub by_access: [u64; 3],
    /// References that translated.
    pub valid: u64,
    /// Faults, by reason (order of [`FAULT_KINDS`]).
    pub faults: [u64; FAULT_KINDS.len()],
    /// The lowest virtual address translated (`u64::MAX` if none).
    /// Under segmentation, complete only after [`Stats::settle`].
    pub lowest_va: u64,
    /// The highest virtual address translated (0 if none). Under
    /// segmentation, complete only after [`Stats::settle`].
    pub highest_va: u64,
    /// Per segment (segmentation only; empty for the other mechanisms).
    pub segments: Vec<SegmentStats>,
}

impl Stats {
    /// Zero counters, with `segments` per-segment entries.
    pub fn new(segments: usize) -> Self {
        Self {
            by_access: [0; 3],
            valid: 0,
            faults: [0; FAULT_KINDS.len()],
            lowest_va: u64::MAX,
            highest_va: 0,
            segments: vec![SegmentStats::default(); segments],
        }
    }

    /// Completes the lowest and highest translated address from the
    /// per-segment ones (the batch loop keeps only those under
    /// segmentation). Call after the last batch; calling again changes
    /// nothing.
    pub fn settle(&mut self) {
        for seg in &self.segments {
            self.lowest_va = self.lowest_va.min(seg.lowest_va);
            self.highest_va = self.highest_va.max(seg.highest_va);
        }
    }

    /// Adds the counters of `other`, counted over another part of the same
    /// trace with the same mechanism: sums, and the lower and higher of the
    /// touched addresses.
    pub fn merge(&mut self, other: &Stats) {
        for (a, b) in self.by_access.iter_mut().zip(&other.by_access) {
            *a += b;
        }
        self.valid += other.valid;
        for (a, b) in self.faults.iter_mut().zip(&other.faults) {
            *a += b;
        }
        self.lowest_va = self.lowest_va.min(other.lowest_va);
        self.highest_va = self.highest_va.max(other.highest_va);
        for (a, b) in self.segments.iter_mut().zip(&other.segments) {
            a.valid += b.valid;
            a.faults += b.faults;
            a.lowest_va = a.lowest_va.min(b.lowest_va);
            a.highest_va = a.highest_va.max(b.highest_va);
        }
    }

    /// All references.
    pub fn references(&self) -> u64 {
        self.by_access.iter().sum()
    }

    /// All faulting references.
    pub fn faulted(&self) -> u64 {
        self.faults.iter().sum()
    }

    /// References of one access kind.
    pub fn of_access(&self, a: Access) -> u64 {
        self.by_access[access_index(a)]
    }

    /// Faults of one kind.
    pub fn of_fault(&self, k: FaultKind) -> u64 {
        self.faults[fault_index(k)]
    }

    /// `(lowest, highest)` translated address, if any translated.
    pub fn touched(&self) -> Option<(u64, u64)> {
        (self.valid > 0).then_some((self.lowest_va, self.highest_va))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_follow_the_listed_order() {
        for (i, k) in FAULT_KINDS.iter().enumerate() {
            assert_eq!(fault_index(*k), i);
        }
        for (i, a) in ACCESSES.iter().enumerate() {
            assert_eq!(access_index(*a), i);
        }
    }

    #[test]
    fn empty_stats_have_touched_nothing() {
        let s = Stats::new(2);
        assert_eq!(s.references(), 0);
        assert_eq!(s.touched(), None);
        assert_eq!(s.segments[1].touched(), None);
    }
}
