#!/usr/bin/env bash
# Benchmark of the browser page (issue 10 §4), in headless Chromium driven
# over WebDriver (chromedriver), the site served by `vmlab web`:
#   - the .wasm size (uncompressed and gzip -9);
#   - load -> first picture: the `vmlab-first-picture` performance mark the
#     page sets when it has drawn its first result, in ms since navigation
#     start (median of $RUNS cold loads, fresh profile each);
#   - stepping a generated scenario of about $EVENTS events (two processes
#     taking turns, so every other access is a context switch): the time to
#     open it, and per step (arrow key -> narration and pictures inserted
#     and laid out), mean and worst over every step, plus a jump to the end;
#   - (stretch) a Valgrind lackey trace of $LINES lines chosen on the Trace
#     view, replayed in the browser, against the native `vmlab trace` on the
#     same file (both with --layout auto; the rate each one reports, best of
#     $RUNS).
#
#   bench/web.sh              EVENTS=10000 RUNS=5 LINES=2000000
#   EVENTS=40000 bench/web.sh
#
# Needs: web/build.sh's prerequisites, chromium, chromedriver, python3.
set -euo pipefail
cd "$(dirname "$0")/.."

EVENTS=${EVENTS:-10000}
RUNS=${RUNS:-5}
LINES=${LINES:-2000000}
DIR=${BENCH_DIR:-/tmp/vmlab-bench-web}
mkdir -p "$DIR"

cargo build --release --quiet
web/build.sh >/dev/null
VMLAB=$PWD/target/release/vmlab
WASM=web/dist/pkg/vmlab_web_bg.wasm
echo "wasm: $(wc -c <"$WASM") bytes, $(gzip -9 -c "$WASM" | wc -c) gzipped"

