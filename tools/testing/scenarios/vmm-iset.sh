# SPDX-License-Identifier: GPL-2.0
# title: test VMM: a 2-way interleave set of two DIMMs: one region, two mappings, C's cookie; labels one NFIT driver wrote on both DIMMs are read by the other, both ways, in one boot
# platform: vmm
# drivers: c rust
# vmm-args: --nvdimm path={dir}/set-a.img,size=256M,label-size=128K,set=1 --nvdimm path={dir}/set-b.img,size=256M,label-size=128K,set=1
# timeout: 420
# min-checks: 64
#
# The VMM describes one SPA range of 512 MiB over both DIMMs' persistent
# parts (memory device maps with 2 ways, region offsets 0 and 4 KiB, one
# interleave structure of 4 KiB lines); each DIMM keeps its own label area
# (vmm.rst, "Interleave sets"). The driver under test ("first") labels
# both DIMMs and writes a namespace; the other NFIT driver ("second": nfit_rs
# under c, nfit under rust) takes over in the same boot, finds it with its
# data, writes another; the first takes over again and finds both.
#
# The cookies of this set as C's acpi_nfit_init_interleave_set() computes
# them (tools/vmm's the_interleave_set_cookie_is_cs checks these two lines
# against tools/nfit's reference, for the table the VMM emits): cookie1
# for v1.1 labels (ndctl init-labels' default) and a region without
# labels, cookie2 for v1.2.
COOKIE1=0x91e2b2002478ad
COOKIE2=0x2565a7e002579b9

first=$(nfit_module)
case "$first" in
nfit) second=nfit_rs ;;
*) second=nfit ;;
esac
echo "--- first driver: $first, second: $second"

ns_named() { ndctl list -N | tr -d '\n' | tr '}' '\n' | grep "\"name\":\"$1\""; }
ns_mode_is() { ns_named "$1" | grep -q "\"mode\":\"$2\""; }
dev_of() { ns_named "$1" | json_field blockdev; }
set_cookie_is() { [ "$(cat /sys/bus/nd/devices/region0/set_cookie)" = "$1" ]; }
mapping_is() { [ "$(cat "/sys/bus/nd/devices/region0/mapping$1")" = "$2" ]; }
# labels_ok DIMM NAME POSITION [COOKIE]: DIMM has a label of namespace NAME
# at POSITION in the set, and every namespace label on it carries COOKIE
# (cookie1, that of v1.1 labels, unless given).
labels_ok() {
	ndctl read-labels -j "$1" 2>/dev/null | tr -d ' \n' | tr '{' '\n' | grep '"isetcookie":' >/tmp/labels
	grep "\"name\":\"$2\"" /tmp/labels | grep -q "\"position\":$3," &&
		! grep -v "\"isetcookie\":$((${4:-$COOKIE1}))," /tmp/labels
}
# The region as the NFIT driver registered it, for the records.
region_json() {
	_r=/sys/bus/nd/devices/region0
	printf '{"mappings":%s,"mapping0":"%s","mapping1":"%s","set_cookie":"%s","range_index":%s}\n' \
		"$(cat $_r/mappings)" "$(cat $_r/mapping0)" "$(cat $_r/mapping1)" \
		"$(cat $_r/set_cookie)" "$(cat $_r/nfit/range_index)"
}
swap_to() {
	ndctl disable-region all >/dev/null 2>&1
	rmmod "$1" && modprobe "$2" && wait_for 30 have_regions 1
}
set_checks() {
	check "$1-one-region" test "$(count_regions)" = 1
	check "$1-two-mappings" test "$(cat /sys/bus/nd/devices/region0/mappings)" = 2
	check "$1-mapping0" mapping_is 0 nmem0,0,268435456,0
	check "$1-mapping1" mapping_is 1 nmem1,0,268435456,1
	check "$1-region-size" test "$(cat /sys/bus/nd/devices/region0/size)" = 536870912
}

