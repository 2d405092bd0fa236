//! The translation lookaside buffer: a small cache in front of any page-table
//! walk. A hit gives the frame and the leaf's permission bits without
//! reading a single page-table entry; a miss walks the tables and fills an
//! entry.
//!
//! The TLB knows nothing about the walk that fills it: an entry is a virtual
//! page (its number and size), the frame it maps to, the leaf's permission
//! bits in the mechanism's own format, and the address space it belongs to.
//! Sv39 ([`super::Sv39::with_tlb`]) puts one in front of its three-level
//! walk; any other paging mechanism can do the same.
//!
//! ```text
//!   va ──> set = (va >> page_bits) mod sets ──> compare the set's ways:
//!          ┌──────┬───┬───────┬───────────┬────────┬───────┐
//!   way 0  │ ASID │ G │  VPN  │ page bits │ frame  │ perms │ ── tag match? hit
//!   way 1  │ ...  │   │       │           │        │       │
//!          └──────┴───┴───────┴───────────┴────────┴───────┘
//!   no way matches: a miss -> walk -> fill (evicting a victim when full)
//! ```
//!
//! Configurable as the lecture compares them:
//! - **size and associativity**: `entries` in `entries / ways` sets;
//!   `ways = entries` is fully associative, `ways = 1` direct-mapped;
//! - **replacement** when a set is full: LRU, FIFO, random (seeded, so a
//!   run repeats) or clock (a hand over reference bits);
//! - **address spaces**: entries tagged with the ASID of `satp`, so they
//!   survive a context switch ([`Tagging::Asid`]), or untagged and flushed
//!   when `satp` is written ([`Tagging::FlushOnSwitch`]). Global (G)
//!   entries belong to every address space and survive both.
//!
//! Flushes are those of RISC-V's `sfence.vma` ([`Tlb::flush`]): everything;
//! one address in every address space; one address space (global entries
//! stay); one address in one address space.
//!
//! The TLB counts hits, misses, evictions and flushes ([`TlbStats`]).
//!
//! Because [`super::Mmu::walk`] takes `&self` (translation is a read-only act
//! for the rest of the machine), the TLB's state lives in [`Cell`]s: a
//! lookup changes replacement state and counters without needing `&mut`.
//! The price: a TLB (and an MMU holding one) is not `Sync`.
//!
//! Speed: the hit path looks a page up in a small hint table first (the way
//! that last hit for pages with the same low bits), then checks that way's
//! tag as every lookup does. A stale hint only costs the full search of the
//! set; it can never change a result.

use super::Access;
use std::cell::Cell;
use std::fmt;

/// The most entries a TLB may have (real TLBs have tens to a few thousand).
pub const MAX_ENTRIES: usize = 1 << 16;

/// Slots of the hint table (a power of two).
const HINTS: usize = 256;

/// Which entry a full set gives up for a new one.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Policy {
    /// The least recently used.
    Lru,
    /// The one filled first.
    Fifo,
    /// One picked by a seeded pseudo-random generator.
    Random,
    /// A hand sweeps the set: an entry used since the hand last passed gets
    /// a second chance (its reference bit is cleared), the first without
    /// one is the victim.
    Clock,
}

impl Policy {
    /// `lru`, `fifo`, `random`, `clock`.
    pub const fn name(self) -> &'static str {
        match self {
            Policy::Lru => "lru",
            Policy::Fifo => "fifo",
            Policy::Random => "random",
            Policy::Clock => "clock",
        }
    }
}

impl std::str::FromStr for Policy {
    type Err = TlbConfigError;
    fn from_str(s: &str) -> Result<Self, TlbConfigError> {
        match s.to_ascii_lowercase().as_str() {
            "lru" => Ok(Policy::Lru),
            "fifo" => Ok(Policy::Fifo),
            "random" | "rand" => Ok(Policy::Random),
            "clock" => Ok(Policy::Clock),
            _ => Err(TlbConfigError::Policy(s.to_string())),
        }
    }
}

/// How entries of different address spaces are kept apart.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Tagging {
    /// Each entry carries the ASID of the address space that filled it and
    /// only matches there: a context switch keeps the TLB.
    Asid,
    /// Entries carry no ASID: writing `satp` (a context switch) flushes
    /// every entry that is not global.
    FlushOnSwitch,
}

impl Tagging {
    /// `asid`, `flush`.
    pub const fn name(self) -> &'static str {
        match self {
            Tagging::Asid => "asid",
            Tagging::FlushOnSwitch => "flush",
        }
    }
}

