//! `vmlab scenario`: every built-in lecture scenario gives the spec's numbers
//! (spec/lecture-examples.md), in the narration and in the JSON event log.

use super::support::{temp_file, vmlab};
use serde_json::Value;

fn run_json(name: &str) -> Vec<Value> {
    vmlab(&["scenario", "run", name, "--json"]).json_lines()
}

fn text(name: &str) -> String {
    vmlab(&["scenario", "run", name]).ok().to_string()
}

/// The access records (fetch/load/store) as (pid, kind, va, pa or fault).
fn accesses(events: &[Value]) -> Vec<(u64, String, u64, String)> {
    events
        .iter()
        .filter(|e| matches!(e["kind"].as_str(), Some("fetch" | "load" | "store")))
        .map(|e| {
            let outcome = match e.get("pa") {
                Some(pa) => pa.as_u64().unwrap().to_string(),
                None => format!("fault:{}", e["fault"].as_str().unwrap()),
            };
            (
                e["pid"].as_u64().unwrap(),
                e["kind"].as_str().unwrap().to_string(),
                e["va"].as_u64().unwrap(),
                outcome,
            )
        })
        .collect()
}

fn kinds<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["kind"] == kind).collect()
}

fn a(pid: u64, kind: &str, va: u64, out: &str) -> (u64, String, u64, String) {
    (pid, kind.to_string(), va, out.to_string())
}

#[test]
fn list_names_every_lecture_example() {
    let out = vmlab(&["scenario", "list"]).ok().to_string();
    for e in [
        "e1-",
        "e2-",
        "e3-",
        "e4-",
        "e5-",
        "e6-",
        "e7-",
        "e8-",
        "e9-",
        "e10-",
        "e11-",
        "e12-",
        "e13-",
        "e14-",
        "e15-",
        "base-privacy ",
        "base-p2-hurts-p1 ",
        "base-bounds-hole ",
        "malloc-on-sbrk ",
        "linux-stack-top ",
    ] {
        assert!(out.lines().any(|l| l.starts_with(e)), "{e} missing:\n{out}");
    }
}

#[test]
fn show_prints_toml_that_runs_as_a_file() {
    let toml = vmlab(&["scenario", "show", "e6"]).ok().to_string();
    assert!(toml.contains("strategy = \"base\""));
    let path = temp_file("mine.toml", toml.as_bytes());
    let from_file = vmlab(&["scenario", "run", path.to_str().unwrap()])
        .ok()
        .to_string();
    assert_eq!(from_file, text("e6-base"));
}

#[test]
fn e1_wraps_sched_with_the_spec_averages() {
    let out = text("e1");
    for needle in [
        "55.00", "31.67", "38.33", "15.00", "36.67", "10.00", "48.33", "3.33",
    ] {
        assert!(out.contains(needle), "{needle} missing:\n{out}");
    }
    let jobs: Vec<Value> = run_json("e1")
        .into_iter()
        .filter(|e| e["kind"] == "job")
        .collect();
    assert!(jobs.len() >= 12, "three jobs under four policies");
}

#[test]
fn e2_stack_refuses_an_out_of_order_free() {
    let out = text("e2");
    assert!(out.contains("fragmentation 0"));
    assert!(out.contains("reverse order"), "{out}");
    let ev = run_json("e2");
    assert_eq!(kinds(&ev, "error").len(), 1);
}

#[test]
fn e3_heap_places_each_request_as_the_lecture_says() {
    let out = text("e3");
    assert!(out.contains("32 fails under every policy"), "{out}");
    assert!(out.contains("40 bytes are free"), "{out}");
}

#[test]
fn e4_three_instructions_make_five_accesses_in_order() {
    let ev = run_json("e4");
    let got: Vec<(String, u64)> = accesses(&ev)
        .into_iter()
        .map(|(_, k, va, _)| (k, va))
        .collect();
    let want = [
        ("fetch", 0x10),
        ("load", 0x208),
        ("fetch", 0x14),
        ("fetch", 0x18),
        ("store", 0x208),
    ];
    let want: Vec<(String, u64)> = want.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    assert_eq!(got, want);
    let out = text("e4");
    assert!(out.contains("fetch 16 (0x10)") && out.contains("store 520 (0x208)"));
    // §4.7: a finished three-instruction run: nobody is killed, no zombie.
    assert!(kinds(&ev, "kill").is_empty(), "{ev:?}");
    assert!(!out.contains("kills") && !out.contains("zombie"), "{out}");
    assert!(
        out.contains("P1 has run its 3 instructions: the run ends here"),
        "{out}"
    );
    let p1 = kinds(&ev, "process-summary")[0];
    assert_eq!(p1["instructions"], 3);
    assert_eq!(p1["accesses"], 5);
}

#[test]
fn stop_after_needs_a_program_and_at_least_one_instruction() {
    let list = "[machine]\nmemory = \"16k\"\nstrategy = \"base\"\n[[process]]\nname = \"P1\"\nsize = \"1k\"\naccesses = [\"load 1\"]\nstop_after = 3\n";
    let path = temp_file("stop-list.toml", list.as_bytes());
    vmlab(&["scenario", "run", path.to_str().unwrap()]).bad_input(&[
        "stop-list.toml:8:",
        "stop_after",
        "only a program",
    ]);
    let zero = "[machine]\nmemory = \"16k\"\nstrategy = \"base\"\n[[process]]\nname = \"P1\"\nsize = \"1k\"\nsource = \"nop\"\nstop_after = 0\n";
    let path = temp_file("stop-zero.toml", zero.as_bytes());
    vmlab(&["scenario", "run", path.to_str().unwrap()]).bad_input(&["stop_after", "at least 1"]);
}

