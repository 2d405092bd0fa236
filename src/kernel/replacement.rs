//! Page replacement: which resident page gives up its frame when a page
//! fault finds every frame taken. The kernel's policy code, shared by
//! demand paging, the `paging-policy` drop-in and `vmlab trace --frames`.
//!
//! A [`Replacer`] holds the resident set of a fixed number of frames and
//! answers one question per memory reference ([`Replacer::access`]): was the
//! page resident (a hit), and if not, which page was evicted to make room
//! (and was it dirty, so that it must be written back). The policies:
//!
//! | policy | victim | cost per access |
//! | --- | --- | --- |
//! | [`Policy::Fifo`] | the page loaded longest ago | O(1) |
//! | [`Policy::Lru`] | the page used longest ago (exact) | O(1) |
//! | [`Policy::Clock`] | the first frame under the hand whose use bit is clear (the hand clears the bits it passes) | O(1) amortised |
//! | [`Policy::Random`] | a frame drawn uniformly, from a seeded generator (reproducible) | O(1) |
//! | [`Policy::Opt`] | the page whose next use lies farthest in the future (Belady) | O(log frames) |
//!
//! FIFO and LRU keep the frames on an intrusive doubly linked list (slot
//! indices, no pointers) ordered by load or by use; a hash map finds a
//! page's slot. OPT needs the future: [`NextUse`] turns a recorded
//! reference string into next-use indices in one pass (O(n) time and
//! memory, one `u64` per reference: the one structure proportional to the
//! string's length), and the resident pages sit in an ordered set keyed by
//! their next use. Ties in OPT (several pages never used again) go to the
//! page loaded last.
//!
//! A new page always goes into the lowest-numbered free frame. Memory is
//! proportional to the pages actually resident, never to the frame count
//! asked for.

use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

/// What may go wrong building a [`Replacer`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplacementError {
    /// Zero frames: no page could ever be resident.
    #[error("frames: 0 frames cannot hold a page (need at least 1)")]
    NoFrames,
    /// More frames than the replacer can index.
    #[error("frames: {0} frames is more than the {max} a replacer can manage", max = MAX_FRAMES)]
    TooManyFrames(u64),
}

/// The most frames a [`Replacer`] manages (frame slots are `u32`).
pub const MAX_FRAMES: u64 = u32::MAX as u64 - 1;

/// A replacement policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Policy {
    /// First in, first out: evict the page loaded longest ago.
    Fifo,
    /// Least recently used, exact.
    Lru,
    /// CLOCK (second chance): a hand sweeps the frames, clearing use bits,
    /// and stops at the first frame whose bit is already clear.
    Clock,
    /// A frame drawn uniformly at random; the same seed gives the same
    /// victims.
    Random {
        /// The generator's seed.
        seed: u64,
    },
    /// Belady's optimal policy over a recorded reference string.
    Opt(NextUse),
}

impl Policy {
    /// The policy's name as `vmlab` spells it (`fifo`, `lru`, `clock`,
    /// `random`, `opt`).
    pub fn name(&self) -> &'static str {
        match self {
            Policy::Fifo => "fifo",
            Policy::Lru => "lru",
            Policy::Clock => "clock",
            Policy::Random { .. } => "random",
            Policy::Opt(_) => "opt",
        }
    }
}

/// "Never used again", as a next-use index.
pub const NEVER: u64 = u64::MAX;

/// For each reference of a recorded string, the index of the next
/// reference to the same page ([`NEVER`] if there is none): what OPT needs
/// to know about the future.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NextUse {
    next: Vec<u64>,
}

impl NextUse {
    /// Computes the next-use indices of `refs` in one pass, O(n) time,
    /// memory O(n + distinct pages).
    pub fn from_refs(refs: &[u64]) -> NextUse {
        let mut b = NextUseBuilder::default();
        for &p in refs {
            b.push(p);
        }
        b.finish()
    }

    /// How many references the string has.
    pub fn len(&self) -> usize {
        self.next.len()
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.next.is_empty()
    }

    /// The index of the next reference to the page referenced at `i`, or
    /// [`NEVER`] (also for `i` past the end).
    pub fn after(&self, i: usize) -> u64 {
        self.next.get(i).copied().unwrap_or(NEVER)
    }
}

