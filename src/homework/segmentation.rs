//! `segmentation.py`, the OSTEP segmentation homework: two segments (0 grows
//! up, 1 grows down, like code/heap and stack), the top bit of a virtual
//! address selecting the segment, and a trace of addresses to translate.
//!
//! The problem is drawn exactly as the original draws it, and every answer
//! comes from the [`Segmentation`] MMU. Where the original hangs, accepts
//! overlapping segments or computes negative physical addresses,
//! [`generate`] returns an input error instead.

use super::PyRandom;
use super::lines::{Lines, Sink};
use super::pyconv::size_flag as size;
use super::relocation::{base_register, limit_register, random_or_given};
use super::vtrace::{AddressSource, draw_below};
use crate::addr::VirtAddr;
use crate::memory::PhysicalMemory;
use crate::mmu::{Access, Mmu, Perms, Segment, Segmentation};
use std::io::{self, Write};

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
    /// `-n`: how many random addresses.
    pub num: i128,
    /// `-b`: segment 0 base (`-1`: random).
    pub base0: String,
    /// `-l`: segment 0 limit (`-1`: random).
    pub len0: String,
    /// `-B`: segment 1 base, the top of the segment (`-1`: random).
    pub base1: String,
    /// `-L`: segment 1 limit (`-1`: random).
    pub len1: String,
}

/// The two segment registers as the original shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registers {
    /// Segment 0 base (its lowest byte).
    pub base0: u64,
    /// Segment 0 limit.
    pub len0: u64,
    /// Segment 1 base: one past its highest byte (it grows down).
    pub base1: u64,
    /// Segment 1 limit.
    pub len1: u64,
}

/// What the original does with these options.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// It stops with `Error: <message>` before the registers (exit 1).
    Refused(&'static str),
    /// It shows the registers, then finds the segments overlap (exit 1).
    Overlap(Registers),
    /// A problem to solve.
    Problem(Box<Problem>),
}

/// A generated problem.
#[derive(Clone, Debug)]
pub struct Problem {
    /// The registers.
    pub registers: Registers,
    /// The segmentation MMU the answers come from.
    pub mmu: Segmentation,
    /// Address-space size.
    pub asize: u64,
    /// The trace.
    pub source: AddressSource,
    rng: PyRandom,
}

impl Problem {
    /// The trace in order; an address outside the address space (only from
    /// `-A`) comes as `Err` and ends the original's run.
    pub fn addresses(&mut self) -> impl Iterator<Item = Result<u64, i128>> + '_ {
        self.source.iter(&mut self.rng, self.asize)
    }
}