load_nfit 1
set_checks first
# Label areas without an index yet: the region's set_cookie is cookie2 (no
# v1.1 index; ndctl lists no iset_id for a region it cannot use yet).
check first-cookie-unlabelled set_cookie_is "$COOKIE2"
require init-labels sh -c 'ndctl disable-region all >/dev/null && ndctl init-labels -f nmem0 nmem1 && ndctl enable-region all >/dev/null'
check first-cookie-v1.1 set_cookie_is "$COOKIE1"
require create-first sh -c 'ndctl create-namespace -r region0 -m fsdax -s 128M -n by-first >/dev/null'
check write-first pattern fill "/dev/$(dev_of by-first)" 32M 3101
check first-iset-id sh -c "ndctl list -R | grep -q '\"iset_id\":$((COOKIE1)),'"
check first-labels-nmem0 labels_ok nmem0 by-first 0
check first-labels-nmem1 labels_ok nmem1 by-first 1
# The labels themselves, the same whichever driver wrote them.
json labels-nmem0-by-first ndctl read-labels -j nmem0
json labels-nmem1-by-first ndctl read-labels -j nmem1
json list-by-first ndctl list -RN
json region-by-first region_json

require "swap-to-$second" swap_to "$first" "$second"
set_checks second
check second-cookie set_cookie_is "$COOKIE1"
check second-labels-valid ndctl check-labels nmem0 nmem1
check second-finds-first ns_mode_is by-first fsdax
check second-reads-first pattern verify "/dev/$(dev_of by-first)" 32M 3101
require create-second sh -c 'ndctl create-namespace -r region0 -m sector -s 64M -n by-second >/dev/null'
check write-second pattern fill "/dev/$(dev_of by-second)" 16M 3202
check second-labels-nmem0 labels_ok nmem0 by-second 0
check second-labels-nmem1 labels_ok nmem1 by-second 1
check second-keeps-first-nmem1 labels_ok nmem1 by-first 1
json labels-nmem0-by-second ndctl read-labels -j nmem0
json labels-nmem1-by-second ndctl read-labels -j nmem1
json list-by-second ndctl list -RN
json region-by-second region_json

require "swap-back-to-$first" swap_to "$second" "$first"
set_checks again
check again-labels-valid ndctl check-labels nmem0 nmem1
check again-finds-first ns_mode_is by-first fsdax
check again-reads-first pattern verify "/dev/$(dev_of by-first)" 32M 3101
check again-finds-second ns_mode_is by-second sector
check again-reads-second pattern verify "/dev/$(dev_of by-second)" 16M 3202
check again-iset-id sh -c "ndctl list -R | grep -q '\"iset_id\":$((COOKIE1)),'"
json both-again ndctl list -DRN
check destroy-all ndctl destroy-namespace -f all -r region0

# v1.2 labels carry cookie2: the same round trip, one namespace each way.
require init-labels-v1.2 sh -c 'ndctl disable-region all >/dev/null && ndctl init-labels -f -V 1.2 nmem0 nmem1 && ndctl enable-region all >/dev/null'
check v1.2-cookie set_cookie_is "$COOKIE2"
require create-v1.2 sh -c 'ndctl create-namespace -r region0 -m fsdax -s 64M -n v12-first >/dev/null'
check write-v1.2 pattern fill "/dev/$(dev_of v12-first)" 16M 3303
check v1.2-labels-nmem0 labels_ok nmem0 v12-first 0 "$COOKIE2"
check v1.2-labels-nmem1 labels_ok nmem1 v12-first 1 "$COOKIE2"
require "v1.2-swap-to-$second" swap_to "$first" "$second"
check v1.2-second-cookie set_cookie_is "$COOKIE2"
check v1.2-second-reads-first pattern verify "/dev/$(dev_of v12-first)" 16M 3303
json v1.2-labels-nmem1 ndctl read-labels -j nmem1
check v1.2-destroy ndctl destroy-namespace -f all -r region0
