//! `vmlab translate`: an address-translation calculator for students and
//! instructors. Picks the mechanism from the flags (page-table levels ->
//! a multi-level page table in memory, segments -> segmentation, base and
//! bounds -> base+bounds, base alone -> base only, nothing -> identity),
//! then narrates or prints JSON for each address.

use super::{CliError, CmdResult, parse_size_arg};
use crate::addr::VirtAddr;
use crate::memory::PhysicalMemory;
use crate::mmu::multilevel::{self, EntryFormat, Layout, MultiLevel};
use crate::mmu::{Access, AnyMmu, Base, BaseBounds, Identity, Mmu, Perms, Segment, Segmentation};
use crate::render::translation;
use std::io::Write;

/// Flags of `vmlab translate`.
#[derive(clap::Args, Debug)]
#[command(
    allow_negative_numbers = true,
    after_help = "\
Examples:
  vmlab translate --base 1024 --bounds 1024 100 1000 3072
  vmlab translate --va-bits 14 --segment 0x2000:0x6ff:r --segment 0:0x4ff:rw \\
                  --segment 0x3000:0xfff:rw --segment 0:0:- 0x0240 0x1108 0x265c 0x3002
  vmlab translate --va-bits 14 --segment 0x2000:0x6ff:r --segment 0:0x4ff:rw \\
                  --segment 0x3000:0xfff:rw --segment 0:0:- w:0x0240
  vmlab translate --page-size 4k --levels 10,10 --map 0x8048000:0x123:rx \
                  --phys-mem 16m 0x8048abc w:0x8048abc 0x1000
  vmlab translate --page-size 32 --levels 5,5 --entry ostep --phys-mem 4k \
                  --map 0x6100:53 0x611c

An address may carry its access as a prefix: r:0x100 (read), w:0x100 (write),
f:0x100 (fetch); otherwise --access applies."
)]
pub struct Args {
    #[command(flatten)]
    mechanism: MechanismFlags,
    #[command(flatten)]
    paging: PagingFlags,
    /// Kind of access: read, write or fetch.
    #[arg(long, default_value = "read", value_name = "KIND")]
    access: String,
    /// Size of physical memory.
    #[arg(long, default_value = "64k", value_name = "SIZE")]
    phys_mem: String,
    /// Print one JSON record per address instead of the narration.
    #[arg(long)]
    json: bool,
    /// Exit with code 1 if any address faults.
    #[arg(long)]
    strict: bool,
    /// Also write the translation pictures (one panel per address) to FILE.
    #[arg(long, value_name = "FILE")]
    svg: Option<std::path::PathBuf>,
    /// Virtual addresses (decimal, 0x hex, or with a unit like 1k).
    #[arg(required = true, value_name = "VA")]
    addresses: Vec<String>,
}

/// The flags of a multi-level page table in memory.
#[derive(clap::Args, Debug)]
struct PagingFlags {
    /// Page size of a multi-level page table (with --levels).
    #[arg(long, value_name = "SIZE")]
    page_size: Option<String>,
    /// A multi-level page table in physical memory: the index bits of each
    /// level, root first (10,10: two levels; 20: a linear table).
    #[arg(long, value_name = "BITS,BITS,...", value_delimiter = ',')]
    levels: Vec<u32>,
    /// Page-table entry format: word32 (4 bytes: V R W X in bits 0..3, PFN
    /// from bit 12), word64 (8 bytes, PFN from bit 10) or ostep (1 byte:
    /// valid bit 7, PFN in bits 6..0, no permissions).
    #[arg(long, value_name = "FORMAT", default_value = "word32")]
    entry: String,
    /// Map the page at VA to frame FRAME with PERMS (r, w, x or -; default
    /// rwx): the kernel writes the entries, creating tables on the way
    /// (taken from the top of physical memory). Repeatable.
    #[arg(long = "map", value_name = "VA:FRAME[:PERMS]")]
    maps: Vec<String>,
}

/// The configured mechanism, its physical memory (holding the page tables,
/// for a multi-level table) and the requests.
struct Prepared {
    mmu: AnyMmu,
    mem: PhysicalMemory,
    requests: Vec<(VirtAddr, Access)>,
}

