//! `vmlab malloc` and `vmlab scheduler`: every recorded case of malloc.py and
//! scheduler.py byte for byte, every optparse flag form, the inputs on which
//! the originals crash, hang or print nonsense, and `--json`.

use crate::support::{assert_text_eq, golden, vmlab};

#[test]
fn malloc_matches_every_recorded_case() {
    golden("malloc", 38);
}

#[test]
fn scheduler_matches_every_recorded_case() {
    golden("scheduler", 50);
}

#[test]
fn malloc_accepts_every_optparse_flag_form() {
    let reference = vmlab(&["malloc", "-s", "5", "-n", "8", "-p", "FIRST", "-c"])
        .ok()
        .to_string();
    for form in [
        &["malloc", "-s5", "-n8", "-pFIRST", "-c"][..],
        &[
            "malloc",
            "--seed=5",
            "--numOps=8",
            "--policy=FIRST",
            "--compute",
        ],
        &[
            "malloc", "--seed", "5", "--numOps", "8", "--policy", "FIRST", "-c",
        ],
        &["malloc", "--see=5", "--num=8", "-p", "first", "-c"],
    ] {
        assert_text_eq(&reference, vmlab(form).ok());
    }
}

#[test]
fn scheduler_accepts_every_optparse_flag_form_and_lower_case_policies() {
    let reference = vmlab(&[
        "scheduler",
        "-s",
        "3",
        "-j",
        "4",
        "-p",
        "RR",
        "-q",
        "2",
        "-c",
    ])
    .ok()
    .to_string();
    let long = vmlab(&[
        "scheduler",
        "--seed=3",
        "--jobs",
        "4",
        "--policy=RR",
        "--quantum=2",
        "-c",
    ]);
    assert_text_eq(&reference, long.ok());
    let lower = vmlab(&["scheduler", "-s3", "-j4", "-prr", "-q2", "-c"]);
    assert_text_eq(
        &reference.replace("ARG policy RR", "ARG policy rr"),
        lower.ok(),
    );
}

#[test]
fn malloc_list_with_a_non_number_is_refused() {
    vmlab(&["malloc", "-A", "+3,x", "-c"]).bad_input(&["-A", "operation 2", "'x'"]);
}

#[test]
fn malloc_free_of_a_failed_allocation_is_skipped_not_a_crash() {
    // malloc.py: KeyError traceback at -1 (ptr[1] = Alloc(200) failed).
    let out = vmlab(&["malloc", "-A", "+5,+200,+5,-1", "-c"])
        .ok()
        .to_string();
    assert!(
        out.contains("ptr[1] = Alloc(200) returned -1 (searched 1 elements)"),
        "{out}"
    );
    assert!(out.ends_with("Invalid Free: Skipping\n"), "{out}");
}

#[test]
fn malloc_frees_a_valid_pointer_after_a_failed_allocation() {
    // malloc.py compares the index with the number of successes and skips
    // this valid free of ptr[2].
    let out = vmlab(&["malloc", "-A", "+5,+200,+5,-2", "-c"])
        .ok()
        .to_string();
    assert!(
        out.contains(
            "Free(ptr[2])\nreturned 0\nFree List [ Size 2 ]: [ addr:1005 sz:5 ][ addr:1010 sz:90 ]"
        ),
        "{out}"
    );
}

#[test]
fn malloc_zero_byte_allocations_are_refused() {
    // malloc.py: the second +0 dies on an assertion.
    vmlab(&["malloc", "-A", "+0,+0", "-c"]).bad_input(&["operation 1", "0 bytes"]);
    // With a header a zero request is a real block.
    let out = vmlab(&["malloc", "-H", "4", "-A", "+0,+0", "-c"])
        .ok()
        .to_string();
    assert!(out.contains("ptr[1] = Alloc(0) returned 1004"), "{out}");
}

#[test]
fn malloc_bad_numbers_and_names_are_one_line_errors() {
    vmlab(&["malloc", "-P", "0"]).bad_input(&["-P", "> 0"]);
    vmlab(&["malloc", "-P", "-5", "-c"]).bad_input(&["-P"]);
    vmlab(&["malloc", "-a", "0", "-c"]).bad_input(&["-a", "alignment"]);
    vmlab(&["malloc", "-S", "-100", "-c"]).bad_input(&["-S", ">= 0"]);
    vmlab(&["malloc", "-b", "-1", "-c"]).bad_input(&["-b"]);
    vmlab(&["malloc", "-H", "-4", "-c"]).bad_input(&["-H"]);
    vmlab(&["malloc", "-r", "-3", "-c"]).bad_input(&["-r"]);
    vmlab(&["malloc", "-s", "1.5"]).bad_input(&["-s", "'1.5'"]);
    vmlab(&["malloc", "-p", "GOOD"]).bad_input(&["-p", "GOOD"]);
    vmlab(&["malloc", "-l", "RANDOM"]).bad_input(&["-l", "RANDOM"]);
    vmlab(&["malloc", "-A", "+3,,+4", "-c"]).bad_input(&["operation 2", "empty"]);
    vmlab(&["malloc", "-A", "+-3", "-c"]).bad_input(&["operation 1", ">= 0"]);
    vmlab(&["malloc", "-b", "18446744073709551615", "-c"]).bad_input(&["beyond"]);
}

