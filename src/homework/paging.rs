//! `paging-linear-translate.py`, the OSTEP paging homework: a random linear
//! page table (valid bit + PFN per virtual page) and a trace of virtual
//! addresses to translate.
//!
//! The page table is drawn exactly as the original draws it and every answer
//! comes from the [`LinearPageTable`] MMU. Where the original crashes (page
//! size 0, an address outside the address space), [`generate`] returns an
//! input error instead.

use super::PyRandom;
use super::lines::{Lines, Sink};
use super::pyconv::size_flag as size;
use super::vtrace::{AddressSource, draw_below};
use crate::addr::VirtAddr;
use crate::memory::PhysicalMemory;
use crate::mmu::{Access, LinearPageTable, Mmu, PageTableEntry};
use std::io::{self, Write};

/// The most page-table entries vmlab builds (16 Mi, 256 MiB of table): the
/// original would need hours and gigabytes beyond that.
pub const MAX_PAGES: u64 = 1 << 24;

/// The original's flags.
#[derive(Clone, Debug)]
pub struct Options {
    /// `-s`: the random seed.
    pub seed: i128,
    /// `-A`: comma-separated addresses, or `-1` for random ones.
    pub addresses: String,
    /// `-a`: address-space size, as typed.
    pub asize: String,
    /// `-p`: physical memory size, as typed.
    pub psize: String,
    /// `-P`: page size, as typed.
    pub pagesize: String,
    /// `-n`: how many random addresses.
    pub num: i128,
    /// `-u`: percent of the address space that is used (valid).
    pub used: i128,
    /// `-v`: print the VPN beside each page-table entry.
    pub verbose: bool,
}

/// What the original does with these options.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// It stops with this line before the page table (exit 1).
    Refused(&'static str),
    /// A problem to solve.
    Problem(Box<Problem>),
}

/// A generated problem.
#[derive(Clone, Debug)]
pub struct Problem {
    /// The page table the answers come from.
    pub mmu: LinearPageTable,
    /// Address-space size.
    pub asize: u64,
    /// The trace.
    pub source: AddressSource,
    rng: PyRandom,
}

impl Problem {
    /// The page table and the trace in order (every address is inside the
    /// address space), borrowed together so the table is never copied.
    pub fn trace(&mut self) -> (&LinearPageTable, impl Iterator<Item = u64> + '_) {
        let addresses = self
            .source
            .iter(&mut self.rng, self.asize)
            .map(|va| va.unwrap_or_default());
        (&self.mmu, addresses)
    }
}

