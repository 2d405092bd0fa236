//! `vmlab paging-multilevel-translate`: every recorded case of OSTEP's
//! `paging-multilevel-translate.py` byte for byte, its flag spellings,
//! `--json` and `--quiz`, and the inputs on which the original crashes or
//! answers nonsense.

use crate::support::{assert_text_eq, golden_in, vmlab, vmlab_with_input};

const SIM: &str = "paging-multilevel-translate";

#[test]
fn paging_multilevel_translate_matches_every_recorded_case() {
    golden_in("ostep-paging-public.jsonl", SIM, 26);
}

#[test]
fn every_optparse_spelling_of_a_flag_gives_the_same_problem() {
    let reference = vmlab(&[SIM, "-s", "4", "-a", "30", "-n", "7", "-c"]);
    let reference = reference.ok();
    for argv in [
        &[SIM, "-s4", "-a30", "-n7", "-c"][..],
        &[
            SIM,
            "--seed=4",
            "--allocated=30",
            "--addresses=7",
            "--solve",
        ],
        &[SIM, "--se", "4", "--all", "30", "--addr", "7", "--sol"],
        &[SIM, "-cs4", "-a", "036", "-n", "0x7"],
    ] {
        assert_text_eq(reference, vmlab(argv).ok());
    }
}

#[test]
fn more_pages_than_memory_holds_say_how_many_fit() {
    // The original dies in an assertion once the 128 frames are used.
    let run = vmlab(&[SIM, "-s", "0", "-a", "200", "-c"]);
    run.bad_input(&["-a 200", "128 pages", "at most 96 fit"]);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    // 96 do fit with that seed, and every one of them translates.
    let records = vmlab(&[SIM, "-s", "0", "-a", "96", "-n", "0", "--json"]).json_lines();
    assert_eq!(records[0]["allocated"], 96);
    vmlab(&[SIM, "-s", "0", "-a", "97"]).bad_input(&["at most 96 fit"]);
}

#[test]
fn negative_page_or_address_counts_are_refused() {
    vmlab(&[SIM, "-a", "-1"]).bad_input(&["-a", "-1", "0 or more"]);
    vmlab(&[SIM, "-n", "-5"]).bad_input(&["-n", "-5", "0 or more"]);
    vmlab(&[SIM, "-n", "ten"]).bad_input(&["-n", "'ten'"]);
}

#[test]
fn no_pages_allocated_means_every_address_faults_at_the_directory() {
    let out = vmlab(&[SIM, "-a", "0", "-n", "6", "-c"]);
    let text = out.ok();
    assert_eq!(
        text.matches("Fault (page directory entry not valid)")
            .count(),
        6,
        "{text}"
    );
}

#[test]
fn json_has_the_memory_image_and_each_walk() {
    let records = vmlab(&[SIM, "-s", "0", "--json"]).json_lines();
    let problem = &records[0];
    assert_eq!(problem["kind"], "problem");
    assert_eq!(problem["pdbr"], 108);
    assert_eq!(problem["memory"].as_array().unwrap().len(), 128);
    assert_eq!(problem["questions"], 10);
    // Page 108 is the directory the text prints: its byte 24 is 0xa1.
    assert_eq!(problem["memory"][108][24], 0xa1);
    let q0 = &records[1];
    assert_eq!(q0["va"], 0x611c);
    assert_eq!(q0["pde_index"], 24);
    assert_eq!(q0["pde"], 0xa1);
    assert_eq!(q0["pte_index"], 8);
    assert_eq!(q0["pte"], 0xb5);
    assert_eq!(q0["pa"], 0x6bc);
    assert_eq!(q0["value"], 8);
    let q1 = &records[2];
    assert_eq!(q1["fault"], "page-fault");
    assert_eq!(q1["fault_at"], "pte");
    assert!(q1.get("pa").is_none());
    assert_eq!(records.len(), 11);
    // The JSON answers are the text's answers.
    let text = vmlab(&[SIM, "-s", "0", "-c"]);
    let pas: Vec<u64> = records[1..]
        .iter()
        .filter_map(|r| r["pa"].as_u64())
        .collect();
    let printed: Vec<u64> = text
        .ok()
        .lines()
        .filter_map(|l| l.split("Physical Address 0x").nth(1))
        .map(|rest| u64::from_str_radix(rest.split(' ').next().unwrap(), 16).unwrap())
        .collect();
    assert_eq!(pas, printed);
}

#[test]
fn quiz_takes_the_address_and_value_or_fault() {
    let run = vmlab_with_input(
        &[SIM, "-s", "0", "-n", "4", "--quiz"],
        "0x6bc 0x08\nfault\n0x9d5\n1 2\n",
    );
    let text = run.ok();
    assert!(text.contains("PDBR: 108"), "{text}");
    let verdicts: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("    right") || l.starts_with("    wrong"))
        .collect();
    assert_eq!(verdicts.len(), 4, "{text}");
    assert!(verdicts[0].starts_with("    right: "), "{text}");
    assert!(verdicts[1].starts_with("    right: "), "{text}");
    assert!(verdicts[2].contains("give the value loaded too"), "{text}");
    assert!(
        verdicts[3].starts_with("    wrong (you said 1 = 0x1, value 2 = 0x2): "),
        "{text}"
    );
    assert!(verdicts[3].ends_with("not valid, a fault"), "{text}");
    assert!(text.contains("Score: 2 of 4 right (4 questions)"), "{text}");
}

#[test]
fn quiz_stops_cleanly_at_the_end_of_input() {
    let run = vmlab_with_input(&[SIM, "-s", "0", "-n", "5", "--quiz"], "fault\n");
    let text = run.ok();
    assert!(
        text.contains("End of input after 1 of 5 questions."),
        "{text}"
    );
    assert!(text.contains("Score: 0 of 1 right (5 questions)"), "{text}");
}
