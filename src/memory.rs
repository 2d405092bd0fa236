//! Physical memory: a sparse, lazily backed array of bytes.
//!
//! Memory is cut into 4 KiB frames, allocated on the first write; reading a
//! byte that was never written gives 0. A machine with 1 TiB of physical
//! memory and a few bytes touched costs a few KiB. Small machines (up to
//! 64 MiB) index frames directly; larger ones through a hash map.
//!
//! Values are little-endian, as on RISC-V and x86. An access that does not
//! fit inside the memory is an error value carrying the address.
//!
//! Every frame carries a *write generation*: a counter bumped by every write
//! into the frame, whoever makes it (a store of the CPU, the kernel's loader,
//! swap-in, compaction). The CPU caches decoded instructions per physical
//! frame and compares the generation on each fetch, so code that is rewritten
//! (self-modifying code, a relocated or swapped-in program) is decoded again.

use crate::addr::PhysAddr;
use std::collections::HashMap;

/// Bytes per frame of backing storage (not a paging concept: just how the
/// simulator stores memory).
pub const FRAME_SIZE: u64 = 4096;
const FRAME_SHIFT: u32 = 12;
/// Machines up to this size index their frames directly.
const DENSE_LIMIT: u64 = 64 << 20;

/// One backed frame: its bytes and its write generation.
struct FrameData {
    bytes: [u8; FRAME_SIZE as usize],
    /// Bumped by every write into the frame (starts at 1: a frame that is
    /// backed differs from the all-zero unbacked one, generation 0).
    generation: u64,
}

type Frame = Box<FrameData>;

enum Frames {
    Dense(Vec<Option<Frame>>),
    Sparse(HashMap<u64, Frame>),
}

/// An access that does not fit inside physical memory.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[error("physical access of {len} bytes at {pa} is beyond memory of {size:#x} bytes")]
pub struct MemoryError {
    /// The first byte accessed.
    pub pa: PhysAddr,
    /// How many bytes.
    pub len: u64,
    /// The memory size.
    pub size: u64,
}

/// The machine's physical memory.
pub struct PhysicalMemory {
    size: u64,
    frames: Frames,
    frames_allocated: usize,
}

impl std::fmt::Debug for PhysicalMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhysicalMemory")
            .field("size", &self.size)
            .field("frames_allocated", &self.frames_allocated)
            .finish()
    }
}

/// The memory of no bytes, shared: what a mechanism whose registers hold
/// the whole translation is given to read its (absent) tables from.
static EMPTY: PhysicalMemory = PhysicalMemory {
    size: 0,
    frames: Frames::Dense(Vec::new()),
    frames_allocated: 0,
};

