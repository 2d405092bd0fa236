//! Python's number syntax and formatting, as the OSTEP simulators see them.
//!
//! - `parse_optparse_int`: optparse's `type='int'` (`0x1f` hex, `0b101`
//!   binary, a leading `0` octal, otherwise decimal; Python's `int()` rules:
//!   surrounding whitespace, a sign, `_` between digits).
//! - `parse_float`: Python's `float()` for finite decimal text.
//! - `float_repr`: `repr(x)` / `str(x)` of a float (`7.0`, `1e+16`, `0.0001`).
//! - `percent_d`: `'%d' % x` for a float (truncation toward zero).

/// optparse's integer option value; `None` when optparse would reject it.
pub fn parse_optparse_int(text: &str) -> Option<i128> {
    let lower: String = text
        .chars()
        .take(2)
        .collect::<String>()
        .to_ascii_lowercase();
    if lower == "0x" {
        python_int(text, 16)
    } else if lower == "0b" {
        let rest = &text[2..];
        python_int(if rest.is_empty() { "0" } else { rest }, 2)
    } else if text.starts_with('0') {
        python_int(text, 8)
    } else {
        python_int(text, 10)
    }
}

/// Python's `int(text, radix)` for radix 2, 8, 10 or 16 (values that fit
/// an i128).
fn python_int(text: &str, radix: u32) -> Option<i128> {
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
    let mut digits = t;
    let mut after_prefix = false;
    if let Some(p) = prefix {
        if digits.len() >= 2 && digits[..2].eq_ignore_ascii_case(p) {
            digits = &digits[2..];
            after_prefix = true;
        }
    }
    // Underscores: single, between digits (or right after a prefix).
    if digits.is_empty()
        || digits.ends_with('_')
        || digits.contains("__")
        || (digits.starts_with('_') && !after_prefix)
    {
        return None;
    }
    let mut value: i128 = 0;
    for c in digits.chars().filter(|&c| c != '_') {
        let d = c.to_digit(radix)?;
        value = value.checked_mul(radix as i128)?.checked_add(d as i128)?;
    }
    Some(if negative { -value } else { value })
}

/// Python's `float(text)` for text that Python accepts, including `inf` and
/// `nan` (the caller rejects those where they make no sense); `None` when
/// Python would raise.
pub fn parse_float(text: &str) -> Option<f64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let cleaned: String = if t.contains('_') {
        // Underscores only between digits.
        let b = t.as_bytes();
        for (i, &c) in b.iter().enumerate() {
            if c == b'_' {
                let ok = i > 0
                    && i + 1 < b.len()
                    && b[i - 1].is_ascii_digit()
                    && b[i + 1].is_ascii_digit();
                if !ok {
                    return None;
                }
            }
        }
        t.replace('_', "")
    } else {
        t.to_string()
    };
    cleaned.parse::<f64>().ok()
}

/// `repr(x)` of a Python float: the shortest digits that round-trip, in
/// fixed notation when the decimal exponent is in -4..16 (with `.0` added
/// to whole numbers), otherwise as `d.ddde+XX`.
pub fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "1.2345e3".
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("exponent is a number");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if x < 0.0 { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let n = digits.len() as i32;
        let body = if exp < 0 {
            format!("0.{}{}", "0".repeat((-exp - 1) as usize), digits)
        } else if exp + 1 >= n {
            format!("{}{}.0", digits, "0".repeat((exp + 1 - n) as usize))
        } else {
            let (int, frac) = digits.split_at((exp + 1) as usize);
            format!("{int}.{frac}")
        };
        format!("{sign}{body}")
    } else {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{frac}e{esign}{:02}", exp.abs())
    }
}

/// `'%d' % x` for a finite float: the integer part, truncated toward zero.
pub fn percent_d(x: f64) -> String {
    let t = x.trunc();
    if t == 0.0 {
        "0".into()
    } else {
        format!("{t:.0}")
    }
}

