//! The frame allocator: physical memory cut into page frames, a free list,
//! and who owns each frame.
//!
//! ```text
//!  frame  0 .. os_frames            the OS region: the kernel's own memory,
//!                                   from which it takes page-table pages
//!  frame  os_frames .. total        user frames: process pages
//! ```
//!
//! The kernel keeps page tables in its own memory (the OS region), so that
//! the frames a scenario gives to processes (`[machine] frames`) are exactly
//! the frames the replacement policy manages. Each pool is a free list,
//! lowest frame first (so runs are reproducible). A frame is free, a page
//! table of a process, or a process's virtual page (possibly shared by
//! several processes running the same program: read-only code).
//!
//! Memory is proportional to the frames in use, never to the frame count:
//! a free frame costs nothing until it is first handed out.

use super::event::Pid;
use std::collections::{BTreeMap, BTreeSet};

/// Who holds a frame.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum FrameOwner {
    /// Nobody.
    Free,
    /// A page-table page of a process (kernel memory).
    PageTable {
        /// The process whose tables it holds.
        pid: Pid,
    },
    /// A virtual page of one process, or of several sharing it.
    Page {
        /// The processes mapping it (the first loaded it).
        pids: Vec<Pid>,
        /// The virtual page number.
        vpn: u64,
    },
}

/// Why a frame could not be had.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum FrameError {
    /// Every frame of the pool is taken.
    #[error("no free {0} frame (all {1} are taken)")]
    Exhausted(&'static str, u64),
}

/// One pool of frames `[first, first + count)` with its free list.
#[derive(Clone, Debug)]
struct Pool {
    name: &'static str,
    first: u64,
    count: u64,
    /// Frames given back, lowest first.
    returned: BTreeSet<u64>,
    /// Frames never handed out start here.
    next_fresh: u64,
}

impl Pool {
    fn new(name: &'static str, first: u64, count: u64) -> Pool {
        Pool {
            name,
            first,
            count,
            returned: BTreeSet::new(),
            next_fresh: first,
        }
    }

    fn take(&mut self) -> Result<u64, FrameError> {
        if let Some(f) = self.returned.pop_first() {
            return Ok(f);
        }
        if self.next_fresh < self.first + self.count {
            self.next_fresh += 1;
            return Ok(self.next_fresh - 1);
        }
        Err(FrameError::Exhausted(self.name, self.count))
    }

    fn give_back(&mut self, f: u64) {
        if f + 1 == self.next_fresh {
            self.next_fresh -= 1;
            // Returned frames just below the fresh ones rejoin them.
            while let Some(&last) = self.returned.last() {
                if last + 1 != self.next_fresh {
                    break;
                }
                self.returned.pop_last();
                self.next_fresh -= 1;
            }
        } else {
            self.returned.insert(f);
        }
    }

    fn free(&self) -> u64 {
        self.first + self.count - self.next_fresh + self.returned.len() as u64
    }

    fn contains(&self, f: u64) -> bool {
        f >= self.first && f - self.first < self.count
    }
}

/// The frame table: two pools (kernel page tables, user pages) and the
/// owner of every frame in use.
#[derive(Clone, Debug)]
pub struct Frames {
    page_size: u64,
    kernel: Pool,
    user: Pool,
    owners: BTreeMap<u64, FrameOwner>,
}

impl Frames {
    /// Frames of `page_size` bytes: the kernel's pool is the OS region's
    /// `os_frames` frames from frame 0, the user pool the `user_frames`
    /// frames right after it.
    pub fn new(page_size: u64, os_frames: u64, user_frames: u64) -> Frames {
        Frames {
            page_size,
            kernel: Pool::new("page-table", 0, os_frames),
            user: Pool::new("user", os_frames, user_frames),
            owners: BTreeMap::new(),
        }
    }

    /// Bytes per frame.
    pub fn page_size(&self) -> u64 {
        self.page_size
    }

    /// Takes the lowest free kernel frame for a page table of `pid`.
    ///
    /// Fails when the OS region has no free frame left.
    pub fn alloc_table(&mut self, pid: Pid) -> Result<u64, FrameError> {
        let f = self.kernel.take()?;
        self.owners.insert(f, FrameOwner::PageTable { pid });
        Ok(f)
    }

    /// Takes `n` contiguous kernel frames for one page table of `pid` (a
    /// table larger than a page, such as a linear table, needs several):
    /// the lowest free one when `n` is 1, else the first `n` frames never
    /// handed out. Returns the first frame.
    ///
    /// Fails when the OS region has no such run left.
    pub fn alloc_tables(&mut self, pid: Pid, n: u64) -> Result<u64, FrameError> {
        if n <= 1 {
            return self.alloc_table(pid);
        }
        let pool = &mut self.kernel;
        let end = pool.first + pool.count;
        if pool.next_fresh.checked_add(n).is_none_or(|e| e > end) {
            return Err(FrameError::Exhausted(pool.name, pool.count));
        }
        let first = pool.next_fresh;
        pool.next_fresh += n;
        for f in first..first + n {
            self.owners.insert(f, FrameOwner::PageTable { pid });
        }
        Ok(first)
    }

