//! The paging strategy's built-in scenarios through `vmlab scenario run`, in
//! text and in JSON: Sv39 page tables built by exec, the xv6 guard page,
//! sbrk by pages, no external fragmentation, demand paging (Belady's
//! anomaly, thrashing), and the paging fields' bad input.

use super::support::{temp_file, temp_path, vmlab};
use serde_json::Value;

fn run_json(name: &str) -> Vec<Value> {
    vmlab(&["scenario", "run", name, "--json"]).json_lines()
}

fn text(name: &str) -> String {
    vmlab(&["scenario", "run", name]).ok().to_string()
}

fn kinds<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["kind"] == kind).collect()
}

fn summary(events: &[Value]) -> &Value {
    kinds(events, "paging-summary")
        .pop()
        .expect("a paging summary")
}

#[test]
fn belady_fifo_faults_9_times_with_3_frames_and_10_with_4() {
    let ev = run_json("paging-belady");
    let s = summary(&ev);
    assert_eq!(s["policy"], "fifo");
    assert_eq!(s["frames"], 3);
    assert_eq!(s["references"], 12);
    assert_eq!(s["page_faults"], 9);
    assert_eq!(s["evictions"], 6);
    let cmp = kinds(&ev, "frames-compare");
    assert_eq!(cmp.len(), 1);
    assert_eq!(
        (cmp[0]["frames"].as_u64(), cmp[0]["page_faults"].as_u64()),
        (Some(3), Some(9))
    );
    assert_eq!(
        (
            cmp[0]["other_frames"].as_u64(),
            cmp[0]["other_page_faults"].as_u64()
        ),
        (Some(4), Some(10))
    );
    // FIFO's victims, in order: pages 1, 2, 3, 4, 1, 2.
    let victims: Vec<u64> = kinds(&ev, "page-out")
        .iter()
        .map(|e| e["va"].as_u64().unwrap() / 4096)
        .collect();
    assert_eq!(victims, [1, 2, 3, 4, 1, 2]);
    let t = text("paging-belady");
    assert!(
        t.contains("3 frames 9 page faults, 4 frames 10 page faults -- more frames, more faults: Belady's anomaly"),
        "{t}"
    );
    assert!(t.contains("no free frame: fifo evicts P's page at VA 0x1000"));
}

#[test]
fn belady_under_lru_and_opt_never_faults_more_with_more_frames() {
    let toml = vmlab(&["scenario", "show", "paging-belady"])
        .ok()
        .to_string();
    for (policy, three, four) in [("lru", 10, 8), ("opt", 7, 6)] {
        let mine = toml.replace("policy = \"fifo\"", &format!("policy = \"{policy}\""));
        let path = temp_file(&format!("belady-{policy}.toml"), mine.as_bytes());
        let ev = vmlab(&["scenario", "run", path.to_str().unwrap(), "--json"]).json_lines();
        let cmp = kinds(&ev, "frames-compare");
        assert_eq!(cmp[0]["policy"], policy);
        assert_eq!(cmp[0]["page_faults"], three, "{policy} with 3 frames");
        assert_eq!(cmp[0]["other_page_faults"], four, "{policy} with 4 frames");
    }
}

#[test]
fn thrashing_faults_on_every_reference_until_the_working_sets_fit() {
    let ev = run_json("paging-thrashing");
    let s = summary(&ev);
    assert_eq!(s["references"], 36);
    assert_eq!(s["page_faults"], 36);
    assert_eq!(s["fault_rate"].as_f64(), Some(1.0));
    assert!(s["writebacks"].as_u64().unwrap() > 20, "{s}");
    let cost = kinds(&ev, "cost").pop().unwrap().clone();
    assert!(cost["disk_ns"].as_f64().unwrap() > 1000.0 * cost["memory_ns"].as_f64().unwrap());
    let cmp = kinds(&ev, "frames-compare");
    assert_eq!(cmp[0]["other_frames"], 6);
    assert_eq!(cmp[0]["other_page_faults"], 6, "only the first touches");
    let t = text("paging-thrashing");
    assert!(t.contains("36 page faults (fault rate 100.0%"), "{t}");
}

