//! `paging-policy.py`, the OSTEP page-replacement homework: a string of page
//! references (given, read from a file, or drawn at random) run through a
//! page cache of `-C` pages under a replacement policy, with a hit or a miss
//! and the victim for every reference.
//!
//! FIFO, LRU and OPT take their hits and victims from the kernel's
//! [`crate::kernel::replacement::Replacer`]. The rest reproduce
//! the original's own algorithms, artefacts included, so that the output
//! stays byte for byte the same:
//!
//! - `CLOCK` is not a clock: it draws frames at random (CPython's
//!   generator) and decrements saturating per-page counters (`-b` bits)
//!   until it finds one at zero. vmlab's own CLOCK moves a hand.
//! - `RAND` evicts the page at a random position of the page list, drawn
//!   by CPython's generator after the page string.
//! - `UNOPT` evicts the page used soonest; it, and OPT, break ties (pages
//!   never used again) by position in the list: OPT the last, UNOPT the
//!   first. Both use next-use indices (O(n log n)), not the original's scan
//!   of the future for every page at every miss.
//! - `MRU` (not in the original's `--help`) evicts the most recently used.
//!
//! Where the original crashes or answers nonsense, [`generate`] returns an
//! input error instead: a cache of 0 pages (IndexError) or fewer (never
//! evicts), no references (ZeroDivisionError), an entry that is not a
//! whole number, a missing file, negative pages.

use super::PyRandom;
use super::pyconv::python_int;
use super::pyvalue::push_fixed2;
use crate::kernel::replacement::{NextUse, PageMap, Policy, Replacer};
use std::collections::BTreeSet;
use std::io::{self, Write};

/// The most references a problem may have (the list, and OPT's next-use
/// indices, are kept in memory).
pub const MAX_REFERENCES: usize = 1 << 24;

/// The largest `-m`: page numbers are drawn as `int(maxpage * random())`,
/// exact in a double below 2^53.
pub const MAX_MAXPAGE: i128 = 1 << 53;

/// The original's flags, as typed (it prints them back as typed).
#[derive(Clone, Debug)]
pub struct Options {
    /// `-a`: comma-separated pages, or `-1` to draw them.
    pub addresses: String,
    /// `-f`: a file with one page a line (overrides `-a`).
    pub addressfile: String,
    /// `-n`: how many pages to draw.
    pub numaddrs: String,
    /// `-p`: the policy name.
    pub policy: String,
    /// `-b`: CLOCK's counter limit (an optparse int).
    pub clockbits: i128,
    /// `-C`: the cache size in pages.
    pub cachesize: String,
    /// `-m`: pages are drawn from `0..maxpage`.
    pub maxpage: String,
    /// `-s`: the seed.
    pub seed: String,
    /// `-N`: no per-reference trace.
    pub notrace: bool,
}

/// The original's policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropPolicy {
    /// `FIFO`.
    Fifo,
    /// `LRU`.
    Lru,
    /// `MRU` (works, but not in the original's help).
    Mru,
    /// `OPT`.
    Opt,
    /// `UNOPT`: the worst choice.
    Unopt,
    /// `RAND`.
    Rand,
    /// `CLOCK`, the original's randomised counter version.
    Clock,
}

impl DropPolicy {
    /// The policy named exactly (case matters, as in the original).
    pub fn parse(name: &str) -> Option<DropPolicy> {
        Some(match name {
            "FIFO" => DropPolicy::Fifo,
            "LRU" => DropPolicy::Lru,
            "MRU" => DropPolicy::Mru,
            "OPT" => DropPolicy::Opt,
            "UNOPT" => DropPolicy::Unopt,
            "RAND" => DropPolicy::Rand,
            "CLOCK" => DropPolicy::Clock,
            _ => return None,
        })
    }

    /// The labels of the two ends of the printed page list.
    pub fn ends(self) -> (&'static str, &'static str) {
        match self {
            DropPolicy::Fifo => ("FirstIn", "Lastin "),
            DropPolicy::Lru | DropPolicy::Mru => ("LRU", "MRU"),
            _ => ("Left ", "Right"),
        }
    }
}

/// A generated problem.
#[derive(Clone, Debug)]
pub struct Problem {
    /// The page references.
    pub refs: Vec<u64>,
    /// `-C`, at least 1.
    pub cachesize: u64,
    /// The seed.
    pub seed: i128,
    /// The generator after drawing the pages (RAND and CLOCK go on with it).
    pub rng: PyRandom,
}

