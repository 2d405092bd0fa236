//! Picture 3, one address translation: the virtual address (as bits split
//! into segment and offset, under segmentation; into one index per level
//! and the offset, under paging in memory), the registers or the segment
//! table with the used row highlighted, or the page-table walk (each entry
//! read from memory, its level, index, address and bits, chained to the
//! next table and to the frame), the hardware's steps with their numbers
//! (the bounds check, the negative offset of a segment growing down), the
//! adder, and the physical address with an arrow into physical memory
//! (where each page-table entry read is marked too); or the fault and the
//! trap to the OS.
//!
//! The steps are the MMU's own ([`crate::mmu::Step`], from `explain`), and
//! their text is [`crate::render::translation::narrate`]'s, so the picture
//! says what the terminal says.

use super::{FAULT, Svg, hex};
use crate::kernel::event::RegistersView;
use crate::mmu::Step;

/// One translation to draw.
#[derive(Clone, Debug)]
pub struct View {
    /// The process that issued the address, if any (`P1`).
    pub who: Option<String>,
    /// The virtual address.
    pub va: u64,
    /// `read`, `write` or `fetch`.
    pub access: String,
    /// The MMU's steps (empty when only the outcome is known).
    pub steps: Vec<Step>,
    /// The narration lines of the steps (drawn as the step list).
    pub lines: Vec<String>,
    /// The physical address, on success.
    pub pa: Option<u64>,
    /// The fault, on failure (`bounds`, `protection`, ...).
    pub fault: Option<String>,
    /// The MMU registers used.
    pub registers: Option<RegistersView>,
    /// Physical memory size (for the arrow into memory).
    pub phys_size: u64,
}

impl View {
    /// The view of a translation the MMU explained: its steps, their
    /// narration, the outcome; `registers` as the MMU held them.
    pub fn of(
        t: &crate::mmu::Translation,
        who: Option<String>,
        registers: Option<RegistersView>,
        phys_size: u64,
    ) -> View {
        let text = crate::render::translation::narrate(t);
        View {
            who,
            va: t.va.as_u64(),
            access: t.access.name().to_string(),
            steps: t.steps.clone(),
            // The first line repeats the address; the picture has a heading.
            lines: text.lines().skip(1).map(str::to_string).collect(),
            pa: t.result.as_ref().ok().map(|p| p.as_u64()),
            fault: t.result.as_ref().err().map(|f| f.kind.name().to_string()),
            registers,
            phys_size,
        }
    }
}

const W: f64 = 800.0;

/// The translations, one panel each, stacked.
pub fn svg(views: &[View]) -> String {
    let mut s = Svg::new(W, 40.0, "Address translation");
    let mut y = 0.0;
    for (i, v) in views.iter().enumerate() {
        y = panel(&mut s, i, v, y);
    }
    if views.is_empty() {
        s.item("no translation", &[]);
        s.text(10.0, 24.0, "No address to translate.", "start", 13.0, false);
        s.end();
    }
    s.fit_height(y + 10.0);
    s.finish()
}

