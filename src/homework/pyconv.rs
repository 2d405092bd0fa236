//! How the OSTEP simulators read numbers from their command lines, so that
//! vmlab reads the same text as the same value.
//!
//! Three readers:
//!
//! - [`optparse_int`]: an option declared `type="int"` (`-s`, `-n`, `-u`,
//!   malloc's and scheduler's numbers). Python's optparse picks the radix
//!   from the prefix: `0x` hex, `0b` binary, a leading `0` octal, decimal
//!   otherwise (a sign forces decimal).
//! - [`python_int`]: Python's `int(text, radix)`, which optparse applies,
//!   and malloc.py applies to the parts of an `-A` list.
//! - [`convert_size`]: the simulators' `convert()` for sizes, bases and
//!   limits: a decimal integer with an optional unit `k`, `m`, `g` (powers of
//!   1024). vmlab also accepts hex (`0x100`), which the originals crash on,
//!   and names fractions (`1.5k`) clearly instead of a traceback.
//!
//! Values are `i128` because the originals compute with Python integers and
//! some of their checks depend on signs (`-1` means "pick at random").

/// Parses an optparse `int` option the way Python does: optparse picks the
/// radix from the prefix (`0x` hex; `0b` binary, the prefix cut off and
/// nothing left read as `0`; a leading `0` octal; decimal otherwise) and
/// hands the text to Python's `int(text, radix)` ([`python_int`]).
///
/// Returns `None` where optparse says "invalid integer value".
pub fn optparse_int(text: &str) -> Option<i128> {
    let head = text.get(..2).unwrap_or("");
    if head.eq_ignore_ascii_case("0x") {
        python_int(text, 16)
    } else if head.eq_ignore_ascii_case("0b") {
        let rest = &text[2..];
        python_int(if rest.is_empty() { "0" } else { rest }, 2)
    } else if text.starts_with('0') {
        python_int(text, 8)
    } else {
        python_int(text, 10)
    }
}

/// Python's `int(text, radix)` for radix 2, 8, 10 or 16: surrounding
/// whitespace, a sign, the radix's own prefix (`0b`, `0o`, `0x`, either
/// case) and single underscores between digits (or right after the prefix).
///
/// Returns `None` where Python raises `ValueError`, and for values that do
/// not fit an `i128`.
pub fn python_int(text: &str, radix: u32) -> Option<i128> {
    let t = text.trim();
    let (negative, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let prefix = match radix {
        16 => Some("0x"),
        8 => Some("0o"),
        2 => Some("0b"),
        _ => None,
    };
    let (digits, after_prefix) = match prefix {
        Some(p) if t.get(..2).is_some_and(|head| head.eq_ignore_ascii_case(p)) => (&t[2..], true),
        _ => (t, false),
    };
    let magnitude = parse_digits(digits, radix, after_prefix)?;
    Some(if negative { -magnitude } else { magnitude })
}

/// Digits in `radix` with Python's single underscores between them (one
/// may also follow a radix prefix: `after_prefix`); `None` when malformed or
/// too large.
fn parse_digits(digits: &str, radix: u32, after_prefix: bool) -> Option<i128> {
    let digits = if after_prefix {
        digits.strip_prefix('_').unwrap_or(digits)
    } else {
        digits
    };
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') {
        return None;
    }
    if digits.contains("__") {
        return None;
    }
    let mut value: i128 = 0;
    for c in digits.chars().filter(|&c| c != '_') {
        let d = c.to_digit(radix)?;
        value = value
            .checked_mul(i128::from(radix))?
            .checked_add(i128::from(d))?;
    }
    Some(value)
}

/// Why a size could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SizeTextError {
    /// Nothing was given.
    #[error("empty value")]
    Empty,
    /// A decimal point: sizes are whole bytes.
    #[error("'{0}' is fractional (use whole bytes, e.g. 1536 instead of 1.5k)")]
    Fractional(String),
    /// Not a number at all.
    #[error("'{0}' is not a number (expected e.g. 16, 64k, 32m, 1g or 0x3000)")]
    Malformed(String),
    /// More than 2^64 - 1 in magnitude.
    #[error("'{0}' is too large (more than 2^64 - 1)")]
    TooLarge(String),
}

