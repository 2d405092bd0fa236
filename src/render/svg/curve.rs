//! Picture: a miss-ratio curve (`vmlab trace --curve frames|tlb --svg`):
//! the page-fault (or TLB-miss) rate against the number of frames (or
//! entries). The frame axis is logarithmic when it spans more than 64
//! counts; long curves are drawn through at most 400 of their points,
//! every point still in the text table.

use super::Svg;

/// The curve to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct CurvePicture {
    /// What the picture shows, e.g. `LRU page faults, 4 KiB pages`.
    pub title: String,
    /// The axis's unit: `frames` or `TLB entries`.
    pub unit: String,
    /// (frames, miss rate in 0..=1), frames ascending.
    pub points: Vec<(u64, f64)>,
}

/// The picture as an SVG document.
pub fn svg(c: &CurvePicture) -> String {
    let (left, top, width, height) = (70.0, 40.0, 560.0, 260.0);
    let mut s = Svg::new(left + width + 40.0, top + height + 60.0, &c.title);
    s.item("heading", &[]);
    s.text(10.0, 22.0, &c.title, "start", 14.0, true);
    s.end();
    let max_x = c.points.last().map_or(1, |p| p.0).max(1);
    let log = max_x > 64;
    let x_of = |f: u64| {
        let f = f.max(1) as f64;
        let t = if log {
            f.log2() / (max_x as f64).log2().max(1e-9)
        } else if max_x > 1 {
            (f - 1.0) / (max_x as f64 - 1.0)
        } else {
            0.5
        };
        left + t * width
    };
    let y_of = |r: f64| top + height - r.clamp(0.0, 1.0) * height;
    // Axes, ticks and labels.
    s.item("axes", &[]);
    s.line(left, top, left, top + height, 1.0, "");
    s.line(left, top + height, left + width, top + height, 1.0, "");
    for pct in [0, 25, 50, 75, 100] {
        let y = y_of(f64::from(pct) / 100.0);
        s.line(left - 4.0, y, left, y, 1.0, "");
        s.line(left, y, left + width, y, 0.5, "2,4");
        s.text(left - 8.0, y + 4.0, &format!("{pct}%"), "end", 11.0, false);
    }
    let mut ticks = Vec::new();
    if log {
        let mut f = 1u64;
        while f <= max_x {
            ticks.push(f);
            f = f.saturating_mul(if max_x > 1 << 12 { 16 } else { 4 });
        }
    } else {
        let step = (max_x / 8).max(1);
        ticks.extend((1..=max_x).step_by(step as usize));
    }
    for f in ticks {
        let x = x_of(f);
        s.line(x, top + height, x, top + height + 4.0, 1.0, "");
        s.text(
            x,
            top + height + 18.0,
            &f.to_string(),
            "middle",
            11.0,
            false,
        );
    }
    s.text(
        left + width / 2.0,
        top + height + 40.0,
        &format!("{}{}", c.unit, if log { " (log scale)" } else { "" }),
        "middle",
        12.0,
        false,
    );
    s.end();
    // The curve, through at most 400 points (the first and last kept).
    let n = c.points.len();
    let stride = n.div_ceil(400).max(1);
    let shown: Vec<(u64, f64)> = c
        .points
        .iter()
        .enumerate()
        .filter(|(i, _)| i % stride == 0 || *i + 1 == n)
        .map(|(_, p)| *p)
        .collect();
    s.item(
        &format!("{}: miss rate for {} {}", c.title, n, c.unit),
        &[("points", n.to_string())],
    );
    for w in shown.windows(2) {
        let (a, b) = (w[0], w[1]);
        s.line(x_of(a.0), y_of(a.1), x_of(b.0), y_of(b.1), 2.0, "");
    }
    s.end();
    for &(f, r) in shown.iter().filter(|_| shown.len() <= 40) {
        s.item(
            &format!("{f} {}: {:.1}% misses", c.unit, r * 100.0),
            &[("frames", f.to_string())],
        );
        s.circle(x_of(f), y_of(r), 3.0, "#fff");
        s.end();
    }
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_curve_is_well_formed_and_titled() {
        let c = CurvePicture {
            title: "LRU page faults".into(),
            unit: "frames".into(),
            points: vec![(1, 1.0), (2, 0.5), (3, 0.25)],
        };
        let text = svg(&c);
        assert!(text.starts_with("<svg"));
        assert!(text.contains("<title>LRU page faults</title>"));
        assert_eq!(text.matches(r#"r="3.0""#).count(), 3);
    }
}
