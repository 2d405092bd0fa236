//! The text format: one address per line, decimal (`4096`) or hex
//! (`0x1000`), optionally preceded by the access kind `R`, `W` or `F` and a
//! blank or `:` (`W 0x1000`, `r:4096`). Blank lines and `#` comments are
//! skipped; a line without a kind takes `--access`.

use super::batch::Accesses;
use super::format::{BATCH, BadInput, Decoder, Location, Malformed, access_letter};
use crate::mmu::Access;

/// Decodes text traces, counting lines across chunks.
pub struct TextDecoder {
    default: Access,
    line: u64,
    vas: Vec<u64>,
    kinds: Vec<Access>,
}

impl TextDecoder {
    /// A decoder giving lines without a kind the access `default`.
    pub fn new(default: Access) -> Self {
        Self {
            default,
            line: 0,
            vas: vec![0; BATCH],
            kinds: vec![Access::Read; BATCH],
        }
    }
}

/// The value of a hex digit, or 0xff.
pub(crate) const HEX: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => 0xff,
        };
        i += 1;
    }
    t
};

/// Parses hex digits at `b[*i..]` (at least one, value below 2^64),
/// advancing `*i` past them.
#[inline(always)]
pub(crate) fn parse_hex(b: &[u8], i: &mut usize) -> Result<u64, &'static str> {
    // The common case: at most 16 digits, with 17 bytes in view, read from
    // a fixed-size window (no bounds check per digit).
    if let Some(window) = b.get(*i..*i + 17) {
        let window: &[u8; 17] = window.try_into().expect("17 bytes");
        let mut v: u64 = 0;
        let mut n = 0;
        while n < 17 {
            let d = HEX[window[n] as usize];
            if d == 0xff {
                break;
            }
            v = v << 4 | d as u64;
            n += 1;
        }
        if n == 0 {
            return Err("expected a hex address");
        }
        if n <= 16 {
            *i += n;
            return Ok(v);
        }
    }
    let start = *i;
    let mut v: u64 = 0;
    // Shift every digit in (digits beyond 16 push the top ones out), and
    // check afterwards that no significant digit was lost.
    while let Some(&c) = b.get(*i) {
        let d = HEX[c as usize];
        if d == 0xff {
            break;
        }
        v = v << 4 | d as u64;
        *i += 1;
    }
    let digits = &b[start..*i];
    if digits.is_empty() {
        return Err("expected a hex address");
    }
    if digits.len() > 16 && digits.iter().take_while(|&&c| c == b'0').count() < digits.len() - 16 {
        return Err("address does not fit in 64 bits");
    }
    Ok(v)
}

/// Parses decimal digits at `b[*i..]` (at least one, value below 2^64).
#[inline(always)]
pub(crate) fn parse_decimal(b: &[u8], i: &mut usize) -> Result<u64, &'static str> {
    let start = *i;
    let mut v: u64 = 0;
    while let Some(&c) = b.get(*i) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        // 19 digits always fit; only longer numbers need checked steps.
        if *i - start < 19 {
            v = v * 10 + d as u64;
        } else {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(d as u64))
                .ok_or("number does not fit in 64 bits")?;
        }
        *i += 1;
    }
    if *i == start {
        return Err("expected an address (decimal or 0x hex)");
    }
    Ok(v)
}

/// Skips blanks and tabs.
#[inline(always)]
pub(crate) fn skip_blanks(b: &[u8], i: &mut usize) {
    while matches!(b.get(*i), Some(b' ' | b'\t')) {
        *i += 1;
    }
}

/// Expects the end of the line (optional `\r`), advancing past the `\n`.
#[inline(always)]
pub(crate) fn end_of_line(b: &[u8], i: &mut usize) -> Result<(), &'static str> {
    skip_blanks(b, i);
    match b.get(*i) {
        None => Ok(()),
        Some(b'\n') => {
            *i += 1;
            Ok(())
        }
        Some(b'\r') if matches!(b.get(*i + 1), None | Some(b'\n')) => {
            *i += 2;
            Ok(())
        }
        _ => Err("unexpected text after the address"),
    }
}

/// The index just past the end of the line containing `b[i]`.
pub(crate) fn next_line(b: &[u8], i: usize) -> usize {
    b[i..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |p| i + p + 1)
}

