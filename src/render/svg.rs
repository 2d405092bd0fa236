//! The one SVG renderer: a small builder every picture uses (the CLI's
//! `--svg`/`--html` and the web page alike), and one file per picture under
//! `svg/`.
//!
//! What the builder guarantees, so that each picture need not:
//! - well-formed XML: `xmlns`, `viewBox`, `width`/`height`, every text and
//!   attribute value escaped;
//! - a `<title>` on every drawn element (screen readers, hover): shapes are
//!   drawn inside [`Svg::item`] groups that carry the title and the
//!   `data-*` attributes naming what they draw (`data-process`,
//!   `data-region`, `data-start`, `data-end` in hex like `0x400`);
//! - greyscale-readable fills: free memory is hatched, the OS is
//!   cross-hatched, faults are dotted, and every piece carries a text label,
//!   so that nothing relies on colour alone.

pub mod address_space;
pub mod context_switch;
pub mod cost;
pub mod curve;
pub mod frames;
pub mod heap;
pub mod memory_map;
pub mod tlb;
pub mod tlb_curve;
pub mod translation;

use std::fmt::Write;

/// Escapes `s` for XML text and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // XML 1.0 forbids most control characters, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// An address as the pictures write it: `0x400`.
pub fn hex(v: u64) -> String {
    format!("{v:#x}")
}

/// [`hex`] for an end that may be 2^64 (the top of a 64-bit space).
pub fn hex_wide(v: u128) -> String {
    format!("{v:#x}")
}

/// Fill of a process's piece number `i`: light colours that keep dark text
/// readable, told apart in greyscale by their labels.
pub fn process_fill(i: usize) -> &'static str {
    const FILLS: [&str; 8] = [
        "#a6c8e8", "#f5c28f", "#a8d5a0", "#f1a7a8", "#b5dcd8", "#f3e09b", "#d3b8d0", "#cfb8a6",
    ];
    FILLS[i % FILLS.len()]
}

/// Fill for free memory (a hatch pattern defined by [`Svg::finish`]).
pub const FREE: &str = "url(#hatch)";
/// Fill for the OS's region (a cross-hatch pattern).
pub const OS: &str = "url(#cross)";
/// Fill for a fault (a dotted pattern).
pub const FAULT: &str = "url(#dots)";
/// Fill for unused virtual space (sparse hatch).
pub const UNUSED: &str = "url(#sparse)";

/// A picture under construction. Coordinates are in pixels; the picture is
/// `width` by `height` with a matching `viewBox`.
pub struct Svg {
    width: f64,
    height: f64,
    title: String,
    body: String,
    open: usize,
}

impl Svg {
    /// A new picture with its accessible name `title` (the SVG's own
    /// `<title>`).
    pub fn new(width: f64, height: f64, title: &str) -> Svg {
        Svg {
            width,
            height,
            title: title.to_string(),
            body: String::new(),
            open: 0,
        }
    }

    /// Grows the picture to at least `height` pixels tall.
    pub fn fit_height(&mut self, height: f64) {
        self.height = self.height.max(height);
    }

    /// Opens a group that draws one thing: its `<title>` (hover text) and
    /// `data-*` attributes (name without the `data-` prefix, value). Close
    /// it with [`Svg::end`].
    pub fn item(&mut self, title: &str, data: &[(&str, String)]) {
        let _ = write!(self.body, "<g");
        for (k, v) in data {
            let _ = write!(self.body, r#" data-{k}="{}""#, esc(v));
        }
        let _ = writeln!(self.body, "><title>{}</title>", esc(title));
        self.open += 1;
    }

    /// Closes the innermost [`Svg::item`] group.
    pub fn end(&mut self) {
        if self.open > 0 {
            self.open -= 1;
            self.body.push_str("</g>\n");
        }
    }

    /// A rectangle with `fill` and a dark outline (`stroke_width` pixels).
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, stroke_width: f64) {
        let _ = writeln!(
            self.body,
            r##"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}" stroke="#222" stroke-width="{stroke_width}"/>"##,
            w.max(0.0),
            h.max(0.0),
            esc(fill)
        );
    }

