//! The browser page, end to end: `vmlab web` serves web/dist on 127.0.0.1,
//! chromedriver drives a headless Chromium over the W3C WebDriver protocol,
//! and each test uses the page as a student would (clicks, keys, typing),
//! reading what it shows through the `data-testid` hooks. Screenshots of
//! every view go to target/web-screenshots/.
//!
//! Needs web/dist (web/build.sh), /usr/bin/chromium and chromedriver. When
//! one is missing the test prints `skipped: ...` and passes, unless
//! VMLAB_BROWSER_TESTS=require (as CI sets), where it fails.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One browser at a time: the machines running CI have two cores.
static ONE_BROWSER: Mutex<()> = Mutex::new(());

/// WebDriver's key for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The flags Chromium needs on machines without internet access, as root.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The first of `candidates` that exists, or the named program on PATH.
fn find_program(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for c in candidates {
        let p = Path::new(c);
        if p.is_absolute() {
            if p.exists() {
                return Some(p.to_path_buf());
            }
        } else if let Some(dir) = std::env::split_paths(&path).find(|d| d.join(c).exists()) {
            return Some(dir.join(c));
        }
    }
    None
}

/// A child process killed when dropped.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A headless Chromium showing the site, through chromedriver.
struct Browser {
    http: ureq::Agent,
    driver: String,
    session: String,
    site: String,
    _server: Kill,
    _chromedriver: Kill,
    _profile: TempDir,
    _lock: std::sync::MutexGuard<'static, ()>,
}

/// A fresh directory, removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts everything, or says why it cannot: `None` means skipped.
fn browser() -> Option<Browser> {
    let require = std::env::var("VMLAB_BROWSER_TESTS").is_ok_and(|v| v == "require");
    let site = repo().join("web/dist");
    let chromium = find_program(
        "CHROME",
        &["/usr/bin/chromium", "chromium", "chromium-browser"],
    );
    let chromedriver = find_program("CHROMEDRIVER", &["/usr/bin/chromedriver", "chromedriver"]);
    let missing = if !site.join("index.html").is_file() {
        Some(format!(
            "{} has no index.html (run web/build.sh)",
            site.display()
        ))
    } else if chromium.is_none() {
        Some("no chromium (apt-get install chromium)".to_string())
    } else if chromedriver.is_none() {
        Some("no chromedriver (apt-get install chromium-driver)".to_string())
    } else {
        None
    };
    if let Some(why) = missing {
        assert!(!require, "VMLAB_BROWSER_TESTS=require, but {why}");
        println!("skipped: {why}");
        return None;
    }
    let lock = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());

    // The site, on a port vmlab picks and prints.
    let mut server = Command::new(env!("CARGO_BIN_EXE_vmlab"))
        .args(["web", "--port", "0", "--dir"])
        .arg(&site)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("vmlab web starts");
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or_else(|| panic!("vmlab web printed {line:?}"));
    let server = Kill(server);

    // chromedriver, on a free port.
    let driver_port = free_port();
    let chromedriver = Kill(
        Command::new(chromedriver.unwrap())
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let http: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let driver = format!("http://127.0.0.1:{driver_port}");
    let started = Instant::now();
    loop {
        let ready = http
            .get(format!("{driver}/status"))
            .call()
            .ok()
            .and_then(|mut r| r.body_mut().read_to_string().ok())
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .is_some_and(|v| v["value"]["ready"] == true);
        if ready {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "chromedriver did not become ready"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // A fresh profile for every browser.
    let profile = TempDir(super::support::temp_path("chromium-profile"));
    std::fs::create_dir_all(&profile.0).unwrap();
    let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
    args.push(format!("--user-data-dir={}", profile.0.display()));
    let caps = json!({"capabilities": {"alwaysMatch": {
        "goog:chromeOptions": {"binary": chromium.unwrap(), "args": args}
    }}});
    let v = post(&http, &format!("{driver}/session"), &caps);
    let session = v["value"]["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no WebDriver session: {v}"))
        .to_string();
    Some(Browser {
        http,
        driver,
        session,
        site: format!("http://127.0.0.1:{port}/"),
        _server: server,
        _chromedriver: chromedriver,
        _profile: profile,
        _lock: lock,
    })
}

fn post(http: &ureq::Agent, url: &str, body: &Value) -> Value {
    let mut r = http
        .post(url)
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let text = r.body_mut().read_to_string().unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("POST {url}: not JSON: {text}"))
}