/// Parses one reference line starting at `b[*i]` (blanks already skipped).
#[inline(always)]
fn parse_line(b: &[u8], i: &mut usize, default: Access) -> Result<(u64, Access), &'static str> {
    let mut access = default;
    if let Some(a) = access_letter(b[*i])
        && matches!(b.get(*i + 1), Some(b' ' | b'\t' | b':'))
    {
        access = a;
        *i += 2;
        skip_blanks(b, i);
    }
    let va = if b.get(*i) == Some(&b'0') && matches!(b.get(*i + 1), Some(b'x' | b'X')) {
        *i += 2;
        parse_hex(b, i)?
    } else {
        parse_decimal(b, i)?
    };
    end_of_line(b, i)?;
    Ok((va, access))
}

impl Decoder for TextDecoder {
    fn decode<E>(
        &mut self,
        b: &[u8],
        bad: &mut BadInput,
        emit: &mut impl FnMut(&[u64], Accesses<'_>) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<Malformed>,
    {
        let mut n = 0;
        let mut i = 0;
        while i < b.len() {
            self.line += 1;
            let start = i;
            skip_blanks(b, &mut i);
            match b.get(i) {
                None => break,
                Some(b'\n') => {
                    i += 1;
                    continue;
                }
                Some(b'\r') if matches!(b.get(i + 1), None | Some(b'\n')) => {
                    i += 2;
                    continue;
                }
                Some(b'#') => {
                    i = next_line(b, i);
                    continue;
                }
                Some(_) => {}
            }
            match parse_line(b, &mut i, self.default) {
                Ok((va, access)) => {
                    self.vas[n] = va;
                    self.kinds[n] = access;
                    n += 1;
                    if n == BATCH {
                        emit(&self.vas, Accesses::Each(&self.kinds))?;
                        n = 0;
                    }
                }
                Err(why) => {
                    let end = next_line(b, start);
                    bad.report(Location::Line(self.line), &b[start..end], why)?;
                    i = end;
                }
            }
        }
        if n > 0 {
            emit(&self.vas[..n], Accesses::Each(&self.kinds[..n]))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str, bad: &mut BadInput) -> Result<Vec<(u64, Access)>, Malformed> {
        let mut d = TextDecoder::new(Access::Read);
        let mut got = Vec::new();
        d.decode(text.as_bytes(), bad, &mut |vas, acc| {
            let Accesses::Each(kinds) = acc else {
                unreachable!()
            };
            got.extend(vas.iter().copied().zip(kinds.iter().copied()));
            Ok::<(), Malformed>(())
        })?;
        Ok(got)
    }

    #[test]
    fn text_lines_take_decimal_hex_and_kind_prefixes() {
        let got = decode(
            "# a comment\n4096\n0x1F00\nW 0x10\n  r:12\r\nF\t7\n\n18446744073709551615",
            &mut BadInput::default(),
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                (4096, Access::Read),
                (0x1f00, Access::Read),
                (0x10, Access::Write),
                (12, Access::Read),
                (7, Access::Fetch),
                (u64::MAX, Access::Read),
            ]
        );
    }

    #[test]
    fn malformed_lines_are_counted_with_their_line_number() {
        let mut bad = BadInput::default();
        let got = decode("1\nx12\n2\n0x\n99999999999999999999\n3 4\n", &mut bad).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(bad.count, 4);
        let first = bad.first.unwrap();
        assert_eq!(first.at, Location::Line(2));
        assert_eq!(first.content, "x12");
    }

    #[test]
    fn long_numbers_are_exact_or_refused() {
        let got = decode(
            "0x0000000000000000000000ffffffffffffffff\n000000000000000000000000018446744073709551615\n",
            &mut BadInput::default(),
        )
        .unwrap();
        assert_eq!(
            got,
            vec![(u64::MAX, Access::Read), (u64::MAX, Access::Read)]
        );
        let mut bad = BadInput::default();
        decode("0x10000000000000000\n18446744073709551616\n", &mut bad).unwrap();
        assert_eq!(bad.count, 2);
    }

    #[test]
    fn strict_stops_at_the_first_malformed_line() {
        let mut bad = BadInput {
            strict: true,
            ..BadInput::default()
        };
        let e = decode("1\n2\n0x1g\n", &mut bad).unwrap_err();
        assert_eq!(e.at, Location::Line(3));
        assert_eq!(e.content, "0x1g");
    }
}