/// Reads `int(text)` of a flag the original reads with `int()`.
fn int_of(flag: &str, text: &str) -> Result<i128, String> {
    python_int(text, 10).ok_or_else(|| format!("{flag}: '{text}' is not a whole number"))
}

/// One entry of a page list: a whole number, 0 or more.
fn page_of(text: &str, place: &dyn Fn() -> String) -> Result<u64, String> {
    let n = python_int(text, 10).ok_or_else(|| {
        if text.trim().is_empty() {
            format!("{}: empty entry (expected a page number)", place())
        } else {
            format!("{}: '{}' is not a page number", place(), text.trim())
        }
    })?;
    u64::try_from(n).map_err(|_| {
        format!(
            "{}: page {n} is negative (pages are numbered from 0)",
            place()
        )
    })
}

/// Draws or reads the page string as the original does.
///
/// Returns `Err` (one line; vmlab exits 2) for numbers that are not whole,
/// a cache of fewer than 1 page, no references, list or file entries that
/// are empty, malformed or negative, a file that cannot be read, `-m`
/// below 0 or above [`MAX_MAXPAGE`], and more than [`MAX_REFERENCES`].
pub fn generate(opts: &Options) -> Result<Problem, String> {
    let numaddrs = int_of("-n", &opts.numaddrs)?;
    let cachesize = int_of("-C", &opts.cachesize)?;
    let maxpage = int_of("-m", &opts.maxpage)?;
    let seed = int_of("-s", &opts.seed)?;
    if cachesize < 1 {
        return Err(format!(
            "-C: a cache of {cachesize} pages cannot hold a page (need at least 1)"
        ));
    }
    let cachesize = u64::try_from(cachesize).unwrap_or(u64::MAX);
    let mut rng = PyRandom::new(seed);
    let mut refs = Vec::new();
    if !opts.addressfile.is_empty() {
        let path = &opts.addressfile;
        let text = std::fs::read_to_string(path).map_err(|e| format!("-f {path}: {e}"))?;
        // Python's universal newlines: \n, \r\n and \r end a line.
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        for (i, line) in text.split_inclusive('\n').enumerate() {
            if refs.len() == MAX_REFERENCES {
                return Err(format!(
                    "{path}: more than {MAX_REFERENCES} references (the most vmlab keeps)"
                ));
            }
            refs.push(page_of(line, &|| format!("{path}:{}", i + 1))?);
        }
        if refs.is_empty() {
            return Err(format!("{path}: no page references in the file"));
        }
    } else if opts.addresses == "-1" {
        if numaddrs < 1 {
            return Err(format!(
                "-n: {numaddrs} references: nothing to simulate (need at least 1)"
            ));
        }
        if numaddrs > MAX_REFERENCES as i128 {
            return Err(format!(
                "-n: {numaddrs} references is more than the {MAX_REFERENCES} vmlab keeps"
            ));
        }
        if !(0..=MAX_MAXPAGE).contains(&maxpage) {
            return Err(format!(
                "-m: max page {maxpage} must be between 0 and 2^53 (pages are numbered from 0)"
            ));
        }
        let m = maxpage as f64;
        for _ in 0..numaddrs {
            refs.push((m * rng.random()) as u64);
        }
    } else {
        for (i, entry) in opts.addresses.split(',').enumerate() {
            if refs.len() == MAX_REFERENCES {
                return Err(format!(
                    "-a: more than {MAX_REFERENCES} references (the most vmlab keeps)"
                ));
            }
            refs.push(page_of(entry, &|| format!("-a entry {}", i + 1))?);
        }
    }
    Ok(Problem {
        refs,
        cachesize,
        seed,
        rng,
    })
}

/// Writes the `ARG` lines.
pub fn write_header(opts: &Options, out: &mut dyn Write) -> io::Result<()> {
    write!(
        out,
        "ARG addresses {}\nARG addressfile {}\nARG numaddrs {}\nARG policy {}\nARG clockbits {}\nARG cachesize {}\nARG maxpage {}\nARG seed {}\nARG notrace {}\n\n",
        opts.addresses,
        opts.addressfile,
        opts.numaddrs,
        opts.policy,
        opts.clockbits,
        opts.cachesize,
        opts.maxpage,
        opts.seed,
        if opts.notrace { "True" } else { "False" }
    )
}

