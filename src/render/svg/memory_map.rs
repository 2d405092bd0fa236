//! Picture 2, the physical memory map: the OS's region at 0, each process's
//! pieces (by process and region), the free holes with their sizes, the
//! largest hole and the external fragmentation figure. Address 0 is at the
//! bottom, as in the address-space picture.

use super::{FREE, OS, Svg, heights, hex, process_fill};

/// A piece of physical memory a process holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    /// The owner's pid (its fill).
    pub pid: u32,
    /// The owner's name (`P1`).
    pub process: String,
    /// What it holds (`image`, `code`, `heap`, `stack`, ...).
    pub region: String,
    /// First physical byte.
    pub start: u64,
    /// Size in bytes.
    pub size: u64,
}

/// The map of `memory` bytes with the OS in `[0, os_size)`, the given
/// `pieces` (any order; overlapping pieces, as under time sharing, are
/// drawn side by side in their rows), and `notes` (such as processes
/// swapped out to disk) listed under the figures.
pub fn svg(memory: u64, os_size: u64, pieces: &[Piece], notes: &[String]) -> String {
    // Rows in address order: OS, pieces, holes.
    enum Row<'a> {
        Os,
        Used(Vec<&'a Piece>),
        Hole,
    }
    let mut sorted: Vec<&Piece> = pieces.iter().filter(|p| p.size > 0).collect();
    sorted.sort_by_key(|p| (p.start, p.pid));
    let mut rows: Vec<(u64, u64, Row)> = Vec::new();
    if os_size > 0 {
        rows.push((0, os_size.min(memory), Row::Os));
    }
    let mut at = os_size.min(memory);
    let mut i = 0;
    while i < sorted.len() {
        let p = sorted[i];
        let start = p.start.max(at);
        if start > at {
            rows.push((at, start, Row::Hole));
        }
        // Pieces starting at the same address share a row.
        let mut same = vec![p];
        let mut end = p.start.saturating_add(p.size);
        while i + 1 < sorted.len() && sorted[i + 1].start == p.start {
            i += 1;
            same.push(sorted[i]);
            end = end.max(sorted[i].start.saturating_add(sorted[i].size));
        }
        if end > start {
            rows.push((start, end, Row::Used(same)));
        }
        at = at.max(end);
        i += 1;
    }
    if at < memory {
        rows.push((at, memory, Row::Hole));
    }
    let holes: Vec<u64> = rows
        .iter()
        .filter(|r| matches!(r.2, Row::Hole))
        .map(|r| r.1 - r.0)
        .collect();
    let free_total: u64 = holes.iter().sum();
    let largest = holes.iter().copied().max().unwrap_or(0);
    let frag = if free_total == 0 {
        0.0
    } else {
        1.0 - largest as f64 / free_total as f64
    };

    let (left, bar_w, top, bar_h) = (90.0, 170.0, 34.0, 380.0);
    let mut s = Svg::new(
        480.0,
        top + bar_h + 70.0 + 16.0 * notes.len() as f64,
        "Physical memory map",
    );
    s.item("heading", &[]);
    s.text(
        10.0,
        20.0,
        &format!("Physical memory ({} bytes)", memory),
        "start",
        14.0,
        true,
    );
    s.end();
    let sizes: Vec<u64> = rows.iter().map(|r| r.1 - r.0).collect();
    let hs = heights(&sizes, bar_h, 22.0);
    // Address 0 at the bottom: walk rows upward.
    let mut y = top + bar_h;
    let mut largest_marked = false;
    for ((start, end, row), h) in rows.iter().zip(&hs) {
        let (start, end) = (*start, *end);
        y -= h;
        let size = end - start;
        let range = format!("[{}, {})", hex(start), hex(end));
        match row {
            Row::Os => {
                s.item(
                    &format!("the OS's region {range}, {size} bytes"),
                    &[
                        ("region", "os".into()),
                        ("start", hex(start)),
                        ("end", hex(end)),
                    ],
                );
                s.rect(left, y, bar_w, *h, OS, 1.0);
                label(&mut s, left + bar_w / 2.0, y + h / 2.0 + 4.0, "OS");
            }
            Row::Hole => {
                let is_largest = size == largest && !largest_marked;
                largest_marked |= is_largest;
                s.item(
                    &format!(
                        "free hole {range}, {size} bytes{}",
                        if is_largest {
                            " (the largest hole)"
                        } else {
                            ""
                        }
                    ),
                    &[
                        ("region", "free".into()),
                        ("start", hex(start)),
                        ("end", hex(end)),
                        ("size", size.to_string()),
                    ],
                );
                s.rect(left, y, bar_w, *h, FREE, 1.0);
                let text = if is_largest {
                    format!("free {size} (largest)")
                } else {
                    format!("free {size}")
                };
                label(&mut s, left + bar_w / 2.0, y + h / 2.0 + 4.0, &text);
            }
            Row::Used(ps) => {
                let w = bar_w / ps.len() as f64;
                for (k, p) in ps.iter().enumerate() {
                    let pend = p.start.saturating_add(p.size);
                    s.item(
                        &format!(
                            "{}'s {} [{}, {}), {} bytes",
                            p.process,
                            p.region,
                            hex(p.start),
                            hex(pend),
                            p.size
                        ),
                        &[
                            ("process", p.process.clone()),
                            ("pid", p.pid.to_string()),
                            ("region", p.region.clone()),
                            ("start", hex(p.start)),
                            ("end", hex(pend)),
                        ],
                    );
                    let x = left + k as f64 * w;
                    s.rect(x, y, w, *h, process_fill(p.pid as usize), 1.0);
                    label(
                        &mut s,
                        x + w / 2.0,
                        y + h / 2.0 + 4.0,
                        &format!("{} {}", p.process, p.region),
                    );
                    s.end();
                }
                // The row's address labels are drawn below, outside a group.
                s.item(&format!("addresses {range}"), &[]);
            }
        }
        // Addresses: start at the bottom edge, end at the top edge (left),
        // the size at the right.
        s.mono(left - 6.0, y + h, &hex(start), "end", 11.0);
        s.text(
            left + bar_w + 6.0,
            y + h / 2.0 + 4.0,
            &format!("{size} bytes"),
            "start",
            11.0,
            false,
        );
        s.end();
    }
    s.item("top of physical memory", &[]);
    s.mono(left - 6.0, top + 4.0, &hex(memory), "end", 11.0);
    s.end();
    let mut y = top + bar_h + 24.0;
    s.item(
        "free memory and external fragmentation",
        &[
            ("free", free_total.to_string()),
            ("largest-hole", largest.to_string()),
        ],
    );
    s.text(
        10.0,
        y,
        &format!(
            "free {free_total} bytes in {} hole{}, largest hole {largest}",
            holes.len(),
            if holes.len() == 1 { "" } else { "s" }
        ),
        "start",
        12.0,
        false,
    );
    y += 18.0;
    s.text(
        10.0,
        y,
        &format!(
            "external fragmentation 1 - largest/free = {:.0}%",
            frag * 100.0
        ),
        "start",
        12.0,
        false,
    );
    s.end();
    for n in notes {
        y += 16.0;
        s.item(n, &[]);
        s.text(10.0, y, n, "start", 12.0, false);
        s.end();
    }
    s.finish()
}