#[test]
fn malloc_lower_case_policy_and_order_are_accepted() {
    let upper = vmlab(&["malloc", "-s", "2", "-p", "WORST", "-l", "SIZESORT-", "-c"])
        .ok()
        .to_string();
    let lower = vmlab(&["malloc", "-s", "2", "-p", "worst", "-l", "sizesort-", "-c"]);
    assert_text_eq(&upper, lower.ok());
}

#[test]
fn malloc_hex_and_octal_follow_optparse() {
    let dec = vmlab(&["malloc", "-s", "16", "-S", "8", "-c"])
        .ok()
        .to_string();
    assert_text_eq(
        &dec,
        vmlab(&["malloc", "-s", "0x10", "-S", "010", "-c"]).ok(),
    );
}

#[test]
fn malloc_json_has_one_record_per_operation_with_the_answer() {
    let run = vmlab(&["malloc", "-A", "+10,+200,-0", "--json"]);
    let recs = run.json_lines();
    assert_eq!(recs.len(), 3);
    assert_eq!(recs[0]["kind"], "alloc");
    assert_eq!(recs[0]["addr"], 1000);
    assert_eq!(recs[0]["searched"], 1);
    assert_eq!(recs[0]["free_list"][0]["addr"], 1010);
    assert_eq!(recs[1]["ok"], false);
    assert_eq!(recs[1]["addr"], serde_json::Value::Null);
    assert_eq!(recs[2]["kind"], "free");
    assert_eq!(recs[2]["returned"], 0);
    assert_eq!(recs[2]["free_list"].as_array().unwrap().len(), 2);
}

#[test]
fn scheduler_zero_quantum_is_refused_instead_of_hanging() {
    vmlab(&["scheduler", "-p", "RR", "-q", "0", "-c"]).bad_input(&["-q", ">= 1"]);
    vmlab(&["scheduler", "-p", "RR", "-q", "-2", "-c"]).bad_input(&["-q"]);
}

#[test]
fn scheduler_without_jobs_is_refused_instead_of_dividing_by_zero() {
    vmlab(&["scheduler", "-j", "0", "-c"]).bad_input(&["-j", "at least one job"]);
}

#[test]
fn scheduler_bad_job_lists_name_the_job() {
    vmlab(&["scheduler", "-l", "5,,3", "-c"]).bad_input(&["-l", "job 2", "not a number"]);
    vmlab(&["scheduler", "-l", "5,-3", "-c"]).bad_input(&["-l", "job 2", ">= 0"]);
    vmlab(&["scheduler", "-l", "5,inf", "-c"]).bad_input(&["job 2"]);
    vmlab(&["scheduler", "-m", "-5", "-c"]).bad_input(&["-m", "between 0"]);
    vmlab(&["scheduler", "-j", "x"]).bad_input(&["-j", "'x'"]);
}

#[test]
fn scheduler_unknown_policy_answers_like_the_original() {
    let out = vmlab(&["scheduler", "-p", "STCF", "-c"]).ok().to_string();
    assert!(
        out.ends_with("** Solutions **\n\nError: Policy STCF is not available.\n"),
        "{out}"
    );
}

#[test]
fn scheduler_fractional_job_lengths_print_as_python_floats() {
    let out = vmlab(&["scheduler", "-l", "2.5,1e16,0.1", "-p", "SJF", "-c"])
        .ok()
        .to_string();
    assert!(out.contains("  Job 1 ( length = 1e+16 )"), "{out}");
    assert!(out.contains("  Job 2 ( length = 0.1 )"), "{out}");
    assert!(
        out.contains("Run job 2 for 0.10 secs ( DONE at 0.10 )"),
        "{out}"
    );
}

#[test]
fn scheduler_json_gives_slots_jobs_and_averages() {
    let recs = vmlab(&[
        "scheduler",
        "-p",
        "RR",
        "-q",
        "5",
        "-l",
        "40,20,10",
        "--json",
    ])
    .json_lines();
    let slots: Vec<_> = recs.iter().filter(|r| r["kind"] == "slot").collect();
    assert_eq!(slots.len(), 14);
    assert_eq!(slots[2]["job"], 2);
    assert_eq!(slots[2]["start"], 10.0);
    let jobs: Vec<_> = recs.iter().filter(|r| r["kind"] == "job").collect();
    assert_eq!(jobs[2]["turnaround"], 30.0);
    assert_eq!(jobs[2]["wait"], 20.0);
    let avg = recs.last().unwrap();
    assert_eq!(avg["kind"], "average");
    assert_eq!(avg["response"], 5.0);
}
