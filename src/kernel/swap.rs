//! Time sharing of memory: each running process owns all of (user) memory,
//! so a context switch writes the whole address space of the old process to
//! the disk and reads the new one's back. The disk counts every byte, and
//! the cost model turns them into time (E12: "ridiculously poor
//! performance", as a number).

use super::event::{Event, Pid};
use super::system::Kernel;
use crate::addr::PhysAddr;
use std::collections::HashMap;

/// The swap disk: saved address spaces, and who is in memory now.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    /// The process whose address space is in memory.
    pub resident: Option<Pid>,
    /// Saved address spaces, by pid (index = offset in the address space).
    pub images: HashMap<Pid, Vec<u8>>,
}

impl Disk {
    /// Writes one byte of a saved image (the loader filling an image that
    /// waits on disk). Grows the image as needed.
    pub fn poke(&mut self, pid: Pid, offset: u64, byte: u8) {
        let image = self.images.entry(pid).or_default();
        let i = offset as usize;
        if image.len() <= i {
            image.resize(i + 1, 0);
        }
        image[i] = byte;
    }
}

impl Kernel {
    /// A new process under time sharing: it becomes resident if memory is
    /// free, else its image stays on disk until its first switch.
    pub(crate) fn time_sharing_admit(&mut self, pid: Pid) {
        if self.disk.resident.is_none() {
            self.disk.resident = Some(pid);
        } else {
            let size = self.proc(pid).space.size as usize;
            self.disk.images.entry(pid).or_default().resize(size, 0);
        }
    }

    /// Context-switch step under time sharing: swap the resident address
    /// space out (unless it has exited) and `to`'s in. Kernel mode.
    pub(crate) fn swap_for(&mut self, to: Pid) {
        if self.disk.resident == Some(to) {
            return;
        }
        if let Some(old) = self.disk.resident.take() {
            if self.proc(old).alive() {
                self.swap_out(old);
            }
        }
        self.swap_in(to);
    }

    fn image_range(&self, pid: Pid) -> (u64, u64) {
        let b = &self.proc(pid).memory[0];
        (b.start, b.size)
    }

    /// Writes `pid`'s whole address space to disk.
    fn swap_out(&mut self, pid: Pid) {
        let (start, size) = self.image_range(pid);
        let mut buf = vec![0u8; size as usize];
        let _ = self.memory.read(PhysAddr::new(start), &mut buf);
        self.disk.images.insert(pid, buf);
        self.counts.disk_transfers += 1;
        self.counts.disk_bytes += size;
        self.emit(Event::Swap {
            pid,
            direction: "out",
            bytes: size,
        });
    }

    /// Reads `pid`'s whole address space back from disk into memory.
    fn swap_in(&mut self, pid: Pid) {
        let (start, size) = self.image_range(pid);
        let mut image = self.disk.images.remove(&pid).unwrap_or_default();
        image.resize(size as usize, 0);
        let _ = self.memory.write(PhysAddr::new(start), &image);
        self.disk.resident = Some(pid);
        self.counts.disk_transfers += 1;
        self.counts.disk_bytes += size;
        self.emit(Event::Swap {
            pid,
            direction: "in",
            bytes: size,
        });
    }
}
