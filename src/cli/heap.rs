//! `vmlab heap`: alloc/free requests on the library's free-list allocator
//! with a chosen fit policy, list order and coalescing, showing the memory
//! map, the free list and fragmentation after every step (lecture E3).
//!
//! The starting heap is one hole, or a `--layout` of named blocks and holes
//! in address order. `--what-if` tries each request alone on that starting
//! heap ("where would 12 bytes go?"); `--policy all` compares the policies.

use super::{CliError, CmdResult, parse_size_arg};
use crate::heap::layout::{self, Piece};
use crate::heap::{AllocError, Fit, Heap, HeapConfig, ListOrder};
use crate::render::heap as draw;
use crate::render::svg::heap as pic;
use serde_json::json;
use std::collections::HashMap;
use std::io::Write;

/// Flags of `vmlab heap`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Requests: NAME:SIZE allocates SIZE bytes as NAME, free:NAME frees it, a bare
SIZE allocates an unnamed block (named #1, #2, ...).

Lecture E3 (where do 12, 16, 24, 32 bytes go?):
  vmlab heap --layout free:16,A:12,free:24,B:16 --policy all --what-if 12 16 24 32
A sequence on a 100-byte heap:
  vmlab heap --size 100 --policy first A:20 B:30 free:A C:10

After each request the memory map and free list are drawn while the heap has
at most 64 pieces (blocks and holes); beyond, the step gives the counts and the
heap is drawn once after the last request.")]
pub struct Args {
    /// Heap size in bytes (default: the layout's total, or 100).
    #[arg(long, value_name = "SIZE")]
    size: Option<String>,
    /// Address of the heap's first byte.
    #[arg(long, default_value = "0", value_name = "ADDR")]
    base: String,
    /// Starting heap in address order: NAME:SIZE blocks and free:SIZE holes,
    /// e.g. free:16,A:12,free:24,B:16 (the rest of --size is a hole at the end).
    #[arg(long, value_name = "LAYOUT")]
    layout: Option<String>,
    /// The fit policy: first, best, worst, next (or first-fit, best-fit,
    /// ... as scenarios spell them), or all.
    #[arg(long, default_value = "best", value_name = "POLICY")]
    policy: String,
    /// Free-list order: addrsort, sizesort+, sizesort-, insert-front, insert-back.
    #[arg(long, default_value = "addrsort", value_name = "ORDER")]
    order: String,
    /// Merge neighbouring holes after each free.
    #[arg(long)]
    coalesce: bool,
    /// Header bytes in front of every block.
    #[arg(long, default_value = "0", value_name = "SIZE")]
    header: String,
    /// Round requests up to a multiple of this.
    #[arg(long, value_name = "SIZE")]
    align: Option<String>,
    /// Try each request alone on the starting heap instead of in sequence.
    #[arg(long)]
    what_if: bool,
    /// Print JSON records instead of text.
    #[arg(long)]
    json: bool,
    /// Also write the heap after every step as a picture to FILE (blocks
    /// and holes, the holes examined, the one chosen, coalescing).
    #[arg(long, value_name = "FILE")]
    svg: Option<std::path::PathBuf>,
    /// The requests.
    #[arg(value_name = "REQUEST")]
    requests: Vec<String>,
}

/// One request.
#[derive(Clone, Debug, PartialEq)]
enum Request {
    Alloc { name: String, size: u64 },
    Free { name: String },
}

fn parse_requests(items: &[String]) -> Result<Vec<Request>, CliError> {
    let mut unnamed = 0;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let where_ = format!("request {} ('{item}')", i + 1);
            if let Some(name) = item.strip_prefix("free:") {
                return if name.is_empty() {
                    Err(CliError::input(format!("{where_}: free:NAME needs a name")))
                } else {
                    Ok(Request::Free { name: name.into() })
                };
            }
            let (name, size) = match item.split_once(':') {
                Some((n, s)) if !n.is_empty() => (n.to_string(), s),
                Some(_) => return Err(CliError::input(format!("{where_}: the name is empty"))),
                None => {
                    unnamed += 1;
                    (format!("#{unnamed}"), item.as_str())
                }
            };
            let size = parse_size_arg(&where_, size)?;
            Ok(Request::Alloc { name, size })
        })
        .collect()
}

