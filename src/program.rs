//! A program image: what the assembler produces and the ELF loader reads,
//! and what the kernel's loader places into memory.
//!
//! ```text
//!   Program
//!   ├── sections   .text (r-x)  .rodata (r--)  .data (rw-)  .bss (rw-, zeros)
//!   │              each: virtual address, bytes, size in memory, R/W/X
//!   ├── entry      where execution starts
//!   ├── symbols    labels and their addresses
//!   └── relocations  every place that holds an absolute address, with how
//!                  it is encoded there (a 64-bit word, a lui/addi pair, ...)
//! ```
//!
//! The relocation table is what *static relocation* needs: a loader that
//! places the program `delta` bytes away from where it was linked rewrites
//! each listed place with [`RelocKind::patch`] so that it holds
//! `target + delta`. pc-relative references (`auipc`, branches, `jal`) need
//! no rewriting and are not listed.

use crate::mmu::Perms;
use std::fmt;

/// One contiguous piece of the image, loaded at `addr`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Section {
    /// Its name (`.text`, `.data`, ... or `segment0` for an ELF segment).
    pub name: String,
    /// The virtual address of its first byte.
    pub addr: u64,
    /// The bytes stored in the file (may be shorter than `size`).
    pub data: Vec<u8>,
    /// Its size in memory; bytes beyond `data` are zero (`.bss`).
    pub size: u64,
    /// Read, write, execute.
    pub perms: Perms,
}

impl Section {
    /// One past its last byte, or `None` if that would pass 2^64.
    pub fn end(&self) -> Option<u64> {
        self.addr.checked_add(self.size)
    }

    /// Whether `va` lies inside the section.
    pub fn contains(&self, va: u64) -> bool {
        va >= self.addr && va - self.addr < self.size
    }
}

/// A named address.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Symbol {
    /// The name.
    pub name: String,
    /// The address (or, for `.equ` constants, the value).
    pub value: u64,
    /// Declared `.globl`.
    pub global: bool,
    /// The section it belongs to (index into `Program::sections`), `None`
    /// for an absolute constant.
    pub section: Option<usize>,
}

/// How an absolute address is encoded at a relocated place.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum RelocKind {
    /// A 64-bit little-endian word (`.dword label`). ELF `R_RISCV_64`.
    Abs64,
    /// A 32-bit little-endian word (`.word label`). ELF `R_RISCV_32`.
    Abs32,
    /// The upper 20 bits in a `lui` (`%hi(label)`). ELF `R_RISCV_HI20`.
    Hi20,
    /// The low 12 bits in an I-type immediate (`addi`, loads, `jalr`:
    /// `%lo(label)`). ELF `R_RISCV_LO12_I`.
    Lo12I,
    /// The low 12 bits in an S-type immediate (stores). ELF `R_RISCV_LO12_S`.
    Lo12S,
}

/// A relocation could not be applied.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum RelocError {
    /// The new value does not fit the field.
    #[error("relocated address {value:#x} does not fit a {kind} field")]
    Range {
        /// The kind.
        kind: RelocKind,
        /// The value.
        value: u64,
    },
    /// The place is too small for the field.
    #[error("relocation place of {len} bytes is too small for {kind}")]
    Place {
        /// The kind.
        kind: RelocKind,
        /// The bytes given.
        len: usize,
    },
}