/// Python's `int(text)` (decimal, with whitespace, sign and `_`), as
/// malloc.py applies it to the parts of an `-A` list.
pub fn parse_int(text: &str) -> Option<i128> {
    python_int(text, 10)
}

/// Appends `'%.2f' % x` to `out`: whole numbers take a fast integer path,
/// everything else Rust's exact formatting (which rounds half to even on
/// the exact binary value, as Python does).
pub fn push_fixed2(out: &mut Vec<u8>, x: f64) {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        if x < 0.0 {
            out.push(b'-');
        }
        let mut buf = itoa::Buffer::new();
        out.extend_from_slice(buf.format(x.abs() as u64).as_bytes());
        out.extend_from_slice(b".00");
    } else {
        use std::io::Write;
        let _ = write!(out, "{x:.2}");
    }
}

/// Appends `'%3d' % x` (a float truncated, right-aligned in `width`).
pub fn push_percent_d(out: &mut Vec<u8>, x: f64, width: usize) {
    let t = x.trunc();
    if t.abs() < 9.0e15 {
        let mut buf = itoa::Buffer::new();
        let digits = buf.format(t as i64);
        out.extend(std::iter::repeat_n(
            b' ',
            width.saturating_sub(digits.len()),
        ));
        out.extend_from_slice(digits.as_bytes());
    } else {
        let digits = percent_d(x);
        out.extend(std::iter::repeat_n(
            b' ',
            width.saturating_sub(digits.len()),
        ));
        out.extend_from_slice(digits.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optparse_ints_follow_pythons_prefix_rules() {
        assert_eq!(parse_optparse_int("5"), Some(5));
        assert_eq!(parse_optparse_int("-5"), Some(-5));
        assert_eq!(parse_optparse_int("0x1F"), Some(31));
        assert_eq!(parse_optparse_int("010"), Some(8));
        assert_eq!(parse_optparse_int("0"), Some(0));
        assert_eq!(parse_optparse_int("0b101"), Some(5));
        assert_eq!(parse_optparse_int("1_000"), Some(1000));
        assert_eq!(parse_optparse_int(" 7 "), Some(7));
        assert_eq!(parse_optparse_int("08"), None);
        assert_eq!(parse_optparse_int("1.5"), None);
        assert_eq!(parse_optparse_int("x"), None);
        assert_eq!(parse_optparse_int("-0x10"), None);
        assert_eq!(parse_optparse_int(""), None);
    }

    #[test]
    fn float_repr_matches_python() {
        for (x, s) in [
            (7.0, "7.0"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1234567890123456.0, "1234567890123456.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (2.5e-7, "2.5e-07"),
            (-3.25, "-3.25"),
            (1.5e300, "1.5e+300"),
            (123.456, "123.456"),
        ] {
            assert_eq!(float_repr(x), s, "{x}");
        }
    }

    #[test]
    fn fast_paths_agree_with_formatting() {
        for x in [0.0, 5.0, 70.0, 2.5, 0.125, 1.005, 123456.789, -3.0, 1e20] {
            let mut v = Vec::new();
            push_fixed2(&mut v, x);
            assert_eq!(String::from_utf8(v).unwrap(), format!("{x:.2}"));
            let mut v = Vec::new();
            push_percent_d(&mut v, x, 3);
            assert_eq!(
                String::from_utf8(v).unwrap(),
                format!("{:>3}", percent_d(x))
            );
        }
    }

    #[test]
    fn percent_d_truncates() {
        assert_eq!(percent_d(2.7), "2");
        assert_eq!(percent_d(0.4), "0");
        assert_eq!(percent_d(1e20), "100000000000000000000");
    }

    #[test]
    fn floats_parse_like_python() {
        assert_eq!(parse_float(" 5 "), Some(5.0));
        assert_eq!(parse_float("1_0"), Some(10.0));
        assert_eq!(parse_float(""), None);
        assert_eq!(parse_float("5x"), None);
        assert_eq!(parse_float(".5"), Some(0.5));
    }
}