#[test]
fn the_guard_page_catches_the_stack_overflow_under_sv39() {
    let ev = run_json("paging-xv6-guard");
    let maps: Vec<u64> = kinds(&ev, "map-page")
        .iter()
        .map(|e| e["va"].as_u64().unwrap())
        .collect();
    assert_eq!(maps, [0, 0x2000], "text+data and the stack page; no guard");
    let spawn = &kinds(&ev, "spawn")[0];
    let satp = spawn["registers"]["satp"].as_u64().unwrap();
    assert_eq!(satp >> 60, 8, "Sv39 mode");
    let last = kinds(&ev, "store").pop().unwrap().clone();
    assert_eq!(last["va"], 0x1ff8);
    assert_eq!(last["fault"], "page-fault");
    assert_eq!(last["region"], "guard");
    let kill = &kinds(&ev, "kill")[0];
    assert!(
        kill["reason"].as_str().unwrap().contains("guard page"),
        "{kill}"
    );
    // 64 frames of 64 bytes fill the stack page before the overflow.
    let stores = kinds(&ev, "store").len();
    assert_eq!(stores, 2 * 64 + 1);
    let t = text("paging-xv6-guard");
    assert!(
        t.contains("OS kills deep: page fault (write of 0x1ff8): 0x1ff8 is in the guard page below the stack (a stack overflow)"),
        "{t}"
    );
}

#[test]
fn sbrk_maps_and_unmaps_whole_pages() {
    let ev = run_json("paging-sbrk");
    let mapped: Vec<u64> = kinds(&ev, "map-page")
        .iter()
        .map(|e| e["va"].as_u64().unwrap())
        .collect();
    // exec: page 0 and the stack page; sbrk: 0x3000 once (three sbrk(40)
    // share it), 0x4000, then 0x5000 and 0x6000.
    assert_eq!(mapped, [0, 0x2000, 0x3000, 0x4000, 0x5000, 0x6000]);
    let unmapped: Vec<u64> = kinds(&ev, "unmap-page")
        .iter()
        .map(|e| e["va"].as_u64().unwrap())
        .collect();
    assert_eq!(unmapped, [0x4000, 0x5000, 0x6000]);
    let results: Vec<u64> = kinds(&ev, "syscall")
        .iter()
        .filter(|e| e["name"] == "sbrk")
        .map(|e| e["result"].as_u64().unwrap())
        .collect();
    assert_eq!(
        results,
        [
            0x3000,
            0x3028,
            0x3050,
            0x3078,
            0x3078 + 4096,
            0x3078 + 4096 + 10000
        ]
    );
    let maps = kinds(&ev, "memory-map");
    assert_eq!(maps[0]["internal_fragmentation"], 4 * 4096 - 14216);
    assert_eq!(maps[1]["internal_fragmentation"], 4096 - 2216);
    let kill = &kinds(&ev, "kill")[0];
    assert!(
        kill["reason"]
            .as_str()
            .unwrap()
            .contains("no page of P is mapped at 0x6000")
    );
    let t = text("paging-sbrk");
    assert!(t.contains("internal fragmentation 1880 bytes"), "{t}");
    assert!(
        t.contains("unmap P's page at VA 0x5000: frame 12 is free"),
        "{t}"
    );
}

#[test]
fn paging_loads_what_segmentation_cannot_place() {
    let ev = run_json("paging-vs-segmentation");
    assert!(kinds(&ev, "load-failed").is_empty(), "paging loads C");
    let c_pages: Vec<u64> = kinds(&ev, "map-page")
        .iter()
        .filter(|e| e["pid"] == 5)
        .map(|e| e["frame"].as_u64().unwrap())
        .collect();
    assert_eq!(c_pages, [13, 15], "X's and Z's old frames, not adjacent");
    let fetches = kinds(&ev, "fetch");
    assert_eq!(fetches.len(), 2);
    assert!(fetches.iter().all(|f| f.get("pa").is_some()));
    let refused = &kinds(&ev, "refused")[0];
    assert!(
        refused["reason"]
            .as_str()
            .unwrap()
            .contains("no external fragmentation")
    );
    let cmp = &kinds(&ev, "compare")[0];
    assert_eq!(cmp["other"], "segmentation");
    assert_eq!(cmp["other_load_failures"], 1);
    let t = text("paging-vs-segmentation");
    assert!(
        t.contains("the same workload under segmentation: 1 process could not be loaded"),
        "{t}"
    );
}

