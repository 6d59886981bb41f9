#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Fuzzes the papr_scm device-tree property parser
# (drivers/nvdimm/papr_scm_rs/dt.rs):
#
#   ./fuzz.sh [RUNS]     papr-fuzz --iterations RUNS (default 1000000),
#                        seed $SEED (default 0)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${CARGO_TARGET_DIR:=${NVDIMM_RS_CACHE:-$HOME/.cache/nvdimm-rs}/cargo-target}"
export CARGO_TARGET_DIR
runs=${1:-1000000}
cargo build --release --locked --manifest-path "$here/../Cargo.toml" -p papr-scm --bin papr-fuzz
exec "$CARGO_TARGET_DIR/release/papr-fuzz" --iterations "$runs" --seed "${SEED:-0}"
