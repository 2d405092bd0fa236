//! `paging-multilevel-translate.py`, the OSTEP homework on small page
//! tables: a process with a two-level page table in a 4 KiB physical
//! memory (128 pages of 32 bytes), and virtual addresses to translate to
//! the physical address and the byte found there.
//!
//! The memory image is drawn exactly as the original draws it, but it is
//! built by vmlab's own code: the bytes live in a [`PhysicalMemory`], the
//! page directory and page tables are written by the kernel side of
//! [`crate::mmu::multilevel`] (`init_table`, `map`) in OSTEP's layout
//! ([`Layout::ostep`]), and every answer is the [`MultiLevel`] MMU's walk
//! in that memory.
//!
//! The drawing, in the original's order (one `random()` per draw):
//!
//! ```text
//!   page directory: a random free page, filled with 0x7f (invalid)
//!   for each of the -a virtual pages:
//!     a random unused virtual page (of 1024), then a random free frame;
//!     map it (a missing page table takes another random free frame,
//!     filled with 0x7f), then fill the frame with 32 random bytes 0..30
//!   for each of the -n addresses: a coin; heads (or past the pages
//!     allocated): a random address of the 32 KiB space, tails: a random
//!     offset in the i-th allocated page
//! ```
//!
//! Where the original crashes or ignores a bad value, [`generate`] returns
//! an input error instead: `-a` more than the 128 frames can hold (the
//! original dies in an assertion; the error says how many fit with that
//! seed), negative `-a` or `-n`.

use super::PyRandom;
use super::lines::{Lines, Sink};
use crate::addr::{PhysAddr, VirtAddr};
use crate::memory::PhysicalMemory;
use crate::mmu::multilevel::{self, Layout, MultiLevel};
use crate::mmu::{Access, Mmu, Perms, Step, StepRecorder};
use std::io::{self, Write};

/// Bytes in a page.
pub const PAGE_SIZE: u64 = 32;
/// Frames of physical memory.
pub const PHYS_PAGES: u64 = 128;
/// Pages of the virtual address space.
pub const VA_PAGES: u64 = 1024;

/// The original's flags.
#[derive(Clone, Debug)]
pub struct Options {
    /// `-s`: the random seed.
    pub seed: i128,
    /// `-a`: how many virtual pages to allocate.
    pub allocated: i128,
    /// `-n`: how many virtual addresses to ask about.
    pub num: i128,
}

/// The physical frames the OS hands out, drawn at random as the original
/// draws them.
struct Frames {
    used: [bool; PHYS_PAGES as usize],
    count: u64,
    /// How many went to page tables (not the directory, not data).
    tables: u64,
}

impl Frames {
    /// A random free frame, or `None` when all are used (the original's
    /// assertion).
    fn find_free(&mut self, rng: &mut PyRandom) -> Option<u64> {
        if self.count >= PHYS_PAGES {
            return None;
        }
        loop {
            let look = (rng.random() * PHYS_PAGES as f64) as u64;
            if !self.used[look as usize] {
                self.used[look as usize] = true;
                self.count += 1;
                return Some(look);
            }
        }
    }
}

/// A generated problem: the memory image, the MMU over it, and the rest of
/// the random stream, which draws the addresses.
pub struct Problem {
    /// Physical memory, 128 pages of 32 bytes.
    pub mem: PhysicalMemory,
    /// The MMU, its page-directory base register at the directory.
    pub mmu: MultiLevel,
    /// The virtual pages allocated, in order.
    pub used: Vec<u64>,
    /// `-n`.
    pub num: u64,
    rng: PyRandom,
}

impl Problem {
    /// The page holding the page directory (the original's PDBR).
    pub fn pdbr(&self) -> u64 {
        self.mmu.root() / PAGE_SIZE
    }

