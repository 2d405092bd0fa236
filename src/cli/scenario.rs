//! `vmlab scenario`: list, show and run scenarios (built-in or TOML files).

use super::{CliError, CmdResult};
use crate::files::FileKind;
use crate::kernel::event::Event;
use crate::render::events;
use crate::render::html;
use crate::render::steps::Stepper;
use crate::scenario::{self, builtin};
use std::io::Write;

/// Flags of `vmlab scenario`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand, Debug)]
enum Action {
    /// List the built-in scenarios with a one-line description.
    List,
    /// Print a built-in scenario's TOML (to copy and edit).
    Show {
        /// The scenario's name (see `vmlab scenario list`).
        name: String,
    },
    /// Run a scenario file (at most 1 MiB) or a built-in scenario and narrate
    /// it, event by event as the run goes (the log is not kept).
    Run {
        /// A TOML file, or a built-in scenario's name.
        scenario: String,
        /// Print the event log as JSON lines instead of the narration.
        #[arg(long)]
        json: bool,
        /// Strict: exit with code 1 if any process was killed (by an
        /// unhandled fault or by its instruction limit; bad input is always
        /// exit 2).
        #[arg(long)]
        strict: bool,
        /// Also write the final state (address spaces and memory map) as
        /// an SVG picture to FILE.
        #[arg(long, value_name = "FILE")]
        svg: Option<std::path::PathBuf>,
        /// Also write the whole run as one self-contained HTML page to FILE:
        /// numbered steps, each with its narration and pictures (arrow keys
        /// step through them).
        #[arg(long, value_name = "FILE")]
        html: Option<std::path::PathBuf>,
    },
}

/// Runs `vmlab scenario`.
pub fn run(args: Args, out: &mut dyn Write) -> CmdResult {
    match args.action {
        Action::List => {
            for b in builtin::ALL {
                writeln!(out, "{:<24} {}", b.name, builtin::description(b))?;
            }
            Ok(0)
        }
        Action::Show { name } => {
            let b = builtin::lookup(&name).map_err(CliError::Input)?;
            write!(out, "{}", b.toml)?;
            Ok(0)
        }
        Action::Run {
            scenario: which,
            json,
            strict,
            svg,
            html,
        } => {
            let (origin, text) = load(&which)?;
            if let Some(cmds) = scenario::commands_of(&origin, &text).map_err(CliError::Input)? {
                let pictures = Pictures { svg, html };
                return run_commands(&origin, &text, &cmds, json, &pictures, out);
            }
            let sc = scenario::parse(&origin, &text).map_err(CliError::Input)?;
            if svg.is_some() || html.is_some() {
                // The pictures step through a collected log (capped by
                // machine.max_events); the output below streams as usual.
                let st = Stepper::from_scenario(&sc).map_err(CliError::Input)?;
                if let Some(path) = &svg {
                    super::write_svg(path, &st.final_svg())?;
                }
                if let Some(path) = &html {
                    super::write_svg_as("--html", path, &crate::render::html::scenario(&st))?;
                }
            }
            if !json {
                writeln!(out, "{}", sc.title)?;
            }
            // The events stream to the output as they happen: only what the
            // exit code needs (was a process killed?) is kept.
            let mut narration = events::Narration::new(sc.switch_steps);
            let mut line = String::new();
            let mut killed = false;
            let mut failed: Option<std::io::Error> = None;
            scenario::run_streaming(&sc, &mut |e: Event| {
                killed |= matches!(e, Event::Kill { .. });
                line.clear();
                if json {
                    line.push_str(&events::json_line(&e));
                    line.push('\n');
                } else {
                    narration.event(&e, &mut line);
                }
                match out.write_all(line.as_bytes()) {
                    Ok(()) => true,
                    Err(e) => {
                        failed = Some(e);
                        false
                    }
                }
            });
            if let Some(e) = failed {
                return Err(e.into());
            }
            Ok(if strict && killed { 1 } else { 0 })
        }
    }
}

