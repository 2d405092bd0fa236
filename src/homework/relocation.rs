//! `relocation.py`, the OSTEP base-and-bounds homework: a random base and
//! limit (bounds) register and a trace of virtual addresses; the student
//! says which are valid and where they land in physical memory.
//!
//! The problem is drawn exactly as the original draws it (same random
//! numbers in the same order, same float arithmetic), and every answer comes
//! from the [`BaseBounds`] MMU. Where the original hangs or prints nonsense,
//! [`generate`] returns an input error instead.

use super::PyRandom;
use super::lines::{Lines, Sink};
use super::pyconv::size_flag as size;
use super::vtrace::draw_below;
use crate::addr::VirtAddr;
use crate::memory::PhysicalMemory;
use crate::mmu::{Access, BaseBounds, Mmu};
use std::io::{self, Write};

/// The original's flags, as text where it keeps text.
#[derive(Clone, Debug)]
pub struct Options {
    /// `-s`: the random seed.
    pub seed: i128,
    /// `-a`: address-space size, as typed (echoed in the header).
    pub asize: String,
    /// `-p`: physical memory size, as typed.
    pub psize: String,
    /// `-n`: how many addresses.
    pub num: i128,
    /// `-b`: base register (`-1`: random).
    pub base: String,
    /// `-l`: limit register (`-1`: random).
    pub limit: String,
}

/// What the original does with these options.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// It stops with this message before showing the registers (exit 1).
    Refused(&'static str),
    /// It shows the registers, then says they do not fit memory (exit 1).
    DoesNotFit {
        /// Base register.
        base: u64,
        /// Limit register.
        limit: u64,
        /// Physical memory size.
        psize: u64,
    },
    /// A problem to solve.
    Problem(Box<Problem>),
}

/// A generated problem: the MMU's registers and a random trace still to be
/// drawn.
#[derive(Clone, Debug)]
pub struct Problem {
    /// The base-and-bounds MMU the answers come from.
    pub mmu: BaseBounds,
    /// Address-space size: addresses are drawn from `[0, asize)`.
    pub asize: u64,
    /// How many addresses.
    pub count: u64,
    rng: PyRandom,
}

impl Problem {
    /// The virtual addresses of the trace, drawn in the original's order.
    pub fn addresses(&mut self) -> impl Iterator<Item = u64> + '_ {
        let asize = self.asize;
        let rng = &mut self.rng;
        (0..self.count).map(move |_| draw_below(rng, asize))
    }
}

/// Draws the problem as the original does.
///
/// Returns `Err` (a one-line message; vmlab exits 2) where the original would
/// hang, crash or print nonsense: malformed numbers, a negative address
/// space, a negative base or limit other than the `-1` meaning "random", a
/// limit that no base can fit below the end of physical memory.
pub fn generate(opts: &Options) -> Result<Outcome, String> {
    let asize = size("-a", &opts.asize)?;
    let psize = size("-p", &opts.psize)?;
    let mut rng = PyRandom::new(opts.seed);

    // The original's own checks, in its order.
    if psize <= 1 {
        return Ok(Outcome::Refused(
            "Error: must specify a non-zero physical memory size.",
        ));
    }
    if asize == 0 {
        return Ok(Outcome::Refused(
            "Error: must specify a non-zero address-space size.",
        ));
    }
    if psize <= asize {
        return Ok(Outcome::Refused(
            "Error: physical memory size must be GREATER than address space size (for this simulation)",
        ));
    }
    // The registers are read only now, as in the original.
    let limit = size("-l", &opts.limit)?;
    let base = size("-b", &opts.base)?;
    // Where the original prints negative addresses: refuse.
    if asize < 0 {
        return Err(format!(
            "-a: address-space size {asize} is negative (sizes are unsigned)"
        ));
    }
    random_or_given(&[("-l", limit), ("-b", base)])?;
    let (asize, psize) = (asize as u64, psize as u64);

    // The registers, limit first: drawn where they are -1.
    let limit = limit_register(&mut rng, limit, asize);
    let base = base_register(&mut rng, base, ("-l", limit), psize)?;
    if u128::from(base) + u128::from(limit) > u128::from(psize) {
        return Ok(Outcome::DoesNotFit { base, limit, psize });
    }
    let mmu = BaseBounds::new(base, limit, psize).map_err(|e| e.to_string())?;
    Ok(Outcome::Problem(Box::new(Problem {
        mmu,
        asize,
        count: u64::try_from(opts.num.max(0)).unwrap_or(u64::MAX),
        rng,
    })))
}

/// Refuses a register given as a negative number other than `-1` (which
/// means "pick at random"); `registers` are the flags and their values, in
/// the order to check them.
pub(crate) fn random_or_given(registers: &[(&str, i128)]) -> Result<(), String> {
    for &(flag, value) in registers {
        if value < -1 {
            return Err(format!(
                "{flag}: {value} is negative (only -1, meaning 'pick at random', is allowed)"
            ));
        }
    }
    Ok(())
}

/// A limit register as the original sets it: `-1` draws one between a
/// quarter and a half of the address space (`asize/4 + asize/4 *
/// random()`, truncated; one draw); anything else (checked by
/// [`random_or_given`]) is taken as given.
pub(crate) fn limit_register(rng: &mut PyRandom, limit: i128, asize: u64) -> u64 {
    if limit == -1 {
        let quarter = asize as f64 / 4.0;
        (quarter + quarter * rng.random()) as u64
    } else {
        limit as u64
    }
}

