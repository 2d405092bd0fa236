//! Picture: the frame map of paging — physical memory cut into frames,
//! each one a process's page (which process, which virtual page, shared
//! code marked), a page-table page, the OS's, or free. Runs of free frames
//! are drawn as one cell with their count, so a large memory stays a
//! readable picture.

use super::{Svg, hex, process_fill};

/// Who holds a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameUse {
    /// A process's page: the processes mapping it (several for shared
    /// code), the page's virtual address, its permissions.
    Page {
        /// The processes that map it (pid for its colour, name).
        owners: Vec<(usize, String)>,
        /// The page's first virtual address.
        va: u64,
        /// `r-x`, `rw-`.
        perms: String,
    },
    /// A page of a process's page table.
    Table {
        /// The process (index, name).
        owner: (usize, String),
    },
    /// The OS's region.
    Os,
}

/// The frames to draw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameMap {
    /// Bytes per frame.
    pub frame_size: u64,
    /// Frames of physical memory.
    pub frames: u64,
    /// The frames in use, by frame number; every other frame is free.
    pub used: Vec<(u64, FrameUse)>,
    /// Under CLOCK: the frame under the hand.
    pub hand: Option<u64>,
}

/// One cell of the picture: a frame, or a run of free frames.
enum Cell<'a> {
    Frame(u64, &'a FrameUse),
    Free(u64, u64),
}

/// Cells per row, and at most this many cells drawn (the rest summed up).
const PER_ROW: usize = 8;
const MAX_CELLS: usize = 512;

