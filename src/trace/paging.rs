//! Demand paging over a trace: the virtual page number of every reference
//! (its address shifted right by the page size's bits) goes through the
//! kernel's replacement policies ([`Replacer`]) with a given number of
//! frames. A page not resident is a page fault; a write makes its page
//! dirty; an evicted dirty page is a write-back.
//!
//! Miss-ratio curves, for every frame count from 1 to N at once:
//!
//! - [`LruCurve`]: Mattson's stack distances in one pass. The distance of a
//!   reference is the number of distinct pages referenced since the last
//!   reference to its page (itself included); LRU with F frames hits
//!   exactly the references of distance <= F. The distinct pages between
//!   two times are counted by a Fenwick tree over last-use times, with one
//!   mark per page at its last use: O(log D) per reference. When the times
//!   outgrow the tree the live marks are renumbered in order, so the tree
//!   stays proportional to the distinct pages D, never to the trace.
//! - [`OptCurve`]: the OPT stack (Mattson et al. 1970): the stack's top F
//!   pages are what OPT keeps in F frames; a reference moves its page to
//!   the top, and going down, each position keeps whichever of its page
//!   and the one carried down is used sooner. One pass, O(min(D, N)) per
//!   reference, with next-use indices from a first pass (OPT needs the
//!   future: the trace is read twice and one next-use index is kept per
//!   reference, the only structure that grows with the trace).
//!
//! FIFO, CLOCK and random have no stack property: their curves come from
//! running one [`Replacer`] per frame count, all in the same pass.

use crate::kernel::replacement::{
    NEVER, NextUse, PageMap, Policy, ReplacementError, Replacer, SlotIndex, Stats,
};

/// The policy named on the command line (`--policy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyName {
    /// `fifo`.
    Fifo,
    /// `lru`.
    Lru,
    /// `clock`.
    Clock,
    /// `random` (seed 0).
    Random,
    /// `opt`.
    Opt,
}

impl std::str::FromStr for PolicyName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "fifo" => PolicyName::Fifo,
            "lru" => PolicyName::Lru,
            "clock" => PolicyName::Clock,
            "random" | "rand" => PolicyName::Random,
            "opt" | "min" => PolicyName::Opt,
            _ => {
                return Err(format!(
                    "unknown policy '{s}' (expected fifo, lru, clock, random or opt)"
                ));
            }
        })
    }
}

impl PolicyName {
    /// The name as vmlab spells it.
    pub fn name(self) -> &'static str {
        match self {
            PolicyName::Fifo => "fifo",
            PolicyName::Lru => "lru",
            PolicyName::Clock => "clock",
            PolicyName::Random => "random",
            PolicyName::Opt => "opt",
        }
    }

    /// Whether the policy needs the future (a first pass over the trace).
    pub fn needs_future(self) -> bool {
        self == PolicyName::Opt
    }

    /// The kernel policy (OPT with the trace's next-use indices).
    pub fn policy(self, future: Option<&NextUse>) -> Policy {
        match self {
            PolicyName::Fifo => Policy::Fifo,
            PolicyName::Lru => Policy::Lru,
            PolicyName::Clock => Policy::Clock,
            PolicyName::Random => Policy::Random { seed: 0 },
            PolicyName::Opt => Policy::Opt(future.cloned().unwrap_or_default()),
        }
    }
}

/// Demand paging of one trace with one policy at one or more frame counts.
#[derive(Clone, Debug)]
pub struct Demand {
    page_bits: u32,
    runs: Vec<Replacer>,
}

/// What [`Demand`] counted at one frame count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameCount {
    /// The number of frames.
    pub frames: u64,
    /// Hits, faults, evictions, write-backs.
    pub stats: Stats,
}

impl Demand {
    /// One replacer per frame count, all under `policy`.
    ///
    /// Fails for a frame count of 0 or beyond the replacer's limit.
    pub fn new(
        page_bits: u32,
        policy: PolicyName,
        frames: &[u64],
        future: Option<&NextUse>,
    ) -> Result<Demand, ReplacementError> {
        let runs = frames
            .iter()
            .map(|&f| Replacer::new(policy.policy(future), f))
            .collect::<Result<_, _>>()?;
        Ok(Demand { page_bits, runs })
    }

