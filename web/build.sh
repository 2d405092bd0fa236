#!/usr/bin/env bash
# Builds the vmlab site into web/dist/: index.html, CSS and the page's ES
# modules (from web/static/), and pkg/ with the wasm-compiled library and
# wasm-bindgen's JavaScript glue (--target web: plain ES modules, no
# bundler). Serve it with `vmlab web` (or any static file server).
#
# Needs: rustup target add wasm32-unknown-unknown, and wasm-bindgen-cli at
# the version web/Cargo.toml pins (cargo install wasm-bindgen-cli --version
# =0.2.130).
set -euo pipefail
cd "$(dirname "$0")"

pinned=$(sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' Cargo.toml)
if ! have=$(wasm-bindgen --version 2>/dev/null); then
  echo "web/build.sh: wasm-bindgen not found; install it with: cargo install wasm-bindgen-cli --version =$pinned" >&2
  exit 2
fi
if [ "$have" != "wasm-bindgen $pinned" ]; then
  echo "web/build.sh: $have found, but Cargo.toml pins $pinned; install it with: cargo install wasm-bindgen-cli --version =$pinned" >&2
  exit 2
fi

cargo build --release --lib --target wasm32-unknown-unknown
module=target/wasm32-unknown-unknown/release/vmlab_web.wasm
# Binaryen's wasm-opt (Debian package binaryen), when installed, shrinks the
# module by about a fifth. It runs before wasm-bindgen: Debian's version
# breaks the reference-type table that wasm-bindgen's output uses. Without it
# the site works the same, only larger.
if command -v wasm-opt >/dev/null; then
  wasm-opt -Oz --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
    --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue \
    "$module" -o target/vmlab_web.opt.wasm
  module=target/vmlab_web.opt.wasm
else
  echo "web/build.sh: wasm-opt not found (apt-get install binaryen): the .wasm stays unoptimized" >&2
fi
rm -rf dist
mkdir -p dist/pkg
wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section --out-dir dist/pkg \
  --out-name vmlab_web "$module"
cp -R static/. dist/
echo "web/build.sh: built web/dist ($(wc -c <dist/pkg/vmlab_web_bg.wasm) bytes of wasm); serve it with: vmlab web --port 8000"
