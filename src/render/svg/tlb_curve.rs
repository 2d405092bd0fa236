//! Picture: the TLB chapter's curve (`vmlab tlb-measure --svg`): the time
//! per access against the number of pages touched, on a logarithmic page
//! axis, with a dashed mark at each TLB's size, where the curve must step.

use super::Svg;

/// A TLB level to mark on the page axis.
#[derive(Clone, Debug, PartialEq)]
pub struct TlbLevelMark {
    /// Its name (`data TLB`, `second-level TLB`).
    pub name: String,
    /// Its entries: the number of pages it holds.
    pub entries: u64,
}

/// The curve to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct TlbCurve {
    /// The heading.
    pub title: String,
    /// (pages, nanoseconds per access), pages ascending.
    pub points: Vec<(u64, f64)>,
    /// The TLB sizes.
    pub marks: Vec<TlbLevelMark>,
}

/// The picture as an SVG document.
pub fn svg(c: &TlbCurve) -> String {
    let (left, top, width, height) = (70.0, 44.0, 560.0, 260.0);
    let mut s = Svg::new(left + width + 40.0, top + height + 64.0, &c.title);
    s.item("heading", &[]);
    s.text(10.0, 22.0, &c.title, "start", 14.0, true);
    s.end();
    let max_pages = c.points.last().map_or(2, |p| p.0).max(2);
    let max_ns = c.points.iter().map(|p| p.1).fold(1.0, f64::max);
    // A log scale of time too: the steps span two orders of magnitude.
    let top_ns = 10f64.powf(max_ns.log10().ceil()).max(10.0);
    let x_of = |p: u64| left + (p.max(1) as f64).log2() / (max_pages as f64).log2() * width;
    let y_of = |ns: f64| top + height - ns.max(1.0).log10() / top_ns.log10() * height;
    s.item("axes", &[]);
    s.line(left, top, left, top + height, 1.0, "");
    s.line(left, top + height, left + width, top + height, 1.0, "");
    let mut ns = 1.0;
    while ns <= top_ns {
        let y = y_of(ns);
        s.line(left - 4.0, y, left, y, 1.0, "");
        s.line(left, y, left + width, y, 0.5, "2,4");
        s.text(left - 8.0, y + 4.0, &format!("{ns} ns"), "end", 11.0, false);
        ns *= 10.0;
    }
    let mut p = 1u64;
    while p <= max_pages {
        let x = x_of(p);
        s.line(x, top + height, x, top + height + 4.0, 1.0, "");
        s.text(
            x,
            top + height + 18.0,
            &p.to_string(),
            "middle",
            11.0,
            false,
        );
        p *= if max_pages > 256 { 4 } else { 2 };
    }
    s.text(
        left + width / 2.0,
        top + height + 40.0,
        "pages touched, N (log scale)",
        "middle",
        12.0,
        false,
    );
    s.end();
    for (i, m) in c.marks.iter().enumerate() {
        let x = x_of(m.entries);
        s.item(
            &format!("{}: {} entries", m.name, m.entries),
            &[("entries", m.entries.to_string())],
        );
        s.line(x, top, x, top + height, 1.0, "5,3");
        s.text(
            x + 4.0,
            top + 14.0 + 14.0 * i as f64,
            &format!("{} ({})", m.name, m.entries),
            "start",
            11.0,
            false,
        );
        s.end();
    }
    s.item("the curve", &[]);
    for w in c.points.windows(2) {
        s.line(
            x_of(w[0].0),
            y_of(w[0].1),
            x_of(w[1].0),
            y_of(w[1].1),
            2.0,
            "",
        );
    }
    s.end();
    for &(pages, ns) in &c.points {
        s.item(
            &format!("{pages} pages: {ns:.1} ns per access"),
            &[("pages", pages.to_string()), ("ns", format!("{ns:.3}"))],
        );
        s.circle(x_of(pages), y_of(ns), 3.0, "#1f77b4");
        s.end();
    }
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::svg::tests::{every_shape_has_a_title, parse};

    #[test]
    fn marks_and_points_are_drawn_with_titles() {
        let c = TlbCurve {
            title: "t".into(),
            points: vec![(1, 1.0), (16, 1.0), (17, 5.0), (64, 241.0)],
            marks: vec![TlbLevelMark {
                name: "data TLB".into(),
                entries: 16,
            }],
        };
        let text = svg(&c);
        let doc = parse(&text);
        every_shape_has_a_title(&doc);
        assert!(text.contains("data TLB (16)"), "{text}");
        assert!(text.contains("17 pages: 5.0 ns per access"), "{text}");
    }
}