    /// References the pages of a batch of addresses; `writes(i)` says
    /// whether reference `i` is a store.
    #[inline]
    pub fn observe(&mut self, vas: &[u64], writes: impl Fn(usize) -> bool) {
        let bits = self.page_bits;
        for r in &mut self.runs {
            for (i, &va) in vas.iter().enumerate() {
                r.access(va >> bits, writes(i));
            }
        }
    }

    /// The counts, one per frame count, in the order given.
    pub fn results(&self) -> Vec<FrameCount> {
        self.runs
            .iter()
            .map(|r| FrameCount {
                frames: r.frames(),
                stats: r.stats(),
            })
            .collect()
    }
}

/// A miss-ratio curve: the faults at every frame count 1..=N.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Curve {
    /// References counted.
    pub references: u64,
    /// Distinct pages referenced.
    pub distinct: u64,
    /// `faults[f - 1]`: the faults with `f` frames.
    pub faults: Vec<u64>,
}

/// A Fenwick (binary indexed) tree of counts.
#[derive(Clone, Debug, Default)]
struct Fenwick {
    tree: Vec<u32>,
}

impl Fenwick {
    fn with_len(n: usize) -> Fenwick {
        Fenwick {
            tree: vec![0; n + 1],
        }
    }

    fn len(&self) -> usize {
        self.tree.len() - 1
    }

    /// Adds `d` at position `i` (0-based).
    #[inline]
    fn add(&mut self, i: usize, d: i32) {
        let mut i = i + 1;
        while i < self.tree.len() {
            self.tree[i] = self.tree[i].wrapping_add_signed(d);
            i += i & i.wrapping_neg();
        }
    }

    /// A tree of `n` positions whose first `k` hold 1 and the rest 0,
    /// built in O(n).
    fn ones(n: usize, k: usize) -> Fenwick {
        // tree[j] sums the 1-based positions (j - lowbit(j), j].
        let tree = (0..=n)
            .map(|j| {
                let low = j - (j & j.wrapping_neg());
                (j.min(k).saturating_sub(low)) as u32
            })
            .collect();
        Fenwick { tree }
    }

    /// The sum of positions `0..i`.
    #[inline]
    fn prefix(&self, i: usize) -> u32 {
        let mut i = i;
        let mut s = 0u32;
        while i > 0 {
            s = s.wrapping_add(self.tree[i]);
            i &= i - 1;
        }
        s
    }
}

/// The one-pass LRU miss-ratio curve (Mattson stack distances over a
/// Fenwick tree of last-use times).
#[derive(Clone, Debug)]
pub struct LruCurve {
    page_bits: u32,
    max: usize,
    /// Each page's last-use time (a position in the tree).
    last: SlotIndex,
    marks: Fenwick,
    /// `owner[t]`: the page referenced at time `t` (its mark is live while
    /// `t` is still that page's last use).
    owner: Vec<u64>,
    /// The next time to hand out.
    now: usize,
    /// `hist[d - 1]`: references at stack distance d <= max.
    hist: Vec<u64>,
    /// References beyond `max` (and first references).
    far: u64,
    references: u64,
    /// The smallest tree (1024; smaller in tests, to renumber often).
    min_tree: usize,
}

impl LruCurve {
    /// A curve up to `max` frames (at least 1).
    pub fn new(page_bits: u32, max: u64) -> LruCurve {
        Self::with_min_tree(page_bits, max, 1024)
    }

    fn with_min_tree(page_bits: u32, max: u64, min_tree: usize) -> LruCurve {
        let max = max.clamp(1, usize::MAX as u64 >> 1) as usize;
        LruCurve {
            page_bits,
            max,
            last: SlotIndex::new(),
            marks: Fenwick::with_len(min_tree),
            owner: vec![0; min_tree],
            now: 0,
            hist: Vec::new(),
            far: 0,
            references: 0,
            min_tree,
        }
    }

    /// References the pages of a batch of addresses.
    pub fn observe(&mut self, vas: &[u64]) {
        for &va in vas {
            self.access(va >> self.page_bits);
        }
    }

    /// References one page.
    #[inline]
    pub fn access(&mut self, page: u64) {
        self.references += 1;
        if self.now == self.marks.len() {
            self.renumber();
        }
        let now = self.now;
        self.now += 1;
        match self.last.upsert(page, now as u32) {
            Some(before) => {
                let before = before as usize;
                // Distinct pages used after `before`, plus this one: every
                // page has one mark, all before `now`.
                let d = self.last.len() - self.marks.prefix(before + 1) as usize + 1;
                if d <= self.max {
                    if d > self.hist.len() {
                        self.hist.resize(d, 0);
                    }
                    self.hist[d - 1] += 1;
                } else {
                    self.far += 1;
                }
                self.marks.add(before, -1);
            }
            None => self.far += 1,
        }
        self.marks.add(now, 1);
        self.owner[now] = page;
    }