    /// The trace, drawn as the original draws it, with the MMU and memory
    /// borrowed beside it. Streams: a trace of any length costs no memory.
    pub fn trace(&mut self) -> (&MultiLevel, &PhysicalMemory, impl Iterator<Item = u64> + '_) {
        let (used, rng) = (&self.used, &mut self.rng);
        let addresses = (0..self.num).map(move |i| {
            let coin = rng.random() * 100.0;
            match used.get(i as usize) {
                Some(&vp) if coin <= 50.0 => (vp << 5) | (rng.random() * 32.0) as u64,
                _ => (rng.random() * (VA_PAGES * PAGE_SIZE) as f64) as u64,
            }
        });
        (&self.mmu, &self.mem, addresses)
    }
}

/// Draws the problem as the original does.
///
/// Returns `Err` (one line; vmlab exits 2) for a negative `-a` or `-n`, and
/// for `-a` larger than the memory can hold with this seed (saying how many
/// pages fit).
pub fn generate(opts: &Options) -> Result<Problem, String> {
    if opts.allocated < 0 {
        return Err(format!(
            "-a: {} virtual pages: the number of pages to allocate must be 0 or more",
            opts.allocated
        ));
    }
    if opts.num < 0 {
        return Err(format!(
            "-n: {} addresses: the number of addresses must be 0 or more",
            opts.num
        ));
    }
    let num = u64::try_from(opts.num).map_err(|_| format!("-n: {} is too large", opts.num))?;
    let layout = Layout::ostep();
    let phys_size = PHYS_PAGES * PAGE_SIZE;
    let mut mem = PhysicalMemory::new(phys_size);
    let mut rng = PyRandom::new(opts.seed);
    let mut frames = Frames {
        used: [false; PHYS_PAGES as usize],
        count: 0,
        tables: 0,
    };

    // The page directory: a free frame, every entry invalid (0x7f).
    let pd = frames.find_free(&mut rng).ok_or("no free frame")?;
    let root = pd * PAGE_SIZE;
    multilevel::init_table(&mut mem, &layout, 0, root).map_err(|e| e.to_string())?;

    // Each virtual page: where it is, its frame, its page table entry (a
    // new page table when its directory entry is invalid), its bytes.
    let mut vused = vec![false; VA_PAGES as usize];
    let mut used = Vec::new();
    let full = |done: usize, frames: &Frames| {
        format!(
            "-a {}: physical memory has only {PHYS_PAGES} pages of {PAGE_SIZE} bytes; with seed {} the page directory, {} page-table pages and the data pages fill it after {done} virtual pages (at most {done} fit; the original dies in an assertion)",
            opts.allocated, opts.seed, frames.tables
        )
    };
    let allocated = u64::try_from(opts.allocated).unwrap_or(u64::MAX);
    for _ in 0..allocated {
        let mut vp = (rng.random() * VA_PAGES as f64) as u64;
        while vused[vp as usize] {
            vp = (rng.random() * VA_PAGES as f64) as u64;
        }
        vused[vp as usize] = true;
        let Some(pp) = frames.find_free(&mut rng) else {
            return Err(full(used.len(), &frames));
        };
        let mapped = multilevel::map(
            &mut mem,
            &layout,
            root,
            vp * PAGE_SIZE,
            pp,
            Perms::all(),
            &mut |_| {
                let t = frames.find_free(&mut rng)?;
                frames.tables += 1;
                Some(t)
            },
        );
        match mapped {
            Ok(_) => {}
            Err(multilevel::MapError::OutOfMemory) => return Err(full(used.len(), &frames)),
            Err(e) => return Err(e.to_string()),
        }
        used.push(vp);
        let bytes: Vec<u8> = (0..PAGE_SIZE)
            .map(|_| (rng.random() * 31.0) as u8)
            .collect();
        mem.write(PhysAddr::new(pp * PAGE_SIZE), &bytes)
            .map_err(|e| e.to_string())?;
    }
    let mmu = MultiLevel::new(layout, root, phys_size).map_err(|e| e.to_string())?;
    Ok(Problem {
        mem,
        mmu,
        used,
        num,
        rng,
    })
}

/// One entry the walk read: its index in its table and its byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryRead {
    /// The index (the directory's or the table's).
    pub index: u64,
    /// The entry's byte.
    pub value: u64,
}

impl EntryRead {
    /// The valid bit (bit 7).
    pub fn valid(&self) -> bool {
        self.value & 0x80 != 0
    }

