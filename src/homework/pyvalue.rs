//! Python's float syntax and number formatting, as the OSTEP simulators see
//! them (integers are read by [`super::pyconv`]).
//!
//! - `parse_float`: Python's `float()` for finite decimal text.
//! - `float_repr`: `repr(x)` / `str(x)` of a float (`7.0`, `1e+16`, `0.0001`).
//! - `percent_d`: `'%d' % x` for a float (truncation toward zero).

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
