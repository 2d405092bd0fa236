//! Picture 1, the address space of a process (virtual): code, data, heap,
//! stack (and xv6's guard page), each region with its range; the heap break
//! and the stack pointer marked, growth arrows, the unused space shown as
//! unused. Address 0 at the bottom, one column per process.

use super::{Svg, UNUSED, heights, hex, hex_wide, process_fill};

/// One region of a virtual address space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    /// `code`, `data`, `heap`, `stack`, `guard` (or a segment's name).
    pub what: String,
    /// First virtual address.
    pub start: u64,
    /// Size in bytes.
    pub size: u64,
}

/// A process's address space as the picture needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Space {
    /// The process's pid (its fill colour).
    pub pid: u32,
    /// Its name.
    pub process: String,
    /// `[0, size)` is the address space (2^64 for a 64-bit segmented one).
    pub size: u128,
    /// Its regions (any order).
    pub regions: Vec<Region>,
    /// The stack pointer, when known.
    pub sp: Option<u64>,
    /// A word on its state (`running`, `ready`, `killed`, ...).
    pub state: String,
}

/// The address spaces side by side (at most 6 are drawn; the rest are
/// named in a note).
pub fn svg(spaces: &[Space]) -> String {
    let shown = &spaces[..spaces.len().min(6)];
    let col = 290.0;
    let (top, bar_h, bar_w) = (50.0, 360.0, 120.0);
    let mut s = Svg::new(
        (col * shown.len().max(1) as f64 + 20.0).max(300.0),
        top + bar_h + 50.0,
        "Virtual address spaces",
    );
    if shown.is_empty() {
        let mut s = Svg::new(300.0, 40.0, "Virtual address spaces");
        s.item("no process", &[]);
        s.text(
            10.0,
            24.0,
            "No process has an address space yet.",
            "start",
            13.0,
            false,
        );
        s.end();
        return s.finish();
    }
    for (k, sp) in shown.iter().enumerate() {
        column(&mut s, sp, 20.0 + k as f64 * col + 70.0, top, bar_w, bar_h);
    }
    if spaces.len() > shown.len() {
        let rest: Vec<&str> = spaces[shown.len()..]
            .iter()
            .map(|s| s.process.as_str())
            .collect();
        let note = format!("not drawn: {}", rest.join(", "));
        s.item(&note, &[]);
        s.text(10.0, top + bar_h + 40.0, &note, "start", 11.0, false);
        s.end();
    }
    s.finish()
}

