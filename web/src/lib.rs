//! vmlab in the browser: a thin wasm-bindgen layer over the vmlab library.
//!
//! Everything the page shows is computed here by vmlab's own code, the code
//! the terminal runs: a command line is parsed by the CLI's own parser
//! ([`vmlab::cli::Cli`]) and run by [`vmlab::cli::run`] into a buffer, so
//! the text is exactly what `vmlab ...` prints; a scenario is stepped by
//! the library's stepper; homework answers are checked by the `--quiz`
//! code. JavaScript only moves between steps, reads the URL and the forms,
//! and inserts what this returns.
//!
//! Results cross to JavaScript as JSON text (one `JSON.parse` on the other
//! side), which keeps the binding small and its types plain.
#![warn(missing_docs)]

use clap::Parser;
use serde_json::{Value, json};
use vmlab::cli::{self, Cli, CliError, Command};
use vmlab::render::steps::Stepper;
use vmlab::scenario::{self, builtin};
use wasm_bindgen::prelude::*;

/// The name a pasted scenario gets in error messages (`pasted.toml:3:7:
/// ...`), where the CLI would name the file.
pub const PASTED: &str = "pasted.toml";

/// vmlab's version, as `vmlab --version` says it.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// What running one command line gave: its exit code, what it printed on
/// stdout, and the one-line error it printed on stderr (empty if none).
fn outcome(code: u8, out: Vec<u8>, error: String) -> Value {
    json!({
        "code": code,
        "out": String::from_utf8_lossy(&out),
        "error": error,
    })
}

/// Parses `argv` (without the leading `vmlab`) with the CLI's own parser.
/// Err: the first line of clap's message, as the terminal shows it.
fn parse(argv: &[String]) -> Result<Cli, String> {
    parse_or_help(argv).map_err(|(_, _, error)| error)
}

/// Parses `argv`; Err is what the terminal shows instead of a run: `--help`
/// or `--version` on stdout with exit 0, or a usage error's first line
/// with exit 2, as `(code, stdout, error)`.
fn parse_or_help(argv: &[String]) -> Result<Cli, (u8, String, String)> {
    let mut full = vec!["vmlab".to_string()];
    full.extend(argv.iter().cloned());
    Cli::try_parse_from(&full).map_err(|e| {
        let text = e.to_string();
        if e.use_stderr() {
            (
                2,
                String::new(),
                text.lines().next().unwrap_or("").to_string(),
            )
        } else {
            (0, text, String::new())
        }
    })
}

/// The one line `vmlab` prints on stderr for a failed command.
fn error_line(e: &CliError) -> String {
    format!("vmlab: {e}")
}

/// Runs `vmlab ARGV...` (argv without the leading `vmlab`) exactly as the
/// terminal does, and returns JSON `{"code", "out", "error"}`: the exit
/// code (2 for bad input), stdout's text, and stderr's one-line error.
/// Commands that need files or a terminal fail as they would with a
/// missing file.
#[wasm_bindgen]
pub fn run_cli(argv: Vec<String>) -> String {
    run_value(&argv).to_string()
}

fn run_value(argv: &[String]) -> Value {
    let cli = match parse_or_help(argv) {
        Ok(cli) => cli,
        Err((code, out, error)) => return outcome(code, out.into_bytes(), error),
    };
    let mut out = Vec::new();
    match cli::run(cli, &mut out) {
        Ok(code) => outcome(code, out, String::new()),
        Err(e) => outcome(2, out, error_line(&e)),
    }
}

/// The picture a calculator command draws (`translate`, `heap`, `stack`,
/// `sched` with their flags in `argv`), as its `--svg FILE` writes it: the
/// same renderer. Err: the CLI's one-line error (bad flags), or that the
/// command draws no picture.
#[wasm_bindgen]
pub fn svg(argv: Vec<String>) -> Result<String, String> {
    let cli = parse(&argv)?;
    let drawn = match &cli.command {
        Command::Translate(args) => cli::translate::svg(args),
        Command::Heap(args) => cli::heap::svg(args),
        Command::Stack(args) => cli::stack::svg(args),
        Command::Sched(args) => cli::sched::svg(args),
        _ => {
            return Err(format!(
                "vmlab {}: no picture (translate, heap, stack and sched draw one)",
                argv.first().map_or("", String::as_str)
            ));
        }
    };
    drawn.map_err(|e| error_line(&e))
}