/// Why a TLB configuration was refused (bad input: exit code 2).
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum TlbConfigError {
    /// Zero entries, or more than [`MAX_ENTRIES`].
    #[error("a TLB of {0} entries: it needs 1 to {MAX_ENTRIES}")]
    Entries(usize),
    /// The ways do not divide the entries.
    #[error("{ways} ways do not divide {entries} entries into sets")]
    Ways {
        /// Entries.
        entries: usize,
        /// Ways per set.
        ways: usize,
    },
    /// The number of sets is not a power of two (the set index is a bit
    /// field of the page number).
    #[error(
        "{entries} entries in {ways} ways make {sets} sets: the number of sets must be a power of two"
    )]
    Sets {
        /// Entries.
        entries: usize,
        /// Ways per set.
        ways: usize,
        /// Their quotient.
        sets: usize,
    },
    /// An unknown replacement policy.
    #[error("unknown TLB replacement policy '{0}' (lru, fifo, random, clock)")]
    Policy(String),
    /// An unknown tagging.
    #[error("unknown TLB tagging '{0}' (asid, flush)")]
    Tagging(String),
    /// A field of the `ENTRIES[,WAYS[,POLICY]]` text is not a number or a
    /// known word.
    #[error("TLB '{text}': {reason}")]
    Syntax {
        /// The text.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The shape and behaviour of a TLB.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TlbConfig {
    entries: usize,
    ways: usize,
    /// Replacement in a full set.
    pub policy: Policy,
    /// ASID tags or flushes on a context switch.
    pub tagging: Tagging,
    /// Seed of the random policy's generator (any value; 0 is replaced by a
    /// fixed non-zero one).
    pub seed: u64,
}

impl Default for TlbConfig {
    /// 64 entries, fully associative, LRU, ASID-tagged.
    fn default() -> Self {
        Self {
            entries: 64,
            ways: 64,
            policy: Policy::Lru,
            tagging: Tagging::Asid,
            seed: 1,
        }
    }
}

impl TlbConfig {
    /// `entries` in sets of `ways` (`ways == entries`: fully associative;
    /// 1: direct-mapped), replaced by `policy`, ASID-tagged.
    ///
    /// Fails when `entries` is 0 or above [`MAX_ENTRIES`], `ways` does not
    /// divide it, or the number of sets is not a power of two.
    pub fn new(entries: usize, ways: usize, policy: Policy) -> Result<Self, TlbConfigError> {
        if entries == 0 || entries > MAX_ENTRIES {
            return Err(TlbConfigError::Entries(entries));
        }
        if ways == 0 || ways > entries || entries % ways != 0 {
            return Err(TlbConfigError::Ways { entries, ways });
        }
        let sets = entries / ways;
        if !sets.is_power_of_two() {
            return Err(TlbConfigError::Sets {
                entries,
                ways,
                sets,
            });
        }
        Ok(Self {
            entries,
            ways,
            policy,
            tagging: Tagging::Asid,
            seed: 1,
        })
    }

    /// Parses `ENTRIES[,WAYS[,POLICY[,TAGGING]]]`: `64`, `64,4`,
    /// `64,full,fifo`, `16,direct`, `32,4,clock,flush`. WAYS is a number,
    /// `full` (fully associative, the default) or `direct` (1); POLICY
    /// `lru` (default), `fifo`, `random` or `clock`; TAGGING `asid`
    /// (default) or `flush`.
    ///
    /// Fails with the first field that is wrong, or as [`TlbConfig::new`].
    pub fn parse(text: &str) -> Result<Self, TlbConfigError> {
        let syntax = |reason: String| TlbConfigError::Syntax {
            text: text.to_string(),
            reason,
        };
        let mut fields = text.split(',').map(str::trim);
        let entries_text = fields.next().unwrap_or("");
        let entries: usize = entries_text.parse().map_err(|_| {
            syntax(format!(
                "'{entries_text}' is not a number of entries (ENTRIES[,WAYS[,POLICY[,TAGGING]]])"
            ))
        })?;
        let ways = match fields.next() {
            None | Some("full") | Some("fully") => entries,
            Some("direct") => 1,
            Some(w) => w.parse().map_err(|_| {
                syntax(format!(
                    "'{w}' is not a number of ways (a number, full or direct)"
                ))
            })?,
        };
        let policy = match fields.next() {
            None => Policy::Lru,
            Some(p) => p.parse()?,
        };
        let tagging = match fields.next() {
            None => Tagging::Asid,
            Some("asid") => Tagging::Asid,
            Some("flush") => Tagging::FlushOnSwitch,
            Some(t) => return Err(TlbConfigError::Tagging(t.to_string())),
        };
        if let Some(extra) = fields.next() {
            return Err(syntax(format!("unexpected '{extra}' after the tagging")));
        }
        let mut config = Self::new(entries, ways, policy)?;
        config.tagging = tagging;
        Ok(config)
    }

    /// The same TLB with `tagging`.
    pub fn with_tagging(mut self, tagging: Tagging) -> Self {
        self.tagging = tagging;
        self
    }

    /// The same TLB with the random policy seeded by `seed`.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Entries in all.
    pub fn entries(&self) -> usize {
        self.entries
    }

    /// Ways per set.
    pub fn ways(&self) -> usize {
        self.ways
    }

    /// Sets (`entries / ways`, a power of two).
    pub fn sets(&self) -> usize {
        self.entries / self.ways
    }
}

