//! `vmlab paging-policy`: the recorded OSTEP cases byte for byte, the
//! original's misbehaviours turned into clear errors, `--json` and `--quiz`.

use crate::support::{golden_in, temp_file, vmlab, vmlab_with_input};

#[test]
fn paging_policy_matches_every_recorded_case() {
    golden_in("ostep-paging-public.jsonl", "paging-policy", 56);
}

#[test]
fn beladys_anomaly_shows_in_the_final_stats() {
    let refs = "1,2,3,4,1,2,5,1,2,3,4,5";
    let three = vmlab(&["paging-policy", "-a", refs, "-C", "3", "-c", "-N"]);
    assert!(
        three.ok().contains("FINALSTATS hits 3   misses 9"),
        "{}",
        three.stdout
    );
    let four = vmlab(&["paging-policy", "-a", refs, "-C", "4", "-c", "-N"]);
    assert!(
        four.ok().contains("FINALSTATS hits 2   misses 10"),
        "{}",
        four.stdout
    );
}

#[test]
fn a_cache_of_zero_or_fewer_pages_is_refused() {
    // The original dies with IndexError at 0 and never evicts below it.
    vmlab(&["paging-policy", "-C", "0", "-c"]).bad_input(&["-C", "0 pages"]);
    vmlab(&["paging-policy", "-C", "-2", "-c"]).bad_input(&["-C", "-2"]);
    vmlab(&["paging-policy", "-C", "x"]).bad_input(&["-C", "'x'"]);
}

#[test]
fn no_references_is_refused() {
    // The original divides by zero in FINALSTATS.
    vmlab(&["paging-policy", "-n", "0", "-c"]).bad_input(&["-n", "nothing to simulate"]);
    vmlab(&["paging-policy", "-n", "-4", "-c"]).bad_input(&["-n", "-4"]);
    let empty = temp_file("pages.txt", b"");
    vmlab(&["paging-policy", "-f", empty.to_str().unwrap(), "-c"])
        .bad_input(&["pages.txt", "no page references"]);
}

#[test]
fn bad_entries_name_where_they_are() {
    vmlab(&["paging-policy", "-a", "1,,2", "-c"]).bad_input(&["-a entry 2", "empty"]);
    vmlab(&["paging-policy", "-a", "1,two", "-c"]).bad_input(&["-a entry 2", "'two'"]);
    vmlab(&["paging-policy", "-a", "3,-1", "-c"]).bad_input(&["-a entry 2", "negative"]);
    let file = temp_file("pages.txt", b"1\n2\nthree\n");
    vmlab(&["paging-policy", "-f", file.to_str().unwrap(), "-c"])
        .bad_input(&["pages.txt:3", "'three'"]);
    let file = temp_file("pages.txt", b"1\n\n2\n");
    vmlab(&["paging-policy", "-f", file.to_str().unwrap()]).bad_input(&["pages.txt:2", "empty"]);
    vmlab(&["paging-policy", "-f", "/nonexistent/pages.txt", "-c"])
        .bad_input(&["-f /nonexistent/pages.txt"]);
    vmlab(&["paging-policy", "-m", "-10", "-c"]).bad_input(&["-m", "-10"]);
}

#[test]
fn a_page_file_is_read_one_page_a_line() {
    let file = temp_file("pages.txt", b"1\n 2 \r\n3\n1");
    let run = vmlab(&[
        "paging-policy",
        "-f",
        file.to_str().unwrap(),
        "-c",
        "-C",
        "2",
    ]);
    let out = run.ok();
    assert!(
        out.contains(
            "Access: 1  MISS FirstIn ->       [3, 1] <- Lastin  Replaced:2 [Hits:0 Misses:4]"
        ),
        "{out}"
    );
}

#[test]
fn an_unknown_policy_keeps_the_originals_bytes_and_says_so_on_stderr() {
    let run = vmlab(&["paging-policy", "-p", "LFU", "-c"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .ends_with("Solving...\n\nPolicy LFU is not yet implemented\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("policy 'LFU' is not implemented"),
        "{}",
        run.stderr
    );
    // Without -c the original prints the questions and exits 0.
    let run = vmlab(&["paging-policy", "-p", "LFU"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains("Access: 8  Hit/Miss?"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("no answers"), "{}", run.stderr);
}

#[test]
fn json_has_one_record_per_reference_with_the_resident_set() {
    let run = vmlab(&[
        "paging-policy",
        "-a",
        "0,1,2,0,1,3",
        "-p",
        "OPT",
        "-C",
        "3",
        "--json",
    ]);
    let recs = run.json_lines();
    assert_eq!(recs[0]["kind"], "problem");
    assert_eq!(recs[0]["questions"], 6);
    let accesses: Vec<_> = recs.iter().filter(|r| r["kind"] == "access").collect();
    assert_eq!(accesses.len(), 6);
    assert_eq!(accesses[3]["hit"], true);
    // 3 replaces 2, the page never used again.
    assert_eq!(accesses[5]["victim"], 2);
    assert_eq!(accesses[5]["resident"], serde_json::json!([0, 1, 3]));
    let summary = recs.last().unwrap();
    assert_eq!(
        (summary["hits"].as_u64(), summary["misses"].as_u64()),
        (Some(2), Some(4))
    );
}

#[test]
fn the_quiz_checks_hit_miss_and_the_victim() {
    let run = vmlab_with_input(
        &[
            "paging-policy",
            "-a",
            "1,2,1,3",
            "-p",
            "LRU",
            "-C",
            "2",
            "--quiz",
        ],
        "miss\nmiss\nhit\nmiss 1\n",
    );
    let out = run.ok();
    assert!(out.contains("Score: 3 of 4 right (4 references)"), "{out}");
    assert!(out.contains("wrong (you said miss, 1 replaced): miss, 3 is not in memory [2, 1], which is full: LRU replaces 2"), "{out}");
}
