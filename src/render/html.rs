//! One self-contained HTML page of numbered steps, each with its narration
//! and pictures (inline SVG and CSS, no network): what
//! `vmlab scenario run NAME --html FILE` writes. A small inline script
//! shows one step at a time and steps with the arrow keys; without script
//! the page is a plain scrolling list of every step.
//!
//! The page is also well-formed XML (a polyglot document), so tests parse
//! it with a real XML parser; the script avoids `<` and `&` for that reason.

use super::steps::Stepper;
use super::svg::esc;
use std::collections::HashMap;
use std::fmt::Write;

/// One step of the page.
pub struct Step {
    /// The event kind (`load`, `kill`, ...) or the command.
    pub kind: String,
    /// The narration text (pre-formatted lines).
    pub narration: String,
    /// Its pictures: (caption, SVG document).
    pub pictures: Vec<(String, String)>,
    /// Whether this step is a fault (marked, and `f` jumps to the first).
    pub fault: bool,
}

/// The page for a scenario's steps.
pub fn scenario(st: &Stepper) -> String {
    let first_fault = st.first_fault();
    let steps: Vec<Step> = (0..st.len())
        .map(|i| {
            let p = st.pictures(i);
            let mut pictures = Vec::new();
            if let Some(t) = p.translation {
                pictures.push(("translation".to_string(), t));
            }
            if let Some(c) = p.context_switch {
                pictures.push(("context switch".to_string(), c));
            }
            pictures.push(("physical memory".to_string(), p.memory_map));
            pictures.push(("address spaces".to_string(), p.address_space));
            if i + 1 == st.len()
                && let Some(c) = p.cost
            {
                pictures.push(("cost".to_string(), c));
            }
            if let Some(t) = p.tlb {
                pictures.push(("TLB".to_string(), t));
            }
            Step {
                kind: st.kind(i).to_string(),
                narration: st.narration(i),
                pictures,
                fault: first_fault == Some(i),
            }
        })
        .collect();
    page(st.title(), &steps)
}

/// The page: a heading, the steps, the style and the script.
pub fn page(title: &str, steps: &[Step]) -> String {
    let mut o = String::with_capacity(steps.len() * 8192);
    let _ = writeln!(
        o,
        "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>",
        esc(title)
    );
    // The fill patterns once, where they are never hidden: every picture
    // refers to the first element with each id.
    let _ = writeln!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"0\" height=\"0\" style=\"position:absolute\" aria-hidden=\"true\">{}</svg>",
        super::svg::DEFS.trim_end()
    );
    let _ = writeln!(o, "<h1>{}</h1>", esc(title));
    let _ = writeln!(
        o,
        "<p class=\"help\">{} steps. Keys: left/right arrow (or k/j) step back/forward, Home/End first/last{}. Without script every step is listed below.</p>",
        steps.len(),
        if steps.iter().any(|s| s.fault) {
            ", f the first fault"
        } else {
            ""
        }
    );
    let _ = writeln!(
        o,
        "<nav class=\"bar\"><button type=\"button\" id=\"prev\">&#8592; back</button> <span id=\"counter\" data-testid=\"step\">step 1 of {}</span> <button type=\"button\" id=\"next\">forward &#8594;</button></nav>",
        steps.len()
    );
    o.push_str("<ol class=\"steps\">\n");
    // A picture equal to the one last drawn under its caption is not
    // repeated: the step refers to where it was drawn (the script copies it
    // in when the step is shown), so the page grows with what changes.
    let mut last: HashMap<&str, (usize, &str)> = HashMap::new();
    for (i, s) in steps.iter().enumerate() {
        let _ = writeln!(
            o,
            "<li class=\"step{}\" id=\"step-{}\" data-kind=\"{}\"{}>",
            if s.fault { " fault" } else { "" },
            i + 1,
            esc(&s.kind),
            if s.fault {
                " data-first-fault=\"true\""
            } else {
                ""
            }
        );
        let _ = writeln!(
            o,
            "<h2><a href=\"#step-{n}\">Step {n}</a> <span class=\"kind\">{}</span></h2>",
            esc(&s.kind),
            n = i + 1
        );
        let _ = writeln!(
            o,
            "<pre class=\"narration\" data-testid=\"narration\">{}</pre>",
            esc(s.narration.trim_matches('\n'))
        );
        o.push_str("<div class=\"pictures\">\n");
        for (caption, svg) in &s.pictures {
            let name = esc(&caption.replace(' ', "-"));
            // The hooks the issue names for tests and course material.
            let testid = match caption.as_str() {
                "physical memory" => "memory-map".to_string(),
                "address spaces" => "address-space".to_string(),
                _ => name.clone(),
            };
            match last.get(caption.as_str()) {
                Some(&(at, prev)) if prev == svg.as_str() => {
                    let _ = writeln!(
                        o,
                        "<figure data-picture=\"{name}\" data-testid=\"{testid}\" data-same-as=\"step-{n}\"><figcaption>{} <a href=\"#step-{n}\">(unchanged since step {n})</a></figcaption></figure>",
                        esc(caption),
                        n = at + 1
                    );
                }
                _ => {
                    last.insert(caption, (i, svg));
                    let _ = writeln!(
                        o,
                        "<figure data-picture=\"{name}\" data-testid=\"{testid}\"><figcaption>{}</figcaption>\n{}</figure>",
                        esc(caption),
                        svg.trim_end()
                    );
                }
            }
        }
        o.push_str("</div>\n</li>\n");
    }
    o.push_str("</ol>\n");
    let _ = writeln!(o, "<script>{SCRIPT}</script>\n</body>\n</html>");
    o
}

