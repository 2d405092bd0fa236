//! `vmlab tlb-measure`: the TLB chapter's curve, measured on the CPU under
//! Sv39; its steps fall at the configured TLB sizes.

use crate::support::{temp_path, vmlab};
use serde_json::Value;

fn points(args: &[&str]) -> Vec<(u64, f64, Value)> {
    let mut all = vec!["tlb-measure", "--json"];
    all.extend_from_slice(args);
    let r = vmlab(&all);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["pages"].as_u64().unwrap(),
                v["ns_per_access"].as_f64().unwrap(),
                v,
            )
        })
        .collect()
}

fn at(points: &[(u64, f64, Value)], pages: u64) -> f64 {
    points.iter().find(|p| p.0 == pages).unwrap().1
}

#[test]
fn one_level_steps_up_one_page_past_the_tlb() {
    let p = points(&["--dtlb", "32", "--max-pages", "128", "--loops", "200"]);
    let pages: Vec<u64> = p.iter().map(|x| x.0).collect();
    assert_eq!(pages, vec![1, 2, 4, 8, 16, 32, 33, 64, 128]);
    // Flat up to 32 pages (only the first loop misses), then a walk on
    // every access: 3 entries from DRAM.
    for n in [4, 8, 16, 32] {
        assert!(at(&p, n) < 5.0, "{n} pages: {}", at(&p, n));
    }
    for n in [33, 64, 128] {
        assert!(at(&p, n) > 200.0, "{n} pages: {}", at(&p, n));
    }
    // The counts are the run's: every loop load is one data-TLB lookup.
    for (_, _, v) in &p {
        assert_eq!(
            v["dtlb_hits"].as_u64().unwrap() + v["dtlb_misses"].as_u64().unwrap(),
            v["accesses"].as_u64().unwrap()
        );
    }
}

#[test]
fn two_levels_make_two_steps_at_their_sizes() {
    let p = points(&[
        "--dtlb",
        "8",
        "--l2",
        "64",
        "--max-pages",
        "256",
        "--loops",
        "100",
    ]);
    let (a, b, c, d) = (at(&p, 8), at(&p, 9), at(&p, 64), at(&p, 65));
    assert!(a < 5.0 && b > a + 3.0 && b < 20.0, "{a} {b}");
    assert!(c < 20.0 && d > 200.0, "{c} {d}");
}

#[test]
fn the_picture_marks_each_tlb() {
    let svg = temp_path("tlb.svg");
    let r = vmlab(&[
        "tlb-measure",
        "--l2",
        "32",
        "--max-pages",
        "64",
        "--loops",
        "20",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("ns/access"), "{}", r.stdout);
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("data TLB (16)") && text.contains("second-level TLB (32)"));
}

#[test]
fn bad_flags_are_refused_with_one_line() {
    for args in [
        &["tlb-measure", "--dtlb", "0"][..],
        &["tlb-measure", "--loops", "0"],
        &["tlb-measure", "--max-pages", "16q"],
        &["tlb-measure", "--max-pages", "1000000"],
        &["tlb-measure", "--l2", "12,5"],
    ] {
        let r = vmlab(args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stdout);
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
    }
}
