//! Picture: a TLB's contents — one row per set, one cell per way, each
//! valid entry showing its address space, its virtual page and the frame
//! it maps to (global entries marked), empty ways dashed; its shape,
//! policy and counts in the heading.

use super::{Svg, hex};
use crate::kernel::event::TlbSlot;

/// The TLB to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct TlbPicture {
    /// `16 entries, 4-way, LRU, ASID-tagged: 12 hits, 4 misses`.
    pub heading: String,
    /// Sets and ways.
    pub sets: u64,
    /// Ways per set.
    pub ways: u64,
    /// Whether entries carry their ASID (else the TLB is flushed at each
    /// switch and the tag means nothing).
    pub tagged: bool,
    /// The valid entries.
    pub slots: Vec<TlbSlot>,
}

/// At most this many sets are drawn (the rest are summed up).
const MAX_SETS: u64 = 64;
/// Ways per row of cells; a wider set wraps.
const PER_ROW: u64 = 8;

/// The picture as an SVG document.
pub fn svg(t: &TlbPicture) -> String {
    let sets = t.sets.clamp(1, MAX_SETS);
    let rows_per_set = t.ways.div_ceil(PER_ROW).max(1);
    let cols = t.ways.clamp(1, PER_ROW);
    let (cw, ch, left, top) = (118.0, 38.0, 60.0, 52.0);
    let height = top + ch * (sets * rows_per_set) as f64 + 30.0;
    let mut s = Svg::new(left + cw * cols as f64 + 20.0, height, &t.heading);
    s.item("heading", &[]);
    s.text(10.0, 20.0, "TLB contents", "start", 14.0, true);
    s.text(10.0, 38.0, &t.heading, "start", 11.0, false);
    s.end();
    for set in 0..sets {
        let y0 = top + ch * (set * rows_per_set) as f64;
        if t.sets > 1 {
            s.item(&format!("set {set}"), &[("set", set.to_string())]);
            s.text(
                left - 8.0,
                y0 + 22.0,
                &format!("set {set}"),
                "end",
                10.0,
                false,
            );
            s.end();
        }
        for way in 0..t.ways {
            let x = left + cw * (way % PER_ROW) as f64;
            let y = y0 + ch * (way / PER_ROW) as f64;
            match t.slots.iter().find(|e| e.set == set && e.way == way) {
                Some(e) => {
                    let tag = if e.global {
                        "global".to_string()
                    } else if t.tagged {
                        format!("asid {}", e.asid)
                    } else {
                        "untagged".to_string()
                    };
                    s.item(
                        &format!(
                            "set {set} way {way}: {tag}, page {} ({} bytes) -> frame {}",
                            hex(e.va),
                            e.page_size,
                            hex(e.pa)
                        ),
                        &[
                            ("set", set.to_string()),
                            ("way", way.to_string()),
                            ("va", e.va.to_string()),
                            ("pa", e.pa.to_string()),
                        ],
                    );
                    let fill = if e.global || !t.tagged {
                        "#e8e8e8"
                    } else {
                        super::process_fill(usize::from(e.asid))
                    };
                    s.rect(x, y, cw - 4.0, ch - 4.0, fill, 1.0);
                    s.mono(
                        x + 4.0,
                        y + 14.0,
                        &format!("{} -> {}", hex(e.va), hex(e.pa)),
                        "start",
                        9.0,
                    );
                    s.text(x + 4.0, y + 28.0, &tag, "start", 9.0, false);
                    s.end();
                }
                None => {
                    s.item(
                        &format!("set {set} way {way}: empty"),
                        &[("set", set.to_string()), ("way", way.to_string())],
                    );
                    s.outline(x, y, cw - 4.0, ch - 4.0, "4,3");
                    s.text(
                        x + (cw - 4.0) / 2.0,
                        y + 22.0,
                        "empty",
                        "middle",
                        9.0,
                        false,
                    );
                    s.end();
                }
            }
        }
    }
    if t.sets > sets {
        s.not_drawn(10.0, height - 10.0, t.sets - sets, "sets");
    }
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::svg::tests::{every_shape_has_a_title, parse};

    #[test]
    fn sets_beyond_the_picture_are_counted_in_a_note() {
        let text = svg(&TlbPicture {
            heading: "1024 entries, 4-way".into(),
            sets: 256,
            ways: 4,
            tagged: true,
            slots: vec![],
        });
        every_shape_has_a_title(&parse(&text));
        assert!(text.contains("<title>more sets</title>"), "{text}");
        assert!(text.contains("... 192 more sets not drawn"), "{text}");
    }

    #[test]
    fn entries_and_empty_ways_are_drawn_with_titles() {
        let t = TlbPicture {
            heading: "4 entries, 2-way".into(),
            sets: 2,
            ways: 2,
            tagged: true,
            slots: vec![TlbSlot {
                set: 1,
                way: 0,
                asid: 2,
                global: false,
                va: 0x3000,
                page_size: 4096,
                pa: 0x9000,
            }],
        };
        let text = svg(&t);
        every_shape_has_a_title(&parse(&text));
        assert!(
            text.contains("set 1 way 0: asid 2, page 0x3000 (4096 bytes) -&gt; frame 0x9000")
                || text.contains("set 1 way 0: asid 2, page 0x3000 (4096 bytes) -> frame 0x9000"),
            "{text}"
        );
        assert_eq!(text.matches(": empty</title>").count(), 3, "{text}");
        // Flushed at each switch: the entry's ASID tag means nothing.
        let untagged = svg(&TlbPicture { tagged: false, ..t });
        assert!(
            untagged.contains("set 1 way 0: untagged, page 0x3000"),
            "{untagged}"
        );
    }
}