#[test]
fn e5_static_relocation_rewrites_and_shows_the_three_disadvantages() {
    let ev = run_json("e5");
    let rel: Vec<(u64, u64)> = kinds(&ev, "relocate")
        .iter()
        .map(|e| (e["from"].as_u64().unwrap(), e["to"].as_u64().unwrap()))
        .collect();
    assert!(
        rel.contains(&(0x10, 0x1010)) && rel.contains(&(0x10, 0x3010)),
        "{rel:?}"
    );
    // The rewritten word points into each process's own copy of x.
    assert!(rel.contains(&(0x500, 0x1500)) && rel.contains(&(0x500, 0x3500)));
    let fetches: Vec<_> = accesses(&ev)
        .into_iter()
        .filter(|x| x.1 == "fetch")
        .collect();
    assert_eq!(
        fetches,
        vec![
            a(1, "fetch", 0x1010, "4112"),
            a(2, "fetch", 0x3010, "12304")
        ]
    );
    let viol = kinds(&ev, "violation");
    assert_eq!(viol.len(), 1);
    assert_eq!(
        (viol[0]["pid"].as_u64(), viol[0]["owner_pid"].as_u64()),
        (Some(1), Some(2))
    );
    let refused = kinds(&ev, "refused");
    assert_eq!(refused.len(), 2, "move and compaction are refused");
    assert!(
        refused[0]["reason"]
            .as_str()
            .unwrap()
            .contains("cannot be moved")
    );
    let failed = kinds(&ev, "load-failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["needed"], 6144);
    assert_eq!(failed[0]["free_total"], 6144);
    assert_eq!(failed[0]["largest_hole"], 5120);
    let out = text("e5");
    assert!(out.contains("external fragmentation"));
    assert!(out.contains("P1 has corrupted P2"));
}

/// §4.1: static relocation happens once, at load time. Every rewrite comes
/// before the first access; the run itself translates nothing.
#[test]
fn e5_rewrites_at_load_time_never_during_the_run() {
    let ev = run_json("e5");
    let first_access = ev
        .iter()
        .position(|e| matches!(e["kind"].as_str(), Some("fetch" | "load" | "store")))
        .unwrap();
    let last_rewrite = ev.iter().rposition(|e| e["kind"] == "relocate").unwrap();
    assert!(
        last_rewrite < first_access,
        "a rewrite at run time (event {last_rewrite}) after the first access (event {first_access})"
    );
    // Each script line of P1 and P2 is rewritten once (3 + 4), plus the
    // word of each image.
    assert_eq!(kinds(&ev, "relocate").len(), 9);
    let out = text("e5");
    let run = &out[out.find("dispatch P1").unwrap()..];
    assert!(!run.contains("rewrites"), "{run}");
    // The word at 0x1010 holds an address: it reads as one.
    assert!(run.contains("read 5376 (0x1500)"), "{run}");
    assert!(run.contains("read 0x3500"), "{run}");
    assert!(run.contains("wrote 66\n"), "{run}");
}

#[test]
fn e6_base_register_relocates_and_p1_corrupts_p2() {
    let ev = run_json("e6");
    assert_eq!(
        accesses(&ev),
        vec![
            a(1, "load", 100, "1124"),
            a(2, "load", 100, "4196"),
            a(2, "load", 1000, "5096"),
            a(1, "load", 1000, "2024"),
            a(1, "store", 3072, "4096"),
            a(2, "load", 0, "4096"),
        ]
    );
    let v = kinds(&ev, "violation");
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["owner"], "process");
    assert_eq!(v[0]["owner_pid"], 2);
    assert_eq!(v[0]["owner_va"], 0);
    // P2 reads back what P1 wrote.
    assert_eq!(
        ev.iter().rev().find(|e| e["kind"] == "load").unwrap()["value"],
        99
    );
    assert!(text("e6").contains("P1 has corrupted P2"));
}

#[test]
fn e7_bounds_trap_kills_p1_and_p2_is_intact() {
    let ev = run_json("e7");
    let acc = accesses(&ev);
    assert!(acc.contains(&a(1, "load", 100, "1124")));
    assert!(acc.contains(&a(2, "load", 100, "4196")));
    assert!(acc.contains(&a(2, "load", 1000, "5096")));
    assert!(acc.contains(&a(1, "load", 1000, "2024")));
    assert!(acc.contains(&a(1, "store", 3072, "fault:bounds")));
    assert!(kinds(&ev, "violation").is_empty());
    let kills = kinds(&ev, "kill");
    assert_eq!(kills.len(), 1);
    assert_eq!(kills[0]["pid"], 1);
    let last = ev.iter().rev().find(|e| e["kind"] == "load").unwrap();
    assert_eq!(
        (last["pid"].as_u64(), last["value"].as_u64()),
        (Some(2), Some(22))
    );
    let out = text("e7");
    assert!(out.contains("OS kills P1: segmentation violation: out of bounds"));
}

