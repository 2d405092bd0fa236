//! Fast, allocation-free formatting of the simulators' output lines: the
//! `%Nd` and `%0Nx` conversions of Python's `%` operator, appended to a byte
//! buffer that is reused for every line. A million-line problem is written
//! without one allocation per line.

/// Appends `value` in decimal, right-aligned in `width` columns with spaces,
/// as Python's `%{width}d` does (a wider number is not cut).
pub fn dec(buf: &mut Vec<u8>, value: i128, width: usize) {
    let mut digits = [0u8; 40];
    let mut n = value.unsigned_abs();
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if value < 0 {
        i -= 1;
        digits[i] = b'-';
    }
    let len = digits.len() - i;
    buf.extend(std::iter::repeat_n(b' ', width.saturating_sub(len)));
    buf.extend_from_slice(&digits[i..]);
}

/// Appends `value` in lower-case hex, zero-padded to `width` digits, as
/// Python's `%0{width}x` does for a non-negative number.
pub fn hex(buf: &mut Vec<u8>, value: u64, width: usize) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 16];
    let mut n = value;
    let mut i = out.len();
    loop {
        i -= 1;
        out[i] = DIGITS[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    let len = out.len() - i;
    buf.extend(std::iter::repeat_n(b'0', width.saturating_sub(len)));
    buf.extend_from_slice(&out[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(v: i128, w: usize) -> String {
        let mut b = Vec::new();
        dec(&mut b, v, w);
        String::from_utf8(b).unwrap()
    }

    fn h(v: u64, w: usize) -> String {
        let mut b = Vec::new();
        hex(&mut b, v, w);
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn decimal_pads_like_percent_d() {
        assert_eq!(d(430, 4), " 430");
        assert_eq!(d(12848, 4), "12848");
        assert_eq!(d(0, 2), " 0");
        assert_eq!(d(-5, 4), "  -5");
        assert_eq!(d(i128::MIN + 1, 0).len(), 40);
    }

    #[test]
    fn hex_pads_like_percent_08x() {
        assert_eq!(h(0x1ae, 8), "000001ae");
        assert_eq!(h(0, 8), "00000000");
        assert_eq!(h(u64::MAX, 8), "ffffffffffffffff");
    }
}
