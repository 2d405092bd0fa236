//! Batch translation: one tight loop over a decoded chunk of references.
//!
//! The loop is generic over the mechanism ([`Mechanism`]), so the compiler
//! makes one copy per mechanism with the MMU's own `translate` (the very
//! walk that `vmlab translate` narrates, with step recording compiled away)
//! inlined into it: no dynamic dispatch and no allocation per address. The
//! run-time choice of mechanism is made once per trace, not per reference.

use super::stats::{LANES, SegmentStats, Stats, access_index, fault_index};
use crate::addr::VirtAddr;
use crate::mmu::{Access, Base, BaseBounds, Identity, Mmu, Segmentation};

/// The access kinds of a batch: one for all (a trace without kinds), or one
/// per reference.
#[derive(Clone, Copy, Debug)]
pub enum Accesses<'a> {
    /// Every reference has this kind.
    Uniform(Access),
    /// Reference `i` has kind `[i]` (same length as the addresses).
    Each(&'a [Access]),
}

/// A mechanism the trace engine can replay: an [`Mmu`] that also says which
/// segment an address selects, for the per-segment counters.
pub trait Mechanism: Mmu {
    /// How many segments it has (0: the mechanism has no segments).
    fn segment_count(&self) -> usize;

    /// The segment `va` selects and the offset in it, or `None` (no
    /// segments, or an address too wide to split).
    fn segment_and_offset(&self, va: u64) -> Option<(u32, u64)>;

    /// The segment `va` selects, or `None` (no segments, or too wide).
    #[inline(always)]
    fn segment_of(&self, va: u64) -> Option<usize> {
        self.segment_and_offset(va).map(|(s, _)| s as usize)
    }
}

impl Mechanism for Identity {
    fn segment_count(&self) -> usize {
        0
    }
    #[inline(always)]
    fn segment_and_offset(&self, _va: u64) -> Option<(u32, u64)> {
        None
    }
}

impl Mechanism for crate::mmu::LinearPageTable {
    fn segment_count(&self) -> usize {
        0
    }
    #[inline(always)]
    fn segment_and_offset(&self, _va: u64) -> Option<(u32, u64)> {
        None
    }
}

impl Mechanism for Base {
    fn segment_count(&self) -> usize {
        0
    }
    #[inline(always)]
    fn segment_and_offset(&self, _va: u64) -> Option<(u32, u64)> {
        None
    }
}

impl Mechanism for BaseBounds {
    fn segment_count(&self) -> usize {
        0
    }
    #[inline(always)]
    fn segment_and_offset(&self, _va: u64) -> Option<(u32, u64)> {
        None
    }
}

impl Mechanism for Segmentation {
    fn segment_count(&self) -> usize {
        self.segments().len()
    }
    #[inline(always)]
    fn segment_and_offset(&self, va: u64) -> Option<(u32, u64)> {
        self.split(VirtAddr::new(va))
    }
}

/// Where the physical addresses of translated references go (`--out`).
#[derive(Default, Debug)]
pub struct Translated {
    /// Physical addresses of the references that translated, in order.
    pub pas: Vec<u64>,
    /// Their access kinds.
    pub accesses: Vec<Access>,
}

impl Translated {
    /// Room for `n` references, so a batch never reallocates.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            pas: Vec::with_capacity(n),
            accesses: Vec::with_capacity(n),
        }
    }
}

/// Translates every reference of `vas` with `mmu`, adding to `stats`; when
/// `KEEP` is true, appends the physical address and access of each reference
/// that translated to `out` (which the caller clears between batches).
///
/// `stats` must have been made with `mmu.segment_count()` segments; call
/// [`Stats::settle`] after the last batch. For
/// [`Accesses::Each`] the slice must be as long as `vas` (checked).
pub fn translate_batch<M: Mechanism, const KEEP: bool>(
    mmu: &M,
    vas: &[u64],
    accesses: Accesses<'_>,
    stats: &mut Stats,
    out: &mut Translated,
) {
    let mut acc = Counters {
        lanes: [[0u64; VALID + 1]; LANES],
        lowest: stats.lowest_va,
        highest: stats.highest_va,
        segments: &mut stats.segments[..],
    };
    let mut by_access = stats.by_access;
    match accesses {
        Accesses::Uniform(access) => {
            by_access[access_index(access)] += vas.len() as u64;
            let quads = vas.chunks_exact(LANES);
            for &va in quads.remainder() {
                acc.step::<M, KEEP>(mmu, 0, va, access, out);
            }
            for q in quads {
                acc.step::<M, KEEP>(mmu, 0, q[0], access, out);
                acc.step::<M, KEEP>(mmu, 1, q[1], access, out);
                acc.step::<M, KEEP>(mmu, 2, q[2], access, out);
                acc.step::<M, KEEP>(mmu, 3, q[3], access, out);
            }
        }
        Accesses::Each(kinds) => {
            assert_eq!(kinds.len(), vas.len(), "one access kind per address");
            let tail = vas.len() / LANES * LANES;
            for (&va, &access) in vas[tail..].iter().zip(&kinds[tail..]) {
                acc.step::<M, KEEP>(mmu, 0, va, access, out);
            }
            let quads = vas.chunks_exact(LANES).zip(kinds.chunks_exact(LANES));
            for (q, k) in quads {
                acc.step::<M, KEEP>(mmu, 0, q[0], k[0], out);
                acc.step::<M, KEEP>(mmu, 1, q[1], k[1], out);
                acc.step::<M, KEEP>(mmu, 2, q[2], k[2], out);
                acc.step::<M, KEEP>(mmu, 3, q[3], k[3], out);
            }
            for &access in kinds {
                by_access[access_index(access)] += 1;
            }
        }
    }
    let Counters {
        lanes,
        lowest,
        highest,
        ..
    } = acc;
    stats.by_access = by_access;
    stats.lowest_va = lowest;
    stats.highest_va = highest;
    for lane in &lanes {
        for (total, n) in stats.faults.iter_mut().zip(lane) {
            *total += n;
        }
        stats.valid += lane[VALID];
    }
}