/// A layout: named blocks and holes. Each block's name is unique (a later
/// `free:NAME` must say which block it frees).
fn parse_layout(text: &str) -> Result<Vec<Piece>, CliError> {
    let mut seen = std::collections::HashMap::new();
    text.split(',')
        .enumerate()
        .map(|(i, item)| {
            let where_ = format!("--layout: piece {} ('{item}')", i + 1);
            let (name, size) = item.split_once(':').ok_or_else(|| {
                CliError::input(format!("{where_}: write NAME:SIZE or free:SIZE"))
            })?;
            if name != "free" {
                if let Some(first) = seen.insert(name.to_string(), i + 1) {
                    return Err(CliError::input(format!(
                        "{where_}: {name} is already the name of piece {first} (names must be unique)"
                    )));
                }
            }
            let size = parse_size_arg(&where_, size)?;
            if size == 0 {
                return Err(CliError::input(format!(
                    "{where_}: a piece needs at least 1 byte"
                )));
            }
            Ok(Piece {
                name: (name != "free").then(|| name.to_string()),
                size,
            })
        })
        .collect()
}

fn parse_fits(text: &str) -> Result<Vec<Fit>, CliError> {
    if text.eq_ignore_ascii_case("all") {
        return Ok(vec![Fit::First, Fit::Best, Fit::Worst]);
    }
    // Both spellings, as scenarios' `placement`: `first` and `first-fit`.
    let lower = text.to_ascii_lowercase();
    let name = lower.strip_suffix("-fit").unwrap_or(&lower);
    Fit::parse(name).map(|f| vec![f]).ok_or_else(|| {
        CliError::input(format!(
            "--policy: unknown policy '{text}' (first, best, worst, next or all; first-fit etc. too)"
        ))
    })
}

/// The starting heap for one policy, with the names of its blocks.
struct Start {
    heap: Heap,
    names: HashMap<u64, String>,
}

/// Builds the starting heap from the layout (the library's `heap::layout`).
fn build(base: u64, size: u64, config: HeapConfig, pieces: &[Piece]) -> Result<Start, CliError> {
    let (heap, named) = layout::build(base, size, config, pieces)
        .map_err(|e| CliError::input(format!("--layout: {e}")))?;
    Ok(Start {
        heap,
        names: named.into_iter().collect(),
    })
}

/// Runs `vmlab heap`.
pub fn run(args: Args, out: &mut dyn Write) -> CmdResult {
    if let Some(path) = &args.svg {
        super::write_svg(path, &svg(&args)?)?;
    }
    execute(&args, out, None)
}

/// The picture `--svg` writes: the heap after every step, one section per
/// policy (or, with `--what-if`, where each request would go). Bad flags
/// or requests are a [`CliError::Input`] as for `vmlab heap`.
pub fn svg(args: &Args) -> Result<String, CliError> {
    let mut sections = Vec::new();
    execute(args, &mut std::io::sink(), Some(&mut sections))?;
    let title = if args.what_if {
        "Heap: where would each request go?"
    } else {
        "Heap: the free list, step by step"
    };
    Ok(pic::svg(title, &sections))
}

