//! `vmlab malloc`: a drop-in for OSTEP's malloc.py (same flags, same
//! problems, same answers, byte for byte), driving the library's free-list
//! allocator; `--json` prints each operation and its answer as a record.

use super::{CliError, CmdResult};
use crate::heap::{Fit, Heap, ListOrder};
use crate::homework::malloc::{self, MallocConfig, Step};
use std::io::Write;

/// Flags of `vmlab malloc` (malloc.py's, in every optparse form).
#[derive(clap::Args, Debug)]
#[command(
    allow_negative_numbers = true,
    infer_long_args = true,
    args_override_self = true,
    after_help = "Example: vmlab malloc -s 3 -n 10 -p FIRST -l ADDRSORT -C -c"
)]
pub struct Args {
    /// The random seed.
    #[arg(
        short = 's',
        long = "seed",
        default_value = "0",
        allow_hyphen_values = true
    )]
    seed: String,
    /// Size of the heap.
    #[arg(
        short = 'S',
        long = "size",
        default_value = "100",
        allow_hyphen_values = true
    )]
    size: String,
    /// Base address of the heap.
    #[arg(
        short = 'b',
        long = "baseAddr",
        default_value = "1000",
        allow_hyphen_values = true
    )]
    base: String,
    /// Size of the header.
    #[arg(
        short = 'H',
        long = "headerSize",
        default_value = "0",
        allow_hyphen_values = true
    )]
    header: String,
    /// Align allocated units to size; -1 -> no alignment.
    #[arg(
        short = 'a',
        long = "alignment",
        default_value = "-1",
        allow_hyphen_values = true
    )]
    align: String,
    /// List search (BEST, WORST, FIRST; vmlab adds NEXT), any case.
    #[arg(short = 'p', long = "policy", default_value = "BEST")]
    policy: String,
    /// List order (ADDRSORT, SIZESORT+, SIZESORT-, INSERT-FRONT, INSERT-BACK).
    #[arg(short = 'l', long = "listOrder", default_value = "ADDRSORT")]
    order: String,
    /// Coalesce the free list.
    #[arg(short = 'C', long = "coalesce")]
    coalesce: bool,
    /// Number of random ops to generate.
    #[arg(
        short = 'n',
        long = "numOps",
        default_value = "10",
        allow_hyphen_values = true
    )]
    ops: String,
    /// Max alloc size.
    #[arg(
        short = 'r',
        long = "range",
        default_value = "10",
        allow_hyphen_values = true
    )]
    range: String,
    /// Percent of ops that are allocs.
    #[arg(
        short = 'P',
        long = "percentAlloc",
        default_value = "50",
        allow_hyphen_values = true
    )]
    percent: String,
    /// Instead of random, list of ops (+10,-0,etc).
    #[arg(
        short = 'A',
        long = "allocList",
        default_value = "",
        allow_hyphen_values = true
    )]
    list: String,
    /// Compute answers for me.
    #[arg(short = 'c', long = "compute")]
    compute: bool,
    /// Print each operation with its answer as one JSON record per line.
    #[arg(long)]
    json: bool,
    /// Ignored, as malloc.py ignores extra arguments.
    #[arg(hide = true)]
    extra: Vec<String>,
}

/// Reads an optparse `int` flag, erring as malloc.py's optparse does.
fn int(flag: &str, text: &str) -> Result<i128, CliError> {
    super::ostep::optparse_int_flag("malloc", flag, text)
}

fn non_negative(flag: &str, what: &str, value: i128) -> Result<u64, CliError> {
    u64::try_from(value).map_err(|_| {
        CliError::input(format!(
            "malloc: option {flag}: {what} must be >= 0 (got {value})"
        ))
    })
}

/// Stage two: raw flags -> a validated configuration.
fn configure(args: &Args) -> Result<MallocConfig, CliError> {
    let fit = Fit::parse(&args.policy).ok_or_else(|| {
        CliError::input(format!(
            "malloc: option -p: unknown policy '{}' (BEST, WORST, FIRST or NEXT)",
            args.policy
        ))
    })?;
    let order = ListOrder::parse(&args.order).ok_or_else(|| {
        CliError::input(format!(
            "malloc: option -l: unknown list order '{}' (ADDRSORT, SIZESORT+, SIZESORT-, INSERT-FRONT, INSERT-BACK)",
            args.order
        ))
    })?;
    let align = match int("-a", &args.align)? {
        -1 => None,
        a if a > 0 => Some(non_negative("-a", "alignment", a)?),
        a => {
            return Err(CliError::input(format!(
                "malloc: option -a: alignment must be -1 (none) or > 0 (got {a})"
            )));
        }
    };
    let list = if args.list.is_empty() {
        None
    } else {
        Some(malloc::parse_list(&args.list).map_err(|e| CliError::input(format!("malloc: {e}")))?)
    };
    Ok(MallocConfig {
        seed: int("-s", &args.seed)?,
        size: non_negative("-S", "the heap size", int("-S", &args.size)?)?,
        base: non_negative("-b", "the base address", int("-b", &args.base)?)?,
        header: non_negative("-H", "the header size", int("-H", &args.header)?)?,
        align,
        fit,
        order,
        coalesce: args.coalesce,
        ops: int("-n", &args.ops)?,
        range: int("-r", &args.range)?,
        percent_alloc: int("-P", &args.percent)?,
        list,
    })
}

