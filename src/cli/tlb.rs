//! `vmlab tlb-measure`: the TLB chapter's measurement, on vmlab's CPU.
//!
//! OSTEP's TLB chapter asks students to write `tlb.c`: touch one integer on
//! each of N pages, many times over, and plot the time per access as N
//! grows; the curve steps up where the N pages no longer fit in a level of
//! the TLB. This command runs that program (`examples/tlb/tlb.s`, built
//! into vmlab) under RISC-V Sv39 with simulated TLBs — an instruction TLB,
//! a data TLB and optionally a second level behind both — for N = 1, 2, 4,
//! ... pages (and one past each TLB's size, where a step must begin), and
//! prices each run with the cost model:
//!
//! ```text
//!   time per access = data access (L1 cache)
//!                   + (second-level TLB lookups x L2-cache latency
//!                      + page-table walks x 3 entries x DRAM latency) / accesses
//! ```
//!
//! The counts are the run's own: the TLBs' hits and misses and the MMU's
//! walks. On a real machine the same program measures time with a clock,
//! and caches, prefetchers and page-walk caches blur the steps; here every
//! cost is the table's, so the steps fall exactly at the configured sizes.

use super::{CliError, CmdResult, parse_size_arg};
use crate::asm::{Options, assemble_with_data_at};
use crate::cost::CostModel;
use crate::cpu::NoObserver;
use crate::cpu::registers::reg;
use crate::machine::{Config, Machine, MmuKind, Outcome};
use crate::mmu::{AnyMmu, TlbConfig, TlbStats, sv39};
use crate::render::svg::tlb_curve::{TlbCurve, TlbLevelMark};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;

/// The measurement program, as shipped in `examples/tlb/tlb.s`.
pub const PROGRAM: &str = include_str!("../../examples/tlb/tlb.s");

/// At most this many pages in one run (256 MiB of touched memory).
pub const MAX_PAGES: u64 = 1 << 16;
/// At most this many accesses over the whole sweep.
pub const MAX_ACCESSES: u64 = 200_000_000;

/// Flags of `vmlab tlb-measure`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  vmlab tlb-measure
  vmlab tlb-measure --dtlb 64,4 --l2 512 --max-pages 2048 --svg tlb.svg
  vmlab tlb-measure --dtlb 32 --json

Each line is one run of examples/tlb/tlb.s (N pages, LOOPS times) on the
CPU under Sv39. The time per access is the cost model's: the data from the
L1 cache, a second-level TLB lookup at the L2 cache's latency, each of a
walk's three page-table entries from DRAM.

Exit code: 0; 2 bad input.")]
pub struct Args {
    /// The first-level data TLB: ENTRIES[,WAYS[,POLICY]] (WAYS a number,
    /// full or direct; POLICY lru, fifo, random or clock).
    #[arg(long, default_value = "16", value_name = "SPEC")]
    dtlb: String,
    /// The first-level instruction TLB (same form).
    #[arg(long, default_value = "16", value_name = "SPEC")]
    itlb: String,
    /// A second-level TLB behind both (same form), or `off`.
    #[arg(long, default_value = "off", value_name = "SPEC")]
    l2: String,
    /// The largest N (pages); default four times the largest TLB.
    #[arg(long, value_name = "N")]
    max_pages: Option<String>,
    /// How many times each run walks its N pages.
    #[arg(long, default_value = "1000", value_name = "LOOPS")]
    loops: String,
    /// JSON lines instead of the table.
    #[arg(long)]
    json: bool,
    /// Also draw the curve, as an SVG picture, into FILE.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
}

/// One run's counts and price.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// N, the pages touched.
    pub pages: u64,
    /// Loads of the loop (N x LOOPS).
    pub accesses: u64,
    /// The data TLB's counters.
    pub dtlb: TlbStats,
    /// The second-level TLB's counters (zero without one).
    pub l2: TlbStats,
    /// Page-table walks of the whole run.
    pub walks: u64,
    /// Time per access in nanoseconds.
    pub ns_per_access: f64,
}

/// What to measure.
#[derive(Clone, Debug)]
pub struct Setup {
    /// The data TLB.
    pub dtlb: TlbConfig,
    /// The instruction TLB.
    pub itlb: TlbConfig,
    /// The second-level TLB, if any.
    pub l2: Option<TlbConfig>,
    /// Loops per run.
    pub loops: u64,
    /// The cost model.
    pub cost: CostModel,
}

