//! Placing address spaces in physical memory: the free memory is a list of
//! holes, and a fit policy picks the hole for each request.
//!
//! ```text
//!   0        os_end                                        memory
//!   | OS     | P1      | hole      | P2   | hole                 |
//!                       ^ first fit: the first hole large enough
//!   best fit: the smallest large enough; worst fit: the largest;
//!   next fit: first fit, starting where the previous search stopped.
//! ```
//!
//! When no single hole is large enough the request fails with the total free
//! memory, which may well be larger than the request: external
//! fragmentation. The kernel's compaction (`Kernel::compact`) fixes it by
//! moving address spaces, which only dynamic relocation allows.

use std::fmt;

/// The fit policy.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fit {
    /// The first hole large enough, from the lowest address.
    #[default]
    #[serde(alias = "first")]
    FirstFit,
    /// The smallest hole large enough (ties: lowest address).
    #[serde(alias = "best")]
    BestFit,
    /// The largest hole (ties: lowest address).
    #[serde(alias = "worst")]
    WorstFit,
    /// First fit, resuming after the previous allocation.
    #[serde(alias = "next")]
    NextFit,
}

impl Fit {
    /// The policy's name.
    pub const fn name(self) -> &'static str {
        match self {
            Fit::FirstFit => "first-fit",
            Fit::BestFit => "best-fit",
            Fit::WorstFit => "worst-fit",
            Fit::NextFit => "next-fit",
        }
    }
}

/// A free range of physical memory.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Hole {
    /// First free byte.
    pub start: u64,
    /// Size in bytes.
    pub size: u64,
}

impl Hole {
    /// One past the last free byte.
    pub fn end(&self) -> u64 {
        self.start + self.size
    }
}

/// Why no hole was found.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NoFit {
    /// The request.
    pub needed: u64,
    /// All free memory together.
    pub free_total: u64,
    /// The largest single hole.
    pub largest_hole: u64,
}

impl fmt::Display for NoFit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.free_total >= self.needed {
            write!(
                f,
                "no hole of {} bytes: {} bytes are free in total but the largest hole is {} (external fragmentation)",
                self.needed, self.free_total, self.largest_hole
            )
        } else {
            write!(
                f,
                "out of memory: {} bytes needed, only {} free",
                self.needed, self.free_total
            )
        }
    }
}

/// The free list: holes in address order, never adjacent (always coalesced).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FreeList {
    holes: Vec<Hole>,
    policy: Fit,
    /// Next fit resumes its search at this address.
    cursor: u64,
}

impl FreeList {
    /// All of `[start, end)` free.
    pub fn new(start: u64, end: u64, policy: Fit) -> Self {
        let holes = if end > start {
            vec![Hole {
                start,
                size: end - start,
            }]
        } else {
            Vec::new()
        };
        Self {
            holes,
            policy,
            cursor: start,
        }
    }

    /// The policy.
    pub fn policy(&self) -> Fit {
        self.policy
    }

    /// The holes, in address order.
    pub fn holes(&self) -> &[Hole] {
        &self.holes
    }

    /// All free bytes.
    pub fn free_total(&self) -> u64 {
        self.holes.iter().map(|h| h.size).sum()
    }

    /// The largest hole's size (0 when memory is full).
    pub fn largest_hole(&self) -> u64 {
        self.holes.iter().map(|h| h.size).max().unwrap_or(0)
    }

    fn no_fit(&self, needed: u64) -> NoFit {
        NoFit {
            needed,
            free_total: self.free_total(),
            largest_hole: self.largest_hole(),
        }
    }

    /// Takes `size` bytes from the hole the policy picks and returns the
    /// start. A request of 0 bytes takes nothing and returns the policy's
    /// hole start (or 0).
    pub fn allocate(&mut self, size: u64) -> Result<u64, NoFit> {
        let fits = |h: &Hole| h.size >= size;
        let index = match self.policy {
            Fit::FirstFit => self.holes.iter().position(fits),
            Fit::BestFit => self
                .holes
                .iter()
                .enumerate()
                .filter(|(_, h)| fits(h))
                .min_by_key(|(i, h)| (h.size, *i))
                .map(|(i, _)| i),
            Fit::WorstFit => self
                .holes
                .iter()
                .enumerate()
                .filter(|(_, h)| fits(h))
                .max_by_key(|(i, h)| (h.size, std::cmp::Reverse(*i)))
                .map(|(i, _)| i),
            Fit::NextFit => {
                // Search from the cursor (inside the hole that holds it, if
                // any), through the later holes, wrapping to the first.
                let n = self.holes.len();
                let first = self
                    .holes
                    .iter()
                    .position(|h| h.end() > self.cursor)
                    .unwrap_or(0);
                let h = self.holes.get(first).copied();
                if let Some(h) = h.filter(|h| h.start < self.cursor) {
                    if h.end() - self.cursor >= size {
                        let start = self.cursor;
                        self.take(first, start, size);
                        self.cursor = start + size;
                        return Ok(start);
                    }
                }
                (0..n)
                    .map(|k| (first + k) % n)
                    .find(|&i| fits(&self.holes[i]))
            }
        };
        let i = index.ok_or_else(|| self.no_fit(size))?;
        let start = self.holes[i].start;
        self.take(i, start, size);
        self.cursor = start + size;
        Ok(start)
    }