/// Validates the flags and the addresses as `vmlab translate` does.
fn prepare(args: &Args) -> Result<Prepared, CliError> {
    let phys_size = parse_size_arg("--phys-mem", &args.phys_mem)?;
    let default_access: Access = args
        .access
        .parse()
        .map_err(|e| CliError::input(format!("--access: {e}")))?;
    let (mmu, mem) = if args.paging.levels.is_empty() {
        if args.paging.page_size.is_some() || !args.paging.maps.is_empty() {
            return Err(CliError::input(
                "--page-size and --map need --levels (the index bits of each level of the page table)",
            ));
        }
        let mmu = build_mechanism(&args.mechanism, phys_size)?;
        (mmu, PhysicalMemory::new(0))
    } else {
        build_page_table(args, phys_size)?
    };
    let width = match &mmu {
        AnyMmu::Segmentation(s) => Some(s.va_bits()),
        AnyMmu::MultiLevel(m) => Some(m.layout().va_bits()),
        _ => args.mechanism.va_bits,
    };
    let requests = args
        .addresses
        .iter()
        .map(|a| parse_request(a, default_access, width))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Prepared { mmu, mem, requests })
}

/// Builds a multi-level page table in a fresh physical memory from
/// `--page-size`, `--levels`, `--entry` and the `--map` pages: the root
/// table and every table below it are taken from the top of memory
/// downward (never a frame a `--map` names), and the kernel side of the
/// table writes the entries.
fn build_page_table(args: &Args, phys_size: u64) -> Result<(AnyMmu, PhysicalMemory), CliError> {
    let m = &args.mechanism;
    if m.base.is_some() || m.bounds.is_some() || !m.segments.is_empty() {
        return Err(CliError::input(
            "--levels cannot be combined with --base/--bounds/--segment: choose one mechanism",
        ));
    }
    let p = &args.paging;
    let page_size = match &p.page_size {
        Some(text) => parse_size_arg("--page-size", text)?,
        None => return Err(CliError::input("--levels needs --page-size")),
    };
    let entry = match p.entry.to_ascii_lowercase().as_str() {
        "word32" => EntryFormat::WORD32,
        "word64" => EntryFormat::WORD64,
        "ostep" => EntryFormat::OSTEP,
        other => {
            return Err(CliError::input(format!(
                "--entry: unknown format '{other}' (expected word32, word64 or ostep)"
            )));
        }
    };
    let va_bits = match m.va_bits {
        Some(bits) => bits,
        None => {
            let sum: u64 = p.levels.iter().map(|&b| u64::from(b)).sum();
            let bits = sum + u64::from(page_size.trailing_zeros());
            u32::try_from(bits).unwrap_or(u32::MAX)
        }
    };
    let layout = Layout::new(va_bits, page_size, p.levels.clone(), entry).map_err(|e| {
        let flag = match e {
            multilevel::LayoutError::PageSize(_) => "--page-size",
            multilevel::LayoutError::AddressWidth(_) => "--va-bits",
            _ => "--levels",
        };
        CliError::input(format!("{flag}: {e}"))
    })?;
    // The pages to map, read first: their frames are not for tables.
    let maps = p
        .maps
        .iter()
        .map(|text| parse_map(text, &layout))
        .collect::<Result<Vec<_>, _>>()?;
    let frames = phys_size >> layout.page_bits();
    let mut taken: std::collections::HashSet<u64> = maps.iter().map(|&(_, f, _)| f).collect();
    let mut top = frames;
    let mut alloc = |bytes: u64| -> Option<u64> {
        let n = bytes.div_ceil(layout.page_size()).max(1);
        loop {
            let start = top.checked_sub(n)?;
            top = start;
            if (start..start + n).all(|f| !taken.contains(&f)) {
                taken.extend(start..start + n);
                return Some(start);
            }
        }
    };
    let too_small = || {
        CliError::input(format!(
            "--phys-mem: {phys_size} bytes have no room for the page tables (use --phys-mem to enlarge it)"
        ))
    };
    let root_frame = alloc(layout.table_bytes(0)).ok_or_else(too_small)?;
    let root = root_frame << layout.page_bits();
    let mut mem = PhysicalMemory::new(phys_size);
    multilevel::init_table(&mut mem, &layout, 0, root).map_err(|_| too_small())?;
    for (i, &(va, frame, perms)) in maps.iter().enumerate() {
        if frame >= frames {
            return Err(CliError::input(format!(
                "--map '{}': frame {frame} is beyond physical memory ({frames} frames of {} bytes; use --phys-mem to enlarge it)",
                p.maps[i],
                layout.page_size()
            )));
        }
        multilevel::map(&mut mem, &layout, root, va, frame, perms, &mut alloc).map_err(
            |e| match e {
                multilevel::MapError::OutOfMemory => too_small(),
                e => CliError::input(format!("--map '{}': {e}", p.maps[i])),
            },
        )?;
    }
    let mmu = MultiLevel::new(layout, root, phys_size)
        .map_err(|e| CliError::input(format!("--levels: {e}")))?;
    Ok((AnyMmu::MultiLevel(mmu), mem))
}

