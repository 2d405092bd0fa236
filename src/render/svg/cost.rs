//! Picture 7, cost: a run's estimated time split into CPU, memory and disk
//! (E12, E14), one bar per strategy when runs are compared.

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

/// The bars, on one time scale (the longest run fills the width).
pub fn svg(bars: &[Bar]) -> String {
    let (left, width, lane) = (130.0, 560.0, 56.0);
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
    let longest = bars.iter().map(Bar::total).fold(0.0, f64::max).max(1e-9);
    for (i, b) in bars.iter().enumerate() {
        let y = 44.0 + lane * i as f64;
        s.item(
            &format!("{}: {} in total", b.strategy, human_ns(b.total())),
            &[("strategy", b.strategy.clone())],
        );
        s.text(left - 8.0, y + 18.0, &b.strategy, "end", 12.0, true);
        s.text(
            left - 8.0,
            y + 32.0,
            &human_ns(b.total()),
            "end",
            11.0,
            false,
        );
        s.end();
        let mut x = left;
        for (part, ns, fill) in [
            ("CPU", b.cpu_ns, "#a6c8e8"),
            ("memory", b.memory_ns, FREE),
            ("disk", b.disk_ns, FAULT),
        ] {
            let w = ns / longest * width;
            let pct = if b.total() > 0.0 {
                ns / b.total() * 100.0
            } else {
                0.0
            };
            s.item(
                &format!("{part}: {} ({pct:.1}%)", human_ns(ns)),
                &[("part", part.to_lowercase()), ("ns", format!("{ns:.0}"))],
            );
            s.rect(x, y, w, 26.0, fill, 1.0);
            let label = format!("{part} {} ({pct:.0}%)", human_ns(ns));
            if w > 7.0 * label.len() as f64 {
                s.rect(
                    x + w / 2.0 - 3.6 * label.len() as f64,
                    y + 6.0,
                    7.2 * label.len() as f64,
                    15.0,
                    "#ffffff",
                    0.0,
                );
                s.text(x + w / 2.0, y + 18.0, &label, "middle", 11.0, false);
            } else if ns > 0.0 {
                s.text(x + w.max(2.0), y + 42.0, &label, "start", 10.0, false);
            }
            s.end();
            x += w;
        }
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
