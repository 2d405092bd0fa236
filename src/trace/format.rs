//! The trace formats, their detection, and what every decoder shares: the
//! batch it fills and how it reports a malformed line or record.
//!
//! | format | `--format` | one reference is |
//! | --- | --- | --- |
//! | text | `text` | a line: `0x1f00` or `4096`, optionally `R`/`W`/`F` first |
//! | binary | `bin` | 8 bytes: a little-endian u64 address |
//! | binary with kinds | `bin-kind` | 9 bytes: u64 address + u8 kind (0 read, 1 write, 2 fetch) |
//! | Valgrind lackey | `lackey` | `I  addr,size`, ` L ...`, ` S ...`, ` M ...` (M = read + write) |

use super::batch::Accesses;
use super::input::Unit;
use crate::mmu::Access;
use std::path::Path;

/// How many references a decoder decodes before handing them to the
/// translator: small enough to stay in the L1 cache, large enough to
/// amortize the call.
pub const BATCH: usize = 2048;

/// A trace format.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Format {
    /// One address per line, decimal or `0x` hex, optional `R`/`W`/`F`.
    Text,
    /// Little-endian u64 addresses.
    Bin,
    /// Little-endian u64 address + u8 kind records.
    BinKind,
    /// Valgrind lackey `--trace-mem=yes` output.
    Lackey,
}

impl Format {
    /// The name used by `--format` and in JSON.
    pub const fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Bin => "bin",
            Format::BinKind => "bin-kind",
            Format::Lackey => "lackey",
        }
    }

    /// How the input is cut into chunks for this format.
    pub const fn unit(self) -> Unit {
        match self {
            Format::Text | Format::Lackey => Unit::Line,
            Format::Bin => Unit::Record(8),
            Format::BinKind => Unit::Record(9),
        }
    }

    /// Whether the format says the kind of each reference (so `--out`
    /// writes `bin-kind` records rather than bare `bin` addresses).
    pub const fn has_kinds(self) -> bool {
        !matches!(self, Format::Bin)
    }

    /// Picks the format of a trace from its file name and first bytes.
    ///
    /// `.bin` is `bin`, `.bink` is `bin-kind`. Otherwise text is required
    /// (binary content is refused with advice); text whose first reference
    /// line looks like lackey's (`I  `, ` L `, ` S `, ` M `, or a `==pid==`
    /// banner) is lackey, anything else is the plain text format.
    pub fn detect(path: Option<&Path>, head: &[u8]) -> Result<Format, String> {
        match path.and_then(|p| p.extension()).and_then(|e| e.to_str()) {
            Some("bin") => return Ok(Format::Bin),
            Some("bink") => return Ok(Format::BinKind),
            _ => {}
        }
        if head.contains(&0) {
            return Err(
                "looks binary: name it .bin or .bink, or say --format bin or --format bin-kind"
                    .into(),
            );
        }
        for line in head.split(|&b| b == b'\n') {
            if line.starts_with(b"==") || is_lackey_reference(line) {
                return Ok(Format::Lackey);
            }
            let t = line.trim_ascii();
            if !t.is_empty() && !t.starts_with(b"#") {
                return Ok(Format::Text);
            }
        }
        Ok(Format::Text)
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "text" | "txt" => Ok(Format::Text),
            "bin" | "binary" => Ok(Format::Bin),
            "bin-kind" | "bink" => Ok(Format::BinKind),
            "lackey" => Ok(Format::Lackey),
            _ => Err(format!(
                "unknown format '{s}' (expected text, bin, bin-kind or lackey)"
            )),
        }
    }
}

/// Whether `line` starts like a lackey reference line.
fn is_lackey_reference(line: &[u8]) -> bool {
    matches!(
        line,
        [b'I', b' ', b' ', ..] | [b' ', b'L' | b'S' | b'M', b' ', ..]
    )
}

