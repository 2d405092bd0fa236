//! The 32 integer registers of RISC-V (`x0`..`x31`) and their ABI names.
//!
//! `x0` is hard-wired to zero: writes to it are discarded. The ABI names
//! (`zero ra sp gp tp t0..t6 s0..s11 a0..a7`, `fp` = `s0`) are what the
//! assembler accepts and what traces print.

use std::fmt;

/// ABI names of `x0`..`x31`, in register order.
pub const ABI_NAMES: [&str; 32] = [
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4",
    "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4",
    "t5", "t6",
];

/// Register numbers the runtime and system calls use by name.
pub mod reg {
    /// Return address.
    pub const RA: usize = 1;
    /// Stack pointer.
    pub const SP: usize = 2;
    /// Frame pointer / first saved register.
    pub const S0: usize = 8;
    /// First argument / return value.
    pub const A0: usize = 10;
    /// Second argument.
    pub const A1: usize = 11;
    /// Third argument.
    pub const A2: usize = 12;
    /// System call number.
    pub const A7: usize = 17;
}

/// Parses a register name: `x0`..`x31`, an ABI name, or `fp`.
///
/// Returns the register number, or `None` for anything else.
pub fn parse_register(name: &str) -> Option<usize> {
    if name == "fp" {
        return Some(8);
    }
    if let Some(n) = name.strip_prefix('x') {
        if !n.is_empty() && n.len() <= 2 && n.bytes().all(|b| b.is_ascii_digit()) {
            if n.len() == 2 && n.starts_with('0') {
                return None;
            }
            let v: usize = n.parse().ok()?;
            return (v < 32).then_some(v);
        }
    }
    ABI_NAMES.iter().position(|&a| a == name)
}

/// The integer register file.
#[derive(Clone, PartialEq, Eq)]
pub struct Registers {
    x: [u64; 32],
}

impl Default for Registers {
    fn default() -> Self {
        Self::new()
    }
}

impl Registers {
    /// All registers zero.
    pub const fn new() -> Self {
        Self { x: [0; 32] }
    }

    /// Reads register `r` (`x0` reads 0). Only the low 5 bits of `r` count,
    /// as in an instruction's register fields.
    #[inline(always)]
    pub fn get(&self, r: usize) -> u64 {
        self.x[r & 31]
    }

    /// Writes register `r` (low 5 bits); a write to `x0` is discarded.
    #[inline(always)]
    pub fn set(&mut self, r: usize, value: u64) {
        self.x[r & 31] = value;
        self.x[0] = 0;
    }

    /// All 32 values, `x0` first.
    pub fn as_array(&self) -> &[u64; 32] {
        &self.x
    }
}

/// Non-zero registers, by ABI name.
impl fmt::Debug for Registers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (i, v) in self.x.iter().enumerate().filter(|(_, v)| **v != 0) {
            m.entry(&ABI_NAMES[i], &format_args!("{v:#x}"));
        }
        m.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x0_stays_zero() {
        let mut r = Registers::new();
        r.set(0, 5);
        r.set(10, 7);
        assert_eq!((r.get(0), r.get(10)), (0, 7));
    }

    #[test]
    fn names_parse_both_ways() {
        assert_eq!(parse_register("a0"), Some(10));
        assert_eq!(parse_register("x31"), Some(31));
        assert_eq!(parse_register("fp"), Some(8));
        assert_eq!(parse_register("s11"), Some(27));
        assert_eq!(parse_register("x32"), None);
        assert_eq!(parse_register("x01"), None);
        assert_eq!(parse_register("q1"), None);
    }
}
