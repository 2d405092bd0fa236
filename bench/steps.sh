#!/usr/bin/env bash
# Speed of stepping through a scenario's pictures (render::steps::Stepper),
# the cost of one step in the web page: a base+bounds scenario of N accesses
# (about 4 events each) by 4 processes under round robin; prints the time to
# build the Stepper and the mean and worst time of pictures(i).
#
# Usage: bench/steps.sh [N]   (default 6000 accesses, about 11,000 events)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release --quiet --example steps -- "${1:-6000}"
