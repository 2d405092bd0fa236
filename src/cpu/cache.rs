//! The decoded-instruction cache: each instruction word is decoded once and
//! kept per *physical* address, so the fetch path after translation is an
//! array lookup.
//!
//! Correctness when code changes: physical memory counts writes per 4 KiB
//! frame (`PhysicalMemory::generation`). Each cached frame remembers the
//! generation its instructions were decoded at; a fetch from a frame whose
//! generation moved on (a store by the program — self-modifying code — or a
//! write by the kernel's loader, swapper or compaction) drops the frame's
//! decoded instructions and decodes again. The generation is compared when
//! fetching enters a frame; within one frame, only a store of the CPU itself
//! can change the code, and the CPU tells the cache of each store
//! ([`DecodeCache::stored`]): a store over a decoded instruction drops the
//! frame's decoded instructions, a store over bytes none came from (data that
//! shares the frame with code) keeps them.
//!
//! The fetch window: for an MMU whose translations stay right for a whole
//! run ([`crate::mmu::Mmu::translation_is_stable`]), the CPU tells the cache
//! which virtual addresses fetch from the current frame, and where
//! ([`DecodeCache::open_window`]): the MMU's own answer for those bytes,
//! checked with one span translation. A fetch inside the window is then a
//! subtraction, a compare and an array lookup
//! ([`DecodeCache::fetch_in_window`]). Leaving the frame, a recheck and the
//! start of every run close the window.

use super::decode::decode;
use crate::addr::PhysAddr;
use crate::memory::{FRAME_SIZE, MemoryError, PhysicalMemory};
use crate::mmu::TlbTicket;
use std::collections::HashMap;

const SLOTS: usize = (FRAME_SIZE / 4) as usize;
/// Beyond this many cached frames (8 KiB each) the cache starts over.
const MAX_FRAMES: usize = 4096;
/// A slot whose word is not decoded yet. Slots hold packed instructions
/// ([`Inst::pack`](super::Inst::pack), never `u64::MAX`): one load on the fetch path.
const UNDECODED: u64 = u64::MAX;

/// `current_frame` when no frame is current (no physical frame has it).
const NO_FRAME: u64 = u64::MAX;

#[derive(Debug)]
struct CachedFrame {
    generation: u64,
    slots: Box<[u64; SLOTS]>,
}

/// Decoded instructions per physical frame.
#[derive(Debug)]
pub struct DecodeCache {
    index: HashMap<u64, usize>,
    frames: Vec<CachedFrame>,
    /// The frame number and index of the last frame fetched from.
    current: Option<(u64, usize)>,
    /// The frame number of `current`, or [`NO_FRAME`] when there is none:
    /// the one compare the fetch path makes (a frame number is below 2^52).
    current_frame: u64,
    /// The slots of the current frame, moved out of `frames[index]` while
    /// it is current (one indirection less on every fetch).
    slots: Box<[u64; SLOTS]>,
    /// The fetch window: virtual addresses `[window_va, window_va +
    /// window_len)` fetch from physical `window_pa + (va - window_va)`,
    /// inside the current frame. `window_len` 0: no window.
    window_va: u64,
    window_len: u64,
    window_pa: u64,
    /// For a window opened on a simulated TLB's memo of fetches: the
    /// ticket each fetch in it must still hold ([`crate::mmu::TlbTicket`]).
    ticket: TlbTicket,
}

impl Default for DecodeCache {
    fn default() -> Self {
        Self::new()
    }
}

