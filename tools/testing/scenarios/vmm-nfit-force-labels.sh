# SPDX-License-Identifier: GPL-2.0
# title: test VMM: a DIMM with _LSI and _LSR but no _LSW (label-methods=ro) is label-less by default and has read-only labels with force_labels=1, under the C nfit and the Rust nfit_rs driver
# platform: vmm
# drivers: c rust
# nvdimm: size=256M label-size=128K label-methods=ro
# timeout: 240
# min-checks: 37
#
# The DIMM speaks the Microsoft family and serves its label area through
# _LSI and _LSR only. As C's acpi_nfit_add_dimm(): without _LSW the labels
# are disabled (so the label-less namespace covering the DIMM stays
# reachable) unless force_labels=1, which enables reading them (GET_CONFIG
# SIZE and DATA) but not writing (no SET_CONFIG_DATA): a label write fails.

mod=$(nfit_module)
stats() { vmm_ctl '{"cmd":"stats"}' >/tmp/stats.json && cat /tmp/stats.json; }
# calls KEY: the VMM's call counter KEY ("1:LSR"), 0 if absent.
calls() {
	_c=$(sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" /tmp/stats.json)
	echo "${_c:-0}"
}
no_regions() { [ "$(count_regions)" -eq 0 ]; }
unload_now() { ndctl disable-region all && rmmod "$mod" && wait_for 30 no_regions; }
has_command() { tr ' ' '\n' </sys/bus/nd/devices/nmem0/commands | grep -qx "$1"; }
dimm_json() {
	printf '{"commands":"%s","family":"%s","force_labels":"%s"}\n' \
		"$(cat /sys/bus/nd/devices/nmem0/commands)" \
		"$(cat /sys/bus/nd/devices/nmem0/nfit/family)" \
		"$(cat /sys/module/"$mod"/parameters/force_labels)"
}

load_pmem_drivers

# 1. By default: no label commands, no label method called, and the
# DIMM's region has the label-less namespace covering it.
require load-default modprobe "$mod"
require regions-default wait_for 30 have_regions 1
check stats-default stats
check default-no-lsi test "$(calls 1:LSI)" -eq 0
check default-no-lsr test "$(calls 1:LSR)" -eq 0
check_not default-no-cfg-read has_command get_data
check default-param-read-only test "$(stat -c %a /sys/module/$mod/parameters/force_labels)" = 444
json dimm-default dimm_json
json namespaces-default ndctl list -N
check default-raw-namespace test "$(ndctl list -N | json_field mode)" = raw
check default-namespace-size test "$(ndctl list -N | json_field size)" = $((256 << 20))
require disable-default ndctl disable-region all
check_not default-no-labels ndctl read-labels nmem0 -o /tmp/labels.bin
require unload-default unload_now

# 2. force_labels=1: the labels are read through _LSI/_LSR; they cannot
# be written (the area is empty here, so the namespace stays label-less).
require reset-stats vmm_ctl '{"cmd":"reset-stats"}'
require load-forced modprobe "$mod" force_labels=1
require regions-forced wait_for 30 have_regions 1
check stats-forced stats
check forced-lsi test "$(calls 1:LSI)" -ge 1
check forced-lsr test "$(calls 1:LSR)" -ge 1
check forced-cfg-size has_command get_size
check forced-cfg-read has_command get_data
check_not forced-no-cfg-write has_command set_data
json dimm-forced dimm_json
json namespaces-forced ndctl list -N
check forced-namespace-size test "$(ndctl list -N | json_field size)" = $((256 << 20))
require disable-forced ndctl disable-region all
check forced-read-labels ndctl read-labels nmem0 -o /tmp/labels.bin
check forced-label-area-read test "$(stat -c %s /tmp/labels.bin)" = $((128 << 10))
check_not forced-label-write-fails ndctl zero-labels nmem0
check_not forced-init-labels-fails ndctl init-labels -f nmem0
check stats-after-write stats
check forced-no-lsw-call test "$(calls 1:LSW)" -eq 0
check enable-forced ndctl enable-region all
json namespaces-after-write ndctl list -N
require unload-forced unload_now