/// `64 entries, fully associative, LRU, ASID-tagged`.
impl fmt::Display for TlbConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} entries, ", self.entries)?;
        if self.ways == self.entries {
            write!(f, "fully associative")?;
        } else if self.ways == 1 {
            write!(f, "direct-mapped")?;
        } else {
            write!(f, "{}-way set-associative", self.ways)?;
        }
        let tagging = match self.tagging {
            Tagging::Asid => "ASID-tagged",
            Tagging::FlushOnSwitch => "flushed on a context switch",
        };
        write!(f, ", {}, {tagging}", self.policy.name().to_uppercase())
    }
}

/// One cached translation, in no mechanism's format but its own.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TlbEntry {
    /// The address space that filled it (`satp.ASID`).
    pub asid: u16,
    /// A global mapping: it matches in every address space.
    pub global: bool,
    /// The virtual page number: `va >> page_bits`.
    pub vpn: u64,
    /// log2 of the bytes the entry maps (12 for a 4 KiB page, 21 and 30 for
    /// Sv39's superpages).
    pub page_bits: u32,
    /// The physical address of the first byte of the mapped page (aligned
    /// to its size).
    pub frame: u64,
    /// The leaf's permission bits, in the mechanism's format (for Sv39 the
    /// low eight bits of the PTE: V R W X U G A D). The mechanism checks
    /// them on every hit, exactly as after a walk.
    pub perms: u64,
}

impl TlbEntry {
    /// The physical address of `va` through this entry (`va` must be in
    /// its page).
    #[inline(always)]
    pub const fn pa(&self, va: u64) -> u64 {
        self.frame | (va & ((1u64 << self.page_bits) - 1))
    }

    /// Whether the entry translates `va` in address space `asid`
    /// (`tagged`: ASIDs count; global entries match everywhere).
    #[inline(always)]
    pub const fn matches(&self, va: u64, asid: u16, tagged: bool) -> bool {
        va >> self.page_bits == self.vpn && (self.global || !tagged || self.asid == asid)
    }
}

/// The TLB's counters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct TlbStats {
    /// Lookups that found their page.
    pub hits: u64,
    /// Lookups that did not (each followed by a walk).
    pub misses: u64,
    /// Valid entries replaced by a fill.
    pub evictions: u64,
    /// Flush operations (`sfence.vma`, or a context switch without ASIDs).
    pub flushes: u64,
    /// Entries removed by flushes.
    pub flushed_entries: u64,
}

impl TlbStats {
    /// Hits over lookups, 0 before the first lookup.
    pub fn hit_rate(&self) -> f64 {
        let lookups = self.hits + self.misses;
        if lookups == 0 {
            0.0
        } else {
            self.hits as f64 / lookups as f64
        }
    }
}

/// The last hit of one kind of access (fetches, data), field by field
/// (so that the hit path reads only what it needs, in registers): the slot
/// hit and what the entry there says about the page of `key`. Valid for the
/// same page (`key = va & page_mask`) and ASID until the TLB's contents
/// change: every fill and flush sets `key` to [`NO_KEY`].
#[derive(Clone, PartialEq, Eq, Debug)]
struct Memo {
    key: Cell<u64>,
    asid: Cell<u16>,
    slot: Cell<u32>,
    /// The physical address of the first byte of the `key` page.
    base: Cell<u64>,
    /// The entry's permission bits.
    perms: Cell<u64>,
}

/// A memo key no address has (`va & page_mask` has bit 0 clear).
const NO_KEY: u64 = u64::MAX;

impl Default for Memo {
    fn default() -> Self {
        Self {
            key: Cell::new(NO_KEY),
            asid: Cell::new(0),
            slot: Cell::new(0),
            base: Cell::new(0),
            perms: Cell::new(0),
        }
    }
}

/// What a TLB's memo of fetches or of data accesses vouches for
/// ([`Tlb::ticket`]): the
/// virtual range `[va, va + len)` translates to `[pa, pa + len)` with the
/// entry's permission bits `perms`, through slot `slot`, for as long as the
/// TLB's contents stay at `generation`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct TlbTicket {
    /// The first virtual address of the range.
    pub va: u64,
    /// The range's length in bytes (a power of two, 4 KiB or more).
    pub len: u64,
    /// Where `va` lands.
    pub pa: u64,
    /// The entry's permission bits.
    pub perms: u64,
    /// The slot hit.
    pub slot: u32,
    /// The TLB's contents generation.
    pub generation: u64,
}

/// A TLB: `sets x ways` entries with their replacement state and counters.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Tlb {
    config: TlbConfig,
    set_mask: u64,
    /// `sets * ways` slots, set by set.
    slots: Box<[Cell<Option<TlbEntry>>]>,
    /// LRU: the tick of each slot's last use; FIFO: of its fill.
    stamps: Box<[Cell<u64>]>,
    /// Clock: each slot used since the hand last passed.
    referenced: Box<[Cell<bool>]>,
    /// The clock hand of each set (a way index).
    hands: Box<[Cell<usize>]>,
    /// Slot index hints by the low bits of `va >> hint_bits`.
    hints: Box<[Cell<u32>]>,
    hint_bits: Cell<u32>,
    /// `!(2^hint_bits - 1)`: the page part of an address, for the memos.
    page_mask: Cell<u64>,
    /// The last hit of fetches (0) and of loads and stores (1).
    memos: [Memo; 2],
    /// Bit `b` set: some entry maps pages of `2^b` bytes.
    sizes: Cell<u64>,
    tick: Cell<u64>,
    /// Bumped whenever the contents change (every fill and flush): a
    /// [`TlbTicket`] of an older generation no longer holds.
    generation: Cell<u64>,
    rng: Cell<u64>,
    hits: Cell<u64>,
    misses: Cell<u64>,
    evictions: Cell<u64>,
    flushes: Cell<u64>,
    flushed_entries: Cell<u64>,
}

