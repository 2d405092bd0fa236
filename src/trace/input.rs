//! Where the bytes of a trace come from, in constant memory.
//!
//! A file is memory-mapped (the kernel pages it in and out, so a 10 GB
//! trace needs no 10 GB of RAM); standard input is read through one fixed
//! buffer. Either way the trace is handed out in *chunks* that end on a
//! record boundary: a whole number of fixed-size binary records, or whole
//! lines of text. A record or line is never split between two chunks.

#[cfg(feature = "native")]
use memmap2::{Advice, Mmap, UncheckedAdvice};
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
#[cfg(feature = "native")]
use std::sync::atomic::{AtomicUsize, Ordering};

/// How much of the trace one chunk holds (about; it ends on a boundary).
pub const CHUNK_BYTES: usize = 1 << 20;

/// How often a mapped file's pages already read are given back (a
/// multiple of the page size).
#[cfg(feature = "native")]
const RELEASE_BYTES: usize = 64 << 20;

/// The longest line a streamed text trace may have: the buffer grows for a
/// long line up to this, then the input is refused (memory stays bounded).
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// How a chunk must end.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Unit {
    /// Fixed-size binary records of this many bytes.
    Record(usize),
    /// Lines ending in `\n` (the last line may lack it).
    Line,
}

/// Where the bytes come from.
enum Source {
    /// A memory-mapped file, how far it has been handed out, and up to
    /// where its pages have been given back. (Only in a `native` build: a
    /// browser has no mmap.)
    #[cfg(feature = "native")]
    Mapped {
        map: Mmap,
        pos: usize,
        released: usize,
    },
    /// A stream read through `buf`; `start..end` is not yet handed out.
    Stream {
        reader: Box<dyn Read>,
        buf: Vec<u8>,
        start: usize,
        end: usize,
        eof: bool,
    },
    /// An empty file (which cannot be mapped).
    Empty,
}

/// A trace input handing out chunks that end on record boundaries.
pub struct Input {
    source: Source,
    len: Option<u64>,
    consumed: u64,
}

