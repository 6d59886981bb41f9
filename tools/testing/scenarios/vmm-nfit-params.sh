# SPDX-License-Identifier: GPL-2.0
# title: test VMM: the C nfit's module parameters (no_init_ars, override_dsm_mask, disable_vendor_specific, default_dsm_family with the family slot that has no GUID, no_init_ars written at run time) and region nfit/range_index under the C nfit and the Rust nfit_rs driver
# platform: vmm
# vmm-args: --ars
# drivers: c rust
# nvdimm: size=256M label-size=128K label-methods=both zero-uuid=on
# nvdimm: size=256M label-size=128K label-methods=on zero-uuid=on
# timeout: 300
# min-checks: 78
#
# The driver is loaded several times in one boot, each time with other
# parameters. DIMM 1 (handle 1) is of the Intel family with labels through
# _DSM 4-6 and also has _LSI/_LSR/_LSW; DIMM 2 (handle 2) is of the
# Microsoft family with labels through the methods only. The VMM counts ARS
# starts (full scans and "return previous data" starts) and label method
# calls. Both DIMMs also answer function 0 of the all-zero UUID: the C
# driver's family probe asks it for the slot of NVDIMM_FAMILY_PAPR (5),
# which nfit has no GUID for. It comes last, so it changes nothing by
# default; with default_dsm_family=5 it wins and both DIMMs end up with no
# family (C knows no functions of it) and so no labels.

