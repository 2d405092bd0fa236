//! The binding, run where it runs: compiled to wasm32 and executed in
//! headless Chromium by wasm-bindgen-test-runner (CHROMEDRIVER must point
//! at chromedriver; the browser's flags are in web/webdriver.json).

use serde_json::Value;
use vmlab_web::{Session, quiz, run_cli, scenario_name, scenario_toml, scenarios};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

fn json(text: String) -> Value {
    serde_json::from_str(&text).expect("the binding returns JSON")
}

#[wasm_bindgen_test]
fn translate_prints_what_the_terminal_prints() {
    let r = json(run_cli(argv(&[
        "translate",
        "--base",
        "0x1000",
        "--bounds",
        "0x400",
        "0x100",
        "0x400",
    ])));
    assert_eq!(r["code"], 0, "{r}");
    let out = r["out"].as_str().unwrap();
    // 0x100 lands at 0x1000 + 0x100; 0x400 is at the bounds: a fault.
    assert!(out.contains("0x1100"), "{out}");
    assert!(out.to_lowercase().contains("bounds"), "{out}");
}

#[wasm_bindgen_test]
fn bad_flags_give_the_clis_one_line_error_and_exit_2() {
    let r = json(run_cli(argv(&["translate", "--base", "zz", "5"])));
    assert_eq!(r["code"], 2, "{r}");
    let error = r["error"].as_str().unwrap();
    assert!(error.starts_with("vmlab: --base"), "{error}");
    assert!(!error.contains('\n'), "{error}");
    let r = json(run_cli(argv(&["translate", "--help"])));
    assert_eq!(r["code"], 0, "{r}");
    assert!(
        r["out"]
            .as_str()
            .unwrap()
            .contains("Usage: vmlab translate"),
        "{r}"
    );
    let r = json(run_cli(argv(&["no-such-command"])));
    assert_eq!(r["code"], 2);
    assert!(r["error"].as_str().unwrap().starts_with("error:"), "{r}");
}

#[wasm_bindgen_test]
fn e7_steps_to_the_kill_of_p1() {
    assert_eq!(scenario_name("e7").unwrap(), "e7-base-bounds");
    let s = Session::builtin("e7").unwrap();
    assert!(s.len() > 3);
    let fault = s.first_fault().expect("E7 faults");
    let mut after = String::new();
    for i in fault..s.len() {
        let step = json(s.step(i));
        after.push_str(step["narration"].as_str().unwrap());
    }
    assert!(after.contains("P1"), "{after}");
    assert!(after.to_lowercase().contains("kill"), "{after}");
    // Clamped past the end, never a trap.
    let last = json(s.step(s.len() + 10));
    assert_eq!(last, json(s.step(s.len() - 1)));
}

#[wasm_bindgen_test]
fn a_broken_toml_names_line_and_column() {
    let err = Session::from_toml("title = \"x\"\n[machine\nmemory = 1\n")
        .err()
        .expect("refused");
    assert!(err.starts_with("pasted.toml:2:"), "{err}");
}

#[wasm_bindgen_test]
fn every_builtin_opens_and_steps() {
    let list = json(scenarios());
    for b in list.as_array().unwrap() {
        let name = b["name"].as_str().unwrap();
        assert!(!scenario_toml(name).unwrap().is_empty());
        let s = Session::builtin(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let step = json(s.step(0));
        assert!(step["narration"].is_string(), "{name}");
    }
    assert!(
        Session::builtin("e99")
            .err()
            .unwrap()
            .contains("unknown scenario 'e99'")
    );
}

#[wasm_bindgen_test]
fn quiz_answers_are_checked_by_the_quiz_code() {
    let sim = argv(&["relocation", "-s", "1"]);
    let answers = json(run_cli(argv(&["relocation", "-s", "1", "--json"])));
    let q0: Value =
        serde_json::from_str(answers["out"].as_str().unwrap().lines().nth(1).unwrap()).unwrap();
    let right = q0
        .get("pa")
        .map_or("violation".to_string(), |pa| pa.to_string());
    let r = json(quiz(sim.clone(), &format!("{right}\n")));
    assert!(
        r["verdicts"][0].as_str().unwrap().starts_with("right"),
        "{r}"
    );
    let r = json(quiz(sim, "123456789\n"));
    assert!(
        r["verdicts"][0].as_str().unwrap().starts_with("wrong"),
        "{r}"
    );
    assert_eq!(r["score"], "Score: 0 of 1 right (5 questions)");
}

#[wasm_bindgen_test]
fn a_trace_in_memory_is_replayed_with_the_pages_clock() {
    // Three references of a text trace through base+bounds: one faults.
    let bytes = b"r 0x10\nw 0x20\nr 0x500\n".to_vec();
    let flags = argv(&["--base", "0x1000", "--bounds", "0x400"]);
    let r = json(vmlab_web::trace("mine.txt", bytes, flags));
    assert_eq!(r["code"], 0, "{r}");
    let out = r["out"].as_str().unwrap();
    assert!(out.starts_with("trace mine.txt (text, 22 bytes)"), "{out}");
    assert!(
        out.contains("references                           3"),
        "{out}"
    );
    assert!(out.lines().any(|l| l.starts_with("time ")), "{out}");
    let r = json(vmlab_web::trace("x.txt", Vec::new(), argv(&["--bogus"])));
    assert_eq!(r["code"], 2, "{r}");
}