/// Draws the problem as the original does.
///
/// Returns `Err` (one line; vmlab exits 2) for malformed numbers, a page
/// size of 0 or below, `-A` addresses outside the address space (the
/// original crashes or answers nonsense there), and page tables of more
/// than [`MAX_PAGES`] entries.
pub fn generate(opts: &Options) -> Result<Outcome, String> {
    let asize = size("-a", &opts.asize)?;
    let psize = size("-p", &opts.psize)?;
    let pagesize = size("-P", &opts.pagesize)?;
    let mut rng = PyRandom::new(opts.seed);

    // The original's checks, in its order.
    if psize <= 1 {
        return Ok(Outcome::Refused(
            "Error: must specify a non-zero physical memory size.",
        ));
    }
    if asize < 1 {
        return Ok(Outcome::Refused(
            "Error: must specify a non-zero address-space size.",
        ));
    }
    if psize <= asize {
        return Ok(Outcome::Refused(
            "Error: physical memory size must be GREATER than address space size (for this simulation)",
        ));
    }
    if psize >= 1 << 30 || asize >= 1 << 30 {
        return Ok(Outcome::Refused(
            "Error: must use smaller sizes (less than 1 GB) for this simulation.",
        ));
    }
    if pagesize <= 0 {
        return Err(format!(
            "-P: page size {pagesize} must be positive (a power of two such as 4k)"
        ));
    }
    let (asize, psize, pagesize) = (asize as u64, psize as u64, pagesize as u64);
    if asize % pagesize != 0 {
        return Ok(Outcome::Refused(
            "Error in argument: address space must be a multiple of the pagesize",
        ));
    }
    if psize % pagesize != 0 {
        return Ok(Outcome::Refused(
            "Error in argument: physical memory must be a multiple of the pagesize",
        ));
    }
    if !asize.is_power_of_two() {
        return Ok(Outcome::Refused(
            "Error in argument: address space must be a power of 2",
        ));
    }
    if !pagesize.is_power_of_two() {
        return Ok(Outcome::Refused(
            "Error in argument: page size must be a power of 2",
        ));
    }
    // The addresses are read only now, as in the original.
    let source = AddressSource::parse(&opts.addresses, opts.num)?;
    if let Some(bad) = source.first_out_of_range(asize) {
        return Err(format!(
            "-A: virtual address {bad} is outside the address space [0, {asize})"
        ));
    }

    // The page table: each virtual page is valid with probability used%,
    // and a valid page gets a random free frame.
    let frames = psize / pagesize;
    let vpages = asize / pagesize;
    if vpages > MAX_PAGES {
        return Err(format!(
            "-P: a {asize}-byte address space in {pagesize}-byte pages needs {vpages} page-table entries; this simulation allows at most {MAX_PAGES} (use a larger page size)"
        ));
    }
    let threshold = 100.0 - opts.used as f64;
    let mut taken = vec![0u64; frames.div_ceil(64) as usize];
    let mut entries = Vec::with_capacity(vpages as usize);
    for _ in 0..vpages {
        loop {
            if rng.random() * 100.0 > threshold {
                let frame = draw_below(&mut rng, frames);
                let (word, bit) = ((frame / 64) as usize, frame % 64);
                if taken[word] & (1 << bit) == 0 {
                    taken[word] |= 1 << bit;
                    entries.push(PageTableEntry::mapped(frame));
                    break;
                }
            } else {
                entries.push(PageTableEntry::invalid());
                break;
            }
        }
    }
    let mmu = LinearPageTable::new(pagesize, entries, psize).map_err(|e| e.to_string())?;
    Ok(Outcome::Problem(Box::new(Problem {
        mmu,
        asize,
        source,
        rng,
    })))
}

/// Writes the `ARG` lines.
pub fn write_header(opts: &Options, out: &mut dyn Write) -> io::Result<()> {
    write!(
        out,
        "ARG seed {}\nARG address space size {}\nARG phys mem size {}\nARG page size {}\nARG verbose {}\nARG addresses {}\n\n",
        opts.seed,
        opts.asize,
        opts.psize,
        opts.pagesize,
        if opts.verbose { "True" } else { "False" },
        opts.addresses
    )
}

/// Writes the explanation of the format and the page table.
pub fn write_page_table(
    mmu: &LinearPageTable,
    verbose: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    out.write_all(
        b"\nThe format of the page table is simple:\n\
The high-order (left-most) bit is the VALID bit.\n\
\x20 If the bit is 1, the rest of the entry is the PFN.\n\
\x20 If the bit is 0, the page is not valid.\n\
Use verbose mode (-v) if you want to print the VPN # by\n\
each entry of the page table.\n\n\
Page Table (from entry 0 down to the max size)\n",
    )?;
    let mut lines = Lines::new(out);
    for (vpn, pte) in mmu.entries().iter().enumerate() {
        if verbose {
            lines.text(b"  [");
            lines.dec(vpn as u64, 8);
            lines.text(b"]  ");
        } else {
            lines.text(b"  ");
        }
        lines.text(b"0x");
        lines.hex(pte_word(pte), 8);
        lines.text(b"\n");
    }
    lines.text(b"\n");
    lines.finish()
}