/// Builds [`NextUse`] from a stream of references (e.g. a first pass over
/// a trace file), keeping the last index of each distinct page.
#[derive(Clone, Debug, Default)]
pub struct NextUseBuilder {
    next: Vec<u64>,
    last: PageMap<u64>,
}

impl NextUseBuilder {
    /// Notes the next reference of the string.
    pub fn push(&mut self, page: u64) {
        let i = self.next.len() as u64;
        if let Some(prev) = self.last.insert(page, i) {
            self.next[prev as usize] = i;
        }
        self.next.push(NEVER);
    }

    /// The next-use indices of everything pushed.
    pub fn finish(self) -> NextUse {
        NextUse { next: self.next }
    }
}

/// The outcome of one reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// The page was resident.
    pub hit: bool,
    /// The page evicted to make room (on a miss with every frame taken).
    pub victim: Option<Victim>,
}

/// An evicted page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Victim {
    /// Its page number.
    pub page: u64,
    /// It was written while resident: it must be written back.
    pub dirty: bool,
}

/// What a replacer has counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// References to resident pages.
    pub hits: u64,
    /// References to pages not resident (page faults).
    pub misses: u64,
    /// Pages evicted.
    pub evictions: u64,
    /// Evicted pages that were dirty (written back).
    pub writebacks: u64,
}

impl Stats {
    /// All references.
    pub fn references(&self) -> u64 {
        self.hits + self.misses
    }
}

/// A hash map keyed by page number with a one-multiplication hash: page
/// numbers are not chosen by an adversary, and SipHash would cost more
/// than the rest of an access.
pub type PageMap<V> = HashMap<u64, V, BuildHasherDefault<PageHasher>>;

/// The hasher of [`PageMap`] (Fibonacci hashing).
#[derive(Clone, Copy, Debug, Default)]
pub struct PageHasher(u64);

impl Hasher for PageHasher {
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
            .rotate_left(26);
    }
}

/// No slot (end of a list).
const NIL: u32 = u32::MAX;

/// One frame: its page and its place on the FIFO / LRU list (16 bytes, so
/// that a large resident set stays cache-friendly).
#[derive(Clone, Copy, Debug)]
struct Slot {
    page: u64,
    prev: u32,
    next: u32,
}

/// A frame's dirty bit, in [`Replacer::flags`].
const DIRTY: u8 = 1;
/// A frame's use bit (CLOCK), in [`Replacer::flags`].
const USED: u8 = 2;

/// Page number -> slot: open addressing with linear probing, keys and
/// values in separate arrays (what the hot path touches is 12 bytes per
/// entry), at most half full, deletion by backward shift. `u64::MAX`
/// marks an empty entry, so that page number is kept aside.
#[derive(Clone, Debug)]
pub(crate) struct SlotIndex {
    keys: Vec<u64>,
    vals: Vec<u32>,
    /// 64 - log2(capacity): the hash takes the top bits.
    shift: u32,
    len: usize,
    /// The slot of page `u64::MAX`, if resident.
    max_page: Option<u32>,
}

const EMPTY: u64 = u64::MAX;