    /// Renumbers the live marks 0..D in time order, in a tree of four
    /// times their number (at least the minimum): memory stays O(D), and
    /// the next renumbering is 3D references away. One scan of the times
    /// in order, no sort: time `t` is live when it is still its owner's
    /// last use. The tree of D leading ones is built in O(tree).
    fn renumber(&mut self) {
        let live = self.last.len();
        let n = (live * 4).max(self.min_tree);
        let mut owner = vec![0; n];
        let mut next = 0;
        for t in 0..self.now {
            let page = self.owner[t];
            if self.last.get(page) == Some(t as u32) {
                self.last.upsert(page, next as u32);
                owner[next] = page;
                next += 1;
            }
        }
        self.marks = Fenwick::ones(n, next);
        self.owner = owner;
        self.now = next;
    }

    /// The faults at every frame count 1..=N, N = `max`, or the distinct
    /// pages when fewer.
    pub fn finish(&self) -> Curve {
        let distinct = self.last.len() as u64;
        let n = (self.max as u64).min(distinct.max(1)) as usize;
        let mut faults = vec![0; n];
        // faults(f) = far + references at distance > f.
        let mut beyond: u64 = self.hist.iter().skip(n).sum::<u64>() + self.far;
        for f in (1..=n).rev() {
            faults[f - 1] = beyond;
            beyond += self.hist.get(f - 1).copied().unwrap_or(0);
        }
        Curve {
            references: self.references,
            distinct,
            faults,
        }
    }
}

/// The one-pass OPT miss-ratio curve (the OPT stack, truncated to `max`).
#[derive(Clone, Debug)]
pub struct OptCurve {
    page_bits: u32,
    max: usize,
    future: NextUse,
    time: usize,
    /// The top of the OPT stack: (page, its next use), position 0 on top.
    stack: Vec<(u64, u64)>,
    hist: Vec<u64>,
    far: u64,
    seen: PageMap<()>,
}

impl OptCurve {
    /// A curve up to `max` frames (at least 1), with the trace's next-use
    /// indices.
    pub fn new(page_bits: u32, max: u64, future: NextUse) -> OptCurve {
        OptCurve {
            page_bits,
            max: max.clamp(1, usize::MAX as u64 >> 1) as usize,
            future,
            time: 0,
            stack: Vec::new(),
            hist: Vec::new(),
            far: 0,
            seen: PageMap::default(),
        }
    }

    /// References the pages of a batch of addresses (the same trace, in
    /// the same order, as the next-use indices).
    pub fn observe(&mut self, vas: &[u64]) {
        for &va in vas {
            self.access(va >> self.page_bits);
        }
    }

    /// References one page.
    pub fn access(&mut self, page: u64) {
        let next = self.future.after(self.time);
        self.time += 1;
        self.seen.insert(page, ());
        let depth = self.stack.iter().position(|&(p, _)| p == page);
        match depth {
            Some(d) => {
                if d >= self.hist.len() {
                    self.hist.resize(d + 1, 0);
                }
                self.hist[d] += 1;
            }
            None => self.far += 1,
        }
        // The page goes on top; the old top is carried down to the
        // page's old place (or the bottom), and each position on the way
        // keeps whichever of its page and the carried one is used sooner.
        let end = depth.unwrap_or(self.stack.len());
        if end == 0 && depth.is_some() {
            self.stack[0] = (page, next);
            return;
        }
        let Some(&top) = self.stack.first() else {
            self.stack.push((page, next));
            return;
        };
        self.stack[0] = (page, next);
        let mut carried = top;
        for slot in &mut self.stack[1..end] {
            if sooner(carried, *slot) {
                std::mem::swap(slot, &mut carried);
            }
        }
        match depth {
            Some(d) => self.stack[d] = carried,
            None if self.stack.len() < self.max => self.stack.push(carried),
            None => {}
        }
    }

