//! Fuzz the trace engine: any bytes, in every format, strict or not,
//! either replay or give an error, never a panic; the fast loops
//! (base+bounds window, segmented) count exactly what the per-reference
//! records (the scalar `explain` path) say; `--layout auto` fits a table or
//! refuses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vmlab::mmu::{Access, AnyMmu, BaseBounds, Mmu, Perms, Segment, Segmentation};
use vmlab::trace::{self, Format, Input, Options, Sinks};

/// Replays `data` through `mmu`; with `records`, also the per-access JSON.
fn replay(
    mmu: &AnyMmu,
    data: &[u8],
    opts: &Options,
    records: Option<&mut Vec<u8>>,
) -> Option<trace::Report> {
    let mut input = Input::stream(Box::new(std::io::Cursor::new(data.to_vec())));
    let sinks = Sinks {
        out: None,
        per_access: records.map(|r| r as &mut dyn std::io::Write),
        progress: &mut |_| {},
        pages: None,
    };
    trace::replay(mmu, &mut input, opts, sinks).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, data)) = data.split_first() else {
        return;
    };
    let format = [Format::Text, Format::Bin, Format::BinKind, Format::Lackey][usize::from(selector & 3)];
    let opts = Options {
        format,
        default_access: [Access::Read, Access::Write, Access::Fetch][usize::from(selector >> 2 & 3) % 3],
        strict: selector & 0x10 != 0,
    };
    let segmented = Segmentation::new(
        16,
        vec![
            Segment::up(0x1_0000, 0x3000, Perms::R | Perms::X).named("code"),
            Segment::up(0x2_0000, 0x800, Perms::R | Perms::W).named("heap"),
            Segment::up(0, 0, Perms::empty()),
            Segment::down(0x4_0000, 0x1000, Perms::R | Perms::W).named("stack"),
        ],
        1 << 20,
    )
    .expect("a valid table");
    let mechanisms = [
        AnyMmu::BaseBounds(BaseBounds::new(0x1000, 0x4000, 1 << 20).expect("fits")),
        AnyMmu::Segmentation(segmented),
    ];
    for mmu in &mechanisms {
        let mut records = Vec::new();
        let counted = replay(mmu, data, &opts, None);
        let recorded = replay(mmu, data, &opts, Some(&mut records));
        let (Some(counted), Some(recorded)) = (counted, recorded) else {
            continue;
        };
        assert_eq!(counted.stats, recorded.stats);
        // Every record is the scalar path's verdict; the counters agree.
        let mut valid = 0;
        for line in records.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let v: serde_json::Value = serde_json::from_slice(line).expect("JSON record");
            let va = v["va"].as_u64().expect("va");
            let access = match v["access"].as_str() {
                Some("fetch") => Access::Fetch,
                Some("write") => Access::Write,
                _ => Access::Read,
            };
            let t = mmu.explain(vmlab::PhysicalMemory::empty(), vmlab::VirtAddr::new(va), access);
            if format == Format::Lackey {
                // Sized: valid only if the first byte is, and maybe not
                // even then (a later byte may fault).
                assert!(t.result.is_ok() || v.get("pa").is_none());
            } else {
                assert_eq!(t.result.is_ok(), v.get("pa").is_some());
            }
            valid += u64::from(v.get("pa").is_some());
        }
        assert_eq!(counted.stats.valid, valid);
    }
    // --layout auto: a table or a refusal.
    let mut input = Input::stream(Box::new(std::io::Cursor::new(data.to_vec())));
    if let Ok(scan) = trace::scan(&mut input, &opts, &mut |_| {}) {
        let _ = scan.build(None);
    }
});