/// Runs the requests, writing the text (or JSON) to `out` and, when
/// `pics` is given, the rows of the picture.
fn execute(
    args: &Args,
    out: &mut dyn Write,
    mut pics: Option<&mut Vec<pic::Section>>,
) -> CmdResult {
    let layout = match &args.layout {
        Some(t) => parse_layout(t)?,
        None => Vec::new(),
    };
    let layout_total = layout
        .iter()
        .try_fold(0u64, |acc, p| acc.checked_add(p.size))
        .ok_or_else(|| CliError::input("--layout: the pieces add up beyond 2^64"))?;
    let size = match &args.size {
        Some(s) => parse_size_arg("--size", s)?,
        None if layout.is_empty() => 100,
        None => layout_total,
    };
    if layout_total > size {
        return Err(CliError::input(format!(
            "--layout: the pieces take {layout_total} bytes but the heap has {size}"
        )));
    }
    let base = parse_size_arg("--base", &args.base)?;
    let order = ListOrder::parse(&args.order).ok_or_else(|| {
        CliError::input(format!(
            "--order: unknown order '{}' (addrsort, sizesort+, sizesort-, insert-front, insert-back)",
            args.order
        ))
    })?;
    let header = parse_size_arg("--header", &args.header)?;
    let align = match &args.align {
        Some(a) => match parse_size_arg("--align", a)? {
            0 => return Err(CliError::input("--align: must be at least 1")),
            n => Some(n),
        },
        None => None,
    };
    let fits = parse_fits(&args.policy)?;
    let requests = parse_requests(&args.requests)?;
    let config = |fit| HeapConfig {
        fit,
        order,
        coalesce: args.coalesce,
        header,
        align,
    };

    if args.what_if {
        let sizes: Vec<u64> = requests
            .iter()
            .map(|r| match r {
                Request::Alloc { size, .. } => Ok(*size),
                Request::Free { name } => Err(CliError::input(format!(
                    "--what-if: free:{name}: only allocation requests can be tried"
                ))),
            })
            .collect::<Result<_, _>>()?;
        let starts = fits
            .iter()
            .map(|&f| build(base, size, config(f), &layout).map(|s| (f, s)))
            .collect::<Result<Vec<_>, _>>()?;
        return what_if(out, &starts, &sizes, args.json, pics);
    }

    for (k, &fit) in fits.iter().enumerate() {
        let start = build(base, size, config(fit), &layout)?;
        if !args.json && k > 0 {
            writeln!(out)?;
        }
        sequence(out, start, &requests, args.json, pics.as_deref_mut())?;
    }
    Ok(0)
}

/// The heap's blocks and holes in address order, for the picture.
fn pieces(heap: &Heap, names: &HashMap<u64, String>) -> Vec<pic::Piece> {
    let header = heap.config().header;
    let mut v: Vec<pic::Piece> = heap
        .free_list()
        .iter()
        .map(|h| pic::Piece {
            start: h.addr,
            size: h.size,
            name: None,
            header: 0,
        })
        .collect();
    for (addr, size) in heap.allocations() {
        v.push(pic::Piece {
            start: addr,
            size,
            name: Some(names.get(&addr).cloned().unwrap_or_else(|| "used".into())),
            header,
        });
    }
    v.sort_by_key(|p| p.start);
    v
}

/// A picture row of `heap` as it stands.
/// Beyond [`MAX_DRAWN_PIECES`] pieces the row draws only its marks and the
/// summary (as the text does), unless `full`.
fn row(label: String, heap: &Heap, names: &HashMap<u64, String>, full: bool) -> pic::Row {
    if !full && !drawable(heap) {
        return pic::Row {
            label,
            summary: format!(
                "{} blocks and {}: drawn after the last request   {}",
                heap.block_count(),
                crate::render::counted(heap.free_list().len() as u64, "hole", "holes"),
                draw::summary(heap)
            ),
            ..pic::Row::default()
        };
    }
    pic::Row {
        label,
        pieces: pieces(heap, names),
        summary: format!(
            "free list {}   {}",
            draw::free_list(heap),
            draw::summary(heap)
        ),
        ..pic::Row::default()
    }
}

/// The holes a search examined and the one it chose, `(start, size)`.
type Marks = (Vec<(u64, u64)>, Option<(u64, u64)>);

/// What a search looked at and chose on the list `before`: `found` is the
/// address of the block handed out (the chosen hole's start), if any.
fn search_marks(before: &Heap, found: Option<u64>, searched: usize) -> Marks {
    let free = before.free_list();
    let chosen = found.and_then(|a| free.iter().position(|h| h.addr == a));
    (
        pic::examined(free, before.config().fit, searched, chosen),
        chosen.map(|c| (free[c].addr, free[c].size)),
    )
}

