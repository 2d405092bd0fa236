//! The CPU's software TLB: a small direct-mapped table that remembers, per
//! virtual page and access kind, a window of addresses the MMU translated
//! and by how much it moved them, so the next access inside that window
//! skips the walk.
//!
//! This is a cache of the simulator, not hardware of the lecture: it is
//! invisible in every answer. It is used only with a mechanism that promises
//! [`Mmu::translation_is_stable`] — its answer for an address depends on its
//! registers alone, and translating changes nothing — and whose walk costs
//! more than a lookup ([`Mmu::software_tlb_pays`]); it lives for one
//! call of [`super::Cpu::run`], during which the MMU is borrowed shared and
//! its registers cannot change. A run starts with an empty table, so loading
//! MMU registers, switching mode or remapping (all of which happen between
//! runs) can never leave a stale entry behind.
//!
//! ```text
//!   va ──> slot = (va >> 12) mod SLOTS, one table per access kind
//!          ┌──────────────┬────────────┬──────────────────┐
//!          │ lo (first va)│ len (bytes)│ delta = pa - va  │
//!          └──────────────┴────────────┴──────────────────┘
//!   hit: lo <= va and va + size <= lo + len  ->  pa = va + delta
//!   miss: the MMU walks; on success the window around va is filled
//! ```
//!
//! A window lies inside one 4 KiB virtual page and holds only bytes that
//! each translate, for that access kind, to `va + delta`. It is found at
//! fill time with the MMU's own answers: [`Mmu::one_piece`] says where the
//! valid offsets form an interval, so a binary search over the page with
//! [`Mmu::translate`] finds its ends (about 24 walks per fill). A hit is
//! therefore exactly what the walk would have answered, byte for byte; a
//! fault is never cached, so every fault comes from the walk itself.

use crate::addr::VirtAddr;
use crate::memory::PhysicalMemory;
use crate::mmu::{Access, Mmu};

/// Slots per access kind (a power of two).
const SLOTS: usize = 256;
/// The page a window is confined to.
const PAGE: u64 = 4096;

/// One cached window. `len == 0` is an empty slot (never hits).
#[derive(Clone, Copy, Debug, Default)]
struct Window {
    lo: u64,
    len: u64,
    delta: u64,
}

/// The software TLB: one direct-mapped table per access kind.
#[derive(Debug)]
pub struct SoftTlb {
    tables: [[Window; SLOTS]; 3],
}

impl Default for SoftTlb {
    fn default() -> Self {
        Self::new()
    }
}

#[inline(always)]
fn kind(access: Access) -> usize {
    match access {
        Access::Fetch => 0,
        Access::Read => 1,
        Access::Write => 2,
    }
}

#[inline(always)]
fn slot(va: u64) -> usize {
    ((va / PAGE) as usize) & (SLOTS - 1)
}

impl SoftTlb {
    /// An empty table: every lookup misses.
    pub fn new() -> Self {
        Self {
            tables: [[Window::default(); SLOTS]; 3],
        }
    }

    /// The physical address of an access of `size` bytes (1..=8) at `va`,
    /// if every one of its bytes lies in a cached window; `None` (a miss)
    /// otherwise. Never faults: a miss goes to the MMU.
    #[inline(always)]
    pub fn lookup(&self, va: u64, size: u64, access: Access) -> Option<u64> {
        let w = &self.tables[kind(access)][slot(va)];
        let off = va.wrapping_sub(w.lo);
        // off < len rules out va < lo (the difference wraps to a huge number).
        if off < w.len && w.len - off >= size {
            Some(va.wrapping_add(w.delta))
        } else {
            None
        }
    }

