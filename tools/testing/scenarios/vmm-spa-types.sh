# SPDX-License-Identifier: GPL-2.0
# title: test VMM: every SPA range type (volatile memory mapped by a DIMM, a persistent virtual disk, a volatile virtual CD) registered as C registers them, and force_enable_dimms for a DIMM without its ACPI device, under the C nfit and the Rust nfit_rs driver
# platform: vmm
# drivers: c rust
# nvdimm: size=256M
# vmm-args: --ars --nvdimm path={dir}/hidden.img,size=128M,acpi-device=off --spa volatile,dimm=1,path={dir}/volatile.img,size=64M --spa pdisk,path={dir}/pdisk.img,size=16M --spa vcd,path={dir}/vcd.img,size=4M
# timeout: 300
# min-checks: 40
#
# DIMM 1 (handle 1, label-less) maps its persistent range and, past it, a
# volatile range; DIMM 2 (handle 2) is in the NFIT only: the SSDT has no
# device with its _ADR. A persistent virtual disk and a volatile virtual
# CD are mapped by no DIMM. Both drivers leave DIMM 2 out ("disabling"),
# so its persistent range has no DIMM and the probe fails; with
# force_enable_dimms=1 (given at load, or written at run time before the
# root device is bound again) DIMM 2 is registered without an ACPI device and
# there are five regions: two pmem, the volatile one (DIMM 1), the virtual
# disk (pmem, no mappings) and the virtual CD (volatile, no mappings).

mod=$(nfit_module)
# attrs_json DIR NAME...: the attributes NAME of DIR as one JSON object
# ("-" for one that cannot be read).
attrs_json() {
	_d=$1
	shift
	_sep='{'
	for _a in "$@"; do
		_v=$(cat "$_d/$_a" 2>/dev/null | tr -d '\n') || _v=-
		printf '%s"%s":"%s"' "$_sep" "$_a" "${_v:--}"
		_sep=,
	done
	echo '}'
}
# region_of_range INDEX: the region of the SPA range with that index.
region_of_range() {
	for _r in /sys/bus/nd/devices/region*; do
		[ "$(cat "$_r/nfit/range_index")" = "$1" ] && basename "$_r" && return 0
	done
	return 1
}
# bind_root: binds the NFIT driver to the ACPI NVDIMM root device.
bind_root() {
	for _d in /sys/module/"$mod"/drivers/platform:*; do
		basename "$(nfit_root)" >"$_d/bind" || return 1
	done
}
# blockdev REGION: the block device of the region's raw namespace.
blockdev_of() { ndctl list -N -r "$1" | json_field blockdev; }

# 1. Without force_enable_dimms: DIMM 2 is left out and its range's
#    region fails, so the whole probe does (C and Rust alike).
load_pmem_drivers
check modprobe-plain modprobe "$mod"
check probe-settled-plain wait_for 30 nfit_probe_settled
check_not bound-without-force nfit_bound
check disabling-logged sh -c 'dmesg | grep -q "no ACPI.NFIT device with _ADR 0x2, disabling"'
check no-bus-without-force sh -c '[ -z "$(ls /sys/bus/nd/devices/ | grep ndbus)" ]'
# force_enable_dimms is writable (0644, as in C) and read at each probe:
# written now, it lets binding the root device again register DIMM 2.
check force-writable test "$(stat -c %a /sys/module/"$mod"/parameters/force_enable_dimms)" = 644
require force-written sh -c "echo 1 >/sys/module/$mod/parameters/force_enable_dimms"
check force-written-shown grep -qx Y /sys/module/"$mod"/parameters/force_enable_dimms
require bind-forced bind_root
require regions-forced-at-run-time wait_for 30 have_regions 5
check probe-settled-forced wait_for 30 nfit_probe_settled
json dimms-forced-at-run-time ndctl list -D
require rmmod-plain sh -c "ndctl disable-region all && rmmod $mod"

# 2. force_enable_dimms=1: every range as C registers it.
require modprobe-force modprobe "$mod" force_enable_dimms=1
require regions-force wait_for 30 have_regions 5
check probe-settled-force wait_for 30 nfit_probe_settled
check param-shown grep -qx Y /sys/module/"$mod"/parameters/force_enable_dimms
json dimms ndctl list -D
json regions ndctl list -R
json namespaces ndctl list -N
json hidden-dimm-nfit attrs_json /sys/bus/nd/devices/nmem1 nfit/handle nfit/family nfit/dsm_mask nfit/flags nfit/id commands
json dimm1-nfit attrs_json /sys/bus/nd/devices/nmem0 nfit/handle nfit/family nfit/dsm_mask commands
rv=$(region_of_range 100)
rd=$(region_of_range 101)
rc=$(region_of_range 102)
echo "volatile $rv, virtual disk $rd, virtual CD $rc"
check volatile-one-mapping grep -qx 1 /sys/bus/nd/devices/"$rv"/mappings
check volatile-region-dimm grep -q '^nmem0,' /sys/bus/nd/devices/"$rv"/mapping0
check vdisk-no-mappings grep -qx 0 /sys/bus/nd/devices/"$rd"/mappings
check vcd-no-mappings grep -qx 0 /sys/bus/nd/devices/"$rc"/mappings
# ndctl calls every memory region "pmem": the kernel's device type tells.
devtype() { sed -n 's/^DEVTYPE=//p' /sys/bus/nd/devices/"$1"/uevent; }
check volatile-devtype test "$(devtype "$rv")" = nd_volatile
check vdisk-devtype test "$(devtype "$rd")" = nd_pmem
check vcd-devtype test "$(devtype "$rc")" = nd_volatile
json region-devtypes sh -c "printf '{\"volatile\":\"%s\",\"pdisk\":\"%s\",\"vcd\":\"%s\"}\n' $(devtype "$rv") $(devtype "$rd") $(devtype "$rc")"
json volatile-attrs attrs_json /sys/bus/nd/devices/"$rv" size mappings nfit/range_index numa_node persistence_domain

# 3. The volatile region's namespace is usable: a raw namespace as on
#    every label-less region, reconfigured to fsdax as C allows.
dv=/dev/$(blockdev_of "$rv")
check volatile-write pattern fill "$dv" 64M 17
check volatile-read pattern verify "$dv" 64M 17
ns=$(ndctl list -N -r "$rv" | json_field dev)
check volatile-fsdax sh -c "ndctl create-namespace -f -e $ns -m fsdax >/tmp/fsdax.json"
cat /tmp/fsdax.json
json volatile-fsdax-namespace ndctl list -N -r "$rv"
df=/dev/$(json_field blockdev </tmp/fsdax.json)
check fsdax-write pattern fill "$df" 16M 23
check fsdax-read pattern verify "$df" 16M 23
dd=/dev/$(blockdev_of "$rd")
check vdisk-write pattern fill "$dd" 16M 29
check vdisk-read pattern verify "$dd" 16M 29
