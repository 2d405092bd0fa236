//! `--json` and `--quiz` of the OSTEP translation drop-ins: the problem and
//! its answers for graders, and the answer checker with piped input.

use crate::support::{vmlab, vmlab_with_input};
use serde_json::json;

#[test]
fn relocation_json_has_the_registers_and_every_answer() {
    let records = vmlab(&["relocation", "-s", "0", "--json"]).json_lines();
    assert_eq!(records.len(), 6);
    let p = &records[0];
    assert_eq!(p["kind"], "problem");
    assert_eq!(
        (p["base"].clone(), p["bounds"].clone()),
        (json!(12418), json!(472))
    );
    assert_eq!(p["psize"], 16384);
    // relocation.py -s 0 -c: 430 -> 12848, 523 violates.
    assert_eq!(records[1]["kind"], "question");
    assert_eq!(records[1]["va"], 430);
    assert_eq!(records[1]["pa"], 12848);
    assert_eq!(records[3]["va"], 523);
    assert_eq!(records[3]["fault"], "bounds");
    assert!(records[3].get("pa").is_none());
}

#[test]
fn json_answers_agree_with_the_text_answers() {
    let text = vmlab(&["segmentation", "-s", "4", "-n", "20", "-c"]);
    let text = text.ok();
    let records = vmlab(&["segmentation", "-s", "4", "-n", "20", "--json"]).json_lines();
    let answers: Vec<&str> = text.lines().filter(|l| l.starts_with("  VA")).collect();
    assert_eq!(answers.len(), 20);
    for (line, r) in answers.iter().zip(&records[1..]) {
        let seg = r["segment"].as_u64().unwrap();
        match r.get("pa") {
            Some(pa) => assert!(
                line.ends_with(&format!(
                    "VALID in SEG{seg}: 0x{:08x} (decimal: {:4})",
                    pa.as_u64().unwrap(),
                    pa
                )),
                "{line} vs {r}"
            ),
            None => assert!(
                line.ends_with(&format!("SEGMENTATION VIOLATION (SEG{seg})")),
                "{line}"
            ),
        }
    }
}

#[test]
fn segmentation_json_describes_both_segments() {
    let records = vmlab(&["segmentation", "-s", "0", "--json"]).json_lines();
    assert_eq!(
        records[0]["segments"],
        json!([
            {"segment": 0, "base": 6890, "limit": 472, "grows": "up"},
            {"segment": 1, "base": 4692, "limit": 450, "grows": "down"},
        ])
    );
    for r in &records[1..] {
        assert!(r["segment"].is_u64() && r["offset"].is_u64(), "{r}");
        assert!(r.get("pa").is_some() != r.get("fault").is_some(), "{r}");
    }
}

#[test]
fn paging_json_has_the_page_table_and_vpns() {
    let records = vmlab(&["paging", "-s", "0", "--json"]).json_lines();
    assert_eq!(
        records[0]["page_table"],
        json!([
            {"vpn": 0, "valid": true, "pfn": 12},
            {"vpn": 1, "valid": false},
            {"vpn": 2, "valid": false},
            {"vpn": 3, "valid": true, "pfn": 6},
        ])
    );
    assert_eq!(records[1]["va"], 12841);
    assert_eq!(records[1]["vpn"], 3);
    assert_eq!(records[1]["pa"], 25129);
    assert_eq!(records[2]["fault"], "invalid-page");
}

#[test]
fn json_of_a_refused_problem_is_an_error_record_with_exit_1() {
    let run = vmlab(&["relocation", "-a", "16k", "-p", "8k", "--json"]);
    assert_eq!(run.code, 1);
    let r = &run.json_lines()[0];
    assert_eq!(r["kind"], "error");
    assert!(r["message"].as_str().unwrap().contains("GREATER"));
}

#[test]
fn relocation_quiz_scores_piped_answers() {
    // Seed 0: 430 -> 12848, 265 -> 12683, 523 violation, 414 -> 12832, 802 violation.
    let run = vmlab_with_input(
        &["relocation", "-s", "0", "--quiz"],
        "12848\n0x318b\nviolation\n1\nsegfault\n",
    );
    let out = run.ok();
    assert!(out.contains("Base   : 0x00003082 (decimal 12418)"), "{out}");
    assert!(out.contains("--> PA or segmentation violation? "), "{out}");
    assert_eq!(out.matches("    right: ").count(), 4, "{out}");
    assert!(
        out.contains(
            "    wrong (you said 1 = 0x1): VA 414 < limit 472, so PA = base 12418 + 414 = 12832"
        ),
        "{out}"
    );
    assert!(
        out.ends_with("Score: 4 of 5 right (5 questions)\n"),
        "{out}"
    );
}

#[test]
fn quiz_exits_0_when_every_answer_is_wrong() {
    let run = vmlab_with_input(&["segmentation", "-s", "1", "--quiz"], "1\n2\n3\n4\n5\n");
    assert!(run.ok().ends_with("Score: 0 of 5 right (5 questions)\n"));
}

#[test]
fn quiz_ends_cleanly_at_end_of_input_with_the_score_so_far() {
    let run = vmlab_with_input(&["paging", "-s", "0", "--quiz"], "25129\ninvalid\n");
    let out = run.ok();
    assert!(
        out.contains("End of input after 2 of 5 questions."),
        "{out}"
    );
    assert!(
        out.ends_with("Score: 2 of 2 right (5 questions)\n"),
        "{out}"
    );
}

#[test]
fn segmentation_quiz_explains_the_negative_offset() {
    // Seed 0, segment 1 base 4692 limit 450: VA 802 -> 4470.
    let run = vmlab_with_input(
        &["segmentation", "-s", "0", "-A", "802", "--quiz"],
        "4470\n",
    );
    let out = run.ok();
    assert!(
        out.contains("right: VA 802 is in segment 1; negative offset -222, and 222 <= limit 450, so PA = base 4692 - 222 = 4470"),
        "{out}"
    );
}

#[test]
fn quiz_counts_an_unclear_answer_as_wrong_and_goes_on() {
    let run = vmlab_with_input(
        &["relocation", "-s", "0", "-n", "2", "--quiz"],
        "maybe\n12683\n",
    );
    let out = run.ok();
    assert!(out.contains("wrong (did not understand 'maybe'"), "{out}");
    assert!(
        out.ends_with("Score: 1 of 2 right (2 questions)\n"),
        "{out}"
    );
}

#[test]
fn json_and_quiz_together_are_refused() {
    let run = vmlab(&["relocation", "--json", "--quiz"]);
    assert_eq!(run.code, 2);
}
