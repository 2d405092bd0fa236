//! `--layout auto`: a segment table fitted to the addresses a trace touches,
//! so that a real program's references (an x86-64 process under valgrind)
//! can be replayed under segmentation with sensible segments.
//!
//! The hardware selects a segment by the top bits of the address, so the
//! layout chooses *where to cut*: the touched addresses are grouped into
//! clusters (runs of touched 1 MiB chunks), and the offset width is the
//! largest that gives neighbouring clusters different segments while each
//! cluster stays inside one segment and the table has at most
//! `2^MAX_SEGMENT_BITS` entries (when that is impossible, the two
//! neighbours hardest to separate merge, and it tries again). Then each used
//! segment gets:
//!
//! - a name and permissions from what touched it: fetched -> `code` (X),
//!   fetched and written -> `code+data` (a program's text and its globals
//!   or heap can share a segment); the highest segment, if it is not code
//!   and there are others -> `stack` (grows down, like OSTEP's); anything
//!   else -> `data`; R and W as read and written;
//! - a size just covering what was touched (rounded up to 4 KiB), from
//!   offset 0 for a segment growing up, from the top for the stack;
//! - a place in physical memory: segments packed one after another.
//!
//! Memory is bounded by the trace's footprint (one entry per touched MiB),
//! never by its length.

use super::batch::Accesses;
use crate::mmu::{Access, ConfigError, Perms, Segment, Segmentation};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The largest table the layout builds: `2^16` segments (most unused).
pub const MAX_SEGMENT_BITS: u32 = 16;

/// The granularity of clusters: 1 MiB.
const CHUNK_BITS: u32 = 20;

/// The most distinct MiB a trace may touch before the layout gives up.
const MAX_CHUNKS: usize = 1 << 22;

/// Physical placement granularity.
const PAGE: u64 = 4096;

/// What was seen in one touched MiB.
#[derive(Clone, Copy, Debug)]
struct Chunk {
    lowest: u64,
    highest: u64,
    perms: Perms,
}

/// Collects the touched addresses of a trace (first pass).
#[derive(Default)]
pub struct LayoutScan {
    chunks: HashMap<u64, Chunk, BuildHasherDefault<ChunkHasher>>,
    /// The chunks touched most recently, kept out of the map: a program
    /// interleaves a few places (its code, stack, heap, data), so most
    /// references land in one of these.
    recent: [Option<(u64, Chunk)>; RECENT],
    /// The entry of `recent` the next new chunk replaces (round robin).
    next: usize,
    too_big: bool,
}

/// How many chunks [`LayoutScan`] keeps at hand.
const RECENT: usize = 4;

/// The map's hash of a chunk number: one multiplication (Fibonacci
/// hashing). Chunk numbers are not chosen by an adversary, and the
/// standard SipHash cost more than the rest of the scan together.
#[derive(Default)]
struct ChunkHasher(u64);

impl Hasher for ChunkHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }
}

impl LayoutScan {
    /// An empty scan.
    pub fn new() -> Self {
        Self::default()
    }

    /// Notes a batch of references.
    pub fn observe(&mut self, vas: &[u64], accesses: Accesses<'_>) {
        match accesses {
            Accesses::Uniform(a) => {
                for &va in vas {
                    self.touch(va, a);
                }
            }
            Accesses::Each(kinds) => {
                for (&va, &a) in vas.iter().zip(kinds) {
                    self.touch(va, a);
                }
            }
            Accesses::Sized(kinds, sizes) => {
                // The first and the last byte: the layout covers both.
                for ((&va, &a), &size) in vas.iter().zip(kinds).zip(sizes) {
                    self.touch(va, a);
                    if size > 1 {
                        self.touch(va.saturating_add(size - 1), a);
                    }
                }
            }
        }
    }

