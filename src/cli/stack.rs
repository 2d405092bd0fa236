//! `vmlab stack`: the lecture's stack allocation (E2) on the pointer-bump
//! allocator: each allocation moves the pointer up by its size, each free
//! moves it back; a free that is not of the most recent allocation is
//! refused (exit 2) and fragmentation is 0 at every step.

use super::{CliError, CmdResult, parse_size_arg};
use crate::heap::Stack;
use crate::render::svg::heap as pic;
use serde_json::json;
use std::io::Write;

/// Flags of `vmlab stack`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Requests: NAME:SIZE allocates SIZE bytes as NAME, free:NAME frees it.

Lecture E2:
  vmlab stack A:16 B:8 C:4 free:C D:8 free:D free:B free:A")]
pub struct Args {
    /// Bytes the stack may use.
    #[arg(long, default_value = "1k", value_name = "SIZE")]
    size: String,
    /// Address of the stack's first byte.
    #[arg(long, default_value = "0", value_name = "ADDR")]
    base: String,
    /// Print JSON records instead of text.
    #[arg(long)]
    json: bool,
    /// Also write the stack after every step as a picture to FILE (the
    /// frames along the address line and the pointer).
    #[arg(long, value_name = "FILE")]
    svg: Option<std::path::PathBuf>,
    /// The requests.
    #[arg(value_name = "REQUEST", required = true)]
    requests: Vec<String>,
}

/// Runs `vmlab stack`.
pub fn run(args: Args, out: &mut dyn Write) -> CmdResult {
    if let Some(path) = &args.svg {
        super::write_svg(path, &svg(&args)?)?;
    }
    execute(&args, out, None)
}

/// The picture `--svg` writes: the stack after every step, its frames
/// along the address line and the pointer. Bad flags, or a free that is not
/// of the most recent allocation, are a [`CliError::Input`] as for
/// `vmlab stack`.
pub fn svg(args: &Args) -> Result<String, CliError> {
    let mut section = pic::Section::default();
    execute(args, &mut std::io::sink(), Some(&mut section))?;
    Ok(pic::svg("Stack allocation: the pointer moves", &[section]))
}

/// A picture row of `stack` as it stands.
fn row(label: String, stack: &Stack, base: u64, size: u64) -> pic::Row {
    let mut pieces: Vec<pic::Piece> = stack
        .frames()
        .iter()
        .map(|f| pic::Piece {
            start: f.addr,
            size: f.size,
            name: Some(f.name.clone()),
            header: 0,
        })
        .collect();
    let end = base.saturating_add(size);
    if stack.top() < end {
        pieces.push(pic::Piece {
            start: stack.top(),
            size: end - stack.top(),
            name: None,
            header: 0,
        });
    }
    pic::Row {
        label,
        pieces,
        pointer: Some(stack.top()),
        summary: format!("used {}, fragmentation 0", stack.used()),
        ..pic::Row::default()
    }
}

/// Runs the requests, writing the text (or JSON) to `out` and, when
/// `pics` is given, the rows of the picture.
fn execute(args: &Args, out: &mut dyn Write, mut pics: Option<&mut pic::Section>) -> CmdResult {
    let size = parse_size_arg("--size", &args.size)?;
    let base = parse_size_arg("--base", &args.base)?;
    let mut stack = Stack::new(base, size).ok_or_else(|| {
        CliError::input(format!(
            "--size/--base: a stack of {size} bytes at {base} ends beyond 2^64"
        ))
    })?;
    // Check every request's syntax before anything runs.
    let mut steps = Vec::new();
    for (i, item) in args.requests.iter().enumerate() {
        let where_ = format!("request {} ('{item}')", i + 1);
        let step = match item.split_once(':') {
            Some(("free", name)) if !name.is_empty() => (name.to_string(), None),
            Some((name, sz)) if !name.is_empty() => {
                (name.to_string(), Some(parse_size_arg(&where_, sz)?))
            }
            _ => {
                return Err(CliError::input(format!(
                    "{where_}: write NAME:SIZE or free:NAME"
                )));
            }
        };
        steps.push(step);
    }
    if !args.json {
        writeln!(
            out,
            "Stack: {size} bytes at {base}; the pointer marks the next free byte"
        )?;
        writeln!(out, "  start      pointer {}", stack.top())?;
    }
    if let Some(p) = pics.as_deref_mut() {
        *p = pic::Section {
            title: format!("{size} bytes at {base}; the pointer marks the next free byte"),
            start: base,
            size,
            rows: vec![row("start".into(), &stack, base, size)],
        };
    }
    let total = size;
    for (i, (name, size)) in steps.iter().enumerate() {
        let before = stack.top();
        let result = match size {
            Some(sz) => stack
                .alloc(name, *sz)
                .map(|addr| format!("alloc {name} ({sz} bytes) at {addr}")),
            None => stack
                .free(name)
                .map(|f| format!("free {name} ({} bytes at {})", f.size, f.addr)),
        };
        let line = result.map_err(|e| {
            CliError::input(format!("request {} ({}): {e}", i + 1, args.requests[i]))
        })?;
        if let Some(p) = pics.as_deref_mut() {
            p.rows
                .push(row(format!("{}. {line}", i + 1), &stack, base, total));
        }
        if args.json {
            let r = json!({"kind": if size.is_some() { "alloc" } else { "free" }, "name": name,
                "size": size.unwrap_or_else(|| before - stack.top()),
                "addr": if size.is_some() { before } else { stack.top() },
                "pointer_before": before, "pointer": stack.top(), "used": stack.used(),
                "fragmentation": stack.fragmentation()});
            writeln!(out, "{r}")?;
        } else {
            let frames: Vec<String> = stack
                .frames()
                .iter()
                .map(|f| format!("{} {}", f.name, f.size))
                .collect();
            writeln!(
                out,
                "{}. {line:<28} pointer {before} -> {}   [{}]   fragmentation 0",
                i + 1,
                stack.top(),
                frames.join(" | ")
            )?;
        }
    }
    Ok(0)
}