/// Runs a wrapper scenario: each command as `vmlab CMD ...` would (with
/// `--json` added for JSON output). A command refusing its input (as E2's
/// out-of-order free) is part of the story: its message is printed and the
/// scenario goes on.
fn run_commands(
    origin: &str,
    text: &str,
    cmds: &[Vec<String>],
    json: bool,
    pictures: &Pictures,
    out: &mut dyn Write,
) -> CmdResult {
    let mut steps = Vec::new();
    let title = toml::from_str::<toml::Table>(text)
        .ok()
        .and_then(|t| t.get("title").and_then(|v| v.as_str()).map(String::from))
        .unwrap_or_else(|| origin.to_string());
    if !json {
        writeln!(out, "{title}")?;
    }
    for cmd in cmds {
        if cmd[0] == "scenario" {
            return Err(CliError::input(format!(
                "{origin}: commands: a scenario cannot run another scenario"
            )));
        }
        let mut argv = vec!["vmlab".to_string()];
        argv.extend(cmd.iter().cloned());
        if json {
            argv.push("--json".into());
        } else {
            writeln!(out, "\n$ vmlab {}", cmd.join(" "))?;
        }
        let cli = <super::Cli as clap::Parser>::try_parse_from(&argv).map_err(|e| {
            let first = e.to_string();
            let first = first.lines().next().unwrap_or("").to_string();
            CliError::input(format!("{origin}: commands: {}: {first}", cmd.join(" ")))
        })?;
        let picture = command_svg(&cli);
        // The command's output goes to `out` and, for the page, into its step.
        let mut text = Vec::new();
        match super::run(cli, &mut text) {
            Ok(_) => {}
            Err(CliError::Input(m)) if json => {
                let rec =
                    serde_json::json!({"kind": "error", "command": cmd.join(" "), "message": m});
                writeln!(text, "{rec}")?;
            }
            Err(CliError::Input(m)) => writeln!(text, "vmlab: {m}")?,
            Err(e) => return Err(e),
        }
        out.write_all(&text)?;
        steps.push(html::Step {
            kind: cmd[0].clone(),
            narration: format!(
                "$ vmlab {}\n{}",
                cmd.join(" "),
                String::from_utf8_lossy(&text)
            ),
            pictures: picture.map(|p| (cmd[0].clone(), p)).into_iter().collect(),
            fault: false,
        });
    }
    if let Some(path) = &pictures.svg {
        let all: Vec<&str> = steps
            .iter()
            .flat_map(|s| s.pictures.iter().map(|p| p.1.as_str()))
            .collect();
        if all.is_empty() {
            return Err(CliError::input(format!(
                "--svg: {origin}: its commands draw no picture"
            )));
        }
        super::write_svg(path, &crate::render::steps::combine(&all, &title, false))?;
    }
    if let Some(path) = &pictures.html {
        super::write_svg_as("--html", path, &html::page(&title, &steps))?;
    }
    Ok(0)
}

/// Where `--svg` and `--html` write.
struct Pictures {
    svg: Option<std::path::PathBuf>,
    html: Option<std::path::PathBuf>,
}

/// The picture a wrapped command draws (as its own `--svg` would), if any;
/// a command that refuses its input draws nothing (its error is printed
/// when it runs).
fn command_svg(cli: &super::Cli) -> Option<String> {
    use super::Command;
    match &cli.command {
        Command::Sched(a) => super::sched::svg(a).ok(),
        Command::Heap(a) => super::heap::svg(a).ok(),
        Command::Stack(a) => super::stack::svg(a).ok(),
        Command::Translate(a) => super::translate::svg(a).ok(),
        _ => None,
    }
}

/// The scenario `which` names, as `vmlab scenario run` takes it: a TOML
/// file if that path exists, else a built-in scenario (or a unique prefix of
/// one, `e6`). Returns the name for messages (the file, or `NAME.toml`)
/// and the text. An unreadable file or an unknown name is bad input.
pub(crate) fn load(which: &str) -> Result<(String, String), CliError> {
    if std::path::Path::new(which).exists() {
        let text = crate::files::read_text(std::path::Path::new(which), FileKind::Scenario)
            .map_err(CliError::input)?;
        Ok((which.to_string(), text))
    } else {
        let b = builtin::lookup(which).map_err(CliError::Input)?;
        Ok((format!("{}.toml", b.name), b.toml.to_string()))
    }
}