/// Draws panel `i` at `y0`; returns the y below it.
fn panel(s: &mut Svg, i: usize, v: &View, y0: f64) -> f64 {
    let who = v
        .who
        .as_deref()
        .map(|w| format!("{w}: "))
        .unwrap_or_default();
    let outcome = match (&v.pa, &v.fault) {
        (Some(pa), _) => format!("PA {}", hex(*pa)),
        (_, Some(f)) => format!("FAULT ({f})"),
        _ => "no result".into(),
    };
    s.item(
        &format!("{who}{} of VA {} -> {outcome}", v.access, hex(v.va)),
        &[
            ("translation", i.to_string()),
            ("va", hex(v.va)),
            ("access", v.access.clone()),
        ],
    );
    if i > 0 {
        s.line(10.0, y0 + 4.0, W - 10.0, y0 + 4.0, 1.0, "4 3");
    }
    s.text(
        20.0,
        y0 + 24.0,
        &format!(
            "{who}{} of virtual address {} ({})",
            v.access,
            hex(v.va),
            v.va
        ),
        "start",
        14.0,
        true,
    );
    s.end();
    // --- the virtual address, split when segmented ---
    let mut y = y0 + 36.0;
    let split = v.steps.iter().find_map(|st| match st {
        Step::Split {
            segment,
            offset,
            segment_bits,
            offset_bits,
        } => Some((*segment, *offset, *segment_bits, *offset_bits)),
        _ => None,
    });
    match split {
        Some((seg, off, sb, ob)) => {
            let seg_txt = format!("{seg:0w$b}", w = sb as usize);
            let off_txt = if ob <= 24 {
                format!("{off:0w$b}", w = ob as usize)
            } else {
                hex(off)
            };
            let sw = (16.0 + 9.0 * seg_txt.len() as f64).max(80.0);
            let ow = (16.0 + 9.0 * off_txt.len() as f64).max(150.0);
            s.item(
                &format!("the top {sb} bits select segment {seg}"),
                &[
                    ("part", "segment-bits".into()),
                    ("segment", seg.to_string()),
                ],
            );
            s.rect(20.0, y, sw, 26.0, "#fde9a9", 1.5);
            s.mono(20.0 + sw / 2.0, y + 18.0, &seg_txt, "middle", 14.0);
            s.text(
                20.0 + sw / 2.0,
                y + 40.0,
                &format!("segment {seg}"),
                "middle",
                11.0,
                false,
            );
            s.end();
            s.item(
                &format!("the low {ob} bits are the offset {}", hex(off)),
                &[("part", "offset-bits".into()), ("offset", hex(off))],
            );
            s.rect(20.0 + sw, y, ow, 26.0, "#ffffff", 1.5);
            s.mono(20.0 + sw + ow / 2.0, y + 18.0, &off_txt, "middle", 14.0);
            s.text(
                20.0 + sw + ow / 2.0,
                y + 40.0,
                &format!("offset {} ({ob} bits)", hex(off)),
                "middle",
                11.0,
                false,
            );
            s.end();
            y += 52.0;
        }
        None if walk_split(v).is_some() => {
            if let Some((indices, bits, off, ob)) = walk_split(v) {
                y = draw_indices(s, y, &indices, &bits, off, ob);
            }
        }
        None => {
            s.item(
                &format!("virtual address {}", hex(v.va)),
                &[("part", "va".into())],
            );
            s.rect(20.0, y, 150.0, 26.0, "#ffffff", 1.5);
            s.mono(95.0, y + 18.0, &format!("VA {}", hex(v.va)), "middle", 14.0);
            s.end();
            y += 38.0;
        }
    }
    // --- the hardware's steps, in the lecture's words ---
    s.item("the MMU's steps", &[("part", "steps".into())]);
    for line in &v.lines {
        // Long steps (the negative offset) break after their `;`.
        let line = line.trim_start();
        let parts: Vec<&str> = if line.len() > 64 {
            line.split_inclusive("; ").collect()
        } else {
            vec![line]
        };
        for (k, part) in parts.iter().enumerate() {
            y += 16.0;
            let indent = if k > 0 { "       " } else { "" };
            s.mono(
                20.0,
                y,
                &format!("{indent}{}", part.trim_end()),
                "start",
                10.5,
            );
        }
    }
    s.end();
    y += 14.0;
    // --- the page-table walk, one box per entry read ---
    let entries = walk_entries(v);
    if !entries.is_empty() {
        y = draw_walk(s, 20.0, y, &entries);
    }
    // --- the adder, or the fault ---
    let add = v.steps.iter().find_map(|st| match st {
        Step::AddBase { base, offset, pa } => Some(('+', *base, *offset, *pa)),
        Step::SubtractFromBase { base, distance, pa } => Some(('-', *base, *distance, *pa)),
        _ => None,
    });
    let mut pa_at = None;
    if let Some(f) = &v.fault {
        s.item(
            &format!("fault: {f}; the MMU raises an exception and traps to the OS"),
            &[("fault", f.clone())],
        );
        s.rect(20.0, y, 420.0, 44.0, FAULT, 2.0);
        s.rect(28.0, y + 6.0, 404.0, 32.0, "#ffffff", 0.0);
        s.text(
            230.0,
            y + 20.0,
            &format!("FAULT: {f}"),
            "middle",
            13.0,
            true,
        );
        s.text(
            230.0,
            y + 34.0,
            "trap to the OS (kernel mode): it kills the process or handles it",
            "middle",
            11.0,
            false,
        );
        s.end();
        y += 56.0;
    } else if let (Some((op, base, off, sum)), Some(pa)) = (add, v.pa) {
        let what = if op == '+' { "offset" } else { "distance" };
        s.item(
            &format!(
                "the adder: base {} {op} {what} {} = {}",
                hex(base),
                hex(off),
                sum.map(hex).unwrap_or_else(|| "overflow".into())
            ),
            &[("part", "adder".into())],
        );
        s.rect(20.0, y, 130.0, 26.0, "#ffffff", 1.0);
        s.mono(
            85.0,
            y + 18.0,
            &format!("base {}", hex(base)),
            "middle",
            12.0,
        );
        s.rect(20.0, y + 34.0, 130.0, 26.0, "#ffffff", 1.0);
        s.mono(
            85.0,
            y + 52.0,
            &format!("{what} {}", hex(off)),
            "middle",
            12.0,
        );
        s.circle(200.0, y + 30.0, 15.0, "#ffffff");
        s.text(200.0, y + 36.0, &op.to_string(), "middle", 18.0, true);
        s.arrow(150.0, y + 13.0, 186.0, y + 24.0);
        s.arrow(150.0, y + 47.0, 186.0, y + 36.0);
        s.arrow(215.0, y + 30.0, 255.0, y + 30.0);
        s.rect(257.0, y + 17.0, 140.0, 26.0, "#e6f0d8", 1.5);
        s.mono(327.0, y + 35.0, &format!("PA {}", hex(pa)), "middle", 13.0);
        s.end();
        pa_at = Some((397.0, y + 30.0));
        y += 72.0;
    } else if let Some(pa) = v.pa {
        let join = v.steps.iter().find_map(|st| match st {
            Step::JoinFrame { pfn, offset, .. } => Some((*pfn, *offset)),
            _ => None,
        });
        let (text, width) = match join {
            Some((pfn, off)) => (
                format!("frame {} | offset {} = PA {}", hex(pfn), hex(off), hex(pa)),
                300.0,
            ),
            None => (format!("PA {}", hex(pa)), 150.0),
        };
        s.item(
            &format!("physical address {}", hex(pa)),
            &[("part", "pa".into())],
        );
        s.rect(20.0, y, width, 26.0, "#e6f0d8", 1.5);
        s.mono(20.0 + width / 2.0, y + 18.0, &text, "middle", 12.0);
        s.end();
        pa_at = Some((20.0 + width, y + 13.0));
        y += 38.0;
    }
    // --- the registers or the segment table (right column) ---
    let mut ry = y0 + 36.0;
    let (rx, rw) = (490.0, 200.0);
    if !entries.is_empty() {
        // The walk is drawn under the steps: the tables are in memory.
    } else if let Some(r) = &v.registers {
        if !r.segments.is_empty() {
            let used = split.map(|t| t.0 as usize);
            s.item("the segment table", &[("part", "segment-table".into())]);
            s.text(
                rx,
                ry + 10.0,
                "segment table (in the MMU)",
                "start",
                12.0,
                true,
            );
            ry += 16.0;
            s.mono(
                rx + 4.0,
                ry + 12.0,
                "seg base    size    perm grows",
                "start",
                11.0,
            );
            s.end();
            ry += 18.0;
            for (k, seg) in r.segments.iter().enumerate() {
                let selected = used == Some(k);
                s.item(
                    &format!(
                        "segment {k}: base {}, size {}, {}, grows {}{}",
                        hex(seg.base),
                        hex(seg.size),
                        seg.perms,
                        if seg.grows_down { "down" } else { "up" },
                        if selected {
                            " (the row this address uses)"
                        } else {
                            ""
                        }
                    ),
                    &[
                        ("segment", k.to_string()),
                        ("selected", selected.to_string()),
                        ("start", hex(seg.base)),
                        ("size", hex(seg.size)),
                    ],
                );
                s.rect(
                    rx,
                    ry,
                    rw,
                    20.0,
                    if selected { "#fde9a9" } else { "#ffffff" },
                    if selected { 2.5 } else { 0.5 },
                );
                s.mono(
                    rx + 4.0,
                    ry + 14.0,
                    &format!(
                        "{k:<3} {:<7} {:<7} {:<4} {}",
                        hex(seg.base),
                        hex(seg.size),
                        seg.perms,
                        if seg.grows_down { "down" } else { "up" }
                    ),
                    "start",
                    11.0,
                );
                if selected {
                    s.text(rx + rw + 4.0, ry + 14.0, "< used", "start", 11.0, true);
                }
                s.end();
                ry += 20.0;
            }
        } else if r.base.is_some() || r.bounds.is_some() {
            s.item("the MMU registers", &[("part", "registers".into())]);
            s.text(rx, ry + 10.0, "MMU registers", "start", 12.0, true);
            ry += 18.0;
            if let Some(b) = r.base {
                s.rect(rx, ry, rw, 22.0, "#ffffff", 1.5);
                s.mono(
                    rx + 6.0,
                    ry + 15.0,
                    &format!("base   {} ({b})", hex(b)),
                    "start",
                    12.0,
                );
                ry += 26.0;
            }
            if let Some(b) = r.bounds {
                s.rect(rx, ry, rw, 22.0, "#ffffff", 1.5);
                s.mono(
                    rx + 6.0,
                    ry + 15.0,
                    &format!("bounds {} ({b})", hex(b)),
                    "start",
                    12.0,
                );
                ry += 26.0;
            }
            s.end();
        } else {
            s.item("no translation registers", &[("part", "registers".into())]);
            s.text(
                rx,
                ry + 10.0,
                &format!("{}: pa = va", r.mechanism),
                "start",
                12.0,
                false,
            );
            s.end();
            ry += 20.0;
        }
    }
    // --- physical memory, with the arrow to the byte ---
    let (mx, mtop) = (W - 36.0, y0 + 36.0);
    let mbottom = y.max(ry).max(mtop + 120.0);
    if v.phys_size > 0 {
        s.item(
            &format!("physical memory [0x0, {})", hex(v.phys_size)),
            &[("part", "memory".into())],
        );
        s.rect(mx, mtop, 22.0, mbottom - mtop, "#f4f4f4", 1.0);
        s.text(mx + 11.0, mtop - 4.0, "memory", "middle", 10.0, false);
        s.mono(mx - 2.0, mbottom, "0x0", "end", 9.0);
        s.mono(mx - 2.0, mtop + 8.0, &hex(v.phys_size), "end", 9.0);
        s.end();
        for e in &entries {
            if e.raw.is_none() || e.entry_pa >= v.phys_size {
                continue;
            }
            let frac = (e.entry_pa as f64 / v.phys_size as f64).clamp(0.0, 1.0);
            let py = mbottom - frac * (mbottom - mtop);
            s.item(
                &format!(
                    "the level-{} page-table entry read at PA {}",
                    e.level,
                    hex(e.entry_pa)
                ),
                &[("entry-pa", hex(e.entry_pa))],
            );
            s.line(mx, py, mx + 22.0, py, 1.5, "2 2");
            s.end();
        }
        if let (Some(pa), Some((ax, ay))) = (v.pa, pa_at) {
            let frac = (pa as f64 / v.phys_size as f64).clamp(0.0, 1.0);
            let py = mbottom - frac * (mbottom - mtop);
            s.item(&format!("the byte at PA {}", hex(pa)), &[("pa", hex(pa))]);
            s.line(mx, py, mx + 22.0, py, 3.0, "");
            s.arrow(ax, ay, mx - 2.0, py);
            s.end();
        }
    }
    mbottom + 12.0
}