    #[inline(always)]
    fn touch(&mut self, va: u64, access: Access) {
        let key = va >> CHUNK_BITS;
        let perm = access.required();
        for (k, c) in self.recent.iter_mut().flatten() {
            if *k == key {
                c.lowest = c.lowest.min(va);
                c.highest = c.highest.max(va);
                c.perms |= perm;
                return;
            }
        }
        let chunk = Chunk {
            lowest: va,
            highest: va,
            perms: perm,
        };
        let evicted = self.recent[self.next].replace((key, chunk));
        self.next = (self.next + 1) % RECENT;
        if let Some((k, c)) = evicted {
            self.flush(k, c);
        }
    }

    /// Merges what was seen in chunk `k` into the map.
    fn flush(&mut self, k: u64, c: Chunk) {
        if self.chunks.len() >= MAX_CHUNKS && !self.chunks.contains_key(&k) {
            self.too_big = true;
            return;
        }
        let e = self.chunks.entry(k).or_insert(c);
        e.lowest = e.lowest.min(c.lowest);
        e.highest = e.highest.max(c.highest);
        e.perms |= c.perms;
    }

    /// Builds the segment table over `phys_size` bytes of physical memory
    /// (`None`: just enough for the packed segments).
    ///
    /// Fails when nothing was touched, when the footprint is too large to
    /// lay out, or when the segments do not fit `phys_size`.
    pub fn build(mut self, phys_size: Option<u64>) -> Result<Segmentation, String> {
        for (k, c) in std::mem::take(&mut self.recent).into_iter().flatten() {
            self.flush(k, c);
        }
        if self.too_big {
            return Err(format!(
                "--layout auto: the trace touches more than {} distinct MiB",
                MAX_CHUNKS
            ));
        }
        let mut chunks: Vec<(u64, Chunk)> = self.chunks.into_iter().collect();
        if chunks.is_empty() {
            return Err("--layout auto: the trace has no references to lay out".into());
        }
        chunks.sort_unstable_by_key(|(k, _)| *k);
        let top = chunks.last().expect("not empty").1.highest;
        let va_bits = (64 - top.leading_zeros()).max(1);

        // Clusters: runs of adjacent touched MiB, as (lowest, highest).
        let mut clusters: Vec<(u64, u64)> = Vec::new();
        let mut last_key = None;
        for (k, c) in &chunks {
            match clusters.last_mut() {
                Some(cl) if last_key == Some(k - 1) => cl.1 = c.highest,
                _ => clusters.push((c.lowest, c.highest)),
            }
            last_key = Some(*k);
        }
        let offset_bits = offset_bits(&clusters, va_bits);
        let segment_bits = va_bits - offset_bits;
        let count = 1usize << segment_bits;
        let max = 1u128 << offset_bits;

        // What touched each segment.
        let mut used: Vec<(usize, Chunk)> = Vec::new();
        for (_, c) in &chunks {
            let s = c.lowest.checked_shr(offset_bits).unwrap_or(0) as usize;
            match used.last_mut() {
                Some((ls, u)) if *ls == s => {
                    u.highest = u.highest.max(c.highest);
                    u.perms |= c.perms;
                }
                _ => used.push((s, *c)),
            }
        }
        let offset_mask = (max - 1) as u64;
        let stack = used.len() >= 2 && !used.last().expect("used").1.perms.contains(Perms::X);

        // Size, permissions and a packed physical place for each.
        let mut table = vec![Segment::up(0, 0, Perms::empty()); count];
        let mut cursor: u64 = 0;
        let n_used = used.len();
        for (i, (s, c)) in used.into_iter().enumerate() {
            // Sizes round up to whole pages, but never past the segment's
            // range, and must fit a 64-bit register (only a segment spanning
            // all 2^64 addresses could need 2^64 bytes).
            let round = |v: u128| -> Result<u64, String> {
                let size = (v.div_ceil(PAGE as u128) * PAGE as u128).min(max);
                u64::try_from(size).map_err(|_| {
                    format!(
                        "--layout auto: the trace touches {:#x}, in the last page of the 64-bit space: no segment size reaches it",
                        c.highest
                    )
                })
            };
            let too_big = || "--layout auto: physical addresses pass 2^64".to_string();
            let seg = if stack && i == n_used - 1 {
                let size = round(max - (c.lowest & offset_mask) as u128)?;
                cursor = cursor.checked_add(size).ok_or_else(too_big)?;
                Segment::down(cursor, size, c.perms).named("stack")
            } else {
                let size = round((c.highest & offset_mask) as u128 + 1)?;
                let base = cursor;
                cursor = cursor.checked_add(size).ok_or_else(too_big)?;
                let name = if c.perms.contains(Perms::X | Perms::W) {
                    "code+data"
                } else if c.perms.contains(Perms::X) {
                    "code"
                } else {
                    "data"
                };
                Segment::up(base, size, c.perms).named(name)
            };
            table[s] = seg;
        }
        let phys_size = match phys_size {
            Some(p) if p < cursor => {
                return Err(format!(
                    "--layout auto: the segments need {cursor:#x} bytes of physical memory, more than --phys-mem {p:#x}"
                ));
            }
            Some(p) => p,
            None => cursor,
        };
        Segmentation::new(va_bits, table, phys_size)
            .map_err(|e: ConfigError| format!("--layout auto: {e}"))
    }
}

