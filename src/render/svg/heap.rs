//! Picture 5, the heap's free list (`vmlab heap`, `malloc`): blocks along
//! the address line, free and allocated with their headers, the holes a
//! fit policy examined and the one it chose, coalescing; and the stack
//! allocator's pointer (`vmlab stack`). One row per step, one section per
//! policy.

use super::{FREE, Svg, process_fill};
use crate::heap::{Fit, Hole};

/// A piece of the heap: a block (named) or a hole (`name` is `None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    /// First byte.
    pub start: u64,
    /// Size in bytes (header included).
    pub size: u64,
    /// The block's name, or `None` for a hole.
    pub name: Option<String>,
    /// Header bytes at the block's front.
    pub header: u64,
}

/// The heap after one step.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Row {
    /// What happened (`1. alloc A (20 bytes) -> 0 ...`), as the text says.
    pub label: String,
    /// The pieces in address order.
    pub pieces: Vec<Piece>,
    /// Holes the policy examined, `(start, size)`, as they were before the
    /// step.
    pub examined: Vec<(u64, u64)>,
    /// The hole it chose, `(start, size)`, before the step.
    pub chosen: Option<(u64, u64)>,
    /// A hole made by merging neighbours, `(start, size)`.
    pub coalesced: Option<(u64, u64)>,
    /// The stack pointer (the stack allocator's next free byte).
    pub pointer: Option<u64>,
    /// The free list and fragmentation, as the text says.
    pub summary: String,
}

/// One policy's rows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Section {
    /// Its heading (`best fit, addrsort, no coalescing`).
    pub title: String,
    /// First byte of the heap.
    pub start: u64,
    /// Bytes in the heap.
    pub size: u64,
    /// The rows.
    pub rows: Vec<Row>,
}

/// The list positions a search under `fit` looked at, given how many it
/// `searched` and the position it `chose`: best and worst fit (and any
/// failed search) look at the whole list from the front; first and next
/// fit stop at the chosen hole, next fit having started `searched - 1`
/// positions before it (wrapping around the list).
pub fn examined(
    free: &[Hole],
    fit: Fit,
    searched: usize,
    chosen: Option<usize>,
) -> Vec<(u64, u64)> {
    let n = free.len();
    let idx: Vec<usize> = match (fit, chosen) {
        (Fit::First | Fit::Next, Some(c)) if n > 0 => (0..searched.min(n))
            .map(|k| (c + n - (searched.min(n) - 1 - k)) % n)
            .collect(),
        _ => (0..searched.min(n)).collect(),
    };
    idx.into_iter()
        .map(|i| (free[i].addr, free[i].size))
        .collect()
}