mod=$(nfit_module)
stats() { vmm_ctl '{"cmd":"stats"}' >/tmp/stats.json && cat /tmp/stats.json; }
# counter KEY: a numeric counter of the last stats, 0 if absent.
counter() {
	_c=$(sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" /tmp/stats.json)
	echo "${_c:-0}"
}
# delta KEY: how much counter KEY grew since `mark` (reset-stats leaves
# the ARS counters alone).
mark() { stats >/dev/null && cp /tmp/stats.json /tmp/stats.mark; }
delta() {
	_b=$(sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" /tmp/stats.mark)
	echo $(($(counter "$1") - ${_b:-0}))
}
no_regions() { [ "$(count_regions)" -eq 0 ]; }
# load TAG PARAMS...: loads the driver with PARAMS, waits for both regions.
load() {
	_tag=$1
	shift
	require "load-$_tag" modprobe "$mod" "$@"
	require "regions-$_tag" wait_for 30 have_regions 2
}
unload_now() { ndctl disable-region all && rmmod "$mod" && wait_for 30 no_regions; }
unload() { require "unload-$1" unload_now; }
# mask_of HANDLE: nfit/dsm_mask of the DIMM with that NFIT handle.
mask_of() {
	for d in /sys/bus/nd/devices/nmem*; do
		[ "$(cat "$d/nfit/handle")" = "$1" ] && cat "$d/nfit/dsm_mask"
	done
}
# The DIMMs' family, function mask and commands, keyed by NFIT handle (the
# nmemN names are not the drivers' to choose).
dimms_json() {
	_sep=
	printf '{'
	for d in /sys/bus/nd/devices/nmem*; do
		_h=$(cat "$d/nfit/handle") || return 1
		_f=$(cat "$d/nfit/family" 2>/dev/null || echo none)
		_m=$(cat "$d/nfit/dsm_mask" 2>/dev/null || echo none)
		_cmds=$(cat "$d/commands") || return 1
		printf '%s"%s":{"family":"%s","dsm_mask":"%s","commands":"%s"}' \
			"$_sep" "$_h" "$_f" "$_m" "$_cmds"
		_sep=,
	done
	echo '}'
}
# Each region's nfit/range_index, keyed by its start address.
ranges_json() {
	_sep=
	printf '{'
	for r in /sys/bus/nd/devices/region*; do
		_i=$(cat "$r/nfit/range_index") || return 1
		printf '%s"%s":%s' "$_sep" "$(cat "$r/resource")" "$_i"
		_sep=,
	done
	echo '}'
}

load_pmem_drivers

# 1. Defaults: a full scan at probe; range_index as C's.
require mark-defaults mark
load defaults
check wait-scrub ndctl wait-scrub
check stats-defaults stats
check default-scans-media test "$(delta ars_scrubs)" -ge 1
check range-index-readable cat /sys/bus/nd/devices/region0/nfit/range_index
check range-index-read-only sh -c '! echo 1 >/sys/bus/nd/devices/region0/nfit/range_index'
json range-index ranges_json
json dimms-default dimms_json
unload defaults

# 2. no_init_ars=1: no scan of the media, only the previous scan's records.
require mark-no-init mark
load no-init no_init_ars=1
check wait-scrub-no-init ndctl wait-scrub
check stats-no-init stats
check no-init-no-scan test "$(delta ars_scrubs)" -eq 0
check no-init-previous-data test "$(delta ars_short_starts)" -ge 1
json no-init-ars sh -c "echo '{\"ars_scrubs\":$(delta ars_scrubs)}'"
# A scan on request still scans.
require mark-requested mark
check no-init-start-scrub sh -c 'ndctl start-scrub && ndctl wait-scrub'
check stats-requested stats
check requested-scan test "$(delta ars_scrubs)" -ge 1
unload no-init

# 3. override_dsm_mask=0x30 (functions 4 and 5 only): the Intel DIMM's
# candidate mask lacks label write, so its labels go through the methods.
require mark-override mark
load override override_dsm_mask=0x30
json dimms-override dimms_json
check override-limits-mask test "$(mask_of 0x1)" = 0x30
check stats-override stats
check override-uses-label-methods test "$(delta 1:LSR)" -ge 1
unload override

# 4. disable_vendor_specific=1 makes C ignore override_dsm_mask.
load no-vendor override_dsm_mask=0x30 disable_vendor_specific=1
json dimms-no-vendor dimms_json
check no-vendor-ignores-override test "$(mask_of 0x1)" = 0x70
unload no-vendor

# 5. default_dsm_family naming a family no DIMM answers twice: no change.
load default-family default_dsm_family=3
json dimms-default-family dimms_json
unload default-family

# 5b. default_dsm_family=5: the slot without a GUID wins on both DIMMs,
# which get no family, no functions and no label commands.
load papr-slot default_dsm_family=5
json dimms-papr-slot dimms_json
check papr-slot-no-family sh -c '! cat /sys/bus/nd/devices/nmem0/nfit/family'
check papr-slot-no-labels sh -c '! grep -q get_size /sys/bus/nd/devices/nmem*/commands'
unload papr-slot

# 6. A malformed value is refused and leaves the driver unloaded.
check_not bad-value-refused modprobe "$mod" default_dsm_family=three
check bad-value-not-loaded sh -c "! grep -q '^$mod ' /proc/modules"

# 7. The parameters a module was loaded with, read back from sysfs as C
# shows them, with C's permissions: no_init_ars and force_enable_dimms are
# writable, the others read-only.
params="default_dsm_family disable_vendor_specific force_enable_dimms force_labels no_init_ars override_dsm_mask"
# each_param CMD...: {"<parameter>":"<CMD's output for its sysfs file>",...}
each_param() {
	_sep=
	printf '{'
	for p in $params; do
		printf '%s"%s":"%s"' "$_sep" "$p" "$("$@" "/sys/module/$mod/parameters/$p")" || return 1
		_sep=,
	done
	echo '}'
}
params_json() { each_param cat; }
perms_json() { each_param stat -c %a; }
load shown override_dsm_mask=0x30 disable_vendor_specific=1 no_init_ars=1 default_dsm_family=3
json params-shown params_json
json params-perms perms_json
check no-init-ars-writable test "$(stat -c %a /sys/module/$mod/parameters/no_init_ars)" = 644
check_not params-not-writable sh -c "echo 0 >/sys/module/$mod/parameters/override_dsm_mask"
check_not bad-write-refused sh -c "echo maybe >/sys/module/$mod/parameters/no_init_ars"
check bad-write-kept grep -qx Y /sys/module/"$mod"/parameters/no_init_ars
unload shown

# 8. no_init_ars written at run time takes effect at the next probe:
# binding the root device again scans, or not, as the value says.
# rebind: unbinds the NFIT driver from the root device and binds it again.
rebind() {
	_root=$(basename "$(nfit_root)")
	for _d in /sys/module/"$mod"/drivers/platform:*; do
		echo "$_root" >"$_d/unbind" && wait_for 30 no_regions &&
			echo "$_root" >"$_d/bind" || return 1
	done
	wait_for 30 have_regions 2
}
load written
check wait-scrub-written ndctl wait-scrub
require write-no-init-ars sh -c "echo 1 >/sys/module/$mod/parameters/no_init_ars"
check written-shown grep -qx Y /sys/module/"$mod"/parameters/no_init_ars
require mark-written mark
require rebind-no-init rebind
check wait-scrub-rebound ndctl wait-scrub
check stats-rebound stats
check written-no-scan test "$(delta ars_scrubs)" -eq 0
check written-previous-data test "$(delta ars_short_starts)" -ge 1
json written-no-init-ars sh -c "echo '{\"ars_scrubs\":$(delta ars_scrubs)}'"
require write-init-ars sh -c "echo N >/sys/module/$mod/parameters/no_init_ars"
require mark-rewritten mark
require rebind-init rebind
check wait-scrub-rewritten ndctl wait-scrub
check stats-rewritten stats
check rewritten-scans test "$(delta ars_scrubs)" -ge 1
unload written
