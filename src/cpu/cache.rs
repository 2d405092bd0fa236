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
//! can change the code, and the CPU then asks for a recheck
//! ([`DecodeCache::recheck`]).

use super::decode::{Inst, decode};
use crate::addr::PhysAddr;
use crate::memory::{FRAME_SIZE, MemoryError, PhysicalMemory};
use std::collections::HashMap;

const SLOTS: usize = (FRAME_SIZE / 4) as usize;
/// Beyond this many cached frames (8 KiB each) the cache starts over.
const MAX_FRAMES: usize = 4096;
/// `current_frame` when no frame is current (no physical frame has it).
const NO_FRAME: u64 = u64::MAX;

#[derive(Debug)]
struct CachedFrame {
    generation: u64,
    slots: Box<[Option<Inst>; SLOTS]>,
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
    slots: Box<[Option<Inst>; SLOTS]>,
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
            slots: Box::new([None; SLOTS]),
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
            slots: Box::new([None; SLOTS]),
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
        if let Some((_, i)) = self.current.take() {
            std::mem::swap(&mut self.slots, &mut self.frames[i].slots);
        }
    }

    /// The frame number fetched from last, if any.
    #[inline(always)]
    pub fn current_frame(&self) -> Option<u64> {
        self.current.map(|(f, _)| f)
    }

    /// Whether `frame` is the frame fetched from last (one compare).
    #[inline(always)]
    pub fn is_current(&self, frame: u64) -> bool {
        self.current_frame == frame
    }

    /// The instruction at `pa` (4-byte aligned), decoded now or earlier from
    /// the bytes memory holds now.
    ///
    /// The write generation of a frame is checked when fetching moves into
    /// it (or after [`Self::recheck`]); staying in the same frame costs an
    /// array lookup. Returns a [`MemoryError`] if the word is beyond memory.
    #[inline(always)]
    pub fn fetch(&mut self, mem: &PhysicalMemory, pa: PhysAddr) -> Result<Inst, MemoryError> {
        let a = pa.as_u64();
        let frame = a / FRAME_SIZE;
        if self.current_frame != frame {
            self.enter(mem, pa, frame);
        }
        let slot = &mut self.slots[((a % FRAME_SIZE) / 4) as usize];
        match slot {
            Some(inst) => Ok(*inst),
            None => {
                let word = mem.read_le(pa, 4)? as u32;
                let inst = decode(word);
                *slot = Some(inst);
                Ok(inst)
            }
        }
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
            cached.slots.fill(None);
            cached.generation = generation;
        }
        std::mem::swap(&mut self.slots, &mut cached.slots);
        self.current = Some((frame, index));
        self.current_frame = frame;
    }
}