/// Draws the problem as the original does.
///
/// Returns `Err` (one line; vmlab exits 2) for malformed numbers, negative
/// sizes, an address space that is not a power of two (the top bit selects
/// the segment), a segment no placement can fit (the original hangs),
/// segments outside physical memory or below address 0, and overlapping
/// segments the original misses.
pub fn generate(opts: &Options) -> Result<Outcome, String> {
    let asize = size("-a", &opts.asize)?;
    let psize = size("-p", &opts.psize)?;
    let mut rng = PyRandom::new(opts.seed);

    if psize <= 4 {
        return Ok(Outcome::Refused(
            "must specify a bigger physical memory size",
        ));
    }
    if asize == 0 {
        return Ok(Outcome::Refused(
            "must specify a non-zero address-space size",
        ));
    }
    if psize <= asize {
        return Ok(Outcome::Refused(
            "physical memory size > address space size (for this simulation)",
        ));
    }
    // The registers are read only now, as in the original.
    let len0 = size("-l", &opts.len0)?;
    let len1 = size("-L", &opts.len1)?;
    let base0 = size("-b", &opts.base0)?;
    let base1 = size("-B", &opts.base1)?;
    if asize < 0 {
        return Err(format!(
            "-a: address-space size {asize} is negative (sizes are unsigned)"
        ));
    }
    let (asize, psize) = (asize as u64, psize as u64);
    if asize < 2 || !asize.is_power_of_two() {
        return Err(format!(
            "-a: address-space size {asize} is not a power of two of at least 2 (the top bit of an address selects the segment)"
        ));
    }
    random_or_given(&[("-l", len0), ("-L", len1), ("-b", base0), ("-B", base1)])?;

    // The limits, then the bases: drawn where they are -1.
    let len0 = limit_register(&mut rng, len0, asize);
    let len1 = limit_register(&mut rng, len1, asize);
    if (base0 == -1 || base1 == -1) && u128::from(psize) <= 2 * u128::from(asize) {
        return Ok(Outcome::Refused(
            "physical memory must be 2x GREATER than address space size (if randomly generating base registers)",
        ));
    }
    let base0 = base_register(&mut rng, base0, ("-l", len0), psize)?;
    // Internally the original keeps segment 1's lowest byte.
    let low1: i128 = if base1 == -1 {
        segment1_placement_possible(base0, len0, len1, psize)?;
        let (b0, l0, l1, p) = (
            u128::from(base0),
            u128::from(len0),
            u128::from(len1),
            u128::from(psize),
        );
        loop {
            let b = u128::from(draw_below(&mut rng, psize));
            if b + l1 < p && (b > b0 + l0 || b + l1 < b0) {
                break b as i128;
            }
        }
    } else {
        base1 - i128::from(len1)
    };

    // The original's checks, in its order.
    let (b0, l0, l1) = (i128::from(base0), i128::from(len0), i128::from(len1));
    if i128::from(psize) < b0 + l0 - 1 {
        return Ok(Outcome::Refused("seg0 is not in physical memory"));
    }
    if i128::from(psize) < low1 {
        return Ok(Outcome::Refused("seg1 is not in physical memory"));
    }
    if u128::from(len0) * 2 > u128::from(asize) {
        return Ok(Outcome::Refused(
            "length0 register is too large for this address space",
        ));
    }
    if u128::from(len1) * 2 > u128::from(asize) {
        return Ok(Outcome::Refused(
            "length1 register is too large for this address space",
        ));
    }
    // Segment 1's top is -B itself, or a drawn low end plus the limit: >= 0.
    let top1 = low1 + l1;
    let registers = Registers {
        base0,
        len0,
        base1: top1 as u64,
        len1,
    };
    if l0 + b0 > low1 && low1 > b0 {
        return Ok(Outcome::Overlap(registers));
    }
    // The addresses are read only now, as in the original.
    let source = AddressSource::parse(&opts.addresses, opts.num)?;

    // Where the original would go on with nonsense: the MMU refuses segments
    // outside physical memory or below 0, and overlapping segments are
    // refused here.
    let va_bits = asize.trailing_zeros();
    let mmu = Segmentation::new(
        va_bits,
        vec![
            Segment::up(base0, len0, Perms::all()).named("segment 0"),
            Segment::down(registers.base1, len1, Perms::all()).named("segment 1"),
        ],
        psize,
    )
    .map_err(|e| format!("the segment registers do not fit: {e}"))?;
    let low1 = low1 as u64;
    if len0 > 0 && len1 > 0 && base0.max(low1) < (base0 + len0).min(registers.base1) {
        return Err(format!(
            "segments overlap in physical memory: segment 0 is [{base0}, {}), segment 1 is [{low1}, {})",
            base0 + len0,
            registers.base1
        ));
    }
    Ok(Outcome::Problem(Box::new(Problem {
        registers,
        mmu,
        asize,
        source,
        rng,
    })))
}

/// The original draws segment 1's low end `b` until `b + len1 < psize` and
/// it lies wholly above or below segment 0: refuse when no `b` (or almost
/// none) can succeed.
fn segment1_placement_possible(base0: u64, len0: u64, len1: u64, psize: u64) -> Result<(), String> {
    let (b0, l0, l1, p) = (
        i128::from(base0),
        i128::from(len0),
        i128::from(len1),
        i128::from(psize),
    );
    let highest = p - l1 - 1; // the largest b with b + len1 < psize
    let room = if highest < 0 {
        0
    } else {
        let above = (highest - (b0 + l0)).max(0); // b in (base0 + len0, highest]
        let below = (b0 - l1).clamp(0, highest + 1); // b in [0, base0 - len1)
        above + below
    };
    if room == 0 || room << 32 < p {
        return Err(format!(
            "-L: segment 1 ({len1} bytes) cannot be placed at random in {psize} bytes of physical memory beside segment 0 at [{base0}, {}) (the original loops forever)",
            b0 + l0
        ));
    }
    Ok(())
}

/// Writes the `ARG` lines.
pub fn write_header(opts: &Options, out: &mut dyn Write) -> io::Result<()> {
    write!(
        out,
        "ARG seed {}\nARG address space size {}\nARG phys mem size {}\n\n",
        opts.seed, opts.asize, opts.psize
    )
}