impl fmt::Display for RelocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl RelocKind {
    /// The stable name: `abs64`, `abs32`, `hi20`, `lo12_i`, `lo12_s`.
    pub const fn name(self) -> &'static str {
        match self {
            RelocKind::Abs64 => "abs64",
            RelocKind::Abs32 => "abs32",
            RelocKind::Hi20 => "hi20",
            RelocKind::Lo12I => "lo12_i",
            RelocKind::Lo12S => "lo12_s",
        }
    }

    /// How many bytes the place covers.
    pub const fn width(self) -> usize {
        match self {
            RelocKind::Abs64 => 8,
            _ => 4,
        }
    }

    /// The ELF relocation type number (RISC-V psABI).
    pub const fn elf_type(self) -> u32 {
        match self {
            RelocKind::Abs32 => 1,
            RelocKind::Abs64 => 2,
            RelocKind::Hi20 => 26,
            RelocKind::Lo12I => 27,
            RelocKind::Lo12S => 28,
        }
    }

    /// The kind for an ELF relocation type number, if it holds an absolute
    /// address.
    pub const fn from_elf_type(t: u32) -> Option<RelocKind> {
        Some(match t {
            1 => RelocKind::Abs32,
            2 => RelocKind::Abs64,
            26 => RelocKind::Hi20,
            27 => RelocKind::Lo12I,
            28 => RelocKind::Lo12S,
            _ => return None,
        })
    }

    /// Rewrites the field at the start of `place` so that it encodes
    /// `value`, keeping every other bit of the instruction.
    ///
    /// Returns an error (and changes nothing) if `place` is shorter than the
    /// field or `value` does not fit (`Abs32` above 4 GiB, `Hi20` beyond the
    /// ±2 GiB a `lui`/`addi` pair reaches).
    pub fn patch(self, place: &mut [u8], value: u64) -> Result<(), RelocError> {
        let width = self.width();
        if place.len() < width {
            return Err(RelocError::Place {
                kind: self,
                len: place.len(),
            });
        }
        let range = || RelocError::Range { kind: self, value };
        if self == RelocKind::Abs64 {
            place[..8].copy_from_slice(&value.to_le_bytes());
            return Ok(());
        }
        let old = u32::from_le_bytes(place[..4].try_into().expect("4 bytes"));
        let new = match self {
            RelocKind::Abs32 => u32::try_from(value).map_err(|_| range())?,
            RelocKind::Hi20 => {
                // lui + addi reach sign-extended 32-bit addresses.
                if (value as i64) != (value as i32 as i64) {
                    return Err(range());
                }
                let hi = (value.wrapping_add(0x800) >> 12) as u32 & 0xfffff;
                (old & 0xfff) | (hi << 12)
            }
            RelocKind::Lo12I => (old & 0x000f_ffff) | ((value as u32 & 0xfff) << 20),
            RelocKind::Lo12S => {
                let lo = value as u32 & 0xfff;
                (old & 0x01ff_f07f) | ((lo & 0x1f) << 7) | ((lo >> 5) << 25)
            }
            RelocKind::Abs64 => unreachable!("handled above"),
        };
        place[..4].copy_from_slice(&new.to_le_bytes());
        Ok(())
    }
}

/// One place holding an absolute address.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Relocation {
    /// The virtual address of the place (the instruction or data word).
    pub at: u64,
    /// How the address is encoded there.
    pub kind: RelocKind,
    /// The address the place holds now (symbol + addend, as linked).
    pub target: u64,
    /// The symbol it refers to, if named.
    pub symbol: Option<String>,
}

/// A complete program image.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Program {
    /// The pieces to load, in address order.
    pub sections: Vec<Section>,
    /// Where execution starts.
    pub entry: u64,
    /// Named addresses (labels, `.globl` symbols).
    pub symbols: Vec<Symbol>,
    /// Every place holding an absolute address.
    pub relocations: Vec<Relocation>,
}

impl Program {
    /// The lowest address of any section and one past the highest, or `None`
    /// for an empty program.
    pub fn extent(&self) -> Option<(u64, u64)> {
        let lo = self.sections.iter().map(|s| s.addr).min()?;
        let hi = self.sections.iter().filter_map(|s| s.end()).max()?;
        Some((lo, hi))
    }

    /// The section containing `va`.
    pub fn section_at(&self, va: u64) -> Option<&Section> {
        self.sections.iter().find(|s| s.contains(va))
    }

    /// The symbol called `name`.
    pub fn symbol(&self, name: &str) -> Option<&Symbol> {
        self.symbols.iter().find(|s| s.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hi20_and_lo12_patches_rebuild_the_address() {
        // lui a0, 0 ; addi a0, a0, 0 ; sw a1, 0(a0)
        let mut lui = 0x0000_0537u32.to_le_bytes();
        let mut addi = 0x0005_0513u32.to_le_bytes();
        let mut sw = 0x00b5_2023u32.to_le_bytes();
        let target = 0x1234_5fffu64;
        RelocKind::Hi20.patch(&mut lui, target).unwrap();
        RelocKind::Lo12I.patch(&mut addi, target).unwrap();
        RelocKind::Lo12S.patch(&mut sw, target).unwrap();
        let hi = crate::cpu::decode(u32::from_le_bytes(lui)).imm as i64;
        let lo = crate::cpu::decode(u32::from_le_bytes(addi)).imm as i64;
        let so = crate::cpu::decode(u32::from_le_bytes(sw)).imm as i64;
        assert_eq!((hi + lo) as u64, target);
        assert_eq!((hi + so) as u64, target);
    }

    #[test]
    fn values_that_do_not_fit_are_refused() {
        let mut w = [0u8; 4];
        assert!(RelocKind::Abs32.patch(&mut w, 1 << 32).is_err());
        assert!(RelocKind::Hi20.patch(&mut w, 0x8000_0000).is_err());
        assert!(RelocKind::Abs64.patch(&mut w, 1).is_err());
    }
}