impl SlotIndex {
    pub(crate) fn new() -> SlotIndex {
        SlotIndex {
            keys: vec![EMPTY; 16],
            vals: vec![0; 16],
            shift: 60,
            len: 0,
            max_page: None,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len + usize::from(self.max_page.is_some())
    }

    /// Sets `page`'s value, returning the one it had.
    #[inline(always)]
    pub(crate) fn upsert(&mut self, page: u64, val: u32) -> Option<u32> {
        if page == EMPTY {
            return self.max_page.replace(val);
        }
        let i = self.find(page);
        if self.keys[i] == page {
            return Some(std::mem::replace(&mut self.vals[i], val));
        }
        if (self.len + 1) * 2 > self.keys.len() {
            self.insert(page, val);
        } else {
            self.keys[i] = page;
            self.vals[i] = val;
            self.len += 1;
        }
        None
    }

    #[inline(always)]
    fn home(&self, page: u64) -> usize {
        (page.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    /// The entry holding `page`, or the empty entry where it would go.
    #[inline(always)]
    fn find(&self, page: u64) -> usize {
        let mask = self.keys.len() - 1;
        let mut i = self.home(page);
        loop {
            let k = self.keys[i];
            if k == page || k == EMPTY {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    /// The value of `page`, if present.
    #[inline(always)]
    pub(crate) fn get(&self, page: u64) -> Option<u32> {
        if page == EMPTY {
            return self.max_page;
        }
        let i = self.find(page);
        (self.keys[i] == page).then(|| self.vals[i])
    }

    /// Inserts a page that is not present.
    #[inline(always)]
    fn insert(&mut self, page: u64, slot: u32) {
        if page == EMPTY {
            self.max_page = Some(slot);
            return;
        }
        if (self.len + 1) * 2 > self.keys.len() {
            self.grow();
        }
        let i = self.find(page);
        self.keys[i] = page;
        self.vals[i] = slot;
        self.len += 1;
    }

    /// Removes a page that is present.
    #[inline(always)]
    fn remove(&mut self, page: u64) {
        if page == EMPTY {
            self.max_page = None;
            return;
        }
        let mask = self.keys.len() - 1;
        let mut i = self.find(page);
        self.keys[i] = EMPTY;
        self.len -= 1;
        // Backward shift: pull later entries of the run into the hole
        // when their home does not lie between the hole and them.
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let k = self.keys[j];
            if k == EMPTY {
                return;
            }
            let home = self.home(k);
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(i) & mask) {
                self.keys[i] = k;
                self.vals[i] = self.vals[j];
                self.keys[j] = EMPTY;
                i = j;
            }
        }
    }

    fn grow(&mut self) {
        let cap = self.keys.len() * 2;
        let keys = std::mem::replace(&mut self.keys, vec![EMPTY; cap]);
        let vals = std::mem::replace(&mut self.vals, vec![0; cap]);
        self.shift -= 1;
        for (k, v) in keys.into_iter().zip(vals) {
            if k != EMPTY {
                let i = self.find(k);
                self.keys[i] = k;
                self.vals[i] = v;
            }
        }
    }

    fn pages(&self) -> impl Iterator<Item = u64> + '_ {
        self.keys
            .iter()
            .copied()
            .filter(|&k| k != EMPTY)
            .chain(self.max_page.map(|_| EMPTY))
    }
}

/// The resident set of a fixed number of frames under one policy.
#[derive(Clone, Debug)]
pub struct Replacer {
    policy: Policy,
    frames: u64,
    map: SlotIndex,
    slots: Vec<Slot>,
    /// Per slot: [`DIRTY`], [`USED`].
    flags: Vec<u8>,
    /// OPT, per slot: the next use and the load order (its key in
    /// `by_next_use`).
    keys: Vec<(u64, u64)>,
    /// Free slots below `slots.len()` (after unmaps), lowest first.
    free: BinaryHeap<std::cmp::Reverse<u32>>,
    /// FIFO / LRU list: head is the next victim.
    head: u32,
    tail: u32,
    /// CLOCK's hand.
    hand: usize,
    /// Random's generator state.
    rng: u64,
    /// OPT: (next use, load order, slot) of each resident page.
    by_next_use: BTreeSet<(u64, u64, u32)>,
    /// OPT: the index of the next reference in the recorded string.
    time: usize,
    loads: u64,
    stats: Stats,
}

impl Replacer {
    /// A replacer with `frames` empty frames under `policy`.
    ///
    /// Fails for 0 frames and for more than [`MAX_FRAMES`]. Allocates
    /// nothing per frame: memory grows with the pages loaded.
    ///
    /// For [`Policy::Opt`], the references given to [`Replacer::access`]
    /// must be the recorded string, in order: the i-th access is taken to
    /// be the string's i-th reference (past its end, every page counts as
    /// never used again).
    pub fn new(policy: Policy, frames: u64) -> Result<Replacer, ReplacementError> {
        if frames == 0 {
            return Err(ReplacementError::NoFrames);
        }
        if frames > MAX_FRAMES {
            return Err(ReplacementError::TooManyFrames(frames));
        }
        let rng = match policy {
            Policy::Random { seed } => seed,
            _ => 0,
        };
        Ok(Replacer {
            policy,
            frames,
            map: SlotIndex::new(),
            slots: Vec::new(),
            flags: Vec::new(),
            keys: Vec::new(),
            free: BinaryHeap::new(),
            head: NIL,
            tail: NIL,
            hand: 0,
            rng,
            by_next_use: BTreeSet::new(),
            time: 0,
            loads: 0,
            stats: Stats::default(),
        })
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The number of frames.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// How many pages are resident.
    pub fn resident(&self) -> usize {
        self.map.len()
    }

    /// Whether `page` is resident.
    pub fn contains(&self, page: u64) -> bool {
        self.map.get(page).is_some()
    }

    /// The resident pages, in no particular order.
    pub fn pages(&self) -> impl Iterator<Item = u64> + '_ {
        self.map.pages()
    }

    /// The counts so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// References `page` (`write`: a store, which makes it dirty). A
    /// resident page is a hit; otherwise the page is loaded into a free
    /// frame, or, when every frame is taken, into the frame of the victim
    /// the policy picks, which is returned with its dirty bit (a dirty
    /// victim counts as a write-back).
    #[inline]
    pub fn access(&mut self, page: u64, write: bool) -> Access {
        let now = self.time;
        self.time += 1;
        if let Some(s) = self.map.get(page) {
            self.stats.hits += 1;
            self.touch(s, write, now);
            return Access {
                hit: true,
                victim: None,
            };
        }
        self.stats.misses += 1;
        let (slot, victim) = if (self.map.len() as u64) < self.frames {
            (self.free_slot(), None)
        } else {
            let s = self.choose_victim();
            let page = self.slots[s as usize].page;
            let dirty = self.flags[s as usize] & DIRTY != 0;
            self.release(s);
            self.stats.evictions += 1;
            if dirty {
                self.stats.writebacks += 1;
            }
            (s, Some(Victim { page, dirty }))
        };
        self.load(slot, page, write, now);
        Access { hit: false, victim }
    }

    /// Tells the replacer that `page` was unmapped (freed, or swapped out
    /// by the kernel itself): its frame becomes free. Returns whether it
    /// was dirty, or `None` if it was not resident. No write-back is
    /// counted: the caller decides what to do with the contents.
    pub fn unmap(&mut self, page: u64) -> Option<bool> {
        let s = self.map.get(page)?;
        let dirty = self.flags[s as usize] & DIRTY != 0;
        self.release(s);
        self.free.push(std::cmp::Reverse(s));
        Some(dirty)
    }

    /// A hit on slot `s` at reference `now`.
    #[inline]
    fn touch(&mut self, s: u32, write: bool, now: usize) {
        if write {
            self.flags[s as usize] |= DIRTY;
        }
        match self.policy {
            Policy::Lru => {
                if self.tail != s {
                    self.unlink(s);
                    self.push_tail(s);
                }
            }
            Policy::Clock => self.flags[s as usize] |= USED,
            Policy::Opt(ref future) => {
                let old = self.keys[s as usize];
                let key = (future.after(now), old.1);
                self.keys[s as usize] = key;
                self.by_next_use.remove(&(old.0, old.1, s));
                self.by_next_use.insert((key.0, key.1, s));
            }
            Policy::Fifo | Policy::Random { .. } => {}
        }
    }

    /// The lowest free slot (a new one when none was freed).
    fn free_slot(&mut self) -> u32 {
        match self.free.pop() {
            Some(std::cmp::Reverse(s)) => s,
            None => {
                self.slots.push(Slot {
                    page: 0,
                    prev: NIL,
                    next: NIL,
                });
                self.flags.push(0);
                if matches!(self.policy, Policy::Opt(_)) {
                    self.keys.push((NEVER, 0));
                }
                (self.slots.len() - 1) as u32
            }
        }
    }

    /// Under CLOCK, the page under the hand: the one the next sweep looks
    /// at first (`None` for the other policies, or before any frame is
    /// full).
    pub fn clock_hand(&self) -> Option<u64> {
        if !matches!(self.policy, Policy::Clock) {
            return None;
        }
        self.slots
            .get(self.hand)
            .map(|s| s.page)
            .filter(|&p| p != EMPTY)
    }

    /// The slot whose page the policy evicts (every frame is taken).
    fn choose_victim(&mut self) -> u32 {
        match self.policy {
            Policy::Fifo | Policy::Lru => self.head,
            Policy::Clock => {
                // The hand clears each set use bit it passes and stops at
                // the first clear one (at most one full turn).
                let n = self.slots.len();
                loop {
                    let flags = &mut self.flags[self.hand];
                    let here = self.hand;
                    self.hand = (self.hand + 1) % n;
                    if *flags & USED != 0 {
                        *flags &= !USED;
                    } else {
                        return here as u32;
                    }
                }
            }
            Policy::Random { .. } => below(&mut self.rng, self.slots.len() as u64) as u32,
            Policy::Opt(_) => {
                let &(_, _, s) = self
                    .by_next_use
                    .last()
                    .expect("a full replacer has resident pages");
                s
            }
        }
    }

    /// Takes the page out of slot `s` (which stays allocated).
    fn release(&mut self, s: u32) {
        self.map.remove(self.slots[s as usize].page);
        match self.policy {
            Policy::Fifo | Policy::Lru => self.unlink(s),
            Policy::Opt(_) => {
                let key = self.keys[s as usize];
                self.by_next_use.remove(&(key.0, key.1, s));
            }
            Policy::Clock | Policy::Random { .. } => {}
        }
        self.flags[s as usize] = 0;
    }

    /// Puts `page` into slot `s`, loaded at reference `now`.
    fn load(&mut self, s: u32, page: u64, write: bool, now: usize) {
        self.map.insert(page, s);
        self.slots[s as usize].page = page;
        self.flags[s as usize] = USED | if write { DIRTY } else { 0 };
        match self.policy {
            Policy::Fifo | Policy::Lru => self.push_tail(s),
            Policy::Opt(ref future) => {
                let key = (future.after(now), self.loads);
                self.keys[s as usize] = key;
                self.by_next_use.insert((key.0, key.1, s));
            }
            Policy::Clock | Policy::Random { .. } => {}
        }
        self.loads += 1;
    }

    #[inline(always)]
    fn unlink(&mut self, s: u32) {
        let Slot { prev, next, .. } = self.slots[s as usize];
        if prev == NIL {
            self.head = next;
        } else {
            self.slots[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.slots[next as usize].prev = prev;
        }
    }

    #[inline(always)]
    fn push_tail(&mut self, s: u32) {
        let tail = self.tail;
        {
            let slot = &mut self.slots[s as usize];
            slot.prev = tail;
            slot.next = NIL;
        }
        if tail == NIL {
            self.head = s;
        } else {
            self.slots[tail as usize].next = s;
        }
        self.tail = s;
    }
}

/// The next number of a SplitMix64 generator.
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A number in `0..n` (n > 0) from the generator, by multiply-and-shift.
pub(crate) fn below(state: &mut u64, n: u64) -> u64 {
    ((u128::from(splitmix64(state)) * u128::from(n)) >> 64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn faults(policy: Policy, frames: u64, refs: &[u64]) -> u64 {
        let mut r = Replacer::new(policy, frames).unwrap();
        for &p in refs {
            r.access(p, false);
        }
        r.stats().misses
    }

    #[test]
    fn beladys_anomaly_fifo_faults_more_with_more_frames() {
        let refs = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5];
        assert_eq!(faults(Policy::Fifo, 3, &refs), 9);
        assert_eq!(faults(Policy::Fifo, 4, &refs), 10);
        // LRU and OPT are stack algorithms: no anomaly.
        assert_eq!(faults(Policy::Lru, 3, &refs), 10);
        assert_eq!(faults(Policy::Lru, 4, &refs), 8);
        let future = NextUse::from_refs(&refs);
        assert_eq!(faults(Policy::Opt(future.clone()), 3, &refs), 7);
        assert_eq!(faults(Policy::Opt(future), 4, &refs), 6);
    }

    #[test]
    fn zero_or_too_many_frames_are_refused() {
        assert_eq!(
            Replacer::new(Policy::Lru, 0).unwrap_err(),
            ReplacementError::NoFrames
        );
        assert!(Replacer::new(Policy::Lru, u64::MAX).is_err());
        // A huge frame count costs nothing up front.
        let mut r = Replacer::new(Policy::Fifo, MAX_FRAMES).unwrap();
        assert!(!r.access(7, false).hit);
        assert!(r.access(7, false).hit);
    }

    #[test]
    fn dirty_victims_are_written_back() {
        let mut r = Replacer::new(Policy::Fifo, 1).unwrap();
        r.access(1, true);
        let a = r.access(2, false);
        assert_eq!(
            a.victim,
            Some(Victim {
                page: 1,
                dirty: true
            })
        );
        let a = r.access(3, false);
        assert_eq!(
            a.victim,
            Some(Victim {
                page: 2,
                dirty: false
            })
        );
        let s = r.stats();
        assert_eq!((s.misses, s.evictions, s.writebacks), (3, 2, 1));
    }

    #[test]
    fn clock_gives_a_second_chance() {
        // Frames [1 2 3], all use bits set; 4 sweeps the hand round,
        // clearing 1, 2, 3, and evicts 1; 2's bit is then set again by a
        // hit, so 5 skips 2 (clearing it) and evicts 3.
        let mut r = Replacer::new(Policy::Clock, 3).unwrap();
        for p in [1, 2, 3] {
            r.access(p, false);
        }
        assert_eq!(r.access(4, false).victim.unwrap().page, 1);
        assert!(r.access(2, false).hit);
        assert_eq!(r.access(5, false).victim.unwrap().page, 3);
    }

    #[test]
    fn unmap_frees_the_frame() {
        let mut r = Replacer::new(Policy::Lru, 2).unwrap();
        r.access(1, true);
        r.access(2, false);
        assert_eq!(r.unmap(1), Some(true));
        assert_eq!(r.unmap(1), None);
        assert_eq!(r.access(3, false).victim, None);
        assert_eq!(r.access(4, false).victim.unwrap().page, 2);
    }

    #[test]
    fn the_largest_page_number_is_a_page_like_any_other() {
        let mut r = Replacer::new(Policy::Lru, 2).unwrap();
        assert!(!r.access(u64::MAX, true).hit);
        assert!(r.access(u64::MAX, false).hit);
        r.access(0, false);
        assert_eq!(r.resident(), 2);
        let v = r.access(1, false).victim.unwrap();
        assert_eq!((v.page, v.dirty), (u64::MAX, true));
        assert!(!r.contains(u64::MAX));
    }

    proptest! {
        /// The slot index answers as a hash map does, through growth and
        /// backward-shift deletions.
        #[test]
        fn the_slot_index_is_a_map(ops in prop::collection::vec((any::<bool>(), 0u64..64), 0..400)) {
            let mut index = SlotIndex::new();
            let mut model = std::collections::HashMap::new();
            for (i, (insert, key)) in ops.into_iter().enumerate() {
                // Spread keys over the hash space, and include u64::MAX.
                let page = if key == 63 { u64::MAX } else { key.wrapping_mul(0x1000_0000_0001) };
                if insert && !model.contains_key(&page) {
                    index.insert(page, i as u32);
                    model.insert(page, i as u32);
                } else if !insert && model.remove(&page).is_some() {
                    index.remove(page);
                }
                prop_assert_eq!(index.len(), model.len());
                for k in 0..64u64 {
                    let p = if k == 63 { u64::MAX } else { k.wrapping_mul(0x1000_0000_0001) };
                    prop_assert_eq!(index.get(p), model.get(&p).copied());
                }
            }
        }
    }

    #[test]
    fn random_is_reproducible() {
        let refs: Vec<u64> = (0..200).map(|i| (i * 7919) % 13).collect();
        let run = |seed| {
            let mut r = Replacer::new(Policy::Random { seed }, 4).unwrap();
            refs.iter()
                .map(|&p| r.access(p, false).victim.map(|v| v.page))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }

    // --- The reference model: plain vectors, quadratic, obviously right.

    /// One step of a test: an access or an unmap.
    #[derive(Clone, Copy, Debug)]
    enum Op {
        Access(u64, bool),
        Unmap(u64),
    }

    /// A frame of the model: (page, dirty, use bit).
    type Frame = Option<(u64, bool, bool)>;

    /// The model: `frames[i]` is frame i; `order` lists resident pages by
    /// load (FIFO, OPT ties) or by use (LRU), oldest first.
    struct Model {
        kind: &'static str,
        frames: Vec<Frame>,
        order: Vec<u64>,
        hand: usize,
        rng: u64,
        refs: Vec<u64>,
        t: usize,
        stats: Stats,
    }

    impl Model {
        fn new(kind: &'static str, n: usize, seed: u64, refs: Vec<u64>) -> Model {
            Model {
                kind,
                frames: vec![None; n],
                order: Vec::new(),
                hand: 0,
                rng: seed,
                refs,
                t: 0,
                stats: Stats::default(),
            }
        }

        fn find(&self, page: u64) -> Option<usize> {
            self.frames
                .iter()
                .position(|f| matches!(f, Some((p, _, _)) if *p == page))
        }

        fn next_use(&self, page: u64) -> usize {
            (self.t + 1..self.refs.len())
                .find(|&j| self.refs[j] == page)
                .unwrap_or(usize::MAX)
        }

        fn access(&mut self, page: u64, write: bool) -> Access {
            let res = self.step(page, write);
            self.t += 1;
            res
        }

        fn step(&mut self, page: u64, write: bool) -> Access {
            if let Some(i) = self.find(page) {
                self.stats.hits += 1;
                let f = self.frames[i].as_mut().unwrap();
                f.1 |= write;
                f.2 = true;
                if self.kind == "lru" {
                    self.order.retain(|&p| p != page);
                    self.order.push(page);
                }
                return Access {
                    hit: true,
                    victim: None,
                };
            }
            self.stats.misses += 1;
            let mut victim = None;
            let slot = match self.frames.iter().position(|f| f.is_none()) {
                Some(i) => i,
                None => {
                    let n = self.frames.len();
                    let i = match self.kind {
                        "fifo" | "lru" => self.find(self.order[0]).unwrap(),
                        "clock" => loop {
                            let h = self.hand;
                            self.hand = (h + 1) % n;
                            let f = self.frames[h].as_mut().unwrap();
                            if f.2 {
                                f.2 = false;
                            } else {
                                break h;
                            }
                        },
                        "random" => below(&mut self.rng, n as u64) as usize,
                        "opt" => {
                            // Farthest next use; ties to the last loaded.
                            let mut best = (0, 0);
                            for (k, &p) in self.order.iter().enumerate() {
                                let when = self.next_use(p);
                                if (when, k) >= best {
                                    best = (when, k);
                                }
                            }
                            self.find(self.order[best.1]).unwrap()
                        }
                        _ => unreachable!(),
                    };
                    let (p, dirty, _) = self.frames[i].take().unwrap();
                    self.order.retain(|&q| q != p);
                    self.stats.evictions += 1;
                    self.stats.writebacks += u64::from(dirty);
                    victim = Some(Victim { page: p, dirty });
                    i
                }
            };
            self.frames[slot] = Some((page, write, true));
            self.order.push(page);
            Access { hit: false, victim }
        }

        fn unmap(&mut self, page: u64) -> Option<bool> {
            let i = self.find(page)?;
            let (_, dirty, _) = self.frames[i].take().unwrap();
            self.order.retain(|&q| q != page);
            Some(dirty)
        }
    }

    fn policy(kind: &str, seed: u64, refs: &[u64]) -> Policy {
        match kind {
            "fifo" => Policy::Fifo,
            "lru" => Policy::Lru,
            "clock" => Policy::Clock,
            "random" => Policy::Random { seed },
            _ => Policy::Opt(NextUse::from_refs(refs)),
        }
    }

    fn ops() -> impl Strategy<Value = Vec<Op>> {
        prop::collection::vec(
            prop_oneof![
                8 => (0u64..12, any::<bool>()).prop_map(|(p, w)| Op::Access(p, w)),
                1 => (0u64..12).prop_map(Op::Unmap),
            ],
            0..160,
        )
    }

    fn check(kind: &'static str, frames: usize, seed: u64, ops: &[Op]) {
        let refs: Vec<u64> = ops
            .iter()
            .filter_map(|op| match op {
                Op::Access(p, _) => Some(*p),
                Op::Unmap(_) => None,
            })
            .collect();
        let mut fast = Replacer::new(policy(kind, seed, &refs), frames as u64).unwrap();
        let mut model = Model::new(kind, frames, seed, refs);
        for (i, op) in ops.iter().enumerate() {
            match *op {
                Op::Access(p, w) => {
                    assert_eq!(fast.access(p, w), model.access(p, w), "{kind} step {i}")
                }
                Op::Unmap(p) => assert_eq!(fast.unmap(p), model.unmap(p), "{kind} step {i}"),
            }
            assert_eq!(fast.stats(), model.stats, "{kind} step {i}");
            assert_eq!(fast.resident(), model.order.len());
        }
    }

    proptest! {
        #[test]
        fn every_policy_matches_the_plain_model(
            frames in 1usize..7,
            seed in any::<u64>(),
            ops in ops(),
        ) {
            for kind in ["fifo", "lru", "clock", "random"] {
                check(kind, frames, seed, &ops);
            }
            // OPT's future is the accesses alone: no unmaps.
            let accesses: Vec<Op> =
                ops.iter().copied().filter(|o| matches!(o, Op::Access(..))).collect();
            check("opt", frames, seed, &accesses);
        }
    }
}