/// The offset width: the largest that separates neighbouring clusters
/// (sorted, disjoint `(lowest, highest)`), provided each cluster fits in one
/// segment and the table has at most `2^MAX_SEGMENT_BITS` entries; otherwise
/// the two neighbours that are hardest to separate (lowest cut bit, then
/// smallest gap, then leftmost) merge, and it tries again.
///
/// Merging two neighbours leaves every other boundary's cut and gap as they
/// were (the merged cluster keeps the left one's lowest and the right one's
/// highest address), so the boundaries merge in the order of one sort, and
/// the smallest remaining cut is the next one in that order: O(n log n) in
/// the number of clusters, whatever the addresses. The widest cluster only
/// grows, so it is a running maximum over the merges.
fn offset_bits(clusters: &[(u64, u64)], va_bits: u32) -> u32 {
    let width = |lo: u64, hi: u64| 64 - (lo ^ hi).leading_zeros();
    // Boundary i lies between clusters i and i + 1: (cut bit, gap, i).
    let mut boundaries: Vec<(u32, u64, usize)> = clusters
        .windows(2)
        .enumerate()
        .map(|(i, w)| (63 - (w[0].1 ^ w[1].0).leading_zeros(), w[1].0 - w[0].1, i))
        .collect();
    boundaries.sort_unstable();
    let mut widest = clusters
        .iter()
        .map(|&(lo, hi)| width(lo, hi))
        .max()
        .unwrap_or(0);
    // Merged clusters, as a union-find over the original ones: each root
    // is the leftmost cluster of its group and keeps the group's extent.
    let mut parent: Vec<usize> = (0..clusters.len()).collect();
    let mut extent: Vec<(u64, u64)> = clusters.to_vec();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for &(cut, _, i) in &boundaries {
        let cut = cut.min(va_bits);
        if cut >= widest && va_bits - cut <= MAX_SEGMENT_BITS {
            return cut;
        }
        // Merge the two groups either side of boundary i.
        let (left, right) = (root(&mut parent, i), root(&mut parent, i + 1));
        parent[right] = left;
        extent[left].1 = extent[right].1;
        widest = widest.max(width(extent[left].0, extent[left].1));
    }
    // One cluster left (or none to separate): the whole space's width.
    va_bits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VirtAddr;
    use crate::mmu::Mmu;

    /// A valgrind-like x86-64 layout: program, loader, libc, heap, stack.
    fn scan(refs: &[(u64, Access)]) -> Segmentation {
        let mut s = LayoutScan::new();
        for &(va, a) in refs {
            s.observe(&[va], Accesses::Uniform(a));
        }
        s.build(None).unwrap()
    }

    #[test]
    fn a_process_layout_gets_code_data_and_a_stack_growing_down() {
        let refs = [
            (0x109060, Access::Fetch),
            (0x10c010, Access::Write),
            (0x401ab70, Access::Fetch),
            (0x4a4e0a8, Access::Read),
            (0x4a4e0a8, Access::Write),
            (0x1fff000778, Access::Write),
            (0x1ffeffe000, Access::Read),
        ];
        let m = scan(&refs);
        assert_eq!(m.va_bits(), 37);
        for &(va, a) in &refs {
            assert!(
                m.translate(crate::memory::PhysicalMemory::empty(), VirtAddr::new(va), a)
                    .is_ok(),
                "{va:#x} {a:?}"
            );
        }
        let used: Vec<&Segment> = m.segments().iter().filter(|s| s.size > 0).collect();
        // The stack straddles a 2^24 boundary, so segments are 2^26 bytes:
        // the program, then loader + libc + heap, then the stack.
        assert_eq!(m.offset_bits(), 26);
        assert_eq!(used.len(), 3);
        assert_eq!(used[0].name.as_deref(), Some("code+data"));
        assert_eq!(used[0].perms, Perms::X | Perms::W);
        assert_eq!(used[1].perms, Perms::all());
        let stack = used[2];
        assert!(stack.grows_down);
        assert_eq!(stack.name.as_deref(), Some("stack"));
        // Fetching from the stack or reading the program's code is refused
        // (this trace never did either).
        assert!(
            m.translate(
                crate::memory::PhysicalMemory::empty(),
                VirtAddr::new(0x1fff000778),
                Access::Fetch
            )
            .is_err()
        );
        assert!(
            m.translate(
                crate::memory::PhysicalMemory::empty(),
                VirtAddr::new(0x109060),
                Access::Read
            )
            .is_err()
        );
        // Below what the stack touched: outside its segment.
        assert!(
            m.translate(
                crate::memory::PhysicalMemory::empty(),
                VirtAddr::new(0x1ffe000000),
                Access::Read
            )
            .is_err()
        );
    }

    #[test]
    fn data_apart_from_code_gets_its_own_data_segment() {
        let m = scan(&[(0x1000, Access::Fetch), (0x4000_0000, Access::Write)]);
        let used: Vec<&Segment> = m.segments().iter().filter(|s| s.size > 0).collect();
        assert_eq!(used.len(), 2);
        assert_eq!(used[0].name.as_deref(), Some("code"));
        // The highest segment, not code: a stack growing down.
        assert_eq!(used[1].name.as_deref(), Some("stack"));
        assert!(used[1].grows_down);
    }

    #[test]
    fn far_apart_clusters_are_merged_to_keep_the_table_small() {
        // 64 clusters 2 MiB apart and one at 2^40: 2^20 segments of 2 MiB
        // would separate them all; the table is capped, so some merge.
        let mut refs: Vec<(u64, Access)> = (0..64u64).map(|i| (i << 21, Access::Read)).collect();
        refs.push((1 << 40, Access::Write));
        let m = scan(&refs);
        assert!(m.segment_bits() <= MAX_SEGMENT_BITS);
        for &(va, a) in &refs {
            assert!(
                m.translate(crate::memory::PhysicalMemory::empty(), VirtAddr::new(va), a)
                    .is_ok()
            );
        }
    }

    proptest::proptest! {
        /// Whatever a trace touches, the fitted table translates all of it
        /// with the access it was made with.
        #[test]
        fn the_auto_layout_fits_every_reference_it_saw(
            refs in proptest::collection::vec(
                (proptest::prelude::any::<u64>(), 0u8..3, 0u32..64),
                1..40,
            )
        ) {
            let refs: Vec<(u64, Access)> = refs
                .into_iter()
                .map(|(va, k, shift)| {
                    // (the last page of the 64-bit space cannot be laid out)
                    ((va >> shift).min(u64::MAX - PAGE), [Access::Fetch, Access::Read, Access::Write][k as usize])
                })
                .collect();
            let m = scan(&refs);
            proptest::prop_assert!(m.segment_bits() <= MAX_SEGMENT_BITS);
            for &(va, a) in &refs {
                proptest::prop_assert!(
                    m.translate(crate::memory::PhysicalMemory::empty(), VirtAddr::new(va), a).is_ok(),
                    "{:#x} {:?} in {:?}", va, a, m
                );
            }
        }
    }

    /// The definition [`offset_bits`] must agree with: merge the hardest
    /// pair, recompute everything, try again (quadratic).
    fn offset_bits_by_definition(clusters: &[(u64, u64)], va_bits: u32) -> u32 {
        let mut clusters = clusters.to_vec();
        loop {
            let cuts: Vec<u32> = clusters
                .windows(2)
                .map(|w| 63 - (w[0].1 ^ w[1].0).leading_zeros())
                .collect();
            let cut = cuts.iter().copied().min().unwrap_or(va_bits).min(va_bits);
            let widest = clusters
                .iter()
                .map(|(lo, hi)| 64 - (lo ^ hi).leading_zeros())
                .max()
                .unwrap_or(0);
            if cuts.is_empty() || (cut >= widest && va_bits - cut <= MAX_SEGMENT_BITS) {
                return cut;
            }
            let hardest = (0..cuts.len())
                .min_by_key(|&i| (cuts[i], clusters[i + 1].0 - clusters[i].1))
                .unwrap();
            clusters[hardest].1 = clusters[hardest + 1].1;
            clusters.remove(hardest + 1);
        }
    }

    proptest::proptest! {
        /// The sorted merge gives the same offset width as the definition,
        /// on clusters spread anywhere in the space.
        #[test]
        fn offset_bits_agree_with_the_quadratic_definition(
            points in proptest::collection::vec(
                (proptest::prelude::any::<u64>(), 0u32..64, 0u64..(1 << 22)),
                1..200,
            )
        ) {
            // Disjoint sorted clusters (lowest, highest), gaps of at least 2.
            let mut starts: Vec<(u64, u64)> = points
                .iter()
                .map(|&(p, shift, len)| {
                    let lo = (p >> shift) & !1;
                    (lo, lo.saturating_add(len))
                })
                .collect();
            starts.sort_unstable();
            let mut clusters: Vec<(u64, u64)> = Vec::new();
            for (lo, hi) in starts {
                match clusters.last() {
                    Some(&(_, h)) if lo <= h.saturating_add(1) => {}
                    _ => clusters.push((lo, hi)),
                }
            }
            let top = clusters.last().unwrap().1;
            let va_bits = (64 - top.leading_zeros()).max(1);
            proptest::prop_assert_eq!(
                offset_bits(&clusters, va_bits),
                offset_bits_by_definition(&clusters, va_bits)
            );
        }
    }

    #[test]
    fn a_single_high_address_gets_one_segment_and_the_last_page_is_refused() {
        let m = scan(&[(1 << 63, Access::Write)]);
        assert_eq!((m.va_bits(), m.segment_bits()), (64, 0));
        assert!(
            m.translate(
                crate::memory::PhysicalMemory::empty(),
                VirtAddr::new(1 << 63),
                Access::Write
            )
            .is_ok()
        );
        let mut s = LayoutScan::new();
        s.observe(&[u64::MAX], Accesses::Uniform(Access::Read));
        assert!(s.build(None).unwrap_err().contains("last page"));
    }

    #[test]
    fn an_empty_trace_or_small_memory_is_refused() {
        assert!(LayoutScan::new().build(None).is_err());
        let mut s = LayoutScan::new();
        s.observe(&[0x100000], Accesses::Uniform(Access::Read));
        assert!(s.build(Some(4096)).unwrap_err().contains("--phys-mem"));
    }
}