const STYLE: &str = "
body { font-family: sans-serif; margin: 1em auto; max-width: 1700px; padding: 0 1em; color: #111; }
.help { color: #444; }
.bar { display: none; }
.js .bar { display: block; position: sticky; top: 0; background: #fff; padding: .5em 0; border-bottom: 1px solid #ccc; }
ol.steps { list-style: none; padding: 0; }
.step { border-top: 1px solid #ccc; padding: .5em 0 1em; }
.js .step { display: none; }
.js .step.current { display: block; }
.step.fault h2::after { content: ' (fault)'; }
.kind { font-weight: normal; color: #555; font-size: 70%; }
pre.narration { background: #f6f6f6; padding: .5em; white-space: pre-wrap; font-size: 14px; }
.pictures { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
figure { margin: 0; }
figcaption { font-weight: bold; margin-bottom: .25em; }
svg { max-width: 100%; height: auto; }
";

/// Steps one at a time; no `<` or `&` so that the page stays XML.
const SCRIPT: &str = "
(function () {
  var steps = document.querySelectorAll('li.step');
  if (steps.length === 0) { return; }
  document.body.className = 'js';
  var counter = document.getElementById('counter');
  var at = 0;
  function show(i) {
    if (i >= steps.length) { i = steps.length - 1; }
    if (0 > i) { i = 0; }
    steps[at].classList.remove('current');
    at = i;
    steps[at].classList.add('current');
    var refs = steps[at].querySelectorAll('figure[data-same-as]');
    for (var k = 0; refs.length > k; k++) {
      var f = refs[k];
      if (f.querySelector('svg')) { continue; }
      var src = document.querySelector('#' + f.getAttribute('data-same-as') +
        ' figure[data-picture=' + f.getAttribute('data-picture') + '] svg');
      if (src) { f.appendChild(src.cloneNode(true)); }
    }
    counter.textContent = 'step ' + (at + 1) + ' of ' + steps.length;
    if (history.replaceState) { history.replaceState(null, '', '#step-' + (at + 1)); }
    window.scrollTo(0, 0);
  }
  var m = /^#step-([0-9]+)$/.exec(location.hash);
  steps[0].classList.add('current');
  show(m ? parseInt(m[1], 10) - 1 : 0);
  document.getElementById('prev').onclick = function () { show(at - 1); };
  document.getElementById('next').onclick = function () { show(at + 1); };
  document.addEventListener('keydown', function (e) {
    if (e.key === 'ArrowRight' || e.key === 'j') { show(at + 1); }
    else if (e.key === 'ArrowLeft' || e.key === 'k') { show(at - 1); }
    else if (e.key === 'Home') { show(0); }
    else if (e.key === 'End') { show(steps.length - 1); }
    else if (e.key === 'f') {
      var f = document.querySelector('li.step[data-first-fault]');
      if (f) { show(Array.prototype.indexOf.call(steps, f)); }
    } else { return; }
    e.preventDefault();
  });
})();
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e7_page_is_xml_with_a_list_item_per_step() {
        let b = crate::scenario::builtin::find("e7").unwrap();
        let sc = crate::scenario::parse("e7.toml", b.toml).unwrap();
        let st = Stepper::from_scenario(&sc).unwrap();
        let html = scenario(&st);
        let doc = roxmltree::Document::parse_with_options(
            &html,
            roxmltree::ParsingOptions {
                allow_dtd: true,
                ..Default::default()
            },
        )
        .unwrap();
        let steps = doc
            .descendants()
            .filter(|n| n.tag_name().name() == "li")
            .count();
        assert_eq!(steps, st.len());
        assert_eq!(
            doc.descendants()
                .filter(|n| n.attribute("data-first-fault").is_some())
                .count(),
            1
        );
        assert!(!html.contains("src=\"http"));
        for hook in [
            "step",
            "narration",
            "memory-map",
            "address-space",
            "translation",
        ] {
            assert!(
                doc.descendants()
                    .any(|n| n.attribute("data-testid") == Some(hook)),
                "{hook}"
            );
        }
    }
}