    /// A dashed rectangle outline (something examined, or marked).
    pub fn outline(&mut self, x: f64, y: f64, w: f64, h: f64, dash: &str) {
        let _ = writeln!(
            self.body,
            r##"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="#000" stroke-width="2" stroke-dasharray="{dash}"/>"##,
            w.max(0.0),
            h.max(0.0)
        );
    }

    /// Text at (`x`, `y`), baseline; `anchor` is `start`, `middle` or `end`;
    /// `size` in pixels; `bold` for headings.
    pub fn text(&mut self, x: f64, y: f64, s: &str, anchor: &str, size: f64, bold: bool) {
        let _ = writeln!(
            self.body,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" font-size="{size}"{}>{}</text>"#,
            if bold { r#" font-weight="bold""# } else { "" },
            esc(s)
        );
    }

    /// The note that `count` more `what` (plural) did not fit the picture:
    /// "... 5 more sets not drawn" at (x, y), as its own item, so that a
    /// reader of the SVG's titles sees it too.
    pub fn not_drawn(&mut self, x: f64, y: f64, count: u64, what: &str) {
        self.item(&format!("more {what}"), &[]);
        let note = format!("... {count} more {what} not drawn");
        self.text(x, y, &note, "start", 11.0, false);
        self.end();
    }

    /// A monospaced text (addresses, bits).
    pub fn mono(&mut self, x: f64, y: f64, s: &str, anchor: &str, size: f64) {
        let _ = writeln!(
            self.body,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" font-size="{size}" font-family="monospace" xml:space="preserve">{}</text>"#,
            esc(s)
        );
    }

    /// A straight line; `dash` empty for solid.
    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, width: f64, dash: &str) {
        let d = if dash.is_empty() {
            String::new()
        } else {
            format!(r#" stroke-dasharray="{dash}""#)
        };
        let _ = writeln!(
            self.body,
            r##"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="#222" stroke-width="{width}"{d}/>"##
        );
    }

    /// A line with an arrow head at (`x2`, `y2`).
    pub fn arrow(&mut self, x1: f64, y1: f64, x2: f64, y2: f64) {
        let _ = writeln!(
            self.body,
            r##"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="#222" stroke-width="1.5" marker-end="url(#arrow)"/>"##
        );
    }

    /// A circle (the adder).
    pub fn circle(&mut self, cx: f64, cy: f64, r: f64, fill: &str) {
        let _ = writeln!(
            self.body,
            r##"<circle cx="{cx:.1}" cy="{cy:.1}" r="{r:.1}" fill="{}" stroke="#222" stroke-width="1.5"/>"##,
            esc(fill)
        );
    }

    /// The finished document: the `<svg>` root with `xmlns`, `viewBox`,
    /// size, the fill patterns, the title and the body.
    pub fn finish(mut self) -> String {
        while self.open > 0 {
            self.end();
        }
        let (w, h) = (self.width.ceil(), self.height.ceil());
        let mut o = String::with_capacity(self.body.len() + 1200);
        let _ = writeln!(
            o,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12" role="img">"#
        );
        let _ = writeln!(o, "<title>{}</title>", esc(&self.title));
        o.push_str(DEFS);
        let _ = writeln!(
            o,
            r##"<rect x="0" y="0" width="{w}" height="{h}" fill="#fff"><title>background</title></rect>"##
        );
        o.push_str(&self.body);
        o.push_str("</svg>\n");
        o
    }
}

/// Patterns and the arrow head, shared by every picture (`url(#hatch)`,
/// `url(#cross)`, `url(#dots)`, `url(#sparse)`, `url(#arrow)`). A page
/// that inlines many pictures and hides some of them puts these once in a
/// visible place first, since browsers do not paint patterns from hidden
/// parts of the page.
pub const DEFS: &str = r##"<defs>
<pattern id="hatch" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="8" height="8" fill="#fff"/><line x1="0" y1="0" x2="0" y2="8" stroke="#888" stroke-width="2"/></pattern>
<pattern id="sparse" width="12" height="12" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)"><rect width="12" height="12" fill="#fafafa"/><line x1="0" y1="0" x2="0" y2="12" stroke="#ccc" stroke-width="1"/></pattern>
<pattern id="cross" width="8" height="8" patternUnits="userSpaceOnUse"><rect width="8" height="8" fill="#d9d9d9"/><path d="M0 0L8 8M8 0L0 8" stroke="#777" stroke-width="1"/></pattern>
<pattern id="dots" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#f7c6c6"/><circle cx="3" cy="3" r="1.2" fill="#7a0000"/></pattern>
<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#222"/></marker>
</defs>
"##;