# The scenario: each access by the other process costs a context switch
# (about eight events with the access itself).
python3 - "$EVENTS" >"$DIR/steps.toml" <<'PY'
import sys
accesses = max(1, int(sys.argv[1]) // 8)
print('title = "Bench: two processes taking turns"')
print('script = [')
for i in range(accesses):
    print(f'  "{"P1" if i % 2 == 0 else "P2"}: load {(i * 8) % 1000}",')
print(']')
print('''
[machine]
memory = "16k"
os_size = "1k"
strategy = "base-bounds"

[[process]]
name = "P1"
size = "1k"
base = "1k"

[[process]]
name = "P2"
size = "1k"
base = "4k"''')
PY
echo "scenario: $("$VMLAB" scenario run "$DIR/steps.toml" --json | wc -l) events, $("$VMLAB" scenario run "$DIR/steps.toml" | wc -l) narration lines"

# A lackey trace: a loop's fetches, loads and stores on code, heap and stack.
python3 - "$LINES" >"$DIR/bench.lackey" <<'PY'
import sys
n = int(sys.argv[1])
out = sys.stdout
out.write("==1== Lackey, an example Valgrind tool\n==1== Command: ./bench\n==1== \n")
for i in range(n):
    k = i % 4
    if k == 0:
        out.write(f"I  {0x400000 + (i * 4) % 0x10000:08x},4\n")
    elif k == 1:
        out.write(f" L {0x4a20000 + (i * 8) % 0x100000:08x},8\n")
    elif k == 2:
        out.write(f" S {0x1fff000000 + (i * 8) % 0x8000:x},8\n")
    else:
        out.write(f" M {0x4a20000 + (i * 16) % 0x100000:08x},8\n")
PY
best_native=0
for _ in $(seq "$RUNS"); do
  rate=$("$VMLAB" trace --layout auto --no-progress "$DIR/bench.lackey" | sed -n 's/^time .*: \([0-9.]*\) million references\/s.*/\1/p')
  best_native=$(python3 -c "print(max($best_native, $rate))")
done
echo "native vmlab trace (lackey, $LINES lines, --layout auto): $best_native million references/s (best of $RUNS)"

"$VMLAB" web --port 0 --dir web/dist >"$DIR/server.out" &
server=$!
chromedriver --port=9616 >/dev/null 2>&1 &
driver=$!
trap 'kill $server $driver 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$DIR/server.out" ] && break; sleep 0.05; done
port=$(sed -n 's|.*127.0.0.1:\([0-9]*\)/.*|\1|p' "$DIR/server.out")

python3 - "$port" "$RUNS" "$DIR/steps.toml" "$DIR/bench.lackey" <<'PY'
import json, statistics, sys, tempfile, time, urllib.error, urllib.request

port, runs, toml_path, lackey = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
driver = "http://127.0.0.1:9616"
site = f"http://127.0.0.1:{port}/"

def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(driver + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            return json.load(r)["value"]
    except urllib.error.HTTPError as e:
        raise SystemExit(f"WebDriver {path}: {e.read().decode()[:500]}")

for _ in range(100):
    try:
        if call("GET", "/status")["ready"]:
            break
    except OSError:
        time.sleep(0.1)

def session():
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--window-size=1400,1000",
            "--user-data-dir=" + tempfile.mkdtemp(prefix="vmlab-chromium-")]
    caps = {"capabilities": {"alwaysMatch": {"goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}}}}
    sid = call("POST", "/session", caps)["sessionId"]
    call("POST", f"/session/{sid}/timeouts", {"script": 600000})
    return sid

def script(sid, js, *args):
    return call("POST", f"/session/{sid}/execute/sync", {"script": js, "args": list(args)})

def wait_ready(sid):
    for _ in range(600):
        if script(sid, "return document.body.dataset.ready === 'true'"):
            return
        time.sleep(0.05)
    raise SystemExit("the page never drew")

# 1. Load -> first picture, cold (a fresh browser each time).
firsts = []
for _ in range(runs):
    sid = session()
    call("POST", f"/session/{sid}/url", {"url": site + "?view=scenario&name=e7"})
    wait_ready(sid)
    firsts.append(script(sid, "return performance.getEntriesByName('vmlab-first-picture')[0].startTime"))
    call("DELETE", f"/session/{sid}")
print(f"load -> first picture (E7, cold): median {statistics.median(firsts):.0f} ms, "
      f"max {max(firsts):.0f} ms over {runs} loads")

# 2. Stepping the big scenario, every step, as the arrow key does it.
sid = session()
call("POST", f"/session/{sid}/url", {"url": site + "?view=scenario&name=e7"})
wait_ready(sid)
toml = open(toml_path).read()
opened = script(sid, """
  document.getElementById('sc-toml').value = arguments[0];
  const t0 = performance.now();
  document.getElementById('sc-run').click();
  document.body.offsetHeight;
  return performance.now() - t0;""", toml)
result = script(sid, """
  const key = (k) => document.dispatchEvent(new KeyboardEvent('keydown', {key: k, bubbles: true}));
  const n = +document.getElementById('sc-step').textContent.split(' of ')[1];
  const times = [];
  for (let i = 1; i < n; i++) {
    const t0 = performance.now();
    key('ArrowRight');
    document.body.offsetHeight;  // layout included
    times.push(performance.now() - t0);
  }
  const t0 = performance.now();
  key('Home'); document.body.offsetHeight;
  key('End'); document.body.offsetHeight;
  const jump = (performance.now() - t0) / 2;
  times.sort((a, b) => a - b);
  return {n, mean: times.reduce((a, b) => a + b, 0) / times.length,
          p99: times[Math.floor(times.length * 0.99)], max: times[times.length - 1], jump,
          step: document.getElementById('sc-step').textContent};""")
# The library's share: Session.step(i) (fold, draw the SVG, JSON) alone.
lib = script(sid, """
  const s = window.vmlab.Session.from_toml(arguments[0]);
  const n = s.len(), times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    s.step(i);
    times.push(performance.now() - t0);
  }
  s.free();
  times.sort((a, b) => a - b);
  return {mean: times.reduce((a, b) => a + b, 0) / n, p99: times[Math.floor(n * 0.99)], max: times[n - 1]};""", toml)
call("DELETE", f"/session/{sid}")
print(f"open the {result['n']}-step scenario (parse, run, fold): {opened:.0f} ms")
print(f"step forward: mean {result['mean']:.2f} ms, p99 {result['p99']:.2f} ms, "
      f"worst {result['max']:.2f} ms over {result['n'] - 1} steps; Home/End jump {result['jump']:.2f} ms "
      f"(ended at '{result['step']}')")
print(f"of which the library (Session.step alone): mean {lib['mean']:.2f} ms, p99 {lib['p99']:.2f} ms, worst {lib['max']:.2f} ms")

# 3. (stretch) The lackey trace, chosen on the Trace view, replayed here.
import re
sid = session()
call("POST", f"/session/{sid}/url", {"url": site + "?view=trace&flags=--layout+auto"})
wait_ready(sid)
best = 0.0
for _ in range(runs):
    script(sid, "delete document.body.dataset.traced")
    el = call("POST", f"/session/{sid}/element", {"using": "css selector", "value": "[data-testid='trace-file']"})
    eid = el["element-6066-11e4-a52e-4f735466cecf"]
    call("POST", f"/session/{sid}/element/{eid}/clear", {})
    call("POST", f"/session/{sid}/element/{eid}/value", {"text": lackey})
    for _ in range(6000):
        if script(sid, "return document.body.dataset.traced === 'true'"):
            break
        time.sleep(0.05)
    out = script(sid, "return document.querySelector(\"[data-testid='trace-output']\").textContent")
    m = re.search(r"([0-9.]+) million references/s", out)
    if not m:
        raise SystemExit("no rate in the page's summary:\n" + out)
    best = max(best, float(m.group(1)))
call("DELETE", f"/session/{sid}")
print(f"in the browser (same file, Trace view): {best} million references/s (best of {runs})")
PY
