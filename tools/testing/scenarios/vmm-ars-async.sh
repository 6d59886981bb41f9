# SPDX-License-Identifier: GPL-2.0
# title: test VMM: address range scrub in the background under the C nfit and the Rust nfit_rs driver: regions while the long scrub is pending, nfit/scrub "N+" and ndctl wait-scrub, a userspace ARS start refused with EBUSY, an overflowing status continued, rmmod during a scrub
# platform: vmm
# vmm-args: --ars --ars-ms 600000 --ars-max-records 2
# drivers: c rust
# nvdimm: size=256M label-size=128K
# timeout: 400
# min-checks: 24
#
# A scan of the media takes ten minutes on this platform unless the
# scenario ends it early (control command ars-finish): so a scrub is
# pending for as long as a step needs, and ends when the step says. Status
# answers carry two records: more overflow, and the driver continues the
# scrub from where the platform stopped.

bus=/sys/bus/nd/devices/ndbus0
scrub_state() { cat "$bus/nfit/scrub"; }
scrubbing() { case "$(scrub_state)" in *+) return 0 ;; esac; return 1; }
vmm_stat() { vmm_ctl '{"cmd":"stats"}' | json_field "$1"; }
# The scans the platform started so far reach $1.
scans_reach() { [ "$(vmm_stat ars_scrubs)" -ge "$1" ]; }
# Ends the platform's scan in progress; succeeds once the driver's pass is
# over (each continuation is a new scan, ended in turn).
pass_over() {
	vmm_ctl '{"cmd":"ars-finish"}' >/dev/null || return 1
	! scrubbing
}
busy_answered() { [ "$(vmm_stat ars_busy_answers)" -ge 1 ]; }
# The region's first N bad blocks (sector, count) as JSON.
badblocks_json() {
	head -n "$1" /sys/bus/nd/devices/region0/badblocks |
		awk 'BEGIN { printf "[" } { printf "%s[%s,%s]", (NR > 1 ? "," : ""), $1, $2 } END { print "]" }'
}
badblock_lines() { wc -l <"/sys/bus/nd/devices/region0/badblocks"; }

# 1. The region is there at once; the long scrub runs behind it.
load_nfit 1
check scrub-pending-at-probe test "$(scrub_state)" = "0+"
require long-scan-started wait_for 60 scans_reach 1
check short-ars-at-probe test "$(vmm_stat ars_short_starts)" -ge 1
check region-while-scrubbing have_regions 1
base=$(cat /sys/bus/nd/devices/region0/resource)
size=$(cat /sys/bus/nd/devices/region0/size)
echo "region0 at $base, $size bytes"
# As C: the driver's own scrub is not interrupted from userspace.
check userspace-start-ebusy sh -c "nd-ioctl ars-start /dev/ndctl0 $base $size | grep -qx EBUSY"
# The driver polls, and the platform answers "in progress".
check busy-answers wait_for 60 busy_answered
check still-pending scrubbing
require finish-first-scan vmm_ctl '{"cmd":"ars-finish"}'
check wait-scrub ndctl wait-scrub
check one-pass test "$(scrub_state)" = 1
json first-pass scrub_state
check clean-after-first-pass test "$(badblock_lines)" = 0

# 2. Five errors, two records per status answer: the driver continues the
# scrub until it has them all.
i=1
while [ $i -le 5 ]; do
	require "poison-$i" vmm_ctl "{\"cmd\":\"poison\",\"address\":$((base + i * 0x100000)),\"length\":4096}"
	i=$((i + 1))
done
check start-scrub ndctl start-scrub
check scrubbing-again scrubbing
check overflow-pass-done wait_for 240 pass_over
check two-passes test "$(scrub_state)" = 2
check overflowed test "$(vmm_stat ars_overflows)" -ge 2
cat /sys/bus/nd/devices/region0/badblocks
# C's ars_continue() does not mark the continued scrub's answers as news
# (ARS_VALID), so C drops their records as stale and keeps the first
# answer's two; nfit_rs keeps them all. The record holds what both find.
if [ "$driver" = c ]; then
	check first-answer-errors-found test "$(badblock_lines)" = 2
else
	check every-error-found test "$(badblock_lines)" = 5
fi
json badblocks badblocks_json 2

# 3. rmmod while a scrub runs: the work stops before the bus goes, and the
# driver comes back to a platform still busy with that scan. (Enabled
# regions hold the provider module: disabled first, as for any rmmod.)
require disable-regions ndctl disable-region all
scans=$(vmm_stat ars_scrubs)
check start-scrub-3 ndctl start-scrub
require scan-3-started wait_for 60 scans_reach $((scans + 1))
check busy-before-rmmod scrubbing
check rmmod-during-scrub rmmod "$(nfit_module)"
check module-gone test ! -d "/sys/module/$(nfit_module)"
check bus-gone test ! -e "$bus"
load_nfit 1
check pending-after-reload test "$(scrub_state)" = "0+"
check reload-pass-done wait_for 240 pass_over
check reload-one-pass test "$(scrub_state)" = 1
json reload-pass scrub_state
