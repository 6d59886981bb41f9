# SPDX-License-Identifier: GPL-2.0
# title: the main job: a namespace on a vNVDIMM, written, read back, listed
# drivers: rust c
# nvdimm: size=512M label-size=128K
# timeout: 180
# min-checks: 8
#
# What 'make run' shows: the NFIT driver enumerates the DIMM, ndctl labels it,
# creates an fsdax namespace, a pattern goes through /dev/pmemN with O_DIRECT
# and comes back, and 'ndctl list' shows the result.

load_nfit 1
require init-labels sh -c 'ndctl disable-region all && ndctl init-labels -f nmem0 && ndctl enable-region all'
require create-namespace sh -c 'ndctl create-namespace -r region0 -m fsdax -s 128M >/tmp/ns.json'
cat /tmp/ns.json
dev=/dev/$(json_field blockdev </tmp/ns.json)
check write-pattern pattern fill "$dev" 64M 7 && wrote=yes
check read-back pattern verify "$dev" 64M 7 && read_back=yes
echo "--- ndctl list -BDRN"
ndctl list -BDRN
json list ndctl list -BDRN

# What the user just saw, read back from ndctl and sysfs.
bus=$(ndctl list -B | json_field provider)
dimm=$(ndctl list -D | json_field dev)
dimm_id=$(ndctl list -D | json_field id)
ns=$(json_field dev </tmp/ns.json)
ns_size=$(json_field size </tmp/ns.json)
echo "=== what you just saw"
echo "  driver:    $(nfit_module) (the $driver NFIT driver) registered bus $bus"
echo "  DIMM:      $dimm (id $dimm_id), labelled by ndctl init-labels"
echo "  namespace: $ns, mode fsdax, $((ns_size / 1048576)) MiB, block device $dev"
if [ "$wrote$read_back" = yesyes ]; then
	echo "  data:      64 MiB (67108864 bytes) written to $dev with O_DIRECT and read back identical"
else
	echo "  data:      the write or the read-back FAILED (see the checks above)"
fi
