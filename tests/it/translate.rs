//! `vmlab translate`: the lecture's examples E6, E7, E9, E10 and bad input.

use crate::support::vmlab;
use serde_json::json;

const E9: &[&str] = &[
    "translate",
    "--va-bits",
    "14",
    "--segment",
    "0x2000:0x6ff:r",
    "--segment",
    "0:0x4ff:rw",
    "--segment",
    "0x3000:0xfff:rw",
    "--segment",
    "0:0:-",
];

fn pas(args: &[&str]) -> Vec<serde_json::Value> {
    let mut a = args.to_vec();
    a.push("--json");
    vmlab(&a)
        .json_lines()
        .into_iter()
        .map(|r| r.get("pa").cloned().or(r.get("fault").cloned()).unwrap())
        .collect()
}

#[test]
fn e6_base_only_lets_p1_corrupt_p2() {
    // P1 base 1 KiB, P2 base 4 KiB.
    let p1 = pas(&["translate", "--base", "1k", "100", "1000", "w:3072"]);
    assert_eq!(p1, [json!(1124), json!(2024), json!(4096)]);
    let p2 = pas(&["translate", "--base", "4k", "100", "1000"]);
    assert_eq!(p2, [json!(4196), json!(5096)]);
    // P1's store lands at P2's base: 4096 is P2's virtual address 0.
    assert_eq!(p1[2], json!(4096));
}

#[test]
fn e7_bounds_turn_p1_store_into_a_trap() {
    let p1 = pas(&[
        "translate",
        "--base",
        "1024",
        "--bounds",
        "1024",
        "100",
        "1000",
        "w:3072",
    ]);
    assert_eq!(p1, [json!(1124), json!(2024), json!("bounds")]);
    let p2 = pas(&[
        "translate",
        "--base",
        "4096",
        "--bounds",
        "1024",
        "100",
        "1000",
    ]);
    assert_eq!(p2, [json!(4196), json!(5096)]);
}

#[test]
fn e7_narration_names_the_check_and_the_trap() {
    let run = vmlab(&["translate", "--base", "1024", "--bounds", "1024", "w:3072"]);
    let out = run.ok();
    assert!(out.contains("check  0xc00 < bounds 0x400: NO"), "{out}");
    assert!(
        out.contains("FAULT: segmentation violation: out of bounds"),
        "{out}"
    );
}

#[test]
fn e7_strict_run_exits_1_on_a_fault() {
    let run = vmlab(&[
        "translate",
        "--base",
        "1024",
        "--bounds",
        "1024",
        "--strict",
        "3072",
    ]);
    assert_eq!(run.code, 1);
}

#[test]
fn e9_segment_table_json_records() {
    let mut args = E9.to_vec();
    args.extend(["0x0240", "0x1108", "0x265c", "0x3002", "w:0x0240", "--json"]);
    let recs = vmlab(&args).json_lines();
    let expect = [
        json!({"kind":"translation","mechanism":"segmentation","va":0x240,"access":"read","segment":0,"offset":0x240,"pa":0x2240}),
        json!({"kind":"translation","mechanism":"segmentation","va":0x1108,"access":"read","segment":1,"offset":0x108,"pa":0x108}),
        json!({"kind":"translation","mechanism":"segmentation","va":0x265c,"access":"read","segment":2,"offset":0x65c,"pa":0x365c}),
        json!({"kind":"translation","mechanism":"segmentation","va":0x3002,"access":"read","segment":3,"offset":2,"fault":"invalid-segment"}),
        json!({"kind":"translation","mechanism":"segmentation","va":0x240,"access":"write","segment":0,"offset":0x240,"fault":"protection"}),
    ];
    assert_eq!(recs, expect);
}

#[test]
fn e9_text_shows_segment_bits_offset_and_sum() {
    let mut args = E9.to_vec();
    args.push("0x265c");
    let out = vmlab(&args).ok().to_string();
    assert!(
        out.contains("split  10 | 011001011100  -> segment 2, offset 0x65c"),
        "{out}"
    );
    assert!(out.contains("add    base 0x3000 + 0x65c = 0x365c"), "{out}");
    assert!(out.contains("-> PA 0x365c (decimal 13916)"), "{out}");
}

#[test]
fn e10_segments_in_physical_memory() {
    let got = pas(&[
        "translate",
        "--va-bits",
        "14",
        "--segment",
        "0:0x400:rx:code",
        "--segment",
        "0x400:0x400:rw:heap",
        "--segment",
        "0x1600:0x400:rw:stack",
        "--segment",
        "0:0:-",
        "0x2010",
        "0x1010",
        "0x1100",
    ]);
    assert_eq!(got, [json!(0x1610), json!(0x410), json!(0x500)]);
}