/// A centred label on a light background, readable over any fill.
fn label(s: &mut Svg, x: f64, y: f64, text: &str) {
    let w = 7.0 * text.len() as f64 + 8.0;
    s.rect(x - w / 2.0, y - 12.0, w, 16.0, "#ffffff", 0.0);
    s.text(x, y, text, "middle", 12.0, false);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::svg::tests::{every_shape_has_a_title, parse, with_attr};

    fn p(pid: u32, start: u64, size: u64) -> Piece {
        Piece {
            pid,
            process: format!("P{pid}"),
            region: "image".into(),
            start,
            size,
        }
    }

    #[test]
    fn holes_between_pieces_and_the_largest_is_named() {
        let out = svg(
            0x4000,
            0x400,
            &[p(1, 0x400, 0x400), p(2, 0x1000, 0x400)],
            &[],
        );
        let doc = parse(&out);
        every_shape_has_a_title(&doc);
        let holes = with_attr(&doc, "data-region", "free");
        let ranges: Vec<(&str, &str)> = holes
            .iter()
            .map(|h| {
                (
                    h.attribute("data-start").unwrap(),
                    h.attribute("data-end").unwrap(),
                )
            })
            .collect();
        assert_eq!(ranges, [("0x800", "0x1000"), ("0x1400", "0x4000")]);
        assert!(out.contains("free 11264 (largest)"), "{out}");
        assert!(out.contains("external fragmentation 1 - largest/free = 15%"));
        assert_eq!(with_attr(&doc, "data-process", "P2").len(), 1);
        assert_eq!(with_attr(&doc, "data-region", "os").len(), 1);
    }

    #[test]
    fn pieces_at_the_same_address_share_a_row() {
        let out = svg(0x8000, 0, &[p(1, 0, 0x8000), p(2, 0, 0x8000)], &[]);
        let doc = parse(&out);
        assert_eq!(with_attr(&doc, "data-region", "image").len(), 2);
        assert!(with_attr(&doc, "data-region", "free").is_empty());
    }
}