/// Writes the register block.
pub fn write_registers(r: &Registers, out: &mut dyn Write) -> io::Result<()> {
    write!(
        out,
        "Segment register information:\n\n  Segment 0 base  (grows positive) : 0x{b0:08x} (decimal {b0})\n  Segment 0 limit                  : {l0}\n\n  Segment 1 base  (grows negative) : 0x{b1:08x} (decimal {b1})\n  Segment 1 limit                  : {l1}\n\n",
        b0 = r.base0,
        l0 = r.len0,
        b1 = r.base1,
        l1 = r.len1
    )
}

/// The original's message for an address outside the address space.
pub fn out_of_range_message(va: i128, asize: u64) -> String {
    format!("Error: virtual address {va} cannot be generated in an address space of size {asize}")
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
            writeln!(out, "Error: {message}")?;
            return Ok(1);
        }
        Outcome::Overlap(registers) => {
            write_registers(&registers, out)?;
            writeln!(out, "Error: segments overlap in physical memory")?;
            return Ok(1);
        }
        Outcome::Problem(p) => p,
    };
    write_registers(&problem.registers, out)?;
    out.write_all(b"Virtual Address Trace\n")?;
    let mmu = problem.mmu.clone();
    let asize = problem.asize;
    let mut lines = Lines::new(out);
    for (i, va) in problem.addresses().enumerate() {
        let va = match va {
            Ok(va) => va,
            Err(bad) => {
                lines.text(out_of_range_message(bad, asize).as_bytes());
                lines.text(b"\n");
                lines.finish()?;
                return Ok(1);
            }
        };
        question_line(&mut lines, i as u64, va);
        if !solve {
            lines.text(b"PA or segmentation violation?\n");
        } else {
            let segment = mmu.split(VirtAddr::new(va)).map_or(0, |(s, _)| s);
            match mmu.translate(PhysicalMemory::empty(), VirtAddr::new(va), Access::Read) {
                Ok(pa) => {
                    lines.text(if segment == 0 {
                        b"VALID in SEG0: 0x"
                    } else {
                        b"VALID in SEG1: 0x"
                    });
                    lines.hex(pa.as_u64(), 8);
                    lines.text(b" (decimal: ");
                    lines.dec(pa.as_u64(), 4);
                    lines.text(b")\n");
                }
                Err(_) => lines.text(if segment == 0 {
                    b"SEGMENTATION VIOLATION (SEG0)\n"
                } else {
                    b"SEGMENTATION VIOLATION (SEG1)\n"
                }),
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
this problem, you should assume a simple address space with two segments: the top\n\
bit of the virtual address can thus be used to check whether the virtual address\n\
is in segment 0 (topbit=0) or segment 1 (topbit=1). Note that the base/limit pairs\n\
given to you grow in different directions, depending on the segment, i.e., segment 0\n\
grows in the positive direction, whereas segment 1 in the negative. \n\n",
        );
    }
    lines.finish()?;
    Ok(0)
}

/// `  VA %2d: 0x%08x (decimal: %4d) --> ` into `line`.
#[inline]
pub fn question_line<S: Sink + ?Sized>(line: &mut S, index: u64, va: u64) {
    super::relocation::question_line(line, index, va);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> Options {
        Options {
            seed: 0,
            addresses: "-1".into(),
            asize: "1k".into(),
            psize: "16k".into(),
            num: 5,
            base0: "-1".into(),
            len0: "-1".into(),
            base1: "-1".into(),
            len1: "-1".into(),
        }
    }

    #[test]
    fn seed_0_matches_the_original_registers() {
        let Ok(Outcome::Problem(p)) = generate(&opts()) else {
            panic!("no problem")
        };
        // segmentation.py -s 0: seg0 base 0x1aea limit 472, seg1 base 0x1254 limit 450.
        assert_eq!(
            p.registers,
            Registers {
                base0: 6890,
                len0: 472,
                base1: 4692,
                len1: 450
            }
        );
    }

    #[test]
    fn overlap_the_original_misses_is_refused() {
        let mut o = opts();
        o.addresses = "0,1023".into();
        (o.base0, o.len0, o.base1, o.len1) =
            ("100".into(), "100".into(), "150".into(), "100".into());
        assert!(generate(&o).unwrap_err().contains("overlap"));
    }

    #[test]
    fn segment_1_below_zero_is_refused() {
        let mut o = opts();
        (o.base0, o.len0, o.base1, o.len1) = ("0".into(), "100".into(), "50".into(), "100".into());
        assert!(
            generate(&o)
                .unwrap_err()
                .contains("below physical address 0")
        );
    }

    #[test]
    fn unplaceable_segment_is_refused_instead_of_hanging() {
        let mut o = opts();
        o.len0 = "20k".into();
        assert!(generate(&o).unwrap_err().contains("loops forever"));
    }
}
