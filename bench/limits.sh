#!/usr/bin/env bash
# Bounded resources (issue 11 §2): time and peak memory of the inputs that
# used to blow up, with /usr/bin/time -v. Each line: seconds, max RSS, exit
# code, bytes written. Compare two builds by running it on each, e.g.
#   VMLAB=/path/to/old/vmlab bench/limits.sh
# Files go to ${BENCH_DIR:-/tmp/vmlab-limits}. Against an old build, some of
# these allocate gigabytes (move P1 520g: 500 GB): set ULIMIT_KB (e.g.
# 12000000) to cap the virtual memory of every run.
set -euo pipefail
if [ -n "${ULIMIT_KB:-}" ]; then ulimit -v "$ULIMIT_KB"; fi
cd "$(dirname "$0")/.."

DIR=${BENCH_DIR:-/tmp/vmlab-limits}
TIMEOUT=${TIMEOUT:-300}
mkdir -p "$DIR"
if [ -z "${VMLAB:-}" ]; then
  cargo build --release --quiet
  VMLAB=$PWD/target/release/vmlab
fi
cc -O3 -o "$DIR/trace_gen" bench/trace_gen.c

m() {
  local label=$1; shift
  local err="$DIR/time.txt"
  set +e
  /usr/bin/time -v timeout "$TIMEOUT" "$@" > "$DIR/out" 2> "$err"
  set -e
  local secs rss code
  secs=$(grep 'Elapsed (wall clock)' "$err" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "$err" | awk '{print $NF}')
  code=$(grep 'Exit status' "$err" | awk '{print $NF}')
  printf '%-48s %10s  %8s KB  exit %-3s %12s bytes\n' "$label" "$secs" "$rss" "$code" "$(wc -c < "$DIR/out")"
}

# vmlab trace --layout auto on random 64-bit addresses.
for n in 10000 40000 100000 1000000; do
  [ -f "$DIR/rand$n.bin" ] || "$DIR/trace_gen" bin $n 0x7fffffffffffffff "$DIR/rand$n.bin"
  m "trace --layout auto, $n random addresses" "$VMLAB" trace --layout auto --no-progress "$DIR/rand$n.bin"
done

# Schedules.
m "sched A:0:1e7,B:0:1e7 rr q1" "$VMLAB" sched --jobs A:0:10000000,B:0:10000000 --policy rr --quantum 1
m "sched A:0:1e8 rr" "$VMLAB" sched --jobs A:0:100000000 --policy rr
m "scheduler -l 1e8,1e8 -p RR -q 1 -c" "$VMLAB" scheduler -l 100000000,100000000 -p RR -q 1 -c
m "scheduler -j 4294967296 -c" "$VMLAB" scheduler -j 4294967296 -c

# vmlab run: an endless loop at the default limit.
printf 'loop: j loop\n' > "$DIR/loop.s"
m "run loop.s (default limit)" "$VMLAB" run "$DIR/loop.s"

# vmlab heap: 8,000 requests.
mapfile -t REQ < <(seq 0 7999 | sed 's/^/b/; s/$/:1/')
m "heap, 8000 requests" "$VMLAB" heap --size 10000 --policy first "${REQ[@]}"

# Scenarios: 200 spinning processes (12 KB), two 2 GiB spaces in 3 GiB,
# a 500 GiB region moved.
{
  printf '[machine]\nmemory = "1m"\nstrategy = "base-bounds"\n\n'
  for i in $(seq 0 199); do
    printf '[[process]]\nname = "P%d"\nsize = "1k"\nsource = "loop: j loop"\n\n' "$i"
  done
} > "$DIR/spin200.toml"
m "scenario run spin200.toml --json" "$VMLAB" scenario run "$DIR/spin200.toml" --json
cat > "$DIR/ts3g.toml" <<'TOML'
[machine]
memory = "3g"
os_size = 0
strategy = "time-sharing"
quantum = 1

[[process]]
name = "A"
size = "2g"
accesses = ["store 0x7ffffff8 = 11", "store 16 = 12", "load 0x7ffffff8", "load 16"]

[[process]]
name = "B"
size = "2g"
accesses = ["store 16 = 21", "load 0x7ffffff8", "load 16"]
TOML
m "scenario run ts3g.toml (time sharing, 2x2g)" "$VMLAB" scenario run "$DIR/ts3g.toml"
cat > "$DIR/move.toml" <<'TOML'
script = ["P1: store 100 = 7", "move P1 520g", "P1: load 100"]

[machine]
memory = "1100g"
os_size = "1k"
strategy = "base-bounds"

[[process]]
name = "P1"
size = "500g"
TOML
m "scenario run move.toml (move P1 520g)" "$VMLAB" scenario run "$DIR/move.toml"

# Endless inputs.
m "run /dev/zero" "$VMLAB" run /dev/zero
m "scenario run /dev/urandom" "$VMLAB" scenario run /dev/urandom
