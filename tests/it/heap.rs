//! `vmlab heap` (lecture E3: where do 12, 16, 24, 32 bytes go?) and
//! `vmlab stack` (lecture E2: pointer bump, frees in reverse order).

use crate::support::vmlab;
use serde_json::Value;

const E3: &[&str] = &["heap", "--layout", "free:16,A:12,free:24,B:16"];

fn e3_what_if(policy: &str, extra: &[&str]) -> crate::support::Run {
    let mut args = E3.to_vec();
    args.extend(["--policy", policy, "--what-if", "12", "16", "24", "32"]);
    args.extend(extra);
    vmlab(&args)
}

#[test]
fn e3_where_each_request_goes_under_each_policy() {
    let recs = e3_what_if("all", &["--json"]).json_lines();
    let at = |policy: &str, size: u64| -> Value {
        recs.iter()
            .find(|r| r["policy"] == policy && r["size"] == size)
            .unwrap()["addr"]
            .clone()
    };
    for (size, first, best, worst) in [(12, 0, 0, 28), (16, 0, 0, 28), (24, 28, 28, 28)] {
        assert_eq!(at("first", size), first, "first fit {size}");
        assert_eq!(at("best", size), best, "best fit {size}");
        assert_eq!(at("worst", size), worst, "worst fit {size}");
    }
    let exact = recs
        .iter()
        .find(|r| r["policy"] == "best" && r["size"] == 16)
        .unwrap();
    assert_eq!(exact["exact_fit"], true);
    for policy in ["first", "best", "worst"] {
        let r = recs
            .iter()
            .find(|r| r["policy"] == policy && r["size"] == 32)
            .unwrap();
        assert_eq!(r["ok"], false);
        assert_eq!(r["external_fragmentation"], true);
    }
}

#[test]
fn e3_text_table_names_external_fragmentation() {
    let out = e3_what_if("all", &[]).ok().to_string();
    assert!(
        out.contains("0 [free 16] 16 [A 12] 28 [free 24] 52 [B 16] 68"),
        "{out}"
    );
    assert!(out.contains("free 40 in 2 holes, largest hole 24"), "{out}");
    assert!(
        out.contains("        12             0             0            28\n"),
        "{out}"
    );
    assert!(
        out.contains("        16     0 (exact)     0 (exact)            28\n"),
        "{out}"
    );
    assert!(out.contains("32 fails under every policy: the largest hole is 24 bytes although 40 bytes are free (external fragmentation)"), "{out}");
}

#[test]
fn best_fit_exact_match_makes_the_hole_disappear() {
    let mut args = E3.to_vec();
    args.extend(["--policy", "best", "C:16", "--json"]);
    let recs = vmlab(&args).json_lines();
    let step = &recs[1];
    assert_eq!(step["addr"], 0);
    assert_eq!(step["free_list"].as_array().unwrap().len(), 1);
    assert_eq!(step["free_list"][0]["addr"], 28);
}

#[test]
fn sequence_shows_the_free_list_and_fragmentation_after_each_step() {
    let out = vmlab(&[
        "heap", "--size", "100", "--policy", "first", "A:20", "B:30", "free:A", "C:10",
    ])
    .ok()
    .to_string();
    assert!(out.contains("3. free A (20 bytes at 0)"), "{out}");
    assert!(
        out.contains("free list   [ addr:0 sz:20 ][ addr:50 sz:50 ]"),
        "{out}"
    );
    assert!(out.contains("4. alloc C (10 bytes) -> 0"), "{out}");
    assert!(out.contains("external fragmentation 16.67%"), "{out}");
}

#[test]
fn coalescing_merges_neighbours() {
    let recs = vmlab(&[
        "heap",
        "--size",
        "30",
        "--coalesce",
        "A:10",
        "B:10",
        "free:A",
        "free:B",
        "--json",
    ])
    .json_lines();
    let last = recs.last().unwrap();
    assert_eq!(last["free_list"].as_array().unwrap().len(), 1);
    assert_eq!(last["largest_hole"], 30);
}

#[test]
fn next_fit_continues_where_the_last_search_ended() {
    let recs = vmlab(&[
        "heap",
        "--layout",
        "free:16,A:4,free:16,B:4",
        "--policy",
        "next",
        "C:8",
        "D:8",
        "E:8",
        "--json",
    ])
    .json_lines();
    let addrs: Vec<&Value> = recs[1..].iter().map(|r| &r["addr"]).collect();
    assert_eq!(addrs, vec![0, 8, 20]);
}

#[test]
fn heap_bad_input_is_a_one_line_error() {
    vmlab(&["heap", "--layout", "free:16,A"]).bad_input(&["--layout", "piece 2"]);
    vmlab(&["heap", "--layout", "A:60", "--size", "50"]).bad_input(&["60", "50"]);
    vmlab(&["heap", "--policy", "fastest", "4"]).bad_input(&["--policy", "fastest"]);
    vmlab(&["heap", "free:Z"]).bad_input(&["Z"]);
    vmlab(&["heap", "A:1q"]).bad_input(&["request 1"]);
    vmlab(&["heap", "A:4", "A:4"]).bad_input(&["already"]);
}

#[test]
fn e2_stack_pointer_moves_up_and_back() {
    let recs = vmlab(&[
        "stack", "A:16", "B:8", "C:4", "free:C", "D:8", "free:D", "free:B", "free:A", "--json",
    ])
    .json_lines();
    let pointers: Vec<i64> = recs
        .iter()
        .map(|r| r["pointer"].as_i64().unwrap())
        .collect();
    assert_eq!(pointers, vec![16, 24, 28, 24, 32, 24, 16, 0]);
    assert!(recs.iter().all(|r| r["fragmentation"] == 0.0));
    assert_eq!(recs[4]["addr"], 24);
}

#[test]
fn e2_stack_text_shows_each_step() {
    let out = vmlab(&[
        "stack", "A:16", "B:8", "C:4", "free:C", "D:8", "free:D", "free:B", "free:A",
    ])
    .ok()
    .to_string();
    assert!(out.contains("5. alloc D (8 bytes) at 24"), "{out}");
    assert!(out.contains("pointer 16 -> 0"), "{out}");
}

#[test]
fn e2_out_of_order_free_is_refused() {
    let run = vmlab(&["stack", "A:16", "B:8", "free:A"]);
    run.bad_input(&["request 3", "free:A", "B is on top"]);
    vmlab(&["stack", "A:16", "free:Q"]).bad_input(&["Q", "not on the stack"]);
    vmlab(&["stack", "--size", "10", "A:16"]).bad_input(&["only 10"]);
    vmlab(&["stack", "A"]).bad_input(&["NAME:SIZE"]);
}