/// The counters of one batch, kept local (registers and L1) while it runs.
struct Counters<'s> {
    /// Outcomes: slot 0..8 a fault kind, slot 8 a valid reference. Four
    /// lanes, used in turn, so consecutive references never wait on the
    /// same counter.
    lanes: [[u64; VALID + 1]; LANES],
    lowest: u64,
    highest: u64,
    segments: &'s mut [SegmentStats],
}

impl Counters<'_> {
    /// One reference: translate with the real MMU, then count.
    #[inline(always)]
    fn step<M: Mechanism, const KEEP: bool>(
        &mut self,
        mmu: &M,
        lane: usize,
        va: u64,
        access: Access,
        out: &mut Translated,
    ) {
        let result = mmu.translate(VirtAddr::new(va), access);
        let segment = mmu.segment_of(va);
        match result {
            Ok(pa) => {
                self.lanes[lane][VALID] += 1;
                match segment {
                    // Segmented: the segment keeps the extremes (settled
                    // into the totals at the end).
                    Some(s) => {
                        let seg = &mut self.segments[s];
                        seg.valid += 1;
                        seg.lowest_va = seg.lowest_va.min(va);
                        seg.highest_va = seg.highest_va.max(va);
                    }
                    None => {
                        self.lowest = self.lowest.min(va);
                        self.highest = self.highest.max(va);
                    }
                }
                if KEEP {
                    out.pas.push(pa.as_u64());
                    out.accesses.push(access);
                }
            }
            Err(fault) => {
                self.lanes[lane][fault_index(fault.kind)] += 1;
                if let Some(s) = segment {
                    self.segments[s].faults += 1;
                }
            }
        }
    }
}

/// The counter slot of a valid reference (after the fault kinds).
const VALID: usize = super::stats::FAULT_KINDS.len();

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mmu::{Perms, Segment};

    #[test]
    fn e7_base_bounds_batch_counts_valid_and_bounds_faults() {
        let m = BaseBounds::new(1024, 1024, 16 * 1024).unwrap();
        let mut stats = Stats::new(0);
        let mut out = Translated::with_capacity(4);
        translate_batch::<_, true>(
            &m,
            &[100, 1000, 3072],
            Accesses::Uniform(Access::Read),
            &mut stats,
            &mut out,
        );
        assert_eq!(stats.valid, 2);
        assert_eq!(stats.of_fault(crate::FaultKind::Bounds), 1);
        assert_eq!(stats.touched(), Some((100, 1000)));
        assert_eq!(out.pas, vec![1124, 2024]);
    }

    #[test]
    fn e9_segments_count_their_own_references() {
        let m = Segmentation::new(
            14,
            vec![
                Segment::up(0x2000, 0x6ff, Perms::R),
                Segment::up(0x0000, 0x4ff, Perms::R | Perms::W),
                Segment::up(0x3000, 0xfff, Perms::R | Perms::W),
                Segment::up(0, 0, Perms::empty()),
            ],
            1 << 16,
        )
        .unwrap();
        let mut stats = Stats::new(4);
        let vas = [0x0240, 0x1108, 0x265c, 0x3002, 0x0240];
        let kinds = [
            Access::Read,
            Access::Read,
            Access::Write,
            Access::Read,
            Access::Write,
        ];
        translate_batch::<_, false>(
            &m,
            &vas,
            Accesses::Each(&kinds),
            &mut stats,
            &mut Translated::default(),
        );
        stats.settle();
        assert_eq!(stats.of_access(Access::Write), 2);
        assert_eq!(stats.valid, 3);
        assert_eq!(stats.of_fault(crate::FaultKind::Protection), 1);
        assert_eq!(stats.of_fault(crate::FaultKind::InvalidSegment), 1);
        assert_eq!(stats.segments[0].references(), 2);
        assert_eq!(stats.segments[0].valid, 1);
        assert_eq!(stats.segments[3].faults, 1);
        assert_eq!(stats.segments[2].touched(), Some((0x265c, 0x265c)));
    }
}