fn column(s: &mut Svg, sp: &Space, left: f64, top: f64, bar_w: f64, bar_h: f64) {
    s.item(
        &format!(
            "{}'s virtual address space [0x0, {}), {}",
            sp.process,
            hex_wide(sp.size),
            sp.state
        ),
        &[("process", sp.process.clone()), ("pid", sp.pid.to_string())],
    );
    s.text(
        left + bar_w / 2.0,
        20.0,
        &format!("{} (pid {})", sp.process, sp.pid),
        "middle",
        14.0,
        true,
    );
    s.text(
        left + bar_w / 2.0,
        36.0,
        &format!("virtual, {} bytes, {}", sp.size, sp.state),
        "middle",
        11.0,
        false,
    );
    s.end();
    // Rows: regions and the unused gaps between them, in address order.
    let mut regions: Vec<&Region> = sp.regions.iter().filter(|r| r.size > 0).collect();
    regions.sort_by_key(|r| r.start);
    // Ends as u128: the top of a 64-bit space is 2^64.
    let mut rows: Vec<(u128, u128, Option<&Region>)> = Vec::new();
    let mut at = 0u128;
    for r in &regions {
        let (start, end) = (
            u128::from(r.start),
            u128::from(r.start) + u128::from(r.size),
        );
        if start > at {
            rows.push((at, start, None));
        }
        rows.push((start.max(at), end, Some(r)));
        at = at.max(end);
    }
    if at < sp.size {
        rows.push((at, sp.size, None));
    }
    let sizes: Vec<u64> = rows
        .iter()
        .map(|r| u64::try_from(r.1.saturating_sub(r.0)).unwrap_or(u64::MAX))
        .collect();
    let hs = heights(&sizes, bar_h, 24.0);
    let mut y = top + bar_h;
    for ((start, end, r), h) in rows.iter().zip(&hs) {
        y -= h;
        let range = format!("[{}, {})", hex_wide(*start), hex_wide(*end));
        match r {
            Some(r) => {
                s.item(
                    &format!("{}'s {} {range}, {} bytes", sp.process, r.what, r.size),
                    &[
                        ("process", sp.process.clone()),
                        ("region", r.what.clone()),
                        ("start", hex_wide(*start)),
                        ("end", hex_wide(*end)),
                    ],
                );
                let fill = if r.what == "guard" {
                    super::OS
                } else {
                    process_fill(sp.pid as usize)
                };
                s.rect(left, y, bar_w, *h, fill, 1.0);
                s.text(
                    left + bar_w / 2.0,
                    y + h / 2.0 + 4.0,
                    &format!("{} {}", r.what, r.size),
                    "middle",
                    12.0,
                    true,
                );
                // Growth arrows and marks at the growing edge.
                if r.what == "heap" {
                    s.arrow(
                        left + bar_w - 12.0,
                        y + 4.0 + 14.0,
                        left + bar_w - 12.0,
                        y + 3.0,
                    );
                    s.mono(
                        left + bar_w + 6.0,
                        y + 4.0,
                        &format!("brk {}", hex_wide(*end)),
                        "start",
                        10.0,
                    );
                } else if r.what == "stack" && !sp.regions.iter().any(|g| g.what == "guard") {
                    // A stack grows down (xv6's, above its guard page, does
                    // not grow).
                    s.arrow(
                        left + bar_w - 12.0,
                        y + h - 18.0,
                        left + bar_w - 12.0,
                        y + h - 3.0,
                    );
                }
            }
            None => {
                s.item(
                    &format!(
                        "unused {range}, {} bytes (no memory behind it)",
                        end - start
                    ),
                    &[
                        ("region", "unused".into()),
                        ("start", hex_wide(*start)),
                        ("end", hex_wide(*end)),
                    ],
                );
                s.rect(left, y, bar_w, *h, UNUSED, 0.5);
                s.text(
                    left + bar_w / 2.0,
                    y + h / 2.0 + 4.0,
                    "unused",
                    "middle",
                    11.0,
                    false,
                );
            }
        }
        s.mono(left - 4.0, y + h, &hex_wide(*start), "end", 10.0);
        s.end();
    }
    s.item("top of the address space", &[]);
    s.mono(left - 4.0, top + 4.0, &hex_wide(sp.size), "end", 10.0);
    s.end();
    // Where an address sits on the bar: inside its row, in proportion.
    let y_of = |a: u64| {
        let mut bottom = top + bar_h;
        for ((start, end, _), h) in rows.iter().zip(&hs) {
            if u128::from(a) < *end || std::ptr::eq(h, hs.last().unwrap_or(h)) {
                let span = end.saturating_sub(*start).max(1) as f64;
                let frac = (u128::from(a).saturating_sub(*start) as f64 / span).clamp(0.0, 1.0);
                return bottom - frac * h;
            }
            bottom -= h;
        }
        top
    };
    // A heap of size 0 still has its break.
    for r in sp
        .regions
        .iter()
        .filter(|r| r.what == "heap" && r.size == 0)
    {
        let yy = y_of(r.start);
        s.item(
            &format!("the heap is empty: its break is at {}", hex(r.start)),
            &[("brk", hex(r.start))],
        );
        s.line(left, yy, left + bar_w + 4.0, yy, 2.0, "4 2");
        s.mono(
            left + bar_w + 6.0,
            yy + 14.0,
            &format!("brk {}", hex(r.start)),
            "start",
            10.0,
        );
        s.end();
    }
    if let Some(v) = sp.sp {
        let yy = y_of(v);
        s.item(
            &format!("stack pointer sp = {} (as last saved or restored)", hex(v)),
            &[("sp", hex(v))],
        );
        s.arrow(left + bar_w + 40.0, yy, left + bar_w + 2.0, yy);
        s.mono(
            left + bar_w + 6.0,
            yy - 4.0,
            &format!("sp {}", hex(v)),
            "start",
            10.0,
        );
        s.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::svg::tests::{every_shape_has_a_title, parse, with_attr};

    #[test]
    fn regions_and_unused_gaps_in_address_order() {
        let sp = Space {
            pid: 1,
            process: "P1".into(),
            size: 0x4000,
            regions: vec![
                Region {
                    what: "stack".into(),
                    start: 0x3000,
                    size: 0x1000,
                },
                Region {
                    what: "code".into(),
                    start: 0,
                    size: 0x400,
                },
                Region {
                    what: "heap".into(),
                    start: 0x400,
                    size: 0x400,
                },
            ],
            sp: Some(0x3ff0),
            state: "running".into(),
        };
        let out = svg(&[sp]);
        let doc = parse(&out);
        every_shape_has_a_title(&doc);
        let unused = with_attr(&doc, "data-region", "unused");
        assert_eq!(unused.len(), 1);
        assert_eq!(unused[0].attribute("data-start"), Some("0x800"));
        assert_eq!(unused[0].attribute("data-end"), Some("0x3000"));
        assert!(out.contains("brk 0x800"));
        assert_eq!(with_attr(&doc, "data-sp", "0x3ff0").len(), 1);
    }
}
