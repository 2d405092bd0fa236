//! Swapping under time sharing, the kernel side: admitting a process and
//! the swap out / swap in of a context switch, over the types of
//! [`crate::kernel::swap`] (the disk and its images).

use super::Kernel;
use crate::addr::PhysAddr;
use crate::kernel::event::{Event, Pid};
use crate::kernel::swap::Image;

impl Kernel {
    /// A new process under time sharing: it becomes resident if memory is
    /// free, else its image (all zeros until the loader writes it) stays on
    /// disk until its first switch.
    pub(crate) fn time_sharing_admit(&mut self, pid: Pid) {
        if self.disk.resident.is_none() {
            self.disk.resident = Some(pid);
        } else {
            self.disk.images.entry(pid).or_default();
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

    /// Writes `pid`'s whole address space to disk. The cost counts every
    /// byte of it (the lecture's point); the copy takes only the frames that
    /// hold data (physical memory is sparse).
    fn swap_out(&mut self, pid: Pid) {
        let (start, size) = self.image_range(pid);
        let mut image = Image::default();
        let spans = self
            .memory
            .held_spans(PhysAddr::new(start), size)
            .unwrap_or_default();
        let mut buf = Vec::new();
        for (at, n) in spans {
            buf.resize(n as usize, 0);
            if self.memory.read(at, &mut buf).is_ok() {
                image.write(at.as_u64() - start, &buf);
            }
        }
        self.disk.images.insert(pid, image);
        self.counts.disk_transfers += 1;
        self.counts.disk_bytes += size;
        self.emit(Event::Swap {
            pid,
            direction: "out",
            bytes: size,
        });
    }

    /// Reads `pid`'s whole address space back from disk into memory: the
    /// memory is cleared (nothing of the previous owner stays), then the
    /// image's pages are written back, clipped to the address space.
    fn swap_in(&mut self, pid: Pid) {
        let (start, size) = self.image_range(pid);
        let image = self.disk.images.remove(&pid).unwrap_or_default();
        let _ = self.memory.zero(PhysAddr::new(start), size);
        for (offset, bytes) in image.pages() {
            let n = size.saturating_sub(offset).min(bytes.len() as u64) as usize;
            if n > 0 {
                let _ = self
                    .memory
                    .write(PhysAddr::new(start + offset), &bytes[..n]);
            }
        }
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
