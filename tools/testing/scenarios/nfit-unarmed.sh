# SPDX-License-Identifier: GPL-2.0
# title: an unarmed NVDIMM gives a read-only region, under either NFIT driver
# drivers: c rust
# nvdimm: size=256M unarmed=on
# timeout: 180
# min-checks: 10

load_nfit 1
r=$(ndctl list -R -d nmem0 | json_field dev)
check region-read-only sh -c "[ \$(cat /sys/bus/nd/devices/$r/read_only) = 1 ]"
check dimm-flags-not-armed grep -q not_armed /sys/bus/nd/devices/nmem0/nfit/flags
check ndctl-reports-not-armed sh -c 'ndctl list -D | grep -q "\"flag_failed_arm\":true"'
dev=/dev/$(ndctl list -N -r "$r" | json_field blockdev)
check namespace-is-there test -b "$dev"
check_not write-refused pattern fill "$dev" 4K 1
check read-allowed dd if="$dev" of=/dev/null bs=4096 count=16
json unarmed ndctl list -BDRN
