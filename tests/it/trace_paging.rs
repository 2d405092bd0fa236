//! `vmlab trace --frames/--policy/--curve`: demand paging over a trace's
//! virtual pages, through the binary.

use crate::support::{temp_file, temp_path, vmlab, vmlab_with_input};

/// Belady's string, one page per line (1-byte pages).
const BELADY: &[u8] = b"1\n2\n3\n4\n1\n2\n5\n1\n2\n3\n4\n5\n";

fn belady() -> String {
    temp_file("belady.txt", BELADY)
        .to_string_lossy()
        .into_owned()
}

fn paging_json(args: &[&str]) -> serde_json::Value {
    let mut argv = vec!["trace", "--json"];
    argv.extend(args);
    let run = vmlab(&argv);
    run.ok();
    run.json_lines().pop().unwrap()["paging"].clone()
}

#[test]
fn fifo_at_3_and_4_frames_shows_beladys_anomaly() {
    let t = belady();
    let run = vmlab(&[
        "trace",
        "--page-size",
        "1",
        "--frames",
        "3,4",
        "--policy",
        "fifo",
        &t,
    ]);
    let out = run.ok();
    assert!(
        out.contains("Belady's anomaly: 4 frames fault more than 3 (10 > 9)"),
        "{out}"
    );
    let p = paging_json(&[
        "--page-size",
        "1",
        "--frames",
        "3,4",
        "--policy",
        "fifo",
        &t,
    ]);
    assert_eq!(p["runs"][0]["page_faults"], 9);
    assert_eq!(p["runs"][1]["page_faults"], 10);
    assert_eq!(p["beladys_anomaly"][0]["frames"], serde_json::json!([3, 4]));
}

#[test]
fn one_pass_curves_equal_rerunning_each_frame_count() {
    // A trace with reuse at several distances, 64-byte pages.
    let mut text = String::new();
    let mut x: u64 = 7;
    for _ in 0..400 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let page = (x % 23) * (x % 3 + 1) % 40;
        text.push_str(&format!("{}\n", page * 64 + x % 64));
    }
    let t = temp_file("refs.txt", text.as_bytes());
    let t = t.to_str().unwrap();
    for policy in ["lru", "opt"] {
        let curve = paging_json(&[
            "--page-size",
            "64",
            "--curve",
            "frames",
            "--policy",
            policy,
            t,
        ]);
        let faults = curve["curve"]["faults"].as_array().unwrap().clone();
        assert!(faults.len() > 10);
        let counts: Vec<String> = (1..=faults.len()).map(|f| f.to_string()).collect();
        let runs = paging_json(&[
            "--page-size",
            "64",
            "--frames",
            &counts.join(","),
            "--policy",
            policy,
            t,
        ]);
        for (i, run) in runs["runs"].as_array().unwrap().iter().enumerate() {
            assert_eq!(
                run["page_faults"],
                faults[i],
                "{policy} with {} frames",
                i + 1
            );
        }
    }
}

#[test]
fn the_tlb_curve_is_the_lru_curve_in_entries() {
    let t = belady();
    let out = vmlab(&["trace", "--page-size", "1", "--curve", "tlb", &t])
        .ok()
        .to_string();
    assert!(out.contains("TLB miss-ratio curve"), "{out}");
    assert!(out.contains("   entries"), "{out}");
    let p = paging_json(&["--page-size", "1", "--curve", "tlb", &t]);
    assert_eq!(p["curve"]["faults"], serde_json::json!([12, 12, 10, 8, 5]));
}

#[test]
fn writes_make_pages_dirty_and_evicting_them_writes_back() {
    let t = temp_file("rw.txt", b"W 0x0\nR 0x1000\nR 0x2000\nR 0x0\n");
    let p = paging_json(&["--frames", "2", "--policy", "lru", t.to_str().unwrap()]);
    assert_eq!(p["runs"][0]["page_faults"], 4);
    assert_eq!(p["runs"][0]["write_backs"], 1);
    // Two disk transfers more than reads alone: 5 x the fault price.
    let fault = p["fault_ns"].as_f64().unwrap();
    let est = p["runs"][0]["estimated_ns"].as_f64().unwrap();
    assert!(est >= 5.0 * fault && est < 6.0 * fault, "{est} vs {fault}");
}

#[test]
fn the_curve_is_drawn_as_svg() {
    let t = belady();
    let svg = temp_path("curve.svg");
    vmlab(&[
        "trace",
        "--page-size",
        "1",
        "--curve",
        "frames",
        "--svg",
        svg.to_str().unwrap(),
        &t,
    ])
    .ok();
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("well-formed SVG");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    assert!(text.contains("LRU page-fault rate"), "{text}");
}

#[test]
fn bad_paging_flags_are_one_line_errors() {
    let t = belady();
    vmlab(&["trace", "--frames", "0", &t]).bad_input(&["--frames", "0 frames"]);
    vmlab(&["trace", "--frames", "3,x", &t]).bad_input(&["--frames"]);
    vmlab(&["trace", "--frames", "3", "--page-size", "3000", &t])
        .bad_input(&["--page-size", "power of two"]);
    vmlab(&["trace", "--frames", "3", "--policy", "lfu", &t]).bad_input(&["--policy", "'lfu'"]);
    vmlab(&["trace", "--curve", "pages", &t]).bad_input(&["--curve", "'pages'"]);
    vmlab(&["trace", "--policy", "fifo", &t]).bad_input(&["--policy", "--frames"]);
    vmlab(&["trace", "--curve", "frames", "--policy", "fifo", &t]).bad_input(&["--frames 1,2,4,8"]);
    vmlab(&["trace", "--curve", "tlb", "--policy", "opt", &t]).bad_input(&["--curve tlb"]);
    vmlab(&["trace", "--curve", "frames", "--max-frames", "0", &t]).bad_input(&["--max-frames"]);
    vmlab_with_input(
        &["trace", "--frames", "3", "--policy", "opt", "-"],
        "1\n2\n",
    )
    .bad_input(&["opt", "trace file"]);
}

#[test]
fn lru_reads_a_stream() {
    let run = vmlab_with_input(
        &["trace", "--page-size", "1", "--frames", "3", "--json", "-"],
        std::str::from_utf8(BELADY).unwrap(),
    );
    run.ok();
    let p = run.json_lines().pop().unwrap()["paging"].clone();
    assert_eq!(p["runs"][0]["page_faults"], 10);
}

/// A binary trace large enough to be split between the cores: demand
/// paging still hears every reference (the split is for counting only).
#[test]
fn a_large_binary_trace_pages_every_reference() {
    let n: u64 = 2_200_000; // 17.6 MB, past the split threshold
    let mut bytes = Vec::with_capacity(n as usize * 8);
    for i in 0..n {
        bytes.extend_from_slice(&((i * 4096) % (64 * 4096)).to_le_bytes());
    }
    let path = temp_file("large.bin", &bytes);
    let r = vmlab(&[
        "trace",
        "--format",
        "bin",
        "--base",
        "0",
        "--bounds",
        "0x100000",
        "--phys-mem",
        "2m",
        "--frames",
        "32",
        "--policy",
        "lru",
        "--json",
        path.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(r.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(v["references"], n, "{v}");
    // 64 pages in a cycle through 32 LRU frames: every reference faults.
    assert_eq!(v["paging"]["runs"][0]["page_faults"], n, "{v}");
    assert_eq!(v["paging"]["runs"][0]["references"], n, "{v}");
}