/// Where a malformed piece of a trace is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Location {
    /// A line number, from 1.
    Line(u64),
    /// A byte offset, from 0.
    Offset(u64),
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::Offset(n) => write!(f, "byte offset {n}"),
        }
    }
}

/// A malformed line or record: where, what it held, and why it is wrong.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Malformed {
    /// Where it is.
    pub at: Location,
    /// Its content (at most 80 characters, lossy UTF-8).
    pub content: String,
    /// What was expected.
    pub why: &'static str,
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: '{}'", self.at, self.why, self.content)
    }
}

/// Malformed lines seen so far: in a strict run the first one stops the
/// replay; otherwise they are counted, skipped, and the first is kept.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct BadInput {
    /// Stop at the first malformed line (`--strict`).
    pub strict: bool,
    /// How many were skipped.
    pub count: u64,
    /// The first one.
    pub first: Option<Malformed>,
}

impl BadInput {
    /// Counts a malformed piece at `at` holding `content`; returns it as an
    /// error in a strict run.
    #[cold]
    pub fn report(
        &mut self,
        at: Location,
        content: &[u8],
        why: &'static str,
    ) -> Result<(), Malformed> {
        let text = String::from_utf8_lossy(content);
        let text = text.trim_end_matches(['\r', '\n']);
        let content: String = if text.chars().count() > 80 {
            text.chars().take(77).chain("...".chars()).collect()
        } else {
            text.to_string()
        };
        let m = Malformed { at, content, why };
        if self.strict {
            return Err(m);
        }
        self.count += 1;
        self.first.get_or_insert(m);
        Ok(())
    }
}

/// Turns the bytes of one chunk into batches of references.
pub trait Decoder {
    /// Decodes every whole line or record in `chunk` (which starts on a
    /// boundary), calling `emit` with batches of addresses and their
    /// access kinds: at most [`BATCH`] when decoded, or a larger slice of
    /// the input itself when it already is the addresses (aligned `bin`). Malformed input goes to `bad`; the
    /// first error (from `bad` in a strict run, or from `emit`) ends it.
    fn decode<E>(
        &mut self,
        chunk: &[u8],
        bad: &mut BadInput,
        emit: &mut impl FnMut(&[u64], Accesses<'_>) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<Malformed>;
}

/// The access kind a prefix letter names: `R`, `W`, `F` (either case).
#[inline(always)]
pub(crate) fn access_letter(b: u8) -> Option<Access> {
    match b | 0x20 {
        b'r' => Some(Access::Read),
        b'w' => Some(Access::Write),
        b'f' => Some(Access::Fetch),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_uses_the_extension_then_the_content() {
        let p = Path::new("x.bin");
        assert_eq!(Format::detect(Some(p), b"\0\0"), Ok(Format::Bin));
        assert_eq!(
            Format::detect(Some(Path::new("x.bink")), b""),
            Ok(Format::BinKind)
        );
        assert_eq!(
            Format::detect(None, b"==1== Lackey\nI  0401ab70,3\n"),
            Ok(Format::Lackey)
        );
        assert_eq!(Format::detect(None, b" L 1ff,8\n"), Ok(Format::Lackey));
        assert_eq!(Format::detect(None, b"# c\n\nR 0x10\n"), Ok(Format::Text));
        assert!(Format::detect(None, b"\x01\0\0\0").is_err());
    }

    #[test]
    fn strict_bad_input_returns_the_first_error() {
        let mut bad = BadInput {
            strict: true,
            ..BadInput::default()
        };
        let e = bad.report(Location::Line(3), b"zz\n", "bad").unwrap_err();
        assert_eq!(e.to_string(), "line 3: bad: 'zz'");
        let mut lax = BadInput::default();
        lax.report(Location::Line(3), b"zz", "bad").unwrap();
        lax.report(Location::Line(4), b"yy", "bad").unwrap();
        assert_eq!(lax.count, 2);
        assert_eq!(lax.first.unwrap().at, Location::Line(3));
    }
}
