//! Batch translation of address traces: vmlab's throughput path.
//!
//! A trace (text, binary, or a Valgrind lackey capture of a real program)
//! streams through the MMU in constant memory:
//!
//! ```text
//!  Input (mmap'd file | stdin buffer)  --chunks of whole lines/records-->
//!  Decoder (text | bin | bin-kind | lackey)  --batches of <= 2048 refs-->
//!  translate_batch::<Mechanism>  --counts--> Stats
//!                                --pas-----> --out file (optional)
//!                                --records-> --per-access JSON (optional)
//! ```
//!
//! The mechanism is chosen once per trace ([`replay`] matches on
//! [`AnyMmu`] and calls a copy of the pipeline made for that mechanism and
//! that format), so the per-reference loop has no dynamic dispatch and no
//! allocation. The MMU code is the shared one (`Mmu::translate`, or for
//! base+bounds and segmentation a loop over the MMU's own registers that
//! property tests hold to it), so what a trace replay counts is exactly
//! what `vmlab translate` narrates.

pub mod batch;
pub mod binary;
pub mod format;
pub mod input;
pub mod lackey;
pub mod layout;
pub mod paging;
pub mod stats;
pub mod text;

pub use batch::{Accesses, Mechanism, Translated, translate_batch};
pub use format::{BadInput, Format, Location, Malformed};
pub use input::Input;
pub use layout::LayoutScan;
pub use stats::Stats;

use crate::memory::PhysicalMemory;
use crate::mmu::{Access, AnyMmu};
use binary::{BinDecoder, BinKindDecoder};
use format::{BATCH, Decoder};
use lackey::LackeyDecoder;
use std::io::{self, Write};
use text::TextDecoder;

/// Why a replay stopped.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// A malformed line in a strict run, or trailing bytes of a binary
    /// trace.
    #[error("{0}")]
    Malformed(Malformed),
    /// Reading the trace failed.
    #[error("reading the trace: {0}")]
    Read(io::Error),
    /// Writing the output (`--out`, per-access records) failed.
    #[error("{0}")]
    Write(io::Error),
}

impl From<Malformed> for TraceError {
    fn from(m: Malformed) -> Self {
        TraceError::Malformed(m)
    }
}

/// How to read a trace.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Its format.
    pub format: Format,
    /// The access of references that do not say (`bin`, text without a
    /// prefix).
    pub default_access: Access,
    /// Stop at the first malformed line.
    pub strict: bool,
}

/// Where a replay's output goes besides the counters.
pub struct Sinks<'a> {
    /// `--out`: the physical addresses of translated references, as `bin`
    /// records (or `bin-kind` when `with_kinds`).
    pub out: Option<(&'a mut dyn Write, bool)>,
    /// `--per-access`: hears every reference as it was translated (the
    /// caller renders it: one JSON record each).
    pub per_access: Option<&'a mut PerAccessHook<'a>>,
    /// Called after each chunk with the bytes read so far (progress bar).
    pub progress: &'a mut dyn FnMut(u64),
    /// `--frames`, `--curve`: every batch of references, before it is
    /// translated (demand paging over the virtual pages).
    pub pages: Option<&'a mut PagesHook<'a>>,
}

/// One reference as a replay translated it: what [`Sinks::per_access`]
/// hears.
#[derive(Clone, Copy, Debug)]
pub struct Translation<'m> {
    /// The mechanism's name.
    pub mechanism: &'m str,
    /// The virtual address.
    pub va: u64,
    /// The access.
    pub access: Access,
    /// Under segmentation: the segment and offset.
    pub split: Option<(u32, u64)>,
    /// The first byte's physical address, or the fault (every byte of the
    /// reference checked, as the counters check it).
    pub result: Result<crate::addr::PhysAddr, crate::fault::Fault>,
}

/// The hook of [`Sinks::per_access`].
pub type PerAccessHook<'a> = dyn FnMut(Translation<'_>) -> io::Result<()> + 'a;