    /// Remembers the window around `va`, which `mmu` has just translated to
    /// `pa` for `access`: the largest run of bytes of `va`'s 4 KiB page
    /// around `va` that lies in one piece of the mechanism
    /// ([`Mmu::one_piece`]) and translates byte for byte alongside `va`.
    ///
    /// Does nothing for a mechanism that does not promise
    /// [`Mmu::translation_is_stable`] (the caller checks it once per run).
    #[cold]
    pub fn fill<M: Mmu>(
        &mut self,
        mmu: &M,
        mem: &PhysicalMemory,
        va: u64,
        pa: u64,
        access: Access,
    ) {
        // Does byte `x` of the page lie in `va`'s piece and translate to
        // `pa + (x - va)`? True at `va`; for a mechanism keeping its
        // one-piece promise, true on an interval around `va`.
        let lands = |x: u64| -> bool {
            let (first, last) = if x <= va { (x, va) } else { (va, x) };
            if !mmu.one_piece(VirtAddr::new(first), VirtAddr::new(last)) {
                return false;
            }
            let want = if x <= va {
                pa.checked_sub(va - x)
            } else {
                pa.checked_add(x - va)
            };
            match (mmu.translate(mem, VirtAddr::new(x), access), want) {
                (Ok(got), Some(want)) => got.as_u64() == want,
                _ => false,
            }
        };
        let page = va - va % PAGE;
        let page_last = page + (PAGE - 1); // no overflow: page <= 2^64 - PAGE
        // Lowest byte that lands: in [page, va], lands(va) holds.
        let (mut bad, mut good) = (None::<u64>, va);
        if lands(page) {
            good = page;
        } else {
            bad = Some(page);
        }
        if let Some(mut b) = bad {
            // Invariant: lands(good), !lands(b), b < good.
            while good - b > 1 {
                let mid = b + (good - b) / 2;
                if lands(mid) {
                    good = mid;
                } else {
                    b = mid;
                }
            }
        }
        let lo = good;
        // Highest byte that lands: in [va, page_last].
        let mut good = va;
        if lands(page_last) {
            good = page_last;
        } else {
            let mut b = page_last;
            while b - good > 1 {
                let mid = good + (b - good) / 2;
                if lands(mid) {
                    good = mid;
                } else {
                    b = mid;
                }
            }
        }
        let hi = good;
        self.tables[kind(access)][slot(va)] = Window {
            lo,
            len: hi - lo + 1,
            delta: pa.wrapping_sub(va),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mmu::{BaseBounds, Perms, Segment, Segmentation};

    #[test]
    fn a_window_stops_at_the_bounds_inside_a_page() {
        let mmu = BaseBounds::new(0x1000, 0x2345, 1 << 20).unwrap();
        let mem = PhysicalMemory::empty();
        let mut tlb = SoftTlb::new();
        assert_eq!(tlb.lookup(0x2100, 4, Access::Read), None);
        tlb.fill(&mmu, mem, 0x2100, 0x3100, Access::Read);
        assert_eq!(tlb.lookup(0x2000, 8, Access::Read), Some(0x3000));
        assert_eq!(tlb.lookup(0x2340, 4, Access::Read), Some(0x3340));
        assert_eq!(tlb.lookup(0x2344, 1, Access::Read), Some(0x3344));
        // The last bytes straddle or pass the bounds: misses, the walk faults.
        assert_eq!(tlb.lookup(0x2344, 2, Access::Read), None);
        assert_eq!(tlb.lookup(0x2345, 1, Access::Read), None);
        // Other access kinds and pages are not filled.
        assert_eq!(tlb.lookup(0x2100, 4, Access::Write), None);
        assert_eq!(tlb.lookup(0x1100, 4, Access::Read), None);
    }

    #[test]
    fn a_window_never_crosses_a_segment_or_its_permissions() {
        // 16 KiB space, four 4 KiB segments; code (r-x) is 0x123 bytes.
        let segments = vec![
            Segment::up(0x10000, 0x123, Perms::R | Perms::X),
            Segment::up(0x20000, 0x1000, Perms::R | Perms::W),
            Segment::up(0, 0, Perms::empty()),
            Segment::down(0x40000, 0x800, Perms::R | Perms::W),
        ];
        let mmu = Segmentation::new(14, segments, 1 << 20).unwrap();
        let mem = PhysicalMemory::empty();
        let mut tlb = SoftTlb::new();
        tlb.fill(&mmu, mem, 0x10, 0x10010, Access::Fetch);
        assert_eq!(tlb.lookup(0x0, 1, Access::Fetch), Some(0x10000));
        assert_eq!(tlb.lookup(0x120, 1, Access::Fetch), Some(0x10120));
        assert_eq!(tlb.lookup(0x123, 1, Access::Fetch), None);
        // The stack grows down: its valid half of the page is the window.
        let pa = mmu
            .translate(mem, VirtAddr::new(0x3ff8), Access::Write)
            .unwrap();
        tlb.fill(&mmu, mem, 0x3ff8, pa.as_u64(), Access::Write);
        assert_eq!(
            tlb.lookup(0x3800, 8, Access::Write),
            Some(pa.as_u64() - 0x7f8)
        );
        assert_eq!(tlb.lookup(0x37f8, 8, Access::Write), None);
    }
}
