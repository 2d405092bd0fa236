//! The kernel through `vmlab scenario run FILE`: strategies, syscalls and
//! bad input (malformed scenarios name file, line and field; impossible
//! machines exit 2; a faulting process never takes the simulator down).

use super::support::{temp_file, vmlab};
use serde_json::Value;

/// Writes a scenario file ending in `name`; returns its path.
fn write(name: &str, text: &str) -> String {
    let path = temp_file(name, text.as_bytes());
    path.to_str().unwrap().to_string()
}

/// Runs the scenario `text` (in a file ending in `name`) and expects it
/// refused: exit 2, one line on stderr holding every one of `needles`.
#[track_caller]
fn refused(name: &str, text: &str, needles: &[&str]) {
    vmlab(&["scenario", "run", &write(name, text)]).bad_input(needles);
}

fn json(path: &str) -> Vec<Value> {
    vmlab(&["scenario", "run", path, "--json"]).json_lines()
}

const TWO: &str = r#"
[machine]
memory = "16k"
os_size = "1k"
strategy = "base-bounds"

[[process]]
name = "P1"
size = "1k"
accesses = ["load 100", "store 2000", "load 5"]

[[process]]
name = "P2"
size = "1k"
accesses = ["store 0 = 7", "load 0", "getpid"]
"#;

#[test]
fn a_faulting_process_is_killed_and_the_other_finishes() {
    let path = write("two.toml", TWO);
    let ev = json(&path);
    let kills: Vec<_> = ev.iter().filter(|e| e["kind"] == "kill").collect();
    assert_eq!(kills.len(), 1);
    assert_eq!(kills[0]["pid"], 1);
    let exits: Vec<_> = ev.iter().filter(|e| e["kind"] == "exit").collect();
    assert_eq!(exits.len(), 1);
    assert_eq!(exits[0]["pid"], 2);
    let getpid = ev
        .iter()
        .find(|e| e["kind"] == "syscall" && e["name"] == "getpid")
        .unwrap();
    assert_eq!(
        (getpid["number"].as_u64(), getpid["result"].as_u64()),
        (Some(11), Some(2))
    );
    // --strict turns the kill into exit code 1.
    assert_eq!(vmlab(&["scenario", "run", &path, "--strict"]).code, 1);
}

#[test]
fn linux_numbering_uses_brk_and_93() {
    let path = write(
        "linux.toml",
        r#"
[machine]
memory = "16k"
strategy = "base-bounds"
syscalls = "linux"

[[process]]
name = "P1"
size = "1k"
accesses = ["sbrk 100", "write hi", "exit 3"]
"#,
    );
    let ev = json(&path);
    let calls: Vec<(String, u64)> = ev
        .iter()
        .filter(|e| e["kind"] == "syscall")
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["number"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        calls,
        vec![
            ("brk".into(), 214),
            ("brk".into(), 214),
            ("write".into(), 64),
            ("exit".into(), 93)
        ]
    );
    let out = ev.iter().find(|e| e["kind"] == "output").unwrap();
    assert_eq!(out["text"], "hi");
}

#[test]
fn sbrk_fails_cleanly_when_memory_is_exhausted() {
    let path = write(
        "oom.toml",
        r#"
[machine]
memory = "4k"
strategy = "base-bounds"

[[process]]
name = "P1"
size = "1k"
accesses = ["sbrk 2048", "sbrk 4096", "load 2500"]
"#,
    );
    let ev = json(&path);
    let sbrk: Vec<&Value> = ev.iter().filter(|e| e["kind"] == "syscall").collect();
    assert_eq!(sbrk[0]["result"], 1024, "the old break");
    assert!(sbrk[1].get("result").is_none());
    assert!(sbrk[1]["error"].as_str().unwrap().contains("out of memory"));
    // The process goes on; the grown heap is usable.
    let load = ev.iter().find(|e| e["kind"] == "load").unwrap();
    assert!(load.get("pa").is_some());
}