/// Parses `VA:FRAME[:PERMS]` of `--map` for `layout`.
fn parse_map(text: &str, layout: &Layout) -> Result<(u64, u64, Perms), CliError> {
    let bad = |why: String| CliError::input(format!("--map '{text}': {why}"));
    let parts: Vec<&str> = text.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return Err(bad("expected VA:FRAME[:PERMS]".into()));
    }
    let va = crate::addr::parse_number(parts[0]).map_err(|e| bad(format!("address {e}")))?;
    let frame = crate::addr::parse_number(parts[1]).map_err(|e| bad(format!("frame {e}")))?;
    let perms = match parts.get(2) {
        Some(p) => Perms::parse(p).map_err(bad)?,
        None => Perms::all(),
    };
    if !layout.fits(va) {
        return Err(bad(format!(
            "address {va:#x} does not fit in {} bits",
            layout.va_bits()
        )));
    }
    if layout.offset(va) != 0 {
        return Err(bad(format!(
            "address {va:#x} is not the start of a page ({} bytes)",
            layout.page_size()
        )));
    }
    Ok((va, frame, perms))
}

/// The translation pictures `--svg` writes: one panel per address, with the
/// MMU's own steps (the bits split, the table row used, the bounds check,
/// the adder, the physical address or the fault). Bad flags or addresses
/// are a [`CliError::Input`] as for `vmlab translate`.
pub fn svg(args: &Args) -> Result<String, CliError> {
    let p = prepare(args)?;
    let phys_size = parse_size_arg("--phys-mem", &args.phys_mem)?;
    Ok(pictures(&p, phys_size))
}

fn pictures(p: &Prepared, phys_size: u64) -> String {
    let regs = crate::kernel::system::registers_view(&p.mmu.registers());
    let views: Vec<_> = p
        .requests
        .iter()
        .map(|&(va, access)| {
            let t = p.mmu.explain(&p.mem, va, access);
            crate::render::svg::translation::View::of(&t, None, Some(regs.clone()), phys_size)
        })
        .collect();
    crate::render::svg::translation::svg(&views)
}

/// Runs `vmlab translate`.
pub fn run(args: Args, out: &mut dyn Write) -> CmdResult {
    let p = prepare(&args)?;
    let phys_size = parse_size_arg("--phys-mem", &args.phys_mem)?;
    if let Some(path) = &args.svg {
        super::write_svg(path, &pictures(&p, phys_size))?;
    }
    let mmu = &p.mmu;
    if !args.json {
        writeln!(out, "{}", describe(mmu))?;
        if let AnyMmu::MultiLevel(m) = mmu {
            let usage = multilevel::table_usage(&p.mem, m.layout(), m.root());
            let per_level: Vec<String> = usage.tables.iter().map(u64::to_string).collect();
            writeln!(
                out,
                "  tables per level (root first): {}; {} bytes of page tables map {} page(s)",
                per_level.join(", "),
                usage.bytes,
                usage.pages
            )?;
        }
        writeln!(out)?;
    }
    let mut faulted = false;
    for &(va, access) in &p.requests {
        let t = mmu.explain(&p.mem, va, access);
        faulted |= t.result.is_err();
        if args.json {
            writeln!(out, "{}", translation::to_json(&t, mmu.mechanism()))?;
        } else {
            write!(out, "{}", translation::narrate(&t))?;
        }
    }
    Ok(if faulted && args.strict { 1 } else { 0 })
}

