# SPDX-License-Identifier: GPL-2.0
# title: NUMA: a region's numa_node and target_node come from the platform (two nodes with memory, one without)
# arch: x86_64 ppc64le
# drivers: c rust
# numa: 512M 512M 0
# nvdimm: size=256M label-size=128K node=1
# nvdimm: size=512M label-size=128K node=2
# timeout: 240
# min-checks: 10
#
# The guest has node 0 (RAM and the CPU), node 1 (RAM only) and node 2
# (neither: only the second DIMM is there). x86: QEMU's NFIT gives each
# SPA range its DIMM's node as proximity domain and its SRAT maps the
# domains; the drivers take numa_node from the nearest online node of the
# domain and target_node from the domain. pseries: each ibm,pmemory node
# has the DIMM's associativity; the drivers take the platform device's node
# and the nearest online one. The DIMM on node 1 is on an online node; the
# one on node 2 gets the nearest online node (0: without a distance table
# every remote node is as far) and keeps node 2 as its target.

load_provider 2
check nodes-online grep -qx 0-1 /sys/devices/system/node/online

# "numa_node target_node" of the region of SIZE bytes.
region_nodes() {
	for r in /sys/bus/nd/devices/region*; do
		[ "$(cat "$r/size")" = "$1" ] && echo "$(cat "$r/numa_node") $(cat "$r/target_node")"
	done
}
region_of() {
	for r in /sys/bus/nd/devices/region*; do
		[ "$(cat "$r/size")" = "$1" ] && basename "$r"
	done
}
check node1-region test "$(region_nodes 268435456)" = "1 1"
check node2-region-nearest-online test "$(region_nodes 536870912)" = "0 2"
json region-nodes sh -c 'printf "["; sep=; for s in 268435456 536870912; do for r in /sys/bus/nd/devices/region*; do [ "$(cat $r/size)" = $s ] && printf "%s{\"size\":%s,\"numa_node\":%s,\"target_node\":%s}" "$sep" $s $(cat $r/numa_node) $(cat $r/target_node) && sep=,; done; done; echo "]"'

# A namespace of the node-1 region is a device of node 1.
r1=$(region_of 268435456)
require init-labels sh -c 'ndctl disable-region all && ndctl init-labels -f all && ndctl enable-region all'
check ns-create sh -c "ndctl create-namespace -r $r1 -m raw -s 64M >/tmp/ns.json"
ns=$(json_field dev </tmp/ns.json)
check ns-node1 grep -qx 1 "/sys/bus/nd/devices/$ns/numa_node"
check ns-target-node1 grep -qx 1 "/sys/bus/nd/devices/$ns/target_node"
json ns-nodes sh -c "printf '{\"numa_node\":%s,\"target_node\":%s}\n' \$(cat /sys/bus/nd/devices/$ns/numa_node) \$(cat /sys/bus/nd/devices/$ns/target_node)"
check ns-destroy ndctl destroy-namespace -f "$ns"