#[wasm_bindgen]
extern "C" {
    /// The page's clock, in milliseconds (wasm32 has no clock in std).
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

fn now_seconds() -> f64 {
    performance_now() / 1000.0
}

/// Runs `vmlab trace NAME FLAGS...` on a trace held in memory (a file
/// dropped on the page: text, binary or Valgrind lackey, as the CLI reads
/// them), timed with the page's clock. Returns JSON `{"code", "out",
/// "error"}` as [`run_cli`] does: the summary the terminal prints.
#[wasm_bindgen]
pub fn trace(name: &str, bytes: Vec<u8>, flags: Vec<String>) -> String {
    let mut argv = vec!["trace".to_string(), name.to_string()];
    argv.extend(flags);
    let mut cli = match parse(&argv) {
        Ok(cli) => cli,
        Err(line) => return outcome(2, Vec::new(), line).to_string(),
    };
    if let Command::Trace(args) = &mut cli.command {
        args.bytes = Some(bytes.into());
        args.clock = Some(now_seconds);
        // The page shows the replay's speed.
        args.timing = true;
    }
    let mut out = Vec::new();
    match cli::run(cli, &mut out) {
        Ok(code) => outcome(code, out, String::new()),
        Err(e) => outcome(2, out, error_line(&e)),
    }
    .to_string()
}

/// Runs a translation drop-in's `--quiz` (`relocation`, `segmentation`,
/// `paging-linear-translate` with their flags in `argv`) with `typed` as
/// the answers, one a line, through [`vmlab::cli::ostep::quiz_with_answers`]
/// (the checking `--quiz` does). Returns JSON `{"code", "out", "error",
/// "verdicts", "score"}`: `verdicts[i]` is the verdict line of question `i`
/// (`right: ...` or `wrong (...): ...`), for the questions answered;
/// `score` the score line.
#[wasm_bindgen]
pub fn quiz(argv: Vec<String>, typed: &str) -> String {
    let cli = match parse(&argv) {
        Ok(cli) => cli,
        Err(line) => return outcome(2, Vec::new(), line).to_string(),
    };
    let mut out = Vec::new();
    let mut v = match cli::ostep::quiz_with_answers(cli, typed, &mut out) {
        Ok(code) => outcome(code, out, String::new()),
        Err(e) => outcome(2, out, error_line(&e)),
    };
    let text = v["out"].as_str().unwrap_or("").to_string();
    // The transcript's verdict lines are indented by four spaces (see
    // vmlab::homework::quiz::run), one per question answered.
    let verdicts: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("    "))
        .filter(|l| l.starts_with("right") || l.starts_with("wrong"))
        .collect();
    v["verdicts"] = json!(verdicts);
    v["score"] = json!(
        text.lines()
            .find(|l| l.starts_with("Score: "))
            .unwrap_or("")
    );
    v.to_string()
}

/// The built-in scenarios, in the lecture's order, as JSON
/// `[{"name", "description"}]` (what `vmlab scenario list` prints).
#[wasm_bindgen]
pub fn scenarios() -> String {
    let list: Vec<Value> = builtin::ALL
        .iter()
        .map(|b| json!({"name": b.name, "description": builtin::description(b)}))
        .collect();
    Value::Array(list).to_string()
}

/// The TOML of the built-in scenario `name` (a unique prefix such as `e7`
/// will do), as `vmlab scenario show` prints it. Err: which names exist.
#[wasm_bindgen]
pub fn scenario_toml(name: &str) -> Result<String, String> {
    builtin::find(name)
        .map(|b| b.toml.to_string())
        .ok_or_else(|| unknown_scenario(name))
}

/// The full name of the built-in scenario `name` opens (`e7` gives
/// `e7-base-bounds`). Err: which names exist.
#[wasm_bindgen]
pub fn scenario_name(name: &str) -> Result<String, String> {
    builtin::find(name)
        .map(|b| b.name.to_string())
        .ok_or_else(|| unknown_scenario(name))
}

fn unknown_scenario(name: &str) -> String {
    let names: Vec<&str> = builtin::ALL.iter().map(|b| b.name).collect();
    format!(
        "unknown scenario '{name}' (built-in: {}; a unique prefix such as e7 will do)",
        names.join(", ")
    )
}

/// One scenario, run and kept as steps to move through.
#[wasm_bindgen]
pub struct Session {
    inner: Inner,
}

enum Inner {
    /// A machine scenario: its events as steps, with pictures.
    Machine(Stepper),
    /// A wrapper scenario (`commands = [...]`, as E1-E3): each command is
    /// one step, narrated by what `vmlab CMD` prints.
    Commands { title: String, steps: Vec<Value> },
}

