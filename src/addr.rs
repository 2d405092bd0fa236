//! Addresses and sizes: the lecture's vocabulary as types.
//!
//! A *virtual* address is what a process issues; a *physical* address is where
//! the byte really lives. They are different types so that forgetting to
//! translate is a compile error. All arithmetic is checked: an overflow is a
//! `None` (turned into a fault or an input error by the caller), never a wrap.
//!
//! `Size` parses the lecture's (and the OSTEP simulators') notation: `16`,
//! `1k`, `64K`, `32m`, `1g` (powers of 1024) and hex `0x3000`.

use std::cell::Cell;
use std::fmt;
use std::str::FromStr;

macro_rules! address_type {
    ($(#[$doc:meta])* $name:ident, $short:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(u64);

        impl $name {
            /// Wraps a raw 64-bit address.
            #[inline]
            pub const fn new(raw: u64) -> Self {
                Self(raw)
            }

            /// The raw 64-bit value.
            #[inline]
            pub const fn as_u64(self) -> u64 {
                self.0
            }

            /// `self + offset`, or `None` if it would pass 2^64 - 1.
            #[inline]
            pub const fn checked_add(self, offset: u64) -> Option<Self> {
                match self.0.checked_add(offset) {
                    Some(v) => Some(Self(v)),
                    None => None,
                }
            }

            /// `self - offset`, or `None` if it would go below zero.
            #[inline]
            pub const fn checked_sub(self, offset: u64) -> Option<Self> {
                match self.0.checked_sub(offset) {
                    Some(v) => Some(Self(v)),
                    None => None,
                }
            }

            /// The distance from `base` up to `self`, or `None` if `self < base`.
            #[inline]
            pub const fn offset_from(self, base: Self) -> Option<u64> {
                self.0.checked_sub(base.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($short, "({:#x})"), self.0)
            }
        }

        /// Hex, as the lecture writes addresses (`0x3000`).
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:#x}", self.0)
            }
        }

        impl fmt::LowerHex for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::LowerHex::fmt(&self.0, f)
            }
        }

        impl From<$name> for u64 {
            fn from(a: $name) -> u64 {
                a.0
            }
        }
    };
}

address_type!(
    /// An address issued by a process, before translation.
    VirtAddr,
    "VirtAddr"
);
address_type!(
    /// An address in physical memory, after translation.
    PhysAddr,
    "PhysAddr"
);

/// An amount of memory in bytes: an address-space size, a bounds register, a
/// physical memory size.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
pub struct Size(u64);

impl Size {
    /// A size of `bytes` bytes.
    pub const fn new(bytes: u64) -> Self {
        Self(bytes)
    }

    /// The number of bytes.
    pub const fn bytes(self) -> u64 {
        self.0
    }
}

/// Why a number or size could not be read. Each variant carries the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// Nothing was given.
    #[error("empty number")]
    Empty,
    /// A minus sign: sizes and addresses are never negative.
    #[error("'{0}' is negative (sizes and addresses are unsigned)")]
    Negative(String),
    /// A decimal point.
    #[error("'{0}' is fractional (use whole bytes, e.g. 1536 instead of 1.5k)")]
    Fractional(String),
    /// An unknown unit letter or stray characters.
    #[error("'{0}' is not a number (expected e.g. 16, 1k, 64K, 32m, 1g or 0x3000)")]
    Malformed(String),
    /// Larger than 2^64 - 1 bytes.
    #[error("'{0}' is too large (more than 2^64 - 1)")]
    Overflow(String),
}

/// Parses a number the way vmlab reads every size and address on a command
/// line: decimal with an optional unit `k`/`m`/`g`/`t` (either case, powers of
/// 1024), or hex with `0x`. Surrounding spaces are ignored.
///
/// Returns a [`SizeError`] naming the offending text for anything else:
/// negative, fractional, unknown unit, empty, or beyond `u64`.
pub fn parse_number(text: &str) -> Result<u64, SizeError> {
    let t = text.trim();
    let owned = || t.to_string();
    if t.is_empty() {
        return Err(SizeError::Empty);
    }
    if t.starts_with('-') {
        return Err(SizeError::Negative(owned()));
    }
    let t_nosign = t.strip_prefix('+').unwrap_or(t);
    if let Some(hex) = t_nosign
        .strip_prefix("0x")
        .or_else(|| t_nosign.strip_prefix("0X"))
    {
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SizeError::Malformed(owned()));
        }
        return u64::from_str_radix(hex, 16).map_err(|_| SizeError::Overflow(owned()));
    }
    if t_nosign.contains('.') {
        return Err(SizeError::Fractional(owned()));
    }
    let (digits, unit) = match t_nosign.as_bytes().last() {
        Some(c) if c.is_ascii_alphabetic() => (&t_nosign[..t_nosign.len() - 1], Some(*c)),
        _ => (t_nosign, None),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SizeError::Malformed(owned()));
    }
    let multiplier: u64 = match unit.map(|c| c.to_ascii_lowercase()) {
        None => 1,
        Some(b'k') => 1 << 10,
        Some(b'm') => 1 << 20,
        Some(b'g') => 1 << 30,
        Some(b't') => 1 << 40,
        Some(_) => return Err(SizeError::Malformed(owned())),
    };
    let value: u64 = digits.parse().map_err(|_| SizeError::Overflow(owned()))?;
    value
        .checked_mul(multiplier)
        .ok_or_else(|| SizeError::Overflow(owned()))
}

