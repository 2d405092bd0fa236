//! Valgrind lackey traces (`valgrind --tool=lackey --trace-mem=yes PROG`):
//!
//! ```text
//! I  0401ab70,3        instruction fetch of 3 bytes at 0x401ab70
//!  L 1fff000778,8      load (read) of 8 bytes
//!  S 1fff000770,8      store (write)
//!  M 04a4e0a8,4        modify: a read and then a write of the same bytes
//! ==12345== ...        valgrind's own messages: skipped
//! ```
//!
//! Addresses are hex without `0x`; the size must be present and decimal, at
//! most [`MAX_SIZE`] bytes. Every byte of a reference is checked (through
//! `Mmu::translate_span`): a load that straddles a bound faults. Any other
//! line (for example a program's own output mixed in with `2>&1`) is
//! malformed.

use super::batch::Accesses;
use super::format::{BATCH, BadInput, Decoder, Location, Malformed};
use super::text::{end_of_line, next_line, parse_decimal, parse_hex};
use crate::mmu::Access;

/// The largest size a lackey reference may have (lackey's own are at most
/// 64 bytes, a vector register); a larger one is a malformed line.
pub const MAX_SIZE: u64 = 4096;

/// Decodes lackey traces, counting lines across chunks.
pub struct LackeyDecoder {
    line: u64,
    vas: Vec<u64>,
    kinds: Vec<Access>,
    sizes: Vec<u64>,
}

impl Default for LackeyDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl LackeyDecoder {
    /// A decoder at line 1.
    pub fn new() -> Self {
        // One spare slot: an `M` line adds two references.
        Self {
            line: 0,
            vas: vec![0; BATCH + 1],
            kinds: vec![Access::Read; BATCH + 1],
            sizes: vec![1; BATCH + 1],
        }
    }
}

/// What one lackey line holds.
enum Line {
    /// A reference (`modify` for `M`: read then write).
    Reference {
        va: u64,
        size: u64,
        access: Access,
        modify: bool,
    },
    /// A valgrind message or a blank line.
    Skip,
}

/// Parses one line at `b[*i..]`, advancing past it on success.
#[inline(always)]
fn parse_line(b: &[u8], i: &mut usize) -> Result<Line, &'static str> {
    let (access, modify) = match b[*i..] {
        [b'I', b' ', ..] => (Access::Fetch, false),
        [b' ', b'L', b' ', ..] => (Access::Read, false),
        [b' ', b'S', b' ', ..] => (Access::Write, false),
        [b' ', b'M', b' ', ..] => (Access::Read, true),
        [b'=', b'=', ..] => {
            *i = next_line(b, *i);
            return Ok(Line::Skip);
        }
        [b'\n', ..] => {
            *i += 1;
            return Ok(Line::Skip);
        }
        [b'\r', b'\n', ..] | [b'\r'] => {
            *i += 2;
            return Ok(Line::Skip);
        }
        _ => return Err("not a lackey line (expected 'I  addr,size' or ' L/S/M addr,size')"),
    };
    *i += 2;
    while b.get(*i) == Some(&b' ') {
        *i += 1;
    }
    let va = parse_hex(b, i)?;
    if b.get(*i) != Some(&b',') {
        return Err("expected ',size' after the address");
    }
    *i += 1;
    let size = parse_decimal(b, i).map_err(|_| "expected a decimal size after ','")?;
    if size > MAX_SIZE {
        return Err("the size is larger than 4096 bytes");
    }
    end_of_line(b, i)?;
    Ok(Line::Reference {
        va,
        size,
        access,
        modify,
    })
}

impl Decoder for LackeyDecoder {
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
            match parse_line(b, &mut i) {
                Ok(Line::Reference {
                    va,
                    size,
                    access,
                    modify,
                }) => {
                    self.vas[n] = va;
                    self.kinds[n] = access;
                    self.sizes[n] = size;
                    n += 1;
                    if modify {
                        self.vas[n] = va;
                        self.kinds[n] = Access::Write;
                        self.sizes[n] = size;
                        n += 1;
                    }
                    if n >= BATCH {
                        emit(
                            &self.vas[..n],
                            Accesses::Sized(&self.kinds[..n], &self.sizes[..n]),
                        )?;
                        n = 0;
                    }
                }
                Ok(Line::Skip) => {}
                Err(why) => {
                    let end = next_line(b, start);
                    bad.report(Location::Line(self.line), &b[start..end], why)?;
                    i = end;
                }
            }
        }
        if n > 0 {
            emit(
                &self.vas[..n],
                Accesses::Sized(&self.kinds[..n], &self.sizes[..n]),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str, bad: &mut BadInput) -> Vec<(u64, Access)> {
        decode_sized(text, bad)
            .into_iter()
            .map(|(va, a, _)| (va, a))
            .collect()
    }

    fn decode_sized(text: &str, bad: &mut BadInput) -> Vec<(u64, Access, u64)> {
        let mut d = LackeyDecoder::new();
        let mut got = Vec::new();
        d.decode(text.as_bytes(), bad, &mut |vas, acc| {
            for (i, &va) in vas.iter().enumerate() {
                got.push((va, acc.kind(i), acc.size(i)));
            }
            Ok::<(), Malformed>(())
        })
        .unwrap();
        got
    }

    #[test]
    fn sizes_are_kept_and_bounded() {
        let mut bad = BadInput::default();
        let got = decode_sized(
            " L 3fc,8
 M 10,4
I  20,4097
",
            &mut bad,
        );
        assert_eq!(
            got,
            vec![
                (0x3fc, Access::Read, 8),
                (0x10, Access::Read, 4),
                (0x10, Access::Write, 4)
            ]
        );
        assert_eq!(bad.count, 1);
    }

    #[test]
    fn lackey_kinds_map_to_fetch_read_write_and_modify_is_both() {
        let got = decode(
            "==1== Lackey\nI  0401ab70,3\n S 1fff000778,8\n L 04a4e0a8,4\n M 10,4\n",
            &mut BadInput::default(),
        );
        assert_eq!(
            got,
            vec![
                (0x401ab70, Access::Fetch),
                (0x1fff000778, Access::Write),
                (0x4a4e0a8, Access::Read),
                (0x10, Access::Read),
                (0x10, Access::Write),
            ]
        );
    }

    #[test]
    fn program_output_and_broken_lines_are_malformed_with_line_numbers() {
        let mut bad = BadInput::default();
        let got = decode("I  10,1\nhello world\n L 12\n S zz,4\nI  20,2", &mut bad);
        assert_eq!(got, vec![(0x10, Access::Fetch), (0x20, Access::Fetch)]);
        assert_eq!(bad.count, 3);
        let first = bad.first.unwrap();
        assert_eq!(first.at, Location::Line(2));
        assert_eq!(first.content, "hello world");
    }

    #[test]
    fn a_batch_of_modify_lines_never_overflows() {
        let text = " M 10,4\n".repeat(BATCH * 2 + 1);
        assert_eq!(
            decode(&text, &mut BadInput::default()).len(),
            (BATCH * 2 + 1) * 2
        );
    }
}