/// Runs `vmlab malloc`.
pub fn run(args: Args, out: &mut dyn Write) -> CmdResult {
    let config = configure(&args)?;
    let heap = config
        .validate()
        .map_err(|e| CliError::input(format!("malloc: {e}")))?;
    if args.json {
        malloc::run(&config, heap, |step, heap| {
            json_step(out, &config, step, heap)
        })?;
    } else {
        header(out, &config, &args)?;
        let solve = args.compute;
        let random = config.list.is_none();
        malloc::run(&config, heap, |step, heap| {
            text_step(out, &config, step, heap, solve, random)
        })?;
    }
    Ok(0)
}

/// malloc.py's parameter block.
fn header(out: &mut dyn Write, c: &MallocConfig, args: &Args) -> std::io::Result<()> {
    let py_bool = |b: bool| if b { "True" } else { "False" };
    writeln!(out, "seed {}", c.seed)?;
    writeln!(out, "size {}", c.size)?;
    writeln!(out, "baseAddr {}", c.base)?;
    writeln!(out, "headerSize {}", c.header)?;
    writeln!(out, "alignment {}", c.align.map_or(-1, |a| a as i128))?;
    writeln!(out, "policy {}", c.fit.name())?;
    writeln!(out, "listOrder {}", c.order.name())?;
    writeln!(out, "coalesce {}", py_bool(c.coalesce))?;
    writeln!(out, "numOps {}", c.ops)?;
    writeln!(out, "range {}", c.range)?;
    writeln!(out, "percentAlloc {}", c.percent_alloc)?;
    writeln!(out, "allocList {}", args.list)?;
    writeln!(out, "compute {}", py_bool(args.compute))?;
    writeln!(out)
}

/// One operation as malloc.py prints it.
fn text_step(
    out: &mut dyn Write,
    c: &MallocConfig,
    step: &Step,
    heap: &Heap,
    solve: bool,
    random: bool,
) -> std::io::Result<()> {
    match *step {
        Step::Alloc {
            index,
            size,
            result,
        } => {
            write!(out, "ptr[{index}] = Alloc({size})")?;
            if solve {
                // malloc.py reports the block address in -A mode and the
                // address after the header in random mode (for a failure:
                // -1 + header, a quirk kept for byte-identical answers).
                let shown: i128 = match result {
                    Ok(a) => a.addr as i128,
                    Err(_) => -1,
                } + if random { c.header as i128 } else { 0 };
                let searched = match result {
                    Ok(a) => a.searched,
                    Err(e) => e.searched(),
                };
                writeln!(out, " returned {shown} (searched {searched} elements)")?;
            } else {
                writeln!(out, " returned ?")?;
            }
        }
        Step::Free { index, ok, .. } => {
            writeln!(out, "Free(ptr[{index}])")?;
            if solve {
                writeln!(out, "returned {}", if ok { 0 } else { -1 })?;
            } else {
                writeln!(out, "returned ?")?;
            }
        }
        Step::Skip { .. } => return writeln!(out, "Invalid Free: Skipping"),
    }
    if solve {
        dump(out, heap)?;
    } else if random {
        writeln!(out, "List? ")?;
    } else {
        writeln!(out, "List?")?;
    }
    writeln!(out)
}

/// `Free List [ Size N ]: [ addr:A sz:S ]...`
fn dump(out: &mut dyn Write, heap: &Heap) -> std::io::Result<()> {
    let list = heap.free_list();
    let mut line = Vec::with_capacity(24 + list.len() * 24);
    line.extend_from_slice(b"Free List [ Size ");
    let mut buf = itoa::Buffer::new();
    line.extend_from_slice(buf.format(list.len()).as_bytes());
    line.extend_from_slice(b" ]: ");
    for h in list {
        line.extend_from_slice(b"[ addr:");
        line.extend_from_slice(buf.format(h.addr).as_bytes());
        line.extend_from_slice(b" sz:");
        line.extend_from_slice(buf.format(h.size).as_bytes());
        line.extend_from_slice(b" ]");
    }
    line.push(b'\n');
    out.write_all(&line)
}

/// One operation as a JSON record, with the free list after it.
fn json_step(
    out: &mut dyn Write,
    c: &MallocConfig,
    step: &Step,
    heap: &Heap,
) -> std::io::Result<()> {
    use serde_json::json;
    let free_list: Vec<_> = heap
        .free_list()
        .iter()
        .map(|h| json!({"addr": h.addr, "size": h.size}))
        .collect();
    let record = match *step {
        Step::Alloc {
            index,
            size,
            result,
        } => match result {
            Ok(a) => json!({
                "kind": "alloc", "index": index, "size": size, "ok": true,
                "addr": a.addr, "payload": a.addr + c.header, "block_size": a.size,
                "searched": a.searched, "free_list": free_list,
            }),
            Err(e) => json!({
                "kind": "alloc", "index": index, "size": size, "ok": false,
                "addr": null, "searched": e.searched(), "reason": e.to_string(),
                "external_fragmentation": e.is_external_fragmentation(),
                "free_list": free_list,
            }),
        },
        Step::Free { index, addr, ok } => json!({
            "kind": "free", "index": index, "addr": addr, "ok": ok,
            "returned": if ok { 0 } else { -1 }, "free_list": free_list,
        }),
        Step::Skip { index } => json!({"kind": "skip", "index": index}),
    };
    writeln!(out, "{record}")
}