#[test]
fn bad_sizes_exit_2_naming_the_flag() {
    for (flag, value, needle) in [
        ("--base", "16q", "16q"),
        ("--base", "-5", "negative"),
        ("--base", "1.5k", "fractional"),
        ("--base", "", "empty"),
        ("--base", "99999999999999999999999", "too large"),
    ] {
        vmlab(&["translate", flag, value, "100"]).bad_input(&[flag, needle]);
    }
}

#[test]
fn bad_segment_tables_exit_2() {
    vmlab(&[
        "translate",
        "--va-bits",
        "14",
        "--segment",
        "0:1:r",
        "--segment",
        "0:1:r",
        "--segment",
        "0:1:r",
        "0",
    ])
    .bad_input(&["power of two"]);
    vmlab(&["translate", "--va-bits", "14", "--segment", "0:1", "0"])
        .bad_input(&["--segment 0", "BASE:SIZE:PERMS"]);
    vmlab(&["translate", "--va-bits", "14", "--segment", "0:1:q", "0"]).bad_input(&["'q'"]);
    vmlab(&["translate", "--segment", "0:1:r", "0"]).bad_input(&["--va-bits"]);
}

#[test]
fn va_wider_than_the_address_space_exits_2() {
    let mut args = E9.to_vec();
    args.push("0x4000");
    vmlab(&args).bad_input(&["0x4000", "14 bits"]);
}

#[test]
fn base_bounds_beyond_physical_memory_exit_2() {
    vmlab(&["translate", "--base", "60k", "--bounds", "8k", "0"])
        .bad_input(&["beyond physical memory"]);
    vmlab(&[
        "translate",
        "--base",
        "0xffffffffffffffff",
        "--bounds",
        "2",
        "--phys-mem",
        "0xffffffffffffffff",
        "0",
    ])
    .bad_input(&["beyond physical memory"]);
}

#[test]
fn unknown_access_kind_exits_2() {
    vmlab(&["translate", "--access", "jump", "0"]).bad_input(&["--access", "jump"]);
}

/// §4.4: a segment growing down. Its base is its top; the negative offset
/// is offset - max segment size (0xffc - 0x1000 = -0x4, never "= -0x4" for
/// 0x1000 - 0xffc), and pa = base + negative offset.
#[test]
fn grows_down_narrates_the_negative_offset_rule_with_its_sign() {
    let out = vmlab(&[
        "translate",
        "--va-bits",
        "14",
        "--segment",
        "0x2000:0x6ff:r:code",
        "--segment",
        "0:0x4ff:rw:heap",
        "--segment",
        "0x3000:0xfff:rw:data",
        "--segment",
        "0x4000:0x800:rw:down",
        "0x3ffc",
        "0x3000",
    ])
    .ok()
    .to_string();
    for needle in [
        "a segment growing down: its base is its top (one past its highest byte); negative offset = offset - 0x1000 (the max segment size), pa = base + negative offset",
        "negative offset = offset - max segment size = 0xffc - 0x1000 = -0x4; |-0x4| <= size 0x800: ok",
        "add    base 0x4000 (the top of the segment) + negative offset -0x4 = 0x3ffc",
        "-> PA 0x3ffc",
        "0x0 - 0x1000 = -0x1000; |-0x1000| <= size 0x800: NO",
    ] {
        assert!(out.contains(needle), "{needle:?} missing:\n{out}");
    }
}

// ---- multi-level page tables in memory ---------------------------------

const TWO_LEVEL: &[&str] = &[
    "translate",
    "--page-size",
    "4k",
    "--levels",
    "10,10",
    "--phys-mem",
    "16m",
    "--map",
    "0x8048000:0x123:rx",
    "--map",
    "0xbffff000:0x200:rw",
];

#[test]
fn a_two_level_table_walks_both_levels_in_memory() {
    let mut argv = TWO_LEVEL.to_vec();
    argv.extend(["0x8048abc", "w:0x8048abc", "0x1000", "w:0xbffff004"]);
    assert_eq!(
        pas(&argv),
        [
            json!(0x123abc),
            json!("protection"),
            json!("page-fault"),
            json!(0x200004)
        ]
    );
    let mut argv = TWO_LEVEL.to_vec();
    argv.push("0x8048abc");
    let text = vmlab(&argv);
    let text = text.ok();
    assert!(
        text.contains(
            "multi-level page table: 32-bit addresses = index bits 10 + 10 + 12 offset bits"
        ),
        "{text}"
    );
    // The root and one table per mapped region: three 4 KiB tables.
    assert!(
        text.contains(
            "tables per level (root first): 1, 2; 12288 bytes of page tables map 2 page(s)"
        ),
        "{text}"
    );
    assert!(text.contains("L0     entry [32] at PA 0xfff080"), "{text}");
    assert!(text.contains("leaf: page frame 0x123"), "{text}");
}

