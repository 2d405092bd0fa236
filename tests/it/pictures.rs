//! Pictures through the binary: every `--svg FILE` and `--html FILE` writes
//! a well-formed document without changing the printed output; a file that
//! cannot be written is a one-line error naming it (exit 2); and the SVGs
//! committed under docs/pictures/ are exactly what the commands shown in
//! docs/tour/pictures.md draw (`VMLAB_BLESS=1` redraws them).

use crate::support::{temp_path, vmlab};
use std::path::Path;

fn parse(text: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse_with_options(
        text,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("not well-formed: {e}\n{}", &text[..text.len().min(2000)]))
}

/// Runs `args` with `FILE` replaced by a fresh temporary path; returns the
/// run and the file's text.
fn with_file(args: &[&str], name: &str) -> (crate::support::Run, String) {
    let path = temp_path(name);
    let p = path.to_str().unwrap().to_string();
    let args: Vec<&str> = args
        .iter()
        .map(|a| if *a == "FILE" { p.as_str() } else { a })
        .collect();
    let run = vmlab(&args);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    (run, text)
}

const TRANSLATE: &[&str] = &[
    "translate",
    "--base",
    "1024",
    "--bounds",
    "1024",
    "100",
    "3072",
];
const HEAP: &[&str] = &[
    "heap",
    "--size",
    "100",
    "--policy",
    "first",
    "--coalesce",
    "A:20",
    "B:30",
    "free:A",
    "C:10",
    "free:B",
];
const STACK: &[&str] = &["stack", "--size", "64", "A:16", "B:8", "free:B", "C:4"];
const SCHED: &[&str] = &["sched", "--policy", "all", "--quantum", "5"];
const SCENARIO: &[&str] = &["scenario", "run", "e7"];

#[test]
fn every_svg_flag_writes_a_picture_and_leaves_the_output_alone() {
    for cmd in [TRANSLATE, HEAP, STACK, SCHED, SCENARIO] {
        let plain = vmlab(cmd);
        let mut args = cmd.to_vec();
        args.extend(["--svg", "FILE"]);
        let (run, svg) = with_file(&args, "p.svg");
        assert_eq!(run.ok(), plain.ok(), "{cmd:?}: --svg changed the output");
        let doc = parse(&svg);
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg", "{cmd:?}");
        assert_eq!(
            root.tag_name().namespace(),
            Some("http://www.w3.org/2000/svg")
        );
        assert!(root.attribute("width").is_some() && root.attribute("viewBox").is_some());
        assert!(
            doc.descendants().any(|n| n.tag_name().name() == "title"),
            "{cmd:?}"
        );
    }
}

#[test]
fn heap_picture_marks_the_chosen_hole_and_coalescing() {
    let mut args = HEAP.to_vec();
    args.extend(["--svg", "FILE"]);
    let (run, svg) = with_file(&args, "heap.svg");
    run.ok();
    let doc = parse(&svg);
    // C (10 bytes) goes into the 20-byte hole A left at 0 under first fit.
    let chosen: Vec<(&str, &str)> = doc
        .descendants()
        .filter_map(|n| {
            Some((
                n.attribute("data-chosen")?,
                n.attribute("data-chosen-size")?,
            ))
        })
        .collect();
    assert_eq!(chosen, [("0x0", "100"), ("0x14", "80"), ("0x0", "20")]);
    // Freeing B merges its block with the holes around it.
    assert_eq!(
        doc.descendants()
            .filter_map(|n| n.attribute("data-coalesced"))
            .collect::<Vec<_>>(),
        ["0xa"]
    );
}

#[test]
fn e3_what_if_picture_shows_the_hole_each_fit_chooses() {
    let (run, svg) = with_file(
        &[
            "heap",
            "--layout",
            "free:16,A:12,free:24,B:16",
            "--policy",
            "all",
            "--what-if",
            "12",
            "16",
            "24",
            "32",
            "--svg",
            "FILE",
        ],
        "e3.svg",
    );
    run.ok();
    let doc = parse(&svg);
    let mut by_policy = Vec::new();
    for section in doc
        .descendants()
        .filter(|n| n.attribute("data-policy").is_some())
    {
        by_policy.push(section.attribute("data-policy").unwrap().to_string());
    }
    assert_eq!(by_policy, ["first fit", "best fit", "worst fit"]);
    let chosen: Vec<&str> = doc
        .descendants()
        .filter_map(|n| n.attribute("data-chosen"))
        .collect();
    // 12, 16, 24 under first, best, worst (32 fits nowhere).
    assert_eq!(
        chosen,
        [
            "0x0", "0x0", "0x1c", "0x0", "0x0", "0x1c", "0x1c", "0x1c", "0x1c"
        ]
    );
}