/// Heights for pieces stacked along an axis of `total` pixels: each piece
/// gets at least `min` pixels (room for its label) and the rest is shared
/// in proportion to the sizes. Returns one height per size.
pub fn heights(sizes: &[u64], total: f64, min: f64) -> Vec<f64> {
    let n = sizes.len() as f64;
    let spare = (total - n * min).max(0.0);
    let sum: f64 = sizes.iter().map(|&s| s as f64).sum();
    sizes
        .iter()
        .map(|&s| {
            if sum > 0.0 {
                min + spare * (s as f64 / sum)
            } else {
                min + spare / n.max(1.0)
            }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Parses `svg` as XML and returns the document (panics with the error
    /// and the text when it is not well-formed).
    pub(crate) fn parse(svg: &str) -> roxmltree::Document<'_> {
        match roxmltree::Document::parse(svg) {
            Ok(d) => d,
            Err(e) => panic!("not well-formed XML: {e}\n{svg}"),
        }
    }

    /// The groups (elements with a `data-region` or other `data-*`) whose
    /// attribute `key` equals `value`.
    pub(crate) fn with_attr<'a>(
        doc: &'a roxmltree::Document<'a>,
        key: &str,
        value: &str,
    ) -> Vec<roxmltree::Node<'a, 'a>> {
        doc.descendants()
            .filter(|n| n.attribute(key) == Some(value))
            .collect()
    }

    /// Every drawn shape sits in a group with a `<title>` (or is one).
    pub(crate) fn every_shape_has_a_title(doc: &roxmltree::Document) {
        for n in doc.descendants().filter(|n| {
            matches!(
                n.tag_name().name(),
                "rect" | "line" | "circle" | "text" | "path"
            )
        }) {
            if n.ancestors()
                .any(|a| matches!(a.tag_name().name(), "defs" | "pattern" | "marker"))
            {
                continue;
            }
            let titled = n.ancestors().any(|a| {
                a.children().any(|c| c.tag_name().name() == "title") && a != doc.root_element()
            }) || n.children().any(|c| c.tag_name().name() == "title");
            assert!(
                titled,
                "untitled {:?} at {:?}",
                n.tag_name().name(),
                n.range()
            );
        }
    }

    #[test]
    fn escaping_makes_well_formed_xml() {
        let mut s = Svg::new(100.0, 50.0, "a <b> & \"c\"");
        s.item("x < y & 'z'", &[("process", "P<1>".into())]);
        s.text(1.0, 2.0, "<&>\u{1}", "start", 10.0, false);
        s.end();
        let out = s.finish();
        let doc = parse(&out);
        assert_eq!(doc.root_element().attribute("viewBox"), Some("0 0 100 50"));
        assert_eq!(with_attr(&doc, "data-process", "P<1>").len(), 1);
        every_shape_has_a_title(&doc);
    }

    #[test]
    fn heights_keep_the_minimum_and_fill_the_total() {
        let h = heights(&[1, 1000, 3], 300.0, 20.0);
        assert!(h.iter().all(|&x| x >= 20.0));
        assert!((h.iter().sum::<f64>() - 300.0).abs() < 1e-6);
        assert!(h[1] > h[0]);
    }
}
