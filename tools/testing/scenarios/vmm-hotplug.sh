# SPDX-License-Identifier: GPL-2.0
# title: test VMM: NVDIMM hotplug (QMP pc-dimm device_add, GED interrupt, Notify 0x80, _FIT from the VMM): the new DIMM and region appear and take a namespace
# platform: vmm
# drivers: c rust
# nvdimm: size=512M label-size=128K
# timeout: 300
# min-checks: 11

load_nfit 1
hotplug_second_nvdimm
check new-dimm-handle-2 sh -c 'ndctl list -D -d nmem1 | grep -q "\"handle\":2"'
