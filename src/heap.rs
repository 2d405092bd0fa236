//! The heap's free list: `malloc`/`free` over a contiguous region, the way
//! the lecture (and OSTEP's malloc.py) tells it.
//!
//! ```text
//!   start                                              start+size
//!   | hole 16 | A 12 | hole 24          | B 16 |
//!   free list: [ addr:0 sz:16 ] -> [ addr:28 sz:24 ]
//! ```
//!
//! A request is first rounded up to the alignment, then the header is added
//! (the block handed out starts with the header). The free list is searched
//! with a fit policy (`fit`: first, best, worst, next); a larger hole is split
//! and its front handed out, an exact fit removes the hole. A freed block is
//! put back according to the list order (`order`), and with coalescing on,
//! holes that are neighbours both in the list and in memory merge
//! (`coalesce`). Every result is a value: an allocation with the number of
//! list elements searched, or the reason the request failed.
//!
//! The same allocator drives `vmlab malloc` (byte-identical to malloc.py),
//! `vmlab heap` and is meant for the kernel's user heap.

pub mod coalesce;
pub mod fit;
pub mod layout;
pub mod order;
pub mod stack;

pub use fit::Fit;
pub use order::ListOrder;
pub use stack::{Stack, StackError};

use std::collections::HashMap;

/// A free region of the heap: `size` bytes from `addr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hole {
    /// First byte of the hole.
    pub addr: u64,
    /// Length in bytes.
    pub size: u64,
}

impl Hole {
    /// One past the last byte (never wraps: holes are built inside a heap
    /// whose end was checked).
    pub fn end(&self) -> u64 {
        self.addr + self.size
    }
}

/// How the allocator behaves: fit policy, list order, coalescing, header and
/// alignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeapConfig {
    /// Which hole a request takes.
    pub fit: Fit,
    /// Where a freed block goes in the free list.
    pub order: ListOrder,
    /// Merge holes that are adjacent in the list and in memory after a free.
    pub coalesce: bool,
    /// Bytes of header in front of every block (part of the block).
    pub header: u64,
    /// Round requests up to a multiple of this (None: no alignment).
    pub align: Option<u64>,
}

impl Default for HeapConfig {
    /// malloc.py's defaults: best fit, address-sorted, no coalescing, no
    /// header, no alignment.
    fn default() -> Self {
        HeapConfig {
            fit: Fit::Best,
            order: ListOrder::AddrSort,
            coalesce: false,
            header: 0,
            align: None,
        }
    }
}

/// A successful allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allocation {
    /// Start of the block (where its header is).
    pub addr: u64,
    /// Bytes taken from the hole: aligned request plus header.
    pub size: u64,
    /// How many free-list elements the search looked at.
    pub searched: usize,
}

/// Why an allocation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AllocError {
    /// A request of zero bytes with no header would hand out an empty block
    /// (malloc.py then crashes on the second one).
    #[error("a request of 0 bytes (with no header) allocates nothing")]
    ZeroSize,
    /// Alignment or header make the block size overflow.
    #[error("a request of {request} bytes is too large")]
    TooLarge {
        /// The request.
        request: u64,
    },
    /// No hole is large enough. When `free_total >= needed` the memory is
    /// there but in pieces: external fragmentation.
    #[error("no hole of {needed} bytes (largest hole {largest_hole}, {free_total} bytes free)")]
    NoFit {
        /// Block size the request needed (aligned, with header).
        needed: u64,
        /// Free-list elements searched.
        searched: usize,
        /// Sum of all holes.
        free_total: u64,
        /// The largest hole.
        largest_hole: u64,
    },
}

impl AllocError {
    /// Free-list elements searched before failing (0 when no search ran).
    pub fn searched(&self) -> usize {
        match self {
            AllocError::NoFit { searched, .. } => *searched,
            _ => 0,
        }
    }