#[test]
fn code_pages_are_shared_between_processes_of_one_program() {
    let path = temp_file(
        "shared.toml",
        br#"
script = ["map"]
[machine]
memory = "128k"
os_size = "32k"
strategy = "paging"
[[process]]
name = "A"
program = "editor"
code = "8k"
heap = "4k"
[[process]]
name = "B"
program = "editor"
code = "8k"
heap = "4k"
"#,
    );
    let ev = vmlab(&["scenario", "run", path.to_str().unwrap(), "--json"]).json_lines();
    let b_maps: Vec<(u64, bool)> = kinds(&ev, "map-page")
        .iter()
        .filter(|e| e["pid"] == 2)
        .map(|e| (e["va"].as_u64().unwrap(), e["shared"].as_bool().unwrap()))
        .collect();
    assert_eq!(b_maps, [(0, true), (0x1000, true), (0x2000, false)]);
    let t = vmlab(&["scenario", "run", path.to_str().unwrap()])
        .ok()
        .to_string();
    assert!(t.contains("A+B page 0x0 (code) shared"), "{t}");
}

#[test]
fn a_context_switch_loads_satp_and_flushes_or_keeps_the_tlb() {
    for (asid, step) in [("false", "flush-tlb"), ("true", "keep-tlb")] {
        let toml = format!(
            "switch_steps = true\nscript = [\"A: load 0\", \"B: load 0\"]\n[machine]\nmemory = \"128k\"\nos_size = \"32k\"\nstrategy = \"paging\"\nasid = {asid}\n[[process]]\nname = \"A\"\nsize = \"4k\"\n[[process]]\nname = \"B\"\nsize = \"4k\"\n"
        );
        let path = temp_file(&format!("asid-{asid}.toml"), toml.as_bytes());
        let ev = vmlab(&["scenario", "run", path.to_str().unwrap(), "--json"]).json_lines();
        let switch: Vec<&Value> = kinds(&ev, "context-switch")
            .into_iter()
            .filter(|e| e["from"] == 1 && e["to"] == 2)
            .collect();
        let steps: Vec<&str> = switch.iter().map(|e| e["step"].as_str().unwrap()).collect();
        assert_eq!(
            steps,
            [
                "save-registers",
                "save-mmu",
                "load-mmu",
                step,
                "restore-registers"
            ]
        );
        let satp = switch[2]["registers"]["satp"].as_u64().unwrap();
        let want_asid = if asid == "true" { 2 } else { 0 };
        assert_eq!((satp >> 44) & 0xffff, want_asid);
        let t = vmlab(&["scenario", "run", path.to_str().unwrap()])
            .ok()
            .to_string();
        let words = if asid == "true" {
            "the TLB keeps its entries"
        } else {
            "no ASIDs: flush the TLB"
        };
        assert!(t.contains(words), "{t}");
        // Each process reads its own frame at virtual address 0.
        let loads: Vec<u64> = kinds(&ev, "load")
            .iter()
            .map(|e| e["pa"].as_u64().unwrap())
            .collect();
        assert_eq!(loads.len(), 2);
        assert_ne!(loads[0], loads[1]);
    }
}

#[test]
fn asids_keep_the_tlb_across_switches_and_flushing_empties_it() {
    let ev = run_json("paging-asid");
    let loads = kinds(&ev, "load");
    assert_eq!(loads.len(), 16);
    assert!(
        loads.iter().all(|l| l["tlb"] == "miss"),
        "every load misses"
    );
    let flushes = kinds(&ev, "context-switch")
        .iter()
        .filter(|e| e["step"] == "flush-tlb")
        .count();
    assert_eq!(flushes, 7, "one per switch");
    let tlb = &kinds(&ev, "tlb-summary")[0];
    assert_eq!(
        (tlb["hits"].as_u64(), tlb["misses"].as_u64()),
        (Some(0), Some(16))
    );
    let cmp = &kinds(&ev, "tlb-compare")[0];
    assert_eq!(cmp["tagging"], "flush");
    assert_eq!(cmp["other_tagging"], "asid");
    assert_eq!(cmp["other_misses"], 4);
    assert_eq!(cmp["other_hit_rate"].as_f64(), Some(0.75));
    // Each miss walks three levels of Sv39 tables: 48 entry reads against
    // 12, priced as memory accesses (80 ns each by default).
    let cost = &kinds(&ev, "cost")[0];
    assert_eq!(cost["walk_reads"], 48);
    let (with, without) = (
        cmp["other_total_ns"].as_f64().unwrap(),
        cmp["total_ns"].as_f64().unwrap(),
    );
    assert_eq!(without - with, 36.0 * 80.0);
    let t = text("paging-asid");
    assert!(t.contains("switch A -> B: no ASIDs: flush the TLB"), "{t}");
    assert!(t.contains("TLB miss -> walk -> PA 0x8010"), "{t}");
    assert_eq!(t.matches("TLB miss -> walk").count(), 16, "{t}");
    assert!(
        t.contains("with ASIDs 4 misses (hit rate 75.0%, 0 flushes, 2.26 us)"),
        "{t}"
    );
}