fn tlb_flag(flag: &str, spec: &str) -> Result<TlbConfig, CliError> {
    TlbConfig::parse(spec).map_err(|e| CliError::input(format!("{flag} {spec}: {e}")))
}

/// The N of the sweep: powers of two up to `max`, and each TLB's size and
/// one past it (where a step begins).
pub fn sweep(max: u64, sizes: &[u64]) -> Vec<u64> {
    let mut ns: Vec<u64> = std::iter::successors(Some(1u64), |n| n.checked_mul(2))
        .take_while(|&n| n <= max)
        .collect();
    for &s in sizes {
        ns.extend([s, s + 1].into_iter().filter(|&n| n >= 1 && n <= max));
    }
    ns.sort_unstable();
    ns.dedup();
    ns
}

/// Runs the program over `pages` pages under `setup` and prices it.
///
/// Fails (with the reason) only when the machine cannot be built or the
/// program does not finish as it should.
pub fn measure(setup: &Setup, pages: u64) -> Result<Point, String> {
    let program = assemble_with_data_at(
        PROGRAM,
        "examples/tlb/tlb.s",
        &Options { text_base: 0 },
        None,
    )
    .map_err(|e| e.to_string())?;
    let bytes = pages * sv39::PAGE_SIZE;
    // Room for the program, the pages, the stack and the tables.
    let space = (bytes + (1 << 20)).next_power_of_two();
    let config = Config {
        mmu: MmuKind::Sv39,
        base: 0x1000,
        phys_mem: (2 * bytes + (16 << 20)).next_power_of_two(),
        space: Some(space),
        tlb: Some(setup.dtlb),
    };
    let mut machine = Machine::new(&program, &config)?;
    if let AnyMmu::Sv39(m) = &mut machine.mmu {
        let mut with = m.clone().with_itlb(setup.itlb);
        if let Some(l2) = setup.l2 {
            with = with.with_l2_tlb(l2);
        }
        *m = with;
    }
    machine.cpu.regs.set(reg::A0, pages);
    machine.cpu.regs.set(reg::A1, setup.loops);
    let limit = (4 * pages + 8) * setup.loops + 1000;
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let outcome = machine
        .run(limit, &mut out, &mut err, &mut NoObserver)
        .map_err(|e| e.to_string())?;
    if outcome != Outcome::Exited(0) {
        return Err(format!(
            "the measurement program did not finish: {outcome:?}"
        ));
    }
    let AnyMmu::Sv39(m) = &machine.mmu else {
        return Err("the machine lost its Sv39 MMU".into());
    };
    let dtlb = m.tlb().map(|t| t.stats()).unwrap_or_default();
    let l2 = m.l2_tlb().map(|t| t.stats()).unwrap_or_default();
    let walks = m.walks();
    let accesses = pages * setup.loops;
    let c = &setup.cost;
    let translation = (l2.hits + l2.misses) as f64 * c.l2_ns
        + (walks * u64::from(sv39::LEVELS)) as f64 * c.dram_ns;
    Ok(Point {
        pages,
        accesses,
        dtlb,
        l2,
        walks,
        ns_per_access: c.l1_ns + translation / accesses as f64,
    })
}

