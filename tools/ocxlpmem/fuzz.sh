#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Fuzzes the ocxlpmem protocol parsers (drivers/nvdimm/ocxlpmem_rs/):
#
#   ./fuzz.sh [RUNS]     ocxlpmem-fuzz --iterations RUNS (default 1000000),
#                        seed $SEED (default 0)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${CARGO_TARGET_DIR:=${NVDIMM_RS_CACHE:-$HOME/.cache/nvdimm-rs}/cargo-target}"
export CARGO_TARGET_DIR
runs=${1:-1000000}
cargo build --release --locked --manifest-path "$here/../Cargo.toml" -p ocxlpmem-core --bin ocxlpmem-fuzz
exec "$CARGO_TARGET_DIR/release/ocxlpmem-fuzz" --iterations "$runs" --seed "${SEED:-0}"
