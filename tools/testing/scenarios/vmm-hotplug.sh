# SPDX-License-Identifier: GPL-2.0
# title: test VMM: NVDIMM hotplug (QMP pc-dimm device_add, GED interrupt, Notify 0x80, _FIT from the VMM): the new DIMM and region appear and take a namespace
# platform: vmm
# drivers: c rust
# nvdimm: size=512M label-size=128K
# timeout: 300

load_nfit 1
hotplug_nvdimm size=256M label-size=128K
check new-region-appears wait_for 60 have_regions 2
check new-dimm-listed sh -c '[ "$(ndctl list -D | grep -c "\"dev\":\"nmem")" = 2 ]'
r=$(ndctl list -R -d nmem1 | json_field dev)
check new-dimm-labels sh -c "ndctl disable-region $r && ndctl init-labels -f nmem1 && ndctl enable-region $r"
check new-region-namespace sh -c "ndctl create-namespace -r $r -m fsdax -s 64M >/tmp/hp.json"
cat /tmp/hp.json
dev=/dev/$(json_field blockdev </tmp/hp.json)
check new-namespace-write pattern fill "$dev" 16M 31
check new-namespace-read-back pattern verify "$dev" 16M 31
json after-hotplug ndctl list -BDRN
check new-dimm-handle-2 sh -c 'ndctl list -D -d nmem1 | grep -q "\"handle\":2"'