    /// The faults at every frame count 1..=N, N = `max`, or the distinct
    /// pages when fewer.
    pub fn finish(&self) -> Curve {
        let distinct = self.seen.len() as u64;
        let n = (self.max as u64).min(distinct.max(1)) as usize;
        let mut faults = vec![0; n];
        let mut beyond: u64 = self.hist.iter().skip(n).sum::<u64>() + self.far;
        for f in (1..=n).rev() {
            faults[f - 1] = beyond;
            beyond += self.hist.get(f - 1).copied().unwrap_or(0);
        }
        Curve {
            references: self.time as u64,
            distinct,
            faults,
        }
    }
}

/// Whether `a` is used before `b` (pages never used again tie).
fn sooner(a: (u64, u64), b: (u64, u64)) -> bool {
    a.1 < b.1 && a.1 != NEVER
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn replay(policy: PolicyName, frames: u64, refs: &[u64]) -> u64 {
        let future = NextUse::from_refs(refs);
        let mut r = Replacer::new(policy.policy(Some(&future)), frames).unwrap();
        for &p in refs {
            r.access(p, false);
        }
        r.stats().misses
    }

    #[test]
    fn lru_curve_of_beladys_string() {
        let refs = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5];
        let mut c = LruCurve::new(0, 100);
        for &p in &refs {
            c.access(p);
        }
        let curve = c.finish();
        assert_eq!(curve.distinct, 5);
        assert_eq!(curve.faults, [12, 12, 10, 8, 5]);
    }

    #[test]
    fn opt_curve_of_beladys_string() {
        let refs = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5];
        let mut c = OptCurve::new(0, 100, NextUse::from_refs(&refs));
        for &p in &refs {
            c.access(p);
        }
        assert_eq!(c.finish().faults, [12, 9, 7, 6, 5]);
    }

    #[test]
    fn a_fenwick_tree_of_leading_ones_counts_them() {
        for n in [1usize, 2, 7, 8, 33] {
            for k in 0..=n {
                let built = Fenwick::ones(n, k);
                let mut added = Fenwick::with_len(n);
                for i in 0..k {
                    added.add(i, 1);
                }
                assert_eq!(built.tree, added.tree, "n {n} k {k}");
            }
        }
    }

    #[test]
    fn the_lru_tree_is_renumbered_and_stays_small() {
        // 100k references over 10 pages: the tree never grows past 1024.
        let mut c = LruCurve::new(0, 10);
        for i in 0..100_000u64 {
            c.access(i % 10);
        }
        assert!(c.marks.len() <= 1024);
        let curve = c.finish();
        assert_eq!(curve.faults[9], 10);
        assert_eq!(curve.faults[8], 100_000);
    }

    proptest! {
        /// The one-pass curves give, at every frame count, exactly the
        /// faults of running the trace through the kernel's replacer.
        #[test]
        fn one_pass_curves_match_rerunning_each_frame_count(
            refs in prop::collection::vec(0u64..20, 1..300),
            max in 1u64..25,
            min_tree in prop::sample::select(vec![1usize, 2, 5, 1024]),
        ) {
            // A small tree renumbers every few references.
            let mut lru = LruCurve::with_min_tree(0, max, min_tree);
            let mut opt = OptCurve::new(0, max, NextUse::from_refs(&refs));
            for &p in &refs {
                lru.access(p);
                opt.access(p);
            }
            let (lru, opt) = (lru.finish(), opt.finish());
            prop_assert_eq!(lru.faults.len() as u64, max.min(lru.distinct));
            for f in 1..=lru.faults.len() as u64 {
                prop_assert_eq!(lru.faults[f as usize - 1], replay(PolicyName::Lru, f, &refs), "lru {}", f);
                prop_assert_eq!(opt.faults[f as usize - 1], replay(PolicyName::Opt, f, &refs), "opt {}", f);
            }
        }
    }

    #[test]
    fn demand_counts_faults_and_write_backs() {
        let mut d = Demand::new(12, PolicyName::Fifo, &[1, 2], None).unwrap();
        // Pages 0, 1, 0 (written), 2.
        let vas = [0x10, 0x1010, 0x20, 0x2000];
        d.observe(&vas, |i| i == 2);
        let r = d.results();
        assert_eq!(r[0].stats.misses, 4);
        assert_eq!(r[0].stats.writebacks, 1);
        assert_eq!(r[1].stats.misses, 3);
        assert_eq!(r[1].stats.writebacks, 1);
    }
}
