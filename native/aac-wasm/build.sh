#!/bin/sh
# Rebuilds src/audio/codecs/aac.wasm from this crate (symphonia-codec-aac 0.5, MPL-2.0,
# unmodified). The wasm32 standard library comes from Debian (apt-get install rustc
# cargo libstd-rust-dev-wasm32: Rust 1.63), because the rustup toolchain here has no
# wasm32 target. Dependencies, pinned by Cargo.lock (resolved for Rust 1.63), are first
# vendored with any newer cargo (Debian's cargo 0.66 cannot read the sparse index),
# then built offline.
set -eu
cd "$(dirname "$0")"
if [ ! -d vendor ]; then
  cargo vendor --locked vendor >/dev/null
fi
RUSTC=/usr/bin/rustc /usr/bin/cargo build --release --locked --offline --target wasm32-unknown-unknown
cp target/wasm32-unknown-unknown/release/gigastt_aac.wasm ../../src/audio/codecs/aac.wasm
ls -l ../../src/audio/codecs/aac.wasm