#[test]
fn the_tlb_on_an_array_walk_hits_70_percent_with_16_byte_pages() {
    let ev = run_json("paging-tlb-array");
    let verdicts: Vec<&str> = kinds(&ev, "load")
        .iter()
        .map(|e| e["tlb"].as_str().unwrap())
        .collect();
    assert_eq!(
        verdicts,
        [
            "miss", "hit", "hit", "miss", "hit", "hit", "hit", "miss", "hit", "hit"
        ]
    );
    let vas: Vec<u64> = kinds(&ev, "load")
        .iter()
        .map(|e| e["va"].as_u64().unwrap())
        .collect();
    assert_eq!(vas, (0..10).map(|i| 100 + 4 * i).collect::<Vec<u64>>());
    let tlb = &kinds(&ev, "tlb-summary")[0];
    assert_eq!(tlb["hits"], 7);
    assert_eq!(tlb["misses"], 3);
    assert_eq!(tlb["hit_rate"].as_f64(), Some(0.7));
    let s = summary(&ev);
    assert_eq!(
        (s["table"].as_str(), s["page_size"].as_u64()),
        (Some("two-level"), Some(16))
    );
    let t = text("paging-tlb-array");
    assert_eq!(t.matches("TLB miss -> walk").count(), 3, "{t}");
    assert_eq!(t.matches("TLB hit").count(), 7, "{t}");
    assert!(t.contains("7 hits, 3 misses (hit rate 70.0%)"), "{t}");
}

#[test]
fn a_linear_table_costs_4_mib_per_process_and_a_two_level_one_12_kib() {
    let ev = run_json("paging-table-size");
    let roots: Vec<u64> = kinds(&ev, "table-page")
        .iter()
        .map(|e| e["bytes"].as_u64().unwrap())
        .collect();
    assert_eq!(roots, [4 << 20, 4 << 20]);
    let s = summary(&ev);
    assert_eq!(s["table"], "linear");
    assert_eq!(s["page_table_bytes"], 8 << 20);
    let loads = kinds(&ev, "load");
    assert_eq!(loads.len(), 2);
    assert!(loads.iter().all(|l| l.get("pa").is_some()), "{loads:?}");
    let cmp = &kinds(&ev, "table-compare")[0];
    assert_eq!(cmp["other_table"], "two-level");
    assert_eq!(cmp["other_page_table_bytes"], 2 * 3 * 4096);
    let t = text("paging-table-size");
    assert!(
        t.contains("the same processes' page tables: linear 8388608 bytes, two-level 24576 bytes"),
        "{t}"
    );
}

#[test]
fn bad_paging_fields_name_the_field_and_place() {
    let base = "[machine]\nmemory = \"64k\"\nos_size = \"16k\"\nstrategy = \"paging\"\n";
    let cases: [(&str, &[&str]); 11] = [
        ("tlb = \"0\"\n", &["bad.toml:5:7", "machine.tlb", "0"]),
        ("tlb = \"6,4\"\n", &["bad.toml:5:7", "machine.tlb"]),
        (
            "page_size = 3000\n",
            &["bad.toml:5:13", "machine.page_size", "not a power of two"],
        ),
        ("page_size = 8192\n", &["machine.page_size", "4096"]),
        (
            "page_table = \"two-level\"\npage_size = 48\n",
            &["bad.toml:6:13", "not a power of two"],
        ),
        ("page_table = \"linear\"\n", &["machine.os_size", "4194304"]),
        (
            "frames = 13\n",
            &["bad.toml:5:10", "machine.frames", "12 frames"],
        ),
        ("frames = 0\n", &["machine.frames", "0 frames"]),
        ("policy = \"mru\"\n", &["bad.toml:5:10", "mru"]),
        (
            "compare_frames = [99]\n",
            &["bad.toml:5:19", "machine.frames"],
        ),
        ("swap = \"yes\"\n", &["bad.toml:5:8"]),
    ];
    for (extra, needles) in cases {
        let path = temp_file("bad.toml", format!("{base}{extra}").as_bytes());
        vmlab(&["scenario", "run", path.to_str().unwrap()]).bad_input(needles);
    }
    let path = temp_file(
        "bad.toml",
        b"[machine]\nmemory = \"64k\"\nos_size = \"1k\"\nstrategy = \"paging\"\n",
    );
    vmlab(&["scenario", "run", path.to_str().unwrap()]).bad_input(&[
        "bad.toml:3:11",
        "machine.os_size",
        "whole number",
    ]);
    let path = temp_file(
        "bad.toml",
        b"[machine]\nmemory = \"64k\"\nstrategy = \"base-bounds\"\nframes = 3\n",
    );
    vmlab(&["scenario", "run", path.to_str().unwrap()])
        .bad_input(&["machine.frames", "needs strategy = \"paging\""]);
}