impl Input {
    /// Opens `path`: a regular file is mapped into memory (streamed
    /// without the `native` feature); anything else
    /// that can be read (a pipe such as `<(valgrind ...)`, a device) is
    /// streamed like standard input.
    ///
    /// Fails with the I/O error if it cannot be opened or mapped, or if it
    /// is a directory.
    pub fn open(path: &Path) -> io::Result<Input> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        if meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a directory, not a trace",
            ));
        }
        if !meta.is_file() {
            return Ok(Input::stream(Box::new(file)));
        }
        let len = meta.len();
        if len == 0 {
            return Ok(Input {
                source: Source::Empty,
                len: Some(0),
                consumed: 0,
            });
        }
        #[cfg(not(feature = "native"))]
        {
            // No mmap without the `native` feature: stream the file.
            let mut input = Input::stream(Box::new(file));
            input.len = Some(len);
            Ok(input)
        }
        #[cfg(feature = "native")]
        {
            // SAFETY: the map is only read. If another process truncates the
            // file meanwhile, reads past the new end raise SIGBUS; that is the
            // documented price of mmap and the same as any mmap-based reader.
            let map = unsafe { Mmap::map(&file)? };
            let _ = map.advise(Advice::Sequential);
            Ok(Input {
                source: Source::Mapped {
                    map,
                    pos: 0,
                    released: 0,
                },
                len: Some(len),
                consumed: 0,
            })
        }
    }

    /// Shares a mapped file of fixed-size records between replay threads,
    /// which take its chunks of `chunk` bytes (rounded down to whole
    /// records, at least one) in turn until none is left; counts the whole
    /// file as handed out. Taking in turn, not in fixed halves, lets a
    /// thread on a free core do more of the work when another core is busy.
    ///
    /// Returns `None` (and changes nothing) unless the input is a mapped
    /// file not yet read, whose length is a multiple of `record`.
    #[cfg(feature = "native")]
    pub fn share_records(&mut self, record: usize, chunk: usize) -> Option<SharedRecords<'_>> {
        let Source::Mapped { map, pos: 0, .. } = &self.source else {
            return None;
        };
        if record == 0 || map.len() % record != 0 {
            return None;
        }
        self.consumed = map.len() as u64;
        let Source::Mapped { map, .. } = &self.source else {
            return None;
        };
        Some(SharedRecords {
            map,
            next: AtomicUsize::new(0),
            chunk: (chunk / record * record).max(record),
        })
    }

    /// Reads a trace held in memory (a file dropped on the browser page),
    /// through the same fixed buffer as a stream; its size is known.
    pub fn from_bytes(bytes: std::sync::Arc<[u8]>) -> Input {
        let len = bytes.len() as u64;
        let mut input = Input::stream(Box::new(io::Cursor::new(bytes)));
        input.len = Some(len);
        input
    }

    /// Reads from a stream (standard input) through a fixed buffer.
    pub fn stream(reader: Box<dyn Read>) -> Input {
        Input {
            source: Source::Stream {
                reader,
                buf: vec![0; CHUNK_BYTES],
                start: 0,
                end: 0,
                eof: false,
            },
            len: None,
            consumed: 0,
        }
    }

    /// The total size in bytes, when known (a file).
    pub fn len(&self) -> Option<u64> {
        self.len
    }

    /// Whether the input is known to be empty.
    pub fn is_empty(&self) -> bool {
        self.len == Some(0)
    }

    /// The last `n` bytes of a file (empty for a stream, which has no known
    /// end).
    pub fn last_bytes(&self, n: usize) -> Vec<u8> {
        let _ = n;
        match &self.source {
            #[cfg(feature = "native")]
            Source::Mapped { map, .. } => map[map.len().saturating_sub(n)..].to_vec(),
            _ => Vec::new(),
        }
    }

    /// How many bytes have been handed out so far.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// The first bytes of the input (up to `CHUNK_BYTES`), without consuming
    /// them: what format detection looks at.
    pub fn peek(&mut self) -> io::Result<&[u8]> {
        match &mut self.source {
            #[cfg(feature = "native")]
            Source::Mapped { map, pos, .. } => Ok(&map[*pos..map.len().min(*pos + CHUNK_BYTES)]),
            Source::Stream {
                reader,
                buf,
                start,
                end,
                eof,
            } => {
                while !*eof && *end < buf.len() {
                    let n = read_some(reader.as_mut(), &mut buf[*end..])?;
                    *eof = n == 0;
                    *end += n;
                }
                Ok(&buf[*start..*end])
            }
            Source::Empty => Ok(&[]),
        }
    }

    /// The next chunk: whole records or lines, about `CHUNK_BYTES` long.
    /// `None` at the end. For [`Unit::Record`], the final chunk may hold an
    /// incomplete record (fewer bytes than the record size): the caller
    /// reports those trailing bytes.
    pub fn next_chunk(&mut self, unit: Unit) -> io::Result<Option<&[u8]>> {
        let chunk: &[u8] = match &mut self.source {
            Source::Empty => return Ok(None),
            #[cfg(feature = "native")]
            Source::Mapped { map, pos, released } => {
                // Give back the pages already read, so that the resident
                // set stays small however large the file is.
                let done = *pos / RELEASE_BYTES * RELEASE_BYTES;
                if done > *released {
                    // SAFETY: MADV_DONTNEED on a read-only file mapping only
                    // drops the pages from this process; reading them again
                    // would fault them back in from the file. The chunks
                    // handed out before `pos` are no longer borrowed (this
                    // method takes `&mut self`) and are never read again.
                    let _ = unsafe {
                        map.unchecked_advise_range(
                            UncheckedAdvice::DontNeed,
                            *released,
                            done - *released,
                        )
                    };
                    *released = done;
                }
                let rest = &map[*pos..];
                if rest.is_empty() {
                    return Ok(None);
                }
                let take = if rest.len() <= CHUNK_BYTES {
                    rest.len()
                } else {
                    boundary(&rest[..CHUNK_BYTES], unit).unwrap_or_else(|| match unit {
                        // A line longer than a chunk: hand out up to its end.
                        Unit::Line => rest
                            .iter()
                            .position(|&b| b == b'\n')
                            .map_or(rest.len(), |i| i + 1),
                        Unit::Record(_) => rest.len(),
                    })
                };
                *pos += take;
                &rest[..take]
            }
            Source::Stream {
                reader,
                buf,
                start,
                end,
                eof,
            } => {
                let take = loop {
                    // Move the unfinished tail to the front and fill the rest.
                    buf.copy_within(*start..*end, 0);
                    *end -= *start;
                    *start = 0;
                    while !*eof && *end < buf.len() {
                        let n = read_some(reader.as_mut(), &mut buf[*end..])?;
                        *eof = n == 0;
                        *end += n;
                    }
                    if *end == 0 {
                        return Ok(None);
                    }
                    if *eof {
                        break *end;
                    }
                    if let Some(n) = boundary(&buf[..*end], unit) {
                        break n;
                    }
                    // A single line longer than the buffer: grow for it, up
                    // to a limit (only a pathological line does this).
                    let old = buf.len();
                    if old >= MAX_LINE_BYTES {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!(
                                "a line longer than {} MiB (is this a text trace?)",
                                MAX_LINE_BYTES >> 20
                            ),
                        ));
                    }
                    buf.resize(old * 2, 0);
                };
                *start = take;
                &buf[..take]
            }
        };
        self.consumed += chunk.len() as u64;
        Ok(Some(chunk))
    }
}