impl FromStr for Size {
    type Err = SizeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_number(s).map(Size)
    }
}

impl FromStr for VirtAddr {
    type Err = SizeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_number(s).map(VirtAddr)
    }
}

impl FromStr for PhysAddr {
    type Err = SizeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_number(s).map(PhysAddr)
    }
}

/// The shortest exact form: `16k`, `32m`, `1g`, or plain bytes.
impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        for (shift, unit) in [(40, 't'), (30, 'g'), (20, 'm'), (10, 'k')] {
            if b != 0 && b % (1u64 << shift) == 0 {
                return write!(f, "{}{}", b >> shift, unit);
            }
        }
        write!(f, "{b}")
    }
}

thread_local! {
    /// Whether vmlab's own output writes addresses in decimal (`vmlab
    /// --decimal`). Set only for the length of one command by
    /// [`with_decimal`]; hex otherwise.
    static DECIMAL: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with addresses written in decimal (`decimal = true`, the
/// global `--decimal` switch) or in hex (the default), and restores the
/// previous choice afterwards, even if `f` panics. The choice is per
/// thread, so tests running side by side do not see each other's.
pub fn with_decimal<R>(decimal: bool, f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            DECIMAL.with(|d| d.set(self.0));
        }
    }
    let _restore = Restore(DECIMAL.with(|d| d.replace(decimal)));
    f()
}

/// Whether addresses are being written in decimal ([`with_decimal`]).
pub fn decimal() -> bool {
    DECIMAL.with(Cell::get)
}

/// An address or size as the slides write it: hex without padding
/// (`0x1010`, `0x0`), the one format of vmlab's own output; in decimal
/// (`4112`) under `--decimal`.
pub fn hex(value: u64) -> String {
    if decimal() {
        value.to_string()
    } else {
        format!("{value:#x}")
    }
}

/// An address with its decimal value beside it, for the lines where the
/// lecture writes decimal too (the translation calculator, whose input
/// is often decimal): `0x240 (decimal 576)`; under `--decimal`, decimal
/// first: `576 (hex 0x240)`. The hex part is [`hex`]'s, unpadded, so
/// `PA 0x464` and `base 0x400 + 0x64 = 0x464` write the same digits.
pub fn hex_and_decimal(value: u64) -> String {
    if decimal() {
        format!("{value} (hex {value:#x})")
    } else {
        format!("{value:#x} (decimal {value})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_use_powers_of_1024() {
        assert_eq!(parse_number("16"), Ok(16));
        assert_eq!(parse_number("1k"), Ok(1024));
        assert_eq!(parse_number("64K"), Ok(65536));
        assert_eq!(parse_number("32m"), Ok(32 << 20));
        assert_eq!(parse_number("1g"), Ok(1 << 30));
        assert_eq!(parse_number("0x3000"), Ok(0x3000));
        assert_eq!(parse_number(" 7 "), Ok(7));
    }

    #[test]
    fn bad_sizes_name_the_text() {
        assert_eq!(parse_number("16q"), Err(SizeError::Malformed("16q".into())));
        assert_eq!(parse_number("-5"), Err(SizeError::Negative("-5".into())));
        assert_eq!(
            parse_number("1.5k"),
            Err(SizeError::Fractional("1.5k".into()))
        );
        assert_eq!(parse_number(""), Err(SizeError::Empty));
        assert_eq!(parse_number("0x"), Err(SizeError::Malformed("0x".into())));
        assert_eq!(parse_number("k"), Err(SizeError::Malformed("k".into())));
        assert!(matches!(
            parse_number("99999999999999999999"),
            Err(SizeError::Overflow(_))
        ));
        assert!(matches!(
            parse_number("17179869184g"),
            Err(SizeError::Overflow(_))
        ));
        assert!(matches!(
            parse_number("0x10000000000000000"),
            Err(SizeError::Overflow(_))
        ));
    }

    #[test]
    fn size_displays_shortest_exact_unit() {
        assert_eq!(Size::new(16 * 1024).to_string(), "16k");
        assert_eq!(Size::new(1536).to_string(), "1536");
        assert_eq!(Size::new(0).to_string(), "0");
        assert_eq!(Size::new(1 << 30).to_string(), "1g");
    }

    #[test]
    fn addresses_print_in_unpadded_hex_unless_decimal_is_asked_for() {
        assert_eq!(hex(0x1010), "0x1010");
        assert_eq!(hex(0), "0x0");
        assert_eq!(hex_and_decimal(0x64), "0x64 (decimal 100)");
        with_decimal(true, || {
            assert_eq!(hex(0x1010), "4112");
            assert_eq!(hex_and_decimal(0x64), "100 (hex 0x64)");
        });
        // The choice ends with the command.
        assert_eq!(hex(0x400), "0x400");
    }

    #[test]
    fn address_arithmetic_is_checked() {
        assert_eq!(VirtAddr::new(u64::MAX).checked_add(1), None);
        assert_eq!(PhysAddr::new(0).checked_sub(1), None);
        assert_eq!(PhysAddr::new(10).offset_from(PhysAddr::new(4)), Some(6));
        assert_eq!(PhysAddr::new(4).offset_from(PhysAddr::new(10)), None);
    }
}
