//! Fuzz scenarios: any TOML text either parses as a scenario or gives a
//! file:line error, never a panic; what parses runs on the real kernel
//! (small limits: at most 2,000 instructions per program, 16 MiB of
//! memory, 16 processes) and its event log renders as narration and as
//! JSON lines. Issue 11 §1: the isolation fix must hold for any scenario
//! file, not only the built-in ones.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vmlab::render::events;
use vmlab::render::steps::Stepper;
use vmlab::scenario;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A wrapper scenario (E1-E3) names vmlab commands; only parse it.
    let _ = scenario::commands_of("fuzz.toml", text);
    let Ok(mut sc) = scenario::parse("fuzz.toml", text) else {
        return;
    };
    // Small limits: the fuzzer hunts panics and wrong answers; the cost of
    // huge machines and long runs is bounded elsewhere (issue 11 §2).
    if sc.config.memory > 16 << 20 || sc.processes.len() > 16 {
        return;
    }
    for p in &mut sc.processes {
        p.limit = p.limit.min(2_000);
    }
    // Err: the log passed the scenario's event cap, a documented limit.
    let Ok(log) = scenario::run(&sc) else {
        return;
    };
    let _ = events::narrate(&log, sc.switch_steps);
    let json = events::to_json_lines(&log);
    for line in json.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("each event is JSON");
        assert!(v.get("kind").is_some(), "every record has a kind: {line}");
    }
    // The pictures of the first, a middle and the last step, and the
    // final state: drawn from the same events, never a panic.
    let steps = Stepper::from_events("fuzz", log, sc.switch_steps);
    let n = steps.len();
    for i in [0, n / 2, n.saturating_sub(1)] {
        let p = steps.pictures(i);
        assert!(p.memory_map.starts_with("<svg"), "step {i}: {}", p.memory_map);
    }
    let _ = steps.final_svg();
});
