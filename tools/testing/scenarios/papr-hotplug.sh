# SPDX-License-Identifier: GPL-2.0
# title: an spapr-nvdimm hot-added over QMP appears as a new DIMM and region
# arch: ppc64le
# drivers: c rust
# nvdimm: size=256M label-size=128K pmem=on
# timeout: 300
# min-checks: 11
#
# The guest asks the harness (a line on its results port) to run QMP
# object-add + device_add; QEMU adds the DT node and raises an RTAS hotplug
# event, the platform creates the ibm,pmemory device and papr_scm probes it.

load_papr_scm 1
hotplug_nvdimm size=256M label-size=128K pmem=on
check second-region-appears wait_for 120 have_regions 2
check second-dimm sh -c '[ "$(ndctl list -D | grep -c "\"dev\":\"nmem")" = 2 ]'
ndctl list -BDR
new=$(ndctl list -R | sed -n 's/.*"dev":"\(region[0-9]*\)".*/\1/p' | sort | tail -n 1)
dimm=$(ndctl list -D | sed -n 's/.*"dev":"\(nmem[0-9]*\)".*/\1/p' | sort | tail -n 1)
require init-labels-new sh -c "ndctl disable-region $new && ndctl init-labels -f $dimm && ndctl enable-region $new"
check create-raw-new sh -c "ndctl create-namespace -r $new -m raw -s 64M >/tmp/ns.json"
cat /tmp/ns.json
dev=/dev/$(json_field blockdev </tmp/ns.json)
check new-write pattern fill "$dev" 16M 99
check new-read-back pattern verify "$dev" 16M 99
check destroy-new ndctl destroy-namespace -f "$(json_field dev </tmp/ns.json)"
json bdr ndctl list -BDR
