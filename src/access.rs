//! What a memory reference does and what a piece of memory allows: the
//! access kinds (fetch, read, write) and the R/W/X permissions. The MMU
//! checks one against the other; a fault names the access that failed.
//! Both depend on this module, and it on nothing of vmlab's.

use std::fmt;

/// What the CPU is doing with an address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Access {
    /// An instruction fetch (needs X under segmentation).
    Fetch,
    /// A load (needs R).
    Read,
    /// A store (needs W).
    Write,
}

impl Access {
    /// The stable JSON name: `fetch`, `read`, `write`.
    pub const fn name(self) -> &'static str {
        match self {
            Access::Fetch => "fetch",
            Access::Read => "read",
            Access::Write => "write",
        }
    }

    /// The permission bit this access needs.
    pub const fn required(self) -> Perms {
        match self {
            Access::Fetch => Perms::X,
            Access::Read => Perms::R,
            Access::Write => Perms::W,
        }
    }
}

impl std::str::FromStr for Access {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "fetch" | "f" | "x" => Ok(Access::Fetch),
            "read" | "r" | "load" => Ok(Access::Read),
            "write" | "w" | "store" => Ok(Access::Write),
            _ => Err(format!(
                "unknown access '{s}' (expected read, write or fetch)"
            )),
        }
    }
}

bitflags::bitflags! {
    /// Access permissions of a segment.
    #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
    pub struct Perms: u8 {
        /// Loads allowed.
        const R = 0b001;
        /// Stores allowed.
        const W = 0b010;
        /// Instruction fetches allowed.
        const X = 0b100;
    }
}

impl Perms {
    /// Parses `r`, `rw`, `rx`, `rwx`, `-` (none), letters in any order.
    pub fn parse(text: &str) -> Result<Perms, String> {
        let mut p = Perms::empty();
        if text == "-" || text.is_empty() {
            return Ok(p);
        }
        for c in text.chars() {
            p |= match c.to_ascii_lowercase() {
                'r' => Perms::R,
                'w' => Perms::W,
                'x' => Perms::X,
                '-' => Perms::empty(),
                _ => {
                    return Err(format!(
                        "bad permission '{c}' in '{text}' (use r, w, x or -)"
                    ));
                }
            };
        }
        Ok(p)
    }
}

/// `rw-` style.
impl fmt::Display for Perms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bit = |b: Perms, c: char| if self.contains(b) { c } else { '-' };
        write!(
            f,
            "{}{}{}",
            bit(Perms::R, 'r'),
            bit(Perms::W, 'w'),
            bit(Perms::X, 'x')
        )
    }
}