fn describe(heap: &Heap) -> String {
    let c = heap.config();
    format!(
        "{} bytes at {}, {} fit, {}, {}{}{}",
        heap.size(),
        heap.start(),
        c.fit.name().to_lowercase(),
        c.order.name(),
        if c.coalesce {
            "coalescing"
        } else {
            "no coalescing"
        },
        if c.header > 0 {
            format!(", header {}", c.header)
        } else {
            String::new()
        },
        c.align.map_or(String::new(), |a| format!(", align {a}"))
    )
}

/// The most pieces (blocks and holes) a step's memory map and free list
/// show. Beyond it a step says how many pieces there are instead, and the
/// whole heap is drawn once after the last request: drawing it after every
/// one would make the output grow with the square of the request count.
pub const MAX_DRAWN_PIECES: usize = 64;

/// Whether the heap is small enough to draw after every step.
fn drawable(heap: &Heap) -> bool {
    heap.free_list().len() + heap.block_count() <= MAX_DRAWN_PIECES
}

/// The map, free list and summary lines of a step (`label`: `start`, or the
/// request's number), the map and free list drawn only when `draw`.
fn state_lines(
    out: &mut dyn Write,
    heap: &Heap,
    names: &HashMap<u64, String>,
    label: &str,
    draw: bool,
) -> std::io::Result<()> {
    if draw {
        writeln!(out, "  {label:<11} {}", draw::memory_map(heap, names))?;
        writeln!(out, "  free list   {}", draw::free_list(heap))?;
    } else {
        writeln!(
            out,
            "  {label:<11} {} blocks and {}: more than {MAX_DRAWN_PIECES} pieces, drawn after the last request",
            heap.block_count(),
            crate::render::counted(heap.free_list().len() as u64, "hole", "holes"),
        )?;
    }
    writeln!(out, "              {}", draw::summary(heap))
}

/// The heap's JSON state fields; the free list only while the heap has at
/// most [`MAX_DRAWN_PIECES`] pieces (else `"free_list_drawn": false`).
fn state_json(heap: &Heap, full: bool) -> serde_json::Value {
    let mut v = draw::state_json(heap);
    if let Some(o) = v.as_object_mut().filter(|_| !full) {
        o.remove("free_list");
        o.insert("free_list_drawn".into(), json!(false));
    }
    v
}