/// The mechanism flags `translate` and `trace` share: `--base`,
/// `--bounds`, `--segment`, `--va-bits`.
#[derive(clap::Args, Debug)]
pub(crate) struct MechanismFlags {
    /// Base register: dynamic relocation (without --bounds, no protection).
    #[arg(long, value_name = "ADDR")]
    pub base: Option<String>,
    /// Bounds register: the size of the address space (needs --base).
    #[arg(long, value_name = "SIZE")]
    pub bounds: Option<String>,
    /// A segment, in order 0..n-1: BASE:SIZE:PERMS[:down][:NAME], PERMS from
    /// r, w, x or - (none). The count must be a power of two.
    #[arg(long = "segment", value_name = "BASE:SIZE:PERMS[:down][:NAME]")]
    pub segments: Vec<String>,
    /// Width of a virtual address in bits (required with --segment).
    #[arg(long, value_name = "BITS", value_parser = super::parse_u32_arg)]
    pub va_bits: Option<u32>,
}

/// Chooses and configures the mechanism from the shared flags (segments ->
/// segmentation, base and bounds -> base+bounds, base alone -> base only,
/// nothing -> identity). Bad flags are a [`CliError::Input`].
pub(crate) fn build_mechanism(args: &MechanismFlags, phys_size: u64) -> Result<AnyMmu, CliError> {
    if !args.segments.is_empty() {
        if args.base.is_some() || args.bounds.is_some() {
            return Err(CliError::input(
                "--segment cannot be combined with --base/--bounds: choose one mechanism",
            ));
        }
        let va_bits = args.va_bits.ok_or_else(|| {
            CliError::input("--segment needs --va-bits (the width of a virtual address)")
        })?;
        let segments = args
            .segments
            .iter()
            .enumerate()
            .map(|(i, s)| parse_segment(i, s))
            .collect::<Result<Vec<_>, _>>()?;
        let seg = Segmentation::new(va_bits, segments, phys_size)
            .map_err(|e| CliError::input(format!("--segment: {e}")))?;
        return Ok(AnyMmu::Segmentation(seg));
    }
    if let Some(bits) = args.va_bits
        && (bits == 0 || bits > 64)
    {
        return Err(CliError::input(format!(
            "--va-bits: {bits} is not between 1 and 64"
        )));
    }
    match (args.base.as_deref(), args.bounds.as_deref()) {
        (Some(base), Some(bounds)) => {
            let base = parse_size_arg("--base", base)?;
            let bounds = parse_size_arg("--bounds", bounds)?;
            BaseBounds::new(base, bounds, phys_size)
                .map(AnyMmu::BaseBounds)
                .map_err(|e| CliError::input(format!("{e} (use --phys-mem to enlarge it)")))
        }
        (Some(base), None) => {
            let base = parse_size_arg("--base", base)?;
            if base >= phys_size {
                return Err(CliError::input(format!(
                    "--base: {base:#x} is beyond physical memory of {phys_size:#x} bytes (use --phys-mem to enlarge it)"
                )));
            }
            Ok(AnyMmu::Base(Base::new(base, phys_size)))
        }
        (None, Some(_)) => Err(CliError::input("--bounds needs --base")),
        (None, None) => Ok(AnyMmu::Identity(Identity::new(phys_size))),
    }
}

/// Parses `BASE:SIZE:PERMS[:down|:up][:NAME]` for segment `index`.
fn parse_segment(index: usize, text: &str) -> Result<Segment, CliError> {
    let bad = |why: String| CliError::input(format!("--segment {index} '{text}': {why}"));
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() < 3 {
        return Err(bad("expected BASE:SIZE:PERMS[:down][:NAME]".into()));
    }
    let base = crate::addr::parse_number(parts[0]).map_err(|e| bad(format!("base {e}")))?;
    let size = crate::addr::parse_number(parts[1]).map_err(|e| bad(format!("size {e}")))?;
    let perms = Perms::parse(parts[2]).map_err(bad)?;
    let mut seg = Segment::up(base, size, perms);
    for extra in &parts[3..] {
        match *extra {
            "down" => seg.grows_down = true,
            "up" => seg.grows_down = false,
            "" => return Err(bad("empty field".into())),
            name if seg.name.is_none() => seg.name = Some(name.to_string()),
            other => return Err(bad(format!("unexpected field '{other}'"))),
        }
    }
    Ok(seg)
}

