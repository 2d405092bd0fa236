//! Picture 7, cost: a run's estimated time split into CPU, memory and disk
//! (E12, E14), one bar per strategy when runs are compared. Each bar is its
//! run's whole time (the split in percent); the totals stand beside them,
//! since runs can differ by orders of magnitude.

use super::{FAULT, FREE, Svg};
use crate::cost::human_ns;

/// One run's estimate.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// The strategy (`time-sharing`, `base-bounds`).
    pub strategy: String,
    /// CPU time (ns).
    pub cpu_ns: f64,
    /// Memory time (ns).
    pub memory_ns: f64,
    /// Disk time (ns).
    pub disk_ns: f64,
}

impl Bar {
    fn total(&self) -> f64 {
        self.cpu_ns + self.memory_ns + self.disk_ns
    }
}

/// The bars, one per run, each split into CPU, memory and disk.
pub fn svg(bars: &[Bar]) -> String {
    let (left, width, lane) = (130.0, 560.0, 62.0);
    let mut s = Svg::new(
        760.0,
        70.0 + lane * bars.len() as f64 + 40.0,
        "Cost of the run",
    );
    s.item("heading", &[]);
    s.text(
        10.0,
        22.0,
        "Estimated time: CPU + memory + disk",
        "start",
        14.0,
        true,
    );
    s.end();
    let fastest = bars
        .iter()
        .map(Bar::total)
        .filter(|t| *t > 0.0)
        .fold(f64::INFINITY, f64::min);
    for (i, b) in bars.iter().enumerate() {
        let y = 44.0 + lane * i as f64;
        let total = b.total();
        let slower = if bars.len() > 1 && fastest.is_finite() && total > fastest * 1.5 {
            format!(" ({:.0}x)", total / fastest)
        } else {
            String::new()
        };
        s.item(
            &format!("{}: {} in total{slower}", b.strategy, human_ns(total)),
            &[("strategy", b.strategy.clone())],
        );
        s.text(left - 8.0, y + 14.0, &b.strategy, "end", 12.0, true);
        s.text(
            left - 8.0,
            y + 28.0,
            &format!("{}{slower}", human_ns(total)),
            "end",
            11.0,
            false,
        );
        s.end();
        let mut x = left;
        let mut parts = Vec::new();
        for (part, ns, fill) in [
            ("CPU", b.cpu_ns, "#a6c8e8"),
            ("memory", b.memory_ns, FREE),
            ("disk", b.disk_ns, FAULT),
        ] {
            let pct = if total > 0.0 { ns / total * 100.0 } else { 0.0 };
            let w = pct / 100.0 * width;
            s.item(
                &format!("{part}: {} ({pct:.1}%)", human_ns(ns)),
                &[("part", part.to_lowercase()), ("ns", format!("{ns:.0}"))],
            );
            s.rect(x, y, w, 26.0, fill, 1.0);
            let label = format!("{part} {pct:.0}%");
            if w > 7.0 * label.len() as f64 + 8.0 {
                let lw = 7.0 * label.len() as f64;
                s.rect(x + w / 2.0 - lw / 2.0, y + 6.0, lw, 15.0, "#ffffff", 0.0);
                s.text(x + w / 2.0, y + 18.0, &label, "middle", 11.0, false);
            }
            s.end();
            parts.push(format!("{part} {} ({pct:.1}%)", human_ns(ns)));
            x += w;
        }
        s.item("the split in numbers", &[]);
        s.text(left, y + 42.0, &parts.join(" + "), "start", 11.0, false);
        s.end();
    }
    let y = 50.0 + lane * bars.len() as f64;
    s.item("legend", &[]);
    s.rect(left, y, 14.0, 12.0, "#a6c8e8", 1.0);
    s.text(left + 18.0, y + 10.0, "CPU (solid)", "start", 11.0, false);
    s.rect(left + 120.0, y, 14.0, 12.0, FREE, 1.0);
    s.text(
        left + 138.0,
        y + 10.0,
        "memory (hatched)",
        "start",
        11.0,
        false,
    );
    s.rect(left + 270.0, y, 14.0, 12.0, FAULT, 1.0);
    s.text(
        left + 288.0,
        y + 10.0,
        "disk (dotted)",
        "start",
        11.0,
        false,
    );
    s.end();
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bar_is_split_into_its_parts() {
        let out = svg(&[
            Bar {
                strategy: "time-sharing".into(),
                cpu_ns: 16.0,
                memory_ns: 1280.0,
                disk_ns: 134_260_000.0,
            },
            Bar {
                strategy: "base-bounds".into(),
                cpu_ns: 16.0,
                memory_ns: 1280.0,
                disk_ns: 0.0,
            },
        ]);
        let doc = crate::render::svg::tests::parse(&out);
        crate::render::svg::tests::every_shape_has_a_title(&doc);
        let disk: Vec<&str> = doc
            .descendants()
            .filter(|n| n.attribute("data-part") == Some("disk"))
            .filter_map(|n| n.attribute("data-ns"))
            .collect();
        assert_eq!(disk, ["134260000", "0"]);
        assert!(out.contains("(103597x)"), "{out}");
    }
}
