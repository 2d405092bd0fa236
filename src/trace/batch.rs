//! Batch translation: one tight loop over a decoded chunk of references.
//!
//! Every loop is generic over the mechanism ([`Mechanism`]), so the
//! compiler makes one copy per mechanism: no dynamic dispatch and no
//! allocation per address; the run-time choice of mechanism is made once
//! per trace, not per reference. Three loops:
//!
//! - the generic one calls the MMU's own `translate` on every reference
//!   (for segmentation, its decoded table; for the others, the very walk
//!   that `vmlab translate` narrates, with step recording compiled away);
//! - base and bounds whose address space lies in memory take the window
//!   loop, and tables of up to 16 segments the segmented loop, over the
//!   MMU's decoded registers: neither branches on whether a reference
//!   faulted, so random faults cost no mispredictions.
//!
//! Property tests check the two fast loops against the generic one, and
//! `Mmu::translate` against the narrated walk.

use super::stats::{LANES, SegmentStats, Stats, access_index, fault_index};
use crate::addr::VirtAddr;
use crate::memory::PhysicalMemory;
use crate::mmu::{Access, Base, BaseBounds, Identity, Mmu, Segmentation};

/// The access kinds of a batch: one for all (a trace without kinds), or one
/// per reference; with sizes when the trace gives them (lackey).
#[derive(Clone, Copy, Debug)]
pub enum Accesses<'a> {
    /// Every reference has this kind (and touches one byte).
    Uniform(Access),
    /// Reference `i` has kind `[i]` (same length as the addresses) and
    /// touches one byte.
    Each(&'a [Access]),
    /// Reference `i` has kind `.0[i]` and touches the `.1[i]` bytes from its
    /// address (both as long as the addresses; size 0 counts as 1). Every
    /// byte is checked, through [`Mmu::translate_span`].
    Sized(&'a [Access], &'a [u64]),
}

impl Accesses<'_> {
    /// The kind of reference `i`.
    #[inline(always)]
    pub fn kind(&self, i: usize) -> Access {
        match self {
            Accesses::Uniform(a) => *a,
            Accesses::Each(k) | Accesses::Sized(k, _) => k[i],
        }
    }

    /// The bytes reference `i` touches (1 unless sized).
    #[inline(always)]
    pub fn size(&self, i: usize) -> u64 {
        match self {
            Accesses::Sized(_, sizes) => sizes[i],
            _ => 1,
        }
    }
}

/// A mechanism the trace engine can replay: an [`Mmu`] that also says which
/// segment an address selects, for the per-segment counters.
pub trait Mechanism: Mmu {
    /// How many segments it has (0, the default: no segments).
    fn segment_count(&self) -> usize {
        0
    }

    /// The segment `va` selects and the offset in it, or `None` (no
    /// segments, the default, or an address too wide to split).
    #[inline(always)]
    fn segment_and_offset(&self, va: u64) -> Option<(u32, u64)> {
        let _ = va;
        None
    }

    /// The segment `va` selects, or `None` (no segments, or too wide).
    #[inline(always)]
    fn segment_of(&self, va: u64) -> Option<usize> {
        self.segment_and_offset(va).map(|(s, _)| s as usize)
    }

    /// Translates and counts one batch ([`translate_batch`]'s contract).
    /// The default runs `Mmu::translate` on every reference; a mechanism
    /// with a faster loop over its own registers overrides it.
    #[inline(always)]
    fn count_batch<const KEEP: bool>(
        &self,
        vas: &[u64],
        accesses: Accesses<'_>,
        stats: &mut Stats,
        out: &mut Translated,
    ) where
        Self: Sized,
    {
        generic_batch::<Self, KEEP>(self, vas, accesses, stats, out);
    }
}

impl Mechanism for Identity {}

impl Mechanism for crate::mmu::LinearPageTable {}

impl Mechanism for crate::mmu::Sv39 {}

impl Mechanism for crate::mmu::MultiLevel {}

impl Mechanism for Base {}