/// The hook of [`Sinks::pages`]: hears every batch of addresses and kinds.
pub type PagesHook<'a> = dyn FnMut(&[u64], Accesses<'_>) + 'a;

/// What a replay found.
#[derive(Clone, Debug)]
pub struct Report {
    /// The counters.
    pub stats: Stats,
    /// The malformed lines skipped.
    pub bad: BadInput,
    /// Bytes of trace read.
    pub bytes: u64,
}

/// Runs `decoder` over every chunk of `input`, handing each batch to
/// `on_batch`; `progress` hears the bytes read after each chunk.
fn drive<D: Decoder>(
    input: &mut Input,
    format: Format,
    decoder: &mut D,
    bad: &mut BadInput,
    progress: &mut dyn FnMut(u64),
    on_batch: &mut impl FnMut(&[u64], Accesses<'_>) -> Result<(), TraceError>,
) -> Result<(), TraceError> {
    let unit = format.unit();
    // A file's length is known: refuse trailing bytes before any work.
    if let (input::Unit::Record(size), Some(len)) = (unit, input.len())
        && len % size as u64 != 0
    {
        let whole = len / size as u64 * size as u64;
        let tail = input.last_bytes((len - whole) as usize);
        return Err(binary::trailing_bytes(whole, &tail, size).into());
    }
    while let Some(chunk) = input.next_chunk(unit).map_err(TraceError::Read)? {
        decoder.decode(chunk, bad, on_batch)?;
        progress(input.consumed());
    }
    Ok(())
}

/// Calls `f` with the decoder for `opts.format`.
macro_rules! with_decoder {
    ($opts:expr, |$d:ident| $body:expr) => {
        match $opts.format {
            Format::Text => {
                let mut $d = TextDecoder::new($opts.default_access);
                $body
            }
            Format::Bin => {
                let mut $d = BinDecoder::new($opts.default_access);
                $body
            }
            Format::BinKind => {
                let mut $d = BinKindDecoder::new();
                $body
            }
            Format::Lackey => {
                let mut $d = LackeyDecoder::new();
                $body
            }
        }
    };
}

/// First pass of `--layout auto`: collects the addresses `input` touches,
/// telling `progress` how many bytes are read so far. Malformed lines are
/// ignored here (the replay reports them).
pub fn scan(
    input: &mut Input,
    opts: &Options,
    progress: &mut dyn FnMut(u64),
) -> Result<LayoutScan, TraceError> {
    let mut layout = LayoutScan::new();
    let mut bad = BadInput::default();
    with_decoder!(opts, |d| drive(
        input,
        opts.format,
        &mut d,
        &mut bad,
        progress,
        &mut |vas, acc| {
            layout.observe(vas, acc);
            Ok(())
        }
    ))?;
    Ok(layout)
}

/// A pass over every batch of references of `input` (OPT's first pass,
/// which collects the future), telling `progress` how many bytes are read
/// so far. Malformed lines are skipped (the replay reports them).
pub fn each_batch(
    input: &mut Input,
    opts: &Options,
    progress: &mut dyn FnMut(u64),
    f: &mut dyn FnMut(&[u64], Accesses<'_>),
) -> Result<(), TraceError> {
    let mut bad = BadInput::default();
    with_decoder!(opts, |d| drive(
        input,
        opts.format,
        &mut d,
        &mut bad,
        progress,
        &mut |vas, acc| {
            f(vas, acc);
            Ok(())
        }
    ))
}

/// Replays the trace in `input` through `mmu`: every reference is
/// translated, counted, and sent to the optional sinks.
///
/// Returns the counters, or the first error: a malformed line in a strict
/// run, trailing bytes of a binary trace, or an I/O error.
pub fn replay(
    mmu: &AnyMmu,
    input: &mut Input,
    opts: &Options,
    sinks: Sinks<'_>,
) -> Result<Report, TraceError> {
    match mmu {
        AnyMmu::Identity(m) => replay_parallel(m, input, opts, sinks),
        AnyMmu::Base(m) => replay_parallel(m, input, opts, sinks),
        AnyMmu::BaseBounds(m) => replay_parallel(m, input, opts, sinks),
        AnyMmu::Segmentation(m) => replay_parallel(m, input, opts, sinks),
        AnyMmu::Paging(m) => replay_parallel(m, input, opts, sinks),
        // A trace replays without the machine's memory: Sv39's tables are
        // not there, and every reference faults as unmapped.
        AnyMmu::Sv39(m) => replay_with(m, input, opts, sinks),
        AnyMmu::MultiLevel(m) => replay_with(m, input, opts, sinks),
    }
}

/// A mapped `bin` trace at least this long is shared between threads (only
/// when nothing but the counters hears the references: no `--out`,
/// `--per-access` or demand paging).
#[cfg(feature = "native")]
const PARALLEL_MIN_BYTES: u64 = 16 << 20;
/// At most this many replay threads.
#[cfg(feature = "native")]
const MAX_THREADS: usize = 8;

/// [`replay`] on every core the machine has, when the input allows: a
/// mapped `bin` file (fixed records, none malformed) counted without
/// sinks is shared by one thread per core, each taking chunks of whole
/// records in turn and translating and counting them with the same batch
/// loop; the counters merge. Anything else runs [`replay_with`] on one
/// thread. The answer is the same either way (a property test says so).
fn replay_parallel<M: Mechanism + Sync>(
    mmu: &M,
    input: &mut Input,
    opts: &Options,
    sinks: Sinks<'_>,
) -> Result<Report, TraceError> {
    #[cfg(feature = "native")]
    {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(MAX_THREADS);
        let eligible = sinks.out.is_none()
            && sinks.per_access.is_none()
            && sinks.pages.is_none()
            && opts.format == Format::Bin
            && input.len().is_some_and(|l| l >= PARALLEL_MIN_BYTES);
        if eligible
            && threads > 1
            && let Some(shared) = input.share_records(8, SHARE_BYTES)
        {
            return Ok(replay_shared(mmu, &shared, threads, opts, sinks.progress));
        }
    }
    replay_with(mmu, input, opts, sinks)
}

/// How many bytes a replay thread takes at a time from a shared file: small
/// enough that when one core is busy with other work, the thread on the
/// free core takes nearly all of the file (the threads never wait for one
/// another by more than one chunk), large enough that taking a chunk and
/// giving its pages back are paid rarely (100 times for the 800 MB trace
/// of `bench/trace_limit.sh`).
#[cfg(feature = "native")]
const SHARE_BYTES: usize = 8 << 20;

/// Counts a shared `bin` trace on `threads` threads (this one, which also
/// tells `progress`, and `threads - 1` more), each taking chunks in turn
/// until none is left, then merges the counters.
#[cfg(feature = "native")]
fn replay_shared<M: Mechanism + Sync>(
    mmu: &M,
    shared: &input::SharedRecords<'_>,
    threads: usize,
    opts: &Options,
    progress: &mut dyn FnMut(u64),
) -> Report {
    use std::sync::atomic::{AtomicU64, Ordering};
    let read = AtomicU64::new(0);
    let count = |progress: &mut dyn FnMut(u64)| {
        let mut stats = Stats::new(mmu.segment_count());
        let mut kept = Translated::with_capacity(0);
        let mut bad = BadInput::default();
        let mut decoder = BinDecoder::new(opts.default_access);
        while let Some(chunk) = shared.next_chunk() {
            let bytes = chunk.bytes();
            // Whole 8-byte records: a `bin` chunk has nothing malformed.
            let _ = decoder.decode(bytes, &mut bad, &mut |vas, acc| {
                translate_batch::<M, false>(mmu, vas, acc, &mut stats, &mut kept);
                Ok::<(), Malformed>(())
            });
            let n = bytes.len() as u64;
            progress(read.fetch_add(n, Ordering::Relaxed) + n);
        }
        stats
    };
    let mut stats = std::thread::scope(|s| {
        let others: Vec<_> = (1..threads)
            .map(|_| s.spawn(|| count(&mut |_| {})))
            .collect();
        let mut stats = count(progress);
        for h in others {
            // A replay thread only counts; should it ever panic, so does
            // the replay (never a silently partial count).
            let part = h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            stats.merge(&part);
        }
        stats
    });
    stats.settle();
    Report {
        stats,
        bad: BadInput {
            strict: opts.strict,
            ..BadInput::default()
        },
        bytes: shared.len() as u64,
    }
}

/// [`replay`] for one mechanism (the compiler makes one copy per mechanism
/// and format).
fn replay_with<M: Mechanism>(
    mmu: &M,
    input: &mut Input,
    opts: &Options,
    sinks: Sinks<'_>,
) -> Result<Report, TraceError> {
    let Sinks {
        mut out,
        mut per_access,
        progress,
        mut pages,
    } = sinks;
    let mut stats = Stats::new(mmu.segment_count());
    let mut bad = BadInput {
        strict: opts.strict,
        ..BadInput::default()
    };
    let mut kept = Translated::with_capacity(BATCH + 1);
    let mut bytes = Vec::with_capacity((BATCH + 1) * 9);
    let mechanism = mmu.mechanism();
    let simple = out.is_none() && per_access.is_none();
    with_decoder!(opts, |d| drive(
        input,
        opts.format,
        &mut d,
        &mut bad,
        progress,
        &mut |vas, acc| {
            if let Some(f) = pages.as_deref_mut() {
                f(vas, acc);
            }
            if simple {
                // The fast path: counting only.
                translate_batch::<M, false>(mmu, vas, acc, &mut stats, &mut kept);
                return Ok(());
            }
            if let Some(w) = per_access.as_deref_mut() {
                per_access_records(mmu, mechanism, vas, acc, w).map_err(TraceError::Write)?;
            }
            if let Some((w, with_kinds)) = out.as_mut() {
                kept.pas.clear();
                kept.accesses.clear();
                translate_batch::<M, true>(mmu, vas, acc, &mut stats, &mut kept);
                bytes.clear();
                if *with_kinds {
                    for (pa, a) in kept.pas.iter().zip(&kept.accesses) {
                        bytes.extend_from_slice(&binary::kind_record(*pa, *a));
                    }
                } else {
                    for pa in &kept.pas {
                        bytes.extend_from_slice(&pa.to_le_bytes());
                    }
                }
                w.write_all(&bytes).map_err(TraceError::Write)?;
            } else {
                translate_batch::<M, false>(mmu, vas, acc, &mut stats, &mut kept);
            }
            Ok(())
        }
    ))?;
    stats.settle();
    Ok(Report {
        stats,
        bad,
        bytes: input.consumed(),
    })
}

/// Tells `hook` each reference of the batch as translated.
fn per_access_records<M: Mechanism>(
    mmu: &M,
    mechanism: &str,
    vas: &[u64],
    acc: Accesses<'_>,
    hook: &mut PerAccessHook<'_>,
) -> io::Result<()> {
    for (i, &va) in vas.iter().enumerate() {
        let access = acc.kind(i);
        // Every byte of the reference, as the counters check it.
        let result = mmu.translate_span(
            PhysicalMemory::empty(),
            crate::VirtAddr::new(va),
            acc.size(i),
            access,
        );
        hook(Translation {
            mechanism,
            va,
            access,
            split: mmu.segment_and_offset(va),
            result,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mmu::BaseBounds;

    fn replay_bytes(data: &[u8], format: Format, strict: bool) -> Result<Report, TraceError> {
        let mmu = AnyMmu::BaseBounds(BaseBounds::new(1024, 1024, 16 * 1024).unwrap());
        let mut input = Input::stream(Box::new(io::Cursor::new(data.to_vec())));
        let opts = Options {
            format,
            default_access: Access::Read,
            strict,
        };
        let sinks = Sinks {
            out: None,
            per_access: None,
            progress: &mut |_| {},
            pages: None,
        };
        replay(&mmu, &mut input, &opts, sinks)
    }

    #[test]
    fn e7_text_trace_counts_valid_and_faulting_references() {
        let r = replay_bytes(b"100\nW 1000\n3072\nbogus\n", Format::Text, false).unwrap();
        assert_eq!(r.stats.references(), 3);
        assert_eq!(r.stats.valid, 2);
        assert_eq!(r.stats.of_access(Access::Write), 1);
        assert_eq!(r.bad.count, 1);
    }

    #[test]
    fn strict_replay_stops_with_the_line() {
        let e = replay_bytes(b"100\nbogus\n", Format::Text, true).unwrap_err();
        assert!(e.to_string().starts_with("line 2: "), "{e}");
    }

    #[test]
    fn streamed_binary_with_trailing_bytes_is_an_error() {
        let e = replay_bytes(&[0, 0, 0, 0, 0, 0, 0, 0, 1, 2], Format::Bin, false).unwrap_err();
        assert!(e.to_string().contains("byte offset 8"), "{e}");
    }

    #[cfg(feature = "native")]
    mod parallel {
        use super::*;
        use crate::mmu::Mmu;
        use crate::mmu::{Perms, Segment, Segmentation};
        use proptest::prelude::*;

        /// Counts `vas` as a mapped `bin` file shared by `threads` threads
        /// taking chunks of `chunk` records, and on one thread.
        fn both(mmu: &AnyMmu, vas: &[u64], threads: usize, chunk: usize) -> (Stats, Stats) {
            let mut f = tempfile_in_target();
            for va in vas {
                f.1.write_all(&va.to_le_bytes()).unwrap();
            }
            f.1.flush().unwrap();
            let opts = Options {
                format: Format::Bin,
                default_access: Access::Write,
                strict: false,
            };
            let one = {
                let mut input = Input::open(&f.0).unwrap();
                let sinks = Sinks {
                    out: None,
                    per_access: None,
                    progress: &mut |_| {},
                    pages: None,
                };
                replay(mmu, &mut input, &opts, sinks).unwrap().stats
            };
            let mut input = Input::open(&f.0).unwrap();
            let many = match input.share_records(8, chunk * 8) {
                // An empty file is not mapped: nothing to share.
                None if vas.is_empty() => Stats::new(one.segments.len()),
                None => panic!("a mapped bin file is shared"),
                Some(shared) => {
                    let mut last = 0;
                    let mut progress = |n: u64| {
                        assert!(n > last && n <= vas.len() as u64 * 8, "progress {n}");
                        last = n;
                    };
                    let r = match mmu {
                        AnyMmu::BaseBounds(m) => {
                            replay_shared(m, &shared, threads, &opts, &mut progress)
                        }
                        AnyMmu::Segmentation(m) => {
                            replay_shared(m, &shared, threads, &opts, &mut progress)
                        }
                        _ => unreachable!("the test uses two mechanisms"),
                    };
                    assert_eq!(r.bytes, vas.len() as u64 * 8);
                    r.stats
                }
            };
            let _ = std::fs::remove_file(&f.0);
            (one, many)
        }

        /// A fresh file under the target directory, removed by the caller.
        fn tempfile_in_target() -> (std::path::PathBuf, std::fs::File) {
            use std::sync::atomic::{AtomicU64, Ordering};
            static N: AtomicU64 = AtomicU64::new(0);
            let dir = std::env::temp_dir();
            let path = dir.join(format!(
                "vmlab-parallel-{}-{}.bin",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let f = std::fs::File::create(&path).unwrap();
            (path, f)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(24))]
            /// Shared between threads, in chunks of any size, or not, a
            /// trace counts the same.
            #[test]
            fn threads_count_what_one_thread_counts(
                vas in prop::collection::vec(0u64..1 << 17, 0..5000),
                threads in 1usize..5,
                chunk in prop_oneof![1usize..64, 64usize..4096, Just(1 << 20)],
                base in 0u64..1 << 16,
                bounds in 0u64..1 << 17,
            ) {
                let bb = AnyMmu::BaseBounds(BaseBounds::new(base, bounds, 1 << 18).unwrap());
                let seg = AnyMmu::Segmentation(
                    Segmentation::new(
                        17,
                        vec![
                            Segment::up(base, bounds.min(1 << 15), Perms::all()),
                            Segment::up(0, 0, Perms::empty()),
                            Segment::up(1 << 16, 1 << 14, Perms::R),
                            Segment::down(1 << 17, 1 << 12, Perms::all()),
                        ],
                        1 << 18,
                    )
                    .unwrap(),
                );
                for m in [bb, seg] {
                    let (one, many) = both(&m, &vas, threads, chunk);
                    prop_assert_eq!(one, many, "{}", m.mechanism());
                }
            }
        }
    }

    mod sized {
        use super::*;
        use crate::mmu::{Mmu, Perms, Segment, Segmentation};
        use proptest::prelude::*;

        /// The oracle: a reference of `size` bytes is valid when every
        /// byte translates, each one physical byte after the previous.
        fn every_byte(mmu: &AnyMmu, va: u64, size: u64, access: Access) -> bool {
            let first = mmu.translate(PhysicalMemory::empty(), crate::VirtAddr::new(va), access);
            let Ok(pa) = first else { return false };
            (1..size.max(1)).all(|i| {
                let Some(v) = va.checked_add(i) else {
                    return false;
                };
                mmu.translate(PhysicalMemory::empty(), crate::VirtAddr::new(v), access)
                    .is_ok_and(|p| Some(p.as_u64()) == pa.as_u64().checked_add(i))
            })
        }

        proptest! {
            /// A lackey replay counts as valid exactly the references whose
            /// every byte translates, under base and bounds and under
            /// segmentation (up and down segments, a gap, permissions).
            #[test]
            fn lackey_replay_checks_every_byte_of_a_reference(
                refs in proptest::collection::vec(
                    (0u64..0x5000, 0u64..=16, 0u8..4),
                    1..300,
                ),
            ) {
                let segmented = Segmentation::new(
                    14,
                    vec![
                        Segment::up(0x8000, 0x400, Perms::R | Perms::X),
                        Segment::up(0x9000, 0x7f0, Perms::R | Perms::W),
                        Segment::up(0, 0, Perms::empty()),
                        Segment::down(0xc000, 0x200, Perms::R | Perms::W),
                    ],
                    1 << 16,
                )
                .unwrap();
                let mmus = [
                    AnyMmu::BaseBounds(BaseBounds::new(0x1000, 0x3ff3, 1 << 16).unwrap()),
                    AnyMmu::Segmentation(segmented),
                ];
                let mut text = String::new();
                let mut expected = Vec::new();
                for &(va, size, kind) in &refs {
                    let (letter, accesses): (&str, &[Access]) = match kind {
                        0 => ("I ", &[Access::Fetch]),
                        1 => (" L", &[Access::Read]),
                        2 => (" S", &[Access::Write]),
                        _ => (" M", &[Access::Read, Access::Write]),
                    };
                    text.push_str(&format!("{letter} {va:x},{size}\n"));
                    for &a in accesses {
                        expected.push((va, size, a));
                    }
                }
                for mmu in &mmus {
                    let want = expected
                        .iter()
                        .filter(|&&(va, size, a)| every_byte(mmu, va, size, a))
                        .count() as u64;
                    let mut input = Input::stream(Box::new(io::Cursor::new(text.clone().into_bytes())));
                    let opts = Options {
                        format: Format::Lackey,
                        default_access: Access::Read,
                        strict: true,
                    };
                    let sinks = Sinks { out: None, per_access: None, progress: &mut |_| {}, pages: None };
                    let r = replay(mmu, &mut input, &opts, sinks).unwrap();
                    prop_assert_eq!(r.stats.references(), expected.len() as u64);
                    prop_assert_eq!(r.stats.valid, want);
                }
            }
        }
    }
}