/// The picture: each section's rows, one address line each.
pub fn svg(title: &str, sections: &[Section]) -> String {
    let (left, width, row_h) = (20.0, 740.0, 92.0);
    let rows: usize = sections.iter().map(|s| s.rows.len()).sum();
    let mut s = Svg::new(
        width + 2.0 * left,
        40.0 + sections.len() as f64 * 30.0 + rows as f64 * row_h + 50.0,
        title,
    );
    s.item("heading", &[]);
    s.text(left, 22.0, title, "start", 14.0, true);
    s.end();
    let mut y = 34.0;
    for sec in sections {
        s.item(&sec.title, &[("policy", sec.title.clone())]);
        y += 22.0;
        s.text(left, y, &sec.title, "start", 13.0, true);
        s.end();
        y += 6.0;
        let end = sec.start.saturating_add(sec.size);
        let x =
            |a: u64| left + (a.saturating_sub(sec.start)) as f64 / sec.size.max(1) as f64 * width;
        for (r, row) in sec.rows.iter().enumerate() {
            s.item(&row.label, &[("step", r.to_string())]);
            s.text(left, y + 14.0, &row.label, "start", 12.0, false);
            s.end();
            let bar = y + 22.0;
            for p in &row.pieces {
                let pend = p.start.saturating_add(p.size);
                let (x0, x1) = (x(p.start), x(pend));
                match &p.name {
                    None => {
                        s.item(
                            &format!("hole [{}, {}), {} bytes free", p.start, pend, p.size),
                            &[
                                ("region", "free".into()),
                                ("start", super::hex(p.start)),
                                ("end", super::hex(pend)),
                                ("size", p.size.to_string()),
                            ],
                        );
                        s.rect(x0, bar, x1 - x0, 28.0, FREE, 1.0);
                        fit_label(&mut s, x0, x1, bar + 19.0, &format!("free {}", p.size));
                    }
                    Some(name) => {
                        s.item(
                            &format!(
                                "block {name} [{}, {}), {} bytes{}",
                                p.start,
                                pend,
                                p.size,
                                if p.header > 0 {
                                    format!(" ({} of them its header)", p.header)
                                } else {
                                    String::new()
                                }
                            ),
                            &[
                                ("block", name.clone()),
                                ("region", "used".into()),
                                ("start", super::hex(p.start)),
                                ("end", super::hex(pend)),
                                ("size", p.size.to_string()),
                            ],
                        );
                        let fill = process_fill(name.bytes().map(usize::from).sum::<usize>());
                        s.rect(x0, bar, x1 - x0, 28.0, fill, 1.0);
                        if p.header > 0 {
                            let xh = x(p.start.saturating_add(p.header).min(pend));
                            s.rect(x0, bar, xh - x0, 28.0, "#555555", 1.0);
                        }
                        fit_label(&mut s, x0, x1, bar + 19.0, &format!("{name} {}", p.size));
                    }
                }
                s.end();
            }
            for &(a, sz) in &row.examined {
                s.item(
                    &format!("examined by the policy: hole at {a}, {sz} bytes"),
                    &[("examined", super::hex(a))],
                );
                s.outline(
                    x(a) + 1.0,
                    bar - 3.0,
                    x(a.saturating_add(sz)) - x(a) - 2.0,
                    34.0,
                    "3 2",
                );
                s.end();
            }
            if let Some((a, sz)) = row.chosen {
                s.item(
                    &format!("chosen: the hole at {a} ({sz} bytes)"),
                    &[("chosen", super::hex(a)), ("chosen-size", sz.to_string())],
                );
                s.outline(
                    x(a),
                    bar - 5.0,
                    x(a.saturating_add(sz)) - x(a),
                    38.0,
                    "none",
                );
                s.text(
                    (x(a) + x(a.saturating_add(sz))) / 2.0,
                    bar + 44.0,
                    "^ chosen",
                    "middle",
                    11.0,
                    true,
                );
                s.end();
            }
            if let Some((a, sz)) = row.coalesced {
                s.item(
                    &format!(
                        "coalesced: neighbouring holes merged into [{a}, {})",
                        a.saturating_add(sz)
                    ),
                    &[("coalesced", super::hex(a))],
                );
                s.outline(x(a), bar - 5.0, x(a.saturating_add(sz)) - x(a), 38.0, "8 3");
                s.text(
                    (x(a) + x(a.saturating_add(sz))) / 2.0,
                    bar + 44.0,
                    "coalesced",
                    "middle",
                    11.0,
                    true,
                );
                s.end();
            }
            if let Some(p) = row.pointer {
                s.item(
                    &format!("stack pointer at {p}"),
                    &[("pointer", super::hex(p))],
                );
                s.arrow(x(p), bar + 44.0, x(p), bar + 31.0);
                s.text(
                    x(p) + 4.0,
                    bar + 44.0,
                    &format!("pointer {p}"),
                    "start",
                    11.0,
                    true,
                );
                s.end();
            }
            s.item("addresses and the free list", &[]);
            s.mono(
                x(sec.start),
                bar + 40.0,
                &sec.start.to_string(),
                "start",
                9.0,
            );
            s.mono(x(end), bar + 40.0, &end.to_string(), "end", 9.0);
            s.text(
                left + width / 2.0,
                bar + 60.0,
                &row.summary,
                "middle",
                10.5,
                false,
            );
            s.end();
            y += row_h;
        }
    }
    s.item("legend", &[]);
    s.rect(left, y + 12.0, 14.0, 12.0, FREE, 1.0);
    s.text(
        left + 18.0,
        y + 22.0,
        "free (hatched)",
        "start",
        11.0,
        false,
    );
    s.rect(left + 120.0, y + 12.0, 14.0, 12.0, "#555555", 1.0);
    s.text(left + 138.0, y + 22.0, "header", "start", 11.0, false);
    s.outline(left + 210.0, y + 11.0, 14.0, 14.0, "3 2");
    s.text(left + 228.0, y + 22.0, "examined", "start", 11.0, false);
    s.outline(left + 310.0, y + 11.0, 14.0, 14.0, "none");
    s.text(left + 328.0, y + 22.0, "chosen", "start", 11.0, false);
    s.end();
    s.fit_height(y + 40.0);
    s.finish()
}

