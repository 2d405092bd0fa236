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
        "e1-", "e2-", "e3-", "e4-", "e5-", "e6-", "e7-", "e8-", "e9-", "e10-", "e11-", "e12-",
        "e13-", "e14-", "e15-",
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
    assert!(out.contains("fetch 0x10") && out.contains("store 0x208"));
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
    assert!(out.contains("save the MMU registers (base=0x400 bounds=0x400) into P1's PCB"));
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
    assert!(out.contains("-> PA 0x2240") && out.contains("FAULT (protection)"));
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
    assert!(text("e10").contains("-> PA 0x1610"));
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
    assert_eq!(cost["accesses"], 10);
    assert_eq!(cost["total_ns"], 810.0);
    let out = text("e14");
    assert!(out.contains("L2     256 KB   4 ns") && out.contains("DRAM   -        80 ns"));
}

#[test]
fn e15_every_access_is_labelled_with_its_region() {
    for name in ["e15-where-does-it-live", "e15-segmentation"] {
        e15_labels(name);
    }
}

fn e15_labels(name: &str) {
    let ev = run_json(name);
    let data: Vec<(String, u64, String)> = ev
        .iter()
        .filter(|e| matches!(e["kind"].as_str(), Some("load" | "store")))
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