/// Writes the problem without answers (no `-c`).
pub fn write_questions(opts: &Options, problem: &Problem, out: &mut dyn Write) -> io::Result<()> {
    write!(
        out,
        "Assuming a replacement policy of {}, and a cache of size {} pages,\nfigure out whether each of the following page references hit or miss\nin the page cache.\n\n",
        opts.policy, problem.cachesize
    )?;
    let mut buf = Vec::with_capacity(64 * problem.refs.len().min(1 << 16));
    for &p in &problem.refs {
        writeln!(buf, "Access: {p}  Hit/Miss?  State of Memory?")?;
        if buf.len() > 1 << 16 {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    buf.push(b'\n');
    out.write_all(&buf)
}

/// One reference, solved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// The page referenced.
    pub page: u64,
    /// It was in the cache.
    pub hit: bool,
    /// The page evicted to make room, if any.
    pub victim: Option<u64>,
    /// Hits so far (this one included).
    pub hits: u64,
    /// Misses so far (this one included).
    pub misses: u64,
}

/// The policy's state.
#[derive(Clone, Debug)]
enum Engine {
    /// FIFO, LRU and OPT: the kernel's replacer.
    Kernel(Box<Replacer>),
    /// MRU: the resident pages and the page used last (always resident,
    /// at the MRU end of the list).
    Mru { resident: PageMap<()>, last: u64 },
    /// UNOPT: (next use, load order) of each resident page, in order.
    Unopt {
        future: NextUse,
        keys: PageMap<(u64, u64)>,
        order: BTreeSet<(u64, u64, u64)>,
        loads: u64,
    },
    /// RAND and CLOCK: the original's list is the state (positions are
    /// drawn), with CLOCK's counters.
    Listed {
        resident: PageMap<()>,
        counters: PageMap<i128>,
    },
}

/// Runs a problem reference by reference, keeping the original's page list
/// when asked (for printing) or when the policy needs it (RAND, CLOCK).
#[derive(Clone, Debug)]
pub struct Simulation {
    policy: DropPolicy,
    refs: Vec<u64>,
    cachesize: u64,
    clockbits: i128,
    rng: PyRandom,
    engine: Engine,
    /// The original's `memory` list, when kept.
    list: Option<Vec<u64>>,
    index: usize,
    hits: u64,
    misses: u64,
}

impl Simulation {
    /// Starts the problem under `policy`; `keep_list` keeps the page list in
    /// the original's order for [`Simulation::memory`].
    pub fn new(problem: Problem, policy: DropPolicy, clockbits: i128, keep_list: bool) -> Self {
        // More frames than references never fill: the same answers.
        let frames = problem.cachesize.min(problem.refs.len().max(1) as u64);
        let kernel = |p| {
            Engine::Kernel(Box::new(
                Replacer::new(p, frames).expect("1 <= frames <= 2^24"),
            ))
        };
        let engine = match policy {
            DropPolicy::Fifo => kernel(Policy::Fifo),
            DropPolicy::Lru => kernel(Policy::Lru),
            DropPolicy::Opt => kernel(Policy::Opt(NextUse::from_refs(&problem.refs))),
            DropPolicy::Mru => Engine::Mru {
                resident: PageMap::default(),
                last: 0,
            },
            DropPolicy::Unopt => Engine::Unopt {
                future: NextUse::from_refs(&problem.refs),
                keys: PageMap::default(),
                order: BTreeSet::new(),
                loads: 0,
            },
            DropPolicy::Rand | DropPolicy::Clock => Engine::Listed {
                resident: PageMap::default(),
                counters: PageMap::default(),
            },
        };
        let listed = matches!(engine, Engine::Listed { .. });
        Simulation {
            policy,
            refs: problem.refs,
            cachesize: frames,
            clockbits,
            rng: problem.rng,
            engine,
            list: (keep_list || listed).then(Vec::new),
            index: 0,
            hits: 0,
            misses: 0,
        }
    }

    /// The pages in memory, in the original's list order (only when kept).
    pub fn memory(&self) -> Option<&[u64]> {
        self.list.as_deref()
    }

    /// Hits and misses so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.hits, self.misses)
    }

    /// Solves the next reference; `None` after the last.
    pub fn step(&mut self) -> Option<Step> {
        let page = *self.refs.get(self.index)?;
        let now = self.index;
        self.index += 1;
        let (hit, victim) = match &mut self.engine {
            Engine::Kernel(r) => {
                let a = r.access(page, false);
                (a.hit, a.victim.map(|v| v.page))
            }
            Engine::Mru { resident, last } => {
                let hit = resident.contains_key(&page);
                let mut victim = None;
                if !hit {
                    if resident.len() as u64 == self.cachesize {
                        resident.remove(last);
                        victim = Some(*last);
                    }
                    resident.insert(page, ());
                }
                *last = page;
                (hit, victim)
            }
            Engine::Unopt {
                future,
                keys,
                order,
                loads,
            } => {
                let next = future.after(now);
                if let Some(key) = keys.get_mut(&page) {
                    order.remove(&(key.0, key.1, page));
                    key.0 = next;
                    order.insert((key.0, key.1, page));
                    (true, None)
                } else {
                    let mut victim = None;
                    if keys.len() as u64 == self.cachesize {
                        // The reference used soonest; ties (never used
                        // again) to the first in the list.
                        let (_, _, v) = order.pop_first().expect("a full cache");
                        keys.remove(&v);
                        victim = Some(v);
                    }
                    keys.insert(page, (next, *loads));
                    order.insert((next, *loads, page));
                    *loads += 1;
                    (false, victim)
                }
            }
            Engine::Listed { resident, counters } => {
                let list = self.list.as_mut().expect("RAND and CLOCK keep the list");
                let hit = resident.contains_key(&page);
                let mut victim = None;
                if !hit {
                    if list.len() as u64 == self.cachesize {
                        let count = list.len() as f64;
                        let at = if self.policy == DropPolicy::Rand {
                            (self.rng.random() * count) as usize
                        } else {
                            // The original's "clock": random frames, each
                            // counter above zero loses one.
                            loop {
                                let at = (self.rng.random() * count) as usize;
                                let c = counters.get_mut(&list[at]).expect("counted");
                                if *c >= 1 {
                                    *c -= 1;
                                } else {
                                    break at;
                                }
                            }
                        };
                        let v = list.remove(at);
                        resident.remove(&v);
                        counters.remove(&v);
                        victim = Some(v);
                    }
                    resident.insert(page, ());
                    list.push(page);
                }
                // The counter goes up by one per reference, saturating at
                // the clock bits (a first reference sets it to 1).
                let limit = self.clockbits;
                counters
                    .entry(page)
                    .and_modify(|c| *c = (*c + 1).min(limit))
                    .or_insert(1);
                (hit, victim)
            }
        };
        if hit {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        // The original's list, for the other policies.
        if let (Some(list), false) = (&mut self.list, matches!(self.engine, Engine::Listed { .. }))
        {
            if let Some(v) = victim {
                let at = list.iter().position(|&p| p == v).expect("victim listed");
                list.remove(at);
            }
            let moves = matches!(self.policy, DropPolicy::Lru | DropPolicy::Mru);
            if hit && moves {
                let at = list.iter().position(|&p| p == page).expect("hit listed");
                list.remove(at);
                list.push(page);
            } else if !hit {
                list.push(page);
            }
        }
        Some(Step {
            page,
            hit,
            victim,
            hits: self.hits,
            misses: self.misses,
        })
    }
}

/// Appends Python's `str()` of a list of ints: `[1, 2, 3]`.
pub fn push_list(out: &mut Vec<u8>, pages: &[u64]) {
    out.push(b'[');
    let mut buf = itoa::Buffer::new();
    for (i, &p) in pages.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(buf.format(p).as_bytes());
    }
    out.push(b']');
}