#[test]
fn a_program_on_the_cpu_runs_under_demand_paging_with_3_frames() {
    // Stores 1..7 to seven pages, reads them back and exits with the sum:
    // with 3 frames the pages (and the code page) go to swap and come back.
    let path = temp_file(
        "cpu-swap.toml",
        br#"
[machine]
memory = "64k"
os_size = "32k"
strategy = "paging"
frames = 3
policy = "lru"
swap = true

[[process]]
name = "P"
heap = "32k"
source = """
    li   t0, 0x1000
    li   t3, 0x1000
    li   t1, 1
    li   t2, 7
fill:
    sw   t1, 0(t0)
    addi t1, t1, 1
    add  t0, t0, t3
    addi t2, t2, -1
    bnez t2, fill
    li   t0, 0x1000
    li   t2, 7
    li   a0, 0
sum:
    lw   t1, 0(t0)
    add  a0, a0, t1
    add  t0, t0, t3
    addi t2, t2, -1
    bnez t2, sum
    li   a7, 2
    ecall
"""
"#,
    );
    let ev = vmlab(&["scenario", "run", path.to_str().unwrap(), "--json"]).json_lines();
    let exit = &kinds(&ev, "exit")[0];
    assert_eq!(exit["status"], 28, "1 + 2 + ... + 7");
    let s = summary(&ev);
    assert!(s["page_faults"].as_u64().unwrap() >= 14, "{s}");
    assert!(s["writebacks"].as_u64().unwrap() >= 4, "{s}");
    assert!(s["disk_reads"].as_u64().unwrap() >= 7, "{s}");
    assert!(kinds(&ev, "kill").is_empty());
}

#[test]
fn trace_refuses_to_replay_a_paging_scenario_instead_of_walking_no_memory() {
    super::support::vmlab_with_input(
        &["trace", "--scenario", "paging-belady", "--pid", "1", "-"],
        "0x1000\n",
    )
    .bad_input(&[
        "paging-belady",
        "page tables live in the run's physical memory",
    ]);
}

/// CLOCK's hand is part of the story: each eviction says where it moves
/// on to, and the frame picture marks it.
#[test]
fn clock_evictions_name_the_hand_and_the_picture_marks_it() {
    let toml = vmlab(&["scenario", "show", "paging-belady"])
        .ok()
        .to_string()
        .replace("policy = \"fifo\"", "policy = \"clock\"");
    let path = temp_file("belady-clock.toml", toml.as_bytes());
    let svg = temp_path("belady-clock.svg");
    let text = vmlab(&[
        "scenario",
        "run",
        path.to_str().unwrap(),
        "--svg",
        svg.to_str().unwrap(),
    ])
    .ok()
    .to_string();
    assert!(text.contains("no free frame: clock evicts"), "{text}");
    assert!(text.contains("the clock hand moves on to frame"), "{text}");
    let ev = vmlab(&["scenario", "run", path.to_str().unwrap(), "--json"]).json_lines();
    let outs = kinds(&ev, "page-out");
    assert!(
        !outs.is_empty() && outs.iter().all(|o| o["hand"].is_u64()),
        "{outs:?}"
    );
    let last = outs.last().unwrap()["hand"].as_u64().unwrap();
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(
        picture.contains(&format!("the clock hand points at frame {last}")),
        "{picture}"
    );
}