/// The simulators' `convert()`: a decimal integer (sign allowed) with an
/// optional unit `k`/`m`/`g` in either case; plus hex (`0x100`, `-0x10`).
///
/// Returns a [`SizeTextError`] naming the text for empty, fractional,
/// malformed or out-of-range (beyond ±(2^64 - 1)) input.
pub fn convert_size(text: &str) -> Result<i128, SizeTextError> {
    let owned = || text.to_string();
    if text.is_empty() {
        return Err(SizeTextError::Empty);
    }
    let trimmed = text.trim();
    let (negative, unsigned) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    let hex = unsigned
        .strip_prefix("0x")
        .or_else(|| unsigned.strip_prefix("0X"));
    let magnitude = if let Some(hex) = hex {
        parse_digits(hex, 16, true).ok_or_else(|| SizeTextError::Malformed(owned()))?
    } else {
        // The unit is the last character of the raw text, as in convert().
        let multiplier: i128 = match text.as_bytes().last() {
            Some(b'k' | b'K') => 1 << 10,
            Some(b'm' | b'M') => 1 << 20,
            Some(b'g' | b'G') => 1 << 30,
            _ => 1,
        };
        let number = if multiplier == 1 {
            unsigned
        } else {
            &unsigned[..unsigned.len() - 1]
        };
        let number = number.trim();
        if number.contains('.') || number.contains('e') || number.contains('E') {
            if number.parse::<f64>().is_ok() {
                return Err(SizeTextError::Fractional(owned()));
            }
            return Err(SizeTextError::Malformed(owned()));
        }
        if number.starts_with(['+', '-']) {
            return Err(SizeTextError::Malformed(owned()));
        }
        let value = parse_digits(number, 10, false).ok_or_else(|| {
            if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
                SizeTextError::TooLarge(owned())
            } else {
                SizeTextError::Malformed(owned())
            }
        })?;
        value
            .checked_mul(multiplier)
            .ok_or_else(|| SizeTextError::TooLarge(owned()))?
    };
    if magnitude > i128::from(u64::MAX) {
        return Err(SizeTextError::TooLarge(owned()));
    }
    Ok(if negative { -magnitude } else { magnitude })
}

/// [`convert_size`] for the value of `flag`, the error naming the flag.
pub fn size_flag(flag: &str, text: &str) -> Result<i128, String> {
    convert_size(text).map_err(|e| format!("{flag}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optparse_radix_follows_the_prefix() {
        #[rustfmt::skip]
        let cases = [
            ("5", 5), ("-7", -7), ("+7", 7), ("0x10", 16), ("0X1f", 31), ("0b101", 5),
            ("010", 8), ("0o10", 8), ("0", 0), ("-010", -10), ("1_000", 1000),
            ("0x_1f", 31), (" 5", 5), (" 7 ", 7),
            // optparse cuts "0b" off first: int("", 2) is never asked, and
            // int("0b1", 2) takes the prefix again.
            ("0b", 0), ("0b0b1", 1), ("0b -1", -1),
        ];
        for (text, value) in cases {
            assert_eq!(optparse_int(text), Some(value), "{text:?}");
        }
    }

    #[test]
    fn optparse_rejects_what_python_rejects() {
        for bad in [
            "", "08", "x", "1.5", "-0x10", "5k", "1__0", "_1", "0x", "0b_1", " 0x10", "0\u{e9}",
        ] {
            assert_eq!(optparse_int(bad), None, "{bad}");
        }
    }

    #[test]
    fn python_int_takes_sign_prefix_and_underscores() {
        #[rustfmt::skip]
        let cases = [
            (" -0x_10 ", 16, Some(-16)), ("0o17", 8, Some(15)), ("+12", 10, Some(12)),
            ("0x10", 10, None), ("_7", 8, None), ("1_", 10, None),
        ];
        for (text, radix, value) in cases {
            assert_eq!(python_int(text, radix), value, "{text:?} in radix {radix}");
        }
    }

    #[test]
    fn sizes_read_like_convert() {
        assert_eq!(convert_size("16"), Ok(16));
        assert_eq!(convert_size("1k"), Ok(1024));
        assert_eq!(convert_size("64K"), Ok(65536));
        assert_eq!(convert_size("32m"), Ok(32 << 20));
        assert_eq!(convert_size("1g"), Ok(1 << 30));
        assert_eq!(convert_size("-1"), Ok(-1));
        assert_eq!(convert_size("-1k"), Ok(-1024));
        assert_eq!(convert_size("007"), Ok(7));
    }

    #[test]
    fn hex_is_accepted_and_fractions_are_named() {
        assert_eq!(convert_size("0x100"), Ok(256));
        assert_eq!(convert_size("0X3000"), Ok(0x3000));
        assert!(matches!(
            convert_size("1.5k"),
            Err(SizeTextError::Fractional(_))
        ));
        assert!(matches!(
            convert_size("16q"),
            Err(SizeTextError::Malformed(_))
        ));
        assert!(matches!(
            convert_size("k"),
            Err(SizeTextError::Malformed(_))
        ));
        assert_eq!(convert_size(""), Err(SizeTextError::Empty));
        assert!(matches!(
            convert_size("99999999999999999999g"),
            Err(SizeTextError::TooLarge(_))
        ));
    }
}