/// The indices of a walk of tables in memory (multi-level, Sv39): the
/// index of each level, root first, their widths, the offset and its
/// width.
type IndexSplit = (Vec<u64>, Vec<u32>, u64, u32);

fn walk_split(v: &View) -> Option<IndexSplit> {
    v.steps.iter().find_map(|st| match st {
        Step::SplitIndices {
            indices,
            index_bits,
            offset,
            offset_bits,
        } => Some((indices.clone(), index_bits.clone(), *offset, *offset_bits)),
        _ => None,
    })
}

/// One page-table entry a walk read.
struct EntryView {
    level: u32,
    index: u64,
    entry_pa: u64,
    raw: Option<u64>,
    flags: String,
    valid: bool,
    leaf: bool,
    pfn: u64,
}

fn walk_entries(v: &View) -> Vec<EntryView> {
    v.steps
        .iter()
        .filter_map(|st| match st {
            Step::ReadEntry {
                level,
                index,
                entry_pa,
                raw,
                flags,
                valid,
                leaf,
                pfn,
            } => Some(EntryView {
                level: *level,
                index: *index,
                entry_pa: *entry_pa,
                raw: *raw,
                flags: flags.clone(),
                valid: *valid,
                leaf: *leaf,
                pfn: *pfn,
            }),
            _ => None,
        })
        .collect()
}