/// The entry as the original prints it: valid bit 31, PFN below.
pub fn pte_word(pte: &PageTableEntry) -> u64 {
    if pte.valid { 0x8000_0000 | pte.pfn } else { 0 }
}

/// Writes the whole output of the original (`solve` is `-c`) and returns
/// its exit code.
pub fn write_text(
    opts: &Options,
    outcome: Outcome,
    solve: bool,
    out: &mut dyn Write,
) -> io::Result<u8> {
    write_header(opts, out)?;
    let mut problem = match outcome {
        Outcome::Refused(message) => {
            writeln!(out, "{message}")?;
            return Ok(1);
        }
        Outcome::Problem(p) => p,
    };
    let (mmu, addresses) = problem.trace();
    write_page_table(mmu, opts.verbose, out)?;
    out.write_all(b"Virtual Address Trace\n")?;
    let mut lines = Lines::new(out);
    for va in addresses {
        question_line(&mut lines, va);
        if !solve {
            lines.text(b"PA or invalid address?\n");
        } else {
            let (vpn, _) = mmu.split(VirtAddr::new(va));
            match mmu.translate(PhysicalMemory::empty(), VirtAddr::new(va), Access::Read) {
                Ok(pa) => {
                    lines.hex(pa.as_u64(), 8);
                    lines.text(b" (decimal ");
                    lines.dec(pa.as_u64(), 8);
                    lines.text(b") [VPN ");
                    lines.dec(vpn, 0);
                    lines.text(b"]\n");
                }
                Err(_) => {
                    lines.text(b" Invalid (VPN ");
                    lines.dec(vpn, 0);
                    lines.text(b" not valid)\n");
                }
            }
        }
        if lines.failed() {
            break;
        }
    }
    lines.text(b"\n");
    if !solve {
        lines.text(
            b"For each virtual address, write down the physical address it translates to\n\
OR write down that it is an out-of-bounds address (e.g., segfault).\n\n",
        );
    }
    lines.finish()?;
    Ok(0)
}

/// `  VA 0x%08x (decimal: %8d) --> ` into `line`.
#[inline]
pub fn question_line<S: Sink + ?Sized>(line: &mut S, va: u64) {
    line.text(b"  VA 0x");
    line.hex(va, 8);
    line.text(b" (decimal: ");
    line.dec(va, 8);
    line.text(b") --> ");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> Options {
        Options {
            seed: 0,
            addresses: "-1".into(),
            asize: "16k".into(),
            psize: "64k".into(),
            pagesize: "4k".into(),
            num: 5,
            used: 50,
            verbose: false,
        }
    }

    #[test]
    fn seed_0_matches_the_original_page_table() {
        let Ok(Outcome::Problem(mut p)) = generate(&opts()) else {
            panic!("no problem")
        };
        let words: Vec<u64> = p.mmu.entries().iter().map(pte_word).collect();
        assert_eq!(words, [0x8000000c, 0, 0, 0x80000006]);
        let vas: Vec<u64> = p.trace().1.collect();
        assert_eq!(vas, [12841, 4969, 7808, 9558, 14878]);
    }

    #[test]
    fn page_size_zero_is_refused() {
        let mut o = opts();
        o.pagesize = "0".into();
        assert!(generate(&o).unwrap_err().contains("-P"));
    }

    #[test]
    fn page_tables_beyond_the_limit_are_refused() {
        let mut o = opts();
        (o.asize, o.psize, o.pagesize) = ("512m".into(), "1000m".into(), "1".into());
        assert!(generate(&o).unwrap_err().contains("at most 16777216"));
    }

    #[test]
    fn addresses_outside_the_space_are_refused() {
        for bad in ["20000", "-5", "16384"] {
            let mut o = opts();
            o.addresses = bad.into();
            assert!(generate(&o).unwrap_err().contains("outside"), "{bad}");
        }
        let mut o = opts();
        o.addresses = "16383,0".into();
        assert!(generate(&o).is_ok());
    }
}