impl Drop for Browser {
    fn drop(&mut self) {
        let url = format!("{}/session/{}", self.driver, self.session);
        let _ = self.http.delete(&url).call();
    }
}

impl Browser {
    fn command(&self, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}/{path}", self.driver, self.session);
        let v = post(&self.http, &url, &body);
        if let Some(error) = v["value"].get("error") {
            panic!("WebDriver {path}: {error}: {}", v["value"]["message"]);
        }
        v["value"].clone()
    }

    fn get(&self, path: &str) -> Value {
        let url = format!("{}/session/{}/{path}", self.driver, self.session);
        let mut r = self.http.get(&url).call().unwrap();
        let v: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
        if let Some(error) = v["value"].get("error") {
            panic!("WebDriver {path}: {error}: {}", v["value"]["message"]);
        }
        v["value"].clone()
    }

    /// Opens the page at `query` (`?view=...`) and waits until it has drawn
    /// its first result (or said what is wrong).
    fn open(&self, query: &str) {
        self.command("url", json!({"url": format!("{}{query}", self.site)}));
        self.wait_for("the page to draw", || {
            self.script("return document.body.dataset.ready === 'true' || !document.getElementById('message').hidden")
                == true
        });
    }

    /// Runs `script` in the page and returns its value.
    fn script(&self, script: &str) -> Value {
        self.command("execute/sync", json!({"script": script, "args": []}))
    }

    fn wait_for(&self, what: &str, mut ok: impl FnMut() -> bool) {
        let started = Instant::now();
        while !ok() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The element matching a CSS selector.
    fn find(&self, css: &str) -> String {
        let v = self.command("element", json!({"using": "css selector", "value": css}));
        v[ELEMENT].as_str().unwrap().to_string()
    }

    /// The visible text of the element with `data-testid="id"`.
    fn text(&self, testid: &str) -> String {
        let e = self.find(&format!("[data-testid='{testid}']"));
        self.get(&format!("element/{e}/text"))
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The exact text of the element with `data-testid="id"` (its
    /// `textContent`: what a command printed, blank lines and all).
    fn exact_text(&self, testid: &str) -> String {
        let script =
            format!("return document.querySelector(\"[data-testid='{testid}']\").textContent");
        self.script(&script).as_str().unwrap_or("").to_string()
    }

    /// The markup inside the element with `data-testid="id"` (pictures).
    fn inner_html(&self, testid: &str) -> String {
        let script =
            format!("return document.querySelector(\"[data-testid='{testid}']\").innerHTML");
        self.script(&script).as_str().unwrap_or("").to_string()
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.command(&format!("element/{e}/click"), json!({}));
    }

    /// Replaces the text of an input with `text`, as typed.
    fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.command(&format!("element/{e}/clear"), json!({}));
        self.command(&format!("element/{e}/value"), json!({"text": text}));
    }

    /// Chooses a local file in a file input (chromedriver's way: its path
    /// typed into the input).
    fn type_into_file(&self, css: &str, path: &Path) {
        let e = self.find(css);
        let text = path.to_string_lossy();
        self.command(&format!("element/{e}/value"), json!({"text": text}));
    }

    /// Presses one key (a WebDriver key code such as `\u{E014}`).
    fn press(&self, key: &str) {
        self.command(
            "actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
                {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}
            ]}]}),
        );
    }

    /// Saves a PNG of the page as target/web-screenshots/NAME.png.
    fn screenshot(&self, name: &str) {
        let png = base64_decode(self.get("screenshot").as_str().unwrap());
        let dir = repo().join("target/web-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

/// Standard base64 (the screenshot endpoint's encoding).
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let digits: Vec<u8> = text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .map(value)
        .collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, d)| n | (u32::from(*d) << (18 - 6 * i)));
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

const ARROW_RIGHT: &str = "\u{E014}";

