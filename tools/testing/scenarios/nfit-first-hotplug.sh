# SPDX-License-Identifier: GPL-2.0
# title: first NVDIMM hotplug on x86: booted without an NFIT (QEMU's nvdimm=on builds the root device and _FIT only), the NFIT driver binds without a bus (unbind and rebind included); the first hot-added DIMM brings the bus, DIMM and region (labels, an fsdax namespace written and read back); two more DIMMs hot-added back to back are registered
# drivers: c rust
# timeout: 420
# min-checks: 30

nd_devices() { ls /sys/bus/nd/devices | wc -l; }
no_nd_devices() { [ "$(nd_devices)" = 0 ]; }
dimm_count() { ndctl list -D | grep -c '"dev":"nmem'; }
have_dimms() { [ "$(dimm_count)" = "$1" ]; }
nfit_unbound() { _r=$(nfit_root) && [ -n "$_r" ] && [ ! -e "$_r/driver" ]; }

load_pmem_drivers
# QEMU (nvdimm=on, memory slots) describes the NVDIMM root device and its
# _FIT in an SSDT, and builds the NFIT only for DIMMs present at boot.
check no-static-nfit test ! -e /sys/firmware/acpi/tables/NFIT
require root-device nfit_root
require "load-$(nfit_module)" modprobe "$(nfit_module)"
check bound-without-nfit nfit_bound
check no-bus-without-nfit no_nd_devices
json bound-without-bus sh -c 'echo "{\"nd_devices\":$(ls /sys/bus/nd/devices | wc -l)}"'
# Unbinding a driver that has no bus, and binding it again.
check unload-without-bus rmmod "$(nfit_module)"
check unbound nfit_unbound
check reload-without-bus modprobe "$(nfit_module)"
check rebound-without-nfit nfit_bound
check still-no-bus no_nd_devices

# The first DIMM: its _FIT notification creates the bus.
hotplug_nvdimm size=256M label-size=128K
check first-region-appears wait_for 60 have_regions 1
check first-dimm-listed have_dimms 1
json first-bus sh -c 'cat /sys/bus/nd/devices/ndbus0/nfit/revision /sys/bus/nd/devices/ndbus0/nfit/dsm_mask | { read -r rev; read -r mask; echo "{\"revision\":$rev,\"dsm_mask\":\"$mask\",\"provider\":\"$(cat /sys/bus/nd/devices/ndbus0/provider)\"}"; }'
json first-hotplug ndctl list -BDR
check first-dimm-labels sh -c "ndctl disable-region region0 && ndctl init-labels -f nmem0 && ndctl enable-region region0"
check first-namespace sh -c "ndctl create-namespace -r region0 -m fsdax -s 64M >/tmp/first.json"
cat /tmp/first.json
first_dev=/dev/$(json_field blockdev </tmp/first.json)
check first-namespace-write pattern fill "$first_dev" 16M 41
check first-namespace-read-back pattern verify "$first_dev" 16M 41

# Two more, back to back (QEMU raises a notification for each; the driver
# may find both in one _FIT).
hotplug_nvdimm size=256M label-size=128K
hotplug_nvdimm size=256M label-size=128K
check more-regions-appear wait_for 60 have_regions 3
check three-dimms-listed have_dimms 3
check handles-in-order sh -c '[ "$(cat /sys/bus/nd/devices/nmem[012]/nfit/handle | tr "\n" " ")" = "0x1 0x2 0x3 " ]'
for n in 1 2; do
	r=$(ndctl list -R -d nmem$n | json_field dev)
	check "dimm$n-labels" sh -c "ndctl disable-region $r && ndctl init-labels -f nmem$n && ndctl enable-region $r"
	check "dimm$n-namespace" sh -c "ndctl create-namespace -r $r -m fsdax -s 64M >/tmp/ns$n.json"
	cat /tmp/ns$n.json
	d=/dev/$(json_field blockdev </tmp/ns$n.json)
	check "dimm$n-namespace-write" pattern fill "$d" 16M $((41 + n))
	check "dimm$n-namespace-read-back" pattern verify "$d" 16M $((41 + n))
done
check first-namespace-still-reads pattern verify "$first_dev" 16M 41
# Which region (and namespace) name a DIMM's range gets depends on whether
# the driver found both DIMMs in one _FIT (then in _FIT's order) or in two,
# a matter of timing under C as under Rust: the record lists the DIMMs and
# the regions by the DIMM they map, not by name.
regions_by_dimm() {
	for r in /sys/bus/nd/devices/region*; do
		echo "$(cat "$r/mapping0") $(cat "$r/size") $(cat "$r/set_cookie")"
	done | sort | awk 'BEGIN { printf "[" }
		{ printf "%s{\"mapping0\":\"%s\",\"size\":%s,\"set_cookie\":\"%s\"}", (NR > 1 ? "," : ""), $1, $2, $3 }
		END { print "]" }'
}
json after-hotplugs-dimms ndctl list -D
json after-hotplugs-regions regions_by_dimm
# The bus goes with the driver.
require disable-all ndctl disable-region all
check unload-with-bus rmmod "$(nfit_module)"
check bus-gone no_nd_devices