#[test]
fn a_linear_table_for_32_bit_addresses_costs_4_mib() {
    let out = vmlab(&[
        "translate",
        "--page-size",
        "4k",
        "--levels",
        "20",
        "--phys-mem",
        "64m",
        "--map",
        "0:5",
        "0x10",
    ]);
    let text = out.ok();
    assert!(
        text.contains(
            "tables per level (root first): 1; 4194304 bytes of page tables map 1 page(s)"
        ),
        "{text}"
    );
    assert!(text.contains("-> PA 0x5010"), "{text}");
}

#[test]
fn the_ostep_entry_format_translates_the_homework_address() {
    let got = pas(&[
        "translate",
        "--page-size",
        "32",
        "--levels",
        "5,5",
        "--entry",
        "ostep",
        "--phys-mem",
        "4k",
        "--map",
        "0x6100:53",
        "0x611c",
        "0x3da8",
    ]);
    assert_eq!(got, [json!(0x6bc), json!("page-fault")]);
}

#[test]
fn bad_page_table_flags_name_what_is_wrong() {
    let t = |extra: &[&str]| {
        let mut argv = vec!["translate"];
        argv.extend(extra);
        argv.push("0");
        vmlab(&argv)
    };
    t(&["--page-size", "3k", "--levels", "10,10"]).bad_input(&[
        "--page-size",
        "3072",
        "power of two",
    ]);
    t(&["--page-size", "4k", "--levels", "10,10", "--va-bits", "30"])
        .bad_input(&["--levels", "not the 30-bit"]);
    t(&["--page-size", "4k", "--levels", "10,0"]).bad_input(&["level 1 has 0 index bits"]);
    t(&[
        "--page-size",
        "4k",
        "--levels",
        "10,10",
        "--map",
        "0x1001:3",
    ])
    .bad_input(&["--map", "not the start of a page"]);
    t(&[
        "--page-size",
        "4k",
        "--levels",
        "10,10",
        "--map",
        "0x1000:99999",
    ])
    .bad_input(&["frame 99999", "beyond physical memory"]);
    t(&[
        "--page-size",
        "32",
        "--levels",
        "5,5",
        "--entry",
        "ostep",
        "--phys-mem",
        "8k",
        "--map",
        "0:200",
    ])
    .bad_input(&["frame 200", "7-bit PFN"]);
    t(&[
        "--page-size",
        "4k",
        "--levels",
        "10,10",
        "--phys-mem",
        "4k",
        "--map",
        "0:0",
    ])
    .bad_input(&["--phys-mem", "no room for the page tables"]);
    t(&["--page-size", "4k", "--levels", "10,10", "--entry", "x"]).bad_input(&["--entry", "'x'"]);
    t(&["--page-size", "4k", "--levels", "10,10", "--base", "1"])
        .bad_input(&["--levels", "choose one mechanism"]);
    t(&["--map", "0:1"]).bad_input(&["--map", "need --levels"]);
    t(&["--levels", "10,10"]).bad_input(&["--levels needs --page-size"]);
    vmlab(&["translate", "--page-size", "4k", "--levels", "10,10", "5g"])
        .bad_input(&["5g", "32 bits"]);
}

#[test]
fn the_picture_of_a_walk_shows_each_entry_read() {
    let path = crate::support::temp_path("walk.svg");
    let mut argv = TWO_LEVEL.to_vec();
    argv.extend(["--svg", path.to_str().unwrap(), "0x8048abc", "0x1000"]);
    vmlab(&argv).ok();
    let svg = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    // Two entries for the mapped page, one (invalid) for the other.
    assert_eq!(svg.matches("data-valid=\"true\"").count(), 2, "{svg}");
    assert_eq!(svg.matches("data-valid=\"false\"").count(), 1, "{svg}");
    assert!(svg.contains("L0 index 32"), "{svg}");
    assert!(
        svg.contains("frame 0x123 | offset 0xabc = PA 0x123abc"),
        "{svg}"
    );
    assert!(!svg.contains("pa = va"), "{svg}");
}
