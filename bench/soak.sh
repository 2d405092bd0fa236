#!/usr/bin/env bash
# Soak test (issue 11 §4; not in CI's time budget): for DURATION, runs every
# fuzz target (libFuzzer, seeded from fuzz/seeds, corpus kept in
# fuzz/corpus) and then random multi-process scenarios
# (bench/soak_scenarios.py: random strategies, widths, offsets, scripts)
# through the real release `vmlab` binary, and reports runs, crashes
# (panics, signals, exit codes other than 0/1/2, hangs) and peak RSS.
#
#   bench/soak.sh 30m         half the time fuzzing, half random scenarios
#   bench/soak.sh 300s
#
# The fuzz targets are built with libFuzzer's coverage instrumentation (the
# flags `cargo fuzz` passes, without the address sanitizer, so that stable
# Rust builds them) and with debug assertions (overflow checks on).
# Everything it writes goes to ${SOAK_DIR:-/tmp/vmlab-soak}: the log of
# each fuzz run, crashing inputs (artifacts/, crashes/). Exit status 1 when
# anything crashed.
set -uo pipefail
cd "$(dirname "$0")/.."

DURATION=${1:-30m}
case $DURATION in
    *h) SECS=$(( ${DURATION%h} * 3600 ));;
    *m) SECS=$(( ${DURATION%m} * 60 ));;
    *s) SECS=${DURATION%s};;
    *) SECS=$DURATION;;
esac
[[ $SECS =~ ^[0-9]+$ ]] && (( SECS >= 8 )) || { echo "usage: bench/soak.sh DURATION (e.g. 30m, 300s; at least 8s)" >&2; exit 2; }
OUT=${SOAK_DIR:-/tmp/vmlab-soak}
mkdir -p "$OUT/artifacts" "$OUT/crashes"
TARGETS=(asm elf trace scenario)

echo "building vmlab (release) and the fuzz targets..."
cargo build --release --quiet || exit 2
VMLAB=$PWD/target/release/vmlab
# --target: the flags then reach the targets, not build scripts.
HOST=$(rustc -vV | sed -n 's/^host: //p')
FUZZ_BIN=fuzz/target/$HOST/release
( cd fuzz && RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module \
    -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
    -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares \
    -Cdebug-assertions -Coverflow-checks" \
    cargo build --release --quiet --bins --target "$HOST" ) || exit 2

start=$(date +%s)
fuzz_secs=$(( SECS / 2 / ${#TARGETS[@]} ))
total_runs=0
total_crashes=0
peak_kb=0
report=()

peak() { (( $1 > peak_kb )) && peak_kb=$1; }

# The committed seeds (fuzz/seeds/TARGET) hold only inputs the repository
# has nowhere else; the examples and the built-in scenarios are seeds too,
# taken from where they live.
extra="$OUT/seeds"
rm -rf "$extra"
mkdir -p "$extra/asm" "$extra/scenario" "$extra/elf" "$extra/trace"
cp examples/*.s bench/sieve.s "$extra/asm/"
cp src/scenario/builtin/*.toml "$extra/scenario/"

# 1. The fuzz targets, one after the other.
for t in "${TARGETS[@]}"; do
    mkdir -p "fuzz/corpus/$t" "$OUT/artifacts/$t"
    # Long inputs: the assembler's nesting overflow needed more than 4 KB.
    max_len=65536
    [ "$t" = trace ] && max_len=16384
    log="$OUT/fuzz-$t.log"
    /usr/bin/time -f "%M" -o "$OUT/rss-$t" \
        "$FUZZ_BIN/$t" -max_total_time="$fuzz_secs" -max_len="$max_len" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$OUT/artifacts/$t/" "fuzz/corpus/$t" "fuzz/seeds/$t" "$extra/$t" > "$log" 2>&1
    code=$?
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
    runs=${runs:-$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')}
    runs=${runs:-0}
    kb=$(tail -1 "$OUT/rss-$t" | grep -oE '^[0-9]+$' || echo 0)
    peak "$kb"
    crashes=$(find "$OUT/artifacts/$t" -type f -newermt "@$start" | wc -l)
    if (( code != 0 && crashes == 0 )); then crashes=1; fi
    total_runs=$(( total_runs + runs ))
    total_crashes=$(( total_crashes + crashes ))
    report+=("$(printf 'fuzz %-9s %10s runs  %3s crashes  peak RSS %5s MB  (exit %s, log %s)' \
        "$t" "$runs" "$crashes" $(( kb / 1024 )) "$code" "$log")")
done

# 2. Random scenarios until the time is up.
deadline=$(( start + SECS ))
n=0; crashed=0; hangs=0; ok=0; strict=0; refused=0; scen_peak=0
seed0=${SOAK_SEED:-$start}
while (( $(date +%s) < deadline )); do
    seed=$(( seed0 + n ))
    n=$(( n + 1 ))
    f="$OUT/scenario.toml"
    python3 bench/soak_scenarios.py "$seed" > "$f"
    flags=()
    (( seed % 2 )) && flags+=(--json)
    (( seed % 3 == 0 )) && flags+=(--strict)
    timeout 30 /usr/bin/time -f "%M" -o "$OUT/rss-random" \
        "$VMLAB" scenario run "$f" "${flags[@]}" > /dev/null 2> "$OUT/stderr"
    code=$?
    kb=$(tail -1 "$OUT/rss-random" 2>/dev/null | grep -oE '^[0-9]+$' || echo 0)
    (( kb > scen_peak )) && scen_peak=$kb
    case $code in
        0) ok=$(( ok + 1 ));;
        1) strict=$(( strict + 1 ));;
        2) refused=$(( refused + 1 ))
           # Bad input is one line naming what is wrong, never a panic.
           if grep -q panicked "$OUT/stderr" || (( $(wc -l < "$OUT/stderr") != 1 )); then
               crashed=$(( crashed + 1 )); cp "$f" "$OUT/crashes/scenario-$seed.toml"
               cp "$OUT/stderr" "$OUT/crashes/scenario-$seed.stderr"
           fi;;
        124) hangs=$(( hangs + 1 )); cp "$f" "$OUT/crashes/hang-$seed.toml";;
        *) crashed=$(( crashed + 1 )); cp "$f" "$OUT/crashes/scenario-$seed.toml"
           { echo "exit $code, flags ${flags[*]}"; cat "$OUT/stderr"; } > "$OUT/crashes/scenario-$seed.stderr";;
    esac
done
peak "$scen_peak"
total_runs=$(( total_runs + n ))
total_crashes=$(( total_crashes + crashed + hangs ))
report+=("$(printf 'random scenarios %6s runs  %3s crashes  %s hangs  peak RSS %5s MB  (exit 0: %s, 1: %s, 2: %s; seeds %s..)' \
    "$n" "$crashed" "$hangs" $(( scen_peak / 1024 )) "$ok" "$strict" "$refused" "$seed0")")

echo
echo "soak of ${SECS}s ($(( $(date +%s) - start ))s elapsed):"
printf '  %s\n' "${report[@]}"
echo "  total: $total_runs runs, $total_crashes crashes, peak RSS $(( peak_kb / 1024 )) MB"
(( total_crashes == 0 )) || { echo "  crashing inputs: $OUT/artifacts, $OUT/crashes"; exit 1; }
