//! `vmlab sched`: lecture E1 under all four policies, in text and JSON, the
//! SVG chart, switch cost and bad input.

use crate::support::{temp_path, vmlab};
use serde_json::Value;

const E1: &str = "A:0:40,B:0:20,C:5:10";

fn json(policy: &str) -> Vec<Value> {
    vmlab(&[
        "sched",
        "--jobs",
        E1,
        "--policy",
        policy,
        "--quantum",
        "5",
        "--json",
    ])
    .json_lines()
}

/// (job, start, end) of every slot.
fn slots(recs: &[Value]) -> Vec<(String, i64, i64)> {
    recs.iter()
        .filter(|r| r["kind"] == "slot")
        .map(|r| {
            (
                r["job"].as_str().unwrap().to_string(),
                r["start"].as_i64().unwrap(),
                r["end"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// (turnaround, response) per job, in order A, B, C.
fn metrics(recs: &[Value]) -> Vec<(i64, i64)> {
    recs.iter()
        .filter(|r| r["kind"] == "job")
        .map(|r| {
            (
                r["turnaround"].as_i64().unwrap(),
                r["response"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn averages(recs: &[Value]) -> (String, String) {
    let a = recs.iter().find(|r| r["kind"] == "average").unwrap();
    (
        format!("{:.2}", a["turnaround"].as_f64().unwrap()),
        format!("{:.2}", a["response"].as_f64().unwrap()),
    )
}

fn s(job: &str, start: i64, end: i64) -> (String, i64, i64) {
    (job.to_string(), start, end)
}

#[test]
fn e1_fifo_json() {
    let r = json("fifo");
    assert_eq!(
        slots(&r),
        vec![s("A", 0, 40), s("B", 40, 60), s("C", 60, 70)]
    );
    assert_eq!(metrics(&r), vec![(40, 0), (60, 40), (65, 55)]);
    assert_eq!(averages(&r), ("55.00".into(), "31.67".into()));
}

#[test]
fn e1_sjf_json() {
    let r = json("sjf");
    assert_eq!(
        slots(&r),
        vec![s("B", 0, 20), s("C", 20, 30), s("A", 30, 70)]
    );
    assert_eq!(metrics(&r), vec![(70, 30), (20, 0), (25, 15)]);
    assert_eq!(averages(&r), ("38.33".into(), "15.00".into()));
}

#[test]
fn e1_stcf_json() {
    let r = json("stcf");
    assert_eq!(
        slots(&r),
        vec![s("B", 0, 5), s("C", 5, 15), s("B", 15, 30), s("A", 30, 70)]
    );
    assert_eq!(metrics(&r), vec![(70, 30), (30, 0), (10, 0)]);
    assert_eq!(averages(&r), ("36.67".into(), "10.00".into()));
}

#[test]
fn e1_rr_json_every_slot_is_five_units_until_a_runs_alone() {
    let r = json("rr");
    let sl = slots(&r);
    let order: String = sl.iter().map(|x| x.0.as_str()).collect();
    // A's last four quanta, with nobody else ready, are one merged run.
    assert_eq!(order, "ABCABCABABA");
    for (k, (_, start, end)) in sl.iter().enumerate().take(10) {
        assert_eq!((*start, *end), (5 * k as i64, 5 * k as i64 + 5));
    }
    assert_eq!(sl[10], s("A", 50, 70));
    assert_eq!(metrics(&r), vec![(70, 0), (50, 5), (25, 5)]);
    assert_eq!(averages(&r), ("48.33".into(), "3.33".into()));
    let a = r
        .iter()
        .find(|x| x["kind"] == "job" && x["job"] == "A")
        .unwrap();
    assert_eq!(a["arrival"], 0);
    assert_eq!(a["runtime"], 40);
    assert_eq!(a["first_run"], 0);
    assert_eq!(a["completion"], 70);
    assert_eq!(a["wait"], 30);
}

#[test]
fn e1_text_shows_the_timeline_and_the_averages_of_all_four() {
    let out = vmlab(&["sched", "--jobs", E1, "--policy", "all", "--quantum", "5"])
        .ok()
        .to_string();
    assert!(out.contains("  A 0-40, B 40-60, C 60-70\n"), "{out}");
    assert!(out.contains("  B 0-20, C 20-30, A 30-70\n"), "{out}");
    assert!(out.contains("  B 0-5, C 5-15, B 15-30, A 30-70\n"), "{out}");
    assert!(out.contains("  A 0-5, B 5-10, C 10-15, A 15-20"), "{out}");
    assert!(
        out.contains("  FIFO                  55.00    31.67"),
        "{out}"
    );
    assert!(
        out.contains("  SJF                   38.33    15.00"),
        "{out}"
    );
    assert!(
        out.contains("  STCF                  36.67    10.00"),
        "{out}"
    );
    assert!(
        out.contains("  RR (quantum 5)        48.33     3.33"),
        "{out}"
    );
    // The Gantt rows: C waits from 5 to 60 under FIFO, then runs.
    assert!(
        out.contains(&format!(
            "C |{}{}{}|",
            " ".repeat(5),
            ".".repeat(55),
            "#".repeat(10)
        )),
        "{out}"
    );
}

#[test]
fn e1_is_the_default_workload() {
    let a = vmlab(&["sched", "--policy", "rr", "--quantum", "5"])
        .ok()
        .to_string();
    let b = vmlab(&["sched", "--jobs", E1, "--policy", "RR", "--quantum", "5"])
        .ok()
        .to_string();
    assert_eq!(a, b);
}

#[test]
fn svg_chart_is_written() {
    let path = temp_path("e1.svg");
    vmlab(&[
        "sched",
        "--policy",
        "all",
        "--quantum",
        "5",
        "--svg",
        path.to_str().unwrap(),
    ])
    .ok();
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.starts_with("<svg"));
    // 3 + 3 + 4 + 11 bars (RR: A's last four quanta are one run).
    assert_eq!(svg.matches(r#"data-kind="run""#).count(), 21);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn switch_cost_delays_every_change_of_job() {
    let r = vmlab(&[
        "sched",
        "--jobs",
        E1,
        "--policy",
        "fifo",
        "--switch-cost",
        "1",
        "--json",
    ])
    .json_lines();
    let switches = r.iter().filter(|x| x["kind"] == "switch").count();
    assert_eq!(switches, 2);
    let c = r
        .iter()
        .find(|x| x["kind"] == "job" && x["job"] == "C")
        .unwrap();
    assert_eq!(c["completion"], 72);
}

#[test]
fn bad_workloads_and_policies_are_one_line_errors() {
    vmlab(&["sched", "--jobs", "A:0"]).bad_input(&["--jobs", "job 1", "NAME:ARRIVAL:RUNTIME"]);
    vmlab(&["sched", "--jobs", "A:0:40,B:x:3"]).bad_input(&["job 2", "arrival"]);
    vmlab(&["sched", "--jobs", "A:0:-4"]).bad_input(&["runtime"]);
    vmlab(&["sched", "--jobs", "A:0:4,A:1:2"]).bad_input(&["twice"]);
    vmlab(&["sched", "--policy", "lottery"]).bad_input(&["--policy", "lottery"]);
    vmlab(&["sched", "--policy", "rr", "--quantum", "0"]).bad_input(&["quantum"]);
    vmlab(&["sched", "--switch-cost", "-1"]).bad_input(&["switch"]);
}
