# SPDX-License-Identifier: GPL-2.0
# title: test VMM: label storage methods _LSI/_LSR/_LSW (label-methods=on, Intel _DSM without functions 4-6) and label-methods=both (the _DSM is preferred): labels, a namespace across a driver reload, faults on _LSR, calls counted per method
# platform: vmm
# drivers: c rust
# nvdimm: size=256M label-size=128K label-methods=on
# nvdimm: size=256M label-size=128K label-methods=both
# timeout: 360
# min-checks: 38
#
# DIMM 1 (nmem0) serves its labels through the ACPI label methods only: its
# Intel _DSM function 0 lists no label function. DIMM 2 (nmem1) has both;
# a driver that prefers the _DSM (as C nfit does) must not call the methods.
# The VMM counts method calls as "HANDLE:LSI/LSR/LSW" and _DSM calls as
# "HANDLE:FUNCTION" in its stats.

stats() { vmm_ctl '{"cmd":"stats"}' >/tmp/stats.json; cat /tmp/stats.json; }
# calls KEY: the VMM's call counter KEY ("1:LSR"), 0 if absent.
calls() {
	_c=$(sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" /tmp/stats.json)
	echo "${_c:-0}"
}
positive() { [ "$(calls "$1")" -gt 0 ]; }
zero() { [ "$(calls "$1")" = 0 ]; }
read_labels() { ndctl read-labels "$1" -o /tmp/labels.bin; }
region_of() { ndctl list -R -d "$1" | json_field dev; }
faults_consumed() { vmm_ctl '{"cmd":"stats"}' | grep -q '"faults_armed":0'; }
data_back() { pattern verify "/dev/$(ndctl list -N -r "$r0" | json_field blockdev)" 8M 7; }

load_nfit 2
check dimm-order test "$(ndctl list -D -d nmem0 | json_field handle)" = 1
require init-labels sh -c 'ndctl disable-region all && ndctl init-labels -f nmem0 nmem1 && ndctl enable-region all'
check labels-valid-0 ndctl check-labels nmem0
check labels-valid-1 ndctl check-labels nmem1
stats
# DIMM 1: the methods, never the _DSM's label functions.
check methods-lsi positive 1:LSI
check methods-lsr positive 1:LSR
check methods-lsw positive 1:LSW
check no-dsm-4 zero 1:4
check no-dsm-5 zero 1:5
check no-dsm-6 zero 1:6
# DIMM 2 (both): the _DSM, never the methods.
check both-dsm-5 positive 2:5
check both-dsm-6 positive 2:6
check both-no-lsr zero 2:LSR
check both-no-lsw zero 2:LSW
check label-bytes-written sh -c 'grep -q "\"label_bytes_written\":[1-9]" /tmp/stats.json'

# A namespace whose label lives in DIMM 1's label area (written by _LSW),
# data written, then the driver reloaded: the labels are read back (_LSR).
r0=$(region_of nmem0)
require create-fsdax sh -c "ndctl create-namespace -r $r0 -m fsdax -s 64M >/tmp/ns.json"
cat /tmp/ns.json
# What ndctl sees is the same under either driver (the VMM's call counts
# are not: C probes the MSFT family's functions one by one).
json bdrn ndctl list -BDRN
# DIMM 1 speaks the MSFT family (3) and offers none of its functions;
# DIMM 2 the Intel family (0) with the label functions 4-6.
check nmem0-family grep -qx 3 /sys/bus/nd/devices/nmem0/nfit/family
check nmem0-dsm-mask grep -qx 0x0 /sys/bus/nd/devices/nmem0/nfit/dsm_mask
check nmem1-family grep -qx 0 /sys/bus/nd/devices/nmem1/nfit/family
check nmem1-dsm-mask-labels sh -c '[ $(($(cat /sys/bus/nd/devices/nmem1/nfit/dsm_mask) & 0x70)) = $((0x70)) ]'
cat /sys/bus/nd/devices/nmem*/nfit/dsm_mask
uuid=$(json_field uuid </tmp/ns.json)
dev=/dev/$(json_field blockdev </tmp/ns.json)
check write pattern fill "$dev" 8M 7
vmm_ctl '{"cmd":"reset-stats"}' >/dev/null
ndctl disable-region all >/dev/null
check unload rmmod "$(nfit_module)"
check reload modprobe "$(nfit_module)"
check regions-back wait_for 30 have_regions 2
check namespace-back wait_for 30 sh -c "ndctl list -N -r $r0 | grep -q $uuid"
check data-back data_back
stats
check reload-read-by-lsr positive 1:LSR
check reload-no-dsm-5 zero 1:5

# Faults keyed by function 5 hit _LSR: an error status, and a short answer
# (the AML turns it into a failure status, never an AML error).
require arm-status vmm_ctl '{"cmd":"fault","dimm":1,"function":5,"status":4,"count":1}'
check_not lsr-error-fails read_labels nmem0
require arm-short vmm_ctl '{"cmd":"fault","dimm":1,"function":5,"short":100,"count":1}'
check_not lsr-short-fails read_labels nmem0
check lsr-after-faults read_labels nmem0
check faults-consumed faults_consumed
stats