/// Runs the requests in order on `start`, showing the heap after each.
fn sequence(
    out: &mut dyn Write,
    start: Start,
    requests: &[Request],
    json: bool,
    pics: Option<&mut Vec<pic::Section>>,
) -> CmdResult {
    let Start {
        mut heap,
        mut names,
    } = start;
    let mut rows = Vec::new();
    if pics.is_some() {
        rows.push(row("start".into(), &heap, &names, false));
    }
    let policy = heap.config().fit.name().to_lowercase();
    let mut by_name: HashMap<String, Option<u64>> =
        names.iter().map(|(a, n)| (n.clone(), Some(*a))).collect();
    if json {
        let mut r =
            json!({"kind": "start", "policy": policy, "base": heap.start(), "size": heap.size()});
        merge(&mut r, state_json(&heap, drawable(&heap)));
        writeln!(out, "{r}")?;
    } else {
        writeln!(out, "Heap: {}", describe(&heap))?;
        state_lines(out, &heap, &names, "start", drawable(&heap))?;
    }
    let mut elided = !drawable(&heap);
    for (i, req) in requests.iter().enumerate() {
        // The list before the step, for the holes the search examined:
        // kept only while the heap is small enough to draw (a copy per step
        // of a large heap would cost the square of the request count).
        let before = (pics.is_some() && drawable(&heap)).then(|| heap.clone());
        // For the picture: (address handed out, elements searched), or
        // the freed block (address, size).
        let mut searched: Option<(Option<u64>, usize)> = None;
        let mut freed_block: Option<(u64, u64)> = None;
        let (line, mut record) = match req {
            Request::Alloc { name, size } => {
                if by_name.get(name).is_some_and(|a| a.is_some()) {
                    return Err(CliError::input(format!(
                        "request {} ('{name}:{size}'): {name} is already allocated",
                        i + 1
                    )));
                }
                match heap.alloc(*size) {
                    Ok(a) => {
                        searched = Some((Some(a.addr), a.searched));
                        names.insert(a.addr, name.clone());
                        by_name.insert(name.clone(), Some(a.addr));
                        (
                            format!(
                                "alloc {name} ({size} bytes) -> {} ({} byte block, searched {})",
                                a.addr,
                                a.size,
                                crate::render::counted(a.searched as u64, "element", "elements"),
                            ),
                            json!({"kind": "alloc", "policy": policy, "name": name, "size": size, "ok": true,
                                   "addr": a.addr, "block_size": a.size, "searched": a.searched}),
                        )
                    }
                    Err(e) => {
                        searched = Some((None, e.searched()));
                        by_name.insert(name.clone(), None);
                        let why = if e.is_external_fragmentation() {
                            format!("{e}: external fragmentation")
                        } else {
                            e.to_string()
                        };
                        (
                            format!("alloc {name} ({size} bytes) -> FAILS: {why}"),
                            json!({"kind": "alloc", "policy": policy, "name": name, "size": size, "ok": false,
                                   "addr": null, "searched": e.searched(), "reason": e.to_string(),
                                   "external_fragmentation": e.is_external_fragmentation()}),
                        )
                    }
                }
            }
            Request::Free { name } => match by_name.get(name) {
                None => {
                    return Err(CliError::input(format!(
                        "request {} (free:{name}): nothing named {name} was allocated",
                        i + 1
                    )));
                }
                Some(None) => (
                    format!("free {name} -> nothing to free ({name} holds no block)"),
                    json!({"kind": "free", "policy": policy, "name": name, "ok": false, "addr": null}),
                ),
                Some(Some(addr)) => {
                    let addr = *addr;
                    let freed = heap.free(addr).map_err(CliError::input)?;
                    freed_block = Some((addr, freed));
                    names.remove(&addr);
                    by_name.insert(name.clone(), None);
                    (
                        format!("free {name} ({freed} bytes at {addr})"),
                        json!({"kind": "free", "policy": policy, "name": name, "ok": true,
                               "addr": addr, "size": freed}),
                    )
                }
            },
        };
        if pics.is_some() {
            let mut r = row(format!("{}. {line}", i + 1), &heap, &names, false);
            if let (Some((found, n)), Some(before)) = (searched, &before) {
                (r.examined, r.chosen) = search_marks(before, found, n);
            }
            if let Some((addr, size)) = freed_block.filter(|_| before.is_some()) {
                r.coalesced = heap
                    .free_list()
                    .iter()
                    .find(|h| h.addr <= addr && addr < h.end() && h.size > size)
                    .map(|h| (h.addr, h.size));
            }
            rows.push(r);
        }
        let draw_it = drawable(&heap);
        elided |= !draw_it;
        if json {
            merge(&mut record, state_json(&heap, draw_it));
            writeln!(out, "{record}")?;
        } else {
            writeln!(out, "{}. {line}", i + 1)?;
            state_lines(out, &heap, &names, "map", draw_it)?;
        }
    }
    if elided && !drawable(&heap) {
        // The heap after the last request, in full, once.
        if json {
            let mut r = json!({"kind": "end", "policy": policy});
            merge(&mut r, state_json(&heap, true));
            writeln!(out, "{r}")?;
        } else {
            writeln!(out, "end")?;
            writeln!(out, "  map         {}", draw::memory_map(&heap, &names))?;
            writeln!(out, "  free list   {}", draw::free_list(&heap))?;
        }
    }
    if let Some(p) = pics {
        if elided && !drawable(&heap) {
            rows.push(row("end".into(), &heap, &names, true));
        }
        p.push(pic::Section {
            title: describe(&heap),
            start: heap.start(),
            size: heap.size(),
            rows,
        });
    }
    Ok(0)
}

fn merge(into: &mut serde_json::Value, from: serde_json::Value) {
    if let (Some(a), serde_json::Value::Object(b)) = (into.as_object_mut(), from) {
        a.extend(b);
    }
}