/// Reads once, retrying on interruption.
fn read_some(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// How many leading bytes of `window` form whole units, or `None` if not
/// even one does.
fn boundary(window: &[u8], unit: Unit) -> Option<usize> {
    match unit {
        Unit::Record(size) => {
            let n = window.len() / size * size;
            (n > 0).then_some(n)
        }
        Unit::Line => window.iter().rposition(|&b| b == b'\n').map(|i| i + 1),
    }
}

/// A mapped file of whole records shared by replay threads
/// ([`Input::share_records`]).
#[cfg(feature = "native")]
pub struct SharedRecords<'a> {
    map: &'a Mmap,
    /// Where the next chunk not yet taken starts (a byte offset; at or
    /// past the end once every chunk is taken).
    next: AtomicUsize,
    /// Bytes per chunk, whole records.
    chunk: usize,
}

#[cfg(feature = "native")]
impl SharedRecords<'_> {
    /// Takes the next chunk no thread has taken yet (whole records, the
    /// last one possibly shorter), or `None` when every chunk is taken.
    pub fn next_chunk(&self) -> Option<TakenChunk<'_>> {
        let len = self.map.len();
        // Move `next` on by a chunk, unless it is already at the end (so
        // it never passes `len` by more than a chunk, nor wraps).
        let start = self
            .next
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < len).then(|| n.saturating_add(self.chunk))
            })
            .ok()?;
        Some(TakenChunk {
            map: self.map,
            start,
            end: start.saturating_add(self.chunk).min(len),
        })
    }

    /// The bytes shared (the whole file).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there are no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// A chunk of a shared mapped file, taken by one thread
/// ([`SharedRecords::next_chunk`]). Its bytes are [`TakenChunk::bytes`];
/// when it is dropped, the pages that lie wholly inside it are given back
/// to the kernel, so that the resident set stays small however large the
/// file is.
#[cfg(feature = "native")]
pub struct TakenChunk<'a> {
    map: &'a Mmap,
    start: usize,
    end: usize,
}

/// The alignment of the ranges given back: a multiple of every page size a
/// 64-bit system uses (4, 16 or 64 KiB), so that a page partly in the next
/// chunk is never given back while another thread may read it.
#[cfg(feature = "native")]
const RELEASE_ALIGN: usize = 64 << 10;

#[cfg(feature = "native")]
impl TakenChunk<'_> {
    /// The chunk's bytes: whole records.
    pub fn bytes(&self) -> &[u8] {
        &self.map[self.start..self.end]
    }

    /// Where the chunk ends (a byte offset in the file).
    pub fn end(&self) -> usize {
        self.end
    }
}

#[cfg(feature = "native")]
impl Drop for TakenChunk<'_> {
    fn drop(&mut self) {
        let lo = self.start.next_multiple_of(RELEASE_ALIGN);
        let hi = self.end / RELEASE_ALIGN * RELEASE_ALIGN;
        if lo < hi {
            // SAFETY: MADV_DONTNEED on a read-only file mapping only drops
            // the pages from this process (reading them again would fault
            // them back in from the file). `lo..hi` lies wholly inside this
            // chunk and starts on a page boundary, so no page of another
            // chunk is touched; this chunk's bytes are borrowed only from
            // `self` (`bytes`), which is being dropped, and no other thread
            // takes the same chunk.
            let _ = unsafe {
                self.map
                    .unchecked_advise_range(UncheckedAdvice::DontNeed, lo, hi - lo)
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(data: &[u8], unit: Unit) -> Vec<Vec<u8>> {
        let mut input = Input::stream(Box::new(io::Cursor::new(data.to_vec())));
        let mut out = Vec::new();
        while let Some(c) = input.next_chunk(unit).unwrap() {
            out.push(c.to_vec());
        }
        out
    }

    #[test]
    fn stream_chunks_end_on_line_boundaries_and_lose_nothing() {
        let mut text = Vec::new();
        for i in 0..300_000u32 {
            text.extend_from_slice(format!("{i}\n").as_bytes());
        }
        text.extend_from_slice(b"last-without-newline");
        let got = chunks(&text, Unit::Line);
        assert!(got.len() > 1);
        for c in &got[..got.len() - 1] {
            assert_eq!(c.last(), Some(&b'\n'));
        }
        assert_eq!(got.concat(), text);
    }

    #[test]
    fn stream_record_chunks_leave_the_incomplete_tail_last() {
        let data = vec![7u8; CHUNK_BYTES * 2 + 13];
        let got = chunks(&data, Unit::Record(9));
        for c in &got[..got.len() - 1] {
            assert_eq!(c.len() % 9, 0);
        }
        assert_eq!(got.concat().len(), data.len());
        assert_eq!(got.last().unwrap().len() % 9, (CHUNK_BYTES * 2 + 13) % 9);
    }

    #[test]
    fn a_line_longer_than_the_buffer_is_handed_out_whole() {
        let mut text = vec![b'x'; CHUNK_BYTES + 10];
        text.extend_from_slice(b"\n1\n");
        let got = chunks(&text, Unit::Line);
        assert!(got[0].len() >= CHUNK_BYTES + 11);
        assert_eq!(got.concat(), text);
    }
}