impl Mechanism for BaseBounds {
    /// When the whole address space lies in memory (always, unless a
    /// kernel loaded registers reaching past it), the bounds check is the
    /// whole translation: the window loop.
    #[inline(always)]
    fn count_batch<const KEEP: bool>(
        &self,
        vas: &[u64],
        accesses: Accesses<'_>,
        stats: &mut Stats,
        out: &mut Translated,
    ) {
        let fits = self
            .base()
            .checked_add(self.bounds())
            .is_some_and(|end| end <= self.phys_size());
        match (fits, accesses) {
            (true, Accesses::Sized(kinds, sizes)) => window_sized_batch::<KEEP>(
                self.base(),
                self.bounds(),
                vas,
                kinds,
                sizes,
                stats,
                out,
            ),
            (true, _) => {
                window_batch::<KEEP>(self.base(), self.bounds(), vas, accesses, stats, out)
            }
            (false, _) => generic_batch::<Self, KEEP>(self, vas, accesses, stats, out),
        }
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

    /// Small tables of exactly decoded segments (every table `vmlab trace`
    /// builds from flags, a layout or a scenario) take the segmented loop;
    /// anything else the generic one.
    #[inline(always)]
    fn count_batch<const KEEP: bool>(
        &self,
        vas: &[u64],
        accesses: Accesses<'_>,
        stats: &mut Stats,
        out: &mut Translated,
    ) {
        // Sized references: every byte, through translate_span.
        let table = match accesses {
            Accesses::Sized(..) => None,
            _ => Comparators::of(self),
        };
        match table {
            Some(table) => segmented_batch::<KEEP>(&table, vas, accesses, stats, out),
            None => generic_batch::<Self, KEEP>(self, vas, accesses, stats, out),
        }
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
    mmu.count_batch::<KEEP>(vas, accesses, stats, out);
}

/// [`translate_batch`] for any mechanism: `Mmu::translate` on every
/// reference, then the counters.
fn generic_batch<M: Mechanism, const KEEP: bool>(
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
            // Whole quads, then the rest: in trace order, for `--out`.
            let quads = vas.chunks_exact(LANES);
            let rest = quads.remainder();
            for q in quads {
                acc.step::<M, KEEP>(mmu, 0, q[0], access, out);
                acc.step::<M, KEEP>(mmu, 1, q[1], access, out);
                acc.step::<M, KEEP>(mmu, 2, q[2], access, out);
                acc.step::<M, KEEP>(mmu, 3, q[3], access, out);
            }
            for &va in rest {
                acc.step::<M, KEEP>(mmu, 0, va, access, out);
            }
        }
        Accesses::Each(kinds) => {
            assert_eq!(kinds.len(), vas.len(), "one access kind per address");
            let tail = vas.len() / LANES * LANES;
            let quads = vas.chunks_exact(LANES).zip(kinds.chunks_exact(LANES));
            for (q, k) in quads {
                acc.step::<M, KEEP>(mmu, 0, q[0], k[0], out);
                acc.step::<M, KEEP>(mmu, 1, q[1], k[1], out);
                acc.step::<M, KEEP>(mmu, 2, q[2], k[2], out);
                acc.step::<M, KEEP>(mmu, 3, q[3], k[3], out);
            }
            for (&va, &access) in vas[tail..].iter().zip(&kinds[tail..]) {
                acc.step::<M, KEEP>(mmu, 0, va, access, out);
            }
            for &access in kinds {
                by_access[access_index(access)] += 1;
            }
        }
        Accesses::Sized(kinds, sizes) => {
            assert_eq!(kinds.len(), vas.len(), "one access kind per address");
            assert_eq!(sizes.len(), vas.len(), "one size per address");
            for ((&va, &access), &size) in vas.iter().zip(kinds).zip(sizes) {
                acc.step_span::<M, KEEP>(mmu, 0, va, size, access, out);
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
        let result = mmu.translate(PhysicalMemory::empty(), VirtAddr::new(va), access);
        self.count::<M, KEEP>(mmu, lane, va, access, result, out);
    }

    /// One reference of `size` bytes: every byte checked with
    /// `Mmu::translate_span`, then counted at its first byte.
    #[inline(always)]
    fn step_span<M: Mechanism, const KEEP: bool>(
        &mut self,
        mmu: &M,
        lane: usize,
        va: u64,
        size: u64,
        access: Access,
        out: &mut Translated,
    ) {
        let result = mmu.translate_span(PhysicalMemory::empty(), VirtAddr::new(va), size, access);
        self.count::<M, KEEP>(mmu, lane, va, access, result, out);
    }

    /// Counts one reference's outcome.
    #[inline(always)]
    fn count<M: Mechanism, const KEEP: bool>(
        &mut self,
        mmu: &M,
        lane: usize,
        va: u64,
        access: Access,
        result: Result<crate::addr::PhysAddr, crate::fault::Fault>,
        out: &mut Translated,
    ) {
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

/// [`translate_batch`] for base and bounds whose address space lies in
/// memory: `va < bounds` is valid at `base + va`, anything else a bounds
/// fault. No branch depends on the outcome, so faults cost no more than
/// valid references:
/// - the valid count is a sum of compares;
/// - every faulting address is above every valid one, so the lowest valid
///   address is the lowest address of all (when any is valid);
/// - shifted down by `bounds` (wrapping), every valid address lands above
///   every faulting one, so the highest valid address is the highest
///   shifted address of all, shifted back.
///
/// Agrees with `BaseBounds::translate` on every reference (tested).
fn window_batch<const KEEP: bool>(
    base: u64,
    bounds: u64,
    vas: &[u64],
    accesses: Accesses<'_>,
    stats: &mut Stats,
    out: &mut Translated,
) {
    match accesses {
        Accesses::Uniform(access) => {
            stats.by_access[access_index(access)] += vas.len() as u64;
        }
        // Never sized: BaseBounds::count_batch sends those to the generic loop.
        Accesses::Each(kinds) | Accesses::Sized(kinds, _) => {
            debug_assert!(matches!(accesses, Accesses::Each(_)));
            assert_eq!(kinds.len(), vas.len(), "one access kind per address");
            for &a in kinds {
                stats.by_access[access_index(a)] += 1;
            }
        }
    }
    let WindowScan {
        valid,
        lowest,
        shifted,
    } = window_scan(vas, bounds);
    stats.valid += valid;
    stats.faults[fault_index(crate::FaultKind::Bounds)] += vas.len() as u64 - valid;
    if valid > 0 {
        let highest = shifted.wrapping_add(bounds);
        stats.lowest_va = stats.lowest_va.min(lowest);
        stats.highest_va = stats.highest_va.max(highest);
    }
    if KEEP {
        for (i, &va) in vas.iter().enumerate() {
            if va < bounds {
                out.pas.push(base + va); // base + bounds fits in memory
                out.accesses.push(accesses.kind(i));
            }
        }
    }
}

/// What the window loop learns from a run of addresses: how many lie
/// below the bounds, the lowest address of all, and the highest address
/// shifted down by the bounds (wrapping) — see [`window_batch`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct WindowScan {
    valid: u64,
    lowest: u64,
    shifted: u64,
}

/// The window loop's scan of `vas` against `bounds`, in the widest vector
/// instructions this CPU has: the release build targets baseline x86-64
/// (SSE2, which has no 64-bit compare, so the loop stays scalar there),
/// and this machine is asked once (std caches the answer) whether it has
/// AVX-512 (unsigned 64-bit min, max and compare in one instruction each)
/// or AVX2. Every copy is the same Rust loop ([`window_scan_plain`]), only
/// compiled for more instructions, so they cannot disagree (tested).
#[inline]
fn window_scan(vas: &[u64], bounds: u64) -> WindowScan {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
        {
            // SAFETY: the CPU has just said it runs AVX-512F and VL, all
            // that this copy was compiled to use.
            return unsafe { window_scan_avx512(vas, bounds) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has just said it runs AVX2.
            return unsafe { window_scan_avx2(vas, bounds) };
        }
    }
    window_scan_plain(vas, bounds)
}

/// [`window_scan_plain`] compiled for AVX-512 (F and VL).
///
/// # Safety
/// Only on a CPU with AVX-512F and AVX-512VL.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl")]
unsafe fn window_scan_avx512(vas: &[u64], bounds: u64) -> WindowScan {
    window_scan_plain(vas, bounds)
}

/// [`window_scan_plain`] compiled for AVX2.
///
/// # Safety
/// Only on a CPU with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn window_scan_avx2(vas: &[u64], bounds: u64) -> WindowScan {
    window_scan_plain(vas, bounds)
}

/// The window loop itself: one accumulator each, no branch, which the
/// compiler turns into vector reductions (one plain loop vectorises
/// better than hand-interleaved lanes, measured: 0.10 ns per reference
/// with AVX-512 against 0.36 for eight interleaved lanes).
#[inline(always)]
fn window_scan_plain(vas: &[u64], bounds: u64) -> WindowScan {
    let (mut valid, mut lowest, mut shifted) = (0u64, u64::MAX, 0u64);
    for &va in vas {
        valid += u64::from(va < bounds);
        lowest = lowest.min(va);
        shifted = shifted.max(va.wrapping_sub(bounds));
    }
    WindowScan {
        valid,
        lowest,
        shifted,
    }
}

/// [`translate_batch`] for sized references (lackey) under base and bounds
/// whose address space lies in memory: what `Mmu::translate_span` answers,
/// without calling it. The reference `[va, last]` (`last = va + size - 1`,
/// size 0 counted as 1) is valid when `va <= last < bounds`; otherwise it is
/// a bounds fault, or an overflow fault when `va` is inside the bounds but
/// `last` would pass 2^64 - 1 (translate_span checks the first byte, then
/// the overflow, then the last byte). Base and bounds is one piece, so the
/// two ends decide. Agrees with the generic loop, which calls
/// `translate_span`, on every reference (tested).
fn window_sized_batch<const KEEP: bool>(
    base: u64,
    bounds: u64,
    vas: &[u64],
    kinds: &[Access],
    sizes: &[u64],
    stats: &mut Stats,
    out: &mut Translated,
) {
    assert_eq!(kinds.len(), vas.len(), "one access kind per address");
    assert_eq!(sizes.len(), vas.len(), "one size per address");
    let (mut valid, mut overflow) = (0u64, 0u64);
    let (mut lowest, mut highest) = (u64::MAX, 0u64);
    for ((&va, &access), &size) in vas.iter().zip(kinds).zip(sizes) {
        stats.by_access[access_index(access)] += 1;
        let (last, wrapped) = va.overflowing_add(size.max(1) - 1);
        let ok = !wrapped && last < bounds;
        valid += u64::from(ok);
        overflow += u64::from(wrapped && va < bounds);
        if ok {
            lowest = lowest.min(va);
            highest = highest.max(va);
            if KEEP {
                out.pas.push(base + va); // base + bounds fits in memory
                out.accesses.push(access);
            }
        }
    }
    stats.valid += valid;
    stats.faults[fault_index(crate::FaultKind::Overflow)] += overflow;
    stats.faults[fault_index(crate::FaultKind::Bounds)] += vas.len() as u64 - valid - overflow;
    if valid > 0 {
        stats.lowest_va = stats.lowest_va.min(lowest);
        stats.highest_va = stats.highest_va.max(highest);
    }
}

/// The most segments the segmented loop keeps counters for on the stack;
/// larger tables take the generic loop.
const FAST_SEGMENTS: usize = 16;

/// Counter slots of a cell: the fault kinds, then valid, rounded up to a
/// power of two so a slot index needs no bounds check.
const SLOTS: usize = (VALID + 1).next_power_of_two();

/// One segment's comparator, for one access kind: the segmentation MMU's
/// decoded entry ([`crate::mmu::segmentation::Decoded`]) with the
/// permission check already answered, so a reference costs one range
/// compare and one select.
#[derive(Clone, Copy)]
struct Comparator {
    /// The lowest offset inside the bounds.
    lo: u64,
    /// How many offsets are inside the bounds.
    len: u64,
    /// Added to an offset inside the bounds: the physical address.
    delta: u64,
    /// The slot of an offset inside the bounds: valid, or a protection
    /// fault when the segment does not permit the access.
    hit: u8,
    /// The slot of an offset outside them (bounds, invalid segment, or an
    /// address too wide for the space).
    miss: u8,
    /// Which extremes the reference updates: the segment's own when the
    /// segment permits the access, else a pair of its own (whose
    /// references inside the bounds are all protection faults).
    ext: u8,
}

impl Comparator {
    /// The entry for a segment number past the table: an address wider
    /// than the address space.
    const TOO_WIDE: Self = Self {
        lo: 0,
        len: 0,
        delta: 0,
        hit: 0,
        miss: fault_index(crate::FaultKind::AddressWidth) as u8,
        ext: FAST_SEGMENTS as u8,
    };
}

/// The segmented loop's view of a segment table: a comparator per segment
/// and access kind, and how to split an address.
struct Comparators {
    /// `[access][segment]`; segment numbers from the table's size up to
    /// [`FAST_SEGMENTS`] are the too-wide entry.
    table: [[Comparator; FAST_SEGMENTS + 1]; 3],
    /// The offset width (1..=63).
    shift: u32,
    /// How many segments.
    count: usize,
}

impl Comparators {
    /// The comparators of `mmu`, or `None` when the segmented loop does not
    /// apply: more than [`FAST_SEGMENTS`] segments, an offset of 0 or 64
    /// bits, or a segment the MMU itself translates by walking.
    fn of(mmu: &Segmentation) -> Option<Self> {
        let decoded = mmu.decoded();
        let shift = mmu.offset_bits();
        if decoded.len() > FAST_SEGMENTS
            || !(1..64).contains(&shift)
            || decoded.iter().any(|d| !d.exact)
        {
            return None;
        }
        let mut table = [[Comparator::TOO_WIDE; FAST_SEGMENTS + 1]; 3];
        for access in super::stats::ACCESSES {
            let row = table[access_index(access)].iter_mut().zip(decoded);
            for (i, (slot, d)) in row.enumerate() {
                let permitted = d.perms.contains(access.required());
                *slot = Comparator {
                    lo: d.lo,
                    len: d.len,
                    delta: d.delta,
                    hit: if permitted {
                        VALID as u8
                    } else {
                        fault_index(crate::FaultKind::Protection) as u8
                    },
                    miss: fault_index(d.miss) as u8,
                    ext: if permitted { i } else { FAST_SEGMENTS + 1 + i } as u8,
                };
            }
        }
        Some(Self {
            table,
            shift,
            count: decoded.len(),
        })
    }
}

/// Extremes pairs per lane: one per segment that permits the access, one
/// per segment that does not, rounded up to a power of two.
const EXTREMES: usize = (2 * (FAST_SEGMENTS + 1)).next_power_of_two();

/// The counters of one lane of the segmented loop.
#[derive(Clone, Copy)]
struct Lane {
    /// Outcomes by segment number (too-wide addresses past the table's
    /// segments), then by slot (fault kinds, then valid).
    counts: [[u64; SLOTS]; FAST_SEGMENTS + 1],
    /// By [`Comparator::ext`]: `[lowest y, highest y - len]` where `y` is
    /// the offset minus the lowest one inside the bounds (wrapping): inside
    /// the bounds `y < len`, outside `y >= len`, so the lowest `y` of all is
    /// inside whenever any is, and shifted down by `len` (wrapping) every
    /// `y` inside lands above every `y` outside. Neither depends on whether
    /// a reference faulted: no branch on the outcome.
    extremes: [[u64; 2]; EXTREMES],
}

impl Lane {
    const EMPTY: Self = Self {
        counts: [[0; SLOTS]; FAST_SEGMENTS + 1],
        extremes: [[u64::MAX, 0]; EXTREMES],
    };
}

/// [`translate_batch`] for segmentation: split, one compare against the
/// segment's decoded bounds, and the counts of that segment, all without a
/// branch on the outcome (traces mix segments and faults unpredictably).
/// Agrees with `Segmentation::translate` on every reference (tested).
fn segmented_batch<const KEEP: bool>(
    cmp: &Comparators,
    vas: &[u64],
    accesses: Accesses<'_>,
    stats: &mut Stats,
    out: &mut Translated,
) {
    let shift = cmp.shift;
    let mask = (1u64 << shift) - 1;
    // The first entry of each segment (any access kind: they share bounds).
    let bounds = &cmp.table[0];
    // Each lane starts from the extremes so far, so that a new one (and
    // its store) stays rare across batches too.
    let mut seeded = Lane::EMPTY;
    for (s, seg) in stats.segments.iter().enumerate().take(cmp.count) {
        if let Some((lowest, highest)) = seg.touched() {
            let first = ((s as u64) << shift) + bounds[s].lo;
            seeded.extremes[s] = [
                lowest - first,
                (highest - first).wrapping_sub(bounds[s].len),
            ];
        }
    }
    let mut lanes = [seeded; LANES];
    #[inline(always)]
    fn step<const KEEP: bool>(
        table: &[Comparator; FAST_SEGMENTS + 1],
        lane: &mut Lane,
        shift: u32,
        mask: u64,
        va: u64,
        access: Access,
        out: &mut Translated,
    ) {
        // A segment number past the table means bits above the width.
        let s = ((va >> shift) as usize).min(FAST_SEGMENTS);
        let c = &table[s];
        let offset = va & mask;
        let y = offset.wrapping_sub(c.lo);
        let inside = y < c.len;
        let slot = usize::from(if inside { c.hit } else { c.miss });
        lane.counts[s][slot % SLOTS] += 1;
        // New extremes are rare after the first references: a compare and
        // a branch almost never taken beat selects and stores.
        let e = &mut lane.extremes[usize::from(c.ext) % EXTREMES];
        if y < e[0] {
            e[0] = y;
        }
        let above = y.wrapping_sub(c.len);
        if above > e[1] {
            e[1] = above;
        }
        if KEEP && slot == VALID {
            out.pas.push(c.delta.wrapping_add(offset));
            out.accesses.push(access);
        }
    }
    let [l0, l1, l2, l3] = &mut lanes;
    match accesses {
        Accesses::Uniform(access) => {
            stats.by_access[access_index(access)] += vas.len() as u64;
            let t = &cmp.table[access_index(access)];
            // Whole quads, then the rest: in trace order, for `--out`.
            let quads = vas.chunks_exact(LANES);
            let rest = quads.remainder();
            for q in quads {
                step::<KEEP>(t, l0, shift, mask, q[0], access, out);
                step::<KEEP>(t, l1, shift, mask, q[1], access, out);
                step::<KEEP>(t, l2, shift, mask, q[2], access, out);
                step::<KEEP>(t, l3, shift, mask, q[3], access, out);
            }
            for &va in rest {
                step::<KEEP>(t, l0, shift, mask, va, access, out);
            }
        }
        // Never sized: Segmentation::count_batch sends those to the
        // generic loop.
        Accesses::Each(kinds) | Accesses::Sized(kinds, _) => {
            debug_assert!(matches!(accesses, Accesses::Each(_)));
            assert_eq!(kinds.len(), vas.len(), "one access kind per address");
            let t = &cmp.table;
            let tail = vas.len() / LANES * LANES;
            let quads = vas.chunks_exact(LANES).zip(kinds.chunks_exact(LANES));
            for (q, k) in quads {
                step::<KEEP>(&t[access_index(k[0])], l0, shift, mask, q[0], k[0], out);
                step::<KEEP>(&t[access_index(k[1])], l1, shift, mask, q[1], k[1], out);
                step::<KEEP>(&t[access_index(k[2])], l2, shift, mask, q[2], k[2], out);
                step::<KEEP>(&t[access_index(k[3])], l3, shift, mask, q[3], k[3], out);
            }
            for (&va, &a) in vas[tail..].iter().zip(&kinds[tail..]) {
                step::<KEEP>(&t[access_index(a)], l0, shift, mask, va, a, out);
            }
            for &a in kinds {
                stats.by_access[access_index(a)] += 1;
            }
        }
    }
    for lane in &lanes {
        for (s, slots) in lane.counts.iter().enumerate() {
            for (total, n) in stats.faults.iter_mut().zip(slots) {
                *total += n;
            }
            stats.valid += slots[VALID];
            if s < cmp.count {
                let seg = &mut stats.segments[s];
                seg.valid += slots[VALID];
                seg.faults += slots[..VALID].iter().sum::<u64>();
            }
        }
    }
    // A segment's extremes hold a valid address once any reference in it
    // translated (so far, seeds included).
    for (s, seg) in stats.segments.iter_mut().enumerate().take(cmp.count) {
        if seg.valid == 0 {
            continue;
        }
        let first = ((s as u64) << shift) + bounds[s].lo;
        for lane in &lanes {
            let [low, above] = lane.extremes[s];
            if low < bounds[s].len {
                seg.lowest_va = seg.lowest_va.min(first + low);
                let high = above.wrapping_add(bounds[s].len);
                seg.highest_va = seg.highest_va.max(first + high);
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

    mod window_scan {
        use super::*;
        use proptest::prelude::*;

        /// The scan's definition, one reference at a time.
        fn by_definition(vas: &[u64], bounds: u64) -> WindowScan {
            WindowScan {
                valid: vas.iter().filter(|&&v| v < bounds).count() as u64,
                lowest: vas.iter().copied().min().unwrap_or(u64::MAX),
                shifted: vas
                    .iter()
                    .map(|v| v.wrapping_sub(bounds))
                    .max()
                    .unwrap_or(0),
            }
        }

        proptest! {
            /// Every compiled copy of the window scan this CPU can run
            /// (plain, AVX2, AVX-512) gives the definition's answer, on
            /// runs longer and shorter than a vector, with addresses at
            /// the bounds and at both ends of the 64-bit range.
            #[test]
            fn every_copy_of_the_window_scan_agrees_with_its_definition(
                bounds in prop_oneof![0u64..1 << 12, any::<u64>(), Just(u64::MAX), Just(0u64)],
                raw in proptest::collection::vec((any::<u64>(), 0u32..64, 0u8..6), 0..300),
            ) {
                let vas: Vec<u64> = raw
                    .iter()
                    .map(|&(v, shift, edge)| match edge {
                        0 => bounds.wrapping_sub(1),
                        1 => bounds,
                        2 => u64::MAX,
                        3 => 0,
                        _ => v >> shift,
                    })
                    .collect();
                let want = by_definition(&vas, bounds);
                prop_assert_eq!(window_scan(&vas, bounds), want);
                prop_assert_eq!(window_scan_plain(&vas, bounds), want);
                #[cfg(target_arch = "x86_64")]
                {
                    if std::arch::is_x86_feature_detected!("avx2") {
                        // SAFETY: the CPU runs AVX2.
                        prop_assert_eq!(unsafe { window_scan_avx2(&vas, bounds) }, want);
                    }
                    if std::arch::is_x86_feature_detected!("avx512f")
                        && std::arch::is_x86_feature_detected!("avx512vl")
                    {
                        // SAFETY: the CPU runs AVX-512F and VL.
                        prop_assert_eq!(unsafe { window_scan_avx512(&vas, bounds) }, want);
                    }
                }
            }
        }
    }

    mod segmented {
        use super::*;
        use crate::mmu::any_access;
        use proptest::prelude::*;

        /// A table `new` accepts: `2^bits` segments of random size,
        /// direction and permissions over `va_bits`-bit addresses.
        fn table() -> impl Strategy<Value = Segmentation> {
            (1u32..=5, 6u32..=40).prop_flat_map(|(bits, va_bits)| {
                let seg = (any::<u64>(), any::<u64>(), any::<bool>(), 0u8..8);
                proptest::collection::vec(seg, 1usize << bits).prop_map(move |raw| {
                    let max = 1u64 << (va_bits - bits);
                    let segs = raw
                        .into_iter()
                        .map(|(b, size, down, p)| {
                            let size = size % (max + 1);
                            let perms = Perms::from_bits_truncate(p);
                            let base = b % (1 << 44);
                            if down {
                                Segment::down(base + size, size, perms)
                            } else {
                                Segment::up(base, size, perms)
                            }
                        })
                        .collect();
                    Segmentation::new(va_bits, segs, 1 << 46).unwrap()
                })
            })
        }

        /// Runs `vas` in two batches (the second starts from the first's
        /// counts) through `translate_batch` and the generic loop, with
        /// uniform and per-reference kinds, and checks they agree.
        fn agree<M: Mechanism>(m: &M, vas: &[u64], kinds: &[Access]) -> Result<(), TestCaseError> {
            let half = vas.len() / 2;
            let uniform = Accesses::Uniform(Access::Write);
            // Sizes 0 to 16 (lackey's), the largest lackey size, and
            // sizes that pass 2^64 (from an address of at least 2).
            let sizes: Vec<u64> = vas
                .iter()
                .map(|&v| match v % 41 {
                    0 if v >= 2 => u64::MAX - v % 2,
                    1 => crate::trace::lackey::MAX_SIZE,
                    _ => v % 17,
                })
                .collect();
            let batches = [
                [(&vas[..half], uniform), (&vas[half..], uniform)],
                [
                    (&vas[..half], Accesses::Each(&kinds[..half])),
                    (&vas[half..], Accesses::Each(&kinds[half..])),
                ],
                [
                    (
                        &vas[..half],
                        Accesses::Sized(&kinds[..half], &sizes[..half]),
                    ),
                    (
                        &vas[half..],
                        Accesses::Sized(&kinds[half..], &sizes[half..]),
                    ),
                ],
            ];
            for two in batches {
                let n = m.segment_count();
                let (mut fast, mut slow) = (Stats::new(n), Stats::new(n));
                let (mut kf, mut ks) = (Translated::default(), Translated::default());
                for (vas, accesses) in two {
                    translate_batch::<_, true>(m, vas, accesses, &mut fast, &mut kf);
                    generic_batch::<_, true>(m, vas, accesses, &mut slow, &mut ks);
                }
                fast.settle();
                slow.settle();
                prop_assert_eq!(&fast, &slow);
                prop_assert_eq!(&kf.pas, &ks.pas);
                prop_assert_eq!(&kf.accesses, &ks.accesses);
            }
            Ok(())
        }

        proptest! {
            /// The window loop (base and bounds) agrees with the generic
            /// one, valid and faulting references mixed, registers loaded
            /// past memory (the generic loop then) included.
            #[test]
            fn window_loop_agrees_with_the_generic_one(
                base in prop_oneof![0u64..1 << 20, any::<u64>()],
                bounds in prop_oneof![0u64..1 << 12, any::<u64>()],
                phys in prop_oneof![Just(1u64 << 40), any::<u64>()],
                raw in proptest::collection::vec((any::<u64>(), 0u32..64, any_access()), 0..200),
            ) {
                let mut m = BaseBounds::new(0, 0, phys).unwrap();
                m.set(crate::mmu::Mode::Kernel, base, bounds).unwrap();
                let vas: Vec<u64> = raw.iter().map(|&(v, shift, _)| v >> shift).collect();
                let kinds: Vec<Access> = raw.iter().map(|r| r.2).collect();
                agree(&m, &vas, &kinds)?;
            }

            /// The segmented loop counts and keeps exactly what the generic
            /// loop (`Mmu::translate` per reference) does, for uniform and
            /// per-reference kinds, tables too large for it included.
            #[test]
            fn segmented_loop_agrees_with_the_generic_one(
                m in table(),
                raw in proptest::collection::vec((any::<u64>(), 0u32..64, any_access()), 0..200),
                edges in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..4, any_access()), 0..40),
            ) {
                // Random addresses, and addresses at both ends of a
                // segment's bounds (just inside and just outside).
                let mut vas: Vec<u64> = raw.iter().map(|&(v, shift, _)| v >> shift).collect();
                let mut kinds: Vec<Access> = raw.iter().map(|r| r.2).collect();
                let (d, bits) = (m.decoded(), m.offset_bits());
                for (i, e, access) in edges {
                    let s = i.index(d.len());
                    let end = d[s].lo.wrapping_add(d[s].len);
                    let off = [d[s].lo.wrapping_sub(1), d[s].lo, end.wrapping_sub(1), end][e];
                    vas.push(((s as u64) << bits) | (off & ((1u64 << bits) - 1)));
                    kinds.push(access);
                }
                agree(&m, &vas, &kinds)?;
            }
        }
    }
}