impl PhysicalMemory {
    /// A memory of no bytes, for translating with a mechanism that keeps its
    /// whole translation in registers (identity, base, base + bounds,
    /// segmentation): such a walk never reads memory. A walk that does read
    /// page-table entries from it finds none and faults.
    pub fn empty() -> &'static PhysicalMemory {
        &EMPTY
    }

    /// A memory of `size` bytes, all zero, none of it backed yet.
    pub fn new(size: u64) -> Self {
        let frames = if size <= DENSE_LIMIT {
            let n = size.div_ceil(FRAME_SIZE) as usize;
            let mut v = Vec::new();
            v.resize_with(n, || None);
            Frames::Dense(v)
        } else {
            Frames::Sparse(HashMap::new())
        };
        Self {
            size,
            frames,
            frames_allocated: 0,
        }
    }

    /// The size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// How many 4 KiB frames have been backed so far (the real cost).
    pub fn frames_allocated(&self) -> usize {
        self.frames_allocated
    }

    #[inline(always)]
    fn check(&self, pa: PhysAddr, len: u64) -> Result<(), MemoryError> {
        match pa.as_u64().checked_add(len) {
            Some(end) if end <= self.size => Ok(()),
            _ => Err(MemoryError {
                pa,
                len,
                size: self.size,
            }),
        }
    }

    #[inline(always)]
    fn frame_data(&self, number: u64) -> Option<&FrameData> {
        match &self.frames {
            Frames::Dense(v) => v.get(number as usize).and_then(|f| f.as_deref()),
            Frames::Sparse(m) => m.get(&number).map(|f| &**f),
        }
    }

    #[inline(always)]
    fn frame(&self, number: u64) -> Option<&[u8; FRAME_SIZE as usize]> {
        self.frame_data(number).map(|f| &f.bytes)
    }

    /// The frame's bytes for writing: backs it if needed and bumps its write
    /// generation (the caller is about to write into it).
    #[inline(always)]
    fn frame_mut(&mut self, number: u64) -> &mut [u8; FRAME_SIZE as usize] {
        let f = match &mut self.frames {
            Frames::Dense(v) => {
                let slot = &mut v[number as usize];
                if slot.is_none() {
                    self.frames_allocated += 1;
                }
                slot.get_or_insert_with(Self::new_frame)
            }
            Frames::Sparse(m) => m.entry(number).or_insert_with(|| {
                self.frames_allocated += 1;
                Self::new_frame()
            }),
        };
        f.generation += 1;
        &mut f.bytes
    }

    /// A frame of zeros, written never: the first write allocates it (out
    /// of the way of the write path).
    #[cold]
    #[inline(never)]
    fn new_frame() -> Frame {
        Box::new(FrameData {
            bytes: [0u8; FRAME_SIZE as usize],
            generation: 0,
        })
    }

    /// The write generation of the frame holding `pa`: 0 while the frame was
    /// never written, then bumped by every write into it. Two equal readings
    /// mean the frame's bytes did not change in between (what the CPU's
    /// decoded-instruction cache relies on).
    #[inline]
    pub fn generation(&self, pa: PhysAddr) -> u64 {
        self.frame_data(pa.as_u64() >> FRAME_SHIFT)
            .map_or(0, |f| f.generation)
    }

    /// Copies `buf.len()` bytes starting at `pa` into `buf`.
    ///
    /// Returns a [`MemoryError`] (and reads nothing) if any byte is beyond
    /// the end of memory.
    pub fn read(&self, pa: PhysAddr, buf: &mut [u8]) -> Result<(), MemoryError> {
        self.check(pa, buf.len() as u64)?;
        let mut addr = pa.as_u64();
        let mut done = 0;
        while done < buf.len() {
            let in_frame = (addr % FRAME_SIZE) as usize;
            let n = (FRAME_SIZE as usize - in_frame).min(buf.len() - done);
            match self.frame(addr >> FRAME_SHIFT) {
                Some(f) => buf[done..done + n].copy_from_slice(&f[in_frame..in_frame + n]),
                None => buf[done..done + n].fill(0),
            }
            done += n;
            addr += n as u64;
        }
        Ok(())
    }

    /// Copies `data` into memory starting at `pa`, backing frames as needed.
    ///
    /// Returns a [`MemoryError`] (and writes nothing) if any byte is beyond
    /// the end of memory.
    pub fn write(&mut self, pa: PhysAddr, data: &[u8]) -> Result<(), MemoryError> {
        self.check(pa, data.len() as u64)?;
        let mut addr = pa.as_u64();
        let mut done = 0;
        while done < data.len() {
            let in_frame = (addr % FRAME_SIZE) as usize;
            let n = (FRAME_SIZE as usize - in_frame).min(data.len() - done);
            self.frame_mut(addr >> FRAME_SHIFT)[in_frame..in_frame + n]
                .copy_from_slice(&data[done..done + n]);
            done += n;
            addr += n as u64;
        }
        Ok(())
    }

    /// Reads a little-endian value of `size` bytes (1, 2, 4 or 8).
    ///
    /// Returns a [`MemoryError`] beyond the end of memory. `size` values
    /// other than 1, 2, 4, 8 read 8 bytes' worth of `size` bytes (callers
    /// pass only those four).
    #[inline(always)]
    pub fn read_le(&self, pa: PhysAddr, size: usize) -> Result<u64, MemoryError> {
        let mut bytes = [0u8; 8];
        let size = size.min(8);
        // Fast path: the whole value sits in one frame.
        let a = pa.as_u64();
        let in_frame = (a % FRAME_SIZE) as usize;
        if in_frame + size <= FRAME_SIZE as usize {
            self.check(pa, size as u64)?;
            let Some(f) = self.frame(a >> FRAME_SHIFT) else {
                return Ok(0);
            };
            // One fixed-size copy per width (no call to memmove).
            let at = in_frame;
            return Ok(match size {
                1 => f[at] as u64,
                2 => u16::from_le_bytes([f[at], f[at + 1]]) as u64,
                4 => u32::from_le_bytes(f[at..at + 4].try_into().expect("4 bytes")) as u64,
                8 => u64::from_le_bytes(f[at..at + 8].try_into().expect("8 bytes")),
                _ => {
                    bytes[..size].copy_from_slice(&f[at..at + size]);
                    u64::from_le_bytes(bytes)
                }
            });
        } else {
            self.read(pa, &mut bytes[..size])?;
        }
        Ok(u64::from_le_bytes(bytes))
    }

    /// Writes the low `size` bytes (1, 2, 4 or 8) of `value`, little-endian.
    ///
    /// Returns a [`MemoryError`] (and writes nothing) beyond the end of memory.
    #[inline(always)]
    pub fn write_le(&mut self, pa: PhysAddr, size: usize, value: u64) -> Result<(), MemoryError> {
        let size = size.min(8);
        let a = pa.as_u64();
        let in_frame = (a % FRAME_SIZE) as usize;
        if in_frame + size <= FRAME_SIZE as usize {
            // Fast path: the whole value lands in one frame.
            self.check(pa, size as u64)?;
            let f = self.frame_mut(a >> FRAME_SHIFT);
            let at = in_frame;
            match size {
                1 => f[at] = value as u8,
                2 => f[at..at + 2].copy_from_slice(&(value as u16).to_le_bytes()),
                4 => f[at..at + 4].copy_from_slice(&(value as u32).to_le_bytes()),
                8 => f[at..at + 8].copy_from_slice(&value.to_le_bytes()),
                _ => f[at..at + size].copy_from_slice(&value.to_le_bytes()[..size]),
            }
            return Ok(());
        }
        self.write(pa, &value.to_le_bytes()[..size])
    }

    /// The pieces of `[pa, pa + len)` that lie in frames holding data
    /// (allocated frames), in address order, as `(pa, len)`; the rest of
    /// the range reads as zeros. Costs O(frames held), never O(len): the
    /// range may span terabytes.
    pub fn held_spans(&self, pa: PhysAddr, len: u64) -> Result<Vec<(PhysAddr, u64)>, MemoryError> {
        self.check(pa, len)?;
        if len == 0 {
            return Ok(Vec::new());
        }
        let start = pa.as_u64();
        let end = start + len; // checked above
        let (first, last) = (start >> FRAME_SHIFT, (end - 1) >> FRAME_SHIFT);
        let mut numbers: Vec<u64> = match &self.frames {
            Frames::Dense(v) => (first..=last)
                .filter(|&n| v.get(n as usize).is_some_and(Option::is_some))
                .collect(),
            Frames::Sparse(m) if last - first < m.len() as u64 => {
                (first..=last).filter(|n| m.contains_key(n)).collect()
            }
            Frames::Sparse(m) => m
                .keys()
                .copied()
                .filter(|n| (first..=last).contains(n))
                .collect(),
        };
        numbers.sort_unstable();
        Ok(numbers
            .into_iter()
            .map(|n| {
                let from = (n << FRAME_SHIFT).max(start);
                let to = ((n + 1) << FRAME_SHIFT).min(end);
                (PhysAddr::new(from), to - from)
            })
            .collect())
    }

    /// Sets `[pa, pa + len)` to zero, writing only frames that hold data
    /// (the others already read as zero).
    pub fn zero(&mut self, pa: PhysAddr, len: u64) -> Result<(), MemoryError> {
        const ZEROS: [u8; FRAME_SIZE as usize] = [0; FRAME_SIZE as usize];
        for (at, n) in self.held_spans(pa, len)? {
            self.write(at, &ZEROS[..n as usize])?;
        }
        Ok(())
    }

    /// Copies `len` bytes from `from` to `to` (the ranges may overlap, as
    /// when compaction slides a region down). Only the frames of the source
    /// that hold data are read and written, so moving a 520 GiB region with
    /// a few pages touched costs a few pages: the source's data is taken
    /// out, the destination zeroed where it holds data, then the data put
    /// back at its new place.
    ///
    /// Returns a [`MemoryError`] (and copies nothing) if either range is
    /// beyond memory.
    pub fn copy_within(
        &mut self,
        from: PhysAddr,
        to: PhysAddr,
        len: u64,
    ) -> Result<(), MemoryError> {
        self.check(from, len)?;
        self.check(to, len)?;
        let mut data: Vec<(u64, Vec<u8>)> = Vec::new();
        for (at, n) in self.held_spans(from, len)? {
            let mut bytes = vec![0u8; n as usize];
            self.read(at, &mut bytes)?;
            data.push((at.as_u64() - from.as_u64(), bytes));
        }
        self.zero(to, len)?;
        for (offset, bytes) in data {
            self.write(PhysAddr::new(to.as_u64() + offset), &bytes)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_within_moves_only_held_frames_and_handles_overlap() {
        // A 1 TiB machine: a 512 GiB region with two touched pages moves
        // without a buffer the size of the region.
        let mut m = PhysicalMemory::new(1 << 40);
        let region = 1u64 << 39;
        m.write_le(PhysAddr::new(0x1000), 8, 0x1122).unwrap();
        m.write_le(PhysAddr::new(region - 8), 8, 0x3344).unwrap();
        // Stale data at the destination, where the source reads zero.
        m.write_le(PhysAddr::new(region + 0x5000 + 0x2000), 8, 0xdead)
            .unwrap();
        // Data inside both ranges: moved on, and overwritten by zeros.
        m.write_le(PhysAddr::new(0x7000), 8, 0xbeef).unwrap();
        m.copy_within(PhysAddr::new(0), PhysAddr::new(0x5000), region)
            .unwrap();
        assert_eq!(m.read_le(PhysAddr::new(0x6000), 8), Ok(0x1122));
        assert_eq!(m.read_le(PhysAddr::new(region - 8 + 0x5000), 8), Ok(0x3344));
        assert_eq!(m.read_le(PhysAddr::new(region + 0x7000), 8), Ok(0xdead));
        assert_eq!(m.read_le(PhysAddr::new(0x7000), 8), Ok(0));
        assert_eq!(m.read_le(PhysAddr::new(0xc000), 8), Ok(0xbeef));
        assert!(m.frames_allocated() < 10, "{}", m.frames_allocated());
        // Overlapping, sliding down by less than a frame.
        let mut m = PhysicalMemory::new(1 << 16);
        let bytes: Vec<u8> = (0..200u8).collect();
        m.write(PhysAddr::new(0x100), &bytes).unwrap();
        m.copy_within(PhysAddr::new(0x100), PhysAddr::new(0x80), 0x2000)
            .unwrap();
        let mut back = vec![0u8; 200];
        m.read(PhysAddr::new(0x80), &mut back).unwrap();
        assert_eq!(back, bytes);
        assert_eq!(m.read_le(PhysAddr::new(0x80 + 200), 1), Ok(0));
        assert_eq!(m.read_le(PhysAddr::new(0x100 + 199), 1), Ok(0));
    }

    #[test]
    fn held_spans_and_zero_cover_only_frames_with_data() {
        let mut m = PhysicalMemory::new(1 << 40);
        m.write_le(PhysAddr::new(0x3008), 8, 7).unwrap();
        let spans = m.held_spans(PhysAddr::new(0x3004), 1 << 38).unwrap();
        assert_eq!(spans, vec![(PhysAddr::new(0x3004), 0xffc)]);
        m.zero(PhysAddr::new(0), 1 << 39).unwrap();
        assert_eq!(m.read_le(PhysAddr::new(0x3008), 8), Ok(0));
        assert!(m.held_spans(PhysAddr::new(1 << 40), 1).is_err());
    }

    #[test]
    fn untouched_memory_reads_zero() {
        let m = PhysicalMemory::new(1 << 20);
        assert_eq!(m.read_le(PhysAddr::new(1234), 8), Ok(0));
        assert_eq!(m.frames_allocated(), 0);
    }

    #[test]
    fn values_are_little_endian_and_cross_frames() {
        let mut m = PhysicalMemory::new(1 << 20);
        m.write_le(PhysAddr::new(4094), 4, 0x11223344).unwrap();
        assert_eq!(m.read_le(PhysAddr::new(4094), 1), Ok(0x44));
        assert_eq!(m.read_le(PhysAddr::new(4094), 4), Ok(0x11223344));
        assert_eq!(m.frames_allocated(), 2);
    }

    #[test]
    fn a_terabyte_machine_costs_only_touched_frames() {
        let mut m = PhysicalMemory::new(1 << 40);
        m.write_le(PhysAddr::new((1 << 40) - 8), 8, u64::MAX)
            .unwrap();
        m.write_le(PhysAddr::new(0), 1, 7).unwrap();
        assert_eq!(m.frames_allocated(), 2);
        assert_eq!(m.read_le(PhysAddr::new((1 << 40) - 8), 8), Ok(u64::MAX));
    }

    #[test]
    fn access_beyond_memory_is_an_error_not_a_panic() {
        let mut m = PhysicalMemory::new(4096);
        assert!(m.write_le(PhysAddr::new(4093), 4, 1).is_err());
        assert!(m.read_le(PhysAddr::new(u64::MAX), 8).is_err());
        assert_eq!(m.read_le(PhysAddr::new(4092), 4), Ok(0));
        assert_eq!(m.frames_allocated(), 0, "a failed write writes nothing");
    }

    #[test]
    fn every_write_bumps_the_frame_generation() {
        let mut m = PhysicalMemory::new(1 << 16);
        let pa = PhysAddr::new(4100);
        assert_eq!(m.generation(pa), 0);
        m.write_le(pa, 4, 1).unwrap();
        let g1 = m.generation(pa);
        assert!(g1 > 0);
        m.write(PhysAddr::new(4096 + 4000), b"x").unwrap();
        assert!(m.generation(pa) > g1, "any write into the frame counts");
        let g2 = m.generation(pa);
        m.write_le(PhysAddr::new(0), 4, 1).unwrap();
        assert_eq!(m.generation(pa), g2, "other frames do not");
    }

    #[test]
    fn copy_within_moves_bytes() {
        let mut m = PhysicalMemory::new(1 << 16);
        m.write(PhysAddr::new(100), b"hello").unwrap();
        m.copy_within(PhysAddr::new(100), PhysAddr::new(5000), 5)
            .unwrap();
        let mut b = [0u8; 5];
        m.read(PhysAddr::new(5000), &mut b).unwrap();
        assert_eq!(&b, b"hello");
    }
}