#[test]
fn e8_switch_saves_and_loads_base_and_bounds_and_user_writes_trap() {
    let ev = run_json("e8-context-switch");
    let steps: Vec<&str> = kinds(&ev, "context-switch")
        .iter()
        .map(|e| e["step"].as_str().unwrap())
        .collect();
    let first_switch = steps.windows(4).position(|w| {
        w == [
            "save-registers",
            "save-mmu",
            "load-mmu",
            "restore-registers",
        ]
    });
    assert!(first_switch.is_some(), "{steps:?}");
    let saves = kinds(&ev, "context-switch");
    let save = saves.iter().find(|e| e["step"] == "save-mmu").unwrap();
    assert_eq!(save["registers"]["base"], 1024);
    assert_eq!(save["registers"]["bounds"], 1024);
    let privileged: Vec<_> = kinds(&ev, "trap")
        .into_iter()
        .filter(|e| e["cause"] == "privileged")
        .collect();
    assert_eq!(privileged.len(), 2, "set-base and set-mode both trap");
    assert_eq!(kinds(&ev, "kill").len(), 2);
    let out = text("e8-context-switch");
    assert!(
        out.contains(
            "save the MMU registers (base=1024 (0x400) bounds=1024 (0x400)) into P1's PCB"
        )
    );
    assert!(out.contains("privileged operation attempted in user mode"));
}

#[test]
fn e8_forgotten_reload_lands_p2_in_p1s_memory() {
    let ev = run_json("e8-forgot");
    assert!(
        kinds(&ev, "context-switch")
            .iter()
            .any(|e| e["step"] == "skip-mmu-reload")
    );
    let acc = accesses(&ev);
    assert_eq!(acc[1], a(2, "store", 100, "1124"), "P2 uses P1's base");
    let v = kinds(&ev, "violation");
    assert_eq!(
        (v[0]["pid"].as_u64(), v[0]["owner_pid"].as_u64()),
        (Some(2), Some(1))
    );
    assert!(text("e8-forgot").contains("P2 has corrupted P1"));
}