#[test]
fn e7_stepped_to_the_fault_shows_p1_killed_and_its_memory_freed() {
    let Some(b) = browser() else { return };
    b.open("?view=scenario&name=e7");
    assert!(
        b.text("step").starts_with("Step 1 of "),
        "{}",
        b.text("step")
    );
    // The loader places P1 at [0x400, 0x800) within the first steps.
    for _ in 0..5 {
        if b.inner_html("memory-map").contains("data-process=\"P1\"") {
            break;
        }
        b.press(ARROW_RIGHT);
    }
    let map = b.inner_html("memory-map");
    assert!(
        map.contains("data-process=\"P1\"") && map.contains("data-start=\"0x400\""),
        "P1 placed at 0x400: {map}"
    );
    b.screenshot("scenario-e7-start");
    b.click("[data-testid='first-fault']");
    let fault_step = b.text("step");
    // Step on with the arrow key until the OS has killed P1.
    let mut seen = String::new();
    for _ in 0..10 {
        seen = b.text("narration");
        if seen.contains("OS kills P1") {
            break;
        }
        b.press(ARROW_RIGHT);
    }
    assert!(seen.contains("OS kills P1"), "after {fault_step}: {seen}");
    b.press(ARROW_RIGHT);
    assert!(
        b.text("narration").contains("frees P1's image"),
        "{}",
        b.text("narration")
    );
    let map = b.inner_html("memory-map");
    assert!(
        !map.contains("data-process=\"P1\""),
        "P1 is gone from the memory map: {map}"
    );
    assert!(map.contains("data-process=\"P2\""), "P2 stays: {map}");
    assert!(map.contains("data-start=\"0x1000\""), "P2 at 0x1000: {map}");
    // The step is in the URL (updated once stepping pauses).
    let step = b.text("step");
    let number = step["Step ".len()..].split(' ').next().unwrap().to_string();
    b.wait_for("the step in the URL", || {
        b.script("return location.search")
            .as_str()
            .is_some_and(|q| q.contains(&format!("step={number}")))
    });
    b.screenshot("scenario-e7-killed");
}

#[test]
fn a_deep_link_to_a_translation_shows_its_answer() {
    let Some(b) = browser() else { return };
    b.open("?view=translate&mech=bb&base=0x1000&bounds=0x400&va=0x100");
    let out = b.text("tr-output");
    assert!(out.contains("-> PA 0x1100 (decimal 4352)"), "{out}");
    let picture = b.script(
        "return document.querySelector(\"#view-translate [data-testid='translation']\").innerHTML",
    );
    let picture = picture.as_str().unwrap_or("");
    assert!(
        picture.starts_with("<svg") && picture.contains("0x1100"),
        "the picture shows the physical address: {picture}"
    );
    // Typing a new address updates the answer: 0x400 is out of bounds.
    b.type_into("[data-testid='tr-va']", "0x400");
    let out = b.text("tr-output");
    assert!(out.contains("0x400") && !out.contains("0x1100"), "{out}");
    let picture = b.script(
        "return document.querySelector(\"#view-translate [data-testid='translation']\").innerHTML",
    );
    assert!(
        picture.as_str().unwrap_or("").contains("FAULT"),
        "the picture shows the fault: {picture}"
    );
    b.screenshot("translate");
}

#[test]
fn homework_answers_get_the_quiz_verdicts() {
    let Some(b) = browser() else { return };
    b.open("?view=homework&sim=relocation&seed=1");
    let expected = super::support::vmlab(&["relocation", "-s", "1"]);
    assert_eq!(b.exact_text("problem"), expected.ok());
    // The right answer to question 0, from the CLI's --json.
    let json_out = super::support::vmlab(&["relocation", "-s", "1", "--json"]);
    let q0: Value = serde_json::from_str(json_out.ok().lines().nth(1).unwrap()).unwrap();
    let right = q0
        .get("pa")
        .map_or("violation".to_string(), |pa| pa.to_string());
    let wrong = if right == "violation" {
        "0"
    } else {
        "violation"
    };
    let answer0 = "[data-testid='answer'][data-index='0']";
    let verdict0 = "[data-testid='verdict'][data-index='0']";
    b.type_into(answer0, wrong);
    b.click("[data-testid='check']");
    let v = b.get(&format!("element/{}/text", b.find(verdict0)));
    assert!(v.as_str().unwrap().contains("wrong"), "{v}");
    b.type_into(answer0, &right);
    b.click("[data-testid='check']");
    let v = b.get(&format!("element/{}/text", b.find(verdict0)));
    assert!(v.as_str().unwrap().contains("right"), "{v}");
    assert_eq!(b.text("score"), "Score: 1 of 1 right (5 questions)");
    b.click("[data-testid='reveal']");
    let solution = super::support::vmlab(&["relocation", "-s", "1", "-c"]);
    assert_eq!(b.exact_text("solution"), solution.ok());
    b.screenshot("homework");
    // The deep link, with flags: the problem exactly as the CLI
    // prints it, and one answer box per question.
    b.open("?view=homework&sim=segmentation&seed=3&flags=-n+7");
    let cli = super::support::vmlab(&["segmentation", "-s", "3", "-n", "7"]);
    assert_eq!(b.exact_text("problem"), cli.ok());
    let boxes = b.script("return document.querySelectorAll(\"[data-testid='answer']\").length");
    assert_eq!(boxes, 7);
}