impl Tlb {
    /// An empty TLB shaped by `config` (already validated by
    /// [`TlbConfig::new`] or [`TlbConfig::parse`]).
    pub fn new(config: TlbConfig) -> Self {
        let n = config.entries();
        Self {
            config,
            set_mask: (config.sets() - 1) as u64,
            slots: (0..n).map(|_| Cell::new(None)).collect(),
            stamps: (0..n).map(|_| Cell::new(0)).collect(),
            referenced: (0..n).map(|_| Cell::new(false)).collect(),
            hands: (0..config.sets()).map(|_| Cell::new(0)).collect(),
            hints: (0..HINTS).map(|_| Cell::new(0)).collect(),
            hint_bits: Cell::new(12),
            page_mask: Cell::new(!0xfff),
            memos: [Memo::default(), Memo::default()],
            sizes: Cell::new(0),
            tick: Cell::new(0),
            generation: Cell::new(0),
            rng: Cell::new(if config.seed == 0 {
                0x9e37_79b9_7f4a_7c15
            } else {
                config.seed
            }),
            hits: Cell::new(0),
            misses: Cell::new(0),
            evictions: Cell::new(0),
            flushes: Cell::new(0),
            flushed_entries: Cell::new(0),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &TlbConfig {
        &self.config
    }

    /// The counters so far.
    pub fn stats(&self) -> TlbStats {
        TlbStats {
            hits: self.hits.get(),
            misses: self.misses.get(),
            evictions: self.evictions.get(),
            flushes: self.flushes.get(),
            flushed_entries: self.flushed_entries.get(),
        }
    }

    /// Sets every counter back to zero (the contents stay).
    pub fn reset_stats(&self) {
        for c in [
            &self.hits,
            &self.misses,
            &self.evictions,
            &self.flushes,
            &self.flushed_entries,
        ] {
            c.set(0);
        }
    }

    /// Every valid entry with its set and way, set by set.
    pub fn entries(&self) -> Vec<(usize, usize, TlbEntry)> {
        let ways = self.config.ways();
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.get().map(|e| (i / ways, i % ways, e)))
            .collect()
    }

    #[inline(always)]
    fn tagged(&self) -> bool {
        self.config.tagging == Tagging::Asid
    }

    #[inline(always)]
    fn next_tick(&self) -> u64 {
        let t = self.tick.get() + 1;
        self.tick.set(t);
        t
    }

    #[inline(always)]
    fn bump(counter: &Cell<u64>, by: u64) {
        counter.set(counter.get() + by);
    }

    /// The contents changed: every memo is stale.
    #[inline(always)]
    fn changed(&self) {
        for m in &self.memos {
            m.key.set(NO_KEY);
        }
        Self::bump(&self.generation, 1);
    }

    /// After an `access` at `va` in address space `asid` that hit or
    /// filled: when the memo of that kind of access (fetches, data) holds
    /// `va`'s page, the ticket for it — the virtual range the memo answers,
    /// where it lands, the entry's permission bits, and the slot and
    /// contents generation it stands for. Every access of that kind in the
    /// range, while [`Tlb::ticket_holds`], is a hit on that slot
    /// ([`Tlb::ticket_hit`] counts it as [`Tlb::lookup`] would).
    pub fn ticket(&self, va: u64, asid: u16, access: Access) -> Option<TlbTicket> {
        let m = &self.memos[(access != Access::Fetch) as usize];
        let mask = self.page_mask.get();
        (m.key.get() == va & mask && m.asid.get() == asid).then(|| TlbTicket {
            va: m.key.get(),
            len: (!mask).wrapping_add(1),
            pa: m.base.get(),
            perms: m.perms.get(),
            slot: m.slot.get(),
            generation: self.generation.get(),
        })
    }

    /// Whether the contents are still those `ticket` was taken on.
    #[inline(always)]
    pub fn ticket_holds(&self, ticket: &TlbTicket) -> bool {
        self.generation.get() == ticket.generation
    }

    /// An access answered by `ticket` (which holds): counted as a hit on its
    /// slot, with the replacement policy told, as a lookup would.
    #[inline(always)]
    pub fn ticket_hit(&self, ticket: &TlbTicket) {
        self.hit(ticket.slot as usize);
    }

    #[inline(always)]
    fn hint_slot(&self, va: u64) -> usize {
        ((va >> self.hint_bits.get()) as usize) & (HINTS - 1)
    }

    /// The first slot of the set `va` falls in for pages of `2^page_bits`.
    #[inline(always)]
    fn set_start(&self, va: u64, page_bits: u32) -> usize {
        (((va >> page_bits) & self.set_mask) as usize) * self.config.ways()
    }

    /// A hit in slot `i`: count it and tell the replacement policy.
    #[inline(always)]
    fn hit(&self, i: usize) {
        Self::bump(&self.hits, 1);
        match self.config.policy {
            Policy::Lru => {
                let stamp = self.next_tick();
                if let Some(s) = self.stamps.get(i) {
                    s.set(stamp);
                }
            }
            Policy::Clock => {
                if let Some(r) = self.referenced.get(i) {
                    r.set(true);
                }
            }
            Policy::Fifo | Policy::Random => {}
        }
    }

    /// Looks `va` up in address space `asid`: the entry that maps it (a
    /// hit), or `None` (a miss: the caller walks and [`Tlb::fill`]s).
    /// Counts the hit or miss and updates the replacement state. `access`
    /// only steers which memo of the last hit is tried first (fetches and
    /// data accesses each have one); it never changes the answer.
    pub fn lookup(&self, va: u64, asid: u16, access: Access) -> Option<TlbEntry> {
        let k = (access != Access::Fetch) as usize;
        if self.memo_hit(va, asid, k).is_some() {
            return self.slots[self.memos[k].slot.get() as usize].get();
        }
        self.search(va, asid, k)
    }

    /// [`Tlb::lookup`] for the hit path of a translation: on a hit, the
    /// physical address of `va` and the entry's permission bits, with no
    /// entry copied. Counts and updates exactly as `lookup` does.
    #[inline(always)]
    pub fn lookup_pa(&self, va: u64, asid: u16, access: Access) -> Option<(u64, u64)> {
        let k = (access != Access::Fetch) as usize;
        if let Some(hit) = self.memo_hit(va, asid, k) {
            return Some(hit);
        }
        self.search(va, asid, k).map(|e| (e.pa(va), e.perms))
    }

    /// The memo of access kind `k`, if it holds the page of `va` in
    /// `asid`: a hit, counted.
    #[inline(always)]
    fn memo_hit(&self, va: u64, asid: u16, k: usize) -> Option<(u64, u64)> {
        let m = &self.memos[k];
        let mask = self.page_mask.get();
        if m.key.get() == va & mask && m.asid.get() == asid {
            self.hit(m.slot.get() as usize);
            return Some((m.base.get() | (va & !mask), m.perms.get()));
        }
        None
    }

    /// Past the memo: the hinted slot, then each page size present, its
    /// set, every way. A hit becomes the memo of its kind of access.
    #[inline(never)]
    fn search(&self, va: u64, asid: u16, memo: usize) -> Option<TlbEntry> {
        let tagged = self.tagged();
        let h = self.hint_slot(va);
        let hinted = self.hints[h].get() as usize;
        let found = match self.slots[hinted].get() {
            Some(e) if e.matches(va, asid, tagged) => Some((hinted, e)),
            _ => {
                let mut found = None;
                let mut sizes = self.sizes.get();
                'sizes: while sizes != 0 {
                    let page_bits = sizes.trailing_zeros();
                    sizes &= sizes - 1;
                    let start = self.set_start(va, page_bits);
                    for i in start..start + self.config.ways() {
                        if let Some(e) = self.slots[i].get() {
                            if e.matches(va, asid, tagged) {
                                found = Some((i, e));
                                break 'sizes;
                            }
                        }
                    }
                }
                found
            }
        };
        match found {
            Some((i, e)) => {
                self.hints[h].set(i as u32);
                let m = &self.memos[memo];
                let mask = self.page_mask.get();
                m.key.set(va & mask);
                m.asid.set(asid);
                m.slot.set(i as u32);
                m.base.set(e.pa(va) & mask);
                m.perms.set(e.perms);
                self.hit(i);
                Some(e)
            }
            None => {
                Self::bump(&self.misses, 1);
                None
            }
        }
    }