#[test]
fn html_page_has_every_step_with_its_narration_and_pictures() {
    let (run, html) = with_file(&["scenario", "run", "e7", "--html", "FILE"], "e7.html");
    let out = run.ok().to_string();
    let doc = parse(&html);
    let steps: Vec<roxmltree::Node> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "li")
        .collect();
    assert!(steps.len() >= 20, "{} steps", steps.len());
    // The steps' narrations, joined, are what the terminal shows.
    let narrated: Vec<String> = steps
        .iter()
        .flat_map(|s| {
            let pre = s
                .descendants()
                .find(|n| n.attribute("data-testid") == Some("narration"))
                .unwrap();
            pre.text()
                .unwrap_or("")
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|l| !l.trim().is_empty())
        .collect();
    let printed: Vec<String> = out
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    assert_eq!(narrated, printed);
    // The first fault: P1's store beyond bounds, P1 still in memory.
    let fault = steps
        .iter()
        .position(|s| s.attribute("data-first-fault").is_some())
        .unwrap();
    let text = |i: usize| {
        steps[i]
            .descendants()
            .filter_map(|n| n.text())
            .collect::<String>()
    };
    // A step's memory map, or the earlier step's it refers to as unchanged.
    let memory_map = |i: usize| {
        let fig = steps[i]
            .descendants()
            .find(|n| n.attribute("data-picture") == Some("physical-memory"))
            .unwrap();
        match fig.attribute("data-same-as") {
            Some(id) => steps
                .iter()
                .find(|s| s.attribute("id") == Some(id))
                .unwrap()
                .descendants()
                .find(|n| n.attribute("data-picture") == Some("physical-memory"))
                .unwrap(),
            None => fig,
        }
    };
    let p1_in_memory = |i: usize| {
        memory_map(i).descendants().any(|n| {
            n.attribute("data-process") == Some("P1") && n.attribute("data-start") == Some("0x400")
        })
    };
    assert!(text(fault).contains("FAULT (bounds)"));
    assert!(p1_in_memory(fault));
    let freed = (fault..steps.len())
        .find(|&i| text(i).contains("OS frees P1"))
        .unwrap();
    assert!(!p1_in_memory(freed));
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));
}

#[test]
fn wrapper_scenarios_draw_their_commands() {
    let (run, html) = with_file(&["scenario", "run", "e1", "--html", "FILE"], "e1.html");
    run.ok();
    let doc = parse(&html);
    assert!(
        doc.descendants().any(
            |n| n.attribute("data-kind") == Some("run") && n.attribute("data-job") == Some("C")
        )
    );
}

#[test]
fn unwritable_files_are_one_line_errors_naming_them() {
    let bad = "/nonexistent-dir/x.svg";
    for cmd in [TRANSLATE, HEAP, STACK, SCHED, SCENARIO] {
        let mut args = cmd.to_vec();
        args.extend(["--svg", bad]);
        let r = vmlab(&args);
        r.bad_input(&["--svg", bad]);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    }
    let r = vmlab(&[
        "scenario",
        "run",
        "e7",
        "--html",
        "/nonexistent-dir/e7.html",
    ]);
    r.bad_input(&["--html", "/nonexistent-dir/e7.html"]);
    assert_eq!(r.stderr.lines().count(), 1);
}

#[test]
fn bad_requests_draw_nothing_and_say_why() {
    let path = temp_path("never.svg");
    let p = path.to_str().unwrap();
    vmlab(&["stack", "A:16", "B:8", "free:A", "--svg", p]).bad_input(&["request 3"]);
    assert!(!path.exists());
}

/// The `$ vmlab` commands of docs/tour/pictures.md with the output shown.
fn tour_commands(root: &Path) -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(root.join("docs/tour/pictures.md")).unwrap();
    let mut out = Vec::new();
    let mut lines = text.lines().peekable();
    let mut fenced = false;
    while let Some(l) = lines.next() {
        if l.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if let Some(cmd) = l.strip_prefix("$ vmlab ").filter(|_| fenced) {
            let mut shown = Vec::new();
            while let Some(n) = lines.peek() {
                if n.starts_with("```") || n.starts_with("$ ") {
                    break;
                }
                shown.push(n.to_string());
                lines.next();
            }
            out.push((cmd.to_string(), shown));
        }
    }
    out
}

#[test]
fn committed_pictures_are_what_the_tour_commands_draw() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bless = std::env::var_os("VMLAB_BLESS").is_some();
    let cmds = tour_commands(root);
    assert!(cmds.len() >= 6, "{cmds:?}");
    let mut drawn = 0;
    let mut wrong = Vec::new();
    for (cmd, shown) in &cmds {
        let words: Vec<&str> = cmd.split_whitespace().collect();
        let flag = words
            .iter()
            .position(|w| *w == "--svg" || *w == "--html")
            .expect("every command of the pictures tour writes a picture");
        let target = words[flag + 1];
        let mut args = words.clone();
        args[flag + 1] = "FILE";
        let (run, text) = with_file(&args, target.rsplit('/').next().unwrap());
        let printed: Vec<&str> = run.ok().trim_end_matches('\n').lines().collect();
        assert_eq!(
            printed, *shown,
            "$ vmlab {cmd}: the tour shows other output"
        );
        parse(&text);
        if words[flag] == "--html" {
            continue;
        }
        drawn += 1;
        let committed = root.join(target);
        if bless {
            std::fs::write(&committed, &text).unwrap();
        } else if std::fs::read_to_string(&committed).ok().as_deref() != Some(text.as_str()) {
            wrong.push(target.to_string());
        }
    }
    assert!(drawn >= 5);
    // Every committed picture is made by a command of the tour.
    let mut files: Vec<String> = std::fs::read_dir(root.join("docs/pictures"))
        .unwrap()
        .map(|e| format!("docs/pictures/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    files.sort();
    for f in &files {
        assert!(
            cmds.iter().any(|(c, _)| c.contains(f.as_str())),
            "{f} is not drawn by any command of docs/tour/pictures.md"
        );
    }
    assert!(
        wrong.is_empty(),
        "docs/pictures out of date: {wrong:?}; redraw with `VMLAB_BLESS=1 cargo test --test tests pictures::`"
    );
}