/// The virtual address cut into one box per level's index (bits, or the
/// number when wide) and the offset; returns the y below.
fn draw_indices(s: &mut Svg, y: f64, indices: &[u64], bits: &[u32], off: u64, ob: u32) -> f64 {
    let mut x = 20.0;
    for (level, (&i, &b)) in indices.iter().zip(bits).enumerate() {
        let txt = if b <= 10 {
            format!("{i:0w$b}", w = b as usize)
        } else {
            i.to_string()
        };
        let w = (16.0 + 9.0 * txt.len() as f64).max(56.0);
        s.item(
            &format!("level {level}'s index: {b} bits = {i}"),
            &[
                ("part", "index-bits".into()),
                ("level", level.to_string()),
                ("index", i.to_string()),
            ],
        );
        s.rect(x, y, w, 26.0, "#fde9a9", 1.5);
        s.mono(x + w / 2.0, y + 18.0, &txt, "middle", 14.0);
        s.text(
            x + w / 2.0,
            y + 40.0,
            &format!("L{level} index {i}"),
            "middle",
            11.0,
            false,
        );
        s.end();
        x += w;
    }
    let txt = if ob <= 12 {
        format!("{off:0w$b}", w = ob as usize)
    } else {
        hex(off)
    };
    let w = (16.0 + 9.0 * txt.len() as f64).max(90.0);
    s.item(
        &format!("the low {ob} bits are the offset {}", hex(off)),
        &[("part", "offset-bits".into()), ("offset", hex(off))],
    );
    s.rect(x, y, w, 26.0, "#ffffff", 1.5);
    s.mono(x + w / 2.0, y + 18.0, &txt, "middle", 14.0);
    s.text(
        x + w / 2.0,
        y + 40.0,
        &format!("offset {} ({ob} bits)", hex(off)),
        "middle",
        11.0,
        false,
    );
    s.end();
    y + 52.0
}