#[test]
fn e9_segment_table_translates_and_faults() {
    let ev = run_json("e9");
    let acc = accesses(&ev);
    assert_eq!(
        acc,
        vec![
            a(1, "load", 0x0240, "8768"),
            a(1, "load", 0x1108, "264"),
            a(1, "load", 0x265c, "13916"),
            a(1, "load", 0x3002, "fault:invalid-segment"),
            a(2, "store", 0x0240, "fault:protection"),
        ]
    );
    let segs: Vec<(u64, u64)> = ev
        .iter()
        .filter(|e| e.get("segment").is_some())
        .map(|e| {
            (
                e["segment"].as_u64().unwrap(),
                e["offset"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(segs[..4], [(0, 0x240), (1, 0x108), (2, 0x65c), (3, 0x2)]);
    let out = text("e9");
    assert!(out.contains("-> PA 8768 (0x2240)") && out.contains("FAULT (protection)"));
}

#[test]
fn e10_segments_in_physical_memory() {
    let acc = accesses(&run_json("e10"));
    assert_eq!(
        acc,
        vec![
            a(1, "load", 0x2010, "5648"),
            a(1, "load", 0x1010, "1040"),
            a(1, "load", 0x1100, "1280"),
        ]
    );
    assert!(text("e10").contains("-> PA 5648 (0x1610)"));
}

#[test]
fn e11_growth_sharing_fragmentation_and_compaction() {
    let ev = run_json("e11");
    let spawns = kinds(&ev, "spawn");
    let code = |e: &Value| e["registers"]["segments"][0].clone();
    assert_eq!(
        code(spawns[0]),
        code(spawns[1]),
        "A and B share one code segment"
    );
    let grows: Vec<(String, String)> = kinds(&ev, "grow")
        .iter()
        .map(|e| {
            (
                e["region"].as_str().unwrap().into(),
                e["how"].as_str().unwrap().into(),
            )
        })
        .collect();
    for want in [
        ("heap", "in-place"),
        ("heap", "moved"),
        ("stack", "implicit"),
    ] {
        assert!(
            grows.contains(&(want.0.into(), want.1.into())),
            "{want:?} in {grows:?}"
        );
    }
    assert!(accesses(&ev).contains(&a(1, "store", 0x10, "fault:protection")));
    let failed = kinds(&ev, "load-failed");
    assert_eq!(failed.len(), 1);
    assert!(failed[0]["free_total"].as_u64() >= failed[0]["needed"].as_u64());
    assert!(failed[0]["largest_hole"].as_u64() < failed[0]["needed"].as_u64());
    assert_eq!(
        spawns.last().unwrap()["name"],
        "C",
        "C loads after compaction"
    );
    // The reference beyond the stack limit kills B.
    assert_eq!(kinds(&ev, "kill").last().unwrap()["pid"], 2);
    let out = text("e11");
    assert!(out.contains("(shared)") && out.contains("external fragmentation"));
}

#[test]
fn e12_time_sharing_moves_whole_address_spaces_and_costs_more() {
    let ev = run_json("e12");
    let swaps = kinds(&ev, "swap");
    assert!(swaps.iter().all(|s| s["bytes"] == 32768));
    let costs = kinds(&ev, "cost");
    assert_eq!(costs.len(), 2);
    assert_eq!(costs[0]["strategy"], "time-sharing");
    assert_eq!(costs[0]["disk_bytes"], swaps.len() as u64 * 32768);
    assert_eq!(costs[0]["disk_transfers"], 13);
    assert_eq!(costs[1]["strategy"], "base-bounds");
    assert_eq!(costs[1]["disk_bytes"], 0);
    assert_eq!(
        costs[0]["accesses"], costs[1]["accesses"],
        "the same workload"
    );
    let cmp = kinds(&ev, "compare");
    assert!(cmp[0]["ratio"].as_f64().unwrap() > 1000.0);
    assert!(text("e12").contains("425984 bytes to/from disk in 13 transfers"));
}

#[test]
fn e13_stack_grows_down_heap_grows_up_and_layout_decides_which_is_above() {
    for (name, stack_below_heap) in [("e13-xv6", true), ("e13-canonical", false)] {
        let ev = run_json(name);
        let stack_stores: Vec<u64> = ev
            .iter()
            .filter(|e| e["kind"] == "store" && e["region"] == "stack")
            .map(|e| e["va"].as_u64().unwrap())
            .collect();
        // a (main), b (f1), c (f2), arr[0], arr[1]: the 4-byte stores.
        let locals: Vec<u64> = ev
            .iter()
            .filter(|e| e["kind"] == "store" && e["region"] == "stack" && e["size"] == 4)
            .map(|e| e["va"].as_u64().unwrap())
            .collect();
        assert_eq!(locals.len(), 5, "{name}: {locals:?}");
        assert!(
            locals[0] > locals[1] && locals[1] > locals[2],
            "{name}: deeper is lower"
        );
        assert_eq!(locals[4] - locals[3], 4, "{name}: arr[1] is 4 above arr[0]");
        let sbrk: Vec<u64> = kinds(&ev, "syscall")
            .iter()
            .filter(|e| e["name"] == "sbrk")
            .map(|e| e["result"].as_u64().unwrap())
            .collect();
        assert_eq!(sbrk.len(), 3);
        assert_eq!((sbrk[1] - sbrk[0], sbrk[2] - sbrk[1]), (40, 40), "{name}");
        let lowest_stack = *stack_stores.iter().min().unwrap();
        assert_eq!(lowest_stack < sbrk[0], stack_below_heap, "{name}");
    }
}

#[test]
fn e14_latency_table_is_the_lectures() {
    let ev = run_json("e14");
    let t = &kinds(&ev, "cost-table")[0]["levels"];
    let row = |i: usize| {
        (
            t[i]["name"].as_str().unwrap(),
            t[i]["size"].as_str().unwrap(),
            t[i]["latency_ns"].as_f64().unwrap(),
        )
    };
    assert_eq!(row(0), ("CPU", "-", 1.0));
    assert_eq!(row(1), ("L1", "32 KB", 1.0));
    assert_eq!(row(2), ("L2", "256 KB", 4.0));
    assert_eq!(row(3), ("L3", "> 8 MB", 40.0));
    assert_eq!(row(4), ("DRAM", "-", 80.0));
    let cost = kinds(&ev, "cost")[0];
    // §4.2: 5 fetches + 5 data accesses are 5 instructions, counted once.
    assert_eq!(cost["accesses"], 10);
    assert_eq!(cost["instructions"], 5);
    assert_eq!(cost["cpu_ns"], 5.0);
    assert_eq!(cost["total_ns"], 805.0);
    let out = text("e14");
    assert!(out.contains("L2     256 KB   4 ns") && out.contains("DRAM   -        80 ns"));
    assert!(out.contains("CPU 5 ns + memory 800 ns"), "{out}");
    // The disk row is vmlab's own figure, said so.
    let disk = out.lines().find(|l| l.starts_with("  disk ")).unwrap();
    assert!(disk.contains("vmlab's figure, not the lecture's"), "{disk}");
}

/// §4.2: charge what happened. A refused access (a fault) never reaches
/// memory: in every built-in scenario the cost counts exactly the accesses
/// that got a physical address, and E7's store beyond bounds is not one.
#[test]
fn only_accesses_that_reached_memory_are_charged() {
    let list = vmlab(&["scenario", "list"]).ok().to_string();
    for name in list.lines().filter_map(|l| l.split_whitespace().next()) {
        let ev = run_json(name);
        let Some(cost) = kinds(&ev, "cost").first().copied() else {
            continue;
        };
        let reached = accesses(&ev)
            .iter()
            .filter(|x| !x.3.starts_with("fault:"))
            .count() as u64;
        assert_eq!(cost["accesses"].as_u64(), Some(reached), "{name}");
    }
    let ev = run_json("e7");
    let p1 = kinds(&ev, "process-summary")
        .into_iter()
        .find(|e| e["pid"] == 1)
        .unwrap();
    assert_eq!(
        (p1["accesses"].as_u64(), p1["faults"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(kinds(&ev, "cost")[0]["accesses"], 6);
}

#[test]
fn e15_every_access_is_labelled_with_its_region() {
    for name in ["e15-where-does-it-live", "e15-segmentation"] {
        e15_labels(name);
    }
}

fn e15_labels(name: &str) {
    let ev = run_json(name);
    // Process main (pid 1); nodata, the same program without a static
    // data segment, is the summary's business.
    let data: Vec<(String, u64, String)> = ev
        .iter()
        .filter(|e| matches!(e["kind"].as_str(), Some("load" | "store")) && e["pid"] == 1)
        .map(|e| {
            (
                e["kind"].as_str().unwrap().into(),
                e["value"].as_u64().unwrap(),
                e["region"].as_str().unwrap().into(),
            )
        })
        .collect();
    let region_of = |v: u64| {
        data.iter()
            .find(|d| d.0 == "store" && d.1 == v)
            .unwrap()
            .2
            .clone()
    };
    assert_eq!(region_of(1), "data", "x = 1");
    assert_eq!(region_of(2), "stack", "y = 2");
    assert_eq!(region_of(3), "heap", "*z = 3");
    let z = data.iter().find(|d| d.0 == "store" && d.1 > 3).unwrap();
    assert_eq!(z.2, "stack", "z itself");
    assert!(
        ev.iter()
            .filter(|e| e["kind"] == "fetch")
            .all(|e| e["region"] == "code")
    );
}

#[test]
fn uniprogramming_store_into_the_os_corrupts_it() {
    let ev = run_json("uniprogramming");
    let v = kinds(&ev, "violation");
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["owner"], "os");
    assert!(text("uniprogramming").contains("the OS is corrupted"));
}

#[test]
fn every_builtin_runs_in_text_and_json_with_a_kind_on_every_line() {
    let list = vmlab(&["scenario", "list"]).ok().to_string();
    for name in list.lines().filter_map(|l| l.split_whitespace().next()) {
        let t = vmlab(&["scenario", "run", name]);
        assert!(!t.ok().is_empty(), "{name}");
        for e in run_json(name) {
            assert!(e["kind"].is_string(), "{name}: {e}");
        }
    }
}

#[test]
fn unknown_scenarios_are_bad_input() {
    vmlab(&["scenario", "show", "e99"]).bad_input(&["e99", "scenario list"]);
    vmlab(&["scenario", "run", "e8"]).bad_input(&["e8"]);
}

#[test]
fn names_take_any_case_and_a_unique_prefix_and_ambiguity_lists_candidates() {
    let upper = vmlab(&["scenario", "run", "E7"]);
    assert_eq!(upper.code, 0);
    assert_eq!(
        upper.stdout,
        vmlab(&["scenario", "run", "e7-base-bounds"]).stdout
    );
    vmlab(&["scenario", "run", "e8"]).bad_input(&[
        "'e8'",
        "e8-context-switch",
        "e8-forgot-mmu-reload",
    ]);
    vmlab(&["scenario", "show", "e13"]).bad_input(&["e13-xv6", "e13-canonical"]);
}

/// A process with an explicit segment table: segment 2 is named heap.
const NAMED_HEAP: &str = r#"
title = "heap by name"
description = "segment 2 is named heap: sbrk grows it"

[machine]
memory = "16k"
os_size = "4k"
strategy = "segmentation"
va_bits = 14

[[process]]
name = "P1"
segments = [
  { base = "0x1000", size = "0x100", perms = "rx", name = "code" },
  { base = "0", size = "0", perms = "-" },
  { base = "0x2000", size = "0x100", perms = "rw", name = "heap" },
  { base = "0x4000", size = "0x100", perms = "rw", name = "stack", grows_down = true },
]
accesses = ["sbrk 0x100", "store 0x2150 = 7", "load 0x2150", "sbrk -0x180", "load 0x2150"]
"#;

/// §4.3: sbrk follows the table's names. The segment named heap (here
/// segment 2, not the default layout's 1) grows from 0x100 to 0x200 bytes;
/// the old break is the segment's first address plus its size; the new
/// bytes are usable; shrinking it puts 0x2150 out of bounds again.
#[test]
fn sbrk_grows_the_segment_named_heap_of_an_explicit_table() {
    let path = temp_file("named-heap.toml", NAMED_HEAP.as_bytes());
    let ev = vmlab(&["scenario", "run", path.to_str().unwrap(), "--json"]).json_lines();
    let sbrk: Vec<_> = kinds(&ev, "syscall")
        .into_iter()
        .filter(|e| e["name"] == "sbrk")
        .map(|e| e["result"].as_u64())
        .collect();
    assert_eq!(sbrk, vec![Some(0x2100), Some(0x2200)]);
    let grow: Vec<_> = kinds(&ev, "grow")
        .into_iter()
        .map(|e| {
            (
                e["region"].clone(),
                e["old_size"].clone(),
                e["new_size"].clone(),
            )
        })
        .collect();
    assert_eq!(grow.len(), 2);
    assert_eq!(grow[0], ("heap".into(), 0x100.into(), 0x200.into()));
    assert_eq!(
        accesses(&ev),
        vec![
            a(1, "store", 0x2150, "8528"),
            a(1, "load", 0x2150, "8528"),
            a(1, "load", 0x2150, "fault:bounds"),
        ]
    );
    // Without a segment named heap, sbrk fails and says why.
    let mine = NAMED_HEAP.replace(r#"name = "heap" }"#, r#"name = "mine" }"#);
    let path = temp_file("no-heap.toml", mine.as_bytes());
    let out = vmlab(&["scenario", "run", path.to_str().unwrap()])
        .ok()
        .to_string();
    assert!(
        out.contains("= -1 (this process has no heap: no segment of its table is named heap)"),
        "{out}"
    );
}

/// §4.4: where a scenario uses a segment growing down (E11's stack growth,
/// E15 under segmentation), the narration states the rule and each access
/// shows its negative offset.
#[test]
fn grows_down_segments_are_narrated_with_the_negative_offset_rule() {
    for (name, access) in [
        (
            "e11",
            "B: store 0x3dfc (segment 3, offset 0xdfc: negative offset 0xdfc - 0x1000 = -0x204) [stack] -> PA 3068 (0xbfc)",
        ),
        (
            "e15-segmentation",
            "main: store 0xfffc (segment 3, offset 0x3ffc: negative offset 0x3ffc - 0x4000 = -0x4) [stack] -> PA 0x4200",
        ),
    ] {
        let out = text(name);
        assert!(
            out.contains("its base register holds its top"),
            "{name}:\n{out}"
        );
        assert!(
            out.contains("pa = base + negative offset"),
            "{name}:\n{out}"
        );
        assert!(out.contains(access), "{name}: {access:?} missing:\n{out}");
    }
    // A segment growing up keeps base + offset (E10).
    let out = text("e10");
    assert!(!out.contains("negative offset"), "{out}");
}

/// §4.5: after a forgotten reload the narration names the right process's
/// values (the MMU holds what was last loaded, P1's), and the next switch
/// saving those values into P2's PCB is narrated, in text and JSON.
#[test]
fn e8_forgot_reload_names_whose_values_and_the_overwritten_pcb() {
    let out = text("e8-forgot-mmu-reload");
    assert!(
        out.contains(
            "the kernel forgets to load P2's MMU registers; the MMU still holds P1's (base=1024"
        ),
        "{out}"
    );
    assert!(
        out.contains("the kernel forgets to load P1's MMU registers; the MMU still holds P1's own values, loaded when P1 last ran (base=1024"),
        "{out}"
    );
    assert!(!out.contains("still holds P2's"), "{out}");
    assert!(
        out.contains("BUG: those were P1's values: P2's PCB held base=4096 (0x1000) bounds=1024 (0x400) and now holds P1's base=1024 (0x400)"),
        "{out}"
    );
    let ev = run_json("e8-forgot-mmu-reload");
    let over = kinds(&ev, "pcb-overwritten");
    assert_eq!(over.len(), 1, "{over:?}");
    assert_eq!(
        (over[0]["pid"].as_u64(), over[0]["owner"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(over[0]["was"]["base"], 4096);
    assert_eq!(over[0]["now"]["base"], 1024);
    // The correct switch (E8) overwrites no PCB.
    assert!(kinds(&run_json("e8-context-switch"), "pcb-overwritten").is_empty());
}

/// §4.2: the disk time is vmlab's own figure, and says so where it counts.
#[test]
fn e12_labels_the_disk_time_as_vmlabs() {
    let out = text("e12");
    let line = out
        .lines()
        .find(|l| l.contains("estimated time") && l.contains("disk 134.26 ms"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.ends_with("(the disk time is vmlab's own figure, not the lecture's table)"),
        "{line}"
    );
    // Without disk time, no label.
    assert!(!text("e7").contains("vmlab's own figure"));
}

/// §4.6: under time sharing only P1 is loaded into memory; P2 starts on
/// disk and is read in at its first switch.
#[test]
fn e12_p2_starts_on_disk() {
    let out = text("e12");
    assert!(
        out.contains("loader: P2 (pid 2), address space of 32768 bytes: starts on disk (P1 owns memory); swapped in when it runs"),
        "{out}"
    );
    assert!(
        out.contains("loader: P1 (pid 1), address space of 32768 bytes: image at PA [0x0, 0x8000)")
    );
    let ev = run_json("e12");
    let spawns = kinds(&ev, "spawn");
    assert_eq!(spawns[0].get("on_disk_while"), None);
    assert_eq!(spawns[1]["on_disk_while"], 1);
    // The first thing P2 does is come in from disk.
    let first_in = ev
        .iter()
        .position(|e| e["kind"] == "swap" && e["pid"] == 2 && e["direction"] == "in")
        .unwrap();
    let first_access = ev
        .iter()
        .position(|e| e["kind"] == "load" && e["pid"] == 2)
        .unwrap();
    assert!(first_in < first_access);
}

/// §4.7: a machine without an OS region says so, not "[0, 0x0)".
#[test]
fn no_os_region_is_said_in_words() {
    for name in ["e9", "e12"] {
        let out = text(name);
        assert!(!out.contains("[0, 0x0)"), "{name}:\n{out}");
        assert!(out.contains("no OS region"), "{name}:\n{out}");
    }
    assert!(text("e7").contains("OS region [0, 0x400)"));
}

fn summary_lines(name: &str) -> Vec<String> {
    let ev = run_json(name);
    let s = kinds(&ev, "summary");
    assert_eq!(s.len(), 1, "{name}: one summary");
    // The summary is the last thing the run says.
    assert_eq!(ev.last().unwrap()["kind"], "summary", "{name}");
    s[0]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

/// §4.8: E13 ends with the hands-on's printf lines, filled in from the run:
/// locals lower with call depth, arr[1] 4 bytes above arr[0], sbrk blocks
/// 40 bytes apart, and the stack below (xv6) or above (canonical) the heap.
#[test]
fn e13_ends_with_the_printf_lines_of_the_hands_on() {
    let xv6 = summary_lines("e13-xv6");
    for want in [
        "main:   &a      = 0x2fec",
        "f1:     &b      = 0x2fcc",
        "f2:     &c      = 0x2fac",
        "f2:     &arr[1] = 0x2fa4  (4 bytes above arr[0])",
        "sbrk(40)   h1 = 0x3000",
        "h2 - h1 = 40 bytes, h3 - h2 = 40 bytes (the heap grows up)",
        "h1 - &c = 84 bytes: the stack lies below the heap",
    ] {
        assert!(xv6.iter().any(|l| l == want), "{want:?} missing: {xv6:#?}");
    }
    let canonical = summary_lines("e13-canonical");
    assert!(
        canonical
            .iter()
            .any(|l| l == "h1 - &c = -16152 bytes: the stack lies above the heap"),
        "{canonical:#?}"
    );
    let out = text("e13-xv6");
    let tail: Vec<&str> = out.lines().rev().take(12).collect();
    assert!(
        tail.iter()
            .any(|l| l.contains("What stacktest and arraytest print")),
        "{out}"
    );
}

/// §4.8: E15 ends with a variable -> region table, and what happens to the
/// same program without a static data segment: under base+bounds x falls
/// where malloc's block goes (*z = 3 overwrites x); under segmentation x's
/// segment is not in use and x = 1 traps.
#[test]
fn e15_ends_with_a_variable_to_region_table() {
    let flat = summary_lines("e15-where-does-it-live");
    for want in [
        "int x;            x = 1 -> data at 0x1000",
        "int main()        fetch -> code at 0x0",
        "int y = 2;        y     -> stack at 0x3ffc",
        "int *z = malloc;  z     -> stack at 0x3ff0",
        "*z = 3;           *z    -> heap at 0x1004",
        "  int x;          x = 1 -> heap at 0x1000, PA 0x9000",
    ] {
        assert!(
            flat.iter().any(|l| l == want),
            "{want:?} missing: {flat:#?}"
        );
    }
    assert!(
        flat.last()
            .unwrap()
            .contains("heap at 0x1000, 0 bytes from x")
    );
    let seg = summary_lines("e15-segmentation");
    assert!(
        seg.iter()
            .any(|l| l == "int x;            x = 1 -> data at 0x8000"),
        "{seg:#?}"
    );
    assert!(
        seg.iter()
            .any(|l| l == "  int x;          x = 1 -> none at 0x8000, FAULT (invalid-segment)"),
        "{seg:#?}"
    );
}

#[test]
fn a_bad_summary_placeholder_is_refused_with_its_line() {
    let toml = "summary = [\"ok {P1 load 1}\", \"bad {P9 load 1}\"]\n[machine]\nmemory = \"16k\"\nstrategy = \"base\"\n[[process]]\nname = \"P1\"\nsize = \"1k\"\naccesses = [\"load 1\"]\n";
    let path = temp_file("bad-summary.toml", toml.as_bytes());
    vmlab(&["scenario", "run", path.to_str().unwrap()]).bad_input(&[
        "bad-summary.toml:1:",
        "summary[1]",
        "no process named 'P9'",
    ]);
}

/// §4.9: privacy under a base register alone. P2 (below P1) reads P1's
/// secret through an address of its own, and the read is a violation.
#[test]
fn base_privacy_p2_reads_p1s_secret() {
    let ev = run_json("base-privacy");
    assert_eq!(
        accesses(&ev),
        vec![a(1, "store", 100, "4196"), a(2, "load", 3172, "4196")]
    );
    let load = kinds(&ev, "load")[0];
    assert_eq!(load["value"], 42);
    let v = kinds(&ev, "violation");
    assert_eq!(v.len(), 1);
    assert_eq!(
        (v[0]["pid"].as_u64(), v[0]["owner_pid"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(v[0]["access"], "read");
    let out = text("base-privacy");
    assert!(
        out.contains("P2: load 3172 (0xc64) -> PA 4196 (0x1064), read 42"),
        "{out}"
    );
    assert!(out.contains("P2 read P1's memory"), "{out}");
}

/// §4.9: P2 hurts P1. P2's store lands on P1's first instruction; P1, the
/// innocent one, fetches it and the OS kills P1, while P2 exits normally.
#[test]
fn base_p2_hurts_p1_the_os_kills_the_victim() {
    let ev = run_json("base-p2-hurts-p1");
    let store = kinds(&ev, "store")[0];
    assert_eq!(
        (
            store["pid"].as_u64(),
            store["va"].as_u64(),
            store["pa"].as_u64()
        ),
        (Some(2), Some(3072), Some(4096))
    );
    let kills = kinds(&ev, "kill");
    assert_eq!(kills.len(), 1);
    assert_eq!(kills[0]["pid"], 1);
    assert!(
        kills[0]["reason"]
            .as_str()
            .unwrap()
            .contains("illegal instruction 0x00000000")
    );
    let exits = kinds(&ev, "exit");
    assert!(exits.iter().any(|e| e["pid"] == 2), "{exits:?}");
    // P1 ran its loop before the store, and fetched the zero word after.
    let p1_fetches = accesses(&ev)
        .iter()
        .filter(|x| x.0 == 1 && x.1 == "fetch")
        .count();
    assert_eq!(p1_fetches, 9);
    let out = text("base-p2-hurts-p1");
    assert!(out.contains("P2 has corrupted P1"), "{out}");
    assert!(
        out.contains("OS kills P1: illegal instruction 0x00000000 at pc 0x0"),
        "{out}"
    );
    assert!(
        out.contains("P2 stored 0 at its address 0xc00 (PA 0x1000)"),
        "{out}"
    );
}

/// §4.9: base+bounds maps the whole address space, the hole between heap
/// and stack included: an access in the hole succeeds, and a third process
/// finds no memory though the first two use 3 KiB each.
#[test]
fn base_bounds_hole_is_allocated_and_wasted() {
    let ev = run_json("base-bounds-hole");
    let spawns = kinds(&ev, "spawn");
    assert_eq!(spawns.len(), 2);
    for s in &spawns {
        assert_eq!(s["blocks"][0]["size"], 16384);
        let used: u64 = s["regions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["size"].as_u64().unwrap())
            .sum();
        assert_eq!(used, 3072, "{s}");
    }
    let store = kinds(&ev, "store")[0];
    assert_eq!(
        (store["va"].as_u64(), store["region"].as_str()),
        (Some(0x2000), Some("none"))
    );
    assert!(store.get("pa").is_some());
    let failed = kinds(&ev, "load-failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["needed"], 16384);
    assert_eq!(failed[0]["free_total"], 4096);
    let out = text("base-bounds-hole");
    assert!(
        out.contains("P1: store 8192 (0x2000) -> PA 0x3000, wrote 7"),
        "{out}"
    );
    assert!(out.contains("cannot load P3 (16384 bytes)"), "{out}");
}

/// §4.9: malloc on top of sbrk. The allocator calls sbrk only when its free
/// list is empty (twice for six mallocs), and a freed block comes back.
#[test]
fn malloc_on_sbrk_asks_the_os_only_when_the_free_list_is_empty() {
    let ev = run_json("malloc-on-sbrk");
    let sbrk: Vec<_> = kinds(&ev, "syscall")
        .into_iter()
        .filter(|e| e["name"] == "sbrk")
        .map(|e| (e["args"][0].as_u64(), e["result"].as_u64()))
        .collect();
    assert_eq!(
        sbrk,
        vec![(Some(64), Some(0x1050)), (Some(64), Some(0x1090))]
    );
    let printed: Vec<String> = kinds(&ev, "output")
        .iter()
        .map(|e| e["text"].as_str().unwrap().trim_end().to_string())
        .collect();
    assert_eq!(
        printed,
        [
            "  sbrk(64)   = 0x1050",
            "malloc(16)   = 0x1080",
            "malloc(16)   = 0x1070",
            "malloc(16)   = 0x1060",
            "malloc(16)   = 0x1050",
            "  sbrk(64)   = 0x1090",
            "malloc(16)   = 0x10c0",
            "free(b)      : 0x1070",
            "malloc(16)   = 0x1070",
        ]
    );
    // Every block handed out lies in memory sbrk gave.
    for p in &printed {
        if let Some(hex) = p.strip_prefix("malloc(16)   = 0x") {
            let a = u64::from_str_radix(hex, 16).unwrap();
            assert!((0x1050..0x1050 + 128).contains(&a), "{p}");
        }
    }
    let lines = summary_lines("malloc-on-sbrk");
    assert_eq!(lines[0], "  sbrk(64)   = 0x1050");
    assert!(lines.last().unwrap().contains("64 bytes apart"));
    assert!(text("malloc-on-sbrk").contains("What the program printed:"));
}

/// §4.9: Linux's randomized stack top, printed by the program itself; the
/// seed moves it (another seed, another top), always 16-byte aligned and
/// below the top of the address space.
#[test]
fn linux_stack_top_is_randomized_and_printed() {
    let top_of = |out: &str| {
        let line = out
            .lines()
            .find(|l| l.contains("writes to the console: stack top 0x"))
            .unwrap_or_else(|| panic!("{out}"));
        u64::from_str_radix(line.rsplit("0x").next().unwrap().trim(), 16).unwrap()
    };
    let out = text("linux-stack-top");
    let top = top_of(&out);
    assert_eq!(top, 0x3100);
    let ev = run_json("linux-stack-top");
    let first = kinds(&ev, "store")[0];
    assert_eq!(first["va"].as_u64(), Some(top - 16));
    assert_eq!(first["region"], "stack");
    let toml = vmlab(&["scenario", "show", "linux-stack-top"])
        .ok()
        .replace("random_stack = 2024", "random_stack = 7");
    let path = temp_file("stack-top-7.toml", toml.as_bytes());
    let other = top_of(vmlab(&["scenario", "run", path.to_str().unwrap()]).ok());
    assert_ne!(other, top);
    for t in [top, other] {
        assert!(t % 16 == 0 && t <= 0x4000 && t > 0x3000, "{t:#x}");
    }
}
