//! Time sharing of memory: each running process owns all of (user) memory,
//! so a context switch writes the whole address space of the old process to
//! the disk and reads the new one's back. The disk counts every byte, and
//! the cost model turns them into time (E12: "ridiculously poor
//! performance", as a number).
//!
//! This module holds the disk's data types only (the time-sharing disk and
//! its images, the paging swap area). The dependency goes one way:
//! `system` uses `swap`, never the reverse; the kernel's swapping code
//! (`impl Kernel`: admitting a process, swap out / swap in) lives in
//! `system/swapping.rs`.

use super::event::Pid;
use std::collections::{BTreeMap, HashMap};

/// The swap disk: saved address spaces, and who is in memory now.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    /// The process whose address space is in memory.
    pub resident: Option<Pid>,
    /// Saved address spaces, by pid.
    pub images: HashMap<Pid, Image>,
}

/// The size of a page of a saved image.
const PAGE: u64 = 4096;

/// A saved address space, kept sparse as physical memory is: only the
/// pages that hold data (by offset in the address space); every other byte
/// is zero. A 2 GiB address space with a few bytes written costs a page.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Image {
    pages: BTreeMap<u64, Box<[u8; PAGE as usize]>>,
}

impl Image {
    /// Writes `bytes` at `offset` in the address space (allocating the
    /// pages they fall in). Bytes past 2^64 are dropped.
    pub fn write(&mut self, offset: u64, bytes: &[u8]) {
        for (i, &byte) in bytes.iter().enumerate() {
            let Some(at) = offset.checked_add(i as u64) else {
                return;
            };
            let page = self
                .pages
                .entry(at / PAGE)
                .or_insert_with(|| Box::new([0; PAGE as usize]));
            page[(at % PAGE) as usize] = byte;
        }
    }

    /// The byte at `offset` (0 where nothing was written).
    pub fn byte(&self, offset: u64) -> u8 {
        self.pages
            .get(&(offset / PAGE))
            .map_or(0, |p| p[(offset % PAGE) as usize])
    }

    /// The pages that hold data: (offset in the address space, bytes).
    pub fn pages(&self) -> impl Iterator<Item = (u64, &[u8])> {
        self.pages.iter().map(|(n, p)| (n * PAGE, &p[..]))
    }

    /// Bytes the image holds in memory (whole pages).
    pub fn bytes_held(&self) -> u64 {
        self.pages.len() as u64 * PAGE
    }
}

impl Disk {
    /// Writes one byte of a saved image (the loader filling an image that
    /// waits on disk).
    pub fn poke(&mut self, pid: Pid, offset: u64, byte: u8) {
        self.images.entry(pid).or_default().write(offset, &[byte]);
    }
}

/// The swap area of demand paging: page-sized slots on the disk, one per
/// virtual page that has contents there (a page of the program's image,
/// or a dirty page written back when it was evicted). A page with no slot
/// is all zeros (heap and stack pages never written), so its first touch
/// costs no disk read. Kept sparse: only pages that hold data.
#[derive(Clone, Debug, Default)]
pub struct SwapArea {
    slots: HashMap<(Pid, u64), Vec<u8>>,
}

impl SwapArea {
    /// Writes byte `byte` at offset `offset` of `pid`'s page `vpn` (the
    /// loader placing the program image on disk), creating the slot.
    pub fn poke(&mut self, pid: Pid, vpn: u64, page_size: u64, offset: u64, byte: u8) {
        let slot = self
            .slots
            .entry((pid, vpn))
            .or_insert_with(|| vec![0; page_size as usize]);
        if let Some(b) = slot.get_mut(offset as usize) {
            *b = byte;
        }
    }

    /// Stores a whole page (a dirty victim written back).
    pub fn store(&mut self, pid: Pid, vpn: u64, bytes: Vec<u8>) {
        self.slots.insert((pid, vpn), bytes);
    }

    /// The page's contents on disk, if it has a slot.
    pub fn load(&self, pid: Pid, vpn: u64) -> Option<&[u8]> {
        self.slots.get(&(pid, vpn)).map(Vec::as_slice)
    }

    /// Drops `pid`'s slot for `vpn` (the page was unmapped).
    pub fn discard(&mut self, pid: Pid, vpn: u64) {
        self.slots.remove(&(pid, vpn));
    }

    /// Drops every slot of `pid` (it exited).
    pub fn discard_all(&mut self, pid: Pid) {
        self.slots.retain(|(p, _), _| *p != pid);
    }

    /// Slots in use.
    pub fn slots(&self) -> usize {
        self.slots.len()
    }
}