impl DecodeCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self {
            index: HashMap::new(),
            frames: Vec::new(),
            current: None,
            current_frame: NO_FRAME,
            slots: Box::new([UNDECODED; SLOTS]),
            window_va: 0,
            window_len: 0,
            window_pa: 0,
            ticket: TlbTicket::default(),
        }
    }

    #[cold]
    fn select(&mut self, frame: u64) -> usize {
        if let Some(&i) = self.index.get(&frame) {
            return i;
        }
        if self.frames.len() >= MAX_FRAMES {
            self.index.clear();
            self.frames.clear();
        }
        self.frames.push(CachedFrame {
            generation: 0,
            slots: Box::new([UNDECODED; SLOTS]),
        });
        let i = self.frames.len() - 1;
        self.index.insert(frame, i);
        i
    }

    /// Forgets which frame was fetched from last, so the next fetch checks
    /// that frame's write generation again. Called when the CPU starts a run
    /// (memory may have been written in between) and after a store of the
    /// CPU into the frame it is executing from.
    #[inline(always)]
    pub fn recheck(&mut self) {
        self.leave();
    }

    /// Puts the current frame's slots back in place.
    #[inline(always)]
    fn leave(&mut self) {
        self.current_frame = NO_FRAME;
        self.window_len = 0;
        if let Some((_, i)) = self.current.take() {
            std::mem::swap(&mut self.slots, &mut self.frames[i].slots);
        }
    }

    /// Tells the cache that the CPU stored `size` bytes at `pa` (one aligned
    /// store, already in `mem`). A store outside the current frame changes
    /// nothing here (entering that frame compares its generation). A store
    /// into the current frame over bytes no decoded instruction came from —
    /// data that shares a frame with code — keeps the decoded instructions,
    /// now right at the frame's new generation; a store over a decoded
    /// instruction (self-modifying code) drops them all
    /// ([`Self::recheck`]).
    #[inline(always)]
    pub fn stored(&mut self, mem: &PhysicalMemory, pa: PhysAddr, size: u64) {
        if self.current_frame == pa.as_u64() / FRAME_SIZE {
            self.stored_in_current(mem, pa, size);
        }
    }

    #[inline(never)]
    fn stored_in_current(&mut self, mem: &PhysicalMemory, pa: PhysAddr, size: u64) {
        let a = pa.as_u64() % FRAME_SIZE;
        let first = (a / 4) as usize;
        let last = ((a + size.max(1) - 1).min(FRAME_SIZE - 1) / 4) as usize;
        let untouched = self.slots[first..=last].iter().all(|&s| s == UNDECODED);
        match self.current {
            Some((_, i)) if untouched => self.frames[i].generation = mem.generation(pa),
            _ => self.leave(),
        }
    }

    /// The instruction at `pa` (4-byte aligned), packed ([`Inst::pack`](super::Inst::pack)),
    /// decoded now or earlier from the bytes memory holds now.
    ///
    /// The write generation of a frame is checked when fetching moves into
    /// it (or after [`Self::recheck`]); staying in the same frame costs an
    /// array lookup. Returns a [`MemoryError`] if the word is beyond memory.
    #[inline(always)]
    pub fn fetch(&mut self, mem: &PhysicalMemory, pa: PhysAddr) -> Result<u64, MemoryError> {
        let a = pa.as_u64();
        let frame = a / FRAME_SIZE;
        if self.current_frame != frame {
            self.enter(mem, pa, frame);
        }
        let slot = &mut self.slots[((a % FRAME_SIZE) / 4) as usize];
        if *slot != UNDECODED {
            return Ok(*slot);
        }
        let packed = decode(mem.read_le(pa, 4)? as u32).pack();
        *slot = packed;
        Ok(packed)
    }

    /// The physical address and packed instruction of a fetch at `va` when `va`
    /// lies in the fetch window and its instruction is decoded; `None`
    /// otherwise (translate and [`Self::fetch`] instead).
    #[inline(always)]
    pub fn fetch_in_window(&self, va: u64) -> Option<(PhysAddr, u64)> {
        let offset = va.wrapping_sub(self.window_va);
        if offset >= self.window_len {
            return None;
        }
        let a = self.window_pa + offset;
        let slot = self.slots[((a % FRAME_SIZE) / 4) as usize];
        (slot != UNDECODED).then_some((PhysAddr::new(a), slot))
    }

    /// Opens the fetch window `[va, va + len)` to physical `[pa, pa + len)`.
    ///
    /// The caller promises that the MMU translates a fetch at every one of
    /// those bytes to its place in that physical range, and keeps doing so
    /// until the next [`Self::recheck`] (the CPU checks it with one span
    /// translation, on an MMU whose translations are stable for the run).
    /// Ignored unless the range lies in the current frame.
    #[inline]
    pub fn open_window(&mut self, va: u64, pa: u64, len: u64) {
        let in_frame = pa / FRAME_SIZE == self.current_frame
            && len > 0
            && (pa % FRAME_SIZE)
                .checked_add(len)
                .is_some_and(|end| end <= FRAME_SIZE)
            && va.checked_add(len - 1).is_some();
        if in_frame {
            self.window_va = va;
            self.window_len = len;
            self.window_pa = pa;
        }
    }

    /// Opens the fetch window `[va, va + len)` to `[pa, pa + len)` on the
    /// word of a simulated TLB (`ticket`): as [`Self::open_window`], and
    /// the CPU asks the MMU whether the ticket holds before each use.
    #[inline]
    pub fn open_ticket_window(&mut self, va: u64, pa: u64, len: u64, ticket: TlbTicket) {
        self.open_window(va, pa, len);
        self.ticket = ticket;
    }

    /// The ticket of the window opened with [`Self::open_ticket_window`].
    #[inline(always)]
    pub fn ticket(&self) -> &TlbTicket {
        &self.ticket
    }

    /// Fetching moves into `frame`: find its cached instructions and drop
    /// them if the frame was written since they were decoded.
    #[cold]
    fn enter(&mut self, mem: &PhysicalMemory, pa: PhysAddr, frame: u64) {
        self.leave();
        let index = self.select(frame);
        let cached = &mut self.frames[index];
        let generation = mem.generation(pa);
        if cached.generation != generation {
            cached.slots.fill(UNDECODED);
            cached.generation = generation;
        }
        std::mem::swap(&mut self.slots, &mut cached.slots);
        self.current = Some((frame, index));
        self.current_frame = frame;
    }
}