/// Parses `VA` or `r:VA` / `w:VA` / `f:VA`, checking it fits `width` bits.
fn parse_request(
    text: &str,
    default: Access,
    width: Option<u32>,
) -> Result<(VirtAddr, Access), CliError> {
    let (access, addr) = match text.split_once(':') {
        Some((kind, addr)) => (
            kind.parse()
                .map_err(|e| CliError::input(format!("address '{text}': {e}")))?,
            addr,
        ),
        None => (default, text),
    };
    let va = crate::addr::parse_number(addr).map_err(|e| match e {
        crate::addr::SizeError::Empty => CliError::input(format!(
            "address '{text}': no address after '{}' (write e.g. r:0x100)",
            text.split_once(':').map_or("", |p| p.0)
        )),
        e => CliError::input(format!("address '{text}': {e}")),
    })?;
    if let Some(bits) = width
        && bits < 64
        && va >> bits != 0
    {
        return Err(CliError::input(format!(
            "address {addr} does not fit in {bits} bits (largest is {:#x})",
            (1u64 << bits) - 1
        )));
    }
    Ok((VirtAddr::new(va), access))
}

/// The header line: the mechanism and its registers.
pub(crate) fn describe(mmu: &AnyMmu) -> String {
    use crate::addr::{Size, hex_and_decimal};
    match mmu {
        AnyMmu::Identity(_) => "no translation (identity): pa = va".to_string(),
        AnyMmu::Base(b) => format!(
            "base register only (no bounds, no protection): base = {}",
            hex_and_decimal(b.base())
        ),
        AnyMmu::BaseBounds(b) => format!(
            "base + bounds: base = {}, bounds = {}, physical memory {}",
            hex_and_decimal(b.base()),
            hex_and_decimal(b.bounds()),
            Size::new(b.phys_size())
        ),
        AnyMmu::Segmentation(s) => {
            let mut text = format!(
                "segmentation: {}-bit addresses = {} segment bit(s) + {} offset bits, physical memory {}\n",
                s.va_bits(),
                s.segment_bits(),
                s.offset_bits(),
                Size::new(s.phys_size())
            );
            text.push_str("  seg  base       size       perms  grows  name");
            for (i, seg) in s.segments().iter().enumerate() {
                text.push_str(&format!(
                    "\n  {i:<4} {:<#10x} {:<#10x} {:<6} {:<6} {}",
                    seg.base,
                    seg.size,
                    seg.perms.to_string(),
                    if seg.grows_down { "down" } else { "up" },
                    seg.name.as_deref().unwrap_or("")
                ));
            }
            if s.segments()
                .iter()
                .any(|seg| seg.grows_down && seg.size > 0)
            {
                text.push_str(&format!(
                    "\n  a segment growing down: its base is its top (one past its highest byte); negative offset = offset - {:#x} (the max segment size), pa = base + negative offset",
                    1u128 << s.offset_bits()
                ));
            }
            text
        }
        AnyMmu::Paging(p) => format!(
            "paging: {} entries, page size {}",
            p.entries().len(),
            Size::new(p.page_size())
        ),
        AnyMmu::Sv39(m) => format!(
            "RISC-V Sv39: satp mode {}, asid {}, root table in page {:#x}, physical memory {}",
            m.satp().mode(),
            m.satp().asid(),
            m.satp().root_ppn(),
            Size::new(m.phys_size())
        ),
        AnyMmu::MultiLevel(m) => {
            let l = m.layout();
            let bits: Vec<String> = l.index_bits().iter().map(u32::to_string).collect();
            format!(
                "multi-level page table: {}-bit addresses = index bits {} + {} offset bits, page size {}, {}-byte entries, root table at PA {:#x}, physical memory {}",
                l.va_bits(),
                bits.join(" + "),
                l.page_bits(),
                Size::new(l.page_size()),
                l.entry().size,
                m.root(),
                Size::new(m.phys_size())
            )
        }
    }
}