    /// Fills `entry` after a miss, in its set: into the first empty way, or
    /// over the victim the policy picks (counted as an eviction). An entry
    /// already mapping the same page in the same address space is replaced
    /// in place.
    ///
    /// An entry whose `page_bits` is not 1 to 63 is not kept.
    pub fn fill(&self, entry: TlbEntry) {
        if entry.page_bits == 0 || entry.page_bits >= 64 {
            return;
        }
        let ways = self.config.ways();
        let start = self.set_start(entry.vpn << entry.page_bits, entry.page_bits);
        let set = start / ways;
        let same = (start..start + ways).find(|&i| {
            self.slots[i].get().is_some_and(|e| {
                e.vpn == entry.vpn && e.page_bits == entry.page_bits && e.asid == entry.asid
            })
        });
        let empty = || (start..start + ways).find(|&i| self.slots[i].get().is_none());
        let i = match same.or_else(empty) {
            Some(i) => i,
            None => {
                Self::bump(&self.evictions, 1);
                start + self.victim(set, start)
            }
        };
        self.changed();
        self.slots[i].set(Some(entry));
        let stamp = self.next_tick();
        self.stamps[i].set(stamp);
        self.referenced[i].set(true);
        self.sizes.set(self.sizes.get() | 1 << entry.page_bits);
        let smallest = self.sizes.get().trailing_zeros();
        self.hint_bits.set(smallest);
        self.page_mask.set(!((1u64 << smallest) - 1));
        let va = entry.vpn << entry.page_bits;
        self.hints[self.hint_slot(va)].set(i as u32);
    }

