//! Batch translation: one tight loop over a decoded chunk of references.
//!
//! The loop is generic over the mechanism ([`Mechanism`]), so the compiler
//! makes one copy per mechanism with the MMU's own `translate` (the very
//! walk that `vmlab translate` narrates, with step recording compiled away)
//! inlined into it: no dynamic dispatch and no allocation per address. The
//! run-time choice of mechanism is made once per trace, not per reference.

use super::stats::{Stats, access_index, fault_index};
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
/// `stats` must have been made with `mmu.segment_count()` segments. For
/// [`Accesses::Each`] the slice must be as long as `vas` (checked).
pub fn translate_batch<M: Mechanism, const KEEP: bool>(
    mmu: &M,
    vas: &[u64],
    accesses: Accesses<'_>,
    stats: &mut Stats,
    out: &mut Translated,
) {
    match accesses {
        Accesses::Uniform(access) => {
            stats.by_access[access_index(access)] += vas.len() as u64;
            for &va in vas {
                one::<M, KEEP>(mmu, va, access, stats, out);
            }
        }
        Accesses::Each(kinds) => {
            assert_eq!(kinds.len(), vas.len(), "one access kind per address");
            for (&va, &access) in vas.iter().zip(kinds) {
                stats.by_access[access_index(access)] += 1;
                one::<M, KEEP>(mmu, va, access, stats, out);
            }
        }
    }
}

/// One reference: translate with the real MMU, then count.
#[inline(always)]
fn one<M: Mechanism, const KEEP: bool>(
    mmu: &M,
    va: u64,
    access: Access,
    stats: &mut Stats,
    out: &mut Translated,
) {
    let result = mmu.translate(VirtAddr::new(va), access);
    let segment = mmu.segment_of(va);
    match result {
        Ok(pa) => {
            stats.valid += 1;
            stats.lowest_va = stats.lowest_va.min(va);
            stats.highest_va = stats.highest_va.max(va);
            if let Some(s) = segment {
                let seg = &mut stats.segments[s];
                seg.references += 1;
                seg.valid += 1;
                seg.lowest_va = seg.lowest_va.min(va);
                seg.highest_va = seg.highest_va.max(va);
            }
            if KEEP {
                out.pas.push(pa.as_u64());
                out.accesses.push(access);
            }
        }
        Err(fault) => {
            stats.faults[fault_index(fault.kind)] += 1;
            if let Some(s) = segment {
                stats.segments[s].references += 1;
            }
        }
    }
}

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
        assert_eq!(stats.of_access(Access::Write), 2);
        assert_eq!(stats.valid, 3);
        assert_eq!(stats.of_fault(crate::FaultKind::Protection), 1);
        assert_eq!(stats.of_fault(crate::FaultKind::InvalidSegment), 1);
        assert_eq!(stats.segments[0].references, 2);
        assert_eq!(stats.segments[0].valid, 1);
        assert_eq!(stats.segments[3].faults(), 1);
        assert_eq!(stats.segments[2].touched(), Some((0x265c, 0x265c)));
    }
}