#[wasm_bindgen]
impl Session {
    /// Opens the built-in scenario `name` (a unique prefix will do).
    /// Err: the unknown name and the list of built-ins.
    pub fn builtin(name: &str) -> Result<Session, String> {
        let b = builtin::find(name).ok_or_else(|| unknown_scenario(name))?;
        Session::open(b.name, b.toml)
    }

    /// Opens a pasted TOML scenario. Err: the CLI's message for a file
    /// called `pasted.toml` (`pasted.toml:LINE:COL: ...`).
    pub fn from_toml(text: &str) -> Result<Session, String> {
        Session::open(PASTED, text)
    }

    fn open(origin: &str, text: &str) -> Result<Session, String> {
        if let Some(cmds) = scenario::commands_of(origin, text)? {
            return Ok(Session {
                inner: commands_session(origin, text, &cmds)?,
            });
        }
        let sc = scenario::parse(origin, text)?;
        Ok(Session {
            inner: Inner::Machine(Stepper::from_scenario(&sc)?),
        })
    }

    /// The scenario's title (the first line `vmlab scenario run` prints).
    pub fn title(&self) -> String {
        match &self.inner {
            Inner::Machine(s) => s.title().to_string(),
            Inner::Commands { title, .. } => title.clone(),
        }
    }

    /// The number of steps (at least 1).
    pub fn len(&self) -> usize {
        match &self.inner {
            Inner::Machine(s) => s.len(),
            Inner::Commands { steps, .. } => steps.len(),
        }
    }

    /// Never true (a run has at least one step); for clippy's sake.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first step with a fault (a trap, a killed process), if any.
    pub fn first_fault(&self) -> Option<usize> {
        match &self.inner {
            Inner::Machine(s) => s.first_fault(),
            Inner::Commands { steps, .. } => steps.iter().position(|s| s["fault"] == true),
        }
    }

    /// Step `i`'s narration alone (clamped to the last step), without
    /// drawing its pictures: for the story so far.
    pub fn narration(&self, i: usize) -> String {
        match &self.inner {
            Inner::Machine(s) => s.narration(i),
            Inner::Commands { steps, .. } => steps[i.min(steps.len() - 1)]["narration"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        }
    }

    /// Step `i` (clamped to the last) as JSON: `narration` (exactly as
    /// `vmlab scenario run` prints it), `kind`, and the pictures after it
    /// (`memory_map`, `address_space`, and `translation`,
    /// `context_switch`, `cost`, `tlb` or null); a wrapper scenario's step has its
    /// command's `picture` (Gantt chart, heap) instead.
    pub fn step(&self, i: usize) -> String {
        match &self.inner {
            Inner::Machine(s) => {
                let p = s.pictures(i);
                json!({
                    "narration": s.narration(i),
                    "kind": s.kind(i),
                    "memory_map": p.memory_map,
                    "address_space": p.address_space,
                    "translation": p.translation,
                    "context_switch": p.context_switch,
                    "cost": p.cost,
                    "tlb": p.tlb,
                })
                .to_string()
            }
            Inner::Commands { steps, .. } => steps[i.min(steps.len() - 1)].to_string(),
        }
    }
}

/// Runs a wrapper scenario's commands as `vmlab scenario run` does, one
/// step per command: `$ vmlab CMD` and its output (or its refusal, which
/// is part of the story, as E2's out-of-order free).
fn commands_session(origin: &str, text: &str, cmds: &[Vec<String>]) -> Result<Inner, String> {
    let title = toml_title(text).unwrap_or_else(|| origin.to_string());
    let mut steps = Vec::new();
    for cmd in cmds {
        let v = run_value(cmd);
        let (out, error) = (
            v["out"].as_str().unwrap_or(""),
            v["error"].as_str().unwrap_or(""),
        );
        let mut narration = format!("$ vmlab {}\n{out}", cmd.join(" "));
        if !error.is_empty() {
            narration.push_str(error);
            narration.push('\n');
        }
        steps.push(json!({
            "narration": narration,
            "kind": cmd.first().map(String::as_str).unwrap_or(""),
            "fault": !error.is_empty(),
            "picture": svg(cmd.clone()).ok(),
            "memory_map": "",
            "address_space": "",
            "translation": null,
            "context_switch": null,
            "cost": null,
            "tlb": null,
        }));
    }
    if steps.is_empty() {
        return Err(format!("{origin}: commands: the list is empty"));
    }
    Ok(Inner::Commands { title, steps })
}

fn toml_title(text: &str) -> Option<String> {
    let table: toml::Table = toml::from_str(text).ok()?;
    table.get("title")?.as_str().map(String::from)
}