#[test]
fn malformed_scenarios_name_file_line_and_field() {
    refused(
        "typo.toml",
        "[machine]\nmemory = \"16k\"\nstrategy = \"base\"\nmemroy = 3\n",
        &["typo.toml:4:1", "memroy"],
    );
    refused(
        "num.toml",
        "[machine]\nmemory = \"16q\"\nstrategy = \"base\"\n",
        &["num.toml:2:", "machine.memory", "16q"],
    );
    refused(
        "op.toml",
        "[machine]\nmemory = \"16k\"\nstrategy = \"base\"\n[[process]]\nname = \"P1\"\nsize = 100\naccesses = [\"load 1\", \"lod 2\"]\n",
        &["op.toml:7:", "accesses", "lod"],
    );
    refused(
        "strat.toml",
        "[machine]\nmemory = \"16k\"\nstrategy = \"inverted-paging\"\n",
        &["strat.toml:3:", "inverted-paging"],
    );
    vmlab(&["scenario", "run", "no-such-scenario"]).bad_input(&["no-such-scenario"]);
}

#[test]
fn impossible_machines_are_clear_errors() {
    refused(
        "big.toml",
        "[machine]\nmemory = \"16k\"\nos_size = \"4k\"\nstrategy = \"base-bounds\"\n[[process]]\nname = \"P1\"\nsize = \"13k\"\n",
        &["big.toml:", "P1", "can never be loaded"],
    );
    refused(
        "overlap.toml",
        "[machine]\nmemory = \"16k\"\nstrategy = \"base\"\n[[process]]\nname = \"P1\"\nsize = \"2k\"\nbase = \"1k\"\n[[process]]\nname = \"P2\"\nsize = \"2k\"\nbase = \"2k\"\n",
        &["overlap.toml:", "P2", "overlaps P1"],
    );
    refused(
        "os.toml",
        "[machine]\nmemory = \"16k\"\nos_size = \"4k\"\nstrategy = \"base\"\n[[process]]\nname = \"P1\"\nsize = \"1k\"\nbase = \"1k\"\n",
        &["os.toml:", "OS region"],
    );
}

#[test]
fn a_bad_program_is_killed_not_a_crash() {
    let path = write(
        "prog.toml",
        r#"
[machine]
memory = "16k"
strategy = "base-bounds"

[[process]]
name = "wild"
size = "1k"
source = """
    li t0, 5000
    sw t0, 0(t0)
"""

[[process]]
name = "fine"
size = "1k"
accesses = ["load 4"]
"#,
    );
    let ev = json(&path);
    let kill = ev.iter().find(|e| e["kind"] == "kill").unwrap();
    assert_eq!(kill["pid"], 1);
    assert!(ev.iter().any(|e| e["kind"] == "exit" && e["pid"] == 2));
    refused(
        "asm.toml",
        "[machine]\nmemory = \"16k\"\nstrategy = \"base\"\n[[process]]\nname = \"P1\"\nsize = 100\nsource = \"\"\"\n  frob a0\n\"\"\"\n",
        &["asm.toml:8:", "source", "frob"],
    );
}

