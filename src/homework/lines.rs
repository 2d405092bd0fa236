//! Fast, allocation-free formatting of the simulators' output lines: the
//! `%Nd` and `%0Nx` conversions of Python's `%` operator.
//!
//! [`Lines`] batches lines in a fixed 64 KiB block and hands full blocks to
//! the output, so a million-line problem costs a few byte copies per line
//! and no allocation. `Vec<u8>` is a [`Sink`] too, for single lines.

use std::io::{self, Write};

const SPACES: &[u8; 32] = b"                                ";
const ZEROS: &[u8; 32] = b"00000000000000000000000000000000";

/// Somewhere to append formatted text.
pub trait Sink {
    /// Appends bytes.
    fn text(&mut self, bytes: &[u8]);

    /// Appends `value` in decimal, right-aligned in `width` columns with
    /// spaces, as Python's `%{width}d` does (a wider number is not cut).
    #[inline]
    fn dec(&mut self, value: u64, width: usize) {
        let mut digits = [0u8; 20];
        let mut n = value;
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        pad(self, SPACES, width.saturating_sub(digits.len() - i));
        self.text(&digits[i..]);
    }

    /// Appends `value` in lower-case hex, zero-padded to `width` digits, as
    /// Python's `%0{width}x` does.
    #[inline]
    fn hex(&mut self, value: u64, width: usize) {
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
        pad(self, ZEROS, width.saturating_sub(out.len() - i));
        self.text(&out[i..]);
    }
}

/// Appends `count` copies of the padding byte in `fill`.
#[inline]
fn pad<S: Sink + ?Sized>(sink: &mut S, fill: &[u8; 32], mut count: usize) {
    while count > 0 {
        let n = count.min(fill.len());
        sink.text(&fill[..n]);
        count -= n;
    }
}

impl Sink for Vec<u8> {
    #[inline]
    fn text(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// The size of one block handed to the output.
const BLOCK: usize = 1 << 16;

/// Lines batched into 64 KiB blocks before they reach `out`.
///
/// Call [`Lines::finish`] at the end: it writes what is left and reports
/// any write error (a broken pipe included). A write error in the middle is
/// kept and reported there; later text is dropped.
pub struct Lines<'a> {
    out: &'a mut dyn Write,
    block: Box<[u8; BLOCK]>,
    len: usize,
    error: Option<io::Error>,
}

impl<'a> Lines<'a> {
    /// A batcher writing to `out`.
    pub fn new(out: &'a mut dyn Write) -> Self {
        Self {
            out,
            block: Box::new([0; BLOCK]),
            len: 0,
            error: None,
        }
    }

    /// Hands the block to the output.
    fn spill(&mut self) {
        if self.error.is_none()
            && let Err(e) = self.out.write_all(&self.block[..self.len])
        {
            self.error = Some(e);
        }
        self.len = 0;
    }

    /// Writes everything still held; returns the first write error.
    pub fn finish(mut self) -> io::Result<()> {
        self.spill();
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Whether a write has failed (stop producing output).
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }
}

impl Sink for Lines<'_> {
    #[inline(always)]
    fn text(&mut self, bytes: &[u8]) {
        if self.len + bytes.len() > BLOCK {
            self.spill();
            if bytes.len() > BLOCK {
                if self.error.is_none()
                    && let Err(e) = self.out.write_all(bytes)
                {
                    self.error = Some(e);
                }
                return;
            }
        }
        self.block[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// As [`Sink::dec`], with the digits written in place (no copy).
    #[inline]
    fn dec(&mut self, value: u64, width: usize) {
        let count = value.checked_ilog10().unwrap_or(0) as usize + 1;
        let total = count.max(width);
        if total > 64 {
            return text_dec(self, value, width);
        }
        if self.len + total > BLOCK {
            self.spill();
        }
        let field = &mut self.block[self.len..self.len + total];
        let (padding, digits) = field.split_at_mut(total - count);
        padding.fill(b' ');
        let mut n = value;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
        self.len += total;
    }

    /// As [`Sink::hex`], with the digits written in place (no copy).
    #[inline]
    fn hex(&mut self, value: u64, width: usize) {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let count = (value.checked_ilog2().unwrap_or(0) / 4) as usize + 1;
        let total = count.max(width);
        if total > 64 {
            return text_hex(self, value, width);
        }
        if self.len + total > BLOCK {
            self.spill();
        }
        let field = &mut self.block[self.len..self.len + total];
        let mut n = value;
        for d in field.iter_mut().rev() {
            *d = DIGITS[(n & 0xf) as usize];
            n >>= 4;
        }
        self.len += total;
    }
}

/// The generic [`Sink::dec`], for fields too wide to write in place.
fn text_dec(lines: &mut Lines<'_>, value: u64, width: usize) {
    let mut v = Vec::new();
    v.dec(value, width);
    lines.text(&v);
}

/// The generic [`Sink::hex`], for fields too wide to write in place.
fn text_hex(lines: &mut Lines<'_>, value: u64, width: usize) {
    let mut v = Vec::new();
    v.hex(value, width);
    lines.text(&v);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(v: u64, w: usize) -> String {
        let mut b = Vec::new();
        b.dec(v, w);
        String::from_utf8(b).unwrap()
    }

    fn h(v: u64, w: usize) -> String {
        let mut b = Vec::new();
        b.hex(v, w);
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn decimal_pads_like_percent_d() {
        assert_eq!(d(430, 4), " 430");
        assert_eq!(d(12848, 4), "12848");
        assert_eq!(d(0, 2), " 0");
        assert_eq!(d(7, 40), format!("{:>40}", 7));
        assert_eq!(d(u64::MAX, 0), u64::MAX.to_string());
    }

    #[test]
    fn hex_pads_like_percent_08x() {
        assert_eq!(h(0x1ae, 8), "000001ae");
        assert_eq!(h(0, 8), "00000000");
        assert_eq!(h(u64::MAX, 8), "ffffffffffffffff");
    }

    #[test]
    fn batched_lines_reach_the_output_in_order() {
        let mut out = Vec::new();
        let mut lines = Lines::new(&mut out);
        for i in 0..20_000u64 {
            lines.dec(i, 6);
            lines.text(b"\n");
        }
        for i in 0..5_000u64 {
            lines.hex(i * 977, 8);
            lines.dec(i, 70);
            lines.hex(i, 70);
            lines.text(b"\n");
        }
        lines.text(&[b'x'; BLOCK + 10]);
        lines.finish().unwrap();
        let mut expected: String = (0..20_000).map(|i| format!("{i:>6}\n")).collect();
        for i in 0..5_000u64 {
            expected.push_str(&format!("{:08x}{i:>70}{i:070x}\n", i * 977));
        }
        assert_eq!(&out[..expected.len()], expected.as_bytes());
        assert_eq!(out.len(), expected.len() + BLOCK + 10);
    }
}