/// The picture as an SVG document.
pub fn svg(m: &FrameMap) -> String {
    let mut used: Vec<&(u64, FrameUse)> = m.used.iter().filter(|(f, _)| *f < m.frames).collect();
    used.sort_by_key(|(f, _)| *f);
    used.dedup_by_key(|(f, _)| *f);
    let mut cells = Vec::new();
    let mut at = 0u64;
    for (f, u) in &used {
        if *f > at {
            cells.push(Cell::Free(at, *f - at));
        }
        cells.push(Cell::Frame(*f, u));
        at = f + 1;
    }
    if at < m.frames {
        cells.push(Cell::Free(at, m.frames - at));
    }
    let shown = cells.len().min(MAX_CELLS);
    let rows = shown.div_ceil(PER_ROW).max(1);
    let (cw, ch, left, top) = (92.0, 40.0, 10.0, 48.0);
    let free: u64 = cells
        .iter()
        .map(|c| if let Cell::Free(_, n) = c { *n } else { 0 })
        .sum();
    let tables = used
        .iter()
        .filter(|(_, u)| matches!(u, FrameUse::Table { .. }))
        .count();
    let title = format!(
        "Frames: {} of {} bytes; {} used ({} page-table pages), {} free",
        m.frames,
        m.frame_size,
        m.frames - free,
        tables,
        free
    );
    let width = left * 2.0 + cw * PER_ROW as f64;
    let mut s = Svg::new(width, top + ch * rows as f64 + 30.0, &title);
    s.item("heading", &[]);
    s.text(left, 20.0, "Physical memory in frames", "start", 14.0, true);
    s.text(left, 36.0, &title, "start", 11.0, false);
    s.end();
    for (i, c) in cells.iter().take(shown).enumerate() {
        let x = left + cw * (i % PER_ROW) as f64;
        let y = top + ch * (i / PER_ROW) as f64;
        match c {
            Cell::Free(first, n) => {
                let what = if *n == 1 {
                    format!("frame {first}: free")
                } else {
                    format!("frames {first}-{}: free ({n})", first + n - 1)
                };
                s.item(
                    &what,
                    &[("frame", first.to_string()), ("free", n.to_string())],
                );
                s.outline(x, y, cw - 4.0, ch - 4.0, "4,3");
                let label = if *n == 1 {
                    format!("{first} free")
                } else {
                    format!("{n} free")
                };
                s.text(
                    x + (cw - 4.0) / 2.0,
                    y + 22.0,
                    &label,
                    "middle",
                    10.0,
                    false,
                );
                s.end();
            }
            Cell::Frame(f, u) => {
                let pa = f.saturating_mul(m.frame_size);
                match u {
                    FrameUse::Page { owners, va, perms } => {
                        let names: Vec<&str> = owners.iter().map(|(_, n)| n.as_str()).collect();
                        let shared = if owners.len() > 1 { ", shared" } else { "" };
                        s.item(
                            &format!(
                                "frame {f} (PA {}): {} page {} {perms}{shared}",
                                hex(pa),
                                names.join(" and "),
                                hex(*va)
                            ),
                            &[
                                ("frame", f.to_string()),
                                ("owner", names.join(",")),
                                ("va", va.to_string()),
                            ],
                        );
                        let fill = process_fill(owners.first().map_or(0, |o| o.0));
                        s.rect(x, y, cw - 4.0, ch - 4.0, fill, 1.0);
                        s.text(
                            x + 4.0,
                            y + 14.0,
                            &format!("{f}: {}", names.join("+")),
                            "start",
                            10.0,
                            true,
                        );
                        s.mono(
                            x + 4.0,
                            y + 28.0,
                            &format!("{} {perms}", hex(*va)),
                            "start",
                            9.0,
                        );
                    }
                    FrameUse::Table { owner } => {
                        s.item(
                            &format!("frame {f} (PA {}): {}'s page table", hex(pa), owner.1),
                            &[("frame", f.to_string()), ("table", owner.1.clone())],
                        );
                        s.rect(x, y, cw - 4.0, ch - 4.0, "#e0e0e0", 1.0);
                        s.text(
                            x + 4.0,
                            y + 14.0,
                            &format!("{f}: table"),
                            "start",
                            10.0,
                            true,
                        );
                        s.text(x + 4.0, y + 28.0, &owner.1, "start", 10.0, false);
                    }
                    FrameUse::Os => {
                        s.item(
                            &format!("frame {f} (PA {}): the OS", hex(pa)),
                            &[("frame", f.to_string())],
                        );
                        s.rect(x, y, cw - 4.0, ch - 4.0, "#c8c8c8", 1.0);
                        s.text(x + 4.0, y + 22.0, &format!("{f}: OS"), "start", 10.0, true);
                    }
                }
                s.end();
                if m.hand == Some(*f) {
                    s.item(
                        &format!("the clock hand points at frame {f}"),
                        &[("hand", f.to_string())],
                    );
                    s.outline(x - 2.0, y - 2.0, cw, ch, "");
                    s.outline(x - 1.0, y - 1.0, cw - 2.0, ch - 2.0, "");
                    s.text(x + cw - 8.0, y + 14.0, "hand", "end", 9.0, true);
                    s.end();
                }
            }
        }
    }
    if cells.len() > shown {
        s.not_drawn(
            left,
            top + ch * rows as f64 + 16.0,
            (cells.len() - shown) as u64,
            "cells",
        );
    }
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::svg::tests::{every_shape_has_a_title, parse};

    #[test]
    fn pages_tables_and_free_runs_are_drawn_with_titles() {
        let m = FrameMap {
            frame_size: 4096,
            frames: 64,
            used: vec![
                (
                    3,
                    FrameUse::Page {
                        owners: vec![(0, "P1".into()), (1, "P2".into())],
                        va: 0,
                        perms: "r-x".into(),
                    },
                ),
                (
                    4,
                    FrameUse::Table {
                        owner: (0, "P1".into()),
                    },
                ),
            ],
            hand: Some(3),
        };
        let text = svg(&m);
        every_shape_has_a_title(&parse(&text));
        assert!(
            text.contains("frame 3 (PA 0x3000): P1 and P2 page 0x0 r-x, shared"),
            "{text}"
        );
        assert!(
            text.contains("frame 4 (PA 0x4000): P1&apos;s page table")
                || text.contains("P1's page table"),
            "{text}"
        );
        assert!(text.contains("frames 0-2: free (3)"), "{text}");
        assert!(text.contains("frames 5-63: free (59)"), "{text}");
        assert!(
            text.contains("2 used (1 page-table pages), 62 free"),
            "{text}"
        );
        assert!(text.contains("the clock hand points at frame 3"), "{text}");
    }
}