#[test]
fn time_sharing_counts_every_byte_moved() {
    let path = write(
        "ts.toml",
        r#"
[machine]
memory = "8k"
strategy = "time-sharing"
quantum = 1

[[process]]
name = "A"
accesses = ["store 10 = 1", "load 10"]

[[process]]
name = "B"
accesses = ["store 10 = 2", "load 10"]
"#,
    );
    let ev = json(&path);
    // Each process sees its own value at address 10: swapping preserved it.
    let loads: Vec<(u64, u64)> = ev
        .iter()
        .filter(|e| e["kind"] == "load")
        .map(|e| (e["pid"].as_u64().unwrap(), e["value"].as_u64().unwrap()))
        .collect();
    assert_eq!(loads, vec![(1, 1), (2, 2)]);
    let cost = ev.iter().find(|e| e["kind"] == "cost").unwrap();
    let swapped: u64 = ev
        .iter()
        .filter(|e| e["kind"] == "swap")
        .map(|e| e["bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(cost["disk_bytes"].as_u64(), Some(swapped));
    assert!(swapped >= 3 * 8192);
}

#[test]
fn sjf_runs_the_shorter_access_list_first() {
    let path = write(
        "sjf.toml",
        r#"
[machine]
memory = "16k"
strategy = "base-bounds"
scheduler = "sjf"

[[process]]
name = "long"
size = "1k"
accesses = ["load 1", "load 2", "load 3"]

[[process]]
name = "short"
size = "1k"
accesses = ["load 1"]
"#,
    );
    let exits: Vec<u64> = json(&path)
        .iter()
        .filter(|e| e["kind"] == "exit")
        .map(|e| e["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(exits, vec![2, 1]);
}

#[test]
fn stack_grows_implicitly_only_up_to_the_limit() {
    let path = write(
        "stack.toml",
        r#"
[machine]
memory = "16k"
strategy = "segmentation"
va_bits = 14
stack_limit = "1k"

[[process]]
name = "P1"
code = 256
stack = 256
accesses = ["store 0x3e00 = 1", "load 0x3c00", "load 0x3bff"]
"#,
    );
    let ev = json(&path);
    let grow: Vec<&Value> = ev.iter().filter(|e| e["kind"] == "grow").collect();
    assert_eq!(grow.len(), 2);
    assert_eq!(grow[1]["new_size"], 1024);
    let kill = ev.iter().find(|e| e["kind"] == "kill").unwrap();
    assert!(kill["reason"].as_str().unwrap().contains("out of bounds"));
}

/// The kinds of the access events of `pid`, with their fault (if any) and
/// value read, in order.
fn accesses_of(ev: &[Value], pid: u64) -> Vec<(String, Option<String>, Option<u64>)> {
    ev.iter()
        .filter(|e| e["pid"] == pid && (e["kind"] == "load" || e["kind"] == "store"))
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["fault"].as_str().map(str::to_string),
                e["value"].as_u64(),
            )
        })
        .collect()
}

#[test]
fn a_wide_store_straddling_the_bound_faults_and_never_reaches_the_neighbour() {
    // A and B of 1 KiB each, back to back: A's 8-byte store at 0x3fc covers
    // 0x3fc..0x403, four bytes past its bound (B's first bytes).
    let path = write(
        "straddle.toml",
        r#"
script = ["A: store.d 0x3fc = 0x4141414141414141", "B: load.w 0x0"]

[machine]
memory = "16k"
os_size = "1k"
strategy = "base-bounds"

[[process]]
name = "A"
size = "1k"

[[process]]
name = "B"
size = "1k"
"#,
    );
    let ev = json(&path);
    assert!(!ev.iter().any(|e| e["kind"] == "violation"), "{ev:?}");
    assert_eq!(
        accesses_of(&ev, 1),
        vec![("store".into(), Some("bounds".into()), None)]
    );
    assert_eq!(accesses_of(&ev, 2), vec![("load".into(), None, Some(0))]);
    assert_eq!(vmlab(&["scenario", "run", &path, "--strict"]).code, 1);
}

#[test]
fn a_wide_store_at_the_end_of_a_heap_segment_faults() {
    // 14-bit addresses: the heap is segment 1 at 0x1000, 256 bytes; the
    // 8-byte store at 0x10fc covers four bytes past its end.
    let path = write(
        "straddle-seg.toml",
        r#"
[machine]
memory = "16k"
strategy = "segmentation"
va_bits = 14

[[process]]
name = "P1"
code = 256
heap = 256
stack = 256
accesses = ["store.d 0x10fc = 0x4141414141414141"]

[[process]]
name = "P2"
code = 256
heap = 256
stack = 256
accesses = ["load.d 0x0", "load.d 0x1000", "load.d 0x3f00"]
"#,
    );
    let ev = json(&path);
    assert!(!ev.iter().any(|e| e["kind"] == "violation"), "{ev:?}");
    assert_eq!(
        accesses_of(&ev, 1),
        vec![("store".into(), Some("bounds".into()), None)]
    );
    let p2 = accesses_of(&ev, 2);
    assert_eq!(p2.len(), 3);
    assert!(
        p2.iter().all(|(_, f, v)| f.is_none() && *v == Some(0)),
        "{p2:?}"
    );
}
