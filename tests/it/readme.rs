//! The README is its introduction (up to the "A tour of the commands"
//! heading) followed by the tour, `docs/tour/*.md` in order with every
//! heading demoted one level. This test keeps the two from drifting apart;
//! after editing a tour file, rebuild the README with
//! `VMLAB_UPDATE_README=1 cargo test readme`.

use std::path::Path;

/// The tour files, in the README's order.
const TOUR: [&str; 7] = [
    "translate",
    "kernel",
    "machine",
    "trace",
    "alloc",
    "homework",
    "pictures",
];

/// The heading the tour follows.
const TOUR_HEADING: &str = "# A tour of the commands\n";

/// `text` with every Markdown heading one level deeper. Lines inside code
/// fences (shell and TOML comments) are left as they are.
fn demote(text: &str) -> String {
    let mut fenced = false;
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        if line.starts_with("```") {
            fenced = !fenced;
        }
        if !fenced && line.starts_with('#') {
            out.push('#');
        }
        out.push_str(line);
    }
    out
}

/// The README as the introduction of `current` and the tour files make it.
fn assembled(root: &Path, current: &str) -> String {
    let end = current
        .find(TOUR_HEADING)
        .expect("README has the tour heading")
        + TOUR_HEADING.len();
    let mut readme = current[..end].to_string();
    for name in TOUR {
        let path = root.join("docs/tour").join(format!("{name}.md"));
        let text = std::fs::read_to_string(&path).expect("tour file");
        readme.push('\n');
        readme.push_str(demote(text.trim_start_matches('\n')).trim_end());
        readme.push('\n');
    }
    readme
}

#[test]
fn readme_is_the_introduction_and_the_tour() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("README.md");
    let current = std::fs::read_to_string(&path).unwrap();
    let wanted = assembled(root, &current);
    if std::env::var_os("VMLAB_UPDATE_README").is_some() {
        std::fs::write(&path, &wanted).unwrap();
        return;
    }
    assert!(
        current == wanted,
        "README.md is out of date with docs/tour/*.md: run `VMLAB_UPDATE_README=1 cargo test readme`"
    );
}

#[test]
fn demotion_leaves_code_blocks_alone() {
    let text = "## Title\n```toml\n# a comment\n```\n### Sub\n";
    assert_eq!(
        demote(text),
        "### Title\n```toml\n# a comment\n```\n#### Sub\n"
    );
}