    /// The frame number (bits 6..0).
    pub fn pfn(&self) -> u64 {
        self.value & 0x7f
    }
}

/// What the two-level walk found for one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Walk {
    /// The virtual address.
    pub va: u64,
    /// The page-directory entry read.
    pub pde: EntryRead,
    /// The page-table entry read, when the directory entry was valid.
    pub pte: Option<EntryRead>,
    /// The physical address and the byte there, when both were valid.
    pub answer: Option<(u64, u8)>,
}

/// Keeps the entries a walk reads (the MMU's [`Step::ReadEntry`] steps).
#[derive(Default)]
struct Reads {
    entries: [Option<EntryRead>; 2],
}

impl StepRecorder for Reads {
    #[inline]
    fn record(&mut self, step: impl FnOnce() -> Step) {
        if let Step::ReadEntry {
            level,
            index,
            raw: Some(value),
            ..
        } = step()
            && let Some(slot) = self.entries.get_mut(level as usize)
        {
            *slot = Some(EntryRead { index, value });
        }
    }
}

/// Translates `va` with the MMU's walk in `mem`, keeping the entries read
/// and the byte loaded.
pub fn walk(mmu: &MultiLevel, mem: &PhysicalMemory, va: u64) -> Walk {
    let mut reads = Reads::default();
    let result = mmu.walk(mem, VirtAddr::new(va), Access::Read, &mut reads);
    // Every address of the 15-bit space has a directory entry in memory.
    let pde = reads.entries[0].unwrap_or(EntryRead { index: 0, value: 0 });
    let answer = result.ok().and_then(|pa| {
        let value = mem.read_le(pa, 1).ok()?;
        Some((pa.as_u64(), value as u8))
    });
    Walk {
        va,
        pde,
        pte: reads.entries[1],
        answer,
    }
}

/// Writes the `ARG` lines.
pub fn write_header(opts: &Options, out: &mut dyn Write) -> io::Result<()> {
    write!(
        out,
        "ARG seed {}\nARG allocated {}\nARG num {}\n\n",
        opts.seed, opts.allocated, opts.num
    )
}

/// Writes the memory dump (one line per page, the bytes in hex) and the
/// PDBR line, read from the problem's physical memory.
pub fn write_memory(problem: &Problem, out: &mut dyn Write) -> io::Result<()> {
    let mut lines = Lines::new(out);
    let mut page = [0u8; PAGE_SIZE as usize];
    for p in 0..PHYS_PAGES {
        // The memory is exactly 128 pages: every read is inside it.
        let _ = problem.mem.read(PhysAddr::new(p * PAGE_SIZE), &mut page);
        lines.text(b"page ");
        lines.dec(p, 3);
        lines.text(b":");
        for b in page {
            lines.hex(u64::from(b), 2);
        }
        lines.text(b"\n");
    }
    lines.text(b"\nPDBR: ");
    lines.dec(problem.pdbr(), 0);
    lines.text(b"  (decimal) [This means the page directory is held in this page]\n\n");
    lines.finish()
}

/// `  --> pde index:0x%x [decimal %d] pde contents:0x%x (valid %d, pfn
/// 0x%02x [decimal %d])` (with `indent` and `what`).
fn entry_line<S: Sink + ?Sized>(line: &mut S, indent: &[u8], what: &[u8], e: EntryRead) {
    line.text(indent);
    line.text(b"--> ");
    line.text(what);
    line.text(b" index:0x");
    line.hex(e.index, 0);
    line.text(b" [decimal ");
    line.dec(e.index, 0);
    line.text(b"] ");
    line.text(what);
    line.text(b" contents:0x");
    line.hex(e.value, 0);
    line.text(if e.valid() {
        b" (valid 1"
    } else {
        b" (valid 0"
    });
    line.text(b", pfn 0x");
    line.hex(e.pfn(), 2);
    line.text(b" [decimal ");
    line.dec(e.pfn(), 0);
    line.text(b"])\n");
}