    /// The way of a full set the policy gives up.
    fn victim(&self, set: usize, start: usize) -> usize {
        let ways = self.config.ways();
        let oldest = || {
            (0..ways)
                .min_by_key(|&w| self.stamps[start + w].get())
                .unwrap_or(0)
        };
        match self.config.policy {
            Policy::Lru | Policy::Fifo => oldest(),
            Policy::Random => {
                // xorshift64: the same seed, the same victims.
                let mut x = self.rng.get();
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                self.rng.set(x);
                (x % ways as u64) as usize
            }
            Policy::Clock => {
                let hand = &self.hands[set];
                loop {
                    let w = hand.get();
                    hand.set((w + 1) % ways);
                    let used = &self.referenced[start + w];
                    if !used.get() {
                        return w;
                    }
                    used.set(false);
                }
            }
        }
    }

    /// `sfence.vma`: removes the entries it names and counts one flush.
    ///
    /// | `va` | `asid` | removes |
    /// | --- | --- | --- |
    /// | `None` | `None` | every entry |
    /// | `Some` | `None` | the entries mapping `va`, in every address space |
    /// | `None` | `Some` | the entries of `asid` that are not global |
    /// | `Some` | `Some` | the entries mapping `va` in `asid`, not global |
    ///
    /// Returns how many entries were removed.
    pub fn flush(&self, va: Option<u64>, asid: Option<u16>) -> u64 {
        let removed = self.remove(|e| {
            va.is_none_or(|va| va >> e.page_bits == e.vpn)
                && asid.is_none_or(|a| !e.global && e.asid == a)
        });
        Self::bump(&self.flushes, 1);
        Self::bump(&self.flushed_entries, removed);
        removed
    }

    /// Removes every entry (`sfence.vma` with no operands).
    pub fn flush_all(&self) -> u64 {
        self.flush(None, None)
    }

    /// `satp` was written (a context switch). Without ASIDs every entry that
    /// is not global goes, counted as one flush; with ASIDs nothing changes
    /// (reusing an ASID for other tables is the kernel's to flush).
    pub fn switch_address_space(&self) {
        if self.config.tagging == Tagging::FlushOnSwitch {
            let removed = self.remove(|e| !e.global);
            Self::bump(&self.flushes, 1);
            Self::bump(&self.flushed_entries, removed);
        }
    }