/// Runs `vmlab tlb-measure`.
pub fn run(args: Args, out: &mut dyn Write) -> CmdResult {
    let dtlb = tlb_flag("--dtlb", &args.dtlb)?;
    let itlb = tlb_flag("--itlb", &args.itlb)?;
    let l2 = match args.l2.as_str() {
        "off" | "none" => None,
        spec => Some(tlb_flag("--l2", spec)?),
    };
    let loops = parse_size_arg("--loops", &args.loops)?;
    if loops == 0 || loops > 1_000_000 {
        return Err(CliError::input(format!(
            "--loops {loops}: give 1 to 1000000 loops"
        )));
    }
    let largest = [Some(dtlb.entries()), l2.map(|t| t.entries())]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(1) as u64;
    let max = match &args.max_pages {
        Some(m) => parse_size_arg("--max-pages", m)?,
        None => (4 * largest).next_power_of_two().min(MAX_PAGES),
    };
    if max == 0 || max > MAX_PAGES {
        return Err(CliError::input(format!(
            "--max-pages {max}: give 1 to {MAX_PAGES} pages"
        )));
    }
    let mut sizes = vec![dtlb.entries() as u64];
    sizes.extend(l2.map(|t| t.entries() as u64));
    let ns = sweep(max, &sizes);
    let total: u64 = ns.iter().map(|n| n * loops).sum();
    if total > MAX_ACCESSES {
        return Err(CliError::input(format!(
            "--max-pages {max} with --loops {loops} makes {total} accesses, more than {MAX_ACCESSES}: lower one of them"
        )));
    }
    let setup = Setup {
        dtlb,
        itlb,
        l2,
        loops,
        cost: CostModel::default(),
    };
    let mut points = Vec::new();
    if !args.json {
        writeln!(
            out,
            "TLB measurement: examples/tlb/tlb.s under Sv39, {loops} loops over N pages"
        )?;
        writeln!(out, "  data TLB:         {dtlb}")?;
        writeln!(out, "  instruction TLB:  {itlb}")?;
        if let Some(l2) = l2 {
            writeln!(out, "  second-level TLB: {l2}")?;
        }
        writeln!(
            out,
            "  time per access: data {} ns (L1), second-level TLB lookup {} ns (L2), walk 3 x {} ns (DRAM)",
            setup.cost.l1_ns, setup.cost.l2_ns, setup.cost.dram_ns
        )?;
        writeln!(
            out,
            "{:>7} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
            "pages", "accesses", "dtlb hit", "dtlb miss", "l2 hit", "walks", "ns/access"
        )?;
    }
    for &n in &ns {
        let p = measure(&setup, n).map_err(CliError::input)?;
        if args.json {
            writeln!(
                out,
                "{}",
                json!({
                    "kind": "tlb-measure",
                    "pages": p.pages,
                    "accesses": p.accesses,
                    "dtlb_hits": p.dtlb.hits,
                    "dtlb_misses": p.dtlb.misses,
                    "l2_hits": p.l2.hits,
                    "l2_misses": p.l2.misses,
                    "walks": p.walks,
                    "ns_per_access": p.ns_per_access,
                })
            )?;
        } else {
            writeln!(
                out,
                "{:>7} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10.1}",
                p.pages,
                p.accesses,
                p.dtlb.hits,
                p.dtlb.misses,
                p.l2.hits,
                p.walks,
                p.ns_per_access
            )?;
        }
        points.push(p);
    }
    if let Some(path) = &args.svg {
        let mut marks = vec![TlbLevelMark {
            name: "data TLB".into(),
            entries: dtlb.entries() as u64,
        }];
        if let Some(l2) = l2 {
            marks.push(TlbLevelMark {
                name: "second-level TLB".into(),
                entries: l2.entries() as u64,
            });
        }
        let picture = TlbCurve {
            title: format!("Time per access against pages touched ({loops} loops, Sv39)"),
            points: points.iter().map(|p| (p.pages, p.ns_per_access)).collect(),
            marks,
        };
        std::fs::write(path, crate::render::svg::tlb_curve::svg(&picture))
            .map_err(|e| CliError::input(format!("--svg {}: {e}", path.display())))?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_has_the_powers_of_two_and_each_size_and_one_past() {
        assert_eq!(
            sweep(64, &[16, 48]),
            vec![1, 2, 4, 8, 16, 17, 32, 48, 49, 64]
        );
        assert_eq!(sweep(1, &[16]), vec![1]);
    }

    #[test]
    fn the_steps_fall_at_the_configured_sizes() {
        let setup = Setup {
            dtlb: TlbConfig::parse("8").unwrap(),
            itlb: TlbConfig::parse("4").unwrap(),
            l2: Some(TlbConfig::parse("32").unwrap()),
            loops: 50,
            cost: CostModel::default(),
        };
        let t = |n| measure(&setup, n).unwrap();
        let (at8, past8, at32, past32) = (t(8), t(9), t(32), t(33));
        // Every load of the loop is one data-TLB lookup.
        assert_eq!(at8.dtlb.hits + at8.dtlb.misses, at8.accesses);
        // Up to 8 pages only the first loop misses (8 of 400 accesses).
        assert_eq!(at8.dtlb.misses, 8);
        assert!(at8.ns_per_access < 10.0, "{at8:?}");
        // One past: every access misses the first level, hits the second.
        assert!(past8.dtlb.misses >= past8.accesses - 9, "{past8:?}");
        assert!(past8.ns_per_access > at8.ns_per_access + 3.0, "{past8:?}");
        assert!(at32.ns_per_access < 20.0, "{at32:?}");
        // One past the second level: a walk on every access.
        assert!(past32.ns_per_access > 200.0, "{past32:?}");
    }
}