    /// True when enough bytes are free in total but no single hole fits.
    pub fn is_external_fragmentation(&self) -> bool {
        matches!(self, AllocError::NoFit { needed, free_total, .. } if free_total >= needed)
    }
}

/// Why a free failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FreeError {
    /// No block starts at this address (never allocated, or freed already).
    #[error("no allocated block starts at {addr}")]
    NotAllocated {
        /// The address given to free.
        addr: u64,
    },
}

/// Why a heap cannot be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeapError {
    /// `start + size` does not fit in 64 bits.
    #[error("a heap of {size} bytes at {start} ends beyond the address space")]
    EndOverflows {
        /// Start address.
        start: u64,
        /// Size.
        size: u64,
    },
    /// Alignment of zero.
    #[error("alignment must be at least 1")]
    ZeroAlign,
}

/// A heap: one region, its free list and the sizes of the blocks handed out.
#[derive(Clone, Debug)]
pub struct Heap {
    start: u64,
    size: u64,
    config: HeapConfig,
    free: Vec<Hole>,
    allocated: HashMap<u64, u64>,
    /// Next fit: the address where the last allocation ended; the next
    /// search starts at the hole there (a list position would drift when
    /// frees insert holes in front of it).
    rover: u64,
}

impl Heap {
    /// A heap of `size` bytes at `start`, all one hole.
    ///
    /// Fails when the region would end beyond 2^64 or the alignment is 0.
    pub fn new(start: u64, size: u64, config: HeapConfig) -> Result<Heap, HeapError> {
        if start.checked_add(size).is_none() {
            return Err(HeapError::EndOverflows { start, size });
        }
        if config.align == Some(0) {
            return Err(HeapError::ZeroAlign);
        }
        Ok(Heap {
            start,
            size,
            config,
            free: vec![Hole { addr: start, size }],
            allocated: HashMap::new(),
            rover: start,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &HeapConfig {
        &self.config
    }

    /// First byte of the heap.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Size of the heap in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The free list, in list order.
    pub fn free_list(&self) -> &[Hole] {
        &self.free
    }

    /// The blocks handed out and not freed, by address: (addr, size).
    pub fn allocations(&self) -> Vec<(u64, u64)> {
        let mut v: Vec<(u64, u64)> = self.allocated.iter().map(|(&a, &s)| (a, s)).collect();
        v.sort_unstable();
        v
    }

    /// Number of blocks handed out and not freed.
    pub fn block_count(&self) -> usize {
        self.allocated.len()
    }

    /// Size of the block at `addr`, if one is allocated there.
    pub fn block_at(&self, addr: u64) -> Option<u64> {
        self.allocated.get(&addr).copied()
    }

    /// Sum of all holes.
    pub fn free_bytes(&self) -> u64 {
        self.free.iter().map(|h| h.size).sum()
    }

    /// The largest hole (0 when there is none).
    pub fn largest_hole(&self) -> u64 {
        self.free.iter().map(|h| h.size).max().unwrap_or(0)
    }

    /// External fragmentation as a fraction: 1 - largest hole / free bytes
    /// (0 when nothing is free or all free memory is one hole).
    pub fn fragmentation(&self) -> f64 {
        let free = self.free_bytes();
        if free == 0 {
            0.0
        } else {
            1.0 - self.largest_hole() as f64 / free as f64
        }
    }

    /// The block size a request of `request` bytes needs: rounded up to the
    /// alignment, plus the header.
    pub fn block_size(&self, request: u64) -> Result<u64, AllocError> {
        let aligned = match self.config.align {
            Some(a) if request % a != 0 => request
                .checked_add(a - request % a)
                .ok_or(AllocError::TooLarge { request })?,
            _ => request,
        };
        let size = aligned
            .checked_add(self.config.header)
            .ok_or(AllocError::TooLarge { request })?;
        if size == 0 {
            return Err(AllocError::ZeroSize);
        }
        Ok(size)
    }

    /// `malloc(request)`: finds a hole with the fit policy and carves the
    /// block from its front.
    ///
    /// Returns the block (its header first) and the number of list elements
    /// searched, or why nothing was handed out; on failure the heap is
    /// unchanged.
    pub fn alloc(&mut self, request: u64) -> Result<Allocation, AllocError> {
        let needed = self.block_size(request)?;
        // Only next fit needs its starting place (finding it walks the list).
        let rover = if self.config.fit == Fit::Next {
            self.rover_index()
        } else {
            0
        };
        let search = fit::search(self.config.fit, &self.free, needed, rover);
        let Some(index) = search.index else {
            // No hole fits -> the request fails (a real allocator would ask
            // the OS for more with sbrk).
            return Err(AllocError::NoFit {
                needed,
                searched: search.searched,
                free_total: self.free_bytes(),
                largest_hole: self.largest_hole(),
            });
        };
        let hole = self.free[index];
        if hole.size > needed {
            // Split: the front becomes the block, the rest stays a hole in
            // the same list position.
            self.free[index] = Hole {
                addr: hole.addr + needed,
                size: hole.size - needed,
            };
        } else {
            // Exact fit: the hole disappears.
            self.free.remove(index);
        }
        self.rover = hole.addr + needed;
        self.allocated.insert(hole.addr, needed);
        Ok(Allocation {
            addr: hole.addr,
            size: needed,
            searched: search.searched,
        })
    }

    /// Next fit's starting list position: the hole that starts at (or, after
    /// coalescing, contains) the rover address; else the first hole after
    /// it in memory; else the front of the list.
    fn rover_index(&self) -> usize {
        let r = self.rover;
        self.free
            .iter()
            .position(|h| h.addr <= r && r < h.end().max(h.addr + 1))
            .or_else(|| {
                self.free
                    .iter()
                    .enumerate()
                    .filter(|(_, h)| h.addr > r)
                    .min_by_key(|(_, h)| h.addr)
                    .map(|(i, _)| i)
            })
            .unwrap_or(0)
    }

    /// `free(addr)`: puts the block starting at `addr` back on the free list
    /// (where the list order says), then coalesces if configured.
    ///
    /// Returns the size of the freed block, or `NotAllocated` (heap
    /// unchanged) when no block starts there.
    pub fn free(&mut self, addr: u64) -> Result<u64, FreeError> {
        let size = self
            .allocated
            .remove(&addr)
            .ok_or(FreeError::NotAllocated { addr })?;
        order::insert(self.config.order, &mut self.free, Hole { addr, size });
        if self.config.coalesce {
            coalesce::merge_list_neighbours(&mut self.free);
        }
        Ok(size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heap(fit: Fit) -> Heap {
        let config = HeapConfig {
            fit,
            ..HeapConfig::default()
        };
        Heap::new(0, 100, config).unwrap()
    }

    #[test]
    fn split_hands_out_the_front_of_the_hole() {
        let mut h = heap(Fit::First);
        let a = h.alloc(10).unwrap();
        assert_eq!((a.addr, a.size, a.searched), (0, 10, 1));
        assert_eq!(h.free_list(), &[Hole { addr: 10, size: 90 }]);
    }

    #[test]
    fn exact_fit_removes_the_hole() {
        let mut h = heap(Fit::Best);
        h.alloc(100).unwrap();
        assert!(h.free_list().is_empty());
        let e = h.alloc(1).unwrap_err();
        assert_eq!(e.searched(), 0);
    }

    #[test]
    fn header_and_alignment_grow_the_block() {
        let config = HeapConfig {
            header: 4,
            align: Some(8),
            ..HeapConfig::default()
        };
        let mut h = Heap::new(1000, 100, config).unwrap();
        assert_eq!(h.alloc(5).unwrap().size, 12);
        assert_eq!(h.alloc(8).unwrap().size, 12);
    }

    #[test]
    fn zero_request_without_header_is_refused() {
        let mut h = heap(Fit::Best);
        assert_eq!(h.alloc(0), Err(AllocError::ZeroSize));
    }

    #[test]
    fn freeing_twice_is_an_error_value() {
        let mut h = heap(Fit::Best);
        let a = h.alloc(10).unwrap();
        assert_eq!(h.free(a.addr), Ok(10));
        assert_eq!(h.free(a.addr), Err(FreeError::NotAllocated { addr: 0 }));
    }

    #[test]
    fn next_fit_keeps_its_place_when_a_free_inserts_in_front() {
        let config = HeapConfig {
            fit: Fit::Next,
            order: ListOrder::InsertFront,
            ..HeapConfig::default()
        };
        let mut h = Heap::new(0, 100, config).unwrap();
        let a = h.alloc(10).unwrap();
        h.alloc(10).unwrap();
        h.free(a.addr).unwrap();
        // The list is [0:10, 20:80]; the search resumes at 20, not at 0.
        let c = h.alloc(5).unwrap();
        assert_eq!((c.addr, c.searched), (20, 1));
        // The next request continues right after C...
        let d = h.alloc(70).unwrap();
        assert_eq!(d.addr, 25);
        // ...and when the rest (5 bytes at 95) is too small, the search
        // wraps around to the front of the list.
        let e = h.alloc(8).unwrap();
        assert_eq!((e.addr, e.searched), (0, 2));
    }

    #[test]
    fn overflowing_heap_is_refused() {
        assert!(Heap::new(u64::MAX, 2, HeapConfig::default()).is_err());
    }

    #[test]
    fn fragmentation_reports_split_free_memory() {
        let mut h = heap(Fit::First);
        let a = h.alloc(30).unwrap();
        h.alloc(30).unwrap();
        h.free(a.addr).unwrap();
        // holes 30 and 40: 1 - 40/70
        assert!((h.fragmentation() - 3.0 / 7.0).abs() < 1e-12);
        let e = h.alloc(50).unwrap_err();
        assert!(e.is_external_fragmentation());
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        fn any_config() -> impl Strategy<Value = HeapConfig> {
            (0..4usize, 0..5usize, any::<bool>(), 0..5u64, 0..4u64).prop_map(
                |(f, o, coalesce, header, align)| HeapConfig {
                    fit: [Fit::First, Fit::Best, Fit::Worst, Fit::Next][f],
                    order: ListOrder::ALL[o],
                    coalesce,
                    header,
                    align: if align == 0 { None } else { Some(align) },
                },
            )
        }

        proptest! {
            /// Holes and blocks never overlap, stay inside the heap, and
            /// their sizes always add up to the heap size.
            #[test]
            fn free_list_and_blocks_partition_the_heap(
                config in any_config(),
                ops in proptest::collection::vec((any::<bool>(), 1..40u64, any::<prop::sample::Index>()), 1..80),
            ) {
                let mut h = Heap::new(1000, 300, config).unwrap();
                let mut live: Vec<u64> = Vec::new();
                for (is_alloc, size, pick) in ops {
                    if is_alloc || live.is_empty() {
                        if let Ok(a) = h.alloc(size) {
                            live.push(a.addr);
                        }
                    } else {
                        let addr = live.remove(pick.index(live.len()));
                        prop_assert!(h.free(addr).is_ok());
                    }
                    let mut pieces: Vec<(u64, u64)> = h.free_list().iter().map(|x| (x.addr, x.size)).collect();
                    pieces.extend(h.allocations());
                    pieces.sort_unstable();
                    let total: u64 = pieces.iter().map(|p| p.1).sum();
                    prop_assert_eq!(total, 300);
                    let mut at = 1000;
                    for (addr, size) in pieces {
                        prop_assert!(addr >= at, "overlap at {}", addr);
                        at = addr + size;
                    }
                    prop_assert!(at <= 1300);
                }
            }
        }
    }
}
