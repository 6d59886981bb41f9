# SPDX-License-Identifier: GPL-2.0
# title: the main job: a namespace on a vNVDIMM, written, read back, listed
# drivers: c
# nvdimm: size=512M label-size=128K
# timeout: 180
#
# What 'make run' shows: the NFIT driver enumerates the DIMM, ndctl labels it,
# creates an fsdax namespace, a pattern goes through /dev/pmemN with O_DIRECT
# and comes back, and 'ndctl list' shows the result.

load_nfit 1
require init-labels sh -c 'ndctl disable-region all && ndctl init-labels -f nmem0 && ndctl enable-region all'
require create-namespace sh -c 'ndctl create-namespace -r region0 -m fsdax -s 128M >/tmp/ns.json'
cat /tmp/ns.json
dev=/dev/$(json_field blockdev </tmp/ns.json)
check write-pattern pattern fill "$dev" 64M 7
check read-back pattern verify "$dev" 64M 7
echo "--- ndctl list -BDRN"
ndctl list -BDRN
json list ndctl list -BDRN
