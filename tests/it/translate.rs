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