    /// Takes exactly `[start, start + size)`, which must lie inside one hole
    /// (a fixed placement). Returns the hole it should have been in on
    /// failure, as a message.
    pub fn allocate_at(&mut self, start: u64, size: u64) -> Result<(), String> {
        let end = start
            .checked_add(size)
            .ok_or_else(|| format!("{start:#x} + {size:#x} overflows"))?;
        let i = self
            .holes
            .iter()
            .position(|h| h.start <= start && end <= h.end())
            .ok_or_else(|| {
                format!(
                    "[{start:#x}, {end:#x}) is not free (it overlaps the OS or another process)"
                )
            })?;
        self.take(i, start, size);
        Ok(())
    }

    /// Removes `[start, start + size)` from hole `i`, which contains it.
    fn take(&mut self, i: usize, start: u64, size: u64) {
        if size == 0 {
            return;
        }
        let h = self.holes[i];
        let before = Hole {
            start: h.start,
            size: start - h.start,
        };
        let after = Hole {
            start: start + size,
            size: h.end() - (start + size),
        };
        self.holes.remove(i);
        let mut at = i;
        for part in [before, after] {
            if part.size > 0 {
                self.holes.insert(at, part);
                at += 1;
            }
        }
    }

    /// Returns `[start, start + size)` to the free list, merging it with the
    /// holes on either side.
    pub fn free(&mut self, start: u64, size: u64) {
        if size == 0 {
            return;
        }
        let i = self.holes.partition_point(|h| h.start < start);
        self.holes.insert(i, Hole { start, size });
        // Merge with the next hole, then with the previous one.
        if i + 1 < self.holes.len() && self.holes[i].end() == self.holes[i + 1].start {
            self.holes[i].size += self.holes[i + 1].size;
            self.holes.remove(i + 1);
        }
        if i > 0 && self.holes[i - 1].end() == self.holes[i].start {
            self.holes[i - 1].size += self.holes[i].size;
            self.holes.remove(i);
        }
    }

    /// Grows the block ending at `end` by `more` bytes in place, if the hole
    /// right after it is large enough.
    pub fn extend_up(&mut self, end: u64, more: u64) -> bool {
        if more == 0 {
            return true;
        }
        match self.holes.iter().position(|h| h.start == end) {
            Some(i) if self.holes[i].size >= more => {
                self.take(i, end, more);
                true
            }
            _ => false,
        }
    }

    /// Grows the block starting at `start` downward by `more` bytes in place,
    /// if the hole right before it is large enough.
    pub fn extend_down(&mut self, start: u64, more: u64) -> bool {
        if more == 0 {
            return true;
        }
        match self.holes.iter().position(|h| h.end() == start) {
            Some(i) if self.holes[i].size >= more => {
                self.take(i, start - more, more);
                true
            }
            _ => false,
        }
    }

    /// Whether `pa` is in a hole.
    pub fn is_free(&self, pa: u64) -> bool {
        self.holes.iter().any(|h| h.start <= pa && pa < h.end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// E3's picture at the scale of physical memory: free 16 at 0, used 12,
    /// free 24 at 28, used 16 at 52.
    fn e3(policy: Fit) -> FreeList {
        let mut f = FreeList::new(0, 68, policy);
        f.allocate_at(16, 12).unwrap();
        f.allocate_at(52, 16).unwrap();
        f
    }

    #[test]
    fn fit_policies_pick_the_lecture_holes() {
        assert_eq!(e3(Fit::FirstFit).allocate(12), Ok(0));
        assert_eq!(e3(Fit::BestFit).allocate(12), Ok(0));
        assert_eq!(e3(Fit::WorstFit).allocate(12), Ok(28));
        assert_eq!(e3(Fit::BestFit).allocate(24), Ok(28));
    }

    #[test]
    fn no_fit_reports_external_fragmentation() {
        let err = e3(Fit::FirstFit).allocate(32).unwrap_err();
        assert_eq!((err.free_total, err.largest_hole), (40, 24));
        assert!(err.to_string().contains("external fragmentation"));
    }

    #[test]
    fn free_coalesces_neighbours() {
        let mut f = e3(Fit::FirstFit);
        f.free(16, 12);
        assert_eq!(f.holes(), &[Hole { start: 0, size: 52 }]);
    }

    #[test]
    fn next_fit_resumes_after_the_last_allocation() {
        let mut f = FreeList::new(0, 100, Fit::NextFit);
        assert_eq!(f.allocate(10), Ok(0));
        f.free(0, 10);
        assert_eq!(f.allocate(10), Ok(10));
    }

    #[test]
    fn extend_needs_an_adjacent_hole() {
        let mut f = FreeList::new(0, 100, Fit::FirstFit);
        f.allocate_at(10, 10).unwrap();
        f.allocate_at(40, 10).unwrap();
        assert!(f.extend_up(20, 20));
        assert!(!f.extend_up(40, 1), "no hole starts at 40");
        assert!(f.extend_down(10, 10));
        assert!(!f.extend_down(0, 1));
    }
}
