//! The decoded-instruction cache: each instruction word is decoded once and
//! kept per *physical* address, so the fetch path after translation is an
//! array lookup.
//!
//! Correctness when code changes: physical memory counts writes per 4 KiB
//! frame (`PhysicalMemory::generation`). Each cached frame remembers the
//! generation its instructions were decoded at; a fetch from a frame whose
//! generation moved on (a store by the program — self-modifying code — or a
//! write by the kernel's loader, swapper or compaction) drops the frame's
//! decoded instructions and decodes again.

use super::decode::{Inst, decode};
use crate::addr::PhysAddr;
use crate::memory::{FRAME_SIZE, MemoryError, PhysicalMemory};
use std::collections::HashMap;

const SLOTS: usize = (FRAME_SIZE / 4) as usize;
/// Beyond this many cached frames (8 KiB each) the cache starts over.
const MAX_FRAMES: usize = 4096;

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

    /// The instruction at `pa` (4-byte aligned), decoded now or earlier from
    /// the bytes memory holds now.
    ///
    /// Returns a [`MemoryError`] if the word is beyond physical memory.
    #[inline(always)]
    pub fn fetch(&mut self, mem: &PhysicalMemory, pa: PhysAddr) -> Result<Inst, MemoryError> {
        let a = pa.as_u64();
        let frame = a / FRAME_SIZE;
        let index = match self.current {
            Some((f, i)) if f == frame => i,
            _ => {
                let i = self.select(frame);
                self.current = Some((frame, i));
                i
            }
        };
        let cached = &mut self.frames[index];
        let generation = mem.generation(pa);
        if cached.generation != generation {
            // The frame was written since we decoded it: forget it all.
            cached.slots.fill(None);
            cached.generation = generation;
        }
        let slot = &mut cached.slots[((a % FRAME_SIZE) / 4) as usize];
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
}