    /// Takes the lowest free user frame for virtual page `vpn` of `pid`.
    ///
    /// Fails when every user frame is taken.
    pub fn alloc_page(&mut self, pid: Pid, vpn: u64) -> Result<u64, FrameError> {
        let f = self.user.take()?;
        self.owners.insert(
            f,
            FrameOwner::Page {
                pids: vec![pid],
                vpn,
            },
        );
        Ok(f)
    }

    /// Gives frame `f` a new owner: `vpn` of `pid` alone (a frame taken
    /// from an evicted page keeps its place in memory and changes hands).
    pub fn reassign(&mut self, f: u64, pid: Pid, vpn: u64) {
        self.owners.insert(
            f,
            FrameOwner::Page {
                pids: vec![pid],
                vpn,
            },
        );
    }

    /// Adds `pid` to the processes sharing page frame `f`.
    pub fn share(&mut self, f: u64, pid: Pid) {
        if let Some(FrameOwner::Page { pids, .. }) = self.owners.get_mut(&f) {
            if !pids.contains(&pid) {
                pids.push(pid);
            }
        }
    }

    /// `pid` lets go of frame `f`: the frame is free once nobody holds it.
    /// Returns whether it became free.
    pub fn release(&mut self, f: u64, pid: Pid) -> bool {
        let free = match self.owners.get_mut(&f) {
            Some(FrameOwner::Page { pids, .. }) => {
                pids.retain(|&p| p != pid);
                pids.is_empty()
            }
            Some(FrameOwner::PageTable { pid: p }) => *p == pid,
            _ => false,
        };
        if free {
            self.owners.remove(&f);
            if self.kernel.contains(f) {
                self.kernel.give_back(f);
            } else {
                self.user.give_back(f);
            }
        }
        free
    }

    /// Who holds frame `f`.
    pub fn owner(&self, f: u64) -> FrameOwner {
        self.owners.get(&f).cloned().unwrap_or(FrameOwner::Free)
    }

    /// Whether `pid` may touch frame `f` (a page it maps).
    pub fn held_by(&self, f: u64, pid: Pid) -> bool {
        matches!(self.owners.get(&f), Some(FrameOwner::Page { pids, .. }) if pids.contains(&pid))
    }

    /// Frames in use, lowest first, with their owners.
    pub fn used(&self) -> impl Iterator<Item = (u64, &FrameOwner)> {
        self.owners.iter().map(|(f, o)| (*f, o))
    }

    /// Free user frames.
    pub fn free_user(&self) -> u64 {
        self.user.free()
    }

    /// Free kernel (page-table) frames.
    pub fn free_kernel(&self) -> u64 {
        self.kernel.free()
    }

    /// User frames in all.
    pub fn user_frames(&self) -> u64 {
        self.user.count
    }

    /// The first user frame.
    pub fn first_user(&self) -> u64 {
        self.user.first
    }

    /// Kernel frames in all.
    pub fn kernel_frames(&self) -> u64 {
        self.kernel.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_lowest_first_and_return_to_the_free_list() {
        let mut f = Frames::new(4096, 2, 3);
        assert_eq!(f.alloc_table(1), Ok(0));
        assert_eq!(f.alloc_page(1, 7), Ok(2));
        assert_eq!(f.alloc_page(1, 8), Ok(3));
        assert_eq!(f.alloc_page(2, 0), Ok(4));
        assert_eq!(f.alloc_page(2, 1), Err(FrameError::Exhausted("user", 3)));
        assert!(f.release(3, 1));
        assert_eq!(f.free_user(), 1);
        assert_eq!(f.alloc_page(2, 1), Ok(3));
        assert_eq!(
            f.owner(3),
            FrameOwner::Page {
                pids: vec![2],
                vpn: 1
            }
        );
        assert_eq!(f.owner(1), FrameOwner::Free);
        assert_eq!(f.free_kernel(), 1);
    }

    #[test]
    fn a_shared_frame_is_free_only_when_its_last_holder_lets_go() {
        let mut f = Frames::new(4096, 1, 2);
        let code = f.alloc_page(1, 0).unwrap();
        f.share(code, 2);
        assert!(f.held_by(code, 1) && f.held_by(code, 2));
        assert!(!f.release(code, 1));
        assert!(!f.held_by(code, 1));
        assert!(f.release(code, 2));
        assert_eq!(f.free_user(), 2);
    }

    #[test]
    fn frames_returned_out_of_order_are_reused_lowest_first() {
        let mut f = Frames::new(16, 0, 4);
        for v in 0..4 {
            f.alloc_page(1, v).unwrap();
        }
        f.release(2, 1);
        f.release(0, 1);
        f.release(3, 1);
        assert_eq!(f.free_user(), 3);
        assert_eq!(f.alloc_page(1, 9), Ok(0));
        assert_eq!(f.alloc_page(1, 9), Ok(2));
        assert_eq!(f.alloc_page(1, 9), Ok(3));
        assert!(f.alloc_page(1, 9).is_err());
    }
}