#[test]
fn a_broken_toml_gets_the_clis_line_and_column() {
    let Some(b) = browser() else { return };
    b.open("?view=scenario&name=e6");
    b.click("[data-testid='scenario-edit']");
    let broken = "title = \"mine\"\n[machine]\nmemory = \"16k\"\nos_size = [\n";
    b.type_into("[data-testid='toml']", broken);
    b.click("[data-testid='toml-run']");
    let shown = b.text("toml-error");
    // The CLI on the same text, saved as pasted.toml.
    let dir = super::support::temp_path("toml-dir");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("pasted.toml"), broken).unwrap();
    let cli = Command::new(env!("CARGO_BIN_EXE_vmlab"))
        .args(["scenario", "run", "pasted.toml"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let cli_error = String::from_utf8_lossy(&cli.stderr);
    let cli_error = cli_error.trim().trim_start_matches("vmlab: ");
    assert!(shown.starts_with("pasted.toml:4:"), "{shown}");
    assert_eq!(shown, cli_error);
    b.screenshot("scenario-toml-error");
}

#[test]
fn unknown_or_malformed_parameters_say_so() {
    let Some(b) = browser() else { return };
    b.open("?view=nope");
    assert!(
        b.text("message").contains("unknown view 'nope'"),
        "{}",
        b.text("message")
    );
    b.open("?view=scenario&name=e99&step=3");
    assert!(
        b.text("message").contains("unknown scenario 'e99'"),
        "{}",
        b.text("message")
    );
    b.open("?view=scenario&name=e7&step=zz");
    assert!(
        b.text("message").contains("step: 'zz'"),
        "{}",
        b.text("message")
    );
    b.open("?view=scenario&name=e7&step=last");
    let step = b.text("step");
    let (_, n) = step.split_once(" of ").unwrap();
    assert_eq!(step, format!("Step {n} of {n}"));
    b.open("?view=homework&sim=nope&bogus=1");
    let m = b.text("message");
    assert!(
        m.contains("unknown parameter 'bogus'") && m.contains("sim: 'nope'"),
        "{m}"
    );
    b.screenshot("bad-link");
}

#[test]
fn scheduling_and_heap_views_show_the_commands_output() {
    let Some(b) = browser() else { return };
    b.open("?view=sched&jobs=A:0:40,B:0:20,C:5:10&policy=rr&quantum=5");
    let cli = super::support::vmlab(&[
        "sched",
        "--jobs",
        "A:0:40,B:0:20,C:5:10",
        "--policy",
        "rr",
        "--quantum",
        "5",
        "--switch-cost",
        "0",
    ]);
    assert_eq!(b.exact_text("sched-output"), cli.ok());
    b.screenshot("sched");
    b.open("?view=heap");
    let cli = super::support::vmlab(&[
        "heap",
        "--layout",
        "free:16,A:12,free:24,B:16",
        "--policy",
        "all",
        "--order",
        "addrsort",
        "--header",
        "0",
        "--what-if",
        "12",
        "16",
        "24",
        "32",
    ]);
    assert_eq!(b.exact_text("heap-output"), cli.ok());
    b.screenshot("heap");
}

#[test]
fn a_lackey_trace_dropped_on_the_page_gets_the_clis_summary() {
    let Some(b) = browser() else { return };
    b.open("?view=trace&flags=--layout+auto");
    let fixtures = repo().join("tests/fixtures");
    let file = fixtures.join("lackey-prog.txt");
    // WebDriver types a local file's path into a file input.
    b.type_into_file("[data-testid='trace-file']", &file);
    b.wait_for("the replay", || {
        b.script("return document.body.dataset.traced === 'true'") == true
    });
    let shown = b.exact_text("trace-output");
    let cli = Command::new(env!("CARGO_BIN_EXE_vmlab"))
        .args(["trace", "--layout", "auto", "lackey-prog.txt"])
        .current_dir(&fixtures)
        .output()
        .unwrap();
    let cli = String::from_utf8_lossy(&cli.stdout).into_owned();
    // Everything but the wall-clock line is the same.
    let without_time = |text: &str| -> String {
        text.lines()
            .filter(|l| !l.starts_with("time "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(without_time(&shown), without_time(&cli));
    assert!(shown.contains("\ntime "), "{shown}");
    b.screenshot("trace");
}