/// The solved lines of one address, as the original prints them with `-c`.
pub fn write_answer<S: Sink + ?Sized>(line: &mut S, w: &Walk) {
    line.text(b"Virtual Address 0x");
    line.hex(w.va, 4);
    line.text(b":\n");
    entry_line(line, b"  ", b"pde", w.pde);
    if let Some(pte) = w.pte {
        entry_line(line, b"    ", b"pte", pte);
    }
    match (w.answer, w.pte) {
        (Some((pa, value)), _) => {
            line.text(b"      --> Translates to Physical Address 0x");
            line.hex(pa, 3);
            line.text(b" --> Value: 0x");
            line.hex(u64::from(value), 2);
            line.text(b"\n");
        }
        (None, None) => line.text(b"      --> Fault (page directory entry not valid)\n"),
        (None, Some(_)) => line.text(b"      --> Fault (page table entry not valid)\n"),
    }
}

/// The question line of one address, without its newline.
pub fn question_line<S: Sink + ?Sized>(line: &mut S, va: u64) {
    line.text(b"Virtual Address ");
    line.hex(va, 4);
    line.text(b": Translates To What Physical Address (And Fetches what Value)? Or Fault?");
}

/// Writes the whole output of the original (`solve` is `-c`); the exit
/// code is 0.
pub fn write_text(
    opts: &Options,
    mut problem: Problem,
    solve: bool,
    out: &mut dyn Write,
) -> io::Result<u8> {
    write_header(opts, out)?;
    write_memory(&problem, out)?;
    let (mmu, mem, addresses) = problem.trace();
    let mut lines = Lines::new(out);
    for va in addresses {
        if solve {
            write_answer(&mut lines, &walk(mmu, mem, va));
        } else {
            question_line(&mut lines, va);
            lines.text(b"\n");
        }
        if lines.failed() {
            break;
        }
    }
    lines.text(b"\n");
    lines.finish()?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(seed: i128, allocated: i128, num: i128) -> Options {
        Options {
            seed,
            allocated,
            num,
        }
    }

    #[test]
    fn seed_0_matches_the_original_directory_and_first_answer() {
        let mut p = generate(&opts(0, 64, 10)).unwrap();
        assert_eq!(p.pdbr(), 108);
        let (mmu, mem, mut vas) = p.trace();
        let va = vas.next().unwrap();
        assert_eq!(va, 0x611c);
        let w = walk(mmu, mem, va);
        assert_eq!(
            w.pde,
            EntryRead {
                index: 0x18,
                value: 0xa1
            }
        );
        assert_eq!(
            w.pte,
            Some(EntryRead {
                index: 8,
                value: 0xb5
            })
        );
        assert_eq!(w.answer, Some((0x6bc, 0x08)));
    }

    #[test]
    fn every_allocated_page_translates_and_the_tables_are_counted() {
        let p = generate(&opts(3, 40, 0)).unwrap();
        for &vp in &p.used {
            let w = walk(&p.mmu, &p.mem, vp << 5);
            assert!(w.answer.is_some(), "vp {vp}");
        }
        let usage = multilevel::table_usage(&p.mem, p.mmu.layout(), p.mmu.root());
        assert_eq!(usage.pages, 40);
        assert_eq!(usage.tables[0], 1);
    }

    #[test]
    fn too_many_pages_say_how_many_fit() {
        let e = generate(&opts(0, 127, 1)).err().unwrap();
        assert!(e.contains("-a 127"), "{e}");
        assert!(e.contains("at most"), "{e}");
        // The count it names does fit, and one more does not.
        let fit: i128 = e
            .split("at most ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .unwrap()
            .parse()
            .unwrap();
        assert!(generate(&opts(0, fit, 1)).is_ok());
        assert!(generate(&opts(0, fit + 1, 1)).is_err());
        // Far too many ends the same way, without hanging.
        assert!(generate(&opts(0, 1 << 40, 1)).is_err());
    }

    #[test]
    fn negative_counts_are_refused() {
        assert!(generate(&opts(0, -1, 5)).err().unwrap().contains("-a: -1"));
        assert!(generate(&opts(0, 5, -2)).err().unwrap().contains("-n: -2"));
        assert!(generate(&opts(0, 0, 3)).is_ok());
    }
}