/// A label inside `[x0, x1)` when it fits.
fn fit_label(s: &mut Svg, x0: f64, x1: f64, y: f64, text: &str) {
    let need = 6.5 * text.len() as f64 + 4.0;
    if x1 - x0 >= need {
        s.text((x0 + x1) / 2.0, y, text, "middle", 11.0, false);
    } else if x1 - x0 >= 14.0 {
        let short: String = text
            .chars()
            .take(((x1 - x0 - 4.0) / 6.5) as usize)
            .collect();
        s.text((x0 + x1) / 2.0, y, &short, "middle", 11.0, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holes(v: &[(u64, u64)]) -> Vec<Hole> {
        v.iter().map(|&(addr, size)| Hole { addr, size }).collect()
    }

    #[test]
    fn rows_draw_blocks_headers_holes_and_marks() {
        let piece = |start, size, name: Option<&str>| Piece {
            start,
            size,
            name: name.map(str::to_string),
            header: if name.is_some() { 4 } else { 0 },
        };
        let section = Section {
            title: "first fit".into(),
            start: 0,
            size: 100,
            rows: vec![Row {
                label: "1. alloc A (20 bytes) -> 0".into(),
                pieces: vec![piece(0, 24, Some("A")), piece(24, 76, None)],
                examined: vec![(0, 100)],
                chosen: Some((0, 100)),
                coalesced: None,
                pointer: Some(24),
                summary: "free 76".into(),
            }],
        };
        let out = svg("Heap", &[section]);
        let doc = crate::render::svg::tests::parse(&out);
        crate::render::svg::tests::every_shape_has_a_title(&doc);
        let block = crate::render::svg::tests::with_attr(&doc, "data-block", "A");
        assert_eq!(block.len(), 1);
        assert_eq!(block[0].attribute("data-end"), Some("0x18"));
        assert!(block[0].children().any(|n| n.has_tag_name("title")
            && n.text().is_some_and(|t| t.contains("4 of them its header"))));
        assert_eq!(
            crate::render::svg::tests::with_attr(&doc, "data-chosen", "0x0").len(),
            1
        );
        assert_eq!(
            crate::render::svg::tests::with_attr(&doc, "data-pointer", "0x18").len(),
            1
        );
    }

    #[test]
    fn first_and_next_fit_examine_up_to_the_chosen_hole() {
        let free = holes(&[(0, 16), (28, 24), (68, 32)]);
        assert_eq!(examined(&free, Fit::First, 2, Some(1)), [(0, 16), (28, 24)]);
        assert_eq!(examined(&free, Fit::Next, 2, Some(0)), [(68, 32), (0, 16)]);
        assert_eq!(examined(&free, Fit::Best, 3, Some(1)).len(), 3);
        assert_eq!(examined(&free, Fit::First, 3, None).len(), 3);
    }
}