/// The hit rate in percent, as `%.2f`.
pub fn push_hitrate(out: &mut Vec<u8>, hits: u64, misses: u64) {
    push_fixed2(out, 100.0 * hits as f64 / (hits as f64 + misses as f64));
}

/// Writes the whole output of the original and returns its exit code:
/// the questions without `solve` (`-c`), the solved trace and the final
/// statistics with it, or for an unknown policy with `-c` its "not yet
/// implemented" line (exit 1).
pub fn write_text(
    opts: &Options,
    problem: Problem,
    solve: bool,
    out: &mut dyn Write,
) -> io::Result<u8> {
    write_header(opts, out)?;
    if !solve {
        write_questions(opts, &problem, out)?;
        return Ok(0);
    }
    if !opts.notrace {
        out.write_all(b"Solving...\n\n")?;
    }
    let Some(policy) = DropPolicy::parse(&opts.policy) else {
        writeln!(out, "Policy {} is not yet implemented", opts.policy)?;
        return Ok(1);
    };
    let (left, right) = policy.ends();
    let mut sim = Simulation::new(problem, policy, opts.clockbits, !opts.notrace);
    let mut buf = Vec::with_capacity(1 << 16);
    let mut num = itoa::Buffer::new();
    let mut list = Vec::new();
    while let Some(step) = sim.step() {
        if opts.notrace {
            continue;
        }
        buf.extend_from_slice(b"Access: ");
        buf.extend_from_slice(num.format(step.page).as_bytes());
        buf.extend_from_slice(if step.hit { b"  HIT  " } else { b"  MISS " });
        buf.extend_from_slice(left.as_bytes());
        buf.extend_from_slice(b" -> ");
        list.clear();
        push_list(&mut list, sim.memory().unwrap_or_default());
        buf.resize(buf.len() + 12usize.saturating_sub(list.len()), b' ');
        buf.extend_from_slice(&list);
        buf.extend_from_slice(b" <- ");
        buf.extend_from_slice(right.as_bytes());
        buf.extend_from_slice(b" Replaced:");
        match step.victim {
            Some(v) => buf.extend_from_slice(num.format(v).as_bytes()),
            None => buf.push(b'-'),
        }
        buf.extend_from_slice(b" [Hits:");
        buf.extend_from_slice(num.format(step.hits).as_bytes());
        buf.extend_from_slice(b" Misses:");
        buf.extend_from_slice(num.format(step.misses).as_bytes());
        buf.extend_from_slice(b"]\n");
        if buf.len() > 1 << 16 {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    let (hits, misses) = sim.counts();
    buf.extend_from_slice(b"\nFINALSTATS hits ");
    buf.extend_from_slice(num.format(hits).as_bytes());
    buf.extend_from_slice(b"   misses ");
    buf.extend_from_slice(num.format(misses).as_bytes());
    buf.extend_from_slice(b"   hitrate ");
    push_hitrate(&mut buf, hits, misses);
    buf.extend_from_slice(b"\n\n");
    out.write_all(&buf)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(addresses: &str, policy: &str, cachesize: &str) -> Options {
        Options {
            addresses: addresses.into(),
            addressfile: String::new(),
            numaddrs: "10".into(),
            policy: policy.into(),
            clockbits: 2,
            cachesize: cachesize.into(),
            maxpage: "10".into(),
            seed: "0".into(),
            notrace: false,
        }
    }

    fn victims(o: &Options) -> Vec<Option<u64>> {
        let p = generate(o).unwrap();
        let mut sim = Simulation::new(p, DropPolicy::parse(&o.policy).unwrap(), 2, true);
        std::iter::from_fn(|| sim.step())
            .map(|s| s.victim)
            .collect()
    }

    #[test]
    fn seed_0_draws_the_originals_pages() {
        let p = generate(&opts("-1", "FIFO", "3")).unwrap();
        assert_eq!(p.refs, [8, 7, 4, 2, 5, 4, 7, 3, 4, 5]);
    }

    #[test]
    fn opt_breaks_ties_to_the_last_and_unopt_to_the_first() {
        // 1, 2, 3 loaded, none used again: OPT evicts 3, UNOPT 1.
        assert_eq!(victims(&opts("1,2,3,4", "OPT", "3"))[3], Some(3));
        assert_eq!(victims(&opts("1,2,3,4", "UNOPT", "3"))[3], Some(1));
        // UNOPT evicts the page used soonest.
        assert_eq!(victims(&opts("1,2,3,4,2,3,1", "UNOPT", "3"))[3], Some(2));
    }

    #[test]
    fn mru_evicts_the_page_used_last() {
        assert_eq!(victims(&opts("1,2,3,1,4", "MRU", "3"))[4], Some(1));
    }

    #[test]
    fn bad_input_is_refused() {
        let err = |o: Options| generate(&o).unwrap_err();
        assert!(err(opts("1,2", "FIFO", "0")).contains("-C"));
        assert!(err(opts("1,2", "FIFO", "-3")).contains("-C"));
        assert!(err(opts("1,,2", "FIFO", "3")).contains("-a entry 2: empty"));
        assert!(err(opts("1,x", "FIFO", "3")).contains("'x'"));
        assert!(err(opts("1,-4", "FIFO", "3")).contains("negative"));
        let mut o = opts("-1", "FIFO", "3");
        o.numaddrs = "0".into();
        assert!(err(o).contains("-n"));
        let mut o = opts("-1", "FIFO", "3");
        o.maxpage = "-5".into();
        assert!(err(o).contains("-m"));
        let mut o = opts("-1", "FIFO", "3");
        o.addressfile = "/nonexistent/pages.txt".into();
        assert!(err(o).contains("/nonexistent/pages.txt"));
    }
}