/// A base register as the original sets it: `-1` draws bases until the
/// region (`size`: the flag that set it and its value) fits below the end
/// of physical memory (`base + size < psize`); anything else is taken as
/// given.
///
/// Returns `Err` naming the size's flag when no drawn base can fit (the
/// original loops forever).
pub(crate) fn base_register(
    rng: &mut PyRandom,
    base: i128,
    size: (&str, u64),
    psize: u64,
) -> Result<u64, String> {
    if base != -1 {
        return Ok(base as u64);
    }
    let (flag, size) = size;
    placement_possible(flag, size, psize)?;
    loop {
        let b = draw_below(rng, psize);
        if u128::from(b) + u128::from(size) < u128::from(psize) {
            return Ok(b);
        }
    }
}

/// The original draws a base until `base + size < psize`: refuse when no
/// base can succeed (it would loop forever) or when success is so unlikely
/// (below one draw in 2^32) that it practically never ends.
fn placement_possible(flag: &str, size: u64, psize: u64) -> Result<(), String> {
    let room = u128::from(psize).saturating_sub(u128::from(size));
    if room == 0 || room << 32 < u128::from(psize) {
        return Err(format!(
            "{flag}: a region of {size} bytes cannot be placed at random in {psize} bytes of physical memory (the original loops forever)"
        ));
    }
    Ok(())
}

/// Writes the original's header: the `ARG` lines.
pub fn write_header(opts: &Options, out: &mut dyn Write) -> io::Result<()> {
    write!(
        out,
        "\nARG seed {}\nARG address space size {}\nARG phys mem size {}\n\n",
        opts.seed, opts.asize, opts.psize
    )
}

/// Writes the register block.
pub fn write_registers(base: u64, limit: u64, out: &mut dyn Write) -> io::Result<()> {
    write!(
        out,
        "Base-and-Bounds register information:\n\n  Base   : 0x{base:08x} (decimal {base})\n  Limit  : {limit}\n\n"
    )
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
        Outcome::DoesNotFit { base, limit, psize } => {
            write_registers(base, limit, out)?;
            writeln!(
                out,
                "Error: address space does not fit into physical memory with those base/bounds values."
            )?;
            writeln!(
                out,
                "Base + Limit: {}   Psize: {psize}",
                u128::from(base) + u128::from(limit)
            )?;
            return Ok(1);
        }
        Outcome::Problem(p) => p,
    };
    write_registers(problem.mmu.base(), problem.mmu.bounds(), out)?;
    out.write_all(b"Virtual Address Trace\n")?;
    let mmu = problem.mmu.clone();
    let mut lines = Lines::new(out);
    for (i, va) in problem.addresses().enumerate() {
        question_line(&mut lines, i as u64, va);
        if !solve {
            lines.text(b"PA or segmentation violation?\n");
        } else {
            match mmu.translate(PhysicalMemory::empty(), VirtAddr::new(va), Access::Read) {
                Ok(pa) => {
                    lines.text(b"VALID: 0x");
                    lines.hex(pa.as_u64(), 8);
                    lines.text(b" (decimal: ");
                    lines.dec(pa.as_u64(), 4);
                    lines.text(b")\n");
                }
                Err(_) => lines.text(b"SEGMENTATION VIOLATION\n"),
            }
        }
        if lines.failed() {
            break;
        }
    }
    lines.text(b"\n");
    if !solve {
        lines.text(
            b"For each virtual address, either write down the physical address it translates to\n\
OR write down that it is an out-of-bounds address (a segmentation violation). For\n\
this problem, you should assume a simple virtual address space of a given size.\n\n",
        );
    }
    lines.finish()?;
    Ok(0)
}

/// `  VA %2d: 0x%08x (decimal: %4d) --> ` into `line`.
#[inline]
pub fn question_line<S: Sink + ?Sized>(line: &mut S, index: u64, va: u64) {
    line.text(b"  VA ");
    line.dec(index, 2);
    line.text(b": 0x");
    line.hex(va, 8);
    line.text(b" (decimal: ");
    line.dec(va, 4);
    line.text(b") --> ");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(seed: i128) -> Options {
        Options {
            seed,
            asize: "1k".into(),
            psize: "16k".into(),
            num: 5,
            base: "-1".into(),
            limit: "-1".into(),
        }
    }

    #[test]
    fn seed_0_matches_the_original_registers() {
        // relocation.py -s 0: base 12418, limit 472, first VA 430.
        let Ok(Outcome::Problem(mut p)) = generate(&opts(0)) else {
            panic!("no problem")
        };
        assert_eq!((p.mmu.base(), p.mmu.bounds()), (12418, 472));
        let vas: Vec<u64> = p.addresses().collect();
        assert_eq!(vas, [430, 265, 523, 414, 802]);
    }

    #[test]
    fn a_limit_larger_than_memory_is_refused_instead_of_hanging() {
        let mut o = opts(0);
        o.limit = "20k".into();
        assert!(generate(&o).unwrap_err().contains("loops forever"));
    }

    #[test]
    fn negative_sizes_are_refused() {
        let mut o = opts(0);
        o.asize = "-1k".into();
        assert!(generate(&o).unwrap_err().contains("negative"));
        let mut o = opts(0);
        o.base = "-5".into();
        assert!(generate(&o).unwrap_err().contains("negative"));
    }
}
