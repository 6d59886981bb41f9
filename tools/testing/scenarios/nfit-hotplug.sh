# SPDX-License-Identifier: GPL-2.0
# title: NVDIMM hotplug on x86 (QMP device_add, Notify 0x80, _FIT): the new DIMM and region appear and take a namespace
# drivers: c rust
# nvdimm: size=512M label-size=128K
# timeout: 300

load_nfit 1
hotplug_second_nvdimm