/// Tries each size alone on each policy's starting heap.
fn what_if(
    out: &mut dyn Write,
    starts: &[(Fit, Start)],
    sizes: &[u64],
    json: bool,
    pics: Option<&mut Vec<pic::Section>>,
) -> CmdResult {
    if let Some(p) = pics {
        // One section per policy, one row per request tried alone.
        for (fit, start) in starts {
            let mut rows = vec![row("start".into(), &start.heap, &start.names, true)];
            for &size in sizes {
                let mut heap = start.heap.clone();
                let (label, found, n) = match heap.alloc(size) {
                    Ok(a) => {
                        let exact = heap.free_list().len() < start.heap.free_list().len();
                        (
                            format!(
                                "{size} bytes -> {}{}",
                                a.addr,
                                if exact { " (exact fit)" } else { "" }
                            ),
                            Some(a.addr),
                            a.searched,
                        )
                    }
                    Err(e) => (format!("{size} bytes -> fails: {e}"), None, e.searched()),
                };
                let mut r = row(label, &start.heap, &start.names, false);
                r.summary = String::new();
                (r.examined, r.chosen) = search_marks(&start.heap, found, n);
                rows.push(r);
            }
            p.push(pic::Section {
                title: format!("{} fit", fit.name().to_lowercase()),
                start: start.heap.start(),
                size: start.heap.size(),
                rows,
            });
        }
    }
    let first = &starts[0].1;
    if !json {
        writeln!(
            out,
            "Heap: {}",
            describe(&first.heap).split(", ").next().unwrap_or_default()
        )?;
        writeln!(
            out,
            "  map         {}",
            draw::memory_map(&first.heap, &first.names)
        )?;
        writeln!(out, "  free list   {}", draw::free_list(&first.heap))?;
        writeln!(out, "              {}", draw::summary(&first.heap))?;
        writeln!(out)?;
        write!(out, "  {:>8}", "request")?;
        for (fit, _) in starts {
            write!(
                out,
                "  {:>12}",
                format!("{} fit", fit.name().to_lowercase())
            )?;
        }
        writeln!(out)?;
    }
    let mut notes = Vec::new();
    for &size in sizes {
        if !json {
            write!(out, "  {size:>8}")?;
        }
        let mut failures = 0;
        let mut last_error = None;
        for (fit, start) in starts {
            let mut heap = start.heap.clone();
            let result = heap.alloc(size);
            if json {
                let r = match result {
                    Ok(a) => {
                        json!({"kind": "what-if", "policy": fit.name().to_lowercase(), "size": size,
                                    "ok": true, "addr": a.addr, "block_size": a.size, "searched": a.searched,
                               "exact_fit": heap.free_list().len() < start.heap.free_list().len()})
                    }
                    Err(e) => {
                        json!({"kind": "what-if", "policy": fit.name().to_lowercase(), "size": size,
                                     "ok": false, "addr": null, "reason": e.to_string(),
                                     "external_fragmentation": e.is_external_fragmentation()})
                    }
                };
                writeln!(out, "{r}")?;
                continue;
            }
            // An exact fit uses up its hole: the list gets shorter.
            let exact = heap.free_list().len() < start.heap.free_list().len();
            let cell = match result {
                Ok(a) if exact => format!("{} (exact)", a.addr),
                Ok(a) => a.addr.to_string(),
                Err(e) => {
                    failures += 1;
                    last_error = Some(e);
                    "fails".to_string()
                }
            };
            write!(out, "  {cell:>12}")?;
        }
        if !json {
            writeln!(out)?;
            if let Some(e) = last_error {
                let scope = if failures == starts.len() {
                    "every policy"
                } else {
                    "some policies"
                };
                let why = match e {
                    AllocError::NoFit {
                        largest_hole,
                        free_total,
                        ..
                    } if e.is_external_fragmentation() => format!(
                        "the largest hole is {largest_hole} bytes although {free_total} bytes are free (external fragmentation)"
                    ),
                    e => e.to_string(),
                };
                notes.push(format!("{size} fails under {scope}: {why}"));
            }
        }
    }
    for n in notes {
        writeln!(out, "  {n}")?;
    }
    Ok(0)
}