    fn remove(&self, doomed: impl Fn(&TlbEntry) -> bool) -> u64 {
        self.changed();
        let mut removed = 0;
        for (i, slot) in self.slots.iter().enumerate() {
            if slot.get().is_some_and(|e| doomed(&e)) {
                slot.set(None);
                self.stamps[i].set(0);
                self.referenced[i].set(false);
                removed += 1;
            }
        }
        if self.slots.iter().all(|s| s.get().is_none()) {
            self.sizes.set(0);
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(asid: u16, vpn: u64) -> TlbEntry {
        TlbEntry {
            asid,
            global: false,
            vpn,
            page_bits: 12,
            frame: (vpn + 0x100) << 12,
            perms: 0xff,
        }
    }

    fn tlb(entries: usize, ways: usize, policy: Policy) -> Tlb {
        Tlb::new(TlbConfig::new(entries, ways, policy).unwrap())
    }

    /// Looks `vpn` up and fills it on a miss; true on a hit.
    fn touch(t: &Tlb, asid: u16, vpn: u64) -> bool {
        if t.lookup(vpn << 12, asid, Access::Read).is_some() {
            return true;
        }
        t.fill(entry(asid, vpn));
        false
    }

    #[test]
    fn bad_configurations_are_refused_with_their_numbers() {
        assert_eq!(
            TlbConfig::new(0, 1, Policy::Lru),
            Err(TlbConfigError::Entries(0))
        );
        assert!(matches!(
            TlbConfig::new(64, 5, Policy::Lru),
            Err(TlbConfigError::Ways { .. })
        ));
        let e = TlbConfig::new(12, 2, Policy::Lru).unwrap_err();
        assert_eq!(
            e.to_string(),
            "12 entries in 2 ways make 6 sets: the number of sets must be a power of two"
        );
        assert!(TlbConfig::parse("64,4,sometimes").is_err());
        assert!(
            TlbConfig::parse("lots")
                .unwrap_err()
                .to_string()
                .contains("'lots'")
        );
        assert!(TlbConfig::parse("64,4,lru,asid,more").is_err());
    }

    #[test]
    fn parse_reads_entries_ways_policy_and_tagging() {
        let c = TlbConfig::parse("64").unwrap();
        assert_eq!((c.entries(), c.ways(), c.sets()), (64, 64, 1));
        assert_eq!(c, TlbConfig::default());
        let c = TlbConfig::parse("32,4,clock,flush").unwrap();
        assert_eq!(
            (c.sets(), c.policy, c.tagging),
            (8, Policy::Clock, Tagging::FlushOnSwitch)
        );
        assert_eq!(TlbConfig::parse("16,direct").unwrap().ways(), 1);
        assert_eq!(
            TlbConfig::parse("16,4,fifo").unwrap().to_string(),
            "16 entries, 4-way set-associative, FIFO, ASID-tagged"
        );
    }

    #[test]
    fn the_array_walk_of_the_lecture_hits_seven_of_ten() {
        // Ten 4-byte integers from va 100 with 16-byte pages: pages 6..=8.
        let t = tlb(16, 16, Policy::Lru);
        let mut seen = String::new();
        for i in 0..10u64 {
            let va = 100 + 4 * i;
            let hit = t.lookup(va, 0, Access::Read).is_some();
            if !hit {
                t.fill(TlbEntry {
                    page_bits: 4,
                    vpn: va >> 4,
                    ..entry(0, 0)
                });
            }
            seen.push(if hit { 'h' } else { 'm' });
        }
        assert_eq!(seen, "mhhmhhhmhh");
        assert_eq!((t.stats().hits, t.stats().misses), (7, 3));
    }

    #[test]
    fn asids_keep_address_spaces_apart_and_global_entries_match_everywhere() {
        let t = tlb(8, 8, Policy::Lru);
        t.fill(entry(1, 5));
        assert!(t.lookup(5 << 12, 1, Access::Read).is_some());
        assert!(t.lookup(5 << 12, 2, Access::Read).is_none());
        t.fill(TlbEntry {
            global: true,
            ..entry(1, 6)
        });
        assert!(t.lookup(6 << 12, 2, Access::Read).is_some());
        // Flushing ASID 1 keeps the global entry.
        assert_eq!(t.flush(None, Some(1)), 1);
        assert!(t.lookup(6 << 12, 1, Access::Read).is_some());
        assert!(t.lookup(5 << 12, 1, Access::Read).is_none());
    }

    #[test]
    fn without_asids_a_switch_flushes_all_but_global_entries() {
        let t = Tlb::new(TlbConfig::default().with_tagging(Tagging::FlushOnSwitch));
        t.fill(entry(1, 5));
        t.fill(TlbEntry {
            global: true,
            ..entry(1, 6)
        });
        // Untagged: another ASID still matches until the switch flushes.
        assert!(t.lookup(5 << 12, 2, Access::Read).is_some());
        t.switch_address_space();
        assert!(t.lookup(5 << 12, 2, Access::Read).is_none());
        assert!(t.lookup(6 << 12, 2, Access::Read).is_some());
        assert_eq!((t.stats().flushes, t.stats().flushed_entries), (1, 1));
        // With ASIDs a switch changes nothing.
        let t = tlb(8, 8, Policy::Lru);
        t.fill(entry(1, 5));
        t.switch_address_space();
        assert_eq!(t.stats().flushes, 0);
        assert!(t.lookup(5 << 12, 1, Access::Read).is_some());
    }

    #[test]
    fn sfence_vma_removes_what_its_operands_name() {
        let fill = || {
            let t = tlb(16, 16, Policy::Lru);
            for (asid, vpn) in [(1, 1), (1, 2), (2, 1), (2, 2)] {
                t.fill(entry(asid, vpn));
            }
            t.fill(TlbEntry {
                global: true,
                ..entry(3, 1)
            });
            t
        };
        assert_eq!(fill().flush(None, None), 5);
        assert_eq!(fill().flush(Some(1 << 12 | 0x123), None), 3);
        assert_eq!(fill().flush(None, Some(1)), 2);
        assert_eq!(fill().flush(Some(1 << 12), Some(2)), 1);
        assert_eq!(fill().flush(Some(1 << 12), Some(3)), 0, "global stays");
    }

    #[test]
    fn direct_mapped_pages_with_the_same_index_evict_each_other() {
        let t = tlb(4, 1, Policy::Lru);
        assert!(!touch(&t, 0, 1));
        assert!(!touch(&t, 0, 5));
        assert!(!touch(&t, 0, 1));
        assert!(!touch(&t, 0, 2));
        assert!(touch(&t, 0, 1));
        assert_eq!(t.stats().evictions, 2);
    }

    #[test]
    fn superpages_hit_anywhere_in_their_range() {
        let t = tlb(8, 2, Policy::Lru);
        t.fill(TlbEntry {
            page_bits: 21,
            vpn: 1,
            frame: 0x40_0000,
            ..entry(0, 0)
        });
        t.fill(entry(0, 3));
        let e = t.lookup(0x3f_fff8, 0, Access::Write).unwrap();
        assert_eq!(e.pa(0x3f_fff8), 0x5f_fff8);
        assert!(t.lookup(3 << 12, 0, Access::Read).is_some());
        assert!(t.lookup(0x40_0000, 0, Access::Read).is_none());
    }

    #[test]
    fn each_policy_picks_its_victim() {
        // Fill A B C D, use A, then E needs a victim.
        let victim = |policy| {
            let t = tlb(4, 4, policy);
            for vpn in 1..=4 {
                touch(&t, 0, vpn);
            }
            touch(&t, 0, 1);
            touch(&t, 0, 9);
            (1..=4)
                .filter(|&v| t.lookup(v << 12, 0, Access::Read).is_none())
                .collect::<Vec<_>>()
        };
        assert_eq!(victim(Policy::Lru), vec![2]);
        assert_eq!(victim(Policy::Fifo), vec![1]);
        // Clock: all referenced since filled; the hand clears A..D and takes A.
        assert_eq!(victim(Policy::Clock), vec![1]);
        assert_eq!(victim(Policy::Random).len(), 1);
    }

    mod properties {
        //! Each policy against a plain model: a list of pages per set.

        use super::*;
        use proptest::prelude::*;

        /// The reference: per set, `ways` places holding a page or nothing,
        /// with the policy's bookkeeping done the simplest way.
        struct Model {
            ways: usize,
            policy: Policy,
            places: Vec<Vec<Option<u64>>>,
            /// LRU: pages by recency, most recent last; FIFO: by fill time.
            order: Vec<Vec<u64>>,
            /// Clock: the hand and the reference bits.
            hand: Vec<usize>,
            used: Vec<Vec<bool>>,
            rng: u64,
        }

        impl Model {
            fn new(entries: usize, ways: usize, policy: Policy) -> Self {
                let sets = entries / ways;
                Model {
                    ways,
                    policy,
                    places: vec![vec![None; ways]; sets],
                    order: vec![Vec::new(); sets],
                    hand: vec![0; sets],
                    used: vec![vec![false; ways]; sets],
                    rng: 1,
                }
            }

            /// true on a hit.
            fn touch(&mut self, vpn: u64) -> bool {
                let set = (vpn as usize) % self.places.len();
                if let Some(w) = self.places[set].iter().position(|p| *p == Some(vpn)) {
                    match self.policy {
                        Policy::Lru => {
                            self.order[set].retain(|&p| p != vpn);
                            self.order[set].push(vpn);
                        }
                        Policy::Clock => self.used[set][w] = true,
                        _ => {}
                    }
                    return true;
                }
                let w = match self.places[set].iter().position(Option::is_none) {
                    Some(w) => w,
                    None => match self.policy {
                        Policy::Lru | Policy::Fifo => {
                            let old = self.order[set].remove(0);
                            self.places[set]
                                .iter()
                                .position(|p| *p == Some(old))
                                .unwrap()
                        }
                        Policy::Random => {
                            self.rng ^= self.rng << 13;
                            self.rng ^= self.rng >> 7;
                            self.rng ^= self.rng << 17;
                            let w = (self.rng % self.ways as u64) as usize;
                            let old = self.places[set][w].unwrap();
                            self.order[set].retain(|&p| p != old);
                            w
                        }
                        Policy::Clock => loop {
                            let w = self.hand[set];
                            self.hand[set] = (w + 1) % self.ways;
                            if self.used[set][w] {
                                self.used[set][w] = false;
                            } else {
                                break w;
                            }
                        },
                    },
                };
                if let Some(old) = self.places[set][w] {
                    self.order[set].retain(|&p| p != old);
                }
                self.places[set][w] = Some(vpn);
                self.order[set].push(vpn);
                self.used[set][w] = true;
                false
            }

            fn flush(&mut self, vpn: u64) {
                let set = (vpn as usize) % self.places.len();
                if let Some(w) = self.places[set].iter().position(|p| *p == Some(vpn)) {
                    self.places[set][w] = None;
                    self.used[set][w] = false;
                    self.order[set].retain(|&p| p != vpn);
                }
            }
        }

        fn policy() -> impl Strategy<Value = Policy> {
            prop::sample::select(vec![
                Policy::Lru,
                Policy::Fifo,
                Policy::Random,
                Policy::Clock,
            ])
        }

        proptest! {
            #[test]
            fn every_policy_matches_the_reference_model(
                policy in policy(),
                shape in prop::sample::select(vec![(1usize, 1usize), (4, 4), (4, 1), (8, 2), (16, 4), (16, 16)]),
                refs in prop::collection::vec((0u64..24, 0u8..10), 1..400),
            ) {
                let (entries, ways) = shape;
                let t = tlb(entries, ways, policy);
                let mut model = Model::new(entries, ways, policy);
                for (vpn, op) in refs {
                    if op == 0 {
                        t.flush(Some(vpn << 12), None);
                        model.flush(vpn);
                    } else {
                        prop_assert_eq!(touch(&t, 0, vpn), model.touch(vpn), "vpn {}", vpn);
                    }
                }
                let mut held: Vec<u64> = t.entries().iter().map(|(_, _, e)| e.vpn).collect();
                let mut expected: Vec<u64> = model.places.iter().flatten().flatten().copied().collect();
                held.sort_unstable();
                expected.sort_unstable();
                prop_assert_eq!(held, expected);
            }
        }
    }
}