/// The walk: one box per entry read, root first, left to right (wrapping
/// before the memory column), each chained to the next table (or the
/// frame) it names; returns the y below.
fn draw_walk(s: &mut Svg, x0: f64, y: f64, entries: &[EntryView]) -> f64 {
    let (bw, bh, gap) = (200.0, 62.0, 26.0);
    let right = W - 60.0;
    s.item(
        "the page-table walk: each entry read from physical memory",
        &[("part", "walk".into())],
    );
    s.text(
        x0,
        y + 10.0,
        "page-table walk: the entries read from physical memory",
        "start",
        12.0,
        true,
    );
    s.end();
    let mut y = y + 18.0;
    let mut x = x0;
    for (k, e) in entries.iter().enumerate() {
        if x + bw > right {
            x = x0;
            y += bh + 12.0;
        }
        let (what, fill) = match (e.raw, e.valid, e.leaf) {
            (None, _, _) => ("beyond physical memory".to_string(), FAULT),
            (Some(_), false, _) => ("NOT valid: fault".to_string(), FAULT),
            (Some(_), true, true) => (format!("leaf: page frame {}", hex(e.pfn)), "#e6f0d8"),
            (Some(_), true, false) => (format!("next table in frame {}", hex(e.pfn)), "#fde9a9"),
        };
        let bits = match e.raw {
            Some(raw) => format!("= {} [{}]", hex(raw), e.flags),
            None => "(no such memory)".to_string(),
        };
        s.item(
            &format!(
                "level {} entry [{}] at PA {} {bits}: {what}",
                e.level,
                e.index,
                hex(e.entry_pa)
            ),
            &[
                ("level", e.level.to_string()),
                ("index", e.index.to_string()),
                ("entry-pa", hex(e.entry_pa)),
                ("valid", e.valid.to_string()),
            ],
        );
        s.rect(x, y, bw, bh, fill, 1.5);
        s.rect(x + 3.0, y + 3.0, bw - 6.0, bh - 6.0, "#ffffff", 0.0);
        let lines = [
            format!("L{} entry [{}]", e.level, e.index),
            format!("at PA {}", hex(e.entry_pa)),
            bits,
            what,
        ];
        for (i, line) in lines.iter().enumerate() {
            s.mono(x + 8.0, y + 16.0 + 13.0 * i as f64, line, "start", 10.5);
        }
        s.end();
        if k + 1 < entries.len() && x + 2.0 * bw + gap <= right {
            s.item(
                "to the next level's table",
                &[("part", "walk-arrow".into())],
            );
            s.arrow(x + bw, y + bh / 2.0, x + bw + gap - 2.0, y + bh / 2.0);
            s.end();
        }
        x += bw + gap;
    }
    y + bh + 12.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::VirtAddr;
    use crate::mmu::{Access, Mmu, Perms, Segment, Segmentation};

    /// E9's table, through the real MMU.
    fn e9(va: u64, access: Access) -> View {
        let mmu = Segmentation::new(
            14,
            vec![
                Segment::up(0x2000, 0x6ff, Perms::parse("r").unwrap()),
                Segment::up(0, 0x4ff, Perms::parse("rw").unwrap()),
                Segment::up(0x3000, 0xfff, Perms::parse("rw").unwrap()),
                Segment::up(0, 0, Perms::parse("-").unwrap()),
            ],
            0x4000,
        )
        .unwrap();
        let t = mmu.explain(
            crate::memory::PhysicalMemory::empty(),
            VirtAddr::new(va),
            access,
        );
        let regs = crate::kernel::system::registers_view(&mmu.registers());
        View::of(&t, None, Some(regs), 0x4000)
    }

    #[test]
    fn e9_selects_the_segment_row() {
        let out = svg(&[e9(0x265c, Access::Read)]);
        let doc = crate::render::svg::tests::parse(&out);
        crate::render::svg::tests::every_shape_has_a_title(&doc);
        let sel: Vec<_> = doc
            .descendants()
            .filter(|n| n.attribute("data-selected") == Some("true"))
            .collect();
        assert_eq!(sel.len(), 1);
        assert_eq!(sel[0].attribute("data-segment"), Some("2"));
        assert!(out.contains("PA 0x365c"), "{out}");
        assert!(out.contains(">10<") && out.contains(">011001011100<"));
    }

    #[test]
    fn e9_fault_on_invalid_segment_and_protection() {
        let out = svg(&[e9(0x3002, Access::Read), e9(0x240, Access::Write)]);
        let doc = crate::render::svg::tests::parse(&out);
        let faults: Vec<&str> = doc
            .descendants()
            .filter_map(|n| n.attribute("data-fault"))
            .collect();
        assert_eq!(faults.len(), 2, "{out}");
        assert_eq!(faults, ["invalid-segment", "protection"]);
        let sel: Vec<_> = doc
            .descendants()
            .filter(|n| n.attribute("data-selected") == Some("true"))
            .filter_map(|n| n.attribute("data-segment"))
            .collect();
        assert_eq!(sel, ["3", "0"]);
    }

    #[test]
    fn a_two_level_walk_shows_each_entry_and_the_frame() {
        use crate::mmu::multilevel::{Layout, MultiLevel, init_table, map};
        let mut mem = crate::memory::PhysicalMemory::new(4096);
        let layout = Layout::ostep();
        init_table(&mut mem, &layout, 0, 108 * 32).unwrap();
        map(
            &mut mem,
            &layout,
            108 * 32,
            0x6100,
            53,
            Perms::all(),
            &mut |_| Some(33),
        )
        .unwrap();
        let m = MultiLevel::new(layout, 108 * 32, 4096).unwrap();
        let regs = crate::kernel::system::registers_view(&m.registers());
        let views: Vec<View> = [0x611c, 0x3da8]
            .iter()
            .map(|&va| {
                View::of(
                    &m.explain(&mem, VirtAddr::new(va), Access::Read),
                    None,
                    Some(regs.clone()),
                    4096,
                )
            })
            .collect();
        let out = svg(&views);
        let doc = crate::render::svg::tests::parse(&out);
        crate::render::svg::tests::every_shape_has_a_title(&doc);
        let levels: Vec<&str> = doc
            .descendants()
            .filter(|n| n.attribute("data-part") == Some("index-bits"))
            .filter_map(|n| n.attribute("data-index"))
            .collect();
        assert_eq!(levels, ["24", "8", "15", "13"]);
        let entries: Vec<(&str, &str)> = doc
            .descendants()
            .filter(|n| n.attribute("data-valid").is_some())
            .map(|n| {
                (
                    n.attribute("data-entry-pa").unwrap(),
                    n.attribute("data-valid").unwrap(),
                )
            })
            .collect();
        assert_eq!(
            entries,
            [("0xd98", "true"), ("0x428", "true"), ("0xd8f", "false")]
        );
        assert!(out.contains("frame 0x35 | offset 0x1c = PA 0x6bc"), "{out}");
        assert!(!out.contains("pa = va"), "{out}");
    }

    #[test]
    fn an_sv39_walk_shows_three_levels() {
        use crate::mmu::sv39::{self, Satp, Sv39, pte};
        let mut mem = crate::memory::PhysicalMemory::new(1 << 20);
        let mut next = 2u64;
        let mut alloc = || {
            next += 1;
            Some(next - 1)
        };
        let flags = pte::R | pte::W | pte::U | pte::A | pte::D;
        sv39::map(&mut mem, 1, 0x1000, 0x8000, 0, flags, &mut alloc).unwrap();
        let m = Sv39::new(Satp::sv39(0, 1), 1 << 20).unwrap();
        let t = m.explain(&mem, VirtAddr::new(0x1234), Access::Read);
        let out = svg(&[View::of(&t, None, None, 1 << 20)]);
        let doc = crate::render::svg::tests::parse(&out);
        crate::render::svg::tests::every_shape_has_a_title(&doc);
        let walked = doc
            .descendants()
            .filter(|n| n.attribute("data-valid") == Some("true"))
            .count();
        assert_eq!(walked, 3, "{out}");
        assert!(out.contains("PA 0x8234"), "{out}");
    }
}
