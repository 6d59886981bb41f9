#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Fuzzes the kernel's NFIT parser (drivers/acpi/nfit/nfit_rs/table.rs).
#
#   ./fuzz.sh [RUNS]          deterministic mutation fuzzer (stable Rust):
#                             nfit-fuzz --iterations RUNS (default 1000000)
#   ./fuzz.sh libfuzzer [RUNS]
#                             cargo-fuzz/libFuzzer target fuzz/parse,
#                             -runs=RUNS (default 1000000), on stable rustc
#                             with RUSTC_BOOTSTRAP=1 and no sanitizer
#                             (installs cargo-fuzz from crates.io if missing)
#
# Build output goes to $CARGO_TARGET_DIR (default
# ~/.cache/nvdimm-rs/cargo-target); the libFuzzer corpus starts from the
# builder's seed tables in $CARGO_TARGET_DIR/nfit-fuzz-corpus.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${CARGO_TARGET_DIR:=${NVDIMM_RS_CACHE:-$HOME/.cache/nvdimm-rs}/cargo-target}"
export CARGO_TARGET_DIR

mode=mutate
if [ "${1:-}" = libfuzzer ]; then
	mode=libfuzzer
	shift
fi
runs=${1:-1000000}
seed=${SEED:-0}

cargo build --release --locked --manifest-path "$here/../Cargo.toml" -p nfit-table --bin nfit-fuzz
fuzzer=$CARGO_TARGET_DIR/release/nfit-fuzz

if [ $mode = mutate ]; then
	exec "$fuzzer" --iterations "$runs" --seed "$seed"
fi

command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
corpus=$CARGO_TARGET_DIR/nfit-fuzz-corpus
"$fuzzer" --write-seeds "$corpus"
cd "$here"
RUSTC_BOOTSTRAP=1 exec cargo fuzz run --sanitizer none \
	--target-dir "$CARGO_TARGET_DIR/nfit-libfuzzer" \
	parse "$corpus" -- -runs="$runs" -max_len=16384 -seed="${seed}"
