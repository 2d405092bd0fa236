//! Speed of stepping through a long scenario (issue 10 §4: under 16 ms a
//! step): builds a base+bounds scenario of 4 processes with N accesses under
//! round robin, makes its `Stepper`, and times `pictures(i)` at steps spread
//! over the run, including the farthest from a checkpoint. Run by
//! `bench/steps.sh` (`cargo run --release --example steps -- N`).

use std::time::Instant;
use vmlab::render::steps::{CHECKPOINT, Stepper};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(6000);
    let mut toml = String::from(
        "title = \"bench\"\n[machine]\nmemory = \"1m\"\nos_size = \"64k\"\nstrategy = \"base-bounds\"\nscheduler = \"rr\"\nquantum = 8\n",
    );
    for p in 1..=4 {
        toml.push_str(&format!(
            "[[process]]\nname = \"P{p}\"\nsize = \"16k\"\naccesses = ["
        ));
        for i in 0..n / 4 {
            let a = (i * 97) % 16384;
            let op = if i % 3 == 0 { "store" } else { "load" };
            toml.push_str(&format!("\"{op} {a}\","));
        }
        toml.push_str("]\n");
    }
    let sc = vmlab::scenario::parse("bench.toml", &toml).expect("the bench scenario parses");
    let t = Instant::now();
    let st = Stepper::from_scenario(&sc).expect("runs");
    let build = t.elapsed();
    let events: usize = (0..st.len()).map(|i| st.events(i).len()).sum();
    // Steps at every stride, plus the last step before each checkpoint.
    let mut at: Vec<usize> = (0..st.len()).step_by((st.len() / 200).max(1)).collect();
    at.extend((1..=st.len() / CHECKPOINT).map(|k| k * CHECKPOINT - 1));
    let (mut total, mut worst, mut bytes, mut worst_at) = (0.0f64, 0.0f64, 0usize, 0usize);
    for &i in &at {
        let t = Instant::now();
        let p = st.pictures(i);
        let ms = t.elapsed().as_secs_f64() * 1e3;
        bytes += p.memory_map.len() + p.address_space.len();
        total += ms;
        if ms > worst {
            worst = ms;
            worst_at = i;
        }
    }
    println!(
        "{n} accesses: {events} events, {} steps, Stepper built in {:.1} ms; pictures(i) at {} steps: mean {:.3} ms, worst {:.3} ms at step {worst_at} ({} bytes of SVG per step on average)",
        st.len(),
        build.as_secs_f64() * 1e3,
        at.len(),
        total / at.len() as f64,
        worst,
        bytes / at.len()
    );
}
