# SPDX-License-Identifier: GPL-2.0
# title: test VMM: _DSM fault injection under the C nfit and the Rust nfit_rs driver: error statuses, busy answers, short transfers, torn label writes, delays, a VMM timeout, a failing label-size call at probe (the DIMM disabled, under both)
# platform: vmm
# drivers: c rust
# nvdimm: size=256M label-size=128K
# timeout: 360
# min-checks: 40
# min-checks[c]: 42
#
# The guest arms each fault itself through the VMM's control protocol
# (over its results port), runs the ndctl operation the fault hits, and
# checks that it fails cleanly (or survives, for delays) and that the
# DIMM works again once the fault is cleared. finish's dmesg-clean check
# asserts that no fault produced a warning, oops or BUG.

labels_ok() { ndctl check-labels nmem0; }
read_labels() { ndctl read-labels nmem0 -o /tmp/labels.bin; }
no_faults_armed() { vmm_ctl '{"cmd":"stats"}' | grep -q '"faults_armed":0'; }
relabel() { ndctl disable-region all && ndctl init-labels -f nmem0 && ndctl enable-region all; }

load_nfit 1
require init-labels relabel
check baseline-read read_labels
json baseline ndctl list -BDRN

# 1. An error status on label reads: the read fails with an error.
require arm-status vmm_ctl '{"cmd":"fault","dimm":1,"function":5,"status":4}'
check_not status-read-fails read_labels
check clear-status vmm_ctl '{"cmd":"clear-faults"}'
check read-after-status read_labels

# 1b. A busy answer (status 5, "retry suggested"): the C driver does not
#     retry; the read fails like any other error status.
require arm-busy vmm_ctl '{"cmd":"fault","dimm":1,"function":5,"status":5,"count":1}'
check_not busy-read-fails read_labels
check read-after-busy read_labels

# 2. A short transfer (the VMM answers 100 bytes instead of 4 + length).
#    Baseline: the C nfit driver passes the short buffer on without an
#    error, so ndctl "reads" labels whose tail is lost; nfit_rs checks the
#    answer's length and fails the read.
cp /tmp/labels.bin /tmp/good.bin
require arm-short vmm_ctl '{"cmd":"fault","dimm":1,"function":5,"short":100}'
if [ "$driver" = c ]; then
	check short-read-not-reported-by-c read_labels
	check_not short-read-data-differs cmp -s /tmp/good.bin /tmp/labels.bin
else
	check_not short-read-fails read_labels
fi
vmm_ctl '{"cmd":"clear-faults"}'
check read-after-short read_labels
check data-back-after-short cmp /tmp/good.bin /tmp/labels.bin

# 3. A torn label write: 64 bytes land, then a hardware error status.
#    Baseline: ndctl init-labels still reports success under the C
#    driver; the other index block keeps the label area valid. nfit_rs
#    reports the failed write, so init-labels fails.
require arm-torn vmm_ctl '{"cmd":"fault","dimm":1,"function":6,"torn":64,"count":1}'
if [ "$driver" = c ]; then
	check torn-write-not-reported relabel
	check labels-valid-after-torn labels_ok
else
	check_not torn-write-reported relabel
	ndctl enable-region all >/dev/null 2>&1
fi
check relabel-after-torn relabel

# 4. Delays: the AML polls with Stall, then Sleep; a slow answer is still an answer.
require arm-delay vmm_ctl '{"cmd":"fault","dimm":1,"function":5,"delay_ms":700,"count":1}'
check delayed-read-succeeds read_labels
check delayed-data-same cmp /tmp/good.bin /tmp/labels.bin
check delay-consumed no_faults_armed

# 5. A VMM that does not answer: the AML gives up (Stall, then Sleep(1)
#    until 12 s have passed on ACPI's Timer) and returns status 4; the VMM drops its late
#    answer, and the next call is served.
require arm-timeout vmm_ctl '{"cmd":"fault","dimm":1,"function":5,"delay_ms":30000,"count":1}'
check_not timed-out-read-fails read_labels
check read-after-timeout wait_for 30 read_labels
check data-after-timeout cmp /tmp/good.bin /tmp/labels.bin

# 6. Label size failing while the driver probes: the DIMM lists its label
#    commands, and the core's probe of it fails on the size (-EIO), so the
#    DIMM is disabled ('ndctl list -D' leaves it out) and its region has no
#    namespace over data the labels may describe; the same under both.
ndctl disable-region all >/dev/null
rmmod "$(nfit_module)"
require arm-probe-fault vmm_ctl '{"cmd":"fault","dimm":1,"function":4,"status":4}'
check probe-with-fault modprobe "$(nfit_module)"
check dimm-still-listed wait_for 30 have_regions 1
check dimm-probe-failed sh -c '! ndctl list -D | grep -q nmem0'
check dimm-has-label-commands grep -q get_size /sys/bus/nd/devices/nmem0/commands
json probe-fault ndctl list -DRi
check_not labels-unreadable-at-probe read_labels
vmm_ctl '{"cmd":"clear-faults"}'
ndctl disable-region all >/dev/null
rmmod "$(nfit_module)"
check reprobe-clean modprobe "$(nfit_module)"
check labels-back wait_for 30 labels_ok
json reprobed ndctl list -BDR

# 7. The VMM counted what it injected, and the answer it dropped.
vmm_ctl '{"cmd":"stats"}' >/tmp/stats.json
cat /tmp/stats.json
# nfit_rs stops a short read at the first short answer; C reads on (one
# more injected fault).
min_faults=8
[ "$driver" = c ] || min_faults=7
check faults-were-injected sh -c "[ \"\$(sed -n 's/.*\"faults_injected\":\([0-9]*\).*/\1/p' /tmp/stats.json)\" -ge $min_faults ]"
check no-fault-left sh -c 'grep -q "\"faults_armed\":0" /tmp/stats.json'
check late-answer-dropped sh -c 'grep -q "\"abandoned\":1" /tmp/stats.json'
