#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Pool the samples of several benchmark runs: the BENCH-SAMPLES lines the
# guest prints (one per row with a spread: every round's C and Rust value,
# in microseconds) from each console log given. Prints, per row, the
# number of runs and samples, the pooled C and Rust medians, their ratio,
# and the ratio of each run's medians in run order. One run's median of 9
# moves by 10 % or more on a shared host; the pooled median does not.
#
# Usage: bench-pool.sh CONSOLE_LOG...
#   e.g. for i in 1 2 3 4 5; do nvdimm-harness run bench-papr --arch ppc64le
#        --quiet && cp $CACHE/results/ppc64le/bench-papr-c/console-boot1.log
#        /tmp/papr-$i.log; done; bench-pool.sh /tmp/papr-*.log
set -euo pipefail

if [ $# -eq 0 ]; then
	echo "usage: $0 CONSOLE_LOG..." >&2
	exit 2
fi
for log in "$@"; do
	if ! grep -q '^BENCH-SAMPLES|' "$log"; then
		echo "$0: $log has no BENCH-SAMPLES lines" >&2
		exit 1
	fi
done

awk '
function median(list, n,    a, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	# The lower middle value for an even count, as the table in the guest
	# (_bench_median, _bench_spread) takes it, so the ratio of each run here is
	# the one its table printed.
	return a[int((n + 1) / 2)]
}
/^BENCH-SAMPLES\|/ {
	sub(/\r$/, "")
	split($0, f, "|")
	row = f[2]; gsub(/^ +| +$/, "", row)
	c = f[3]; sub(/^ *C /, "", c)
	r = f[4]; sub(/^ *Rust /, "", r)
	if (!(row in runs)) order[++rows] = row
	runs[row]++
	pc[row] = pc[row] " " c
	pr[row] = pr[row] " " r
	per[row] = per[row] sprintf(" %.2f", median(r) / median(c))
}
END {
	printf "%-10s %4s %7s %12s %12s %6s  %s\n", "row", "runs", "samples", "C (ms)", "Rust (ms)", "Rust/C", "per run"
	for (i = 1; i <= rows; i++) {
		row = order[i]
		n = split(pc[row], tmp, " ")
		mc = median(pc[row]); mr = median(pr[row])
		printf "%-10s %4d %7d %12.1f %12.1f %5.2fx %s\n", row, runs[row], n, mc / 1000, mr / 1000, mr / mc, per[row]
	}
}' "$@"
