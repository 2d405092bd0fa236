//! Picture 4, a context switch: the PCBs of the old and the new process
//! with the MMU registers saved in them, the MMU's registers, and the save
//! and load between them (step by step; in the forgotten-reload variant the
//! MMU keeps the old process's registers, drawn as stale).

use super::{FAULT, Svg};
use crate::kernel::event::RegistersView;

/// One context switch as the picture needs it.
#[derive(Clone, Debug)]
pub struct View {
    /// The process switched away from (`None` for a first dispatch).
    pub from: Option<(String, Option<RegistersView>)>,
    /// The process switched to, with the registers its PCB holds.
    pub to: (String, Option<RegistersView>),
    /// The MMU's registers now.
    pub mmu: Option<RegistersView>,
    /// The step just done (`save-registers`, `save-mmu`, `load-mmu`,
    /// `skip-mmu-reload`, `restore-registers`).
    pub step: String,
    /// The MMU still holds the old process's registers (the bug of E8).
    pub stale: bool,
}

/// Width of a box (PCB or MMU).
const BOX: f64 = 200.0;

/// The registers as lines of text.
fn lines(r: &Option<RegistersView>) -> Vec<String> {
    let Some(r) = r else {
        return vec!["(none)".into()];
    };
    let mut v = Vec::new();
    if let Some(b) = r.base {
        v.push(format!("base   {b:#x}"));
    }
    if let Some(b) = r.bounds {
        v.push(format!("bounds {b:#x}"));
    }
    for (i, s) in r.segments.iter().enumerate() {
        v.push(format!(
            "seg{i} {:#x} {:#x} {}{}",
            s.base,
            s.size,
            s.perms,
            if s.grows_down { " down" } else { "" }
        ));
    }
    if v.is_empty() {
        v.push(format!("{} (no registers)", r.mechanism));
    }
    v
}

/// The switch.
pub fn svg(v: &View) -> String {
    let rows = [
        v.from.as_ref().map_or(1, |f| lines(&f.1).len()),
        lines(&v.to.1).len(),
        lines(&v.mmu).len(),
    ]
    .into_iter()
    .max()
    .unwrap_or(1) as f64;
    let box_h = 54.0 + 15.0 * rows;
    let mut s = Svg::new(760.0, 70.0 + box_h + 50.0, "Context switch");
    let title = match &v.from {
        Some((old, _)) => format!("context switch {old} -> {}", v.to.0),
        None => format!("dispatch {}", v.to.0),
    };
    s.item(&title, &[("step", v.step.clone())]);
    s.text(20.0, 22.0, &title, "start", 14.0, true);
    s.text(
        20.0,
        40.0,
        &format!("step: {} (the OS, in kernel mode)", v.step),
        "start",
        12.0,
        false,
    );
    s.end();
    let top = 70.0;
    let boxes =
        |s: &mut Svg, x: f64, head: &str, body: &[String], fill: &str, data: &[(&str, String)]| {
            s.item(&format!("{head}: {}", body.join(", ")), data);
            s.rect(x, top, BOX, box_h, fill, 1.5);
            s.rect(x + 6.0, top + 6.0, BOX - 12.0, 18.0, "#ffffff", 0.0);
            s.text(x + BOX / 2.0, top + 19.0, head, "middle", 12.0, true);
            s.rect(
                x + 6.0,
                top + 30.0,
                BOX - 12.0,
                box_h - 36.0,
                "#ffffff",
                0.0,
            );
            for (i, l) in body.iter().enumerate() {
                s.mono(x + 10.0, top + 44.0 + 15.0 * i as f64, l, "start", 11.0);
            }
            s.end();
        };
    if let Some((old, regs)) = &v.from {
        boxes(
            &mut s,
            20.0,
            &format!("PCB of {old} (saved)"),
            &lines(regs),
            "#ffffff",
            &[("pcb", old.clone()), ("role", "old".into())],
        );
    }
    let mmu_head = if v.stale {
        format!(
            "MMU: STALE, still {}'s",
            v.from.as_ref().map_or("-", |f| f.0.as_str())
        )
    } else {
        "MMU registers".to_string()
    };
    boxes(
        &mut s,
        280.0,
        &mmu_head,
        &lines(&v.mmu),
        if v.stale { FAULT } else { "#fde9a9" },
        &[("part", "mmu".into()), ("stale", v.stale.to_string())],
    );
    boxes(
        &mut s,
        540.0,
        &format!("PCB of {}", v.to.0),
        &lines(&v.to.1),
        "#ffffff",
        &[("pcb", v.to.0.clone()), ("role", "new".into())],
    );
    let mid = top + box_h / 2.0;
    let saving = matches!(v.step.as_str(), "save-registers" | "save-mmu");
    let loading = matches!(v.step.as_str(), "load-mmu" | "restore-registers");
    if v.from.is_some() {
        s.item(
            "save: the MMU registers go into the old PCB",
            &[("arrow", "save".into())],
        );
        s.arrow(278.0, mid - 10.0, 222.0, mid - 10.0);
        s.text(
            250.0,
            mid - 16.0,
            if saving { "SAVE" } else { "save" },
            "middle",
            11.0,
            saving,
        );
        s.end();
    }
    s.item(
        if v.stale {
            "load: SKIPPED, the kernel forgot to reload the MMU"
        } else {
            "load: the new PCB's registers go into the MMU (privileged)"
        },
        &[("arrow", "load".into())],
    );
    if v.stale {
        s.line(538.0, mid + 10.0, 482.0, mid + 10.0, 1.5, "4 3");
        s.text(510.0, mid + 26.0, "no load!", "middle", 11.0, true);
    } else {
        s.arrow(538.0, mid + 10.0, 482.0, mid + 10.0);
        s.text(
            510.0,
            mid + 26.0,
            if loading { "LOAD" } else { "load" },
            "middle",
            11.0,
            loading,
        );
    }
    s.end();
    let note = if v.stale {
        format!(
            "BUG: {} runs with {}'s registers: its addresses reach the other process's memory",
            v.to.0,
            v.from.as_ref().map_or("-", |f| f.0.as_str())
        )
    } else {
        "save the old process's registers, load the new one's: each process sees only its own memory".to_string()
    };
    s.item(&note, &[]);
    s.text(20.0, top + box_h + 30.0, &note, "start", 12.0, v.stale);
    s.end();
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regs(base: u64) -> Option<RegistersView> {
        Some(RegistersView {
            mechanism: "base-bounds",
            base: Some(base),
            bounds: Some(0x400),
            segments: Vec::new(),
            satp: None,
            page_directory: None,
        })
    }

    #[test]
    fn a_switch_draws_both_pcbs_and_the_mmu() {
        let v = View {
            from: Some(("P1".into(), regs(0x400))),
            to: ("P2".into(), regs(0x1000)),
            mmu: regs(0x1000),
            step: "load-mmu".into(),
            stale: false,
        };
        let out = svg(&v);
        let doc = crate::render::svg::tests::parse(&out);
        crate::render::svg::tests::every_shape_has_a_title(&doc);
        for (who, role) in [("P1", "old"), ("P2", "new")] {
            let pcb = crate::render::svg::tests::with_attr(&doc, "data-pcb", who);
            assert_eq!(pcb[0].attribute("data-role"), Some(role));
        }
        assert!(out.contains("base   0x1000"));
        assert!(out.contains(">LOAD<"), "the load is the step done");
        assert_eq!(
            crate::render::svg::tests::with_attr(&doc, "data-stale", "false").len(),
            1
        );
    }
}
